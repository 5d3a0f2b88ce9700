"""The Sensor Fusion page under AppTest: what it draws (checked against calc_core, not against the
page's own helpers), every control at its extremes, mis-tuned and diverging filters, deep links."""

import math

import numpy as np
import pytest

import calc_core.kalman.consistency as consistency
from calc_core.kalman.ekf import motion_jacobian
from calc_core.kalman.lab import track_vehicle
from tests.pages.apptest_helpers import assert_clean, chart_specs, exercise_extremes, run_page

PAGE = "pages/5_Sensor_Fusion.py"
MAX = {"v": "20.0", "omega": "1.0", "q": "5.0", "sigma": "5.0", "dt": "0.5", "steps": "2000", "model": "straight",
       "qscale": "10", "rscale": "10", "heading": "90", "seed": "9999", "k": "2000"}
MIN = {"v": "0.0", "omega": "-1.0", "q": "0.0", "sigma": "0.05", "dt": "0.02", "steps": "20", "qscale": "0.1",
       "rscale": "0.1", "heading": "-90", "seed": "0", "k": "1"}


def chart(at, title_start: str) -> dict:
    return next(s for s in chart_specs(at) if str(s.get("title", "")).startswith(title_start))


def grid(spec, n: int) -> np.ndarray:
    """A heatmap's cells back as a matrix (row-major, as drawn)."""
    cells = spec["layer"][0]["data"]["values"]  # the coloured cells
    assert len(cells) == n * n
    return np.array([c["value"] for c in cells], float).reshape(n, n)


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def warnings(at) -> str:
    return " ".join(w.value for w in at.warning)


def test_defaults_track_the_drive_consistently_with_a_passing_jacobian_check_and_the_code_that_ran():
    at = run_page(PAGE)
    assert_clean(at)
    run = track_vehicle()  # the page's defaults are track_vehicle's
    assert metric(at, "Mean position error") == f"{run.mean_position_error:.3f} m"
    assert metric(at, "Raw sensor error") == f"{run.mean_measurement_error:.3f} m"
    assert run.mean_position_error < 0.6 * run.mean_measurement_error  # the fusion helps
    assert metric(at, "Verdict") == "consistent" and metric(at, "Mean NEES") == f"{run.mean_nees:.2f}"
    assert at.success[0].value.startswith("**Consistent.**") and not at.warning
    assert "Pass" in at.success[1].value  # the live gradient check of the Jacobian
    code = "\n".join(c.value for c in at.code)
    for line in ("def ekf_predict(", "P_prior = dot(dot(F, P), F.T) + Q", "def ekf_update(",
                 "K, ok = solve_right_2x2(P[:, :2], S)", "P_post = dot(dot(I_KH, P), I_KH.T) + dot(dot(K, R), K.T)",
                 "def _jacobian(", "F[0, 3] = -v * dy_dv"):
        assert line in code
    assert len(at.latex) >= 9


def test_the_drive_is_drawn_on_equal_axes_with_truth_estimate_measurements_and_ellipses():
    at = run_page(PAGE)
    spec = chart(at, "The drive")
    x_domain, y_domain = (spec["layer"][0]["encoding"][axis]["scale"]["domain"] for axis in "xy")
    assert x_domain[1] - x_domain[0] == pytest.approx(y_domain[1] - y_domain[0])
    assert spec["width"] == spec["height"]
    run = track_vehicle()
    paths, points, outlines = (spec["datasets"][k] for k in ("paths", "points", "outlines"))
    truth = [r for r in paths if r["series"] == "true path"]
    estimate = [r for r in paths if r["series"] == "EKF estimate"]
    assert len(truth) == len(estimate) == 201 and len(points) == 200
    np.testing.assert_allclose([[r["x"], r["y"]] for r in truth], run.truth[:, :2])
    np.testing.assert_allclose([[r["x"], r["y"]] for r in estimate], run.estimates[:, :2])
    assert len(outlines) == run.ellipses.shape[0] * run.ellipses.shape[1] and len(run.ellipse_steps) >= 15


