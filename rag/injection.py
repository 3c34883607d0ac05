"""Text that addresses a model rather than a reader ("ignore the previous instructions…").

Articles are untrusted: a sentence written for a model is never quoted, never evidence and never
put in a prompt. Two detectors, either one suffices:

- patterns for the unambiguous forms: role markers ("SYSTEM:"), chat-template tokens
  ("<|im_start|>", "[INST]"), fake or escaped prompt delimiters ("</passages>", "<\\/passages>");
- a learned classifier for instructions in any wording and language: logistic regression on the
  e5 vector of the sentence, which the index already stores (training/train_injection.py; its
  weights and model card are in rag/models/injection/). It only applies to indexes built with
  the embedder it was trained for; other indexes get the patterns alone.

Text is normalised first, so that disguises do not help: NFKC (full-width letters, ligatures),
zero-width and soft-hyphen characters removed, Cyrillic and Greek look-alike letters mapped to
Latin. A sentence is also read together with the one before it, for an instruction split in two.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from pathlib import Path

import numpy as np

MIN_WORDS = 6  # the classifier judges sentences of at least this many words
MODEL_FILE = Path(__file__).resolve().parent / "models" / "injection" / "classifier.json"
INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"))
# Look-alike letters (Unicode's confusables for Latin, the common ones) -> Latin.
HOMOGLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "ԁ": "d", "һ": "h", "ӏ": "l", "ɡ": "g", "ո": "n", "ս": "u", "А": "A", "В": "B", "Е": "E", "К": "K",
    "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "τ": "t", "Α": "A", "Β": "B", "Ε": "E",
    "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Χ": "X",
    "Υ": "Y",
})
_IGNORE_VERBS = (r"ignore|ignora|ignorate|ignorez|ignoriere|ignorieren|disregard|forget|dimentica|dimenticate"
                 r"|oublie|oubliez|vergiss|vergessen|olvida|olvide|esqueça|esqueca|override|bypass|skip")
_PREVIOUS = (r"previous|prior|above|earlier|preceding|precedenti|sopra|précédentes|precedentes|ci-dessus|vorherigen"
             r"|obigen|bisherigen|anteriores|acima|arriba")
_RULES = r"instructions?|prompts?|rules|istruzioni|regole|consignes|anweisungen|regeln|instrucciones|instruções|instrucoes"
PATTERNS = re.compile(
    # chat-template and role tokens no article contains
    r"<\|?\s*(im_start|im_end|system|assistant|user|endoftext|eot_id|start_header_id)\s*\|?>|\[/?inst\]|<</?sys>>"
    r"|<start_of_turn>|<end_of_turn>"
    # a role marker opening a line or sentence: "SYSTEM: …", "### Assistant:"
    r"|(^|[\n.!?]\s*)#*\s*(system|assistant|sistema|système|assistente|assistent|asistente)\s*:"
    # the prompt's own delimiters, closed or opened, escaped or spaced
    r"|<\s*\\?/?\s*(passages?|documents?|context|data|claim|question)\s*>"
    # "ignore (all) (the) previous instructions" in the six languages, words in any order nearby
    rf"|\b({_IGNORE_VERBS})\b.{{0,40}}\b({_PREVIOUS})\b.{{0,20}}\b({_RULES})\b"
    rf"|\b({_IGNORE_VERBS})\b.{{0,40}}\b({_RULES})\b.{{0,20}}\b({_PREVIOUS})\b"
    r"|\bsystem prompt\b|prompt di sistema|prompt système|\bsystemprompt\b|\byou are now\b|\bora sei un"
    r"|\btu es maintenant\b|\bdu bist jetzt\b|\bahora eres\b|\bagora você é\b",
    re.IGNORECASE,
)


def normalise(text: str) -> str:
    """What the text reads as, with its disguises removed."""
    text = unicodedata.normalize("NFKC", text).translate(INVISIBLE).translate(HOMOGLYPHS)
    return " ".join(text.split())


class InjectionDetector:
    """`flags(sentences, vectors)` -> which sentences address a model."""

    def __init__(self, weights: np.ndarray | None = None, bias: float = 0.0, threshold: float = 0.5,
                 embedder: str | None = None):
        self.weights, self.bias, self.threshold, self.embedder = weights, bias, threshold, embedder

    @classmethod
    def for_embedder(cls, embedder_name: str | None, path: Path = MODEL_FILE) -> "InjectionDetector":
        """The shipped classifier when it was trained on this embedder's vectors; else patterns only."""
        model = _load(str(path))
        if model is None or model["embedder"] != embedder_name:
            return cls()
        return cls(np.asarray(model["weights"], dtype=np.float32), float(model["bias"]),
                   float(model["threshold"]), model["embedder"])

    def probability(self, vectors: np.ndarray) -> np.ndarray:
        if self.weights is None or not len(vectors):
            return np.zeros(len(vectors))
        return 1.0 / (1.0 + np.exp(-(vectors @ self.weights + self.bias)))

    def flags(self, sentences: list[str], vectors: np.ndarray | None = None, embed=None) -> list[bool]:
        """Whether each sentence addresses a model. `vectors`: the sentences' stored e5 vectors;
        `embed(texts)` re-embeds the ones whose normalised text differs (a disguise)."""
        clean = [normalise(s) for s in sentences]
        flagged = [bool(PATTERNS.search(c)) for c in clean]
        # an instruction split over two sentences: "Ignore everything. Previous instructions…"
        alone = list(flagged)
        for i in range(1, len(clean)):
            if not (alone[i - 1] or alone[i]) and PATTERNS.search(clean[i - 1] + " " + clean[i]):
                flagged[i - 1] = flagged[i] = True
        if self.weights is not None and vectors is not None and len(sentences):
            vectors = np.array(vectors, dtype=np.float32, copy=True)
            disguised = [i for i, (s, c) in enumerate(zip(sentences, clean)) if " ".join(s.split()) != c]
            if disguised and embed is not None:
                vectors[disguised] = embed([clean[i] for i in disguised])
            p = self.probability(vectors)
            # Fragments ("Leggi anche.", a caption) are no instruction the patterns miss, and the
            # classifier, trained on sentences, is unsure of them: it judges sentences only.
            flagged = [f or bool(q >= self.threshold and len(c.split()) >= MIN_WORDS)
                       for f, q, c in zip(flagged, p, clean)]
        return flagged


@functools.lru_cache(maxsize=4)
def _load(path: str) -> dict | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
