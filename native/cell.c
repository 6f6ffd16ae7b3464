/* cell.c - the SSMN cell over a (B, T) batch of streams: forward, backward (BPTT), reset.
 *
 * Compiled once per precision (cell_f32.c, cell_f64.c). Everything that does not depend on the
 * fast weights - encoder, q/k/v projections, window attention, static layers, read-out - is
 * computed for all B*T tokens at once with GEMMs; only the plastic layers run step by step, one
 * stream at a time so that stream's W_f stays in cache.
 *
 * Memory of the backward pass: the cache stores O(H + w) floats per token and no W_f. For each
 * stream the backward pass replays the plastic updates from the starting W_f, keeping a
 * checkpoint every K = ceil(sqrt(T)) steps, then walks the segments backwards, rebuilding the K
 * matrices of a segment from its checkpoint. Peak extra memory is (T/K + K + 1) P H^2 for one
 * stream at a time, i.e. O(sqrt(T) H^2), never O(T H^2); the price is two replays of the
 * O(H^2) update per step.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ssmn_internal.h"
#include "real.h"
#include "gemm.c"
#include "window_attn.c"
#include "plastic.c"
#include "norm.c"
#include "xent.c"

/* Step counters must be >= 0 and leave room for T more steps (the ring-slot arithmetic adds them). */
static int FN(check_steps)(const int64_t *steps, int64_t B, int64_t T) {
    for (int64_t b = 0; b < B; b++)
        if (steps[b] < 0 || steps[b] > INT64_MAX - T) return SSMN_ERR_STATE;
    return SSMN_OK;
}

int FN(ssmn_reset)(const ssmn_config *cfg, real *state, int64_t *steps, const uint8_t *mask,
                   int64_t B) {
    ssmn_layout L;
    int rc = ssmn_layout_of(cfg, &L);
    if (rc) return rc;
    if (!state || !steps) return SSMN_ERR_NULL;
    if (B < 1) return SSMN_ERR_ARG;
    for (int64_t b = 0; b < B; b++) {
        if (mask && !mask[b]) continue;
        memset(state + b * L.n_state, 0, (size_t)L.n_state * sizeof(real));
        steps[b] = 0;
    }
    return SSMN_OK;
}

static void FN(add_bias_rows)(real *X, int64_t ldx, const real *bias, int64_t M, int64_t N) {
    for (int64_t m = 0; m < M; m++) {
        real *row = X + m * ldx;
        for (int64_t n = 0; n < N; n++) row[n] += bias[n];
    }
}

static void FN(sum_rows)(real *out, const real *X, int64_t ldx, int64_t M, int64_t N) {
    for (int64_t m = 0; m < M; m++) {
        const real *row = X + m * ldx;
        for (int64_t n = 0; n < N; n++) out[n] += row[n];
    }
}

static inline int64_t FN(min64)(int64_t a, int64_t b) { return a < b ? a : b; }

/* Checks the step's input (finite x, or tokens in range) before any state is touched. */
static int FN(check_input)(const ssmn_layout *L, const real *x, const int32_t *tokens, int64_t BT) {
    if (L->V > 0) {
        if (!tokens) return SSMN_ERR_NULL;
        for (int64_t i = 0; i < BT; i++)
            if (tokens[i] < 0 || tokens[i] >= L->V) return SSMN_ERR_TOKEN;
        return SSMN_OK;
    }
    if (!x) return SSMN_ERR_NULL;
    for (int64_t i = 0; i < BT * L->Din; i++)
        if (!isfinite(x[i])) return SSMN_ERR_NONFINITE;
    return SSMN_OK;
}

/* Norm k (static layer k, or plastic layer k - S) of cache record rec from its raw input at
 * offset src of the same record. */
static void FN(norm_record)(const ssmn_layout *L, real *rec, int64_t k, int64_t src, const real *prm) {
    real *nr = rec + SSMN_C_NRM(L, k);
    FN(norm_forward)(nr, nr + L->H, nr + 2 * L->H, rec + src, prm + SSMN_NORM_G(L, k),
                     L->norm == 2 ? prm + SSMN_NORM_B(L, k) : NULL, L->H, L->norm == 2);
}

/* Backward of norm k at cache record rec: dx (H) = dL/draw input from dy (H) = dL/dy; the
 * gain and bias gradients accumulate into grad. */
