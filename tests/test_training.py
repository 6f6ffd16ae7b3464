"""The shared trainer (ssmn_rl.training): the schedule with warm-up and its floor, early stopping
with best-parameter restore, evaluation cadence, the time budget, refusal of non-finite gradients,
continuing an optimiser, and the progress reporter."""
import builtins
import math
import time

import numpy as np
import pytest

from ssmn_rl.training import LR_FLOOR, Progress, Trainer, lr_factor


class Quadratic:
    """A stand-in model: loss ||p - target||^2 over a flat parameter vector."""

    def __init__(self, n=3, target=1.0):
        self.p, self.target = np.zeros(n), np.full(n, target)

    @property
    def n_parameters(self):
        return self.p.size

    def get_parameters(self):
        return self.p.copy()

    def set_parameters(self, p):
        self.p = np.asarray(p, np.float64).copy()

    def batches(self, n_steps):
        def gen(epoch):
            for _ in range(n_steps):
                d = self.p - self.target
                yield float(d @ d), 2 * d, 1.0
        return gen


def test_schedule_constant_cosine_and_warmup():
    assert lr_factor("constant", 0.0) == lr_factor("constant", 0.7) == 1.0
    cos = [lr_factor("cosine", p) for p in np.linspace(0, 1, 11)]
    assert cos[0] == 1.0 and cos[-1] == pytest.approx(LR_FLOOR) and np.all(np.diff(cos) < 0)
    assert lr_factor("cosine", 0.5) == pytest.approx(LR_FLOOR + (1 - LR_FLOOR) / 2)
    # warm-up: a linear rise from the floor to the peak, then the schedule over the rest
    assert lr_factor("cosine", 0.0, warmup=0.2) == pytest.approx(LR_FLOOR)
    assert lr_factor("cosine", 0.1, warmup=0.2) == pytest.approx((1 + LR_FLOOR) / 2)
    assert lr_factor("cosine", 0.2, warmup=0.2) == 1.0
    assert lr_factor("cosine", 0.6, warmup=0.2) == pytest.approx(LR_FLOOR + (1 - LR_FLOOR) / 2)
    assert lr_factor("constant", 0.05, warmup=0.1) < 1.0 == lr_factor("constant", 0.1, warmup=0.1)
    with pytest.raises(ValueError, match="schedule must be one of"):
        lr_factor("linear", 0.5)
    with pytest.raises(ValueError, match="warmup must be in"):
        lr_factor("cosine", 0.5, warmup=1.0)


def test_the_trainer_sets_the_scheduled_step_size():
    m = Quadratic()
    seen = []

    def batches(epoch):
        for _ in range(10):
            d = m.p - m.target
            yield float(d @ d), 2 * d, 1.0
            seen.append(opt_lr())

    t = Trainer(learning_rate=0.1, lr_schedule="cosine", max_epochs=2)
    opt = t.new_optimizer(m.n_parameters)
    opt_lr = lambda: opt.lr  # noqa: E731
    result, _ = t.run(m, batches, steps_per_epoch=10, optimizer=opt)
    expected = [0.1 * lr_factor("cosine", k / 20) for k in range(20)]
    np.testing.assert_allclose(seen, expected)
    assert result.n_steps == 20 and result.epochs_completed == 2 and len(result.history) == 2
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_early_stopping_keeps_the_best_validation_parameters():
    m = Quadratic()
    scripted = iter([5.0, 3.0, 4.0, 3.5, 3.2, 9.0, 9.0])
    snapshots = []

    def validate():
        snapshots.append(m.get_parameters())
        return next(scripted)

    t = Trainer(learning_rate=0.05, max_epochs=20, patience=3, tol=0.0)
    result, _ = t.run(m, m.batches(4), steps_per_epoch=4, validate=validate)
    assert result.stopped_early and len(result.history) == 5  # best at 2, then 3 without improvement
    assert result.best_val_loss == 3.0
    np.testing.assert_array_equal(m.get_parameters(), snapshots[1])  # restored
    assert [r["val_loss"] for r in result.history] == [5.0, 3.0, 4.0, 3.5, 3.2]


