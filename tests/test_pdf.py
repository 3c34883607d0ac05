"""The PDF reader, on PDFs that reportlab (a real PDF writer) makes in each test."""

import calendar
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.pdfgen import canvas
from reportlab.platypus import BaseDocTemplate, Frame, FrameBreak, PageBreak, PageTemplate, Paragraph

from rag.documents import Skip, load_paths
from rag.readers.pdf import from_pdf_bytes

WIDTH, HEIGHT = A4
HEADER = "The Harbour Gazette - Evening edition"
FOOTER = "Copyright Harbour Gazette Ltd, all rights reserved"
PLACES = ["Livorno", "Genova", "Napoli", "Bari", "Trieste", "Palermo", "Cagliari", "Ancona", "Pisa", "Lecce",
          "Verona", "Parma", "Siena"]
WHO = ["The council", "The port authority", "The mayor", "The unions", "The regional board", "Local traders",
       "The transport minister"]
WHAT = ["the ferry timetable", "the bridge budget", "a dockers' strike", "the new tram line", "the flood barrier",
        "rents near the harbour", "the night buses"]
WHEN = ["on Monday", "after a long session", "despite protests outside", "in a vote of 31 to 12",
        "before the summer", "late on Friday evening"]


def sentence(page: int, n: int) -> str:
    """A made-up news sentence, unique for its page and number."""
    i = page * 17 + n
    return (f"{WHO[i % len(WHO)]} of {PLACES[i % len(PLACES)]} debated {WHAT[(i // 3) % len(WHAT)]} "
            f"{WHEN[(i // 2) % len(WHEN)]}, at meeting {n + 1} of page {page + 1}.")


def write_pages(path: Path, pages: list[list[str]], header: bool = True, **meta) -> Path:
    """A PDF with one paragraph per list item, wrapped to the frame, a running header and a
    footer with a page number in two shapes ("Page 3 of 5" left, "— 3 —" centred)."""
    styles = getSampleStyleSheet()

    def furniture(c, doc):
        if header:
            c.saveState()
            c.setFont("Helvetica", 9)
            c.drawString(72, HEIGHT - 40, HEADER)
            c.drawString(72, 40, FOOTER)
            c.drawString(72, 28, f"Page {doc.page} of {len(pages)}")
            c.drawCentredString(WIDTH / 2, 16, f"— {doc.page} —")
            c.restoreState()

    doc = BaseDocTemplate(str(path), pagesize=A4, **meta)
    doc.addPageTemplates([PageTemplate("one", [Frame(72, 72, WIDTH - 144, HEIGHT - 144)], onPage=furniture)])
    story = []
    for n, paragraphs in enumerate(pages):
        if n:
            story.append(PageBreak())
        story += [Paragraph(text, styles["BodyText"]) for text in paragraphs]
    doc.build(story)
    return path


def skipped_reason(path: Path) -> str:
    result = load_paths([path])
    assert result.documents == [], [d.text[:100] for d in result.documents]
    [(where, why)] = result.skipped
    assert where == str(path)
    return why


def test_pages_are_kept_and_each_sentence_is_on_its_page(tmp_path):
    pages = [[" ".join(sentence(p, n) for n in range(k, k + 4)) for k in (0, 4, 8)] for p in range(5)]
    [doc] = load_paths([write_pages(tmp_path / "harbour.pdf", pages)]).documents
    assert len(doc.pages) == 5 and doc.pages[0] == 0 and doc.pages == sorted(doc.pages)
    for p, paragraphs in enumerate(pages):
        end = doc.pages[p + 1] if p + 1 < len(doc.pages) else len(doc.text)
        for paragraph in paragraphs:
            # a wrapped paragraph is one run of text: its lines joined with spaces
            start = doc.text.index(paragraph)
            assert doc.pages[p] <= start and start + len(paragraph) <= end, (p, paragraph[:40])
    known = sentence(2, 5)  # on page 3
    assert doc.pages[2] <= doc.text.index(known) < doc.pages[3]
    # paragraphs are separated by a blank line, and so are pages
    assert doc.text == "\n\n".join(par for page in pages for par in page)


