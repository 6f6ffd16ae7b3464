"""The scikit-learn estimators: the common estimator checks, Pipelines and grid searches
(joblib processes and Ray), the stream and sequence layouts, partial_fit, side-effect-free
prediction, forecasting, repeatability and persistence."""
import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from ssmn_rl.config import MEMORY_PRESETS
from ssmn_rl.errors import ConfigError
from ssmn_rl.estimators import SSMNClassifier, SSMNForecaster, SSMNRegressor, SSMNTransformer
from ssmn_rl.options import MODEL_OPTIONS
from ssmn_rl.text import SSMNLanguageModel

ROWS_NOT_INDEPENDENT = ("rows of a 2-D X are one time-ordered stream: the output for a row depends "
                        "on the rows before it, so reordering or subsetting rows changes it")
EXPECTED = {"check_methods_sample_order_invariance": ROWS_NOT_INDEPENDENT,
            "check_methods_subset_invariance": ROWS_NOT_INDEPENDENT}


# The forecaster is called fit(y, X=None) / predict(horizon, X=None), but reads two positional
# arguments in scikit-learn's order: fit(X, y) / score(X, y) as "exogenous inputs X, series y" and
# predict(X) as "forecast len(X) steps with exogenous inputs X", so every common check applies to
# it too (test_forecaster_calling_conventions_agree covers both conventions).
@parametrize_with_checks([SSMNRegressor(random_state=0), SSMNClassifier(random_state=0),
                          SSMNTransformer(random_state=0), SSMNForecaster(random_state=0)],
                         expected_failed_checks=lambda est: EXPECTED)
def test_sklearn_common_checks(estimator, check):
    check(estimator)


def _stream(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = X[:, 0] + 0.5 * np.r_[0.0, X[:-1, 1]]  # needs the previous row: memory matters
    return X, y


def test_pipeline_grid_search_over_plastic_ratio_and_window_size():
    X, y = _stream(240)
    pipe = make_pipeline(StandardScaler(), SSMNRegressor(variant="custom_split", max_iter=20,
                                                         hidden_dim=16, random_state=0))
    grid = {"ssmnregressor__plastic_ratio": [0.0, 0.5], "ssmnregressor__window_size": [2, 8]}
    search = GridSearchCV(pipe, grid, cv=TimeSeriesSplit(n_splits=2), n_jobs=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.predict(X).shape == (240,)


def test_grid_search_on_a_local_ray_instance(local_ray):
    from ray.util.joblib import register_ray

    X, y = _stream(200)
    register_ray()
    search = GridSearchCV(SSMNRegressor(variant="custom_split", solver="ridge", random_state=0),
                          {"plastic_ratio": [0.2, 0.5], "window_size": [4, 8]},
                          cv=TimeSeriesSplit(n_splits=2), n_jobs=2)
    with joblib.parallel_backend("ray"):
        search.fit(X, y)
    local = GridSearchCV(SSMNRegressor(variant="custom_split", solver="ridge", random_state=0),
                         {"plastic_ratio": [0.2, 0.5], "window_size": [4, 8]},
                         cv=TimeSeriesSplit(n_splits=2), n_jobs=1).fit(X, y)
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"], rtol=1e-6)


def test_stream_prediction_is_causal_and_has_no_side_effects():
    X, y = _stream()
    reg = SSMNRegressor(max_iter=30, random_state=0).fit(X, y)
    params = reg.model_.get_parameters()
    full = reg.predict(X)
    np.testing.assert_allclose(reg.predict(X[:100]), full[:100], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(reg.model_.get_parameters(), params)
    np.testing.assert_array_equal(reg.predict(X), full)


def test_memory_recalls_the_previous_row():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 2))
    y = np.r_[0.0, X[:-1, 1]]  # the previous row's second feature: only memory can give it
    reg = SSMNRegressor(window_size=2, random_state=0).fit(X[:500], y[:500])
    linear = Ridge().fit(X[:500], y[:500])
    assert linear.score(X[500:], y[500:]) < 0.1
    assert reg.score(X[500:], y[500:]) > 0.3


def test_partial_fit_continues_the_stream():
    X, y = _stream(400)
    reg = SSMNRegressor(random_state=0, learning_rate=3e-3)
    for start in range(0, 400, 50):
        reg.partial_fit(X[start:start + 50], y[start:start + 50])
    assert reg.n_iter_ == 8 and reg.stream_state_ is not None
    assert reg.stream_state_.tensors["keys"].any()  # a carried window, not a fresh state
    assert reg.score(X, y) > 0.3
    clf = SSMNClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X[:50], y[:50] > 0)
    clf.partial_fit(X[:50], y[:50] > 0, classes=[False, True]).partial_fit(X[50:100], y[50:100] > 0)
    assert set(clf.predict(X)) <= {False, True}


