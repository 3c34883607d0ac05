"""Calibrate the entailment threshold of answer validation on development statements.

    .venv/bin/python scripts/calibrate_support.py [-v]

eval/support_dev.jsonl holds statements an LLM might write about the seed articles, each citing
the passage that holds `cite`, labelled supported or unsupported (a wrong number, date, place or
person, a contradiction, outside knowledge, an off-topic or empty statement). A statement is
grounded when the judge's P(entailment) reaches the threshold and the facts do not veto it
(answer.Answerer._supported). For each threshold it prints how many supported statements would
be rejected and how many unsupported ones would pass. -v lists every statement.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import FactChecker  # noqa: E402
from rag.grounding import Grounding  # noqa: E402
from rag.types import Hit  # noqa: E402


def passage_with(bot: FactChecker, quote: str) -> Hit:
    for chunk in bot.data.chunks:
        if quote in chunk.text:
            doc = bot.data.documents[chunk.doc_id]
            return Hit(1, doc.id, doc.title, doc.date, chunk.id, chunk.start, chunk.end, chunk.text, 1.0)
    raise SystemExit(f"no passage holds {quote!r}")


def main() -> int:
    verbose = "-v" in sys.argv
    items = [json.loads(line) for line in (ROOT / "eval" / "support_dev.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        bot = FactChecker.build([ROOT / "seeds"], tmp, progress=False)
        grounding = Grounding(bot.retriever)
        rows = []
        for item in items:
            passage = [(1, passage_with(bot, item["cite"]))]
            vector = grounding.embed([item["statement"]])[0]
            support = grounding.measure(item["statement"], passage, vector)[0]
            support.score = grounding.entailment(item["statement"], passage, vector)[1][0]  # P(entailment)
            rows.append((item, support))
            if verbose:
                flags = "VETO " + support.why_not() if support.vetoed else ""
                print(f"{item['id']} {item['label'][:5]:5} P(entailment) {support.score:.3f} {flags}\n"
                      f"      {item['statement']}")
    positives = [s for i, s in rows if i["label"] == "supported"]
    negatives = [s for i, s in rows if i["label"] != "supported"]
    print(f"\n{len(positives)} supported, {len(negatives)} unsupported statements")
    print(f"vetoed by facts: {sum(s.vetoed for s in positives)} supported, {sum(s.vetoed for s in negatives)} unsupported")
    print(f"\n{'threshold':>9} {'rejected good':>14} {'accepted bad':>13} {'balanced acc':>13}")
    for t in [x / 100 for x in range(20, 96, 5)]:
        rejected = sum(s.vetoed or s.score < t for s in positives) / len(positives)
        accepted = sum(not s.vetoed and s.score >= t for s in negatives) / len(negatives)
        print(f"{t:9.2f} {rejected:14.3f} {accepted:13.3f} {1 - (rejected + accepted) / 2:13.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
