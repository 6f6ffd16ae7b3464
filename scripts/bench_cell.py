"""Which cell should be the default? Every candidate cell trained on a suite of small sequence
tasks with the same model size, optimiser, steps and seeds, in one run; a table of test scores,
each candidate's mean rank, and a leave-one-task-out check of the choice.

The tasks cover what users bring (none of them is tuned for): order inside the window (`lag3`),
memory beyond the window (`first`, `retrieval`), learning inside one sequence (`mapping`: a
random symbol mapping drawn per sequence, answers fed back one step later, so only what the
fast weights learn within the sequence helps), a continuous-valued task (`adding`) and a chaotic
series (`mackey_glass`, one-step forecast). Every model: custom_split, H=32, 2 layers (one
plastic), window 4 (2 for `retrieval`, as in Ba et al.'s setting), Adam lr 3e-3 with gradient
clipping at 1, batches of 32, the same number of steps per task, float32.

Selection: a candidate's score on a task is its rank among the candidates (1 = best mean over
seeds); the default is the candidate with the best mean rank. Leave-one-task-out: for each task,
the candidate chosen on the other tasks, and where it ranks on the task left out — a default that
only wins its own benchmark shows up as a bad held-out rank.

Usage::

    python scripts/bench_cell.py                  # 3 seeds, about 15 minutes on 2 cores
    python scripts/bench_cell.py --quick          # 1 seed, fewer steps (smoke test)
    python scripts/bench_cell.py --json cell.json --tasks lag3 mapping
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from ssmn_rl import SSMN
from ssmn_rl.optim import Adam

#: Candidate cells: the flags each one sets (everything else equal).
CANDIDATES = {
    "prototype": dict(preset="prototype"),
    "pos+res": dict(preset="prototype", position_bias=True, residual=True),
    "pos+res+neuromod": dict(preset="prototype", position_bias=True, residual=True, neuromodulation=True),
    "pos+res+decay": dict(preset="prototype", position_bias=True, residual=True, learned_decay=True),
    "pos+res+both": dict(preset="prototype", position_bias=True, residual=True, neuromodulation=True,
                         learned_decay=True),
    "pos+res+rms": dict(preset="prototype", position_bias=True, residual=True, norm="rms"),
    "pos+res+layer": dict(preset="prototype", position_bias=True, residual=True, norm="layer"),
    "pos+res+layer+both": dict(preset="prototype", position_bias=True, residual=True, norm="layer",
                               neuromodulation=True, learned_decay=True),
    "pos+res+delta": dict(preset="prototype", position_bias=True, residual=True, rule="delta"),
    # does plasticity pay? the default cell without plastic layers (the same layer count: static
    # layers instead; not in the default run, ask with --candidates)
    "default, rho=0": dict(preset="default", plastic_ratio=0.0),
    # the default cell without the clip of W_f: the hebbian rule's chunkwise (GEMM) path needs it
    # (not in the default run, ask with --candidates)
    "default, clip=inf": dict(preset="default", clip=math.inf),
    # the default cell with the delta rule, with the clip at 1 and without it (its chunkwise path)
    "default+delta, clip=1": dict(preset="default", rule="delta", clip=1.0),
    "default+delta, clip=inf": dict(preset="default", rule="delta", clip=math.inf),
}
#: Asked for with --candidates only: questions about one option of the chosen cell.
EXTRA_CANDIDATES = ("default, rho=0", "default, clip=inf", "default+delta, clip=1", "default+delta, clip=inf")
DEFAULT_CANDIDATES = [c for c in CANDIDATES if c not in EXTRA_CANDIDATES]


# ----------------------------------------------------------------------------- tasks
# Each task: make(rng, n) -> (X (n,T,D), Y targets, mask (n,T)), its loss, output size and a
# score(Y_pred, Y, mask) where higher is better (accuracy, or negative MSE).
def _one_hot(ids, n):
    return np.eye(n, dtype=np.float32)[ids]


def make_lag3(rng, n, V=10, T=11, lag=3):
    ids = rng.integers(0, V, (n, T))
    Y = np.zeros((n, T), np.int64)
    Y[:, -1] = ids[:, T - 1 - lag]
    mask = np.zeros((n, T))
    mask[:, -1] = 1
    return _one_hot(ids, V), Y, mask


def make_first(rng, n, V=10, T=11):
    ids = rng.integers(0, V, (n, T))
    Y = np.zeros((n, T), np.int64)
    Y[:, -1] = ids[:, 0]
    mask = np.zeros((n, T))
    mask[:, -1] = 1
    return _one_hot(ids, V), Y, mask


def make_retrieval(rng, n, n_pairs=4, n_keys=8, n_vals=8):
    """Ba et al.'s associative retrieval: k1 v1 k2 v2 ... ? ? q -> value stored under q."""
    V = n_keys + n_vals + 1
    T = 2 * n_pairs + 3
    ids = np.full((n, T), n_keys + n_vals)  # '?' token
    Y = np.zeros((n, T), np.int64)
    for i in range(n):
        keys = rng.choice(n_keys, n_pairs, replace=False)
        vals = rng.integers(0, n_vals, n_pairs)
        ids[i, 0:2 * n_pairs:2] = keys
        ids[i, 1:2 * n_pairs:2] = n_keys + vals
        q = rng.integers(0, n_pairs)
        ids[i, -1] = keys[q]
        Y[i, -1] = vals[q]
    mask = np.zeros((n, T))
    mask[:, -1] = 1
    return _one_hot(ids, V), Y, mask


