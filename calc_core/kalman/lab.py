r"""The Sensor Fusion page: Settings → :func:`run` → a :class:`Result` and its diagnosis, and one
step up close (:func:`step_up_close`, the fragment with its own step k).

A drive is simulated (calc_core.kalman.vehicle) and tracked by the EKF (calc_core.kalman.ekf, run
by calc_core.kalman.consistency.run_filter). What the page draws:

    position error    ‖H x̂_k − H x_k‖   against the raw sensor's   ‖z_k − H x_k‖
    2σ ellipses       {p : (p − H x̂)ᵀ (H P Hᵀ)⁻¹ (p − H x̂) = 4} = H x̂ + 2 L u,  L Lᵀ = H P Hᵀ, ‖u‖ = 1
    NEES, NIS         with their 95% bands, the verdicts and the diagnosis (calc_core.kalman.diagnosis)

(a 2σ ellipse holds 1 − e⁻² ≈ 86% of a 2-D Gaussian's probability, not 95%).

The filter may be mis-tuned on purpose: it assumes process and sensor noise with standard
deviations ``assumed_process_scale`` and ``assumed_measurement_scale`` times the true ones, i.e.
Q̃ = s_Q² Q and R̃ = s_R² R. It starts from the truth plus a draw from its own P₀ (so that it is
consistent from the first step), plus ``heading_error`` degrees on θ that P₀ does not know about.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from calc_core.common.messages import Message
from calc_core.common.presets import Preset
from calc_core.common.snapshots import Snapshots, evenly_spaced
from calc_core.common.validate import choice, real, seed as check_seed, whole
from calc_core.kalman import diagnosis
from calc_core.kalman.checks import JacobianCheck, jacobian_check
from calc_core.kalman.consistency import FilterRun, run_filter
from calc_core.kalman.ekf import STATE_NAMES, ekf_predict, ekf_update
from calc_core.kalman.vehicle import VehicleRun, simulate_vehicle

#: σ of the initial v (m/s), θ (rad) and ω (rad/s) in P₀; the position's is the sensor's σ_z.
INITIAL_MOTION_SIGMA = (0.5, 0.1, 0.05)
INITIAL_HEADING = math.pi / 6  # the true vehicle's, rad
FILTER_MODELS = {"turning": 5, "straight": 4}  # [x, y, v, θ, ω] or the tutorial's [x, y, v, θ]
ELLIPSES_DRAWN = 20  # 2σ ellipses along the drive
ELLIPSE_POINTS = 48
INSPECT_STEP = 60  # the step shown up close unless the user picks another
MAX_STEPS = 100_000
LONGER_RUN = 2000  # the page's most steps: how far a drive is continued to see whether a bad start wears off


@dataclass(frozen=True)
class Settings:
    """One field per control of the page, in its units."""

    speed: float = 5.0  # v, m/s
    turn_rate: float = 0.2  # the vehicle's ω, rad/s
    process_noise: float = 1.0  # q: scales the random changes of the motion (0: perfectly regular)
    measurement_noise: float = 0.5  # σ_z of each measured coordinate, m
    dt: float = 0.1  # Δt, s
    n_steps: int = 200
    filter_model: str = "turning"  # "turning" or the tutorial's "straight"
    assumed_process_scale: float = 1.0  # s_Q: the filter's Q̃ = s_Q² Q
    assumed_measurement_scale: float = 1.0  # s_R: the filter's R̃ = s_R² R
    heading_error: float = 0.0  # degrees added to the filter's initial heading
    seed: int = 0


@dataclass(frozen=True)
class Result:
    """A drive, its measurements, the EKF's estimates and their consistency. Row k of truth,
    estimates and covariances is time k·Δt; row k − 1 of measurements, of the errors and of NEES/NIS
    belongs to update k. After a divergence the estimates are NaN from there on."""

    settings: Settings
    times: np.ndarray  # (N + 1,)
    truth: np.ndarray  # (N + 1, 5) [x, y, v, θ, ω]
    measurements: np.ndarray  # (N, 2)
    estimates: np.ndarray  # (N + 1, n)
    covariances: np.ndarray  # (N + 1, n, n)
    position_error: np.ndarray  # (N,) ‖H x̂_k − H x_k‖
    measurement_error: np.ndarray  # (N,) ‖z_k − H x_k‖
    mean_position_error: float  # over the completed updates
    mean_measurement_error: float
    ellipse_steps: np.ndarray  # (E,) the steps drawn with their 2σ ellipse
    ellipses: np.ndarray  # (E, ELLIPSE_POINTS + 1, 2) closed polygons
    nees: np.ndarray  # (N,)
    nis: np.ndarray  # (N,)
    nees_step_band: tuple[float, float]  # 95% band of one value
    nis_step_band: tuple[float, float]
    mean_nees: float
    mean_nis: float
    nees_mean_band: tuple[float, float]  # 95% band of the mean over the run
    nis_mean_band: tuple[float, float]
    nees_verdict: str  # "consistent", "overconfident", "underconfident" or "diverged"
    nis_verdict: str
    verdict: str  # the filter's: NEES's if it is outside its band, else NIS's (see diagnosis)
    diverged_step: int | None  # the update (1-based) at which the filter failed
    divergence_reason: str
    completed: int  # updates the filter finished
    x0: np.ndarray  # the filter's initial estimate
    P0: np.ndarray
    Q: np.ndarray  # the filter's (assumed) Q̃ and R̃
    R: np.ndarray
    true_Q: np.ndarray
    true_R: np.ndarray
    snapshots: Snapshots  # estimate, covariance, truth and 2σ ellipse at ≤ 41 steps
    gradient_checks: tuple = ()  # the Jacobian is checked per step, by step_up_close
    against_sensor: "diagnosis.AgainstSensor | None" = None  # the filter's error against the sensor's, tested
    heading_start: "diagnosis.HeadingStart | None" = None  # a heading error against the right start, same drive
    diagnosis: tuple[Message, ...] = ()

    @property
    def diverged(self) -> bool:
        return self.diverged_step is not None

    @property
    def n_state(self) -> int:
        return int(self.estimates.shape[1])

    @property
    def error_against_sensor(self) -> float:
        """Mean position error minus the raw sensor's: negative when the fusion helps."""
        return self.mean_position_error - self.mean_measurement_error


