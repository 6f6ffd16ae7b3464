/* plastic_lockstep.c - the plastic layers with an external rule (a plugin's compiled C, or a NumPy
 * rule called back through cffi): the B streams of a call run in lock-step, their fast weights
 * gathered side by side, so the rule is called once per step and layer with every stream and
 * head at once (n = B nh blocks: W (n, dh, dh), pre/post (n, dh), rates eta/decay (n)). The
 * backward pass replays the updates from the starting memories with a checkpoint every K steps,
 * as for one stream but for all B side by side (O(B sqrt(T) P WF) floats), and calls the vjp once
 * per step and layer. External rules run on the calling thread. Included by cell.c after
 * plastic.c, whose per-layer helpers it uses and whose dispatchers call it.
 */

/* The rates eta_t, lambda_t (nh each) of plastic layer j's memory blocks at cache record rec. */
static void FN(block_rates)(const ssmn_layout *L, const FN(rule_ctx) *base, const real *rec, int64_t j,
                            real *eta, real *decay) {
    for (int64_t hd = 0; hd < L->nh; hd++) {
        FN(rule_ctx) x = FN(gated_ctx)(L, base, rec, j, hd);
        eta[hd] = x.eta;
        decay[hd] = x.decay;
    }
}

/* The nb lock-step streams' vectors of plastic layer j at one step, side by side: pre (nb, H) =
 * each stream's layer input, post (nb, H) = its h, the block rates eta, decay (nb, nh). rec: stream
 * 0's record of the step, stream b's at rec + b stride. */
static void FN(lockstep_vectors)(const ssmn_layout *L, const FN(rule_ctx) *base, const real *rec, int64_t stride,
                                 int64_t j, int64_t nb, real *pre, real *post, real *eta, real *decay) {
    const int64_t H = L->H;
    for (int64_t b = 0; b < nb; b++) {
        const real *rb = rec + b * stride;
        memcpy(pre + b * H, rb + SSMN_C_ZIN(L, j), (size_t)H * sizeof(real));
        memcpy(post + b * H, rb + SSMN_C_H(L, j), (size_t)H * sizeof(real));
        FN(block_rates)(L, base, rb, j, eta + b * L->nh, decay + b * L->nh);
    }
}

/* Wdst (nb, WF) = the external rule applied to Wsrc (may alias) by one call over its nb nh blocks,
 * clipped when do_clip; a failed call or a NaN/inf result gives SSMN_ERR_CALLBACK. */
static int FN(ext_apply)(const ssmn_layout *L, const ssmn_config *cfg, real *Wdst, const real *Wsrc,
                         const real *pre, const real *post, const real *eta, const real *decay, int64_t nb,
                         int do_clip) {
    const int64_t size = nb * L->WF;
    const real c = (real)cfg->clip;
    if (Wdst != Wsrc) memcpy(Wdst, Wsrc, (size_t)size * sizeof(real));
    if (((FN(ext_update_fn))cfg->rule_update)(cfg->rule_ctx, Wdst, pre, post, eta, decay, nb * L->nh, L->dh))
        return SSMN_ERR_CALLBACK;
    for (int64_t i = 0; i < size; i++) {
        if (!isfinite(Wdst[i])) return SSMN_ERR_CALLBACK;
        if (do_clip) Wdst[i] = FN(clampr)(Wdst[i], c);
    }
    return SSMN_OK;
}

/* r (H) = W h, W (WF) block-diagonal over the heads. */
static void FN(memory_read)(const ssmn_layout *L, real *r, const real *W, const real *h) {
    const int64_t d = L->dh;
    for (int64_t i = 0; i < L->H; i++) {
        const int64_t hd = i / d;
        r[i] = FN(dot)(W + hd * d * d + (i - hd * d) * d, h + hd * d, d);
    }
}

/* The plastic layers over a (B, T) call with an external rule, the B streams in lock-step: their
 * memories gathered side by side (Wg (P, B, WF)), one rule call per step and layer. blk: the
 * calling thread's scratch block (offsets in Sc). */
