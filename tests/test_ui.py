"""The web app served for real (Gradio, in this process) and used through gradio_client:
concurrent users, streaming chat, uploads and their failure modes, searches during an ingest,
and the real check pipeline behind fact-check mode. The index holds the made-up articles of
tests/corpus.py (the seeds are the held-out gold set's)."""

import contextlib
import re
import shutil
import socket
import threading

import pytest
from conftest import assert_one_line_error, run_rag
from corpus import ARTICLES, TITLES

from rag import FactChecker, Settings, render
from rag.store import IndexStore
from rag.types import RagError
from rag.ui import Desk, build, drafting, launch, looks_like_claim, safe_name

gradio_client = pytest.importorskip("gradio_client")

BRIDGE = ("Nuovo ponte sull'Adige\n"
          "Verona, 3 dicembre 2025 – Il consiglio comunale di Verona ha approvato ieri la costruzione di un "
          "nuovo ponte pedonale sul fiume Adige. L'opera costerà 12 milioni di euro e sarà completata entro "
          "il 2028, ha spiegato l'assessore ai lavori pubblici.\n")
BRIDGE_QUESTION = "Quanto costerà il nuovo ponte pedonale sull'Adige a Verona?"
COST = "Quanto è costato il restauro della pinacoteca di Bergamo?"  # the sources: 7 milioni di euro
HOURS = "How long was the Aurora ferry stuck in port?"  # the sources: sei ore


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def index_copy(corpus_index, tmp_path):
    target = tmp_path / "index"
    shutil.copytree(corpus_index, target)
    return target


@contextlib.contextmanager
def serving(index_dir, monkeypatch, **ui):
    """The app on a free local port, and a client for it."""
    settings = Settings.load(index__dir=index_dir)
    settings.ui.port = free_port()
    for key, value in ui.items():
        settings.set(f"ui.{key}", value)
    monkeypatch.setenv("GRADIO_TEMP_DIR", "")  # build() points it into the index; restored afterwards
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    desk = Desk(settings, progress=False)
    demo = build(desk)
    url = launch(demo, settings.ui)
    try:
        yield desk, gradio_client.Client(url, verbose=False)
    finally:
        demo.close()


def _article(folder, name, text=BRIDGE):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _generation(index_dir) -> str:
    return IndexStore(index_dir).current().name


def test_two_users_at_once_each_get_their_own_answer(index_copy, monkeypatch):
    questions = {COST: ("7 milioni",), HOURS: ("sei ore",)}
    results: dict[str, list] = {q: [] for q in questions}
    errors = []
    with serving(index_copy, monkeypatch) as (desk, client):
        start = threading.Barrier(len(questions))

        def user(question):
            try:
                own = gradio_client.Client(client.src, verbose=False)  # a separate session
                start.wait()
                for _ in range(3):
                    results[question].append(own.predict(question, api_name="/ask"))
            except Exception as e:  # reported below, with the question it came from
                errors.append((question, e))

        threads = [threading.Thread(target=user, args=(q,)) for q in questions]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    assert not errors, errors
    for question, expected in questions.items():
        assert len(results[question]) == 3
        for answer in results[question]:
            assert answer["question"] == question
            assert not answer["abstained"] and answer["citations"]
            cited = " ".join(c["text"] for c in answer["citations"])
            assert any(word in cited for word in expected), (question, cited)


def test_chat_streams_the_answer_then_fills_the_sources_panel(index_copy, monkeypatch):
    with serving(index_copy, monkeypatch) as (desk, client):
        job = client.submit(HOURS, [], "Auto", "extractive", "", "", 5, "auto", api_name="/chat")
        updates = list(job)
    chats = [u[0] for u in updates if u[0]]
    assert len(chats) >= 3  # the question with a placeholder, the answer growing, the final answer
    first, final = chats[0][-1]["content"], chats[-1][-1]["content"]
    assert "Searching the articles" in str(first)
    assert "rag-cite" in str(final) and "sei ore" in str(final)
    panel = updates[-1][1]
    assert "<mark>" in panel and "sei ore" in panel
    status = updates[-1][2]
    assert "Answered with quotes from the articles (no language model)" in status
    assert "<details" in status and "extractive backend requested" in status  # why, for who opens it


