"""Evaluation: score the bot against gold sets whose answers have known source spans.

Three layers, each usable on its own:
- the gold set (`load_gold`): questions and claims with key facts, labels and evidence spans;
- small pure metrics: normalisation and key-fact matching, retrieval ranks, ALCE-style
  citation precision/recall, abstention, verdicts (accuracy, per-label recall, false SUPPORTED),
  latency percentiles;
- the runner (`run_eval`): every item through the public API (`bot.ask`, `bot.check`),
  scored into one `ItemResult` each, then aggregated by `score`.
Anything with nothing to score is NaN, never a fake 0 or 1.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .settings import shipped
from .text import fold
from .types import VERDICTS, Hit, RagError


@dataclass
class SpanItem:
    """A question whose answer lies in document `doc` (a file name) at text[start:end]."""

    id: str
    question: str
    doc: str
    start: int
    end: int
    lang: str = ""


def load_span_items(path: str | Path) -> list[SpanItem]:
    items = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise RagError(f"cannot read {path}: {e.strerror}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            items.append(SpanItem(raw["id"], raw["question"], raw["doc"], int(raw["start"]),
                                  int(raw["end"]), raw.get("lang", "")))
        except (ValueError, KeyError, TypeError) as e:
            raise RagError(f"{path}:{n}: not a question item ({e})") from None
    return items


def same_document(source_name: str, doc: str) -> bool:
    """Whether a gold span's `doc` names this document (`source_name`, from `source_names`):
    the same name, or, for a gold `doc` that names just a file, a document read from that file."""
    return source_name == doc or ("#" not in doc and source_name.partition("#")[0] == doc)


def is_relevant(hit, source_name: str, item) -> bool:
    """The passage (a Hit or a Citation) is from the right document and holds at least half
    of the answer span (`item`: anything with doc, start and end, a SpanItem or an Evidence)."""
    overlap = min(hit.end, item.end) - max(hit.start, item.start)
    return same_document(source_name, item.doc) and overlap >= (item.end - item.start) / 2


def first_relevant_rank(hits: list[Hit], sources: dict[str, str], item: SpanItem) -> int | None:
    """1-based rank of the first relevant passage; `sources` maps doc_id to file name."""
    return first_evidence_rank(hits, sources, [item])


def recall_at(ranks: list[int | None], k: int) -> float:
    return sum(r is not None and r <= k for r in ranks) / len(ranks) if ranks else math.nan


def mrr(ranks: list[int | None]) -> float:
    return sum(1.0 / r for r in ranks if r) / len(ranks) if ranks else math.nan


def retrieval_metrics(bot, items: list[SpanItem], k: int = 5) -> dict:
    """recall@1, recall@k and MRR (within the top k) of `bot.search` over `items`."""
    sources = source_names(bot)
    ranks = []
    for item in items:
        ranks.append(first_relevant_rank(bot.search(item.question, k=k), sources, item))
    return {"n": len(items), "recall@1": recall_at(ranks, 1), f"recall@{k}": recall_at(ranks, k),
            "mrr": mrr(ranks), "ranks": ranks}


def source_names(bot) -> dict[str, str]:
    """doc_id -> how gold sets name documents: the file name of its source, and for an article
    read from line N of a JSONL file, "#N" after it (e.g. "fever_it_corpus.jsonl#12")."""
    names = {}
    for d in bot.documents:
        path, sep, line = d.source.partition("#")
        names[d.id] = Path(path).name + (f"#{line}" if sep else "")
    return names


# -- the gold set (eval/gold.jsonl; schema and labelling rules in eval/README.md) ----------

GOLD_FILE = shipped("eval", "gold") / "gold.jsonl"
LABELS = VERDICTS  # claim labels, in confusion-matrix order


@dataclass
class Evidence:
    """A gold span: document `doc` (a file name), text[start:end] == quote."""

    doc: str
    start: int
    end: int
    quote: str


@dataclass
class GoldItem:
    """A question (kind "qa") or a claim (kind "claim") with what a right answer holds."""

    id: str
    kind: str  # "qa" | "claim"
    lang: str
    text: str  # the question or the claim
    evidence: list[Evidence]
    answerable: bool = True  # qa: False when the articles do not answer it
    answer: list[list[str]] = field(default_factory=list)  # qa: key facts, each a list of variants
    label: str | None = None  # claim: one of LABELS
    # "any": one cited gold span is enough; "each_doc": a span from every document (conflicts)
    evidence_mode: str = "any"
    note: str = ""


def _strings(value, what: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{what} must be a non-empty list of non-empty strings")
    return value


def _evidence(raw) -> Evidence:
    if not isinstance(raw, dict):
        raise ValueError("each evidence item must be an object")
    doc, start, end, quote = raw["doc"], raw["start"], raw["end"], raw["quote"]
    if not (isinstance(doc, str) and isinstance(quote, str) and type(start) is int and type(end) is int):
        raise ValueError("evidence needs doc (string), start and end (integers), quote (string)")
    if not 0 <= start < end or end - start != len(quote):
        raise ValueError(f"evidence span {start}-{end} does not fit its quote of {len(quote)} characters")
    return Evidence(doc, start, end, quote)


def parse_gold_item(raw: dict) -> GoldItem:
    """One gold line, checked field by field (ValueError/KeyError/TypeError on a bad one)."""
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    kind = raw["kind"]
    if kind not in ("qa", "claim"):
        raise ValueError(f"kind must be qa or claim, got {kind!r}")
    text = raw["question"] if kind == "qa" else raw["claim"]
    if not isinstance(raw["id"], str) or not raw["id"] or not isinstance(text, str) or not text.strip():
        raise ValueError("id and the question or claim must be non-empty strings")
    item = GoldItem(id=raw["id"], kind=kind, lang=str(raw.get("lang", "")), text=text,
                    evidence=[_evidence(e) for e in raw["evidence"]],
                    evidence_mode=raw.get("evidence_mode", "any"), note=str(raw.get("note", "")))
    if item.evidence_mode not in ("any", "each_doc"):
        raise ValueError(f"evidence_mode must be any or each_doc, got {item.evidence_mode!r}")
    if kind == "qa":
        item.answerable = raw["answerable"]
        if not isinstance(item.answerable, bool):
            raise ValueError("answerable must be true or false")
        if item.answerable:
            if not isinstance(raw["answer"], list) or not raw["answer"]:
                raise ValueError("an answerable question needs at least one key fact in answer")
            item.answer = [_strings(fact, "each key fact") for fact in raw["answer"]]
            if not item.evidence:
                raise ValueError("an answerable question needs evidence")
        elif raw.get("answer") or item.evidence:
            raise ValueError("an unanswerable question has no answer and no evidence")
    else:
        item.label = raw["label"]
        if item.label not in LABELS:
            raise ValueError(f"label must be one of {', '.join(LABELS)}, got {item.label!r}")
        if (item.label == "NOT_ENOUGH_INFO") != (not item.evidence):
            raise ValueError("a NOT_ENOUGH_INFO claim has no evidence; every other label needs some")
        if item.label == "CONFLICTING" and (item.evidence_mode != "each_doc"
                                            or len({e.doc for e in item.evidence}) < 2):
            raise ValueError("a CONFLICTING claim needs evidence_mode each_doc and spans from two documents")
    return item


def load_gold(path: str | Path) -> list[GoldItem]:
    """Read a gold JSONL file; a bad line is a RagError naming file:line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise RagError(f"cannot read gold set {path}: {getattr(e, 'strerror', None) or e}") from None
    items, seen = [], set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = parse_gold_item(json.loads(line))
        except json.JSONDecodeError as e:
            raise RagError(f"{path}:{n}: not valid JSON ({e.msg})") from None
        except KeyError as e:
            raise RagError(f"{path}:{n}: missing field {e}") from None
        except (ValueError, TypeError) as e:
            raise RagError(f"{path}:{n}: {e}") from None
        if item.id in seen:
            raise RagError(f"{path}:{n}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise RagError(f"gold set {path} holds no items")
    return items


# -- answers: normalisation and key facts -------------------------------------------------

_CITATION_MARK = re.compile(r"\[\d+\]")
# Digit groups of three after a separator: 100.000 (Italian), 100,000 (English), 100 000.
_GROUPED_NUMBER = re.compile(r"(?<![\d.,])\d{1,3}(?:[.,\u00a0\u202f ]\d{3})+(?![\d]|[.,]\d)")
_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d)")
# Anything but letters and digits becomes a space, except a decimal point between digits.
_PUNCTUATION = re.compile(r"(?!(?<=\d)\.(?=\d))[\W_]")


