"""What the C kernels need to run one model configuration: the core behind the `SSMN` facade.

A :class:`Core` holds a validated :class:`~ssmn_rl.config.SSMNConfig` together with its C config
struct, the binding of its plasticity rule, the buffer sizes the core reports, the tensor shapes of
parameters and state, and per-thread scratch buffers. It holds no parameters and no live state
(those are the model's), and it does no input checking (see :mod:`ssmn_rl.inputs`).
"""
from __future__ import annotations

import numbers
import threading

import numpy as np

from . import _kernels
from .config import SSMNConfig
from .errors import InputError
from .layout import parameter_shapes, slices, state_shapes, total_size
from .plugin_manager import get_rule, get_variant
from .rule_binding import RuleBinding
from .state import SSMNState, check_state

#: Scratch buffers up to this size are kept per thread and reused across calls.
POOL_MAX_BYTES = 1 << 30


def init_parameters(cfg: SSMNConfig, seed) -> np.ndarray:
    """Initial parameters from a seeded NumPy Generator (same seed, same vector on any machine):
    Gaussian weights scaled by 1/sqrt(fan_in) (sqrt(2/fan_in) before a ReLU), zero biases and
    zero gate weights, unit norm gains; a learned decay's bias starts at logit(decay_lambda) (clamped to
    [1e-4, 0.5]) so that a fresh model decays at the configured rate."""
    rng = np.random.default_rng(seed)
    parts = []
    for name, shape in parameter_shapes(cfg):
        if name.endswith(".norm_gain"):
            parts.append(np.ones(shape))
            continue
        if name.endswith((".eta_w", ".decay_w")):  # gates start input-independent
            parts.append(np.zeros(shape))
            continue
        if name.endswith(".decay_b"):
            lam = min(max(cfg.decay_lambda, 1e-4), 0.5)
            parts.append(np.full(shape, np.log(lam / (1.0 - lam))))
            continue
        if len(shape) == 1:
            parts.append(np.zeros(shape))
            continue
        fan_in = shape[1]
        gain = 2.0 if name.startswith(("static", "plastic")) else 1.0
        parts.append(rng.standard_normal(shape) * np.sqrt(gain / fan_in))
    return np.concatenate([p.ravel() for p in parts]).astype(cfg.dtype)


class Core:
    """The compiled side of one configuration.

    Attributes
    ----------
    config : SSMNConfig
        The configuration (replaced by :meth:`rebind`).
    dtype : numpy.dtype
        float32 or float64, as ``config.dtype``.
    binding : RuleBinding
        How the plasticity rule runs (built-in C, compiled plugin C, or NumPy callbacks).
    c_cfg : cffi struct
        The C config every kernel call takes (a new one after :meth:`rebind`).
    n_params, n_state, n_cache : int
        Floats in the parameter vector, in one stream's state, in one step's activation cache.
    param_shapes, state_shapes : list of (name, shape)
        Layout of the parameter vector and of one stream's state (:mod:`ssmn_rl.layout`).
    token_input : bool
        Whether the variant reads token ids instead of real vectors.
    """

    def __init__(self, cfg: SSMNConfig, n_threads: int | None = None):
        self._n_threads = _kernels.resolve_threads(n_threads)
        self.dtype = np.dtype(cfg.dtype)
        self.rebind(cfg)
        sz = _kernels.sizes(self.c_cfg)
        self.n_params, self.n_state, self.n_cache = sz["n_params"], sz["n_state"], sz["n_cache"]
        _kernels.check_fits(self.n_params, self.dtype.itemsize, "the parameter vector")
        self.param_shapes = parameter_shapes(cfg)
        self.state_shapes = state_shapes(cfg)
        self._check_layout()
        self.token_input = get_variant(cfg.variant).token_input
        self._scratch_pool = threading.local()

    def rebind(self, cfg: SSMNConfig) -> None:
        """Take `cfg` (same sizes, e.g. new eta or lambda): bind its rule, build its C config."""
        self.config = cfg
        self.binding = RuleBinding(cfg, get_rule(cfg.rule))
        self.c_cfg = _kernels.make_c_config(cfg, self.binding, self._n_threads)

    def _check_layout(self) -> None:
        """ssmn_rl.layout against the core's own parameter table, tensor by tensor."""
        table = _kernels.param_table(self.c_cfg)
        ours = [(sl.start, sl.stop - sl.start, name) for name, (sl, _) in slices(self.param_shapes).items()]
        mismatch = [f"{name}: layout.py ({off}, {n}) vs core {c}"
                    for (off, n, name), c in zip(ours, table) if (off, n) != c]
        if len(table) != len(ours) or mismatch or total_size(self.state_shapes) != self.n_state:
            raise RuntimeError(f"ssmn_rl.layout disagrees with the compiled core ({len(ours)} tensors vs "
                               f"{len(table)}; {mismatch[:3]}); reinstall the package")

    # ------------------------------------------------------------------ threads
    @property
    def n_threads(self) -> int:
        """Threads each kernel call may use (None when set: SSMN_NUM_THREADS, else the cores)."""
        return self._n_threads

    @n_threads.setter
    def n_threads(self, value: int | None) -> None:
        self._n_threads = _kernels.resolve_threads(value)
        self.c_cfg.n_threads = self._n_threads

    # ------------------------------------------------------------------ states
    @property
    def signature(self) -> tuple:
        """What a state must match to be fed to this configuration."""
        c = self.config
        return ("ssmn", c.hidden_dim, c.window_size, c.n_plastic, c.dtype)

    def initial_state(self, batch_size: int = 1) -> SSMNState:
        """A fresh state (empty window, zero fast weights) for `batch_size` streams."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise InputError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        _kernels.check_fits(int(batch_size) * self.n_state, self.dtype.itemsize, "the state")
        return SSMNState(np.zeros((int(batch_size), self.n_state), self.dtype),
                         np.zeros(int(batch_size), np.int64), self.signature, self.state_shapes)

    def check_state(self, state, batch_size: int | None = None, name: str = "state") -> SSMNState:
        """`state` itself after :func:`ssmn_rl.state.check_state` against this configuration."""
        return check_state(state, self.signature, batch_size, name, n_state=self.n_state)

    def start_state(self, state, batch_size: int) -> SSMNState:
        """A copy of `state` to run a sequence call from (fresh when None)."""
        if state is None:
            return self.initial_state(batch_size)
        return self.check_state(state, batch_size).copy()

    # ------------------------------------------------------------------ scratch buffers
    def scratch(self, name: str, n: int) -> np.ndarray:
        """A buffer of at least n elements taken out of the calling thread's pool until
        :meth:`release` gives it back: repeated training calls on the same shapes then touch no
        fresh pages (no kernel page-zeroing), and a nested call on the same thread (a loss callable
        or a NumPy rule that runs the model) gets a buffer of its own instead of overwriting one
        still in use."""
        buf = self._scratch_pool.__dict__.pop(name, None)
        if buf is None or buf.size < n:
            buf = np.empty(n, self.dtype)
        return buf

    def release(self, name: str, buf: np.ndarray | None) -> None:
        """Return a buffer from :meth:`scratch` to the pool (giant one-off buffers are dropped)."""
        if buf is None or buf.nbytes > POOL_MAX_BYTES:
            return
        pool = self._scratch_pool.__dict__
        held = pool.get(name)
        if held is None or held.size < buf.size:
            pool[name] = buf
