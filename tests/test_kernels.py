"""The C forward pass equals the NumPy reference, and the ways of feeding a stream agree."""
import numpy as np
import pytest

from ssmn_rl import SSMN
from ssmn_rl import _kernels
from conftest import make_model
from reference import reference_forward

CONFIGS = [(rho, B) for rho in (0.0, 0.2, 0.5, 1.0) for B in (1, 3)]


def _random_state(model, B, rng):
    s = model.initial_state(B)
    n_stats = 1 + model.config.n_plastic
    s.data[:, :-n_stats] = rng.standard_normal((B, s.data.shape[1] - n_stats)) * 0.2
    s.steps[:] = rng.integers(0, 3 * model.config.window_size, B)
    return s


@pytest.mark.parametrize("rho,B", CONFIGS)
def test_forward_float64_matches_reference(rho, B, rng):
    m = make_model(plastic_ratio=rho, n_layers=4, hidden_dim=7, window_size=3, plasticity_eta=0.3,
                   clip=0.5, dtype="float64")
    X = rng.standard_normal((B, 11, 3))  # T > w: the ring wraps around several times
    s0 = _random_state(m, B, rng)
    Y, s = m.forward(X, state=s0, return_state=True)
    Yr, data_r, steps_r = reference_forward(m.config, m.get_parameters(), X, s0.data, s0.steps)
    assert np.abs(Y - Yr).max() <= 1e-10
    assert np.abs(s.data - data_r).max() <= 1e-10
    np.testing.assert_array_equal(s.steps, steps_r)


@pytest.mark.parametrize("rho,B", CONFIGS)
def test_forward_float32_matches_reference(rho, B, rng):
    m = make_model(plastic_ratio=rho, n_layers=4, hidden_dim=16, window_size=4, dtype="float32")
    X = rng.standard_normal((B, 13, 3))
    Y = m.forward(X)
    Yr, _, _ = reference_forward(m.config, m.get_parameters().astype(np.float64), X.astype(np.float32))
    rel = np.abs(Y - Yr).max() / np.abs(Yr).max()
    assert rel <= 1e-4


def test_standard_variant_matches_reference(rng):
    m = make_model("standard", n_layers=5, hidden_dim=8, window_size=2)
    assert (m.config.n_static, m.config.n_plastic) == (4, 1)
    X = rng.standard_normal((2, 9, 3))
    np.testing.assert_allclose(m.forward(X), reference_forward(m.config, m.get_parameters(), X)[0],
                               atol=1e-10, rtol=0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_step_by_step_equals_sequence(dtype, rng):
    m = make_model(dtype=dtype, window_size=4)
    X = rng.standard_normal((2, 15, 3))
    Y = m.forward(X)
    m.reset(batch_size=2)
    steps = np.stack([m.forward_step(X[:, t]) for t in range(15)], axis=1)
    np.testing.assert_allclose(steps, Y, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-6 if dtype == "float32" else 1e-12)


def test_chunks_carrying_state_equal_one_call(rng):
    m = make_model(window_size=4)
    X = rng.standard_normal((3, 20, 3))
    Y_full, s_full = m.forward(X, return_state=True)
    s = None
    parts = []
    for a, b in [(0, 3), (3, 4), (4, 11), (11, 20)]:
        y, s = m.forward(X[:, a:b], state=s, return_state=True)
        parts.append(y)
    np.testing.assert_allclose(np.concatenate(parts, axis=1), Y_full, atol=1e-12, rtol=0)
    np.testing.assert_allclose(s.data, s_full.data, atol=1e-12, rtol=0)
    np.testing.assert_array_equal(s.steps, s_full.steps)


def test_long_inference_is_chunked_internally(monkeypatch, rng):
    import ssmn_rl.sequence as sequence_mod

    m = make_model(window_size=4)
    X = rng.standard_normal((2, 50, 3))
    Y = m.forward(X)
    monkeypatch.setattr(sequence_mod, "CHUNK_CACHE_BYTES", 1)  # forces one step per kernel call
    np.testing.assert_allclose(m.forward(X), Y, atol=1e-12, rtol=0)


def test_reset_mask_resets_only_selected_streams(rng):
    m = make_model(window_size=4)
    m.reset(batch_size=3)
    for t in range(6):
        m.forward_step(rng.standard_normal((3, 3)))
    before = m.state
    m.reset(mask=[False, True, False])
    after = m.state
    np.testing.assert_array_equal(after.steps, [6, 0, 6])
    np.testing.assert_array_equal(after.data[[0, 2]], before.data[[0, 2]])
    assert not after.data[1].any()


def test_forward_does_not_modify_given_state(rng):
    m = make_model()
    _, s = m.forward(rng.standard_normal((5, 3)), return_state=True)
    snapshot = s.copy()
    m.forward(rng.standard_normal((5, 3)), state=s)
    assert s == snapshot


def test_core_sizes_and_abi_smoke():
    m = make_model()
    sz = _kernels.sizes(m.core.c_cfg, B=2, T=7)
    assert sz["n_params"] == m.n_parameters
    assert _kernels.lib.ssmn_abi_version() == _kernels.ABI_VERSION
    assert "ok" == _kernels.error_message(0)
    assert "unknown" in _kernels.error_message(999)


def test_naive_kernel_gives_the_same_outputs(rng):
    m = SSMN("custom_split", input_dim=3, hidden_dim=8, output_dim=2, window_size=4, n_layers=2,
             plastic_ratio=0.5, seed=3)
    X = rng.standard_normal((12, 3)).astype(np.float32)
    Y = m.forward(X)
    st = m.initial_state(1)
    u_hist = np.zeros(4 * 8, np.float32)
    cache = np.empty(m.core.n_cache, np.float32)
    y = np.empty(2, np.float32)
    out = []
    for t in range(12):
        _kernels.naive_step(m.core.c_cfg, y, cache, st.data, u_hist, st.steps, X[t], m.parameters)
        out.append(y.copy())
    np.testing.assert_allclose(np.array(out), Y, rtol=1e-5, atol=1e-6)


def test_threaded_single_row_decoder_equals_the_serial_path(rng):
    """A one-token step with a big decoder (V*H >= 2^20) splits the decoder product over OpenMP
    threads; every logit is still computed by the same code, so it equals the serial result
    of the same token inside a longer call bit for bit."""
    m = SSMN("text_native", vocab_size=4200, embed_dim=16, hidden_dim=256, window_size=4,
             n_layers=2, dtype="float32", seed=0)
    tokens = rng.integers(0, 4200, 2)
    one = m.forward(tokens[:1])
    two = m.forward(tokens)
    np.testing.assert_array_equal(one[0], two[0])


@pytest.mark.parametrize("start", [-1, 2**63 - 3])
def test_core_refuses_step_counters_it_cannot_advance(start, rng):
    """The C core itself (not only Python's state checks) refuses a negative counter or one that
    would overflow int64 when the call's T steps are added, before touching the state."""
    from ssmn_rl.errors import StateError

    m = make_model(dtype="float64")
    s = m.initial_state(1)
    s.steps[0] = start
    before = s.data.copy()
    T = 5
    sz = _kernels.sizes(m.core.c_cfg, 1, T)
    y = np.empty((1, T, 2))
    cache = np.empty(T * sz["n_cache"])
    with pytest.raises(StateError, match="invalid state"):
        _kernels.forward(m.core.c_cfg, y, cache, s.data, s.steps, rng.standard_normal((1, T, 3)),
                         m.get_parameters(), 1, T)
    np.testing.assert_array_equal(s.data, before)
    assert s.steps[0] == start
