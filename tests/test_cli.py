"""The command line guides its user: every option's help states its default, every error ends with
a HINT, long work shows progress with an ETA, Ctrl-C during `ssmn-rl train` leaves a loadable,
resumable checkpoint and says where; and `ssmn-rl plot` (with the helpers of ssmn_rl.plotting)
draws every kind of figure from run directories, model files and series."""
import argparse
import json
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ssmn_rl.cli import HelpFormatter, build_parser, main

ROOT = pathlib.Path(__file__).resolve().parent.parent
TINY_ES = ["--total-timesteps", "600", "--algo-kwargs", '{"population_size": 8}', "--eval-episodes", "2"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _parsers(parser=None, prefix="ssmn-rl"):
    parser = parser or build_parser()
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{prefix} {name}")


def _is_png(path) -> bool:
    path = pathlib.Path(path)
    return path.is_file() and path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 5_000


# ---------------------------------------------------------------------------------- help
def test_every_option_of_every_command_states_its_default():
    seen = 0
    for command, parser in _parsers():
        assert parser.description, f"`{command}` has no description"
        formatter = HelpFormatter(command)
        for action in parser._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS or "-h" in action.option_strings:
                continue
            text = formatter._get_help_string(action) or ""
            assert "default" in text, f"`{command} {action.option_strings[0]}` does not say its default: {text!r}"
            seen += 1
    assert seen >= 40


def test_help_of_train_shows_the_defaults_and_ctrl_c(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # whatever the terminal width
    for text in ("(default: ssmn/StatelessCartPole-v0)", "(default: es)", "(default: 20)", "(default: runs)",
                 "ssmn/StatelessCartPole-v0: 400,000", "Ctrl-C"):
        assert text in out, text


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("argv,expect", [
    (["frobnicate"], "invalid choice"),
    (["recall", "--window", "0"], "expected an integer >= 1, got 0"),
    (["train", "--total-timesteps", "-5"], "expected an integer >= 0, got -5"),
    (["train", "--policy-kwargs", "{bad"], "must be a JSON object"),
    (["train", "--algo", "dqn"], "invalid choice: 'dqn'"),
    (["plot", "stream", "x", "--steps", "zero"], "expected an integer >= 1"),
])
def test_usage_errors_end_with_a_hint(argv, expect, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert expect in err
    assert err.rstrip().splitlines()[-1].startswith("HINT:"), err
    assert not list(tmp_path.iterdir()), "a refused command must not leave files behind"


@pytest.mark.parametrize("argv,expect,hint", [
    (["train", "--env", "Nope-v0", "--out", "runs"], "cannot be made", "HINT:"),
    (["train", "--policy-kwargs", '{"hidden_dim": -1}', "--out", "runs"], "hidden_dim", "--policy-kwargs"),
    (["train", "--algo-kwargs", '{"foo": 1}', "--out", "runs"], "foo", "constructor arguments of ssmn_rl.agents.ES"),
    (["train", "--algo", "ppo", "--backend", "process", "--n-workers", "99", "--out", "runs"],
     "n_workers=99 exceeds n_envs", "n_workers <= n_envs"),
    (["train", "--resume", "missing.npz", "--out", "runs"], "no such file", "--checkpoint-freq"),
    (["evaluate", "."], "not a run directory", "run directory: ..."),
    (["info", "missing.ssmn"], "does not exist", "model files are written by"),
    (["plot", "curve", "."], "holds no training log", "ssmn-rl recall"),
    (["plot", "stream", "."], "holds no model.npz", "SSMN.save"),
    (["plot", "forecast", "missing.csv"], "does not exist", "one value of the series per row"),
])
def test_runtime_errors_say_what_to_do_next(argv, expect, hint, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err
    assert code in (1, 2)
    assert err.startswith(f"ssmn-rl {argv[0]}") and expect in err, err
    assert "HINT:" in err and hint in err, err
    assert not (tmp_path / "runs").exists(), "a refused train must not create a run directory"


def test_evaluate_suggests_the_run_inside_a_parent_folder(trained_run, capsys):
    assert main(["evaluate", str(trained_run.parent)]) == 2
    assert f"did you mean {trained_run}" in capsys.readouterr().err


# ---------------------------------------------------------------------------------- runs
@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", *TINY_ES, "--out", str(out), "--no-progress"]) == 0
    (run,) = out.iterdir()
    return run


@pytest.fixture(scope="module")
def recall_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("recall") / "recall"
    assert main(["recall", "--iterations", "20", "--quiet", "--out", str(out)]) == 0
    return out


def test_train_shows_a_progress_bar_with_an_eta(tmp_path, capsys):
    assert main(["train", *TINY_ES, "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "step/s" in err and "<" in err, err[-500:]  # tqdm: [elapsed<remaining, rate]


def test_recall_shows_progress_with_an_eta(tmp_path, capsys):
    assert main(["recall", "--iterations", "10", "--eval-every", "5", "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "10/10" in err and "ETA" in err


def test_ctrl_c_in_train_saves_a_checkpoint_that_evaluate_and_resume_use(tmp_path, capsys, monkeypatch):
    """A KeyboardInterrupt raised inside learn (after two generations) exits 130 and leaves
    <run>/model.npz: a checkpoint that ES.load reads, `ssmn-rl evaluate` scores and `--resume`
    continues."""
    from ssmn_rl.agents import ES

    real_learn = ES.learn

    def interrupted_learn(self, total, callback=None, **kw):
        def stop(locals_, globals_):
            if locals_["self"]._iteration >= 2:
                raise KeyboardInterrupt
        return real_learn(self, total, callback=[*callback, stop], **kw)

    monkeypatch.setattr(ES, "learn", interrupted_learn)
    code = main(["train", "--total-timesteps", "100000", "--algo-kwargs", '{"population_size": 8}',
                 "--out", str(tmp_path), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 130
    (run,) = tmp_path.iterdir()
    model = run / "model.npz"
    assert f"checkpoint saved to {model}" in out and f"ssmn-rl evaluate {run}" in out and "--resume" in out
    agent = ES.load(model)
    assert agent._iteration == 2 and 0 < agent.num_timesteps < 100_000 and agent._total_timesteps == 100_000
    monkeypatch.setattr(ES, "learn", real_learn)
    assert main(["evaluate", str(run), "--episodes", "1"]) == 0
    assert main(["train", "--resume", str(model), "--total-timesteps", str(agent.num_timesteps + 300),
                 "--out", str(tmp_path / "resumed"), "--no-progress", "--eval-episodes", "1"]) == 0
    (resumed,) = (tmp_path / "resumed").iterdir()
    assert ES.load(resumed / "model.npz").num_timesteps > agent.num_timesteps


def test_sigint_during_train_leaves_a_loadable_model_and_prints_its_path(tmp_path):
    """The real thing: SIGINT to a running `ssmn-rl train` process."""
    from ssmn_rl.agents import ES

    proc = subprocess.Popen([sys.executable, "-m", "ssmn_rl.cli", "train", "--total-timesteps", "10000000",
                             "--algo-kwargs", '{"population_size": 8}', "--out", str(tmp_path), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 120
        while not list(tmp_path.glob("*/logs/progress.csv")):  # training has started
            assert proc.poll() is None and time.time() < deadline, proc.communicate()
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-2000:]
    (run,) = tmp_path.glob("*__es__0__*")
    assert f"checkpoint saved to {run / 'model.npz'}" in out
    agent = ES.load(run / "model.npz")
    assert agent.num_timesteps > 0
    assert json.loads((run / "config.json").read_text())["algo"] == "es"


# ---------------------------------------------------------------------------------- plot
def test_info_summarises_the_agent_file_that_train_writes(trained_run, capsys):
    for target in (trained_run / "model.npz", trained_run):
        assert main(["info", str(target)]) == 0
        out = capsys.readouterr().out
        assert f"ssmn_rl agent file {trained_run / 'model.npz'}" in out
        assert "algorithm  ES" in out and "env steps on" in out and "observation Box" in out
        assert "policy network:" in out and "SSMN variant=standard" in out and "plasticity rule=hebbian" in out
    assert f"best model (best deterministic evaluation during training): {trained_run / 'best_model.npz'}" in out
    assert main(["info", str(trained_run / "best_model.npz")]) == 0
    assert "algorithm  ES" in capsys.readouterr().out


def test_info_refuses_a_file_that_is_neither_model_nor_agent(tmp_path, capsys):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    assert main(["info", str(tmp_path / "other.npz")]) == 1
    err = capsys.readouterr().err
    assert "is not an ssmn_rl model file" in err and "HINT:" in err


def test_plot_every_kind_from_a_train_run(trained_run, capsys):
    for kind, name in (("curve", "learning_curve"), ("synapses", "synaptic_state"), ("stream", "stream_statistics")):
        target = trained_run / f"{name}.png"
        target.unlink(missing_ok=True)
        assert main(["plot", kind, str(trained_run)]) == 0
        assert _is_png(target) and f"wrote {target}" in capsys.readouterr().out
    out = trained_run / "agent_stream.png"
    assert main(["plot", "stream", str(trained_run / "model.npz"), "--steps", "20", "--out", str(out)]) == 0
    assert _is_png(out)


def test_plot_every_kind_from_a_recall_run(recall_run, tmp_path):
    for kind in ("curve", "synapses", "stream"):
        out = tmp_path / f"{kind}.png"
        assert main(["plot", kind, str(recall_run), "--out", str(out), "--dpi", "50"]) == 0
        assert _is_png(out)
    # the model file alone: a stream of noise, named after the file
    assert main(["plot", "stream", str(recall_run / "model.ssmn"), "--steps", "50"]) == 0
    assert _is_png(recall_run / "model_stream_statistics.png")
    rows = np.random.default_rng(0).standard_normal((30, 6))
    np.save(tmp_path / "x.npy", rows)
    assert main(["plot", "synapses", str(recall_run / "model.ssmn"), "--input", str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "s.png")]) == 0
    assert _is_png(tmp_path / "s.png")


def test_plot_stream_of_a_language_model_reads_a_text(tmp_path):
    from ssmn_rl.text import SSMNLanguageModel

    text = "to be or not to be, that is the question. " * 10
    SSMNLanguageModel(hidden_dim=16, embed_dim=8, max_epochs=1, random_state=0).fit(text).save(tmp_path / "lm")
    (tmp_path / "t.txt").write_text(text)
    assert main(["plot", "stream", str(tmp_path / "lm"), "--input", str(tmp_path / "t.txt"), "--steps", "40"]) == 0
    assert _is_png(tmp_path / "lm" / "stream_statistics.png")
    assert main(["plot", "stream", str(tmp_path / "lm"), "--steps", "30", "--out", str(tmp_path / "gen.png")]) == 0
    assert _is_png(tmp_path / "gen.png")


def test_plot_forecast_of_a_csv_series(tmp_path, capsys):
    t = np.arange(400)
    (tmp_path / "s.csv").write_text("time,value\n" + "\n".join(f"{i},{np.sin(i / 5):.6f}" for i in t))
    assert main(["plot", "forecast", str(tmp_path / "s.csv"), "--test", "40", "--hidden", "16"]) == 0
    out = capsys.readouterr().out
    assert "on 360 values, forecasting the last 40" in out
    assert _is_png(tmp_path / "s_forecast.png")
    assert main(["plot", "forecast", str(tmp_path / "s.csv"), "--column", "5"]) == 2
    assert "out of range" in capsys.readouterr().err


def test_plotting_helpers_directly(tmp_path):
    from ssmn_rl import SSMN
    from ssmn_rl import plotting

    m = SSMN("custom_split", input_dim=3, hidden_dim=8, output_dim=2, window_size=4, n_layers=2,
             plastic_ratio=0.5, seed=0)
    X = np.random.default_rng(0).standard_normal((25, 3))
    stats = plotting.stream_statistics(m, X)
    assert stats["attention_entropy"].shape == (25,) and stats["synaptic_energy"].shape == (25, 1)
    np.testing.assert_allclose(stats["outputs"], m.forward(X), rtol=1e-5, atol=1e-6)  # same as one call
    assert stats["state"].steps.tolist() == [25]
    # the entropy never exceeds that of uniform attention over the filled window
    assert np.all(stats["attention_entropy"] <= np.log(np.minimum(np.arange(25) + 1, 4)) + 1e-5)
    fig = plotting.plot_stream_statistics(stats, tmp_path / "s.png", marks={4: "x"})
    assert _is_png(tmp_path / "s.png") and len(fig.axes) == 3
    fig = plotting.plot_forecast(np.sin(np.arange(100) / 4), np.sin(np.arange(100, 120) / 4),
                                 one_step=np.sin(np.arange(100, 120) / 4), path=tmp_path / "f.png")
    assert "1-step rolling NRMSE 0" in fig.axes[0].get_title() and _is_png(tmp_path / "f.png")
    history = {"iteration": [1, 2, 3], "loss": [1.0, 0.5, 0.2], "eval_iteration": [0, 3], "accuracy": [0.2, 0.9]}
    plotting.plot_learning_curve(history, tmp_path / "c.png", chance=0.25)
    assert _is_png(tmp_path / "c.png")
    plotting.plot_learning_curve([{"global_step": 10.0, "charts/episodic_return": 3.0}], tmp_path / "a.png",
                                 baselines={"random": 2.0})
    assert _is_png(tmp_path / "a.png")
    with pytest.raises(FileNotFoundError, match="no training log"):
        plotting.read_history(tmp_path)
    with pytest.raises(ValueError, match="one stream"):
        plotting.stream_statistics(m, X[None])


@pytest.mark.slow
def test_make_figures_quick_writes_every_figure(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_figures.py"), "--quick", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    names = {p.name for p in tmp_path.glob("*.png") if _is_png(p)}
    assert names == {p.name for p in (ROOT / "docs" / "img").glob("*.png")}
