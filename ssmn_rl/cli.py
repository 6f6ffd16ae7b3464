"""The ``ssmn-rl`` command line: train the memory demo, inspect model files, show build info.

``ssmn-rl recall`` is the quickstart's main job: it trains an SSMN by BPTT + Adam on a delayed
recall task whose answer lies three attention windows in the past (only the plastic fast weights
can carry it), then writes a run directory with the model, metrics, a learning curve and a
picture of the synaptic state.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np


def _progress(it: int, total: int, start: float, text: str) -> None:
    done = it / total
    elapsed = time.time() - start
    eta = elapsed / done - elapsed if done > 0 else 0.0
    bar = "#" * int(30 * done)
    sys.stderr.write(f"\r[{bar:<30}] {it}/{total} {text} elapsed {elapsed:5.1f}s ETA {eta:5.1f}s")
    sys.stderr.flush()


def _plot_curve(history: dict, path: pathlib.Path, chance: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(history["iteration"], history["loss"])
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("cross-entropy (nats)")
    ax1.set_yscale("log")
    ax1.set_title("training loss")
    ax2.plot(history["eval_iteration"], history["accuracy"], marker="o")
    ax2.axhline(chance, ls="--", c="gray", label=f"chance ({chance:.2f})")
    ax2.set_ylim(0, 1.02)
    ax2.set_xlabel("iteration")
    ax2.set_ylabel("recall accuracy (held-out)")
    ax2.set_title("recall of a value 3 windows back")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def cmd_recall(args) -> int:
    from .model import SSMN
    from .optim import Adam
    from .tasks import delayed_recall

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    delay = 3 * args.window
    model = SSMN("custom_split", input_dim=args.values + 2, hidden_dim=args.hidden, output_dim=args.values,
                 window_size=args.window, n_layers=2, plastic_ratio=0.5, plasticity_eta=0.5,
                 decay_lambda=0.01, alpha=1.0, seed=args.seed)
    opt = Adam(model.n_parameters, lr=args.lr, max_grad_norm=1.0)
    rng = np.random.default_rng(args.seed)
    Xe, ye, _ = delayed_recall(1000, delay, args.values, rng=args.seed + 1)
    hist = {"iteration": [], "loss": [], "eval_iteration": [], "accuracy": []}
    start = time.time()

    def evaluate() -> float:
        return float((model.forward(Xe)[:, -1].argmax(-1) == ye[:, -1]).mean())

    hist["eval_iteration"].append(0)
    hist["accuracy"].append(evaluate())
    for it in range(1, args.iterations + 1):
        X, y, mask = delayed_recall(args.batch, delay, args.values, rng=rng)
        loss, grad = model.value_and_grad(X, y, loss="cross_entropy", mask=mask)
        model.set_parameters(opt.step(model.get_parameters(), grad))
        hist["iteration"].append(it)
        hist["loss"].append(loss)
        if it % args.eval_every == 0 or it == args.iterations:
            hist["eval_iteration"].append(it)
            hist["accuracy"].append(evaluate())
            if not args.quiet:
                _progress(it, args.iterations, start, f"loss {loss:.4f} acc {hist['accuracy'][-1]:.3f}")
    if not args.quiet:
        sys.stderr.write("\n")
    seconds = time.time() - start
    model.save(out / "model.ssmn")
    _plot_curve(hist, out / "learning_curve.png", 1.0 / args.values)
    _, state = model.forward(Xe[:1], return_state=True)
    model.plot_synaptic_state(state, path=out / "synaptic_state.png")
    metrics = {"task": "delayed_recall", "window": args.window, "delay": delay, "n_values": args.values,
               "iterations": args.iterations, "train_seconds": round(seconds, 2),
               "final_accuracy": hist["accuracy"][-1], "chance": 1.0 / args.values,
               "final_loss": hist["loss"][-1]}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "config.json").write_text(json.dumps(model.config.to_dict(), indent=2))
    (out / "history.json").write_text(json.dumps(hist))
    print(model.summary())
    print(f"held-out recall accuracy {metrics['final_accuracy']:.3f} (chance {metrics['chance']:.2f}) "
          f"after {args.iterations} iterations, {seconds:.1f}s")
    print(f"wrote {out}/: model.ssmn, learning_curve.png, synaptic_state.png, metrics.json, config.json")
    return 0


def cmd_info(args) -> int:
    from . import __version__
    from ._kernels import ABI_VERSION
    from .model import SSMN

    if args.model is None:
        print(f"ssmn_rl {__version__}, C core ABI {ABI_VERSION}")
        return 0
    print(SSMN.load(args.model).summary())
    return 0


def cmd_plugins(args) -> int:
    from .plugin_manager import list_rules, list_variants, registry

    def table(rows, cols):
        widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in cols]
        lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()]
        lines += ["  ".join(str(r[c]).ljust(w) for c, w in zip(cols, widths)).rstrip() for r in rows]
        return "\n".join(lines)

    print("Variants")
    print(table(list_variants(), ["name", "distribution", "version", "plugin", "doc"]))
    print("\nPlasticity rules")
    print(table(list_rules(), ["name", "distribution", "version", "plugin", "kernel", "gradient", "params"]))
    failures = registry().failures
    if failures:
        print("\nPlugins that failed to load (everything else works):")
        for f in failures:
            print("  " + f.message())
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ssmn-rl", description="Sparse-Stream Memory Networks.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("recall", help="train an SSMN on delayed recall beyond its attention window",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    r.add_argument("--out", default="runs/recall", help="run directory to write")
    r.add_argument("--window", type=int, default=4, help="attention window w (the delay is 3w)")
    r.add_argument("--values", type=int, default=4, help="number of distinct values to recall")
    r.add_argument("--hidden", type=int, default=32, help="hidden width H")
    r.add_argument("--iterations", type=int, default=300, help="Adam steps")
    r.add_argument("--batch", type=int, default=64, help="sequences per step")
    r.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    r.add_argument("--eval-every", type=int, default=10, help="iterations between held-out evaluations")
    r.add_argument("--seed", type=int, default=0, help="seed of parameters and data")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_recall)
    from .agents.cli import add_subcommands as add_agent_subcommands

    add_agent_subcommands(sub)
    pl = sub.add_parser("plugins", help="list registered variants and plasticity rules, and where they come from")
    pl.set_defaults(func=cmd_plugins)
    i = sub.add_parser("info", help="show the build, or summarise a model file",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    i.add_argument("model", nargs="?", default=None, help="path of a saved model")
    i.set_defaults(func=cmd_info)
    return p


def main(argv=None) -> int:
    from .errors import SSMNError

    args = build_parser().parse_args(argv)
    for name in ("window", "values", "hidden", "iterations", "batch", "eval_every"):
        if getattr(args, name, 1) < 1:
            print(f"ssmn-rl: error: --{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}",
                  file=sys.stderr)
            return 2
    try:
        return args.func(args)
    except SSMNError as e:
        print(f"ssmn-rl: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
