"""Inspection of a model and its synaptic state: statistics, spectra, summary text and plots."""
from __future__ import annotations

import numpy as np


def dense_fast_weights(W: np.ndarray) -> np.ndarray:
    """A multi-head memory (..., P, nh, d, d) as (..., P, H, H) matrices, its blocks on the
    diagonal (H = nh d)."""
    *lead, P, nh, d, _ = W.shape
    out = np.zeros((*lead, P, nh * d, nh * d), W.dtype)
    for h in range(nh):
        out[..., h * d:(h + 1) * d, h * d:(h + 1) * d] = W[..., h, :, :]
    return out


def _fast_weights(model, state) -> np.ndarray:
    W = state.tensors["fast_weights"]
    return dense_fast_weights(W) if model.config.n_heads > 1 else W


def statistics(model, state) -> dict:
    t = state.tensors
    W = t["fast_weights"]  # (B, P, H, H), or (B, P, nh, d, d) with heads: the stored entries
    w = model.config.window_size
    return {
        "synaptic_energy": (W.astype(np.float64) ** 2).mean(axis=tuple(range(2, W.ndim))) if W.shape[1]
        else np.zeros((state.batch_size, 0)),
        "update_magnitude": t["update_rms"].astype(np.float64),
        "attention_entropy": t["attention_entropy"][:, 0].astype(np.float64),
        "window_fill": np.minimum(state.steps, w) / w,
        "steps": state.steps.copy(),
    }


def analyze_synaptic_state(model, state, stream: int = 0, tol: float = 1e-3) -> dict:
    """Per plastic layer of one stream: spectral radius, active modes (singular values above
    `tol` times the largest), sparsity (share of |W| below 1e-6), energy and norm."""
    W = _fast_weights(model, state)[stream].astype(np.float64)
    layers = []
    for j in range(W.shape[0]):
        Wj = W[j]
        eig = np.linalg.eigvals(Wj)
        sv = np.linalg.svd(Wj, compute_uv=False)
        layers.append({
            "layer": j,
            "spectral_radius": float(np.abs(eig).max()) if eig.size else 0.0,
            "active_modes": int((sv > tol * sv[0]).sum()) if sv.size and sv[0] > 0 else 0,
            "sparsity": float((np.abs(Wj) < 1e-6).mean()),
            "energy": float((Wj ** 2).mean()),
            "frobenius_norm": float(np.linalg.norm(Wj)),
            "eigenvalues": eig,
        })
    return {"stream": stream, "steps": int(state.steps[stream]), "layers": layers}


def summary(model) -> str:
    c = model.config
    lines = [
        f"SSMN variant={c.variant} dtype={c.dtype}",
        f"  dims      input={c.input_dim} hidden={c.hidden_dim} output={c.output_dim} window={c.window_size}",
        f"  layers    {c.n_layers} = {c.n_static} static + {c.n_plastic} plastic "
        f"(plastic_ratio={c.plastic_ratio})",
        f"  plasticity rule={c.rule} eta={c.plasticity_eta} lambda={c.decay_lambda} clip={c.clip} "
        f"alpha={c.alpha}",
        f"  cell      preset={c.preset or 'default'} position_bias={c.position_bias} residual={c.residual} "
        f"norm={c.norm} neuromodulation={c.neuromodulation} learned_decay={c.learned_decay} "
        f"n_heads={c.n_heads}",
        f"  plastic path {c.plastic_path_taken()} (plastic_path={c.plastic_path!r})",
        f"  parameters {model.n_parameters:,}",
    ]
    st = model.state
    if st is not None:
        s = statistics(model, st)
        lines.append(f"  live state {st.batch_size} stream(s), steps={st.steps.tolist()}")
        lines.append(f"    synaptic energy {np.round(s['synaptic_energy'], 6).tolist()}")
        lines.append(f"    update magnitude {np.round(s['update_magnitude'], 6).tolist()}")
        lines.append(f"    attention entropy {np.round(s['attention_entropy'], 4).tolist()}")
        lines.append(f"    window fill {np.round(s['window_fill'], 3).tolist()}")
    return "\n".join(lines)


def plot_synaptic_state(model, state, path=None, stream: int = 0):
    """Figure with, per plastic layer, the W_f heat map and its eigenvalues in the complex plane."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    info = analyze_synaptic_state(model, state, stream)
    W = _fast_weights(model, state)[stream]
    P = max(1, W.shape[0])
    fig, axes = plt.subplots(P, 2, figsize=(9, 4 * P), squeeze=False)
    for j in range(W.shape[0]):
        lim = float(np.abs(W[j]).max()) or 1.0
        im = axes[j, 0].imshow(W[j], cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[j, 0].set_title(f"plastic layer {j}: W_f (post x pre)")
        fig.colorbar(im, ax=axes[j, 0], fraction=0.046)
        eig = info["layers"][j]["eigenvalues"]
        axes[j, 1].scatter(eig.real, eig.imag, s=8)
        axes[j, 1].set_title(f"eigenvalues (spectral radius {info['layers'][j]['spectral_radius']:.3g})")
        axes[j, 1].set_xlabel("Re")
        axes[j, 1].set_ylabel("Im")
        axes[j, 1].axhline(0, lw=0.5, c="k")
        axes[j, 1].axvline(0, lw=0.5, c="k")
    if W.shape[0] == 0:
        axes[0, 0].text(0.5, 0.5, "no plastic layers", ha="center")
    fig.suptitle(f"synaptic state, stream {stream}, after {int(state.steps[stream])} steps")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig
