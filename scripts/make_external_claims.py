"""Build the external claim check: a balanced, seeded sample of FEVER-IT's checked Italian test set.

    .venv/bin/python scripts/make_external_claims.py [--source FILE] [--out DIR] [--seed N] [--per-label N]

Reads the FEVER-IT pairs normalised to JSONL (premise, hypothesis, label entailment|neutral|
contradiction, split; default /work/shared/data/nli/it_fever_it.jsonl, see eval/external/README.md),
keeps split == "test_ITA_GOLD" (the manually validated pairs) and writes to --out (eval/external/):

- fever_it_corpus.jsonl: every distinct premise of the sample as one article
  ({"title", "date": null, "url": null, "text"}), the JSONL format `rag ingest` reads;
- fever_it_claims.jsonl: the claims in the gold-set schema (eval/README.md): entailment ->
  SUPPORTED, contradiction -> REFUTED, neutral -> NOT_ENOUGH_INFO. A claim's evidence is its own
  premise, the whole article, named "fever_it_corpus.jsonl#N" (the Nth line); NOT_ENOUGH_INFO
  claims have no evidence (the schema's rule), their premise is still an article of the corpus.

The same source file, seed and sizes always give the same two files, byte for byte. Rules of the
sample, so that the gold labels, which hold against a claim's own premise, still hold against the
whole corpus (every other premise is an article too, and retrieval has to find the right one):
- premises of at most --max-premise-chars characters (600, the default chunk size: one passage
  holds the whole premise, so "the passage holds the gold evidence" is well defined);
- a claim that occurs more than once in the test set (with other premises, maybe other labels)
  is left out; each premise is used by one claim;
- the claim holds a name (a capitalised word), and no two sampled items share one: a capitalised
  word of a claim may not appear capitalised in another item's claim or premise, so no other
  article is about what a claim is about.
Candidates are taken in a seeded random order, accepted while their label still needs items.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = Path("/work/shared/data/nli/it_fever_it.jsonl")
SPLIT = "test_ITA_GOLD"
LABELS = {"entailment": "SUPPORTED", "contradiction": "REFUTED", "neutral": "NOT_ENOUGH_INFO"}
CORPUS_NAME, CLAIMS_NAME = "fever_it_corpus.jsonl", "fever_it_claims.jsonl"
MIN_PREMISE_CHARS = 30  # shorter "premises" are fragments, not evidence

_WORD = re.compile(r"[^\W\d_]+")
# Capitalised words that start Italian sentences and name nothing.
_NOT_NAMES = set("""
il lo la gli le un uno una nel nella nello nei negli nelle dal dalla dallo dai dagli dalle del della
dello dei degli delle al alla allo ai agli alle sul sulla sullo sui sugli sulle all dell nell sull dall
con per tra fra che chi cui non era erano sono fu furono ha hanno è questo questa questi queste quello
quella alcuni alcune tutti tutte nessun nessuno nessuna dopo prima durante come anche ogni suo sua suoi
sue esso essa egli lei lui loro inoltre nato nata stato stata stati molti molte solo almeno circa già più
secondo mentre quando dove poi infine qui tale oltre invece però ma anzi fino sempre mai ancora
""".split())


def names(text: str) -> set[str]:
    """The capitalised words of a text, lower-cased (a rough stand-in for the names it holds)."""
    return {w.lower() for w in _WORD.findall(text) if w[0].isupper() and len(w) >= 3} - _NOT_NAMES


def read_pairs(path: Path) -> list[dict]:
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if line.strip():
                pairs.append({**json.loads(line), "line": line_no})
    return pairs


def sample(pairs: list[dict], seed: int, per_label: int, max_premise_chars: int) -> list[dict]:
    test = [p for p in pairs if p["split"] == SPLIT]
    claim_counts = Counter(p["hypothesis"].strip().lower() for p in test)
    candidates = [p for p in test
                  if p["label"] in LABELS and claim_counts[p["hypothesis"].strip().lower()] == 1
                  and MIN_PREMISE_CHARS <= len(p["premise"].strip()) <= max_premise_chars
                  and p["hypothesis"].strip()]
    random.Random(seed).shuffle(candidates)
    chosen, need = [], {label: per_label for label in LABELS}
    used_premises, claim_names, all_names = set(), set(), set()
    for p in candidates:
        premise, claim = p["premise"].strip(), p["hypothesis"].strip()
        mine, theirs = names(claim), names(premise) | names(claim)
        if not need[p["label"]] or premise in used_premises or not mine:
            continue
        if mine & all_names or theirs & claim_names:
            continue
        chosen.append(p)
        need[p["label"]] -= 1
        used_premises.add(premise)
        claim_names |= mine
        all_names |= theirs
        if not any(need.values()):
            return chosen
    short = ", ".join(f"{label}: {n}" for label, n in need.items() if n)
    raise SystemExit(f"error: not enough candidates under the sampling rules (still needed {short})")


def build(chosen: list[dict], seed: int) -> tuple[list[dict], list[dict]]:
    """The corpus articles (in a seeded order) and the gold claim items (in sample order)."""
    premises = list(dict.fromkeys(p["premise"].strip() for p in chosen))
    random.Random(seed + 1).shuffle(premises)
    line_of = {text: n for n, text in enumerate(premises, 1)}
    corpus = [{"title": f"FEVER-IT evidence {n:03d}", "date": None, "url": None, "text": text}
              for n, text in enumerate(premises, 1)]
    claims = []
    for n, p in enumerate(chosen, 1):
        premise, label = p["premise"].strip(), LABELS[p["label"]]
        doc = f"{CORPUS_NAME}#{line_of[premise]}"
        origin = f"FEVER-IT {SPLIT}, line {p['line']} of the normalised file, {p['label']}"
        item = {"id": f"fever-it-{n:03d}", "kind": "claim", "lang": "it", "claim": p["hypothesis"].strip(),
                "label": label,
                "evidence": [] if label == "NOT_ENOUGH_INFO" else
                [{"doc": doc, "start": 0, "end": len(premise), "quote": premise}],
                "note": origin + (f"; its premise ({doc}) does not settle it" if label == "NOT_ENOUGH_INFO" else "")}
        claims.append(item)
    return corpus, claims


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help=f"FEVER-IT JSONL (default {DEFAULT_SOURCE})")
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "external", help="output folder")
    parser.add_argument("--seed", type=int, default=12, help="random seed (default 12)")
    parser.add_argument("--per-label", type=int, default=40, help="claims per label (default 40)")
    parser.add_argument("--max-premise-chars", type=int, default=600, help="longest premise kept (default 600)")
    args = parser.parse_args()
    if not args.source.is_file():
        print(f"error: no FEVER-IT file at {args.source} (--source)", file=sys.stderr)
        return 1
    digest = hashlib.sha256(args.source.read_bytes()).hexdigest()
    chosen = sample(read_pairs(args.source), args.seed, args.per_label, args.max_premise_chars)
    corpus, claims = build(chosen, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out / CORPUS_NAME, corpus)
    write_jsonl(args.out / CLAIMS_NAME, claims)
    counts = Counter(c["label"] for c in claims)
    print(f"{args.source} (sha256 {digest[:16]}…), seed {args.seed}: {len(claims)} claims "
          f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}), {len(corpus)} articles -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
