"""ssmn_rl: Sparse-Stream Memory Networks (window attention + plastic fast weights) with compiled
C kernels, as a model, Gymnasium environments, and (in later modules) agents and estimators."""
from .config import SSMNConfig, split_layers
from .errors import (ConfigError, InputError, KernelError, ModelFileError, SizeError, SSMNError,
                     StateError)
from .model import SSMN
from .plugin_manager import (list_rules, list_variants, register_plugin, reload_plugins,
                             unregister_plugin)
from .rules import PlasticityRule, RuleParam
from .state import SSMNState
from .variants import ModelVariant
from . import envs as _envs  # registers the ssmn/ Gymnasium environments
from ._version import __version__

__all__ = ["SSMN", "SSMNConfig", "SSMNState", "split_layers", "list_rules", "list_variants",
           "reload_plugins", "register_plugin", "unregister_plugin", "PlasticityRule", "RuleParam", "ModelVariant", "SSMNError", "ConfigError",
           "InputError", "StateError", "ModelFileError", "SizeError", "KernelError", "__version__"]
