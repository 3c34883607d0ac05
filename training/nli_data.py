"""The NLI pairs the judge is trained and measured on: which files, which splits, which caps.

Reads the normalised JSONL files of `shared/data/nli/` (their licences are in its SOURCES.md).
Every public test split is held out for evaluation, and so is FEVER-IT's checked test set in
both languages (the English side is its source text: training on it would leak the Italian
test). `noncommercial/` is never read. GQNLI-FR is left out: some of its premises come from
ANLI's test set, which is CC BY-NC.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "nli"
LABEL_IDS = {"entailment": 0, "neutral": 1, "contradiction": 2}
RUNS = Path(__file__).resolve().parent / "runs"
CROSS_LINGUAL_TRAIN = RUNS / "cross_lingual.jsonl"  # written by cross_lingual.py
CROSS_LINGUAL_TEST = RUNS / "cross_lingual_test.jsonl"

# file stem -> (splits to train on, cap on pairs taken, times repeated). A split not listed for
# training is held out; a cap keeps one large source from drowning the others.
TRAIN = {
    "en_wiki_new_protocols": ({"base/train", "contrast/train", "edit_other/train", "edit_premise/train"}, 24000, 1),
    "en_wiki_semi_automatic": ({"base_wiki/train", "sim_wiki/train", "translate_wiki/train"}, None, 1),
    "en_snli_devtest": ({"dev"}, None, 1),
    "en_snli_counterfactual": ({"train", "dev"}, None, 1),
    "en_mnli_taxinli": ("not-held-out", None, 1),  # genres only: a seeded 15% is held out
    "en_breaking_nli": ({"all"}, 2500, 1),  # 88% contradiction, word swaps: a little goes far
    "en_fever_symmetric": ({"fever_symmetric_dev.jsonl"}, None, 1),
    "en_fever_it_english_side": ({"train_ENG"}, None, 2),
    "it_fever_it": ({"train_ITA"}, None, 3),
    "it_rte3_ita": ({"dev"}, None, 2),  # the only Italian training pairs with a licence: repeated
    "de_rte3_de": ({"dev"}, None, 1),
    "fr_rte3_fr": ({"dev"}, None, 1),
    "fr_daccord_contradictions": ({"all"}, None, 1),
    "pt_inferbr": ({"train", "val"}, None, 1),
}

# Held-out evaluation sets: name -> (file stem, splits, cap). Never trained on.
HELD_OUT = {
    "snli-test": ("en_snli_devtest", {"test"}, 3000),
    "cad-snli-test": ("en_snli_counterfactual", {"test"}, None),
    "mnli-heldout": ("en_mnli_taxinli", "held-out", None),
    "wiki-protocols-val": ("en_wiki_new_protocols", {"base/val", "contrast/val", "edit_other/val", "edit_premise/val", "paragraph/val"}, 2000),
    "wiki-semiauto-test": ("en_wiki_semi_automatic", {"base_wiki/test", "sim_wiki/test", "translate_wiki/test"}, None),
    "fever-symmetric-test": ("en_fever_symmetric", {"fever_symmetric_test.jsonl"}, None),
    "fever-en-test": ("en_fever_it_english_side", {"test_ENG_GOLD"}, None),
    "fever-it-test": ("it_fever_it", {"test_ITA_GOLD"}, None),
    "rte3-it-test": ("it_rte3_ita", {"test"}, None),
    "rte3-de-test": ("de_rte3_de", {"test"}, None),
    "rte3-fr-test": ("fr_rte3_fr", {"test"}, None),
    "inferbr-pt-test": ("pt_inferbr", {"test"}, None),
}


def read_file(data_dir: Path, stem: str) -> list[dict]:
    for name, opener in ((f"{stem}.jsonl", open), (f"{stem}.jsonl.gz", gzip.open)):
        path = Path(data_dir) / name
        if path.exists():
            with opener(path, "rt", encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
    raise FileNotFoundError(f"{stem}.jsonl(.gz) not found in {data_dir}")


def _mnli_held_out(row: dict) -> bool:
    """A fixed 15% of the MultiNLI pairs, chosen by a hash of the text (stable across runs)."""
    digest = hashlib.sha256((row["premise"] + "\x00" + row["hypothesis"]).encode()).digest()
    return digest[0] < 38  # 38/256 ~ 15%


def _in(row: dict, splits) -> bool:
    if splits == "held-out":
        return _mnli_held_out(row)
    if splits == "not-held-out":
        return not _mnli_held_out(row)
    return row["split"] in splits


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý\"«“])")


def split_sentences(text: str) -> list[str]:
    """A premise's sentences: good enough for the plain prose of the NLI sets."""
    return _SENTENCE_END.split(text)


