"""Endless streams: a million steps through every variant at default settings, fed adversarial
inputs in chunks that carry the state, must stay finite, keep the synaptic energy bounded and
keep the process's resident memory flat. Also a million-step ``SSMNForecaster.predict_stream``.

Why the synaptic energy is bounded, rule by rule (W = W_f of one plastic layer, c = ``clip``,
pre = z the layer's input, post = h = relu(P z + b) its output; native/plastic.c):

* Every rule's update is followed by ``W <- clamp(W, -c, c)`` inside the kernel (the fused
  hebbian path clamps each element as it writes it; importance, oja, delta and any plugin rule go
  through ``rule_apply(..., do_clip=1)``). So for every rule and every input, |W_ij| <= c and the
  synaptic energy mean(W^2) <= c^2. This is the bound the tests check. (The default cell drops the
  clip, c = inf, for hebbian and delta, which then train chunkwise: there the bound is the
  geometric one below, and the finiteness checks are what the tests hold.)
* The clamp can only fail to bound W if W becomes NaN (a clamp passes NaN through). NaN needs a
  non-finite pre or post, and those are bounded whatever the input: the encoder is
  u = tanh(W_in x + b) in [-1, 1]^H (it saturates for inputs of any size, and the kernel refuses
  NaN/inf inputs before touching the state), attention mixes bounded values, static and plastic
  layers are finite linear maps and ReLUs of bounded vectors, and the read-out adds
  alpha * tanh(.) in [-|alpha|, |alpha|]. Text-Native reads bounded embedding rows.
* Without the clamp: hebbian, W' = (1 - lambda) W + eta post pre^T, converges geometrically to
  |W_ij| <= eta * max|post_i pre_j| / lambda (bounded, but that bound is often above c); importance
  multiplies the same update by gates in (0, 1), same bound; oja,
  W' = (1 - lambda) W + eta post (pre - W^T post)^T, and delta,
  W' = W ((1 - lambda) I - eta k k^T) + eta post k^T (|k| < 1), are contractions only while
  eta |post|^2 (oja) or eta |k|^2 (delta) stays below 2 - lambda; beyond that they oscillate with
  growing amplitude. The clip is therefore what bounds oja and delta at large eta, and the tests
  below drive every rule at eta = 5 to check that it holds there too.
"""
from __future__ import annotations

import os
import time

import numpy as np
import pytest

from ssmn_rl import SSMN

STEPS = 10 ** 6
CHUNK = 20_000
#: Resident memory may not grow by more than this from the first half of a run to the second. The
#: allocator's high-water mark moves during the first chunks (glibc raises its mmap threshold as
#: large blocks are freed, after which blocks of that size come from the heap, whose top it keeps),
#: so the reference is the peak over the whole first half, not one early sample: a leak grows in
#: both halves alike (16 bytes per step would add 8 MiB to the second half), the allocator's
#: plateau does not. CI once saw 13 MiB of growth from the chunk-10 sample on an unchanged path.
RSS_GROWTH_LIMIT = 8 << 20
#: Under AddressSanitizer (scripts/run_sanitized_tests.sh preloads it) freed memory sits in a
#: quarantine of up to 256 MiB before reuse, so RSS grows without a leak: the RSS checks are off.
UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")


