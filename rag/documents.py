"""Load articles from files and folders: .txt/.md, .html and .jsonl (one article per line).

Bad files never stop an ingest: each is skipped with a reason, and the rest still load; in a
.jsonl file, so is each bad line. Only regular files are read (a FIFO would block, a device
never ends), and at most `max_bytes` of each. Text an HTML page hides from its readers is
dropped before extraction: it is there for machines, not for people.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .text import detect_language, looks_like_heading
from .types import Document, RagError

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
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


def make_document(doc_id, title, text, source, date=None, url=None, body_start=0) -> Document:
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


def load_text_file(path: Path, doc_id: str, max_bytes: int = MAX_FILE_BYTES) -> list[Document]:
    text = read_text(path, max_bytes)
    title, body_start = split_title(text, markdown=path.suffix.lower() != ".txt")
    return [make_document(doc_id, title, text, str(path), body_start=body_start)]


# Styles that hide an element from a reader: not displayed, invisible, zero-sized or
# transparent text, or moved off the screen; inline or in the page's own <style> sheets.
HIDING_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*(hidden|collapse)|font-size\s*:\s*0*(\.0+)?\s*(px|pt|em|rem|%)?\s*(;|!|$)"
    r"|opacity\s*:\s*0*(\.0+)?\s*(;|!|$)|color\s*:\s*transparent|clip\s*:\s*rect\(\s*0"
    r"|(left|top|right|text-indent)\s*:\s*-\d{3,}|(^|;)\s*(width|height|max-height)\s*:\s*0*(px)?\s*(;|!|$)",
    re.IGNORECASE,
)


def hidden_by_style_sheets(root) -> list:
    """Elements a <style> sheet of the page hides, by a rule for all media or for the screen.

    A selector cssselect cannot translate (`:hover`, pseudo-elements) hides nothing: hover
    and print rules are not what a reader sees on opening the page anyway. Linked style sheets
    are not fetched (nothing is downloaded); their hidden text is indexed."""
    import tinycss2
    from cssselect import SelectorError
    from lxml.cssselect import CSSSelector

    def rules(nodes):
        for node in nodes:
            if node.type == "qualified-rule":
                yield node
            elif node.type == "at-rule" and node.lower_at_keyword == "media" and node.content is not None:
                media = tinycss2.serialize(node.prelude).lower()
                if "print" not in media and "speech" not in media:
                    yield from rules(tinycss2.parse_rule_list(node.content, skip_comments=True, skip_whitespace=True))

    found = []
    for style in root.iter("style"):
        sheet = tinycss2.parse_stylesheet(style.text or "", skip_comments=True, skip_whitespace=True)
        for rule in rules(sheet):
            declarations = tinycss2.serialize(rule.content).replace("\n", " ")
            if not any(HIDING_STYLE.search(d.strip()) for d in declarations.split(";")):
                continue
            try:
                found += CSSSelector(tinycss2.serialize(rule.prelude).strip())(root)
            except (SelectorError, SyntaxError, ValueError):
                continue
    return found


def without_hidden(html: str) -> str:
    """The page without the elements its readers cannot see (`hidden`, `aria-hidden="true"`, a
    hiding inline style or style-sheet rule): text planted there for a model must not become
    evidence."""
    import lxml.html  # trafilatura's own parser

    try:
        root = lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return html
    hidden = [el for el in root.iter() if isinstance(el.tag, str) and (
        el.get("hidden") is not None or (el.get("aria-hidden") or "").strip().lower() == "true"
        or HIDING_STYLE.search(el.get("style") or ""))]
    hidden += [el for el in hidden_by_style_sheets(root) if el.tag not in ("html", "body")]
    for el in hidden:
        if el.getparent() is not None:
            el.drop_tree()
    return lxml.html.tostring(root, encoding="unicode")


def load_html_file(path: Path, doc_id: str, max_bytes: int = MAX_FILE_BYTES) -> list[Document]:
    import trafilatura  # imported here: it is slow to import and only HTML needs it

    html = without_hidden(read_text(path, max_bytes))
    extracted = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    text = (extracted.text if extracted else "") or ""
    if not text.strip():
        raise Skip("no article text found in the HTML")
    return [
        make_document(doc_id, extracted.title, text, str(path), date=extracted.date, url=extracted.url)
    ]


def load_jsonl_file(path: Path, doc_id: str, skipped: list, max_bytes: int = MAX_FILE_BYTES) -> list[Document]:
    """One article per line: {"title", "date", "url", "text"}; bad lines are skipped, each
    with its file and line number, and the rest of the file still loads."""
    docs = []
    for lineno, line in enumerate(read_text(path, max_bytes).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            skipped.append((where, f"invalid JSON ({e.msg})"))
            continue
        except RecursionError:  # "[[[[…" nested deeper than Python's parser goes
            skipped.append((where, "invalid JSON (nested too deeply)"))
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            skipped.append((where, 'each line must be an object with a "text" string'))
            continue
        wrong = [k for k in ("title", "date", "url") if record.get(k) is not None and not isinstance(record[k], str)]
        if wrong:
            skipped.append((where, f'"{wrong[0]}" must be a string, not {type(record[wrong[0]]).__name__}'))
            continue
        if not record["text"].strip():
            skipped.append((where, "empty text"))
            continue
        raw_date = record.get("date")
        docs.append(
            make_document(
                f"{doc_id}-{lineno}",
                str(record.get("title") or "").strip() or None,
                record["text"],
                f"{path}#{lineno}",
                date=parse_date(raw_date) if raw_date else None,
                url=record.get("url"),
            )
        )
    if not docs and not skipped:
        raise Skip("no articles in the file")
    return docs


def find_files(paths: list[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files to load, folders walked recursively (hidden entries ignored), and the ones refused."""
    files, skipped = [], []
    for path in paths:
        if not path.exists():
            raise RagError(f"no such file or folder: {path}")
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in candidate.relative_to(path).parts)
                if hidden or candidate.suffix.lower() not in SUPPORTED_SUFFIXES:
                    continue
                if is_special(candidate):
                    skipped.append((str(candidate), "not a regular file (a FIFO, device or socket): not read"))
                elif candidate.is_file():
                    files.append(candidate)
        elif is_special(path):
            skipped.append((str(path), "not a regular file (a FIFO, device or socket): not read"))
        elif path.suffix.lower() in SUPPORTED_SUFFIXES:
            files.append(path)
        else:
            skipped.append((str(path), f"unsupported file type {path.suffix or '(none)'!r}"))
    return files, skipped


def slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text).strip("-") or "doc"


def load_paths(paths: list[str | Path], max_bytes: int = MAX_FILE_BYTES) -> LoadResult:
    """Load every supported file under `paths`, each at most `max_bytes`. Raises RagError only
    for a missing path."""
    files, skipped = find_files([Path(p).expanduser() for p in paths])
    result = LoadResult(skipped=skipped)
    for path in files:
        resolved = path.resolve()
        doc_id = slug(path.stem)
        suffix = path.suffix.lower()
        try:
            if suffix in TEXT_SUFFIXES:
                docs = load_text_file(resolved, doc_id, max_bytes)
            elif suffix in HTML_SUFFIXES:
                docs = load_html_file(resolved, doc_id, max_bytes)
            else:
                docs = load_jsonl_file(resolved, doc_id, result.skipped, max_bytes)
        except Skip as e:
            result.skipped.append((str(path), str(e)))
            continue
        except OSError as e:
            result.skipped.append((str(path), e.strerror or str(e)))
            continue
        result.documents.extend(docs)
    return result
