"""HTML for the web UI: answers, verdicts and their sources.

Articles are untrusted input, so every piece of text from them (and from a model, and from
the user) goes through `esc` before it is put into HTML; only the markup built here is raw.
A link is made only to an http(s) address. Citation markers [n] become badges only when
passage n is among the answer's citations.

What a reply shows is in the reply's language (`result.language`): the words come from the
"ui" table of prompts/messages.json, English when a language has none.

Passages are numbered for display 1, 2, 3 … in the order their cards are shown, whatever the
answer's own numbers are ([2] and [5] show as 1 and 2, in the bubble and in the cards alike);
one passage is one card, with every span cited from it highlighted. A badge in the bubble is a
link to its card (#rag-src-<key>-<n>, the key telling one reply's cards from another's), and the
card lights up as the link's :target (rag/ui.css): Gradio keeps scripts out of the chat.

The functions take any object with the right attributes (Answer, Verdict, Hit, Citation,
or a test's stand-in), so they can be tested without an index.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from string import Template
from urllib.parse import urlsplit

from . import prompts
from .answer import CITATION

CONTEXT_CHARS = 240  # shown around a cited span when its passage is not known
SNIPPET_CHARS = 320  # of a passage retrieved but not cited
WITHHELD = "[…]"  # stands for a sentence set aside as addressed to a model (as in prompts)

VERDICTS = {  # label -> (CSS modifier, what the badge says in English; other languages: messages.json "ui")
    "SUPPORTED": ("supported", "Supported"),
    "REFUTED": ("refuted", "Refuted"),
    "NOT_ENOUGH_INFO": ("nei", "Not enough info"),
    "CONFLICTING": ("conflicting", "Sources conflict"),
}
STANCES = {"supports": "Supports", "refutes": "Refutes", "unrelated": "Unrelated"}
DECISIVE = ("supports", "refutes")

EMPTY_SOURCES = (
    '<div class="rag-sources rag-empty">'
    "<p><b>Sources</b></p>"
    "<p>Each passage an answer cites appears here, with its article's title and date and "
    "the cited words highlighted.</p></div>"
)

LINK_ATTRS = 'target="_blank" rel="noopener noreferrer"'
# A file name that is a content hash (the seeds' "000_6d133049264667af.txt") tells a reader nothing.
HASHED_NAME = re.compile(r"(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{12,}", re.IGNORECASE)

# Markdown (and HTML) line markup in article text, shown as what it means, never as raw markers.
HEADING = re.compile(r"[ \t]{0,3}#{1,6}[ \t]+(?=\S)")
HEADING_CLOSE = re.compile(r"[ \t]+#+[ \t]*$")
HTML_HEADING = re.compile(r"[ \t]*<h[1-6]\b[^>]*>[ \t]*(?P<body>.*?)[ \t]*</h[1-6]\s*>[ \t]*$", re.IGNORECASE)
BULLET = re.compile(r"[ \t]{0,3}[-*+•][ \t]+(?=\S)")
ORDERED = re.compile(r"[ \t]{0,3}(?P<n>\d{1,3})[.)][ \t]+(?=\S)")
RULE = re.compile(r"[ \t]*(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,}|={3,}[ \t]*)$")


def esc(text) -> str:
    return html.escape(str(text), quote=True)


# -- words -------------------------------------------------------------------------------


def language_of(result) -> str:
    """The language a result is written in ("it", "en", …), English when it does not say."""
    return str(getattr(result, "language", None) or "en").split("-")[0].lower()


@functools.lru_cache(maxsize=32)
def _table(lang: str) -> dict:
    table = dict(prompts.message("ui", "en"))
    table.update(prompts.message("ui", lang))  # a key a language lacks stays English
    return table


def ui_text(key: str, lang: str | None = None, n: int | None = None, **values) -> str:
    """A UI string ("ui" in prompts/messages.json) in `lang`, English when that language has
    none, in its plural form for `n`, with $n and the other $placeholders filled in. Values are
    inserted as they are: the caller escapes the result."""
    lang = (lang or "en").split("-")[0].lower()
    entry = _table(lang)[key]
    if isinstance(entry, dict):
        entry = entry["one"] if _singular(n, lang) else entry["other"]
    return Template(entry).safe_substitute(n="" if n is None else n, **values)


def ui_words(key: str, lang: str | None = None) -> dict:
    """A table of words ("verdicts", "stances") in `lang`, English for what it lacks."""
    lang = (lang or "en").split("-")[0].lower()
    return {**_table("en")[key], **_table(lang)[key]}


def _singular(n: int | None, lang: str) -> bool:
    if n is None:
        return False
    if lang in ("fr", "pt"):  # CLDR: 0 takes the singular in French and Portuguese
        return n in (0, 1)
    return n == 1


def _duration(ms: float, lang: str) -> str:
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f}".replace(".", ui_text("decimal", lang)) + " s"


# -- links and labels --------------------------------------------------------------------


def http_url(url) -> str | None:
    """`url` when it is an http(s) address with a host, else None: no other scheme (javascript:,
    data:, file:) is ever made a link."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or any(ch.isspace() or ord(ch) < 32 or ch in '<>"\'`\\' for ch in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return url