static int FN(plastic_lockstep_forward)(const ssmn_layout *L, const ssmn_config *cfg, real *cache, real *state,
                                        const real *prm, int64_t B, int64_t T, real *blk, const ssmn_scratch *Sc) {
    const int64_t H = L->H, P = L->P, R = L->n_cache, WF = L->WF, BWF = B * WF;
    const FN(rule_ctx) base = FN(base_ctx)(cfg, blk + Sc->rvec);
    real *Wg = blk + Sc->Wg, *pre = blk + Sc->pre, *post = blk + Sc->post, *eta = blk + Sc->eta;
    real *decay = blk + Sc->decay, *before = blk + Sc->before, *row = blk + Sc->row;
    for (int64_t j = 0; j < P; j++)
        for (int64_t b = 0; b < B; b++)
            memcpy(Wg + j * BWF + b * WF, state + b * L->n_state + L->s_Wf + j * WF, (size_t)WF * sizeof(real));
    for (int64_t t = 0; t < T; t++) {
        for (int64_t j = 0; j < P; j++) {
            real *Wj = Wg + j * BWF;
            for (int64_t b = 0; b < B; b++) FN(layer_input)(L, cfg, cache + (b * T + t) * R, j, prm);
            FN(lockstep_vectors)(L, &base, cache + t * R, T * R, j, B, pre, post, eta, decay);
            if (t == T - 1) memcpy(before, Wj, (size_t)BWF * sizeof(real));
            int rc = FN(ext_apply)(L, cfg, Wj, Wj, pre, post, eta, decay, B, 1);
            if (rc) return rc;
            for (int64_t b = 0; b < B; b++) {
                real *rec = cache + (b * T + t) * R, *W = Wj + b * WF;
                FN(memory_read)(L, rec + SSMN_C_TR(L, j, 0), W, rec + SSMN_C_H(L, j));
                if (t == T - 1) {
                    real sq = 0;
                    for (int64_t i = 0; i < WF; i += H) {
                        int64_t n = WF - i < H ? WF - i : H;
                        for (int64_t k = 0; k < n; k++) row[k] = W[i + k] - before[b * WF + i + k];
                        sq += FN(dot)(row, row, n);
                    }
                    state[b * L->n_state + L->s_rms + j] = R_SQRT(sq / (real)WF);
                }
                FN(layer_output)(L, cfg, rec, j, W);
            }
        }
    }
    for (int64_t j = 0; j < P; j++)
        for (int64_t b = 0; b < B; b++)
            memcpy(state + b * L->n_state + L->s_Wf + j * WF, Wg + j * BWF + b * WF, (size_t)WF * sizeof(real));
    return SSMN_OK;
}

/* Backward of plastic_lockstep_forward: the updates replayed from the starting memories with
 * checkpoints every K steps, as for one stream, but for the B streams side by side (O(B sqrt(T)
 * P WF) floats) and one rule (and vjp) call per step and layer. Arguments as plastic_backward's;
 * blk: the calling thread's block of the workspace (offsets in Wo, sized for nb = B). */
