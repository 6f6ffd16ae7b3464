"""The suite benchmark (scripts/bench_suite.py, `ssmn-rl bench-suite`) and the defaults it checks."""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import ssmn_rl  # noqa: F401
from ssmn_rl.agents import suite
from ssmn_rl.agents.hyperparams import TABLE, defaults_for
from ssmn_rl.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_suite_lists_the_fourteen_tasks_of_the_issue():
    assert len(suite.TASKS) == 14
    assert sum(t.startswith("ssmn/") for t in suite.TASKS) == 10  # the 9 memory tasks + CueReward
    assert {"CartPole-v1", "Acrobot-v1", "Pendulum-v1", "MountainCarContinuous-v0"} <= set(suite.TASKS)
    import gymnasium as gym
    assert all(t in gym.registry for t in suite.TASKS)


def test_hyperparams_table_sets_only_the_budget():
    """Defaults are the same on every task: the per-env table may only set total_timesteps."""
    assert all(set(hp) == {"total_timesteps"} for hp in TABLE.values())
    for algo in ("es", "ppo"):
        a, b = defaults_for("ssmn/StatelessCartPole-v0", algo), defaults_for("Acrobot-v1", algo)
        a.pop("total_timesteps"), b.pop("total_timesteps")
        assert a == b and "policy_kwargs" not in a
    with pytest.raises(ValueError, match="algo must be one of"):
        defaults_for("CartPole-v1", "dqn")


def test_summary_counts_the_acceptance_checks():
    def run(algo, task, seed, ret, secs):
        return {"algo": algo, "task": task, "seed": seed, "mean_return": ret, "seconds": secs, "n_parameters": 1}
    results = [run("ssmn-ppo", "A", s, r, 1.0) for s, r in enumerate((9.0, 10.0, 11.0))]
    results += [run("recurrent-ppo", "A", s, r, 10.0) for s, r in enumerate((9.0, 11.0, 13.0))]  # mean 11, std 1.63
    results += [run("ssmn-ppo", "B", s, 0.1, 1.0) for s in range(3)]
    results += [run("recurrent-ppo", "B", s, r, 10.0) for s, r in enumerate((0.5, 0.5, 0.5))]
    refs = {"A": {"random": 5.0}, "B": {"random": 0.0, "memoryless": 0.2}}
    out = suite.summarise(results, refs)
    assert out["table"]["A"]["ssmn-ppo"]["mean"] == pytest.approx(10.0)
    assert out["checks"]["within_one_std_of_recurrent_ppo"] == {"tasks": 1, "of": 2}  # 10 >= 11 - 1.63
    assert out["checks"]["wall_time_ratio"] == pytest.approx(0.1)
    beats = out["checks"]["beats_memoryless"]
    assert beats["A"] == {"reference": "random", "value": 5.0, "beaten": True}
    assert beats["B"]["reference"] == "memoryless" and not beats["B"]["beaten"]
    text = suite.format_table(out, refs, ["ssmn-ppo", "recurrent-ppo"])
    assert "on 1/2 tasks" in text and "not on B" in text


