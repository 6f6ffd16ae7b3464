/* plastic_chunk.c - the plastic layers chunkwise: the fast-weight recurrence over chunks of steps
 * as matrix products (Yang et al. 2024, "Parallelizing Linear Transformers with the Delta Rule
 * over Sequence Length"; gated linear attention), for the rules whose update is linear in W_f.
 *
 * It applies to the hebbian and delta rules without the clip and with one read per step
 * (chat_steps = 1). Per head, post h = relu(P norm(z) + c), pre z = norm(z), keep k_t =
 * 1 - lambda_t, write strength e_t = eta_t, read r_t = W_t h_t, and the update
 *   W_t = k_t W_{t-1} + e_t v_t kk_t^T
 * with, for the hebbian rule, value v = h and key kk = z; for the delta rule (W_t = k_t W_{t-1} +
 * e_t (h_t - W_{t-1} k_t) k_t^T, k = z / sqrt(|z|^2 + eps)) key kk = k and value v_t = u_t =
 * h_t - W_{t-1} k_t, the error the step writes. Over a chunk of n steps starting from W (all
 * indices local to the chunk):
 *   D[t][s] = k_{s+1} ... k_t (s <= t),  A[t] = k_0 ... k_t,  c_s = D[n-1][s] e_s
 *   r_t = A[t] W h_t + sum_{s <= t} D[t][s] e_s (h_t . kk_s) v_s       R = diag(A) Q W^T + M V
 *   W'  = A[n-1] W + sum_s c_s v_s kk_s^T                              W' = A[n-1] W + V^T diag(c) KK
 * with Q = (h_t) (n, d), S = Q KK^T and M = D o e o S (lower triangle). The delta rule's values
 * come from one triangular solve per chunk (the UT form of its products of I - e k k^T):
 *   (I + L) U = Q - diag(A[t-1]) K W^T,   L[t][s] = D[t-1][s] e_s (k_t . k_s) for s < t
 * (A[-1] = 1), since W_{t-1} = A[t-1] W + sum_{s < t} D[t-1][s] e_s u_s k_s^T.
 * The per-step path (plastic.c) stays the reference and the path of every other rule; both give
 * the same values up to rounding (tests/test_chunkwise.py). The decays are products, never
 * ratios, so a keep of 0 is exact. One stream's layers run layer by layer (a layer's input does
 * not depend on a later layer), in chunks of K = ceil(sqrt(T)) steps, at least SSMN_CHUNK_MIN_LEN
 * (or T; ssmn_segment_len): the chunk starts are the checkpoints of the call's backward, so the
 * training memory stays O(sqrt(T) H^2) per stream.
 * Included by cell.c after plastic.c.
 */

/* Where the chunkwise path works: the thread's ssmn_chunk block. */
typedef struct {
    real *D, *S, *M, *Pm, *E, *Z, *e, *kp, *A, *c, *de, *dk, *a, *X, *dR, *dh, *dz, *tmp, *PG, *AQ;
    real *KK, *Lm, *Y, *nrm, *Kn, *U, *WK, *dU, *dK; /* the delta rule's */
    FN(gemm_buf) gb; /* its own pack, on the calling thread */
} FN(chunk_buf);

static FN(chunk_buf) FN(chunk_buf_at)(real *blk, const ssmn_chunk *C) {
    FN(chunk_buf) b = {blk + C->D, blk + C->S, blk + C->M, blk + C->Pm, blk + C->E, blk + C->Z, blk + C->e,
                       blk + C->kp, blk + C->A, blk + C->c, blk + C->de, blk + C->dk, blk + C->a, blk + C->X,
                       blk + C->dR, blk + C->dh, blk + C->dz, blk + C->tmp, blk + C->PG, blk + C->AQ,
                       blk + C->KK, blk + C->Lm, blk + C->Y, blk + C->nrm, blk + C->Kn, blk + C->U,
                       blk + C->WK, blk + C->dU, blk + C->dK, {blk + C->pack, 1}};
    return b;
}

/* Head hd of plastic layer j over the n steps of records rec0: e, kp (n) from the gates (or the
 * fixed rates), A (n), D (n, n; lower triangle, 1 on the diagonal), c (n). */
