"""Checking a paragraph: claim detection (rag/claims.py) on made-up statements, then
FactChecker.check_text and `rag check --split` on the made-up corpus (tests/corpus.py).

Every sentence here is written for these tests; none restates the gold set (eval/)."""

import json

import pytest
from conftest import assert_one_line_error, run_rag

from rag import RagError, Settings, TextCheck
from rag.claims import split_claims

SPEECH_IT = ("Buongiorno a tutti. Il traghetto Aurora ha lasciato Livorno con 250 passeggeri il 4 marzo. "
             "Secondo me è una vergogna. Chi pagherà i danni? Dobbiamo fare di più per le isole! "
             "Marta Neri ha aperto la nuova scuola di Lucca, e Paolo Conti ha chiuso il vecchio ospedale.")
SPEECH_EN = ("Good evening, everyone. I think it's a disgrace. The council of Pisa spent 3 million euros on "
             "the bridge in 2024. Who will pay for it? Let us build a better city! "
             "Mayor Laura Greco opened the library, and Tom Baker closed the old market.")


def split(text, lang=None):
    claims, skipped = split_claims(text, lang)
    for item in [*(vars(c) for c in claims), *skipped]:  # every span is exactly where it was said
        assert text[item["start"]:item["end"]] == item["text"]
    return [c.text for c in claims], {s["text"]: s["why"] for s in skipped}


def test_an_italian_speech_keeps_its_facts_and_says_why_the_rest_is_not_checked():
    claims, skipped = split(SPEECH_IT)
    assert claims == ["Il traghetto Aurora ha lasciato Livorno con 250 passeggeri il 4 marzo.",
                      "Marta Neri ha aperto la nuova scuola di Lucca",
                      "Paolo Conti ha chiuso il vecchio ospedale."]
    assert skipped == {"Buongiorno a tutti.": "a greeting", "Secondo me è una vergogna.": "an opinion",
                       "Chi pagherà i danni?": "a question",
                       "Dobbiamo fare di più per le isole!": "an exhortation"}


def test_an_english_speech_likewise():
    claims, skipped = split(SPEECH_EN)
    assert claims == ["The council of Pisa spent 3 million euros on the bridge in 2024.",
                      "Mayor Laura Greco opened the library", "Tom Baker closed the old market."]
    assert skipped == {"Good evening, everyone.": "a greeting", "I think it's a disgrace.": "an opinion",
                       "Who will pay for it?": "a question", "Let us build a better city!": "an exhortation"}


@pytest.mark.parametrize("text, why", [
    ("Penso che Paolo Conti abbia sbagliato tutto.", "an opinion"),  # a hedge over a name: a judgement
    ("In my opinion, Laura Greco is the best mayor we ever had.", "an opinion"),
    ("À mon avis, c'est une honte.", "an opinion"),
    ("Meiner Meinung nach ist das ein Skandal.", "an opinion"),
    ("Non è giusto!", "states no fact (no name, number or date)"),
    ("The minister resigned.", "states no fact (no name, number or date)"),  # known limit: no name, no number
    ("¿Quién pagará las obras?", "a question"),
    ("Thank you, Mr President.", "a greeting"),
])
def test_what_is_not_a_claim(text, why):
    assert split(text) == ([], {text: why})


def test_a_hedge_over_a_number_still_states_the_number():
    assert split("Secondo me, a bordo c'erano 250 passeggeri.")[0] == ["a bordo c'erano 250 passeggeri."]
    assert split("The bridge cost 3 million euros, I think.")[0] == ["The bridge cost 3 million euros"]


@pytest.mark.parametrize("text", [
    # one subject, two predicates: cutting would leave the second without its subject
    "Marta Neri ha aperto la scuola di Lucca e ha promesso una palestra.",
    "Laura Greco said the library would open in May and the market would close.",
    # the second name is an object, a list item, or inside reported speech or a quotation
    "Marta Neri ha ringraziato la Croce Rossa e Paolo Conti per il loro lavoro.",
    "Laura Greco visited Pisa, Siena, and Lucca last week.",
    "L'incontro tra Marta Neri e Paolo Conti è durato tre ore.",
    "Marta Neri ha detto che la scuola aprirà e Paolo Conti ha torto.",
    "«Marta Neri ha mentito, e Paolo Conti lo sa», ha detto il consigliere.",
    "Il sindaco Marta Neri e Paolo Conti hanno firmato l'accordo.",
    # the second part leans on the first: confirmed what? agreed to what?
    "Laura Greco promised a new library, and Tom Baker confirmed it on Monday.",
    "Laura Greco said the library would reopen, and Tom Baker agreed.",
])
def test_a_sentence_that_is_not_safely_two_claims_stays_whole(text):
    assert split(text)[0] == [text]


