"""``ssmn-rl train`` and ``ssmn-rl evaluate``: the agents' command-line faces.

``train`` builds an ES or PPO agent with the algorithm's defaults (the same on every env; only the
budget is per env, see :mod:`hyperparams`), trains
it with a progress bar (tqdm: rate and ETA), and writes one run directory
``<out>/<env>__<algo>__<seed>__<time>/`` with ``model.npz`` (the final agent), ``best_model.npz``
(the agent of the best deterministic evaluation during training, rl-zoo's ``best_model``), ``config.json``,
``logs/`` (``progress.csv`` and TensorBoard event files), ``learning_curve.png``,
``synaptic_state.png`` and ``evaluation.json``, then prints the evaluation. Ctrl-C stops training
cleanly: the agent is saved as a resumable checkpoint in ``<run>/model.npz``, the command prints
where and how to evaluate or resume it, and exits with status 130. ``evaluate RUN_DIR`` reloads
the agent (``--model best`` the best one) and scores it again.
"""
from __future__ import annotations

import json
import pathlib
import sys
import time

import numpy as np

ALGOS = ("es", "ppo")
INTERRUPTED = 130  # the shell's status for a process stopped by SIGINT


def _agent_class(algo: str):
    from .es import ES
    from .ppo import PPO
    return {"es": ES, "ppo": PPO}[algo]


def _json_arg(text: str, name: str) -> dict:
    import argparse

    hint = (f"HINT: give a JSON object in single quotes for the shell, e.g. {name} "
            "'{\"hidden_dim\": 32}'")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"{name} must be a JSON object, got {text!r} ({e})\n{hint}")
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{name} must be a JSON object, got {text!r}\n{hint}")
    return value


def _timesteps_help() -> str:
    from .hyperparams import GENERIC_TIMESTEPS, TABLE

    listed = "; ".join(f"{algo} on {env}: {hp['total_timesteps']:,}" for (env, algo), hp in TABLE.items()
                       if "total_timesteps" in hp)
    generic = ", ".join(f"{a} {n:,}" for a, n in GENERIC_TIMESTEPS.items())
    return f"env steps to train (default: per env and algo -- {listed}; any other env: {generic})"


