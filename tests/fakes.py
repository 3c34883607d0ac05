"""A fake LLM for unit tests: it replies from a queue and records what it was sent."""

from __future__ import annotations


class FakeLLM:
    name = "fake"
    description = "a fake model with queued replies"

    def __init__(self, *replies: str):
        self.replies = list(replies)
        self.calls: list[list[dict]] = []  # the messages of every chat

    def chat(self, messages, on_token=None, json_schema=None) -> str:
        self.calls.append(messages)
        reply = self.replies.pop(0)
        if on_token:
            for word in reply.split(" "):
                on_token(word + " ")
        return reply

    @property
    def prompt(self) -> str:
        """The last prompt, system and user messages joined."""
        return "\n".join(m["content"] for m in self.calls[-1])
