"""``StatelessCartPole``: cart-pole balancing with the two velocities hidden from the agent.

Registered as ``ssmn/StatelessCartPole-v0`` (exact positions) and
``ssmn/NoisyStatelessCartPole-v0`` (positions with Gaussian sensor noise).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import Env, logger, spaces

from ssmn_rl.envs._cartpole_physics import (
    FORCE_MAG,
    THETA_THRESHOLD,
    X_THRESHOLD,
    ascii_track,
    euler_step,
)
from ssmn_rl.envs._validation import check_discrete_action, check_real, check_render_mode

INITIAL_STATE_BOUND = 0.05  # m, m/s, rad, rad/s: half-width of the uniform initial-state draw
OBS_X_LIMIT = 2.0 * X_THRESHOLD  # m, observation bound for the cart position
OBS_THETA_LIMIT = 2.0 * THETA_THRESHOLD  # rad, observation bound for the pole angle
NOISE_BLOCK = 1024  # samples of sensor noise drawn from the generator at a time


class StatelessCartPole(Env):
    """Balance a pole on a cart while seeing only the positions, never the velocities.

    ## Description
    The classic cart-pole task (Barto, Sutton and Anderson, 1983): a pole is hinged on a cart
    that moves along a frictionless track, and the agent pushes the cart left or right to keep
    the pole upright. The observation holds only the cart position and the pole angle; the cart
    velocity and the pole's angular velocity are hidden, so the agent must infer them from how
    the positions change over time (and, in the noisy variant, filter sensor noise as well).
    A policy that reacts to the current observation alone cannot balance the pole for long.

    ## Action Space
    ``Discrete(2)``: ``0`` pushes the cart towards -x with 10 N, ``1`` towards +x with 10 N.

    ## Observation Space
    ``Box(float32, shape=(2,))``:

    | index | observation          | min     | max    | unit |
    |-------|----------------------|---------|--------|------|
    | 0     | cart position ``x``  | -4.8    | 4.8    | m    |
    | 1     | pole angle ``theta`` | -0.419  | 0.419  | rad  |

    With ``obs_noise > 0`` each component receives independent zero-mean Gaussian noise with
    standard deviation ``obs_noise`` (in the component's unit), clipped to the bounds above.

    ## Rewards
    ``+1`` for every step, including the step on which the episode terminates.

    ## Starting State
    All four state variables ``(x, x_dot, theta, theta_dot)`` are drawn uniformly from
    ``[-0.05, 0.05]``.

    ## Episode End
    Terminated when ``|theta| > 12 degrees`` or ``|x| > 2.4 m``. The registered ids truncate
    after 500 steps (``max_episode_steps=500``).

    ## Arguments
    - ``obs_noise`` (float, default ``0.0``): standard deviation of the sensor noise, in metres
      for ``x`` and radians for ``theta``; must be ``>= 0``. ``ssmn/NoisyStatelessCartPole-v0``
      uses ``0.02``.
    - ``render_mode`` (``None`` or ``"ansi"``): ``"ansi"`` renders a one-line text picture.

    The true state ``(x, x_dot, theta, theta_dot)`` is kept in the public attribute ``state``
    (used by the oracle baseline in ``ssmn_rl.envs.baselines``).

    ## Version History
    - v0: initial version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 50}

    def __init__(self, obs_noise: float = 0.0, render_mode: str | None = None) -> None:
        name = type(self).__name__
        self.obs_noise = check_real(
            name, "obs_noise", obs_noise, minimum=0.0,
            hint="use 0.0 for exact observations; ssmn/NoisyStatelessCartPole-v0 uses 0.02.",
        )
        self.render_mode = check_render_mode(name, render_mode, self.metadata["render_modes"])
        self._high = np.array([OBS_X_LIMIT, OBS_THETA_LIMIT], dtype=np.float32)
        self.observation_space = spaces.Box(-self._high, self._high, dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self._x_lim = float(self._high[0])
        self._theta_lim = float(self._high[1])
        self.state: tuple[float, float, float, float] | None = None
        self._noise: list[float] = []
        self._noise_pos = 0

    def _observe(self) -> np.ndarray:
        x, _, theta, _ = self.state
        if self.obs_noise > 0.0:
            if self._noise_pos + 2 > len(self._noise):
                block = self.np_random.standard_normal(NOISE_BLOCK) * self.obs_noise
                self._noise = block.tolist()
                self._noise_pos = 0
            x += self._noise[self._noise_pos]
            theta += self._noise[self._noise_pos + 1]
            self._noise_pos += 2
            x = min(max(x, -self._x_lim), self._x_lim)
            theta = min(max(theta, -self._theta_lim), self._theta_lim)
        return np.array((x, theta), dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        draw = self.np_random.uniform(-INITIAL_STATE_BOUND, INITIAL_STATE_BOUND, size=4)
        self.state = tuple(float(v) for v in draw)
        self._noise = []
        self._noise_pos = 0
        return self._observe(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.state is None:
            raise RuntimeError(f"{type(self).__name__}: call reset() before step().")
        push = check_discrete_action(type(self).__name__, action, 2)
        self.state = euler_step(*self.state, FORCE_MAG if push == 1 else -FORCE_MAG)
        x, _, theta, _ = self.state
        terminated = x < -X_THRESHOLD or x > X_THRESHOLD or theta < -THETA_THRESHOLD or theta > THETA_THRESHOLD
        return self._observe(), 1.0, terminated, False, {}

    def render(self) -> str | None:
        if self.render_mode is None:
            logger.warn(f"{type(self).__name__}.render() called without a render_mode; pass render_mode='ansi'.")
            return None
        if self.state is None:
            return "(not reset)"
        x, _, theta, _ = self.state
        return (
            ascii_track(x, theta, X_THRESHOLD)
            + f"  x={x:+.3f} m theta={np.degrees(theta):+.1f} deg"
        )
