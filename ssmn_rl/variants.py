"""Model variants: what a plugin registers to offer a named SSMN family (Standard, Custom-Split...).

A variant has a name, a description, and `validate(config)`, which refuses configurations the
variant does not support (raising ConfigError with a HINT). All variants run on the same C core.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional


@dataclasses.dataclass(frozen=True)
class ModelVariant:
    """What a plugin registers for one model variant.

    Attributes
    ----------
    name : registry name, used as ``SSMN(variant=name, ...)``.
    doc : one-line description (shown by ``ssmn-rl plugins``).
    validate : optional ``validate(config: SSMNConfig) -> None`` raising ConfigError.
    defaults : keyword defaults the variant applies when the user does not give them.
    token_input : the model reads integer token ids through an embedding table (``vocab_size``,
        ``embed_dim``) and predicts next-token logits, instead of real vectors.
    """

    name: str
    doc: str = ""
    validate: Optional[Callable] = None
    defaults: dict = dataclasses.field(default_factory=dict)
    token_input: bool = False


def validate_variant(obj) -> ModelVariant:
    if not isinstance(obj, ModelVariant):
        raise TypeError(f"expected a ssmn_rl.variants.ModelVariant, got {type(obj).__name__}")
    if not isinstance(obj.name, str) or not obj.name.isidentifier():
        raise ValueError(f"variant name must be an identifier string, got {obj.name!r}")
    if obj.validate is not None and not callable(obj.validate):
        raise ValueError(f"variant {obj.name!r}: validate must be callable or None")
    return obj
