"""HTML for the web UI: answers, verdicts and their sources.

Articles are untrusted input, so every piece of text from them (and from a model, and from
the user) goes through `esc` before it is put into HTML; only the markup built here is raw.
Citation markers [n] become badges only when passage n is among the answer's citations.
The functions take any object with the right attributes (Answer, Verdict, Hit, Citation,
or a test's stand-in), so they can be tested without an index.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping

from .answer import CITATION

CONTEXT_CHARS = 240  # shown around a cited span when its passage is not known
WITHHELD = "[…]"  # stands for a sentence set aside as addressed to a model (as in prompts)

VERDICTS = {  # label -> (CSS modifier, what the badge says)
    "SUPPORTED": ("supported", "Supported"),
    "REFUTED": ("refuted", "Refuted"),
    "NOT_ENOUGH_INFO": ("nei", "Not enough info"),
    "CONFLICTING": ("conflicting", "Sources conflict"),
}
STANCES = {"supports": "Supports", "refutes": "Refutes", "unrelated": "Unrelated"}

EMPTY_SOURCES = (
    '<div class="rag-sources rag-empty">'
    "<p><b>Sources</b></p>"
    "<p>Each passage an answer cites appears here, with its article's title and date and "
    "the cited words highlighted.</p></div>"
)


def esc(text) -> str:
    return html.escape(str(text), quote=True)


# -- citations ---------------------------------------------------------------------------


def with_badges(text: str, citations: Iterable) -> str:
    """Escape `text` and turn its [n] / [n, m] markers into badges for known citations.

    A number with no citation behind it stays plain text: no badge points nowhere."""
    known = {c.n: c for c in citations}
    out, pos = [], 0
    for m in CITATION.finditer(text):
        out.append(esc(text[pos : m.start()]))
        numbers = [int(x) for x in re.split(r"\s*[,;]\s*", m.group(1).strip())]
        badges = [_badge(known[n]) for n in numbers if n in known]
        unknown = [str(n) for n in numbers if n not in known]
        out.append("".join(badges) + (esc(f"[{', '.join(unknown)}]") if unknown else ""))
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def _badge(citation) -> str:
    where = citation.title + (f", {citation.date}" if citation.date else "")
    return f'<span class="rag-cite" title="{esc(where)}">{citation.n}</span>'


def passage_in_context(citation, documents: Mapping, passages: Iterable = ()) -> str:
    """The cited span highlighted inside the passage it came from, escaped.

    The span is taken from the document itself (document.text[start:end]), so what is
    highlighted is exactly what was cited."""
    doc = documents.get(citation.doc_id)
    if doc is None:  # the article has left the index since: show the cited text alone
        return f"<mark>{esc(citation.text)}</mark>"
    text = doc.text
    lo, hi = citation.start, citation.end
    chunk_id = getattr(citation, "chunk_id", None)
    passage = next((p for p in passages if chunk_id and p.chunk_id == chunk_id), None)
    if passage is not None:
        lo, hi = min(lo, passage.start), max(hi, passage.end)
    else:
        lo, hi = _snap(text, lo - CONTEXT_CHARS, hi + CONTEXT_CHARS)
        lo, hi = min(lo, citation.start), max(hi, citation.end)
    before = readable(doc, lo, citation.start).lstrip()
    after = readable(doc, citation.end, hi).rstrip()
    return (("… " if lo > getattr(doc, "body_start", 0) else "") + esc(before)
            + f"<mark>{esc(text[citation.start:citation.end])}</mark>"
            + esc(after) + (" …" if hi < len(text) else ""))


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


def _source_head(n_badge: str, title: str, date, doc_id: str, extra: str = "") -> str:
    meta = " · ".join(esc(x) for x in (date, doc_id) if x)
    return (f'<div class="rag-source-head">{n_badge}<span class="rag-source-title">{esc(title)}</span>'
            f"{extra}</div><div class=\"rag-source-meta\">{meta}</div>")


# -- answers -----------------------------------------------------------------------------


def pending_html(note: str = "Searching the articles…") -> str:
    return f'<div class="rag-msg rag-pending"><span class="rag-dots"></span> {esc(note)}</div>'


def draft_html(draft: str, backend: str) -> str:
    """A model's text as it is written: not yet checked against the sources."""
    return (f'<div class="rag-msg rag-draft"><div class="rag-meta">Draft from {esc(backend)}, '
            f"being written; it is checked against the sources before it counts</div>"
            f'<div class="rag-text">{esc(draft)}<span class="rag-caret"></span></div></div>')


def error_html(message: str) -> str:
    return f'<div class="rag-msg rag-error"><b>Could not answer.</b> {esc(message)}</div>'


