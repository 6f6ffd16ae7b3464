"""Model configuration: validation of every hyper-parameter and the static/plastic layer split.

`SSMNConfig` is the single place where a configuration is checked; the C core re-checks the same
limits, but users see these messages, which name the argument, the valid range and the value given.
:func:`model_config` turns the arguments of the ``SSMN`` constructor (presets, variant defaults,
token sizes) into one `SSMNConfig`, and :func:`check_seed` checks its seed.
"""
from __future__ import annotations

import dataclasses
import math
import numbers

from .errors import ConfigError

DTYPES = ("float32", "float64")
#: How the plastic layers run: "auto" (chunkwise where it applies, on calls of CHUNK_AUTO_STEPS
#: steps), "step" (always step by step), "chunk" (chunkwise; refused where it
#: does not apply). Same order as the core's ssmn_config.plastic_path.
PLASTIC_PATHS = ("auto", "step", "chunk")
CHUNK_AUTO_STEPS = (16, 4096)  # SSMN_CHUNK_AUTO_T, SSMN_CHUNK_AUTO_MAX_T in native/ssmn_core.c


def _dtype_name(dtype) -> str:
    """'float32' or 'float64' from a name, a NumPy scalar type or a dtype (np.float32 works as
    well as "float32"); anything else is a ConfigError naming dtype."""
    import numpy as np
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if dtype is None or isinstance(dtype, bool) or name not in DTYPES:
        raise ConfigError(f"dtype must be one of {list(DTYPES)} (a name or NumPy dtype), got {dtype!r}")
    return name
RULE_BACKENDS = ("auto", "c", "numpy")

#: Cell presets: the flags a preset sets unless the caller gives them explicitly.
#: "prototype" is the public prototype's cell exactly (order-blind window, fixed eta and lambda);
#: "default" is the cell the learning benchmarks chose (scripts/bench_cell.py; README "The cell").
CELL_FLAGS = ("position_bias", "residual", "neuromodulation", "learned_decay")
CELL_OPTIONS = (*CELL_FLAGS, "norm")
GATES = ("neuromodulation", "learned_decay")
NORMS = ("none", "rms", "layer")
CELL_PRESETS = {
    "prototype": {"position_bias": False, "residual": False, "neuromodulation": False,
                  "learned_decay": False, "norm": "none"},
    "default": {"position_bias": True, "residual": True, "neuromodulation": True,
                "learned_decay": True, "norm": "layer"},
}


def resolve_cell_flags(preset, *, gates_apply: bool = True, keys_normalised: bool = False, **given) -> dict:
    """The cell's options (CELL_OPTIONS): each one given explicitly (not None) wins, the rest come
    from `preset` (None = "default"). A preset's gates are left off where they cannot apply
    (`gates_apply` False: no plastic layer, or a rule without a built-in C kernel); asked for
    explicitly there, SSMNConfig refuses them with the reason. For a rule that normalises its keys
    itself (`keys_normalised`, the delta rule) a preset keeps only its attention options: with the
    pre-norm and the gates, multi-query recall went from 20.6% to 88.9-91.6% error (README, "The
    cell")."""
    name = "default" if preset is None else preset
    if not isinstance(name, str) or name not in CELL_PRESETS:
        raise ConfigError(f"preset must be one of {sorted(CELL_PRESETS)} or None (the default cell), "
                          f"got {preset!r}")
    unknown = sorted(set(given) - set(CELL_OPTIONS))
    if unknown:
        raise ConfigError(f"unknown cell option(s) {unknown}; the options are {list(CELL_OPTIONS)}")
    out = {}
    for k in CELL_OPTIONS:
        if given.get(k) is not None:
            out[k] = given[k]
        elif k in GATES and (keys_normalised or not gates_apply):
            out[k] = False
        elif k == "norm" and keys_normalised:
            out[k] = "none"
        else:
            out[k] = CELL_PRESETS[name][k]
    return out


def rule_takes_gates(spec, rule_backend: str) -> bool:
    """Whether a rule takes a per-step eta_t and lambda_t: a built-in C kernel does; NumPy and
    plugin-compiled functions do when the rule declares ``per_stream_rates``."""
    return (spec.c_rule_id is not None and rule_backend != "numpy") or bool(spec.per_stream_rates)


def rule_runs_chunkwise(spec, rule_backend: str) -> bool:
    """Whether a rule has a chunkwise form that will run: it declares ``chunkwise`` and runs by its
    built-in C kernel (not its NumPy code)."""
    return bool(spec.chunkwise) and spec.c_rule_id is not None and rule_backend != "numpy"


