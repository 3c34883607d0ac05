"""Train the injection classifier of rag/injection.py. Never runs in CI; ~5 min on 2 cores.

    .venv/bin/python training/train_injection.py            # writes rag/models/injection/classifier.json

Logistic regression on the multilingual-e5-small passage vectors of the sentences of
training/injection_data.py (1: addressed to a model; 0: a sentence a reader can use). Most of an
archive is ordinary text, so the threshold is set on ordinary sentences the classifier never
saw (injection_data.PLAIN_HELD_OUT, other splits and sources): the score that at most
MAX_FALSE_POSITIVES of them reach. The patterns of rag/injection.py stay the first line; the
classifier adds wordings they miss. Seeded.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from injection_data import PLAIN_HELD_OUT, plain_sentences, sentences  # noqa: E402
from nli_data import DEFAULT_DATA  # noqa: E402

from rag.injection import MODEL_FILE, normalise  # noqa: E402

EMBEDDER = "multilingual-e5-small"
MAX_FALSE_POSITIVES = 0.002  # of ordinary sentences: 1 in 500 is not quoted


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
    held_out = plain_sentences(args.data, 1000, random.Random(args.seed + 1), PLAIN_HELD_OUT)
    held_out = sorted(set(held_out) - set(texts))
    y = np.array(labels)
    embedder = load_embedder(EMBEDDER)
    x = embedder.embed_passages([normalise(t) for t in texts])
    x_held = embedder.embed_passages([normalise(t) for t in held_out])
    model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000)
    folds = StratifiedKFold(5, shuffle=True, random_state=args.seed)
    p = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    model.fit(x, y)
    p_held = model.predict_proba(x_held)[:, 1]
    threshold = float(max(0.5, np.quantile(p_held, 1 - MAX_FALSE_POSITIVES)))
    false_positive = float((p_held >= threshold).mean())
    recall = float((p[y == 1] >= threshold).mean())  # out of fold
    print("most suspect ordinary sentences:", *[f"  {q:.3f} {t}" for q, t in sorted(zip(p_held, held_out))[-8:]],
          sep="\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "embedder": EMBEDDER,
        "weights": [round(float(w), 6) for w in model.coef_[0]],
        "bias": round(float(model.intercept_[0]), 6),
        "threshold": round(threshold, 4),
        "training": {"sentences": len(texts), "injections": int(y.sum()), "plain": int((y == 0).sum()),
                     "seed": args.seed, "held_out_plain": len(held_out),
                     "held_out_false_positive_rate": round(false_positive, 4),
                     "cv_injection_recall": round(recall, 4)},
    }, indent=1) + "\n")
    print(f"{len(texts)} sentences ({int(y.sum())} injections); threshold {threshold:.3f}: "
          f"{false_positive:.2%} of {len(held_out)} held-out ordinary sentences flagged, "
          f"{recall:.1%} of injections out of fold -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
