"""RSS and Atom feeds (feedparser): one Document per entry.

An entry that carries its full text (RSS content:encoded, Atom <content>) is read from the
feed, its HTML made text by trafilatura (readers/html.from_html); any other entry's link is
fetched (web.py), a page or a PDF. The entry's own title, date, author and link win over the
page's: they are what the publisher lists. A summary (RSS <description>) is only a teaser, so
it is used only for an entry that has no link to fetch.

Ids: the slug of the feed's title (else of its file or address) and the entry's number,
"Example-News-3"; the index makes them unique when two feeds share a title. Sources: the
entry's link, so the same article ingested by its address or again from tomorrow's feed,
where it has another number, is one document; an entry without a link is `feed#guid`.

`since` (a datetime.date; `rag ingest --since`) keeps entries published on or after it. An
entry whose feed gives no date is kept, since nothing says it is old, and a note says how many
were kept that way.

A `.xml` file is read only when its root element is a feed's (rss, feed, rdf:RDF); another is
skipped with the root it has.
"""

from __future__ import annotations

import html
import io
import re
from datetime import date
from pathlib import Path

from ..documents import LoadResult, Skip, make_document, read_bytes, slug
from ..types import Document
from .. import web

SUFFIXES = {".rss", ".atom", ".xml"}
FEED_ROOTS = {"rss", "feed", "rdf"}  # RSS 2.0, Atom, RSS 1.0 (rdf:RDF)

# What may come before an XML document's root: a byte-order mark, the declaration,
# processing instructions, comments, a DOCTYPE (with an internal subset).
_PROLOG = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(\[.*?\])?\s*>)", re.DOTALL | re.IGNORECASE)
_ROOT = re.compile(rb"\s*<([A-Za-z_][\w.:-]*)")
_TAG = re.compile(r"<[^>]+>")


def feed_root(data: bytes) -> str | None:
    """The local name of the XML root element, lowercased ("rss", "feed", "rdf" for rdf:RDF);
    None when the start of `data` is not XML. Read from the first bytes, no parser: an XML
    parser would have to be kept from fetching entities."""
    head = data[:16384].removeprefix(b"\xef\xbb\xbf")
    pos = 0
    while m := _PROLOG.match(head, pos):
        pos = m.end()
    m = _ROOT.match(head, pos)
    return m.group(1).split(b":")[-1].decode("ascii", "replace").lower() if m else None


def read(path: Path, doc_id: str, found: LoadResult, max_bytes: int, fetcher: web.Fetcher | None = None,
         since: date | None = None) -> list[Document]:
    """A feed file's entries. Without a `fetcher`, an entry whose text is not in the feed is
    skipped, not fetched."""
    return from_feed(_feed_bytes(path, max_bytes), str(path), doc_id, found, fetcher, since)


def check(path: Path, max_bytes: int) -> int:
    """How many entries a feed file lists, or a Skip saying why it is no feed: what an upload
    is checked for before anything is written (the entries' pages are fetched by the ingest)."""
    return len(_parse(_feed_bytes(path, max_bytes)).entries)


def _feed_bytes(path: Path, max_bytes: int) -> bytes:
    data = read_bytes(path, max_bytes)
    root = feed_root(data)
    if root not in FEED_ROOTS:
        raise Skip(f"XML, but not an RSS or Atom feed (its root element is <{root}>)" if root
                   else "not an RSS or Atom feed (no XML root element)")
    return data


def _parse(data: bytes, base: str | None = None, content_type: str | None = None):
    """feedparser's reading of a feed with at least one entry, else a Skip."""
    import feedparser  # imported here: only feeds need it

    headers = {k: v for k, v in (("content-location", base), ("content-type", content_type)) if v}
    # A stream, never a string: feedparser fetches a string that looks like an address itself.
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers or None)
    if not parsed.entries:
        if parsed.get("bozo"):
            raise Skip(f"not a readable feed ({web.first_line(parsed.bozo_exception)})")
        raise Skip("no entries in the feed")
    return parsed


def from_feed(data: bytes, source: str, doc_id: str, found: LoadResult, fetcher: web.Fetcher | None = None,
              since: date | None = None, base: str | None = None, content_type: str | None = None) -> list[Document]:
    """The entries of the feed in `data` (from `source`: a path or the address asked for;
    `base`: the address it came from, which relative links are resolved against)."""
    parsed = _parse(data, base, content_type)
    feed_title = _title(parsed.feed)
    name = slug(feed_title) if feed_title else doc_id
    docs, older, undated = [], 0, 0
    for n, entry in enumerate(parsed.entries, start=1):
        link = (entry.get("link") or "").strip()
        where = link if web.is_url(link) else f"{source}#{entry.get('id') or n}"
        published = entry_date(entry)
        if since is not None and published is None:
            undated += 1
        elif since is not None and published < since:
            older += 1
            continue
        try:
            docs.append(entry_document(entry, f"{name}-{n}", where, found, fetcher, published))
        except Skip as e:
            found.skipped.append((where, str(e)))
    if older:
        found.notes.append((source, f"{older} entries published before {since} left out (--since)"))
    if undated:
        found.notes.append((source, f"{undated} entries without a date kept despite --since {since}"))
    return docs


def entry_date(entry) -> date | None:
    """When the entry was published (else last updated), as the feed says, in UTC."""
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    return date(*stamp[:3]) if stamp else None


def entry_document(entry, doc_id: str, source: str, found: LoadResult, fetcher: web.Fetcher | None,
                   published: date | None) -> Document:
    link = (entry.get("link") or "").strip() or None
    content = _full_content(entry)
    if content is not None:
        value, kind = content
        if kind == "text/plain":
            doc = make_document(doc_id, None, value, source, url=link)
        else:
            from .html import from_html

            doc = from_html(f"<html><body><article>{value}</article></body></html>", doc_id, source, url=link)
    elif link and web.is_url(link):
        if fetcher is None:
            raise Skip("the feed does not carry this entry's text, and its link is not fetched here")
        page = fetcher.fetch(link)
        doc = web.document_of(page, doc_id, found)
    elif (entry.get("summary") or "").strip():
        from .html import from_html

        doc = from_html(f"<html><body><article>{entry['summary']}</article></body></html>", doc_id, source,
                        url=link)
        found.notes.append((source, "only the feed's summary: the entry has no link to fetch"))
    elif link:
        raise Skip(web.refusal(link))
    else:
        raise Skip("the entry has neither text nor a link")
    title = _title(entry) or None
    return web.restamped(doc, title=title or doc.title, date=published.isoformat() if published else doc.date,
                         url=link if web.is_url(link) else doc.url, author=entry.get("author") or doc.author)


def _full_content(entry) -> tuple[str, str] | None:
    """The entry's full text and its type: the longest of its content:encoded / <content>
    values, None when it has none (only a summary, or nothing)."""
    values = [(c.get("value") or "", (c.get("type") or "text/html").lower()) for c in entry.get("content") or []]
    values = [(v, t) for v, t in values if v.strip() and t in ("text/html", "application/xhtml+xml", "text/plain")]
    return max(values, key=lambda vt: len(vt[0])) if values else None


def _title(item) -> str:
    """A feed's or entry's title as text: Atom allows HTML in titles."""
    text = item.get("title") or ""
    if (item.get("title_detail") or {}).get("type") in ("text/html", "application/xhtml+xml"):
        text = html.unescape(_TAG.sub("", text))
    return " ".join(text.split())
