"""FactChecker: the public Python API, tying the stages together."""

from __future__ import annotations

import copy
import dataclasses
import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import numpy as np

from . import conversation
from .answer import Answerer
from .claims import split_claims
from .conversation import Chat
from .grounding import Grounding
from .documents import load_paths
from .embeddings import Embedder, load_embedder, same_model
from .llm import LLM, OnToken, choose
from .retrieval import Retriever, build_bm25
from .settings import BACKENDS, DEFAULT_EMBEDDER, ChunkingSettings, Settings, seeds_dir
from .store import (ChunkTable, IndexData, IndexStore, build_vector_index, check_index_settings,
                    grow_vector_index, vectors_of)
from .types import Answer, Cancelled, Document, EmbedProgress, Hit, IngestReport, OnStep, RagError, TextCheck, Verdict
from .verify import Verifier

log = logging.getLogger("rag")


class FactChecker:
    """A searchable index of articles.

    >>> bot = FactChecker.build(["seeds/"], "my-index")   # or FactChecker.open("my-index")
    >>> bot.search("Dove era previsto il vertice?", k=3)
    """

    def __init__(self, settings: Settings | None = None, index_dir: str | Path | None = None):
        self.settings = settings or Settings.load()
        if index_dir is not None:
            self.settings.index.dir = Path(index_dir)
        self.store = IndexStore(self.settings.index_dir)
        self.data: IndexData | None = None
        self.embedder: Embedder | None = None
        self.retriever: Retriever | None = None
        self.answerer: Answerer | None = None
        self.verifier: Verifier | None = None
        self._loading = threading.Lock()  # one thread loads a new generation; the others answer meanwhile
        self._unloadable = ""  # a live generation that failed to load: not retried on every query

    # -- opening -----------------------------------------------------------------------

    @classmethod
    def open(cls, index_dir: str | Path | None = None, settings: Settings | None = None) -> "FactChecker":
        """Open an existing index (RagError when there is none, or it is corrupt)."""
        bot = cls(settings, index_dir)
        bot._use(bot.store.load())
        return bot

    @classmethod
    def build(cls, paths, index_dir: str | Path | None = None, settings: Settings | None = None,
              rebuild: bool = False, progress: bool = True) -> "FactChecker":
        """Ingest `paths` into the index at `index_dir` (created if needed) and open it."""
        bot = cls(settings, index_dir)
        bot.ingest(paths, rebuild=rebuild, progress=progress)
        return bot

    @classmethod
    def open_or_seed(cls, index_dir=None, settings=None, progress: bool = True,
                     seed_anywhere: bool = False) -> "FactChecker":
        """Open the index; when the default index does not exist yet, build it from the seed
        articles first. An index folder the user named (`index_dir`, --index, RAG_INDEX_DIR)
        that holds no index is an error: a typo must not quietly answer from the seeds.
        `seed_anywhere`: seed a named folder too (`rag eval`, whose gold set is the seeds)."""
        bot = cls(settings, index_dir)
        if bot.store.exists():
            bot._use(bot.store.load())
            return bot
        bot.store.refuse_orphaned()  # never reseed over the user's articles
        if bot.settings.index.dir is not None and not seed_anywhere:
            raise bot.store.missing()
        seeds = seeds_dir()
        if not seeds.is_dir():
            raise RagError(f"no index at {bot.store.root} and no seeds folder at {seeds}; run `rag ingest PATH`")
        log.info("No index at %s yet: building it from %s", bot.store.root, seeds)
        bot.ingest([seeds], progress=progress)
        return bot

    def _embedder_for(self, spec: dict) -> Embedder:
        requested = self.settings.embedding.model
        if requested and not same_model(requested, spec["model"]):
            raise RagError(
                f"the index at {self.store.root} was built with {spec['model']} ({spec['backend']}), "
                f"not {requested}; search it without choosing an embedder, or rebuild it with "
                f"`rag ingest --rebuild --embedder {requested}`"
            )
        if self.embedder is not None and self.embedder.spec["model"] == spec["model"] \
                and self.embedder.spec["backend"] == spec["backend"]:
            return self.embedder
        embedder = load_embedder(spec["model"], spec["backend"], self.settings.embedding.batch_size,
                                 self.settings.embedding.allow_download)
        if embedder.spec["dim"] != spec["dim"]:
            raise RagError(f"embedder {spec['model']} now gives {embedder.spec['dim']}-dimensional vectors, "
                           f"the index holds {spec['dim']}; rebuild it with `rag ingest --rebuild`")
        return embedder

    def _use(self, data: IndexData) -> None:
        self.embedder = self._embedder_for(data.embedder)
        self.data = data
        self.retriever = Retriever(data, self.embedder, self.settings.retrieval)
        self.answerer = Answerer(self.retriever, self.settings.answer, self.settings.judge.model)
        self.verifier = Verifier(self.answerer, self.settings.verify)

    # -- reading -----------------------------------------------------------------------

    def refresh(self) -> bool:
        """Follow the index on disk: when another process (`rag ingest`, a `rag ui` that took
        an upload) has made a newer generation live, load it. True when this bot now reads a
        new one. Every search, question and check calls it first, so a replica (several
        processes, or machines over shared storage, reading one index) serves each new
        generation without a restart. Readers only follow CURRENT, so a half-written one is
        never read. Checking costs one read of CURRENT; loading happens once a generation."""
        if self.data is None:
            self._use(self.store.load())
            return True
        data = self.load_newer()
        if data is not None:
            self._use(data)
        return data is not None

    def load_newer(self) -> IndexData | None:
        """The live generation, loaded, when it is not the one this bot reads; else None (also
        while another thread loads it, and for one that fails to load: logged once, and this
        bot keeps answering from what it has)."""
        try:
            live = self.store.current().name
        except RagError:
            return None  # a broken pointer: keep answering from what is loaded (`rag doctor` mends it)
        if live in (self.data.generation, self._unloadable) or not self._loading.acquire(blocking=False):
            return None
        try:
            data = self.store.load()
            log.info("index changed on disk: now %d documents (%s)", len(data.documents), data.generation)
            return data
        except RagError as e:
            self._unloadable = live
            log.warning("could not load the index's new generation %s, still answering from %s: %s",
                        live, self.data.generation, e)
            return None
        finally:
            self._loading.release()

    def search(self, query: str, k: int | None = None, mode: str | None = None,
               diversity: float | None = None) -> list[Hit]:
        """The k passages that best match `query`, best first, each with its scores."""
        self.refresh()
        return self.retriever.search(query, k=k, mode=mode, diversity=diversity)

    def ask(self, question: str, backend: str | LLM | None = None, k: int | None = None,
            on_token: OnToken | None = None, history=None, on_step: OnStep | None = None) -> Answer:
        """Answer from the indexed articles, citing passages as [n], or abstain.

        `backend`: "auto" (default), "ollama", "llamacpp", "extractive", or any object with
        the LLM interface (rag/llm.py). `on_token` receives the model's text as it is
        generated: a draft, shown before it is validated. `history`: the conversation's earlier
        questions (strings, Answers or chat messages); a follow-up is resolved against them and
        the answer's `resolved_question` says how it was understood. `on_step(step, done, of)`
        hears of each stage ("retrieving", "writing", "validating"), for a progress display."""
        started = time.perf_counter()
        # a follow-up is resolved with the model that will answer it: chosen once, as `auto`
        # probes Ollama to choose
        chosen = self._backend(backend, "answer") if history and isinstance(question, str) and question.strip() else None
        resolved = self._resolve(question, history, chosen[0]) if chosen else None
        if on_step:
            on_step("retrieving", 0, 0)
        self.refresh()
        # One generation's answerer and its own retriever for the whole request: another
        # thread may swap in a newer generation meanwhile (refresh), whose documents differ.
        answerer = self.answerer
        hits = answerer.retriever.search(resolved or question, k=k)
        retrieved = time.perf_counter()
        answer, generation_ms = self._with_backend(
            backend, "answer", lambda llm, reason: answerer.answer(
                resolved or question, hits, llm, reason, on_token, asked=question if resolved else None,
                on_step=on_step), chosen)
        answer.question, answer.resolved_question = question, resolved
        answer.language = answerer.reply_language(resolved or question)
        answer.timings_ms = _timings(started, retrieved, generation_ms)
        return answer

    def reply_language(self, text: str) -> str:
        """The language a reply to `text` is written in (the setting, else the text's own)."""
        self.refresh()
        return self.answerer.reply_language(text)

    def replying_in(self, language: str) -> "FactChecker":
        """This bot writing its replies in `language` ("auto": each question's own); a shallow
        copy that shares the loaded index and models."""
        if language == self.settings.answer.language:
            return self
        settings = dataclasses.replace(self.settings, answer=dataclasses.replace(self.settings.answer, language=language))
        settings.validate()
        other = copy.copy(self)
        other.settings = settings
        if self.answerer is not None:
            other.answerer = copy.copy(self.answerer)
            other.answerer.settings = settings.answer
            other.verifier = copy.copy(self.verifier)
            other.verifier.answerer = other.answerer
        return other

    def chat(self, backend: str | LLM | None = None, k: int | None = None) -> Chat:
        """A conversation: each `ask` is read against the questions before it."""
        return Chat(self, backend=backend, k=k)

    def _resolve(self, question: str, history, llm: LLM | None) -> str | None:
        """A follow-up as a standalone question (None: it stands alone). The model rewrites it
        when there is one; without one, or when it fails, the previous topic is added."""
        try:
            return conversation.resolve(question, history, llm)[0]
        except RagError:  # the model failed mid-way: resolve as without one
            return conversation.resolve(question, history, None)[0]

    def check(self, claim: str, backend: str | LLM | None = None, k: int | None = None,
              on_step: OnStep | None = None) -> Verdict:
        """Check a claim against the indexed articles: SUPPORTED, REFUTED, NOT_ENOUGH_INFO or
        CONFLICTING, with every retrieved passage's stance and rationale, grouped per source.
        `on_step(step, done, of)`: "retrieving", then ("judging", 3, 8) per passage."""
        return self._check(claim, backend, k, on_step=on_step)

    def _check(self, claim: str, backend, k, chosen: tuple[LLM | None, str] | None = None,
               on_step: OnStep | None = None) -> Verdict:
        started = time.perf_counter()
        if on_step:
            on_step("retrieving", 0, 0)
        self.refresh()
        verifier = self.verifier  # one generation's, with its own answerer and retriever (as in ask)
        hits = verifier.answerer.retriever.search(claim, k=k, diversity=self.settings.verify.diversity)
        retrieved = time.perf_counter()
        verdict, generation_ms = self._with_backend(
            backend, "claim", lambda llm, reason: verifier.check(claim, hits, llm, reason, on_step), chosen)
        verdict.timings_ms = _timings(started, retrieved, generation_ms)
        verdict.language = verifier.answerer.reply_language(claim)
        return verdict

    def check_text(self, text: str, backend: str | LLM | None = None, k: int | None = None,
                   on_step: OnStep | None = None) -> TextCheck:
        """Check a paragraph or a speech claim by claim: one Verdict per check-worthy claim
        (claims.split_claims: sentences, or the clauses of a compound one, that state a fact),
        and the rest skipped with why ("a question", "an opinion", ...). At most
        `verify.max_claims` are checked; the others are skipped "over the limit".
        `on_step("claim", i, n)` is called as claim i of n is checked."""
        if not isinstance(text, str):
            raise RagError(f"the text must be a string, not {type(text).__name__}")
        if not text.strip():
            raise RagError("the text is empty")  # as check("") is: nothing to check is a mistake
        started = time.perf_counter()
        self.refresh()
        found, skipped = split_claims(text, self.retriever.language(text))
        longest, limit = self.settings.retrieval.max_query_chars, self.settings.verify.max_claims
        claims = []
        for c in found:
            why = (f"too long to check (over {longest} characters)" if len(c.text) > longest
                   else f"over the limit of {limit} claims (RAG_VERIFY_MAX_CLAIMS)" if len(claims) >= limit else None)
            if why:
                skipped.append({"text": c.text, "why": why, "start": c.start, "end": c.end})
            else:
                claims.append(c)
        # One choice of backend for every claim: `auto` probes Ollama once, not per claim.
        chosen = self._backend(backend, "claim") if claims else None
        verdicts = []
        for done, c in enumerate(claims, start=1):
            if on_step:
                on_step("claim", done, len(claims))
            verdicts.append(self._check(c.text, backend, k, chosen))
            if chosen[0] is not None and verdicts[-1].backend == "extractive":
                chosen = (None, verdicts[-1].backend_reason)  # auto's model failed: not again for each claim
        skipped.sort(key=lambda s: s["start"])
        return TextCheck(text, claims, verdicts, skipped,
                         timings_ms={"total": round((time.perf_counter() - started) * 1000, 1)})

    def _with_backend(self, backend: str | LLM | None, job: str, run,
                      chosen: tuple[LLM | None, str] | None = None):
        """`run(llm, reason)` with the backend chosen for `job`; under auto, a model failing
        mid-way leaves the extractive result (auto promised one), any other backend's failure
        is raised."""
        llm, reason = chosen or self._backend(backend, job)
        try:
            return run(llm, reason)
        except RagError as e:
            if (backend or self.settings.llm.backend) != "auto":
                raise  # the user asked for this backend: tell them it failed
            return run(None, f"{reason}; then {e}; using extractive")

    def _backend(self, backend: str | LLM | None, job: str) -> tuple[LLM | None, str]:
        """The model to do `job` with ("answer", "claim"; None: extractive) and why, from a
        name or an LLM object."""
        if backend is not None and not isinstance(backend, str):
            if not (callable(getattr(backend, "chat", None)) and isinstance(getattr(backend, "name", None), str)):
                raise RagError(f"backend must be a name ({', '.join(BACKENDS)}) or an LLM object, "
                               f"not {type(backend).__name__}")
            return backend, f"{backend.name} backend given by the caller"
        settings = self.settings.llm
        if backend is not None:
            settings = dataclasses.replace(settings, backend=backend)
            Settings(llm=settings).validate()
        return choose(settings, job)

    @property
    def documents(self) -> list[Document]:
        self.refresh()
        return list(self.data.documents.values())

    # -- writing -----------------------------------------------------------------------

    def ingest(self, paths, rebuild: bool = False, progress: bool = True,
               on_progress: Callable[[EmbedProgress], None] | None = None,
               cancel: threading.Event | None = None, since: str | None = None) -> IngestReport:
        """Add or update the articles under `paths`. Unchanged articles are not re-embedded.

        `paths` may hold http(s) addresses (str) of pages, PDFs and RSS/Atom feeds: they are
        fetched (web.py, within the limits of settings.index), and one that fails is skipped
        with why. `since` (an ISO date, "2025-11-01"): a feed's entries published before it are
        left out; entries without a date are kept.

        `on_progress(EmbedProgress)` is called after each batch of texts embedded (the long
        part: texts and batches done of how many, on how many Dask workers, the pace, an ETA);
        setting `cancel` stops the ingest at the next batch with `Cancelled`, and nothing is
        written: the index stays as it was.

        With `settings.index.cluster` (a Dask scheduler's address) or `cluster_workers` (local
        worker processes), the batches are embedded on that cluster (rag/cluster.py); reading,
        chunking and writing stay here."""
        index_settings = self.settings.index
        if not (index_settings.cluster or index_settings.cluster_workers):
            return self._ingest(paths, rebuild, progress, on_progress, cancel, since, None)
        from . import cluster  # dask.distributed: imported only for an ingest on a cluster

        # Connected before reading anything: a wrong address fails at once.
        with cluster.connect(index_settings) as client:
            return self._ingest(paths, rebuild, progress, on_progress, cancel, since, client)

    def _ingest(self, paths, rebuild, progress, on_progress, cancel, since, client) -> IngestReport:
        paths = _path_list(paths, "ingest")
        since_date = _since(since)
        report = IngestReport()
        check_index_settings(self.settings.index)  # before minutes of embedding, not after
        if not rebuild:
            self.store.refuse_orphaned()  # before reading: a new index here would prune the user's articles
        from . import web

        # Read and fetch before taking the lock: a slow site must not hold up other writers.
        # Strings stay strings: Path("https://…") would fold the address into "https:/…".
        loaded = load_paths(paths, max_bytes=int(self.settings.index.max_file_mb * 1024 * 1024),
                            since=since_date, fetcher=web.Fetcher.from_settings(self.settings.index))
        report.skipped, report.notes = loaded.skipped, loaded.notes
        for where, why in loaded.skipped:
            log.warning("skipped %s: %s", where, why)
        for where, what in loaded.notes:
            log.info("note: %s: %s", where, what)
        with self.store.writing():
            # Re-read under the lock: another process may have written since we opened.
            if not rebuild:
                self.store.refuse_orphaned()
            current = self.store.load() if self.store.exists() and not rebuild else None
            if current is None and not loaded.documents:
                raise RagError("no documents to ingest: nothing readable was found")

            if current is not None:
                embedder = self._embedder_for(current.embedder)
                chunking = current.chunking
                documents = dict(current.documents)
            else:
                model = self.settings.embedding.model or DEFAULT_EMBEDDER
                embedder = load_embedder(model, batch_size=self.settings.embedding.batch_size,
                                         allow_download=self.settings.embedding.allow_download)
                chunking = dataclasses.asdict(self.settings.chunking)
                documents = {}

            changed = self._plan(loaded.documents, documents, report)
            _origins(report, loaded.origins, documents, changed)
            if not changed:
                if current is not None:
                    self._use(current)
                self._count(report)
                return report

            replaced = {d.id for d in changed}
            kept_rows = [] if current is None else [
                i for i, doc_id in enumerate(current.chunks.doc_ids) if doc_id not in replaced
            ]
            for doc in changed:
                documents[doc.id] = doc
            from .chunking import chunk_document  # langchain's splitter: ~16 MB and 0.2 s that searching does not need

            new_chunks = [c for d in changed for c in chunk_document(d, _chunk_settings(chunking))]
            new_chunk_vectors, new_sentence_vectors = self._embed(
                embedder, new_chunks, documents, progress and len(changed) > 3, on_progress, cancel, client)
            report.chunks_embedded = len(new_chunks)

            index_settings = self.settings.index
            if current is None:
                chunks = ChunkTable.of(documents, new_chunks)
                chunk_index = build_vector_index(new_chunk_vectors, index_settings)
                sentence_index = build_vector_index(new_sentence_vectors, index_settings)
            else:
                chunks = current.chunks.select(kept_rows, documents, added=new_chunks)
                if len(kept_rows) == len(current.chunks):
                    # Only additions: append to the loaded vector indexes (ours alone, under the lock).
                    chunk_index = grow_vector_index(current.faiss_index, new_chunk_vectors, index_settings)
                    sentence_index = grow_vector_index(current.sentence_index, new_sentence_vectors, index_settings)
                else:
                    kept_chunks, kept_sentences = _kept_vectors(current, kept_rows)
                    chunk_index = build_vector_index(np.vstack([kept_chunks, new_chunk_vectors]), index_settings)
                    sentence_index = build_vector_index(np.vstack([kept_sentences, new_sentence_vectors]),
                                                        index_settings)
            data = IndexData(embedder=embedder.spec, chunking=chunking, documents=documents,
                             chunks=chunks, faiss_index=chunk_index, sentence_index=sentence_index,
                             bm25=build_bm25(chunks))
            self._flag(data, embedder, changed, report)
            _stop_if(cancel)
            self.store.write(data)
            self.embedder = embedder
            self._use(data)
        self._count(report)
        return report

    def remove(self, ids_or_sources: list[str]) -> IngestReport:
        """Remove documents, named by id or by source path. Nothing named: nothing changes."""
        ids_or_sources = _path_list(ids_or_sources, "remove")
        report = IngestReport()
        if not ids_or_sources:
            return report
        with self.store.writing():
            current = self.store.load()
            gone = set()
            for name in ids_or_sources:
                doc_id = _named(current.documents, name)
                if doc_id is None:
                    raise RagError(f"no document {name!r} in the index (see `rag docs`)")
                gone.add(doc_id)
            if len(gone) == len(current.documents):
                raise RagError(f"that would leave the index empty; delete {self.store.root} instead")
            rows = [i for i, doc_id in enumerate(current.chunks.doc_ids) if doc_id not in gone]
            documents = {i: d for i, d in current.documents.items() if i not in gone}
            chunks = current.chunks.select(rows, documents)
            chunk_vectors, sentence_vectors = _kept_vectors(current, rows)
            data = IndexData(embedder=current.embedder, chunking=current.chunking, documents=documents,
                             chunks=chunks, faiss_index=build_vector_index(chunk_vectors, self.settings.index),
                             sentence_index=build_vector_index(sentence_vectors, self.settings.index),
                             bm25=build_bm25(chunks))
            self.store.write(data)
            self._use(data)
        report.removed = sorted(gone)
        self._count(report)
        return report

    def _plan(self, incoming: list[Document], documents: dict[str, Document], report: IngestReport) -> list[Document]:
        """Sort incoming documents into added / updated / unchanged; return the ones to embed."""
        by_source = {d.source: d for d in documents.values()}
        by_hash = {d.sha256: d for d in documents.values()}
        changed, seen = [], set()
        for doc in incoming:
            if doc.source in seen:
                continue
            seen.add(doc.source)
            old = by_source.get(doc.source)
            if old is not None and old.sha256 == doc.sha256:
                report.unchanged.append(old.id)
                continue
            twin = by_hash.get(doc.sha256)
            if twin is not None and twin.source != doc.source:
                report.skipped.append((doc.source, f"same text as document {twin.id}"))
                log.warning("skipped %s: same text as document %s", doc.source, twin.id)
                continue
            if old is not None:
                doc.id = old.id
                report.updated.append(doc.id)
            else:
                doc.id = _unique_id(doc.id, documents.keys() | {d.id for d in changed})
                report.added.append(doc.id)
            by_hash[doc.sha256] = doc
            changed.append(doc)
        return changed

    def _embed(self, embedder: Embedder, chunks, documents, progress: bool, on_progress=None,
               cancel: threading.Event | None = None, client=None) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of the chunks and of their sentences (each distinct text embedded once),
        in batches: here, or with a Dask `client` on its workers. Either way the same bar on
        stderr (texts done, texts/s, ETA; on a cluster the batches done too) and an
        `EmbedProgress` to `on_progress` as each batch comes back."""
        from tqdm import tqdm

        texts = texts_to_embed(chunks, documents)
        unique = list(dict.fromkeys(texts))
        size = self.settings.embedding.batch_size
        batches = [unique[i : i + size] for i in range(0, len(unique), size)]
        if client is not None:
            from . import cluster

            workers = cluster.workers(client)
            desc = f"Embedding on {workers} Dask workers"
        else:
            workers, desc = 0, "Embedding"
        state = EmbedProgress(0, len(unique), 0, len(batches), workers)
        started = time.perf_counter()
        with tqdm(total=len(unique), desc=desc, unit="text", file=sys.stderr, disable=not progress) as bar:

            def on_batch(i: int) -> None:
                state.done, state.batches_done = state.done + len(batches[i]), state.batches_done + 1
                state.seconds = time.perf_counter() - started
                if workers:
                    bar.set_postfix_str(f"batches {state.batches_done}/{state.batches}", refresh=False)
                bar.update(len(batches[i]))
                if on_progress is not None:
                    on_progress(dataclasses.replace(state))  # a copy: the callback may keep it

            if client is None:
                parts = []
                for i, batch in enumerate(batches):
                    _stop_if(cancel)
                    parts.append(embedder.embed_passages(batch))
                    on_batch(i)
            else:
                _stop_if(cancel)  # before anything is sent
                bar.set_postfix_str(f"batches 0/{len(batches)}", refresh=False)
                parts = cluster.embed_batches(client, embedder, self.settings.embedding, batches, on_batch,
                                              lambda: _stop_if(cancel))
        return _placed(embedder, parts, texts, unique, len(chunks))

    def _flag(self, data: IndexData, embedder: Embedder, changed: list[Document], report: IngestReport) -> None:
        """Find the new articles' sentences addressed to a model; record and report them."""
        grounding = Grounding(Retriever(data, embedder, self.settings.retrieval))
        found = grounding.addressed_to_a_model({d.id for d in changed})
        for doc in changed:
            doc.flagged = [list(span) for span in found.get(doc.id, [])]
            for a, b in doc.flagged:
                report.flagged.append((doc.id, doc.text[a:b]))
                log.warning("%s: a sentence addresses a model, not a reader; it is never quoted or used as "
                            "evidence: %r", doc.id, doc.text[a:b][:120])

    def _count(self, report: IngestReport) -> None:
        if self.data is not None:
            report.total_documents = len(self.data.documents)
            report.total_chunks = len(self.data.chunks)