def add_subcommands(subparsers) -> None:
    """Add ``train``, ``bench-suite`` and ``evaluate`` to an argparse subparsers object."""
    from ..cli_helpers import add_parser, non_negative_int, positive_int
    from .common.policy import DEFAULT_POLICY_KWARGS, PPO_DEFAULT_POLICY_KWARGS

    p = add_parser(subparsers, "train", "train an SSMN agent on a Gymnasium env and write a run directory",
                   description="Train an ES or recurrent-PPO agent with an SSMN policy and write a run directory "
                               "<out>/<env>__<algo>__<seed>__<time>/ with model.npz (final agent), best_model.npz "
                               "(best deterministic evaluation during training), config.json, logs/, "
                               "learning_curve.png, synaptic_state.png and evaluation.json.\n"
                               "Ctrl-C saves a resumable checkpoint as <run>/model.npz and says where.",
                   epilog="examples:\n"
                          "  ssmn-rl train --out runs                                  # ES, StatelessCartPole\n"
                          "  ssmn-rl train --algo ppo --env CartPole-v1 --out runs\n"
                          "  ssmn-rl train --policy-kwargs '{\"hidden_dim\": 32, \"rule\": \"oja\"}'\n"
                          "  ssmn-rl train --backend process --n-workers 2             # ES rollouts in 2 processes\n"
                          "  ssmn-rl train --algo ppo --backend ray --n-workers 2      # PPO env runners on Ray\n"
                          "  ssmn-rl train --resume runs/<run>/model.npz               # continue a checkpoint")
    p.add_argument("--env", default="ssmn/StatelessCartPole-v0", help="Gymnasium id")
    p.add_argument("--algo", default="es", choices=ALGOS, help="evolution strategies or recurrent PPO")
    p.add_argument("--policy", default="standard", help="registered SSMN variant (see `ssmn-rl plugins`)")
    p.add_argument("--total-timesteps", type=non_negative_int, default=None, help=_timesteps_help())
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of parameters, rollouts and evaluations")
    p.add_argument("--policy-kwargs", type=lambda s: _json_arg(s, "--policy-kwargs"), default={},
                   help="SSMN settings as JSON, e.g. '{\"hidden_dim\": 32, \"rule\": \"oja\"}'; PPO also takes "
                        "\"critic\": \"shared\" or \"separate\" (default: {}, i.e. the algorithm's default "
                        f"policy, the same on every env: ES {json.dumps(DEFAULT_POLICY_KWARGS)}, PPO "
                        f"{json.dumps(PPO_DEFAULT_POLICY_KWARGS)})")
    p.add_argument("--algo-kwargs", type=lambda s: _json_arg(s, "--algo-kwargs"), default={},
                   help="constructor arguments of ES / PPO as JSON, e.g. '{\"population_size\": 64}' "
                        "(default: {}, i.e. ssmn_rl.agents.hyperparams.ALGO_DEFAULTS -- ES population_size 64 -- "
                        "then the class defaults; the same on every env)")
    p.add_argument("--env-kwargs", type=lambda s: _json_arg(s, "--env-kwargs"), default={},
                   help="keyword arguments of gymnasium.make as JSON, e.g. '{\"difficulty\": \"hard\"}'")
    p.add_argument("--backend", choices=("inline", "process", "ray"), default=None,
                   help="where rollouts run: ES members, PPO env runners (default: inline, in this process)")
    p.add_argument("--n-workers", type=positive_int, default=None,
                   help="rollout workers (default: 1 inline, one per CPU for process and ray; PPO: at most n_envs)")
    p.add_argument("--ray-address", default=None,
                   help="join this Ray cluster, e.g. 'auto' (default: start a local Ray instance; backend ray)")
    p.add_argument("--eval-episodes", type=positive_int, default=20,
                   help="deterministic episodes of the final evaluation (evaluations during training use "
                        "at most 10)")
    p.add_argument("--eval-freq", type=positive_int, default=None,
                   help="evaluate every N env steps during training (default: a tenth of the run)")
    p.add_argument("--stop-at", type=float, default=None,
                   help="stop when an evaluation's mean return reaches this (default: train the full budget)")
    p.add_argument("--checkpoint-freq", type=non_negative_int, default=0,
                   help="also save a resumable checkpoint under <run>/checkpoints/ every N env steps "
                        "(0: none; Ctrl-C always saves one)")
    p.add_argument("--resume", default=None,
                   help="checkpoint .npz to continue from (default: start fresh)")
    p.add_argument("--out", default="runs", help="parent folder of the run directory")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=cmd_train)

    b = add_parser(subparsers, "bench-suite", "benchmark the agents' defaults against RecurrentPPO on the suite",
                   description="Train SSMN-PPO, SSMN-ES (the defaults of `ssmn-rl train`) and sb3-contrib "
                               "RecurrentPPO (rl-zoo3-style settings) on the suite's tasks with equal env steps and "
                               "several seeds; print a table of final mean returns (deterministic evaluation "
                               "episodes) and wall times, and write a JSON report and a plot under --out.",
                   epilog="examples:\n"
                          "  ssmn-rl bench-suite                                        # everything (hours)\n"
                          "  ssmn-rl bench-suite --tasks CartPole-v1 --seeds 0 --steps-scale 0.1\n"
                          "  ssmn-rl bench-suite --algos ssmn-ppo recurrent-ppo --jobs 4")
    from .suite import add_arguments
    add_arguments(b)
    b.set_defaults(func=cmd_bench_suite)

    e = add_parser(subparsers, "evaluate", "evaluate the agent of a run directory",
                   description="Reload RUN_DIR/model.npz (a finished run or one stopped with Ctrl-C) and report "
                               "its mean return.",
                   epilog="example:\n  ssmn-rl evaluate runs/<run dir> --episodes 50")
    e.add_argument("run_dir", help="run directory written by `ssmn-rl train` (holds config.json and model.npz)")
    e.add_argument("--episodes", type=positive_int, default=20, help="episodes to run")
    e.add_argument("--seed", type=non_negative_int, default=10_000, help="seed of the first episode")
    e.add_argument("--stochastic", action="store_true", help="sample actions instead of taking the mode")
    e.add_argument("--model", choices=("final", "best"), default="final",
                   help="which agent of the run: model.npz (final) or best_model.npz (best evaluation "
                        "during training)")
    e.set_defaults(func=cmd_evaluate)


