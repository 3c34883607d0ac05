"""Claim checking: a verdict with the evidence for and against, per source.

1. Retrieve passages for the claim, with some source diversity so every article is heard.
2. If nothing relevant comes back: NOT_ENOUGH_INFO, abstaining.
3. Judge each passage's stance with the entailment judge (nli.py, a cross-encoder trained for
   natural language inference): the claim is the hypothesis, and the premises are the
   passage's sentences closest to the claim and the passage as a whole (a claim may join two
   sentences). Headings and text addressed to a model are never premises.
   - supports: some premise entails the claim with P(entailment) >= `entail_threshold`,
     states no other number, date, place or office holder than the claim (facts.py), and the
     passage states every number, date and name the claim asserts (`unstated`);
   - refutes: some premise contradicts it with P(contradiction) >= `contradict_threshold`;
     or the premise the judge finds entailing gives another number, date, place or office
     holder (judges read those loosely, the fact check does not); or a premise that bears on
     the claim gives another one and the judge leans that way (P(contradiction) >=
     `clash_contradiction`);
   - otherwise unrelated. Precision first: a false SUPPORTED is the worst error there is.
   The fact checks (another number, date, place, office) are the rationale when they apply; each
   stance carries the judge's probability.
   An LLM backend judges the passages that bear on the claim and that the judge leaves open,
   with structured output (a JSON schema) validated before use; a reply outside the schema
   leaves the passage unrelated. What the judge decides stands (judge_with).
4. Per source (document): its stance is that of its most confident judged passage.
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
from .grounding import Premise
from .llm import LLM
from .settings import VerifySettings
from .text import fold, words
from .types import STANCES, EvidenceItem, Hit, OnStep, Verdict

STANCE_SCHEMA = {
    "type": "object",
    "properties": {
        "stance": {"type": "string", "enum": list(STANCES)},
        "rationale": {"type": "string"},
    },
    "required": ["stance", "rationale"],
}
ENTAILMENT, NEUTRAL, CONTRADICTION = 0, 1, 2  # columns of NLIJudge.predict


@dataclass
class Judgement:
    n: int
    hit: Hit
    stance: str
    rationale: str
    start: int  # the sentence(s) the judgement rests on
    end: int
    strength: float  # how closely the passage bears on the claim (relevance score)
    judged_by: str = "nli"
    confidence: float = 0.0  # the judge's probability for the stance (0: nobody decided)
    contradiction: float = 0.0  # the judge's highest P(contradiction) over the passage's premises


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

    @property
    def judge(self):
        return self.grounding.judge

    def check(self, claim: str, hits: list[Hit], llm: LLM | None, reason: str,
              on_step: OnStep | None = None) -> tuple[Verdict, float]:
        """The verdict and the time spent in the model, in ms; `on_step` hears of each passage
        judged ("judging", n, of) and each one a model is asked about ("asking", i, of)."""
        lang = self.answerer.retriever.language(claim)  # to read the claim's facts
        say = self.answerer.reply_language(claim)  # to write the verdict in
        backend = llm.name if llm else "extractive"
        evidence = self.answerer.evidence(claim, hits)
        if not self.answerer.relevant(evidence):
            verdict = Verdict(claim=claim, verdict="NOT_ENOUGH_INFO", answer=prompts.message("abstain", say),
                              abstained=True, citations=[], evidence=[], backend=backend,
                              backend_reason=reason + ("; nothing relevant was retrieved" if llm else ""),
                              passages=hits)
            return verdict, 0.0
        relevance: dict[int, float] = {}
        for e in evidence:
            relevance[e.n] = max(relevance.get(e.n, -1.0), e.score)
        judgements = self.judge_passages(claim, hits, relevance, lang, say, on_step)
        generation_ms = 0.0
        if llm is not None:
            started = time.perf_counter()
            judgements = self.judge_with(llm, claim, hits, judgements, say, on_step)
            generation_ms = (time.perf_counter() - started) * 1000
        return self.aggregate(claim, hits, judgements, backend, reason, say), generation_ms

    # -- judging with the entailment model ------------------------------------------------

    def judge_passages(self, claim: str, hits: list[Hit], relevance: dict[int, float],
                       lang: str | None, say: str | None = None,
                       on_step: OnStep | None = None) -> list[Judgement]:
        """Every passage's stance from the judge (module docstring), in passage order; `lang`
        is the claim's language, `say` the one to write rationales in (default: the same)."""
        claim_vector = self.grounding.embed([claim])[0]
        premises = [p for n, hit in enumerate(hits, start=1)
                    for p in self.grounding.premises(n, hit, claim_vector, self.settings.judged_sentences)]
        stated = facts.extract(claim, lang)
        grouped: dict[int, list[Premise]] = {}
        for p in premises:
            grouped.setdefault(p.n, []).append(p)
        by_passage: dict[int, list[tuple[Premise, np.ndarray]]] = {}
        for done, (n, ps) in enumerate(grouped.items(), start=1):  # passage by passage, to say how far it is
            if on_step:
                on_step("judging", done, len(grouped))
            by_passage[n] = list(zip(ps, self.judge.predict([(p.text, claim) for p in ps])))
        judgements = []
        for n, hit in enumerate(hits, start=1):
            judged = by_passage.get(n)
            strength = relevance.get(n, -1.0)
            if not judged:  # headings or text addressed to a model only: nothing to judge, nothing to show
                continue
            judgements.append(self._stance(n, hit, judged, stated, strength, lang, say or lang))
        return judgements

    def _stance(self, n: int, hit: Hit, judged: list[tuple[Premise, np.ndarray]], stated: facts.Facts,
                strength: float, lang: str | None, say: str | None) -> Judgement:
        s = self.settings
        name = self.judge.name
        closest = judged[0][0]  # premises come closest sentence first
        found: dict[int, list[facts.Clash]] = {}

        def clashes(p: Premise) -> list[facts.Clash]:
            # In the sentence closest to the claim, its one number is the claim's number even in
            # other words ("ore"/"hours"); elsewhere only a number for the same unit clashes.
            if id(p) not in found:
                found[id(p)] = facts.compare(stated, facts.extract(p.text, p.lang), one_sentence=p is closest).clashes
            return found[id(p)]

        def made(stance: str, p: Premise, why: str, confidence: float) -> Judgement:
            if stance == "refutes":
                why = f"{why} ({_p('contradiction', say)} {confidence:.2f})"
            return Judgement(n, hit, stance, why, p.start, p.end, strength, name, round(float(confidence), 3))

        def against(p: Premise) -> str:
            return rationale("clash", say, clashes(p)[0]) if clashes(p) else \
                rationale("contradicts", say, quote=_short(p.text))

        entailing = max(judged, key=lambda x: x[1][ENTAILMENT])
        contradicting = max(judged, key=lambda x: x[1][CONTRADICTION])
        p_e, p_c = float(entailing[1][ENTAILMENT]), float(contradicting[1][CONTRADICTION])
        # Support needs entailment, no fact of the premise saying otherwise, and every fact the
        # claim asserts stated in the passage: the judge reads a name or a number it has never
        # seen as a detail ("the governor Roman Starovoit" against "the governor Vyacheslav Gladkov").
        if p_e >= s.entail_threshold and p_e > p_c:
            p = entailing[0]
            if clashes(p):
                # the judge finds the sentence says what the claim says but for a fact it gives
                # otherwise: judges read numbers loosely, the fact check does not
                return made("refutes", p, against(p), p_e)
            missing = self.unstated(stated, hit, lang)
            if not missing:
                return made("supports", p, rationale("entails", say, quote=_short(p.text), p=f"{p_e:.2f}"), p_e)
            return Judgement(n, hit, "unrelated", rationale("unstated", say, what=", ".join(missing)), p.start,
                             p.end, strength, name, contradiction=round(p_c, 3))
        if p_c >= s.contradict_threshold:
            # the contradicting premise that shows a fact clash explains itself best
            confident = [x[0] for x in judged if x[1][CONTRADICTION] >= s.contradict_threshold]
            p = next((x for x in confident if clashes(x)), closest if clashes(closest) else contradicting[0])
            return made("refutes", p, against(p), p_c)
        # Another number, date or place in a passage that bears on the claim is evidence against
        # it, when the judge leans that way too.
        if strength >= s.related_threshold - s.clash_margin:
            for p, pr in sorted(judged, key=lambda x: -x[1][CONTRADICTION]):
                if clashes(p) and pr[CONTRADICTION] >= s.clash_contradiction and pr[ENTAILMENT] < s.entail_threshold:
                    return made("refutes", p, against(p), pr[CONTRADICTION])
        p = entailing[0]
        return Judgement(n, hit, "unrelated", rationale("unrelated", say), p.start, p.end, strength, name,
                         contradiction=round(p_c, 3))

    def unstated(self, stated: facts.Facts, hit: Hit, lang: str | None) -> list[str]:
        """The numbers, dates, places and names the claim asserts that the passage does not state.

        Across languages only numbers and dates count: names and places translate ("Geneva" /
        "Ginevra", "General Staff" / "Stato maggiore"); and only names a source must name
        (facts.must_be_named: not a country, not a Roman numeral)."""
        doc = self.grounding.data.documents[hit.doc_id]
        text = f"{doc.title}\n{self.grounding.visible_text(hit)}"  # the title names the article's subject
        missing = facts.compare(stated, facts.extract(text, doc.lang)).missing
        same_language = not (lang and doc.lang and doc.lang != lang)
        said = set(words(fold(text)))
        kept = []
        for m in missing:
            kind, what = m.split(": ", 1)
            if kind in ("number", "date"):
                kept.append(what)
            elif same_language and facts.must_be_named(what) \
                    and not any(w in said for w in words(fold(what)) if len(w) > 3):
                kept.append(what)  # a person named once in full, then by surname ("Hodges") is named
        return kept

    # -- judging with a model ---------------------------------------------------------------

    def judge_with(self, llm: LLM, claim: str, hits: list[Hit], judged: list[Judgement],
                   say: str, on_step: OnStep | None = None) -> list[Judgement]:
        """The model's stance, validated, for the relevant passages the judge leaves open.

        A confident entailment or contradiction from the judge stands: a small model is a poor
        judge of those (Qwen2.5-Coder-1.5B called 9 of 10 restated claims "refutes": "it does
        not confirm that he actually did"). Only passages that bear on the claim are asked
        about: a small model calls anything "supports", and an unrelated passage must not
        decide a verdict."""
        language = prompts.message("language_names", say)
        # A backend that gives the first token's log-probabilities is asked for one word and its
        # label read off them: one forward pass, no grammar (seconds instead of a minute on 2 cores).
        scored = callable(getattr(llm, "first_token_logprobs", None))
        system = {kind: {"role": "system", "content": prompts.render("stance_system.txt", reply=prompts.render(
            f"stance_reply_{kind}.txt", language=language).strip())} for kind in ("label", "json")}
        open_ = sorted((j for j in judged if j.stance == "unrelated" and j.strength >= self.settings.related_threshold),
                       key=lambda j: -j.strength)[: self.settings.judged_passages]
        result = {j.n: j for j in judged}
        for asked, j in enumerate(open_, start=1):
            if on_step:
                on_step("asking", asked, len(open_))
            user = {"role": "user", "content": prompts.render(
                "stance_user.txt", passage=prompts.as_data(self.grounding.visible_text(j.hit)),
                claim=prompts.as_data(claim))}
            alternatives = llm.first_token_logprobs([system["label"], user]) if scored else None
            if alternatives is not None:
                parsed = model_stance(alternatives, llm.name, say)
            else:  # no log-probabilities from this backend: the label as JSON, by a grammar
                parsed = parse_stance(llm.chat([system["json"], user], json_schema=STANCE_SCHEMA))
            if parsed is None:
                j.rationale += f" (the {llm.name} judgement was not valid)"
                continue
            stance, why = parsed
            if stance == "supports" and j.contradiction >= self.settings.clash_contradiction:
                # precision first: the model's "supports" does not stand where the judge leans against
                j.rationale += f" (the {llm.name} judgement \"supports\" was set aside: the judge leans against it)"
                continue
            result[j.n] = Judgement(j.n, j.hit, stance, why, j.start, j.end, j.strength, llm.name)
        return [result[n] for n in sorted(result)]

    # -- the verdict --------------------------------------------------------------------------

    def aggregate(self, claim: str, hits: list[Hit], judgements: list[Judgement], backend: str,
                  reason: str, say: str) -> Verdict:
        by_doc: dict[str, list[Judgement]] = {}
        for j in judgements:
            by_doc.setdefault(j.hit.doc_id, []).append(j)
        sources = []
        for doc_id, js in by_doc.items():
            decisive = [j for j in js if j.stance != "unrelated"]
            stance = max(decisive, key=lambda j: (j.confidence, j.strength)).stance if decisive else "unrelated"
            doc = self.grounding.data.documents[doc_id]
            sources.append({"doc_id": doc_id, "title": doc.title, "date": doc.date, "url": doc.url, "stance": stance,
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
                "summary": prompts.message("disagree", say) + " " + ", ".join(
                    f"[{e.n}] {prompts.message('stance', say)[e.stance]}" for e in rests_on) + ".",
                "supports": [e.n for e in rests_on if e.stance == "supports"],
                "refutes": [e.n for e in rests_on if e.stance == "refutes"],
                "doc_ids": [s["doc_id"] for s in supporting + refuting],
            })
        lines = [prompts.message("verdict", say)[label]]
        lines += [f"[{e.n}] {prompts.message('stance', say)[e.stance]}: {e.rationale}" for e in rests_on]
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


