"""Fact-check reports: a list of verdicts as Markdown, HTML or JSON, and as ClaimReview JSON-LD.

`report_data` turns verdicts into plain data once; every format is rendered from that data, so
Markdown, HTML and JSON always say the same thing. ClaimReview (schema.org, read by Google's
fact-check markup) is built from the verdicts directly: it is one object per claim.
The mapping of verdicts to ratings, and why, is in docs/reports.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from urllib.parse import quote, urlsplit

from .settings import Settings
from .types import RagError, Verdict

# Report file suffix -> format. .jsonld is ClaimReview, the others are the report itself.
FORMATS = {".md": "markdown", ".html": "html", ".json": "json", ".jsonld": "claimreview"}

# Verdict -> (ratingValue, alternateName) on a 1 (worst) to 5 (best) scale. NOT_ENOUGH_INFO has no
# number: "the articles do not settle it" is no point between false and true (docs/reports.md).
WORST, BEST = 1, 5
RATINGS: dict[str, tuple[int | None, str]] = {
    "SUPPORTED": (5, "True"),
    "CONFLICTING": (3, "Disputed"),
    "REFUTED": (1, "False"),
    "NOT_ENOUGH_INFO": (None, "Unproven"),
}
DECISIVE = ("supports", "refutes")  # the stances a report quotes; unrelated passages are counted


def version() -> str:
    try:
        return metadata.version("rag-factcheck")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _judge(settings: Settings) -> dict:
    """Which entailment judge decided the stances: its folder, name and weights checksum, read
    from its config.json (cheap: the model itself is not loaded)."""
    from .nli import MODEL_DIR

    folder = Path(settings.judge.model or MODEL_DIR)
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    return {"model": settings.judge.model or "shipped", "name": config.get("name", "unknown"),
            "sha256": (config.get("sha256") or "")[:12] or None}


def _settings(settings: Settings) -> dict:
    """Only what decides a verdict, so a reader can tell two reports' runs apart."""
    v, r, llm = settings.verify, settings.retrieval, settings.llm
    return {
        "index": str(settings.index_dir),
        "k": r.k,
        "retrieval_mode": r.mode,
        "source_diversity": v.diversity,
        "language": getattr(settings.answer, "language", "auto"),
        "llm": {"backend": llm.backend, "ollama_model": llm.ollama_model, "gguf": llm.gguf or None},
        "judge": _judge(settings),
        "thresholds": {"entail": v.entail_threshold, "contradict": v.contradict_threshold,
                       "clash_contradiction": v.clash_contradiction, "related": v.related_threshold},
    }


def _claim(n: int, verdict: Verdict) -> dict:
    decisive = [e for e in verdict.evidence if e.stance in DECISIVE]
    return {
        "n": n,
        "claim": verdict.claim,
        "verdict": verdict.verdict,
        "rating": RATINGS[verdict.verdict][1],
        "explanation": verdict.answer,
        "backend": verdict.backend,
        "backend_reason": verdict.backend_reason,
        "sources": [{k: s.get(k) for k in ("title", "date", "url", "stance")} for s in verdict.sources],
        "evidence": [{"n": e.n, "stance": e.stance, "text": e.text, "rationale": e.rationale,
                      "judged_by": e.judged_by, "title": e.title, "date": e.date, "url": e.url,
                      "page": e.page}
                     for e in decisive],
        "unrelated": len(verdict.evidence) - len(decisive),
    }


def report_data(verdicts: list[Verdict], settings: Settings, skipped: list[dict] | None = None) -> dict:
    """The report as plain data: when, by which version and settings, and per claim its verdict,
    explanation and the quoted evidence for and against. `skipped`: sentences not checked,
    each {"text", "why"} (a paragraph checked claim by claim)."""
    return {
        "generated": _now(),
        "version": version(),
        "settings": _settings(settings),
        "claims": [_claim(n, v) for n, v in enumerate(verdicts, 1)],
        "skipped": [{"text": s.get("text", ""), "why": s.get("why", "")} for s in skipped or []],
    }