def test_without_validation_the_training_loss_is_watched_and_the_last_parameters_kept():
    m = Quadratic()
    t = Trainer(learning_rate=1e-9, max_epochs=50, patience=2, tol=1.0)  # no step improves by 1.0
    result, _ = t.run(m, m.batches(3), steps_per_epoch=3)
    assert result.stopped_early and len(result.history) == 3 and result.best_val_loss is None
    assert not np.array_equal(m.get_parameters(), np.zeros(3))


def test_evaluation_cadence_and_extra_fields():
    m = Quadratic()
    calls = []
    t = Trainer(learning_rate=0.01, max_epochs=2, eval_every_steps=4)
    result, _ = t.run(m, m.batches(5), steps_per_epoch=5, extra=lambda: {"accuracy": len(calls)},
                      validate=lambda: calls.append(1) or 1.0)
    assert [r["step"] for r in result.history] == [4, 8, 10]  # every 4 steps, and after the last
    assert [r["accuracy"] for r in result.history] == [1, 2, 3]
    assert result.history[0]["epoch"] == pytest.approx(0.8)
    assert set(result.history[0]) == {"step", "epoch", "train_time", "wall_time", "train_loss", "val_loss",
                                      "lr", "accuracy"}
    assert len(result.step_losses) == 10


def test_max_time_stops_after_the_step_that_ends_past_it():
    m = Quadratic()

    def slow(epoch):
        for _ in range(1000):
            time.sleep(0.01)
            d = m.p - m.target
            yield float(d @ d), 2 * d, 1.0

    t0 = time.perf_counter()
    result, _ = Trainer(max_epochs=5, max_time=0.2).run(m, slow, steps_per_epoch=1000)
    assert time.perf_counter() - t0 < 2.0
    assert result.out_of_time and 5 <= result.n_steps < 100
    assert len(result.history) == 1 and result.history[0]["step"] == result.n_steps


def test_non_finite_gradients_are_refused_with_a_hint():
    m = Quadratic()

    def bad(epoch):
        yield 1.0, np.array([0.0, np.nan, 0.0]), 1.0

    with pytest.raises(FloatingPointError, match="my fit: the loss or gradient became non-finite at "
                                                 "step 1.*HINT: lower learning_rate"):
        Trainer(desc="my fit").run(m, bad, steps_per_epoch=1)
    np.testing.assert_array_equal(m.get_parameters(), np.zeros(3))


def test_a_step_that_would_overflow_the_parameters_is_refused():
    m = Quadratic()
    m.set_parameters(np.full(3, -1e308))

    def finite(epoch):
        yield 1.0, np.ones(3), 1.0

    with pytest.raises(FloatingPointError, match="step 1 would make the parameters non-finite.*HINT: lower"):
        Trainer(learning_rate=1e308).run(m, finite, steps_per_epoch=1)
    np.testing.assert_array_equal(m.get_parameters(), np.full(3, -1e308))


def test_an_optimizer_continues_across_runs():
    m = Quadratic()
    t = Trainer(learning_rate=0.1, max_epochs=1)
    _, opt = t.run(m, m.batches(3), steps_per_epoch=3)
    _, again = t.run(m, m.batches(2), steps_per_epoch=2, optimizer=opt)
    assert again is opt and opt.t == 5


def test_progress_lines_and_silence(monkeypatch, capsys):
    p = Progress(0, 3, "quiet")
    p.step(loss=1.0)
    p.note("hello")
    p.close()
    assert capsys.readouterr().err == ""
    real_import = builtins.__import__

    def no_tqdm(name, *a, **k):
        if name.startswith("tqdm"):
            raise ImportError("no tqdm")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    m = Quadratic()
    Trainer(max_epochs=2, verbose=1, desc="demo", loss_units=" nats").run(
        m, m.batches(2), steps_per_epoch=2, validate=lambda: math.pi)
    err = capsys.readouterr().err
    assert err.count("demo: step") == 2 and "validation loss 3.1416 nats" in err