static void FN(norm_record_backward)(const ssmn_layout *L, real *dx, real *grad, const real *dy,
                                     const real *rec, int64_t k, const real *prm) {
    const real *nr = rec + SSMN_C_NRM(L, k);
    FN(norm_backward)(dx, grad + SSMN_NORM_G(L, k), L->norm == 2 ? grad + SSMN_NORM_B(L, k) : NULL,
                      dy, nr + L->H, nr[2 * L->H], prm + SSMN_NORM_G(L, k), L->H, L->norm == 2);
}

/* Plastic layer j's gates at one step, per head hd: the sigmoids s_eta = sigmoid(w_eta[hd] . z +
 * b_eta[hd]) and s_lam = sigmoid(w_lam[hd] . z + b_lam[hd]) of the layer's input z (H) go into
 * the cache record (1 and the fixed decay for a gate that is off). */
static void FN(gates_forward)(const ssmn_layout *L, const ssmn_config *cfg, real *rec, int64_t j,
                              const real *z, const real *prm) {
    const int64_t H = L->H, nh = L->nh;
    for (int64_t hd = 0; hd < nh; hd++) {
        real *g = rec + SSMN_C_GATE(L, j, hd);
        g[0] = 1;
        g[1] = (real)cfg->decay;
        if (L->neuromod) {
            const real *w = prm + SSMN_GATE_ETA(L, j);
            g[0] = FN(sigm)(FN(dot)(w + hd * H, z, H) + w[nh * H + hd]);
        }
        if (L->learned_decay) {
            const real *w = prm + SSMN_GATE_DECAY(L, j);
            g[1] = FN(sigm)(FN(dot)(w + hd * H, z, H) + w[nh * H + hd]);
        }
    }
}

/* The rule context of plastic layer j, head hd, at the step of cache record rec: eta_t, lambda_t. */
static FN(rule_ctx) FN(gated_ctx)(const ssmn_layout *L, const FN(rule_ctx) *base, const real *rec,
                                  int64_t j, int64_t hd) {
    FN(rule_ctx) x = *base;
    if (!SSMN_HAS_GATES(L)) return x;
    const real *g = rec + SSMN_C_GATE(L, j, hd);
    if (L->neuromod) x.eta = (real)x.cfg->eta * g[0];
    if (L->learned_decay) {
        x.decay = g[1];
        x.keep = 1 - g[1];
    }
    return x;
}

/* Gate gradients of plastic layer j, head hd, at one step, from deta = dL/deta_t and ddecay =
 * dL/dlambda_t: grad (the gate parameters) +=, dz (H) += through the gates' input z. */
static void FN(gates_backward)(const ssmn_layout *L, const ssmn_config *cfg, real *grad, real *dz,
                               const real *rec, int64_t j, int64_t hd, const real *z, const real *prm,
                               real deta, real ddecay) {
    const int64_t H = L->H, nh = L->nh;
    const real *g = rec + SSMN_C_GATE(L, j, hd);
    for (int gate = 0; gate < 2; gate++) {
        if (!(gate ? L->learned_decay : L->neuromod)) continue;
        int64_t off = gate ? SSMN_GATE_DECAY(L, j) : SSMN_GATE_ETA(L, j);
        real s = g[gate], dlogit = (gate ? ddecay : deta * (real)cfg->eta) * s * (1 - s);
        const real *w = prm + off + hd * H;
        real *gw = grad + off + hd * H;
        for (int64_t n = 0; n < H; n++) {
            gw[n] += dlogit * z[n];
            dz[n] += dlogit * w[n];
        }
        grad[off + nh * H + hd] += dlogit;
    }
}

/* The plastic memory of layer j: nh blocks W_f[hd] (dh, dh), block hd reading and writing slice
 * hd of pre and post. Wdst = rule(Wsrc) (may alias), each head with its own gated context. */
static int FN(memory_apply)(const ssmn_layout *L, const FN(rule_ctx) *base, const real *rec, int64_t j,
                            real *Wdst, const real *Wsrc, const real *pre, const real *post) {
    const int64_t d = L->dh, dd = d * d;
    for (int64_t hd = 0; hd < L->nh; hd++) {
        FN(rule_ctx) x = FN(gated_ctx)(L, base, rec, j, hd);
        int rc = FN(rule_apply)(&x, Wdst + hd * dd, Wsrc + hd * dd, pre + hd * d, post + hd * d, d, 1);
        if (rc) return rc;
    }
    return SSMN_OK;
}

/* Update W_f (WF) in place and read out r (H) = W_f' h, head by head; *sq_out (when not NULL) =
 * sum of squared changes. row (H), before (WF) scratch as in rule_forward. */
