"""The estimators with their defaults, against their peers, on tasks they were not tuned on.

Sequence tasks (``SSMNClassifier()`` / ``SSMNRegressor()``, against a PyTorch GRU trained for the
same wall-clock time with the same number of threads):

* ``k_back``   token ids (V=10, T=11), label: the token 2 steps before the last;
* ``first``    token ids (V=10, T=11), label: the first token;
* ``assoc``    associative retrieval in Ba et al.'s (2016) format, e.g. ``c9k8j3f1??c`` -> 9: four
               key-value pairs (letters, digits), ``??``, a key; label: its value;
* ``adding``   real (T=30, 2): values in [0, 1] and a marker channel with two ones; target: the
               sum of the two marked values (regression; "accuracy" is the share with |error| <
               0.04);
* ``xor``      bits (T=12), label: the XOR of the bits 3 and 4 steps before the last;
* ``copy``     token ids (V=8, T=20), one label per step: the token 5 steps before (a delay
               line); accuracy over the steps that have one;
* ``digits``   scikit-learn's 8x8 digits read row by row (T=8, 8 features), 10 classes.

Token tasks are given to the SSMN as integer ids (``variant="text_native"``) and to the GRU
through an embedding; real tasks as arrays (n, T, F).

Series (``SSMNForecaster()``, against ridge on lags, ARIMA and ETS from statsmodels and an
echo-state network from reservoirpy, when installed): Mackey-Glass, Lorenz, Hénon, Rössler, a
noisy seasonal series with a trend (generated here), and sunspots, CO2, El Niño, Nile, US
unemployment and US inflation (statsmodels' datasets). Each series is cut, in time order, into a
training part and a test segment; the peers choose their settings from small grids on the tail of
the training part (``bench_timeseries.select``); the SSMN uses its defaults. Errors are NRMSE of
1-step rolling forecasts and of the h-th step of h-step recursive forecasts (h: the series'
horizon).

``--loto`` chooses the estimators' defaults by leave-one-task-out over a small candidate grid
(``SEQ_CANDIDATES``, ``SERIES_CANDIDATES``): for each held-out task, the candidate with the best
mean rank on the other tasks, and how it does on the held-out one.

    python scripts/bench_estimators.py [--budget 10] [--n-train 3000] [--assoc-n 20000]
        [--series-scale 1.0] [--only seq|series] [--loto] [--threads 1] [--out DIR]
"""
from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ssmn_rl.estimators import SSMNClassifier, SSMNForecaster, SSMNRegressor

HERE = Path(__file__).resolve().parent


