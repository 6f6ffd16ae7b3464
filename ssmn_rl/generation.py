"""Text generation with a token model: a prompt through the sequence kernel, then one streaming
step per sampled token. The sampling itself (temperature, top-k, top-p) is :mod:`ssmn_rl.sampling`;
this module only drives a model through its public API and never touches its live state."""
from __future__ import annotations

import numbers

import numpy as np

from . import _kernels, inputs
from .errors import ConfigError, InputError
from .sampling import check_sampling, sample_token, softmax
from .stream import Stream


def require_tokens(model, what: str) -> None:
    """Refuse `what` on a model that does not read token ids."""
    if not model.token_input:
        raise ConfigError(f"{what} needs a token model (variant 'text_native'), this one is "
                          f"{model.config.variant!r}")


def generate(model, prompt_tokens, max_new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, seed=None, state=None) -> np.ndarray:
    """:meth:`SSMN.generate`: `max_new_tokens` sampled ids (int64) after `prompt_tokens`."""
    require_tokens(model, "generate")
    prompt = inputs.token_ids(prompt_tokens, "prompt_tokens", model.config.vocab_size)
    if prompt.ndim != 1 or prompt.size < 1:
        raise InputError(f"prompt_tokens must be a non-empty 1-D sequence of ids, got shape {prompt.shape}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, numbers.Integral) or max_new_tokens < 0:
        raise InputError(f"max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
    _kernels.check_fits(max_new_tokens, np.dtype(np.int64).itemsize, "max_new_tokens token ids")
    check_sampling(temperature, top_k, top_p)
    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError) as e:
        raise InputError(f"seed must be None, an integer >= 0 or a numpy Generator, got {seed!r} "
                         f"({e})") from None
    logits, st = model.forward(prompt, state=state, return_state=True)
    stream, last = Stream(model, st, copy=False), logits[-1]
    out = np.empty(int(max_new_tokens), np.int64)
    for i in range(int(max_new_tokens)):
        out[i] = sample_token(last, rng, temperature, top_k, top_p)
        if i + 1 < max_new_tokens:
            last = stream.step(np.int32(out[i]))
    return out


def next_token_probabilities(model, tokens, state=None, temperature: float = 1.0) -> np.ndarray:
    """:meth:`SSMN.next_token_probabilities`: (T,) ids -> (T, V) probabilities."""
    require_tokens(model, "next_token_probabilities")
    return softmax(model.forward(tokens, state=state), temperature)
