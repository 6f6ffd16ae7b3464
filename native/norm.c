/* norm.c - layer and RMS normalisation of rows, forward and backward (Ba et al. 2016; Zhang &
 * Sennrich 2019), the pre-norm in front of the static and plastic layers.
 *
 * Per row x (H): xhat = (x - mu) r with r = 1 / sqrt(mean((x - mu)^2) + eps), mu = mean(x) for
 * layer norm and 0 for RMS norm; y = gain * xhat (+ bias for layer norm). The forward keeps y,
 * xhat and r in the cache record; the backward needs nothing else. norm_record and
 * norm_record_backward apply norm k of the layout (static layers, then plastic) to one cache
 * record. Included by cell.c.
 */
#define SSMN_NORM_EPS 1e-5

/* y (H) out, xhat (H) out, *r out; x (H) in; gain (H); bias (H) or NULL; center: layer norm. */
static void FN(norm_forward)(real *y, real *xhat, real *r, const real *x, const real *gain,
                             const real *bias, int64_t H, int center) {
    real mu = 0, ss = 0;
    if (center) {
        for (int64_t n = 0; n < H; n++) mu += x[n];
        mu /= (real)H;
    }
    for (int64_t n = 0; n < H; n++) {
        real d = x[n] - mu;
        ss += d * d;
    }
    real rs = (real)1 / R_SQRT(ss / (real)H + (real)SSMN_NORM_EPS);
    *r = rs;
    for (int64_t n = 0; n < H; n++) {
        xhat[n] = (x[n] - mu) * rs;
        y[n] = gain[n] * xhat[n] + (bias ? bias[n] : 0);
    }
}

/* dx (H) = dL/dx (written, not accumulated; may not alias dy); dgain (H) +=, dbias (H) += (when
 * not NULL); dy (H) = dL/dy; xhat (H), r and gain from the forward. */
static void FN(norm_backward)(real *dx, real *dgain, real *dbias, const real *dy, const real *xhat,
                              real r, const real *gain, int64_t H, int center) {
    real m1 = 0, m2 = 0;
    for (int64_t n = 0; n < H; n++) {
        real dxh = dy[n] * gain[n];
        dgain[n] += dy[n] * xhat[n];
        if (dbias) dbias[n] += dy[n];
        m1 += dxh;
        m2 += dxh * xhat[n];
    }
    m1 = center ? m1 / (real)H : 0;
    m2 /= (real)H;
    for (int64_t n = 0; n < H; n++) dx[n] = r * (dy[n] * gain[n] - m1 - xhat[n] * m2);
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

/* norm_record over the BT records of a call, split over rows. */
static void FN(norm_rows_forward)(const ssmn_layout *L, real *cache, int64_t k, int64_t src, const real *prm,
                                  int64_t BT, const FN(gemm_buf) *gb) {
    const int64_t R = L->n_cache;
    const int nt = FN(loop_threads)(gb, BT, 16 * L->H);
    SSMN_FOR(nt, m, BT, FN(norm_record)(L, cache + m * R, k, src, prm););
}

/* norm_record_backward over the BT records of a call: dx (BT, H) = dL/draw inputs from dy (BT, H)
 * (dx may not alias dy). The input gradients are split over rows; the gain and bias gradients
 * over columns, each summed over the rows in order (so as on one thread). */
static void FN(norm_rows_backward)(const ssmn_layout *L, real *dx, real *grad, const real *dy, const real *cache,
                                   int64_t k, const real *prm, int64_t BT, const FN(gemm_buf) *gb) {
    const int64_t H = L->H, R = L->n_cache, center = L->norm == 2;
    const real *gain = prm + SSMN_NORM_G(L, k);
    const int nt = FN(loop_threads)(gb, BT, 16 * H);
    SSMN_FOR(nt, m, BT, {
        const real *nr = cache + m * R + SSMN_C_NRM(L, k), *xhat = nr + H, *d = dy + m * H;
        real m1 = 0, m2 = 0, r = nr[2 * H];
        for (int64_t n = 0; n < H; n++) {
            real dxh = d[n] * gain[n];
            m1 += dxh;
            m2 += dxh * xhat[n];
        }
        m1 = center ? m1 / (real)H : 0;
        m2 /= (real)H;
        real *o = dx + m * H;
        for (int64_t n = 0; n < H; n++) o[n] = r * (d[n] * gain[n] - m1 - xhat[n] * m2);
    });
    real *dgain = grad + SSMN_NORM_G(L, k), *dbias = center ? grad + SSMN_NORM_B(L, k) : NULL;
    /* one column range per thread, each pass over the rows in order (a column's sum has the
     * one-thread order); one range on one thread, so the records are read once */
    const int ntc = nt < (H + 15) / 16 ? nt : (int)((H + 15) / 16);
    const int64_t width = (H + ntc - 1) / ntc;
    SSMN_FOR(ntc, part, ntc, {
        const int64_t n0 = part * width, n1 = n0 + width < H ? n0 + width : H;
        for (int64_t m = 0; m < BT; m++) {
            const real *xhat = cache + m * R + SSMN_C_NRM(L, k) + H, *d = dy + m * H;
            for (int64_t n = n0; n < n1; n++) dgain[n] += d[n] * xhat[n];
            if (dbias)
                for (int64_t n = n0; n < n1; n++) dbias[n] += d[n];
        }
    });
}
