"""Time-series benchmark of SSMNForecaster against standard baselines, on the same splits for every
model: Mackey-Glass (tau=17, generated here) against an echo-state network (reservoirpy, when
installed) and ridge regression on lagged values; the sunspots and CO2 series shipped inside
statsmodels against seasonal-naive, ridge on lags and statsmodels ARIMA / ETS.

Protocol, the same for every model: each series is cut, in time order, into a training part and a
test segment (its end). The hyper-parameters of every model are chosen on the training part alone:
the grid of each model (``grids``) is fitted on the training part less its tail and scored on that
tail (the validation segment, as long as the test segment), by the geometric mean of the 1-step
and the h-step NRMSE; the chosen setting is refitted on the whole training part and scored once on
the test segment. The test segment is never looked at before that. Errors are NRMSE (RMSE / std of
the segment scored) of 1-step rolling forecasts and of the h-th step of h-step-ahead recursive
forecasts from origins spread over the segment. Seasonal naive has no setting to choose (its
season is the calendar's: 12 months, the 11-year solar cycle).

Prints every validation score, then the table (``fit s``: the refit on the whole training part;
``select s``: the whole grid), and writes both as JSON. BLAS and OpenMP run on one thread for every
model (on a shared 2-core machine multi-threaded BLAS made statsmodels' ARIMA up to 40x slower).
The default mode trains on 10^4 Mackey-Glass steps; ``--quick`` on 2000, with smaller grids.

    python scripts/bench_timeseries.py [--quick] [--out bench_results/timeseries.json]
"""
from __future__ import annotations

import argparse
import itertools
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import Ridge
from threadpoolctl import threadpool_limits

from ssmn_rl.estimators import SSMNForecaster


def mackey_glass(n: int, tau: int = 17, beta=0.2, gamma=0.1, power=10, dt=0.1, sample=1, seed=0):
    """Mackey-Glass series integrated with 4th-order Runge-Kutta (history held constant within a
    step), sampled every `sample` time units after a transient of 1000 units."""
    rng = np.random.default_rng(seed)
    hist_len = int(round(tau / dt))
    per = int(round(sample / dt))
    total = (n + 1000) * per
    x = np.empty(total + hist_len)
    x[:hist_len] = 1.2 + 0.01 * rng.standard_normal(hist_len)
    f = lambda xt, xd: beta * xd / (1 + xd ** power) - gamma * xt
    for i in range(hist_len, total + hist_len - 1 + 1):
        if i == total + hist_len:
            break
        xt, xd = x[i - 1], x[i - 1 - hist_len + 1]
        k1 = f(xt, xd)
        k2 = f(xt + dt / 2 * k1, xd)
        k3 = f(xt + dt / 2 * k2, xd)
        k4 = f(xt + dt * k3, xd)
        x[i] = xt + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x[hist_len + 1000 * per::per][:n]


def nrmse(pred, true, scale):
    return float(np.sqrt(np.mean((np.asarray(pred) - np.asarray(true)) ** 2)) / scale)


# ---------------------------------------------------------------------------------- models
# Each model: fit(train) -> object; one_step(obj, test) -> (n_test,); multi(obj, test, h, origins)
# -> (n_origins, h): forecasts of test[o : o + h] having seen train and test[:o].

class SSMNModel:
    def __init__(self, **kw):
        self.kw = kw

    def fit(self, train):
        own = {k: v for k, v in self.kw.items() if k in ("lags", "differences")}
        reg = SSMNForecaster.default_regressor(**{k: v for k, v in self.kw.items() if k not in own})
        self.f = SSMNForecaster(regressor=reg, random_state=0, **own).fit(train)
        return self

    def one_step(self, test):
        return self.f.predict_stream(test)[:, 0]

    def multi(self, test, h, origins):
        stride = origins[1] - origins[0] if len(origins) > 1 else 1
        return self.f.predict_stream(test, horizon=h, stride=stride)[: len(origins)]


