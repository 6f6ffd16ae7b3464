"""Pictures of runs and models: learning curves, the synaptic state, statistics over a stream, and
forecasts against the truth. Used by ``ssmn-rl train`` / ``recall`` / ``plot`` and
``scripts/make_figures.py``; every helper also works on its own in a script or a notebook.

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``), never through
pyplot's global state, so they render headless (Agg) whatever backend the session uses, and a
figure that is saved is not kept alive by pyplot. Each ``plot_*`` helper returns the Figure and
also writes it when given a ``path``. The synaptic-state picture is the model's own
(:meth:`ssmn_rl.SSMN.plot_synaptic_state`, in :mod:`ssmn_rl.analysis`); this module adds the
pieces around it.
"""
from __future__ import annotations

import json
import math
import pathlib

import numpy as np

#: Dots per inch of saved figures: run directories use this; docs/img uses less (make_figures.py).
DPI = 100


def _figure(nrows: int = 1, ncols: int = 1, figsize=(7.0, 4.0), **kw):
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _finish(fig, path, dpi):
    if path is not None:
        fig.savefig(path, dpi=dpi)
    return fig


# ---------------------------------------------------------------------------------- learning curves
def read_history(source):
    """Training history of a run, as ``(kind, data)``.

    `source` is a run directory of ``ssmn-rl train`` (reads ``logs/progress.csv``) or of
    ``ssmn-rl recall`` (reads ``history.json``), one of those two files, a list of progress rows
    (dicts with ``global_step``) or a recall history dict (with ``iteration``). `kind` is
    ``"agent"`` (data: list of row dicts, missing values NaN) or ``"recall"`` (data: the dict).
    """
    from .progress_csv import read_csv

    if isinstance(source, dict):
        if "iteration" not in source:
            raise ValueError("a history dict needs the keys of ssmn-rl recall's history.json "
                             f"(iteration, loss, eval_iteration, accuracy), got {sorted(source)}")
        return "recall", source
    if isinstance(source, (list, tuple)):
        return "agent", list(source)
    p = pathlib.Path(source)
    if p.is_dir():
        for candidate in (p / "logs" / "progress.csv", p / "progress.csv", p / "history.json"):
            if candidate.is_file():
                p = candidate
                break
        else:
            raise FileNotFoundError(f"{str(source)!r} holds no training log (logs/progress.csv of ssmn-rl train "
                                    "or history.json of ssmn-rl recall)")
    if not p.is_file():
        raise FileNotFoundError(f"{str(source)!r} does not exist")
    if p.suffix == ".json":
        return read_history(json.loads(p.read_text()))
    return "agent", read_csv(p)


def plot_learning_curve(source, path=None, *, baselines: dict | None = None, title: str | None = None,
                        chance: float | None = None, dpi: int = DPI):
    """Learning curve of a run (see :func:`read_history` for `source`).

    Agent runs: the return of the training episodes, of the ES mean policy and of the
    deterministic evaluations against env steps, with optional horizontal reference lines
    (`baselines`, e.g. ``{"random": 22.4}``). Recall runs: training loss and held-out accuracy
    against iterations, with the chance level (`chance`, default 1 / number of values when the
    run directory's ``metrics.json`` says it).
    """
    kind, data = read_history(source)
    if kind == "recall":
        if chance is None and not isinstance(source, dict):
            metrics = pathlib.Path(source) / "metrics.json" if pathlib.Path(source).is_dir() else None
            if metrics is not None and metrics.is_file():
                chance = json.loads(metrics.read_text()).get("chance")
        return _plot_recall_curve(data, path, chance, title, dpi)
    fig, axes = _figure()
    ax = axes[0, 0]
    plotted = False
    for key, label in (("charts/episodic_return", "training episodes"), ("charts/center_return", "ES mean policy"),
                       ("eval/mean_reward", "evaluation (deterministic)")):
        pts = [(r["global_step"], r[key]) for r in data if key in r and not math.isnan(r[key])]
        if pts:
            ax.plot(*zip(*pts), marker="o" if key.startswith("eval") or len(pts) < 3 else None, ms=3, label=label)
            plotted = True
    for name, value in (baselines or {}).items():
        ax.axhline(value, ls="--", lw=0.8, c="gray")
        ax.text(0.995, value, name, ha="right", va="bottom", fontsize=7, color="gray",
                transform=ax.get_yaxis_transform())
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return")
    ax.set_title(title or "learning curve")
    if plotted:
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no returns logged yet", ha="center", transform=ax.transAxes)
    return _finish(fig, path, dpi)


