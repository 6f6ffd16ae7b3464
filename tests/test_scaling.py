"""Scale-out: population-batched rollouts give the per-member results, persistent workers give the
inline results, and a dead worker is an error that names its backend (never a hang)."""
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import ssmn_rl  # noqa: F401
from ssmn_rl import SSMN
from ssmn_rl.agents import ES, CheckpointCallback
from ssmn_rl.agents.common.backends import WorkerError, make_backend
from ssmn_rl.errors import ConfigError, InputError
from ssmn_rl.population import Population

ENV = "ssmn/StatelessCartPole-v0"
SMALL = dict(population_size=8, seed=5, policy_kwargs=dict(hidden_dim=12, window_size=4))


# ---------------------------------------------------------------- the population kernel
def _model(**kw):
    cfg = dict(input_dim=3, output_dim=2, hidden_dim=8, window_size=3, n_layers=3, seed=0)
    cfg.update(kw)
    return SSMN("standard", **cfg)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_population_rows_match_forward_step_bit_for_bit(dtype, n_threads):
    m = _model(dtype=dtype)
    rng = np.random.default_rng(0)
    R = 5
    params = m.get_parameters()[None] + 0.1 * rng.standard_normal((R, m.n_parameters))
    pop = Population(m, params, n_threads=n_threads)
    xs = rng.standard_normal((6, R, 3))
    active = [np.arange(R), np.array([4, 1, 2]), np.array([3]), np.arange(R), np.array([0, 4]), np.arange(R)]
    got = {r: [] for r in range(R)}
    for t, rows in enumerate(active):
        y = pop.step(xs[t, rows].astype(dtype), rows)
        for j, r in enumerate(rows):
            got[r].append(y[j])
    for r in range(R):
        ref = _model(dtype=dtype)
        ref.set_parameters(pop.params[r])
        ref.reset(batch_size=1)
        want = [ref.forward_step(xs[t, r].astype(dtype)) for t, rows in enumerate(active) if r in rows]
        np.testing.assert_array_equal(np.array(got[r]), np.array(want))
    pop.reset([1])
    assert pop.state.steps.tolist() == [4, 0, 4, 4, 5]


def test_population_refuses_bad_input_naming_the_argument():
    m = _model()
    pop = Population(m, np.stack([m.get_parameters()] * 3))
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(InputError, match="params must have shape"):
        Population(m, m.get_parameters())
    with pytest.raises(InputError, match="params contains NaN"):
        Population(m, np.full((2, m.n_parameters), np.nan))
    with pytest.raises(InputError, match="n_threads"):
        Population(m, np.stack([m.get_parameters()]), n_threads=0)
    with pytest.raises(InputError, match="rows must not repeat"):
        pop.step(x, [1, 1])
    with pytest.raises(InputError, match=r"rows must be in \[0, 3\)"):
        pop.step(x, [0, 3])
    with pytest.raises(InputError, match="rows must be a 1-D array of integer"):
        pop.step(x, [0.5, 1.0])
    with pytest.raises(InputError, match=r"x must have shape \(2, 3\)"):
        pop.step(np.zeros((3, 3), np.float32), [0, 1])
    with pytest.raises(InputError, match="x contains NaN"):
        pop.step(np.array([[0, 0, 0], [0, np.nan, 0]], np.float32), [0, 2])
    # int64 row arrays skip the Python checks (the kernel makes them) but name the argument all the same
    with pytest.raises(InputError, match="rows must not repeat"):
        pop.step(x, np.array([2, 2]))
    with pytest.raises(InputError, match=r"rows must be in \[0, 3\)"):
        pop.step(x, np.array([0, -1]))
    with pytest.raises(InputError, match="rows must not repeat"):
        pop.step(np.zeros((4, 3), np.float32), np.array([0, 1, 2, 2]))
    assert pop.state.steps.tolist() == [0, 0, 0]  # nothing stepped


# ---------------------------------------------------------------- batched ES == per-member ES
@pytest.mark.parametrize("extra", [{}, {"episodes_per_member": 2, "max_episode_steps": 30, "eval_center": False}])
def test_es_population_batching_gives_the_per_member_returns(extra):
    runs = [ES("standard", ENV, population_batching=b, **SMALL, **extra).learn(2500) for b in (False, True)]
    a, b = runs
    assert a.num_timesteps == b.num_timesteps
    assert [r["charts/episodic_return"] for r in a.logger.rows] == [r["charts/episodic_return"] for r in b.logger.rows]
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.policy.obs_rms.var, b.policy.obs_rms.var)


def test_es_population_batching_refills_a_small_batch_with_the_per_member_returns(monkeypatch):
    import ssmn_rl.agents.es as es_module
    monkeypatch.setattr(es_module, "MAX_ACTIVE_STREAMS", 3)  # 9 streams through 3 places: refills
    kw = dict(SMALL, episodes_per_member=2, max_episode_steps=25)
    a, b = (ES("standard", ENV, population_batching=p, **kw).learn(1500) for p in (False, True))
    assert a.num_timesteps == b.num_timesteps
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.policy.obs_rms.var, b.policy.obs_rms.var)


