"""The eval metrics and runner on small made-up inputs, where the right score is known by hand."""

import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.evaluate import (
    GATED,
    LABELS,
    LOWER_IS_BETTER,
    Evidence,
    abstention_metrics,
    answer_accuracy,
    check_ceilings,
    check_floors,
    evidence_cited,
    facts_found,
    false_supported,
    first_evidence_rank,
    key_fact_recall,
    load_gold,
    normalize,
    parse_ceiling,
    parse_floor,
    parse_gold_item,
    percentile,
    run_eval,
    same_document,
    score,
    source_names,
    verdict_metrics,
    verdict_recall,
)
from rag.types import RagError

ROOT = Path(__file__).resolve().parent.parent
EXTERNAL = ROOT / "eval" / "external"
FEVER_IT = Path("/work/shared/data/nli/it_fever_it.jsonl")


# -- normalisation and key facts -----------------------------------------------------------

@pytest.mark.parametrize("a, b", [
    ("100.000", "100,000"),
    ("100.000", "100000"),
    ("oltre 100 000 residenti", "Oltre 100000 residenti"),
    ("1.250.000", "1,250,000"),
    ("2,5 per cento", "2.5 per cento"),
    ("“Ancora aperti”", "ancora aperti"),
    ("Perché?", "perche"),
    ("l’integrità", "l'integrita"),
    ("face-to-face", "Face to face"),
])
def test_normalize_ignores_case_accents_punctuation_and_number_formats(a, b):
    assert normalize(a) == normalize(b)


def test_normalize_keeps_different_numbers_apart():
    assert normalize("10.000") != normalize("100.000")
    assert normalize("2,5") != normalize("25")


def test_key_facts_match_any_variant_as_whole_words():
    facts = [["Livorno", "Leghorn"], ["3 febbraio", "3 February", "February 3"]]
    assert facts_found("The hearing is due in Leghorn on February 3 [1].", facts) == [True, True]
    assert facts_found("L'udienza si terrà a Livorno [2].", facts) == [True, False]
    assert facts_found("Oltre 100.000 residenti", [["100,000"]]) == [True]
    assert facts_found("dieci località", [["10", "dieci"]]) == [True]
    # a fact is a whole word, and a citation mark [1] is not part of the answer
    assert facts_found("oltre 100 residenti", [["10"]]) == [False]
    assert facts_found("nessun numero [1]", [["1"]]) == [False]


def test_answer_accuracy_needs_every_fact_and_recall_counts_each():
    found = [[True, True], [True, False], [False]]
    assert answer_accuracy(found) == pytest.approx(1 / 3)
    assert key_fact_recall(found) == pytest.approx(3 / 5)
    assert math.isnan(answer_accuracy([])) and math.isnan(key_fact_recall([]))


# -- retrieval and citations ---------------------------------------------------------------

SOURCES = {"a": "a.txt", "b": "b.txt"}


def span(doc_id, start, end):
    return SimpleNamespace(doc_id=doc_id, start=start, end=end, n=1)


def test_a_passage_holds_evidence_when_it_covers_half_the_gold_span_in_the_same_document():
    gold = [Evidence("a.txt", 100, 200, "x" * 100)]
    hits = [span("b", 100, 200), span("a", 0, 140), span("a", 150, 400)]
    assert first_evidence_rank(hits, SOURCES, gold) == 3  # 40 chars of 100 is not enough; 50 is
    assert first_evidence_rank(hits[:2], SOURCES, gold) is None


def test_citation_recall_any_span_or_a_span_from_each_document():
    gold = [Evidence("a.txt", 0, 10, "x" * 10), Evidence("b.txt", 50, 60, "y" * 10)]
    only_a = [span("a", 0, 20)]
    both = [span("a", 0, 20), span("b", 40, 70)]
    assert evidence_cited(only_a, SOURCES, gold, "any")
    assert not evidence_cited(only_a, SOURCES, gold, "each_doc")
    assert evidence_cited(both, SOURCES, gold, "each_doc")
    assert not evidence_cited([], SOURCES, gold, "any")
    assert not evidence_cited(only_a, SOURCES, [], "any")


# -- abstention, verdicts, latency, floors ---------------------------------------------------

def test_abstention_precision_recall_and_false_rate():
    answerable = [True, True, True, True, False, False]
    abstained = [True, False, False, False, True, False]
    m = abstention_metrics(answerable, abstained)
    assert m == {"precision": 0.5, "recall": 0.5, "false_rate": 0.25}
    never = abstention_metrics([True, False], [False, False])
    assert math.isnan(never["precision"]) and never["recall"] == 0.0
    assert all(math.isnan(v) for v in abstention_metrics([], []).values())


