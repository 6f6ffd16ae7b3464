"""SSMNRegressor: scikit-learn regressor over streams and sequences (see ``_supervised``)."""
from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, _fit_context

from ..options import declare
from ._params import SUPERVISED_OPTIONS
from ._supervised import SSMNSupervisedBase


@declare(SUPERVISED_OPTIONS)
class SSMNRegressor(RegressorMixin, SSMNSupervisedBase):
    """Sparse-Stream Memory Network regressor for streams and sequences.

    A 2-D ``X`` (n_samples, n_features) is one time-ordered stream with a target per row; the
    prediction for row t uses rows <= t only. A 3-D ``X`` (n_sequences, T, n_features) is a batch of
    independent sequences with one target per sequence (``target="sequence"``, read at the last
    step) or per step (``target="step"``). Targets are standardised internally. ``predict`` runs
    from a fresh state and never changes the fitted model; ``partial_fit`` on 2-D data continues
    the stream where the previous call ended (one Adam pass per call).

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    model_ : ssmn_rl.SSMN
        The fitted network (its outputs are standardised targets).
    fit_mode_ : {"stream", "sequence", "step"}
        Layout the model was fitted on.
    stream_state_ : ssmn_rl.SSMNState or None
        State at the end of the last fitted stream (where ``partial_fit`` continues).
    input_coef_ : ndarray of shape (n_outputs, n_features_in) or None
        Coefficients of the raw inputs in the outputs (``solver="ridge"``; None for "adam"), in
        standardised target units.
    ridge_alpha_ : float
        Penalty the ridge read-out used (only after a ridge fit).
    solver_ : {"adam", "ridge"}
        The solver that fitted the model (``solver``, or the one ``solver="auto"`` chose;
        ``partial_fit`` trains by Adam).
    solver_scores_ : dict
        ``solver="auto"`` only: each solver's error on the held-out tail (empty when the data
        were too short to hold one out; ridge is then used).
    vocab_size_ : int
        Token-input variants only: the number of token ids (``vocab_size`` or one more than the
        largest id of the first fit).
    n_outputs_ : int
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        Target standardisation.
    n_iter_ : int
        Epochs run (cumulative over ``partial_fit`` calls).
    loss_curve_, validation_loss_curve_ : list of float
        Training (and validation) loss per epoch, in standardised units.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from ssmn_rl.estimators import SSMNRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2))
    >>> y = X[:, 0] + 0.5 * np.r_[0.0, X[:-1, 1]]   # depends on the previous row too
    >>> reg = SSMNRegressor(random_state=0).fit(X, y)
    >>> reg.predict(X[:5]).shape
    (5,)
    >>> bool(reg.score(X, y) > 0.6)
    True
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _validate_y_2d_kwargs(self) -> dict:
        return {"multi_output": True, "y_numeric": True}

    def _encode_y(self, y, first, lead):
        y = np.asarray(y, np.float64)
        Y = y.reshape(y.shape[:lead] + (-1,))
        if first:
            self._y_scalar = y.ndim == lead  # targets had no outputs axis
            flat = Y.reshape(-1, Y.shape[-1])
            self.n_outputs_ = flat.shape[1]
            self.y_mean_ = flat.mean(axis=0)
            scale = flat.std(axis=0)
            self.y_scale_ = np.where(scale > 0, scale, 1.0)
        elif Y.shape[-1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[-1]} outputs, but {type(self).__name__} was fitted "
                             f"with {self.n_outputs_}.")
        return (Y - self.y_mean_) / self.y_scale_

    def _n_model_outputs(self) -> int:
        return self.n_outputs_

    def _decode(self, Y):
        out = Y * self.y_scale_ + self.y_mean_
        return out[..., 0] if self._y_scalar else out

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y):
        """One Adam pass, at the constant ``learning_rate``, over the next chunk of a stream (2-D X;
        the state carries over from the previous call) or over a batch of sequences (3-D X).

        The first call sets up the model and the target scaling from this chunk.

        Returns
        -------
        self : object
        """
        return self._partial_fit(X, y)

    def predict(self, X):
        """Predict from a fresh state; the fitted model is not changed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_sequences, T, n_features)

        Returns
        -------
        y : ndarray
            (n_samples[, n_outputs]) for a stream; (n_sequences[, n_outputs]) per sequence;
            (n_sequences, T[, n_outputs]) per step.
        """
        return self._decode(self._raw_predict(X))
