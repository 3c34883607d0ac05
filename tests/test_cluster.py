"""Ingest on a Dask cluster (rag/cluster.py, docs/cluster.md): the same index as one built in
one process, a worker lost mid-ingest, a scheduler that is not there, the extra not installed.

One real LocalCluster for the module (2 worker processes on 127.0.0.1), the default embedder,
the made-up articles of tests/corpus.py and one more (progress shows from 4 documents on).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from distributed import Client, LocalCluster

from conftest import assert_one_line_error, run_rag
from corpus import write_articles
from rag import FactChecker
from rag.settings import Settings
from rag.store import vectors_of
from rag.types import RagError

MARKET = """Nuovi banchi al mercato di Trento
Trento, 2 febbraio 2026 – Il mercato coperto di Trento ha aperto 14 nuovi banchi di prodotti locali.
Il comune ha speso 300 mila euro per il nuovo tetto del mercato.
"""
QUESTION = "Quanti passeggeri c'erano a bordo del traghetto Aurora?"


@pytest.fixture(scope="module")
def dask_cluster():
    """(scheduler address, a client of our own for the tests to look at the workers)."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        yield cluster.scheduler_address, client


@pytest.fixture(scope="module")
def articles(tmp_path_factory) -> Path:
    folder = write_articles(tmp_path_factory.mktemp("cluster") / "articles")
    (folder / "mercato.txt").write_text(MARKET, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def local_index(articles, tmp_path_factory) -> Path:
    """The articles indexed in this process, as without a cluster; tests must not modify it."""
    index = tmp_path_factory.mktemp("local") / "idx"
    FactChecker.build([articles], index, progress=False)
    return index


@pytest.fixture(scope="module")
def cli_cluster_ingest(articles, dask_cluster, tmp_path_factory):
    """`rag ingest ARTICLES --cluster ADDRESS` as a user runs it: (the finished process, its index)."""
    home = tmp_path_factory.mktemp("cluster-home")
    index = home / "idx"
    # batches of 8: several, so both workers embed some and each must come back in its place
    result = run_rag("ingest", str(articles), "--cluster", dask_cluster[0], "--index", str(index),
                     env={"RAG_HOME": str(home), "RAG_EMBEDDING_BATCH_SIZE": "8"})
    return result, index


def assert_same_index(built: Path, reference: Path) -> None:
    """The same documents, chunks and sentences, and the same vectors within float tolerance."""
    a, b = FactChecker.open(built), FactChecker.open(reference)
    assert a.data.embedder == b.data.embedder
    assert sorted(a.data.documents) == sorted(b.data.documents)
    assert a.data.chunks.ids == b.data.chunks.ids
    assert np.array_equal(a.data.chunks.bounds, b.data.chunks.bounds)
    assert np.array_equal(a.data.chunks.spans, b.data.chunks.spans)
    for index in ("faiss_index", "sentence_index"):
        ours, theirs = vectors_of(getattr(a.data, index)), vectors_of(getattr(b.data, index))
        assert ours.shape == theirs.shape and ours.shape[0] > 0
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    hits_a, hits_b = a.search(QUESTION, k=3), b.search(QUESTION, k=3)
    assert [h.chunk_id for h in hits_a] == [h.chunk_id for h in hits_b]


def test_ingest_on_a_cluster_shows_batches_rate_and_eta_on_stderr(cli_cluster_ingest):
    result, _ = cli_cluster_ingest
    assert result.returncode == 0, result.stderr
    assert "4 added" in result.stdout
    assert "Traceback" not in result.stderr and "error" not in result.stderr, result.stderr
    assert "Embedding on 2 Dask workers" in result.stderr, result.stderr
    done = re.findall(r"batches (\d+)/(\d+)", result.stderr)
    assert done and done[-1][0] == done[-1][1] and int(done[-1][1]) > 1, result.stderr  # every batch came back
    assert "text/s" in result.stderr and "<" in result.stderr  # texts a second, time left
    assert "Embedding" not in result.stdout


def test_an_index_built_on_a_cluster_equals_one_built_in_one_process(cli_cluster_ingest, local_index):
    result, index = cli_cluster_ingest
    assert result.returncode == 0, result.stderr
    assert_same_index(index, local_index)
    here, there = FactChecker.open(local_index), FactChecker.open(index)
    ours, theirs = there.ask(QUESTION, backend="extractive"), here.ask(QUESTION, backend="extractive")
    assert not ours.abstained and "340" in ours.answer
    assert ours.answer == theirs.answer
    assert [c.chunk_id for c in ours.citations] == [c.chunk_id for c in theirs.citations]


def test_an_unreachable_scheduler_is_one_error_and_the_index_stays_as_it_was(local_index, tmp_path):
    index = tmp_path / "idx"
    shutil.copytree(local_index, index)
    before = {p.relative_to(index): p.read_bytes() for p in index.rglob("*") if p.is_file()}
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    new = tmp_path / "new.txt"
    new.write_text(MARKET.replace("Trento", "Rovereto"), encoding="utf-8")
    result = run_rag("ingest", str(new), "--cluster", f"tcp://127.0.0.1:{port}", "--index", str(index),
                     env={"RAG_INDEX_CLUSTER_CONNECT_TIMEOUT": "1"})
    assert_one_line_error(result, f"no Dask scheduler reachable at tcp://127.0.0.1:{port}")
    after = {p.relative_to(index): p.read_bytes() for p in index.rglob("*") if p.is_file()}
    assert after == before  # the same generation, byte for byte, and no leftovers


def test_a_worker_killed_mid_ingest_is_replaced_and_the_ingest_completes(articles, local_index, dask_cluster,
                                                                         tmp_path, monkeypatch):
    address, client = dask_cluster
    monkeypatch.setenv("RAG_INDEX_CLUSTER", address)  # the setting, as the CLI option sets it
    monkeypatch.setenv("RAG_EMBEDDING_BATCH_SIZE", "4")  # many batches, so some are still to do
    killed = []

    def kill_a_busy_worker(progress):
        if killed:
            return
        busy = [worker for worker, tasks in client.processing().items() if tasks]
        assert busy, "no batch left running after the first one"
        pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
        os.kill(pid, signal.SIGKILL)
        killed.append((pid, progress.batches_done, progress.batches))

    bot = FactChecker(Settings.load(), tmp_path / "idx")
    report = bot.ingest([articles], progress=False, on_progress=kill_a_busy_worker)
    assert killed and killed[0][1] < killed[0][2]  # killed with batches still to come
    assert len(report.added) == 4
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0][0], 0)
    assert_same_index(tmp_path / "idx", local_index)
    client.wait_for_workers(2, timeout=60)  # the nanny has started a new worker in its place


