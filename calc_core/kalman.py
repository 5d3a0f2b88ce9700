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
    update    y = z − H x̂⁻                   S = H P⁻ Hᵀ + R
              K = P⁻ Hᵀ S⁻¹  (solving K S = P⁻ Hᵀ, never forming S⁻¹)
              x̂ = x̂⁻ + K y                   P = (I − K H) P⁻ (I − K H)ᵀ + K R Kᵀ   (Joseph form)

The Joseph form is a sum of two positive semi-definite terms, so rounding cannot make P lose its
positive variances; the tutorial's (I − K H) P⁻ cancels to 0 when the sensor is far more precise
than the prior. The tutorial's inv(S) is replaced by a 2×2 Cholesky solve (calc_core.kalman_linalg),
which also detects a singular S.
"""

from __future__ import annotations

import math

import numpy as np

from calc_core.kalman_linalg import (
    compile_kernel,
    mat_mul,
    mat_mul_t,
    mat_vec,
    sandwich,
    solve_right_2x2,
    store_matrix,
    store_vector,
)

SERIES_BELOW = 0.2  # |ω dt| below which s, c, s', c' come from their Taylor series
STATE_NAMES = ("x", "y", "v", "θ", "ω")
N_MEASURED = 2  # z = [x, y]


@compile_kernel
def turn_factors(a):
    """s(a) = sin a / a, c(a) = (1 − cos a)/a and their derivatives s'(a), c'(a)."""
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
    s = math.sin(a) / a
    # 1 − cos a = 2 sin²(a/2), without cancellation
    c = 2.0 * math.sin(0.5 * a) ** 2 / a
    # s' = (cos a − s) / a,   c' = s − c / a
    return s, c, (math.cos(a) - s) / a, s - c / a


@compile_kernel
def _moved(x, dt):
    omega = x[4] if x.shape[0] == 5 else 0.0
    s, c, _, _ = turn_factors(omega * dt)
    cos_t, sin_t = math.cos(x[3]), math.sin(x[3])
    out = x.copy()
    # x' = x + v dt (cos θ s − sin θ c),   y' = y + v dt (sin θ s + cos θ c)
    out[0] = x[0] + x[2] * dt * (cos_t * s - sin_t * c)
    out[1] = x[1] + x[2] * dt * (sin_t * s + cos_t * c)
    # θ' = θ + ω dt   (v' = v, ω' = ω)
    out[3] = x[3] + omega * dt
    return out


@compile_kernel
def _jacobian(x, dt):
    n = x.shape[0]
    v, omega = x[2], (x[4] if n == 5 else 0.0)
    s, c, ds, dc = turn_factors(omega * dt)
    cos_t, sin_t = math.cos(x[3]), math.sin(x[3])
    F = np.eye(n)
    # ∂x'/∂v = dt (cos θ s − sin θ c),   ∂y'/∂v = dt (sin θ s + cos θ c)
    F[0, 2] = dt * (cos_t * s - sin_t * c)
    F[1, 2] = dt * (sin_t * s + cos_t * c)
    # ∂x'/∂θ = −(y' − y) = −v ∂y'/∂v,   ∂y'/∂θ = x' − x = v ∂x'/∂v
    F[0, 3] = -v * F[1, 2]
    F[1, 3] = v * F[0, 2]
    if n == 5:
        # ∂x'/∂ω = v dt² (cos θ s' − sin θ c'),   ∂y'/∂ω = v dt² (sin θ s' + cos θ c'),   ∂θ'/∂ω = dt
        F[0, 4] = v * dt * dt * (cos_t * ds - sin_t * dc)
        F[1, 4] = v * dt * dt * (sin_t * ds + cos_t * dc)
        F[3, 4] = dt
    return F


@compile_kernel
def ekf_predict(x, P, Q, dt):
    """One predict step: returns the prior (x̂⁻, P⁻) and the Jacobian F it used."""
    # F = ∂f/∂x at the current estimate (before it moves)
    F = _jacobian(x, dt)
    # x̂⁻ = f(x̂, dt)
    x_prior = _moved(x, dt)
    # P⁻ = F P Fᵀ + Q
    P_prior = sandwich(F, P) + Q
    return x_prior, P_prior, F


@compile_kernel
def ekf_update(x, P, R, z):
    """One update with z = [x, y]: returns (x̂, P, y, S, K, ok); ok is False when S is singular."""
    H = np.eye(N_MEASURED, x.shape[0])  # picks [x, y] out of the state
    # y = z − H x̂⁻
    y = z - mat_vec(H, x)
    # S = H P⁻ Hᵀ + R
    S = sandwich(H, P) + R
    # K = P⁻ Hᵀ S⁻¹: solve K S = P⁻ Hᵀ
    K, ok = solve_right_2x2(mat_mul_t(P, H), S)
    # x̂ = x̂⁻ + K y
    x_post = x + mat_vec(K, y)
    # P = (I − K H) P⁻ (I − K H)ᵀ + K R Kᵀ
    I_KH = np.eye(x.shape[0]) - mat_mul(K, H)
    P_post = sandwich(I_KH, P) + sandwich(K, R)
    return x_post, P_post, y, S, K, ok


def _state(x) -> np.ndarray:
    x = np.array(x, dtype=float)
    if x.shape not in ((4,), (5,)):
        raise ValueError(
            f"the state must be [x, y, v, θ] or [x, y, v, θ, ω] (shape (4,) or (5,)), got shape {x.shape}"
        )
    return x


def check_dt(dt) -> float:
    """dt as a float, or a ValueError unless it is a finite number > 0."""
    dt = float(dt)
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"the time step dt must be a finite number of seconds > 0, got {dt}")
    return dt


def motion_model(x, dt) -> np.ndarray:
    """x' = f(x, dt): constant speed and turn rate for dt seconds (state of length 4 or 5)."""
    return _moved(_state(x), check_dt(dt))


