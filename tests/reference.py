"""NumPy reference of the SSMN cell (DESIGN §2): the readable oracle the C kernels are tested
against. Plain per-stream, per-step loops in float64; no caching tricks beyond the K/V window."""
from __future__ import annotations

import numpy as np

from ssmn_rl.layout import parameter_shapes, state_shapes, unflatten
from ssmn_rl.plugin_manager import get_rule


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def gates(cfg, p, j, hd, z):
    """(eta_t, lambda_t) of plastic layer j, head hd, at a step whose layer input is z."""
    eta, lam = cfg.plasticity_eta, cfg.decay_lambda
    if cfg.neuromodulation:
        eta = eta * _sigmoid(p[f"plastic{j}.eta_w"][hd] @ z + p[f"plastic{j}.eta_b"][hd])
    if cfg.learned_decay:
        lam = _sigmoid(p[f"plastic{j}.decay_w"][hd] @ z + p[f"plastic{j}.decay_b"][hd])
    return eta, lam


def normalise(cfg, p, layer, x):
    """The pre-norm of `layer` ("static0", "plastic1", ...) on its input x, or x without norm."""
    if cfg.norm == "none":
        return x
    mu = x.mean() if cfg.norm == "layer" else 0.0
    xhat = (x - mu) / np.sqrt(np.mean((x - mu) ** 2) + 1e-5)
    y = p[f"{layer}.norm_gain"] * xhat
    return y + p[f"{layer}.norm_bias"] if cfg.norm == "layer" else y


def plastic_update(cfg, W, pre, post, eta=None, decay=None):
    """The configured rule's NumPy reference on one stream, then the clip every rule gets."""
    rule = get_rule(cfg.rule)
    eta = cfg.plasticity_eta if eta is None else eta
    decay = cfg.decay_lambda if decay is None else decay
    if rule.per_stream_rates:  # the rule takes one rate per stream
        eta, decay = np.array([eta], np.float64), np.array([decay], np.float64)
    new = rule.update(W[None], pre[None], post[None], eta, decay, **cfg.rule_params)[0]
    return np.clip(new, -cfg.clip, cfg.clip)


def reference_forward(cfg, theta, X, state_data=None, steps=None):
    """X (B,T,D_in) reals, or (B,T) token ids for token models ->
    (Y (B,T,D_out), final state data (B,n_state), final steps (B,))."""
    p = unflatten(np.asarray(theta, np.float64), parameter_shapes(cfg))
    if cfg.vocab_size:
        X = p["embedding"][np.asarray(X)]  # the embedding lookup, then the same cell
    W_out = p["embedding"] if cfg.tied else p["W_out"]
    B, T, _ = X.shape
    H, w, S, P, nh = cfg.hidden_dim, cfg.window_size, cfg.n_static, cfg.n_plastic, cfg.n_heads
    d = H // nh
    bias = p["attn_bias"].reshape(nh, w) if cfg.position_bias else np.zeros((nh, w))
    shapes = state_shapes(cfg)
    n_state = sum(int(np.prod(s)) for _, s in shapes)
    data = np.zeros((B, n_state)) if state_data is None else np.array(state_data, np.float64)
    steps = np.zeros(B, np.int64) if steps is None else np.array(steps, np.int64)
    Y = np.zeros((B, T, cfg.output_dim))
    for b in range(B):
        st = unflatten(data[b], shapes)
        Kr, Vr = st["keys"], st["values"]
        Wf = st["fast_weights"].reshape(P, nh, d, d)  # a view: head blocks of each layer's W_f
        n = int(steps[b])
        for t in range(T):
            u = np.tanh(p["W_in"] @ X[b, t] + p["b_in"])
            q, k, v = p["W_q"] @ u, p["W_k"] @ u, p["W_v"] @ u
            Kr[n % w], Vr[n % w] = k, v
            n += 1
            slots = [(n - 1 - i) % w for i in range(min(n, w))]  # slots[i] is i steps back
            ctx, entropy = np.zeros(H), 0.0
            for hd in range(nh):  # each head on its slice of q, k, v, with its own bias
                sl = slice(hd * d, (hd + 1) * d)
                s = np.array([q[sl] @ Kr[j, sl] for j in slots]) / np.sqrt(d) + bias[hd, : len(slots)]
                a = np.exp(s - s.max())
                a /= a.sum()
                entropy += -np.sum(a * np.log(a)) / nh
                ctx[sl] = a @ Vr[slots][:, sl]
            st["attention_entropy"][0] = entropy
            z = p["W_o"] @ ctx
            if cfg.residual:
                z = z + u
            for i in range(S):
                z = np.maximum(p[f"static{i}.W"] @ normalise(cfg, p, f"static{i}", z) + p[f"static{i}.b"], 0)
            for j in range(P):
                z = normalise(cfg, p, f"plastic{j}", z)
                h = np.maximum(p[f"plastic{j}.W"] @ z + p[f"plastic{j}.b"], 0)
                new = np.stack([plastic_update(cfg, Wf[j, hd], z[hd * d:(hd + 1) * d], h[hd * d:(hd + 1) * d],
                                               *gates(cfg, p, j, hd, z)) for hd in range(nh)])
                st["update_rms"][j] = np.sqrt(np.mean((new - Wf[j]) ** 2))
                Wf[j] = new

                def read(vec):  # the block-diagonal W_f times vec
                    return np.concatenate([Wf[j, hd] @ vec[hd * d:(hd + 1) * d] for hd in range(nh)])

                q = h + cfg.alpha * np.tanh(read(h))
                for _ in range(cfg.chat_steps - 1):  # internal chat: re-read the synaptic state
                    q = h + cfg.alpha * np.tanh(read(q))
                z = q
            Y[b, t] = W_out @ z + p["b_out"]
        steps[b] = n
    return Y, data, steps