def _host(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host[4:] if host.startswith("www.") else host


def _link(url: str, label_html: str, lang: str, cls: str = "rag-source-link") -> str:
    return (f'<a class="{cls}" href="{esc(url)}" {LINK_ATTRS} '
            f'title="{esc(ui_text("open_article", lang))}">{label_html}</a>')


def _file_name(doc) -> str | None:
    """The file an article came from, when its name means something to a reader."""
    source = getattr(doc, "source", None)
    if not source:
        return None
    name = re.split(r"[\\/]", str(source).split("#", 1)[0])[-1]
    return None if not name or HASHED_NAME.search(name) else name


def _label(title, doc_id, doc=None) -> str:
    """What a source is called: its title; never its document id, unless there is nothing else."""
    title = " ".join(str(title or "").split())
    if title and title != doc_id:
        return title
    if doc is not None:
        body = doc.text[getattr(doc, "body_start", 0):].strip()
        first = " ".join(body.split("\n", 1)[0].split())
        if first:
            return first if len(first) <= 90 else first[:90].rsplit(" ", 1)[0] + "…"
        if _file_name(doc):
            return _file_name(doc)
    return title or str(doc_id)


def _source_url(item, doc=None) -> str | None:
    return http_url(getattr(item, "url", None)) or http_url(getattr(doc, "url", None))


def _source_head(n_badge: str, title: str, date, doc_id: str, extra: str = "", *, url=None, doc=None,
                 lang: str = "en", page: int | None = None) -> str:
    """A source's title (a link to the article when it has an http(s) address), then its date,
    the page of the passage (a PDF) and where it is from: the site, else the file name when
    that is not a hash."""
    label = esc(_label(title, doc_id, doc))
    link = http_url(url) or http_url(getattr(doc, "url", None))
    meta = [esc(date)] if date else []
    if page:
        meta.append(f'<span class="rag-source-page">{esc(ui_text("page", lang, n=page))}</span>')
    if link:
        label = _link(link, label, lang)
        meta.append(f'<span class="rag-source-host">{esc(_host(link))}</span>')
    elif _file_name(doc):
        meta.append(f'<span class="rag-source-file">{esc(_file_name(doc))}</span>')
    meta_html = f'<div class="rag-source-meta">{" · ".join(meta)}</div>' if meta else ""
    return (f'<div class="rag-source-head">{n_badge}<span class="rag-source-title">{label}</span>'
            f"{extra}</div>{meta_html}")


# -- numbering ---------------------------------------------------------------------------


def result_key(result) -> str:
    """A short key for one reply, so that its anchors (rag-src-<key>-<n>) are not another's."""
    parts = (getattr(result, "question", None) or getattr(result, "claim", None), getattr(result, "answer", None),
             sorted((getattr(result, "timings_ms", None) or {}).items()),
             [(c.n, c.doc_id, c.start, c.end) for c in getattr(result, "citations", None) or []],
             [(e.n, e.doc_id, e.start, e.end) for e in getattr(result, "evidence", None) or []])
    return hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=4).hexdigest()


def anchor(key: str | None, number: int) -> str:
    return f"rag-src-{key}-{number}" if key else f"rag-src-{number}"


def _passage_key(item):
    """Citations of one passage share it: its chunk when known, else its number."""
    chunk = getattr(item, "chunk_id", None)
    return ("chunk", item.doc_id, chunk) if chunk else ("n", item.n)


def _group(items: Iterable) -> list[list]:
    """Items by passage, in the order each passage first comes."""
    groups: dict = {}
    for item in items:
        groups.setdefault(_passage_key(item), []).append(item)
    return list(groups.values())


def _mentions(text: str) -> dict[int, int]:
    """Where each citation number is first mentioned in `text`."""
    first: dict[int, int] = {}
    for m in CITATION.finditer(text or ""):
        for x in re.split(r"\s*[,;]\s*", m.group(1).strip()):
            first.setdefault(int(x), m.start())
    return first


@dataclass
class _Plan:
    """The cards of one reply in display order and the number each citation shows as."""

    key: str
    cards: list[list] = field(default_factory=list)
    numbers: dict[int, int] = field(default_factory=dict)

    def number(self, cards: list[list]) -> None:
        for group in cards:
            self.cards.append(group)
            shown = len(self.cards)
            for item in group:
                self.numbers.setdefault(item.n, shown)


