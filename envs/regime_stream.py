"""``RegimeStream``: one-step-ahead forecasting of a series whose generating regime switches.

Registered as ``ssmn/RegimeStream-v0``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import Env, logger, spaces

from ssmn_rl.envs._validation import (
    check_box_action,
    check_int,
    check_real,
    check_render_mode,
    resolve_difficulty,
)

LEVEL_BOUND = 0.5  # series units: regime levels are uniform in [-LEVEL_BOUND, LEVEL_BOUND]
PERIOD_RANGE = (4.0, 50.0)  # steps: oscillation periods are log-uniform in this range
RADIUS_RANGE = (0.85, 0.97)  # dimensionless: AR(2) pole radius (damping per step)
VALUE_LIMIT = 1.0  # series units: observations and predictions live in [-1, 1]
BURN_IN = 50  # steps simulated at reset so that the first observation is already typical
NOISE_BLOCK = 1024  # innovations drawn from the generator at a time
LOSSES = ("squared", "absolute")

# Presets: n_regimes in regimes, switch_prob per step, noise_std in series units.
DIFFICULTIES = {
    "easy": {"n_regimes": 2, "switch_prob": 0.01, "noise_std": 0.02},
    "medium": {"n_regimes": 4, "switch_prob": 0.02, "noise_std": 0.03},
    "hard": {"n_regimes": 8, "switch_prob": 0.05, "noise_std": 0.05},
}


class RegimeStream(Env):
    """Predict the next value of a noisy oscillating series whose regime switches at random.

    ## Description
    A streaming forecasting problem posed as an environment. The series follows a damped
    second-order autoregression around a level,
    ``z[t+1] = level + a1 * (z[t] - level) + a2 * (z[t-1] - level) + noise_std * eps[t]``
    with ``a1 = 2 r cos(2 pi / period)``, ``a2 = -r^2`` and standard normal ``eps``: noisy
    oscillations with a regime-specific level, period and damping ``r``. At reset a pool of
    ``n_regimes`` regimes is drawn (level uniform in [-0.5, 0.5], period log-uniform in
    [4, 50] steps, ``r`` uniform in [0.85, 0.97]); the active regime switches to another
    member of the pool with probability ``switch_prob`` after each step. Neither the regime
    nor the switches are observed. The agent sees the current value and predicts the next
    one. Knowing the phase of an oscillation needs at least the previous value, and knowing
    the level, period and damping needs a longer history, so a memory-less forecaster (a
    fixed function of the current value) does much worse than one that tracks the regime.
    Values are clipped to ``[-1, 1]`` (levels and amplitudes are chosen so that this is rare).

    ## Action Space
    ``Box(-1.0, 1.0, shape=(1,), float32)``: the prediction of the next observation
    (values outside ``[-1, 1]`` are clipped).

    ## Observation Space
    ``Box(-1.0, 1.0, shape=(1,), float32)``: the current value of the series.

    ## Rewards
    ``-(prediction - next value)^2`` per step (``loss="squared"``) or
    ``-|prediction - next value|`` (``loss="absolute"``).

    ## Starting State
    A regime pool and the initial regime are drawn; the series is simulated for 50 burn-in
    steps and its last value is the first observation.

    ## Episode End
    The stream never terminates; the registered id truncates after 500 steps
    (``max_episode_steps=500``).

    ## Arguments
    - ``difficulty`` (``"easy"``, ``"medium"`` or ``"hard"``, default ``"medium"``): presets
      ``(n_regimes, switch_prob, noise_std)`` = ``(2, 0.01, 0.02)``, ``(4, 0.02, 0.03)``,
      ``(8, 0.05, 0.05)``.
    - ``n_regimes`` (int >= 1, optional): size of the regime pool.
    - ``switch_prob`` (float in ``[0, 1]``, optional): per-step switching probability.
    - ``noise_std`` (float in ``[0, 0.2]``, optional): innovation standard deviation.
    - ``loss`` (``"squared"`` or ``"absolute"``, default ``"squared"``).
    - ``render_mode`` (``None`` or ``"ansi"``).

    The regime pool is kept in the public attribute ``regimes`` (dicts with ``level``,
    ``period``, ``radius``, ``a1``, ``a2``), the active regime's index in ``regime`` and the
    unclipped last two values ``(z[t], z[t-1])`` in ``latent``; the oracle baseline in
    ``ssmn_rl.envs.baselines`` reads them.

    ## Version History
    - v0: initial version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 10}

    def __init__(
        self,
        difficulty: str = "medium",
        n_regimes: int | None = None,
        switch_prob: float | None = None,
        noise_std: float | None = None,
        loss: str = "squared",
        render_mode: str | None = None,
    ) -> None:
        name = type(self).__name__
        preset = resolve_difficulty(name, difficulty, DIFFICULTIES)
        self.difficulty = difficulty
        self.n_regimes = check_int(
            name, "n_regimes", preset["n_regimes"] if n_regimes is None else n_regimes
        )
        self.switch_prob = check_real(
            name, "switch_prob", preset["switch_prob"] if switch_prob is None else switch_prob,
            minimum=0.0, maximum=1.0,
        )
        self.noise_std = check_real(
            name, "noise_std", preset["noise_std"] if noise_std is None else noise_std,
            minimum=0.0, maximum=0.2,
            hint="larger noise drives the series into the [-1, 1] clipping most of the time.",
        )
        if loss not in LOSSES:
            raise ValueError(
                f"{name}: argument 'loss' must be one of {', '.join(repr(v) for v in LOSSES)}; got {loss!r}."
            )
        self.loss = loss
        self.render_mode = check_render_mode(name, render_mode, self.metadata["render_modes"])
        self.observation_space = spaces.Box(-VALUE_LIMIT, VALUE_LIMIT, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Box(-VALUE_LIMIT, VALUE_LIMIT, shape=(1,), dtype=np.float32)
        self.regimes: list[dict[str, float]] = []
        self.regime = 0
        self.latent: tuple[float, float] | None = None
        self.n_switches = 0
        self._coefficients: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self._steps_to_switch = -1
        self._noise: list[float] = []
        self._noise_pos = 0

    def _draw_regime(self) -> dict[str, float]:
        rng = self.np_random
        period = math.exp(float(rng.uniform(math.log(PERIOD_RANGE[0]), math.log(PERIOD_RANGE[1]))))
        radius = float(rng.uniform(*RADIUS_RANGE))
        return {
            "level": float(rng.uniform(-LEVEL_BOUND, LEVEL_BOUND)),
            "period": period,
            "radius": radius,
            "a1": 2.0 * radius * math.cos(2.0 * math.pi / period),
            "a2": -radius * radius,
        }

    def _activate(self, index: int) -> None:
        self.regime = index
        r = self.regimes[index]
        self._coefficients = (r["level"], r["a1"], r["a2"])
        if self.n_regimes > 1 and self.switch_prob > 0.0:
            self._steps_to_switch = int(self.np_random.geometric(self.switch_prob))
        else:
            self._steps_to_switch = -1

    def _advance(self) -> float:
        """Move the latent series one step forward, switching regime when due; return z[t+1]."""
        if self._noise_pos >= len(self._noise):
            self._noise = (self.np_random.standard_normal(NOISE_BLOCK) * self.noise_std).tolist()
            self._noise_pos = 0
        level, a1, a2 = self._coefficients
        z_now, z_prev = self.latent
        z_next = level + a1 * (z_now - level) + a2 * (z_prev - level) + self._noise[self._noise_pos]
        self._noise_pos += 1
        self.latent = (z_next, z_now)
        self._steps_to_switch -= 1
        if self._steps_to_switch == 0:
            offset = int(self.np_random.integers(1, self.n_regimes))
            self._activate((self.regime + offset) % self.n_regimes)
            self.n_switches += 1
        return z_next

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._noise = []
        self._noise_pos = 0
        self.regimes = [self._draw_regime() for _ in range(self.n_regimes)]
        first = int(self.np_random.integers(self.n_regimes))
        level = self.regimes[first]["level"]
        self.latent = (level, level)
        self._activate(first)
        for _ in range(BURN_IN):
            z = self._advance()
        self.n_switches = 0
        value = min(max(z, -VALUE_LIMIT), VALUE_LIMIT)
        return np.array((value,), dtype=np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.latent is None:
            raise RuntimeError(f"{type(self).__name__}: call reset() before step().")
        prediction = check_box_action(type(self).__name__, action)
        z = self._advance()
        value = min(max(z, -VALUE_LIMIT), VALUE_LIMIT)
        error = prediction - value
        reward = -(error * error) if self.loss == "squared" else -abs(error)
        return np.array((value,), dtype=np.float32), reward, False, False, {}

    def render(self) -> str | None:
        if self.render_mode is None:
            logger.warn(f"{type(self).__name__}.render() called without a render_mode; pass render_mode='ansi'.")
            return None
        if self.latent is None:
            return "(not reset)"
        value = min(max(self.latent[0], -VALUE_LIMIT), VALUE_LIMIT)
        column = int(round((value + VALUE_LIMIT) / (2 * VALUE_LIMIT) * 40))
        r = self.regimes[self.regime]
        return (
            " " * column + "*" + " " * (40 - column)
            + f" {value:+.3f} regime {self.regime} (level {r['level']:+.2f}, period {r['period']:.1f})"
        )
