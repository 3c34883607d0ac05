"""The eval metrics and runner on small made-up inputs, where the right score is known by hand."""

import json
import math
from types import SimpleNamespace

import pytest

from rag.evaluate import (
    Evidence,
    abstention_metrics,
    answer_accuracy,
    check_floors,
    evidence_cited,
    facts_found,
    first_evidence_rank,
    key_fact_recall,
    load_gold,
    normalize,
    parse_floor,
    parse_gold_item,
    percentile,
    run_eval,
    score,
    verdict_metrics,
)
from rag.types import RagError


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
    facts = [["Ginevra", "Geneva"], ["12 novembre", "12 November", "November 12"]]
    assert facts_found("The summit was due in Geneva on November 12 [1].", facts) == [True, True]
    assert facts_found("Il vertice era previsto a Ginevra [2].", facts) == [True, False]
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
                        ("latency.retrieval_p50_ms=0.5", "unknown metric")]:
        with pytest.raises(ValueError, match=reason):
            parse_floor(bad)
    metrics = {"answer.accuracy": 0.7, "retrieval.mrr": 0.9, "verdict.accuracy": math.nan}
    missed = check_floors(metrics, {"answer.accuracy": 0.75, "retrieval.mrr": 0.85, "verdict.accuracy": 0.5})
    assert missed == ["answer.accuracy = 0.700 < 0.75", "verdict.accuracy: nothing to score (floor 0.5)"]


# -- the gold file loader ---------------------------------------------------------------------

GOOD_QA = {"id": "q1", "kind": "qa", "lang": "en", "question": "Where?", "answerable": True,
           "answer": [["Geneva"]], "evidence": [{"doc": "a.txt", "start": 0, "end": 7, "quote": "Ginevra"}]}


@pytest.mark.parametrize("line, fragment", [
    ("{not json", "gold.jsonl:2: not valid JSON"),
    (json.dumps({k: v for k, v in GOOD_QA.items() if k != "evidence"}), "gold.jsonl:2: missing field 'evidence'"),
    (json.dumps({**GOOD_QA, "id": "q2", "answer": []}), "gold.jsonl:2: an answerable question needs"),
    (json.dumps({**GOOD_QA}), "gold.jsonl:2: duplicate id 'q1'"),
    (json.dumps({**GOOD_QA, "id": "q2", "evidence": [{"doc": "a.txt", "start": 0, "end": 9, "quote": "Ginevra"}]}),
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
    item(id="q1", kind="qa", lang="it", question="Q1", answerable=True, answer=[["Ginevra", "Geneva"]],
         evidence=[EV_A]),
    item(id="q2", kind="qa", lang="en", question="Q2", answerable=True, answer=[["73"], ["Pokrovsk"]],
         evidence=[EV_B]),
    item(id="u1", kind="qa", lang="en", question="U1", answerable=False, answer=[], evidence=[]),
    item(id="c1", kind="claim", lang="en", claim="C1", label="CONFLICTING", evidence=[EV_A, EV_B],
         evidence_mode="each_doc"),
    item(id="c2", kind="claim", lang="it", claim="C2", label="NOT_ENOUGH_INFO", evidence=[]),
]
REPLIES = {
    # right answer, gold passage ranked 2nd, one precise and one stray citation
    "Q1": dict(answer="A Ginevra [1].", abstained=False, citations=[cite(1, "a", 0, 12), cite(2, "b", 100, 150)],
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
    assert m["latency.generation_p50_ms"] == 20.0
    assert s.support["answer.accuracy"] == 2 and s.support["verdict.accuracy"] == 2


def test_nothing_to_score_is_nan_never_zero():
    s = score(run_eval(ScriptedBot(REPLIES), ITEMS[2:3], progress=False))
    assert math.isnan(s.metrics["retrieval.mrr"]) and math.isnan(s.metrics["answer.accuracy"])
    assert math.isnan(s.metrics["verdict.accuracy"]) and s.confusion is None
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
