"""Cross-language NLI pairs from the parallel translations in the training data.

    .venv/bin/python training/cross_lingual.py   # ~2 min: training/runs/cross_lingual{,_test}.jsonl

A user checks an English claim against Italian articles, so the judge must see a premise in one
language and a hypothesis in another. No such set is in `shared/data/nli/`, but two of its
sources are translations of the same pairs: RTE-3's development set in Italian, German and
French, and FEVER-IT's training sample in Italian and English. Their rows are not in the same
order (each file dropped its own duplicates), so translations are found by meaning: the
multilingual e5 vectors of premise + hypothesis, matched one to one (mutual nearest neighbours,
same label, cosine >= MIN_COSINE). Each matched pair of translations gives the premise of one
with the hypothesis of the other, both ways, and a cross-language restatement: the premise of
one with a sentence of its own translation as the hypothesis, entailment (an English claim that
restates an Italian article's sentence in other words is what a fact-checker meets most, and
the public sets' near-identical pairs are minimal edits labelled contradiction). Training pairs
come from training splits only; the RTE-3 test sets, matched the same way, give a held-out
cross-language set (eval_nli.py reads it when it is there). FEVER-IT's checked test is not used.
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import permutations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from nli_data import CROSS_LINGUAL_TEST, CROSS_LINGUAL_TRAIN, DEFAULT_DATA, read_file, split_sentences  # noqa: E402

MIN_COSINE = 0.9
# name -> language -> (file stem, split): sets whose rows translate each other
PARALLEL = {
    "rte3": {"it": ("it_rte3_ita", "dev"), "de": ("de_rte3_de", "dev"), "fr": ("fr_rte3_fr", "dev")},
    "fever-it": {"it": ("it_fever_it", "train_ITA"), "en": ("en_fever_it_english_side", "train_ENG")},
}
HELD_OUT = {"rte3-test": {"it": ("it_rte3_ita", "test"), "de": ("de_rte3_de", "test"), "fr": ("fr_rte3_fr", "test")}}


def match(a: np.ndarray, b: np.ndarray, labels_a: list[str], labels_b: list[str]) -> list[tuple[int, int]]:
    """Rows of `a` and `b` that are each other's nearest neighbour, with the same label."""
    sims = a @ b.T
    best_b, best_a = sims.argmax(1), sims.argmax(0)
    return [(i, int(j)) for i, j in enumerate(best_b)
            if best_a[j] == i and sims[i, j] >= MIN_COSINE and labels_a[i] == labels_b[j]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    from rag.embeddings import load_embedder

    embedder = load_embedder("multilingual-e5-small")
    for sets, out in ((PARALLEL, CROSS_LINGUAL_TRAIN), (HELD_OUT, CROSS_LINGUAL_TEST)):
        write(cross_pairs(sets, args.data, embedder), out)
    return 0


def cross_pairs(sets: dict, data: Path, embedder) -> list[dict]:
    pairs = []
    for name, sides in sets.items():
        rows, vectors = {}, {}
        for lang, (stem, split) in sides.items():
            rows[lang] = [r for r in read_file(data, stem) if r["split"] == split]
            vectors[lang] = embedder.embed_passages([r["premise"] + " " + r["hypothesis"] for r in rows[lang]])
        for one, other in permutations(sides, 2):
            matched = match(vectors[one], vectors[other], [r["label"] for r in rows[one]],
                            [r["label"] for r in rows[other]])
            print(f"{name} {one}->{other}: {len(matched)} of {len(rows[one])} rows matched", file=sys.stderr)
            for i, j in matched:
                p, h = rows[one][i], rows[other][j]
                pairs.append({"premise": p["premise"], "hypothesis": h["hypothesis"], "label": p["label"],
                              "lang": f"{one}-{other}", "source": f"{name} cross-lingual", "split": name})
                restated = restatement(p["premise"], h["premise"], i)
                if restated:
                    pairs.append({"premise": p["premise"], "hypothesis": restated, "label": "entailment",
                                  "lang": f"{one}-{other}", "source": f"{name} cross-lingual restatement",
                                  "split": name})
    return pairs


def restatement(premise: str, translation: str, k: int) -> str | None:
    """A sentence of the premise's translation: the whole translation when it is one or two
    sentences, else the k-th sentence when both sides split into the same number of sentences
    (so that sentence j of one is sentence j of the other); None when they do not line up."""
    ours, theirs = split_sentences(premise.strip()), split_sentences(translation.strip())
    if len(theirs) <= 2:
        return translation
    if len(ours) != len(theirs):
        return None
    sentence = theirs[k % len(theirs)]
    return sentence if len(sentence.split()) >= 4 else None


def write(pairs: list[dict], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        for pair in pairs:
            f.write(json.dumps(pair, ensure_ascii=False) + "\n")
    print(f"{len(pairs)} cross-language pairs -> {out}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
