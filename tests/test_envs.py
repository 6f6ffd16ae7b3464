"""Tests for the ``ssmn/`` Gymnasium memory-task environments and their baseline policies.

Covers: registration, Gymnasium's ``check_env`` with every warning turned into an error,
seeding (same seed -> same episode, different seeds -> different episodes), physics against
Gymnasium's own CartPole-v1 and Pendulum-v1, task semantics, the claim that memory matters
(the best memory-less policy scores clearly below the oracle), and argument validation.
"""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import ssmn_rl.envs
from ssmn_rl.envs import ENV_IDS
from ssmn_rl.envs.baselines import (
    POLICY_NAMES,
    cartpole_lqr_gain,
    evaluate_policy,
    make_policy,
    run_policy,
)
from ssmn_rl.envs.count_recall import CountRecall
from ssmn_rl.envs.cue_reward import CueReward
from ssmn_rl.envs.key_value_recall import KeyValueRecall
from ssmn_rl.envs.regime_stream import RegimeStream
from ssmn_rl.envs.repeat_first import RepeatFirst
from ssmn_rl.envs.repeat_previous import RepeatPrevious
from ssmn_rl.envs.shifting_cartpole import ShiftingCartPole
from ssmn_rl.envs.stateless_cartpole import StatelessCartPole
from ssmn_rl.envs.stateless_pendulum import StatelessPendulum

REGISTERED = sorted(env_id for env_id in gym.registry if env_id.startswith("ssmn/"))
WITH_DIFFICULTY = [
    "ssmn/RepeatFirst-v0",
    "ssmn/RepeatPrevious-v0",
    "ssmn/CountRecall-v0",
    "ssmn/KeyValueRecall-v0",
    "ssmn/ShiftingCartPole-v0",
    "ssmn/RegimeStream-v0",
    "ssmn/CueReward-v0",
]


def _fixed_actions(env: gym.Env, n: int) -> list:
    """``n`` random actions from a generator that does not depend on the env's seed."""
    space = env.action_space
    rng_space = type(space)(**_space_kwargs(space))
    rng_space.seed(2024)
    return [rng_space.sample() for _ in range(n)]


def _space_kwargs(space: gym.Space) -> dict:
    if isinstance(space, gym.spaces.Discrete):
        return {"n": int(space.n)}
    return {"low": space.low, "high": space.high, "dtype": space.dtype}


def _rollout(env_id: str, seed: int, n_steps: int = 300) -> tuple[list, list]:
    """Observations and rewards over ``n_steps`` fixed actions, resetting (unseeded) after each episode."""
    env = gym.make(env_id)
    actions = _fixed_actions(env, n_steps)
    obs, _ = env.reset(seed=seed)
    observations, rewards = [np.array(obs)], []
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        observations.append(np.array(obs))
        rewards.append(reward)
        if terminated or truncated:
            obs, _ = env.reset()
            observations.append(np.array(obs))
    env.close()
    return observations, rewards


# --------------------------------------------------------------------------- registration


def test_registered_ids_are_exactly_the_package_list():
    assert REGISTERED == sorted(ENV_IDS)
    assert len(ENV_IDS) == 10
    assert "ssmn/NoisyStatelessCartPole-v0" in ENV_IDS


def test_reimport_does_not_reregister_or_warn():
    before = {env_id: gym.registry[env_id] for env_id in ENV_IDS}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(ssmn_rl.envs)
    assert all(gym.registry[env_id] is before[env_id] for env_id in ENV_IDS)


