"""Claim detection: which parts of a paragraph or a speech state a fact worth checking.

A journalist checks a statement, not one claim at a time. `split_claims` cuts a text into
sentences (text.sentence_spans, in the text's language), sets aside what states no checkable
fact, each with a short reason, and keeps the rest as claims, each an exact span of the text:

- a question ("Chi pagherà i rimborsi?") is not a claim;
- nor a greeting ("Buongiorno a tutti.") or an exhortation ("Dobbiamo fare di più!");
- an opinion ("Secondo me è una vergogna", "I think it's a disgrace") is not one either; but
  a hedge over a number or a date ("I think 400 people were on board") still states it, and
  the claim is what follows the hedge;
- what is left is a claim when it names someone or something, or gives a number or a date
  (facts.extract): that is what a source can confirm or contradict. Anything else "states no fact".

A compound sentence is cut in two only where each part keeps its own named subject:
"Luca Bertini ha detto che il guasto è stato riparato, e Anna Ricci ha chiesto più
collegamenti." A wrong cut makes a wrong claim ("Milan last week" out of "he visited Rome and
Milan last week"), so the rules are strict and, in doubt, the sentence stays whole (_clauses).
"""

from __future__ import annotations

import functools
import re

from . import facts
from .text import _all_stopwords, detect_language, fold, sentence_spans
from .types import ClaimSpan

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")

# -- what is not a claim, per language ---------------------------------------------------------

# A connective before a hedge or an exhortation: "Ma secondo me…", "And I think…".
_LEAD = (r"(?:(?:ma|e|però|quindi|onestamente|sinceramente|francamente|and|but|so|well|honestly|frankly"
         r"|mais|et|donc|franchement|aber|und|ehrlich gesagt|pero|y|mas|então)\s*,?\s+)?")
# Opinion markers, every language at once (they do not clash, and a short text's language is
# often a guess). Each may be followed by a comma or "that".
_HEDGES = (
    r"secondo (?:me|noi)|a (?:mio|nostro) (?:parere|avviso|giudizio|modo di vedere)|per me|personalmente"
    r"|(?:io )?(?:penso|credo|ritengo|trovo|temo) che|mi (?:sembra|pare) che|sono (?:convinto|convinta) che"
    r"|I (?:think|believe|feel|guess|suppose)|we (?:think|believe)|in (?:my|our) (?:opinion|view)|personally"
    r"|it seems to me|I'm convinced|I am convinced"
    r"|à mon avis|selon moi|je (?:pense|crois|trouve) qu(?:e|’|')|il me semble qu(?:e|’|')|personnellement"
    r"|meiner Meinung nach|meines Erachtens|ich (?:glaube|denke|finde|meine)|mir scheint"
    r"|en mi opinión|a mi (?:juicio|parecer)|(?:yo )?(?:creo|pienso) que|me parece que|para mí"
    r"|na minha opinião|a meu ver|(?:eu )?(?:acho|creio|penso) que|para mim|pessoalmente"
)
_HEDGE_START = re.compile(rf"^{_LEAD}(?:{_HEDGES})(?:\s+(?:that|che|dass))?\b\s*,?\s*", re.IGNORECASE)
# ... or a hedge at the end: "Il traghetto aveva 400 passeggeri, credo."
_HEDGE_END = re.compile(r",\s*(?:credo|penso|secondo me|a mio parere|I think|I believe|I guess|je crois|je pense"
                        r"|glaube ich|denke ich|creo|pienso|acho eu|acho)\s*[.!…]*\s*$", re.IGNORECASE)
_EXHORTATION = re.compile(
    rf"^{_LEAD}(?:dobbiamo|bisogna|occorre|è (?:ora|tempo) di|è necessario|facciamo|chiedo a tutti|invito tutti"
    r"|we (?:must|need to|should|have to|ought to)|let us|let's|it is time to|it's time to|I urge|I call on"
    r"|nous devons|il faut|faisons|wir müssen|wir sollten|lasst uns|debemos|tenemos que|hay que"
    r"|devemos|temos que|precisamos)\b", re.IGNORECASE)
