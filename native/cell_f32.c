/* cell_f32.c - the float32 build of cell.c. */
#define SSMN_REAL_F32
#include "cell.c"
