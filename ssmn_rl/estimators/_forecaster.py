"""SSMNForecaster: multi-step forecasts of univariate or multivariate series, with optional
exogenous inputs, by an SSMN trained on one-step-ahead prediction and rolled out recursively.

At step t the network reads ``[y_t, y_{t-1}, ..., y_{t-lags+1}, X_{t+1}]`` (the last ``lags``
values of the series, newest first, and the exogenous inputs of the step being forecast) and
outputs ``y_{t+1}``; window attention pools its inputs without their order, so a few lags give it
the direction of the series directly; series and exogenous inputs are standardised with
the statistics of the fitted series. Forecasting continues from the state at the end of the
fitted series: the fast weights keep adapting to what the network reads, the parameters do not.
"""
from __future__ import annotations

import numbers
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array, check_is_fitted

from ..state import SSMNState
from ._params import MODEL_CONSTRAINTS, SOLVER_CONSTRAINTS
from ._regressor import SSMNRegressor


def _lag_rows(Y: np.ndarray, lags: int) -> np.ndarray:
    """Y (n, k) oldest first -> (n - lags + 1, lags * k): row r is [Y[t], Y[t-1], ..., Y[t-lags+1]]
    for t = r + lags - 1 (newest first)."""
    n = len(Y)
    return np.hstack([Y[lags - 1 - j: n - j] for j in range(lags)])


