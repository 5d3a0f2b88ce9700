r"""What the sensor-fusion page draws, as pure functions of scalar settings.

``track_vehicle`` simulates a drive (calc_core.kalman.vehicle), runs the EKF on it
(calc_core.kalman.consistency.run_filter) and returns everything the page plots:

    position error       ‖H x̂_k − H x_k‖   against the raw sensor's   ‖z_k − H x_k‖
    2σ ellipses          {p : (p − H x̂)ᵀ (H P Hᵀ)⁻¹ (p − H x̂) = 4} = H x̂ + 2 L u,  L Lᵀ = H P Hᵀ, ‖u‖ = 1
    NEES, NIS            with their 95% bands and the verdict

(a 2σ ellipse holds 1 − e⁻² ≈ 86% of a 2-D Gaussian's probability, not 95%).

The filter may be mis-tuned on purpose: it assumes process and measurement noise with standard
deviations ``assumed_process_scale`` and ``assumed_measurement_scale`` times the true ones, i.e.
Q̃ = s_Q² Q and R̃ = s_R² R. Scaling both by the same s leaves the gain, and so the estimate, almost
unchanged but scales P by s²: the estimate is as good as before, only the filter's belief about it
is wrong, and NEES ≈ n / s² says so.

The filter starts from the truth plus a draw from its own P0 (so that it is consistent from the first
step), plus ``heading_error`` radians on θ that P0 does not know about.

``fusion_at_step`` replays one step of a run in the plane — the prediction with its covariance P⁻,
the measurement with R, and the update that fuses them — and ``jacobian_check`` compares
motion_jacobian with central differences of motion_model, row by row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from calc_core.common.gradcheck import DEFAULT_TOLERANCE, GradientCheck, check_gradient, relative_error
from calc_core.kalman.ekf import STATE_NAMES, check_dt, ekf_predict, ekf_update, motion_jacobian, motion_model
from calc_core.kalman.consistency import FilterRun, run_filter
from calc_core.kalman.vehicle import check_noise, simulate_vehicle

#: σ of the initial v (m/s), θ (rad) and ω (rad/s) in P0; the position's is the sensor's σ_z.
INITIAL_MOTION_SIGMA = (0.5, 0.1, 0.05)
FILTER_MODELS = {"turning": 5, "straight": 4}  # [x, y, v, θ, ω] or the tutorial's [x, y, v, θ]
ELLIPSE_POINTS = 48

EXPLANATIONS = {
    "consistent": "The errors are as large as the covariance says: the filter believes itself "
    "about the right amount.",
    "overconfident": "The errors are larger than the covariance admits: the filter trusts its "
    "estimate (or its motion model) more than it should and weighs new measurements too little.",
    "underconfident": "The errors are smaller than the covariance says: the filter assumes more "
    "noise than there is, so its uncertainty ellipses are too large.",
    "diverged": "The filter broke down: its numbers stopped being finite or its covariance blew "
    "up, so the run was stopped there.",
}


@dataclass(frozen=True)
class TrackingRun:
    """A drive, its measurements and the EKF's estimates; row k of truth/estimates is time k·dt,
    row k − 1 of measurements and of the per-step errors and NIS belongs to step k."""

    times: np.ndarray  # (N + 1,)
    truth: np.ndarray  # (N + 1, 5)
    measurements: np.ndarray  # (N, 2)
    estimates: np.ndarray  # (N + 1, n), NaN after a divergence
    covariances: np.ndarray  # (N + 1, n, n)
    position_error: np.ndarray  # (N,) ‖H x̂_k − H x_k‖
    measurement_error: np.ndarray  # (N,) ‖z_k − H x_k‖
    mean_position_error: float
    mean_measurement_error: float
    ellipse_steps: np.ndarray  # (E,) the steps that get an ellipse
    ellipses: np.ndarray  # (E, ELLIPSE_POINTS + 1, 2) closed 2σ polygons
    nees: np.ndarray  # (N,) steps 1 … N
    nis: np.ndarray  # (N,)
    nees_step_band: tuple[float, float]
    nis_step_band: tuple[float, float]
    mean_nees: float
    mean_nis: float
    nees_mean_band: tuple[float, float]
    nis_mean_band: tuple[float, float]
    nees_verdict: str
    nis_verdict: str
    verdict: str
    explanation: str
    diverged_step: int | None
    divergence_reason: str
    x0: np.ndarray  # the filter's initial estimate
    P0: np.ndarray
    Q: np.ndarray  # the filter's (assumed) Q and R
    R: np.ndarray
    true_Q: np.ndarray
    true_R: np.ndarray

    @property
    def diverged(self) -> bool:
        return self.diverged_step is not None


def initial_covariance(measurement_noise: float, n_state: int) -> np.ndarray:
    """P0 = diag(σ_z², σ_z², 0.5², 0.1², 0.05²), the first n_state entries."""
    sigma = np.array((measurement_noise, measurement_noise) + INITIAL_MOTION_SIGMA[: n_state - 2])
    return np.diag(sigma**2)


def covariance_ellipses(means, covariances, n_sigma: float = 2.0, n_points: int = ELLIPSE_POINTS) -> np.ndarray:
    """Closed polygons of the n_sigma ellipses of 2-D Gaussians: mean + n_sigma · L [cos t, sin t]
    with L Lᵀ the 2×2 covariance. means (E, 2), covariances (E, 2, 2) → (E, n_points + 1, 2)."""
    means, covariances = np.asarray(means, dtype=float), np.asarray(covariances, dtype=float)
    a, b, d = covariances[:, 0, 0], covariances[:, 0, 1], covariances[:, 1, 1]
    # L = [[√a, 0], [b/√a, √(d − b²/a)]]
    l11 = np.sqrt(a)
    l21 = b / l11
    l22 = np.sqrt(np.maximum(d - l21 * l21, 0.0))
    t = np.linspace(0.0, 2.0 * math.pi, n_points + 1)
    u, v = np.cos(t), np.sin(t)
    px = means[:, :1] + n_sigma * (l11[:, None] * u)
    py = means[:, 1:2] + n_sigma * (l21[:, None] * u + l22[:, None] * v)
    return np.stack([px, py], axis=-1)


def track_vehicle(dt=0.1, measurement_noise=0.5, process_noise=1.0, n_steps=200, speed=5.0,
                  turn_rate=0.2, heading_error=0.0, assumed_process_scale=1.0,
                  assumed_measurement_scale=1.0, seed=0, filter_model="turning",
                  initial_heading=math.pi / 6, n_ellipses=20) -> TrackingRun:
    """Simulate a drive and track it with the EKF (angles in radians, turn rate in rad/s).

    ``filter_model`` is 'turning' (state [x, y, v, θ, ω]) or 'straight' (the tutorial's
    [x, y, v, θ], which cannot represent a turn). See the module docstring for the rest.
    """
    if filter_model not in FILTER_MODELS:
        raise ValueError(f"filter_model must be one of {sorted(FILTER_MODELS)}, got {filter_model!r}")
    n = FILTER_MODELS[filter_model]
    sigma_z = check_noise("measurement_noise", measurement_noise, allow_zero=False)
    scale_Q = check_noise("assumed_process_scale", assumed_process_scale, allow_zero=True)
    scale_R = check_noise("assumed_measurement_scale", assumed_measurement_scale, allow_zero=False)
    heading_error = float(heading_error)
    if not math.isfinite(heading_error):
        raise ValueError(f"heading_error must be a finite angle in radians, got {heading_error}")
    sim = simulate_vehicle(n_steps, dt, speed, turn_rate, process_noise, sigma_z, seed, initial_heading)
    P0 = initial_covariance(sigma_z, n)
    start_rng = np.random.default_rng([int(seed), 2])
    x0 = sim.truth[0, :n] + np.sqrt(np.diag(P0)) * start_rng.standard_normal(n)
    x0[3] += heading_error
    # Q̃ = s_Q² Q,   R̃ = s_R² R
    Q, R = scale_Q**2 * sim.Q[:n, :n], scale_R**2 * sim.R
    run = run_filter(x0, P0, Q, R, sim.measurements, sim.dt, sim.truth)
    return _tracking_run(sim, run, x0, P0, Q, R, n_ellipses)


def _tracking_run(sim, run: FilterRun, x0, P0, Q, R, n_ellipses) -> TrackingRun:
    n_steps = sim.measurements.shape[0]
    position_error = np.linalg.norm(run.estimates[1:, :2] - sim.truth[1:, :2], axis=1)
    measurement_error = np.linalg.norm(sim.measurements - sim.truth[1:, :2], axis=1)
    done = run.n_completed
    every = max(1, n_steps // max(1, int(n_ellipses)))
    steps = np.arange(0, done + 1, every)
    ellipses = covariance_ellipses(run.estimates[steps, :2], run.covariances[steps, :2, :2])
    mean_error = float(np.mean(position_error[:done])) if done else math.nan
    return TrackingRun(
        sim.times, sim.truth, sim.measurements, run.estimates, run.covariances, position_error,
        measurement_error, mean_error, float(np.mean(measurement_error)), steps, ellipses,
        run.nees[1:], run.nis, run.nees_step_band, run.nis_step_band, run.mean_nees, run.mean_nis,
        run.nees_mean_band, run.nis_mean_band, run.nees_verdict, run.nis_verdict, run.verdict,
        EXPLANATIONS[run.verdict], run.diverged_step, run.divergence_reason, x0, P0, Q, R,
        sim.Q, sim.R,
    )


@dataclass(frozen=True)
class FusionStep:
    """Step k of a run in the plane: predict from x̂_{k−1} (with F linearized there), then update
    with z_k. Positions are (2,) arrays, ellipses closed 2σ polygons (ELLIPSE_POINTS + 1, 2)."""

    step: int
    time: float
    linearized_at: np.ndarray  # x̂_{k−1}, the state at which F = ∂f/∂x was taken
    F: np.ndarray
    truth: np.ndarray
    prior: np.ndarray  # H x̂⁻, where the motion model puts the vehicle
    measurement: np.ndarray  # z_k
    posterior: np.ndarray  # H x̂, the fused estimate
    prior_ellipse: np.ndarray  # of H P⁻ Hᵀ
    measurement_ellipse: np.ndarray  # of the filter's (assumed) R, around z_k
    posterior_ellipse: np.ndarray  # of H P Hᵀ
    innovation: np.ndarray  # y = z − H x̂⁻
    gain: np.ndarray  # K, (n, 2)
    position_gain: np.ndarray  # H K: how far towards z the position moves, per unit of y

    @property
    def correction(self) -> np.ndarray:
        """H K y = H x̂ − H x̂⁻: the move of the position estimate the measurement caused."""
        return self.position_gain @ self.innovation


def completed_steps(run: TrackingRun) -> int:
    """The number of updates the filter finished (all of them unless it diverged)."""
    return run.measurements.shape[0] if run.diverged_step is None else run.diverged_step - 1


def fusion_at_step(run: TrackingRun, step: int) -> FusionStep:
    """Replay update ``step`` (1 … completed_steps(run)) of the run with ekf_predict and ekf_update."""
    step = int(step)
    if not 1 <= step <= completed_steps(run):
        raise ValueError(f"step must be between 1 and {completed_steps(run)} (the updates the filter "
                         f"completed), got {step}")
    dt = float(run.times[1] - run.times[0])
    x, P = run.estimates[step - 1], run.covariances[step - 1]
    x_prior, P_prior, F = ekf_predict(x, P, run.Q, dt)
    z = run.measurements[step - 1]
    x_post, P_post, y, _, K, _ = ekf_update(x_prior, P_prior, run.R, z)
    ellipses = covariance_ellipses([x_prior[:2], z, x_post[:2]], [P_prior[:2, :2], run.R, P_post[:2, :2]])
    return FusionStep(step, float(run.times[step]), x.copy(), F, run.truth[step, :2].copy(), x_prior[:2],
                      z.copy(), x_post[:2], *ellipses, y, K, K[:2].copy())


@dataclass(frozen=True)
class JacobianCheck:
    """motion_jacobian against central differences of motion_model at one state."""

    state: np.ndarray
    dt: float
    analytic: np.ndarray  # (n, n)
    numeric: np.ndarray  # (n, n)
    relative_error: float  # of the whole matrices
    rows: tuple[GradientCheck, ...]  # one per output: ∇f_i against row i of F
    tolerance: float

    @property
    def passed(self) -> bool:
        return bool(self.relative_error <= self.tolerance and all(row.passed for row in self.rows))


def jacobian_check(state: tuple, dt: float, tolerance: float = DEFAULT_TOLERANCE) -> JacobianCheck:
    """Check F = ∂f/∂x at ``state`` ([x, y, v, θ] or [x, y, v, θ, ω]) one row at a time."""
    dt = check_dt(dt)
    x = np.array(state, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"the state must be finite, got {x}")
    F = motion_jacobian(x, dt)
    rows = tuple(
        check_gradient(lambda s, i=i: motion_model(s, dt)[i], x, F[i],
                       name=f"∂{STATE_NAMES[i]}'/∂x", tolerance=tolerance)
        for i in range(x.shape[0])
    )
    numeric = np.array([row.numeric for row in rows])
    return JacobianCheck(x, dt, F, numeric, relative_error(F, numeric), rows, tolerance)
