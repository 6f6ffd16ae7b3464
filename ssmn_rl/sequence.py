"""Whole-sequence calls into the C core: inference over (B, T) and the training forward + backward.

Both functions take a :class:`~ssmn_rl.core.Core` and a parameter vector, check their inputs
(:mod:`ssmn_rl.inputs`), lay out the buffers the kernels write (shapes below) and never touch a
live state: they start from a given snapshot (or a fresh state) and can return the final one.
Step-by-step streaming is :mod:`ssmn_rl.stream`.
"""
from __future__ import annotations

import numpy as np

from . import _kernels, inputs
from .errors import InputError
from .losses import LOSSES, cross_entropy, mse

#: Inference processes long sequences in time chunks whose activation cache stays under this size.
CHUNK_CACHE_BYTES = 16 << 20
_CKPT_MIN_FLOATS = 1 << 24


def keep_checkpoints(n_ckpt: int, n_cache: int) -> bool:
    """Whether a training forward keeps its fast-weight checkpoints (O(B sqrt(T) H^2) floats) for
    the backward pass: when there are any (an external rule's backward replays) and they take no
    more floats than the activation cache, or than 2^24. Otherwise the backward replays the updates
    (O(sqrt(T) H^2) per thread)."""
    return 0 < n_ckpt <= max(n_cache, _CKPT_MIN_FLOATS)


def forward(core, params: np.ndarray, X, state=None, return_state: bool = False,
            return_features: bool = False):
    """:meth:`SSMN.forward`: outputs Y (B, T, D_out) from X (B, T, D_in) or (B, T) token ids,
    in time chunks; features Z (B, T, H) are copied out of each chunk's activation cache."""
    X, single = inputs.sequences(X, core.config, core.dtype, core.token_input)
    B, T = X.shape[:2]
    H, D_out, n_cache, dtype = core.config.hidden_dim, core.config.output_dim, core.n_cache, core.dtype
    Z = np.empty((B, T, H), dtype) if return_features else None
    zoff = _kernels.feature_offset(core.c_cfg) if return_features else 0
    st = core.start_state(state, B)
    Y = np.empty((B, T, D_out), dtype)
    per_step = B * n_cache * dtype.itemsize
    chunk = max(1, min(T, CHUNK_CACHE_BYTES // max(per_step, 1)))
    _kernels.check_fits(B * chunk * n_cache, dtype.itemsize, "the activation cache")
    cache = core.scratch("cache", B * chunk * n_cache) if T else None  # (B, chunk, n_cache)
    try:
        for t0 in range(0, T, chunk):
            t1 = min(T, t0 + chunk)
            xs = np.ascontiguousarray(X[:, t0:t1])
            ys = np.empty((B, t1 - t0, D_out), dtype)
            _kernels.forward(core.c_cfg, ys, cache, st.data, st.steps, xs, params, B, t1 - t0, core.binding)
            Y[:, t0:t1] = ys
            if Z is not None:
                rec = cache[: B * (t1 - t0) * n_cache].reshape(B, t1 - t0, n_cache)
                Z[:, t0:t1] = rec[..., zoff:zoff + H]
    finally:
        core.release("cache", cache)
    out = [Y[0] if single else Y]
    if Z is not None:
        out.append(Z[0] if single else Z)
    if return_state:
        out.append(st)
    return out[0] if len(out) == 1 else tuple(out)


def value_and_grad(core, params: np.ndarray, X, Y_target, loss="mse", state=None, mask=None,
                   return_state: bool = False, return_state_grad: bool = False):
    """:meth:`SSMN.value_and_grad`: one training forward over (B, T) keeping the activation cache
    (B, T, n_cache) and, when they fit, the fast-weight checkpoints (n_ckpt); the loss's dL/dY
    (B, T, D_out); one backward giving grad (n_params,) and optionally dstate (B, n_state)."""
    custom = callable(loss)
    if not custom and loss not in LOSSES:
        raise InputError(f"loss must be one of {list(LOSSES)} or a callable, got {loss!r}")
    core.binding.require_gradient()
    X, single = inputs.sequences(X, core.config, core.dtype, core.token_input)
    B, T = X.shape[:2]
    if T < 1:
        raise InputError(f"X must have at least one time step, got shape {X.shape}")
    dtype, D_out = core.dtype, core.config.output_dim
    target = None if custom else inputs.loss_target(Y_target, loss, B, T, single, D_out, dtype)
    m = inputs.step_weights(mask, B, T, single, dtype)
    st0 = core.start_state(state, B)
    st = st0.copy()
    sz = _kernels.sizes(core.c_cfg, B, T)
    _kernels.check_fits(B * T * sz["n_cache"] + sz["n_work"], dtype.itemsize, "the training cache and workspace")
    cache = core.scratch("cache", B * T * sz["n_cache"])
    work = core.scratch("work", sz["n_work"])
    ckpt = core.scratch("ckpt", sz["n_ckpt"]) if keep_checkpoints(sz["n_ckpt"], B * T * sz["n_cache"]) else None
    try:
        Y = np.empty((B, T, D_out), dtype)
        _kernels.forward(core.c_cfg, Y, cache, st.data, st.steps, X, params, B, T, core.binding, ckpt=ckpt)
        if custom:
            value, dY = _custom_loss(loss, Y[0] if single else Y)
            dY = inputs.as_array(dY, "dL/dY from the loss")
            dY = dY[None] if single else dY
            if dY.shape != Y.shape:
                raise InputError(f"the loss callable must return dL/dY of shape "
                                 f"{Y.shape[1:] if single else Y.shape}, "
                                 f"got {dY.shape[1:] if single else dY.shape}")
        else:
            value, dY = mse(Y, target, m) if loss == "mse" else cross_entropy(Y, target, m, out=Y)
        dY = inputs.real_array(dY, "dL/dY from the loss", dtype)
        grad = np.zeros(core.n_params, dtype)
        dstate = np.zeros((B, core.n_state), dtype) if return_state_grad else None
        _kernels.backward(core.c_cfg, grad, dstate, work, dY, cache, st0.data, st0.steps, X,
                          params, B, T, core.binding, ckpt=ckpt)
    finally:
        core.release("cache", cache)
        core.release("work", work)
        core.release("ckpt", ckpt)
    out = [value, grad]
    if return_state:
        out.append(st)
    if return_state_grad:
        out.append(dstate)
    return tuple(out)


def _custom_loss(loss, Y):
    """(value, dL/dY) from a loss callable, its value checked to be one finite real."""
    out = loss(Y.copy())
    if not (isinstance(out, tuple) and len(out) == 2):
        raise InputError(f"the loss callable must return (loss_value, dL/dY), got {type(out).__name__}")
    try:
        value = float(out[0])
    except (TypeError, ValueError):
        raise InputError(f"the loss callable must return a real loss value first, "
                         f"got {out[0]!r}") from None
    if not np.isfinite(value):
        raise InputError(f"the loss callable returned a non-finite loss {value}")
    return value, out[1]
