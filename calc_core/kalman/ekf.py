r"""Extended Kalman filter for a vehicle that drives and turns (the "sensor fusion" model).

State x = [x, y, v, θ, ω]: position (m), speed v (m/s), heading θ (rad) and turn rate ω (rad/s),
moving at constant speed and turn rate between steps (the CTRV model). Leaving ω out gives the
tutorial's four-state model [x, y, v, θ], which drives straight: it is the case ω = 0.

Motion over a step dt, written with a = ω dt so that the straight line needs no special case:

    x' = x + v dt (cos θ s(a) − sin θ c(a))        s(a) = sin a / a        → 1   as a → 0
    y' = y + v dt (sin θ s(a) + cos θ c(a))        c(a) = (1 − cos a) / a  → a/2 as a → 0
    v' = v,   θ' = θ + ω dt,   ω' = ω

(for a ≠ 0 this is the familiar x' = x + (v/ω)(sin(θ + ω dt) − sin θ)). Its Jacobian F = ∂f/∂x:

    ∂x'/∂v = dt (cos θ s − sin θ c)     ∂x'/∂θ = −(y' − y)     ∂x'/∂ω = v dt² (cos θ s' − sin θ c')
    ∂y'/∂v = dt (sin θ s + cos θ c)     ∂y'/∂θ =   x' − x      ∂y'/∂ω = v dt² (sin θ s' + cos θ c')
    ∂θ'/∂ω = dt,  and 1 on the diagonal.

s, c and their derivatives s', c' are smooth at a = 0; below |a| < SERIES_BELOW they come from
their Taylor series, above it from the closed forms, and the two agree to rounding at the switch.

The filter (H = [I₂ 0] picks the position out of the state):

    predict   x̂⁻ = f(x̂, dt)                 P⁻ = F P Fᵀ + Q
    update    ν = z − H x̂⁻  (the innovation)  S = H P⁻ Hᵀ + R
              K = P⁻ Hᵀ S⁻¹  (solving K S = P⁻ Hᵀ, never forming S⁻¹)
              x̂ = x̂⁻ + K ν                   P = (I − K H) P⁻ (I − K H)ᵀ + K R Kᵀ   (Joseph form)

(ν, not filterpy's y: on the page y is the vehicle's second coordinate.)

The Joseph form is a sum of two positive semi-definite terms, so rounding cannot make P lose its
positive variances; the tutorial's (I − K H) P⁻ cancels to 0 when the sensor is far more precise
than the prior. The tutorial's inv(S) is replaced by a 2×2 Cholesky solve written out
(solve_right_2x2), which also detects a singular S.

Speed: everything is plain numpy and Python, nothing to compile, so the first call is as fast as
the rest. On 5×5 matrices a numpy call costs more than its arithmetic, so a step keeps the calls
few: H is never multiplied (H x̂ = x̂[:2], P Hᵀ = P[:, :2], H P Hᵀ = P[:2, :2]), products use
np.dot (about a third of the overhead of ``@`` on matrices this small), and the 2×2 algebra and the
motion model work on Python floats. benchmarks/bench_kalman.py times it against filterpy.

The motion model (``turn_factors``, ``ctrv_motion``) also runs on np.longdouble: the Jacobian check
(calc_core.kalman.checks) differentiates the very function the filter steps with, in extended
precision.
"""

from __future__ import annotations

import math

import numpy as np
from numpy import dot

SERIES_BELOW = 0.2  # |ω dt| below which s, c, s', c' come from their Taylor series
STATE_NAMES = ("x", "y", "v", "θ", "ω")
N_MEASURED = 2  # z = [x, y]
_IDENTITIES = {n: np.eye(n) for n in (4, 5)}


def identity(n: int) -> np.ndarray:
    """A fresh n×n identity matrix (a copy of a stored one costs a tenth of np.eye)."""
    return _IDENTITIES[n].copy()


def _trig(value):
    """math's sin and cos for a float; numpy's (which keep the precision) for an np.longdouble."""
    return _WIDE_TRIG if isinstance(value, np.longdouble) else math


class _WideTrig:
    sin, cos = staticmethod(np.sin), staticmethod(np.cos)


_WIDE_TRIG = _WideTrig()


