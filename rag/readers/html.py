"""HTML pages: the article text trafilatura extracts, without what the page hides from readers.

Text an HTML page hides from its readers is dropped before extraction: it is there for
machines, not for people.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..documents import LoadResult, Skip, decode_text, make_document, read_bytes
from ..types import Document

SUFFIXES = {".html", ".htm"}

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


# <meta charset="…"> or <meta http-equiv="Content-Type" content="text/html; charset=…">
META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)
# Labels browsers read as Windows-1252 (the WHATWG encoding standard): pages that say
# Latin-1 are in practice written in it, curly quotes and euro sign included.
WINDOWS_1252_LABELS = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii"}


def declared_charset(data: bytes, header: str | None = None) -> str | None:
    """The encoding a page declares: its HTTP Content-Type's charset (`header`), else a <meta>
    in its first 1024 bytes (where browsers look)."""
    m = None if header else META_CHARSET.search(data[:1024])
    label = header or (m.group(1).decode("ascii", "replace") if m else None)
    if not label:
        return None
    return "cp1252" if label.lower() in WINDOWS_1252_LABELS else label.lower()


def read(path: Path, doc_id: str, found: LoadResult, max_bytes: int) -> list[Document]:
    return [from_html_bytes(read_bytes(path, max_bytes), doc_id, str(path), found)]


def from_html_bytes(data: bytes, doc_id: str, source: str, found: LoadResult, url: str | None = None,
                    charset: str | None = None) -> Document:
    """The article of a page's bytes, decoded by the encoding it declares (`charset`: the HTTP
    header's, for a fetched page), else UTF-8 or a confident guess (noted in `found`)."""
    html = decode_text(data, source, found.notes, declared=declared_charset(data, charset))
    return from_html(html, doc_id, source, url=url)


def from_html(html: str, doc_id: str, source: str, url: str | None = None) -> Document:
    """The article of a page (trafilatura: title, date, canonical URL; boilerplate dropped).
    `url`: where the page was fetched from, when its own canonical link gives none."""
    import trafilatura  # imported here: it is slow to import and only HTML needs it

    html = without_hidden(html)
    extracted = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    text = (extracted.text if extracted else "") or ""
    if not text.strip():
        raise Skip("no article text found in the HTML")
    return make_document(doc_id, extracted.title, text, source, date=extracted.date, url=extracted.url or url,
                         author=extracted.author)
