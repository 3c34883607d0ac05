"""A synthetic corpus for the benchmarks: Italian-like news articles, and vectors for them.

Articles are built from Italian news phrases (subjects, verbs, objects, places, quotes) by a
seeded random generator, so every run gets the same text: a title line, a dateline
("Torino, 14 marzo 2025 – ") and 6-11 paragraphs, about 3,300 characters on average, like the
seed articles (2,700 and 3,700).

Embedding 100k chunks for real would take hours here (~25 texts/s), so the scale tests fill the
index with synthetic vectors shaped like real ones: a pool of real e5 embeddings of generated
sentences, each index vector a noisy mix of two pool vectors (the real pool's pairwise cosine
averages 0.86, 5-95% 0.83-0.90; the synthetic vectors' 0.84, 0.81-0.87). Query embeddings stay real.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import numpy as np

CITIES = ["Roma", "Milano", "Torino", "Napoli", "Bologna", "Firenze", "Genova", "Bari", "Palermo",
          "Venezia", "Trieste", "Verona", "Padova", "Cagliari", "Perugia", "Ancona", "Trento", "Catania"]
REGIONS = ["Lazio", "Lombardia", "Piemonte", "Campania", "Emilia-Romagna", "Toscana", "Liguria",
           "Puglia", "Sicilia", "Veneto", "Sardegna", "Umbria", "Marche", "Calabria"]
MONTHS = ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
          "settembre", "ottobre", "novembre", "dicembre"]
NAMES = ["Marco Rinaldi", "Giulia Ferretti", "Alessandro Conti", "Francesca Moretti", "Luca Bianchi",
         "Chiara Galli", "Paolo Esposito", "Elena Marino", "Davide Colombo", "Sara Ricci",
         "Andrea Lombardi", "Valentina Greco", "Stefano Bruno", "Martina Costa", "Roberto Fontana"]
SUBJECTS = ["Il ministro dell'Economia", "La sindaca di {city}", "Il presidente della Regione {region}",
            "Il consiglio comunale di {city}", "Un portavoce del governo", "La Commissione europea",
            "I sindacati dei trasporti", "Il prefetto di {city}", "L'assessore alla sanità",
            "Gli analisti della Banca d'Italia", "La procura di {city}", "Il comitato dei residenti",
            "L'associazione dei commercianti", "Il rettore dell'università di {city}",
            "La direttrice dell'ospedale", "Il segretario del partito", "Le opposizioni in Parlamento",
            "L'amministratore delegato della società", "Il capo della protezione civile",
            "La ministra dell'Ambiente"]
VERBS = ["ha annunciato", "ha confermato", "ha respinto", "ha presentato", "ha criticato",
         "ha approvato", "ha chiesto", "ha smentito", "ha rinviato", "ha firmato", "ha difeso",
         "ha messo in discussione", "ha illustrato", "ha promesso", "ha sospeso"]
TOPICS = ["il trasporto pubblico", "la sanità territoriale", "le scuole superiori", "l'edilizia popolare",
          "la gestione dei rifiuti", "le piccole imprese", "il turismo", "la rete idrica",
          "le energie rinnovabili", "la sicurezza stradale", "l'agricoltura", "la ricerca scientifica",
          "il lavoro giovanile", "le pensioni", "il dissesto idrogeologico", "la cultura"]
OBJECTS = ["un piano da {num} milioni di euro per {topic}", "la proposta di riforma per {topic}",
           "il nuovo decreto su {topic}", "l'accordo con le parti sociali su {topic}",
           "il bando per {topic}", "i tagli previsti per {topic}", "la relazione annuale su {topic}",
           "un'indagine su {topic}", "il calendario degli interventi per {topic}",
           "le nuove regole per {topic}"]
TAILS = ["durante una conferenza stampa a {city}", "secondo fonti vicine al dossier",
         "dopo settimane di trattative", "in vista del voto di {month}", "a margine di un incontro con i sindaci",
         "nonostante le proteste delle associazioni", "con il sostegno di una parte dell'opposizione",
         "entro la fine di {month}", "dopo il vertice di {city}", "in un'intervista televisiva"]
FACTS = ["Secondo i dati dell'Istat, {topic} ha registrato un calo del {pct} per cento nell'ultimo anno.",
         "Il provvedimento riguarda circa {num} mila persone in {region}.",
         "La prima fase dei lavori dovrebbe concludersi il {day} {month} {year}.",
         "Nel {year} la spesa per {topic} era stata di {num} milioni di euro.",
         "Le stime parlano di un aumento del {pct} per cento dei costi rispetto al {year}.",
         "Il testo passerà ora all'esame della commissione, che dovrà esprimersi entro {num} giorni.",
         "A {city} la misura è già in vigore da {num} mesi, con risultati giudicati incoraggianti.",
         "Le associazioni di categoria hanno chiesto un incontro urgente con il governo."]
QUOTES = ["“Non possiamo più aspettare, {topic} merita risposte concrete”, ha dichiarato {name}.",
          "“È una scelta che pesa sulle famiglie”, ha commentato {name}, esponente dell'opposizione.",
          "“Abbiamo lavorato per mesi a questo testo e siamo pronti a discuterlo”, ha spiegato {name}.",
          "“I numeri ci danno ragione”, ha detto {name} ai giornalisti.",
          "{name} ha definito la decisione “un passo avanti, ma ancora insufficiente”."]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        city=rng.choice(CITIES), region=rng.choice(REGIONS), month=rng.choice(MONTHS),
        name=rng.choice(NAMES), topic=rng.choice(TOPICS), num=rng.randint(2, 900),
        pct=rng.randint(2, 40), day=rng.randint(1, 28), year=rng.randint(2015, 2025),
    )


def sentence(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.55:
        text = " ".join([_fill(rng.choice(SUBJECTS), rng), rng.choice(VERBS), _fill(rng.choice(OBJECTS), rng),
                         _fill(rng.choice(TAILS), rng)]) + "."
        return text[0].upper() + text[1:]
    if kind < 0.8:
        return _fill(rng.choice(FACTS), rng)
    return _fill(rng.choice(QUOTES), rng)


def article(i: int, seed: int = 0) -> tuple[str, str]:
    """(file name, text) of synthetic article number i."""
    rng = random.Random(f"{seed}-{i}")
    title = _fill(rng.choice(SUBJECTS), rng) + " " + rng.choice(VERBS) + " " + _fill(rng.choice(OBJECTS), rng)
    dateline = f"{rng.choice(CITIES)}, {rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.randint(2020, 2025)} – "
    paragraphs = [" ".join(sentence(rng) for _ in range(rng.randint(2, 5))) for _ in range(rng.randint(6, 11))]
    paragraphs[0] = dateline + paragraphs[0]
    return f"art{i:06d}.txt", title[0].upper() + title[1:] + "\n\n" + "\n\n".join(paragraphs) + "\n"


def write_articles(folder: Path, n: int, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        name, text = article(i, seed)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def questions(n: int, seed: int = 1) -> list[str]:
    """Questions in the style of a reader's, Italian and English (real embeddings are timed)."""
    rng = random.Random(seed)
    forms = ["Che cosa {verb} {subject} sul piano per {topic}?", "Quando è previsto l'intervento per {topic} a {city}?",
             "Quanto costa il piano per {topic} in {region}?", "Chi ha criticato la riforma per {topic}?",
             "What did the mayor of {city} say about {topic_en}?", "How much will the plan for {topic_en} cost?"]
    topics_en = ["public transport", "hospitals", "schools", "waste collection", "renewable energy",
                 "road safety", "pensions", "tourism", "small businesses", "scientific research"]
    return [rng.choice(forms).format(verb=rng.choice(VERBS), subject=_fill(rng.choice(SUBJECTS), rng).lower(),
                                     topic=rng.choice(TOPICS), city=rng.choice(CITIES),
                                     region=rng.choice(REGIONS), topic_en=rng.choice(topics_en))
            for _ in range(n)]


