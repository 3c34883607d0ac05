"""The Ollama backend against a local test server that speaks Ollama's HTTP API.

No Ollama daemon can run on these machines; FakeOllama (tests/fake_ollama.py) serves
/api/show, /api/tags, /api/chat (streamed and not) and /api/pull, and can fail on purpose.
The index is the made-up corpus of tests/corpus.py (the seeds are the held-out gold set's).
"""

import json
import socket

import pytest
from conftest import assert_one_line_error, run_rag
from fake_ollama import FakeOllama

from rag import FactChecker
from rag.settings import Settings
from rag.types import RagError

QUESTION = "Quanto è costato il restauro della pinacoteca di Bergamo?"
GOOD = "Il restauro della pinacoteca di Bergamo è costato 7 milioni di euro."


@pytest.fixture
def ollama():
    with FakeOllama() as server:
        yield server


def bot_for(index, host: str, **llm) -> FactChecker:
    settings = Settings.load(llm__ollama_host=host, **{f"llm__{k}": v for k, v in llm.items()})
    return FactChecker.open(index, settings=settings)


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_chat_without_streaming_sends_the_settings_and_the_answer_is_validated(corpus_index, ollama):
    ollama.replies.append(GOOD)
    bot = bot_for(corpus_index, ollama.host, num_ctx=2048, temperature=0.1)
    answer = bot.ask(QUESTION, backend="ollama")
    assert answer.backend == "ollama" and answer.fallback is None
    assert "7 milioni" in answer.answer and answer.citations  # cited by validation
    assert all("7 milioni" in c.text for c in answer.citations)
    request = ollama.requests[-1]
    assert request["stream"] is False and request["model"] == "qwen2.5:7b-instruct"
    assert request["options"]["num_ctx"] == 2048 and request["options"]["temperature"] == 0.1
    assert "<passages>" in request["messages"][1]["content"]


def test_streaming_delivers_the_draft_token_by_token(corpus_index, ollama):
    ollama.replies.append(GOOD + " [1]")
    tokens = []
    answer = bot_for(corpus_index, ollama.host).ask(QUESTION, backend="ollama", on_token=tokens.append)
    assert len(tokens) > 5 and "".join(tokens) == GOOD + " [1]"
    assert ollama.requests[-1]["stream"] is True
    assert answer.backend == "ollama" and "7 milioni" in answer.answer


def test_auto_uses_ollama_when_it_answers_and_says_why(corpus_index, ollama):
    ollama.replies.append(GOOD)
    answer = bot_for(corpus_index, ollama.host).ask(QUESTION)
    assert answer.backend == "ollama" and "Ollama answered at" in answer.backend_reason


def test_auto_without_the_model_uses_extractive_and_says_why(corpus_index, ollama):
    ollama.mode = "missing"
    answer = bot_for(corpus_index, ollama.host).ask(QUESTION)
    assert answer.backend == "extractive" and "has no model qwen2.5:7b-instruct" in answer.backend_reason
    assert ollama.requests == []


def test_auto_with_ollama_down_uses_extractive_and_says_why(corpus_index):
    host = closed_port()
    answer = bot_for(corpus_index, host).ask(QUESTION)
    assert answer.backend == "extractive"
    assert f"Ollama not reachable at {host}" in answer.backend_reason and "using extractive" in answer.backend_reason


def test_auto_falls_back_when_the_server_fails_mid_answer(corpus_index, ollama):
    ollama.mode = "error500"  # /api/show still answers, /api/chat fails
    answer = bot_for(corpus_index, ollama.host).ask(QUESTION)
    assert answer.backend == "extractive" and "HTTP 500" in answer.backend_reason


def test_a_requested_ollama_that_fails_is_a_clear_error(corpus_index, ollama):
    ollama.mode = "error500"
    with pytest.raises(RagError, match="Ollama failed: llama runner process has terminated \\(HTTP 500\\)"):
        bot_for(corpus_index, ollama.host).ask(QUESTION, backend="ollama")


def test_a_slow_reply_hits_the_timeout(corpus_index, ollama):
    ollama.mode, ollama.slow_seconds = "slow", 3
    with pytest.raises(RagError, match="did not answer within 1 s"):
        bot_for(corpus_index, ollama.host, timeout=1.0).ask(QUESTION, backend="ollama")


# -- the command line ------------------------------------------------------------------------


def test_cli_missing_model_is_one_line_naming_the_pull_command(corpus_index, ollama):
    ollama.mode = "missing"
    result = run_rag("ask", QUESTION, "--backend", "ollama", "--index", str(corpus_index),
                     env={"OLLAMA_HOST": ollama.host})
    assert_one_line_error(result, "has no model qwen2.5:7b-instruct", "rag pull qwen2.5:7b-instruct")


def test_cli_ollama_down_is_one_line(corpus_index):
    result = run_rag("ask", QUESTION, "--backend", "ollama", "--index", str(corpus_index),
                     env={"OLLAMA_HOST": closed_port()})
    assert_one_line_error(result, "Ollama is not reachable at")


def test_cli_ask_with_ollama_prints_json_and_streams_the_draft_to_stderr(corpus_index, ollama):
    ollama.replies.append(GOOD + " [1]")
    result = run_rag("ask", QUESTION, "--backend", "ollama", "--stream", "--json", "--index", str(corpus_index),
                     env={"OLLAMA_HOST": ollama.host})
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["backend"] == "ollama" and "7 milioni" in payload["answer"]
    assert "costato 7 milioni di euro" in result.stderr  # the draft, as it was generated


def test_cli_pull_shows_progress_on_stderr(ollama):
    result = run_rag("pull", "llama3.2:1b", env={"OLLAMA_HOST": ollama.host})
    assert result.returncode == 0, result.stderr
    assert "llama3.2:1b is ready" in result.stdout
    assert "Pulling llama3.2:1b" in result.stderr and "100/100" in result.stderr


def test_check_asks_ollama_for_a_stance_with_a_json_schema(corpus_index, ollama):
    # One report puts the hearing in Livorno, the other in Grosseto: the sources conflict.
    claim = "The first hearing of the ferry inquiry will be held in Livorno."
    judged = FactChecker.open(corpus_index).check(claim, backend="extractive")
    decided = {e.n: (e.stance, e.judged_by) for e in judged.evidence if e.stance != "unrelated"}
    assert any(stance == "refutes" for stance, _ in decided.values()), "the Grosseto report clashes on the place"
    ollama.replies += ['{"stance": "supports", "rationale": "The passage names Livorno for the hearing."}'] * 5
    verdict = bot_for(corpus_index, ollama.host).check(claim, backend="ollama")
    assert verdict.backend == "ollama" and ollama.requests
    request = ollama.requests[0]
    assert request["format"]["properties"]["stance"]["enum"] == ["supports", "refutes", "unrelated"]
    assert claim in request["messages"][1]["content"]
    # what the entailment judge decided stands; the model is asked only about the rest
    for e in verdict.evidence:
        if e.n in decided:
            assert (e.stance, e.judged_by) == decided[e.n]
    assert len(ollama.requests) <= len(verdict.evidence) - len(decided)
    # the model's view is in the evidence: taken, or set aside where the judge leans against it
    assert any((e.judged_by == "ollama" and e.stance == "supports") or "set aside" in e.rationale
               for e in verdict.evidence)
    assert verdict.verdict in ("CONFLICTING", "REFUTED")  # the model's "supports" cannot outvote the clash
