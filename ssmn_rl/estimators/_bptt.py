"""The "adam" solver's data side: the training problem as sequence chunks, minibatches of them for
truncated back-propagation through time (the state carried from chunk to chunk), and the loss of a
time-ordered validation tail. The optimisation itself (Adam, schedule, clipping, early stopping,
progress, time budget) is the shared :class:`ssmn_rl.training.Trainer`. Gradients come from
``SSMN.value_and_grad`` (the C backward)."""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..losses import cross_entropy, mse
from ..model import SSMN
from ..optim import Adam
from ..training import Trainer, TrainResult


@dataclasses.dataclass
class Problem:
    """Training data as a batch of sequences.

    X (N, T, F) inputs; target (N, T, D) floats for "mse" or (N, T) class ids for
    "cross_entropy"; mask (N, T) step weights (0 = no loss at that step, e.g. padding).
    ``shuffle`` draws minibatches of sequences at random (independent sequences); otherwise all N
    sequences form one minibatch (parallel segments of one stream). ``chunk`` is the truncation
    length of BPTT; the state is carried from chunk to chunk of the same sequences. ``offset``
    (N, T, D_out), when given, is added to the model's outputs before the loss (the fixed input
    term of a ridge read-out that Adam continues from). ``n_out``, when given, restricts the loss to
    the first ``n_out`` outputs (a token model has one output per token id). X holds (N, T) token
    ids for a token model.
    """

    X: np.ndarray
    target: np.ndarray
    mask: np.ndarray
    loss: str
    shuffle: bool
    chunk: int
    offset: np.ndarray | None = None
    n_out: int | None = None


def _loss(kind: str, target, mask, offset, n_out):
    """The loss of the outputs ``Y[..., :n_out] + offset`` (either part may be None: all outputs,
    no offset) as a callable for ``SSMN.value_and_grad``, or ``kind`` itself when neither is
    given. A token model's outputs are one per token id; an estimator uses the first ``n_out`` of
    them (its targets or classes), and the others get no gradient."""
    if offset is None and n_out is None:
        return kind
    base = mse if kind == "mse" else cross_entropy

    def loss(Y):
        Yk = Y if n_out is None else Y[..., :n_out]
        if offset is not None:
            Yk = Yk + offset.astype(Y.dtype)
        value, dY = base(np.ascontiguousarray(Yk), target, mask.astype(Y.dtype))
        if n_out is not None:
            full = np.zeros_like(Y)
            full[..., :n_out] = dY
            dY = full
        return value, dY

    return loss


def evaluate(model: SSMN, p: Problem, state=None) -> float:
    """Weighted loss of the model on a problem (forward only)."""
    Y = model.forward(p.X, state=state)
    if p.n_out is not None:
        Y = np.ascontiguousarray(Y[..., :p.n_out])
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


def _steps_per_epoch(p: Problem, bs: int) -> int:
    """Optimiser steps in one epoch: minibatches times chunks holding at least one weighted step
    (an upper bound when shuffled minibatches differ in which chunks carry weight)."""
    N, T = p.mask.shape
    chunks = sum(1 for t0 in range(0, T, p.chunk) if p.mask[:, t0:t0 + p.chunk].any())
    return max(1, math.ceil(N / bs) * chunks)


def train_adam(model: SSMN, est, train: Problem, rng: np.random.Generator, *, n_epochs: int,
               validation: Problem | None = None, optimizer: Adam | None = None, state0=None,
               desc: str = "fit", constant_lr: bool = False) -> tuple[TrainResult, Adam, object]:
    """Run up to ``n_epochs`` epochs of the shared trainer (:class:`ssmn_rl.training.Trainer`) on
    ``model`` in place, with the estimator's training options (learning_rate, lr_schedule,
    warmup_fraction, max_grad_norm, weight_decay, max_time, verbose) and its early-stopping rule:
    stop once the watched loss (validation loss with a ``validation`` problem, else the training
    loss) has not improved by ``tol`` for ``n_iter_no_change`` epochs; with a validation problem the
    parameters with the best validation loss are kept. ``state0`` starts every minibatch (one
    stream only); ``constant_lr`` trains at ``learning_rate`` without schedule or warm-up (a
    ``partial_fit`` call is one pass with no budget to schedule over). Returns the trainer's result, the
    optimiser and the state at the end of the last chunk trained."""
    N, T = train.mask.shape
    bs = min(est.batch_size, N) if train.shuffle else N
    final = {"state": None}

    def batches(epoch: int):
        order = rng.permutation(N) if train.shuffle else np.arange(N)
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
                kind = _loss(train.loss, tgt, m, None if train.offset is None else
                             train.offset[idx, t0:t1], train.n_out)
                loss, grad, state = model.value_and_grad(
                    xs, None if callable(kind) else tgt, loss=kind, state=state, mask=m,
                    return_state=True)
                yield loss, grad, w
            final["state"] = state

    overrides = {"max_epochs": n_epochs, "patience": est.n_iter_no_change, "tol": est.tol,
                 "desc": desc}
    if constant_lr:
        overrides.update(lr_schedule="constant", warmup_fraction=0.0)
    trainer = Trainer.from_estimator(est, **overrides)
    result, opt = trainer.run(model, batches, steps_per_epoch=_steps_per_epoch(train, bs),
                              validate=None if validation is None else (lambda: evaluate(model, validation)),
                              optimizer=optimizer)
    return result, opt, final["state"]
