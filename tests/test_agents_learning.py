"""Learning targets of the agents (slow): mean return over 20 deterministic episodes.

Every target is measured the way the issue states it (``evaluate_policy`` over 20 deterministic
episodes, evaluation seed 10,000) and each test is sized to run in under a minute on a 2-core
machine. Token recall is judged against the best memory-less policy of
``ssmn_rl.envs.baselines`` on the same env (mean over 200 episodes).
"""
import numpy as np
import pytest

import ssmn_rl  # noqa: F401
from ssmn_rl.agents import ES, PPO, evaluate_policy
from ssmn_rl.agents.hyperparams import defaults_for
from ssmn_rl.envs.baselines import run_policy

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    """One kernel thread: a run's floating-point sums (so its learning curve) then do not depend
    on how many cores the test machine has."""
    monkeypatch.setenv("SSMN_NUM_THREADS", "1")

RECALL = "ssmn/RepeatPrevious-v0"
RECALL_KWARGS = {"difficulty": "easy"}  # vocab 4, recall the token seen 2 steps ago, 32 steps


def _score(agent, env_id, **env_kwargs):
    import gymnasium as gym
    env = gym.make(env_id, **env_kwargs)
    mean, _ = evaluate_policy(agent, env, 20, deterministic=True, seed=10_000)
    return mean


# with the shared noise table and population 64 (session 4), CartPole-v1 seed 0 scored 465.7 after
# 200k steps, 488.7 after 300k and 499.8 after 400k
@pytest.mark.parametrize("env_id, steps", [("CartPole-v1", 300_000), ("ssmn/StatelessCartPole-v0", 400_000)])
def test_es_solves_cartpole(env_id, steps):
    kw = defaults_for(env_id, "es")  # the settings `ssmn-rl train` and scripts/bench_rl.py use
    kw.pop("total_timesteps")
    agent = ES("standard", env_id, seed=0, **kw).learn(steps)
    assert _score(agent, env_id) >= 475


def test_ppo_solves_cartpole_v1():
    # the swept defaults (session 4): 471.1 after 60k steps, 500 after 100k (seed 0)
    agent = PPO("standard", "CartPole-v1", seed=0).learn(100_000)
    assert _score(agent, "CartPole-v1") >= 475


def test_ppo_solves_stateless_cartpole():
    # The `ssmn-rl train` defaults, which are PPO's class defaults on every env (the sweep of
    # scripts/sweep_defaults.py: reward normalisation, 20 epochs, linear lr/clip, a width-64
    # window-8 policy with position bias and residual attention); 300k steps for this env.
    # In the sweep (40k steps) this setting scored 335.3 +- 99.2 over seeds 0-2. Session 5, one
    # thread: 356.0 after 50k steps, 500.0 after 100k, 150k, ... 300k (the env's total_timesteps).
    kw = defaults_for("ssmn/StatelessCartPole-v0", "ppo")
    kw.pop("total_timesteps")
    agent = PPO("standard", "ssmn/StatelessCartPole-v0", seed=0, **kw).learn(150_000)
    assert _score(agent, "ssmn/StatelessCartPole-v0") >= 475


def _memoryless_best():
    return float(np.mean(run_policy(RECALL, "memoryless", 200, seed=0, **RECALL_KWARGS)))


def test_ppo_beats_memoryless_on_token_recall():
    # measured: 0.572 after 131k steps (memory-less best 0.247, oracle 1.0)
    agent = PPO("standard", RECALL, seed=0, env_kwargs=RECALL_KWARGS, ent_coef=0.01, gamma=0.5,
                policy_kwargs={"window_size": 4}).learn(131_072)
    assert _score(agent, RECALL, **RECALL_KWARGS) >= _memoryless_best() + 0.15


def test_es_beats_memoryless_on_token_recall():
    # measured: 0.370 after 308k steps (memory-less best 0.247)
    agent = ES("standard", RECALL, seed=0, env_kwargs=RECALL_KWARGS, population_size=64,
               episodes_per_member=4).learn(300_000)
    assert _score(agent, RECALL, **RECALL_KWARGS) >= _memoryless_best() + 0.05
