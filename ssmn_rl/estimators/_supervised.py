"""What SSMNRegressor and SSMNClassifier share: the two input layouts, fitting with either solver,
``partial_fit`` on a stream, and side-effect-free prediction. Subclasses say how targets are
encoded (scaled floats or class ids) and how outputs are decoded.

Layouts. A 2-D ``X`` (n_samples, n_features) is one time-ordered stream with a target per row; the
output for row t depends only on rows <= t (causal). A 3-D ``X`` (n_sequences, T, n_features) is a
batch of independent sequences with one target per sequence (``target="sequence"``, read at the
last step) or per step (``target="step"``). ``predict`` runs each stream or sequence from a fresh
state; ``partial_fit`` on 2-D data continues the stream where the previous fit call ended. With a
token-input variant (``variant="text_native"``) a 2-D ``X`` (n_sequences, T) holds integer token
ids, one sequence per row (there is no stream layout); the network's outputs are one per token id
and the estimator uses the first ones (its targets or classes): the others get no gradient and a
zero read-out.

Solvers. "adam" trains every parameter by BPTT. "ridge" keeps the drawn network and fits a
closed-form read-out on ``[z_t, x_t]`` and a bias (see ``_readout``): the outputs are then
``W_out z_t + b_out + input_coef_ x_t``. A later ``partial_fit`` (Adam) keeps ``input_coef_``
fixed and trains the network under it.
"""
from __future__ import annotations

from abc import ABCMeta, abstractmethod

import numpy as np
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..model import SSMN
from ..options import model_kwargs
from ._bptt import Problem, stream_segments, train_adam
from ._data import as_sequences, sequence_mask, validate_tokens, validate_X
from ._params import check_registered_names
from ._readout import fit_ridge, is_token_model, outputs


