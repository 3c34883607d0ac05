"""Load articles from files and folders into Documents; the readers of each format are in
rag/readers/ and all return the one Document shape.

Bad files never stop an ingest: each is skipped with a reason, and the rest still load; in a
.jsonl file, so is each bad line. Only regular files are read (a FIFO would block, a device
never ends), and at most `max_bytes` of each.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .text import detect_language, looks_like_heading
from .types import Document, RagError

MAX_FILE_BYTES = 50 * 1024 * 1024  # the default of settings.index.max_file_mb

MONTHS = {
    # Italian
    "gennaio": 1, "febbraio": 2, "marzo": 3, "aprile": 4, "maggio": 5, "giugno": 6,
    "luglio": 7, "agosto": 8, "settembre": 9, "ottobre": 10, "novembre": 11, "dicembre": 12,
    # English
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}
_MONTH = "|".join(MONTHS)
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:º|°)?\s+({_MONTH})\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\s+(\d{{1,2}}),?\s+(\d{{4}})\b", re.IGNORECASE)
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# "Mosca, 9 novembre 2025 – " at the start of an article: place, date, then a dash.
DATELINE = re.compile(r"^[^\n,]{1,40},\s+[^\n–—-]{0,30}\d{4}\s*[–—-]\s*")


class Skip(Exception):
    """A file (or JSONL line) that cannot be loaded; the message says why."""


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    # (path, what to know) for what was read with a caveat: "decoded as windows-1252"
    notes: list[tuple[str, str]] = field(default_factory=list)


def parse_date(text: str) -> str | None:
    """The first date written as "9 novembre 2025", "November 9, 2025" or "2025-11-09"."""
    found = []
    for pattern, order in ((_DAY_MONTH_YEAR, "dmy"), (_MONTH_DAY_YEAR, "mdy"), (_ISO, "ymd")):
        m = pattern.search(text)
        if not m:
            continue
        parts = dict(zip(order, m.groups()))
        month = parts["m"]
        month = MONTHS[month.lower()] if not month.isdigit() else int(month)
        try:
            found.append((m.start(), date(int(parts["y"]), month, int(parts["d"])).isoformat()))
        except ValueError:
            continue
    return min(found)[1] if found else None


def content_hash(*parts: str | None) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update((part or "").encode("utf-8") + b"\0")
    return digest.hexdigest()


def make_document(doc_id, title, text, source, date=None, url=None, body_start=0, author=None,
                  pages=None) -> Document:
    """A Document with its language, dateline date (when no date is given) and content hash.
    An article without a title is called after its file: its first sentence cut short read as
    a quote, not as a title."""
    body = text[body_start:]
    date = date or parse_date(body[:200])
    return Document(
        id=doc_id,
        title=title or title_from_file(source) or derive_title(body),
        text=text,
        source=source,
        date=date,
        url=url,
        lang=detect_language(body[:5000]),
        body_start=body_start,
        author=author,
        pages=list(pages or []),
        sha256=content_hash(title, date, url, text[body_start:]),
    )


def title_from_file(source: str) -> str | None:
    """"ponte_adige-bozza.txt" -> "Ponte adige bozza"; a JSONL line adds its number ("batch #3" ->
    "Batch, article 3"). None when the name says nothing (digits or hashes only)."""
    path, _, line = source.partition("#")
    words = re.sub(r"[_\-.\s]+", " ", Path(path).stem).strip()
    if not re.search(r"[^\W\d_]{3,}", words):
        return None
    title = words[:1].upper() + words[1:]
    return f"{title}, article {line}" if line else title


def derive_title(body: str, limit: int = 90) -> str:
    """For an article with no heading: its first sentence, without the dateline, shortened."""
    first = body.strip().split("\n", 1)[0]
    first = DATELINE.sub("", first)
    sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0].strip()
    if len(sentence) <= limit:
        return sentence
    return sentence[:limit].rsplit(" ", 1)[0] + "…"


def split_title(text: str, markdown: bool) -> tuple[str | None, int]:
    """The title and where the body starts. A heading repeated on the next line is skipped."""
    lines = []  # (text, start offset, end offset incl. newline) of the first non-empty lines
    offset = 0
    for raw in text.splitlines(keepends=True):
        if raw.strip():
            lines.append((raw.strip(), offset, offset + len(raw)))
            if len(lines) == 3:
                break
        offset += len(raw)
    if len(lines) < 2:
        return None, len(text) - len(text.lstrip())

    def heading(line: str) -> str | None:
        if markdown:
            return line.lstrip("#").strip() if line.startswith("#") else None
        return line if looks_like_heading(line) else None

    title = heading(lines[0][0])
    if title is None:
        return None, lines[0][1]
    body_start = lines[1][1]
    # The first seed repeats its title line: keep it out of the body so it is indexed once.
    if len(lines) > 2 and (lines[1][0].lstrip("#").strip() == title):
        body_start = lines[2][1]
    return title, body_start


def is_special(path: Path) -> bool:
    """A FIFO, device or socket (or a link to one): opening it may block, reading it may not end."""
    try:
        return not stat.S_ISREG(path.stat().st_mode) and not path.is_dir()
    except OSError:
        return False


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Decode a file as UTF-8, refusing special, empty, binary, huge and non-UTF-8 files."""
    if is_special(path):
        raise Skip("not a regular file (a FIFO, device or socket): not read")
    if path.stat().st_size > max_bytes:
        raise Skip(f"file is larger than {_megabytes(max_bytes)} MB")
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)  # bounded even if the file grows while it is read
    if len(data) > max_bytes:
        raise Skip(f"file is larger than {_megabytes(max_bytes)} MB")
    if not data.strip():
        raise Skip("empty file")
    if b"\0" in data[:8192]:
        raise Skip("binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise Skip(f"not UTF-8 text (invalid byte at offset {e.start})") from None


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g}"


