"""SSMNForecaster: multi-step forecasts of univariate or multivariate series, with optional
exogenous inputs, by an SSMN trained on one-step-ahead prediction and rolled out recursively.

At step t the network reads ``[d_t, d_{t-1}, ..., d_{t-lags+1}, X_{t+1}]`` (the last ``lags``
values of the modelled series d, newest first, and the exogenous inputs of the step being
forecast) and outputs ``d_{t+1}``. The modelled series is the series itself
(``differences=0``) or its first differences (``differences=1``, for series with a trend: the
forecasts are summed back onto the last observed value). Series and exogenous inputs are
standardised with the statistics of the fitted data. With the default ``solver="ridge"`` the
read-out sees the network's features z_t *and* the lagged values it reads, so it contains a linear
autoregression on the lags and adds what the network's features explain beyond it. Forecasting
continues from the state at the end of the fitted series: the fast weights keep adapting to what
the network reads, the parameters do not.

Calling conventions. A forecaster is called ``fit(y, X=None)`` / ``predict(horizon, X=None)``
(the series first, exogenous inputs by keyword); scikit-learn's machinery (``Pipeline``,
``GridSearchCV``, ``cross_val_score``, the common estimator checks) calls ``fit(X, y)`` /
``predict(X)`` / ``score(X, y)`` with positional arguments. Both work, by one rule shared by
:meth:`fit`, :meth:`score`, :meth:`predict_stream` and :meth:`update`:

* keywords are never ambiguous: ``y=`` is the series, ``X=`` the exogenous inputs;
* one positional argument is the series (``fit(y)``, ``fit(y, X=exog)``) -- unless ``y`` is given
  by keyword, then it is ``X`` (scikit-learn's ``score(X, y=y)``);
* two positional arguments are scikit-learn's ``(X, y)``: exogenous inputs, then the series; a
  second positional argument of None means "no y" and the first is the series (a ``Pipeline`` or
  ``GridSearchCV`` fitted without y passes ``fit(X, None)``).

The forecaster order with two positional arguments, ``fit(series, exog)``, is therefore *not*
supported: with a 1-D series it is refused with a hint (the exogenous inputs must be 2-D), but a
2-D (multivariate) series and 2-D exogenous inputs cannot be told apart from scikit-learn's order
-- pass the exogenous inputs as ``X=``. ``predict(horizon)`` with an integer forecasts that many
steps (``X=`` gives their exogenous inputs); ``predict(X)`` with a 2-D array (scikit-learn order)
forecasts ``len(X)`` steps whose exogenous inputs are the rows of ``X``. ``score`` is the R² of
the forecast of the ``len(y)`` steps that follow the fitted series, so ``GridSearchCV`` with a
``TimeSeriesSplit`` scores true out-of-sample forecasts, with or without exogenous inputs
(``search.fit(series)`` or ``search.fit(exog, series)``).
"""
from __future__ import annotations

import numbers
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_array, check_is_fitted, validate_data

from .. import _kernels
from ..errors import ConfigError
from ..plugin_manager import get_variant, list_variants
from ..state import SSMNState
from ..options import Option, declare
from ._readout import outputs
from ._regressor import SSMNRegressor

#: What ``regressor=None`` fits: the ridge read-out on the network's features and the lagged values
#: (a fit takes seconds and forecast better than BPTT with the default Adam settings on the series
#: of scripts/bench_timeseries.py), with its penalty chosen on the end of the series.
_DEFAULT_REGRESSOR = {"solver": "ridge", "ridge_alpha": "auto"}

#: The numbers of lags that ``lags="auto"`` tries.
AUTO_LAGS = (1, 2, 4, 8, 16, 32)
#: Share of the series (its time-ordered end) on which ``lags="auto"`` scores the candidates.
AUTO_TAIL = 0.2

