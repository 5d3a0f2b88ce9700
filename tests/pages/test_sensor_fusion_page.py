"""The Sensor Fusion page under AppTest: what it draws, checked against calc_core's results (not
against the page's own helpers) — the drive and the scrubbed step, NEES/NIS and their bands, one
step up close with its Jacobian check, the lessons, a diverging filter, deep links — and the step
slider k surviving a shrinking run (the StreamlitValueAboveMaxError of issue 9). The catalog suite
(tests/pages/test_catalog.py) covers every control's ends, hostile links, Reset and leaks."""

import numpy as np
import pytest

import calc_core.kalman.consistency as consistency
from calc_core.common.messages import codes
from calc_core.kalman import lab
from calc_core.kalman.ekf import motion_jacobian
from tests.pages.apptest_helpers import assert_clean, chart_rows, chart_titled, run_page

PAGE = "pages/5_Sensor_Fusion.py"
SLUG = "Sensor_Fusion"


def key(name: str) -> str:
    return f"{SLUG}:{name}"


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def alerts(at) -> str:
    return " ".join(a.value for kind in (at.success, at.info, at.warning) for a in kind)


def grid(spec, n: int) -> np.ndarray:
    """A heatmap's cells back as a matrix (row-major, as drawn)."""
    cells = chart_rows(spec, "cells")
    assert len(cells) == n * n
    return np.array([c["value"] for c in cells], float).reshape(n, n)


def xy(rows, series: str) -> np.ndarray:
    return np.array([[r["x"], r["y"]] for r in rows if r["series"] == series])


def test_defaults_track_the_drive_consistently_with_a_passing_jacobian_check_and_the_code_that_ran():
    at = run_page(PAGE)
    assert_clean(at)
    r = lab.run(lab.Settings())
    assert metric(at, "Mean position error") == f"{r.mean_position_error:.3f} m"
    assert metric(at, "Raw sensor error") == f"{r.mean_measurement_error:.3f} m"
    assert metric(at, "Verdict") == r.verdict == "consistent" and metric(at, "Mean NEES") == f"{r.mean_nees:.2f}"
    assert at.success[0].value.startswith("**Consistent.**") and not at.warning
    assert r.diagnosis[0].what in at.success[0].value
    assert any("Pass" in s.value for s in at.success)  # the live Jacobian check
    code = "\n".join(c.value for c in at.code)
    for line in ("def ekf_predict(", "F = ctrv_jacobian(x, dt)", "P_prior = dot(dot(F, P), F.T) + Q",
                 "def ekf_update(", "# ν = z − H x̂⁻", "nu = z - x[:2]", "K, ok = solve_right_2x2(P[:, :2], S)",
                 "P_post = dot(dot(I_KH, P), I_KH.T) + dot(dot(K, R), K.T)", "def ctrv_jacobian(",
                 "F[0, 3] = -v * dy_dv", "F[0, 4] = v * dt * dt * (cos_t * ds - sin_t * dc)"):
        assert line in code, line
    formulas = " ".join(f.value for f in at.latex)
    assert r"\nu = z - H \hat x^-" in formulas and r"\hat x = \hat x^- + K \nu" in formulas
    assert r"\partial x'}{\partial \omega}" in formulas and "y = z" not in formulas
    assert set(at.query_params) == set()


def test_the_drive_is_drawn_on_equal_axes_with_the_vehicle_at_the_last_snapshot():
    at = run_page(PAGE)
    spec = chart_titled(at, "The drive")
    x_domain, y_domain = (spec["layer"][0]["encoding"][axis]["scale"]["domain"] for axis in "xy")
    assert x_domain[1] - x_domain[0] == pytest.approx(y_domain[1] - y_domain[0])
    assert spec["width"] == "container" and spec["autosize"]["type"] == "fit-x"  # fits its column
    assert "width" in spec["layer"][0]["encoding"]["x"]["scale"]["domainMax"]["expr"]  # equal axes at any width
    r = lab.run(lab.Settings())
    paths = chart_rows(spec, "paths")
    np.testing.assert_allclose(xy(paths, "true path"), r.truth[:, :2])
    np.testing.assert_allclose(xy(paths, "EKF estimate"), r.estimates[:, :2])
    np.testing.assert_allclose(xy(chart_rows(spec, "points"), "measurements"), r.measurements)
    assert len(chart_rows(spec, "outlines")) == r.ellipses.shape[0] * r.ellipses.shape[1]
    marked = chart_rows(spec, "marked")
    np.testing.assert_allclose(xy(marked, "the vehicle at the step"), r.truth[-1:, :2])
    np.testing.assert_allclose(xy(marked, "its estimate and 2σ ellipse"), r.estimates[-1:, :2])
    np.testing.assert_allclose(xy(chart_rows(spec, "rings"), "its estimate and 2σ ellipse"),
                               r.snapshots.at(-1)["ellipse"])


