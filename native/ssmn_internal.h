/* ssmn_internal.h - status codes and the memory layout shared by every kernel file.
 *
 * The layout (where each parameter, state and cache tensor lives inside its flat block) is
 * computed in exactly one place, ssmn_layout_of(), so C and Python never disagree: Python reads
 * the sizes through ssmn_get_sizes() and the parameter order documented below.
 *
 * Parameter block (n_params floats), in this order:
 *   [E (V,Din) when vocab > 0] | W_in (H,Din) b_in (H) | W_q W_k W_v W_o (H,H) each |
 *   [attention bias (nh,w) per head and window offset, 0 = current step, when pos_bias] |
 *   S x [W_s (H,H) b_s (H)] | P x [P_j (H,H) c_j (H)] |
 *   P x [[w_eta (nh,H) b_eta (nh) when neuromod] [w_lam (nh,H) b_lam (nh) when learned_decay]] |
 *   [(S + P) x [gain (H), bias (H) for layer norm] when norm: static layers, then plastic] |
 *   [W_out (Dout,H) unless tied] b_out (Dout)
 * State of one stream (n_state floats):
 *   K ring (w,H) | V ring (w,H) | W_f (P,nh,d,d) | attention entropy (1) | update RMS (P)
 *   (W_f of a plastic layer is block-diagonal: head h's block reads and writes the h-th slices
 *   of pre and post; the mean attention entropy over heads)
 *   plus an int64 step counter per stream kept outside the float block.
 * Cache record of one (stream, step) (n_cache floats):
 *   [x = E[token] (Din) when vocab > 0] | u q k v ctx (H each) | z_0..z_S (S+1,H) |
 *   P x [h (H), C x (tanh(r_k) (H), q_k (H))] | attn p (nh,w) |
 *   [P x nh x (s_eta, s_lam) when neuromod or learned_decay: the gates' sigmoids, so that
 *    eta_t = eta s_eta and lambda_t = s_lam (each 1 and the fixed value when its gate is off)] |
 *   [(S + P) x [y (H), xhat (H), r (1)] when norm: each layer's normalised input y = gain xhat
 *    (+ bias), xhat and the inverse RMS r; static layers, then plastic]
 *   where C = chat_steps, q_k = h + alpha tanh(W_f q_{k-1}), q_{-1} = h; the layer's output is q_{C-1}.
 */
#ifndef SSMN_INTERNAL_H
#define SSMN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "ssmn_api.h"

enum {
    SSMN_OK = 0,
    SSMN_ERR_NULL = 1,
    SSMN_ERR_CONFIG = 2,
    SSMN_ERR_OVERFLOW = 3,
    SSMN_ERR_NOMEM = 4,
    SSMN_ERR_ARG = 5,
    SSMN_ERR_RULE = 6,
    SSMN_ERR_STATE = 7,
    SSMN_ERR_NONFINITE = 8,
    SSMN_ERR_CALLBACK = 9,
    SSMN_ERR_NO_VJP = 10,
    SSMN_ERR_TOKEN = 11,
    SSMN_N_STATUS = 12
};

enum {
    SSMN_RULE_HEBBIAN = 0,
    SSMN_RULE_IMPORTANCE = 1,
    SSMN_RULE_OJA = 2,
    SSMN_RULE_DELTA = 3,
    SSMN_N_BUILTIN_RULES = 4,
    SSMN_RULE_EXTERNAL = 100 /* update/vjp function pointers in the config */
};

/* H-vectors of scratch a rule may use (x->vec) */
#define SSMN_RULE_VECS 4

#define SSMN_ABI_VERSION 7

typedef struct {
    int64_t H, Din, Dout, w, S, P, V, C, pos_bias, residual, neuromod, learned_decay, norm;
    int64_t nh, dh, WF; /* heads, head width H / nh, floats of one plastic layer's W_f (nh dh^2) */
    int64_t chunk_min_T, chunk_max_T; /* the plastic layers run chunkwise (plastic_chunk.c) on calls
                          * of chunk_min_T <= T <= chunk_max_T (min INT64_MAX where the chunkwise path
                          * does not apply or is switched off) */
    /* parameter offsets (W_out == emb when tied); plastic layer j's gates start at
     * gate0 + j * gate_stride */
    int64_t emb, W_in, b_in, W_q, W_k, W_v, W_o, attn_bias, stat0, plas0, gate0, gate_stride;
    int64_t norm0, norm_stride; /* layer k's norm (static 0..S-1, then plastic) at norm0 + k stride */
    int64_t W_out, b_out, n_params;
    /* state offsets */
    int64_t s_K, s_V, s_Wf, s_entropy, s_rms, n_state;
    /* cache record offsets; plastic layer j starts at c_pl + j * pl_stride */
    int64_t c_x, c_u, c_q, c_k, c_v, c_ctx, c_z, c_pl, pl_stride, c_p, c_g, c_n, n_cache;
} ssmn_layout;

