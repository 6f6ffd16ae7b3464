"""Step-by-step streaming through a model: the hot path of agents, forecasting and generation.

A :class:`Stream` owns a state (B streams) and the buffers and raw pointers it reuses every step,
so one step is one kernel call plus a few Python checks. An input that is already a C-contiguous
array of the model's dtype (or int32 tokens) goes straight to the kernel, which refuses NaN/inf and
out-of-range tokens before touching the state. A plugin rule that fails mid-step leaves the state
as it was. :class:`LiveStream` is the model's own stream behind ``forward_step``, ``state`` and
``reset``, shared by threads under a lock. Whole sequences are :mod:`ssmn_rl.sequence`.
"""
from __future__ import annotations

import threading

import numpy as np

from . import _kernels, inputs
from .errors import InputError, StateError
from .state import SSMNState, check_buffers


class Stream:
    """Streams `state` (a copy is taken) through `model` one step at a time.

    ``step(x)`` takes x (D_in,) or (B, D_in) reals — or, for token models, a token id or (B,) ids —
    and returns the outputs (D_out,) or (B, D_out) (next-token logits for token models).
    The model is read through its public :attr:`~ssmn_rl.SSMN.core` and
    :attr:`~ssmn_rl.SSMN.parameters` at every step, so new parameters (``set_parameters``) or a
    new rule binding (``set_plasticity``) take effect at the next step.
    """

    def __init__(self, model, state: SSMNState | None = None, batch_size: int | None = None,
                 copy: bool = True):
        self.model = model
        if state is not None:
            state = model.core.check_state(state)
            self._state = state.copy() if copy else state
        else:  # None and no batch size: created by the first step, sized like its input
            self._state = model.initial_state(batch_size) if batch_size is not None else None
        self._bufs = None

    @property
    def state(self) -> SSMNState | None:
        """The stream's state, updated in place by every step (None before the first step)."""
        return self._state

    @state.setter
    def state(self, value: SSMNState | None) -> None:
        self._state = None if value is None else self.model.core.check_state(value).copy()

    def _contiguous_buffers(self) -> None:
        """The core writes the held state's arrays through raw pointers: make them C-contiguous."""
        st = self._state
        st.data, st.steps = np.ascontiguousarray(st.data), np.ascontiguousarray(st.steps)

    @staticmethod
    def _coerce(core, x) -> np.ndarray:
        if core.token_input:
            return inputs.token_ids(x, "x", core.config.vocab_size, step=True)
        arr = x
        if not (type(arr) is np.ndarray and arr.dtype == core.dtype and arr.flags.c_contiguous):
            arr = inputs.real_array(x, "x", core.dtype)
        D = core.config.input_dim
        if arr.ndim not in (1, 2) or arr.shape[-1] != D:
            raise InputError(f"x must have shape ({D},) or (B, {D}), got {arr.shape}")
        return arr

    def step(self, x) -> np.ndarray:
        core, params = self.model.core, self.model.parameters
        arr = self._coerce(core, x)
        single = arr.ndim == (0 if core.token_input else 1)
        B = 1 if single else arr.shape[0]
        st = self._state if self._state is not None else core.initial_state(B)
        bufs = self._bufs
        fresh = (bufs is None or bufs[0] is not params or bufs[1] is not st.data
                 or bufs[2] is not core.c_cfg or bufs[3] is not st.steps)
        if fresh and st is self._state:  # arrays new to this stream (or replaced by hand)
            core.check_state(st)
            self._contiguous_buffers()
        if st.batch_size != B:
            raise StateError(f"the stream holds {st.batch_size} streams but x has {B}. "
                             f"HINT: call reset(batch_size={B}) first.")
        if fresh:
            y = np.empty((B, core.config.output_dim), core.dtype)  # (B, D_out)
            cache = np.empty(B * core.n_cache, core.dtype)  # (B, n_cache)
            # the arrays stay referenced here for as long as their raw pointers are used
            bufs = (params, st.data, core.c_cfg, st.steps, y, cache,
                    _kernels.step_pointers(y, cache, st.data, st.steps, params))
            self._bufs = bufs
        y, ptrs = bufs[4], bufs[6]
        external = core.binding.kind != "builtin"
        if external:
            saved = (st.data.copy(), st.steps.copy())
        status = _kernels.forward_ptrs(core.c_cfg, ptrs, np.ascontiguousarray(arr.reshape(B, -1)) if not
                                       core.token_input else arr.reshape(B), B)
        if status != 0 and external:
            st.data[...], st.steps[...] = saved
        if status == _kernels.STATUS_NONFINITE:
            inputs.real_array(arr, "x", core.dtype)  # raises, naming the position
        _kernels.check_status(status, "ssmn_forward", core.binding)
        self._state = st
        return y[0].copy() if single else y.copy()

    def reset(self, mask=None, batch_size: int | None = None) -> None:
        """Reset all streams, those where `mask` is true, or start `batch_size` fresh ones."""
        core = self.model.core
        if batch_size is not None:
            self._state = core.initial_state(batch_size)
            return
        if self._state is None:
            raise StateError("the stream has no state yet: give reset() a batch_size, or step it first")
        check_buffers(self._state, core.dtype, core.n_state, "state")  # sizes only: a NaN state may be reset
        self._contiguous_buffers()
        B = self._state.batch_size
        if mask is None:
            flags = np.ones(B, np.uint8)
        else:
            try:
                flags = np.asarray(mask)
            except (ValueError, TypeError):  # ragged or unconvertible
                flags = np.empty(0, object)
            if flags.shape != (B,) or flags.dtype.kind not in "biu":
                raise InputError(f"mask must be a boolean array of shape ({B},), got {flags.dtype} {flags.shape}")
            flags = np.ascontiguousarray(flags != 0, dtype=np.uint8)
        _kernels.reset(core.c_cfg, self._state.data, self._state.steps, flags, B)


class LiveStream:
    """A model's own live state: what ``forward_step`` advances, ``state`` reads and writes and
    ``reset`` resets. Calls are serialised by a lock, so threads sharing one model's live stream
    see some sequential order of their steps, never a torn state; a step that raises leaves the
    state unchanged."""

    def __init__(self, model, state: SSMNState | None = None):
        self.model = model
        self._state = state
        self._stream: Stream | None = None
        self._lock = threading.RLock()

    @property
    def current(self) -> SSMNState | None:
        """The live state itself (not a copy; None before the first step), for reading only."""
        return self._state

    def step(self, x) -> np.ndarray:
        with self._lock:
            if self._stream is None or self._stream.state is not self._state:
                self._stream = Stream(self.model, self._state, copy=False)
            y = self._stream.step(x)
            self._state = self._stream.state
            return y

    def snapshot(self) -> SSMNState | None:
        """A copy of the live state, or None before the first step."""
        with self._lock:
            return None if self._state is None else self._state.copy()

    def replace(self, value: SSMNState | None) -> None:
        """Continue from a copy of `value` (None: start fresh at the next step)."""
        new = None if value is None else self.model.core.check_state(value).copy()
        with self._lock:
            self._state = new

    def reset(self, mask=None, batch_size: int | None = None) -> None:
        """Reset all live streams, those where `mask` is true, or start `batch_size` fresh ones."""
        with self._lock:
            if batch_size is not None or self._state is None:
                self._state = self.model.initial_state(1 if batch_size is None else batch_size)
                self._stream = None
                return
            Stream(self.model, self._state, copy=False).reset(mask)
