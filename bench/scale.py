"""Query latency, memory and recall at a given index size, for rag and the peer baselines.

    python bench/scale.py --chunks 100000 [--queries 100] [--pool 2000] [--systems rag langchain txtai]

Builds a rag index of about --chunks chunks: the two seed articles (real text, real vectors)
plus synthetic Italian-like articles (bench/corpus.py) whose vectors are synthetic. Then each
system answers the same queries in its own process (bench/search.py): the questions of
eval/retrieval.jsonl, whose answers lie in the seed articles (so recall@k at this size is
"find the right passage among N distractors"), and synthetic reader questions. Every query
embedding is real and timed. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from corpus import VectorFaker, article, questions
from measure import BENCH, ROOT, dir_size, emit, load, run_child

from rag import FactChecker, Settings
from rag.chunking import chunk_document
from rag.documents import make_document, split_title
from rag.evaluate import load_span_items
from rag.retrieval import build_bm25
from rag.store import ChunkTable, IndexData, IndexStore, build_vector_index, vectors_of


def seed_part(work: Path):
    """The seed articles through the real pipeline: documents, chunks, chunk and sentence vectors."""
    bot = FactChecker.build([ROOT / "seeds"], work / "seed-index", progress=False)
    data = bot.data
    return bot.embedder, data, vectors_of(data.faiss_index), vectors_of(data.sentence_index)


def synthetic_part(n_chunks: int, chunking) -> tuple[dict, list]:
    """Synthetic documents and their chunks, until there are n_chunks chunks."""
    documents, chunks, i = {}, [], 0
    while len(chunks) < n_chunks:
        name, text = article(i)
        title, body_start = split_title(text, markdown=False)
        doc = make_document(name[:-4], title, text, f"/synthetic/{name}", body_start=body_start)
        documents[doc.id] = doc
        chunks += chunk_document(doc, chunking)
        i += 1
    return documents, chunks


def build_index(work: Path, n_chunks: int, pool: int) -> dict:
    settings = Settings.load()
    embedder, seeds, seed_chunk_vectors, seed_sentence_vectors = seed_part(work)
    started = time.perf_counter()
    documents, chunks = synthetic_part(max(0, n_chunks - len(seeds.chunks)), settings.chunking)
    generated = time.perf_counter() - started
    faker = VectorFaker(embedder, pool, cache_dir=BENCH / "results" / "cache") if chunks else None
    counts = [len(c.sentences) for c in chunks]
    sentence_vectors = faker.vectors(sum(counts)) if chunks else np.zeros((0, 384), np.float32)
    chunk_vectors = faker.chunk_vectors(sentence_vectors, counts) if chunks else sentence_vectors[:0]
    chunk_vectors = np.vstack([seed_chunk_vectors, chunk_vectors])
    sentence_vectors = np.vstack([seed_sentence_vectors, sentence_vectors])
    documents = {**seeds.documents, **documents}
    all_chunks = ChunkTable.of(documents, [*seeds.chunks, *chunks])
    assert all_chunks.sentence_count == len(sentence_vectors)
    np.save(work / "chunk_vectors.npy", chunk_vectors)
    np.save(work / "sentence_vectors.npy", sentence_vectors)

    started = time.perf_counter()
    data = IndexData(embedder=embedder.spec, chunking=seeds.chunking, documents=documents, chunks=all_chunks,
                     faiss_index=build_vector_index(chunk_vectors, settings.index),
                     sentence_index=build_vector_index(sentence_vectors, settings.index),
                     bm25=build_bm25(all_chunks))
    indexed = time.perf_counter() - started
    store = IndexStore(work / "index")
    with store.writing():
        gen = store.write(data)
    files = {p.name: p.stat().st_size for p in gen.iterdir() if p.is_file()}
    files["bm25/"] = dir_size(gen / "bm25")
    # what opening the index spends on checking every file's size and xxh3 checksum (page cache warm)
    manifest = store.read_manifest(gen)
    started = time.perf_counter()
    store.verify_files(gen, manifest)
    verified = time.perf_counter() - started
    return {"chunks": len(all_chunks), "sentences": len(sentence_vectors), "documents": len(documents),
            "generate_s": round(generated, 2), "index_build_s": round(indexed, 2),
            "verify_checksums_s": round(verified, 3),
            "disk_bytes": dir_size(gen), "disk_bytes_per_chunk": round(dir_size(gen) / len(all_chunks)),
            "disk_files": files}


def write_queries(work: Path, n: int) -> int:
    """The eval questions (all of them, unless n is smaller) and then synthetic ones, n in all."""
    items = load_span_items(ROOT / "eval" / "retrieval.jsonl")
    random.Random(0).shuffle(items)
    rows = [{"question": i.question, "item": vars(i)} for i in items[:n]]
    known = {i.question for i in items}
    extra = [q for q in dict.fromkeys(questions(4 * n)) if q not in known]  # distinct: no cached vectors
    rows += [{"question": q} for q in extra[: n - len(rows)]]
    (work / "queries.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return len(rows)


def cold_search(work: Path, runs: int) -> list[float]:
    """Wall time of `rag search` in a new process against this index."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rag", "search", "Quanto costa il piano per la sanità?",
                        "--index", str(work / "index"), "-q"], check=True, capture_output=True, cwd=ROOT)
        times.append(round(time.perf_counter() - started, 3))
    return times


def agreement(approximate: list[dict], exact: list[dict], key: str) -> float:
    """Share of the exact search's top results that the approximate one also returns."""
    found = [len(set(a[key]) & set(e[key])) / len(e[key]) for a, e in zip(approximate, exact) if e[key]]
    return round(float(np.mean(found)), 4) if found else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, required=True)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--pool", type=int, default=2000, help="real sentence embeddings behind the synthetic ones")
    parser.add_argument("--systems", nargs="+", default=["rag", "langchain", "txtai"])
    parser.add_argument("--cold-runs", type=int, default=2)
    parser.add_argument("--work", type=Path, help="keep the generated index here (default: a temporary folder)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="rag-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        load_before = load()
        index = build_index(work, args.chunks, args.pool)
        n_queries = write_queries(work, args.queries)
        systems = {}
        for system in args.systems:
            child = [str(BENCH / "search.py"), "--system", system, "--work", str(work)]
            systems[system] = run_child(child)
            if system == "rag" and any(v.get("type") != "flat" for v in systems[system]["vector_indexes"].values()):
                # the same vectors searched exactly: what the approximate index costs in recall
                systems["rag-exact"] = run_child([*child[:2], "rag-exact", *child[3:]])
        if "rag" in systems and "rag-exact" in systems:
            exact, approximate = systems["rag-exact"]["tops"], systems["rag"]["tops"]
            systems["rag"]["agreement_with_exact"] = {
                "dense_top10": agreement(approximate, exact, "dense"),
                "hybrid_top5": agreement(approximate, exact, "hybrid")}
        for result in systems.values():
            result.pop("tops", None)
        cold = cold_search(work, args.cold_runs) if "rag" in args.systems else []
        emit({"section": "scale", "load_before": load_before, "requested_chunks": args.chunks,
              "queries": n_queries, "index": index, "cold_search_s": cold, "systems": systems})
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
