/* gemm.c - the one matrix-multiply kernel every dense step goes through.
 *
 * C (M,N) = [C +] op(A) (M,K) @ op(B) (K,N), row-major with leading dimensions, where
 * op(A)[i,k] = ta ? A[k*lda+i] : A[i*lda+k] and op(B)[k,j] = tb ? B[j*ldb+k] : B[k*ldb+j].
 * Large products pack A and B into cache-sized panels and run a GEMM_MR x GEMM_NR register tile
 * (the compiler vectorises the inner j loop); a product with few rows and tb = 1 (the streaming
 * case, one token through a weight matrix) runs as dot products instead. With more than one
 * thread (gemm_buf.nt), the threads of one product pack the shared panels together and split the
 * register tiles; each element of C is still summed by one thread in the serial order, so the
 * result does not depend on the thread count. A product called from inside a per-stream parallel
 * loop (the chunkwise plastic path) runs on the calling thread alone. Included by cell.c.
 */
#define GEMM_MR 6

/* GCC vector extensions: portable C that every GCC/Clang target lowers to its own SIMD width;
 * used where the auto-vectoriser did not produce register tiles or efficient reductions. The
 * vector is the target's widest register (AVX-512: 64 bytes, AVX: 32, otherwise 16), so that the
 * GEMM_MR x 2 accumulators of the register tile stay in registers: 64-byte vectors on an AVX2
 * machine (16 ymm registers) spill the tile to the stack and run the product ~10x slower. */
#if defined(__AVX512F__)
#define GEMM_VBYTES 64
#elif defined(__AVX__)
#define GEMM_VBYTES 32
#else
#define GEMM_VBYTES 16
#endif
typedef real FN(rvec) __attribute__((vector_size(GEMM_VBYTES)));
#define GEMM_VL ((int)(GEMM_VBYTES / sizeof(real)))
/* the register tile's width: two vectors */
#define GEMM_NR (2 * GEMM_VL)

