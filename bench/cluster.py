"""Ingest on a Dask cluster: embedding throughput on 1 and 2 workers, the cost of a batch's
trip through Dask, and the single writer's time at 10k and 100k chunks. Prints one JSON line.

    python bench/cluster.py [--docs 30] [--workers 1 2] [--write-sizes 10000 100000] > result.json
    python bench/cluster.py --project result.json   # the projection table of docs/performance.md

- throughput: the texts an ingest of --docs synthetic articles embeds (bench/corpus.py; every
  chunk and each of its sentences, distinct texts once) on a LocalCluster of N worker
  processes (one thread each), as `rag ingest --workers N` sends them (rag.cluster.embed_batches).
  Each worker's embedder is loaded before the clock starts; "startup_s" is that part.
- in_process: the same texts embedded in this process (both cores), as `rag ingest` does.
- overhead: batches of the same texts sent to a task that returns a zero array of the vectors'
  shape, so nothing but Dask's part is left (pickling, the scheduler, transfer, the driver
  taking the result): milliseconds a batch, and the batches a second the driver can take in.
- writer: what stays on the driver whatever the number of workers, on synthetic articles and
  random unit vectors: chunking, building the FAISS indexes and BM25, writing a generation.

--project turns such a result into the projection in docs/performance.md: hours to ingest 100k
and 1M articles on N workers (see `project` for the model and its assumptions).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from measure import emit, load
from scale import synthetic_part

from rag import Settings
from rag.embeddings import load_embedder
from rag.factchecker import texts_to_embed
from rag.retrieval import build_bm25
from rag.settings import DEFAULT_EMBEDDER, IndexSettings
from rag.store import ChunkTable, IndexData, IndexStore, build_vector_index


def ingest_texts(n_docs: int, settings: Settings) -> tuple[list[str], int, int]:
    """(distinct texts to embed, chunks, articles) of about n_docs synthetic articles."""
    per_doc = 8  # chunks an article of bench/corpus.py makes, about: synthetic_part counts chunks
    documents, chunks = synthetic_part(n_docs * per_doc, settings.chunking)
    return list(dict.fromkeys(texts_to_embed(chunks, documents))), len(chunks), len(documents)


def batches_of(texts: list[str], size: int) -> list[list[str]]:
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def zeros_like_vectors(texts: list[str]) -> np.ndarray:
    """A Dask task with the embedding's input and output sizes and none of its work."""
    return np.zeros((len(texts), 384), np.float32)


def on_cluster(n_workers: int, texts: list[str], settings: Settings, embedder) -> dict:
    from rag import cluster

    started = time.perf_counter()
    with cluster.connect(IndexSettings(cluster_workers=n_workers)) as client:
        batches = batches_of(texts, settings.embedding.batch_size)
        # warm-up: every worker loads the embedder (one batch pinned to each)
        client.register_plugin(cluster.EmbedderCache())
        load = cluster.load_args(embedder, settings.embedding)
        client.gather([client.submit(cluster._embed_batch, load, batches[0], workers=[w], pure=False)
                       for w in client.scheduler_info()["workers"]])
        startup = time.perf_counter() - started

        started = time.perf_counter()
        cluster.embed_batches(client, embedder, settings.embedding, batches, lambda i: None, lambda: None)
        embed_s = time.perf_counter() - started

        started = time.perf_counter()
        futures = [client.submit(zeros_like_vectors, b, pure=False) for b in batches]
        client.gather(futures)
        trip_s = time.perf_counter() - started
    return {"workers": n_workers, "startup_s": round(startup, 2), "embed_s": round(embed_s, 2),
            "texts_per_s": round(len(texts) / embed_s, 2),
            "overhead": {"batches": len(batches), "ms_per_batch": round(trip_s / len(batches) * 1000, 2),
                         "batches_per_s": round(len(batches) / trip_s, 1)}}


def in_process(texts: list[str], settings: Settings, embedder) -> dict:
    embedder.embed_passages(texts[: settings.embedding.batch_size])  # loaded and warm, as the workers are
    started = time.perf_counter()
    for batch in batches_of(texts, settings.embedding.batch_size):
        embedder.embed_passages(batch)
    seconds = time.perf_counter() - started
    return {"embed_s": round(seconds, 2), "texts_per_s": round(len(texts) / seconds, 2)}


