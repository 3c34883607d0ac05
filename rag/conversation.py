"""Follow-up questions: "E quando doveva tenersi?" read against the conversation so far.

A question in a chat leans on the turns before it: "Quando?" asks when *the thing just
discussed* happens. Answered alone it retrieves whatever is closest to "when", so each
follow-up is first resolved into a question that stands on its own:

- without a model, the previous question's topic (its names and content words) joins the
  question: "E quando doveva tenersi? (vertice, Ginevra, Putin)". Retrieval then looks for
  the same subject, and the relevance gate (names no passage states) checks its names too;
- with a model, the model rewrites the question, and the rewrite is validated like any
  output: one short question, in the question's language, naming no one the conversation
  did not name. A rewrite that fails falls back to the first way.

A question that names its own subject ("Chi è Sergej Lavrov?") is a new topic and is left
as it is. The resolved question is returned so that the user sees what was answered.
"""

from __future__ import annotations

import re

from . import facts, prompts
from .text import _all_stopwords, detect_language, fold, words
from .types import Turn

# How a follow-up opens in our languages: "E …?", "And …?", "Ma …", "What about …".
_CONNECTIVE = re.compile(
    r"^\s*(e|ed|ma|anche|invece|inoltre|and|but|also|what about|how about|et|mais|aussi|und|aber|"
    r"y|pero|también|mas|também)\b", re.IGNORECASE)
# Words that point back at something already said; a question holding one has no subject of
# its own. Per language, folded; only words that rarely do anything else in a question.
_BACK_REFERENCES = {
    "it": {"lui", "lei", "loro", "esso", "essa", "essi", "questo", "questa", "quello", "quella",
           "cio", "suo", "sua", "suoi", "sue", "li", "la'", "stesso", "stessa"},
    "en": {"it", "its", "they", "them", "their", "he", "him", "his", "she", "her", "this", "that",
           "these", "those", "there"},
    "fr": {"il", "elle", "ils", "elles", "lui", "leur", "ce", "cela", "ca", "celui", "celle", "y"},
    "de": {"er", "sie", "es", "ihm", "ihn", "ihr", "sein", "seine", "dies", "diese", "dort"},
    "es": {"el", "ella", "ellos", "ellas", "eso", "esto", "su", "sus", "alli"},
    "pt": {"ele", "ela", "eles", "elas", "isso", "isto", "seu", "sua", "la"},
}
# Question words the stopword lists lack: they say what is asked, not what it is about.
_QUESTION_WORDS = {"quali", "cosa", "quanto", "quanta", "quanti", "quante", "many", "much", "onde",
                   "quantos", "quantas", "wann", "wer", "wie", "viele", "quand", "combien", "cuando",
                   "cuantos", "donde", "quien"}
SHORT = 3  # a question with at most this many content words and no name leans on context
TOPIC_WORDS = 6  # how many of the previous question's words carry its topic over
MAX_REWRITE = 300  # characters: a rewrite longer than this is not one question


def turns(history) -> list[Turn]:
    """The earlier questions, from what callers have: questions as strings, Answers, Turns, or
    chat messages ({"role": "user", "content": …}, as Gradio and OpenAI-style clients keep them;
    the bot's replies are not needed). Each is resolved against those before it."""
    questions: list[Turn] = []
    for item in history or []:
        if isinstance(item, Turn):
            questions.append(item)
            continue
        if isinstance(item, dict):
            content = item.get("content")
            if isinstance(content, list):  # Gradio 6 and OpenAI-style parts: [{"type": "text", …}]
                content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            if item.get("role") != "user" or not isinstance(content, str) or not content.strip():
                continue
            text = content
        elif isinstance(item, str):
            text = item
        elif hasattr(item, "question"):  # an Answer (or a Verdict's claim)
            questions.append(Turn(item.question, getattr(item, "resolved_question", None)))
            continue
        else:
            continue
        resolved = topic_resolution(text, questions)
        questions.append(Turn(text, resolved))
    return questions


def is_follow_up(question: str, lang: str | None) -> bool:
    """Whether the question leans on what came before: it opens like a follow-up, points back
    ("that", "questo"), or is a few words that name nothing ("Quando?", "Quanti morti?")."""
    if _CONNECTIVE.match(question):
        return True
    folded = [fold(w) for w in words(question)]
    if any(w in _BACK_REFERENCES.get(lang or "", ()) for w in folded):
        return True
    named = [n for n in facts.extract(question, lang).names if facts.must_be_named(n.text)]
    return not named and len(_content_words(question)) <= SHORT


