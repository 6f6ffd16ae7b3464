"""The agents' benchmark suite: SSMN agents with their defaults beside sb3-contrib ``RecurrentPPO``.

Every agent trains on every task for the same number of env steps (``TASK_STEPS`` x
``steps_scale``), then its final policy is scored on ``eval_episodes`` deterministic episodes
(:func:`ssmn_rl.agents.evaluate_policy`, evaluation seed ``EVAL_SEED``, the same episodes for every
agent). Wall time is construction + training (evaluation excluded). Each run happens in its own
process (``jobs`` at a time), single-threaded.

Agents (``ALGOS``):

- ``ssmn-ppo`` / ``ssmn-es``: ``PPO`` / ``ES`` with exactly the settings ``ssmn-rl train`` uses
  (:func:`ssmn_rl.agents.hyperparams.defaults_for`, ``total_timesteps`` aside).
- ``recurrent-ppo``: sb3-contrib ``RecurrentPPO("MlpLstmPolicy")`` with rl-zoo3's ``ppo_lstm``
  CartPoleNoVel settings on every task (8 envs, n_steps 32, batch 256, 20 epochs, gamma 0.98,
  lambda 0.8, lr and clip linear from 1e-3 and 0.2, LSTM 64 with a separate critic LSTM), on CPU
  with one torch thread: one generic setting, as ours are.
- ``recurrent-ppo-small``: the same scaled down to LSTMs of 18 units and 18-18 heads, about the
  parameter count of SSMN-PPO's default policy (the within-lifetime comparison at equal parameters).
- ``ssmn-ppo-rho0``, ``ssmn-ppo-plain``, ``ssmn-ppo-modulated``: ``ssmn-ppo`` with no plastic layer
  (``custom_split``, ``plastic_ratio=0``), with a plastic layer without neuromodulation, and with a
  neuromodulated plastic layer (the within-lifetime comparison of the issue).

Reference policies (random for every task; best memory-less and oracle for the ``ssmn/`` tasks,
from :mod:`ssmn_rl.envs.baselines`) are scored on the same evaluation episodes.

``--include REPORT.json`` adds an earlier report's runs of the agents not run now (same
``--steps-scale`` and ``--eval-episodes``), so a long baseline run can sit beside a re-run of ours;
every included run keeps ``included_from``.

``python scripts/bench_suite.py`` and ``ssmn-rl bench-suite`` run :func:`main`.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import sys
import time

import numpy as np

#: Tasks and the env steps each agent gets on them at ``steps_scale=1``.
TASK_STEPS = {
    "ssmn/StatelessCartPole-v0": 100_000,
    "ssmn/NoisyStatelessCartPole-v0": 100_000,
    "ssmn/StatelessPendulum-v0": 100_000,
    "ssmn/RepeatFirst-v0": 100_000,
    "ssmn/RepeatPrevious-v0": 100_000,
    "ssmn/CountRecall-v0": 100_000,
    "ssmn/KeyValueRecall-v0": 100_000,
    "ssmn/ShiftingCartPole-v0": 100_000,
    "ssmn/RegimeStream-v0": 100_000,
    "ssmn/CueReward-v0": 100_000,
    "CartPole-v1": 100_000,
    "Acrobot-v1": 100_000,
    "Pendulum-v1": 100_000,
    "MountainCarContinuous-v0": 100_000,
}
TASKS = tuple(TASK_STEPS)
EVAL_SEED = 10_000
BASELINE = "recurrent-ppo"
OURS = "ssmn-ppo"
#: name -> (kind, SSMN variant, policy_kwargs over the defaults)
ALGOS = {
    "ssmn-ppo": ("ppo", "standard", {}),
    "ssmn-es": ("es", "standard", {}),
    "recurrent-ppo": ("recurrent-ppo", None, None),
    "recurrent-ppo-small": ("recurrent-ppo", None, {"lstm_hidden_size": 18, "net_arch": [18, 18]}),
    "ssmn-ppo-rho0": ("ppo", "custom_split", {"plastic_ratio": 0.0}),
    "ssmn-ppo-plain": ("ppo", "standard", {"neuromodulation": False}),
    "ssmn-ppo-modulated": ("ppo", "standard", {"neuromodulation": True}),
}
DEFAULT_ALGOS = ("ssmn-ppo", "ssmn-es", "recurrent-ppo")
#: rl-zoo3's ppo_lstm settings for CartPoleNoVel, used on every task.
RECURRENT_PPO_SETTINGS = {"n_envs": 8, "n_steps": 32, "batch_size": 256, "n_epochs": 20, "gamma": 0.98,
                          "gae_lambda": 0.8, "learning_rate": "lin_1e-3", "clip_range": "lin_0.2", "ent_coef": 0.0,
                          "lstm_hidden_size": 64, "enable_critic_lstm": True}


# ---------------------------------------------------------------------------------- one run
def _lin(v: float):
    return lambda progress_remaining: progress_remaining * v


def _run_recurrent_ppo(task: str, seed: int, steps: int, overrides: dict | None = None):
    import torch
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    s = {**RECURRENT_PPO_SETTINGS, **(overrides or {})}
    venv = make_vec_env(task, n_envs=s["n_envs"], seed=seed, env_kwargs={"render_mode": None})
    model = RecurrentPPO("MlpLstmPolicy", venv, n_steps=s["n_steps"], batch_size=s["batch_size"],
                         n_epochs=s["n_epochs"], gamma=s["gamma"], gae_lambda=s["gae_lambda"],
                         learning_rate=_lin(1e-3), clip_range=_lin(0.2), ent_coef=s["ent_coef"],
                         policy_kwargs={"lstm_hidden_size": s["lstm_hidden_size"],
                                        "enable_critic_lstm": s["enable_critic_lstm"],
                                        **({"net_arch": s["net_arch"]} if "net_arch" in s else {})},
                         seed=seed, device="cpu")
    model.learn(steps)
    return model, int(model.num_timesteps), int(sum(p.numel() for p in model.policy.parameters()))


def _run_ours(algo: str, task: str, seed: int, steps: int, policy_kwargs: dict, algo_kwargs: dict):
    from .es import ES
    from .hyperparams import defaults_for
    from .ppo import PPO

    kind, variant, extra_policy = ALGOS[algo]
    kw = defaults_for(task, kind)
    kw.pop("total_timesteps")
    kw.update(algo_kwargs)
    pk = {**kw.pop("policy_kwargs", {}), **extra_policy, **policy_kwargs}
    agent = {"ppo": PPO, "es": ES}[kind](variant, task, seed=seed, policy_kwargs=pk, **kw)
    agent.learn(steps)
    return agent, int(agent.num_timesteps), int(agent.policy.n_parameters)


def run_one(job: dict) -> dict:
    """Train ``job["algo"]`` on ``job["task"]`` for ``job["steps"]`` env steps with ``job["seed"]``
    and score it; ``job`` may add ``policy_kwargs`` / ``algo_kwargs`` for the SSMN agents."""
    import ssmn_rl  # noqa: F401  (registers the ssmn/ envs)
    from .evaluation import evaluate_policy

    algo, task, seed, steps = job["algo"], job["task"], int(job["seed"]), int(job["steps"])
    t0 = time.perf_counter()
    if ALGOS[algo][0] == "recurrent-ppo":
        agent, done, n_params = _run_recurrent_ppo(task, seed, steps, ALGOS[algo][2])
    else:
        agent, done, n_params = _run_ours(algo, task, seed, steps, job.get("policy_kwargs") or {},
                                          job.get("algo_kwargs") or {})
    seconds = time.perf_counter() - t0
    rewards, _ = evaluate_policy(agent, task, job["eval_episodes"], deterministic=True,
                                 return_episode_rewards=True, seed=EVAL_SEED)
    return {"algo": algo, "task": task, "seed": seed, "steps": done, "seconds": seconds,
            "mean_return": float(np.mean(rewards)), "std_return": float(np.std(rewards)),
            "n_parameters": n_params, "policy_kwargs": job.get("policy_kwargs") or {},
            "algo_kwargs": job.get("algo_kwargs") or {}}


def reference_returns(task: str, n_episodes: int) -> dict:
    """Mean returns of the reference policies on the evaluation episodes: random for every task,
    memory-less and oracle where :mod:`ssmn_rl.envs.baselines` has them (the ``ssmn/`` tasks)."""
    import gymnasium as gym

    from ..envs.baselines import POLICY_NAMES, evaluate_policy, make_policy

    out = {}
    for name in POLICY_NAMES:
        env = gym.make(task)
        try:
            policy = make_policy(env, name, seed=EVAL_SEED)
        except ValueError:  # no memory-less / oracle policy for this (non-ssmn) task
            env.close()
            continue
        out[name] = float(np.mean(evaluate_policy(env, policy, n_episodes, seed=EVAL_SEED)))
        env.close()
    return out


def _init_worker():
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"


def run_jobs(jobs: list, n_jobs: int, log=print) -> list:
    """Run every job (in `n_jobs` processes; 1: in this process) and return the results in order."""
    results = [None] * len(jobs)
    if n_jobs <= 1:
        for i, job in enumerate(jobs):
            results[i] = run_one(job)
            log(_progress_line(results[i], i + 1, len(jobs)))
        return results
    import concurrent.futures as cf
    import multiprocessing as mp

    with cf.ProcessPoolExecutor(n_jobs, mp_context=mp.get_context("spawn"), initializer=_init_worker) as ex:
        futures = {ex.submit(run_one, job): i for i, job in enumerate(jobs)}
        for k, fut in enumerate(cf.as_completed(futures), 1):
            results[futures[fut]] = fut.result()
            log(_progress_line(results[futures[fut]], k, len(jobs)))
    return results


def _progress_line(r: dict, k: int, n: int) -> str:
    return (f"[{k}/{n}] {r['algo']:<18} {r['task']:<32} seed {r['seed']}: return {r['mean_return']:9.3f} "
            f"in {r['seconds']:7.1f} s ({r['steps']:,} steps)")


# ---------------------------------------------------------------------------------- summary
def summarise(results: list, references: dict) -> dict:
    """Per task and algo: mean and std over seeds of the final mean return, mean wall seconds;
    then the acceptance checks of ``OURS`` against ``BASELINE`` and the memory-less reference."""
    per = {}
    for r in results:
        per.setdefault(r["task"], {}).setdefault(r["algo"], []).append(r)
    table = {}
    for task, algos in per.items():
        table[task] = {}
        for algo, runs in algos.items():
            rets = [r["mean_return"] for r in runs]
            table[task][algo] = {"mean": float(np.mean(rets)), "std": float(np.std(rets)), "seeds": len(runs),
                                 "returns": rets, "seconds": float(np.mean([r["seconds"] for r in runs])),
                                 "n_parameters": runs[0]["n_parameters"]}
    checks = {}
    if any(OURS in t and BASELINE in t for t in table.values()):
        near, wall_ours, wall_base, rows = 0, 0.0, 0.0, 0
        for task, t in table.items():
            if OURS in t and BASELINE in t:
                rows += 1
                near += t[OURS]["mean"] >= t[BASELINE]["mean"] - t[BASELINE]["std"]
                wall_ours += t[OURS]["seconds"]
                wall_base += t[BASELINE]["seconds"]
        checks["within_one_std_of_recurrent_ppo"] = {"tasks": int(near), "of": rows}
        checks["wall_time_ratio"] = wall_ours / wall_base if wall_base > 0 else None
    beats = {}
    for task, t in table.items():
        ref = references.get(task, {})
        name = "memoryless" if "memoryless" in ref else "random"
        if OURS in t and name in ref:
            beats[task] = {"reference": name, "value": ref[name], "beaten": t[OURS]["mean"] > ref[name]}
    if beats:
        checks["beats_memoryless"] = beats
    return {"table": table, "checks": checks}


def format_table(summary: dict, references: dict, algos: list) -> str:
    head = f"{'task':<32}" + "".join(f"{a:>22}" for a in algos) + f"{'random':>10}{'memoryless':>12}{'oracle':>10}"
    lines = [head, "-" * len(head)]
    for task, t in summary["table"].items():
        row = f"{task:<32}"
        for a in algos:
            row += (f"{t[a]['mean']:>10.3f} ±{t[a]['std']:<7.3f}{t[a]['seconds']:>4.0f}s" if a in t
                    else f"{'-':>22}")
        ref = references.get(task, {})
        row += "".join(f"{ref[k]:>{w}.3f}" if k in ref else f"{'-':>{w}}"
                       for k, w in (("random", 10), ("memoryless", 12), ("oracle", 10)))
        lines.append(row)
    c = summary["checks"]
    if "within_one_std_of_recurrent_ppo" in c:
        w = c["within_one_std_of_recurrent_ppo"]
        ratio = c["wall_time_ratio"]
        lines.append(f"{OURS} reaches {BASELINE} (or is within one std of it) on {w['tasks']}/{w['of']} tasks; "
                     f"wall time {OURS} / {BASELINE} = {ratio:.3f}" if ratio is not None else "")
    if "beats_memoryless" in c:
        b = c["beats_memoryless"]
        missed = [k for k, v in b.items() if not v["beaten"]]
        lines.append(f"{OURS} beats the memory-less (or random) reference on {len(b) - len(missed)}/{len(b)} tasks"
                     + (f"; not on {', '.join(missed)}" if missed else ""))
    return "\n".join(lines)


def plot(summary: dict, references: dict, algos: list, path) -> None:
    """One panel per task: each algo's mean final return (error bar: std over seeds) and the
    reference policies as horizontal lines."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(summary["table"])
    cols = min(4, len(tasks))
    rows = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, task in zip(axes.flat, tasks):
        t = summary["table"][task]
        for k, a in enumerate(algos):
            if a in t:
                ax.bar(k, t[a]["mean"], yerr=t[a]["std"], color=colors[k % len(colors)], capsize=3)
        for name, style in (("random", ":"), ("memoryless", "--"), ("oracle", "-")):
            if name in references.get(task, {}):
                ax.axhline(references[task][name], color="gray", linestyle=style, linewidth=1, label=name)
        ax.set_title(task, fontsize=9)
        ax.set_xticks(range(len(algos)), algos, rotation=30, fontsize=7, ha="right")
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower right", fontsize=8)
    fig.suptitle("final mean return (deterministic episodes), mean ± std over seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------------------------- command line
def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"must be a JSON object, got {text!r} ({e})")
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return v


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..cli_helpers import non_negative_int, positive_int

    p.add_argument("--tasks", nargs="+", default=list(TASKS), metavar="ENV_ID",
                   help=f"Gymnasium ids to run (default: the {len(TASKS)} suite tasks: {', '.join(TASKS)})")
    p.add_argument("--algos", nargs="+", default=list(DEFAULT_ALGOS), choices=list(ALGOS), metavar="ALGO",
                   help=f"agents to run, of {', '.join(ALGOS)} (default: {' '.join(DEFAULT_ALGOS)})")
    p.add_argument("--seeds", nargs="+", type=non_negative_int, default=[0, 1, 2],
                   help="training seeds of every (agent, task) (default: 0 1 2)")
    p.add_argument("--steps-scale", type=_positive_float, default=1.0,
                   help="multiplies every task's env steps (100,000 each; default: 1.0)")
    p.add_argument("--eval-episodes", type=positive_int, default=10,
                   help="deterministic evaluation episodes of each final policy (default: 10)")
    p.add_argument("--jobs", type=positive_int, default=1,
                   help="runs at a time, each in its own single-threaded process (default: 1, in this process)")
    p.add_argument("--policy-kwargs", type=_json_object, default={},
                   help="SSMN settings over the defaults for every SSMN agent, as JSON (default: {})")
    p.add_argument("--algo-kwargs", type=_json_object, default={},
                   help="constructor arguments over the defaults for every SSMN agent, as JSON (default: {})")
    p.add_argument("--include", nargs="+", default=[], metavar="REPORT",
                   help="earlier suite reports (JSON) whose runs of the agents not run now join this "
                        "report's table, e.g. a long RecurrentPPO run; they must have the same "
                        "--steps-scale and --eval-episodes (default: none)")
    p.add_argument("--out", default="bench_results",
                   help="folder of the JSON report and the plot (default: bench_results)")


