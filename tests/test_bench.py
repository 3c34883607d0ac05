"""The benchmark scripts run end to end on a tiny size, so they cannot rot. No timing is
asserted: speed is what bench/run.py prints, on a quiet machine."""

import json
import math
import os
import subprocess
import sys

from conftest import ROOT


def test_bench_runs_on_a_tiny_index_and_saves_its_numbers(tmp_path):
    out = tmp_path / "bench.json"
    # ~800 sentence vectors: above this threshold, so the approximate path is exercised too
    env = {**os.environ, "RAG_INDEX_APPROXIMATE_ABOVE": "500"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--sizes", "200", "--queries", "3", "--ingest-docs", "2",
         "--pool", "16", "--cold-runs", "1", "--wait", "0", "--out", str(out)],
        capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert "Ingest" in result.stdout and "Queries" in result.stdout and "Cold start" in result.stdout

    ingest = report["ingest"]
    assert ingest["documents"] == 2 and ingest["chunks"] > 2
    assert ingest["texts_embedded"] > ingest["chunks"]  # chunks and their sentences
    assert ingest["pipeline_s"] > 0 and ingest["raw_same_s"] > 0 and ingest["peak_rss_mb"] > 0
    assert len(ingest["load_before"]) == 3

    cold = report["coldstart"]["commands"]
    assert set(cold) == {"search", "ask_extractive"} and all(c["wall"]["p50"] > 0 for c in cold.values())

    (run,) = report["scale"]
    assert 200 <= run["index"]["chunks"] < 260 and run["index"]["disk_bytes_per_chunk"] > 0
    rag = run["systems"]["rag"]
    assert rag["timings_ms"]["total"]["n"] == 3
    assert rag["quality"]["questions"] == 3 and 0 <= rag["quality"]["recall@5"] <= 1
    assert rag["vector_indexes"]["sentences.faiss"]["type"] == "ivf"
    assert rag["vector_indexes"]["vectors.faiss"]["type"] == "flat"  # ~200 chunks: below
    assert run["systems"]["rag-exact"]["quality"]["questions"] == 3
    assert 0 < rag["agreement_with_exact"]["hybrid_top5"] <= 1
    baselines = [name for name in ("langchain", "txtai") if name in run["systems"]]
    for name in baselines:
        assert not math.isnan(run["systems"][name]["quality"]["recall@5"])
    skipped = [note for note in report["notes"] if "skipped" in note]
    assert len(baselines) + len(skipped) == 2  # each baseline ran, or says why not


def test_cluster_bench_runs_on_a_tiny_size_and_prints_its_numbers():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "cluster.py"), "--docs", "1", "--workers", "1", "2",
         "--write-sizes", "200"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert [run["workers"] for run in report["cluster"]] == [1, 2]
    assert all(run["texts_per_s"] > 0 and run["overhead"]["ms_per_batch"] > 0 for run in report["cluster"])
    assert set(report["scaling"]) == {"1", "2"}
    (written,) = report["writer"]
    assert 200 <= written["chunks"] < 260 and written["driver_s"] >= written["write_s"] > 0
