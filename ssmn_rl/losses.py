"""Loss functions on model outputs: value and gradient with respect to the outputs (dL/dY).

The C backward pass takes dL/dY; these functions produce it. Masks weight individual steps
(0 = ignored), so a loss can sit on the last step of a sequence only.
"""
from __future__ import annotations

import numpy as np

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


def cross_entropy(Y: np.ndarray, target: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy (nats) averaged over unmasked steps. Y (B,T,C) logits; target (B,T) ints."""
    total = float(mask.sum())
    if total <= 0:
        raise InputError("mask selects no step: its sum must be > 0")
    z = Y - Y.max(axis=-1, keepdims=True)
    logsumexp = np.log(np.exp(z).sum(axis=-1))
    picked = np.take_along_axis(z, target[..., None], axis=-1)[..., 0]
    loss = float(np.sum((logsumexp - picked) * mask) / total)
    probs = np.exp(z - logsumexp[..., None])
    np.put_along_axis(probs, target[..., None], np.take_along_axis(probs, target[..., None], -1) - 1, -1)
    return loss, probs * (mask / total)[..., None]
