"""Character-level language modelling on Tiny Shakespeare: the Text-Native SSMN
(:class:`ssmn_rl.text.SSMNLanguageModel`) against a PyTorch GRU of (about) the same parameter
count trained for the same wall-clock time, in the same script.

Data: ``../shared/data/tinyshakespeare.txt`` relative to the repository root, first 90% for
training and the last 10% for validation (as nanoGPT splits it). Both models see the same character
vocabulary, the same ``batch_size`` parallel streams read ``chunk_length`` characters at a time
(truncated BPTT carrying the state), Adam with a cosine schedule over the time budget and gradient
clipping at 1, and the same validation measure: nats per character over the validation tail cut
into ``--threads`` contiguous pieces, each read from a fresh state. The validation curve is logged
against training time (validation passes excluded) every ``--eval-every`` seconds; the GRU trains
for exactly the training time the SSMN used. The SSMN runs each batch on ``--threads`` kernel
threads; torch uses ``torch.set_num_threads(--gru-threads)`` (default: the same number). On a
loaded machine, torch with 2 threads can be much slower than with 1 (its per-time-step parallel
regions wait for a busy core), so report the thread counts with the numbers.

Usage::

    python scripts/bench_charlm.py                 # 15 minutes per model
    python scripts/bench_charlm.py --minutes 5 --json out.json
    python scripts/bench_charlm.py --quick         # about 1 minute per model
    python scripts/bench_charlm.py --threading --minutes 1   # batch in one call vs split over threads

``--threading`` trains the SSMN twice for ``--minutes`` each, with the batch of every step run as
one kernel call on ``--threads`` threads and split across ``--threads`` Python threads of one
kernel thread each (``ssmn_rl.text.language_model.SPLIT_BATCH``), and prints the optimiser steps
per second and the validation loss of both, side by side, then the GRU's steps per second.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import pathlib
import platform
import sys
import time

import numpy as np

from _cell_args import add_cell_arguments, cell_kwargs
from ssmn_rl.text import SSMNLanguageModel

REPO = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "tinyshakespeare.txt"


def _have_torch() -> bool:
    """True when PyTorch imports (the baselines are skipped otherwise)."""
    try:
        importlib.import_module("torch")
    except ImportError:
        return False
    return True


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=15.0, help="training time per model (default 15)")
    p.add_argument("--quick", action="store_true", help="about 1 minute per model")
    p.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA)
    p.add_argument("--eval-every", type=float, default=30.0, help="seconds of training between evaluations")
    p.add_argument("--threads", type=int, default=2, help="threads for the SSMN (default 2)")
    p.add_argument("--gru-threads", type=int, default=None,
                   help="torch threads for the GRU (default: --threads)")
    p.add_argument("--no-gru", action="store_true", help="skip the PyTorch baseline")
    p.add_argument("--gru-hidden", type=int, default=None,
                   help="GRU hidden size (default: the size whose parameter count matches the SSMN)")
    p.add_argument("--json", type=pathlib.Path, default=None, help="write results here")
    p.add_argument("--threading", action="store_true",
                   help="compare one kernel call on --threads threads with the batch split over threads")
    g = p.add_argument_group("SSMN configuration")
    g.add_argument("--hidden", type=int, default=128)
    g.add_argument("--embed", type=int, default=64)
    g.add_argument("--window", type=int, default=4)
    g.add_argument("--layers", type=int, default=2)
    g.add_argument("--plastic-ratio", type=float, default=0.5)
    g.add_argument("--rule", default="delta")
    g.add_argument("--eta", type=float, default=1.0)
    g.add_argument("--decay", type=float, default=0.1)
    g.add_argument("--chat-steps", type=int, default=None, help="re-reads of the fast weights (default: the model's)")
    g.add_argument("--clip", type=float, default=None,
                   help="bound on the fast weights' entries (default: the model's); inf with "
                        "--chat-steps 1 trains the plastic layers chunkwise")
    add_cell_arguments(g)
    g.add_argument("--lr", type=float, default=1e-2)
    g.add_argument("--gru-lr", type=float, default=3e-3)
    g.add_argument("--batch", type=int, default=32)
    g.add_argument("--chunk", type=int, default=64)
    g.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.quick:
        args.minutes, args.eval_every = 1.0, 15.0
    return args


def gru_parameter_count(V: int, E: int, H: int) -> int:
    """Embedding(V, E) + one-layer GRU(E, H) + Linear(H, V), as torch counts them."""
    return V * E + 3 * (H * E + H * H + 2 * H) + H * V + V


def train_gru(args, tok, train_ids, val_ids, H, E, budget_s, eval_marks):
    """Train the PyTorch GRU for ``budget_s`` seconds of training time; evaluate at ``eval_marks``."""
    import torch

    torch.set_num_threads(args.gru_threads or args.threads)
    torch.manual_seed(args.seed)
    V = tok.vocab_size

    class CharGRU(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(V, E)
            self.gru = torch.nn.GRU(E, H, batch_first=True)
            self.out = torch.nn.Linear(H, V)

        def forward(self, x, h=None):
            y, h = self.gru(self.emb(x), h)
            return self.out(y), h

    net = CharGRU()
    n_params = sum(p.numel() for p in net.parameters())
    opt = torch.optim.Adam(net.parameters(), lr=args.gru_lr)
    B, T = args.batch, args.chunk
    L = (train_ids.size - 1) // B
    X = torch.from_numpy(train_ids[:B * L].reshape(B, L).astype(np.int64))
    Y = torch.from_numpy(train_ids[1:B * L + 1].reshape(B, L).astype(np.int64))

    def evaluate():
        net.eval()
        bounds = np.linspace(0, val_ids.size - 1, args.threads + 1).astype(int)
        total = 0.0
        # the pieces run as one batch (each from a fresh state); a piece longer than the shortest
        # by a few tokens finishes on its own, carrying its hidden state
        n = int(np.diff(bounds).min())
        ids64 = val_ids.astype(np.int64)
        with torch.no_grad():
            x = torch.from_numpy(np.stack([ids64[a:a + n] for a in bounds[:-1]]))
            y = torch.from_numpy(np.stack([ids64[a + 1:a + n + 1] for a in bounds[:-1]]))
            logits, h = net(x)
            total += float(torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1),
                                                             reduction="sum"))
            for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
                if b - a > n:
                    xr = torch.from_numpy(ids64[a + n:b])[None]
                    lr, _ = net(xr, h[:, i:i + 1].contiguous())
                    total += float(torch.nn.functional.cross_entropy(
                        lr[0], torch.from_numpy(ids64[a + n + 1:b + 1]), reduction="sum"))
        net.train()
        return total / (val_ids.size - 1)

    curve, train_time, step, marks = [], 0.0, 0, list(eval_marks)
    h = None
    done = False
    while not done:
        h = None
        for t0 in range(0, L, T):
            tick = time.perf_counter()
            p = min(1.0, train_time / budget_s)
            for gparam in opt.param_groups:
                gparam["lr"] = args.gru_lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))
            logits, h = net(X[:, t0:t0 + T], h)
            h = h.detach()
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), Y[:, t0:t0 + T].reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            step += 1
            train_time += time.perf_counter() - tick
            while marks and train_time >= marks[0]:
                marks.pop(0)
                curve.append((train_time, step, evaluate()))
            if train_time >= budget_s:
                done = True
                break
    if not curve or curve[-1][1] != step:
        curve.append((train_time, step, evaluate()))
    return {"hidden": H, "embed": E, "n_parameters": n_params, "threads": torch.get_num_threads(),
            "lr": args.gru_lr, "steps": step, "train_time": train_time,
            "curve": [{"train_time": t, "step": s, "val_loss": v} for t, s, v in curve],
            "final_val_loss": curve[-1][2], "best_val_loss": min(c[2] for c in curve)}


def make_lm(args, budget: float) -> SSMNLanguageModel:
    return SSMNLanguageModel(embed_dim=args.embed, hidden_dim=args.hidden, window_size=args.window,
                             n_layers=args.layers, plastic_ratio=args.plastic_ratio, rule=args.rule,
                             plasticity_eta=args.eta, decay_lambda=args.decay,
                             **{k: v for k, v in (("chat_steps", args.chat_steps), ("clip", args.clip))
                                if v is not None},
                             **cell_kwargs(args),
                             learning_rate=args.lr, lr_schedule="cosine",
                             batch_size=args.batch, chunk_length=args.chunk, max_epochs=10_000,
                             max_time=budget, validation_fraction=0.1,
                             eval_every_seconds=args.eval_every, n_jobs=args.threads,
                             random_state=args.seed)


def compare_threading(args, text: str, budget: float) -> None:
    """Steps/s of the SSMN with each batch in one kernel call on --threads threads, and split
    across --threads Python threads (one kernel thread each), then of the GRU, in one run."""
    import ssmn_rl.text.language_model as lm_module

    rows = {}
    saved = lm_module.SPLIT_BATCH
    try:
        for name, split in (("one call, kernel threads", False), ("split over Python threads", True)):
            lm_module.SPLIT_BATCH = split
            lm = make_lm(args, budget)
            lm.fit(text)
            rows[name] = {"steps": lm.n_steps_, "train_time": lm.train_time_,
                          "steps_per_s": lm.n_steps_ / lm.train_time_, "best_val_loss": lm.best_val_loss_}
    finally:
        lm_module.SPLIT_BATCH = saved
    print(f"\nSSMN, batch {args.batch} x {args.chunk}, {args.threads} threads, {budget:.0f} s each:")
    print("| how | steps | steps/s | best validation nats/char |\n|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['steps']} | {r['steps_per_s']:.2f} | {r['best_val_loss']:.4f} |")
    first, second = rows.values()
    print(f"one call / split: {first['steps_per_s'] / second['steps_per_s']:.2f}x steps/s")
    if not args.no_gru and _have_torch():
        tok = lm.tokenizer_
        ids = tok.encode(text)
        n_val = int(round(ids.size * 0.1))
        H = args.gru_hidden or min(range(8, 1025), key=lambda h: abs(
            gru_parameter_count(tok.vocab_size, args.embed, h) - lm.model_.n_parameters))
        gru = train_gru(args, tok, ids[:-n_val], ids[-n_val:], H, args.embed, budget, [budget])
        rows["gru"] = {"steps": gru["steps"], "train_time": gru["train_time"],
                       "steps_per_s": gru["steps"] / gru["train_time"], "hidden": H}
        print(f"GRU (H={H}, {gru['n_parameters']} parameters, torch threads {gru['threads']}): "
              f"{gru['steps']} steps, {rows['gru']['steps_per_s']:.2f} steps/s; SSMN (one call) / GRU = "
              f"{first['steps_per_s'] / rows['gru']['steps_per_s']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"threading": rows, "minutes": args.minutes}, indent=1, default=float))
        print(f"wrote {args.json}")


def main(argv=None):
    args = parse_args(argv)
    if not args.data.is_file():
        sys.exit(f"bench_charlm: data file {args.data} not found (expected ../shared/data/"
                 "tinyshakespeare.txt next to the repository)")
    text = args.data.read_text(encoding="utf-8")
    n = len(text)
    val_text = text[int(0.9 * n):]
    budget = args.minutes * 60.0
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"Tiny Shakespeare: {n} characters, validation = last {len(val_text)}; budget "
          f"{budget:.0f} s per model, SSMN {args.threads} thread(s), GRU {args.gru_threads or args.threads}; CPUs {os.cpu_count()}, "
          f"load average at start {load}", flush=True)

    lm = make_lm(args, budget)
    if args.threading:
        return compare_threading(args, text, budget)
    t0 = time.perf_counter()
    lm.fit(text)
    wall = time.perf_counter() - t0
    # non-finite options (clip=inf) as strings: the report stays standard JSON
    ssmn = {"config": {k: str(v) if isinstance(v, float) and not math.isfinite(v) else v
                       for k, v in lm.get_params().items()}, "n_parameters": lm.model_.n_parameters,
            "threads": args.threads, "steps": lm.n_steps_, "epochs": lm.n_epochs_,
            "train_time": lm.train_time_, "wall_time": wall, "curve": lm.history_,
            "best_val_loss": lm.best_val_loss_}
    ssmn["score_val_text"] = lm.nats_per_char(val_text)  # the loss (score() is its negative)
    ssmn["sample"] = lm.generate("ROMEO:\n", 400, temperature=0.8, seed=0)
    print(f"\nSSMN: {ssmn['n_parameters']} parameters, {lm.n_steps_} steps ({lm.n_epochs_:.2f} epochs) "
          f"in {lm.train_time_:.0f} s of training ({wall:.0f} s wall)", flush=True)
    print("SSMN curve: " + ", ".join(f"{r['train_time']:.0f}s {r['val_loss']:.4f}" for r in lm.history_),
          flush=True)

    gru = None
    if not args.no_gru:
        if not _have_torch():
            print("PyTorch is not installed: no GRU baseline", flush=True)
        else:
            tok = lm.tokenizer_
            ids = np.concatenate([tok.encode(text)])
            n_val = int(round(ids.size * 0.1))
            train_ids, val_ids = ids[:-n_val], ids[-n_val:]
            E = args.embed
            H = args.gru_hidden or min(range(8, 1025), key=lambda h: abs(
                gru_parameter_count(tok.vocab_size, E, h) - ssmn["n_parameters"]))
            marks = [r["train_time"] for r in lm.history_]
            gru = train_gru(args, tok, train_ids, val_ids, H, E, lm.train_time_, marks)
            print(f"GRU: H={H}, {gru['n_parameters']} parameters, {gru['steps']} steps in "
                  f"{gru['train_time']:.0f} s, torch threads {gru['threads']}", flush=True)

    print("\nValidation nats/char against training time (validation passes excluded)")
    print(f"{'time (s)':>9} | {'SSMN':>7}" + (f" | {'GRU':>7}" if gru else ""))
    print("-" * (19 + (10 if gru else 0)))
    for i, r in enumerate(lm.history_):
        row = f"{r['train_time']:9.0f} | {r['val_loss']:7.4f}"
        if gru and i < len(gru["curve"]):
            row += f" | {gru['curve'][i]['val_loss']:7.4f}"
        print(row)
    print(f"\nSSMN best validation {lm.best_val_loss_:.4f} nats/char "
          f"({lm.best_val_loss_ / math.log(2):.4f} bits); nats_per_char() of the validation text "
          f"from a fresh state: {ssmn['score_val_text']:.4f}")
    if gru:
        print(f"GRU  best validation {gru['best_val_loss']:.4f} nats/char")
        verdict = "below" if lm.best_val_loss_ < gru["best_val_loss"] else "NOT below"
        print(f"SSMN is {verdict} the equal-size GRU at equal time")
    target = "met" if lm.best_val_loss_ <= 1.50 else "NOT met"
    print(f"target <= 1.50 nats/char: {target} (budget {args.minutes:g} min)")
    print(f"\nSample (temperature 0.8, seed 0), prompt 'ROMEO:\\n':\n{'-' * 60}\nROMEO:\n{ssmn['sample']}\n{'-' * 60}")
    if args.json:
        out = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                           "load_average_start": load,
                           "load_average_end": os.getloadavg() if hasattr(os, "getloadavg") else None},
               "minutes": args.minutes, "ssmn": ssmn, "gru": gru}
        args.json.write_text(json.dumps(out, indent=1, default=float))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