static int FN(memory_forward)(const ssmn_layout *L, const FN(rule_ctx) *base, const real *rec, int64_t j,
                              real *Wf, real *r, const real *h, const real *z, real *row, real *before,
                              real *sq_out) {
    const int64_t d = L->dh, dd = d * d;
    real sq = 0;
    for (int64_t hd = 0; hd < L->nh; hd++) {
        FN(rule_ctx) x = FN(gated_ctx)(L, base, rec, j, hd);
        real sqh = 0;
        int rc = FN(rule_forward)(&x, Wf + hd * dd, r + hd * d, h + hd * d, z + hd * d, d, row, before,
                                  sq_out ? &sqh : NULL);
        if (rc) return rc;
        sq += sqh;
    }
    if (sq_out) *sq_out = sq;
    return SSMN_OK;
}

/* One step backward through the memory of layer j: dh, dz (H) +=; G (WF) in dL/dW_t, out
 * dL/dW_{t-1}; the gates' parameter gradients into grad. Wprev (WF); dr (H) = dL/dr; row (H)
 * and F (WF) scratch. */
static int FN(memory_backward)(const ssmn_layout *L, const ssmn_config *cfg, const FN(rule_ctx) *base,
                               const real *rec, int64_t j, real *grad, real *dh, real *dz, real *G,
                               const real *Wprev, const real *h, const real *z, const real *dr,
                               const real *prm, real *row, real *F) {
    const int64_t d = L->dh, dd = d * d;
    for (int64_t hd = 0; hd < L->nh; hd++) {
        FN(rule_ctx) x = FN(gated_ctx)(L, base, rec, j, hd);
        real deta = 0, ddecay = 0;
        int rc = FN(rule_backward)(&x, dh + hd * d, dz + hd * d, G + hd * dd, Wprev + hd * dd, h + hd * d,
                                   z + hd * d, dr + hd * d, d, row, F, L->neuromod ? &deta : NULL,
                                   L->learned_decay ? &ddecay : NULL);
        if (rc) return rc;
        if (SSMN_HAS_GATES(L)) FN(gates_backward)(L, cfg, grad, dz, rec, j, hd, z, prm, deta, ddecay);
    }
    return SSMN_OK;
}

/* z (H) = h + alpha tanh(W q) for chat steps k >= 1 (k = 0 is fused with the rule update);
 * W (WF) block-diagonal over the heads. */
static void FN(chat_forward)(const ssmn_layout *L, real *rec, int64_t j, const real *W, real alpha) {
    const int64_t H = L->H, d = L->dh;
    const real *h = rec + SSMN_C_H(L, j);
    for (int64_t k = 1; k < L->C; k++) {
        const real *qprev = rec + SSMN_C_Q(L, j, k - 1);
        real *tr = rec + SSMN_C_TR(L, j, k), *q = rec + SSMN_C_Q(L, j, k);
        for (int64_t i = 0; i < H; i++) {
            int64_t hd = i / d;
            tr[i] = R_TANH(FN(dot)(W + hd * d * d + (i - hd * d) * d, qprev + hd * d, d));
        }
        for (int64_t i = 0; i < H; i++) q[i] = h[i] + alpha * tr[i];
    }
}

