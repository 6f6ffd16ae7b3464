"""Thin, checked bridge to the compiled C core (ssmn_rl._ssmn_native).

Callers hand over arrays that are already validated (dtype, shape, contiguity); this module builds
the C config struct, computes buffer sizes through the core itself, releases the GIL for the
duration of each call (cffi API mode does), and turns status codes into typed exceptions.
"""
from __future__ import annotations

import numbers
import os

import numpy as np

from ._ssmn_native import ffi, lib
from .config import NORMS, PLASTIC_PATHS, SSMNConfig
from .errors import ConfigError, InputError, KernelError, SizeError, StateError

ABI_VERSION = 7
_STATUS_OVERFLOW = 3
_STATUS_NOMEM = 4
_STATUS_CONFIG = 2
STATUS_STATE = 7
STATUS_NONFINITE = 8
STATUS_CALLBACK = 9
STATUS_NO_VJP = 10
STATUS_TOKEN = 11


def _check_abi() -> None:
    found = lib.ssmn_abi_version()
    if found != ABI_VERSION:
        raise ImportError(
            f"ssmn_rl's compiled core has ABI version {found}, expected {ABI_VERSION}. "
            "HINT: reinstall the package (pip install -e .) to rebuild the C kernels."
        )


_check_abi()


def error_message(status: int) -> str:
    return ffi.string(lib.ssmn_error_message(status)).decode()


def check_status(status: int, what: str, binding=None) -> None:
    if status == 0:
        return
    if binding is not None and (status == STATUS_CALLBACK or binding.error is not None):
        binding.raise_pending(status == STATUS_CALLBACK)
    if status == STATUS_NO_VJP and binding is not None:
        binding.require_gradient()
    msg = f"{what}: {error_message(status)} (status {status})"
    if status in (_STATUS_OVERFLOW, _STATUS_NOMEM):
        raise SizeError(msg)
    if status == _STATUS_CONFIG:
        raise ConfigError(msg)
    if status in (STATUS_NONFINITE, STATUS_TOKEN):
        raise InputError(msg)
    if status == STATUS_STATE:
        raise StateError(msg)
    raise KernelError(msg)


MAX_THREADS = 1024


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells, else all)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve_threads(n_threads) -> int:
    """The thread count a model's kernel calls use: `n_threads` when given, else the environment
    variable SSMN_NUM_THREADS, else OMP_NUM_THREADS (its first level; joblib/loky and schedulers set
    it so that parallel worker processes do not oversubscribe the cores), else the cores this
    process may use."""
    if n_threads is None:
        env = os.environ.get("SSMN_NUM_THREADS", "").strip()
        if not env:
            omp = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
            if omp.isdigit() and int(omp) >= 1:
                return min(int(omp), MAX_THREADS)
            return min(available_cores(), MAX_THREADS)
        try:
            n_threads = int(env)
        except ValueError:
            raise ConfigError(f"SSMN_NUM_THREADS must be an integer in [1, {MAX_THREADS}], got {env!r}") from None
        what = "SSMN_NUM_THREADS"
    else:
        what = "n_threads"
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral) or not 1 <= n_threads <= MAX_THREADS:
        raise ConfigError(f"{what} must be an integer in [1, {MAX_THREADS}] or None (the cores this process "
                          f"may use), got {n_threads!r}")
    return int(n_threads)


def make_c_config(cfg: SSMNConfig, binding=None, n_threads: int = 1):
    """The C config struct; `binding` (a RuleBinding) fills the rule fields (hebbian if None);
    `n_threads`: the threads one kernel call may use."""
    c = ffi.new("ssmn_config *")
    c.n_threads = n_threads
    c.d_in = cfg.input_dim
    c.hidden = cfg.hidden_dim
    c.d_out = cfg.output_dim
    c.window = cfg.window_size
    c.n_static = cfg.n_static
    c.n_plastic = cfg.n_plastic
    c.rule = 0
    c.eta = cfg.plasticity_eta
    c.decay = cfg.decay_lambda
    c.clip = cfg.clip
    c.alpha = cfg.alpha
    c.vocab = cfg.vocab_size
    c.chat_steps = cfg.chat_steps
    c.tied = int(cfg.tied)
    c.pos_bias = int(cfg.position_bias)
    c.residual = int(cfg.residual)
    c.neuromod = int(cfg.neuromodulation)
    c.learned_decay = int(cfg.learned_decay)
    c.norm = NORMS.index(cfg.norm)
    c.n_heads = cfg.n_heads
    c.plastic_path = PLASTIC_PATHS.index(cfg.plastic_path)
    if binding is not None:
        binding.fill(c)
    return c


