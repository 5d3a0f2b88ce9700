r"""The Jacobian check: F = ∂f/∂x as the filter's predict step used it, against derivative-free
estimates of the motion model it stepped with, under the shared verdict (pass / fail / too flat to
check) of calc_core.common.gradcheck.

``ekf_predict(x̂, P, Q, dt)`` returns the prior x̂⁻ = f(x̂) (computed by ``ctrv_motion``) and the Jacobian
F it propagated P⁻ = F P Fᵀ + Q with (computed by ``ctrv_jacobian`` inside it): that F is what is
checked, so a wrong ``ctrv_jacobian`` fails here even if ``motion_jacobian`` were right. Row i of F is
the gradient of the scalar f_i; each row is one check, against Ridders' extrapolated central
differences of f_i evaluated in extended precision by the same ``ctrv_motion`` on np.longdouble.

Units. A state mixes metres, m/s, radians and rad/s, and the gradient check takes its first steps
from the sizes of the coordinates (a tenth of each, at least a hundredth of their RMS): 20 km from
the origin that would step the heading by tens of radians. So the check runs in scaled coordinates
u, with x = x̂ + D (u − 1) and D = diag(1 m, 1 m, 1 m/s, 1 rad, min(1, 1/dt) rad/s): at u = 1 every
first step is 0.1 of those units (0.1 rad of heading, at most 0.1 rad of ω dt), and the gradient
with respect to u is row i of F times D, which is what is compared. The numeric F shown on the page
is the estimate divided by D again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calc_core.common.gradcheck import GradientCheck, check_gradient, summarize
from calc_core.kalman.ekf import STATE_NAMES, ctrv_motion, check_dt, ekf_predict


@dataclass(frozen=True)
class JacobianCheck:
    """The F one predict step used at ``state``, against derivative-free estimates, row by row."""

    state: np.ndarray  # x̂, where F was taken
    dt: float
    analytic: np.ndarray  # (n, n) F as the filter used it
    numeric: np.ndarray  # (n, n) the derivative-free estimates of ∂f_i/∂x_j
    rows: tuple[GradientCheck, ...]  # one per row f_i, in scaled units (see the module docstring)

    @property
    def verdict(self) -> str:
        return summarize(self.rows).verdict

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


def check_units(n: int, dt: float) -> np.ndarray:
    """diag D of the scaled coordinates: 1 m, 1 m, 1 m/s, 1 rad and min(1, 1/dt) rad/s."""
    return np.array([1.0, 1.0, 1.0, 1.0, min(1.0, 1.0 / dt)][:n])


def jacobian_check(x, P, Q, dt, *, predict=ekf_predict, seed: int = 0) -> JacobianCheck:
    """Check the Jacobian that ``predict`` (the filter's ekf_predict) uses at estimate ``x`` with
    covariance ``P`` and process noise ``Q``: every row, every entry, and two directions per row."""
    dt = check_dt(dt)
    x = np.array(x, dtype=float)
    P, Q = np.asarray(P, dtype=float), np.asarray(Q, dtype=float)
    n = x.size
    _, _, F = predict(x, P, Q, dt)
    units = check_units(n, dt)
    wide_x, wide_units = x.astype(np.longdouble), units.astype(np.longdouble)
    moved = {}  # f(x(u)) in extended precision by u: the rows share most of their points

    def f_wide(u):
        key = u.tobytes()
        if key not in moved:
            # x = x̂ + D (u − 1)
            moved[key] = ctrv_motion(wide_x + wide_units * (u - 1), dt)
        return moved[key]

    def f(u, i):
        return predict(x + units * (u - 1), P, Q, dt)[0][i]

    rows = tuple(
        check_gradient(lambda u, i=i: f(u, i), np.ones(n), F[i] * units, name=f"∂{STATE_NAMES[i]}′/∂x",
                       seed=seed, extended=lambda u, i=i: f_wide(u)[i])
        for i in range(n))
    numeric = np.array([row.numeric for row in rows]) / units
    return JacobianCheck(x, dt, F, numeric, rows)