def label_probabilities(alternatives: list[tuple[str, float]] | None, labels) -> dict[str, float] | None:
    """Each label's probability as the reply's first word, from the first token's alternatives
    ((token, log-probability), most likely first): a token counts for the label it begins
    ("sup" for "supports"). None when the labels take less than half the probability: the
    model meant to say something else, so no label may be read into it."""
    if not alternatives:
        return None
    mass = dict.fromkeys(labels, 0.0)
    for token, logprob in alternatives:
        t = token.strip().strip('"\'*').lower()
        for label in labels:
            if t and (label.startswith(t) or t.startswith(label)):
                mass[label] += float(np.exp(logprob))
                break
    total = sum(mass.values())
    if total < 0.5:
        return None
    return {label: m / total for label, m in mass.items()}


def model_stance(alternatives, model: str, lang: str | None) -> tuple[str, str] | None:
    """(stance, rationale) read off a one-word reply's first-token log-probabilities."""
    probabilities = label_probabilities(alternatives, STANCES)
    if probabilities is None:
        return None
    stance = max(probabilities, key=probabilities.get)
    if stance == "unrelated":
        return stance, rationale("unrelated", lang)
    word = prompts.message("stance", lang)[stance]
    return stance, rationale("model", lang, model=model, stance=word, p=f"{probabilities[stance]:.2f}")


def _p(label: str, lang: str | None) -> str:
    """The judge's label in the claim's language, for a rationale: "contradiction" / "contraddizione"."""
    return prompts.message("rationale", lang)["labels"][label]


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"

