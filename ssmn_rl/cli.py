"""The ``ssmn-rl`` command line: train agents and the memory demo, draw plots, inspect model files.

``ssmn-rl train`` / ``evaluate`` (the agents, in :mod:`ssmn_rl.agents.cli`) are the quickstart's
main job. ``ssmn-rl recall`` trains an SSMN by BPTT + Adam on a delayed recall task whose answer
lies three attention windows in the past (only the plastic fast weights can carry it).
``ssmn-rl plot`` draws learning curves, the synaptic state, statistics over a stream and
forecasts from run directories, model files and series (helpers in :mod:`ssmn_rl.plotting`).
``ssmn-rl plugins`` and ``ssmn-rl info`` show what is installed.

Every subcommand's ``--help`` lists its options with their defaults; every error ends with a
``HINT:`` line saying what to do next.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

from .cli_helpers import (PROG, HelpFormatter, Parser, add_parser, fail, non_negative_int,  # noqa: F401
                          positive_float, positive_int, warnings_as_lines)


# ---------------------------------------------------------------------------------- recall
def cmd_recall(args) -> int:
    from .model import SSMN
    from .plotting import plot_learning_curve
    from .tasks import delayed_recall
    from .training import Trainer

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    delay = 3 * args.window
    model = SSMN("custom_split", input_dim=args.values + 2, hidden_dim=args.hidden, output_dim=args.values,
                 window_size=args.window, n_layers=2, plastic_ratio=0.5, plasticity_eta=0.5,
                 decay_lambda=0.01, alpha=1.0, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    Xe, ye, _ = delayed_recall(1000, delay, args.values, rng=args.seed + 1)
    start = time.time()

    def evaluate() -> float:
        return float((model.forward(Xe)[:, -1].argmax(-1) == ye[:, -1]).mean())

    def batches(epoch: int):
        for _ in range(args.iterations):
            X, y, mask = delayed_recall(args.batch, delay, args.values, rng=rng)
            loss, grad = model.value_and_grad(X, y, loss="cross_entropy", mask=mask)
            yield loss, grad, 1.0

    trainer = Trainer(learning_rate=args.lr, max_grad_norm=1.0, max_epochs=1,
                      eval_every_steps=args.eval_every, verbose=0 if args.quiet else 1,
                      desc="ssmn-rl recall")
    first = evaluate()
    result, _ = trainer.run(model, batches, steps_per_epoch=args.iterations,
                            extra=lambda: {"accuracy": evaluate()})
    hist = {"iteration": list(range(1, result.n_steps + 1)), "loss": result.step_losses,
            "eval_iteration": [0] + [rec["step"] for rec in result.history],
            "accuracy": [first] + [rec["accuracy"] for rec in result.history]}
    seconds = time.time() - start
    model.save(out / "model.ssmn")
    metrics = {"task": "delayed_recall", "window": args.window, "delay": delay, "n_values": args.values,
               "iterations": args.iterations, "train_seconds": round(seconds, 2),
               "final_accuracy": hist["accuracy"][-1], "chance": 1.0 / args.values,
               "final_loss": hist["loss"][-1], "seed": args.seed}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "config.json").write_text(json.dumps(model.config.to_dict(), indent=2))
    (out / "history.json").write_text(json.dumps(hist))
    plot_learning_curve(hist, out / "learning_curve.png", chance=1.0 / args.values)
    _, state = model.forward(Xe[:1], return_state=True)
    model.plot_synaptic_state(state, path=out / "synaptic_state.png")
    print(model.summary())
    print(f"held-out recall accuracy {metrics['final_accuracy']:.3f} (chance {metrics['chance']:.2f}) "
          f"after {args.iterations} iterations, {seconds:.1f}s")
    print(f"wrote {out}/: model.ssmn, learning_curve.png, synaptic_state.png, metrics.json, config.json, "
          "history.json")
    print(f"next: `{PROG} plot stream {out}` draws attention entropy and synaptic energy over a recall sequence")
    return 0


# ---------------------------------------------------------------------------------- info, plugins
def cmd_info(args) -> int:
    from ._kernels import ABI_VERSION
    from ._version import __version__

    if args.model is None:
        print(f"ssmn_rl {__version__}, C core ABI {ABI_VERSION}")
        return 0
    with warnings_as_lines("info"):
        print(_describe_file(pathlib.Path(args.model)))
    return 0


def _describe_file(path: pathlib.Path) -> str:
    """Summary of a model file (SSMN.save), an agent file (model.npz or best_model.npz of `ssmn-rl
    train`) or a run directory holding one of them (a train run's summary names its best model too)."""
    from .errors import ModelFileError
    from .model import SSMN
    from .serialization import read_npz_arrays

    best = None
    if path.is_dir():
        found = [path / n for n in ("model.npz", "best_model.npz", "model.ssmn") if (path / n).is_file()]
        if not found:
            raise ModelFileError(f"{str(path)!r} is a directory without model.npz (agent) or model.ssmn (model)")
        best = path / "best_model.npz" if found[0].name == "model.npz" and (path / "best_model.npz").is_file() \
            else None
        path = found[0]
    if "__metadata__" in read_npz_arrays(path, "model or agent"):
        from .agents.common.save_util import load_agent_file, summarize_agent_file
        text = summarize_agent_file(path)
        if best is not None:
            meta, _ = load_agent_file(best)
            text += (f"\nbest model (best deterministic evaluation during training): {best}, "
                     f"{int(meta.get('num_timesteps', 0)):,} env steps (`ssmn-rl info {best}` for its summary, "
                     f"`ssmn-rl evaluate {path.parent} --model best` to score it)")
        return text
    return SSMN.load(path).summary()


def _check_plugin(name: str) -> int:
    """``ssmn-rl plugins --check NAME``: run check_rule or check_variant; one line either way."""
    from .plugin_manager import describe, registry
    from .testing import check_rule, check_variant

    reg = registry()
    if name in reg.rules:
        item, check = reg.rules[name][0], check_rule
    elif name in reg.variants:
        item, check = reg.variants[name][0], check_variant
    else:
        return fail("plugins", f"--check {name!r}: no registered rule or variant has that name (rules: "
                               f"{sorted(reg.rules)}; variants: {sorted(reg.variants)})",
                    f"`{PROG} plugins` lists what is registered and which plugins failed to load")
    try:
        done = check(name)
    except AssertionError as e:
        lines = str(e).strip().splitlines() or [type(e).__name__]
        detail = next((ln.strip() for ln in lines[1:] if "error" in ln), "")
        return fail("plugins", lines[0] + (f" [{detail}]" if detail else ""),
                    f"run ssmn_rl.testing.{check.__name__}({name!r}) in Python for the full message", code=1)
    print(f"{describe(item)}: passed {len(done)} checks: {'; '.join(done)}")
    return 0


def cmd_plugins(args) -> int:
    from .plugin_manager import list_rules, list_variants, registry

    def table(rows, cols):
        widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in cols]
        lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()]
        lines += ["  ".join(str(r[c]).ljust(w) for c, w in zip(cols, widths)).rstrip() for r in rows]
        return "\n".join(lines)

    listed: list[str] = []  # failures shown in the table are not repeated as warnings
    with warnings_as_lines("plugins", skip=listed):
        failures = registry().failures
        listed.extend(f.message() for f in failures)
        if args.check is not None:
            return _check_plugin(args.check)
        print("Variants")
        print(table(list_variants(), ["name", "distribution", "version", "plugin", "doc"]))
        print("\nPlasticity rules")
        print(table(list_rules(), ["name", "distribution", "version", "plugin", "kernel", "gradient", "params"]))
        if failures:
            print("\nPlugins that failed to load (everything else works):")
            for f in failures:
                print("  " + f.message())
    return 0


