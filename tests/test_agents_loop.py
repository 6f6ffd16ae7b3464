"""BaseAgent.learn owns the training loop; PPO implements one rollout-and-update iteration."""
import pytest

import ssmn_rl  # noqa: F401
from ssmn_rl.agents import PPO, BaseCallback
from ssmn_rl.agents.common.base import BaseAgent
from ssmn_rl.errors import ConfigError

SMALL = dict(n_envs=2, n_steps=16, batch_size=32, n_epochs=1, policy_kwargs={"hidden_dim": 8})


class _StopAfter(BaseCallback):
    def __init__(self, n):
        super().__init__()
        self.n, self.starts, self.ends = n, 0, 0

    def _on_training_start(self):
        self.starts += 1

    def _on_step(self):
        return self.n_calls < self.n

    def _on_training_end(self):
        self.ends += 1


def test_ppo_runs_in_the_base_loop_with_callbacks_and_log_interval():
    assert "learn" not in PPO.__dict__ and PPO._learn_iteration is not BaseAgent._learn_iteration
    cb = _StopAfter(3)
    agent = PPO("standard", "CartPole-v1", seed=0, **SMALL).learn(10_000, callback=cb, log_interval=2)
    assert agent.num_timesteps == 3 * 32 and agent._iteration == 3
    assert cb.starts == cb.ends == 1 and cb.n_calls == 3
    # dumped at iterations 2 (log_interval) and 3 (stopped by the callback)
    assert [r["global_step"] for r in agent.logger.rows] == [64, 96]
    assert all("charts/SPS" in r and "losses/policy_loss" in r for r in agent.logger.rows)


def test_learn_refuses_a_bad_log_interval_and_the_base_has_no_iteration():
    agent = PPO("standard", "CartPole-v1", seed=0, **SMALL)
    with pytest.raises(ConfigError, match="log_interval must be an integer >= 1, got 0"):
        agent.learn(64, log_interval=0)

    class NoIteration(BaseAgent):
        pass
    with pytest.raises(TypeError, match="NoIteration.*_learn_iteration"):
        NoIteration("standard", "CartPole-v1")
