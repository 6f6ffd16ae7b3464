"""Shared fixtures and helpers for the test suite."""
import numpy as np
import pytest

from ssmn_rl import SSMN


def make_model(variant="custom_split", *, dtype="float64", seed=0, **kw):
    """A small model of the prototype's cell unless ``preset`` (or an option) says otherwise: the
    kernel tests check each cell option on its own and in combination (test_cell_options.py)."""
    cfg = dict(input_dim=3, hidden_dim=6, output_dim=2, window_size=3, n_layers=3, plastic_ratio=0.5,
               preset="prototype")
    cfg.update(kw)
    if variant == "standard":
        cfg["plastic_ratio"] = 0.2
    return SSMN(variant, dtype=dtype, seed=seed, **cfg)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def local_ray():
    """One local Ray instance shared by every test that needs Ray (started on first use)."""
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install ray)")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()
