"""Declared constructor parameters of the estimator-style faces (the scikit-learn estimators and the
language model): one :class:`Option` per parameter, holding its default, its scikit-learn
``_parameter_constraints`` entry and its numpydoc text, and the helpers that turn a tuple of options
into an ``__init__``, the constraints dict and the docstring's "Parameters" section.

:data:`MODEL_OPTIONS` lists every option of the ``SSMN`` constructor that the faces pass through
(everything but the sizes that come from the data and the seed that comes from ``random_state``).
**A new SSMN constructor option is one entry there**: every estimator and the language model then
accepts it, validates it, documents it and passes it to ``SSMN``. :data:`TRAINING_OPTIONS` are the
settings of :mod:`ssmn_rl.training` shared by every face that trains by gradient. This module holds
declarations only; no face logic.
"""
from __future__ import annotations

import dataclasses
import inspect
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from .declared import Option, document, parameters_section  # noqa: F401  (part of this module's API)


def _as_dict(d):
    return dict(d)


# ------------------------------------------------------------------------------ the SSMN options
#: Options of ``SSMN(variant, **kw)`` that every face passes through, with the defaults of the
#: estimators (faces may override defaults with :func:`with_defaults`). Add a new SSMN constructor
#: option here, once.
MODEL_OPTIONS: tuple[Option, ...] = (
    Option("variant", "standard", [str], "str",
           "Any registered model variant (``ssmn_rl.list_variants()``): \"standard\" (80/20 "
           "static/plastic split) or \"custom_split\" (any ``plastic_ratio``) for real-valued "
           "inputs; \"text_native\" for integer token ids (a 2-D X of shape (n_sequences, T), "
           "read through a learned embedding; see ``vocab_size`` and ``embed_dim``) where the "
           "estimator takes token sequences."),
    Option("hidden_dim", 32, [Interval(Integral, 1, None, closed="left")], "int >= 1",
           "Width H of the network."),
    Option("window_size", 8, [Interval(Integral, 1, None, closed="left")], "int >= 1",
           "Steps w that the sliding-window attention sees exactly."),
    Option("n_layers", 3, [Interval(Integral, 1, None, closed="left")], "int >= 1",
           "Number of static + plastic layers after the attention."),
    Option("plastic_ratio", None, [Interval(Real, 0, 1, closed="both"), None], "float in [0, 1] or None",
           "Share of plastic layers (> 0 gives at least one, < 1 keeps at least one static); None "
           "takes the variant's default."),
    Option("rule", "hebbian", [str], "str",
           "Plasticity rule of the fast weights, any registered name (\"hebbian\", \"importance\", "
           "\"oja\", \"delta\", or a plugin's; ``ssmn_rl.list_rules()``)."),
    Option("rule_params", None, [dict, None], "dict or None",
           "The rule's own parameters (names, defaults and ranges declared by the rule).",
           _as_dict),
    Option("rule_backend", "auto", [StrOptions({"auto", "c", "numpy"})], "{\"auto\", \"c\", \"numpy\"}",
           "Where the rule runs: its C kernel when it has one (\"auto\"), or its NumPy code."),
    Option("plasticity_eta", 0.01, [Interval(Real, 0, None, closed="left")], "float >= 0",
           "Rate eta of the plasticity rule."),
    Option("decay_lambda", 0.001, [Interval(Real, 0, 1, closed="left")], "float in [0, 1)",
           "Decay lambda of the fast weights."),
    Option("memory", None, [StrOptions({"long_term", "short_term"}), None],
           "{\"long_term\", \"short_term\"} or None",
           "Named preset for (eta, lambda) from the SSMN write-up, overriding ``plasticity_eta`` and "
           "``decay_lambda``; None keeps them."),
    Option("clip", None, [Interval(Real, 0, None, closed="right"), None], "float > 0 (inf: no bound) or None",
           "Bound on the entries of the fast-weight matrices; None: the preset's (no bound for the "
           "default cell's hebbian and delta rules, which then train chunkwise; 1 otherwise)."),
    Option("alpha", 0.3, [Interval(Real, None, None, closed="neither")], "float",
           "Gain of the fast-weight read-out, z <- h + alpha * tanh(W_f h)."),
    Option("preset", None, [StrOptions({"default", "prototype"}), None], "{\"default\", \"prototype\"} or None",
           "Starting point of the cell options below that are left at None: the default cell "
           "(position bias, residual path, layer norm, neuromodulated plasticity and learned decay; see "
           "the README's \"The cell\"), or the public prototype's cell exactly. None: the default cell "
           "for a trained network, the prototype's for an untrained reservoir (``solver=\"ridge\"``, "
           "SSMNTransformer), where it measured better (scripts/bench_reservoir.py)."),
    Option("position_bias", None, ["boolean", None], "bool or None",
           "Add a learned bias per window offset (and head) to the attention logits, so the attention "
           "can tell recent steps from older ones (None: from ``preset``).", bool),
    Option("residual", None, ["boolean", None], "bool or None",
           "Skip connection around the attention block: z_0 = u + W_o ctx (None: from ``preset``).", bool),
    Option("neuromodulation", None, ["boolean", None], "bool or None",
           "Per-step write strength of every plastic layer and head, eta_t = plasticity_eta "
           "sigmoid(w . z_t + b) (Backpropamine); built-in rules only (None: from ``preset``).", bool),
    Option("learned_decay", None, ["boolean", None], "bool or None",
           "Per-step decay of every plastic layer and head, lambda_t = sigmoid(w . z_t + b), starting "
           "at decay_lambda; built-in rules only (None: from ``preset``).", bool),
    Option("norm", None, [StrOptions({"none", "rms", "layer"}), None], "{\"none\", \"rms\", \"layer\"} or None",
           "Pre-norm of every static and plastic layer's input (None: from ``preset``)."),
    Option("n_heads", 1, [Interval(Integral, 1, None, closed="left")], "int >= 1",
           "Attention heads and fast-weight blocks per plastic layer; must divide hidden_dim."),
    Option("chat_steps", 1, [Interval(Integral, 1, None, closed="left")], "int >= 1",
           "Re-reads of the synaptic state per step (the \"internal recurrent chat\"; more than one "
           "is Ba et al.'s fast-weight inner loop)."),
    Option("dtype", "float32", [StrOptions({"float32", "float64"})], "{\"float32\", \"float64\"}",
           "Precision of the network."),
)

