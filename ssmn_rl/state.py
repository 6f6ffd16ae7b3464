"""Per-stream state snapshots: the K/V ring buffer, the fast weights, live statistics, step counts.

A `SSMNState` is a value, not a pointer into a model: models copy it in and copy it out, so a
snapshot never changes behind the user's back. It carries a signature (the sizes it was made for)
so a state from one model cannot be fed to an incompatible one.
"""
from __future__ import annotations


import numpy as np

from .errors import StateError
from .layout import unflatten

#: Largest step counter a state may carry into the core: the kernels compute ring-buffer slots as
#: (steps + t) % window in int64, which must not overflow (2**62 steps: ~146 years at 10**9/s).
MAX_STEPS = 2 ** 62


class SSMNState:
    """State of `batch_size` streams of one SSMN configuration.

    Attributes
    ----------
    data : ndarray (batch_size, n_state)
        Flat per-stream block, layout given by :func:`ssmn_rl.layout.state_shapes`.
    steps : ndarray of int64 (batch_size,)
        Steps seen by each stream since its last reset.
    """

    __slots__ = ("data", "steps", "signature", "_shapes")

    def __init__(self, data: np.ndarray, steps: np.ndarray, signature: tuple, shapes):
        self.data = data
        self.steps = steps
        self.signature = signature
        self._shapes = shapes

    @property
    def batch_size(self) -> int:
        return self.data.shape[0]

    @property
    def tensors(self) -> dict:
        """Named views: keys, values (B, w, H); fast_weights (B, P, H, H); statistics."""
        return unflatten(self.data, self._shapes)

    @property
    def fast_weights(self) -> np.ndarray:
        return self.tensors["fast_weights"]

    def copy(self) -> "SSMNState":
        return SSMNState(self.data.copy(), self.steps.copy(), self.signature, self._shapes)

    __copy__ = copy

    def __deepcopy__(self, memo):
        return self.copy()

    def __getitem__(self, index) -> "SSMNState":
        """Select streams, e.g. ``state[2]`` or ``state[[0, 3]]`` (always a copy, batch kept 2-D)."""
        idx = np.atleast_1d(np.arange(self.batch_size)[index])
        return SSMNState(self.data[idx].copy(), self.steps[idx].copy(), self.signature, self._shapes)

    def __eq__(self, other) -> bool:
        return (isinstance(other, SSMNState) and self.signature == other.signature
                and np.array_equal(self.steps, other.steps) and np.array_equal(self.data, other.data))

    def __repr__(self) -> str:
        return f"SSMNState(batch_size={self.batch_size}, steps={self.steps.tolist()})"

    @staticmethod
    def concatenate(states) -> "SSMNState":
        states = list(states)
        if not states:
            raise StateError("concatenate needs at least one state")
        sig = states[0].signature
        for s in states:
            if s.signature != sig:
                raise StateError(f"cannot concatenate states of different models: {s.signature} != {sig}")
        return SSMNState(np.concatenate([s.data for s in states]), np.concatenate([s.steps for s in states]),
                         sig, states[0]._shapes)


def check_state(state, signature: tuple, batch_size: int | None, name: str = "state",
                n_state: int | None = None) -> SSMNState:
    """Refuse a state that does not belong to the model with `signature` (and `n_state` floats
    per stream, when given) before its buffers reach the C core, which trusts their sizes."""
    if not isinstance(state, SSMNState):
        raise StateError(f"{name} must be an SSMNState (from forward(..., return_state=True) or "
                         f"model.state), got {type(state).__name__}")
    if not (isinstance(state.signature, tuple) and state.signature == signature):
        sig = state.signature[1:] if isinstance(state.signature, tuple) else state.signature
        raise StateError(f"{name} was made for a model with (hidden, window, n_plastic, dtype) = "
                         f"{sig}, this model has {signature[1:]}")
    check_buffers(state, signature[-1], n_state, name)
    if batch_size is not None and state.batch_size != batch_size:
        raise StateError(f"{name} holds {state.batch_size} streams but the input has {batch_size}. "
                         "HINT: index the state (state[[...]]) or build one per batch size.")
    if not np.all(np.isfinite(state.data)):
        raise StateError(f"{name} contains NaN or inf")
    if np.any(state.steps < 0):
        raise StateError(f"{name} has negative step counters: {state.steps.tolist()}")
    if np.any(state.steps > MAX_STEPS):
        raise StateError(f"{name} has step counters above {MAX_STEPS} (2**62): {state.steps.tolist()}. "
                         "HINT: a state's counters only grow by the steps fed; reset this stream.")
    return state


def check_buffers(state: SSMNState, dtype, n_state: int | None, name: str) -> None:
    """data must be (B, n_state) of the model's dtype and steps (B,) int64, B >= 1: a state whose
    arrays were replaced or resized by hand would otherwise make the core read or write outside
    them."""
    data, steps = state.data, state.steps
    width = "n_state" if n_state is None else n_state
    if not (isinstance(data, np.ndarray) and data.ndim == 2 and data.shape[0] >= 1
            and data.dtype == np.dtype(dtype) and (n_state is None or data.shape[1] == n_state)):
        got = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
               else type(data).__name__)
        raise StateError(f"{name}.data must be a {dtype} array of shape (batch_size >= 1, {width}), "
                         f"got {got}. HINT: do not replace a state's arrays; build states with "
                         "model.initial_state() or forward(..., return_state=True).")
    if not (isinstance(steps, np.ndarray) and steps.dtype == np.int64 and steps.shape == (data.shape[0],)):
        got = (f"{steps.dtype} array of shape {steps.shape}" if isinstance(steps, np.ndarray)
               else type(steps).__name__)
        raise StateError(f"{name}.steps must be an int64 array of shape ({data.shape[0]},), got {got}")