def _plot_recall_curve(hist: dict, path, chance, title, dpi):
    fig, axes = _figure(1, 2, figsize=(10, 4))
    ax1, ax2 = axes[0]
    ax1.plot(hist["iteration"], hist["loss"])
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("cross-entropy (nats)")
    if hist["loss"] and min(hist["loss"]) > 0:
        ax1.set_yscale("log")
    ax1.set_title("training loss")
    ax2.plot(hist["eval_iteration"], hist["accuracy"], marker="o", ms=3)
    if chance is not None:
        ax2.axhline(chance, ls="--", c="gray", label=f"chance ({chance:.2f})")
        ax2.legend()
    ax2.set_ylim(0, 1.02)
    ax2.set_xlabel("iteration")
    ax2.set_ylabel("recall accuracy (held-out)")
    ax2.set_title(title or "recall of a value 3 windows back")
    return _finish(fig, path, dpi)


# ---------------------------------------------------------------------------------- synaptic state
def plot_synaptic_state(model, state=None, path=None):
    """Heat map and eigenvalue spectrum of each fast-weight matrix W_f of stream 0 of `state`
    (the model's live state when None): :meth:`ssmn_rl.SSMN.plot_synaptic_state`, re-exported
    here so that every picture has a helper in this module."""
    return model.plot_synaptic_state(state, path=path)


# ---------------------------------------------------------------------------------- stream statistics
def _empty_stats() -> dict:
    return {"attention_entropy": [], "synaptic_energy": [], "update_magnitude": [], "window_fill": []}


def _append_stats(out: dict, model, state) -> None:
    from .analysis import statistics

    s = statistics(model, state)
    for k in out:
        out[k].append(np.asarray(s[k][0], dtype=np.float64))


def _stack_stats(out: dict, model) -> dict:
    P = model.config.n_plastic
    res = {k: (np.stack(v) if v else np.zeros((0,) + ((P,) if k in ("synaptic_energy", "update_magnitude") else ())))
           for k, v in out.items()}
    res["window_size"] = model.config.window_size
    return res


def stream_statistics(model, X, state=None) -> dict:
    """Per-step statistics of one stream fed `X` step by step from `state` (fresh when None).

    Parameters
    ----------
    model : SSMN
    X : array of shape (T, input_dim), or (T,) token ids for token models
    state : SSMNState of one stream, optional (not modified)

    Returns
    -------
    dict
        ``attention_entropy`` (T,) in nats; ``synaptic_energy`` and ``update_magnitude``
        (T, n_plastic): mean W_f² and RMS of the last ΔW_f per plastic layer; ``window_fill``
        (T,); ``outputs`` (T, output_dim); ``state``, the final SSMNState; ``window_size``.
    """
    X = np.asarray(X)
    want = 1 if model.token_input else 2
    if X.ndim != want:
        shape = "(T,) token ids" if model.token_input else f"(T, {model.config.input_dim})"
        raise ValueError(f"X must have shape {shape} (one stream), got {X.shape}")
    if state is not None and state.batch_size != 1:
        raise ValueError(f"state must hold one stream, got {state.batch_size}. HINT: pass state[i].")
    stream = model.stream(state, batch_size=None if state is not None else 1)
    out, ys = _empty_stats(), []
    for x in X:
        ys.append(stream.step(np.int32(x) if model.token_input else x))
        _append_stats(out, model, stream.state)
    res = _stack_stats(out, model)
    res["outputs"] = np.array(ys)
    res["state"] = stream.state
    return res


def episode_statistics(agent, env, seed: int = 0, deterministic: bool = True, max_steps: int | None = None) -> dict:
    """Run one episode of `agent` (ES, PPO) on `env` (an id or a Gymnasium env) and return the
    per-step statistics of its policy's SSMN, as :func:`stream_statistics` does, plus
    ``rewards`` (T,) and ``return``. ``state`` is the policy's state after the last step."""
    import gymnasium as gym

    owned = isinstance(env, str)
    env = gym.make(env) if owned else env
    model = agent.policy.model
    out, rewards = _empty_stats(), []
    try:
        obs, _ = env.reset(seed=seed)
        state, start, done = None, True, False
        while not done and (max_steps is None or len(rewards) < max_steps):
            action, state = agent.predict(obs, state=state, episode_start=np.array([start]),
                                          deterministic=deterministic)
            _append_stats(out, model, state)
            obs, r, term, trunc, _ = env.step(action)
            rewards.append(float(r))
            start, done = False, term or trunc
    finally:
        if owned:
            env.close()
    res = _stack_stats(out, model)
    res.update(rewards=np.array(rewards), state=state)
    res["return"] = float(np.sum(rewards))
    return res