int ssmn_layout_of(const ssmn_config *cfg, ssmn_layout *L);

/* Threads. A call runs on up to cfg->n_threads OpenMP threads (1 without OpenMP): the GEMMs split
 * their register tiles, row-wise loops their rows, and the per-stream loops (window attention,
 * plastic layers) their streams, in contiguous static blocks. Every output element is computed
 * by one thread in the serial order, except the parameter gradients of the per-stream loops
 * (gates, norms, attention bias), which each thread accumulates into its own copy of the gradient;
 * the copies are added in thread order afterwards. So a call gives the same result run to run for
 * a given thread count, and the forward pass the same result for every count. An external rule
 * (third-party C or a Python callback) runs on the calling thread only. */
#define SSMN_MAX_THREADS 1024
int ssmn_threads(const ssmn_config *cfg);                   /* for GEMMs and row loops */
int ssmn_stream_threads(const ssmn_config *cfg, int64_t B); /* for the per-stream loops */

/* Streams whose plastic layers run in lock-step: an external rule is called once per step and
 * layer for all B streams (and heads) at once, so their fast weights and per-step vectors are
 * kept side by side (B of them); built-in rules run one stream at a time (1). */
int64_t ssmn_lockstep(const ssmn_config *cfg, int64_t B);

/* The backward pass's workspace of a (B, T) call (n_work floats), carved by ssmn_work_of():
 * token-major gradient rows dA, dB, dQ, dK, dV (B*T, H), the plastic layers' dL/d(pre-ReLU)
 * dPre (P, B*T, H), the embedding rows' dX (B*T, Din) with tokens; the GEMM pack; then nt blocks
 * of thr_n floats, one per stream thread (block t at thr + t thr_n), each holding, at the offsets
 * below, what the nb streams it runs in lock-step (see ssmn_lockstep) need: the fast-weight
 * gradients G (P, nb, WF), checkpoints ckpt (nseg, P, nb, WF) every K steps and a segment's
 * matrices seg (K, P, nb, WF), a scratch memory F (nb, WF); vectors gz, dh, dz, dr, pre, post
 * (nb, H) and row (H); the rules' vectors rvec (SSMN_RULE_VECS, H); attention scores dp (w);
 * per memory block the rates eta, decay and their gradients deta, ddecay (nb, nh); and, when
 * nt > 1, the thread's own parameter gradient grad (n_params). */
typedef struct {
    int64_t K, nseg, nt, nb, chunked;
    int64_t dA, dB, dQ, dK, dV, dPre, dX, pack, thr, thr_n;
    int64_t G, ckpt, seg, F, gz, dh, dz, dr, pre, post, row, rvec, dp, eta, decay, deta, ddecay, grad, chunk;
    int64_t n_work;
} ssmn_work;
int ssmn_work_of(const ssmn_layout *L, int64_t B, int64_t T, int nt, int64_t nb, ssmn_work *W);

/* The chunkwise path's scratch for chunks of up to K steps, one block per stream thread (ssmn_work
 * .chunk, ssmn_scratch.chunk), carved by ssmn_chunk_of(): (K, K) matrices of the chunk's decays D,
 * scores S, decayed scores M, output-gradient scores Pm, E = D e Pm and the gate terms Z; (K)
 * vectors of write strengths e, keeps kp, cumulative keeps A, coefficients c and the gates'
 * gradients de, dk, a; (K, H) rows X, dR, dh, dz, tmp, PG, AQ; for the delta rule (K, K) key
 * products KK, its solve's L (Lm) and their gradients Y, (K) key norms nrm and (K, H) rows of keys
 * Kn, values U, W k_t (WK) and the gradients dU, dK; and a GEMM pack of its own. */
typedef struct {
    int64_t D, S, M, Pm, E, Z, e, kp, A, c, de, dk, a, X, dR, dh, dz, tmp, PG, AQ;
    int64_t KK, Lm, Y, nrm, Kn, U, WK, dU, dK, pack, n;
} ssmn_chunk;
int ssmn_chunk_of(int64_t K, int64_t H, ssmn_chunk *C);
/* whether a call of T steps runs the plastic layers chunkwise */
#define SSMN_CHUNKED(L, T) ((L)->P > 0 && (T) >= (L)->chunk_min_T && (T) <= (L)->chunk_max_T)

