"""The declared parameters of the SSMN estimators: the shared SSMN and training options
(:mod:`ssmn_rl.options`) plus the estimators' own (layout, solver, epochs, early stopping), and the
checks and translations every estimator applies to them. It holds no fitting logic."""
from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ..errors import ConfigError
from ..options import (ESTIMATOR_TOKEN_OPTIONS, MODEL_OPTIONS, RANDOM_STATE, TRAINING_OPTIONS, VERBOSE,
                       Option)
from ..plugin_manager import get_variant, list_rules, list_variants

TARGET = Option("target", "sequence", [StrOptions({"sequence", "step"})], "{\"sequence\", \"step\"}",
                "Meaning of ``y`` for 3-D ``X``: one target per sequence (read at the last step) or "
                "one per time step.")

#: Options of the two solvers (BPTT with the shared trainer, closed-form ridge read-out).
SOLVER_OPTIONS: tuple[Option, ...] = (
    Option("solver", "adam", [StrOptions({"adam", "ridge", "auto"})], "{\"adam\", \"ridge\", \"auto\"}",
           "\"adam\": BPTT through the whole network. \"ridge\": closed-form read-out on the "
           "features z_t of the randomly initialised network and the raw inputs x_t, with a bias "
           "(reservoir computing; other weights stay as drawn). \"auto\": both, chosen inside "
           "``fit`` on the time-ordered tail (the last ``validation_fraction`` of the rows of a "
           "stream, or of the sequences): ridge fitted on the rest, Adam with early stopping on "
           "the same split; the one with the smaller tail error (mean squared error, or error "
           "rate for a classifier; ties: ridge) is kept, ridge refitted on all the data "
           "(``solver_``, ``solver_scores_``). Repeatable with ``random_state``; ``max_time`` "
           "bounds each candidate's fit."),
    Option("ridge_alpha", 1e-3, [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
           "float >= 0 or \"auto\"",
           "L2 penalty of the ridge read-out on the (standardised) network features; the raw inputs "
           "get a fixed penalty of 1e-6. \"auto\" picks it from a log-spaced grid (1e-6 to 1e6) by "
           "the error on the time-ordered last 20% of the training steps, then refits on all of "
           "them."),
    *TRAINING_OPTIONS,
    Option("max_iter", 200, [Interval(Integral, 1, None, closed="left")], "int >= 1",
           "Maximum number of epochs."),
    Option("batch_size", 16, [Interval(Integral, 1, None, closed="left")], "int >= 1",
           "Sequences per minibatch; a 2-D stream is cut into up to this many contiguous segments "
           "trained side by side."),
    Option("chunk_length", 64, [Interval(Integral, 1, None, closed="left")], "int >= 1",
           "Truncation length of BPTT; the state carries over from chunk to chunk."),
    Option("early_stopping", False, ["boolean"], "bool",
           "Hold out the time-ordered tail (last ``validation_fraction`` of the rows of a stream, or "
           "of the sequences) and keep the parameters with the best validation loss."),
    Option("validation_fraction", 0.1, [Interval(Real, 0, 1, closed="neither")], "float in (0, 1)",
           "Share of the data held out with ``early_stopping``."),
    Option("n_iter_no_change", 10, [Interval(Integral, 1, None, closed="left")], "int >= 1",
           "Stop after this many epochs without an improvement larger than ``tol`` of the watched "
           "loss (validation loss with early stopping, training loss otherwise)."),
    Option("tol", 1e-4, [Interval(Real, 0, None, closed="left")], "float >= 0",
           "Smallest improvement of the watched loss that counts."),
)

#: Everything a supervised estimator (regressor, classifier) declares, in signature order.
SUPERVISED_OPTIONS: tuple[Option, ...] = (TARGET, *MODEL_OPTIONS, *ESTIMATOR_TOKEN_OPTIONS, *SOLVER_OPTIONS,
                                          RANDOM_STATE, VERBOSE)


def check_registered_names(est, tokens: bool = True) -> bool:
    """Refuse a variant or rule name that no plugin registered, listing the registered ones; refuse
    a token-input variant where the estimator takes real inputs only (``tokens=False``) and the
    token options (``vocab_size``, ``embed_dim``) with a real-input variant. Returns whether the
    variant reads token ids."""
    for what, registered in (("variant", list_variants()), ("rule", list_rules())):
        names = sorted(entry["name"] for entry in registered)
        if getattr(est, what) not in names:
            raise ConfigError(f"{type(est).__name__}: {what} must be one of {names}, got "
                              f"{getattr(est, what)!r}. HINT: install or register the plugin that "
                              f"provides it (ssmn-rl plugins lists what is registered).")
    token_input = get_variant(est.variant).token_input
    if token_input and not tokens:
        real = sorted(e["name"] for e in list_variants() if not get_variant(e["name"]).token_input)
        raise ConfigError(f"{type(est).__name__}: variant must be one of the real-input variants "
                          f"{real}, got {est.variant!r}, which reads token ids. HINT: for text use "
                          f"ssmn_rl.text.SSMNLanguageModel; for token sequences, SSMNClassifier or "
                          f"SSMNRegressor with variant={est.variant!r}.")
    if not token_input:
        for name in ("vocab_size", "embed_dim"):
            if getattr(est, name, None) is not None:
                raise ConfigError(f"{type(est).__name__}: {name} is for token-input variants (e.g. "
                                  f"'text_native'), got {name}={getattr(est, name)!r} with "
                                  f"variant={est.variant!r}. HINT: leave {name}=None, or set "
                                  f"variant='text_native' to read integer token ids.")
    return token_input
