"""Choose the agents' default policies and settings: a small grid of generic candidates, every
candidate on every sweep task with >= 3 seeds, then leave-one-task-out selection.

A candidate is a full specification (algorithm, SSMN policy_kwargs, constructor arguments): the
same on every task, never tuned per task. ``--algo ppo`` sweeps PPO's candidates, ``--algo es``
ES's (``ssmn-rl train``'s ES settings, population 64, under every ES candidate unless it says
otherwise). Each run trains the agent for ``--steps`` env steps and scores its final policy on
``--eval-episodes`` deterministic episodes (``ssmn_rl.agents.suite.run_one``, the suite
benchmark's code). Per task each candidate's mean return is placed on that task's scale from the
random policy (0) to the oracle (1) (:func:`normalise`; min-max over the candidates where a task
has no references), so tasks of every return scale weigh the same; a candidate's score is its mean
normalised return. The older min-max score is printed beside it. Leave-one-task-out: for each
task, the candidate with the best score on the *other* tasks is picked and its (normalised) result
on the held-out task reported -- how well choosing by the sweep transfers to a task it did not
see. The winner is the candidate with the best score over all tasks; its wall time is reported
beside it. The documented runs (README "Agents"):

    python scripts/sweep_defaults.py --candidates generic64 generic64-w16 cell64 generic64-g99 generic64-ent
    python scripts/sweep_defaults.py --candidates w16-g99 w16-cell w16-h32
    python scripts/sweep_defaults.py --candidates w16-h32-modulated
    python scripts/sweep_defaults.py --candidates w16-h32-n128 w16-h32-std --jobs 2
    python scripts/sweep_defaults.py --candidates w16-h32-fast w16-h32-fast-modulated --jobs 2
    python scripts/sweep_defaults.py --reanalyse bench_results/sweep_ppo_round{1,2,3,4,5}.json
    python scripts/sweep_defaults.py --algo es --steps 100000                    # the ES sweep
    python scripts/sweep_defaults.py --steps 4000 --seeds 0 --tasks CartPole-v1   # a smoke run
"""
import argparse
import json
import pathlib
import sys
import time

import numpy as np

from ssmn_rl.agents.suite import reference_returns, run_jobs

PROTOTYPE_POLICY = {"hidden_dim": 16, "window_size": 1, "n_layers": 2, "plasticity_eta": 1.0,
                    "decay_lambda": 0.3, "alpha": -1.0, "preset": "prototype"}
GENERIC_POLICY = {"hidden_dim": 64, "window_size": 8, "n_layers": 2, "position_bias": True, "residual": True,
                  "plasticity_eta": 0.01, "decay_lambda": 0.001, "alpha": 0.3, "preset": "prototype"}
OLD_PPO = {"n_epochs": 10, "normalize_reward": False, "learning_rate": 1e-3, "clip_range": 0.2}
ZOO_PPO = {"n_epochs": 20, "normalize_reward": True, "learning_rate": "lin_1e-3", "clip_range": "lin_0.2"}
CANDIDATES = {
    "old-default": (PROTOTYPE_POLICY, OLD_PPO),
    "generic64": (GENERIC_POLICY, ZOO_PPO),
    "generic32": ({**GENERIC_POLICY, "hidden_dim": 32}, ZOO_PPO),
    "generic32-separate": ({**GENERIC_POLICY, "hidden_dim": 32, "critic": "separate"}, ZOO_PPO),
    "generic32-modulated": ({**GENERIC_POLICY, "hidden_dim": 32, "neuromodulation": True}, ZOO_PPO),
    "generic64-w16": ({**GENERIC_POLICY, "window_size": 16}, ZOO_PPO),
    "cell64": ({"hidden_dim": 64, "window_size": 8, "n_layers": 2, "preset": "default"}, ZOO_PPO),
    "generic64-g99": (GENERIC_POLICY, {**ZOO_PPO, "gamma": 0.99, "gae_lambda": 0.95}),
    "generic64-ent": (GENERIC_POLICY, {**ZOO_PPO, "ent_coef": 0.01}),
    "w16-g99": ({**GENERIC_POLICY, "window_size": 16}, {**ZOO_PPO, "gamma": 0.99, "gae_lambda": 0.95}),
    "w16-cell": ({"hidden_dim": 64, "window_size": 16, "n_layers": 2, "preset": "default"}, ZOO_PPO),
    "w16-h32": ({**GENERIC_POLICY, "window_size": 16, "hidden_dim": 32}, ZOO_PPO),
    "w16-h32-modulated": ({**GENERIC_POLICY, "window_size": 16, "hidden_dim": 32, "neuromodulation": True}, ZOO_PPO),
    "w16-h32-n128": ({**GENERIC_POLICY, "window_size": 16, "hidden_dim": 32}, {**ZOO_PPO, "n_steps": 128}),
    "w16-h32-std": ({**GENERIC_POLICY, "window_size": 16, "hidden_dim": 32}, {**ZOO_PPO, "log_std_init": -0.5}),
    "w16-h32-fast": ({**GENERIC_POLICY, "window_size": 16, "hidden_dim": 32, "plasticity_eta": 0.5,
                      "decay_lambda": 0.1}, ZOO_PPO),
    "w16-h32-fast-modulated": ({**GENERIC_POLICY, "window_size": 16, "hidden_dim": 32, "plasticity_eta": 0.5,
                                "decay_lambda": 0.1, "neuromodulation": True}, ZOO_PPO),
}
ES_POLICY = {"hidden_dim": 16, "window_size": 1, "n_layers": 2, "plasticity_eta": 1.0, "decay_lambda": 0.3,
             "alpha": -1.0, "preset": "prototype"}
