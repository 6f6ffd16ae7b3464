"""Every built-in plasticity rule, in every variant and on both backends (C kernel, NumPy
callbacks): forward equals the NumPy reference, gradients equal finite differences."""
import numpy as np
import pytest

from ssmn_rl import SSMN
from ssmn_rl.testing import check_rule
from reference import reference_forward

RULES = ["hebbian", "importance", "oja", "delta"]
VARIANTS = [("standard", 0.2, 5), ("custom_split", 0.5, 2), ("custom_split", 1.0, 2)]


def _model(rule, variant, rho, layers, backend="auto", dtype="float64", **kw):
    """The prototype's cell: the rules are the subject here (the cell options with every rule are
    tests/test_cell_options.py)."""
    return SSMN(variant, input_dim=3, hidden_dim=5, output_dim=2, window_size=3, n_layers=layers,
                plastic_ratio=rho, rule=rule, rule_backend=backend, plasticity_eta=0.4,
                decay_lambda=0.05, clip=0.6, dtype=dtype, seed=1, **{"preset": "prototype", **kw})


def _state(m, B, rng):
    s = m.initial_state(B)
    n = s.data.shape[1] - 1 - m.config.n_plastic
    s.data[:, :n] = rng.standard_normal((B, n)) * 0.3
    s.steps[:] = rng.integers(0, 6, B)
    return s


@pytest.mark.parametrize("rule", RULES)
def test_builtin_rule_passes_check_rule(rule):
    done = check_rule(rule)
    assert "vjp matches central finite differences of update (float64)" in done
    assert "runs in a model, C kernel and NumPy rule agreeing" in done


@pytest.mark.parametrize("backend", ["c", "numpy"])
@pytest.mark.parametrize("variant,rho,layers", VARIANTS)
@pytest.mark.parametrize("rule", RULES)
def test_rule_forward_matches_numpy_reference(rule, variant, rho, layers, backend, rng):
    m = _model(rule, variant, rho, layers, backend)
    X = rng.standard_normal((2, 9, 3))
    s0 = _state(m, 2, rng)
    Y, s = m.forward(X, state=s0, return_state=True)
    Yr, data_r, _ = reference_forward(m.config, m.get_parameters(), X, s0.data, s0.steps)
    assert np.abs(Y - Yr).max() <= 1e-10
    assert np.abs(s.data - data_r).max() <= 1e-10


@pytest.mark.parametrize("backend", ["c", "numpy"])
@pytest.mark.parametrize("variant,rho,layers", VARIANTS)
@pytest.mark.parametrize("rule", RULES)
def test_rule_gradients_match_finite_differences(rule, variant, rho, layers, backend, rng):
    m = _model(rule, variant, rho, layers, backend)
    B, T = 2, 7  # T >= 2w
    X = rng.standard_normal((B, T, 3))
    Yt = rng.standard_normal((B, T, 2))
    s0 = _state(m, B, rng)
    theta = m.get_parameters()
    _, g, dstate = m.value_and_grad(X, Yt, state=s0, return_state_grad=True)
    eps = 1e-6
    fd = np.zeros_like(theta)
    for i in range(theta.size):
        tp, tm = theta.copy(), theta.copy()
        tp[i] += eps
        tm[i] -= eps
        m.set_parameters(tp)
        lp = m.value_and_grad(X, Yt, state=s0)[0]
        m.set_parameters(tm)
        lm = m.value_and_grad(X, Yt, state=s0)[0]
        fd[i] = (lp - lm) / (2 * eps)
    m.set_parameters(theta)
    for name, (sl, _) in m.parameter_slices().items():
        err = np.abs(g[sl] - fd[sl]).max() / max(np.abs(fd[sl]).max(), 1e-8)
        assert err <= 1e-6, (name, err)
    # the fast-weight part of the starting state too
    off = 2 * 3 * 5
    idx = rng.choice(np.arange(off, off + m.config.n_plastic * 25), 10, replace=False)
    for i in idx:
        sp, sm = s0.copy(), s0.copy()
        sp.data[0, i] += eps
        sm.data[0, i] -= eps
        num = (m.value_and_grad(X, Yt, state=sp)[0] - m.value_and_grad(X, Yt, state=sm)[0]) / (2 * eps)
        assert abs(dstate[0, i] - num) <= 1e-6 * max(np.abs(dstate).max(), 1e-8)


@pytest.mark.parametrize("rule", RULES)
def test_c_and_numpy_backends_agree_in_float32(rule, rng):
    X = rng.standard_normal((2, 20, 3))
    a = _model(rule, "custom_split", 0.5, 2, "c", dtype="float32")
    b = _model(rule, "custom_split", 0.5, 2, "numpy", dtype="float32")
    np.testing.assert_allclose(a.forward(X), b.forward(X), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("rule", RULES)
def test_fast_weights_stay_within_the_clip(rule, rng):
    m = SSMN("custom_split", input_dim=3, hidden_dim=8, output_dim=2, window_size=3, n_layers=2,
             plastic_ratio=0.5, rule=rule, plasticity_eta=5.0, clip=0.25, seed=0)
    _, s = m.forward(rng.standard_normal((300, 3)) * 10, return_state=True)
    assert np.abs(s.fast_weights).max() <= 0.25 + 1e-7
    assert np.isfinite(s.data).all()
