"""Load articles from files and folders into Documents; the readers of each format are in
rag/readers/ and all return the one Document shape. http(s) addresses among the paths are
fetched instead (web.py).

Bad files never stop an ingest: each is skipped with a reason, and the rest still load; in a
.jsonl file, so is each bad line. Only regular files are read (a FIFO would block, a device
never ends), and at most `max_bytes` of each.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import stat
import unicodedata
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
    # each file or address read (as find_files lists it) -> the sources of its documents
    origins: dict[str, list[str]] = field(default_factory=dict)


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


def read_bytes(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """A file's bytes, refusing special, empty and huge files (the readers of binary formats)."""
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
    return data


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES, notes: list | None = None) -> str:
    """A text file decoded: UTF-8, or another encoding when it can be told with confidence (then
    `notes` gets (path, "decoded as …, not UTF-8")). Special, empty, binary and huge files, and
    text whose encoding cannot be told, are refused with a Skip."""
    return decode_text(read_bytes(path, max_bytes), str(path), notes)


def decode_text(data: bytes, where: str, notes: list | None = None, declared: str | None = None) -> str:
    """`data` as text; `declared`: the encoding the file names for itself (an HTML
    <meta charset>), tried after UTF-8 and before guessing."""
    text, encoding = _decode(data, declared)
    if not text.strip():
        raise Skip("empty file")
    if encoding is not None and notes is not None:
        notes.append((where, f"decoded as {encoding}, not UTF-8"))
    return text


# Byte-order marks, longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"), (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
]
UNDETECTED = "not UTF-8 and its encoding could not be detected; save it as UTF-8"
MAX_CHAOS = 0.2  # charset-normalizer's mess ratio: above it, the decoded text reads as garbage
# Two guesses this close in mess and language coherence are a tie the detector cannot break.
TIE_CHAOS, TIE_COHERENCE = 0.05, 0.01


def _decode(data: bytes, declared: str | None = None) -> tuple[str, str | None]:
    """(text, the encoding's name when it is not UTF-8). Order: a byte-order mark, UTF-8, the
    encoding the file declares, then charset-normalizer's guess when it is a confident one."""
    for bom, codec, name in BOMS:
        # Before the NUL-byte test: UTF-16 and UTF-32 text is full of NUL bytes.
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                raise Skip(f"starts with a {name} byte-order mark but is not {name} text") from None
            if not _reads_as_text(text):
                raise Skip("binary file, not text")
            return text, name
    if b"\0" in data[:8192]:
        raise Skip("binary file, not text")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            text = data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass  # a wrong or unknown label: guess instead
        else:
            if _reads_as_text(text):
                return text, _encoding_name(declared)
    return _detect(data)


def _detect(data: bytes) -> tuple[str, str]:
    """charset-normalizer's guess, only when it is a confident one: little mess, text that reads
    as words, and no other guess as good that decodes differently. Short files rarely pass:
    a few accented letters fit a dozen code pages equally well, and a wrong guess would put
    misspelt words into the index, so those are refused with the reason."""
    from charset_normalizer import from_bytes

    candidates = [m for m in from_bytes(data)
                  # UTF-16/32 without a byte-order mark fits almost any even-length bytes
                  if m.chaos <= MAX_CHAOS and not m.encoding.startswith(("utf_16", "utf_32"))
                  and _reads_as_text(str(m))]
    if not candidates:
        raise Skip(UNDETECTED)
    best = candidates[0]
    tied = [best] + [m for m in candidates[1:] if m.chaos - best.chaos <= TIE_CHAOS
                     and best.coherence - m.coherence <= TIE_COHERENCE and str(m) != str(best)]
    if len(tied) > 1:
        # Latin code pages decode most letters alike and tie on Western text; Windows-1252 is
        # by far the commonest of them, so a tie it is part of is decided for it.
        western = [m for m in tied if "cp1252" in m.could_be_from_charset]
        if not western:
            names = ", ".join(_encoding_name(m.encoding) for m in tied[:3])
            raise Skip(f"{UNDETECTED} (it could be {names})")
        best = western[0]
    encoding = "cp1252" if "cp1252" in best.could_be_from_charset else best.encoding
    return str(best), _encoding_name(encoding)


