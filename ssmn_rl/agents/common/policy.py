"""The SSMN policy: an observation encoder, an SSMN over encoded observations, an action head.

The actor SSMN (``policy.model``) produces the action distribution's logits (or Gaussian means).
With ``value_head=True`` (PPO) the critic is either the same SSMN (``critic="shared"``: one more
output is the state value) or a second SSMN of the same configuration with one output
(``critic="separate"``, ``policy.critic``), which carries its own recurrent state. A Gaussian policy
adds a state-independent log-std vector. ``get_parameters()`` is the actor's SSMN vector, then the
separate critic's (if any), then those extras, so ES perturbs and PPO's Adam updates one flat
float64 vector.
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
#: PPO's default policy: the winner of scripts/sweep_defaults.py (13 generic candidates in 5 rounds
#: x 6 tasks x 3 seeds, 40k steps each, scored on each task's random-to-oracle scale,
#: leave-one-task-out; README "Agents"): a width-32 SSMN with a window of 16 whose attention knows
#: positions (position bias) and keeps a residual path, slow long-lived fast weights (eta 0.01,
#: lambda 0.001, alpha 0.3) and a shared critic. It replaced the width-64, window-8 policy (score
#: 0.520 against 0.383; 2-3x faster per step). ES keeps DEFAULT_POLICY_KWARGS, which won ES's sweep.
PPO_DEFAULT_POLICY_KWARGS = {"hidden_dim": 32, "window_size": 16, "n_layers": 2, "position_bias": True,
                             "residual": True, "plasticity_eta": 0.01, "decay_lambda": 0.001, "alpha": 0.3,
                             "preset": "prototype", "critic": "shared"}
RESERVED_KWARGS = ("input_dim", "output_dim", "variant", "seed")
#: Where PPO's state value comes from: the actor's SSMN ("shared", one more output) or a second
#: SSMN of the same configuration ("separate").
CRITIC_CHOICES = ("shared", "separate")
DEFAULT_CRITIC = "shared"


class SSMNPolicy:
    """Actor (and optional critic) built on one SSMN of any registered variant.

    Parameters
    ----------
    observation_space, action_space : gymnasium spaces
    variant : str
        Registered SSMN variant ("standard", "custom_split", or a plugin's).
    policy_kwargs : dict
        SSMN configuration (hidden_dim, window_size, n_layers, plastic_ratio, rule, rule_params,
        plasticity_eta, decay_lambda, ...), merged over `defaults`; with
        ``value_head`` also ``critic`` (one of :data:`CRITIC_CHOICES`, default
        :data:`DEFAULT_CRITIC`).
    value_head : bool
        Give the policy a state value (PPO), from the actor's SSMN or a separate one (``critic``).
    normalize_obs : bool
        Standardise encoded observations with running statistics.
    log_std_init : float
        Initial log-std of a Box action distribution.
    seed : int
        Seed of the initial SSMN parameters.
    defaults : dict, optional
        The agent's default policy (:data:`DEFAULT_POLICY_KWARGS` if None; PPO's is
        :data:`PPO_DEFAULT_POLICY_KWARGS`), which `policy_kwargs` overrides key by key.
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space,
                 variant: str = "standard", policy_kwargs: dict | None = None, value_head: bool = False,
                 normalize_obs: bool = True, log_std_init: float = 0.0, seed: int = 0,
                 defaults: dict | None = None):
        if policy_kwargs is not None and not isinstance(policy_kwargs, dict):
            raise ConfigError(f"policy_kwargs must be a dict or None, got {type(policy_kwargs).__name__}")
        policy_kwargs = dict(policy_kwargs or {})
        defaults = dict(DEFAULT_POLICY_KWARGS if defaults is None else defaults)
        if "critic" in defaults and "critic" not in policy_kwargs and value_head:
            policy_kwargs["critic"] = defaults["critic"]
        defaults.pop("critic", None)
        bad = [k for k in RESERVED_KWARGS if k in policy_kwargs]
        if bad:
            raise ConfigError(f"policy_kwargs must not set {bad}: they come from the environment's spaces "
                              "and the agent's `policy` and `seed` arguments")
        self.value_head = bool(value_head)
        critic = policy_kwargs.pop("critic", None)
        if not self.value_head:
            if critic is not None:
                raise ConfigError(f"policy_kwargs['critic'] ({critic!r}) applies to agents with a value "
                                  "function (PPO); this agent has none. HINT: drop 'critic' from policy_kwargs")
        else:
            critic = DEFAULT_CRITIC if critic is None else critic
            if not isinstance(critic, str) or critic not in CRITIC_CHOICES:
                raise ConfigError(f"policy_kwargs['critic'] must be one of {list(CRITIC_CHOICES)}, got {critic!r}")
        self.critic_mode = critic
        self.variant = variant
        self.ssmn_kwargs = {**defaults, **policy_kwargs}
        self.policy_kwargs = dict(self.ssmn_kwargs, **({"critic": critic} if critic is not None else {}))
        self.observation_space, self.action_space = observation_space, action_space
        self.encoder = ObservationEncoder(observation_space)
        self.dist = make_distribution(action_space, log_std_init)
        shared = critic == "shared"
        try:
            self.model = SSMN(variant, input_dim=self.encoder.dim,
                              output_dim=self.dist.n_outputs + int(shared), seed=int(seed), **self.ssmn_kwargs)
            self.critic = None
            if critic == "separate":
                critic_seed = int(np.random.SeedSequence([int(seed), 2]).generate_state(1)[0])
                self.critic = SSMN(variant, input_dim=self.encoder.dim, output_dim=1, seed=critic_seed,
                                   **self.ssmn_kwargs)
        except TypeError as e:
            raise ConfigError(f"policy_kwargs has an argument SSMN does not take: {e}") from e
        self.extra = self.dist.initial_extra()
        self.obs_rms = RunningMeanStd(self.encoder.dim) if normalize_obs else None
        self.normalize_obs = bool(normalize_obs)
        self.log_std_init = float(log_std_init)
        self.seed = int(seed)

    # ------------------------------------------------------------------ parameters
    @property
    def n_critic_parameters(self) -> int:
        """Parameters of the separate critic SSMN (0 when the critic is shared or absent)."""
        return 0 if self.critic is None else self.critic.n_parameters

    @property
    def n_parameters(self) -> int:
        return self.model.n_parameters + self.n_critic_parameters + self.extra.size

    def get_parameters(self) -> np.ndarray:
        """Actor SSMN parameters, separate critic's (if any), then extras: one float64 vector (a copy)."""
        parts = [self.model.get_parameters().astype(np.float64)]
        if self.critic is not None:
            parts.append(self.critic.get_parameters().astype(np.float64))
        return np.concatenate(parts + [self.extra])

    def set_parameters(self, theta: np.ndarray) -> None:
        theta = np.asarray(theta, np.float64)
        if theta.shape != (self.n_parameters,):
            raise ConfigError(f"policy parameters must have shape ({self.n_parameters},), got {theta.shape}")
        n, c = self.model.n_parameters, self.n_critic_parameters
        self.model.set_parameters(theta[:n].astype(self.model.dtype))
        if self.critic is not None:
            self.critic.set_parameters(theta[n:n + c].astype(self.critic.dtype))
        self.extra = theta[n + c:].copy()

    def value_model(self):
        """``(model, column)``: the SSMN whose output ``column`` is the state value."""
        if not self.value_head:
            raise ConfigError("this policy has no value function (value_head=False)")
        return (self.model, -1) if self.critic is None else (self.critic, 0)

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
        """Actor outputs (..., D_out) -> (distribution outputs, values or None: the value is one of
        them only when the critic is shared)."""
        if self.critic_mode == "shared":
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
                   variant=cfg["variant"], policy_kwargs=saved_policy_kwargs(cfg),
                   value_head=cfg["value_head"], normalize_obs=cfg["normalize_obs"],
                   log_std_init=cfg["log_std_init"], seed=cfg["seed"])


def saved_policy_kwargs(cfg: dict) -> dict:
    """The policy_kwargs of a saved policy description; files written before the critic option
    (no ``critic`` key) hold a shared critic."""
    kwargs = dict(cfg["policy_kwargs"])
    if cfg.get("value_head") and "critic" not in kwargs:
        kwargs["critic"] = "shared"
    return kwargs


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
