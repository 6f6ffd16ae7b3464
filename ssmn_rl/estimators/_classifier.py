"""SSMNClassifier: scikit-learn classifier over streams and sequences (see ``_supervised``);
softmax outputs trained with cross-entropy ("adam") or a ridge read-out on one-hot targets."""
from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.utils.multiclass import check_classification_targets

from ..options import declare
from ._params import SUPERVISED_OPTIONS
from ._supervised import SSMNSupervisedBase


@declare(SUPERVISED_OPTIONS)
class SSMNClassifier(ClassifierMixin, SSMNSupervisedBase):
    """Sparse-Stream Memory Network classifier for streams and sequences.

    A 2-D ``X`` (n_samples, n_features) is one time-ordered stream with a label per row (causal:
    the label of row t is predicted from rows <= t). A 3-D ``X`` (n_sequences, T, n_features) is a
    batch of sequences with one label per sequence (``target="sequence"``) or per step
    (``target="step"``). ``predict`` never changes the fitted model; ``partial_fit`` continues a
    stream (pass ``classes`` on the first call). With ``solver="ridge"`` the read-out (on the
    features z_t and the inputs x_t) is fitted to one-hot targets and its scores serve as logits.
    The parameters are those of :class:`SSMNRegressor` (one declared set).

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    model_ : ssmn_rl.SSMN
        The fitted network; its outputs are one logit per class.
    fit_mode_, stream_state_, input_coef_, ridge_alpha_, solver_, solver_scores_, vocab_size_, \
n_iter_, loss_curve_, validation_loss_curve_, n_features_in_, feature_names_in_
        As in :class:`SSMNRegressor` (losses are cross-entropies in nats for "adam").

    Examples
    --------
    >>> import numpy as np
    >>> from ssmn_rl.estimators import SSMNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 12, 1))             # 60 sequences of 12 steps
    >>> y = (X[:, :, 0].sum(axis=1) > 0).astype(int)  # sign of the running sum at the end
    >>> clf = SSMNClassifier(hidden_dim=16, max_iter=60, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    >>> bool(clf.score(X, y) > 0.8)
    True
    """

    _loss = "cross_entropy"

    def _validate_y_2d_kwargs(self) -> dict:
        return {}

    def _encode_y(self, y, first, lead):
        check_classification_targets(np.asarray(y).reshape(-1))
        if first and not getattr(self, "_classes_given", False):
            self.classes_ = np.unique(np.asarray(y).reshape(-1))
        self._classes_given = False
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes in the "
                             f"data, but the data contains only one class: {self.classes_[0]!r}")
        ids = np.searchsorted(self.classes_, y)
        ids = np.clip(ids, 0, len(self.classes_) - 1)
        if not np.all(self.classes_[ids] == y):
            unknown = np.setdiff1d(np.asarray(y).reshape(-1), self.classes_)
            raise ValueError(f"y contains labels {unknown[:5].tolist()} not in classes_ "
                             f"{self.classes_.tolist()}.")
        return ids.astype(np.int64)

    def _n_model_outputs(self) -> int:
        return len(self.classes_)

    def _ridge_targets(self, target):
        return np.eye(len(self.classes_))[target]

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """One Adam pass, at the constant ``learning_rate``, over the next chunk of a stream (2-D X,
        state carried over from the previous call) or over a batch of sequences (3-D X).

        Parameters
        ----------
        X, y : as in :meth:`fit`
        classes : array-like of shape (n_classes,)
            Every label that can occur; required on the first call, ignored afterwards.

        Returns
        -------
        self : object
        """
        if not hasattr(self, "model_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit. "
                                 "HINT: partial_fit(X, y, classes=np.unique(all_labels)).")
            self.classes_ = np.unique(np.asarray(classes))
            self._classes_given = True
        return self._partial_fit(X, y)

    def decision_function(self, X):
        """Logits: (…, n_classes), or for two classes the log-odds of ``classes_[1]`` (…)."""
        Z = self._raw_predict(X)
        return Z[..., 1] - Z[..., 0] if Z.shape[-1] == 2 else Z

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits), shape (…, n_classes)."""
        Z = self._raw_predict(X)
        Z = Z - Z.max(axis=-1, keepdims=True)
        P = np.exp(Z)
        return P / P.sum(axis=-1, keepdims=True)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        Z = self._raw_predict(X)
        Z = Z - Z.max(axis=-1, keepdims=True)
        return Z - np.log(np.exp(Z).sum(axis=-1, keepdims=True))

    def predict(self, X):
        """Most probable class per row, per sequence or per step (as fitted); no side effects."""
        Z = self._raw_predict(X)
        return self.classes_[np.argmax(Z, axis=-1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy; per-step labels of 3-D input are scored over all steps."""
        pred = self.predict(X)
        return accuracy_score(np.asarray(y).reshape(-1), pred.reshape(-1), sample_weight=sample_weight)