def test_an_uploaded_article_can_be_removed_and_its_file_goes_with_it(index_copy, tmp_path, monkeypatch):
    source = _article(tmp_path / "desk", "ponte.txt")
    with serving(index_copy, monkeypatch) as (desk, client):
        client.predict([gradio_client.handle_file(str(source))], "", api_name="/add_articles")
        assert not client.predict(BRIDGE_QUESTION, api_name="/ask")["abstained"]
        doc_id = next(d.id for d in desk.current().documents if d.title.startswith("Nuovo ponte"))
        message, articles, header, _ = client.predict(doc_id, api_name="/remove_article")
        assert "Removed “Nuovo ponte sull&#x27;Adige”" in message
        assert f"{len(ARTICLES)} articles indexed" in header and "Nuovo ponte" not in articles
        answer = client.predict(BRIDGE_QUESTION, api_name="/ask")
        assert all(c["doc_id"] != doc_id for c in answer["citations"])
        assert not (index_copy / "uploads" / "ponte.txt").exists()  # a re-ingest will not bring it back
        again, _, _, _ = client.predict(doc_id, api_name="/remove_article")
        assert "no longer in the index" in again
    assert doc_id not in {d.id for d in FactChecker.open(index_copy).documents}


def test_an_uploaded_article_is_stored_inside_the_index_and_answers_questions(index_copy, tmp_path, monkeypatch):
    source = _article(tmp_path / "desk", "ponte adige (bozza).txt")
    with serving(index_copy, monkeypatch) as (desk, client):
        message, articles, _, _, header, choices = client.predict([gradio_client.handle_file(str(source))], "",
                                                              api_name="/add_articles")
        assert "1 added" in message and "Nuovo ponte" in message
        assert f"{len(ARTICLES) + 1} articles indexed" in header
        assert '<td class="rag-doc-title">Nuovo ponte sull&#x27;Adige</td>' in articles
        stored = index_copy / "uploads" / "ponte_adige_bozza.txt"
        assert stored.read_text(encoding="utf-8") == BRIDGE
        assert not any((index_copy / "uploads" / ".incoming").rglob("*.txt"))  # Gradio's copy is gone
        answer = client.predict(BRIDGE_QUESTION, api_name="/ask")
    assert not answer["abstained"]
    assert {c["title"] for c in answer["citations"]} == {"Nuovo ponte sull'Adige"}


def test_bad_uploads_are_refused_with_clear_messages_and_the_index_is_untouched(index_copy, tmp_path, monkeypatch):
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (folder / "report.pdf").write_bytes(b"%PDF-1.4 ...")  # a PDF cut short
    (folder / "huge.txt").write_text("Titolo\n" + "parola " * 2000, encoding="utf-8")
    (folder / "image.txt").write_bytes(bytes(range(256)))
    (folder / "empty.html").write_text("  \n", encoding="utf-8")
    before = _generation(index_copy)
    with serving(index_copy, monkeypatch, max_upload_mb=0.01) as (desk, client):
        message = desk.add([str(p) for p in sorted(folder.iterdir())])
        assert "Nothing was added" in message
        reasons = dict(re.findall(r"<li><b>(.*?)</b>: (.*?)</li>", message))
        for name, why in [("notes.csv", ".csv files are not articles"), ("report.pdf", "PDF"),
                          ("huge.txt", "larger than"), ("image.txt", "binary file"), ("empty.html", "empty")]:
            assert why in reasons[name], (name, reasons)
        assert client.predict(COST, api_name="/ask")["citations"]
    assert _generation(index_copy) == before
    assert not [p for p in (index_copy / "uploads").iterdir() if p.is_file()]


def test_an_upload_shows_an_estimate_and_can_be_cancelled_leaving_the_index_as_it_was(index_copy, tmp_path, monkeypatch):
    long_text = "Ponte sul fiume\n" + " ".join(f"Il cantiere numero {i} del ponte riapre a marzo." for i in range(60))
    article = _article(tmp_path, "cantieri.txt", long_text)
    before = _generation(index_copy)
    with serving(index_copy, monkeypatch) as (desk, client):
        seen = []

        def on_progress(fraction, what):
            seen.append(what)
            if what.startswith("Embedding"):  # the user presses Cancel once embedding has begun
                assert desk.cancel()

        message = desk.add([str(article)], on_progress=on_progress)
        assert "Cancelled" in message and "The index is unchanged" in message
        assert any(re.search(r"Embedding \d+ of \d+ .* about \d+ (s|min) left", w) for w in seen), seen
        assert not desk.cancel()  # nothing is being indexed now
        hits = client.predict("cantiere numero 7", 5, api_name="/search")
        assert not any("cantiere" in h["text"] for h in hits["hits"])
        # the same file goes in when not cancelled
        assert "1 added" in desk.add([str(article)])
    assert _generation(index_copy) != before
    assert [p.name for p in (index_copy / "uploads").iterdir() if p.is_file()] == ["cantieri.txt"]