# A greeting or thanks, standing alone or addressed: "Buongiorno a tutti.", "Thank you, Mr
# President." ("Grazie al lavoro di…", "Welcome to Livorno, where…" go on to say something.)
_GREETING = re.compile(
    r"^(?:buongiorno|buonasera|buon pomeriggio|salve|ciao|grazie(?: mille)?|benvenut[ie]|(?:gentili )?signore e signori"
    r"|good (?:morning|afternoon|evening)|hello|hi|thank you(?: very much)?|thanks|welcome|ladies and gentlemen"
    r"|bonjour|bonsoir|merci(?: beaucoup)?|bienvenue|mesdames et messieurs|guten (?:morgen|tag|abend)|hallo"
    r"|danke(?: schön)?|willkommen|meine damen und herren|buenos días|buenas (?:tardes|noches)|hola"
    r"|(?:muchas )?gracias|bienvenid[oa]s|señoras y señores|bom dia|boa (?:tarde|noite)|olá|obrigad[oa]"
    r"|bem-vind[oa]s|senhoras e senhores)"
    r"(?=\s*(?:[,.!;:]|$)|\s+(?:a tutti|everyone|everybody|all|à tous|a todos|allen|a todas)\b)", re.IGNORECASE)
# Words that say how much without a figure: "La disoccupazione è raddoppiata", "two ferries".
_MAGNITUDE = {
    "it": r"raddoppiat\w*|triplicat\w*|dimezzat\w*|due",
    "en": r"doubled|tripled|halved|two",
    "fr": r"doublée?s?|triplée?s?|deux",
    "de": r"verdoppelt\w*|verdreifacht\w*|halbiert\w*|zwei",
    "es": r"duplicad[oa]s?|duplicó|triplicad[oa]s?|dos",
    "pt": r"dobrou|dobraram|duplicou|triplicou|dois|duas",
}

# -- the words the clause rules read ----------------------------------------------------------

# Prepositions, conjunctions and words that open a subordinate clause (folded): a word before
# a name that is one of these makes the name an object or a complement, not a subject
# ("L'incontro tra Rossi e Bianchi è durato due ore").
_FUNCTION = {
    "it": "di a da in con su per tra fra del della dei degli delle dello dell al alla ai agli alle allo dal dalla "
          "dai dagli nel nella nei negli nelle sul sulla sui secondo dopo prima durante verso contro senza presso "
          "che chi cui se quando perche mentre come dove e ed o ma",
    "en": "of in on at by for with from to about after before during between among against without under over "
          "into according that which who whom whose if when because while as where and or but than",
    "fr": "de du des a au aux en dans par pour avec sur sans selon apres avant pendant entre contre chez que qui "
          "dont si quand parce comme ou et mais",
    "de": "von vom zu zum zur mit bei beim nach aus fur uber unter gegen ohne zwischen wahrend laut in im an am auf "
          "dass welche welcher wenn weil als ob und oder aber",
    "es": "de del a al en con por para sobre sin segun tras entre contra desde hasta durante que quien cuyo si "
          "cuando porque mientras como donde y e o pero",
    "pt": "de do da dos das a ao aos em no na nos nas com por para sobre sem segundo entre contra desde ate durante "
          "que quem cujo se quando porque enquanto como onde e ou mas",
}
# Finite verbs that most often follow a subject in news and speeches (lowercase, as written):
# they tell "…, e Anna Ricci ha chiesto…" (a clause) from "…e Anna Ricci per il loro lavoro".
_VERBS = {
    "it": "ha hanno è sono era erano fu furono sarà saranno aveva avevano avrà sta stanno resta rimane deve devono "
          "può possono vuole vogliono dice dicono disse chiede chiese annuncia afferma dichiara sostiene nega conferma",
    "en": "has have had is are was were will would can could may might must said says told asked",
    "fr": "a ont est sont était étaient sera seront avait avaient va vont doit peut veut dit affirme déclare",
    "de": "hat haben ist sind war waren hatte hatten wird werden soll kann muss will sagte sagt erklärte",
    "es": "ha han es son era eran fue fueron será serán había habían está están dijo afirmó declaró",
    "pt": "tem têm é são era eram foi foram será serão havia está estão disse afirmou declarou",
}
_VERB_ENDINGS = {"it": ("ò",), "en": ("ed",), "es": ("ó",), "pt": ("ou",)}  # annunciò, resigned, anunció, anunciou
# Coordinating words that may open a second main clause (lowercase, mid-sentence).
_JOINS = {"it": "e|ed|ma|mentre", "en": "and|but|while|whereas", "fr": "et|mais|tandis que|alors que",
          "de": "und|aber|während", "es": "y|e|pero|mientras", "pt": "e|mas|enquanto"}
