"""The gold set (eval/gold.jsonl) stays true to the seed articles it was written from."""

import json
from collections import Counter

import pytest
from conftest import ROOT, SEEDS

from rag.evaluate import LABELS, facts_found, load_gold, normalize

GOLD = ROOT / "eval" / "gold.jsonl"


@pytest.fixture(scope="module")
def items():
    return load_gold(GOLD)  # the loader checks every field of every line


@pytest.fixture(scope="module")
def seed_texts():
    return {p.name: p.read_text(encoding="utf-8") for p in SEEDS.iterdir()}


def test_every_evidence_span_is_the_seed_text_it_quotes(items, seed_texts):
    spans = [(item.id, e) for item in items for e in item.evidence]
    assert spans
    for item_id, e in spans:
        assert e.doc in seed_texts, f"{item_id}: no seed {e.doc}"
        assert seed_texts[e.doc][e.start : e.end] == e.quote, f"{item_id}: span {e.start}-{e.end} drifted"


def test_ids_are_unique():
    ids = [json.loads(line)["id"] for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert [i for i, n in Counter(ids).items() if n > 1] == []


def test_counts_meet_the_minimums_in_both_languages(items):
    questions = [i for i in items if i.kind == "qa"]
    answerable = [i for i in questions if i.answerable]
    claims = [i for i in items if i.kind == "claim"]
    assert len(answerable) >= 40
    assert sum(not i.answerable for i in questions) >= 8
    assert len(claims) >= 25
    for group in (answerable, claims, [i for i in questions if not i.answerable]):
        assert {i.lang for i in group} == {"it", "en"}


def test_all_four_verdicts_are_present_with_the_evidence_their_label_needs(items):
    claims = [i for i in items if i.kind == "claim"]
    assert {c.label for c in claims} == set(LABELS)
    for c in claims:
        if c.label == "NOT_ENOUGH_INFO":
            assert c.evidence == [], c.id
        elif c.label == "CONFLICTING":
            assert len({e.doc for e in c.evidence}) == 2 and c.evidence_mode == "each_doc", c.id
        else:
            assert c.evidence, c.id


def test_every_key_fact_is_stated_in_the_gold_evidence(items):
    """A key fact that none of its spans states would score answers against nothing."""
    for item in items:
        if item.kind == "qa" and item.answerable:
            quoted = " ".join(e.quote for e in item.evidence)
            assert all(facts_found(quoted, item.answer)), item.id


def test_questions_and_claims_are_paraphrased_not_copied(items, seed_texts):
    """No run of six words of a question or claim is lifted from an article."""
    article_text = " " + " ".join(normalize(t) for t in seed_texts.values()) + " "
    for item in items:
        words = normalize(item.text).split()
        copied = [" ".join(words[i : i + 6]) for i in range(len(words) - 5)
                  if f" {' '.join(words[i : i + 6])} " in article_text]
        assert copied == [], item.id
