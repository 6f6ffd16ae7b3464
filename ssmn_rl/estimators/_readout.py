"""SSMN features and the closed-form ridge read-out of the "ridge" solver.

Features come from ``SSMN.forward(X, return_features=True)``: the last hidden vectors z_t that
feed the model's read-out ``y_t = W_out z_t + b_out`` (DESIGN §2, step 5). The ridge read-out of
the estimators regresses the targets on ``[z_t, x_t]`` and a bias: the network's features *and*
the raw input of the step, so a target that depends mostly on the current input (or, for the
forecaster, on the lagged values it reads) is fitted at least as well as by a linear model on the
inputs alone. The z-part and the bias are written into the model's ``W_out`` / ``b_out``; the
x-part is kept beside the model as an input coefficient matrix and added by :func:`outputs`.

Columns are standardised (weighted mean and standard deviation over the training steps) before
the penalty is applied. The penalty ``alpha`` applies to the network's features z; the raw inputs
get a fixed, tiny ``INPUT_ALPHA`` (enough to keep collinear inputs such as lagged values stable),
so a very large ``alpha`` gives back the linear model on the inputs. ``alpha="auto"`` picks the
penalty from ``AUTO_ALPHAS`` (up to 1e6: features effectively off) by the error on the
time-ordered tail of the weighted steps (the last ``AUTO_TAIL`` of them), then refits on every
step: the features are used only as far as they help on held-out steps.
"""
from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from ..model import SSMN

#: Penalties on the standardised network features tried by ``alpha="auto"``.
AUTO_ALPHAS = np.logspace(-6, 6, 25)
#: Penalty on the standardised raw inputs.
INPUT_ALPHA = 1e-6
#: Share of the weighted steps (the last ones, in time order) that ``alpha="auto"`` holds out.
AUTO_TAIL = 0.2


def is_token_model(model: SSMN) -> bool:
    """Whether the model reads token ids (its outputs are then one per token id)."""
    return model.config.vocab_size > 0


def outputs(model: SSMN, input_coef, X, state=None, return_state=False, return_features=False,
            n_out=None):
    """Model outputs plus the input term of the ridge read-out: ``W_out z_t + b_out + C x_t``.

    ``input_coef`` (D_out, D_in) or None (no input term, e.g. after the "adam" solver, and always
    for a token model, whose X holds token ids). ``n_out``: keep the first ``n_out`` outputs only
    (an estimator on a token model, which has one output per token id). Returns Y, then Z when
    ``return_features``, then the final state when ``return_state`` (as ``SSMN.forward``)."""
    X = np.asarray(X) if is_token_model(model) else np.asarray(X, model.dtype)
    res = model.forward(X, state=state, return_state=return_state, return_features=return_features)
    res = res if isinstance(res, tuple) else (res,)
    Y = res[0].astype(np.float64)
    if n_out is not None:
        Y = Y[..., :n_out]
    if input_coef is not None:
        Y = Y + X @ input_coef.T
    return Y if len(res) == 1 else (Y,) + tuple(res[1:])


def _standardise(F, w, total):
    mean = (w @ F) / total
    var = (w @ (F - mean) ** 2) / total
    scale = np.sqrt(var)
    return mean, np.where(scale > 1e-12 * (1 + np.abs(mean)), scale, 1.0)


def _penalty(alpha: float, n_features: int, n_inputs: int) -> np.ndarray:
    return np.r_[np.full(n_features, alpha), np.full(n_inputs, INPUT_ALPHA)]


class _Normal:
    """The normal equations of a weighted ridge on standardised columns, built once so that
    several penalties cost one (p, p) solve each."""

    def __init__(self, F, Y, w):
        total = w.sum()
        self.mean, self.scale = _standardise(F, w, total)
        self.y_mean = (w @ Y) / total
        Fs = (F - self.mean) / self.scale * np.sqrt(w)[:, None]
        Yc = (Y - self.y_mean) * np.sqrt(w)[:, None]
        self.gram, self.rhs = Fs.T @ Fs, Fs.T @ Yc

    def solve(self, penalty):
        """W (D, p) and b (D,) for the raw columns."""
        gram = self.gram.copy()
        gram[np.diag_indices_from(gram)] += penalty
        # a (p, p) solve with p ~ 100 is faster on one BLAS thread, and multi-threaded BLAS can
        # take 100x longer on a loaded machine (measured: 0.19 s against 0.5 ms on 2 busy cores)
        with threadpool_limits(limits=1, user_api="blas"):
            coef = np.linalg.solve(gram, self.rhs) if np.all(penalty > 0) else \
                np.linalg.lstsq(gram, self.rhs, rcond=None)[0]
        W = (coef / self.scale[:, None]).T
        return W, self.y_mean - W @ self.mean


