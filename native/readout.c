/* readout.c - the read-out y = W_out z + b_out of the last hidden vector, forward and backward;
 * W_out is the embedding table itself when the decoder is tied (its gradient then lands in the
 * embedding's). Included by cell.c.
 */

/* y (BT, Dout) from the cache records' last hidden vectors. */
static void FN(readout_forward)(const ssmn_layout *L, real *y, const real *cache, const real *prm,
                                int64_t BT, const FN(gemm_buf) *gb) {
    FN(dense_forward)(y, L->Dout, cache + SSMN_C_ZF(L), L->n_cache, prm + L->W_out, prm + L->b_out, BT,
                      L->Dout, L->H, DENSE_LINEAR, gb);
}

/* dz (BT, H) = dL/dz from dy (BT, Dout) = dL/dy; grad += the read-out's gradients. */
static void FN(readout_backward)(const ssmn_layout *L, real *grad, real *dz, const real *dy,
                                 const real *cache, const real *prm, int64_t BT, const FN(gemm_buf) *gb) {
    FN(linear_backward)(dz, L->H, 0, grad + L->W_out, grad + L->b_out, dy, L->Dout, cache + SSMN_C_ZF(L),
                        L->n_cache, prm + L->W_out, BT, L->Dout, L->H, gb);
}
