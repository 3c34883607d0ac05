"""Replicas (docs/cluster.md): processes that serve one index another process writes follow each
new generation without a restart, and never read a half-written one.

A real replica process (the Python API, querying in a loop) beside this one, which ingests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time

import pytest

from rag import FactChecker, Settings
from rag.store import IndexStore

# The replica: answers one query over and over, printing what it read each time, until told to stop.
REPLICA = r"""
import json, sys, time
from pathlib import Path
from rag import FactChecker

index, query, stop = sys.argv[1], sys.argv[2], Path(sys.argv[3])
bot = FactChecker.open(index)
deadline = time.monotonic() + 300
while not stop.exists() and time.monotonic() < deadline:
    try:
        top = bot.search(query, k=1)[0]
        print(json.dumps({"generation": bot.data.generation, "documents": len(bot.data.documents),
                          "top": top.title}), flush=True)
    except Exception as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
"""
TOWNS = ("Bolzano", "Merano", "Brunico")


def _fair(town: str) -> str:
    return (f"Fiera del libro a {town}\n{town}, 4 maggio 2026 – La fiera del libro di {town} apre in piazza "
            f"con 80 editori. Gli incontri con gli autori si tengono nella biblioteca civica di {town}.\n")


def test_a_replica_process_follows_each_new_generation_and_never_reads_a_half_written_one(corpus_index, tmp_path):
    index = tmp_path / "idx"
    shutil.copytree(corpus_index, index)
    store = IndexStore(index)
    documents = {store.current().name: len(store.read_manifest()["documents"])}  # generation -> its count
    stop = tmp_path / "stop"
    replica = subprocess.Popen([sys.executable, "-c", REPLICA, str(index), "fiera del libro di Brunico", str(stop)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[dict] = []
    reader = threading.Thread(target=lambda: seen.extend(json.loads(line) for line in replica.stdout), daemon=True)
    reader.start()

    def wait_for(generation: str) -> None:
        deadline = time.monotonic() + 90
        while not any(s.get("generation") == generation for s in list(seen)):
            assert replica.poll() is None and time.monotonic() < deadline, (seen[-3:], replica.stderr.read())
            time.sleep(0.05)

    try:
        wait_for(store.current().name)  # answering from the index as it was
        writer = FactChecker(Settings.load(), index)
        for n, town in enumerate(TOWNS):
            article = tmp_path / f"fiera-{town.lower()}.txt"
            article.write_text(_fair(town), encoding="utf-8")
            writer.ingest([article], progress=False)
            documents[writer.data.generation] = len(writer.data.documents)
            if n == 0:  # the first picked up on its own; the next two written back to back
                wait_for(writer.data.generation)
        wait_for(writer.data.generation)
    finally:
        stop.touch()
        replica.wait(timeout=60)
        reader.join(timeout=10)
    errors = replica.stderr.read()
    assert replica.returncode == 0 and "could not load" not in errors and "Traceback" not in errors, errors
    assert not [s for s in seen if "error" in s], [s for s in seen if "error" in s][:3]
    # every read was of a whole generation: its document count is the one that generation was written with
    assert all(documents[s["generation"]] == s["documents"] for s in seen), seen
    assert [g for g in documents if any(s["generation"] == g for s in seen)][-1] == writer.data.generation
    assert seen[-1]["top"] == "Fiera del libro a Brunico"  # the last article, found without a restart


GALLERY_COST = "Quanto è costato il restauro della pinacoteca di Bergamo?"
GALLERY_CLAIM = "Il restauro della pinacoteca di Bergamo è costato 7 milioni di euro."


@pytest.mark.parametrize("request_kind", ["ask", "check"])
def test_a_request_finishes_on_the_generation_it_began_on_when_another_swaps_in_a_new_one(
        request_kind, corpus_index, tmp_path, monkeypatch):
    """One bot serving several threads: while a question or claim is being answered, another
    thread's request loads a newer generation in which the article it found was removed. The
    request is answered (and cited) from the generation it retrieved from; the next one reads
    the new generation."""
    from rag.retrieval import Retriever

    index = tmp_path / "idx"
    shutil.copytree(corpus_index, index)
    bot = FactChecker.open(index)
    real, swapped = Retriever.search, []

    def search_then_swap(self, *args, **kwargs):
        hits = real(self, *args, **kwargs)
        if not swapped:  # between this request's retrieval and its answer
            swapped.append(True)
            FactChecker.open(index).remove(["pinacoteca"])  # the writer, elsewhere
            assert bot.refresh()  # what another thread's request does on its way in
        return hits

    monkeypatch.setattr(Retriever, "search", search_then_swap)
    if request_kind == "ask":
        answer = bot.ask(GALLERY_COST, backend="extractive")
        assert {c.doc_id for c in answer.citations} == {"pinacoteca"} and "7 milioni" in answer.answer
    else:
        verdict = bot.check(GALLERY_CLAIM, backend="extractive")
        assert verdict.verdict == "SUPPORTED" and "pinacoteca" in {e.doc_id for e in verdict.evidence}
    assert swapped and "pinacoteca" not in bot.data.documents  # the next request reads the new generation
    assert "pinacoteca" not in {c.doc_id for c in bot.ask(GALLERY_COST, backend="extractive").citations}
