/* ssmn_core.c - precision-independent parts of the core: status text, config checks, layout and
 * buffer sizes (with overflow checks). */
#include <math.h>
#include <string.h>

#include "ssmn_internal.h"

static const char *const status_text[SSMN_N_STATUS] = {
    "ok",
    "a required pointer argument is NULL",
    "invalid configuration (every dimension must be >= 1, n_static/n_plastic >= 0, "
    "eta >= 0, 0 <= decay < 1, clip > 0, flags 0 or 1, norm 0..2, n_heads dividing hidden, "
    "0 <= n_threads <= 1024, plastic_path 0..2 and 2 only for the hebbian rule with clip = inf and "
    "chat_steps = 1)",
    "buffer sizes overflow 64-bit integers",
    "out of memory",
    "invalid argument (B must be >= 1, T >= 0)",
    "unknown plasticity rule id",
    "invalid state (negative step counter, or one too large to add the call's steps)",
    "input contains NaN or inf",
    "the plasticity rule's update or vjp function failed or produced NaN/inf",
    "the plasticity rule has no vjp: it cannot be trained by gradient",
    "token id out of range [0, vocab)",
};

int ssmn_abi_version(void) { return SSMN_ABI_VERSION; }

const char *ssmn_error_message(int status) {
    if (status < 0 || status >= SSMN_N_STATUS) return "unknown status code";
    return status_text[status];
}

int ssmn_mul(int64_t a, int64_t b, int64_t *out) {
    return __builtin_mul_overflow(a, b, out) ? SSMN_ERR_OVERFLOW : SSMN_OK;
}

int ssmn_add(int64_t a, int64_t b, int64_t *out) {
    return __builtin_add_overflow(a, b, out) ? SSMN_ERR_OVERFLOW : SSMN_OK;
}

/* Chunks of fewer steps than this spend more on their per-chunk products with W_f (each packs a
 * d x d matrix for a few rows) than their K x K work saves: on the language model's shape (delta
 * rule, B = 32, T = 64, H = 128, float32, one thread) a training step's plastic layers cost 1.19x
 * the rest of the step with chunks of 8 steps, 0.83x with 16, 0.76x with 32 and 0.82x with 64
 * (shares of perf samples, one 12 s profile each). */
#define SSMN_CHUNK_MIN_LEN 32

int64_t ssmn_segment_len(const ssmn_layout *L, int64_t T) {
    int64_t k = 1;
    while (k * k < T) k++;
    if (SSMN_CHUNKED(L, T) && k < SSMN_CHUNK_MIN_LEN) k = T < SSMN_CHUNK_MIN_LEN ? T : SSMN_CHUNK_MIN_LEN;
    return k;
}

/* The chunkwise path needs an update linear in W_f given pre, post and the rates (for the delta
 * rule, given its solved values): the built-in hebbian and delta rules without the clip, and one
 * read of W_f per step. */
static int chunk_applies(const ssmn_config *cfg) {
    return (cfg->rule == SSMN_RULE_HEBBIAN || cfg->rule == SSMN_RULE_DELTA) && isinf(cfg->clip) &&
           cfg->chat_steps == 1;
}

/* Calls of SSMN_CHUNK_AUTO_T..SSMN_CHUNK_AUTO_MAX_T steps run chunkwise under plastic_path 0:
 * shorter ones gain nothing from one chunk of so few steps, and past chunks of 64 steps the chunk's own K x K work (K H per token) outgrows the d^2 per token it saves. */
#define SSMN_CHUNK_AUTO_T 16
#define SSMN_CHUNK_AUTO_MAX_T 4096