def test_es_population_batching_on_a_box_action_env():
    kw = dict(population_size=4, seed=1, max_episode_steps=40, policy_kwargs=dict(hidden_dim=8))
    a, b = (ES("standard", "ssmn/StatelessPendulum-v0", population_batching=p, **kw).learn(400) for p in (False, True))
    np.testing.assert_array_equal(a.theta, b.theta)


def test_es_rejects_bad_scaling_arguments():
    with pytest.raises(ConfigError, match="population_batching"):
        ES("standard", ENV, population_batching="yes")
    with pytest.raises(ConfigError, match="threads_per_worker"):
        ES("standard", ENV, threads_per_worker=0)


# ---------------------------------------------------------------- persistent workers
class _Counter:
    """A worker that counts its calls: state kept across calls is what 'persistent' means."""

    def __init__(self, setup):
        self.n, self.base = 0, setup["base"]

    def bump(self, k):
        self.n += 1
        return (self.base + k, self.n, os.getpid())


@pytest.mark.parametrize("backend", ["inline", "process"])
def test_workers_keep_their_state_across_calls(backend):
    with make_backend(backend, 2) as be:
        be.start(_Counter, {"base": 10})
        first = be.call("bump", [1, 2])
        second = be.call("bump", [3, 4])
    assert [r[:2] for r in first] == [(11, 1), (12, 1)]
    assert [r[:2] for r in second] == [(13, 2), (14, 2)]
    assert [r[2] for r in first] == [r[2] for r in second]


def test_a_worker_exception_reaches_the_driver_with_its_type():
    with make_backend("process", 1) as be:
        be.start(_Counter, {"base": None})
        with pytest.raises(TypeError, match="unsupported operand"):
            be.call("bump", [1])


def _kill_worker_after_first_generation(locals_, globals_):
    agent = locals_["self"]
    if agent._iteration == 1:
        os.kill(agent._backend.worker_pids()[0], signal.SIGKILL)


def test_a_killed_process_worker_raises_naming_the_backend_and_the_checkpoint_loads(tmp_path):
    agent = ES("standard", ENV, backend="process", n_workers=2, **SMALL)
    ck = CheckpointCallback(save_freq=1, save_path=tmp_path)
    with pytest.raises(WorkerError, match=r"backend='process': worker 0 \(pid \d+\) died .*exit code -9"):
        agent.learn(20000, callback=[ck, _kill_worker_after_first_generation])
    assert ck.saved, "the checkpoint of the first generation was written"
    resumed = ES.load(ck.saved[-1])
    np.testing.assert_array_equal(resumed.theta, agent.theta)
    resumed.learn(500, reset_num_timesteps=False)  # and it trains on


@pytest.mark.slow
def test_a_killed_ray_actor_raises_naming_the_backend(local_ray, tmp_path):
    agent = ES("standard", ENV, backend="ray", n_workers=2, **SMALL)
    ck = CheckpointCallback(save_freq=1, save_path=tmp_path)
    with pytest.raises(WorkerError, match="backend='ray': a worker actor died"):
        agent.learn(20000, callback=[ck, _kill_worker_after_first_generation])
    np.testing.assert_array_equal(ES.load(ck.saved[-1]).theta, agent.theta)


_CLUSTER_SCRIPT = """
import numpy as np, ray
from ray.cluster_utils import Cluster
import ssmn_rl
from ssmn_rl.agents import ES

kw = dict(population_size=8, seed=5, policy_kwargs=dict(hidden_dim=12, window_size=4))
cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
cluster.add_node(num_cpus=1)  # one CPU per node and one per actor: the two actors land on two nodes
try:
    cluster.wait_for_nodes()
    inline = ES("standard", "ssmn/StatelessCartPole-v0", **kw).learn(2500)
    agent = ES("standard", "ssmn/StatelessCartPole-v0", backend="ray", n_workers=2,
               ray_address=cluster.address, **kw)
    agent.learn(2500)
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    np.testing.assert_array_equal(inline.theta, agent.theta)
    print("SAME", agent.num_timesteps)
finally:
    ray.shutdown()
    cluster.shutdown()
"""


@pytest.mark.slow
def test_es_on_a_two_node_ray_cluster_matches_inline():
    """A local two-node cluster (ray.cluster_utils.Cluster) joined through ray_address; in its own
    process, so that it never meets the test session's local Ray instance."""
    pytest.importorskip("ray")
    r = subprocess.run([sys.executable, "-c", _CLUSTER_SCRIPT], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    assert "SAME" in r.stdout


def test_bench_scaling_quick_writes_its_table_and_json(tmp_path):
    out = tmp_path / "scaling.json"
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "bench_scaling.py")
    r = subprocess.run([sys.executable, script, "--quick", "--backends", "inline", "process", "--workers", "2",
                        "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "steps/s" in r.stdout and "per-member" in r.stdout
    import json
    report = json.loads(out.read_text())
    got = {(row["algo"], row["backend"], row["workers"]) for row in report["rows"]}
    assert got == {("es", "per-member", 1), ("es", "inline", 1), ("es", "process", 2), ("ppo", "inline", 1),
                   ("ppo", "process", 2)}
    assert all(row["steps_per_s"] > 0 for row in report["rows"])
    assert all(row["same_as_inline"] for row in report["rows"] if row["algo"] == "ppo")
