"""The agents' declared arguments (ssmn_rl.agents.common.arguments): every declared argument is in
the signature with the declared default and in the docstring, and every one refuses a bad value
with a ConfigError naming it, what was expected and what was given."""
import inspect
import math
import re
import subprocess
import sys
from numbers import Integral, Real

import pytest
from ssmn_rl.agents import ES, PPO
from ssmn_rl.agents.common.arguments import (AGENT_OPTIONS, ES_OPTIONS, LEARN_OPTIONS, PPO_OPTIONS, RUNNER_OPTIONS,
                                             Interval, StrOptions, check_arguments, declared_defaults)
from ssmn_rl.agents.common.base import BaseAgent
from ssmn_rl.errors import ConfigError

ENV = "ssmn/StatelessCartPole-v0"
DECLARED = {PPO: AGENT_OPTIONS + PPO_OPTIONS + RUNNER_OPTIONS, ES: AGENT_OPTIONS + ES_OPTIONS + RUNNER_OPTIONS}


def _bad_value(option):
    """A value every constraint of `option` refuses."""
    c = option.constraints
    interval = next((x for x in c if isinstance(x, Interval)), None)
    if interval is not None:
        if interval.left is not None:
            return interval.left - 1
        return math.nan
    if "boolean" in c:
        return 1
    if any(isinstance(x, StrOptions) for x in c):
        return "no-such-choice"
    if c[0] is str and None not in c:
        return 3
    return [1]


@pytest.mark.parametrize("cls", [PPO, ES])
def test_the_signature_has_every_declared_argument_with_its_declared_default(cls):
    sig = inspect.signature(cls.__init__).parameters
    declared = declared_defaults(DECLARED[cls])
    assert {k: sig[k].default for k in declared} == declared
    missing = set(sig) - set(declared) - {"self", "env", "_spaces"}
    assert not missing, f"undeclared arguments: {missing}"
    learn = inspect.signature(BaseAgent.learn).parameters
    assert {k: learn[k].default for k in declared_defaults(LEARN_OPTIONS) if k != "total_timesteps"} == \
        {k: v for k, v in declared_defaults(LEARN_OPTIONS).items() if k != "total_timesteps"}


@pytest.mark.parametrize("cls", [PPO, ES])
def test_the_docstring_documents_every_declared_argument(cls):
    for option in DECLARED[cls]:
        assert f"    {option.name} : {option.kind}" in cls.__doc__


@pytest.mark.parametrize("cls,option", [(cls, o) for cls in (PPO, ES) for o in DECLARED[cls]
                                        if o.name not in ("policy_kwargs", "env_kwargs")],
                         ids=lambda x: getattr(x, "name", getattr(x, "__name__", "")))
def test_a_bad_value_is_refused_naming_the_argument_the_expectation_and_the_value(cls, option):
    bad = _bad_value(option)
    with pytest.raises(ConfigError, match=rf"{cls.__name__}: {option.name} must be .*, got {re.escape(repr(bad))}"):
        cls(**{"policy": "standard", "env": ENV, option.name: bad})


@pytest.mark.parametrize("name", ["n_steps", "batch_size", "n_epochs", "n_envs"])
def test_a_bool_is_not_a_count(name):
    with pytest.raises(ConfigError, match=rf"PPO: {name} must be an integer >= 1, got True"):
        PPO("standard", ENV, **{name: True})


def test_dicts_of_the_wrong_type_are_refused():
    for name in ("policy_kwargs", "env_kwargs"):
        with pytest.raises(ConfigError, match=rf"PPO: {name} must be a dict or None, got \[1\]"):
            PPO("standard", ENV, **{name: [1]})


def test_cross_checks_stay_with_the_agent():
    with pytest.raises(ConfigError, match="population_size must be even"):
        ES("standard", ENV, population_size=5)
    with pytest.raises(ConfigError, match="ray_address is only used with backend='ray'"):
        ES("standard", ENV, ray_address="auto")


def test_learn_arguments_are_checked_before_anything_runs():
    agent = PPO("standard", ENV, n_envs=2, n_steps=8, batch_size=16)
    for kw, msg in (({"total_timesteps": -1}, r"PPO.learn: total_timesteps must be an integer >= 0, got -1"),
                    ({"total_timesteps": 16, "log_interval": 0}, r"log_interval must be an integer >= 1, got 0"),
                    ({"total_timesteps": 16, "progress_bar": "yes"}, r"progress_bar must be True or False")):
        with pytest.raises(ConfigError, match=msg):
            agent.learn(**kw)
    assert agent.num_timesteps == 0


def test_check_arguments_reports_the_first_refused_value():
    with pytest.raises(ConfigError, match=r"X: gamma must be a number in \[0, 1\], got 1.5"):
        check_arguments("X", PPO_OPTIONS, {**declared_defaults(PPO_OPTIONS), "gamma": 1.5})
    check_arguments("X", PPO_OPTIONS, declared_defaults(PPO_OPTIONS))


def test_importing_the_agents_leaves_scikit_learn_out():
    """The declarations' light constraints keep scikit-learn (about 1 s with SciPy) out of every
    CLI start and spawned worker."""
    code = "import sys, ssmn_rl.agents; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_the_light_constraints():
    assert Interval(Integral, 1, None).is_satisfied_by(3) and not Interval(Integral, 1, None).is_satisfied_by(0)
    assert not Interval(Integral, 1, None).is_satisfied_by(True) and not Interval(Integral, 1, None).is_satisfied_by(2.0)
    unit = Interval(Real, 0, 1, closed="both")
    assert unit.is_satisfied_by(0) and unit.is_satisfied_by(1.0) and not unit.is_satisfied_by(math.nan)
    assert not Interval(Real, 0, None, closed="neither").is_satisfied_by(0.0)
    assert StrOptions(frozenset({"a"})).is_satisfied_by("a") and not StrOptions(frozenset({"a"})).is_satisfied_by("b")
