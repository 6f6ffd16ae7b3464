/* population.c - a population of policies stepped as one batch: B streams, each with its own
 * parameter vector (evolution strategies score a whole population this way, one call per env
 * step instead of one per member and step).
 *
 * Included once at the end of cell.c, so it is compiled once per precision like the cell. It adds
 * no layer math: every stream runs FN(ssmn_forward) with B = 1 on its own parameters, state and
 * buffers, so a stream gives bit for bit what the same stream gives through ssmn_forward alone.
 * Not for training by gradient (there is no population backward): the ES driver only needs outputs.
 *
 * Shapes (B active streams of n_rows, T steps):
 *   y (B,T,Dout) out; cache (B,T,n_cache) scratch; x (B,T,Din) or tokens (B,T) in;
 *   state (n_rows,n_state) and steps (n_rows) in/out; params n_rows rows of params_stride reals,
 *   the first n_params of each used; rows (B) which row of state/steps/params active stream b is
 *   (distinct, in [0, n_rows)), or NULL for rows[b] = b (then B <= n_rows); n_threads >= 1 OpenMP
 *   threads share the streams (1: the calling thread only).
 * Inputs, rows and step counters are checked before any state is touched; a rule failure in one
 * stream (external rules only) returns its status after the other streams have stepped.
 */

/* Checks rows (in range and distinct) and the step counters of the rows the call will advance. */
static int FN(check_population_rows)(const int64_t *rows, const int64_t *steps, int64_t n_rows, int64_t B,
                                     int64_t T) {
    if (!rows) return B <= n_rows ? FN(check_steps)(steps, B, T) : SSMN_ERR_ARG;
    uint8_t *seen = (uint8_t *)calloc((size_t)n_rows, 1);
    if (!seen) return SSMN_ERR_NOMEM;
    int rc = SSMN_OK;
    for (int64_t b = 0; b < B && !rc; b++) {
        const int64_t r = rows[b];
        if (r < 0 || r >= n_rows || seen[r]) rc = SSMN_ERR_ARG;
        else if (steps[r] < 0 || steps[r] > INT64_MAX - T) rc = SSMN_ERR_STATE;
        else seen[r] = 1;
    }
    free(seen);
    return rc;
}

int FN(ssmn_forward_population)(const ssmn_config *cfg, real *y, real *cache, real *state, int64_t *steps,
                                const real *x, const int32_t *tokens, const real *params,
                                int64_t params_stride, const int64_t *rows, int64_t n_rows, int64_t B,
                                int64_t T, int32_t n_threads) {
    ssmn_layout L;
    int rc = ssmn_layout_of(cfg, &L);
    if (rc) return rc;
    if (!state || !steps || !params) return SSMN_ERR_NULL;
    if (B < 1 || T < 0 || n_rows < 1 || params_stride < L.n_params || n_threads < 1) return SSMN_ERR_ARG;
    if ((rc = FN(check_population_rows)(rows, steps, n_rows, B, T))) return rc;
    if (T == 0) return SSMN_OK;
    if (!y || !cache) return SSMN_ERR_NULL;
    /* every stream's input is checked before any state is touched */
    if ((rc = FN(check_input)(&L, x, tokens, B * T))) return rc;

    /* streams are independent, so how they are shared among threads changes no result; an external
     * (Python) rule keeps the calling thread */
    const int nt = n_threads > 1 && cfg->rule != SSMN_RULE_EXTERNAL && B > 1 ? n_threads : 1;
    /* one stream and one step leave nothing to split inside a call: its threads are the streams' */
    ssmn_config one = *cfg;
    one.n_threads = 1;
    int failed = SSMN_OK;
    SSMN_FOR(nt, b, B, {
        const int64_t r = rows ? rows[b] : b;
        FN(set_status)(&failed, FN(ssmn_forward)(&one, y + b * T * L.Dout, cache + b * T * L.n_cache,
                                                 state + r * L.n_state, steps + r, x ? x + b * T * L.Din : NULL,
                                                 tokens ? tokens + b * T : NULL, params + r * params_stride, 1, T));
    });
    return failed;
}
