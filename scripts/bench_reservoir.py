"""Which cell for an untrained network? The ridge read-out (``solver="ridge"``: a randomly drawn
SSMN used as a reservoir, only a linear read-out fitted) with the prototype's cell against the
default cell (position bias and residual path), on standard reservoir-computing tasks, side by
side in one run.

A reservoir is never trained, so the zero-initialised position bias does nothing there; the
residual path adds the current encoding to the attention output, which changes the features. The
tasks: ``moving_average`` (mean of the last 5 inputs, the estimator tutorial's example),
``delay3`` (the input 3 steps back), ``narma10`` (the NARMA-10 system, Atiya & Parlos 2000) and
``mackey_glass`` (one-step forecast of the chaotic series). Each: SSMNRegressor(solver="ridge",
ridge_alpha="auto"), 3 input features (the signal and 2 distractors for the first two), 2000
training rows, 500 held-out rows scored from a fresh state; held-out R^2, mean ± std over seeds.

Usage::

    python scripts/bench_reservoir.py [--seeds 3] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ssmn_rl.estimators import SSMNRegressor

N_TRAIN, N_TEST = 2000, 500


def moving_average(rng, n):
    X = rng.standard_normal((n, 3))
    return X, np.convolve(X[:, 0], np.ones(5) / 5, mode="full")[:n]


def delay3(rng, n):
    X = rng.standard_normal((n, 3))
    return X, np.concatenate([np.zeros(3), X[:-3, 0]])


def narma10(rng, n):
    u = rng.uniform(0, 0.5, n + 10)
    y = np.zeros(n + 10)
    for t in range(10, n + 9):
        y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * y[t - 9:t + 1].sum() + 1.5 * u[t - 9] * u[t] + 0.1
    return u[10:, None], y[10:]


def mackey_glass(rng, n, tau=17):
    hist = list(1.2 + 0.05 * rng.standard_normal(tau + 1))
    for _ in range(3 * (n + 1) + 300):
        x, xt = hist[-1], hist[-1 - tau]
        hist.append(x + 0.2 * xt / (1 + xt ** 10) - 0.1 * x)
    s = np.array(hist[-3 * (n + 1)::3])
    return s[:-1, None], s[1:]


TASKS = {"moving_average": moving_average, "delay3": delay3, "narma10": narma10, "mackey_glass": mackey_glass}
CELLS = {"prototype": "prototype", "default": "default"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    res = {t: {c: [] for c in CELLS} for t in TASKS}
    for task, make in TASKS.items():
        for seed in range(a.seeds):
            X, y = make(np.random.default_rng(seed), N_TRAIN + N_TEST)
            for cell, preset in CELLS.items():
                model = make_pipeline(StandardScaler(), SSMNRegressor(solver="ridge", ridge_alpha="auto",
                                                                      preset=preset, random_state=seed))
                model.fit(X[:N_TRAIN], y[:N_TRAIN])
                res[task][cell].append(float(model.score(X[N_TRAIN:], y[N_TRAIN:])))
    print(f"held-out R^2 of the ridge read-out, mean ± std over {a.seeds} seeds")
    print(f"{'task':16s} " + " ".join(f"{c:>17s}" for c in CELLS))
    for task in TASKS:
        print(f"{task:16s} " + " ".join(f"{np.mean(res[task][c]):8.3f} ± {np.std(res[task][c]):5.3f}"
                                         for c in CELLS))
    wins = sum(np.mean(res[t]["prototype"]) > np.mean(res[t]["default"]) for t in TASKS)
    print(f"\nthe prototype's cell is ahead on {wins} of {len(TASKS)} tasks")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
