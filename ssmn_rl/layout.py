"""Names and shapes of the tensors inside the flat parameter vector and the per-stream state.

Mirrors the layout documented in native/ssmn_internal.h (the C core is the authority: the model
checks at construction that the sizes here add up to the core's). Used for initialisation,
gradient checks per tensor, summaries and analysis.
"""
from __future__ import annotations

from .config import SSMNConfig


def parameter_shapes(cfg: SSMNConfig) -> list[tuple[str, tuple[int, ...]]]:
    H, Din, Dout = cfg.hidden_dim, cfg.input_dim, cfg.output_dim
    shapes = [("embedding", (cfg.vocab_size, Din))] if cfg.vocab_size else []
    shapes += [("W_in", (H, Din)), ("b_in", (H,)), ("W_q", (H, H)), ("W_k", (H, H)),
              ("W_v", (H, H)), ("W_o", (H, H))]
    nh = cfg.n_heads
    if cfg.position_bias:  # per head and offset; (w,) with one head, as before heads existed
        shapes.append(("attn_bias", (nh, cfg.window_size) if nh > 1 else (cfg.window_size,)))
    for i in range(cfg.n_static):
        shapes += [(f"static{i}.W", (H, H)), (f"static{i}.b", (H,))]
    for j in range(cfg.n_plastic):
        shapes += [(f"plastic{j}.W", (H, H)), (f"plastic{j}.b", (H,))]
    for j in range(cfg.n_plastic):  # the gates of every plastic layer follow all the layers
        if cfg.neuromodulation:  # one gate per head, each reading the layer's whole input
            shapes += [(f"plastic{j}.eta_w", (nh, H)), (f"plastic{j}.eta_b", (nh,))]
        if cfg.learned_decay:
            shapes += [(f"plastic{j}.decay_w", (nh, H)), (f"plastic{j}.decay_b", (nh,))]
    if cfg.norm != "none":  # the pre-norm of every layer: static ones, then plastic ones
        layers = [f"static{i}" for i in range(cfg.n_static)] + [f"plastic{j}" for j in range(cfg.n_plastic)]
        for layer in layers:
            shapes.append((f"{layer}.norm_gain", (H,)))
            if cfg.norm == "layer":
                shapes.append((f"{layer}.norm_bias", (H,)))
    if not cfg.tied:
        shapes.append(("W_out", (Dout, H)))
    shapes.append(("b_out", (Dout,)))
    return shapes


def state_shapes(cfg: SSMNConfig) -> list[tuple[str, tuple[int, ...]]]:
    H, w, P, nh = cfg.hidden_dim, cfg.window_size, cfg.n_plastic, cfg.n_heads
    # with heads, each plastic layer's W_f is block-diagonal: nh blocks (H/nh, H/nh)
    fast = (P, H, H) if nh == 1 else (P, nh, H // nh, H // nh)
    return [("keys", (w, H)), ("values", (w, H)), ("fast_weights", fast),
            ("attention_entropy", (1,)), ("update_rms", (P,))]


def _size(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def slices(shapes) -> dict[str, tuple[slice, tuple[int, ...]]]:
    """Map each name to (slice into the flat vector, shape)."""
    out, offset = {}, 0
    for name, shape in shapes:
        n = _size(shape)
        out[name] = (slice(offset, offset + n), shape)
        offset += n
    return out


def total_size(shapes) -> int:
    return sum(_size(s) for _, s in shapes)


def unflatten(vector, shapes) -> dict:
    """Views of `vector` (last axis flat) as named tensors."""
    lead = vector.shape[:-1]
    return {name: vector[..., sl].reshape(lead + shape) for name, (sl, shape) in slices(shapes).items()}