def turn_factors(a: float) -> tuple[float, float, float, float]:
    """s(a) = sin a / a, c(a) = (1 − cos a)/a and their derivatives s'(a), c'(a) (a float, or an
    np.longdouble for extended precision)."""
    if abs(a) < SERIES_BELOW:
        a2 = a * a
        # s = 1 − a²/6 + a⁴/120 − a⁶/5040 + a⁸/362880 − a¹⁰/39916800
        s = 1.0 - a2 / 6 * (1 - a2 / 20 * (1 - a2 / 42 * (1 - a2 / 72 * (1 - a2 / 110))))
        # c = a/2 − a³/24 + a⁵/720 − a⁷/40320 + a⁹/3628800 − a¹¹/479001600
        c = a / 2 * (1 - a2 / 12 * (1 - a2 / 30 * (1 - a2 / 56 * (1 - a2 / 90 * (1 - a2 / 132)))))
        # s' = −a/3 + a³/30 − a⁵/840 + a⁷/45360 − a⁹/3991680
        ds = -a / 3 * (1 - a2 / 10 * (1 - a2 / 28 * (1 - a2 / 54 * (1 - a2 / 88))))
        # c' = 1/2 − a²/8 + a⁴/144 − a⁶/5760 + a⁸/403200 − a¹⁰/43545600
        dc = 0.5 * (1 - a2 / 4 * (1 - a2 / 18 * (1 - a2 / 40 * (1 - a2 / 70 * (1 - a2 / 108)))))
        return s, c, ds, dc
    trig = _trig(a)
    s = trig.sin(a) / a
    # 1 − cos a = 2 sin²(a/2), without cancellation
    c = 2.0 * trig.sin(0.5 * a) ** 2 / a
    # s' = (cos a − s) / a,   c' = s − c / a
    return s, c, (trig.cos(a) - s) / a, s - c / a


def ctrv_motion(x: np.ndarray, dt: float) -> np.ndarray:
    """x' = f(x, dt) for an array x of length 4 or 5, float64 or np.longdouble (unchecked: see
    motion_model)."""
    px, py, v, theta, *turn = x.tolist()
    omega = turn[0] if turn else 0.0
    s, c, _, _ = turn_factors(omega * dt)
    trig = _trig(theta)
    cos_t, sin_t = trig.cos(theta), trig.sin(theta)
    out = x.copy()
    # x' = x + v dt (cos θ s − sin θ c),   y' = y + v dt (sin θ s + cos θ c)
    out[0] = px + v * dt * (cos_t * s - sin_t * c)
    out[1] = py + v * dt * (sin_t * s + cos_t * c)
    # θ' = θ + ω dt   (v' = v, ω' = ω)
    out[3] = theta + omega * dt
    return out


def ctrv_jacobian(x: np.ndarray, dt: float) -> np.ndarray:
    """F = ∂f/∂x at a float array x of length n = 4 or 5 (unchecked: see motion_jacobian)."""
    _, _, v, theta, *turn = x.tolist()
    omega = turn[0] if turn else 0.0
    s, c, ds, dc = turn_factors(omega * dt)
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    F = identity(len(x))
    # ∂x'/∂v = dt (cos θ s − sin θ c),   ∂y'/∂v = dt (sin θ s + cos θ c)
    F[0, 2] = dx_dv = dt * (cos_t * s - sin_t * c)
    F[1, 2] = dy_dv = dt * (sin_t * s + cos_t * c)
    # ∂x'/∂θ = −(y' − y) = −v ∂y'/∂v,   ∂y'/∂θ = x' − x = v ∂x'/∂v
    F[0, 3] = -v * dy_dv
    F[1, 3] = v * dx_dv
    if turn:
        # ∂x'/∂ω = v dt² (cos θ s' − sin θ c'),   ∂y'/∂ω = v dt² (sin θ s' + cos θ c'),   ∂θ'/∂ω = dt
        F[0, 4] = v * dt * dt * (cos_t * ds - sin_t * dc)
        F[1, 4] = v * dt * dt * (sin_t * ds + cos_t * dc)
        F[3, 4] = dt
    return F


def ekf_predict(x, P, Q, dt):
    """One predict step: returns the prior (x̂⁻, P⁻) and the Jacobian F it used."""
    # F = ∂f/∂x at the current estimate (before it moves)
    F = ctrv_jacobian(x, dt)
    # x̂⁻ = f(x̂, dt)
    x_prior = ctrv_motion(x, dt)
    # P⁻ = F P Fᵀ + Q
    P_prior = dot(dot(F, P), F.T) + Q
    return x_prior, P_prior, F