def normalize(text: str) -> str:
    """Compare texts the way a reader would: case, accents, punctuation, quotes and
    number formats ignored. "100.000", "100,000" and "100 000" all become "100000";
    a decimal comma becomes a point ("2,5" -> "2.5")."""
    text = fold(text)
    text = _GROUPED_NUMBER.sub(lambda m: re.sub(r"\D", "", m.group()), text)
    text = _DECIMAL_COMMA.sub(".", text)
    return " ".join(_PUNCTUATION.sub(" ", text).split())


def fact_found(normalized_text: str, variants: list[str]) -> bool:
    """Any accepted variant occurs in the (normalised) text as whole words."""
    padded = f" {normalized_text} "
    return any(v and f" {v} " in padded for v in map(normalize, variants))


def facts_found(answer: str, facts: list[list[str]]) -> list[bool]:
    """Which key facts the answer states; its [n] citation marks are not part of the text."""
    text = normalize(_CITATION_MARK.sub(" ", answer))
    return [fact_found(text, variants) for variants in facts]


def answer_accuracy(found: list[list[bool]]) -> float:
    """Share of answers that state every key fact."""
    return sum(all(f) for f in found) / len(found) if found else math.nan


def key_fact_recall(found: list[list[bool]]) -> float:
    """Share of all key facts stated, over all answers."""
    total = sum(len(f) for f in found)
    return sum(sum(f) for f in found) / total if total else math.nan


