"""The whole benchmark: ingest, cold start, and query latency / memory / recall at each size,
rag side by side with LangChain's FAISS store and txtai. Prints a table, saves JSON.

    .venv/bin/python bench/run.py                       # seeds, 1k, 10k, 100k chunks (~25 min)
    .venv/bin/python bench/run.py --sizes 200 --queries 3 --ingest-docs 2 --pool 16 --cold-runs 1

Each section runs in its own process (bench/ingest.py, coldstart.py, scale.py -> search.py),
so every peak RSS is that of one system doing one job. Numbers taken while other programs
keep the 2 cores busy are not comparable: the 1-minute load average is recorded with each
section, and the run first waits (up to --wait seconds) for it to drop below --max-load.
The baselines need `pip install -e '.[bench]'`; without it they are skipped.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import time
from pathlib import Path

from baselines import available
from measure import BENCH, ROOT, load, run_child


def wait_for_quiet(max_load: float, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while load()[0] > max_load and time.monotonic() < deadline:
        print(f"load {load()[0]} > {max_load}: waiting", file=sys.stderr, flush=True)
        time.sleep(20)
    return load()[0] <= max_load


def _fmt(x, spec=".1f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _size(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def table(report: dict) -> str:
    lines = [f"rag benchmark, {report['started']}, git {report['git']}, {report['cpus']} cores, "
             f"load average before {report['load_before']} (1/5/15 min)"]
    if not report["quiet"]:
        lines.append("WARNING: the machine was busy (1-min load above --max-load): numbers are inflated")
    ing = report.get("ingest")
    if ing:
        lines += ["", f"Ingest: {ing['documents']} synthetic articles -> {ing['chunks']} chunks; the pipeline embeds "
                      f"{ing['texts_embedded']} distinct texts (chunks + their sentences, {ing['tokens']['same']} "
                      f"tokens; chunks alone: {ing['tokens']['chunks']}). Load {ing['load_before'][0]}.",
                  f"  pipeline (rag ingest)            {ing['pipeline_s']:7.2f} s   {ing['documents_per_s']:.2f} docs/s"
                  f"   {ing['chunks_per_s']:.2f} chunks/s   peak RSS {ing['peak_rss_mb']:.0f} MB",
                  f"  raw encoder, the same texts      {ing['raw_same_s']:7.2f} s   {ing['raw_same_texts_per_s']:.1f} texts/s"
                  f"   pipeline overhead {ing['overhead_vs_same_texts']:+.1%}",
                  f"  raw encoder, chunk texts only    {ing['raw_chunks_s']:7.2f} s   {ing['raw_chunks_per_s']:.1f} texts/s"
                  f"   pipeline / raw {ing['pipeline_s'] / ing['raw_chunks_s']:.2f}x",
                  f"  index on disk                    {ing['disk_bytes_per_chunk']} bytes per chunk"]
    cold = report.get("coldstart")
    if cold:
        lines += ["", f"Cold start, new process, seed index ({cold['runs']} runs, load {cold['load_before'][0]}):"]
        for name, c in cold["commands"].items():
            lines.append(f"  rag {name.replace('_', ' --backend '):30} p50 {c['wall']['p50'] / 1000:.2f} s  "
                         f"p95 {c['wall']['p95'] / 1000:.2f} s  first {c['first_s']:.2f} s  peak RSS {c['peak_rss_mb']:.0f} MB")
    if report.get("scale"):
        lines += ["", "Queries (ms, p50 / p95; embedding = the query's real e5 embedding; recall on "
                      "eval/retrieval.jsonl, answers hidden among the synthetic chunks)",
                  f"  {'chunks':>7} {'system':16} {'embedding':>13} {'search':>13} {'total':>13} {'recall@1':>8} "
                  f"{'recall@5':>8} {'RSS MB':>7} {'build/open s':>12}  index"]
    for run in report.get("scale", []):
        for name, s in run["systems"].items():
            t, q = s["timings_ms"], s["quality"]
            kinds = "/".join(sorted({v["type"] + (f"-{v['storage']}" if v.get("storage") else "")
                                     for v in s.get("vector_indexes", {}).values()})) or \
                ("flat (same vectors)" if name == "rag-exact" else "")
            build = s.get("open_s", s.get("build_s"))
            lines.append(f"  {run['index']['chunks']:7} {name:16} {_fmt(t['embedding']['p50']):>6} / {_fmt(t['embedding']['p95']):<5}"
                         f"{_fmt(t['search']['p50'], '.2f'):>6} / {_fmt(t['search']['p95'], '.2f'):<5}"
                         f"{_fmt(t['total']['p50']):>6} / {_fmt(t['total']['p95']):<5} {_fmt(q['recall@1'], '.3f'):>8} "
                         f"{_fmt(q.get('recall@5'), '.3f'):>8} {s['peak_rss_mb']:7.0f} {_fmt(build, '.2f'):>12}  {kinds}")
        agree = run["systems"].get("rag", {}).get("agreement_with_exact")
        idx = run["index"]
        lines.append(f"  {'':7} index: {idx['sentences']} sentence vectors, {idx['disk_bytes_per_chunk']} bytes/chunk on "
                     f"disk, built in {idx['index_build_s']} s; cold `rag search` {run['cold_search_s']} s; "
                     f"load {run['load_before'][0]}")
        if agree:
            lines.append(f"  {'':7} approximate vs exact search of the same vectors: dense top-10 overlap "
                         f"{agree['dense_top10']:.3f}, hybrid top-5 overlap {agree['hybrid_top5']:.3f}")
    for note in report["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[0, 1000, 10000, 100000],
                        help="chunks in the index (0: the seed articles alone)")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--ingest-docs", type=int, default=30)
    parser.add_argument("--pool", type=int, default=2000)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--systems", nargs="+", default=["rag", "langchain", "txtai"])
    parser.add_argument("--sections", nargs="+", default=["ingest", "coldstart", "scale"])
    parser.add_argument("--max-load", type=float, default=0.7)
    parser.add_argument("--wait", type=float, default=600, help="seconds to wait for a quiet machine")
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/bench-<time>.json)")
    args = parser.parse_args()

    notes = []
    systems = [s for s in args.systems if s == "rag" or available().get(s)]
    for skipped in sorted(set(args.systems) - set(systems)):
        notes.append(f"{skipped} baseline skipped: not installed (pip install -e '.[bench]')")
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    quiet = wait_for_quiet(args.max_load, args.wait)
    report = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "git": git, "cpus": len(__import__("os").sched_getaffinity(0)),
              "python": platform.python_version(), "load_before": load(), "quiet": quiet,
              "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              "notes": notes, "scale": []}
    bench = str(BENCH)
    # Each section waits for the load its predecessor left (its own, mostly) to settle.
    if "ingest" in args.sections:
        report["ingest"] = run_child([f"{bench}/ingest.py", "--docs", str(args.ingest_docs)])
    if "coldstart" in args.sections:
        wait_for_quiet(args.max_load, args.wait)
        report["coldstart"] = run_child([f"{bench}/coldstart.py", "--runs", str(args.cold_runs)])
    if "scale" in args.sections:
        for size in args.sizes:
            print(f"scale: {_size(size)} chunks ...", file=sys.stderr, flush=True)
            wait_for_quiet(args.max_load, args.wait)
            report["scale"].append(run_child([f"{bench}/scale.py", "--chunks", str(size), "--queries",
                                              str(args.queries), "--pool", str(args.pool), "--cold-runs", "2",
                                              "--systems", *systems]))
    report["load_after"] = load()
    report["quiet"] = quiet and all(
        part["load_before"][0] <= args.max_load
        for part in [report.get("ingest"), report.get("coldstart"), *report["scale"]] if part)
    out = args.out or BENCH / "results" / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    print(table(report))
    print(f"\nsaved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