def test_nees_and_nis_charts_carry_every_step_and_the_bands_the_verdict_uses():
    at = run_page(PAGE, {"steps": "120"})
    run = track_vehicle(n_steps=120)
    for name, values, step_band, band, mean in (
            ("NEES", run.nees, run.nees_step_band, run.nees_mean_band, run.mean_nees),
            ("NIS", run.nis, run.nis_step_band, run.nis_mean_band, run.mean_nis)):
        spec = chart(at, f"{name}: consistent")
        np.testing.assert_allclose([r["y"] for r in spec["datasets"]["values"]], values)
        np.testing.assert_allclose(sorted(r["y"] for r in spec["datasets"]["rules"]), sorted([*step_band, mean]))
        assert (spec["datasets"]["band"][0]["y"], spec["datasets"]["band"][0]["y2"]) == pytest.approx(band)


def test_the_step_slider_shows_that_steps_fusion_and_the_jacobian_at_the_estimate_before_it():
    at = run_page(PAGE)
    at.slider(key="k").set_value(150).run()
    assert_clean(at)
    run = track_vehicle()
    zoom = chart(at, "Step 150 (t = 15.00 s)")
    points = {r["series"]: (r["x"], r["y"]) for r in zoom["datasets"]["points"]}
    np.testing.assert_allclose(points["update x̂, P"], run.estimates[150, :2], atol=1e-9)
    np.testing.assert_allclose(points["measurement z, R"], run.measurements[149])
    F = motion_jacobian(run.estimates[149], 0.1)
    np.testing.assert_allclose(grid(chart(at, "F = ∂f/∂x, derived by hand"), 5), F)
    np.testing.assert_allclose(grid(chart(at, "F by central differences"), 5), F, atol=1e-7)
    assert any(f"({F[0, 3]:+.3f}, {F[1, 3]:+.3f})·δθ" in m.value for m in at.markdown)


def test_every_control_at_its_minimum_and_maximum_runs_cleanly():
    keys = exercise_extremes(PAGE, {"qscale": (0.1, 10.0), "rscale": (0.1, 10.0)})
    assert {"v", "omega", "q", "sigma", "dt", "steps", "heading", "seed", "k", "qscale", "rscale"} <= set(keys)


@pytest.mark.slow
def test_all_controls_at_their_maximum_together_run_cleanly():
    at = run_page(PAGE, MAX)
    assert_clean(at)
    assert at.slider(key="steps").value == 2000 and at.select_slider(key="qscale").value == 10.0
    assert at.radio(key="model").value == "straight" and at.slider(key="k").value == 2000
    assert len(chart(at, "The drive")["datasets"]["points"]) == 2000


def test_all_controls_at_their_minimum_together_run_cleanly():
    at = run_page(PAGE, MIN)
    assert_clean(at)
    assert at.slider(key="sigma").value == 0.05 and at.slider(key="k").value == 1
    assert metric(at, "Verdict") == "overconfident"  # ×0.1 on both noises
    assert "overconfident" in warnings(at)


@pytest.mark.parametrize("query, verdict, cause", [
    ({"qscale": "0.1"}, "overconfident", "10× steadier than it is"),
    ({"rscale": "5"}, "underconfident", "5× noisier than it is"),
    ({"model": "straight", "omega": "0.5"}, "overconfident", "straight-line model cannot turn"),
    ({"heading": "60"}, "overconfident", "+60° off in heading"),
])
def test_an_inconsistent_filter_is_flagged_and_explained(query, verdict, cause):
    at = run_page(PAGE, query)
    assert_clean(at)
    assert metric(at, "Verdict") == verdict
    text = warnings(at)
    assert f"The filter is {verdict}" in text and cause in text and "What to try" in text


def test_when_only_the_innovations_are_inconsistent_the_page_says_so():
    # with R̃ = 100 R the gains are tiny and the state errors so correlated that the NEES band is wide
    at = run_page(PAGE, {"rscale": "10"})
    assert_clean(at)
    assert metric(at, "Verdict") == "consistent" and not at.success[0].value.startswith("**Consistent")
    text = warnings(at)
    assert "The innovations say underconfident" in text and "10× noisier than it is" in text