def _plot_synapses(agent, env, path, seed) -> None:
    """Run one deterministic episode and picture the fast weights at its end."""
    import matplotlib
    matplotlib.use("Agg")  # a command line draws files, never windows
    import matplotlib.pyplot as plt

    from ..plotting import episode_statistics

    fig = agent.policy.model.plot_synaptic_state(episode_statistics(agent, env, seed=seed)["state"])
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _baselines(env_id, env_kwargs=None) -> dict:
    try:
        from ..envs.baselines import run_policy
        return {name: float(np.mean(run_policy(env_id, name, 20, 0, **(env_kwargs or {}))))
                for name in ("random", "memoryless")}
    except Exception:  # noqa: BLE001 - an env without reference policies simply gets no reference lines
        return {}


def _plot_curve(run: pathlib.Path, env_id: str, algo: str, env_kwargs=None) -> None:
    from ..plotting import plot_learning_curve

    if (run / "logs" / "progress.csv").is_file():
        plot_learning_curve(run, run / "learning_curve.png", baselines=_baselines(env_id, env_kwargs),
                            title=f"{algo.upper()} on {env_id}")


def _resume_command(args, path) -> str:
    parts = ["ssmn-rl train", f"--env {args.env}", f"--algo {args.algo}", f"--resume {path}", f"--out {args.out}"]
    return " ".join(parts)


def _interrupted(agent, run: pathlib.Path, args) -> int:
    """Ctrl-C during training: save a resumable checkpoint where `evaluate` looks for the agent."""
    path = run / "model.npz"
    agent.save(path, checkpoint=True)
    try:
        _plot_curve(run, args.env, args.algo, args.env_kwargs)
    except Exception as e:  # noqa: BLE001 - the checkpoint matters, the picture does not
        print(f"(learning curve not drawn: {e})", file=sys.stderr)
    print(f"\ninterrupted after {agent.num_timesteps:,} env steps; checkpoint saved to {path}")
    print(f"  evaluate it: ssmn-rl evaluate {run}")
    print(f"  resume it:   {_resume_command(args, path)}")
    sys.stdout.flush()
    return INTERRUPTED