def safe_url(url: str | None) -> str | None:
    """An http(s) URL fit to link to, characters that could break out of a link quoted;
    None for anything else (javascript:, data:, file:, a bare path)."""
    if not url or urlsplit(url.strip()).scheme.lower() not in ("http", "https"):
        return None
    return quote(url.strip(), safe=":/?#[]@!$&'*+,;=%~")


# ---- Markdown -------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|#"})


def _md(text: str | None) -> str:
    """Text as literal Markdown: one line, punctuation that would format (or open raw HTML) escaped."""
    return " ".join((text or "").split()).translate(_MD_SPECIAL)


def _md_source(item: dict) -> str:
    title = _md(item.get("title")) or "untitled"
    url = safe_url(item.get("url"))
    out = f"[{title}]({url})" if url else f"*{title}*"
    return out + (f" ({_md(item['date'])})" if item.get("date") else "") + (f", p. {item['page']}" if item.get("page") else "")


def to_markdown(data: dict) -> str:
    s = data["settings"]
    t, judge = s["thresholds"], s["judge"]
    lines = ["# Fact-check report", "",
             f"Generated {data['generated']} by rag-factcheck {_md(data['version'])}.", "",
             "## Settings", "",
             f"- Index: `{s['index']}`",
             f"- Passages per claim (k): {s['k']}, retrieval {s['retrieval_mode']}, "
             f"source diversity {s['source_diversity']}, language {s['language']}",
             f"- Backend asked for: {_md(s['llm']['backend'])}",
             f"- Entailment judge: {_md(judge['name'])} ({_md(judge['model'])}"
             + (f", sha256 {judge['sha256']}…" if judge["sha256"] else "") + ")",
             f"- Thresholds: entail {t['entail']}, contradict {t['contradict']}, "
             f"clash contradiction {t['clash_contradiction']}, related {t['related']}", ""]
    for c in data["claims"]:
        lines += [f"## {c['n']}. {_md(c['claim'])}", "",
                  f"**Verdict: {c['verdict']}** ({c['rating']}), judged by {_md(c['backend'])}", "",
                  _md(c["explanation"]), ""]
        if c["sources"]:
            lines += ["Sources:", ""]
            lines += [f"- {s['stance']}: {_md_source(s)}" for s in c["sources"]]
            lines.append("")
        if c["evidence"]:
            lines += ["### Evidence", ""]
        for e in c["evidence"]:
            lines += [f"- **[{e['n']}] {e['stance']}** — {_md_source(e)}",
                      f"  > {_md(e['text'])}",
                      f"  Why: {_md(e['rationale'])}", ""]
        if not c["evidence"]:
            lines += ["No retrieved passage supports or refutes the claim.", ""]
        if c["unrelated"]:
            lines += [f"{c['unrelated']} other retrieved passage(s) did not bear on the claim.", ""]
    if data["skipped"]:
        lines += ["## Not checked", ""]
        lines += [f"- {_md(s['text'])} — {_md(s['why'])}" for s in data["skipped"]]
        lines.append("")
    return "\n".join(lines)


# ---- HTML -----------------------------------------------------------------------------------

_STYLE = """body{font:16px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem}.meta{color:#555;font-size:.9rem}
.verdict{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;font-weight:600;background:#eee}
.SUPPORTED{background:#d8f0d8}.REFUTED{background:#f6d5d5}.CONFLICTING{background:#f8ecc8}
blockquote{margin:.3rem 0 .3rem 1rem;padding-left:.8rem;border-left:3px solid #ccc}
.why{color:#444;font-size:.95rem}li{margin-bottom:.8rem}"""


