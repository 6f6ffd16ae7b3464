"""SSMN features and the closed-form ridge read-out.

The model exposes no "features" call, so features come from a read-out trick: a copy of the
network with ``output_dim = hidden_dim``, ``W_out = I`` and ``b_out = 0`` returns the last hidden
layer ``z`` (DESIGN §2, step 5: ``y = W_out z + b_out``) as its output. Because the initial
parameters are drawn tensor by tensor with ``W_out`` and ``b_out`` last, a model built with the same
seed and another ``output_dim`` shares every other tensor, so a ridge solution on these features
can be written straight into the ``W_out``/``b_out`` of the real model.
"""
from __future__ import annotations

import numpy as np

from ..model import SSMN


def feature_model(model: SSMN) -> SSMN:
    """A copy of ``model`` whose outputs are its last hidden layer z (hidden_dim values)."""
    cfg = model.config.to_dict()
    H = cfg["hidden_dim"]
    theta = model.get_parameters()
    sl = model.parameter_slices()
    prefix = theta[: sl["W_out"][0].start]
    cfg["output_dim"] = H
    params = np.concatenate([prefix, np.eye(H, dtype=theta.dtype).ravel(), np.zeros(H, theta.dtype)])
    return SSMN.from_config(cfg, parameters=params)


def ridge_readout(Z: np.ndarray, Y: np.ndarray, weights: np.ndarray, alpha: float):
    """Solve min_W,b sum_t w_t |Y_t - W z_t - b|^2 + alpha |W|^2 in closed form.

    Z (n, H) features, Y (n, D) targets, weights (n,) >= 0 step weights.
    Returns W (D, H) and b (D,), the layout of the model's ``W_out`` and ``b_out``.
    """
    Z = np.asarray(Z, np.float64)
    Y = np.asarray(Y, np.float64)
    w = np.asarray(weights, np.float64)
    total = w.sum()
    if total <= 0:
        raise ValueError("the ridge read-out needs at least one weighted step, got all weights 0")
    z_mean = (w @ Z) / total
    y_mean = (w @ Y) / total
    Zc = (Z - z_mean) * np.sqrt(w)[:, None]
    Yc = (Y - y_mean) * np.sqrt(w)[:, None]
    gram = Zc.T @ Zc
    gram[np.diag_indices_from(gram)] += alpha
    W = np.linalg.lstsq(gram, Zc.T @ Yc, rcond=None)[0].T if alpha == 0 else \
        np.linalg.solve(gram, Zc.T @ Yc).T
    return W, y_mean - W @ z_mean


def set_readout(model: SSMN, W: np.ndarray, b: np.ndarray) -> None:
    """Write W (D_out, H) and b (D_out,) into the model's read-out."""
    theta = model.get_parameters()
    sl = model.parameter_slices()
    theta[sl["W_out"][0]] = np.asarray(W).ravel()
    theta[sl["b_out"][0]] = np.asarray(b).ravel()
    model.set_parameters(theta)


def fit_ridge(model: SSMN, X: np.ndarray, Y: np.ndarray, mask: np.ndarray, alpha: float) -> float:
    """Fit the read-out of ``model`` on sequences X (N, T, F) with float targets Y (N, T, D) and
    step weights mask (N, T); every other parameter stays as initialised. Returns the weighted MSE
    of the fitted read-out on the training steps."""
    Z = feature_model(model).forward(X)  # (N, T, H)
    H, D = Z.shape[-1], Y.shape[-1]
    Zf, Yf, wf = Z.reshape(-1, H), Y.reshape(-1, D), mask.reshape(-1)
    keep = wf > 0
    W, b = ridge_readout(Zf[keep], Yf[keep], wf[keep], alpha)
    set_readout(model, W, b)
    resid = Zf[keep] @ W.T + b - Yf[keep]
    return float((wf[keep] @ (resid ** 2).mean(axis=1)) / wf[keep].sum())