def _language_weights(langs: list[str]) -> list[float]:
    # English has most of the pool; the articles a user checks are as often Italian
    return [0.4 if lang == "en" else 0.3 if lang == "it" else 0.3 / max(1, len(langs) - 2) for lang in langs]


def restatement_pairs(train: list[dict], n: int, rng: random.Random) -> list[dict]:
    """Pairs the public sets lack and a fact-checker meets every day, made from training premises.

    Near-identical pairs in the public sets are almost all minimal edits (CAD, Breaking NLI,
    the contrast sets) labelled contradiction or neutral, so a judge trained on them alone calls
    a sentence checked against itself a contradiction. Half of these pairs are restatements: a
    premise and one of its own sentences (or the whole premise), entailment. The other half put
    an existing pair inside a passage: the premise with a sentence from an unrelated premise of
    the same language before or after it, the label unchanged, as a retrieved passage has
    sentences that neither support nor refute the claim.
    """
    by_lang: dict[str, list[dict]] = {}
    for r in train:
        by_lang.setdefault(r.get("lang", "en"), []).append(r)
    langs = sorted(by_lang)
    weights = _language_weights(langs)
    out = []
    for k in range(n):
        row = rng.choice(by_lang[rng.choices(langs, weights)[0]])
        sentences = [s for s in split_sentences(row["premise"].strip()) if len(s.split()) >= 4]
        if k % 2 == 0:
            hypothesis = rng.choice(sentences) if sentences else row["premise"]
            out.append({"premise": row["premise"], "hypothesis": hypothesis, "label": "entailment",
                        "lang": row.get("lang", "en"), "file": "restatement"})
        else:
            other = rng.choice(by_lang[row.get("lang", "en")])
            if other["premise"] == row["premise"]:
                continue
            filler = rng.choice(split_sentences(other["premise"].strip()))
            parts = [filler, row["premise"]] if rng.random() < 0.5 else [row["premise"], filler]
            out.append(row | {"premise": " ".join(parts), "file": "in-passage"})
    return out


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 3}


def off_topic_pairs(train: list[dict], n: int, rng: random.Random) -> list[dict]:
    """Hypotheses against a premise about something else: neutral.

    In SNLI and its kin premise and hypothesis describe the same photo, so "a man sleeps" against
    "a man plays the guitar" is a contradiction, and a judge trained on them calls every
    sentence about another event a contradiction. A retrieved passage about another event says
    nothing about the claim. Each pair takes a hypothesis and the premise of another pair of the
    same source (same domain, same style), or a quarter of the time of another language (a claim
    in English against an Italian article), with few words in common with the hypothesis's own
    premise (so it is not about the same thing), labelled neutral.
    """
    by_file: dict[str, list[dict]] = {}
    for r in train:
        if r.get("file") not in ("restatement", "in-passage", "cross_lingual"):
            by_file.setdefault(r["file"], []).append(r)
    by_lang: dict[str, list[dict]] = {}
    for rows in by_file.values():
        by_lang.setdefault(rows[0].get("lang", "en"), []).extend(rows)
    langs = sorted(by_lang)
    weights = _language_weights(langs)
    out = []
    while len(out) < n:
        lang = rng.choices(langs, weights)[0]
        row = rng.choice(by_lang[lang])
        own, asked = _words(row["premise"]), _words(row["hypothesis"])
        if rng.random() < 0.25:
            candidates = [rng.choice(by_lang[rng.choice([x for x in langs if x != lang])])]
        else:
            candidates = [rng.choice(by_file[row["file"]]) for _ in range(1 if len(out) % 2 else 30)]
        candidates = [c for c in candidates if c["premise"] != row["premise"]
                      and len(own & _words(c["premise"])) <= 0.3 * max(1, len(own))]
        if not candidates:
            continue
        # every other pair takes, of 30, the premise with most words of the hypothesis: the same
        # kind of scene or subject, another event (what a retriever puts beside the evidence)
        other = max(candidates, key=lambda c: len(asked & _words(c["premise"])))
        out.append({"premise": other["premise"], "hypothesis": row["hypothesis"], "label": "neutral",
                    "lang": lang if other.get("lang", "en") == lang else "cross", "file": "off-topic"})
    return out


