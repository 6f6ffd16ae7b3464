"""Agents: SB3-style API, determinism across backends, exact resume, save/load, logs, all spaces."""
import json
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import ssmn_rl  # noqa: F401
from ssmn_rl.agents import ES, PPO, CheckpointCallback, EvalCallback, evaluate_policy
from ssmn_rl.progress_csv import read_csv
from ssmn_rl.agents.common.spaces import make_distribution
from tb_events import read_scalars
from ssmn_rl.errors import ConfigError, ModelFileError

ENV = "ssmn/StatelessCartPole-v0"
SMALL_ES = dict(population_size=8, seed=3)


def _es_run(backend, steps=3000, **kw):
    agent = ES("standard", ENV, backend=backend, n_workers=None if backend == "inline" else 2, **SMALL_ES, **kw)
    agent.learn(steps)
    return agent


def test_es_is_identical_inline_and_process():
    a, b = _es_run("inline"), _es_run("process")
    assert a.num_timesteps == b.num_timesteps
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.policy.obs_rms.mean, b.policy.obs_rms.mean)
    assert [r["charts/episodic_return"] for r in a.logger.rows] == [r["charts/episodic_return"] for r in b.logger.rows]


@pytest.mark.slow
def test_es_is_identical_on_ray(local_ray):
    a, b = _es_run("inline"), _es_run("ray")
    np.testing.assert_array_equal(a.theta, b.theta)


def test_es_different_seeds_differ_and_training_changes_parameters():
    a = _es_run("inline")
    b = ES("standard", ENV, population_size=8, seed=4).learn(3000)
    start = ES("standard", ENV, **SMALL_ES).theta
    assert not np.array_equal(a.theta, b.theta)
    assert not np.array_equal(a.theta, start)


def test_es_checkpoint_resume_gives_the_same_curve(tmp_path):
    full = ES("standard", ENV, seed=1, population_size=8)
    ck = CheckpointCallback(save_freq=1000, save_path=tmp_path)
    full.learn(3000, callback=ck)
    resumed = ES.load(ck.saved[0])
    resumed.learn(full._total_timesteps - resumed.num_timesteps, reset_num_timesteps=False)
    np.testing.assert_array_equal(full.theta, resumed.theta)
    tail = [r for r in full.logger.rows if r["global_step"] > resumed._timesteps_at_start]
    assert [r["charts/episodic_return"] for r in tail] == [r["charts/episodic_return"] for r in resumed.logger.rows]


def test_ppo_checkpoint_resume_restores_training_state_and_is_repeatable(tmp_path):
    """PPO resume is documented as not bit-identical (envs restart); what it does restore is exact,
    and two resumes of one checkpoint give the same run (envs reset from (seed, num_timesteps))."""
    kw = dict(n_envs=2, n_steps=16, batch_size=32, n_epochs=2)
    full = PPO("standard", ENV, seed=5, **kw)
    ck = CheckpointCallback(save_freq=64, save_path=tmp_path)
    full.learn(160, callback=ck)
    path = ck.saved[0]
    a, b = PPO.load(path), PPO.load(path)
    assert a.num_timesteps == 64 and a._iteration == 2 and a._total_timesteps == 160
    assert a.optimizer.t == 2 * 2 * 1  # iterations x epochs x minibatches (32 steps each)
    np.testing.assert_array_equal(a.policy.get_parameters(), b.policy.get_parameters())
    a.learn(96, reset_num_timesteps=False)
    b.learn(96, reset_num_timesteps=False)
    assert a.num_timesteps == b.num_timesteps == full.num_timesteps == 160
    np.testing.assert_array_equal(a.policy.get_parameters(), b.policy.get_parameters())
    assert not np.array_equal(a.policy.get_parameters(), PPO.load(path).policy.get_parameters())


@pytest.mark.parametrize("cls", [ES, PPO])
def test_save_load_predict_same_actions(tmp_path, cls):
    kw = dict(population_size=4) if cls is ES else dict(n_envs=2, n_steps=8, batch_size=16, n_epochs=1)
    agent = cls("standard", ENV, seed=2, **kw).learn(200)
    agent.save(tmp_path / "a.npz")
    loaded = cls.load(tmp_path / "a.npz")
    env = gym.make(ENV)
    obs, _ = env.reset(seed=0)
    s1 = s2 = None
    for t in range(50):
        a1, s1 = agent.predict(obs, s1, np.array([t == 0]), deterministic=True)
        a2, s2 = loaded.predict(obs, s2, np.array([t == 0]), deterministic=True)
        assert a1 == a2
        obs, _, term, trunc, _ = env.step(a1)
        if term or trunc:
            break
    assert s1 == s2