# ---------------------------------------------------------------------------------- plot
_SOURCE_HINT = ("give a run directory of `ssmn-rl train` or `ssmn-rl recall`, an agent file (model.npz), "
                "a model file written by SSMN.save, or a directory written by SSMNLanguageModel.save")


def _load_source(path: pathlib.Path):
    """What `path` holds: ("agent", agent), ("recall", model, metrics), ("model", model) or ("lm", lm)."""
    from .errors import ModelFileError
    from .model import SSMN

    if path.is_dir():
        if (path / "language_model.json").is_file():
            from .text import SSMNLanguageModel
            return ("lm", SSMNLanguageModel.load(path))
        if (path / "model.npz").is_file():
            return _load_source(path / "model.npz")
        if (path / "model.ssmn").is_file():
            metrics = path / "metrics.json"
            meta = json.loads(metrics.read_text()) if metrics.is_file() else {}
            model = SSMN.load(path / "model.ssmn")
            return ("recall", model, meta) if meta.get("task") == "delayed_recall" else ("model", model)
        raise ModelFileError(f"{str(path)!r} holds no model.npz, model.ssmn or language_model.json")
    if not path.is_file():
        raise ModelFileError(f"{str(path)!r} does not exist")
    from .agents.common.save_util import load_agent_file
    try:
        meta, _ = load_agent_file(path)
    except ModelFileError:
        return ("model", SSMN.load(path))
    from .agents.cli import _agent_class
    if meta.get("algo") not in ("es", "ppo"):
        raise ModelFileError(f"{str(path)!r} holds an agent of unknown algorithm {meta.get('algo')!r}")
    if not meta.get("env_id"):
        raise ModelFileError(f"{str(path)!r} was trained on an unregistered environment, which `ssmn-rl plot` "
                             "cannot re-make. HINT: use ssmn_rl.plotting.episode_statistics(agent, env) "
                             "in Python")
    return ("agent", _agent_class(meta["algo"]).load(path))


