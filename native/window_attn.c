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

/* ctx (H) out; p (len) out: attention weights over extended positions lo..lo+len-1 (the last
 * one is the current step); q (H) in; bias (w) per offset from the current step, or NULL.
 * Returns the attention entropy. */
static real FN(attn_forward)(real *ctx, real *p, const real *q, const FN(window_src) *keys,
                             const FN(window_src) *vals, const real *bias, int64_t lo, int64_t len) {
    const int64_t H = keys->H;
    const real scale = (real)1 / R_SQRT((real)H);
    real mx = -(real)INFINITY;
    for (int64_t j = 0; j < len; j++) {
        real s = FN(dot)(q, FN(window_vec)(keys, lo + j), H) * scale;
        if (bias) s += bias[len - 1 - j];
        p[j] = s;
        if (s > mx) mx = s;
    }
    real sum = 0;
    for (int64_t j = 0; j < len; j++) {
        p[j] = R_EXP(p[j] - mx);
        sum += p[j];
    }
    real inv = (real)1 / sum, entropy = 0;
    for (int64_t d = 0; d < H; d++) ctx[d] = 0;
    for (int64_t j = 0; j < len; j++) {
        real pj = p[j] * inv;
        p[j] = pj;
        if (pj > 0) entropy -= pj * R_LOG(pj);
        const real *v = FN(window_vec)(vals, lo + j);
#pragma omp simd
        for (int64_t d = 0; d < H; d++) ctx[d] += pj * v[d];
    }
    return entropy;
}

/* Accumulates dq (H), the key/value gradients of the window and, when dbias is not NULL, the
 * gradient of the per-offset bias (w).
 * dk_of(e)/dv_of(e) are given by the two gradient sources (same layout as the forward sources,
 * writable); a NULL ring in a gradient source drops the gradient of the initial ring entries. */
typedef struct {
    real *ring;
    real *seq;
    int64_t seq_stride, n0, first_step, w, H;
} FN(window_grad);

static inline real *FN(window_gvec)(const FN(window_grad) *g, int64_t e) {
    if (e < g->n0) return g->ring ? g->ring + ((g->first_step + e) % g->w) * g->H : NULL;
    return g->seq + (e - g->n0) * g->seq_stride;
}

static void FN(attn_backward)(real *dq, const FN(window_grad) *dkeys, const FN(window_grad) *dvals,
                              real *dbias, real *dp_scratch, const real *dctx, const real *p,
                              const real *q, const FN(window_src) *keys, const FN(window_src) *vals,
                              int64_t lo, int64_t len) {
    const int64_t H = keys->H;
    const real scale = (real)1 / R_SQRT((real)H);
    real dot = 0;
    for (int64_t j = 0; j < len; j++) {
        real s = FN(dot)(dctx, FN(window_vec)(vals, lo + j), H);
        dp_scratch[j] = s;
        dot += p[j] * s;
        real *dv = FN(window_gvec)(dvals, lo + j);
        if (dv) {
            real pj = p[j];
#pragma omp simd
            for (int64_t d = 0; d < H; d++) dv[d] += pj * dctx[d];
        }
    }
    for (int64_t j = 0; j < len; j++) {
        real dlogit = p[j] * (dp_scratch[j] - dot), ds = dlogit * scale;
        if (dbias) dbias[len - 1 - j] += dlogit;
        const real *k = FN(window_vec)(keys, lo + j);
#pragma omp simd
        for (int64_t d = 0; d < H; d++) dq[d] += ds * k[d];
        real *dk = FN(window_gvec)(dkeys, lo + j);
        if (dk) {
#pragma omp simd
            for (int64_t d = 0; d < H; d++) dk[d] += ds * q[d];
        }
    }
}
