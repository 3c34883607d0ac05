import pytest
from conftest import SEEDS

from rag.chunking import chunk_document
from rag.documents import load_paths, make_document
from rag.settings import ChunkingSettings


@pytest.mark.parametrize("size, overlap", [(600, 120), (300, 60), (1000, 0), (120, 30)])
def test_chunks_are_exact_substrings_covering_the_seed_bodies(size, overlap):
    for doc in load_paths([SEEDS]).documents:
        chunks = chunk_document(doc, ChunkingSettings(size=size, overlap=overlap))
        assert chunks, doc.id
        for chunk in chunks:
            assert doc.text[chunk.start : chunk.end] == chunk.text
            assert chunk.text == chunk.text.strip()
        # Together the chunks cover every non-space character of the body, in order.
        covered = set()
        for chunk in chunks:
            covered.update(range(chunk.start, chunk.end))
        missing = [i for i in range(doc.body_start, len(doc.text))
                   if not doc.text[i].isspace() and i not in covered]
        assert missing == []
        assert [c.start for c in chunks] == sorted(c.start for c in chunks)


def test_chunks_respect_the_size_and_end_on_sentences():
    doc = load_paths([SEEDS / "000_6d133049264667af.txt"]).documents[0]
    settings = ChunkingSettings(size=600, overlap=120)
    chunks = chunk_document(doc, settings)
    # A heading may be folded into the chunk it introduces; nothing grows much beyond that.
    assert max(len(c.text) for c in chunks) <= settings.size + 120
    assert all(c.text[-1] in ".!?”\"»" for c in chunks), [c.text[-20:] for c in chunks]


def test_headings_stay_with_their_section():
    text = ("Title of the story\n"
            "First paragraph of the story, long enough to be a paragraph of its own here.\n"
            "Second heading\n"
            "The second section begins here and explains what happened next, in detail.\n")
    doc = make_document("d", None, text, "mem", body_start=0)
    chunks = chunk_document(doc, ChunkingSettings(size=100, overlap=0))
    assert [c.text.splitlines()[0] for c in chunks] == ["Title of the story", "Second heading"]


def test_overlap_shares_text_between_neighbours():
    sentences = " ".join(f"Sentence number {i} says something about topic {i}." for i in range(40))
    doc = make_document("d", "T", sentences, "mem")
    chunks = chunk_document(doc, ChunkingSettings(size=200, overlap=80))
    assert len(chunks) > 5
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:]))


@pytest.mark.parametrize("lang, text, sentences", [
    ("en", "Thomas B. Edsall is a journalist. Dr. Smith met him in the U.S. capital, e.g. at the Times. "
           "He left at 3 p.m.\nA new line is a new sentence",
     ["Thomas B. Edsall is a journalist.", "Dr. Smith met him in the U.S. capital, e.g. at the Times.",
      "He left at 3 p.m.", "A new line is a new sentence"]),
    ("it", "Il donatore fu Charles L. Hutchinson. Il sig. Rossi lo incontrò negli U.S.A. nel 1890! «Basta.» Poi partì.",
     ["Il donatore fu Charles L. Hutchinson.", "Il sig. Rossi lo incontrò negli U.S.A. nel 1890!", "«Basta.»",
      "Poi partì."]),
])
def test_an_initial_or_abbreviation_does_not_end_the_sentence_a_citation_quotes(lang, text, sentences):
    # A sentence cut after "B." would quote "Edsall is a journalist." without its subject.
    doc = make_document("d", "t", text, "test")
    assert doc.lang == lang
    chunk, = chunk_document(doc, ChunkingSettings(size=1000, overlap=0))
    assert [doc.text[a:b] for a, b in chunk.sentences] == sentences
