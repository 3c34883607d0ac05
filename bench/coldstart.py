"""Cold start: `rag search` and `rag ask --backend extractive` in a new process each time.

    python bench/coldstart.py [--runs 5]

Indexes the seed articles into a temporary RAG_HOME first (as `make run` does), then times
each command from process start to exit, with its peak RSS. "Cold" is a new Python process
that imports rag, loads the index and the embedder; the files are in the page cache (the
first run is reported too). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import ROOT, emit, load, summary_ms

COMMANDS = {
    "search": ["search", "Dove era previsto il vertice tra Trump e Putin?", "-q"],
    "ask_extractive": ["ask", "Dove era previsto il vertice tra Trump e Putin?", "--backend", "extractive", "-q"],
}


def timed_run(args: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of `python -m rag args`, measured by wait4 on that child."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "rag", *args], stdout=subprocess.DEVNULL, stderr=err,
                                env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"rag {' '.join(args)} failed: {err.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="rag-bench-cold-"))
    env = {**os.environ, "RAG_HOME": str(home)}
    try:
        load_before = load()
        subprocess.run([sys.executable, "-m", "rag", "ingest", "-q"], env=env, cwd=ROOT, check=True,
                       capture_output=True)
        results = {}
        for name, command in COMMANDS.items():
            runs = [timed_run(command, env) for _ in range(args.runs)]
            results[name] = {"first_s": round(runs[0][0], 3), "wall": summary_ms([s for s, _ in runs]),
                             "peak_rss_mb": round(max(rss for _, rss in runs), 1)}
        emit({"section": "coldstart", "load_before": load_before, "runs": args.runs, "commands": results})
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