def sizes(c_cfg, B: int = 1, T: int = 0) -> dict:
    out = ffi.new("ssmn_sizes *")
    check_status(lib.ssmn_get_sizes(c_cfg, B, T, out), "sizing buffers")
    return {"n_params": out.n_params, "n_state": out.n_state, "n_cache": out.n_cache, "n_work": out.n_work,
            "n_ckpt": out.n_ckpt}


def param_table(c_cfg) -> list[tuple[int, int]]:
    """(offset, size) of every tensor of the parameter block, in block order, as the core lays
    them out (ssmn_rl.layout checks its names and shapes against this, tensor by tensor)."""
    count = ffi.new("int64_t *")
    check_status(lib.ssmn_param_table(c_cfg, ffi.NULL, ffi.NULL, 0, count), "ssmn_param_table")
    n = int(count[0])
    offsets, lengths = ffi.new("int64_t[]", max(n, 1)), ffi.new("int64_t[]", max(n, 1))
    check_status(lib.ssmn_param_table(c_cfg, offsets, lengths, n, count), "ssmn_param_table")
    return [(int(offsets[i]), int(lengths[i])) for i in range(n)]


def feature_offset(c_cfg) -> int:
    """Offset of the last hidden vector (the read-out's input) inside one cache record."""
    out = ffi.new("int64_t *")
    check_status(lib.ssmn_feature_offset(c_cfg, out), "ssmn_feature_offset")
    return int(out[0])


def physical_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 34


def check_fits(n_floats: int, itemsize: int, what: str) -> None:
    """Refuse an allocation that could not fit in this machine's memory, before trying it."""
    need = int(n_floats) * itemsize
    limit = physical_memory_bytes() * 3 // 4
    if need > limit:
        raise SizeError(
            f"{what} needs {need / 2**30:.2f} GiB, more than 3/4 of this machine's memory "
            f"({limit / 2**30:.2f} GiB usable). HINT: use a smaller hidden_dim/window_size, fewer "
            "streams, or shorter sequences (feed long streams in chunks, carrying the state)."
        )


def _ptr(a: np.ndarray, ctype: str):
    return ffi.cast(ctype, ffi.from_buffer(a, require_writable=False)) if a is not None else ffi.NULL


_SUFFIX = {np.dtype(np.float32): ("f32", "float *"), np.dtype(np.float64): ("f64", "double *")}


def _inputs(x, ct):
    """(x pointer, tokens pointer): an int32 array is a token sequence, anything else real input."""
    if x is not None and x.dtype == np.int32:
        return ffi.NULL, _ptr(x, "int32_t *")
    return _ptr(x, ct), ffi.NULL


def forward(c_cfg, y, cache, state, steps, x, params, B: int, T: int, binding=None, ckpt=None) -> None:
    """x: (B,T,D_in) reals, or (B,T) int32 token ids for token-input models. ckpt (n_ckpt reals):
    a training forward keeps the fast-weight checkpoints there for :func:`backward`."""
    suf, ct = _SUFFIX[params.dtype]
    if ckpt is None:
        st = getattr(lib, f"ssmn_forward_{suf}")(c_cfg, _ptr(y, ct), _ptr(cache, ct), _ptr(state, ct),
                                                 _ptr(steps, "int64_t *"), *_inputs(x, ct), _ptr(params, ct), B, T)
    else:
        st = getattr(lib, f"ssmn_forward_train_{suf}")(c_cfg, _ptr(y, ct), _ptr(cache, ct), _ptr(ckpt, ct),
                                                       _ptr(state, ct), _ptr(steps, "int64_t *"), *_inputs(x, ct),
                                                       _ptr(params, ct), B, T)
    check_status(st, "ssmn_forward", binding)


def step_pointers(y, cache, state, steps, params) -> tuple:
    """C pointers of the buffers a streaming model reuses every step (kept alive with the arrays)."""
    ct = _SUFFIX[params.dtype][1]
    return (_ptr(y, ct), _ptr(cache, ct), _ptr(state, ct), _ptr(steps, "int64_t *"), _ptr(params, ct),
            getattr(lib, f"ssmn_forward_{_SUFFIX[params.dtype][0]}"), ct.replace(" *", "[]"))


