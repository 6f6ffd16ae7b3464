"""Concurrency: a model, an estimator, a language model or an agent used from several threads at
once gives bit-identical results to sequential use, and the C kernels release the GIL.

What is shared and how it is made safe (see RELIABILITY.md): scratch buffers of the sequence
calls are per thread and taken out of the pool while in use (so a nested call on the same thread,
e.g. from a loss callable, cannot overwrite them either); sequence calls, ``generate`` and agents'
``predict`` never touch a model's live state. The live state itself (``forward_step``, ``reset``,
``state``) is guarded by a lock: threads sharing it are served one step at a time; independent
streams, one per thread, come from ``model.stream()``.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ssmn_rl import SSMN, _kernels

ROOT = Path(__file__).resolve().parent.parent
N_THREADS = 4
ROUNDS = 5


def run_threads(jobs, rounds: int = ROUNDS):
    """Run every job in its own thread, all released at once, `rounds` times each; returns the
    results per job (a list of `rounds` results) and re-raises the first exception of a thread."""
    barrier = threading.Barrier(len(jobs))
    results = [[] for _ in jobs]
    errors = []

    def work(i, job):
        try:
            barrier.wait()
            for _ in range(rounds):
                results[i].append(job())
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i, j)) for i, j in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def same(a, b) -> bool:
    """Bit-identical, through tuples/lists of arrays and floats."""
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return a == b


@pytest.mark.parametrize("kw", [dict(variant="standard", dtype="float32"),
                                dict(variant="custom_split", plastic_ratio=0.5, rule="oja", dtype="float64"),
                                dict(variant="custom_split", plastic_ratio=0.5, rule="delta",
                                     rule_backend="numpy", dtype="float64")])
def test_sequence_calls_from_threads_equal_sequential_calls(kw):
    kw = dict(kw)
    m = SSMN(kw.pop("variant"), input_dim=3, output_dim=2, hidden_dim=16, window_size=4, n_layers=3,
             seed=0, **kw)
    rng = np.random.default_rng(0)
    # different batch sizes and lengths per thread: the scratch buffers differ in size too
    data = [(rng.standard_normal((1 + i, 20 + 7 * i, 3)), rng.standard_normal((1 + i, 20 + 7 * i, 2)))
            for i in range(N_THREADS)]
    _, warm = m.forward(rng.standard_normal((1, 9, 3)), return_state=True)

    def job(i):
        X, Y = data[i]
        state = warm if X.shape[0] == 1 else None
        return lambda: (m.forward(X, state=state, return_features=True),
                        m.value_and_grad(X, Y, state=state, return_state=True)[:2])

    jobs = [job(i) for i in range(N_THREADS)]
    expected = [job() for job in jobs]
    for i, results in enumerate(run_threads(jobs)):
        for r in results:
            assert same(r, expected[i]), f"thread {i} differs from the sequential result"


def test_streams_in_threads_equal_sequential_streams():
    m = SSMN("standard", input_dim=3, output_dim=2, hidden_dim=16, window_size=4, seed=0)
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((40, 2, 3)).astype(np.float32) for _ in range(N_THREADS)]

    def job(i):
        def run():
            s = m.stream(batch_size=2)
            return [s.step(x) for x in xs[i]], s.state.data.copy()
        return run

    jobs = [job(i) for i in range(N_THREADS)]
    expected = [j() for j in jobs]
    for i, results in enumerate(run_threads(jobs)):
        assert all(same(r, expected[i]) for r in results)
    assert m.state is None  # the model's own live state was never created


def test_threads_sharing_the_live_state_are_served_one_step_at_a_time():
    """forward_step from several threads on one model: every step lands (no lost or torn
    updates), so with the same input in every thread the final state equals the sequential one."""
    def model():
        return SSMN("standard", input_dim=3, output_dim=2, hidden_dim=64, window_size=8, seed=0)

    x = np.full((4, 3), 0.5, np.float32)
    reference = model()
    for _ in range(N_THREADS * 200):
        reference.forward_step(x)
    shared = model()
    shared.reset(batch_size=4)
    run_threads([lambda: shared.forward_step(x)] * N_THREADS, rounds=200)
    assert shared.state.steps.tolist() == [N_THREADS * 200] * 4
    assert shared.state == reference.state


def test_generate_from_threads_equals_sequential_generate():
    m = SSMN("text_native", vocab_size=11, embed_dim=8, hidden_dim=16, window_size=4, seed=0)
    prompts = [np.arange(i + 1) % 11 for i in range(N_THREADS)]
    jobs = [lambda p=p, i=i: m.generate(p, 30, temperature=0.8, top_k=5, seed=i) for i, p in enumerate(prompts)]
    expected = [j() for j in jobs]
    for i, results in enumerate(run_threads(jobs)):
        assert all(same(r, expected[i]) for r in results)


def test_agent_predict_from_threads_equals_sequential_predict():
    """predict used to swap the policy's live state in and out, so concurrent calls stepped on
    each other's states (and on a training loop's)."""
    from ssmn_rl.agents import ES

    agent = ES("standard", "CartPole-v1", seed=0)
    rng = np.random.default_rng(2)
    episodes = [rng.standard_normal((30, 4)).astype(np.float32) * 0.2 for _ in range(N_THREADS)]

    def job(i):
        def run():
            state, actions = None, []
            for t, obs in enumerate(episodes[i]):
                a, state = agent.predict(obs, state=state, episode_start=np.array([t == 15]),
                                         deterministic=True)
                actions.append(int(a))
            return actions, state.data.copy()
        return run

    jobs = [job(i) for i in range(N_THREADS)]
    expected = [j() for j in jobs]
    for i, results in enumerate(run_threads(jobs)):
        assert all(same(r, expected[i]) for r in results), f"thread {i} differs"
    assert agent.policy.model.state is None


def test_estimators_and_language_model_from_threads():
    from ssmn_rl.estimators import SSMNForecaster, SSMNRegressor, SSMNTransformer
    from ssmn_rl.text import SSMNLanguageModel

    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 3))
    y = np.sin(np.arange(80) / 4.0)
    reg = SSMNRegressor(hidden_dim=8, window_size=3, solver="ridge", random_state=0).fit(X, y)
    fc = SSMNForecaster(regressor=SSMNForecaster.default_regressor(hidden_dim=8, window_size=3),
                        lags=3, random_state=0).fit(y)
    tr = SSMNTransformer(hidden_dim=8, window_size=3, random_state=0).fit(X)
    lm = SSMNLanguageModel(embed_dim=4, hidden_dim=8, n_layers=2, max_epochs=1, batch_size=2,
                           chunk_length=8, validation_fraction=0.0, n_jobs=1, random_state=0).fit("abcabcabd")
    jobs = [lambda: reg.predict(X), lambda: fc.predict(6), lambda: fc.predict_stream(y=y[:20], horizon=2),
            lambda: tr.transform(X), lambda: (lm.generate("ab", 8, seed=0), lm.score("abca"))]
    expected = [j() for j in jobs]
    for i, results in enumerate(run_threads(jobs)):
        assert all(same(r, expected[i]) for r in results), f"job {i} differs"


def test_nested_call_from_a_loss_callable_keeps_gradients_exact():
    """A loss callable (or a NumPy rule) that runs the same model on the same thread must not
    overwrite the activation cache that the backward pass of the outer call still needs."""
    m = SSMN("standard", input_dim=3, output_dim=2, hidden_dim=16, window_size=4, seed=0, dtype="float64")
    rng = np.random.default_rng(4)
    X, Y, X2 = rng.standard_normal((1, 20, 3)), rng.standard_normal((1, 20, 2)), rng.standard_normal((1, 20, 3))

    def mse(Yp):
        d = Yp - Y
        return float((d ** 2).mean()), 2 * d / d.size

    def mse_with_nested_forward(Yp):
        m.forward(X2)
        m.value_and_grad(X2, Y)
        return mse(Yp)

    plain = m.value_and_grad(X, None, loss=mse)
    nested = m.value_and_grad(X, None, loss=mse_with_nested_forward)
    assert same(plain, nested)


def test_kernels_release_the_gil(monkeypatch):
    """While one thread is inside a long kernel call, another thread keeps running Python.
    (With the GIL held, the main thread could not execute a single bytecode until the call ends.)"""
    m = SSMN("standard", input_dim=8, output_dim=2, hidden_dim=64, window_size=16, seed=0)
    X, Y = np.ones((1, 6000, 8), np.float32), np.zeros((1, 6000, 2), np.float32)
    windows = []
    real_backward = _kernels.backward

    def timed_backward(*args, **kw):
        t0 = time.perf_counter()
        real_backward(*args, **kw)
        windows.append((t0, time.perf_counter()))

    monkeypatch.setattr(_kernels, "backward", timed_backward)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (m.value_and_grad(X, Y), done.set()))
    ticks = []
    worker.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
    worker.join()
    (t0, t1), = windows
    inside = sum(t0 < t < t1 for t in ticks)
    assert t1 - t0 > 0.01, "the kernel call was too short to tell"
    assert inside > 100, (f"the main thread ran {inside} times during a {t1 - t0:.3f} s kernel call: "
                          "the kernel holds the GIL")


def test_bench_threads_quick(tmp_path):
    out = tmp_path / "threads.json"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_threads.py"), "--quick",
                           "--seconds", "0.05", "--out", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(out.read_text())
    names = [r["workload"] for r in report["rows"]]
    assert names == ["forward", "value_and_grad", "two models", "stream.step", "pure Python"]
    for r in report["rows"]:
        assert r["per_s_1_thread"] > 0 and r["per_s_2_threads"] > 0 and np.isfinite(r["ratio"])
    assert "speed-up (2 vs 1)" in proc.stdout