def test_verdict_accuracy_and_confusion_matrix():
    gold = ["SUPPORTED", "REFUTED", "REFUTED", "CONFLICTING", "NOT_ENOUGH_INFO"]
    predicted = ["SUPPORTED", "NOT_ENOUGH_INFO", "REFUTED", "SUPPORTED", None]
    accuracy, matrix = verdict_metrics(gold, predicted)
    assert accuracy == pytest.approx(2 / 5)
    assert matrix == [[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0]]
    assert math.isnan(verdict_metrics([], [])[0])


def test_latency_percentiles():
    assert percentile([10, 20, 30, 40, 1000], 50) == 30
    assert percentile([10.0] * 19 + [500.0], 95) > 10
    assert math.isnan(percentile([], 95))


def test_floors_parse_and_report_what_was_missed():
    assert parse_floor("answer.accuracy=0.75") == ("answer.accuracy", 0.75)
    for bad, reason in [("answer.accuracy", "METRIC=VALUE"), ("nope=0.5", "unknown metric"),
                        ("answer.accuracy=high", "must be a number"), ("answer.accuracy=75", "between 0 and 1"),
                        ("latency.retrieval_p50_ms=0.5", "lower-is-better"),
                        ("verdict.false_supported_rate=0.1", "lower-is-better: it takes a ceiling")]:
        with pytest.raises(ValueError, match=reason):
            parse_floor(bad)
    metrics = {"answer.accuracy": 0.7, "retrieval.mrr": 0.9, "verdict.accuracy": math.nan}
    missed = check_floors(metrics, {"answer.accuracy": 0.75, "retrieval.mrr": 0.85, "verdict.accuracy": 0.5})
    assert missed == ["answer.accuracy = 0.700 < 0.75", "verdict.accuracy: nothing to score (floor 0.5)"]
    assert parse_floor("verdict.recall.REFUTED=0.4") == ("verdict.recall.REFUTED", 0.4)


def test_false_supported_counts_non_supported_claims_called_supported():
    gold = ["SUPPORTED", "REFUTED", "NOT_ENOUGH_INFO", "CONFLICTING", "REFUTED"]
    predicted = ["SUPPORTED", "SUPPORTED", "NOT_ENOUGH_INFO", "SUPPORTED", None]
    assert false_supported(gold, predicted) == (2, 4)  # REFUTED and CONFLICTING called SUPPORTED, of 4
    assert false_supported(["SUPPORTED"], ["SUPPORTED"]) == (0, 0)  # nothing to be wrong about
    assert false_supported([], []) == (0, 0)


def test_verdict_recall_per_gold_label():
    gold = ["SUPPORTED", "SUPPORTED", "REFUTED", "REFUTED", "REFUTED", "NOT_ENOUGH_INFO"]
    predicted = ["SUPPORTED", "NOT_ENOUGH_INFO", "REFUTED", "SUPPORTED", None, "NOT_ENOUGH_INFO"]
    recall = verdict_recall(gold, predicted)
    assert recall["SUPPORTED"] == 0.5 and recall["REFUTED"] == pytest.approx(1 / 3)
    assert recall["NOT_ENOUGH_INFO"] == 1.0
    assert math.isnan(recall["CONFLICTING"])  # no CONFLICTING claim: nothing to score


def test_ceilings_parse_and_report_what_was_exceeded():
    assert parse_ceiling("verdict.false_supported_rate=0.1") == ("verdict.false_supported_rate", 0.1)
    assert parse_ceiling("abstention.false_rate=0") == ("abstention.false_rate", 0.0)
    assert parse_ceiling("latency.retrieval_p95_ms=250") == ("latency.retrieval_p95_ms", 250.0)  # milliseconds
    for bad, reason in [("verdict.false_supported_rate", "METRIC=VALUE"), ("nope=0.5", "unknown metric"),
                        ("answer.accuracy=0.5", r"higher-is-better: it takes a floor \(--fail-under\)"),
                        ("verdict.false_supported_rate=lots",
                         "the ceiling for verdict.false_supported_rate must be a number"),
                        ("verdict.false_supported_rate=5", "between 0 and 1"),
                        ("latency.generation_p50_ms=-1", "milliseconds, at least 0")]:
        with pytest.raises(ValueError, match=reason):
            parse_ceiling(bad)
    assert not set(GATED) & set(LOWER_IS_BETTER)  # every metric has one direction
    metrics = {"verdict.false_supported_rate": 0.05, "abstention.false_rate": 0.2,
               "latency.retrieval_p95_ms": 312.25, "verdict.recall.SUPPORTED": math.nan}
    missed = check_ceilings(metrics, {"verdict.false_supported_rate": 0.0, "abstention.false_rate": 0.25,
                                      "latency.retrieval_p95_ms": 300})
    assert missed == ["verdict.false_supported_rate = 0.050 > 0", "latency.retrieval_p95_ms = 312.2 > 300"]
    assert check_ceilings({"abstention.false_rate": math.nan}, {"abstention.false_rate": 0.1}) == [
        "abstention.false_rate: nothing to score (ceiling 0.1)"]
    assert check_ceilings(metrics, {"verdict.false_supported_rate": 0.05}) == []  # at the ceiling is fine


