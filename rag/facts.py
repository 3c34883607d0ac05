"""The checkable facts a sentence states, and how two sentences' facts agree or clash.

A sentence's facts are its quantities ("oltre 100.000 residenti"), dates ("12 novembre",
"lunedì"), proper names ("Marco Rubio", "Ginevra") and whether it is negated. Comparing a
statement's facts with a source's answers two questions without any model:

- is everything the statement asserts there in the source? (answer validation)
- does the source give a *different* value for the same slot: another number for the same
  unit, another date, another place? (claim checking: a refutation)

It is deliberately transparent: every clash carries what the statement says and what the
source says instead, so a verdict can explain itself. Names match across spellings and
languages by fuzzy matching ("Serghei"/"Sergej", "Ginevra"/"Geneva") and by babel's
localised country names ("Stati Uniti"/"United States").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from .text import _LANGS, _all_stopwords, fold

LOCALES = tuple(_LANGS)  # the languages text.py can tell apart: it, en, fr, de, es, pt
NAME_SIMILARITY = 70  # rapidfuzz ratio (0-100) above which two names are spellings of one
UNIT_SIMILARITY = 70  # ... and two unit words ("residenti"/"residents") the same unit

# A number as written: 100.000 / 100,000 / 1,5 / 24 (a separator before exactly three digits
# groups thousands; otherwise it is a decimal point).
_NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?:[.,\u202f\u00a0 ]\d{3})+(?![\dªº]|[^\W\d_])"
                     r"|(?<![\w.,])\d+(?:[.,]\d+)?(?![\dªº]|[^\W\d_])")  # not "5ª", "5th": ordinals
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
# Words that qualify a quantity as a bound rather than an exact count.
_APPROX = {"oltre", "piu", "circa", "quasi", "almeno", "over", "more", "about", "around", "nearly",
           "almost", "least", "than", "di", "plus", "environ", "presque", "uber", "fast", "etwa",
           "mehr", "als", "mas", "casi", "cerca", "de", "mais", "quase"}
# Negation words per language (folded). A sentence is negated when it holds one.
_NEGATIONS = {
    "it": {"non", "mai", "nessuno", "nessuna", "nessun", "niente", "nulla", "ne"},
    "en": {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "cannot",
           "didn't", "doesn't", "don't", "isn't", "wasn't", "weren't", "won't", "hasn't", "haven't",
           "hadn't", "aren't", "couldn't", "wouldn't", "shouldn't"},
    "fr": {"ne", "pas", "jamais", "aucun", "aucune", "personne", "rien"},
    "de": {"nicht", "kein", "keine", "keinen", "keinem", "keiner", "nie", "niemals", "nichts"},
    "es": {"no", "nunca", "ningun", "ninguno", "ninguna", "nada", "nadie"},
    "pt": {"nao", "nunca", "nenhum", "nenhuma", "nada", "ninguem"},
}
# Prepositions before a place name ("a Ginevra", "in Geneva"): they mark a name as a place.
_LOCATIVE = {
    "it": {"a", "in", "da", "presso", "verso", "nel", "nella", "vicino"},
    "en": {"in", "at", "to", "from", "near", "into"},
    "fr": {"a", "en", "au", "aux", "dans", "de", "vers", "pres"},
    "de": {"in", "nach", "im", "bei", "aus", "von"},
    "es": {"a", "en", "de", "desde", "hacia", "cerca"},
    "pt": {"a", "em", "no", "na", "de", "para", "perto"},
}
# Nouns that make the name next to them a place: "la regione di Kursk", "the Kursk region".
_PLACE_NOUNS = {"regione", "region", "citta", "city", "provincia", "province", "villaggio", "village",
                "town", "capitale", "capital", "oblast", "comune", "paese", "ville", "stadt", "ciudad",
                "cidade", "region", "zona", "area", "distretto", "district"}
# Sentence starts, so a capitalised first word is not taken for a name.
_OPENERS = re.compile(r"(^|[.!?:;…–—\n«“\"(]\s*)$")


@dataclass(frozen=True)
class Quantity:
    value: float
    text: str  # as written, e.g. "100.000"
    unit: str  # the folded two words after it, e.g. "residenti il" ("" when none)
    bound: bool = False  # "oltre 100.000", "more than 190": a bound, not an exact count


@dataclass(frozen=True)
class DateRef:
    text: str
    day: int | None = None
    month: int | None = None
    year: int | None = None
    weekday: int | None = None  # 0 = Monday


@dataclass(frozen=True)
class Name:
    text: str  # as written, e.g. "Marco Rubio"
    place: bool = False  # after a locative preposition, or a country
    of: bool = False  # after "di"/"of": the complement of a role ("governatore di Belgorod")


@dataclass(frozen=True)
class Role:
    """A person named with an office: "il ministro degli Esteri russo Serghei Lavrov"."""

    person: str  # "Serghei Lavrov"
    text: str  # the office as written: "ministro degli Esteri russo"
    head: str  # the office's noun, stemmed: "ministr"
    qualifiers: frozenset[str]  # the other words of the office, stemmed: {"ester", "russ"}


@dataclass
class Facts:
    quantities: list[Quantity] = field(default_factory=list)
    dates: list[DateRef] = field(default_factory=list)
    names: list[Name] = field(default_factory=list)
    negated: bool = False
    nationalities: set[str] = field(default_factory=set)  # language codes: "crisi ucraina" -> {"uk"}
    roles: list[Role] = field(default_factory=list)


@dataclass(frozen=True)
class Clash:
    """The source gives another value for something the statement asserts."""

    kind: str  # number | date | name | role
    statement: str  # what the statement says
    source: str  # what the source says instead

    def describe(self) -> str:
        return f"{self.kind}: the statement says “{self.statement}”, the source says “{self.source}”"


@dataclass
class Comparison:
    missing: list[str] = field(default_factory=list)  # asserted facts the source does not state
    clashes: list[Clash] = field(default_factory=list)  # asserted facts the source contradicts
    names_total: int = 0
    names_missing: int = 0

    @property
    def hard_missing(self) -> list[str]:
        """Missing numbers, dates and places: exact facts an answer must not add. (Other
        names may be translated or capitalised common words: "Ukrainian General Staff".)"""
        return [m for m in self.missing if not m.startswith("name:")]


# -- language data (babel) ------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _calendar(lang: str | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """Folded month and weekday names (wide and abbreviated) -> number, of one or every locale."""
    from babel import Locale

    months, days = {}, {}
    for code in [lang] if lang else LOCALES:
        locale = Locale(code)
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in locale.months[context][width].items():
                    if len(name.strip(".")) >= 3:
                        months[fold(name.strip("."))] = number
                for number, name in locale.days[context][width].items():
                    if width == "wide":
                        days[fold(name)] = number
    return months, days


@functools.lru_cache(maxsize=None)
def _territories() -> dict[str, str]:
    """Folded country and region names in every locale -> territory code ("stati uniti" -> "US")."""
    from babel import Locale

    names = {}
    for code in LOCALES:
        for territory, name in Locale(code).territories.items():
            if territory.isalpha() and len(name) > 3:
                names[fold(name)] = territory
    return names


_ROMAN = re.compile(r"[IVXLCDM]+")


def must_be_named(name: str) -> bool:
    """Whether a source has to name this name to speak of it. A Roman numeral ("il XXI secolo")
    is an ordinal, not a name; news names a country by its capital or government ("Mosca
    rivendica…" for Russia) or its adjective, so a country need not be named."""
    return not _ROMAN.fullmatch(name) and not is_country(name)


def is_country(name: str) -> bool:
    """A country or region name in any of our languages ("Russia", "Stati Uniti")."""
    return fold(name) in _territories()


# -- extraction -------------------------------------------------------------------------------


def _number_value(text: str) -> float | None:
    digits = text.replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", digits):
        return float(re.sub(r"[.,]", "", digits))
    try:
        return float(digits.replace(",", "."))
    except ValueError:
        return None


def _words_to_digits(text: str, lang: str | None) -> str:
    """Spelled-out numbers as digits ("dieci" -> "10", "one hundred thousand" -> "100000")."""
    if lang not in LOCALES:
        return text
    try:
        from text_to_num import alpha2digit

        return alpha2digit(text, lang, threshold=3)
    except Exception:  # the converter is a best effort, never a failure
        return text


def _tokens(text: str) -> list[tuple[int, int, str]]:
    """Word tokens with their offsets; an elided article ("dell’Ucraina") and an English
    possessive ("Ukraine's") are split off."""
    out = []
    for m in _WORD.finditer(text):
        word, start = re.sub(r"['’]s$", "", m.group()), m.start()
        head, sep, tail = re.split(r"(['’])", word, maxsplit=1)[:3] if re.search(r"['’]", word) else (word, "", "")
        if sep and len(head) <= 5 and tail:  # l’, dell’, un’, d’, all’, nell’
            out.append((start, start + len(head), head))
            out.append((start + len(head) + 1, m.end(), tail))
        else:
            out.append((start, start + len(word), word))
    return out


def _dates(text: str, tokens, lang: str | None) -> tuple[list[DateRef], set[int]]:
    """Dates written as "12 novembre [2025]", "November 12", "lunedì"; and the token indexes used.

    Month and day names come from every locale, so a capitalised word of another language
    ("Marco" is March in Portuguese) counts only next to a day number or a year."""
    months, days = _calendar()
    own_months, own_days = _calendar(lang) if lang in LOCALES else ({}, {})
    found, used = [], set()
    for i, (start, end, word) in enumerate(tokens):
        key = fold(word)
        if key in days and (word.islower() or key in own_days):
            found.append(DateRef(word, weekday=days[key]))
            used.add(i)
        elif key in months and (len(key) > 3 or word[0].isupper()):
            before = text[max(0, start - 4) : start].strip()
            after = re.match(r"\s*(\d{1,2})(?!\d)(?:st|nd|rd|th)?(?:,?\s*(\d{4}))?", text[end:])
            day = year = None
            if re.search(r"(\d{1,2})$", before):
                day = int(re.search(r"(\d{1,2})$", before).group(1))
                after_year = re.match(r"\s*(\d{4})", text[end:])
                year = int(after_year.group(1)) if after_year else None
            elif after:
                day, year = int(after.group(1)), int(after.group(2)) if after.group(2) else None
            elif key == "may" or not (word.islower() or key in own_months):
                continue  # "may" is a verb far more often than a month; "Marco" is a name
            else:
                year_match = re.match(r"\s*(\d{4})", text[end:])
                year = int(year_match.group(1)) if year_match else None
            if day is not None and not 1 <= day <= 31:
                day = None
            found.append(DateRef(word, day=day, month=months[key], year=year))
            used.add(i)
    # A year on its own ("since 2004", "nel 1971"), when no month took it.
    taken = {d.year for d in found}
    for m in re.finditer(r"(?<![\d.,])(19\d\d|20\d\d)(?!\d|[.,]\d)", text):
        if int(m.group()) not in taken:
            found.append(DateRef(m.group(), year=int(m.group())))
    return found, used


def extract(text: str, lang: str | None = None) -> Facts:
    """The quantities, dates, names and negation of one sentence (or a short passage)."""
    from .text import detect_language

    lang = lang or detect_language(text)
    written = {m.group() for m in _NUMBER.finditer(text)}
    text = _words_to_digits(text, lang)
    tokens = _tokens(text)
    dates, date_tokens = _dates(text, tokens, lang)
    date_spans = [(tokens[i][0], tokens[i][1]) for i in date_tokens]

    quantities = []
    for m in _NUMBER.finditer(text):
        value = _number_value(m.group())
        if value is None or (value < 3 and m.group() not in written):
            continue  # "un incontro": the converter reads some articles as 1
        # A day or a year that belongs to a date is not a quantity.
        near_date = any(abs(m.start() - e) <= 2 or abs(s - m.end()) <= 2 for s, e in date_spans)
        if near_date or (1900 <= value <= 2100 and "." not in m.group() and "," not in m.group()):
            continue
        # The unit: the next two words, as English puts an adjective first ("50 armed clashes")
        # and Italian after ("190 scontri armati").
        following = re.match(r"\s*([^\W\d_]+)(?:\s+([^\W\d_]+))?", text[m.end():])
        unit = " ".join(fold(w) for w in following.groups() if w) if following else ""
        preceding = [fold(w) for w in _WORD.findall(text[max(0, m.start() - 20) : m.start()])][-2:]
        quantities.append(Quantity(value, m.group(), unit, bound=any(w in _APPROX for w in preceding)))

    stop = _all_stopwords()
    territories = _territories()
    locative = _LOCATIVE.get(lang or "", set())
    names: list[Name] = []
    run: list[tuple[int, int, str, int]] = []  # start, end, word, token index
    place_run = False

    def close_run():
        if run:
            last = run[-1][3]
            after = tokens[last + 1][2] if last + 1 < len(tokens) else ""
            whole = text[run[0][0] : run[-1][1]]
            first = run[0][3]
            before = fold(tokens[first - 1][2]) if first > 0 and run[0][0] - tokens[first - 1][1] <= 2 else ""
            names.append(Name(whole, place_run or fold(whole) in territories or fold(after) in _PLACE_NOUNS,
                              of=before in {"di", "of", "de", "von"}))

    for i, (start, end, word) in enumerate(tokens):
        initial = bool(_OPENERS.search(text[max(0, start - 3) : start])) or start == 0
        capital = word[0].isupper() and i not in date_tokens
        is_name = capital and fold(word) not in stop and fold(word) not in _language_words() \
            and not (initial and not _next_is_capital(tokens, i))
        joined = run and re.fullmatch(r"[ \t-]*", text[run[-1][1] : start])
        if is_name and run and not joined:  # "Belgorod, Kursk": two names
            close_run()
            run = []
        if is_name:
            if not run:
                prev = [fold(t[2]) for t in tokens[max(0, i - 2) : i]]
                place_run = bool(prev) and (prev[-1] in locative or (
                    len(prev) == 2 and prev[0] in _PLACE_NOUNS and prev[1] in {"di", "of", "de", "von"}))
            run.append((start, end, word, i))
            continue
        # "Dipartimento di Stato": a lowercase link word inside a name keeps the run open
        if joined and fold(word) in {"di", "de", "del", "della", "of", "von", "van", "da"} and \
                i + 1 < len(tokens) and tokens[i + 1][2][0].isupper():
            run.append((start, end, word, i))
            continue
        close_run()
        run = []
    close_run()

    words = {fold(w) for _, _, w in tokens}
    negations = _NEGATIONS.get(lang or "", set()) | (_NEGATIONS["en"] if lang is None else set())
    return Facts(quantities, dates, names, negated=bool(words & negations), nationalities=nationalities(text, lang),
                 roles=_roles(text, tokens, lang))


# -- roles: who holds which office ------------------------------------------------------------

# Nouns of an office, folded, in the languages text.py tells apart.
_OFFICES = {
    "ministro", "ministra", "presidente", "presidentessa", "segretario", "segretaria", "governatore",
    "governatrice", "sindaco", "sindaca", "portavoce", "direttore", "direttrice", "ambasciatore",
    "ambasciatrice", "premier", "cancelliere", "comandante", "procuratore", "procuratrice", "capo",
    "minister", "president", "secretary", "governor", "mayor", "spokesman", "spokeswoman", "spokesperson",
    "director", "ambassador", "chancellor", "commander", "prosecutor", "chief", "chairman", "chairwoman",
    "ministre", "secretaire", "gouverneur", "maire", "porte-parole", "directeur", "directrice", "ambassadeur",
    "chancelier", "prasident", "prasidentin", "ministerin", "burgermeister", "burgermeisterin", "sprecher",
    "sprecherin", "kanzler", "kanzlerin", "botschafter", "alcalde", "alcaldesa", "gobernador",
    "gobernadora", "secretario", "secretaria", "embajador", "embajadora", "governador", "governadora",
    "prefeito", "prefeita", "embaixador", "embaixadora",
}
# Words that join an office to what it is of: "ministro degli Esteri", "Secretary of State".
_OF = {"di", "del", "dello", "della", "dei", "degli", "delle", "dell", "d", "of", "the", "for", "de", "du", "des",
       "la", "le", "l", "der", "fur", "da", "do", "dos", "das", "al", "allo", "alla", "agli", "alle"}
_ARTICLES = {"il", "lo", "la", "l", "i", "gli", "le", "un", "una", "uno", "the", "a", "an", "der", "die", "das",
             "el", "los", "las", "o", "os", "as", "une", "ein", "eine", "nuovo", "nuova", "new", "current",
             "attuale", "former", "ex"}
_COPULAS = {"e", "è", "was", "is", "era", "fu", "sara", "diventato", "diventata", "stato", "stata", "est", "ist",
            "war", "es", "fue", "foi", "became", "remains", "resta", "rimane", "been", "has", "ha"}
# English puts the qualifiers before the office: "Russian Foreign Minister Sergei Lavrov".
_BEFORE = {"foreign", "defence", "defense", "interior", "finance", "economy", "justice", "health", "prime",
           "deputy", "vice", "state", "regional", "national", "federal", "acting", "general", "press"}


def _roles(text: str, tokens, lang: str | None) -> list[Role]:
    """Who holds which office, as the text says it: "OFFICE [of ...] [,] Person" ("il governatore
    di Belgorod, Vyacheslav Gladkov") or "Person is [the] OFFICE ..." ("Rubio è il ministro
    degli Esteri russo"). Only these plain forms; anything else states no role."""
    if not any(fold(w) in _OFFICES for _, _, w in tokens):  # most sentences name no office
        return []
    from .text import _stemmer

    stem = _stemmer(lang if lang in LOCALES else "en").stemWord
    language = _language_words()
    nationality = _nationality_stem_set()

    def gap(a: int, b: int) -> str:
        return text[tokens[a][1] : tokens[b][0]]

    def capital(i: int) -> bool:
        w = tokens[i][2]
        return w[:1].isupper() and fold(w) not in _all_stopwords()

    def person_at(i: int, step: int) -> str:
        """The capitalised run (up to 3 words) starting at token i, read forward or backward."""
        run = [i]
        while len(run) < 3 and 0 <= run[-1] + step < len(tokens) and capital(run[-1] + step) \
                and re.fullmatch(r"[ \t]+", gap(*sorted((run[-1], run[-1] + step)))):
            run.append(run[-1] + step)
        a, b = min(run), max(run)
        return text[tokens[a][0] : tokens[b][1]]

    def qualifier(i: int) -> bool:  # "Russian", "foreign", "Ukraine" before the office
        f = fold(tokens[i][2])
        return f in _BEFORE or f in language or stem(f) in nationality or capital(i)

    roles = []
    for i, (_, _, word) in enumerate(tokens):
        if fold(word) not in _OFFICES:
            continue
        first = i
        while first > 0 and i - first < 3 and re.fullmatch(r"[ \t]+", gap(first - 1, first)) and qualifier(first - 1) \
                and fold(tokens[first - 1][2]) not in _OFFICES:
            first -= 1
        last, person, of = i, None, False
        j = i + 1
        while j < len(tokens) and j - i <= 7:
            between = gap(j - 1, j)
            f = fold(tokens[j][2])
            if not re.fullmatch(r"[ \t]*,?[ \t]*|['’]", between):
                break
            if "," in between:  # "il governatore di Belgorod, Vyacheslav Gladkov"
                if capital(j):
                    person = person_at(j, 1)
                break
            if capital(j) and fold(tokens[j - 1][2]) not in _OF and not (
                    capital(j - 1) and j - 1 > i) and f not in language and stem(f) not in nationality:
                person = person_at(j, 1)  # "il ministro Lavrov", "Foreign Minister Sergei Lavrov"
                break
            # what the office is of, with its adjectives: "degli Esteri russo", "dell'autorità
            # portuale"; a lowercase word right after the noun is a verb as often ("ha incontrato")
            if f in _OF or capital(j) or f in language or stem(f) in nationality or (of and f not in _COPULAS):
                of = of or f in _OF
                last = j
                j += 1
                continue
            break
        if person is None and last - i >= 3 and all(capital(t) for t in range(last - 2, last + 1)):
            # "Secretary of State Marco Rubio": the office's name runs into the person's
            person, last = text[tokens[last - 1][0] : tokens[last][1]], last - 2
        while last > i and fold(tokens[last][2]) in _OF:  # "governatore della" + a name-less rest
            last -= 1
        if person is None:  # "Rubio è il ministro …", "Lavrov is the Russian foreign minister"
            k = first - 1
            while k >= 0 and fold(tokens[k][2]) in _ARTICLES:
                k -= 1
            copulas = 0
            while k >= 0 and fold(tokens[k][2]) in _COPULAS and copulas < 2:
                k, copulas = k - 1, copulas + 1
            if copulas and k >= 0 and capital(k):
                person = person_at(k, -1)
        if not person or fold(person) in _territories():
            continue
        words_ = [fold(tokens[t][2]) for t in range(first, last + 1)]
        office = text[tokens[first][0] : tokens[last][1]]
        qualifiers = frozenset(stem(w) for w in words_ if w not in _OF and w not in _PLACE_NOUNS
                               and w != fold(word) and len(w) > 1)
        roles.append(Role(person, office, stem(fold(word)), qualifiers))
    return roles


def role_clashes(statement: Facts, source: Facts) -> list[Clash]:
    """Offices the source gives to someone else, or people the source gives another office of
    the same kind: "Rubio è il ministro degli Esteri russo" against "il ministro degli Esteri
    russo Serghei Lavrov"; "Gladkov è il governatore di Kursk" against "il governatore di
    Belgorod, Vyacheslav Gladkov". A person may hold several offices: only one of the same
    kind (noun) with other qualifiers clashes, and only when no office the source gives them fits."""
    clashes = []
    for role in statement.roles:
        same_person = [r for r in source.roles if same_name(r.person, role.person)]
        same_office = [r for r in source.roles if r.head == role.head and r.qualifiers == role.qualifiers]
        if any(r.head == role.head and role.qualifiers <= r.qualifiers for r in same_person):
            continue  # the source says so
        other = next((r for r in same_office if not same_name(r.person, role.person)), None)
        if other is not None:
            clashes.append(Clash("role", f"{role.person}, {role.text}", f"{other.person}, {other.text}"))
            continue
        rival = next((r for r in same_person if r.head == role.head and r.qualifiers and role.qualifiers
                      and not (r.qualifiers <= role.qualifiers)), None)
        if rival is not None:
            clashes.append(Clash("role", f"{role.person}, {role.text}", f"{rival.person}, {rival.text}"))
    return clashes


def _next_is_capital(tokens, i: int) -> bool:
    return i + 1 < len(tokens) and tokens[i + 1][2][:1].isupper() and tokens[i + 1][0] - tokens[i][1] <= 1


@functools.lru_cache(maxsize=None)
def _language_words() -> frozenset[str]:
    """Language names, which English capitalises as adjectives ("Russian", "Ukrainian"): not names."""
    from babel import Locale

    return frozenset(fold(name) for code in LOCALES for name in Locale(code).languages.values()
                     if " " not in name)


# -- matching ---------------------------------------------------------------------------------


def same_name(a: str, b: str) -> bool:
    """Two names for one entity: a shared word spelled alike ("Lavrov"/"Serghei Lavrov",
    "Sergej"/"Serghei", "Ginevra"/"Geneva"), or one country in two languages."""
    from rapidfuzz import fuzz

    fa, fb = fold(a), fold(b)
    if fa == fb:
        return True
    territories = _territories()
    if fa in territories and territories.get(fb) == territories[fa]:
        return True
    wa = [w for w in re.findall(r"\w+", fa) if len(w) >= 3 and w not in _all_stopwords()]
    wb = [w for w in re.findall(r"\w+", fb) if len(w) >= 3 and w not in _all_stopwords()]
    # spellings of one name begin alike ("Sergej"/"Serghei"); "Peter" is not "Esteri"
    return any(x == y or (x[0] == y[0] and min(len(x), len(y)) >= 4 and fuzz.ratio(x, y) >= NAME_SIMILARITY)
               for x in wa for y in wb)


def _same_quantity(a: Quantity, b: Quantity) -> bool:
    return abs(a.value - b.value) <= 0.005 * max(abs(a.value), abs(b.value), 1e-9)


def _same_unit(a: Quantity, b: Quantity) -> bool:
    from rapidfuzz import fuzz

    # "attacks"/"attacchi", "armed clashes"/"scontri armati": a word in two languages
    return any(x[:5] == y[:5] or fuzz.ratio(x, y) >= UNIT_SIMILARITY
               for x in a.unit.split() if len(x) >= 3 and x not in _all_stopwords()
               for y in b.unit.split() if len(y) >= 3 and y not in _all_stopwords())


def _same_date(a: DateRef, b: DateRef) -> bool | None:
    """True/False when the two dates can be compared, None when they share no field."""
    if _granularity(a) != _granularity(b):
        return None  # "12 novembre" against "inizio ottobre": likely dates of different things
    shared = [(x, y) for x, y in ((a.day, b.day), (a.month, b.month), (a.year, b.year), (a.weekday, b.weekday))
              if x is not None and y is not None]
    if not shared:
        return None
    return all(x == y for x, y in shared)


def _granularity(d: DateRef) -> str:
    return "weekday" if d.weekday is not None else "day" if d.day is not None else \
        "month" if d.month is not None else "year"


def compare(statement: Facts, source: Facts, one_sentence: bool = False) -> Comparison:
    """What of the statement's facts the source states, lacks, or contradicts.

    With `one_sentence` (the source is the one sentence the statement matches), one number
    each is one quantity even when the unit words differ ("hectares"/"ettari")."""
    result = Comparison(names_total=len(statement.names))

    unclaimed = [q for q in source.quantities if not any(_same_quantity(q, s) for s in statement.quantities)]
    for q in statement.quantities:
        same_value = [s for s in source.quantities if _same_quantity(q, s)]
        rival = next((s for s in unclaimed if _same_unit(q, s)), None)
        # "35 arresti" against "35 feriti e 12 arresti": the same number for another unit is not
        # the claim's number when the source gives the claim's unit another one
        if same_value and (rival is None or any(_same_unit(q, s) for s in same_value)):
            continue
        if rival is None and one_sentence and len(unclaimed) == 1 and len(statement.quantities) == 1:
            rival = unclaimed[0]
        if rival is not None:
            result.clashes.append(Clash("number", _quantity_text(q), _quantity_text(rival)))
        else:
            result.missing.append(f"number: {_quantity_text(q)}")

    for d in statement.dates:
        verdicts = [_same_date(d, s) for s in source.dates]
        if any(v is True for v in verdicts):
            continue
        rival = next((s for s, v in zip(source.dates, verdicts) if v is False), None)
        if rival is not None:
            result.clashes.append(Clash("date", d.text if d.day is None else f"{d.day} {d.text}",
                                        rival.text if rival.day is None else f"{rival.day} {rival.text}"))
        else:
            result.missing.append(f"date: {d.text}")

    unmatched_source = [n for n in source.names if not any(same_name(n.text, s.text) for s in statement.names)]
    for name in statement.names:
        if any(same_name(name.text, s.text) for s in source.names) or _named_by_nationality(name, source):
            continue
        rival = next((s for s in unmatched_source if name.place and s.place and _country(name) == _country(s)), None)
        if rival is not None:
            result.clashes.append(Clash("name", name.text, rival.text))
        elif name.place:
            result.missing.append(f"place: {name.text}")
        else:
            result.missing.append(f"name: {name.text}")
            result.names_missing += 1
    result.clashes += role_clashes(statement, source)
    return result


def _named_by_nationality(name: Name, source: Facts) -> bool:
    """A country the source names by its adjective: "Ukraine" in "la crisi ucraina"."""
    from babel.core import get_global

    territory = _territories().get(fold(name.text))
    likely = get_global("likely_subtags").get(f"und_{territory}", "") if territory else ""
    return bool(likely) and likely.split("_")[0] in source.nationalities


def _country(name: Name) -> bool:
    """A country is only ever confused with another country, a city with a city."""
    return fold(name.text) in _territories()


def _quantity_text(q: Quantity) -> str:
    unit = q.unit.split()
    return f"{q.text} {unit[0] if unit else ''}".strip()


@functools.lru_cache(maxsize=None)
def _nationality_stems() -> dict[tuple[str, str], str]:
    """(locale, Snowball stem of a language name) -> language code: "russo", "russa", "Russian"
    all stem to the Russian language. Nationality adjectives are mostly language names."""
    from babel import Locale

    from .text import _stemmer

    stems = {}
    for code in LOCALES:
        for language, name in Locale(code).languages.items():
            if " " not in name and "_" not in language:
                stems[(code, _stemmer(code).stemWord(fold(name)))] = language
    return stems


@functools.lru_cache(maxsize=None)
def _nationality_stem_set() -> frozenset[str]:
    return frozenset(stem for _, stem in _nationality_stems())


def nationalities(text: str, lang: str | None) -> set[str]:
    """The nationalities a text names, as language codes ("ministro degli Esteri russo" -> {"ru"})."""
    from .text import _stemmer, words

    stems = _nationality_stems()
    found = set()
    for code in [lang] if lang in LOCALES else LOCALES:
        for word in words(text):
            language = stems.get((code, _stemmer(code).stemWord(fold(word))))
            if language and len(word) > 3:
                found.add(language)
    return found
