"""LLM backends: Ollama (official client), embedded llama.cpp (xllamacpp), and choosing one;
an OpenAI-compatible server is the third (openai_api.py).

A backend only turns chat messages into text. Everything that makes an answer trustworthy
(citations, support, abstention) happens in answer.py, whatever the backend.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol

# GGUF handling lives in gguf.py; these names stay importable from here
from .gguf import PACKAGED_GGUFS, models_dir, packaged_gguf, resolve_gguf  # noqa: F401
from .gguf import AN_INSTRUCT_GGUF, MarkerFilter, auto_declines, read_gguf
from .settings import LLMSettings
from .types import RagError

OnToken = Callable[[str], None]


class LLM(Protocol):
    name: str
    description: str  # which model, for the user

    def chat(self, messages: list[dict], on_token: OnToken | None = None,
             json_schema: dict | None = None) -> str: ...


# -- Ollama -----------------------------------------------------------------------------


def ollama_host(settings: LLMSettings) -> str:
    return settings.ollama_host or os.environ.get("OLLAMA_HOST") or "http://127.0.0.1:11434"


class OllamaLLM:
    name = "ollama"

    def __init__(self, settings: LLMSettings):
        import ollama

        self.settings = settings
        self.host = ollama_host(settings)
        self.model = settings.ollama_model
        self.description = f"{self.model} on Ollama at {self.host}"
        self._client = ollama.Client(host=self.host, timeout=settings.timeout)

    def probe(self) -> tuple[bool, str]:
        """Is the server up, and does it have the model? Answers within probe_timeout."""
        import ollama

        client = ollama.Client(host=self.host, timeout=self.settings.probe_timeout)
        try:
            client.show(self.model)
        except ollama.ResponseError as e:
            if e.status_code == 404:
                return False, f"Ollama at {self.host} has no model {self.model} (`rag pull {self.model}`)"
            return False, f"Ollama at {self.host} answered with an error (HTTP {e.status_code})"
        except Exception:  # refused, timed out, not Ollama: all mean "not usable"
            return False, f"Ollama not reachable at {self.host}"
        return True, f"Ollama answered at {self.host} with {self.model}"

    def chat(self, messages, on_token=None, json_schema=None) -> str:
        options = {"temperature": self.settings.temperature, "num_ctx": self.settings.num_ctx,
                   "num_predict": self.settings.max_tokens}
        with self._errors():
            if on_token is None:
                reply = self._client.chat(model=self.model, messages=messages, options=options,
                                          format=json_schema)
                return reply.message.content or ""
            parts = []
            for piece in self._client.chat(model=self.model, messages=messages, options=options,
                                           format=json_schema, stream=True):
                text = piece.message.content or ""
                if text:
                    parts.append(text)
                    on_token(text)
            return "".join(parts)

    def pull(self, progress: bool = True) -> None:
        """Download the model into Ollama, with a progress bar on stderr."""
        from tqdm import tqdm

        with self._errors(), tqdm(desc=f"Pulling {self.model}", unit="B", unit_scale=True,
                                  file=sys.stderr, disable=not progress) as bar:
            for update in self._client.pull(self.model, stream=True):
                if update.total:
                    bar.total = update.total
                    bar.n = update.completed or 0
                    bar.set_postfix_str(update.status or "")
                    bar.refresh()

    @contextlib.contextmanager
    def _errors(self):
        import httpx
        import ollama

        try:
            yield
        except ollama.ResponseError as e:
            if e.status_code == 404 or "not found" in str(e.error).lower():
                raise RagError(f"Ollama at {self.host} has no model {self.model}; "
                               f"pull it with `rag pull {self.model}`") from None
            raise RagError(f"Ollama failed: {e.error} (HTTP {e.status_code})") from None
        except httpx.TimeoutException:
            raise RagError(f"Ollama did not answer within {self.settings.timeout:g} s "
                           "(RAG_LLM_TIMEOUT sets the limit)") from None
        except (ConnectionError, httpx.TransportError):
            raise RagError(f"Ollama is not reachable at {self.host}; start it with `ollama serve` "
                           "or choose another backend") from None


# -- llama.cpp --------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _load_server(path: str, n_ctx: int, threads: int):
    """One llama.cpp server per model file and process: loading takes seconds."""
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = path
    params.n_ctx = n_ctx
    params.verbosity = -1  # llama.cpp logs a lot on stderr; we report errors ourselves
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    try:
        return xlc.Server(params), threading.Lock()
    except Exception as e:
        raise RagError(f"llama.cpp could not load {path}: {e}") from None


_loading = threading.Lock()  # lru_cache alone lets two threads load the same model at once


class LlamaCppLLM:
    """A GGUF on the embedded llama.cpp. It answers only with a chat template (an instruct
    model): a base model has none, llama.cpp would prompt it in ChatML and it would write
    turn markers until the token limit. `allow_base=True` lets tests plumb one anyway (None:
    the settings' `allow_base_model`)."""

    name = "llamacpp"

    def __init__(self, settings: LLMSettings, allow_base: bool | None = None):
        try:
            import xllamacpp  # noqa: F401
        except ImportError:
            raise RagError("the llamacpp backend needs xllamacpp: pip install 'rag-factcheck[llamacpp]'") from None
        self.settings = settings
        self.path = resolve_gguf(settings.gguf)
        self.info = read_gguf(self.path)
        self.allow_base = settings.allow_base_model if allow_base is None else allow_base
        self.stop = self.info.stop_sequences  # sent to llama.cpp: it ends the generation there
        self.description = f"{self.path.name} on llama.cpp"
        if not self.info.has_chat_template:
            self.description += " (a base model: no chat template)"
        self.last_usage: dict = {}  # the last generation's token counts and finish reason

    def _server(self):
        """The loaded model's server and its lock; a base model is refused (see the class)."""
        if not self.info.has_chat_template and not self.allow_base:
            raise RagError(f"{self.settings.gguf or self.path.name} has no chat template: it is a base model "
                           f"and cannot answer; use an instruct GGUF such as {AN_INSTRUCT_GGUF}")
        with _loading:
            return _load_server(str(self.path), self.settings.num_ctx, self.settings.threads)

    def first_token_logprobs(self, messages, n: int = 20) -> list[tuple[str, float]] | None:
        """The `n` likeliest first tokens of the reply with their log-probabilities, most likely
        first: one forward pass, for reading a one-word label off (verify.py)."""
        server, lock = self._server()
        request = {"messages": messages, "max_tokens": 1, "temperature": 0.0, "logprobs": True, "top_logprobs": n}
        with lock:
            try:
                reply = server.handle_chat_completions(request)
            except Exception as e:
                raise RagError(f"llama.cpp failed: {e}") from None
        if "error" in reply:
            raise RagError(f"llama.cpp failed: {reply['error']}")
        content = ((reply.get("choices") or [{}])[0].get("logprobs") or {}).get("content") or []
        if not content:
            return None
        first = content[0]
        return [(a["token"], a["logprob"]) for a in first.get("top_logprobs") or []] or \
            [(first["token"], first["logprob"])]

    def chat(self, messages, on_token=None, json_schema=None) -> str:
        server, lock = self._server()
        # max_tokens is llama.cpp's n_predict (measured: generation ends at it, streamed or not);
        # the stop strings end a turn that the model writes out as text.
        request = {"messages": messages, "max_tokens": self.settings.max_tokens,
                   "temperature": self.settings.temperature, "stop": self.stop}
        if json_schema is not None:
            request["response_format"] = {"type": "json_object", "schema": json_schema}
        markers = MarkerFilter(self.info.stop_sequences)  # should one get through anyway, it is cut here
        parts: list[str] = []
        errors: list[str] = []
        usage: dict = {}

        def emit(text: str) -> None:
            if text:
                parts.append(text)
                if on_token:
                    on_token(text)

        # Always streamed, even with no one listening: returning True from the callback is how
        # llama.cpp is told to stop, so that is where RAG_LLM_TIMEOUT is kept. (The prompt is
        # read before the first event: a limit can only cut the generation after it.)
        deadline = time.monotonic() + self.settings.timeout
        late = []

        def collect(event):
            if "error" in event:
                errors.append(str(event["error"]))
                return True
            for choice in event.get("choices", []):
                emit(markers.feed((choice.get("delta") or {}).get("content") or ""))
                if choice.get("finish_reason"):
                    usage["finish_reason"] = choice["finish_reason"]
            if "timings" in event:
                usage["completion_tokens"] = event["timings"].get("predicted_n")
                usage["prompt_tokens"] = event["timings"].get("prompt_n")
            if time.monotonic() > deadline:
                late.append(True)
                return True

        with lock:  # one generation at a time per loaded model
            try:
                server.handle_chat_completions({**request, "stream": True}, collect)
            except Exception as e:
                raise RagError(f"llama.cpp failed: {e}") from None
        self.last_usage = usage
        if late:
            raise RagError(f"llama.cpp did not finish within {self.settings.timeout:g} s "
                           "(RAG_LLM_TIMEOUT sets the limit)")
        emit(markers.finish())
        if errors:
            raise RagError(f"llama.cpp failed: {errors[0]}")
        return "".join(parts)


# -- choosing ---------------------------------------------------------------------------


def choose(settings: LLMSettings, job: str = "answer") -> tuple[LLM | None, str]:
    """The backend to do `job` with ("answer" questions, judge a "claim"; None = extractive,
    no LLM) and why it was chosen.

    `auto` takes the OpenAI-compatible server when one is configured (RAG_LLM_OPENAI_URL) and
    it answers within probe_timeout, else Ollama when it answers and has the model, else the
    configured GGUF on llama.cpp unless that is a packaged model measured worse at `job` than
    the extractive backend (gguf.auto_declines), else the extractive answerer."""
    from .openai_api import OpenAILLM

    wanted = settings.backend
    if wanted == "extractive":
        return None, "extractive backend requested"
    if wanted in ("ollama", "openai", "llamacpp"):
        llm = {"ollama": OllamaLLM, "openai": OpenAILLM, "llamacpp": LlamaCppLLM}[wanted](settings)
        return llm, f"{wanted} backend requested ({llm.description})"
    tried = []
    if settings.openai_url:  # configured by the user: asked first
        server = OpenAILLM(settings)
        up, why = server.probe()
        if up:
            return server, why
        tried.append(why)
    ollama = OllamaLLM(settings)
    up, why = ollama.probe()
    if up:
        return ollama, "; ".join([*tried, why])
    tried.append(why)
    if not settings.gguf:
        return None, f"{'; '.join(tried)} and no GGUF configured (RAG_LLM_GGUF); using extractive"
    declined = auto_declines(settings.gguf, job)
    if declined:  # before LlamaCppLLM: that would assemble and hash a GGUF it does not use
        return None, f"{'; '.join(tried)}; {declined}; using extractive (--backend llamacpp uses it anyway)"
    llm = LlamaCppLLM(settings)
    return llm, f"{'; '.join(tried)}; using {llm.description}"
