"""Claim checking: a verdict with the evidence for and against, per source.

1. Retrieve passages for the claim, with some source diversity so every article is heard.
2. If nothing relevant comes back: NOT_ENOUGH_INFO, abstaining.
3. Judge each passage's stance: supports, refutes or unrelated, with a one-line rationale.
   Without an LLM, the rules judge (transparent; README "Answers and verdicts"):
   - a passage *bears on* the claim when its best sentence's relevance score (answer.py, on
     the claim without its negation words) reaches `related_threshold`;
   - it *refutes* the claim when it gives another number for the same unit or another date
     (allowed `clash_margin` below the bar), another place, or when the claim says who someone
     is and the sources give that role, nationality or place to someone else or otherwise;
   - each source's closest passage *refutes* when the clause it matches has the other polarity
     (one negated, the other not), and *supports* when its support score (grounding.py) reaches
     `support_threshold`, nothing clashes and no name the claim uses is missing;
   - everything else is unrelated.
   An LLM backend judges the passages that bear on the claim and that the rules leave
   undecided, with structured output (a JSON schema) validated before use; a reply outside
   the schema leaves the passage to the rules. What the rules decide stands (judge_with).
4. Per source (document): its stance is that of its strongest judged passage.
5. Aggregate as Loki and AVeriTeC do: supported by one source and refuted by another is
   CONFLICTING, both shown; only support: SUPPORTED; only refutation: REFUTED; no relevant
   evidence: NOT_ENOUGH_INFO. A verdict only ever rests on retrieved passages.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from string import Template

import numpy as np

from . import facts, prompts
from .answer import Answerer
from .documents import DATELINE
from .grounding import Support
from .llm import LLM
from .settings import VerifySettings
from .text import detect_language, keyword_tokens
from .types import STANCES, EvidenceItem, Hit, Verdict

STANCE_SCHEMA = {
    "type": "object",
    "properties": {
        "stance": {"type": "string", "enum": list(STANCES)},
        "rationale": {"type": "string"},
    },
    "required": ["stance", "rationale"],
}
# "X è il ministro…", "X is the governor of…": a claim that says who someone is.
COPULA = re.compile(r"\b(è|e'|era|fu|sarà|sarebbe|si chiama|is|was|will be|has been|is called|est|ist|war|es|fue|é|foi)\b",
                    re.IGNORECASE)
# Clause boundaries inside a sentence: where a negation stops applying.
CLAUSE = re.compile(r"\s*(?:[,;:–—()]|\s(?:ma|però|mentre|but|while|whereas)\s)\s*")


@dataclass
class Judgement:
    n: int
    hit: Hit
    stance: str
    rationale: str
    start: int  # the sentence the judgement rests on
    end: int
    strength: float  # how closely the passage bears on the claim (relevance score)
    judged_by: str = "rules"


def rationale(kind: str, lang: str | None, clash: facts.Clash | None = None, **values) -> str:
    """A one-line rationale in the claim's language (prompts/messages.json)."""
    table = prompts.message("rationale", lang)
    if clash is not None:
        values.update(statement=clash.statement, source=clash.source, kind=table["kinds"][clash.kind])
    return Template(table[kind]).substitute(values)