def test_a_compound_sentence_with_two_named_subjects_is_two_claims():
    text = "Marta Neri è la sindaca di Lucca e Paolo Conti è il direttore dell'ospedale."
    assert split(text)[0] == ["Marta Neri è la sindaca di Lucca", "Paolo Conti è il direttore dell'ospedale."]
    text = "Laura Greco opened the library in Pisa; Tom Baker closed the market."
    assert split(text)[0] == ["Laura Greco opened the library in Pisa", "Tom Baker closed the market."]


def test_a_single_claim_without_a_full_stop_is_a_claim():
    assert split("Il traghetto Aurora aveva 250 passeggeri")[0] == ["Il traghetto Aurora aveva 250 passeggeri"]


def test_a_sentence_ending_in_ore_is_not_run_into_the_next():
    # sentencex's Italian list takes "ore." for an abbreviation
    claims, skipped = split("Il traghetto è rimasto fermo a Livorno per sei ore. Secondo me è uno scandalo.")
    assert claims == ["Il traghetto è rimasto fermo a Livorno per sei ore."]
    assert skipped == {"Secondo me è uno scandalo.": "an opinion"}


def test_a_surname_opening_a_sentence_is_a_name():
    # facts.extract reads a lone capitalised first word as a common one; before a verb it is a name
    assert split("Conti ha chiuso il vecchio ospedale.")[0] == ["Conti ha chiuso il vecchio ospedale."]
    assert split("Paolo Conti è il direttore. Conti si è dimesso.")[0] == [
        "Paolo Conti è il direttore.", "Conti si è dimesso."]


# -- check_text on the made-up corpus ----------------------------------------------------------

PARAGRAPH = ("Buonasera a tutti. Chiara Galli ha presentato le nuove sale della pinacoteca, e Anna Ricci ha "
             "chiesto alla Regione più collegamenti. Secondo me è una splendida notizia. Quanto costa il biglietto? "
             "L'ingresso alla pinacoteca di Bergamo costerà 30 euro.")


def test_check_text_gives_one_verdict_per_claim(corpus_bot):
    result = corpus_bot.check_text(PARAGRAPH, backend="extractive")
    assert isinstance(result, TextCheck)
    assert [c.text for c in result.claims] == [
        "Chiara Galli ha presentato le nuove sale della pinacoteca", "Anna Ricci ha chiesto alla Regione più collegamenti.",
        "L'ingresso alla pinacoteca di Bergamo costerà 30 euro."]
    assert [v.claim for v in result.verdicts] == [c.text for c in result.claims]
    assert all(PARAGRAPH[c.start:c.end] == c.text for c in result.claims)
    stated, also_stated, made_up = result.verdicts
    assert stated.verdict == "SUPPORTED" and also_stated.verdict == "SUPPORTED"  # both in the articles
    assert made_up.verdict != "SUPPORTED"  # the article says 12 euros
    assert [(s["text"], s["why"]) for s in result.skipped] == [
        ("Buonasera a tutti.", "a greeting"), ("Secondo me è una splendida notizia.", "an opinion"),
        ("Quanto costa il biglietto?", "a question")]
    summary = result.summary
    assert summary["claims"] == 3 and summary["skipped"] == 3
    assert summary["SUPPORTED"] == 2 and sum(summary[v] for v in ("REFUTED", "NOT_ENOUGH_INFO", "CONFLICTING")) == 1


def test_check_text_to_dict_keeps_each_claims_place(corpus_bot):
    data = corpus_bot.check_text(PARAGRAPH, backend="extractive").to_dict()
    assert set(data) == {"text", "claims", "skipped", "summary", "timings_ms"}
    for claim in data["claims"]:  # each is what `rag check --json` prints, and where the claim is
        assert {"start", "end", "claim", "question", "verdict", "answer", "evidence", "sources"} <= set(claim)
        assert PARAGRAPH[claim["start"]:claim["end"]] == claim["claim"]
    json.dumps(data)


