"""The one gradient trainer of ssmn_rl's faces (estimators, language model, ``ssmn-rl recall``):
Adam over the flat parameter vector, a learning-rate schedule with warm-up, global-norm gradient
clipping, evaluation on a validation loss with early stopping and best-parameter restore, progress
(tqdm) and a wall-clock budget.

The caller owns the data: it passes ``batches(epoch)``, a generator that computes one gradient at
a time with the model's *current* parameters and yields ``(loss, grad, weight)``; the trainer takes
the step before asking for the next one, so a generator may carry recurrent state from one chunk
to the next. Everything else — when to evaluate, when to stop, what the step size is, what is shown
— lives here. The agents' optimisers (ES, PPO) are not gradient loops over a dataset and do not use
it.

Schedule (:func:`lr_factor`). With ``p`` the share of the budget spent before a step (steps done /
total steps, or elapsed / ``max_time`` when that is larger), the step size is ``learning_rate``
times: during warm-up (``p < warmup``) a linear rise from ``LR_FLOOR`` to 1; then 1 ("constant") or
``LR_FLOOR + (1 - LR_FLOOR) * (1 + cos(pi * q)) / 2`` with ``q`` the share of the post-warm-up
budget ("cosine"), so the last steps run at ``LR_FLOOR`` of the peak.
"""
from __future__ import annotations

import dataclasses
import math
import sys
import time
from typing import Callable, Iterable

import numpy as np

from .optim import Adam

#: The cosine schedule ends (and the warm-up starts) at this fraction of the peak step size.
LR_FLOOR = 0.1
SCHEDULES = ("constant", "cosine")


