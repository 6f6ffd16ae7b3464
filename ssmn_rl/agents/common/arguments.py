"""Declared constructor and ``learn`` arguments of the agents, in the style of the estimators'
:mod:`ssmn_rl.options`: one :class:`~ssmn_rl.declared.Option` per argument holds its default, its
constraints, its type text and its numpydoc description. :func:`check_arguments` validates a call
against them (one message format for every agent: the argument, what was expected, what was
given) and :func:`document` writes the docstrings' "Parameters" sections from the same
declarations, so an argument is declared once.

The constraints are light equivalents of scikit-learn's (:class:`Interval`, :class:`StrOptions`,
types, ``None``, ``"boolean"``, ``"verbose"``, ``callable``): importing scikit-learn (and SciPy)
took about 1 s, several times the rest of ``import ssmn_rl.agents``, on every CLI start and in
every spawned worker.

Checks that relate several arguments (an even population, a worker count the envs can be split
over, ``ray_address`` only with Ray) stay with the agent that needs them. This module holds
declarations and the checker only; no agent logic.
"""
from __future__ import annotations

import dataclasses
import math
import os
from numbers import Integral, Real

import numpy as np

from ...declared import Option, document  # noqa: F401  (document is re-exported for the agents)
from ...errors import ConfigError
from .backends import BACKENDS


@dataclasses.dataclass(frozen=True)
class Interval:
    """Numbers of `type` (Integral or Real; never a bool) between `left` and `right` (None: minus
    or plus infinity), `closed` "left", "right", "both" or "neither" (as scikit-learn's: an open
    unbounded side refuses infinity); NaN is outside every interval."""

    type: type
    left: float | None
    right: float | None
    closed: str = "left"

    def is_satisfied_by(self, value) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, self.type):
            return False
        lo = -math.inf if self.left is None else self.left
        hi = math.inf if self.right is None else self.right
        lo_ok = value >= lo if self.closed in ("left", "both") else value > lo
        hi_ok = value <= hi if self.closed in ("right", "both") else value < hi
        return bool(lo_ok and hi_ok)  # False for NaN


@dataclasses.dataclass(frozen=True)
class StrOptions:
    """One of the strings of `options`."""

    options: frozenset

    def is_satisfied_by(self, value) -> bool:
        return isinstance(value, str) and value in self.options


def _satisfies(constraint, value) -> bool:
    if constraint is None:
        return value is None
    if constraint == "boolean":
        return isinstance(value, (bool, np.bool_))
    if constraint == "verbose":
        return isinstance(value, (bool, np.bool_)) or Interval(Integral, 0, None).is_satisfied_by(value)
    if constraint is callable:
        return callable(value)
    if isinstance(constraint, type):
        return isinstance(value, constraint)
    return constraint.is_satisfied_by(value)


_INT_GE1 = [Interval(Integral, 1, None, closed="left")]
_POSITIVE = [Interval(Real, 0, None, closed="neither")]
_NON_NEGATIVE = [Interval(Real, 0, None, closed="left")]
_SCHEDULE = [Interval(Real, 0, None, closed="left"), str, callable]

#: Arguments every agent takes (``BaseAgent``); ``env`` is checked by ``resolve_env``.
AGENT_OPTIONS: tuple[Option, ...] = (
    Option("policy", "standard", [str], "str",
           "Registered SSMN variant of the policy (``ssmn_rl.list_variants()``): \"standard\", "
           "\"custom_split\", or a plugin's."),
    Option("policy_kwargs", None, [dict, None], "dict or None",
           "SSMN settings over the agent's default policy, key by key (hidden_dim, window_size, "
           "n_layers, rule, plasticity_eta, ...; PPO also ``critic``: \"shared\" or \"separate\")."),
    Option("env_kwargs", None, [dict, None], "dict or None",
           "Keyword arguments of ``gymnasium.make`` when ``env`` is an id."),
    Option("normalize_obs", True, ["boolean"], "bool",
           "Standardise encoded observations with running statistics."),
    Option("log_std_init", 0.0, [Interval(Real, None, None, closed="neither")], "float",
           "Initial log standard deviation of a Box action distribution."),
    Option("seed", 0, [Interval(Integral, 0, None, closed="left")], "int >= 0",
           "Seed of the parameters, the envs and every random draw of training."),
    Option("tensorboard_log", None, [str, os.PathLike, None], "str, path or None",
           "Folder of the run's ``progress.csv`` and TensorBoard events (None: no files)."),
    Option("verbose", 0, ["verbose"], "int >= 0",
           "2: print the logged scalars at every dump."),
)

