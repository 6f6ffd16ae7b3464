"""The plastic layers' chunkwise path (native/plastic_chunk.c): the hebbian and delta rules without
the clip, over chunks of steps as matrix products (the delta rule's values by a triangular solve per
chunk), against the NumPy reference, against the per-step path
(values, gradients, states, with and without the forward's checkpoints, on 1 and 2 threads),
finite differences, streaming, a keep of exactly 0, and the refusals of ``plastic_path``."""
import math

import numpy as np
import pytest

import ssmn_rl.sequence as sequence_mod
from conftest import make_model
from ssmn_rl.errors import ConfigError
from test_cell_options import _fd_grad, _perturbed, _state, assert_matches_reference
from test_gradients import assert_gradients_match

CELLS = [dict(preset="prototype"), dict(neuromodulation=True), dict(learned_decay=True), dict(norm="rms"),
         dict(n_heads=2, position_bias=True),
         dict(preset=None),  # the default cell: position bias, residual, layer norm, both gates
         dict(preset=None, n_heads=2, norm="rms")]
RULES = ["hebbian", "delta"]  # the built-in rules with a chunkwise form
GATED = dict(neuromodulation=True, learned_decay=True)  # the delta rule's default cell has no gates


def _model(cell, path, rule="hebbian", **kw):
    opts = dict(rule=rule, n_layers=3, plastic_ratio=0.67, hidden_dim=6, plasticity_eta=0.4,
                decay_lambda=0.2, clip=math.inf, plastic_path=path)
    opts.update(kw)
    return make_model(**opts, **cell)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("cell", CELLS + [dict(preset=None, **GATED)])
@pytest.mark.parametrize("T", [1, 9, 70])  # 70: chunks of 32, 32 and 6 steps
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_chunkwise_matches_reference(rule, cell, T, dtype, rng):
    assert_matches_reference(_model(cell, "chunk", rule, dtype=dtype), rng, T)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("cell", CELLS + [dict(preset=None, **GATED)])
