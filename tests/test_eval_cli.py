"""`rag eval` as a user and CI run it: a real run over the seeds, the reports, the gate, bad input."""

import json

import pytest
from conftest import ROOT, assert_one_line_error, run_rag


GOLD = ROOT / "eval" / "gold.jsonl"
RATIOS = ["retrieval.recall@1", "retrieval.recall@5", "retrieval.mrr", "answer.accuracy",
          "answer.key_fact_recall", "citation.precision", "citation.recall", "abstention.precision",
          "abstention.recall", "abstention.false_rate"]
VERDICT_METRICS = ["verdict.accuracy", "verdict.false_supported_rate", "verdict.recall.SUPPORTED",
                   "verdict.recall.REFUTED", "verdict.recall.NOT_ENOUGH_INFO", "verdict.recall.CONFLICTING"]
SEED_000 = ROOT / "seeds" / "000_6d133049264667af.txt"
# A sentence of seed 000, word for word: the bot calls it SUPPORTED whatever its rules are tuned to.
VERBATIM = ("Il ministro degli Esteri russo Serghei Lavrov si è detto oggi pronto a incontrare "
            "il segretario di Stato americano Marco Rubio")


def verbatim_claim(label: str, claim_id: str = "x1", doc: str = SEED_000.name, start: int | None = None) -> dict:
    """A claim that copies an article sentence, labelled `label` (wrongly, unless SUPPORTED)."""
    if start is None:
        start = SEED_000.read_text(encoding="utf-8").index(VERBATIM)
    evidence = [] if label == "NOT_ENOUGH_INFO" else [{"doc": doc, "start": start, "end": start + len(VERBATIM),
                                                       "quote": VERBATIM}]
    return {"id": claim_id, "kind": "claim", "lang": "it", "claim": VERBATIM + ".", "label": label,
            "evidence": evidence}