def test_partial_fit_after_fit_keeps_learning():
    X, y = _stream(300)
    reg = SSMNRegressor(max_iter=5, random_state=0).fit(X, y)
    before = reg.model_.get_parameters()
    reg.partial_fit(X[:60], y[:60])
    assert reg.n_iter_ == 6 and not np.array_equal(before, reg.model_.get_parameters())


def _digit_sequences():
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images / 16.0, digits.target  # (n, 8, 8): 8 steps of 8 pixels


@pytest.mark.slow
def test_digits_read_row_by_row():
    X, y = _digit_sequences()
    clf = SSMNClassifier(solver="ridge", hidden_dim=256, ridge_alpha="auto", random_state=0)
    clf.fit(X[:1200], y[:1200])
    # measured 0.839; a logistic regression on the 64 flat pixels of the same split gets 0.921
    assert clf.score(X[1200:], y[1200:]) > 0.8
    adam = SSMNClassifier(hidden_dim=64, max_iter=40, random_state=0, lr_schedule="cosine")
    assert adam.fit(X[:1200], y[:1200]).score(X[1200:], y[1200:]) > 0.7  # measured 0.772


def test_sequence_and_step_targets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 10, 1))
    running = np.cumsum(X[:, :, 0], axis=1)
    clf = SSMNClassifier(hidden_dim=16, max_iter=60, random_state=0).fit(X, running[:, -1] > 0)
    assert clf.predict(X).shape == (80,) and clf.predict_proba(X).shape == (80, 2)
    assert clf.score(X, running[:, -1] > 0) > 0.8
    reg = SSMNRegressor(target="step", hidden_dim=16, max_iter=60, random_state=0).fit(X, running)
    assert reg.predict(X).shape == (80, 10)
    assert reg.score(X, running) > 0.5
    with pytest.raises(ValueError, match="target='step'"):
        SSMNRegressor(target="step", max_iter=1).fit(X, running[:, -1])
    with pytest.raises(ValueError, match="fitted on 3-D sequences"):
        clf.predict(X[0])


def test_early_stopping_uses_the_time_ordered_tail_and_keeps_the_best():
    X, y = _stream(400)
    reg = SSMNRegressor(early_stopping=True, validation_fraction=0.2, max_iter=40,
                        random_state=0).fit(X, y)
    curve = reg.validation_loss_curve_
    assert len(curve) == reg.n_iter_ and len(reg.loss_curve_) == reg.n_iter_
    from ssmn_rl.estimators._bptt import Problem, evaluate

    Xs = X[None].astype("float32")
    tgt = ((y - reg.y_mean_) / reg.y_scale_)[None, :, None]
    mask = np.zeros((1, 400), "float32")
    mask[:, 320:] = 1
    assert evaluate(reg.model_, Problem(Xs, tgt, mask, "mse", False, 400)) == pytest.approx(min(curve), rel=1e-4)


@pytest.mark.parametrize("variant, rule, ratio", [("standard", "oja", None), ("custom_split", "delta", 0.5),
                                                  ("custom_split", "importance", 0.5)])
def test_any_registered_variant_and_rule(variant, rule, ratio):
    X, y = _stream(120)
    reg = SSMNRegressor(variant=variant, rule=rule, plastic_ratio=ratio, max_iter=3, random_state=0)
    reg.fit(X, y)
    assert reg.model_.config.rule == rule and reg.model_.config.variant == variant


def test_unknown_names_are_refused_with_the_registered_ones():
    X, y = _stream(50)
    with pytest.raises(ConfigError, match="rule must be one of .*hebbian"):
        SSMNRegressor(rule="nope").fit(X, y)
    with pytest.raises(ConfigError, match="variant must be one of .*standard"):
        SSMNTransformer(variant="nope").fit(X)


@pytest.mark.parametrize("solver", ["adam", "ridge"])
def test_random_state_makes_fits_repeatable(solver):
    X, y = _stream(200)
    a = SSMNRegressor(solver=solver, max_iter=10, random_state=3).fit(X, y).predict(X)
    b = SSMNRegressor(solver=solver, max_iter=10, random_state=3).fit(X, y).predict(X)
    c = SSMNRegressor(solver=solver, max_iter=10, random_state=4).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_verbose_reports_the_loss(capsys):
    X, y = _stream(100)
    SSMNRegressor(max_iter=3, verbose=1, random_state=0).fit(X, y)
    err = capsys.readouterr().err
    assert "loss" in err and "SSMNRegressor" in err