def topic(question: str) -> list[str]:
    """What a question is about, as written and in its order: its names and content words.
    Over TOPIC_WORDS, the first content words go: a question ends on its subject ("… alla
    pinacoteca di Bergamo?"), and its names are kept whole."""
    lang = detect_language(question)
    names = [n.text for n in facts.extract(question, lang).names]
    named = {fold(w) for n in names for w in words(n)}
    items = [(question.find(n), n, True) for n in names]
    items += [(question.find(w), w, False) for w in _content_words(question) if fold(w) not in named]
    items.sort()
    while len(items) > TOPIC_WORDS and any(not is_name for _, _, is_name in items):
        items.remove(next(item for item in items if not item[2]))
    return [text for _, text, _ in items]


def topic_resolution(question: str, earlier: list[Turn]) -> str | None:
    """The question with the previous question's topic added, or None when it needs none."""
    if not earlier:
        return None
    lang = detect_language(question)
    if not is_follow_up(question, lang):
        return None
    own = {fold(w) for w in words(question)}
    carried = [t for t in topic(_unbracket(earlier[-1].standalone)) if fold(t) not in own]
    return f"{question.strip()} ({', '.join(carried)})" if carried else None


def llm_resolution(question: str, earlier: list[Turn], llm) -> str | None:
    """The model's standalone rewrite of a follow-up, or None when it fails validation."""
    lines = "\n".join(f"- {prompts.as_data(t.standalone)}" for t in earlier[-3:])
    # "E quando?" is Italian or Portuguese: then the conversation's language is the question's
    lang = detect_language(question) or detect_language(earlier[-1].standalone)
    messages = [
        {"role": "system", "content": prompts.render("followup_system.txt")},
        {"role": "user", "content": prompts.render("followup_user.txt", earlier=lines,
                                                   question=prompts.as_data(question))},
    ]
    reply = llm.chat(messages).strip().strip('"“”').strip()
    return reply if valid_rewrite(reply, question, earlier, lang) else None


def valid_rewrite(rewrite: str, question: str, earlier: list[Turn], lang: str | None) -> bool:
    """A rewrite is kept only if it is one short line in the question's language and every name
    in it was said in the conversation: a model must not bring in a subject of its own."""
    if not rewrite or "\n" in rewrite or len(rewrite) > MAX_REWRITE:
        return False
    rewrite_lang = detect_language(rewrite)
    if lang and rewrite_lang and rewrite_lang != lang:
        return False
    said = fold(" ".join([question] + [t.standalone for t in earlier]))
    return all(fold(n.text) in said for n in facts.extract(rewrite, lang).names)


def resolve(question: str, history, llm=None) -> tuple[str | None, str]:
    """(the standalone question, or None if the question stands alone; how it was resolved)."""
    earlier = turns(history)
    if not earlier or not is_follow_up(question, detect_language(question)):
        return None, ""
    if llm is not None:
        rewrite = llm_resolution(question, earlier, llm)
        if rewrite and fold(rewrite) != fold(question):
            return rewrite, f"rewritten by {llm.name}"
    resolved = topic_resolution(question, earlier)
    return resolved, ("the previous question's topic added" if resolved else "")


def _content_words(question: str) -> list[str]:
    """The question's words minus function words and question words, first occurrence only."""
    stop = _all_stopwords()
    seen, out = set(), []
    for w in re.findall(r"[^\W\d_][\w'’-]*|\d+", question):
        f = fold(w)
        if f in stop or f in _QUESTION_WORDS or f in seen or (len(f) < 3 and not f.isdigit()):
            continue
        seen.add(f)
        out.append(w)
    return out


def _unbracket(resolved: str) -> str:
    """A resolved question with its parenthesised topic as plain words, to take the topic from."""
    return re.sub(r"\s*\(([^()]*)\)\s*$", r" \1", resolved)


class Chat:
    """A conversation with the bot: `ask` carries the earlier questions, `check` does not need
    them (a claim states its subject). `FactChecker.chat()` makes one."""

    def __init__(self, bot, backend=None, k: int | None = None):
        self.bot, self.backend, self.k = bot, backend, k
        self.history: list[Turn] = []

    def ask(self, question: str, on_token=None):
        answer = self.bot.ask(question, backend=self.backend, k=self.k, on_token=on_token,
                              history=self.history)
        self.history.append(Turn(question, answer.resolved_question))
        return answer

    def check(self, claim: str):
        return self.bot.check(claim, backend=self.backend, k=self.k)

    def reset(self) -> None:
        self.history.clear()
