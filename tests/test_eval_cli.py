"""`rag eval` as a user and CI run it: a real run over the seeds, the reports, the gate, bad input."""

import json

import pytest
from conftest import ROOT, assert_one_line_error, run_rag


GOLD = ROOT / "eval" / "gold.jsonl"
RATIOS = ["retrieval.recall@1", "retrieval.recall@5", "retrieval.mrr", "answer.accuracy",
          "answer.key_fact_recall", "citation.precision", "citation.recall", "abstention.precision",
          "abstention.recall", "abstention.false_rate"]


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
    assert summary["metrics"]["verdict.accuracy"] is None  # no claims were run: nothing to score
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
    quote = "previsto per il 12 novembre a Ginevra"
    start = text.index(quote)
    gold.write_text(json.dumps({  # a deliberately wrong key fact: no answer can state it
        "id": "x1", "kind": "qa", "lang": "it", "question": "Dove doveva tenersi il vertice tra Trump e Putin?",
        "answerable": True, "answer": [["Parigi"]],
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


@pytest.mark.parametrize("args, fragment", [
    (["--fail-under", "nope=0.5"], "unknown metric 'nope'"),
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