def test_an_upload_in_the_ui_on_a_cluster_shows_batches_workers_rate_and_eta(local_index, dask_cluster, tmp_path,
                                                                            monkeypatch):
    from rag.ui import Desk

    index = tmp_path / "idx"
    shutil.copytree(local_index, index)
    monkeypatch.setenv("RAG_INDEX_CLUSTER", dask_cluster[0])  # as a desk started with it set
    monkeypatch.setenv("RAG_EMBEDDING_BATCH_SIZE", "1")  # its chunk and two sentences: three batches
    article = tmp_path / "porto.txt"
    article.write_text("Lavori al porto di Ancona\nAncona, 3 marzo 2026 – Il porto di Ancona allunga il molo "
                       "nord di 120 metri. I lavori costano 9 milioni di euro e finiscono a ottobre.\n",
                       encoding="utf-8")
    seen = []
    desk = Desk(Settings.load(index__dir=index), progress=False)
    message = desk.add([str(article)], on_progress=lambda fraction, what: seen.append(what))
    assert "1 added" in message, message
    shown = [w for w in seen if w.startswith("Embedding")]
    assert shown and all(re.search(r"batch \d+ of (\d+) back from 2 Dask workers · [\d.]+ per second · "
                                   r"about \d+ (s|min) left", w) for w in shown), seen
    last = re.search(r"batch (\d+) of (\d+)", shown[-1])
    assert last[1] == last[2] and int(last[2]) > 1  # every batch counted, as it came back
    assert desk.current().search("molo nord del porto di Ancona", k=1)[0].title == "Lavori al porto di Ancona"


@pytest.mark.parametrize("option", [["--cluster", "tcp://127.0.0.1:8786"], ["--workers", "2"]])
def test_without_the_cluster_extra_the_options_say_what_to_install(articles, tmp_path, option):
    index = tmp_path / "idx"
    hide = ("import sys; sys.modules['distributed'] = None; from rag.cli import main; "
            f"sys.exit(main({['ingest', str(articles), *option, '--index', str(index)]!r}))")
    result = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "RAG_HOME": str(tmp_path / "home")})
    assert_one_line_error(result, "pip install 'rag-factcheck[cluster]'")
    assert not index.exists()


def test_an_address_and_local_workers_at_once_is_an_error():
    with pytest.raises(RagError, match="not both"):
        Settings.load(index__cluster="tcp://127.0.0.1:8786", index__cluster_workers=2)
