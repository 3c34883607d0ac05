"""Articles fetched by their address: a web page, a PDF or an RSS/Atom feed over http(s).

`rag ingest https://…` and `FactChecker.ingest([...])` take addresses among paths;
documents.load_paths hands each one here. Addresses are fetched one at a time, each within
the limits of Settings.index: `fetch_timeout` seconds, `max_file_mb` of body (streamed and
abandoned at the cap, never read whole), `fetch_max_redirects` redirects, and a User-Agent
that names the tool, so that a site's owner can tell who is asking. Every failure is a
documents.Skip with a one-line reason: the address is listed in `skipped` with it, and the
rest of the batch goes on.

A fetched article's Document has `source` = the address asked for (re-ingesting it finds the
same document, and an unchanged page embeds nothing) and `url` = the page's canonical address,
else where the redirects ended: the address a reader is shown and linked to.
"""

from __future__ import annotations

import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlsplit

from .documents import LoadResult, Skip, make_document, slug
from .types import Document, RagError

SCHEMES = ("http", "https")
# "javascript:…", "file:///…", "ftp://…"; two letters at least, so "C:\\news" stays a path.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")

HTML_TYPES = {"text/html", "application/xhtml+xml"}
FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+xml"}
XML_TYPES = {"text/xml", "application/xml"}
# Types that say nothing about what the body is: then the body itself is looked at.
UNTYPED = {"", "application/octet-stream", "binary/octet-stream", "application/x-download", "text/plain"}
ACCEPT = ("text/html, application/xhtml+xml, application/pdf, application/rss+xml, application/atom+xml, "
          "application/xml;q=0.9, */*;q=0.1")


def is_url(text) -> bool:
    """An http:// or https:// address: fetched, never looked up on disk."""
    return isinstance(text, str) and re.match(r"^\s*https?://", text, re.IGNORECASE) is not None


def is_address(text) -> bool:
    """An address of any scheme ("https://…", "file:///…", "javascript:…"), not a path: an
    http(s) one always, another only when no file has that name (a file may be called "notes:1")."""
    if is_url(text):
        return True
    return isinstance(text, str) and _SCHEME.match(text) is not None and not os.path.exists(text)


def refusal(address: str) -> str:
    """Why an address that is not http(s) is not fetched."""
    m = _SCHEME.match(address)
    scheme = m.group(1).lower() if m else "this"
    return f"only http:// and https:// addresses are fetched, not {scheme}: ones"


def default_user_agent() -> str:
    from . import __version__

    return f"rag-factcheck/{__version__} (+local fact-checking tool)"


@dataclass
class Page:
    """What one fetch brought back."""

    asked: str  # the address asked for
    url: str  # where the redirects ended
    media_type: str  # the Content-Type without its parameters, lowercased ("" when none)
    charset: str | None  # the Content-Type's charset, when it names one
    data: bytes

    def kind(self) -> str:
        """"html", "pdf" or "feed"; a Skip for anything else (an image, a zip, plain XML).

        The Content-Type decides when it says something; an untyped body (no type,
        application/octet-stream, text/plain) and generic XML are looked at: a feed by its
        root element, a PDF by its "%PDF-" header or an address ending in .pdf."""
        from .readers.feed import FEED_ROOTS, feed_root

        t = self.media_type
        if t in FEED_TYPES:
            return "feed"
        if t == "application/pdf":
            return "pdf"
        if t in HTML_TYPES:
            return "html"
        if t in XML_TYPES or t.endswith("+xml") or t in UNTYPED:
            root = feed_root(self.data)
            if root in FEED_ROOTS:
                return "feed"
            if t in UNTYPED:
                if self.data.startswith(b"%PDF-") or PurePosixPath(urlsplit(self.url).path).suffix.lower() == ".pdf":
                    return "pdf"
                if re.match(rb"\s*(<!doctype html|<html)", self.data[:1024], re.IGNORECASE):
                    return "html"
            if root and t not in UNTYPED:
                raise Skip(f"XML, but not an RSS or Atom feed (its root element is <{root}>)")
        raise Skip(f"not a web page, PDF or feed (content type {t or 'none'})")


