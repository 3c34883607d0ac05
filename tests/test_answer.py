"""Answers with validated citations: the extractive path, abstention, and what validation
does to a model's reply (with a fake model whose replies are queued).

Questions are about the made-up articles of tests/corpus.py, never the seeds: the held-out
gold set (eval/gold.jsonl) asks about the seeds, and a test must not restate it."""

import json

import pytest
from conftest import assert_one_line_error, run_rag
from corpus import source
from fakes import FakeLLM

from rag.answer import split_reply


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
    ("Per quante ore è rimasto fermo il traghetto Aurora?", "sei ore"),
    ("How much did the restoration of the Bergamo art gallery cost?", "7 milioni"),
    ("Chi ha presentato le nuove sale della pinacoteca di Bergamo?", "Chiara Galli"),
    ("Quanto costerà l'ingresso alla pinacoteca?", "12 euro"),
])
def test_extractive_quotes_the_sentence_that_answers(corpus_bot, question, expected):
    answer = corpus_bot.ask(question, backend="extractive")
    assert not answer.abstained and answer.backend == "extractive"
    assert any(expected in c.text for c in answer.citations), answer.answer
    assert expected in answer.answer
    assert_citations_are_exact(answer)


@pytest.mark.parametrize("question, language_word", [
    ("Qual è la ricetta tradizionale della carbonara?", "fonti"),
    ("Who won the 2018 Tour de France?", "sources"),
])
def test_abstains_in_the_question_language_when_the_sources_do_not_cover_it(corpus_bot, question, language_word):
    answer = corpus_bot.ask(question, backend="extractive")
    assert answer.abstained and answer.citations == []
    assert language_word in answer.answer


@pytest.mark.parametrize("question", [
    "Per quante ore è rimasto fermo il traghetto Poseidon?",     # another ferry than the articles'
    "Quanto è costato il restauro della pinacoteca di Brescia?",  # another city
])
def test_a_question_about_something_no_passage_names_is_not_answered_by_the_nearest_sentence(corpus_bot, question):
    # The nearest sentences are about the ferry Aurora and Bergamo's gallery: close, but no answer.
    answer = corpus_bot.ask(question, backend="extractive")
    assert answer.abstained and answer.citations == [], answer.answer
    assert "no retrieved passage names" in answer.backend_reason


def test_ask_json_is_the_documented_object(corpus_index):
    result = run_rag("ask", "Quanto è costato il restauro della pinacoteca?", "--backend", "extractive",
                     "--json", "--index", str(corpus_index))
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {"question", "answer", "abstained", "citations", "conflicts", "backend", "timings_ms"} <= set(payload)
    assert payload["backend"] == "extractive" and payload["abstained"] is False
    assert "7 milioni" in payload["answer"]
    citation = payload["citations"][0]
    assert set(citation) >= {"n", "doc_id", "title", "chunk_id", "start", "end", "text"}
    assert source(citation["doc_id"])[citation["start"] : citation["end"]] == citation["text"]
    assert f"[{citation['n']}]" in payload["answer"]
    assert {"retrieval", "generation", "total"} <= set(payload["timings_ms"])


@pytest.mark.parametrize("question, message", [("   ", "the query is empty"), ("x" * 2500, "the limit is 2000")])
def test_ask_rejects_empty_and_huge_questions_in_one_line(question, message):
    result = run_rag("ask", question, "--backend", "extractive")  # the default index, seeded
    assert_one_line_error(result, message)


# -- validating a model's reply -------------------------------------------------------------

COST = "Quanto è costato il restauro della pinacoteca di Bergamo?"  # the sources: 7 milioni di euro


def test_a_grounded_reply_is_kept_with_its_citation(corpus_bot):
    hits = corpus_bot.search(COST)
    n = next(i for i, h in enumerate(hits, 1) if "7 milioni" in h.text)
    llm = FakeLLM(f"Il restauro della pinacoteca di Bergamo è costato 7 milioni di euro [{n}].")
    answer = corpus_bot.ask(COST, backend=llm)
    assert answer.backend == "fake" and answer.fallback is None and not answer.abstained
    assert "7 milioni" in answer.answer and f"[{n}]" in answer.answer
    assert all("7 milioni" in c.text for c in answer.citations)
    assert answer.removed_citations == 0 and answer.added_citations == 0
    assert_citations_are_exact(answer)


def test_the_prompt_numbers_the_passages_with_title_and_date_as_delimited_data(corpus_bot):
    llm = FakeLLM("NOT_IN_SOURCES")
    corpus_bot.ask(COST, backend=llm)
    system, user = (m["content"] for m in llm.calls[0])
    assert "Italian" in system and "[1]" in system and "NOT_IN_SOURCES" in system
    assert "<passages>" in user and "</passages>" in user and user.rstrip().endswith(COST)
    assert "[1] Riapre la pinacoteca di Bergamo (2026-01-20)" in user  # the top passage: the answer's


def test_citations_to_passages_that_were_not_retrieved_are_removed_and_the_claim_reattributed(corpus_bot):
    llm = FakeLLM("Il restauro dell’edificio è costato 7 milioni di euro [9].")
    answer = corpus_bot.ask(COST, backend=llm)
    assert answer.backend == "fake", answer.fallback
    assert answer.removed_citations == 1 and answer.added_citations == 1
    assert "[9]" not in answer.answer and all("7 milioni" in c.text for c in answer.citations)
    assert_citations_are_exact(answer)


