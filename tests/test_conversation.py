"""Follow-up questions in a conversation (API, `rag chat`), and the reply language setting.

On the made-up articles of tests/corpus.py: a ferry, the Aurora, stuck for six hours at
Piombino, its company's director Luca Bertini, an inquiry whose first hearing is on 3 February,
and a gallery in Bergamo."""

import json

import pytest
from conftest import assert_one_line_error, run_rag
from fakes import FakeLLM

from rag import conversation
from rag.types import Turn


def test_an_italian_follow_up_is_answered_about_the_previous_question(corpus_bot):
    chat = corpus_bot.chat(backend="extractive")
    first = chat.ask("Dove si terrà la prima udienza dell’indagine sul traghetto Aurora?")
    assert not first.abstained and first.resolved_question is None
    follow_up = chat.ask("E quando?")
    assert "udienza" in follow_up.resolved_question
    assert not follow_up.abstained
    assert "3 febbraio" in follow_up.answer
    assert follow_up.question == "E quando?"  # the user's words stay the question
    # the same words alone are not about the hearing
    alone = corpus_bot.ask("E quando?", backend="extractive")
    assert alone.abstained or "udienza" not in alone.answer


def test_an_english_follow_up_keeps_its_own_question(corpus_bot):
    history = ["How long was the Aurora ferry stuck in port?"]
    answer = corpus_bot.ask("And who repaired it?", backend="extractive", history=history)
    assert "Aurora" in answer.resolved_question
    assert "Luca Bertini" in answer.answer  # who repaired it, not again how long it was stuck


def test_history_as_chat_messages_is_read_like_questions(corpus_bot):
    messages = [{"role": "user", "content": "Quanto costa il biglietto della pinacoteca di Bergamo?"},
                {"role": "assistant", "content": "<div>12 euro</div>"}]
    from_messages = corpus_bot.ask("E per gli studenti?", backend="extractive", history=messages)
    from_strings = corpus_bot.ask("E per gli studenti?", backend="extractive", history=[messages[0]["content"]])
    assert from_messages.resolved_question == from_strings.resolved_question
    assert "pinacoteca" in from_messages.resolved_question
    assert "gratuito per gli studenti" in from_messages.answer


def test_a_question_that_names_its_own_subject_starts_a_new_topic(corpus_bot):
    history = ["Quanti passeggeri erano a bordo del traghetto Aurora?"]
    answer = corpus_bot.ask("Chi dirige la pinacoteca di Bergamo?", backend="extractive", history=history)
    assert answer.resolved_question is None


def test_a_follow_up_about_a_name_no_article_states_is_still_not_answered(corpus_bot):
    # the topic carried over includes the earlier question's names: the relevance gate checks them
    history = ["Quante ore è rimasto fermo il traghetto Poseidon?"]
    answer = corpus_bot.ask("E perché?", backend="extractive", history=history)
    assert "Poseidon" in answer.resolved_question
    assert answer.abstained and "Poseidon" in answer.backend_reason


def test_a_models_rewrite_is_used_when_it_names_only_what_the_conversation_did():
    earlier = [Turn("Dove si terrà la prima udienza sul traghetto Aurora?")]
    llm = FakeLLM("Quando si terrà la prima udienza sul traghetto Aurora?")
    resolved, how = conversation.resolve("E quando?", earlier, llm)
    assert resolved == "Quando si terrà la prima udienza sul traghetto Aurora?" and "fake" in how
    assert "E quando?" in llm.prompt and "Aurora" in llm.prompt


@pytest.mark.parametrize("rewrite", [
    "Quando si terrà la prima udienza sul traghetto Poseidon?",  # a name nobody said
    "When will the first hearing on the Aurora ferry be held?",  # another language
    "Quando?\nLa risposta è il 3 febbraio.",                       # not one question
])
def test_a_rewrite_that_brings_in_something_new_is_refused_for_the_topic(rewrite):
    earlier = [Turn("Dove si terrà la prima udienza sul traghetto Aurora?")]
    resolved, how = conversation.resolve("E quando?", earlier, FakeLLM(rewrite))
    assert resolved.startswith("E quando? (") and "Aurora" in resolved
    assert how == "the previous question's topic added"


