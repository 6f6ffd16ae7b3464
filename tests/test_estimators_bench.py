"""The protocol of scripts/bench_timeseries.py: every model's setting is chosen on a validation
tail of the training part, refitted on the whole training part and scored once on the test
segment, which nothing sees before that; and its forecasting adapters line up with the truth."""
import importlib.util
import pathlib

import numpy as np
import pytest

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "scripts" / "bench_timeseries.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_timeseries", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Recorder:
    """A model that logs every segment it is fitted on or asked to forecast, and forecasts the
    truth plus its setting ``bias``."""

    log: list = []

    def __init__(self, bias):
        self.bias = bias

    def fit(self, train):
        Recorder.log.append(("fit", self.bias, np.array(train)))
        return self

    def one_step(self, segment):
        Recorder.log.append(("forecast", self.bias, np.array(segment)))
        return segment + self.bias

    def multi(self, segment, h, origins):
        return np.stack([segment[o:o + h] for o in origins]) + self.bias


def test_settings_are_chosen_without_the_test_segment(bench, monkeypatch):
    series = np.arange(100.0) + np.sin(np.arange(100.0))  # test segment: the last 20 steps
    monkeypatch.setattr(bench, "load_series", lambda quick: {
        "toy": dict(series=series, n_train=80, h=5, season=None)})
    monkeypatch.setattr(bench, "grids", lambda name, season, quick: {
        "recorder": (Recorder, {}, [dict(bias=b) for b in (0.5, -0.1, 0.3)])})
    Recorder.log = []
    report = bench.run(quick=True, log=lambda *a: None)
    (row,) = report["rows"]
    assert row["selected"] == "bias=-0.1"  # the smallest validation error
    *selection, final_fit, final_forecast = Recorder.log
    assert len(selection) == 6  # a fit and a forecast per setting
    for kind, _, data in selection:  # the grid sees the first 60 steps and the next 20 only
        np.testing.assert_array_equal(data, series[:60] if kind == "fit" else series[60:80])
    assert final_fit[:2] == ("fit", -0.1) and final_forecast[:2] == ("forecast", -0.1)
    np.testing.assert_array_equal(final_fit[2], series[:80])
    np.testing.assert_array_equal(final_forecast[2], series[80:])
    assert row["nrmse_1"] == pytest.approx(0.1 / series[80:].std())
    assert [g["setting"] for g in row["grid"]] == [{"bias": "0.5"}, {"bias": "-0.1"}, {"bias": "0.3"}]


def test_forecasting_adapters_line_up_with_the_truth(bench):
    """On a straight line every adapter that models differences forecasts exactly; the h-step
    forecasts of origin o cover segment[o : o + h]."""
    line = 0.5 * np.arange(120.0) + 3.0
    train, test = line[:100], line[100:]
    origins = np.arange(0, 16, 5)
    for model in (bench.LagRidge(lags=3, differences=1),
                  bench.SSMNModel(lags=3, differences=1, hidden_dim=8),
                  bench.SeasonalNaive(season=4)):
        model.fit(train)
        one, multi = model.one_step(test), model.multi(test, 5, origins)
        assert one.shape == (20,) and multi.shape == (4, 5)
        shift = 0 if not isinstance(model, bench.SeasonalNaive) else -0.5 * 4
        np.testing.assert_allclose(one, test + shift, atol=1e-3)
        truth = np.stack([test[o:o + 5] for o in origins])
        if isinstance(model, bench.SeasonalNaive):  # the value one season before each step
            truth = truth - 0.5 * 4 * (1 + np.arange(5) // 4)
        np.testing.assert_allclose(multi, truth, atol=1e-3)


# ------------------------------------------------------------------ scripts/bench_estimators.py
ESTIMATORS_SCRIPT = SCRIPT.parent / "bench_estimators.py"


@pytest.fixture(scope="module")
def bench_est():
    spec = importlib.util.spec_from_file_location("bench_estimators", ESTIMATORS_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_leave_one_task_out_picks_by_the_other_tasks_mean_rank(bench_est):
    cands = [{"c": 0}, {"c": 1}, {"c": 2}]
    scores = {"a": [0.5, 0.9, 0.1], "b": [0.4, 0.8, 0.9], "c": [0.3, 0.2, 0.9], "d": [0.9, 0.1, 0.8]}
    res = bench_est.loto(scores, cands, higher_is_better=True)
    picks = {r["held_out"]: r["picked_index"] for r in res["per_task"]}
    # without a: ranks of b, c, d -> candidate 2 (mean rank 1.33); without c: 0 and 1 and 2 tie
    # on mean rank 2 ... the first of the tied ones
    assert picks["a"] == 2 and picks["b"] in (0, 2)
    held = {r["held_out"]: r for r in res["per_task"]}
    assert held["a"]["picked_score"] == 0.1 and held["a"]["best_score"] == 0.9
    assert held["a"]["default_score"] == 0.5
    low = bench_est.loto({k: [-v for v in s] for k, s in scores.items()}, cands, higher_is_better=False)
    assert [r["picked_index"] for r in low["per_task"]] == [r["picked_index"] for r in res["per_task"]]


def test_sequence_tasks_have_the_documented_format(bench_est):
    rng = np.random.default_rng(0)
    seq, y, kind, extra = bench_est.task_assoc(5, rng)
    assert kind == "tokens" and seq.shape == (5, 11) and extra["V"] == 37
    for s, v in zip(seq, y):  # c9k8j3f1??c -> 9
        keys, vals = s[0:8:2], s[1:8:2]
        assert (s[8], s[9]) == (36, 36) and len(set(keys)) == 4 and keys.max() < 26
        assert v == vals[list(keys).index(s[10])] - 26
    X, y, kind, extra = bench_est.task_adding(50, rng)
    assert X.shape == (50, 30, 2) and (X[:, :, 1].sum(axis=1) == 2).all()
    np.testing.assert_allclose(y, (X[:, :, 0] * X[:, :, 1]).sum(axis=1))
    ids, y, _, extra = bench_est.task_copy(4, rng)
    np.testing.assert_array_equal(y[:, 5:], ids[:, :-5])
    assert bench_est.accuracy(np.where(np.arange(20) < 5, 0, y), y, extra) == 1.0
    # statsmodels' datasets are 6 of the series (the bench extra); the generated ones are always there
    assert len(bench_est.load_series(0.2)) >= (10 if importlib.util.find_spec("statsmodels") else 5)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="the GRU peer needs torch")
def test_bench_estimators_runs_end_to_end_small(tmp_path):
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, str(ESTIMATORS_SCRIPT), "--budget", "0.5", "--n-train", "200",
                           "--tasks", "k_back", "digits", "--series", "henon", "lorenz",
                           "--series-scale", "0.2", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads((tmp_path / "estimators.json").read_text())
    assert [r["task"] for r in report["seq"]] == ["k_back", "digits"]
    assert all(0 <= r["ssmn_acc"] <= 1 and 0 <= r["gru_acc"] <= 1 for r in report["seq"])
    assert [r["series"] for r in report["series"]] == ["henon", "lorenz"]
    assert all(np.isfinite(r["ssmn"]["nrmse_1"]) for r in report["series"])
    assert "| task | n train | SSMN acc | GRU acc |" in proc.stdout