def _answer_plan(answer, key: str | None = None) -> _Plan:
    """An answer's cards: one per passage, in the order the answer first cites them."""
    plan = _Plan(key or result_key(answer))
    first = _mentions(answer.answer)
    groups = _group(answer.citations)
    groups.sort(key=lambda g: (min(first.get(c.n, 1 << 30) for c in g), min(c.n for c in g)))
    plan.number(groups)
    return plan


def _stance(group) -> str:
    return next((s for s in DECISIVE for e in group if getattr(e, "stance", None) == s),
                getattr(group[0], "stance", "unrelated"))


@dataclass
class _Layout:
    """A verdict's evidence panel: articles with a passage for or against the claim (with their
    decisive passages, then their unrelated ones), and the other articles retrieved."""

    plan: _Plan
    evidence: list[tuple[str, list, list]] = field(default_factory=list)  # (doc id, decisive, unrelated)
    others: list[tuple[str, list]] = field(default_factory=list)  # (doc id, passages)


def _verdict_layout(verdict, key: str | None = None) -> _Layout:
    layout = _Layout(_Plan(key or result_key(verdict)))
    first = _mentions(verdict.answer)
    by_doc: dict[str, list] = {}
    for group in _group(_citations_of(verdict)):
        by_doc.setdefault(group[0].doc_id, []).append(group)
    order = {"supports": 0, "refutes": 1}

    def mentioned(groups) -> int:
        return min((first.get(e.n, 1 << 30) for g in groups for e in g), default=1 << 30)

    for doc_id, groups in sorted(by_doc.items(), key=lambda kv: mentioned(kv[1])):  # stable: else evidence order
        decisive = [g for g in groups if _stance(g) in DECISIVE]
        unrelated = [g for g in groups if _stance(g) not in DECISIVE]
        decisive.sort(key=lambda g: (mentioned([g]), order[_stance(g)], min(e.n for e in g)))
        unrelated.sort(key=lambda g: min(e.n for e in g))
        if decisive:
            layout.evidence.append((doc_id, decisive, unrelated))
        else:
            layout.others.append((doc_id, unrelated))
    # the passages for and against first, so the badges in the reply read 1, 2, 3…; the
    # unrelated ones, folded away, after them
    for _, decisive, _ in layout.evidence:
        layout.plan.number(decisive)
    for _, _, unrelated in layout.evidence:
        layout.plan.number(unrelated)
    for _, groups in layout.others:
        layout.plan.number(groups)
    return layout


# -- citations ---------------------------------------------------------------------------


def with_badges(text: str, citations: Iterable, *, numbers: Mapping[int, int] | None = None,
                key: str | None = None) -> str:
    """Escape `text` and turn its [n] / [n, m] markers into badges for known citations.

    A number with no citation behind it stays plain text: no badge points nowhere. `numbers`
    maps a citation's n to the number it is shown as (its card's); each badge links to its card."""
    known: dict = {}
    for c in citations:
        known.setdefault(c.n, c)
    numbers = numbers or {}
    out, pos = [], 0
    for m in CITATION.finditer(text):
        out.append(esc(text[pos : m.start()]))
        given = [int(x) for x in re.split(r"\s*[,;]\s*", m.group(1).strip())]
        shown, badges = set(), []
        for n in given:
            if n in known and numbers.get(n, n) not in shown:
                shown.add(numbers.get(n, n))
                badges.append(_badge(known[n], numbers.get(n, n), key))
        unknown = [str(n) for n in given if n not in known]
        out.append("".join(badges) + (esc(f"[{', '.join(unknown)}]") if unknown else ""))
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def _badge(citation, number: int | None = None, key: str | None = None, link: bool = True) -> str:
    """A citation's number as a badge: in the chat a link to its card, on the card itself a label."""
    number = citation.n if number is None else number
    where = _label(citation.title, citation.doc_id) + (f", {citation.date}" if citation.date else "")
    if not link:
        return f'<span class="rag-cite" title="{esc(where)}">{number}</span>'
    return f'<a class="rag-cite" href="#{anchor(key, number)}" title="{esc(where)}">{number}</a>'


def passage_in_context(citation, documents: Mapping, passages: Iterable = ()) -> str:
    """The cited span highlighted inside the passage it came from, escaped.

    The span is taken from the document itself (document.text[start:end]), so what is
    highlighted is exactly what was cited."""
    return _in_context([citation], documents, passages)


def _in_context(group: list, documents: Mapping, passages: Iterable = ()) -> str:
    """Every span cited from one passage, highlighted in the passage (or, without it, in the
    text around them), with headings and list items shown as such."""
    first = group[0]
    doc = documents.get(first.doc_id)
    if doc is None:  # the article has left the index since: show the cited text alone
        texts = list(dict.fromkeys(c.text for c in group))
        return " … ".join(_rich(t, 0, len(t), [(0, len(t))]) for t in texts)
    text = doc.text
    spans = [(c.start, c.end) for c in group]
    lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
    chunks = {getattr(c, "chunk_id", None) for c in group} - {None, ""}
    passage = next((p for p in passages or () if p.chunk_id in chunks), None)
    if passage is not None:
        lo, hi = min(lo, passage.start), max(hi, passage.end)
    else:
        a, b = _snap(text, lo - CONTEXT_CHARS, hi + CONTEXT_CHARS)
        lo, hi = min(a, lo), max(b, hi)
    shown_lo, shown_hi = lo, hi
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    return (("… " if shown_lo > getattr(doc, "body_start", 0) else "")
            + _rich(text, lo, hi, spans, getattr(doc, "flagged", ()))
            + (" …" if shown_hi < len(text) else ""))