def plot_stream_statistics(stats: dict, path=None, *, title: str | None = None, marks=(), labels=None,
                           dpi: int = DPI):
    """Attention entropy, synaptic energy and update magnitude against the step, from
    :func:`stream_statistics` or :func:`episode_statistics`.

    The entropy panel also shows log(number of filled window slots), the entropy of uniform
    attention: attention below it is selective. `marks` are steps to draw as vertical lines (for
    example where the input changes regime), or a dict {step: caption}; `labels` (T,) strings, e.g. the characters of a
    text, are written under the steps when there are at most 120 of them.
    """
    H = stats["attention_entropy"]
    T = len(H)
    t = np.arange(T)
    fig, axes = _figure(3, 1, figsize=(8, 6), sharex=True)
    ax_h, ax_e, ax_u = axes[:, 0]
    w = stats.get("window_size")
    ax_h.plot(t, H, lw=1, label="attention entropy")
    if w:
        ax_h.plot(t, np.log(np.minimum(t + 1, w)), ls="--", lw=0.8, c="gray", label="uniform over the window")
        ax_h.legend(loc="lower right", fontsize=7)
    ax_h.set_ylabel("entropy (nats)")
    E, U = stats["synaptic_energy"], stats["update_magnitude"]
    for j in range(E.shape[1] if E.ndim == 2 else 0):
        ax_e.plot(t, E[:, j], lw=1, label=f"plastic layer {j}")
        ax_u.plot(t, U[:, j], lw=1, label=f"plastic layer {j}")
    if E.ndim == 2 and E.shape[1] == 0:
        for ax in (ax_e, ax_u):
            ax.text(0.5, 0.5, "no plastic layers", ha="center", transform=ax.transAxes)
    elif E.ndim == 2 and E.shape[1] > 1:
        ax_e.legend(fontsize=7)
    ax_e.set_ylabel("synaptic energy\nmean W_f²")
    ax_u.set_ylabel("update magnitude\nRMS ΔW_f")
    ax_u.set_xlabel("step")
    named = marks if isinstance(marks, dict) else {m: None for m in marks}
    for m, text in named.items():
        for ax in (ax_h, ax_e, ax_u):
            ax.axvline(m, c="k", lw=0.6, ls=":")
        if text:
            ax_h.text(m, 0.97, f" {text}", va="top", fontsize=7, transform=ax_h.get_xaxis_transform())
    if labels is not None and 0 < T <= 120:
        ax_u.set_xticks(t, [repr(c)[1:-1] if isinstance(c, str) else str(c) for c in labels[:T]],
                        fontsize=6, family="monospace")
    ax_h.set_title(title or f"statistics over a stream of {T} steps")
    return _finish(fig, path, dpi)


# ---------------------------------------------------------------------------------- forecasts
def plot_forecast(y_history, y_future, forecaster=None, path=None, *, one_step=None, multi_step=None,
                  context: int = 200, title: str | None = None, dpi: int = DPI):
    """Forecasts against the truth for a univariate series (the first variable of a multivariate
    one).

    `y_history` is the series the forecaster was fitted on (its last `context` points are drawn),
    `y_future` the truth that followed. With a fitted :class:`~ssmn_rl.estimators.SSMNForecaster`
    the helper computes the recursive forecast of all ``len(y_future)`` steps from the end of the
    history (``forecaster.predict``) and the rolling one-step forecasts
    (``forecaster.predict_stream``, which reads the truth as it arrives); or pass them as
    `multi_step` / `one_step` arrays. The title reports each forecast's NRMSE (RMSE over the
    standard deviation of `y_future`).
    """
    hist = np.asarray(y_history, dtype=np.float64)
    fut = np.asarray(y_future, dtype=np.float64)
    hist, fut = (hist[:, 0], fut[:, 0]) if hist.ndim == 2 else (hist, fut)
    if forecaster is not None:
        if multi_step is None:
            multi_step = forecaster.predict(len(fut))
        if one_step is None:
            one_step = forecaster.predict_stream(y=np.asarray(y_future))[:, 0]
    n = len(hist)
    fig, axes = _figure(figsize=(9, 3.6))
    ax = axes[0, 0]
    k = min(context, n)
    ax.plot(np.arange(n - k, n), hist[n - k:], c="0.55", lw=1, label="history (fitted)")
    tf = np.arange(n, n + len(fut))
    ax.plot(tf, fut, c="k", lw=1.2, label="truth")
    scale = float(np.std(fut)) or 1.0
    parts = []
    for pred, label, style in ((one_step, "1-step rolling forecast", dict(c="tab:blue", lw=1)),
                               (multi_step, f"{len(fut)}-step forecast from the origin",
                                dict(c="tab:red", lw=1.2, ls="--"))):
        if pred is None:
            continue
        p = np.asarray(pred, dtype=np.float64)
        p = p[:, 0] if p.ndim == 2 else p
        ax.plot(tf[:len(p)], p, label=label, **style)
        nrmse = float(np.sqrt(np.mean((p - fut[:len(p)]) ** 2)) / scale)
        parts.append(f"{label.split(' forecast')[0]} NRMSE {nrmse:.3g}")
    ax.axvline(n - 0.5, c="gray", lw=0.6, ls=":")
    ax.set_xlabel("time step")
    ax.set_ylabel("value")
    ax.legend(loc="upper left", fontsize=7, ncols=2)
    ax.set_title(title or ("forecast vs truth" + (": " + ", ".join(parts) if parts else "")), fontsize=10)
    return _finish(fig, path, dpi)
