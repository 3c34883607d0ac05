"""Answers with validated citations.

The pipeline, whatever the backend:
1. score every sentence of the retrieved passages against the question (e5 cosine plus a
   small bonus for shared words and for the kind of answer asked for: a number, a date);
2. abstain when even the best sentence scores below `abstain_below`: nothing relevant;
3. with an LLM: prompt it with the numbered passages, then check every sentence of its reply
   (a valid [n], support by the cited passage, every number present there); when any sentence
   fails, return the extractive answer instead and say why;
4. without one (extractive): quote the best sentences, each with its [n].
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np

from . import prompts
from .llm import LLM, OnToken
from .retrieval import Retriever, sentence_rows
from .settings import AnswerSettings
from .text import detect_language, keyword_tokens, looks_like_heading, sentence_spans
from .types import Answer, Citation, Hit

CITATION = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
NOT_IN_SOURCES = "NOT_IN_SOURCES"
# Text that addresses a model rather than a reader: kept out of answers and flagged as data.
INJECTION = re.compile(
    r"ignore (all |any )?(the |your )?(previous|prior|above|earlier) (instructions|prompts?)"
    r"|disregard (all |the )?(previous|prior|above)|system prompt|you are now"
    r"|ignora (tutte )?(le )?istruzioni (precedenti|sopra)|dimentica (tutte )?le istruzioni",
    re.IGNORECASE,
)
# Question words asking for a quantity or a time: sentences holding one get a small bonus.
ASKS_NUMBER = re.compile(r"\b(how many|how much|quanti|quante|quanto|quanta|combien|cuántos|wie viele)\b", re.I)
ASKS_TIME = re.compile(r"\b(when|what day|what date|quando|che giorno|quand|cuándo|wann)\b", re.I)
TIME_WORDS = re.compile(
    r"\b(\d{1,2}|lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica|ieri|oggi|sera|mattina"
    r"|gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|evening|morning)\b",
    re.IGNORECASE,
)
WORD_BONUS = 0.05  # x share of the question's words found in the sentence
TYPE_BONUS = 0.02  # the sentence holds the kind of thing asked for
# e5 scores a question and its answer ~0.04 lower when they are in different languages
# (measured with scripts/calibrate_answers.py): added back so one threshold serves both.
CROSS_LINGUAL = 0.04


@dataclass
class Evidence:
    """A sentence of passage [n], with how well it answers the question."""

    n: int
    hit: Hit
    start: int
    end: int
    text: str
    vector: np.ndarray
    score: float = 0.0


def numbers_in(text: str) -> set[str]:
    """Numbers as digit strings, so "100.000", "100,000" and "100000" compare equal."""
    return {re.sub(r"[.,]", "", m) for m in NUMBER.findall(text)}


def strip_citations(text: str) -> str:
    return " ".join(CITATION.sub(" ", text).split())


class Answerer:
    """Builds answers from retrieved passages, with or without an LLM."""

    def __init__(self, retriever: Retriever, settings: AnswerSettings):
        self.retriever = retriever
        self.settings = settings
        data = retriever.data
        self.row_of = {c.id: i for i, c in enumerate(data.chunks)}

    # -- evidence ---------------------------------------------------------------------

    def evidence(self, question: str, hits: list[Hit]) -> list[Evidence]:
        """Every sentence of the passages, scored against the question, best first."""
        data = self.retriever.data
        q = self.retriever.query_vector(question)
        lang = detect_language(question) or self.retriever.corpus_lang
        q_words = set(keyword_tokens(question, lang))
        seen: set[tuple[str, int]] = set()
        found = []
        for n, hit in enumerate(hits, start=1):
            row = self.row_of[hit.chunk_id]
            chunk = data.chunks[row]
            doc = data.documents[chunk.doc_id]
            rows = sentence_rows(data.chunks, [row])
            vectors = data.sentence_index.reconstruct_batch(np.array(rows, dtype=np.int64)) if rows else []
            for (start, end), vector in zip(chunk.sentences, vectors):
                text = doc.text[start:end]
                # the same sentence in two overlapping passages counts once, under the first
                if (doc.id, start) in seen or looks_like_heading(text) or INJECTION.search(text):
                    continue
                seen.add((doc.id, start))
                words = set(keyword_tokens(text, doc.lang))
                score = float(vector @ q)
                if lang and doc.lang and lang != doc.lang:
                    score += CROSS_LINGUAL
                if q_words:
                    score += WORD_BONUS * len(q_words & words) / len(q_words)
                if (ASKS_NUMBER.search(question) and NUMBER.search(text)) or \
                        (ASKS_TIME.search(question) and TIME_WORDS.search(text)):
                    score += TYPE_BONUS
                found.append(Evidence(n, hit, start, end, text, vector, score))
        return sorted(found, key=lambda e: -e.score)

    def relevant(self, evidence: list[Evidence]) -> bool:
        return bool(evidence) and evidence[0].score >= self.settings.abstain_below

    # -- answers ----------------------------------------------------------------------

    def abstain(self, question: str, hits: list[Hit], backend: str, reason: str) -> Answer:
        lang = detect_language(question) or self.retriever.corpus_lang
        return Answer(question=question, answer=prompts.message("abstain", lang), abstained=True,
                      citations=[], backend=backend, backend_reason=reason, passages=hits)

    def extractive(self, question: str, hits: list[Hit], evidence: list[Evidence], reason: str) -> Answer:
        """Quote the best sentence, and the runner-up when it is nearly as good."""
        if not self.relevant(evidence):
            return self.abstain(question, hits, "extractive", reason)
        best = evidence[0]
        chosen = [best]
        for other in evidence[1:]:
            if len(chosen) >= self.settings.max_sentences or other.score < best.score - 0.02:
                break
            chosen.append(other)
        chosen.sort(key=lambda e: (e.n, e.start))
        text = " ".join(f"“{e.text}” [{e.n}]" for e in chosen)
        return Answer(question=question, answer=text, abstained=False,
                      citations=[self._citation(e) for e in chosen], backend="extractive",
                      backend_reason=reason, passages=hits)

    def generate(self, question: str, hits: list[Hit], evidence: list[Evidence], llm: LLM,
                 reason: str, on_token: OnToken | None = None) -> tuple[Answer, float]:
        """Ask the LLM, then validate; returns the answer and the generation time in ms."""
        lang = detect_language(question) or self.retriever.corpus_lang or "en"
        language = prompts.message("language_names", lang)
        passages = "\n".join(
            prompts.render("passage.txt", n=n, title=h.title, date=h.date or "no date", text=h.text)
            for n, h in enumerate(hits, start=1)
        )
        messages = [
            {"role": "system", "content": prompts.render("answer_system.txt", language=language)},
            {"role": "user", "content": prompts.render("answer_user.txt", passages=passages, question=question)},
        ]
        started = time.perf_counter()
        reply = llm.chat(messages, on_token=on_token)
        generation_ms = (time.perf_counter() - started) * 1000
        if NOT_IN_SOURCES in reply:
            return self.abstain(question, hits, llm.name, f"{reason}; the model found no answer"), generation_ms
        answer, problem = self.validate(question, reply, hits, llm.name, reason)
        if problem is None:
            return answer, generation_ms
        fallback = self.extractive(question, hits, evidence, reason)
        fallback.fallback = f"the {llm.name} answer was not grounded ({problem}); showing the extractive answer"
        fallback.removed_citations = answer.removed_citations
        return fallback, generation_ms

    def validate(self, question: str, reply: str, hits: list[Hit], backend: str,
                 reason: str) -> tuple[Answer, str | None]:
        """Keep only citations to retrieved passages; every sentence must be supported.

        Returns the cleaned answer and None, or the answer and what was wrong with it."""
        removed = 0
        kept_sentences = []
        cited: dict[int, list[Evidence]] = {}
        problem = None
        for start, end in sentence_spans(reply.strip()):
            sentence = reply.strip()[start:end]
            numbers = [int(x) for m in CITATION.findall(sentence) for x in re.split(r"[,;]", m)]
            valid = sorted({x for x in numbers if 1 <= x <= len(hits)})
            removed += sum(1 for x in numbers if not 1 <= x <= len(hits))
            claim = strip_citations(sentence)
            if len(claim.split()) < 3 and not valid:
                continue  # a stray fragment ("[1]" alone, a bullet)
            if not valid:
                problem = problem or f"sentence without a valid citation: {claim[:60]!r}"
                continue
            support = self._support(claim, [(x, hits[x - 1]) for x in valid])
            if support is None:
                problem = problem or f"no cited passage supports: {claim[:60]!r}"
                continue
            for evidence in support:
                cited.setdefault(evidence.n, []).append(evidence)
            kept_sentences.append(claim + " " + "".join(f"[{x}]" for x in valid))
        if not kept_sentences:
            problem = problem or "empty answer"
        citations = [self._citation(*sorted(cited[n], key=lambda e: e.start)) for n in sorted(cited)]
        answer = Answer(question=question, answer=" ".join(kept_sentences), abstained=False,
                        citations=citations, backend=backend, backend_reason=reason,
                        removed_citations=removed, passages=hits)
        return answer, problem

    def _support(self, claim: str, cited: list[tuple[int, Hit]]) -> list[Evidence] | None:
        """The sentences of the cited passages that support the claim, or None if none does."""
        data = self.retriever.data
        vector = self.retriever.embedder.embed_passages([claim])[0]
        best: list[Evidence] = []
        for n, hit in cited:
            row = self.row_of[hit.chunk_id]
            chunk = data.chunks[row]
            doc = data.documents[chunk.doc_id]
            rows = sentence_rows(data.chunks, [row])
            vectors = data.sentence_index.reconstruct_batch(np.array(rows, dtype=np.int64))
            scores = vectors @ vector
            for j, (a, b) in enumerate(chunk.sentences):  # instructions in the data support nothing
                if INJECTION.search(doc.text[a:b]):
                    scores[j] = -1.0
            i = int(np.argmax(scores))
            start, end = chunk.sentences[i]
            best.append(Evidence(n, hit, start, end, doc.text[start:end], vectors[i], float(scores[i])))
        passages_text = " ".join(h.text for _, h in cited)
        if not numbers_in(claim) <= numbers_in(passages_text):
            return None
        supported = [e for e in best if e.score >= self.settings.support_threshold]
        return supported or None

    def _citation(self, *evidence: Evidence) -> Citation:
        """One citation of passage [n]; its span covers the given sentences of that passage."""
        first = evidence[0]
        start, end = min(e.start for e in evidence), max(e.end for e in evidence)
        doc = self.retriever.data.documents[first.hit.doc_id]
        return Citation(n=first.n, doc_id=doc.id, title=doc.title, date=doc.date,
                        chunk_id=first.hit.chunk_id, start=start, end=end, text=doc.text[start:end])
