"""Every bad input raises a typed exception whose message names the argument and the problem,
and leaves the model unchanged."""
import numpy as np
import pytest

from ssmn_rl import (SSMN, ConfigError, InputError, ModelFileError, SizeError, StateError)
from conftest import make_model


@pytest.mark.parametrize("kw,match", [
    ({"window_size": 0}, r"window_size must be an integer >= 1, got 0"),
    ({"hidden_dim": -3}, r"hidden_dim must be an integer >= 1, got -3"),
    ({"input_dim": 0}, r"input_dim must be an integer >= 1"),
    ({"output_dim": 2.5}, r"output_dim must be an integer"),
    ({"n_layers": 0}, r"n_layers must be an integer >= 1"),
    ({"plastic_ratio": 1.5}, r"plastic_ratio must be in \[0.0, 1.0\], got 1.5"),
    ({"plastic_ratio": -0.1}, r"plastic_ratio must be in"),
    ({"plasticity_eta": -0.01}, r"plasticity_eta must be in \[0.0, inf\), got -0.01"),
    ({"decay_lambda": 1.0}, r"decay_lambda must be in \[0.0, 1.0\), got 1.0"),
    ({"decay_lambda": -0.5}, r"decay_lambda must be in"),
    ({"plasticity_eta": float("nan")}, r"plasticity_eta must be in"),
    ({"clip": 0.0}, r"clip must be in \(0.0, inf\], got 0.0"),
    ({"clip": float("nan")}, r"clip must be in \(0.0, inf\], got nan"),
    ({"dtype": "float16"}, r"dtype must be one of \['float32', 'float64'\] \(a name or NumPy dtype\), got 'float16'"),
    ({"dtype": None}, r"dtype must be one of .*got None"),
    ({"rule": "nope"}, r"unknown rule 'nope'; available: \[.*'delta', 'hebbian', 'importance', 'oja'.*\]"),
    ({"rule": "delta", "rule_params": {"eps": 0.0}}, r"rule_params\['eps'\] of rule 'delta' must be in \(0.0, 1.0\], got 0.0"),
    ({"rule": "oja", "rule_params": {"beta": 1.0}}, r"rule 'oja' has no parameter\(s\) \['beta'\]"),
    ({"rule": "importance", "rule_params": {"sharpness": "x"}}, r"rule_params\['sharpness'\] of rule 'importance' must be a finite real"),
    ({"rule_backend": "gpu"}, r"rule_backend must be one of \['auto', 'c', 'numpy'\], got 'gpu'"),
    ({"n_layers": 1, "plastic_ratio": 0.5}, r"n_layers must be >= 2"),
    ({"seed": -1}, r"seed must be a non-negative integer"),
])
def test_bad_config_is_refused(kw, match):
    base = dict(input_dim=3, output_dim=2, n_layers=3, plastic_ratio=0.5)
    base.update(kw)
    with pytest.raises(ConfigError, match=match):
        SSMN("custom_split", **base)


def test_unknown_variant_lists_available():
    with pytest.raises(ConfigError, match=r"unknown variant 'big'; available: \['custom_split', 'standard', 'text_native'\]"):
        SSMN("big", input_dim=1, output_dim=1)


def test_standard_refuses_other_ratio_with_hint():
    with pytest.raises(ConfigError, match=r"HINT: use variant='custom_split'"):
        SSMN("standard", input_dim=1, output_dim=1, plastic_ratio=0.5)


@pytest.mark.parametrize("kw", [{"hidden_dim": 2**40}, {"window_size": 2**62, "hidden_dim": 4},
                                {"hidden_dim": 60000, "n_layers": 200}])
def test_sizes_that_overflow_or_exceed_memory(kw):
    with pytest.raises(SizeError, match=r"overflow|GiB"):
        SSMN("custom_split", input_dim=1, output_dim=1, n_layers=kw.pop("n_layers", 2),
             plastic_ratio=0.5, **kw)