def test_nees_and_nis_charts_carry_every_step_the_bands_the_verdict_uses_and_the_marker():
    at = run_page(PAGE, {"steps": "120"})
    r = lab.run(lab.Settings(n_steps=120))
    for name, values, step_band, band, mean in (
            ("NEES", r.nees, r.nees_step_band, r.nees_mean_band, r.mean_nees),
            ("NIS", r.nis, r.nis_step_band, r.nis_mean_band, r.mean_nis)):
        spec = chart_titled(at, f"{name} at each step")
        np.testing.assert_allclose([row["y"] for row in chart_rows(spec, "values")], values)
        np.testing.assert_allclose(sorted(row["y"] for row in chart_rows(spec, "rules")), sorted([*step_band, mean]))
        (shade,) = chart_rows(spec, "band")
        assert (shade["y"], shade["y2"]) == pytest.approx(band)
        assert chart_rows(spec, "marker")[0]["x"] == pytest.approx(r.times[120])


def test_scrubbing_moves_the_vehicle_and_the_markers_and_never_refilters(monkeypatch):
    at = run_page(PAGE)
    r = lab.run(lab.Settings())
    index = len(r.snapshots) // 3
    step = int(r.snapshots.steps[index])
    calls = []
    drive = lab.drive
    monkeypatch.setattr(lab, "drive", lambda settings: calls.append(settings) or drive(settings))
    at.select_slider(key=key("step")).set_value(step).run()
    assert_clean(at)
    assert calls == []  # the run and the step up close came from the cache
    marked = chart_rows(chart_titled(at, "The drive"), "marked")
    np.testing.assert_allclose(xy(marked, "the vehicle at the step"), r.truth[step:step + 1, :2])
    np.testing.assert_allclose(xy(marked, "its estimate and 2σ ellipse"), r.estimates[step:step + 1, :2])
    for title in ("Position error over time", "NEES at each step", "NIS at each step"):
        (rule,) = chart_rows(chart_titled(at, title), "marker")
        assert rule["x"] == pytest.approx(r.times[step]) and rule["label"] == f"step {step}"
    assert metric(at, "Mean NEES") == f"{r.mean_nees:.2f}"
    assert at.query_params.get("step") == str(step)


def test_the_step_slider_shows_that_steps_fusion_the_jacobian_and_its_omega_column():
    at = run_page(PAGE)
    at.slider(key=key("k")).set_value(150).run()
    assert_clean(at)
    r = lab.run(lab.Settings())
    zoom = chart_titled(at, "One step")
    points = {row["series"]: (row["x"], row["y"]) for row in chart_rows(zoom, "points")}
    np.testing.assert_allclose(points["update x̂, P"], r.estimates[150, :2], atol=1e-9)
    np.testing.assert_allclose(points["measurement z, R"], r.measurements[149])
    np.testing.assert_allclose(points["truth"], r.truth[150, :2])
    F = motion_jacobian(r.estimates[149], 0.1)
    np.testing.assert_allclose(grid(chart_titled(at, "F = ∂f/∂x by hand"), 5), F, atol=1e-12)
    np.testing.assert_allclose(grid(chart_titled(at, "from values of f alone"), 5), F, atol=1e-7)
    text = " ".join(m.value for m in at.markdown)
    assert f"({F[0, 3]:+.3f}, {F[1, 3]:+.3f})·δθ" in text and "innovation ν = z − Hx̂⁻" in text
    assert f"∂x′/∂ω = {F[0, 4]:+.4f} m" in text and "K_ω" in text
    (column,) = [t.value for t in at.table if "entry of F" in t.value.columns]
    assert list(column["entry of F"]) == ["∂x′/∂ω", "∂y′/∂ω", "∂θ′/∂ω"]
    np.testing.assert_allclose(column["value"].astype(float), [F[0, 4], F[1, 4], F[3, 4]], atol=1e-5)
    assert "Step 150, t = 15.00 s." in [c.value for c in at.caption]
    assert at.query_params.get("k") == "150"


def test_steps_moved_to_the_minimum_with_k_beyond_it_clamps_k_and_never_raises():
    # issue 9: k at 60 (the default) and Steps moved to 20 raised StreamlitValueAboveMaxError
    # ("The value 60 is greater than the max_value 20") on this and every later rerun
    at = run_page(PAGE)
    assert at.slider(key=key("k")).value == lab.INSPECT_STEP
    at.slider(key=key("steps")).set_value(20).run()
    assert_clean(at)
    assert at.slider(key=key("k")).value == 20 and at.slider(key=key("k")).max == 20
    assert "Step 20, t = 2.00 s." in [c.value for c in at.caption]
    at.slider(key=key("v")).set_value(7.5).run()  # and every later rerun
    assert_clean(at)
    at.slider(key=key("steps")).set_value(2000).run()
    assert_clean(at)
    assert at.slider(key=key("k")).value == 20 and at.slider(key=key("k")).max == 2000
    at.slider(key=key("k")).set_value(2000).run()
    at.slider(key=key("steps")).set_value(20).run()
    assert_clean(at)
    assert at.slider(key=key("k")).value == 20


