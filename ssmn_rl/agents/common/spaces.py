"""Observation encoders and action distributions for every supported Gymnasium space.

An observation encoder turns what an environment returns into the model's input vector (Box:
flattened floats; Discrete / MultiDiscrete: one-hot blocks; MultiBinary: 0/1 floats). An action
distribution reads the model's output vector (logits, means) and samples, scores and differentiates
actions by hand in NumPy, so that PPO can feed ``dL/dY`` to the C backward pass.

Shapes: ``B`` streams (or flattened ``B*T`` steps), ``D_in`` encoded features, ``n_outputs`` model
outputs used by the distribution (value head excluded).
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from gymnasium import spaces

from ..._kernels import check_fits
from ...errors import ConfigError, InputError

LOG_2PI = float(np.log(2.0 * np.pi))
#: Integer observations (Discrete, MultiDiscrete ids) must lie within this magnitude to be converted.
_INT_LIMIT = 2 ** 62
#: Observations up to this many elements always fit in memory; larger ones are checked first.
_SMALL = 1 << 20


def _observation_array(obs, dtype, space) -> np.ndarray:
    """``np.asarray(obs, dtype)`` that refuses with InputError what cannot be an observation of
    `space` (ragged, non-numeric, non-integral or overflowing ids) and with SizeError a size
    beyond memory, instead of NumPy's assorted errors."""
    try:
        raw = np.asarray(obs)
    except (ValueError, TypeError) as e:
        raise InputError(f"observation must be an array-like of numbers of {space}, got "
                         f"{type(obs).__name__} that NumPy cannot convert: {e}") from None
    if raw.size > _SMALL:  # the memory check costs a few microseconds: only for large batches
        check_fits(raw.size, np.dtype(dtype).itemsize, "the observation")
    if raw.dtype.kind not in "biuf":
        raise InputError(f"observation must hold numbers of {space}, got dtype {raw.dtype}")
    if np.dtype(dtype).kind == "i" and raw.size and raw.dtype.kind in "uf":
        if not (np.isfinite(raw).all() and (raw == np.round(raw)).all()
                and raw.max() <= _INT_LIMIT and raw.min() >= -_INT_LIMIT):
            raise InputError(f"observation must hold integers of {space}, got {raw.dtype} values "
                             f"in [{raw.min()}, {raw.max()}]")
    return raw.astype(dtype, copy=False)  # float64 beyond float32 becomes inf, clipped by normalisation


# ---------------------------------------------------------------------------- observations
class ObservationEncoder:
    """Encode a batch of observations of `space` into float32 rows (B, dim)."""

    def __init__(self, space: spaces.Space):
        if isinstance(space, spaces.Box):
            self.kind, self.dim = "box", int(np.prod(space.shape))
        elif isinstance(space, spaces.Discrete):
            self.kind, self.dim = "discrete", int(space.n)
        elif isinstance(space, spaces.MultiDiscrete):
            self.kind, self.dim = "multidiscrete", int(np.sum(space.nvec))
        elif isinstance(space, spaces.MultiBinary):
            self.kind, self.dim = "multibinary", int(np.prod(space.shape))
        else:
            raise ConfigError(f"observation_space must be Box, Discrete, MultiDiscrete or MultiBinary, "
                              f"got {space!r}. HINT: wrap the env with gymnasium.wrappers.FlattenObservation.")
        self.space = space

    def __call__(self, obs, batched: bool) -> np.ndarray:
        """obs: one observation (batched=False) or a batch of B -> (B, dim) float32."""
        sp = self.space
        if self.kind == "box":
            a = self._rows(_observation_array(obs, np.float32, sp), self.dim, obs)
            a = a.reshape(a.shape[0] if batched and a.ndim else 1, -1)
            if a.ndim != 2 or a.shape[1] != self.dim:
                raise InputError(f"observation must have shape {sp.shape} (or (B, *{sp.shape})), got "
                                 f"{np.shape(obs)}")
            return a
        if self.kind == "discrete":
            ids = _observation_array(obs, np.int64, sp).reshape(-1) - int(sp.start)
            if not batched and ids.size != 1:
                raise InputError(f"observation must be one integer of {sp}, got shape {np.shape(obs)}")
            if ids.size and (ids.min() < 0 or ids.max() >= self.dim):
                raise InputError(f"observation must be in {sp}, got values {np.unique(ids + int(sp.start))}")
            out = np.zeros((ids.size, self.dim), np.float32)
            out[np.arange(ids.size), ids] = 1.0
            return out
        if self.kind == "multidiscrete":
            a = self._rows(_observation_array(obs, np.int64, sp), sp.nvec.size, obs).reshape(-1, sp.nvec.size)
            out = np.zeros((a.shape[0], self.dim), np.float32)
            offset = 0
            for j, n in enumerate(sp.nvec.reshape(-1)):
                if a[:, j].min() < 0 or a[:, j].max() >= n:
                    raise InputError(f"observation component {j} must be in [0, {n}), got {a[:, j]}")
                out[np.arange(a.shape[0]), offset + a[:, j]] = 1.0
                offset += int(n)
            return out
        return self._rows(_observation_array(obs, np.float32, sp), self.dim, obs).reshape(-1, self.dim)

    def _rows(self, a: np.ndarray, width: int, obs) -> np.ndarray:
        """`a` unchanged if it holds a whole number (>= 1) of observations of `width` values."""
        if a.size == 0 or a.size % width:
            raise InputError(f"observation must have shape {self.space.shape} (or (B, *{self.space.shape}) "
                             f"with B >= 1), got {np.shape(obs)}")
        return a


