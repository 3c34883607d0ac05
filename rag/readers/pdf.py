"""PDF files: the text of each page in reading order, as paragraphs the sentence splitter can read.

pdfminer.six (MIT) does the layout analysis: it groups characters into lines and lines into
text boxes, and orders the boxes so that a two-column page is read column by column. On top
of that, this module
- joins the lines of a box into one paragraph (a word hyphenated at a line end is joined), so
  a sentence is one run of text and paragraphs are separated by a blank line;
- drops running headers and footers (a line at the top or bottom of many pages, page numbers
  allowed to change) and page-number-only lines at a page's top or bottom: indexed on every
  page they would be retrieved for every question about the masthead;
- joins pages with a blank line and records where each page starts (Document.pages), so a
  citation, an exact span of Document.text, can be told by its page;
- takes title, author and date from the PDF's metadata when they say something, else the
  title from the first page's largest line and the date from the text (make_document).
A PDF without a text layer (a scan), one that needs a password, or a damaged one is skipped
with the reason (documents.Skip), never a traceback.
"""

from __future__ import annotations

import io
import math
import re
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..documents import LoadResult, Skip, make_document, read_bytes
from ..text import looks_like_heading
from ..types import Document

SUFFIXES = {".pdf"}

PROGRESS_FROM_PAGES = 20  # a shorter PDF is read in a few seconds: no bar
EDGE_LINES = 3  # lines at the top and at the bottom of a page where headers and footers are looked for
RUNNING_SHARE = 0.4  # a line on that share of pages is a running header (0.4: one on odd pages only counts too)

NO_TEXT = "no text layer (a scanned PDF?): OCR it first"
ENCRYPTED = "encrypted PDF: it needs a password to open; remove the password first"

# A page number alone: "3", "- 3 -", "— 3 —", "Page 3", "Page 3 of 10", "3/10", "pag. 3 di 10".
# Only dashes, bars and brackets around it: "2." ending a wrapped sentence is no page number.
PAGE_NUMBER = re.compile(
    r"^[-–—|·•()\[\]<>\s]*(?:(?:page|pag\.|pagina|p\.|seite|página)\s*)?\d{1,4}"
    r"(?:\s*(?:of|di|de|von|sur|/)\s*\d{1,4})?[-–—|·•()\[\]<>\s]*$", re.IGNORECASE)
# Titles that name a file or a template, not the article: "Microsoft Word - bozza.docx", "Untitled".
NOT_A_TITLE = re.compile(
    r"^\W*(?:microsoft\s+\w+\s+-\s|untitled\b|anonymous\b|document\s*\d*$|title$)"
    r"|\.(?:docx?|odt|rtf|pdf|txt|indd|pages|pptx?|xlsx?|html?|qxp)$", re.IGNORECASE)
NO_AUTHOR = {"anonymous", "unknown", "unspecified"}
CID = re.compile(r"\(cid:\d+\)")  # a glyph the font maps to no character: noise, not text
LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
ENDS_SENTENCE = re.compile(r"[.!?…:;]['\"”»’)\]]*$")


@dataclass(eq=False)  # compared by identity: two equal header lines on two pages are two lines
class Line:
    text: str
    top: float  # PDF y grows upwards: the larger, the higher on the page
    size: float  # mean font size of its characters


@dataclass
class Paragraph:
    text: str
    size: float


def read(path: Path, doc_id: str, found: LoadResult, max_bytes: int) -> list[Document]:
    doc, notes = _document(read_bytes(path, max_bytes), doc_id, str(path))
    found.notes.extend((str(path), note) for note in notes)
    return [doc]


def from_pdf_bytes(data: bytes, doc_id: str, source: str, url: str | None = None) -> Document:
    """A PDF served over HTTP (or read by other means) as a Document; raises Skip like `read`."""
    return _document(data, doc_id, source, url)[0]


