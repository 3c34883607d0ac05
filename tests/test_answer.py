"""Answers with validated citations: the extractive path, abstention, and what validation
does to a model's reply (with a fake model whose replies are queued)."""

import json

import pytest
from conftest import SEEDS, assert_one_line_error, run_rag
from fakes import FakeLLM

from rag.answer import split_reply


def source(doc_id: str) -> str:
    return (SEEDS / f"{doc_id}.txt").read_text(encoding="utf-8")


def assert_citations_are_exact(answer):
    """Every [n] in the text has a citation, and every citation quotes its document exactly."""
    numbers = {c.n for c in answer.citations}
    for n in range(1, 20):
        assert (f"[{n}]" in answer.answer) == (n in numbers), (n, answer.answer)
    for c in answer.citations:
        assert source(c.doc_id)[c.start : c.end] == c.text
        hit = answer.passages[c.n - 1]
        assert hit.doc_id == c.doc_id and hit.start <= c.start < c.end <= hit.end


# -- reading a model's reply ----------------------------------------------------------------


def test_citation_markers_are_parsed_in_every_form():
    parts = split_reply("Primo fatto [1, 2]. Secondo fatto [1][3]! Terzo fatto. [2] Quarto [2; 4] fatto.")
    assert parts == [("Primo fatto.", [1, 2]), ("Secondo fatto!", [1, 3]), ("Terzo fatto.", [2]),
                     ("Quarto fatto.", [2, 4])]


# -- extractive ---------------------------------------------------------------------------


@pytest.mark.parametrize("question, expected", [
    ("In quale città si sarebbe dovuto tenere il vertice annullato tra Trump e Putin?", "Ginevra"),
    ("How many armed clashes did the Ukrainian general staff count in one day?", "190"),
    ("Chi governa la regione di Belgorod?", "Gladkov"),
])
def test_extractive_quotes_the_sentence_that_answers(seed_bot, question, expected):
    answer = seed_bot.ask(question, backend="extractive")
    assert not answer.abstained and answer.backend == "extractive"
    assert any(expected in c.text for c in answer.citations), answer.answer
    assert expected in answer.answer
    assert_citations_are_exact(answer)


@pytest.mark.parametrize("question, language_word", [
    ("Qual è la ricetta tradizionale della carbonara?", "fonti"),
    ("Who won the 2022 football World Cup?", "sources"),
])
def test_abstains_in_the_question_language_when_the_sources_do_not_cover_it(seed_bot, question, language_word):
    answer = seed_bot.ask(question, backend="extractive")
    assert answer.abstained and answer.citations == []
    assert language_word in answer.answer


def test_ask_json_is_the_documented_object(tmp_path):
    result = run_rag("ask", "Dove doveva svolgersi il summit tra Trump e Putin?", "--backend", "extractive",
                     "--json", "--index", str(tmp_path / "idx"))
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {"question", "answer", "abstained", "citations", "conflicts", "backend", "timings_ms"} <= set(payload)
    assert payload["backend"] == "extractive" and payload["abstained"] is False
    citation = payload["citations"][0]
    assert set(citation) >= {"n", "doc_id", "title", "chunk_id", "start", "end", "text"}
    assert source(citation["doc_id"])[citation["start"] : citation["end"]] == citation["text"]
    assert f"[{citation['n']}]" in payload["answer"]
    assert {"retrieval", "generation", "total"} <= set(payload["timings_ms"])


@pytest.mark.parametrize("question, message", [("   ", "the query is empty"), ("x" * 2500, "the limit is 2000")])
def test_ask_rejects_empty_and_huge_questions_in_one_line(tmp_path, question, message):
    result = run_rag("ask", question, "--backend", "extractive", "--index", str(tmp_path / "idx"))
    assert_one_line_error(result, message)


# -- validating a model's reply -------------------------------------------------------------

SUMMIT = "Dove era previsto il vertice tra Trump e Putin?"


def test_a_grounded_reply_is_kept_with_its_citation(seed_bot):
    hits = seed_bot.search(SUMMIT)
    n = next(i for i, h in enumerate(hits, 1) if "Ginevra" in h.text)
    llm = FakeLLM(f"Il vertice tra Trump e Putin era previsto per il 12 novembre a Ginevra [{n}].")
    answer = seed_bot.ask(SUMMIT, backend=llm)
    assert answer.backend == "fake" and answer.fallback is None and not answer.abstained
    assert "Ginevra" in answer.answer and f"[{n}]" in answer.answer
    assert answer.removed_citations == 0 and answer.added_citations == 0
    assert_citations_are_exact(answer)