def included_results(path, args) -> list:
    """The runs of `path` (an earlier report) of agents that `args` does not run, on its tasks, each
    marked with ``included_from``; refuses a report of other steps or evaluation episodes."""
    try:
        report = json.loads(pathlib.Path(path).read_text())
        settings, results = report["settings"], report["results"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"--include: {path} is not a readable suite report ({e})") from None
    for key, want in (("steps_scale", args.steps_scale), ("eval_episodes", args.eval_episodes),
                      ("eval_seed", EVAL_SEED)):
        if settings.get(key) != want:
            raise ValueError(f"--include: {path} was run with {key}={settings.get(key)!r}, this run has {want!r}")
    return [{**r, "included_from": str(path)} for r in results
            if r["algo"] not in args.algos and r["task"] in args.tasks]


def run_suite(args, log=print) -> dict:
    unknown = [t for t in args.tasks if t not in TASK_STEPS]
    import gymnasium as gym

    import ssmn_rl  # noqa: F401
    for t in unknown:
        if t not in gym.registry:
            raise ValueError(f"--tasks: {t!r} is not a registered Gymnasium id")
    if any(ALGOS[a][0] == "recurrent-ppo" for a in args.algos):
        try:
            import sb3_contrib  # noqa: F401
        except ImportError:
            raise ValueError("--algos recurrent-ppo needs sb3-contrib (pip install 'sb3-contrib>=2.3')") from None
    included = [r for path in args.include for r in included_results(path, args)]
    jobs = []
    for task in args.tasks:
        steps = max(1, int(round(TASK_STEPS.get(task, 100_000) * args.steps_scale)))
        for algo in args.algos:
            ours = ALGOS[algo][0] != "recurrent-ppo"  # --policy-kwargs / --algo-kwargs are for our agents
            for seed in args.seeds:
                jobs.append({"algo": algo, "task": task, "seed": seed, "steps": steps,
                             "eval_episodes": args.eval_episodes,
                             "policy_kwargs": args.policy_kwargs if ours else {},
                             "algo_kwargs": args.algo_kwargs if ours else {}})
    log(f"{len(jobs)} runs: {len(args.tasks)} tasks x {len(args.algos)} agents x {len(args.seeds)} seeds, "
        f"{args.jobs} at a time")
    t0 = time.perf_counter()
    results = run_jobs(jobs, args.jobs, log) + included
    references = {task: reference_returns(task, args.eval_episodes) for task in args.tasks}
    summary = summarise(results, references)
    report = {"settings": {"tasks": args.tasks, "algos": args.algos, "seeds": args.seeds,
                           "steps_scale": args.steps_scale, "task_steps": {t: TASK_STEPS.get(t, 100_000)
                                                                            for t in args.tasks},
                           "eval_episodes": args.eval_episodes, "eval_seed": EVAL_SEED,
                           "policy_kwargs": args.policy_kwargs, "algo_kwargs": args.algo_kwargs,
                           "recurrent_ppo": RECURRENT_PPO_SETTINGS, "jobs": args.jobs,
                           "included": list(args.include)},
              "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                          "cpus": os.cpu_count()},
              "total_seconds": time.perf_counter() - t0, "references": references,
              "results": results, **summary}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"suite_{stamp}.json").write_text(json.dumps(report, indent=2))
    algos = list(args.algos) + sorted({r["algo"] for r in included} - set(args.algos))
    plot(summary, references, algos, out / f"suite_{stamp}.png")
    log(format_table(summary, references, algos))
    log(f"report: {out / f'suite_{stamp}.json'}  plot: {out / f'suite_{stamp}.png'}")
    report["paths"] = {"json": str(out / f"suite_{stamp}.json"), "plot": str(out / f"suite_{stamp}.png")}
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="bench_suite.py", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        run_suite(args)
    except ValueError as e:
        p.error(str(e))
    return 0
