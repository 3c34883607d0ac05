"""Retrieval quality per embedder on a question set with known answer spans.

    .venv/bin/python scripts/retrieval_report.py [--questions eval/retrieval.jsonl] [--json out.json]

Builds a fresh index of seeds/ with each embedder and prints recall@1, recall@5 and MRR,
overall and per question language, for each retrieval mode.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import FactChecker, RagError, Settings  # noqa: E402
from rag.evaluate import load_span_items, retrieval_metrics  # noqa: E402

EMBEDDERS = ["multilingual-e5-small", "all-MiniLM-L6-v2", "use-multilingual-v3"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", default=str(ROOT / "eval" / "retrieval.jsonl"))
    parser.add_argument("--seeds", default=str(ROOT / "seeds"))
    parser.add_argument("--embedders", nargs="+", default=EMBEDDERS)
    parser.add_argument("--modes", nargs="+", default=["hybrid", "dense", "keyword"])
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--json", help="also save the results to this file")
    args = parser.parse_args()

    items = load_span_items(args.questions)
    by_lang = {lang: [i for i in items if i.lang == lang] for lang in sorted({i.lang for i in items})}
    rows = []
    print(f"{len(items)} questions ({', '.join(f'{len(v)} {k}' for k, v in by_lang.items())}), k={args.k}\n")
    header = f"{'embedder':24} {'mode':8} {'subset':6} {'recall@1':>9} {'recall@5':>9} {'MRR':>6}"
    print(header)
    print("-" * len(header))
    for model in args.embedders:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings.load(embedding__model=model)
            try:
                started = time.perf_counter()
                bot = FactChecker.build([args.seeds], tmp, settings=settings, progress=False)
                build_s = time.perf_counter() - started
            except RagError as e:
                print(f"{model:24} unavailable: {e}")
                continue
            for mode in args.modes:
                bot.settings.retrieval.mode = mode
                for subset, subset_items in [("all", items), *by_lang.items()]:
                    m = retrieval_metrics(bot, subset_items, k=args.k)
                    rows.append({"embedder": model, "backend": bot.embedder.spec["backend"], "mode": mode,
                                 "subset": subset, "build_s": round(build_s, 2), **m})
                    print(f"{model:24} {mode:8} {subset:6} {m['recall@1']:9.3f} "
                          f"{m[f'recall@{args.k}']:9.3f} {m['mrr']:6.3f}")
            bot.settings.retrieval.mode = "hybrid"
            missed = [i.id for i, r in zip(items, retrieval_metrics(bot, items, k=args.k)["ranks"]) if r != 1]
            print(f"{'':24} (hybrid: not at rank 1: {', '.join(missed) or 'none'})")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
