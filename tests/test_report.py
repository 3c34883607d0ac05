"""Fact-check reports (`rag check --report`, rag/report.py) and ClaimReview JSON-LD, on the made-up
articles of tests/corpus.py written as JSONL with a title, date and URL each (the .txt files of the
shared fixture have no URL). Never the seeds or the gold set."""

import dataclasses
import html
import importlib.metadata
import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import ROOT, assert_one_line_error, run_rag
from corpus import ARTICLES

from rag import FactChecker, Settings
from rag import report
from rag.types import RagError

DATES = {"traghetto-a.txt": "2026-01-12", "traghetto-b.txt": "2026-01-13", "pinacoteca.txt": "2026-01-20"}
URLS = {
    "traghetto-a.txt": "https://news.example.org/traghetto-aurora?id=1&src=a",
    "traghetto-b.txt": "http://elba.example.com/sei-ore",
    "pinacoteca.txt": "javascript:alert(1)",  # an article's URL is untrusted input: never a link
}
# One claim per verdict, on the made-up articles (340 or 410 passengers; Livorno or Grosseto).
CLAIMS = {
    "SUPPORTED": "Il traghetto Aurora è rimasto fermo per sei ore nel porto di Piombino.",
    "REFUTED": "Il restauro della pinacoteca di Bergamo è costato 9 milioni di euro.",
    "CONFLICTING": "La prima udienza dell'indagine si terrà il 3 febbraio a Livorno.",
    "NOT_ENOUGH_INFO": "Il sindaco di Firenze si è dimesso.",
}
DISPUTED = CLAIMS["CONFLICTING"]  # quotes a source for and a source against: the report's test case