def _read_numbers(path: pathlib.Path) -> np.ndarray:
    """A numeric table from .npy, .csv (commas) or whitespace-separated text; header rows at the top
    are skipped."""
    from .errors import InputError

    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    data = np.genfromtxt(path, delimiter="," if path.suffix == ".csv" else None, dtype=np.float64)
    data = data.reshape(len(data), -1) if data.ndim else data.reshape(1, 1)
    bad_rows = ~np.isfinite(data).all(axis=1)
    first = int(np.argmin(bad_rows)) if (~bad_rows).any() else len(data)
    if first == len(data):
        raise InputError(f"{str(path)!r} holds no numeric rows")
    return data[first:]


def _stream_of(source, args) -> dict:
    """Statistics (and title, labels, marks) of the stream `ssmn-rl plot stream/synapses` draws."""
    from .errors import InputError
    from .plotting import episode_statistics, stream_statistics

    kind = source[0]
    if kind == "agent":
        agent = source[1]
        stats = episode_statistics(agent, agent.env_id, seed=args.seed, max_steps=args.steps)
        stats["title"] = (f"{agent.algo_name.upper()} policy on {agent.env_id}: one episode "
                          f"(seed {args.seed}, return {stats['return']:.1f})")
        stats["model"] = agent.policy.model
        return stats
    if kind == "lm":
        lm = source[1]
        if args.input is not None:
            text = pathlib.Path(args.input).read_text(encoding="utf-8")[:args.steps]
            origin = f"the first {len(text)} characters of {args.input}"
        else:
            text = lm.generate("", args.steps, temperature=1.0, seed=args.seed)
            origin = f"{len(text)} characters it generated (seed {args.seed})"
        stats = stream_statistics(lm.model_, lm.tokenizer_.encode(text))
        stats.update(model=lm.model_, labels=["<bos>"] + list(text), title=f"language model reading {origin}")
        return stats
    model = source[1]
    if args.input is not None:
        X = _read_numbers(pathlib.Path(args.input))
        X = X[:args.steps, 0].astype(np.int64) if model.token_input else X[:args.steps]
        origin = f"{len(X)} steps of {args.input}"
    elif kind == "recall":
        from .tasks import delayed_recall
        meta = source[2]
        n, delay = int(meta["n_values"]), int(meta["delay"])
        X, y, _ = delayed_recall(1, delay, n, rng=args.seed)
        X = X[0]
        stats = stream_statistics(model, X)
        guess = int(stats["outputs"][-1].argmax())
        labels = [f"v{int(np.argmax(x[:n]))}" if x[:n].any() else "?" for x in X]
        labels[0] = f"store {labels[0]}"
        stats.update(model=model, labels=labels, marks={model.config.window_size - 0.5: "stored value leaves the window"},
                     title=f"delayed recall (window {model.config.window_size}, delay {delay}): "
                           f"stored value {int(y[0, -1])}, recalled {guess}")
        return stats
    elif model.token_input:
        X = np.random.default_rng(args.seed).integers(0, model.config.vocab_size, args.steps)
        origin = f"{args.steps} random tokens (seed {args.seed})"
    else:
        X = np.random.default_rng(args.seed).standard_normal((args.steps, model.config.input_dim))
        origin = f"{args.steps} steps of Gaussian noise (seed {args.seed})"
    if not model.token_input and (X.ndim != 2 or X.shape[1] != model.config.input_dim):
        raise InputError(f"--input must have {model.config.input_dim} columns (the model's input_dim), "
                         f"got shape {X.shape}")
    stats = stream_statistics(model, X)
    stats.update(model=model, title=f"{model.config.variant} SSMN reading {origin}")
    return stats


