/* gemm.c - the one matrix-multiply kernel every dense step goes through.
 *
 * C (M,N) = [C +] op(A) (M,K) @ op(B) (K,N), row-major with leading dimensions, where
 * op(A)[i,k] = ta ? A[k*lda+i] : A[i*lda+k] and op(B)[k,j] = tb ? B[j*ldb+k] : B[k*ldb+j].
 * Large products pack A and B into cache-sized panels and run a GEMM_MR x GEMM_NR register tile
 * (the compiler vectorises the inner j loop); a product with few rows and tb = 1 (the streaming
 * case, one token through a weight matrix) runs as dot products instead. Included by cell.c.
 */
#define GEMM_MR 6
#define GEMM_KC 256
#define GEMM_MC 96
#define GEMM_NC 1024

static inline real FN(opa)(int ta, const real *A, int64_t lda, int64_t i, int64_t k) {
    return ta ? A[k * lda + i] : A[i * lda + k];
}

/* Ap: for each GEMM_MR-row panel, kc rows of GEMM_MR values (zero padded). */
static void FN(pack_a)(int ta, const real *A, int64_t lda, int64_t i0, int64_t mc, int64_t k0,
                       int64_t kc, real *Ap) {
    for (int64_t p = 0; p < mc; p += GEMM_MR) {
        for (int64_t k = 0; k < kc; k++) {
            for (int64_t r = 0; r < GEMM_MR; r++) {
                int64_t i = p + r;
                *Ap++ = i < mc ? FN(opa)(ta, A, lda, i0 + i, k0 + k) : (real)0;
            }
        }
    }
}

/* Bp: for each GEMM_NR-column panel, kc rows of GEMM_NR values (zero padded). */
static void FN(pack_b)(int tb, const real *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0,
                       int64_t nc, real *Bp) {
    for (int64_t p = 0; p < nc; p += GEMM_NR) {
        int64_t nr = nc - p < GEMM_NR ? nc - p : GEMM_NR;
        for (int64_t k = 0; k < kc; k++) {
            if (tb) {
                for (int64_t j = 0; j < nr; j++) Bp[j] = B[(j0 + p + j) * ldb + k0 + k];
            } else {
                const real *src = B + (k0 + k) * ldb + j0 + p;
                for (int64_t j = 0; j < nr; j++) Bp[j] = src[j];
            }
            for (int64_t j = nr; j < GEMM_NR; j++) Bp[j] = 0;
            Bp += GEMM_NR;
        }
    }
}

static void FN(micro_kernel)(int64_t kc, const real *restrict a, const real *restrict b,
                             real *restrict c, int64_t ldc, int64_t mr, int64_t nr, int add) {
    real acc[GEMM_MR][GEMM_NR];
    for (int i = 0; i < GEMM_MR; i++)
        for (int j = 0; j < GEMM_NR; j++) acc[i][j] = 0;
    for (int64_t k = 0; k < kc; k++) {
        const real *bk = b + k * GEMM_NR;
        const real *ak = a + k * GEMM_MR;
        for (int i = 0; i < GEMM_MR; i++) {
            real ai = ak[i];
#pragma omp simd
            for (int j = 0; j < GEMM_NR; j++) acc[i][j] += ai * bk[j];
        }
    }
    for (int64_t i = 0; i < mr; i++) {
        real *ci = c + i * ldc;
        if (add)
            for (int64_t j = 0; j < nr; j++) ci[j] += acc[i][j];
        else
            for (int64_t j = 0; j < nr; j++) ci[j] = acc[i][j];
    }
}

/* Few rows of A times B^T: dot products along K (both operands contiguous). */
static void FN(gemm_rows_nt)(int64_t M, int64_t N, int64_t K, const real *A, int64_t lda,
                             const real *B, int64_t ldb, int add, real *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++) {
        const real *a = A + i * lda;
        real *c = C + i * ldc;
        for (int64_t j = 0; j < N; j++) {
            const real *bj = B + j * ldb;
            real s = 0;
#pragma omp simd reduction(+ : s)
            for (int64_t k = 0; k < K; k++) s += a[k] * bj[k];
            c[j] = add ? c[j] + s : s;
        }
    }
}

/* Few rows of A times B (B row-major K x N): axpy along N. */
static void FN(gemm_rows_nn)(int64_t M, int64_t N, int64_t K, const real *A, int64_t lda,
                             const real *B, int64_t ldb, int add, real *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++) {
        const real *a = A + i * lda;
        real *c = C + i * ldc;
        if (!add)
            for (int64_t j = 0; j < N; j++) c[j] = 0;
        for (int64_t k = 0; k < K; k++) {
            real aik = a[k];
            const real *bk = B + k * ldb;
#pragma omp simd
            for (int64_t j = 0; j < N; j++) c[j] += aik * bk[j];
        }
    }
}

/* pack: at least GEMM_MC*GEMM_KC + GEMM_KC*GEMM_NC reals (SSMN_PACK_FLOATS), or NULL when
 * M < GEMM_MR and ta == 0 (the row paths need no packing). */
static void FN(gemm)(int ta, int tb, int64_t M, int64_t N, int64_t K, const real *A, int64_t lda,
                     const real *B, int64_t ldb, int add, real *C, int64_t ldc, real *pack) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!add)
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) C[i * ldc + j] = 0;
        return;
    }
    if (!ta && (M < GEMM_MR || !pack)) {
        if (tb) FN(gemm_rows_nt)(M, N, K, A, lda, B, ldb, add, C, ldc);
        else FN(gemm_rows_nn)(M, N, K, A, lda, B, ldb, add, C, ldc);
        return;
    }
    real *Ap = pack, *Bp = pack + GEMM_MC * GEMM_KC;
    for (int64_t j0 = 0; j0 < N; j0 += GEMM_NC) {
        int64_t nc = N - j0 < GEMM_NC ? N - j0 : GEMM_NC;
        for (int64_t k0 = 0; k0 < K; k0 += GEMM_KC) {
            int64_t kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;
            int addk = add || k0 > 0;
            FN(pack_b)(tb, B, ldb, k0, kc, j0, nc, Bp);
            for (int64_t i0 = 0; i0 < M; i0 += GEMM_MC) {
                int64_t mc = M - i0 < GEMM_MC ? M - i0 : GEMM_MC;
                FN(pack_a)(ta, A, lda, i0, mc, k0, kc, Ap);
                for (int64_t jr = 0; jr < nc; jr += GEMM_NR) {
                    int64_t nr = nc - jr < GEMM_NR ? nc - jr : GEMM_NR;
                    for (int64_t ir = 0; ir < mc; ir += GEMM_MR) {
                        int64_t mr = mc - ir < GEMM_MR ? mc - ir : GEMM_MR;
                        FN(micro_kernel)(kc, Ap + ir * kc, Bp + jr * kc,
                                         C + (i0 + ir) * ldc + j0 + jr, ldc, mr, nr, addk);
                    }
                }
            }
        }
    }
}
