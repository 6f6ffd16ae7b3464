"""Built-in plasticity rule ``importance`` (Text-Native SSMN): a gated Hebbian update.

W' = W + g_i a_j (eta post_i pre_j - lambda W_ij), with the importance gate
g = sigmoid(10 |post - pre| - 2) (large where the layer changed its input) and the anchor
a = sigmoid(sharpness (|post| - threshold)), a smooth surrogate of |post| > threshold that keeps the
rule differentiable (the hard threshold is the sharpness -> infinity limit).
NumPy reference and vector-Jacobian product; the C version is native/rules.c.
"""
import numpy as np

from ssmn_rl.hookspec import hookimpl
from ssmn_rl.rules import PlasticityRule, RuleParam, per_block

C_RULE_ID = 1
GATE_GAIN, GATE_BIAS = 10.0, 2.0


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _gates(pre, post, threshold, sharpness):
    g = _sigmoid(GATE_GAIN * np.abs(post - pre) - GATE_BIAS)
    a = _sigmoid(sharpness * (np.abs(post) - threshold))
    return g, a


def update(W, pre, post, eta, decay, threshold, sharpness):
    g, a = _gates(pre, post, threshold, sharpness)
    m = g[:, :, None] * a[:, None, :]
    return W + m * (per_block(eta) * post[:, :, None] * pre[:, None, :] - per_block(decay) * W)


def vjp(G, W, pre, post, eta, decay, threshold, sharpness):
    g, a = _gates(pre, post, threshold, sharpness)
    m = g[:, :, None] * a[:, None, :]
    outer = post[:, :, None] * pre[:, None, :]
    D = per_block(eta) * outer - per_block(decay) * W
    dW = G * (1.0 - per_block(decay) * m)
    Gm = G * m
    deta, ddecay = np.einsum("bij,bij->b", Gm, outer), -np.einsum("bij,bij->b", Gm, W)
    dpost = per_block(eta, 2) * np.einsum("bij,bj->bi", Gm, pre)
    dpre = per_block(eta, 2) * np.einsum("bij,bi->bj", Gm, post)
    dM = G * D
    dg = np.einsum("bij,bj->bi", dM, a)
    da = np.einsum("bij,bi->bj", dM, g)
    d = post - pre
    dgd = dg * GATE_GAIN * g * (1 - g) * np.sign(d)
    dpost += dgd + da * sharpness * a * (1 - a) * np.sign(post)
    dpre -= dgd
    return dW, dpre, dpost, deta, ddecay


RULE = PlasticityRule(
    name="importance", update=update, vjp=vjp, c_rule_id=C_RULE_ID, per_stream_rates=True,
    params={"threshold": RuleParam(0.5, 0.0, 1e6, doc="anchor threshold on |post|"),
            "sharpness": RuleParam(10.0, 0.0, 1e3, low_open=True, doc="slope of the smooth anchor")},
    doc="Importance-gated Hebbian update of the Text-Native SSMN: updates where the layer changed "
        "its input (gate) and the post unit is active (anchor).")


@hookimpl
def ssmn_rl_register_rules():
    return [RULE]
