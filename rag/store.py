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
import itertools
import os
import shutil
import tempfile
import time
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
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


class ChunkTable(Sequence):
    """The chunks of an index as offsets into their documents' texts: `table[row]` makes the
    Chunk of one row (with its text) when it is asked for, so a search makes its hits only.

    At 100k chunks a list of Chunk objects (each a copy of its text and a tuple per sentence)
    took ~250 MB; these arrays take ~15 MB. `doc_ids`, `sentences(row)` and `sentence_rows`
    answer without making a Chunk."""

    def __init__(self, documents: dict[str, Document], ids: list[str], doc_ids: list[str],
                 bounds: np.ndarray, sentence_counts: np.ndarray, spans: np.ndarray):
        self.documents = documents  # the texts the offsets point into
        self.ids = ids
        self.doc_ids = doc_ids
        self.bounds = bounds.reshape(-1, 2)  # row: (start, end) of the chunk in its document
        self.spans = spans.reshape(-1, 2)  # (start, end) of every sentence, chunk after chunk
        # Row i's sentences are spans[first_sentence[i] : first_sentence[i + 1]]; the same
        # numbers are rows of the sentence vector index.
        self.first_sentence = np.concatenate([[0], np.cumsum(sentence_counts, dtype=np.int64)])

    @classmethod
    def from_rows(cls, documents: dict[str, Document], rows: Iterable[dict]) -> "ChunkTable":
        """From chunks.jsonl rows ({"id", "doc_id", "start", "end", "sentences"}, any "text"
        ignored), read one at a time: no list of 100k dicts at any moment."""
        ids, doc_ids = [], []
        bounds, counts, spans = array("q"), array("q"), array("q")
        for row in rows:
            ids.append(row["id"])
            doc_ids.append(documents[row["doc_id"]].id)  # the document's own string, not a copy per chunk
            bounds.extend((row["start"], row["end"]))
            counts.append(len(row["sentences"]))
            for start, end in row["sentences"]:
                spans.extend((start, end))
        return cls(documents, ids, doc_ids, *(np.frombuffer(a, dtype=np.int64) for a in (bounds, counts, spans)))

    @classmethod
    def of(cls, documents: dict[str, Document], chunks: Iterable[Chunk]) -> "ChunkTable":
        return cls.from_rows(documents, map(_chunk_row, chunks))

    def select(self, rows: Iterable[int], documents: dict[str, Document], added: Iterable[Chunk] = ()) -> "ChunkTable":
        """A new table: these rows of this one, then the `added` chunks, over `documents`
        (the kept rows' texts are not sliced out on the way)."""
        return ChunkTable.from_rows(documents, itertools.chain(self.rows(rows), map(_chunk_row, added)))

    def rows(self, rows: Iterable[int] | None = None) -> Iterator[dict]:
        """What chunks.jsonl holds: each chunk (all, or the given rows) without its text."""
        for row in range(len(self)) if rows is None else rows:
            start, end = self.bounds[row].tolist()
            yield {"id": self.ids[row], "doc_id": self.doc_ids[row], "start": start, "end": end,
                   "sentences": self.sentences(row)}

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, row: int) -> Chunk:
        start, end = self.bounds[row].tolist()
        doc_id = self.doc_ids[row]
        return Chunk(self.ids[row], doc_id, self.documents[doc_id].text[start:end], start, end, self.sentences(row))

    def __iter__(self) -> Iterator[Chunk]:
        return (self[row] for row in range(len(self)))

    def sentences(self, row: int) -> list[tuple[int, int]]:
        """(start, end) of each sentence of a chunk, in document offsets."""
        return list(map(tuple, self.spans[self.first_sentence[row] : self.first_sentence[row + 1]].tolist()))

    @property
    def sentence_count(self) -> int:
        return int(self.first_sentence[-1])

    def sentence_rows(self, rows: Iterable[int]) -> np.ndarray:
        """The sentence-index rows of the given chunk rows, in order."""
        first = self.first_sentence
        return np.concatenate([np.arange(first[r], first[r + 1]) for r in rows] or [np.zeros(0, np.int64)])

    def sentence_owners(self) -> np.ndarray:
        """For each row of the sentence index, the row of the chunk it belongs to."""
        return np.repeat(np.arange(len(self)), np.diff(self.first_sentence))

    def row_of(self, chunk_id: str) -> int:
        return self._rows_by_id[chunk_id]

    @cached_property
    def _rows_by_id(self) -> dict[str, int]:  # built when first needed (answers, not searches)
        return {chunk_id: row for row, chunk_id in enumerate(self.ids)}