def test_the_prompt_numbers_the_passages_with_title_and_date_as_delimited_data(seed_bot):
    llm = FakeLLM("NOT_IN_SOURCES")
    seed_bot.ask(SUMMIT, backend=llm)
    system, user = (m["content"] for m in llm.calls[0])
    assert "Italian" in system and "[1]" in system and "NOT_IN_SOURCES" in system
    assert "<passages>" in user and "</passages>" in user and user.rstrip().endswith(SUMMIT)
    assert "[1] Lavrov apre" in user or "[1] Il Ministro" in user
    assert "(2025-11-09)" in user


def test_citations_to_passages_that_were_not_retrieved_are_removed_and_the_claim_reattributed(seed_bot):
    llm = FakeLLM("The Trump–Putin summit had been planned for 12 November in Geneva [9].")
    answer = seed_bot.ask("Where was the Trump-Putin summit supposed to take place?", backend=llm)
    assert answer.backend == "fake", answer.fallback
    assert answer.removed_citations == 1 and answer.added_citations == 1
    assert "[9]" not in answer.answer and any("Ginevra" in c.text for c in answer.citations)
    assert_citations_are_exact(answer)


def test_a_sentence_the_model_left_uncited_is_attributed_when_a_passage_supports_it(seed_bot):
    llm = FakeLLM("Il governatore di Belgorod è Vyacheslav Gladkov.")
    answer = seed_bot.ask("Chi è il governatore di Belgorod?", backend=llm)
    assert answer.backend == "fake" and answer.added_citations == 1
    assert any("Gladkov" in c.text for c in answer.citations)
    assert_citations_are_exact(answer)


@pytest.mark.parametrize("reply, why", [
    ("Il vertice tra Trump e Putin era previsto per il 12 novembre a Budapest [1][2][3].", "Budapest"),
    ("Il vertice tra Trump e Putin era previsto per il 22 novembre a Ginevra [1][2][3].", "22"),
    ("Il vertice era previsto a Ginevra [1]. Putin è nato a Leningrado nel 1952 [1].", "1952"),
])
def test_an_unsupported_sentence_falls_back_to_the_extractive_answer_and_says_why(seed_bot, reply, why):
    answer = seed_bot.ask(SUMMIT, backend=FakeLLM(reply))
    assert answer.backend == "extractive" and answer.draft == reply
    assert answer.fallback and "rejected" in answer.fallback and why in answer.fallback
    assert answer.answer == seed_bot.ask(SUMMIT, backend="extractive").answer  # not the model's text
    assert_citations_are_exact(answer)


def test_a_grounded_reply_beside_the_question_is_not_taken_for_an_answer(seed_bot):
    llm = FakeLLM("Lavrov ha rilasciato un’intervista all’agenzia russa Ria Novosti [1][2][3][4][5].")
    answer = seed_bot.ask(SUMMIT, backend=llm)
    assert answer.backend == "extractive" and "bears on the question" in answer.fallback


def test_the_model_saying_the_sources_do_not_answer_is_an_abstention(seed_bot):
    answer = seed_bot.ask(SUMMIT, backend=FakeLLM("NOT_IN_SOURCES"))
    assert answer.abstained and answer.citations == [] and answer.backend == "fake"
    assert "Le fonti" in answer.answer


def test_off_topic_questions_never_reach_the_model(seed_bot):
    llm = FakeLLM()  # no replies queued: a call would fail
    answer = seed_bot.ask("Quale squadra ha vinto lo scudetto di calcio?", backend=llm)
    assert answer.abstained and llm.calls == [] and "not asked" in answer.backend_reason


def test_streamed_tokens_are_the_draft_and_the_answer_is_validated(seed_bot):
    tokens = []
    llm = FakeLLM("Il vertice tra Trump e Putin era previsto a Vienna [1].")
    answer = seed_bot.ask(SUMMIT, backend=llm, on_token=tokens.append)
    assert "Vienna" in "".join(tokens)
    assert answer.backend == "extractive" and answer.draft.startswith("Il vertice")


def test_an_answer_from_an_articles_first_sentence_is_kept_but_its_dateline_is_no_answer(seed_bot):
    question = "Chi si è detto pronto a incontrare il segretario di Stato americano?"
    good = seed_bot.ask(question, backend=FakeLLM("Serghei Lavrov si è detto pronto a incontrare Marco Rubio."))
    assert good.backend == "fake" and "Lavrov" in good.answer
    dateline = seed_bot.ask(question, backend=FakeLLM("Mosca, 9 novembre 2025."))
    assert dateline.backend == "extractive" and "rejected" in dateline.fallback
