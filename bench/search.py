"""One system answering the scale test's queries, in its own process (so its peak RSS is its own).

    python bench/search.py --system rag|rag-exact|langchain|txtai --work DIR [--k 5]

DIR was prepared by bench/scale.py: index/ (a rag index), chunk_vectors.npy and
sentence_vectors.npy (the exact float32 vectors in it), queries.json. Prints one JSON line:
latency summaries (query embedding, search with the vector already computed, total), build or
open time, recall@1/@k on the questions that carry a known answer span, and every query's
top rows (for bench/scale.py to compare an approximate index against an exact one).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from measure import emit, load, summary_ms

from rag import FactChecker
from rag.evaluate import SpanItem, first_relevant_rank, mrr, recall_at
from rag.store import IndexStore

WARMUP = 3


def rag_system(work: Path, exact: bool):
    """Our index, opened as `rag search` opens it; `exact` swaps in exact scans of the same vectors."""
    started = time.perf_counter()
    bot = FactChecker.open(work / "index")
    opened = time.perf_counter() - started
    if exact:
        import faiss

        for attribute, name in (("faiss_index", "chunk_vectors.npy"), ("sentence_index", "sentence_vectors.npy")):
            vectors = np.load(work / name)
            index = faiss.IndexFlatIP(vectors.shape[1])
            index.add(vectors)
            setattr(bot.data, attribute, index)
    return bot, opened


def run_rag(work: Path, queries: list[dict], k: int, exact: bool) -> dict:
    bot, opened = rag_system(work, exact)
    sources = {d.id: Path(d.source.split("#")[0]).name for d in bot.documents}
    for q in queries[:WARMUP]:
        bot.search(q["question"] + " (warm-up)", k=k)
    timings = {"embedding": [], "search": [], "dense": [], "keyword": [], "total": []}
    tops, ranks = [], []
    for q in queries:
        text = q["question"]
        t0 = time.perf_counter()
        hits = bot.search(text, k=k)  # a new query: embeds it, then searches
        t1 = time.perf_counter()
        bot.search(text, k=k)  # the retriever keeps the query's vector: search alone
        t2 = time.perf_counter()
        dense = bot.retriever.dense(text, bot.settings.retrieval.candidates)
        t3 = time.perf_counter()
        bot.retriever.keyword(text, bot.settings.retrieval.candidates)
        t4 = time.perf_counter()
        bot.embedder.embed_queries([text])
        t5 = time.perf_counter()
        for name, seconds in (("total", t1 - t0), ("search", t2 - t1), ("dense", t3 - t2),
                              ("keyword", t4 - t3), ("embedding", t5 - t4)):
            timings[name].append(seconds)
        tops.append({"hybrid": [h.chunk_id for h in hits], "dense": [bot.data.chunks[r].id for r, _ in dense[:10]]})
        if q.get("item"):
            ranks.append(first_relevant_rank(hits, sources, SpanItem(**q["item"])))
    manifest = IndexStore(work / "index").read_manifest()
    return {"open_s": round(opened, 3), "timings_ms": {n: summary_ms(v) for n, v in timings.items()},
            "vector_indexes": {} if exact else manifest.get("vector_indexes", {}),
            "quality": _quality(ranks, k), "tops": tops}


def run_baseline(name: str, work: Path, queries: list[dict], k: int) -> dict:
    from baselines import BASELINES

    from rag.embeddings import load_embedder

    store = IndexStore(work / "index")
    gen = store.current()
    manifest = store.read_manifest(gen)
    embedder = load_embedder(manifest["embedder"]["model"], manifest["embedder"]["backend"])
    sources = {doc_id: Path(d["source"].split("#")[0]).name for doc_id, d in manifest["documents"].items()}
    # The same chunks as plain rows (not store.load(): our vector indexes would count in this RSS).
    with open(gen / "documents.jsonl", encoding="utf-8") as f:
        doc_texts = {d["id"]: d["text"] for d in map(json.loads, f)}
    with open(gen / "chunks.jsonl", encoding="utf-8") as f:
        metadatas = [{"chunk_id": c["id"], "doc_id": c["doc_id"], "start": c["start"], "end": c["end"]}
                     for c in map(json.loads, f)]
    texts = [doc_texts[m["doc_id"]][m["start"] : m["end"]] for m in metadatas]
    del doc_texts
    vectors = np.load(work / "chunk_vectors.npy")
    started = time.perf_counter()
    system = BASELINES[name](embedder, texts, vectors, metadatas)
    built = time.perf_counter() - started
    del texts, vectors
    for q in queries[:WARMUP]:
        system.search(q["question"] + " (warm-up)", k)
    timings = {"embedding": [], "search": [], "total": []}
    tops, ranks = [], []
    for q in queries:
        text = q["question"]
        t0 = time.perf_counter()
        found = system.search(text, k)
        t1 = time.perf_counter()
        vector = system.embed(text)
        t2 = time.perf_counter()
        system.search_vector(vector, k)
        t3 = time.perf_counter()
        for part, seconds in (("total", t1 - t0), ("embedding", t2 - t1), ("search", t3 - t2)):
            timings[part].append(seconds)
        tops.append({"hybrid": [m["chunk_id"] for m in found]})
        if q.get("item"):
            hits = [SimpleNamespace(rank=r, **m) for r, m in enumerate(found, 1)]
            ranks.append(first_relevant_rank(hits, sources, SpanItem(**q["item"])))
    return {"build_s": round(built, 3), "timings_ms": {n: summary_ms(v) for n, v in timings.items()},
            "quality": _quality(ranks, k), "tops": tops}


def _quality(ranks: list, k: int) -> dict:
    return {"questions": len(ranks), "recall@1": recall_at(ranks, 1), f"recall@{k}": recall_at(ranks, k),
            "mrr": mrr(ranks), "ranks": ranks}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", required=True, choices=["rag", "rag-exact", "langchain", "txtai"])
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args()
    queries = json.loads((args.work / "queries.json").read_text(encoding="utf-8"))
    load_before = load()
    if args.system.startswith("rag"):
        result = run_rag(args.work, queries, args.k, exact=args.system == "rag-exact")
    else:
        result = run_baseline(args.system, args.work, queries, args.k)
    emit({"system": args.system, "load_before": load_before, **result})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
