"""The Diffusion page under AppTest: what it draws is calc_core.diffusion's result (mode weights, the
variance curve, particle counts, the score field, paths, the DSM loss, Tweedie), 1-D and 2-D open
clean, the scrubber moves through the sampling steps without rerunning anything, a sampler control
never refits the score model, and what goes wrong is explained. (Defaults, extremes, hostile links,
Reset, lessons and leaks are the catalog suite's, tests/pages/test_catalog.py.)"""

from dataclasses import asdict, replace

import numpy as np
import pandas as pd
import pytest

from calc_core.diffusion import lab
from calc_core.diffusion.diagnosis import mode_tolerance
from tests.pages.apptest_helpers import (assert_clean, chart_rows, chart_specs, chart_titled, control_bounds,
                                         control_registry, run_page, state_value)
from ui.catalog import application
from ui.charts import diffusion as view

PAGE = "pages/7_Diffusion.py"
APP = application(PAGE)
K = "Diffusion:"
TITLES_2D = ("The density p and its score", "Particles at the step shown", "Particles over sampling time",
             "Histogram of x₁ against the target", "Mode weights: samples vs target",
             "Stationary variance against the step ε", "Noising: data to noise", "Denoising with the exact score of p_t",
             "DSM training loss and its floor", "The learned score beside the true one", "Tweedie: noisy points denoised")


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def alerts(at) -> str:
    return " ".join(a.value for kind in (at.warning, at.success, at.info, at.error) for a in kind)


def titles(at) -> set[str]:
    return {spec.get("title") for spec in chart_specs(at) if spec.get("title")}


def close(actual, desired, **tolerance):
    np.testing.assert_allclose(actual, desired, **{"rtol": 1e-12, "atol": 1e-12, **tolerance})


