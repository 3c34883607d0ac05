"""The .docx reader, on files written by python-docx itself (a real writer of the format)."""

import zipfile
from datetime import datetime, timezone

import docx
import pytest

from rag.documents import LoadResult, Skip, load_paths
from rag.readers import reader_for
from rag.readers.docx import read

BODY_1 = "Il comune di Lucca ha chiuso il ponte sul Serchio per lavori fino a maggio."
BODY_2 = "Il traffico è deviato sulla provinciale, con un percorso più lungo di dieci minuti."


def article(path, title_style="Title", props=None):
    """A report: a heading, a paragraph, a table between paragraphs, a closing paragraph."""
    document = docx.Document()
    if title_style == "Title":
        document.add_heading("Ponte chiuso a Lucca", level=0)
    elif title_style == "Heading 1":
        document.add_heading("Ponte chiuso a Lucca", level=1)
    document.add_paragraph(BODY_1)
    table = document.add_table(rows=3, cols=2)
    for row, (a, b) in zip(table.rows, [("Tratto", "Riapertura"), ("Ponte di Monte San Quirico", "maggio"),
                                         ("Via Castracani", "aprile")]):
        row.cells[0].text, row.cells[1].text = a, b
    document.add_paragraph(BODY_2)
    for name, value in (props or {}).items():
        setattr(document.core_properties, name, value)
    document.save(path)
    return path


def load(path, max_bytes=10_000_000):
    return read(path, "doc", LoadResult(), max_bytes)[0]


def test_paragraphs_and_table_rows_are_lines_in_document_order(tmp_path):
    doc = load(article(tmp_path / "ponte.docx"))
    assert doc.text.splitlines() == [
        "Ponte chiuso a Lucca",
        BODY_1,
        "Tratto | Riapertura",
        "Ponte di Monte San Quirico | maggio",
        "Via Castracani | aprile",
        BODY_2,
    ]
    # No title in the properties: the Title paragraph is the title, and the body starts after it.
    assert doc.title == "Ponte chiuso a Lucca"
    assert doc.text[doc.body_start:].startswith(BODY_1)
    assert doc.lang == "it"


def test_a_leading_heading_1_is_the_title_too(tmp_path):
    doc = load(article(tmp_path / "ponte.docx", title_style="Heading 1"))
    assert doc.title == "Ponte chiuso a Lucca"
    assert doc.text[doc.body_start:].startswith(BODY_1)


def test_without_a_heading_the_body_starts_at_the_first_paragraph(tmp_path):
    doc = load(article(tmp_path / "lucca_ponte.docx", title_style=None))
    assert doc.body_start == 0
    assert doc.title == "Lucca ponte"  # named after the file, as a text file without a heading
    # python-docx's blank template's author and 2013 date are not the article's
    assert doc.author is None and doc.date is None


def test_core_properties_give_title_author_and_date(tmp_path):
    created = datetime(2025, 3, 14, 9, 30, tzinfo=timezone.utc)
    doc = load(article(tmp_path / "ponte.docx", props={
        "title": "Lucca, chiuso il ponte sul Serchio", "author": "Giulia Rossi", "created": created,
        "modified": datetime(2025, 3, 20, tzinfo=timezone.utc)}))
    assert (doc.title, doc.author, doc.date) == ("Lucca, chiuso il ponte sul Serchio", "Giulia Rossi", "2025-03-14")
    # The properties' title differs from the heading: the heading stays in the body, as a line.
    assert doc.body_start == 0 and doc.text.startswith("Ponte chiuso a Lucca\n")


def test_the_modified_date_stands_in_for_a_missing_created_date(tmp_path):
    path = article(tmp_path / "ponte.docx", props={"modified": datetime(2025, 4, 2, 8, 0, tzinfo=timezone.utc)})
    document = docx.Document(path)  # remove dcterms:created from the saved properties
    element = document.core_properties._element
    element.remove(element.find("{http://purl.org/dc/terms/}created"))
    document.save(path)
    assert load(path).date == "2025-04-02"


@pytest.mark.parametrize("write, reason", [
    (lambda p: p.write_bytes(b"This is not a zip archive at all, just bytes.\n"), "not a zip archive"),
    (lambda p: zipfile.ZipFile(p, "w").writestr("hello.txt", "hi"), "no word/document.xml"),
])
def test_a_corrupt_docx_is_skipped_with_a_reason(tmp_path, write, reason):
    path = tmp_path / "broken.docx"
    write(path)
    with pytest.raises(Skip, match=reason):
        load(path)


def test_a_zip_whose_document_xml_is_broken_is_skipped(tmp_path):
    path = article(tmp_path / "ponte.docx")
    with zipfile.ZipFile(path) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    parts["word/document.xml"] = parts["word/document.xml"][:200]  # cut off mid-element
    with zipfile.ZipFile(path, "w") as damaged:
        for name, data in parts.items():
            damaged.writestr(name, data)
    with pytest.raises(Skip, match="corrupt Word document"):
        load(path)


def test_an_empty_document_is_skipped(tmp_path):
    path = tmp_path / "vuoto.docx"
    document = docx.Document()
    document.add_paragraph("   ")
    document.add_table(rows=2, cols=2)  # empty cells are no text either
    document.save(path)
    with pytest.raises(Skip, match="empty document"):
        load(path)


def test_files_over_the_size_cap_are_refused(tmp_path):
    path = article(tmp_path / "ponte.docx")
    with pytest.raises(Skip, match="larger than"):
        load(path, max_bytes=path.stat().st_size - 1)


def test_docx_files_load_end_to_end_next_to_the_other_formats(tmp_path):
    article(tmp_path / "ponte.docx", props={"author": "Giulia Rossi"})
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 truncated")
    (tmp_path / "note.txt").write_text("Altra notizia\nIl mercato riapre sabato.\n", encoding="utf-8")
    assert reader_for(tmp_path / "ponte.DOCX") is read
    result = load_paths([tmp_path])
    by_source = {d.source.rsplit("/", 1)[-1]: d for d in result.documents}
    assert sorted(by_source) == ["note.txt", "ponte.docx"]
    assert by_source["ponte.docx"].title == "Ponte chiuso a Lucca"
    assert by_source["ponte.docx"].author == "Giulia Rossi"
    assert "Via Castracani | aprile" in by_source["ponte.docx"].text
    reasons = {name.rsplit("/", 1)[-1]: why for name, why in result.skipped}
    assert "not a zip archive" in reasons["broken.docx"]