int FN(ssmn_forward)(const ssmn_config *cfg, real *y, real *cache, real *state, int64_t *steps,
                     const real *x, const int32_t *tokens, const real *params, int64_t B, int64_t T) {
    ssmn_layout Ls;
    int rc = ssmn_layout_of(cfg, &Ls);
    if (rc) return rc;
    const ssmn_layout *L = &Ls;
    if (!state || !steps || !params) return SSMN_ERR_NULL;
    if (B < 1 || T < 0) return SSMN_ERR_ARG;
    if ((rc = FN(check_steps)(steps, B, T))) return rc;
    if (T == 0) return SSMN_OK;
    if (!y || !cache) return SSMN_ERR_NULL;
    if ((rc = FN(check_input)(L, x, tokens, B * T))) return rc;

    const int64_t H = L->H, w = L->w, S = L->S, P = L->P, R = L->n_cache, BT = B * T, WF = L->WF;
    const real eta = (real)cfg->eta, keep = (real)(1.0 - cfg->decay), clip = (real)cfg->clip;
    const real alpha = (real)cfg->alpha;
    const real *prm = params;
    /* token input: gather the embeddings into the cache records */
    const real *xin = x;
    int64_t ldx = L->Din;
    if (L->V > 0) {
        for (int64_t m = 0; m < BT; m++)
            memcpy(cache + m * R + L->c_x, prm + L->emb + (int64_t)tokens[m] * L->Din,
                   (size_t)L->Din * sizeof(real));
        xin = cache + L->c_x;
        ldx = R;
    }
    /* scratch: GEMM pack (large calls only), rule vectors + a row, and for non-hebbian rules a
     * copy of W_f for the update statistic */
    int64_t n_scratch = (SSMN_RULE_VECS + 1) * H + (cfg->rule != SSMN_RULE_HEBBIAN ? WF : 0);
    if (BT >= GEMM_MR) n_scratch += SSMN_PACK_FLOATS;
    real *scratch = (real *)malloc((size_t)n_scratch * sizeof(real));
    if (!scratch) return SSMN_ERR_NOMEM;
    real *rvec = scratch, *row = rvec + SSMN_RULE_VECS * H, *before = row + H;
    real *pack = BT >= GEMM_MR ? before + (cfg->rule != SSMN_RULE_HEBBIAN ? WF : 0) : NULL;
    FN(rule_ctx) rx = {cfg, eta, keep, (real)cfg->decay, clip, rvec};

    /* encoder u = tanh(W_in x + b_in), then q, k, v for every token */
    FN(gemm)(0, 1, BT, H, L->Din, xin, ldx, prm + L->W_in, L->Din, 0, cache + L->c_u, R, pack);
    for (int64_t m = 0; m < BT; m++) {
        real *u = cache + m * R + L->c_u;
        const real *bias = prm + L->b_in;
        for (int64_t n = 0; n < H; n++) u[n] = R_TANH(u[n] + bias[n]);
    }
    FN(gemm)(0, 1, BT, H, H, cache + L->c_u, R, prm + L->W_q, H, 0, cache + L->c_q, R, pack);
    FN(gemm)(0, 1, BT, H, H, cache + L->c_u, R, prm + L->W_k, H, 0, cache + L->c_k, R, pack);
    FN(gemm)(0, 1, BT, H, H, cache + L->c_u, R, prm + L->W_v, H, 0, cache + L->c_v, R, pack);

    /* window attention, then push this call's keys and values into each stream's ring */
    const real *abias = L->pos_bias ? prm + L->attn_bias : NULL;
    for (int64_t b = 0; b < B; b++) {
        real *st = state + b * L->n_state;
        real *rec0 = cache + b * T * R;
        int64_t n0 = FN(min64)(steps[b], w);
        FN(window_src) keys = {st + L->s_K, rec0 + L->c_k, R, n0, steps[b] - n0, w, H};
        FN(window_src) vals = {st + L->s_V, rec0 + L->c_v, R, n0, steps[b] - n0, w, H};
        for (int64_t t = 0; t < T; t++) {
            real *rec = rec0 + t * R;
            int64_t e = n0 + t, lo = e + 1 - w > 0 ? e + 1 - w : 0;
            real ent = FN(attn_forward)(rec + L->c_ctx, rec + L->c_p, rec + L->c_q, &keys, &vals,
                                        abias, lo, e - lo + 1, L->nh);
            if (t == T - 1) st[L->s_entropy] = ent;
        }
        for (int64_t t = T - w > 0 ? T - w : 0; t < T; t++) {
            int64_t slot = (steps[b] + t) % w;
            memcpy(st + L->s_K + slot * H, rec0 + t * R + L->c_k, (size_t)H * sizeof(real));
            memcpy(st + L->s_V + slot * H, rec0 + t * R + L->c_v, (size_t)H * sizeof(real));
        }
    }

    /* output projection of attention (plus the encoding on the residual path), static layers */
    FN(gemm)(0, 1, BT, H, H, cache + L->c_ctx, R, prm + L->W_o, H, 0, cache + L->c_z, R, pack);
    if (L->residual)
        for (int64_t m = 0; m < BT; m++) {
            real *z0 = cache + m * R + L->c_z;
            const real *u = cache + m * R + L->c_u;
            for (int64_t n = 0; n < H; n++) z0[n] += u[n];
        }
    for (int64_t i = 0; i < S; i++) {
        real *zo = cache + L->c_z + (i + 1) * H;
        if (L->norm)
            for (int64_t m = 0; m < BT; m++) FN(norm_record)(L, cache + m * R, i, L->c_z + i * H, prm);
        FN(gemm)(0, 1, BT, H, H, cache + SSMN_C_SIN(L, i), R, prm + SSMN_STATIC_W(L, i), H, 0, zo, R,
                 pack);
        const real *bias = prm + SSMN_STATIC_B(L, i);
        for (int64_t m = 0; m < BT; m++)
            for (int64_t n = 0; n < H; n++) {
                real v = zo[m * R + n] + bias[n];
                zo[m * R + n] = v > 0 ? v : 0;
            }
    }

    /* plastic layers: stream by stream, step by step */
    if (P > 0) {
        if (L->norm)
            for (int64_t m = 0; m < BT; m++) FN(norm_record)(L, cache + m * R, S, SSMN_C_ZS(L), prm);
        FN(gemm)(0, 1, BT, H, H, cache + SSMN_C_ZIN(L, 0), R, prm + SSMN_PLASTIC_W(L, 0), H, 0,
                 cache + SSMN_C_H(L, 0), R, pack);
        for (int64_t b = 0; b < B; b++) {
            real *st = state + b * L->n_state;
            for (int64_t t = 0; t < T; t++) {
                real *rec = cache + (b * T + t) * R;
                for (int64_t j = 0; j < P; j++) {
                    const real *zin = rec + SSMN_C_ZIN(L, j);
                    real *h = rec + SSMN_C_H(L, j), *tr = rec + SSMN_C_TR(L, j, 0);
                    real *q = rec + SSMN_C_Q(L, j, 0), *Wf = st + L->s_Wf + j * WF;
                    if (j > 0) {
                        if (L->norm) FN(norm_record)(L, rec, S + j, SSMN_C_ZRAW(L, j), prm);
                        FN(gemm_rows_nt)(1, H, H, zin, H, prm + SSMN_PLASTIC_W(L, j), H, 0, h, H);
                    }
                    const real *bias = prm + SSMN_PLASTIC_B(L, j);
                    for (int64_t n = 0; n < H; n++) {
                        real v = h[n] + bias[n];
                        h[n] = v > 0 ? v : 0;
                    }
                    real sq = 0;
                    if (SSMN_HAS_GATES(L)) FN(gates_forward)(L, cfg, rec, j, zin, prm);
                    rc = FN(memory_forward)(L, &rx, rec, j, Wf, tr, h, zin, row, before,
                                            t == T - 1 ? &sq : NULL);
                    if (rc) {
                        free(scratch);
                        return rc;
                    }
                    if (t == T - 1) st[L->s_rms + j] = R_SQRT(sq / (real)WF);
                    for (int64_t n = 0; n < H; n++) {
                        tr[n] = R_TANH(tr[n]);
                        q[n] = h[n] + alpha * tr[n];
                    }
                    FN(chat_forward)(L, rec, j, Wf, alpha);
                }
            }
        }
    }

    /* read-out */
    FN(gemm)(0, 1, BT, L->Dout, H, cache + SSMN_C_ZF(L), R, prm + L->W_out, H, 0, y, L->Dout, pack);
    FN(add_bias_rows)(y, L->Dout, prm + L->b_out, BT, L->Dout);
    for (int64_t b = 0; b < B; b++) steps[b] += T;
    free(scratch);
    return SSMN_OK;
}

