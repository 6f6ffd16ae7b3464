"""PPO's critic option: a value output of the actor's SSMN ("shared") or a second SSMN ("separate")."""
import gymnasium as gym
import numpy as np
import pytest

import ssmn_rl  # noqa: F401
from ssmn_rl.agents import ES, PPO, CheckpointCallback
from ssmn_rl.agents.common.save_util import load_agent_file, save_agent_file
from ssmn_rl.errors import ConfigError

ENV = "ssmn/StatelessPendulum-v0"  # Box actions: the Gaussian's log-std is a third parameter block
SMALL = dict(n_envs=2, n_steps=16, batch_size=32, n_epochs=2)


def _agent(critic, seed=0, **kw):
    return PPO("standard", ENV, seed=seed, policy_kwargs={"critic": critic}, **{**SMALL, **kw})


def _grads(agent, buf):
    """(actor, critic) gradients of the first minibatch of `buf` (same RNG for every call)."""
    pol = agent.policy
    mb = next(buf.minibatches(agent.batch_size, np.random.default_rng(0)))
    loss, value_loss, _ = agent._minibatch_loss(mb, 0.2)
    _, g_actor = pol.model.value_and_grad(mb["obs"], None, loss=loss, state=mb["state"])
    _, g_critic = pol.critic.value_and_grad(mb["obs"], None, loss=value_loss, state=mb["critic_state"])
    return g_actor, g_critic, mb, value_loss


def test_separate_critic_has_its_own_ssmn_and_parameter_block():
    shared, sep = _agent("shared"), _agent("separate")
    assert shared.policy.critic is None and shared.policy.model.config.output_dim == 2  # mean + value
    assert sep.policy.model.config.output_dim == 1 and sep.policy.critic.config.output_dim == 1
    n_a, n_c = sep.policy.model.n_parameters, sep.policy.critic.n_parameters
    assert sep.policy.n_parameters == n_a + n_c + sep.policy.extra.size
    theta = sep.policy.get_parameters()
    assert not np.array_equal(theta[:n_a], theta[n_a:n_a + n_c])  # differently seeded
    sep.policy.set_parameters(theta + 1.0)
    np.testing.assert_allclose(sep.policy.critic.get_parameters(), theta[n_a:n_a + n_c] + 1.0, rtol=1e-6)


def test_separate_critic_gradient_flows_only_from_the_value_loss():
    agent = _agent("separate")
    agent._start_envs()
    buf = agent._collect_rollout()
    assert set(buf.critic_states) == set(buf.seq_states)
    g_actor, g_critic, mb, value_loss = _grads(agent, buf)
    assert np.abs(g_critic).max() > 0 and np.abs(g_actor).max() > 0
    # the value loss trains the critic only: the actor's gradient does not depend on vf_coef
    agent.vf_coef = 0.0
    g_actor0, g_critic0, _, _ = _grads(agent, buf)
    np.testing.assert_array_equal(g_actor, g_actor0)
    assert np.abs(g_critic0).max() == 0
    agent.vf_coef = 0.5
    # the critic's gradient points downhill: a small step against it lowers the value loss
    critic = agent.policy.critic
    theta = critic.get_parameters().copy()
    before, _ = critic.value_and_grad(mb["obs"], None, loss=value_loss, state=mb["critic_state"])
    critic.set_parameters((theta - 1e-3 * g_critic / np.linalg.norm(g_critic)).astype(theta.dtype))
    after, _ = critic.value_and_grad(mb["obs"], None, loss=value_loss, state=mb["critic_state"])
    assert after < before


def test_one_update_changes_actor_critic_and_log_std():
    agent = _agent("separate")
    pol = agent.policy
    n_a, n_c = pol.model.n_parameters, pol.n_critic_parameters
    start = pol.get_parameters()
    agent.learn(64)
    moved = pol.get_parameters() != start
    assert moved[:n_a].any() and moved[n_a:n_a + n_c].any() and moved[n_a + n_c:].any()


def test_separate_critic_save_load_and_resume(tmp_path):
    full = _agent("separate", seed=5)
    ck = CheckpointCallback(save_freq=64, save_path=tmp_path)
    full.learn(160, callback=ck)
    full.save(tmp_path / "final.npz")
    loaded = PPO.load(tmp_path / "final.npz")
    assert loaded.policy.critic_mode == "separate"
    np.testing.assert_array_equal(loaded.policy.get_parameters(), full.policy.get_parameters())
    env = gym.make(ENV)
    obs, _ = env.reset(seed=0)
    s1 = s2 = None
    for t in range(20):
        a1, s1 = full.predict(obs, s1, np.array([t == 0]), deterministic=True)
        a2, s2 = loaded.predict(obs, s2, np.array([t == 0]), deterministic=True)
        np.testing.assert_array_equal(a1, a2)
        obs, *_ = env.step(a1)
    # two resumes of one checkpoint give the same run, and it differs from the checkpoint
    a, b = PPO.load(ck.saved[0]), PPO.load(ck.saved[0])
    assert a.policy.critic_mode == "separate" and a.num_timesteps == 64
    a.learn(96, reset_num_timesteps=False)
    b.learn(96, reset_num_timesteps=False)
    np.testing.assert_array_equal(a.policy.get_parameters(), b.policy.get_parameters())
    assert not np.array_equal(a.policy.get_parameters(), PPO.load(ck.saved[0]).policy.get_parameters())


def test_files_without_a_critic_entry_load_as_shared(tmp_path):
    """Agent files written before the option (no policy_kwargs['critic']) hold a shared critic."""
    agent = _agent("shared")
    agent.save(tmp_path / "a.npz")
    meta, arrays = load_agent_file(tmp_path / "a.npz")
    del meta["policy"]["policy_kwargs"]["critic"]
    save_agent_file(tmp_path / "old.npz", meta, arrays)
    old = PPO.load(tmp_path / "old.npz")
    assert old.policy.critic_mode == "shared"
    np.testing.assert_array_equal(old.policy.get_parameters(), agent.policy.get_parameters())


def test_critic_option_refuses_bad_values():
    with pytest.raises(ConfigError, match=r"policy_kwargs\['critic'\] must be one of"):
        _agent("twin")
    with pytest.raises(ConfigError, match=r"policy_kwargs\['critic'\].*applies to agents with a value"):
        ES("standard", ENV, population_size=4, policy_kwargs={"critic": "separate"})


def test_separate_critic_is_identical_inline_and_in_processes():
    """The env runners step the critic's streams beside the actor's: same parameters on every backend."""
    a = _agent("separate", seed=3).learn(96)
    b = _agent("separate", seed=3, backend="process", n_workers=2)
    try:
        b.learn(96)
    finally:
        b.close()
    np.testing.assert_array_equal(a.policy.get_parameters(), b.policy.get_parameters())
