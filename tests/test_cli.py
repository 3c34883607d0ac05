"""The `rag` command as a user runs it: real processes, real index, stdout vs stderr.

The queries about the seeds ask what no item of the held-out gold set (eval/gold.jsonl) asks."""

import json
import tomllib

import pytest
from conftest import ROOT, SEEDS, assert_one_line_error, run_rag


def test_search_builds_the_seed_index_on_first_use_and_prints_json(isolated_home):
    result = run_rag("search", "Quale rischio incombe sul confronto tra Mosca e Washington?", "-k", "3", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert payload["query"] == "Quale rischio incombe sul confronto tra Mosca e Washington?"
    assert [h["rank"] for h in payload["hits"]] == [1, 2, 3]
    top = payload["hits"][0]
    assert set(top) >= {"rank", "doc_id", "title", "chunk_id", "start", "end", "text", "score",
                        "dense_score", "keyword_score"}
    assert "si blocchi a lungo" in top["text"]
    source = (SEEDS / f"{top['doc_id']}.txt").read_text(encoding="utf-8")
    assert source[top["start"] : top["end"]] == top["text"]
    assert "building it from" in result.stderr  # the note goes to stderr, not stdout
    assert (isolated_home / "index" / "CURRENT").exists()


def test_ingest_then_search_in_english_finds_the_italian_passage(tmp_path):
    index = str(tmp_path / "idx")
    ingest = run_rag("ingest", str(SEEDS), "--index", index)
    assert ingest.returncode == 0, ingest.stderr
    assert "2 added" in ingest.stdout
    result = run_rag("search", "Is either side willing to back down over Ukraine?", "--index", index, "-k", "1")
    assert result.returncode == 0, result.stderr
    assert "intenzionato a cedere" in result.stdout
    again = run_rag("ingest", str(SEEDS), "--index", index, "--json")
    report = json.loads(again.stdout)
    assert report["chunks_embedded"] == 0 and len(report["unchanged"]) == 2


def test_progress_bar_for_many_documents_and_quiet_silences_it(tmp_path):
    corpus = tmp_path / "many"
    corpus.mkdir()
    for i in range(5):
        (corpus / f"n{i}.txt").write_text(f"Titolo {i}\nIl mercato di Trento ha aperto {i + 2} nuovi banchi a ottobre.\n",
                                          encoding="utf-8")
    loud = run_rag("ingest", str(corpus), "--index", str(tmp_path / "a"))
    assert "Embedding" in loud.stderr and "Embedding" not in loud.stdout
    quiet = run_rag("ingest", str(corpus), "--index", str(tmp_path / "b"), "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_bad_files_are_warned_about_and_the_rest_ingested(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.txt").write_text("Titolo\nUn articolo vero e proprio.\n", encoding="utf-8")
    (tmp_path / "in" / "empty.txt").write_bytes(b"")
    (tmp_path / "in" / "bin.txt").write_bytes(bytes(range(256)))
    (tmp_path / "in" / "latin.md").write_bytes("caffè\n".encode("latin-1"))
    result = run_rag("ingest", str(tmp_path / "in"), "--index", str(tmp_path / "idx"))
    assert result.returncode == 0, result.stderr
    assert "1 added" in result.stdout and "3 skipped" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 3 and "Traceback" not in result.stderr


def test_the_size_cap_is_set_from_the_environment(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "small.txt").write_text("Ferry news\nThe ferry left at dawn.\n", encoding="utf-8")
    (tmp_path / "in" / "big.txt").write_text("Big article\n" + "The ferry left at dawn. " * 200, encoding="utf-8")
    result = run_rag("ingest", str(tmp_path / "in"), "--index", str(tmp_path / "idx"),
                     env={"RAG_INDEX_MAX_FILE_MB": "0.002"})  # ~2 KB: big.txt is 4.8 KB
    assert result.returncode == 0, result.stderr
    assert "1 added" in result.stdout and "1 skipped" in result.stdout
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "big.txt" in warning and "larger than" in warning
    refused = run_rag("ingest", str(tmp_path / "in"), "--index", str(tmp_path / "idx2"),
                      env={"RAG_INDEX_MAX_FILE_MB": "0"})
    assert refused.returncode != 0 and "max_file_mb" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["ingest", "/no/such/folder"], "no such file or folder"),
        (["search", ""], "query is empty"),
        (["search", "   \n "], "query is empty"),
        (["search", "x" * 5000], "limit is 2000"),
        (["search", "vertice", "-k", "0"], "k must be at least 1"),
        (["docs"], "no index"),
        (["search", "vertice", "--diversity", "2"], "diversity"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(seed_index, tmp_path, args, fragment):
    index = str(tmp_path / "none") if args[0] == "docs" else str(seed_index)
    result = run_rag(*args, "--index", index)
    assert_one_line_error(result, fragment)
    assert result.stdout == ""


@pytest.mark.parametrize("command", [["search", "vertice"], ["ask", "Chi ha parlato?"], ["check", "Il ponte è chiuso."],
                                     ["docs"], ["ui", "--port", "8765"]])
def test_a_mistyped_index_is_an_error_never_a_new_index_from_the_seeds(tmp_path, command):
    typo = tmp_path / "no-such-index"
    result = run_rag(*command, "--index", str(typo), "--backend", "extractive") if command[0] in ("ask", "check") \
        else run_rag(*command, "--index", str(typo))
    assert_one_line_error(result, "no index at")
    assert f"rag ingest PATH --index {typo}" in result.stderr  # the hint: how to make one
    assert not typo.exists()  # nothing was built there (and the UI never started to listen)


def test_only_unreadable_files_is_an_error(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    result = run_rag("ingest", str(tmp_path / "empty.txt"), "--index", str(tmp_path / "idx"))
    assert_one_line_error(result, "no documents to ingest")
    assert not (tmp_path / "idx" / "CURRENT").exists()


def test_bad_setting_in_environment(seed_index):
    result = run_rag("search", "vertice", "--index", str(seed_index), env={"RAG_RETRIEVAL_K": "many"})
    assert_one_line_error(result, "RAG_RETRIEVAL_K must be a number")


def test_changing_chunking_of_an_existing_index_needs_rebuild(seed_index):
    result = run_rag("ingest", str(SEEDS), "--index", str(seed_index), "--chunk-size", "300")
    assert_one_line_error(result, "--rebuild")


def test_usage_errors_are_one_line(seed_index):
    result = run_rag("search")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_docs_lists_documents(seed_index):
    result = run_rag("docs", "--index", str(seed_index), "--json")
    docs = json.loads(result.stdout)["documents"]
    assert {d["id"]: d["date"] for d in docs} == {"000_6d133049264667af": "2025-11-09",
                                                  "004_c01f252e05a51422": "2025-11-09"}


def test_every_command_has_help():
    for command in ("ingest", "search", "docs", "remove"):
        result = run_rag(command, "--help")
        assert result.returncode == 0 and "usage: rag" in result.stdout


def test_sources_are_named_by_title_date_and_address_not_by_internal_ids(tmp_path):
    articles = tmp_path / "batch-1.jsonl"
    articles.write_text(json.dumps({
        "title": "Chiude il ponte di Lucca", "date": "2026-02-03", "url": "https://giornale.example/lucca-ponte",
        "text": "Lucca, 3 febbraio 2026 – Il comune di Lucca ha chiuso il ponte sul Serchio per lavori fino a maggio."}) + "\n",
        encoding="utf-8")
    index = tmp_path / "index"
    assert run_rag("ingest", "-q", "--index", str(index), str(articles)).returncode == 0
    result = run_rag("ask", "--index", str(index), "--backend", "extractive", "Fino a quando resterà chiuso il ponte di Lucca?")
    assert result.returncode == 0, result.stderr
    assert "[1] Chiude il ponte di Lucca (2026-02-03) · https://giornale.example/lucca-ponte" in result.stdout
    assert "batch-1" not in result.stdout


def test_version_prints_the_version_pyproject_declares():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    result = run_rag("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"rag {version}\n"
