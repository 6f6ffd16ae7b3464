"""Recurrent rollout buffer: per-step arrays (T, N) for N envs, GAE, and whole-sequence minibatches.

A sequence is one env's steps between two episode starts inside a rollout. It starts from the
SSMN state stored just before its first step (the carried-over state at t = 0, the freshly reset
state at an episode start), so BPTT over a padded batch of sequences reproduces exactly the
outputs the policy computed while acting.
"""
from __future__ import annotations

import numpy as np

from ...state import SSMNState


class RecurrentRolloutBuffer:
    """Storage for one rollout of `n_steps` x `n_envs` transitions.

    Arrays (T = n_steps, N = n_envs): obs (T, N, D_in) normalised inputs; actions (T, N, ...);
    rewards, values, log_probs (T, N); episode_starts (T, N) bool (the step begins an episode);
    advantages, returns (T, N) after :meth:`compute_returns_and_advantage`.
    """

    def __init__(self, n_steps: int, n_envs: int, obs_dim: int, action_shape: tuple, action_dtype):
        T, N = n_steps, n_envs
        self.n_steps, self.n_envs = T, N
        self.obs = np.zeros((T, N, obs_dim), np.float32)
        self.actions = np.zeros((T, N) + tuple(action_shape), action_dtype)
        self.rewards = np.zeros((T, N))
        self.values = np.zeros((T, N))
        self.log_probs = np.zeros((T, N))
        self.episode_starts = np.zeros((T, N), bool)
        self.advantages = np.zeros((T, N))
        self.returns = np.zeros((T, N))
        self.seq_states: dict = {}   # (env, t) -> SSMNState of one stream, pre-step
        self.critic_states: dict = {}  # the same for a separate critic SSMN (empty when shared)

    def compute_returns_and_advantage(self, last_values, last_starts, gamma: float, gae_lambda: float):
        """GAE(lambda); `last_values` V(s_T) and `last_starts` (episode starts at T) bootstrap the tail."""
        adv = np.zeros(self.n_envs)
        for t in reversed(range(self.n_steps)):
            if t == self.n_steps - 1:
                non_terminal, next_v = 1.0 - last_starts, last_values
            else:
                non_terminal, next_v = 1.0 - self.episode_starts[t + 1], self.values[t + 1]
            delta = self.rewards[t] + gamma * next_v * non_terminal - self.values[t]
            adv = delta + gamma * gae_lambda * non_terminal * adv
            self.advantages[t] = adv
        self.returns = self.advantages + self.values

    def sequences(self) -> list[tuple[int, int, int]]:
        """(env, t_start, t_end) of every sequence, env-major."""
        out = []
        for i in range(self.n_envs):
            cuts = [0] + [t for t in range(1, self.n_steps) if self.episode_starts[t, i]] + [self.n_steps]
            out.extend((i, a, b) for a, b in zip(cuts[:-1], cuts[1:]))
        return out

    def minibatches(self, batch_size: int, rng: np.random.Generator):
        """Yield padded minibatches of whole sequences, about `batch_size` steps each, in random order.

        Each is a dict: state (SSMNState, B streams; critic_state too with a separate critic), obs (B, L, D_in), actions (B, L, ...),
        log_probs, advantages, returns, values (B, L), mask (B, L) 1 on real steps, 0 on padding."""
        seqs = self.sequences()
        order = rng.permutation(len(seqs))
        group, steps = [], 0
        for k in order:
            group.append(seqs[k])
            steps += seqs[k][2] - seqs[k][1]
            if steps >= batch_size:
                yield self._pad(group)
                group, steps = [], 0
        if group:
            yield self._pad(group)

    def _pad(self, group):
        B, L = len(group), max(b - a for _, a, b in group)
        mb = {"mask": np.zeros((B, L))}
        for name in ("obs", "actions", "log_probs", "advantages", "returns", "values"):
            src = getattr(self, name)
            mb[name] = np.zeros((B, L) + src.shape[2:], src.dtype)
        for j, (i, a, b) in enumerate(group):
            n = b - a
            mb["mask"][j, :n] = 1.0
            for name in ("obs", "actions", "log_probs", "advantages", "returns", "values"):
                mb[name][j, :n] = getattr(self, name)[a:b, i]
        mb["state"] = SSMNState.concatenate([self.seq_states[(i, a)] for i, a, _ in group])
        if self.critic_states:
            mb["critic_state"] = SSMNState.concatenate([self.critic_states[(i, a)] for i, a, _ in group])
        return mb