def _document(data: bytes, doc_id: str, source: str, url: str | None = None) -> tuple[Document, list[str]]:
    """The Document, and notes on the pages left out (a scanned page, a damaged page)."""
    if b"%PDF-" not in data[:1024]:  # where readers look for it: a misnamed or truncated file
        raise Skip("not a PDF (no %PDF- header): damaged, or another format named .pdf")
    metadata, pages, notes = _layout(data, Path(source).name)
    pages = _drop_running_lines(pages)
    paragraphs = [_paragraphs(boxes) for boxes, _ in pages]
    if not any(paragraphs):
        raise Skip(NO_TEXT)
    scanned = [n for n, ((_, image), paras) in enumerate(zip(pages, paragraphs), 1) if image and not paras]
    if scanned:  # the rest of the PDF is read: say what is missing, and how to get it
        notes.append(f"page{'s' * (len(scanned) > 1)} {', '.join(map(str, scanned))}: no text layer (scanned?), "
                     "not indexed; OCR the PDF to index it")

    text, starts = _join_pages([[p.text for p in page] for page in paragraphs])
    title = metadata.get("Title") if _meaningful_title(metadata.get("Title")) else None
    title = title or _title_from_text(paragraphs)
    first = next(p.text for page in paragraphs for p in page)  # the text starts with it
    # a title line that opens the text stays in it (offsets) but out of the body
    body_start = len(first) + 2 if title and _same(first, title) and len(text) > len(first) + 2 else 0
    doc = make_document(doc_id, title, text, source, date=_pdf_date(metadata.get("CreationDate")), url=url,
                        body_start=body_start, author=_author(metadata.get("Author")), pages=starts)
    return doc, notes


def _layout(data: bytes, name: str) -> tuple[dict[str, str], list[tuple[list[list[Line]], bool]], list[str]]:
    """The metadata, and per page its text boxes in reading order (each a list of lines) and
    whether it holds an image. Only the library's calls are guarded: a PDF that cannot be
    opened is a Skip, a page that cannot be read is left out with a note."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams
    from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser
    from pdfminer.psparser import PSEOF
    from tqdm import tqdm

    try:
        # A PDF that only forbids copying (an owner password) opens with the empty password and
        # is read: its reader already has the text on screen.
        document = PDFDocument(PDFParser(io.BytesIO(data)))
        metadata = _metadata(document)
        pdf_pages = list(PDFPage.create_pages(document))
    except PDFPasswordIncorrect:
        raise Skip(ENCRYPTED) from None
    except PDFEncryptionError as e:
        raise Skip(f"encrypted PDF ({e}): remove the password first") from None
    except PSEOF:
        raise Skip("damaged PDF: the file ends too soon (truncated? an unfinished download?)") from None
    # A damaged file breaks the parser in many ways (its own errors, KeyError, TypeError,
    # RecursionError...): every one means "cannot be read", none may stop an ingest.
    except Exception as e:
        raise Skip(f"damaged PDF, cannot be read ({_why(e)})") from None
    if not pdf_pages:
        raise Skip("damaged PDF: no pages found")

    # all_texts: text inside a form XObject (some writers wrap each page in one) is read too;
    # boxes_flow=None: the boxes are put in reading order here (_reading_order), not by pdfminer
    aggregator = PDFPageAggregator(PDFResourceManager(), laparams=LAParams(all_texts=True, boxes_flow=None))
    interpreter = PDFPageInterpreter(aggregator.rsrcmgr, aggregator)
    pages, notes, errors = [], [], []
    with tqdm(pdf_pages, desc=f"Reading {name}", unit="page", file=sys.stderr, leave=False,
              disable=len(pdf_pages) < PROGRESS_FROM_PAGES) as bar:
        for number, page in enumerate(bar, 1):
            try:
                interpreter.process_page(page)
                layout = aggregator.get_result()
            except Exception as e:  # as above: one damaged page leaves out that page only
                errors.append(_why(e))
                notes.append(f"page {number} could not be read ({errors[-1]}): left out")
                pages.append(([], False))
                continue
            pages.append(_boxes(layout))
    if len(errors) == len(pdf_pages):
        raise Skip(f"damaged PDF, no page can be read ({errors[0]})")
    return metadata, pages, notes


def _why(e: Exception) -> str:
    return f"{type(e).__name__}: {e}"[:200] if str(e) else type(e).__name__


def _metadata(document) -> dict[str, str]:
    """The document information dictionary (/Title, /Author, /CreationDate...) as text."""
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    found = {}
    for info in document.info:  # one per trailer: an incrementally updated file has several
        info = resolve1(info)
        if not isinstance(info, dict):  # a damaged dictionary: the pages may still be fine
            continue
        for key, value in info.items():
            value = resolve1(value)
            if isinstance(value, bytes):  # PDFDocEncoding, or UTF-16 with its byte-order mark
                value = decode_text(value)
            if isinstance(value, str) and value.strip("\0 \t\r\n"):
                found[str(key)] = " ".join(value.replace("\0", "").split())
    return found


def _boxes(layout) -> tuple[list[list[Line]], bool]:
    """A page's text boxes in reading order (_reading_order), and whether it holds an image."""
    from pdfminer.layout import LTChar, LTFigure, LTImage, LTTextBox, LTTextLine

    boxes, image = [], False

    def walk(items) -> None:
        nonlocal image
        for item in items:
            if isinstance(item, LTTextBox):
                lines = []
                for line in item:
                    if not isinstance(line, LTTextLine):
                        continue
                    text = " ".join(CID.sub("", line.get_text()).translate(LIGATURES).split())
                    sizes = [c.size for c in line if isinstance(c, LTChar)]
                    if text:
                        lines.append(Line(text, line.y1, statistics.fmean(sizes) if sizes else 0.0))
                if lines:
                    boxes.append((item.bbox, lines))
            elif isinstance(item, LTImage):
                image = True
            elif isinstance(item, LTFigure):  # a form XObject: its text boxes and images
                walk(item)

    walk(layout)
    return _reading_order(boxes), image


