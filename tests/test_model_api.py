"""The public SSMN API: seeds, parameters, state snapshots, save/load, summaries, pickling."""
import copy
import pickle

import numpy as np
import pytest

from ssmn_rl import SSMN, SSMNState, split_layers
from conftest import make_model


def test_issue_example_api(tmp_path, rng):
    m = SSMN(variant="standard", input_dim=8, hidden_dim=32, output_dim=4, window_size=8, n_layers=6,
             plastic_ratio=0.2, rule="hebbian", plasticity_eta=0.01, decay_lambda=0.001,
             dtype="float32", seed=0)
    X = rng.standard_normal((20, 8))
    assert m.forward(X).shape == (20, 4)
    assert m.forward(rng.standard_normal((3, 20, 8))).shape == (3, 20, 4)
    Y, s = m.forward(X, state=m.initial_state(1), return_state=True)
    assert isinstance(s, SSMNState) and s.steps.tolist() == [20]
    loss, grad = m.value_and_grad(X, np.zeros((20, 4)), loss="mse")
    assert grad.shape == (m.n_parameters,) and np.isfinite(loss)
    theta = m.get_parameters()
    m.set_parameters(theta * 0.5)
    np.testing.assert_array_equal(m.get_parameters(), (theta * 0.5).astype(np.float32))
    path = tmp_path / "m.ssmn"
    m.save(path)
    m2 = SSMN.load(path)
    np.testing.assert_array_equal(m2.get_parameters(), m.get_parameters())
    np.testing.assert_array_equal(m2.forward(X), m.forward(X))
    text = m.summary()
    assert "5 static + 1 plastic" in text and "eta=0.01" in text
    info = m.analyze_synaptic_state(s)
    assert info["layers"][0]["spectral_radius"] >= 0 and "active_modes" in info["layers"][0]


def test_custom_split_variant_and_layer_split():
    assert split_layers(6, 0.2) == (5, 1)
    assert split_layers(5, 0.01) == (4, 1)      # rho > 0: at least one plastic layer
    assert split_layers(5, 0.99) == (1, 4)      # rho < 1: at least one static layer
    assert split_layers(4, 0.0) == (4, 0)
    assert split_layers(4, 1.0) == (0, 4)
    m = SSMN("custom_split", input_dim=2, output_dim=1, n_layers=4, plastic_ratio=0.5)
    assert (m.config.n_static, m.config.n_plastic) == (2, 2)


def test_same_seed_same_parameters_from_numpy_generator():
    a = make_model(seed=7).get_parameters()
    b = make_model(seed=7).get_parameters()
    c = make_model(seed=8).get_parameters()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # the first tensor is W_in drawn from default_rng(seed): reproducible on any machine
    expected = np.random.default_rng(7).standard_normal((6, 3)) * np.sqrt(1 / 3)
    np.testing.assert_array_equal(a[:18], expected.ravel())


def test_state_snapshot_is_a_copy():
    m = make_model()
    m.forward_step(np.ones(3))
    snap = m.state
    m.forward_step(np.ones(3))
    assert snap.steps[0] == 1 and m.state.steps[0] == 2
    c = copy.deepcopy(snap)
    c.data[:] = 0
    assert snap.data.any()
    m.state = snap
    assert m.state == snap


def test_state_indexing_and_concatenate(rng):
    m = make_model()
    _, s = m.forward(rng.standard_normal((3, 5, 3)), return_state=True)
    s1 = s[1]
    assert s1.batch_size == 1
    both = SSMNState.concatenate([s[0], s[2]])
    np.testing.assert_array_equal(both.data, s.data[[0, 2]])


def test_statistics_and_plasticity_presets(rng, tmp_path):
    m = make_model(plastic_ratio=0.5, n_layers=2)
    m.reset()
    for _ in range(5):
        m.forward_step(rng.standard_normal(3))
    st = m.statistics()
    assert st["synaptic_energy"].shape == (1, 1) and st["synaptic_energy"][0, 0] > 0
    assert st["update_magnitude"][0, 0] > 0
    assert 0 <= st["attention_entropy"][0] <= np.log(3) + 1e-9
    assert st["window_fill"][0] == 1.0
    long = SSMN("custom_split", input_dim=3, output_dim=2, n_layers=2, plastic_ratio=0.5, memory="long_term")
    assert (long.config.plasticity_eta, long.config.decay_lambda) == (0.05, 0.0001)
    m.set_plasticity(eta=0.2, decay=0.05)
    assert (m.config.plasticity_eta, m.config.decay_lambda) == (0.2, 0.05)
    fig = m.plot_synaptic_state(path=tmp_path / "syn.png")
    assert (tmp_path / "syn.png").stat().st_size > 1000 and fig is not None


def test_pickle_roundtrip(rng):
    m = make_model()
    m.forward_step(np.ones(3))
    m2 = pickle.loads(pickle.dumps(m))
    X = rng.standard_normal((4, 3))
    np.testing.assert_array_equal(m2.forward(X), m.forward(X))
    assert m2.state == m.state


def test_save_load_bit_exact_float64(tmp_path, rng):
    m = make_model(dtype="float64", seed=5)
    m.set_parameters(m.get_parameters() + rng.standard_normal(m.n_parameters) * 1e-3)
    m.save(tmp_path / "a.ssmn")
    m2 = SSMN.load(tmp_path / "a.ssmn")
    assert m2.get_parameters().tobytes() == m.get_parameters().tobytes()
    assert m2.config == m.config


def test_value_and_grad_returns_final_state_for_truncated_bptt(rng):
    m = make_model()
    X = rng.standard_normal((2, 8, 3))
    _, _, s = m.value_and_grad(X, np.zeros((2, 8, 2)), return_state=True)
    _, s_fwd = m.forward(X, return_state=True)
    assert s == s_fwd


def test_float64_input_to_float32_model_is_converted(rng):
    m = make_model(dtype="float32")
    X = rng.standard_normal((5, 3))
    np.testing.assert_array_equal(m.forward(X), m.forward(X.astype(np.float32)))
    np.testing.assert_array_equal(m.forward(X.astype(np.int64)), m.forward(X.astype(np.int64).astype(np.float32)))


def test_empty_sequence_gives_empty_output():
    m = make_model()
    assert m.forward(np.zeros((0, 3))).shape == (0, 2)


def test_value_and_grad_with_a_loss_callable_equals_builtin_mse(rng):
    m = make_model()
    X, T = rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 6, 2))

    def my_mse(Y):
        d = Y - T
        return float(np.mean(d ** 2)), 2 * d / d.size

    l1, g1 = m.value_and_grad(X, T)
    l2, g2 = m.value_and_grad(X, None, loss=my_mse)
    assert l1 == pytest.approx(l2)
    np.testing.assert_allclose(g1, g2, rtol=1e-10, atol=1e-14)
    with pytest.raises(Exception, match=r"must return dL/dY of shape"):
        m.value_and_grad(X, None, loss=lambda Y: (0.0, np.zeros(3)))


def test_dtype_takes_numpy_types_as_well_as_names():
    for given in (np.float32, np.dtype("float32"), "float32"):
        assert SSMN(input_dim=2, hidden_dim=8, output_dim=1, dtype=given).dtype == np.float32