def _default_out(source: pathlib.Path, name: str) -> pathlib.Path:
    if source.is_dir():
        return source / f"{name}.png"
    return source.with_name(f"{source.stem}_{name}.png")


def cmd_plot(args) -> int:
    from . import plotting
    from .errors import SSMNError

    src = pathlib.Path(args.source)
    name = {"curve": "learning_curve", "synapses": "synaptic_state", "stream": "stream_statistics",
            "forecast": "forecast"}[args.kind]
    out = pathlib.Path(args.out) if args.out else _default_out(src, name)
    if not out.parent.is_dir():
        return fail(f"plot {args.kind}", f"the folder of --out {str(out)!r} does not exist",
                    f"create it first (mkdir -p {out.parent}) or pass another --out")
    try:
        if args.kind == "curve":
            title = None
            cfg = src / "config.json" if src.is_dir() else None
            baselines = None
            if cfg is not None and cfg.is_file() and (src / "logs").is_dir():
                c = json.loads(cfg.read_text())
                title = f"{str(c.get('algo', '')).upper()} on {c.get('env', '')}"
                if not args.no_baselines and c.get("env"):
                    from .agents.cli import _baselines
                    baselines = _baselines(c["env"])
            plotting.plot_learning_curve(src, out, title=title, baselines=baselines, dpi=args.dpi)
        elif args.kind == "forecast":
            _plot_forecast_cmd(src, out, args)
        else:
            stats = _stream_of(_load_source(src), args)
            if args.kind == "stream":
                plotting.plot_stream_statistics(stats, out, title=stats.get("title"), labels=stats.get("labels"),
                                                marks=stats.get("marks", ()), dpi=args.dpi)
            else:
                import matplotlib
                matplotlib.use("Agg")  # a command line draws files, never windows
                import matplotlib.pyplot as plt
                fig = stats["model"].plot_synaptic_state(stats["state"])
                fig.savefig(out, dpi=args.dpi)
                plt.close(fig)
    except FileNotFoundError as e:
        hint = {"curve": "give the run directory that `ssmn-rl train` or `ssmn-rl recall` printed",
                "forecast": "give a .npy, .csv or text file with one value of the series per row"}
        return fail(f"plot {args.kind}", e, hint.get(args.kind, _SOURCE_HINT))
    except (SSMNError, ValueError) as e:
        hint = {"synapses": _SOURCE_HINT, "stream": _SOURCE_HINT,
                "forecast": "give a .npy, .csv or text file with one value of the series per row; "
                            "--column picks the column of a table"}
        return fail(f"plot {args.kind}", e, hint.get(args.kind))
    print(f"wrote {out}")
    return 0


