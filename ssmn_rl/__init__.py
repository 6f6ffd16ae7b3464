"""ssmn_rl: Sparse-Stream Memory Networks (window attention + plastic fast weights) with compiled
C kernels, as a model, Gymnasium environments, and (in later modules) agents and estimators."""
from .config import SSMNConfig, split_layers
from .errors import (ConfigError, InputError, KernelError, ModelFileError, SizeError, SSMNError,
                     StateError)
from .model import SSMN
from .state import SSMNState
from . import envs as _envs  # registers the ssmn/ Gymnasium environments

__version__ = "0.1.0"
__all__ = ["SSMN", "SSMNConfig", "SSMNState", "split_layers", "SSMNError", "ConfigError",
           "InputError", "StateError", "ModelFileError", "SizeError", "KernelError", "__version__"]