int ssmn_check_config(const ssmn_config *cfg) {
    if (!cfg) return SSMN_ERR_NULL;
    if (cfg->d_in < 1 || cfg->hidden < 1 || cfg->d_out < 1 || cfg->window < 1) return SSMN_ERR_CONFIG;
    if (cfg->n_static < 0 || cfg->n_plastic < 0) return SSMN_ERR_CONFIG;
    if (!(cfg->eta >= 0.0) || !(cfg->decay >= 0.0 && cfg->decay < 1.0) || !(cfg->clip > 0.0))
        return SSMN_ERR_CONFIG;
    if (!(cfg->alpha == cfg->alpha)) return SSMN_ERR_CONFIG;
    if (cfg->vocab < 0 || cfg->chat_steps < 1) return SSMN_ERR_CONFIG;
    if (cfg->n_heads < 1 || cfg->hidden % cfg->n_heads != 0) return SSMN_ERR_CONFIG;
    if (cfg->n_threads < 0 || cfg->n_threads > SSMN_MAX_THREADS) return SSMN_ERR_CONFIG;
    if (cfg->plastic_path < 0 || cfg->plastic_path > 2 || (cfg->plastic_path == 2 && !chunk_applies(cfg)))
        return SSMN_ERR_CONFIG;
    if ((cfg->pos_bias != 0 && cfg->pos_bias != 1) || (cfg->residual != 0 && cfg->residual != 1) ||
        (cfg->neuromod != 0 && cfg->neuromod != 1) ||
        (cfg->learned_decay != 0 && cfg->learned_decay != 1) || cfg->norm < 0 || cfg->norm > 2)
        return SSMN_ERR_CONFIG;
    if (cfg->tied && (cfg->vocab == 0 || cfg->d_in != cfg->hidden || cfg->d_out != cfg->vocab))
        return SSMN_ERR_CONFIG;
    if (cfg->rule == SSMN_RULE_EXTERNAL) {
        if (!cfg->rule_update) return SSMN_ERR_RULE;
    } else if (cfg->rule < 0 || cfg->rule >= SSMN_N_BUILTIN_RULES) {
        return SSMN_ERR_RULE;
    }
    return SSMN_OK;
}

/* Accumulates `count` blocks of `size` floats at *cursor, recording the start in *offset. */
static int place(int64_t *cursor, int64_t *offset, int64_t size, int64_t count) {
    int64_t total;
    if (ssmn_mul(size, count, &total)) return SSMN_ERR_OVERFLOW;
    if (offset) *offset = *cursor;
    return ssmn_add(*cursor, total, cursor);
}

int ssmn_layout_of(const ssmn_config *cfg, ssmn_layout *L) {
    int rc = ssmn_check_config(cfg);
    if (rc) return rc;
    L->H = cfg->hidden; L->Din = cfg->d_in; L->Dout = cfg->d_out; L->w = cfg->window;
    L->S = cfg->n_static; L->P = cfg->n_plastic; L->V = cfg->vocab; L->C = cfg->chat_steps;
    L->pos_bias = cfg->pos_bias; L->residual = cfg->residual;
    L->neuromod = cfg->neuromod; L->learned_decay = cfg->learned_decay;
    int64_t H = L->H, HH, HHb, HDin, DoutH, wH, PHH, VDin, pl, gates;
    L->nh = cfg->n_heads;
    L->dh = H / L->nh;
    L->norm = cfg->norm;
    L->chunk_min_T = !chunk_applies(cfg) || cfg->plastic_path == 1 ? INT64_MAX
                     : (cfg->plastic_path == 2 ? 1 : SSMN_CHUNK_AUTO_T);
    L->chunk_max_T = cfg->plastic_path == 2 ? INT64_MAX : SSMN_CHUNK_AUTO_MAX_T;
    if (ssmn_mul(H, H, &HH) || ssmn_add(HH, H, &HHb) || ssmn_mul(H, L->Din, &HDin) ||
        ssmn_mul(L->Dout, H, &DoutH) || ssmn_mul(L->w, H, &wH) || ssmn_mul(L->P, HH / L->nh, &PHH) ||
        ssmn_mul(L->V, L->Din, &VDin) || ssmn_mul(2 * (int64_t)L->C + 1, H, &pl) ||
        ssmn_mul(L->nh, H + 1, &gates) || ssmn_mul(L->neuromod + L->learned_decay, gates, &gates))
        return SSMN_ERR_OVERFLOW;
    L->WF = HH / L->nh; /* nh blocks of dh^2 */
    L->gate_stride = gates;
    L->norm_stride = L->norm == 2 ? 2 * H : (L->norm == 1 ? H : 0);

    int64_t c = 0;
    if (place(&c, &L->emb, VDin, 1) || place(&c, &L->W_in, HDin, 1) || place(&c, &L->b_in, H, 1) ||
        place(&c, &L->W_q, HH, 1) || place(&c, &L->W_k, HH, 1) || place(&c, &L->W_v, HH, 1) ||
        place(&c, &L->W_o, HH, 1) || place(&c, &L->attn_bias, L->pos_bias ? L->w : 0, L->nh) ||
        place(&c, &L->stat0, HHb, L->S) ||
        place(&c, &L->plas0, HHb, L->P) || place(&c, &L->gate0, L->gate_stride, L->P) ||
        place(&c, &L->norm0, L->norm_stride, L->S + L->P) ||
        place(&c, &L->W_out, cfg->tied ? 0 : DoutH, 1) ||
        place(&c, &L->b_out, L->Dout, 1))
        return SSMN_ERR_OVERFLOW;
    if (cfg->tied) L->W_out = L->emb;
    L->n_params = c;

    c = 0;
    if (place(&c, &L->s_K, wH, 1) || place(&c, &L->s_V, wH, 1) || place(&c, &L->s_Wf, PHH, 1) ||
        place(&c, &L->s_entropy, 1, 1) || place(&c, &L->s_rms, L->P, 1))
        return SSMN_ERR_OVERFLOW;
    L->n_state = c;

    c = 0;
    L->pl_stride = pl;
    if (place(&c, &L->c_x, L->V > 0 ? L->Din : 0, 1) || place(&c, &L->c_u, H, 1) ||
        place(&c, &L->c_q, H, 1) || place(&c, &L->c_k, H, 1) || place(&c, &L->c_v, H, 1) ||
        place(&c, &L->c_ctx, H, 1) || place(&c, &L->c_z, H, L->S + 1) ||
        place(&c, &L->c_pl, pl, L->P) || place(&c, &L->c_p, L->w, L->nh) ||
        place(&c, &L->c_g, SSMN_HAS_GATES(L) ? 2 * L->nh : 0, L->P) ||
        place(&c, &L->c_n, L->norm ? 2 * H + 1 : 0, L->S + L->P))
        return SSMN_ERR_OVERFLOW;
    L->n_cache = c;
    return SSMN_OK;
}