def test_a_filter_that_diverges_mid_run_is_explained_and_the_page_shows_the_steps_before(monkeypatch):
    monkeypatch.setattr(consistency, "BLOWUP", 3.0)  # trace P may not exceed 3 × trace Q
    at = run_page(PAGE, {"qscale": "10"})
    assert_clean(at)
    assert "The filter diverged at step 4" in warnings(at) and "blew up" in warnings(at)
    assert metric(at, "Verdict") == "diverged"
    assert at.slider(key="k").max == 3 and at.slider(key="k").value == 3
    assert len(chart(at, "NEES: consistent up to step 3")["datasets"]["values"]) == 3


def test_a_filter_that_fails_at_once_leaves_no_blank_chart(monkeypatch):
    monkeypatch.setattr(consistency, "BLOWUP", 1e-6)
    at = run_page(PAGE)
    assert_clean(at)
    assert "diverged at step 1" in warnings(at)
    assert metric(at, "Mean position error") == "—" and metric(at, "Mean NEES") == "—"
    infos = " ".join(i.value for i in at.info)
    assert "No NEES to draw" in infos and "no step to show" in infos
    assert len(chart(at, "The drive")["datasets"]["points"]) == 200  # the drive itself is still drawn


def test_url_parameters_restore_the_settings_and_reproduce_the_run():
    query = {"v": "7.5", "omega": "-0.3", "steps": "120", "seed": "42", "model": "straight", "qscale": "0.5",
             "heading": "15", "k": "30"}
    linked = run_page(PAGE, query)
    assert_clean(linked)
    assert linked.slider(key="v").value == 7.5 and linked.radio(key="model").value == "straight"
    assert linked.select_slider(key="qscale").value == 0.5 and linked.number_input(key="seed").value == 42
    assert chart(linked, "Step 30 ")
    by_hand = run_page(PAGE)
    for key, value in (("v", 7.5), ("omega", -0.3), ("steps", 120), ("heading", 15)):
        by_hand.slider(key=key).set_value(value)
    by_hand.radio(key="model").set_value("straight")
    by_hand.select_slider(key="qscale").set_value(0.5)
    by_hand.number_input(key="seed").set_value(42)
    by_hand.run()
    by_hand.slider(key="k").set_value(30).run()
    assert [m.value for m in linked.metric] == [m.value for m in by_hand.metric]
    expected = track_vehicle(speed=7.5, turn_rate=-0.3, n_steps=120, seed=42, filter_model="straight",
                             assumed_process_scale=0.5, heading_error=math.radians(15))
    assert metric(linked, "Mean position error") == f"{expected.mean_position_error:.3f} m"


@pytest.mark.parametrize("query", [
    {"v": "fast", "omega": "nan", "steps": "1e9", "model": "bicycle", "qscale": "0.123", "seed": "-5", "k": "abc"},
    {"dt": "0", "sigma": "-1", "heading": "[1,2]", "rscale": "", "q": "inf", "k": "99999"},
])
def test_garbage_url_parameters_fall_back_to_defaults(query):
    at = run_page(PAGE, query)
    assert_clean(at)
    assert at.slider(key="v").value == 5.0 and at.slider(key="dt").value == 0.1
    assert at.radio(key="model").value == "turning" and at.select_slider(key="qscale").value == 1.0
    assert metric(at, "Verdict") == "consistent"


def test_reset_button_restores_every_default():
    at = run_page(PAGE, {"qscale": "0.1", "v": "12.0", "model": "straight", "seed": "3"})
    assert metric(at, "Verdict") == "overconfident"
    at.button[0].click().run()
    assert at.select_slider(key="qscale").value == 1.0 and at.slider(key="v").value == 5.0
    assert at.radio(key="model").value == "turning" and at.number_input(key="seed").value == 0
    assert metric(at, "Verdict") == "consistent"
