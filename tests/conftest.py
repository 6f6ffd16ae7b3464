"""Shared fixtures and helpers for the test suite."""
import numpy as np
import pytest

from ssmn_rl import SSMN


def make_model(variant="custom_split", *, dtype="float64", seed=0, **kw):
    cfg = dict(input_dim=3, hidden_dim=6, output_dim=2, window_size=3, n_layers=3, plastic_ratio=0.5)
    cfg.update(kw)
    if variant == "standard":
        cfg["plastic_ratio"] = 0.2
    return SSMN(variant, dtype=dtype, seed=seed, **cfg)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
