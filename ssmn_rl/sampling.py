"""Sampling the next token from logits: temperature, top-k and nucleus (top-p) filtering."""
from __future__ import annotations

import numbers

import numpy as np

from .errors import InputError


def check_sampling(temperature, top_k, top_p) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) or not temperature >= 0:
        raise InputError(f"temperature must be a number >= 0 (0 = greedy), got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1):
        raise InputError(f"top_k must be None or an integer >= 1, got {top_k!r}")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, numbers.Real)
                              or not 0 < top_p <= 1):
        raise InputError(f"top_p must be None or a number in (0, 1], got {top_p!r}")


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, np.float64) / max(temperature, 1e-12)
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def sample_token(logits: np.ndarray, rng: np.random.Generator, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None) -> int:
    """One token id from a (V,) logit vector."""
    if temperature == 0:
        return int(np.argmax(logits))
    p = softmax(logits, temperature)
    if top_k is not None and top_k < p.size:
        cut = np.partition(p, -top_k)[-top_k]
        p = np.where(p >= cut, p, 0.0)
    if top_p is not None and top_p < 1:
        order = np.argsort(p)[::-1]
        keep = np.cumsum(p[order]) - p[order] < top_p  # smallest set whose mass reaches top_p
        mask = np.zeros_like(p, dtype=bool)
        mask[order[keep]] = True
        p = np.where(mask, p, 0.0)
    p /= p.sum()
    return int(rng.choice(p.size, p=p))