def readable(doc, lo: int, hi: int) -> str:
    """doc.text[lo:hi] with the sentences ingest set aside as addressed to a model
    (Document.flagged) shown as "[…]": the sources panel never displays them as article text."""
    out, cursor = [], lo
    for a, b in sorted(doc.flagged):
        if b <= cursor or a >= hi:
            continue
        out.append(doc.text[cursor:max(a, cursor)] + WITHHELD)
        cursor = min(b, hi)
    return "".join(out) + doc.text[cursor:hi]


def _snap(text: str, lo: int, hi: int) -> tuple[int, int]:
    """Widen-or-trim a window to word boundaries, inside the text."""
    lo, hi = max(0, lo), min(len(text), hi)
    while lo > 0 and not text[lo - 1].isspace():
        lo += 1
    while hi < len(text) and not text[hi].isspace():
        hi -= 1
    return lo, hi


# -- article text as HTML ----------------------------------------------------------------


def _shape(text: str, ls: int, le: int) -> tuple[str, int, int, str | None]:
    """What the line text[ls:le] is (heading "h", list item "li" / "ol", rule, or plain ""),
    and where its content runs without the markup around it."""
    if le > ls and text[le - 1] == "\r":
        le -= 1
    line = text[ls:le]
    if m := HTML_HEADING.match(line):
        return "h", ls + m.start("body"), ls + m.end("body"), None
    if m := HEADING.match(line):
        close = HEADING_CLOSE.search(line, m.end())
        return "h", ls + m.end(), ls + close.start() if close else le, None
    if RULE.match(line) and line.strip():
        return "rule", le, le, None
    if m := BULLET.match(line):
        return "li", ls + m.end(), le, None
    if m := ORDERED.match(line):
        return "ol", ls + m.end(), le, m.group("n")
    return "", ls, le, None


def _rich(text: str, lo: int, hi: int, marks: Iterable = (), flagged: Iterable = ()) -> str:
    """text[lo:hi] escaped, line by line: the spans in `marks` highlighted, the `flagged` ones
    shown as "[…]", a Markdown or HTML heading as a heading, a list item as one (no "##", "- ",
    "1. " or "<h2>" left in the text); a rule line is dropped."""
    marks = _merge(text, sorted((max(a, lo), min(b, hi)) for a, b in marks if b > lo and a < hi))
    flagged = sorted((a, b) for a, b in flagged if b > lo and a < hi)
    shown: set[int] = set()
    lines, pos = [], lo
    while pos <= hi:
        nl = text.find("\n", pos, hi)
        end = hi if nl < 0 else nl
        ls = text.rfind("\n", 0, pos) + 1
        le = text.find("\n", ls)
        kind, cs, ce, number = _shape(text, ls, len(text) if le < 0 else le)
        a, b = max(cs, pos), min(ce, end)
        body = _spans(text, a, b, marks, flagged, shown)
        if kind != "rule" and (body or a >= b):
            if kind == "h" and body:
                body = f'<span class="rag-h">{body}</span>'
            elif kind == "li" and body:
                body = f'<span class="rag-li">{body}</span>'
            elif kind == "ol" and body:
                body = f'<span class="rag-li rag-li-n" data-n="{esc(number)}">{body}</span>'
            lines.append(body)
        if nl < 0:
            break
        pos = nl + 1
    return "\n".join(lines)


def _merge(text: str, spans: list) -> list:
    """Overlapping spans, and spans with only spaces between them, as one."""
    out: list[list[int]] = []
    for a, b in spans:
        if out and (a <= out[-1][1] or not text[out[-1][1]:a].strip()):
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [tuple(s) for s in out]


def _spans(text: str, a: int, b: int, marks: list, flagged: list, shown: set) -> str:
    if a >= b:
        return ""
    cuts = {a, b} | {p for x, y in marks + flagged for p in (x, y) if a < p < b}
    pieces: list[list] = []  # [highlighted?, html]
    for x, y in zip(sorted(cuts), sorted(cuts)[1:]):
        withheld = next((i for i, (fa, fb) in enumerate(flagged) if fa <= x and y <= fb), None)
        if withheld is not None:
            if withheld not in shown:
                shown.add(withheld)
                pieces.append([False, WITHHELD])
            continue
        marked = any(ma <= x and y <= mb for ma, mb in marks)
        if pieces and pieces[-1][0] == marked:
            pieces[-1][1] += esc(text[x:y])
        else:
            pieces.append([marked, esc(text[x:y])])
    return "".join(f"<mark>{h}</mark>" if marked else h for marked, h in pieces)


