"""Training callbacks in the Stable-Baselines3 style: evaluation, checkpoints, early stop, progress.

``on_step`` is called once per training iteration (after each ES generation or PPO update), when
``agent.num_timesteps`` has just been advanced; returning False stops ``learn``. Calling at
iteration boundaries is what makes checkpoints resume exactly: nothing is half-done there.
"""
from __future__ import annotations

import math
import pathlib
import sys
import time

import numpy as np

from ...errors import ConfigError


class BaseCallback:
    """Override ``_on_step`` (and optionally the other ``_on_*`` hooks)."""

    def __init__(self, verbose: int = 0):
        self.verbose = verbose
        self.agent = None
        self.n_calls = 0
        self.num_timesteps = 0

    @property
    def logger(self):
        return self.agent.logger

    def init_callback(self, agent) -> None:
        self.agent = agent
        self._init_callback()

    def _init_callback(self) -> None:
        """Called once when ``learn`` starts, with ``self.agent`` set."""

    def on_training_start(self) -> None:
        self.num_timesteps = self.agent.num_timesteps
        self._on_training_start()

    def _on_training_start(self) -> None:
        """Hook."""

    def on_step(self) -> bool:
        self.n_calls += 1
        self.num_timesteps = self.agent.num_timesteps
        return bool(self._on_step())

    def _on_step(self) -> bool:
        return True

    def on_training_end(self) -> None:
        self._on_training_end()

    def _on_training_end(self) -> None:
        """Hook."""


class CallbackList(BaseCallback):
    def __init__(self, callbacks):
        super().__init__()
        self.callbacks = list(callbacks)

    def init_callback(self, agent):
        super().init_callback(agent)
        for c in self.callbacks:
            c.init_callback(agent)

    def _on_training_start(self):
        for c in self.callbacks:
            c.on_training_start()

    def _on_step(self):
        keep = True
        for c in self.callbacks:
            keep = c.on_step() and keep
        return keep

    def _on_training_end(self):
        for c in self.callbacks:
            c.on_training_end()


def to_callback(callback) -> BaseCallback:
    """None, a callback, a list of callbacks, or a function ``f(locals_, globals_) -> bool``."""
    if callback is None:
        return CallbackList([])
    if isinstance(callback, BaseCallback):
        return callback
    if isinstance(callback, (list, tuple)):
        return CallbackList([to_callback(c) for c in callback])
    if callable(callback):
        return _FunctionCallback(callback)
    raise ConfigError(f"callback must be None, a BaseCallback, a list of them or a callable, got {type(callback).__name__}")


class _FunctionCallback(BaseCallback):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def _on_step(self):
        out = self.fn({"self": self.agent, "num_timesteps": self.num_timesteps}, {})
        return True if out is None else bool(out)


def _crossed(now: int, last: int, every: int) -> bool:
    return every > 0 and now // every > last // every


class StopTrainingOnRewardThreshold(BaseCallback):
    """Stop when the parent EvalCallback's latest mean reward reaches `reward_threshold`."""

    def __init__(self, reward_threshold: float, verbose: int = 0):
        super().__init__(verbose)
        self.reward_threshold = float(reward_threshold)
        self.parent = None

    def _on_step(self):
        if self.parent is None:
            raise ConfigError("StopTrainingOnRewardThreshold must be passed to EvalCallback(callback_on_new_best=...) "
                              "or EvalCallback(callback_after_eval=...)")
        stop = self.parent.last_mean_reward >= self.reward_threshold
        if stop and self.verbose:
            print(f"Stopping: mean reward {self.parent.last_mean_reward:.2f} >= {self.reward_threshold}")
        return not stop


