/* plastic.c - the fast-weight layer's plasticity rule, forward and backward (hebbian).
 *
 * Forward, one stream, one step:  W <- clip((1-lambda) W + eta h z^T, +-c);  r = W h.
 * Backward, one step: given dr = dL/dr and G = dL/dW_t from later steps, accumulates dh and dz,
 * and turns G into dL/dW_{t-1}. It needs W_{t-1}: the caller rebuilds it from checkpoints (see
 * cell.c), so no per-step copy of W is ever stored. Included by cell.c.
 */

static inline real FN(hebb_elem)(real w_old, real eta_hi, real zk, real keep, real c) {
    real v = keep * w_old + eta_hi * zk;
    return v > c ? c : (v < -c ? -c : v);
}

/* W (H,H) updated in place; r (H) out = W_new h; returns sum of squared changes. */
static real FN(hebb_forward)(real *restrict W, real *restrict r, const real *restrict h,
                             const real *restrict z, int64_t H, real eta, real keep, real c) {
    real sq = 0;
    for (int64_t i = 0; i < H; i++) {
        real *Wi = W + i * H, ehi = eta * h[i], ri = 0, sqi = 0;
#pragma omp simd reduction(+ : ri, sqi)
        for (int64_t k = 0; k < H; k++) {
            real old = Wi[k];
            real nw = FN(hebb_elem)(old, ehi, z[k], keep, c);
            Wi[k] = nw;
            ri += nw * h[k];
            sqi += (nw - old) * (nw - old);
        }
        r[i] = ri;
        sq += sqi;
    }
    return sq;
}

/* W (H,H) updated in place, no read-out: used to rebuild W_t from a checkpoint. */
static void FN(hebb_advance)(real *restrict W, const real *restrict h, const real *restrict z,
                             int64_t H, real eta, real keep, real c) {
    for (int64_t i = 0; i < H; i++) {
        real *Wi = W + i * H, ehi = eta * h[i];
#pragma omp simd
        for (int64_t k = 0; k < H; k++) Wi[k] = FN(hebb_elem)(Wi[k], ehi, z[k], keep, c);
    }
}

/* dh (H) +=, dz (H) +=, G (H,H) in: dL/dW_t, out: dL/dW_{t-1}.
 * Wprev (H,H) = W_{t-1}; h, z the step's post and pre; dr (H) = dL/dr. */
static void FN(hebb_backward)(real *restrict dh, real *restrict dz, real *restrict G,
                              const real *restrict Wprev, const real *restrict h,
                              const real *restrict z, const real *restrict dr, int64_t H, real eta,
                              real keep, real c) {
    for (int64_t i = 0; i < H; i++) {
        const real *Wi = Wprev + i * H;
        real *Gi = G + i * H;
        real hi = h[i], dri = dr[i], ehi = eta * hi, eta_hi_dz = eta * hi, acc = 0;
#pragma omp simd reduction(+ : acc)
        for (int64_t k = 0; k < H; k++) {
            real pre = keep * Wi[k] + ehi * z[k];
            real wt = pre > c ? c : (pre < -c ? -c : pre);
            dh[k] += wt * dri;
            real g = (pre > -c && pre < c) ? Gi[k] + dri * h[k] : (real)0;
            acc += g * z[k];
            dz[k] += eta_hi_dz * g;
            Gi[k] = keep * g;
        }
        dh[i] += eta * acc;
    }
}
