/* window_attn.c - sliding-window attention over cached keys and values, forward and backward:
 * one step (attn_forward/attn_backward) and the whole block of a call (attention_forward/
 * attention_backward: projections, attention, ring update, output projection, residual path).
 *
 * Keys and values are projected once per step and kept (a ring buffer in the state between
 * calls, the cache within a call), so one query costs O(w H). Within a call the window of step t
 * is a run of "extended" positions: the n0 entries the ring held at the start of the call,
 * followed by the call's own steps; window_key() maps an extended position to its vector.
 * Included by cell.c.
 */

typedef struct {
    const real *ring;       /* (w, H) ring at the start of the call */
    const real *seq;        /* first step's vector inside the cache records */
    int64_t seq_stride;     /* floats between consecutive steps' vectors */
    int64_t n0;             /* ring entries valid at the start of the call */
    int64_t first_step;     /* step counter of extended position 0 */
    int64_t w, H;
} FN(window_src);

static inline const real *FN(window_vec)(const FN(window_src) *s, int64_t e) {
    if (e < s->n0) return s->ring + ((s->first_step + e) % s->w) * s->H;
    return s->seq + (e - s->n0) * s->seq_stride;
}

/* Multi-head attention of one step. ctx (H) out; p (nh, w) out: per head, the attention weights
 * over extended positions lo..lo+len-1 (the last one is the current step); q (H) in; bias (nh, w)
 * per head and offset from the current step, or NULL. Head hd reads slice [hd d, (hd+1) d) of
 * q, the keys and the values (d = H / nh). Returns the mean attention entropy over the heads. */
static real FN(attn_forward)(real *ctx, real *p, const real *q, const FN(window_src) *keys,
                             const FN(window_src) *vals, const real *bias, int64_t lo, int64_t len,
                             int64_t nh) {
    const int64_t H = keys->H, d = H / nh, w = keys->w;
    const real scale = (real)1 / R_SQRT((real)d);
    real entropy = 0;
    for (int64_t n = 0; n < H; n++) ctx[n] = 0;
    for (int64_t hd = 0; hd < nh; hd++) {
        const int64_t o = hd * d;
        real *ph = p + hd * w, mx = -(real)INFINITY;
        const real *bh = bias ? bias + hd * w : NULL;
        for (int64_t j = 0; j < len; j++) {
            real s = FN(dot)(q + o, FN(window_vec)(keys, lo + j) + o, d) * scale;
            if (bh) s += bh[len - 1 - j];
            ph[j] = s;
            if (s > mx) mx = s;
        }
        real sum = 0;
        for (int64_t j = 0; j < len; j++) {
            ph[j] = R_EXP(ph[j] - mx);
            sum += ph[j];
        }
        real inv = (real)1 / sum;
        for (int64_t j = 0; j < len; j++) {
            real pj = ph[j] * inv;
            ph[j] = pj;
            if (pj > 0) entropy -= pj * R_LOG(pj);
            const real *v = FN(window_vec)(vals, lo + j) + o;
            real *c = ctx + o;
#pragma omp simd
            for (int64_t n = 0; n < d; n++) c[n] += pj * v[n];
        }
    }
    return entropy / (real)nh;
}

/* Where the backward pass accumulates key and value gradients: the same layout as a forward
 * source, writable; a NULL ring drops the gradient of the initial ring entries. */
typedef struct {
    real *ring;
    real *seq;
    int64_t seq_stride, n0, first_step, w, H;
} FN(window_grad);

static inline real *FN(window_gvec)(const FN(window_grad) *g, int64_t e) {
    if (e < g->n0) return g->ring ? g->ring + ((g->first_step + e) % g->w) * g->H : NULL;
    return g->seq + (e - g->n0) * g->seq_stride;
}

/* Backward of attn_forward: dq (H) +=, the window's key and value gradients +=, dbias (nh, w)
 * += when not NULL; dp_scratch (w) scratch; dctx (H) = dL/dctx; p (nh, w) and q from the forward. */