def test_values_moved_on_another_page_do_not_reach_this_one():
    # issue 9: values carried over from the pages before played a part (Steps opened at 400)
    at = run_page("pages/1_Recommendations.py")
    at.session_state["Recommendations:seed"] = 7
    at.session_state["Recommendations:step"] = 20
    at.run()
    assert at.query_params.get("seed") == "7"
    at.query_params.clear()  # as the browser does on a page switch (AppTest keeps the last page's)
    at = run_page(PAGE, at=at)
    assert_clean(at)
    assert at.number_input(key=key("seed")).value == 0 and at.slider(key=key("steps")).value == 200
    assert at.slider(key=key("k")).value == lab.INSPECT_STEP
    assert at.select_slider(key=key("step")).value == -1  # the last step, not Recommendations' 20


@pytest.mark.parametrize("preset", lab.PRESETS, ids=[p.name for p in lab.PRESETS])
def test_each_lesson_draws_its_run_and_its_diagnosis(preset):
    at = run_page(PAGE)
    at.button_group(key=key("lesson_choice")).set_value(preset.name).run()
    assert_clean(at)
    r = lab.run(preset.apply(lab.Settings()))
    assert set(preset.expect) <= codes(r.diagnosis)
    assert metric(at, "Verdict") == r.verdict and metric(at, "Mean NEES") == f"{r.mean_nees:.2f}"
    shown = alerts(at)
    for found in r.diagnosis:
        assert found.title in shown and found.what in shown
    assert preset.lesson in shown


def test_a_filter_that_diverges_mid_run_is_explained_and_the_page_shows_the_steps_before(monkeypatch):
    monkeypatch.setattr(consistency, "BLOWUP", 3.0)  # trace P may not exceed 3 × trace Q
    at = run_page(PAGE, {"qscale": "10"})
    assert_clean(at)
    assert "The filter diverged at step 4" in alerts(at) and "blew up" in alerts(at)
    assert metric(at, "Verdict") == "diverged"
    assert at.slider(key=key("k")).max == 3 and at.slider(key=key("k")).value == 3
    assert len(chart_rows(chart_titled(at, "NEES at each step"), "values")) == 3


def test_a_filter_that_fails_at_once_leaves_no_blank_chart(monkeypatch):
    monkeypatch.setattr(consistency, "BLOWUP", 1e-6)
    at = run_page(PAGE)
    assert_clean(at)
    assert "diverged at step 1" in alerts(at)
    assert metric(at, "Mean position error") == "—" and metric(at, "Mean NEES") == "—"
    infos = " ".join(i.value for i in at.info)
    assert "No NEES to draw" in infos and "no step to show" in infos
    assert len(chart_rows(chart_titled(at, "The drive"), "points")) == 200  # the drive itself is still drawn


def test_url_parameters_restore_the_settings_and_reproduce_the_run():
    query = {"v": "7.5", "omega": "-0.3", "steps": "120", "seed": "42", "model": "straight", "qscale": "0.5",
             "heading": "15", "k": "30"}
    linked = run_page(PAGE, query)
    assert_clean(linked)
    assert linked.slider(key=key("v")).value == 7.5 and linked.radio(key=key("model")).value == "straight"
    assert linked.select_slider(key=key("qscale")).value == 0.5 and linked.number_input(key=key("seed")).value == 42
    assert linked.slider(key=key("k")).value == 30
    by_hand = run_page(PAGE)
    for name, value in (("v", 7.5), ("omega", -0.3), ("steps", 120), ("heading", 15)):
        by_hand.slider(key=key(name)).set_value(value)
    by_hand.radio(key=key("model")).set_value("straight")
    by_hand.select_slider(key=key("qscale")).set_value(0.5)
    by_hand.number_input(key=key("seed")).set_value(42)
    by_hand.run()
    by_hand.slider(key=key("k")).set_value(30).run()
    assert [m.value for m in linked.metric] == [m.value for m in by_hand.metric]
    assert dict(linked.query_params) == dict(by_hand.query_params) == query
    expected = lab.run(lab.Settings(speed=7.5, turn_rate=-0.3, n_steps=120, seed=42, filter_model="straight",
                                    assumed_process_scale=0.5, heading_error=15.0))
    assert metric(linked, "Mean position error") == f"{expected.mean_position_error:.3f} m"


