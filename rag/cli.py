"""The `rag` command line. Results go to stdout; logs, progress and errors to stderr.

Every failure the user can act on is one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import textwrap

from . import __version__, prompts
from .factchecker import FactChecker
from .settings import BACKENDS, PRESETS, REPLY_LANGUAGES, Settings
from .types import RagError

log = logging.getLogger("rag")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class _LogFormat(logging.Formatter):
    def format(self, record):
        message = record.getMessage()
        return f"{record.levelname.lower()}: {message}" if record.levelno >= logging.WARNING else message


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", metavar="DIR", help="index folder (default: $RAG_INDEX_DIR or ~/.local/share/rag/index)")
    parser.add_argument("--preset", choices=list(PRESETS), help="a named bundle of settings")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notes on stderr")


def _model_options(args) -> dict:
    """The settings `--model`, `--openai-url` and `--gguf` give: one model name for whichever
    server answers."""
    return {"llm__ollama_model": args.model, "llm__openai_model": args.model,
            "llm__openai_url": args.openai_url, "llm__gguf": args.gguf}


def _backend_options(parser: argparse.ArgumentParser, who: str) -> None:
    parser.add_argument("--backend", choices=BACKENDS,
                        help=f"{who} (default auto: Ollama if it answers, else local)")
    parser.add_argument("--model", help="the model on Ollama (default qwen2.5:7b-instruct) or on the "
                                        "OpenAI-compatible server (default: the first it lists)")
    parser.add_argument("--openai-url", metavar="URL",
                        help="base URL of an OpenAI-compatible server (llama-server, Ollama's /v1, vLLM…)")
    parser.add_argument("--gguf", help="GGUF file for llamacpp, or packaged:NAME")
    parser.add_argument("-k", type=int, help="passages to draw on (default 5)")
    parser.add_argument("--language", choices=["auto", *REPLY_LANGUAGES],
                        help="language of the reply (default auto: the question's own)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rag", description="Fact-check questions and claims against news articles, locally.")
    parser.add_argument("--version", action="version", version=f"rag {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("ingest", help="add or update articles in the index",
                       description="Add or update articles (.txt, .md, .html, .jsonl; folders are walked; "
                                   "RSS/Atom feeds; http(s) addresses of pages, PDFs and feeds are fetched). "
                                   "Unchanged articles are not re-embedded. With no PATH: the seed articles.")
    p.add_argument("paths", nargs="*", metavar="PATH_OR_URL")
    p.add_argument("--since", type=_iso_date, metavar="DATE",
                   help="feeds: only entries published on or after DATE (YYYY-MM-DD); undated entries are kept")
    p.add_argument("--rebuild", action="store_true", help="start a new index instead of updating it")
    p.add_argument("--embedder", help="embedding model for a new index (default multilingual-e5-small)")
    p.add_argument("--chunk-size", type=int, help="characters per chunk, for a new index")
    p.add_argument("--chunk-overlap", type=int, help="characters shared by neighbouring chunks, for a new index")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--cluster", metavar="ADDRESS",
                       help="embed on the Dask scheduler at ADDRESS (tcp://host:8786); needs the cluster extra")
    where.add_argument("--workers", type=_positive_int, metavar="N",
                       help="embed on N local worker processes (a Dask LocalCluster); needs the cluster extra")
    _common(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", help="find the passages that match a text",
                       description="Hybrid search (dense + BM25, fused by reciprocal rank). "
                                   "Builds the index from the seed articles when there is none.")
    p.add_argument("query")
    p.add_argument("-k", type=int, help="number of passages (default 5)")
    p.add_argument("--mode", choices=["hybrid", "dense", "keyword"], help="which retrievers to use")
    p.add_argument("--diversity", type=float, help="0 (off) to <1: favour passages from other sources")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _common(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question from the articles, with cited passages",
                       description="Answer from the indexed articles; every sentence cites a passage [n], "
                                   "or the bot says the sources do not cover it.")
    p.add_argument("question")
    _backend_options(p, "who writes the answer")
    p.add_argument("--stream", action="store_true", help="show the model's draft on stderr as it is written")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _common(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("check", help="fact-check a claim: a verdict with the evidence for and against",
                       description="Check a claim against the indexed articles: SUPPORTED, REFUTED, "
                                   "NOT_ENOUGH_INFO or CONFLICTING (sources disagree), with each retrieved "
                                   "passage's stance and why, grouped per source.")
    p.add_argument("claim", nargs="?", help="the claim (with --split: a paragraph or a speech)")
    p.add_argument("--split", action="store_true",
                   help="check a paragraph or a speech claim by claim; questions and opinions are skipped, with why")
    p.add_argument("--file", metavar="FILE", help="read the claim or text from FILE (- for stdin)")
    _backend_options(p, "who judges the evidence")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--format", choices=["text", "json", "claimreview"],
                   help="what to print: text (default), json (as --json) or claimreview (schema.org JSON-LD)")
    p.add_argument("--report", metavar="FILE",
                   help="also write a fact-check report: .md, .html, .json, or .jsonld (ClaimReview)")
    _common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("chat", help="a conversation in the terminal: follow-up questions keep their context",
                       description="Ask questions one per line; a follow-up (\"E quando?\") is read against "
                                   "the questions before it, and the question as understood is shown. "
                                   "/check CLAIM checks a claim, /new starts a new conversation, "
                                   "/quit (or end of input) leaves.")
    _backend_options(p, "answers")
    p.add_argument("--json", action="store_true", help="print one JSON object per reply, one per line")
    _common(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("pull", help="download an Ollama model, with progress")
    p.add_argument("model")
    _common(p)
    p.set_defaults(func=cmd_pull)

    p = sub.add_parser("docs", help="list the documents in the index")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _common(p)
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("remove", help="remove documents from the index (by id, source path or web address)")
    p.add_argument("documents", nargs="+", metavar="DOC")
    _common(p)
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("doctor", help="verify the index; recover the newest complete generation if it is broken",
                       description="Load and verify every file of the live index. When CURRENT is missing or names "
                                   "a broken generation, point it at the newest generation that loads whole "
                                   "(nothing is deleted). Exit 1 when no complete generation is left.")
    _common(p)
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("eval", help="measure the bot on a gold set of questions and claims",
                       description="Run every gold item through the same API as `ask` and `check`, score it, "
                                   "print a table and write results.jsonl, report.md and metrics.png to --out.")
    p.add_argument("--gold", metavar="FILE", help="gold set, JSONL (default: eval/gold.jsonl)")
    p.add_argument("--backend", choices=BACKENDS,
                   help="who writes the answers (default auto)")
    p.add_argument("--only", choices=["qa", "claims"], help="only the questions, or only the claims")
    p.add_argument("--limit", type=_positive_int, metavar="N", help="only the first N items (a quick run)")
    p.add_argument("--out", metavar="DIR", help="where to write the reports (default: eval/reports/<timestamp>/)")
    p.add_argument("--corpus", action="append", default=[], metavar="PATH",
                   help="build the index from these articles instead of seeds/ (repeatable; without --index, "
                        "in a temporary folder removed after the run)")
    p.add_argument("--fail-under", type=_floor, action="append", default=[], metavar="METRIC=VALUE",
                   help="exit 1 when METRIC is below VALUE (repeatable), e.g. answer.accuracy=0.6")
    p.add_argument("--fail-over", type=_ceiling, action="append", default=[], metavar="METRIC=VALUE",
                   help="exit 1 when a lower-is-better METRIC is above VALUE (repeatable), "
                        "e.g. verdict.false_supported_rate=0.1")
    p.add_argument("--judge", metavar="OLLAMA_MODEL",
                   help="also grade answers with an LLM judge on Ollama (opt-in; reported as llm_judge.accuracy)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _common(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("ui", help="start the web interface: chat, fact-check, add articles",
                       description="Start the web interface on this machine (no public link). "
                                   "Builds the index from the seed articles when there is none.")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, help="port to listen on (default 7860)")
    p.add_argument("--read-only", action="store_true",
                   help="serve as a replica: no uploads or removals, never seeds the index, and follows "
                        "each generation another process (rag ingest, a writable rag ui) makes live")
    _common(p)
    p.set_defaults(func=cmd_ui)
    return parser


def _iso_date(text: str) -> str:
    """--since: checked here, so a typo is a usage error before anything is fetched."""
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date written YYYY-MM-DD, got {text!r}") from None
    return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def _limit(parser_name: str):
    """An argparse type for --fail-under / --fail-over: evaluate.parse_floor or parse_ceiling,
    imported when used (rag eval only)."""
    def convert(text: str) -> tuple[str, float]:
        from . import evaluate

        try:
            return getattr(evaluate, parser_name)(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    return convert


_floor, _ceiling = _limit("parse_floor"), _limit("parse_ceiling")


def _settings(args, **overrides) -> Settings:
    return Settings.load(preset=args.preset, index__dir=args.index,
                         answer__language=getattr(args, "language", None), **overrides)


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def cmd_ingest(args) -> int:
    settings = _settings(args, embedding__model=args.embedder, chunking__size=args.chunk_size,
                         chunking__overlap=args.chunk_overlap,
                         # an option outranks the other one's RAG_INDEX_CLUSTER* variable
                         index__cluster="" if args.workers else args.cluster,
                         index__cluster_workers=0 if args.cluster else args.workers)
    bot = FactChecker(settings)
    if bot.store.exists() and not args.rebuild:
        recorded = bot.store.read_manifest()["chunking"]
        for name, value in (("size", args.chunk_size), ("overlap", args.chunk_overlap)):
            if value is not None and value != recorded[name]:
                raise RagError(f"the index uses chunk {name} {recorded[name]}; "
                               f"use --rebuild to change it to {value}")
    from .settings import seeds_dir

    paths = args.paths or [seeds_dir()]
    report = bot.ingest(paths, rebuild=args.rebuild, progress=not args.quiet, since=args.since)
    if args.json:
        _print_json({"index": str(bot.store.root), **{k: v for k, v in vars(report).items()}})
    else:
        print(f"{bot.store.root}: {report.summary()}")
    return 0


def cmd_search(args) -> int:
    settings = _settings(args)
    bot = FactChecker.open_or_seed(settings=settings, progress=not args.quiet)
    hits = bot.search(args.query, k=args.k, mode=args.mode, diversity=args.diversity)
    if args.json:
        _print_json({"query": args.query, "hits": [h.to_dict() for h in hits]})
        return 0
    if not hits:
        print("No matching passages.")
    for h in hits:
        found_by = []
        if h.dense_rank:
            found_by.append(f"dense {h.dense_score:.3f} #{h.dense_rank}")
        if h.keyword_rank:
            found_by.append(f"bm25 {h.keyword_score:.2f} #{h.keyword_rank}")
        print(f"[{h.rank}] {h.title}" + (f" ({h.date})" if h.date else ""))
        print(f"    {h.chunk_id}  chars {h.start}-{h.end}  score {h.score:.4f}  ({', '.join(found_by)})")
        print(textwrap.indent(textwrap.fill(" ".join(h.text.split()), width=96), "    "))
        print()
    return 0


def cmd_ask(args) -> int:
    settings = _settings(args, **_model_options(args))
    bot = FactChecker.open_or_seed(settings=settings, progress=not args.quiet)

    def draft(token: str) -> None:
        sys.stderr.write(token)
        sys.stderr.flush()

    answer = bot.ask(args.question, backend=args.backend, k=args.k,
                     on_token=draft if args.stream and not args.quiet else None)
    if args.stream and not args.quiet:
        sys.stderr.write("\n")
    if args.json:
        _print_json(answer.to_dict())
        return 0
    print(textwrap.fill(answer.answer, width=100))
    for conflict in answer.conflicts:
        print(textwrap.fill(f"! {conflict['summary']}", width=100))
    _print_sources("Sources:", answer.citations)
    _note_backend(args, answer)
    if answer.fallback and not args.quiet:
        log.info("note: %s", answer.fallback)
    return 0


def cmd_check(args) -> int:
    output = _check_output(args)
    claim = _check_input(args)
    settings = _settings(args, **_model_options(args))
    bot = FactChecker.open_or_seed(settings=settings, progress=not args.quiet)
    if args.split:
        return _check_text(args, settings, bot, claim, output)
    verdict = bot.check(claim, backend=args.backend, k=args.k)
    _write_report(args, settings, [verdict])
    if output == "claimreview":
        return _print_claimreview(args, settings, [verdict])
    if args.json:
        _print_json(verdict.to_dict())
        return 0
    _print_verdict(verdict)
    _note_backend(args, verdict)
    return 0


def _print_verdict(verdict) -> None:
    """One verdict as `rag check` prints it: the label, the explanation, the evidence per source."""
    print(verdict.verdict)
    print(textwrap.fill(verdict.answer, width=100))
    for source in verdict.sources:
        items = [e for e in verdict.evidence if e.doc_id == source["doc_id"] and e.stance != "unrelated"]
        print(f"\n{source['stance'].upper():9} {_source_label(source['title'], source['date'], source.get('url'))}")
        for e in items:
            print(f"  [{e.n}] {e.stance}: {e.rationale}")
            print(textwrap.indent(textwrap.fill(f"“{' '.join(e.text.split())}”", width=94), "      "))


_MAX_INPUT_BYTES = 1_000_000  # a long speech is ~50 KB; a file bigger than this is no statement


def _check_input(args) -> str:
    """The claim, or with --split the text: the argument, or what --file FILE (- : stdin) holds."""
    if args.file is None:
        if args.claim is None:
            raise RagError("give a claim to check, or --file FILE")
        return args.claim
    if args.claim is not None:
        raise RagError("give a claim or --file FILE, not both")
    try:
        if args.file == "-":
            data = sys.stdin.buffer.read(_MAX_INPUT_BYTES + 1)
        else:
            with open(args.file, "rb") as f:
                data = f.read(_MAX_INPUT_BYTES + 1)
    except OSError as e:
        raise RagError(f"cannot read {args.file}: {e.strerror or e}") from None
    if len(data) > _MAX_INPUT_BYTES:
        raise RagError(f"{args.file} is larger than {_MAX_INPUT_BYTES // 1_000_000} MB; check a statement, not a book")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RagError(f"cannot read {args.file}: it is not UTF-8 text") from None


def _check_text(args, settings: Settings, bot: FactChecker, text: str, output: str) -> int:
    """`rag check --split`: each claim's verdict as `rag check` prints it, what was skipped and
    why, and a one-line summary; or the TextCheck as one JSON object."""
    result = bot.check_text(text, backend=args.backend, k=args.k)
    _write_report(args, settings, result.verdicts, result.skipped)
    if output == "claimreview":
        return _print_claimreview(args, settings, result.verdicts)
    if args.json:
        _print_json(result.to_dict())
        return 0
    for n, (claim, verdict) in enumerate(zip(result.claims, result.verdicts), start=1):
        print(("\n" if n > 1 else "") + f"── Claim {n} of {len(result.claims)} (chars {claim.start}-{claim.end}): "
              f"“{' '.join(claim.text.split())}”")
        _print_verdict(verdict)
    if result.skipped:
        print("\nNot checked:" if result.claims else "Not checked:")
        for s in result.skipped:
            print(f"  “{' '.join(s['text'].split())}”: {s['why']}")
    summary = result.summary
    labels = ", ".join(f"{summary[v]} {v}" for v in summary if v not in ("claims", "skipped") and summary[v])
    print(f"\n{summary['claims']} claim{'' if summary['claims'] == 1 else 's'} checked"
          + (f": {labels}" if labels else "") + f"; {summary['skipped']} not checked")
    if result.verdicts:
        _note_backend(args, result.verdicts[0])
    return 0


def _check_output(args) -> str:
    """What `check` prints (text, json or claimreview), with --report checked before any claim
    is: a bad suffix or folder fails at once, not after minutes of judging."""
    from . import report

    if args.json and args.format not in (None, "json"):
        raise RagError(f"--json and --format {args.format} disagree; give one of them")
    args.json = args.json or args.format == "json"  # --format json is --json
    if args.report:
        report.report_format(args.report)
        report.check_writable(args.report)
    return "json" if args.json else args.format or "text"


def _report_settings(args, settings: Settings) -> Settings:
    """The settings a report records: -k and --backend reach check() as arguments, not through
    the settings, yet they are what was used."""
    if args.k is not None:
        settings = dataclasses.replace(settings, retrieval=dataclasses.replace(settings.retrieval, k=args.k))
    if args.backend is not None:
        settings = dataclasses.replace(settings, llm=dataclasses.replace(settings.llm, backend=args.backend))
    return settings


def _warn_placeholder_url(settings: Settings) -> None:
    if not settings.report.url:
        log.warning("ClaimReview url is a placeholder (urn:rag-factcheck:…); set RAG_REPORT_URL "
                    "to the page that will publish this fact check (Google requires it)")


def _write_report(args, settings: Settings, verdicts: list, skipped: list[dict] | None = None) -> None:
    """--report FILE, written from the list of verdicts (one per claim checked)."""
    from . import report

    if not args.report:
        return
    if report.report_format(args.report) == "claimreview":
        _warn_placeholder_url(settings)
    path = report.write(args.report, verdicts, _report_settings(args, settings), skipped)
    log.info("report written to %s", path)


def _print_claimreview(args, settings: Settings, verdicts: list) -> int:
    from . import report

    if not (args.report and report.report_format(args.report) == "claimreview"):  # warned already
        _warn_placeholder_url(settings)
    sys.stdout.write(report.to_jsonld(verdicts, settings))
    return 0


def _source_label(title: str, date: str | None, url: str | None, page: int | None = None) -> str:
    """How a source is named to a reader: its title, date, page (a PDF) and original address
    (ids and offsets are in --json)."""
    return (title + (f" ({date})" if date else "") + (f", p. {page}" if page else "")
            + (f" · {url}" if url else ""))


def _print_sources(heading: str, citations) -> None:
    if citations:
        print(f"\n{heading}")
    for c in citations:
        print(f"[{c.n}] {_source_label(c.title, c.date, c.url, c.page)}")
        print(textwrap.indent(textwrap.fill(f"“{' '.join(c.text.split())}”", width=96), "    "))


def _note_backend(args, result) -> None:
    if not args.quiet:
        log.info("\nbackend: %s (%s)", result.backend, result.backend_reason)


def cmd_chat(args) -> int:
    settings = _settings(args, **_model_options(args))
    bot = FactChecker.open_or_seed(settings=settings, progress=not args.quiet)
    chat = bot.chat(backend=args.backend, k=args.k)
    interactive = sys.stdin.isatty() and not args.json
    if interactive:
        print("Ask about the articles; /check CLAIM checks a claim, /new starts over, /quit leaves.")
    while True:
        try:
            line = input("> " if interactive else "").strip()
        except EOFError:
            return 0
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return 0
        if line == "/new":
            chat.reset()
            continue
        try:  # one bad line is reported and the conversation goes on
            if line == "/check" or line.startswith("/check "):
                result = chat.check(line[len("/check"):].strip())
            else:
                result = chat.ask(line)
        except RagError as e:
            print(f"error: {e}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps(result.to_dict(), ensure_ascii=False), flush=True)
            continue
        if getattr(result, "resolved_question", None):
            print(f"({prompts.message('understood', result.language)}: {result.resolved_question})")
        if hasattr(result, "verdict"):
            print(result.verdict)
        print(textwrap.fill(result.answer, width=100))
        _print_sources("Sources:", result.citations)
        print(flush=True)


def cmd_pull(args) -> int:
    from .llm import OllamaLLM

    settings = _settings(args, llm__ollama_model=args.model)
    OllamaLLM(settings.llm).pull(progress=not args.quiet)
    print(f"{args.model} is ready in Ollama")
    return 0


def cmd_docs(args) -> int:
    bot = FactChecker.open(settings=_settings(args))
    docs = sorted(bot.documents, key=lambda d: d.id)
    if args.json:
        _print_json({"index": str(bot.store.root), "documents": [
            {k: v for k, v in d.to_dict().items() if k != "text"} for d in docs]})
        return 0
    for d in docs:
        print(f"{d.id}\t{d.date or '-'}\t{d.lang or '-'}\t{d.title}\t{d.source}")
    flagged = [(d, a, b) for d in docs for a, b in d.flagged]
    if flagged:
        print(f"\n{len(flagged)} sentences address a model, not a reader (never quoted, never evidence):")
        for d, a, b in flagged:
            print(f"{d.id}\t{a}-{b}\t{' '.join(d.text[a:b].split())[:160]}")
    return 0


def cmd_remove(args) -> int:
    bot = FactChecker(_settings(args))
    report = bot.remove(args.documents)
    print(f"{bot.store.root}: removed {', '.join(report.removed)}; "
          f"index holds {report.total_documents} documents, {report.total_chunks} chunks")
    return 0


def cmd_doctor(args) -> int:
    store = FactChecker(_settings(args)).store
    if not store.root.is_dir():
        raise RagError(f"no index at {store.root}")
    with store.writing():
        ok, lines = store.doctor()
    print("\n".join(f"{store.root}: {line}" for line in lines))
    return 0 if ok else 1


def cmd_eval(args) -> int:
    import tempfile

    if args.corpus and not args.index:  # never mix an external corpus into the user's own index
        with tempfile.TemporaryDirectory(prefix="rag-eval-") as scratch:
            args.index = os.path.join(scratch, "index")
            return _eval(args)
    return _eval(args)


def _eval(args) -> int:
    import time
    from datetime import datetime
    from pathlib import Path

    from .eval_report import default_out_dir, format_table, make_out_dir, write_outputs
    from .evaluate import GOLD_FILE, check_ceilings, check_floors, judge_answers, load_gold, run_eval, score

    gold = Path(args.gold) if args.gold else GOLD_FILE
    items = load_gold(gold)
    if args.only:
        items = [i for i in items if i.kind == {"qa": "qa", "claims": "claim"}[args.only]]
    items = items[: args.limit] if args.limit else items
    if not items:
        raise RagError(f"{gold} holds no {args.only} items")
    settings = _settings(args)
    judge = _judge(settings, args.judge) if args.judge else None  # fail fast, before index or run
    if args.corpus:
        _check_corpus_index(settings, args.corpus)
    out = make_out_dir(Path(args.out) if args.out else default_out_dir())
    if args.corpus:
        bot = FactChecker.build(args.corpus, settings=settings, progress=not args.quiet)
    else:  # the gold set is about the seeds: a fresh --index is seeded
        bot = FactChecker.open_or_seed(settings=settings, progress=not args.quiet, seed_anywhere=True)
    started = time.perf_counter()
    results = run_eval(bot, items, backend=args.backend, progress=not args.quiet)
    if judge is not None:
        judge_answers(results, items, judge, progress=not args.quiet)
    scores = score(results)
    floors, ceilings = dict(args.fail_under), dict(args.fail_over)
    info = {"date": datetime.now().isoformat(timespec="seconds"), "gold": str(gold),
            "corpus": list(args.corpus) or None,
            "command": " ".join(["rag", *sys.argv[1:]]),
            "backend": ", ".join(sorted({r.backend for r in results if r.backend})) or "-",
            "llm_judge": judge.description if judge else None,
            "items": len(results), "elapsed_s": round(time.perf_counter() - started, 2),
            "counts": {"answerable": sum(i.kind == "qa" and i.answerable for i in items),
                       "unanswerable": sum(i.kind == "qa" and not i.answerable for i in items),
                       "claims": sum(i.kind == "claim" for i in items)},
            "failed_items": sum(not r.ok for r in results), "out": str(out),
            "floors": floors, "missed_floors": check_floors(scores.metrics, floors),
            "ceilings": ceilings, "missed_ceilings": check_ceilings(scores.metrics, ceilings)}
    write_outputs(out, results, scores, info)
    if args.json:
        _print_json({**info, **scores.to_dict()})
    else:
        print(format_table(results, scores, info))
    missed = [f"{heading}: {'; '.join(info[key])}" for heading, key in
              (("below the floor", "missed_floors"), ("above the ceiling", "missed_ceilings")) if info[key]]
    if missed:
        print(f"error: {'; '.join(missed)}", file=sys.stderr)
        return 1
    return 0


def _check_corpus_index(settings: Settings, paths: list[str]) -> None:
    """`rag eval --corpus`: the articles under `paths` must be readable, and the index they go
    into must hold nothing else, since retrieval among other documents would not measure the
    corpus; such an index is refused, never changed. Cheap: nothing is embedded here."""
    from pathlib import Path

    from .documents import load_paths
    from .store import IndexStore

    wanted = {d.source for d in load_paths(paths).documents}  # a missing path is a RagError here
    if not wanted:
        raise RagError(f"no articles to evaluate on in {', '.join(paths)}")
    store = IndexStore(settings.index_dir)
    if store.exists():
        others = sorted(d["source"] for d in store.read_manifest()["documents"].values()
                        if d["source"] not in wanted)
        if others:
            raise RagError(f"the index at {store.root} also holds {len(others)} documents that are not in "
                           f"--corpus (e.g. {Path(others[0].split('#')[0]).name}); use a new --index folder")


def _judge(settings: Settings, model: str):
    """The Ollama model that grades answers for `rag eval --judge`, checked to be there."""
    from .llm import OllamaLLM

    judge = OllamaLLM(dataclasses.replace(settings.llm, ollama_model=model))
    up, why = judge.probe()
    if not up:
        raise RagError(f"the LLM judge is not available: {why}")
    return judge


def cmd_ui(args) -> int:
    from .ui import serve

    serve(_settings(args, ui__host=args.host, ui__port=args.port, ui__read_only=args.read_only or None),
          progress=not args.quiet)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LogFormat())
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        return args.func(args)
    except RagError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: still one line, with a way to see the details
        if os.environ.get("RAG_DEBUG"):
            raise
        detail = str(e).splitlines()[0] if str(e) else ""
        print(f"error: unexpected {type(e).__name__}: {detail} (set RAG_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 1
