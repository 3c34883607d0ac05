"""One reader per file format, each a module with `SUFFIXES` and
`read(path, doc_id, found, max_bytes) -> list[Document]`, all returning the one Document shape
(types.py). A reader raises documents.Skip with the reason a file cannot be loaded, appends
(where, why) to `found.skipped` for the parts of a file it leaves out (a bad JSONL line) and
(where, what) to `found.notes` for what it read with a caveat (`found`: a documents.LoadResult).
A feed's reader also takes `fetcher` and `since` (keywords): its entries may link to pages to
fetch, and `rag ingest --since` picks among them (documents.load_paths passes them).

Modules are imported when a file of theirs is met: PDF and HTML libraries are slow to import.
"""

from __future__ import annotations

import importlib
from pathlib import Path

# suffix -> reader module; a new format is a module here and a line in this table
FORMATS = {
    ".txt": "plain", ".md": "plain", ".markdown": "plain",
    ".html": "html", ".htm": "html",
    ".jsonl": "jsonl",
    ".docx": "docx",
    ".pdf": "pdf",
    # RSS/Atom; a .xml file is read only when its root is a feed's, else skipped saying so
    ".rss": "feed", ".atom": "feed", ".xml": "feed",
}
SUPPORTED_SUFFIXES = frozenset(FORMATS)


def reader_for(path: Path):
    """The `read` function for this file's format, or None when the format is not read."""
    name = FORMATS.get(path.suffix.lower())
    return importlib.import_module(f"{__name__}.{name}").read if name else None