# ---------------------------------------------------------------------------- actions
class ActionDistribution(ABC):
    """Base class: maps model outputs (N, n_outputs) to actions, log-probs and entropies.

    ``n_outputs`` model outputs plus ``n_extra`` free parameters (a Gaussian's log-std) that live
    outside the SSMN parameter vector. Gradients come back as (dlogits (N, n_outputs), dextra).
    """

    n_outputs: int
    n_extra: int = 0
    action_shape: tuple = ()   # shape of one action as stored in buffers
    continuous = False

    def __init__(self, space: spaces.Space):
        self.space = space

    def initial_extra(self) -> np.ndarray:
        return np.zeros(self.n_extra, np.float64)

    # sample / mode return actions as stored in buffers (N, *action_shape)
    @abstractmethod
    def sample(self, out, extra, rng):
        """Abstract: see the concrete distributions below."""

    @abstractmethod
    def mode(self, out, extra):
        """Abstract: see the concrete distributions below."""

    @abstractmethod
    def log_prob_entropy(self, out, extra, actions):
        """-> (logp (N,), entropy (N,), backward) with backward(g_logp, g_ent) -> (dout, dextra)."""

    def to_env(self, actions):
        """Buffer actions (N, ...) -> what ``env.step`` takes for each of the N envs."""
        return actions


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class CategoricalDistribution(ActionDistribution):
    def __init__(self, space: spaces.Discrete):
        super().__init__(space)
        self.n_outputs = int(space.n)
        self.start = int(space.start)

    def sample(self, out, extra, rng):
        logp = _log_softmax(out.astype(np.float64))
        g = rng.gumbel(size=logp.shape)
        return (logp + g).argmax(-1).astype(np.int64)

    def mode(self, out, extra):
        return np.asarray(out).argmax(-1).astype(np.int64)

    def log_prob_entropy(self, out, extra, actions):
        logp_all = _log_softmax(out.astype(np.float64))
        p = np.exp(logp_all)
        a = np.asarray(actions, np.int64).reshape(-1)
        idx = np.arange(a.size)
        logp = logp_all[idx, a]
        ent = -(p * logp_all).sum(-1)

        def backward(g_logp, g_ent):
            onehot = np.zeros_like(p)
            onehot[idx, a] = 1.0
            d = g_logp[:, None] * (onehot - p) - g_ent[:, None] * p * (logp_all + ent[:, None])
            return d, np.zeros(0)
        return logp, ent, backward

    def to_env(self, actions):
        return actions + self.start


class MultiCategoricalDistribution(ActionDistribution):
    def __init__(self, space: spaces.MultiDiscrete):
        super().__init__(space)
        self.nvec = [int(n) for n in np.asarray(space.nvec).reshape(-1)]
        self.start = np.asarray(space.start).reshape(-1)
        self.n_outputs = int(sum(self.nvec))
        self.parts = [CategoricalDistribution(spaces.Discrete(n)) for n in self.nvec]
        self.offsets = np.cumsum([0] + self.nvec)
        self.action_shape = (len(self.nvec),)

    def _blocks(self, out):
        return [out[:, self.offsets[j]:self.offsets[j + 1]] for j in range(len(self.nvec))]

    def sample(self, out, extra, rng):
        return np.stack([d.sample(o, extra, rng) for d, o in zip(self.parts, self._blocks(out))], -1)

    def mode(self, out, extra):
        return np.stack([d.mode(o, extra) for d, o in zip(self.parts, self._blocks(out))], -1)

    def log_prob_entropy(self, out, extra, actions):
        a = np.asarray(actions, np.int64).reshape(out.shape[0], -1)
        res = [d.log_prob_entropy(o, extra, a[:, j]) for j, (d, o) in enumerate(zip(self.parts, self._blocks(out)))]
        logp = sum(r[0] for r in res)
        ent = sum(r[1] for r in res)

        def backward(g_logp, g_ent):
            return np.concatenate([r[2](g_logp, g_ent)[0] for r in res], -1), np.zeros(0)
        return logp, ent, backward

    def to_env(self, actions):
        return (actions + self.start).reshape((-1,) + tuple(self.space.shape))