# Words that point back to the first clause ("…, and Bianchi confirmed it"): a second clause
# holding one says nothing on its own. Object clitics only in Italian and before a verb ("lo
# ha"): "lo", "la", "le" (and French, Spanish, Portuguese ones) are articles too.
_BACK = {
    "it": r"ciò|questo|questa|quello|quella|lui|lei|esso|essa|(?:lo|la|li|le|l['’])\s*(?:ha|hanno|aveva|avevano|è|sono)",
    "en": r"it|this|that|these|those|he|she|they|him|her|them|his|its|their",
    "fr": r"il|elle|ils|elles|cela|ça|ceci|lui|leur",
    "de": r"er|sie|es|ihn|ihm|ihr|ihnen|dies|dieser|dieses",
    "es": r"él|ella|ellos|ellas|esto|eso|ello",
    "pt": r"ele|ela|eles|elas|isto|isso|lhe|lhes",
}
# What opens reported speech or a subordinate clause.
_THAT = re.compile(r"\b(?:che|that|que|qu['’]|dass)\b", re.IGNORECASE)
# Quoted speech and asides: who asserts what changes inside them; such a sentence is never cut.
_QUOTES = re.compile(r"[\"“”«»„()\[\]]")
# sentencex's Italian list takes "ore" (hours) and "via" for abbreviations, so "…per sei ore.
# Secondo me…" would be one sentence, and an opinion would ride on a fact; in news and speeches
# both end a sentence far more often than they abbreviate anything.
_MISSED_END = {"it": re.compile(r"\b(?:ore|via)\.\s+(?=[A-ZÀ-Ý])")}


# Words that open a sentence before a verb and are no name ("Oggi è…", "Nobody has…"), folded:
# the stopword lists leave them out.
_NOT_NAMES = frozenset(fold(w) for w in (
    "oggi ieri domani stamattina stasera ora adesso poi allora infine finalmente purtroppo nessuno qualcuno ognuno "
    "chiunque tutto niente nulla today yesterday tomorrow tonight now then finally unfortunately everyone "
    "everybody nobody someone somebody something nothing everything aujourd'hui hier demain maintenant enfin "
    "personne quelqu'un tout rien heute gestern morgen jetzt endlich niemand jemand alles nichts hoy ayer mañana "
    "ahora nadie alguien todo nada hoje ontem amanhã agora ninguém alguém tudo").split())


@functools.lru_cache(maxsize=4096)
def _facts(part: str, lang: str | None) -> facts.Facts:
    """facts.extract, once per text: a sentence is read for names, then its clauses."""
    return facts.extract(part, lang)


@functools.lru_cache(maxsize=None)
def _words_of(table: str, lang: str) -> frozenset[str]:
    source = {"function": _FUNCTION, "verbs": _VERBS}[table]
    return frozenset(source.get(lang, source["en"]).split())


