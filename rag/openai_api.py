"""The OpenAI-compatible backend (`--backend openai`): any server that speaks the chat
completions API — llama.cpp's `llama-server`, Ollama under /v1, LM Studio, vLLM, LocalAI.

It talks through the official `openai` client (its errors, streaming and timeouts), with no
retries: a local server that fails says so at once. Settings (LLMSettings): `openai_url` (the
base URL, ending in /v1 for most servers), `openai_model` ("" = the first model the server
lists), `timeout`, `temperature`, `max_tokens`. The API key, when the server wants one, is
read from the environment variable `api_key_env` names (RAG_LLM_API_KEY by default): it is
never a setting, so it is never printed with them, logged or written into a report.

Structured output: a JSON schema is sent as `response_format` (json_schema); a server that
refuses it gets plain text from then on, which callers validate as they do any reply.
"""

from __future__ import annotations

import contextlib
import os

from .settings import LLMSettings
from .types import RagError

NO_KEY = "no-key"  # the client insists on one; local servers ignore it


class OpenAILLM:
    name = "openai"

    def __init__(self, settings: LLMSettings):
        if not settings.openai_url:
            raise RagError("no OpenAI-compatible server configured: set RAG_LLM_OPENAI_URL "
                           "(e.g. http://127.0.0.1:8080/v1 for llama-server, http://127.0.0.1:11434/v1 for Ollama)")
        import openai

        self.settings = settings
        self.url = settings.openai_url.rstrip("/")
        self._client = openai.OpenAI(base_url=self.url, api_key=os.environ.get(settings.api_key_env) or NO_KEY,
                                     timeout=settings.timeout, max_retries=0)
        self._model = settings.openai_model
        self._schemas = True  # until the server refuses a response_format
        self._logprobs = True  # until it gives none
        self.description = f"{self._model or 'the model'} at {self.url}"

    @property
    def model(self) -> str:
        """The configured model, else the first one the server lists (asked once)."""
        if not self._model:
            with self._errors():
                listed = [m.id for m in self._client.models.list()]
            if not listed:
                raise RagError(f"the server at {self.url} lists no model; set RAG_LLM_OPENAI_MODEL")
            self._model = listed[0]
            self.description = f"{self._model} at {self.url}"
        return self._model

    def probe(self) -> tuple[bool, str]:
        """Is the server up, and does it serve the model? Answers within probe_timeout."""
        import openai

        client = self._client.with_options(timeout=self.settings.probe_timeout)
        try:
            listed = [m.id for m in client.models.list()]
        except openai.APIStatusError as e:
            return False, f"the server at {self.url} answered with an error (HTTP {e.status_code})"
        except Exception:  # refused, timed out, not an OpenAI-compatible server: all mean "not usable"
            return False, f"no OpenAI-compatible server reachable at {self.url}"
        if self._model and listed and self._model not in listed:
            return False, f"the server at {self.url} has no model {self._model} (it lists {', '.join(listed[:5])})"
        if not self._model and not listed:
            return False, f"the server at {self.url} lists no model"
        self._model = self._model or listed[0]
        self.description = f"{self._model} at {self.url}"
        return True, f"OpenAI-compatible server answered at {self.url} with {self._model}"

    def chat(self, messages, on_token=None, json_schema=None) -> str:
        import openai

        request = {"model": self.model, "messages": messages, "temperature": self.settings.temperature,
                   "max_tokens": self.settings.max_tokens}
        with self._errors():
            if json_schema is not None and self._schemas:
                schema = {"type": "json_schema", "json_schema": {"name": "reply", "schema": json_schema, "strict": True}}
                try:
                    return self._complete({**request, "response_format": schema}, on_token)
                except openai.BadRequestError:
                    # no structured output here: plain text from now on, validated like any reply
                    self._schemas = False
            return self._complete(request, on_token)

    def first_token_logprobs(self, messages, n: int = 20) -> list[tuple[str, float]] | None:
        """The `n` likeliest first tokens of the reply with their log-probabilities, most likely
        first: one forward pass, for reading a one-word label off (verify.py). None when the
        server gives no log-probabilities (then a label is asked for as JSON instead)."""
        import openai

        if not self._logprobs:
            return None
        request = {"model": self.model, "messages": messages, "temperature": 0.0, "max_tokens": 1,
                   "logprobs": True, "top_logprobs": n}
        with self._errors():
            try:
                reply = self._client.chat.completions.create(**request)
            except openai.BadRequestError:  # a server that does not do logprobs
                self._logprobs = False
                return None
        first = reply.choices[0].logprobs.content if reply.choices and reply.choices[0].logprobs else None
        if not first:
            self._logprobs = False
            return None
        return [(alt.token, alt.logprob) for alt in first[0].top_logprobs or []] or \
            [(first[0].token, first[0].logprob)]

    def _complete(self, request: dict, on_token) -> str:
        if on_token is None:
            reply = self._client.chat.completions.create(**request)
            return (reply.choices[0].message.content or "") if reply.choices else ""
        parts = []
        for event in self._client.chat.completions.create(**request, stream=True):
            text = event.choices[0].delta.content if event.choices else None
            if text:
                parts.append(text)
                on_token(text)
        return "".join(parts)

    @contextlib.contextmanager
    def _errors(self):
        """The client's exceptions as one-line RagErrors (never the key, never a traceback)."""
        import openai

        where = f"the server at {self.url}"
        try:
            yield
        except openai.APITimeoutError:
            raise RagError(f"{where} did not answer within {self.settings.timeout:g} s "
                           "(RAG_LLM_TIMEOUT sets the limit)") from None
        except openai.APIConnectionError:
            raise RagError(f"no OpenAI-compatible server is reachable at {self.url}; start it, "
                           "or set RAG_LLM_OPENAI_URL to where it listens") from None
        except openai.AuthenticationError:
            hint = (f"the key in ${self.settings.api_key_env} was refused" if self._client.api_key != NO_KEY
                    else f"set its API key in ${self.settings.api_key_env}")
            raise RagError(f"{where} refused the request (HTTP 401): {hint}") from None
        except openai.PermissionDeniedError as e:
            raise RagError(f"{where} refused the request (HTTP 403: {_message(e)})") from None
        except openai.NotFoundError as e:
            text = _message(e)
            if "model" in text.lower():
                raise RagError(f"{where} has no model {self._model or '(none given)'}: {text}; "
                               "set RAG_LLM_OPENAI_MODEL to one it serves") from None
            raise RagError(f"{where} has no chat completions API (HTTP 404); the base URL usually "
                           "ends in /v1") from None
        except openai.RateLimitError:
            raise RagError(f"{where} is limiting requests (HTTP 429); try again in a moment") from None
        except openai.InternalServerError as e:
            raise RagError(f"{where} failed (HTTP {e.status_code}: {_message(e)})") from None
        except openai.APIStatusError as e:
            raise RagError(f"{where} refused the request (HTTP {e.status_code}: {_message(e)})") from None
        except openai.APIError as e:  # a broken stream, a reply that is not JSON
            raise RagError(f"{where} sent a reply that could not be read: {_message(e)}") from None


def _message(e) -> str:
    """The server's own words for an error, on one line."""
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message") if isinstance(inner, dict) else inner
    else:
        text = getattr(e, "message", None) or str(e)
    text = " ".join(str(text or type(e).__name__).split())
    return text[:300]
