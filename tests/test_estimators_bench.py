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