ES_CANDIDATES = {
    "es-default": (ES_POLICY, {}),
    "es-pop128": (ES_POLICY, {"population_size": 128}),
    "es-w4-position": ({**ES_POLICY, "window_size": 4, "position_bias": True}, {}),
    "es-generic32": ({**GENERIC_POLICY, "hidden_dim": 32}, {}),
}
#: ``--algo`` -> (suite agent, candidates)
ALGO_CANDIDATES = {"ppo": ("ssmn-ppo", CANDIDATES), "es": ("ssmn-es", ES_CANDIDATES)}
TASKS = ("ssmn/StatelessCartPole-v0", "ssmn/StatelessPendulum-v0", "ssmn/RepeatPrevious-v0", "ssmn/CountRecall-v0",
         "ssmn/CueReward-v0", "ssmn/RegimeStream-v0")


def analyse(results: list, candidates: list, tasks: list, references: dict) -> dict:
    """Per (candidate, task) mean, std and seconds; each mean normalised per task (see
    :func:`normalise`); scores, leave-one-task-out picks and the winner."""
    mean = {(c, t): float(np.mean([r["mean_return"] for r in results if r["candidate"] == c and r["task"] == t]))
            for c in candidates for t in tasks}
    std = {(c, t): float(np.std([r["mean_return"] for r in results if r["candidate"] == c and r["task"] == t]))
           for c in candidates for t in tasks}
    secs = {(c, t): float(np.mean([r["seconds"] for r in results if r["candidate"] == c and r["task"] == t]))
            for c in candidates for t in tasks}
    norm, minmax = {}, {}
    for t in tasks:
        vals = {c: mean[(c, t)] for c in candidates}
        norm.update({(c, t): v for c, v in normalise(vals, references.get(t, {})).items()})
        minmax.update({(c, t): v for c, v in normalise(vals, {}).items()})
    score = {c: float(np.mean([norm[(c, t)] for t in tasks])) for c in candidates}
    minmax_score = {c: float(np.mean([minmax[(c, t)] for t in tasks])) for c in candidates}
    loto = {}
    for held in tasks:
        rest = [t for t in tasks if t != held]
        pick = max(candidates, key=lambda c: np.mean([norm[(c, t)] for t in rest]))
        loto[held] = {"picked": pick, "held_out_normalised": norm[(pick, held)],
                      "held_out_best": max(candidates, key=lambda c: norm[(c, held)])}
    winner = max(candidates, key=lambda c: score[c])
    table = {c: {t: {"mean": mean[(c, t)], "std": std[(c, t)], "seconds": secs[(c, t)],
                     "normalised": norm[(c, t)], "minmax": minmax[(c, t)]} for t in tasks} for c in candidates}
    return {"table": table, "score": score, "minmax_score": minmax_score, "leave_one_task_out": loto,
            "winner": winner}


def normalise(means: dict, refs: dict) -> dict:
    """candidate -> mean return on one task, on a common scale: the share of the way from the
    random policy (0) to the oracle (1) where the task has both references, else min-max over the
    candidates (0: worst, 1: best).

    The reference scale is the one that decides: on a task where every candidate stays at chance
    (RepeatPrevious with a window that cannot see the delay, CountRecall), min-max stretches
    seed noise to the full 0-1 range and lets it outvote real differences elsewhere; on the
    reference scale those tasks add about the same to every candidate."""
    lo, hi = refs.get("random"), refs.get("oracle")
    if lo is None or hi is None or hi == lo:
        lo, hi = min(means.values()), max(means.values())
    return {c: 1.0 if hi == lo else (m - lo) / (hi - lo) for c, m in means.items()}


