"""What `rag eval` writes: a table for the terminal, and in the output folder the per-item
results (results.jsonl), a Markdown report (report.md) and a chart (metrics.png)."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

from .evaluate import LABELS, LOWER_IS_BETTER, ItemResult, Scores
from .types import RagError

REPORTS_DIR = Path(__file__).resolve().parent.parent / "eval" / "reports"


def default_out_dir() -> Path:
    """eval/reports/<timestamp>/ of the checkout (git-ignored); never an existing folder."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out, n = REPORTS_DIR / stamp, 2
    while out.exists():
        out, n = REPORTS_DIR / f"{stamp}-{n}", n + 1
    return out


def _value(name: str, v: float) -> str:
    """Ratios with three decimals, milliseconds with one; NaN (nothing to score) as n/a."""
    return "n/a" if math.isnan(v) else (f"{v:.1f}" if name.endswith("_ms") else f"{v:.3f}")


def summary_line(info: dict) -> str:
    c = info["counts"]
    return (f"{info['items']} items ({c['answerable']} answerable and {c['unanswerable']} unanswerable "
            f"questions, {c['claims']} claims) from {info['gold']}; backend {info['backend']}; "
            f"{info['elapsed_s']:.1f} s"
            + (f"; llm_judge.accuracy graded by an LLM judge ({info['llm_judge']}), not by key-fact matching"
               if info.get("llm_judge") else ""))


def _rows(scores: Scores):
    """(group, metric, value, n) in reading order; the group is shown once."""
    previous = None
    for name, value in scores.metrics.items():
        group, metric = name.split(".", 1)
        yield ("" if group == previous else group), metric, _value(name, value), scores.support.get(name, 0)
        previous = group


def false_supported_line(scores: Scores) -> str | None:
    """"false SUPPORTED: 2 of 26 claims whose gold label is not SUPPORTED", when there were any such claims."""
    out_of = scores.support.get("verdict.false_supported_rate", 0)
    if not out_of:
        return None
    return (f"false SUPPORTED: {scores.support.get('verdict.false_supported', 0)} of {out_of} claims "
            f"whose gold label is not SUPPORTED")


def _limit_lines(info: dict) -> list[tuple[str, list[str]]]:
    return [(heading, info[key]) for heading, key in (("below the floor", "missed_floors"),
                                                      ("above the ceiling", "missed_ceilings")) if info.get(key)]


def confusion_lines(confusion: list[list[int]]) -> list[str]:
    corner, short = "gold \\ predicted", ["SUPP", "REF", "NEI", "CONF"]
    lines = [f"{corner:18}" + "".join(f"{s:>6}" for s in short)]
    for label, row in zip(LABELS, confusion):
        lines.append(f"{label:18}" + "".join(f"{v:6d}" for v in row))
    return lines


def format_table(results: list[ItemResult], scores: Scores, info: dict) -> str:
    lines = [summary_line(info), "", f"{'':11}{'metric':24}{'value':>8}{'n':>6}"]
    lines += [f"{group:11}{metric:24}{value:>8}{n:6d}" for group, metric, value, n in _rows(scores)]
    if scores.confusion:
        lines += ["", "verdicts (rows: gold, columns: predicted)"] + confusion_lines(scores.confusion)
        if false_supported_line(scores):
            lines.append(false_supported_line(scores))
    failed = sum(not r.ok for r in results)
    lines += ["", f"{failed} of {len(results)} items have failures"
              + (f"; see {info['out']}/results.jsonl" if info.get("out") else "")]
    lines += [f"{heading}: " + "; ".join(missed) for heading, missed in _limit_lines(info)]
    return "\n".join(lines)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown_report(results: list[ItemResult], scores: Scores, info: dict) -> str:
    out = [f"# rag eval — {info['date']}", "", summary_line(info) + ".", "",
           f"Command: `{info['command']}`", "", "![metrics](metrics.png)", "",
           "| metric | value | n |", "|---|---:|---:|"]
    out += [f"| {name}{' (lower is better)' if name in LOWER_IS_BETTER else ''} | {_value(name, v)} | "
            f"{scores.support.get(name, 0)} |" for name, v in scores.metrics.items()]
    if scores.confusion:
        out += ["", "## Verdicts", "", "| gold \\ predicted | " + " | ".join(LABELS) + " |",
                "|---|" + "---:|" * len(LABELS)]
        out += [f"| {label} | " + " | ".join(map(str, row)) + " |" for label, row in zip(LABELS, scores.confusion)]
        if false_supported_line(scores):
            out += ["", false_supported_line(scores) + "."]
    for heading, missed in _limit_lines(info):
        out += ["", f"## {heading.capitalize()}", ""] + [f"- {m}" for m in missed]
    failed = [r for r in results if not r.ok]
    out += ["", f"## Failures ({len(failed)} of {len(results)} items)", ""]
    for r in failed:
        out.append(f"- **{r.id}** ({r.lang}) {_short(r.text)}")
        out.append(f"  - got: {_short(r.output) or '(nothing)'}")
        out += [f"  - {reason}" for reason in r.failures]
    return "\n".join(out) + "\n"


def plot_metrics(scores: Scores, path: Path) -> None:
    """Bars for the 0..1 metrics, and latency percentiles beside them."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    ratios = {k: v for k, v in scores.metrics.items() if not k.startswith("latency.")}
    latency = {k.removeprefix("latency."): v for k, v in scores.metrics.items() if k.startswith("latency.")}
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, max(5.0, 0.3 * len(ratios) + 1)),
                                      gridspec_kw={"width_ratios": [3, 2]})
    names = list(ratios)[::-1]
    values = [0 if math.isnan(ratios[n]) else ratios[n] for n in names]
    left.barh([n + (" (lower is better)" if n in LOWER_IS_BETTER else "") for n in names], values,
              color="#4C72B0")
    for y, name in enumerate(names):
        left.text(min(values[y], 0.88) + 0.01, y, _value(name, ratios[name]), va="center", fontsize=8)
    left.set_xlim(0, 1)
    left.set_title("quality (n/a: nothing to score)")
    lat_names = list(latency)[::-1]
    lat_values = [0 if math.isnan(latency[n]) else latency[n] for n in lat_names]
    right.barh(lat_names, lat_values, color="#DD8452")
    for y, name in enumerate(lat_names):
        right.text(lat_values[y], y, " " + _value(name, latency[name]), va="center", fontsize=8)
    right.set_title("latency (ms)")
    right.margins(x=0.25)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def make_out_dir(out_dir: Path) -> Path:
    """Create the output folder up front, so a bad --out fails before a long run, not after."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RagError(f"cannot write the reports to {out_dir}: {e.strerror or e}") from None
    return out_dir


def write_outputs(out_dir: Path, results: list[ItemResult], scores: Scores, info: dict) -> None:
    try:
        with open(out_dir / "results.jsonl", "w", encoding="utf-8") as f:
            for r in results:
                f.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
        summary = json.dumps({**info, **scores.to_dict()}, ensure_ascii=False, indent=1)
        (out_dir / "summary.json").write_text(summary, encoding="utf-8")
        (out_dir / "report.md").write_text(markdown_report(results, scores, info), encoding="utf-8")
        plot_metrics(scores, out_dir / "metrics.png")
    except OSError as e:
        raise RagError(f"cannot write the reports to {out_dir}: {e.strerror or e}") from None
