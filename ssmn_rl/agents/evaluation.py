"""``evaluate_policy``: run an agent for whole episodes and report returns (SB3's signature)."""
from __future__ import annotations

import gymnasium as gym
import numpy as np

from ..errors import ConfigError


def evaluate_policy(agent, env, n_eval_episodes: int = 10, deterministic: bool = True,
                    return_episode_rewards: bool = False, seed: int | None = None):
    """Mean and std of the return over `n_eval_episodes` episodes.

    Parameters
    ----------
    agent : ES, PPO or anything with SB3's ``predict(obs, state, episode_start, deterministic)``
    env : str (registered id), gymnasium.Env, or gymnasium.vector.VectorEnv (same-step autoreset)
    seed : int, optional
        Seeds the first reset (later episodes follow from the env's own RNG), for repeatable scores.
    return_episode_rewards : bool
        Return the per-episode (returns, lengths) lists instead of (mean, std).
    """
    if isinstance(n_eval_episodes, bool) or not isinstance(n_eval_episodes, (int, np.integer)) or n_eval_episodes < 1:
        raise ConfigError(f"n_eval_episodes must be an integer >= 1, got {n_eval_episodes!r}")
    owned = isinstance(env, str)
    if owned:
        env = gym.make(env)
    try:
        if isinstance(env, gym.vector.VectorEnv):
            rewards, lengths = _evaluate_vec(agent, env, int(n_eval_episodes), deterministic, seed)
        elif isinstance(env, gym.Env):
            rewards, lengths = _evaluate_single(agent, env, int(n_eval_episodes), deterministic, seed)
        else:
            raise ConfigError(f"env must be an id, a gymnasium.Env or a VectorEnv, got {type(env).__name__}")
    finally:
        if owned:
            env.close()
    if return_episode_rewards:
        return rewards, lengths
    return float(np.mean(rewards)), float(np.std(rewards))


def _evaluate_single(agent, env, n, deterministic, seed):
    rewards, lengths = [], []
    for ep in range(n):
        obs, _ = env.reset(seed=seed if ep == 0 else None)
        state, start, total, steps, done = None, True, 0.0, 0, False
        while not done:
            action, state = agent.predict(obs, state=state, episode_start=np.array([start]),
                                          deterministic=deterministic)
            obs, r, term, trunc, _ = env.step(action)
            total += float(r)
            steps += 1
            start = False
            done = term or trunc
        rewards.append(total)
        lengths.append(steps)
    return rewards, lengths


def _evaluate_vec(agent, env, n, deterministic, seed):
    mode = env.metadata.get("autoreset_mode")
    if mode not in (gym.vector.AutoresetMode.SAME_STEP, "SameStep"):
        raise ConfigError(f"evaluate_policy needs a VectorEnv with autoreset_mode=SAME_STEP, got {mode!r}")
    k = env.num_envs
    targets = np.array([(n + i) // k for i in range(k)])
    counts = np.zeros(k, int)
    cur_r, cur_l = np.zeros(k), np.zeros(k, int)
    rewards, lengths = [], []
    obs, _ = env.reset(seed=seed)
    state, starts = None, np.ones(k, bool)
    while (counts < targets).any():
        action, state = agent.predict(obs, state=state, episode_start=starts, deterministic=deterministic)
        obs, r, term, trunc, _ = env.step(action)
        cur_r += r
        cur_l += 1
        starts = np.logical_or(term, trunc)
        for i in np.flatnonzero(starts):
            if counts[i] < targets[i]:
                rewards.append(float(cur_r[i]))
                lengths.append(int(cur_l[i]))
                counts[i] += 1
            cur_r[i], cur_l[i] = 0.0, 0
    return rewards, lengths