def cell_options(preset, *, n_layers, plastic_ratio, rule, rule_backend, **given) -> dict:
    """The cell options of a model being built: `resolve_cell_flags` told whether the preset's
    gates can apply (a plastic layer to gate, a rule run by its built-in C kernel) and whether the
    rule normalises its keys. Invalid values answer "no" here; SSMNConfig reports them by name."""
    from .plugin_manager import get_rule

    try:
        spec = get_rule(rule)
        has_plastic = split_layers(int(n_layers), float(plastic_ratio))[1] > 0
        gates_apply = has_plastic and rule_takes_gates(spec, rule_backend)
        keys_normalised = bool(spec.normalises_keys)
    except Exception:  # noqa: BLE001 - invalid arguments are reported by SSMNConfig
        gates_apply = keys_normalised = False
    return resolve_cell_flags(preset, gates_apply=gates_apply, keys_normalised=keys_normalised, **given)


def resolve_clip(preset, clip, *, rule, rule_backend) -> float:
    """The clip of W_f: `clip` when given (not None), else the preset's. The default cell drops
    the clip (inf) for a rule with a chunkwise form run by its C kernel (hebbian, delta), which
    then trains chunkwise. On scripts/bench_cell.py's six tasks, 3 seeds, 600 steps each, the
    default cell without the clip ranked with the clip at 1 within one standard deviation on
    every task, for both rules (mean rank 1.58 vs 1.42 each), and the hebbian one trained 3.2x
    faster per step at T = 60; the language model's delta rule made 1.58x the steps in the same
    time (README "The cell", "Language model"). The prototype's cell, and every other rule,
    keep the clip at 1."""
    if clip is not None:
        return clip
    from .plugin_manager import get_rule

    name = "default" if preset is None else preset
    try:
        spec = get_rule(rule)
        unbounded = rule_runs_chunkwise(spec, rule_backend)
    except Exception:  # noqa: BLE001 - an unknown rule is reported by SSMNConfig
        unbounded = False
    return math.inf if name == "default" and unbounded else 1.0


#: Named memory presets from the SSMN write-up ("adaptive memory control").
MEMORY_PRESETS = {
    "long_term": {"plasticity_eta": 0.05, "decay_lambda": 0.0001},
    "short_term": {"plasticity_eta": 0.001, "decay_lambda": 0.01},
}


def split_layers(n_layers: int, plastic_ratio: float) -> tuple[int, int]:
    """Return (n_static, n_plastic) for `n_layers` layers of which a fraction `plastic_ratio` is
    plastic: round to nearest, then at least one plastic layer when the ratio is > 0 and at least
    one static layer when it is < 1."""
    n_plastic = int(math.floor(plastic_ratio * n_layers + 0.5))
    if plastic_ratio > 0:
        n_plastic = max(n_plastic, 1)
    if plastic_ratio < 1:
        n_plastic = min(n_plastic, n_layers - 1)
    return n_layers - n_plastic, n_plastic