def training_pairs(data_dir: Path = DEFAULT_DATA, seed: int = 13, cross_lingual: int = 0,
                   restatements: int = 0, off_topic: int = 0) -> tuple[list[dict], list[dict]]:
    """(train, calibration): a seeded 3% of the training pool is kept back to fit the temperature.
    `cross_lingual` > 0 adds the pairs of cross_lingual.py, repeated that many times, and
    `restatements` adds that many pairs of restatement_pairs(), `off_topic` that many of
    off_topic_pairs() (all after the calibration slice is drawn, so the slice is the same with
    or without them)."""
    rng = random.Random(seed)
    pool = []
    for stem, (splits, cap, repeat) in TRAIN.items():
        rows = [r for r in read_file(data_dir, stem) if _in(r, splits)]
        rng.shuffle(rows)
        rows = rows[:cap] if cap else rows
        for r in rows:
            r["file"] = stem
        pool.append((rows, repeat))
    train, calibration = [], []
    for rows, repeat in pool:
        keep = max(1, int(len(rows) * 0.03))
        calibration.extend(rows[:keep])
        train.extend(rows[keep:] * repeat)
    if cross_lingual:
        if not CROSS_LINGUAL_TRAIN.exists():
            raise FileNotFoundError(f"{CROSS_LINGUAL_TRAIN} is missing: run training/cross_lingual.py first")
        held = {(r["premise"], r["hypothesis"]) for r in calibration}
        with open(CROSS_LINGUAL_TRAIN, encoding="utf-8") as f:
            extra = [json.loads(line) for line in f if line.strip()]
        # a calibration row's premise may not come back with a translated hypothesis
        extra = [r | {"file": "cross_lingual"} for r in extra if not any(r["premise"] == p for p, _ in held)]
        train.extend(extra * cross_lingual)
    if restatements:
        train.extend(restatement_pairs(train, restatements, random.Random(seed + 1)))
    if off_topic:
        train.extend(off_topic_pairs(train, off_topic, random.Random(seed + 3)))
    rng.shuffle(train)
    return train, calibration


def held_out_sets(data_dir: Path = DEFAULT_DATA, seed: int = 13) -> dict[str, list[dict]]:
    sets = {}
    for name, (stem, splits, cap) in HELD_OUT.items():
        rows = [r for r in read_file(data_dir, stem) if _in(r, splits)]
        if cap and len(rows) > cap:
            rows = random.Random(seed).sample(rows, cap)
        sets[name] = rows
    if CROSS_LINGUAL_TEST.exists():  # premise in one language, hypothesis in another (cross_lingual.py)
        with open(CROSS_LINGUAL_TEST, encoding="utf-8") as f:
            rows = [json.loads(line) | {"lang": "cross"} for line in f if line.strip()]
        sets["rte3-cross-test"] = [r for r in rows if not r["source"].endswith("restatement")]
        # a premise against a sentence of its own translation: entailment, a probe of its own
        sets["cross-restatement-test"] = [r | {"lang": "made"} for r in rows if r["source"].endswith("restatement")]
    # Restatements and in-passage pairs (restatement_pairs) made from held-out pairs: a sentence
    # checked against its own article must be entailment, and an unrelated sentence beside a
    # premise must not change the label. Their own "language", out of the per-language totals.
    made = restatement_pairs(sets["snli-test"][:400] + sets["rte3-it-test"] + sets["fever-it-test"][:400]
                             + sets["mnli-heldout"][:400], 1200, random.Random(seed + 2))
    sets["restatement-test"] = [r | {"lang": "made"} for r in made if r["file"] == "restatement"]
    sets["in-passage-test"] = [r | {"lang": "made"} for r in made if r["file"] == "in-passage"]
    # a hypothesis against a held-out premise about something else: neutral
    probe = [r | {"file": r["source"]} for name in ("snli-test", "fever-en-test", "fever-it-test", "rte3-it-test",
                                                    "mnli-heldout", "wiki-protocols-val") for r in sets[name][:300]]
    sets["off-topic-test"] = [r | {"lang": "made"} for r in off_topic_pairs(probe, 600, random.Random(seed + 4))]
    return sets