static void FN(chunk_decays)(const ssmn_layout *L, const FN(rule_ctx) *rx, const real *rec0, int64_t j,
                             int64_t hd, int64_t n, const FN(chunk_buf) *cb) {
    const int64_t R = L->n_cache;
    for (int64_t t = 0; t < n; t++) {
        FN(rule_ctx) x = FN(gated_ctx)(L, rx, rec0 + t * R, j, hd);
        cb->e[t] = x.eta;
        cb->kp[t] = x.keep;
        cb->A[t] = t ? cb->A[t - 1] * x.keep : x.keep;
    }
    for (int64_t t = 0; t < n; t++) {
        real *Dt = cb->D + t * n;
        Dt[t] = 1;
        for (int64_t s = t - 1; s >= 0; s--) Dt[s] = Dt[s + 1] * cb->kp[s + 1];
    }
    for (int64_t s = 0; s < n; s++) cb->c[s] = cb->D[(n - 1) * n + s] * cb->e[s];
}

/* out (n, n) = D o e o X: X's lower triangle decayed and scaled by the write strengths, zero above. */
static void FN(chunk_decayed)(real *out, const real *X, int64_t n, const FN(chunk_buf) *cb) {
    for (int64_t t = 0; t < n; t++)
        for (int64_t s = 0; s < n; s++) out[t * n + s] = s <= t ? cb->D[t * n + s] * cb->e[s] * X[t * n + s] : 0;
}

/* The rows a chunk writes with: values V (ld ldv) and keys KK (ld ldk), W_t = k_t W_{t-1} +
 * e_t v_t kk_t^T. */
typedef struct {
    const real *V, *KK;
    int64_t ldv, ldk;
} FN(chunk_rows);

/* The write rows of head rows Q, Zr (ld R) over a chunk from memory W (d, d), after chunk_decays:
 * the records themselves for the hebbian rule; for the delta rule the keys cb->Kn (norms cb->nrm),
 * their products cb->KK, L (cb->Lm), cb->WK = K W^T and the values cb->U solved row by row. */
static FN(chunk_rows) FN(chunk_write_rows)(const FN(rule_ctx) *rx, const real *Q, const real *Zr, int64_t R,
                                           const real *W, int64_t n, int64_t d, const FN(chunk_buf) *cb) {
    FN(chunk_rows) w = {Q, Zr, R, R};
    if (rx->cfg->rule != SSMN_RULE_DELTA) return w;
    for (int64_t t = 0; t < n; t++) cb->nrm[t] = FN(delta_key)(rx, cb->Kn + t * d, Zr + t * R, d);
    FN(gemm)(0, 1, n, n, d, cb->Kn, d, cb->Kn, d, 0, cb->KK, n, &cb->gb);
    for (int64_t t = 0; t < n; t++)
        for (int64_t s = 0; s < n; s++)
            cb->Lm[t * n + s] = s < t ? cb->D[(t - 1) * n + s] * cb->e[s] * cb->KK[t * n + s] : 0;
    FN(gemm)(0, 1, n, d, d, cb->Kn, d, W, d, 0, cb->WK, d, &cb->gb); /* W k_t */
    for (int64_t t = 0; t < n; t++) {
        const real ap = t ? cb->A[t - 1] : 1;
        real *u = cb->U + t * d;
        for (int64_t i = 0; i < d; i++) u[i] = Q[t * R + i] - ap * cb->WK[t * d + i];
        for (int64_t s = 0; s < t; s++) {
            const real l = cb->Lm[t * n + s], *us = cb->U + s * d;
#pragma omp simd
            for (int64_t i = 0; i < d; i++) u[i] -= l * us[i];
        }
    }
    w.V = cb->U;
    w.KK = cb->Kn;
    w.ldv = w.ldk = d;
    return w;
}

/* S = Q KK^T and M = D o e o S for head hd's query rows Q (ld R) and key rows w. */
static void FN(chunk_scores)(const real *Q, int64_t R, const FN(chunk_rows) *w, int64_t n, int64_t d,
                             const FN(chunk_buf) *cb) {
    FN(gemm)(0, 1, n, n, d, Q, R, w->KK, w->ldk, 0, cb->S, n, &cb->gb);
    FN(chunk_decayed)(cb->M, cb->S, n, cb);
}

/* W (d, d) <- A[n-1] W + V^T diag(c) KK: the memory after the chunk. */
static void FN(chunk_advance)(real *W, const FN(chunk_rows) *w, int64_t n, int64_t d, const FN(chunk_buf) *cb) {
    const real an = cb->A[n - 1];
    for (int64_t i = 0; i < d * d; i++) W[i] *= an;
    for (int64_t s = 0; s < n; s++)
        for (int64_t k = 0; k < d; k++) cb->tmp[s * d + k] = cb->c[s] * w->KK[s * w->ldk + k];
    FN(gemm)(1, 0, d, d, n, w->V, w->ldv, cb->tmp, d, 1, W, d, &cb->gb);
}