int ssmn_feature_offset(const ssmn_config *cfg, int64_t *offset) {
    if (!offset) return SSMN_ERR_NULL;
    ssmn_layout L;
    int rc = ssmn_layout_of(cfg, &L);
    if (rc) return rc;
    *offset = SSMN_C_ZF(&L);
    return SSMN_OK;
}

int ssmn_param_table(const ssmn_config *cfg, int64_t *offsets, int64_t *sizes, int64_t cap,
                     int64_t *count) {
    if (!count || (cap > 0 && (!offsets || !sizes))) return SSMN_ERR_NULL;
    if (cap < 0) return SSMN_ERR_ARG;
    ssmn_layout L;
    int rc = ssmn_layout_of(cfg, &L);
    if (rc) return rc;
    const int64_t H = L.H, HH = H * H;
    int64_t n = 0;
#define TENSOR(off, size)                                                                          \
    do {                                                                                           \
        if (n < cap) { offsets[n] = (off); sizes[n] = (size); }                                    \
        n++;                                                                                       \
    } while (0)
    if (L.V > 0) TENSOR(L.emb, L.V * L.Din);
    TENSOR(L.W_in, H * L.Din); TENSOR(L.b_in, H);
    TENSOR(L.W_q, HH); TENSOR(L.W_k, HH); TENSOR(L.W_v, HH); TENSOR(L.W_o, HH);
    if (L.pos_bias) TENSOR(L.attn_bias, L.nh * L.w);
    for (int64_t i = 0; i < L.S; i++) { TENSOR(SSMN_STATIC_W(&L, i), HH); TENSOR(SSMN_STATIC_B(&L, i), H); }
    for (int64_t j = 0; j < L.P; j++) { TENSOR(SSMN_PLASTIC_W(&L, j), HH); TENSOR(SSMN_PLASTIC_B(&L, j), H); }
    for (int64_t j = 0; j < L.P; j++) {
        if (L.neuromod) { TENSOR(SSMN_GATE_ETA(&L, j), L.nh * H); TENSOR(SSMN_GATE_ETA(&L, j) + L.nh * H, L.nh); }
        if (L.learned_decay) {
            TENSOR(SSMN_GATE_DECAY(&L, j), L.nh * H);
            TENSOR(SSMN_GATE_DECAY(&L, j) + L.nh * H, L.nh);
        }
    }
    for (int64_t k = 0; L.norm && k < L.S + L.P; k++) {
        TENSOR(SSMN_NORM_G(&L, k), H);
        if (L.norm == 2) TENSOR(SSMN_NORM_B(&L, k), H);
    }
    if (!cfg->tied) TENSOR(L.W_out, L.Dout * H);
    TENSOR(L.b_out, L.Dout);
#undef TENSOR
    *count = n;
    return SSMN_OK;
}

