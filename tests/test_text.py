"""The language guess that picks the reply's language, the stemmer and the name checks.

A short question in the chat ("E quando doveva tenersi?") must not be taken for Portuguese or
English: the reply would come in the wrong language and the names it asks about would go
unchecked (names are compared only within one language)."""

import pytest

from rag.text import detect_language


@pytest.mark.parametrize("text, lang", [
    ("E quando doveva tenersi?", "it"),
    ("Chi è Lavrov?", "it"),
    ("Quanti morti?", "it"),
    ("Quando ha riaperto il Museo Egizio?", "it"),  # function words alone: Portuguese ("quando")
    ("Quali treni del nord del Piemonte?", "it"),  # function words alone: no guess
    ("Dove si terrà il vertice?", "it"),
    ("Who is Lavrov?", "en"),
    ("When was it?", "en"),
    ("Andriy Sybiga is Ukraine's defence minister.", "en"),
    ("Quem é o presidente?", "pt"),
    ("Qui est le président?", "fr"),
    ("Wann beginnt der Streik?", "de"),
    ("¿Dónde está el puerto?", "es"),
])
def test_short_questions_are_given_their_language(text, lang):
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", ["Quando?", "E quando?", "Lavrov?", "12345", "   "])
def test_a_text_that_could_be_several_languages_is_left_to_the_corpus_language(text):
    # "Quando?" is Italian, Spanish and Portuguese alike: the caller's default decides.
    assert detect_language(text) is None
