"""calc_core.kalman (ekf, consistency, vehicle, lab): the motion model and its Jacobian, agreement
with filterpy, the tutorial's numbers, NEES/NIS consistency, what the page draws (run, snapshots,
one step up close), bad input and divergence."""

import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from filterpy.kalman import ExtendedKalmanFilter as FilterpyEKF
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

import calc_core.kalman.consistency as consistency
import calc_core.kalman.ekf as kalman
import calc_core.kalman.lab as lab
from calc_core.common.gradcheck import numerical_gradient, relative_error
from calc_core.common.messages import codes
from calc_core.common.snapshots import MAX_SNAPSHOTS
from calc_core.kalman import ExtendedKalmanFilter, motion_jacobian, motion_model
from calc_core.kalman.consistency import run_filter, sum_nees_variance
from calc_core.kalman.diagnosis import CHANCE_RATE
from calc_core.kalman.ekf import SERIES_BELOW, ekf_predict, ekf_update, solve_right_2x2, turn_factors
from calc_core.kalman.lab import Settings, covariance_ellipses
from calc_core.kalman.vehicle import simulate_vehicle

TUTORIAL_Q = np.diag([0.1, 0.1, 0.01, 0.01])
TUTORIAL_R = np.diag([0.5, 0.5])
TUTORIAL_X0 = np.array([0.0, 0.0, 5.0, math.pi / 6])


def track(**settings) -> lab.Result:
    """lab.run on the defaults with ``settings`` changed (heading_error in degrees, as on the page)."""
    return lab.run(Settings(**settings))


def central_difference_jacobian(x, dt):
    """Row i = central-difference gradient of the i-th output of motion_model."""
    return np.array([numerical_gradient(lambda s, i=i: motion_model(s, dt)[i], x)
                     for i in range(len(x))])


def exact_turn_factors(a: float):
    """s, c, s', c' from sin a and cos a summed as exact fractions (no cancellation, no series
    truncation at the precision of a float)."""
    q = Fraction(a)
    sin, cos, term = Fraction(0), Fraction(0), Fraction(1)
    for k in range(60):  # term = qᵏ / k!
        if k % 2 == 0:
            cos += term if k % 4 == 0 else -term
        else:
            sin += term if k % 4 == 1 else -term
        term = term * q / (k + 1)
    s, c = sin / q, (1 - cos) / q
    return float(s), float(c), float((q * cos - sin) / q**2), float((q * sin - (1 - cos)) / q**2)


# --- the motion model and its Jacobian ------------------------------------------------------

states = st.tuples(
    st.floats(-100, 100), st.floats(-100, 100), st.floats(-30, 30), st.floats(-7, 7),
    st.one_of(st.floats(-2, 2), st.sampled_from([0.0, 1e-12, -1e-9, 1e-7, 3e-4])),
)


@settings(max_examples=150, deadline=None)
@given(state=states, dt=st.floats(0.01, 1.0), full=st.booleans())
def test_jacobian_matches_central_differences_at_random_states(state, dt, full):
    x = np.array(state if full else state[:4])
    F = motion_jacobian(x, dt)
    assert relative_error(F, central_difference_jacobian(x, dt)) < 1e-7


@pytest.mark.parametrize("omega", [0.0, 1e-15, -1e-12, 1e-9, 1e-6, -1e-4])
def test_jacobian_matches_central_differences_at_and_near_zero_turn_rate(omega):
    x = np.array([3.0, -2.0, 7.0, 2.1, omega])
    F = motion_jacobian(x, 0.1)
    assert relative_error(F, central_difference_jacobian(x, 0.1)) < 1e-8
    if abs(omega) <= 1e-9:  # the ω column's limit, ∂x'/∂ω → −½ v dt² sin θ, ∂y'/∂ω → ½ v dt² cos θ
        assert F[0, 4] == pytest.approx(-0.5 * 7.0 * 0.01 * math.sin(2.1), rel=1e-9)
        assert F[1, 4] == pytest.approx(0.5 * 7.0 * 0.01 * math.cos(2.1), rel=1e-9)


@pytest.mark.parametrize(
    "a", [1e-12, -3e-9, 1e-5, 0.01, -0.1, 0.19, SERIES_BELOW * (1 - 1e-12), SERIES_BELOW,
          -SERIES_BELOW * (1 + 1e-12), 0.21, 0.5, -1.3],
)
def test_turn_factors_match_exact_arithmetic_on_both_sides_of_the_series_switch(a):
    for got, want in zip(turn_factors(a), exact_turn_factors(a)):
        assert got == pytest.approx(want, rel=1e-13, abs=1e-300)


