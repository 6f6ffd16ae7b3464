"""The cell's options and presets: neuromodulated write strength (`neuromodulation`), learned decay
(`learned_decay`), pre-norm (`norm`), heads (`n_heads`), alone and together with the attention
options, for every built-in rule — the C
core against the NumPy reference, exact gradients, streaming, validation — and the presets
(`preset="prototype"` against outputs stored before the default cell changed)."""
import json
import pathlib

import numpy as np
import pytest

from conftest import make_model
from reference import reference_forward
from ssmn_rl import SSMN
from ssmn_rl.config import CELL_FLAGS, CELL_PRESETS
from ssmn_rl.errors import ConfigError
from test_gradients import assert_gradients_match

RULES = ["hebbian", "importance", "oja", "delta"]
GATES = [dict(neuromodulation=True), dict(learned_decay=True), dict(norm="rms"), dict(norm="layer"),
         dict(n_heads=2, position_bias=True),
         dict(neuromodulation=True, learned_decay=True, position_bias=True, residual=True, norm="layer"),
         dict(neuromodulation=True, learned_decay=True, position_bias=True, residual=True, norm="rms",
              n_heads=2),
         dict(preset=None)]  # the default cell
REFERENCE = pathlib.Path(__file__).parent / "data" / "prototype_reference.npz"


def _fd_grad(fun, x, eps=1e-5):
    """Central differences with Richardson extrapolation, (4 D(eps/2) - D(eps)) / 3: truncation
    error O(eps^4) at a step large enough that the loss's rounding error (about 1e-16 L / eps)
    stays far below the gates' small gradients (1e-7..1e-5) and their 1e-6 relative tolerance."""
    def central(i, h):
        xp, xm = x.copy(), x.copy()
        xp.flat[i] += h
        xm.flat[i] -= h
        return (fun(xp) - fun(xm)) / (2 * h)

    g = np.zeros_like(x)
    for i in range(x.size):
        g.flat[i] = (4 * central(i, eps / 2) - central(i, eps)) / 3
    return g


def _perturbed(m, rng, scale=0.3):
    theta = m.get_parameters() + scale * rng.standard_normal(m.n_parameters)
    m.set_parameters(theta)
    return theta


def _state(m, B, rng):
    s = m.initial_state(B)
    s.data[:] = 0.2 * rng.standard_normal(s.data.shape)
    s.steps[:] = rng.integers(0, 2 * m.config.window_size, B)
    return s


@pytest.mark.parametrize("gates", GATES)
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_forward_matches_reference(gates, rule, dtype, rng):
    m = make_model(rule=rule, n_layers=3, plastic_ratio=0.67, hidden_dim=6, plasticity_eta=0.4,
                   dtype=dtype, **gates)
    assert_matches_reference(m, rng, 9)


def assert_matches_reference(m, rng, T):
    """m's outputs and final state on 3 random streams of T steps from a random state, with
    perturbed parameters, against the NumPy reference (1e-10 in float64, 1e-4 in float32)."""
    theta = _perturbed(m, rng)
    X = rng.standard_normal((3, T, 3))
    s0 = _state(m, 3, rng)
    Y, s1 = m.forward(X, state=s0, return_state=True)
    Yr, data_r, _ = reference_forward(m.config, theta, X, s0.data, s0.steps)
    tol = 1e-10 if m.config.dtype == "float64" else 1e-4
    np.testing.assert_allclose(Y, Yr, rtol=tol, atol=tol)
    np.testing.assert_allclose(s1.data, data_r, rtol=tol, atol=tol)


@pytest.mark.parametrize("gates", GATES)
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("chat_steps", [1, 2])
def test_gradients_match_finite_differences(gates, rule, chat_steps, rng):
    m = make_model(rule=rule, n_layers=3, plastic_ratio=0.67, hidden_dim=4, plasticity_eta=0.4,
                   clip=0.5, decay_lambda=0.2, chat_steps=chat_steps, **gates)
    _perturbed(m, rng)
    X = rng.standard_normal((2, 8, 3))
    s0 = _state(m, 2, rng)
    # targets near the outputs: a small loss keeps the finite differences' rounding error far
    # below the (small) gradients of the gate parameters
    Yt = m.forward(X, state=s0) + 0.01 * rng.standard_normal((2, 8, 2))
    assert_gradients_match(m, X, Yt, s0, fd=_fd_grad)