def _pick_alpha(F, Y, w, n_inputs: int) -> float:
    """The penalty of AUTO_ALPHAS with the smallest weighted error on the last AUTO_TAIL of the
    weighted steps, fitted on the steps before them."""
    n = len(F)
    n_val = max(1, int(round(AUTO_TAIL * n)))
    fallback = float(AUTO_ALPHAS[len(AUTO_ALPHAS) // 2])
    if n - n_val < 2 or w[: n - n_val].sum() <= 0 or w[n - n_val:].sum() <= 0:
        return fallback
    tr, va = slice(0, n - n_val), slice(n - n_val, n)
    normal = _Normal(F[tr], Y[tr], w[tr])
    errs = []
    for a in AUTO_ALPHAS:
        W, b = normal.solve(_penalty(a, F.shape[1] - n_inputs, n_inputs))
        resid = F[va] @ W.T + b - Y[va]
        errs.append(w[va] @ (resid ** 2).sum(axis=1))
    return float(AUTO_ALPHAS[int(np.argmin(errs))])


def ridge_readout(F: np.ndarray, Y: np.ndarray, weights: np.ndarray, alpha, n_inputs: int = 0):
    """Solve min_W,b sum_t w_t |Y_t - W f_t - b|^2 + |W S P|^2 in closed form: S the weighted
    standard deviations of the feature columns (a ridge on standardised features), P the square
    root of the per-column penalty: ``alpha`` for the first ``p - n_inputs`` columns (network
    features), ``INPUT_ALPHA`` for the last ``n_inputs`` (raw inputs).

    F (n, p) features, Y (n, D) targets, weights (n,) >= 0 step weights, in time order; alpha a
    float >= 0 or "auto". Returns W (D, p), b (D,) and the alpha used.
    """
    F = np.asarray(F, np.float64)
    Y = np.asarray(Y, np.float64)
    w = np.asarray(weights, np.float64)
    if w.sum() <= 0:
        raise ValueError("the ridge read-out needs at least one weighted step, got all weights 0")
    if isinstance(alpha, str):
        alpha = _pick_alpha(F, Y, w, n_inputs)
    W, b = _Normal(F, Y, w).solve(_penalty(float(alpha), F.shape[1] - n_inputs, n_inputs))
    return W, b, float(alpha)


def set_readout(model: SSMN, W: np.ndarray, b: np.ndarray) -> None:
    """Write W (D_out, H) and b (D_out,) into the model's read-out."""
    theta = model.get_parameters()
    sl = model.parameter_slices()
    theta[sl["W_out"][0]] = np.asarray(W).ravel()
    theta[sl["b_out"][0]] = np.asarray(b).ravel()
    model.set_parameters(theta)


def fit_ridge(model: SSMN, X: np.ndarray, Y: np.ndarray, mask: np.ndarray, alpha):
    """Fit the read-out of ``model`` on sequences X (N, T, F) with float targets Y (N, T, D) and
    step weights mask (N, T), regressing on ``[z_t, x_t]`` and a bias; every other parameter stays
    as initialised. Writes the z-part into ``W_out``/``b_out`` and returns
    ``(input_coef (D, F), weighted training MSE, alpha used)``. A token model (X: (N, T) ids)
    regresses on ``z_t`` and a bias only, into its first D outputs (the others are set to 0), and
    returns None as ``input_coef``."""
    _, Z = model.forward(X, return_features=True)  # (N, T, H)
    tokens = is_token_model(model)
    H, D = Z.shape[-1], Y.shape[-1]
    F = 0 if tokens else X.shape[-1]  # a token model's ids are not inputs of the read-out
    feats = Z.reshape(-1, H).astype(np.float64)
    if F:
        feats = np.concatenate([feats, X.reshape(-1, F).astype(np.float64)], axis=1)
    Yf, wf = Y.reshape(-1, D), mask.reshape(-1).astype(np.float64)
    keep = wf > 0
    W, b, used = ridge_readout(feats[keep], Yf[keep], wf[keep], alpha, n_inputs=F)
    D_model = model.config.output_dim  # > D for a token model: the other outputs are unused
    set_readout(model, np.vstack([W[:, :H], np.zeros((D_model - D, H))]), np.r_[b, np.zeros(D_model - D)])
    input_coef = None if tokens else W[:, H:].copy()
    # the model's outputs in its own precision, as prediction will see them
    pred = outputs(model, input_coef, X, n_out=D)
    resid = pred.reshape(-1, D)[keep] - Yf[keep]
    return input_coef, float((wf[keep] @ (resid ** 2).mean(axis=1)) / wf[keep].sum()), used