class LagRidge:
    """Ridge regression on the last ``lags`` values (of the first differences with
    ``differences=1``, forecasts summed back onto the last value), rolled out recursively."""

    def __init__(self, lags, alpha=1e-6, differences=0):
        self.lags, self.alpha, self.d = lags, alpha, differences

    def _rows(self, y):
        L = self.lags
        return np.stack([y[L - 1 - j: len(y) - j] for j in range(L)], axis=1)

    def _t(self, y):
        return np.diff(y) if self.d else y

    def fit(self, train):
        self.train = train
        d = self._t(train)
        R = self._rows(d)
        self.m = Ridge(alpha=self.alpha).fit(R[:-1], d[self.lags:])
        return self

    def one_step(self, test):
        full = np.r_[self.train, test]
        d = self._t(full)[len(self.train) - self.d - self.lags:]
        pred = self.m.predict(self._rows(d)[:-1])
        return pred + full[len(self.train) - 1:-1] if self.d else pred

    def multi(self, test, h, origins):
        full = np.r_[self.train, test]
        d = self._t(full)
        n0 = len(self.train) - self.d  # index in d of the first test step
        out = np.empty((len(origins), h))
        hist = np.stack([d[n0 + o - self.lags: n0 + o] for o in origins])
        for j in range(h):
            p = self.m.predict(hist[:, ::-1])
            out[:, j] = p
            hist = np.c_[hist[:, 1:], p]
        if self.d:
            out = np.cumsum(out, axis=1) + np.array([full[len(self.train) + o - 1] for o in origins])[:, None]
        return out


class ESN:
    """reservoirpy echo-state network (ridge read-out), in generative mode for h steps.

    ``scaled=True`` feeds the series min-max scaled to [-1, 1] with the training range (as the
    reservoirpy examples do); the read-out is trained on the same scale and forecasts are mapped
    back. Multi-step forecasts run the reservoir on its own predictions from a saved copy of its
    state, which is restored afterwards so the teacher-forced run over the test data goes on.
    """

    def __init__(self, units=100, lr=0.5, sr=0.9, ridge=1e-7, scaled=True, warmup=100):
        self.units, self.lr, self.sr, self.ridge, self.scaled, self.warmup = units, lr, sr, ridge, scaled, warmup

    def _f(self, v):
        return 2 * (v - self.lo) / (self.hi - self.lo) - 1 if self.scaled else v

    def _g(self, v):
        return (v + 1) / 2 * (self.hi - self.lo) + self.lo if self.scaled else v

    def fit(self, train):
        from reservoirpy.nodes import Reservoir, Ridge as RRidge

        self.train = train
        self.lo, self.hi = float(train.min()), float(train.max())
        self.res = Reservoir(self.units, lr=self.lr, sr=self.sr, seed=0)
        self.ro = RRidge(ridge=self.ridge)
        S = self.res.run(self._f(train[:-1])[:, None])
        self.ro.fit(S[self.warmup:], self._f(train[1:])[self.warmup:, None])
        return self

    def one_step(self, test):
        full = np.r_[self.train, test]
        self.res.reset()
        S = self.res.run(self._f(full[:-1])[:, None])
        return self._g(self.ro.run(S[len(self.train) - 1:])[:, 0])

    def multi(self, test, h, origins):
        full = self._f(np.r_[self.train, test])
        n0 = len(self.train)
        self.res.reset()
        last = self.res.run(full[: n0, None])[-1:]
        pos, out = n0, np.empty((len(origins), h))
        for r, o in enumerate(origins):
            if n0 + o > pos:
                last = self.res.run(full[pos: n0 + o, None])[-1:]
                pos = n0 + o
            saved = {k: v.copy() for k, v in self.res.state.items()}
            y = float(self.ro.run(last)[0, 0])
            out[r, 0] = y
            for j in range(1, h):
                y = float(self.ro.run(self.res.run(np.array([[y]])))[0, 0])
                out[r, j] = y
            self.res.state = saved
        return self._g(out)


