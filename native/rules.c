/* rules.c - the plasticity rules of the fast-weight memories, forward and backward (the plastic
 * layer that runs them is plastic.c).
 *
 * A rule maps (W, pre = z, post = h) to W' = clip(F(W, pre, post), +-c), W indexed (post, pre).
 * Built in: hebbian (0), importance (1), oja (2), delta (3) - the same math as the NumPy
 * references in plugins/rule_*.py. An external rule (SSMN_RULE_EXTERNAL: update and vector-Jacobian
 * functions given in the config, a third-party rule compiled by cffi or a Python callback) is
 * called by plastic.c once per step for all streams; only its function types are here.
 *
 * Every built-in rule has the form F = W + eta A(W, pre, post) - lambda D(W, pre, post), so the
 * write strength and the decay can change from step to step (neuromodulation, learned decay):
 * the caller puts the step's eta_t and lambda_t into the rule context, and the backward pass
 * returns dL/deta_t = <G, A> and dL/dlambda_t = -<G, D> for the gates' gradients.
 *
 * Backward, one step: given dr = dL/dr (r = W' h) and G = dL/dW' from later steps, accumulate
 * dh and dz and turn G into dL/dW. It needs W_{t-1}: the caller rebuilds it from checkpoints
 * (see plastic.c), so no per-step copy of W is ever stored. Included by cell.c.
 */

/* An external rule over n blocks at once (every stream, and head, of one step; see ssmn_api.h):
 * W (n,H,H) in place, pre/post (n,H), each block's rates eta/lambda (n); the vjp turns G (n,H,H)
 * into dL/dW and adds dpre, dpost (n,H) and, when not NULL, deta, dlambda (n). 0 = success. */
typedef int (*FN(ext_update_fn))(void *ctx, real *W, const real *pre, const real *post, const real *eta,
                                 const real *decay, int64_t n, int64_t H);
typedef int (*FN(ext_vjp_fn))(void *ctx, real *G, real *dpre, real *dpost, real *deta, real *ddecay,
                              const real *W, const real *pre, const real *post, const real *eta,
                              const real *decay, int64_t n, int64_t H);

typedef struct {
    const ssmn_config *cfg;
    real eta, keep, decay, clip;
    real *vec; /* scratch of SSMN_RULE_VECS * H reals */
} FN(rule_ctx);

/* The rule context with the configured (fixed) eta and lambda; vec: SSMN_RULE_VECS H reals. */
static FN(rule_ctx) FN(base_ctx)(const ssmn_config *cfg, real *vec) {
    FN(rule_ctx) x = {cfg, (real)cfg->eta, (real)(1.0 - cfg->decay), (real)cfg->decay, (real)cfg->clip, vec};
    return x;
}

static inline real FN(clampr)(real v, real c) { return v > c ? c : (v < -c ? -c : v); }
static inline real FN(sigm)(real x) { return (real)1 / ((real)1 + R_EXP(-x)); }
static inline real FN(signr)(real x) { return (real)((x > 0) - (x < 0)); }

static inline real FN(hebb_elem)(real w_old, real eta_hi, real zk, real keep, real c) {
    return FN(clampr)(keep * w_old + eta_hi * zk, c);
}

/* importance gates: g (H) over post index, a (H) over pre index */
static void FN(importance_gates)(const FN(rule_ctx) *x, real *g, real *a, const real *pre,
                                 const real *post, int64_t H) {
    real thr = (real)x->cfg->rule_params[0], sharp = (real)x->cfg->rule_params[1];
    for (int64_t i = 0; i < H; i++) {
        real d = post[i] - pre[i];
        g[i] = FN(sigm)((real)10 * (d < 0 ? -d : d) - (real)2);
        real ap = post[i] < 0 ? -post[i] : post[i];
        a[i] = FN(sigm)(sharp * (ap - thr));
    }
}

/* delta key k = pre / sqrt(|pre|^2 + eps); returns the norm */
static real FN(delta_key)(const FN(rule_ctx) *x, real *k, const real *pre, int64_t H) {
    real ss = 0;
    for (int64_t i = 0; i < H; i++) ss += pre[i] * pre[i];
    real n = R_SQRT(ss + (real)x->cfg->rule_params[0]);
    for (int64_t i = 0; i < H; i++) k[i] = pre[i] / n;
    return n;
}

/* Back through k = pre / n (delta_key's norm n): dpre (H) += (dk - k (k . dk)) / n */
static void FN(delta_key_backward)(real *dpre, const real *k, const real *dk, real n, int64_t H) {
    real kd = FN(dot)(k, dk, H);
    for (int64_t j = 0; j < H; j++) dpre[j] += (dk[j] - k[j] * kd) / n;
}