static int FN(plastic_lockstep_backward)(const ssmn_layout *L, const ssmn_config *cfg, real *grad, real *dstate0,
                                         real *dz_out, const real *dz_in, real *dPre, real *blk, const ssmn_work *Wo,
                                         const real *cache, const real *state0, const real *prm, int64_t B, int64_t T) {
    const int64_t H = L->H, P = L->P, R = L->n_cache, WF = L->WF, nh = L->nh, d = L->dh, dd = d * d;
    const int64_t BWF = B * WF, PBWF = P * BWF, K = Wo->K, nseg = Wo->nseg, BT = B * T;
    const real alpha = (real)cfg->alpha, c = (real)cfg->clip;
    const FN(rule_ctx) base = FN(base_ctx)(cfg, blk + Wo->rvec);
    real *G = blk + Wo->G, *ckpt = blk + Wo->ckpt, *seg = blk + Wo->seg, *F = blk + Wo->F, *gz = blk + Wo->gz;
    real *dh = blk + Wo->dh, *dz = blk + Wo->dz, *dr = blk + Wo->dr, *pre = blk + Wo->pre, *post = blk + Wo->post;
    real *row = blk + Wo->row, *eta = blk + Wo->eta, *decay = blk + Wo->decay;
    real *deta = L->neuromod ? blk + Wo->deta : NULL, *ddecay = L->learned_decay ? blk + Wo->ddecay : NULL;
    if (!cfg->rule_vjp) return SSMN_ERR_NO_VJP;
    int rc;
    for (int64_t j = 0; j < P; j++)
        for (int64_t b = 0; b < B; b++)
            memcpy(seg + j * BWF + b * WF, state0 + b * L->n_state + L->s_Wf + j * WF, (size_t)WF * sizeof(real));
    for (int64_t t = 0; t < T; t++) {
        if (t % K == 0) memcpy(ckpt + (t / K) * PBWF, seg, (size_t)PBWF * sizeof(real));
        for (int64_t j = 0; j < P; j++) {
            FN(lockstep_vectors)(L, &base, cache + t * R, T * R, j, B, pre, post, eta, decay);
            if ((rc = FN(ext_apply)(L, cfg, seg + j * BWF, seg + j * BWF, pre, post, eta, decay, B, 1))) return rc;
        }
    }
    memset(G, 0, (size_t)PBWF * sizeof(real));
    for (int64_t s = nseg - 1; s >= 0; s--) {
        int64_t t0 = s * K, t1 = t0 + K < T ? t0 + K : T;
        memcpy(seg, ckpt + s * PBWF, (size_t)PBWF * sizeof(real));
        for (int64_t i = 1; i < t1 - t0; i++)
            for (int64_t j = 0; j < P; j++) {
                FN(lockstep_vectors)(L, &base, cache + (t0 + i - 1) * R, T * R, j, B, pre, post, eta, decay);
                if ((rc = FN(ext_apply)(L, cfg, seg + i * PBWF + j * BWF, seg + (i - 1) * PBWF + j * BWF, pre, post,
                                        eta, decay, B, 1)))
                    return rc;
            }
        for (int64_t t = t1 - 1; t >= t0; t--) {
            for (int64_t b = 0; b < B; b++) memcpy(gz + b * H, dz_in + (b * T + t) * H, (size_t)H * sizeof(real));
            for (int64_t j = P - 1; j >= 0; j--) {
                const real *Wprev = seg + (t - t0) * PBWF + j * BWF;
                real *Gj = G + j * BWF;
                FN(lockstep_vectors)(L, &base, cache + t * R, T * R, j, B, pre, post, eta, decay);
                memset(dh, 0, (size_t)(B * H) * sizeof(real));
                memset(dz, 0, (size_t)(B * H) * sizeof(real));
                if (L->C > 1) { /* re-reads of W_t: rebuild it, then back through them */
                    if ((rc = FN(ext_apply)(L, cfg, F, Wprev, pre, post, eta, decay, B, 1))) return rc;
                    for (int64_t b = 0; b < B; b++)
                        FN(chat_backward)(L, cache + (b * T + t) * R, j, F + b * WF, Gj + b * WF, gz + b * H,
                                          dh + b * H, dr + b * H, row, alpha);
                }
                for (int64_t b = 0; b < B; b++) {
                    const real *tr = cache + (b * T + t) * R + SSMN_C_TR(L, j, 0);
                    for (int64_t n = 0; n < H; n++) {
                        dr[b * H + n] = alpha * (1 - tr[n] * tr[n]) * gz[b * H + n];
                        dh[b * H + n] += gz[b * H + n];
                    }
                }
                /* through the read-out and the clip, then the rule's own vjp for all blocks */
                if ((rc = FN(ext_apply)(L, cfg, F, Wprev, pre, post, eta, decay, B, 0))) return rc;
                for (int64_t k = 0; k < B * nh; k++)
                    FN(clip_backward)(Gj + k * dd, dh + k * d, F + k * dd, dr + k * d, post + k * d, d, c);
                if (deta) memset(deta, 0, (size_t)(B * nh) * sizeof(real));
                if (ddecay) memset(ddecay, 0, (size_t)(B * nh) * sizeof(real));
                if (((FN(ext_vjp_fn))cfg->rule_vjp)(cfg->rule_ctx, Gj, dz, dh, deta, ddecay, Wprev, pre, post, eta,
                                                    decay, B * nh, d))
                    return SSMN_ERR_CALLBACK;
                for (int64_t b = 0; b < B; b++) {
                    const real *rec = cache + (b * T + t) * R;
                    for (int64_t hd = 0; SSMN_HAS_GATES(L) && hd < nh; hd++)
                        FN(gates_backward)(L, cfg, grad, dz + b * H, rec, j, hd, pre + b * H, prm,
                                           deta ? deta[b * nh + hd] : 0, ddecay ? ddecay[b * nh + hd] : 0);
                    FN(layer_input_backward)(L, grad, gz + b * H, dz + b * H, dz_out + (b * T + t) * H, dPre,
                                             dh + b * H, rec, j, b * T + t, BT, prm);
                }
            }
        }
    }
    if (dstate0)
        for (int64_t j = 0; j < P; j++)
            for (int64_t b = 0; b < B; b++)
                memcpy(dstate0 + b * L->n_state + L->s_Wf + j * WF, G + j * BWF + b * WF, (size_t)WF * sizeof(real));
    return SSMN_OK;
}
