/* plastic.c - the plastic layers ("hippocampus"), forward and backward. Layer j at each step:
 * h = relu(P_j norm(z) + c_j); its fast-weight memory W_f (nh blocks of (H/nh)^2, one per head)
 * is rewritten by the rule (rules.c) with pre = norm(z), post = h and, with the gates, a write
 * strength eta_t and decay lambda_t computed from norm(z); then z <- h + alpha tanh(W_f q),
 * re-read chat_steps times (q_0 = h).
 *
 * The forward pass runs stream by stream, step by step (each stream's W_f stays in cache), after
 * layer 0's input projection for all tokens at once; a training forward also keeps each stream's
 * W_f every K = ceil(sqrt(T)) steps (B (T/K) P WF floats, O(B sqrt(T) H^2)). The backward pass
 * keeps no W_f per step: per stream it walks the segments backwards, rebuilding a segment's K
 * matrices from its checkpoint, (K + 1) P WF floats per thread; without the forward's checkpoints
 * it first replays the updates from the starting W_f to make them ((T/K) P WF floats more per
 * thread). Either way memory is O(sqrt(T) H^2) per stream. Included by cell.c.
 */

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

/* Plastic layer j's input at the step of cache record rec: for j > 0, h = relu(P_j norm(z) + c_j)
 * (layer 0's h is computed for all tokens at once); then the gates. */
static void FN(layer_input)(const ssmn_layout *L, const ssmn_config *cfg, real *rec, int64_t j, const real *prm) {
    const int64_t H = L->H;
    if (j > 0) {
        if (L->norm) FN(norm_record)(L, rec, L->S + j, SSMN_C_ZRAW(L, j), prm);
        FN(dense_forward)(rec + SSMN_C_H(L, j), H, rec + SSMN_C_ZIN(L, j), H, prm + SSMN_PLASTIC_W(L, j),
                          prm + SSMN_PLASTIC_B(L, j), 1, H, H, DENSE_RELU, NULL);
    }
    if (SSMN_HAS_GATES(L)) FN(gates_forward)(L, cfg, rec, j, rec + SSMN_C_ZIN(L, j), prm);
}

/* Plastic layer j's output once r = W_f' h is in its tanh slot: tanh(r), q_0 = h + alpha tanh(r),
 * then the chat steps re-reading W (WF). */
static void FN(layer_output)(const ssmn_layout *L, const ssmn_config *cfg, real *rec, int64_t j, const real *W) {
    const real alpha = (real)cfg->alpha;
    const real *h = rec + SSMN_C_H(L, j);
    real *tr = rec + SSMN_C_TR(L, j, 0), *q = rec + SSMN_C_Q(L, j, 0);
    for (int64_t n = 0; n < L->H; n++) {
        tr[n] = R_TANH(tr[n]);
        q[n] = h[n] + alpha * tr[n];
    }
    FN(chat_forward)(L, rec, j, W, alpha);
}

/* The plastic layers over the T steps of one stream (a built-in rule): cache records rec0 (T
 * records) in (z_S) and out (h, chat steps); the stream's W_f (in its state st) updated, and the
 * last step's update RMS; ckpt (when not NULL, (nseg, P, WF)) its W_f every K = ceil(sqrt(T))
 * steps for the backward pass. rx: the rule context (its fixed eta and lambda, the thread's own
 * vectors); row (H), before (WF) scratch. */