def test_every_chart_of_a_history_offers_its_data_and_its_picture():
    at = run_page(PAGE)
    keys = {button.key for button in at.get("download_button")}
    for name in ("drive", "position_error", "nees", "nis", "one_step", "jacobian", "jacobian_numeric"):
        assert {f"Sensor_Fusion:csv:{name}", f"Sensor_Fusion:svg:{name}"} <= keys, name


def test_the_presenter_view_folds_the_explanations_and_puts_the_lessons_controls_at_hand():
    at = run_page(PAGE, {"present": "1", "lesson": "straight_on_turn", "model": "straight", "omega": "0.5"})
    assert_clean(at)
    assert metric(at, "Verdict") == "overconfident"
    assert len(at.expander) >= 4  # the step's paragraphs and the explanations, each folded to a sentence
    main = [w.key for w in at.main.get("radio")] + [w.key for w in at.main.get("slider")]
    assert {key("model"), key("omega")} <= set(main)


MAX = {"v": "20.0", "omega": "1.0", "q": "5.0", "sigma": "5.0", "dt": "0.5", "steps": "2000", "model": "straight",
       "qscale": "10", "rscale": "10", "heading": "180", "seed": "9999", "k": "2000"}
MIN = {"v": "0.0", "omega": "-1.0", "q": "0.0", "sigma": "0.05", "dt": "0.02", "steps": "20", "qscale": "0.1",
       "rscale": "0.1", "heading": "-180", "seed": "0", "k": "1"}


@pytest.mark.slow
def test_all_controls_at_their_maximum_together_run_cleanly():
    at = run_page(PAGE, MAX)
    assert_clean(at)
    assert at.slider(key=key("steps")).value == 2000 and at.select_slider(key=key("qscale")).value == 10.0
    assert at.radio(key=key("model")).value == "straight" and at.slider(key=key("k")).value == 2000
    assert len(chart_rows(chart_titled(at, "The drive"), "points")) == 2000


def test_all_controls_at_their_minimum_together_run_cleanly():
    at = run_page(PAGE, MIN)
    assert_clean(at)
    assert at.slider(key=key("sigma")).value == 0.05 and at.slider(key=key("k")).value == 1
    r = lab.run(lab.Settings(speed=0.0, turn_rate=-1.0, process_noise=0.0, measurement_noise=0.05, dt=0.02, n_steps=20,
                             assumed_process_scale=0.1, assumed_measurement_scale=0.1, heading_error=-180.0))
    assert metric(at, "Verdict") == r.verdict == "overconfident"  # R̃ = R/100 (Q̃ changes nothing at q = 0)
    assert "The filter is overconfident" in alerts(at) and "more precise than it is" in alerts(at)


@pytest.mark.parametrize("query", [
    {"v": "fast", "omega": "nan", "steps": "1e9", "model": "bicycle", "qscale": "0.123", "seed": "-5", "k": "abc"},
    {"dt": "0", "sigma": "-1", "heading": "[1,2]", "rscale": "", "q": "inf", "k": "99999"},
])
def test_garbage_url_parameters_open_the_default_run(query):
    at = run_page(PAGE, query)
    assert_clean(at)
    r = lab.run(lab.Settings())
    assert [metric(at, "Verdict"), metric(at, "Mean NEES")] == [r.verdict, f"{r.mean_nees:.2f}"]
    assert at.slider(key=key("k")).value == lab.INSPECT_STEP


def test_reset_brings_back_the_default_run():
    at = run_page(PAGE, {"qscale": "0.1", "v": "12.0", "model": "straight", "seed": "3", "k": "20"})
    assert metric(at, "Verdict") == "overconfident"
    at.button(key=key("reset")).click().run()
    assert_clean(at)
    r = lab.run(lab.Settings())
    assert metric(at, "Mean position error") == f"{r.mean_position_error:.3f} m" and metric(at, "Verdict") == r.verdict
    assert at.slider(key=key("k")).value == lab.INSPECT_STEP and set(at.query_params) == set()


def test_the_consistency_metrics_say_what_nees_and_nis_are_and_the_vehicle_s_sliders_that_they_start_it():
    at = run_page(PAGE)
    helps = {m.label: m.proto.help for m in at.metric}
    assert "eᵀP⁻¹e" in helps["Mean NEES"] and "covariance P" in helps["Mean NEES"]
    assert "νᵀS⁻¹ν" in helps["Mean NIS"] and "needs no truth" in helps["Mean NIS"]
    sliders = {s.label: s.help for s in at.slider}
    assert sliders["Turn rate ω"].startswith("At the start") and sliders["Speed v"].startswith("At the start")
