"""Gradients of the float64 core equal central finite differences, tensor by tensor."""
import numpy as np
import pytest

from conftest import make_model

EPS = 1e-6


def _fd_grad(fun, x):
    g = np.zeros_like(x)
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp.flat[i] += EPS
        xm.flat[i] -= EPS
        g.flat[i] = (fun(xp) - fun(xm)) / (2 * EPS)
    return g


def _rel_err(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-8)


def assert_gradients_match(m, X, Yt, s0, fd=_fd_grad, **kw):
    """The gradient of ``m.value_and_grad(X, Yt, state=s0, **kw)`` against finite differences
    ``fd``: every parameter tensor and the starting state, relative error <= 1e-6."""
    theta = m.get_parameters()

    def loss_at(th):
        m.set_parameters(th)
        return m.value_and_grad(X, Yt, state=s0, **kw)[0]

    _, grad, dstate = m.value_and_grad(X, Yt, state=s0, return_state_grad=True, **kw)
    numeric = fd(loss_at, theta)
    m.set_parameters(theta)
    for name, (sl, _) in m.parameter_slices().items():
        assert _rel_err(grad[sl], numeric[sl]) <= 1e-6, name

    def loss_at_state(data):
        s = s0.copy()
        s.data[:] = data
        return m.value_and_grad(X, Yt, state=s, **kw)[0]

    assert _rel_err(dstate, fd(loss_at_state, s0.data.copy())) <= 1e-6


@pytest.mark.parametrize("rho", [0.0, 0.2, 0.5, 1.0])
@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_parameter_gradients_match_finite_differences(rho, B, loss, rng):
    w = 3
    m = make_model(plastic_ratio=rho, n_layers=4, hidden_dim=5, window_size=w, plasticity_eta=0.3,
                   clip=0.5)
    T = 2 * w + 2
    X = rng.standard_normal((B, T, 3))
    Yt = rng.standard_normal((B, T, 2)) if loss == "mse" else rng.integers(0, 2, (B, T))
    s0 = m.initial_state(B)
    s0.data[:, : -1 - m.config.n_plastic] = rng.standard_normal((B, s0.data.shape[1] - 1 - m.config.n_plastic)) * 0.2
    s0.steps[:] = rng.integers(0, 2 * w, B)
    mask = rng.uniform(0.2, 1.0, (B, T))
    assert_gradients_match(m, X, Yt, s0, loss=loss, mask=mask)


def test_gradients_through_clipped_fast_weights(rng):
    """A large eta drives W_f into the clip bound; the gradient stays exact (zero where clipped)."""
    m = make_model(plastic_ratio=1.0, n_layers=2, hidden_dim=4, window_size=2, plasticity_eta=2.0, clip=0.3)
    X = rng.standard_normal((1, 8, 3))
    Yt = rng.standard_normal((1, 8, 2))
    _, s = m.forward(X, return_state=True)
    assert (np.abs(s.fast_weights) >= 0.3 * (1 - m.config.decay_lambda) - 1e-12).mean() > 0.2
    theta = m.get_parameters()
    _, grad = m.value_and_grad(X, Yt)

    def f(th):
        m.set_parameters(th)
        return m.value_and_grad(X, Yt)[0]

    assert _rel_err(grad, _fd_grad(f, theta)) <= 1e-6


def test_float32_gradient_close_to_float64(rng):
    m64 = make_model(hidden_dim=8, dtype="float64")
    m32 = make_model(hidden_dim=8, dtype="float32")
    X = rng.standard_normal((2, 10, 3))
    Yt = rng.standard_normal((2, 10, 2))
    g64 = m64.value_and_grad(X, Yt)[1]
    g32 = m32.value_and_grad(X, Yt)[1]
    assert _rel_err(g32, g64) < 1e-4


def test_long_sequence_uses_checkpoint_segments(rng):
    """T = 50 gives segments of 8 steps: gradients still match a run of smaller pieces' sum."""
    m = make_model(plastic_ratio=1.0, n_layers=2, hidden_dim=4, window_size=3, plasticity_eta=0.2)
    X = rng.standard_normal((1, 50, 3))
    Yt = rng.standard_normal((1, 50, 2))
    theta = m.get_parameters()
    _, grad = m.value_and_grad(X, Yt)
    idx = rng.choice(theta.size, 25, replace=False)
    for i in idx:
        tp, tm = theta.copy(), theta.copy()
        tp[i] += EPS
        tm[i] -= EPS
        m.set_parameters(tp)
        lp = m.value_and_grad(X, Yt)[0]
        m.set_parameters(tm)
        lm = m.value_and_grad(X, Yt)[0]
        assert abs(grad[i] - (lp - lm) / (2 * EPS)) <= 1e-6 * max(np.abs(grad).max(), 1e-8)
    m.set_parameters(theta)
