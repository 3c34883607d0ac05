"""All configuration in one place: a Settings object made of small sections.

Every field can be set from the environment as RAG_<SECTION>_<FIELD>, for example
RAG_RETRIEVAL_K=8 or RAG_EMBEDDING_MODEL=all-MiniLM-L6-v2. Precedence, lowest first:
defaults, the preset (RAG_PRESET or `preset=`), environment variables, explicit overrides.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .types import RagError

BACKENDS = ("auto", "ollama", "openai", "llamacpp", "extractive")
SEARCH_MODES = ("hybrid", "dense", "keyword")

DEFAULT_EMBEDDER = "multilingual-e5-small"


def user_dir() -> Path:
    """Where the default index lives: $RAG_HOME, else the XDG data dir."""
    if os.environ.get("RAG_HOME"):
        return Path(os.environ["RAG_HOME"])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "rag"


def shipped(checkout: str, packaged: str) -> Path:
    """A folder of data that comes with rag: `checkout` beside the package in a source checkout
    (prompts/, seeds/, eval/), else `packaged` inside it, where a wheel carries it (pyproject)."""
    here = Path(__file__).resolve().parent
    beside = here.parent / checkout
    return beside if beside.is_dir() else here / packaged


def seeds_dir() -> Path:
    """The seed articles: $RAG_SEEDS_DIR, else seeds/ beside the package (a source checkout),
    else the copy a wheel carries."""
    if os.environ.get("RAG_SEEDS_DIR"):
        return Path(os.environ["RAG_SEEDS_DIR"])
    return shipped("seeds", "seed_articles")


@dataclass
class IndexSettings:
    dir: Path | None = None  # None: <user_dir>/index
    # A vector index (chunks or sentences) holding more vectors than this is approximate, an
    # inverted file (IVF), instead of an exact scan. Measured (bench/): 41k sentence vectors,
    # 10k chunks: scan 8.6 ms, IVF 1.5 ms; 410k, 100k chunks: 78 ms vs 5.6 ms; same recall@5.
    # 0 = always approximate. Recorded in the manifest.
    approximate_above: int = 20_000
    # How the approximate index stores its vectors: "sq8" (8 bits a dimension, 4x less memory
    # than float32, cosine within ~0.002) or "flat" (float32, exact scores).
    approximate_storage: str = "sq8"
    # A file larger than this is skipped at ingest, never read whole (a symlink to /dev/zero
    # has no end). A fetched page or feed too: its download stops at the cap.
    max_file_mb: float = 50.0
    # Ingesting an http(s) address (web.py): seconds allowed to connect, for each read and for
    # the whole download (a page that trickles in is stopped too); redirects followed at most;
    # the User-Agent sent, so a site's owner can tell who is asking ("" = rag-factcheck/<version>
    # (+local fact-checking tool)).
    fetch_timeout: float = 20.0
    fetch_max_redirects: int = 5
    user_agent: str = ""
    # Ingest on a Dask cluster (rag/cluster.py, docs/cluster.md): the address of its scheduler
    # (tcp://host:8786), or a number of local worker processes to start for the ingest; "" and
    # 0 = embed in this process. Either way this process reads, chunks and writes the index.
    cluster: str = ""
    cluster_workers: int = 0
    # Seconds to wait for the scheduler: a wrong address should fail at once, not after the
    # minutes of a default network timeout.
    cluster_connect_timeout: float = 5.0


@dataclass
class ChunkingSettings:
    size: int = 600  # characters per chunk, at most
    overlap: int = 120  # characters shared by neighbouring chunks


@dataclass
class EmbeddingSettings:
    # None: the model that built the index (or DEFAULT_EMBEDDER for a new one).
    model: str | None = None
    batch_size: int = 32
    allow_download: bool = False  # let sentence-transformers fetch a model from its hub


@dataclass
class RetrievalSettings:
    k: int = 5
    mode: str = "hybrid"  # hybrid | dense | keyword
    candidates: int = 50  # how deep each retriever looks before fusion
    rrf_k: int = 10  # reciprocal rank fusion constant: small, so the top ranks count most
    # 0 = off. Above 0, each further passage from an already-picked document has its
    # fused score multiplied by (1 - diversity), so other sources get a chance.
    diversity: float = 0.0
    max_query_chars: int = 2000


@dataclass
class LLMSettings:
    backend: str = "auto"  # auto | ollama | openai | llamacpp | extractive
    # Ollama: the official client against this host (OLLAMA_HOST is honoured too).
    ollama_host: str = ""  # "" = $OLLAMA_HOST or http://127.0.0.1:11434
    ollama_model: str = "qwen2.5:7b-instruct"
    # An OpenAI-compatible server (openai_api.py): llama-server, Ollama's /v1, LM Studio, vLLM…
    openai_url: str = ""  # its base URL, e.g. http://127.0.0.1:8080/v1; "" = none
    openai_model: str = ""  # "" = the first model the server lists
    # The environment variable holding the server's API key, when it wants one. The key itself
    # is never a setting: settings are printed and written into reports.
    api_key_env: str = "RAG_LLM_API_KEY"
    timeout: float = 120.0  # seconds for one generation
    probe_timeout: float = 1.0  # seconds `auto` waits to see whether Ollama is up
    num_ctx: int = 4096
    temperature: float = 0.0
    max_tokens: int = 400
    # llama.cpp: a GGUF path, or "packaged:gemma3-270m" / "packaged:qwen2.5-coder-1.5b".
    gguf: str = ""
    threads: int = 2
    # A GGUF without a chat template is a base model: it cannot answer, only continue text, so
    # llama.cpp refuses it. Tests turn this on to plumb the small packaged Gemma through anyway.
    allow_base_model: bool = False


REPLY_LANGUAGES = ("it", "en", "fr", "de", "es", "pt")  # the languages prompts/messages.json speaks


@dataclass
class AnswerSettings:
    # Abstain when the best evidence sentence scores below this (e5 cosine + word overlap
    # bonus; calibrated with scripts/calibrate_answers.py, see README).
    abstain_below: float = 0.85
    # A sentence of a model's answer is grounded when a retrieved passage entails it with at
    # least this P(entailment) (the judge, nli.py) and states every number and date it does
    # (facts.py; calibrated with scripts/calibrate_support.py).
    entail_threshold: float = 0.5
    max_sentences: int = 2  # sentences in an extractive answer
    runner_up_margin: float = 0.02  # a second sentence is quoted when it scores this close to the best
    # The language of every reply, verdict and rationale: "auto" (the question's or claim's
    # own), or one of REPLY_LANGUAGES.
    language: str = "auto"


@dataclass
class UISettings:
    host: str = "127.0.0.1"  # this machine only; "0.0.0.0" opens the UI to the network
    port: int = 7860
    max_upload_mb: float = 5.0  # per uploaded file
    max_upload_files: int = 20  # per upload
    # Requests answered at once (chat, API); more wait in the queue. Retrieval is light and
    # llama.cpp generation is serialised anyway, so a few at a time keeps latency fair.
    concurrency: int = 4
    # A replica: serve the index read-only (no uploads or removals; never seeds it; writes
    # nothing into its folder), following each new generation another process writes.
    read_only: bool = False


@dataclass
class ReportSettings:
    # Fact-check reports and ClaimReview JSON-LD (rag/report.py, docs/reports.md).
    author: str = "rag-factcheck"  # who publishes the reviews: ClaimReview's author (an Organization)
    # The http(s) page that will publish the fact check: ClaimReview's url, which Google requires.
    # "" = not published yet: a placeholder urn:rag-factcheck:claim:… is emitted, with a warning.
    url: str = ""


@dataclass
class JudgeSettings:
    # The entailment judge (rag/nli.py) that verdicts and answer validation rest on: a folder
    # holding model.safetensors and config.json; "" = the one shipped in rag/models/nli.
    model: str = ""


@dataclass
class VerifySettings:
    # A premise supports the claim at this P(entailment) (the judge's calibrated probability),
    # and refutes it at this P(contradiction). Precision first: a false SUPPORTED is the worst
    # error, so the bars are high (calibrated with scripts/calibrate_claims.py on eval/claims_dev.jsonl).
    entail_threshold: float = 0.6
    contradict_threshold: float = 0.8
    # A passage that bears on the claim and gives another number, date or place refutes it
    # already at this P(contradiction).
    clash_contradiction: float = 0.25
    # How many of a passage's sentences closest to the claim are judged (besides the whole passage).
    judged_sentences: int = 2
    # A passage bears on the claim when its closest sentence scores this much as evidence for
    # it (the relevance score of answering, see AnswerSettings.abstain_below): only then may a
    # fact clash count against the claim (from clash_margin below it), or an LLM judge it.
    related_threshold: float = 0.86
    clash_margin: float = 0.03
    # Passages from an already chosen source count this much less, so every source is heard.
    diversity: float = 0.3
    judged_passages: int = 5  # how many retrieved passages an LLM judges (each is one call)
    # How many claims one check_text (`rag check --split`) checks; the rest of a long speech
    # is reported as skipped "over the limit". Each claim is ~0.3-0.9 s on 2 cores.
    max_claims: int = 20


@dataclass
class Settings:
    index: IndexSettings = field(default_factory=IndexSettings)
    chunking: ChunkingSettings = field(default_factory=ChunkingSettings)
    embedding: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    judge: JudgeSettings = field(default_factory=JudgeSettings)
    verify: VerifySettings = field(default_factory=VerifySettings)
    ui: UISettings = field(default_factory=UISettings)
    report: ReportSettings = field(default_factory=ReportSettings)

    @property
    def index_dir(self) -> Path:
        return Path(self.index.dir) if self.index.dir else user_dir() / "index"

    @classmethod
    def load(cls, preset: str | None = None, **overrides) -> "Settings":
        """Defaults, then the preset, then RAG_* variables, then `section__field=value` overrides."""
        settings = cls()
        preset = preset or os.environ.get("RAG_PRESET") or "default"
        if preset not in PRESETS:
            raise RagError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        for key, value in PRESETS[preset].items():
            settings.set(key, value)
        for section in dataclasses.fields(settings):
            for f in dataclasses.fields(getattr(settings, section.name)):
                var = f"RAG_{section.name}_{f.name}".upper()
                if os.environ.get(var, "") != "":
                    settings.set(f"{section.name}.{f.name}", os.environ[var], source=var)
        for key, value in overrides.items():
            if value is not None:
                settings.set(key.replace("__", "."), value)
        settings.validate()
        return settings

    def set(self, key: str, value, source: str | None = None) -> None:
        """Set "section.field" from a typed value or a string, with a clear error on bad input."""
        section_name, _, field_name = key.partition(".")
        section = getattr(self, section_name, None)
        kinds = {f.name: f.type for f in dataclasses.fields(section)} if section else {}
        if field_name not in kinds:
            raise RagError(f"unknown setting {key!r}")
        kind = kinds[field_name]
        label = source or key
        try:
            if isinstance(value, str):
                if kind == "bool":
                    if value.strip().lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                        raise ValueError
                    value = value.strip().lower() in ("1", "true", "yes", "on")
                elif kind == "int":
                    value = int(value)
                elif kind == "float":
                    value = float(value)
                elif kind == "Path | None":
                    value = Path(value).expanduser()
        except ValueError:
            raise RagError(f"{label} must be {'true or false' if kind == 'bool' else 'a number'}, got {value!r}") from None
        setattr(section, field_name, value)

    def validate(self) -> None:
        c, r = self.chunking, self.retrieval
        if c.size < 50:
            raise RagError(f"chunk size must be at least 50 characters, got {c.size}")
        if not 0 <= c.overlap < c.size:
            raise RagError(f"chunk overlap must be between 0 and the chunk size, got {c.overlap}")
        if r.mode not in SEARCH_MODES:
            raise RagError(f"retrieval mode must be hybrid, dense or keyword, got {r.mode!r}")
        if r.k < 1:
            raise RagError(f"k must be at least 1, got {r.k}")
        if self.llm.backend not in BACKENDS:
            raise RagError(f"backend must be one of {', '.join(BACKENDS)}, got {self.llm.backend!r}")
        if self.llm.openai_url and urlsplit(self.llm.openai_url).scheme.lower() not in ("http", "https"):
            raise RagError(f"openai_url must be an http(s) address, got {self.llm.openai_url!r}")
        if self.answer.language not in ("auto", *REPLY_LANGUAGES):
            raise RagError(f"answer language must be auto or one of {', '.join(REPLY_LANGUAGES)}, "
                           f"got {self.answer.language!r}")
        if not 0.0 <= r.diversity < 1.0:
            raise RagError(f"diversity must be in [0, 1), got {r.diversity}")
        u = self.ui
        if not 0 < u.port < 65536:
            raise RagError(f"UI port must be between 1 and 65535, got {u.port}")
        if u.max_upload_mb <= 0 or u.max_upload_files < 1 or u.concurrency < 1:
            raise RagError("UI upload limits and concurrency must be positive")
        if self.verify.max_claims < 1:
            raise RagError(f"verify max_claims must be at least 1, got {self.verify.max_claims}")
        i = self.index
        if not i.fetch_timeout > 0 or i.fetch_max_redirects < 0:
            raise RagError(f"fetch_timeout must be more than 0 and fetch_max_redirects 0 or more, "
                           f"got {i.fetch_timeout} and {i.fetch_max_redirects}")
        if i.cluster and i.cluster_workers:
            raise RagError("give a Dask scheduler's address or a number of local workers, not both")
        if i.cluster_workers < 0 or not i.cluster_connect_timeout > 0:
            raise RagError(f"cluster_workers must be 0 or more and cluster_connect_timeout more than 0, "
                           f"got {i.cluster_workers} and {i.cluster_connect_timeout}")
        if any(ord(c) < 32 or ord(c) == 127 for c in i.user_agent):  # a newline would forge headers
            raise RagError("user_agent must be one line of printable text")
        if self.report.url and urlsplit(self.report.url).scheme.lower() not in ("http", "https"):
            raise RagError(f"report url must be an http(s) address, got {self.report.url!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# Named presets: small, documented bundles of settings.
PRESETS: dict[str, dict] = {
    "default": {},
    # English-only corpora: the packaged all-MiniLM-L6-v2 (sentence-transformers).
    "english": {"embedding.model": "all-MiniLM-L6-v2"},
    # Faster multilingual embedding (USE v3, pure numpy), slightly weaker on Italian.
    "fast": {"embedding.model": "use-multilingual-v3"},
}