# -- retrieval and citations (ALCE-style) ---------------------------------------------------

def contains_evidence(passage, source_name: str, gold: list[Evidence]) -> bool:
    """The passage or citation holds (at least half of) one of the gold spans."""
    return any(is_relevant(passage, source_name, span) for span in gold)


def first_evidence_rank(hits: list, sources: dict[str, str], gold: list) -> int | None:
    """1-based position of the first passage holding gold evidence, None when none does."""
    for position, hit in enumerate(hits, 1):
        if contains_evidence(hit, sources.get(hit.doc_id, ""), gold):
            return position
    return None


def evidence_cited(citations: list, sources: dict[str, str], gold: list[Evidence], mode: str = "any") -> bool:
    """Whether the citations hold the gold evidence: one gold span ("any"), or one span from
    each document the evidence comes from ("each_doc", for sources that disagree)."""
    docs = {span.doc for span in gold} if mode == "each_doc" else {None}
    return bool(gold) and all(
        any(contains_evidence(c, sources.get(c.doc_id, ""), [s for s in gold if doc in (None, s.doc)])
            for c in citations)
        for doc in docs)


def ratio(hits: int, total: int) -> float:
    return hits / total if total else math.nan


# -- abstention, verdicts, latency ----------------------------------------------------------

def abstention_metrics(answerable: list[bool], abstained: list[bool]) -> dict[str, float]:
    """precision: abstentions that were right (the item is unanswerable); recall: unanswerable
    items abstained on; false_rate: answerable items abstained on."""
    pairs = list(zip(answerable, abstained))
    right = sum(not a and s for a, s in pairs)
    return {"precision": ratio(right, sum(s for _, s in pairs)),
            "recall": ratio(right, sum(not a for a, _ in pairs)),
            "false_rate": ratio(sum(a and s for a, s in pairs), sum(a for a, _ in pairs))}


