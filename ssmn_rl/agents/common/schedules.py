"""Schedules for learning rate and clip range: a constant, a callable of progress_remaining
(1 at the start of training, 0 at the end), or the strings "lin_<v>" / "const_<v>" of rl-zoo."""
from __future__ import annotations

from ...errors import ConfigError


class LinearSchedule:
    """value(progress_remaining) = start * progress_remaining (picklable, JSON-describable)."""

    def __init__(self, start: float):
        self.start = float(start)

    def __call__(self, progress_remaining: float) -> float:
        return self.start * progress_remaining

    def __repr__(self):
        return f"lin_{self.start:g}"


class ConstantSchedule:
    def __init__(self, value: float):
        self.value = float(value)

    def __call__(self, progress_remaining: float) -> float:
        return self.value

    def __repr__(self):
        return f"const_{self.value:g}"


def make_schedule(value, name: str):
    """Float, "lin_X", "const_X", or a callable -> a callable of progress_remaining."""
    if isinstance(value, str):
        kind, _, num = value.partition("_")
        try:
            x = float(num)
        except ValueError:
            x = None
        if kind in ("lin", "const") and x is not None:
            return LinearSchedule(x) if kind == "lin" else ConstantSchedule(x)
        raise ConfigError(f"{name} must be a number, a callable, 'lin_<value>' or 'const_<value>', got {value!r}")
    if callable(value):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{name} must be a non-negative number, a callable or 'lin_<value>', got {value!r}")
    return ConstantSchedule(value)


def describe_schedule(schedule):
    """JSON form of a schedule: "lin_X" / "const_X", or None for an arbitrary callable."""
    return repr(schedule) if isinstance(schedule, (LinearSchedule, ConstantSchedule)) else None