class SSMNSupervisedBase(BaseEstimator, metaclass=ABCMeta):
    """Base class; use :class:`SSMNRegressor` or :class:`SSMNClassifier`."""

    # parameters, their constraints and __init__: declared once, in ._params (SUPERVISED_OPTIONS),
    # and set on each concrete estimator by ssmn_rl.options.declare
    _loss = "mse"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    # ------------------------------------------------------------------ subclass hooks
    @abstractmethod
    def _validate_y_2d_kwargs(self) -> dict:
        """Keyword arguments for validate_data when y is given with a 2-D X."""

    @abstractmethod
    def _encode_y(self, y: np.ndarray, first: bool, lead: int) -> np.ndarray:
        """Targets in model units: (..., n_outputs) floats for "mse", (...) ids for cross-entropy;
        ``lead`` is the number of leading axes before any outputs axis (2 for per-step targets)."""

    @abstractmethod
    def _n_model_outputs(self) -> int:
        """Number of model outputs (targets, or classes for the classifier)."""

    def _ridge_targets(self, target: np.ndarray) -> np.ndarray:
        return target


    # ------------------------------------------------------------------ data
    def _lead(self, X) -> int:
        return 2 if (X.ndim == 3 or self._tokens) and self.target == "step" else 1

    def _validate_fit_data(self, X, y, reset: bool):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        self._tokens = check_registered_names(self) if reset else is_token_model(self.model_)
        if self._tokens:
            X = validate_tokens(self, X, reset=reset, vocab_size=self.vocab_size if reset else self.vocab_size_)
            if reset:
                self.vocab_size_ = int(self.vocab_size if self.vocab_size is not None else max(2, X.max() + 1))
            return X, self._check_y_3d(X, y)
        X, y = validate_X(self, X, reset=reset, y=y, y_kwargs=self._validate_y_2d_kwargs())
        if X.ndim == 3:
            y = self._check_y_3d(X, y)
        elif X.shape[0] < 1:
            raise ValueError("X must hold at least one sample")
        return X, y

    def _check_y_3d(self, X, y):
        y = np.asarray(y)
        if self._loss == "mse" and y.dtype.kind == "c":
            raise ValueError("y must hold real numbers, got complex values")
        if self._loss == "mse" and y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"y must hold numbers, got dtype {y.dtype}") from None
        N, T = X.shape[:2]
        lead = (N,) if self.target == "sequence" else (N, T)
        if y.shape[:len(lead)] != lead or y.ndim > len(lead) + (self._loss == "mse"):
            want = "(n_sequences,)" if self.target == "sequence" else "(n_sequences, T)"
            extra = " or with a trailing n_outputs axis" if self._loss == "mse" else ""
            raise ValueError(f"with 3-D X of shape {X.shape} and target={self.target!r}, y must have "
                             f"shape {want}{extra}, got {y.shape}. HINT: target='step' takes one "
                             "target per time step, target='sequence' one per sequence.")
        if self._loss == "mse" and not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity.")
        return y

    def _layout(self, X, y_enc):
        """Inputs, targets and step mask as (N, T, ...) arrays in the model's dtype."""
        mode = "stream" if X.ndim == 2 and not self._tokens else self.target
        Xs = X if self._tokens else as_sequences(X).astype(self.dtype)
        N, T = Xs.shape[:2]
        if mode == "sequence":
            tgt = np.zeros((N, T) + y_enc.shape[1:], y_enc.dtype)
            tgt[:, -1] = y_enc
        else:
            tgt = y_enc[None] if mode == "stream" else y_enc
        return mode, Xs, tgt, sequence_mask(N, T, mode == "sequence", self.dtype)

    # ------------------------------------------------------------------ fitting
    def _new_model(self, n_features: int, rng) -> None:
        seed = int(rng.randint(np.iinfo(np.int32).max))
        kw = model_kwargs(self, trained=self.solver_ != "ridge")
        if self._tokens:  # one output per token id: at least as many as the estimator's outputs
            self.model_ = SSMN(self.variant, vocab_size=max(self.vocab_size_, self._n_model_outputs()),
                               embed_dim=self.embed_dim, seed=seed, **kw)
        else:
            self.model_ = SSMN(self.variant, input_dim=n_features, output_dim=self._n_model_outputs(),
                               seed=seed, **kw)
        self._rng = np.random.default_rng(seed)

    def _n_out(self):
        """How many of the model's outputs are the estimator's (None: all; a token model has one
        per token id)."""
        return self._n_model_outputs() if is_token_model(self.model_) else None

    def _problem(self, Xs, tgt, mask, mode, stream_segments_allowed=True, offset=None) -> Problem:
        if mode == "stream" and stream_segments_allowed:
            n = Xs.shape[1]
            n_seg = max(1, min(self.batch_size, n // self.chunk_length))
            Xs, tgt, mask, offset = stream_segments(Xs[0], tgt[0], mask[0], n_seg,
                                                    None if offset is None else offset[0])
            return Problem(Xs, tgt, mask, self._loss, shuffle=False, chunk=self.chunk_length,
                           offset=offset)
        chunk = Xs.shape[1] if mode == "sequence" else self.chunk_length
        return Problem(Xs, tgt, mask, self._loss, shuffle=mode != "stream", chunk=chunk,
                       offset=offset, n_out=self._n_out())

    def _split_validation(self, mode, Xs, tgt, mask):
        """Hold out the time-ordered tail: the last rows of a stream or the last sequences."""
        if mode == "stream":
            n = Xs.shape[1]
            n_val = int(round(n * self.validation_fraction))
            if n_val < 1 or n - n_val < 1:
                return (Xs, tgt, mask), None
            val_mask = mask.copy()
            val_mask[:, : n - n_val] = 0
            val = Problem(Xs, tgt, val_mask, self._loss, shuffle=False, chunk=n)
            return (Xs[:, : n - n_val], tgt[:, : n - n_val], mask[:, : n - n_val]), val
        N = Xs.shape[0]
        n_val = int(round(N * self.validation_fraction))
        if n_val < 1 or N - n_val < 1:
            return (Xs, tgt, mask), None
        val = Problem(Xs[N - n_val:], tgt[N - n_val:], mask[N - n_val:], self._loss, False, Xs.shape[1],
                      n_out=self._n_out())
        return (Xs[: N - n_val], tgt[: N - n_val], mask[: N - n_val]), val

    def _train(self, X, y_enc, *, n_epochs: int, state0=None, segments=True):
        mode, Xs, tgt, mask = self._layout(X, y_enc)
        if self.solver_ == "ridge" and state0 is None and segments:
            tgt_f = self._ridge_targets(tgt).astype(np.float64)
            tgt_f = tgt_f if tgt_f.ndim == 3 else tgt_f[..., None]
            self.input_coef_, self.train_loss_, self.ridge_alpha_ = fit_ridge(
                self.model_, Xs, tgt_f, mask, self.ridge_alpha)
            self.n_iter_, self.loss_curve_, self.validation_loss_curve_ = 1, [self.train_loss_], []
            return mode, None
        val = None
        if self.early_stopping and segments:
            (Xs, tgt, mask), val = self._split_validation(mode, Xs, tgt, mask)
        coef = getattr(self, "input_coef_", None)
        offset = None if coef is None else (Xs @ coef.T.astype(Xs.dtype))
        prob = self._problem(Xs, tgt, mask, mode, stream_segments_allowed=segments, offset=offset)
        result, self.optimizer_, final_state = train_adam(
            self.model_, self, prob, self._rng, n_epochs=n_epochs, validation=val,
            optimizer=getattr(self, "optimizer_", None), state0=state0,
            desc=f"{type(self).__name__}.{'fit' if segments else 'partial_fit'}",
            constant_lr=not segments)
        curve = [rec["train_loss"] for rec in result.history]
        self.n_iter_ = getattr(self, "n_iter_", 0) + len(curve)  # partial_fit accumulates
        self.loss_curve_ = getattr(self, "loss_curve_", []) + curve
        self.validation_loss_curve_ = [rec["val_loss"] for rec in result.history if rec["val_loss"] is not None]
        self.train_loss_ = curve[-1]
        return mode, final_state

    def _finish_stream(self, mode, X):
        """After a fit: the state at the end of the training stream, where partial_fit continues."""
        self.fit_mode_ = mode
        self.stream_state_ = (self.model_.forward(X, return_state=True)[1] if mode == "stream" else None)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the network on a stream (2-D X) or on a batch of sequences (3-D X).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_sequences, T, n_features)
            One time-ordered stream, or independent sequences; with a token-input variant
            (``variant="text_native"``), integer token ids of shape (n_sequences, T).
        y : array-like
            Per row of a stream; per sequence (``target="sequence"``) or per step
            (``target="step"``, shape (n_sequences, T)) for 3-D X.

        Returns
        -------
        self : object
        """
        X, y = self._validate_fit_data(X, y, reset=True)
        for attr in ("optimizer_", "n_iter_", "loss_curve_", "ridge_alpha_", "solver_scores_"):
            self.__dict__.pop(attr, None)  # a new fit starts over
        if self.solver == "auto":
            return self._fit_auto(X, y)
        self.solver_ = self.solver
        self.input_coef_ = None
        y_enc = self._encode_y(y, first=True, lead=self._lead(X))
        self._new_model(X.shape[-1], check_random_state(self.random_state))
        mode, _ = self._train(X, y_enc, n_epochs=self.max_iter)
        self._finish_stream(mode, X)
        return self

    # ------------------------------------------------------------------ solver="auto"
    def _fit_auto(self, X, y):
        """``solver="auto"``: hold out the time-ordered tail (the last ``validation_fraction`` of
        the rows of a stream, or of the sequences), fit the ridge read-out on the rest and Adam with
        early stopping on the same split (it keeps the parameters best on the tail), and keep the
        solver with the smaller error on the tail (ties: ridge, the cheaper one). Ridge is then
        refitted on all the data; Adam keeps its early-stopped fit."""
        n = len(X)
        n_val = int(round(n * self.validation_fraction))
        scores = {}
        if n_val < 1 or n - n_val < 2:  # no tail to choose on: the closed form
            choice, final = "ridge", None
        else:
            ridge = clone(self).set_params(solver="ridge").fit(X[: n - n_val], y[: n - n_val])
            adam = clone(self).set_params(solver="adam", early_stopping=True).fit(X, y)
            for name, est in (("ridge", ridge), ("adam", adam)):
                scores[name] = self._tail_error(est, X, y, n_val)
            choice = min(scores, key=lambda k: (scores[k], k != "ridge"))
            final = adam if choice == "adam" else None
        if final is None:
            final = clone(self).set_params(solver="ridge").fit(X, y)
        params = set(self.get_params(deep=False))
        for key, value in final.__dict__.items():
            if key not in params and key not in ("n_features_in_", "feature_names_in_"):
                setattr(self, key, value)
        self.solver_ = choice
        self.solver_scores_ = scores
        return self

    def _tail_error(self, est, X, y, n_val: int) -> float:
        """Error of a fitted candidate on the last ``n_val`` rows of a stream (predicted causally
        over the whole stream) or the last ``n_val`` sequences: the mean squared error over the
        targets' variance, or for a classifier the error rate."""
        start = len(X) - n_val
        pred = est.predict(X)[start:] if est.fit_mode_ == "stream" else est.predict(X[start:])
        true = np.asarray(y)[start:]
        if self._loss != "mse":
            return float(np.mean(np.asarray(pred).reshape(-1) != true.reshape(-1)))
        true = true.astype(np.float64).reshape(len(true), -1)
        pred = np.asarray(pred, np.float64).reshape(true.shape)
        var = np.where(true.var(axis=0) > 0, true.var(axis=0), 1.0)
        err = float(np.mean((pred - true) ** 2 / var))
        return err if np.isfinite(err) else np.inf

    def _partial_fit(self, X, y):
        first = not hasattr(self, "model_")
        X, y = self._validate_fit_data(X, y, reset=first)
        if first:
            self.solver_ = "adam" if self.solver == "auto" else self.solver
            self._partial_fit_first(X, y)
            self._new_model(X.shape[-1], check_random_state(self.random_state))
            self.input_coef_ = None
            self.fit_mode_ = "stream" if X.ndim == 2 and not self._tokens else self.target
            self.stream_state_ = None
        elif not self._tokens and (X.ndim == 2) != (self.fit_mode_ == "stream"):
            raise ValueError(f"partial_fit got {X.ndim}-D X but the model was fitted on "
                             f"{'a 2-D stream' if self.fit_mode_ == 'stream' else '3-D sequences'}. "
                             "HINT: keep the same layout across calls.")
        y_enc = self._encode_y(y, first=False, lead=self._lead(X))
        stream = self.fit_mode_ == "stream"
        mode, end_state = self._train(X, y_enc, n_epochs=1, state0=self.stream_state_ if stream else None,
                                      segments=False)
        if mode == "stream":
            self.stream_state_ = end_state
        return self

    def _partial_fit_first(self, X, y):
        self._encode_y(y, first=True, lead=self._lead(X))

    # ------------------------------------------------------------------ prediction
    def _raw_predict(self, X) -> np.ndarray:
        """Model outputs: (n, D) for a stream, (N, D) per sequence, (N, T, D) per step."""
        check_is_fitted(self)
        if is_token_model(self.model_):
            X = validate_tokens(self, X, reset=False, vocab_size=self.vocab_size_)
            Y = outputs(self.model_, None, X, n_out=self._n_out())
            return Y[:, -1] if self.fit_mode_ == "sequence" else Y
        X, _ = validate_X(self, X, reset=False)
        if X.ndim == 2 and self.fit_mode_ != "stream":
            raise ValueError(f"{type(self).__name__} was fitted on 3-D sequences (n_sequences, T, "
                             f"n_features) but got 2-D X of shape {X.shape}. HINT: pass X[None] for "
                             "a single sequence.")
        Y = outputs(self.model_, self.input_coef_, X.astype(self.dtype, copy=False))
        if X.ndim == 3 and self.fit_mode_ == "sequence":
            return Y[:, -1]
        return Y
