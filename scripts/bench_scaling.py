"""Env steps per second against workers (1, 2) per backend, for ES and PPO, side by side in one run.

ES rows run the workload of issue 16: ``ssmn/StatelessCartPole-v0``, population 128, policy
``hidden_dim=64, window_size=16``, ``--es-steps`` env steps (200k by default), seed 0:

- ``es/per-member``: inline, ``population_batching=False`` (one kernel call per member and step:
  the reference path);
- ``es/<backend>``: population-batched rollouts on ``inline`` (1 worker), ``process`` and ``ray``
  (1 and 2 persistent workers). Wall time includes starting the workers (and Ray itself).

PPO rows train recurrent PPO (its defaults: 8 envs, 20 epochs; ``--ppo-steps`` env steps, 8,192 by
default, seed 0) on a slow-step env: ``SlowStep`` wraps ``ssmn/StatelessCartPole-v0`` and
busy-waits ``--slow-us`` microseconds in every ``step`` (CPU-bound, like a simulator), standing in
for a simulator whose step is expensive. The default, 5,000 us (5 ms), is a heavier physics or game
simulator's step; the point of env runners is such envs. Rollout workers speed up only the env
stepping, never the update, which stays in this process: PPO's default update costs about 1 ms of
this machine's time per env step (20 epochs of BPTT), so with ``--slow-us 50`` the update is over 80%
of the run and two workers cannot pay (Amdahl). ``ppo/inline`` steps the envs in this process (1
env runner); ``ppo/<backend>`` runs 1 and 2 env runners in worker processes or Ray actors, each
stepping its share of the 8 envs. Every PPO row ends with the same parameters (checked:
``same_as_inline``).

Every row is timed on this machine in this one process, one after the other, with the same seed;
``speedup`` is steps/s over the ``inline`` row of the same algorithm (for ES, also the batched
inline row over the per-member row); ``same`` says whether a PPO row's final parameters equal
the inline row's bit for bit. Prints a table and writes the JSON report to ``--out``
(default ``bench_results/bench_scaling.json``), with the 1-minute load average at the start and
after every row (these machines are shared: a busy one cannot show what a second worker buys).

    python scripts/bench_scaling.py                 # the full workload (a few minutes)
    python scripts/bench_scaling.py --quick         # small budgets and a 50 us env: a smoke run
    python scripts/bench_scaling.py --backends inline process
    python scripts/bench_scaling.py --algos ppo     # the PPO rows only
    python scripts/bench_scaling.py --algos ppo --slow-us 50   # a cheap env: the update dominates
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import time

import gymnasium as gym
import numpy as np

import ssmn_rl  # noqa: F401  (registers the ssmn/ envs)
from ssmn_rl.agents import ES, PPO

ENV = "ssmn/StatelessCartPole-v0"
SLOW_ENV = "ssmn-bench/SlowStatelessCartPole-v0"
ES_POLICY = {"hidden_dim": 64, "window_size": 16}


class SlowStep(gym.Wrapper):
    """Busy-waits `step_us` microseconds in every step (an expensive simulator, CPU-bound like one)."""

    def __init__(self, env: gym.Env, step_us: float = 50.0):
        super().__init__(env)
        if not step_us >= 0:
            raise ValueError(f"step_us must be >= 0, got {step_us!r}")
        self.step_us = float(step_us)

    def step(self, action):
        end = time.perf_counter() + self.step_us * 1e-6
        out = self.env.step(action)
        while time.perf_counter() < end:
            pass
        return out


def make_slow_env(step_us: float = 50.0) -> gym.Env:
    return SlowStep(gym.make(ENV), step_us)


def _register_slow_env() -> None:
    if SLOW_ENV not in gym.registry:
        gym.register(SLOW_ENV, entry_point=f"{__name__}:make_slow_env" if __name__ != "__main__"
                     else "bench_scaling:make_slow_env")


def _load():
    """The 1-minute load average (None where the OS does not tell)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _time(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run_es(backend: str, workers: int, steps: int, batched: bool = True) -> dict:
    def go():
        agent = ES("standard", ENV, population_size=128, policy_kwargs=ES_POLICY, seed=0, backend=backend,
                   n_workers=workers, population_batching=batched)
        return agent.learn(steps)
    wall, agent = _time(go)
    return {"algo": "es", "backend": backend if batched else "per-member", "workers": workers,
            "steps": agent.num_timesteps, "seconds": wall, "steps_per_s": agent.num_timesteps / wall,
            "final_return": agent.last_episodic_return}


def run_ppo(backend: str, workers: int, steps: int, slow_us: float) -> tuple[dict, object]:
    def go():
        # an instance made by gymnasium.make: workers rebuild it from its spec (entry point + kwargs)
        agent = PPO("standard", gym.make(SLOW_ENV, step_us=slow_us), seed=0, backend=backend, n_workers=workers)
        try:
            return agent.learn(steps)
        finally:
            agent.close()
    wall, agent = _time(go)
    return ({"algo": "ppo", "backend": backend, "workers": workers, "steps": agent.num_timesteps, "seconds": wall,
             "steps_per_s": agent.num_timesteps / wall, "final_return": agent.last_episodic_return},
            agent.policy.get_parameters())


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backends", nargs="+", default=["inline", "process", "ray"],
                    choices=["inline", "process", "ray"])
    ap.add_argument("--algos", nargs="+", default=["es", "ppo"], choices=["es", "ppo"])
    ap.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--es-steps", type=int, default=200_000)
    ap.add_argument("--ppo-steps", type=int, default=8_192)
    ap.add_argument("--slow-us", type=float, default=None,
                    help="busy-wait per step of the PPO env (us; default 5000, a heavier simulator's step; "
                         "50 with --quick)")
    ap.add_argument("--no-per-member", action="store_true", help="skip the (slow) per-member ES reference row")
    ap.add_argument("--quick", action="store_true", help="small budgets (a smoke run)")
    ap.add_argument("--out", default="bench_results/bench_scaling.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.es_steps, args.ppo_steps = 6_000, 2_048
    if args.slow_us is None:
        args.slow_us = 50.0 if args.quick else 5000.0
    if any(w < 1 for w in args.workers):
        ap.error(f"--workers must be >= 1, got {args.workers}")
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    _register_slow_env()

    load_start = _load()
    rows = []
    if not args.no_per_member and "es" in args.algos:
        rows.append(run_es("inline", 1, args.es_steps, batched=False))
        rows[-1]["load_1min_after"] = _load()
    ppo_theta = {}
    for algo in args.algos:
        for backend in args.backends:
            for w in ([1] if backend == "inline" else args.workers):
                if backend == "ray":
                    import ray
                    if ray.is_initialized():
                        ray.shutdown()  # every Ray row pays for its own start, like a user's first run
                try:
                    if algo == "es":
                        rows.append(run_es(backend, w, args.es_steps))
                    else:
                        row, ppo_theta[(backend, w)] = run_ppo(backend, w, args.ppo_steps, args.slow_us)
                        rows.append(row)
                finally:
                    if backend == "ray":
                        ray.shutdown()  # its daemons would otherwise share the cores with the next rows
                rows[-1]["load_1min_after"] = _load()  # the machine is shared: how busy it was
                print(f"  {algo} {backend} x{w}: {rows[-1]['steps_per_s']:,.0f} steps/s "
                      f"(1-min load average {rows[-1]['load_1min_after']})", file=sys.stderr)
    if ("inline", 1) in ppo_theta:
        for r in rows:
            if r["algo"] == "ppo":
                r["same_as_inline"] = bool(np.array_equal(ppo_theta[(r["backend"], r["workers"])],
                                                          ppo_theta[("inline", 1)]))

    base = {r["algo"]: r["steps_per_s"] for r in rows if r["backend"] == "inline" and r["workers"] == 1}
    for r in rows:
        r["speedup"] = r["steps_per_s"] / base[r["algo"]] if r["algo"] in base else None
    print(f"\n{'algo':<5} {'backend':<11} {'workers':>7} {'env steps':>10} {'seconds':>8} {'steps/s':>9} "
          f"{'vs inline':>9} {'same':>5} {'load':>5}")
    for r in rows:
        sp = f"{r['speedup']:.2f}x" if r["speedup"] is not None else "-"
        same = {True: "yes", False: "NO"}.get(r.get("same_as_inline"), "-")
        print(f"{r['algo']:<5} {r['backend']:<11} {r['workers']:>7} {r['steps']:>10,} {r['seconds']:>8.2f} "
              f"{r['steps_per_s']:>9,.0f} {sp:>9} {same:>5} {r.get('load_1min_after') if r.get('load_1min_after') is not None else '-':>5}")
    report = {"es_env": ENV, "es_policy": ES_POLICY, "es_population": 128, "ppo_env": f"{ENV} + SlowStep",
              "slow_us": args.slow_us, "cpus": os.cpu_count(), "python": platform.python_version(),
              "machine": platform.machine(), "load_1min_start": load_start, "load_1min_end": _load(), "rows": rows}
    per_member = [r for r in rows if r["backend"] == "per-member"]
    if per_member and "es" in base:
        report["es_batched_over_per_member"] = base["es"] / per_member[0]["steps_per_s"]
        print(f"\nES population-batched inline / per-member inline: {report['es_batched_over_per_member']:.2f}x")
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"JSON report: {out}")
    return report


if __name__ == "__main__":
    main()