class Verifier:
    """Judges retrieved passages against a claim and aggregates a verdict."""

    def __init__(self, answerer: Answerer, settings: VerifySettings):
        self.answerer = answerer
        self.grounding = answerer.grounding
        self.settings = settings

    def check(self, claim: str, hits: list[Hit], llm: LLM | None, reason: str) -> tuple[Verdict, float]:
        """The verdict and the time spent in the model, in ms."""
        lang = detect_language(claim) or self.answerer.retriever.corpus_lang
        backend = llm.name if llm else "extractive"
        if not self.answerer.relevant(self.answerer.evidence(claim, hits)):
            verdict = Verdict(claim=claim, verdict="NOT_ENOUGH_INFO", answer=prompts.message("abstain", lang),
                              abstained=True, citations=[], evidence=[], backend=backend,
                              backend_reason=reason + ("; nothing relevant was retrieved" if llm else ""),
                              passages=hits)
            return verdict, 0.0
        rules = self.judge(claim, hits)
        generation_ms = 0.0
        judgements = rules
        if llm is not None:
            started = time.perf_counter()
            judgements = self.judge_with(llm, claim, hits, rules, lang)
            generation_ms = (time.perf_counter() - started) * 1000
        return self.aggregate(claim, hits, judgements, backend, reason, lang), generation_ms

    # -- judging with rules ---------------------------------------------------------------

    def judge(self, claim: str, hits: list[Hit]) -> list[Judgement]:
        """Every passage's stance by the rules (module docstring), in passage order."""
        lang = detect_language(claim) or self.answerer.retriever.corpus_lang
        stated = facts.extract(claim, lang)
        # Similarity barely notices "not": match passages on the claim without its negation,
        # then compare the polarity of the claim and of what it matched.
        core = facts.without_negation(claim, lang)
        relevance: dict[int, float] = {}
        for e in self.answerer.evidence(core, hits):
            relevance[e.n] = max(relevance.get(e.n, -1.0), e.score)
        core_vector = self.grounding.embed([core])[0]
        measured = self.grounding.measure(claim, list(enumerate(hits, start=1)), core_vector)
        judgements = {s.n: self._unrelated(s, relevance.get(s.n, -1.0), lang) for s in measured}

        def judged(s: Support, stance: str, why: str, span: tuple[int, int] | None = None):
            start, end = span or (s.start, s.end)
            judgements[s.n] = Judgement(s.n, s.hit, stance, why, start, end, relevance.get(s.n, -1.0))

        related = [s for s in measured if relevance.get(s.n, -1.0) >= self.settings.related_threshold]
        # Another number or date for the same thing is specific evidence: a passage a little
        # less close may show it, if it is about as close as anything from its source. Another
        # place needs a passage that bears on the claim: places are named everywhere.
        doc_top: dict[str, float] = {}
        for s in measured:
            doc_top[s.hit.doc_id] = max(doc_top.get(s.hit.doc_id, -1.0), relevance.get(s.n, -1.0))
        for s in measured:
            strength = relevance.get(s.n, -1.0)
            close = strength >= doc_top[s.hit.doc_id] - self.settings.decide_margin
            clashes = [c for c in s.comparison.clashes if strength >= self.settings.related_threshold or (
                c.kind in ("number", "date") and strength >= self.settings.related_threshold - self.settings.clash_margin)]
            if clashes and close:
                judged(s, "refutes", rationale("clash", lang, clashes[0]), self._sentence_with(s, clashes[0].source))
        top = max((relevance[s.n] for s in related), default=0.0)
        for doc_id in dict.fromkeys(s.hit.doc_id for s in related):  # each source's closest passage
            best = max((s for s in related if s.hit.doc_id == doc_id), key=lambda s: relevance[s.n])
            # only a passage about as close as the claim's best evidence speaks to it as a whole
            if judgements[best.n].stance != "unrelated" or relevance[best.n] < top - self.settings.decide_margin:
                continue
            if self._negation_differs(claim, core_vector, stated, best, lang):
                judged(best, "refutes", rationale("negation", lang, quote=_short(best.text)))
            elif not best.vetoed and best.score >= self.settings.support_threshold \
                    and not self._names_unstated(claim, best, lang):
                judged(best, "supports", rationale("states", lang, quote=_short(best.text)))
        if COPULA.search(claim):
            for s, why in self._role_clashes(claim, stated, measured, lang):
                judged(s, "refutes", why)
        return [judgements[n] for n in sorted(judgements)]

    def _names_unstated(self, claim: str, s: Support, lang: str | None) -> bool:
        """The claim names someone or somewhere the passage does not. Across languages names
        get translated ("Ukrainian General Staff"), so there only the person a claim is about
        ("… is called Denis Pushilin") must be there."""
        missing = [m.split(": ", 1)[1] for m in s.comparison.missing if m.startswith("name: ")]
        if lang == self.grounding.data.documents[s.hit.doc_id].lang:
            return bool(missing)
        return any(_is_subject(claim, name) for name in missing)

    def _unrelated(self, s: Support, strength: float, lang: str | None) -> Judgement:
        missing = [m.split(": ", 1)[1] for m in s.comparison.hard_missing]
        why = rationale("missing", lang, missing=", ".join(missing)) if missing else rationale("unrelated", lang)
        return Judgement(s.n, s.hit, "unrelated", why, s.start, s.end, strength)

    def _sentence_with(self, s: Support, text: str) -> tuple[int, int] | None:
        """The passage sentence that holds `text` (what a clash quotes), to cite it exactly."""
        doc = self.grounding.data.documents[s.hit.doc_id]
        first = facts.fold(text).split()[:1]
        for start, end in self.grounding.statements(s.hit):
            if first and first[0] in facts.fold(doc.text[start:end]):
                return start, end
        return None

    def _role_clashes(self, claim: str, stated: facts.Facts, related: list[Support], lang: str | None):
        """A claim that says who someone is ("X è il ministro degli Esteri russo") gives a role
        the passages give to another person, or puts it in another place.

        The claim with the person masked is compared with the words around each person the
        passages name (masked too): if it reads closer to another person's by `role_margin`,
        the claim swapped them. Yields (passage, rationale)."""
        for doc_id in dict.fromkeys(s.hit.doc_id for s in related):  # each source on its own
            people: dict[str, tuple[Support, str]] = {}  # person as written -> (passage, window)
            for s in (s for s in related if s.hit.doc_id == doc_id):
                doc = self.grounding.data.documents[doc_id]
                for name in facts.extract(s.hit.text, doc.lang).names:
                    if facts.is_person(name) and not any(facts.same_name(name.text, p) for p in people):
                        people[name.text] = (s, _window(s.hit.text, name.text))
            yield from self._swapped_roles(claim, stated, people, lang)

    def _swapped_roles(self, claim: str, stated: facts.Facts, people: dict[str, tuple[Support, str]],
                       lang: str | None):
        """_role_clashes within one source: `people` maps each person it names to the words around them."""
        for name in (n.text for n in stated.names if not n.place and _is_subject(claim, n.text)):
            own = [p for p in people if facts.same_name(name, p)]
            others = [p for p in people if not facts.same_name(name, p)
                      and not any(facts.same_name(p, n.text) for n in stated.names)]
            if not own:
                # "Denis Pushilin è il governatore di Belgorod", a name the source never uses:
                # refuted when one person's words fit the claim clearly better than anyone else's
                if len(others) >= 2:
                    vectors = self.grounding.embed([_mask(claim, name)] + [people[p][1] for p in others])
                    scores = sorted(zip((vectors[1:] @ vectors[0]).tolist(), others), reverse=True)
                    if scores[0][0] >= scores[1][0] + self.settings.role_margin:
                        s, window = people[scores[0][1]]
                        yield s, rationale("role", lang, other=scores[0][1], name=name,
                                           quote=_short(window.replace("X", scores[0][1])))
                continue
            s, window = people[own[0]]
            doc_lang = self.grounding.data.documents[s.hit.doc_id].lang
            said, written = facts.nationalities(claim, lang), facts.nationalities(window, doc_lang)
            if said and written and not said & written:  # "russo" where the source says "ucraino"
                clash = facts.Clash("nationality", facts.language_names(said, lang), facts.language_names(written, lang))
                yield s, rationale("role_clash", lang, clash, quote=_short(window.replace("X", own[0])))
                continue
            # "X è il governatore di Voronezh" where the source says "di Belgorod": in a role,
            # any other name fills the same slot
            clash = facts.compare(_as_slots(_without_people(stated, name)), _as_slots(facts.extract(window))).clashes
            if clash:
                yield s, rationale("role_clash", lang, clash[0], quote=_short(window.replace("X", own[0])))
                continue
            if not others:
                continue
            vectors = self.grounding.embed([_mask(claim, name)] + [people[p][1] for p in own + others])
            scores = vectors[1:] @ vectors[0]
            own_score = float(np.max(scores[: len(own)]))
            best = int(np.argmax(scores[len(own):]))
            if float(scores[len(own) + best]) >= own_score + self.settings.role_margin:
                other = others[best]
                s, window = people[other]
                yield s, rationale("role", lang, other=other, name=name, quote=_short(window.replace("X", other)))

    def _negation_differs(self, claim: str, core_vector: np.ndarray, stated: facts.Facts, s: Support,
                          lang: str | None) -> bool:
        """One of the claim and the clause of the passage it matches is negated, the other not.

        The clause is the one sharing most words with the claim (by embedding when they are
        in different languages, against `core_vector`, the claim without its negation): a negation
        elsewhere in the sentence says nothing about it."""
        doc = self.grounding.data.documents[s.hit.doc_id]
        clauses = _clauses(s.text)
        if len(clauses) > 1:
            words = set(keyword_tokens(claim, doc.lang))
            overlaps = [len(words & set(keyword_tokens(c, doc.lang))) for c in clauses]
            if max(overlaps) > 0 and lang == doc.lang:
                clause = clauses[int(np.argmax(overlaps))]
            else:
                clause = clauses[int(np.argmax(self.grounding.embed(clauses) @ core_vector))]
        else:
            clause = s.text
        return stated.negated != facts.extract(clause, doc.lang).negated

    # -- judging with a model ---------------------------------------------------------------

    def judge_with(self, llm: LLM, claim: str, hits: list[Hit], rules: list[Judgement],
                   lang: str) -> list[Judgement]:
        """The model's stance, validated, for the relevant passages the rules leave undecided.

        What the rules decide stands: a fact clash, a flipped negation, a close restatement.
        A small model is a poor judge of those: Qwen2.5-Coder-1.5B called 9 of 10 restated
        claims "refutes" ("it does not confirm that he actually did"). On the 67 development
        claims: rules alone 0.79, the model overruling them 0.49, the model on what they leave
        open 0.73 (README, "Answers and verdicts")."""
        language = prompts.message("language_names", lang)
        system = prompts.render("stance_system.txt", language=language)
        # Only passages that bear on the claim are worth a model's judgement: a small model
        # calls anything "supports", and an unrelated passage must not decide a verdict.
        open_ = sorted((j for j in rules if j.stance == "unrelated" and j.strength >= self.settings.related_threshold),
                       key=lambda j: -j.strength)[: self.settings.judged_passages]
        judged = {j.n: j for j in rules}
        for rule in open_:
            user = prompts.render("stance_user.txt", passage=prompts.as_data(rule.hit.text),
                                  claim=prompts.as_data(claim))
            reply = llm.chat([{"role": "system", "content": system}, {"role": "user", "content": user}],
                             json_schema=STANCE_SCHEMA)
            parsed = parse_stance(reply)
            if parsed is None:
                rule.rationale += f" (the {llm.name} judgement was not valid, so the rules judged)"
                continue
            stance, why = parsed
            judged[rule.n] = Judgement(rule.n, rule.hit, stance, why, rule.start, rule.end, rule.strength, llm.name)
        return [judged[n] for n in sorted(judged)]

    # -- the verdict --------------------------------------------------------------------------

    def aggregate(self, claim: str, hits: list[Hit], judgements: list[Judgement], backend: str,
                  reason: str, lang: str) -> Verdict:
        by_doc: dict[str, list[Judgement]] = {}
        for j in judgements:
            by_doc.setdefault(j.hit.doc_id, []).append(j)
        sources = []
        for doc_id, js in by_doc.items():
            decisive = [j for j in js if j.stance != "unrelated"]
            stance = max(decisive, key=lambda j: j.strength).stance if decisive else "unrelated"
            doc = self.grounding.data.documents[doc_id]
            sources.append({"doc_id": doc_id, "title": doc.title, "date": doc.date, "stance": stance,
                            "evidence": [j.n for j in js]})
        supporting = [s for s in sources if s["stance"] == "supports"]
        refuting = [s for s in sources if s["stance"] == "refutes"]
        label = ("CONFLICTING" if supporting and refuting else "SUPPORTED" if supporting
                 else "REFUTED" if refuting else "NOT_ENOUGH_INFO")
        evidence = [self._item(j) for j in judgements]
        decisive = {s["doc_id"]: s["stance"] for s in supporting + refuting}
        rests_on = [e for e in evidence if decisive.get(e.doc_id) == e.stance]
        conflicts = []
        if label == "CONFLICTING":
            conflicts.append({
                "kind": "stance",
                "summary": prompts.message("disagree", lang) + " " + ", ".join(
                    f"[{e.n}] {prompts.message('stance', lang)[e.stance]}" for e in rests_on) + ".",
                "supports": [e.n for e in rests_on if e.stance == "supports"],
                "refutes": [e.n for e in rests_on if e.stance == "refutes"],
                "doc_ids": [s["doc_id"] for s in supporting + refuting],
            })
        lines = [prompts.message("verdict", lang)[label]]
        lines += [f"[{e.n}] {prompts.message('stance', lang)[e.stance]}: {e.rationale}" for e in rests_on]
        citations = [e.citation() for e in rests_on]
        return Verdict(claim=claim, verdict=label, answer=" ".join(lines), abstained=False, citations=citations,
                       evidence=evidence, sources=sources, conflicts=conflicts, backend=backend,
                       backend_reason=reason, passages=hits)

    def _item(self, j: Judgement) -> EvidenceItem:
        c = self.answerer.citation(j.n, j.hit, [(j.start, j.end)])
        return EvidenceItem(**vars(c), stance=j.stance, rationale=j.rationale, judged_by=j.judged_by)


