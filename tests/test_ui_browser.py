"""The UI in a real browser: headless Debian chromium, driven by playwright, against `rag ui`
started in its own process on an index it builds itself from the made-up articles of
tests/corpus.py (given as its seeds folder; the real seeds are the held-out gold set's).

Screenshots go to tests/artifacts/ (git-ignored); their paths are printed (pytest -s shows them).
Without /usr/bin/chromium or playwright these tests skip, except under CI, where they fail.
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT
from corpus import ARTICLES, TITLES, write_articles

from rag import render


CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "tests" / "artifacts"
# An article that carries markup: it must be shown as text, never run.
HOSTILE = ("Biblioteca chiusa a Roccabianca\n"
           "Roccabianca, 5 dicembre 2025 – La biblioteca comunale di Roccabianca resterà chiusa fino a marzo "
           'per lavori di ristrutturazione <script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">, '
           "ha annunciato il sindaco.\n")


def _require(ok, reason: str) -> None:
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the browser test")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_home(tmp_path_factory):
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="module")
def app_url(app_home):
    """`rag ui` in its own process, on a fresh index built from the made-up articles plus one."""
    _require(CHROMIUM.exists(), f"no {CHROMIUM} (apt-get install chromium)")
    _require(importlib.util.find_spec("playwright"), "playwright is not installed (pip install playwright)")
    folder = app_home
    seeds = write_articles(folder / "seeds")
    (seeds / "roccabianca.txt").write_text(HOSTILE, encoding="utf-8")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_HOME=str(folder / "home"), RAG_SEEDS_DIR=str(seeds), GRADIO_ANALYTICS_ENABLED="False")
    log = open(folder / "ui.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "rag", "ui", "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 240  # first start: build the index, load the embedder
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"rag ui exited with {process.returncode}:\n{(folder / 'ui.log').read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"rag ui did not answer at {url}:\n{(folder / 'ui.log').read_text()}")
            time.sleep(1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
    assert "running at " + url.rstrip("/") in (folder / "ui.log").read_text()


@pytest.fixture(scope="module")
def browser(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(app_url)
    page.wait_for_selector("#rag-question textarea")
    page.wait_for_selector("#rag-status .rag-status")  # the backend status has arrived
    yield page
    context.close()


def _send(page, text: str) -> None:
    page.fill("#rag-question textarea", text)
    page.click("#rag-send")


def _screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshot: {ARTIFACTS / name}")
    return ARTIFACTS / name


def _screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    print(f"\nscreenshot: {path}")
    return path


def test_a_question_gets_a_cited_answer_and_its_passage(page):
    _send(page, "Quanto è costato il restauro della pinacoteca di Bergamo?")
    page.wait_for_selector("#rag-sources-panel .rag-source mark")
    answer = page.locator("#rag-chat .rag-answer").last
    badges = answer.locator(".rag-cite")
    assert badges.count() >= 1
    assert badges.first.inner_text().strip() == "1"  # numbered in the order the cards are shown
    target = badges.first.get_attribute("href")  # "#rag-src-<this reply's key>-1"
    assert target.startswith("#rag-src-") and target.endswith("-1")
    card = page.locator(f"#rag-sources-panel {target}")
    assert card.count() == 1
    highlighted = card.locator("mark").all_inner_texts()
    assert highlighted and all(any(" ".join(h.split()) in " ".join(t.split()) for t in ARTICLES.values())
                               for h in highlighted)
    assert "7 milioni" in " ".join(highlighted)
    badges.first.click()  # the badge takes the reader to its card, which lights up
    page.wait_for_function(f"location.hash === {json.dumps(target)}")
    assert card.evaluate("el => el.matches(':target')")
    assert card.locator(".rag-source-title").inner_text().strip().lower() == TITLES["pinacoteca.txt"].lower()
    assert "2026-01-20" in card.locator(".rag-source-meta").inner_text()
    assert "Answered with quotes from the articles" in page.inner_text("#rag-status")
    page.wait_for_timeout(300)  # let the last streamed update paint
    _screenshot(page, "ui-ask.png")


def test_an_article_with_markup_is_shown_as_text_never_run(page):
    _send(page, "Fino a quando resterà chiusa la biblioteca comunale di Roccabianca?")
    page.wait_for_selector("#rag-sources-panel .rag-source")
    panel = page.inner_text("#rag-sources-panel")
    assert "Biblioteca chiusa a Roccabianca" in panel
    assert "<script>window.__pwned = 1</script>" in panel  # the markup, as text
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#rag-sources-panel script, #rag-chat script").count() == 0


def test_articles_can_be_added_from_the_browser(page, tmp_path):
    article = tmp_path / "ponte adige.txt"
    article.write_text("Nuovo ponte sull'Adige\nVerona, 3 dicembre 2025 – Il consiglio comunale di Verona ha "
                       "approvato un nuovo ponte pedonale sul fiume Adige, che costerà 12 milioni di euro.\n",
                       encoding="utf-8")
    page.get_by_role("tab", name="Articles").click()
    page.set_input_files("#rag-upload input[type=file]", str(article))
    page.click("#rag-add")
    page.wait_for_selector("#rag-ingest .rag-ingest")
    result = page.inner_text("#rag-ingest")
    assert "1 added" in result and "Nuovo ponte sull'Adige" in result
    assert "Nuovo ponte sull'Adige" in page.inner_text("#rag-articles")
    page.wait_for_timeout(500)  # let the updated outputs fade back in
    _screenshot(page, "ui-articles.png")


def test_a_long_upload_shows_its_progress_and_can_be_cancelled(page, tmp_path):
    article = tmp_path / "cantieri.txt"
    article.write_text("Cantieri aperti a Vigevano\n" + " ".join(
        f"Il cantiere numero {i} di via Roma a Vigevano riapre il {i % 28 + 1} marzo con {i * 3} operai."
        for i in range(900)) + "\n", encoding="utf-8")
    page.get_by_role("tab", name="Articles").click()
    page.set_input_files("#rag-upload input[type=file]", str(article))
    page.click("#rag-add")
    # the estimate shows while it embeds; then the user changes their mind
    page.wait_for_function("document.body.innerText.match(/about \\d+ (s|min) left/)")
    page.click("#rag-cancel-upload")
    page.wait_for_function("document.querySelector('#rag-ingest').innerText.includes('Cancelled')")
    assert "The index is unchanged" in page.inner_text("#rag-ingest")
    assert "Cantieri aperti a Vigevano" not in page.inner_text("#rag-articles")
    _screenshot(page, "ui-upload-cancelled.png")


def test_a_claim_gets_the_pipelines_verdict_with_evidence_per_source(page, app_home):
    claim = "Il traghetto Aurora è rimasto fermo in porto per 12 ore"  # both reports: sei ore
    page.locator("#rag-mode").get_by_text("Fact-check").click()
    _send(page, claim)
    page.wait_for_selector("#rag-chat .rag-verdict .rag-verdict-badge")
    page.wait_for_selector("#rag-sources-panel .rag-sources-head")
    label = page.locator("#rag-chat .rag-verdict-badge").last.inner_text().strip()
    # what `rag check` decides on the same index (the app's: RAG_HOME/index) is what the page shows
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_HOME"] = str(app_home / "home")
    checked = subprocess.run([sys.executable, "-m", "rag", "check", claim, "--backend", "extractive", "--json"],
                             capture_output=True, text=True, env=env, timeout=300)
    assert checked.returncode == 0, checked.stderr
    reply = json.loads(checked.stdout)
    verdict = reply["verdict"]
    assert verdict != "SUPPORTED"  # the sources contradict the claim
    assert label.lower() == render.ui_words("verdicts", reply["language"])[verdict].lower()  # in the claim's language
    assert claim in page.inner_text("#rag-chat")
    assert page.locator("#rag-sources-panel .rag-evidence").count() >= 2
    panel = page.inner_text("#rag-sources-panel")
    assert all(TITLES[name].lower() in panel.lower() for name in ("traghetto-a.txt", "traghetto-b.txt"))
    assert "sei ore" in panel
    page.wait_for_timeout(300)
    _screenshot(page, "ui-check.png")


@pytest.mark.parametrize("width, height, name", [(1280, 800, "laptop"), (390, 844, "phone")])
def test_the_question_box_is_on_the_first_screen_and_the_verdict_stays_in_view(browser, app_url, width, height, name):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(90_000)
    try:
        page.goto(app_url)
        page.wait_for_selector("#rag-status .rag-status")
        box = page.locator("#rag-question textarea").bounding_box()
        send = page.locator("#rag-send").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, box  # no scrolling to reach it
        assert send["y"] + send["height"] <= height, send
        page.screenshot(path=str(_screenshot_path(f"ui-first-screen-{name}.png")))
        _send(page, "Il traghetto Aurora è rimasto fermo in porto per sei ore.")  # Auto mode: a statement is checked
        page.wait_for_selector("#rag-chat .rag-verdict .rag-verdict-badge")
        page.wait_for_timeout(800)  # the streamed bubble settles
        badge = page.locator("#rag-chat .rag-verdict-badge").last.bounding_box()
        assert 0 <= badge["y"] and badge["y"] + badge["height"] <= height, badge  # the verdict is in view
        page.screenshot(path=str(_screenshot_path(f"ui-verdict-{name}.png")))
    finally:
        context.close()


def test_a_follow_up_is_understood_from_the_conversation(page):
    _send(page, "Dove si terrà la prima udienza dell’indagine sul traghetto Aurora?")
    page.wait_for_selector("#rag-chat .rag-answer")
    page.wait_for_function("document.querySelectorAll('#rag-chat .rag-answer').length === 1 && "
                           "!document.querySelector('#rag-chat .rag-pending')")
    _send(page, "E quando?")
    try:
        page.wait_for_function("document.querySelectorAll('#rag-chat .rag-msg:not(.rag-pending)').length === 2",
                               timeout=30_000)
    finally:
        print(page.inner_text("#rag-chat")[-1500:])
    page.wait_for_timeout(500)
    last = page.locator("#rag-chat .rag-msg").last.inner_text()
    assert "Domanda intesa come" in last and "udienza" in last
    assert "3 febbraio" in last
    _screenshot(page, "ui-follow-up.png")


def test_long_work_shows_its_step_and_time_and_stop_ends_it(page):
    # a paragraph of claims takes a few seconds: each is retrieved for and judged in turn
    paragraph = " ".join(f"Il traghetto Aurora è rimasto fermo a Piombino per {n} ore il {n} gennaio."
                         for n in range(2, 14))
    page.locator("#rag-mode").get_by_text("Fact-check").click()
    _send(page, paragraph)
    page.wait_for_function("(document.querySelector('#rag-chat .rag-pending') || {}).innerText"
                           "?.match(/Controllo l’affermazione \\d+ di \\d+… \\d+ s/)")
    page.click("#rag-stop")
    page.wait_for_function("document.querySelector('#rag-chat').innerText.includes('Interrotto')")
    page.wait_for_timeout(1500)  # nothing arrives after the stop
    assert page.locator("#rag-chat .rag-text-check").count() == 0
    _screenshot(page, "ui-stopped.png")
    page.locator("#rag-mode").get_by_text("Question", exact=True).click()
    _send(page, "Quanto è costato il restauro della pinacoteca di Bergamo?")  # and the chat still works
    page.wait_for_selector("#rag-chat .rag-answer")