def test_bench_suite_script_writes_table_json_and_plot(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_suite.py"), "--tasks", "CartPole-v1",
                        "ssmn/CueReward-v0", "--algos", "ssmn-ppo", "ssmn-es", "--seeds", "0", "--steps-scale",
                        "0.01", "--eval-episodes", "2", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    (path,) = tmp_path.glob("suite_*.json")
    report = json.loads(path.read_text())
    assert path.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {(x["algo"], x["task"]) for x in report["results"]} == {
        (a, t) for a in ("ssmn-ppo", "ssmn-es") for t in ("CartPole-v1", "ssmn/CueReward-v0")}
    assert all(x["steps"] >= 1000 and x["seconds"] > 0 for x in report["results"])
    assert set(report["references"]["ssmn/CueReward-v0"]) == {"random", "memoryless", "oracle"}
    assert set(report["references"]["CartPole-v1"]) == {"random"}
    assert "ssmn/CueReward-v0" in r.stdout and "beats the memory-less" in r.stdout


def test_an_earlier_reports_runs_join_the_table_with_include(tmp_path, capsys):
    common = ["--tasks", "CartPole-v1", "--seeds", "0", "--steps-scale", "0.01", "--eval-episodes", "2"]
    assert main(["bench-suite", *common, "--algos", "ssmn-es", "--out", str(tmp_path / "a")]) == 0
    (earlier,) = (tmp_path / "a").glob("suite_*.json")
    assert main(["bench-suite", *common, "--algos", "ssmn-ppo", "--include", str(earlier),
                 "--out", str(tmp_path / "b")]) == 0
    (path,) = (tmp_path / "b").glob("suite_*.json")
    report = json.loads(path.read_text())
    assert sorted(r["algo"] for r in report["results"]) == ["ssmn-es", "ssmn-ppo"]
    (es,) = [r for r in report["results"] if r["algo"] == "ssmn-es"]
    assert es["included_from"] == str(earlier) and report["settings"]["included"] == [str(earlier)]
    assert set(report["table"]["CartPole-v1"]) == {"ssmn-es", "ssmn-ppo"}
    # a report of another budget is refused, naming the setting
    assert main(["bench-suite", "--tasks", "CartPole-v1", "--seeds", "0", "--steps-scale", "0.02",
                 "--eval-episodes", "2", "--algos", "ssmn-ppo",
                 "--include", str(earlier), "--out", str(tmp_path / "c")]) == 2
    assert "was run with steps_scale=0.01, this run has 0.02" in capsys.readouterr().err


def test_bench_suite_command_refuses_unknown_tasks(capsys):
    assert main(["bench-suite", "--tasks", "Nope-v0", "--algos", "ssmn-ppo"]) == 2
    err = capsys.readouterr().err
    assert "'Nope-v0' is not a registered Gymnasium id" in err and "HINT:" in err


@pytest.mark.slow
# Three suite tasks of three kinds: within-lifetime learning (CueReward, 60k steps), recall of the
# token 8 steps back (RepeatPrevious, 200k; at chance with the old window-8 default), and a classic
# control task (CartPole-v1, 100k). The width-32 default keeps the three inside CI's budget.
@pytest.mark.parametrize("env_id", ["ssmn/CueReward-v0", "ssmn/RepeatPrevious-v0", "CartPole-v1"])
def test_train_with_no_flag_beats_the_memoryless_baseline(env_id, tmp_path):
    """`ssmn-rl train --env <id> --algo ppo` and nothing else (but where to write) learns above the
    best memory-less policy (random where the task has none), on the same evaluation episodes."""
    assert main(["train", "--env", env_id, "--algo", "ppo", "--out", str(tmp_path), "--no-progress"]) == 0
    (run,) = tmp_path.iterdir()
    got = json.loads((run / "evaluation.json").read_text())["mean_return"]
    refs = suite.reference_returns(env_id, 20)
    ref = refs.get("memoryless", refs["random"])
    assert got > ref + 0.05 * abs(ref), (got, refs)
    assert np.isfinite(got)


def _sweep_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("sweep_defaults", ROOT / "scripts" / "sweep_defaults.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sweep_scores_on_the_random_to_oracle_scale_so_chance_level_noise_cannot_decide():
    sweep = _sweep_module()
    def run(c, t, ret):
        return {"candidate": c, "task": t, "mean_return": ret, "seconds": 1.0}
    # "solid" learns task A; "noisy" is 0.01 better on B, where both are at chance
    results = [run("solid", "A", 400.0), run("noisy", "A", 100.0), run("solid", "B", 0.12), run("noisy", "B", 0.13)]
    refs = {"A": {"random": 20.0, "oracle": 500.0}, "B": {"random": 0.12, "oracle": 1.0}}
    out = sweep.analyse(results, ["solid", "noisy"], ["A", "B"], refs)
    assert out["winner"] == "solid"
    assert out["table"]["solid"]["A"]["normalised"] == pytest.approx(380 / 480)
    assert out["minmax_score"] == {"solid": 0.5, "noisy": 0.5}  # the older scale could not tell them apart
    # without references a task falls back to min-max over the candidates
    assert sweep.normalise({"x": 1.0, "y": 3.0}, {}) == {"x": 0.0, "y": 1.0}
    assert out["leave_one_task_out"]["B"]["picked"] == "solid"