def split_claims(text: str, lang: str | None = None) -> tuple[list[ClaimSpan], list[dict]]:
    """The check-worthy claims of `text`, in order, and what was skipped, as
    {"text", "why", "start", "end"} (why: "a question", "an opinion", "states no fact", ...).
    Every claim's and skipped item's text is text[start:end]."""
    lang = lang or detect_language(text)
    sentences = _sentences(text, lang)
    # A surname opening a sentence looks like any capitalised word ("Bertini ha detto…"):
    # a word the text uses in a name elsewhere is taken for one.
    named = {fold(w) for a, b in sentences for n in _facts(text[a:b], lang).names
             for w in _WORD.findall(n.text) if len(w) > 3}
    claims: list[ClaimSpan] = []
    skipped: list[dict] = []

    def skip(a: int, b: int, why: str) -> None:
        skipped.append({"text": text[a:b], "why": why, "start": a, "end": b})

    for a, b in sentences:
        sentence = text[a:b]
        if sentence.rstrip("\"'”»’)] ").endswith("?") or sentence.startswith("¿"):
            skip(a, b, "a question")
            continue
        for ca, cb in _clauses(text, a, b, lang):
            start, end, why = _claim(text, ca, cb, lang, named)
            if why:
                skip(ca, cb, why)
            else:
                claims.append(ClaimSpan(text[start:end], start, end))
    return claims, skipped


def _sentences(text: str, lang: str | None) -> list[tuple[int, int]]:
    spans = []
    missed = _MISSED_END.get(lang or "")
    for a, b in sentence_spans(text, lang=lang):
        cuts = [m.end() for m in missed.finditer(text, a, b)] if missed else []
        for x, y in zip([a, *cuts], [*cuts, b]):
            while y > x and text[y - 1].isspace():
                y -= 1
            spans.append((x, y))
    return spans


def _claim(text: str, a: int, b: int, lang: str | None, named: set[str]) -> tuple[int, int, str | None]:
    """The claim in text[a:b] (its span, maybe without a hedge) or why it is not one."""
    part = text[a:b]
    if _GREETING.search(part):
        return a, b, "a greeting"
    hedge = _HEDGE_START.search(part)
    tail = _HEDGE_END.search(part)
    if hedge or tail:
        start, end = a + (hedge.end() if hedge else 0), a + (tail.start() if tail else len(part))
        rest = text[start:end]
        stated = _facts(rest, lang)
        if rest.strip() and (stated.quantities or stated.dates or _magnitude(rest, lang)):
            return start, end, None  # "I think 400 people were on board": the number is checkable
        return a, b, "an opinion"
    if _EXHORTATION.search(part):
        return a, b, "an exhortation"
    stated = _facts(part, lang)
    first = _WORD.search(part)
    if stated.names or stated.quantities or stated.dates or _magnitude(part, lang) \
            or (first and fold(first.group()) in named) or _initial_name(part, lang):
        return a, b, None
    return a, b, "states no fact (no name, number or date)"


def _magnitude(part: str, lang: str | None) -> bool:
    words = _MAGNITUDE.get(lang or "")
    return bool(words and re.search(rf"\b(?:{words})\b", part, re.IGNORECASE))


def _initial_name(part: str, lang: str | None) -> tuple[int, int] | None:
    """A capitalised first word right before a verb, that is no common word: the surname in
    "Bertini ha detto…", which facts.extract cannot tell from "Molti" or "Oggi"."""
    tokens = list(_WORD.finditer(part))[:2]
    if len(tokens) < 2 or not tokens[0].group()[:1].isupper():
        return None
    word = fold(tokens[0].group())
    if word in _all_stopwords() or word in _NOT_NAMES or word in facts._language_words() or len(word) < 3:
        return None
    return (tokens[0].start(), tokens[0].end()) if _is_verb(tokens[1].group(), lang) else None


def _is_verb(word: str, lang: str | None) -> bool:
    return word.islower() and (word in _words_of("verbs", lang or "en")
                               or any(word.endswith(e) and len(word) > 4 for e in _VERB_ENDINGS.get(lang or "", ())))


# -- compound sentences -----------------------------------------------------------------------


