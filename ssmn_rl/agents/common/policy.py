"""The SSMN policy: an observation encoder, an SSMN over encoded observations, an action head.

One SSMN produces every output: the first ``dist.n_outputs`` are the action distribution's logits
(or Gaussian means); with ``value_head=True`` (PPO) one more output is the state value. A Gaussian
policy adds a state-independent log-std vector. ``get_parameters()`` is the SSMN vector followed
by those extras, so ES perturbs and PPO's Adam updates one flat float64 vector.
"""
from __future__ import annotations

import numpy as np
from gymnasium import spaces

from ...errors import ConfigError, InputError
from ...model import SSMN
from .normalize import RunningMeanStd
from .spaces import ObservationEncoder, make_distribution

#: SSMN settings used unless ``policy_kwargs`` overrides them: one static and one plastic layer of 16
#: units, a window of 1 (attention then only projects the current step) and fast, short-lived,
#: subtractive fast weights (eta 1, lambda 0.3, alpha -1), so the plastic layer holds the recent
#: past and z = h - tanh(W_f h) reads out changes (velocities). Measured with ES on
#: StatelessCartPole (150k steps, seed 0, 20 evaluation episodes): this setting reaches 500.0;
#: alpha=+1 reaches 48.7 and window 8 reaches 29.5 (the memory-less best is 45.4).
#: The agents' policy starts from the prototype's cell, not the default cell: with the default
#: cell (layer norm, gated plasticity) PPO on StatelessCartPole reached 181.9 and ES 462.3 where
#: this policy reaches >= 475 (tests/test_agents_learning.py); the agents' own sweep decides.
DEFAULT_POLICY_KWARGS = {"hidden_dim": 16, "window_size": 1, "n_layers": 2, "plasticity_eta": 1.0,
                         "decay_lambda": 0.3, "alpha": -1.0, "preset": "prototype"}
RESERVED_KWARGS = ("input_dim", "output_dim", "variant", "seed")


