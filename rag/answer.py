"""Answers with validated citations, whatever wrote them.

The pipeline:
1. score every sentence of the retrieved passages against the question (e5 cosine plus small
   bonuses for shared words and for holding the kind of thing asked: a number, a time);
2. abstain when even the best sentence scores below `abstain_below`: nothing relevant, or when
   the question names something (a person, place, organisation) no retrieved passage names;
3. with an LLM: prompt it with the numbered passages, then validate its reply sentence by
   sentence (grounding.py): every sentence must be supported by a retrieved passage, whose
   number it then cites; citations to passages that were not retrieved are removed and counted.
   A sentence the model left uncited, or cited wrongly, is re-attributed to the passage that
   supports it, and counted. If any sentence has no support, or the answer rests on nothing
   relevant to the question, the extractive answer is returned instead, saying why;
4. without an LLM (extractive): quote the best sentences, each with its [n].
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace

import numpy as np

from . import facts, prompts
from .documents import DATELINE
from .grounding import Grounding, Support
from .llm import LLM, OnToken
from .retrieval import Retriever
from .settings import AnswerSettings
from .text import fold, keyword_tokens, sentence_spans
from .types import Answer, Citation, Hit, OnStep

CITATION = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
# "…Gladkov. [1]": a citation after the full stop belongs to the sentence before it.
TRAILING_CITATIONS = re.compile(r"([.!?…])((?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+)")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
NOT_IN_SOURCES = "NOT_IN_SOURCES"
# Question words asking for a quantity or a time: sentences holding one get a small bonus.
ASKS_NUMBER = re.compile(r"\b(how many|how much|quanti|quante|quanto|quanta|combien|cuántos|wie viele)\b", re.I)
ASKS_TIME = re.compile(r"\b(when|what day|what date|quando|che giorno|quand|cuándo|wann)\b", re.I)
ASKS_PLACE = re.compile(r"\b(where|which city|what city|in which|dove|in quale|in che città|quale città|où|dónde|wo)\b", re.I)
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
    score: float = 0.0


def strip_citations(text: str) -> str:
    """The text without [n] markers, and without the space they leave before punctuation."""
    return re.sub(r"\s+([.,;:!?…])", r"\1", " ".join(CITATION.sub(" ", text).split()))


def split_reply(reply: str) -> list[tuple[str, list[int]]]:
    """The reply's sentences, each with the passage numbers it cites (in order, repeats dropped)."""
    text = TRAILING_CITATIONS.sub(lambda m: m.group(2) + m.group(1), reply.strip())
    sentences = []
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        numbers = [int(x) for m in CITATION.findall(sentence) for x in re.split(r"[,;]", m)]
        sentences.append((strip_citations(sentence), list(dict.fromkeys(numbers))))
    return sentences


def _answer_facts(e: Evidence, asked: facts.Facts, lang: str | None) -> facts.Facts:
    """What a sentence says beyond the question: its facts minus those the question names."""
    said = facts.extract(DATELINE.sub("", e.text), lang)
    return facts.Facts([q for q in said.quantities if not any(q.value == a.value for a in asked.quantities)],
                       said.dates,
                       [n for n in said.names if not any(facts.same_name(n.text, a.text) for a in asked.names)],
                       said.negated)