#: Options of token-input variants (``"text_native"``): the embedding width and a decoder tied to it
#: (the language model's).
TOKEN_OPTIONS: tuple[Option, ...] = (
    Option("embed_dim", 64, [Interval(Integral, 1, None, closed="left")], "int >= 1",
           "Width E of the token embedding."),
    Option("tied", False, ["boolean"], "bool",
           "Decode the next token with the embedding table (needs ``embed_dim == hidden_dim``).", bool),
)

#: The token-input options of the estimators that read integer token sequences with a token-input
#: variant (``variant="text_native"``); with a real-input variant both must stay None.
ESTIMATOR_TOKEN_OPTIONS: tuple[Option, ...] = (
    Option("vocab_size", None, [Interval(Integral, 2, None, closed="left"), None], "int >= 2 or None",
           "Token-input variants (``variant=\"text_native\"``) only: number of token ids, X holding "
           "ids in [0, vocab_size). None: one more than the largest id in the data of the first "
           "fit (ids beyond it are refused later)."),
    Option("embed_dim", None, [Interval(Integral, 1, None, closed="left"), None], "int >= 1 or None",
           "Token-input variants only: width E of the token embedding (None: the variant's "
           "default, 32 for \"text_native\")."),
)

# ------------------------------------------------------------------------------ the trainer's
#: Settings of :class:`ssmn_rl.training.Trainer` shared by the faces that train by gradient.
TRAINING_OPTIONS: tuple[Option, ...] = (
    Option("learning_rate", 1e-2, [Interval(Real, 0, None, closed="neither")], "float > 0",
           "Adam step size (the peak of the schedule)."),
    Option("lr_schedule", "constant", [StrOptions({"constant", "cosine"})], "{\"constant\", \"cosine\"}",
           "\"cosine\" decays the step size along half a cosine to a tenth of ``learning_rate`` "
           "(``ssmn_rl.training.LR_FLOOR``) by the end of the training budget (epochs, or "
           "``max_time`` when that comes first)."),
    Option("warmup_fraction", 0.0, [Interval(Real, 0, 1, closed="left")], "float in [0, 1)",
           "Share of the training budget over which the step size rises linearly from a tenth of "
           "``learning_rate`` to ``learning_rate`` before the schedule starts."),
    Option("max_grad_norm", 1.0, [Interval(Real, 0, None, closed="neither"), None], "float > 0 or None",
           "Global gradient-norm clipping (None: off)."),
    Option("weight_decay", 0.0, [Interval(Real, 0, None, closed="left")], "float >= 0",
           "Decoupled (AdamW-style) weight decay."),
    Option("max_time", None, [Interval(Real, 0, None, closed="neither"), None], "float > 0 or None",
           "Wall-clock budget of ``fit`` in seconds (validation passes included): training stops "
           "after the first optimiser step that ends past it. None: no limit."),
)