# -- the gold file loader ---------------------------------------------------------------------

GOOD_QA = {"id": "q1", "kind": "qa", "lang": "en", "question": "Where?", "answerable": True,
           "answer": [["Leghorn"]], "evidence": [{"doc": "a.txt", "start": 0, "end": 7, "quote": "Livorno"}]}


@pytest.mark.parametrize("line, fragment", [
    ("{not json", "gold.jsonl:2: not valid JSON"),
    (json.dumps({k: v for k, v in GOOD_QA.items() if k != "evidence"}), "gold.jsonl:2: missing field 'evidence'"),
    (json.dumps({**GOOD_QA, "id": "q2", "answer": []}), "gold.jsonl:2: an answerable question needs"),
    (json.dumps({**GOOD_QA}), "gold.jsonl:2: duplicate id 'q1'"),
    (json.dumps({**GOOD_QA, "id": "q2", "evidence": [{"doc": "a.txt", "start": 0, "end": 9, "quote": "Livorno"}]}),
     "does not fit its quote"),
    (json.dumps({"id": "c1", "kind": "claim", "claim": "x", "label": "TRUE", "evidence": []}), "label must be"),
    (json.dumps({"id": "c1", "kind": "claim", "claim": "x", "label": "CONFLICTING", "evidence": GOOD_QA["evidence"]}),
     "needs evidence_mode each_doc"),
])
def test_a_bad_gold_line_is_named_by_file_and_line(tmp_path, line, fragment):
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(GOOD_QA) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(RagError, match=fragment):
        load_gold(path)