def test_gradient_clipping_and_cosine_schedule_change_the_fit():
    X, y = _stream(200)
    base = dict(max_iter=5, random_state=0, tol=0)
    ref = SSMNRegressor(**base).fit(X, y).predict(X)
    clipped = SSMNRegressor(max_grad_norm=1e-3, **base).fit(X, y).predict(X)
    cosine = SSMNRegressor(lr_schedule="cosine", **base).fit(X, y).predict(X)
    assert not np.allclose(ref, clipped) and not np.allclose(ref, cosine)


@pytest.mark.parametrize("make", [
    lambda: SSMNRegressor(max_iter=5, random_state=0),
    lambda: SSMNClassifier(max_iter=5, random_state=0),
    lambda: SSMNTransformer(random_state=0),
])
def test_pickle_joblib_and_clone_round_trips(make, tmp_path):
    X, y = _stream(120)
    est = make()
    est.fit(X, y > 0 if isinstance(est, SSMNClassifier) else y)
    out = est.transform(X) if isinstance(est, SSMNTransformer) else est.predict(X)
    again = pickle.loads(pickle.dumps(est))
    joblib.dump(est, tmp_path / "est.joblib")
    loaded = joblib.load(tmp_path / "est.joblib")
    for e in (again, loaded):
        np.testing.assert_array_equal(e.transform(X) if isinstance(e, SSMNTransformer) else e.predict(X), out)
    fresh = clone(est)
    assert fresh.get_params() == est.get_params() and not hasattr(fresh, "model_")


def test_transformer_in_a_pipeline_for_sequences():
    X, y = _digit_sequences()
    pipe = make_pipeline(SSMNTransformer(hidden_dim=64, random_state=0),
                         LogisticRegression(max_iter=500))
    pipe.fit(X[:1000], y[:1000])
    assert pipe.score(X[1000:], y[1000:]) > 0.5
    assert SSMNTransformer(hidden_dim=8).fit(X).get_feature_names_out().tolist()[:2] == \
        ["ssmntransformer0", "ssmntransformer1"]


def _sine(n=600, period=25):
    t = np.arange(n)
    return np.sin(2 * np.pi * t / period)


def test_forecaster_multi_step_and_streaming():
    y = _sine()
    f = SSMNForecaster(random_state=0).fit(y[:400])
    state = f.state_.copy()
    ahead = f.predict(25)
    assert ahead.shape == (25,)
    assert np.sqrt(np.mean((ahead - y[400:425]) ** 2)) < 0.05
    rolling = f.predict_stream(y[400:])
    assert rolling.shape == (200, 1)
    assert np.sqrt(np.mean((rolling[:, 0] - y[400:]) ** 2)) < 0.1
    multi = f.predict_stream(y[400:], horizon=10, stride=20)
    assert multi.shape == (10, 10)
    np.testing.assert_allclose(multi[0], ahead[:10], rtol=1e-4, atol=1e-4)
    assert f.state_ == state  # neither predict nor predict_stream moved the origin
    f.update(y[400:440])
    np.testing.assert_allclose(f.predict(10), multi[2], rtol=1e-4, atol=1e-4)


def test_forecaster_multivariate_with_exogenous_inputs():
    rng = np.random.default_rng(0)
    n = 500
    exog = rng.normal(size=(n, 1))
    s = _sine(n)
    y = np.c_[s + 0.8 * exog[:, 0], np.roll(s, 3)]  # the first variable follows the exogenous input
    f = SSMNForecaster(random_state=0).fit(y[:400], X=exog[:400])
    pred = f.predict(20, X=exog[400:420])
    assert pred.shape == (20, 2)
    other = f.predict(20, X=-exog[400:420])
    assert not np.allclose(pred[:, 0], other[:, 0])  # the forecast reads the exogenous inputs
    rolling = f.predict_stream(y[400:], X=exog[400:], horizon=3, stride=10)
    assert rolling.shape == (10, 3, 2)
    np.testing.assert_allclose(rolling[0], pred[:3], rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="needs X"):
        f.predict(5)
    with pytest.raises(ValueError, match=r"shape \(5, 1\) for predict\(horizon=5\), one row per "
                                         r"step; got shape \(4, 1\)"):
        f.predict(5, X=exog[:4])
    with pytest.raises(ValueError, match="X has 2 features, but SSMNForecaster is expecting 1"):
        f.predict(5, X=np.c_[exog[:5], exog[:5]])
    with pytest.raises(ValueError, match="X .exogenous inputs. has 399 rows but the series y has "
                                         "400 time steps: fit needs one row of X per step"):
        SSMNForecaster().fit(y[:400], X=exog[:399])
    with pytest.raises(ValueError, match="has 99 rows but the series y has 100 time steps: "
                                         "predict_stream"):
        f.predict_stream(y[400:], X=exog[400:499])
    with pytest.raises(ValueError, match="y has 1 variables, but SSMNForecaster was fitted on a "
                                         "series with 2"):
        f.update(y[400:410, 0], X=exog[400:410])