def answer_html(answer, text: str | None = None) -> str:
    """The chat bubble of an Answer; `text` shows a prefix of it while it streams in."""
    text = answer.answer if text is None else text
    if answer.abstained:
        return ('<div class="rag-msg rag-abstain"><div class="rag-abstain-head">Not in the sources</div>'
                f'<div class="rag-text">{esc(text)}</div>'
                '<div class="rag-meta">Nothing retrieved answers this, so nothing was guessed. '
                "The closest passages are in the sources panel.</div>"
                f"{_meta(answer)}</div>")
    return (f'<div class="rag-msg rag-answer"><div class="rag-text">{with_badges(text, answer.citations)}</div>'
            f"{_note(answer.fallback or '')}{conflicts_html(answer.conflicts, answer.citations)}"
            f"{_meta(answer)}</div>")


def _note(note: str) -> str:
    return f'<div class="rag-note">{esc(note)}</div>' if note else ""


def _meta(result) -> str:
    parts = [f"answered by {result.backend}"]
    cited = len({c.doc_id for c in result.citations})
    if result.citations:
        parts.append(f"{len(result.citations)} passage{'s' * (len(result.citations) != 1)} "
                     f"from {cited} article{'s' * (cited != 1)}")
    total = (result.timings_ms or {}).get("total")
    if total is not None:
        parts.append(f"{total / 1000:.1f} s" if total >= 1000 else f"{total:.0f} ms")
    return f'<div class="rag-meta">{esc(" · ".join(parts))}</div>'


def sources_html(answer, documents: Mapping) -> str:
    """The sources panel of an Answer: each cited passage, then what else was retrieved."""
    passages = list(answer.passages or [])
    cards = [
        f'<div class="rag-source" id="rag-src-{c.n}">'
        + _source_head(_badge(c), c.title, c.date, c.doc_id)
        + f'<blockquote class="rag-passage">{passage_in_context(c, documents, passages)}</blockquote></div>'
        for c in answer.citations
    ]
    cited_chunks = {c.chunk_id for c in answer.citations}
    others = [p for p in passages if p.chunk_id not in cited_chunks]
    head = (f"{len(answer.citations)} cited passage{'s' * (len(answer.citations) != 1)}"
            if answer.citations else "No passage answers the question")
    body = "".join(cards)
    if others:
        body += retrieved_html(others, documents, open_=not answer.citations)
    return f'<div class="rag-sources"><div class="rag-sources-head">Sources · {esc(head)}</div>{body}</div>'


def retrieved_html(passages: list, documents: Mapping, open_: bool = False) -> str:
    """Passages that were retrieved but not cited, folded away."""
    def snippet(p) -> str:
        doc = documents.get(p.doc_id)
        return _shorten(readable(doc, p.start, p.end) if doc is not None else p.text, 320)

    items = "".join(
        f'<div class="rag-retrieved-item"><div class="rag-source-head"><span class="rag-rank">#{p.rank}</span>'
        f'<span class="rag-source-title">{esc(p.title)}</span></div>'
        f'<div class="rag-source-meta">{" · ".join(esc(x) for x in (p.date, p.doc_id) if x)}</div>'
        f'<div class="rag-snippet">{esc(snippet(p))}</div></div>'
        for p in passages
    )
    return (f'<details class="rag-retrieved"{" open" if open_ else ""}>'
            f"<summary>Also retrieved, not cited ({len(passages)})</summary>{items}</details>")


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


# -- conflicts ---------------------------------------------------------------------------

def conflicts_html(conflicts: list[dict], citations: Iterable) -> str:
    """Call out sources that disagree. A conflict names its passages (`passages` in an answer,
    `supports` and `refutes` in a verdict) and says what they disagree on (`summary`)."""
    if not conflicts:
        return ""
    known = {c.n: c for c in citations}
    rows = []
    for conflict in conflicts:
        numbers = conflict.get("passages") or conflict.get("supports", []) + conflict.get("refutes", [])
        who = " vs ".join(_badge(known[n]) + f" {esc(known[n].title)}" if n in known else esc(f"[{n}]")
                          for n in numbers)
        what = conflict.get("summary", "")
        rows.append(f"<li>{who}{': ' if who and what else ''}{esc(what)}</li>")
    label = "Sources disagree" if len(conflicts) == 1 else f"Sources disagree ({len(conflicts)})"
    return f'<div class="rag-conflicts"><div class="rag-conflicts-head">{label}</div><ul>{"".join(rows)}</ul></div>'


# -- verdicts ----------------------------------------------------------------------------


def verdict_badge(label: str) -> str:
    modifier, text = VERDICTS.get(label, ("nei", label))
    return f'<span class="rag-verdict-badge rag-v-{modifier}">{esc(text)}</span>'