/* Backward through chat steps C-1..1 of plastic layer j at one step: gz in = dL/dq_{C-1}, out =
 * dL/dq_0; dh += the identity-path gradients; G (WF) += dL/dW_t of the re-reads. W = W_t (WF,
 * block-diagonal over the heads); dr, tmp (H) scratch. */
static void FN(chat_backward)(const ssmn_layout *L, const real *rec, int64_t j, const real *W,
                              real *G, real *gz, real *dh, real *dr, real *tmp, real alpha) {
    const int64_t H = L->H, d = L->dh;
    for (int64_t k = L->C - 1; k >= 1; k--) {
        const real *tr = rec + SSMN_C_TR(L, j, k), *qprev = rec + SSMN_C_Q(L, j, k - 1);
        for (int64_t n = 0; n < H; n++) {
            dr[n] = alpha * (1 - tr[n] * tr[n]) * gz[n];
            dh[n] += gz[n];
            tmp[n] = 0;
        }
        for (int64_t i = 0; i < H; i++) {
            const int64_t o = (i / d) * d;
            const real *Wi = W + o * d + (i - o) * d, *qp = qprev + o;
            real *Gi = G + o * d + (i - o) * d, *tp = tmp + o, di = dr[i];
#pragma omp simd
            for (int64_t n = 0; n < d; n++) {
                Gi[n] += di * qp[n];
                tp[n] += di * Wi[n];
            }
        }
        memcpy(gz, tmp, (size_t)H * sizeof(real));
    }
}

