"""Hybrid retrieval: dense (FAISS) and keyword (BM25) rankings fused by reciprocal rank.

Dense search finds paraphrases and questions in another language; BM25 finds exact names,
numbers and rare words. Reciprocal rank fusion (RRF) adds weight / (rrf_k + rank) over the
two rankings, so neither score scale has to be calibrated against the other. The dense
weight is 1; the keyword weight is the square of the share of query words found in the
corpus vocabulary.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .embeddings import Embedder
from .settings import SEARCH_MODES, RetrievalSettings
from .store import ChunkTable, IndexData
from .text import detect_language, keyword_tokens
from .types import Hit, RagError


def build_bm25(chunks: ChunkTable):
    import bm25s

    corpus = [keyword_tokens(c.text, chunks.documents[c.doc_id].lang) for c in chunks]
    bm25 = bm25s.BM25()
    bm25.index(corpus, show_progress=False)
    return bm25


def top_rows(scores: np.ndarray, depth: int) -> np.ndarray:
    """Rows of the `depth` highest scores, best first, ties in row order: the same as a stable
    full sort, but only the rows at or above the depth-th score get sorted (at 100k chunks a
    full sort took longer than the BM25 scoring itself)."""
    if len(scores) > depth:
        kth = np.partition(scores, len(scores) - depth)[len(scores) - depth]
        rows = np.flatnonzero(scores >= kth)
    else:
        rows = np.arange(len(scores))
    return rows[np.argsort(-scores[rows], kind="stable")][:depth]


class Retriever:
    """Searches one loaded index with the embedder that built it."""

    def __init__(self, data: IndexData, embedder: Embedder, settings: RetrievalSettings):
        self.data = data
        self.embedder = embedder
        self.settings = settings
        self.owners = data.chunks.sentence_owners()
        self._query_vectors: dict[str, np.ndarray] = {}
        # Short queries ("XK-42 river crossing") often have no stopwords to tell their
        # language by: stem them like most of the corpus.
        langs = Counter(d.lang for d in data.documents.values() if d.lang)
        self.corpus_lang = langs.most_common(1)[0][0] if langs else None

    def language(self, text: str) -> str | None:
        """The language of a question or claim; a text too short to tell is taken to be in the
        corpus's language."""
        return detect_language(text) or self.corpus_lang

    def query_vector(self, query: str) -> np.ndarray:
        """The query's embedding; the last few are kept, as answering needs it again."""
        if query not in self._query_vectors:
            if len(self._query_vectors) > 64:
                self._query_vectors.clear()
            self._query_vectors[query] = self.embedder.embed_queries([query])[0]
        return self._query_vectors[query]

    def dense(self, query: str, depth: int) -> list[tuple[int, float]]:
        """Chunks by cosine similarity: the better of the whole chunk and its best sentence.

        A question usually targets one sentence, and a long passage's vector blurs it; the
        sentence vectors keep it sharp while the chunk vector keeps the wider context."""
        if not self.data.chunks:
            return []
        vector = self.query_vector(query)[None, :]
        best: dict[int, float] = {}
        scores, rows = self.data.faiss_index.search(vector, min(depth, self.data.faiss_index.ntotal))
        for row, score in zip(rows[0], scores[0]):
            if row >= 0:
                best[int(row)] = float(score)
        n_sentences = self.data.sentence_index.ntotal
        scores, rows = self.data.sentence_index.search(vector, min(depth * 4, n_sentences))
        for row, score in zip(rows[0], scores[0]):
            if row >= 0:
                owner = int(self.owners[row])
                best[owner] = max(best.get(owner, -1.0), float(score))
        return sorted(best.items(), key=lambda item: (-item[1], item[0]))[:depth]

    def keyword(self, query: str, depth: int) -> tuple[list[tuple[int, float]], float]:
        """BM25 ranking, and the share of the query's words the corpus knows at all."""
        vocab = self.data.bm25.vocab_dict
        all_tokens = keyword_tokens(query, self.language(query))
        tokens = [t for t in all_tokens if t in vocab]
        if not tokens or not self.data.chunks:
            return [], 0.0
        scores = self.data.bm25.get_scores(tokens)
        found = np.flatnonzero(scores > 0)  # chunks with a query word: often few of the 100k
        return [(int(r), float(scores[r])) for r in found[top_rows(scores[found], depth)]], \
            len(tokens) / len(all_tokens)

    def search(self, query: str, k: int | None = None, mode: str | None = None,
               diversity: float | None = None) -> list[Hit]:
        s = self.settings
        k = s.k if k is None else k
        mode = mode or s.mode
        diversity = s.diversity if diversity is None else diversity
        if not isinstance(query, str):
            raise RagError(f"the query must be a string, not {type(query).__name__}")
        if isinstance(k, bool) or not isinstance(k, int):
            raise RagError(f"k must be a whole number, not {k!r}")
        if mode not in SEARCH_MODES:
            raise RagError(f"search mode must be one of {', '.join(SEARCH_MODES)}, not {mode!r}")
        if isinstance(diversity, bool) or not isinstance(diversity, (int, float)):
            raise RagError(f"diversity must be a number, not {diversity!r}")
        query = query.strip()
        if not query:
            raise RagError("the query is empty")
        if len(query) > s.max_query_chars:
            raise RagError(f"the query is {len(query)} characters long; the limit is {s.max_query_chars}")
        if k < 1:
            raise RagError(f"k must be at least 1, got {k}")
        if not 0.0 <= diversity < 1.0:
            raise RagError(f"diversity must be in [0, 1), got {diversity}")
        depth = max(s.candidates, k)
        keyword, coverage = self.keyword(query, depth) if mode in ("hybrid", "keyword") else ([], 0.0)
        rankings = {
            "dense": (self.dense(query, depth) if mode in ("hybrid", "dense") else [], 1.0),
            # BM25 counts in proportion to coverage²: a question in another language than the
            # articles shares only names with them, and its keyword ranking is mostly noise.
            "keyword": (keyword, coverage**2 if mode == "hybrid" else 1.0),
        }
        fused: dict[int, dict] = {}
        for name, (ranking, weight) in rankings.items():
            for rank, (row, score) in enumerate(ranking, start=1):
                entry = fused.setdefault(row, {"score": 0.0})
                entry["score"] += weight / (s.rrf_k + rank)
                entry[f"{name}_score"] = score
                entry[f"{name}_rank"] = rank
        picked = pick_diverse(fused, self.data.chunks.doc_ids, k, diversity)
        return [self._hit(rank, row, fused[row], score) for rank, (row, score) in enumerate(picked, 1)]

    def _hit(self, rank: int, row: int, entry: dict, score: float) -> Hit:
        chunk = self.data.chunks[row]
        doc = self.data.documents[chunk.doc_id]
        return Hit(
            rank=rank, doc_id=doc.id, title=doc.title, date=doc.date, chunk_id=chunk.id,
            start=chunk.start, end=chunk.end, text=chunk.text, score=round(score, 6),
            dense_score=entry.get("dense_score"), dense_rank=entry.get("dense_rank"),
            keyword_score=entry.get("keyword_score"), keyword_rank=entry.get("keyword_rank"),
            url=doc.url, page=doc.page_at(chunk.start),
        )


def pick_diverse(fused: dict[int, dict], doc_ids: list[str], k: int, diversity: float) -> list[tuple[int, float]]:
    """Top k rows by fused score; with diversity > 0, each further passage from a document
    already picked counts (1 - diversity) times less, so other sources can surface."""
    if diversity == 0:  # a plain ranking: one sort, not k passes over every candidate
        return [(row, fused[row]["score"]) for row in sorted(fused, key=lambda r: (-fused[r]["score"], r))[:k]]
    remaining = dict(fused)
    per_doc: dict[str, int] = {}
    picked = []
    while remaining and len(picked) < k:
        def adjusted(row):
            return remaining[row]["score"] * (1.0 - diversity) ** per_doc.get(doc_ids[row], 0)

        row = max(remaining, key=lambda r: (adjusted(r), -r))
        picked.append((row, adjusted(row)))
        per_doc[doc_ids[row]] = per_doc.get(doc_ids[row], 0) + 1
        del remaining[row]
    return picked
