"""The index on disk: FAISS vectors (chunks and sentences), the chunk and document store, BM25, and a manifest.

Layout of an index directory:

    CURRENT            names the live generation, e.g. "gen-000003"
    .lock              held (flock) by the one process writing
    gen-000003/        manifest.json, documents.jsonl, chunks.jsonl, vectors.faiss,
                       sentences.faiss, bm25/

A write builds a whole new generation in a temporary folder, fsyncs it, renames it into
place and then swaps CURRENT with an atomic rename. Readers only follow CURRENT, so a
write that dies half-way leaves the previous generation untouched and in use.

Each vector index is an exact inner-product scan (cosine on normalised vectors) while it is
small, and an inverted file (IVF) above `IndexSettings.approximate_above` vectors; the manifest
records which (`vector_indexes`), and loading checks the files against it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .settings import IndexSettings
from .types import Chunk, Document, RagError

FORMAT = "rag-index"
# 2: chunks.jsonl holds offsets only, no text (a chunk's text is its document's text[start:end]):
# half the bytes to parse when an index of 100k chunks opens. Version 1 indexes still open.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
KEEP_GENERATIONS = 2  # the live one and its predecessor, which a reader may still be opening
DATA_FILES = ("documents.jsonl", "chunks.jsonl", "vectors.faiss", "sentences.faiss")
# Approximate index: an inverted file (IVF), the vectors grouped around 4*sqrt(n) k-means
# centroids; a query scans the 1/20 of the groups nearest to it (at least 8). Measured with
# bench/ at 100k chunks (410k sentence vectors): ~6 ms a query instead of ~80, 94% of the exact
# dense top 10 kept, recall@5 unchanged (README, Performance). An HNSW graph was tried first:
# it lost the passages of a rare topic among many similar ones (a fact-check's answer); IVF did not.
IVF_LISTS_PER_SQRT = 4
IVF_PROBED_SHARE = 20  # probe 1 in this many lists


@dataclass
class IndexData:
    """Everything an index holds. Row i of `faiss_index` embeds chunks[i]; the rows of
    `sentence_index` embed the chunks' sentences, in chunk order."""

    embedder: dict
    chunking: dict
    documents: dict[str, Document] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)
    faiss_index: object = None  # faiss.Index over chunk vectors
    sentence_index: object = None  # faiss.Index over sentence vectors
    bm25: object = None  # bm25s.BM25 over the chunk texts
    manifest: dict = field(default_factory=dict)


def check_index_settings(settings: IndexSettings) -> None:
    if settings.approximate_storage not in ("sq8", "flat"):
        raise RagError(f"approximate index storage must be sq8 or flat, got {settings.approximate_storage!r}")
    if settings.approximate_above < 0:
        raise RagError(f"approximate_above must be 0 or more, got {settings.approximate_above}")


