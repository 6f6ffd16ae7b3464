/* dense.c - dense layers over many rows at once, forward and backward: the encoder
 * (u = tanh(W_in x + b_in), with the embedding lookup for tokens), the static ReLU layers and the
 * plastic layers' input projections. Rows are records of the cache (leading dimension R) or packed
 * gradient rows (leading dimension H); every product goes through gemm.c. Included by cell.c.
 *
 * Activations: DENSE_LINEAR, DENSE_RELU, DENSE_TANH. The backward pass is activation_backward
 * (dout turned in place into the gradient before the activation) then linear_backward, which
 * ACCUMULATES dW and db and writes (or adds, with din_acc) din = dout W.
 */
enum { DENSE_LINEAR = 0, DENSE_RELU = 1, DENSE_TANH = 2 };

static void FN(sum_rows)(real *out, const real *X, int64_t ldx, int64_t M, int64_t N) {
    for (int64_t m = 0; m < M; m++) {
        const real *row = X + m * ldx;
        for (int64_t n = 0; n < N; n++) out[n] += row[n];
    }
}

/* out (M,N; ldo) = act(in (M,K; ldi) W^T + b); W (N,K); b (N) or NULL. */
static void FN(dense_forward)(real *out, int64_t ldo, const real *in, int64_t ldi, const real *W,
                              const real *b, int64_t M, int64_t N, int64_t K, int act, const FN(gemm_buf) *gb) {
    FN(gemm)(0, 1, M, N, K, in, ldi, W, K, 0, out, ldo, gb);
    if (!b && act == DENSE_LINEAR) return;
    const int nt = FN(loop_threads)(gb, M, 16 * N);
    SSMN_FOR(nt, m, M, {
        real *o = out + m * ldo;
        for (int64_t n = 0; n < N; n++) {
            real v = o[n] + (b ? b[n] : 0);
            o[n] = act == DENSE_RELU ? (v > 0 ? v : 0) : (act == DENSE_TANH ? R_TANH(v) : v);
        }
    });
}

/* dout (M,N; lddo) in place: dL/dout -> dL/d(pre-activation), from the forward's out (M,N; ldo). */
static void FN(activation_backward)(real *dout, int64_t lddo, const real *out, int64_t ldo, int64_t M,
                                    int64_t N, int act, const FN(gemm_buf) *gb) {
    if (act == DENSE_LINEAR) return;
    const int nt = FN(loop_threads)(gb, M, 4 * N);
    SSMN_FOR(nt, m, M, {
        real *d = dout + m * lddo;
        const real *o = out + m * ldo;
        for (int64_t n = 0; n < N; n++)
            d[n] = act == DENSE_RELU ? (o[n] > 0 ? d[n] : 0) : d[n] * (1 - o[n] * o[n]);
    });
}

/* The linear part, from dout (M,N; lddo) = dL/d(in W^T + b): dW (N,K) +=, db (N) += when not NULL;
 * din (M,K; lddi) = dout W (+= with din_acc) when not NULL. */
static void FN(linear_backward)(real *din, int64_t lddi, int din_acc, real *dW, real *db,
                                const real *dout, int64_t lddo, const real *in, int64_t ldi,
                                const real *W, int64_t M, int64_t N, int64_t K, const FN(gemm_buf) *gb) {
    FN(gemm)(1, 0, N, K, M, dout, lddo, in, ldi, 1, dW, K, gb);
    if (db) FN(sum_rows)(db, dout, lddo, M, N);
    if (din) FN(gemm)(0, 0, M, K, N, dout, lddo, W, K, din_acc, din, lddi, gb);
}

/* The encoder for all B*T tokens: u (cache records) = tanh(W_in x + b_in); with tokens, x is first
 * gathered from the embedding table into the records. x (BT, Din) or tokens (BT). */
