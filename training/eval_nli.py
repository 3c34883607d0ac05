"""Held-out accuracy of the entailment judge, per source and per language (3-way).

    .venv/bin/python training/eval_nli.py [--model rag/models/nli] [--out rag/models/nli/metrics.json]

Every set here is a public test or validation split that training never saw (nli_data.py).
Prints a table (accuracy, macro-F1, the confusion matrix rows gold e/n/c) and writes it as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from nli_data import DEFAULT_DATA, LABEL_IDS, held_out_sets  # noqa: E402

from rag.nli import NLIJudge  # noqa: E402


def scores(gold: np.ndarray, pred: np.ndarray) -> dict:
    matrix = np.zeros((3, 3), dtype=int)
    for g, p in zip(gold, pred):
        matrix[g, p] += 1
    f1 = []
    for c in range(3):
        tp, fp, fn = matrix[c, c], matrix[:, c].sum() - matrix[c, c], matrix[c, :].sum() - matrix[c, c]
        if matrix[c, :].sum() == 0:
            continue  # a class the set does not have (FEVER-Symmetric: no neutral)
        f1.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return {"n": int(len(gold)), "accuracy": round(float((gold == pred).mean()), 4),
            "macro_f1": round(float(np.mean(f1)), 4), "confusion": matrix.tolist()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None, help="at most this many pairs per set (a quick look)")
    parser.add_argument("--sets", nargs="+", metavar="NAME", help="only these held-out sets")
    args = parser.parse_args()
    judge = NLIJudge.load(args.model)
    results, per_lang = {}, defaultdict(lambda: ([], []))
    started = time.time()
    for name, rows in held_out_sets(args.data).items():
        if args.sets and name not in args.sets:
            continue
        rows = rows[: args.limit] if args.limit else rows
        probs = judge.predict([(r["premise"], r["hypothesis"]) for r in rows])
        gold = np.array([LABEL_IDS[r["label"]] for r in rows])
        pred = probs.argmax(1)
        results[name] = scores(gold, pred) | {"lang": rows[0]["lang"]}
        per_lang[rows[0]["lang"]][0].extend(gold)
        per_lang[rows[0]["lang"]][1].extend(pred)
        r = results[name]
        print(f"{name:22} {r['lang']}  n={r['n']:5}  acc {r['accuracy']:.3f}  macro-F1 {r['macro_f1']:.3f}  "
              f"confusion e/n/c {r['confusion']}", flush=True)
    languages = {lang: scores(np.array(g), np.array(p)) for lang, (g, p) in per_lang.items()}
    for lang, r in languages.items():
        print(f"all {lang:18}     n={r['n']:5}  acc {r['accuracy']:.3f}  macro-F1 {r['macro_f1']:.3f}")
    print(f"{time.time() - started:.0f} s")
    if args.out:
        args.out.write_text(json.dumps({"sets": results, "languages": languages}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