def test_predict_state_is_explicit_and_episode_start_resets():
    agent = ES("standard", ENV, **SMALL_ES)
    obs = np.array([[0.1, -0.05], [0.0, 0.02]], np.float32)
    _, s = agent.predict(obs)
    assert s.batch_size == 2 and s.steps.tolist() == [1, 1]
    _, s2 = agent.predict(obs, state=s, episode_start=[True, False])
    assert s2.steps.tolist() == [1, 2]
    _, fresh = agent.predict(obs[:1])
    _, again = agent.predict(obs[:1], state=s2[0], episode_start=[True])
    assert fresh == again


def test_load_refuses_corrupted_and_foreign_files(tmp_path):
    agent = ES("standard", ENV, **SMALL_ES)
    agent.save(tmp_path / "a.npz")
    data = (tmp_path / "a.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        ES.load(tmp_path / "cut.npz")
    with pytest.raises(ModelFileError, match="'es' agent"):
        PPO.load(tmp_path / "a.npz")
    agent.policy.model.save(tmp_path / "m.npz")
    with pytest.raises(ModelFileError, match="SSMN.load"):
        ES.load(tmp_path / "m.npz")


class _SpaceEnv(gym.Env):
    """Rewards acting like the observation; any action space, tiny episodes."""

    def __init__(self, action_space, observation_space=spaces.Box(-1, 1, (3,), np.float32)):
        self.action_space, self.observation_space = action_space, observation_space
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.observation_space.sample(), {}

    def step(self, action):
        assert self.action_space.contains(np.asarray(action, self.action_space.dtype)
                                          if not isinstance(self.action_space, spaces.Discrete) else action)
        self.t += 1
        return self.observation_space.sample(), float(np.sum(action) > 0), False, self.t >= 5, {}


@pytest.mark.parametrize("action_space", [spaces.Discrete(3), spaces.Box(-2, 2, (2,), np.float32),
                                          spaces.MultiDiscrete([2, 3]), spaces.MultiBinary(4)])
@pytest.mark.parametrize("obs_space", [spaces.Box(-1, 1, (3,), np.float32), spaces.Discrete(5)])
def test_every_action_and_observation_space(action_space, obs_space):
    env = _SpaceEnv(action_space, obs_space)
    for cls, kw in ((PPO, dict(n_envs=1, n_steps=8, batch_size=8, n_epochs=1)), (ES, dict(population_size=2))):
        agent = cls("standard", env, seed=0, **kw).learn(20)
        a, _ = agent.predict(env.observation_space.sample())
        assert action_space.contains(np.asarray(a, action_space.dtype) if not isinstance(action_space, spaces.Discrete) else a)
        mean, _ = evaluate_policy(agent, env, 2)
        assert np.isfinite(mean)


@pytest.mark.parametrize("space", [spaces.Discrete(4), spaces.MultiDiscrete([3, 2]), spaces.MultiBinary(3),
                                   spaces.Box(-1, 1, (2,), np.float32)])
def test_distribution_gradients_match_finite_differences(space):
    rng = np.random.default_rng(0)
    dist = make_distribution(space, log_std_init=-0.3)
    out = rng.normal(size=(5, dist.n_outputs))
    extra = dist.initial_extra()
    acts = dist.sample(out, extra, rng)
    g1, g2 = rng.normal(size=5), rng.normal(size=5)

    def f(o, e):
        lp, ent, _ = dist.log_prob_entropy(o, e, acts)
        return float((g1 * lp + g2 * ent).sum())

    _, _, back = dist.log_prob_entropy(out, extra, acts)
    dout, dextra = back(g1, g2)
    h = 1e-6
    num = np.zeros_like(out)
    for idx in np.ndindex(out.shape):
        d = np.zeros_like(out)
        d[idx] = h
        num[idx] = (f(out + d, extra) - f(out - d, extra)) / (2 * h)
    np.testing.assert_allclose(dout, num, atol=1e-5)
    for k in range(extra.size):
        d = np.zeros_like(extra)
        d[k] = h
        assert abs(dextra[k] - (f(out, extra + d) - f(out, extra - d)) / (2 * h)) < 1e-5


def test_logs_csv_and_tensorboard(tmp_path):
    agent = PPO("standard", "CartPole-v1", n_envs=2, n_steps=32, batch_size=32, n_epochs=1, seed=0,
                tensorboard_log=tmp_path)
    agent.learn(1000, callback=EvalCallback("CartPole-v1", n_eval_episodes=2, eval_freq=256))
    rows = read_csv(tmp_path / "progress.csv")
    keys = set(rows[-1])
    assert {"charts/episodic_return", "charts/SPS", "losses/policy_loss", "losses/value_loss",
            "losses/entropy", "losses/approx_kl", "losses/clipfrac", "losses/explained_variance",
            "eval/mean_reward"} <= keys
    ev = list(tmp_path.glob("events.out.tfevents.*"))
    assert len(ev) == 1
    scalars = read_scalars(ev[0])
    assert [s for s, _ in scalars["charts/SPS"]] == [r["global_step"] for r in rows]


def test_clear_errors_for_bad_arguments():
    with pytest.raises(ConfigError, match="population_size"):
        ES("standard", ENV, population_size=3)
    with pytest.raises(ConfigError, match="backend"):
        ES("standard", ENV, backend="threads")
    with pytest.raises(ConfigError, match="policy_kwargs must not set"):
        PPO("standard", ENV, policy_kwargs={"input_dim": 3})
    with pytest.raises(ConfigError, match="learning_rate"):
        PPO("standard", ENV, learning_rate="fast")
    with pytest.raises(ConfigError, match="env"):
        ES("standard", 42)
    with pytest.raises(ConfigError, match="total_timesteps"):
        ES("standard", ENV).learn(-1)


def _cli(*args, cwd):
    code = ("import argparse,sys\nfrom ssmn_rl.agents.cli import add_subcommands\n"
            "p=argparse.ArgumentParser(prog='ssmn-rl');s=p.add_subparsers(required=True);add_subcommands(s)\n"
            "a=p.parse_args(sys.argv[1:]);sys.exit(a.func(a))")
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("algo", ["es", "ppo"])
def test_cli_train_and_evaluate_smoke(tmp_path, algo):
    r = _cli("train", "--algo", algo, "--total-timesteps", "600", "--out", str(tmp_path), "--no-progress",
             "--eval-episodes", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    run = next(tmp_path.glob(f"*__{algo}__0__*"))
    for name in ("model.npz", "best_model.npz", "config.json", "learning_curve.png", "synaptic_state.png",
                 "evaluation.json", "logs/progress.csv"):
        assert (run / name).is_file(), name
    assert list((run / "logs").glob("events.out.tfevents.*"))
    assert json.loads((run / "config.json").read_text())["algo"] == algo
    assert "mean return" in r.stdout
    r2 = _cli("evaluate", str(run), "--episodes", "2", cwd=tmp_path)
    assert r2.returncode == 0, r2.stderr
    assert "mean return" in r2.stdout
    best = json.loads((run / "evaluation.json").read_text())["best_model"]
    assert best["path"] == "best_model.npz" and 0 < best["env_steps"] <= 600 + 4096
    loaded = (ES if algo == "es" else PPO).load(run / "best_model.npz")
    assert loaded.num_timesteps == best["env_steps"]
    r4 = _cli("evaluate", str(run), "--episodes", "2", "--model", "best", cwd=tmp_path)
    assert r4.returncode == 0 and "mean return" in r4.stdout, r4.stderr
    r3 = _cli("evaluate", str(tmp_path), cwd=tmp_path)
    assert r3.returncode == 2 and "not a run directory" in r3.stderr


def test_bench_rl_quick_writes_a_report(tmp_path):
    """scripts/bench_rl.py --quick runs end to end (RecurrentPPO skipped) and reports every run."""
    from pathlib import Path
    script = Path(__file__).resolve().parent.parent / "scripts" / "bench_rl.py"
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, str(script), "--quick", "--no-baseline", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["env"] == ENV and list(report["results"]) == ["es"]
    (run,) = report["results"]["es"]
    assert run["seed"] == 0 and run["total_steps"] >= 16_384 and run["total_seconds"] > 0
    steps = [s for s, _ in run["evals"]]
    assert steps and steps[0] >= 4096 and steps == sorted(set(steps))
    assert all(0 < m <= 500 for _, m in run["evals"])
    assert report["summary"]["es"]["runs"] == 1
    assert "median s" in r.stdout