# -- answers -----------------------------------------------------------------------------


def pending_html(note: str = "Searching the articles…") -> str:
    return f'<div class="rag-msg rag-pending"><span class="rag-dots"></span> {esc(note)}</div>'


def draft_html(draft: str, backend: str, *, lang: str | None = None) -> str:
    """A model's text as it is written: not yet checked against the sources."""
    return (f'<div class="rag-msg rag-draft"><div class="rag-meta">{esc(ui_text("draft", lang, backend=backend))}'
            f'</div><div class="rag-text">{esc(draft)}<span class="rag-caret"></span></div></div>')


def error_html(message: str, *, lang: str | None = None) -> str:
    return f'<div class="rag-msg rag-error"><b>{esc(ui_text("could_not_answer", lang))}</b> {esc(message)}</div>'


def answer_html(answer, text: str | None = None, *, key: str | None = None) -> str:
    """The chat bubble of an Answer; `text` shows a prefix of it while it streams in.

    Its badges carry the numbers of the cards sources_html(answer, …) shows and link to them
    (the same `key`, by default one made from the answer)."""
    text = answer.answer if text is None else text
    lang = language_of(answer)
    understood = _understood(answer, lang)
    if answer.abstained:
        return (f'<div class="rag-msg rag-abstain" lang="{esc(lang)}">{understood}'
                f'<div class="rag-abstain-head">{esc(ui_text("not_in_sources", lang))}</div>'
                f'<div class="rag-text">{esc(text)}</div>'
                f'<div class="rag-meta">{esc(ui_text("abstain_note", lang))}</div>'
                f"{_meta(answer, lang)}</div>")
    plan = _answer_plan(answer, key)
    badged = with_badges(text, answer.citations, numbers=plan.numbers, key=plan.key)
    return (f'<div class="rag-msg rag-answer" lang="{esc(lang)}">{understood}<div class="rag-text">{badged}</div>'
            f"{_note(answer.fallback or '')}"
            f"{conflicts_html(answer.conflicts, answer.citations, numbers=plan.numbers, key=plan.key, lang=lang)}"
            f"{_meta(answer, lang)}</div>")


def _understood(result, lang: str) -> str:
    """A follow-up as it was understood ("E quando?" -> "Quando si terrà la prima udienza…?")."""
    resolved = " ".join(str(getattr(result, "resolved_question", None) or "").split())
    asked = " ".join(str(getattr(result, "question", None) or "").split())
    if not resolved or resolved.casefold() == asked.casefold():
        return ""
    return (f'<div class="rag-understood">{esc(prompts.message("understood", lang))}: '
            f'<span class="rag-understood-q">{esc(resolved)}</span></div>')


def _note(note: str) -> str:
    return f'<div class="rag-note">{esc(note)}</div>' if note else ""


def _meta(result, lang: str = "en") -> str:
    parts = [ui_text("answered_by", lang, backend=result.backend)]
    if result.citations:
        passages = len(_group(result.citations))
        articles = len({c.doc_id for c in result.citations})
        parts.append(ui_text("passages_from", lang, passages=ui_text("passages", lang, passages),
                             articles=ui_text("from_articles", lang, articles)))
    total = (result.timings_ms or {}).get("total")
    if total is not None:
        parts.append(_duration(total, lang))
    return f'<div class="rag-meta">{esc(" · ".join(parts))}</div>'


def sources_html(answer, documents: Mapping, *, key: str | None = None) -> str:
    """The sources panel of an Answer: one card per cited passage (numbered as the bubble's
    badges), then what else was retrieved."""
    lang = language_of(answer)
    passages = list(answer.passages or [])
    plan = _answer_plan(answer, key)
    cards = []
    for shown, group in enumerate(plan.cards, start=1):
        first = group[0]
        doc = documents.get(first.doc_id)
        head = _source_head(_badge(first, shown, plan.key, link=False), first.title, first.date, first.doc_id,
                            url=_source_url(first, doc), doc=doc, lang=lang, page=getattr(first, "page", None))
        cards.append(f'<div class="rag-source" id="{anchor(plan.key, shown)}" data-doc="{esc(first.doc_id)}">'
                     f'{head}<blockquote class="rag-passage">{_in_context(group, documents, passages)}'
                     "</blockquote></div>")
    cited_chunks = {c.chunk_id for c in answer.citations}
    others = [p for p in passages if p.chunk_id not in cited_chunks]
    head = (ui_text("cited", lang, len(plan.cards)) if plan.cards else ui_text("no_passage", lang))
    body = "".join(cards)
    if others:
        body += retrieved_html(others, documents, open_=not answer.citations, lang=lang)
    return (f'<div class="rag-sources" lang="{esc(lang)}"><div class="rag-sources-head">'
            f'{esc(ui_text("sources_head", lang, what=head))}</div>{body}</div>')