def _reading_order(boxes: list[tuple[tuple, list[Line]]]) -> list[list[Line]]:
    """The boxes (bbox, lines) in reading order, by recursive XY-cut: split the boxes where a
    vertical strip of white runs through all of them (a gutter: left column first), else where
    a horizontal one does (top first); a block that no strip divides reads top to bottom.
    The gutter is tried first, so paragraph breaks at the same height in two columns do not
    interleave them; a headline over both columns has no gutter beside it and comes first.
    (pdfminer's own ordering, boxes_flow, reads a short right column before a longer left one.)"""
    if len(boxes) < 2:
        return [lines for _, lines in boxes]
    for axis in (0, 1):  # x, then y
        ordered = sorted(boxes, key=lambda box: box[0][axis])
        split = _gap([(bbox[axis], bbox[axis + 2]) for bbox, _ in ordered])
        if split:
            first, rest = ordered[:split], ordered[split:]
            if axis == 1:  # PDF y grows upwards: the upper part is read first
                first, rest = rest, first
            return _reading_order(first) + _reading_order(rest)
    return [lines for _, lines in sorted(boxes, key=lambda box: (-box[0][3], box[0][0]))]


def _gap(spans: list[tuple[float, float]], overlap: float = 1.0) -> int | None:
    """Where, in spans sorted by start, a gap that none of them covers falls (allowing an
    overlap of a point: a glyph's box can reach past its neighbour's): the index of the
    first span after it, or None."""
    reach = spans[0][1]
    for i, (start, end) in enumerate(spans[1:], 1):
        if start >= reach - overlap:
            return i
        reach = max(reach, end)
    return None