int ssmn_threads(const ssmn_config *cfg) {
#ifdef _OPENMP
    return cfg->n_threads > 1 ? cfg->n_threads : 1;
#else
    (void)cfg;
    return 1;
#endif
}

int ssmn_stream_threads(const ssmn_config *cfg, int64_t B) {
    int nt = cfg->rule == SSMN_RULE_EXTERNAL ? 1 : ssmn_threads(cfg);
    return B < nt ? (int)(B > 1 ? B : 1) : nt;
}

int64_t ssmn_lockstep(const ssmn_config *cfg, int64_t B) { return cfg->rule == SSMN_RULE_EXTERNAL ? B : 1; }

int ssmn_work_of(const ssmn_layout *L, int64_t B, int64_t T, int nt, int64_t nb, ssmn_work *W) {
    const int64_t H = L->H, PWF = L->P * L->WF; /* P WF <= P H^2, checked by the layout */
    int64_t BT, BTH, nPWF, nWF, nH, nR, c = 0;
    W->K = ssmn_segment_len(L, T);
    W->nseg = T > 0 ? (T + W->K - 1) / W->K : 0;
    W->nt = nt;
    W->nb = nb;
    W->chunked = SSMN_CHUNKED(L, T);
    ssmn_chunk Ch;
    if (ssmn_chunk_of(W->chunked ? W->K : 0, H, &Ch)) return SSMN_ERR_OVERFLOW;
    if (ssmn_mul(B, T, &BT) || ssmn_mul(BT, H, &BTH) || ssmn_mul(nb, PWF, &nPWF) || ssmn_mul(nb, L->WF, &nWF) ||
        ssmn_mul(nb, H, &nH) || ssmn_mul(nb, L->nh, &nR))
        return SSMN_ERR_OVERFLOW;
    if (place(&c, &W->dA, BTH, 1) || place(&c, &W->dB, BTH, 1) || place(&c, &W->dQ, BTH, 1) ||
        place(&c, &W->dK, BTH, 1) || place(&c, &W->dV, BTH, 1) || place(&c, &W->dPre, BTH, L->P) ||
        place(&c, &W->dX, L->V > 0 ? L->Din : 0, BT) || place(&c, &W->pack, SSMN_PACK_FLOATS, 1))
        return SSMN_ERR_OVERFLOW;
    W->thr = c;
    c = 0;
    if (place(&c, &W->G, nPWF, 1) || place(&c, &W->ckpt, nPWF, W->nseg) || place(&c, &W->seg, nPWF, W->chunked ? 0 : W->K) ||
        place(&c, &W->F, nWF, 1) || place(&c, &W->gz, nH, 1) || place(&c, &W->dh, nH, 1) ||
        place(&c, &W->dz, nH, 1) || place(&c, &W->dr, nH, 1) || place(&c, &W->pre, nH, 1) ||
        place(&c, &W->post, nH, 1) || place(&c, &W->row, H, 1) || place(&c, &W->rvec, H, SSMN_RULE_VECS) ||
        place(&c, &W->dp, L->w, 1) || place(&c, &W->eta, nR, 1) || place(&c, &W->decay, nR, 1) ||
        place(&c, &W->deta, nR, 1) || place(&c, &W->ddecay, nR, 1) ||
        place(&c, &W->grad, nt > 1 ? L->n_params : 0, 1) || place(&c, &W->chunk, W->chunked ? Ch.n : 0, 1))
        return SSMN_ERR_OVERFLOW;
    W->thr_n = c;
    c = W->thr;
    if (place(&c, NULL, W->thr_n, nt)) return SSMN_ERR_OVERFLOW;
    W->n_work = c;
    return SSMN_OK;
}