def test_eval_of_the_questions_on_the_seeds_writes_every_report(seed_index, tmp_path):
    out = tmp_path / "report"
    result = run_rag("eval", "--only", "qa", "--backend", "extractive", "--index", str(seed_index),
                     "--out", str(out), "--json", timeout=600)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert "Evaluating" in result.stderr  # the progress bar goes to stderr
    questions = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines()
                 if line.strip() and json.loads(line)["kind"] == "qa"]
    assert summary["items"] == len(questions) and summary["backend"] == "extractive"
    for name in RATIOS:
        value = summary["metrics"][name]
        assert isinstance(value, float) and 0.0 <= value <= 1.0, (name, value)
    for name in VERDICT_METRICS:  # no claims were run: nothing to score
        assert summary["metrics"][name] is None, name
    assert summary["support"]["verdict.false_supported"] == 0
    assert summary["metrics"]["latency.retrieval_p50_ms"] > 0

    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [q["id"] for q in questions]
    failed = [r for r in rows if not r["ok"]]
    assert all(r["failures"] for r in failed) and summary["failed_items"] == len(failed)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| answer.accuracy |" in report and f"## Failures ({len(failed)} of {len(rows)} items)" in report
    assert (out / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_quick_run_prints_a_table_and_the_gate_fails_on_a_missed_floor(seed_index, tmp_path):
    gold = tmp_path / "wrong.jsonl"
    text = (ROOT / "seeds" / "000_6d133049264667af.txt").read_text(encoding="utf-8")
    quote = "dietro le quinte il clima resta teso"
    start = text.index(quote)
    gold.write_text(json.dumps({  # a deliberately wrong key fact: no answer can state it
        "id": "x1", "kind": "qa", "lang": "it", "question": "Com'è il clima dietro le quinte tra Mosca e Washington?",
        "answerable": True, "answer": [["sereno"]],
        "evidence": [{"doc": "000_6d133049264667af.txt", "start": start, "end": start + len(quote), "quote": quote}],
    }) + "\n", encoding="utf-8")
    common = ["eval", "--gold", str(gold), "--backend", "extractive", "--index", str(seed_index), "-q"]
    missed = run_rag(*common, "--out", str(tmp_path / "a"), "--fail-under", "answer.accuracy=0.5",
                     "--fail-under", "retrieval.recall@5=0")
    assert missed.returncode == 1
    assert_one_line_error(missed, "below the floor", "answer.accuracy = 0.000 < 0.5")
    assert "retrieval.recall@5" not in missed.stderr  # only the floors that were missed
    assert "recall@1" in missed.stdout and "accuracy" in missed.stdout  # the table is still printed
    met = run_rag(*common, "--out", str(tmp_path / "b"), "--fail-under", "answer.accuracy=0", "--limit", "1")
    assert met.returncode == 0, met.stderr


def test_a_claim_wrongly_called_supported_fails_a_ceiling_of_zero(seed_index, tmp_path):
    gold = tmp_path / "refuted.jsonl"
    gold.write_text(json.dumps(verbatim_claim("REFUTED")) + "\n", encoding="utf-8")
    common = ["eval", "--gold", str(gold), "--backend", "extractive", "--index", str(seed_index), "-q"]
    over = run_rag(*common, "--out", str(tmp_path / "a"), "--json", "--fail-over", "verdict.false_supported_rate=0",
                   "--fail-over", "latency.retrieval_p50_ms=100000", "--fail-under", "verdict.accuracy=0.5")
    assert over.returncode == 1
    # one error line: the floor and the ceiling that were missed, not the latency ceiling that was met
    assert_one_line_error(over, "below the floor: verdict.accuracy = 0.000 < 0.5",
                          "above the ceiling: verdict.false_supported_rate = 1.000 > 0")
    assert "latency" not in over.stderr
    summary = json.loads(over.stdout)  # still exactly one JSON object, with the new metrics
    assert summary["metrics"]["verdict.false_supported_rate"] == 1.0
    assert summary["support"]["verdict.false_supported"] == 1
    assert summary["support"]["verdict.false_supported_rate"] == 1
    assert summary["metrics"]["verdict.recall.REFUTED"] == 0.0
    assert summary["metrics"]["verdict.recall.SUPPORTED"] is None
    assert summary["ceilings"] == {"verdict.false_supported_rate": 0.0, "latency.retrieval_p50_ms": 100000.0}
    assert summary["missed_ceilings"] == ["verdict.false_supported_rate = 1.000 > 0"]
    report = (tmp_path / "a" / "report.md").read_text(encoding="utf-8")
    assert "| verdict.false_supported_rate (lower is better) | 1.000 | 1 |" in report
    assert "false SUPPORTED: 1 of 1 claims whose gold label is not SUPPORTED" in report
    assert "## Above the ceiling" in report and "## Below the floor" in report

    table = run_rag(*common, "--out", str(tmp_path / "b"), "--fail-over", "verdict.false_supported_rate=0")
    assert table.returncode == 1 and "above the ceiling: verdict.false_supported_rate = 1.000 > 0" in table.stdout
    assert "recall.REFUTED" in table.stdout and "false SUPPORTED: 1 of 1" in table.stdout

    met = run_rag(*common, "--out", str(tmp_path / "c"), "--fail-over", "verdict.false_supported_rate=1")
    assert met.returncode == 0, met.stderr  # at the ceiling is not over it

    # labelled right: no claim could be wrongly SUPPORTED, so the ceiling cannot be checked
    right = tmp_path / "supported.jsonl"
    right.write_text(json.dumps(verbatim_claim("SUPPORTED")) + "\n", encoding="utf-8")
    nothing = run_rag("eval", "--gold", str(right), "--backend", "extractive", "--index", str(seed_index), "-q",
                      "--out", str(tmp_path / "d"), "--fail-over", "verdict.false_supported_rate=0",
                      "--fail-under", "verdict.recall.SUPPORTED=1")
    assert_one_line_error(nothing, "verdict.false_supported_rate: nothing to score (ceiling 0)")
    assert "recall.SUPPORTED" not in nothing.stderr  # 1 of 1 SUPPORTED claims: the floor of 1 is met


def test_eval_on_a_corpus_of_its_own_builds_the_index_from_it_alone(tmp_path, isolated_home):
    corpus = tmp_path / "corpus.jsonl"
    other = "Il Comune di Trento ha approvato il bilancio del 2024 con ventidue voti a favore e nove contrari."
    articles = [{"title": "Bilancio", "date": None, "url": None, "text": other},
                {"title": "Lavrov", "date": None, "url": None, "text": VERBATIM + ", ha detto oggi a Mosca."},
                {"title": "Meteo", "date": None, "url": None,
                 "text": "Domani pioggia su tutto il Nord, con neve oltre i mille metri sulle Alpi."}]
    corpus.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles), encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    # the evidence is article 2 of the file; its offsets would also fit article 1 or 3, which must not count
    gold.write_text(json.dumps(verbatim_claim("REFUTED", doc="corpus.jsonl#2", start=0)) + "\n", encoding="utf-8")
    args = ["eval", "--gold", str(gold), "--corpus", str(corpus), "--only", "claims", "--backend", "extractive",
            "--json"]
    result = run_rag(*args, "--out", str(tmp_path / "out"), "--fail-over", "verdict.false_supported_rate=0")
    assert result.returncode == 1  # the claim is called SUPPORTED, against a (wrong) gold REFUTED
    summary = json.loads(result.stdout)
    assert summary["corpus"] == [str(corpus)] and summary["items"] == 1
    assert summary["metrics"]["retrieval.recall@1"] == 1.0  # found its own article among the three
    assert summary["missed_ceilings"] == ["verdict.false_supported_rate = 1.000 > 0"]
    assert not (isolated_home / "index").exists()  # without --index: a temporary index, not the user's

    index = tmp_path / "idx"
    kept = run_rag(*args, "--index", str(index), "--out", str(tmp_path / "out2"), "-q")
    assert kept.returncode == 0, kept.stderr
    docs = json.loads(run_rag("docs", "--json", "--index", str(index)).stdout)["documents"]
    assert sorted(d["source"].rsplit("#", 1)[1] for d in docs) == ["1", "2", "3"]  # the corpus and nothing else
    seeds_gold = tmp_path / "seeds.jsonl"
    seeds_gold.write_text(json.dumps(verbatim_claim("SUPPORTED")) + "\n", encoding="utf-8")
    mixed = run_rag("eval", "--gold", str(seeds_gold), "--corpus", str(ROOT / "seeds"), "--index", str(index),
                    "--out", str(tmp_path / "out3"))
    assert_one_line_error(mixed, f"the index at {index} also holds 3 documents that are not in --corpus",
                          "use a new --index folder")
    assert not (tmp_path / "out3").exists()  # refused before anything was written or embedded
    no_seeds = run_rag("eval", "--gold", str(seeds_gold), "--corpus", str(corpus), "--only", "claims",
                       "--backend", "extractive", "--index", str(index), "--out", str(tmp_path / "out4"))
    assert_one_line_error(no_seeds, "the gold set cites 000_6d133049264667af.txt, which the index does not hold")


