"""Ingesting by address (rag/web.py) and RSS/Atom feeds (rag/readers/feed.py), against a web
server this test starts on 127.0.0.1: never the internet. An autouse guard refuses every
connection and name lookup that is not this machine, so a test that strayed would fail."""

from __future__ import annotations

import http.server
import ipaddress
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import date

import pytest
from conftest import assert_one_line_error, run_rag

import rag
from rag import FactChecker, Settings
from rag.documents import load_paths
from rag.web import Fetcher

BRIDGE = ("The city council approved the new bridge budget of 12 million euros on Monday, after a debate "
          "that lasted most of the night. The vote was 21 to 9. Work on the Adige crossing is expected "
          "to start in spring and to last two years, the mayor told reporters outside the town hall.")
FERRY = ("The ferry to Elba will leave Piombino at 7:40 every morning from next Monday, the shipping company "
         "said on Friday. Tickets will cost 18 euros, two more than last summer, because of fuel prices.")
MUSEUM = ("The archaeological museum of Aosta reopens on Saturday after eighteen months of work on its roof. "
          "Entry will be free for the first weekend, and the Roman mosaics return to the main hall.")


def article(title: str, body: str, canonical: str | None = None, author: str = "Giulia Rossi",
            published: str = "2025-11-03T08:00:00Z") -> bytes:
    """A news page as sites serve it: menu, cookie banner and footer around the article."""
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{title} | Example News</title>{link}
<meta name="author" content="{author}">
<meta property="article:published_time" content="{published}">
<meta property="og:title" content="{title}"></head><body>
<header><nav><a href="/">Home</a> <a href="/sport">Sport</a> <a href="/login">Login</a>
<a href="/subscribe">Subscribe now</a></nav></header>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies.</div>
<main><article><h1>{title}</h1><p class="byline">By {author}</p><p>{body}</p></article></main>
<aside><h3>Most read</h3><ul><li><a href="/x">Celebrity chef opens a new restaurant</a></li></ul></aside>
<footer>Copyright 2025 Example News. All rights reserved. Cookie policy. Privacy.</footer>
</body></html>""".encode("utf-8")


# -- the local web server ------------------------------------------------------------------

@dataclass
class Route:
    body: bytes = b""
    type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before the response starts
    trickle: float = 0.0  # seconds between single bytes of the body
    endless: bool = False  # the body never ends (no Content-Length)


class Site:
    """Routes served by a threaded http.server on 127.0.0.1, port 0; it records each request."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict]] = []  # (path, headers)
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append((self.path, dict(self.headers)))
                route = site.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                try:
                    time.sleep(route.delay)
                    self.send_response(route.status)
                    if route.type:
                        self.send_header("Content-Type", route.type)
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    if not (route.endless or route.trickle):
                        self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    if route.endless:
                        while True:
                            self.wfile.write(b"<p>" + b"more text " * 400 + b"</p>\n")
                    elif route.trickle:
                        for byte in route.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(route.trickle)
                    else:
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on it: what a cap or a timeout does

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False  # a handler still sleeping must not hold up the test
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def add(self, path: str, body: bytes = b"", **kwargs) -> str:
        self.routes[path] = Route(body, **kwargs)
        return self.url(path)

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        return self.add(path, status=status, type="", headers={"Location": to})

    def asked(self) -> list[str]:
        return [path for path, _ in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site():
    s = Site()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Connections and name lookups to anything but this machine fail, as with no network."""
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def local(host) -> bool:
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return host in ("localhost", "")

    def connect(self, address):
        if self.family != socket.AF_UNIX and not local(address[0]):
            raise OSError("network cut by the test")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if not local(host if isinstance(host, str) else ""):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def fetcher(**limits) -> Fetcher:
    return Fetcher(**{"max_bytes": 1024 * 1024, **limits})


def load(addresses, **limits):
    return load_paths(addresses, since=limits.pop("since", None), fetcher=fetcher(**limits))


def reasons(result) -> dict[str, str]:
    return dict(result.skipped)


def free_port() -> int:
    """A port nothing listens on: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- pages -----------------------------------------------------------------------------------

def test_an_article_page_gives_its_text_title_date_author_and_canonical_url_without_boilerplate(site):
    asked = site.add("/2025/11/bridge-budget.html",
                     article("Bridge budget approved", BRIDGE, canonical="https://news.example/2025/bridge-budget"))
    result = load([asked])
    [doc] = result.documents
    assert result.skipped == []
    assert doc.title == "Bridge budget approved"
    assert doc.date == "2025-11-03" and doc.author == "Giulia Rossi"
    assert doc.url == "https://news.example/2025/bridge-budget"  # what a reader is linked to
    assert doc.source == asked  # what is asked for again when re-ingesting
    assert doc.id == "bridge-budget"
    assert "12 million euros" in doc.text and "two years" in doc.text
    for boilerplate in ("Login", "Subscribe", "cookies", "Cookie policy", "Celebrity chef", "All rights reserved"):
        assert boilerplate not in doc.text


def test_the_request_names_the_tool_in_its_user_agent_and_a_setting_changes_it(site, monkeypatch):
    page = site.add("/a", article("Bridge budget approved", BRIDGE))
    load([page])
    assert site.requests[-1][1]["User-Agent"] == f"rag-factcheck/{rag.__version__} (+local fact-checking tool)"
    monkeypatch.setenv("RAG_INDEX_USER_AGENT", "newsroom-bot/2 (+desk@example.org)")
    load_paths([page], fetcher=Fetcher.from_settings(Settings.load().index))
    assert site.requests[-1][1]["User-Agent"] == "newsroom-bot/2 (+desk@example.org)"


def test_a_redirect_chain_is_followed_and_the_final_address_is_the_url(site):
    site.add("/news/ferry-elba", article("New ferry timetable for Elba", FERRY))  # no canonical link
    site.redirect("/middle", "/news/ferry-elba", status=301)
    first = site.redirect("/short/f1", "/middle")
    [doc] = load([first]).documents
    assert doc.source == first and doc.url == site.url("/news/ferry-elba")
    assert "7:40" in doc.text
    assert site.asked() == ["/short/f1", "/middle", "/news/ferry-elba"]


def test_too_many_redirects_and_a_redirect_off_the_web_are_skipped(site):
    loop = site.redirect("/loop", "/loop")
    escape = site.redirect("/escape", "file:///etc/passwd")
    result = load([loop, escape], max_redirects=3)
    assert result.documents == []
    assert reasons(result) == {loop: "more than 3 redirects (index.fetch_max_redirects)",
                               escape: "redirected to an address that is not http:// or https://"}
    assert site.asked().count("/loop") == 4  # the first request and three redirects, no more


def test_http_errors_dns_failure_refused_connection_and_images_are_one_line_each(site):
    missing = site.url("/gone")
    broken = site.add("/broken", b"oops", status=500, type="text/plain")
    image = site.add("/photo", b"\x89PNG\r\n\x1a\n" + b"\0" * 200, type="image/png")
    refused = f"http://127.0.0.1:{free_port()}/article"
    nowhere = "http://news.invalid/article"
    result = load([missing, broken, image, refused, nowhere])
    assert result.documents == []
    assert reasons(result) == {
        missing: "HTTP 404 Not Found",
        broken: "HTTP 500 Internal Server Error",
        image: "not a web page, PDF or feed (content type image/png)",
        refused: f"connection refused by 127.0.0.1:{refused.split(':')[2].split('/')[0]}",
        nowhere: "could not find the host news.invalid (name lookup failed)",
    }
    assert all("\n" not in why for why in reasons(result).values())


def test_a_slow_page_and_a_page_that_trickles_in_hit_the_timeout(site):
    slow = site.add("/slow", article("Bridge budget approved", BRIDGE), delay=2.0)
    # every byte comes quickly, the page never does: the time limit is for the whole download
    trickle = site.add("/trickle", article("Bridge budget approved", BRIDGE), trickle=0.01)
    started = time.monotonic()
    result = load([slow, trickle], timeout=0.4)
    assert time.monotonic() - started < 3.0
    assert result.documents == []
    assert reasons(result) == {slow: "timed out after 0.4 s (index.fetch_timeout)",
                               trickle: "timed out after 0.4 s (index.fetch_timeout)"}


def test_a_page_over_the_size_cap_is_skipped_whether_or_not_it_says_its_length(site):
    big = site.add("/big", article("Bridge budget approved", BRIDGE * 200))  # ~100 kB, with its length
    endless = site.add("/endless", b"", endless=True)  # no length, and no end: reading must stop at the cap
    # says 10 MB up front and then trickles: refused at once, not after a timeout
    declared = site.add("/declared", b"<p>" * 100, trickle=0.05, headers={"Content-Length": str(10 * 2**20)})
    settings = Settings()
    settings.index.max_file_mb = 0.05  # 50 kB
    settings.index.fetch_timeout = 2.0
    started = time.monotonic()
    result = load_paths([big, endless, declared], fetcher=Fetcher.from_settings(settings.index))
    assert result.documents == []
    assert reasons(result) == {big: "larger than 0.05 MB (index.max_file_mb)",
                               endless: "larger than 0.05 MB (index.max_file_mb)",
                               declared: "larger than 0.05 MB (index.max_file_mb)"}
    assert time.monotonic() - started < 1.5


def test_a_page_in_windows_1252_is_decoded_by_its_content_type(site):
    body = article("Caff\u00e8 prices", "Il caff\u00e8 al banco costa ora 1,30 euro, ha detto l\u2019associazione "
                   "dei baristi di Trento, che prevede altri aumenti per l\u2019inverno. " * 3)
    page = site.add("/caffe", body.replace(b'<meta charset="utf-8">', b"").decode("utf-8").encode("cp1252"),
                    type="text/html; charset=iso-8859-1")
    [doc] = load([page]).documents
    assert "Il caff\u00e8 al banco" in doc.text and "l\u2019associazione" in doc.text


def test_a_link_that_is_not_http_is_never_the_documents_url(site, monkeypatch):
    # trafilatura drops a "javascript:" canonical link itself today; shown and linked, it
    # would run in the reader's browser, so web.py must not rely on that
    import rag.readers.html as html_reader
    from rag.documents import make_document

    monkeypatch.setattr(html_reader, "from_html", lambda html, doc_id, source, url=None: make_document(
        doc_id, "Bridge budget approved", BRIDGE, source, url="javascript:alert(document.cookie)"))
    page = site.add("/bridge", article("Bridge budget approved", BRIDGE))
    [doc] = load([page]).documents
    assert doc.url == page


def test_only_http_and_https_addresses_are_fetched(site, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("Secret\nNot to be read through an address.\n", encoding="utf-8")
    refused = [f"file://{secret}", "javascript:alert(1)", "ftp://127.0.0.1/news.txt", "data:text/html,<p>hi</p>"]
    result = load(refused)
    assert result.documents == [] and site.requests == []
    assert [why for _, why in result.skipped] == [
        "only http:// and https:// addresses are fetched, not file: ones",
        "only http:// and https:// addresses are fetched, not javascript: ones",
        "only http:// and https:// addresses are fetched, not ftp: ones",
        "only http:// and https:// addresses are fetched, not data: ones"]


def test_a_pdf_over_http_goes_through_the_pdf_reader(site, tmp_path):
    pytest.importorskip("rag.readers.pdf")
    canvas = pytest.importorskip("reportlab.pdfgen.canvas")
    path = tmp_path / "report.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.drawString(72, 720, "The harbour authority counted 412 cruise ships in 2024, a record.")
    pdf.drawString(72, 700, "Its annual report expects fewer in 2025 because of the new port fees.")
    pdf.save()
    typed = site.add("/reports/harbour", path.read_bytes(), type="application/pdf")
    untyped = site.add("/files/harbour-2024.pdf", path.read_bytes(), type="application/octet-stream")
    result = load([typed, untyped])
    assert result.skipped == []
    by_source = {d.source: d for d in result.documents}
    assert set(by_source) == {typed, untyped}
    for asked, doc in by_source.items():
        assert "412 cruise ships" in doc.text and doc.url == asked


def test_xml_that_is_not_a_feed_is_skipped_with_its_root(site, tmp_path):
    sitemap = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>'
    served = site.add("/sitemap.xml", sitemap, type="application/xml")
    (tmp_path / "sitemap.xml").write_bytes(sitemap)
    result = load([served, tmp_path / "sitemap.xml"])
    assert result.documents == []
    assert [why for _, why in result.skipped] == ["XML, but not an RSS or Atom feed (its root element is <urlset>)"] * 2


# -- feeds -----------------------------------------------------------------------------------

def rss(items: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Example News</title><link>https://news.example/</link>
<description>The latest from Example News</description>{items}</channel></rss>""".encode("utf-8")


def rss_item(title, link, published, body=None, summary="A short teaser.") -> str:
    content = f"<content:encoded><![CDATA[<p>{body}</p><p>Reporting by the newsroom.</p>]]></content:encoded>" if body else ""
    pub = f"<pubDate>{published}</pubDate>" if published else ""
    return (f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>{pub}"
            f"<dc:creator>Marco Bianchi</dc:creator><description>{summary}</description>{content}</item>")


def atom(base: str, entries: list[tuple[str, str, str]]) -> bytes:
    """An Atom feed whose entries only link to their pages (a summary, no content)."""
    body = "".join(f"""<entry><title>{title}</title><link rel="alternate" href="{base}{path}"/>
<id>tag:news.example,2025:{path}</id><updated>{updated}</updated><published>{updated}</published>
<summary>Read the full story on our site.</summary></entry>""" for title, path, updated in entries)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Valley Courier</title><id>tag:news.example,2025:feed</id>
<updated>2025-11-09T10:00:00Z</updated><link rel="self" href="{base}/feed.atom"/>{body}</feed>""".encode("utf-8")


def test_an_rss_file_with_full_content_is_read_from_the_feed_without_fetching(site, tmp_path):
    feed = tmp_path / "example.rss"
    feed.write_bytes(rss(
        rss_item("Bridge budget approved", site.url("/bridge"), "Mon, 03 Nov 2025 08:00:00 GMT", BRIDGE)
        + rss_item("New ferry timetable &amp; fares", site.url("/ferry"), "Fri, 07 Nov 2025 17:30:00 +0100", FERRY)))
    result = load([feed])
    assert result.skipped == [] and site.requests == []  # the text was in the feed: nothing fetched
    docs = {d.id: d for d in result.documents}
    assert set(docs) == {"Example-News-1", "Example-News-2"}
    bridge, ferry = docs["Example-News-1"], docs["Example-News-2"]
    assert (bridge.title, bridge.date, bridge.url, bridge.source) == (
        "Bridge budget approved", "2025-11-03", site.url("/bridge"), site.url("/bridge"))
    assert bridge.author == "Marco Bianchi"
    assert "12 million euros" in bridge.text and "<p>" not in bridge.text and "teaser" not in bridge.text
    assert ferry.title == "New ferry timetable & fares" and ferry.date == "2025-11-07"
    assert "7:40" in ferry.text


def test_an_atom_feed_over_http_has_its_entries_pages_fetched(site):
    site.add("/2025/bridge", article("Bridge budget approved (page title)", BRIDGE))
    site.add("/2025/ferry", article("Ferry page title", FERRY))
    feed = site.add("/feed.atom", atom(site.url(""), [("Bridge budget approved", "/2025/bridge", "2025-11-03T08:00:00Z"),
                                                      ("Ferry to Elba: new times", "/2025/ferry", "2025-11-07T16:30:00Z")]),
                    type="application/atom+xml")
    result = load([feed])
    assert result.skipped == []
    assert site.asked() == ["/feed.atom", "/2025/bridge", "/2025/ferry"]
    bridge, ferry = result.documents
    # the entry's own title, date and link win over the page's
    assert (bridge.id, bridge.title, bridge.date, bridge.url) == (
        "Valley-Courier-1", "Bridge budget approved", "2025-11-03", site.url("/2025/bridge"))
    assert (ferry.id, ferry.title, ferry.date) == ("Valley-Courier-2", "Ferry to Elba: new times", "2025-11-07")
    assert "12 million euros" in bridge.text and "Cookie policy" not in bridge.text
    assert "7:40" in ferry.text and "Read the full story" not in ferry.text


def test_a_feed_served_as_plain_xml_is_recognised_by_its_root_and_a_bad_entry_link_is_skipped_alone(site):
    site.add("/2025/ferry", article("Ferry page title", FERRY))
    feed = site.add("/rss", atom(site.url(""), [("Gone", "/2025/gone", "2025-11-03T08:00:00Z"),
                                                ("Ferry", "/2025/ferry", "2025-11-07T08:00:00Z")]),
                    type="text/xml; charset=utf-8")
    result = load([feed])
    assert [d.title for d in result.documents] == ["Ferry"]
    assert result.skipped == [(site.url("/2025/gone"), "HTTP 404 Not Found")]


def test_a_feed_is_recognised_by_its_content_type_even_when_its_start_cannot_be_read(site):
    # UTF-16: no root element to see in the first bytes, but the server says it is RSS
    utf16 = rss(rss_item("Bridge budget approved", site.url("/bridge"), "Mon, 03 Nov 2025 08:00:00 GMT", BRIDGE))
    utf16 = utf16.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    feed = site.add("/feed.rss", utf16, type="application/rss+xml")
    result = load([feed])
    assert result.skipped == []
    assert [(d.id, d.title) for d in result.documents] == [("Example-News-1", "Bridge budget approved")]


def test_since_keeps_entries_published_on_or_after_it_and_undated_ones_with_a_note(site, tmp_path):
    feed = tmp_path / "courier.xml"  # .xml: read because its root is <rss>
    feed.write_bytes(rss(
        rss_item("Old", site.url("/old"), "Sat, 01 Nov 2025 09:00:00 GMT", BRIDGE)
        + rss_item("On the day", site.url("/day"), "Wed, 05 Nov 2025 00:10:00 GMT", FERRY)
        + rss_item("Undated", site.url("/undated"), None, MUSEUM)))
    result = load([feed], since=date(2025, 11, 5))
    assert [d.title for d in result.documents] == ["On the day", "Undated"]
    assert result.notes == [(str(feed.resolve()), "1 entries published before 2025-11-05 left out (--since)"),
                            (str(feed.resolve()), "1 entries without a date kept despite --since 2025-11-05")]
    assert len(load([feed]).documents) == 3  # without since, all of them


# -- through the API and the command line -----------------------------------------------------

def test_a_batch_with_bad_addresses_ingests_the_good_ones_and_an_unchanged_page_embeds_nothing(site, tmp_path):
    bridge = site.add("/bridge", article("Bridge budget approved", BRIDGE))
    ferry = site.add("/ferry", article("New ferry timetable", FERRY))
    missing = site.url("/missing")
    refused = f"http://127.0.0.1:{free_port()}/x"
    bot = FactChecker(Settings.load(), tmp_path / "idx")
    first = bot.ingest([bridge, missing, ferry, refused], progress=False)
    assert len(first.added) == 2 and first.chunks_embedded > 0
    assert [where for where, _ in first.skipped] == [missing, refused]
    assert first.skipped[0][1] == "HTTP 404 Not Found" and first.skipped[1][1].startswith("connection refused")
    docs = {d.source: d for d in bot.data.documents.values()}
    assert set(docs) == {bridge, ferry}
    assert bot.search("How much will the ferry ticket cost?", k=1)[0].doc_id == docs[ferry].id

    again = bot.ingest([bridge, ferry], progress=False)  # the same pages: nothing to embed
    assert again.chunks_embedded == 0 and sorted(again.unchanged) == sorted(first.added)

    site.add("/ferry", article("New ferry timetable", FERRY.replace("18 euros", "19 euros")))
    changed = bot.ingest([bridge, ferry], progress=False)
    assert changed.updated == [docs[ferry].id] and changed.unchanged == [docs[bridge].id]
    assert changed.chunks_embedded > 0


def test_ingest_refuses_a_since_that_is_not_a_date(tmp_path):
    bot = FactChecker(Settings.load(), tmp_path / "idx")
    with pytest.raises(rag.RagError, match="since must be a date written YYYY-MM-DD"):
        bot.ingest(["https://news.example/"], since="last week", progress=False)


def test_cli_ingests_addresses_and_prints_a_failed_one_on_one_line(site, tmp_path):
    good = site.add("/bridge", article("Bridge budget approved", BRIDGE))
    missing = site.url("/missing")
    result = run_rag("ingest", good, missing, "--index", str(tmp_path / "idx"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "1 added" in result.stdout and "1 skipped" in result.stdout
    [line] = [line for line in result.stderr.splitlines() if missing in line]
    assert line == f"warning: skipped {missing}: HTTP 404 Not Found"


def test_cli_since_filters_a_feeds_entries_and_a_bad_date_is_a_usage_error(site, tmp_path):
    site.add("/2025/bridge", article("Bridge page", BRIDGE))
    site.add("/2025/ferry", article("Ferry page", FERRY))
    feed = site.add("/feed", atom(site.url(""), [("Bridge", "/2025/bridge", "2025-11-03T08:00:00Z"),
                                                 ("Ferry", "/2025/ferry", "2025-11-07T08:00:00Z")]),
                    type="application/atom+xml")
    result = run_rag("ingest", feed, "--since", "2025-11-05", "--index", str(tmp_path / "idx"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["added"] == ["Valley-Courier-2"] and report["skipped"] == []
    assert "/2025/bridge" not in site.asked()  # left out before it was fetched
    assert "1 entries published before 2025-11-05 left out" in result.stderr

    bad = run_rag("ingest", feed, "--since", "5 November", "--index", str(tmp_path / "idx"))
    assert bad.returncode == 2
    assert_one_line_error(bad, "--since", "YYYY-MM-DD")


@pytest.mark.parametrize("variable, value, message", [
    ("RAG_INDEX_FETCH_TIMEOUT", "0", "fetch_timeout must be more than 0"),
    ("RAG_INDEX_FETCH_MAX_REDIRECTS", "-1", "fetch_max_redirects 0 or more"),
    ("RAG_INDEX_USER_AGENT", "bot/1\r\nX-Evil: 1", "user_agent must be one line"),
])
def test_bad_fetch_settings_are_a_clear_error(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(rag.RagError, match=message):
        Settings.load()


def test_pages_are_fetched_before_the_write_lock_is_taken(site, tmp_path):
    """A slow site must not hold up other writers of the index (an upload in the UI, a cron job)."""
    from rag.store import IndexStore

    slow = site.add("/slow", article("Bridge budget approved", BRIDGE), delay=1.0)
    bot = FactChecker(Settings.load(), tmp_path / "idx")
    done = threading.Thread(target=bot.ingest, args=([slow],), kwargs={"progress": False})
    done.start()
    while "/slow" not in site.asked():
        time.sleep(0.01)
    with IndexStore(tmp_path / "idx").writing():  # would be "another process is writing the index"
        pass
    done.join()
    assert [d.source for d in bot.data.documents.values()] == [slow]


def test_a_fetched_article_is_removed_by_its_address_or_the_address_it_is_shown_with(site, tmp_path):
    bridge = site.add("/bridge", article("Bridge budget approved", BRIDGE, canonical="https://news.example/bridge"))
    ferry = site.add("/ferry", article("New ferry timetable", FERRY))
    museum = site.add("/museum", article("Museum reopens", MUSEUM))
    index = str(tmp_path / "idx")
    assert run_rag("ingest", bridge, ferry, museum, "--index", index).returncode == 0
    by_asked = run_rag("remove", ferry, "--index", index)
    by_shown = run_rag("remove", "https://news.example/bridge", "--index", index)
    assert by_asked.returncode == 0 and by_shown.returncode == 0, (by_asked.stderr, by_shown.stderr)
    assert [d.source for d in FactChecker.open(index).documents] == [museum]
    missing = run_rag("remove", site.url("/never-ingested"), "--index", index)
    assert missing.returncode == 1
    assert_one_line_error(missing, "no document", "rag docs")


# -- in the web interface ----------------------------------------------------------------------

def test_the_ui_ingests_pasted_addresses_and_an_uploaded_feed_and_says_what_became_of_each(
        site, corpus_index, tmp_path):
    import re
    import shutil

    from rag.ui import Desk

    index = tmp_path / "index"
    shutil.copytree(corpus_index, index)
    desk = Desk(Settings.load(index__dir=index), progress=False)
    bridge = site.add("/bridge", article("Bridge budget approved", BRIDGE))
    caffe = site.add("/caffe", article("Caff\u00e8 prices", "Il caff\u00e8 al banco costa ora 1,30 euro, ha detto "
                                       "l\u2019associazione dei baristi di Trento. " * 3)
                     .replace(b'<meta charset="utf-8">', b"").decode("utf-8").encode("cp1252"),
                     type="text/html; charset=windows-1252")
    site.add("/2025/ferry", article("Ferry page", FERRY))
    site.add("/2025/museum", article("Museum page", MUSEUM))
    # a feed whose entries only link to their pages: they are fetched by the ingest
    feed = tmp_path / "courier.atom"
    feed.write_bytes(atom(site.url(""), [("Ferry to Elba: new times", "/2025/ferry", "2025-11-07T08:00:00Z"),
                                         ("Museum reopens", "/2025/museum", "2025-11-08T08:00:00Z"),
                                         ("Gone", "/2025/gone", "2025-11-09T08:00:00Z")]))
    missing = site.url("/missing")

    message = desk.add([str(feed)], urls=f"{bridge}\n{caffe}\n{missing}\njavascript:alert(1)\n{bridge}")
    said = re.findall(r"<li><b>(.*?)</b>: (.*?)</li>", message)
    assert said == [
        ("courier.atom", "added: Ferry to Elba: new times, Museum reopens"),
        (bridge, "added: Bridge budget approved"),
        (caffe, "added: Caffè prices"),
        (missing, "not added: HTTP 404 Not Found"),
        (site.url("/2025/gone"), "HTTP 404 Not Found"),  # one entry of the feed
        (caffe, "decoded as windows-1252, not UTF-8"),
        ("javascript:alert(1)", "only http:// and https:// addresses are fetched, not javascript: ones"),
    ]
    assert site.asked().count("/bridge") == 1  # pasted twice, fetched once
    [hit] = desk.current().search("How much will the ferry ticket cost?", k=1)
    assert hit.title == "Ferry to Elba: new times" and hit.url == site.url("/2025/ferry")
    assert (index / "uploads" / "courier.atom").exists()  # kept, like every upload whose articles are in

    again = desk.add([], urls=bridge)
    assert re.findall(r"<li><b>(.*?)</b>: (.*?)</li>", again) == [(bridge, "already in the index, unchanged")]
    assert "Choose one or more files, or paste a web address" in desk.add([], urls="  \n ")