class SSMNPolicy:
    """Actor (and optional critic) built on one SSMN of any registered variant.

    Parameters
    ----------
    observation_space, action_space : gymnasium spaces
    variant : str
        Registered SSMN variant ("standard", "custom_split", or a plugin's).
    policy_kwargs : dict
        SSMN configuration (hidden_dim, window_size, n_layers, plastic_ratio, rule, rule_params,
        plasticity_eta, decay_lambda, ...), merged over :data:`DEFAULT_POLICY_KWARGS`.
    value_head : bool
        Add one output for the state value (PPO).
    normalize_obs : bool
        Standardise encoded observations with running statistics.
    log_std_init : float
        Initial log-std of a Box action distribution.
    seed : int
        Seed of the initial SSMN parameters.
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space,
                 variant: str = "standard", policy_kwargs: dict | None = None, value_head: bool = False,
                 normalize_obs: bool = True, log_std_init: float = 0.0, seed: int = 0):
        policy_kwargs = dict(policy_kwargs or {})
        bad = [k for k in RESERVED_KWARGS if k in policy_kwargs]
        if bad:
            raise ConfigError(f"policy_kwargs must not set {bad}: they come from the environment's spaces "
                              "and the agent's `policy` and `seed` arguments")
        self.variant = variant
        self.policy_kwargs = {**DEFAULT_POLICY_KWARGS, **policy_kwargs}
        self.observation_space, self.action_space = observation_space, action_space
        self.encoder = ObservationEncoder(observation_space)
        self.dist = make_distribution(action_space, log_std_init)
        self.value_head = bool(value_head)
        try:
            self.model = SSMN(variant, input_dim=self.encoder.dim,
                              output_dim=self.dist.n_outputs + int(self.value_head), seed=int(seed),
                              **self.policy_kwargs)
        except TypeError as e:
            raise ConfigError(f"policy_kwargs has an argument SSMN does not take: {e}") from e
        self.extra = self.dist.initial_extra()
        self.obs_rms = RunningMeanStd(self.encoder.dim) if normalize_obs else None
        self.normalize_obs = bool(normalize_obs)
        self.log_std_init = float(log_std_init)
        self.seed = int(seed)

    # ------------------------------------------------------------------ parameters
    @property
    def n_parameters(self) -> int:
        return self.model.n_parameters + self.extra.size

    def get_parameters(self) -> np.ndarray:
        """SSMN parameters then extras, as one float64 vector (a copy)."""
        return np.concatenate([self.model.get_parameters().astype(np.float64), self.extra])

    def set_parameters(self, theta: np.ndarray) -> None:
        theta = np.asarray(theta, np.float64)
        if theta.shape != (self.n_parameters,):
            raise ConfigError(f"policy parameters must have shape ({self.n_parameters},), got {theta.shape}")
        n = self.model.n_parameters
        self.model.set_parameters(theta[:n].astype(self.model.dtype))
        self.extra = theta[n:].copy()

    # ------------------------------------------------------------------ acting
    def is_batched(self, obs) -> bool:
        """Whether `obs` is a batch (leading env axis) rather than one observation."""
        sp = self.observation_space
        try:
            ndim = np.ndim(obs)
        except (ValueError, TypeError) as e:  # ragged nesting, or nothing NumPy can hold
            raise InputError(f"observation must be an array-like of {sp}, got {type(obs).__name__} "
                             f"that NumPy cannot convert: {e}") from None
        if isinstance(sp, spaces.Discrete):
            return ndim == 1
        return ndim == len(sp.shape) + 1

    def encode(self, obs, batched: bool = True) -> np.ndarray:
        """Raw observations -> encoded rows (B, D_in) float32, before normalisation."""
        return self.encoder(obs, batched)

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return x if self.obs_rms is None else self.obs_rms.normalize(x)

    def split(self, out: np.ndarray):
        """Model outputs (..., D_out) -> (distribution outputs, values or None)."""
        if self.value_head:
            return out[..., :-1], out[..., -1]
        return out, None

    def act(self, x: np.ndarray, deterministic: bool, rng, stream=None) -> tuple[np.ndarray, np.ndarray]:
        """One streaming step on the model's live state (or on `stream`, a
        :class:`~ssmn_rl.stream.Stream` of the model): normalised inputs (B, D_in) -> (actions, outputs)."""
        out = self.model.forward_step(x) if stream is None else stream.step(x)
        logits, _ = self.split(out)
        a = self.dist.mode(logits, self.extra) if deterministic else self.dist.sample(logits, self.extra, rng)
        return a, out

    # ------------------------------------------------------------------ description
    def config(self) -> dict:
        """JSON-able description, enough to rebuild the policy with :func:`space_to_dict` spaces."""
        return {"variant": self.variant, "policy_kwargs": self.policy_kwargs, "value_head": self.value_head,
                "normalize_obs": self.normalize_obs, "log_std_init": self.log_std_init, "seed": self.seed,
                "observation_space": space_to_dict(self.observation_space),
                "action_space": space_to_dict(self.action_space)}

    @classmethod
    def from_config(cls, cfg: dict) -> "SSMNPolicy":
        return cls(space_from_dict(cfg["observation_space"]), space_from_dict(cfg["action_space"]),
                   variant=cfg["variant"], policy_kwargs=cfg["policy_kwargs"],
                   value_head=cfg["value_head"], normalize_obs=cfg["normalize_obs"],
                   log_std_init=cfg["log_std_init"], seed=cfg["seed"])


def space_to_dict(space: spaces.Space) -> dict:
    """JSON description of a Box, Discrete, MultiDiscrete or MultiBinary space."""
    if isinstance(space, spaces.Box):
        return {"type": "Box", "low": space.low.tolist(), "high": space.high.tolist(),
                "shape": list(space.shape), "dtype": str(space.dtype)}
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": np.asarray(space.nvec).tolist(),
                "start": np.asarray(space.start).tolist()}
    if isinstance(space, spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    raise ConfigError(f"cannot describe space {space!r}: only Box, Discrete, MultiDiscrete, MultiBinary")


def space_from_dict(d: dict) -> spaces.Space:
    t = d.get("type")
    if t == "Box":
        return spaces.Box(np.asarray(d["low"], d["dtype"]), np.asarray(d["high"], d["dtype"]),
                          tuple(d["shape"]), dtype=d["dtype"])
    if t == "Discrete":
        return spaces.Discrete(d["n"], start=d["start"])
    if t == "MultiDiscrete":
        return spaces.MultiDiscrete(np.asarray(d["nvec"]), start=np.asarray(d["start"]))
    if t == "MultiBinary":
        return spaces.MultiBinary(d["n"])
    raise ConfigError(f"unknown space type {t!r} in a saved agent (expected Box, Discrete, MultiDiscrete, MultiBinary)")