static int FN(plastic_stream_forward)(const ssmn_layout *L, const ssmn_config *cfg, const FN(rule_ctx) *rx,
                                      real *rec0, real *st, real *ckpt, const real *prm, int64_t T, real *row,
                                      real *before) {
    const int64_t P = L->P, R = L->n_cache, WF = L->WF, K = ssmn_segment_len(L, T);
    for (int64_t t = 0; t < T; t++) {
        real *rec = rec0 + t * R;
        if (ckpt && t % K == 0) memcpy(ckpt + (t / K) * P * WF, st + L->s_Wf, (size_t)(P * WF) * sizeof(real));
        for (int64_t j = 0; j < P; j++) {
            real *Wf = st + L->s_Wf + j * WF;
            FN(layer_input)(L, cfg, rec, j, prm);
            real sq = 0;
            int rc = FN(memory_forward)(L, rx, rec, j, Wf, rec + SSMN_C_TR(L, j, 0), rec + SSMN_C_H(L, j),
                                        rec + SSMN_C_ZIN(L, j), row, before, t == T - 1 ? &sq : NULL);
            if (rc) return rc;
            if (t == T - 1) st[L->s_rms + j] = R_SQRT(sq / (real)WF);
            FN(layer_output)(L, cfg, rec, j, Wf);
        }
    }
    return SSMN_OK;
}

/* The chunkwise path (plastic_chunk.c, included after this file); cblk: the thread's ssmn_chunk block. */
static int FN(plastic_stream_forward_chunked)(const ssmn_layout *L, const ssmn_config *cfg, const FN(rule_ctx) *rx,
                                              real *rec0, real *st, real *ckpt, const real *prm, int64_t T,
                                              real *row, real *before, real *cblk, const ssmn_chunk *Ch);

/* The external-rule path (plastic_lockstep.c, included after this file). */
static int FN(plastic_lockstep_forward)(const ssmn_layout *L, const ssmn_config *cfg, real *cache, real *state,
                                        const real *prm, int64_t B, int64_t T, real *blk, const ssmn_scratch *Sc);
static int FN(plastic_lockstep_backward)(const ssmn_layout *L, const ssmn_config *cfg, real *grad, real *dstate0,
                                         real *dz_out, const real *dz_in, real *dPre, real *blk, const ssmn_work *Wo,
                                         const real *cache, const real *state0, const real *prm, int64_t B, int64_t T);

/* The plastic layers over a (B, T) call: built-in rules stream by stream, the streams split over
 * the threads of tb (each with its block's rule vectors, row and before; see ssmn_scratch); an
 * external rule in lock-step on the calling thread. */
static int FN(plastic_forward)(const ssmn_layout *L, const ssmn_config *cfg, real *cache, real *ckpt, real *state,
                               const real *prm, int64_t B, int64_t T, const FN(thread_blocks) *tb,
                               const ssmn_scratch *Sc, const FN(gemm_buf) *gb) {
    const int64_t H = L->H, P = L->P, R = L->n_cache, BT = B * T;
    if (P == 0) return SSMN_OK;
    /* layer 0's input does not depend on W_f: its projection for all tokens at once */
    if (L->norm) FN(norm_rows_forward)(L, cache, L->S, SSMN_C_ZS(L), prm, BT, gb);
    FN(dense_forward)(cache + SSMN_C_H(L, 0), R, cache + SSMN_C_ZIN(L, 0), R, prm + SSMN_PLASTIC_W(L, 0),
                      prm + SSMN_PLASTIC_B(L, 0), BT, H, H, DENSE_RELU, gb);
    if (cfg->rule == SSMN_RULE_EXTERNAL) return FN(plastic_lockstep_forward)(L, cfg, cache, state, prm, B, T, tb->base, Sc);
    int status = SSMN_OK;
    const int64_t K = ssmn_segment_len(L, T);
    const int nts = 2 * T * P * L->WF >= GEMM_PAR_MACS ? tb->nt : 1;
    const int chunked = SSMN_CHUNKED(L, T);
    ssmn_chunk Ch;
    if (ssmn_chunk_of(chunked ? K : 0, H, &Ch)) return SSMN_ERR_OVERFLOW;
    SSMN_FOR(nts, b, B, {
        real *blk = FN(thread_block)(tb, ssmn_tid);
        FN(rule_ctx) rx = FN(base_ctx)(cfg, blk + Sc->rvec);
        real *ck = ckpt ? ckpt + b * ((T + K - 1) / K) * P * L->WF : NULL;
        real *rec0 = cache + b * T * R, *st = state + b * L->n_state;
        if (chunked) {
            FN(set_status)(&status, FN(plastic_stream_forward_chunked)(L, cfg, &rx, rec0, st, ck, prm, T, blk + Sc->row,
                                                                       blk + Sc->before, blk + Sc->chunk, &Ch));
        } else {
            FN(set_status)(&status, FN(plastic_stream_forward)(L, cfg, &rx, rec0, st, ck, prm, T, blk + Sc->row,
                                                               blk + Sc->before));
        }
    });
    return status;
}

