"""Built-in plasticity rule ``hebbian`` (the SSMN write-up): W' = (1-lambda) W + eta post (x) pre.

NumPy reference and vector-Jacobian product; the core's C version is native/rules.c.
"""
import numpy as np

from ssmn_rl.hookspec import hookimpl
from ssmn_rl.rules import PlasticityRule

C_RULE_ID = 0


def update(W, pre, post, eta, decay):
    """W (B,H,H) post x pre; pre, post (B,H) -> W' before the clip."""
    return (1.0 - decay) * W + eta * post[:, :, None] * pre[:, None, :]


def vjp(G, W, pre, post, eta, decay):
    """G = dL/dW' -> (dL/dW, dL/dpre, dL/dpost)."""
    return ((1.0 - decay) * G, eta * np.einsum("bij,bi->bj", G, post),
            eta * np.einsum("bij,bj->bi", G, pre))


RULE = PlasticityRule(
    name="hebbian", update=update, vjp=vjp, c_rule_id=C_RULE_ID,
    doc="Hebbian outer product with decay: W' = (1-lambda) W + eta post pre^T (SSMN write-up).")


@hookimpl
def ssmn_rl_register_rules():
    return [RULE]
