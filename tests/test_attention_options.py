"""The attention options `position_bias` (a learned logit bias per window offset) and `residual`
(z_0 = u + W_o ctx): C core against the NumPy reference, exact gradients, defaults, validation."""
import numpy as np
import pytest

from conftest import make_model
from reference import reference_forward
from ssmn_rl import SSMN
from ssmn_rl.errors import ConfigError
from test_gradients import assert_gradients_match

OPTIONS = [dict(position_bias=True), dict(residual=True), dict(position_bias=True, residual=True)]


def _perturbed(m, rng):
    """Parameters moved off their initial values so the zero-initialised bias matters."""
    theta = m.get_parameters() + 0.3 * rng.standard_normal(m.n_parameters)
    m.set_parameters(theta)
    return theta


def _state(m, B, rng):
    s = m.initial_state(B)
    n = s.data.shape[1] - 1 - m.config.n_plastic
    s.data[:, :n] = 0.2 * rng.standard_normal((B, n))
    s.steps[:] = rng.integers(0, 2 * m.config.window_size, B)
    return s


@pytest.mark.parametrize("opts", OPTIONS)
@pytest.mark.parametrize("rho", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_forward_matches_reference(opts, rho, dtype, rng):
    m = make_model(plastic_ratio=rho, n_layers=3, hidden_dim=5, window_size=3, plasticity_eta=0.3,
                   dtype=dtype, **opts)
    theta = _perturbed(m, rng)
    X = rng.standard_normal((3, 11, 3))
    s0 = _state(m, 3, rng)
    Y, s1 = m.forward(X, state=s0, return_state=True)
    Yr, data_r, steps_r = reference_forward(m.config, theta, X, s0.data, s0.steps)
    tol = 1e-10 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(Y, Yr, rtol=tol, atol=tol)
    np.testing.assert_allclose(s1.data, data_r, rtol=tol, atol=tol)
    np.testing.assert_array_equal(s1.steps, steps_r)


@pytest.mark.parametrize("opts", OPTIONS)
@pytest.mark.parametrize("rho", [0.0, 1.0])
def test_gradients_match_finite_differences(opts, rho, rng):
    m = make_model(plastic_ratio=rho, n_layers=2, hidden_dim=4, window_size=3, plasticity_eta=0.3,
                   clip=0.5, **opts)
    _perturbed(m, rng)
    X = rng.standard_normal((2, 8, 3))
    Yt = rng.standard_normal((2, 8, 2))
    s0 = _state(m, 2, rng)
    assert_gradients_match(m, X, Yt, s0)


def test_position_bias_adds_one_parameter_per_offset_and_starts_at_zero():
    plain = SSMN(input_dim=3, output_dim=2, window_size=5, preset="prototype", seed=0)
    biased = SSMN(input_dim=3, output_dim=2, window_size=5, preset="prototype", position_bias=True, seed=0)
    assert biased.n_parameters == plain.n_parameters + 5
    sl = biased.parameter_slices()["attn_bias"][0]
    np.testing.assert_array_equal(biased.get_parameters()[sl], 0)
    # zero bias: the same function as the order-blind window
    X = np.random.default_rng(0).standard_normal((7, 3))
    np.testing.assert_allclose(biased.forward(X), plain.forward(X), rtol=1e-6, atol=1e-6)


def test_position_bias_makes_attention_order_aware(rng):
    """With a strong bias towards the current step the output follows the newest input only."""
    m = make_model(plastic_ratio=0.0, n_layers=1, window_size=4, position_bias=True)
    theta = m.get_parameters()
    sl = m.parameter_slices()["attn_bias"][0]
    theta[sl] = [0.0, -50.0, -50.0, -50.0]
    m.set_parameters(theta)
    X = rng.standard_normal((6, 3))
    X2 = X.copy()
    X2[2] += 5.0  # change an older step only
    np.testing.assert_allclose(m.forward(X2)[-1], m.forward(X)[-1], atol=1e-12)


@pytest.mark.parametrize("flag", ["position_bias", "residual"])
def test_option_flags_are_validated(flag):
    with pytest.raises(ConfigError, match=rf"{flag} must be True or False, got 1"):
        SSMN(input_dim=2, output_dim=1, **{flag: 1})


def test_options_survive_save_and_load(tmp_path, rng):
    m = make_model(position_bias=True, residual=True)
    _perturbed(m, rng)
    m.save(tmp_path / "m.npz")
    m2 = SSMN.load(tmp_path / "m.npz")
    assert m2.config.position_bias and m2.config.residual
    X = rng.standard_normal((9, 3))
    np.testing.assert_array_equal(m2.forward(X), m.forward(X))