NOT_REGULAR = "not a regular file (a FIFO, device or socket): not read"


def _unsupported(path: Path) -> str:
    return f"unsupported file type {path.suffix or '(none)'!r}"


def find_files(paths: list[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files to load, folders walked recursively, and every other entry met with why it is not
    read: nothing is left out silently. Hidden entries (".git", ".DS_Store") are listed too, a
    hidden folder once, without walking into it."""
    from .readers import SUPPORTED_SUFFIXES

    files, skipped = [], []
    for path in paths:
        if not path.exists():
            raise RagError(f"no such file or folder: {path}")
        if not path.is_dir():
            if is_special(path):
                skipped.append((str(path), NOT_REGULAR))
            elif path.suffix.lower() in SUPPORTED_SUFFIXES:
                files.append(path)
            else:
                skipped.append((str(path), _unsupported(path)))
            continue
        for folder, subfolders, names in os.walk(path):
            here = Path(folder)
            for name in sorted(subfolders):
                if name.startswith("."):
                    skipped.append((str(here / name), "hidden folder: not read"))
                elif (here / name).is_symlink():  # os.walk does not follow it: a loop would never end
                    skipped.append((str(here / name), "link to a folder: not followed"))
            subfolders[:] = sorted(n for n in subfolders if not n.startswith(".") and not (here / n).is_symlink())
            for name in sorted(names):
                candidate = here / name
                if name.startswith("."):
                    skipped.append((str(candidate), "hidden file: not read"))
                elif is_special(candidate):
                    skipped.append((str(candidate), NOT_REGULAR))
                elif candidate.suffix.lower() not in SUPPORTED_SUFFIXES:
                    skipped.append((str(candidate), _unsupported(candidate)))
                elif candidate.is_file():
                    files.append(candidate)
                else:  # a dangling link
                    skipped.append((str(candidate), "broken link: not read"))
    return files, skipped


def slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text).strip("-") or "doc"


def load_paths(paths: list[str | Path], max_bytes: int = MAX_FILE_BYTES) -> LoadResult:
    """Load every supported file under `paths`, each at most `max_bytes`. Raises RagError only
    for a missing path."""
    from .readers import reader_for

    files, skipped = find_files([Path(p).expanduser() for p in paths])
    result = LoadResult(skipped=skipped)
    for path in files:
        try:
            docs = reader_for(path)(path.resolve(), slug(path.stem), result, max_bytes)
        except Skip as e:
            result.skipped.append((str(path), str(e)))
            continue
        except OSError as e:
            result.skipped.append((str(path), e.strerror or str(e)))
            continue
        result.documents.extend(docs)
    return result
