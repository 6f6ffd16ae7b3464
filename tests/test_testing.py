"""ssmn_rl.testing: check_rule and check_variant pass good plugins and reject each kind of broken
one with a message naming the property, the rule or variant, and its distribution."""
import dataclasses
import re
import types

import numpy as np
import pytest

from ssmn_rl import ConfigError, ModelVariant, PlasticityRule, RuleParam
from ssmn_rl import plugin_manager as pmod
from ssmn_rl.hookspec import hookimpl
from ssmn_rl.plugins import rule_hebbian
from ssmn_rl.testing import check_rule, check_variant

ssmn_rule_bcm = pytest.importorskip("ssmn_rule_bcm")


@pytest.fixture(autouse=True)
def fresh_registry():
    pmod.reload_plugins()
    yield
    pmod.reload_plugins()


def _fails(prop: str, name: str):
    return pytest.raises(AssertionError, match=rf"rule {name!r} .*fails \"{re.escape(prop)}\"")


def test_good_rules_pass_and_the_checks_are_listed():
    done = check_rule(ssmn_rule_bcm.BCM)
    assert "vjp matches central finite differences of update (float64)" in done
    assert "C kernel (c_source) matches the NumPy update and vjp" in done
    assert "update is batched over streams" in done
    assert check_variant("custom_split")


def test_rejects_a_wrong_vjp():
    def vjp(G, W, pre, post, eta, decay):
        dW, dpre, dpost, *_ = rule_hebbian.vjp(G, W, pre, post, eta, decay)
        return dW, 2.0 * dpre, dpost

    bad = PlasticityRule(name="wrongvjp", update=rule_hebbian.update, vjp=vjp)
    with _fails("vjp matches central finite differences of update (float64)", "wrongvjp") as e:
        check_rule(bad)
    assert "dpre differs from finite differences" in str(e.value)


def test_rejects_a_c_source_off_by_a_constant(monkeypatch, tmp_path):
    monkeypatch.setenv("SSMN_RL_CACHE", str(tmp_path))
    src = ssmn_rule_bcm.BCM_C.replace("+ a * pre[j];", "+ a * pre[j] + (real)5e-3;")
    assert src != ssmn_rule_bcm.BCM_C
    bad = dataclasses.replace(ssmn_rule_bcm.BCM, name="bcmoff", c_source=src)
    with _fails("C kernel (c_source) matches the NumPy update and vjp in float32 and float64", "bcmoff") as e:
        check_rule(bad)
    assert "C update_f32 differs from the NumPy update" in str(e.value)


def test_rejects_a_builtin_c_id_whose_numpy_twin_differs():
    def update(W, pre, post, eta, decay):
        return rule_hebbian.update(W, pre, post, eta, decay) + 1e-3

    bad = PlasticityRule(name="twin", update=update, vjp=rule_hebbian.vjp, c_rule_id=rule_hebbian.C_RULE_ID,
                         per_stream_rates=True)
    with _fails("C kernel in the model matches the NumPy rule (float32, float64)", "twin") as e:
        check_rule(bad)
    assert "with the C kernel differ from those with the NumPy update" in str(e.value)
    assert "_check_twin" not in ssmn_rl_rule_names()  # the temporary registration is gone


def ssmn_rl_rule_names():
    return {r["name"] for r in pmod.list_rules()}


def test_rejects_an_update_that_handles_one_stream():
    def update(W, pre, post, eta, decay):
        return (1.0 - decay) * W + eta * np.outer(post[0], pre[0])

    with _fails("update is batched over streams", "outer") as e:
        check_rule(PlasticityRule(name="outer", update=update))
    assert "np.outer" in str(e.value)


def test_rejects_an_update_that_changes_its_inputs():
    def update(W, pre, post, eta, decay):
        W *= 1.0 - decay
        W += eta * post[:, :, None] * pre[:, None, :]
        return W

    with _fails("update leaves its inputs unchanged", "inplace") as e:
        check_rule(PlasticityRule(name="inplace", update=update))
    assert "wrote into its input W" in str(e.value)