def test_claims_over_the_limit_are_skipped_and_say_so(corpus_bot):
    corpus_bot.settings.verify.max_claims = 1
    result = corpus_bot.check_text(PARAGRAPH, backend="extractive")
    assert len(result.verdicts) == 1 and result.claims[0].text.startswith("Chiara Galli")
    over = [s for s in result.skipped if s["why"].startswith("over the limit")]
    assert [s["text"] for s in over] == ["Anna Ricci ha chiesto alla Regione più collegamenti.",
                                         "L'ingresso alla pinacoteca di Bergamo costerà 30 euro."]
    assert [s["start"] for s in result.skipped] == sorted(s["start"] for s in result.skipped)  # text order


def test_auto_chooses_the_backend_once_for_all_claims(corpus_bot, monkeypatch):
    import rag.factchecker

    calls = []
    monkeypatch.setattr(rag.factchecker, "choose", lambda settings, job: calls.append(job) or (None, "no model here"))
    result = corpus_bot.check_text(PARAGRAPH)
    assert len(result.verdicts) == 3 and calls == ["claim"]  # `auto` probes Ollama once, not per claim
    assert all(v.backend_reason == "no model here" for v in result.verdicts)


def test_a_text_with_no_claim_is_an_empty_result_and_an_empty_text_an_error(corpus_bot):
    result = corpus_bot.check_text("Secondo me è una vergogna. Chi pagherà?", backend="extractive")
    assert result.verdicts == [] and [s["why"] for s in result.skipped] == ["an opinion", "a question"]
    assert result.summary["claims"] == 0
    for bad, message in (("   \n", "the text is empty"), (None, "must be a string")):
        with pytest.raises(RagError, match=message):
            corpus_bot.check_text(bad)


def test_the_limit_is_a_setting(monkeypatch):
    monkeypatch.setenv("RAG_VERIFY_MAX_CLAIMS", "3")
    assert Settings.load().verify.max_claims == 3
    monkeypatch.setenv("RAG_VERIFY_MAX_CLAIMS", "0")
    with pytest.raises(RagError, match="max_claims"):
        Settings.load()


# -- the command line --------------------------------------------------------------------------


def test_check_split_prints_each_verdict_the_skipped_and_a_summary(corpus_index):
    result = run_rag("check", "--split", PARAGRAPH, "--backend", "extractive", "--index", str(corpus_index))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "── Claim 1 of 3" in out and "── Claim 3 of 3" in out
    assert out.count("\nSUPPORTED\n") == 2  # each claim printed as `rag check` prints one
    assert "Not checked:" in out and "“Quanto costa il biglietto?”: a question" in out
    assert "“Secondo me è una splendida notizia.”: an opinion" in out
    assert out.rstrip().splitlines()[-1].startswith("3 claims checked: 2 SUPPORTED")
    assert out.rstrip().endswith("; 3 not checked")


def test_check_split_json_from_stdin_is_the_text_check(corpus_index, corpus_bot):
    result = run_rag("check", "--split", "--file", "-", "--json", "--backend", "extractive",
                     "--index", str(corpus_index), input=PARAGRAPH)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)  # one JSON object on stdout
    assert payload["text"] == PARAGRAPH
    expected = corpus_bot.check_text(PARAGRAPH, backend="extractive")
    assert [(c["start"], c["end"], c["verdict"]) for c in payload["claims"]] == \
        [(c.start, c.end, v.verdict) for c, v in zip(expected.claims, expected.verdicts)]
    assert payload["summary"] == expected.summary
    assert [s["why"] for s in payload["skipped"]] == ["a greeting", "an opinion", "a question"]


def test_check_split_reads_a_file(corpus_index, tmp_path):
    speech = tmp_path / "speech.txt"
    speech.write_text("Chi pagherà?\nL'ingresso alla pinacoteca di Bergamo costerà 30 euro.\n", encoding="utf-8")
    result = run_rag("check", "--split", "--file", str(speech), "--json", "--backend", "extractive",
                     "--index", str(corpus_index))
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [c["claim"] for c in payload["claims"]] == ["L'ingresso alla pinacoteca di Bergamo costerà 30 euro."]
    assert payload["claims"][0]["verdict"] != "SUPPORTED"


@pytest.mark.parametrize("args, fragment", [
    (["--file", "/no/such/speech.txt"], "cannot read /no/such/speech.txt"),
    ([], "give a claim to check, or --file"),
])
def test_check_split_input_errors_are_one_line(corpus_index, args, fragment):
    result = run_rag("check", "--split", *args, "--index", str(corpus_index))
    assert_one_line_error(result, fragment)
    assert result.stdout == ""