def motion_jacobian(x, dt) -> np.ndarray:
    """F = ∂f/∂x at x, derived by hand (see the module docstring); shape (n, n) for n = len(x)."""
    return _jacobian(_state(x), check_dt(dt))


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

    After ``update`` the filter keeps the innovation ``y``, its covariance ``S`` and the gain ``K``;
    after ``predict`` it keeps the Jacobian ``F`` it used.
    """

    def __init__(self, x0, P0, Q, R):
        self.x = _state(x0)
        if not np.all(np.isfinite(self.x)):
            raise ValueError(f"the initial state x0 must be finite, got {self.x}")
        n = self.x.shape[0]
        self.P = check_covariance("P0", P0, n, definite=True)
        self.Q = check_covariance("Q", Q, n, definite=False)
        self.R = check_covariance("R", R, N_MEASURED, definite=True)
        self.F = np.eye(n)
        self.y = np.zeros(N_MEASURED)
        self.S = self.R.copy()
        self.K = np.zeros((n, N_MEASURED))

    @property
    def dim_x(self) -> int:
        return self.x.shape[0]

    def predict(self, dt) -> np.ndarray:
        """Move the estimate forward by dt seconds (see ekf_predict); returns the prior x̂⁻."""
        self.x, self.P, self.F = ekf_predict(self.x, self.P, self.Q, check_dt(dt))
        return self.x

    def update(self, z) -> np.ndarray:
        """Correct the estimate with a position measurement z = [x, y] (see ekf_update); returns
        the posterior x̂. A singular innovation covariance raises ValueError."""
        z = np.asarray(z, dtype=float)
        if z.shape != (N_MEASURED,) or not np.all(np.isfinite(z)):
            raise ValueError(f"a measurement must be a finite [x, y] pair, got {z!r}")
        x, P, y, S, K, ok = ekf_update(self.x, self.P, self.R, z)
        if not ok:
            raise ValueError(singular_innovation_message(S))
        self.x, self.P, self.y, self.S, self.K = x, P, y, S, K
        return self.x


# Outcome codes of filter_loop.
COMPLETED, SINGULAR_S, NONFINITE_STATE, COVARIANCE_BLOWUP = 0, 1, 2, 3


@compile_kernel
def filter_loop(x, P, Q, R, measurements, dt, limit, xs, Ps, ys, Ss, Fs, Ks):
    """ekf_predict then ekf_update for each measurement, writing step k's posterior into row k + 1
    of xs, Ps and its y, S, F, K into row k of the others. Returns (step, code): (0, COMPLETED),
    or the 1-based step at which S was singular, the state went non-finite or trace(P) > limit."""
    for k in range(measurements.shape[0]):
        x, P, F = ekf_predict(x, P, Q, dt)
        x, P, y, S, K, ok = ekf_update(x, P, R, measurements[k])
        store_matrix(Ss, k, S)
        if not ok:
            return k + 1, SINGULAR_S
        spread = 0.0  # trace P
        for i in range(x.shape[0]):
            spread += P[i, i]
            if not math.isfinite(x[i]):
                return k + 1, NONFINITE_STATE
        if not spread <= limit:  # NaN fails too
            return k + 1, COVARIANCE_BLOWUP
        store_vector(xs, k + 1, x)
        store_vector(ys, k, y)
        store_matrix(Ps, k + 1, P)
        store_matrix(Fs, k, F)
        store_matrix(Ks, k, K)
    return 0, COMPLETED


#: Plain-Python versions of the compiled kernels, for the page's "code that ran" panel.
ekf_predict_python = getattr(ekf_predict, "py_func", ekf_predict)
ekf_update_python = getattr(ekf_update, "py_func", ekf_update)