def parse_stance(reply: str) -> tuple[str, str] | None:
    """(stance, rationale) from a model's JSON reply, or None when it does not fit the schema."""
    text = reply.strip()
    if text.startswith("```"):
        text = re.sub(r"^```\w*\s*|\s*```$", "", text)
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    stance, why = data.get("stance"), data.get("rationale")
    if stance not in STANCE_SCHEMA["properties"]["stance"]["enum"] or not isinstance(why, str) \
            or len(re.findall(r"[^\W\d_]{2,}", why)) < 3:  # a rationale says something: "..." does not
        return None
    return stance, " ".join(why.split())[:300]


def _clauses(sentence: str) -> list[str]:
    """The sentence's clauses, short pieces joined to the next so each has some words."""
    pieces, current = [], ""
    for piece in CLAUSE.split(sentence):
        current = f"{current} {piece}".strip()
        if len(current.split()) >= 4:
            pieces.append(current)
            current = ""
    if current and pieces:
        pieces[-1] += " " + current
    return pieces or [sentence]


def _window(text: str, name: str, before: int = 50, after: int = 25) -> str:
    """The words around a name's first mention, the name masked as X: within its sentence,
    without the dateline, whole words only."""
    at = text.find(name)
    start = max(text.rfind(".", 0, at) + 1, at - before)
    end = min([i for i in (text.find(".", at), at + len(name) + after) if i >= 0])
    window = DATELINE.sub("", text[start:end].strip())
    window = re.sub(r"^\S*\s", "", window) if start == at - before else window  # a cut first word
    window = re.sub(r"\s\S*$", "", window) if end == at + len(name) + after else window
    return _mask(window, name).strip()


def _is_subject(claim: str, name: str) -> bool:
    """The claim says who `name` is: it opens with "Rubio è …", or ends "… is Marco Rubio"."""
    copula = COPULA.pattern
    return bool(re.match(r"\W*" + re.escape(name) + r"\s+" + copula, claim, re.IGNORECASE)
                or re.search(copula + r"\s+" + re.escape(name) + r"\W*$", claim, re.IGNORECASE))


def _as_slots(f: facts.Facts) -> facts.Facts:
    """Within a role, a place or a "di Belgorod" complement fills a slot another can clash with;
    the masked person (X) is no name."""
    names = [facts.Name(n.text, place=n.place or n.of) for n in f.names if n.text != "X"]
    return facts.Facts(f.quantities, f.dates, names, f.negated)


def _without_people(stated: facts.Facts, name: str) -> facts.Facts:
    """The claim's facts without the person whose role is checked (the window masks them)."""
    return facts.Facts(stated.quantities, stated.dates,
                       [n for n in stated.names if not facts.same_name(n.text, name)], stated.negated)


def _mask(text: str, name: str) -> str:
    return text.replace(name, "X")


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"

