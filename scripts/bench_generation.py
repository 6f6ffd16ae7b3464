"""Generation throughput of the Text-Native SSMN: tokens per second of ``SSMN.generate`` (one
streaming kernel step plus sampling per token) at V=10000, H=256, w=512 by default — the issue's
setting, where the prototype's O(V^2) output managed about 2 tokens/s. The window is filled by the
prompt first (``--prompt`` tokens, default w), so every generated token attends over a full window.

The kernels split the decoder product of a one-token step over OpenMP threads; each count in
``--omp-threads`` runs in its own subprocess (``SSMN_NUM_THREADS``, the models' default ``n_threads``) and
the table puts the counts side by side with their ratio.

Usage::

    python scripts/bench_generation.py                      # V=10000, H=256, w=512, 1 and 2 threads
    python scripts/bench_generation.py --tokens 5000 --sampling top_k --json out.json
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

import numpy as np

from ssmn_rl import SSMN


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vocab", type=int, default=10000)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--embed", type=int, default=256)
    p.add_argument("--window", type=int, default=512)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--chat-steps", type=int, default=1)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--preset", default=None, choices=["default", "prototype"],
                   help="cell preset (default: the default cell)")
    p.add_argument("--tokens", type=int, default=2000, help="tokens generated per repeat")
    p.add_argument("--prompt", type=int, default=None, help="prompt length (default: window size)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--omp-threads", type=int, nargs="+", default=[1, 2],
                   help="OpenMP thread counts to compare, one subprocess each (default: 1 2)")
    p.add_argument("--json", type=pathlib.Path, default=None)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.child:
        return compare_threads(args, argv if argv is not None else sys.argv[1:])

    m = SSMN("text_native", vocab_size=args.vocab, embed_dim=args.embed, hidden_dim=args.hidden,
             window_size=args.window, n_layers=args.layers, chat_steps=args.chat_steps,
             preset=args.preset, dtype=args.dtype, seed=0)
    prompt = np.random.default_rng(0).integers(0, args.vocab, args.prompt or args.window)
    print(f"Text-Native SSMN V={args.vocab} E={args.embed} H={args.hidden} w={args.window} "
          f"L={args.layers} chat_steps={args.chat_steps} {args.dtype}: {m.n_parameters} parameters; "
          f"prompt {prompt.size} tokens, {args.tokens} new tokens x {args.repeats} repeats")
    settings = [("greedy", dict(temperature=0.0)), ("sample T=1", dict(temperature=1.0)),
                ("top_k=40", dict(temperature=0.8, top_k=40)), ("top_p=0.9", dict(temperature=0.8, top_p=0.9))]
    m.generate(prompt, 10, seed=0)  # warm-up (allocations, first-touch)
    rows = []
    print(f"\n{'sampling':<12} | {'tokens/s (best)':>15} | {'tokens/s (median)':>17} | {'prompt s':>8}")
    print("-" * 62)
    for name, kw in settings:
        rates, prompt_s = [], []
        for r in range(args.repeats):
            t0 = time.perf_counter()
            m.forward(prompt)
            t1 = time.perf_counter()
            m.generate(prompt, args.tokens, seed=r, **kw)
            t2 = time.perf_counter()
            prompt_s.append(t1 - t0)
            rates.append(args.tokens / max(1e-9, (t2 - t1) - (t1 - t0)))
        rows.append({"sampling": name, "best_tokens_per_s": max(rates),
                     "median_tokens_per_s": float(np.median(rates)), "prompt_seconds": float(np.median(prompt_s))})
        print(f"{name:<12} | {max(rates):15.0f} | {np.median(rates):17.0f} | {np.median(prompt_s):8.3f}")
    worst = min(r["median_tokens_per_s"] for r in rows)
    print(f"\ntarget >= 1000 tokens/s: {'met' if worst >= 1000 else 'NOT met'} (slowest median {worst:.0f})")
    if args.json:
        args.json.write_text(json.dumps({"platform": platform.platform(),
                                         "config": vars(args) | {"json": None},
                                         "n_parameters": m.n_parameters, "rows": rows}, indent=1))


def _without_option(argv, name: str) -> list[str]:
    """argv minus `name VALUE` / `name=VALUE`."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == name:
            skip = True
        elif not a.startswith(name + "="):
            out.append(a)
    return out


def compare_threads(args, argv) -> None:
    """Runs this script once per OpenMP thread count and prints the medians side by side."""
    import tempfile

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.omp_threads:
            out = pathlib.Path(tmp) / f"{n}.json"
            child = _without_option(argv, "--json")
            print(f"\n=== SSMN_NUM_THREADS={n} ===", flush=True)
            subprocess.run([sys.executable, __file__, *child, "--child", "--json", str(out)], check=True,
                           env=os.environ | {"OMP_NUM_THREADS": str(n), "SSMN_NUM_THREADS": str(n)})
            results[n] = json.loads(out.read_text())
    counts = list(results)
    print(f"\nmedian tokens/s by OpenMP threads (ratio = {counts[-1]} vs {counts[0]} threads)")
    print(f"{'sampling':<12} | " + " | ".join(f"{n:>2} thread(s)" for n in counts) + " |  ratio")
    print("-" * (18 + 15 * len(counts) + 8))
    names = [r["sampling"] for r in results[counts[0]]["rows"]]
    for i, name in enumerate(names):
        meds = [results[n]["rows"][i]["median_tokens_per_s"] for n in counts]
        print(f"{name:<12} | " + " | ".join(f"{v:12.0f}" for v in meds) + f" | {meds[-1] / meds[0]:5.2f}x")
    best = max(min(r["median_tokens_per_s"] for r in results[n]["rows"]) for n in counts)
    print(f"\ntarget >= 1000 tokens/s: {'met' if best >= 1000 else 'NOT met'} "
          f"(slowest sampling median with the best thread count: {best:.0f})")
    if args.json:
        args.json.write_text(json.dumps({"platform": platform.platform(), "by_threads": results}, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
