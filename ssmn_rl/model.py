"""The SSMN model: the public face over the core, the sequence calls and the live stream.

`SSMN` owns one flat parameter vector and a live state for step-by-step streaming, and delegates
the rest, one job a module: the configuration is built and checked in :mod:`ssmn_rl.config`, the
compiled configuration (C config, rule binding, sizes, scratch buffers) is a
:class:`~ssmn_rl.core.Core`, whole sequences run in :mod:`ssmn_rl.sequence`, streaming in
:mod:`ssmn_rl.stream`, text generation in :mod:`ssmn_rl.generation`, statistics and plots in
:mod:`ssmn_rl.analysis`, files in :mod:`ssmn_rl.serialization`. Sequence calls (`forward`,
`value_and_grad`) never touch the live state: they start from a given snapshot (or a fresh state)
and can return the final one.
"""
from __future__ import annotations

import numpy as np

from . import generation, inputs, sequence
from .config import SSMNConfig, check_seed, model_config
from .core import Core, init_parameters
from .errors import InputError
from .layout import slices, unflatten
from .state import SSMNState
from .stream import LiveStream, Stream


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
        and delta rules run chunkwise (see ``plastic_path``). None: the preset's, no bound for the default
        cell with the hebbian or delta rule, 1 for the prototype's cell and every other rule.
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
        attention and plastic layers). None: the environment variable SSMN_NUM_THREADS, else
        OMP_NUM_THREADS, else the cores this process may use. Not part of the model: not saved, settable later
        (``model.n_threads = 1``). A NumPy or third-party rule runs its streams on one thread.
    plastic_path : {"auto", "step", "chunk"}
        How the plastic layers run. The hebbian and delta rules with ``clip=math.inf`` and
        ``chat_steps=1`` have a chunkwise form: the fast-weight recurrence over chunks of
        ceil(sqrt(T)) steps (at least 32) as matrix products (Yang et al. 2024), the same values as
        step by step up to rounding.
        "auto" takes it on calls of 16 to 4,096 steps; "step" never; "chunk" always (refused where
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
        cfg = model_config(variant, input_dim=input_dim, output_dim=output_dim, hidden_dim=hidden_dim,
                           window_size=window_size, n_layers=n_layers, plastic_ratio=plastic_ratio,
                           rule=rule, rule_params=rule_params, rule_backend=rule_backend,
                           plasticity_eta=plasticity_eta, decay_lambda=decay_lambda, clip=clip,
                           alpha=alpha, vocab_size=vocab_size, embed_dim=embed_dim,
                           chat_steps=chat_steps, tied=tied, preset=preset, position_bias=position_bias,
                           residual=residual, neuromodulation=neuromodulation,
                           learned_decay=learned_decay, norm=norm, n_heads=n_heads, memory=memory,
                           dtype=dtype, plastic_path=plastic_path)
        self._build(cfg, check_seed(seed), n_threads)

    # ------------------------------------------------------------------ construction
    def _build(self, cfg: SSMNConfig, seed, n_threads: int | None, params: np.ndarray | None = None,
               live: SSMNState | None = None) -> None:
        """The core first (it refuses sizes that do not fit), then the parameters (fresh from
        `seed` when None), then the live stream (fresh when `live` is None)."""
        self._core = Core(cfg, n_threads)
        self._store_parameters(init_parameters(cfg, seed) if params is None else params)
        self._live = LiveStream(self, live)
        self.seed = seed

    @classmethod
    def from_config(cls, config: SSMNConfig | dict, parameters=None, seed=None,
                    n_threads: int | None = None) -> "SSMN":
        cfg = config if isinstance(config, SSMNConfig) else SSMNConfig(**config)
        model = cls.__new__(cls)
        model._build(cfg, seed, n_threads)
        if parameters is not None:
            model.set_parameters(parameters)
        return model

    def __getstate__(self):
        return {"config": self.config.to_dict(), "params": self._params, "seed": self.seed,
                "live": self._live.current, "n_threads": self.n_threads}

    def __setstate__(self, d):
        self._build(SSMNConfig(**d["config"]), d["seed"], d.get("n_threads"), d["params"], d["live"])

    def __repr__(self) -> str:
        c = self.config
        return (f"SSMN(variant={c.variant!r}, input_dim={c.input_dim}, hidden_dim={c.hidden_dim}, "
                f"output_dim={c.output_dim}, window_size={c.window_size}, n_layers={c.n_layers}, "
                f"plastic_ratio={c.plastic_ratio}, rule={c.rule!r}, rule_params={c.rule_params}, "
                f"dtype={c.dtype!r})")

    # ------------------------------------------------------------------ what the model is
    @property
    def config(self) -> SSMNConfig:
        """The validated configuration (:meth:`set_plasticity` replaces it)."""
        return self._core.config

    @property
    def core(self) -> Core:
        """The compiled configuration the kernels run: C config, rule binding, sizes, tensor
        shapes and scratch buffers (:class:`ssmn_rl.core.Core`). For ssmn_rl's own modules
        (streams, populations) and for tests and benchmarks that call ``ssmn_rl._kernels``."""
        return self._core

    @property
    def token_input(self) -> bool:
        """Whether the model reads token ids (variant 'text_native') instead of real vectors."""
        return self._core.token_input

    @property
    def n_parameters(self) -> int:
        return self._core.n_params

    @property
    def dtype(self) -> np.dtype:
        return self._core.dtype

    # ------------------------------------------------------------------ parameters
    def _store_parameters(self, theta: np.ndarray) -> None:
        """Own `theta` as the parameter vector, with one read-only view of it handed out by
        :attr:`parameters` until the next call (streams compare it to see new parameters)."""
        self._params = theta
        self._params_view = theta.view()
        self._params_view.flags.writeable = False

    @property
    def parameters(self) -> np.ndarray:
        """Read-only view of the flat parameter vector (use set_parameters to change it). The same
        view is returned until the parameters are replaced."""
        return self._params_view

    def get_parameters(self) -> np.ndarray:
        """A copy of the flat parameter vector (layout: :meth:`parameter_slices`)."""
        return self._params.copy()

    def set_parameters(self, theta) -> None:
        n = self._core.n_params
        theta = inputs.real_array(theta, "theta", self.dtype)
        if theta.shape != (n,):
            raise InputError(f"theta must have shape ({n},), got {theta.shape}")
        self._store_parameters(theta.copy())

    def parameter_slices(self) -> dict:
        """{name: (slice, shape)} of every tensor inside the flat parameter vector."""
        return slices(self._core.param_shapes)

    def named_parameters(self) -> dict:
        return unflatten(self._params, self._core.param_shapes)

    def set_plasticity(self, eta: float | None = None, decay: float | None = None) -> None:
        """Change eta and/or lambda on a live model (adaptive memory control); state is kept."""
        changes = {}
        if eta is not None:
            changes["plasticity_eta"] = eta
        if decay is not None:
            changes["decay_lambda"] = decay
        self._core.rebind(self.config.replace(**changes))

    @property
    def n_threads(self) -> int:
        """Threads each kernel call may use (settable; None = SSMN_NUM_THREADS, else
        OMP_NUM_THREADS, else the cores this process may use). Results are the same run to run for a given count; the forward
        pass gives the same result for every count, gradients may differ in the last bits."""
        return self._core.n_threads

    @n_threads.setter
    def n_threads(self, value: int | None) -> None:
        self._core.n_threads = value

    # ------------------------------------------------------------------ state
    def initial_state(self, batch_size: int = 1) -> SSMNState:
        """A fresh state (empty window, zero fast weights) for `batch_size` streams."""
        return self._core.initial_state(batch_size)

    @property
    def state(self) -> SSMNState | None:
        """Snapshot (copy) of the live streaming state, or None before the first step."""
        return self._live.snapshot()

    @state.setter
    def state(self, value) -> None:
        self._live.replace(value)

    def reset(self, mask=None, batch_size: int | None = None) -> None:
        """Reset live streams: all of them, those where `mask` is true, or start `batch_size` fresh."""
        self._live.reset(mask, batch_size)

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
        return sequence.forward(self._core, self._params, X, state, return_state, return_features)

    __call__ = forward

    def forward_step(self, x) -> np.ndarray:
        """Advance the live state by one step. x (D_in,) or (B, D_in) -> y (D_out,) or (B, D_out);
        for token models x is a token id or (B,) ids and y the next-token logits.

        The live state is created on first use (see :meth:`reset`, :attr:`state`); a step that
        raises leaves it unchanged. Threads calling it on one model are served one at a time;
        for independent streams (one per thread) use :meth:`stream`."""
        return self._live.step(x)

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
        return generation.generate(self, prompt_tokens, max_new_tokens, temperature, top_k, top_p,
                                   seed, state)

    def next_token_probabilities(self, tokens, state: SSMNState | None = None,
                                 temperature: float = 1.0) -> np.ndarray:
        """Softmax of the next-token logits after each position: (T,) ids -> (T, V)."""
        return generation.next_token_probabilities(self, tokens, state, temperature)

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
        return sequence.value_and_grad(self._core, self._params, X, Y_target, loss, state, mask,
                                       return_state, return_state_grad)

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
            live = self._live.current
            return live if live is not None else self.initial_state(1)
        return self._core.check_state(state)

    def summary(self) -> str:
        """Human-readable description: layer split, plasticity, parameter count, statistics."""
        from .analysis import summary
        return summary(self)

    def print_info(self) -> None:
        print(self.summary())

    # ------------------------------------------------------------------ files
    def save(self, path) -> None:
        """Write the model to `path` (atomic; versioned, non-executable format, see :mod:`ssmn_rl.serialization`)."""
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
