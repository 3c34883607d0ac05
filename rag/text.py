"""Small language helpers shared by the stages: language guess, normalisation, BM25 tokens."""

from __future__ import annotations

import functools
import re
import unicodedata

from bm25s import stopwords as _sw
from sentencex import segment

# Snowball stemmer name and stopword list per language we can guess.
_LANGS = {
    "it": ("italian", _sw.STOPWORDS_ITALIAN),
    "en": ("english", _sw.STOPWORDS_EN_PLUS),
    "fr": ("french", _sw.STOPWORDS_FRENCH),
    "de": ("german", _sw.STOPWORDS_GERMAN),
    "es": ("spanish", _sw.STOPWORDS_SPANISH),
    "pt": ("portuguese", _sw.STOPWORDS_PORTUGUESE),
}
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?…,;:]['\"”»’)]*$")
_MARKDOWN_HEADING = re.compile(r"#{1,6}\s+\S")
# A list item's or a quotation's marker before a sentence: "- ", "* ", "• ", "1. ", "2) ", "> ".
_LIST_MARKER = re.compile(r"(?:[-*+•]|\d{1,3}[.)]|>)[ \t]+")


# Sentences come from sentencex (Wikimedia's segmenter: per-language abbreviation lists, so
# "Dr.", "e.g.", "U.S." or "sig." end no sentence), within each line: a newline always ends one.
# It still ends a sentence after a lone initial in some languages ("Thomas B. Edsall" in
# Italian), which would quote "Edsall." alone; a piece that ends with one is joined to the next.
_INITIAL = re.compile(r"(?:^|[\s.(])[^\W\d_]\.\s*$")
_LINE_PIECE = re.compile(r"[^\n]+")


def sentence_spans(text: str, start: int = 0, end: int | None = None, lang: str | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence in text[start:end], whitespace trimmed, absolute offsets."""
    end = len(text) if end is None else end
    spans = []
    for line in _LINE_PIECE.finditer(text, start, end):
        pos = line.start()
        pieces: list[list[int]] = []
        for piece in segment(lang or "en", line.group()):
            if pieces and _INITIAL.search(text[pieces[-1][0]:pieces[-1][1]]):
                pieces[-1][1] = pos + len(piece)
            else:
                pieces.append([pos, pos + len(piece)])
            pos += len(piece)
        if pos != line.end():  # sentencex returns the line in pieces; if ever not, the line is one
            pieces = [[line.start(), line.end()]]
        spans.extend(pieces)
    trimmed = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        marker = _LIST_MARKER.match(text, a, b)  # "- Metro: …" is quoted as "Metro: …"
        if marker and marker.end() < b:
            a = marker.end()
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            trimmed.append((a, b))
    return trimmed


def is_list_item(text: str, start: int) -> bool:
    """Whether the sentence at `start` opens a list item ("- Metro: servizio garantito"): a
    short line without a full stop that is a point of a list, not a heading."""
    line_start = text.rfind("\n", 0, start) + 1
    return bool(_LIST_MARKER.fullmatch(text, line_start, start))


def looks_like_heading(line: str) -> bool:
    """A heading: Markdown's ("## Le ragioni della protesta"), or in plain text a short line
    that is not a sentence. A heading names a section; it states nothing to quote."""
    line = line.strip()
    if _MARKDOWN_HEADING.match(line):
        return True
    return 0 < len(line) <= 200 and not _SENTENCE_END.search(line) and line[:1].isupper()


def fold(text: str) -> str:
    """Lowercase and strip accents, so "Perché" and "perche" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@functools.lru_cache(maxsize=None)
def _stopword_set(lang: str) -> frozenset[str]:
    return frozenset(fold(w) for w in _LANGS[lang][1])


@functools.lru_cache(maxsize=None)
def _distinctive(lang: str) -> frozenset[str]:
    """Stopwords of `lang` that no other known language shares ("the", "della", ...)."""
    others = frozenset().union(*(_stopword_set(o) for o in _LANGS if o != lang))
    return _stopword_set(lang) - others


# A capitalised word after the first is most often a name ("Lavrov", "Ginevra"), and names
# are what mislead a character n-gram model on a short question: they are left out of its input.
_NAME_LIKE = re.compile(r"(?<=\S)(\s+)[A-ZÀ-Ý][\w'’.-]*")
_CONFIDENT = 0.6  # langid's probability (over our six languages) trusted on its own


@functools.lru_cache(maxsize=1)
def _identifier():
    """py3langid (langid.py's model, BSD), limited to the languages we stem and answer in."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(_LANGS))
    return identifier


def detect_language(text: str) -> str | None:
    """The language of a text; None when there is too little to tell ("Quando?" is Italian,
    Spanish and Portuguese alike), so that the caller's default (the corpus's language) holds.

    A character n-gram model (py3langid) decides when it is confident; on a short question it
    often is not, and the function words no other of our languages shares ("the", "della")
    decide, if langid ranks their language second at worst."""
    if not _WORD.search(text):
        return None
    ranked = sorted(_identifier().rank(_NAME_LIKE.sub(r"\1", text)), key=lambda r: -r[1])
    if ranked[0][1] >= _CONFIDENT:
        return ranked[0][0]
    tokens = [fold(w) for w in words(text)]
    counts = {lang: sum(t in _distinctive(lang) for t in tokens) for lang in _LANGS}
    best = max(counts, key=counts.get)
    # two such words at least: one alone is too often a gap in another language's stopword
    # list ("quando" is in the Portuguese list, not the Italian one)
    unique = counts[best] >= 2 and sum(c == counts[best] for c in counts.values()) == 1
    return best if unique and best in (ranked[0][0], ranked[1][0]) else None


@functools.lru_cache(maxsize=None)
def _stemmer(lang: str):
    import Stemmer  # PyStemmer, the Snowball stemmers

    return Stemmer.Stemmer(_LANGS[lang][0])


@functools.lru_cache(maxsize=None)
def _all_stopwords() -> frozenset[str]:
    return frozenset().union(*(_stopword_set(lang) for lang in _LANGS))


def keyword_tokens(text: str, lang: str | None = None) -> list[str]:
    """BM25 tokens: folded words minus stopwords, Snowball-stemmed in the text's language."""
    lang = lang or detect_language(text)
    stop = _all_stopwords()
    tokens = [fold(w) for w in words(text)]
    tokens = [t for t in tokens if t not in stop and (len(t) > 1 or t.isdigit())]
    if lang in _LANGS:
        tokens = _stemmer(lang).stemWords(tokens)
    return tokens