/* Wdst = F(Wsrc, pre, post), clipped to +-c when do_clip; Wdst may equal Wsrc. Uses x->vec. */
static int FN(rule_apply)(const FN(rule_ctx) *x, real *Wdst, const real *Wsrc, const real *pre,
                          const real *post, int64_t H, int do_clip) {
    const real eta = x->eta, keep = x->keep, decay = x->decay;
    const real c = do_clip ? x->clip : (real)INFINITY;
    real *v0 = x->vec, *v1 = x->vec + H;
    switch (x->cfg->rule) {
    case SSMN_RULE_HEBBIAN:
        for (int64_t i = 0; i < H; i++) {
            const real *Si = Wsrc + i * H;
            real *Di = Wdst + i * H, ehi = eta * post[i];
#pragma omp simd
            for (int64_t k = 0; k < H; k++) Di[k] = FN(hebb_elem)(Si[k], ehi, pre[k], keep, c);
        }
        return SSMN_OK;
    case SSMN_RULE_IMPORTANCE:
        FN(importance_gates)(x, v0, v1, pre, post, H);
        for (int64_t i = 0; i < H; i++) {
            const real *Si = Wsrc + i * H;
            real *Di = Wdst + i * H, gi = v0[i], ehi = eta * post[i];
#pragma omp simd
            for (int64_t k = 0; k < H; k++)
                Di[k] = FN(clampr)(Si[k] + gi * v1[k] * (ehi * pre[k] - decay * Si[k]), c);
        }
        return SSMN_OK;
    case SSMN_RULE_OJA: /* v0 = u = W^T post, v1 = pre - u */
        for (int64_t j = 0; j < H; j++) v0[j] = 0;
        for (int64_t i = 0; i < H; i++) {
            const real *Si = Wsrc + i * H;
            real pi = post[i];
#pragma omp simd
            for (int64_t j = 0; j < H; j++) v0[j] += Si[j] * pi;
        }
        for (int64_t j = 0; j < H; j++) v1[j] = pre[j] - v0[j];
        for (int64_t i = 0; i < H; i++) {
            const real *Si = Wsrc + i * H;
            real *Di = Wdst + i * H, ehi = eta * post[i];
#pragma omp simd
            for (int64_t j = 0; j < H; j++) Di[j] = FN(clampr)(keep * Si[j] + ehi * v1[j], c);
        }
        return SSMN_OK;
    case SSMN_RULE_DELTA: /* v0 = key, v1 = eta (post - W key) */
        FN(delta_key)(x, v0, pre, H);
        for (int64_t i = 0; i < H; i++) v1[i] = eta * (post[i] - FN(dot)(Wsrc + i * H, v0, H));
        for (int64_t i = 0; i < H; i++) {
            const real *Si = Wsrc + i * H;
            real *Di = Wdst + i * H, ei = v1[i];
#pragma omp simd
            for (int64_t k = 0; k < H; k++) Di[k] = FN(clampr)(keep * Si[k] + ei * v0[k], c);
        }
        return SSMN_OK;
    default: /* external rules run in lock-step (plastic.c) */
        return SSMN_ERR_RULE;
    }
}

/* Update W in place and read out r (H) = W' h. row (H) scratch; before (H*H) scratch, needed
 * only by non-hebbian rules when sq_out is wanted; *sq_out = sum of squared changes (the "update
 * magnitude" statistic, wanted only on a call's last step). */
static int FN(rule_forward)(const FN(rule_ctx) *x, real *W, real *r, const real *h, const real *z,
                            int64_t H, real *row, real *before, real *sq_out) {
    real sq = 0;
    if (x->cfg->rule == SSMN_RULE_HEBBIAN) { /* fused: one pass over W */
        for (int64_t i = 0; i < H; i++) {
            real *Wi = W + i * H, ehi = x->eta * h[i];
            if (sq_out) {
                for (int64_t k = 0; k < H; k++) {
                    real nw = FN(hebb_elem)(Wi[k], ehi, z[k], x->keep, x->clip);
                    row[k] = nw - Wi[k];
                    Wi[k] = nw;
                }
                sq += FN(dot)(row, row, H);
            } else {
#pragma omp simd
                for (int64_t k = 0; k < H; k++)
                    Wi[k] = FN(hebb_elem)(Wi[k], ehi, z[k], x->keep, x->clip);
            }
            r[i] = FN(dot)(Wi, h, H);
        }
    } else {
        if (sq_out) memcpy(before, W, (size_t)(H * H) * sizeof(real));
        int rc = FN(rule_apply)(x, W, W, z, h, H, 1);
        if (rc) return rc;
        for (int64_t i = 0; i < H; i++) {
            r[i] = FN(dot)(W + i * H, h, H);
            if (sq_out) {
                for (int64_t k = 0; k < H; k++) row[k] = W[i * H + k] - before[i * H + k];
                sq += FN(dot)(row, row, H);
            }
        }
    }
    if (sq_out) *sq_out = sq;
    return SSMN_OK;
}

