"""Evaluation: score the bot against question sets whose answers have known source spans.

Each metric is small and separate: find the rank of the first correct passage per item,
then aggregate. An empty set scores NaN, never a fake 0 or 1.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from .types import Hit, RagError


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


def is_relevant(hit: Hit, source_name: str, item: SpanItem) -> bool:
    """The passage is from the right document and holds at least half of the answer span."""
    overlap = min(hit.end, item.end) - max(hit.start, item.start)
    return source_name == item.doc and overlap >= (item.end - item.start) / 2


def first_relevant_rank(hits: list[Hit], sources: dict[str, str], item: SpanItem) -> int | None:
    """1-based rank of the first relevant passage; `sources` maps doc_id to file name."""
    for hit in hits:
        if is_relevant(hit, sources.get(hit.doc_id, ""), item):
            return hit.rank
    return None


def recall_at(ranks: list[int | None], k: int) -> float:
    return sum(r is not None and r <= k for r in ranks) / len(ranks) if ranks else math.nan


def mrr(ranks: list[int | None]) -> float:
    return sum(1.0 / r for r in ranks if r) / len(ranks) if ranks else math.nan


def retrieval_metrics(bot, items: list[SpanItem], k: int = 5) -> dict:
    """recall@1, recall@k and MRR (within the top k) of `bot.search` over `items`."""
    sources = {d.id: Path(d.source.split("#")[0]).name for d in bot.documents}
    ranks = []
    for item in items:
        ranks.append(first_relevant_rank(bot.search(item.question, k=k), sources, item))
    return {"n": len(items), "recall@1": recall_at(ranks, 1), f"recall@{k}": recall_at(ranks, k),
            "mrr": mrr(ranks), "ranks": ranks}
