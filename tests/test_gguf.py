"""GGUF files (rag/gguf.py): packaged models assembled from their part packages safely and only
when they are exactly the recorded file; the metadata the llama.cpp backend reads; turn markers
kept out of the text. Real files: the small packaged Gemma GGUF (installed by the dev extra)."""

import hashlib
import os
import struct
import subprocess
import sys

import pytest

from rag import gguf
from rag.gguf import (PACKAGED_GGUFS, MarkerFilter, PackagedGGUF, gguf_placeholder, installed_ggufs,
                      models_dir, packaged_gguf, read_gguf, resolve_gguf, strip_markers)
from rag.types import RagError

needs_gemma = pytest.mark.skipif(
    not os.environ.get("CI") and "gemma3-270m" not in installed_ggufs(),  # in CI these must run
    reason="the packaged Gemma GGUF is not installed (pip install '.[gguf-gemma]')")

ASSEMBLE = """
import sys
from rag.gguf import packaged_gguf
sys.stdin.readline()  # every process starts at once
print(packaged_gguf("gemma3-270m"))
"""


@needs_gemma
def test_processes_assembling_at_once_all_get_the_verified_file(isolated_home):
    # In the issue, two assemblies shared one temporary name and the second rename failed.
    processes = [subprocess.Popen([sys.executable, "-c", ASSEMBLE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for p in processes:
        p.stdin.write("go\n")
        p.stdin.flush()
    results = [p.communicate(timeout=120) for p in processes]
    target = models_dir() / "gemma3-270m.gguf"
    for p, (out, err) in zip(processes, results):
        assert p.returncode == 0 and "Traceback" not in err, err
        assert out.strip() == str(target)
    assert [f.name for f in target.parent.iterdir()] == [target.name]  # no temporary file left
    assert _sha256(target) == PACKAGED_GGUFS["gemma3-270m"].sha256
    assert packaged_gguf("gemma3-270m") == target  # and this process takes it, verified


@needs_gemma
def test_a_tampered_cached_gguf_is_refused(isolated_home):
    target = packaged_gguf("gemma3-270m")
    with open(target, "r+b") as f:  # one byte of the weights, same size: only the sha256 can tell
        f.seek(200_000_000)
        byte = f.read(1)
        f.seek(200_000_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    os.utime(target, ns=(1, 1))
    with pytest.raises(RagError, match=r"gemma3-270m\.gguf .*does not match packaged:gemma3-270m.*"
                                       r"part packages are not the expected ones.*delete it"):
        packaged_gguf("gemma3-270m")
    # a new process checks its copy too, at its first use
    result = subprocess.run([sys.executable, "-c", "from rag.gguf import packaged_gguf; packaged_gguf('gemma3-270m')"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "does not match packaged:gemma3-270m" in result.stderr
    target.write_bytes(b"GGUF")  # a truncated one: the size tells
    with pytest.raises(RagError, match=r"\(4 bytes\) does not match"):
        resolve_gguf("packaged:gemma3-270m")


@needs_gemma
def test_parts_that_do_not_make_the_recorded_file_are_refused_and_nothing_is_kept(isolated_home, monkeypatch):
    gemma = PACKAGED_GGUFS["gemma3-270m"]
    monkeypatch.setitem(PACKAGED_GGUFS, "other", PackagedGGUF(gemma.extra, gemma.modules, gemma.size, "0" * 64, "gemma3", False))
    with pytest.raises(RagError, match="file assembled from its part packages .* does not match packaged:other"
                                       ".*the part packages are not the expected ones"):
        packaged_gguf("other")
    assert list(models_dir().iterdir()) == []  # the temporary file is gone, no model was kept
    monkeypatch.setitem(PACKAGED_GGUFS, "other", PackagedGGUF(gemma.extra, gemma.modules, gemma.size, gemma.sha256, "llama", False))
    with pytest.raises(RagError, match="is a gemma3 model, not the llama that packaged:other is"):
        packaged_gguf("other")  # the bytes are right but the metadata is not as recorded
    monkeypatch.setitem(PACKAGED_GGUFS, "other", PackagedGGUF(gemma.extra, gemma.modules, gemma.size, None, "gemma3", False))
    with pytest.raises(RagError, match="has no recorded checksum"):
        packaged_gguf("other")


def test_part_packages_that_are_not_installed_are_a_clear_error(monkeypatch):
    monkeypatch.setitem(PACKAGED_GGUFS, "absent", PackagedGGUF("gguf-absent", ("no_such_part1",), 1, "0" * 64, "qwen2", True))
    with pytest.raises(RagError, match=r"packaged:absent needs its part packages: pip install 'rag-factcheck\[gguf-absent\]'"):
        packaged_gguf("absent")
    assert "absent" not in installed_ggufs()
    with pytest.raises(RagError, match="unknown packaged model 'nope'"):
        packaged_gguf("nope")


def test_only_installed_models_that_can_answer_are_suggested(monkeypatch):
    monkeypatch.setitem(PACKAGED_GGUFS, "absent", PackagedGGUF("gguf-absent", ("no_such_part1",), 1, "0" * 64, "qwen2", True))
    suggested = gguf_placeholder()
    assert suggested.startswith("path/to/model.gguf")
    assert "packaged:absent" not in suggested and "packaged:gemma3-270m" not in suggested  # a base model
    for name in installed_ggufs(chat_only=True):
        assert f"packaged:{name}" in suggested
    monkeypatch.setattr(gguf, "PACKAGED_GGUFS", {"absent": PACKAGED_GGUFS["absent"]})
    assert gguf_placeholder() == "path/to/model.gguf"


@needs_gemma
def test_the_gemma_metadata_says_base_model_and_its_markers(isolated_home):
    info = read_gguf(packaged_gguf("gemma3-270m"))
    assert (info.version, info.architecture, info.name) == (3, "gemma3", "Gemma 3 270m")
    assert not info.has_chat_template and info.eos == "<eos>"
    # llama.cpp prompts a model without a template in ChatML; its vocabulary has Gemma's turns
    assert {"<|im_end|>", "<|im_start|>", "<end_of_turn>", "<start_of_turn>", "<eos>"} <= set(info.stop_sequences)


def write_gguf(path, kvs):
    """A GGUF header (no tensors) with these metadata: str, int (uint32) or list of str."""
    def string(s):
        b = s.encode()
        return struct.pack("<Q", len(b)) + b
    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs))
    for key, value in kvs.items():
        out += string(key)
        if isinstance(value, str):
            out += struct.pack("<I", 8) + string(value)
        elif isinstance(value, list):
            out += struct.pack("<IIQ", 9, 8, len(value)) + b"".join(string(v) for v in value)
        else:
            out += struct.pack("<II", 4, value)
    path.write_bytes(out)
    return path


GEMMA_IT_TEMPLATE = ("{{ bos_token }}{% for message in messages %}<start_of_turn>{{ message['role'] }}\n"
                     "{{ message['content'] }}<end_of_turn>\n{% endfor %}<start_of_turn>model\n")
CHATML_TEMPLATE = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"


def test_stop_sequences_come_from_the_chat_template_and_the_end_tokens(tmp_path):
    gemma_it = read_gguf(write_gguf(tmp_path / "g.gguf", {
        "general.architecture": "gemma3", "general.name": "Gemma it", "tokenizer.chat_template": GEMMA_IT_TEMPLATE,
        "tokenizer.ggml.tokens": ["<pad>", "<eos>", "<bos>", "ciao", "<end_of_turn>"],
        "tokenizer.ggml.eos_token_id": 1, "tokenizer.ggml.eot_token_id": 4}))
    assert gemma_it.has_chat_template and (gemma_it.eos, gemma_it.eot) == ("<eos>", "<end_of_turn>")
    assert gemma_it.stop_sequences == ["<end_of_turn>", "<start_of_turn>", "<eos>"]
    qwen = read_gguf(write_gguf(tmp_path / "q.gguf", {
        "general.architecture": "qwen2", "tokenizer.chat_template": CHATML_TEMPLATE,
        "tokenizer.ggml.tokens": ["a", "<|endoftext|>", "<|im_start|>", "<|im_end|>"], "tokenizer.ggml.eos_token_id": 3}))
    assert qwen.stop_sequences == ["<|im_end|>", "<|im_start|>", "<|endoftext|>"]
    (tmp_path / "x.gguf").write_bytes(b"GGML" + bytes(20))
    with pytest.raises(RagError, match="is not a GGUF model file"):
        read_gguf(tmp_path / "x.gguf")
    (tmp_path / "cut.gguf").write_bytes((tmp_path / "q.gguf").read_bytes()[:40])
    with pytest.raises(RagError, match="is not a readable GGUF model file"):
        read_gguf(tmp_path / "cut.gguf")


def test_markers_never_pass_even_split_across_tokens():
    markers = ["<|im_end|>", "<|im_start|>", "<end_of_turn>"]
    f = MarkerFilter(markers)
    pieces = ["Il restauro", " è costato 7 milioni", ".<", "|im", "_end", "|>", "\nuser\n", "altro"]
    assert "".join(f.feed(p) for p in pieces) + f.finish() == "Il restauro è costato 7 milioni."
    f = MarkerFilter(markers)
    assert [f.feed(p) for p in ["a <", "b", " <end_of", "_turn"]] + [f.finish()] == ["a ", "<b", " ", "", ""]
    assert strip_markers("Sì.<end_of_turn>\n<start_of_turn>user", markers) == "Sì."
    assert strip_markers("x < y e <|im", markers) == "x < y e "  # cut by the token limit mid-marker
    assert strip_markers("nessun marcatore", markers) == "nessun marcatore"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 24):
            digest.update(block)
    return digest.hexdigest()
