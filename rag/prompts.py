"""Prompt templates and user-facing messages, kept as files in prompts/ and loaded by name."""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from string import Template

from .settings import shipped
from .types import RagError


def prompts_dir() -> Path:
    """$RAG_PROMPTS_DIR, else prompts/ beside the package (a source checkout), else the copy
    a wheel carries."""
    if os.environ.get("RAG_PROMPTS_DIR"):
        return Path(os.environ["RAG_PROMPTS_DIR"])
    return shipped("prompts", "prompt_templates")


@functools.lru_cache(maxsize=None)
def load(name: str) -> str:
    path = prompts_dir() / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        raise RagError(f"prompt template {path} is missing") from None


def render(name: str, **values) -> str:
    """Fill a template's $placeholders; a value is inserted as is, never re-interpreted."""
    return Template(load(name)).substitute(values)


def message(kind: str, lang: str | None) -> str:
    """A fixed message (e.g. "abstain") in the given language, English when unknown."""
    table = json.loads(load("messages.json"))[kind]
    return table.get(lang or "en", table["en"])


def as_data(text: str) -> str:
    """Article or user text for a prompt: it cannot close or open the <passages> block it sits in."""
    return re.sub(r"</?\s*passages\s*>", "", text, flags=re.IGNORECASE)