int FN(ssmn_backward)(const ssmn_config *cfg, real *grad, real *dstate0, real *work, const real *dy,
                      const real *cache, const real *state0, const int64_t *steps0, const real *x,
                      const int32_t *tokens, const real *params, int64_t B, int64_t T) {
    ssmn_layout Ls;
    int rc = ssmn_layout_of(cfg, &Ls);
    if (rc) return rc;
    const ssmn_layout *L = &Ls;
    if (!grad || !work || !state0 || !steps0 || !params) return SSMN_ERR_NULL;
    if (B < 1 || T < 0) return SSMN_ERR_ARG;
    if ((rc = FN(check_steps)(steps0, B, T))) return rc;
    if (dstate0) memset(dstate0, 0, (size_t)(B * L->n_state) * sizeof(real));
    if (T == 0) return SSMN_OK;
    if (!dy || !cache) return SSMN_ERR_NULL;
    if ((rc = FN(check_input)(L, x, tokens, B * T))) return rc;

    const int64_t H = L->H, w = L->w, S = L->S, P = L->P, R = L->n_cache, BT = B * T, WF = L->WF;
    const int64_t BTH = BT * H, PHH = P * WF, K = ssmn_segment_len(T), nseg = (T + K - 1) / K;
    const int64_t nDX = L->V > 0 ? BT * L->Din : 0;
    const real eta = (real)cfg->eta, keep = (real)(1.0 - cfg->decay), clip = (real)cfg->clip;
    const real alpha = (real)cfg->alpha;
    const real *prm = params;

    real *bufA = work, *bufB = bufA + BTH, *dQ = bufB + BTH, *dK = dQ + BTH, *dV = dK + BTH;
    real *dPre = dV + BTH, *dX = dPre + P * BTH, *G = dX + nDX, *ckpt = G + PHH, *seg = ckpt + nseg * PHH;
    real *Fbuf = seg + K * PHH, *gz = Fbuf + WF, *dh = gz + H, *dz = dh + H, *dr = dz + H;
    real *row = dr + H, *rvec = row + H, *dp = rvec + SSMN_RULE_VECS * H, *pack = dp + w;
    FN(rule_ctx) rx = {cfg, eta, keep, (real)cfg->decay, clip, rvec};

    /* read-out (into the embedding's gradient when the decoder is tied) */
    FN(gemm)(0, 0, BT, H, L->Dout, dy, L->Dout, prm + L->W_out, H, 0, bufA, H, pack);
    FN(gemm)(1, 0, L->Dout, H, BT, dy, L->Dout, cache + SSMN_C_ZF(L), R, 1, grad + L->W_out, H, pack);
    FN(sum_rows)(grad + L->b_out, dy, L->Dout, BT, L->Dout);

    /* plastic layers, stream by stream, segments backwards */
    real *dzc = bufA, *dzo = bufB;
    if (P > 0) {
        memset(bufB, 0, (size_t)BTH * sizeof(real));
        for (int64_t b = 0; b < B; b++) {
            const real *rec0 = cache + b * T * R;
            real *run = seg;
            memcpy(run, state0 + b * L->n_state + L->s_Wf, (size_t)PHH * sizeof(real));
            for (int64_t t = 0; t < T; t++) {
                const real *rec = rec0 + t * R;
                if (t % K == 0) memcpy(ckpt + (t / K) * PHH, run, (size_t)PHH * sizeof(real));
                for (int64_t j = 0; j < P; j++)
                    if ((rc = FN(memory_apply)(L, &rx, rec, j, run + j * WF, run + j * WF,
                                               rec + SSMN_C_ZIN(L, j), rec + SSMN_C_H(L, j))))
                        return rc;
            }
            memset(G, 0, (size_t)PHH * sizeof(real));
            for (int64_t s = nseg - 1; s >= 0; s--) {
                int64_t t0 = s * K, t1 = FN(min64)(T, t0 + K);
                memcpy(seg, ckpt + s * PHH, (size_t)PHH * sizeof(real));
                for (int64_t i = 1; i < t1 - t0; i++) {
                    const real *rec = rec0 + (t0 + i - 1) * R;
                    for (int64_t j = 0; j < P; j++)
                        if ((rc = FN(memory_apply)(L, &rx, rec, j, seg + i * PHH + j * WF,
                                                   seg + (i - 1) * PHH + j * WF, rec + SSMN_C_ZIN(L, j),
                                                   rec + SSMN_C_H(L, j))))
                            return rc;
                }
                for (int64_t t = t1 - 1; t >= t0; t--) {
                    const real *rec = rec0 + t * R;
                    int64_t tok = b * T + t;
                    memcpy(gz, bufA + tok * H, (size_t)H * sizeof(real));
                    for (int64_t j = P - 1; j >= 0; j--) {
                        const real *h = rec + SSMN_C_H(L, j), *tr = rec + SSMN_C_TR(L, j, 0);
                        const real *zin = rec + SSMN_C_ZIN(L, j);
                        const real *Wprev = seg + (t - t0) * PHH + j * WF;
                        for (int64_t n = 0; n < H; n++) dh[n] = dz[n] = 0;
                        if (L->C > 1) { /* re-reads of W_t: rebuild it, then back through them */
                            if ((rc = FN(memory_apply)(L, &rx, rec, j, Fbuf, Wprev, zin, h))) return rc;
                            FN(chat_backward)(L, rec, j, Fbuf, G + j * WF, gz, dh, dr, row, alpha);
                        }
                        for (int64_t n = 0; n < H; n++) {
                            dr[n] = alpha * (1 - tr[n] * tr[n]) * gz[n];
                            dh[n] += gz[n];
                        }
                        rc = FN(memory_backward)(L, cfg, &rx, rec, j, grad, dh, dz, G + j * WF, Wprev, h,
                                                 zin, dr, prm, row, Fbuf);
                        if (rc) return rc;
                        real *dpre = dPre + j * BTH + tok * H;
                        for (int64_t n = 0; n < H; n++) dpre[n] = h[n] > 0 ? dh[n] : 0;
                        if (j > 0) { /* gz = dL/d(layer j-1's output), through the norm if any */
                            memcpy(gz, dz, (size_t)H * sizeof(real));
                            FN(gemm_rows_nn)(1, H, H, dpre, H, prm + SSMN_PLASTIC_W(L, j), H, 1, gz, H);
                            if (L->norm) {
                                FN(norm_record_backward)(L, dz, grad, gz, rec, S + j, prm);
                                memcpy(gz, dz, (size_t)H * sizeof(real));
                            }
                        } else {
                            real *dzs = bufB + tok * H;
                            for (int64_t n = 0; n < H; n++) dzs[n] += dz[n];
                        }
                    }
                }
            }
            if (dstate0)
                memcpy(dstate0 + b * L->n_state + L->s_Wf, G, (size_t)PHH * sizeof(real));
        }
        for (int64_t j = 0; j < P; j++) {
            FN(gemm)(1, 0, H, H, BT, dPre + j * BTH, H, cache + SSMN_C_ZIN(L, j), R, 1,
                     grad + SSMN_PLASTIC_W(L, j), H, pack);
            FN(sum_rows)(grad + SSMN_PLASTIC_B(L, j), dPre + j * BTH, H, BT, H);
        }
        FN(gemm)(0, 0, BT, H, H, dPre, H, prm + SSMN_PLASTIC_W(L, 0), H, 1, bufB, H, pack);
        dzc = bufB;
        dzo = bufA;
        if (L->norm) { /* bufB holds dL/d(normalised z_S): back through the norm into bufA */
            for (int64_t m = 0; m < BT; m++)
                FN(norm_record_backward)(L, bufA + m * H, grad, bufB + m * H, cache + m * R, S, prm);
            dzc = bufA;
            dzo = bufB;
        }
    }

    /* static layers, last to first */
    for (int64_t i = S - 1; i >= 0; i--) {
        const real *zo = cache + L->c_z + (i + 1) * H;
        for (int64_t m = 0; m < BT; m++)
            for (int64_t n = 0; n < H; n++)
                if (!(zo[m * R + n] > 0)) dzc[m * H + n] = 0;
        FN(gemm)(1, 0, H, H, BT, dzc, H, cache + SSMN_C_SIN(L, i), R, 1, grad + SSMN_STATIC_W(L, i), H,
                 pack);
        FN(sum_rows)(grad + SSMN_STATIC_B(L, i), dzc, H, BT, H);
        FN(gemm)(0, 0, BT, H, H, dzc, H, prm + SSMN_STATIC_W(L, i), H, 0, dzo, H, pack);
        if (L->norm) { /* dzo = dL/d(normalised input): back through the norm into dzc */
            for (int64_t m = 0; m < BT; m++)
                FN(norm_record_backward)(L, dzc + m * H, grad, dzo + m * H, cache + m * R, i, prm);
        } else {
            real *tmp = dzc; dzc = dzo; dzo = tmp;
        }
    }

    /* attention output projection: dzc holds dL/da; dzo gets dL/dctx */
    FN(gemm)(1, 0, H, H, BT, dzc, H, cache + L->c_ctx, R, 1, grad + L->W_o, H, pack);
    FN(gemm)(0, 0, BT, H, H, dzc, H, prm + L->W_o, H, 0, dzo, H, pack);

    /* window attention */
    memset(dQ, 0, (size_t)(3 * BTH) * sizeof(real));
    real *dbias = L->pos_bias ? grad + L->attn_bias : NULL;
    for (int64_t b = 0; b < B; b++) {
        const real *st = state0 + b * L->n_state;
        const real *rec0 = cache + b * T * R;
        real *dst = dstate0 ? dstate0 + b * L->n_state : NULL;
        int64_t n0 = FN(min64)(steps0[b], w), first = steps0[b] - n0;
        FN(window_src) keys = {st + L->s_K, rec0 + L->c_k, R, n0, first, w, H};
        FN(window_src) vals = {st + L->s_V, rec0 + L->c_v, R, n0, first, w, H};
        FN(window_grad) dkeys = {dst ? dst + L->s_K : NULL, dK + b * T * H, H, n0, first, w, H};
        FN(window_grad) dvals = {dst ? dst + L->s_V : NULL, dV + b * T * H, H, n0, first, w, H};
        for (int64_t t = 0; t < T; t++) {
            const real *rec = rec0 + t * R;
            int64_t e = n0 + t, lo = e + 1 - w > 0 ? e + 1 - w : 0;
            FN(attn_backward)(dQ + (b * T + t) * H, &dkeys, &dvals, dbias, dp, dzo + (b * T + t) * H,
                              rec + L->c_p, rec + L->c_q, &keys, &vals, lo, e - lo + 1, L->nh);
        }
    }

    /* q, k, v projections and the encoder; dzc becomes dL/du (it still holds dL/da, which is
     * dL/du's residual-path share) */
    const real *dproj[3] = {dQ, dK, dV};
    const int64_t wproj[3] = {L->W_q, L->W_k, L->W_v};
    for (int p = 0; p < 3; p++) {
        FN(gemm)(1, 0, H, H, BT, dproj[p], H, cache + L->c_u, R, 1, grad + wproj[p], H, pack);
        FN(gemm)(0, 0, BT, H, H, dproj[p], H, prm + wproj[p], H, p > 0 || L->residual, dzc, H, pack);
    }
    for (int64_t m = 0; m < BT; m++) {
        const real *u = cache + m * R + L->c_u;
        for (int64_t n = 0; n < H; n++) dzc[m * H + n] *= 1 - u[n] * u[n];
    }
    const real *xin = L->V > 0 ? cache + L->c_x : x;
    FN(gemm)(1, 0, H, L->Din, BT, dzc, H, xin, L->V > 0 ? R : L->Din, 1, grad + L->W_in, L->Din, pack);
    FN(sum_rows)(grad + L->b_in, dzc, H, BT, H);
    if (L->V > 0) { /* embedding rows: scatter-add dL/dx */
        FN(gemm)(0, 0, BT, L->Din, H, dzc, H, prm + L->W_in, L->Din, 0, dX, L->Din, pack);
        for (int64_t m = 0; m < BT; m++) {
            real *ge = grad + L->emb + (int64_t)tokens[m] * L->Din;
            const real *dxm = dX + m * L->Din;
            for (int64_t n = 0; n < L->Din; n++) ge[n] += dxm[n];
        }
    }
    return SSMN_OK;
}

