"""Verdict accuracy of `check` on development claims, with the confusion matrix.

    .venv/bin/python scripts/calibrate_claims.py [--backend extractive] [-v]
    .venv/bin/python scripts/calibrate_claims.py --claims eval/external/fever_it_claims.jsonl \
        --corpus eval/external/fever_it_corpus.jsonl --set verify.entail_threshold=0.5,0.6

eval/claims_dev.jsonl holds claims about the seed articles written while designing the rules
(a held-out set is eval/gold.jsonl, scored by `rag eval`). -v prints every claim's verdict and
the evidence it rests on.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import FactChecker  # noqa: E402
from rag.eval_report import confusion_lines  # noqa: E402
from rag.evaluate import verdict_metrics  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="extractive")
    parser.add_argument("--claims", default=str(ROOT / "eval" / "claims_dev.jsonl"))
    parser.add_argument("--corpus", action="append", metavar="PATH",
                        help="articles to check the claims against (default: seeds/); repeatable")
    parser.add_argument("-v", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=V1,V2",
                        help="try each value of a setting (e.g. verify.entail_threshold=0.5,0.6,0.7); repeatable")
    args = parser.parse_args()
    items = [json.loads(line) for line in Path(args.claims).read_text(encoding="utf-8").splitlines() if line.strip()]
    grid = [dict()]
    for setting in args.set:
        key, _, values = setting.partition("=")
        grid = [g | {key: v} for g in grid for v in values.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        bot = FactChecker.build(args.corpus or [ROOT / "seeds"], tmp, progress=False)
        for combination in grid:
            for key, value in combination.items():
                bot.settings.set(key, value)
            predicted = []
            for item in items:
                verdict = bot.check(item["claim"], backend=args.backend)
                predicted.append(verdict.verdict)
                if (args.v or verdict.verdict != item["label"]) and len(grid) == 1:
                    mark = "  " if verdict.verdict == item["label"] else "XX"
                    print(f"{mark} {item['id']} gold {item['label']:15} got {verdict.verdict:15} {item['claim']}")
                    for e in verdict.evidence:
                        if e.stance != "unrelated" or args.v:
                            print(f"        [{e.n}] {e.doc_id[:3]} {e.stance:9} {e.rationale[:150]}")
            accuracy, matrix = verdict_metrics([item["label"] for item in items], predicted)
            false_supported = sum(p == "SUPPORTED" and i["label"] != "SUPPORTED" for p, i in zip(predicted, items))
            print(f"\n{combination or 'settings as configured'}: accuracy {accuracy:.3f} ({len(items)} claims), "
                  f"false SUPPORTED {false_supported}\n")
            print("\n".join(confusion_lines(matrix)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
