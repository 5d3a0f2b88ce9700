r"""Running a two-player game: the four methods of calc_core.gan.linear, on any field.

``play(field, method, lr, steps, start)`` iterates z = (x, y) with the field v(x, y) = (−∂f/∂x, +∂f/∂y)
(x descends f, y ascends it):

    simultaneous    x′ = x + η v_x(x, y),           y′ = y + η v_y(x, y)
    alternating     x′ = x + η v_x(x, y),           y′ = y + η v_y(x′, y)      (y sees the new x)
    extragradient   z½ = z + η v(z),                z′ = z + η v(z½)           (a look-ahead step)
    optimistic      z′ = z + 2η v(z_t) − η v(z_{t−1}),   with z₋₁ = z₀

A run that blows up — an iterate that is not finite or farther than BLOW_UP from the origin — stops
there: the trajectory ends with the last finite iterate and ``diverged_step`` says which step left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from calc_core.common.validate import finite_array, whole
from calc_core.gan.linear import check_lr, check_method

BLOW_UP = 1e100  # ‖z‖ beyond this counts as blown up (its square still fits a float)
MAX_STEPS = 1_000_000

Field = Callable[[float, float], tuple[float, float]]


@dataclass(frozen=True)
class GameRun:
    """z_0 … z_T of one method; T = steps unless the run blew up at ``diverged_step``."""

    method: str
    lr: float
    trajectory: np.ndarray  # (T + 1, 2) rows (x_t, y_t), all finite
    diverged_step: int | None = None

    @property
    def distance(self) -> np.ndarray:
        """‖z_t − z*‖ with the equilibrium z* = 0."""
        return np.hypot(self.trajectory[:, 0], self.trajectory[:, 1])

    @property
    def diverged(self) -> bool:
        return self.diverged_step is not None


def check_start(start) -> tuple[float, float]:
    z0 = finite_array("start", start, ndim=1)
    if z0.shape != (2,):
        raise ValueError(f"start must be a point (x, y), got {z0.size} number{'' if z0.size == 1 else 's'}")
    return float(z0[0]), float(z0[1])


def check_steps(steps) -> int:
    return whole("steps", steps, 1, MAX_STEPS)


def play(field: Field, method: str, lr, steps, start) -> GameRun:
    """Iterate ``method`` with step size η = ``lr`` for ``steps`` steps from ``start`` on ``field``."""
    method, eta, steps = check_method(method), check_lr(lr), check_steps(steps)
    x, y = check_start(start)
    step = _STEPPERS[method]
    rows = np.empty((steps + 1, 2))
    rows[0] = x, y
    memory = field(x, y)  # v(z_{t−1}) for optimistic GDA, with z₋₁ = z₀
    for t in range(1, steps + 1):
        x, y, memory = step(field, eta, x, y, memory)
        if not (math.isfinite(x) and math.isfinite(y)):
            return GameRun(method, eta, rows[:t].copy(), t)
        rows[t] = x, y
        if math.hypot(x, y) > BLOW_UP:
            return GameRun(method, eta, rows[: t + 1].copy(), t)
    return GameRun(method, eta, rows)


def simultaneous_step(field, eta, x, y, memory):
    vx, vy = field(x, y)
    # z′ = z + η v(z)
    return x + eta * vx, y + eta * vy, memory


def alternating_step(field, eta, x, y, memory):
    # x′ = x + η v_x(x, y)
    x = x + eta * field(x, y)[0]
    # y′ = y + η v_y(x′, y)
    return x, y + eta * field(x, y)[1], memory


def extragradient_step(field, eta, x, y, memory):
    vx, vy = field(x, y)
    # z½ = z + η v(z)
    hx, hy = field(x + eta * vx, y + eta * vy)
    # z′ = z + η v(z½)
    return x + eta * hx, y + eta * hy, memory


def optimistic_step(field, eta, x, y, memory):
    vx, vy = field(x, y)
    # z′ = z + 2η v(z_t) − η v(z_{t−1})
    return x + eta * (2 * vx - memory[0]), y + eta * (2 * vy - memory[1]), (vx, vy)


_STEPPERS = {"simultaneous": simultaneous_step, "alternating": alternating_step,
             "extragradient": extragradient_step, "optimistic": optimistic_step}


def stepper(method: str) -> Callable:
    """The function that takes one step of ``method`` — ``(field, η, x, y, memory) → (x′, y′, memory′)``,
    the code :func:`play` runs (and the page shows)."""
    return _STEPPERS[check_method(method)]
