"""JSON Lines: one article per line, {"title", "date", "url", "text"}."""

from __future__ import annotations

import json
from pathlib import Path

from ..documents import LoadResult, Skip, make_document, parse_date, read_text
from ..types import Document

SUFFIXES = {".jsonl"}


def read(path: Path, doc_id: str, found: LoadResult, max_bytes: int) -> list[Document]:
    """One article per line: {"title", "date", "url", "text"}; bad lines are skipped, each
    with its file and line number, and the rest of the file still loads."""
    docs, bad_before = [], len(found.skipped)
    for lineno, line in enumerate(read_text(path, max_bytes, found.notes).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            found.skipped.append((where, f"invalid JSON ({e.msg})"))
            continue
        except RecursionError:  # "[[[[…" nested deeper than Python's parser goes
            found.skipped.append((where, "invalid JSON (nested too deeply)"))
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            found.skipped.append((where, 'each line must be an object with a "text" string'))
            continue
        wrong = [k for k in ("title", "date", "url") if record.get(k) is not None and not isinstance(record[k], str)]
        if wrong:
            found.skipped.append((where, f'"{wrong[0]}" must be a string, not {type(record[wrong[0]]).__name__}'))
            continue
        if not record["text"].strip():
            found.skipped.append((where, "empty text"))
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
    if not docs and len(found.skipped) == bad_before:
        raise Skip("no articles in the file")
    return docs
