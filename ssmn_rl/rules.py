"""Plasticity rules: the contract a rule meets, parameter declarations, and the registry view.

A rule maps (W, pre, post, params) to W' for a batch of streams: W (B, H, H) indexed (post, pre),
pre and post (B, H). Every rule has a NumPy `update` (the readable reference and the test oracle)
and, for gradient training, a `vjp` giving (dL/dW, dL/dpre, dL/dpost) from dL/dW'. Built-in rules
also name the C implementation of the core (`c_rule_id`); a third-party rule may ship C source
(`c_source`) that ssmn_rl compiles on first use (see ssmn_rl/custom_rules.py), or run through its
NumPy functions, called from the kernels once per step with every stream (slower, same results).
Every rule bounds W to [-clip, clip] after its update (the core applies the clip; clip=inf: no bound).
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Callable, Optional

import numpy as np

from .errors import ConfigError


def per_block(rate, ndim: int = 3) -> np.ndarray:
    """A rule's ``eta`` or ``decay`` shaped to broadcast against a batch of ``ndim`` dimensions:
    (B,) -> (B, 1, 1) for W-shaped arrays (``ndim=3``) or (B, 1) for pre/post-shaped ones
    (``ndim=2``); a float stays a float. So one rule body serves the fixed rates and the
    per-stream ones (``PlasticityRule.per_stream_rates``)."""
    if np.ndim(rate) == 0:  # a fixed rate broadcasts as it is (and keeps W's dtype)
        return rate
    return np.asarray(rate).reshape((-1,) + (1,) * (ndim - 1))


@dataclasses.dataclass(frozen=True)
class RuleParam:
    """A declared rule parameter: default and valid range (inclusive unless *_open)."""

    default: float
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    doc: str = ""

    def check(self, rule: str, name: str, value) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
            raise ConfigError(f"rule_params[{name!r}] of rule {rule!r} must be a finite real number, "
                              f"got {value!r}")
        v = float(value)
        ok = (v > self.low if self.low_open else v >= self.low) and \
             (v < self.high if self.high_open else v <= self.high)
        if not ok:
            lb, rb = "(" if self.low_open else "[", ")" if self.high_open else "]"
            raise ConfigError(f"rule_params[{name!r}] of rule {rule!r} must be in {lb}{self.low}, "
                              f"{self.high}{rb}, got {v}")
        return v


UpdateFn = Callable[..., np.ndarray]
VjpFn = Callable[..., tuple]


@dataclasses.dataclass(frozen=True)
class PlasticityRule:
    """What a plugin registers for one plasticity rule.

    Attributes
    ----------
    name : registry name, e.g. "hebbian".
    update : ``update(W, pre, post, eta, decay, **params) -> W_new`` (before the clip), NumPy,
        batched: W (B,H,H), pre/post (B,H).
    vjp : optional ``vjp(G, W, pre, post, eta, decay, **params) -> (dW, dpre, dpost)`` where G is
        dL/dW_new (before the clip); required for gradient training.
    params : extra parameters beyond eta/decay, with defaults and ranges.
    c_rule_id : id of a built-in C implementation in the core, if any.
    c_source : optional C source of ``update``/``vjp`` (see custom_rules.py for the signature).
    doc : one-paragraph description (shown by ``ssmn-rl plugins``).
    normalises_keys : the rule normalises ``pre`` itself (the delta rule's keys); the default
        cell then keeps only its attention options (no pre-norm, no gates) unless they are given.
    per_stream_rates : the NumPy functions take ``eta`` and ``decay`` as arrays of shape (B,),
        one rate per stream (and head), and ``vjp`` returns ``(dW, dpre, dpost, deta, ddecay)``:
        the model's gates (neuromodulation, learned decay) then work with the rule. Otherwise
        they get the model's fixed floats and the gates are refused.
    chunkwise : the update is linear in W given pre, post and the rates (W' = keep W + eta A(pre,
        post)), and the rule's built-in C kernel has a chunkwise form: with ``clip=inf`` and
        ``chat_steps=1`` the plastic layers then run over chunks of steps as matrix products
        (``plastic_path``). Built in: hebbian, delta (its written error by a triangular solve per
        chunk). Other rules run step by step.
    """

    name: str
    update: UpdateFn
    vjp: Optional[VjpFn] = None
    params: dict = dataclasses.field(default_factory=dict)
    c_rule_id: Optional[int] = None
    c_source: Optional[str] = None
    doc: str = ""
    normalises_keys: bool = False
    per_stream_rates: bool = False
    chunkwise: bool = False

    def resolve_params(self, given: dict | None) -> dict:
        """Defaults overlaid with `given`, each checked against its declared range."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            raise ConfigError(f"rule {self.name!r} has no parameter(s) {unknown}; its parameters are "
                              f"{sorted(self.params) or 'none'} (eta and decay are plasticity_eta and "
                              "decay_lambda)")
        return {k: p.check(self.name, k, given.get(k, p.default)) for k, p in self.params.items()}


def validate_rule(obj) -> PlasticityRule:
    """Check what a plugin registered; raise TypeError/ValueError describing the problem."""
    if not isinstance(obj, PlasticityRule):
        raise TypeError(f"expected a ssmn_rl.rules.PlasticityRule, got {type(obj).__name__}")
    if not isinstance(obj.name, str) or not obj.name.isidentifier():
        raise ValueError(f"rule name must be an identifier string, got {obj.name!r}")
    if not callable(obj.update):
        raise ValueError(f"rule {obj.name!r}: update must be callable")
    if obj.vjp is not None and not callable(obj.vjp):
        raise ValueError(f"rule {obj.name!r}: vjp must be callable or None")
    for k, p in obj.params.items():
        if not isinstance(p, RuleParam):
            raise ValueError(f"rule {obj.name!r}: parameter {k!r} must be declared with RuleParam")
        if k in ("eta", "decay"):
            raise ValueError(f"rule {obj.name!r}: parameter name {k!r} is reserved")
    if len(obj.params) > 4:
        raise ValueError(f"rule {obj.name!r}: at most 4 extra parameters are supported, got {len(obj.params)}")
    return obj
