"""The web UI (`rag ui`): chat with cited answers, fact-check mode, settings, adding articles.

One `Desk` is shared by every browser session: it holds the bot that answers. Answering
only reads the bot (FAISS, BM25, the embedder and the documents are read-only once loaded,
and llama.cpp generation is serialised by its own lock), so sessions answer concurrently.
An upload builds a new index generation with a separate bot and then swaps it in with one
assignment; a request that started before the swap finishes on the bot it started with.
A generation written by another process (`rag ingest`, another desk) is swapped in the same
way on the next request. With `read_only` (`rag ui --read-only`) a desk is a replica: it
serves an index another process writes, and never writes into its folder.

Gradio itself lives only in `build()` and `serve()`; HTML comes from render.py.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import dataclasses
import logging
import os
import queue
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from string import Template

from . import prompts, render, report, web
from .documents import LoadResult, Skip
from .readers import FORMATS, SUPPORTED_SUFFIXES, reader_for
from .factchecker import FactChecker
from .gguf import gguf_placeholder
from .llm import choose
from .settings import BACKENDS, LLMSettings, Settings
from .text import sentence_spans
from .types import Cancelled, EmbedProgress, RagError

log = logging.getLogger("rag")

ARTICLE_TYPES = tuple(sorted(SUPPORTED_SUFFIXES))
MB = 1024 * 1024
CSS = Path(__file__).with_name("ui.css")
READ_ONLY_NOTE = ("This desk is a read-only replica: articles are added and removed where the index is "
                  "written (rag ingest, or a desk started without --read-only). New ones appear here as "
                  "soon as that ingest finishes.")
# Words that open a question (Italian, English): "Auto" mode answers these and checks the rest.
QUESTION_START = re.compile(
    r"^(chi|cosa|che|quale|quali|quando|dove|come|perch[eé]|quanto|quanti|quante|quanta|"
    r"who|what|when|where|why|how|which|whose|whom|is|are|was|were|do|does|did|can|could|"
    r"will|would|should|has|have|had)\b",
    re.IGNORECASE,
)


def looks_like_claim(text: str) -> bool:
    """A statement to check rather than a question to answer."""
    text = text.strip()
    return bool(text) and not text.endswith("?") and not QUESTION_START.match(text)


# -- the shared state --------------------------------------------------------------------


class Desk:
    """The bot every session asks, the upload folder, and adding articles safely."""

    def __init__(self, settings: Settings, progress: bool = True):
        self.settings = settings
        self.read_only = settings.ui.read_only
        # a replica opens what the writer made: seeding would write, and answer from the wrong articles
        self.bot = (FactChecker.open(settings=settings) if self.read_only
                    else FactChecker.open_or_seed(settings=settings, progress=progress))
        # uploaded articles, kept for re-ingest; absolute, as the sources of their documents are
        self.uploads = (self.bot.store.root / "uploads").resolve()
        # Gradio's own cache (uploads, report downloads): a replica keeps it out of the index
        # folder, which other replicas share and it may only read
        self.incoming = (Path(tempfile.mkdtemp(prefix="rag-ui-")) if self.read_only
                         else self.uploads / ".incoming")
        if self.read_only:
            atexit.register(shutil.rmtree, self.incoming, ignore_errors=True)
        self._swap = threading.Lock()
        self._ingesting = threading.Lock()
        self._cancel = threading.Event()  # set by the Cancel button; the ingest stops at its next batch
        self._cancel_guard = threading.Lock()  # a press and the end of an upload do not interleave

    def current(self) -> FactChecker:
        """The bot on the index's live generation (another process may have written one). A
        new generation is loaded into a new bot that replaces this one: sessions mid-answer
        keep the one they started with."""
        bot = self.bot
        data = bot.load_newer()
        if data is not None:
            fresh = _bot_like(bot)
            fresh._use(data)  # reusing the embedder
            with self._swap:
                if self.bot is bot:  # not if an upload here swapped in its own meanwhile
                    self.bot = fresh
        return self.bot

    def view(self, ollama_model: str = "", gguf: str | None = None, language: str | None = None) -> FactChecker:
        """The current bot, with this session's model and language choices (a shallow copy
        when they differ)."""
        bot = self.current()
        if language:
            bot = bot.replying_in(language)
        llm = self.llm_settings(ollama_model, gguf, bot.settings.llm)
        if llm == bot.settings.llm:
            return bot
        session = copy.copy(bot)  # shares the loaded index; only the settings differ
        session.settings = dataclasses.replace(bot.settings, llm=llm)
        return session

    def llm_settings(self, ollama_model: str = "", gguf: str | None = None, base: LLMSettings | None = None,
                     backend: str | None = None) -> LLMSettings:
        """LLM settings with a session's choices; an empty GGUF field means no GGUF."""
        base = base or self.settings.llm
        return dataclasses.replace(base, ollama_model=(ollama_model or "").strip() or base.ollama_model,
                                   gguf=base.gguf if gguf is None else gguf.strip(),
                                   backend=backend or base.backend)

    def backend_status(self, backend: str, ollama_model: str = "", gguf: str | None = None) -> tuple[str, str]:
        """(text, level) saying which backend will answer; the why is `backend_details`."""
        return self.backend_details(backend, ollama_model, gguf)[:2]

    def backend_details(self, backend: str, ollama_model: str = "", gguf: str | None = None) -> tuple[str, str, str]:
        """(text, level, details): which backend will answer, how worrying that is, and why.

        Answering without a language model is the normal offline mode, not a fault: it is said
        calmly, and the Ollama/GGUF details are only there for who opens them."""
        settings = self.llm_settings(ollama_model, gguf, backend=backend)
        try:
            llm, reason = choose(settings, "answer")  # claims: the same choice, see gguf.auto_declines
        except RagError as e:
            return f"{backend} cannot answer: {e}", "error", ""
        if llm is None:
            return "Answering with quotes from the articles (no language model)", "ok", reason
        if backend in ("ollama", "openai"):  # asked for by name: say now if it cannot answer
            up, why = llm.probe()
            if not up:
                return f"{backend} requested, but {why}: questions will fail until it answers", "error", ""
        return f"Answering with {llm.name} — {reason}", "ok", ""

    # -- adding articles -----------------------------------------------------------------

    def add(self, paths: list[str], on_progress: Callable[[float, str], None] = lambda f, d: None,
            urls: str | list[str] = "") -> str:
        """Validate, copy into <index>/uploads/ and ingest; fetch the web addresses in `urls`
        (pages, PDFs, feeds; one per line) and ingest them too. Returns the result as HTML.

        Nothing touches the index before the files pass the checks; the index itself is
        written atomically, and files whose ingest failed are taken out of uploads/ again."""
        if self.read_only:
            return render.ingest_html(READ_ONLY_NOTE, [], "error")
        ui = self.settings.ui
        paths = [p for p in paths or [] if p]
        addresses = addresses_in(urls)
        if not paths and not addresses:
            return render.ingest_html("Choose one or more files, or paste a web address, first.", [], "warn")
        if len(paths) + len(addresses) > ui.max_upload_files:
            return render.ingest_html(f"Too many articles at once: {len(paths) + len(addresses)} "
                                      f"(at most {ui.max_upload_files} files and addresses).", [], "error")
        if not self._ingesting.acquire(blocking=False):
            return render.ingest_html("Another upload is being indexed; try again when it is done.", [], "error")
        try:
            on_progress(0.05, "Checking files")
            accepted, rejected = [], []
            for path in paths:
                name = Path(path).name
                problem = upload_problem(Path(path), int(ui.max_upload_mb * MB))
                if problem:
                    rejected.append((name, problem))
                else:
                    accepted.append((Path(path), safe_name(name)))
            fetched = []
            for address in addresses:
                if web.is_url(address):
                    fetched.append(address)
                else:
                    rejected.append((address, web.refusal(address)))
            if not accepted and not fetched:
                return render.ingest_html("Nothing was added: nothing passed the checks.", rejected, "error")
            size = sum(path.stat().st_size for path, _ in accepted)
            what = [f"{len(accepted)} file{'s' * (len(accepted) != 1)} ({size / MB:.1f} MB)"] if accepted else []
            what += [f"fetching {len(fetched)} address{'es' * (len(fetched) != 1)}"] if fetched else []
            on_progress(0.15, f"Indexing {' and '.join(what)}")
            return self._ingest(accepted, fetched, rejected, on_progress)
        finally:
            with self._cancel_guard:  # the flag is only ever set while an upload runs, and is cleared at its end
                self._cancel.clear()
                self._ingesting.release()
            for path in map(Path, paths):  # Gradio's cached copy: the article now lives in uploads/
                if path.resolve().is_relative_to(self.incoming.resolve()):
                    path.unlink(missing_ok=True)
                    if path.parent != self.incoming:
                        with contextlib.suppress(OSError):  # its per-upload folder, when empty
                            path.parent.rmdir()

    def remove(self, doc_id: str) -> str:
        """Take one article out of the index (and its uploaded file out of uploads/, or the next
        re-ingest would bring it back). Returns the result as HTML."""
        if self.read_only:
            return render.ingest_html(READ_ONLY_NOTE, [], "error")
        if not self._ingesting.acquire(blocking=False):
            return render.ingest_html("An upload is being indexed; remove the article when it is done.", [], "error")
        try:
            writer = _bot_like(self.current())
            doc = writer.data.documents.get(doc_id) if writer.documents else None
            if doc is None:
                return render.ingest_html("That article is no longer in the index.", [], "warn")
            writer.remove([doc_id])
            with self._swap:
                self.bot = writer
            source = Path(doc.source.split("#")[0])
            still_used = any(d.source.split("#")[0] == str(source) for d in writer.data.documents.values())
            if source.resolve().is_relative_to(self.uploads.resolve()) and not still_used:
                source.unlink(missing_ok=True)
            return render.ingest_html(f"Removed “{doc.title}”. The index holds "
                                      f"{len(writer.data.documents)} articles.", [], "ok")
        except RagError as e:
            return render.ingest_html(f"Not removed: {e}.", [], "error")
        finally:
            self._ingesting.release()

    def reports(self, settings: Settings, checked: dict) -> tuple[str, str]:
        """The session's fact-check report (HTML) and its ClaimReview JSON-LD, as files Gradio
        may serve (inside its cache folder, which it empties of files older than an hour)."""
        folder = Path(tempfile.mkdtemp(prefix="report-", dir=self.incoming))
        html_path, jsonld_path = folder / "fact-check-report.html", folder / "claimreview.jsonld"
        report.write(html_path, checked["verdicts"], settings, checked["skipped"])
        report.write(jsonld_path, checked["verdicts"], settings)
        return str(html_path), str(jsonld_path)

    @property
    def indexing(self) -> bool:
        """Whether an upload is being indexed right now."""
        return self._ingesting.locked()

    def cancel(self) -> bool:
        """Stop the upload being indexed, if there is one: nothing of it is written. True if one was."""
        with self._cancel_guard:
            if self._ingesting.locked():
                self._cancel.set()
                return True
        return False

    def _ingest(self, accepted: list[tuple[Path, str]], fetched: list[str], rejected: list[tuple[str, str]],
                on_progress: Callable[[float, str], None]) -> str:
        self.uploads.mkdir(parents=True, exist_ok=True)
        placed = _Placed(self.uploads)

        def embedded(p: EmbedProgress) -> None:
            where = f" · batch {p.batches_done} of {p.batches} back from {p.workers} Dask workers" if p.workers else ""
            on_progress(0.15 + 0.8 * p.done / p.total,
                        f"Embedding {p.done:,} of {p.total:,} passages and sentences{where} · "
                        f"{p.texts_per_s:.1f} per second · about {_duration(p.seconds_left)} left")

        try:
            targets = [placed.put(src, name) for src, name in accepted]
            writer = _bot_like(self.current())
            # one progress display, in plain words (on_progress): no tqdm bars for Gradio to mirror
            report = writer.ingest([*targets, *fetched], progress=False, on_progress=embedded, cancel=self._cancel)
        except Cancelled:
            placed.undo()
            return render.ingest_html("Cancelled: nothing was added. The index is unchanged.", rejected, "warn")
        except RagError as e:
            placed.undo()
            return render.ingest_html(f"Nothing was added: {e}. The index is unchanged.", rejected, "error")
        except Exception as e:  # a bug: the index is still whole (atomic writes); say so
            placed.undo()
            log.exception("upload failed")
            return render.ingest_html(f"Nothing was added: unexpected {type(e).__name__}: {e}. "
                                      "The index is unchanged.", rejected, "error")
        # Keep the files whose articles are now in the index; take the others out again.
        placed.keep(lambda target: bool(report.origins.get(str(target))))
        with self._swap:
            self.bot = writer
        titles = {d.id: d.title for d in writer.data.documents.values()}
        read = {str(target): src.name for (src, _), target in zip(accepted, targets)} | {a: a for a in fetched}
        apart = {str(t): f" (kept apart from an earlier {name} as {t.name})"
                 for (_, name), t in zip(accepted, targets) if t.name != name and report.origins.get(str(t))}
        outcomes = [(shown, _outcome(where, report, titles) + apart.get(where, "")) for where, shown in read.items()]
        # what was left out of a file or feed (a bad line, an entry whose page failed), and caveats
        parts = [(_shown(where, read), why) for where, why in report.skipped if where not in read]
        notes = [(_shown(where, read), what) for where, what in report.notes]
        level = "ok" if not rejected and not report.skipped else "warn"
        return render.ingest_html(report.summary(), outcomes + parts + notes + rejected, level)


