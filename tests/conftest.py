"""Shared fixtures. Every test runs with its own RAG_HOME, so no test sees a real index."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    for var in list(os.environ):
        if var.startswith("RAG_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory):
    """The seeds indexed once with the default embedder; tests must not modify it."""
    from rag import FactChecker

    index_dir = tmp_path_factory.mktemp("seed-index")
    FactChecker.build([SEEDS], index_dir, progress=False)
    return index_dir


@pytest.fixture
def seed_bot(seed_index):
    from rag import FactChecker

    return FactChecker.open(seed_index)


@pytest.fixture(scope="session")
def corpus_folder(tmp_path_factory):
    """The made-up articles of tests/corpus.py as files (not the seeds: see that module)."""
    from corpus import write_articles

    return write_articles(tmp_path_factory.mktemp("made-up") / "articles")


@pytest.fixture(scope="session")
def corpus_index(corpus_folder, tmp_path_factory):
    """The made-up articles indexed once with the default embedder; tests must not modify it."""
    from rag import FactChecker

    index_dir = tmp_path_factory.mktemp("made-up-index")
    FactChecker.build([corpus_folder], index_dir, progress=False)
    return index_dir


@pytest.fixture
def corpus_bot(corpus_index):
    from rag import FactChecker

    return FactChecker.open(corpus_index)


@pytest.fixture
def seeds_copy(tmp_path):
    target = tmp_path / "articles"
    shutil.copytree(SEEDS, target)
    return target


def run_rag(*args, env=None, timeout=120, **kwargs) -> subprocess.CompletedProcess:
    """Run the real CLI in a new process, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, **kwargs)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