#if defined(SSMN_REAL_F32)
int FN(ssmn_naive_step)(const ssmn_config *cfg, real *y, real *cache, real *state, real *u_hist,
                        int64_t *steps, const real *x, const real *params) {
    ssmn_layout L;
    int rc = ssmn_layout_of(cfg, &L);
    if (rc) return rc;
    if (!y || !cache || !state || !u_hist || !steps || !x || !params) return SSMN_ERR_NULL;
    if ((rc = FN(check_steps)(steps, 1, 1))) return rc;
    const int64_t H = L.H, w = L.w, n0 = FN(min64)(*steps, w);
    for (int64_t e = 0; e < n0; e++) {
        int64_t slot = (*steps - n0 + e) % w;
        const real *u = u_hist + slot * H;
        FN(gemm_rows_nt)(1, H, H, u, H, params + L.W_k, H, 0, state + L.s_K + slot * H, H);
        FN(gemm_rows_nt)(1, H, H, u, H, params + L.W_v, H, 0, state + L.s_V + slot * H, H);
    }
    int64_t slot = *steps % w;
    rc = FN(ssmn_forward)(cfg, y, cache, state, steps, x, NULL, params, 1, 1);
    if (rc) return rc;
    memcpy(u_hist + slot * H, cache + L.c_u, (size_t)H * sizeof(real));
    return SSMN_OK;
}
#endif