def test_batch_that_exceeds_memory_is_refused_before_allocating():
    m = make_model(hidden_dim=64, window_size=64)
    with pytest.raises(SizeError, match=r"the state needs .* GiB"):
        m.initial_state(10**9)
    huge = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(10**8, 10**3, 3), strides=(0, 0, 0))
    with pytest.raises(SizeError, match=r"X needs .* GiB"):
        m.forward(huge)
    big = make_model(hidden_dim=256, window_size=512)
    X = np.zeros((1000, 1000, 3))
    with pytest.raises(SizeError, match=r"the training cache and workspace needs .* GiB"):
        big.value_and_grad(X, np.zeros((1000, 1000, 2)))


@pytest.mark.parametrize("X,match", [
    (np.zeros((5, 4)), r"X must have 3 features in its last axis \(input_dim\), got shape \(5, 4\)"),
    (np.zeros(5), r"X must be 2-D \(T, 3\) or 3-D \(B, T, 3\), got shape \(5,\)"),
    (np.zeros((1, 2, 3, 3)), r"X must be 2-D"),
    (np.array([["a", "b", "c"]]), r"X must be a real numeric array, got dtype <U1"),
    (np.zeros((2, 3), complex), r"X must be a real numeric array, got dtype complex128"),
    (np.array([[1, None, 2]], dtype=object), r"X must be a real numeric array, got dtype object"),
    (np.zeros((0, 2, 3)), r"X must hold at least one sequence"),
])
def test_bad_input_arrays(X, match):
    m = make_model()
    with pytest.raises(InputError, match=match):
        m.forward(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_names_position(bad):
    m = make_model()
    X = np.zeros((2, 6, 3))
    X[1, 4, 2] = bad
    theta = m.get_parameters()
    with pytest.raises(InputError, match=r"X contains NaN or inf \(first at index \(1, 4, 2\)"):
        m.forward(X)
    with pytest.raises(InputError, match=r"X contains NaN or inf"):
        m.value_and_grad(X, np.zeros((2, 6, 2)))
    with pytest.raises(InputError, match=r"x contains NaN or inf"):
        m.forward_step(X[1, 4])
    np.testing.assert_array_equal(m.get_parameters(), theta)
    assert m.state is None


def test_bad_targets_and_masks():
    m = make_model()
    X = np.zeros((4, 3))
    with pytest.raises(InputError, match=r"Y_target must have shape \(4, 2\) for loss='mse', got \(4, 3\)"):
        m.value_and_grad(X, np.zeros((4, 3)))
    with pytest.raises(InputError, match=r"class ids must be in \[0, 2\) \(output_dim\), got range \[0, 5\]"):
        m.value_and_grad(X, np.array([0, 1, 5, 0]), loss="cross_entropy")
    with pytest.raises(InputError, match=r"integer class ids"):
        m.value_and_grad(X, np.zeros(4), loss="cross_entropy")
    with pytest.raises(InputError, match=r"loss must be one of \['mse', 'cross_entropy'\] or a callable, got 'l1'"):
        m.value_and_grad(X, np.zeros((4, 2)), loss="l1")
    with pytest.raises(InputError, match=r"mask weights must be >= 0"):
        m.value_and_grad(X, np.zeros((4, 2)), mask=-np.ones(4))
    with pytest.raises(InputError, match=r"mask selects no step"):
        m.value_and_grad(X, np.zeros((4, 2)), mask=np.zeros(4))
    with pytest.raises(InputError, match=r"at least one time step"):
        m.value_and_grad(np.zeros((0, 3)), np.zeros((0, 2)))


def test_bad_parameters_vector_leaves_model_unchanged():
    m = make_model()
    theta = m.get_parameters()
    with pytest.raises(InputError, match=rf"theta must have shape \({m.n_parameters},\), got \(3,\)"):
        m.set_parameters(np.zeros(3))
    bad = theta.copy()
    bad[7] = np.nan
    with pytest.raises(InputError, match=r"theta contains NaN or inf \(first at index \(7,\)"):
        m.set_parameters(bad)
    np.testing.assert_array_equal(m.get_parameters(), theta)


def test_bad_states():
    m = make_model()
    other = make_model(hidden_dim=7)
    with pytest.raises(StateError, match=r"state must be an SSMNState"):
        m.forward(np.zeros((3, 3)), state=np.zeros(10))
    with pytest.raises(StateError, match=r"state was made for a model with"):
        m.forward(np.zeros((3, 3)), state=other.initial_state(1))
    with pytest.raises(StateError, match=r"state holds 2 streams but the input has 1"):
        m.forward(np.zeros((3, 3)), state=m.initial_state(2))
    s = m.initial_state(1)
    s.data[0, 0] = np.nan
    with pytest.raises(StateError, match=r"state contains NaN or inf"):
        m.forward(np.zeros((3, 3)), state=s)
    s = m.initial_state(1)
    s.steps[0] = -4
    with pytest.raises(StateError, match=r"negative step counters"):
        m.forward(np.zeros((3, 3)), state=s)
    m.reset(batch_size=2)
    with pytest.raises(StateError, match=r"HINT: call reset\(batch_size=1\)"):
        m.forward_step(np.zeros(3))
    with pytest.raises(InputError, match=r"mask must be a boolean array of shape \(2,\)"):
        m.reset(mask=[True])
    with pytest.raises(InputError, match=r"batch_size must be an integer >= 1, got 0"):
        m.initial_state(0)


def _saved(tmp_path):
    m = make_model()
    p = tmp_path / "m.ssmn"
    m.save(p)
    return m, p


def test_truncated_model_file(tmp_path):
    _, p = _saved(tmp_path)
    data = p.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        p.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match=r"not a readable ssmn_rl model file|not an ssmn_rl model file"):
            SSMN.load(p)


