"""Example third-party plugin for ssmn_rl: the BCM rule (NumPy + C source) and an anti-Hebbian
rule (NumPy only). Registered through the ``ssmn_rl`` entry-point group in pyproject.toml."""
import numpy as np

from ssmn_rl.hookspec import hookimpl
from ssmn_rl.rules import PlasticityRule, RuleParam


def bcm_update(W, pre, post, eta, decay, theta):
    """W (B,H,H) post x pre; pre, post (B,H); eta, decay (B,): one rate per stream (and head)."""
    eta, keep = eta[:, None, None], (1.0 - decay)[:, None, None]
    return keep * W + eta * (post * (post - theta))[:, :, None] * pre[:, None, :]


def bcm_vjp(G, W, pre, post, eta, decay, theta):
    """dL/dW, dL/dpre, dL/dpost, dL/deta, dL/ddecay from G = dL/dW' (B,H,H)."""
    phi = post * (post - theta)
    Gp = np.einsum("bij,bj->bi", G, pre)  # (G pre)_i
    dpre = eta[:, None] * np.einsum("bij,bi->bj", G, phi)
    dpost = eta[:, None] * Gp * (2.0 * post - theta)
    deta = np.einsum("bi,bi->b", Gp, phi)
    ddecay = -np.einsum("bij,bij->b", G, W)
    return (1.0 - decay)[:, None, None] * G, dpre, dpost, deta, ddecay


# The same rule in C, compiled by ssmn_rl through cffi on first use (see ssmn_rl/custom_rules.py):
# n blocks per call, block b's W at W + b H^2 (row = post index), its rates eta[b], decay[b];
# ctx holds the declared parameters (theta).
BCM_C = r"""
int SSMN_RULE(update)(void *ctx, real *W, const real *pre, const real *post, const real *eta,
                      const real *decay, int64_t n, int64_t H) {
    const real theta = (real)((const double *)ctx)[0];
    for (int64_t b = 0; b < n; b++, W += H * H, pre += H, post += H) {
        const real keep = 1 - decay[b];
        for (int64_t i = 0; i < H; i++) {
            real a = eta[b] * post[i] * (post[i] - theta);
            for (int64_t j = 0; j < H; j++) W[i * H + j] = keep * W[i * H + j] + a * pre[j];
        }
    }
    return 0;
}

int SSMN_RULE(vjp)(void *ctx, real *G, real *dpre, real *dpost, real *deta, real *ddecay,
                   const real *W, const real *pre, const real *post, const real *eta,
                   const real *decay, int64_t n, int64_t H) {
    const real theta = (real)((const double *)ctx)[0];
    for (int64_t b = 0; b < n; b++, G += H * H, W += H * H, pre += H, post += H, dpre += H, dpost += H) {
        const real keep = 1 - decay[b];
        real de = 0, dd = 0;
        for (int64_t i = 0; i < H; i++) {
            real phi = post[i] * (post[i] - theta), s = 0;
            for (int64_t j = 0; j < H; j++) {
                s += G[i * H + j] * pre[j];
                dd -= G[i * H + j] * W[i * H + j];
                dpre[j] += eta[b] * G[i * H + j] * phi;
                G[i * H + j] *= keep;
            }
            dpost[i] += eta[b] * s * (2 * post[i] - theta);
            de += s * phi;
        }
        if (deta) deta[b] += de;
        if (ddecay) ddecay[b] += dd;
    }
    return 0;
}
"""

BCM = PlasticityRule(
    name="bcm", update=bcm_update, vjp=bcm_vjp, c_source=BCM_C, per_stream_rates=True,
    params={"theta": RuleParam(0.5, 0.0, 100.0, doc="modification threshold")},
    doc="Bienenstock-Cooper-Munro: potentiate above the threshold theta, depress below it.")


def antihebbian_update(W, pre, post, eta, decay):
    return (1.0 - decay) * W - eta * post[:, :, None] * pre[:, None, :]


ANTIHEBBIAN = PlasticityRule(
    name="antihebbian", update=antihebbian_update,
    doc="Anti-Hebbian decorrelation, NumPy only and without a vjp (gradient-free training).")


@hookimpl
def ssmn_rl_register_rules():
    return [BCM, ANTIHEBBIAN]
