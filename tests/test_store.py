"""The index on disk: incremental updates, atomic writes, corruption and concurrency."""

import json
import shutil
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SEEDS, assert_one_line_error, run_rag

from rag import FactChecker, RagError, Settings
from rag.store import IndexStore


def _synthetic_corpus(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sentences = [f"Il consiglio comunale numero {i} ha discusso il punto {j} del bilancio annuale, "
                     f"con un confronto acceso tra maggioranza e opposizione sul tema {j * 7 % 13}."
                     for j in range(8)]
        (folder / f"art{i:03d}.txt").write_text(f"Notizia {i}\n" + " ".join(sentences) + "\n", encoding="utf-8")
    return folder


def test_manifest_records_embedder_chunking_and_hashes(seed_index):
    manifest = IndexStore(seed_index).read_manifest()
    assert manifest["format_version"] == 2
    assert manifest["embedder"]["model"] == "multilingual-e5-small"
    assert manifest["embedder"]["dim"] == 384
    assert manifest["chunking"] == Settings.load().to_dict()["chunking"]
    docs = manifest["documents"]
    assert set(docs) == {"000_6d133049264667af", "004_c01f252e05a51422"}
    assert all(len(d["sha256"]) == 64 for d in docs.values())
    assert manifest["counts"]["chunks"] > 2


def test_reingesting_unchanged_documents_embeds_nothing(seeds_copy, tmp_path):
    bot = FactChecker.build([seeds_copy], tmp_path / "idx", progress=False)
    generation = (tmp_path / "idx" / "CURRENT").read_text()
    report = bot.ingest([seeds_copy], progress=False)
    assert report.chunks_embedded == 0
    assert sorted(report.unchanged) == ["000_6d133049264667af", "004_c01f252e05a51422"]
    assert (tmp_path / "idx" / "CURRENT").read_text() == generation  # nothing rewritten


def test_a_changed_document_replaces_its_chunks(seeds_copy, tmp_path):
    bot = FactChecker.build([seeds_copy], tmp_path / "idx", progress=False)
    other_before = [c for c in bot.data.chunks if c.doc_id == "004_c01f252e05a51422"]
    path = seeds_copy / "000_6d133049264667af.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("a Ginevra", "a Vienna"), encoding="utf-8")
    report = bot.ingest([path], progress=False)
    assert report.updated == ["000_6d133049264667af"] and report.added == []
    assert 0 < report.chunks_embedded < len(bot.data.chunks)
    reopened = FactChecker.open(tmp_path / "idx")
    texts = " ".join(c.text for c in reopened.data.chunks)
    assert "a Vienna" in texts and "a Ginevra" not in texts
    assert [c for c in reopened.data.chunks if c.doc_id == "004_c01f252e05a51422"] == other_before
    top = reopened.search("vertice previsto a Vienna", k=1)[0]
    assert "Vienna" in top.text


def test_new_documents_are_added_and_can_be_removed(seeds_copy, tmp_path):
    bot = FactChecker.build([seeds_copy / "000_6d133049264667af.txt"], tmp_path / "idx", progress=False)
    report = bot.ingest([seeds_copy / "004_c01f252e05a51422.txt"], progress=False)
    assert report.added == ["004_c01f252e05a51422"]
    assert report.total_documents == 2
    bot.remove(["004_c01f252e05a51422"])
    reopened = FactChecker.open(tmp_path / "idx")
    assert [d.id for d in reopened.documents] == ["000_6d133049264667af"]
    assert all(h.doc_id == "000_6d133049264667af" for h in reopened.search("Belgorod Kursk Voronezh"))
    with pytest.raises(RagError, match="no document"):
        bot.remove(["not-there"])
    with pytest.raises(RagError, match="empty"):
        bot.remove([str(seeds_copy / "000_6d133049264667af.txt")])  # by source path


def test_same_file_name_in_two_folders_gets_two_ids(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "story.txt").write_text(f"Story {name}\nText of story {name} here.\n", encoding="utf-8")
    bot = FactChecker.build([tmp_path / "a", tmp_path / "b"], tmp_path / "idx", progress=False)
    assert sorted(d.id for d in bot.documents) == ["story", "story-2"]


def test_searching_with_another_embedder_is_a_clear_error(seed_index):
    settings = Settings.load(embedding__model="all-MiniLM-L6-v2")
    with pytest.raises(RagError, match="built with multilingual-e5-small"):
        FactChecker.open(seed_index, settings=settings)


def test_index_built_with_minilm_is_queried_with_minilm(seeds_copy, tmp_path):
    settings = Settings.load(embedding__model="all-MiniLM-L6-v2")
    FactChecker.build([seeds_copy], tmp_path / "idx", settings=settings, progress=False)
    bot = FactChecker.open(tmp_path / "idx")  # no embedder named: the manifest decides
    assert bot.embedder.spec["model"] == "all-MiniLM-L6-v2"
    assert bot.search("Belgorod Kursk Voronezh", k=1)[0].doc_id == "004_c01f252e05a51422"


@pytest.fixture
def fresh_index(seeds_copy, tmp_path):
    FactChecker.build([seeds_copy], tmp_path / "idx", progress=False)
    return tmp_path / "idx"


def _generation(index: Path) -> Path:
    return index / (index / "CURRENT").read_text().strip()


@pytest.mark.parametrize("damage", ["truncate-manifest", "garbage-manifest", "truncate-vectors",
                                    "truncate-chunks", "delete-chunks", "dangling-current",
                                    "flip-vectors", "flip-bm25", "truncate-bm25"])
def test_corrupt_index_is_a_clear_error(fresh_index, damage):
    gen = _generation(fresh_index)
    if damage == "truncate-manifest":
        data = (gen / "manifest.json").read_bytes()
        (gen / "manifest.json").write_bytes(data[: len(data) // 2])
    elif damage == "garbage-manifest":
        (gen / "manifest.json").write_text('{"hello": 1}')
    elif damage == "truncate-vectors":
        data = (gen / "vectors.faiss").read_bytes()
        (gen / "vectors.faiss").write_bytes(data[:100])
    elif damage == "truncate-chunks":
        data = (gen / "chunks.jsonl").read_bytes()
        (gen / "chunks.jsonl").write_bytes(data[:-10])
    elif damage == "delete-chunks":
        (gen / "chunks.jsonl").unlink()
    elif damage == "dangling-current":
        (fresh_index / "CURRENT").write_text("gen-999999\n")
    elif damage in ("flip-vectors", "flip-bm25"):  # same size, 16 bytes changed: only a checksum sees it
        path = gen / "vectors.faiss" if damage == "flip-vectors" else max((gen / "bm25").glob("*.npy"),
                                                                          key=lambda p: p.stat().st_size)
        data = bytearray(path.read_bytes())
        middle = len(data) // 2
        data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
        path.write_bytes(bytes(data))
    elif damage == "truncate-bm25":
        path = max((gen / "bm25").glob("*.npy"), key=lambda p: p.stat().st_size)
        path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(RagError, match="corrupt"):
        FactChecker.open(fresh_index)
    result = run_rag("search", "vertice", "--index", str(fresh_index))
    assert_one_line_error(result, "corrupt", "rebuild")
    # --rebuild recovers without touching anything else
    rebuilt = run_rag("ingest", str(SEEDS), "--rebuild", "--index", str(fresh_index), "-q")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert FactChecker.open(fresh_index).search("vertice", k=1)


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(RagError, match="no index"):
        FactChecker.open(tmp_path / "nothing")


def test_a_failed_write_leaves_the_previous_index_in_use(fresh_index, seeds_copy, monkeypatch):
    before = _generation(fresh_index)
    path = seeds_copy / "000_6d133049264667af.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\nUna frase aggiunta.\n", encoding="utf-8")

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)  # dies at the commit point
    bot = FactChecker.open(fresh_index)
    with pytest.raises(OSError):
        bot.ingest([path], progress=False)
    monkeypatch.undo()
    assert _generation(fresh_index) == before
    reopened = FactChecker.open(fresh_index)
    assert "Una frase aggiunta" not in " ".join(c.text for c in reopened.data.chunks)
    assert not list(fresh_index.glob(".tmp-*"))


def _read_until(stream, marker: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    os.set_blocking(stream.fileno(), False)
    while marker not in seen and time.monotonic() < deadline:
        chunk = stream.read()
        if chunk:
            seen += chunk
        else:
            time.sleep(0.05)
    return seen


def test_killing_a_real_ingest_leaves_the_previous_index_usable(fresh_index, tmp_path):
    corpus = _synthetic_corpus(tmp_path / "big", 40)
    before = sorted(d.id for d in FactChecker.open(fresh_index).documents)
    proc = subprocess.Popen([sys.executable, "-m", "rag", "ingest", str(corpus), "--index", str(fresh_index)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        seen = _read_until(proc.stderr, b"Embedding", timeout=60)
        assert b"Embedding" in seen, seen  # the progress bar: it is half-way
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    bot = FactChecker.open(fresh_index)
    assert sorted(d.id for d in bot.documents) == before
    assert bot.search("Com'è il clima dietro le quinte?", k=1)[0].doc_id == "000_6d133049264667af"
    # The lock died with the process: the next ingest runs and cleans up.
    small = _synthetic_corpus(tmp_path / "small", 2)
    report = bot.ingest([small], progress=False)
    assert len(report.added) == 2
    assert not list(fresh_index.glob(".tmp-*"))


def test_killing_ingest_while_it_writes_files(fresh_index, tmp_path):
    """Kill the moment the new generation's temporary folder appears (as late as we can)."""
    corpus = _synthetic_corpus(tmp_path / "mid", 6)
    proc = subprocess.Popen([sys.executable, "-m", "rag", "ingest", str(corpus), "--index",
                             str(fresh_index), "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None and not list(fresh_index.glob(".tmp-*")):
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    bot = FactChecker.open(fresh_index)  # either the old index or the complete new one
    ids = {d.id for d in bot.documents}
    assert ids in ({"000_6d133049264667af", "004_c01f252e05a51422"},
                   {"000_6d133049264667af", "004_c01f252e05a51422"} | {f"art{i:03d}" for i in range(6)})
    assert len(bot.data.chunks) == bot.data.faiss_index.ntotal


def test_a_second_writer_gets_a_clear_error(fresh_index, seeds_copy):
    with IndexStore(fresh_index).writing():
        result = run_rag("ingest", str(seeds_copy), "--index", str(fresh_index))
        # readers are not blocked by a writer
        search = run_rag("search", "vertice", "--index", str(fresh_index), "--json")
    assert_one_line_error(result, "another process is writing")
    assert search.returncode == 0 and json.loads(search.stdout)["hits"]


def test_a_version_1_index_with_chunk_texts_still_opens(fresh_index):
    """Version 2 stopped storing chunk texts (they are document slices); version 1 indexes still open."""
    gen = _generation(fresh_index)
    bot = FactChecker.open(fresh_index)
    (gen / "chunks.jsonl").write_text("".join(json.dumps(c.to_dict(), ensure_ascii=False) + "\n"
                                              for c in bot.data.chunks), encoding="utf-8")
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["format_version"] = 1
    manifest["files"]["chunks.jsonl"] = (gen / "chunks.jsonl").stat().st_size
    del manifest["checksums"]  # version 1 recorded sizes only
    (gen / "manifest.json").write_text(json.dumps(manifest))
    reopened = FactChecker.open(fresh_index)
    assert list(reopened.data.chunks) == list(bot.data.chunks)
    assert reopened.search("Com'è il clima dietro le quinte?", k=1)[0].doc_id == "000_6d133049264667af"


def test_a_lost_current_pointer_is_an_error_never_a_reseed_and_doctor_recovers(corpus_folder, tmp_path):
    index = tmp_path / "idx"
    articles = sorted(corpus_folder.iterdir())
    FactChecker.build(articles[:1], index, progress=False)
    FactChecker.build(articles[1:2], index, progress=False)  # a second generation, with both articles
    newest = _generation(index)
    (index / "CURRENT").unlink()

    for args in (["search", "ferry"], ["ingest", str(articles[2])], ["docs"]):
        result = run_rag(*args, "--index", str(index))
        assert_one_line_error(result, "lost its CURRENT pointer", "rag doctor")
    assert newest.is_dir() and not (index / "CURRENT").exists()  # nothing rebuilt, nothing pruned

    # the newest generation is damaged too: the doctor falls back to the one before it
    (newest / "chunks.jsonl").write_bytes((newest / "chunks.jsonl").read_bytes()[:-10])
    doctor = run_rag("doctor", "--index", str(index))
    assert doctor.returncode == 0, doctor.stderr
    assert "recovered" in doctor.stdout and newest.name in doctor.stdout
    bot = FactChecker.open(index)
    assert [d.source for d in bot.documents] == [str(articles[0].resolve())]
    assert run_rag("doctor", "--index", str(index)).stdout.count("ok:") == 1


def test_doctor_with_nothing_to_recover_exits_1(fresh_index):
    for gen in fresh_index.glob("gen-*"):
        (gen / "manifest.json").write_text("{")
    (fresh_index / "CURRENT").unlink()
    result = run_rag("doctor", "--index", str(fresh_index))
    assert result.returncode == 1 and "rebuild" in result.stdout and "Traceback" not in result.stderr


def test_an_unreadable_format_version_says_which_versions_are_read(fresh_index):
    gen = _generation(fresh_index)
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["format_version"] = "2"  # a string, not the number 2
    (gen / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RagError, match="has format version '2'; this rag reads versions 1, 2"):
        FactChecker.open(fresh_index)


def test_a_reader_whose_generation_is_pruned_while_it_opens_it_reads_the_new_one(corpus_index, tmp_path,
                                                                                 monkeypatch):
    """A replica opens the live generation; before it has checked the files, a writer makes two
    newer ones and the second prunes it. That is not corruption: load() reads the new live one."""
    index = tmp_path / "idx"
    shutil.copytree(corpus_index, index)
    opening = _generation(index)
    real = IndexStore.verify_files
    written, began = [], []

    def two_writes_meanwhile(self, gen, manifest):
        if gen == opening and not began:  # only the reader's check: the writers' own loads pass
            began.append(True)
            for name in ("uno", "due"):
                article = tmp_path / f"{name}.txt"
                article.write_text(f"Notizia {name}\nLa fiera del libro di Bolzano apre il giorno {name}.\n",
                                   encoding="utf-8")
                FactChecker(Settings.load(), index).ingest([article], progress=False)
                written.append(_generation(index))
            assert not opening.exists()  # pruned: only the live generation and its predecessor stay
        return real(self, gen, manifest)

    monkeypatch.setattr(IndexStore, "verify_files", two_writes_meanwhile)
    data = IndexStore(index).load()
    assert data.generation == written[-1].name == _generation(index).name
    assert {"Notizia uno", "Notizia due"} <= {doc.title for doc in data.documents.values()}