def test_corrupted_model_file_every_byte_region(tmp_path):
    _, p = _saved(tmp_path)
    data = bytearray(p.read_bytes())
    raised = 0
    for pos in range(0, len(data), max(1, len(data) // 60)):
        flipped = bytearray(data)
        flipped[pos] ^= 0xFF
        p.write_bytes(bytes(flipped))
        try:
            SSMN.load(p)
        except ModelFileError:
            raised += 1
    assert raised >= 55  # only bytes that the zip format ignores (e.g. timestamps) may go unnoticed


def test_foreign_and_future_files(tmp_path):
    _, p = _saved(tmp_path)
    np.save(tmp_path / "x.npy", np.zeros(3))
    with pytest.raises(ModelFileError, match=r"bare .npy array"):
        SSMN.load(tmp_path / "x.npy")
    np.savez(tmp_path / "y.npz", a=np.zeros(3))
    with pytest.raises(ModelFileError, match=r"is not an ssmn_rl model file \(arrays \['a'\]"):
        SSMN.load(tmp_path / "y.npz")
    (tmp_path / "t.txt").write_text("hello")
    with pytest.raises(ModelFileError):
        SSMN.load(tmp_path / "t.txt")
    with pytest.raises(ModelFileError, match=r"does not exist"):
        SSMN.load(tmp_path / "missing.ssmn")
    import json
    with np.load(p) as z:
        params, meta = z["parameters"], json.loads(z["metadata"].tobytes())
    meta["format_version"] = 99
    np.savez(tmp_path / "future.npz", parameters=params,
             metadata=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    with pytest.raises(ModelFileError, match=r"format version 99.*HINT: upgrade"):
        SSMN.load(tmp_path / "future.npz")
    meta["format_version"] = 1
    meta["config"]["window_size"] = -1
    np.savez(tmp_path / "badcfg.npz", parameters=params,
             metadata=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    with pytest.raises(ModelFileError, match=r"stored configuration is invalid"):
        SSMN.load(tmp_path / "badcfg.npz")


def test_pickled_object_in_file_is_never_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (exec, ("open(%r, 'w').write('pwned')" % str(tmp_path / "pwned"),))

    np.savez(tmp_path / "evil.npz", parameters=np.array([Evil()], dtype=object), metadata=np.zeros(2, np.uint8))
    with pytest.raises(ModelFileError):
        SSMN.load(tmp_path / "evil.npz")
    assert not (tmp_path / "pwned").exists()


def test_save_is_atomic_on_failure(tmp_path, monkeypatch):
    m, p = _saved(tmp_path)
    before = p.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        m.save(p)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["m.ssmn"]
