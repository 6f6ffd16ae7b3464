"""The plugin system: built-ins and the out-of-tree distribution are registered through the same
call, third-party rules train, and broken plugins are named and isolated."""
import os
import pathlib
import subprocess
import sys
import types

import numpy as np
import pytest

import ssmn_rl
from ssmn_rl import SSMN, ConfigError, PlasticityRule
from ssmn_rl import plugin_manager as pmod
from ssmn_rl.hookspec import hookimpl
from ssmn_rl.optim import Adam
from ssmn_rl.rule_binding import RuleError

try:
    import ssmn_rule_bcm  # noqa: F401
except ImportError:  # the README's test command installs it
    pytest.fail("the example plugin is not installed. HINT: pip install -e plugins/examples/ssmn-rule-bcm",
                pytrace=False)


@pytest.fixture(autouse=True)
def fresh_registry():
    pmod.reload_plugins()
    yield
    pmod.reload_plugins()


def _small(rule, **kw):
    cfg = dict(input_dim=3, hidden_dim=6, output_dim=2, window_size=3, n_layers=2, plastic_ratio=0.5,
               rule=rule, seed=0, preset="prototype")
    cfg.update(kw)
    return SSMN("custom_split", **cfg)


def test_builtins_and_out_of_tree_plugin_are_listed_with_their_distribution():
    rules = {r["name"]: r for r in ssmn_rl.list_rules()}
    assert {"hebbian", "importance", "oja", "delta", "bcm", "antihebbian"} <= set(rules)
    assert rules["hebbian"]["distribution"] == "ssmn_rl" and rules["hebbian"]["builtin"]
    assert rules["bcm"]["distribution"] == "ssmn-rule-bcm" and rules["bcm"]["version"] == "0.1.0"
    assert rules["bcm"]["kernel"] == "C (plugin)" and rules["antihebbian"]["kernel"] == "NumPy"
    assert {v["name"] for v in ssmn_rl.list_variants()} >= {"standard", "custom_split"}


def test_cli_plugins_lists_everything():
    out = subprocess.run([sys.executable, "-m", "ssmn_rl.cli", "plugins"], capture_output=True, text=True,
                         check=True).stdout
    assert "bcm" in out and "ssmn-rule-bcm" in out and "antihebbian" in out and "custom_split" in out


def test_every_variant_takes_any_rule_by_name():
    X = np.random.default_rng(0).standard_normal((6, 3))
    for rule in ["hebbian", "importance", "oja", "delta", "bcm", "antihebbian"]:
        for variant, ratio in [("standard", 0.2), ("custom_split", 0.5)]:
            m = SSMN(variant, input_dim=3, output_dim=2, hidden_dim=6, n_layers=5, plastic_ratio=ratio,
                     rule=rule, seed=0)
            assert np.isfinite(m.forward(X)).all()


def test_out_of_tree_rule_compiled_c_equals_its_numpy_code():
    X = np.random.default_rng(1).standard_normal((2, 12, 3))
    a = _small("bcm", dtype="float64")
    b = _small("bcm", dtype="float64", rule_backend="numpy")
    assert a.core.binding.kind == "compiled" and b.core.binding.kind == "numpy"
    np.testing.assert_allclose(a.forward(X), b.forward(X), atol=1e-12, rtol=0)
    ga = a.value_and_grad(X, np.zeros((2, 12, 2)))[1]
    gb = b.value_and_grad(X, np.zeros((2, 12, 2)))[1]
    np.testing.assert_allclose(ga, gb, atol=1e-12, rtol=0)


def test_out_of_tree_rule_gradient_matches_finite_differences():
    m = _small("bcm", dtype="float64", plasticity_eta=0.5, rule_params={"theta": 0.3})
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((1, 7, 3)), rng.standard_normal((1, 7, 2))
    theta = m.get_parameters()
    g = m.value_and_grad(X, Y)[1]
    for i in rng.choice(theta.size, 20, replace=False):
        tp, tm = theta.copy(), theta.copy()
        tp[i] += 1e-6
        tm[i] -= 1e-6
        m.set_parameters(tp)
        lp = m.value_and_grad(X, Y)[0]
        m.set_parameters(tm)
        lm = m.value_and_grad(X, Y)[0]
        assert abs(g[i] - (lp - lm) / 2e-6) <= 1e-6 * max(np.abs(g).max(), 1e-8)
    m.set_parameters(theta)


