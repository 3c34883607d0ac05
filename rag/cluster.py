"""Embedding an ingest's texts on a Dask cluster (`rag ingest --cluster ADDRESS / --workers N`).

Only the embedding leaves this process: documents are read and chunked here, batches of texts
go to the workers, and their vectors come back here, to the one process that writes the index
(under its lock, as a new generation), so an ingest on a cluster keeps every guarantee of one
on this machine. Dask itself reschedules the batches of a worker that dies; nothing here pins a
batch to a worker or gives up on the first lost one.

`distributed` is an optional extra (`rag-factcheck[cluster]`); rag imports this module only for
an ingest on a cluster (importing distributed takes over a second).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from .embeddings import Embedder, load_embedder
from .settings import EmbeddingSettings, IndexSettings
from .types import RagError

try:
    import distributed
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # the optional extra: connect() says how to install it
    distributed = None
    WorkerPlugin = object

INSTALL_HINT = "pip install 'rag-factcheck[cluster]'"


def _distributed():
    if distributed is None:
        raise RagError(f"embedding on a Dask cluster (--cluster, --workers) needs dask.distributed, "
                       f"which the default install leaves out: {INSTALL_HINT}")
    return distributed


@contextmanager
def connect(settings: IndexSettings) -> Iterator[object]:
    """A `distributed.Client` of the scheduler at `settings.cluster`, or of a local cluster of
    `settings.cluster_workers` processes started for this ingest (and stopped after it)."""
    _distributed()
    # Dask's own logs on stderr (a lost scheduler's reconnect traceback, a worker's warnings)
    # would bury rag's one-line errors: what the user must know reaches them as a RagError.
    with distributed.utils.silence_logging_cmgr(logging.CRITICAL):
        with _connected(settings) as client:
            yield client


@contextmanager
def _connected(settings: IndexSettings) -> Iterator[object]:
    timeout = settings.cluster_connect_timeout
    local = None
    if settings.cluster_workers:
        try:
            # One thread a process: the embedders' native code uses the cores it is given, and
            # is not known to be safe to call from two threads at once. Dashboard off: this is
            # one ingest, not a service, and its port could be taken.
            local = distributed.LocalCluster(n_workers=settings.cluster_workers, threads_per_worker=1,
                                             processes=True, host="127.0.0.1", dashboard_address=None,
                                             silence_logs=logging.CRITICAL)  # in the workers too
        except Exception as e:  # cannot spawn, no free port…: all mean "no cluster"
            raise RagError(f"cannot start a local Dask cluster of {settings.cluster_workers} workers: "
                           f"{_first_line(e)}") from None
        address = local.scheduler_address
    else:
        address = _checked_address(settings.cluster)
    try:
        # set_as_default=False: this client is ours alone, not dask's process-wide default.
        client = distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as e:
        if local is not None:
            local.close()
        raise RagError(f"no Dask scheduler reachable at {address} within {timeout:g} s "
                       f"(RAG_INDEX_CLUSTER_CONNECT_TIMEOUT): {_first_line(e)}; nothing was changed") from None
    try:
        try:
            # A scheduler with no workers would hold the batches until one joins: say so instead.
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise RagError(f"the Dask scheduler at {address} has no workers (start some with "
                           f"`dask worker {address}`); nothing was changed") from None
        yield client
    finally:
        client.close()
        if local is not None:
            local.close()


def _checked_address(address: str) -> str:
    """`address` when it reads as a scheduler's address (tcp://host:port, host:port…). Checked
    before connecting: a Client that fails on a malformed one is left half made, and prints a
    traceback as the program exits."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import backends

    try:
        scheme, location = parse_address(address.strip(), strict=False)
        if scheme not in backends:
            raise ValueError(f"unknown scheme {scheme}://")
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except ValueError as e:
        raise RagError(f"{address!r} is not the address of a Dask scheduler (like tcp://10.0.0.5:8786): "
                       f"{_first_line(e)}") from None
    return address.strip()


def workers(client) -> int:
    """How many workers the scheduler has now (it may change while an ingest runs)."""
    return len(client.scheduler_info().get("workers", {}))