def test_the_api_resolves_with_the_model_that_answers(corpus_bot):
    llm = FakeLLM("Quando si terrà la prima udienza sul traghetto Aurora?",
                  "La prima udienza si terrà il 3 febbraio [1].")
    answer = corpus_bot.ask("E quando?", backend=llm, history=["Dove si terrà la prima udienza sul traghetto Aurora?"])
    assert answer.resolved_question == "Quando si terrà la prima udienza sul traghetto Aurora?"
    assert "Quando si terrà la prima udienza" in llm.prompt  # the model answered the rewrite
    assert not answer.abstained and "3 febbraio" in answer.answer


def test_rag_chat_carries_the_conversation_and_shows_the_question_understood(corpus_index):
    lines = "\n".join([
        "Dove si terrà la prima udienza dell’indagine sul traghetto Aurora?",
        "E quando?",
        "/check ",  # nothing to check: one error, and the conversation goes on
        "/new",
        "E quando?",
        "/check Il traghetto Aurora è rimasto fermo in porto per sei ore.",
    ]) + "\n"
    result = run_rag("chat", "--index", str(corpus_index), "--backend", "extractive", "--json",
                     input=lines)
    assert result.returncode == 0, result.stderr
    replies = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(replies) == 4, result.stdout
    assert "udienza" in replies[1]["resolved_question"] and "3 febbraio" in replies[1]["answer"]
    assert replies[2]["abstained"] and replies[2]["resolved_question"] is None  # after /new
    assert replies[3]["verdict"] == "SUPPORTED"
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == \
        ["error: the query is empty"]


def test_rag_chat_prints_the_question_understood_in_its_language(corpus_index):
    lines = "How long was the Aurora ferry stuck in port?\nAnd who repaired it?\n"
    result = run_rag("chat", "--index", str(corpus_index), "--backend", "extractive", input=lines)
    assert result.returncode == 0, result.stderr
    understood = [line for line in result.stdout.splitlines() if line.startswith("(Understood as: ")]
    assert len(understood) == 1 and "And who repaired it? (" in understood[0] and "Aurora" in understood[0]


@pytest.mark.parametrize("language, verdict_text", [
    ("en", "The sources support the claim."),
    ("fr", "Les sources confirment l’affirmation."),
    ("it", "Le fonti confermano l’affermazione."),
])
def test_the_reply_language_can_be_chosen(corpus_index, language, verdict_text):
    result = run_rag("check", "--index", str(corpus_index), "--backend", "extractive", "--json",
                     "--language", language, "Il traghetto Aurora è rimasto fermo in porto per sei ore.")
    verdict = json.loads(result.stdout)
    assert verdict["verdict"] == "SUPPORTED" and verdict["answer"].startswith(verdict_text)


def test_an_english_claim_over_italian_articles_is_explained_in_english(corpus_bot):
    verdict = corpus_bot.check("The Aurora ferry was stuck in port for six hours.", backend="extractive")
    assert verdict.answer.startswith("The sources")
    assert all(not e.rationale or "afferma" not in e.rationale for e in verdict.evidence)


def test_an_unknown_reply_language_is_one_clear_error(corpus_index):
    result = run_rag("ask", "--index", str(corpus_index), "Quando?", env={"RAG_ANSWER_LANGUAGE": "klingon"})
    assert_one_line_error(result, "answer language must be auto or one of it, en")


@pytest.mark.parametrize("question", [123, "   "])
def test_a_bad_follow_up_is_the_same_clear_error_as_a_bad_question(corpus_bot, question):
    from rag import RagError

    with pytest.raises(RagError):
        corpus_bot.ask(question, backend="extractive", history=["Quanti passeggeri erano sul traghetto Aurora?"])