def verdict_metrics(gold: list[str], predicted: list[str | None]) -> tuple[float, list[list[int]]]:
    """Accuracy, and the confusion matrix: rows are gold labels, columns predicted ones (LABELS order).
    A prediction outside LABELS (or None) counts as wrong and is left out of the matrix."""
    matrix = [[0] * len(LABELS) for _ in LABELS]
    for g, p in zip(gold, predicted):
        if g in LABELS and p in LABELS:
            matrix[LABELS.index(g)][LABELS.index(p)] += 1
    accuracy = ratio(sum(g == p for g, p in zip(gold, predicted)), len(gold))
    return accuracy, matrix


def false_supported(gold: list[str], predicted: list[str | None]) -> tuple[int, int]:
    """(claims called SUPPORTED whose gold label is not SUPPORTED, claims whose gold label is
    not SUPPORTED): the error a fact-checker must not make, and what it is out of."""
    pairs = list(zip(gold, predicted))
    return (sum(g != "SUPPORTED" and p == "SUPPORTED" for g, p in pairs),
            sum(g != "SUPPORTED" for g, _ in pairs))


def verdict_recall(gold: list[str], predicted: list[str | None]) -> dict[str, float]:
    """Per gold label: the share of its claims given that verdict (NaN for a label with no claims)."""
    pairs = list(zip(gold, predicted))
    return {label: ratio(sum(g == p == label for g, p in pairs), sum(g == label for g, _ in pairs))
            for label in LABELS}


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


# -- the runner ------------------------------------------------------------------------------

RECALL_AT = (1, 5)


@dataclass
class ItemResult:
    """What the bot did with one gold item, and every way it fell short (`failures`)."""

    id: str
    kind: str
    lang: str
    text: str
    answerable: bool = True
    expected: object = None  # key facts (qa) or gold label (claim)
    output: str = ""  # the answer text, or the verdict
    abstained: bool = False
    has_evidence: bool = False
    rank: int | None = None  # of the first retrieved passage holding gold evidence
    facts: list[bool] = field(default_factory=list)
    citations: list[dict] = field(default_factory=list)  # {n, doc_id, start, end, has_evidence}
    evidence_cited: bool | None = None
    timings_ms: dict = field(default_factory=dict)
    backend: str = ""
    error: str | None = None
    failures: list[str] = field(default_factory=list)
    judged_correct: bool | None = None  # the optional LLM judge's grade (None: not judged)
    judge_rationale: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def _score_sources(result: ItemResult, item: GoldItem, reply, sources: dict[str, str]) -> None:
    """Retrieval rank and citations of one reply against the item's gold spans."""
    for c in reply.citations:
        holds = bool(item.evidence) and contains_evidence(c, sources.get(c.doc_id, ""), item.evidence)
        result.citations.append({"n": c.n, "doc_id": c.doc_id, "start": c.start, "end": c.end,
                                 "has_evidence": holds})
    if not item.evidence:
        return
    result.rank = first_evidence_rank(reply.passages, sources, item.evidence)
    result.evidence_cited = evidence_cited(reply.citations, sources, item.evidence, item.evidence_mode)
    k = max(RECALL_AT)
    if result.rank is None or result.rank > k:
        result.failures.append(f"gold evidence not in the top {k} passages")
    if not result.evidence_cited:
        every = " from every source" if item.evidence_mode == "each_doc" else ""
        result.failures.append(f"gold evidence not cited{every}")
    result.failures += [f"citation [{c['n']}] ({c['doc_id']} {c['start']}-{c['end']}) holds no gold evidence"
                        for c in result.citations if not c["has_evidence"]]


