"""Regenerate the figures of the docs and the README (docs/img/*.png) from real runs.

Every figure comes from the ``ssmn-rl`` command line, run in this process, on a fresh run:

1. ``ssmn-rl train`` (the quickstart's main job: ES on ssmn/StatelessCartPole-v0, seed 0)
   -> ``learning_curve_es.png`` (returns against env steps), ``synaptic_state_es.png``
   (the policy's fast weights after one evaluation episode);
2. ``ssmn-rl recall`` (supervised recall of a value three attention windows back)
   -> ``recall_curve.png`` (loss and held-out accuracy), ``synaptic_state_recall.png`` and
   ``stream_recall.png`` (attention entropy, synaptic energy and update magnitude over one
   recall sequence, ``ssmn-rl plot stream``);
3. ``ssmn-rl plot forecast`` on a Mackey-Glass series (tau = 17) generated here
   -> ``forecast_mackey_glass.png`` (rolling one-step and 100-step recursive forecasts against the
   truth).

Run from the repository root::

    python scripts/make_figures.py                 # writes docs/img/*.png (about a minute)
    python scripts/make_figures.py --quick --out /tmp/figs   # small budgets, a smoke run

The figures are saved at a low resolution (``--dpi``, default 70) so that they stay small enough
to commit. Every run is seeded (seed 0).
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


def mackey_glass(n: int, tau: int = 17, beta: float = 0.2, gamma: float = 0.1, power: float = 10.0,
                 dt: float = 0.1, x0: float = 1.2, discard: int = 500) -> np.ndarray:
    """`n` samples, one per time unit, of dx/dt = beta x(t-tau) / (1 + x(t-tau)^power) - gamma x(t),
    integrated with Euler steps of `dt` from a constant history x0; the first `discard` time units
    (the transient) are dropped."""
    per_unit = int(round(1 / dt))
    lag = int(round(tau / dt))
    steps = (n + discard) * per_unit
    x = np.empty(steps + lag)
    x[:lag + 1] = x0
    for i in range(lag, steps + lag - 1):
        delayed = x[i - lag]
        x[i + 1] = x[i] + dt * (beta * delayed / (1 + delayed ** power) - gamma * x[i])
    return x[lag::per_unit][discard:discard + n]


def run(argv: list[str]) -> None:
    """One ``ssmn-rl`` command in this process; stop the script if it fails."""
    from ssmn_rl.cli import main

    print("$ ssmn-rl " + " ".join(argv), flush=True)
    code = main(argv)
    if code != 0:
        sys.exit(f"ssmn-rl {argv[0]} failed with status {code}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "docs" / "img", help="folder of the PNGs")
    ap.add_argument("--dpi", type=int, default=70, help="resolution of the PNGs")
    ap.add_argument("--quick", action="store_true", help="small budgets (a smoke run, not for the docs)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    dpi = ["--dpi", str(args.dpi)]
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        # 1. the quickstart's main job
        train = ["train", "--out", str(tmp / "runs"), "--no-progress", "--seed", "0"]
        if args.quick:
            train += ["--total-timesteps", "6000", "--eval-episodes", "2", "--algo-kwargs", '{"population_size": 8}']
        run(train)
        (es_run,) = (tmp / "runs").iterdir()
        run(["plot", "curve", str(es_run), "--out", str(args.out / "learning_curve_es.png"), *dpi])
        run(["plot", "synapses", str(es_run), "--out", str(args.out / "synaptic_state_es.png"), *dpi])
        # 2. recall beyond the attention window
        recall = tmp / "recall"
        run(["recall", "--out", str(recall), "--quiet"] + (["--iterations", "20"] if args.quick else []))
        run(["plot", "curve", str(recall), "--out", str(args.out / "recall_curve.png"), *dpi])
        run(["plot", "synapses", str(recall), "--out", str(args.out / "synaptic_state_recall.png"), *dpi])
        run(["plot", "stream", str(recall), "--out", str(args.out / "stream_recall.png"), *dpi])
        # 3. forecasting a chaotic series
        n_test = 50 if args.quick else 100
        series = mackey_glass(600 if args.quick else 3000)
        csv = tmp / "mackey_glass.csv"
        np.savetxt(csv, series, header="x", comments="", fmt="%.8f")
        run(["plot", "forecast", str(csv), "--test", str(n_test), "--lags", "8", "--hidden", "64",
             "--out", str(args.out / "forecast_mackey_glass.png"), *dpi])
    sizes = {p.name: p.stat().st_size for p in sorted(args.out.glob("*.png"))}
    print(f"\nwrote {len(sizes)} figures to {args.out} in {time.time() - t0:.0f} s:")
    for name, size in sizes.items():
        print(f"  {name:<28} {size / 1024:6.1f} KiB")


if __name__ == "__main__":
    main()