class BernoulliDistribution(ActionDistribution):
    def __init__(self, space: spaces.MultiBinary):
        super().__init__(space)
        self.n_outputs = int(np.prod(space.shape))
        self.action_shape = (self.n_outputs,)

    def sample(self, out, extra, rng):
        p = 1.0 / (1.0 + np.exp(-out.astype(np.float64)))
        return (rng.random(p.shape) < p).astype(np.int8)

    def mode(self, out, extra):
        return (np.asarray(out) > 0).astype(np.int8)

    def log_prob_entropy(self, out, extra, actions):
        z = out.astype(np.float64)
        a = np.asarray(actions, np.float64).reshape(z.shape)
        p = 1.0 / (1.0 + np.exp(-z))
        log_p, log_q = -np.logaddexp(0, -z), -np.logaddexp(0, z)
        logp = (a * log_p + (1 - a) * log_q).sum(-1)
        ent = -(p * log_p + (1 - p) * log_q).sum(-1)

        def backward(g_logp, g_ent):
            return g_logp[:, None] * (a - p) - g_ent[:, None] * z * p * (1 - p), np.zeros(0)
        return logp, ent, backward

    def to_env(self, actions):
        return actions.reshape((-1,) + tuple(self.space.shape))


class DiagGaussianDistribution(ActionDistribution):
    """Gaussian with state-independent log-std (an extra parameter per action dimension); actions
    are clipped to the Box bounds when sent to the env, stored unclipped."""

    def __init__(self, space: spaces.Box, log_std_init: float = 0.0):
        super().__init__(space)
        self.n_outputs = self.n_extra = int(np.prod(space.shape))
        self.action_shape = (self.n_outputs,)
        self.continuous = True
        self.log_std_init = float(log_std_init)

    def initial_extra(self):
        return np.full(self.n_extra, self.log_std_init)

    def sample(self, out, extra, rng):
        mu = out.astype(np.float64)
        return (mu + np.exp(extra) * rng.standard_normal(mu.shape)).astype(np.float32)

    def mode(self, out, extra):
        return np.asarray(out, np.float32)

    def log_prob_entropy(self, out, extra, actions):
        mu = out.astype(np.float64)
        a = np.asarray(actions, np.float64).reshape(mu.shape)
        std = np.exp(extra)
        zs = (a - mu) / std
        logp = (-0.5 * zs ** 2 - extra - 0.5 * LOG_2PI).sum(-1)
        ent = np.full(mu.shape[0], float((extra + 0.5 * (LOG_2PI + 1.0)).sum()))

        def backward(g_logp, g_ent):
            dmu = g_logp[:, None] * zs / std
            dextra = (g_logp[:, None] * (zs ** 2 - 1.0)).sum(0) + g_ent.sum()
            return dmu, dextra
        return logp, ent, backward

    def to_env(self, actions):
        sp = self.space
        return np.clip(actions, sp.low.reshape(-1), sp.high.reshape(-1)).reshape((-1,) + sp.shape).astype(sp.dtype)


def make_distribution(space: spaces.Space, log_std_init: float = 0.0) -> ActionDistribution:
    """The action distribution for `space` (Discrete, MultiDiscrete, MultiBinary or Box)."""
    if isinstance(space, spaces.Discrete):
        return CategoricalDistribution(space)
    if isinstance(space, spaces.MultiDiscrete):
        return MultiCategoricalDistribution(space)
    if isinstance(space, spaces.MultiBinary):
        return BernoulliDistribution(space)
    if isinstance(space, spaces.Box):
        return DiagGaussianDistribution(space, log_std_init)
    raise ConfigError(f"action_space must be Discrete, MultiDiscrete, MultiBinary or Box, got {space!r}")
