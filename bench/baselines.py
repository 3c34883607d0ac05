"""Peer baselines, with our embedder so that only the store and the search differ.

- LangChain: `langchain_community.vectorstores.FAISS` with its defaults (an exact L2 scan, which
  ranks unit vectors exactly as cosine does), over the chunk vectors; a small LangChain
  `Embeddings` adapter wraps our embedder.
- txtai: `txtai.Embeddings` with its defaults (FAISS; IVF above 5,000 vectors), its vectors
  given by an "external" transform that wraps our embedder.

Both need the `bench` extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import numpy as np


def available() -> dict[str, bool]:
    import importlib.util

    return {"langchain": importlib.util.find_spec("langchain_community") is not None,
            "txtai": importlib.util.find_spec("txtai") is not None}


class LangChainStore:
    """LangChain's FAISS vector store over (text, vector, metadata) rows."""

    name = "langchain-faiss"

    def __init__(self, embedder, texts: list[str], vectors: np.ndarray, metadatas: list[dict]):
        from langchain_community.vectorstores import FAISS
        from langchain_core.embeddings import Embeddings

        class RagEmbeddings(Embeddings):
            """Our embedder (e5 "passage:" / "query:" prefixes included) as LangChain Embeddings."""

            def embed_documents(self, texts):
                return embedder.embed_passages(texts).tolist()

            def embed_query(self, text):
                return embedder.embed_queries([text])[0].tolist()

        self.embeddings = RagEmbeddings()
        # Precomputed vectors (the scale test's are synthetic); from_texts would embed them.
        self.store = FAISS.from_embeddings(list(zip(texts, vectors)), self.embeddings, metadatas=metadatas)

    def embed(self, query: str):
        return self.embeddings.embed_query(query)

    def search(self, query: str, k: int) -> list[dict]:
        return [doc.metadata for doc, _ in self.store.similarity_search_with_score(query, k=k)]

    def search_vector(self, vector, k: int) -> list[dict]:
        return [doc.metadata for doc, _ in self.store.similarity_search_with_score_by_vector(vector, k=k)]


class TxtaiStore:
    """txtai Embeddings over the same rows; ids are row numbers."""

    name = "txtai"

    def __init__(self, embedder, texts: list[str], vectors: np.ndarray, metadatas: list[dict]):
        from txtai import Embeddings

        self.metadatas = metadatas
        known = {"vectors": vectors}

        def transform(inputs):
            # Indexing gets the given vectors (in row order); queries are embedded for real.
            if known["vectors"] is not None:
                batch, known["vectors"] = known["vectors"][: len(inputs)], known["vectors"][len(inputs):]
                return batch
            return embedder.embed_queries(list(inputs))

        self._transform = transform
        self.index = Embeddings(method="external", transform=transform)
        self.index.index((i, text, None) for i, text in enumerate(texts))
        known["vectors"] = None

    def embed(self, query: str):
        return self._transform([query])[0]

    def search(self, query: str, k: int) -> list[dict]:
        return [self.metadatas[int(i)] for i, _ in self.index.search(query, k)]

    def search_vector(self, vector, k: int) -> list[dict]:
        # txtai skips the transform for arrays, so this searches the vector as given
        return [self.metadatas[int(i)] for i, _ in self.index.search(np.asarray(vector, np.float32), k)]


BASELINES = {"langchain": LangChainStore, "txtai": TxtaiStore}