def test_running_header_footer_and_page_numbers_are_not_indexed(tmp_path):
    pages = [[sentence(p, 0), sentence(p, 1)] for p in range(4)]
    [doc] = load_paths([write_pages(tmp_path / "gazette.pdf", pages)]).documents
    assert doc.text.count("Harbour Gazette") == 0
    assert "Page" not in doc.text and "—" not in doc.text
    assert sentence(3, 1) in doc.text
    # without them the same PDF reads the same text: nothing else was dropped
    [plain] = load_paths([write_pages(tmp_path / "plain.pdf", pages, header=False)]).documents
    assert plain.text == doc.text


def test_two_columns_are_read_column_by_column(tmp_path):
    styles = getSampleStyleSheet()
    path = tmp_path / "columns.pdf"
    gutter, column = 24, (WIDTH - 144 - 24) / 2
    frames = [Frame(72, 72, column, HEIGHT - 144, id="left"),
              Frame(72 + column + gutter, 72, column, HEIGHT - 144, id="right")]
    doc = BaseDocTemplate(str(path), pagesize=A4)
    doc.addPageTemplates([PageTemplate("two", frames)])
    left = [" ".join(sentence(0, n) for n in range(k, k + 3)) for k in range(0, 15, 3)]
    right = [" ".join(sentence(1, n) for n in range(k, k + 3)) for k in range(0, 15, 3)]
    doc.build([Paragraph(t, styles["BodyText"]) for t in left] + [FrameBreak()]
              + [Paragraph(t, styles["BodyText"]) for t in right])
    [read] = load_paths([path]).documents
    offsets = [read.text.index(p) for p in left + right]  # each paragraph whole, lines joined
    assert offsets == sorted(offsets)
    assert max(read.text.index(p) for p in left) < min(read.text.index(p) for p in right)


def test_a_paragraph_going_on_in_the_next_column_stays_one_run_of_text(tmp_path):
    styles = getSampleStyleSheet()
    path = tmp_path / "flow.pdf"
    column = (WIDTH - 144 - 24) / 2
    frames = [Frame(72, 400, column, 300, id="left"), Frame(72 + column + 24, 400, column, 300, id="right")]
    doc = BaseDocTemplate(str(path), pagesize=A4)
    doc.addPageTemplates([PageTemplate("two", frames)])
    long = " ".join(sentence(0, n) for n in range(14))  # longer than the left column
    doc.build([Paragraph(long, styles["BodyText"])])
    [read] = load_paths([path]).documents
    assert read.text == long


def test_hyphenated_line_ends_are_joined(tmp_path):
    path = tmp_path / "hyphen.pdf"
    c = canvas.Canvas(str(path))
    for y, line in zip((700, 686, 672), ("The council approved the new environ-", "mental plan on Monday, after a",
                                         "long and heated debate.")):
        c.drawString(72, y, line)
    c.save()
    [doc] = load_paths([path]).documents
    assert doc.text == "The council approved the new environmental plan on Monday, after a long and heated debate."


def test_title_author_and_date_from_the_metadata(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(calendar.timegm((2025, 11, 9, 12, 0, 0))))  # reportlab's clock
    path = write_pages(tmp_path / "x1.pdf", [[sentence(0, 0)]], title="Ferry strike ends after a week",
                       author="Ada Reporter")
    [doc] = load_paths([path]).documents
    assert (doc.title, doc.author, doc.date) == ("Ferry strike ends after a week", "Ada Reporter", "2025-11-09")