def _bench_timeseries():
    spec = importlib.util.spec_from_file_location("bench_timeseries", HERE / "bench_timeseries.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ================================================================================= sequence tasks
# Each returns (X, y, kind, extra): X token ids (N, T) or reals (N, T, F); kind "tokens" or "real";
# y (N,) labels, (N,) floats (adding) or (N, T) per-step labels (copy); extra: scoring details.

def task_k_back(n, rng, k=2, V=10, T=11):
    ids = rng.integers(0, V, (n, T))
    return ids, ids[:, -1 - k], "tokens", {"V": V}


def task_first(n, rng, V=10, T=11):
    ids = rng.integers(0, V, (n, T))
    return ids, ids[:, 0], "tokens", {"V": V}


def task_assoc(n, rng, pairs=4):
    """Ba et al. (2016): ids 0-25 letters, 26-35 digits, 36 '?'; keys distinct within a sequence."""
    keys = np.argsort(rng.random((n, 26)), axis=1)[:, :pairs]
    vals = rng.integers(0, 10, (n, pairs))
    q = rng.integers(0, pairs, n)
    seq = np.empty((n, 2 * pairs + 3), np.int64)
    seq[:, 0:2 * pairs:2], seq[:, 1:2 * pairs:2] = keys, 26 + vals
    seq[:, 2 * pairs:2 * pairs + 2] = 36
    seq[:, -1] = keys[np.arange(n), q]
    return seq, vals[np.arange(n), q], "tokens", {"V": 37}


def task_adding(n, rng, T=30):
    X = np.zeros((n, T, 2))
    X[:, :, 0] = rng.random((n, T))
    a = rng.integers(0, T // 2, n)
    b = rng.integers(T // 2, T, n)
    X[np.arange(n), a, 1] = X[np.arange(n), b, 1] = 1.0
    return X, X[np.arange(n), a, 0] + X[np.arange(n), b, 0], "real", {"regression": True, "tol": 0.04}


def task_xor(n, rng, T=12):
    bits = rng.integers(0, 2, (n, T))
    return bits, bits[:, -4] ^ bits[:, -5], "tokens", {"V": 2}


def task_copy(n, rng, V=8, T=20, delay=5):
    ids = rng.integers(0, V, (n, T))
    y = np.full((n, T), V)  # V: "nothing to copy yet"
    y[:, delay:] = ids[:, :-delay]
    return ids, y, "tokens", {"V": V, "per_step": True, "from_step": delay}


def task_digits(n, rng):
    from sklearn.datasets import load_digits

    d = load_digits()
    order = rng.permutation(len(d.target))
    return d.images[order] / 16.0, d.target[order], "real", {}


SEQ_TASKS = {"k_back": task_k_back, "first": task_first, "assoc": task_assoc, "adding": task_adding,
             "xor": task_xor, "copy": task_copy, "digits": task_digits}


def accuracy(pred, y, extra) -> float:
    if extra.get("regression"):
        return float(np.mean(np.abs(np.asarray(pred) - y) < extra["tol"]))
    if extra.get("per_step"):
        s = extra["from_step"]
        return float(np.mean(np.asarray(pred)[:, s:] == y[:, s:]))
    return float(np.mean(np.asarray(pred) == y))


def ssmn_sequence(X, y, kind, extra, budget, seed, params):
    """The estimator with its defaults (and ``params``), trained for at most ``budget`` seconds."""
    kw = dict(params, max_time=budget, max_iter=100000, random_state=seed)
    if kind == "tokens":
        kw["variant"] = "text_native"
    if extra.get("per_step"):
        kw["target"] = "step"
    cls = SSMNRegressor if extra.get("regression") else SSMNClassifier
    return cls(**kw).fit(X, y)


def gru_sequence(X, y, kind, extra, budget, seed, hidden=64, lr=3e-3, batch=64):
    """A one-layer GRU (embedding for token ids), Adam, trained until ``budget`` seconds pass."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    reg, per_step = bool(extra.get("regression")), bool(extra.get("per_step"))
    n_out = 1 if reg else int(y.max()) + 1
    inp = nn.Embedding(extra["V"], hidden) if kind == "tokens" else nn.Linear(X.shape[-1], hidden)
    gru, head = nn.GRU(hidden, hidden, batch_first=True), nn.Linear(hidden, n_out)
    params = [*inp.parameters(), *gru.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=lr)
    Xt = torch.as_tensor(X, dtype=torch.long if kind == "tokens" else torch.float32)
    yt = torch.as_tensor(y, dtype=torch.float32 if reg else torch.long)

    def forward(xb):
        out, _ = gru(inp(xb))
        return head(out if per_step else out[:, -1])

    t0, steps, rng = time.perf_counter(), 0, np.random.default_rng(seed)
    while time.perf_counter() - t0 < budget:
        for b0 in range(0, len(X), batch):
            idx = torch.as_tensor(rng.permutation(len(X))[:batch])
            z = forward(Xt[idx])
            loss = (nn.functional.mse_loss(z[:, 0], yt[idx]) if reg else
                    nn.functional.cross_entropy(z.reshape(-1, n_out), yt[idx].reshape(-1)))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            steps += 1
            if time.perf_counter() - t0 >= budget:
                break

    class Fitted:
        def predict(self, Xq):
            with torch.no_grad():
                z = forward(torch.as_tensor(Xq, dtype=Xt.dtype))
            return z[:, 0].numpy() if reg else z.argmax(-1).numpy()

    fitted = Fitted()
    fitted.steps = steps
    return fitted


def run_sequence_task(name, args, params=None, peers=True, log=print):
    rng = np.random.default_rng(args.seed)
    n_train = args.assoc_n if name == "assoc" else args.n_train
    n_test = max(200, n_train // 10)
    X, y, kind, extra = SEQ_TASKS[name](n_train + n_test, rng)
    n_train = min(n_train, len(X) - min(n_test, len(X) // 4))  # digits has 1797 images
    Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    row = dict(task=name, n_train=int(n_train), n_test=int(len(Xte)), budget_s=args.budget,
               params={k: str(v) for k, v in (params or {}).items()})
    t0 = time.perf_counter()
    est = ssmn_sequence(Xtr, ytr, kind, extra, args.budget, args.seed, params or {})
    row["ssmn_fit_s"] = time.perf_counter() - t0
    row["ssmn_epochs"] = int(est.n_iter_)
    row["ssmn_acc"] = accuracy(est.predict(Xte), yte, extra)
    if peers:
        t0 = time.perf_counter()
        gru = gru_sequence(Xtr, ytr, kind, extra, args.budget, args.seed)
        row["gru_fit_s"] = time.perf_counter() - t0
        row["gru_steps"] = gru.steps
        row["gru_acc"] = accuracy(gru.predict(Xte), yte, extra)
        row["ratio"] = row["ssmn_acc"] / max(row["gru_acc"], 1e-12)
    log(f"  {name:<8} n={n_train:<6} SSMN {row['ssmn_acc']:.3f} ({row['ssmn_fit_s']:.1f} s, "
        f"{row['ssmn_epochs']} epochs)" + (f"  GRU {row['gru_acc']:.3f} ({row['gru_fit_s']:.1f} s, "
                                           f"{row['gru_steps']} steps)" if peers else "")
        + (f"  {params}" if params else ""))
    return row


# ================================================================================= series
def lorenz(n, dt=0.01, sample=5, seed=0):
    rng = np.random.default_rng(seed)
    s = np.array([1.0, 1.0, 1.0]) + 0.01 * rng.standard_normal(3)
    f = lambda v: np.array([10 * (v[1] - v[0]), v[0] * (28 - v[2]) - v[1], v[0] * v[1] - 8 / 3 * v[2]])
    out = np.empty(n)
    for i in range(1000 + n * sample):  # RK4; 1000 transient steps
        k1 = f(s)
        k2 = f(s + dt / 2 * k1)
        k3 = f(s + dt / 2 * k2)
        k4 = f(s + dt * k3)
        s = s + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        j = i - 1000
        if j >= 0 and j % sample == 0:
            out[j // sample] = s[0]
    return out


def rossler(n, dt=0.05, sample=4):
    s = np.array([1.0, 1.0, 0.0])
    f = lambda v: np.array([-v[1] - v[2], v[0] + 0.2 * v[1], 0.2 + v[2] * (v[0] - 5.7)])
    out = np.empty(n)
    for i in range(2000 + n * sample):
        k1 = f(s)
        k2 = f(s + dt / 2 * k1)
        k3 = f(s + dt / 2 * k2)
        k4 = f(s + dt * k3)
        s = s + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        j = i - 2000
        if j >= 0 and j % sample == 0:
            out[j // sample] = s[0]
    return out


def henon(n):
    x, y, out = 0.1, 0.0, np.empty(n)
    for i in range(n + 100):
        x, y = 1 - 1.4 * x * x + y, 0.3 * x
        if i >= 100:
            out[i - 100] = x
    return out


def seasonal(n, seed=0):
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return 0.01 * t + np.sin(2 * np.pi * t / 12) + 0.5 * np.sin(2 * np.pi * t / 52) + \
        0.2 * rng.standard_normal(n)


def load_series(scale: float):
    """name -> dict(series, n_test, h, season)."""
    ts = _bench_timeseries()
    n = lambda k: max(300, int(k * scale))
    out = {"mackey_glass": dict(series=ts.mackey_glass(n(2000)), h=50, season=None),
           "lorenz": dict(series=lorenz(n(2000)), h=10, season=None),
           "henon": dict(series=henon(n(1500)), h=3, season=None),
           "rossler": dict(series=rossler(n(2000)), h=20, season=None),
           "seasonal": dict(series=seasonal(n(1000)), h=12, season=12)}
    for spec in out.values():
        spec["n_test"] = max(100, len(spec["series"]) // 5)
    try:
        import statsmodels.api as sm
    except ImportError:
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = sm.datasets
        sun = d.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(float)
        co2 = d.co2.load_pandas().data["co2"].resample("MS").mean().ffill().to_numpy(float)
        elnino = d.elnino.load_pandas().data.iloc[:, 1:].to_numpy(float).ravel()
        nile = d.nile.load_pandas().data["volume"].to_numpy(float)
        macro = d.macrodata.load_pandas().data
    out["sunspots"] = dict(series=sun, n_test=60, h=11, season=11)
    out["co2"] = dict(series=co2, n_test=120, h=12, season=12)
    out["elnino"] = dict(series=elnino, n_test=120, h=12, season=12)
    out["nile"] = dict(series=nile, n_test=20, h=5, season=None)
    out["unemployment"] = dict(series=macro["unemp"].to_numpy(float), n_test=40, h=4, season=4)
    out["inflation"] = dict(series=macro["infl"].to_numpy(float), n_test=40, h=4, season=4)
    return out


class SSMNDefault:
    """``SSMNForecaster(**params)`` as a bench_timeseries model (defaults unless ``params``)."""

    def __init__(self, **params):
        self.params = params

    def fit(self, train):
        own = {k: v for k, v in self.params.items() if k in ("lags", "differences")}
        reg = {k: v for k, v in self.params.items() if k not in own}
        f = SSMNForecaster(random_state=0, **own)
        if reg:
            f.set_params(regressor=SSMNForecaster.default_regressor(**reg))
        self.f = f.fit(train)
        return self

    def one_step(self, test):
        return self.f.predict_stream(test)[:, 0]

    def multi(self, test, h, origins):
        stride = origins[1] - origins[0] if len(origins) > 1 else 1
        return self.f.predict_stream(test, horizon=h, stride=stride)[: len(origins)]


def peer_grids(season, small: bool):
    ts = _bench_timeseries()
    g = ts._grid
    peers = {"ridge on lags": (ts.LagRidge, {}, g(lags=[4, 8, 16], differences=[0, 1], alpha=[1e-6, 1e-2, 1.0])),
             "ARIMA": (ts.StatsmodelsModel, dict(kind="arima"),
                       [dict(order=o) for o in [(1, 0, 0), (2, 0, 1), (1, 1, 1), (2, 1, 2)]]),
             "ETS": (ts.StatsmodelsModel, dict(kind="ets", error="add"),
                     [dict(trend=None), dict(trend="add", damped_trend=True)] +
                     ([dict(trend=None, seasonal="add", seasonal_periods=season),
                       dict(trend="add", damped_trend=True, seasonal="add", seasonal_periods=season)]
                      if season else []))}
    try:
        import reservoirpy  # noqa: F401
    except ImportError:
        pass
    else:
        peers["ESN"] = (ts.ESN, dict(units=100, warmup=20), g(lr=[0.3, 1.0], sr=[0.9, 1.25], ridge=[1e-6]))
    return peers


def run_series(name, spec, args, params=None, peers=True, log=print):
    ts = _bench_timeseries()
    y, h = spec["series"], spec["h"]
    n0 = len(y) - spec["n_test"]
    train, test = y[:n0], y[n0:]
    quick = True  # 10 forecast origins per segment
    row = dict(series=name, n_train=int(n0), n_test=int(len(test)), horizon=int(h),
               params={k: str(v) for k, v in (params or {}).items()})
    t0 = time.perf_counter()
    _, one, multi = ts.evaluate(SSMNDefault(**(params or {})), train, test, h, quick)
    row["ssmn"] = dict(nrmse_1=one, nrmse_h=multi, s=time.perf_counter() - t0)
    if peers:
        for label, (make, fixed, grid) in peer_grids(spec["season"], True).items():
            t0 = time.perf_counter()
            try:
                best, _, _ = ts.select(make, fixed, grid, train, len(test), h, quick)
                if best is None:
                    raise RuntimeError("every setting failed on the validation tail")
                _, p1, ph = ts.evaluate(make(**fixed, **best), train, test, h, quick)
                row[label] = dict(nrmse_1=p1, nrmse_h=ph, s=time.perf_counter() - t0,
                                  selected=ts._label(best))
            except Exception as exc:  # a peer that cannot run on a series is reported, not fatal
                row[label] = dict(error=f"{type(exc).__name__}: {exc}"[:200])
        ok = [k for k in row if isinstance(row[k], dict) and "nrmse_1" in row[k] and k != "ssmn"]
        row["beats_all_1"] = all(row["ssmn"]["nrmse_1"] < row[k]["nrmse_1"] for k in ok)
        row["beats_all_h"] = all(row["ssmn"]["nrmse_h"] < row[k]["nrmse_h"] for k in ok)
    log(f"  {name:<13} SSMN 1-step {one:.4f} h={h} {multi:.4f}" +
        ("".join(f" | {k} {row[k]['nrmse_1']:.4f}/{row[k]['nrmse_h']:.4f}" for k in row
                 if isinstance(row[k], dict) and "nrmse_1" in row[k] and k != "ssmn")) +
        (f"  {params}" if params else ""))
    return row


# ================================================================================= LOTO
#: Candidate defaults of the sequence estimators (the first is today's default).
SEQ_CANDIDATES = [{}, {"hidden_dim": 64}, {"learning_rate": 3e-3}, {"window_size": 16}]
#: Candidate defaults of the forecaster (the first is today's default).
SERIES_CANDIDATES = [{}, {"lags": "auto"}, {"hidden_dim": 64}, {"differences": 1}]


def loto(scores: dict[str, list[float]], candidates: list[dict], higher_is_better: bool):
    """scores: task -> one score per candidate. For each held-out task: the candidate with the best
    mean rank over the other tasks, its score there and the best candidate's score there."""
    tasks = list(scores)
    S = np.array([scores[t] for t in tasks], float)
    S = np.where(np.isfinite(S), S, -np.inf if higher_is_better else np.inf)
    ranks = np.argsort(np.argsort(-S if higher_is_better else S, axis=1), axis=1) + 1.0
    out = []
    for i, t in enumerate(tasks):
        others = np.delete(ranks, i, axis=0).mean(axis=0)
        pick = int(np.argmin(others))
        out.append(dict(held_out=t, picked=candidates[pick], picked_index=pick,
                        picked_score=float(S[i, pick]), default_score=float(S[i, 0]),
                        best_score=float(S[i].max() if higher_is_better else S[i].min()),
                        mean_rank_others=[float(r) for r in others]))
    overall = int(np.argmin(ranks.mean(axis=0)))
    return dict(per_task=out, overall=candidates[overall], overall_index=overall,
                mean_rank=[float(r) for r in ranks.mean(axis=0)])


# ================================================================================= main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=10.0,
                    help="training seconds per sequence task, the same for the SSMN and the GRU")
    ap.add_argument("--n-train", type=int, default=3000, help="training sequences per task")
    ap.add_argument("--assoc-n", type=int, default=20000, help="training sequences of assoc")
    ap.add_argument("--series-scale", type=float, default=1.0, help="length of the generated series")
    ap.add_argument("--tasks", nargs="*", default=list(SEQ_TASKS), choices=list(SEQ_TASKS))
    ap.add_argument("--series", nargs="*", default=None, help="series names (default: all)")
    ap.add_argument("--only", choices=["seq", "series"], default=None)
    ap.add_argument("--loto", action="store_true", help="choose the defaults by leave-one-task-out")
    ap.add_argument("--threads", type=int, default=1, help="threads for BLAS, torch and ours")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="bench_results", help="folder of the JSON report")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    gru_sequence(np.zeros((4, 3), int), np.zeros(4, int), "tokens", {"V": 2}, 1e-3, 0)  # one-time torch set-up
    report = dict(meta=dict(args=vars(args), python=platform.python_version(), torch=torch.__version__,
                            machine=platform.machine()))
    t_all = time.perf_counter()
    with threadpool_limits(limits=args.threads):
        if args.only != "series":
            print(f"sequence tasks (budget {args.budget:g} s each, {args.threads} thread(s)):")
            if args.loto:
                per = {t: [run_sequence_task(t, args, c, peers=False) for c in SEQ_CANDIDATES]
                       for t in args.tasks}
                report["seq_loto"] = dict(candidates=SEQ_CANDIDATES, rows=per, result=loto(
                    {t: [r["ssmn_acc"] for r in rows] for t, rows in per.items()}, SEQ_CANDIDATES, True))
            else:
                report["seq"] = [run_sequence_task(t, args) for t in args.tasks]
        if args.only != "seq":
            specs = load_series(args.series_scale)
            names = args.series or list(specs)
            missing = [n for n in names if n not in specs]
            if missing:
                sys.exit(f"bench_estimators: --series {' '.join(missing)} not available here; the series are "
                         f"{', '.join(specs)} (statsmodels' datasets need the bench extra: pip install "
                         "'ssmn_rl[bench]')")
            print("series (NRMSE 1-step / h-step):")
            if args.loto:
                per = {s: [run_series(s, specs[s], args, c, peers=False) for c in SERIES_CANDIDATES]
                       for s in names}
                score = lambda r: float(np.sqrt(r["ssmn"]["nrmse_1"] * r["ssmn"]["nrmse_h"]))
                report["series_loto"] = dict(candidates=SERIES_CANDIDATES, rows=per, result=loto(
                    {s: [score(r) for r in rows] for s, rows in per.items()}, SERIES_CANDIDATES, False))
            else:
                report["series"] = [run_series(s, specs[s], args) for s in names]
    report["meta"]["wall_s"] = time.perf_counter() - t_all
    print_tables(report)
    out = Path(args.out) / ("estimators_loto.json" if args.loto else "estimators.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {out} ({report['meta']['wall_s']:.0f} s)")
    return report


def print_tables(report):
    if "seq" in report:
        print("\n| task | n train | SSMN acc | GRU acc | SSMN / GRU | SSMN epochs | GRU steps |")
        print("|---|---|---|---|---|---|---|")
        for r in report["seq"]:
            print(f"| {r['task']} | {r['n_train']} | {r['ssmn_acc']:.3f} | {r['gru_acc']:.3f} | "
                  f"{r['ratio']:.2f} | {r['ssmn_epochs']} | {r['gru_steps']} |")
        met = sum(r["ratio"] >= 0.95 for r in report["seq"])
        print(f"SSMN >= 95% of the GRU's accuracy on {met} of {len(report['seq'])} tasks")
    if "series" in report:
        rows = report["series"]
        peers = [k for k in ("ridge on lags", "ARIMA", "ETS", "ESN") if any(k in r for r in rows)]
        print("\n| series | h | SSMN 1-step | " + " | ".join(f"{p} 1-step" for p in peers) +
              " | SSMN h-step | " + " | ".join(f"{p} h-step" for p in peers) + " |")
        print("|---" * (3 + 2 * len(peers)) + "|")
        cell = lambda r, p, k: f"{r[p][k]:.4f}" if p in r and k in r[p] else "failed"
        for r in rows:
            print(f"| {r['series']} | {r['horizon']} | {cell(r, 'ssmn', 'nrmse_1')} | " +
                  " | ".join(cell(r, p, "nrmse_1") for p in peers) + f" | {cell(r, 'ssmn', 'nrmse_h')} | " +
                  " | ".join(cell(r, p, "nrmse_h") for p in peers) + " |")
        n = len(rows)
        print(f"SSMN beats every peer at 1 step on {sum(r['beats_all_1'] for r in rows)} of {n} series, "
              f"at the horizon on {sum(r['beats_all_h'] for r in rows)} of {n}")
    for key in ("seq_loto", "series_loto"):
        if key in report:
            res = report[key]["result"]
            print(f"\n{key}: candidates {report[key]['candidates']}; mean rank {res['mean_rank']}; "
                  f"overall pick {res['overall']}")
            print("| held out | picked by the others | its score | today's default | best candidate |")
            print("|---|---|---|---|---|")
            for r in res["per_task"]:
                print(f"| {r['held_out']} | {r['picked']} | {r['picked_score']:.4f} | "
                      f"{r['default_score']:.4f} | {r['best_score']:.4f} |")


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