def test_a_sentence_the_model_left_uncited_is_attributed_when_a_passage_supports_it(corpus_bot):
    llm = FakeLLM("Le nuove sale sono state presentate dalla direttrice Chiara Galli.")
    answer = corpus_bot.ask("Chi ha presentato le nuove sale della pinacoteca di Bergamo?", backend=llm)
    assert answer.backend == "fake" and answer.added_citations == 1
    assert answer.citations and all("Chiara Galli" in c.text for c in answer.citations)
    assert_citations_are_exact(answer)


@pytest.mark.parametrize("reply, why", [
    ("Il restauro della pinacoteca di Bergamo è costato 9 milioni di euro [1][2][3].", "9 milioni"),  # a number
    ("A Brescia il restauro della pinacoteca è costato 7 milioni di euro [1][2][3].", "Brescia"),  # a place
    ("Il restauro della pinacoteca, finito il 3 marzo 2025, è costato 7 milioni di euro [1][2][3].", "2025"),
    ("Il restauro è costato 7 milioni di euro [1]. La pinacoteca fu fondata nel 1796 [1].", "1796"),  # added
])
def test_an_unsupported_sentence_falls_back_to_the_extractive_answer_and_says_why(corpus_bot, reply, why):
    answer = corpus_bot.ask(COST, backend=FakeLLM(reply))
    assert answer.backend == "extractive" and answer.draft == reply
    assert answer.fallback and "rejected" in answer.fallback and why in answer.fallback
    assert answer.answer == corpus_bot.ask(COST, backend="extractive").answer  # not the model's text
    assert "7 milioni" in answer.answer
    assert_citations_are_exact(answer)


def test_a_grounded_reply_beside_the_question_is_not_taken_for_an_answer(corpus_bot):
    llm = FakeLLM("Il museo sarà aperto tutti i giorni tranne il lunedì [1][2][3][4][5].")  # true, but not the cost
    answer = corpus_bot.ask(COST, backend=llm)
    assert answer.backend == "extractive" and "bears on the question" in answer.fallback


def test_the_model_saying_the_sources_do_not_answer_is_an_abstention(corpus_bot):
    answer = corpus_bot.ask(COST, backend=FakeLLM("NOT_IN_SOURCES"))
    assert answer.abstained and answer.citations == [] and answer.backend == "fake"
    assert "Le fonti" in answer.answer


def test_off_topic_questions_never_reach_the_model(corpus_bot):
    llm = FakeLLM()  # no replies queued: a call would fail
    answer = corpus_bot.ask("Quale squadra ha vinto lo scudetto di calcio?", backend=llm)
    assert answer.abstained and llm.calls == [] and "not asked" in answer.backend_reason


def test_streamed_tokens_are_the_draft_and_the_answer_is_validated(corpus_bot):
    tokens = []
    llm = FakeLLM("Il restauro della pinacoteca è costato 7 milioni a Vienna [1].")
    answer = corpus_bot.ask(COST, backend=llm, on_token=tokens.append)
    assert "Vienna" in "".join(tokens)
    assert answer.backend == "extractive" and answer.draft.startswith("Il restauro")
    assert "Vienna" not in answer.answer


def test_an_answer_from_an_articles_first_sentence_is_kept_but_its_dateline_is_no_answer(corpus_bot):
    question = "Quale traghetto è rimasto fermo nel porto di Piombino?"
    good = corpus_bot.ask(question, backend=FakeLLM("Il traghetto Aurora è rimasto fermo in porto per sei ore."))
    assert good.backend == "fake" and "Aurora" in good.answer
    assert good.citations and all(c.doc_id in ("traghetto-a", "traghetto-b") for c in good.citations)
    dateline = corpus_bot.ask(question, backend=FakeLLM("Piombino, 12 gennaio 2026."))
    assert dateline.backend == "extractive" and "rejected" in dateline.fallback


def test_a_markdown_heading_is_never_quoted_and_a_list_item_is_quoted_without_its_marker(tmp_path):
    from rag import FactChecker

    (tmp_path / "sciopero.md").write_text(
        "# Sciopero dei trasporti a Lucca\n\n"
        "Lucca, 20 novembre 2025 – I sindacati hanno proclamato uno sciopero dei bus per il 28 novembre.\n\n"
        "## Le ragioni della protesta\n\n"
        "I lavoratori chiedono il rinnovo del contratto.\n\n"
        "- Navetta per l'ospedale: servizio garantito dalle 6 alle 9\n- Linee urbane: servizio ridotto\n",
        encoding="utf-8")
    bot = FactChecker.build([tmp_path / "sciopero.md"], tmp_path / "index", progress=False)
    for question in ("Quali sono le ragioni della protesta?", "Quando è garantita la navetta per l'ospedale?"):
        answer = bot.ask(question, backend="extractive")
        assert "##" not in answer.answer and all("##" not in c.text for c in answer.citations), answer.answer
    assert answer.citations and answer.citations[0].text == "Navetta per l'ospedale: servizio garantito dalle 6 alle 9"
