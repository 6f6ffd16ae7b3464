"""Checks on the data a model is fed: real arrays, token ids, loss targets and step weights.

Everything that reaches the C core goes through here first, so the core only ever sees
C-contiguous arrays of the right dtype, shape and range, and a bad input is an InputError that
names the argument. Hyper-parameters are checked elsewhere (:mod:`ssmn_rl.config`).
"""
from __future__ import annotations

import numpy as np

from . import _kernels
from .errors import InputError


def as_array(X, name: str) -> np.ndarray:
    """np.asarray(X), with NumPy's errors for ragged or unconvertible data turned into InputError."""
    try:
        return np.asarray(X)
    except (ValueError, TypeError, OverflowError) as e:
        raise InputError(f"{name} must be an array-like of numbers with a regular shape, got "
                         f"{type(X).__name__} that NumPy cannot convert: {e}") from None


def real_array(X, name: str, dtype) -> np.ndarray:
    """Convert to a C-contiguous array of `dtype`, refusing non-numeric data, NaN/inf and values
    that do not fit in `dtype` (e.g. 1e300 for a float32 model)."""
    arr, dtype = as_array(X, name), np.dtype(dtype)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise InputError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    _kernels.check_fits(arr.size, dtype.itemsize, name)
    if arr.size and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise InputError(f"{name} contains NaN or inf (first at index {bad}: {arr[bad]}). "
                         "HINT: clean or impute the input; the model refuses non-finite values.")
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(arr, dtype=dtype)
    narrowed = arr.dtype.kind == "f" and arr.dtype.itemsize > dtype.itemsize  # e.g. float64 -> float32
    if narrowed and out.size and not np.isfinite(out).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        raise InputError(f"{name} holds a value too large for {dtype} (first at index {bad}: "
                         f"{arr.reshape(out.shape)[bad]}; "
                         f"the largest {dtype} is {np.finfo(dtype).max:.3g}). HINT: rescale the input.")
    return out


def _out_of_range(arr: np.ndarray, name: str, V: int) -> InputError:
    bad = tuple(int(i) for i in np.argwhere((arr < 0) | (arr >= V))[0])
    return InputError(f"{name} holds a token id out of range [0, {V}) (vocab_size): "
                      f"{arr[bad] if bad else arr} at index {bad}")


def token_ids(X, name: str, vocab_size: int, step: bool = False) -> np.ndarray:
    """Token ids as a C-contiguous int32 array; (T,) / (B, T) for sequences, () / (B,) for a step.
    Whole-number floats are accepted; anything else, or an id outside [0, vocab_size), is refused."""
    arr = as_array(X, name)
    V = vocab_size
    _kernels.check_fits(arr.size, np.dtype(np.int64).itemsize, name)
    if arr.dtype == object or arr.dtype.kind not in "iub":
        if arr.dtype.kind == "f" and (arr.size == 0 or (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))):
            if arr.size and (arr.min() < 0 or arr.max() >= V):  # before a cast that could wrap
                raise _out_of_range(arr, name, V)
            arr = arr.astype(np.int64)
        else:
            raise InputError(f"{name} must hold integer token ids in [0, {V}), got dtype {arr.dtype}")
    ndims = (0, 1) if step else (1, 2)
    if arr.ndim not in ndims:
        want = "a token id or (B,) ids" if step else "(T,) or (B, T) token ids"
        raise InputError(f"{name} must be {want}, got shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= V):
        raise _out_of_range(arr, name, V)
    return np.ascontiguousarray(arr, dtype=np.int32) if arr.ndim else np.asarray(arr, dtype=np.int32)


def sequences(X, config, dtype, token_input: bool, name: str = "X") -> tuple[np.ndarray, bool]:
    """(X as a batch, single) for a sequence call: reals (T, D_in) / (B, T, D_in) become
    (B, T, D_in) of `dtype`, token ids (T,) / (B, T) become (B, T) int32; `single` tells whether
    the batch axis was added."""
    if token_input:
        arr = token_ids(X, name, config.vocab_size)
        single = arr.ndim == 1
        arr = arr[None] if single else arr
        if arr.shape[0] < 1:
            raise InputError(f"{name} must hold at least one sequence, got shape {arr.shape}")
        return arr, single
    D = config.input_dim
    arr = real_array(X, name, dtype)
    if arr.ndim not in (2, 3):
        raise InputError(f"{name} must be 2-D (T, {D}) or 3-D (B, T, {D}), got shape {arr.shape}")
    if arr.shape[-1] != D:
        raise InputError(f"{name} must have {D} features in its last axis (input_dim), got shape {arr.shape}")
    single = arr.ndim == 2
    if single:
        arr = arr[None]
    if arr.shape[0] < 1:
        raise InputError(f"{name} must hold at least one sequence, got shape {arr.shape}")
    return arr, single


def loss_target(Y, loss: str, B: int, T: int, single: bool, output_dim: int, dtype) -> np.ndarray:
    """Targets of a built-in loss: (B, T, D_out) reals for "mse", (B, T) int64 class ids in
    [0, D_out) for "cross_entropy" (without the batch axis when `single`)."""
    if loss == "mse":
        t = real_array(Y, "Y_target", dtype)
        want = (B, T, output_dim)
        if single:
            t = t[None]
        if t.shape != want:
            raise InputError(f"Y_target must have shape {want[1:] if single else want} for "
                             f"loss='mse', got {t.shape[1:] if single else t.shape}")
        return t
    t = as_array(Y, "Y_target")
    if t.dtype.kind not in "iu":
        raise InputError(f"Y_target must hold integer class ids for loss='cross_entropy', got {t.dtype}")
    if single:
        t = t[None]
    if t.shape != (B, T):
        raise InputError(f"Y_target must have shape {(T,) if single else (B, T)} for "
                         f"loss='cross_entropy', got {t.shape[1:] if single else t.shape}")
    C = output_dim
    if t.size and (t.min() < 0 or t.max() >= C):
        raise InputError(f"Y_target class ids must be in [0, {C}) (output_dim), got range "
                         f"[{t.min()}, {t.max()}]")
    return t.astype(np.int64)


def step_weights(mask, B: int, T: int, single: bool, dtype) -> np.ndarray:
    """Non-negative loss weights (B, T) of `dtype` from `mask` (T,) / (B, T); all ones if None."""
    if mask is None:
        return np.ones((B, T), dtype)
    m = real_array(mask, "mask", dtype)
    if single:
        m = m[None]
    if m.shape != (B, T):
        raise InputError(f"mask must have shape {(T,) if single else (B, T)}, got {np.shape(mask)}")
    if (m < 0).any():
        raise InputError("mask weights must be >= 0")
    return m