class VectorFaker:
    """Synthetic passage vectors with the geometry of real e5 ones (see the module docstring)."""

    def __init__(self, embedder, pool_size: int, cache_dir: Path | None = None, seed: int = 0):
        rng = random.Random(seed)
        texts = [sentence(rng) for _ in range(pool_size)]
        key = hashlib.sha256(repr((embedder.spec, texts)).encode()).hexdigest()[:16]
        cached = cache_dir / f"pool-{key}.npy" if cache_dir else None
        if cached and cached.exists():
            self.pool = np.load(cached)
        else:
            self.pool = np.vstack([embedder.embed_passages(texts[i : i + 64]) for i in range(0, len(texts), 64)])
            if cached:
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.save(cached, self.pool)
        self.rng = np.random.default_rng(seed)

    def vectors(self, n: int, noise: float = 0.015) -> np.ndarray:
        """n unit vectors: 0.7 * a pool vector + 0.3 * another + Gaussian noise."""
        a = self.pool[self.rng.integers(len(self.pool), size=n)]
        b = self.pool[self.rng.integers(len(self.pool), size=n)]
        v = 0.7 * a + 0.3 * b + self.rng.normal(0.0, noise, size=a.shape).astype(np.float32)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    def chunk_vectors(self, sentence_vectors: np.ndarray, counts: list[int]) -> np.ndarray:
        """A chunk's vector: the mean of its sentences' vectors, plus noise, normalised."""
        owners = np.repeat(np.arange(len(counts)), counts)
        sums = np.zeros((len(counts), sentence_vectors.shape[1]), np.float32)
        np.add.at(sums, owners, sentence_vectors)
        sums += self.rng.normal(0.0, 0.02 * np.sqrt(max(counts, default=1)), size=sums.shape).astype(np.float32)
        return (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)
