/* threads.c - how one call splits its work over threads (see "Threads" in ssmn_internal.h):
 * loops split into contiguous static blocks, the per-stream loops' own scratch blocks, and the
 * in-order sum of the threads' private parameter gradients. Included first by cell.c.
 */
#ifdef _OPENMP
#include <omp.h>
#define SSMN_PRAGMA(x) _Pragma(#x)
/* a loop whose iterations are independent, split into contiguous blocks over nt threads */
#define SSMN_PARALLEL_FOR(nt) SSMN_PRAGMA(omp parallel for schedule(static) num_threads(nt) if ((nt) > 1))
#define SSMN_THREAD_ID() omp_get_thread_num()
#else
#define SSMN_PARALLEL_FOR(nt)
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
