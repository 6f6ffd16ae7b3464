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
