"""Plain text and Markdown: the first line is the title when it reads as a heading."""

from __future__ import annotations

from pathlib import Path

from ..documents import LoadResult, make_document, read_text, split_title
from ..types import Document

SUFFIXES = {".txt", ".md", ".markdown"}


def read(path: Path, doc_id: str, found: LoadResult, max_bytes: int) -> list[Document]:
    text = read_text(path, max_bytes, found.notes)
    title, body_start = split_title(text, markdown=path.suffix.lower() != ".txt")
    return [make_document(doc_id, title, text, str(path), body_start=body_start)]