static void FN(attn_backward)(real *dq, const FN(window_grad) *dkeys, const FN(window_grad) *dvals,
                              real *dbias, real *dp_scratch, const real *dctx, const real *p,
                              const real *q, const FN(window_src) *keys, const FN(window_src) *vals,
                              int64_t lo, int64_t len, int64_t nh) {
    const int64_t H = keys->H, d = H / nh, w = keys->w;
    const real scale = (real)1 / R_SQRT((real)d);
    for (int64_t hd = 0; hd < nh; hd++) {
        const int64_t o = hd * d;
        const real *ph = p + hd * w, *dc = dctx + o, *qh = q + o;
        real dot = 0;
        for (int64_t j = 0; j < len; j++) {
            real s = FN(dot)(dc, FN(window_vec)(vals, lo + j) + o, d);
            dp_scratch[j] = s;
            dot += ph[j] * s;
            real *dv = FN(window_gvec)(dvals, lo + j);
            if (dv) {
                real pj = ph[j];
                dv += o;
#pragma omp simd
                for (int64_t n = 0; n < d; n++) dv[n] += pj * dc[n];
            }
        }
        for (int64_t j = 0; j < len; j++) {
            real dlogit = ph[j] * (dp_scratch[j] - dot), ds = dlogit * scale;
            if (dbias) dbias[hd * w + len - 1 - j] += dlogit;
            const real *k = FN(window_vec)(keys, lo + j) + o;
            real *dqh = dq + o;
#pragma omp simd
            for (int64_t n = 0; n < d; n++) dqh[n] += ds * k[n];
            real *dk = FN(window_gvec)(dkeys, lo + j);
            if (dk) {
                dk += o;
#pragma omp simd
                for (int64_t n = 0; n < d; n++) dk[n] += ds * qh[n];
            }
        }
    }
}

/* The attention block over a (B, T) call: q, k, v projections of the encodings u for every token,
 * per-head window attention per stream over the ring the state holds plus the call's own steps,
 * the rings updated with the call's last w keys and values, and z_0 = W_o ctx (+ u with the
 * residual path). Per stream the entropy of the last step goes into the state. */
static void FN(attention_forward)(const ssmn_layout *L, real *cache, real *state, const int64_t *steps,
                                  const real *prm, int64_t B, int64_t T, const FN(gemm_buf) *gb) {
    const int64_t H = L->H, w = L->w, R = L->n_cache, BT = B * T;
    const int64_t proj[3] = {L->W_q, L->W_k, L->W_v}, out[3] = {L->c_q, L->c_k, L->c_v};
    for (int p = 0; p < 3; p++)
        FN(dense_forward)(cache + out[p], R, cache + L->c_u, R, prm + proj[p], NULL, BT, H, H, DENSE_LINEAR,
                          gb);
    const real *abias = L->pos_bias ? prm + L->attn_bias : NULL;
    const int nts = FN(loop_threads)(gb, B, T * w * H);
    SSMN_FOR(nts, b, B, {
        real *st = state + b * L->n_state, *rec0 = cache + b * T * R;
        int64_t n0 = steps[b] < w ? steps[b] : w;
        FN(window_src) keys = {st + L->s_K, rec0 + L->c_k, R, n0, steps[b] - n0, w, H};
        FN(window_src) vals = {st + L->s_V, rec0 + L->c_v, R, n0, steps[b] - n0, w, H};
        for (int64_t t = 0; t < T; t++) {
            real *rec = rec0 + t * R;
            int64_t e = n0 + t, lo = e + 1 - w > 0 ? e + 1 - w : 0;
            real ent = FN(attn_forward)(rec + L->c_ctx, rec + L->c_p, rec + L->c_q, &keys, &vals, abias, lo,
                                        e - lo + 1, L->nh);
            if (t == T - 1) st[L->s_entropy] = ent;
        }
        for (int64_t t = T - w > 0 ? T - w : 0; t < T; t++) {
            int64_t slot = (steps[b] + t) % w;
            memcpy(st + L->s_K + slot * H, rec0 + t * R + L->c_k, (size_t)H * sizeof(real));
            memcpy(st + L->s_V + slot * H, rec0 + t * R + L->c_v, (size_t)H * sizeof(real));
        }
    });
    FN(dense_forward)(cache + L->c_z, R, cache + L->c_ctx, R, prm + L->W_o, NULL, BT, H, H, DENSE_LINEAR,
                      gb);
    if (L->residual) {
        const int nt = FN(loop_threads)(gb, BT, 4 * H);
        SSMN_FOR(nt, m, BT, {
            real *z0 = cache + m * R + L->c_z;
            const real *u = cache + m * R + L->c_u;
            for (int64_t n = 0; n < H; n++) z0[n] += u[n];
        });
    }
}

