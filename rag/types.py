"""The domain types every stage passes around, in one place."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields


class RagError(Exception):
    """An error the user can act on. The CLI prints its message as one line and exits 1."""


class Cancelled(RagError):
    """Work stopped at the caller's request: an ingest before anything was written, or a
    reply whose model was stopped."""


@dataclass
class Document:
    """One article. `text` is what the chunks point into; `body_start` skips title lines."""

    id: str
    title: str
    text: str
    source: str  # where it came from: a file path, or "path#line" for a JSONL article
    date: str | None = None  # ISO date, from metadata or the dateline ("Mosca, 9 novembre 2025")
    url: str | None = None
    lang: str | None = None
    body_start: int = 0
    sha256: str = ""  # content hash: re-ingesting an unchanged document embeds nothing
    author: str | None = None
    # where each page starts in `text` (a PDF: pages[0] == 0); empty when the source has no pages
    pages: list = field(default_factory=list)
    # sentences addressed to a model ([start, end] offsets), found at ingest (injection.py):
    # never quoted, never evidence, withheld from prompts; `rag docs` lists them
    flagged: list = field(default_factory=list)

    def page_at(self, offset: int) -> int | None:
        """The page (from 1) that `offset` of `text` is on; None for a source without pages."""
        return bisect.bisect_right(self.pages, offset) if self.pages else None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Chunk:
    """A passage of a document. Invariant: document.text[start:end] == text."""

    id: str
    doc_id: str
    text: str
    start: int
    end: int
    # (start, end) of each sentence, in document offsets: the units of sentence-level search
    sentences: list[tuple[int, int]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Hit:
    """A retrieved passage with the scores that ranked it (None: not found by that retriever)."""

    rank: int
    doc_id: str
    title: str
    date: str | None
    chunk_id: str
    start: int
    end: int
    text: str
    score: float  # fused reciprocal-rank score
    dense_score: float | None = None  # cosine similarity
    dense_rank: int | None = None
    keyword_score: float | None = None  # BM25
    keyword_rank: int | None = None
    url: str | None = None  # the article's original address, when it has one
    page: int | None = None  # the page the passage starts on, for a paginated source (a PDF)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class EmbedProgress:
    """Where an ingest's embedding (its long part) stands: what `ingest(on_progress=f)` passes
    to `f` after each batch of texts comes back, in this process or from a Dask cluster."""

    done: int  # distinct texts embedded so far (chunks and their sentences)
    total: int
    batches_done: int
    batches: int
    workers: int = 0  # Dask workers embedding the batches; 0 = in this process
    seconds: float = 0.0  # since the embedding began

    @property
    def texts_per_s(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else float("nan")

    @property
    def seconds_left(self) -> float:
        """The pace so far, carried on: batches take about the same time, so it holds well."""
        return (self.total - self.done) / self.texts_per_s if self.done and self.seconds > 0 else float("nan")


@dataclass
class IngestReport:
    """What an ingest changed, and what it skipped and why."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    flagged: list[tuple[str, str]] = field(default_factory=list)  # (doc id, a sentence addressed to a model)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (path, a caveat: "decoded as windows-1252")
    # each file or address read -> the ids of the documents it holds now (a feed: its entries)
    origins: dict[str, list[str]] = field(default_factory=dict)
    chunks_embedded: int = 0
    total_documents: int = 0
    total_chunks: int = 0

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
        ]
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        if self.flagged:
            parts.append(f"{len(self.flagged)} sentences addressed to a model set aside")
        return (
            ", ".join(parts)
            + f"; {self.chunks_embedded} chunks embedded;"
            + f" index holds {self.total_documents} documents, {self.total_chunks} chunks"
        )