def run_item(bot, item: GoldItem, sources: dict[str, str], backend: str | None = None) -> ItemResult:
    """Ask or check one item through the public API and score it."""
    result = ItemResult(item.id, item.kind, item.lang, item.text, answerable=item.answerable,
                        expected=item.answer if item.kind == "qa" else item.label,
                        has_evidence=bool(item.evidence))
    try:
        reply = bot.ask(item.text, backend=backend) if item.kind == "qa" else bot.check(item.text, backend=backend)
    except RagError as e:  # scored as a miss everywhere, so one failing item cannot hide
        result.error = str(e)
        result.failures.append(f"error: {e}")
        result.facts = [False] * len(item.answer)
        result.evidence_cited = False if item.evidence else None
        return result
    result.timings_ms, result.backend = dict(reply.timings_ms), reply.backend
    if item.kind == "qa":
        result.output, result.abstained = reply.answer, reply.abstained
        if not item.answerable:
            if not reply.abstained:
                result.failures.append("answered a question the sources do not answer")
            return result  # nothing to score its citations against
        if reply.abstained:
            result.failures.append("abstained on an answerable question")
        result.facts = [False] * len(item.answer) if reply.abstained else facts_found(reply.answer, item.answer)
        result.failures += [f"missing key fact: {' / '.join(variants[:3])}"
                            for variants, found in zip(item.answer, result.facts) if not found]
    else:
        result.output = reply.verdict
        if reply.verdict != item.label:
            result.failures.append(f"verdict {reply.verdict}, expected {item.label}")
    _score_sources(result, item, reply, sources)
    return result


def run_eval(bot, items: list[GoldItem], backend: str | None = None, progress: bool = True) -> list[ItemResult]:
    """Every item through the bot, with a progress bar on stderr."""
    from tqdm import tqdm

    sources = source_names(bot)
    held = set(sources.values()) | {name.partition("#")[0] for name in sources.values()}
    missing = sorted({e.doc for item in items for e in item.evidence} - held)
    if missing:
        raise RagError(f"the gold set cites {', '.join(missing)}, which the index does not hold; "
                       f"build the index from the articles it was written from (`rag eval --corpus PATH`)")
    results = [run_item(bot, item, sources, backend)
               for item in tqdm(items, desc="Evaluating", unit="item", file=sys.stderr, disable=not progress)]
    errors = [r.error for r in results if r.error]
    if errors and len(errors) == len(results):  # e.g. the backend is down: say so, once
        raise RagError(errors[0])
    return results


# -- the optional LLM judge ----------------------------------------------------------------------

JUDGE_SCHEMA = {"type": "object", "properties": {"correct": {"type": "boolean"}, "rationale": {"type": "string"}},
                "required": ["correct", "rationale"]}


def judge_answers(results: list[ItemResult], items: list[GoldItem], llm, progress: bool = True) -> None:
    """Ask an LLM whether each answer to an answerable question states its key facts.

    A second opinion beside the string matching of key facts (which misses paraphrases); it is
    only as good as the judge model, so it is opt-in and reported under its own label."""
    from tqdm import tqdm

    from . import prompts

    by_id = {item.id: item for item in items}
    graded = [r for r in results if r.kind == "qa" and r.answerable and not r.error]
    for result in tqdm(graded, desc="Judging", unit="answer", file=sys.stderr, disable=not progress):
        item = by_id[result.id]
        if result.abstained:
            result.judged_correct, result.judge_rationale = False, "abstained"
            continue
        messages = [{"role": "system", "content": prompts.load("judge_system.txt")},
                    {"role": "user", "content": prompts.render(
                        "judge_user.txt", question=item.text, answer=prompts.as_data(result.output),
                        facts="\n".join(" | ".join(variants) for variants in item.answer))}]
        try:
            reply = json.loads(llm.chat(messages, json_schema=JUDGE_SCHEMA))
            result.judged_correct, result.judge_rationale = bool(reply["correct"]), str(reply["rationale"])
        except (ValueError, KeyError, TypeError):  # not the schema: this answer stays ungraded
            result.judge_rationale = "the judge's reply was not valid JSON"


