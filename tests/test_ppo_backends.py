"""PPO through the rollout backends: env runners in workers give the inline learning curve bit for
bit, whatever the backend and the number of workers; a dead runner is an error naming its backend."""
import os
import signal
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import ssmn_rl  # noqa: F401
from ssmn_rl.agents import PPO, CheckpointCallback
from ssmn_rl.agents.common.backends import WorkerError
from ssmn_rl.agents.common.env_runners import action_generators
from ssmn_rl.errors import ConfigError

ENV = "ssmn/StatelessCartPole-v0"
SMALL = dict(n_envs=4, n_steps=16, batch_size=32, n_epochs=2, seed=3, policy_kwargs=dict(hidden_dim=8))


def _run(backend="inline", n_workers=None, steps=640, env=ENV, **kw):
    agent = PPO("standard", env, backend=backend, n_workers=n_workers, **{**SMALL, **kw})
    try:
        agent.learn(steps)
        return agent
    finally:
        agent.close()


def _same(a, b):
    np.testing.assert_array_equal(a.policy.get_parameters(), b.policy.get_parameters())
    np.testing.assert_array_equal(a.policy.obs_rms.mean, b.policy.obs_rms.mean)
    np.testing.assert_array_equal(a.optimizer.m, b.optimizer.m)
    assert [r.get("charts/episodic_return") for r in a.logger.rows] == \
        [r.get("charts/episodic_return") for r in b.logger.rows]


@pytest.fixture(scope="module")
def inline_run():
    return _run()


def test_row_generators_draw_the_same_numbers_however_the_rows_are_split():
    whole = action_generators(7, 100, range(5)).gumbel(size=(5, 3))
    parts = [action_generators(7, 100, ids).gumbel(size=(len(ids), 3)) for ids in ([0, 1], [2, 3, 4])]
    np.testing.assert_array_equal(whole, np.concatenate(parts))
    with pytest.raises(ConfigError, match="first axis must be the rows"):
        action_generators(7, 100, range(5)).random((4,))


def test_inline_with_two_runners_gives_the_one_runner_parameters(inline_run):
    _same(inline_run, _run("inline", 2))


def test_process_with_two_workers_gives_the_inline_parameters(inline_run):
    _same(inline_run, _run("process", 2))


@pytest.mark.parametrize("env,kw", [
    ("ssmn/StatelessPendulum-v0", {}),                                          # Box actions
    (ENV, {"env_kwargs": {"max_episode_steps": 12}, "normalize_reward": True}),  # truncation bootstraps
])
def test_process_matches_inline_on_box_actions_and_truncated_episodes(env, kw):
    _same(_run("inline", 1, 384, env, n_envs=3, **kw), _run("process", 2, 384, env, n_envs=3, **kw))


def test_runners_persist_across_learn_calls_on_every_backend():
    def two_calls(backend, n):
        agent = PPO("standard", ENV, backend=backend, n_workers=n, **SMALL)
        try:
            agent.learn(320)
            pids = agent._runners.worker_pids()
            agent.learn(320, reset_num_timesteps=False)
            assert agent._runners.worker_pids() == pids, "the same workers serve both calls"
            return agent
        finally:
            agent.close()
    _same(two_calls("inline", 1), two_calls("process", 2))


def _kill_runner_after_first_rollout(locals_, globals_):
    agent = locals_["self"]
    if agent._iteration == 1:
        os.kill(agent._runners.worker_pids()[0], signal.SIGKILL)


def test_a_killed_process_runner_raises_naming_the_backend_and_the_checkpoint_loads(tmp_path):
    agent = PPO("standard", ENV, backend="process", n_workers=2, **SMALL)
    ck = CheckpointCallback(save_freq=1, save_path=tmp_path)
    with pytest.raises(WorkerError, match=r"backend='process': worker 0 \(pid \d+\) died .*exit code -9"):
        agent.learn(20000, callback=[ck, _kill_runner_after_first_rollout])
    assert ck.saved, "the checkpoint of the first rollout was written"
    resumed = PPO.load(ck.saved[-1])
    assert resumed.backend == "process" and resumed.n_workers == 2
    np.testing.assert_array_equal(resumed.policy.get_parameters(), agent.policy.get_parameters())
    agent.learn(128, reset_num_timesteps=False)  # new runners start; training goes on
    agent.close()


