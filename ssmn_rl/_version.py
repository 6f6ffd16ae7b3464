"""The version of ssmn_rl, in a module of its own so that the modules that write it into files
(model and agent files, the plugin registry) need not import the package ``__init__``, which
imports them."""

__version__ = "0.1.0"
