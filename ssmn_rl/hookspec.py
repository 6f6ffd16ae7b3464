"""Hook specifications of ssmn_rl's plugin system (pluggy project name ``ssmn_rl``).

Only specifications live here. Built-in plugins (``ssmn_rl.plugins.*``) and third-party plugins
(modules named in the ``ssmn_rl`` entry-point group) implement them with ``@hookimpl`` and are
registered through the same call (see ssmn_rl/plugin_manager.py). Hooks are called with keyword
arguments only.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .rules import PlasticityRule
    from .variants import ModelVariant

hookspec = pluggy.HookspecMarker("ssmn_rl")
hookimpl = pluggy.HookimplMarker("ssmn_rl")


@hookspec
def ssmn_rl_register_rules() -> "list[PlasticityRule]":
    """Return the plasticity rules this plugin provides.

    Each item is a :class:`ssmn_rl.rules.PlasticityRule`: a name, a NumPy ``update`` (batched
    over streams), optionally a ``vjp`` for gradient training, declared parameters with defaults
    and ranges, and optionally C source compiled on first use. A name already taken by another
    plugin is refused with an error naming both plugins.
    """


@hookspec
def ssmn_rl_register_variants() -> "list[ModelVariant]":
    """Return the model variants this plugin provides.

    Each item is a :class:`ssmn_rl.variants.ModelVariant`: a name, a description, and a function
    that turns user keyword arguments into a validated model configuration (for example, fixing
    the plastic ratio of the Standard variant).
    """