def build_vector_index(vectors: np.ndarray, settings: IndexSettings):
    """A FAISS inner-product index over L2-normalised vectors (so: cosine similarity); exact
    up to `settings.approximate_above` vectors, an inverted file (IVF) above."""
    import faiss

    check_index_settings(settings)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if len(vectors) <= settings.approximate_above:
        index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        return index
    lists = max(1, min(round(IVF_LISTS_PER_SQRT * np.sqrt(len(vectors))), len(vectors) // 39))
    storage = "SQ8" if settings.approximate_storage == "sq8" else "Flat"
    index = faiss.index_factory(dim, f"IVF{lists},{storage}", faiss.METRIC_INNER_PRODUCT)
    index.train(vectors)  # k-means for the lists; sq8: the value range of each dimension
    index.add(vectors)
    index.nprobe = min(lists, max(8, lists // IVF_PROBED_SHARE))
    index.make_direct_map()  # so rows can be read back (answers use sentence vectors)
    return index


def grow_vector_index(index, vectors: np.ndarray, settings: IndexSettings):
    """`index` with `vectors` appended. In place while it stays the kind the settings ask for
    at the new size (the lists were trained on the earlier vectors, which suits news that keeps
    to its topics), else rebuilt."""
    approximate = index.ntotal + len(vectors) > settings.approximate_above
    if approximate == (describe_vector_index(index)["type"] == "ivf"):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return index
    return build_vector_index(np.vstack([vectors_of(index), vectors]), settings)


def vectors_of(index) -> np.ndarray:
    """All vectors of an index, in row order (sq8 ones decoded: within ~0.4% of each dimension's range)."""
    return index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), np.float32)


def describe_vector_index(index) -> dict:
    """What the manifest records about a vector index."""
    import faiss

    if isinstance(index, faiss.IndexIVF):
        storage = "sq8" if isinstance(index, faiss.IndexIVFScalarQuantizer) else "flat"
        return {"type": "ivf", "storage": storage, "lists": index.nlist, "probe": index.nprobe}
    if isinstance(index, faiss.IndexFlatIP):
        return {"type": "flat"}
    return {"type": type(index).__name__}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class IndexStore:
    """Reads and atomically writes the index in one directory."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def exists(self) -> bool:
        return (self.root / "CURRENT").exists()

    def current(self) -> Path:
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise RagError(f"no index at {self.root}; build one with `rag ingest PATH`") from None
        except (OSError, UnicodeDecodeError) as e:
            raise RagError(f"index at {self.root} is unreadable ({e}); rebuild it with `rag ingest --rebuild`") from None
        gen = self.root / name
        if not name.startswith("gen-") or not gen.is_dir():
            raise RagError(f"index at {self.root} is corrupt (CURRENT names {name!r}, which is missing);"
                           " rebuild it with `rag ingest --rebuild`")
        return gen

    @contextlib.contextmanager
    def writing(self):
        """Hold the write lock; a second writer gets a clear error instead of waiting forever."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RagError(f"another process is writing the index at {self.root}; try again when it is done") from None
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- reading -----------------------------------------------------------------------

    def read_manifest(self, gen: Path | None = None) -> dict:
        gen = gen or self.current()
        try:
            manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise self._corrupt(f"manifest unreadable: {e}")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise self._corrupt("manifest is not a rag index manifest")
        if manifest.get("format_version") not in READABLE_VERSIONS:
            raise RagError(f"index at {self.root} has format version {manifest.get('format_version')},"
                           f" this rag reads versions {READABLE_VERSIONS}; rebuild it with `rag ingest --rebuild`")
        return manifest

    def load(self) -> IndexData:
        import bm25s
        import faiss

        gen = self.current()
        manifest = self.read_manifest(gen)
        for name, expected in manifest.get("files", {}).items():
            path = gen / name
            size = path.stat().st_size if path.exists() else -1
            if size != expected:
                raise self._corrupt(f"{name} is {'missing' if size < 0 else 'truncated or altered'}")
        try:
            documents = {d["id"]: Document(**d) for d in _read_jsonl(gen / "documents.jsonl")}
            chunks = [Chunk(c["id"], c["doc_id"], documents[c["doc_id"]].text[c["start"] : c["end"]], c["start"],
                            c["end"], list(map(tuple, c["sentences"])))
                      for c in _read_jsonl(gen / "chunks.jsonl")]
            index = faiss.read_index(str(gen / "vectors.faiss"))
            sentence_index = faiss.read_index(str(gen / "sentences.faiss"))
            bm25 = bm25s.BM25.load(str(gen / "bm25"), load_corpus=False, show_progress=False)
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as e:
            raise self._corrupt(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        if index.ntotal != len(chunks) or index.d != manifest["embedder"]["dim"]:
            raise self._corrupt(f"{index.ntotal} vectors for {len(chunks)} chunks")
        if sentence_index.ntotal != sum(len(c.sentences) for c in chunks) or sentence_index.d != index.d:
            raise self._corrupt(f"{sentence_index.ntotal} sentence vectors do not match the chunks")
        recorded = manifest.get("vector_indexes", {})  # absent in indexes written before it: exact
        for name, loaded in (("vectors.faiss", index), ("sentences.faiss", sentence_index)):
            kind, expected = describe_vector_index(loaded)["type"], recorded.get(name, {}).get("type", "flat")
            if kind != expected:
                raise self._corrupt(f"{name} holds a {kind} index, the manifest says {expected}")
        return IndexData(
            embedder=manifest["embedder"],
            chunking=manifest["chunking"],
            documents=documents,
            chunks=chunks,
            faiss_index=index,
            sentence_index=sentence_index,
            bm25=bm25,
            manifest=manifest,
        )

    def _corrupt(self, detail: str) -> RagError:
        return RagError(f"index at {self.root} is corrupt ({detail}); rebuild it with `rag ingest --rebuild`")

    # -- writing -----------------------------------------------------------------------

    def write(self, data: IndexData) -> Path:
        """Write `data` as a new generation and make it live. Call inside `writing()`."""
        import faiss

        self.root.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers()
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
        try:
            _write_jsonl(tmp / "documents.jsonl", (d.to_dict() for d in data.documents.values()))
            _write_jsonl(tmp / "chunks.jsonl", ({"id": c.id, "doc_id": c.doc_id, "start": c.start, "end": c.end,
                                                 "sentences": c.sentences} for c in data.chunks))
            faiss.write_index(data.faiss_index, str(tmp / "vectors.faiss"))
            faiss.write_index(data.sentence_index, str(tmp / "sentences.faiss"))
            data.bm25.save(str(tmp / "bm25"), show_progress=False)
            files = {name: (tmp / name).stat().st_size for name in DATA_FILES}
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "embedder": data.embedder,
                "chunking": data.chunking,
                "counts": {"documents": len(data.documents), "chunks": len(data.chunks)},
                "documents": {
                    d.id: {"source": d.source, "title": d.title, "date": d.date, "sha256": d.sha256}
                    for d in data.documents.values()
                },
                "files": files,
                "vector_indexes": {"vectors.faiss": describe_vector_index(data.faiss_index),
                                   "sentences.faiss": describe_vector_index(data.sentence_index)},
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
            for path in tmp.rglob("*"):
                if path.is_file():
                    with open(path, "rb") as f:
                        os.fsync(f.fileno())
            gen = self.root / self._next_generation()
            os.rename(tmp, gen)
            pointer = self.root / ".CURRENT.tmp"
            with open(pointer, "w", encoding="utf-8") as f:
                f.write(gen.name + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(pointer, self.root / "CURRENT")  # the commit point
            _fsync_dir(self.root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        data.manifest = manifest
        self._prune_generations(keep=gen.name)
        return gen

    def _generations(self) -> list[Path]:
        return sorted(p for p in self.root.glob("gen-*") if p.is_dir())

    def _next_generation(self) -> str:
        numbers = [int(p.name[4:]) for p in self._generations() if p.name[4:].isdigit()]
        return f"gen-{max(numbers, default=0) + 1:06d}"

    def _remove_leftovers(self) -> None:
        """Temporary folders of writers that died (we hold the lock, so none is running)."""
        for tmp in self.root.glob(".tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)

    def _prune_generations(self, keep: str) -> None:
        gens = [g for g in self._generations() if g.name != keep]
        for old in gens[: max(0, len(gens) - (KEEP_GENERATIONS - 1))]:
            shutil.rmtree(old, ignore_errors=True)
