"""The SSMN model: configuration, parameters, state handling and the calls into the C core.

`SSMN` owns one flat parameter vector and (optionally) a live state for step-by-step streaming.
Sequence calls (`forward`, `value_and_grad`) never touch the live state: they start from a given
snapshot (or a fresh state) and can return the final one.
"""
from __future__ import annotations

import numbers
import threading

import numpy as np

from . import _kernels
from .config import MEMORY_PRESETS, SSMNConfig, cell_options, resolve_clip
from .errors import ConfigError, InputError, StateError
from .layout import parameter_shapes, slices, state_shapes, total_size, unflatten
from .losses import LOSSES, cross_entropy, mse
from .plugin_manager import get_variant
from .state import SSMNState, check_state
from .stream import Stream

#: Inference processes long sequences in time chunks whose activation cache stays under this size.
_CHUNK_CACHE_BYTES = 16 << 20
#: Scratch buffers up to this size are kept per thread and reused across calls.
_POOL_MAX_BYTES = 1 << 30
_CKPT_MIN_FLOATS = 1 << 24


def _keep_checkpoints(n_ckpt: int, n_cache: int) -> bool:
    """Whether a training forward keeps its fast-weight checkpoints (O(B sqrt(T) H^2) floats) for
    the backward pass: when there are any (an external rule's backward replays) and they take no
    more floats than the activation cache, or than 2^24. Otherwise the backward replays the updates
    (O(sqrt(T) H^2) per thread)."""
    return 0 < n_ckpt <= max(n_cache, _CKPT_MIN_FLOATS)


def _as_array(X, name: str) -> np.ndarray:
    """np.asarray(X), with NumPy's errors for ragged or unconvertible data turned into InputError."""
    try:
        return np.asarray(X)
    except (ValueError, TypeError, OverflowError) as e:
        raise InputError(f"{name} must be an array-like of numbers with a regular shape, got "
                         f"{type(X).__name__} that NumPy cannot convert: {e}") from None


def _validate_real_array(X, name: str, dtype) -> np.ndarray:
    """Convert to a C-contiguous array of `dtype`, refusing non-numeric data, NaN/inf and values
    that do not fit in `dtype` (e.g. 1e300 for a float32 model)."""
    arr, dtype = _as_array(X, name), np.dtype(dtype)
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


