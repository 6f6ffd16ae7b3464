/* xent.c - fused softmax cross-entropy over the decoder's logits: the loss and dL/dlogits in one
 * pass per row, without the temporaries of a library softmax. Included by cell.c (compiled once
 * per precision).
 *
 * loss (1) out: sum_n weight[n] * (logsumexp(logits[n]) - logits[n, target[n]]), accumulated in
 * double; dlogits (N,V) out, may alias logits: weight[n] * (softmax(logits[n]) - onehot(target[n]));
 * rows with weight 0 are skipped (zero gradient). Non-finite logits or weights give status 8,
 * a target outside [0, V) status 11; nothing is written before the checks pass. */
int FN(ssmn_softmax_xent)(double *loss, real *dlogits, const real *logits, const int64_t *targets,
                          const double *weight, int64_t N, int64_t V) {
    if (!loss || !dlogits || !logits || !targets || !weight) return SSMN_ERR_NULL;
    if (N < 0 || V < 1) return SSMN_ERR_ARG;
    for (int64_t n = 0; n < N; n++) {
        if (targets[n] < 0 || targets[n] >= V) return SSMN_ERR_TOKEN;
        if (!isfinite(weight[n])) return SSMN_ERR_NONFINITE;
        const real *l = logits + n * V;
        for (int64_t j = 0; j < V; j++)
            if (!isfinite(l[j])) return SSMN_ERR_NONFINITE;
    }
    double total = 0;
    for (int64_t n = 0; n < N; n++) {
        const real *l = logits + n * V;
        real *d = dlogits + n * V;
        const real w = (real)weight[n];
        if (weight[n] == 0) {
            for (int64_t j = 0; j < V; j++) d[j] = 0;
            continue;
        }
        real mx = l[0];
        for (int64_t j = 1; j < V; j++) mx = l[j] > mx ? l[j] : mx;
        double sum = 0;
        for (int64_t j = 0; j < V; j++) sum += R_EXP(l[j] - mx);
        const real lse = mx + (real)log(sum), picked = l[targets[n]];
        total += weight[n] * ((double)lse - (double)picked);
        for (int64_t j = 0; j < V; j++) d[j] = w * R_EXP(l[j] - lse);
        d[targets[n]] -= w;
    }
    *loss = total;
    return SSMN_OK;
}
