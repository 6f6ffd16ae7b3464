"""Benchmark of the plasticity rules: streaming cost on the C and NumPy paths, and learning.

For every registered rule (built-ins and installed plugins):
  1. streaming latency, B=1, µs/step, of a Standard SSMN (H=64, w=16, 1 plastic layer) with the
     rule running in C (core or plugin C source) and through its NumPy code (called from the kernel
     once per step), and the ratio;
  2. a small learning comparison: delayed recall of a value 3 windows back (w=4), trained with
     BPTT + Adam, held-out accuracy (chance 0.25), next to a model without plastic layers;
  3. training throughput of a batch: tokens/s of value_and_grad over B streams x T=32 steps with
     B=1 and B=32, C path and NumPy path. A NumPy (or plugin C) rule is called once per step for
     all B streams, so its per-call overhead is shared by the batch: the B=32 / B=1 ratio of the
     NumPy path is the gain of batching (it was about 1 when rules were called stream by stream).
Prints markdown tables and writes JSON. Run: python scripts/bench_rules.py [--quick]
"""
from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np

import ssmn_rl
from ssmn_rl import SSMN
from ssmn_rl.optim import Adam
from ssmn_rl.tasks import delayed_recall


def streaming_us(rule: str, backend: str, steps: int) -> float:
    m = SSMN("standard", input_dim=32, hidden_dim=64, output_dim=32, window_size=16, rule=rule,
             rule_backend=backend, seed=0)
    x = np.random.default_rng(0).standard_normal((steps + 16, 32)).astype(np.float32)
    m.reset()
    for t in range(16):
        m.forward_step(x[t])
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for t in range(steps):
            m.forward_step(x[16 + t])
        best = min(best, (time.perf_counter() - t0) / steps * 1e6)
    return best


def batch_tokens_per_s(rule: str, backend: str, B: int, repeats: int, T: int = 32) -> float:
    """Tokens/s of value_and_grad on B streams x T steps (H=64, w=16, float32), best of repeats."""
    m = SSMN("standard", input_dim=32, hidden_dim=64, output_dim=32, window_size=16, rule=rule,
             rule_backend=backend, seed=0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((B, T, 32)).astype(np.float32)
    Y = rng.standard_normal((B, T, 32)).astype(np.float32)
    m.value_and_grad(X, Y)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        m.value_and_grad(X, Y)
        best = min(best, time.perf_counter() - t0)
    return B * T / best


def recall_accuracy(rule: str, plastic_ratio: float, iters: int, seed: int = 0) -> float:
    window = 4
    m = SSMN("custom_split", input_dim=6, hidden_dim=32, output_dim=4, window_size=window, n_layers=2,
             plastic_ratio=plastic_ratio, rule=rule, plasticity_eta=0.5, decay_lambda=0.01, alpha=1.0,
             seed=seed)
    opt = Adam(m.n_parameters, lr=0.01, max_grad_norm=1.0)
    rng = np.random.default_rng(seed)
    for _ in range(iters):
        X, y, mask = delayed_recall(64, 3 * window, rng=rng)
        _, g = m.value_and_grad(X, y, loss="cross_entropy", mask=mask)
        m.set_parameters(opt.step(m.get_parameters(), g))
    X, y, _ = delayed_recall(2000, 3 * window, rng=10_000 + seed)
    return float((m.forward(X)[:, -1].argmax(-1) == y[:, -1]).mean())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer steps and iterations (smoke run)")
    p.add_argument("--out", default="bench_results/bench_rules.json", help="JSON output path")
    args = p.parse_args(argv)
    steps, iters = (200, 40) if args.quick else (2000, 300)
    rows = []
    control = recall_accuracy("hebbian", 0.0, iters)
    for info in ssmn_rl.list_rules():
        rule = info["name"]
        has_c = info["kernel"] != "NumPy"
        c_us = streaming_us(rule, "c", steps) if has_c else None
        np_us = streaming_us(rule, "numpy", max(20, steps // 10))
        acc = recall_accuracy(rule, 0.5, iters) if info["gradient"] else None
        batch = {}
        if info["gradient"]:
            for backend in (("c", "numpy") if has_c else ("numpy",)):
                for B in (1, 32):
                    batch[f"{backend}_B{B}"] = batch_tokens_per_s(rule, backend, B, 2 if args.quick else 5)
        rows.append({"rule": rule, "distribution": info["distribution"], "kernel": info["kernel"],
                     "c_us": c_us, "numpy_us": np_us, "numpy_over_c": np_us / c_us if c_us else None,
                     "recall_accuracy": acc, "batch_tok_s": batch})
    print(f"# Plasticity rules ({'quick' if args.quick else 'full'} run)\n")
    print("Streaming: Standard SSMN, H=64, w=16, D_in=32, 1 plastic layer, B=1, best of 3 (µs/step).")
    print(f"Learning: delayed recall 3 windows back (w=4, 4 values, chance 0.25), H=32, {iters} Adam "
          f"steps of 64 sequences; without plastic layers: accuracy {control:.3f}.\n")
    print("| rule | from | C µs/step | NumPy µs/step | NumPy/C | recall accuracy |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        c = f"{r['c_us']:.1f}" if r["c_us"] else "—"
        ratio = f"{r['numpy_over_c']:.1f}×" if r["numpy_over_c"] else "—"
        acc = f"{r['recall_accuracy']:.3f}" if r["recall_accuracy"] is not None else "n/a (no vjp)"
        print(f"| {r['rule']} | {r['distribution']} | {c} | {r['numpy_us']:.1f} | {ratio} | {acc} |")
    print("\nTraining throughput: value_and_grad, H=64, w=16, T=32, float32, best of repeats (tokens/s); "
          "the NumPy rule is called once per step for all B streams.\n")
    print("| rule | C, B=1 | C, B=32 | NumPy, B=1 | NumPy, B=32 | NumPy B=32 / B=1 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        b = r["batch_tok_s"]
        if not b:
            continue

        def f(k):
            return f"{b[k]:,.0f}" if k in b else "—"
        print(f"| {r['rule']} | {f('c_B1')} | {f('c_B32')} | {f('numpy_B1')} | {f('numpy_B32')} | "
              f"{b['numpy_B32'] / b['numpy_B1']:.1f}× |")
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "no_plastic_accuracy": control, "iterations": iters}, indent=2))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