LATENCY = tuple(f"latency.{stage}_p{q}_ms" for stage in ("retrieval", "generation") for q in (50, 95))
# Metrics where higher is better: the ones a floor (--fail-under) can be set on.
GATED = ("retrieval.recall@1", "retrieval.recall@5", "retrieval.mrr", "answer.accuracy",
         "answer.key_fact_recall", "citation.precision", "citation.recall", "abstention.precision",
         "abstention.recall", "verdict.accuracy", *(f"verdict.recall.{label}" for label in LABELS))
# Metrics where lower is better: the ones a ceiling (--fail-over) can be set on.
LOWER_IS_BETTER = ("verdict.false_supported_rate", "abstention.false_rate", *LATENCY)


@dataclass
class Scores:
    metrics: dict[str, float]  # name -> value (NaN: nothing to score)
    # name -> how many items (or citations) it was computed over; and "verdict.false_supported":
    # how many claims were called SUPPORTED whose gold label is not (verdict.false_supported_rate's numerator)
    support: dict[str, int]
    confusion: list[list[int]] | None  # verdicts: rows gold, columns predicted, in LABELS order

    def to_dict(self) -> dict:
        clean = {k: (None if math.isnan(v) else round(v, 4)) for k, v in self.metrics.items()}
        return {"metrics": clean, "support": self.support, "labels": list(LABELS), "confusion": self.confusion}


def score(results: list[ItemResult]) -> Scores:
    """Aggregate item results into the suite's metrics."""
    m, n = {}, {}
    sourced = [r for r in results if r.has_evidence]
    ranks = [r.rank for r in sourced]
    for k in RECALL_AT:
        m[f"retrieval.recall@{k}"], n[f"retrieval.recall@{k}"] = recall_at(ranks, k), len(ranks)
    m["retrieval.mrr"], n["retrieval.mrr"] = mrr(ranks), len(ranks)

    answered = [r for r in results if r.kind == "qa" and r.answerable]
    found = [r.facts for r in answered]
    m["answer.accuracy"], n["answer.accuracy"] = answer_accuracy(found), len(found)
    m["answer.key_fact_recall"], n["answer.key_fact_recall"] = key_fact_recall(found), sum(map(len, found))

    cited = [c for r in sourced for c in r.citations]
    m["citation.precision"] = ratio(sum(c["has_evidence"] for c in cited), len(cited))
    m["citation.recall"] = ratio(sum(bool(r.evidence_cited) for r in sourced), len(sourced))
    n["citation.precision"], n["citation.recall"] = len(cited), len(sourced)

    questions = [r for r in results if r.kind == "qa" and not r.error]
    abstention = abstention_metrics([r.answerable for r in questions], [r.abstained for r in questions])
    m.update({f"abstention.{name}": value for name, value in abstention.items()})
    n["abstention.precision"] = sum(r.abstained for r in questions)
    n["abstention.recall"] = sum(not r.answerable for r in questions)
    n["abstention.false_rate"] = sum(r.answerable for r in questions)

    claims = [r for r in results if r.kind == "claim"]
    gold_labels, predicted = [r.expected for r in claims], [r.output or None for r in claims]
    accuracy, confusion = verdict_metrics(gold_labels, predicted)
    m["verdict.accuracy"], n["verdict.accuracy"] = accuracy, len(claims)
    wrongly_supported, not_supported = false_supported(gold_labels, predicted)
    m["verdict.false_supported_rate"] = ratio(wrongly_supported, not_supported)
    n["verdict.false_supported_rate"] = not_supported
    n["verdict.false_supported"] = wrongly_supported  # a count, not a support: shown beside the rate
    for label, value in verdict_recall(gold_labels, predicted).items():
        m[f"verdict.recall.{label}"] = value
        n[f"verdict.recall.{label}"] = sum(g == label for g in gold_labels)

    judged = [r.judged_correct for r in answered if r.judged_correct is not None]
    if judged:  # only when an LLM judge was asked (rag eval --judge)
        m["llm_judge.accuracy"], n["llm_judge.accuracy"] = ratio(sum(judged), len(judged)), len(judged)

    for stage in ("retrieval", "generation"):
        times = [r.timings_ms[stage] for r in results if stage in r.timings_ms]
        for q in (50, 95):
            m[f"latency.{stage}_p{q}_ms"], n[f"latency.{stage}_p{q}_ms"] = percentile(times, q), len(times)
    return Scores(m, n, confusion if claims else None)


