"""Latency of `ask` and `check` per backend: retrieval, generation, validation, total (ms).

    .venv/bin/python scripts/answer_latency.py [--backend extractive] [--gguf packaged:NAME] [-v]

Runs the questions of eval/retrieval_dev.jsonl and the claims of eval/claims_dev.jsonl (the
development sets, not the gold set) against the seed index and prints p50/p95 per stage.
-v also prints every answer, and the model's draft when it was rejected.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import FactChecker, Settings  # noqa: E402
from rag.evaluate import load_span_items, percentile  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="extractive")
    parser.add_argument("--gguf", help="GGUF for the llamacpp backend")
    parser.add_argument("--limit", type=int, default=10, help="questions and claims, each (default 10)")
    parser.add_argument("-v", action="store_true")
    args = parser.parse_args()
    questions = [item.question for item in load_span_items(ROOT / "eval" / "retrieval_dev.jsonl")]
    claims = [json.loads(line)["claim"] for line in
              (ROOT / "eval" / "claims_dev.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        bot = FactChecker.build([ROOT / "seeds"], tmp, settings=Settings.load(llm__gguf=args.gguf), progress=False)
        bot.ask("warm up", backend="extractive")  # load the embedder before timing
        for kind, texts, run in (("ask", questions, bot.ask), ("check", claims, bot.check)):
            timings = []
            for text in texts[: args.limit]:
                result = run(text, backend=args.backend)
                timings.append(result.timings_ms)
                if args.v:
                    print(f"{kind}: {text}\n  -> [{result.backend}] {getattr(result, 'verdict', '')} "
                          f"{result.answer[:300]}")
                    if getattr(result, "fallback", None):
                        print(f"  draft: {(result.draft or '').strip()[:300]}\n  why: {result.fallback}")
            print(f"{kind} ({args.backend}, {len(timings)} items): " + ", ".join(
                f"{stage} p50 {percentile([t[stage] for t in timings], 50):.0f} / "
                f"p95 {percentile([t[stage] for t in timings], 95):.0f} ms"
                for stage in ("retrieval", "generation", "validation", "total")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