def test_a_title_naming_a_file_gives_way_to_the_largest_line_and_the_date_to_the_text(tmp_path):
    path = tmp_path / "x2.pdf"
    c = canvas.Canvas(str(path))
    c.setTitle("Microsoft Word - bozza_finale.docx")
    c.setFont("Helvetica", 9)
    c.drawString(72, 760, "ECONOMY")  # a kicker above the headline: first, but not the title
    c.setFont("Helvetica-Bold", 22)
    c.drawString(72, 730, "Port of Livorno reopens")
    c.setFont("Helvetica", 11)
    c.drawString(72, 690, "LIVORNO, March 3, 2024 - The port reopened on Monday after the storm.")
    c.save()
    # no /CreationDate: its name changed in place (same length, so the file stays valid)
    path.write_bytes(path.read_bytes().replace(b"/CreationDate", b"/XreationDate"))
    [doc] = load_paths([path]).documents
    assert doc.title == "Port of Livorno reopens"
    assert doc.date == "2024-03-03"
    assert doc.author is None  # reportlab's placeholder "anonymous" is nobody


def test_a_scan_is_skipped_with_the_ocr_advice_and_a_scanned_page_is_noted(tmp_path):
    from PIL import Image

    image = tmp_path / "scan.png"
    Image.new("RGB", (200, 280), "white").save(image)
    scan = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(scan))
    c.drawImage(str(image), 0, 0, WIDTH, HEIGHT)
    c.save()
    assert skipped_reason(scan) == "no text layer (a scanned PDF?): OCR it first"

    mixed = tmp_path / "mixed.pdf"
    c = canvas.Canvas(str(mixed))
    c.drawString(72, 700, sentence(0, 0))
    c.showPage()
    c.drawImage(str(image), 0, 0, WIDTH, HEIGHT)
    c.save()
    result = load_paths([mixed])
    assert [d.text for d in result.documents] == [sentence(0, 0)]
    [(where, note)] = result.notes
    assert where == str(mixed) and note.startswith("page 2: no text layer")


def test_an_encrypted_pdf_is_skipped_and_one_only_closed_to_copying_is_read(tmp_path):
    from reportlab.lib.pdfencrypt import StandardEncryption

    locked = tmp_path / "locked.pdf"
    c = canvas.Canvas(str(locked), encrypt=StandardEncryption("secret", ownerPassword="owner"))
    c.drawString(72, 700, sentence(0, 0))
    c.save()
    why = skipped_reason(locked)
    assert why.startswith("encrypted PDF") and "remove the password" in why

    no_copy = tmp_path / "no-copy.pdf"  # an empty user password: anyone can open it
    c = canvas.Canvas(str(no_copy), encrypt=StandardEncryption("", ownerPassword="owner", canCopy=0))
    c.drawString(72, 700, sentence(0, 0))
    c.save()
    assert [d.text for d in load_paths([no_copy]).documents] == [sentence(0, 0)]