def cmd_train(args) -> int:
    from ..cli_helpers import fail
    from ..errors import SSMNError
    from .common.callbacks import CheckpointCallback, EvalCallback, StopTrainingOnRewardThreshold
    from .evaluation import evaluate_policy
    from .hyperparams import defaults_for

    hp = defaults_for(args.env, args.algo)
    total = args.total_timesteps if args.total_timesteps is not None else hp.pop("total_timesteps")
    hp.pop("total_timesteps", None)
    policy_kwargs = {**hp.pop("policy_kwargs", {}), **args.policy_kwargs}
    algo_kwargs = {**hp, **args.algo_kwargs}
    workers = {name: getattr(args, name) for name in ("backend", "n_workers", "ray_address")
               if getattr(args, name) is not None}
    algo_kwargs.update(workers)
    if args.resume and not pathlib.Path(args.resume).is_file():
        return fail("train", f"--resume {args.resume!r}: no such file",
                    "give a checkpoint .npz: <run>/model.npz of an interrupted or finished run, or a file "
                    "under <run>/checkpoints/ (written with --checkpoint-freq)")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run = pathlib.Path(args.out) / f"{args.env.replace('/', '-')}__{args.algo}__{args.seed}__{stamp}"
    cls = _agent_class(args.algo)
    try:
        if args.resume:
            agent = cls.load(args.resume, env=args.env, tensorboard_log=str(run), **workers)
            remaining = max(agent.target_timesteps - agent.num_timesteps, 0)
            if args.total_timesteps is not None:
                remaining = max(args.total_timesteps - agent.num_timesteps, 0)
        else:
            agent = cls(args.policy, args.env, policy_kwargs=policy_kwargs, env_kwargs=args.env_kwargs,
                        seed=args.seed, tensorboard_log=str(run), **algo_kwargs)
            remaining = total
    except SSMNError as e:
        return fail("train", e, "check --env, --policy and the JSON of --policy-kwargs / --algo-kwargs / "
                                "--env-kwargs; `ssmn-rl train --help` lists them with their defaults")
    except TypeError as e:
        return fail("train", e, f"--algo-kwargs keys must be constructor arguments of ssmn_rl.agents."
                                f"{args.algo.upper()} (see its docstring or the API reference)")
    run.mkdir(parents=True, exist_ok=True)
    config = {"env": args.env, "algo": args.algo, "policy": args.policy, "seed": args.seed,
              "total_timesteps": total, "policy_kwargs": agent.policy.policy_kwargs,
              "algo_kwargs": agent.hyperparameters(), "env_kwargs": args.env_kwargs,
              "n_parameters": agent.policy.n_parameters, "resumed_from": args.resume}
    (run / "config.json").write_text(json.dumps(config, indent=2, default=str))
    print(f"run directory: {run}")
    print(f"{args.algo.upper()} on {args.env}: SSMN variant {agent.policy.variant!r}, "
          f"{agent.policy.n_parameters} parameters, {remaining:,} env steps (Ctrl-C stops and saves a checkpoint)")
    sys.stdout.flush()
    import gymnasium as gym

    eval_cb = EvalCallback(gym.make(args.env, **args.env_kwargs), n_eval_episodes=min(args.eval_episodes, 10),
                           eval_freq=args.eval_freq or max(remaining // 10, 1), best_model_save_path=run,
                           callback_after_eval=(StopTrainingOnRewardThreshold(args.stop_at)
                                                if args.stop_at is not None else None))
    callbacks = [eval_cb]
    if args.checkpoint_freq:
        callbacks.append(CheckpointCallback(args.checkpoint_freq, run / "checkpoints"))
    t0 = time.time()
    try:
        agent.learn(remaining, callback=callbacks, tb_log_name="logs", progress_bar=not args.no_progress,
                    reset_num_timesteps=not args.resume)
    except KeyboardInterrupt:
        return _interrupted(agent, run, args)
    except SSMNError as e:
        return fail("train", e, code=1)
    train_s = time.time() - t0
    agent.save(run / "model.npz")
    try:
        best = _keep_best(agent, eval_cb, run)
        print(f"evaluating on {args.eval_episodes} deterministic episodes ...", flush=True)
        rewards, lengths = evaluate_policy(agent, gym.make(args.env, **args.env_kwargs), args.eval_episodes,
                                           deterministic=True, return_episode_rewards=True, seed=10_000)
        result = {"mean_return": float(np.mean(rewards)), "std_return": float(np.std(rewards)),
                  "mean_length": float(np.mean(lengths)), "episodes": len(rewards), "train_seconds": train_s,
                  "env_steps": agent.num_timesteps, "deterministic": True, "best_model": best}
        (run / "evaluation.json").write_text(json.dumps(result, indent=2))
        _plot_curve(run, args.env, args.algo, args.env_kwargs)
        _plot_synapses(agent, gym.make(args.env, **args.env_kwargs), run / "synaptic_state.png", seed=10_000)
    except KeyboardInterrupt:
        print(f"\ninterrupted after training; the trained agent is saved in {run / 'model.npz'}\n"
              f"  evaluate it: ssmn-rl evaluate {run}")
        return INTERRUPTED
    _print_eval(args.env, result)
    print(f"  best model    {best['eval_mean_return']:10.2f} during training ({best['eval_episodes']} episodes) "
          f"at {best['env_steps']:,} env steps -> best_model.npz")
    print(f"artefacts: {run}/{{model.npz, best_model.npz, config.json, logs/, learning_curve.png, "
          "synaptic_state.png, evaluation.json}")
    return 0


def _keep_best(agent, eval_cb, run: pathlib.Path) -> dict:
    """Make ``best_model.npz`` the best of the training-time evaluations and the final agent (scored
    on the same episodes when the last evaluation came before the end); returns its description."""
    from .evaluation import evaluate_policy

    steps = eval_cb.evaluations_timesteps
    if not steps or steps[-1] != agent.num_timesteps:
        rewards, _ = evaluate_policy(agent, eval_cb.eval_env, eval_cb.n_eval_episodes, eval_cb.deterministic,
                                     return_episode_rewards=True, seed=eval_cb.seed)
        if float(np.mean(rewards)) > eval_cb.best_mean_reward or not (run / "best_model.npz").is_file():
            eval_cb.best_mean_reward = float(np.mean(rewards))
            agent.save(run / "best_model.npz")
        steps = steps + [agent.num_timesteps]
        results = eval_cb.evaluations_results + [rewards]
    else:
        results = eval_cb.evaluations_results
    means = [float(np.mean(r)) for r in results]
    k = int(np.argmax(means))
    return {"path": "best_model.npz", "env_steps": int(steps[k]), "eval_mean_return": means[k],
            "eval_episodes": eval_cb.n_eval_episodes, "eval_seed": eval_cb.seed}


def _print_eval(env_id, r) -> None:
    print(f"\nevaluation on {env_id} ({r['episodes']} episodes, deterministic)")
    print(f"  mean return   {r['mean_return']:10.2f} +/- {r['std_return']:.2f}")
    print(f"  mean length   {r['mean_length']:10.1f}")
    if "train_seconds" in r:
        print(f"  trained       {r['env_steps']:10d} env steps in {r['train_seconds']:.1f} s")


def cmd_bench_suite(args) -> int:
    from ..cli_helpers import fail
    from .suite import run_suite

    try:
        run_suite(args)
    except ValueError as e:
        return fail("bench-suite", e, "`ssmn-rl bench-suite --help` lists the tasks, agents and flags")
    return 0


def cmd_evaluate(args) -> int:
    import gymnasium as gym

    from ..cli_helpers import fail
    from ..errors import SSMNError
    from .evaluation import evaluate_policy

    run = pathlib.Path(args.run_dir)
    cfg_path = run / "config.json"
    model_path = run / ("best_model.npz" if args.model == "best" else "model.npz")
    if not cfg_path.is_file() or not model_path.is_file():
        found = sorted(p.parent for p in run.glob("*/model.npz")) if run.is_dir() else []
        hint = (f"did you mean {found[-1]}? (the newest of {len(found)} run directories inside)" if found else
                "pass the directory that `ssmn-rl train` printed as 'run directory: ...'")
        if cfg_path.is_file() and args.model == "best":
            hint = ("this run has no best_model.npz (it was interrupted before its first evaluation, or written "
                    "by an older ssmn_rl); evaluate model.npz with --model final")
        return fail("evaluate", f"{run} is not a run directory with {model_path.name} (needs config.json and "
                                f"{model_path.name} from `ssmn-rl train`)", hint)
    cfg = json.loads(cfg_path.read_text())
    if cfg.get("algo") not in ALGOS:
        return fail("evaluate", f"{cfg_path} names algo {cfg.get('algo')!r}, expected one of {list(ALGOS)}",
                    "this config.json was not written by `ssmn-rl train`")
    try:
        agent = _agent_class(cfg["algo"]).load(model_path, env=cfg["env"])
        env = gym.make(cfg["env"], **(cfg.get("env_kwargs") or {}))
    except SSMNError as e:
        return fail("evaluate", e, f"{model_path} should be an agent file written by `ssmn-rl train`; "
                                   "train again if it was damaged")
    rewards, lengths = evaluate_policy(agent, env, args.episodes, deterministic=not args.stochastic,
                                       return_episode_rewards=True, seed=args.seed)
    _print_eval(cfg["env"], {"mean_return": float(np.mean(rewards)), "std_return": float(np.std(rewards)),
                             "mean_length": float(np.mean(lengths)), "episodes": len(rewards)})
    return 0