def _stop_if(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled before anything was written")


def _placed(embedder: Embedder, parts: list[np.ndarray], texts: list[str], unique: list[str],
            n_chunks: int) -> tuple[np.ndarray, np.ndarray]:
    """The chunk vectors and the sentence vectors of `texts`, from the vectors of the batches
    of `unique` (its distinct texts, in order)."""
    vectors = np.vstack(parts) if parts else np.zeros((0, embedder.spec["dim"]), np.float32)
    row = {text: i for i, text in enumerate(unique)}
    all_vectors = vectors[[row[t] for t in texts]]
    return all_vectors[:n_chunks], all_vectors[n_chunks:]


def _timings(started: float, retrieved: float, generation_ms: float) -> dict[str, float]:
    """Milliseconds spent retrieving, generating, and validating (the rest), and in total."""
    total_ms = (time.perf_counter() - started) * 1000
    retrieval_ms = (retrieved - started) * 1000
    return {"retrieval": round(retrieval_ms, 1), "generation": round(generation_ms, 1),
            "validation": round(total_ms - retrieval_ms - generation_ms, 1), "total": round(total_ms, 1)}


def texts_to_embed(chunks, documents) -> list[str]:
    """Each chunk's text, then the text of each sentence of each chunk (repeats included)."""
    texts = [c.text for c in chunks]
    return texts + [documents[c.doc_id].text[a:b] for c in chunks for a, b in c.sentences]


def _kept_vectors(data: IndexData, rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The chunk vectors and the sentence vectors of the kept chunk rows, in order."""
    return (vectors_of(data.faiss_index)[rows],
            vectors_of(data.sentence_index)[data.chunks.sentence_rows(rows)])


def _chunk_settings(recorded: dict) -> ChunkingSettings:
    return ChunkingSettings(size=int(recorded["size"]), overlap=int(recorded["overlap"]))


def _unique_id(candidate: str, taken) -> str:
    if candidate not in taken:
        return candidate
    n = 2
    while f"{candidate}-{n}" in taken:
        n += 1
    return f"{candidate}-{n}"


def _origins(report: IngestReport, origins: dict[str, list[str]], documents: dict[str, Document],
             changed: list[Document]) -> None:
    """report.origins: each file or address read -> the ids its documents have in the index
    (a document left out as a twin of another has none)."""
    id_of = {d.source: d.id for d in documents.values()} | {d.source: d.id for d in changed}
    report.origins = {where: [id_of[s] for s in sources if s in id_of] for where, sources in origins.items()}


def _named(documents: dict[str, Document], name: str | Path) -> str | None:
    """The id of the document `name` names: its id, the path it was read from, or the
    address it was fetched from (or is shown with)."""
    from . import web

    if isinstance(name, str) and name in documents:
        return name
    if web.is_url(name):
        address = str(name).strip()
        return next((d.id for d in documents.values() if address in (d.source, d.url)), None)
    path = str(Path(name).expanduser().resolve())
    return next((d.id for d in documents.values() if d.source == path), None)


def _since(value) -> date | None:
    """`ingest(since=…)`: an ISO date ("2025-11-01") or a datetime.date, else a RagError."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    try:
        return date.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise RagError(f"since must be a date written YYYY-MM-DD, got {value!r}") from None


def _path_list(value, what: str) -> list[str | Path]:
    """`ingest("a.txt")` and `ingest(["a.txt", Path("b/")])` alike; anything else is a RagError."""
    if isinstance(value, (str, Path)):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, Path)) for v in value):
        raise RagError(f"{what} takes a path or a list of paths (or document ids), not {type(value).__name__}")
    return list(value)
