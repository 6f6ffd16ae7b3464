"""Argument checking shared by the ``ssmn_rl.envs`` environments.

Every public environment constructor validates its arguments with these helpers so that a
bad value fails early with a ``ValueError`` naming the argument, what was expected, what was
given and, where it helps, a ``HINT:`` on how to fix the call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np


def resolve_difficulty(
    env_name: str, difficulty: Any, presets: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Return a copy of the preset for ``difficulty`` or raise ``ValueError`` listing the valid names."""
    if not isinstance(difficulty, str) or difficulty not in presets:
        valid = ", ".join(repr(name) for name in presets)
        raise ValueError(
            f"{env_name}: argument 'difficulty' must be one of {valid}; got {difficulty!r}. "
            "HINT: pick a preset and override single sizes with the explicit keyword arguments."
        )
    return dict(presets[difficulty])


def check_int(
    env_name: str, name: str, value: Any, minimum: int = 1, hint: str | None = None
) -> int:
    """Return ``value`` as ``int`` if it is an integer >= ``minimum``; raise ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < minimum:
        message = f"{env_name}: argument '{name}' must be an integer >= {minimum}; got {value!r}."
        if hint:
            message += f" HINT: {hint}"
        raise ValueError(message)
    return int(value)


def check_real(
    env_name: str,
    name: str,
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
    hint: str | None = None,
) -> float:
    """Return ``value`` as ``float`` if it is a finite number inside the given bounds; raise ``ValueError`` otherwise."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))
    if ok and minimum is not None:
        ok = float(value) > minimum if strict_minimum else float(value) >= minimum
    if ok and maximum is not None:
        ok = float(value) <= maximum
    if not ok:
        parts = []
        if minimum is not None:
            parts.append(f"{'>' if strict_minimum else '>='} {minimum}")
        if maximum is not None:
            parts.append(f"<= {maximum}")
        bounds = " and ".join(parts)
        expected = f"a finite number {bounds}" if bounds else "a finite number"
        message = f"{env_name}: argument '{name}' must be {expected}; got {value!r}."
        if hint:
            message += f" HINT: {hint}"
        raise ValueError(message)
    return float(value)


def check_range(
    env_name: str,
    name: str,
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
) -> tuple[float, float]:
    """Return ``value`` as a ``(low, high)`` float pair with ``low <= high`` inside the given bounds."""
    if (
        isinstance(value, (str, bytes))
        or not isinstance(value, Sequence)
        or len(value) != 2
    ):
        raise ValueError(
            f"{env_name}: argument '{name}' must be a (low, high) pair of numbers; got {value!r}. "
            "HINT: pass a 2-tuple such as (0.25, 1.0)."
        )
    low = check_real(env_name, f"{name}[0]", value[0], minimum, maximum, strict_minimum)
    high = check_real(env_name, f"{name}[1]", value[1], minimum, maximum, strict_minimum)
    if low > high:
        raise ValueError(
            f"{env_name}: argument '{name}' must satisfy low <= high; got {value!r}. "
            "HINT: swap the two numbers."
        )
    return low, high


def check_render_mode(env_name: str, render_mode: Any, render_modes: Sequence[str]) -> str | None:
    """Return ``render_mode`` if it is ``None`` or one of ``render_modes``; raise ``ValueError`` otherwise."""
    if render_mode is not None and render_mode not in render_modes:
        valid = ", ".join(repr(mode) for mode in render_modes)
        raise ValueError(
            f"{env_name}: argument 'render_mode' must be None or one of {valid}; got {render_mode!r}."
        )
    return render_mode


def check_discrete_action(env_name: str, action: Any, n: int) -> int:
    """Return ``action`` as ``int`` if it is an integer in ``[0, n)``; raise ``ValueError`` otherwise."""
    try:
        index = int(action)
    except (TypeError, ValueError):
        index = -1
    else:
        if index != action:
            index = -1
    if not 0 <= index < n:
        raise ValueError(
            f"{env_name}: the action must be an integer in [0, {n - 1}]; got {action!r}."
        )
    return index


def check_box_action(env_name: str, action: Any) -> float:
    """Return a one-component Box action (shape ``(1,)`` or a scalar) as a float clipped to [-1, 1]."""
    try:
        if type(action) is np.ndarray and action.shape == (1,):
            value = float(action[0])
        else:
            array = np.asarray(action, dtype=np.float64)
            value = float(array.reshape(-1)[0]) if array.size == 1 else math.nan
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(
            f"{env_name}: the action must be a finite number in [-1, 1] (shape (1,)); got {action!r}."
        )
    return -1.0 if value < -1.0 else (1.0 if value > 1.0 else value)
