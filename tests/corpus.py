"""A tiny made-up corpus for tests that need articles but must not restate the held-out gold set
(eval/gold.jsonl is written from seeds/, so a test asking about the seeds would pin gold items).

Two reports of one ferry breakdown that partly disagree (340 or 410 passengers; the inquiry's
first hearing in Livorno or in Grosseto), and an unrelated article about a gallery. Each has a
dateline and sub-headings, like the seeds, so it is cut into several passages. Every fact here is
invented.
"""

from __future__ import annotations

from pathlib import Path

FERRY_A = """Traghetto bloccato a Piombino
Piombino, 12 gennaio 2026 – Il traghetto Aurora, diretto a Portoferraio, è rimasto fermo in porto per sei ore a causa di un guasto al motore. A bordo c’erano 340 passeggeri, secondo la compagnia Navi dell’Arcipelago.
Attesa al freddo sul molo
Molti viaggiatori hanno aspettato sul molo al freddo. La Croce Rossa ha distribuito coperte e bevande calde ai bambini e agli anziani.
Il guasto e l’indagine
Il direttore della compagnia, Luca Bertini, ha detto che il guasto è stato riparato in serata. I passeggeri riceveranno un rimborso del biglietto entro febbraio.
La capitaneria di porto ha aperto un’indagine sulla manutenzione della nave: la prima udienza si terrà il 3 febbraio a Livorno.
"""
FERRY_B = """Sei ore di attesa per l’Elba
Piombino, 13 gennaio 2026 – Un guasto al motore ha bloccato per sei ore il traghetto Aurora nel porto di Piombino. I passeggeri a bordo erano 410, secondo la capitaneria di porto.
L’isola chiede più navi
La sindaca di Portoferraio, Anna Ricci, ha chiesto alla Regione più collegamenti con il continente: “L’isola non può restare isolata per un solo guasto”.
Il sindacato dei marittimi denuncia da mesi la mancanza di personale sulle navi della compagnia.
Secondo fonti della capitaneria, la prima udienza dell’indagine si terrà il 3 febbraio a Grosseto.
"""
GALLERY = """Riapre la pinacoteca di Bergamo
Bergamo, 20 gennaio 2026 – Dopo due anni di lavori riapre la pinacoteca civica di Bergamo. Il restauro dell’edificio è costato 7 milioni di euro.
Le nuove sale
La direttrice della pinacoteca, Chiara Galli, ha presentato le nuove sale dedicate al Rinascimento.
Il museo sarà aperto tutti i giorni tranne il lunedì. L’ingresso costerà 12 euro, gratuito per gli studenti.
"""
ARTICLES = {"traghetto-a.txt": FERRY_A, "traghetto-b.txt": FERRY_B, "pinacoteca.txt": GALLERY}
TITLES = {name: text.split("\n", 1)[0] for name, text in ARTICLES.items()}


def write_articles(folder: Path) -> Path:
    """The articles as files in `folder` (created); document ids are the file stems."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def source(doc_id: str) -> str:
    """The text of the article a document id names."""
    return ARTICLES[f"{doc_id}.txt"]