def ekf_update(x, P, R, z):
    """One update with z = [x, y]: returns (x̂, P, ν, S, K, ok); ok is False when S is singular.
    H = [I₂ 0] picks the position, so H x̂⁻ = x̂⁻[:2], P⁻ Hᵀ = P⁻[:, :2], H P⁻ Hᵀ = P⁻[:2, :2]."""
    # ν = z − H x̂⁻: the innovation, what the measurement says that the prediction did not
    nu = z - x[:2]
    # S = H P⁻ Hᵀ + R
    S = P[:2, :2] + R
    # K = P⁻ Hᵀ S⁻¹: solve K S = P⁻ Hᵀ
    K, ok = solve_right_2x2(P[:, :2], S)
    # x̂ = x̂⁻ + K ν
    x_post = x + dot(K, nu)
    # I − K H: the identity with K subtracted from its first two columns
    I_KH = identity(len(x))
    I_KH[:, :2] -= K
    # P = (I − K H) P⁻ (I − K H)ᵀ + K R Kᵀ, made exactly symmetric (as it is in exact arithmetic)
    P_post = dot(dot(I_KH, P), I_KH.T) + dot(dot(K, R), K.T)
    P_post = 0.5 * (P_post + P_post.T)
    return x_post, P_post, nu, S, K, ok


def solve_right_2x2(B, S):
    """(B S⁻¹, True) for a symmetric positive-definite 2×2 S and an (n, 2) B, i.e. the X with
    X S = B, by S = L Lᵀ and two triangular solves per row, written out; (zeros, False) when S is
    not positive definite (or is singular to working precision)."""
    (a, b_01), (b_10, d) = S.tolist()
    b = 0.5 * (b_01 + b_10)
    # L = [[l₁₁, 0], [l₂₁, l₂₂]]:  l₁₁ = √a,  l₂₁ = b / l₁₁,  l₂₂² = d − l₂₁²
    l22_sq = d - b * b / a if a > 0 else -1.0
    if not (math.isfinite(l22_sq) and l22_sq > 1e-12 * max(a, d)):
        return np.zeros_like(B), False
    l11 = math.sqrt(a)
    l21, l22 = b / l11, math.sqrt(l22_sq)
    rows = []
    for b1, b2 in B.tolist():  # S xᵢ = bᵢ for each row bᵢ of B (S is symmetric)
        # forward L w = b:  w₁ = b₁ / l₁₁,  w₂ = (b₂ − l₂₁ w₁) / l₂₂
        w1 = b1 / l11
        w2 = (b2 - l21 * w1) / l22
        # back Lᵀ x = w:  x₂ = w₂ / l₂₂,  x₁ = (w₁ − l₂₁ x₂) / l₁₁
        x2 = w2 / l22
        rows.append(((w1 - l21 * x2) / l11, x2))
    return np.array(rows), True


def _state(x, name: str = "the state") -> np.ndarray:
    x = np.array(x, dtype=float)
    if x.shape not in ((4,), (5,)):
        raise ValueError(
            f"{name} must be [x, y, v, θ] or [x, y, v, θ, ω] (shape (4,) or (5,)), got shape {x.shape}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite, got {x}")
    return x


def check_dt(dt) -> float:
    """dt as a float, or a ValueError unless it is a finite number > 0."""
    dt = float(dt)
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"the time step dt must be a finite number of seconds > 0, got {dt}")
    return dt


def motion_model(x, dt) -> np.ndarray:
    """x' = f(x, dt): constant speed and turn rate for dt seconds (state of length 4 or 5)."""
    return ctrv_motion(_state(x), check_dt(dt))


def motion_jacobian(x, dt) -> np.ndarray:
    """F = ∂f/∂x at x, derived by hand (see the module docstring); shape (n, n) for n = len(x)."""
    return ctrv_jacobian(_state(x), check_dt(dt))


def singular_innovation_message(S) -> str:
    (a, b), (_, d) = np.asarray(S, dtype=float).tolist()
    return (
        f"the innovation covariance S = [[{a:.4g}, {b:.4g}], [{b:.4g}, {d:.4g}]] is singular or not "
        "positive definite; give the filter a positive-definite measurement noise R and a finite, "
        "positive semi-definite covariance P"
    )


