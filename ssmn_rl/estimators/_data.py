"""Input validation and layout for the SSMN estimators.

Two layouts reach the model as a batch of sequences of shape (n_sequences, T, n_features):
a 2-D ``X`` (n_samples, n_features) is ONE time-ordered stream (rows in time order) and becomes
(1, n_samples, n_features); a 3-D ``X`` (n_sequences, T, n_features) is a batch of independent
sequences. Validation follows scikit-learn (``validate_data``); for 3-D input the number of
features is the size of the last axis.
"""
from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_array, validate_data


def validate_X(est, X, *, reset: bool, y=None, y_kwargs=None):
    """Validate ``X`` (and ``y`` when given) for a fit (``reset=True``) or a prediction.

    Returns ``(X, y)`` with X as a float64 array of 2 or 3 dimensions. For 3-D input the
    ``n_features_in_`` attribute is set to (or checked against) ``X.shape[-1]``.
    """
    if not is_3d(X):
        if y is None:
            X = validate_data(est, X, reset=reset, dtype=np.float64)
            return X, None
        X, y = validate_data(est, X, y, reset=reset, dtype=np.float64, **(y_kwargs or {}))
        return X, y
    X = check_array(X, allow_nd=True, dtype=np.float64, input_name="X")
    if X.shape[1] < 1 or X.shape[2] < 1:
        raise ValueError(f"X must have at least one time step and one feature, got shape {X.shape}")
    n_features = X.shape[2]
    if reset:
        est.n_features_in_ = n_features
        if hasattr(est, "feature_names_in_"):
            del est.feature_names_in_
    elif n_features != est.n_features_in_:
        raise ValueError(f"X has {n_features} features, but {type(est).__name__} is expecting "
                         f"{est.n_features_in_} features as input.")
    return X, y


def validate_tokens(est, X, *, reset: bool, vocab_size=None) -> np.ndarray:
    """Validate integer token sequences ``X`` of shape (n_sequences, T) for a token-input variant.

    Returns X as int32. Ids must be integers (an integral float array is accepted) in
    [0, vocab_size) when ``vocab_size`` is given. ``n_features_in_`` is 1 (one token id per step);
    sequences of any length are accepted at prediction.
    """
    shape = getattr(X, "shape", None)
    if shape is None or hasattr(X, "toarray"):
        shape = np.asarray(X, dtype=object).shape if isinstance(X, (list, tuple)) else None
    if shape is not None and len(shape) != 2:  # before any copy (a huge view of the wrong shape)
        raise ValueError(f"X must be 2-D integer token ids of shape (n_sequences, T) with a "
                         f"token-input variant ({est.variant!r}), got shape {tuple(shape)}. HINT: "
                         "pass X[None] for a single sequence.")
    X = check_array(X, dtype=None, ensure_2d=False, allow_nd=True, input_name="X",
                    ensure_all_finite=True)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D integer token ids of shape (n_sequences, T) with a "
                         f"token-input variant ({est.variant!r}), got shape {X.shape}. HINT: pass "
                         "X[None] for a single sequence.")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must hold at least one sequence of at least one token, got shape {X.shape}")
    if X.dtype.kind == "f":
        if not np.all(X == np.round(X)):
            raise ValueError("X must hold integer token ids with a token-input variant, got "
                             "non-integral floats")
    elif X.dtype.kind not in "iub":
        raise ValueError(f"X must hold integer token ids with a token-input variant, got dtype {X.dtype}")
    if X.min() < 0:
        raise ValueError(f"X must hold token ids >= 0, got {X.min()}")
    if vocab_size is not None and X.max() >= vocab_size:
        raise ValueError(f"X holds token id {X.max()}, outside [0, {vocab_size}) (vocab_size). "
                         "HINT: set vocab_size to the number of token ids before the first fit.")
    if X.max() > np.iinfo(np.int32).max - 1:
        raise ValueError(f"X holds token id {X.max()}, beyond the int32 range of token ids")
    if reset:
        est.n_features_in_ = 1
        if hasattr(est, "feature_names_in_"):
            del est.feature_names_in_
    return X.astype(np.int32)


def is_3d(X) -> bool:
    """Whether X is a batch of sequences, judged without converting array-likes that refuse it."""
    if hasattr(X, "shape") and not hasattr(X, "toarray"):
        return len(X.shape) == 3
    if isinstance(X, (list, tuple)):
        return np.asarray(X, dtype=object).ndim == 3
    return False


def as_sequences(X: np.ndarray) -> np.ndarray:
    """(n, F) stream -> (1, n, F); (N, T, F) sequences unchanged."""
    return X[None] if X.ndim == 2 else X


def sequence_mask(n_sequences: int, T: int, per_sequence: bool, dtype) -> np.ndarray:
    """Step weights (N, T): every step, or only the last step of each sequence."""
    mask = np.zeros((n_sequences, T), dtype) if per_sequence else np.ones((n_sequences, T), dtype)
    if per_sequence:
        mask[:, -1] = 1
    return mask