static inline FN(rvec) FN(vload)(const real *p) {
    FN(rvec) v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Horizontal sum as a tree (halves added lane by lane): a few dependent adds instead of a chain
 * of GEMM_VL scalar ones. */
static inline real FN(vsum)(FN(rvec) v) {
    real l[GEMM_VL];
    memcpy(l, &v, sizeof l);
    for (int w = GEMM_VL / 2; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) l[i] += l[i + w];
    return l[0];
}

/* sum_k a[k] b[k] */
static inline real FN(dot)(const real *restrict a, const real *restrict b, int64_t n) {
    FN(rvec) s0 = {0}, s1 = {0};
    int64_t k = 0;
    for (; k + 2 * GEMM_VL <= n; k += 2 * GEMM_VL) {
        s0 += FN(vload)(a + k) * FN(vload)(b + k);
        s1 += FN(vload)(a + k + GEMM_VL) * FN(vload)(b + k + GEMM_VL);
    }
    for (; k + GEMM_VL <= n; k += GEMM_VL) s0 += FN(vload)(a + k) * FN(vload)(b + k);
    real s = FN(vsum)(s0 + s1);
    for (; k < n; k++) s += a[k] * b[k];
    return s;
}
#define GEMM_KC 256
#define GEMM_MC 96
#define GEMM_NC 1024

static inline real FN(opa)(int ta, const real *A, int64_t lda, int64_t i, int64_t k) {
    return ta ? A[k * lda + i] : A[i * lda + k];
}

/* The GEMM_MR-row panel of A starting at row i0 + p: kc rows of GEMM_MR values (zero padded). */
static void FN(pack_a_panel)(int ta, const real *A, int64_t lda, int64_t i0, int64_t mc, int64_t k0,
                             int64_t kc, int64_t p, real *Ap) {
    for (int64_t k = 0; k < kc; k++) {
        for (int64_t r = 0; r < GEMM_MR; r++) {
            int64_t i = p + r;
            *Ap++ = i < mc ? FN(opa)(ta, A, lda, i0 + i, k0 + k) : (real)0;
        }
    }
}

/* The GEMM_NR-column panel of B starting at column j0 + p: kc rows of GEMM_NR values (zero padded). */
static void FN(pack_b_panel)(int tb, const real *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0,
                             int64_t nc, int64_t p, real *Bp) {
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

/* One GEMM_MR x GEMM_NR tile of C from packed panels, held in vector registers. */
static void FN(micro_kernel)(int64_t kc, const real *restrict a, const real *restrict b,
                             real *restrict c, int64_t ldc, int64_t mr, int64_t nr, int add) {
    FN(rvec) acc[GEMM_MR][2];
    for (int i = 0; i < GEMM_MR; i++) acc[i][0] = acc[i][1] = (FN(rvec)){0};
    for (int64_t k = 0; k < kc; k++) {
        FN(rvec) b0, b1;
        memcpy(&b0, b + k * GEMM_NR, sizeof b0);
        memcpy(&b1, b + k * GEMM_NR + GEMM_VL, sizeof b1);
        const real *ak = a + k * GEMM_MR;
        for (int i = 0; i < GEMM_MR; i++) {
            acc[i][0] += ak[i] * b0;
            acc[i][1] += ak[i] * b1;
        }
    }
    real tile[GEMM_MR][GEMM_NR];
    memcpy(tile, acc, sizeof tile);
    for (int64_t i = 0; i < mr; i++) {
        real *ci = c + i * ldc;
        if (add)
            for (int64_t j = 0; j < nr; j++) ci[j] += tile[i][j];
        else
            for (int64_t j = 0; j < nr; j++) ci[j] = tile[i][j];
    }
}

/* Few rows of A times B^T: four dot products along K at a time (both operands contiguous).
 * A single row against a large B (the decoder of a big vocabulary while generating) is bound by
 * memory bandwidth, not arithmetic: it is split over nt threads (when built with OpenMP), each
 * streaming its own share of B's rows. Smaller products stay on the calling thread, where a
 * parallel region would cost more than it saves. */
#define GEMM_PAR_MIN ((int64_t)1 << 20)

/* c[j..j+3] (=, or += with add) the dot products of a (K) with rows j..j+3 of B. */
static inline void FN(rows_nt_quad)(const real *a, const real *B, int64_t ldb, int64_t K, int64_t j, int add,
                                    real *c) {
    const real *b0 = B + j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
    FN(rvec) s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    int64_t k = 0;
    for (; k + GEMM_VL <= K; k += GEMM_VL) {
        FN(rvec) av = FN(vload)(a + k);
        s0 += av * FN(vload)(b0 + k);
        s1 += av * FN(vload)(b1 + k);
        s2 += av * FN(vload)(b2 + k);
        s3 += av * FN(vload)(b3 + k);
    }
    real r[4] = {FN(vsum)(s0), FN(vsum)(s1), FN(vsum)(s2), FN(vsum)(s3)};
    for (; k < K; k++) {
        r[0] += a[k] * b0[k];
        r[1] += a[k] * b1[k];
        r[2] += a[k] * b2[k];
        r[3] += a[k] * b3[k];
    }
    for (int q = 0; q < 4; q++) c[j + q] = add ? c[j + q] + r[q] : r[q];
}

static void FN(gemm_rows_nt)(int64_t M, int64_t N, int64_t K, const real *A, int64_t lda,
                             const real *B, int64_t ldb, int add, real *C, int64_t ldc, int nt) {
    const int64_t nq = N / 4;
    const int split = nt > 1 && M == 1 && N * K >= GEMM_PAR_MIN ? nt : 1;
    for (int64_t i = 0; i < M; i++) {
        const real *a = A + i * lda;
        real *c = C + i * ldc;
        SSMN_FOR(split, jq, nq, FN(rows_nt_quad)(a, B, ldb, K, 4 * jq, add, c););
        for (int64_t j = 4 * nq; j < N; j++) {
            real s = FN(dot)(a, B + j * ldb, K);
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

/* Where a product may work: the pack (at least SSMN_PACK_FLOATS reals, shared by the threads of
 * one product; NULL when every product of the caller has M < GEMM_MR and ta == 0, which need no
 * packing) and the threads it may use. */
typedef struct {
    real *pack;
    int nt;
} FN(gemm_buf);

/* Products below this many multiply-adds stay on the calling thread. */
#define GEMM_PAR_MACS ((int64_t)1 << 20)

/* The threads a loop over `work` units of about `unit` multiply-adds each may use. */
static inline int FN(loop_threads)(const FN(gemm_buf) *gb, int64_t work, int64_t unit) {
    return gb && gb->nt > 1 && work > 1 && work * unit >= GEMM_PAR_MACS ? gb->nt : 1;
}

/* The packed, blocked product, run by every thread of the calling team (or by the caller alone,
 * outside a parallel region): the worksharing loops split packing and tiles, and their barriers
 * keep a panel from being used before it is packed or repacked while in use. */
static void FN(gemm_blocked)(int ta, int tb, int64_t M, int64_t N, int64_t K, const real *A, int64_t lda,
                             const real *B, int64_t ldb, int add, real *C, int64_t ldc, real *Ap, real *Bp) {
    for (int64_t j0 = 0; j0 < N; j0 += GEMM_NC) {
        int64_t nc = N - j0 < GEMM_NC ? N - j0 : GEMM_NC;
        for (int64_t k0 = 0; k0 < K; k0 += GEMM_KC) {
            int64_t kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;
            int addk = add || k0 > 0;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
            for (int64_t p = 0; p < nc; p += GEMM_NR) FN(pack_b_panel)(tb, B, ldb, k0, kc, j0, nc, p, Bp + p * kc);
            for (int64_t i0 = 0; i0 < M; i0 += GEMM_MC) {
                int64_t mc = M - i0 < GEMM_MC ? M - i0 : GEMM_MC;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
                for (int64_t p = 0; p < mc; p += GEMM_MR) FN(pack_a_panel)(ta, A, lda, i0, mc, k0, kc, p, Ap + p * kc);
#ifdef _OPENMP
#pragma omp for collapse(2) schedule(static)
#endif
                for (int64_t jr = 0; jr < nc; jr += GEMM_NR) {
                    for (int64_t ir = 0; ir < mc; ir += GEMM_MR) {
                        int64_t nr = nc - jr < GEMM_NR ? nc - jr : GEMM_NR;
                        int64_t mr = mc - ir < GEMM_MR ? mc - ir : GEMM_MR;
                        FN(micro_kernel)(kc, Ap + ir * kc, Bp + jr * kc, C + (i0 + ir) * ldc + j0 + jr, ldc, mr, nr,
                                         addk);
                    }
                }
            }
        }
    }
}

/* gb: NULL runs on the calling thread without packing (M < GEMM_MR and ta == 0 only). */
static void FN(gemm)(int ta, int tb, int64_t M, int64_t N, int64_t K, const real *A, int64_t lda,
                     const real *B, int64_t ldb, int add, real *C, int64_t ldc, const FN(gemm_buf) *gb) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!add)
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) C[i * ldc + j] = 0;
        return;
    }
    if (!ta && (M < GEMM_MR || !gb || !gb->pack)) {
        if (tb) FN(gemm_rows_nt)(M, N, K, A, lda, B, ldb, add, C, ldc, gb ? gb->nt : 1);
        else FN(gemm_rows_nn)(M, N, K, A, lda, B, ldb, add, C, ldc);
        return;
    }
    real *Ap = gb->pack, *Bp = gb->pack + GEMM_MC * GEMM_KC;
    const int nt = FN(loop_threads)(gb, M, N * K);
    if (nt > 1) {
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
#endif
        FN(gemm_blocked)(ta, tb, M, N, K, A, lda, B, ldb, add, C, ldc, Ap, Bp);
#ifdef _OPENMP
    } else if (omp_in_parallel()) {
        /* called by one thread of a caller's team (a per-stream loop, each thread with its own
         * product and pack): a team of one of its own, so that gemm_blocked's worksharing loops
         * bind to it instead of splitting this product over the caller's threads */
#pragma omp parallel num_threads(1)
        FN(gemm_blocked)(ta, tb, M, N, K, A, lda, B, ldb, add, C, ldc, Ap, Bp);
#endif
    } else {
        FN(gemm_blocked)(ta, tb, M, N, K, A, lda, B, ldb, add, C, ldc, Ap, Bp);
    }
}