RANDOM_STATE = Option("random_state", None, ["random_state"], "int, RandomState instance or None",
                      "Seeds the initial weights and the order of the minibatches: the same value "
                      "gives the same fit.")
VERBOSE = Option("verbose", 0, ["verbose"], "int",
                 "0: silent; 1: a progress bar (tqdm) with the loss, or a line per evaluation when "
                 "tqdm is missing; 2: also a line per evaluation.")


# ------------------------------------------------------------------------------ helpers
def with_defaults(options, **defaults) -> tuple[Option, ...]:
    """``options`` with some defaults replaced (a face's own defaults for the same options)."""
    names = {o.name for o in options}
    unknown = sorted(set(defaults) - names)
    if unknown:
        raise KeyError(f"no options named {unknown}")
    return tuple(dataclasses.replace(o, default=defaults[o.name]) if o.name in defaults else o
                 for o in options)


def without(options, *names) -> tuple[Option, ...]:
    """``options`` less the named ones."""
    return tuple(o for o in options if o.name not in names)


def constraints(options) -> dict:
    """The ``_parameter_constraints`` dict of a tuple of options."""
    return {o.name: list(o.constraints) for o in options}


def make_init(options):
    """An ``__init__(self, *, <option>=<default>, ...)`` that only stores its keyword-only
    arguments (scikit-learn's convention), with a real signature for ``get_params`` and ``help``."""
    names = [o.name for o in options]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate option names in {names}")
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)] +
        [inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=o.default) for o in options])
    defaults = {o.name: o.default for o in options}

    def __init__(self, **kwargs):
        unknown = sorted(set(kwargs) - set(defaults))
        if unknown:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected keyword argument(s) "
                            f"{unknown}. HINT: the parameters are {sorted(defaults)}.")
        for name, default in defaults.items():
            setattr(self, name, kwargs.get(name, default))

    __init__.__signature__ = signature
    return __init__


def declare(*options):
    """Class decorator: set ``_options``, ``_parameter_constraints``, ``__init__`` and the
    docstring's parameters from ``options`` (flattened)."""
    flat = tuple(o for group in options for o in (group if isinstance(group, tuple) else (group,)))

    def apply(cls):
        cls._options = flat
        cls._parameter_constraints = constraints(flat)
        init = make_init(flat)
        init.__qualname__ = f"{cls.__qualname__}.__init__"
        init.__module__ = cls.__module__  # where documentation tools look it up
        cls.__init__ = init
        if cls.__doc__:
            cls.__doc__ = document(cls.__doc__, flat)
        return cls

    return apply


#: The cell of an untrained network (a reservoir read out by ridge regression) when ``preset`` is
#: None: the default cell was chosen by training benchmarks (scripts/bench_cell.py); as a fixed
#: random reservoir the prototype's cell measured better on 3 of 4 tasks (scripts/bench_reservoir.py).
RESERVOIR_PRESET = "prototype"


def model_kwargs(est, options=MODEL_OPTIONS, trained: bool = True) -> dict:
    """Keyword arguments of ``SSMN(variant, **kw)`` from an estimator's values of ``options``
    (``variant`` excluded: it is SSMN's positional argument). ``trained=False`` (a reservoir):
    ``preset=None`` means RESERVOIR_PRESET."""
    kw = {o.name: o.value(est) for o in options if o.name != "variant"}
    if not trained and kw.get("preset", RESERVOIR_PRESET) is None:
        kw["preset"] = RESERVOIR_PRESET
    return kw