#: Where the agent's episodes run (PPO's env runners, ES's population workers).
RUNNER_OPTIONS: tuple[Option, ...] = (
    Option("backend", "inline", [StrOptions(frozenset(BACKENDS))], "{" + ", ".join(f'"{b}"' for b in BACKENDS) + "}",
           "Where episodes are played: in this process, in local worker processes, or in Ray actors. "
           "Every backend gives the same parameters for a seed."),
    Option("n_workers", None, [Interval(Integral, 1, None, closed="left"), None], "int >= 1 or None",
           "Workers (processes or Ray actors; None: 1 inline, else one per CPU, at most the work "
           "there is to split)."),
    Option("ray_address", None, [str, None], "str or None",
           "Address of an existing Ray cluster to join (``backend=\"ray\"`` only)."),
)

PPO_OPTIONS: tuple[Option, ...] = (
    Option("learning_rate", "lin_1e-3", _SCHEDULE, "float >= 0, \"lin_<v>\", \"const_<v>\" or callable",
           "Adam's step size, or a schedule of the remaining progress (1 to 0)."),
    Option("n_envs", 8, _INT_GE1, "int >= 1", "Envs in the vector env built from an id."),
    Option("n_steps", 32, _INT_GE1, "int >= 1", "Steps per env per rollout (the longest BPTT sequence)."),
    Option("batch_size", 256, _INT_GE1, "int >= 1",
           "Steps per minibatch (whole sequences are packed until this many steps)."),
    Option("n_epochs", 20, _INT_GE1, "int >= 1", "Passes over each rollout."),
    Option("gamma", 0.98, [Interval(Real, 0, 1, closed="both")], "float in [0, 1]", "Discount factor."),
    Option("gae_lambda", 0.8, [Interval(Real, 0, 1, closed="both")], "float in [0, 1]",
           "Bias-variance trade-off of generalised advantage estimation."),
    Option("clip_range", "lin_0.2", _SCHEDULE, "float >= 0, \"lin_<v>\", \"const_<v>\" or callable",
           "PPO's clipping range, or a schedule of the remaining progress."),
    Option("ent_coef", 0.0, _NON_NEGATIVE, "float >= 0", "Weight of the entropy bonus."),
    Option("vf_coef", 0.5, _NON_NEGATIVE, "float >= 0", "Weight of the value loss."),
    Option("max_grad_norm", 0.5, [Interval(Real, 0, None, closed="both")], "float >= 0 (inf: no clip)",
           "Global-norm gradient clip."),
    Option("normalize_advantage", True, ["boolean"], "bool", "Standardise the advantages per minibatch."),
    Option("target_kl", None, [Interval(Real, 0, None, closed="neither"), None], "float > 0 or None",
           "Stop the epoch loop when the approximate KL exceeds 1.5 x this (None: never)."),
    Option("reward_scale", 1.0, _POSITIVE, "float > 0",
           "Multiplies the rewards the agent learns from (returns are still logged unscaled). Values "
           "well below 1 keep the value loss of large-reward tasks (Pendulum: -16 per step) from "
           "dominating the clipped global gradient norm."),
    Option("normalize_reward", True, ["boolean"], "bool",
           "Divide the (scaled) rewards by a running standard deviation of the discounted return, as "
           "Stable-Baselines3's ``VecNormalize(norm_reward=True)`` does, clipped to +-``reward_clip``: "
           "value targets of order 1 keep the value loss from drowning the policy gradient."),
    Option("reward_clip", 10.0, _POSITIVE, "float > 0", "Bound of the normalised rewards."),
)

