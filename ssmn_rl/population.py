"""A population of parameter vectors of one SSMN architecture, stepped as one batch.

Evolution strategies score many perturbed copies of a policy at once; a :class:`Population` holds
their parameters as rows of one matrix, a state per row, and steps any subset of rows with one
kernel call (``native/population.c``). Each row gives exactly what the model gives with that
row's parameters through :meth:`SSMN.forward_step` (same kernel, one stream at a time), so a
batched rollout reproduces a member-by-member one bit for bit. Inference only: there is no
backward through a population.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import _kernels
from .errors import InputError, KernelError, StateError
from .inputs import real_array
from .state import SSMNState


class Population:
    """R parameter rows of `model`'s architecture with R live states.

    Parameters
    ----------
    model : SSMN
        Gives the architecture, rule and dtype (its own parameters and live state are not used).
    params : array-like (R, n_params)
        One parameter vector per row (finite, cast to the model's dtype).
    n_threads : int
        OpenMP threads that share the rows of a step (1: the calling thread only). Rows are
        independent, so the thread count changes no result.
    copy : bool
        False: use `params` itself when it already is a C-contiguous array of the model's dtype
        (no copy; :meth:`params_for_update` then writes into it).

    Examples
    --------
    >>> import numpy as np
    >>> from ssmn_rl import SSMN
    >>> from ssmn_rl.population import Population
    >>> m = SSMN(input_dim=2, output_dim=3, hidden_dim=8, window_size=4)
    >>> pop = Population(m, np.stack([m.get_parameters()] * 5))
    >>> pop.step(np.zeros((2, 2), np.float32), rows=[0, 3]).shape
    (2, 3)
    """

    def __init__(self, model, params, n_threads: int = 1, copy: bool = True):
        self.model = model
        self.n_threads = _check_threads(n_threads)
        self.set_parameters(params, copy=copy)

    # ------------------------------------------------------------------ parameters and state
    @property
    def n_rows(self) -> int:
        return self._params.shape[0]

    @property
    def params(self) -> np.ndarray:
        """Read-only view of the (R, n_params) parameter rows."""
        v = self._params.view()
        v.flags.writeable = False
        return v

    @property
    def state(self) -> SSMNState:
        """The states of all R rows (a copy)."""
        return self._state.copy()

    def params_for_update(self) -> np.ndarray:
        """The (R, n_params) parameter rows themselves, writable: new values take effect at the next
        step (write finite values of the model's dtype; the state is not reset)."""
        return self._params

    def set_parameters(self, params, copy: bool = True) -> None:
        """Replace every row's parameters (R may change) and start every row from a fresh state."""
        m = self.model
        arr = real_array(params, "params", m.dtype)
        if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] != m.n_parameters:
            raise InputError(f"params must have shape (R, {m.n_parameters}) with R >= 1 (one parameter "
                             f"vector of this model per row), got {arr.shape}")
        self._params = arr.copy() if copy and arr is params else arr
        self._state = m.initial_state(arr.shape[0])
        self._y = self._cache = None

    def reset(self, rows=None) -> None:
        """Fresh state (empty window, zero fast weights) for `rows` (all rows if None)."""
        idx = self._rows(rows, "rows")
        mask = np.ones(self.n_rows, np.uint8) if idx is None else np.bincount(idx, minlength=self.n_rows).astype(np.uint8)
        _kernels.reset(self.model.core.c_cfg, self._state.data, self._state.steps, mask, self.n_rows)

    # ------------------------------------------------------------------ stepping
    def step(self, x, rows=None) -> np.ndarray:
        """One step of the rows `rows` (B distinct indices; all R rows if None) on inputs x (B, D_in)
        -> outputs (B, D_out), row b of x and of the result belonging to row ``rows[b]``."""
        m = self.model
        if type(rows) is np.ndarray and rows.dtype == np.int64 and rows.ndim == 1 and rows.flags.c_contiguous \
                and rows.size <= self.n_rows:
            idx = rows  # the kernel checks range and repeats before it touches a state (see below)
        else:
            idx = self._rows(rows, "rows")
        B = self.n_rows if idx is None else idx.size
        arr = x
        if not (type(arr) is np.ndarray and arr.dtype == m.dtype and arr.flags.c_contiguous):
            arr = real_array(x, "x", m.dtype)
        if arr.shape != (B, m.config.input_dim):
            raise InputError(f"x must have shape ({B}, {m.config.input_dim}) (one input row per stepped row), "
                             f"got {arr.shape}")
        if B == 0:
            return np.empty((0, m.config.output_dim), m.dtype)
        if self._y is None or self._y.shape[0] < B:
            self._y = np.empty((self.n_rows, 1, m.config.output_dim), m.dtype)
            self._cache = np.empty(self.n_rows * m.core.n_cache, m.dtype)
        y = self._y[:B]
        try:
            _kernels.forward_population(m.core.c_cfg, y, self._cache, self._state.data, self._state.steps, arr,
                                        self._params, idx, B, 1, self.n_threads, m.core.binding)
        except InputError:
            real_array(arr, "x", m.dtype)  # names the position of a NaN/inf
            raise
        except (KernelError, StateError):
            if idx is not None:
                self._rows(idx, "rows")  # names a row out of range or repeated
            raise
        return y[:, 0].copy()

    def _rows(self, rows, name: str):
        """None, or `rows` as distinct int64 indices in [0, R)."""
        if rows is None:
            return None
        try:
            idx = np.asarray(rows)
        except (ValueError, TypeError):
            idx = np.empty(0, object)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise InputError(f"{name} must be a 1-D array of integer row indices, got {getattr(idx, 'dtype', None)} "
                             f"with shape {getattr(idx, 'shape', None)}")
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_rows):
            raise InputError(f"{name} must be in [0, {self.n_rows}) (the population's rows), got "
                             f"{idx[(idx < 0) | (idx >= self.n_rows)][:5].tolist()}")
        if np.unique(idx).size != idx.size:
            raise InputError(f"{name} must not repeat a row (each row steps at most once per call), got {idx.tolist()}")
        return idx


def _check_threads(n_threads) -> int:
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral) or n_threads < 1:
        raise InputError(f"n_threads must be an integer >= 1, got {n_threads!r}")
    return int(n_threads)
