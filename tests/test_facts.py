"""The facts a sentence states and how two sentences' facts clash: made-up examples only
(none from the seed articles), Italian and English."""

import pytest

from rag.facts import compare, extract, nationalities, same_name


def test_numbers_in_every_format_and_spelled_out():
    it = extract("Il sindaco ha detto che oltre 25.000 persone e dodici scuole sono state evacuate.", "it")
    assert [(q.value, q.unit.split()[0], q.bound) for q in it.quantities] == [(25000, "persone", True),
                                                                               (12, "scuole", False)]
    en = extract("More than 25,000 people and twelve schools were evacuated.", "en")
    assert [(q.value, q.unit.split()[0]) for q in en.quantities] == [(25000, "people"), (12, "schools")]
    assert extract("Il tasso è salito al 3,5 per cento.", "it").quantities[0].value == 3.5


def test_an_article_is_not_a_count():
    assert extract("Ha chiesto un incontro con una delegazione.", "it").quantities == []


def test_dates_weekdays_and_bare_years():
    f = extract("La conferenza si terrà il 3 marzo 2026 a Lione, dopo quella di martedì.", "it")
    assert [(d.day, d.month, d.year) for d in f.dates if d.month] == [(3, 3, 2026)]
    assert any(d.weekday == 1 for d in f.dates)
    assert [d.year for d in extract("He has led the union since 1998.", "en").dates] == [1998]
    assert extract("Marco ha firmato il contratto.", "it").dates == []  # a name, not the month of March


def test_names_places_and_their_spellings():
    f = extract("Il presidente della regione di Carinzia, Johann Brauner, ha incontrato a Lubiana il "
                "ministro Piotr Nowak.", "it")
    names = {n.text: n for n in f.names}
    assert names["Lubiana"].place and names["Carinzia"].place and not names["Johann Brauner"].place
    assert same_name("Lubiana", "Ljubljana") and same_name("Piotr Nowak", "Nowak")
    assert same_name("Stati Uniti", "United States") and same_name("Germania", "Germany")
    assert not same_name("Lubiana", "Zagabria")


def test_a_different_number_for_the_same_unit_is_a_clash():
    source = extract("L'incendio ha distrutto 40 ettari di bosco vicino a Trento.", "it")
    result = compare(extract("The fire destroyed 400 hectares of forest near Trento.", "en"), source, one_sentence=True)
    assert [(c.kind, c.statement, c.source) for c in result.clashes] == [("number", "400 hectares", "40 ettari")]
    assert compare(extract("The fire destroyed 40 hectares of forest.", "en"), source, one_sentence=True).clashes == []
    adjective_first = compare(extract("The blast wounded 30 innocent civilians.", "en"),
                              extract("L'esplosione ha ferito 13 civili innocenti e 2 agenti.", "it"))
    assert [(c.statement, c.source) for c in adjective_first.clashes] == [("30 innocent", "13 civili")]
    other_units = extract("Il vento soffiava a 60 km orari; 40 ettari sono bruciati.", "it")
    assert compare(extract("400 hectares burned.", "en"), other_units).missing  # two numbers: no guess


def test_a_different_place_or_date_is_a_clash_and_an_absent_one_is_missing():
    source = extract("Il concerto si terrà il 14 luglio a Verona.", "it")
    clash = compare(extract("The concert will take place on 14 July in Padua.", "en"), source).clashes
    assert [(c.kind, c.statement, c.source) for c in clash] == [("name", "Padua", "Verona")]
    date = compare(extract("Il concerto si terrà il 21 luglio a Verona.", "it"), source).clashes
    assert [(c.kind, c.source) for c in date] == [("date", "14 luglio")]
    missing = compare(extract("The concert will start at 9 with 300 musicians.", "en"), source)
    assert missing.clashes == [] and any("300" in m for m in missing.hard_missing)


def test_a_country_is_only_confused_with_a_country():
    source = extract("La delegazione è arrivata in Francia.", "it")
    assert compare(extract("La delegazione è arrivata in Spagna.", "it"), source).clashes
    assert not compare(extract("La delegazione è arrivata a Madrid.", "it"), source).clashes


@pytest.mark.parametrize("text, lang, negated", [
    ("Il ministro non ha firmato l'accordo.", "it", True),
    ("Il ministro ha firmato l'accordo.", "it", False),
    ("The minister did not sign the deal.", "en", True),
    ("The minister never signed it.", "en", True),
])
def test_negation(text, lang, negated):
    assert extract(text, lang).negated is negated


def test_nationalities():
    assert nationalities("il ministro degli Esteri polacco", "it") == {"pl"}
    assert nationalities("the Polish foreign minister", "en") == {"pl"}


def test_a_country_is_found_by_its_adjective():
    said = extract("The talks are about the crisis in Poland.", "en")
    assert compare(said, extract("I colloqui riguardano la crisi polacca.", "it")).missing == []
    assert compare(said, extract("I colloqui riguardano la crisi ungherese.", "it")).hard_missing == ["place: Poland"]


SOURCE_IT = ("Il sindaco di Trieste, Paolo Rinaldi, ha incontrato il ministro dei Trasporti sloveno Janez Kos "
             "e la presidente dell’autorità portuale, Elena Bassi.")
SOURCE_EN = "Slovenian Transport Minister Janez Kos met Trieste's mayor Paolo Rinaldi and port authority officials."


@pytest.mark.parametrize("claim, lang, source, clash", [
    ("Janez Kos è il sindaco di Trieste.", "it", SOURCE_IT, "Paolo Rinaldi"),  # someone else holds it
    ("Elena Bassi è il ministro dei Trasporti sloveno.", "it", SOURCE_IT, "Janez Kos"),
    ("Paolo Rinaldi è il sindaco di Capodistria.", "it", SOURCE_IT, "sindaco di Trieste"),  # same office, elsewhere
    ("Paolo Rinaldi is the Slovenian Transport Minister.", "en", SOURCE_EN, "Janez Kos"),
    ("Paolo Rinaldi è il sindaco di Trieste.", "it", SOURCE_IT, None),  # what the source says
    ("La presidente dell’autorità portuale, Elena Bassi, era presente.", "it", SOURCE_IT, None),
    ("Janez Kos is the Slovenian Transport Minister.", "en", SOURCE_EN, None),
    ("Il presidente ha incontrato Rinaldi.", "it", SOURCE_IT, None),  # no person named with an office
])
def test_an_office_given_to_the_wrong_person_is_a_clash(claim, lang, source, clash):
    clashes = [c for c in compare(extract(claim, lang), extract(source, lang)).clashes if c.kind == "role"]
    if clash is None:
        assert clashes == []
    else:
        assert len(clashes) == 1 and clash in clashes[0].source, clashes