def addresses_in(text: str | list[str]) -> list[str]:
    """The web addresses pasted into the UI: one per line (or space apart), each once."""
    words = text.split() if isinstance(text, str) else [w.strip() for w in text or [] if w and w.strip()]
    return list(dict.fromkeys(words))


def _shown(where: str, read: dict[str, str]) -> str:
    """How the UI names a file, a line of one ("feed.jsonl:3") or an address: uploads by the
    name they were chosen under, not the path they were copied to."""
    head = _file_of(where)
    name = read.get(head)
    if name is None:
        return where if web.is_url(where) else Path(where).name
    return name + where[len(head):]


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60)} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def _file_of(where: str) -> str:
    """The file a skip names: "feed.jsonl:3" (a line) and "feed.jsonl#3" (an article) are feed.jsonl."""
    where = where.split("#")[0]
    head, _, tail = where.rpartition(":")
    return head if head and tail.isdigit() else where


def _outcome(where: str, report, titles: dict[str, str], shown: int = 3) -> str:
    """What happened to one uploaded file or fetched address, in a few words."""
    ids = report.origins.get(where)
    if not ids:
        why = next((why for w, why in report.skipped if w == where), None)
        return f"not added: {why or 'no article in it'}"
    parts = []
    for verb, group in (("added", report.added), ("updated", report.updated)):
        names = [titles[i] for i in ids if i in group]
        if names:
            more = f" and {len(names) - shown} more" if len(names) > shown else ""
            parts.append(f"{verb}: {', '.join(names[:shown])}{more}")
    unchanged = sum(1 for i in ids if i in report.unchanged)
    if unchanged:
        parts.append("already in the index, unchanged" if len(ids) == 1 else f"{unchanged} already in the index")
    return "; ".join(parts)