_WORD = re.compile(r"[^\W\d_]+")
# Scripts that meet inside one Japanese or Chinese word
_EAST_ASIAN = {"CJK", "HIRAGANA", "KATAKANA", "FULLWIDTH", "HALFWIDTH", "IDEOGRAPHIC"}


def _reads_as_text(text: str, sample: int = 100_000) -> bool:
    """Mostly letters, digits, spaces and punctuation, with words each in one script: a wrong
    code page shows as control characters or as words half Latin, half Arabic or Cyrillic
    ("Perchﻠ"). Checked on the start of the text, which is enough to tell."""
    text = text[:sample]
    if not text:
        return False
    odd = sum(1 for c in text if unicodedata.category(c)[0] == "C" and c not in "\t\n\r\f")
    if odd > len(text) * 0.01:
        return False
    words = _WORD.findall(text)
    mixed = sum(1 for w in words if len({_script(c) for c in w}) > 1)
    return mixed <= len(words) * 0.01


def _script(letter: str) -> str:
    name = unicodedata.name(letter, "UNKNOWN").split(" ", 1)[0]
    return "CJK" if name in _EAST_ASIAN else name


def _encoding_name(encoding: str) -> str:
    """The name people know an encoding by: "windows-1252", not Python's "cp1252"."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return encoding
    return re.sub(r"^cp(125\d)$", r"windows-\1", name)


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g}"


NOT_REGULAR = "not a regular file (a FIFO, device or socket): not read"


def _unsupported(path: Path) -> str:
    return f"unsupported file type {path.suffix or '(none)'!r}"


def find_files(paths: list[Path | str]) -> tuple[list[Path | str], list[tuple[str, str]]]:
    """Files to load, folders walked recursively, and every other entry met with why it is not
    read: nothing is left out silently. Hidden entries (".git", ".DS_Store") are listed too, a
    hidden folder once, without walking into it. An address (a str: load_paths passes only
    those as strings) is kept in its place to be fetched when it is http(s), else refused."""
    from . import web
    from .readers import SUPPORTED_SUFFIXES

    files, skipped = [], []
    for path in paths:
        if isinstance(path, str):
            if web.is_url(path):
                files.append(path.strip())
            else:
                skipped.append((path, web.refusal(path)))
            continue
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


def load_paths(paths: list[str | Path], max_bytes: int = MAX_FILE_BYTES, since: date | None = None,
               fetcher=None) -> LoadResult:
    """Load every supported file under `paths`, each at most `max_bytes`, and fetch every
    http(s) address among them (web.py; `fetcher`: a web.Fetcher with the ingest's limits,
    default ones when None). `since`: a feed's entries published before it are left out.
    Raises RagError only for a missing path: a bad address is skipped with why, like a bad file."""
    from . import web

    files, skipped = find_files([p if web.is_address(p) else Path(p).expanduser() for p in paths])
    result = LoadResult(skipped=skipped)
    fetcher = fetcher or web.Fetcher(max_bytes)
    try:
        for path in files:  # in the order given, addresses fetched one at a time
            _load_one(path, result, max_bytes, since, fetcher)
    finally:
        fetcher.close()
    return result


def _load_one(path: Path | str, result: LoadResult, max_bytes: int, since, fetcher) -> None:
    """One file's or address's documents into `result`, or the reason they are skipped."""
    from . import web
    from .readers import FORMATS, reader_for

    try:
        if isinstance(path, str):
            docs = web.load_url(path, result, fetcher, since)
        else:
            # a feed's entries may link to pages to fetch, and `since` picks among them
            extra = {"fetcher": fetcher, "since": since} if FORMATS.get(path.suffix.lower()) == "feed" else {}
            docs = reader_for(path)(path.resolve(), slug(path.stem), result, max_bytes, **extra)
    except Skip as e:
        result.skipped.append((str(path), str(e)))
        return
    except OSError as e:
        result.skipped.append((str(path), e.strerror or str(e)))
        return
    result.documents.extend(docs)
    result.origins[str(path)] = [d.source for d in docs]
