"""Constructor parameters shared by the SSMN estimators: their defaults, their
``_parameter_constraints`` and the translation of an estimator's parameters into an
:class:`ssmn_rl.SSMN` configuration. It holds no fitting logic."""
from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ..errors import ConfigError
from ..plugin_manager import list_rules, list_variants

#: Parameters of the network itself (passed to ``SSMN``), with their estimator defaults.
MODEL_PARAMS = {
    "variant": "standard",
    "hidden_dim": 32,
    "window_size": 8,
    "n_layers": 3,
    "plastic_ratio": None,
    "rule": "hebbian",
    "rule_params": None,
    "plasticity_eta": 0.01,
    "decay_lambda": 0.001,
    "alpha": 0.3,
    "dtype": "float32",
}

MODEL_CONSTRAINTS = {
    "variant": [str],
    "hidden_dim": [Interval(Integral, 1, None, closed="left")],
    "window_size": [Interval(Integral, 1, None, closed="left")],
    "n_layers": [Interval(Integral, 1, None, closed="left")],
    "plastic_ratio": [Interval(Real, 0, 1, closed="both"), None],
    "rule": [str],
    "rule_params": [dict, None],
    "plasticity_eta": [Interval(Real, 0, None, closed="left")],
    "decay_lambda": [Interval(Real, 0, 1, closed="left")],
    "alpha": [Interval(Real, None, None, closed="neither")],
    "dtype": [StrOptions({"float32", "float64"})],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}

#: Parameters of the two solvers (BPTT with Adam, closed-form ridge read-out).
SOLVER_CONSTRAINTS = {
    "solver": [StrOptions({"adam", "ridge"})],
    "ridge_alpha": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "lr_schedule": [StrOptions({"constant", "cosine"})],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "chunk_length": [Interval(Integral, 1, None, closed="left")],
    "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
}


def check_registered_names(est) -> None:
    """Refuse a variant or rule name that no plugin registered, listing the registered ones."""
    for what, registered in (("variant", list_variants()), ("rule", list_rules())):
        names = sorted(entry["name"] for entry in registered)
        if getattr(est, what) not in names:
            raise ConfigError(f"{type(est).__name__}: {what} must be one of {names}, got "
                              f"{getattr(est, what)!r}. HINT: install or register the plugin that "
                              f"provides it (ssmn-rl plugins lists what is registered).")


def model_kwargs(est) -> dict:
    """Keyword arguments of ``SSMN(variant, **kw)`` taken from the estimator's parameters."""
    kw = {name: getattr(est, name) for name in MODEL_PARAMS if name != "variant"}
    kw["rule_params"] = dict(kw["rule_params"] or {})
    return kw