def test_an_article_already_in_the_index_is_reported_and_not_kept(index_copy, tmp_path, monkeypatch):
    name, text = sorted(ARTICLES.items())[0]
    copy = _article(tmp_path, "same article.txt", text)
    bridge = _article(tmp_path, "ponte.txt")
    with serving(index_copy, monkeypatch) as (desk, client):
        message = desk.add([str(copy), str(bridge)])
        again = desk.add([str(bridge)])
    assert "1 added" in message and f"same text as document {name.removesuffix('.txt')}" in message
    assert sorted(p.name for p in (index_copy / "uploads").iterdir() if p.is_file()) == ["ponte.txt"]
    assert "0 added, 0 updated, 1 unchanged" in again


def test_uploads_never_replace_or_drop_another_article(index_copy, tmp_path, monkeypatch):
    first = _article(tmp_path / "a", "report 1.txt")  # both names become report_1.txt on disk
    second = _article(tmp_path / "b", "report_1.txt", "Mercato coperto\nIl mercato coperto di Trento riapre a marzo.\n")
    later = _article(tmp_path / "c", "report 1.txt", "Nuova piscina\nLa piscina di Rovereto costerà 4 milioni.\n")
    with serving(index_copy, monkeypatch) as (desk, client):
        message = desk.add([str(first), str(second)])
        again = desk.add([str(later)])
        same = desk.add([str(first)])
    assert "2 added" in message and "1 added" in again and "1 unchanged" in same
    files = dict(re.findall(r"<li><b>(.*?)</b>: (.*?)</li>", message))
    assert files["report 1.txt"].startswith("added: Nuovo ponte")
    assert files["report_1.txt"].startswith("added: Mercato coperto") and "report_1-2.txt" in files["report_1.txt"]
    assert "already in the index" in dict(re.findall(r"<li><b>(.*?)</b>: (.*?)</li>", same))["report 1.txt"]
    titles = {d.title for d in FactChecker.open(index_copy).documents}
    assert {"Nuovo ponte sull'Adige", "Mercato coperto", "Nuova piscina"} <= titles
    assert sorted(p.name for p in (index_copy / "uploads").iterdir() if p.is_file()) == [
        "report_1-2.txt", "report_1-3.txt", "report_1.txt"]


@pytest.mark.parametrize("endpoint, args, message", [
    ("/ask", (123,), "the query must be a string, not int"),
    ("/search", ("traghetto", "molti"), "k must be a whole number, not 'molti'"),
    ("/check", ("Il traghetto parte alle sei", "extractive", 2.5), "k must be a whole number, not 2.5"),
    ("/ask", ("Quando parte il traghetto?", "bogus"), "backend must be one of auto, ollama, openai, llamacpp, extractive"),
])
def test_api_misuse_tells_the_client_and_prints_no_traceback(index_copy, monkeypatch, capfd, endpoint, args, message):
    from gradio_client.exceptions import AppError

    with serving(index_copy, monkeypatch) as (desk, client):
        with pytest.raises(AppError, match=re.escape(message)):
            client.predict(*args, api_name=endpoint)
    assert "Traceback" not in capfd.readouterr().err


def test_a_busy_index_gives_a_clear_message_and_the_upload_is_not_kept(index_copy, tmp_path, monkeypatch):
    source = _article(tmp_path / "desk", "ponte.txt")
    with serving(index_copy, monkeypatch) as (desk, client):
        with IndexStore(index_copy).writing():  # someone else is writing (e.g. `rag ingest`)
            message = desk.add([str(source)])
        assert "another process is writing the index" in message and "The index is unchanged" in message
        assert not (index_copy / "uploads" / "ponte.txt").exists()
        assert client.predict(COST, api_name="/ask")["citations"]
        assert "1 added" in desk.add([str(source)])  # and it works once the other writer is done


