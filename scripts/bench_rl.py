"""Time to solve velocity-masked CartPole: SSMN agents against sb3-contrib RecurrentPPO.

Every agent trains on the same environment, ``ssmn/StatelessCartPole-v0`` (CartPole-v1 with the
cart and pole velocities removed from the observation, 500-step episodes). Every 8,192 env steps
(``--eval-every``) the agent is scored on 20 deterministic episodes (``--eval-episodes``) with
``ssmn_rl.agents.evaluate_policy`` -- the same function, env and evaluation seed for every agent --
and training stops at the first mean return >= 475. Recorded per (agent, seed): wall-clock seconds
from construction to that evaluation (evaluation time included) and env steps; an unsolved run
counts as infinitely slow in the median.

Agents:
- ``es`` / ``ppo``: ours, with the defaults ``ssmn-rl train`` uses for this env
  (``ssmn_rl.agents.hyperparams``).
- ``RecurrentPPO`` (when sb3-contrib is installed): rl-zoo3's tuned CartPoleNoVel hyperparameters
  (8 envs, n_steps 32, batch 256, 20 epochs, gamma 0.98, lambda 0.8, lr and clip linear from 1e-3
  and 0.2, ent_coef 0, LSTM 64 with a separate critic LSTM), on CPU with ``--torch-threads`` threads.
  Our agents run in-process on one core (ES ``backend="inline"``).

All runs happen one after the other in this one process, so the ratios compare agents on the
same machine under the same load. Prints a table of runs, a table of medians with
"RecurrentPPO median / ours median" ratios and the target check (ours solves every seed and its
median is at most half RecurrentPPO's), then the JSON report (also written to ``--out``).

    python scripts/bench_rl.py                    # 5 seeds, es + RecurrentPPO
    python scripts/bench_rl.py --algos es ppo     # also our recurrent PPO
    python scripts/bench_rl.py --quick            # 1 seed, small budget: a smoke run
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

import ssmn_rl  # noqa: F401  (registers the ssmn/ envs)
from ssmn_rl.agents import ES, PPO, evaluate_policy
from ssmn_rl.agents.common.callbacks import BaseCallback
from ssmn_rl.agents.hyperparams import defaults_for

ENV = "ssmn/StatelessCartPole-v0"
THRESHOLD = 475.0
EVAL_SEED = 10_000
BASELINE = "RecurrentPPO"


class _Timer:
    """Shared solve-check logic: evaluate at each crossing of a multiple of `every` env steps."""

    def __init__(self, every: int, n_episodes: int, t0: float):
        self.every, self.n_episodes, self.t0 = every, n_episodes, t0
        self.next_eval = every
        self.solved = None
        self.evals = []  # (steps, mean return)

    def check(self, model, num_timesteps: int) -> bool:
        """Returns False (stop training) once solved."""
        if num_timesteps < self.next_eval:
            return True
        self.next_eval = (num_timesteps // self.every + 1) * self.every
        mean, _ = evaluate_policy(model, ENV, self.n_episodes, deterministic=True, seed=EVAL_SEED)
        self.evals.append((int(num_timesteps), float(mean)))
        if mean >= THRESHOLD:
            self.solved = (time.perf_counter() - self.t0, int(num_timesteps))
            return False
        return True


class _OursCallback(BaseCallback):
    def __init__(self, timer: _Timer):
        super().__init__()
        self.timer = timer

    def _on_step(self):
        return self.timer.check(self.agent, self.num_timesteps)


def run_ours(algo: str, seed: int, budget: int, every: int, n_episodes: int) -> dict:
    kwargs = defaults_for(ENV, algo)
    kwargs.pop("total_timesteps")
    t0 = time.perf_counter()
    agent = {"es": ES, "ppo": PPO}[algo]("standard", ENV, seed=seed, **kwargs)
    timer = _Timer(every, n_episodes, t0)
    agent.learn(budget, callback=_OursCallback(timer))
    return _record(timer, time.perf_counter() - t0, agent.num_timesteps)


def run_recurrent_ppo(seed: int, budget: int, every: int, n_episodes: int, torch_threads: int) -> dict:
    import torch
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.callbacks import BaseCallback as SB3Callback
    from stable_baselines3.common.env_util import make_vec_env

    def lin(v):
        return lambda progress_remaining: progress_remaining * v

    torch.set_num_threads(torch_threads)
    t0 = time.perf_counter()
    model = RecurrentPPO("MlpLstmPolicy", make_vec_env(ENV, n_envs=8, seed=seed, env_kwargs={"render_mode": None}), n_steps=32, batch_size=256,
                         n_epochs=20, gamma=0.98, gae_lambda=0.8, learning_rate=lin(1e-3), clip_range=lin(0.2),
                         ent_coef=0.0, policy_kwargs={"lstm_hidden_size": 64, "enable_critic_lstm": True},
                         seed=seed, device="cpu")
    timer = _Timer(every, n_episodes, t0)

    class Callback(SB3Callback):
        def _on_step(self):
            return timer.check(self.model, self.num_timesteps)

    model.learn(budget, callback=Callback())
    return _record(timer, time.perf_counter() - t0, model.num_timesteps)


def _record(timer: _Timer, total_seconds: float, total_steps: int) -> dict:
    sec, steps = timer.solved if timer.solved else (None, None)
    return {"solved": timer.solved is not None, "seconds": sec, "steps": steps,
            "total_seconds": total_seconds, "total_steps": int(total_steps),
            "best_eval": max((m for _, m in timer.evals), default=None), "evals": timer.evals}


def _median(values: list) -> float:
    return statistics.median(values) if values else math.nan


def summarise(results: dict) -> dict:
    """Per agent: solved count, median seconds / steps (unsolved = inf), ratio to RecurrentPPO."""
    out = {}
    for name, runs in results.items():
        secs = [r["seconds"] if r["solved"] else math.inf for r in runs]
        steps = [r["steps"] if r["solved"] else math.inf for r in runs]
        out[name] = {"solved": sum(r["solved"] for r in runs), "runs": len(runs),
                     "median_seconds": _median(secs), "median_steps": _median(steps),
                     "max_seconds": max(secs) if secs else math.nan}
    base = out.get(BASELINE)
    for name, s in out.items():
        if base is None or name == BASELINE:
            s["speedup_vs_recurrent_ppo"] = None
            s["target_met"] = None
            continue
        b, m = base["median_seconds"], s["median_seconds"]
        s["speedup_vs_recurrent_ppo"] = (b / m) if math.isfinite(b) and math.isfinite(m) and m > 0 else None
        # target: every seed solved, median at most half of RecurrentPPO's median
        s["target_met"] = bool(s["solved"] == s["runs"] and math.isfinite(b) and m <= 0.5 * b)
    return out


def _fmt(x, spec):
    return "inf" if isinstance(x, float) and math.isinf(x) else ("-" if x is None else format(x, spec))


def _json_safe(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else "inf"
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--algos", nargs="+", default=["es"], choices=["es", "ppo"],
                    help="our agents to run (default: es)")
    ap.add_argument("--budget", type=int, default=500_000, help="env steps per run of ours before giving up")
    ap.add_argument("--baseline-budget", type=int, default=200_000,
                    help="env steps per RecurrentPPO run before giving up (default: %(default)s, 3x the "
                         "slowest seed the issue reports)")
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="torch.set_num_threads for RecurrentPPO (default 1: on a small shared machine one "
                         "thread was ~5x faster than two -- 382 vs 69 steps/s)")
    ap.add_argument("--eval-every", type=int, default=8192)
    ap.add_argument("--eval-episodes", type=int, default=20)
    ap.add_argument("--no-baseline", action="store_true", help="skip RecurrentPPO even if sb3-contrib is installed")
    ap.add_argument("--baseline-first", action="store_true", help="run RecurrentPPO before our agents")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: seed 0 only, budget 16,384 steps (RecurrentPPO: 4,096), evaluation "
                         "every 4,096 steps on 5 episodes")
    ap.add_argument("--out", "--json", dest="out", help="also write the JSON report to this file")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.budget, args.eval_every, args.eval_episodes = args.seeds[:1], 16_384, 4096, 5
        args.baseline_budget = 4096
    for name in ("budget", "baseline_budget", "torch_threads", "eval_every", "eval_episodes"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")

    runs = [(a, lambda s, a=a: run_ours(a, s, args.budget, args.eval_every, args.eval_episodes))
            for a in args.algos]
    baseline_note = None
    if not args.no_baseline:
        try:
            import sb3_contrib  # noqa: F401
        except ImportError:
            baseline_note = "sb3-contrib not installed: RecurrentPPO baseline skipped (pip install sb3-contrib)"
            print(baseline_note)
        else:
            base = (BASELINE, lambda s: run_recurrent_ppo(s, args.baseline_budget, args.eval_every, args.eval_episodes,
                                                            args.torch_threads))
            runs = [base] + runs if args.baseline_first else runs + [base]

    results = {}
    print(f"{ENV}: solve = mean of {args.eval_episodes} deterministic episodes >= {THRESHOLD:g}, "
          f"checked every {args.eval_every} steps, budget {args.budget} steps "
          f"(RecurrentPPO {args.baseline_budget})")
    print(f"{'agent':<14}{'seed':>5}{'seconds':>10}{'steps':>10}{'best eval':>11}")
    for name, fn in runs:
        results[name] = []
        for s in args.seeds:
            r = fn(s)
            results[name].append({"seed": s, **r})
            tail = "" if r["solved"] else f"  not solved ({r['total_seconds']:.1f} s, {r['total_steps']} steps)"
            print(f"{name:<14}{s:>5}{_fmt(r['seconds'], '.1f'):>10}{_fmt(r['steps'], 'd'):>10}"
                  f"{_fmt(r['best_eval'], '.1f'):>11}{tail}", flush=True)
    summary = summarise(results)
    print(f"\n{'agent':<14}{'solved':>8}{'median s':>10}{'median steps':>14}{'max s':>8}"
          f"{'RecurrentPPO/ours':>19}{'target':>8}")
    for name, s in summary.items():
        ratio = _fmt(s["speedup_vs_recurrent_ppo"], ".2f") + ("x" if s["speedup_vs_recurrent_ppo"] else "")
        target = {None: "-", True: "met", False: "MISSED"}[s["target_met"]]
        print(f"{name:<14}{s['solved']:>5}/{s['runs']:<2}{_fmt(s['median_seconds'], '.1f'):>10}"
              f"{_fmt(s['median_steps'], '.0f'):>14}{_fmt(s['max_seconds'], '.1f'):>8}{ratio:>19}{target:>8}")
    report = _json_safe({"env": ENV, "threshold": THRESHOLD, "eval_seed": EVAL_SEED,
                         "args": vars(args), "baseline_note": baseline_note,
                         "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                                     "cpus": os.cpu_count()},
                         "hyperparameters": {a: defaults_for(ENV, a) for a in args.algos},
                         "results": results, "summary": summary})
    print(json.dumps({"summary": report["summary"]}, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == "__main__":
    main()