@pytest.fixture
def counted(monkeypatch):
    """Calls of lab.run and lab.scene (sampling; data and score model) while the test runs."""
    calls = {"run": 0, "scene": 0}
    for name in calls:
        original = getattr(lab, name)

        def counting(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(lab, name, counting)
    return calls


@pytest.mark.parametrize("query", [{}, {"dim": "1"}], ids=["2-D", "1-D"])
def test_each_dimension_opens_clean_with_its_verdicts_its_charts_and_a_passing_gradient_check(query):
    at = run_page(PAGE, query)
    assert_clean(at)
    settings = lab.Settings(dimension=int(query.get("dim", 2)))
    result = lab.run(settings)
    for message in result.diagnosis:
        assert message.title in alerts(at)
    assert "Pass" in " ".join(s.value for s in at.success)  # the live gradient check
    wanted = set(TITLES_2D) - ({"Particles at the step shown"} if settings.dimension == 1 else set())
    assert titles(at) == wanted
    code = "\n".join(c.value for c in at.code)
    for line in ("def log_density_and_score(", "def ula_step(", "def geometric_noise_levels(", "def dsm_pairs(",
                 "def features_loss_gradient(", "def tweedie_denoise("):
        assert line in code
    assert len(at.latex) >= 12
    assert metric(at, "Steps run") == "400 of 400"
    assert metric(at, "Learned score off by") == f"{result.score_fit.relative_rms_error:.0%}"
    assert dict(at.query_params) == ({"dim": "1"} if query else {})


def test_the_mode_weights_and_the_summary_are_calc_cores():
    at = run_page(PAGE, {"modes": "3", "w1": "0.6", "particles": "500"})
    assert_clean(at)
    result = lab.run(lab.Settings(n_modes=3, first_weight=0.6, n_particles=500))
    weights = chart_rows(chart_titled(at, "Mode weights"), "weights")
    assert [w["mode"] for w in weights] == ["mode 1", "mode 2", "mode 3"]
    close([w["samples"] for w in weights], result.mode_weights.samples)
    close([w["target"] for w in weights], [0.6, 0.2, 0.2])
    assert metric(at, "Mode weights off by") == f"{result.mode_weights.total_variation:.3f}"
    assert f"allowed {mode_tolerance(result.mode_weights):.3f}" in " ".join(m.proto.delta for m in at.metric)
    assert metric(at, "Energy distance D²") == f"{result.sample_distance.energy:.3g}"


def test_the_variance_curve_is_calc_cores_and_moving_the_step_moves_its_data_not_its_spec():
    at = run_page(PAGE, {"anneal": "false", "eps": "0.2"})
    assert_clean(at)
    curve = lab.run(lab.Settings(annealing=False, step_size=0.2)).variance_bias
    before = chart_titled(at, "Stationary variance against the step ε")
    measured = pd.DataFrame(chart_rows(before, "measured"))
    close(measured[measured.series == "unadjusted (measured)"].v, curve.ula_variance)
    close(measured[measured.series == "MALA (measured)"].v, curve.mala_variance)
    close(measured[measured.series == "MALA (measured)"].eps, curve.steps)
    steps, exact = curve.exact_curve()
    close([c["v"] for c in chart_rows(before, "curve")], exact)
    close([c["eps"] for c in chart_rows(before, "curve")], steps)
    assert chart_rows(before, "floor")[0]["v"] == pytest.approx(curve.s**2)
    assert chart_rows(before, "current")[0]["eps"] == 0.2
    at.select_slider(key=K + "eps").set_value(0.3).run()
    assert_clean(at)
    after = chart_titled(at, "Stationary variance against the step ε")
    assert chart_rows(after, "current")[0]["eps"] == 0.3 and at.query_params.get("eps") == "0.3"
    assert {k: v for k, v in before.items() if k != "datasets"} == {k: v for k, v in after.items() if k != "datasets"}


@pytest.mark.parametrize("particles", [200, 2000])
def test_the_particles_drawn_are_the_runs_at_most_a_thousand_and_the_histogram_holds_them(particles):
    at = run_page(PAGE, {"particles": str(particles)})
    assert_clean(at)
    result = lab.run(lab.Settings(n_particles=particles))
    points = chart_rows(chart_titled(at, "Particles at the step shown"), "particles")
    assert len(points) == min(particles, view.MAX_PARTICLES)
    assert {(p["x"], p["y"]) for p in points} <= {tuple(x) for x in result.sampler.x}
    bins = pd.DataFrame(chart_rows(chart_titled(at, "Histogram of x₁"), "bins"))
    close(bins.samples, result.histogram.samples)
    close(bins.target, result.histogram.target)
    assert float(np.sum(bins.samples * (bins.hi - bins.lo))) == pytest.approx(1 - result.histogram.outside)
    traces = chart_rows(chart_titled(at, "Particles over sampling time"), "traces")
    assert len(traces) == len(result.snapshots) * view.TRACED_PARTICLES


def test_the_score_field_paths_loss_and_tweedie_are_calc_cores():
    at = run_page(PAGE)
    r = lab.run(lab.Settings())
    arrows = pd.DataFrame(chart_rows(chart_titled(at, "The density p and its score"), "arrows"))
    close(arrows[["x", "y"]].to_numpy(), r.field.arrow_points)
    close(arrows.strength, np.hypot(*r.field.score.T))
    learned = pd.DataFrame(chart_rows(chart_titled(at, "The learned score beside the true one"), "arrows"))
    close(learned[learned.series == view.SCORE_NAMES[2]].strength, np.hypot(*r.learned_score.T))
    back = pd.DataFrame(chart_rows(chart_titled(at, "Denoising with the exact score"), "paths"))
    flow = back[back.particle == "probability-flow ODE 0"].sort_values("t", ascending=False)
    close(flow.x, r.paths.probability_flow.states["x"][:, 0, 0])
    loss = chart_titled(at, "DSM training loss and its floor")
    close([s["y"] for s in chart_rows(loss, "series")], r.score_fit.loss_history)
    assert chart_rows(loss, "rules")[0]["y"] == pytest.approx(r.score_fit.loss_at_true_score)
    tweedie = pd.DataFrame(chart_rows(chart_titled(at, "Tweedie"), "arrows"))
    close(tweedie[["x2", "y2"]].to_numpy(), r.tweedie.denoised)


def test_the_scrubber_moves_through_the_sampling_steps_without_rerunning_anything(counted):
    at = run_page(PAGE)
    result = lab.run(lab.Settings())
    counted.update(run=0, scene=0)
    index = 12
    step = int(result.snapshots.steps[index])
    at.select_slider(key=K + "step").set_value(step).run()
    assert_clean(at)
    assert counted == {"run": 0, "scene": 0}, "a step move must read the cached run"
    assert at.query_params.get("step") == str(step)
    shown = lab.sampling_step(result, index)
    points = chart_rows(chart_titled(at, "Particles at the step shown"), "particles")
    close([[p["x"], p["y"]] for p in points], shown.x[:view.MAX_PARTICLES])
    assert chart_rows(chart_titled(at, "Particles over sampling time"), "marker")[0]["step"] == step
    weights = chart_rows(chart_titled(at, "Mode weights"), "weights")
    close([w["samples"] for w in weights], shown.mode_weights.samples)
    close([b["samples"] for b in chart_rows(chart_titled(at, "Histogram of x₁"), "bins")], shown.histogram.samples)
    assert f"After {step:,} of 400 steps (noise level σ = {shown.noise_level:.3g}" in " ".join(c.value for c in at.caption)
    assert metric(at, "Steps run") == "400 of 400"  # the summary is the run's, whatever the step shown


def test_a_sampler_control_reruns_the_sampling_but_never_refits_the_score_model(counted):
    at = run_page(PAGE)
    assert counted == {"run": 1, "scene": 1}
    at.select_slider(key=K + "eps").set_value(0.02).run()
    at.toggle(key=K + "mala").set_value(True).run()
    at.select_slider(key=K + "particles").set_value(500).run()
    assert_clean(at)
    assert counted == {"run": 4, "scene": 1}
    at.slider(key=K + "sigma").set_value(0.3).run()  # the data of the score model: a refit
    assert counted == {"run": 5, "scene": 2}
    at.select_slider(key=K + "eps").set_value(0.01).run()  # a new sampler setting on the refitted model
    assert counted == {"run": 6, "scene": 2}
    at.slider(key=K + "sigma").set_value(0.5).run()  # a new run on the first model: sampling only
    assert counted == {"run": 7, "scene": 2}
    at.toggle(key=K + "mala").set_value(False).run()
    at.select_slider(key=K + "particles").set_value(1000).run()  # the defaults again: all from the cache
    assert counted == {"run": 8, "scene": 2}
    assert_clean(at)


def drawn(at) -> set[str]:
    return set(control_bounds(at, APP))


def test_controls_that_do_not_apply_are_hidden_and_stay_out_of_the_link():
    at = run_page(PAGE, {"anneal": "false", "levels": "5", "smin": "0.5", "smax": "4"})
    assert_clean(at)
    assert not {"levels", "smin"} & drawn(at) and "smax" in drawn(at)  # σ_max is also the start's spread
    assert dict(at.query_params) == {"anneal": "false", "smax": "4"}
    at = run_page(PAGE, {"modes": "1", "sep": "6", "w1": "0.5", "width": "1"})
    assert_clean(at)
    assert not {"sep", "w1", "width"} & drawn(at) and dict(at.query_params) == {"modes": "1"}
    at = run_page(PAGE, {"model": "linear", "mwidth": "12"})
    assert_clean(at)
    assert "mwidth" not in drawn(at) and dict(at.query_params) == {"model": "linear"}


@pytest.mark.parametrize("query, widest", [({}, 24), ({"dim": "1"}, 64), ({"model": "network"}, 64)])
def test_the_model_width_range_follows_the_dimension_and_the_model_and_its_ends_open_clean(query, widest):
    """The catalog suite samples fixed ranges only: this control's range is calc_core's
    model_width_range, so its ends are tried here."""
    for width in (2, widest):
        at = run_page(PAGE, {**query, "mwidth": str(width), "train": "50"})
        assert_clean(at, (query, width))
        assert control_bounds(at, APP)["mwidth"] == {"min_value": 2, "max_value": widest}
        assert state_value(at, APP, "mwidth") == width and at.query_params.get("mwidth") == str(width)


def test_bumps_left_at_the_networks_width_are_clamped_when_the_features_model_takes_over():
    at = run_page(PAGE, {"model": "network", "mwidth": "64", "train": "50"})
    at.radio(key=K + "model").set_value("features").run()
    assert_clean(at)
    assert state_value(at, APP, "mwidth") == 24 and at.query_params.get("mwidth") == "24"


def test_the_controls_ranges_lie_within_calc_cores_limits_and_every_sigma_max_tops_every_sigma_min():
    at = run_page(PAGE)
    registry, bounds = control_registry(at, APP), control_bounds(at, APP)
    for key, control in registry.items():
        if control.name not in lab.LIMITS or key not in bounds:
            continue
        low, high = lab.LIMITS[control.name]
        values = bounds[key].get("options") or (bounds[key]["min_value"], bounds[key]["max_value"])
        assert low <= min(values) and max(values) <= high, key
    assert min(bounds["smax"]["options"]) > max(bounds["smin"]["options"])
    assert bounds["steps"]["min_value"] >= lab.LIMITS["n_levels"][1]  # a step per level at the most levels
    for preset in lab.PRESETS:  # every lesson's value is on its control's grid, in the range it is drawn with
        values = asdict(preset.apply(lab.Settings()))
        for name, value in preset.settings.items():
            control = next(c for c in registry.values() if c.name == name)
            assert control.fit(value, control.bounds(values)) == value, (preset.name, name)


@pytest.mark.parametrize("query, words", [
    ({"anneal": "false", "eps": "0.6"}, ("The chain exploded at step", "What happened:", "A step ε below 0.5")),
    ({"anneal": "false"}, ("The samples get the mode weights wrong", "Turn on annealing")),
    ({"train": "0"}, ("The score model has not fitted", "(0 steps)")),
    ({"model": "linear"}, ("The score model has not fitted", "a straight line, the score of one Gaussian")),
    ({"anneal": "false", "eps": "0.2", "mala": "true", "sep": "2", "w1": "0.5"},
     ("MALA removes the step-size bias", "of the proposals")),
    ({"anneal": "false", "eps": "0.2", "sep": "2", "w1": "0.5"}, ("Unadjusted Langevin inflates the variance by 67%",)),
    ({"anneal": "false", "eps": "2", "mala": "true"}, ("MALA refused", "barely move")),
])
def test_what_goes_wrong_is_explained_in_the_diagnosis_words(query, words):
    at = run_page(PAGE, query)
    assert_clean(at)
    for text in words:
        assert text in alerts(at), text


def test_the_page_writes_no_raw_latex_braces_and_names_p_sigma_at_sigma_l_in_words():
    at = run_page(PAGE)
    assert_clean(at)
    said = alerts(at)
    assert "{" not in said and "}" not in said
    assert "the narrowest mode of p_σ at σ = σ_L" in said and "The last level samples p_σ at σ = σ_L" in said


def test_one_step_per_level_is_counted_in_the_singular_and_settling_is_a_condition():
    at = run_page(PAGE, {"smax": "1.5", "smin": "1", "levels": "30", "steps": "30"})
    assert_clean(at)
    said = alerts(at)
    assert "The samples get the mode weights wrong" in said
    assert ("enough steps to settle before σ shrinks (here 1 step per level)" in said
            or "each level lasts T = 1 step at" in said)
    assert "1 steps" not in said and "let the particles settle" not in said
    assert any(c.value.startswith("After 30 of 30 steps (") for c in at.caption)


def test_an_exploded_chain_still_draws_every_chart_from_its_last_finite_state():
    at = run_page(PAGE, {"anneal": "false", "eps": "5"})
    assert_clean(at)
    result = lab.run(lab.Settings(annealing=False, step_size=5.0))
    assert result.sampler.exploded
    assert metric(at, "Steps run") == f"{result.sampler.n_completed:,} of 400"
    assert titles(at) == set(TITLES_2D)


def test_a_lesson_sets_its_controls_and_the_page_shows_its_claim():
    at = run_page(PAGE)
    pills = next(w for w in at.get("button_group") if getattr(w, "key", None) == K + "lesson_choice")
    preset = next(p for p in lab.PRESETS if p.name == "learned-score")
    pills.set_value(preset.name).run()
    assert_clean(at)
    assert "The learned score follows the true one" in alerts(at)
    expected = lab.run(preset.apply(lab.Settings()))
    assert metric(at, "Learned score off by") == f"{expected.score_fit.relative_rms_error:.0%}"
    assert "def network_loss_and_gradient(" in "\n".join(c.value for c in at.code)
    learned = chart_titled(at, "The learned score beside the true one")
    close([r["y"] for r in chart_rows(learned, "series") if r["series"] == view.SCORE_NAMES[2]],
          expected.learned_score[:, 0])
    assert replace(lab.Settings(), **preset.settings) == expected.settings


def test_the_ways_back_say_what_a_reverse_sde_and_an_ode_are_where_the_caption_names_them():
    at = run_page(PAGE)
    texts = [m.value for m in at.markdown]
    named = next(k for k, t in enumerate(texts) if "reverse SDE" in t and "ODE" in t)  # the paths' caption
    assert any("stochastic differential equation" in t and "ordinary differential equation" in t
               for t in texts[named:named + 3])
