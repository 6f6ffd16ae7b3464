"""Example third-party plugin for ssmn_rl: the BCM rule (NumPy + C source) and an anti-Hebbian
rule (NumPy only). Registered through the ``ssmn_rl`` entry-point group in pyproject.toml."""
import numpy as np

from ssmn_rl.hookspec import hookimpl
from ssmn_rl.rules import PlasticityRule, RuleParam


def bcm_update(W, pre, post, eta, decay, theta):
    """W (B,H,H) post x pre; pre, post (B,H)."""
    return (1.0 - decay) * W + eta * (post * (post - theta))[:, :, None] * pre[:, None, :]


def bcm_vjp(G, W, pre, post, eta, decay, theta):
    phi = post * (post - theta)
    dpre = eta * np.einsum("bij,bi->bj", G, phi)
    dpost = eta * np.einsum("bij,bj->bi", G, pre) * (2.0 * post - theta)
    return (1.0 - decay) * G, dpre, dpost


# The same rule in C, compiled by ssmn_rl through cffi on first use (see ssmn_rl/custom_rules.py):
# ctx holds eta, decay, theta; W is (H,H), row = post index.
BCM_C = r"""
int SSMN_RULE(update)(void *ctx, real *W, const real *pre, const real *post, int64_t H) {
    const double *p = (const double *)ctx;
    real eta = (real)p[0], keep = (real)(1.0 - p[1]), theta = (real)p[2];
    for (int64_t i = 0; i < H; i++) {
        real a = eta * post[i] * (post[i] - theta);
        for (int64_t j = 0; j < H; j++) W[i * H + j] = keep * W[i * H + j] + a * pre[j];
    }
    return 0;
}

int SSMN_RULE(vjp)(void *ctx, real *G, real *dpre, real *dpost, const real *W, const real *pre,
                   const real *post, int64_t H) {
    const double *p = (const double *)ctx;
    real eta = (real)p[0], keep = (real)(1.0 - p[1]), theta = (real)p[2];
    (void)W;
    for (int64_t i = 0; i < H; i++) {
        real phi = post[i] * (post[i] - theta), s = 0;
        for (int64_t j = 0; j < H; j++) {
            s += G[i * H + j] * pre[j];
            dpre[j] += eta * G[i * H + j] * phi;
            G[i * H + j] *= keep;
        }
        dpost[i] += eta * s * (2 * post[i] - theta);
    }
    return 0;
}
"""

BCM = PlasticityRule(
    name="bcm", update=bcm_update, vjp=bcm_vjp, c_source=BCM_C,
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