static void FN(encoder_forward)(const ssmn_layout *L, real *cache, const real *x,
                                const int32_t *tokens, const real *prm, int64_t BT, const FN(gemm_buf) *gb) {
    const int64_t R = L->n_cache;
    const real *xin = x;
    int64_t ldx = L->Din;
    if (L->V > 0) {
        for (int64_t m = 0; m < BT; m++)
            memcpy(cache + m * R + L->c_x, prm + L->emb + (int64_t)tokens[m] * L->Din,
                   (size_t)L->Din * sizeof(real));
        xin = cache + L->c_x;
        ldx = R;
    }
    FN(dense_forward)(cache + L->c_u, R, xin, ldx, prm + L->W_in, prm + L->b_in, BT, L->H, L->Din,
                      DENSE_TANH, gb);
}

/* du (BT, H) in: dL/du (turned into dL/d(pre-tanh)); grad += the encoder's (and, with tokens, the
 * embedding rows') gradients; dX (BT, Din) scratch, used with tokens only. */
static void FN(encoder_backward)(const ssmn_layout *L, real *grad, real *du, real *dX,
                                 const real *cache, const real *x, const int32_t *tokens,
                                 const real *prm, int64_t BT, const FN(gemm_buf) *gb) {
    const int64_t R = L->n_cache, H = L->H;
    const int tok = L->V > 0;
    FN(activation_backward)(du, H, cache + L->c_u, R, BT, H, DENSE_TANH, gb);
    FN(linear_backward)(tok ? dX : NULL, L->Din, 0, grad + L->W_in, grad + L->b_in, du, H,
                        tok ? cache + L->c_x : x, tok ? R : L->Din, prm + L->W_in, BT, H, L->Din, gb);
    if (tok) /* embedding rows: scatter-add dL/dx */
        for (int64_t m = 0; m < BT; m++) {
            real *ge = grad + L->emb + (int64_t)tokens[m] * L->Din;
            const real *dxm = dX + m * L->Din;
            for (int64_t n = 0; n < L->Din; n++) ge[n] += dxm[n];
        }
}

/* Static layers i = 0..S-1 over all tokens: z_{i+1} = relu(W_i norm_i(z_i) + b_i). */
static void FN(static_forward)(const ssmn_layout *L, real *cache, const real *prm, int64_t BT, const FN(gemm_buf) *gb) {
    const int64_t H = L->H, R = L->n_cache;
    for (int64_t i = 0; i < L->S; i++) {
        if (L->norm) FN(norm_rows_forward)(L, cache, i, L->c_z + i * H, prm, BT, gb);
        FN(dense_forward)(cache + L->c_z + (i + 1) * H, R, cache + SSMN_C_SIN(L, i), R,
                          prm + SSMN_STATIC_W(L, i), prm + SSMN_STATIC_B(L, i), BT, H, H, DENSE_RELU, gb);
    }
}

/* Static layers, last to first. dz (BT, H) in: dL/dz_S, out: dL/dz_0; tmp (BT, H) scratch. */
static void FN(static_backward)(const ssmn_layout *L, real *grad, real *dz, real *tmp, const real *cache,
                                const real *prm, int64_t BT, const FN(gemm_buf) *gb) {
    const int64_t H = L->H, R = L->n_cache;
    for (int64_t i = L->S - 1; i >= 0; i--) {
        FN(activation_backward)(dz, H, cache + L->c_z + (i + 1) * H, R, BT, H, DENSE_RELU, gb);
        FN(linear_backward)(tmp, H, 0, grad + SSMN_STATIC_W(L, i), grad + SSMN_STATIC_B(L, i), dz, H,
                            cache + SSMN_C_SIN(L, i), R, prm + SSMN_STATIC_W(L, i), BT, H, H, gb);
        if (L->norm) /* tmp = dL/d(normalised input): back through the norm */
            FN(norm_rows_backward)(L, dz, grad, tmp, cache, i, prm, BT, gb);
        else
            memcpy(dz, tmp, (size_t)(BT * H) * sizeof(real));
    }
}
