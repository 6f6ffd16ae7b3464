"""Typed exceptions raised by ssmn_rl.

Every error a user can trigger is one of these; each subclasses the built-in exception a Python
user would expect (ValueError for bad values, MemoryError for sizes that cannot fit), so code that
catches the built-ins keeps working.
"""


class SSMNError(Exception):
    """Base class of every ssmn_rl error."""


class ConfigError(SSMNError, ValueError):
    """A model or layer configuration value is invalid (names the argument and the valid range)."""


class InputError(SSMNError, ValueError):
    """An array passed to a model has the wrong shape, dtype, or contains NaN/inf."""


class StateError(SSMNError, ValueError):
    """A state snapshot does not belong to this model (wrong sizes, dtype or batch)."""


class ModelFileError(SSMNError, ValueError):
    """A model file is truncated, corrupted, of an unknown format version, or not a model file."""


class SizeError(SSMNError, MemoryError):
    """Buffers for the requested sizes would overflow 64-bit sizes or exceed the machine's memory."""


class KernelError(SSMNError, RuntimeError):
    """The C core returned an error status that the Python checks should have prevented."""
