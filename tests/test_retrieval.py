"""Hybrid retrieval on a tiny real corpus (built once per class), and a regression floor on the
development questions over the seeds."""

import json
import math

import pytest
from conftest import ROOT, SEEDS

from rag import FactChecker
from rag.evaluate import load_span_items, retrieval_metrics
from rag.settings import Settings

ARTICLES = {
    "harbour.txt": "Harbour strike\nDock workers at the harbour stopped work for 24 hours over pay. "
                   "The union said the shipping company had ignored its demands for months.",
    "bridge.txt": "New bridge\nThe city council approved the budget for the new bridge, code XK-42, "
                  "which will cross the river near the old mill.",
    "flood.txt": "Floods\nHeavy rain caused the river to burst its banks. Hundreds of families "
                 "were evacuated from their homes during the night.",
    "festival.md": "# Film festival\n\nThe film festival opened with a comedy. Tickets sold out in an hour.\n\n"
                   "The festival jury is chaired by a famous director.\n\n"
                   "The festival closes on Sunday with an award ceremony.\n\n"
                   "Festival organisers expect a record number of visitors this year.",
}


@pytest.fixture(scope="class")
def tiny(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = Settings.load(chunking__size=80, chunking__overlap=0)
    request.cls.bot = FactChecker.build([folder], folder / "idx", settings=settings, progress=False)


@pytest.mark.usefixtures("tiny")
class TestHybridRetrieval:
    bot: FactChecker

    def test_keyword_search_finds_an_exact_code(self):
        hits = self.bot.search("XK-42", k=1, mode="keyword")
        assert hits[0].doc_id == "bridge" and hits[0].keyword_score > 0 and hits[0].dense_rank is None

    def test_dense_search_finds_a_paraphrase_with_no_shared_words(self):
        hits = self.bot.search("Where were people moved out because of high water?", k=1, mode="dense")
        assert hits[0].doc_id == "flood"
        assert -1.0 <= hits[0].dense_score <= 1.0 and hits[0].keyword_rank is None

    def test_hybrid_fuses_both_rankings(self):
        hits = self.bot.search("XK-42 river crossing", k=3)
        top = hits[0]
        assert top.doc_id == "bridge"
        assert top.dense_rank is not None and top.keyword_rank is not None
        _, coverage = self.bot.retriever.keyword("XK-42 river crossing", 50)
        assert coverage == 1.0  # every query word is in the corpus: BM25 gets full weight
        rrf_k = self.bot.settings.retrieval.rrf_k
        expected = 1 / (rrf_k + top.dense_rank) + coverage**2 / (rrf_k + top.keyword_rank)
        assert math.isclose(top.score, expected, rel_tol=1e-4)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    def test_diversity_lets_other_sources_in(self):
        query = "What happens at the festival and in the city?"
        plain = self.bot.search(query, k=3)
        assert [h.doc_id for h in plain].count("festival") >= 2
        diverse = self.bot.search(query, k=3, diversity=0.9)
        assert [h.doc_id for h in diverse].count("festival") == 1
        assert len({h.chunk_id for h in diverse}) == 3

    def test_hits_carry_exact_spans_and_titles(self):
        for hit in self.bot.search("union pay demands", k=4):
            doc = next(d for d in self.bot.documents if d.id == hit.doc_id)
            assert doc.text[hit.start : hit.end] == hit.text
            assert hit.title == doc.title

    def test_a_query_with_no_known_words_still_returns_dense_hits(self):
        hits = self.bot.search("zzzz qqqq", k=2)
        assert len(hits) == 2 and all(h.keyword_rank is None for h in hits)


# The development questions (eval/retrieval_dev.jsonl guided the retrieval design). The held-out
# files (eval/retrieval.jsonl, eval/gold.jsonl) are never read here: a test that pins them turns
# them into tuning data. Held-out quality is what `rag eval` measures, in the CI gate.
DEV = ROOT / "eval" / "retrieval_dev.jsonl"


def test_retrieval_question_spans_match_the_seeds():
    items = load_span_items(DEV)
    assert len(items) >= 20
    assert {"it", "en"} <= {i.lang for i in items}
    for item in items:
        text = (SEEDS / item.doc).read_text(encoding="utf-8")
        assert 0 <= item.start < item.end <= len(text), item.id
        quote = json.loads(next(line for line in DEV.read_text(encoding="utf-8").splitlines()
                                if f'"{item.id}"' in line))["quote"]
        assert text[item.start : item.end] == quote and text.count(quote) == 1, item.id


def test_default_embedder_keeps_its_retrieval_on_the_development_questions(seed_bot):
    """A regression floor, not a quality claim (these questions shaped the design).

    Measured when the floors were set (multilingual-e5-small, hybrid, k=5; 28 questions, 14 in
    English): recall@5 1.0, MRR 0.98, English recall@5 1.0. The floors are a little under,
    so one question lost is allowed and two are not."""
    items = load_span_items(DEV)
    metrics = retrieval_metrics(seed_bot, items, k=5)
    missed = [i.id for i, r in zip(items, metrics["ranks"]) if r is None]
    assert metrics["recall@5"] >= 0.95, missed
    assert metrics["mrr"] >= 0.9, metrics
    english = [i for i in items if i.lang == "en"]
    assert len(english) >= 10
    assert retrieval_metrics(seed_bot, english, k=5)["recall@5"] >= 0.9, missed
