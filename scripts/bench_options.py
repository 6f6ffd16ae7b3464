"""What each cell option costs: streaming latency and training throughput of the SSMN with every
option off (the prototype's cell), each option alone, the default cell and everything on, side by
side in one run, as ratios to the all-off cell.

Measured at (H, w) = (128, 64), D_in = 32, D_out = 8, 5 layers (the Standard 80/20 split), float32,
one thread: streaming is ``forward_step`` on one stream with a full window (microseconds per
token); training is ``value_and_grad`` on B=16 streams of T=128 steps (tokens per second). The
configurations are timed round-robin, several rounds, medians, so a busy moment of the shared
machine hits them all alike.

``--baseline-python PATH`` also times the all-off cell with another installation of ssmn_rl (for
example a virtual environment of an earlier commit) in a subprocess, interleaved with this one's,
to check that streaming with every option off stayed as fast as before the options existed.

Usage::

    python scripts/bench_options.py
    python scripts/bench_options.py --baseline-python /tmp/base/.venv/bin/python --json opts.json
    python scripts/bench_options.py --quick
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("SSMN_NUM_THREADS", "1")

import numpy as np  # noqa: E402

CONFIGS = {
    "all off (prototype)": dict(preset="prototype"),
    "position_bias": dict(preset="prototype", position_bias=True),
    "residual": dict(preset="prototype", residual=True),
    "neuromodulation": dict(preset="prototype", neuromodulation=True),
    "learned_decay": dict(preset="prototype", learned_decay=True),
    "norm=rms": dict(preset="prototype", norm="rms"),
    "norm=layer": dict(preset="prototype", norm="layer"),
    "default cell": dict(),
    "everything on": dict(position_bias=True, residual=True, neuromodulation=True, learned_decay=True,
                          norm="layer"),
}
SHAPE = dict(input_dim=32, output_dim=8, hidden_dim=128, window_size=64, n_layers=5)

# Timing code shared with the baseline subprocess: it must run against any ssmn_rl version, so it
# only uses the public API that every version has.
TIMER = r"""
import json, sys, time
import numpy as np
from ssmn_rl import SSMN
kw, n_stream, B, T = json.loads(sys.argv[1])
m = SSMN(**kw, seed=0)
rng = np.random.default_rng(0)
xs = rng.standard_normal((n_stream + kw["window_size"], kw["input_dim"])).astype(np.float32)
for x in xs[:kw["window_size"]]:
    m.forward_step(x)
t0 = time.perf_counter()
for x in xs[kw["window_size"]:]:
    m.forward_step(x)
stream_us = (time.perf_counter() - t0) / n_stream * 1e6
X = rng.standard_normal((B, T, kw["input_dim"])).astype(np.float32)
Y = rng.standard_normal((B, T, kw["output_dim"])).astype(np.float32)
m.value_and_grad(X, Y)
t0 = time.perf_counter()
m.value_and_grad(X, Y)
train_tps = B * T / (time.perf_counter() - t0)
print(json.dumps({"stream_us": stream_us, "train_tps": train_tps, "n_params": m.n_parameters}))
"""


def time_one(python: str, kw: dict, n_stream: int, B: int, T: int) -> dict:
    # from a neutral folder: `python -c` puts the working directory first on sys.path, which would
    # make the baseline interpreter import this checkout's ssmn_rl instead of its own
    out = subprocess.run([python, "-c", TIMER, json.dumps([kw, n_stream, B, T])], capture_output=True,
                         text=True, check=True, cwd=tempfile.gettempdir(),
                         env={**os.environ, "OMP_NUM_THREADS": "1", "SSMN_NUM_THREADS": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="2 rounds, short streams")
    p.add_argument("--baseline-python", default=None,
                   help="a Python whose ssmn_rl is the baseline for the all-off cell")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    rounds, n_stream, B, T = (2, 300, 4, 64) if a.quick else (a.rounds, 2000, 16, 128)
    runs = {name: [] for name in CONFIGS}
    if a.baseline_python:
        runs["baseline: all off"] = []
    for r in range(rounds):
        for name, flags in CONFIGS.items():
            runs[name].append(time_one(sys.executable, {**SHAPE, **flags}, n_stream, B, T))
        if a.baseline_python:  # the earlier version has no preset argument: its default was all off
            runs["baseline: all off"].append(time_one(a.baseline_python, dict(SHAPE), n_stream, B, T))
        print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)

    ref = "all off (prototype)"
    med = {n: {k: statistics.median(x[k] for x in v) for k in ("stream_us", "train_tps", "n_params")}
           for n, v in runs.items()}
    print(f"\n(H, w) = ({SHAPE['hidden_dim']}, {SHAPE['window_size']}), float32, 1 thread, "
          f"medians of {rounds} rounds")
    print(f"{'cell':22s} {'params':>8s} {'stream us/token':>16s} {'x all-off':>10s} "
          f"{'train tokens/s':>15s} {'x all-off':>10s}")
    for n, v in med.items():
        print(f"{n:22s} {int(v['n_params']):8d} {v['stream_us']:16.1f} "
              f"{v['stream_us'] / med[ref]['stream_us']:10.3f} {v['train_tps']:15.0f} "
              f"{v['train_tps'] / med[ref]['train_tps']:10.3f}")
    if a.baseline_python:
        if med["baseline: all off"]["n_params"] != med[ref]["n_params"]:
            print("WARNING: the baseline's model has another parameter count; is it the old default cell?")
        ratio = med[ref]["stream_us"] / med["baseline: all off"]["stream_us"]
        print(f"\nall-off streaming latency vs the baseline installation: {ratio:.3f}x "
              f"({'within' if ratio <= 1.10 else 'MORE than'} 10%)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"shape": SHAPE, "rounds": rounds, "configs": CONFIGS, "runs": runs, "medians": med}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
