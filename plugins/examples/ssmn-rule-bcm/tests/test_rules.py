"""The plugin's own test: both rules meet ssmn_rl's rule contract (ssmn_rl.testing.check_rule runs
the NumPy-vs-C, finite-difference, batching, dtype and purity checks). Run with
``pytest plugins/examples/ssmn-rule-bcm/tests`` once the plugin is installed."""
import pytest

from ssmn_rl.testing import check_rule
from ssmn_rule_bcm import ANTIHEBBIAN, BCM


@pytest.mark.parametrize("rule", [BCM, ANTIHEBBIAN], ids=lambda r: r.name)
def test_rule_meets_the_ssmn_rl_contract(rule):
    check_rule(rule.name)  # by name: the registered rule, reached through this distribution's entry point
