"""Claim checking on tiny made-up corpora (two reports of one strike that partly disagree; a
report with the traps a similarity judge falls into), built once for the module, plus the
contract of `rag check` and an LLM's place beside the entailment judge."""

import json

import pytest
from conftest import assert_one_line_error, run_rag
from fakes import FakeLLM

from rag import FactChecker
from rag.verify import parse_stance

REPORT_A = """Sciopero al porto di Livorno
Livorno, 3 marzo 2026 – I portuali del porto di Livorno hanno incrociato le braccia per 48 ore contro i nuovi turni di lavoro. Secondo il sindacato, allo sciopero hanno aderito 1.200 lavoratori.
Il presidente dell’autorità portuale, Marco Ferretti, ha detto che lo sciopero è illegittimo. La segretaria del sindacato, Giulia Conti, ha chiesto un incontro al ministero dei Trasporti.
La trattativa tra sindacato e azienda riprenderà lunedì a Roma.
"""
REPORT_B = """Porto fermo a Livorno
Livorno, 3 marzo 2026 – Lo sciopero dei portuali di Livorno è durato 48 ore e ha bloccato decine di navi. Secondo l’azienda, allo sciopero hanno aderito circa 800 lavoratori.
La trattativa tra sindacato e azienda riprenderà lunedì a Genova, secondo fonti sindacali.
"""


# Another country doing the thing, a role given to the wrong person, a negation, another number
# for another unit: what a judge of similarity calls SUPPORTED.
REPORT_C = """Vertice sul clima a Lisbona
Lisbona, 4 aprile 2026 – La Germania ha offerto di ospitare il prossimo vertice europeo sul clima, ha annunciato il ministro dell’Ambiente tedesco Klaus Weber.
Weber ha incontrato a Lisbona la ministra degli Esteri portoghese, Ana Costa, per discutere dei fondi per le energie rinnovabili.
Durante le proteste davanti alla sede del vertice la polizia ha registrato 35 feriti e ha effettuato 12 arresti.
"""


