"""rag: a fact-checking question-answering bot over news articles, running locally.

    from rag import FactChecker
    bot = FactChecker.build(["seeds/"], "my-index")    # or FactChecker.open("my-index")
    for hit in bot.search("Where was the summit to be held?", k=3):
        print(hit.rank, hit.title, hit.text)
"""

from importlib import metadata as _metadata

try:  # the one source of the version is pyproject.toml's, as installed
    __version__ = _metadata.version("rag-factcheck")
except _metadata.PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "unknown"

from .conversation import Chat
from .factchecker import FactChecker
from .settings import Settings
from .types import ClaimSpan, Chunk, Document, EmbedProgress, Hit, IngestReport, RagError, TextCheck, Turn

__all__ = ["FactChecker", "Settings", "Document", "Chunk", "Hit", "IngestReport", "RagError", "Chat", "Turn",
           "TextCheck", "ClaimSpan", "EmbedProgress"]
