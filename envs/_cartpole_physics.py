"""Cart-pole equations of motion shared by ``StatelessCartPole`` and ``ShiftingCartPole``.

The model is the classic frictionless cart-pole of Barto, Sutton and Anderson (1983): a cart
of mass ``m_c`` on a straight track carries a uniform pole of mass ``m_p`` and half-length
``l`` on an unactuated hinge; a horizontal force ``F`` pushes the cart. With the pole angle
``theta`` measured from the track normal (positive clockwise) the accelerations are::

    common    = (F + m_p * l * theta_dot**2 * sin(theta)) / (m_c + m_p)
    theta_acc = (g_n * sin(theta) - cos(theta) * common)
                / (l * (4/3 - m_p * cos(theta)**2 / (m_c + m_p)))
    x_acc     = common - m_p * l * theta_acc * cos(theta) / (m_c + m_p) + g_t

where ``g_n`` is the component of gravity along the track normal and ``g_t`` the component
along the track (zero for a level track). A uniform field along the track accelerates cart
and pole alike, so it only adds ``g_t`` to the cart acceleration. The state is advanced with
one explicit Euler step of length ``tau``.
"""

from __future__ import annotations

import math

# Nominal physical constants (those of the classic benchmark).
GRAVITY = 9.8  # m/s^2, magnitude of gravity
CART_MASS = 1.0  # kg
POLE_MASS = 0.1  # kg
POLE_HALF_LENGTH = 0.5  # m, distance from hinge to the pole's centre of mass
FORCE_MAG = 10.0  # N, magnitude of the push applied by either action
TAU = 0.02  # s, integration step (50 Hz control)
THETA_THRESHOLD = 12.0 * math.pi / 180.0  # rad, |theta| beyond this ends the episode
X_THRESHOLD = 2.4  # m, |x| beyond this ends the episode
FOUR_THIRDS = 4.0 / 3.0  # dimensionless, moment-of-inertia factor of a uniform rod


def euler_step(
    x: float,
    x_dot: float,
    theta: float,
    theta_dot: float,
    force: float,
    gravity_normal: float = GRAVITY,
    gravity_along: float = 0.0,
    cart_mass: float = CART_MASS,
    pole_mass: float = POLE_MASS,
    half_length: float = POLE_HALF_LENGTH,
    tau: float = TAU,
) -> tuple[float, float, float, float]:
    """Advance the cart-pole state by one Euler step of ``tau`` seconds and return the new state.

    Args:
        x, x_dot: cart position (m) and velocity (m/s) along the track.
        theta, theta_dot: pole angle (rad) from the track normal and its rate (rad/s).
        force: horizontal force on the cart (N), positive towards +x.
        gravity_normal: gravity component along the track normal (m/s^2).
        gravity_along: gravity component along the track (m/s^2), positive towards +x.
        cart_mass, pole_mass: masses (kg).
        half_length: hinge-to-centre-of-mass distance of the pole (m).
        tau: step length (s).
    """
    cos_t = math.cos(theta)
    sin_t = math.sin(theta)
    total_mass = cart_mass + pole_mass
    common = (force + pole_mass * half_length * theta_dot * theta_dot * sin_t) / total_mass
    theta_acc = (gravity_normal * sin_t - cos_t * common) / (
        half_length * (FOUR_THIRDS - pole_mass * cos_t * cos_t / total_mass)
    )
    x_acc = common - pole_mass * half_length * theta_acc * cos_t / total_mass + gravity_along
    return (
        x + tau * x_dot,
        x_dot + tau * x_acc,
        theta + tau * theta_dot,
        theta_dot + tau * theta_acc,
    )


def ascii_track(x: float, theta: float, x_limit: float, width: int = 41) -> str:
    """Draw the cart on a one-line text track: ``|....C....|`` with the pole's lean after it."""
    inner = width - 2
    position = int(round((x + x_limit) / (2.0 * x_limit) * (inner - 1)))
    position = min(max(position, 0), inner - 1)
    lean = "\\" if theta < -0.02 else ("/" if theta > 0.02 else "|")
    cells = ["."] * inner
    cells[position] = "C"
    return "|" + "".join(cells) + "| pole " + lean
