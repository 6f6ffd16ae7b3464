"""Smoke tests of the benchmark scripts: each runs end to end in --quick mode as a subprocess and
writes a JSON report whose measured numbers are finite and positive. The kernel benchmark must
also run where PyTorch is missing (simulated by shadowing the torch package)."""
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH_KERNELS = ROOT / "scripts" / "bench_kernels.py"
HAS_TORCH = importlib.util.find_spec("torch") is not None


def _numbers(obj):
    """Every int/float (not bool) inside a JSON value."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return
    if isinstance(obj, (int, float)):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)


def _positive(value, what):
    assert value is not None and math.isfinite(value) and value > 0, f"{what} = {value!r}"


def _run_quick(tmp_path, env=None) -> tuple[dict, str]:
    out = tmp_path / "b.json"
    proc = subprocess.run([sys.executable, str(BENCH_KERNELS), "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(out.read_text()), proc.stdout


def _hide_torch(tmp_path) -> dict:
    """Environment whose Python finds a `torch` package that fails to import, as if not installed."""
    fake = tmp_path / "no_torch" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('torch hidden by test_bench_scripts')\n")
    path = os.pathsep.join(filter(None, [str(fake.parent), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def _check_common(report: dict, stdout: str) -> None:
    for section in ("meta", "streaming", "batched", "memory", "headline", "targets"):
        assert section in report, f"missing section {section!r}"
    assert all(math.isfinite(x) for x in _numbers(report)), "a number in the report is not finite"
    assert len(report["streaming"]) == 6
    for r in report["streaming"]:
        for key in ("ssmn_us", "naive_us", "naive_over_ssmn", "ssmn_gflops"):
            _positive(r[key], f"streaming {key}")
        assert r["naive_vs_ssmn_max_abs_diff"] < 1e-3  # same outputs as forward_step
    for r in report["batched"]["rows"]:
        for key in ("ssmn_fwd_tok_s", "ssmn_fb_tok_s", "ssmn_fwd_gflops", "ssmn_fb_gflops"):
            _positive(r[key], f"batched {key}")
    _positive(report["batched"]["ceiling"]["matmul_gflops"], "matmul ceiling")
    mem = report["memory"]
    for key in ("hwm_kb_small", "hwm_kb_large", "tokens_per_s"):
        _positive(mem[key], f"memory {key}")
    for r in report["headline"]["rows"]:
        _positive(r["ssmn"]["seconds"], "headline SSMN seconds")
    assert "Summary of targets" in stdout
    assert all(t["pass"] in (True, False, None) for t in report["targets"])


@pytest.mark.slow
@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
def test_bench_kernels_quick_with_torch(tmp_path):
    report, stdout = _run_quick(tmp_path)
    _check_common(report, stdout)
    assert report["meta"]["torch"] is not None
    for r in report["streaming"]:
        _positive(r["gru_cell_us"], "streaming GRUCell µs")
        _positive(r["torch_cell_us"], "streaming torch cell µs")
    for r in report["batched"]["rows"]:
        for key in ("torch_cell_fwd_tok_s", "torch_cell_fb_tok_s", "gru_fwd_tok_s", "gru_fb_tok_s"):
            _positive(r[key], f"batched {key}")
        assert r["torch_cell_max_abs_diff"] < 1e-3  # the torch cell computes the same function
    for r in report["headline"]["rows"]:
        _positive(r["sdpa"]["seconds"], "headline SDPA seconds")
        assert r["sdpa"]["peak_mb"] >= 0


@pytest.mark.slow
def test_bench_kernels_quick_without_torch(tmp_path):
    report, stdout = _run_quick(tmp_path, env=_hide_torch(tmp_path))
    _check_common(report, stdout)
    assert report["meta"]["torch"] is None
    assert all(r["gru_cell_us"] is None for r in report["streaming"])
    assert all(r["torch_cell_fb_tok_s"] is None for r in report["batched"]["rows"])
    assert all(r["sdpa"] is None for r in report["headline"]["rows"])
    assert "skipped (no torch)" in stdout


def _run_script(name, args, tmp_path) -> dict:
    out = tmp_path / f"{name}.json"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / f"{name}.py"), *args, "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "|" in proc.stdout  # printed a table
    return json.loads(out.read_text())


def test_bench_rules_quick(tmp_path):
    report = _run_script("bench_rules", ["--quick"], tmp_path)
    rules = {r["rule"]: r for r in report["rows"]}
    assert {"hebbian", "importance", "oja", "delta"} <= set(rules)
    for r in rules.values():
        _positive(r["numpy_us"], f"{r['rule']} numpy_us")
        if r["c_us"] is not None:
            _positive(r["c_us"], f"{r['rule']} c_us")
    assert all(math.isfinite(x) for x in _numbers(report))


def test_bench_envs_small(tmp_path):
    report = _run_script("bench_envs", ["--episodes", "3", "--steps", "500", "--repeats", "1"], tmp_path)
    assert all(math.isfinite(x) for x in _numbers(report))


def test_bench_plasticity_quick(tmp_path):
    png = tmp_path / "plasticity.png"
    report = _run_script("bench_plasticity", ["--quick", "--png", str(png), "--modulation", "plain", "neuromod"],
                         tmp_path)
    assert png.is_file() and png.stat().st_size > 0
    rows = report["summary"]
    envs = ("ssmn/StatelessCartPole-v0", "ssmn/ShiftingCartPole-v0", "ssmn/CueReward-v0")
    assert {(r["env"], r["plastic_ratio"], r["modulation"]) for r in rows} == {
        (e, p, m) for e in envs for p, m in ((0.0, "plain"), (0.5, "plain"), (0.5, "neuromod"))}
    for r in rows:
        assert 0 <= r["final_return"] <= (1 if r["env"] == "ssmn/CueReward-v0" else 500)
        if r["env"] != "ssmn/ShiftingCartPole-v0":
            assert r["post_shift_return"] is None and r["n_shifts"] == 0   # no shifts in this env
    gated = [r for r in rows if r["modulation"] == "neuromod"]
    plain = [r for r in rows if r["modulation"] == "plain" and r["plastic_ratio"] == 0.5]
    assert all(g["n_parameters"] > p["n_parameters"] for g, p in zip(gated, plain))  # the gates' weights
    assert len(report["runs"]) == 9
    assert all(math.isfinite(x) for x in _numbers(report))
