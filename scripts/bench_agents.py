"""Time to solve velocity-masked CartPole: SSMN agents against sb3-contrib RecurrentPPO.

For each seed, train until the mean return over 20 deterministic evaluation episodes (run every
8,192 env steps) reaches 475, and record wall-clock seconds (evaluation included) and env steps.
Prints one row per (agent, seed), then medians and the ratio to RecurrentPPO when sb3-contrib is
installed (rl-zoo3's tuned CartPoleNoVel hyperparameters: 8 envs, n_steps 32, batch 256, 20 epochs,
gamma 0.98, lambda 0.8, lr and clip linear from 1e-3 and 0.2, LSTM 64). Every agent runs in this
one process on the same machine, so ratios are comparable even when the machine is noisy.

    python scripts/bench_agents.py --seeds 0 1 2 3 4 --algos es ppo
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import ssmn_rl  # noqa: F401  (registers ssmn/ envs)
from ssmn_rl.agents import ES, PPO, evaluate_policy
from ssmn_rl.agents.common.callbacks import BaseCallback

ENV = "ssmn/StatelessCartPole-v0"
THRESHOLD = 475.0


class _SolveTimer(BaseCallback):
    """Evaluate every `every` steps; stop and record (seconds, steps) at the first mean >= threshold."""

    def __init__(self, every, n_episodes, t0):
        super().__init__()
        self.every, self.n_episodes, self.t0 = every, n_episodes, t0
        self.last, self.solved = 0, None

    def _on_step(self):
        if self.num_timesteps // self.every <= self.last // self.every:
            return True
        self.last = self.num_timesteps
        mean, _ = evaluate_policy(self.agent, ENV, self.n_episodes, deterministic=True, seed=10_000)
        if mean >= THRESHOLD:
            self.solved = (time.perf_counter() - self.t0, self.num_timesteps)
            return False
        return True


def run_ours(algo, seed, budget, every, n_episodes):
    t0 = time.perf_counter()
    cls = {"es": ES, "ppo": PPO}[algo]
    agent = cls("standard", ENV, seed=seed)
    timer = _SolveTimer(every, n_episodes, t0)
    agent.learn(budget, callback=timer)
    return timer.solved


def run_recurrent_ppo(seed, budget, every, n_episodes):
    import gymnasium as gym
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.callbacks import BaseCallback as SB3Callback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy as sb3_eval

    t0 = time.perf_counter()
    lin = lambda v: (lambda p: p * v)  # noqa: E731
    model = RecurrentPPO("MlpLstmPolicy", make_vec_env(ENV, n_envs=8, seed=seed), n_steps=32, batch_size=256,
                         n_epochs=20, gamma=0.98, gae_lambda=0.8, learning_rate=lin(1e-3), clip_range=lin(0.2),
                         ent_coef=0.0, policy_kwargs={"lstm_hidden_size": 64, "enable_critic_lstm": True},
                         seed=seed, device="cpu")
    out = {}

    class Timer(SB3Callback):
        last = 0

        def _on_step(self):
            if self.num_timesteps // every <= self.last // every:
                return True
            self.last = self.num_timesteps
            env = gym.make(ENV)
            env.reset(seed=10_000)
            mean, _ = sb3_eval(self.model, env, n_episodes, deterministic=True)
            if mean >= THRESHOLD:
                out["solved"] = (time.perf_counter() - t0, self.num_timesteps)
                return False
            return True

    model.learn(budget, callback=Timer())
    return out.get("solved")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--algos", nargs="+", default=["es", "ppo"], choices=["es", "ppo"])
    ap.add_argument("--budget", type=int, default=300_000, help="env steps per run before giving up")
    ap.add_argument("--eval-every", type=int, default=8192)
    ap.add_argument("--eval-episodes", type=int, default=20)
    ap.add_argument("--no-baseline", action="store_true", help="skip RecurrentPPO even if installed")
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args(argv)
    runs = [(a, lambda s, a=a: run_ours(a, s, args.budget, args.eval_every, args.eval_episodes)) for a in args.algos]
    if not args.no_baseline:
        try:
            import sb3_contrib  # noqa: F401
            runs.append(("RecurrentPPO", lambda s: run_recurrent_ppo(s, args.budget, args.eval_every,
                                                                      args.eval_episodes)))
        except ImportError:
            print("sb3-contrib not installed: RecurrentPPO baseline skipped (pip install sb3-contrib)")
    results = {}
    print(f"{'agent':<14}{'seed':>5}{'seconds':>10}{'steps':>10}")
    for name, fn in runs:
        results[name] = []
        for s in args.seeds:
            solved = fn(s)
            results[name].append(solved)
            sec, steps = solved if solved else (float("nan"), -1)
            print(f"{name:<14}{s:>5}{sec:>10.1f}{steps:>10}" + ("" if solved else "  not solved"), flush=True)
    print(f"\n{'agent':<14}{'solved':>8}{'median s':>10}{'median steps':>14}{'vs RecurrentPPO':>17}")
    med = {}
    for name, rs in results.items():
        ok = [r for r in rs if r]
        # an unsolved seed counts as infinitely slow in the median
        secs = sorted([r[0] for r in ok] + [float("inf")] * (len(rs) - len(ok)))
        stps = sorted([r[1] for r in ok] + [float("inf")] * (len(rs) - len(ok)))
        med[name] = (statistics.median(secs), statistics.median(stps))
    for name, (ms, mst) in med.items():
        ratio = med["RecurrentPPO"][0] / ms if "RecurrentPPO" in med and np.isfinite(ms) else float("nan")
        print(f"{name:<14}{sum(1 for r in results[name] if r):>5}/{len(results[name]):<2}{ms:>10.1f}{mst:>14}"
              f"{ratio:>16.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "medians": med, "args": vars(args)}, f, indent=1, default=str)


if __name__ == "__main__":
    main()