def test_searches_keep_working_while_an_ingest_runs(index_copy, tmp_path, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    real_write = IndexStore.write

    def slow_write(self, data):  # hold the ingest at its commit point, write lock taken
        entered.set()
        assert release.wait(120)
        return real_write(self, data)

    monkeypatch.setattr(IndexStore, "write", slow_write)
    source = _article(tmp_path / "desk", "ponte.txt")
    second = _article(tmp_path / "desk", "altro.txt", "Altro\nUn altro articolo qualsiasi sul traffico.\n")
    with serving(index_copy, monkeypatch) as (desk, client):
        upload = client.submit([gradio_client.handle_file(str(source))], "", api_name="/add_articles")
        assert entered.wait(120), "the ingest never reached its write"
        during = client.predict(HOURS, api_name="/ask")
        chat_during = list(client.submit(HOURS, [], "Auto", "extractive", "", "", 5, "auto", api_name="/chat"))[-1]
        hits = client.predict("traghetto Aurora", 2, api_name="/search")["hits"]
        busy = desk.add([str(second)])
        assert not upload.done()
        release.set()
        message = upload.result(timeout=120)[0]
        after = client.predict(BRIDGE_QUESTION, api_name="/ask")
    assert any("sei ore" in c["text"] for c in during["citations"])
    assert "still being indexed" in chat_during[2] and "sei ore" in str(chat_during[0][-1]["content"])
    assert len(hits) == 2 and all(h["doc_id"].startswith("traghetto") for h in hits)
    assert "Another upload is being indexed" in busy
    assert "1 added" in message
    assert {c["title"] for c in after["citations"]} == {"Nuovo ponte sull'Adige"}


def test_a_failed_update_puts_the_previous_upload_back(index_copy, tmp_path, monkeypatch):
    first = _article(tmp_path / "v1", "ponte.txt")
    changed = _article(tmp_path / "v2", "ponte.txt", BRIDGE.replace("12 milioni", "15 milioni"))
    with serving(index_copy, monkeypatch) as (desk, client):
        assert "1 added" in desk.add([str(first)])

        def crash(self, data):
            raise RagError("disk full")

        monkeypatch.setattr(IndexStore, "write", crash)
        message = desk.add([str(changed)])
        assert "Nothing was added: disk full. The index is unchanged." in message
        assert (index_copy / "uploads" / "ponte.txt").read_text(encoding="utf-8") == BRIDGE
        hits = client.predict("costo del ponte sull'Adige", 1, api_name="/search")["hits"]
    assert "12 milioni" in hits[0]["text"]
    assert FactChecker.open(index_copy).search("ponte Adige", k=1)[0].text.count("12 milioni") == 1


def test_an_index_written_by_another_process_is_picked_up(index_copy, tmp_path, monkeypatch):
    source = _article(tmp_path / "desk", "ponte.txt")
    with serving(index_copy, monkeypatch) as (desk, client):
        assert run_rag("ingest", str(source), "--index", str(index_copy), "-q").returncode == 0
        answer = client.predict(BRIDGE_QUESTION, api_name="/ask")
    assert {c["title"] for c in answer["citations"]} == {"Nuovo ponte sull'Adige"}


def test_a_read_only_replica_answers_refuses_changes_writes_nothing_and_follows_the_writer(index_copy, tmp_path,
                                                                                            monkeypatch):
    files = lambda: sorted(str(p.relative_to(index_copy)) for p in index_copy.rglob("*"))  # noqa: E731
    before = files()
    source = _article(tmp_path / "desk", "ponte.txt")
    with serving(index_copy, monkeypatch, read_only=True) as (desk, client):
        assert client.predict(COST, api_name="/ask")["citations"]
        for endpoint, args in (("/add_articles", ([gradio_client.handle_file(str(source))], "")),
                               ("/remove_article", (sorted(ARTICLES)[0],))):
            with pytest.raises(Exception, match="Cannot find a function|not a valid"):
                client.predict(*args, api_name=endpoint)
        assert "read-only replica" in desk.add([str(source)]) and "read-only replica" in desk.remove("x")
        assert files() == before  # no uploads/, no Gradio cache, no new generation in the shared folder
        # the writer (here `rag ingest` in another process) adds an article: the replica serves it
        assert run_rag("ingest", str(source), "--index", str(index_copy), "-q").returncode == 0
        answer = client.predict(BRIDGE_QUESTION, api_name="/ask")
    assert {c["title"] for c in answer["citations"]} == {"Nuovo ponte sull'Adige"}


def test_a_read_only_replica_of_no_index_is_one_error_line_and_never_seeds(tmp_path):
    result = run_rag("ui", "--read-only", "--index", str(tmp_path / "none"), "--port", str(free_port()))
    assert_one_line_error(result, "no index")
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("given, safe", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\windows\\evil.MD", "evil.md"),
    (".hidden.txt", "hidden.txt"),
    ("notizia del 3 dicembre (bozza).html", "notizia_del_3_dicembre_bozza.html"),
    ("caffè.jsonl", "caffè.jsonl"),
    ("...", "article"),
])
def test_upload_names_cannot_leave_the_uploads_folder(given, safe):
    assert safe_name(given) == safe