/* Steps 0..n-1 of records rec0 through plastic layer j's memory W (WF): each record's first tanh
 * slot gets r_t = W_t h_t (before the tanh) and W becomes the memory after step n-1. With
 * read = 0 only W advances (the backward's replay of the checkpoints). */
static void FN(chunk_forward)(const ssmn_layout *L, const FN(rule_ctx) *rx, real *rec0, int64_t j, real *W,
                              int64_t n, int read, const FN(chunk_buf) *cb) {
    const int64_t R = L->n_cache, d = L->dh;
    for (int64_t hd = 0; hd < L->nh; hd++) {
        real *Wh = W + hd * d * d;
        const real *Q = rec0 + SSMN_C_H(L, j) + hd * d, *Zr = rec0 + SSMN_C_ZIN(L, j) + hd * d;
        FN(chunk_decays)(L, rx, rec0, j, hd, n, cb);
        const FN(chunk_rows) w = FN(chunk_write_rows)(rx, Q, Zr, R, Wh, n, d, cb);
        if (read) {
            real *out = rec0 + SSMN_C_TR(L, j, 0) + hd * d;
            FN(chunk_scores)(Q, R, &w, n, d, cb);
            FN(gemm)(0, 1, n, d, d, Q, R, Wh, d, 0, out, R, &cb->gb); /* Q W^T */
            for (int64_t t = 0; t < n; t++)
                for (int64_t i = 0; i < d; i++) out[t * R + i] *= cb->A[t];
            FN(gemm)(0, 0, n, d, n, cb->M, n, w.V, w.ldv, 1, out, R, &cb->gb); /* + M V */
        }
        FN(chunk_advance)(Wh, &w, n, d, cb);
    }
}

/* The delta rule's part of chunk_backward for head rows Q (ld R) from memory W (d, d), after
 * chunk_write_rows: cb->dU (n, d) in dL/du, out g = (I + L)^-T dL/du; dh (ld H) += g (the u_t's
 * h_t); cb->dK += the keys' gradients through L and W k_t; the gates' terms into cb->Z (L's row t
 * holds D[t-1][s] e_s, so it adds to row t - 1) and, with learned decay, cb->a (A[t-1] in row t). */
static void FN(chunk_delta_backward)(const ssmn_layout *L, real *dh, const real *W, int64_t n, int64_t d,
                                     const FN(chunk_buf) *cb) {
    const int64_t H = L->H;
    real *g = cb->dU, *Y = cb->Y;
    for (int64_t s = n - 1; s >= 0; s--) {
        real *gs = g + s * d;
        for (int64_t t = s + 1; t < n; t++) {
            const real l = cb->Lm[t * n + s], *gt = g + t * d;
#pragma omp simd
            for (int64_t i = 0; i < d; i++) gs[i] -= l * gt[i];
        }
    }
    for (int64_t t = 0; t < n; t++)
        for (int64_t i = 0; i < d; i++) dh[t * H + i] += g[t * d + i];
    FN(gemm)(0, 1, n, n, d, g, d, cb->U, d, 0, Y, n, &cb->gb); /* dL/dL[t][s] = -g_t . u_s */
    if (SSMN_HAS_GATES(L))
        for (int64_t t = 1; t < n; t++)
            for (int64_t s = 0; s < t; s++) cb->Z[(t - 1) * n + s] -= Y[t * n + s] * cb->KK[t * n + s];
    if (L->learned_decay)
        for (int64_t t = 1; t < n; t++) cb->a[t - 1] -= FN(dot)(g + t * d, cb->WK + t * d, d);
    for (int64_t t = 0; t < n; t++) /* dL/d(k_t . k_s) */
        for (int64_t s = 0; s < n; s++) Y[t * n + s] = s < t ? -Y[t * n + s] * cb->D[(t - 1) * n + s] * cb->e[s] : 0;
    FN(gemm)(0, 0, n, d, n, Y, n, cb->Kn, d, 1, cb->dK, d, &cb->gb);
    FN(gemm)(1, 0, n, d, n, Y, n, cb->Kn, d, 1, cb->dK, d, &cb->gb);
    FN(gemm)(0, 0, n, d, d, g, d, W, d, 0, cb->tmp, d, &cb->gb); /* W^T g_t */
    for (int64_t t = 0; t < n; t++) {
        const real ap = t ? cb->A[t - 1] : 1;
        for (int64_t i = 0; i < d; i++) cb->dK[t * d + i] -= ap * cb->tmp[t * d + i];
    }
}