/* Where the plastic backward pass of one stream works: views into the backward workspace (the
 * shared dPre rows, the rest in the thread's own block; see ssmn_work). */
typedef struct {
    real *dPre, *G, *ckpt, *seg, *F, *gz, *dh, *dz, *dr, *row;
    int64_t K, nseg;
} FN(plastic_work);

/* One step backward through plastic layer j's input projection for the stream at record rec
 * (token tok of the call): the input projection's dL/d(pre-ReLU) into dPre (P, B*T, H); for
 * j > 0 gz (H) = dL/d(layer j-1's output) (through its norm, with dz as scratch), for j = 0
 * dz_out (H) += dz. dh, dz (H): dL/dh and dL/d(layer input) of the step. */
static void FN(layer_input_backward)(const ssmn_layout *L, real *grad, real *gz, real *dz, real *dz_out,
                                     real *dPre, const real *dh, const real *rec, int64_t j, int64_t tok,
                                     int64_t BT, const real *prm) {
    const int64_t H = L->H;
    const real *h = rec + SSMN_C_H(L, j);
    real *dpre = dPre + j * BT * H + tok * H;
    for (int64_t n = 0; n < H; n++) dpre[n] = h[n] > 0 ? dh[n] : 0;
    if (j > 0) {
        memcpy(gz, dz, (size_t)H * sizeof(real));
        FN(gemm_rows_nn)(1, H, H, dpre, H, prm + SSMN_PLASTIC_W(L, j), H, 1, gz, H);
        if (L->norm) {
            FN(norm_record_backward)(L, dz, grad, gz, rec, L->S + j, prm);
            memcpy(gz, dz, (size_t)H * sizeof(real));
        }
    } else {
        for (int64_t n = 0; n < H; n++) dz_out[n] += dz[n];
    }
}

/* Backward of plastic_stream_forward for stream b: dz_in (T, H) = dL/d(the last plastic layer's
 * output) of its steps; dz_out (T, H) += dL/dz_S; grad += the gates' and plastic norms' gradients;
 * dWf0 (P WF, when not NULL) = dL/d(starting W_f); the input projections' dL/d(pre-ReLU) into
 * wk->dPre's rows of the stream. rec0: its T cache records; Wf0: its starting W_f. */