def _chunk_row(chunk: Chunk) -> dict:
    return {"id": chunk.id, "doc_id": chunk.doc_id, "start": chunk.start, "end": chunk.end,
            "sentences": chunk.sentences}


@dataclass
class IndexData:
    """Everything an index holds. Row i of `faiss_index` embeds chunks[i]; the rows of
    `sentence_index` embed the chunks' sentences, in chunk order."""

    embedder: dict
    chunking: dict
    documents: dict[str, Document] = field(default_factory=dict)
    chunks: ChunkTable = field(default_factory=lambda: ChunkTable.of({}, []))
    faiss_index: object = None  # faiss.Index over chunk vectors
    sentence_index: object = None  # faiss.Index over sentence vectors
    bm25: object = None  # bm25s.BM25 over the chunk texts
    manifest: dict = field(default_factory=dict)
    generation: str = ""  # the folder it was loaded from or written to, e.g. "gen-000003"


def check_index_settings(settings: IndexSettings) -> None:
    if settings.approximate_storage not in ("sq8", "flat"):
        raise RagError(f"approximate index storage must be sq8 or flat, got {settings.approximate_storage!r}")
    if settings.approximate_above < 0:
        raise RagError(f"approximate_above must be 0 or more, got {settings.approximate_above}")
    if not settings.max_file_mb > 0:
        raise RagError(f"max_file_mb must be more than 0, got {settings.max_file_mb}")


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


