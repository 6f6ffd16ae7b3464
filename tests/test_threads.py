"""n_threads: the kernels split a call over OpenMP threads. The forward pass is the same for every
thread count; gradients are the same run to run for a given count and agree across counts to
rounding; NumPy rules keep to one thread; bad thread counts are refused by name."""
import numpy as np
import pytest

from ssmn_rl import SSMN
from ssmn_rl.errors import ConfigError

# big enough that every parallel loop of the core splits (GEMMs, attention and plastic streams)
SHAPES = dict(input_dim=8, output_dim=5, hidden_dim=64, window_size=48)
CELLS = {
    "prototype": dict(preset="prototype"),
    "default": dict(preset="default"),
    "heads+chat": dict(preset="default", variant="custom_split", n_layers=6, plastic_ratio=0.5, n_heads=4,
                       chat_steps=2),
    "delta": dict(preset="default", rule="delta"),
}


def _model(cell: str, n_threads: int, dtype: str = "float64") -> SSMN:
    kw = dict(CELLS[cell])
    variant = kw.pop("variant", "standard")
    return SSMN(variant, **SHAPES, **kw, dtype=dtype, seed=0, n_threads=n_threads)


def _run(m: SSMN):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 200, 8))
    Y = rng.standard_normal((5, 200, 5))
    y = m.forward(X)
    _, g, ds = m.value_and_grad(X, Y, loss="mse", return_state_grad=True)
    return y, g, ds


@pytest.mark.parametrize("cell", list(CELLS))
def test_thread_counts_agree(cell):
    y1, g1, d1 = _run(_model(cell, 1))
    for nt in (2, 3):
        m = _model(cell, nt)
        y, g, d = _run(m)
        np.testing.assert_array_equal(y, y1)  # every output element is computed by one thread
        np.testing.assert_array_equal(d, d1)  # per-stream state gradients likewise
        np.testing.assert_allclose(g, g1, rtol=1e-12, atol=1e-12 * np.abs(g1).max())
        y2, g2, d2 = _run(m)  # run to run, same count: identical
        np.testing.assert_array_equal(g2, g)
        np.testing.assert_array_equal(y2, y)


def test_float32_gradients_close_across_counts():
    _, g1, _ = _run(_model("default", 1, "float32"))
    _, g2, _ = _run(_model("default", 2, "float32"))
    np.testing.assert_allclose(g2, g1, rtol=1e-4, atol=1e-5 * np.abs(g1).max())


def test_numpy_rule_runs_on_one_thread_with_the_same_result():
    kw = dict(SHAPES, preset="prototype", rule="hebbian", rule_backend="numpy", dtype="float64", seed=0)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3, 30, 8))
    Y = rng.standard_normal((3, 30, 5))
    _, g1 = SSMN(**kw, n_threads=1).value_and_grad(X, Y, loss="mse")
    _, g2 = SSMN(**kw, n_threads=2).value_and_grad(X, Y, loss="mse")
    np.testing.assert_allclose(g2, g1, rtol=1e-12, atol=1e-14)


def test_default_and_environment(monkeypatch):
    monkeypatch.setenv("SSMN_NUM_THREADS", "3")
    assert SSMN(**SHAPES).n_threads == 3
    assert SSMN(**SHAPES, n_threads=1).n_threads == 1  # the argument wins
    monkeypatch.delenv("SSMN_NUM_THREADS")
    assert SSMN(**SHAPES).n_threads >= 1
    monkeypatch.setenv("SSMN_NUM_THREADS", "many")
    with pytest.raises(ConfigError, match="SSMN_NUM_THREADS"):
        SSMN(**SHAPES)


def test_omp_num_threads_is_honoured_below_ssmn_num_threads(monkeypatch):
    """joblib/loky workers get OMP_NUM_THREADS so that n_jobs processes do not oversubscribe."""
    monkeypatch.delenv("SSMN_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3,1")
    assert SSMN(**SHAPES).n_threads == 3
    monkeypatch.setenv("SSMN_NUM_THREADS", "2")
    assert SSMN(**SHAPES).n_threads == 2
    monkeypatch.delenv("SSMN_NUM_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")  # another library's variable: ignored
    assert SSMN(**SHAPES).n_threads >= 1


@pytest.mark.parametrize("bad", [0, -1, 1025, 2.0, True, "2"])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ConfigError, match="n_threads"):
        SSMN(**SHAPES, n_threads=bad)
    m = SSMN(**SHAPES, n_threads=1)
    with pytest.raises(ConfigError, match="n_threads"):
        m.n_threads = bad
    assert m.n_threads == 1


def test_setting_threads_changes_calls_not_results():
    m = _model("default", 1)
    y1, g1, _ = _run(m)
    m.n_threads = 2
    y2, g2, _ = _run(m)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_allclose(g2, g1, rtol=1e-12, atol=1e-12 * np.abs(g1).max())
    assert m.n_threads == 2


@pytest.mark.parametrize("cell", ["default", "heads+chat"])
def test_kept_checkpoints_give_the_replayed_gradient(cell, monkeypatch):
    """value_and_grad keeps the training forward's fast-weight checkpoints when they fit; the
    backward then skips its replay of the updates. Same gradient either way."""
    import ssmn_rl.sequence as sequence_mod

    m = _model(cell, 2)
    _, kept, dkept = _run(m)
    monkeypatch.setattr(sequence_mod, "keep_checkpoints", lambda n_ckpt, n_cache: False)
    _, replayed, dreplayed = _run(m)
    np.testing.assert_allclose(kept, replayed, rtol=1e-12, atol=1e-12 * np.abs(replayed).max())
    np.testing.assert_allclose(dkept, dreplayed, rtol=1e-12, atol=1e-14)
