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

/* W (H,H) updated in place; r (H) out = W_new h; *sq_out (if not NULL) = sum of squared changes
 * (the "update magnitude" statistic, wanted only on a call's last step). Row sums go into lane
 * arrays (acc[l] for k = l mod GEMM_VL), reduced once per row, so the compiler emits plain vector
 * code instead of a horizontal reduction per element block. */
static void FN(hebb_forward)(real *restrict W, real *restrict r, const real *restrict h,
                             const real *restrict z, int64_t H, real eta, real keep, real c,
                             real *sq_out) {
    real sq = 0;
    for (int64_t i = 0; i < H; i++) {
        real *Wi = W + i * H, ehi = eta * h[i], acc[GEMM_VL] = {0}, dsq[GEMM_VL] = {0};
        int64_t k = 0;
        if (sq_out) {
            for (; k + GEMM_VL <= H; k += GEMM_VL)
                for (int l = 0; l < GEMM_VL; l++) {
                    real old = Wi[k + l], nw = FN(hebb_elem)(old, ehi, z[k + l], keep, c);
                    Wi[k + l] = nw;
                    acc[l] += nw * h[k + l];
                    dsq[l] += (nw - old) * (nw - old);
                }
        } else {
            for (; k + GEMM_VL <= H; k += GEMM_VL)
                for (int l = 0; l < GEMM_VL; l++) {
                    real nw = FN(hebb_elem)(Wi[k + l], ehi, z[k + l], keep, c);
                    Wi[k + l] = nw;
                    acc[l] += nw * h[k + l];
                }
        }
        real ri = 0;
        for (int l = 0; l < GEMM_VL; l++) {
            ri += acc[l];
            sq += dsq[l];
        }
        for (; k < H; k++) {
            real old = Wi[k], nw = FN(hebb_elem)(old, ehi, z[k], keep, c);
            Wi[k] = nw;
            ri += nw * h[k];
            sq += (nw - old) * (nw - old);
        }
        r[i] = ri;
    }
    if (sq_out) *sq_out = sq;
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
        real dri = dr[i], ehi = eta * h[i], acc[GEMM_VL] = {0}, tail = 0;
        int64_t k = 0;
        for (; k + GEMM_VL <= H; k += GEMM_VL)
            for (int l = 0; l < GEMM_VL; l++) {
                int64_t q = k + l;
                real pre = keep * Wi[q] + ehi * z[q];
                real wt = pre > c ? c : (pre < -c ? -c : pre);
                dh[q] += wt * dri;
                real g = (pre > -c && pre < c) ? Gi[q] + dri * h[q] : (real)0;
                acc[l] += g * z[q];
                dz[q] += ehi * g;
                Gi[q] = keep * g;
            }
        for (; k < H; k++) {
            real pre = keep * Wi[k] + ehi * z[k];
            real wt = pre > c ? c : (pre < -c ? -c : pre);
            dh[k] += wt * dri;
            real g = (pre > -c && pre < c) ? Gi[k] + dri * h[k] : (real)0;
            tail += g * z[k];
            dz[k] += ehi * g;
            Gi[k] = keep * g;
        }
        for (int l = 0; l < GEMM_VL; l++) tail += acc[l];
        dh[i] += eta * tail;
    }
}