class EvalCallback(BaseCallback):
    """Evaluate the agent every `eval_freq` timesteps on `eval_env` (id or Env) and log
    ``eval/mean_reward``, ``eval/std_reward``, ``eval/mean_ep_length``; keep the best model.

    Evaluation episodes are seeded from `seed` (the same episodes at every evaluation), so two
    runs with the same seed log the same curve."""

    def __init__(self, eval_env, n_eval_episodes: int = 5, eval_freq: int = 10000, deterministic: bool = True,
                 best_model_save_path=None, log_path=None, callback_on_new_best=None,
                 callback_after_eval=None, seed: int = 12345, verbose: int = 0):
        super().__init__(verbose)
        if eval_freq < 1 or n_eval_episodes < 1:
            raise ConfigError(f"eval_freq and n_eval_episodes must be >= 1, got {eval_freq}, {n_eval_episodes}")
        self.eval_env, self.n_eval_episodes, self.eval_freq = eval_env, int(n_eval_episodes), int(eval_freq)
        self.deterministic, self.seed = deterministic, seed
        self.best_model_save_path = None if best_model_save_path is None else pathlib.Path(best_model_save_path)
        self.log_path = None if log_path is None else pathlib.Path(log_path)
        self.callback_on_new_best, self.callback_after_eval = callback_on_new_best, callback_after_eval
        for c in (callback_on_new_best, callback_after_eval):
            if c is not None:
                c.parent = self
        self.best_mean_reward = -math.inf
        self.last_mean_reward = -math.inf
        self.evaluations_timesteps, self.evaluations_results, self.evaluations_length = [], [], []
        self._last = 0

    def _init_callback(self):
        self._last = self.agent.num_timesteps
        for c in (self.callback_on_new_best, self.callback_after_eval):
            if c is not None:
                c.init_callback(self.agent)

    def evaluate_now(self) -> bool:
        from ..evaluation import evaluate_policy

        rewards, lengths = evaluate_policy(self.agent, self.eval_env, self.n_eval_episodes, self.deterministic,
                                           return_episode_rewards=True, seed=self.seed)
        mean, std = float(np.mean(rewards)), float(np.std(rewards))
        self.last_mean_reward = mean
        self.evaluations_timesteps.append(self.num_timesteps)
        self.evaluations_results.append(rewards)
        self.evaluations_length.append(lengths)
        self.logger.record("eval/mean_reward", mean)
        self.logger.record("eval/std_reward", std)
        self.logger.record("eval/mean_ep_length", float(np.mean(lengths)))
        if self.verbose:
            print(f"Eval num_timesteps={self.num_timesteps}, episode_reward={mean:.2f} +/- {std:.2f}")
        if self.log_path is not None:
            self.log_path.mkdir(parents=True, exist_ok=True)
            np.savez(self.log_path / "evaluations.npz", timesteps=np.array(self.evaluations_timesteps),
                     results=np.array(self.evaluations_results), ep_lengths=np.array(self.evaluations_length))
        keep = True
        if mean > self.best_mean_reward:
            self.best_mean_reward = mean
            if self.best_model_save_path is not None:
                self.agent.save(self.best_model_save_path / "best_model.npz")
            if self.callback_on_new_best is not None:
                keep = self.callback_on_new_best.on_step()
        if self.callback_after_eval is not None:
            keep = self.callback_after_eval.on_step() and keep
        return keep

    def _on_step(self):
        if not _crossed(self.num_timesteps, self._last, self.eval_freq):
            return True
        self._last = self.num_timesteps
        return self.evaluate_now()


class CheckpointCallback(BaseCallback):
    """Save a full training checkpoint (``<name_prefix>_<steps>_steps.npz``) every `save_freq`
    timesteps; ``Agent.load(path).learn(total - agent.num_timesteps, reset_num_timesteps=False)``
    then continues the run. For ES it continues exactly as the uninterrupted run would have; PPO
    restores its full training state but restarts the environments' episodes, so its curve is
    not bit-identical (see the Notes of :class:`~ssmn_rl.agents.PPO`)."""

    def __init__(self, save_freq: int, save_path, name_prefix: str = "checkpoint", verbose: int = 0):
        super().__init__(verbose)
        if save_freq < 1:
            raise ConfigError(f"save_freq must be >= 1 timestep, got {save_freq}")
        self.save_freq, self.save_path, self.name_prefix = int(save_freq), pathlib.Path(save_path), name_prefix
        self._last = 0
        self.saved = []

    def _init_callback(self):
        self._last = self.agent.num_timesteps
        self.save_path.mkdir(parents=True, exist_ok=True)

    def _on_step(self):
        if _crossed(self.num_timesteps, self._last, self.save_freq):
            self._last = self.num_timesteps
            path = self.save_path / f"{self.name_prefix}_{self.num_timesteps}_steps.npz"
            self.agent.save(path, checkpoint=True)
            self.saved.append(path)
            if self.verbose:
                print(f"Saved checkpoint {path}")
        return True


class ProgressBarCallback(BaseCallback):
    """A progress bar over timesteps (tqdm when installed, else a plain one on stderr)."""

    def __init__(self):
        super().__init__()
        self._bar = None
        self._start = 0.0

    def _on_training_start(self):
        self._start = time.time()
        self._first = self.agent.num_timesteps
        total = self.agent.target_timesteps
        try:
            from tqdm.auto import tqdm
            self._bar = tqdm(total=total, initial=self._first, unit="step", dynamic_ncols=True)
        except ImportError:
            self._bar = None

    def _on_step(self):
        total = self.agent.target_timesteps
        ret = self.agent.last_episodic_return
        if self._bar is not None:
            self._bar.update(self.num_timesteps - self._bar.n)
            if ret is not None:
                self._bar.set_postfix(ret=f"{ret:.1f}")
        else:
            done = min(1.0, self.num_timesteps / max(total, 1))
            el = time.time() - self._start
            rate = (self.num_timesteps - self._first) / max(el, 1e-9)
            sys.stderr.write(f"\r[{'#' * int(30 * done):<30}] {self.num_timesteps}/{total} "
                             f"{rate:,.0f} steps/s ret {ret if ret is not None else float('nan'):.1f}")
            sys.stderr.flush()
        return True

    def _on_training_end(self):
        if self._bar is not None:
            self._bar.close()
        else:
            sys.stderr.write("\n")