def rss_bytes() -> int:
    """Current resident set size of this process (Linux /proc; ru_maxrss elsewhere is a peak)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def adversarial_chunk(i: int, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """Chunk i of a real-valued stream that cycles through hostile input scales."""
    kind = i % 6
    if kind == 0:
        return (rng.standard_normal((n, d)) * 1e6).astype(np.float32)        # huge
    if kind == 1:
        return (rng.standard_normal((n, d)) * 1e-30).astype(np.float32)      # tiny (subnormal-ish)
    if kind == 2:
        signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)[:, None]
        return np.broadcast_to(signs * 3e38, (n, d)).astype(np.float32)      # +-max float, alternating
    if kind == 3:
        return np.full((n, d), 1e6, np.float32)                              # constant drive
    if kind == 4:
        return np.zeros((n, d), np.float32)                                   # silence
    return rng.standard_normal((n, d)).astype(np.float32)                     # ordinary


def adversarial_tokens(i: int, n: int, V: int, rng: np.random.Generator) -> np.ndarray:
    """Chunk i of a token stream: one token forever, two alternating, the extreme ids, a sweep."""
    kind = i % 5
    if kind == 0:
        return np.full(n, V - 1)
    if kind == 1:
        return np.where(np.arange(n) % 2 == 0, 0, V - 1)
    if kind == 2:
        return np.zeros(n, np.int64)
    if kind == 3:
        return np.arange(n) % V
    return rng.integers(0, V, n)


def run_endless(model: SSMN, make_chunk, steps: int = STEPS, chunk: int = CHUNK) -> dict:
    """Feed `steps` steps in chunks carrying the state; check every chunk; return measurements."""
    rng = np.random.default_rng(0)
    state, first_half_peak, second_half_peak, max_energy, max_abs_w = None, 0, 0, 0.0, 0.0
    n_chunks = steps // chunk
    t0 = time.perf_counter()
    for i in range(n_chunks):
        Y, state = model.forward(make_chunk(i, chunk, rng), state=state, return_state=True)
        assert np.isfinite(Y).all(), f"non-finite output in chunk {i}"
        assert np.isfinite(state.data).all(), f"non-finite state after chunk {i}"
        energy = model.statistics(state)["synaptic_energy"]
        max_energy = max(max_energy, float(energy.max()))
        max_abs_w = max(max_abs_w, float(np.abs(state.fast_weights).max()))
        if i < n_chunks // 2:
            first_half_peak = max(first_half_peak, rss_bytes())
        else:
            second_half_peak = max(second_half_peak, rss_bytes())
    return {"steps": int(state.steps[0]), "seconds": time.perf_counter() - t0, "max_energy": max_energy,
            "max_abs_w": max_abs_w, "rss_growth": max(second_half_peak - first_half_peak, 0) if first_half_peak else 0,
            "rss_mb": rss_bytes() / 2 ** 20}


def report(name: str, r: dict) -> None:
    print(f"\n{name}: {r['steps']} steps in {r['seconds']:.1f} s, max energy {r['max_energy']:.4f}, "
          f"max |W_f| {r['max_abs_w']:.4f}, RSS {r['rss_mb']:.0f} MiB, second half's peak over the first's "
          f"{r['rss_growth'] / 2 ** 20:.2f} MiB")


def check_bounds(model: SSMN, r: dict) -> None:
    c = float(np.asarray(model.config.clip, model.dtype))
    assert r["max_abs_w"] <= c, r
    assert r["max_energy"] <= c * c, r
    if not UNDER_ASAN:
        assert r["rss_growth"] < RSS_GROWTH_LIMIT, f"resident memory grew by {r['rss_growth']} bytes"


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["standard", "custom_split"])
def test_million_steps_of_adversarial_reals(variant):
    model = SSMN(variant, input_dim=4, output_dim=2, seed=0)  # every other setting at its default
    r = run_endless(model, lambda i, n, rng: adversarial_chunk(i, n, 4, rng))
    report(variant, r)
    assert r["steps"] == STEPS
    check_bounds(model, r)


@pytest.mark.slow
def test_million_steps_of_adversarial_tokens():
    model = SSMN("text_native", vocab_size=64, seed=0)
    r = run_endless(model, lambda i, n, rng: adversarial_tokens(i, n, 64, rng))
    report("text_native", r)
    assert r["steps"] == STEPS
    check_bounds(model, r)


@pytest.mark.parametrize("rule", ["hebbian", "importance", "oja", "delta"])
def test_every_rule_stays_within_the_clip_at_large_eta(rule):
    """eta = 5 drives oja and delta past their stability limit (see the module docstring): only
    the clip bounds them, and it must hold exactly, at a clip that is not 1."""
    model = SSMN("custom_split", input_dim=4, output_dim=2, hidden_dim=16, n_layers=2, plastic_ratio=0.5,
                 rule=rule, plasticity_eta=5.0, decay_lambda=0.0, clip=0.3, seed=0)
    r = run_endless(model, lambda i, n, rng: adversarial_chunk(i, n, 4, rng), steps=300_000, chunk=10_000)
    report(rule, r)
    check_bounds(model, r)
    assert r["max_abs_w"] == pytest.approx(float(np.float32(0.3))), "the clip should be reached at eta = 5"


def test_streaming_steps_keep_memory_flat():
    """The per-step path (Stream.step through cached pointers) allocates nothing that lives on."""
    model = SSMN("standard", input_dim=4, output_dim=2, seed=0)
    stream = model.stream(batch_size=1)
    rng = np.random.default_rng(0)
    xs = [adversarial_chunk(i, 1, 4, rng)[0] for i in range(6)]
    for i in range(5_000):
        stream.step(xs[i % 6])
    warm = rss_bytes()
    peak = warm
    for i in range(100_000):
        y = stream.step(xs[i % 6])
        if i % 10_000 == 0:
            assert np.isfinite(y).all()
            peak = max(peak, rss_bytes())
    assert stream.state.steps[0] == 105_000
    if not UNDER_ASAN:
        assert peak - warm < RSS_GROWTH_LIMIT // 2, f"resident memory grew by {peak - warm} bytes"


@pytest.mark.slow
def test_forecaster_predict_stream_over_a_million_steps():
    from ssmn_rl.estimators import SSMNForecaster

    t = np.arange(600)
    f = SSMNForecaster(lags=4, regressor=SSMNForecaster.default_regressor(hidden_dim=16),
                       random_state=0).fit(np.sin(2 * np.pi * t / 25))
    rng = np.random.default_rng(0)
    n = STEPS
    y = np.sin(2 * np.pi * np.arange(n) / 25) + 0.1 * rng.standard_normal(n)
    y[n // 4: n // 4 + 1000] *= 1e6        # a burst of huge values
    y[n // 2: n // 2 + 1000] = 0.0         # a stretch of silence
    y[3 * n // 4: 3 * n // 4 + 1000:2] *= -1e3  # alternating-sign spikes
    before = f.predict(5)
    t0 = time.perf_counter()
    out = f.predict_stream(y=y)
    seconds = time.perf_counter() - t0
    print(f"\npredict_stream: {n} steps in {seconds:.1f} s, RSS {rss_bytes() / 2 ** 20:.0f} MiB")
    assert out.shape == (n, 1) and np.isfinite(out).all()
    tail = out[-1000:, 0] - y[-1000:]
    assert np.sqrt(np.mean(tail ** 2)) < 0.5, "forecasts far off once the bursts have passed"
    np.testing.assert_array_equal(f.predict(5), before)  # the fitted forecaster is unchanged
    rss = rss_bytes()
    f.predict_stream(y=y)  # a second pass allocates and frees the same buffers
    assert UNDER_ASAN or rss_bytes() - rss < 64 << 20
