"""``StatelessPendulum``: pendulum swing-up with the angular velocity hidden from the agent.

Registered as ``ssmn/StatelessPendulum-v0``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import Env, logger, spaces

from ssmn_rl.envs._validation import check_box_action, check_real, check_render_mode

MAX_SPEED = 8.0  # rad/s, the angular velocity is clipped to +-MAX_SPEED
MAX_TORQUE = 2.0  # N*m, torque applied for action +1
DT = 0.05  # s, integration step (20 Hz control)
MASS = 1.0  # kg, mass of the uniform rod
LENGTH = 1.0  # m, length of the rod
DEFAULT_GRAVITY = 10.0  # m/s^2
INITIAL_SPEED_BOUND = 1.0  # rad/s, |theta_dot| at reset is drawn uniformly below this
SPEED_COST = 0.1  # 1/(rad/s)^2 weight of the squared angular velocity in the cost
TORQUE_COST = 0.001  # 1/(N*m)^2 weight of the squared torque in the cost


def _wrap_angle(theta: float) -> float:
    """Map an angle in radians to [-pi, pi)."""
    return (theta + math.pi) % (2.0 * math.pi) - math.pi


class StatelessPendulum(Env):
    """Swing a pendulum up and hold it upright while seeing only its angle, not its speed.

    ## Description
    A uniform rod hangs from a frictionless motorised hinge. Starting at a random angle, the
    agent must swing it up and keep it upright with limited torque (too weak to lift the rod
    directly, so energy has to be pumped in over several swings). The observation is the
    angle as ``(cos theta, sin theta)``; the angular velocity is hidden, so the direction of
    motion has to be inferred from consecutive observations. A torque chosen from the angle
    alone does (in continuous time) no net work over a closed swing, so a memory-less policy
    cannot pump energy in and stays far from the upright position.

    The rod obeys ``theta_ddot = 3 g / (2 L) * sin(theta) + 3 / (M L^2) * torque`` with
    ``theta = 0`` upright, integrated with a semi-implicit Euler step of 0.05 s.

    ## Action Space
    ``Box(-1.0, 1.0, shape=(1,), float32)``: the torque as a fraction of the 2 N*m maximum
    (values outside ``[-1, 1]`` are clipped).

    ## Observation Space
    ``Box(-1.0, 1.0, shape=(2,), float32)``: ``(cos theta, sin theta)``.

    ## Rewards
    ``-(theta^2 + 0.1 * theta_dot^2 + 0.001 * torque^2)`` per step, with ``theta`` wrapped to
    ``[-pi, pi)`` and the torque in N*m: 0 is the best possible, about -16.3 the worst.

    ## Starting State
    ``theta`` uniform in ``[-pi, pi)`` and ``theta_dot`` uniform in ``[-1, 1]`` rad/s.

    ## Episode End
    The task never terminates; the registered id truncates after 200 steps
    (``max_episode_steps=200``).

    ## Arguments
    - ``gravity`` (float, default ``10.0``): gravitational acceleration in m/s^2, ``> 0``.
    - ``render_mode`` (``None`` or ``"ansi"``): ``"ansi"`` renders the angle as text.

    The true state ``(theta, theta_dot)`` is kept in the public attribute ``state`` (used by
    the oracle baseline in ``ssmn_rl.envs.baselines``).

    ## Version History
    - v0: initial version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 20}

    def __init__(self, gravity: float = DEFAULT_GRAVITY, render_mode: str | None = None) -> None:
        name = type(self).__name__
        self.gravity = check_real(
            name, "gravity", gravity, minimum=0.0, strict_minimum=True,
            hint="the default Earth-like value is 10.0 m/s^2.",
        )
        self.render_mode = check_render_mode(name, render_mode, self.metadata["render_modes"])
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self._gravity_gain = 3.0 * self.gravity / (2.0 * LENGTH)  # 1/s^2
        self._torque_gain = 3.0 / (MASS * LENGTH * LENGTH)  # 1/(kg m^2)
        self.state: tuple[float, float] | None = None

    def _observe(self) -> np.ndarray:
        theta = self.state[0]
        return np.array((math.cos(theta), math.sin(theta)), dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        theta = float(self.np_random.uniform(-math.pi, math.pi))
        theta_dot = float(self.np_random.uniform(-INITIAL_SPEED_BOUND, INITIAL_SPEED_BOUND))
        self.state = (theta, theta_dot)
        return self._observe(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.state is None:
            raise RuntimeError(f"{type(self).__name__}: call reset() before step().")
        torque = MAX_TORQUE * check_box_action(type(self).__name__, action)
        theta, theta_dot = self.state
        angle = _wrap_angle(theta)
        cost = angle * angle + SPEED_COST * theta_dot * theta_dot + TORQUE_COST * torque * torque
        theta_dot = theta_dot + (
            self._gravity_gain * math.sin(theta) + self._torque_gain * torque
        ) * DT
        theta_dot = min(max(theta_dot, -MAX_SPEED), MAX_SPEED)
        self.state = (_wrap_angle(theta + theta_dot * DT), theta_dot)
        return self._observe(), -cost, False, False, {}

    def render(self) -> str | None:
        if self.render_mode is None:
            logger.warn(f"{type(self).__name__}.render() called without a render_mode; pass render_mode='ansi'.")
            return None
        if self.state is None:
            return "(not reset)"
        angle = _wrap_angle(self.state[0])
        return f"theta={math.degrees(angle):+7.1f} deg (0 = upright)"