@pytest.mark.parametrize("text, claim", [
    ("Dove si terrà la prima udienza?", False),
    ("Quando riapre la pinacoteca", False),
    ("Where will the hearing be held", False),
    ("La prima udienza si terrà a Pisa", True),
    ("The ferry was stuck for six hours.", True),
])
def test_auto_mode_tells_statements_from_questions(text, claim):
    assert looks_like_claim(text) is claim


def test_ui_bad_port_is_one_line_and_a_non_zero_exit(index_copy):
    assert_one_line_error(run_rag("ui", "--port", "70000", "--index", str(index_copy)), "UI port")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_rag("ui", "--port", str(port), "--index", str(index_copy), timeout=180)
    assert_one_line_error(result, f"cannot listen on 127.0.0.1:{port}")


def test_a_follow_up_in_the_chat_is_answered_about_the_previous_question(index_copy, monkeypatch):
    with serving(index_copy, monkeypatch) as (desk, client):
        first = list(client.submit("Dove si terrà la prima udienza dell’indagine sul traghetto Aurora?", [],
                                   "Auto", "extractive", "", "", 5, "auto", api_name="/chat"))[-1]
        history = first[0]
        follow = list(client.submit("E quando?", history, "Auto", "extractive", "", "", 5, "auto",
                                    api_name="/chat"))[-1]
        english = list(client.submit("E quando?", history, "Auto", "extractive", "", "", 5, "en",
                                     api_name="/chat"))[-1]
        via_api = client.predict("E quando?", "extractive", 5,
                                 ["Dove si terrà la prima udienza dell’indagine sul traghetto Aurora?"], api_name="/ask")
    bubble = str(follow[0][-1]["content"])
    assert "3 febbraio" in bubble and "udienza" in bubble
    assert "udienza" in via_api["resolved_question"] and "3 febbraio" in via_api["answer"]
    assert english[2] and "Understood as" in str(english[0][-1]["content"])


def test_fact_check_mode_renders_the_verdict_the_pipeline_reaches(index_copy, monkeypatch):
    claim = "Il traghetto Aurora è rimasto fermo in porto per 12 ore"  # both reports: sei ore
    expected = FactChecker.open(index_copy).check(claim, backend="extractive")
    assert expected.verdict != "SUPPORTED", [(e.n, e.stance, e.rationale) for e in expected.evidence]
    with serving(index_copy, monkeypatch) as (desk, client):
        checked = list(client.submit(claim, [], "Auto", "extractive", "", "", 5, "auto", api_name="/chat"))[-1]
        asked = list(client.submit(claim + "?", [], "Auto", "extractive", "", "", 5, "auto", api_name="/chat"))[-1]
        forced = list(client.submit("Per quante ore è rimasto fermo il traghetto Aurora?", [], "Fact-check",
                                    "extractive", "", "", 5, "auto", api_name="/chat"))[-1]
        api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        via_api = client.predict(claim, "extractive", 5, api_name="/check")
    bubble, panel = str(checked[0][-1]["content"]), checked[1]
    lang = expected.language  # the reply's words are in the claim's language
    assert render.verdict_badge(expected.verdict, lang=lang) in bubble and "rag-verdict-badge rag-v-supported" not in bubble
    assert f"“{claim}”" in bubble
    assert via_api["verdict"] == expected.verdict  # the UI shows what `check` decides
    # the panel: one card per article with a passage for or against, each stance and rationale shown
    # (articles with no passage for or against are folded away below, still listed)
    documents = {e.doc_id for e in expected.evidence}
    decisive = {e.doc_id for e in expected.evidence if e.stance != "unrelated"}
    assert panel.count('<div class="rag-source" data-doc=') == len(decisive) >= 2
    assert render.ui_text("evidence_from", lang, len(decisive)) in panel
    for doc_id in documents:
        assert render.esc(TITLES[f"{doc_id}.txt"]) in panel
    for e in expected.evidence:
        if e.stance == "refutes":  # what contradicts the claim is the six hours, shown with why
            assert "sei ore" in e.text and render.esc(e.rationale) in panel
            assert render.ui_words("stances", lang)["refutes"] in panel
    assert "rag-verdict-badge" in str(forced[0][-1]["content"])  # the mode forces a check of a question
    assert "rag-verdict" not in str(asked[0][-1]["content"]) and "rag-answer" in str(asked[0][-1]["content"])
    assert "/check" in api


