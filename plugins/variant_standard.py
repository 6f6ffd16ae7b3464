"""Built-in variant ``standard``: the 80/20 static/plastic split of the SSMN write-up."""
from ssmn_rl.errors import ConfigError
from ssmn_rl.hookspec import hookimpl
from ssmn_rl.variants import ModelVariant

PLASTIC_RATIO = 0.2


def validate(config) -> None:
    if config.plastic_ratio != PLASTIC_RATIO:
        raise ConfigError(
            f"variant='standard' fixes plastic_ratio at {PLASTIC_RATIO} (80/20 split), got "
            f"{config.plastic_ratio}. HINT: use variant='custom_split' to choose the ratio.")


VARIANT = ModelVariant(name="standard", validate=validate, defaults={"plastic_ratio": PLASTIC_RATIO},
                       doc="80% static / 20% plastic layers after window attention (the write-up's default).")


@hookimpl
def ssmn_rl_register_variants():
    return [VARIANT]
