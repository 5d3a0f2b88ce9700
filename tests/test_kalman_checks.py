"""calc_core.kalman.checks: the Jacobian check under the shared verdict never fails the filter's
correct Jacobian, never passes a wrong one, is rarely too flat to tell — over a sweep of states
(ω = 0, ω Δt on both sides of the series switch, large speeds and positions, Δt from 0.02 to 1 s) —
and checks the F that ekf_predict actually used."""

from collections import Counter

import numpy as np
import pytest

import calc_core.kalman.ekf as kalman
from calc_core.kalman import lab
from calc_core.kalman.checks import check_units, jacobian_check
from calc_core.kalman.ekf import SERIES_BELOW, ekf_predict

DTS = (0.02, 0.1, 0.5, 1.0)


def sweep_states():
    """(x, dt): turn rates at and near 0 and around |ω Δt| = SERIES_BELOW, speeds 0 to 300 m/s,
    positions from the origin to 10⁶ m, headings anywhere, both models."""
    rng = np.random.default_rng(0)
    states = []
    for dt in DTS:
        switch = SERIES_BELOW / dt
        for omega in (0.0, 1e-12, -1e-9, 1e-6, switch * (1 - 1e-12), switch, -switch * (1 + 1e-9), switch * 1.05,
                      0.2, -1.0, 2.0):
            for v in (0.0, 5.0, 20.0, 300.0):
                for position in ((0.0, 0.0), (3.0, -2.0), (2e4, -1.5e4), (1e6, 1e6)):
                    states.append((np.array([*position, v, rng.uniform(-7, 7), omega]), dt))
        for v in (0.0, 5.0, 300.0):
            states.append((np.array([1.0, 2.0, v, rng.uniform(-7, 7)]), dt))
    return states


P, Q = 0.3 * np.eye(5), 0.01 * np.eye(5)


def scaled(x, P, Q, dt):
    """ekf_predict with F wrong by 10⁻⁴ relative."""
    x_prior, P_prior, F = ekf_predict(x, P, Q, dt)
    return x_prior, P_prior, F * (1 + 1e-4)


def sign_flipped(x, P, Q, dt):
    """ekf_predict with the sign of F's largest off-diagonal entry flipped."""
    x_prior, P_prior, F = ekf_predict(x, P, Q, dt)
    F = F.copy()
    i, j = np.unravel_index(np.argmax(np.abs(F - np.eye(len(x)))), F.shape)
    F[i, j] = -F[i, j]
    return x_prior, P_prior, F


def omega_column_nudged(x, P, Q, dt):
    """ekf_predict with ∂x′/∂ω and ∂y′/∂ω wrong by 10⁻⁴ relative (the entries the turn rests on)."""
    x_prior, P_prior, F = ekf_predict(x, P, Q, dt)
    F = F.copy()
    F[:2, 4] *= 1 + 1e-4
    return x_prior, P_prior, F


@pytest.fixture(scope="module")
def verdicts():
    """Verdicts over the sweep: the right Jacobian at every state, each wrong one at every third."""
    found = {name: Counter() for name in ("right", "scaled", "sign", "omega")}
    for n_state, (x, dt) in enumerate(sweep_states()):
        n = x.size
        args = (x, P[:n, :n], Q[:n, :n], dt)
        found["right"][jacobian_check(*args).verdict] += 1
        if n_state % 3:
            continue
        found["scaled"][jacobian_check(*args, predict=scaled).verdict] += 1
        found["sign"][jacobian_check(*args, predict=sign_flipped).verdict] += 1
        if n == 5 and x[2] > 0:  # the ω column is 0 for a vehicle standing still
            found["omega"][jacobian_check(*args, predict=omega_column_nudged).verdict] += 1
    return found


def test_the_sweep_covers_the_hard_cases():
    states = sweep_states()
    assert len(states) > 700
    omegas_dt = np.array([x[4] * dt for x, dt in states if x.size == 5])
    assert np.sum(omegas_dt == 0) >= 64 and np.sum(np.abs(np.abs(omegas_dt) - SERIES_BELOW) < 1e-8) >= 3 * 64
    assert max(np.abs(x[:2]).max() for x, _ in states) == 1e6


def test_the_correct_jacobian_never_fails_and_is_rarely_too_flat(verdicts):
    right = verdicts["right"]
    assert right["fail"] == 0
    assert right["flat"] <= 0.05 * sum(right.values())


@pytest.mark.parametrize("wrong", ["scaled", "sign", "omega"])
def test_a_wrong_jacobian_never_passes(verdicts, wrong):
    assert verdicts[wrong]["pass"] == 0, verdicts[wrong]
    assert sum(verdicts[wrong].values()) >= 150


def test_the_check_is_of_the_jacobian_ekf_predict_used(monkeypatch):
    x = np.array([3.0, -1.0, 6.0, 0.8, 0.3])
    assert jacobian_check(x, P, Q, 0.1).passed
    right = kalman.motion_jacobian(x, 0.1)

    def dropped(x, dt, jacobian=kalman.ctrv_jacobian):  # the ∂x′/∂ω entry forgotten inside the filter
        F = jacobian(x, dt)
        F[0, 4] = 0.0
        return F

    monkeypatch.setattr(kalman, "ctrv_jacobian", dropped)
    broken = jacobian_check(x, P, Q, 0.1)
    assert [row.verdict for row in broken.rows] == ["fail", "pass", "pass", "pass", "pass"]
    assert "coordinate 4" in broken.rows[0].reason
    assert broken.analytic[0, 4] == 0.0 and broken.numeric[0, 4] == pytest.approx(right[0, 4], rel=1e-9)


def test_the_numeric_jacobian_is_in_the_states_own_units():
    x, dt = np.array([2e4, -1.5e4, 20.0, 2.0, -0.7]), 0.5
    check = jacobian_check(x, P, Q, dt)
    np.testing.assert_allclose(check.numeric, kalman.motion_jacobian(x, dt), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(check_units(5, dt), [1.0, 1.0, 1.0, 1.0, 1.0])
    assert check_units(5, 4.0)[4] == 0.25  # ω Δt moves by at most 0.1 rad on the first step
    assert all(row.precision == ("extended" if np.finfo(np.longdouble).eps < 1e-16 else "float64")
               for row in check.rows)


def test_the_motion_model_in_extended_precision_is_the_filters_own():
    for x, dt in sweep_states()[::7]:
        wide = kalman.ctrv_motion(x.astype(np.longdouble), dt)
        assert wide.dtype == np.longdouble
        np.testing.assert_allclose(wide.astype(float), kalman.ctrv_motion(x, dt), rtol=1e-14, atol=1e-9)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("preset", lab.PRESETS, ids=[p.name for p in lab.PRESETS])
def test_the_step_up_close_passes_its_jacobian_check_in_every_lesson(preset, seed):
    settings = preset.apply(lab.Settings(), seed=seed)
    for k in (1, lab.INSPECT_STEP, settings.n_steps):
        assert lab.step_up_close(settings, k).jacobian.verdict == "pass", (preset.name, seed, k)
