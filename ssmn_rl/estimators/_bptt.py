"""The "adam" solver: truncated back-propagation through time with Adam over minibatches of
sequence chunks, global-norm gradient clipping, a learning-rate schedule and early stopping on a
time-ordered validation tail. Gradients come from ``SSMN.value_and_grad`` (the C backward)."""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..losses import cross_entropy, mse
from ..model import SSMN
from ..optim import Adam
from ._progress import Progress


@dataclasses.dataclass
class Problem:
    """Training data as a batch of sequences.

    X (N, T, F) inputs; target (N, T, D) floats for "mse" or (N, T) class ids for
    "cross_entropy"; mask (N, T) step weights (0 = no loss at that step, e.g. padding).
    ``shuffle`` draws minibatches of sequences at random (independent sequences); otherwise all N
    sequences form one minibatch (parallel segments of one stream). ``chunk`` is the truncation
    length of BPTT; the state is carried from chunk to chunk of the same sequences. ``offset``
    (N, T, D_out), when given, is added to the model's outputs before the loss (the fixed input
    term of a ridge read-out that Adam continues from).
    """

    X: np.ndarray
    target: np.ndarray
    mask: np.ndarray
    loss: str
    shuffle: bool
    chunk: int
    offset: np.ndarray | None = None


def _offset_loss(kind: str, target, mask, offset):
    """The loss of outputs ``Y + offset`` as a callable for ``SSMN.value_and_grad`` (dL/dY equals
    the gradient with respect to the shifted outputs)."""
    base = mse if kind == "mse" else cross_entropy

    def loss(Y):
        return base(Y + offset.astype(Y.dtype), target, mask.astype(Y.dtype))

    return loss


def evaluate(model: SSMN, p: Problem, state=None) -> float:
    """Weighted loss of the model on a problem (forward only)."""
    Y = model.forward(p.X, state=state)
    if p.offset is not None:
        Y = Y + p.offset.astype(Y.dtype)
    return (mse if p.loss == "mse" else cross_entropy)(Y, p.target, p.mask.astype(Y.dtype))[0]


def stream_segments(X, target, mask, n_segments: int, offset=None):
    """Cut one stream (T, ...) into ``n_segments`` contiguous segments of equal length, padding the
    end with masked-out steps: returns arrays of shape (n_segments, ceil(T / n_segments), ...)
    (X, target, mask, then offset: None if not given)."""
    T = X.shape[0]
    L = math.ceil(T / n_segments)
    pad = n_segments * L - T

    def cut(a):
        a = np.concatenate([a, np.zeros((pad,) + a.shape[1:], a.dtype)]) if pad else a
        return a.reshape((n_segments, L) + a.shape[1:])

    return cut(X), cut(target), cut(mask), (None if offset is None else cut(offset))


@dataclasses.dataclass
class AdamResult:
    loss_curve: list
    validation_curve: list
    n_iter: int
    best_loss: float
    final_state: object


class _Stopper:
    """Early stopping: keeps the best parameters and counts epochs without an improvement > tol."""

    def __init__(self, tol: float, patience: int):
        self.tol, self.patience, self.best, self.best_params, self.bad = tol, patience, math.inf, None, 0

    def update(self, value: float, params) -> bool:
        if value < self.best - self.tol:
            self.bad = 0
        else:
            self.bad += 1
        if value < self.best:
            self.best, self.best_params = value, params.copy()
        return self.bad >= self.patience


def _lr(est, epoch: int, n_epochs: int) -> float:
    if est.lr_schedule == "cosine" and n_epochs > 1:
        return est.learning_rate * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * epoch / (n_epochs - 1))))
    return est.learning_rate


def train_adam(model: SSMN, est, train: Problem, rng: np.random.Generator, *, n_epochs: int,
               validation: Problem | None = None, optimizer: Adam | None = None, state0=None,
               desc: str = "fit") -> tuple[AdamResult, Adam]:
    """Run ``n_epochs`` epochs of Adam on ``model`` in place, reading the solver settings
    (learning_rate, lr_schedule, batch_size, max_grad_norm, weight_decay, tol,
    n_iter_no_change, verbose) from the estimator ``est``. With a ``validation`` problem, the
    parameters with the best validation loss are kept and training stops once it has not improved
    by ``tol`` for ``n_iter_no_change`` epochs; without one, the same rule watches the training
    loss (and the last parameters are kept). ``state0`` starts every minibatch (one stream only)."""
    opt = optimizer or Adam(model.n_parameters, lr=est.learning_rate, max_grad_norm=est.max_grad_norm,
                            weight_decay=est.weight_decay)
    N, T = train.mask.shape
    bs = min(est.batch_size, N) if train.shuffle else N
    stopper = _Stopper(est.tol, est.n_iter_no_change)
    progress = Progress(est.verbose, n_epochs, desc)
    losses, val_losses, final_state, epoch = [], [], None, 0
    try:
        for epoch in range(n_epochs):
            opt.lr = _lr(est, epoch, n_epochs)
            order = rng.permutation(N) if train.shuffle else np.arange(N)
            total, weight = 0.0, 0.0
            for b0 in range(0, N, bs):
                idx = np.sort(order[b0:b0 + bs])
                state = state0
                for t0 in range(0, T, train.chunk):
                    t1 = min(T, t0 + train.chunk)
                    xs, m = train.X[idx, t0:t1], train.mask[idx, t0:t1]
                    w = float(m.sum())
                    if w <= 0:
                        _, state = model.forward(xs, state=state, return_state=True)
                        continue
                    tgt = train.target[idx, t0:t1]
                    kind = train.loss if train.offset is None else \
                        _offset_loss(train.loss, tgt, m, train.offset[idx, t0:t1])
                    loss, grad, state = model.value_and_grad(
                        xs, None if callable(kind) else tgt, loss=kind, state=state, mask=m,
                        return_state=True)
                    if not np.all(np.isfinite(grad)):
                        raise FloatingPointError(
                            f"{desc}: the gradient became non-finite at epoch {epoch + 1}. "
                            "HINT: lower learning_rate or set max_grad_norm.")
                    model.set_parameters(opt.step(model.get_parameters(), grad))
                    total, weight = total + loss * w, weight + w
                final_state = state
            train_loss = total / weight if weight else float("nan")
            losses.append(train_loss)
            val_loss = evaluate(model, validation) if validation is not None else None
            if val_loss is not None:
                val_losses.append(val_loss)
            progress.update(train_loss, val_loss)
            watched = val_loss if val_loss is not None else train_loss
            if stopper.update(watched, model.get_parameters()):
                progress.message(f"stopped after epoch {epoch + 1}: no improvement > tol={est.tol} "
                                 f"in {est.n_iter_no_change} epochs")
                break
    finally:
        progress.close()
    if validation is not None and stopper.best_params is not None:
        model.set_parameters(stopper.best_params)
    return AdamResult(losses, val_losses, epoch + 1, stopper.best, final_state), opt