int ssmn_scratch_of(const ssmn_layout *L, int32_t rule, int with_pack, int nt, int64_t nb, int64_t T,
                    ssmn_scratch *S) {
    const int64_t lock = rule == SSMN_RULE_EXTERNAL ? nb : 0;
    int64_t nWF, c = 0;
    ssmn_chunk Ch;
    if (ssmn_mul(nb, L->WF, &nWF)) return SSMN_ERR_OVERFLOW;
    if (ssmn_chunk_of(SSMN_CHUNKED(L, T) ? ssmn_segment_len(L, T) : 0, L->H, &Ch)) return SSMN_ERR_OVERFLOW;
    if (place(&c, &S->pack, with_pack ? SSMN_PACK_FLOATS : 0, 1)) return SSMN_ERR_OVERFLOW;
    S->thr = c;
    c = 0;
    if (place(&c, &S->rvec, L->H, SSMN_RULE_VECS) || place(&c, &S->row, L->H, 1) ||
        place(&c, &S->before, rule != SSMN_RULE_HEBBIAN ? nWF : 0, 1) ||
        place(&c, &S->Wg, lock ? nWF : 0, L->P) || place(&c, &S->pre, L->H, lock) ||
        place(&c, &S->post, L->H, lock) || place(&c, &S->eta, L->nh, lock) || place(&c, &S->decay, L->nh, lock) ||
        place(&c, &S->chunk, Ch.n, 1))
        return SSMN_ERR_OVERFLOW;
    S->thr_n = c;
    c = S->thr;
    if (place(&c, NULL, S->thr_n, nt)) return SSMN_ERR_OVERFLOW;
    S->n = c;
    return SSMN_OK;
}

int ssmn_chunk_of(int64_t K, int64_t H, ssmn_chunk *C) {
    int64_t KK, KH, c = 0;
    if (K == 0) { /* no chunkwise path: no block */
        memset(C, 0, sizeof *C);
        return SSMN_OK;
    }
    if (ssmn_mul(K, K, &KK) || ssmn_mul(K, H, &KH)) return SSMN_ERR_OVERFLOW;
    if (place(&c, &C->D, KK, 1) || place(&c, &C->S, KK, 1) || place(&c, &C->M, KK, 1) || place(&c, &C->Pm, KK, 1) ||
        place(&c, &C->E, KK, 1) || place(&c, &C->Z, KK, 1) || place(&c, &C->e, K, 1) || place(&c, &C->kp, K, 1) ||
        place(&c, &C->A, K, 1) || place(&c, &C->c, K, 1) || place(&c, &C->de, K, 1) || place(&c, &C->dk, K, 1) ||
        place(&c, &C->a, K, 1) || place(&c, &C->X, KH, 1) || place(&c, &C->dR, KH, 1) || place(&c, &C->dh, KH, 1) ||
        place(&c, &C->dz, KH, 1) || place(&c, &C->tmp, KH, 1) || place(&c, &C->PG, KH, 1) ||
        place(&c, &C->AQ, KH, 1) || place(&c, &C->KK, KK, 1) || place(&c, &C->Lm, KK, 1) || place(&c, &C->Y, KK, 1) ||
        place(&c, &C->nrm, K, 1) || place(&c, &C->Kn, KH, 1) || place(&c, &C->U, KH, 1) || place(&c, &C->WK, KH, 1) ||
        place(&c, &C->dU, KH, 1) || place(&c, &C->dK, KH, 1) || place(&c, &C->pack, SSMN_PACK_FLOATS, 1))
        return SSMN_ERR_OVERFLOW;
    C->n = c;
    return SSMN_OK;
}

int ssmn_get_sizes(const ssmn_config *cfg, int64_t B, int64_t T, ssmn_sizes *out) {
    if (!cfg || !out) return SSMN_ERR_NULL;
    if (B < 1 || T < 0) return SSMN_ERR_ARG;
    ssmn_layout L;
    ssmn_work W;
    int rc = ssmn_layout_of(cfg, &L);
    if (rc || (rc = ssmn_work_of(&L, B, T, ssmn_stream_threads(cfg, B), ssmn_lockstep(cfg, B), &W))) return rc;
    out->n_params = L.n_params;
    out->n_state = L.n_state;
    out->n_cache = L.n_cache;
    out->n_work = W.n_work;
    int64_t per_stream;
    if (cfg->rule == SSMN_RULE_EXTERNAL) {
        out->n_ckpt = 0;
    } else if (ssmn_mul(W.nseg, L.P * L.WF, &per_stream) || ssmn_mul(per_stream, B, &out->n_ckpt)) {
        return SSMN_ERR_OVERFLOW;
    }
    return SSMN_OK;
}
