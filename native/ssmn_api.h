/* ssmn_api.h - the public C interface of the SSMN core, as cffi sees it.
 *
 * Plain declarations only (no macros): the build script hands this file to cffi's cdef.
 * Every entry point returns an ssmn status code (0 = ok); ssmn_error_message() gives text.
 *
 * Dimension legend used in shape comments:
 *   B streams, T time steps, Din inputs, H hidden, Dout outputs, w window,
 *   S static layers, P plastic layers, nh heads of d = H / nh.
 */

typedef struct {
    int64_t d_in;        /* Din */
    int64_t hidden;      /* H */
    int64_t d_out;       /* Dout */
    int64_t window;      /* w */
    int64_t n_static;    /* S */
    int64_t n_plastic;   /* P */
    int32_t rule;        /* 0 hebbian, 1 importance, 2 oja, 3 delta, 100 external */
    double eta;          /* plasticity rate */
    double decay;        /* lambda, weight decay of W_f per step */
    double clip;         /* |W_f| bound, applied after every rule */
    double alpha;        /* read-out gain of the fast weights */
    int64_t vocab;       /* V > 0: token input through an embedding table E (V, Din) (Text-Native) */
    int32_t chat_steps;  /* re-reads of W_f per plastic layer and step, >= 1 ("internal chat") */
    int32_t tied;        /* tokens only: the decoder is E itself (needs Din == H and Dout == V) */
    int32_t pos_bias;    /* 1: a learned bias per window offset (w parameters) on the attention logits */
    int32_t residual;    /* 1: attention block output is u + W_o ctx (skip connection from the encoder) */
    int32_t neuromod;    /* 1: write strength eta_t = eta sigmoid(w_eta . z + b_eta) per plastic layer and step */
    int32_t learned_decay; /* 1: decay lambda_t = sigmoid(w_lam . z + b_lam) per plastic layer and step */
    int32_t norm;        /* pre-norm of every static and plastic layer's input: 0 none, 1 RMS, 2 layer */
    int64_t n_heads;     /* nh >= 1 dividing H: attention heads, and fast-weight blocks (H/nh)^2 per plastic layer */
    int32_t n_threads;   /* threads one call may use (OpenMP): 0 or 1 = the calling thread only, at most 1024;
                          * results are the same run to run for a given count (see ssmn_internal.h) */
    int32_t plastic_path; /* how the plastic layers run: 0 auto = chunkwise where it applies and 16 <= T <= 4096,
                           * else step by step; 1 step by step always; 2 chunkwise wherever it applies.
                           * Chunkwise (matrix products over chunks of steps) applies to the built-in
                           * hebbian and delta rules with clip = inf and chat_steps = 1; 2 elsewhere is a
                           * config error */
    double rule_params[4]; /* rule-specific: importance (threshold, sharpness), delta (eps) */
    /* rule 100 only: int update(ctx, W (H,H) in/out, pre (H), post (H), H) and
     * int vjp(ctx, G (H,H) in dL/dW' out dL/dW, dpre (H) +=, dpost (H) +=, W, pre, post, H),
     * in the precision of the call (float or double); non-zero return = failure. vjp may be NULL
     * (no gradient training). */
    void *rule_ctx;
    void *rule_update;
    void *rule_vjp;
} ssmn_config;

typedef struct {
    int64_t n_params;      /* floats in the parameter block */
    int64_t n_state;       /* floats of state per stream */
    int64_t n_cache;       /* floats of activation cache per (stream, step) */
    int64_t n_work;        /* floats of backward workspace for (B, T) */
    int64_t n_ckpt;        /* floats of the fast-weight checkpoints a training forward keeps for (B, T)
                            * (0 with an external rule, which the backward replays) */
} ssmn_sizes;

int ssmn_abi_version(void);
const char *ssmn_error_message(int status);
int ssmn_check_config(const ssmn_config *cfg);
int ssmn_get_sizes(const ssmn_config *cfg, int64_t B, int64_t T, ssmn_sizes *out);

/* state (B, n_state), steps (B): zero the streams whose mask byte is non-zero (mask NULL = all). */
int ssmn_reset_f32(const ssmn_config *cfg, float *state, int64_t *steps, const uint8_t *mask, int64_t B);
int ssmn_reset_f64(const ssmn_config *cfg, double *state, int64_t *steps, const uint8_t *mask, int64_t B);

/* Sequence forward over (B, T), state carried in and out.
 * y (B,T,Dout) out; cache (B,T,n_cache) out, kept for ssmn_backward;
 * x (B,T,Din) when vocab == 0, else tokens (B,T) in [0, vocab) (the other one NULL);
 * params (n_params); state (B,n_state) and steps (B) updated in place.
 * A non-finite x (status 8) or an out-of-range token (status 11) is refused before the state is
 * touched.
 * The cache holds every activation the backward pass needs (O(T H + T w) per stream, no W_f). */
int ssmn_forward_f32(const ssmn_config *cfg, float *y, float *cache, float *state, int64_t *steps,
                     const float *x, const int32_t *tokens, const float *params, int64_t B, int64_t T);
