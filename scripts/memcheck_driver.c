/* memcheck_driver.c - drives every entry point of the C core (native/) from plain C, so that
 * valgrind memcheck sees the kernels without the Python interpreter around them.
 *
 * For each variant (real input, tokens, tied decoder, chat steps, no static / no plastic layers,
 * every built-in rule and an external C rule) and both precisions it runs: sizes, reset, forward
 * in two chunks carrying the state and in one call (the outputs must agree), backward with and
 * without the initial-state gradient, masked reset, the feature offset, the naive f32 step, and
 * the error paths (NaN input, token out of range, negative step counter, B = 0, NULL buffers,
 * invalid and overflowing configurations, a failing external rule) - each status code checked.
 * Exit status 0 only if every check passed. Not a test of the numbers (tests/ does that).
 * Built and run by scripts/run_memcheck.sh.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssmn_api.h"

enum { ST_OK = 0, ST_NULL = 1, ST_CONFIG = 2, ST_OVERFLOW = 3, ST_ARG = 5, ST_STATE = 7,
       ST_NONFINITE = 8, ST_CALLBACK = 9, ST_TOKEN = 11, RULE_EXTERNAL = 100 };

static int n_checks = 0, n_failed = 0;

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        n_checks++;                                                               \
        if (!(cond)) {                                                            \
            n_failed++;                                                           \
            fprintf(stderr, "FAILED %s:%d (%s): ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                         \
            fputc('\n', stderr);                                                  \
        }                                                                         \
    } while (0)

/* deterministic numbers in [-1, 1) (no rand(): same run on every machine) */
static uint64_t lcg_state = 12345;
static double lcg(void) {
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg_state >> 11) / (double)(1ULL << 52) - 1.0;
}

typedef struct {
    const char *name;
    int64_t d_in, hidden, d_out, window, n_static, n_plastic, vocab;
    int32_t rule, chat_steps, tied, pos_bias, residual, neuromod, learned_decay, norm, n_heads, n_threads;
    int32_t plastic_path; /* 2: chunkwise (with clip = inf) */
} variant;

/* Every field starts at 0 (fields added to ssmn_config later keep their default), then set. */
static ssmn_config make_config(const variant *v) {
    ssmn_config c;
    memset(&c, 0, sizeof c);
    c.d_in = v->d_in;
    c.hidden = v->hidden;
    c.d_out = v->d_out;
    c.window = v->window;
    c.n_static = v->n_static;
    c.n_plastic = v->n_plastic;
    c.vocab = v->vocab;
    c.rule = v->rule;
    c.chat_steps = v->chat_steps;
    c.tied = v->tied;
    c.pos_bias = v->pos_bias;
    c.residual = v->residual;
    c.neuromod = v->neuromod;
    c.learned_decay = v->learned_decay;
    c.norm = v->norm;
    c.n_heads = v->n_heads ? v->n_heads : 1; /* 0 in the table: one head */
    c.n_threads = v->n_threads;
    c.eta = 0.05;
    c.decay = 0.01;
    c.clip = v->plastic_path == 2 ? INFINITY : 1.0;
    c.plastic_path = v->plastic_path;
    c.alpha = 0.3;
    if (v->rule == 1) { /* importance: threshold, sharpness */
        c.rule_params[0] = 0.5;
        c.rule_params[1] = 10.0;
    } else if (v->rule == 3) { /* delta: eps */
        c.rule_params[0] = 1e-6;
    }
    return c;
}

/* External rule (rule id 100), n blocks per call: W' = (1 - decay) W + eta post pre^T, and its
 * vjp (with dL/deta, dL/ddecay when asked). ctx points to a call counter; a non-negative limit in
 * it makes the update fail once the counter reaches it. */
typedef struct {
    long calls, fail_after;
} ext_ctx;