@dataclass
class Citation:
    """A cited source span: passage [n] of the answer; `text` is document.text[start:end]."""

    n: int
    doc_id: str
    title: str
    date: str | None
    chunk_id: str
    start: int
    end: int
    text: str
    url: str | None = None  # the article's original address, when it has one
    page: int | None = None  # the page the passage starts on, for a paginated source (a PDF)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    """An answer whose every sentence cites a retrieved passage, or an abstention."""

    question: str
    answer: str  # citations as [n]
    abstained: bool
    citations: list[Citation]
    backend: str  # who wrote the answer: ollama, llamacpp or extractive
    backend_reason: str = ""  # why that backend (e.g. "Ollama not reachable at ...")
    conflicts: list[dict] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    fallback: str | None = None  # why a model's answer was replaced by the extractive one
    removed_citations: int = 0  # citations to passages that were not retrieved
    added_citations: int = 0  # sentences the model left uncited or mis-cited, attributed by validation
    draft: str | None = None  # the model's own text, before validation (None: no model was asked)
    passages: list[Hit] = field(default_factory=list)  # what the answer was drawn from
    resolved_question: str | None = None  # a follow-up as it was understood (rag/conversation.py)
    language: str = "en"  # the language the answer and its messages are written in

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("passages")
        return data


STANCES = ("supports", "refutes", "unrelated")
VERDICTS = ("SUPPORTED", "REFUTED", "NOT_ENOUGH_INFO", "CONFLICTING")


@dataclass
class EvidenceItem(Citation):
    """A retrieved passage judged against a claim: its stance and why, in one line."""

    stance: str = "unrelated"  # supports | refutes | unrelated
    rationale: str = ""
    judged_by: str = "rules"  # rules (no LLM) or the backend that judged it

    def citation(self) -> Citation:
        return Citation(**{f.name: getattr(self, f.name) for f in fields(Citation)})


@dataclass
class Verdict:
    """A claim's verdict, resting only on retrieved passages, with the evidence per source."""

    claim: str
    verdict: str  # SUPPORTED | REFUTED | NOT_ENOUGH_INFO | CONFLICTING
    answer: str  # the verdict explained, citing passages as [n]
    abstained: bool  # nothing relevant was retrieved
    citations: list[Citation]  # the passages the verdict rests on (supporting or refuting)
    evidence: list[EvidenceItem]  # every retrieved passage with its stance
    sources: list[dict] = field(default_factory=list)  # per document: its stance and its passages [n]
    conflicts: list[dict] = field(default_factory=list)  # sources that disagree, and on what
    backend: str = "extractive"
    backend_reason: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    passages: list[Hit] = field(default_factory=list)
    language: str = "en"  # the language the verdict text and rationales are written in

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("passages")
        return {"question": self.claim, **data}


# Long work reports its steps: ("retrieving" | "judging" | "asking" | "writing" | "validating",
# done, total), e.g. ("judging", 3, 8) while the judge reads passage 3 of 8.
OnStep = Callable[[str, int, int], None]


@dataclass
class Turn:
    """One earlier question of the conversation, as asked and as it was understood."""

    question: str
    resolved: str | None = None  # None: it stood on its own

    @property
    def standalone(self) -> str:
        return self.resolved or self.question


@dataclass
class ClaimSpan:
    """A check-worthy claim found in a longer text. Invariant: text[start:end] == self.text, so
    a report or the UI can highlight it where it was said."""

    text: str
    start: int
    end: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TextCheck:
    """A paragraph or a speech checked claim by claim (FactChecker.check_text).

    `verdicts[i]` is the verdict on `claims[i]`; `skipped` lists what was not checked, in text
    order, as {"text", "why", "start", "end"} ("a question", "an opinion", "over the limit", ...)."""

    text: str
    claims: list[ClaimSpan]
    verdicts: list[Verdict]
    skipped: list[dict] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def summary(self) -> dict:
        """How many claims were checked, how many got each verdict, and how many were skipped."""
        counts = {label: sum(v.verdict == label for v in self.verdicts) for label in VERDICTS}
        return {"claims": len(self.verdicts), **counts, "skipped": len(self.skipped)}

    def to_dict(self) -> dict:
        # each claim is the object `rag check --json` prints, with where it is in the text
        return {"text": self.text,
                "claims": [{"start": c.start, "end": c.end, **v.to_dict()}
                           for c, v in zip(self.claims, self.verdicts)],
                "skipped": [dict(s) for s in self.skipped], "summary": self.summary,
                "timings_ms": self.timings_ms}
