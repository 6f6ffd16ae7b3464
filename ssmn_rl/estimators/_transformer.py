"""SSMNTransformer: an untrained (randomly initialised) SSMN used as a reservoir; ``transform``
streams X through it and returns the last hidden layer (``SSMN.forward(...,
return_features=True)``) as features, for use in Pipelines."""
from __future__ import annotations

import dataclasses

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..model import SSMN
from ..options import MODEL_OPTIONS, RANDOM_STATE, VERBOSE, declare, model_kwargs
from ._data import validate_X
from ._params import check_registered_names

_OPTIONS = (*MODEL_OPTIONS,
            dataclasses.replace(RANDOM_STATE, doc="Seeds the weights: the same value gives the same features."),
            dataclasses.replace(VERBOSE, doc="Accepted for symmetry with the other estimators; a fit "
                                             "has no epochs to report."))


@declare(_OPTIONS)
class SSMNTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Reservoir-style SSMN features.

    ``fit`` draws the network's weights (nothing is trained); ``transform`` runs X from a fresh
    state and returns the network's last hidden layer z, the vector that feeds a read-out
    (``hidden_dim`` features). A 2-D ``X`` (n_samples, n_features)
    is one time-ordered stream and gives one feature row per input row (causal). A 3-D ``X``
    (n_sequences, T, n_features) gives the features of the last step of each sequence,
    (n_sequences, hidden_dim), so that a sequence becomes one row for the next Pipeline step.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    model_ : ssmn_rl.SSMN
        The drawn network (its read-out is unused: ``transform`` returns the features z that feed
        it).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.pipeline import make_pipeline
    >>> from ssmn_rl.estimators import SSMNTransformer
    >>> X = np.sin(np.linspace(0, 20, 300))[:, None]
    >>> pipe = make_pipeline(SSMNTransformer(hidden_dim=16, random_state=0), Ridge(alpha=1e-3))
    >>> pipe.fit(X[:-1], X[1:, 0]).predict(X[:4]).shape
    (4,)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Draw the network for ``X``'s number of features; ``y`` is ignored.

        Returns
        -------
        self : object
        """
        X, _ = validate_X(self, X, reset=True)
        check_registered_names(self, tokens=False)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self.model_ = SSMN(self.variant, input_dim=X.shape[-1], output_dim=1, seed=seed,
                           **model_kwargs(self, trained=False))
        self._n_features_out = self.hidden_dim
        return self

    def transform(self, X):
        """Features (n_samples, hidden_dim) per row of a stream, or (n_sequences, hidden_dim) at
        the last step of each sequence; float64; the fitted model is not changed."""
        check_is_fitted(self)
        X, _ = validate_X(self, X, reset=False)
        _, Z = self.model_.forward(X.astype(self.dtype, copy=False), return_features=True)
        Z = Z.astype(np.float64)
        return Z[:, -1] if X.ndim == 3 else Z
