"""Built-in variant ``custom_split``: any static/plastic split, plastic_ratio in [0, 1]."""
from ssmn_rl.hookspec import hookimpl
from ssmn_rl.variants import ModelVariant

VARIANT = ModelVariant(name="custom_split",
                       doc="Any share of plastic layers (plastic_ratio in [0, 1]; 0 = no fast weights).")


@hookimpl
def ssmn_rl_register_variants():
    return [VARIANT]