# a plugin rule taking per-stream rates (the example BCM plugin): the gates run through its compiled
# C source and through its NumPy functions, both called once per step for all streams
PLUGIN_GATES = [dict(neuromodulation=True, learned_decay=True, norm="layer"),
                dict(neuromodulation=True, learned_decay=True, n_heads=2, position_bias=True)]


@pytest.mark.parametrize("gates", PLUGIN_GATES)
@pytest.mark.parametrize("backend", ["auto", "numpy"])
def test_plugin_rule_with_gates_matches_reference(gates, backend, rng):
    m = make_model(rule="bcm", rule_backend=backend, n_layers=3, plastic_ratio=0.67, hidden_dim=6,
                   plasticity_eta=0.4, clip=5.0, dtype="float64", **gates)
    theta = _perturbed(m, rng)
    X = rng.standard_normal((3, 9, 3))
    s0 = _state(m, 3, rng)
    Y, s1 = m.forward(X, state=s0, return_state=True)
    Yr, data_r, _ = reference_forward(m.config, theta, X, s0.data, s0.steps)
    np.testing.assert_allclose(Y, Yr, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(s1.data, data_r, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("gates", PLUGIN_GATES)
@pytest.mark.parametrize("backend", ["auto", "numpy"])
@pytest.mark.parametrize("chat_steps", [1, 2])
def test_plugin_rule_with_gates_gradients_match_finite_differences(gates, backend, chat_steps, rng):
    m = make_model(rule="bcm", rule_backend=backend, n_layers=3, plastic_ratio=0.67, hidden_dim=4,
                   plasticity_eta=0.4, clip=0.5, decay_lambda=0.2, chat_steps=chat_steps, **gates)
    _perturbed(m, rng)
    X = rng.standard_normal((2, 8, 3))
    s0 = _state(m, 2, rng)
    Yt = m.forward(X, state=s0) + 0.01 * rng.standard_normal((2, 8, 2))
    assert_gradients_match(m, X, Yt, s0, fd=_fd_grad)


@pytest.mark.parametrize("gates", GATES)
def test_streaming_equals_one_sequence_call(gates, rng):
    """Step by step (one-row products) against one call (packed GEMMs): the same function up to
    the order of floating-point sums, which a build without -march=native (the sanitizer build)
    changes; float64 makes that order invisible at 1e-12."""
    m = make_model(rule="delta", **gates)
    _perturbed(m, rng)
    X = rng.standard_normal((12, 3))
    Y = m.forward(X)
    m.reset()
    steps = np.stack([m.forward_step(x) for x in X])
    np.testing.assert_allclose(steps, Y, rtol=1e-12, atol=1e-12)


def test_gates_start_at_the_configured_rates():
    """Zero gate weights: eta_t = eta / 2 everywhere; lambda_t = decay_lambda."""
    m = make_model(neuromodulation=True, learned_decay=True, decay_lambda=0.01)
    p = m.named_parameters()
    assert not p["plastic0.eta_w"].any() and not p["plastic0.decay_w"].any()
    assert p["plastic0.eta_b"][0] == 0.0
    np.testing.assert_allclose(1 / (1 + np.exp(-p["plastic0.decay_b"][0])), 0.01)
    half = make_model(plasticity_eta=0.005, decay_lambda=0.01, preset="prototype")
    gated = make_model(plasticity_eta=0.01, decay_lambda=0.01, neuromodulation=True, learned_decay=True,
                       preset="prototype")
    theta = gated.get_parameters()
    sl = {k: v[0] for k, v in gated.parameter_slices().items()}
    plain_theta = np.concatenate([theta[s] for k, s in sl.items() if ".eta_" not in k and ".decay_" not in k])
    half.set_parameters(plain_theta)
    X = np.random.default_rng(0).standard_normal((20, 3))
    np.testing.assert_allclose(gated.forward(X), half.forward(X), rtol=1e-9, atol=1e-12)


def test_neuromodulation_changes_the_write_strength_with_the_input(rng):
    m = make_model(neuromodulation=True, plastic_ratio=1.0, n_layers=1)
    theta = m.get_parameters()
    theta[m.parameter_slices()["plastic0.eta_b"][0]] = -40.0  # sigmoid ~ 0: no writes at all
    m.set_parameters(theta)
    _, s = m.forward(rng.standard_normal((10, 3)), return_state=True)
    assert np.abs(m.named_parameters()["plastic0.W"]).sum() > 0
    assert np.abs(s.data[:, m.config.window_size * 2 * m.config.hidden_dim:][:, :36]).max() < 1e-15


@pytest.mark.parametrize("flag", ["neuromodulation", "learned_decay"])
def test_gate_flags_are_validated(flag):
    with pytest.raises(ConfigError, match=rf"{flag} must be True or False, got 1"):
        SSMN(input_dim=2, output_dim=1, **{flag: 1})


@pytest.mark.parametrize("value", ["batch", 1, True, ""])
def test_norm_is_validated(value):
    with pytest.raises(ConfigError, match=r"norm must be one of \['none', 'rms', 'layer'\], got"):
        SSMN(input_dim=2, output_dim=1, norm=value)


@pytest.mark.parametrize("norm", ["rms", "layer"])
def test_norm_starts_as_unit_gain_and_zero_bias(norm):
    m = make_model(norm=norm)
    p = m.named_parameters()
    np.testing.assert_array_equal(p["static0.norm_gain"], 1.0)
    np.testing.assert_array_equal(p["plastic0.norm_gain"], 1.0)
    assert ("plastic0.norm_bias" in p) == (norm == "layer")


@pytest.mark.parametrize("flag", ["neuromodulation", "learned_decay"])
def test_gates_need_a_rule_taking_per_stream_rates(flag):
    with pytest.raises(ConfigError, match=rf"{flag} need a rule that takes a per-step eta_t.*'antihebbian'.*"
                                          r"per_stream_rates"):
        SSMN(input_dim=2, output_dim=1, rule="antihebbian", **{flag: True})
    # the built-in rules' NumPy references take them (run in lock-step through the NumPy functions)
    assert getattr(SSMN(input_dim=2, output_dim=1, rule_backend="numpy", **{flag: True}).config, flag)


def test_gates_need_a_plastic_layer():
    with pytest.raises(ConfigError, match="neuromodulation gate the plastic layers.*plastic_ratio=0.0"):
        SSMN("custom_split", input_dim=2, output_dim=1, plastic_ratio=0.0, neuromodulation=True)


def test_gates_survive_save_and_load(tmp_path, rng):
    m = make_model(neuromodulation=True, learned_decay=True)
    _perturbed(m, rng)
    m.save(tmp_path / "m.npz")
    m2 = SSMN.load(tmp_path / "m.npz")
    assert m2.config.neuromodulation and m2.config.learned_decay
    X = rng.standard_normal((9, 3))
    np.testing.assert_array_equal(m2.forward(X), m.forward(X))


# ------------------------------------------------------------------------------- presets
def _reference_cases():
    ref = np.load(REFERENCE)
    names = sorted({k.split(".")[0] for k in ref.files})
    return [(n, json.loads(bytes(ref[f"{n}.config"]).decode()), ref[f"{n}.theta"], ref[f"{n}.X"],
             ref[f"{n}.Y"]) for n in names]


@pytest.mark.parametrize("case", _reference_cases(), ids=lambda c: c[0])
def test_prototype_preset_reproduces_the_stored_prototype_outputs(case):
    _, kwargs, theta, X, Y = case
    m = SSMN(**kwargs, preset="prototype", dtype="float64", seed=7)
    m.set_parameters(theta)
    np.testing.assert_allclose(m.forward(X), Y, rtol=1e-12, atol=1e-12)


def test_default_cell_is_the_default_preset_and_position_aware():
    m = SSMN(input_dim=2, output_dim=1)
    for flag, value in CELL_PRESETS["default"].items():
        assert getattr(m.config, flag) == value, flag
    assert m.config.position_bias
    p = SSMN(input_dim=2, output_dim=1, preset="prototype")
    assert not any(getattr(p.config, f) for f in CELL_FLAGS) and p.config.norm == "none"


def test_the_default_cell_keeps_only_the_attention_options_for_a_rule_that_normalises_its_keys():
    assert SSMN(input_dim=2, output_dim=1).config.norm == "layer"
    delta = SSMN(input_dim=2, output_dim=1, rule="delta").config
    assert delta.position_bias and delta.residual
    assert delta.norm == "none" and not delta.neuromodulation and not delta.learned_decay
    explicit = SSMN(input_dim=2, output_dim=1, rule="delta", norm="layer", neuromodulation=True).config
    assert explicit.norm == "layer" and explicit.neuromodulation


def test_the_default_cell_leaves_the_gates_off_where_they_cannot_apply():
    fixed_rates = SSMN(input_dim=2, output_dim=1, rule="antihebbian")
    assert not fixed_rates.config.neuromodulation and not fixed_rates.config.learned_decay
    assert fixed_rates.config.norm == "layer" and fixed_rates.config.position_bias
    static_only = SSMN("custom_split", input_dim=2, output_dim=1, plastic_ratio=0.0)
    assert not static_only.config.neuromodulation


def test_explicit_flags_override_the_preset():
    m = SSMN(input_dim=2, output_dim=1, preset="prototype", residual=True)
    assert m.config.residual and not m.config.position_bias
    assert m.config.preset == "prototype"


def test_unknown_preset_is_refused():
    with pytest.raises(ConfigError, match=r"preset must be one of \['default', 'prototype'\].*'fast'"):
        SSMN(input_dim=2, output_dim=1, preset="fast")


def test_heads_must_divide_hidden_dim():
    with pytest.raises(ConfigError, match=r"n_heads must divide hidden_dim=6 .* got n_heads=4"):
        SSMN(input_dim=2, output_dim=1, hidden_dim=6, n_heads=4)
    with pytest.raises(ConfigError, match=r"n_heads must be an integer >= 1, got 0"):
        SSMN(input_dim=2, output_dim=1, n_heads=0)


def test_heads_make_block_diagonal_memories(rng):
    m = make_model(n_heads=3, hidden_dim=6, plastic_ratio=1.0, n_layers=1, plasticity_eta=0.5,
                   preset="prototype")
    _perturbed(m, rng)
    _, s = m.forward(rng.standard_normal((2, 7, 3)), return_state=True)
    assert s.fast_weights.shape == (2, 1, 3, 2, 2)
    assert m.n_parameters == make_model(hidden_dim=6, plastic_ratio=1.0, n_layers=1,
                                        preset="prototype").n_parameters
    dense = m.analyze_synaptic_state(s)["layers"][0]
    assert dense["sparsity"] >= 2 / 3 - 1e-9  # the off-diagonal blocks are zero


def test_one_head_is_the_single_head_cell(rng):
    a = make_model(n_heads=1, position_bias=True, neuromodulation=True)
    theta = _perturbed(a, rng)
    b = make_model(position_bias=True, neuromodulation=True)
    b.set_parameters(theta)
    X = rng.standard_normal((5, 3))
    np.testing.assert_array_equal(a.forward(X), b.forward(X))


def test_python_layout_matches_the_core_tensor_by_tensor():
    from ssmn_rl import _kernels
    from ssmn_rl.layout import slices

    m = make_model(neuromodulation=True, learned_decay=True, position_bias=True, chat_steps=2, norm="layer",
                   n_heads=2)
    table = _kernels.param_table(m.core.c_cfg)
    ours = [(sl.start, sl.stop - sl.start) for sl, _ in slices(m.core.param_shapes).values()]
    assert table == ours
