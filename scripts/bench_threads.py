"""Benchmark: does the SSMN run in parallel from several Python threads? (the kernels release the GIL)

Each workload runs first in 1 thread, then in N threads at once (default N = 2), every thread
doing the same amount of work on its own inputs; throughput is work per second of wall time, and
the ratio N-threads / 1-thread is the speed-up (ideal: N on N free cores; 1.0 means the threads
ran one after another). Workloads:

1. ``forward``  — sequence forward, B=8 streams x T=512 steps, H=64 (one model shared by the threads).
2. ``value_and_grad`` — forward + exact BPTT backward on the same sizes.
3. ``two models`` — each thread has its own model (different parameters) running ``forward``.
4. ``stream.step`` — one step per call, B=1, H=64: a few microseconds of kernel per call, so the
   Python around each call (which holds the GIL) dominates and little speed-up is expected.
5. ``pure Python`` — a loop of Python arithmetic, the GIL-bound reference (ratio about 1).

Medians over repeats. The machine is shared: the load average at start and end is printed and
stored, and the ratios are only meaningful when the other cores were idle.

Run::

    python scripts/bench_threads.py                   # about a minute
    python scripts/bench_threads.py --quick           # seconds (smoke run)
    python scripts/bench_threads.py --threads 4 --out bench_results/bench_threads.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

from ssmn_rl import SSMN


def markdown_table(headers, rows) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def make_model(seed: int, hidden: int) -> SSMN:
    return SSMN("standard", input_dim=16, output_dim=4, hidden_dim=hidden, window_size=16, seed=seed)


def workloads(quick: bool, n_threads: int) -> dict:
    """name -> (factory(thread index) -> callable doing one unit of work, units of work, unit name)."""
    B, T, H = (4, 128, 32) if quick else (8, 512, 64)
    shared = make_model(0, H)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((B, T, 16)).astype(np.float32) for _ in range(n_threads)]
    targets = [rng.standard_normal((B, T, 4)).astype(np.float32) for _ in range(n_threads)]
    own = [make_model(i + 1, H) for i in range(n_threads)]
    steps = [rng.standard_normal((1, 16)).astype(np.float32) for _ in range(n_threads)]

    def fwd(i):
        return lambda: shared.forward(inputs[i])

    def vag(i):
        return lambda: shared.value_and_grad(inputs[i], targets[i])

    def two(i):
        return lambda: own[i].forward(inputs[i])

    def step(i):
        s = shared.stream(batch_size=1)
        x = steps[i]

        def run():
            for _ in range(200):
                s.step(x)
        return run

    def python(i):
        def run():
            acc = 0
            for k in range(20_000):
                acc += k * k % 7
            return acc
        return run

    return {"forward": (fwd, B * T, "tokens"), "value_and_grad": (vag, B * T, "tokens"),
            "two models": (two, B * T, "tokens"), "stream.step": (step, 200, "steps"),
            "pure Python": (python, 20_000, "iterations")}


def timed_run(factory, n_threads: int, units: int, seconds: float) -> float:
    """Work units per second with `n_threads` threads each repeating its callable for ~`seconds`."""
    calls = [factory(i) for i in range(n_threads)]
    for c in calls:  # warm-up: scratch buffers, pointers, caches
        c()
    reps = max(1, int(seconds / max(_one_call_seconds(calls[0]), 1e-6)))
    barrier = threading.Barrier(n_threads + 1)

    def worker(c):
        barrier.wait()
        for _ in range(reps):
            c()

    threads = [threading.Thread(target=worker, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return n_threads * reps * units / wall


def _one_call_seconds(call) -> float:
    t0 = time.perf_counter()
    call()
    return time.perf_counter() - t0


def bench(args) -> list[dict]:
    rows = []
    for name, (factory, units, unit) in workloads(args.quick, args.threads).items():
        one = [timed_run(factory, 1, units, args.seconds) for _ in range(args.repeats)]
        many = [timed_run(factory, args.threads, units, args.seconds) for _ in range(args.repeats)]
        r1, rn = statistics.median(one), statistics.median(many)
        rows.append({"workload": name, "unit": unit, "per_s_1_thread": r1,
                     f"per_s_{args.threads}_threads": rn, "ratio": rn / r1,
                     "repeats_1_thread": one, f"repeats_{args.threads}_threads": many})
    return rows


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="seconds-long smoke run with small sizes")
    ap.add_argument("--threads", type=int, default=2, help="threads of the parallel runs (default 2)")
    ap.add_argument("--seconds", type=float, default=None, help="length of one timed run per thread")
    ap.add_argument("--repeats", type=int, default=None, help="timed runs per configuration (median)")
    ap.add_argument("--out", default="bench_results/bench_threads.json", help="JSON output path")
    args = ap.parse_args(argv)
    if args.threads < 2:
        ap.error(f"--threads must be >= 2, got {args.threads}")
    args.seconds = args.seconds if args.seconds is not None else (0.2 if args.quick else 2.0)
    args.repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    if args.seconds <= 0 or args.repeats < 1:
        ap.error("--seconds must be > 0 and --repeats >= 1")
    return args


def write_json(results: dict, path: str) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(json.dumps(results, indent=2))
    os.replace(tmp, p)


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    meta = {"python": platform.python_version(), "numpy": np.__version__, "cpu_count": os.cpu_count(),
            "threads": args.threads, "quick": args.quick, "seconds": args.seconds, "repeats": args.repeats,
            "load_avg_start": list(os.getloadavg()), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    print(f"# Thread scaling of the SSMN ({'quick' if args.quick else 'full'} run): 1 vs "
          f"{args.threads} threads on {os.cpu_count()} logical cores\n")
    rows = bench(args)
    n = args.threads
    print(markdown_table(["workload", "unit", "1 thread /s", f"{n} threads /s", f"speed-up ({n} vs 1)"],
                         [[r["workload"], r["unit"], f"{r['per_s_1_thread']:,.0f}",
                           f"{r[f'per_s_{n}_threads']:,.0f}", f"{r['ratio']:.2f}x"] for r in rows]))
    meta["load_avg_end"] = list(os.getloadavg())
    meta["wall_s"] = time.perf_counter() - t0
    print(f"\nIdeal speed-up is {n}.00x on {n} idle cores; 1.00x means the threads ran one after "
          f"another (the GIL was held). Load average start {meta['load_avg_start'][0]:.2f}, end "
          f"{meta['load_avg_end'][0]:.2f} (other processes share these cores).")
    write_json({"meta": meta, "rows": rows}, args.out)
    print(f"Numbers written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