def _plot_forecast_cmd(src: pathlib.Path, out: pathlib.Path, args) -> None:
    from .errors import InputError
    from .estimators import SSMNForecaster
    from .plotting import plot_forecast

    if not src.is_file():
        raise FileNotFoundError(f"series file {str(src)!r} does not exist")
    data = _read_numbers(src)
    if not -data.shape[1] <= args.column < data.shape[1]:
        raise InputError(f"--column {args.column} is out of range: {str(src)!r} has {data.shape[1]} column(s)")
    y = data[:, args.column]
    if not np.isfinite(y).all():
        raise InputError(f"column {args.column} of {str(src)!r} has missing or non-numeric values after the header")
    if len(y) < args.test + 2 * args.lags + 10:
        raise InputError(f"the series has {len(y)} values: too short to hold out --test {args.test} "
                         f"with --lags {args.lags}")
    train, test = y[:-args.test], y[-args.test:]
    print(f"fitting SSMNForecaster(lags={args.lags}, differences={args.differences}, hidden_dim={args.hidden}) "
          f"on {len(train)} values, forecasting the last {len(test)} ...", flush=True)
    t0 = time.time()
    reg = SSMNForecaster.default_regressor(hidden_dim=args.hidden, window_size=args.window)
    f = SSMNForecaster(lags=args.lags, differences=args.differences, regressor=reg,
                       random_state=args.seed).fit(train)
    print(f"fitted in {time.time() - t0:.1f} s", flush=True)
    plot_forecast(train, test, f, out, context=args.context, dpi=args.dpi)


def _add_plot_parser(sub) -> None:
    from .plotting import DPI

    p = add_parser(sub, "plot", "draw learning curves, the synaptic state, stream statistics or forecasts",
                   epilog="examples:\n"
                          "  ssmn-rl plot curve runs/<run dir>          # learning curve of a train or recall run\n"
                          "  ssmn-rl plot synapses runs/recall          # W_f heat map + eigenvalues\n"
                          "  ssmn-rl plot stream model.ssmn --steps 300  # attention entropy, energy\n"
                          "  ssmn-rl plot forecast series.csv --test 100 # SSMNForecaster vs truth\n"
                          "Each writes a PNG (next to its source unless --out says otherwise).")
    kinds = p.add_subparsers(dest="kind", required=True, metavar="KIND", parser_class=Parser)

    def common(q, source_help):
        q.add_argument("source", help=source_help)
        q.add_argument("--out", default=None,
                       help="PNG to write (default: SOURCE/<kind>.png for a directory, "
                            "<file stem>_<kind>.png beside a file)")
        q.add_argument("--dpi", type=positive_int, default=DPI, help="resolution of the PNG")

    c = add_parser(kinds, "curve", "learning curve of a run directory (train: returns; recall: loss and accuracy)")
    common(c, "run directory of `ssmn-rl train` or `ssmn-rl recall`, or its progress.csv / history.json")
    c.add_argument("--no-baselines", action="store_true",
                   help="leave out the reference lines of the random and memory-less policies (agent runs "
                        "on ssmn/ envs; 20 episodes each)")
    models = ("run directory (train or recall), agent .npz, SSMN model file, or SSMNLanguageModel directory")
    for kind, text in (("synapses", "heat map and eigenvalue spectrum of the fast weights W_f after a stream"),
                       ("stream", "attention entropy, synaptic energy and update magnitude over a stream")):
        q = add_parser(kinds, kind, text,
                       description=text[0].upper() + text[1:] + ". The stream is one episode for an agent, a "
                       "delayed-recall sequence for a recall run, --input (or noise / random tokens) for a "
                       "model file, and --input text (or the model's own samples) for a language model.")
        common(q, models)
        q.add_argument("--steps", type=positive_int, default=500,
                       help="length of the stream (for an agent: at most this many steps of the episode)")
        q.add_argument("--input", default=None,
                       help="file to stream instead of the default: numbers (.npy, .csv or whitespace text, "
                            "one step per row) for a model, a text file for a language model "
                            "(default: see above)")
        q.add_argument("--seed", type=non_negative_int, default=0, help="seed of the episode or generated input")
    fc = add_parser(kinds, "forecast", "fit an SSMNForecaster on a series and plot its forecasts against the truth",
                    description="Fit an SSMNForecaster on all but the last --test values of a series and plot "
                    "the recursive forecast of those values and the rolling one-step forecasts against them.")
    common(fc, "series file: .npy, .csv or whitespace text, one value per row (header rows are skipped)")
    fc.add_argument("--column", type=int, default=-1, help="column of the table that holds the series")
    fc.add_argument("--test", type=positive_int, default=100, help="values held out at the end and forecast")
    fc.add_argument("--lags", type=positive_int, default=8, help="past values in each input row")
    fc.add_argument("--differences", type=int, choices=(0, 1), default=0, help="1 models first differences (trends)")
    fc.add_argument("--hidden", type=positive_int, default=64, help="hidden width H of the SSMN")
    fc.add_argument("--window", type=positive_int, default=8, help="attention window w")
    fc.add_argument("--context", type=positive_int, default=200, help="fitted values drawn before the forecast")
    fc.add_argument("--seed", type=non_negative_int, default=0, help="random_state of the forecaster")
    p.set_defaults(func=cmd_plot)


