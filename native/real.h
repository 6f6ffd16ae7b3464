/* real.h - precision switch: the kernel sources are compiled once per precision, with
 * SSMN_REAL_F32 or SSMN_REAL_F64 defined, so float32 and float64 come from one source. */
#if defined(SSMN_REAL_F32)
typedef float real;
#define FN(name) name##_f32
#define R_TANH tanhf
#define R_EXP expf
#define R_LOG logf
#define R_SQRT sqrtf
#elif defined(SSMN_REAL_F64)
typedef double real;
#define FN(name) name##_f64
#define R_TANH tanh
#define R_EXP exp
#define R_LOG log
#define R_SQRT sqrt
#else
#error "define SSMN_REAL_F32 or SSMN_REAL_F64 before including real.h"
#endif