@pytest.mark.parametrize("args, fragment", [
    (["--fail-under", "nope=0.5"], "unknown metric 'nope'"),
    (["--fail-over", "nope=0.5"], "unknown metric 'nope'"),
    (["--fail-over", "answer.accuracy=0.5"], "answer.accuracy is higher-is-better: it takes a floor (--fail-under)"),
    (["--fail-under", "verdict.false_supported_rate=0.1"], "lower-is-better: it takes a ceiling (--fail-over)"),
    (["--fail-over", "verdict.false_supported_rate"], "expected METRIC=VALUE"),
    (["--fail-over", "abstention.false_rate=some"], "the ceiling for abstention.false_rate must be a number"),
    (["--fail-over", "verdict.false_supported_rate=1.5"], "must be between 0 and 1"),
    (["--corpus", "/no/such/corpus.jsonl"], "no such file or folder: /no/such/corpus.jsonl"),
    (["--fail-under", "answer.accuracy"], "expected METRIC=VALUE"),
    (["--fail-under", "answer.accuracy=lots"], "must be a number"),
    (["--limit", "0"], "at least 1"),
    (["--only", "everything"], "invalid choice"),
    (["--gold", "/no/such/gold.jsonl"], "cannot read gold set /no/such/gold.jsonl"),
    (["--out", "/dev/null/reports"], "cannot write the reports to /dev/null/reports"),
])
def test_bad_eval_input_is_one_line_and_a_non_zero_exit(tmp_path, args, fragment):
    result = run_rag("eval", "--only", "qa", "--out", str(tmp_path / "out"), *args)
    assert_one_line_error(result, fragment)
    assert result.stdout == "" and not (tmp_path / "out").exists()


@pytest.mark.parametrize("line, fragment", [
    ('{"id": "q1", "kind": "qa"', "bad.jsonl:2: not valid JSON"),
    ('{"id": "q1", "kind": "qa", "lang": "it", "answerable": false, "evidence": []}',
     "bad.jsonl:2: missing field 'question'"),
])
def test_a_bad_gold_file_names_its_line(tmp_path, line, fragment):
    gold = tmp_path / "bad.jsonl"
    gold.write_text("\n" + line + "\n", encoding="utf-8")
    assert_one_line_error(run_rag("eval", "--gold", str(gold), "--out", str(tmp_path / "out")), fragment)



def test_an_llm_judge_on_ollama_grades_answers_under_its_own_label(tmp_path):
    from fake_ollama import FakeOllama

    with FakeOllama(models=("judge-model",)) as ollama:
        ollama.replies += ['{"correct": true, "rationale": "It names the place."}'] * 60
        result = run_rag("eval", "--only", "qa", "--limit", "3", "--backend", "extractive", "--judge", "judge-model",
                         "--json", "--index", str(tmp_path / "idx"), "--out", str(tmp_path / "out"),
                         env={"OLLAMA_HOST": ollama.host})
        judged = len(ollama.requests)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    graded = payload["support"]["llm_judge.accuracy"]
    assert graded == 3 and judged > 0  # abstentions are graded wrong without asking the judge
    assert payload["metrics"]["llm_judge.accuracy"] == round(judged / graded, 4)
    assert "judge-model on Ollama" in payload["llm_judge"]
    assert "answer.accuracy" in payload["metrics"]  # the key-fact score is still there, separately


def test_the_llm_judge_is_never_silently_skipped(tmp_path):
    result = run_rag("eval", "--only", "qa", "--limit", "1", "--judge", "judge-model", "--index", str(tmp_path / "i"),
                     "--out", str(tmp_path / "out"), env={"OLLAMA_HOST": "http://127.0.0.1:9"})
    assert_one_line_error(result, "the LLM judge is not available", "not reachable")