def retrieved_html(passages: list, documents: Mapping, open_: bool = False, *, lang: str | None = None) -> str:
    """Passages that were retrieved but not cited, folded away."""
    lang = lang or "en"
    items = []
    for p in passages:
        doc = documents.get(p.doc_id)
        head = _source_head(f'<span class="rag-rank">#{esc(p.rank)}</span>', p.title, p.date, p.doc_id,
                            url=_source_url(p, doc), doc=doc, lang=lang, page=getattr(p, "page", None))
        items.append(f'<div class="rag-retrieved-item" data-doc="{esc(p.doc_id)}">{head}'
                     f'<div class="rag-snippet">{_snippet(p, doc)}</div></div>')
    return (f'<details class="rag-retrieved"{" open" if open_ else ""}>'
            f"<summary>{esc(ui_text('also_retrieved', lang, len(passages)))}</summary>{''.join(items)}</details>")


def _snippet(p, doc, limit: int = SNIPPET_CHARS) -> str:
    """The start of a passage, up to `limit` characters, cut at a space."""
    if doc is not None:
        text, lo, hi, flagged = doc.text, p.start, p.end, doc.flagged
    else:
        text, lo, hi, flagged = p.text, 0, len(p.text), ()
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    cut = hi - lo > limit
    if cut:
        space = max(text.rfind(" ", lo, lo + limit), text.rfind("\n", lo, lo + limit))
        hi = space if space > lo else lo + limit
    return _rich(text, lo, hi, (), flagged) + (" …" if cut else "")


# -- conflicts ---------------------------------------------------------------------------

def conflicts_html(conflicts: list[dict], citations: Iterable, *, numbers: Mapping[int, int] | None = None,
                   key: str | None = None, lang: str | None = None) -> str:
    """Call out sources that disagree. A conflict names its passages (`passages` in an answer,
    `supports` and `refutes` in a verdict) and says what they disagree on (`summary`)."""
    if not conflicts:
        return ""
    lang = lang or "en"
    citations = list(citations)
    known: dict = {}
    for c in citations:
        known.setdefault(c.n, c)
    numbers = numbers or {}
    rows = []
    for conflict in conflicts:
        given = conflict.get("passages") or conflict.get("supports", []) + conflict.get("refutes", [])
        sides, seen = [], set()
        for n in given:
            shown = numbers.get(n, n) if n in known else None
            if shown is not None and shown in seen:
                continue
            seen.add(shown)
            sides.append(_badge(known[n], shown, key) + f" {esc(_label(known[n].title, known[n].doc_id))}"
                         if n in known else esc(f"[{n}]"))
        who = f" {esc(ui_text('versus', lang))} ".join(sides)
        what = _without_lead(str(conflict.get("summary", "")))
        what = with_badges(what, citations, numbers=numbers, key=key) if what else ""
        rows.append(f"<li>{who}{': ' if who and what else ''}{what}</li>")
    label = ui_text("disagree", lang) if len(conflicts) == 1 else ui_text("disagree_n", lang, len(conflicts))
    return (f'<div class="rag-conflicts"><div class="rag-conflicts-head">{esc(label)}</div>'
            f'<ul>{"".join(rows)}</ul></div>')


def _without_lead(summary: str) -> str:
    """A verdict's conflict summary without its "The sources disagree:" lead: the box's head says it."""
    for lang in ("en", "it", "fr", "de", "es", "pt"):
        lead = prompts.message("disagree", lang)
        if lead and summary.startswith(lead):
            return summary[len(lead):].strip()
    return summary


# -- verdicts ----------------------------------------------------------------------------


def verdict_badge(label: str, *, lang: str | None = None) -> str:
    modifier = VERDICTS.get(label, ("nei", label))[0]
    text = ui_words("verdicts", lang).get(label, label)
    return f'<span class="rag-verdict-badge rag-v-{modifier}">{esc(text)}</span>'


def verdict_html(verdict, text: str | None = None, *, key: str | None = None) -> str:
    """The chat bubble of a Verdict: the label as a coloured badge, the explanation with
    its citations, how many passages support and refute, and conflicts between sources
    (said here, in the reply, and not again in the evidence panel)."""
    text = verdict.answer if text is None else text
    lang = language_of(verdict)
    layout = _verdict_layout(verdict, key)
    plan = layout.plan
    tally = _tally([g for _, decisive, _ in layout.evidence for g in decisive], lang)
    tally = f'<div class="rag-tally">{esc(tally)}</div>' if tally else ""
    cited = _citations_of(verdict)
    return (f'<div class="rag-msg rag-verdict" lang="{esc(lang)}">{_understood(verdict, lang)}'
            f'<div class="rag-verdict-head">{verdict_badge(verdict.verdict, lang=lang)}'
            f'<span class="rag-claim">“{esc(verdict.claim)}”</span></div>'
            f'<div class="rag-text">{with_badges(text, cited, numbers=plan.numbers, key=plan.key)}</div>{tally}'
            f"{conflicts_html(verdict.conflicts, cited, numbers=plan.numbers, key=plan.key, lang=lang)}"
            f"{_meta(verdict, lang)}</div>")


