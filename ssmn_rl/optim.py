"""Optimisers over the flat parameter vector (Adam with optional weight decay and clipping)."""
from __future__ import annotations

import numpy as np


def l2_norm(v: np.ndarray) -> float:
    """Euclidean norm without BLAS: ``np.linalg.norm``'s dot wakes the BLAS threads (milliseconds a
    call on a busy machine, a third of PPO's update time on 2 cores) and its value depends on how
    many there are; a pairwise NumPy sum is the same on every machine."""
    return float(np.sqrt(np.square(v).sum()))


class Adam:
    """Adam (Kingma & Ba 2015) on one flat vector, with decoupled weight decay (AdamW style) and
    optional global-norm gradient clipping. `step(params, grad)` returns the updated vector."""

    def __init__(self, n_params: int, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, max_grad_norm: float | None = None):
        self.lr, self.beta1, self.beta2, self.eps = lr, betas[0], betas[1], eps
        self.weight_decay, self.max_grad_norm = weight_decay, max_grad_norm
        self.m = np.zeros(n_params)
        self.v = np.zeros(n_params)
        self.t = 0

    def step(self, params: np.ndarray, grad: np.ndarray) -> np.ndarray:
        g = np.asarray(grad, np.float64)
        if self.max_grad_norm is not None:
            norm = l2_norm(g)
            if norm > self.max_grad_norm:
                g = g * (self.max_grad_norm / norm)
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * g
        self.v = self.beta2 * self.v + (1 - self.beta2) * g * g
        mhat = self.m / (1 - self.beta1 ** self.t)
        vhat = self.v / (1 - self.beta2 ** self.t)
        p = params.astype(np.float64)
        p -= self.lr * (mhat / (np.sqrt(vhat) + self.eps) + self.weight_decay * p)
        return p.astype(params.dtype)

    def state_dict(self) -> dict:
        return {"m": self.m.copy(), "v": self.v.copy(), "t": self.t}

    def load_state_dict(self, d: dict) -> None:
        self.m, self.v, self.t = d["m"].copy(), d["v"].copy(), int(d["t"])