def check_covariance(name: str, M, n: int, definite: bool) -> np.ndarray:
    """M as a symmetric n×n float array, or a ValueError naming what is wrong with it."""
    M = np.array(M, dtype=float)
    if M.shape != (n, n):
        raise ValueError(f"{name} must be a {n}×{n} matrix, got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise ValueError(f"{name} contains non-finite entries")
    scale = max(float(np.max(np.abs(M))), 1e-300)
    if not np.allclose(M, M.T, rtol=0, atol=1e-12 * scale):
        raise ValueError(f"{name} must be symmetric")
    smallest = float(np.linalg.eigvalsh(M)[0])
    if definite and not smallest > 1e-12 * scale:
        raise ValueError(
            f"{name} must be positive definite (every variance > 0), "
            f"but its smallest eigenvalue is {smallest:.3g}"
        )
    if not definite and smallest < -1e-12 * scale:
        raise ValueError(
            f"{name} must be positive semi-definite (no negative variance), "
            f"but its smallest eigenvalue is {smallest:.3g}"
        )
    return 0.5 * (M + M.T)


class ExtendedKalmanFilter:
    """EKF on the vehicle model with position measurements z = [x, y] + noise.

    Parameters
    ----------
    x0 : array_like, shape (n,)
        Initial estimate, [x, y, v, θ] (n = 4, straight-line model) or [x, y, v, θ, ω] (n = 5).
    P0 : array_like, shape (n, n)
        Initial covariance, positive definite.
    Q : array_like, shape (n, n)
        Process noise covariance added at every predict, positive semi-definite.
    R : array_like, shape (2, 2)
        Measurement noise covariance, positive definite.

    After ``update`` the filter keeps the innovation ``nu`` (ν = z − H x̂⁻; filterpy calls it ``y``,
    which is kept as an alias), its covariance ``S`` and the gain ``K``; after ``predict`` it keeps
    the Jacobian ``F`` it used.
    """

    def __init__(self, x0, P0, Q, R):
        self.x = _state(x0, "the initial state x0")
        n = self.x.shape[0]
        self.P = check_covariance("P0", P0, n, definite=True)
        self.Q = check_covariance("Q", Q, n, definite=False)
        self.R = check_covariance("R", R, N_MEASURED, definite=True)
        self.F = np.eye(n)
        self.nu = np.zeros(N_MEASURED)
        self.S = self.R.copy()
        self.K = np.zeros((n, N_MEASURED))

    @property
    def dim_x(self) -> int:
        return self.x.shape[0]

    @property
    def y(self) -> np.ndarray:
        """The innovation ν under filterpy's name."""
        return self.nu

    def predict(self, dt) -> np.ndarray:
        """Move the estimate forward by dt seconds (see ekf_predict); returns the prior x̂⁻."""
        self.x, self.P, self.F = ekf_predict(self.x, self.P, self.Q, check_dt(dt))
        return self.x

    def update(self, z) -> np.ndarray:
        """Correct the estimate with a position measurement z = [x, y] (see ekf_update); returns
        the posterior x̂. A singular innovation covariance raises ValueError."""
        z = np.asarray(z, dtype=float)
        if z.shape != (N_MEASURED,) or not all(map(math.isfinite, z.tolist())):
            raise ValueError(f"a measurement must be a finite [x, y] pair, got {z!r}")
        x, P, nu, S, K, ok = ekf_update(self.x, self.P, self.R, z)
        if not ok:
            raise ValueError(singular_innovation_message(S))
        if not all(map(math.isfinite, x.tolist())):
            raise ValueError("the update made the estimate non-finite: the filter diverged")
        self.x, self.P, self.nu, self.S, self.K = x, P, nu, S, K
        return self.x


# Outcome codes of filter_loop.
COMPLETED, SINGULAR_S, NONFINITE_STATE, COVARIANCE_BLOWUP = 0, 1, 2, 3


def filter_loop(x, P, Q, R, measurements, dt, limit, xs, Ps, nus, Ss, Fs, Ks):
    """ekf_predict then ekf_update for each measurement, writing step k's posterior into row k + 1
    of xs, Ps and its ν, S, F, K into row k of the others. Returns (step, code): (0, COMPLETED),
    or the 1-based step at which S was singular, the state went non-finite or trace(P) > limit."""
    for k, z in enumerate(measurements):
        try:
            x, P, F = ekf_predict(x, P, Q, dt)
        except (ValueError, OverflowError):  # sin/cos of an angle that overflowed
            return k + 1, NONFINITE_STATE
        x, P, nu, S, K, ok = ekf_update(x, P, R, z)
        Ss[k] = S
        if not ok:
            return k + 1, SINGULAR_S
        # (on Python floats: a numpy reduction costs more than the whole check)
        if not all(map(math.isfinite, x.tolist())):
            return k + 1, NONFINITE_STATE
        if not sum(P.diagonal().tolist()) <= limit:  # trace P; NaN fails too
            return k + 1, COVARIANCE_BLOWUP
        xs[k + 1], Ps[k + 1], nus[k], Fs[k], Ks[k] = x, P, nu, F, K
    return 0, COMPLETED