def test_rejects_an_update_that_changes_the_dtype():
    def update(W, pre, post, eta, decay):
        return rule_hebbian.update(W, pre, post, eta, decay).astype(np.float64)

    with _fails("update returns W's shape and dtype", "upcast") as e:
        check_rule(PlasticityRule(name="upcast", update=update))
    assert "dtype float64 for float32 inputs" in str(e.value)


def test_rejects_a_default_outside_its_declared_range():
    def update(W, pre, post, eta, decay, gain):
        return rule_hebbian.update(W, pre, post, eta * gain, decay)

    bad = PlasticityRule(name="baddefault", update=update, params={"gain": RuleParam(2.0, 0.0, 1.0)})
    with _fails("declared parameter ranges", "baddefault"):
        check_rule(bad)


def test_failure_names_the_plugins_distribution(monkeypatch):
    def update(W, pre, post, eta, decay):
        return W + eta * np.outer(post[0], pre[0])

    mod = types.ModuleType("onestream")
    mod.ssmn_rl_register_rules = hookimpl(lambda: [PlasticityRule(name="onestream", update=update)])
    ep = types.SimpleNamespace(name="onestream", dist=types.SimpleNamespace(name="onestream-dist", version="9.9"),
                               load=lambda: mod)
    monkeypatch.setattr(pmod.importlib.metadata, "entry_points", lambda group: [ep] if group == "ssmn_rl" else [])
    pmod.reload_plugins()
    with pytest.raises(AssertionError, match=r"check_rule: rule 'onestream' \(plugin 'onestream', distribution "
                                             r"onestream-dist 9.9\) fails "
                                             r'"update is batched over streams"'):
        check_rule("onestream")


def test_bad_arguments_are_clear_errors():
    with pytest.raises(TypeError, match=r"`rule` must be a registered rule name .* got int"):
        check_rule(3)
    with pytest.raises(ConfigError, match=r"unknown rule 'nope'; available"):
        check_rule("nope")


def test_check_variant_rejects_a_validate_that_returns_false_or_raises_typeerror():
    def returns_false(config):
        return False

    def raises_type_error(config):
        if config.n_layers < 5:
            raise TypeError("too few layers")

    with pytest.raises(AssertionError, match=r"variant 'quiet' \(not registered\) fails "
                                             r'"validate refuses with ConfigError and otherwise returns None": '
                                             r"validate returned False"):
        check_variant(ModelVariant(name="quiet", validate=returns_false))
    with pytest.raises(AssertionError, match=r"validate raised TypeError: too few layers"):
        check_variant(ModelVariant(name="loud", validate=raises_type_error))


def test_rejects_a_wrong_rate_gradient_of_a_per_stream_rate_rule():
    """A rule that takes one eta and decay per stream (the gates' eta_t, lambda_t) must return
    their gradients too; a wrong dL/deta is found by finite differences and named."""
    def vjp(G, W, pre, post, eta, decay):
        dW, dpre, dpost, deta, ddecay = rule_hebbian.vjp(G, W, pre, post, eta, decay)
        return dW, dpre, dpost, 0.5 * deta, ddecay

    bad = PlasticityRule(name="wrongdeta", update=rule_hebbian.update, vjp=vjp, per_stream_rates=True)
    with _fails("vjp matches central finite differences of update (float64)", "wrongdeta") as e:
        check_rule(bad)
    assert "deta differs from finite differences" in str(e.value)


def test_per_stream_rates_are_checked_stream_by_stream():
    """With per_stream_rates the batch check gives each stream its own eta: a rule that uses only
    the first stream's rate fails it."""
    def update(W, pre, post, eta, decay):
        return rule_hebbian.update(W, pre, post, eta[:1], decay[:1])

    bad = PlasticityRule(name="onerate", update=update, per_stream_rates=True)
    with _fails("update is batched over streams", "onerate"):
        check_rule(bad)