/* dL/dF (G, in place) -> dL/dWprev; dpre (H) +=, dpost (H) +=; *deta += dL/deta and
 * *ddecay += dL/dlambda when not NULL (built-in rules). F = rule before the clip. */
static int FN(rule_vjp)(const FN(rule_ctx) *x, real *G, real *dpre, real *dpost, const real *Wp,
                        const real *pre, const real *post, int64_t H, real *deta, real *ddecay) {
    const real eta = x->eta, keep = x->keep, decay = x->decay;
    real *v0 = x->vec, *v1 = x->vec + H, *v2 = x->vec + 2 * H, *v3 = x->vec + 3 * H;
    switch (x->cfg->rule) {
    case SSMN_RULE_HEBBIAN:
        for (int64_t i = 0; i < H; i++) {
            real *Gi = G + i * H, ehi = eta * post[i], gp = FN(dot)(Gi, pre, H);
            dpost[i] += eta * gp;
            if (deta) *deta += post[i] * gp;
            if (ddecay) *ddecay -= FN(dot)(Gi, Wp + i * H, H);
#pragma omp simd
            for (int64_t k = 0; k < H; k++) {
                dpre[k] += ehi * Gi[k];
                Gi[k] *= keep;
            }
        }
        return SSMN_OK;
    case SSMN_RULE_IMPORTANCE: {
        real sharp = (real)x->cfg->rule_params[1];
        FN(importance_gates)(x, v0, v1, pre, post, H); /* g, a */
        for (int64_t k = 0; k < H; k++) v3[k] = 0;      /* da */
        for (int64_t i = 0; i < H; i++) {
            const real *Wi = Wp + i * H;
            real *Gi = G + i * H, gi = v0[i], pi = post[i], ehi = eta * pi, acc_h = 0, acc_g = 0;
            real acc_w = 0;
#pragma omp simd reduction(+ : acc_h, acc_g, acc_w)
            for (int64_t k = 0; k < H; k++) {
                real m = gi * v1[k], Gv = Gi[k], Gm = Gv * m;
                real dM = Gv * (ehi * pre[k] - decay * Wi[k]);
                acc_h += Gm * pre[k];
                acc_w += Gm * Wi[k];
                dpre[k] += eta * Gm * pi;
                acc_g += dM * v1[k];
                v3[k] += dM * gi;
                Gi[k] = Gv * (1 - decay * m);
            }
            dpost[i] += eta * acc_h;
            if (deta) *deta += pi * acc_h;
            if (ddecay) *ddecay -= acc_w;
            v2[i] = acc_g; /* dg */
        }
        for (int64_t i = 0; i < H; i++) {
            real g = v0[i], a = v1[i];
            real dgd = v2[i] * (real)10 * g * (1 - g) * FN(signr)(post[i] - pre[i]);
            dpost[i] += dgd + v3[i] * sharp * a * (1 - a) * FN(signr)(post[i]);
            dpre[i] -= dgd;
        }
        return SSMN_OK;
    }
    case SSMN_RULE_OJA: /* v0 = u = Wp^T post, v1 = pre - u, v2 = s = G^T post */
        for (int64_t j = 0; j < H; j++) v0[j] = v2[j] = 0;
        for (int64_t i = 0; i < H; i++) {
            const real *Wi = Wp + i * H, *Gi = G + i * H;
            real pi = post[i];
#pragma omp simd
            for (int64_t j = 0; j < H; j++) {
                v0[j] += Wi[j] * pi;
                v2[j] += Gi[j] * pi;
            }
        }
        for (int64_t j = 0; j < H; j++) {
            v1[j] = pre[j] - v0[j];
            dpre[j] += eta * v2[j];
        }
        for (int64_t i = 0; i < H; i++) {
            const real *Wi = Wp + i * H;
            real *Gi = G + i * H, ehi = eta * post[i], gv = FN(dot)(Gi, v1, H);
            dpost[i] += eta * (gv - FN(dot)(v2, Wi, H));
            if (deta) *deta += post[i] * gv;
            if (ddecay) *ddecay -= FN(dot)(Gi, Wi, H);
#pragma omp simd
            for (int64_t j = 0; j < H; j++) Gi[j] = keep * Gi[j] - ehi * v2[j];
        }
        return SSMN_OK;
    case SSMN_RULE_DELTA: { /* v0 = key, v1 = a = G key, v2 = dkey */
        real n = FN(delta_key)(x, v0, pre, H);
        for (int64_t j = 0; j < H; j++) v2[j] = 0;
        for (int64_t i = 0; i < H; i++) {
            const real *Wi = Wp + i * H;
            real *Gi = G + i * H;
            real ai = FN(dot)(Gi, v0, H), ri = FN(dot)(Wi, v0, H);
            real ci = eta * (post[i] - ri), di = eta * ai;
            v1[i] = ai;
            dpost[i] += di;
            if (deta) *deta += (post[i] - ri) * ai;
            if (ddecay) *ddecay -= FN(dot)(Gi, Wi, H);
#pragma omp simd
            for (int64_t j = 0; j < H; j++) {
                v2[j] += ci * Gi[j] - di * Wi[j];
                Gi[j] = keep * Gi[j] - di * v0[j];
            }
        }
        FN(delta_key_backward)(dpre, v0, v2, n, H);
        return SSMN_OK;
    }
    default:
        return SSMN_ERR_RULE;
    }
}