def make_mapping(rng, n, K=4, T=24):
    """Within-sequence learning: f, a random permutation of K symbols drawn per sequence; input
    one-hot(x_t) and one-hot(f(x_{t-1})) (the last answer, fed back); target f(x_t), scored on
    the second half, where every symbol has usually been answered before."""
    X = np.zeros((n, T, 2 * K), np.float32)
    Y = np.zeros((n, T), np.int64)
    for i in range(n):
        f = rng.permutation(K)
        xs = rng.integers(0, K, T)
        X[i, np.arange(T), xs] = 1
        X[i, np.arange(1, T), K + f[xs[:-1]]] = 1
        Y[i] = f[xs]
    mask = np.zeros((n, T))
    mask[:, T // 2:] = 1
    return X, Y, mask


def make_adding(rng, n, T=20):
    X = np.zeros((n, T, 2), np.float32)
    X[:, :, 0] = rng.uniform(0, 1, (n, T))
    Y = np.zeros((n, T, 1), np.float32)
    for i in range(n):
        a, b = rng.choice(T - 2, 2, replace=False)
        X[i, [a, b], 1] = 1
        Y[i, -1, 0] = X[i, a, 0] + X[i, b, 0]
    mask = np.zeros((n, T))
    mask[:, -1] = 1
    return X, Y, mask


def _mackey_glass(n_steps, rng, tau=17, beta=0.2, gamma=0.1, p=10, dt=1.0):
    hist = list(1.2 + 0.1 * rng.standard_normal(tau + 1))
    out = []
    for _ in range(n_steps):
        x, xt = hist[-1], hist[-1 - tau]
        hist.append(x + dt * (beta * xt / (1 + xt ** p) - gamma * x))
        out.append(hist[-1])
    return np.array(out)


def make_mackey_glass(rng, n, T=60):
    """Windows of a Mackey-Glass series (tau 17, sampled every 3 steps): predict the next value."""
    series = _mackey_glass(3 * (n * 8 + T + 400), rng)[1200::3]
    series = (series - series.mean()) / series.std()
    starts = rng.integers(0, len(series) - T - 1, n)
    X = np.stack([series[s:s + T] for s in starts])[..., None].astype(np.float32)
    Y = np.stack([series[s + 1:s + T + 1] for s in starts])[..., None].astype(np.float32)
    mask = np.ones((n, T))
    mask[:, :T // 4] = 0  # warm-up steps are not scored
    return X, Y, mask


def _accuracy(Yp, Y, mask):
    return float(((Yp.argmax(-1) == Y) * mask).sum() / mask.sum())


def _neg_mse(Yp, Y, mask):
    return -float((((Yp - Y) ** 2).sum(-1) * mask).sum() / mask.sum())


TASKS = {
    "lag3": (make_lag3, "cross_entropy", 10, _accuracy, {}),
    "first": (make_first, "cross_entropy", 10, _accuracy, {}),
    "retrieval": (make_retrieval, "cross_entropy", 8, _accuracy, {"window_size": 2}),
    "mapping": (make_mapping, "cross_entropy", 4, _accuracy, {}),
    "adding": (make_adding, "mse", 1, _neg_mse, {}),
    "mackey_glass": (make_mackey_glass, "mse", 1, _neg_mse, {}),
}


def run_one(task: str, cand: str, seed: int, steps: int, n_train: int, n_test: int) -> dict:
    make, loss, d_out, score, extra = TASKS[task]
    data_rng = np.random.default_rng(1000 + seed)
    Xtr, Ytr, Mtr = make(data_rng, n_train)
    Xte, Yte, Mte = make(data_rng, n_test)
    kw = dict(input_dim=Xtr.shape[-1], output_dim=d_out, hidden_dim=32, n_layers=2, plastic_ratio=0.5,
              window_size=4, plasticity_eta=0.1, decay_lambda=0.01, seed=seed)
    kw.update(extra)
    kw.update(CANDIDATES[cand])
    m = SSMN("custom_split", **kw)
    opt = Adam(m.n_parameters, lr=3e-3, max_grad_norm=1.0)
    theta = m.get_parameters()
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    for _ in range(steps):
        idx = rng.integers(0, n_train, 32)
        _, grad = m.value_and_grad(Xtr[idx], Ytr[idx], loss=loss, mask=Mtr[idx])
        theta = opt.step(theta, grad)
        m.set_parameters(theta)
    train_s = time.perf_counter() - t0
    return {"score": score(m.forward(Xte), Yte, Mte), "train_s": train_s, "n_params": m.n_parameters}


def _ranks(means: dict) -> dict:
    """Rank 1 = highest mean; ties (e.g. every cell at accuracy 1.0) share their average rank."""
    return {c: 1 + sum(m > means[c] for m in means.values()) + (sum(m == means[c] for m in means.values()) - 1) / 2
            for c in means}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=600, help="optimiser steps per task (default 600)")
    p.add_argument("--quick", action="store_true", help="1 seed, 60 steps")
    p.add_argument("--tasks", nargs="+", choices=sorted(TASKS), default=list(TASKS))
    p.add_argument("--candidates", nargs="+", choices=list(CANDIDATES), default=DEFAULT_CANDIDATES)
    p.add_argument("--json", type=str, default=None, help="write the results here")
    p.add_argument("--report", type=str, default=None, help="only print the table of an earlier --json")
    a = p.parse_args(argv)
    seeds, steps = (1, 60) if a.quick else (a.seeds, a.steps)
    if a.report:
        with open(a.report) as f:
            old = json.load(f)
        results, seeds, steps = old["results"], old["seeds"], old["steps"]
        a.tasks, a.candidates, a.json = list(results), list(next(iter(results.values()))), None
    else:
        results = {t: {c: [] for c in a.candidates} for t in a.tasks}
        for task in a.tasks:
            for cand in a.candidates:
                for seed in range(seeds):
                    r = run_one(task, cand, seed, steps, n_train=4000, n_test=1000)
                    results[task][cand].append(r)
                    print(f"  {task:13s} {cand:18s} seed {seed}: score {r['score']:+.4f} "
                          f"({r['train_s']:.1f} s)", file=sys.stderr, flush=True)

    means = {t: {c: float(np.mean([r["score"] for r in results[t][c]])) for c in a.candidates} for t in a.tasks}
    stds = {t: {c: float(np.std([r["score"] for r in results[t][c]])) for c in a.candidates} for t in a.tasks}
    ranks = {t: _ranks(means[t]) for t in a.tasks}
    mean_rank = {c: float(np.mean([ranks[t][c] for t in a.tasks])) for c in a.candidates}
    chosen = min(a.candidates, key=lambda c: mean_rank[c])
    loto = {}
    for held in a.tasks:
        others = [t for t in a.tasks if t != held]
        pick = min(a.candidates, key=lambda c: np.mean([ranks[t][c] for t in others])) if others else chosen
        loto[held] = {"chosen_on_others": pick, "rank_on_held_out": ranks[held][pick]}

    width = max(len(c) for c in a.candidates)
    print(f"\nscores (higher is better: accuracy, or -MSE), mean ± std over {seeds} seed(s), {steps} steps")
    print(f"{'cell':{width}s} " + " ".join(f"{t:>17s}" for t in a.tasks) + "  mean rank  s/task")
    for c in a.candidates:
        cells = " ".join(f"{means[t][c]:+8.3f} ± {stds[t][c]:5.3f}" for t in a.tasks)
        sec = np.mean([r["train_s"] for t in a.tasks for r in results[t][c]])
        print(f"{c:{width}s} {cells}  {mean_rank[c]:9.2f}  {sec:6.1f}")
    print(f"\nchosen (best mean rank): {chosen}")
    print("leave-one-task-out: " + ", ".join(
        f"{t} -> {v['chosen_on_others']} (rank {v['rank_on_held_out']})" for t, v in loto.items()))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"seeds": seeds, "steps": steps, "candidates": CANDIDATES, "results": results,
                       "means": means, "stds": stds, "ranks": ranks, "mean_rank": mean_rank,
                       "chosen": chosen, "leave_one_task_out": loto}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