@dataclass(frozen=True)
class Drive:
    """What the filter is given: the simulated drive, its start and its (assumed) noise."""

    sim: VehicleRun
    x0: np.ndarray
    P0: np.ndarray
    Q: np.ndarray
    R: np.ndarray


def _validated(s: Settings) -> Settings:
    real("the speed v", s.speed, 0.0, 1000.0)
    real("the turn rate ω", s.turn_rate, -100.0, 100.0)
    real("the process noise q", s.process_noise, 0.0, 100.0)
    real("the sensor noise σ", s.measurement_noise, positive=True, maximum=1000.0)
    real("the time step Δt", s.dt, positive=True, maximum=10.0)
    whole("the number of steps", s.n_steps, 1, MAX_STEPS)
    choice("filter model", s.filter_model, tuple(FILTER_MODELS))
    real("the assumed ÷ true process noise", s.assumed_process_scale, 0.0, 1000.0)
    real("the assumed ÷ true sensor noise", s.assumed_measurement_scale, positive=True, maximum=1000.0)
    real("the initial heading error", s.heading_error, -180.0, 180.0)
    check_seed(s.seed)
    return s


def initial_covariance(measurement_noise: float, n_state: int) -> np.ndarray:
    """P₀ = diag(σ_z², σ_z², 0.5², 0.1², 0.05²), the first n_state entries."""
    sigma = np.array((measurement_noise, measurement_noise) + INITIAL_MOTION_SIGMA[: n_state - 2])
    return np.diag(sigma**2)


def drive(settings: Settings) -> Drive:
    """Simulate the drive and set the filter up for it (validating the settings)."""
    s = _validated(settings)
    n = FILTER_MODELS[s.filter_model]
    sim = simulate_vehicle(s.n_steps, s.dt, s.speed, s.turn_rate, s.process_noise, s.measurement_noise, s.seed,
                           INITIAL_HEADING)
    P0 = initial_covariance(s.measurement_noise, n)
    start = np.random.default_rng([int(s.seed), 2]).standard_normal(n)
    x0 = sim.truth[0, :n] + np.sqrt(np.diag(P0)) * start
    x0[3] += math.radians(s.heading_error)
    # Q̃ = s_Q² Q,   R̃ = s_R² R
    return Drive(sim, x0, P0, s.assumed_process_scale**2 * sim.Q[:n, :n], s.assumed_measurement_scale**2 * sim.R)