/* Backward of chunk_forward for plastic layer j over the n steps of records rec0, from the memory
 * Wprev (WF) before the chunk: cb->dR (n, H) = dL/dr_t; cb->dh, cb->dz (n, H) += dL/dh_t, dL/dz_t
 * (the gates' input gradients included); G (WF) in dL/d(memory after the chunk), out dL/dWprev;
 * the gates' parameter gradients into grad. */
static void FN(chunk_backward)(const ssmn_layout *L, const ssmn_config *cfg, const FN(rule_ctx) *rx, real *grad,
                               const real *rec0, int64_t j, real *G, const real *Wprev, int64_t n, const real *prm,
                               const FN(chunk_buf) *cb) {
    const int64_t R = L->n_cache, H = L->H, d = L->dh, dd = d * d;
    const int delta = cfg->rule == SSMN_RULE_DELTA;
    const FN(gemm_buf) *gb = &cb->gb;
    for (int64_t hd = 0; hd < L->nh; hd++) {
        const real *Wh = Wprev + hd * dd, *Q = rec0 + SSMN_C_H(L, j) + hd * d;
        const real *Zr = rec0 + SSMN_C_ZIN(L, j) + hd * d, *dR = cb->dR + hd * d;
        real *Gh = G + hd * dd, *dh = cb->dh + hd * d, *dz = cb->dz + hd * d;
        FN(chunk_decays)(L, rx, rec0, j, hd, n, cb);
        const FN(chunk_rows) w = FN(chunk_write_rows)(rx, Q, Zr, R, Wh, n, d, cb);
        /* where the values' and keys' gradients go: h and z themselves (hebbian), or the delta
         * rule's u and k, taken back through its solve and its key norm below */
        real *dV = delta ? cb->dU : dh, *dKK = delta ? cb->dK : dz;
        const int64_t ldg = delta ? d : H; /* of dV and dKK */
        if (delta) memset(cb->dK, 0, (size_t)(n * d) * sizeof(real));
        FN(chunk_scores)(Q, R, &w, n, d, cb);
        FN(gemm)(0, 1, n, n, d, dR, H, w.V, w.ldv, 0, cb->Pm, n, gb); /* Pm[t][s] = dr_t . v_s */
        FN(chunk_decayed)(cb->E, cb->Pm, n, cb);
        /* dL/dh_t as the query: A[t] W^T dr_t + sum_s E[t][s] kk_s */
        FN(gemm)(0, 0, n, d, d, dR, H, Wh, d, 0, cb->tmp, d, gb);
        for (int64_t t = 0; t < n; t++)
            for (int64_t i = 0; i < d; i++) dh[t * H + i] += cb->A[t] * cb->tmp[t * d + i];
        FN(gemm)(0, 0, n, d, n, cb->E, n, w.KK, w.ldk, 1, dh, H, gb);
        /* dL/dv_s: sum_t M[t][s] dr_t + c_s G kk_s */
        FN(gemm)(1, 0, n, d, n, cb->M, n, dR, H, !delta, dV, ldg, gb);
        FN(gemm)(0, 1, n, d, d, w.KK, w.ldk, Gh, d, 0, cb->tmp, d, gb);
        for (int64_t s = 0; s < n; s++)
            for (int64_t i = 0; i < d; i++) dV[s * ldg + i] += cb->c[s] * cb->tmp[s * d + i];
        /* dL/dkk_s: sum_t E[t][s] h_t + c_s G^T v_s */
        FN(gemm)(1, 0, n, d, n, cb->E, n, Q, R, 1, dKK, ldg, gb);
        FN(gemm)(0, 0, n, d, d, w.V, w.ldv, Gh, d, 0, cb->PG, d, gb);
        for (int64_t s = 0; s < n; s++)
            for (int64_t i = 0; i < d; i++) dKK[s * ldg + i] += cb->c[s] * cb->PG[s * d + i];
        if (SSMN_HAS_GATES(L)) {
            /* Z[t][s] = dL/d(D[t][s] e_s) = S[t][s] Pm[t][s]; the last row also gets the new
             * memory's term v_s^T G kk_s (c_s = D[n-1][s] e_s) */
            for (int64_t t = 0; t < n; t++)
                for (int64_t s = 0; s < n; s++) cb->Z[t * n + s] = s <= t ? cb->S[t * n + s] * cb->Pm[t * n + s] : 0;
            for (int64_t s = 0; s < n; s++) cb->Z[(n - 1) * n + s] += FN(dot)(cb->PG + s * d, w.KK + s * w.ldk, d);
            if (L->learned_decay) { /* a_t = dL/dA[t]: dr_t . (W h_t), the last with <G, W> */
                FN(gemm)(0, 1, n, d, d, Q, R, Wh, d, 0, cb->X, d, gb);
                for (int64_t t = 0; t < n; t++) cb->a[t] = FN(dot)(dR + t * H, cb->X + t * d, d);
                cb->a[n - 1] += FN(dot)(Gh, Wh, dd);
            }
        }
        if (delta) FN(chunk_delta_backward)(L, dh, Wh, n, d, cb);
        if (SSMN_HAS_GATES(L)) {
            for (int64_t s = 0; s < n; s++) { /* dL/de_s */
                real acc = 0;
                for (int64_t t = s; t < n; t++) acc += cb->D[t * n + s] * cb->Z[t * n + s];
                cb->de[s] = acc;
            }
            for (int64_t t = 0; t < n; t++) cb->dk[t] = 0;
            if (L->learned_decay) {
                /* dL/dk_u sums every product holding k_u, without dividing by it: for each t,
                 * acc runs over u the terms s < u of row t times D[u-1][s] */
                for (int64_t t = 0; t < n; t++) {
                    real acc = cb->a[t];
                    for (int64_t u = 0; u <= t; u++) {
                        cb->dk[u] += acc * cb->D[t * n + u];
                        acc = acc * cb->kp[u] + cb->e[u] * cb->Z[t * n + u];
                    }
                }
            }
        }
        if (delta) /* through k = z / sqrt(|z|^2 + eps) */
            for (int64_t t = 0; t < n; t++)
                FN(delta_key_backward)(dz + t * H, cb->Kn + t * d, cb->dK + t * d, cb->nrm[t], d);
        if (SSMN_HAS_GATES(L))
            for (int64_t t = 0; t < n; t++) /* lambda_t = 1 - k_t */
                FN(gates_backward)(L, cfg, grad, cb->dz + t * H, rec0 + t * R, j, hd, rec0 + t * R + SSMN_C_ZIN(L, j),
                                   prm, cb->de[t], -cb->dk[t]);
        /* G <- A[n-1] G + dR^T diag(A) Q (- g^T diag(A[t-1]) K for the delta rule's W k_t) */
        for (int64_t t = 0; t < n; t++)
            for (int64_t i = 0; i < d; i++) cb->AQ[t * d + i] = cb->A[t] * Q[t * R + i];
        const real an = cb->A[n - 1];
        for (int64_t i = 0; i < dd; i++) Gh[i] *= an;
        FN(gemm)(1, 0, d, d, n, dR, H, cb->AQ, d, 1, Gh, d, gb);
        if (delta) {
            for (int64_t t = 0; t < n; t++) {
                const real ap = t ? cb->A[t - 1] : 1;
                for (int64_t i = 0; i < d; i++) cb->AQ[t * d + i] = -ap * cb->Kn[t * d + i];
            }
            FN(gemm)(1, 0, d, d, n, cb->dU, d, cb->AQ, d, 1, Gh, d, gb);
        }
    }
}