def _drop_running_lines(pages: list[tuple[list[list[Line]], bool]]) -> list[tuple[list[list[Line]], bool]]:
    """The pages without running headers and footers, nor page numbers at their top or bottom.
    A running line is one found among the top or bottom lines of many pages, its numbers
    aside ("Page 3 of 10" and "Page 4 of 10" are the same line), in a text box of its own
    (with the other lines of the header or footer, not with the body's)."""
    def edges(boxes):
        lines = sorted((line for box in boxes for line in box), key=lambda line: -line.top)
        edge = {id(line) for line in lines[:EDGE_LINES] + lines[-EDGE_LINES:]}
        # a line of a text box that reaches into the body is body text, whatever it says
        return [line for box in boxes if all(id(x) in edge for x in box) for line in box]

    def key(line):
        # a header stays where it is, page after page (4 pt: the same line, whatever its digits);
        # a line without a word ("2." ending a sentence) is never a running header
        if re.search(r"[^\W\d_]{2,}", line.text):
            return re.sub(r"\d+", "#", line.text.casefold()), round(line.top / 4)
        return None

    edge_lines = [edges(boxes) for boxes, _ in pages]
    counts = Counter(k for lines in edge_lines for k in {key(line) for line in lines} if k)
    running = {k for k, n in counts.items() if n >= max(2, math.ceil(RUNNING_SHARE * len(pages)))}
    cleaned = []
    for (boxes, image), lines in zip(pages, edge_lines):
        drop = {id(line) for line in lines if key(line) in running or PAGE_NUMBER.match(line.text)}
        boxes = [[line for line in box if id(line) not in drop] for box in boxes]
        cleaned.append(([box for box in boxes if box], image))
    return cleaned


def _paragraphs(boxes: list[list[Line]]) -> list[Paragraph]:
    """A page's paragraphs: a text box's lines joined with spaces, split where the font size
    changes (a heading set close to its text), and a paragraph that goes on in the next box
    (the next column: no sentence end, a lower-case start) joined to it."""
    paragraphs = []
    for box in boxes:
        run = [box[0]]
        for line in box[1:]:
            if abs(line.size - run[-1].size) > 0.15 * max(line.size, run[-1].size):
                paragraphs.append(_paragraph(run))
                run = []
            run.append(line)
        paragraphs.append(_paragraph(run))
    merged = []
    for paragraph in paragraphs:
        if merged and not ENDS_SENTENCE.search(merged[-1].text) and paragraph.text[:1].islower():
            merged[-1] = Paragraph(_join_lines(merged[-1].text, paragraph.text), merged[-1].size)
        else:
            merged.append(paragraph)
    return merged


def _paragraph(lines: list[Line]) -> Paragraph:
    text = lines[0].text
    for line in lines[1:]:
        text = _join_lines(text, line.text)
    return Paragraph(text.replace("\xad", ""), statistics.fmean(line.size for line in lines))


def _join_lines(before: str, after: str) -> str:
    """Two lines of a paragraph; "senti-" + "mento" is one word again (a hyphen before a
    lower-case letter is taken as the line break's, as in most typeset text)."""
    if before[-1:] in "-\xad" and before[-2:-1].isalpha() and after[:1].islower():
        return before[:-1] + after
    return f"{before} {after}"


def _join_pages(pages: list[list[str]]) -> tuple[str, list[int]]:
    """The text (paragraphs and pages separated by a blank line) and where each page starts;
    a page without text starts where the next text would."""
    text, starts = "", []
    for paragraphs in pages:
        page = "\n\n".join(paragraphs)
        if page and text:
            text += "\n\n"
        starts.append(len(text))
        text += page
    return text, starts


def _meaningful_title(title: str | None) -> bool:
    return bool(title) and bool(re.search(r"[^\W\d_]{2,}", title)) and not NOT_A_TITLE.search(title)


def _title_from_text(pages: list[list[Paragraph]]) -> str | None:
    """The first page's heading: its largest line among the first few, when set larger than
    the body text; else its first paragraph when it reads as a heading."""
    first_page = next(page for page in pages if page)[:6]
    body_size = statistics.median(p.size for page in pages for p in page)
    largest = max(first_page, key=lambda p: p.size)
    if largest.size > 1.15 * body_size and len(largest.text) <= 200:
        return largest.text
    return first_page[0].text if looks_like_heading(first_page[0].text) else None


def _author(author: str | None) -> str | None:
    """/Author, unless it is a PDF writer's placeholder (reportlab's "anonymous")."""
    return None if not author or author.casefold() in NO_AUTHOR else author


def _same(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _pdf_date(value: str | None) -> str | None:
    """"D:20251109143000+01'00'" -> "2025-11-09"; None for a missing or broken date."""
    m = re.match(r"(?:D:)?(\d{4})(\d{2})(\d{2})", (value or "").strip())
    try:
        return date(*map(int, m.groups())).isoformat() if m else None
    except ValueError:
        return None
