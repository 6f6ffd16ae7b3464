/* cell.c - the SSMN cell over a (B, T) batch of streams: forward, backward (BPTT), reset.
 *
 * Compiled once per precision (cell_f32.c, cell_f64.c). The cell is the order of its layers, each
 * a forward/backward pair in its own file: encoder and static layers (dense.c), window attention
 * (window_attn.c), plastic layers with their rules (plastic.c; plastic_chunk.c for the chunkwise path,
 * plastic_lockstep.c for external rules; rules.c), read-out (readout.c);
 * pre-norm (norm.c) and every product (gemm.c) beneath them. Everything that does not depend on
 * the fast weights runs for all B*T tokens at once as GEMMs; the plastic layers run step by step.
 * Where each tensor lives is decided in ssmn_core.c: parameters, state and cache records by
 * ssmn_layout_of(), the backward workspace by ssmn_work_of(), the forward scratch by
 * ssmn_scratch_of().
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ssmn_internal.h"
#include "real.h"
#include "threads.c"
#include "gemm.c"
#include "norm.c"
#include "dense.c"
#include "window_attn.c"
#include "rules.c"
#include "plastic.c"
#include "plastic_chunk.c"
#include "plastic_lockstep.c"
#include "readout.c"
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

/* Checks the call's input (finite x, or tokens in range) before any state is touched. */
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

/* ssmn_forward, and with ckpt (not NULL) the training forward's checkpoints (see ssmn_api.h). */
static int FN(forward_impl)(const ssmn_config *cfg, real *y, real *cache, real *ckpt, real *state, int64_t *steps,
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

    const int64_t BT = B * T;
    const int nts = ssmn_stream_threads(cfg, B);
    ssmn_scratch Sc;
    if ((rc = ssmn_scratch_of(L, cfg->rule, BT >= GEMM_MR, nts, ssmn_lockstep(cfg, B), T, &Sc))) return rc;
    real *scratch = (real *)malloc((size_t)Sc.n * sizeof(real));
    if (!scratch) return SSMN_ERR_NOMEM;
    const FN(gemm_buf) gb = {BT >= GEMM_MR ? scratch + Sc.pack : NULL, ssmn_threads(cfg)};
    const FN(thread_blocks) tb = {scratch + Sc.thr, Sc.thr_n, nts};

    FN(encoder_forward)(L, cache, x, tokens, params, BT, &gb);
    FN(attention_forward)(L, cache, state, steps, params, B, T, &gb);
    FN(static_forward)(L, cache, params, BT, &gb);
    rc = FN(plastic_forward)(L, cfg, cache, ckpt, state, params, B, T, &tb, &Sc, &gb);
    if (!rc) {
        FN(readout_forward)(L, y, cache, params, BT, &gb);
        for (int64_t b = 0; b < B; b++) steps[b] += T;
    }
    free(scratch);
    return rc;
}

int FN(ssmn_forward)(const ssmn_config *cfg, real *y, real *cache, real *state, int64_t *steps,
                     const real *x, const int32_t *tokens, const real *params, int64_t B, int64_t T) {
    return FN(forward_impl)(cfg, y, cache, NULL, state, steps, x, tokens, params, B, T);
}

int FN(ssmn_forward_train)(const ssmn_config *cfg, real *y, real *cache, real *ckpt, real *state, int64_t *steps,
                           const real *x, const int32_t *tokens, const real *params, int64_t B, int64_t T) {
    if (!ckpt && cfg && cfg->rule != SSMN_RULE_EXTERNAL && cfg->n_plastic > 0 && T > 0) return SSMN_ERR_NULL;
    return FN(forward_impl)(cfg, y, cache, cfg && cfg->rule == SSMN_RULE_EXTERNAL ? NULL : ckpt, state, steps, x,
                            tokens, params, B, T);
}

int FN(ssmn_backward)(const ssmn_config *cfg, real *grad, real *dstate0, real *work, const real *ckpt, const real *dy,
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

    const int64_t BT = B * T;
    ssmn_work Wo;
    if ((rc = ssmn_work_of(L, B, T, ssmn_stream_threads(cfg, B), ssmn_lockstep(cfg, B), &Wo))) return rc;
    real *dA = work + Wo.dA, *dB = work + Wo.dB;
    const FN(gemm_buf) gb = {work + Wo.pack, ssmn_threads(cfg)};
    const FN(thread_blocks) tb = {work + Wo.thr, Wo.thr_n, (int)Wo.nt};
    if (Wo.nt > 1) /* the stream threads' own gradients */
        for (int64_t t = 0; t < Wo.nt; t++) memset(work + Wo.thr + t * Wo.thr_n + Wo.grad, 0, (size_t)L->n_params * sizeof(real));

    /* in reverse layer order; dz is dL/d(the current layer's output), tmp a free buffer */
    FN(readout_backward)(L, grad, dA, dy, cache, params, BT, &gb);
    real *dz = dA, *tmp = dB;
    if (L->P > 0) {
        rc = FN(plastic_backward)(L, cfg, grad, dstate0, dB, dA, work + Wo.dPre, &tb, &Wo, ckpt, cache, state0,
                                  params, B, T, &gb);
        if (rc) return rc;
        dz = dB;
        tmp = dA;
    }
    FN(static_backward)(L, grad, dz, tmp, cache, params, BT, &gb);
    FN(attention_backward)(L, grad, dstate0, dz, dz, tmp, work + Wo.dQ, work + Wo.dK, work + Wo.dV, &tb, &Wo,
                           cache, state0, steps0, params, B, T, &gb);
    FN(encoder_backward)(L, grad, dz, work + Wo.dX, cache, x, tokens, params, BT, &gb);
    if (Wo.nt > 1) /* add the stream threads' gradients, in thread order */
        for (int64_t t = 0; t < Wo.nt; t++) {
            const real *g = work + Wo.thr + t * Wo.thr_n + Wo.grad;
            for (int64_t i = 0; i < L->n_params; i++) grad[i] += g[i];
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
    const int64_t H = L.H, w = L.w, n0 = *steps < w ? *steps : w;
    for (int64_t e = 0; e < n0; e++) {
        int64_t slot = (*steps - n0 + e) % w;
        const real *u = u_hist + slot * H;
        FN(gemm_rows_nt)(1, H, H, u, H, params + L.W_k, H, 0, state + L.s_K + slot * H, H, 1);
        FN(gemm_rows_nt)(1, H, H, u, H, params + L.W_v, H, 0, state + L.s_V + slot * H, H, 1);
    }
    int64_t slot = *steps % w;
    rc = FN(ssmn_forward)(cfg, y, cache, state, steps, x, NULL, params, 1, 1);
    if (rc) return rc;
    memcpy(u_hist + slot * H, cache + L.c_u, (size_t)H * sizeof(real));
    return SSMN_OK;
}
#endif
#include "population.c"