def load_args(embedder: Embedder, settings: EmbeddingSettings) -> tuple:
    """What a worker loads to embed as `embedder` does (and the key it keeps that model by)."""
    return embedder.spec["model"], embedder.spec["backend"], settings.batch_size, settings.allow_download


def embed_batches(client, embedder: Embedder, settings: EmbeddingSettings, batches: list[list[str]],
                  on_batch: Callable[[int], None], stop: Callable[[], None]) -> list[np.ndarray]:
    """The passage vectors of each batch, in the order of `batches`, embedded on the workers.

    `on_batch(i)` is called here as batch i comes back (in the order they finish), `stop()`
    after each, to raise when the caller cancels. Each worker embeds with the model `embedder`
    names, loaded once per worker process; a worker whose copy differs (another version, another
    backend) is an error, as the index must hold one model's vectors."""
    _distributed()
    load = load_args(embedder, settings)
    try:
        client.register_plugin(EmbedderCache())  # idempotent: a worker keeps the models it loaded
        # pure=False: a batch is its own task even when its texts repeat another ingest's.
        futures = [client.submit(_embed_batch, load, texts, pure=False) for texts in batches]
    except (OSError, TimeoutError) as e:
        raise RagError(f"lost the Dask scheduler at {client.scheduler.address} ({_first_line(e)}); "
                       "nothing was written") from None
    position = {f.key: i for i, f in enumerate(futures)}
    parts: list[np.ndarray | None] = [None] * len(batches)
    try:
        # loop=: ours is not dask's default client (set_as_default=False in connect)
        for future in distributed.as_completed(futures, loop=client.loop):
            i = position[future.key]
            spec, vectors = future.result()
            if spec != embedder.spec:
                raise RagError(f"a Dask worker embeds with {_described(spec)}, this machine with "
                               f"{_described(embedder.spec)}: install the same on every worker")
            parts[i] = vectors
            on_batch(i)
            stop()
    except distributed.KilledWorker as e:
        raise RagError(f"a batch of texts was lost with every worker that ran it ({_first_line(e)}); "
                       "nothing was written") from None
    except distributed.client.FutureCancelledError:  # how a lost connection to the scheduler shows
        raise RagError(f"lost the Dask scheduler at {client.scheduler.address} during the ingest; "
                       "nothing was written") from None
    except (OSError, TimeoutError) as e:
        raise RagError(f"lost the Dask scheduler at {client.scheduler.address} during the ingest "
                       f"({_first_line(e)}); nothing was written") from None
    finally:
        client.cancel(futures)  # an error or a cancel here: leave the cluster nothing to do for us
    return parts


class EmbedderCache(WorkerPlugin):
    """A Dask worker plugin: the embedders a worker process has loaded, by what they load.

    Loading a model takes longer than embedding a batch, and a worker process outlives the
    batches it runs, so each loads it once; the plugin is the worker's own state (no state in
    this module), and a worker that replaces a lost one gets a fresh, empty one."""

    name = "rag-embedders"
    idempotent = True  # registered again by each ingest: keep the loaded models

    def setup(self, worker) -> None:
        self.embedders: dict[tuple, Embedder] = {}
        # one batch at a time in a process: the embedders are not known to be thread-safe, and
        # each already uses every core the process is given
        self.lock = threading.Lock()

    def teardown(self, worker) -> None:
        self.embedders.clear()

    def embed(self, load: tuple, texts: list[str]) -> tuple[dict, np.ndarray]:
        with self.lock:
            if load not in self.embedders:
                model, backend, batch_size, allow_download = load
                self.embedders[load] = load_embedder(model, backend, batch_size, allow_download)
            embedder = self.embedders[load]
            return embedder.spec, embedder.embed_passages(texts)


def _embed_batch(load: tuple, texts: list[str]) -> tuple[dict, np.ndarray]:
    """A task, run on a worker: (the worker's embedder spec, the vectors of `texts`)."""
    return distributed.get_worker().plugins[EmbedderCache.name].embed(load, texts)


def _described(spec: dict) -> str:
    return f"{spec.get('model')} ({spec.get('backend')} {spec.get('version')}, {spec.get('dim')} dimensions)"


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
