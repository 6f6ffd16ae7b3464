"""``ssmn-rl train`` and ``ssmn-rl evaluate``: the agents' command-line faces.

``train`` builds an ES or PPO agent with per-environment defaults (see :mod:`hyperparams`), trains
it with a progress bar, and writes one run directory ``<out>/<env>__<algo>__<seed>__<time>/`` with
``model.npz`` (the agent), ``config.json``, ``logs/`` (``progress.csv`` and TensorBoard event
files), ``learning_curve.png``, ``synaptic_state.png`` and ``evaluation.json``, then prints the
evaluation. ``evaluate RUN_DIR`` reloads the agent and scores it again.
"""
from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
import time

import numpy as np

ALGOS = ("es", "ppo")


def _agent_class(algo: str):
    from .es import ES
    from .ppo import PPO
    return {"es": ES, "ppo": PPO}[algo]


def _json_arg(text: str, name: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"{name} must be a JSON object, got {text!r} ({e})")
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{name} must be a JSON object, got {text!r}")
    return value


def add_subcommands(subparsers) -> None:
    """Add ``train`` and ``evaluate`` to an argparse subparsers object."""
    p = subparsers.add_parser("train", help="train an SSMN agent on a Gymnasium env and write a run directory",
                              description="Train an ES or recurrent-PPO agent with an SSMN policy.")
    p.add_argument("--env", default="ssmn/StatelessCartPole-v0", help="Gymnasium id (default: %(default)s)")
    p.add_argument("--algo", default="es", choices=ALGOS, help="es or ppo (default: %(default)s)")
    p.add_argument("--policy", default="standard", help="registered SSMN variant (default: %(default)s)")
    p.add_argument("--total-timesteps", type=int, default=None,
                   help="env steps to train (default: per env and algo, see ssmn_rl.agents.hyperparams)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--policy-kwargs", type=lambda s: _json_arg(s, "--policy-kwargs"), default={},
                   help='SSMN settings as JSON, e.g. \'{"hidden_dim": 32, "rule": "oja"}\'')
    p.add_argument("--algo-kwargs", type=lambda s: _json_arg(s, "--algo-kwargs"), default={},
                   help='algorithm hyperparameters as JSON, e.g. \'{"population_size": 64}\'')
    p.add_argument("--env-kwargs", type=lambda s: _json_arg(s, "--env-kwargs"), default={})
    p.add_argument("--backend", choices=("inline", "process", "ray"), default=None, help="ES rollout workers")
    p.add_argument("--n-workers", type=int, default=None)
    p.add_argument("--ray-address", default=None, help="join this Ray cluster (backend ray)")
    p.add_argument("--eval-episodes", type=int, default=20)
    p.add_argument("--eval-freq", type=int, default=None, help="evaluate every N steps during training")
    p.add_argument("--stop-at", type=float, default=None, help="stop when the evaluation mean reaches this")
    p.add_argument("--checkpoint-freq", type=int, default=0, help="save a resumable checkpoint every N steps")
    p.add_argument("--resume", default=None, help="checkpoint .npz to continue from")
    p.add_argument("--out", default="runs", help="parent of the run directory (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=cmd_train)

    e = subparsers.add_parser("evaluate", help="evaluate the agent of a run directory",
                              description="Reload RUN_DIR/model.npz and report its mean return.")
    e.add_argument("run_dir")
    e.add_argument("--episodes", type=int, default=20)
    e.add_argument("--seed", type=int, default=10_000)
    e.add_argument("--stochastic", action="store_true", help="sample actions instead of the mode")
    e.set_defaults(func=cmd_evaluate)


def _plot_curve(rows, path, env_id, algo, baselines) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label in (("charts/episodic_return", "training episodes"), ("charts/center_return", "ES mean policy"),
                       ("eval/mean_reward", "evaluation (deterministic)")):
        pts = [(r["global_step"], r[key]) for r in rows if key in r and not math.isnan(r[key])]
        if pts:
            ax.plot(*zip(*pts), marker="o" if key.startswith("eval") else None, ms=3, label=label)
    for name, value in baselines.items():
        ax.axhline(value, ls="--", lw=0.8, c="gray")
        ax.text(0, value, f" {name}", va="bottom", fontsize=7, color="gray")
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return")
    ax.set_title(f"{algo.upper()} on {env_id}")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_synapses(agent, env_id, path, seed) -> None:
    """Run one deterministic episode and picture the fast weights at its end."""
    import gymnasium as gym
    import numpy as np

    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    state, start, done = None, True, False
    while not done:
        action, state = agent.predict(obs, state=state, episode_start=np.array([start]), deterministic=True)
        obs, _, term, trunc, _ = env.step(action)
        start, done = False, term or trunc
    env.close()
    agent.policy.model.plot_synaptic_state(state, path=path)


def _baselines(env_id) -> dict:
    try:
        from ..envs.baselines import run_policy
        return {name: float(np.mean(run_policy(env_id, name, 20, 0))) for name in ("random", "memoryless")}
    except Exception:  # noqa: BLE001 - an env without reference policies simply gets no reference lines
        return {}


def cmd_train(args) -> int:
    from ..errors import SSMNError
    from .common.callbacks import CheckpointCallback, EvalCallback, StopTrainingOnRewardThreshold
    from .common.logger import read_csv
    from .evaluation import evaluate_policy
    from .hyperparams import defaults_for

    hp = defaults_for(args.env, args.algo)
    total = args.total_timesteps if args.total_timesteps is not None else hp.pop("total_timesteps")
    hp.pop("total_timesteps", None)
    algo_kwargs = {**hp, **args.algo_kwargs}
    if args.algo == "es":
        for name in ("backend", "n_workers", "ray_address"):
            if getattr(args, name) is not None:
                algo_kwargs[name] = getattr(args, name)
    elif args.backend not in (None, "inline") or args.ray_address:
        print("error: --backend/--ray-address apply to --algo es only (PPO steps its envs in-process)", file=sys.stderr)
        return 2
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run = pathlib.Path(args.out) / f"{args.env.replace('/', '-')}__{args.algo}__{args.seed}__{stamp}"
    run.mkdir(parents=True, exist_ok=True)
    cls = _agent_class(args.algo)
    try:
        if args.resume:
            agent = cls.load(args.resume, env=args.env, tensorboard_log=str(run))
            remaining = max(agent._total_timesteps - agent.num_timesteps, 0)
        else:
            agent = cls(args.policy, args.env, policy_kwargs=args.policy_kwargs, env_kwargs=args.env_kwargs,
                        seed=args.seed, tensorboard_log=str(run), **algo_kwargs)
            remaining = total
    except (SSMNError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    config = {"env": args.env, "algo": args.algo, "policy": args.policy, "seed": args.seed,
              "total_timesteps": total, "policy_kwargs": agent.policy.policy_kwargs,
              "algo_kwargs": agent._hyperparameters(), "env_kwargs": args.env_kwargs,
              "n_parameters": agent.policy.n_parameters, "resumed_from": args.resume}
    (run / "config.json").write_text(json.dumps(config, indent=2, default=str))
    print(f"run directory: {run}")
    print(f"{args.algo.upper()} on {args.env}: SSMN variant {args.policy!r}, {agent.policy.n_parameters} parameters, "
          f"{remaining} env steps")
    callbacks = [EvalCallback(args.env, n_eval_episodes=min(args.eval_episodes, 10),
                              eval_freq=args.eval_freq or max(remaining // 10, 1),
                              callback_after_eval=(StopTrainingOnRewardThreshold(args.stop_at)
                                                   if args.stop_at is not None else None))]
    if args.checkpoint_freq:
        callbacks.append(CheckpointCallback(args.checkpoint_freq, run / "checkpoints"))
    t0 = time.time()
    agent.learn(remaining, callback=callbacks, tb_log_name="logs", progress_bar=not args.no_progress,
                reset_num_timesteps=not args.resume)
    train_s = time.time() - t0
    agent.save(run / "model.npz")
    rewards, lengths = evaluate_policy(agent, args.env, args.eval_episodes, deterministic=True,
                                       return_episode_rewards=True, seed=10_000)
    import numpy as np
    result = {"mean_return": float(np.mean(rewards)), "std_return": float(np.std(rewards)),
              "mean_length": float(np.mean(lengths)), "episodes": len(rewards), "train_seconds": train_s,
              "env_steps": agent.num_timesteps, "deterministic": True}
    (run / "evaluation.json").write_text(json.dumps(result, indent=2))
    rows = read_csv(run / "logs" / "progress.csv") if (run / "logs" / "progress.csv").is_file() else []
    _plot_curve(rows, run / "learning_curve.png", args.env, args.algo, _baselines(args.env))
    _plot_synapses(agent, args.env, run / "synaptic_state.png", seed=10_000)
    _print_eval(args.env, result)
    print(f"artefacts: {run}/{{model.npz, config.json, logs/, learning_curve.png, synaptic_state.png, evaluation.json}}")
    return 0


def _print_eval(env_id, r) -> None:
    print(f"\nevaluation on {env_id} ({r['episodes']} episodes, deterministic)")
    print(f"  mean return   {r['mean_return']:10.2f} +/- {r['std_return']:.2f}")
    print(f"  mean length   {r['mean_length']:10.1f}")
    if "train_seconds" in r:
        print(f"  trained       {r['env_steps']:10d} env steps in {r['train_seconds']:.1f} s")


def cmd_evaluate(args) -> int:
    from ..errors import SSMNError
    from .evaluation import evaluate_policy

    run = pathlib.Path(args.run_dir)
    cfg_path, model_path = run / "config.json", run / "model.npz"
    if not cfg_path.is_file() or not model_path.is_file():
        print(f"error: {run} is not a run directory (needs config.json and model.npz from `ssmn-rl train`)",
              file=sys.stderr)
        return 2
    cfg = json.loads(cfg_path.read_text())
    if cfg.get("algo") not in ALGOS:
        print(f"error: {cfg_path} names algo {cfg.get('algo')!r}, expected one of {list(ALGOS)}", file=sys.stderr)
        return 2
    try:
        agent = _agent_class(cfg["algo"]).load(model_path, env=cfg["env"])
    except SSMNError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    import numpy as np
    rewards, lengths = evaluate_policy(agent, cfg["env"], args.episodes, deterministic=not args.stochastic,
                                       return_episode_rewards=True, seed=args.seed)
    _print_eval(cfg["env"], {"mean_return": float(np.mean(rewards)), "std_return": float(np.std(rewards)),
                             "mean_length": float(np.mean(lengths)), "episodes": len(rewards)})
    return 0