#define EXT_RULE(real, suf)                                                                      \
    static int ext_update_##suf(void *ctx, real *W, const real *pre, const real *post,          \
                                const real *eta, const real *decay, int64_t n, int64_t H) {     \
        ext_ctx *c = (ext_ctx *)ctx;                                                             \
        if (c->fail_after >= 0 && c->calls++ >= c->fail_after) return 1;                         \
        for (int64_t b = 0; b < n; b++)                                                          \
            for (int64_t i = 0; i < H; i++)                                                      \
                for (int64_t k = 0; k < H; k++) {                                                \
                    real *w = W + (b * H + i) * H + k;                                           \
                    *w = (1 - decay[b]) * *w + eta[b] * post[b * H + i] * pre[b * H + k];        \
                }                                                                                \
        return 0;                                                                                \
    }                                                                                            \
    static int ext_vjp_##suf(void *ctx, real *G, real *dpre, real *dpost, real *deta,           \
                             real *ddecay, const real *W, const real *pre, const real *post,    \
                             const real *eta, const real *decay, int64_t n, int64_t H) {        \
        (void)ctx;                                                                               \
        for (int64_t b = 0; b < n; b++)                                                          \
            for (int64_t i = 0; i < H; i++)                                                      \
                for (int64_t k = 0; k < H; k++) {                                                \
                    real *g = G + (b * H + i) * H + k, pi = post[b * H + i], pk = pre[b * H + k]; \
                    dpost[b * H + i] += eta[b] * *g * pk;                                        \
                    dpre[b * H + k] += eta[b] * *g * pi;                                         \
                    if (deta) deta[b] += *g * pi * pk;                                           \
                    if (ddecay) ddecay[b] -= *g * W[(b * H + i) * H + k];                        \
                    *g *= 1 - decay[b];                                                          \
                }                                                                                \
        return 0;                                                                                \
    }

EXT_RULE(float, f32)
EXT_RULE(double, f64)