def _citations_of(verdict) -> list:
    """Badges may point at any passage the verdict cites or weighs as evidence (every evidence
    item, then the citations that are not among them)."""
    weighed = list(verdict.evidence)
    numbers = {e.n for e in weighed}
    return weighed + [c for c in verdict.citations if c.n not in numbers]


def _tally(groups: list, lang: str = "en") -> str:
    """How many passages support the claim and how many refute it."""
    supports = sum(_stance(g) == "supports" for g in groups)
    refutes = sum(_stance(g) == "refutes" for g in groups)
    parts = []
    if supports:
        parts.append(ui_text("tally_for", lang, supports))
        if refutes:
            parts.append(ui_text("tally_against", lang, refutes))
    elif refutes:
        parts.append(ui_text("tally_only_against", lang, refutes))
    return " · ".join(parts)


def evidence_html(verdict, documents: Mapping, *, key: str | None = None) -> str:
    """The sources panel of a Verdict: the articles with a passage for or against the claim,
    each with its passages (numbered as the bubble's badges); the other articles retrieved are
    folded away below."""
    lang = language_of(verdict)
    layout = _verdict_layout(verdict, key)
    plan = layout.plan
    cards = []
    for doc_id, decisive, unrelated in layout.evidence:
        first = decisive[0][0]
        doc = documents.get(doc_id)
        chips = "".join(
            f'<span class="rag-stance rag-stance-{s}">'
            f'{esc(ui_text(chip, lang, sum(_stance(g) == s for g in decisive)))}</span>'
            for s, chip in (("supports", "chip_for"), ("refutes", "chip_against"))
            if any(_stance(g) == s for g in decisive)
        )
        body = "".join(_evidence_item(g, plan, documents, lang) for g in decisive)
        if unrelated:
            body += (f'<details class="rag-more"><summary>{esc(ui_text("unrelated_here", lang, len(unrelated)))}'
                     f'</summary>{"".join(_evidence_item(g, plan, documents, lang) for g in unrelated)}</details>')
        head = _source_head("", first.title, first.date, doc_id, chips, url=_source_url(first, doc), doc=doc,
                            lang=lang)
        cards.append(f'<div class="rag-source" data-doc="{esc(doc_id)}">{head}{body}</div>')
    if layout.others:
        folded = []
        for doc_id, groups in layout.others:
            first = groups[0][0]
            doc = documents.get(doc_id)
            head = _source_head("", first.title, first.date, doc_id, url=_source_url(first, doc), doc=doc, lang=lang)
            items = "".join(_evidence_item(g, plan, documents, lang) for g in groups)
            folded.append(f'<div class="rag-source rag-source-other" data-doc="{esc(doc_id)}">{head}{items}</div>')
        summary = esc(ui_text("other_articles", lang, len(layout.others)))
        cards.append(f'<details class="rag-retrieved rag-others"><summary>{summary}</summary>'
                     f'{"".join(folded)}</details>')
    head = (ui_text("evidence_from", lang, len(layout.evidence)) if layout.evidence
            else ui_text("no_evidence", lang))
    return (f'<div class="rag-sources" lang="{esc(lang)}"><div class="rag-sources-head">{esc(head)}</div>'
            f"{''.join(cards)}</div>")


def _evidence_item(group: list, plan: _Plan, documents: Mapping, lang: str) -> str:
    """One passage weighed against the claim: its stance, its number, the passage with the
    sentence judged highlighted, and why."""
    first = group[0]
    stance = _stance(group)
    shown = plan.numbers[first.n]
    rationales = list(dict.fromkeys(r for e in group if (r := getattr(e, "rationale", ""))))
    rationale = "".join(f'<div class="rag-rationale">{esc(r)}</div>' for r in rationales)
    label = ui_words("stances", lang).get(stance, stance)
    page = getattr(first, "page", None)
    page = f'<span class="rag-source-page">{esc(ui_text("page", lang, n=page))}</span>' if page else ""
    return (f'<div class="rag-evidence rag-evidence-{esc(stance)}" id="{anchor(plan.key, shown)}">'
            f'<div class="rag-evidence-head"><span class="rag-stance rag-stance-{esc(stance)}">{esc(label)}</span>'
            f"{_badge(first, shown, plan.key, link=False)}{page}</div>"
            f'<blockquote class="rag-passage">{_in_context(group, documents)}</blockquote>{rationale}</div>')


