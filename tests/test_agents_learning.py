"""Learning targets of the agents (slow): mean return over 20 deterministic episodes."""
import pytest

import ssmn_rl  # noqa: F401
from ssmn_rl.agents import ES, PPO, evaluate_policy

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("env_id", ["CartPole-v1", "ssmn/StatelessCartPole-v0"])
def test_es_solves_cartpole(env_id):
    agent = ES("standard", env_id, seed=0).learn(200_000)
    mean, _ = evaluate_policy(agent, env_id, 20, deterministic=True, seed=10_000)
    assert mean >= 475


def test_ppo_solves_cartpole_v1():
    agent = PPO("standard", "CartPole-v1", seed=0).learn(60_000)
    mean, _ = evaluate_policy(agent, "CartPole-v1", 20, deterministic=True, seed=10_000)
    assert mean >= 475
