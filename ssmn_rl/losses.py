"""Loss functions on model outputs: value and gradient with respect to the outputs (dL/dY).

The C backward pass takes dL/dY; these functions produce it. Masks weight individual steps
(0 = ignored), so a loss can sit on the last step of a sequence only.
"""
from __future__ import annotations

import numpy as np

from . import _kernels
from .errors import InputError

LOSSES = ("mse", "cross_entropy")


def mse(Y: np.ndarray, target: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over unmasked steps and all output features. Y, target (B,T,D); mask (B,T)."""
    total = float(mask.sum()) * Y.shape[-1]
    if total <= 0:
        raise InputError("mask selects no step: its sum must be > 0")
    diff = (Y - target) * mask[..., None]
    loss = float(np.sum(diff * (Y - target)) / total)
    return loss, (2.0 / total) * diff


def cross_entropy(Y: np.ndarray, target: np.ndarray, mask: np.ndarray,
                  out: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy (nats) averaged over unmasked steps. Y (B,T,C) logits; target (B,T) ints.

    Runs the fused C kernel (one pass per row, O(C) memory traffic): float32/float64 logits keep
    their precision. `out` (shape and dtype of Y, may be Y itself) receives dL/dY.
    """
    total = float(mask.sum())
    if total <= 0:
        raise InputError("mask selects no step: its sum must be > 0")
    Y = np.ascontiguousarray(Y, Y.dtype if Y.dtype in (np.float32, np.float64) else np.float64)
    if out is None:
        out = np.empty_like(Y)
    C = Y.shape[-1]
    weight = np.ascontiguousarray(mask, np.float64).reshape(-1) / total
    targets = np.ascontiguousarray(target, np.int64).reshape(-1)
    loss = _kernels.softmax_xent(Y.reshape(-1, C), targets, weight, out.reshape(-1, C))
    return loss, out