def test_forecaster_adam_solver_learns():
    y = _sine(500)
    f = SSMNForecaster(regressor=SSMNRegressor(), random_state=0).fit(y[:400])  # Adam, 200 epochs
    rolling = f.predict_stream(y[400:])[:, 0]
    assert np.sqrt(np.mean((rolling - y[400:]) ** 2)) < 0.5 * y.std()


def test_forecaster_pickles_and_refuses_bad_arguments(tmp_path):
    y = _sine(200)
    f = SSMNForecaster(random_state=0).fit(y)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(f)).predict(7), f.predict(7))
    joblib.dump(f, tmp_path / "f.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "f.joblib").predict(7), f.predict(7))
    fresh = clone(f)
    assert fresh.get_params() == f.get_params() and not hasattr(fresh, "regressor_")
    with pytest.raises(ValueError, match="horizon must be an integer >= 1, got 0"):
        f.predict(0)
    with pytest.raises(ValueError, match="fitted without X"):
        f.predict(3, np.zeros((3, 1)))
    with pytest.raises(ValueError, match="minimum of 9"):
        SSMNForecaster(lags=8).fit(y[:3])
    with pytest.raises(ValueError, match="minimum of 4 .*differences=1"):
        SSMNForecaster(lags=2, differences=1).fit(y[:3])


def test_forecaster_calling_conventions_agree():
    """The issue's fit(y, X=None) / predict(horizon, X=None) and scikit-learn's fit(X, y) /
    predict(X) / score(X, y) give the same model and the same forecasts."""
    rng = np.random.default_rng(1)
    exog = rng.normal(size=(300, 2))
    y = _sine(300) + 0.5 * exog[:, 0]
    tr, te = slice(0, 250), slice(250, 300)
    fc = SSMNForecaster(random_state=0).fit(y[tr], X=exog[tr])            # the forecaster's order
    kw = SSMNForecaster(random_state=0).fit(y=y[tr], X=exog[tr])          # keywords only
    sk = SSMNForecaster(random_state=0).fit(exog[tr], y[tr])              # scikit-learn's order
    ref = fc.predict(10, X=exog[250:260])
    for f in (kw, sk):
        np.testing.assert_array_equal(f.predict(10, X=exog[250:260]), ref)
    np.testing.assert_array_equal(sk.predict(exog[250:260]), ref)         # predict(X): len(X) steps
    np.testing.assert_array_equal(sk.predict(X=exog[250:260]), ref)
    assert sk.n_features_in_ == 2 and sk.n_exog_ == 2
    r2 = fc.score(y[te], X=exog[te])  # R^2 of the 50-step forecast that follows (measured 0.34)
    assert r2 > 0.2
    assert sk.score(exog[te], y[te]) == r2 and sk.score(exog[te], y=y[te]) == r2
    assert fc.score(y=y[te], X=exog[te]) == r2
    rolling = fc.predict_stream(y[te], X=exog[te])
    np.testing.assert_array_equal(sk.predict_stream(exog[te], y[te]), rolling)
    np.testing.assert_array_equal(kw.predict_stream(y=y[te], X=exog[te]), rolling)
    np.testing.assert_array_equal(fc.update(y[250:270], X=exog[250:270]).predict(5, X=exog[270:275]),
                                  sk.update(exog[250:270], y[250:270]).predict(exog[270:275]))
    alone = SSMNForecaster(random_state=0).fit(y[tr])
    assert not hasattr(alone, "n_features_in_") and alone.n_exog_ == 0
    np.testing.assert_array_equal(SSMNForecaster(random_state=0).fit(y=y[tr]).predict(5),
                                  alone.predict(5))
    np.testing.assert_array_equal(SSMNForecaster(random_state=0).fit(y[tr], None).predict(5),
                                  alone.predict(5))                      # Pipeline's fit(X, None)
    assert alone.score(y[250:260]) == pytest.approx(
        1 - np.sum((alone.predict(10) - y[250:260]) ** 2) / np.sum((y[250:260] - y[250:260].mean()) ** 2))
    # wrong calls are refused with errors that say what to do
    with pytest.raises(ValueError, match=r"HINT: two positional arguments are read in "
                                         r"scikit-learn's order, fit\(X, y\); pass the series first "
                                         r"and the exogenous inputs by keyword: fit\(y, X=exog\)"):
        SSMNForecaster().fit(y[tr], exog[tr])
    with pytest.raises(ValueError, match="requires y to be passed, but the target y is None"):
        SSMNForecaster().fit(X=exog[tr])
    with pytest.raises(TypeError, match="two positional arguments .* and X by keyword"):
        SSMNForecaster().fit(exog[tr], y[tr], X=exog[tr])
    with pytest.raises(TypeError, match="at most 2 positional arguments"):
        SSMNForecaster().fit(y[tr], exog[tr], exog[tr])
    with pytest.raises(ValueError, match="exogenous inputs twice"):
        sk.predict(exog[250:260], exog[250:260])
    with pytest.raises(ValueError, match="horizon must be an integer >= 1 or the 2-D"):
        sk.predict(2.5)
    with pytest.raises(ValueError, match="predict needs the horizon"):
        sk.predict()
    with pytest.raises(ValueError, match="fitted without X. HINT: refit with fit\\(y, X=exog\\)"):
        alone.predict(3, X=exog[:3])
    with pytest.raises(ValueError, match="has 40 rows but y has 50 time steps: score"):
        fc.score(y[te], X=exog[250:290])


def test_forecaster_grid_search_scores_out_of_sample_forecasts():
    rng = np.random.default_rng(2)
    exog = rng.normal(size=(400, 1))
    y = _sine(400) + 0.3 * exog[:, 0]
    search = GridSearchCV(SSMNForecaster(random_state=0), {"lags": [2, 8]},
                          cv=TimeSeriesSplit(n_splits=2, test_size=40)).fit(exog, y)
    # R^2 of 40-step forecasts per split: measured 0.27 with 2 lags, 0.92 with 8
    assert search.best_params_ == {"lags": 8} and search.best_score_ > 0.8
    # the series alone: GridSearchCV calls fit(y_train, None) and score(y_test, None)
    alone = GridSearchCV(SSMNForecaster(random_state=0), {"lags": [2, 8]},
                         cv=TimeSeriesSplit(n_splits=2, test_size=40)).fit(_sine(400))
    assert alone.best_params_ == {"lags": 8} and alone.best_score_ > 0.9
    split_scores = [alone.cv_results_[f"split{i}_test_score"][1] for i in range(2)]
    expected = [SSMNForecaster(lags=8, random_state=0).fit(_sine(400)[:end]).score(_sine(400)[end:end + 40])
                for end in (320, 360)]
    np.testing.assert_allclose(split_scores, expected)


def test_forecaster_differences_forecast_a_trend():
    t = np.arange(600)
    y = 0.05 * t + _sine(600)
    level = SSMNForecaster(random_state=0).fit(y[:400])
    diff = SSMNForecaster(differences=1, random_state=0).fit(y[:400])
    err = {name: np.sqrt(np.mean((f.predict(100) - y[400:500]) ** 2))
           for name, f in (("level", level), ("diff", diff))}
    assert err["diff"] < 0.05 and err["level"] < 0.05  # the lags' linear term follows it too
    rolling = diff.predict_stream(y[400:], horizon=5, stride=50)
    assert rolling.shape == (4, 5)
    np.testing.assert_allclose(rolling[0], diff.predict(5), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rolling[1], diff.update(y[400:450]).predict(5), rtol=1e-6, atol=1e-6)


def test_ridge_read_out_sees_the_current_input():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 * np.r_[0.0, X[:-1, 0]]
    reg = SSMNRegressor(solver="ridge", random_state=0).fit(X[:500], y[:500])
    assert reg.input_coef_.shape == (1, 3)
    assert reg.score(X[500:], y[500:]) > 0.97  # the current input explains 98% of the variance
    auto = SSMNRegressor(solver="ridge", ridge_alpha="auto", random_state=0).fit(X[:500], y[:500])
    assert auto.ridge_alpha_ > 0 and auto.score(X[500:], y[500:]) > 0.97


@pytest.mark.parametrize("est", [SSMNRegressor(solver="ridge", random_state=0, learning_rate=1e-3),
                                 SSMNClassifier(solver="ridge", random_state=0, learning_rate=1e-3)])
def test_partial_fit_after_a_ridge_fit_keeps_the_input_term(est):
    X, y = _stream(400)
    y = y > 0 if isinstance(est, SSMNClassifier) else y
    est.fit(X[:300], y[:300])
    coef, before = est.input_coef_.copy(), est.score(X[300:], y[300:])
    for start in range(300, 400, 25):
        est.partial_fit(X[start:start + 25], y[start:start + 25])
    np.testing.assert_array_equal(est.input_coef_, coef)
    assert est.score(X[300:], y[300:]) > before - 0.1  # Adam continues from the ridge fit


def test_forecaster_refuses_a_horizon_beyond_memory():
    from ssmn_rl.errors import SizeError

    f = SSMNForecaster(lags=3, random_state=0).fit(np.sin(np.arange(60)))
    with pytest.raises(SizeError, match="predict's horizon needs"):
        f.predict(2**40)


# ---------------------------------------------------------------- every SSMN option, every face
#: A valid non-default value for every option in ssmn_rl.options.MODEL_OPTIONS, and what the
#: network's configuration then holds (a new option needs an entry here: the test below fails
#: until it has one).
NON_DEFAULT = {
    "variant": ("custom_split", {"variant": "custom_split"}),
    "hidden_dim": (12, {"hidden_dim": 12}),
    "window_size": (3, {"window_size": 3}),
    "n_layers": (4, {"n_layers": 4}),
    "plastic_ratio": (0.5, {"plastic_ratio": 0.5}),
    "rule": ("oja", {"rule": "oja"}),
    "rule_params": ({"eps": 1e-3}, {"rule_params": {"eps": 1e-3}}),
    "rule_backend": ("numpy", {"rule_backend": "numpy"}),
    "plasticity_eta": (0.05, {"plasticity_eta": 0.05}),
    "decay_lambda": (0.02, {"decay_lambda": 0.02}),
    "memory": ("short_term", {"plasticity_eta": MEMORY_PRESETS["short_term"]["plasticity_eta"],
                              "decay_lambda": MEMORY_PRESETS["short_term"]["decay_lambda"]}),
    "clip": (0.5, {"clip": 0.5}),
    "alpha": (0.7, {"alpha": 0.7}),
    "preset": ("prototype", {"preset": "prototype", "position_bias": False, "residual": False}),
    "position_bias": (np.bool_(False), {"position_bias": False}),
    "residual": (np.bool_(False), {"residual": False}),
    "neuromodulation": (True, {"neuromodulation": True}),
    "learned_decay": (True, {"learned_decay": True}),
    "norm": ("rms", {"norm": "rms"}),
    "n_heads": (2, {"n_heads": 2}),
    "chat_steps": (3, {"chat_steps": 3}),
    "dtype": ("float64", {"dtype": "float64"}),
}
#: Options that need another option to take effect (rule_params are the rule's own).
NEEDS = {"rule_params": {"rule": "delta", "variant": "custom_split", "plastic_ratio": 0.5},
         "plastic_ratio": {"variant": "custom_split"}}


def _faces():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    fit = {"SSMNRegressor": lambda **kw: SSMNRegressor(max_iter=1, **kw).fit(X, y).model_,
           "SSMNClassifier": lambda **kw: SSMNClassifier(max_iter=1, **kw).fit(X, y > 0).model_,
           "SSMNTransformer": lambda **kw: SSMNTransformer(**kw).fit(X).model_,
           "SSMNForecaster": lambda **kw: SSMNForecaster(
               lags=2, regressor=SSMNForecaster.default_regressor(**kw)).fit(y).regressor_.model_,
           "SSMNLanguageModel": lambda **kw: SSMNLanguageModel(
               embed_dim=4, hidden_dim=kw.pop("hidden_dim", 8), max_epochs=1, n_jobs=1,
               validation_fraction=0.0, **kw).fit("abcabcabd").model_}
    return fit


@pytest.mark.parametrize("option", [o.name for o in MODEL_OPTIONS])
@pytest.mark.parametrize("face", sorted(_faces()))
def test_every_model_option_reaches_the_network_from_every_face(option, face):
    assert option in NON_DEFAULT, f"give {option!r} a non-default value in NON_DEFAULT"
    if face == "SSMNLanguageModel" and option == "variant":
        pytest.skip("the language model is always text_native")
    value, expected = NON_DEFAULT[option]
    kw = {**NEEDS.get(option, {}), option: value}
    if face == "SSMNLanguageModel":
        kw.pop("variant", None)
    config = _faces()[face](**kw).config
    for name, want in expected.items():
        got = getattr(config, name)
        assert (got == pytest.approx(want) if isinstance(want, float) else got == want), (name, got)


def test_the_estimators_declare_one_shared_parameter_set():
    model_names = [o.name for o in MODEL_OPTIONS]
    for cls in (SSMNRegressor, SSMNClassifier, SSMNTransformer):
        params = cls().get_params()
        assert all(name in params for name in model_names)
        assert all(name in cls._parameter_constraints for name in params)
    lm = SSMNLanguageModel().get_params()
    assert all(name in lm for name in model_names if name != "variant") and "variant" not in lm
    # the forecaster does not copy them: it wraps a regressor
    assert set(SSMNForecaster().get_params(deep=False)) == {"regressor", "lags", "differences", "random_state"}
    deep = SSMNForecaster(regressor=SSMNRegressor()).get_params(deep=True)
    assert all(f"regressor__{name}" in deep for name in model_names)


def test_the_default_cell_reads_the_token_two_steps_back():
    """One-hot token sequences, target: the token seen 2 steps before the last (the issue's case:
    the prototype's window cannot tell its slots apart; the default cell, position-aware, can)."""
    rng = np.random.default_rng(0)
    V, T, N = 6, 8, 600
    ids = rng.integers(0, V, (N, T))
    X, y = np.eye(V)[ids], ids[:, -3]
    kw = dict(hidden_dim=32, window_size=4, max_iter=40, batch_size=32, random_state=0)
    plain = SSMNClassifier(preset="prototype", **kw).fit(X[:500], y[:500]).score(X[500:], y[500:])
    default = SSMNClassifier(**kw).fit(X[:500], y[:500]).score(X[500:], y[500:])
    assert default > plain + 0.2, (plain, default)


def test_token_input_variants_are_refused_with_a_hint_where_inputs_are_real():
    X, y = _stream(40)
    with pytest.raises(ConfigError, match="variant must be one of the real-input variants .*got "
                                          "'text_native'.*HINT: for text use"):
        SSMNTransformer(variant="text_native").fit(X)
    with pytest.raises(ConfigError, match="regressor's variant 'text_native' reads token ids"):
        SSMNForecaster(regressor=SSMNRegressor(variant="text_native")).fit(y)
    with pytest.raises(ValueError, match="X must hold integer token ids"):
        SSMNRegressor(variant="text_native", max_iter=1).fit(X, y)
    for name, value in (("vocab_size", 10), ("embed_dim", 8)):
        with pytest.raises(ConfigError, match=f"{name} is for token-input variants.*got {name}={value}"):
            SSMNRegressor(max_iter=1, **{name: value}).fit(X, y)


def _tokens(N=600, V=6, T=8, seed=0):
    return np.random.default_rng(seed).integers(0, V, (N, T))


@pytest.mark.parametrize("solver", ["adam", "ridge"])
def test_text_native_classifier_reads_integer_token_sequences(solver):
    """variant="text_native": X (n_sequences, T) of token ids through the embedding; the label is
    the token two steps before the last (the ridge read-out of a random network gets part of it,
    trained end to end it is exact)."""
    ids = _tokens()
    y = ids[:, -3]
    clf = SSMNClassifier(variant="text_native", embed_dim=8, hidden_dim=32, window_size=4, max_iter=40,
                         batch_size=32, solver=solver, random_state=0).fit(ids[:500], y[:500])
    cfg = clf.model_.config
    assert (cfg.variant, cfg.input_dim, cfg.vocab_size, clf.vocab_size_, clf.n_features_in_) == \
        ("text_native", 8, 6, 6, 1)
    assert clf.predict_proba(ids[500:]).shape == (100, 6)
    assert clf.score(ids[500:], y[500:]) > (0.95 if solver == "adam" else 0.3)
    # any sequence length at prediction; ids beyond the vocabulary are refused by name
    assert clf.predict(ids[:3, :5]).shape == (3,)
    with pytest.raises(ValueError, match=r"token id 6, outside \[0, 6\) \(vocab_size\)"):
        clf.predict(np.full((2, 4), 6))
    with pytest.raises(ValueError, match="2-D integer token ids of shape"):
        clf.predict(ids[:, :, None])


def test_text_native_regressor_per_step_targets_and_partial_fit():
    """Per-step targets (the running count of token 0), more classes than token ids, and
    partial_fit continuing on new sequences."""
    ids = _tokens(300, V=3, T=10, seed=1)
    y = np.cumsum(ids == 0, axis=1).astype(float)
    kw = dict(variant="text_native", target="step", hidden_dim=16, random_state=0)
    reg = SSMNRegressor(max_iter=30, **kw).fit(ids[:250], y[:250])
    assert reg.predict(ids[250:]).shape == (50, 10)
    pred = reg.predict(ids[250:])
    assert np.mean((pred - y[250:]) ** 2) < 0.5 * y[250:].var()
    labels = np.arange(300) % 5  # 5 classes, 3 token ids: the network gets 5 outputs
    clf = SSMNClassifier(variant="text_native", hidden_dim=8, random_state=0, max_iter=1)
    clf.partial_fit(ids[:100], labels[:100], classes=np.arange(5))
    clf.partial_fit(ids[100:200], labels[100:200])
    assert clf.model_.config.vocab_size == 5 and clf.predict_proba(ids[:4]).shape == (4, 5)
    with pytest.raises(ValueError, match=r"outside \[0, 3\) \(vocab_size\)"):
        clf.partial_fit(ids[:10] + 1, labels[:10])
    fixed = SSMNClassifier(variant="text_native", vocab_size=50, hidden_dim=8, max_iter=1).fit(ids, labels)
    assert fixed.vocab_size_ == 50 and fixed.predict(np.full((1, 3), 49)).shape == (1,)


def test_warmup_and_time_budget_reach_the_trainer():
    X, y = _stream(200)
    base = dict(max_iter=5, random_state=0, tol=0, lr_schedule="cosine")
    ref = SSMNRegressor(**base).fit(X, y).predict(X)
    warm = SSMNRegressor(warmup_fraction=0.5, **base).fit(X, y).predict(X)
    assert not np.allclose(ref, warm)
    reg = SSMNRegressor(max_iter=100000, tol=0, max_time=0.5, random_state=0).fit(X, y)
    assert 1 <= reg.n_iter_ < 100000 and len(reg.loss_curve_) == reg.n_iter_


def test_forecaster_grid_search_over_the_wrapped_regressor():
    y = _sine(300)
    search = GridSearchCV(SSMNForecaster(regressor=SSMNForecaster.default_regressor(), random_state=0),
                          {"regressor__hidden_dim": [4, 16], "lags": [2, 8]},
                          cv=TimeSeriesSplit(n_splits=2, test_size=30)).fit(y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["lags"] == 8
    with pytest.raises(ValueError, match=r"The 'regressor' parameter of SSMNForecaster must be an "
                                         r"instance of '[\w.]*SSMNRegressor' or None. Got Ridge\(\) instead"):
        SSMNForecaster(regressor=Ridge()).fit(y)


def test_solver_auto_keeps_the_solver_better_on_the_time_ordered_tail():
    """solver="auto": ridge on a target the inputs explain linearly; Adam where the read-out of a
    random network cannot (the token two steps back); both repeatable with random_state."""
    X, y = _stream(600)
    reg = SSMNRegressor(solver="auto", max_iter=20, random_state=0).fit(X, y)
    assert reg.solver_ == "ridge" and set(reg.solver_scores_) == {"ridge", "adam"}
    assert reg.solver_scores_["ridge"] <= reg.solver_scores_["adam"] and reg.input_coef_ is not None
    again = SSMNRegressor(solver="auto", max_iter=20, random_state=0).fit(X, y)
    np.testing.assert_array_equal(reg.predict(X), again.predict(X))
    ids = _tokens(600)
    clf = SSMNClassifier(variant="text_native", solver="auto", max_iter=30, batch_size=32,
                         random_state=0).fit(ids, ids[:, -3])
    assert clf.solver_ == "adam" and clf.solver_scores_["adam"] < clf.solver_scores_["ridge"]
    assert clf.score(ids, ids[:, -3]) > 0.9
    # too short to hold a tail out: the closed form, no scores
    tiny = SSMNRegressor(solver="auto", random_state=0).fit(X[:5], y[:5])
    assert tiny.solver_ == "ridge" and tiny.solver_scores_ == {}
    assert SSMNRegressor(solver="auto", random_state=0).partial_fit(X, y).solver_ == "adam"


def test_forecaster_lags_auto_picks_on_the_tail_and_is_repeatable():
    y = _sine(600)
    f = SSMNForecaster(lags="auto", random_state=0).fit(y)
    assert set(f.lag_scores_) == {1, 2, 4, 8, 16, 32} and f.lags_ == min(f.lag_scores_, key=f.lag_scores_.get)
    assert f.lag_scores_[f.lags_] < f.lag_scores_[1]
    assert f.history_.shape == (f.lags_, 1)
    np.testing.assert_array_equal(f.predict(5), SSMNForecaster(lags="auto", random_state=0).fit(y).predict(5))
    assert SSMNForecaster(lags=3).fit(y).lags_ == 3
    with pytest.raises(ValueError, match="lags='auto' needs at least 4.*HINT: give lags as an integer"):
        SSMNForecaster(lags="auto").fit(y[:3])
