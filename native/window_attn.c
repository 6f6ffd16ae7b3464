/* window_attn.c - sliding-window attention over cached keys and values, forward and backward.
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