def file_checksum(path: Path) -> str:
    """xxh3-64 of the file: fast enough to check every file at every open, and it catches
    the flipped bytes a size check cannot (a FAISS file with 16 bytes changed still loads)."""
    import xxhash

    digest = xxhash.xxh3_64()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def _read_jsonl(path: Path) -> Iterator[dict]:
    """The rows of a JSONL file, one at a time."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


class IndexStore:
    """Reads and atomically writes the index in one directory."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def exists(self) -> bool:
        return (self.root / "CURRENT").exists()

    def orphaned(self) -> list[Path]:
        """Generations with no CURRENT naming any: an index that lost its pointer. Its articles
        are still there; building over it (or reseeding) would lose them."""
        return [] if self.exists() else self._generations()

    def refuse_orphaned(self) -> None:
        if self.orphaned():
            raise RagError(f"index at {self.root} has lost its CURRENT pointer but still holds "
                           f"{len(self.orphaned())} generation(s); recover it with `rag doctor --index {self.root}`")

    def doctor(self) -> tuple[bool, list[str]]:
        """Verify the index and, when CURRENT is missing or names a broken generation, point it
        at the newest generation that loads whole. Call inside `writing()`. (ok, what was found)."""
        lines = []
        try:
            data = self.load()
            return True, [f"ok: {self.current().name}, {len(data.documents)} documents, {len(data.chunks)} chunks"]
        except RagError as e:
            lines.append(f"problem: {e}")
        for gen in reversed(self._generations()):
            try:
                data = self.load(gen)
            except RagError as e:
                lines.append(f"{gen.name} cannot be used: {e}")
                continue
            self._point_at(gen)
            lines.append(f"recovered: CURRENT now names {gen.name} ({len(data.documents)} documents, "
                         f"{len(data.chunks)} chunks)")
            return True, lines
        lines.append("no complete generation is left; rebuild the index with `rag ingest --rebuild PATH`")
        return False, lines

    def missing(self) -> RagError:
        """The error for a folder that holds no index, with the command that makes one."""
        return RagError(f"no index at {self.root}; `rag ingest PATH --index {self.root}` creates one")

    def current(self) -> Path:
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            self.refuse_orphaned()
            raise self.missing() from None
        except (OSError, UnicodeDecodeError) as e:
            raise RagError(f"index at {self.root} is unreadable ({e}); rebuild it with `rag ingest --rebuild`") from None
        gen = self.root / name
        if not name.startswith("gen-") or not gen.is_dir():
            raise RagError(f"index at {self.root} is corrupt (CURRENT names {name!r}, which is missing);"
                           f" recover it with `rag doctor --index {self.root}` or rebuild it with `rag ingest --rebuild`")
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
            raise RagError(f"index at {self.root} has format version {manifest.get('format_version')!r}; this rag "
                           f"reads versions {', '.join(map(str, READABLE_VERSIONS))}; rebuild it with `rag ingest --rebuild`")
        return manifest

    def load(self, gen: Path | None = None) -> IndexData:
        """The live generation (or `gen`), verified against its manifest.

        A reader in another process (a replica) may be half-way through opening the live
        generation when writers make two newer ones: the second prunes it (KEEP_GENERATIONS).
        What it read then fails its checks; when CURRENT has moved on meanwhile, that was no
        corruption, and the new live generation is read instead."""
        if gen is not None:
            return self._load(gen)
        for attempt in itertools.count(1):
            gen = self.current()
            try:
                return self._load(gen)
            except RagError:
                if attempt == 3 or self.current() == gen:
                    raise

    def _load(self, gen: Path) -> IndexData:
        import bm25s
        import faiss

        manifest = self.read_manifest(gen)
        self.verify_files(gen, manifest)
        try:
            documents = {d["id"]: Document(**d) for d in _read_jsonl(gen / "documents.jsonl")}
            chunks = ChunkTable.from_rows(documents, _read_jsonl(gen / "chunks.jsonl"))
            index = faiss.read_index(str(gen / "vectors.faiss"))
            sentence_index = faiss.read_index(str(gen / "sentences.faiss"))
            bm25 = bm25s.BM25.load(str(gen / "bm25"), load_corpus=False, show_progress=False)
        except Exception as e:  # noqa: BLE001 - whatever a damaged file makes a parser raise, it is corruption
            raise self._corrupt(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        if index.ntotal != len(chunks) or index.d != manifest["embedder"]["dim"]:
            raise self._corrupt(f"{index.ntotal} vectors for {len(chunks)} chunks")
        if sentence_index.ntotal != chunks.sentence_count or sentence_index.d != index.d:
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
            # less its documents map, which repeats documents.jsonl (~10 MB at 100k chunks)
            manifest={key: value for key, value in manifest.items() if key != "documents"},
            generation=gen.name,
        )

    def verify_files(self, gen: Path, manifest: dict) -> None:
        """Every file the manifest lists has its size and its checksum (xxh3: ~0.1 s a GB here).
        Indexes written before checksums were recorded are checked by size only."""
        sums = manifest.get("checksums", {})
        for name, expected in manifest.get("files", {}).items():
            path = gen / name
            size = path.stat().st_size if path.exists() else -1
            if size != expected:
                raise self._corrupt(f"{name} is {'missing' if size < 0 else 'truncated or altered'}")
            if name in sums and file_checksum(path) != sums[name]:
                raise self._corrupt(f"{name} does not match its checksum")

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
            _write_jsonl(tmp / "chunks.jsonl", data.chunks.rows())
            faiss.write_index(data.faiss_index, str(tmp / "vectors.faiss"))
            faiss.write_index(data.sentence_index, str(tmp / "sentences.faiss"))
            data.bm25.save(str(tmp / "bm25"), show_progress=False)
            names = list(DATA_FILES) + sorted(str(p.relative_to(tmp)) for p in (tmp / "bm25").rglob("*") if p.is_file())
            files = {name: (tmp / name).stat().st_size for name in names}
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
                "checksums": {name: file_checksum(tmp / name) for name in names},
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
            self._point_at(gen)  # the commit point
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        data.manifest, data.generation = manifest, gen.name
        self._prune_generations(keep=gen.name)
        return gen

    def _point_at(self, gen: Path) -> None:
        """Make `gen` the live generation, atomically (rename over CURRENT), durably (fsync)."""
        pointer = self.root / ".CURRENT.tmp"
        with open(pointer, "w", encoding="utf-8") as f:
            f.write(gen.name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(pointer, self.root / "CURRENT")
        _fsync_dir(self.root)

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
