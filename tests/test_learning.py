"""Learning tests (slow): the model trains, and its fast weights carry memory past the window."""
import numpy as np
import pytest

from ssmn_rl import SSMN
from ssmn_rl.optim import Adam
from ssmn_rl.tasks import delayed_recall

pytestmark = pytest.mark.slow


def _train_recall(plastic_ratio: float, iters: int = 300, window: int = 4, seed: int = 0) -> float:
    delay = 3 * window  # the value is 3w steps in the past at query time: outside the window
    m = SSMN("custom_split", input_dim=6, hidden_dim=32, output_dim=4, window_size=window, n_layers=2,
             plastic_ratio=plastic_ratio, plasticity_eta=0.5, decay_lambda=0.01, alpha=1.0, seed=seed)
    opt = Adam(m.n_parameters, lr=0.01, max_grad_norm=1.0)
    rng = np.random.default_rng(seed)
    for _ in range(iters):
        X, y, mask = delayed_recall(64, delay, rng=rng)
        _, g = m.value_and_grad(X, y, loss="cross_entropy", mask=mask)
        m.set_parameters(opt.step(m.get_parameters(), g))
    X, y, _ = delayed_recall(2000, delay, rng=10_000 + seed)
    return float((m.forward(X)[:, -1].argmax(-1) == y[:, -1]).mean())


def test_fast_weights_recall_a_value_three_windows_back():
    acc_plastic = _train_recall(0.5)
    acc_static = _train_recall(0.0)
    # chance is 1/4; without plastic layers nothing can carry the value past the window
    assert acc_plastic >= 0.9, acc_plastic
    assert acc_static <= 0.35, acc_static


def test_adam_lowers_a_regression_loss():
    rng = np.random.default_rng(0)
    m = SSMN("standard", input_dim=2, hidden_dim=16, output_dim=1, window_size=4, seed=1)
    X = rng.standard_normal((8, 30, 2))
    Y = np.cumsum(X[..., :1], axis=1) * 0.2  # running sum: needs memory of the whole sequence
    opt = Adam(m.n_parameters, lr=3e-3)
    first = m.value_and_grad(X, Y)[0]
    for _ in range(150):
        loss, g = m.value_and_grad(X, Y)
        m.set_parameters(opt.step(m.get_parameters(), g))
    assert loss < 0.5 * first