def lr_factor(schedule: str, progress: float, warmup: float = 0.0) -> float:
    """Multiplier of the peak step size after a share ``progress`` in [0, 1] of the budget (see the
    module docstring)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {schedule!r}")
    if not 0.0 <= warmup < 1.0:
        raise ValueError(f"warmup must be in [0, 1), got {warmup!r}")
    p = min(max(float(progress), 0.0), 1.0)
    if p < warmup:
        return LR_FLOOR + (1.0 - LR_FLOOR) * p / warmup
    if schedule == "constant":
        return 1.0
    q = (p - warmup) / (1.0 - warmup)
    return LR_FLOOR + (1.0 - LR_FLOOR) * 0.5 * (1.0 + math.cos(math.pi * q))


class Progress:
    """The progress reporter: a tqdm bar over optimiser steps (elapsed, ETA, the latest loss) for
    ``verbose >= 1``; one line per evaluation on stderr when tqdm is missing or ``verbose >= 2``."""

    BAR_FORMAT = "{desc}: {n_fmt}/{total_fmt} [{elapsed} elapsed, ETA {remaining}, {rate_fmt}{postfix}]"

    def __init__(self, verbose: int, total: int | None, desc: str, unit: str = "step"):
        self.verbose, self.desc, self._bar, self._kept = int(verbose), desc, None, {}
        if self.verbose > 0:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=True,
                                 bar_format=self.BAR_FORMAT)

    def step(self, **postfix) -> None:
        """One optimiser step; ``postfix`` values (and those of :meth:`keep`) follow the bar."""
        if self._bar is not None:
            shown = {**postfix, **self._kept}
            self._bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items() if v is not None},
                                  refresh=False)
            self._bar.update(1)

    def keep(self, **values) -> None:
        """Values shown after every later step (the latest evaluation's)."""
        self._kept.update(values)

    def note(self, text: str, always: bool = True) -> None:
        """A line for the user: printed when ``always`` or when there is no bar or verbose >= 2."""
        if self.verbose <= 0 or not (always or self._bar is None or self.verbose >= 2):
            return
        line = f"{self.desc}: {text}"
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@dataclasses.dataclass
class TrainResult:
    """What a run did. ``history``: one record per evaluation (``step``, ``epoch`` fractional,
    ``train_time`` seconds of training without evaluations, ``wall_time``, ``train_loss`` (weighted
    mean since the previous record), ``val_loss`` (None without validation), ``lr``, plus the
    caller's extra fields); ``step_losses``: the loss of every step."""

    history: list
    step_losses: list
    n_steps: int
    epochs_completed: int
    best_val_loss: float | None
    train_time: float
    stopped_early: bool
    out_of_time: bool


@dataclasses.dataclass
class Trainer:
    """Settings of a run (see the module docstring). ``patience``: stop after this many evaluations
    without an improvement larger than ``tol`` of the watched loss (the validation loss, else the
    training loss since the previous evaluation); None never stops early. ``eval_every_steps`` /
    ``eval_every_seconds`` (of training time): evaluate that often; with neither, at the end of each
    epoch; always after the last step. With a validation loss, the parameters with the best one are
    restored at the end. ``loss_units`` is appended to the validation loss in progress lines."""

    learning_rate: float = 1e-2
    lr_schedule: str = "constant"
    warmup_fraction: float = 0.0
    max_grad_norm: float | None = 1.0
    weight_decay: float = 0.0
    max_epochs: int = 1
    max_time: float | None = None
    patience: int | None = None
    tol: float = 0.0
    eval_every_steps: int | None = None
    eval_every_seconds: float | None = None
    verbose: int = 0
    desc: str = "fit"
    loss_units: str = ""

    @classmethod
    def from_estimator(cls, est, **overrides) -> "Trainer":
        """A trainer with the estimator's values of the training options
        (:data:`ssmn_rl.options.TRAINING_OPTIONS` and ``verbose``), then ``overrides``."""
        from .options import TRAINING_OPTIONS

        kw = {o.name: getattr(est, o.name) for o in TRAINING_OPTIONS}
        kw["verbose"] = est.verbose
        kw.update(overrides)
        return cls(**kw)

    def new_optimizer(self, n_parameters: int) -> Adam:
        return Adam(n_parameters, lr=self.learning_rate, max_grad_norm=self.max_grad_norm,
                    weight_decay=self.weight_decay)

    def run(self, model, batches: Callable[[int], Iterable[tuple]], *, steps_per_epoch: int,
            validate: Callable[[], float] | None = None,
            extra: Callable[[], dict] | None = None,
            optimizer: Adam | None = None) -> tuple[TrainResult, Adam]:
        """Train ``model`` in place for up to ``max_epochs`` passes of ``batches(epoch)``.

        ``steps_per_epoch`` sizes the schedule and the progress bar. ``validate()`` returns the
        validation loss (lower is better); ``extra()`` returns fields added to every history record
        (e.g. an accuracy). ``optimizer`` continues an earlier run's Adam (its moments and step
        count); its step size is set by this run's schedule. Returns the result and the optimiser.
        """
        opt = optimizer or self.new_optimizer(model.n_parameters)
        total = max(1, self.max_epochs * max(1, steps_per_epoch))
        progress = Progress(self.verbose, total, self.desc)
        history, step_losses = [], []
        best, best_params, bad = math.inf, None, 0
        t0 = time.perf_counter()
        train_time, step, last_eval_step, last_eval_time = 0.0, 0, 0, 0.0
        loss_sum, weight_sum = 0.0, 0.0
        stopped = out_of_time = False
        epoch, epochs_completed = 0, 0
        per_epoch = self.eval_every_steps is None and self.eval_every_seconds is None

        def evaluate(at_epoch: float) -> bool:
            """Record an evaluation; True when early stopping says stop."""
            nonlocal loss_sum, weight_sum, last_eval_step, last_eval_time, best, best_params, bad
            train_loss = loss_sum / weight_sum if weight_sum else float("nan")
            val = float(validate()) if validate is not None else None
            rec = {"step": step, "epoch": at_epoch, "train_time": train_time,
                   "wall_time": time.perf_counter() - t0, "train_loss": float(train_loss),
                   "val_loss": val, "lr": float(opt.lr)}
            if extra is not None:
                rec.update(extra())
            history.append(rec)
            progress.keep(**{k: v for k, v in rec.items() if (k == "val_loss" and v is not None) or
                             (k not in _RECORD_FIELDS and isinstance(v, (int, float)))})
            loss_sum, weight_sum, last_eval_step, last_eval_time = 0.0, 0.0, step, train_time
            shown = f", validation loss {val:.5g}{self.loss_units}" if val is not None else ""
            shown += "".join(f", {k} {v:.4g}" for k, v in rec.items()
                             if k not in _RECORD_FIELDS and isinstance(v, (int, float)))
            progress.note(f"step {step} epoch {at_epoch:.2f} ({train_time:.1f}s): "
                          f"train loss {train_loss:.5g}{shown}", always=False)
            watched = val if val is not None else train_loss
            improved = watched < best - self.tol
            bad = 0 if improved else bad + 1
            if watched < best:
                best = watched
                if validate is not None:
                    best_params = model.get_parameters()
            if self.patience is not None and bad >= self.patience:
                progress.note(f"stopped at step {step}: no improvement > tol={self.tol} in "
                              f"{self.patience} evaluations")
                return True
            return False

        try:
            while epoch < self.max_epochs and not (stopped or out_of_time):
                k = 0
                batch_iter = iter(batches(epoch))
                while True:
                    tick = time.perf_counter()
                    spent = step / total
                    if self.max_time is not None:
                        spent = max(spent, (tick - t0) / self.max_time)
                    try:
                        loss, grad, weight = next(batch_iter)
                    except StopIteration:
                        break
                    opt.lr = self.learning_rate * lr_factor(self.lr_schedule, spent, self.warmup_fraction)
                    loss = float(loss)
                    if not (math.isfinite(loss) and np.all(np.isfinite(grad))):
                        raise FloatingPointError(
                            f"{self.desc}: the loss or gradient became non-finite at step {step + 1} "
                            f"(epoch {epoch + 1}). HINT: lower learning_rate or set max_grad_norm.")
                    with np.errstate(over="ignore", invalid="ignore"):
                        new = opt.step(model.get_parameters(), grad)
                    if not np.all(np.isfinite(new)):
                        raise FloatingPointError(
                            f"{self.desc}: step {step + 1} would make the parameters non-finite "
                            f"(learning rate {opt.lr:.3g}); the model keeps the previous ones. "
                            "HINT: lower learning_rate.")
                    model.set_parameters(new)
                    step, k = step + 1, k + 1
                    loss_sum, weight_sum = loss_sum + loss * weight, weight_sum + weight
                    step_losses.append(loss)
                    train_time += time.perf_counter() - tick
                    progress.step(loss=loss)
                    out_of_time = self.max_time is not None and time.perf_counter() - t0 >= self.max_time
                    due = ((self.eval_every_steps is not None and
                            step - last_eval_step >= self.eval_every_steps) or
                           (self.eval_every_seconds is not None and
                            train_time - last_eval_time >= self.eval_every_seconds))
                    if due or out_of_time:
                        stopped = evaluate(epoch + k / max(k, steps_per_epoch))
                    if stopped or out_of_time:
                        break
                if not (stopped or out_of_time):
                    epochs_completed += 1
                    last = epoch + 1 == self.max_epochs
                    if per_epoch or (last and step > last_eval_step):
                        stopped = evaluate(float(epoch + 1))
                epoch += 1
        finally:
            progress.close()
        if best_params is not None:
            model.set_parameters(best_params)
        best_val = None if validate is None or not math.isfinite(best) else best
        return TrainResult(history, step_losses, step, epochs_completed, best_val, train_time,
                           stopped, out_of_time), opt


_RECORD_FIELDS = {"step", "epoch", "train_time", "wall_time", "train_loss", "val_loss", "lr"}