def test_package_import_is_lazy():
    code = (
        "import sys, ssmn_rl.envs; "
        "heavy = [m for m in sys.modules if m.startswith('ssmn_rl.envs.')]; "
        "print(heavy); assert heavy == [], heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("env_id", REGISTERED)
def test_max_episode_steps_registered(env_id):
    assert gym.spec(env_id).max_episode_steps is not None


# --------------------------------------------------------------------------- API checks


@pytest.mark.parametrize("env_id", REGISTERED)
def test_check_env_passes_without_any_warning(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(env_id)
        try:
            check_env(env.unwrapped)
        finally:
            env.close()


@pytest.mark.parametrize("env_id", WITH_DIFFICULTY)
@pytest.mark.parametrize("difficulty", ["easy", "hard"])
def test_check_env_other_difficulties(env_id, difficulty):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(env_id, difficulty=difficulty)
        try:
            check_env(env.unwrapped)
        finally:
            env.close()


@pytest.mark.parametrize("env_id", REGISTERED)
def test_random_episodes_stay_in_spaces(env_id):
    env = gym.make(env_id)
    obs, _ = env.reset(seed=7)
    for action in _fixed_actions(env, 400):
        assert env.observation_space.contains(obs)
        obs, reward, terminated, truncated, info = env.step(action)
        assert isinstance(reward, float) and math.isfinite(reward)
        assert info == {}
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()


@pytest.mark.parametrize("env_id", REGISTERED)
def test_ansi_render_returns_text(env_id):
    env = gym.make(env_id, render_mode="ansi")
    env.reset(seed=0)
    env.step(env.action_space.sample())
    text = env.render()
    assert isinstance(text, str) and text
    env.close()


# --------------------------------------------------------------------------- seeding


@pytest.mark.parametrize("env_id", REGISTERED)
def test_same_seed_gives_identical_episodes(env_id):
    obs_a, rew_a = _rollout(env_id, seed=123)
    obs_b, rew_b = _rollout(env_id, seed=123)
    assert len(obs_a) == len(obs_b)
    assert all(np.array_equal(a, b) for a, b in zip(obs_a, obs_b))
    assert rew_a == rew_b


@pytest.mark.parametrize("env_id", REGISTERED)
def test_different_seeds_give_different_episodes(env_id):
    obs_a, _ = _rollout(env_id, seed=123)
    obs_b, _ = _rollout(env_id, seed=456)
    n = min(len(obs_a), len(obs_b))
    assert not all(np.array_equal(a, b) for a, b in zip(obs_a[:n], obs_b[:n]))


@pytest.mark.parametrize("env_id", REGISTERED)
@pytest.mark.parametrize("policy_name", POLICY_NAMES)
def test_run_policy_is_reproducible(env_id, policy_name):
    first = run_policy(env_id, policy_name, n_episodes=3, seed=11)
    second = run_policy(env_id, policy_name, n_episodes=3, seed=11)
    assert first == second and len(first) == 3


# --------------------------------------------------------------------------- physics


def test_stateless_cartpole_matches_gymnasium_cartpole_dynamics():
    ours = StatelessCartPole()
    ours.reset(seed=0)
    reference = gym.make("CartPole-v1").unwrapped
    reference.reset(seed=0)
    rng = np.random.default_rng(5)
    for _ in range(200):
        state = tuple(float(v) for v in rng.uniform(-0.2, 0.2, size=4))
        action = int(rng.integers(2))
        ours.state = state
        reference.state = np.array(state)
        obs, _, terminated, _, _ = ours.step(action)
        ref_obs, _, ref_terminated, _, _ = reference.step(action)
        np.testing.assert_allclose(ours.state, ref_obs, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(obs, np.asarray(ref_obs)[[0, 2]], rtol=1e-6, atol=1e-6)
        assert terminated == ref_terminated


def test_stateless_pendulum_matches_gymnasium_pendulum_dynamics():
    ours = StatelessPendulum()
    ours.reset(seed=0)
    reference = gym.make("Pendulum-v1").unwrapped
    reference.reset(seed=0)
    rng = np.random.default_rng(6)
    for _ in range(200):
        theta, theta_dot = float(rng.uniform(-np.pi, np.pi)), float(rng.uniform(-8, 8))
        action = float(rng.uniform(-1, 1))
        ours.state = (theta, theta_dot)
        reference.state = np.array([theta, theta_dot])
        obs, reward, _, _, _ = ours.step(np.array([action], dtype=np.float32))
        ref_obs, ref_reward, _, _, _ = reference.step(np.array([2.0 * action], dtype=np.float32))
        np.testing.assert_allclose(obs, ref_obs[:2], atol=1e-5)
        np.testing.assert_allclose(ours.state[1], ref_obs[2], rtol=1e-5, atol=1e-5)
        assert reward == pytest.approx(float(ref_reward), rel=1e-5, abs=1e-5)


def test_shifting_cartpole_with_fixed_nominal_physics_is_cartpole():
    env = ShiftingCartPole(
        half_length=(0.5, 0.5), pole_mass=(0.1, 0.1), gravity=(9.8, 9.8), tilt=0.0,
        x_threshold=2.4, change_prob=0.0,
    )
    reference = gym.make("CartPole-v1").unwrapped
    env.reset(seed=1)
    reference.reset(seed=1)
    reference.state = np.array(env.state)
    for action in [1, 0, 0, 1, 1, 1, 0, 1, 0, 0] * 5:
        obs, _, terminated, _, _ = env.step(action)
        ref_obs, _, ref_terminated, _, _ = reference.step(action)
        np.testing.assert_allclose(obs, ref_obs, rtol=1e-5, atol=1e-6)
        assert terminated == ref_terminated
        if terminated:
            break


def test_lqr_gain_balances_nominal_cartpole():
    k = cartpole_lqr_gain(9.8, 0.1, 0.5)
    assert all(v < 0 for v in k)  # push towards the lean, the drift and the motion


# --------------------------------------------------------------------------- task semantics


def test_stateless_cartpole_observes_positions_only():
    env = StatelessCartPole()
    obs, _ = env.reset(seed=3)
    for _ in range(10):
        x, _, theta, _ = env.state
        np.testing.assert_array_equal(obs, np.array([x, theta], dtype=np.float32))
        obs, *_ = env.step(1)
    assert env.observation_space.shape == (2,)


def test_noisy_stateless_cartpole_adds_noise_of_the_requested_size():
    env = gym.make("ssmn/NoisyStatelessCartPole-v0").unwrapped
    assert env.obs_noise == pytest.approx(0.02)
    errors = []
    obs, _ = env.reset(seed=4)
    for step in range(2000):
        errors.append(obs[0] - env.state[0])
        obs, _, terminated, truncated, _ = env.step(step % 2)
        if terminated or truncated:
            obs, _ = env.reset()
    assert np.std(errors) == pytest.approx(0.02, rel=0.1)
    assert abs(np.mean(errors)) < 0.003


def test_stateless_pendulum_hides_velocity():
    env = StatelessPendulum()
    obs, _ = env.reset(seed=2)
    theta, _ = env.state
    np.testing.assert_allclose(obs, [math.cos(theta), math.sin(theta)], atol=1e-6)
    assert env.action_space.low[0] == -1.0 and env.action_space.high[0] == 1.0


def test_repeat_first_targets_the_first_token():
    env = RepeatFirst(vocab_size=5, length=20)
    first, _ = env.reset(seed=0)
    total = 0.0
    for _ in range(20):
        _, reward, terminated, _, _ = env.step(first)
        total += reward
    assert terminated and total == pytest.approx(1.0)


def test_repeat_previous_targets_the_delayed_token():
    env = RepeatPrevious(vocab_size=6, delay=3, length=30)
    obs, _ = env.reset(seed=1)
    seen, total = [obs], 0.0
    for t in range(30):
        answer = seen[t - 3] if t >= 3 else 0
        obs, reward, terminated, _, _ = env.step(answer)
        seen.append(obs)
        total += reward
        if t < 3:
            assert reward == 0.0
    assert terminated and total == pytest.approx(1.0)


def test_count_recall_counts_earlier_occurrences():
    env = CountRecall(vocab_size=3, length=40)
    obs, _ = env.reset(seed=2)
    counts, total = {}, 0.0
    for _ in range(40):
        obs_next, reward, terminated, _, _ = env.step(counts.get(obs, 0))
        counts[obs] = counts.get(obs, 0) + 1
        total += reward
        obs = obs_next
    assert terminated and total == pytest.approx(1.0)
    assert env.action_space.n == 40


def test_key_value_recall_answers_from_the_write_phase():
    env = KeyValueRecall(n_pairs=5, n_keys=9, n_values=7, n_queries=6)
    obs, _ = env.reset(seed=3)
    memory, pending_key, total, steps = {}, None, 0.0, 0
    while True:
        if obs < 9:
            pending_key, answer = obs, 0
        elif obs < 16:
            memory[pending_key], answer = obs - 9, 0
        else:
            answer = memory[obs - 16]
        obs, reward, terminated, _, _ = env.step(answer)
        total += reward
        steps += 1
        if terminated:
            break
    assert steps == 2 * 5 + 6 and total == pytest.approx(1.0)
    assert len(memory) == 5


def test_shifting_cartpole_changes_parameters_within_an_episode():
    env = ShiftingCartPole(change_prob=0.05)
    env.reset(seed=5)
    first = dict(env.params)
    controller = make_policy(env, "oracle")
    obs = np.zeros(4, dtype=np.float32)
    for _ in range(200):
        obs, _, terminated, _, _ = env.step(controller(obs))
        if terminated:
            break
    assert env.n_changes >= 1 and env.params != first
    assert env.observation_space.shape == (4,)


def test_regime_stream_switches_and_oracle_error_is_the_noise():
    env = RegimeStream(n_regimes=3, switch_prob=0.05, noise_std=0.03)
    oracle = make_policy(env, "oracle")
    obs, _ = env.reset(seed=6)
    squared = []
    for _ in range(2000):
        obs, reward, *_ = env.step(oracle(obs))
        squared.append(-reward)
    assert env.n_switches > 20
    # One-step errors of the true model are the innovations, except near the clip bounds.
    assert np.mean(squared) == pytest.approx(0.03**2, rel=0.25)


def test_cue_reward_changes_the_mapping_every_episode_and_the_ideal_learner_learns_it():
    env = CueReward()
    oracle = make_policy(env, "oracle")
    targets, cues = [], []
    for episode in range(20):
        obs, _ = env.reset(seed=100 if episode == 0 else None)
        targets.append(env.cues[env.target].tobytes())
        cues.append(env.cues.tobytes())
        total, picks = 0.0, []
        while True:
            obs, reward, terminated, _, _ = env.step(oracle(obs))
            total += reward
            picks.append(reward > 0)
            if terminated:
                break
        assert all(picks[1:]), "after its first outcome the ideal learner is always right"
    assert len(set(targets)) > 10 and len(set(cues)) == 20
    # the rewarded cue is in every pair, on either side
    env.reset(seed=3)
    sides = []
    for _ in range(50):
        assert env.target in env.pair
        sides.append(env.pair.index(env.target))
        env.step(0)
        if env.trial >= env.n_trials:
            env.reset()
    assert 10 < sum(sides) < 40


def test_regime_stream_absolute_loss():
    env = RegimeStream(loss="absolute")
    env.reset(seed=0)
    _, reward, *_ = env.step(np.array([5.0], dtype=np.float32))  # clipped to 1.0
    assert reward == pytest.approx(-abs(1.0 - min(max(env.latent[0], -1.0), 1.0)))


@pytest.mark.parametrize(
    "cls, kwargs, attribute, expected",
    [
        (RepeatFirst, {"difficulty": "hard"}, "length", 256),
        (RepeatFirst, {"difficulty": "hard", "length": 10}, "length", 10),
        (RepeatPrevious, {"difficulty": "easy"}, "delay", 2),
        (CountRecall, {"difficulty": "easy", "vocab_size": 3}, "vocab_size", 3),
        (KeyValueRecall, {"difficulty": "hard"}, "n_pairs", 16),
        (ShiftingCartPole, {"difficulty": "hard", "tilt": 0.0}, "tilt", 0.0),
        (RegimeStream, {"difficulty": "easy"}, "n_regimes", 2),
        (CueReward, {"difficulty": "hard"}, "n_cues", 8),
        (CueReward, {"n_trials": 5}, "n_trials", 5),
    ],
)
def test_difficulty_presets_and_overrides(cls, kwargs, attribute, expected):
    assert getattr(cls(**kwargs), attribute) == expected


# --------------------------------------------------------------------------- memory matters

# (episodes per policy, smallest accepted oracle-minus-memoryless gap in return units).
# Token tasks return a fraction correct in [0, 1]; cart-poles count steps (max 500);
# the pendulum and the stream return negative costs.
MEMORY_GAP = {
    "ssmn/StatelessCartPole-v0": (40, 300.0),
    "ssmn/NoisyStatelessCartPole-v0": (40, 300.0),
    "ssmn/StatelessPendulum-v0": (40, 500.0),
    "ssmn/RepeatFirst-v0": (40, 0.7),
    "ssmn/RepeatPrevious-v0": (40, 0.7),
    "ssmn/CountRecall-v0": (40, 0.7),
    "ssmn/KeyValueRecall-v0": (60, 0.6),
    "ssmn/ShiftingCartPole-v0": (150, 100.0),
    "ssmn/RegimeStream-v0": (30, 2.0),
    "ssmn/CueReward-v0": (40, 0.35),
}


def test_memory_gap_table_covers_every_id():
    assert sorted(MEMORY_GAP) == REGISTERED


@pytest.mark.parametrize("env_id", REGISTERED)
def test_memoryless_policy_is_clearly_below_oracle(env_id):
    n_episodes, min_gap = MEMORY_GAP[env_id]
    memoryless = np.array(run_policy(env_id, "memoryless", n_episodes, seed=2025))
    oracle = np.array(run_policy(env_id, "oracle", n_episodes, seed=2025))
    gap = oracle.mean() - memoryless.mean()
    stderr = math.sqrt(memoryless.var(ddof=1) / n_episodes + oracle.var(ddof=1) / n_episodes)
    assert gap >= min_gap, f"{env_id}: oracle {oracle.mean():.3f} vs memoryless {memoryless.mean():.3f}"
    assert gap >= 4.0 * stderr, f"{env_id}: gap {gap:.3f} is within 4 standard errors ({stderr:.3f})"


@pytest.mark.parametrize("env_id", REGISTERED)
def test_memoryless_policy_beats_or_matches_random(env_id):
    n_episodes = 30
    memoryless = np.mean(run_policy(env_id, "memoryless", n_episodes, seed=77))
    random = np.array(run_policy(env_id, "random", n_episodes, seed=77))
    # "Best memory-less" must not be worse than acting at random (3 standard errors slack).
    assert memoryless >= random.mean() - 3.0 * random.std(ddof=1) / math.sqrt(n_episodes)


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "factory, kwargs, pattern",
    [
        (RepeatFirst, {"difficulty": "extreme"},
         r"RepeatFirst: argument 'difficulty' must be one of 'easy', 'medium', 'hard'; got 'extreme'\. HINT:"),
        (RepeatFirst, {"length": 0}, r"'length' must be an integer >= 1; got 0\."),
        (RepeatFirst, {"length": 2.5}, r"'length' must be an integer >= 1; got 2\.5\."),
        (RepeatFirst, {"vocab_size": 1}, r"'vocab_size' must be an integer >= 2; got 1\. HINT:"),
        (RepeatFirst, {"length": True}, r"'length' must be an integer >= 1; got True\."),
        (RepeatPrevious, {"delay": 8, "length": 8},
         r"'length' must be an integer >= 9; got 8\. HINT: length must exceed delay=8"),
        (RepeatPrevious, {"delay": 0}, r"'delay' must be an integer >= 1; got 0\."),
        (CountRecall, {"vocab_size": 0}, r"CountRecall: argument 'vocab_size' must be an integer >= 1; got 0\."),
        (CountRecall, {"difficulty": None}, r"'difficulty' must be one of 'easy', 'medium', 'hard'; got None"),
        (KeyValueRecall, {"n_pairs": 5, "n_keys": 4},
         r"'n_keys' must be an integer >= 5; got 4\. HINT: keys in one episode are distinct"),
        (KeyValueRecall, {"n_queries": -1}, r"'n_queries' must be an integer >= 1; got -1\."),
        (StatelessCartPole, {"obs_noise": -0.1},
         r"StatelessCartPole: argument 'obs_noise' must be a finite number >= 0\.0; got -0\.1\. HINT:"),
        (StatelessCartPole, {"obs_noise": float("nan")}, r"'obs_noise' must be a finite number >= 0\.0; got nan"),
        (StatelessCartPole, {"render_mode": "human"},
         r"'render_mode' must be None or one of 'ansi'; got 'human'"),
        (StatelessPendulum, {"gravity": 0.0}, r"'gravity' must be a finite number > 0\.0; got 0\.0\."),
        (ShiftingCartPole, {"difficulty": "insane"},
         r"ShiftingCartPole: argument 'difficulty' must be one of 'easy', 'medium', 'hard'; got 'insane'"),
        (ShiftingCartPole, {"half_length": (1.0, 0.5)}, r"'half_length' must satisfy low <= high; got \(1\.0, 0\.5\)"),
        (ShiftingCartPole, {"pole_mass": (0.0, 0.5)}, r"'pole_mass\[0\]' must be a finite number > 0\.0; got 0\.0"),
        (ShiftingCartPole, {"gravity": 9.8}, r"'gravity' must be a \(low, high\) pair of numbers; got 9\.8"),
        (ShiftingCartPole, {"tilt": 0.5}, r"'tilt' must be a finite number >= 0\.0 and <= 0\.15; got 0\.5\. HINT:"),
        (ShiftingCartPole, {"change_prob": 1.5}, r"'change_prob' must be a finite number >= 0\.0 and <= 1\.0; got 1\.5"),
        (ShiftingCartPole, {"x_threshold": -1.0}, r"'x_threshold' must be a finite number > 0\.0; got -1\.0"),
        (RegimeStream, {"loss": "huber"}, r"'loss' must be one of 'squared', 'absolute'; got 'huber'"),
        (RegimeStream, {"noise_std": -0.01}, r"'noise_std' must be a finite number >= 0\.0 and <= 0\.2; got -0\.01"),
        (RegimeStream, {"n_regimes": 0}, r"'n_regimes' must be an integer >= 1; got 0\."),
        (RegimeStream, {"switch_prob": 2}, r"'switch_prob' must be a finite number >= 0\.0 and <= 1\.0; got 2\."),
        (CueReward, {"n_cues": 1}, r"'n_cues' must be an integer >= 2; got 1\. HINT"),
        (CueReward, {"n_cues": 5, "cue_dim": 2}, r"5 distinct cues do not fit in cue_dim=2 bits"),
    ],
)
def test_bad_arguments_raise_value_error(factory, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        factory(**kwargs)


def test_bad_arguments_raise_through_gymnasium_make():
    with pytest.raises(ValueError, match=r"'difficulty' must be one of 'easy', 'medium', 'hard'; got 'extreme'"):
        gym.make("ssmn/KeyValueRecall-v0", difficulty="extreme")
    with pytest.raises(ValueError, match=r"'obs_noise' must be a finite number >= 0\.0; got -1"):
        gym.make("ssmn/NoisyStatelessCartPole-v0", obs_noise=-1)


@pytest.mark.parametrize(
    "env_id, action, pattern",
    [
        ("ssmn/StatelessCartPole-v0", 2, r"the action must be an integer in \[0, 1\]; got 2"),
        ("ssmn/RepeatFirst-v0", -1, r"the action must be an integer in \[0, 7\]; got -1"),
        ("ssmn/ShiftingCartPole-v0", 0.5, r"the action must be an integer in \[0, 1\]; got 0\.5"),
        ("ssmn/StatelessPendulum-v0", np.array([np.nan], dtype=np.float32),
         r"the action must be a finite number in \[-1, 1\]"),
        ("ssmn/RegimeStream-v0", "up", r"the action must be a finite number in \[-1, 1\]"),
        ("ssmn/RegimeStream-v0", np.array([0.1, 0.2], dtype=np.float32),
         r"the action must be a finite number in \[-1, 1\] \(shape \(1,\)\)"),
    ],
)
def test_bad_actions_raise_value_error(env_id, action, pattern):
    env = gym.make(env_id, disable_env_checker=True).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match=pattern):
        env.step(action)


def test_box_actions_accept_scalars_and_clip():
    env = StatelessPendulum()
    env.reset(seed=0)
    state = env.state
    _, clipped, *_ = env.step(np.array([7.0], dtype=np.float32))
    env.state = state
    _, scalar, *_ = env.step(np.float32(1.0))
    env.state = state
    _, zero_dim, *_ = env.step(np.array(1.0))
    assert clipped == scalar == zero_dim


def test_step_before_reset_and_after_termination_raise():
    with pytest.raises(RuntimeError, match="call reset"):
        StatelessCartPole().step(0)
    env = RepeatFirst(length=1)
    env.reset(seed=0)
    env.step(0)
    with pytest.raises(RuntimeError, match="episode has terminated"):
        env.step(0)


def test_make_policy_rejects_unknown_names_and_envs():
    env = gym.make("ssmn/RepeatFirst-v0")
    with pytest.raises(ValueError, match=r"'policy_name' must be one of 'random', 'memoryless', 'oracle'; got 'greedy'"):
        make_policy(env, "greedy")
    with pytest.raises(ValueError, match=r"no baselines for environment class 'CartPoleEnv'.*HINT:"):
        make_policy(gym.make("CartPole-v1"), "oracle")
    with pytest.raises(ValueError, match=r"'n_episodes' must be an integer >= 1; got 0"):
        evaluate_policy(env, make_policy(env, "random", seed=0), 0)