def test_out_of_tree_rule_trains_by_gradient_to_a_lower_loss():
    rng = np.random.default_rng(3)
    m = _small("bcm", hidden_dim=12, plasticity_eta=0.2)
    X = rng.standard_normal((8, 20, 3))
    Y = np.cumsum(X[..., :2], axis=1) * 0.2
    opt = Adam(m.n_parameters, lr=5e-3)
    first = m.value_and_grad(X, Y)[0]
    for _ in range(60):
        loss, g = m.value_and_grad(X, Y)
        m.set_parameters(opt.step(m.get_parameters(), g))
    assert loss < 0.7 * first


def test_numpy_rule_without_vjp_infers_and_trains_without_gradients():
    rng = np.random.default_rng(4)
    m = _small("antihebbian", plasticity_eta=0.1)
    X = rng.standard_normal((4, 10, 3))
    Y = X[..., :2] * 0.5
    with pytest.raises(ConfigError, match=r"rule 'antihebbian' \(plugin 'bcm', distribution ssmn-rule-bcm "
                                          r"0.1.0\) has no vjp.*HINT"):
        m.value_and_grad(X, Y)

    def loss(theta):
        m.set_parameters(theta)
        return float(np.mean((m.forward(X) - Y) ** 2))

    theta = m.get_parameters()
    best = first = loss(theta)
    for _ in range(60):  # a plain (1+1) evolution strategy
        cand = theta + rng.standard_normal(theta.size).astype(theta.dtype) * 0.02
        c = loss(cand)
        if c < best:
            theta, best = cand, c
    assert best < 0.9 * first


def test_rule_params_out_of_range_are_refused_at_construction():
    with pytest.raises(ConfigError, match=r"rule_params\['theta'\] of rule 'bcm' must be in \[0.0, 100.0\], got -1.0"):
        _small("bcm", rule_params={"theta": -1.0})


def test_unknown_names_list_the_available_ones():
    with pytest.raises(ConfigError, match=r"unknown rule 'bcn'; available: \['antihebbian', 'bcm', 'delta'"):
        _small("bcn")
    with pytest.raises(ConfigError, match=r"unknown variant 'text'; available: \['custom_split', 'standard', 'text_native'\]"):
        SSMN("text", input_dim=1, output_dim=1)


def test_disabling_autoload_keeps_only_builtins(monkeypatch):
    monkeypatch.setenv(pmod.DISABLE_AUTOLOAD_ENV, "1")
    pmod.reload_plugins()
    names = {r["name"] for r in ssmn_rl.list_rules()}
    assert names == {"hebbian", "importance", "oja", "delta"}


# ----------------------------------------------------------------------------- broken plugins
class _Dist:
    def __init__(self, name):
        self.name, self.version = name, "9.9"


class _EntryPoint:
    def __init__(self, name, dist, loader):
        self.name, self.dist, self._loader = name, _Dist(dist), loader

    def load(self):
        return self._loader()


def _module(name, **hooks):
    mod = types.ModuleType(name)
    for k, v in hooks.items():
        setattr(mod, k, hookimpl(v) if k.startswith("ssmn_rl_") else v)
    return mod


def _raise_import():
    raise ImportError("No module named 'missing_dependency'")


def _good_rule():
    from ssmn_rl.plugins.rule_hebbian import update, vjp
    return PlasticityRule(name="goodrule", update=update, vjp=vjp, per_stream_rates=True)


BROKEN = [
    ("import_fails", "broken-import", _raise_import, r"import failed: ImportError: No module named 'missing_dependency'"),
    ("not_a_rule", "broken-type", lambda: _module("m1", ssmn_rl_register_rules=lambda: ["oops"]),
     r"registered an invalid rule: expected a ssmn_rl.rules.PlasticityRule, got str"),
    ("hook_raises", "broken-raise", lambda: _module("m2", ssmn_rl_register_rules=lambda: 1 / 0),
     r"ssmn_rl_register_rules\(\) failed: ZeroDivisionError"),
    ("steals_hebbian", "broken-dup", lambda: _module("m3", ssmn_rl_register_rules=lambda: [
        PlasticityRule(name="hebbian", update=lambda *a: a[0])]),
     r"rule 'hebbian' is already registered by plugin 'rule_hebbian' \(ssmn_rl\)"),
    ("bad_hook_name", "broken-spec", lambda: _module("m4", ssmn_rl_register_rule=lambda: []),
     r"invalid plugin: PluginValidationError"),
    ("bad_rule_name", "broken-name", lambda: _module("m5", ssmn_rl_register_rules=lambda: [
        PlasticityRule(name="not valid", update=lambda *a: a[0])]),
     r"registered an invalid rule: rule name must be an identifier string, got 'not valid'"),
]