@pytest.fixture(scope="module")
def url_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report-corpus")
    lines = []
    for name, text in ARTICLES.items():
        title, body = text.split("\n", 1)
        lines.append(json.dumps({"title": title, "date": DATES[name], "url": URLS[name], "text": body},
                                ensure_ascii=False))
    (folder / "articles.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    FactChecker.build([folder / "articles.jsonl"], folder / "idx", progress=False)
    return folder / "idx"


@pytest.fixture(scope="module")
def verdicts(url_index):
    bot = FactChecker.open(url_index)
    return {label: bot.check(claim, backend="extractive") for label, claim in CLAIMS.items()}


def decisive(verdict):
    return [e for e in verdict.evidence if e.stance in ("supports", "refutes")]


def test_the_claims_reach_the_verdicts_the_report_tests_rely_on(verdicts):
    assert {label: v.verdict for label, v in verdicts.items()} == {label: label for label in CLAIMS}
    stances = {e.stance for e in decisive(verdicts["CONFLICTING"])}
    assert stances == {"supports", "refutes"}
    assert all(e.url for e in decisive(verdicts["CONFLICTING"]))


# -- the report through the real command line -----------------------------------------------------


def _visible(kind: str, text: str) -> str:
    """How a value shows in a report of that kind."""
    if kind == "html":
        return html.escape(text, quote=True)
    if kind == "md":
        return " ".join(text.split())  # the test's texts hold no Markdown punctuation
    return text


@pytest.mark.parametrize("kind", ["md", "html", "json"])
def test_report_has_claim_verdict_quoted_evidence_sources_version_and_settings(kind, url_index, verdicts, tmp_path):
    out = tmp_path / f"report.{kind}"
    result = run_rag("check", DISPUTED, "--index", str(url_index), "--backend", "extractive", "-k", "4",
                     "--report", str(out), "--format", "json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)  # stdout is still the verdict, as --format asked
    assert printed["verdict"] == "CONFLICTING"
    assert f"report written to {out}" in result.stderr
    text = out.read_text(encoding="utf-8")
    version = importlib.metadata.version("rag-factcheck")
    evidence = [e for e in printed["evidence"] if e["stance"] != "unrelated"]
    unrelated = [e for e in printed["evidence"] if e["stance"] == "unrelated"]
    assert {e["stance"] for e in evidence} == {"supports", "refutes"}

    if kind == "json":
        data = json.loads(text)
        assert data["version"] == version
        generated = datetime.fromisoformat(data["generated"].replace("Z", "+00:00"))
        assert generated.tzinfo is not None and generated.utcoffset() == timedelta(0)
        assert abs(datetime.now(timezone.utc) - generated) < timedelta(minutes=10)
        s = data["settings"]
        assert s["k"] == 4 and s["llm"]["backend"] == "extractive"  # what -k and --backend made it
        assert s["judge"]["name"] == "nli-e5-small" and s["judge"]["sha256"]
        assert s["thresholds"] == {"entail": 0.6, "contradict": 0.8, "clash_contradiction": 0.25, "related": 0.86}
        [claim] = data["claims"]
        assert claim["claim"] == DISPUTED and claim["verdict"] == "CONFLICTING" and claim["rating"] == "Disputed"
        assert claim["explanation"] == printed["answer"] and claim["backend"] == "extractive"
        assert claim["unrelated"] == len(unrelated)  # counted, not listed
        keys = ("n", "stance", "text", "rationale", "title", "date", "url")
        assert [[e[k] for k in keys] for e in claim["evidence"]] == [[e[k] for k in keys] for e in evidence]
        assert data["skipped"] == []
        return

    assert _visible(kind, DISPUTED) in text
    assert "CONFLICTING" in text and "Disputed" in text
    assert version in text and "nli-e5-small" in text and "0.86" in text
    assert re.search(r"\(k\): 4\b", text)
    for e in evidence:
        assert _visible(kind, e["text"]) in text  # the quoted passage, whole
        assert _visible(kind, e["rationale"]) in text
        assert _visible(kind, e["title"]) in text and e["date"] in text
        assert _visible(kind, e["url"]) in text
    for e in unrelated:
        assert _visible(kind, e["text"]) not in text
    assert f"{len(unrelated)} other retrieved passage(s)" in text
    if kind == "html":
        assert text.startswith("<!DOCTYPE html>") and "<style>" in text
        assert '<section id="claim-1">' in text
        for e in evidence:
            assert f'<a href="{html.escape(e["url"])}"' in text


def test_html_escapes_a_claim_with_a_script_tag(url_index, tmp_path):
    claim = "<script>alert('x')</script> Il traghetto Aurora è rimasto fermo per sei ore."
    out = tmp_path / "report.html"
    result = run_rag("check", claim, "--index", str(url_index), "--backend", "extractive", "--report", str(out))
    assert result.returncode == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert html.escape(claim, quote=True) in page
    assert "default-src 'none'" in page  # and a policy that would stop a script anyway


def test_api_report_escapes_everything_and_links_only_http(verdicts):
    settings = Settings.load()
    hostile = dataclasses.replace(verdicts["REFUTED"], claim='<img src=x onerror="alert(1)"> & <b>bold</b>')
    data = report.report_data([hostile], settings)
    page = report.to_html(data)
    assert "<img" not in page and "<b>" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "javascript:" not in page  # the gallery's URL: its title is shown, not linked
    assert "<cite>Riapre la pinacoteca di Bergamo</cite>" in page
    markdown = report.to_markdown(data)
    assert "\\<img" in markdown and not re.search(r"(?<!\\)<", markdown)  # every < escaped: literal text
    assert "javascript:" not in markdown
    assert "*Riapre la pinacoteca di Bergamo*" in markdown
    assert data["claims"][0]["evidence"][0]["url"] == "javascript:alert(1)"  # the data keeps it as it was


def test_api_report_lists_several_claims_and_the_sentences_not_checked(verdicts):
    settings = Settings.load()
    chosen = [verdicts["SUPPORTED"], verdicts["NOT_ENOUGH_INFO"]]
    skipped = [{"text": "Che giornata!", "why": "not a claim of fact"}]
    data = report.report_data(chosen, settings, skipped)
    assert [c["n"] for c in data["claims"]] == [1, 2]
    assert [c["verdict"] for c in data["claims"]] == ["SUPPORTED", "NOT_ENOUGH_INFO"]
    assert data["claims"][1]["evidence"] == [] and data["skipped"] == skipped
    assert json.loads(report.to_json(data)) == data
    for text in (report.to_markdown(data), report.to_html(data)):
        assert "Not checked" in text and "Che giornata!" in text and "not a claim of fact" in text
        assert "No retrieved passage supports or refutes the claim." in text
    assert '<section id="claim-2">' in report.to_html(data)
    assert "Not checked" not in report.to_markdown(report.report_data(chosen, settings))


def test_split_writes_one_report_of_every_claim_and_the_sentences_not_checked(url_index, tmp_path):
    text = f"{CLAIMS['SUPPORTED']} Che bella giornata! {CLAIMS['REFUTED']}"
    out = tmp_path / "report.json"
    result = run_rag("check", "--split", text, "--index", str(url_index), "--backend", "extractive",
                     "--report", str(out), "-q")
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [(c["n"], c["claim"], c["verdict"]) for c in data["claims"]] == [
        (1, CLAIMS["SUPPORTED"], "SUPPORTED"), (2, CLAIMS["REFUTED"], "REFUTED")]
    [skipped] = data["skipped"]
    assert skipped["text"].strip() == "Che bella giornata!" and skipped["why"]


# -- ClaimReview JSON-LD ----------------------------------------------------------------------------


def assert_claimreview(review: dict, claim: str, page_url: str | None = None) -> None:
    """The properties schema.org defines and Google's fact-check markup requires (claimReviewed,
    reviewRating with alternateName, url) or recommends (author, datePublished, itemReviewed)."""
    assert review["@context"] == "https://schema.org"
    assert review["@type"] == "ClaimReview"
    assert review["claimReviewed"] == claim
    rating = review["reviewRating"]
    assert rating["@type"] == "Rating"
    assert isinstance(rating["alternateName"], str) and rating["alternateName"]
    if "ratingValue" in rating:
        assert all(isinstance(rating[k], int) for k in ("ratingValue", "bestRating", "worstRating"))
        assert rating["worstRating"] <= rating["ratingValue"] <= rating["bestRating"]
    assert isinstance(review["url"], str) and review["url"]
    if page_url:
        assert review["url"].startswith(page_url) and review["url"].split(":")[0] in ("http", "https")
    else:
        assert review["url"].startswith("urn:rag-factcheck:claim:")
    author = review["author"]
    assert author["@type"] in ("Organization", "Person") and author["name"]
    published = date.fromisoformat(review["datePublished"])  # an ISO date
    assert abs(published - datetime.now(timezone.utc).date()) <= timedelta(days=1)
    assert review["itemReviewed"]["@type"] == "Claim"
    for work in review.get("citation", []):
        assert work["@type"] == "CreativeWork" and work["headline"]
        assert "url" not in work or work["url"].split(":")[0] in ("http", "https")
        date.fromisoformat(work["datePublished"])


def documented_ratings() -> dict[str, tuple[int | None, str]]:
    """The mapping table of docs/reports.md: | `VERDICT` | ratingValue or (none) | alternateName | why |."""
    rows = {}
    for line in (ROOT / "docs" / "reports.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*`(SUPPORTED|REFUTED|NOT_ENOUGH_INFO|CONFLICTING)`\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|", line)
        if m:
            value = m.group(2)
            rows[m.group(1)] = (int(value) if value.isdigit() else None, m.group(3))
    return rows


def test_the_documented_mapping_is_the_one_in_the_code():
    assert documented_ratings() == report.RATINGS
    assert report.RATINGS == {"SUPPORTED": (5, "True"), "CONFLICTING": (3, "Disputed"),
                              "REFUTED": (1, "False"), "NOT_ENOUGH_INFO": (None, "Unproven")}


@pytest.mark.parametrize("label", list(CLAIMS))
def test_each_verdict_maps_to_its_documented_rating(label, verdicts):
    settings = Settings.load(report__url="https://factcheck.example.org/2026/aurora")
    review = report.claimreview(verdicts[label], settings)
    assert_claimreview(review, CLAIMS[label], "https://factcheck.example.org/2026/aurora")
    value, name = documented_ratings()[label]
    rating = review["reviewRating"]
    assert rating["alternateName"] == name
    assert rating.get("ratingValue") == value
    if value is None:  # no point on the true-false scale, so no scale either
        assert "bestRating" not in rating and "worstRating" not in rating
    else:
        assert (rating["worstRating"], rating["bestRating"]) == (1, 5)
    assert rating["ratingExplanation"] == verdicts[label].answer
    cited = {w["headline"] for w in review.get("citation", [])}
    assert cited == {s["title"] for s in verdicts[label].sources if s["stance"] in ("supports", "refutes")}


def test_claimreview_of_several_claims_anchors_each_at_its_report_section(verdicts):
    settings = Settings.load(report__url="https://factcheck.example.org/2026/aurora")
    reviews = report.claimreviews([verdicts["REFUTED"], verdicts["CONFLICTING"]], settings)
    assert [r["url"] for r in reviews] == ["https://factcheck.example.org/2026/aurora#claim-1",
                                           "https://factcheck.example.org/2026/aurora#claim-2"]
    assert reviews[0]["author"] == {"@type": "Organization", "name": "rag-factcheck",
                                    "url": "https://factcheck.example.org/"}
    [gallery] = reviews[0]["citation"]
    assert "url" not in gallery  # javascript: is no URL to publish
    assert report.claimreviews([], settings) == []  # a paragraph with no claim to check
    assert report.report_data([], settings, [{"text": "Che giornata!", "why": "no claim"}])["claims"] == []


def test_check_format_claimreview_prints_and_writes_the_json_ld(url_index, tmp_path):
    out = tmp_path / "review.jsonld"
    page = "https://factcheck.example.org/2026/udienza"
    result = run_rag("check", DISPUTED, "--index", str(url_index), "--backend", "extractive",
                     "--format", "claimreview", "--report", str(out),
                     env={"RAG_REPORT_URL": page, "RAG_REPORT_AUTHOR": "Redazione Verifiche"})
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert json.loads(out.read_text(encoding="utf-8")) == printed
    assert_claimreview(printed, DISPUTED, page)
    assert printed["url"] == page and printed["author"]["name"] == "Redazione Verifiche"
    assert printed["reviewRating"]["alternateName"] == "Disputed"
    assert {w["url"] for w in printed["citation"]} == {URLS["traghetto-a.txt"], URLS["traghetto-b.txt"]}
    assert "placeholder" not in result.stderr


def test_claimreview_without_a_page_url_is_a_placeholder_with_a_warning(url_index):
    result = run_rag("check", CLAIMS["NOT_ENOUGH_INFO"], "--index", str(url_index), "--backend", "extractive",
                     "--format", "claimreview")
    assert result.returncode == 0, result.stderr
    review = json.loads(result.stdout)
    assert_claimreview(review, CLAIMS["NOT_ENOUGH_INFO"])
    assert review["reviewRating"]["alternateName"] == "Unproven"
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "RAG_REPORT_URL" in warning


# -- errors and atomic writing ----------------------------------------------------------------------


@pytest.mark.parametrize("target, fragment", [
    ("report.txt", "use .md, .html, .json or .jsonld"),
    ("missing/report.md", "does not exist"),
    ("a-file.txt/report.md", "is not a folder"),
    ("a-folder.html", "it is a folder"),
])
def test_a_bad_report_path_is_one_error_line_before_any_checking(target, fragment, url_index, tmp_path):
    (tmp_path / "a-file.txt").write_text("x", encoding="utf-8")
    (tmp_path / "a-folder.html").mkdir()
    result = run_rag("check", DISPUTED, "--index", str(url_index), "--backend", "extractive",
                     "--report", str(tmp_path / target))
    assert_one_line_error(result, "report", fragment)
    assert result.stdout == ""  # failed before the claim was checked


@pytest.mark.parametrize("args, env, fragment", [
    (["--json", "--format", "claimreview"], {}, "disagree"),
    (["--format", "claimreview"], {"RAG_REPORT_URL": "ftp://example.org/x"}, "http(s)"),
])
def test_conflicting_output_options_are_one_error_line(args, env, fragment, url_index):
    result = run_rag("check", DISPUTED, "--index", str(url_index), *args, env=env)
    assert_one_line_error(result, fragment)


def test_writing_is_atomic_and_a_failed_write_keeps_the_old_report(verdicts, tmp_path, monkeypatch):
    settings = Settings.load()
    out = tmp_path / "report.md"
    out.write_text("the old report", encoding="utf-8")
    report.write(out, [verdicts["REFUTED"]], settings)
    assert out.read_text(encoding="utf-8").startswith("# Fact-check report")
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]  # no temporary file left

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report.os, "fsync", broken_fsync)
    before = out.read_text(encoding="utf-8")
    with pytest.raises(RagError, match="cannot write the report.*No space left on device"):
        report.write(out, [verdicts["SUPPORTED"]], settings)
    assert out.read_text(encoding="utf-8") == before
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_writing_under_a_file_is_a_rag_error(verdicts, tmp_path):
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    with pytest.raises(RagError, match="cannot write the report"):
        report.write(tmp_path / "a-file" / "report.json", [verdicts["REFUTED"]], Settings.load())
    assert Path(tmp_path / "a-file").read_text(encoding="utf-8") == "x"