ES_OPTIONS: tuple[Option, ...] = (
    Option("population_size", 32, [Interval(Integral, 2, None, closed="left")], "even int >= 2",
           "Perturbations per generation (population_size / 2 antithetic pairs)."),
    Option("sigma", 0.1, _POSITIVE, "float > 0", "Standard deviation of the parameter noise."),
    Option("learning_rate", 0.03, _POSITIVE, "float > 0", "Adam's step size on the mean parameters."),
    Option("weight_decay", 0.005, _NON_NEGATIVE, "float >= 0", "L2 coefficient added to the ES gradient."),
    Option("episodes_per_member", 1, _INT_GE1, "int >= 1",
           "Episodes averaged per perturbation (the same env seeds for both members of a pair)."),
    Option("eval_center", True, ["boolean"], "bool",
           "Also play the unperturbed mean each generation and log ``charts/center_return``."),
    Option("max_episode_steps", None, [Interval(Integral, 1, None, closed="left"), None], "int >= 1 or None",
           "Cap on the episode length during training."),
    Option("population_batching", True, ["boolean"], "bool",
           "Step each worker's share of the population as one batch (one kernel call per env step for "
           "all its members, each on its own parameters); False plays member by member (the "
           "reference path). Both give the same returns for a seed."),
    Option("threads_per_worker", 1, _INT_GE1, "int >= 1",
           "OpenMP threads of each worker's population kernel."),
    Option("obs_clip", 5.0, _POSITIVE, "float > 0", "Bound of the standardised observations."),
)

#: Arguments of ``BaseAgent.learn``.
LEARN_OPTIONS: tuple[Option, ...] = (
    Option("total_timesteps", 0, [Interval(Integral, 0, None, closed="left")], "int >= 0",
           "Env steps to train for."),
    Option("log_interval", 1, _INT_GE1, "int >= 1", "Iterations between log dumps."),
    Option("tb_log_name", "", [str], "str", "Sub-folder of ``tensorboard_log`` for this run."),
    Option("reset_num_timesteps", True, ["boolean"], "bool",
           "Count from 0 (True) or continue the agent's step count (False)."),
    Option("progress_bar", False, ["boolean"], "bool", "Show a progress bar."),
)


#: How a type text's leading word reads in an error message ("int >= 1" -> "an integer >= 1", as the
#: model's messages say).
_PHRASES = (("even int", "an even integer"), ("int", "an integer"), ("float", "a number"), ("bool", "True or False"),
            ("str", "a string"), ("dict", "a dict"))


def _phrase(kind: str) -> str:
    if kind.startswith("{"):
        return "one of " + kind
    for word, phrase in _PHRASES:
        if kind.startswith(word + " ") or kind == word or kind.startswith(word + ","):
            return phrase + kind[len(word):]
    return kind


def check_arguments(owner: str, options, values: dict) -> None:
    """Raise :class:`~ssmn_rl.errors.ConfigError` for the first of `values` (name -> value, one
    per option of `options`) that its declaration refuses: "<owner>: <name> must be <type text>,
    got <value>"."""
    for option in options:
        value = values[option.name]
        if not any(_satisfies(c, value) for c in option.constraints):
            raise ConfigError(f"{owner}: {option.name} must be {_phrase(option.kind)}, got {value!r}")


def check_ray_address(backend: str, ray_address) -> None:
    """``ray_address`` only means something with ``backend="ray"``."""
    if ray_address is not None and backend != "ray":
        raise ConfigError(f"ray_address is only used with backend='ray', got ray_address={ray_address!r} with "
                          f"backend={backend!r}")


def declared_defaults(options) -> dict:
    """name -> default of `options` (the signature's defaults must equal these; a test checks)."""
    return {o.name: o.default for o in options}