class SSMNForecaster(BaseEstimator):
    """Sparse-Stream Memory Network forecaster.

    Parameters
    ----------
    lags : int, default=4
        Number of past values of the series in each input row (newest first).
    variant, hidden_dim, window_size, n_layers, plastic_ratio, rule, rule_params, plasticity_eta, \
decay_lambda, alpha, dtype, solver, ridge_alpha, learning_rate, lr_schedule, max_iter, \
batch_size, chunk_length, max_grad_norm, weight_decay, early_stopping, validation_fraction, \
n_iter_no_change, tol, random_state, verbose
        As in :class:`SSMNRegressor`, which is fitted on the one-step-ahead problem (early stopping
        holds out the end of the series), except that ``solver`` defaults to "ridge": on the
        series of ``scripts/bench_timeseries.py`` the ridge read-out forecast better than BPTT
        with the default Adam settings, in a fraction of the time.

    Attributes
    ----------
    regressor_ : SSMNRegressor
        The fitted one-step-ahead model (2-D stream of ``[y_t, ..., y_{t-lags+1}, X_{t+1}]``
        rows).
    state_ : ssmn_rl.SSMNState
        Network state at the forecast origin (end of the fitted series, or of the last
        :meth:`update`).
    n_series_ : int
        Number of variables of the series.
    n_exog_ : int
        Number of exogenous inputs (0 without ``X``).
    history_ : ndarray of shape (lags, n_series)
        The last ``lags`` values before the forecast origin (standardised, oldest first).
    y_mean_, y_scale_, X_mean_, X_scale_ : ndarray
        Standardisation of the series and of the exogenous inputs.
    n_iter_ : int
        Epochs run by the solver.

    Examples
    --------
    >>> import numpy as np
    >>> from ssmn_rl.estimators import SSMNForecaster
    >>> t = np.arange(500)
    >>> y = np.sin(2 * np.pi * t / 25)
    >>> f = SSMNForecaster(solver="ridge", hidden_dim=64, random_state=0).fit(y[:400])
    >>> f.predict(10).shape
    (10,)
    >>> one_step = f.predict_stream(y[400:])        # rolling forecasts, no refit
    >>> bool(np.sqrt(np.mean((one_step[:, 0] - y[400:]) ** 2)) < 0.1)
    True
    """

    _parameter_constraints: dict = {"lags": [Interval(Integral, 1, None, closed="left")],
                                    **MODEL_CONSTRAINTS, **SOLVER_CONSTRAINTS}

    def __init__(self, *, lags=4, variant="standard", hidden_dim=32, window_size=8, n_layers=3,
                 plastic_ratio=None, rule="hebbian", rule_params=None, plasticity_eta=0.01,
                 decay_lambda=0.001, alpha=0.3, dtype="float32", solver="ridge", ridge_alpha=1e-3,
                 learning_rate=1e-2, lr_schedule="constant", max_iter=200, batch_size=16,
                 chunk_length=64, max_grad_norm=1.0, weight_decay=0.0, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-4, random_state=None,
                 verbose=0):
        self.lags = lags
        self.variant = variant
        self.hidden_dim = hidden_dim
        self.window_size = window_size
        self.n_layers = n_layers
        self.plastic_ratio = plastic_ratio
        self.rule = rule
        self.rule_params = rule_params
        self.plasticity_eta = plasticity_eta
        self.decay_lambda = decay_lambda
        self.alpha = alpha
        self.dtype = dtype
        self.solver = solver
        self.ridge_alpha = ridge_alpha
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.chunk_length = chunk_length
        self.max_grad_norm = max_grad_norm
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ data
    def _check_series(self, y, name="y", min_len=1):
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name=name,
                        ensure_min_samples=min_len)
        if y.ndim == 1:
            y = y[:, None]
        if hasattr(self, "n_series_") and y.shape[1] != self.n_series_:
            raise ValueError(f"{name} has {y.shape[1]} variables, but {type(self).__name__} was "
                             f"fitted on a series with {self.n_series_}.")
        return y

    def _check_exog(self, X, n: int, what: str):
        if self.n_exog_ == 0:
            if X is not None:
                raise ValueError(f"X (exogenous inputs) was given to {what}, but the forecaster was "
                                 "fitted without X. HINT: refit with fit(y, X) to use them.")
            return np.zeros((n, 0))
        if X is None:
            raise ValueError(f"{what} needs X (exogenous inputs) of shape ({n}, {self.n_exog_}): "
                             "the forecaster was fitted with X.")
        X = check_array(X, dtype=np.float64, input_name="X")
        if X.shape != (n, self.n_exog_):
            raise ValueError(f"X (exogenous inputs) must have shape ({n}, {self.n_exog_}) for "
                             f"{what}, got {X.shape}")
        return (X - self.X_mean_) / self.X_scale_

    def _regressor(self) -> SSMNRegressor:
        params = self.get_params()
        params.pop("lags")
        return SSMNRegressor(**params)

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, y, X=None):
        """Fit on a series.

        Parameters
        ----------
        y : array-like of shape (n_timesteps,) or (n_timesteps, n_series)
            The series, in time order (at least 2 steps).
        X : array-like of shape (n_timesteps, n_exog), optional
            Exogenous inputs known at each step (row t goes with ``y[t]``).

        Returns
        -------
        self : object
        """
        for attr in ("n_series_", "n_exog_"):
            self.__dict__.pop(attr, None)
        y = self._check_series(y, min_len=self.lags + 1)
        self._univariate = y.shape[1] == 1 and np.ndim(y) >= 1
        n = len(y)
        self.n_series_ = y.shape[1]
        self.y_mean_ = y.mean(axis=0)
        self.y_scale_ = np.where(y.std(axis=0) > 0, y.std(axis=0), 1.0)
        if X is None:
            self.n_exog_ = 0
            self.X_mean_ = self.X_scale_ = np.zeros(0)
        else:
            Xa = check_array(X, dtype=np.float64, input_name="X")
            if len(Xa) != n:
                raise ValueError(f"X (exogenous inputs) must have one row per step of y ({n}), got "
                                 f"{len(Xa)} rows")
            self.n_exog_ = Xa.shape[1]
            self.X_mean_ = Xa.mean(axis=0)
            self.X_scale_ = np.where(Xa.std(axis=0) > 0, Xa.std(axis=0), 1.0)
        ys = (y - self.y_mean_) / self.y_scale_
        Xs = self._check_exog(X, n, "fit")
        U = np.hstack([_lag_rows(ys, self.lags)[:-1], Xs[self.lags:]])
        self.regressor_ = self._regressor().fit(U, ys[self.lags:])
        self.state_ = self.regressor_.stream_state_
        self.history_ = ys[n - self.lags:].copy()
        self.n_iter_ = self.regressor_.n_iter_
        return self

    # ------------------------------------------------------------------ forecasting
    def _rollout(self, state: SSMNState, hist: np.ndarray, exog: np.ndarray) -> np.ndarray:
        """Recursive forecasts for B origins at once: state (B streams), hist (B, lags, k) the last
        observed values, oldest first (standardised), exog (B, h, m). Returns (B, h, k)."""
        reg, model = self.regressor_, self.regressor_.model_
        B, h = exog.shape[:2]
        out = np.empty((B, h, self.n_series_))
        for j in range(h):
            lagged = hist[:, ::-1].reshape(B, -1)
            u = np.hstack([lagged, exog[:, j]])[:, None, :].astype(model.dtype)
            z, state = model.forward(u, state=state, return_state=True)
            pred = z[:, 0].astype(np.float64) * reg.y_scale_ + reg.y_mean_
            hist = np.concatenate([hist[:, 1:], pred[:, None]], axis=1)
            out[:, j] = pred
        return out

    def _unscale(self, Ys: np.ndarray) -> np.ndarray:
        Y = Ys * self.y_scale_ + self.y_mean_
        return Y[..., 0] if self._univariate else Y

    def predict(self, horizon, X=None):
        """Forecast the next ``horizon`` steps after the end of the fitted series (or of the last
        :meth:`update`), feeding each forecast back as input. No side effects.

        Parameters
        ----------
        horizon : int >= 1
        X : array-like of shape (horizon, n_exog)
            Exogenous inputs of the forecast steps; required iff fitted with X.

        Returns
        -------
        y : ndarray of shape (horizon,) or (horizon, n_series)
        """
        check_is_fitted(self)
        if isinstance(horizon, bool) or not isinstance(horizon, numbers.Integral) or horizon < 1:
            raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}")
        Xs = self._check_exog(X, int(horizon), "predict")
        Ys = self._rollout(self.state_.copy(), self.history_[None], Xs[None])
        return self._unscale(Ys[0])

    def _inputs(self, y, X):
        ys = (self._check_series(y) - self.y_mean_) / self.y_scale_
        Xs = self._check_exog(X, len(ys), "this call")
        full = np.vstack([self.history_, ys])  # (lags + n, k), oldest first
        return ys, Xs, full

    def predict_stream(self, y, X=None, *, horizon=1, stride=1):
        """Rolling forecasts over new observations that continue the series, without refitting.

        For each origin i = 0, stride, 2*stride, ... <= len(y) - horizon, the forecaster reads
        ``y[:i]`` (the fast weights adapt as it reads; the parameters do not change) and forecasts
        ``y[i : i + horizon]`` recursively. The fitted forecaster itself is not changed.

        Parameters
        ----------
        y : array-like of shape (n_timesteps,) or (n_timesteps, n_series)
            New observations, continuing the fitted series.
        X : array-like of shape (n_timesteps, n_exog), optional
            Exogenous inputs of the same steps; required iff fitted with X.
        horizon : int >= 1, default=1
        stride : int >= 1, default=1

        Returns
        -------
        forecasts : ndarray of shape (n_origins, horizon) or (n_origins, horizon, n_series)
            ``forecasts[r, j]`` is the forecast of ``y[r * stride + j]``.
        """
        check_is_fitted(self)
        for name, v in (("horizon", horizon), ("stride", stride)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        ys, Xs, full = self._inputs(y, X)
        n = len(ys)
        if horizon > n:
            raise ValueError(f"horizon={horizon} is longer than the {n} new observations")
        U = np.hstack([_lag_rows(full, self.lags)[:n], Xs]).astype(self.regressor_.model_.dtype)
        model = self.regressor_.model_
        if horizon == 1 and stride == 1:  # one pass: every step is an origin
            Z = model.forward(U, state=self.state_).astype(np.float64)
            Ys = (Z * self.regressor_.y_scale_ + self.regressor_.y_mean_)[:, None, :]
            return self._unscale(Ys)
        origins = np.arange(0, n - horizon + 1, stride)
        states, state, pos = [], self.state_.copy(), 0
        for i in origins:
            if i > pos:
                _, state = model.forward(U[pos:i], state=state, return_state=True)
                pos = i
            states.append(state)
        exog = np.stack([Xs[i:i + horizon] for i in origins])
        hist = np.stack([full[i:i + self.lags] for i in origins])
        Ys = self._rollout(SSMNState.concatenate(states), hist, exog)
        return self._unscale(Ys)

    def update(self, y, X=None):
        """Move the forecast origin past new observations without refitting: the network reads
        them (its fast weights adapt), so :meth:`predict` then forecasts what follows ``y``.

        Returns
        -------
        self : object
        """
        check_is_fitted(self)
        ys, Xs, full = self._inputs(y, X)
        U = np.hstack([_lag_rows(full, self.lags)[:len(ys)], Xs]).astype(self.regressor_.model_.dtype)
        _, self.state_ = self.regressor_.model_.forward(U, state=self.state_, return_state=True)
        self.history_ = full[-self.lags:].copy()
        return self