/* Backward of the attention block. dz0 (B*T, H) in: dL/dz_0; du (B*T, H) out: dL/du (may be the
 * same buffer as dz0); dctx, dQ, dK, dV (B*T, H) scratch; grad += the block's gradients (the
 * position bias's through each stream thread's own gradient, at Wo->grad of its block of tb when
 * tb->nt > 1; the attention scores' scratch at Wo->dp); dstate0 (B, n_state), when not NULL, +=
 * the gradients of the starting key/value rings. state0, steps0: the state the forward started from. */
static void FN(attention_backward)(const ssmn_layout *L, real *grad, real *dstate0, real *du,
                                   const real *dz0, real *dctx, real *dQ, real *dK, real *dV,
                                   const FN(thread_blocks) *tb, const ssmn_work *Wo,
                                   const real *cache, const real *state0, const int64_t *steps0,
                                   const real *prm, int64_t B, int64_t T, const FN(gemm_buf) *gb) {
    const int64_t H = L->H, w = L->w, R = L->n_cache, BT = B * T;
    FN(linear_backward)(dctx, H, 0, grad + L->W_o, NULL, dz0, H, cache + L->c_ctx, R, prm + L->W_o, BT, H,
                        H, gb);
    memset(dQ, 0, (size_t)(BT * H) * sizeof(real));
    memset(dK, 0, (size_t)(BT * H) * sizeof(real));
    memset(dV, 0, (size_t)(BT * H) * sizeof(real));
    const int nts = T * w * H * 2 >= GEMM_PAR_MACS ? tb->nt : 1;
    SSMN_FOR(nts, b, B, {
        real *blk = FN(thread_block)(tb, ssmn_tid), *dp = blk + Wo->dp;
        real *dbias = L->pos_bias ? (tb->nt > 1 ? blk + Wo->grad : grad) + L->attn_bias : NULL;
        const real *st = state0 + b * L->n_state, *rec0 = cache + b * T * R;
        real *dst = dstate0 ? dstate0 + b * L->n_state : NULL;
        int64_t n0 = steps0[b] < w ? steps0[b] : w, first = steps0[b] - n0;
        FN(window_src) keys = {st + L->s_K, rec0 + L->c_k, R, n0, first, w, H};
        FN(window_src) vals = {st + L->s_V, rec0 + L->c_v, R, n0, first, w, H};
        FN(window_grad) dkeys = {dst ? dst + L->s_K : NULL, dK + b * T * H, H, n0, first, w, H};
        FN(window_grad) dvals = {dst ? dst + L->s_V : NULL, dV + b * T * H, H, n0, first, w, H};
        for (int64_t t = 0; t < T; t++) {
            const real *rec = rec0 + t * R;
            int64_t e = n0 + t, lo = e + 1 - w > 0 ? e + 1 - w : 0;
            FN(attn_backward)(dQ + (b * T + t) * H, &dkeys, &dvals, dbias, dp, dctx + (b * T + t) * H,
                              rec + L->c_p, rec + L->c_q, &keys, &vals, lo, e - lo + 1, L->nh);
        }
    });
    /* du = dz0 (residual path) + the three projections' input gradients */
    if (L->residual && du != dz0) memcpy(du, dz0, (size_t)(BT * H) * sizeof(real));
    const real *dproj[3] = {dQ, dK, dV};
    const int64_t proj[3] = {L->W_q, L->W_k, L->W_v};
    for (int p = 0; p < 3; p++)
        FN(linear_backward)(du, H, p > 0 || L->residual, grad + proj[p], NULL, dproj[p], H, cache + L->c_u, R,
                            prm + proj[p], BT, H, H, gb);
}