@pytest.mark.parametrize("T", [2, 17, 70])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("kept", [True, False])
def test_chunkwise_equals_step_by_step(rule, cell, T, threads, kept, rng, monkeypatch):
    """Loss, parameter gradients and the starting state's gradient, from the training forward's
    checkpoints (kept) or from the backward's own replay of the memory (not kept)."""
    if not kept:
        monkeypatch.setattr(sequence_mod, "keep_checkpoints", lambda n_ckpt, n_cache: False)
    out = {}
    for path in ("step", "chunk"):
        m = _model(cell, path, rule, n_threads=threads)
        r = np.random.default_rng(7)
        _perturbed(m, r)
        X = r.standard_normal((3, T, 3))
        s0 = _state(m, 3, r)
        Yt = r.standard_normal((3, T, 2))
        out[path] = m.value_and_grad(X, Yt, state=s0, return_state_grad=True)
    (ls, gs, ds), (lc, gc, dc) = out["step"], out["chunk"]
    assert abs(ls - lc) <= 1e-10 * max(1.0, abs(ls))
    np.testing.assert_allclose(gc, gs, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dc, ds, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("cell", CELLS + [dict(preset=None, **GATED)])
def test_chunkwise_gradients_match_finite_differences(rule, cell, rng):
    m = _model(cell, "chunk", rule, hidden_dim=4)
    _perturbed(m, rng)
    X = rng.standard_normal((2, 70, 3))  # chunks of 32, 32 and 6 steps
    s0 = _state(m, 2, rng)
    Yt = m.forward(X, state=s0) + 0.01 * rng.standard_normal((2, 70, 2))
    assert_gradients_match(m, X, Yt, s0, fd=_fd_grad)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("cell", CELLS)
def test_chunkwise_sequence_equals_streaming(rule, cell, rng):
    m = _model(cell, "auto", rule)
    _perturbed(m, rng)
    X = rng.standard_normal((40, 3))  # one call of 40 steps runs chunkwise (32 + 8), one step does not
    Y = m.forward(X)
    m.reset()
    steps = np.stack([m.forward_step(x) for x in X])
    np.testing.assert_allclose(steps, Y, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rule", RULES)
def test_a_keep_of_zero_is_exact(rule, rng):
    """A decay gate saturated at 1 (keep 1 - lambda_t = 0.0 exactly in float64): the chunk's decays
    are products, not ratios of cumulative products, so nothing divides by zero."""
    out = {}
    for path in ("step", "chunk"):
        m = _model(GATED, path, rule)
        r = np.random.default_rng(3)
        _perturbed(m, r)
        p = m.named_parameters()
        p["plastic0.decay_b"][:] = 60.0
        m.set_parameters(np.concatenate([v.ravel() for v in p.values()]))
        X = r.standard_normal((2, 40, 3))  # chunks of 32 and 8 steps
        Yt = r.standard_normal((2, 40, 2))
        out[path] = m.value_and_grad(X, Yt, return_state_grad=True)
    assert np.all(np.isfinite(out["chunk"][1]))
    np.testing.assert_allclose(out["chunk"][1], out["step"][1], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out["chunk"][2], out["step"][2], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("given, named", [
    (dict(clip=1.0), "clip=1.0"),
    (dict(rule="oja"), "rule 'oja' has no chunkwise form"),
    (dict(chat_steps=2), "chat_steps=2"),
    (dict(rule_backend="numpy"), "rule_backend='numpy'"),
    (dict(plastic_ratio=0.0, variant="custom_split"), "no plastic layer"),
])
def test_chunk_is_refused_where_it_does_not_apply(given, named):
    opts = dict(clip=math.inf, plastic_path="chunk")
    opts.update(given)
    with pytest.raises(ConfigError, match="plastic_path='chunk' does not apply") as err:
        make_model(**opts)
    assert named in str(err.value)


@pytest.mark.parametrize("bad", ["fast", None, 2])
def test_plastic_path_values_are_checked(bad):
    with pytest.raises(ConfigError, match=r"plastic_path must be one of \['auto', 'step', 'chunk'\]"):
        make_model(plastic_path=bad)


def test_the_path_taken_is_reported():
    assert make_model(clip=math.inf).config.plastic_path_taken().startswith("chunkwise on calls of 16..4096")
    assert make_model(clip=1.0).config.plastic_path_taken() == "step by step"
    assert make_model(clip=math.inf, plastic_path="step").config.plastic_path_taken() == "step by step"
    assert make_model(clip=math.inf, plastic_path="chunk").config.plastic_path_taken() == "chunkwise"


@pytest.mark.parametrize("path", ["step", "chunk"])
def test_training_memory_is_linear_in_T_plus_sqrt_T_fast_weights(path):
    """The training forward's checkpoints plus the backward workspace of one stream are
    a T + b sqrt(T) + c floats: activations per token, and O(sqrt(T) H^2) for the fast weights
    (no T H^2 term), on either path. Fitted on T = 1024, 4096, 16384 (K = sqrt(T) exactly; the
    chunkwise path's chunks are at least 32 steps), checked at T = 65536, and b within a few P H^2."""
    from ssmn_rl import _kernels
    from ssmn_rl.config import SSMNConfig
    H = 64
    cfg = SSMNConfig(input_dim=3, hidden_dim=H, output_dim=2, window_size=4, clip=math.inf, plastic_path=path)

    def floats(T):
        s = _kernels.sizes(_kernels.make_c_config(cfg, None, 1), 1, T)
        return s["n_work"] + s["n_ckpt"]

    Ts = np.array([1024, 4096, 16384])
    a, b, c = np.linalg.solve(np.stack([Ts, np.sqrt(Ts), np.ones(3)], 1), [floats(T) for T in Ts])
    assert floats(65536) == pytest.approx(a * 65536 + b * 256 + c, rel=1e-9)
    assert 0 < b <= 3 * cfg.n_plastic * H * H


def test_summary_shows_the_plastic_path():
    import math as _m
    assert "plastic path chunkwise on calls of 16..4096 steps" in make_model(clip=_m.inf).summary()
    assert "plastic path step by step" in make_model(clip=1.0).summary()


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("B", [3, 4])
def test_chunkwise_streams_split_over_threads_agree_with_one_thread(rule, B, rng):
    """A model large enough that its streams are split over two threads (B = 3: unequal shares),
    whose chunks' products each thread runs alone: outputs and gradients equal the one-thread
    per-step path's (a product's worksharing must not bind to the stream loop's team)."""
    out = {}
    for path, threads in (("step", 1), ("chunk", 2)):
        m = make_model(variant="standard", preset=None, hidden_dim=128, window_size=4, clip=math.inf,
                       rule=rule, plastic_path=path, n_threads=threads, input_dim=3, output_dim=2)
        r = np.random.default_rng(5)
        X = r.standard_normal((B, 40, 3))
        Yt = r.standard_normal((B, 40, 2))
        out[path] = (m.forward(X), *m.value_and_grad(X, Yt))
    np.testing.assert_allclose(out["chunk"][0], out["step"][0], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out["chunk"][2], out["step"][2], rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("given, clip", [
    (dict(preset=None), math.inf),
    (dict(preset=None, rule="delta"), math.inf),
    (dict(preset="default", rule="oja"), 1.0),
    (dict(preset=None, rule_backend="numpy"), 1.0),  # its NumPy code runs step by step
    (dict(preset="prototype"), 1.0),
    (dict(preset="prototype", rule="delta"), 1.0),
    (dict(preset=None, clip=2.5), 2.5),
])
def test_the_default_cell_drops_the_clip_for_the_rules_that_then_run_chunkwise(given, clip):
    assert make_model(**given).config.clip == clip