/* plastic_stream_forward, chunkwise: layer by layer, the chunks of K steps before the last step,
 * then the last step by the per-step path (which also gives the update RMS). */
static int FN(plastic_stream_forward_chunked)(const ssmn_layout *L, const ssmn_config *cfg, const FN(rule_ctx) *rx,
                                              real *rec0, real *st, real *ckpt, const real *prm, int64_t T,
                                              real *row, real *before, real *cblk, const ssmn_chunk *Ch) {
    const int64_t P = L->P, R = L->n_cache, WF = L->WF, K = ssmn_segment_len(L, T);
    const FN(chunk_buf) cbuf = FN(chunk_buf_at)(cblk, Ch), *cb = &cbuf;
    for (int64_t j = 0; j < P; j++) {
        real *Wf = st + L->s_Wf + j * WF;
        for (int64_t t = 0; t < T; t++) FN(layer_input)(L, cfg, rec0 + t * R, j, prm);
        for (int64_t t0 = 0; t0 < T; t0 += K) {
            if (ckpt) memcpy(ckpt + (t0 / K) * P * WF + j * WF, Wf, (size_t)WF * sizeof(real));
            int64_t n = t0 + K < T - 1 ? K : T - 1 - t0;
            if (n > 0) FN(chunk_forward)(L, rx, rec0 + t0 * R, j, Wf, n, 1, cb);
        }
        real *rec = rec0 + (T - 1) * R, sq = 0;
        int rc = FN(memory_forward)(L, rx, rec, j, Wf, rec + SSMN_C_TR(L, j, 0), rec + SSMN_C_H(L, j),
                                    rec + SSMN_C_ZIN(L, j), row, before, &sq);
        if (rc) return rc;
        st[L->s_rms + j] = R_SQRT(sq / (real)WF);
        for (int64_t t = 0; t < T; t++) FN(layer_output)(L, cfg, rec0 + t * R, j, Wf);
    }
    return SSMN_OK;
}

