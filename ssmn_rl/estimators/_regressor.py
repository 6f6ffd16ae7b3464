"""SSMNRegressor: scikit-learn regressor over streams and sequences (see ``_supervised``)."""
from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, _fit_context

from ._supervised import SSMNSupervisedBase


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
    target : {"sequence", "step"}, default="sequence"
        Meaning of ``y`` for 3-D ``X``: one target per sequence or one per time step.
    variant : str, default="standard"
        Any registered model variant (``ssmn_rl.list_variants()``).
    hidden_dim, window_size, n_layers : int, default=32, 8, 3
        Width, attention window (steps) and number of static + plastic layers.
    plastic_ratio : float in [0, 1] or None, default=None
        Share of plastic layers; None takes the variant's default.
    rule : str, default="hebbian"
        Any registered plasticity rule (``ssmn_rl.list_rules()``).
    rule_params : dict or None, default=None
        The rule's own parameters.
    plasticity_eta, decay_lambda, alpha : float, default=0.01, 0.001, 0.3
        Rate and decay of the fast weights, gain of their read-out.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the network.
    solver : {"adam", "ridge"}, default="adam"
        "adam": BPTT through the whole network. "ridge": closed-form read-out on the features z_t
        of the randomly initialised network and the raw inputs x_t, with a bias (reservoir
        computing; other weights stay as drawn).
    ridge_alpha : float or "auto", default=1e-3
        L2 penalty of the ridge read-out on the (standardised) network features; the raw inputs
        get a fixed penalty of 1e-6. "auto" picks it from a log-spaced grid (1e-6 to 1e6, where
        the read-out is practically linear in the inputs) by the error on the time-ordered last
        20% of the training steps, then refits on all of them.
    learning_rate : float, default=1e-2
        Adam step size (start value of the schedule).
    lr_schedule : {"constant", "cosine"}, default="constant"
        "cosine" anneals the step size to 5% of ``learning_rate`` over ``max_iter`` epochs.
    max_iter : int, default=200
        Maximum number of epochs.
    batch_size : int, default=16
        Sequences per minibatch; a 2-D stream is cut into up to this many contiguous segments
        trained side by side.
    chunk_length : int, default=64
        Truncation length of BPTT; the state carries over from chunk to chunk.
    max_grad_norm : float or None, default=1.0
        Global gradient-norm clipping (None: off).
    weight_decay : float, default=0.0
        Decoupled weight decay of Adam.
    early_stopping : bool, default=False
        Hold out the time-ordered tail (last ``validation_fraction`` of the rows of a stream, or
        of the sequences) and keep the parameters with the best validation loss.
    validation_fraction : float in (0, 1), default=0.1
    n_iter_no_change : int, default=10
        Stop after this many epochs without an improvement larger than ``tol`` of the watched loss
        (validation loss with early stopping, training loss otherwise).
    tol : float, default=1e-4
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and the minibatch order: the same value gives the same fit.
    verbose : int, default=0
        > 0 shows a progress bar (tqdm, when installed) or a line per epoch with the loss.

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
        Penalty the ridge read-out used (only after a ``solver="ridge"`` fit).
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
        """One Adam pass over the next chunk of a stream (2-D X; the state carries over from the
        previous call) or over a batch of sequences (3-D X).

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
