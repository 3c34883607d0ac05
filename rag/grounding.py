"""How well a retrieved passage supports a statement (an answer sentence, or a claim).

The support score of a statement against a passage is

    score = similarity + LEXICAL_WEIGHT * word overlap - NAME_PENALTY * share of names not found

where `similarity` is the e5 cosine between the statement and the passage's closest sentence
(or the whole passage, whichever is closer: a statement may join two sentences), and the word
overlap is the share of the statement's content words found in the passage (high for a
same-language paraphrase, near zero across languages, where similarity carries it). On top of
the score, facts.compare() vetoes: a number or date the passage contradicts or does not state,
or a place it names differently, means the passage does not support the statement, however
similar the words. Thresholds are settings (AnswerSettings), calibrated with
scripts/calibrate_support.py on eval/support_dev.jsonl.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import facts
from .documents import DATELINE
from .injection import InjectionDetector
from .retrieval import Retriever
from .text import is_list_item, keyword_tokens, looks_like_heading
from .types import Hit

LEXICAL_WEIGHT = 0.10
NAME_PENALTY = 0.06
CROSS_LINGUAL = 0.04
FACT_BONUS = 0.02  # choosing the sentence to quote: per name, number or date of the statement it holds
@dataclass
class Support:
    """A passage [n] measured against a statement."""

    n: int
    hit: Hit
    start: int  # the passage's closest sentence, in document offsets
    end: int
    text: str
    similarity: float
    overlap: float
    comparison: facts.Comparison
    score: float

    @property
    def vetoed(self) -> bool:
        return bool(self.comparison.clashes or self.comparison.hard_missing)

    def why_not(self) -> str:
        """What keeps this passage from supporting the statement, for the user."""
        if self.comparison.clashes:
            return "; ".join(c.describe() for c in self.comparison.clashes)
        if self.comparison.hard_missing:
            return "the passage does not state " + ", ".join(m.split(": ", 1)[1] for m in self.comparison.hard_missing)
        return f"support score {self.score:.3f} is below the threshold"


@dataclass
class Premise:
    """A span of passage [n] put to the entailment judge: one sentence, or the whole passage."""

    n: int
    hit: Hit
    start: int
    end: int
    text: str
    lang: str | None


class Grounding:
    """Measures statements against the passages of one index."""

    def __init__(self, retriever: Retriever, judge_model: str = ""):
        self.retriever = retriever
        self.data = retriever.data
        self._judge_model = judge_model
        self._judge = None
        self.detector = InjectionDetector.for_embedder(self.data.embedder.get("model"))
        self._usable: dict[int, list[bool]] = {}  # chunk row -> which of its sentences can be evidence

    @property
    def judge(self):
        """The entailment judge (nli.NLIJudge), loaded on first use: it imports torch."""
        if self._judge is None:
            from .nli import NLIJudge

            self._judge = NLIJudge.load(self._judge_model or None)
        return self._judge

    def sentences(self, hit: Hit) -> tuple[list[tuple[int, int]], np.ndarray]:
        """The passage's sentences (document offsets) and their stored vectors."""
        return self._sentences(self.data.chunks.row_of(hit.chunk_id))

    def _sentences(self, row: int) -> tuple[list[tuple[int, int]], np.ndarray]:
        rows = self.data.chunks.sentence_rows([row])
        vectors = self.data.sentence_index.reconstruct_batch(rows) if len(rows) \
            else np.zeros((0, self.data.sentence_index.d), np.float32)
        return self.data.chunks.sentences(row), vectors

    def usable(self, hit: Hit) -> list[bool]:
        """Which of the passage's sentences can be evidence: not a heading (it states nothing)
        and not text addressed to a model (injection.py), which is never quoted or judged."""
        return self._usable_row(self.data.chunks.row_of(hit.chunk_id))

    def _usable_row(self, row: int) -> list[bool]:
        if row not in self._usable:
            doc = self.data.documents[self.data.chunks.doc_ids[row]]
            spans = self.data.chunks.sentences(row)
            # the stored vectors only matter to a classifier; the patterns read the text alone
            vectors = self._sentences(row)[1] if self.detector.weights is not None else None
            texts = [doc.text[a:b] for a, b in spans]
            flagged = self.detector.flags(texts, vectors, embed=self.embed)
            self._usable[row] = [not f and (is_list_item(doc.text, a) or not looks_like_heading(t))
                                 for (a, _), t, f in zip(spans, texts, flagged)]
        return self._usable[row]

    def addressed_to_a_model(self, doc_ids: set[str]) -> dict[str, list[tuple[int, int]]]:
        """The sentences of these documents that address a model (ingest warns of them)."""
        found: dict[str, list[tuple[int, int]]] = {}
        for row, doc_id in enumerate(self.data.chunks.doc_ids):
            if doc_id in doc_ids:
                doc = self.data.documents[doc_id]
                for (a, b), ok in zip(self.data.chunks.sentences(row), self._usable_row(row)):
                    if not ok and not looks_like_heading(doc.text[a:b]) and (a, b) not in found.get(doc_id, []):
                        found.setdefault(doc_id, []).append((a, b))
        return found

    def visible_text(self, hit: Hit) -> str:
        """The passage as a model may read it: sentences addressed to a model are withheld."""
        doc = self.data.documents[hit.doc_id]
        spans, usable = self.sentences(hit)[0], self.usable(hit)
        text, cursor = [], hit.start
        for (a, b), ok in zip(spans, usable):
            if not ok and not looks_like_heading(doc.text[a:b]):
                text.append(doc.text[cursor:a] + "[…]")
                cursor = b
        return "".join(text) + doc.text[cursor:hit.end]

    def statements(self, hit: Hit) -> list[tuple[int, int]]:
        """The sentence spans of a passage as evidence: a leading dateline ("Mosca, 9 novembre
        2025 – ") is the article's metadata, not something the article states."""
        doc = self.data.documents[hit.doc_id]
        spans = []
        for start, end in self.sentences(hit)[0]:
            dateline = DATELINE.match(doc.text[start:end])
            spans.append((start + dateline.end(), end) if dateline and dateline.end() < end - start else (start, end))
        return spans

    def chunk_vector(self, hit: Hit) -> np.ndarray:
        return self.data.faiss_index.reconstruct(self.data.chunks.row_of(hit.chunk_id))

    def embed(self, statements: list[str]) -> np.ndarray:
        return self.retriever.embedder.embed_passages(statements)

    def measure(self, statement: str, passages: list[tuple[int, Hit]],
                vector: np.ndarray | None = None) -> list[Support]:
        """Each passage against the statement, best score first."""
        if vector is None:
            vector = self.embed([statement])[0]
        lang = self.retriever.language(statement)
        stated = facts.extract(statement, lang)
        results = []
        for n, hit in passages:
            doc = self.data.documents[hit.doc_id]
            vectors = self.sentences(hit)[1]
            spans = self.statements(hit)
            scores = vectors @ vector if len(spans) else np.zeros(0)
            for j, ok in enumerate(self.usable(hit)):
                if not ok:
                    scores[j] = -1.0
            usable = [j for j in range(len(spans)) if scores[j] > -1.0]
            if not usable:
                continue
            # The closest sentence, favouring the one that states the statement's names, numbers
            # and dates: it is the one to quote.
            asserted = len(stated.quantities) + len(stated.dates) + len(stated.names)
            stated_in = {j: asserted - len(facts.compare(stated, facts.extract(doc.text[spans[j][0]:spans[j][1]],
                                                                                doc.lang)).missing)
                         for j in usable} if asserted else {j: 0 for j in usable}
            best = max(usable, key=lambda j: scores[j] + FACT_BONUS * stated_in[j])
            start, end = spans[best]
            body = " ".join(doc.text[spans[j][0] : spans[j][1]] for j in usable)
            similarity = max(float(scores[best]), float(self.chunk_vector(hit) @ vector))
            comparison = facts.compare(stated, facts.extract(body, doc.lang))
            if any(m.startswith("number:") for m in comparison.missing):  # the closest sentence may say it otherwise
                closest = facts.compare(stated, facts.extract(doc.text[start:end], doc.lang), one_sentence=True)
                for clash in (c for c in closest.clashes if c.kind == "number"):
                    comparison.clashes.append(clash)
                    comparison.missing = [m for m in comparison.missing if not m.endswith(clash.statement)]
            words = set(keyword_tokens(statement, doc.lang))
            overlap = len(words & set(keyword_tokens(body, doc.lang))) / len(words) if words else 0.0
            names = comparison.names_missing / comparison.names_total if comparison.names_total else 0.0
            score = similarity + LEXICAL_WEIGHT * overlap - NAME_PENALTY * names
            if lang and doc.lang and lang != doc.lang:
                score += CROSS_LINGUAL  # e5 rates a translation lower than a same-language paraphrase
            results.append(Support(n, hit, start, end, doc.text[start:end], similarity, overlap, comparison, score))
        return sorted(results, key=lambda s: -s.score)

    def premises(self, n: int, hit: Hit, vector: np.ndarray, closest: int = 2) -> list[Premise]:
        """The passage's `closest` sentences to a statement (its e5 `vector`), and the passage as a
        whole (a statement may join two sentences). Headings and text addressed to a model are
        no premise, nor is a dateline (it is metadata)."""
        doc = self.data.documents[hit.doc_id]
        vectors = self.sentences(hit)[1]
        spans = self.statements(hit)
        usable = [j for j, ok in enumerate(self.usable(hit)) if ok]
        if not usable:
            return []
        scores = vectors[usable] @ vector
        chosen = [usable[i] for i in np.argsort(-scores, kind="stable")[:closest]]
        found = [Premise(n, hit, a, b, doc.text[a:b], doc.lang) for a, b in (spans[j] for j in chosen)]
        # The passage as a whole: each run of usable sentences, so that what is cited (one
        # contiguous span) never takes in a sentence that was set aside.
        runs, run = [], []
        for j in range(len(spans)):
            if j in usable:
                run.append(j)
            elif run:
                runs, run = runs + [run], []
        for run in runs + [run]:
            if len(run) > 1:
                body = " ".join(doc.text[slice(*spans[j])] for j in run)
                found.append(Premise(n, hit, spans[run[0]][0], spans[run[-1]][1], body, doc.lang))
        return found

    def entailment(self, statement: str, passages: list[tuple[int, Hit]], vector: np.ndarray,
                   closest: int = 2) -> dict[int, tuple[float, Premise]]:
        """For each passage [n]: the judge's highest P(entailment) of the statement by one of its
        premises, and that premise."""
        premises = [p for n, hit in passages for p in self.premises(n, hit, vector, closest)]
        best: dict[int, tuple[float, Premise]] = {}
        for p, probs in zip(premises, self.judge.predict([(p.text, statement) for p in premises])):
            if p.n not in best or probs[0] > best[p.n][0]:
                best[p.n] = (float(probs[0]), p)
        return best