class Fetcher:
    """Fetches one address at a time within the ingest's limits (see the module docstring).

    The HTTP client (httpx) is opened on the first fetch and kept for the next ones (one
    connection per site); `close()` ends it, and a later fetch opens a new one."""

    def __init__(self, max_bytes: int, timeout: float = 20.0, max_redirects: int = 5, user_agent: str = ""):
        if not timeout > 0:
            raise RagError(f"fetch_timeout must be more than 0 seconds, got {timeout}")
        if max_redirects < 0:
            raise RagError(f"fetch_max_redirects must be 0 or more, got {max_redirects}")
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.user_agent = user_agent or default_user_agent()
        self._client = None

    @classmethod
    def from_settings(cls, index) -> "Fetcher":
        """A fetcher with the limits of a settings.IndexSettings."""
        return cls(max_bytes=int(index.max_file_mb * 1024 * 1024), timeout=index.fetch_timeout,
                   max_redirects=index.fetch_max_redirects, user_agent=index.user_agent)

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _open(self):
        import httpx  # imported here: only ingesting an address needs it

        if self._client is None:
            self._client = httpx.Client(
                follow_redirects=True, max_redirects=self.max_redirects, timeout=httpx.Timeout(self.timeout),
                headers={"User-Agent": self.user_agent, "Accept": ACCEPT})
        return self._client

    def fetch(self, url: str) -> Page:
        """The body of `url` and what it is, or a Skip saying in one line why not."""
        import httpx

        url = url.strip()
        if not is_url(url):
            raise Skip(refusal(url))
        too_large = f"larger than {self.max_bytes / (1024 * 1024):.4g} MB (index.max_file_mb)"
        started = time.monotonic()
        try:
            with self._open().stream("GET", url) as response:
                if response.status_code >= 400:
                    raise Skip(f"HTTP {response.status_code} {response.reason_phrase}".strip())
                if response.is_redirect:  # a 3xx that names nowhere to go
                    raise Skip(f"HTTP {response.status_code}: a redirect without a Location")
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > self.max_bytes:
                    raise Skip(too_large)  # said up front: not a byte is read
                data = bytearray()
                # iter_bytes undoes gzip and the like: the cap counts what would be kept.
                for piece in response.iter_bytes():
                    data += piece
                    if len(data) > self.max_bytes:
                        raise Skip(too_large)
                    # httpx times each read; a page that trickles in is stopped here, as a whole.
                    if time.monotonic() - started > self.timeout:
                        raise httpx.ReadTimeout("the whole download took too long")
                media_type, charset = _content_type(response.headers.get("content-type", ""))
                return Page(url, str(response.url), media_type, charset, bytes(data))
        except httpx.TimeoutException:
            raise Skip(f"timed out after {self.timeout:g} s (index.fetch_timeout)") from None
        except httpx.TooManyRedirects:
            raise Skip(f"more than {self.max_redirects} redirects (index.fetch_max_redirects)") from None
        except httpx.UnsupportedProtocol:  # the first address is http(s): a redirect went elsewhere
            raise Skip("redirected to an address that is not http:// or https://") from None
        except httpx.ConnectError as e:
            raise Skip(_connect_problem(e, url)) from None
        except httpx.InvalidURL as e:
            raise Skip(f"not a valid address ({first_line(e)})") from None
        except httpx.HTTPError as e:  # the connection broke, a bad response, a TLS failure…
            raise Skip(f"download failed: {first_line(e) or type(e).__name__}") from None


def load_url(url: str, found: LoadResult, fetcher: Fetcher, since=None) -> list[Document]:
    """The article at `url`, or each entry of the feed there (entries published before
    `since`, a datetime.date, left out)."""
    page = fetcher.fetch(url)
    if page.kind() == "feed":
        from .readers import feed

        return feed.from_feed(page.data, url.strip(), address_id(url), found, fetcher, since,
                              base=page.url, content_type=page.media_type)
    return [document_of(page, address_id(url), found)]


def document_of(page: Page, doc_id: str, found: LoadResult) -> Document:
    """The article of a fetched web page or PDF (a feed is not one: a Skip)."""
    kind = page.kind()
    if kind == "feed":
        raise Skip("a feed, not an article")
    if kind == "pdf":
        from .readers.pdf import from_pdf_bytes  # pdfminer: slow to import, only PDFs need it

        doc = from_pdf_bytes(page.data, doc_id, page.asked, url=page.url)
    else:
        from .readers.html import from_html_bytes

        doc = from_html_bytes(page.data, doc_id, page.asked, found, url=page.url, charset=page.charset)
    # A relative canonical link is made whole; one that is not http(s) ("javascript:…") would
    # be a dangerous link to show, so where the page was fetched from stands in.
    link = urljoin(page.url, doc.url) if doc.url else page.url
    if not is_url(link):
        link = page.url
    return restamped(doc, url=link) if link != doc.url else doc


def restamped(doc: Document, **changes) -> Document:
    """`doc` with other title, date, url or author, its content hash made again (they are part
    of it: a feed entry's date that changes is an update)."""
    meta = {"title": doc.title, "date": doc.date, "url": doc.url, "author": doc.author, **changes}
    return make_document(doc.id, meta["title"], doc.text, doc.source, date=meta["date"], url=meta["url"],
                         body_start=doc.body_start, author=meta["author"], pages=doc.pages)


def address_id(url: str) -> str:
    """A document id from an address: its last path segment without the suffix
    (".../2025/11/bridge-budget.html" -> "bridge-budget"), else the host."""
    parts = urlsplit(url.strip())
    name = PurePosixPath(parts.path).stem if parts.path.strip("/") else ""
    return slug(name or parts.hostname or "page")


def _content_type(header: str) -> tuple[str, str | None]:
    media_type, _, params = header.partition(";")
    m = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", params, re.IGNORECASE)
    return media_type.strip().lower(), (m.group(1).lower() if m else None)


def _connect_problem(e: Exception, url: str) -> str:
    """"could not find the host …" for a failed name lookup, "connection refused by …", else
    what the connection error says."""
    try:
        where = e.request.url
        host, port = where.host, where.port or (443 if where.scheme == "https" else 80)
    except (AttributeError, RuntimeError):  # no request attached
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    cause = e
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return f"could not find the host {host} (name lookup failed)"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused by {host}:{port}"
        cause = cause.__cause__ or cause.__context__
    text = first_line(e)
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return f"could not find the host {host} (name lookup failed)"
    if "Connection refused" in text:
        return f"connection refused by {host}:{port}"
    return f"could not connect to {host}: {text or type(e).__name__}"


def first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else ""