/* Back through the clip and the read-out r = clip(F) h of one step: dh (H) += clip(F)^T dr; G
 * (H,H) in dL/dW_t, out dL/dF (zero where the clip bound). F (H,H): the rule's W' before the clip. */
static void FN(clip_backward)(real *restrict G, real *restrict dh, const real *restrict F, const real *restrict dr,
                              const real *restrict h, int64_t H, real c) {
    for (int64_t i = 0; i < H; i++) {
        const real *Fi = F + i * H;
        real *Gi = G + i * H, dri = dr[i];
#pragma omp simd
        for (int64_t k = 0; k < H; k++) {
            real f = Fi[k];
            dh[k] += FN(clampr)(f, c) * dri;
            Gi[k] = (f > -c && f < c) ? Gi[k] + dri * h[k] : (real)0;
        }
    }
}

/* One step backward. dh (H) +=, dz (H) +=; G (H,H) in: dL/dW_t, out: dL/dW_{t-1};
 * Wprev (H,H) = W_{t-1}; h, z the step's post and pre; dr (H) = dL/dr; row (H) and F (H,H)
 * scratch (F unused by the fused hebbian path); *deta, *ddecay += the gradients of the step's
 * eta_t and lambda_t when not NULL. */
static int FN(rule_backward)(const FN(rule_ctx) *x, real *restrict dh, real *restrict dz,
                             real *restrict G, const real *restrict Wprev, const real *restrict h,
                             const real *restrict z, const real *restrict dr, int64_t H,
                             real *restrict row, real *restrict F, real *deta, real *ddecay) {
    const real c = x->clip;
    if (x->cfg->rule == SSMN_RULE_HEBBIAN) { /* fused: one pass over W and G */
        const real eta = x->eta, keep = x->keep;
        real acc_eta = 0, acc_w = 0;
        for (int64_t i = 0; i < H; i++) {
            const real *Wi = Wprev + i * H;
            real *Gi = G + i * H;
            real dri = dr[i], ehi = eta * h[i];
#pragma omp simd
            for (int64_t k = 0; k < H; k++) {
                real pre = keep * Wi[k] + ehi * z[k];
                dh[k] += FN(clampr)(pre, c) * dri;
                real g = (pre > -c && pre < c) ? Gi[k] + dri * h[k] : (real)0;
                row[k] = g;
                dz[k] += ehi * g;
                Gi[k] = keep * g;
            }
            if (ddecay) acc_w += FN(dot)(row, Wi, H); /* <g, W_{t-1}> of this row, for dL/dlambda_t */
            real gz = FN(dot)(row, z, H);
            dh[i] += eta * gz;
            acc_eta += h[i] * gz;
        }
        if (deta) *deta += acc_eta;
        if (ddecay) *ddecay -= acc_w;
        return SSMN_OK;
    }
    int rc = FN(rule_apply)(x, F, Wprev, z, h, H, 0);
    if (rc) return rc;
    FN(clip_backward)(G, dh, F, dr, h, H, c);
    return FN(rule_vjp)(x, G, dz, dh, Wprev, z, h, H, deta, ddecay);
}