def _bot_like(bot: FactChecker) -> FactChecker:
    """A new bot on the same index and settings that reuses `bot`'s loaded embedder
    (loading and warming one up again costs seconds)."""
    fresh = FactChecker(bot.settings)
    fresh.embedder = bot.embedder
    return fresh


class _Placed:
    """Files copied into uploads/ by one upload, so that a failed ingest can take them out.

    An upload never replaces a file already there: the same name with other content is kept
    apart as name-2, name-3… (another article, not a new version of it), and the same content
    is the file already there (its article is unchanged)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.placed: list[Path] = []

    def put(self, src: Path, name: str) -> Path:
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        for n in range(1, 10_000):
            candidate = name if n == 1 else f"{stem}-{n}{dot}{ext}"
            target = self.folder / candidate
            if target.resolve().parent != self.folder.resolve():  # safe_name makes this impossible
                raise RagError(f"refusing to write outside {self.folder}: {candidate!r}")
            if not target.exists():
                break
            if target not in self.placed and _same_bytes(target, src):
                return target  # this very article is already here
        else:
            raise RagError(f"too many uploads named {name}")
        tmp = self.folder / f".partial-{target.name}"
        shutil.copyfile(src, tmp)
        os.replace(tmp, target)
        self.placed.append(target)
        return target

    def undo(self) -> None:
        for target in self.placed:
            target.unlink(missing_ok=True)

    def keep(self, wanted: Callable[[Path], bool]) -> None:
        """Keep the placed files `wanted` accepts; take the others out."""
        for target in self.placed:
            if not wanted(target):
                target.unlink(missing_ok=True)


def _same_bytes(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def safe_name(name: str) -> str:
    """A file name that stays inside the uploads folder: no folders, no dot files, plain characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = ext, ""
    stem = re.sub(r"[^\w\-]+", "_", stem).strip("._-")[:100] or "article"
    ext = re.sub(r"[^\w]+", "", ext).lower()
    return f"{stem}.{ext}" if ext else stem