@pytest.fixture(scope="module")
def strike_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("strike")
    (folder / "a.txt").write_text(REPORT_A, encoding="utf-8")
    (folder / "b.txt").write_text(REPORT_B, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def bot(strike_folder):
    return FactChecker.build([strike_folder], strike_folder / "idx", progress=False)


@pytest.fixture(scope="module")
def climate_bot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("climate")
    (folder / "c.txt").write_text(REPORT_C, encoding="utf-8")
    return FactChecker.build([folder], folder / "idx", progress=False)


@pytest.mark.parametrize("claim, verdict", [
    ("Lo sciopero dei portuali di Livorno è durato 48 ore.", "SUPPORTED"),
    pytest.param("The dock workers' strike in Livorno lasted 48 hours.", "SUPPORTED", marks=pytest.mark.xfail(
        strict=True, reason="known weakness: cross-language entailment is not confident enough (model card)")),
    ("Lo sciopero dei portuali di Livorno è durato 72 ore.", "REFUTED"),  # a number
    ("Giulia Conti è la presidente dell’autorità portuale.", "REFUTED"),  # a role given to the wrong person
    ("Marco Ferretti ha detto che lo sciopero non è illegittimo.", "REFUTED"),  # a negation
    ("Il porto di Livorno chiuderà definitivamente a dicembre.", "NOT_ENOUGH_INFO"),  # not covered
    ("Il sindaco di Firenze si è dimesso.", "NOT_ENOUGH_INFO"),  # off topic
    ("Allo sciopero hanno aderito 1.200 lavoratori.", "CONFLICTING"),  # the reports disagree
    ("The negotiations will resume on Monday in Genoa.", "CONFLICTING"),
])
def test_verdicts(bot, claim, verdict):
    result = bot.check(claim, backend="extractive")
    assert result.verdict == verdict, [(e.n, e.doc_id, e.stance, e.rationale) for e in result.evidence]


@pytest.mark.parametrize("claim", [
    "La Francia ha offerto di ospitare il prossimo vertice europeo sul clima.",  # another country
    "Klaus Weber è il ministro degli Esteri portoghese.",  # the wrong person
    "Ana Costa è la ministra dell’Ambiente tedesca.",
    "La Germania non ha offerto di ospitare il vertice sul clima.",  # negated
    "La polizia ha effettuato 35 arresti durante le proteste.",  # the number of another unit
    "Germany refused to host the next European climate summit.",
])
def test_traps_are_never_supported(climate_bot, claim):
    result = climate_bot.check(claim, backend="extractive")
    assert result.verdict != "SUPPORTED", [(e.n, e.stance, e.rationale) for e in result.evidence]


@pytest.mark.parametrize("claim, verdict", [
    ("La Germania ha offerto di ospitare il prossimo vertice europeo sul clima.", "SUPPORTED"),
    ("Germany offered to host the next European climate summit.", "SUPPORTED"),
    ("La polizia ha effettuato 12 arresti durante le proteste.", "SUPPORTED"),
    ("La polizia ha effettuato 40 arresti durante le proteste.", "REFUTED"),
    ("La Germania non ha offerto di ospitare il vertice sul clima.", "REFUTED"),
    ("Klaus Weber è il ministro dell’Ambiente tedesco.", "SUPPORTED"),
    ("Klaus Weber è il ministro degli Esteri portoghese.", "REFUTED"),
])
def test_the_traps_true_and_false_versions(climate_bot, claim, verdict):
    result = climate_bot.check(claim, backend="extractive")
    assert result.verdict == verdict, [(e.n, e.stance, e.rationale) for e in result.evidence]


def test_a_role_given_to_someone_else_is_refuted_naming_who_holds_it(climate_bot):
    result = climate_bot.check("Ana Costa è la ministra dell’Ambiente tedesca.", backend="extractive")
    assert result.verdict == "REFUTED"
    [why] = [e.rationale for e in result.evidence if e.stance == "refutes"][:1]
    assert "Klaus Weber" in why and "carica" in why  # the rationale is in the claim's language


def test_a_person_the_passage_never_names_is_not_supported(climate_bot):
    # the offer is in the article, who announced it is not (the judge alone entails it)
    result = climate_bot.check("Peter Schmidt ha annunciato che la Germania ha offerto di ospitare il prossimo "
                               "vertice europeo sul clima.", backend="extractive")
    assert result.verdict == "NOT_ENOUGH_INFO", [(e.n, e.stance, e.rationale) for e in result.evidence]
    assert any("Peter Schmidt" in e.rationale for e in result.evidence)


def test_every_stance_carries_the_judges_probability_and_the_claims_language(climate_bot):
    result = climate_bot.check("Germany offered to host the next European climate summit.", backend="extractive")
    [supporting] = [e for e in result.evidence if e.stance == "supports"]
    assert "entailment 0." in supporting.rationale and "Germania" in supporting.text
    assert supporting.judged_by == "nli-e5-small"
    italian = climate_bot.check("La Germania ha offerto di ospitare il prossimo vertice europeo sul clima.",
                                backend="extractive")
    assert any("implicazione 0." in e.rationale for e in italian.evidence if e.stance == "supports")


def test_a_changed_number_is_refuted_with_both_values_in_the_rationale(bot):
    result = bot.check("Lo sciopero dei portuali di Livorno è durato 72 ore.", backend="extractive")
    refuting = [e for e in result.evidence if e.stance == "refutes"]
    assert refuting and all("72" in e.rationale and "48" in e.rationale for e in refuting)
    assert all("48 ore" in e.text for e in refuting)  # the cited sentence is the one that says it


def test_conflicting_shows_both_sides_per_source(bot):
    result = bot.check("Allo sciopero hanno aderito 1.200 lavoratori.", backend="extractive")
    stances = {s["doc_id"]: s["stance"] for s in result.sources}
    assert stances == {"a": "supports", "b": "refutes"}
    [conflict] = result.conflicts
    assert conflict["supports"] and conflict["refutes"] and set(conflict["doc_ids"]) == {"a", "b"}
    assert {c.doc_id for c in result.citations} == {"a", "b"}
    for n in conflict["supports"] + conflict["refutes"]:
        assert f"[{n}]" in result.answer


def test_the_verdict_rests_only_on_retrieved_passages(bot):
    result = bot.check("The dock workers' strike in Livorno lasted 48 hours.", backend="extractive", k=2)
    retrieved = {(h.doc_id, h.chunk_id) for h in result.passages}
    assert len(result.passages) == 2
    assert all((e.doc_id, e.chunk_id) in retrieved for e in result.evidence)


# -- judging with a model ------------------------------------------------------------------------


def test_parse_stance_accepts_only_the_schema():
    assert parse_stance('{"stance": "refutes", "rationale": "It says 48 hours."}') == ("refutes", "It says 48 hours.")
    assert parse_stance('```json\n{"stance": "supports", "rationale": "It states it."}\n```') == \
        ("supports", "It states it.")
    for bad in ("supports", '{"stance": "maybe", "rationale": "x"}', '{"stance": "supports"}', "[1, 2]",
                '{"stance": "supports", "rationale": "..."}'):
        assert parse_stance(bad) is None


def test_a_model_judges_the_passages_the_judge_leaves_open_with_a_json_schema(bot):
    claim = "Il porto di Livorno chiuderà definitivamente a dicembre."
    judged = bot.check(claim, backend="extractive")
    undecided = [e for e in judged.evidence if e.stance == "unrelated"]
    llm = FakeLLM(*[json.dumps({"stance": "refutes", "rationale": "The report says work resumes."})] * 5)
    result = bot.check(claim, backend=llm)
    assert result.backend == "fake"
    assert llm.calls, "a passage bears on the claim without the judge deciding it"
    assert len(llm.calls) <= len(undecided)
    assert "<passage>" in llm.calls[0][1]["content"] and claim in llm.calls[0][1]["content"]
    assert result.verdict == "REFUTED"
    assert any(e.judged_by == "fake" and e.stance == "refutes" for e in result.evidence)


def test_what_the_judge_decides_stands_against_the_model(bot):
    clash = "Lo sciopero dei portuali di Livorno è durato 72 ore."  # both reports: 48 hours
    restated = "Lo sciopero al porto di Livorno è durato 48 ore."
    for claim, model_says, never in ((clash, "supports", "SUPPORTED"), (restated, "refutes", "REFUTED")):
        judged = bot.check(claim, backend="extractive")
        decided = {e.n: e.stance for e in judged.evidence if e.stance != "unrelated"}
        assert decided, claim
        llm = FakeLLM(*[json.dumps({"stance": model_says, "rationale": "The model's view."})] * 5)
        result = bot.check(claim, backend=llm)
        assert result.verdict != never  # the model may add a view on other passages, not undo these
        for e in result.evidence:
            if e.n in decided:
                assert (e.stance, e.judged_by) == (decided[e.n], "nli-e5-small")


def test_an_invalid_model_reply_leaves_the_judges_stance(bot):
    claim = "Il porto di Livorno chiuderà definitivamente a dicembre."
    judged = bot.check(claim, backend="extractive")
    result = bot.check(claim, backend=FakeLLM(*["not json at all"] * 5))
    assert result.verdict == judged.verdict
    assert [e.stance for e in result.evidence] == [e.stance for e in judged.evidence]
    assert "was not valid" in " ".join(e.rationale for e in result.evidence)


# -- the command line on the seeds ---------------------------------------------------------------


def test_check_json_is_the_documented_object(strike_folder, bot):
    claim = "Allo sciopero hanno aderito 1.200 lavoratori."
    result = run_rag("check", claim, "--backend", "extractive", "--json", "--index", str(strike_folder / "idx"))
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {"question", "claim", "verdict", "answer", "abstained", "citations", "evidence", "conflicts",
            "sources", "backend", "timings_ms"} <= set(payload)
    assert payload["verdict"] == bot.check(claim, backend="extractive").verdict == "CONFLICTING"
    assert payload["conflicts"]
    for e in payload["evidence"]:
        assert e["stance"] in ("supports", "refutes", "unrelated") and e["rationale"]
        source = (strike_folder / f"{e['doc_id']}.txt").read_text(encoding="utf-8")
        assert source[e["start"] : e["end"]] == e["text"]
    decisive = " ".join(e["text"] for e in payload["evidence"] if e["stance"] != "unrelated")
    assert "1.200" in decisive and "800" in decisive


def test_check_rejects_an_empty_claim_in_one_line(seed_index):
    assert_one_line_error(run_rag("check", "  ", "--index", str(seed_index)), "the query is empty")