def _clauses(text: str, a: int, b: int, lang: str | None) -> list[tuple[int, int]]:
    """text[a:b] cut before each "and"/"e"/"mais"… (or ";") that opens a clause with its own
    named subject, other than the clause before it; otherwise the sentence whole.

    A cut needs all of: no quotes or brackets in the sentence; the part before it begins with
    its subject (a name after at most three words, none a preposition or conjunction: "Il
    direttore Luca Bertini", not "L'incontro tra Rossi") and says at least two words more,
    and does not end in a list of names ("Roma, Napoli, e Milano"); after the conjunction
    another name (again after at most three such words), then two words at least, the first
    a verb ("ha", "said", "annunciò") or, after a comma, a lowercase word that is no
    preposition or article; and nothing in the second part pointing back to the first ("…, and
    Bianchi confirmed it"). Without a comma, the first part must hold no "che"/"that": the
    second might be part of what was said."""
    sentence = text[a:b]
    if _QUOTES.search(sentence):
        return [(a, b)]
    names = _name_spans(sentence, lang)
    joins = _JOINS.get(lang or "", _JOINS["en"])
    function = _words_of("function", lang or "en")
    cuts = []
    left_subject = _subject(sentence, 0, len(sentence), names, function, lang)
    for m in re.finditer(rf"(?P<punct>\s*[,;])?\s+(?:{joins})\s+|\s*;\s+", sentence):
        if left_subject is None:
            break
        comma = bool(m.group("punct")) or ";" in m.group()
        left_end = m.start()
        subject_end = left_subject[1]
        said = list(_WORD.finditer(sentence, subject_end, left_end))
        if len(said) < 2 or (not comma and _THAT.search(sentence, subject_end, left_end)):
            continue
        last = next((n for n in reversed(names) if n[0] < left_end), None)
        if last and last[1] == len(sentence[:left_end].rstrip(" ,;")) and \
                sentence[:last[0]].rstrip().endswith(","):
            continue  # "Rome, Naples, and Milan…": a list
        right = _subject(sentence, m.end(), len(sentence), names, function, lang)
        if right is None or facts.same_name(sentence[slice(*left_subject)], sentence[slice(*right)]):
            continue
        after = list(_WORD.finditer(sentence, right[1]))
        if len(after) < 2 or sentence[right[1]:after[0].start()].strip():
            continue  # "…e Anna Ricci, sindaca…": an aside; "…, and Ricci agreed.": agreed to what?
        back = _BACK.get(lang or "", _BACK["en"])
        if re.search(rf"\b(?:{back})\b", sentence[right[1]:], re.IGNORECASE):
            continue
        verb = after[0].group()  # a verb first: French "a" (has) folds to "a" (to)
        if not (_is_verb(verb, lang) or (comma and verb.islower()
                                         and fold(verb) not in function and fold(verb) not in facts._ARTICLES)):
            continue  # "…, and Bianchi the minister": no verb, no clause
        cuts.append((left_end, m.end()))
        left_subject = right
    pieces, start = [], 0
    for left_end, right_start in cuts:
        pieces.append((a + start, a + left_end))
        start = right_start
    pieces.append((a + start, b))
    return pieces


def _name_spans(sentence: str, lang: str | None) -> list[tuple[int, int]]:
    """Where facts.extract's names are in the sentence, in order."""
    spans, pos = [], 0
    for name in _facts(sentence, lang).names:
        at = sentence.find(name.text, pos)
        if at >= 0:
            spans.append((at, at + len(name.text)))
            pos = at + len(name.text)
    return spans


def _subject(sentence: str, start: int, end: int, names, function, lang) -> tuple[int, int] | None:
    """The named subject a clause opens with, as a span, or None."""
    if start == 0:  # "Bertini ha detto…": a surname opening the sentence
        initial = _initial_name(sentence[:end], lang)
        if initial:
            return initial
    name = next((n for n in names if start <= n[0] < end), None)
    if name is None:
        return None
    lead = list(_WORD.finditer(sentence, start, name[0]))
    if len(lead) > 3 or any(fold(w.group()) in function for w in lead):
        return None
    return name