# -- a paragraph checked claim by claim ----------------------------------------------------


def text_check_html(checked) -> str:
    """The chat bubble of a TextCheck: one line per claim with its verdict badge and why in a
    sentence, then the sentences not checked (questions, opinions…), folded, with why."""
    lang = language_of(checked.verdicts[0]) if checked.verdicts else "en"
    names = ui_words("verdicts", lang)
    counts = [f"{n} {names[label]}" for label in ("SUPPORTED", "REFUTED", "CONFLICTING", "NOT_ENOUGH_INFO")
              if (n := sum(v.verdict == label for v in checked.verdicts))]
    head = ui_text("claims_checked", lang, len(checked.verdicts)) + (": " + ", ".join(counts) if counts else "")
    rows = "".join(
        f'<li class="rag-claim-row">{verdict_badge(v.verdict, lang=lang)}'
        f'<span class="rag-claim">“{esc(c.text)}”</span>'
        f'<div class="rag-claim-why">{esc(_first_sentence(v.answer))}</div></li>'
        for c, v in zip(checked.claims, checked.verdicts))
    skipped = ""
    if checked.skipped:
        reasons = ui_words("skip_reasons", lang)
        items = "".join(f'<li>“{esc(s["text"])}” — {esc(reasons.get(s["why"], s["why"]))}</li>'
                        for s in checked.skipped)
        skipped = (f'<details class="rag-skipped"><summary>{esc(ui_text("not_checked", lang, len(checked.skipped)))}'
                   f"</summary><ul>{items}</ul></details>")
    meta = _meta(checked.verdicts[0], lang) if checked.verdicts else ""
    return (f'<div class="rag-msg rag-text-check" lang="{esc(lang)}"><div class="rag-tally">{esc(head)}</div>'
            f'<ol class="rag-claims">{rows}</ol>{skipped}{meta}</div>')


def text_evidence_html(checked, documents: Mapping) -> str:
    """The sources panel of a TextCheck: each claim's evidence, claim by claim."""
    lang = language_of(checked.verdicts[0]) if checked.verdicts else "en"
    if not checked.verdicts:
        return f'<div class="rag-sources"><div class="rag-sources-head">{esc(ui_text("no_evidence", lang))}</div></div>'
    parts = [f'<div class="rag-claim-evidence"><div class="rag-claim-head">{i}. “{esc(c.text)}”</div>'
             f"{evidence_html(v, documents)}</div>"
             for i, (c, v) in enumerate(zip(checked.claims, checked.verdicts), start=1)]
    return f'<div class="rag-sources rag-sources-claims" lang="{esc(lang)}">{"".join(parts)}</div>'


def _first_sentence(answer: str) -> str:
    """A verdict's explanation up to its first cited passage: "The sources refute the claim."."""
    return CITATION.split(answer, maxsplit=1)[0].strip()


# -- status and ingest -------------------------------------------------------------------


def status_html(text: str, level: str = "ok", details: str = "") -> str:
    """The status line: which backend answers, level ok, warn or error; `details` (why that
    backend: what was tried) sit behind a disclosure, for who wants them."""
    more = (f'<details class="rag-status-details"><summary>details</summary>{esc(details)}</details>'
            if details else "")
    return f'<div class="rag-status rag-status-{esc(level)}">{esc(text)}{more}</div>'


def documents_html(documents) -> str:
    """The articles in the index, newest first: the title (a link to the article when it has
    an http(s) address, with its site), date, language and file; the id is in the row's data-doc."""
    docs = sorted(documents, key=lambda d: (d.date or "", d.title), reverse=True)
    rows = []
    for d in docs:
        label = esc(_label(d.title, d.id, d))
        link = http_url(getattr(d, "url", None))
        if link:
            label = (_link(link, label, "en") + f'<div class="rag-doc-host">{esc(_host(link))}</div>')
        file_name = str(d.source).split("#")[0].rsplit("/", 1)[-1]
        rows.append(f'<tr data-doc="{esc(d.id)}"><td class="rag-doc-title">{label}</td>'
                    f'<td>{esc(d.date or "–")}</td><td>{esc(d.lang or "–")}</td>'
                    f'<td class="rag-doc-file" title="{esc(d.id)}">{esc(file_name)}</td></tr>')
    return (f'<div class="rag-docs"><div class="rag-sources-head">In the index · {len(docs)} articles</div>'
            "<table><thead><tr><th>Title</th><th>Date</th><th>Lang</th><th>File</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def ingest_html(summary: str, files: list[tuple[str, str]], level: str = "ok") -> str:
    """The result of an upload: the summary, then every file and what happened to it."""
    items = "".join(f"<li><b>{esc(name)}</b>: {esc(what)}</li>" for name, what in files)
    return (f'<div class="rag-ingest rag-status-{esc(level)}"><div>{esc(summary)}</div>'
            f'{f"<ul>{items}</ul>" if items else ""}</div>')
