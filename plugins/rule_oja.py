"""Built-in plasticity rule ``oja`` (Oja 1982): normalised Hebbian learning with decay.

W' = (1-lambda) W + eta post (x) (pre - W^T post): the subtracted term keeps rows from growing
without bound. NumPy reference and vector-Jacobian product; the C version is native/rules.c.
"""
import numpy as np

from ssmn_rl.hookspec import hookimpl
from ssmn_rl.rules import PlasticityRule, per_block

C_RULE_ID = 2


def update(W, pre, post, eta, decay):
    u = np.einsum("bkj,bk->bj", W, post)
    return (1.0 - per_block(decay)) * W + per_block(eta) * post[:, :, None] * (pre - u)[:, None, :]


def vjp(G, W, pre, post, eta, decay):
    u = np.einsum("bkj,bk->bj", W, post)
    s = np.einsum("bij,bi->bj", G, post)
    e2 = per_block(eta, 2)
    dW = (1.0 - per_block(decay)) * G - per_block(eta) * post[:, :, None] * s[:, None, :]
    dpost = e2 * np.einsum("bij,bj->bi", G, pre - u) - e2 * np.einsum("bkj,bj->bk", W, s)
    return dW, e2 * s, dpost, np.einsum("bj,bj->b", s, pre - u), -np.einsum("bij,bij->b", G, W)


RULE = PlasticityRule(
    name="oja", update=update, vjp=vjp, c_rule_id=C_RULE_ID, per_stream_rates=True,
    doc="Oja's rule: Hebbian term minus post * (W^T post), self-normalising, with decay.")


@hookimpl
def ssmn_rl_register_rules():
    return [RULE]