class Answerer:
    """Builds answers from retrieved passages, with or without an LLM."""

    def __init__(self, retriever: Retriever, settings: AnswerSettings, judge_model: str = ""):
        self.retriever = retriever
        self.settings = settings
        self.grounding = Grounding(retriever, judge_model)

    # -- evidence ---------------------------------------------------------------------

    def evidence(self, question: str, hits: list[Hit], asked: str | None = None) -> list[Evidence]:
        """Every sentence of the passages, scored against the question, best first.

        `asked`: the user's own words when `question` is a follow-up with the conversation's
        topic added (rag/conversation.py). Sentences are then scored against both: the topic
        alone would outweigh the few words that say what is asked ("And who repaired it?")."""
        q = self.retriever.query_vector(question)
        if asked:
            q = q + self.retriever.query_vector(asked)
            q = q / np.linalg.norm(q)
        lang = self.retriever.language(question)
        q_words = set(keyword_tokens(question, lang))
        asks_number, asks_time = ASKS_NUMBER.search(question), ASKS_TIME.search(question)
        seen: set[tuple[str, int]] = set()
        found = []
        for n, hit in enumerate(hits, start=1):
            doc = self.retriever.data.documents[hit.doc_id]
            spans, vectors = self.grounding.sentences(hit)
            for (start, end), vector, usable in zip(spans, vectors, self.grounding.usable(hit)):
                text = doc.text[start:end]
                # the same sentence in two overlapping passages counts once, under the first
                if (doc.id, start) in seen or not usable:
                    continue
                seen.add((doc.id, start))
                score = float(vector @ q)
                if lang and doc.lang and lang != doc.lang:
                    score += CROSS_LINGUAL
                if q_words:
                    score += WORD_BONUS * len(q_words & set(keyword_tokens(text, doc.lang))) / len(q_words)
                body = DATELINE.sub("", text)  # the dateline's numbers answer nothing
                if asks_number:
                    score += TYPE_BONUS if NUMBER.search(body) else -TYPE_BONUS
                if asks_time:
                    score += TYPE_BONUS if TIME_WORDS.search(body) else -TYPE_BONUS
                found.append(Evidence(n, hit, start, end, text, score))
        return sorted(found, key=lambda e: -e.score)

    def relevant(self, evidence: list[Evidence]) -> bool:
        return bool(evidence) and evidence[0].score >= self.settings.abstain_below

    def reply_language(self, text: str) -> str:
        """The language to answer `text` in: the setting, else the text's own (else the corpus's)."""
        if self.settings.language != "auto":
            return self.settings.language
        return self.retriever.language(text) or "en"

    def unnamed(self, question: str, hits: list[Hit]) -> list[str]:
        """The names a question asks about when no retrieved passage names any of them (else []).

        A question about "the ferry Poseidon" cannot be answered by passages that never mention
        it, however close their sentences score: nearest is not answering. Only passages in the
        question's language can tell, and countries do not count (below)."""
        lang = self.retriever.language(question)
        asked = [n.text for n in facts.extract(question, lang).names if facts.must_be_named(n.text)]
        if not asked:
            return []
        for hit in hits:
            doc = self.retriever.data.documents[hit.doc_id]
            if lang and doc.lang and doc.lang != lang:
                return []  # names translate ("General Staff" / "Stato maggiore"): no telling
            text = self.grounding.visible_text(hit)
            folded = fold(text)
            if any(fold(name) in folded for name in asked):
                return []
            said = [n.text for n in facts.extract(text, doc.lang).names]
            if any(facts.same_name(a, b) for a in asked for b in said):
                return []
        return asked

    # -- answers ----------------------------------------------------------------------

    def answer(self, question: str, hits: list[Hit], llm: LLM | None, reason: str,
               on_token: OnToken | None = None, asked: str | None = None,
               on_step: OnStep | None = None) -> tuple[Answer, float]:
        """The answer and the time spent generating, in ms (0 when no model was asked)."""
        unnamed = self.unnamed(question, hits)
        if unnamed:
            why = f"no retrieved passage names {', '.join(unnamed)}"
            return self.abstain(question, hits, llm.name if llm else "extractive", f"{reason}; {why}"), 0.0
        evidence = self.evidence(question, hits, asked)
        if llm is None:
            answer, generation_ms = self.extractive(question, hits, evidence, reason), 0.0
        elif not self.relevant(evidence):
            return self.abstain(question, hits, llm.name,
                                f"{reason}; nothing relevant was retrieved, so the model was not asked"), 0.0
        else:
            answer, generation_ms = self.generate(question, hits, evidence, llm, reason, on_token, on_step)
        if not answer.abstained:
            self.add_conflicts(answer, evidence)
        return answer, generation_ms

    # -- sources that disagree --------------------------------------------------------

    def conflicts(self, question: str, evidence: list[Evidence]) -> list[tuple[Evidence, Evidence, str, str]]:
        """Pairs of relevant sentences from different documents that give different values for
        what the question asks (a place, a date, a number): (one, other, its value, other's value)."""
        kind = "date" if ASKS_TIME.search(question) else "number" if ASKS_NUMBER.search(question) \
            else "place" if ASKS_PLACE.search(question) else None
        if kind is None:
            return []
        asked = facts.extract(question)
        best: dict[str, Evidence] = {}  # each document's most relevant sentence
        for e in evidence:
            if e.score >= self.settings.abstain_below:
                best.setdefault(e.hit.doc_id, e)
        found = []
        chosen = list(best.values())
        said = [_answer_facts(e, asked, self.retriever.data.documents[e.hit.doc_id].lang) for e in chosen]
        for i, a in enumerate(chosen):
            for j in range(i + 1, len(chosen)):
                b, fa, fb = chosen[j], said[i], said[j]
                clashes = [c for c in facts.compare(fa, fb).clashes
                           if c.kind == {"place": "name"}.get(kind, kind)]
                if clashes:
                    found.append((a, b, clashes[0].statement, clashes[0].source))
        return found

    def add_conflicts(self, answer: Answer, evidence: list[Evidence]) -> None:
        """Say that the sources disagree, quote and cite each side, and list the conflicts."""
        lang = self.reply_language(answer.question)
        cited = {c.n for c in answer.citations}
        for a, b, value_a, value_b in self.conflicts(answer.question, evidence):
            answer.conflicts.append({
                "kind": "values", "summary": f"{prompts.message('disagree', lang)} “{value_a}” [{a.n}], "
                                             f"“{value_b}” [{b.n}]",
                "passages": [a.n, b.n], "values": {str(a.n): value_a, str(b.n): value_b},
                "doc_ids": [a.hit.doc_id, b.hit.doc_id]})
            missing = [e for e in (a, b) if e.n not in cited]
            if missing:
                answer.answer += f" {prompts.message('disagree', lang)} " + " ".join(f"“{e.text}” [{e.n}]" for e in missing)
                answer.citations += [self.citation(e.n, e.hit, [(e.start, e.end)]) for e in missing]
                answer.citations.sort(key=lambda c: c.n)
                cited |= {e.n for e in missing}

    def abstain(self, question: str, hits: list[Hit], backend: str, reason: str) -> Answer:
        lang = self.reply_language(question)
        return Answer(question=question, answer=prompts.message("abstain", lang), abstained=True,
                      citations=[], backend=backend, backend_reason=reason, passages=hits)

    def extractive(self, question: str, hits: list[Hit], evidence: list[Evidence], reason: str) -> Answer:
        """Quote the best sentence, and the runner-up when it is nearly as good."""
        if not self.relevant(evidence):
            return self.abstain(question, hits, "extractive", reason)
        best = evidence[0]
        chosen = [best]
        for other in evidence[1:]:
            if len(chosen) >= self.settings.max_sentences or other.score < best.score - self.settings.runner_up_margin:
                break
            chosen.append(other)
        chosen.sort(key=lambda e: (e.n, e.start))
        text = " ".join(f"“{e.text}” [{e.n}]" for e in chosen)
        return Answer(question=question, answer=text, abstained=False,
                      citations=[self.citation(e.n, e.hit, [(e.start, e.end)]) for e in chosen],
                      backend="extractive", backend_reason=reason, passages=hits)

    def generate(self, question: str, hits: list[Hit], evidence: list[Evidence], llm: LLM,
                 reason: str, on_token: OnToken | None = None,
                 on_step: OnStep | None = None) -> tuple[Answer, float]:
        """Ask the LLM, then validate; returns the answer and the generation time in ms."""
        lang = self.reply_language(question)
        passages = "\n".join(
            prompts.render("passage.txt", n=n, title=h.title, date=h.date or "no date",
                           text=prompts.as_data(self.grounding.visible_text(h)))
            for n, h in enumerate(hits, start=1)
        )
        messages = [
            {"role": "system", "content": prompts.render("answer_system.txt",
                                                         language=prompts.message("language_names", lang))},
            {"role": "user", "content": prompts.render("answer_user.txt", passages=passages,
                                                       question=prompts.as_data(question))},
        ]
        started = time.perf_counter()
        if on_step:
            on_step("writing", 0, 0)
        reply = llm.chat(messages, on_token=on_token)
        generation_ms = (time.perf_counter() - started) * 1000
        if on_step:
            on_step("validating", 0, 0)
        if NOT_IN_SOURCES in reply and len(strip_citations(reply.replace(NOT_IN_SOURCES, "")).split()) < 4:
            answer = self.abstain(question, hits, llm.name, f"{reason}; the model found no answer in the passages")
            answer.draft = reply
            return answer, generation_ms
        answer, problem = self.validate(question, reply, hits, evidence, llm.name, reason)
        if problem is None:
            return answer, generation_ms
        fallback = self.extractive(question, hits, evidence, reason)
        fallback.fallback = f"the {llm.name} answer was rejected ({problem}); showing the extractive answer"
        fallback.removed_citations = answer.removed_citations
        fallback.draft = reply
        return fallback, generation_ms

    def validate(self, question: str, reply: str, hits: list[Hit], evidence: list[Evidence],
                 backend: str, reason: str) -> tuple[Answer, str | None]:
        """Check every sentence of a model's reply against the passages.

        Returns the answer with valid citations only, and None, or the answer and what was
        wrong with it (the first unsupported sentence, or an answer beside the question)."""
        removed = added = 0
        kept: list[str] = []
        cited: dict[int, list[tuple[int, int]]] = {}
        # keyed by where a sentence ends: support may start it after a dateline
        relevance = {(e.hit.doc_id, e.end): e.score for e in evidence}
        best_relevance = -1.0
        problem = None
        everything = list(enumerate(hits, start=1))
        for claim, numbers in split_reply(reply):
            valid = [x for x in numbers if 1 <= x <= len(hits)]
            removed += len(numbers) - len(valid)
            if len(re.findall(r"\w+", claim)) < 3:
                continue  # a stray fragment: "[1]" alone, a bullet, "Sources:"
            vector = self.grounding.embed([claim])[0]
            support = self._supported(claim, [(x, hits[x - 1]) for x in valid], vector)
            if not support:  # uncited or mis-cited: is it supported by another retrieved passage?
                others = [(n, hit) for n, hit in everything if n not in valid]
                support = self._supported(claim, others, vector)[:1]
                added += len(support)
            if not support:
                problem = problem or f"no retrieved passage supports “{claim[:80]}”"
                continue
            for s in support:
                cited.setdefault(s.n, []).append((s.start, s.end))
                best_relevance = max(best_relevance, relevance.get((s.hit.doc_id, s.end), -1.0))
            kept.append(claim.rstrip() + " " + "".join(f"[{s.n}]" for s in sorted(support, key=lambda s: s.n)))
        if problem is None and not kept:
            problem = "the answer is empty"
        if problem is None and best_relevance < self.settings.abstain_below:
            problem = "the answer rests on no passage that bears on the question"
        citations = [self.citation(n, hits[n - 1], spans) for n, spans in sorted(cited.items())]
        answer = Answer(question=question, answer=" ".join(kept), abstained=False, citations=citations,
                        backend=backend, backend_reason=reason, removed_citations=removed,
                        added_citations=added, passages=hits, draft=reply)
        return answer, problem

    def _supported(self, statement: str, passages: list[tuple[int, Hit]], vector) -> list[Support]:
        """The passages that entail the statement (the judge), best first, each with the span it
        rests on, and whose facts do not veto it: a number or date the passage contradicts or
        does not state, a place it names otherwise (facts.py)."""
        measured = [s for s in self.grounding.measure(statement, passages, vector) if not s.vetoed]
        entailed = self.grounding.entailment(statement, [(s.n, s.hit) for s in measured], vector)
        found = []
        for s in measured:
            p_entail, premise = entailed.get(s.n, (0.0, None))
            if p_entail >= self.settings.entail_threshold:
                found.append((p_entail, replace(s, start=premise.start, end=premise.end, text=premise.text)))
        return [s for _, s in sorted(found, key=lambda x: -x[0])]

    def citation(self, n: int, hit: Hit, spans: list[tuple[int, int]]) -> Citation:
        """Passage [n] cited for the given sentences: the span runs from the first to the last."""
        start, end = min(a for a, _ in spans), max(b for _, b in spans)
        doc = self.retriever.data.documents[hit.doc_id]
        return Citation(n=n, doc_id=doc.id, title=doc.title, date=doc.date, chunk_id=hit.chunk_id,
                        start=start, end=end, text=doc.text[start:end], url=doc.url,
                        page=doc.page_at(start))