def verdict_html(verdict, text: str | None = None) -> str:
    """The chat bubble of a Verdict: the label as a coloured badge, the explanation with
    its citations, how many passages support and refute, and conflicts between sources."""
    text = verdict.answer if text is None else text
    tally = _tally(verdict.evidence)
    tally = f'<div class="rag-tally">{esc(tally)}</div>' if tally else ""
    return (f'<div class="rag-msg rag-verdict"><div class="rag-verdict-head">{verdict_badge(verdict.verdict)}'
            f'<span class="rag-claim">“{esc(verdict.claim)}”</span></div>'
            f'<div class="rag-text">{with_badges(text, _citations_of(verdict))}</div>{tally}'
            f"{conflicts_html(verdict.conflicts, _citations_of(verdict))}{_meta(verdict)}</div>")


def _citations_of(verdict) -> list:
    """Badges may point at any passage the verdict cites or weighs as evidence."""
    seen = {c.n: c for c in verdict.evidence}
    seen.update({c.n: c for c in verdict.citations})
    return list(seen.values())


def _tally(evidence) -> str:
    counts = {s: sum(1 for e in evidence if e.stance == s) for s in ("supports", "refutes")}
    parts = []
    if counts["supports"]:
        parts.append(f"{counts['supports']} passage{'s' * (counts['supports'] != 1)} for")
    if counts["refutes"]:
        parts.append(f"{counts['refutes']} against")
    return " · ".join(parts)


def evidence_html(verdict, documents: Mapping) -> str:
    """The sources panel of a Verdict: evidence for and against, grouped by article."""
    by_doc: dict[str, list] = {}
    for item in verdict.evidence:
        by_doc.setdefault(item.doc_id, []).append(item)
    order = {"supports": 0, "refutes": 1}
    cards = []
    for doc_id, items in by_doc.items():
        items.sort(key=lambda e: (order.get(e.stance, 2), e.n))
        first = items[0]
        chips = "".join(
            f'<span class="rag-stance rag-stance-{s}">{sum(e.stance == s for e in items)} {word}</span>'
            for s, word in (("supports", "for"), ("refutes", "against"))
            if any(e.stance == s for e in items)
        )
        body = "".join(_evidence_item(e, documents) for e in items)
        cards.append(f'<div class="rag-source">{_source_head("", first.title, first.date, doc_id, chips)}{body}</div>')
    head = f"Evidence from {len(by_doc)} article{'s' * (len(by_doc) != 1)}" if by_doc else "No evidence found"
    return (f'<div class="rag-sources"><div class="rag-sources-head">{esc(head)}</div>'
            f"{conflicts_html(verdict.conflicts, _citations_of(verdict))}{''.join(cards)}</div>")


def _evidence_item(item, documents: Mapping) -> str:
    stance = esc(item.stance)
    rationale = getattr(item, "rationale", "")
    rationale = f'<div class="rag-rationale">{esc(rationale)}</div>' if rationale else ""
    return (f'<div class="rag-evidence rag-evidence-{stance}"><div class="rag-evidence-head">'
            f'<span class="rag-stance rag-stance-{stance}">{esc(STANCES.get(item.stance, item.stance))}</span>'
            f"{_badge(item)}</div>"
            f'<blockquote class="rag-passage">{passage_in_context(item, documents)}</blockquote>{rationale}</div>')


# -- status and ingest -------------------------------------------------------------------


def status_html(text: str, level: str = "ok") -> str:
    """The status line: which backend answers and why. level: ok, warn or error."""
    return f'<div class="rag-status rag-status-{esc(level)}">{esc(text)}</div>'


def documents_html(documents) -> str:
    """The articles in the index, newest first."""
    docs = sorted(documents, key=lambda d: (d.date or "", d.title), reverse=True)
    rows = "".join(
        f'<tr><td class="rag-doc-title">{esc(d.title)}</td><td>{esc(d.date or "–")}</td>'
        f'<td>{esc(d.lang or "–")}</td><td class="rag-doc-file">{esc(d.source.split("#")[0].rsplit("/", 1)[-1])}</td></tr>'
        for d in docs
    )
    return (f'<div class="rag-docs"><div class="rag-sources-head">In the index · {len(docs)} articles</div>'
            "<table><thead><tr><th>Title</th><th>Date</th><th>Lang</th><th>File</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>")


def ingest_html(summary: str, files: list[tuple[str, str]], level: str = "ok") -> str:
    """The result of an upload: the summary, then every file and what happened to it."""
    items = "".join(f"<li><b>{esc(name)}</b>: {esc(what)}</li>" for name, what in files)
    return (f'<div class="rag-ingest rag-status-{esc(level)}"><div>{esc(summary)}</div>'
            f'{f"<ul>{items}</ul>" if items else ""}</div>')