def _limit_value(name: str, value: float) -> str:
    return f"{value:.1f}" if name.endswith("_ms") else f"{value:.3f}"


def _missed_limits(metrics: dict[str, float], limits: dict[str, float], what: str, sign: str) -> list[str]:
    """The limits (floors: `sign` "<", ceilings: ">") a run misses, one readable line each; a
    NaN misses: it cannot be checked."""
    missed = []
    for name, limit in limits.items():
        value = metrics.get(name, math.nan)
        if math.isnan(value):
            missed.append(f"{name}: nothing to score ({what} {limit:g})")
        elif (value < limit) if sign == "<" else (value > limit):
            missed.append(f"{name} = {_limit_value(name, value)} {sign} {limit:g}")
    return missed


def check_floors(metrics: dict[str, float], floors: dict[str, float]) -> list[str]:
    """The floors that were missed, one readable line each (NaN misses: it cannot be checked)."""
    return _missed_limits(metrics, floors, "floor", "<")


def check_ceilings(metrics: dict[str, float], ceilings: dict[str, float]) -> list[str]:
    """The ceilings that were exceeded, one readable line each (NaN misses: it cannot be checked)."""
    return _missed_limits(metrics, ceilings, "ceiling", ">")


def _parse_limit(spec: str, what: str, allowed: tuple[str, ...], other: tuple[str, ...],
                 other_flag: str) -> tuple[str, float]:
    name, sep, value = spec.partition("=")
    name = name.strip()
    if not sep:
        raise ValueError(f"expected METRIC=VALUE, got {spec!r}")
    if name in other:
        better = "lower" if what == "floor" else "higher"
        raise ValueError(f"{name} is {better}-is-better: it takes a {'ceiling' if what == 'floor' else 'floor'} "
                         f"({other_flag}), not a {what}")
    if name not in allowed:
        raise ValueError(f"unknown metric {name!r}; choose from {', '.join(allowed)}")
    try:
        limit = float(value)
    except ValueError:
        raise ValueError(f"the {what} for {name} must be a number, got {value!r}") from None
    if name.endswith("_ms"):
        if not 0.0 <= limit < math.inf:
            raise ValueError(f"the {what} for {name} must be a number of milliseconds, at least 0, got {value}")
    elif not 0.0 <= limit <= 1.0:
        raise ValueError(f"the {what} for {name} must be between 0 and 1, got {value}")
    return name, limit


def parse_floor(spec: str) -> tuple[str, float]:
    """"answer.accuracy=0.8" -> ("answer.accuracy", 0.8); ValueError with the reason."""
    return _parse_limit(spec, "floor", GATED, LOWER_IS_BETTER, "--fail-over")


def parse_ceiling(spec: str) -> tuple[str, float]:
    """"verdict.false_supported_rate=0.1" -> ("verdict.false_supported_rate", 0.1); ValueError with the reason."""
    return _parse_limit(spec, "ceiling", LOWER_IS_BETTER, GATED, "--fail-under")