def _int_arg(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def _float_arg(name: str, value, lo: float, hi: float, lo_open=False, hi_open=False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    try:
        v = float(value)
    except OverflowError:
        raise ConfigError(f"{name} must be a finite real number, got {value!r} (too large for a float)") from None
    ok = math.isfinite(v) or (hi == math.inf and v == math.inf and not hi_open)
    ok = ok and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        lb = "(" if lo_open else "["
        rb = ")" if hi_open else "]"
        raise ConfigError(f"{name} must be in {lb}{lo}, {hi}{rb}, got {value!r}")
    return v


@dataclasses.dataclass(frozen=True)
class SSMNConfig:
    """Validated hyper-parameters of an SSMN model (see DESIGN §2 for the cell they describe)."""

    variant: str = "standard"
    input_dim: int = 1
    hidden_dim: int = 32
    output_dim: int = 1
    window_size: int = 8
    n_layers: int = 5
    plastic_ratio: float = 0.2
    rule: str = "hebbian"
    rule_params: dict = dataclasses.field(default_factory=dict)
    rule_backend: str = "auto"
    plasticity_eta: float = 0.01
    decay_lambda: float = 0.001
    clip: float = 1.0
    alpha: float = 0.3
    dtype: str = "float32"
    vocab_size: int = 0
    chat_steps: int = 1
    tied: bool = False
    position_bias: bool = False
    residual: bool = False
    neuromodulation: bool = False
    learned_decay: bool = False
    norm: str = "none"
    n_heads: int = 1
    preset: str | None = None
    plastic_path: str = "auto"

    def __post_init__(self):
        from .plugin_manager import get_rule, get_variant

        variant = get_variant(self.variant)
        for name in ("input_dim", "hidden_dim", "output_dim", "window_size", "n_layers"):
            _int_arg(name, getattr(self, name))
        ratio = _float_arg("plastic_ratio", self.plastic_ratio, 0.0, 1.0)
        if 0.0 < ratio < 1.0 and self.n_layers < 2:
            raise ConfigError(
                f"plastic_ratio={ratio} needs at least one static and one plastic layer, so "
                f"n_layers must be >= 2, got {self.n_layers}"
            )
        if not isinstance(self.rule, str):
            raise ConfigError(f"rule must be a rule name (str), got {self.rule!r}")
        if not isinstance(self.rule_params, dict):
            raise ConfigError(f"rule_params must be a dict, got {type(self.rule_params).__name__}")
        rule = get_rule(self.rule)
        object.__setattr__(self, "rule_params", rule.resolve_params(self.rule_params))
        if self.rule_backend not in RULE_BACKENDS:
            raise ConfigError(f"rule_backend must be one of {list(RULE_BACKENDS)}, got {self.rule_backend!r}")
        if self.rule_backend == "c" and rule.c_rule_id is None and not rule.c_source:
            raise ConfigError(f"rule {self.rule!r} has no C implementation; rule_backend='c' is "
                              "impossible. HINT: use rule_backend='auto' (runs its NumPy code).")
        _float_arg("plasticity_eta", self.plasticity_eta, 0.0, math.inf, hi_open=True)
        _float_arg("decay_lambda", self.decay_lambda, 0.0, 1.0, hi_open=True)
        _float_arg("clip", self.clip, 0.0, math.inf, lo_open=True)
        _float_arg("alpha", self.alpha, -math.inf, math.inf, True, True)
        object.__setattr__(self, "dtype", _dtype_name(self.dtype))
        _int_arg("vocab_size", self.vocab_size, 0)
        _int_arg("chat_steps", self.chat_steps, 1)
        for flag in ("tied", *CELL_FLAGS):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(f"{flag} must be True or False, got {getattr(self, flag)!r}")
        _int_arg("n_heads", self.n_heads, 1)
        if self.hidden_dim % self.n_heads:
            raise ConfigError(f"n_heads must divide hidden_dim={self.hidden_dim} (each head gets "
                              f"hidden_dim / n_heads features), got n_heads={self.n_heads}. HINT: "
                              f"a divisor of {self.hidden_dim}, e.g. 1.")
        if not isinstance(self.norm, str) or self.norm not in NORMS:
            raise ConfigError(f"norm must be one of {list(NORMS)}, got {self.norm!r}")
        self._check_plastic_path(rule)
        if self.preset is not None and self.preset not in CELL_PRESETS:
            raise ConfigError(f"preset must be one of {sorted(CELL_PRESETS)} or None, got {self.preset!r}")
        if self.neuromodulation or self.learned_decay:
            gates = [f for f in ("neuromodulation", "learned_decay") if getattr(self, f)]
            if not rule_takes_gates(rule, self.rule_backend):
                raise ConfigError(
                    f"{' and '.join(gates)} need a rule that takes a per-step eta_t and lambda_t "
                    f"(the built-in rules' C kernels, or a rule declaring per_stream_rates=True); rule "
                    f"{self.rule!r} with rule_backend={self.rule_backend!r} runs functions that take a "
                    "fixed eta and lambda. HINT: use a built-in rule with rule_backend='auto', "
                    "declare per_stream_rates in the rule, or turn the gates off.")
            if self.n_plastic == 0:
                raise ConfigError(f"{' and '.join(gates)} gate the plastic layers, but plastic_ratio="
                                  f"{self.plastic_ratio} gives none. HINT: plastic_ratio > 0.")
        if variant.token_input:
            if self.vocab_size < 2:
                raise ConfigError(f"variant {self.variant!r} reads tokens: vocab_size must be an integer "
                                  f">= 2, got {self.vocab_size}")
            if self.output_dim != self.vocab_size:
                raise ConfigError(f"variant {self.variant!r} predicts the next token: output_dim must equal "
                                  f"vocab_size ({self.vocab_size}), got {self.output_dim}")
            if self.tied and self.input_dim != self.hidden_dim:
                raise ConfigError(f"tied=True decodes with the embedding table, so embed_dim must equal "
                                  f"hidden_dim ({self.hidden_dim}), got {self.input_dim}")
        elif self.vocab_size or self.tied:
            raise ConfigError(f"vocab_size and tied are for token-input variants (e.g. 'text_native'); "
                              f"variant {self.variant!r} reads real vectors. HINT: remove them.")
        if variant.validate is not None:
            variant.validate(self)

    def chunkwise_applies(self) -> bool:
        """Whether the plastic layers can run chunkwise: a rule declaring ``chunkwise`` run by its
        C kernel, no clip (``clip=inf``), one read per step (``chat_steps=1``)."""
        from .plugin_manager import get_rule
        return (self.n_plastic > 0 and rule_runs_chunkwise(get_rule(self.rule), self.rule_backend)
                and self.clip == math.inf and self.chat_steps == 1)

    def plastic_path_taken(self) -> str:
        """How the plastic layers run, in words (``summary()`` shows it)."""
        if self.n_plastic == 0:
            return "none (no plastic layer)"
        if not self.chunkwise_applies() or self.plastic_path == "step":
            return "step by step"
        if self.plastic_path == "chunk":
            return "chunkwise"
        lo, hi = CHUNK_AUTO_STEPS
        return f"chunkwise on calls of {lo}..{hi} steps, else step by step"

    def _check_plastic_path(self, rule) -> None:
        if self.plastic_path not in PLASTIC_PATHS:
            raise ConfigError(f"plastic_path must be one of {list(PLASTIC_PATHS)}, got {self.plastic_path!r}")
        if self.plastic_path == "chunk" and not self.chunkwise_applies():
            why = []
            if not rule.chunkwise or rule.c_rule_id is None:
                why.append(f"rule {self.rule!r} has no chunkwise form (built in: hebbian, delta)")
            if self.rule_backend == "numpy":
                why.append("rule_backend='numpy' runs the rule's NumPy code step by step")
            if self.clip != math.inf:
                why.append(f"clip={self.clip!r} bounds W_f after every step (the chunkwise form needs clip=inf)")
            if self.chat_steps != 1:
                why.append(f"chat_steps={self.chat_steps!r} (the chunkwise form reads W_f once per step)")
            if self.n_plastic == 0:
                why.append("the model has no plastic layer")
            raise ConfigError("plastic_path='chunk' does not apply: " + "; ".join(why)
                              + ". HINT: plastic_path='auto' runs chunkwise wherever it applies.")

    @property
    def n_static(self) -> int:
        return split_layers(self.n_layers, self.plastic_ratio)[0]

    @property
    def n_plastic(self) -> int:
        return split_layers(self.n_layers, self.plastic_ratio)[1]

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["rule_params"] = dict(self.rule_params)
        return d

    def replace(self, **changes) -> "SSMNConfig":
        return dataclasses.replace(self, **changes)


def check_seed(seed):
    """`seed` itself if it is None or an integer >= 0 (the seed of the initial parameters)."""
    if seed is not None and not (isinstance(seed, numbers.Integral) and seed >= 0):
        raise ConfigError(f"seed must be a non-negative integer or None, got {seed!r}")
    return seed


def model_config(variant="standard", *, input_dim=None, output_dim=None, plastic_ratio=None, rule=None,
                 rule_params=None, rule_backend="auto", plasticity_eta=0.01, decay_lambda=0.001,
                 vocab_size=0, embed_dim=None, preset=None, position_bias=None, residual=None,
                 neuromodulation=None, learned_decay=None, norm=None, memory=None, n_layers=5, clip=None,
                 **sizes) -> SSMNConfig:
    """The `SSMNConfig` of ``SSMN(variant, **arguments)``: a `memory` preset sets eta and lambda;
    `plastic_ratio` and `rule` default to the variant's; a token-input variant takes `vocab_size`
    and `embed_dim` in place of `input_dim` / `output_dim`; the cell options come from `preset`
    (:func:`cell_options`) and `clip` None from the preset (:func:`resolve_clip`). The remaining
    arguments (`sizes`: hidden_dim, window_size, alpha, chat_steps, tied, n_heads, dtype,
    plastic_path) go to `SSMNConfig` as they are."""
    from .plugin_manager import get_variant

    if memory is not None:
        if memory not in MEMORY_PRESETS:
            raise ConfigError(f"memory must be one of {list(MEMORY_PRESETS)} or None, got {memory!r}")
        plasticity_eta = MEMORY_PRESETS[memory]["plasticity_eta"]
        decay_lambda = MEMORY_PRESETS[memory]["decay_lambda"]
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
        try:
            _int_arg("vocab_size", vocab_size, 2)
        except ConfigError as e:
            raise ConfigError(f"variant {variant!r} reads tokens: {e}") from None
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
    return SSMNConfig(variant=variant, input_dim=input_dim, output_dim=output_dim, n_layers=n_layers,
                      plastic_ratio=plastic_ratio, rule=rule, rule_params=dict(rule_params or {}),
                      rule_backend=rule_backend, plasticity_eta=plasticity_eta,
                      decay_lambda=decay_lambda, vocab_size=vocab_size, preset=preset,
                      clip=resolve_clip(preset, clip, rule=rule, rule_backend=rule_backend), **sizes, **flags)
