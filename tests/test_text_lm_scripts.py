"""Smoke tests of the text benchmarks (bench_charlm, bench_recall, bench_generation): each runs end
to end at tiny sizes as a subprocess and writes a JSON report with finite numbers; bench_charlm
and bench_recall also run with PyTorch hidden (no baselines)."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _numbers(obj):
    if isinstance(obj, bool) or obj is None:
        return
    if isinstance(obj, (int, float)):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)


def _run(name, args, tmp_path, hide_torch=False):
    env = dict(os.environ)
    if hide_torch:
        fake = tmp_path / "no_torch" / "torch"
        fake.mkdir(parents=True)
        (fake / "__init__.py").write_text("raise ImportError('torch hidden by the test')\n")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(fake.parent), env.get("PYTHONPATH")]))
    out = tmp_path / f"{name}.json"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / f"{name}.py"), *args, "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert all(math.isfinite(x) for x in _numbers(report))
    return report, proc.stdout


def _torch_installed() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("hide_torch", [False, True])
def test_bench_charlm_tiny(tmp_path, hide_torch):
    data = tmp_path / "tiny.txt"
    data.write_text(("First Citizen:\nBefore we proceed any further, hear me speak.\n\n" * 60))
    report, out = _run("bench_charlm", ["--data", str(data), "--minutes", "0.05", "--eval-every", "1",
                                        "--hidden", "16", "--embed", "8", "--batch", "4", "--chunk", "16"],
                       tmp_path, hide_torch)
    ssmn = report["ssmn"]
    assert ssmn["curve"] and ssmn["best_val_loss"] < math.log(30)
    assert "Validation nats/char against training time" in out and "Sample" in out
    if hide_torch or not _torch_installed():
        assert report["gru"] is None and "no GRU baseline" in out
    else:
        gru = report["gru"]
        assert gru["curve"] and gru["threads"] == 2
        assert abs(gru["n_parameters"] - ssmn["n_parameters"]) / ssmn["n_parameters"] < 0.05


def test_bench_charlm_missing_data(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_charlm.py"), "--data",
                           str(tmp_path / "nope.txt")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "not found" in proc.stderr


@pytest.mark.parametrize("hide_torch", [False, True])
def test_bench_recall_tiny(tmp_path, hide_torch):
    report, out = _run("bench_recall", ["--n-train", "256", "--n-test", "64", "--epochs", "1",
                                        "--hidden", "8", "--mq-hidden", "8", "--mq-pairs", "6",
                                        "--mq-queries", "3", "--mq-window", "4"], tmp_path, hide_torch)
    names = {r["model"] for r in report["retrieval"]}
    assert {"SSMN w=11", "SSMN w=2"} <= names
    assert ("GRU" in names) is (not hide_torch and _torch_installed())
    assert {r["model"] for r in report["mqar"]} >= {"SSMN rho=0 (window)", "SSMN rho=0.5"}
    assert all(0 <= r["test_error"] <= 1 for r in report["retrieval"])


def test_bench_generation_small(tmp_path):
    report, out = _run("bench_generation", ["--vocab", "500", "--hidden", "32", "--embed", "32",
                                            "--window", "16", "--tokens", "50", "--repeats", "1"], tmp_path)
    assert sorted(report["by_threads"]) == ["1", "2"]
    for run in report["by_threads"].values():
        assert len(run["rows"]) == 4 and all(r["median_tokens_per_s"] > 0 for r in run["rows"])
    assert "tokens/s" in out and "ratio" in out