def forward_ptrs(c_cfg, ptrs, x, B: int) -> int:
    """One step for B streams through pointers from step_pointers(); returns the status code."""
    y, cache, state, steps, params, fn, array_type = ptrs
    if x.dtype == np.int32:
        return fn(c_cfg, y, cache, state, steps, ffi.NULL, ffi.from_buffer("int32_t[]", x), params, B, 1)
    return fn(c_cfg, y, cache, state, steps, ffi.from_buffer(array_type, x), ffi.NULL, params, B, 1)


def forward_population(c_cfg, y, cache, state, steps, x, params, rows, B: int, T: int, n_threads: int = 1,
                       binding=None) -> None:
    """B streams, each on its own parameter row (native/population.c).

    y (B,T,D_out) out; cache (B*T*n_cache) scratch; x (B,T,D_in) reals or (B,T) int32 tokens;
    state (R, n_state) and steps (R,) for all R rows, updated in place for the active ones;
    params (R, n_params) C-contiguous; rows (B,) int64 distinct row indices, or None for 0..B-1."""
    suf, ct = _SUFFIX[params.dtype]
    fn = getattr(lib, f"ssmn_forward_population_{suf}", None)
    if fn is None:
        raise ImportError("ssmn_rl's compiled core has no ssmn_forward_population. HINT: reinstall the "
                          "package (pip install -e .) to rebuild the C kernels.")
    st = fn(c_cfg, _ptr(y, ct), _ptr(cache, ct), _ptr(state, ct), _ptr(steps, "int64_t *"), *_inputs(x, ct),
            _ptr(params, ct), params.shape[1], _ptr(rows, "int64_t *"), params.shape[0], B, T, int(n_threads))
    check_status(st, "ssmn_forward_population", binding)


def backward(c_cfg, grad, dstate0, work, dy, cache, state0, steps0, x, params, B: int, T: int,
             binding=None, ckpt=None) -> None:
    """ckpt: the checkpoints the training forward kept (None: the backward replays the updates)."""
    suf, ct = _SUFFIX[params.dtype]
    fn = getattr(lib, f"ssmn_backward_{suf}")
    st = fn(c_cfg, _ptr(grad, ct), _ptr(dstate0, ct), _ptr(work, ct), _ptr(ckpt, ct), _ptr(dy, ct), _ptr(cache, ct),
            _ptr(state0, ct), _ptr(steps0, "int64_t *"), *_inputs(x, ct), _ptr(params, ct), B, T)
    check_status(st, "ssmn_backward", binding)


def softmax_xent(logits: np.ndarray, targets: np.ndarray, weight: np.ndarray, out: np.ndarray) -> float:
    """Fused softmax cross-entropy: returns sum_n weight[n] * nll[n] and writes
    weight[n] * (softmax - onehot) into `out` (may be `logits`). logits, out (N, V) C-contiguous
    float32/float64; targets (N,) int64; weight (N,) float64."""
    suf, ct = _SUFFIX[logits.dtype]
    loss = ffi.new("double *")
    N, V = logits.shape
    st = getattr(lib, f"ssmn_softmax_xent_{suf}")(loss, _ptr(out, ct), _ptr(logits, ct),
                                                   _ptr(targets, "int64_t *"), _ptr(weight, "double *"), N, V)
    check_status(st, "ssmn_softmax_xent")
    return float(loss[0])


def reset(c_cfg, state, steps, mask, B: int) -> None:
    suf, ct = _SUFFIX[state.dtype]
    fn = getattr(lib, f"ssmn_reset_{suf}")
    check_status(fn(c_cfg, _ptr(state, ct), _ptr(steps, "int64_t *"), _ptr(mask, "uint8_t *"), B),
                 "ssmn_reset")


def naive_step(c_cfg, y, cache, state, u_hist, steps, x, params) -> None:
    """The prototype's recompute-the-window step (float32 only), for benchmarks."""
    ct = "float *"
    st = lib.ssmn_naive_step_f32(c_cfg, _ptr(y, ct), _ptr(cache, ct), _ptr(state, ct), _ptr(u_hist, ct),
                                 _ptr(steps, "int64_t *"), _ptr(x, ct), _ptr(params, ct))
    check_status(st, "ssmn_naive_step")