def test_turn_factors_have_no_jump_where_the_series_hands_over_to_the_closed_form():
    below = np.array(turn_factors(np.nextafter(SERIES_BELOW, 0)))
    above = np.array(turn_factors(SERIES_BELOW))
    assert np.all(np.abs(below - above) <= 1e-13 * np.abs(above))


def test_straight_model_is_the_tutorials_straight_line():
    x, y, v, theta, dt = 1.0, 2.0, 5.0, math.pi / 6, 0.1
    want = [x + v * math.cos(theta) * dt, y + v * math.sin(theta) * dt, v, theta]
    np.testing.assert_allclose(motion_model([x, y, v, theta], dt), want, rtol=1e-15)
    np.testing.assert_allclose(motion_model([x, y, v, theta, 0.0], dt), want + [0.0], rtol=1e-15)
    F_want = [[1, 0, math.cos(theta) * dt, -v * math.sin(theta) * dt],
              [0, 1, math.sin(theta) * dt, v * math.cos(theta) * dt], [0, 0, 1, 0], [0, 0, 0, 1]]
    np.testing.assert_allclose(motion_jacobian([x, y, v, theta], dt), F_want, rtol=1e-15)


@pytest.mark.parametrize("omega", [0.7, -0.25, 2.0])
def test_turning_model_matches_the_textbook_ctrv_formula(omega):
    x, y, v, theta, dt = -4.0, 9.0, 6.0, 1.2, 0.3
    want = [x + v / omega * (math.sin(theta + omega * dt) - math.sin(theta)),
            y + v / omega * (math.cos(theta) - math.cos(theta + omega * dt)),
            v, theta + omega * dt, omega]
    np.testing.assert_allclose(motion_model([x, y, v, theta, omega], dt), want, rtol=1e-13)


@settings(max_examples=80, deadline=None)
@given(state=states, dt=st.floats(0.01, 1.0))
def test_two_steps_of_dt_equal_one_step_of_2dt(state, dt):
    # constant speed and turn rate: the path is a circle (or a line), so moves compose exactly
    x = np.array(state)
    twice = motion_model(motion_model(x, dt), dt)
    once = motion_model(x, 2 * dt)
    np.testing.assert_allclose(twice, once, rtol=1e-11, atol=1e-11 * (1 + np.abs(x).max()))


# --- the filter against filterpy ------------------------------------------------------------

class FilterpyVehicle(FilterpyEKF):
    """filterpy's EKF with our motion model: filterpy supplies predict/update algebra."""

    def __init__(self, x0, P0, Q, R, dt):
        super().__init__(dim_x=len(x0), dim_z=2)
        self.x, self.P, self.Q, self.R, self.dt = (np.array(x0, float), np.array(P0, float),
                                                   np.array(Q, float), np.array(R, float), dt)

    def predict_x(self, u=0):
        self.x = motion_model(self.x, self.dt)

    def step(self, z):
        self.F = motion_jacobian(self.x, self.dt)
        self.predict()
        H = np.eye(2, len(self.x))
        self.update(z, HJacobian=lambda x: H, Hx=lambda x: H @ x)


@pytest.mark.parametrize("turn_rate, n_state", [(0.3, 5), (0.0, 5), (0.0, 4), (-0.8, 5)])
def test_filter_agrees_with_filterpy_extended_kalman_filter(turn_rate, n_state):
    sim = simulate_vehicle(300, 0.1, 6.0, turn_rate, 1.0, 0.5, seed=3)
    x0 = sim.truth[0, :n_state] + [0.4, -0.3, 0.5, 0.2, 0.05][:n_state]
    P0 = np.diag([1.0, 1.0, 1.0, 0.3, 0.1][:n_state])
    Q = sim.Q[:n_state, :n_state]
    oracle = FilterpyVehicle(x0, P0, Q, sim.R, sim.dt)
    ours = ExtendedKalmanFilter(x0, P0, Q, sim.R)
    run = run_filter(x0, P0, Q, sim.R, sim.measurements, sim.dt, sim.truth)
    for k, z in enumerate(sim.measurements):
        oracle.step(z)
        ours.predict(sim.dt)
        ours.update(z)
        scale = 1.0 + np.abs(oracle.x).max()
        np.testing.assert_allclose(ours.x, oracle.x, rtol=0, atol=1e-9 * scale)
        np.testing.assert_allclose(ours.P, oracle.P, rtol=0, atol=1e-9 * np.abs(oracle.P).max())
        np.testing.assert_allclose(ours.nu, oracle.y, rtol=0, atol=1e-9 * scale)  # ν: filterpy's y
        assert ours.y is ours.nu
        np.testing.assert_allclose(ours.S, oracle.S, rtol=1e-9)
        np.testing.assert_allclose(run.estimates[k + 1], oracle.x, rtol=0, atol=1e-9 * scale)
        np.testing.assert_allclose(run.covariances[k + 1], oracle.P, rtol=0,
                                   atol=1e-9 * np.abs(oracle.P).max())
        # filterpy's Mahalanobis distance is √NIS
        assert run.nis[k] == pytest.approx(oracle.mahalanobis**2, rel=1e-9)


