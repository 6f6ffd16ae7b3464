"""Stability against adaptability: how much of a Custom-Split SSMN policy should be plastic?

For every ``plastic_ratio`` (default 0, 0.2, 0.5, 0.8; with the default 5 layers that is 0, 1, 3
and 4 plastic layers) a Custom-Split policy (``policy="custom_split"``, all other settings the
agents' defaults: hidden 16, window 1, eta 1, lambda 0.3, alpha -1) is trained from scratch with
ES (``--algo ppo`` for recurrent PPO) on

- ``ssmn/StatelessCartPole-v0``: stationary dynamics, velocities hidden. Memory must be kept
  *stable* (the plastic layers are the only memory: with ``plastic_ratio=0`` the policy is
  memory-less);
- ``ssmn/ShiftingCartPole-v0``: the pole length, pole mass, gravity and its tilt are redrawn at
  random, unsignalled times (about every 150 steps, ``difficulty="medium"``). The policy must
  *adapt* within the episode;
- ``ssmn/CueReward-v0``: which of four new cues is rewarded is drawn every episode (Miconi et al.
  2019's cue-reward association): only learning within the episode helps (chance 0.5, an ideal
  learner about 0.975).

``--modulation plain neuromod`` also trains every plastic ratio > 0 with neuromodulated plasticity
(``neuromodulation=True, learned_decay=True``: the write strength and decay of each plastic layer
computed from its input at every step), next to the plain fixed-rate rule.

Each trained policy is then evaluated on ``--eval-episodes`` deterministic episodes (first reset
seeded with ``--eval-seed``), recording

- ``final_return``: the mean episode return;
- ``post_shift_return`` (ShiftingCartPole only): for every shift at least ``--window`` steps
  before the time limit, the reward collected in the ``--window`` steps that follow it (+1 per
  step survived, so at most ``--window``), averaged over all shifts; a shift is detected when the
  env's ``n_changes`` counter goes up during ``step`` (the new physics act from the next step);
- ``post_shift_fail``: the fraction of those shifts followed by a failure (termination) within the
  window.

StatelessCartPole has no shifts, so its post-shift columns are empty. Prints a markdown table
(mean and standard deviation over seeds), writes the JSON report (``--out``, default
``bench_results/bench_plasticity.json``) and a PNG plot (``--png``, default next to the JSON).

    python scripts/bench_plasticity.py            # 4 ratios x 2 envs x 3 seeds, ES
    python scripts/bench_plasticity.py --quick    # smoke run: 2 ratios, 1 seed, tiny budget
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import time

import gymnasium as gym
import numpy as np

import ssmn_rl  # noqa: F401  (registers the ssmn/ envs)
from ssmn_rl.agents import ES, PPO
from ssmn_rl.agents.hyperparams import defaults_for
from ssmn_rl.config import split_layers

ENVS = ("ssmn/StatelessCartPole-v0", "ssmn/ShiftingCartPole-v0", "ssmn/CueReward-v0")
MODULATION = {"plain": {}, "neuromod": {"neuromodulation": True, "learned_decay": True}}
RATIOS = (0.0, 0.2, 0.5, 0.8)


def make_agent(algo: str, env_id: str, ratio: float, n_layers: int, seed: int, population: int,
               modulation: str = "plain"):
    """A Custom-Split agent with `ratio` of `n_layers` plastic; per-env defaults of ``ssmn-rl train``."""
    kw = defaults_for(env_id, algo)
    kw.pop("total_timesteps")
    if algo == "es":
        kw["population_size"] = population
    policy_kwargs = {"plastic_ratio": float(ratio), "n_layers": int(n_layers), **MODULATION[modulation]}
    return {"es": ES, "ppo": PPO}[algo]("custom_split", env_id, seed=seed, policy_kwargs=policy_kwargs, **kw)


def evaluate(agent, env_id: str, n_episodes: int, window: int, seed: int) -> dict:
    """Deterministic episodes -> final return and the return in the `window` steps after each shift."""
    env = gym.make(env_id)
    limit = env.spec.max_episode_steps if env.spec is not None else None
    returns, post, fails = [], [], []
    try:
        for ep in range(n_episodes):
            obs, _ = env.reset(seed=seed if ep == 0 else None)
            base = env.unwrapped
            state, start, total, t, done = None, True, 0.0, 0, False
            shifts = []                      # steps after which the physics changed
            changes = getattr(base, "n_changes", None)
            while not done:
                action, state = agent.predict(obs, state=state, episode_start=np.array([start]), deterministic=True)
                obs, r, term, trunc, _ = env.step(action)
                total += float(r)
                t += 1
                start = False
                done = term or trunc
                now = getattr(base, "n_changes", None)
                if changes is not None and now is not None and now > changes:
                    shifts.append(t)
                changes = now
            returns.append(total)
            end, failed = t, bool(term)
            for s in shifts:
                if limit is not None and s + window > limit:
                    continue                 # the window would be cut by the time limit
                survived = min(end, s + window) - s
                post.append(float(survived))
                fails.append(bool(failed and end <= s + window))
    finally:
        env.close()
    return {"final_return": float(np.mean(returns)), "returns": returns,
            "post_shift_return": float(np.mean(post)) if post else None,
            "post_shift_fail": float(np.mean(fails)) if post else None, "n_shifts": len(post)}


def _mean_sd(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None, None
    return float(statistics.fmean(vals)), (float(statistics.stdev(vals)) if len(vals) > 1 else 0.0)


def summarise(runs: list) -> list:
    rows = []
    for env_id in dict.fromkeys(r["env"] for r in runs):
        keys = dict.fromkeys((r["plastic_ratio"], r["modulation"]) for r in runs if r["env"] == env_id)
        for ratio, modulation in keys:
            group = [r for r in runs if r["env"] == env_id and r["plastic_ratio"] == ratio
                     and r["modulation"] == modulation]
            row = {"env": env_id, "plastic_ratio": ratio, "modulation": modulation,
                   "n_plastic": group[0]["n_plastic"], "n_parameters": group[0]["n_parameters"],
                   "seeds": len(group)}
            for key in ("final_return", "post_shift_return", "post_shift_fail", "train_seconds"):
                row[key], row[key + "_sd"] = _mean_sd([r[key] for r in group])
            row["n_shifts"] = int(sum(r["n_shifts"] for r in group))
            rows.append(row)
    return rows


def _cell(mean, sd, spec):
    return "-" if mean is None else f"{mean:{spec}} ± {sd:{spec}}"


def print_table(rows: list, window: int) -> None:
    print(f"| env | plastic_ratio | plasticity | plastic layers | parameters | final return "
          f"| return in {window} steps after a shift | failed within {window} after a shift | shifts | train s |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['env']} | {r['plastic_ratio']:g} | {r['modulation'] if r['n_plastic'] else '-'} "
              f"| {r['n_plastic']} | {r['n_parameters']} "
              f"| {_cell(r['final_return'], r['final_return_sd'], '.1f')} "
              f"| {_cell(r['post_shift_return'], r['post_shift_return_sd'], '.1f')} "
              f"| {_cell(r['post_shift_fail'], r['post_shift_fail_sd'], '.2f')} "
              f"| {r['n_shifts']} | {r['train_seconds']:.1f} |")


def plot(rows: list, runs: list, window: int, path: pathlib.Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    lines = dict.fromkeys((r["env"], r["modulation"]) for r in rows)
    for k, (env_id, modulation) in enumerate(lines):
        # ratio 0 has no plastic layer: it starts both lines of its env
        env_rows = [r for r in rows if r["env"] == env_id and (r["modulation"] == modulation or r["n_plastic"] == 0)]
        x = [r["plastic_ratio"] for r in env_rows]
        ax.errorbar(x, [r["final_return"] for r in env_rows], yerr=[r["final_return_sd"] for r in env_rows],
                    marker="o", capsize=3, label=f"{env_id.split('/')[-1]} ({modulation})", color=f"C{k}",
                    ls="-" if modulation == "plain" else "--")
        pts = [r for r in runs if r["env"] == env_id and r["modulation"] == modulation]
        ax.scatter([r["plastic_ratio"] for r in pts], [r["final_return"] for r in pts], s=10, alpha=0.4, color=f"C{k}")
    ax.set_xlabel("plastic_ratio")
    ax.set_ylabel("mean episode return (deterministic; CueReward: fraction right)")
    ax.set_title("Final return (stability)")
    ax.legend()
    ax = axes[1]
    shift_rows = [r for r in rows if r["post_shift_return"] is not None]
    if shift_rows:
        ax2 = ax.twinx()
        handles = []
        for k, (env_id, modulation) in enumerate(dict.fromkeys((r["env"], r["modulation"]) for r in shift_rows)):
            env_rows = [r for r in shift_rows if r["env"] == env_id and r["modulation"] == modulation]
            x = [r["plastic_ratio"] for r in env_rows]
            name = f"{env_id.split('/')[-1]} ({modulation})"
            handles.append(ax.errorbar(x, [r["post_shift_return"] for r in env_rows],
                                       yerr=[r["post_shift_return_sd"] for r in env_rows], marker="o", capsize=3,
                                       label=f"{name}: return in the window (left)", color=f"C{2 * k + 2}"))
            handles += ax2.plot(x, [r["post_shift_fail"] for r in env_rows], "s--", color=f"C{2 * k + 3}",
                                label=f"{name}: failed in the window (right)")
        ax2.set_ylabel("fraction of shifts followed by a failure")
        ax2.set_ylim(0, 1)
        ax.set_ylim(0, window * 1.05)
        ax.legend(handles=handles, loc="lower left", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no shifts observed", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("plastic_ratio")
    ax.set_ylabel(f"return in the {window} steps after a shift")
    ax.set_title("Right after a shift (adaptability)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ratios", type=float, nargs="+", default=list(RATIOS), help="plastic_ratio values")
    ap.add_argument("--modulation", nargs="+", choices=list(MODULATION), default=["plain"],
                    help="plasticity of the plastic layers: fixed-rate rule and/or neuromodulated")
    ap.add_argument("--envs", nargs="+", default=list(ENVS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--algo", choices=["es", "ppo"], default="es")
    ap.add_argument("--timesteps", type=int, default=300_000, help="env steps per training run")
    ap.add_argument("--n-layers", type=int, default=5, help="layers of the Custom-Split policy (default 5)")
    ap.add_argument("--population", type=int, default=64, help="ES population size (default 64)")
    ap.add_argument("--eval-episodes", type=int, default=20)
    ap.add_argument("--eval-seed", type=int, default=10_000)
    ap.add_argument("--window", type=int, default=50, help="steps after a shift that count as 'right after'")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: ratios 0 and 0.5, seed 0, 4,096 steps, 3 evaluation episodes")
    ap.add_argument("--out", default=os.path.join("bench_results", "bench_plasticity.json"), help="JSON output path")
    ap.add_argument("--png", default=None, help="plot path (default: the JSON path with .png)")
    args = ap.parse_args(argv)
    if args.quick:
        args.ratios, args.seeds, args.timesteps, args.eval_episodes = [0.0, 0.5], args.seeds[:1], 4096, 3
    for name in ("timesteps", "n_layers", "eval_episodes", "window", "population"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    if any(not 0.0 <= r <= 1.0 for r in args.ratios):
        ap.error("--ratios must lie in [0, 1]")
    out = pathlib.Path(args.out)
    png = pathlib.Path(args.png) if args.png else out.with_suffix(".png")

    t_all = time.perf_counter()
    runs = []
    print(f"{args.algo.upper()}, custom_split with {args.n_layers} layers, {args.timesteps} steps per run, "
          f"{args.eval_episodes} evaluation episodes, window {args.window} steps after a shift", flush=True)
    for env_id in args.envs:
        for ratio in args.ratios:
            n_plastic = split_layers(args.n_layers, ratio)[1]
            for modulation in (args.modulation if n_plastic else args.modulation[:1]):
                for seed in args.seeds:
                    t0 = time.perf_counter()
                    agent = make_agent(args.algo, env_id, ratio, args.n_layers, seed, args.population, modulation)
                    agent.learn(args.timesteps)
                    train_s = time.perf_counter() - t0
                    ev = evaluate(agent, env_id, args.eval_episodes, args.window, args.eval_seed)
                    runs.append({"env": env_id, "plastic_ratio": ratio, "modulation": modulation,
                                 "n_plastic": n_plastic, "n_parameters": int(agent.policy.n_parameters),
                                 "seed": seed, "train_seconds": train_s, "train_steps": int(agent.num_timesteps),
                                 **ev})
                    post = "" if ev["post_shift_return"] is None else \
                        f", after a shift {ev['post_shift_return']:.1f} ({ev['n_shifts']} shifts)"
                    print(f"  {env_id} ratio {ratio:g} {modulation} seed {seed}: return {ev['final_return']:.1f}"
                          f"{post} [{train_s:.1f} s]", flush=True)
    rows = summarise(runs)
    wall = time.perf_counter() - t_all
    print()
    print_table(rows, args.window)
    print(f"\nwall time {wall:.1f} s")
    plot(rows, runs, args.window, png)
    report = {"meta": {"args": vars(args), "wall_seconds": wall, "python": sys.version.split()[0],
                       "platform": platform.platform(), "cpus": os.cpu_count(), "png": str(png)},
              "summary": rows, "runs": runs}
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"wrote {out} and {png}")
    return report


if __name__ == "__main__":
    main()
