/* threads.c - how one call splits its work over threads (see "Threads" in ssmn_internal.h):
 * loops split into contiguous static blocks, the per-stream loops' own scratch blocks, and the
 * in-order sum of the threads' private parameter gradients. Included first by cell.c.
 */
/* SSMN_FOR(nt, i, n, body): for (int64_t i = 0; i < n; i++) { body }, split into contiguous static
 * blocks over nt threads when nt > 1. With one thread the loop runs as plain C: no call into the
 * OpenMP runtime (a parallel region with a false `if` clause still costs a runtime call, which a
 * streaming step would pay at every layer). The body must not contain #pragma lines. */
#ifdef _OPENMP
#include <omp.h>
#define SSMN_PRAGMA(x) _Pragma(#x)
#define SSMN_FOR(nt, i, n, ...)                                                                    \
    do {                                                                                           \
        const int64_t ssmn_n_ = (n);                                                               \
        if ((nt) > 1) {                                                                            \
            SSMN_PRAGMA(omp parallel for schedule(static) num_threads(nt))                         \
            for (int64_t i = 0; i < ssmn_n_; i++) { __VA_ARGS__ }                                  \
        } else {                                                                                   \
            for (int64_t i = 0; i < ssmn_n_; i++) { __VA_ARGS__ }                                  \
        }                                                                                          \
    } while (0)
#define SSMN_THREAD_ID() omp_get_thread_num()
#else
#define SSMN_FOR(nt, i, n, ...)                                                                    \
    do {                                                                                           \
        (void)(nt);                                                                                \
        for (int64_t i = 0; i < (n); i++) { __VA_ARGS__ }                                          \
    } while (0)
#define SSMN_THREAD_ID() 0
#endif

/* One scratch block per stream thread: block t at base + t * stride (t < nt). */
typedef struct {
    real *base;
    int64_t stride;
    int nt;
} FN(thread_blocks);

static inline real *FN(thread_block)(const FN(thread_blocks) *tb) {
    return tb->base + (int64_t)SSMN_THREAD_ID() * tb->stride;
}

/* Records the first failure of a parallel loop (later ones are dropped). */
static inline void FN(set_status)(int *status, int rc) {
    if (!rc) return;
#ifdef _OPENMP
#pragma omp critical(ssmn_status)
#endif
    if (!*status) *status = rc;
}
