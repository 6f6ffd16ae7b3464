"""Synthetic sequence tasks for training and testing memory (supervised).

`delayed_recall` is the canonical check that the fast weights carry information past the attention
window: a value is shown once, many steps of distractors follow, then the model must name it.
"""
from __future__ import annotations

import numpy as np


def delayed_recall(n_sequences: int, delay: int, n_values: int = 4, rng=None):
    """Batch of recall sequences of length ``delay + 1``.

    Step 0 shows a value (one-hot over `n_values`) with a "store" flag; steps 1..delay-1 show random
    distractor values without the flag; step `delay` raises a "query" flag and shows nothing else.
    The answer (class id) is the value of step 0, asked only at the last step.

    Returns X (n, delay+1, n_values+2), targets (n, delay+1) int, mask (n, delay+1) with a 1 only on
    the last step. Input features: [one-hot value..., store flag, query flag].
    """
    rng = np.random.default_rng(rng)
    T = delay + 1
    X = np.zeros((n_sequences, T, n_values + 2))
    values = rng.integers(0, n_values, n_sequences)
    X[np.arange(n_sequences), 0, values] = 1.0
    X[:, 0, n_values] = 1.0
    distract = rng.integers(0, n_values, (n_sequences, T - 2))
    for t in range(1, T - 1):
        X[np.arange(n_sequences), t, distract[:, t - 1]] = 1.0
    X[:, T - 1, n_values + 1] = 1.0
    targets = np.zeros((n_sequences, T), np.int64)
    targets[:, -1] = values
    mask = np.zeros((n_sequences, T))
    mask[:, -1] = 1.0
    return X, targets, mask