# ---------------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, formatter_class=HelpFormatter,
               description="Sparse-Stream Memory Networks: window attention plus plastic fast weights.",
               epilog="start here:\n"
                      "  ssmn-rl train --out runs            # the quickstart's main job (ES on StatelessCartPole)\n"
                      "  ssmn-rl evaluate runs/<run dir>     # score a trained agent again\n"
                      "  ssmn-rl plot curve runs/<run dir>   # pictures, see `ssmn-rl plot --help`\n"
                      "`ssmn-rl COMMAND --help` lists a command's options with their defaults.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    from .agents.cli import add_subcommands as add_agent_subcommands

    add_agent_subcommands(sub)
    r = add_parser(sub, "recall", "train an SSMN on delayed recall beyond its attention window",
                   description="Train an SSMN (BPTT + Adam) to recall a value shown 3 attention windows earlier, "
                               "which only its plastic fast weights can carry, and write a run directory.")
    r.add_argument("--out", default="runs/recall", help="run directory to write")
    r.add_argument("--window", type=positive_int, default=4, help="attention window w (the delay is 3w)")
    r.add_argument("--values", type=positive_int, default=4, help="number of distinct values to recall")
    r.add_argument("--hidden", type=positive_int, default=32, help="hidden width H")
    r.add_argument("--iterations", type=positive_int, default=300, help="Adam steps")
    r.add_argument("--batch", type=positive_int, default=64, help="sequences per step")
    r.add_argument("--lr", type=positive_float, default=0.01, help="Adam learning rate")
    r.add_argument("--eval-every", type=positive_int, default=10, help="iterations between held-out evaluations")
    r.add_argument("--seed", type=non_negative_int, default=0, help="seed of parameters and data")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_recall)
    _add_plot_parser(sub)
    pl = add_parser(sub, "plugins", "list registered variants and plasticity rules, and where they come from",
                    epilog="examples:\n"
                           "  ssmn-rl plugins               # the tables, then the plugins that failed to load\n"
                           "  ssmn-rl plugins --check bcm   # ssmn_rl.testing.check_rule('bcm'); exit 1 on failure")
    pl.add_argument("--check", metavar="NAME", default=None,
                    help="run ssmn_rl.testing.check_rule (or check_variant) on the registered rule (or variant) "
                         "NAME instead of listing; prints one line, exits 1 when a check fails (default: none)")
    pl.set_defaults(func=cmd_plugins)
    i = add_parser(sub, "info", "show the build, or summarise a model file or an agent file")
    i.add_argument("model", nargs="?", default=None,
                   help="a model file written by SSMN.save, an agent file (the model.npz of `ssmn-rl train`) "
                        "or a run directory holding one (default: none, show the build)")
    i.set_defaults(func=cmd_info)
    return p


def main(argv=None) -> int:
    from .errors import ModelFileError, SSMNError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ModelFileError as e:
        return fail(args.command, e, "check the path; model files are written by SSMN.save, `ssmn-rl recall` "
                                     "(model.ssmn) and `ssmn-rl train` (model.npz, an agent file).", code=1)
    except SSMNError as e:
        return fail(args.command, e, code=1)


if __name__ == "__main__":
    sys.exit(main())