def upload_problem(path: Path, max_bytes: int) -> str | None:
    """Why this upload cannot be ingested, or None: its type, then what its format's reader
    finds (a regular file, the size cap, not empty, not binary, a known encoding, a text layer
    in a PDF…), before anything is written."""
    reader = reader_for(path)
    if reader is None:
        return f"{path.suffix or 'no extension'} files are not articles; use {', '.join(ARTICLE_TYPES)}"
    try:
        if FORMATS[path.suffix.lower()] == "feed":
            # a feed is checked for entries: their pages are fetched once, by the ingest
            from .readers import feed

            feed.check(path, max_bytes)
        elif not reader(path, "upload", LoadResult(), max_bytes):
            return "no article found in the file"
    except Skip as e:
        return str(e)
    except OSError:
        return "the upload did not arrive; try again"
    return None


# -- answering ---------------------------------------------------------------------------


def drafting(work: Callable[[Callable[[str], None]], object], poll: float = 0.15,
             stop: threading.Event | None = None):
    """Run `work(on_token)` in a thread. Yields (draft so far, None) at every poll while it
    runs (so that the caller can show the time spent) and (draft, result) once at the end;
    the worker's exception is raised in the caller. Setting `stop` makes the model's next
    token raise Cancelled: a stopped answer does not keep the CPU busy."""
    tokens: queue.Queue[str] = queue.Queue()
    outcome: dict = {}

    def on_token(token: str) -> None:
        if stop is not None and stop.is_set():
            raise Cancelled("stopped by the user")
        tokens.put(token)

    def run():
        try:
            outcome["result"] = work(on_token)
        except BaseException as e:  # handed to the caller's thread
            outcome["error"] = e

    worker = threading.Thread(target=run, name="rag-answer", daemon=True)
    worker.start()
    draft = ""
    while worker.is_alive() or not tokens.empty():
        worker.join(poll)
        fresh = ""
        while not tokens.empty():
            fresh += tokens.get_nowait()
        draft += fresh
        if fresh or worker.is_alive():  # a draft is shown even when the model was quick
            yield draft, None
    if "error" in outcome:
        raise outcome["error"]
    yield draft, outcome["result"]