FORECASTER_OPTIONS: tuple[Option, ...] = (
    Option("regressor", None, [SSMNRegressor, None], "SSMNRegressor or None",
           "The one-step-ahead model, fitted (as a clone) on the 2-D stream of rows "
           "``[d_t, ..., d_{t-lags+1}, X_{t+1}]``; every network, solver and training option is "
           "its own (``regressor__hidden_dim`` etc. in a grid search). None: "
           "``SSMNRegressor(solver=\"ridge\", ridge_alpha=\"auto\")`` "
           "(:meth:`default_regressor`); a regressor you pass is used as it is, so pass "
           "``SSMNForecaster.default_regressor(hidden_dim=64)`` to change one option and keep the "
           "ridge read-out. Early stopping holds out the end of the series."),
    Option("lags", "auto", [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
           "int >= 1 or \"auto\"",
           "Number of past values of the (modelled) series in each input row (newest first). "
           "\"auto\" picks it from ``AUTO_LAGS`` (1, 2, 4, 8, 16, 32, those the series is long enough "
           "for) inside ``fit``: each candidate is fitted on the series less its time-ordered last "
           "20% and scored by the one-step error of its rolling forecasts over that tail; the best "
           "is refitted on the whole series (``lags_``). It costs one fit per candidate more, and is "
           "repeatable with ``random_state``. The default: chosen by leave-one-task-out over 11 "
           "series against lags=8, hidden_dim=64 and differences=1 (``scripts/bench_estimators.py "
           "--loto``; mean rank 2.0 against 2.8 for lags=8, picked for every held-out series; see "
           "the README)."),
    Option("differences", 0, [Interval(Integral, 0, 1, closed="both")], "{0, 1}",
           "1 models the first differences of the series (for series with a trend, which a model "
           "standardised with the statistics of the fitted data cannot extrapolate); forecasts are "
           "summed back onto the last observed value."),
    Option("random_state", None, ["random_state"], "int, RandomState instance or None",
           "When not None, replaces the regressor's own ``random_state``: the same value gives the "
           "same fit."),
)


def _resolve_call(args: tuple, y, X, what: str):
    """The calling convention of the module docstring: (series, exogenous inputs) from the
    positional arguments and the ``y=`` / ``X=`` keywords of ``what`` (fit, score, ...). Either may
    be None; nothing is validated here but the number and kind of arguments."""
    n = len(args)
    if n > 2:
        raise TypeError(f"{what}() takes at most 2 positional arguments (the series y, or "
                        f"scikit-learn's X, y), got {n}")
    by_keyword = [name for name, v in (("y", y), ("X", X)) if v is not None]
    if n == 2:
        if by_keyword:
            raise TypeError(f"{what}() got two positional arguments (read as scikit-learn's X, y) "
                            f"and {' and '.join(by_keyword)} by keyword as well")
        first, second = args
        return (first, None) if second is None else (second, first)
    if n == 1:
        if len(by_keyword) == 2:
            raise TypeError(f"{what}() got a positional argument and both y and X by keyword")
        if y is not None:
            return y, args[0]  # scikit-learn's f(X, y=y)
        return args[0], X  # the forecaster's f(y) and f(y, X=X)
    return y, X


def _lag_rows(Y: np.ndarray, lags: int) -> np.ndarray:
    """Y (n, k) oldest first -> (n - lags + 1, lags * k): row r is [Y[t], Y[t-1], ..., Y[t-lags+1]]
    for t = r + lags - 1 (newest first)."""
    n = len(Y)
    return np.hstack([Y[lags - 1 - j: n - j] for j in range(lags)])


@declare(FORECASTER_OPTIONS)
class SSMNForecaster(RegressorMixin, BaseEstimator):
    """Sparse-Stream Memory Network forecaster.

    Called as a forecaster: ``fit(y, X=None)``, ``predict(horizon, X=None)``,
    ``predict_stream(y, X=None, horizon=1, stride=1)``, ``update(y, X=None)``, ``score(y,
    X=None)``: the series first, exogenous inputs by the keyword ``X=``. scikit-learn's machinery
    calls ``fit(X, y)``, ``predict(X)`` and ``score(X, y)`` with positional arguments, which work
    too: two positional arguments are read in scikit-learn's order (exogenous inputs, then the
    series), so the forecaster passes scikit-learn's common estimator checks and works in
    ``Pipeline`` and ``GridSearchCV``. Hence ``fit(series, exog)`` with two positional arguments
    is *not* the forecaster order: pass ``X=exog`` (a 1-D series given that way is refused with a
    hint; a multivariate one cannot be told apart from scikit-learn's order). Details in the
    module docstring of ``ssmn_rl.estimators._forecaster``.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    regressor_ : SSMNRegressor
        The fitted one-step-ahead model (2-D stream of ``[d_t, ..., d_{t-lags+1}, X_{t+1}]``
        rows).
    state_ : ssmn_rl.SSMNState
        Network state at the forecast origin (end of the fitted series, or of the last
        :meth:`update`).
    n_series_ : int
        Number of variables of the series.
    n_exog_ : int
        Number of exogenous inputs (0 without ``X``).
    n_features_in_ : int
        Same as ``n_exog_``; only set when the forecaster was fitted with ``X``.
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
    history_ : ndarray of shape (lags_, n_series)
        The last ``lags_`` values of the modelled series before the forecast origin (standardised,
        oldest first).
    last_value_ : ndarray of shape (n_series,)
        The last observed value of the series (where ``differences=1`` forecasts start from).
    y_mean_, y_scale_, X_mean_, X_scale_ : ndarray
        Standardisation of the modelled series and of the exogenous inputs.
    n_iter_ : int
        Epochs run by the solver.
    lags_ : int
        The number of lags used (``lags``, or the one ``lags="auto"`` chose).
    lag_scores_ : dict
        Only with ``lags="auto"``: each candidate's standardised one-step mean squared error on
        the tail of the series.

    Examples
    --------
    >>> import numpy as np
    >>> from ssmn_rl.estimators import SSMNForecaster
    >>> t = np.arange(500)
    >>> y = np.sin(2 * np.pi * t / 25)
    >>> f = SSMNForecaster(regressor=SSMNForecaster.default_regressor(hidden_dim=64),
    ...                    random_state=0).fit(y[:400])
    >>> f.predict(10).shape
    (10,)
    >>> one_step = f.predict_stream(y[400:])        # rolling forecasts, no refit
    >>> bool(np.sqrt(np.mean((one_step[:, 0] - y[400:]) ** 2)) < 0.1)
    True

    With exogenous inputs, known for the forecast steps too:

    >>> exog = np.cos(2 * np.pi * t / 7)[:, None]
    >>> fx = SSMNForecaster(random_state=0).fit(y[:400] + exog[:400, 0], X=exog[:400])
    >>> fx.predict(10, X=exog[400:410]).shape
    (10,)
    """

    @staticmethod
    def default_regressor(**params) -> SSMNRegressor:
        """The regressor fitted when ``regressor=None``, with ``params`` changed: e.g.
        ``SSMNForecaster(regressor=SSMNForecaster.default_regressor(hidden_dim=64))``."""
        return SSMNRegressor(**{**_DEFAULT_REGRESSOR, **params})

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    # ------------------------------------------------------------------ data
    def _series_and_exog(self, args, y, X, *, reset: bool, what: str):
        """Apply the calling convention and validate: returns (series (n, k) float64, exog
        (n, m) float64 or None, whether the series was 1-D)."""
        series, exog = _resolve_call(args, y, X, what)
        if series is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is "
                             f"None. HINT: {what} takes the series as its first argument, "
                             f"{what}(y) or {what}(y, X=exog).")
        if exog is None:
            ys = check_array(series, ensure_2d=False, dtype=np.float64, input_name="y")
            if ys.ndim != 1 and ys.ndim != 2:
                raise ValueError(f"the series y must be 1-D or 2-D, got shape {ys.shape}")
            if reset:
                for attr in ("n_features_in_", "feature_names_in_"):
                    self.__dict__.pop(attr, None)
        else:
            ndim = None if hasattr(exog, "toarray") else np.asarray(exog).ndim
            if ndim is not None and ndim != 2:
                raise ValueError(
                    f"Expected 2D array, got {ndim}D array instead for the exogenous inputs X of "
                    f"{what} (shape (n_timesteps, n_exog)). HINT: two positional arguments are read "
                    f"in scikit-learn's order, {what}(X, y); pass the series first and the "
                    f"exogenous inputs by keyword: {what}(y, X=exog).")
            n_x, n_y = _num_samples(exog), _num_samples(series)
            if n_x != n_y:
                raise ValueError(f"X (exogenous inputs) has {n_x} rows but the series y has {n_y} "
                                 f"time steps: {what} needs one row of X per step of y.")
            exog, ys = validate_data(self, exog, series, reset=reset, dtype=np.float64,
                                     multi_output=True, y_numeric=True)
        flat = ys.ndim == 1
        ys = ys[:, None] if flat else ys
        if not reset and ys.shape[1] != self.n_series_:
            raise ValueError(f"y has {ys.shape[1]} variables, but {type(self).__name__} was "
                             f"fitted on a series with {self.n_series_}.")
        return ys, exog, flat

    def _scale_exog(self, exog, n: int, what: str) -> np.ndarray:
        """Standardised exogenous inputs (n, n_exog) for ``what``; validates presence and shape."""
        if self.n_exog_ == 0:
            if exog is not None:
                raise ValueError(f"X (exogenous inputs) was given to {what}, but the forecaster was "
                                 "fitted without X. HINT: refit with fit(y, X=exog) to use them.")
            return np.zeros((n, 0))
        if exog is None:
            raise ValueError(f"{what} needs X (exogenous inputs) of shape ({n}, {self.n_exog_}): "
                             "the forecaster was fitted with X.")
        if len(exog) != n:
            raise ValueError(f"X (exogenous inputs) must have shape ({n}, {self.n_exog_}) for "
                             f"{what}, one row per step; got shape {exog.shape}")
        return (exog - self.X_mean_) / self.X_scale_

    def _regressor(self) -> SSMNRegressor:
        reg = self.default_regressor() if self.regressor is None else clone(self.regressor)
        if reg.variant in {e["name"] for e in list_variants()} and get_variant(reg.variant).token_input:
            raise ConfigError(f"{type(self).__name__}: the regressor's variant {reg.variant!r} reads "
                              "token ids, but a forecaster feeds it real-valued lagged values. HINT: "
                              "use a real-input variant (\"standard\", \"custom_split\") in "
                              "regressor=SSMNForecaster.default_regressor(variant=...).")
        if self.random_state is not None:
            reg.set_params(random_state=self.random_state)
        return reg

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, *args, y=None, X=None):
        """Fit on a series, with or without exogenous inputs.

        Call it ``fit(y)`` or ``fit(y, X=exog)`` (also ``fit(y=y, X=exog)``), or in
        scikit-learn's order ``fit(exog, y)`` with two positional arguments, as ``Pipeline`` and
        ``GridSearchCV`` do (see the module docstring for the full rule).

        Parameters
        ----------
        *args : array-like
            One argument: the series ``y``. Two: scikit-learn's ``X, y`` (exogenous inputs, then
            the series; ``fit(X, None)`` takes ``X`` as the series).
        y : array-like of shape (n_timesteps,) or (n_timesteps, n_series)
            The series, in time order (at least ``lags + differences + 1`` steps).
        X : array-like of shape (n_timesteps, n_exog), optional
            Exogenous inputs known at each step (row t goes with ``y[t]``).

        Returns
        -------
        self : object
        """
        for attr in ("n_series_", "n_exog_", "lags_", "lag_scores_"):
            self.__dict__.pop(attr, None)
        ys, exog, flat = self._series_and_exog(args, y, X, reset=True, what="fit")
        lags = self._choose_lags(ys, exog, flat) if self.lags == "auto" else self.lags
        n, need = len(ys), lags + self.differences + 1
        if n < need:
            raise ValueError(f"Found {n} sample(s) while a minimum of {need} is required: "
                             f"{type(self).__name__} with lags={lags} and "
                             f"differences={self.differences} needs at least {need} time steps.")
        self.lags_ = int(lags)
        self._univariate = flat
        self.n_series_ = ys.shape[1]
        self.last_value_ = ys[-1].copy()
        d = np.diff(ys, axis=0) if self.differences else ys
        self.y_mean_ = d.mean(axis=0)
        self.y_scale_ = np.where(d.std(axis=0) > 0, d.std(axis=0), 1.0)
        if exog is None:
            self.n_exog_ = 0
            self.X_mean_ = self.X_scale_ = np.zeros(0)
        else:
            self.n_exog_ = exog.shape[1]
            self.X_mean_ = exog.mean(axis=0)
            self.X_scale_ = np.where(exog.std(axis=0) > 0, exog.std(axis=0), 1.0)
        ds = (d - self.y_mean_) / self.y_scale_
        Xs = self._scale_exog(exog, n, "fit")[self.differences:]
        U = np.hstack([_lag_rows(ds, lags)[:-1], Xs[lags:]])
        self.regressor_ = self._regressor().fit(U, ds[lags:])
        self.state_ = self.regressor_.stream_state_
        self.history_ = ds[len(ds) - lags:].copy()
        self.n_iter_ = self.regressor_.n_iter_
        return self

    def _choose_lags(self, ys, exog, flat) -> int:
        """``lags="auto"``: the candidate of AUTO_LAGS with the smallest mean squared one-step error
        (standardised by the tail's variance) on the last AUTO_TAIL of the series, each fitted on
        what comes before; sets ``lag_scores_`` (candidate -> that error)."""
        n = len(ys)
        n_tail = max(1, int(round(AUTO_TAIL * n)))
        head = n - n_tail
        fits = [c for c in AUTO_LAGS if head >= c + self.differences + 2]
        if not fits:
            need = int(np.ceil((AUTO_LAGS[0] + self.differences + 2) / (1 - AUTO_TAIL)))
            raise ValueError(f"Found {n} sample(s) while lags='auto' needs at least {need}: it "
                             f"fits candidates on the first {1 - AUTO_TAIL:.0%} of the series. HINT: "
                             "give lags as an integer for a series this short.")
        y_head, y_tail = ys[:head], ys[head:]
        x_head, x_tail = (None, None) if exog is None else (exog[:head], exog[head:])
        scale = np.where(y_tail.std(axis=0) > 0, y_tail.std(axis=0), 1.0)
        scores = {}
        for c in fits:
            f = clone(self).set_params(lags=c)
            f.fit(y=y_head[:, 0] if flat else y_head, X=x_head)
            pred = f.predict_stream(y=y_tail[:, 0] if flat else y_tail, X=x_tail)
            pred = pred.reshape(len(y_tail), 1, -1)[:, 0]
            err = float(np.mean(((pred - y_tail) / scale) ** 2))
            scores[c] = err if np.isfinite(err) else np.inf
        self.lag_scores_ = scores
        return min(scores, key=lambda c: (scores[c], c))

    # ------------------------------------------------------------------ forecasting
    def _model_outputs(self, U, state, return_state=False):
        """One-step forecasts, in units of the standardised modelled series, for input rows U (the
        regressor's outputs are in its own target scaling)."""
        reg = self.regressor_
        res = outputs(reg.model_, reg.input_coef_, U, state=state, return_state=return_state)
        if return_state:
            return res[0] * reg.y_scale_ + reg.y_mean_, res[1]
        return res * reg.y_scale_ + reg.y_mean_

    def _rollout(self, state: SSMNState, hist: np.ndarray, exog: np.ndarray) -> np.ndarray:
        """Recursive forecasts for B origins at once: state (B streams), hist (B, lags, k) the last
        values of the modelled series, oldest first (standardised), exog (B, h, m). Returns the
        standardised modelled series (B, h, k)."""
        B, h = exog.shape[:2]
        out = np.empty((B, h, self.n_series_))
        for j in range(h):
            lagged = hist[:, ::-1].reshape(B, -1)
            u = np.hstack([lagged, exog[:, j]])[:, None, :]
            pred, state = self._model_outputs(u, state, return_state=True)
            pred = pred[:, 0]
            hist = np.concatenate([hist[:, 1:], pred[:, None]], axis=1)
            out[:, j] = pred
        return out

    def _to_series(self, Ds: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """Standardised modelled series (B, h, k) -> series values, given the last observed value
        (B, k) before each forecast (used with differences=1)."""
        D = Ds * self.y_scale_ + self.y_mean_
        Y = levels[:, None, :] + np.cumsum(D, axis=1) if self.differences else D
        return Y[..., 0] if self._univariate else Y

    def predict(self, horizon=None, X=None):
        """Forecast the steps after the end of the fitted series (or of the last :meth:`update`),
        feeding each forecast back as input. No side effects.

        Parameters
        ----------
        horizon : int >= 1, or array-like of shape (horizon, n_exog)
            Number of steps; or (scikit-learn's ``predict(X)``) the exogenous inputs of the
            forecast steps, one row per step. May be left out when ``X`` is given: the horizon is
            then ``len(X)``.
        X : array-like of shape (horizon, n_exog)
            Exogenous inputs of the forecast steps, one row per step; required iff fitted with X.

        Returns
        -------
        y : ndarray of shape (horizon,) or (horizon, n_series)
        """
        check_is_fitted(self)
        if horizon is None and X is None:
            raise ValueError("predict needs the horizon: predict(horizon) with an integer >= 1, or "
                             "predict(horizon, X=exog) / predict(X=exog) with the exogenous inputs "
                             "of the forecast steps")
        if horizon is None:
            h = None
        elif isinstance(horizon, numbers.Integral) and not isinstance(horizon, bool):
            if horizon < 1:
                raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}")
            h = int(horizon)
            check_is_fitted(self)
            # the forecast array, and the model's per-step features, must fit in memory
            width = max(self.n_series_, self.regressor_.model_.config.hidden_dim)
            _kernels.check_fits(h * width, 8, "predict's horizon")
        elif isinstance(horizon, (bool, numbers.Number, str)):
            raise ValueError(f"horizon must be an integer >= 1 or the 2-D exogenous inputs of the "
                             f"forecast steps, got {horizon!r}")
        else:
            if X is not None:
                raise ValueError("predict got exogenous inputs twice: pass predict(horizon, X) or "
                                 "predict(X), not both arrays")
            X, h = horizon, None
        what = "predict" if h is None else f"predict(horizon={h})"
        if X is not None:
            if self.n_exog_ == 0:
                self._scale_exog(X, 0, what)  # raises: fitted without X
            X = validate_data(self, X, reset=False, dtype=np.float64)
            h = len(X) if h is None else h
            if h < 1:
                raise ValueError("predict needs at least one row of exogenous inputs, got 0")
        Xs = self._scale_exog(X, h, what)
        Ds = self._rollout(self.state_.copy(), self.history_[None], Xs[None])
        return self._to_series(Ds, self.last_value_[None])[0]

    def score(self, *args, y=None, X=None, sample_weight=None):
        """R² of the forecast of the ``len(y)`` steps that follow the fitted series (or the last
        :meth:`update`), against ``y``. No side effects.

        Same calling convention as :meth:`fit`: ``score(y)``, ``score(y, X=exog)``, or
        scikit-learn's ``score(exog, y)``.

        Parameters
        ----------
        *args : array-like
            One argument: the series ``y``; two: scikit-learn's ``X, y``.
        y : array-like of shape (horizon,) or (horizon, n_series)
            The observed continuation of the series.
        X : array-like of shape (horizon, n_exog), optional
            Exogenous inputs of those steps; required iff fitted with X.
        sample_weight : array-like of shape (horizon,), optional

        Returns
        -------
        score : float
            ``sklearn.metrics.r2_score`` of the forecast (averaged over the variables).
        """
        check_is_fitted(self)
        series, exog = _resolve_call(args, y, X, "score")
        if series is None:
            raise ValueError(f"{type(self).__name__}.score requires y to be passed, but the target "
                             "y is None. HINT: score(y) or score(y, X=exog).")
        ys = check_array(series, ensure_2d=False, dtype=np.float64, input_name="y")
        if exog is not None and _num_samples(exog) != len(ys):
            raise ValueError(f"X (exogenous inputs) has {_num_samples(exog)} rows but y has "
                             f"{len(ys)} time steps: score needs one row of X per step of y.")
        return float(r2_score(ys, self.predict(len(ys), X=exog), sample_weight=sample_weight))

    def _new_data(self, args, y, X, what: str):
        """Validated new observations: standardised modelled series (n, k), standardised exog
        (n, m), the lag buffer (lags + n, k) and the last observed values before each step
        (n + 1, k)."""
        check_is_fitted(self)
        ys, exog, _ = self._series_and_exog(args, y, X, reset=False, what=what)
        levels = np.vstack([self.last_value_[None], ys])
        d = np.diff(levels, axis=0) if self.differences else ys
        ds = (d - self.y_mean_) / self.y_scale_
        Xs = self._scale_exog(exog, len(ds), what)
        full = np.vstack([self.history_, ds])
        return ds, Xs, full, levels

    def predict_stream(self, *args, y=None, X=None, horizon=1, stride=1):
        """Rolling forecasts over new observations that continue the series, without refitting.

        For each origin i = 0, stride, 2*stride, ... <= len(y) - horizon, the forecaster reads
        ``y[:i]`` (the fast weights adapt as it reads; the parameters do not change) and forecasts
        ``y[i : i + horizon]`` recursively. The fitted forecaster itself is not changed. Same
        calling convention as :meth:`fit`: ``predict_stream(y)``, ``predict_stream(y, X=exog)``.

        Parameters
        ----------
        *args : array-like
            One argument: the new observations ``y``; two: scikit-learn's ``X, y``.
        y : array-like of shape (n_timesteps,) or (n_timesteps, n_series)
            New observations, continuing the fitted series.
        X : array-like of shape (n_timesteps, n_exog), optional
            Exogenous inputs of the new steps; required iff fitted with X.
        horizon : int >= 1, default=1
        stride : int >= 1, default=1

        Returns
        -------
        forecasts : ndarray of shape (n_origins, horizon) or (n_origins, horizon, n_series)
            ``forecasts[r, j]`` is the forecast of ``y[r * stride + j]``.
        """
        for name, v in (("horizon", horizon), ("stride", stride)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        ds, Xs, full, levels = self._new_data(args, y, X, "predict_stream")
        n = len(ds)
        if horizon > n:
            raise ValueError(f"horizon={horizon} is longer than the {n} new observations")
        U = np.hstack([_lag_rows(full, self.lags_)[:n], Xs])
        if horizon == 1 and stride == 1:  # one pass: every step is an origin
            Ds = self._model_outputs(U, self.state_)[:, None, :]
            return self._to_series(Ds, levels[:n])
        origins = np.arange(0, n - horizon + 1, stride)
        model = self.regressor_.model_
        states, state, pos = [], self.state_.copy(), 0
        for i in origins:
            if i > pos:
                _, state = model.forward(U[pos:i].astype(model.dtype), state=state, return_state=True)
                pos = i
            states.append(state)
        exog = np.stack([Xs[i:i + horizon] for i in origins])
        hist = np.stack([full[i:i + self.lags_] for i in origins])
        Ds = self._rollout(SSMNState.concatenate(states), hist, exog)
        return self._to_series(Ds, levels[origins])

    def update(self, *args, y=None, X=None):
        """Move the forecast origin past new observations without refitting: the network reads
        them (its fast weights adapt), so :meth:`predict` then forecasts what follows ``y``.
        Same calling convention as :meth:`fit`: ``update(y)``, ``update(y, X=exog)``.

        Parameters
        ----------
        *args : array-like
            One argument: the new observations ``y``; two: scikit-learn's ``X, y``.
        y : array-like of shape (n_timesteps,) or (n_timesteps, n_series)
            New observations, continuing the series.
        X : array-like of shape (n_timesteps, n_exog), optional
            Exogenous inputs of the new steps; required iff fitted with X.

        Returns
        -------
        self : object
        """
        ds, Xs, full, levels = self._new_data(args, y, X, "update")
        U = np.hstack([_lag_rows(full, self.lags_)[:len(ds)], Xs])
        model = self.regressor_.model_
        _, self.state_ = model.forward(U.astype(model.dtype), state=self.state_, return_state=True)
        self.history_ = full[-self.lags_:].copy()
        self.last_value_ = levels[-1].copy()
        return self