def run(settings: Settings) -> Result:
    """Simulate the drive, track it with the EKF, and diagnose the filter's consistency."""
    d = drive(settings)
    sim = d.sim
    fr = run_filter(d.x0, d.P0, d.Q, d.R, sim.measurements, sim.dt, sim.truth)
    done = fr.n_completed
    position_error = np.linalg.norm(fr.estimates[1:, :2] - sim.truth[1:, :2], axis=1)
    measurement_error = np.linalg.norm(sim.measurements - sim.truth[1:, :2], axis=1)
    every = max(1, sim.measurements.shape[0] // ELLIPSES_DRAWN)
    ellipse_steps = np.arange(0, done + 1, every)
    result = Result(
        settings=settings, times=sim.times, truth=sim.truth, measurements=sim.measurements,
        estimates=fr.estimates, covariances=fr.covariances, position_error=position_error,
        measurement_error=measurement_error,
        mean_position_error=float(np.mean(position_error[:done])) if done else math.nan,
        mean_measurement_error=float(np.mean(measurement_error)), ellipse_steps=ellipse_steps,
        ellipses=covariance_ellipses(fr.estimates[ellipse_steps, :2], fr.covariances[ellipse_steps, :2, :2]),
        nees=fr.nees[1:], nis=fr.nis, nees_step_band=fr.nees_step_band, nis_step_band=fr.nis_step_band,
        mean_nees=fr.mean_nees, mean_nis=fr.mean_nis, nees_mean_band=fr.nees_mean_band,
        nis_mean_band=fr.nis_mean_band, nees_verdict=fr.nees_verdict, nis_verdict=fr.nis_verdict,
        verdict=diagnosis.overall_verdict(fr.nees_verdict, fr.nis_verdict, fr.diverged), diverged_step=fr.diverged_step,
        divergence_reason=fr.divergence_reason, completed=done, x0=d.x0, P0=d.P0, Q=d.Q, R=d.R,
        true_Q=sim.Q, true_R=sim.R, snapshots=_snapshots(fr, sim, done))
    result = replace(result, against_sensor=against_sensor(result), heading_start=heading_start(result))
    return replace(result, diagnosis=diagnose(result))


def _filtered(settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """The estimates after each completed update for ``settings``, and the truth at those steps."""
    d = drive(settings)
    sim = d.sim
    fr = run_filter(d.x0, d.P0, d.Q, d.R, sim.measurements, sim.dt, sim.truth)
    done = fr.n_completed
    return fr.estimates[1:done + 1], sim.truth[1:done + 1]


def _position_errors(settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """The filter's and the sensor's position errors per completed update for ``settings``."""
    d = drive(settings)
    sim = d.sim
    fr = run_filter(d.x0, d.P0, d.Q, d.R, sim.measurements, sim.dt, sim.truth)
    done = fr.n_completed
    return (np.linalg.norm(fr.estimates[1:done + 1, :2] - sim.truth[1:done + 1, :2], axis=1),
            np.linalg.norm(sim.measurements[:done] - sim.truth[1:done + 1, :2], axis=1))


def _against_right_start(settings: Settings, estimates: np.ndarray | None = None):
    """Per update, the distance between the position estimates of ``settings`` (or the given
    ``estimates``) and of the same drive filtered from the right heading, and the latter's position
    error — over the updates both completed."""
    if estimates is None:
        estimates, _ = _filtered(settings)
    right, truth = _filtered(replace(settings, heading_error=0.0))
    n = min(len(estimates), len(right))
    return (np.linalg.norm(estimates[:n, :2] - right[:n, :2], axis=1),
            np.linalg.norm(right[:n, :2] - truth[:n, :2], axis=1))


def heading_start(result: Result) -> "diagnosis.HeadingStart | None":
    """For a run started off in heading whose NEES spiked early on: its position estimate against
    the one the same drive gives a filter started at the right heading, and the step from which the
    bad start has worn off (diagnosis.worn_off). When it has not by the end, the same drive is
    continued to LONGER_RUN steps — a longer run extends the same drive and repeats the filter's
    first steps exactly, since the noise is drawn step by step from the seed — to find the fewest
    steps (a multiple of 10) with which it has."""
    s, done = result.settings, result.completed
    if s.heading_error == 0 or result.diverged or done == 0 or not diagnosis._spiked(result):
        return None
    gap, reference = _against_right_start(s, result.estimates[1:done + 1])
    if gap.size < done:
        return None
    step, tolerance = diagnosis.worn_off(gap, reference)
    estimate, truth = result.estimates[done], result.truth[done]
    off = abs(math.degrees(float(np.pi - np.mod(np.pi - (truth[3] - estimate[3]), 2 * np.pi))))
    settles = step is not None and float(np.mean(result.nees[step - 1:done])) < result.nees_step_band[1]
    start = diagnosis.HeadingStart(gap, reference, tolerance, step, float(estimate[2]), float(truth[2]), off, settles)
    if step is not None or s.n_steps >= LONGER_RUN:
        return start
    gap, reference = _against_right_start(replace(s, n_steps=LONGER_RUN))
    for steps in range(10 * (s.n_steps // 10 + 1), gap.size + 1, 10):
        later, _ = diagnosis.worn_off(gap[:steps], reference[:steps])
        if later is not None:
            return replace(start, longer_checked=int(gap.size), longer_steps=int(steps), longer_step=later)
    return replace(start, longer_checked=int(gap.size))


def against_sensor(result: Result) -> "diagnosis.AgainstSensor | None":
    """The filter's mean position error against the raw sensor's, with a paired test of the per-step
    differences; when the filter is clearly worse, the same drive is filtered again with each of its
    mis-tunings set right (the drive and its measurements depend on the seed and the vehicle's
    settings only, so they are the same), to find which of them make it worse."""
    done = result.completed
    if result.diverged or done == 0:
        return None
    test = diagnosis.paired_test(result.position_error[:done], result.measurement_error[:done])
    if not test.worse:
        return diagnosis.AgainstSensor(test)
    s = result.settings
    fixes = {}
    for cause, change in diagnosis.SETTINGS_RIGHT.items():
        if diagnosis.is_set(cause, s):
            fixed = replace(s, **change)
            errors, _ = _position_errors(fixed)
            if errors.size == done:
                fixes[cause] = diagnosis.paired_test(errors, result.position_error[:done])
    tuned = replace(s, **{k: v for change in diagnosis.SETTINGS_RIGHT.values() for k, v in change.items()})
    errors, _ = _position_errors(tuned)
    tuned_error = float(np.mean(errors)) if errors.size == done else math.nan
    return diagnosis.AgainstSensor(test, fixes, tuned_error)


def _snapshots(fr: FilterRun, sim: VehicleRun, done: int) -> Snapshots:
    steps = evenly_spaced(done)
    return Snapshots(steps, "step", {
        "estimate": fr.estimates[steps], "covariance": fr.covariances[steps], "truth": sim.truth[steps],
        "ellipse": covariance_ellipses(fr.estimates[steps, :2], fr.covariances[steps, :2, :2])})


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


def diagnose(result: Result) -> tuple[Message, ...]:
    """The verdicts on the run, worded (calc_core.kalman.diagnosis)."""
    return diagnosis.diagnose(result)


# ----------------------------------------------------------------------------- one step up close

@dataclass(frozen=True)
class StepUpClose:
    """Update k replayed with ekf_predict and ekf_update from the run's estimate after step k − 1,
    with the Jacobian check at that estimate. Positions are (2,), ellipses closed 2σ polygons."""

    step: int
    time: float
    state_names: tuple[str, ...]
    linearized_at: np.ndarray  # x̂_{k−1}: where F = ∂f/∂x was taken
    F: np.ndarray  # as ekf_predict used it
    true_state: np.ndarray  # [x, y, v, θ, ω] of the vehicle at step k
    prior: np.ndarray  # x̂⁻ (whole state)
    prior_covariance: np.ndarray  # P⁻
    measurement: np.ndarray  # z_k
    posterior: np.ndarray  # x̂ (whole state)
    posterior_covariance: np.ndarray
    innovation: np.ndarray  # ν = z − H x̂⁻
    gain: np.ndarray  # K, (n, 2)
    prior_ellipse: np.ndarray  # of H P⁻ Hᵀ around H x̂⁻
    measurement_ellipse: np.ndarray  # of the filter's R̃ around z_k
    posterior_ellipse: np.ndarray  # of H P Hᵀ around H x̂
    jacobian: JacobianCheck
    omega_column: tuple[tuple[str, float, str], ...]  # (entry, value, what it means); () for 4 states
    words: tuple[str, ...]  # the paragraphs the page shows (predict, update, the Jacobian, its ω column)

    @property
    def truth(self) -> np.ndarray:
        """The true position at step k."""
        return self.true_state[:2]

    @property
    def label(self) -> str:
        return f"Step {self.step}, t = {self.time:.2f} s."

    @property
    def check_what(self) -> str:
        """What the Jacobian check differentiates, for its panel."""
        return (f"each component f_i of the motion model at the estimate before step {self.step} — the F that "
                "ekf_predict propagated P with")

    @property
    def correction(self) -> np.ndarray:
        """H x̂ − H x̂⁻ = H K ν: how far the measurement moved the position estimate."""
        return self.posterior[:2] - self.prior[:2]


def step_up_close(settings: Settings, k: int) -> StepUpClose:
    """Replay update ``k`` (1 … the updates the run completed) of ``run(settings)``: the filter is
    run again up to step k — the same code, so the same numbers — then step k is taken apart."""
    d = drive(settings)
    k = whole("the step k", k, 1, d.sim.measurements.shape[0])
    sim = d.sim
    fr = run_filter(d.x0, d.P0, d.Q, d.R, sim.measurements[:k], sim.dt, sim.truth[: k + 1])
    if fr.n_completed < k:
        raise ValueError(f"the filter completed only {fr.n_completed} updates, so there is no step {k} to show")
    x, P = fr.estimates[k - 1], fr.covariances[k - 1]
    x_prior, P_prior, F = ekf_predict(x, P, d.Q, sim.dt)
    z = sim.measurements[k - 1]
    x_post, P_post, nu, _, K, _ = ekf_update(x_prior, P_prior, d.R, z)
    prior_ellipse, measurement_ellipse, posterior_ellipse = covariance_ellipses(
        [x_prior[:2], z, x_post[:2]], [P_prior[:2, :2], d.R, P_post[:2, :2]])
    check = jacobian_check(x, P, d.Q, sim.dt, seed=int(settings.seed))
    names = STATE_NAMES[: x.size]
    column = _omega_column(F, sim.dt)
    partial = dict(step=k, time=float(sim.times[k]), state_names=names, linearized_at=x.copy(), F=F,
                   true_state=sim.truth[k].copy(), prior=x_prior, prior_covariance=P_prior, measurement=z.copy(),
                   posterior=x_post, posterior_covariance=P_post, innovation=nu, gain=K, prior_ellipse=prior_ellipse,
                   measurement_ellipse=measurement_ellipse, posterior_ellipse=posterior_ellipse, jacobian=check,
                   omega_column=column)
    return StepUpClose(**partial, words=_step_words(StepUpClose(**partial, words=())))


def _omega_column(F: np.ndarray, dt: float) -> tuple[tuple[str, float, str], ...]:
    if F.shape[0] < 5:
        return ()
    return (
        ("∂x′/∂ω", float(F[0, 4]), "metres the next x moves per rad/s of turn-rate error"),
        ("∂y′/∂ω", float(F[1, 4]), "metres the next y moves per rad/s of turn-rate error"),
        ("∂θ′/∂ω", float(F[3, 4]), f"radians the next heading turns per rad/s: Δt = {dt:g} s"),
    )


def _step_words(f: StepUpClose) -> tuple[str, ...]:
    """The paragraphs beside the step's chart: every number in them is this step's."""
    k, names = f.step, f.state_names
    offered, moved = float(np.linalg.norm(f.innovation)), float(np.linalg.norm(f.correction))
    words = [
        f"**Predict.** From the estimate after step {k - 1} — "
        + ", ".join(f"{n} = {v:.3g}" for n, v in zip(names, f.linearized_at))
        + " — the motion model moves the position to x̂⁻ (orange), and P⁻ = F P Fᵀ + Q carries the covariance "
        "through the motion and adds the noise the filter expects on the way.",
        f"**Update.** The measurement z (red) lies {offered:.3f} m from the prediction: the innovation ν = z − Hx̂⁻. "
        f"The gain K = P⁻Hᵀ S⁻¹ moves the estimate {moved:.3f} m of that toward z — further when the prediction "
        "is unsure, less when the sensor is — and the fused ellipse (blue) is smaller than both.",
        f"**The Jacobian** F = ∂f/∂x, taken at that estimate, carries the uncertainty through the motion. Row i says "
        "how component i after the step moves per unit change of each component before it: a heading error δθ "
        f"becomes a position error ({f.F[0, 3]:+.3f}, {f.F[1, 3]:+.3f})·δθ m.",
    ]
    if f.omega_column:
        (_, dx, _), (_, dy, _), (_, dtheta, _) = f.omega_column
        cross = f.prior_covariance[4, :2]
        gain = f.gain[4]
        words.append(
            f"**Its ω column** (∂x′/∂ω = {dx:+.4f} m and ∂y′/∂ω = {dy:+.4f} m per rad/s, ∂θ′/∂ω = {dtheta:.3g} s) is how "
            "a position measurement reaches the turn rate: P⁻ = F P Fᵀ + Q carries it into the covariance of ω with "
            f"the position (P⁻_ωx = {cross[0]:+.3g}, P⁻_ωy = {cross[1]:+.3g}), so the gain has an ω row "
            f"K_ω = ({gain[0]:+.3g}, {gain[1]:+.3g}) rad/s per metre, and this innovation changed ω̂ by K_ω ν = "
            f"{float(gain @ f.innovation):+.2e} rad/s, to {f.posterior[4]:.4f} (the vehicle's: {f.true_state[4]:.4f}). "
            "A filter whose F lacked the column would never correlate ω with the position (P₀ and Q hold no such "
            "correlation), "
            "its K_ω would stay 0 and ω̂ would never move from its first guess.")
    else:
        words.append("**The straight model** has no ω in its state: nothing in F can account for a turn, so on a "
                     "curve every prediction runs straight on and the update has to pull it back.")
    return tuple(words)


# ----------------------------------------------------------------------------- lessons

PRESETS = (
    Preset("overconfident", "Mis-tuned filter: overconfident",
           "The filter assumes the motion is 10× steadier than it is (Q̃ = Q/100). Its ellipses shrink, the mean "
           "NEES rises to more than ten times the top of its band and the filter is flagged overconfident; slow to "
           "follow the vehicle's random changes, its estimate is also worse than a tuned filter's.",
           settings={"assumed_process_scale": 0.1}, expect=("overconfident",), avoid=("consistent", "diverged")),
    Preset("straight_on_turn", "Straight-line model on a turn",
           "The tutorial's four-state model [x, y, v, θ] has no turn rate: on a 0.5 rad/s turn every predict runs "
           "straight on, the estimate falls outside the curve with at least half again the turning filter's "
           "error, and NEES says overconfident. The turning model's ω column is what lets the measurements "
           "correct the turn rate (see one step up close).",
           settings={"filter_model": "straight", "turn_rate": 0.5}, expect=("overconfident",),
           avoid=("consistent", "diverged")),
    Preset("underconfident", "Assumed sensor noise ×5: underconfident",
           "The filter assumes R̃ = 25 R and discounts good measurements: its innovations are far smaller than S "
           "predicts, so NIS falls below its band and the filter is flagged underconfident. NEES, whose band is "
           "wide for a filter that barely listens to its sensor, may stay inside its own. The estimate is worse "
           "than a tuned filter's.",
           settings={"assumed_measurement_scale": 5.0}, expect=("underconfident",), avoid=("consistent", "diverged")),
    Preset("bad_start", "Start 60° off in heading",
           "P₀ claims σ_θ = 5.7°, but the filter starts 60° off: NEES spikes far above the band of a single step, "
           "then the measurements turn the estimate around and NEES settles — though the spike leaves the run's "
           "mean NEES above its band.",
           settings={"heading_error": 60.0}, expect=("overconfident", "recovered"), avoid=("diverged",)),
    Preset("backwards", "Start facing backwards",
           "The filter starts 180° off. Position measurements cannot tell a car driving forwards from one "
           "driving backwards while facing the other way, and the estimate settles on that mirror image: v̂ "
           "below 0 and θ̂ about 180° from the vehicle's heading, its positions back with a well-started "
           "filter's. It is the same motion: once the start has worn off, NEES is back near 5, the size of the state.",
           settings={"heading_error": 180.0}, expect=("overconfident", "recovered"), avoid=("diverged",)),
)


def preset_diagnosis(preset: Preset, seed: int) -> tuple[Message, ...]:
    return run(preset.apply(Settings(), seed=seed)).diagnosis
