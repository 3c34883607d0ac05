"""Calibrate the abstention threshold of the answer stage on development questions.

    .venv/bin/python scripts/calibrate_answers.py

Answerable questions: eval/retrieval*.jsonl (answer span known). Unanswerable ones:
eval/unanswerable_dev.jsonl (off-topic, and on-topic facts the seeds do not state). For each
question it takes the best evidence sentence's score and prints, per threshold, how many
answerable questions would abstain and how many unanswerable ones would be answered, plus
how often the extractive answer quotes the gold span.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import FactChecker  # noqa: E402
from rag.evaluate import load_span_items  # noqa: E402


def main() -> int:
    answerable = load_span_items(ROOT / "eval" / "retrieval.jsonl") + \
        load_span_items(ROOT / "eval" / "retrieval_dev.jsonl")
    unanswerable = [json.loads(line) for line in
                    (ROOT / "eval" / "unanswerable_dev.jsonl").read_text(encoding="utf-8").splitlines()]
    with tempfile.TemporaryDirectory() as tmp:
        bot = FactChecker.build([ROOT / "seeds"], tmp, progress=False)
        sources = {d.id: Path(d.source).name for d in bot.documents}
        pos, neg, quoted = [], [], 0
        for item in answerable:
            hits = bot.search(item.question)
            evidence = bot.answerer.evidence(item.question, hits)
            pos.append((evidence[0].score, item.lang))
            top = evidence[0]
            if sources[top.hit.doc_id] == item.doc and top.start < item.end and item.start < top.end:
                quoted += 1
        for item in unanswerable:
            evidence = bot.answerer.evidence(item["question"], bot.search(item["question"]))
            neg.append((evidence[0].score, item["lang"]))
    print(f"{len(pos)} answerable, {len(neg)} unanswerable questions")
    print(f"best sentence quotes the gold span: {quoted}/{len(pos)} = {quoted / len(pos):.3f}")
    for lang in ("it", "en"):
        p = sorted(s for s, l in pos if l == lang)
        n = sorted(s for s, l in neg if l == lang)
        print(f"{lang}: answerable min/median {p[0]:.3f}/{p[len(p) // 2]:.3f}; "
              f"unanswerable median/max {n[len(n) // 2]:.3f}/{n[-1]:.3f}")
    print(f"\n{'threshold':>9} {'false abstain':>14} {'false answer':>13} {'balanced acc':>13}")
    for t in [x / 100 for x in range(76, 92)]:
        fa = sum(s < t for s, _ in pos) / len(pos)
        fn = sum(s >= t for s, _ in neg) / len(neg)
        print(f"{t:9.2f} {fa:14.3f} {fn:13.3f} {1 - (fa + fn) / 2:13.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
