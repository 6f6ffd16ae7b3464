"""Built-in plasticity rule ``hebbian`` (the SSMN write-up): W' = (1-lambda) W + eta post (x) pre.

NumPy reference and vector-Jacobian product; the core's C version is native/rules.c.
"""
import numpy as np

from ssmn_rl.hookspec import hookimpl
from ssmn_rl.rules import PlasticityRule, per_block

C_RULE_ID = 0


def update(W, pre, post, eta, decay):
    """W (B,H,H) post x pre; pre, post (B,H); eta, decay (B,) or floats -> W' before the clip."""
    return (1.0 - per_block(decay)) * W + per_block(eta) * post[:, :, None] * pre[:, None, :]


def vjp(G, W, pre, post, eta, decay):
    """G = dL/dW' -> (dL/dW, dL/dpre, dL/dpost, dL/deta, dL/ddecay)."""
    Gpre = np.einsum("bij,bj->bi", G, pre)
    return ((1.0 - per_block(decay)) * G, per_block(eta, 2) * np.einsum("bij,bi->bj", G, post),
            per_block(eta, 2) * Gpre, np.einsum("bi,bi->b", Gpre, post), -np.einsum("bij,bij->b", G, W))


RULE = PlasticityRule(
    name="hebbian", update=update, vjp=vjp, c_rule_id=C_RULE_ID, per_stream_rates=True, chunkwise=True,
    doc="Hebbian outer product with decay: W' = (1-lambda) W + eta post pre^T (SSMN write-up).")


@hookimpl
def ssmn_rl_register_rules():
    return [RULE]
