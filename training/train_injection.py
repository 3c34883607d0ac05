"""Train the injection classifier of rag/injection.py. Never runs in CI; ~1 min on 2 cores.

    .venv/bin/python training/train_injection.py            # writes rag/models/injection/classifier.json

Logistic regression on the multilingual-e5-small passage vectors of the sentences of
training/injection_data.py (1: addressed to a model; 0: a sentence a reader can use). The
threshold is the highest that still flags every injection of the training set in 5-fold cross
validation (recall first: a missed instruction reaches a model, a flagged news sentence is only
not quoted). Seeded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from injection_data import sentences  # noqa: E402
from nli_data import DEFAULT_DATA  # noqa: E402

from rag.injection import MODEL_FILE, normalise  # noqa: E402

EMBEDDER = "multilingual-e5-small"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from rag.embeddings import load_embedder

    texts, labels = sentences(args.data, seed=args.seed)
    y = np.array(labels)
    x = load_embedder(EMBEDDER).embed_passages([normalise(t) for t in texts])
    model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000)
    folds = StratifiedKFold(5, shuffle=True, random_state=args.seed)
    p = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    threshold = float(min(0.5, p[y == 1].min() - 1e-3))  # every training injection flagged out of fold
    false_positive = float((p[y == 0] >= threshold).mean())
    model.fit(x, y)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "embedder": EMBEDDER,
        "weights": [round(float(w), 6) for w in model.coef_[0]],
        "bias": round(float(model.intercept_[0]), 6),
        "threshold": round(threshold, 4),
        "training": {"sentences": len(texts), "injections": int(y.sum()), "plain": int((y == 0).sum()),
                     "seed": args.seed, "cv_false_positive_rate": round(false_positive, 4)},
    }, indent=1) + "\n")
    print(f"{len(texts)} sentences ({int(y.sum())} injections); threshold {threshold:.3f}; "
          f"cross-validated false positives {false_positive:.3%} -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