def pieces(text: str, parts: int = 12) -> Iterator[str]:
    """Growing prefixes of `text`, cut at spaces: how a finished answer streams into the chat."""
    words = text.split(" ")
    step = max(1, len(words) // parts)
    for i in range(step, len(words), step):
        yield " ".join(words[:i])
    yield text


def _passages(k) -> int | None:
    """The top-k a client sent (the slider sends a float): a whole number, or a RagError."""
    if k in (None, ""):
        return None
    try:
        value = float(k)
    except (TypeError, ValueError):
        raise RagError(f"k must be a whole number, not {k!r}") from None
    if not value.is_integer():
        raise RagError(f"k must be a whole number, not {k!r}")
    return int(value)


def _user_message(text: str) -> dict:
    return {"role": "user", "content": render.esc(text)}


def _bot_message(html: str) -> dict:
    return {"role": "assistant", "content": html}


def _result_status(result, requested: str) -> tuple[str, str, str]:
    """(text, level, details) of the status line after a reply. Quotes without a model are the
    normal offline mode: said calmly, with why no model answered behind the details."""
    if result.backend == "extractive":
        text = "Answered with quotes from the articles (no language model)"
    else:
        text = f"Answered by {result.backend}"
    level = "ok"
    if getattr(result, "fallback", None):
        text += f". {result.fallback}"
        level = "warn"
    elif requested not in ("auto", "extractive", result.backend):
        level = "warn"  # the backend asked for did not answer (under auto, any may)
    return text, level, result.backend_reason


# -- the Gradio app ----------------------------------------------------------------------


def build(desk: Desk):
    """The Gradio Blocks app over `desk`."""
    import gradio as gr

    settings = desk.settings
    # Uploads land in Gradio's cache first: keep that cache inside the index folder too.
    desk.incoming.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(desk.incoming)

    def reply_lang(language, message) -> str:
        """The language of a reply to `message`: the chosen one, else the message's own."""
        try:
            return desk.current().replying_in(language or "auto").reply_language(message)
        except RagError:
            return "en"

    def respond(message, history, mode, backend, ollama_model, gguf, k, language, checked):
        """One chat turn. Yields (chat, sources panel, status line, input box, the claims checked
        in this session, the report download, the ClaimReview download)."""
        same = (gr.skip(),) * 3  # the session's checked claims and their downloads, unchanged
        message = (message or "").strip()
        history = list(history or [])
        earlier = [m for m in history if isinstance(m, dict) and m.get("role") == "user"]
        if not message:
            yield history, gr.skip(), gr.skip(), "", *same
            return
        claim = mode == "Fact-check" or (mode == "Auto" and looks_like_claim(message))
        history += [_user_message(message), _bot_message(render.pending_html("…"))]
        started, stop = time.monotonic(), threading.Event()
        step = {"text": "", "shown": ""}

        try:
            bot = desk.view(ollama_model, gguf, language)
            steps = prompts.message("steps", bot.reply_language(message))
            note = f" ({steps['indexing']})" if desk.indexing else ""

            def on_step(kind: str, done: int, total: int) -> None:
                if stop.is_set():
                    raise Cancelled("stopped by the user")
                step["text"] = Template(steps[kind]).safe_substitute(done=done, total=total) + note

            on_step("retrieving", 0, 0)
            history[-1] = _bot_message(render.pending_html(f"{step['text']}…"))
            yield history, gr.skip(), gr.skip(), "", *same
            k = _passages(k)
            # several sentences pasted to be checked: one verdict per check-worthy claim
            paragraph = claim and len(sentence_spans(message)) > 1
            if paragraph:
                work = lambda on_token: bot.check_text(message, backend=backend, k=k, on_step=on_step)  # noqa: E731
            elif claim:
                work = lambda on_token: bot.check(message, backend=backend, k=k, on_step=on_step)  # noqa: E731
            else:  # the conversation's earlier messages resolve a follow-up ("E quando?")
                work = lambda on_token: bot.ask(message, backend=backend, k=k, on_token=on_token,  # noqa: E731
                                                history=earlier, on_step=on_step)
            for draft, result in drafting(work, stop=stop):
                if result is not None:
                    break
                elapsed = time.monotonic() - started
                shown = f"{step['text']}… {elapsed:.0f} s" if elapsed >= 1 else f"{step['text']}…"
                if draft:  # a model is still writing: show its draft as a draft
                    history[-1] = _bot_message(render.draft_html(draft, backend))
                elif shown != step["shown"]:  # the step, and for how long the work has run
                    history[-1] = _bot_message(render.pending_html(shown))
                    step["shown"] = shown
                else:
                    continue
                yield history, gr.skip(), gr.skip(), gr.skip(), *same
        except GeneratorExit:  # the Stop button cancelled this reply
            stop.set()
            raise
        except RagError as e:
            history[-1] = _bot_message(render.error_html(str(e), lang=reply_lang(language, message)))
            yield history, gr.skip(), render.status_html(str(e), "error"), gr.skip(), *same
            return
        except Exception as e:  # a bug: say so in the chat, keep the app alive
            log.exception("answering failed")
            history[-1] = _bot_message(render.error_html(f"unexpected {type(e).__name__}: {e}"))
            yield history, gr.skip(), gr.skip(), gr.skip(), *same
            return

        documents = bot.data.documents
        if paragraph:
            history[-1] = _bot_message(render.text_check_html(result))
            panel = render.text_evidence_html(result, documents)
            verdicts, skipped, first = result.verdicts, result.skipped, (result.verdicts or [None])[0]
        else:
            # The checked answer replaces any draft, streamed in pieces so every backend looks alike.
            for prefix in pieces(result.answer):
                bubble = render.verdict_html(result, prefix) if claim else render.answer_html(result, prefix)
                history[-1] = _bot_message(bubble)
                yield history, gr.skip(), gr.skip(), gr.skip(), *same
                time.sleep(0.03)
            panel = render.evidence_html(result, documents) if claim else render.sources_html(result, documents)
            verdicts, skipped, first = ([result], [], result) if claim else ([], [], result)
        status_line = render.status_html(*_result_status(first, backend)) if first else gr.skip()
        if desk.indexing:
            status_line = render.status_html("Articles are still being indexed: this reply does not draw on "
                                             "the new ones yet. Ask again when the upload is done.", "warn")
        if not verdicts:
            yield history, panel, status_line, gr.skip(), *same
            return
        checked = {"verdicts": [*checked.get("verdicts", []), *verdicts],
                   "skipped": [*checked.get("skipped", []), *skipped]}
        html_report, claimreview = desk.reports(bot.settings, checked)
        yield (history, panel, status_line, gr.skip(), checked,
               gr.update(value=html_report, visible=True), gr.update(value=claimreview, visible=True))

    def stopped(history, language):
        """After Stop: the reply that was being written says it was stopped, in its language."""
        history = list(history or [])
        if history and history[-1].get("role") == "assistant" and \
                any(mark in str(history[-1].get("content")) for mark in ("rag-pending", "rag-draft")):
            asked = next((m for m in reversed(history) if m.get("role") == "user"), {}).get("content", "")
            lang = reply_lang(language, str(asked))
            history[-1] = _bot_message(render.error_html(render.ui_text("stopped", lang), lang=lang))
        return history

    def status(backend, ollama_model, gguf):
        return render.status_html(*desk.backend_details(backend, ollama_model, gguf))

    def add_articles(files, urls="", progress=gr.Progress()):
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        result = desk.add(paths, on_progress=lambda fraction, what: progress(fraction, desc=what), urls=urls or "")
        return result, render.documents_html(desk.current().documents), None, "", header(), article_choices()

    def article_choices():
        docs = sorted(desk.current().documents, key=lambda d: d.title.lower())
        return gr.update(choices=[(f"{d.title} ({d.date})" if d.date else d.title, d.id) for d in docs], value=None)

    def refresh():
        """What depends on the index, read per page load: another session may have changed it."""
        return header(), render.documents_html(desk.current().documents), article_choices()

    def ask_removal(doc_id):
        doc = desk.current().data.documents.get(doc_id) if doc_id else None
        if doc is None:
            return gr.update(visible=False), render.ingest_html("Choose an article to remove first.", [], "warn")
        return (gr.update(visible=True), render.ingest_html(
            f"Remove “{doc.title}” from the index? Answers will no longer cite it.", [], "warn"))

    def remove_article(doc_id):
        result = desk.remove(doc_id) if doc_id else render.ingest_html("Choose an article first.", [], "warn")
        return gr.update(visible=False), result, render.documents_html(desk.current().documents), header(), \
            article_choices()

    def cancel_upload():
        if desk.cancel():
            return render.ingest_html("Cancelling: the upload stops at its next batch; nothing of it is kept.", [], "warn")
        return gr.skip()

    replica = " · read\u2011only replica" if desk.read_only else ""  # a non-breaking hyphen

    def header():
        docs = desk.current().documents
        return (f'<div class="rag-header"><div class="rag-title">Fact-check desk</div>'
                f'<div class="rag-subtitle"><span class="rag-subtitle-long">Ask about the articles, or paste a '
                f"claim to check it. Every answer cites the passages it rests on.</span>"
                f"<span class=\"rag-count\">{len(docs)} articles indexed{replica}</span></div></div>")

    with gr.Blocks(title="rag · fact-check desk", analytics_enabled=False,
                   delete_cache=(3600, 3600)) as demo:
        top = gr.HTML(header())
        status_line = gr.HTML(elem_id="rag-status")
        with gr.Tabs():
            with gr.Tab("Ask & check", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=7, min_width=420):
                        chatbot = gr.Chatbot(
                            elem_id="rag-chat", show_label=False, render_markdown=False,
                            # the input under it stays on the first screen, on a laptop and a phone
                            height="calc(100dvh - 330px)", min_height=220, max_height=620,
                            sanitize_html=True, feedback_options=None, buttons=["copy"],
                            placeholder="Ask who said what, where and when — or paste a statement "
                                        "to check it against the articles.")
                        with gr.Row(equal_height=True):
                            box = gr.Textbox(show_label=False, scale=8, lines=1, max_lines=4, autofocus=True,
                                             elem_id="rag-question",
                                             placeholder="Dove era previsto il vertice? · Il vertice era previsto a Budapest")
                            send = gr.Button("Send", variant="primary", scale=1, min_width=90, elem_id="rag-send")
                            halt = gr.Button("Stop", variant="secondary", scale=1, min_width=70, elem_id="rag-stop")
                        checked = gr.State({})  # the claims this session checked, for its report
                        with gr.Row():
                            report_html = gr.DownloadButton("Download the fact-check report", visible=False,
                                                            size="sm", elem_id="rag-report")
                            report_jsonld = gr.DownloadButton("ClaimReview (JSON-LD)", visible=False,
                                                              size="sm", variant="secondary", elem_id="rag-claimreview")
                        mode = gr.Radio(["Auto", "Question", "Fact-check"], value="Auto", show_label=False,
                                        elem_id="rag-mode",
                                        info="Auto: questions are answered, statements are checked")
                    with gr.Column(scale=5, min_width=320):
                        sources = gr.HTML(render.EMPTY_SOURCES, elem_id="rag-sources-panel")
                with gr.Accordion("Settings", open=False, elem_id="rag-settings"):
                    with gr.Row():
                        backend = gr.Dropdown(list(BACKENDS),
                                              value=settings.llm.backend, label="Backend",
                                              info="auto: Ollama when it answers, else llama.cpp with a GGUF, else extractive")
                        ollama_model = gr.Textbox(value=settings.llm.ollama_model, label="Ollama model")
                        gguf = gr.Textbox(value=settings.llm.gguf, label="GGUF for llama.cpp",
                                          placeholder=gguf_placeholder())  # installed models only
                        k = gr.Slider(1, 20, value=settings.retrieval.k, step=1, label="Passages (top-k)")
                        language = gr.Dropdown([("Same as the question", "auto"), ("Italiano", "it"),
                                                ("English", "en"), ("Français", "fr"), ("Deutsch", "de"),
                                                ("Español", "es"), ("Português", "pt")],
                                               value=settings.answer.language, label="Reply language",
                                               elem_id="rag-language")
            with gr.Tab("Articles", id="articles"):
                if desk.read_only:  # a replica shows the articles; only the writer changes them
                    gr.HTML(render.ingest_html(READ_ONLY_NOTE, [], "ok"), elem_id="rag-ingest")
                    table = gr.HTML(render.documents_html(desk.current().documents), elem_id="rag-articles")
                else:
                    with gr.Row(equal_height=False):
                        with gr.Column(scale=2):
                            files = gr.File(label=f"Add articles ({', '.join(ARTICLE_TYPES)}; "
                                                  f"up to {settings.ui.max_upload_mb:g} MB each)",
                                            # no file_types: Gradio's filter turned a whole selection into
                                            # "Error" for one odd file; each file gets its own reason instead
                                            file_count="multiple", type="filepath", elem_id="rag-upload")
                            urls = gr.Textbox(label="…or web addresses: pages, PDFs or RSS/Atom feeds, one per line",
                                              lines=2, max_lines=6, placeholder="https://…", elem_id="rag-urls")
                            with gr.Row():
                                add = gr.Button("Add to the index", variant="primary", elem_id="rag-add")
                                stop = gr.Button("Cancel upload", variant="secondary", elem_id="rag-cancel-upload")
                            added = gr.HTML(elem_id="rag-ingest")
                        with gr.Column(scale=3):
                            table = gr.HTML(render.documents_html(desk.current().documents), elem_id="rag-articles")
                            with gr.Row(equal_height=True):
                                # custom values: the list may be stale, another session may have removed it
                                doomed = gr.Dropdown([], label="Remove an article", scale=4, allow_custom_value=True,
                                                     elem_id="rag-remove-choice")
                                remove = gr.Button("Remove…", variant="secondary", scale=1, elem_id="rag-remove")
                            with gr.Row(visible=False, elem_id="rag-remove-confirm") as confirm_row:
                                confirm = gr.Button("Yes, remove it", variant="stop", elem_id="rag-remove-yes")
                                keep = gr.Button("Keep it", variant="secondary", elem_id="rag-remove-no")

        answer_io = dict(inputs=[box, chatbot, mode, backend, ollama_model, gguf, k, language, checked],
                         outputs=[chatbot, sources, status_line, box, checked, report_html, report_jsonld])
        # always_last: a question sent while the reply before it still streams is answered
        # next, not dropped
        replying = gr.on([box.submit, send.click], respond, **answer_io, api_name="chat",
                         api_visibility="undocumented", concurrency_id="answer", show_progress="hidden",
                         trigger_mode="always_last")
        halt.click(stopped, [chatbot, language], chatbot, cancels=[replying], api_visibility="private", queue=False)
        chatbot.clear(lambda: (render.EMPTY_SOURCES, {}, gr.update(visible=False), gr.update(visible=False)), None,
                      [sources, checked, report_html, report_jsonld], api_visibility="private", queue=False)
        gr.on([demo.load, backend.change, ollama_model.submit, ollama_model.blur, gguf.submit, gguf.blur],
              status, [backend, ollama_model, gguf], status_line, api_visibility="private")
        if desk.read_only:
            demo.load(lambda: refresh()[:2], None, [top, table], api_visibility="private")
            _api(gr, desk)
            return demo
        demo.load(refresh, None, [top, table, doomed], api_visibility="private")
        remove.click(ask_removal, doomed, [confirm_row, added], api_visibility="private")
        keep.click(lambda: (gr.update(visible=False), ""), None, [confirm_row, added], api_visibility="private")
        confirm.click(remove_article, doomed, [confirm_row, added, table, top, doomed], api_name="remove_article",
                      api_visibility="undocumented", concurrency_id="ingest", concurrency_limit=1)
        add.click(add_articles, [files, urls], [added, table, files, urls, top, doomed], api_name="add_articles",
                  api_visibility="undocumented", concurrency_id="ingest", concurrency_limit=1)
        # its own queue: it must run while an ingest holds "ingest"
        stop.click(cancel_upload, None, added, api_name="cancel_upload", api_visibility="undocumented",
                   queue=False)

        _api(gr, desk)
    return demo


def _api(gr, desk: Desk) -> None:
    """Plain endpoints for gradio_client: JSON in, JSON out (the CLI's --json objects)."""
    defaults = desk.settings

    def answered(run) -> dict:
        """A RagError (misuse included: a number for a question, k="x") is the client's error
        message, not a traceback on the server's console."""
        try:
            return run()
        except RagError as e:
            raise gr.Error(str(e), print_exception=False) from None
        except Exception as e:  # a bug: one line in the log, the client still told
            log.error("API call failed: unexpected %s: %s", type(e).__name__, e)
            raise gr.Error(f"unexpected {type(e).__name__}: {e}", print_exception=False) from None

    def ask(question: str, backend: str = defaults.llm.backend, k: int = defaults.retrieval.k,
            history: list[str] | None = None) -> dict:
        """Answer a question from the indexed articles: answer text with [n], citations, backend.
        `history`: the conversation's earlier questions, to resolve a follow-up against."""
        return answered(lambda: desk.current().ask(question, backend=backend, k=_passages(k),
                                                   history=history).to_dict())

    def search(query: str, k: int = defaults.retrieval.k) -> dict:
        """The k passages that best match the query."""
        return answered(lambda: {"query": query,
                                 "hits": [h.to_dict() for h in desk.current().search(query, k=_passages(k))]})

    def check(claim: str, backend: str = defaults.llm.backend, k: int = defaults.retrieval.k) -> dict:
        """Check a claim against the articles: verdict, explanation, evidence per source."""
        return answered(lambda: desk.current().check(claim, backend=backend, k=_passages(k)).to_dict())

    gr.api(ask, api_name="ask", concurrency_id="answer")
    gr.api(search, api_name="search", concurrency_id="answer")
    gr.api(check, api_name="check", concurrency_id="answer")


def theme():
    import gradio as gr

    # Local fonts only: the machine may have no internet, and a font CDN would stall the page.
    return gr.themes.Soft(primary_hue="indigo", neutral_hue="slate",
                          font=["Inter", "system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"],
                          font_mono=["JetBrains Mono", "DejaVu Sans Mono", "monospace"]).set(
        button_primary_background_fill="*primary_600", button_primary_background_fill_hover="*primary_700",
        button_primary_text_color="white")


def launch(demo, ui, prevent_thread_lock: bool = True):
    """Start serving `demo` on ui.host:ui.port, with the app's theme, CSS and limits."""
    demo.queue(default_concurrency_limit=ui.concurrency, max_size=64)
    try:
        demo.launch(server_name=ui.host, server_port=ui.port, share=False, inbrowser=False,
                    prevent_thread_lock=prevent_thread_lock, quiet=True, ssr_mode=False, mcp_server=False,
                    max_file_size=int(ui.max_upload_mb * MB), theme=theme(), css_paths=[CSS],
                    footer_links=["api", "settings"])
    except OSError:
        raise RagError(f"cannot listen on {ui.host}:{ui.port}: the port is in use or not allowed; "
                       "choose another with --port") from None
    return f"http://{ui.host}:{ui.port}"


def serve(settings: Settings, progress: bool = True) -> None:
    """`rag ui`: open (or build from the seeds) the index, start the app, block until Ctrl+C."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    desk = Desk(settings, progress=progress)
    demo = build(desk)
    url = launch(demo, settings.ui)
    role = "; a read-only replica" if desk.read_only else ""
    print(f"rag UI running at {url}  ({len(desk.bot.documents)} articles{role}; Ctrl+C to stop)", flush=True)
    if settings.ui.host not in ("127.0.0.1", "localhost", "::1") and not desk.read_only:
        log.warning("the UI is open to the network on %s; anyone who can reach it can add articles",
                    settings.ui.host)
    demo.block_thread()