class SeasonalNaive:
    def __init__(self, season):
        self.s = season

    def fit(self, train):
        self.train = train
        return self

    def one_step(self, test):
        full = np.r_[self.train, test]
        n0 = len(self.train)
        return full[n0 - self.s: n0 - self.s + len(test)]

    def multi(self, test, h, origins):
        full = np.r_[self.train, test]
        n0 = len(self.train)
        return np.stack([[full[n0 + o + j - self.s * (1 + j // self.s)] for j in range(h)] for o in origins])


class StatsmodelsModel:
    def __init__(self, kind, **kw):
        self.kind, self.kw = kind, kw

    def fit(self, train):
        self.train = train
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.kind == "arima":
                from statsmodels.tsa.arima.model import ARIMA
                self.res = ARIMA(train, **self.kw).fit()
            else:
                from statsmodels.tsa.exponential_smoothing.ets import ETSModel
                self.res = ETSModel(train, **self.kw).fit(disp=False)
        return self

    def _applied(self, series):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.kind == "arima":
                return self.res.apply(series)
            from statsmodels.tsa.exponential_smoothing.ets import ETSModel
            return ETSModel(series, **self.kw).smooth(self.res.params)

    def one_step(self, test):
        full = np.r_[self.train, test]
        pred = self._applied(full).fittedvalues
        return np.asarray(pred)[len(self.train):]

    def multi(self, test, h, origins):
        full = np.r_[self.train, test]
        n0 = len(self.train)
        return np.stack([np.asarray(self._applied(full[: n0 + o]).forecast(h)) for o in origins])


# ---------------------------------------------------------------------------------- series
def load_series(quick: bool):
    out = {}
    n_mg = 3000 if quick else 12000
    mg = mackey_glass(n_mg)
    n_train = 2000 if quick else 10000
    out["mackey_glass"] = dict(series=mg, n_train=n_train, h=50, season=None)
    try:
        import statsmodels.api as sm
    except ImportError:
        return out
    sun = sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(float)
    out["sunspots"] = dict(series=sun, n_train=len(sun) - 60, h=11, season=11)
    co2 = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().ffill().to_numpy(float)
    out["co2"] = dict(series=co2, n_train=len(co2) - 120, h=12, season=12)
    return out


def _grid(**axes) -> list[dict]:
    """Every combination of the values of the keyword axes, as a list of settings."""
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*axes.values())]


def grids(name: str, season, quick: bool) -> dict:
    """The models of one series: label -> (constructor, fixed keyword arguments, grid of settings
    chosen on the validation segment). The same lag and differencing grid for the SSMN and for ridge
    on lags; ``ridge_alpha="auto"`` (the SSMN's read-out penalty, chosen inside ``fit`` on the
    tail of the data it is given) is part of the model."""
    H = 64 if quick else 128
    lags = [4, 8, 16] if quick else [4, 8, 16, 24]
    models = {
        "SSMN ridge": (SSMNModel, dict(solver="ridge", hidden_dim=H),
                       _grid(lags=lags, differences=[0, 1])),
        "ridge on lags": (LagRidge, {}, _grid(lags=lags, differences=[0, 1],
                                             alpha=[1e-6, 1e-3, 1.0, 1e3])),
    }
    if name == "mackey_glass":
        models["SSMN adam"] = (SSMNModel, dict(solver="adam", hidden_dim=32, lags=8,
                                               max_iter=10 if quick else 40),
                               _grid(learning_rate=[3e-3] if quick else [1e-3, 3e-3, 1e-2]))
        try:
            import reservoirpy  # noqa: F401
        except ImportError:
            pass
        else:
            models["ESN (reservoirpy, 100)"] = (
                ESN, dict(units=100),
                _grid(lr=[0.3, 1.0], sr=[0.9, 1.25], ridge=[1e-7]) if quick else
                _grid(lr=[0.3, 0.5, 1.0], sr=[0.9, 1.25], ridge=[1e-7, 1e-5]))
        return models
    models["seasonal naive"] = (SeasonalNaive, dict(season=season), [{}])
    models["ARIMA"] = (StatsmodelsModel, dict(kind="arima"),
                       [dict(order=o) for o in itertools.product(
                           [1, 2] if quick else [1, 2, 3], [0, 1], [0, 1])])
    ets = [dict(trend=None), dict(trend="add"), dict(trend="add", damped_trend=True)]
    models["ETS"] = (StatsmodelsModel, dict(kind="ets", error="add"),
                     ets + [dict(s, seasonal="add", seasonal_periods=season) for s in ets])
    return models


def evaluate(model, fitted_on, segment, h, quick):
    """Fit ``model`` on ``fitted_on`` and score its forecasts of ``segment`` (which follows it):
    (fit seconds, 1-step NRMSE, h-step NRMSE)."""
    scale = float(segment.std())
    origins = np.arange(0, len(segment) - h + 1, max(1, (len(segment) - h) // (10 if quick else 40)))
    t0 = time.perf_counter()
    model.fit(fitted_on)
    fit_s = time.perf_counter() - t0
    one = nrmse(model.one_step(segment), segment, scale)
    multi = model.multi(segment, h, origins)
    truth = np.stack([segment[o:o + h] for o in origins])
    return fit_s, one, nrmse(multi[:, -1], truth[:, -1], scale)


def _label(setting: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in setting.items()) or "-"


def select(make, fixed, grid, train, n_val, h, quick):
    """Fit every setting of ``grid`` on ``train[:-n_val]``, score it on ``train[-n_val:]``; returns
    the best setting and the list of (setting, validation scores or error)."""
    fit_part, val = train[:-n_val], train[-n_val:]
    tried, best, best_score = [], None, np.inf
    for setting in grid:
        try:
            _, one, multi = evaluate(make(**fixed, **setting), fit_part, val, h, quick)
        except Exception as exc:  # a setting that cannot be fitted (e.g. too few steps) is skipped
            tried.append(dict(setting=setting, error=f"{type(exc).__name__}: {exc}"))
            continue
        score = float(np.sqrt(one * multi)) if np.isfinite(one * multi) else np.inf
        tried.append(dict(setting=setting, nrmse_1=one, nrmse_h=multi, score=score))
        if score < best_score:
            best, best_score = setting, score
    return best, best_score, tried


def run(quick: bool, log=print) -> dict:
    rows = []
    for name, spec in load_series(quick).items():
        y, n0, h = spec["series"], spec["n_train"], spec["h"]
        train, test = y[:n0], y[n0:]
        n_val = len(test)
        log(f"\n{name}: train {n0} steps (fit {n0 - n_val} + validation {n_val}), test {len(test)}, "
            f"h={h}")
        for label, (make, fixed, grid) in grids(name, spec["season"], quick).items():
            t0 = time.perf_counter()
            best, val_score, tried = select(make, fixed, grid, train, n_val, h, quick)
            select_s = time.perf_counter() - t0
            log(f"  {label} ({_label(fixed)}), validation NRMSE 1-step / h-step -> score:")
            for t in tried:
                mark = "*" if t["setting"] is best else " "
                log(f"   {mark} {_label(t['setting']):<46} " +
                    (f"failed: {t['error'][:60]}" if "error" in t else
                     f"{t['nrmse_1']:9.5f} / {t['nrmse_h']:8.5f} -> {t['score']:.5f}"))
            row = dict(series=name, model=label, fixed={k: str(v) for k, v in fixed.items()},
                       grid=[dict(t, setting={k: str(v) for k, v in t["setting"].items()})
                             for t in tried], select_s=select_s)
            if best is None:
                rows.append(dict(row, error="every setting failed on the validation segment"))
                continue
            try:
                fit_s, one, multi = evaluate(make(**fixed, **best), train, test, h, quick)
            except Exception as exc:  # a baseline that cannot run here is reported, not fatal
                rows.append(dict(row, error=f"{type(exc).__name__}: {exc}"))
                continue
            rows.append(dict(row, selected=_label(best), val_score=val_score, n_train=int(n0),
                             n_test=int(len(test)), horizon=int(h), fit_s=fit_s, nrmse_1=one,
                             nrmse_h=multi))
    return dict(meta=dict(quick=quick, python=platform.python_version(), machine=platform.machine(),
                          selection="geometric mean of 1-step and h-step NRMSE on the validation "
                                    "tail of the training part"),
                rows=rows)


def print_table(report):
    print(f"| {'series':<12} | {'model':<22} | {'selected on validation':<46} | {'val':>7} | "
          f"{'select s':>8} | {'fit s':>6} | {'NRMSE 1-step':>12} | {'h':>3} | {'NRMSE h-step':>12} |")
    print("|" + "|".join("-" * w for w in (14, 24, 48, 9, 10, 8, 14, 5, 14)) + "|")
    for r in report["rows"]:
        if "error" in r:
            print(f"| {r['series']:<12} | {r['model']:<22} | failed: {r['error'][:70]}")
            continue
        print(f"| {r['series']:<12} | {r['model']:<22} | {r['selected']:<46} | {r['val_score']:7.4f} | "
              f"{r['select_s']:8.1f} | {r['fit_s']:6.3f} | {r['nrmse_1']:12.5f} | {r['horizon']:3d} | "
              f"{r['nrmse_h']:12.5f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="shorter Mackey-Glass series, fewer origins, smaller grids")
    ap.add_argument("--out", default="bench_results/timeseries.json")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    with threadpool_limits(limits=1):
        report = run(args.quick)
    report["meta"]["wall_s"] = time.perf_counter() - t0
    print()
    print_table(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out} ({report['meta']['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
