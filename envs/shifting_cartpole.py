"""``ShiftingCartPole``: cart-pole balancing whose physics change at random, unobserved times.

Registered as ``ssmn/ShiftingCartPole-v0``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import Env, logger, spaces

from ssmn_rl.envs._cartpole_physics import (
    CART_MASS,
    FORCE_MAG,
    THETA_THRESHOLD,
    ascii_track,
    euler_step,
)
from ssmn_rl.envs._validation import (
    check_discrete_action,
    check_range,
    check_real,
    check_render_mode,
    resolve_difficulty,
)

INITIAL_STATE_BOUND = 0.05  # m, m/s, rad, rad/s: half-width of the uniform initial-state draw
MAX_TILT = 0.15  # rad, largest allowed |tilt| (the pole must lean by the tilt to balance)
VELOCITY_LIMIT = float(np.finfo(np.float32).max)  # m/s and rad/s: velocities are unbounded

# Presets. half_length in m (log-uniform), pole_mass in kg (log-uniform), gravity in m/s^2
# (uniform), tilt in rad (uniform in [-tilt, tilt]), x_threshold in m, change_prob per step.
DIFFICULTIES = {
    "easy": {
        "half_length": (0.3, 1.0), "pole_mass": (0.05, 0.3), "gravity": (8.0, 12.0),
        "tilt": 0.1, "x_threshold": 0.4, "change_prob": 1.0 / 200.0,
    },
    "medium": {
        "half_length": (0.25, 1.5), "pole_mass": (0.05, 0.5), "gravity": (6.0, 14.0),
        "tilt": 0.1, "x_threshold": 0.4, "change_prob": 1.0 / 150.0,
    },
    "hard": {
        "half_length": (0.2, 2.0), "pole_mass": (0.05, 1.0), "gravity": (4.0, 16.0),
        "tilt": 0.12, "x_threshold": 0.4, "change_prob": 1.0 / 100.0,
    },
}


class ShiftingCartPole(Env):
    """Balance a pole whose length, mass and gravity change without warning.

    ## Description
    A cart-pole (the classic Barto, Sutton and Anderson dynamics, fully observed) whose
    physical parameters are redrawn at random times during the episode: the pole's
    half-length and mass, and the gravity vector, i.e. its magnitude and its direction
    relative to the track normal (``tilt``, as if the track were inclined by that angle).
    The redraws are not signalled and the parameters are not observed. Each parameter set
    calls for a different controller; in particular a tilted field makes the pole balance
    only when it leans by ``-tilt`` against the incline, so the correct set-point must be
    inferred from how the system has been responding to the last pushes. A fixed reactive
    controller must instead let the cart drift until the position error balances the tilt,
    which on the short track used here soon pushes it off the end. Changes arrive as a
    Bernoulli process with probability ``change_prob`` per step.

    ## Action Space
    ``Discrete(2)``: ``0`` pushes the cart towards -x with 10 N, ``1`` towards +x with 10 N.

    ## Observation Space
    ``Box(float32, shape=(4,))``:

    | index | observation                | min               | max              | unit  |
    |-------|----------------------------|-------------------|------------------|-------|
    | 0     | cart position ``x``        | -2 * x_threshold  | 2 * x_threshold  | m     |
    | 1     | cart velocity              | -float32 max      | float32 max      | m/s   |
    | 2     | pole angle from the normal | -0.419            | 0.419            | rad   |
    | 3     | pole angular velocity      | -float32 max      | float32 max      | rad/s |

    ## Rewards
    ``+1`` for every step, including the step on which the episode terminates.

    ## Starting State
    ``(x, x_dot, theta, theta_dot)`` uniform in ``[-0.05, 0.05]``; a first parameter set is
    drawn from the ranges below (half-length and pole mass log-uniformly, gravity and tilt
    uniformly); the cart mass is fixed at 1 kg.

    ## Episode End
    Terminated when ``|theta| > 12 degrees`` or ``|x| > x_threshold``. The registered id
    truncates after 500 steps (``max_episode_steps=500``).

    ## Arguments
    - ``difficulty`` (``"easy"``, ``"medium"`` or ``"hard"``, default ``"medium"``): presets

      | preset | half_length (m) | pole_mass (kg) | gravity (m/s^2) | tilt (rad) | x_threshold (m) | change_prob |
      |--------|-----------------|----------------|-----------------|------------|-----------------|-------------|
      | easy   | 0.3 - 1.0       | 0.05 - 0.3     | 8 - 12          | 0.10       | 0.4             | 1/200       |
      | medium | 0.25 - 1.5      | 0.05 - 0.5     | 6 - 14          | 0.10       | 0.4             | 1/150       |
      | hard   | 0.2 - 2.0       | 0.05 - 1.0     | 4 - 16          | 0.12       | 0.4             | 1/100       |

    - ``half_length``, ``pole_mass``, ``gravity`` (``(low, high)`` pairs, ``0 < low <= high``,
      optional): ranges overriding the preset.
    - ``tilt`` (float in ``[0, 0.15]``, optional): largest ``|tilt|`` in rad.
    - ``x_threshold`` (float > 0, optional): half-length of the track in m.
    - ``change_prob`` (float in ``[0, 1]``, optional): per-step probability of a redraw.
    - ``render_mode`` (``None`` or ``"ansi"``).

    The current parameters are kept in the public attribute ``params`` (keys ``gravity``,
    ``tilt``, ``pole_mass``, ``half_length``) and the true state in ``state``; the oracle
    baseline in ``ssmn_rl.envs.baselines`` reads them.

    ## Version History
    - v0: initial version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 50}

    def __init__(
        self,
        difficulty: str = "medium",
        half_length: tuple[float, float] | None = None,
        pole_mass: tuple[float, float] | None = None,
        gravity: tuple[float, float] | None = None,
        tilt: float | None = None,
        x_threshold: float | None = None,
        change_prob: float | None = None,
        render_mode: str | None = None,
    ) -> None:
        name = type(self).__name__
        preset = resolve_difficulty(name, difficulty, DIFFICULTIES)
        self.difficulty = difficulty
        self.half_length_range = check_range(
            name, "half_length", preset["half_length"] if half_length is None else half_length,
            minimum=0.0, strict_minimum=True,
        )
        self.pole_mass_range = check_range(
            name, "pole_mass", preset["pole_mass"] if pole_mass is None else pole_mass,
            minimum=0.0, strict_minimum=True,
        )
        self.gravity_range = check_range(
            name, "gravity", preset["gravity"] if gravity is None else gravity,
            minimum=0.0, strict_minimum=True,
        )
        self.tilt = check_real(
            name, "tilt", preset["tilt"] if tilt is None else tilt, minimum=0.0, maximum=MAX_TILT,
            hint="the pole must lean by the tilt to balance; beyond 0.15 rad it is near the 12 degree limit.",
        )
        self.x_threshold = check_real(
            name, "x_threshold", preset["x_threshold"] if x_threshold is None else x_threshold,
            minimum=0.0, strict_minimum=True,
        )
        self.change_prob = check_real(
            name, "change_prob", preset["change_prob"] if change_prob is None else change_prob,
            minimum=0.0, maximum=1.0, hint="use 0.0 for parameters that stay fixed within an episode.",
        )
        self.render_mode = check_render_mode(name, render_mode, self.metadata["render_modes"])
        high = np.array(
            [2.0 * self.x_threshold, VELOCITY_LIMIT, 2.0 * THETA_THRESHOLD, VELOCITY_LIMIT],
            dtype=np.float32,
        )
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.state: tuple[float, float, float, float] | None = None
        self.params: dict[str, float] = {}
        self.n_changes = 0
        self._physics: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        self._steps_to_change = 0

    def _draw_params(self) -> None:
        rng = self.np_random
        log_lo, log_hi = (math.log(v) for v in self.half_length_range)
        half_length = math.exp(float(rng.uniform(log_lo, log_hi)))
        log_lo, log_hi = (math.log(v) for v in self.pole_mass_range)
        pole_mass = math.exp(float(rng.uniform(log_lo, log_hi)))
        gravity = float(rng.uniform(*self.gravity_range))
        tilt = float(rng.uniform(-self.tilt, self.tilt))
        self.params = {
            "gravity": gravity, "tilt": tilt, "pole_mass": pole_mass, "half_length": half_length,
        }
        # (gravity along the track normal, gravity along the track, pole mass, half-length)
        self._physics = (
            gravity * math.cos(tilt), gravity * math.sin(tilt), pole_mass, half_length,
        )
        self._steps_to_change = (
            int(rng.geometric(self.change_prob)) if self.change_prob > 0.0 else -1
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        draw = self.np_random.uniform(-INITIAL_STATE_BOUND, INITIAL_STATE_BOUND, size=4)
        self.state = tuple(float(v) for v in draw)
        self.n_changes = 0
        self._draw_params()
        return np.array(self.state, dtype=np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.state is None:
            raise RuntimeError(f"{type(self).__name__}: call reset() before step().")
        push = check_discrete_action(type(self).__name__, action, 2)
        g_normal, g_along, pole_mass, half_length = self._physics
        x, x_dot, theta, theta_dot = self.state = euler_step(
            *self.state,
            FORCE_MAG if push == 1 else -FORCE_MAG,
            g_normal,
            g_along,
            CART_MASS,
            pole_mass,
            half_length,
        )
        self._steps_to_change -= 1
        if self._steps_to_change == 0:
            self._draw_params()
            self.n_changes += 1
        terminated = (
            x < -self.x_threshold or x > self.x_threshold
            or theta < -THETA_THRESHOLD or theta > THETA_THRESHOLD
        )
        return np.array((x, x_dot, theta, theta_dot), dtype=np.float32), 1.0, terminated, False, {}

    def render(self) -> str | None:
        if self.render_mode is None:
            logger.warn(f"{type(self).__name__}.render() called without a render_mode; pass render_mode='ansi'.")
            return None
        if self.state is None:
            return "(not reset)"
        x, _, theta, _ = self.state
        p = self.params
        return (
            ascii_track(x, theta, self.x_threshold)
            + f"  g={p['gravity']:.1f} m/s^2 tilt={p['tilt']:+.3f} rad"
            + f" m_pole={p['pole_mass']:.2f} kg l={p['half_length']:.2f} m"
        )
