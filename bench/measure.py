"""Small helpers the benchmark scripts share: timing summaries, load average, child processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def load() -> list[float]:
    """1, 5 and 15-minute load averages: numbers taken while other work runs are not comparable."""
    return [round(x, 2) for x in os.getloadavg()]


def summary_ms(seconds: list[float]) -> dict:
    """p50 / p95 / mean of a list of durations, in milliseconds."""
    if not seconds:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "mean": float("nan")}
    ms = np.array(seconds) * 1000
    return {"n": len(ms), "p50": round(float(np.percentile(ms, 50)), 2),
            "p95": round(float(np.percentile(ms, 95)), 2), "mean": round(float(ms.mean()), 2)}


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def run_child(args: list[str], env: dict | None = None, timeout: float = 3600) -> dict:
    """Run `python args...` in a new process (so that its peak RSS is its own) and return the
    JSON object its last stdout line holds (see `emit`), plus its wall time."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, **(env or {})})
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result.setdefault("wall_s", round(time.perf_counter() - started, 2))
    return result


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB. VmHWM, not getrusage: Linux carries
    the parent's peak over a fork and exec into the child's ru_maxrss."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def emit(result: dict) -> None:
    """A child's result: one JSON line on stdout, with its peak RSS and the load average."""
    result = {**result, "peak_rss_mb": peak_rss_mb(), "load_after": load()}
    print(json.dumps(result, ensure_ascii=False))
