/* cell_f64.c - the float64 build of cell.c (gradient checks, high-precision use). */
#define SSMN_REAL_F64
#include "cell.c"
