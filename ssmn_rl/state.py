"""Per-stream state snapshots: the K/V ring buffer, the fast weights, live statistics, step counts.

A `SSMNState` is a value, not a pointer into a model: models copy it in and copy it out, so a
snapshot never changes behind the user's back. It carries a signature (the sizes it was made for)
so a state from one model cannot be fed to an incompatible one.
"""
from __future__ import annotations


import numpy as np

from .errors import StateError
from .layout import unflatten


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


def check_state(state, signature: tuple, batch_size: int | None, name: str = "state") -> SSMNState:
    if not isinstance(state, SSMNState):
        raise StateError(f"{name} must be an SSMNState (from forward(..., return_state=True) or "
                         f"model.state), got {type(state).__name__}")
    if state.signature != signature:
        raise StateError(f"{name} was made for a model with (hidden, window, n_plastic, dtype) = "
                         f"{state.signature[1:]}, this model has {signature[1:]}")
    if batch_size is not None and state.batch_size != batch_size:
        raise StateError(f"{name} holds {state.batch_size} streams but the input has {batch_size}. "
                         "HINT: index the state (state[[...]]) or build one per batch size.")
    if not np.all(np.isfinite(state.data)):
        raise StateError(f"{name} contains NaN or inf")
    if np.any(state.steps < 0):
        raise StateError(f"{name} has negative step counters: {state.steps.tolist()}")
    return state


