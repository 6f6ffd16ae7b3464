"""Running mean and variance of observations (parallel-moments update), for input normalisation.

Updates combine batch moments with the running ones in a fixed order, so the same data in the same
order always gives bit-identical statistics (ES relies on this to be backend-independent).
"""
from __future__ import annotations

import numpy as np


class RunningMeanStd:
    """Mean and variance of vectors of size `dim`, merged batch by batch (Chan et al. 1979)."""

    def __init__(self, dim: int, epsilon: float = 1e-4, clip: float = 10.0):
        self.mean = np.zeros(dim, np.float64)
        self.var = np.ones(dim, np.float64)
        self.count = float(epsilon)
        self.clip = float(clip)

    def update(self, x: np.ndarray) -> None:
        """Merge a batch x (N, dim)."""
        x = np.asarray(x, np.float64).reshape(-1, self.mean.size)
        if x.shape[0]:
            self.update_from_moments(x.sum(0), (x * x).sum(0), x.shape[0])

    def update_from_moments(self, total: np.ndarray, total_sq: np.ndarray, n: float) -> None:
        """Merge a batch given by its sum, sum of squares and size."""
        if n <= 0:
            return
        b_mean = total / n
        b_var = np.maximum(total_sq / n - b_mean ** 2, 0.0)
        delta = b_mean - self.mean
        tot = self.count + n
        self.mean = self.mean + delta * n / tot
        m2 = self.var * self.count + b_var * n + delta ** 2 * self.count * n / tot
        self.var = m2 / tot
        self.count = tot

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.var + 1e-8)

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return np.clip((x - self.mean) / self.std, -self.clip, self.clip).astype(np.float32)

    def state_dict(self) -> dict:
        return {"mean": self.mean.copy(), "var": self.var.copy(), "count": self.count}

    def load_state_dict(self, d: dict) -> None:
        self.mean = np.asarray(d["mean"], np.float64).copy()
        self.var = np.asarray(d["var"], np.float64).copy()
        self.count = float(d["count"])