def test_damaged_pdfs_are_skipped_with_a_reason(tmp_path):
    good = write_pages(tmp_path / "good.pdf", [[sentence(0, 0)], [sentence(1, 0)]])
    data = good.read_bytes()
    (tmp_path / "truncated.pdf").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.pdf").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 20)
    (tmp_path / "not-a-pdf.pdf").write_bytes(b"<html><body>Access denied</body></html>")
    (tmp_path / "empty.pdf").write_bytes(b"")
    result = load_paths([tmp_path])
    assert [d.id for d in result.documents] == ["good"]
    reasons = {Path(where).name: why for where, why in result.skipped}
    assert reasons["truncated.pdf"].startswith("damaged PDF") and "truncated" in reasons["truncated.pdf"]
    assert reasons["garbage.pdf"].startswith("damaged PDF, cannot be read (")
    assert reasons["not-a-pdf.pdf"].startswith("not a PDF")
    assert reasons["empty.pdf"] == "empty file"
    with pytest.raises(Skip, match="damaged PDF"):
        from_pdf_bytes(data[: len(data) // 2], "t", "https://example.org/t.pdf")


def test_a_pdf_in_a_folder_is_ingested_with_the_other_articles(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    write_pages(folder / "ferry_strike.pdf", [[sentence(0, 0), sentence(0, 1)]], header=False)
    (folder / "note.txt").write_text("Port news\nThe port reopened on Tuesday.\n", encoding="utf-8")
    result = load_paths([folder])
    assert result.skipped == []
    docs = {d.id: d for d in result.documents}
    assert sorted(docs) == ["ferry_strike", "note"]
    pdf = docs["ferry_strike"]
    assert pdf.source == str((folder / "ferry_strike.pdf").resolve())
    assert pdf.text == f"{sentence(0, 0)}\n\n{sentence(0, 1)}" and pdf.pages == [0] and pdf.lang == "en"
    assert pdf.title == "Ferry strike"  # reportlab's "(anonymous)" says nothing: called after its file


def test_files_over_the_size_cap_are_skipped(tmp_path):
    path = write_pages(tmp_path / "big.pdf", [[sentence(0, 0)]])
    assert "larger than" in load_paths([path], max_bytes=100).skipped[0][1]


def test_from_pdf_bytes_keeps_the_address_it_was_fetched_from(tmp_path):
    # one page: nothing repeats, so no header could be told from the text (header=False)
    data = write_pages(tmp_path / "web.pdf", [[sentence(0, 0)]], header=False, title="Bridge budget approved").read_bytes()
    doc = from_pdf_bytes(data, "web", "https://example.org/web.pdf", url="https://example.org/web.pdf")
    assert (doc.url, doc.title, doc.text) == ("https://example.org/web.pdf", "Bridge budget approved", sentence(0, 0))


def test_a_long_pdf_shows_progress_and_a_short_one_does_not(tmp_path, capsys):
    load_paths([write_pages(tmp_path / "short.pdf", [[sentence(p, 0)] for p in range(3)])])
    assert "Reading short.pdf" not in capsys.readouterr().err
    [doc] = load_paths([write_pages(tmp_path / "long.pdf", [[sentence(p, 0)] for p in range(20)])]).documents
    assert "Reading long.pdf" in capsys.readouterr().err and len(doc.pages) == 20


def test_a_citation_from_a_pdf_names_its_page_in_json_the_card_and_the_report(tmp_path):
    import json

    from conftest import run_rag

    from rag import render
    from rag.factchecker import FactChecker
    from rag.report import report_data, to_markdown
    from rag.settings import Settings

    pages = [[sentence(p, n) for n in range(4)] for p in range(4)]
    pages[2][1] = "The Trieste harbour master counted 4,812 cruise passengers on the third of May."
    folder = tmp_path / "in"
    folder.mkdir()
    write_pages(folder / "bulletin.pdf", pages)
    index = tmp_path / "idx"
    assert run_rag("ingest", "-q", str(folder), "--index", str(index)).returncode == 0
    result = run_rag("ask", "--json", "--backend", "extractive", "--index", str(index),
                     "How many cruise passengers did the Trieste harbour master count?")
    assert result.returncode == 0, result.stderr
    [cited] = [c for c in json.loads(result.stdout)["citations"] if "4,812" in c["text"]]
    assert cited["page"] == 3
    text = run_rag("ask", "--backend", "extractive", "--index", str(index),
                   "How many cruise passengers did the Trieste harbour master count?").stdout
    assert ", p. 3" in text
    bot = FactChecker.open(index)
    answer = bot.ask("How many cruise passengers did the Trieste harbour master count?", backend="extractive")
    assert "p. 3" in render.sources_html(answer, bot.data.documents)
    verdict = bot.check("The Trieste harbour master counted 4,812 cruise passengers.", backend="extractive")
    if any("4,812" in e.text and e.stance == "supports" for e in verdict.evidence):
        assert ", p. 3" in to_markdown(report_data([verdict], Settings.load()))