def test_a_missing_or_empty_gold_file_is_a_clear_error(tmp_path):
    with pytest.raises(RagError, match="cannot read gold set"):
        load_gold(tmp_path / "none.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(RagError, match="holds no items"):
        load_gold(tmp_path / "empty.jsonl")


# -- the runner, against a made-up bot that keeps the ask/check contract ------------------------

class ScriptedBot:
    """Replies fixed in advance, shaped like Answer and Verdict (rag/types.py)."""

    documents = [SimpleNamespace(id="a", source="/x/a.txt"), SimpleNamespace(id="b", source="/x/b.txt#3")]

    def __init__(self, replies):
        self.replies = replies

    def _reply(self, text):
        reply = self.replies[text]
        if isinstance(reply, Exception):
            raise reply
        return SimpleNamespace(timings_ms={"retrieval": 10.0, "generation": 20.0}, backend="scripted", **reply)

    def ask(self, question, backend=None):
        return self._reply(question)

    def check(self, claim, backend=None):
        return self._reply(claim)


def cite(n, doc, start, end):
    return SimpleNamespace(n=n, doc_id=doc, start=start, end=end, text="")


def item(**raw):
    return parse_gold_item(raw)


EV_A = {"doc": "a.txt", "start": 0, "end": 10, "quote": "0123456789"}
EV_B = {"doc": "b.txt", "start": 20, "end": 30, "quote": "0123456789"}
ITEMS = [
    item(id="q1", kind="qa", lang="it", question="Q1", answerable=True, answer=[["Livorno", "Leghorn"]],
         evidence=[EV_A]),
    item(id="q2", kind="qa", lang="en", question="Q2", answerable=True, answer=[["410"], ["Portoferraio"]],
         evidence=[EV_B]),
    item(id="u1", kind="qa", lang="en", question="U1", answerable=False, answer=[], evidence=[]),
    item(id="c1", kind="claim", lang="en", claim="C1", label="CONFLICTING", evidence=[EV_A, EV_B],
         evidence_mode="each_doc"),
    item(id="c2", kind="claim", lang="it", claim="C2", label="NOT_ENOUGH_INFO", evidence=[]),
]
REPLIES = {
    # right answer, gold passage ranked 2nd, one precise and one stray citation
    "Q1": dict(answer="A Livorno [1].", abstained=False, citations=[cite(1, "a", 0, 12), cite(2, "b", 100, 150)],
               passages=[cite(1, "b", 100, 150), cite(2, "a", 0, 12)]),
    # abstained on an answerable question
    "Q2": dict(answer="The sources do not say.", abstained=True, citations=[], passages=[cite(1, "a", 0, 12)]),
    # answered an unanswerable one
    "U1": dict(answer="Maybe [1].", abstained=False, citations=[cite(1, "a", 0, 12)], passages=[]),
    # right verdict, but cites only one of the two disagreeing sources
    "C1": dict(verdict="CONFLICTING", citations=[cite(1, "a", 0, 10)], evidence=[],
               passages=[cite(1, "a", 0, 10), cite(2, "b", 20, 30)]),
    "C2": dict(verdict="SUPPORTED", citations=[], evidence=[], passages=[]),
}


def test_the_runner_scores_questions_and_claims_through_the_public_api():
    results = run_eval(ScriptedBot(REPLIES), ITEMS, progress=False)
    by_id = {r.id: r for r in results}
    assert by_id["q1"].rank == 2 and by_id["q1"].facts == [True]
    assert by_id["q1"].failures == ["citation [2] (b 100-150) holds no gold evidence"]
    assert "abstained on an answerable question" in by_id["q2"].failures
    assert by_id["u1"].failures == ["answered a question the sources do not answer"]
    assert by_id["c1"].failures == ["gold evidence not cited from every source"]
    assert by_id["c2"].failures == ["verdict SUPPORTED, expected NOT_ENOUGH_INFO"]

    s = score(results)
    m = s.metrics
    assert m["retrieval.recall@1"] == pytest.approx(1 / 3)  # q1 rank 2, q2 missed, c1 rank 1
    assert m["retrieval.recall@5"] == pytest.approx(2 / 3)
    assert m["retrieval.mrr"] == pytest.approx((0.5 + 0 + 1) / 3)
    assert m["answer.accuracy"] == 0.5 and m["answer.key_fact_recall"] == pytest.approx(1 / 3)
    assert m["citation.precision"] == pytest.approx(2 / 3)  # q1: 1 of 2, c1: 1 of 1
    assert m["citation.recall"] == pytest.approx(1 / 3)  # q1 only
    assert (m["abstention.precision"], m["abstention.recall"], m["abstention.false_rate"]) == (0.0, 0.0, 0.5)
    assert m["verdict.accuracy"] == 0.5
    assert s.confusion[3][3] == 1 and s.confusion[2][0] == 1
    # c2 (NOT_ENOUGH_INFO) was called SUPPORTED: 1 of the 2 claims that are not SUPPORTED
    assert m["verdict.false_supported_rate"] == 0.5
    assert s.support["verdict.false_supported"] == 1 and s.support["verdict.false_supported_rate"] == 2
    assert m["verdict.recall.CONFLICTING"] == 1.0 and m["verdict.recall.NOT_ENOUGH_INFO"] == 0.0
    assert math.isnan(m["verdict.recall.SUPPORTED"]) and math.isnan(m["verdict.recall.REFUTED"])
    assert s.support["verdict.recall.CONFLICTING"] == 1 and s.support["verdict.recall.SUPPORTED"] == 0
    assert check_ceilings(m, {"verdict.false_supported_rate": 0}) == ["verdict.false_supported_rate = 0.500 > 0"]
    assert check_ceilings(m, {"verdict.false_supported_rate": 0.5}) == []
    assert m["latency.generation_p50_ms"] == 20.0
    assert s.support["answer.accuracy"] == 2 and s.support["verdict.accuracy"] == 2


def test_nothing_to_score_is_nan_never_zero():
    s = score(run_eval(ScriptedBot(REPLIES), ITEMS[2:3], progress=False))
    assert math.isnan(s.metrics["retrieval.mrr"]) and math.isnan(s.metrics["answer.accuracy"])
    assert math.isnan(s.metrics["verdict.accuracy"]) and s.confusion is None
    assert math.isnan(s.metrics["verdict.false_supported_rate"]) and s.support["verdict.false_supported"] == 0
    assert all(math.isnan(s.metrics[f"verdict.recall.{label}"]) for label in LABELS)
    assert s.to_dict()["metrics"]["retrieval.mrr"] is None  # JSON has no NaN


def test_an_item_that_errors_counts_as_a_miss_and_an_all_error_run_stops_with_the_error():
    replies = {**REPLIES, "Q1": RagError("model timed out")}
    results = run_eval(ScriptedBot(replies), ITEMS[:2], progress=False)
    assert results[0].failures == ["error: model timed out"]
    assert score(results).metrics["citation.recall"] == 0.0
    down = {k: RagError("Ollama is not reachable") for k in REPLIES}
    with pytest.raises(RagError, match="Ollama is not reachable"):
        run_eval(ScriptedBot(down), ITEMS, progress=False)


def test_the_runner_refuses_a_gold_set_about_documents_the_index_lacks():
    bot = ScriptedBot(REPLIES)
    bot.documents = bot.documents[:1]
    with pytest.raises(RagError, match="b.txt"):
        run_eval(bot, ITEMS, progress=False)


def test_an_article_of_a_jsonl_file_is_named_by_its_line():
    bot = SimpleNamespace(documents=[SimpleNamespace(id="c-2", source="/x/corpus.jsonl#2"),
                                     SimpleNamespace(id="c-3", source="/x/corpus.jsonl#3"),
                                     SimpleNamespace(id="a", source="/x/a.txt")])
    names = source_names(bot)
    assert names == {"c-2": "corpus.jsonl#2", "c-3": "corpus.jsonl#3", "a": "a.txt"}
    assert same_document("corpus.jsonl#2", "corpus.jsonl#2") and same_document("corpus.jsonl#2", "corpus.jsonl")
    assert not same_document("corpus.jsonl#3", "corpus.jsonl#2") and not same_document("a.txt", "corpus.jsonl")
    # the same offsets in another article of the same file are not the evidence
    gold = [Evidence("corpus.jsonl#2", 0, 40, "x" * 40)]
    assert first_evidence_rank([span("c-3", 0, 40), span("c-2", 0, 40)], names, gold) == 2


def test_the_runner_refuses_a_gold_set_citing_an_article_line_the_index_lacks():
    claim = item(id="c1", kind="claim", lang="it", claim="C1", label="SUPPORTED",
                 evidence=[{"doc": "b.txt#4", "start": 20, "end": 30, "quote": "0123456789"}])
    with pytest.raises(RagError, match="b.txt#4"):  # the index holds b.txt#3 only
        run_eval(ScriptedBot({"C1": REPLIES["C2"]}), [claim], progress=False)


# -- the external claims (eval/external/, scripts/make_external_claims.py) ------------------------

def test_the_external_claims_are_balanced_and_their_evidence_is_their_own_corpus_article():
    claims = load_gold(EXTERNAL / "fever_it_claims.jsonl")  # the loader checks every field
    lines = (EXTERNAL / "fever_it_corpus.jsonl").read_text(encoding="utf-8").splitlines()
    corpus = [json.loads(line) for line in lines]
    assert Counter(c.label for c in claims) == {"SUPPORTED": 40, "REFUTED": 40, "NOT_ENOUGH_INFO": 40}
    assert {c.kind for c in claims} == {"claim"} and {c.lang for c in claims} == {"it"}
    assert all(set(a) == {"title", "date", "url", "text"} and a["date"] is None and a["url"] is None for a in corpus)
    assert len({a["text"] for a in corpus}) == len(corpus)  # each distinct premise is one article
    cited = []
    for c in claims:
        for e in c.evidence:
            name, _, line = e.doc.partition("#")
            assert name == "fever_it_corpus.jsonl" and line.isdigit(), c.id
            text = corpus[int(line) - 1]["text"]
            assert text[e.start : e.end] == e.quote == text, c.id  # the whole premise article
            cited.append(int(line))
    assert len(cited) == 80 and len(set(cited)) == 80  # SUPPORTED and REFUTED: one premise each


@pytest.mark.skipif(not FEVER_IT.is_file(), reason="the FEVER-IT source file is not on this machine")
def test_the_external_claims_are_made_again_byte_for_byte(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_external_claims.py"),
                             "--source", str(FEVER_IT), "--out", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in ("fever_it_claims.jsonl", "fever_it_corpus.jsonl"):
        assert (tmp_path / name).read_bytes() == (EXTERNAL / name).read_bytes(), name
