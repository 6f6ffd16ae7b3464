"""Benchmark the ``ssmn/`` memory-task environments.

For every registered ``ssmn/`` id this script reports

- the mean +- standard deviation of the episode return of the three baseline policies of
  ``ssmn_rl.envs.baselines`` (random, best memory-less, oracle) over ``--episodes`` episodes;
- the environment's step throughput with random actions, measured through
  ``gymnasium.make`` (so including Gymnasium's standard wrappers), next to the throughput of
  Gymnasium's ``CartPole-v1`` measured the same way in the same run, and their ratio.

Actions are sampled before the timed loop so that the timings measure ``env.step`` (and the
resets at episode ends), not the action sampler. Each throughput figure is the best of
``--repeats`` timed runs of ``--steps`` steps. An environment below 20% of CartPole-v1's rate
is flagged in the table.

It prints a markdown table and writes the numbers as JSON to ``--out``
(default ``bench_results/bench_envs.json``). Run it as ``python scripts/bench_envs.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import gymnasium as gym
import numpy as np

import ssmn_rl.envs
from ssmn_rl.envs.baselines import POLICY_NAMES, run_policy

MIN_RATIO = 0.2  # environments slower than this fraction of CartPole-v1 are flagged


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=100, help="episodes per policy (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed for environments and policies (default 0)")
    parser.add_argument("--steps", type=int, default=20_000, help="steps per throughput run (default 20000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per environment, best kept (default 3)")
    parser.add_argument(
        "--out", default=os.path.join("bench_results", "bench_envs.json"),
        help="JSON output path (default bench_results/bench_envs.json)",
    )
    args = parser.parse_args(argv)
    for name in ("episodes", "steps", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be an integer >= 1; got {getattr(args, name)}")
    return args


def steps_per_second(env_id: str, n_steps: int, repeats: int, seed: int) -> float:
    """Best-of-``repeats`` rate of ``env.step`` with pre-sampled random actions (resets included)."""
    env = gym.make(env_id)
    env.action_space.seed(seed + 1)
    actions = [env.action_space.sample() for _ in range(n_steps)]
    best = 0.0
    for repeat in range(repeats):
        env.reset(seed=seed + repeat)
        start = time.perf_counter()
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
        elapsed = time.perf_counter() - start
        best = max(best, n_steps / elapsed)
    env.close()
    return best


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    cartpole_rate = steps_per_second("CartPole-v1", args.steps, args.repeats, args.seed)
    results = {}
    for env_id in ssmn_rl.envs.ENV_IDS:
        returns = {}
        for policy in POLICY_NAMES:
            values = run_policy(env_id, policy, args.episodes, seed=args.seed)
            returns[policy] = {
                "mean": float(np.mean(values)),
                "std": float(np.std(values)),
                "n_episodes": len(values),
            }
        rate = steps_per_second(env_id, args.steps, args.repeats, args.seed)
        results[env_id] = {
            "returns": returns,
            "steps_per_second": rate,
            "ratio_to_cartpole_v1": rate / cartpole_rate,
        }

    def fmt(stats: dict) -> str:
        scale = max(abs(stats["mean"]), stats["std"])
        digits = 3 if scale < 10 else (1 if scale < 1000 else 0)
        return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"

    lines = [
        f"Returns over {args.episodes} episodes per policy (seed {args.seed}); "
        f"throughput with random actions through gymnasium.make, best of {args.repeats} x {args.steps} steps.",
        f"CartPole-v1: {cartpole_rate:,.0f} steps/s",
        "",
        "| env id | random | memory-less | oracle | steps/s | vs CartPole-v1 |",
        "|---|---|---|---|---|---|",
    ]
    for env_id, entry in results.items():
        r = entry["returns"]
        ratio = entry["ratio_to_cartpole_v1"]
        flag = "" if ratio >= MIN_RATIO else " (below 20%)"
        lines.append(
            f"| {env_id} | {fmt(r['random'])} | {fmt(r['memoryless'])} | {fmt(r['oracle'])} "
            f"| {entry['steps_per_second']:,.0f} | {ratio:.2f}x{flag} |"
        )
    print("\n".join(lines))

    report = {
        "episodes": args.episodes,
        "seed": args.seed,
        "throughput_steps": args.steps,
        "throughput_repeats": args.repeats,
        "cartpole_v1_steps_per_second": cartpole_rate,
        "envs": results,
        "python": platform.python_version(),
        "gymnasium": gym.__version__,
        "numpy": np.__version__,
        "machine": platform.machine(),
        "processor": platform.processor(),
        "wall_seconds": time.perf_counter() - started,
    }
    directory = os.path.dirname(args.out)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    print(f"\nwrote {args.out} ({report['wall_seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
