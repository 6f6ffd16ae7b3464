"""Built-in plasticity rule ``delta`` (Schlag et al. 2021, fast weight programmers).

With the key k = pre / sqrt(|pre|^2 + eps) and the value v = post:
W' = (1-lambda) W + eta (v - W k) (x) k, an error-correcting write that replaces what W stored
under k instead of adding to it. NumPy reference and vector-Jacobian product; the C version is
native/rules.c.
"""
import numpy as np

from ssmn_rl.hookspec import hookimpl
from ssmn_rl.rules import PlasticityRule, RuleParam, per_block

C_RULE_ID = 3


def _key(pre, eps):
    n = np.sqrt(np.sum(pre * pre, axis=-1, keepdims=True) + eps)
    return pre / n, n


def update(W, pre, post, eta, decay, eps):
    k, _ = _key(pre, eps)
    r = np.einsum("bil,bl->bi", W, k)
    return (1.0 - per_block(decay)) * W + per_block(eta) * (post - r)[:, :, None] * k[:, None, :]


def vjp(G, W, pre, post, eta, decay, eps):
    k, n = _key(pre, eps)
    r = np.einsum("bil,bl->bi", W, k)
    a = np.einsum("bij,bj->bi", G, k)
    e2 = per_block(eta, 2)
    dW = (1.0 - per_block(decay)) * G - per_block(eta) * a[:, :, None] * k[:, None, :]
    dk = e2 * np.einsum("bij,bi->bj", G, post - r) - e2 * np.einsum("bi,bij->bj", a, W)
    dpre = (dk - k * np.sum(k * dk, axis=-1, keepdims=True)) / n
    return dW, dpre, e2 * a, np.einsum("bi,bi->b", a, post - r), -np.einsum("bij,bij->b", G, W)


RULE = PlasticityRule(
    name="delta", update=update, vjp=vjp, c_rule_id=C_RULE_ID, per_stream_rates=True, normalises_keys=True,
    chunkwise=True,
    params={"eps": RuleParam(1e-6, 0.0, 1.0, low_open=True, doc="stabiliser of the key norm")},
    doc="Delta rule of fast weight programmers: writes (post - W k) under the normalised key k = pre.")


@hookimpl
def ssmn_rl_register_rules():
    return [RULE]