static int FN(plastic_stream_backward)(const ssmn_layout *L, const ssmn_config *cfg, const FN(rule_ctx) *rx,
                                       real *grad, real *dWf0, real *dz_out, const real *dz_in,
                                       const FN(plastic_work) *wk, const real *rec0, const real *Wf0,
                                       const real *fck, const real *prm, int64_t b, int64_t B, int64_t T) {
    const int64_t H = L->H, P = L->P, R = L->n_cache, WF = L->WF;
    const int64_t PWF = P * WF, K = wk->K, nseg = wk->nseg;
    const real alpha = (real)cfg->alpha;
    real *G = wk->G, *ckpt = wk->ckpt, *seg = wk->seg, *gz = wk->gz, *dh = wk->dh, *dz = wk->dz;
    int rc;
    /* the checkpoints every K steps: those the training forward kept, or a replay of the updates
     * from the starting W_f */
    const real *cks = fck ? fck : ckpt;
    if (!fck) {
        real *run = seg;
        memcpy(run, Wf0, (size_t)PWF * sizeof(real));
        for (int64_t t = 0; t < T; t++) {
            const real *rec = rec0 + t * R;
            if (t % K == 0) memcpy(ckpt + (t / K) * PWF, run, (size_t)PWF * sizeof(real));
            for (int64_t j = 0; j < P; j++)
                if ((rc = FN(memory_apply)(L, rx, rec, j, run + j * WF, run + j * WF, rec + SSMN_C_ZIN(L, j),
                                           rec + SSMN_C_H(L, j))))
                    return rc;
        }
    }
    memset(G, 0, (size_t)PWF * sizeof(real));
    for (int64_t s = nseg - 1; s >= 0; s--) {
        int64_t t0 = s * K, t1 = t0 + K < T ? t0 + K : T;
        /* the segment's matrices W_{t0} .. W_{t1-1} from its checkpoint */
        memcpy(seg, cks + s * PWF, (size_t)PWF * sizeof(real));
        for (int64_t i = 1; i < t1 - t0; i++) {
            const real *rec = rec0 + (t0 + i - 1) * R;
            for (int64_t j = 0; j < P; j++)
                if ((rc = FN(memory_apply)(L, rx, rec, j, seg + i * PWF + j * WF, seg + (i - 1) * PWF + j * WF,
                                           rec + SSMN_C_ZIN(L, j), rec + SSMN_C_H(L, j))))
                    return rc;
        }
        for (int64_t t = t1 - 1; t >= t0; t--) {
            const real *rec = rec0 + t * R;
            memcpy(gz, dz_in + t * H, (size_t)H * sizeof(real));
            for (int64_t j = P - 1; j >= 0; j--) {
                const real *h = rec + SSMN_C_H(L, j), *tr = rec + SSMN_C_TR(L, j, 0);
                const real *zin = rec + SSMN_C_ZIN(L, j), *Wprev = seg + (t - t0) * PWF + j * WF;
                for (int64_t n = 0; n < H; n++) dh[n] = dz[n] = 0;
                if (L->C > 1) { /* re-reads of W_t: rebuild it, then back through them */
                    if ((rc = FN(memory_apply)(L, rx, rec, j, wk->F, Wprev, zin, h))) return rc;
                    FN(chat_backward)(L, rec, j, wk->F, G + j * WF, gz, dh, wk->dr, wk->row, alpha);
                }
                for (int64_t n = 0; n < H; n++) {
                    wk->dr[n] = alpha * (1 - tr[n] * tr[n]) * gz[n];
                    dh[n] += gz[n];
                }
                rc = FN(memory_backward)(L, cfg, rx, rec, j, grad, dh, dz, G + j * WF, Wprev, h, zin, wk->dr, prm,
                                         wk->row, wk->F);
                if (rc) return rc;
                FN(layer_input_backward)(L, grad, gz, dz, dz_out + t * H, wk->dPre, dh, rec, j, b * T + t, B * T, prm);
            }
        }
    }
    if (dWf0) memcpy(dWf0, G, (size_t)PWF * sizeof(real));
    return SSMN_OK;
}

static void FN(plastic_stream_backward_chunked)(const ssmn_layout *L, const ssmn_config *cfg, const FN(rule_ctx) *rx,
                                                real *grad, real *dWf0, real *dz_out, real *gz,
                                                const FN(plastic_work) *wk, const real *rec0, const real *Wf0,
                                                const real *fck, const real *prm, int64_t b, int64_t B, int64_t T,
                                                real *cblk, const ssmn_chunk *Ch);