def test_ppo_rejects_bad_backend_arguments_naming_them():
    with pytest.raises(ConfigError, match="backend must be one of"):
        PPO("standard", ENV, backend="threads")
    with pytest.raises(ConfigError, match="ray_address .* only used with backend='ray'"):
        PPO("standard", ENV, ray_address="auto")
    with pytest.raises(ConfigError, match="n_workers must be an integer >= 1"):
        PPO("standard", ENV, backend="process", n_workers=0)
    with pytest.raises(ConfigError, match="n_workers must be an integer >= 1"):
        PPO("standard", ENV, backend="process", n_workers=2.0)
    with pytest.raises(ConfigError, match="n_workers=5 exceeds n_envs=4"):
        PPO("standard", ENV, backend="process", n_workers=5, n_envs=4)
    with pytest.raises(ConfigError, match="n_envs must be an integer >= 1"):
        PPO("standard", ENV, n_envs=0)
    from ssmn_rl.envs.stateless_cartpole import StatelessCartPole
    with pytest.raises(ConfigError, match="needs an env that workers can rebuild"):
        PPO("standard", StatelessCartPole(), backend="process", n_workers=1, n_envs=1)


def test_a_vector_env_instance_runs_inline():
    venv = gym.vector.SyncVectorEnv([lambda: gym.make(ENV)] * 2, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    agent = PPO("standard", venv, **{**SMALL, "n_envs": 2}).learn(64)
    assert agent.num_timesteps == 64 and agent.n_envs == 2
    with pytest.raises(ConfigError, match="needs an env that workers can rebuild"):
        PPO("standard", venv, n_workers=2, **{**SMALL, "n_envs": 2})


@pytest.mark.slow
def test_ray_with_two_actors_gives_the_inline_parameters(local_ray, inline_run):
    _same(inline_run, _run("ray", 2))


def _kill_ray_runner_after_first_rollout(locals_, globals_):
    agent = locals_["self"]
    if agent._iteration == 1:
        import ray
        ray.kill(agent._runners.backend._actors[0])


@pytest.mark.slow
def test_a_killed_ray_runner_raises_naming_the_backend(local_ray, tmp_path):
    agent = PPO("standard", ENV, backend="ray", n_workers=2, **SMALL)
    ck = CheckpointCallback(save_freq=1, save_path=tmp_path)
    with pytest.raises(WorkerError, match="backend='ray': a worker actor died"):
        agent.learn(20000, callback=[ck, _kill_ray_runner_after_first_rollout])
    np.testing.assert_array_equal(PPO.load(ck.saved[-1]).policy.get_parameters(), agent.policy.get_parameters())


_CLUSTER_SCRIPT = """
import numpy as np, ray
from ray.cluster_utils import Cluster
import ssmn_rl
from ssmn_rl.agents import PPO

kw = dict(n_envs=4, n_steps=16, batch_size=32, n_epochs=2, seed=3, policy_kwargs=dict(hidden_dim=8))
cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
cluster.add_node(num_cpus=1)  # one CPU per node and one per actor: the two runners land on two nodes
try:
    cluster.wait_for_nodes()
    inline = PPO("standard", "ssmn/StatelessCartPole-v0", **kw).learn(640)
    agent = PPO("standard", "ssmn/StatelessCartPole-v0", backend="ray", n_workers=2,
                ray_address=cluster.address, **kw)
    agent.learn(640)
    nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert len(nodes) == 2, nodes
    np.testing.assert_array_equal(inline.policy.get_parameters(), agent.policy.get_parameters())
    agent.close()
    print("SAME", agent.num_timesteps)
finally:
    ray.shutdown()
    cluster.shutdown()
"""


@pytest.mark.slow
def test_ppo_on_a_two_node_ray_cluster_matches_inline():
    """A local two-node cluster (ray.cluster_utils.Cluster) joined through ray_address, in its own
    process so that it never meets the test session's local Ray instance."""
    pytest.importorskip("ray")
    r = subprocess.run([sys.executable, "-c", _CLUSTER_SCRIPT], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    assert "SAME" in r.stdout
