"""Split documents into sentence-aware chunks that keep their exact character offsets.

The body is first cut into sections at heading lines, so a heading stays with the text it
introduces; each section is then split by langchain's RecursiveCharacterTextSplitter,
preferring paragraph, line, sentence and clause boundaries, in that order.
"""

from __future__ import annotations

import re

from langchain_text_splitters import RecursiveCharacterTextSplitter

from .settings import ChunkingSettings
from .text import looks_like_heading, sentence_spans
from .types import Chunk, Document, RagError

# Coarsest boundary first: paragraphs, lines, sentence ends, clauses, words.
SEPARATORS = [r"\n\s*\n", r"\n", r"(?<=[.!?…])\s+", r"(?<=[;:])\s+", r"(?<=,)\s+", r"\s+", ""]
_LINE = re.compile(r"[^\n]*\n?")


def make_splitter(settings: ChunkingSettings) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=settings.size,
        chunk_overlap=settings.overlap,
        separators=SEPARATORS,
        is_separator_regex=True,
        keep_separator=True,  # pieces keep their whitespace, so chunks stay substrings
        strip_whitespace=True,
    )


def sections(text: str, start: int) -> list[tuple[int, int]]:
    """(start, end) spans of text[start:], each beginning at a heading line (or the body start)."""
    lines = [(m.start(), m.group()) for m in _LINE.finditer(text, start) if m.group()]
    bounds = [start]
    for (pos, line), (_, following) in zip(lines[1:], lines[2:]):
        # A heading: a short non-sentence line followed by a longer line of text.
        if looks_like_heading(line) and len(following.strip()) > len(line.strip()):
            bounds.append(pos)
    bounds.append(len(text))
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if text[a:b].strip()]


def _spans(section: str, splitter: RecursiveCharacterTextSplitter) -> list[tuple[int, int]]:
    """(start, end) of each split piece inside the section."""
    spans, cursor = [], 0
    for piece in splitter.split_text(section):
        # Overlapping pieces start before the previous one ends, but after its start.
        start = section.find(piece, cursor)
        if start < 0:
            raise RagError("internal error: a chunk is not a substring of its document")
        spans.append((start, start + len(piece)))
        cursor = start + 1
    return spans


def _merge_small(spans: list[tuple[int, int]], min_chars: int) -> list[tuple[int, int]]:
    """Fold a tiny piece (a lone heading, a last short sentence) into its neighbour."""
    merged = list(spans)
    i = 0
    while len(merged) > 1 and i < len(merged):
        start, end = merged[i]
        if end - start >= min_chars:
            i += 1
        elif i + 1 < len(merged):  # into the next piece: a heading belongs to what follows
            merged[i : i + 2] = [(start, merged[i + 1][1])]
        else:
            merged[i - 1 : i + 1] = [(merged[i - 1][0], end)]
    return merged


def chunk_document(doc: Document, settings: ChunkingSettings) -> list[Chunk]:
    """Chunks of the document body, each with text == doc.text[start:end]."""
    splitter = make_splitter(settings)
    min_chars = min(150, settings.size // 4)
    chunks: list[Chunk] = []
    for sec_start, sec_end in sections(doc.text, doc.body_start):
        for start, end in _merge_small(_spans(doc.text[sec_start:sec_end], splitter), min_chars):
            start, end = sec_start + start, sec_start + end
            chunks.append(Chunk(f"{doc.id}#{len(chunks)}", doc.id, doc.text[start:end], start, end,
                                sentence_spans(doc.text, start, end, doc.lang)))
    return chunks