def test_a_model_draft_streams_then_is_replaced_by_the_checked_answer(index_copy, monkeypatch):
    from fake_ollama import FakeOllama

    with FakeOllama() as ollama:
        monkeypatch.setenv("RAG_LLM_OLLAMA_HOST", ollama.host)
        ollama.replies.append("Il restauro è costato 7 milioni di euro a Parigi nel 2030 [1].")  # not what the sources say
        with serving(index_copy, monkeypatch) as (desk, client):
            updates = list(client.submit(COST, [], "Question",
                                         "ollama", "", "", 5, "auto", api_name="/chat"))
            ready = desk.backend_status("ollama")
    down = desk.backend_status("ollama")  # the fake server has stopped
    bubbles = [str(u[0][-1]["content"]) for u in updates if u[0]]
    assert any("rag-draft" in b and "Parigi" in b for b in bubbles)  # the draft, shown as a draft
    final = bubbles[-1]
    answer_text = re.search(r'<div class="rag-text">(.*?)</div>', final).group(1)
    assert "Parigi" not in answer_text and "rag-cite" in answer_text
    assert "rag-draft" not in final and "was rejected" in final  # and the bubble says why
    assert "Answered with quotes from the articles" in updates[-1][2] and "rag-status-warn" in updates[-1][2]
    assert ready == ("Answering with ollama — ollama backend requested "
                     f"(qwen2.5:7b-instruct on Ollama at {ollama.host})", "ok")
    assert down[1] == "error" and "not reachable" in down[0]


def test_a_long_reply_reports_while_it_works_and_stop_ends_the_model_at_its_next_token():
    import time

    stop = threading.Event()
    ended = {}

    def slow_model(on_token):
        try:
            for word in ["uno ", "due ", "tre ", "quattro ", "cinque "]:
                time.sleep(0.2)
                on_token(word)
            return "finito"
        except RagError as e:
            ended["why"] = str(e)
            raise

    seen = []
    with pytest.raises(RagError, match="stopped"):
        for draft, result in drafting(slow_model, poll=0.05, stop=stop):
            seen.append((draft, result))
            if draft.startswith("uno due"):
                stop.set()
    assert ended["why"] == "stopped by the user"
    assert seen[0] == ("", None)  # a report before the first token: the UI can show the time spent
    assert all(result is None for _, result in seen)


def test_a_pasted_paragraph_gets_a_verdict_per_claim_and_a_report_to_download(index_copy, monkeypatch):
    paragraph = ("Il traghetto Aurora è rimasto fermo in porto per sei ore. Secondo me è una vergogna. "
                 "Il restauro della pinacoteca di Bergamo è costato 9 milioni di euro. Chi pagherà i rimborsi?")
    with serving(index_copy, monkeypatch) as (desk, client):
        final = list(client.submit(paragraph, [], "Fact-check", "extractive", "", "", 5, "auto",
                                   api_name="/chat"))[-1]
    bubble, panel = str(final[0][-1]["content"]), final[1]
    assert bubble.count("rag-claim-row") == 2 and "2 affermazioni controllate" in bubble
    assert render.verdict_badge("SUPPORTED", lang="it") in bubble
    assert "un’opinione" in bubble and "una domanda" in bubble  # the sentences not checked, and why
    assert panel.count("rag-claim-evidence") == 2
    report_file, claimreview_file = (item["value"] for item in final[-2:])  # the two download buttons
    assert report_file.endswith(".html") and claimreview_file.endswith(".jsonld")
    html_text = open(report_file, encoding="utf-8").read()
    assert "Il restauro della pinacoteca di Bergamo è costato 9 milioni di euro." in html_text
    reviews = __import__("json").load(open(claimreview_file, encoding="utf-8"))
    assert [r["@type"] for r in reviews] == ["ClaimReview", "ClaimReview"]