@pytest.mark.parametrize("name,dist,loader,pattern", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_plugin_is_named_and_the_rest_still_work(monkeypatch, name, dist, loader, pattern):
    good = _EntryPoint("goodplugin", "good-dist", lambda: _module("good", ssmn_rl_register_rules=lambda: [_good_rule()]))
    eps = [_EntryPoint(name, dist, loader), good]
    monkeypatch.setattr(pmod.importlib.metadata, "entry_points", lambda group: eps if group == "ssmn_rl" else [])
    with pytest.warns(pmod.PluginWarning, match=rf"plugin '{name}' from distribution {dist} 9.9 was skipped: {pattern}"):
        reg = pmod.reload_plugins()
    assert [f.plugin for f in reg.failures] == [name]
    names = {r["name"] for r in ssmn_rl.list_rules()}
    assert {"hebbian", "importance", "oja", "delta", "goodrule"} <= names
    X = np.ones((4, 3))
    assert np.isfinite(_small("goodrule").forward(X)).all()
    assert np.isfinite(_small("oja").forward(X)).all()
    with pytest.raises(ConfigError, match=rf"Plugins that failed to load: plugin '{name}'"):
        _small("nonexistent")


def test_failing_numpy_rule_raises_and_leaves_the_live_state_untouched(monkeypatch):
    calls = {"n": 0}

    def flaky(W, pre, post, eta, decay):
        calls["n"] += 1
        if calls["n"] > 3:
            raise FloatingPointError("rule blew up")
        return W + eta * post[:, :, None] * pre[:, None, :]

    mod = _module("flaky", ssmn_rl_register_rules=lambda: [PlasticityRule(name="flaky", update=flaky)])
    monkeypatch.setattr(pmod.importlib.metadata, "entry_points",
                        lambda group: [_EntryPoint("flaky", "flaky-dist", lambda: mod)] if group == "ssmn_rl" else [])
    pmod.reload_plugins()
    m = _small("flaky")
    for _ in range(3):
        m.forward_step(np.ones(3))
    before = m.state
    with pytest.raises(RuleError, match=r"plasticity rule 'flaky' \(plugin 'flaky', distribution flaky-dist 9.9\): "
                                        r"update raised FloatingPointError: rule blew up"):
        m.forward_step(np.ones(3))
    assert m.state == before


def test_c_source_that_does_not_compile_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("SSMN_RL_CACHE", str(tmp_path))
    from ssmn_rl.plugins.rule_hebbian import update
    bad = PlasticityRule(name="badc", update=update, c_source="int SSMN_RULE(update)(void *ctx) { return x; }")
    mod = _module("badc", ssmn_rl_register_rules=lambda: [bad])
    real_entry_points = pmod.importlib.metadata.entry_points  # the compiler toolchain looks up its own

    def entry_points(**kw):
        return [_EntryPoint("badc", "badc-dist", lambda: mod)] if kw.get("group") == "ssmn_rl" else real_entry_points(**kw)

    monkeypatch.setattr(pmod.importlib.metadata, "entry_points", entry_points)
    pmod.reload_plugins()
    with pytest.raises(ConfigError, match=r"C source of rule 'badc' \(plugin 'badc', distribution badc-dist 9.9\) "
                                          r"failed to compile: (?s:.*)\nrule.c:1:\d+: error: .x. undeclared") as e:
        _small("badc")
    assert "HINT:" in str(e.value)


def test_compiled_rule_is_cached_and_reused_by_a_new_process(monkeypatch, tmp_path):
    monkeypatch.setenv("SSMN_RL_CACHE", str(tmp_path))
    from ssmn_rl import custom_rules

    custom_rules._loaded.clear()
    _small("bcm").forward(np.ones((3, 3)))
    built = list((tmp_path / "rules").glob("*/*.so"))
    assert len(built) == 1
    stamp = built[0].stat().st_mtime_ns
    code = ("import numpy as np, ssmn_rl; m = ssmn_rl.SSMN('custom_split', input_dim=3, output_dim=2, "
            "plastic_ratio=0.5, n_layers=2, rule='bcm'); m.forward(np.ones((3, 3))); "
            "from ssmn_rl import custom_rules; print(len(custom_rules._loaded))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "SSMN_RL_CACHE": str(tmp_path)})
    assert out.stdout.strip() == "1"
    assert [p.stat().st_mtime_ns for p in (tmp_path / "rules").glob("*/*.so")] == [stamp]


def test_entry_point_without_hookimpl_warns_naming_it(monkeypatch):
    mod = types.ModuleType("unmarked")
    mod.ssmn_rl_register_rules = lambda: [_good_rule()]  # no @hookimpl: pluggy would ignore it
    eps = [_EntryPoint("unmarked", "unmarked-dist", lambda: mod)]
    monkeypatch.setattr(pmod.importlib.metadata, "entry_points", lambda group: eps if group == "ssmn_rl" else [])
    with pytest.warns(pmod.PluginWarning, match=r"plugin 'unmarked' from distribution unmarked-dist 9.9 was skipped: "
                                                r"registers nothing: its function\(s\) \['ssmn_rl_register_rules'\] "
                                                r"are not marked with @hookimpl"):
        reg = pmod.reload_plugins()
    assert [f.plugin for f in reg.failures] == ["unmarked"]


@pytest.mark.parametrize("fn", ["update", "vjp"])
def test_numpy_rule_errors_name_the_function_and_the_shape(monkeypatch, fn):
    from ssmn_rl.plugins.rule_hebbian import update, vjp

    def bad_update(W, pre, post, eta, decay):  # drops the stream axis
        return update(W, pre, post, eta, decay)[0]

    def bad_vjp(G, W, pre, post, eta, decay):
        raise ValueError("operands could not be broadcast")

    rule = PlasticityRule(name="shapes", update=bad_update if fn == "update" else update,
                          vjp=bad_vjp if fn == "vjp" else vjp, per_stream_rates=True)
    mod = _module("shapes", ssmn_rl_register_rules=lambda: [rule])
    monkeypatch.setattr(pmod.importlib.metadata, "entry_points",
                        lambda group: [_EntryPoint("shapes", "shapes-dist", lambda: mod)] if group == "ssmn_rl" else [])
    pmod.reload_plugins()
    m = _small("shapes", dtype="float64")
    X = np.ones((2, 4, 3))
    if fn == "update":
        with pytest.raises(RuleError, match=r"rule 'shapes' \(plugin 'shapes', distribution shapes-dist 9.9\): "
                                            r"update returned shape \(6, 6\), expected \(2, 6, 6\)\. HINT"):
            m.forward(X)
    else:
        with pytest.raises(RuleError, match=r"distribution shapes-dist 9.9\): vjp raised ValueError: operands"):
            m.value_and_grad(X, np.zeros((2, 4, 2)))


@pytest.mark.parametrize("name", ["bcm", "antihebbian"])
def test_example_plugin_rules_pass_check_rule(name):
    from ssmn_rl.testing import check_rule

    assert "update is batched over streams" in check_rule(name)


def test_example_plugins_own_test_suite_passes():
    plugin = pathlib.Path(__file__).resolve().parent.parent / "plugins" / "examples" / "ssmn-rule-bcm"
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=plugin,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


@pytest.mark.parametrize("name", ["standard", "custom_split", "text_native"])
def test_builtin_variants_pass_check_variant(name):
    from ssmn_rl.testing import check_variant

    assert len(check_variant(name)) == 2


def test_cli_plugins_check_passes_and_fails_with_one_line(monkeypatch, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "ssmn_rl.cli", "plugins", "--check", "bcm"], capture_output=True,
                        text=True)
    assert ok.returncode == 0, ok.stderr
    assert "rule 'bcm'" in ok.stdout and "passed" in ok.stdout
    plugin = tmp_path / "onestream_plugin.py"
    plugin.write_text("import numpy as np\nfrom ssmn_rl.hookspec import hookimpl\nfrom ssmn_rl.rules import PlasticityRule\n"
                      "def update(W, pre, post, eta, decay):\n    return W + eta * np.outer(post[0], pre[0])\n"
                      "@hookimpl\ndef ssmn_rl_register_rules():\n    return [PlasticityRule(name='onestream', update=update)]\n")
    code = ("import sys, ssmn_rl, onestream_plugin; ssmn_rl.register_plugin(onestream_plugin); "
            "from ssmn_rl.cli import main; sys.exit(main(['plugins', '--check', 'onestream']))")
    bad = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert bad.returncode == 1
    lines = bad.stderr.strip().splitlines()
    assert lines[0].startswith("ssmn-rl plugins: error: check_rule: rule 'onestream'") and \
        'fails "update is batched over streams"' in lines[0]
    assert len([ln for ln in lines if not ln.startswith("HINT:")]) == 1


def test_cli_plugins_shows_warnings_as_one_clean_line_each(monkeypatch, capsys):
    import warnings
    from ssmn_rl.cli import main

    def noisy():
        warnings.warn("ssmn_rl_register_rules of 'noisy' uses an old API", DeprecationWarning)
        return [_good_rule()]

    eps = [_EntryPoint("noisy", "noisy-dist", lambda: _module("noisy", ssmn_rl_register_rules=noisy)),
           _EntryPoint("import_fails", "broken-import", _raise_import)]
    monkeypatch.setattr(pmod.importlib.metadata, "entry_points", lambda group: eps if group == "ssmn_rl" else [])
    pmod._registry = None  # the command loads the registry itself
    assert main(["plugins"]) == 0
    out, err = capsys.readouterr()
    assert "goodrule" in out and "plugin 'import_fails' from distribution broken-import 9.9 was skipped" in out
    assert err.splitlines() == ["ssmn-rl plugins: warning: DeprecationWarning: ssmn_rl_register_rules of 'noisy' "
                                "uses an old API"]


def _recording_rule(name: str, seen: list):
    from ssmn_rl.plugins.rule_hebbian import update, vjp

    def rec_update(W, pre, post, eta, decay):
        seen.append(("update", W.shape, pre.shape, post.shape))
        return update(W, pre, post, eta, decay)

    def rec_vjp(G, W, pre, post, eta, decay):
        seen.append(("vjp", G.shape, pre.shape, post.shape))
        return vjp(G, W, pre, post, eta, decay)

    return PlasticityRule(name=name, update=rec_update, vjp=rec_vjp, per_stream_rates=True)


@pytest.mark.parametrize("n_heads", [1, 2])
def test_numpy_rule_is_called_once_per_step_with_every_stream(monkeypatch, n_heads):
    seen: list = []
    rule = _recording_rule("recorder", seen)
    mod = _module("recorder", ssmn_rl_register_rules=lambda: [rule])
    monkeypatch.setattr(pmod.importlib.metadata, "entry_points",
                        lambda group: [_EntryPoint("recorder", "recorder-dist", lambda: mod)] if group == "ssmn_rl" else [])
    pmod.reload_plugins()
    try:
        m = _small("recorder", dtype="float64", n_heads=n_heads)
        B, T, H = 3, 5, 6
        X = np.random.default_rng(0).standard_normal((B, T, 3))
        m.forward(X)
        d = H // n_heads
        assert seen == [("update", (B * n_heads, d, d), (B * n_heads, d), (B * n_heads, d))] * T
        seen.clear()
        m.value_and_grad(X, np.zeros((B, T, 2)))
        assert {s[1:] for s in seen} == {((B * n_heads, d, d), (B * n_heads, d), (B * n_heads, d))}
        assert sum(s[0] == "vjp" for s in seen) == T  # one vjp call per step for all streams
    finally:
        monkeypatch.undo()
        pmod.reload_plugins()


def test_batched_numpy_rule_equals_its_c_kernel_stream_by_stream():
    X = np.random.default_rng(3).standard_normal((4, 9, 3))
    Y = np.random.default_rng(4).standard_normal((4, 9, 2))
    for cell in ({}, {"preset": "default"}):
        a = _small("oja", dtype="float64", **cell)
        b = _small("oja", dtype="float64", rule_backend="numpy", **cell)
        b.set_parameters(a.get_parameters())
        np.testing.assert_allclose(b.forward(X), a.forward(X), atol=1e-12, rtol=0)
        np.testing.assert_allclose(b.value_and_grad(X, Y)[1], a.value_and_grad(X, Y)[1], atol=1e-11, rtol=0)


def test_gates_with_a_fixed_rate_rule_are_refused_by_name():
    with pytest.raises(ConfigError, match="per_stream_rates"):
        _small("antihebbian", neuromodulation=True)