def writer(n_chunks: int, settings: Settings, embedder, work: Path) -> dict:
    """The driver's own work for an index of about n_chunks chunks (vectors given)."""
    started = time.perf_counter()
    documents, chunks = synthetic_part(n_chunks, settings.chunking)
    chunked = time.perf_counter() - started
    table = ChunkTable.of(documents, chunks)
    rng = np.random.default_rng(0)

    def unit(n: int) -> np.ndarray:
        v = rng.standard_normal((n, embedder.spec["dim"]), dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    chunk_vectors, sentence_vectors = unit(len(table)), unit(table.sentence_count)
    started = time.perf_counter()
    chunk_index = build_vector_index(chunk_vectors, settings.index)
    sentence_index = build_vector_index(sentence_vectors, settings.index)
    vectors_s = time.perf_counter() - started
    bm25 = build_bm25(table)
    built = time.perf_counter() - started
    data = IndexData(embedder=embedder.spec, chunking={}, documents=documents, chunks=table,
                     faiss_index=chunk_index, sentence_index=sentence_index, bm25=bm25)
    store = IndexStore(work / f"index-{n_chunks}")
    started = time.perf_counter()
    with store.writing():
        store.write(data)
    written = time.perf_counter() - started
    shutil.rmtree(store.root, ignore_errors=True)
    return {"chunks": len(table), "sentences": table.sentence_count, "documents": len(documents),
            "chunk_s": round(chunked, 2), "index_build_s": round(built, 2), "vectors_s": round(vectors_s, 2),
            "bm25_s": round(built - vectors_s, 2), "write_s": round(written, 2),
            "driver_s": round(chunked + built + written, 2)}


def project(result: dict, articles=(100_000, 1_000_000), workers=(1, 2, 8, 32, 128, 512),
            driver_ram_gb: float = 16.0) -> str:
    """A markdown table: the time to ingest `articles` on N workers, from a measured result.

    - embedding: the texts an article makes (as measured) at one worker's rate, times N, times
      the largest measured scaling (assumed to hold beyond it: workers share nothing but the
      scheduler);
    - the driver (the single writer): chunking, BM25 and writing are linear in chunks (the
      largest measured size's rate); building the vector indexes grows as chunks^b, b fitted
      between the two largest sizes (an IVF of 4*sqrt(n) lists: 1.5 in theory);
    - the driver's intake: batches a second it takes in (measured with no work), times the
      batch size: the texts a second no number of workers can exceed;
    - memory: the driver holds every new text's float32 vector before it writes; past
      `driver_ram_gb` the archive is ingested in parts (appending to the trained index).
    The writer runs after the embedding, so the limit is where its time passes the embedding's."""
    per_article = result["texts"] / result["articles"]
    chunks_per_article = result["chunks"] / result["articles"]
    one = next(run for run in result["cluster"] if run["workers"] == 1)
    rate = one["texts_per_s"]
    scaling = min(result.get("scaling", {"1": 1.0}).values())
    small, large = sorted(result["writer"], key=lambda w: w["chunks"])[-2:]
    linear = (large["chunk_s"] + large["bm25_s"] + large["write_s"]) / large["chunks"]
    b = math.log(large["vectors_s"] / small["vectors_s"]) / math.log(large["chunks"] / small["chunks"])
    intake = max(run["overhead"]["batches_per_s"] for run in result["cluster"]) * result["batch_size"]
    dim = 384

    def hours(seconds: float) -> str:
        return f"{seconds / 3600:,.1f} h" if seconds >= 3600 else f"{seconds / 60:,.0f} min"

    lines = [f"| articles | texts | driver: vectors held | driver: write | "
             + " | ".join(f"{n} worker{'s' * (n > 1)}" for n in workers) + " | writer is the limit from |",
             "|" + "---|" * (5 + len(workers))]
    for a in articles:
        texts, chunks = a * per_article, a * chunks_per_article
        held = texts * dim * 4 / 1e9
        write = linear * chunks + large["vectors_s"] * (chunks / large["chunks"]) ** b
        cells = []
        for n in workers:
            embed = texts / max(rate * scaling * n, 1e-9)
            embed = max(embed, texts / intake)  # the driver cannot take batches in faster
            cells.append(hours(embed + write))
        limit = texts / (rate * scaling * write)
        parts = f" (in {math.ceil(held / driver_ram_gb)} parts)" if held > driver_ram_gb else ""
        lines.append(f"| {a:,} | {texts / 1e6:.1f}M | {held:,.0f} GB{parts} | {hours(write)} | "
                     + " | ".join(cells) + f" | {limit:,.0f} workers |")
    lines.append("")
    lines.append(f"(per article: {per_article:.1f} texts, {chunks_per_article:.1f} chunks; one worker "
                 f"{rate:.1f} texts/s, scaling {scaling:.3f}; driver intake {intake:,.0f} texts/s = "
                 f"{intake / rate:,.0f} workers; vector index build ~ chunks^{b:.2f})")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--write-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--project", metavar="RESULT_JSON", help="print the projection from a saved result")
    args = parser.parse_args()
    if args.project:
        print(project(json.loads(Path(args.project).read_text().strip().splitlines()[-1])))
        return 0
    settings = Settings.load()
    embedder = load_embedder(settings.embedding.model or DEFAULT_EMBEDDER, None, settings.embedding.batch_size,
                             settings.embedding.allow_download)
    work = Path(tempfile.mkdtemp(prefix="rag-bench-cluster-"))
    try:
        load_before = load()
        texts, n_chunks, n_docs = ingest_texts(args.docs, settings)
        result = {"articles": n_docs, "chunks": n_chunks, "texts": len(texts),
                  "batch_size": settings.embedding.batch_size,
                  "in_process": in_process(texts, settings, embedder),
                  "cluster": [on_cluster(n, texts, settings, embedder) for n in args.workers]}
        rates = {run["workers"]: run["texts_per_s"] for run in result["cluster"]}
        if 1 in rates and len(rates) > 1:
            # speed-up per worker against perfect scaling from one worker (1.0 = linear)
            result["scaling"] = {n: round(rate / (rates[1] * n), 3) for n, rate in rates.items()}
        result["writer"] = [writer(n, settings, embedder, work) for n in args.write_sizes]
        result["load_before"] = load_before
        emit(result)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