static void *xmalloc(size_t n) {
    void *p = calloc(n ? n : 1, 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* One variant in one precision: B streams of T steps. */
#define RUN_VARIANT(real, suf)                                                                   \
    static void run_##suf(const variant *v, int64_t B, int64_t T) {                              \
        ssmn_config cfg = make_config(v);                                                        \
        ext_ctx ectx = {0, -1};                                                                  \
        if (v->rule == RULE_EXTERNAL) {                                                          \
            cfg.rule_ctx = &ectx;                                                                \
            cfg.rule_update = (void *)ext_update_##suf;                                          \
            cfg.rule_vjp = (void *)ext_vjp_##suf;                                                \
        }                                                                                        \
        ssmn_sizes sz;                                                                           \
        int rc = ssmn_get_sizes(&cfg, B, T, &sz);                                                \
        CHECK(rc == ST_OK, "%s/" #suf ": ssmn_get_sizes -> %d", v->name, rc);                    \
        if (rc) return;                                                                          \
        const int64_t Din = v->d_in, Dout = v->d_out, NS = sz.n_state, NC = sz.n_cache;          \
        const int64_t T1 = T / 2, T2 = T - T1;                                                   \
        real *params = xmalloc(sizeof(real) * (size_t)sz.n_params);                              \
        for (int64_t i = 0; i < sz.n_params; i++) params[i] = (real)(0.4 * lcg());               \
        real *x = NULL;                                                                          \
        int32_t *tok = NULL;                                                                     \
        if (v->vocab > 0) {                                                                      \
            tok = xmalloc(sizeof(int32_t) * (size_t)(B * T));                                    \
            for (int64_t i = 0; i < B * T; i++) tok[i] = (int32_t)((lcg() + 1.0) * 0.5 * (double)v->vocab) % (int32_t)v->vocab; \
        } else {                                                                                 \
            x = xmalloc(sizeof(real) * (size_t)(B * T * Din));                                   \
            for (int64_t i = 0; i < B * T * Din; i++) x[i] = (real)(3.0 * lcg());                \
        }                                                                                        \
        real *state = xmalloc(sizeof(real) * (size_t)(B * NS));                                  \
        real *state0 = xmalloc(sizeof(real) * (size_t)(B * NS));                                 \
        int64_t *steps = xmalloc(sizeof(int64_t) * (size_t)B);                                   \
        int64_t *steps0 = xmalloc(sizeof(int64_t) * (size_t)B);                                  \
        real *y = xmalloc(sizeof(real) * (size_t)(B * T * Dout));                                \
        real *y1 = xmalloc(sizeof(real) * (size_t)(B * T * Dout));                               \
        real *cache = xmalloc(sizeof(real) * (size_t)(B * T * NC));                              \
        real *dy = xmalloc(sizeof(real) * (size_t)(B * T * Dout));                               \
        real *grad = xmalloc(sizeof(real) * (size_t)sz.n_params);                                \
        real *dstate0 = xmalloc(sizeof(real) * (size_t)(B * NS));                                \
        real *work = xmalloc(sizeof(real) * (size_t)sz.n_work);                                  \
        real *xb = NULL, *yb = NULL, *cb = NULL;                                                 \
        int32_t *tb = NULL;                                                                      \
        /* reset, then forward in two chunks (per stream: steps [0, T1) then [T1, T)) */         \
        rc = ssmn_reset_##suf(&cfg, state, steps, NULL, B);                                      \
        CHECK(rc == ST_OK, "%s/" #suf ": reset -> %d", v->name, rc);                             \
        for (int part = 0; part < 2; part++) {                                                   \
            int64_t t0 = part ? T1 : 0, n = part ? T2 : T1;                                      \
            if (n == 0) continue;                                                                \
            real *yc = xmalloc(sizeof(real) * (size_t)(B * n * Dout));                           \
            real *cc = xmalloc(sizeof(real) * (size_t)(B * n * NC));                             \
            real *xc = x ? xmalloc(sizeof(real) * (size_t)(B * n * Din)) : NULL;                 \
            int32_t *tc = tok ? xmalloc(sizeof(int32_t) * (size_t)(B * n)) : NULL;               \
            for (int64_t b = 0; b < B; b++) {                                                    \
                if (xc) memcpy(xc + b * n * Din, x + (b * T + t0) * Din, sizeof(real) * (size_t)(n * Din)); \
                if (tc) memcpy(tc + b * n, tok + b * T + t0, sizeof(int32_t) * (size_t)n);     \
            }                                                                                    \
            rc = ssmn_forward_##suf(&cfg, yc, cc, state, steps, xc, tc, params, B, n);           \
            CHECK(rc == ST_OK, "%s/" #suf ": chunked forward -> %d", v->name, rc);               \
            for (int64_t b = 0; b < B; b++)                                                      \
                memcpy(y1 + (b * T + t0) * Dout, yc + b * n * Dout, sizeof(real) * (size_t)(n * Dout)); \
            free(yc); free(cc); free(xc); free(tc);                                              \
        }                                                                                        \
        /* one call from a fresh state gives the same outputs */                                 \
        memset(state, 0, sizeof(real) * (size_t)(B * NS));                                       \
        memset(steps, 0, sizeof(int64_t) * (size_t)B);                                           \
        memcpy(state0, state, sizeof(real) * (size_t)(B * NS));                                  \
        memcpy(steps0, steps, sizeof(int64_t) * (size_t)B);                                      \
        rc = ssmn_forward_##suf(&cfg, y, cache, state, steps, x, tok, params, B, T);             \
        CHECK(rc == ST_OK, "%s/" #suf ": forward -> %d", v->name, rc);                           \
        double maxdiff = 0;                                                                      \
        int finite = 1;                                                                          \
        for (int64_t i = 0; i < B * T * Dout; i++) {                                             \
            double d = fabs((double)y[i] - (double)y1[i]);                                       \
            if (d > maxdiff) maxdiff = d;                                                        \
            finite &= isfinite(y[i]) != 0;                                                       \
        }                                                                                        \
        CHECK(finite, "%s/" #suf ": non-finite outputs", v->name);                               \
        CHECK(maxdiff < 1e-4, "%s/" #suf ": chunked and whole forward differ by %g", v->name, maxdiff); \
        for (int64_t b = 0; b < B; b++) CHECK(steps[b] == T, "%s: steps %lld", v->name, (long long)steps[b]); \
        /* backward, with and without the initial-state gradient */                              \
        for (int64_t i = 0; i < B * T * Dout; i++) dy[i] = y[i] / (real)(B * T);                \
        rc = ssmn_backward_##suf(&cfg, grad, dstate0, work, NULL, dy, cache, state0, steps0, x, tok,   \
                                 params, B, T);                                                  \
        CHECK(rc == ST_OK, "%s/" #suf ": backward -> %d", v->name, rc);                          \
        rc = ssmn_backward_##suf(&cfg, grad, NULL, work, NULL, dy, cache, state0, steps0, x, tok,      \
                                 params, B, T);                                                  \
        CHECK(rc == ST_OK, "%s/" #suf ": backward without dstate0 -> %d", v->name, rc);          \
        finite = 1;                                                                              \
        for (int64_t i = 0; i < sz.n_params; i++) finite &= isfinite(grad[i]) != 0;             \
        for (int64_t i = 0; i < B * NS; i++) finite &= isfinite(dstate0[i]) != 0;                \
        CHECK(finite, "%s/" #suf ": non-finite gradients", v->name);                             \
        /* a state that already holds T steps, carried into a backward pass */                   \
        memcpy(state0, state, sizeof(real) * (size_t)(B * NS));                                  \
        memcpy(steps0, steps, sizeof(int64_t) * (size_t)B);                                      \
        /* ... through a training forward that keeps its checkpoints: the same gradient */      \
        real *ckpt = xmalloc(sizeof(real) * (size_t)(sz.n_ckpt ? sz.n_ckpt : 1));                 \
        real *grad2 = xmalloc(sizeof(real) * (size_t)sz.n_params);                               \
        rc = ssmn_forward_train_##suf(&cfg, y, cache, ckpt, state, steps, x, tok, params, B, T); \
        CHECK(rc == ST_OK, "%s/" #suf ": second forward -> %d", v->name, rc);                    \
        memset(grad, 0, sizeof(real) * (size_t)sz.n_params); /* the backward adds into grad */   \
        rc = ssmn_backward_##suf(&cfg, grad, dstate0, work, sz.n_ckpt ? ckpt : NULL, dy, cache, state0, \
                                 steps0, x, tok, params, B, T);                                  \
        CHECK(rc == ST_OK, "%s/" #suf ": backward from a carried state -> %d", v->name, rc);     \
        rc = ssmn_backward_##suf(&cfg, grad2, NULL, work, NULL, dy, cache, state0, steps0, x, tok, \
                                 params, B, T);                                                  \
        CHECK(rc == ST_OK, "%s/" #suf ": replayed backward -> %d", v->name, rc);                 \
        double gdiff = 0;                                                                        \
        for (int64_t i = 0; i < sz.n_params; i++) {                                              \
            double d = fabs((double)grad[i] - (double)grad2[i]);                                 \
            if (d > gdiff) gdiff = d;                                                            \
        }                                                                                        \
        CHECK(gdiff < 1e-4, "%s/" #suf ": kept and replayed checkpoints differ by %g", v->name, gdiff); \
        free(ckpt); free(grad2);                                                                 \
        /* masked reset and the feature offset */                                                \
        uint8_t *mask = xmalloc((size_t)B);                                                      \
        mask[0] = 1;                                                                             \
        rc = ssmn_reset_##suf(&cfg, state, steps, mask, B);                                      \
        CHECK(rc == ST_OK && steps[0] == 0 && (B < 2 || steps[1] == 2 * T), "%s: masked reset", v->name); \
        free(mask);                                                                              \
        int64_t off = -1;                                                                        \
        rc = ssmn_feature_offset(&cfg, &off);                                                    \
        CHECK(rc == ST_OK && off >= 0 && off + v->hidden <= NC, "%s: feature offset %lld", v->name, (long long)off); \
        /* error paths: refused before the state is touched, nothing leaked */                   \
        memcpy(state0, state, sizeof(real) * (size_t)(B * NS));                                  \
        memcpy(steps0, steps, sizeof(int64_t) * (size_t)B);                                      \
        if (x) {                                                                                 \
            xb = xmalloc(sizeof(real) * (size_t)(B * T * Din));                                  \
            memcpy(xb, x, sizeof(real) * (size_t)(B * T * Din));                                 \
            xb[B * T * Din - 1] = (real)NAN;                                                     \
            rc = ssmn_forward_##suf(&cfg, y, cache, state, steps, xb, NULL, params, B, T);       \
            CHECK(rc == ST_NONFINITE, "%s/" #suf ": NaN input -> %d", v->name, rc);              \
            xb[B * T * Din - 1] = (real)INFINITY;                                                \
            rc = ssmn_backward_##suf(&cfg, grad, NULL, work, NULL, dy, cache, state0, steps0, xb, NULL, params, B, T); \
            CHECK(rc == ST_NONFINITE, "%s/" #suf ": inf input to backward -> %d", v->name, rc);  \
            rc = ssmn_forward_##suf(&cfg, y, cache, state, steps, NULL, NULL, params, B, T);     \
            CHECK(rc == ST_NULL, "%s/" #suf ": NULL x -> %d", v->name, rc);                      \
        } else {                                                                                 \
            tb = xmalloc(sizeof(int32_t) * (size_t)(B * T));                                     \
            memcpy(tb, tok, sizeof(int32_t) * (size_t)(B * T));                                  \
            tb[B * T - 1] = (int32_t)v->vocab;                                                   \
            rc = ssmn_forward_##suf(&cfg, y, cache, state, steps, NULL, tb, params, B, T);       \
            CHECK(rc == ST_TOKEN, "%s/" #suf ": token == vocab -> %d", v->name, rc);             \
            tb[0] = -1;                                                                          \
            rc = ssmn_forward_##suf(&cfg, y, cache, state, steps, NULL, tb, params, B, T);       \
            CHECK(rc == ST_TOKEN, "%s/" #suf ": token -1 -> %d", v->name, rc);                   \
            rc = ssmn_forward_##suf(&cfg, y, cache, state, steps, NULL, NULL, params, B, T);     \
            CHECK(rc == ST_NULL, "%s/" #suf ": NULL tokens -> %d", v->name, rc);                 \
        }                                                                                        \
        CHECK(memcmp(state, state0, sizeof(real) * (size_t)(B * NS)) == 0 &&                     \
              memcmp(steps, steps0, sizeof(int64_t) * (size_t)B) == 0,                           \
              "%s/" #suf ": a refused call changed the state", v->name);                         \
        steps[0] = -1;                                                                           \
        rc = ssmn_forward_##suf(&cfg, y, cache, state, steps, x, tok, params, B, T);             \
        CHECK(rc == ST_STATE, "%s/" #suf ": negative step counter -> %d", v->name, rc);          \
        steps[0] = 0;                                                                            \
        rc = ssmn_forward_##suf(&cfg, y, cache, state, steps, x, tok, params, 0, T);             \
        CHECK(rc == ST_ARG, "%s/" #suf ": B = 0 -> %d", v->name, rc);                            \
        rc = ssmn_forward_##suf(&cfg, NULL, cache, state, steps, x, tok, params, B, T);          \
        CHECK(rc == ST_NULL, "%s/" #suf ": NULL y -> %d", v->name, rc);                          \
        rc = ssmn_forward_##suf(&cfg, y, cache, state, steps, x, tok, params, B, 0);             \
        CHECK(rc == ST_OK, "%s/" #suf ": T = 0 -> %d", v->name, rc);                             \
        if (v->rule == RULE_EXTERNAL) { /* the rule fails mid-sequence: status 9, scratch freed */ \
            ectx.calls = 0;                                                                      \
            ectx.fail_after = T / 2; /* the update runs once per step and layer, all streams */ \
            rc = ssmn_forward_##suf(&cfg, y, cache, state, steps, x, tok, params, B, T);         \
            CHECK(rc == ST_CALLBACK, "%s/" #suf ": failing external rule -> %d", v->name, rc);   \
            cfg.rule_vjp = NULL;                                                                 \
            ectx.fail_after = -1;                                                                \
            rc = ssmn_forward_##suf(&cfg, y, cache, state, steps, x, tok, params, B, T);         \
            CHECK(rc == ST_OK, "%s/" #suf ": external rule without vjp, forward -> %d", v->name, rc); \
            rc = ssmn_backward_##suf(&cfg, grad, NULL, work, NULL, dy, cache, state0, steps0, x, tok, params, B, T); \
            CHECK(rc == 10, "%s/" #suf ": external rule without vjp, backward -> %d", v->name, rc); \
        }                                                                                        \
        (void)yb; (void)cb;                                                                      \
        free(params); free(x); free(tok); free(state); free(state0); free(steps); free(steps0);  \
        free(y); free(y1); free(cache); free(dy); free(grad); free(dstate0); free(work);         \
        free(xb); free(tb);                                                                      \
    }

RUN_VARIANT(float, f32)
RUN_VARIANT(double, f64)

/* The prototype's recompute-the-window step (float32 only). */
static void run_naive(void) {
    variant v = {"naive", 3, 8, 2, 3, 1, 1, 0, 0, 1, 0, 0, 0};
    ssmn_config cfg = make_config(&v);
    ssmn_sizes sz;
    int rc = ssmn_get_sizes(&cfg, 1, 1, &sz);
    CHECK(rc == ST_OK, "naive: sizes -> %d", rc);
    float *params = xmalloc(sizeof(float) * (size_t)sz.n_params);
    for (int64_t i = 0; i < sz.n_params; i++) params[i] = (float)(0.4 * lcg());
    float *state = xmalloc(sizeof(float) * (size_t)sz.n_state);
    float *cache = xmalloc(sizeof(float) * (size_t)sz.n_cache);
    float *u_hist = xmalloc(sizeof(float) * (size_t)(v.window * v.hidden));
    float y[2], x[3];
    int64_t steps = 0;
    for (int t = 0; t < 7; t++) { /* past the window, so the ring wraps */
        for (int i = 0; i < 3; i++) x[i] = (float)lcg();
        rc = ssmn_naive_step_f32(&cfg, y, cache, state, u_hist, &steps, x, params);
        CHECK(rc == ST_OK && isfinite(y[0]) && isfinite(y[1]), "naive step %d -> %d", t, rc);
    }
    CHECK(steps == 7, "naive: steps %lld", (long long)steps);
    free(params); free(state); free(cache); free(u_hist);
}

/* Configurations the core must refuse, and the error-message table. */
static void run_bad_configs(void) {
    variant v = {"bad", 3, 8, 2, 3, 1, 1, 0, 0, 1, 0, 0, 0};
    ssmn_config cfg = make_config(&v);
    ssmn_sizes sz;
    cfg.hidden = 0;
    CHECK(ssmn_get_sizes(&cfg, 1, 1, &sz) == ST_CONFIG, "hidden = 0 accepted");
    cfg = make_config(&v);
    cfg.hidden = (int64_t)1 << 40;
    CHECK(ssmn_get_sizes(&cfg, 1, 1, &sz) == ST_OVERFLOW, "hidden = 2^40 did not overflow");
    cfg = make_config(&v);
    CHECK(ssmn_get_sizes(&cfg, (int64_t)1 << 62, (int64_t)1 << 62, &sz) == ST_OVERFLOW,
          "B = T = 2^62 did not overflow");
    cfg.decay = 1.0;
    CHECK(ssmn_check_config(&cfg) == ST_CONFIG, "decay = 1 accepted");
    cfg = make_config(&v);
    cfg.clip = NAN;
    CHECK(ssmn_check_config(&cfg) == ST_CONFIG, "clip = NaN accepted");
    cfg.clip = 1.0;
    cfg.plastic_path = 2;
    CHECK(ssmn_check_config(&cfg) == ST_CONFIG, "chunkwise path with a clip accepted");
    cfg.plastic_path = 3;
    cfg.clip = INFINITY;
    CHECK(ssmn_check_config(&cfg) == ST_CONFIG, "plastic_path = 3 accepted");
    cfg = make_config(&v);
    cfg.rule = 42;
    CHECK(ssmn_check_config(&cfg) != ST_OK, "rule 42 accepted");
    cfg = make_config(&v);
    cfg.rule = RULE_EXTERNAL; /* without an update function */
    CHECK(ssmn_check_config(&cfg) != ST_OK, "external rule without update accepted");
    cfg = make_config(&v);
    cfg.tied = 1; /* tied needs tokens */
    CHECK(ssmn_check_config(&cfg) == ST_CONFIG, "tied without vocab accepted");
    cfg = make_config(&v);
    cfg.neuromod = 2;
    CHECK(ssmn_check_config(&cfg) == ST_CONFIG, "neuromod = 2 accepted");
    cfg = make_config(&v);
    cfg.learned_decay = -1;
    CHECK(ssmn_check_config(&cfg) == ST_CONFIG, "learned_decay = -1 accepted");
    cfg = make_config(&v);
    cfg.n_heads = 3; /* does not divide hidden = 8 */
    CHECK(ssmn_check_config(&cfg) == ST_CONFIG, "n_heads = 3 with hidden = 8 accepted");
    cfg.n_heads = 0;
    CHECK(ssmn_check_config(&cfg) == ST_CONFIG, "n_heads = 0 accepted");
    cfg = make_config(&v);
    cfg.n_threads = -1;
    CHECK(ssmn_check_config(&cfg) == ST_CONFIG, "n_threads = -1 accepted");
    cfg.n_threads = 1025;
    CHECK(ssmn_check_config(&cfg) == ST_CONFIG, "n_threads = 1025 accepted");
    cfg = make_config(&v);
    cfg.norm = 3;
    CHECK(ssmn_check_config(&cfg) == ST_CONFIG, "norm = 3 accepted");
    {
        int64_t offs[64], lens[64], count = 0;
        cfg = make_config(&v);
        cfg.neuromod = cfg.learned_decay = 1;
        CHECK(ssmn_param_table(&cfg, offs, lens, 64, &count) == ST_OK && count > 0, "param table");
        CHECK(ssmn_param_table(&cfg, NULL, NULL, 0, &count) == ST_OK, "param table count only");
        CHECK(ssmn_param_table(&cfg, NULL, lens, 4, &count) == ST_NULL, "param table NULL offsets");
        CHECK(ssmn_param_table(&cfg, offs, lens, -1, &count) == ST_ARG, "param table cap < 0");
    }
    CHECK(ssmn_check_config(NULL) == ST_NULL, "NULL config accepted");
    for (int s = -1; s < 20; s++) CHECK(ssmn_error_message(s) != NULL, "no message for %d", s);
    CHECK(ssmn_abi_version() > 0, "abi version");
}

/* The fused softmax cross-entropy: a masked row, in-place output, and its error paths. */
#define XENT_RUN(suf, real)                                                                      \
    static void run_xent_##suf(void) {                                                           \
        enum { N = 4, V = 5 };                                                                   \
        real *logits = malloc(sizeof(real) * N * V);                                             \
        int64_t targets[N] = {0, 4, 2, 1};                                                       \
        double weight[N] = {0.25, 0.0, 0.5, 0.25}, loss = -1;                                    \
        for (int i = 0; i < N * V; i++) logits[i] = (real)(3 * lcg());                       \
        int rc = ssmn_softmax_xent_##suf(&loss, logits, logits, targets, weight, N, V);          \
        CHECK(rc == ST_OK && loss > 0, "xent/" #suf ": -> %d, loss %g", rc, loss);               \
        double row = 0;                                                                          \
        for (int j = 0; j < V; j++) row += logits[2 * V + j];                                    \
        CHECK(row < 1e-5 && row > -1e-5 && logits[V] == 0, "xent/" #suf ": gradient rows");       \
        targets[3] = V;                                                                          \
        CHECK(ssmn_softmax_xent_##suf(&loss, logits, logits, targets, weight, N, V) == ST_TOKEN,  \
              "xent/" #suf ": target == V");                                                     \
        targets[3] = 1;                                                                          \
        logits[0] = (real)NAN;                                                                   \
        CHECK(ssmn_softmax_xent_##suf(&loss, logits, logits, targets, weight, N, V) == ST_NONFINITE, \
              "xent/" #suf ": NaN logit");                                                       \
        CHECK(ssmn_softmax_xent_##suf(&loss, logits, NULL, targets, weight, N, V) == ST_NULL,     \
              "xent/" #suf ": NULL logits");                                                     \
        free(logits);                                                                            \
    }
XENT_RUN(f32, float)
XENT_RUN(f64, double)

int main(void) {
    static const variant variants[] = {
        /* name          Din  H  Dout w  S  P  V   rule chat tied pos_bias residual */
        {"hebbian",        3, 8,  2,  3, 2, 1, 0,   0,   1,   0, 0, 0},
        {"importance",     3, 8,  2,  3, 1, 1, 0,   1,   1,   0, 0, 0},
        {"oja",            3, 8,  2,  3, 1, 2, 0,   2,   1,   0, 0, 0},
        {"delta",          3, 8,  2,  3, 1, 1, 0,   3,   1,   0, 0, 0},
        {"external",       3, 6,  2,  2, 1, 1, 0, RULE_EXTERNAL, 1, 0, 0, 0},
        {"no_plastic",     3, 8,  2,  4, 2, 0, 0,   0,   1,   0, 0, 0},
        {"no_static",      2, 8,  3,  2, 0, 2, 0,   0,   1,   0, 0, 0},
        {"text_native",    4, 8,  7,  3, 1, 1, 7,   1,   2,   0, 0, 0},
        {"text_tied",      8, 8,  9,  3, 1, 1, 9,   3,   1,   1, 0, 0},
        {"window_1",       3, 5,  1,  1, 1, 1, 0,   0,   1,   0, 0, 0},
        {"pos_residual",   3, 8,  2,  3, 1, 1, 0,   3,   1,   0,   1,   1},
        {"text_pos",       4, 8,  7,  3, 1, 1, 7,   1,   2,   0,   1,   1},
        /* name          Din  H  Dout w  S  P  V   rule chat tied pos res neuromod learned_decay */
        {"gated_hebbian",  3, 8,  2,  3, 1, 2, 0,   0,   1,   0,   1,   1,   1,   1},
        {"gated_import",   3, 8,  2,  3, 1, 1, 0,   1,   2,   0,   0,   0,   1,   0},
        {"gated_oja",      3, 8,  2,  3, 1, 1, 0,   2,   1,   0,   1,   0,   0,   1},
        {"gated_delta",    4, 8,  7,  3, 1, 1, 7,   3,   2,   0,   1,   1,   1,   1},
        /*                                                                               norm */
        {"rms_norm",       3, 8,  2,  3, 2, 2, 0,   0,   1,   0,   1,   1,   0,   0,   1},
        {"layer_norm",     4, 8,  7,  3, 1, 2, 7,   3,   2,   0,   1,   1,   1,   1,   2},
        /*                                                                                 n_heads */
        {"heads_hebbian",  3, 8,  2,  3, 1, 2, 0,   0,   2,   0,   1,   1,   1,   1,   1,   4},
        {"heads_import",   4, 8,  7,  3, 1, 1, 7,   1,   1,   0,   1,   0,   1,   0,   2,   2},
        {"heads_oja",      3, 8,  2,  3, 0, 1, 0,   2,   1,   0,   0,   1,   0,   1,   0,   2},
        {"heads_delta",    3, 8,  2,  3, 1, 1, 0,   3,   1,   0,   1,   1,   1,   1,   0,   8},
        /*                                                                                      n_threads */
        {"gated_external", 3, 8,  2,  3, 1, 2, 0, RULE_EXTERNAL, 2, 0, 1, 1, 1, 1, 2, 2, 2},
        {"threads_gated",  3, 8,  2,  3, 1, 2, 0,   0,   2,   0,   1,   1,   1,   1,   2,   2,   2},
        /*                                                                                          plastic_path */
        {"chunk_gated",    3, 8,  2,  3, 1, 2, 0,   0,   1,   0,   1,   1,   1,   1,   2,   2,   1,   2},
        {"chunk_threads",  3, 8,  2,  3, 2, 1, 0,   0,   1,   0,   0,   0,   0,   1,   1,   0,   2,   2},
        {"chunk_delta",    3, 8,  2,  3, 1, 2, 0,   3,   1,   0,   1,   1,   1,   1,   2,   2,   1,   2},
        {"chunk_delta_thr",4, 8,  7,  3, 1, 1, 7,   3,   1,   0,   1,   1,   0,   1,   1,   2,   2,   2},
    };
    const int64_t shapes[][2] = {{1, 1}, {2, 7}, {3, 13}}; /* (B, T): one step; GEMM path; ring wraps */
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            run_f32(&variants[i], shapes[s][0], shapes[s][1]);
            run_f64(&variants[i], shapes[s][0], shapes[s][1]);
        }
    run_naive();
    run_xent_f32();
    run_xent_f64();
    run_bad_configs();
    printf("memcheck_driver: %d checks, %d failed\n", n_checks, n_failed);
    return n_failed ? 1 : 0;
}