/* The forward pass's scratch (allocated per call), carved by ssmn_scratch_of(): the GEMM pack
 * when with_pack (calls with enough rows to pack), then nt blocks of thr_n floats, one per stream
 * thread (block t at thr + t thr_n), each with the rules' vectors rvec (SSMN_RULE_VECS, H), a row
 * (H), a copy of the nb lock-step streams' memories before (nb, WF) for the update statistic of
 * non-hebbian rules; with an external rule also their memories Wg (P, nb, WF), pre and post (nb, H) and the
 * rates eta, decay (nb, nh). */
typedef struct {
    int64_t pack, thr, thr_n, rvec, row, before, Wg, pre, post, eta, decay, chunk, n;
} ssmn_scratch;
int ssmn_scratch_of(const ssmn_layout *L, int32_t rule, int with_pack, int nt, int64_t nb, int64_t T,
                    ssmn_scratch *S);
/* a*b and a+b into *out, returning SSMN_ERR_OVERFLOW when the product leaves int64 range */
int ssmn_mul(int64_t a, int64_t b, int64_t *out);
int ssmn_add(int64_t a, int64_t b, int64_t *out);
/* checkpoint segment length used by the backward pass for a sequence of T steps: ceil(sqrt(T)),
 * at least SSMN_CHUNK_MIN_LEN (or T) where the call runs chunkwise, its segments being its chunks */
int64_t ssmn_segment_len(const ssmn_layout *L, int64_t T);

/* GEMM packing buffer in reals: GEMM_MC*GEMM_KC + GEMM_KC*GEMM_NC (see gemm.c). */
#define SSMN_PACK_FLOATS ((int64_t)(96 * 256 + 256 * 1024))

/* Per-layer parameter addresses (static layer i, plastic layer j). */
#define SSMN_STATIC_W(L, i)  ((L)->stat0 + (i) * ((L)->H * (L)->H + (L)->H))
#define SSMN_STATIC_B(L, i)  (SSMN_STATIC_W(L, i) + (L)->H * (L)->H)
#define SSMN_PLASTIC_W(L, j) ((L)->plas0 + (j) * ((L)->H * (L)->H + (L)->H))
#define SSMN_PLASTIC_B(L, j) (SSMN_PLASTIC_W(L, j) + (L)->H * (L)->H)

/* Gate parameters of plastic layer j: write strength w_eta (nh,H) then b_eta (nh); decay w_lam
 * (nh,H) then b_lam (nh). Head hd's weights are at + hd * H, its bias at + nh * H + hd. */
#define SSMN_GATE_ETA(L, j)   ((L)->gate0 + (j) * (L)->gate_stride)
#define SSMN_GATE_DECAY(L, j) (SSMN_GATE_ETA(L, j) + ((L)->neuromod ? (L)->nh * ((L)->H + 1) : 0))
/* the two gate sigmoids of plastic layer j, head hd, in a cache record */
#define SSMN_C_GATE(L, j, hd) ((L)->c_g + 2 * ((j) * (L)->nh + (hd)))
#define SSMN_HAS_GATES(L)     ((L)->neuromod || (L)->learned_decay)

/* Cache-record offsets of plastic layer j: h, tanh(r_k), q_k (chat step k), output, input. */
#define SSMN_C_H(L, j)     ((L)->c_pl + (j) * (L)->pl_stride)
#define SSMN_C_TR(L, j, k) (SSMN_C_H(L, j) + (L)->H + 2 * (k) * (L)->H)
#define SSMN_C_Q(L, j, k)  (SSMN_C_TR(L, j, k) + (L)->H)
#define SSMN_C_OUT(L, j)   SSMN_C_Q(L, j, (L)->C - 1)
#define SSMN_C_ZS(L)       ((L)->c_z + (L)->S * (L)->H)
/* Norm k (static layers 0..S-1, then plastic layers): gain, bias (layer norm); cache y, xhat, r. */
#define SSMN_NORM_G(L, k)  ((L)->norm0 + (k) * (L)->norm_stride)
#define SSMN_NORM_B(L, k)  (SSMN_NORM_G(L, k) + (L)->H)
#define SSMN_C_NRM(L, k)   ((L)->c_n + (k) * (2 * (L)->H + 1))
/* What a layer reads: static layer i's input, plastic layer j's raw input and (normalised) input. */
#define SSMN_C_SIN(L, i)   ((L)->norm ? SSMN_C_NRM(L, i) : (L)->c_z + (i) * (L)->H)
#define SSMN_C_ZRAW(L, j)  ((j) ? SSMN_C_OUT(L, (j) - 1) : SSMN_C_ZS(L))
#define SSMN_C_ZIN(L, j)   ((L)->norm ? SSMN_C_NRM(L, (L)->S + (j)) : SSMN_C_ZRAW(L, j))
#define SSMN_C_ZF(L)       ((L)->P > 0 ? SSMN_C_OUT(L, (L)->P - 1) : SSMN_C_ZS(L))

#endif
