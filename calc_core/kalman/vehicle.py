r"""The simulated vehicle the Kalman filter tracks: truth from the filter's own model plus noise.

The true state x_k = [x, y, v, θ, ω] moves by the constant-turn-rate model of calc_core.kalman.ekf and
gets a random kick each step; a sensor reports the position with Gaussian noise:

    x_{k+1} = f(x_k, dt) + w_k,    w_k ~ N(0, Q),   Q = q² dt · diag(σ_x², σ_y², σ_v², σ_θ², σ_ω²)
    z_k     = H x_k + v_k,         v_k ~ N(0, R),   R = σ_z² I₂

q is the ``process_noise`` setting (0 = the tutorial's perfectly regular vehicle), and the σ's are
PROCESS_NOISE_DENSITY: random-walk intensities per √second, so that the same q gives the same motion
for any dt. σ_z is ``measurement_noise`` in metres. The filter is consistent when it assumes exactly
these Q and R.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from calc_core.kalman.ekf import check_dt, motion_model

#: σ_x, σ_y (m), σ_v (m/s), σ_θ (rad), σ_ω (rad/s), each per √s, at process_noise = 1.
PROCESS_NOISE_DENSITY = (0.1, 0.1, 0.5, 0.05, 0.05)


def check_noise(name: str, value, allow_zero: bool) -> float:
    """A noise level as a float, or a ValueError unless it is finite and > 0 (≥ 0 if allowed)."""
    value = float(value)
    ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value}")
    return value


def process_noise_covariance(process_noise, dt, n_state: int = 5) -> np.ndarray:
    """Q = q² dt · diag(σ²) for the first ``n_state`` components of [x, y, v, θ, ω]."""
    q = check_noise("process_noise", process_noise, allow_zero=True)
    dt = check_dt(dt)
    if n_state not in (4, 5):
        raise ValueError(f"the state has 4 or 5 components, got n_state={n_state}")
    density = np.array(PROCESS_NOISE_DENSITY[:n_state])
    # Q = q² dt diag(σ²)
    return np.diag(q * q * dt * density**2)


def measurement_noise_covariance(measurement_noise) -> np.ndarray:
    """R = σ_z² I₂ for a position sensor with standard deviation σ_z metres per axis."""
    sigma = check_noise("measurement_noise", measurement_noise, allow_zero=True)
    return sigma * sigma * np.eye(2)


@dataclass(frozen=True)
class VehicleRun:
    """A simulated drive: truth[k] at time k·dt (k = 0 … n_steps), measurements[k − 1] taken at step k."""

    times: np.ndarray  # (n_steps + 1,)
    truth: np.ndarray  # (n_steps + 1, 5): [x, y, v, θ, ω]
    measurements: np.ndarray  # (n_steps, 2)
    Q: np.ndarray  # (5, 5) the process noise the truth was drawn with
    R: np.ndarray  # (2, 2) the measurement noise
    dt: float


def check_steps(n_steps) -> int:
    if isinstance(n_steps, bool) or not float(n_steps).is_integer() or n_steps < 1:
        raise ValueError(f"n_steps must be a whole number ≥ 1, got {n_steps!r}")
    return int(n_steps)


def simulate_vehicle(n_steps, dt, speed, turn_rate, process_noise, measurement_noise, seed=0,
                     initial_heading=math.pi / 6) -> VehicleRun:
    """Drive from the origin at ``speed`` m/s, heading ``initial_heading`` rad, turning at
    ``turn_rate`` rad/s, for ``n_steps`` steps of ``dt`` s; measure the position after each step.

    With turn_rate = 0 and process_noise = 0 this is the tutorial's straight line. The random
    kicks and the sensor noise come from two separate streams of ``seed``, so changing one noise
    level leaves the other's draws as they were.
    """
    n_steps = check_steps(n_steps)
    dt = check_dt(dt)
    for name, value in (("speed", speed), ("turn_rate", turn_rate), ("initial_heading", initial_heading)):
        if not math.isfinite(float(value)):
            raise ValueError(f"{name} must be a finite number, got {value}")
    Q = process_noise_covariance(process_noise, dt)
    R = measurement_noise_covariance(measurement_noise)
    kick_rng, sensor_rng = (np.random.default_rng([int(seed), stream]) for stream in (0, 1))
    # w_k ~ N(0, Q) with Q diagonal;  v_k ~ N(0, R) with R = σ_z² I
    kicks = kick_rng.standard_normal((n_steps, 5)) * np.sqrt(np.diag(Q))
    sensor_noise = sensor_rng.standard_normal((n_steps, 2)) * math.sqrt(R[0, 0])
    truth = np.empty((n_steps + 1, 5))
    truth[0] = (0.0, 0.0, float(speed), float(initial_heading), float(turn_rate))
    for k in range(n_steps):
        # x_{k+1} = f(x_k, dt) + w_k
        truth[k + 1] = motion_model(truth[k], dt) + kicks[k]
    # z_k = H x_k + v_k
    measurements = truth[1:, :2] + sensor_noise
    times = dt * np.arange(n_steps + 1)
    return VehicleRun(times, truth, measurements, Q, R, dt)