def test_run_filter_runs_the_predict_and_update_functions_the_page_shows(monkeypatch):
    # the page's code panel shows kalman.ekf_predict and kalman.ekf_update: they must be what ran
    calls = []

    def spy(function):
        def wrapper(*args):
            calls.append(function.__name__)
            return function(*args)
        return wrapper

    monkeypatch.setattr(kalman, "ekf_predict", spy(ekf_predict))
    monkeypatch.setattr(kalman, "ekf_update", spy(ekf_update))
    sim = simulate_vehicle(7, 0.1, 5.0, 0.2, 1.0, 0.5, seed=1)
    run_filter(sim.truth[0], np.eye(5), sim.Q, sim.R, sim.measurements, sim.dt, sim.truth)
    assert calls == ["ekf_predict", "ekf_update"] * 7


def test_the_filter_needs_no_compiler():
    # a cold start (fresh clone, new deploy, first CI run) must answer at once: no numba here
    code = ("import sys, calc_core.kalman.lab as k; k.run(k.Settings(n_steps=5)); k.step_up_close(k.Settings(), 3); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'llvmlite')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    assert out.strip() == "[]"


def test_solve_right_2x2_solves_and_flags_a_singular_or_indefinite_matrix():
    rng = np.random.default_rng(0)
    B = rng.normal(size=(5, 2))
    S = np.array([[2.0, 0.7], [0.7, 0.5]])
    X, ok = solve_right_2x2(B, S)
    assert ok
    np.testing.assert_allclose(X @ S, B, rtol=1e-13, atol=1e-13)
    for bad in ([[1.0, 1.0], [1.0, 1.0]], [[-1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, np.nan]],
                [[np.inf, 0.0], [0.0, 1.0]]):
        X, ok = solve_right_2x2(B, np.array(bad))
        assert not ok and not X.any()


def test_joseph_form_keeps_the_posterior_variance_when_the_sensor_is_far_more_precise_than_the_prior():
    # prior variance 1e16 against R ≈ 1: the short form (I − K H) P⁻ cancels to 0 here
    correlated = np.eye(5) + np.diag([0.5, 0.2, 0.0, 0.0], 1) + np.diag([0.5, 0.2, 0.0, 0.0], -1)
    P_prior, R = 1e16 * correlated, np.diag([1.0, 2.0])
    ekf = ExtendedKalmanFilter(np.zeros(5), P_prior, np.zeros((5, 5)), R)
    ekf.update([1.0, 2.0])
    # information form: P = (P⁻⁻¹ + Hᵀ R⁻¹ H)⁻¹, whose measured block is ≈ R
    H = np.eye(2, 5)
    reference = np.linalg.inv(np.linalg.inv(P_prior) + H.T @ np.linalg.inv(R) @ H)
    np.testing.assert_allclose(np.diag(ekf.P)[:2], np.diag(reference)[:2], rtol=1e-9)
    assert np.linalg.eigvalsh(ekf.P).min() > 0.5


def test_joseph_form_keeps_the_covariance_symmetric_positive_definite_with_a_precise_sensor():
    sim = simulate_vehicle(3000, 0.05, 8.0, 0.4, 0.5, 1e-4, seed=2)
    run = run_filter(sim.truth[0], np.diag([100.0, 100.0, 25.0, 1.0, 0.5]), sim.Q, sim.R,
                     sim.measurements, sim.dt, sim.truth)
    assert not run.diverged
    P = run.covariances
    assert np.array_equal(P, np.swapaxes(P, 1, 2))
    assert np.linalg.eigvalsh(P).min() > 0


# --- the tutorial's numbers -----------------------------------------------------------------

def tutorial_runs(n_seeds):
    for seed in range(n_seeds):
        sim = simulate_vehicle(100, 0.1, 5.0, 0.0, 0.0, 0.5, seed)
        yield sim, run_filter(TUTORIAL_X0, np.eye(4), TUTORIAL_Q, TUTORIAL_R, sim.measurements,
                              0.1, sim.truth)


def test_tutorial_settings_track_the_straight_line_to_about_30_cm():
    errors, raw = [], []
    for sim, run in tutorial_runs(40):
        errors.append(np.linalg.norm(run.estimates[1:, :2] - sim.truth[1:, :2], axis=1).mean())
        raw.append(np.linalg.norm(sim.measurements - sim.truth[1:, :2], axis=1).mean())
    # the tutorial prints ≈ 0.29 m for its seed; runs here spread ≈ ±0.03 m around ≈ 0.33 m
    assert 0.25 < np.mean(errors) < 0.38
    assert max(errors) < 0.45
    # and the filter halves the sensor's error (mean of ‖noise‖ = σ √(π/2) ≈ 0.63 m)
    assert np.mean(raw) == pytest.approx(0.5 * math.sqrt(math.pi / 2), rel=0.05)
    assert np.mean(errors) < 0.6 * np.mean(raw)


def test_tutorial_tuning_is_flagged_underconfident():
    # its R = diag(0.5, 0.5) is a variance where the noise has σ = 0.5 (variance 0.25), and its Q
    # is added to a vehicle that moves without any noise: the filter assumes too much noise
    verdicts = {(run.nees_verdict, run.nis_verdict) for _, run in tutorial_runs(10)}
    assert verdicts == {("underconfident", "underconfident")}


# --- consistency ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def matched_runs():
    return [track(seed=seed, n_steps=100, turn_rate=0.3) for seed in range(300)]


@pytest.mark.parametrize("dof", [1, 2, 4, 5, 3.7, 400, 2e4, 1e6])
def test_chi2_quantiles_are_scipy_stats_chi2_ppf(dof):
    p = [1e-6, 0.025, 0.5, 0.975, 1 - 1e-9]
    np.testing.assert_allclose(consistency.chi2_quantiles(p, dof), chi2.ppf(p, dof), rtol=1e-12)


def test_nees_averaged_over_runs_is_the_state_dimension(matched_runs):
    nees = np.array([run.nees for run in matched_runs])  # (runs, steps)
    nis = np.array([run.nis for run in matched_runs])
    n_runs = nees.shape[0]
    # across independent runs at one step, runs·mean ~ χ²(runs·n); three steps, each at 99.9%
    for step in (9, 49, 99):
        low, high = chi2.ppf([0.0005, 0.9995], n_runs * 5) / n_runs
        assert low < nees[:, step].mean() < high
        low, high = chi2.ppf([0.0005, 0.9995], n_runs * 2) / n_runs
        assert low < nis[:, step].mean() < high


def test_nees_variance_implied_by_the_gains_matches_the_spread_over_runs(matched_runs):
    spread = np.std([run.mean_nees for run in matched_runs], ddof=1)
    K, n = 100, 5
    # ignoring the correlation of successive errors, χ²(K n)/K, would predict a third of it
    assert spread > 2 * math.sqrt(2 * n / K)
    implied = []
    for seed in range(3):
        run, sim = matched_runs[seed], simulate_vehicle(100, 0.1, 5.0, 0.3, 1.0, 0.5, seed=seed)
        implied.append(math.sqrt(sum_nees_variance(run.covariances, transitions_of(run, sim))) / K)
    # sampling error of a standard deviation from 300 runs ≈ 4%, plus the EKF's linearization
    assert np.mean(implied) == pytest.approx(spread, rel=0.15)


def transitions_of(run, sim):
    """A_k = (I − K_k H) F_k, re-running the filter step by step."""
    ekf = ExtendedKalmanFilter(run.x0, run.P0, run.Q, run.R)
    A = []
    for z in sim.measurements:
        ekf.predict(sim.dt)
        ekf.update(z)
        A.append((np.eye(5) - ekf.K @ np.eye(2, 5)) @ ekf.F)
    return np.array(A)


def test_sum_nees_variance_equals_the_sum_over_all_pairs_of_steps():
    rng = np.random.default_rng(1)
    K, n = 12, 3
    P = np.array([np.eye(n) + 0.3 * (B := rng.normal(size=(n, n))) @ B.T for _ in range(K + 1)])
    A = 0.5 * rng.normal(size=(K, n, n))
    brute = 0.0
    for k in range(1, K + 1):
        for j in range(1, K + 1):
            if j == k:
                brute += 2 * n
                continue
            lo, hi = min(j, k), max(j, k)
            Phi = np.eye(n)
            for m in range(lo + 1, hi + 1):
                Phi = A[m - 1] @ Phi
            C = Phi @ P[lo]  # Cov(e_hi, e_lo)
            brute += 2 * np.trace(np.linalg.solve(P[hi], C) @ np.linalg.solve(P[lo], C.T))
    assert sum_nees_variance(P, A) == pytest.approx(brute, rel=1e-10)


def test_matched_filter_is_called_consistent_in_about_95_percent_of_runs(matched_runs):
    consistent = sum(run.nees_verdict == "consistent" for run in matched_runs)
    # nominally 95% (285 of 300, sd ≈ 3.8); the naive χ²(K n) band would pass about half
    assert consistent >= 265
    assert sum(run.nis_verdict == "consistent" for run in matched_runs) >= 265


def test_a_tuned_filter_fails_one_of_the_two_tests_in_about_one_run_in_chance_rate(matched_runs):
    # what the diagnosis tells a user whose settings are all tuned right (binomial sd ≈ 5 of 30)
    failed = sum(run.verdict != "consistent" for run in matched_runs)
    assert 300 / CHANCE_RATE / 2 <= failed <= 300 / CHANCE_RATE * 1.6
    defaults = sum(track(seed=seed).verdict != "consistent" for seed in range(300))
    assert 300 / CHANCE_RATE / 2 <= defaults <= 300 / CHANCE_RATE * 1.6


@pytest.mark.parametrize("scale, verdict", [(0.3, "overconfident"), (3.0, "underconfident")])
def test_filters_assuming_the_wrong_noise_are_flagged(scale, verdict):
    for seed in range(5):
        run = track(seed=seed, assumed_process_scale=scale, assumed_measurement_scale=scale)
        assert (run.nees_verdict, run.nis_verdict, run.verdict) == (verdict, verdict, verdict)
        matched = track(seed=seed)
        # scaling Q and R together leaves the estimate nearly as good: only the belief is wrong
        assert run.mean_position_error < 1.3 * matched.mean_position_error


def test_straight_line_filter_on_a_turning_vehicle_is_overconfident_and_lags():
    for seed in range(5):
        straight = track(seed=seed, turn_rate=0.5, filter_model="straight")
        turning = track(seed=seed, turn_rate=0.5)
        assert straight.verdict == "overconfident"
        assert straight.mean_position_error > 1.5 * turning.mean_position_error


def test_verdict_without_truth_rests_on_nis():
    sim = simulate_vehicle(200, 0.1, 5.0, 0.2, 1.0, 0.5, seed=4)
    run = run_filter(sim.truth[0], np.eye(5), 0.01 * sim.Q, 0.01 * sim.R, sim.measurements, 0.1)
    assert run.nees is None and np.isnan(run.mean_nees)
    assert run.verdict == run.nis_verdict == "overconfident"


# --- what the page draws ------------------------------------------------------------------

def test_ellipse_points_lie_at_mahalanobis_distance_two():
    means = np.array([[1.0, 2.0], [-3.0, 0.5]])
    covs = np.array([[[0.5, 0.2], [0.2, 0.3]], [[2.0, -1.2], [-1.2, 1.0]]])
    polygons = covariance_ellipses(means, covs)
    for mean, cov, poly in zip(means, covs, polygons):
        d = poly - mean
        assert np.allclose(np.einsum("pi,pi->p", d, np.linalg.solve(cov, d.T).T), 4.0)
        assert np.allclose(poly[0], poly[-1])  # closed
        # the x-extent of the 2σ ellipse is ± 2 √Σ_xx
        assert np.abs(d[:, 0]).max() == pytest.approx(2 * math.sqrt(cov[0, 0]), rel=1e-2)


def test_run_reports_errors_against_the_truth_it_simulated():
    run = track(seed=7)
    sim = simulate_vehicle(200, 0.1, 5.0, 0.2, 1.0, 0.5, seed=7, initial_heading=lab.INITIAL_HEADING)
    np.testing.assert_array_equal(run.truth, sim.truth)
    np.testing.assert_array_equal(run.measurements, sim.measurements)
    manual = np.hypot(*(run.estimates[1:, :2] - sim.truth[1:, :2]).T)
    np.testing.assert_allclose(run.position_error, manual)
    assert run.mean_position_error < 0.6 * run.mean_measurement_error
    assert run.ellipses.shape == (run.ellipse_steps.size, lab.ELLIPSE_POINTS + 1, 2)
    assert run.verdict == "consistent" and codes(run.diagnosis) == {"consistent"}
    assert run.completed == 200 and run.gradient_checks == ()


def test_run_is_a_function_of_its_settings_alone():
    a, b = track(seed=3, turn_rate=-0.4), track(seed=3, turn_rate=-0.4)
    for name in ("truth", "measurements", "estimates", "covariances", "nees", "nis"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert [m.what for m in a.diagnosis] == [m.what for m in b.diagnosis]


def test_the_heading_error_is_set_in_degrees_as_on_the_page():
    tilted, level = track(heading_error=30.0), track()
    assert tilted.x0[3] - level.x0[3] == pytest.approx(math.radians(30.0))
    np.testing.assert_array_equal(tilted.x0[[0, 1, 2, 4]], level.x0[[0, 1, 2, 4]])


@pytest.mark.parametrize("n_steps", [20, 200, 2000])
def test_snapshots_hold_estimate_covariance_truth_and_ellipse_at_evenly_spaced_steps(n_steps):
    run = track(n_steps=n_steps)
    snaps = run.snapshots
    assert snaps.unit == "step" and snaps.steps[0] == 0 and snaps.steps[-1] == n_steps
    assert len(snaps) == min(MAX_SNAPSHOTS, n_steps + 1)
    for index in (0, len(snaps) // 2, -1):
        step, at = int(snaps.steps[index]), snaps.at(index)
        np.testing.assert_array_equal(at["estimate"], run.estimates[step])
        np.testing.assert_array_equal(at["covariance"], run.covariances[step])
        np.testing.assert_array_equal(at["truth"], run.truth[step])
        np.testing.assert_allclose(at["ellipse"], covariance_ellipses(
            run.estimates[step:step + 1, :2], run.covariances[step:step + 1, :2, :2])[0])
    assert snaps.nbytes < 8 * 2**20


def polygon_area(points) -> float:
    x, y = np.asarray(points).T
    return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


@pytest.mark.parametrize("filter_model, step", [("turning", 1), ("turning", 60), ("turning", 200), ("straight", 37)])
def test_step_up_close_replays_the_runs_own_predict_and_update(filter_model, step):
    settings = Settings(seed=4, turn_rate=0.4, filter_model=filter_model)
    run, f = lab.run(settings), lab.step_up_close(settings, step)
    n = run.n_state
    np.testing.assert_array_equal(f.posterior, run.estimates[step])  # the same code: the same numbers
    np.testing.assert_array_equal(f.posterior_covariance, run.covariances[step])
    np.testing.assert_allclose(f.posterior_ellipse, covariance_ellipses(
        run.estimates[step:step + 1, :2], run.covariances[step:step + 1, :2, :2])[0], atol=1e-12)
    np.testing.assert_array_equal(f.linearized_at, run.estimates[step - 1])
    np.testing.assert_allclose(f.F, motion_jacobian(run.estimates[step - 1], 0.1), rtol=1e-15)
    np.testing.assert_array_equal(f.jacobian.analytic, f.F)
    np.testing.assert_allclose(f.prior, motion_model(run.estimates[step - 1], 0.1), rtol=1e-15)
    np.testing.assert_array_equal(f.measurement, run.measurements[step - 1])
    np.testing.assert_array_equal(f.truth, run.truth[step, :2])
    np.testing.assert_allclose(f.innovation, f.measurement - f.prior[:2], rtol=1e-15)
    np.testing.assert_allclose(f.correction, f.gain[:2] @ f.innovation, rtol=1e-12, atol=1e-12)
    assert f.gain.shape == (n, 2) and f.time == pytest.approx(0.1 * step)
    assert f.jacobian.verdict == "pass" and len(f.jacobian.rows) == n
    assert len(f.omega_column) == (3 if n == 5 else 0)


def test_step_up_close_shows_the_omega_column_and_what_it_did_at_that_step():
    f = lab.step_up_close(Settings(), 60)
    (name_x, dx, _), (name_y, dy, _), (name_t, dtheta, meaning) = f.omega_column
    assert (name_x, name_y, name_t) == ("∂x′/∂ω", "∂y′/∂ω", "∂θ′/∂ω")
    assert (dx, dy, dtheta) == (f.F[0, 4], f.F[1, 4], f.F[3, 4]) and dtheta == 0.1 and "Δt" in meaning
    omega = f.words[3]
    assert f"∂x′/∂ω = {dx:+.4f} m" in omega and f"∂y′/∂ω = {dy:+.4f} m" in omega
    # the ω row of the gain, and the change of ω̂ this innovation made: K_ω ν = ω̂ − ω̂⁻
    assert f"K_ω = ({f.gain[4, 0]:+.3g}, {f.gain[4, 1]:+.3g})" in omega
    assert f.gain[4] @ f.innovation == pytest.approx(f.posterior[4] - f.prior[4], rel=1e-9)
    assert f"{f.gain[4] @ f.innovation:+.2e} rad/s" in omega
    assert "ν = z − Hx̂⁻" in f.words[1] and "y = z" not in " ".join(f.words)  # y is the position here


def _without_the_omega_column(x, dt, jacobian=kalman.ctrv_jacobian):
    F = jacobian(x, dt)
    F[[0, 1, 3], 4] = 0.0
    return F


def test_the_omega_column_is_what_lets_the_filter_learn_the_turn_rate(monkeypatch):
    # the page's claim, as written: with the column, ω̂ moves toward the true turn rate; without it,
    # K_ω stays 0 and ω̂ never leaves its first guess
    learned, frozen = [], []
    for seed in range(10):
        settings = Settings(seed=seed, turn_rate=0.5, process_noise=0.0, n_steps=300)
        with_column = lab.run(settings)
        learned.append((abs(with_column.x0[4] - 0.5), abs(with_column.estimates[-1, 4] - 0.5)))
        with monkeypatch.context() as patch:
            patch.setattr(kalman, "ctrv_jacobian", _without_the_omega_column)
            without = lab.run(settings)
        np.testing.assert_array_equal(without.estimates[:, 4], without.x0[4])
        frozen.append(np.mean(without.position_error) / np.mean(with_column.position_error))
    start, end = np.array(learned).T
    assert np.all(end < 0.2 * start + 1e-3) and np.mean(end) < 0.05 * np.mean(start)
    # and without it, a first guess of ω off by more than 0.01 rad/s leaves the position far worse
    assert all(ratio > 5 for ratio, off in zip(frozen, start) if off > 0.01)


def test_the_fused_ellipse_is_smaller_than_the_prediction_and_the_sensor():
    settings = Settings(seed=1, measurement_noise=1.0)
    for step in (1, 5, 50, 200):
        f = lab.step_up_close(settings, step)
        fused = polygon_area(f.posterior_ellipse)
        assert fused < polygon_area(f.prior_ellipse) and fused < polygon_area(f.measurement_ellipse)
        # the sensor's 2σ ellipse is a circle of radius 2σ_z
        assert polygon_area(f.measurement_ellipse) == pytest.approx(math.pi * 2.0**2, rel=3e-3)


def test_step_up_close_accepts_only_the_updates_the_filter_completed(monkeypatch):
    assert track(n_steps=30).completed == 30
    for bad, match in ((0, "≥ 1"), (31, "≤ 30"), (-1, "≥ 1"), (2.5, "whole number")):
        with pytest.raises(ValueError, match=match):
            lab.step_up_close(Settings(n_steps=30), bad)
    monkeypatch.setattr(consistency, "BLOWUP", 3.0)  # trace P may not exceed 3 × trace Q
    settings = Settings(n_steps=30, assumed_process_scale=10.0)
    diverged = lab.run(settings)
    assert diverged.diverged_step == 4 and diverged.completed == 3
    lab.step_up_close(settings, 3)
    with pytest.raises(ValueError, match="completed only 3 updates"):
        lab.step_up_close(settings, 4)


# --- bad input and divergence ---------------------------------------------------------------

@pytest.mark.parametrize("dt", [0.0, -0.1, math.nan, math.inf])
def test_non_positive_or_non_finite_dt_is_rejected(dt):
    with pytest.raises(ValueError, match="dt"):
        motion_model([0, 0, 1, 0, 0], dt)
    with pytest.raises(ValueError, match="dt"):
        ExtendedKalmanFilter(np.zeros(5), np.eye(5), np.eye(5), np.eye(2)).predict(dt)
    with pytest.raises(ValueError, match="dt"):
        simulate_vehicle(10, dt, 5.0, 0.0, 1.0, 0.5)


@pytest.mark.parametrize(
    "P0, Q, R, match",
    [
        (np.eye(5), np.eye(5), np.zeros((2, 2)), "R must be positive definite"),
        (np.eye(5), np.eye(5), -np.eye(2), "R must be positive definite"),
        (np.eye(5), -0.1 * np.eye(5), np.eye(2), "Q must be positive semi-definite"),
        (np.zeros((5, 5)), np.eye(5), np.eye(2), "P0 must be positive definite"),
        (np.eye(4), np.eye(5), np.eye(2), r"P0 must be a 5×5 matrix"),
        (np.eye(5), np.triu(np.ones((5, 5))), np.eye(2), "Q must be symmetric"),
        (np.eye(5), np.eye(5), np.full((2, 2), np.nan), "R contains non-finite"),
    ],
)
def test_bad_covariances_are_rejected_with_a_message_naming_them(P0, Q, R, match):
    with pytest.raises(ValueError, match=match):
        ExtendedKalmanFilter(np.zeros(5), P0, Q, R)


def test_bad_settings_of_the_simulation_and_the_page_run_are_rejected():
    with pytest.raises(ValueError, match="the sensor noise σ must be > 0"):
        track(measurement_noise=0.0)
    with pytest.raises(ValueError, match="process_noise"):
        simulate_vehicle(10, 0.1, 5.0, 0.0, -1.0, 0.5)
    with pytest.raises(ValueError, match="n_steps"):
        simulate_vehicle(0, 0.1, 5.0, 0.0, 1.0, 0.5)
    with pytest.raises(ValueError, match="unknown filter model 'bicycle'"):
        track(filter_model="bicycle")
    with pytest.raises(ValueError, match="assumed ÷ true sensor noise must be > 0"):
        track(assumed_measurement_scale=0.0)
    for field, value in (("seed", math.inf), ("n_steps", 1e400), ("dt", math.nan), ("heading_error", 1e9),
                         ("speed", -1.0), ("n_steps", 2.5)):
        with pytest.raises(ValueError):  # one message style, never an OverflowError
            track(**{field: value})
    with pytest.raises(ValueError, match="shape"):
        motion_model([1.0, 2.0, 3.0], 0.1)
    with pytest.raises(ValueError, match="measurement"):
        ExtendedKalmanFilter(np.zeros(5), np.eye(5), np.eye(5), np.eye(2)).update([1.0, np.nan])
    with pytest.raises(ValueError, match="measurements"):
        run_filter(np.zeros(5), np.eye(5), np.eye(5), np.eye(2), np.zeros((10, 3)), 0.1)
    with pytest.raises(ValueError, match="truth"):
        run_filter(np.zeros(5), np.eye(5), np.eye(5), np.eye(2), np.zeros((10, 2)), 0.1,
                   truth=np.zeros((10, 5)))


def test_singular_innovation_covariance_raises_a_clear_error_not_a_linalg_traceback():
    ekf = ExtendedKalmanFilter(np.zeros(5), np.eye(5), np.eye(5), np.eye(2))
    ekf.P = -np.eye(5)  # S = H P Hᵀ + R = 0
    with pytest.raises(ValueError, match="innovation covariance S .* singular"):
        ekf.update([0.0, 0.0])


def test_a_filter_that_overflows_is_reported_as_diverged_not_raised():
    sim = simulate_vehicle(50, 0.1, 5.0, 0.2, 1.0, 0.5, seed=1)
    x0 = sim.truth[0] + [0, 0, 1e305, 0, 0]  # the position overflows on the first predict
    run = run_filter(x0, np.eye(5), sim.Q, sim.R, sim.measurements, sim.dt, sim.truth)
    assert run.diverged and run.verdict == "diverged" and run.diverged_step == 1
    assert "non-finite" in run.divergence_reason or "singular" in run.divergence_reason
    assert np.isnan(run.estimates[1:]).all() and np.isnan(run.mean_nees)


def test_a_covariance_that_blows_up_is_reported_with_the_step(monkeypatch):
    monkeypatch.setattr(consistency, "BLOWUP", 1.0)  # trace P may not exceed trace P0 = 5
    sim = simulate_vehicle(50, 0.1, 5.0, 0.2, 1.0, 0.5, seed=1)
    run = run_filter(sim.truth[0], np.eye(5), np.eye(5), sim.R, sim.measurements, sim.dt, sim.truth)
    assert run.diverged_step == 1 and "blew up" in run.divergence_reason
    assert run.verdict == "diverged"


def test_a_covariance_that_loses_positive_definiteness_ends_the_run_there(monkeypatch):
    real_loop = consistency.filter_loop

    def loop_with_a_broken_step(*args):
        result = real_loop(*args)
        covariances = args[8]
        covariances[4] = -covariances[4]  # the posterior after update 4
        return result

    monkeypatch.setattr(consistency, "filter_loop", loop_with_a_broken_step)
    sim = simulate_vehicle(20, 0.1, 5.0, 0.2, 1.0, 0.5, seed=1)
    run = run_filter(sim.truth[0], np.eye(5), sim.Q, sim.R, sim.measurements, sim.dt, sim.truth)
    assert run.diverged_step == 4 and "positive definite" in run.divergence_reason
    assert np.isfinite(run.nees[:4]).all() and np.isnan(run.nees[4:]).all()
    assert np.isfinite(run.nis[:3]).all() and np.isnan(run.nis[3:]).all()
    assert run.verdict == "diverged" and run.n_completed == 3