class SSMN:
    """Sparse-Stream Memory Network: window attention plus plastic fast-weight layers.

    Parameters
    ----------
    variant : {"standard", "custom_split"}
        "standard" is the 80/20 static/plastic split; "custom_split" takes any `plastic_ratio`.
    input_dim, hidden_dim, output_dim : int
        Feature sizes D_in, H, D_out.
    window_size : int
        Steps the attention sees exactly (w).
    n_layers : int
        Static + plastic layers after attention.
    plastic_ratio : float in [0, 1]
        Share of plastic layers (>0 gives at least one, <1 keeps at least one static).
    rule : str
        Plasticity rule of the fast weights, any registered name ("hebbian", "importance", "oja",
        "delta", or a plugin's; see ``ssmn_rl.list_rules()``).
    rule_params : dict, optional
        The rule's own parameters (defaults and ranges declared by the rule).
    rule_backend : {"auto", "c", "numpy"}
        Where the rule runs: its C kernel when it has one ("auto"), or its NumPy code.
    plasticity_eta, decay_lambda : float
        Rate and decay of the rule: dW = eta * post (x) pre - lambda * W.
    clip : float or None
        Bound on |W_f| entries after every update; ``math.inf``: no bound, which lets the hebbian
        rule run chunkwise (see ``plastic_path``). None: the preset's, no bound for the default
        cell with the hebbian rule, 1 for the prototype's cell and every other rule.
    alpha : float
        Gain of the fast-weight read-out, z <- h + alpha * tanh(W_f h).
    preset : {None, "default", "prototype"}
        Starting point for the cell options below (each one given explicitly wins). None or
        "default" is the cell scripts/bench_cell.py chose across six tasks: position bias,
        residual, layer norm, neuromodulation and learned decay (for a rule that normalises its
        keys, the delta rule, position bias and residual only; gates only where the rule's C
        kernel takes them); see the README's "The cell". "prototype" is the public prototype's
        cell exactly (order-blind window, no residual, no norm, fixed eta and lambda).
    position_bias : bool, optional
        Add a learned bias per window offset to the attention logits (w parameters, zero at
        start): the attention can then tell recent steps from older ones.
    residual : bool, optional
        Skip connection around the attention block: z_0 = u + W_o ctx.
    neuromodulation : bool, optional
        Each plastic layer computes its write strength per step from its input,
        eta_t = plasticity_eta * sigmoid(w_eta . z_t + b_eta) (Miconi et al. 2019,
        "Backpropamine"); n_heads * (H + 1) parameters per plastic layer. Needs a rule that
        takes per-stream rates (the built-in rules, or ``PlasticityRule.per_stream_rates``).
    learned_decay : bool, optional
        Each plastic layer computes its decay per step, lambda_t = sigmoid(w_lam . z_t + b_lam)
        (gated forgetting as in Gated DeltaNet), starting at decay_lambda. Same rule condition.
    n_heads : int
        Attention heads (each attends with H / n_heads features and its own position bias) and
        fast-weight blocks: each plastic layer's W_f becomes n_heads blocks of
        (H / n_heads)^2, block h written and read by the h-th slice of the layer's features,
        with its own gates. Must divide hidden_dim.
    norm : {"none", "rms", "layer"}, optional
        Pre-norm of the input of every static and plastic layer (Ba et al. 2016: fast weights
        need normalisation): RMS norm with a learned gain, or layer norm with gain and bias. The
        plastic layers' rule then writes normalised keys.
    memory : {"long_term", "short_term"}, optional
        Named preset for (eta, lambda), overriding both.
    dtype : {"float32", "float64"}
    seed : int or None
        Seed of the initial parameters.
    n_threads : int or None
        Threads each kernel call may use (OpenMP; GEMMs, row loops and the per-stream loops of
        attention and plastic layers). None: the environment variable SSMN_NUM_THREADS, else the
        cores this process may use. Not part of the model: not saved, settable later
        (``model.n_threads = 1``). A NumPy or third-party rule runs its streams on one thread.
    plastic_path : {"auto", "step", "chunk"}
        How the plastic layers run. The hebbian rule with ``clip=math.inf`` and ``chat_steps=1``
        has a chunkwise form: the fast-weight recurrence over chunks of ceil(sqrt(T)) steps as
        matrix products (Yang et al. 2024), the same values as step by step up to rounding.
        "auto" takes it on calls of at least 16 steps; "step" never; "chunk" always (refused where
        it does not apply). ``summary()`` shows the path taken.

    Examples
    --------
    >>> import numpy as np
    >>> from ssmn_rl import SSMN
    >>> m = SSMN(input_dim=3, hidden_dim=16, output_dim=2, window_size=4, seed=0)
    >>> m.forward(np.zeros((10, 3))).shape
    (10, 2)
    """

    def __init__(self, variant: str = "standard", *, input_dim: int | None = None,
                 output_dim: int | None = None, hidden_dim: int = 32, window_size: int = 8,
                 n_layers: int = 5, plastic_ratio: float | None = None, rule: str | None = None,
                 rule_params: dict | None = None, rule_backend: str = "auto",
                 plasticity_eta: float = 0.01,
                 decay_lambda: float = 0.001, clip: float | None = None, alpha: float = 0.3,
                 vocab_size: int = 0, embed_dim: int | None = None, chat_steps: int = 1,
                 tied: bool = False, preset: str | None = None, position_bias: bool | None = None,
                 residual: bool | None = None, neuromodulation: bool | None = None,
                 learned_decay: bool | None = None, norm: str | None = None, n_heads: int = 1,
                 memory: str | None = None, dtype: str = "float32", seed=None, n_threads: int | None = None,
                 plastic_path: str = "auto"):
        if memory is not None:
            if memory not in MEMORY_PRESETS:
                raise ConfigError(f"memory must be one of {list(MEMORY_PRESETS)} or None, got {memory!r}")
            plasticity_eta = MEMORY_PRESETS[memory]["plasticity_eta"]
            decay_lambda = MEMORY_PRESETS[memory]["decay_lambda"]
        from .plugin_manager import get_variant

        spec = get_variant(variant) if isinstance(variant, str) else None
        defaults = spec.defaults if spec is not None else {}
        if plastic_ratio is None:
            plastic_ratio = defaults.get("plastic_ratio", 0.2)
        if rule is None:
            rule = defaults.get("rule", "hebbian")
        if spec is not None and spec.token_input:
            if input_dim is not None or (output_dim is not None and output_dim != vocab_size):
                raise ConfigError(f"variant {variant!r} reads tokens: give vocab_size and embed_dim, not "
                                  f"input_dim/output_dim (got input_dim={input_dim}, output_dim={output_dim})")
            if isinstance(vocab_size, bool) or not isinstance(vocab_size, numbers.Integral) or vocab_size < 2:
                raise ConfigError(f"variant {variant!r} reads tokens: vocab_size must be an integer >= 2, "
                                  f"got {vocab_size!r}")
            input_dim = defaults.get("embed_dim", 32) if embed_dim is None else embed_dim
            output_dim = vocab_size
        else:
            if embed_dim is not None:
                raise ConfigError(f"embed_dim is for token-input variants (e.g. 'text_native'), not "
                                  f"{variant!r}. HINT: use input_dim.")
            for name, value in (("input_dim", input_dim), ("output_dim", output_dim)):
                if value is None:
                    raise ConfigError(f"{name} is required for variant {variant!r} (an integer >= 1)")
        flags = cell_options(preset, n_layers=n_layers, plastic_ratio=plastic_ratio, rule=rule,
                             rule_backend=rule_backend, position_bias=position_bias, residual=residual,
                             neuromodulation=neuromodulation, learned_decay=learned_decay, norm=norm)
        cfg = SSMNConfig(variant=variant, input_dim=input_dim, hidden_dim=hidden_dim,
                         output_dim=output_dim, window_size=window_size, n_layers=n_layers,
                         plastic_ratio=plastic_ratio, rule=rule, rule_params=dict(rule_params or {}),
                         rule_backend=rule_backend, plasticity_eta=plasticity_eta,
                         decay_lambda=decay_lambda, alpha=alpha, dtype=dtype,
                         clip=resolve_clip(preset, clip, rule=rule, rule_backend=rule_backend),
                         vocab_size=vocab_size, chat_steps=chat_steps, tied=tied, preset=preset,
                         n_heads=n_heads, plastic_path=plastic_path,
                         **flags)
        if seed is not None and not (isinstance(seed, numbers.Integral) and seed >= 0):
            raise ConfigError(f"seed must be a non-negative integer or None, got {seed!r}")
        self._setup(cfg, n_threads)
        self._params = init_parameters(cfg, seed)
        self.seed = seed

    # ------------------------------------------------------------------ construction
    def _setup(self, cfg: SSMNConfig, n_threads: int | None = None) -> None:
        self.config = cfg
        self._n_threads = _kernels.resolve_threads(n_threads)
        self._dtype = np.dtype(cfg.dtype)
        self._bind_rule()
        sz = _kernels.sizes(self._c_cfg)
        self._n_params, self._n_state, self._n_cache = sz["n_params"], sz["n_state"], sz["n_cache"]
        _kernels.check_fits(self._n_params, self._dtype.itemsize, "the parameter vector")
        self._param_shapes = parameter_shapes(cfg)
        self._state_shapes = state_shapes(cfg)
        self._check_layout()
        self._live: SSMNState | None = None
        self._live_stream: Stream | None = None
        self._token_input = get_variant(cfg.variant).token_input
        self._scratch_pool = threading.local()
        # serialises the calls that read or write the live state, so threads sharing a model's
        # live stream see some sequential order of their steps, never a torn state
        self._live_lock = threading.RLock()

    def _check_layout(self) -> None:
        """ssmn_rl.layout against the core's own parameter table, tensor by tensor."""
        table = _kernels.param_table(self._c_cfg)
        ours = [(sl.start, sl.stop - sl.start, name) for name, (sl, _) in slices(self._param_shapes).items()]
        mismatch = [f"{name}: layout.py ({off}, {n}) vs core {c}"
                    for (off, n, name), c in zip(ours, table) if (off, n) != c]
        if len(table) != len(ours) or mismatch or total_size(self._state_shapes) != self._n_state:
            raise RuntimeError(f"ssmn_rl.layout disagrees with the compiled core ({len(ours)} tensors vs "
                               f"{len(table)}; {mismatch[:3]}); reinstall the package")

    def _scratch(self, name: str, n: int) -> np.ndarray:
        """A buffer of at least n elements taken out of the calling thread's pool until
        :meth:`_release` gives it back: repeated training calls on the same shapes then touch no
        fresh pages (no kernel page-zeroing), and a nested call on the same thread (a loss callable
        or a NumPy rule that runs the model) gets a buffer of its own instead of overwriting one
        still in use."""
        buf = self._scratch_pool.__dict__.pop(name, None)
        if buf is None or buf.size < n:
            buf = np.empty(n, self._dtype)
        return buf

    def _release(self, name: str, buf: np.ndarray | None) -> None:
        """Return a buffer from :meth:`_scratch` to the pool (giant one-off buffers are dropped)."""
        if buf is None or buf.nbytes > _POOL_MAX_BYTES:
            return
        pool = self._scratch_pool.__dict__
        held = pool.get(name)
        if held is None or held.size < buf.size:
            pool[name] = buf

    @classmethod
    def from_config(cls, config: SSMNConfig | dict, parameters=None, seed=None,
                    n_threads: int | None = None) -> "SSMN":
        cfg = config if isinstance(config, SSMNConfig) else SSMNConfig(**config)
        model = cls.__new__(cls)
        model._setup(cfg, n_threads)
        model._params = init_parameters(cfg, seed)
        model.seed = seed
        if parameters is not None:
            model.set_parameters(parameters)
        return model

    def __getstate__(self):
        return {"config": self.config.to_dict(), "params": self._params, "seed": self.seed,
                "live": self._live, "n_threads": self._n_threads}

    def __setstate__(self, d):
        self._setup(SSMNConfig(**d["config"]), d.get("n_threads"))
        self._params = d["params"]
        self.seed = d["seed"]
        self._live = d["live"]
        self._live_stream = None

    def __repr__(self) -> str:
        c = self.config
        return (f"SSMN(variant={c.variant!r}, input_dim={c.input_dim}, hidden_dim={c.hidden_dim}, "
                f"output_dim={c.output_dim}, window_size={c.window_size}, n_layers={c.n_layers}, "
                f"plastic_ratio={c.plastic_ratio}, rule={c.rule!r}, rule_params={c.rule_params}, "
                f"dtype={c.dtype!r})")

    # ------------------------------------------------------------------ parameters
    @property
    def n_parameters(self) -> int:
        return self._n_params

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def parameters(self) -> np.ndarray:
        """Read-only view of the flat parameter vector (use set_parameters to change it)."""
        v = self._params.view()
        v.flags.writeable = False
        return v

    def get_parameters(self) -> np.ndarray:
        """A copy of the flat parameter vector (layout: :meth:`parameter_slices`)."""
        return self._params.copy()

    def set_parameters(self, theta) -> None:
        theta = _validate_real_array(theta, "theta", self._dtype)
        if theta.shape != (self._n_params,):
            raise InputError(f"theta must have shape ({self._n_params},), got {theta.shape}")
        self._params = theta.copy()

    def parameter_slices(self) -> dict:
        """{name: (slice, shape)} of every tensor inside the flat parameter vector."""
        return slices(self._param_shapes)

    def named_parameters(self) -> dict:
        return unflatten(self._params, self._param_shapes)

    def set_plasticity(self, eta: float | None = None, decay: float | None = None) -> None:
        """Change eta and/or lambda on a live model (adaptive memory control); state is kept."""
        changes = {}
        if eta is not None:
            changes["plasticity_eta"] = eta
        if decay is not None:
            changes["decay_lambda"] = decay
        self.config = self.config.replace(**changes)
        self._bind_rule()

    def _bind_rule(self) -> None:
        from .plugin_manager import get_rule
        from .rule_binding import RuleBinding

        self._binding = RuleBinding(self.config, get_rule(self.config.rule))
        self._c_cfg = _kernels.make_c_config(self.config, self._binding, self._n_threads)

    @property
    def n_threads(self) -> int:
        """Threads each kernel call may use (settable; None = SSMN_NUM_THREADS, else the cores
        this process may use). Results are the same run to run for a given count; the forward
        pass gives the same result for every count, gradients may differ in the last bits."""
        return self._n_threads

    @n_threads.setter
    def n_threads(self, value: int | None) -> None:
        self._n_threads = _kernels.resolve_threads(value)
        self._c_cfg.n_threads = self._n_threads

    # ------------------------------------------------------------------ state
    @property
    def _signature(self) -> tuple:
        c = self.config
        return ("ssmn", c.hidden_dim, c.window_size, c.n_plastic, c.dtype)

    def initial_state(self, batch_size: int = 1) -> SSMNState:
        """A fresh state (empty window, zero fast weights) for `batch_size` streams."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise InputError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        _kernels.check_fits(int(batch_size) * self._n_state, self._dtype.itemsize, "the state")
        return SSMNState(np.zeros((int(batch_size), self._n_state), self._dtype),
                         np.zeros(int(batch_size), np.int64), self._signature, self._state_shapes)

    @property
    def state(self) -> SSMNState | None:
        """Snapshot (copy) of the live streaming state, or None before the first step."""
        with self._live_lock:
            return None if self._live is None else self._live.copy()

    @state.setter
    def state(self, value) -> None:
        new = None if value is None else check_state(value, self._signature, None,
                                                     n_state=self._n_state).copy()
        with self._live_lock:
            self._live = new

    def reset(self, mask=None, batch_size: int | None = None) -> None:
        """Reset live streams: all of them, those where `mask` is true, or start `batch_size` fresh."""
        with self._live_lock:
            if batch_size is not None or self._live is None:
                self._live = self.initial_state(1 if batch_size is None else batch_size)
                self._live_stream = None
                return
            Stream(self, self._live, copy=False).reset(mask)

    # ------------------------------------------------------------------ inputs
    def _validate(self, X, name: str) -> np.ndarray:
        return _validate_real_array(X, name, self._dtype)

    def _check_tokens(self, X, name: str = "X", step: bool = False) -> np.ndarray:
        """Token ids as a C-contiguous int32 array; (T,) / (B, T) for sequences, () / (B,) for a step."""
        arr = _as_array(X, name)
        V = self.config.vocab_size
        _kernels.check_fits(arr.size, np.dtype(np.int64).itemsize, name)
        if arr.dtype == object or arr.dtype.kind not in "iub":
            if arr.dtype.kind == "f" and (arr.size == 0 or (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))):
                if arr.size and (arr.min() < 0 or arr.max() >= V):  # before a cast that could wrap
                    bad = tuple(int(i) for i in np.argwhere((arr < 0) | (arr >= V))[0])
                    raise InputError(f"{name} holds a token id out of range [0, {V}) (vocab_size): "
                                     f"{arr[bad] if bad else arr} at index {bad}")
                arr = arr.astype(np.int64)
            else:
                raise InputError(f"{name} must hold integer token ids in [0, {V}), got dtype {arr.dtype}")
        ndims = (0, 1) if step else (1, 2)
        if arr.ndim not in ndims:
            want = "a token id or (B,) ids" if step else "(T,) or (B, T) token ids"
            raise InputError(f"{name} must be {want}, got shape {arr.shape}")
        if arr.size and (arr.min() < 0 or arr.max() >= V):
            bad = tuple(int(i) for i in np.argwhere((arr < 0) | (arr >= V))[0])
            raise InputError(f"{name} holds a token id out of range [0, {V}) (vocab_size): "
                             f"{arr[bad] if bad else arr} at index {bad}")
        return np.ascontiguousarray(arr, dtype=np.int32) if arr.ndim else np.asarray(arr, dtype=np.int32)

    def _check_input(self, X, name: str = "X") -> tuple[np.ndarray, bool]:
        if self._token_input:
            arr = self._check_tokens(X, name)
            single = arr.ndim == 1
            arr = arr[None] if single else arr
            if arr.shape[0] < 1:
                raise InputError(f"{name} must hold at least one sequence, got shape {arr.shape}")
            return arr, single
        arr = _validate_real_array(X, name, self._dtype)
        if arr.ndim not in (2, 3):
            raise InputError(f"{name} must be 2-D (T, {self.config.input_dim}) or 3-D "
                             f"(B, T, {self.config.input_dim}), got shape {arr.shape}")
        if arr.shape[-1] != self.config.input_dim:
            raise InputError(f"{name} must have {self.config.input_dim} features in its last axis "
                             f"(input_dim), got shape {arr.shape}")
        single = arr.ndim == 2
        if single:
            arr = arr[None]
        if arr.shape[0] < 1:
            raise InputError(f"{name} must hold at least one sequence, got shape {arr.shape}")
        return arr, single

    def _start_state(self, state, B: int) -> SSMNState:
        if state is None:
            return self.initial_state(B)
        return check_state(state, self._signature, B, n_state=self._n_state).copy()

    # ------------------------------------------------------------------ forward
    def forward(self, X, state: SSMNState | None = None, return_state: bool = False,
                return_features: bool = False):
        """Run sequences through the model from `state` (fresh if None).

        X (T, D_in) gives (T, D_out); X (B, T, D_in) gives (B, T, D_out); token models take
        (T,) or (B, T) ids and give next-token logits. With ``return_features=True`` also returns
        the last hidden vectors z (…, T, H) that feed the read-out (reservoir-style features);
        with ``return_state=True`` also the final :class:`SSMNState` (a copy), last.
        Feeding a sequence in pieces, carrying the state, gives the same outputs.
        """
        X, single = self._check_input(X)
        B, T = X.shape[:2]
        H = self.config.hidden_dim
        Z = np.empty((B, T, H), self._dtype) if return_features else None
        zoff = _kernels.feature_offset(self._c_cfg) if return_features else 0
        st = self._start_state(state, B)
        Y = np.empty((B, T, self.config.output_dim), self._dtype)
        per_step = B * self._n_cache * self._dtype.itemsize
        chunk = max(1, min(T, _CHUNK_CACHE_BYTES // max(per_step, 1)))
        _kernels.check_fits(B * chunk * self._n_cache, self._dtype.itemsize, "the activation cache")
        cache = self._scratch("cache", B * chunk * self._n_cache) if T else None
        try:
            for t0 in range(0, T, chunk):
                t1 = min(T, t0 + chunk)
                xs = np.ascontiguousarray(X[:, t0:t1])
                ys = np.empty((B, t1 - t0, self.config.output_dim), self._dtype)
                _kernels.forward(self._c_cfg, ys, cache, st.data, st.steps, xs, self._params, B,
                                 t1 - t0, self._binding)
                Y[:, t0:t1] = ys
                if Z is not None:
                    rec = cache[: B * (t1 - t0) * self._n_cache].reshape(B, t1 - t0, self._n_cache)
                    Z[:, t0:t1] = rec[..., zoff:zoff + H]
        finally:
            self._release("cache", cache)
        out = [Y[0] if single else Y]
        if Z is not None:
            out.append(Z[0] if single else Z)
        if return_state:
            out.append(st)
        return out[0] if len(out) == 1 else tuple(out)

    __call__ = forward

    def forward_step(self, x) -> np.ndarray:
        """Advance the live state by one step. x (D_in,) or (B, D_in) -> y (D_out,) or (B, D_out);
        for token models x is a token id or (B,) ids and y the next-token logits.

        The live state is created on first use (see :meth:`reset`, :attr:`state`); a step that
        raises leaves it unchanged. Threads calling it on one model are served one at a time;
        for independent streams (one per thread) use :meth:`stream`."""
        with self._live_lock:
            if self._live_stream is None or self._live_stream.state is not self._live:
                self._live_stream = Stream(self, self._live, copy=False)
            y = self._live_stream.step(x)
            self._live = self._live_stream.state
            return y

    def stream(self, state: SSMNState | None = None, batch_size: int | None = None) -> Stream:
        """A :class:`~ssmn_rl.stream.Stream` over its own copy of `state` (fresh if None)."""
        return Stream(self, state, batch_size)

    # ------------------------------------------------------------------ text
    def generate(self, prompt_tokens, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, seed=None,
                 state: SSMNState | None = None) -> np.ndarray:
        """Sample `max_new_tokens` token ids after `prompt_tokens` (token models only).

        The prompt runs through the sequence kernel, then each new token is one streaming step
        (O(w H + H^2 + V H) per token). ``temperature=0`` is greedy; `top_k` / `top_p` filter the
        distribution; `seed` makes sampling repeatable. The live state is not touched.
        """
        from .sampling import check_sampling, sample_token

        self._require_tokens("generate")
        prompt = self._check_tokens(prompt_tokens, "prompt_tokens")
        if prompt.ndim != 1 or prompt.size < 1:
            raise InputError(f"prompt_tokens must be a non-empty 1-D sequence of ids, got shape {prompt.shape}")
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, numbers.Integral) or max_new_tokens < 0:
            raise InputError(f"max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
        _kernels.check_fits(max_new_tokens, np.dtype(np.int64).itemsize, "max_new_tokens token ids")
        check_sampling(temperature, top_k, top_p)
        try:
            rng = np.random.default_rng(seed)
        except (TypeError, ValueError) as e:
            raise InputError(f"seed must be None, an integer >= 0 or a numpy Generator, got {seed!r} "
                             f"({e})") from None
        logits, st = self.forward(prompt, state=state, return_state=True)
        stream, last = Stream(self, st, copy=False), logits[-1]
        out = np.empty(int(max_new_tokens), np.int64)
        for i in range(int(max_new_tokens)):
            out[i] = sample_token(last, rng, temperature, top_k, top_p)
            if i + 1 < max_new_tokens:
                last = stream.step(np.int32(out[i]))
        return out

    def next_token_probabilities(self, tokens, state: SSMNState | None = None,
                                 temperature: float = 1.0) -> np.ndarray:
        """Softmax of the next-token logits after each position: (T,) ids -> (T, V)."""
        from .sampling import softmax

        self._require_tokens("next_token_probabilities")
        return softmax(self.forward(tokens, state=state), temperature)

    def _require_tokens(self, what: str) -> None:
        if not self._token_input:
            raise ConfigError(f"{what} needs a token model (variant 'text_native'), this one is "
                              f"{self.config.variant!r}")

    # ------------------------------------------------------------------ training
    def value_and_grad(self, X, Y_target, loss: str = "mse", state: SSMNState | None = None,
                       mask=None, return_state: bool = False, return_state_grad: bool = False):
        """Loss and its exact gradient (BPTT through the whole sequence, fast weights included).

        Parameters
        ----------
        X : (T, D_in) or (B, T, D_in)
        Y_target : same leading shape; (…, D_out) floats for "mse", (…,) class ids for
            "cross_entropy" (softmax over the D_out outputs); ignored (may be None) when `loss`
            is a callable.
        loss : {"mse", "cross_entropy"} or callable
            A callable gets the outputs Y (B, T, D_out) and returns ``(loss_value, dL/dY)`` with
            dL/dY of the same shape: any differentiable objective (e.g. a PPO loss over policy
            logits and a value head) trains through the same exact backward pass.
        state : starting state (fresh if None); not modified.
        mask : (T,) or (B, T) non-negative step weights (default all ones).

        Returns
        -------
        loss : float
        grad : ndarray (n_parameters,), same layout as :meth:`get_parameters`
        state : final SSMNState, if ``return_state``
        dstate : ndarray (B, n_state) gradient with respect to the starting state, if
            ``return_state_grad``
        """
        custom = callable(loss)
        if not custom and loss not in LOSSES:
            raise InputError(f"loss must be one of {list(LOSSES)} or a callable, got {loss!r}")
        self._binding.require_gradient()
        X, single = self._check_input(X)
        B, T = X.shape[:2]
        if T < 1:
            raise InputError(f"X must have at least one time step, got shape {X.shape}")
        target = None if custom else self._check_target(Y_target, loss, B, T, single)
        m = self._check_mask(mask, B, T, single)
        st0 = self._start_state(state, B)
        st = st0.copy()
        sz = _kernels.sizes(self._c_cfg, B, T)
        _kernels.check_fits(B * T * sz["n_cache"] + sz["n_work"], self._dtype.itemsize,
                            "the training cache and workspace")
        cache = self._scratch("cache", B * T * sz["n_cache"])
        work = self._scratch("work", sz["n_work"])
        ckpt = self._scratch("ckpt", sz["n_ckpt"]) if _keep_checkpoints(sz["n_ckpt"], B * T * sz["n_cache"]) else None
        try:
            Y = np.empty((B, T, self.config.output_dim), self._dtype)
            _kernels.forward(self._c_cfg, Y, cache, st.data, st.steps, X, self._params, B, T, self._binding,
                             ckpt=ckpt)
            if custom:
                value, dY = self._custom_loss(loss, Y[0] if single else Y)
                dY = _as_array(dY, "dL/dY from the loss")
                dY = dY[None] if single else dY
                if dY.shape != Y.shape:
                    raise InputError(f"the loss callable must return dL/dY of shape "
                                     f"{Y.shape[1:] if single else Y.shape}, "
                                     f"got {dY.shape[1:] if single else dY.shape}")
            else:
                value, dY = mse(Y, target, m) if loss == "mse" else cross_entropy(Y, target, m, out=Y)
            dY = _validate_real_array(dY, "dL/dY from the loss", self._dtype)
            grad = np.zeros(self._n_params, self._dtype)
            dstate = np.zeros((B, self._n_state), self._dtype) if return_state_grad else None
            _kernels.backward(self._c_cfg, grad, dstate, work, dY, cache, st0.data, st0.steps, X,
                              self._params, B, T, self._binding, ckpt=ckpt)
        finally:
            self._release("cache", cache)
            self._release("work", work)
            self._release("ckpt", ckpt)
        out = [value, grad]
        if return_state:
            out.append(st)
        if return_state_grad:
            out.append(dstate)
        return tuple(out)

    @staticmethod
    def _custom_loss(loss, Y):
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

    def _check_target(self, Y, loss: str, B: int, T: int, single: bool) -> np.ndarray:
        if loss == "mse":
            t = _validate_real_array(Y, "Y_target", self._dtype)
            want = (B, T, self.config.output_dim)
            if single:
                t = t[None]
            if t.shape != want:
                raise InputError(f"Y_target must have shape {want[1:] if single else want} for "
                                 f"loss='mse', got {t.shape[1:] if single else t.shape}")
            return t
        t = _as_array(Y, "Y_target")
        if t.dtype.kind not in "iu":
            raise InputError(f"Y_target must hold integer class ids for loss='cross_entropy', got {t.dtype}")
        if single:
            t = t[None]
        if t.shape != (B, T):
            raise InputError(f"Y_target must have shape {(T,) if single else (B, T)} for "
                             f"loss='cross_entropy', got {t.shape[1:] if single else t.shape}")
        C = self.config.output_dim
        if t.size and (t.min() < 0 or t.max() >= C):
            raise InputError(f"Y_target class ids must be in [0, {C}) (output_dim), got range "
                             f"[{t.min()}, {t.max()}]")
        return t.astype(np.int64)

    def _check_mask(self, mask, B: int, T: int, single: bool) -> np.ndarray:
        if mask is None:
            return np.ones((B, T), self._dtype)
        m = _validate_real_array(mask, "mask", self._dtype)
        if single:
            m = m[None]
        if m.shape != (B, T):
            raise InputError(f"mask must have shape {(T,) if single else (B, T)}, got {np.shape(mask)}")
        if (m < 0).any():
            raise InputError("mask weights must be >= 0")
        return m

    # ------------------------------------------------------------------ inspection
    def statistics(self, state: SSMNState | None = None) -> dict:
        """Live statistics per stream: synaptic energy (mean W_f^2, per plastic layer), update
        magnitude (RMS of the last dW_f), attention entropy (nats, last step), window fill."""
        from .analysis import statistics
        return statistics(self, self._pick_state(state))

    def analyze_synaptic_state(self, state: SSMNState | None = None) -> dict:
        """Spectral radius, active modes and sparsity of each fast-weight matrix (stream 0)."""
        from .analysis import analyze_synaptic_state
        return analyze_synaptic_state(self, self._pick_state(state))

    def plot_synaptic_state(self, state: SSMNState | None = None, path=None):
        """Heat map and eigenvalue spectrum of each fast-weight matrix (matplotlib figure)."""
        from .analysis import plot_synaptic_state
        return plot_synaptic_state(self, self._pick_state(state), path)

    def _pick_state(self, state) -> SSMNState:
        if state is None:
            return self._live if self._live is not None else self.initial_state(1)
        return check_state(state, self._signature, None, n_state=self._n_state)

    def summary(self) -> str:
        """Human-readable description: layer split, plasticity, parameter count, statistics."""
        from .analysis import summary
        return summary(self)

    def print_info(self) -> None:
        print(self.summary())

    # ------------------------------------------------------------------ files
    def save(self, path) -> None:
        """Write the model to `path` (atomic; versioned, non-executable format, see io.py)."""
        from .serialization import save_model
        save_model(self, path)

    @classmethod
    def load(cls, path) -> "SSMN":
        """A model saved by :meth:`save`; a damaged, foreign or incompatible file raises
        ModelFileError naming the problem."""
        from .errors import ModelFileError, SSMNError
        from .serialization import read_model

        config, params, seed = read_model(path)
        try:
            return cls.from_config(config, parameters=params, seed=seed)
        except (SSMNError, TypeError, KeyError, ValueError, OverflowError) as e:
            raise ModelFileError(f"{str(path)!r}: stored configuration is invalid: {e}") from e
