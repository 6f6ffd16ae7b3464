/* threads.c - how one call splits its work over threads (see "Threads" in ssmn_internal.h):
 * loops split into contiguous static blocks, the per-stream loops' own scratch blocks, and the
 * in-order sum of the threads' private parameter gradients. Included first by cell.c.
 */
/* SSMN_FOR(nt, i, n, body): for (int64_t i = 0; i < n; i++) { body }, split into contiguous static
 * blocks over nt threads when nt > 1. Inside body, ssmn_tid is the thread's index in this loop's
 * own team (0 when it runs on one thread, even inside someone else's parallel region). With one
 * thread the loop runs as plain C: no call into the OpenMP runtime (a parallel region with a false
 * `if` clause still costs a runtime call, which a streaming step would pay at every layer). The
 * body must not contain #pragma lines. */
#ifdef _OPENMP
#include <omp.h>
#define SSMN_PRAGMA(x) _Pragma(#x)
#define SSMN_FOR(nt, i, n, ...)                                                                    \
    do {                                                                                           \
        const int64_t ssmn_n_ = (n);                                                               \
        if ((nt) > 1) {                                                                            \
            SSMN_PRAGMA(omp parallel for schedule(static) num_threads(nt))                         \
            for (int64_t i = 0; i < ssmn_n_; i++) {                                                \
                const int ssmn_tid = omp_get_thread_num();                                         \
                (void)ssmn_tid;                                                                    \
                __VA_ARGS__                                                                        \
            }                                                                                      \
        } else {                                                                                   \
            for (int64_t i = 0; i < ssmn_n_; i++) {                                                \
                const int ssmn_tid = 0;                                                            \
                (void)ssmn_tid;                                                                    \
                __VA_ARGS__                                                                        \
            }                                                                                      \
        }                                                                                          \
    } while (0)
#else
#define SSMN_FOR(nt, i, n, ...)                                                                    \
    do {                                                                                           \
        (void)(nt);                                                                                \
        for (int64_t i = 0; i < (n); i++) {                                                        \
            const int ssmn_tid = 0;                                                                \
            (void)ssmn_tid;                                                                        \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    } while (0)
#endif

/* One scratch block per stream thread: block t at base + t * stride (t < nt). */
typedef struct {
    real *base;
    int64_t stride;
    int nt;
} FN(thread_blocks);

/* Block tid (ssmn_tid of the SSMN_FOR loop running). */
static inline real *FN(thread_block)(const FN(thread_blocks) *tb, int tid) {
    return tb->base + (int64_t)tid * tb->stride;
}

/* Records the first failure of a parallel loop (later ones are dropped). */
static inline void FN(set_status)(int *status, int rc) {
    if (!rc) return;
#ifdef _OPENMP
#pragma omp critical(ssmn_status)
#endif
    if (!*status) *status = rc;
}
