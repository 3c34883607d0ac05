"""Approximate (IVF) vector indexes above a size threshold: built, recorded, searched, checked.

The threshold is set low (RAG_INDEX_APPROXIMATE_ABOVE) so that the seed articles cross it."""

import json

import faiss
import numpy as np
import pytest
from conftest import SEEDS, assert_one_line_error, run_rag

import rag.store
from rag import FactChecker, RagError
from rag.retrieval import top_rows
from rag.store import IndexStore, file_checksum

# Questions no item of the held-out gold set asks, and keyword queries.
QUERIES = ["Com'è il clima dietro le quinte tra Mosca e Washington?",
           "Is either side willing to back down over Ukraine?",
           "attacchi di droni nelle regioni di confine", "Belgorod Kursk Voronezh"]


def _manifest(index_dir):
    return IndexStore(index_dir).read_manifest()


@pytest.fixture(scope="module")
def approximate_index(tmp_path_factory):
    """The seeds with every vector index approximate (IVF, 8-bit vectors)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAG_INDEX_APPROXIMATE_ABOVE", "0")
        index_dir = tmp_path_factory.mktemp("approximate")
        FactChecker.build([SEEDS], index_dir, progress=False)
    return index_dir


def test_above_the_threshold_the_index_is_ivf_and_the_manifest_says_so(approximate_index, seed_index):
    recorded = _manifest(approximate_index)["vector_indexes"]
    for name in ("vectors.faiss", "sentences.faiss"):
        assert recorded[name]["type"] == "ivf" and recorded[name]["storage"] == "sq8"
        assert recorded[name]["lists"] >= 1 and recorded[name]["probe"] >= 1
    bot = FactChecker.open(approximate_index)
    assert isinstance(bot.data.sentence_index, faiss.IndexIVFScalarQuantizer)
    # below the default threshold nothing changes: exact scans
    assert {v["type"] for v in _manifest(seed_index)["vector_indexes"].values()} == {"flat"}


def test_approximate_search_finds_the_same_passages_as_exact_search(approximate_index, seed_index):
    approximate, exact = FactChecker.open(approximate_index), FactChecker.open(seed_index)
    for query in QUERIES:
        got = [h.chunk_id for h in approximate.search(query, k=3)]
        wanted = exact.search(query, k=10)
        exact_score = {h.chunk_id: h.dense_score or 0.0 for h in wanted}
        # the same passages, in the same order except where exact cosines tie within 8-bit
        # storage's error (~0.002: settings.py)
        for rank, (a, b) in enumerate(zip(got, [h.chunk_id for h in wanted[:3]])):
            assert a == b or abs(exact_score.get(a, -1.0) - exact_score[b]) < 0.002, (query, rank, got)
    top = approximate.search("Com'è il clima dietro le quinte tra Mosca e Washington?", k=1)[0]
    assert "dietro le quinte" in top.text


def test_crossing_the_threshold_rebuilds_and_later_additions_append(seeds_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_INDEX_APPROXIMATE_ABOVE", "40")
    monkeypatch.setenv("RAG_INDEX_APPROXIMATE_STORAGE", "flat")
    index_dir = tmp_path / "idx"
    FactChecker.build([seeds_copy / "000_6d133049264667af.txt"], index_dir, progress=False)
    assert _manifest(index_dir)["vector_indexes"]["sentences.faiss"]["type"] == "flat"

    bot = FactChecker.open(index_dir)
    bot.ingest([seeds_copy / "004_c01f252e05a51422.txt"], progress=False)  # 60 sentences > 40
    recorded = _manifest(index_dir)["vector_indexes"]
    assert recorded["sentences.faiss"] == {**recorded["sentences.faiss"], "type": "ivf", "storage": "flat"}
    assert recorded["vectors.faiss"]["type"] == "flat"  # 14 chunks: still below

    # A pure addition appends to the index instead of rebuilding (retraining) it.
    def no_rebuild(*args, **kwargs):
        raise AssertionError("the vector index was rebuilt")

    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "ponte.txt").write_text("Il nuovo ponte\nIl consiglio comunale di Trento ha approvato il "
                                     "progetto del ponte sul fiume Adige, che costerà 12 milioni.\n", encoding="utf-8")
    before = bot.data.sentence_index.ntotal
    monkeypatch.setattr(rag.store, "build_vector_index", no_rebuild)
    bot.ingest([extra], progress=False)
    monkeypatch.undo()
    reopened = FactChecker.open(index_dir)
    assert reopened.data.sentence_index.ntotal > before
    assert reopened.search("ponte sull'Adige a Trento", k=1)[0].doc_id == "ponte"
    assert reopened.search("Dove era previsto il vertice tra Trump e Putin?", k=1)[0].doc_id == "000_6d133049264667af"

    # Removing a document rebuilds from the stored vectors; search still works.
    reopened.remove(["ponte"])
    again = FactChecker.open(index_dir)
    assert {d.id for d in again.documents} == {"000_6d133049264667af", "004_c01f252e05a51422"}
    assert again.search("Belgorod Kursk Voronezh", k=1)[0].doc_id == "004_c01f252e05a51422"


def _generation(index_dir):
    return index_dir / (index_dir / "CURRENT").read_text().strip()


def test_an_index_file_that_does_not_match_the_manifest_is_a_clear_error(approximate_index, tmp_path):
    import shutil

    index_dir = tmp_path / "copy"
    shutil.copytree(approximate_index, index_dir)
    gen = _generation(index_dir)
    # Swap the IVF for an exact index of the same vectors, sizes updated: only the kind differs.
    graph = faiss.read_index(str(gen / "sentences.faiss"))
    flat = faiss.IndexFlatIP(graph.d)
    flat.add(graph.reconstruct_n(0, graph.ntotal))
    faiss.write_index(flat, str(gen / "sentences.faiss"))
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["files"]["sentences.faiss"] = (gen / "sentences.faiss").stat().st_size
    manifest["checksums"]["sentences.faiss"] = file_checksum(gen / "sentences.faiss")
    (gen / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RagError, match="sentences.faiss holds a flat index, the manifest says ivf"):
        FactChecker.open(index_dir)
    assert_one_line_error(run_rag("search", "vertice", "--index", str(index_dir)), "corrupt", "rebuild")

    # Garbage of the recorded size: FAISS cannot read it.
    (gen / "sentences.faiss").write_bytes(b"\0" * manifest["files"]["sentences.faiss"])
    assert_one_line_error(run_rag("search", "vertice", "--index", str(index_dir)), "corrupt", "rebuild")


def test_an_unknown_storage_setting_is_a_clear_error(tmp_path):
    result = run_rag("ingest", str(SEEDS), "--index", str(tmp_path / "idx"), "-q",
                     env={"RAG_INDEX_APPROXIMATE_ABOVE": "0", "RAG_INDEX_APPROXIMATE_STORAGE": "pq"})
    assert_one_line_error(result, "approximate index storage must be sq8 or flat")
    assert not (tmp_path / "idx" / "CURRENT").exists()


def test_top_rows_is_a_stable_sort_of_the_best_scores():
    rng = np.random.default_rng(0)
    for _ in range(200):
        scores = rng.integers(0, 4, size=rng.integers(1, 120)).astype(float)  # many ties
        depth = int(rng.integers(1, 40))
        assert top_rows(scores, depth).tolist() == np.argsort(-scores, kind="stable")[:depth].tolist()
