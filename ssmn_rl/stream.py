"""Step-by-step streaming through a model: the hot path of agents, forecasting and generation.

A :class:`Stream` owns a state (B streams) and the buffers and raw pointers it reuses every step,
so one step is one kernel call plus a few Python checks. An input that is already a C-contiguous
array of the model's dtype (or int32 tokens) goes straight to the kernel, which refuses NaN/inf and
out-of-range tokens before touching the state. A plugin rule that fails mid-step leaves the state
as it was.
"""
from __future__ import annotations

import numpy as np

from . import _kernels
from .errors import InputError, StateError
from .state import SSMNState, _check_buffers, check_state


class Stream:
    """Streams `state` (a copy is taken) through `model` one step at a time.

    ``step(x)`` takes x (D_in,) or (B, D_in) reals — or, for token models, a token id or (B,) ids —
    and returns the outputs (D_out,) or (B, D_out) (next-token logits for token models).
    """

    def __init__(self, model, state: SSMNState | None = None, batch_size: int | None = None,
                 copy: bool = True):
        self.model = model
        if state is not None:
            state = check_state(state, model._signature, None, n_state=model._n_state)
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
        m = self.model
        self._state = None if value is None else \
            check_state(value, m._signature, None, n_state=m._n_state).copy()

    def _contiguous_buffers(self) -> None:
        """The core writes the held state's arrays through raw pointers: make them C-contiguous."""
        st = self._state
        st.data, st.steps = np.ascontiguousarray(st.data), np.ascontiguousarray(st.steps)

    def _coerce(self, x) -> np.ndarray:
        m = self.model
        if m._token_input:
            return m._check_tokens(x, "x", step=True)
        arr = x
        if not (type(arr) is np.ndarray and arr.dtype == m._dtype and arr.flags.c_contiguous):
            arr = m._validate(x, "x")
        if arr.ndim not in (1, 2) or arr.shape[-1] != m.config.input_dim:
            raise InputError(f"x must have shape ({m.config.input_dim},) or (B, {m.config.input_dim}), "
                             f"got {arr.shape}")
        return arr

    def step(self, x) -> np.ndarray:
        m = self.model
        arr = self._coerce(x)
        single = arr.ndim == (0 if m._token_input else 1)
        B = 1 if single else arr.shape[0]
        st = self._state if self._state is not None else m.initial_state(B)
        bufs = self._bufs
        fresh = (bufs is None or bufs[0] is not m._params or bufs[1] is not st.data
                 or bufs[2] is not m._c_cfg or bufs[3] is not st.steps)
        if fresh and st is self._state:  # arrays new to this stream (or replaced by hand)
            check_state(st, m._signature, None, n_state=m._n_state)
            self._contiguous_buffers()
        if st.batch_size != B:
            raise StateError(f"the stream holds {st.batch_size} streams but x has {B}. "
                             f"HINT: call reset(batch_size={B}) first.")
        if fresh:
            y = np.empty((B, m.config.output_dim), m._dtype)
            cache = np.empty(B * m._n_cache, m._dtype)
            # the arrays stay referenced here for as long as their raw pointers are used
            bufs = (m._params, st.data, m._c_cfg, st.steps, y, cache,
                    _kernels.step_pointers(y, cache, st.data, st.steps, m._params))
            self._bufs = bufs
        y, ptrs = bufs[4], bufs[6]
        external = m._binding.kind != "builtin"
        if external:
            saved = (st.data.copy(), st.steps.copy())
        status = _kernels.forward_ptrs(m._c_cfg, ptrs, np.ascontiguousarray(arr.reshape(B, -1)) if not
                                       m._token_input else arr.reshape(B), B)
        if status != 0 and external:
            st.data[...], st.steps[...] = saved
        if status == _kernels.STATUS_NONFINITE:
            m._validate(arr, "x")  # raises, naming the position
        _kernels.check_status(status, "ssmn_forward", m._binding)
        self._state = st
        return y[0].copy() if single else y.copy()

    def reset(self, mask=None, batch_size: int | None = None) -> None:
        """Reset all streams, those where `mask` is true, or start `batch_size` fresh ones."""
        m = self.model
        if batch_size is not None:
            self._state = m.initial_state(batch_size)
            return
        if self._state is None:
            raise StateError("the stream has no state yet: give reset() a batch_size, or step it first")
        _check_buffers(self._state, m.dtype, m._n_state, "state")  # sizes only: a NaN state may be reset
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
        _kernels.reset(m._c_cfg, self._state.data, self._state.steps, flags, B)