def print_summary(summary: dict, candidates: list, tasks: list) -> None:
    width = max(len(c) for c in candidates)
    print(f"{'candidate':<{width}}" + "".join(f"{t.split('/')[-1][:22]:>26}" for t in tasks)
          + f"{'score':>8}{'min-max':>9}")
    for c in candidates:
        row = summary["table"][c]
        print(f"{c:<{width}}" + "".join(f"{row[t]['mean']:>10.3f} ±{row[t]['std']:<7.3f}{row[t]['seconds']:>5.0f}s"
                                        for t in tasks)
              + f"{summary['score'][c]:>8.3f}{summary['minmax_score'][c]:>9.3f}")
    for held, v in summary["leave_one_task_out"].items():
        print(f"leave out {held}: picked {v['picked']} (held-out normalised {v['held_out_normalised']:.3f}; "
              f"best there {v['held_out_best']})")
    print(f"winner: {summary['winner']} (score: mean share of the way from random to oracle; "
          "min-max: the older per-task min-max scale, for comparison)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), help="sweep tasks (default: %(default)s)")
    ap.add_argument("--algo", choices=list(ALGO_CANDIDATES), default="ppo", help="agent to sweep (default: ppo)")
    ap.add_argument("--candidates", nargs="+", choices=[*CANDIDATES, *ES_CANDIDATES],
                    help="candidates to run (default: all of --algo's)")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds (default: 0 1 2)")
    ap.add_argument("--steps", type=int, default=40_000, help="env steps per run (default: 40,000)")
    ap.add_argument("--eval-episodes", type=int, default=10, help="evaluation episodes (default: 10)")
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time (default: 1)")
    ap.add_argument("--out", default="bench_results", help="folder of the JSON report (default: bench_results)")
    ap.add_argument("--reanalyse", nargs="+", metavar="REPORT", help="score the runs of earlier sweep reports "
                    "again, together (their candidates, on the tasks they share), instead of running")
    args = ap.parse_args(argv)
    if args.reanalyse:
        reports = [json.loads(pathlib.Path(p).read_text()) for p in args.reanalyse]
        for key in ("steps", "eval_episodes"):
            if len({r["settings"][key] for r in reports}) > 1:
                ap.error(f"--reanalyse: the reports differ in {key}: {[r['settings'][key] for r in reports]}")
        cands = list(dict.fromkeys(c for r in reports for c in r["candidates"]))
        tasks = [t for t in reports[0]["settings"]["tasks"] if all(t in r["settings"]["tasks"] for r in reports)]
        stored = reports[0].get("references") or {}
        refs = {t: stored.get(t) or reference_returns(t, reports[0]["settings"]["eval_episodes"]) for t in tasks}
        print_summary(analyse([x for r in reports for x in r["results"]], cands, tasks, refs), cands, tasks)
        return 0
    agent, candidates = ALGO_CANDIDATES[args.algo]
    args.candidates = args.candidates or list(candidates)
    foreign = [c for c in args.candidates if c not in candidates]
    if foreign:
        ap.error(f"--candidates {foreign} are not --algo {args.algo}'s: {list(candidates)}")
    jobs = []
    for c in args.candidates:
        policy_kwargs, algo_kwargs = candidates[c]
        for t in args.tasks:
            for s in args.seeds:
                jobs.append({"algo": agent, "task": t, "seed": s, "steps": args.steps,
                             "eval_episodes": args.eval_episodes, "policy_kwargs": policy_kwargs,
                             "algo_kwargs": algo_kwargs, "candidate": c})
    t0 = time.perf_counter()
    results = run_jobs(jobs, args.jobs)
    for job, r in zip(jobs, results):
        r["candidate"] = job["candidate"]
    references = {t: reference_returns(t, args.eval_episodes) for t in args.tasks}
    summary = analyse(results, args.candidates, args.tasks, references)
    print_summary(summary, args.candidates, args.tasks)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"sweep_{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"settings": vars(args), "candidates": {c: candidates[c] for c in args.candidates},
                                "total_seconds": time.perf_counter() - t0, "references": references, "results": results, **{
                                    k: v for k, v in summary.items() if k != "table"},
                                "table": summary["table"]}, indent=2))
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