int ssmn_forward_f64(const ssmn_config *cfg, double *y, double *cache, double *state, int64_t *steps,
                     const double *x, const int32_t *tokens, const double *params, int64_t B, int64_t T);

/* Sequence backward (BPTT) through the whole (B, T) sequence.
 * grad (n_params) is ACCUMULATED (+=); dstate0 (B,n_state) gets dL/d(state at sequence start)
 * (may be NULL); work (n_work) is scratch; cache comes from ssmn_forward on the same
 * x, params and starting state (state0, steps0: copies taken before that forward);
 * dy (B,T,Dout) is dL/dy. */
/* A training forward: ssmn_forward, and ckpt (n_ckpt floats) gets each stream's fast weights every
 * K = ceil(sqrt(T)) steps, which ssmn_backward then reads instead of replaying the updates. */
int ssmn_forward_train_f32(const ssmn_config *cfg, float *y, float *cache, float *ckpt, float *state,
                           int64_t *steps, const float *x, const int32_t *tokens, const float *params,
                           int64_t B, int64_t T);
int ssmn_forward_train_f64(const ssmn_config *cfg, double *y, double *cache, double *ckpt, double *state,
                           int64_t *steps, const double *x, const int32_t *tokens, const double *params,
                           int64_t B, int64_t T);

/* ckpt: what ssmn_forward_train kept for this call, or NULL (the updates are replayed). */
int ssmn_backward_f32(const ssmn_config *cfg, float *grad, float *dstate0, float *work, const float *ckpt,
                      const float *dy, const float *cache, const float *state0, const int64_t *steps0,
                      const float *x, const int32_t *tokens, const float *params, int64_t B, int64_t T);
int ssmn_backward_f64(const ssmn_config *cfg, double *grad, double *dstate0, double *work, const double *ckpt,
                      const double *dy, const double *cache, const double *state0, const int64_t *steps0,
                      const double *x, const int32_t *tokens, const double *params, int64_t B, int64_t T);

/* Fused softmax cross-entropy on logits (N,V) with int64 targets (N) and per-row weights (N):
 * *loss = sum_n weight[n] (logsumexp(logits[n]) - logits[n,target[n]]); dlogits (N,V) =
 * weight[n] (softmax(logits[n]) - onehot(target[n])), may be the logits buffer itself. */
int ssmn_softmax_xent_f32(double *loss, float *dlogits, const float *logits, const int64_t *targets,
                          const double *weight, int64_t N, int64_t V);
int ssmn_softmax_xent_f64(double *loss, double *dlogits, const double *logits, const int64_t *targets,
                          const double *weight, int64_t N, int64_t V);
/* Offset, inside one cache record, of the last hidden vector z (H floats) that feeds the
 * read-out: the model's features for reservoir-style use. */
int ssmn_feature_offset(const ssmn_config *cfg, int64_t *offset);

/* The parameter block tensor by tensor, in block order: offsets and sizes (in floats) of up to
 * cap tensors (both arrays may be NULL when cap is 0); *count gets the number of tensors (the names are documented in ssmn_internal.h
 * and mirrored by ssmn_rl/layout.py, which checks itself against this table). */
int ssmn_param_table(const ssmn_config *cfg, int64_t *offsets, int64_t *sizes, int64_t cap,
                     int64_t *count);

/* The prototype's way, kept only as a benchmark baseline: one stream, one step, recomputing
 * every key and value of the window from the stored encodings. u_hist (w, H) ring of encodings;
 * cache (n_cache) scratch; y (Dout); x (Din). */
int ssmn_naive_step_f32(const ssmn_config *cfg, float *y, float *cache, float *state, float *u_hist,
                        int64_t *steps, const float *x, const float *params);

/* A population stepped as one batch: B active streams, each with its own parameter vector
 * (native/population.c). y (B,T,Dout) out; cache (B,T,n_cache) scratch; x (B,T,Din) or tokens
 * (B,T); state (n_rows,n_state) and steps (n_rows) in/out; params: n_rows rows of params_stride
 * (>= n_params) reals; rows (B): distinct rows of state/steps/params that the active streams are
 * (NULL: 0..B-1); n_threads >= 1 OpenMP threads over streams. Each stream gives exactly what
 * ssmn_forward with B = 1 gives on its own row. */
int ssmn_forward_population_f32(const ssmn_config *cfg, float *y, float *cache, float *state, int64_t *steps,
                                const float *x, const int32_t *tokens, const float *params,
                                int64_t params_stride, const int64_t *rows, int64_t n_rows, int64_t B,
                                int64_t T, int32_t n_threads);
int ssmn_forward_population_f64(const ssmn_config *cfg, double *y, double *cache, double *state,
                                int64_t *steps, const double *x, const int32_t *tokens, const double *params,
                                int64_t params_stride, const int64_t *rows, int64_t n_rows, int64_t B,
                                int64_t T, int32_t n_threads);