/* Backward of plastic_forward. dz_in (B*T, H): dL/d(the last plastic layer's output), used as
 * scratch afterwards; dz_out (B*T, H) out: dL/dz_S; grad += the layers' gradients; dstate0 (when
 * not NULL) gets dL/d(starting W_f) of each stream. The streams are split over the threads of tb,
 * each with its block's scratch (at the offsets of Wo) and, when tb->nt > 1, its own gradient for
 * the gates and norms (Wo->grad). ckpt: the training forward's checkpoints (built-in rules), or
 * NULL: each stream's updates are replayed first. */
static int FN(plastic_backward)(const ssmn_layout *L, const ssmn_config *cfg, real *grad, real *dstate0,
                                real *dz_out, real *dz_in, real *dPre, const FN(thread_blocks) *tb,
                                const ssmn_work *Wo, const real *ckpt, const real *cache, const real *state0,
                                const real *prm, int64_t B, int64_t T, const FN(gemm_buf) *gb) {
    const int64_t H = L->H, S = L->S, P = L->P, R = L->n_cache, BT = B * T, BTH = BT * H;
    memset(dz_out, 0, (size_t)BTH * sizeof(real));
    int status = SSMN_OK;
    if (cfg->rule == SSMN_RULE_EXTERNAL) {
        status = FN(plastic_lockstep_backward)(L, cfg, grad, dstate0, dz_out, dz_in, dPre, tb->base, Wo, cache, state0,
                                               prm, B, T);
    } else {
        const int nts = 4 * T * P * L->WF >= GEMM_PAR_MACS ? tb->nt : 1;
        ssmn_chunk Ch;
        if (ssmn_chunk_of(Wo->chunked ? Wo->K : 0, H, &Ch)) return SSMN_ERR_OVERFLOW;
        SSMN_FOR(nts, b, B, {
            real *blk = FN(thread_block)(tb, ssmn_tid);
            FN(rule_ctx) rx = FN(base_ctx)(cfg, blk + Wo->rvec);
            FN(plastic_work) wk = {dPre, blk + Wo->G, blk + Wo->ckpt, blk + Wo->seg, blk + Wo->F, blk + Wo->gz,
                                   blk + Wo->dh, blk + Wo->dz, blk + Wo->dr, blk + Wo->row, Wo->K, Wo->nseg};
            real *g = tb->nt > 1 ? blk + Wo->grad : grad;
            real *dWf0 = dstate0 ? dstate0 + b * L->n_state + L->s_Wf : NULL;
            const real *rec0 = cache + b * T * R, *Wf0 = state0 + b * L->n_state + L->s_Wf;
            const real *fck = ckpt ? ckpt + b * Wo->nseg * P * L->WF : NULL;
            if (Wo->chunked) {
                FN(plastic_stream_backward_chunked)(L, cfg, &rx, g, dWf0, dz_out + b * T * H, dz_in + b * T * H, &wk,
                                                    rec0, Wf0, fck, prm, b, B, T, blk + Wo->chunk, &Ch);
            } else {
                FN(set_status)(&status, FN(plastic_stream_backward)(L, cfg, &rx, g, dWf0, dz_out + b * T * H,
                                                                    dz_in + b * T * H, &wk, rec0, Wf0, fck, prm,
                                                                    b, B, T));
            }
        });
    }
    if (status) return status;
    /* the input projections' weights for all tokens at once; layer 0's input gradient */
    for (int64_t j = 0; j < P; j++)
        FN(linear_backward)(j == 0 ? dz_out : NULL, H, 1, grad + SSMN_PLASTIC_W(L, j), grad + SSMN_PLASTIC_B(L, j),
                            dPre + j * BTH, H, cache + SSMN_C_ZIN(L, j), R, prm + SSMN_PLASTIC_W(L, j), BT, H, H,
                            gb);
    if (L->norm) { /* dz_out holds dL/d(normalised z_S): back through the norm */
        FN(norm_rows_backward)(L, dz_in, grad, dz_out, cache, S, prm, BT, gb);
        memcpy(dz_out, dz_in, (size_t)BTH * sizeof(real));
    }
    return SSMN_OK;
}