/* plastic_stream_backward, chunkwise: layer by layer from the last, chunks from the last. gz
 * (T, H): in dL/d(the last plastic layer's output), used for each lower layer's output gradient.
 * The checkpoints: the training forward's (fck) or replayed chunkwise from Wf0 into wk->ckpt. */
static void FN(plastic_stream_backward_chunked)(const ssmn_layout *L, const ssmn_config *cfg, const FN(rule_ctx) *rx,
                                                real *grad, real *dWf0, real *dz_out, real *gz,
                                                const FN(plastic_work) *wk, const real *rec0, const real *Wf0,
                                                const real *fck, const real *prm, int64_t b, int64_t B, int64_t T,
                                                real *cblk, const ssmn_chunk *Ch) {
    const int64_t H = L->H, P = L->P, R = L->n_cache, WF = L->WF, PWF = P * WF, K = wk->K, nseg = wk->nseg;
    const FN(chunk_buf) cbuf = FN(chunk_buf_at)(cblk, Ch), *cb = &cbuf;
    const real alpha = (real)cfg->alpha;
    const real *cks = fck;
    if (!fck) {
        real *run = wk->G; /* free until the backward starts */
        for (int64_t j = 0; j < P; j++) {
            memcpy(run, Wf0 + j * WF, (size_t)WF * sizeof(real));
            for (int64_t s = 0; s < nseg; s++) {
                memcpy(wk->ckpt + s * PWF + j * WF, run, (size_t)WF * sizeof(real));
                int64_t t0 = s * K, n = t0 + K < T ? K : T - t0;
                if (s < nseg - 1) FN(chunk_forward)(L, rx, (real *)rec0 + t0 * R, j, run, n, 0, cb);
            }
        }
        cks = wk->ckpt;
    }
    for (int64_t j = P - 1; j >= 0; j--) {
        real *G = wk->G + j * WF;
        memset(G, 0, (size_t)WF * sizeof(real));
        for (int64_t s = nseg - 1; s >= 0; s--) {
            const int64_t t0 = s * K, n = t0 + K < T ? K : T - t0;
            const real *rc0 = rec0 + t0 * R;
            for (int64_t i = 0; i < n; i++) {
                const real *g = gz + (t0 + i) * H, *tr = rc0 + i * R + SSMN_C_TR(L, j, 0);
                real *dr = cb->dR + i * H;
                for (int64_t m = 0; m < H; m++) dr[m] = alpha * (1 - tr[m] * tr[m]) * g[m];
                memcpy(cb->dh + i * H, g, (size_t)H * sizeof(real));
                memset(cb->dz + i * H, 0, (size_t)H * sizeof(real));
            }
            FN(chunk_backward)(L, cfg, rx, grad, rc0, j, G, cks + s * PWF + j * WF, n, prm, cb);
            for (int64_t i = n - 1; i >= 0; i--) {
                const int64_t t = t0 + i;
                FN(layer_input_backward)(L, grad, wk->gz, cb->dz + i * H, dz_out + t * H, wk->dPre, cb->dh + i * H,
                                         rc0 + i * R, j, b * T + t, B * T, prm);
                if (j > 0) memcpy(gz + t * H, wk->gz, (size_t)H * sizeof(real));
            }
        }
        if (dWf0) memcpy(dWf0 + j * WF, G, (size_t)WF * sizeof(real));
    }
}
