"""Word documents (.docx): the body's paragraphs and tables as text, one per line, in the
order they appear, with the title, author and date of the document's properties.

Only the body is read: headers, footers, footnotes, comments and text boxes are left out
(they repeat on every page or sit beside the article, not in it).
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

from ..documents import LoadResult, Skip, make_document, read_bytes
from ..types import Document

SUFFIXES = {".docx"}

TITLE_STYLES = {"Title", "Heading 1"}
# A .docx is a zip of XML: refuse one that unzips to far more than the size cap allows (a zip
# bomb), since python-docx holds every part in memory. Text XML compresses about tenfold.
EXPANSION = 10
# python-docx's own blank template carries this author and creation date: a file written
# from it says nothing about who wrote the article or when.
TEMPLATE_AUTHOR, TEMPLATE_CREATED = "python-docx", datetime(2013, 12, 23, 23, 15)


def read(path: Path, doc_id: str, found: LoadResult, max_bytes: int) -> list[Document]:
    document = open_docx(read_bytes(path, max_bytes), max_bytes)
    blocks = list(body_blocks(document))
    if not blocks:
        raise Skip("empty document: no text in its body")
    title, author, date = core_properties(document)
    body_start = 0
    first_text, first_style = blocks[0]
    # A leading Title/Heading 1 paragraph is the title when the properties have none, and is
    # kept out of the body either way when it is the title (as split_title does for text).
    if first_style in TITLE_STYLES and len(blocks) > 1 and (title is None or title == first_text):
        title = first_text
        body_start = len(first_text) + 1
    text = "\n".join(line for line, _ in blocks) + "\n"
    return [make_document(doc_id, title, text, str(path), date=date, author=author, body_start=body_start)]


def open_docx(data: bytes, max_bytes: int):
    """The python-docx Document, or a Skip saying why the bytes are not a readable .docx."""
    import docx  # imported here: only .docx files need it
    from lxml.etree import XMLSyntaxError

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            expanded = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise Skip("not a .docx file: not a zip archive (corrupt, password-protected or another format)") from None
    if "word/document.xml" not in names:
        raise Skip("not a Word document: the archive has no word/document.xml")
    if expanded > EXPANSION * max_bytes:
        raise Skip(f"unzips to more than {EXPANSION * max_bytes / (1024 * 1024):g} MB: not read")
    try:
        return docx.Document(io.BytesIO(data))
    except ValueError as e:  # python-docx: the main part is not a Word document (a renamed .xlsx)
        raise Skip(f"not a Word document ({e})") from None
    except (KeyError, zipfile.BadZipFile, XMLSyntaxError, EOFError) as e:
        raise Skip(f"corrupt Word document ({type(e).__name__}: {e})") from None


def body_blocks(document):
    """(text, style name) of each non-empty paragraph and table row of the body, in order.
    iter_inner_content walks the body's children, so a table stays between the paragraphs
    around it; a table row is one line, its cells joined by " | "."""
    from docx.table import Table

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in table_rows(block):
                yield row, None
        elif text := block.text.strip():
            yield text, getattr(block.style, "name", None)


def table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans: read it once.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(cell_text(cell))
        if any(cells):
            rows.append(" | ".join(c for c in cells if c))
    return rows


def cell_text(cell) -> str:
    """A cell's paragraphs (and any table nested in it) on one line."""
    from docx.table import Table

    parts = []
    for block in cell.iter_inner_content():
        if isinstance(block, Table):
            parts.append("; ".join(table_rows(block)))
        else:
            parts.append(block.text)
    return " ".join(" ".join(parts).split())


def core_properties(document) -> tuple[str | None, str | None, str | None]:
    """(title, author, ISO date) from the document's properties; None for each one missing.
    The date is when the document was created, else last modified."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    try:
        # Asked for properties it does not have, python-docx makes up a default set
        # (title "Word Document", modified now): check that the file has its own first.
        document.part.package.part_related_by(RT.CORE_PROPERTIES)
        props = document.core_properties
        title = (props.title or "").strip() or None
        author = (props.author or "").strip() or None
        created, modified = props.created, props.modified
    except (KeyError, ValueError):  # no properties part, or one python-docx cannot parse
        return None, None, None
    if author == TEMPLATE_AUTHOR:
        author = None
    created, modified = (None if d is None or d.replace(tzinfo=None) == TEMPLATE_CREATED else d
                         for d in (created, modified))
    when = created or modified
    return title, author, when.date().isoformat() if when else None