def _h(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _html_source(item: dict) -> str:
    title = _h(item.get("title") or "untitled")
    url = safe_url(item.get("url"))
    # nofollow: article URLs come from untrusted input; no target, so no window.opener to guard
    out = f'<a href="{_h(url)}" rel="nofollow noreferrer">{title}</a>' if url else f"<cite>{title}</cite>"
    return out + (f" ({_h(item['date'])})" if item.get("date") else "") + (f", p. {_h(item['page'])}" if item.get("page") else "")


def to_html(data: dict) -> str:
    """A standalone page: every value escaped, links only to http(s), no script (the policy
    forbids any, so even an escaping slip could not run one)."""
    s = data["settings"]
    t, judge = s["thresholds"], s["judge"]
    out = ["<!DOCTYPE html>", "<html>", "<head>", '<meta charset="utf-8">',
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>Fact-check report</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
           "<h1>Fact-check report</h1>",
           f'<p class="meta">Generated {_h(data["generated"])} by rag-factcheck {_h(data["version"])}.</p>',
           '<details class="meta"><summary>Settings</summary><ul>',
           f"<li>Index: <code>{_h(s['index'])}</code></li>",
           f"<li>Passages per claim (k): {_h(s['k'])}, retrieval {_h(s['retrieval_mode'])}, "
           f"source diversity {_h(s['source_diversity'])}, language {_h(s['language'])}</li>",
           f"<li>Backend asked for: {_h(s['llm']['backend'])}</li>",
           f"<li>Entailment judge: {_h(judge['name'])} ({_h(judge['model'])}"
           + (f", sha256 {_h(judge['sha256'])}…" if judge["sha256"] else "") + ")</li>",
           f"<li>Thresholds: entail {_h(t['entail'])}, contradict {_h(t['contradict'])}, "
           f"clash contradiction {_h(t['clash_contradiction'])}, related {_h(t['related'])}</li>",
           "</ul></details>"]
    for c in data["claims"]:
        # id="claim-N": the anchor a ClaimReview's url points at when a page holds several claims
        out += [f'<section id="claim-{c["n"]}">', f"<h2>{c['n']}. {_h(c['claim'])}</h2>",
                f'<p><span class="verdict {_h(c["verdict"])}">{_h(c["verdict"])}</span> {_h(c["rating"])}'
                f' <span class="meta">judged by {_h(c["backend"])}</span></p>',
                f"<p>{_h(c['explanation'])}</p>"]
        if c["sources"]:
            out.append("<p>Sources:</p><ul>")
            out += [f"<li>{_h(src['stance'])}: {_html_source(src)}</li>" for src in c["sources"]]
            out.append("</ul>")
        if c["evidence"]:
            out.append("<h3>Evidence</h3><ul>")
            for e in c["evidence"]:
                out += [f"<li><strong>[{_h(e['n'])}] {_h(e['stance'])}</strong> — {_html_source(e)}",
                        f"<blockquote>{_h(e['text'])}</blockquote>",
                        f'<div class="why">Why: {_h(e["rationale"])}</div></li>']
            out.append("</ul>")
        else:
            out.append("<p>No retrieved passage supports or refutes the claim.</p>")
        if c["unrelated"]:
            out.append(f'<p class="meta">{_h(c["unrelated"])} other retrieved passage(s) '
                       "did not bear on the claim.</p>")
        out.append("</section>")
    if data["skipped"]:
        out.append("<h2>Not checked</h2><ul>")
        out += [f"<li>{_h(s['text'])} — {_h(s['why'])}</li>" for s in data["skipped"]]
        out.append("</ul>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def to_json(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# ---- ClaimReview ----------------------------------------------------------------------------

def _review_url(settings: Settings, claim: str, anchor: str | None) -> str:
    """ClaimReview's url, which Google requires: the page that publishes the fact check
    (RAG_REPORT_URL), with the claim's anchor when the page holds several. Unset, a stable
    placeholder URN derived from the claim: valid JSON-LD, but not a page Google will accept."""
    base = settings.report.url.strip()
    if not base:
        return "urn:rag-factcheck:claim:" + hashlib.sha256(claim.encode("utf-8")).hexdigest()[:16]
    return base.split("#", 1)[0] + f"#{anchor}" if anchor else base


def _author(settings: Settings) -> dict:
    author = {"@type": "Organization", "name": settings.report.author}
    if settings.report.url:  # the publisher's site: the origin of the page that publishes the review
        parts = urlsplit(settings.report.url)
        author["url"] = f"{parts.scheme}://{parts.netloc}/"
    return author


def _rating(verdict: Verdict) -> dict:
    value, name = RATINGS[verdict.verdict]
    rating = {"@type": "Rating", "alternateName": name}
    if value is not None:
        rating |= {"ratingValue": value, "bestRating": BEST, "worstRating": WORST}
    rating["ratingExplanation"] = verdict.answer
    return rating


def _cited_articles(verdict: Verdict) -> list[dict]:
    """The articles the verdict rests on (a source that supports or refutes), as CreativeWorks."""
    works = []
    for s in verdict.sources:
        if s.get("stance") not in DECISIVE:
            continue
        work = {"@type": "CreativeWork", "headline": s.get("title")}
        if safe_url(s.get("url")):
            work["url"] = safe_url(s["url"])
        if s.get("date"):
            work["datePublished"] = s["date"]
        works.append(work)
    return works


def claimreview(verdict: Verdict, settings: Settings, *, anchor: str | None = None,
                published: str | None = None) -> dict:
    """One claim's schema.org ClaimReview. `anchor`: the claim's id on a page of several
    ("claim-2"); `published`: the review's ISO date (default: today, UTC).

    The articles are `citation`s of the review, not the Claim's `appearance`: appearance is
    where the claim was made, and an article that refutes a claim did not make it."""
    review = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": _review_url(settings, verdict.claim, anchor),
        "claimReviewed": verdict.claim,
        "datePublished": published or datetime.now(timezone.utc).date().isoformat(),
        "author": _author(settings),
        "reviewRating": _rating(verdict),
        "itemReviewed": {"@type": "Claim"},
    }
    cited = _cited_articles(verdict)
    if cited:
        review["citation"] = cited
    return review


def claimreviews(verdicts: list[Verdict], settings: Settings) -> dict | list[dict]:
    """ClaimReview JSON-LD for the verdicts: one object for one claim, a list for none or several
    (each url anchored at #claim-N, the sections of the HTML report)."""
    today = datetime.now(timezone.utc).date().isoformat()
    several = len(verdicts) > 1
    reviews = [claimreview(v, settings, anchor=f"claim-{n}" if several else None, published=today)
               for n, v in enumerate(verdicts, 1)]
    return reviews[0] if len(reviews) == 1 else reviews  # none: a paragraph with no claim in it


def to_jsonld(verdicts: list[Verdict], settings: Settings) -> str:
    return json.dumps(claimreviews(verdicts, settings), ensure_ascii=False, indent=2) + "\n"


# ---- Writing --------------------------------------------------------------------------------

def report_format(path: str | Path) -> str:
    """The format a report file's suffix asks for; any other suffix is an error."""
    kind = FORMATS.get(Path(path).suffix.lower())
    if kind is None:
        raise RagError(f"cannot tell the report format of {path}: use .md, .html, .json or .jsonld")
    return kind


def check_writable(path: str | Path) -> None:
    """Fail before the claims are checked, not after, when the report cannot be written there."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise RagError(f"cannot write the report to {path}: it is a folder")
    if not folder.is_dir():
        why = "is not a folder" if folder.exists() else "does not exist"
        raise RagError(f"cannot write the report to {path}: {folder} {why}")
    if not os.access(folder, os.W_OK):
        raise RagError(f"cannot write the report to {path}: folder {folder} is not writable")


def render(kind: str, verdicts: list[Verdict], settings: Settings, skipped: list[dict] | None = None) -> str:
    if kind == "claimreview":
        return to_jsonld(verdicts, settings)
    data = report_data(verdicts, settings, skipped)
    return {"markdown": to_markdown, "html": to_html, "json": to_json}[kind](data)


def write(path: str | Path, verdicts: list[Verdict], settings: Settings,
          skipped: list[dict] | None = None) -> Path:
    """Write the report, its format from the suffix, atomically: a reader (or a crash) never
    sees half a report, and an old report is replaced only by a whole new one."""
    path = Path(path)
    text = render(report_format(path), verdicts, settings, skipped)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")  # same folder: os.replace is atomic
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise RagError(f"cannot write the report to {path}: {e.strerror or e}") from None
    finally:
        with contextlib.suppress(OSError):  # e.g. the folder is a file: nothing was created
            tmp.unlink(missing_ok=True)
    return path
