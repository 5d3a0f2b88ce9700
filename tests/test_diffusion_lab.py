"""calc_core.diffusion.lab: the Diffusion page's contract — Settings → run → Result, diagnosis, presets."""

import dataclasses
import math
import time

import numpy as np
import pytest

from calc_core.common.messages import Message, codes
from calc_core.common.snapshots import MAX_BYTES, Snapshots
from calc_core.diffusion import (
    PRESETS,
    Result,
    Settings,
    fit_score_model,
    preset_diagnosis,
    run,
    score_model_settings,
)
from calc_core.diffusion import checks as diffusion_checks
from calc_core.diffusion import captions, lab, views
from calc_core.diffusion.diagnosis import FIT_TOLERANCE, mode_tolerance
from calc_core.diffusion.quality import mode_weights

SEEDS = range(20)


@pytest.fixture(scope="module")
def default_result() -> Result:
    return run(Settings())


def non_finite(value, path="result"):
    """Paths of every non-finite number in a result (gradient checks excluded: their error bars may be ∞)."""
    if isinstance(value, (float, np.floating)):
        return [] if math.isfinite(value) else [path]
    if isinstance(value, np.ndarray):
        return [] if value.dtype.kind not in "fc" or np.all(np.isfinite(value)) else [path]
    if isinstance(value, Snapshots):
        return non_finite(dict(value.states), path)
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in non_finite(v, f"{path}[{k!r}]")]
    if isinstance(value, (tuple, list)):
        return [p for i, v in enumerate(value) for p in non_finite(v, f"{path}[{i}]")]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = [f.name for f in dataclasses.fields(value) if f.name != "gradient_checks"]
        return [p for name in names for p in non_finite(getattr(value, name), f"{path}.{name}")]
    return []


def test_run_at_defaults_draws_everything_the_page_needs(default_result):
    r, s = default_result, Settings()
    assert r.field.density.shape == (64, 64) and r.field.noised_density.shape == (64, 64)
    assert r.field.arrow_points.shape == (225, 2) == r.field.score.shape == r.learned_score.shape
    assert r.sampler.x.shape == (s.n_particles, 2) and r.snapshots is r.sampler.snapshots
    assert len(r.snapshots) <= 41 and r.snapshots.steps[-1] == s.n_steps and r.snapshots.unit == "sampling step"
    assert r.noise_levels.shape == (s.n_levels,) and r.noise_levels[0] == s.sigma_max
    assert r.histogram.samples.shape == r.histogram.target.shape == (views.HISTOGRAM_BINS,)
    assert r.mode_weights.samples.shape == (2,) and r.mode_weights.target == pytest.approx([0.8, 0.2])
    assert s.step_size in r.variance_bias.steps
    assert len(r.paths.forward) <= 41 and r.paths.forward.states["t"][-1] == 1.0
    assert r.paths.reverse_sde.states["t"][-1] == pytest.approx(1e-3)
    np.testing.assert_array_equal(r.paths.reverse_sde.states["x"][0], r.paths.probability_flow.states["x"][0])
    assert r.score_fit.loss_history.shape == (s.training_steps + 1,)
    assert r.tweedie.noisy.shape == r.tweedie.denoised.shape == (views.TWEEDIE_POINTS, 2)
    assert non_finite(r) == []
    assert {"recovered_modes", "fitted", "ends_smoothed", "biased_variance"} <= codes(r.diagnosis)


def test_the_histogram_target_is_the_exact_marginal_of_the_box(default_result):
    h = default_result.histogram
    width = np.diff(h.edges)
    inside = default_result.mixture.marginal_bin_probabilities(h.edges[[0, -1]])[0]
    assert float(np.sum(h.target * width)) == pytest.approx(inside, rel=1e-12) and inside > 0.9999
    assert float(np.sum(h.samples * width)) == pytest.approx(1.0 - h.outside)


def test_gradient_checks_cover_both_scores_and_the_dsm_loss_and_pass(default_result):
    names = [c.name for c in default_result.gradient_checks]
    assert any("log p near" in n for n in names) and any("log p far" in n for n in names)
    assert any("log p_σ" in n for n in names) and "∂ℓ/∂W" in names
    assert all(c.verdict == "pass" for c in default_result.gradient_checks), [c.reason for c in default_result.gradient_checks]


def test_network_gradient_checks_pass_too():
    result = run(Settings(dimension=1, model="network", model_width=8, training_steps=50))
    dsm = [c for c in result.gradient_checks if c.name.startswith("∂ℓ/∂")]
    assert [c.name for c in dsm] == ["∂ℓ/∂W1", "∂ℓ/∂b1", "∂ℓ/∂W2", "∂ℓ/∂b2"]
    assert all(c.verdict == "pass" for c in dsm), [c.reason for c in dsm]


def test_a_wrong_dsm_gradient_fails_its_check_and_the_diagnosis_says_so(monkeypatch):
    honest = diffusion_checks.features_loss_gradient
    monkeypatch.setattr(diffusion_checks, "features_loss_gradient", lambda *a: honest(*a) * (1 + 1e-3))
    result = run(Settings(n_steps=20, n_levels=2))
    assert "gradient_check_failed" in codes(result.diagnosis)


def test_run_with_a_separately_fitted_score_model_gives_the_same_result():
    settings = Settings(n_steps=50, n_particles=200, n_levels=5)
    fit = fit_score_model(settings)
    a, b = run(settings, score_fit=fit), run(settings)
    np.testing.assert_array_equal(a.learned_score, b.learned_score)
    np.testing.assert_array_equal(a.sampler.x, b.sampler.x)
    assert [m.code for m in a.diagnosis] == [m.code for m in b.diagnosis]


def test_the_score_model_cache_key_ignores_sampler_controls_only():
    sampler_change = Settings(step_size=0.02, annealing=False, mala=True, n_particles=300)
    assert score_model_settings(sampler_change) == score_model_settings(Settings()) == Settings()
    a, b = fit_score_model(score_model_settings(sampler_change)), fit_score_model(sampler_change)
    np.testing.assert_array_equal(a.model.params["W"], b.model.params["W"])
    assert score_model_settings(Settings(smoothing_sigma=0.3)) != Settings()


def test_run_at_defaults_is_fast():
    """The page's budget is 0.25 s per rerun, and run's target 0.15 s (benchmarks/bench_diffusion.py
    measures it on a quiet machine); here a loose bound that holds on a loaded CI machine too."""
    run(Settings())
    best = min(_timed(lambda: run(Settings())) for _ in range(3))
    assert best < 1.0


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def test_snapshots_stay_within_the_byte_budget():
    result = run(Settings(n_particles=4000, n_steps=100, n_levels=5))
    assert result.snapshots.states["x"].shape[1] == 2000
    assert result.snapshots.nbytes + sum(p.nbytes for p in (result.paths.forward, result.paths.reverse_sde,
                                                             result.paths.probability_flow)) <= MAX_BYTES


EXTREMES = {
    "one mode": dict(n_modes=1),
    "eight modes": dict(n_modes=8, separation=1.0),
    "eight modes in 1-D": dict(dimension=1, n_modes=8),
    "tiny widths": dict(first_width=0.05, width=0.05, smoothing_sigma=0.05),
    "huge widths": dict(first_width=3.0, width=3.0, smoothing_sigma=5.0, separation=0.5),
    "huge step, annealed": dict(step_size=5.0),
    "huge step, plain": dict(step_size=5.0, annealing=False),
    "huge step, MALA": dict(step_size=5.0, annealing=False, mala=True),
    "tiny step": dict(step_size=1e-4, n_steps=5, annealing=False),
    "one step": dict(n_steps=1, annealing=False),
    "tiny σ_min": dict(sigma_min=0.01),
    "σ_max of 30": dict(sigma_max=30.0, n_levels=30, n_steps=60),
    "few particles": dict(n_particles=50),
    "extreme weights": dict(first_weight=0.95, n_modes=3, dimension=1),
    "untrained network": dict(model="network", model_width=2, training_steps=0),
    "far-apart modes": dict(separation=12.0, first_weight=0.05),
}


@pytest.mark.parametrize("overrides", EXTREMES.values(), ids=EXTREMES.keys())
def test_run_at_extremes_never_leaks_nan_into_the_result(overrides):
    result = run(Settings(**overrides))
    assert non_finite(result) == []
    assert not any(c.verdict == "fail" for c in result.gradient_checks), [c.reason for c in result.gradient_checks]
    for message in result.diagnosis:
        assert isinstance(message, Message) and message.title
        assert all(math.isfinite(v) for v in message.numbers.values()), message
        if message.kind == "problem":
            assert message.what and message.why and message.try_instead, message.code


def test_a_huge_step_explodes_and_says_at_which_step():
    result = run(Settings(step_size=0.6, annealing=False))
    message = next(m for m in result.diagnosis if m.code == "exploded")
    assert message.numbers["exploded_at"] == result.sampler.exploded_at < Settings().n_steps
    assert f"step {result.sampler.exploded_at}" in message.title
    assert message.numbers["step_at_explosion"] == 0.6 and message.numbers["stable_step"] == pytest.approx(0.5)
    assert "missed_mode" not in codes(result.diagnosis)  # no verdict on the particles of a run that stopped


def test_a_step_too_large_for_the_narrow_mode_only_is_a_warning_not_an_explosion():
    result = run(Settings(annealing=False, first_width=0.2, width=0.8, step_size=0.2, separation=5.0))
    found = codes(result.diagnosis)
    assert "step_too_large" in found and "exploded" not in found and not result.sampler.exploded


def test_biased_variance_reports_the_exact_inflation():
    result = run(Settings(annealing=False, step_size=0.2))
    message = next(m for m in result.diagnosis if m.code == "biased_variance")
    assert message.numbers["inflation"] == pytest.approx(1 / (1 - 0.2 / (2 * 0.25)))
    assert message.kind == "warning"
    assert "biased_variance" not in codes(run(Settings(annealing=False, step_size=0.2, mala=True)).diagnosis)


def test_the_variance_chart_measures_the_bias_and_mala_removes_it():
    curve = run(Settings(annealing=False, step_size=0.2)).variance_bias
    s2 = curve.s**2
    sd = np.sqrt(2 / curve.n_particles)  # relative sd of a variance from n Gaussian draws (χ²_n)
    assert np.all(np.abs(curve.ula_variance / curve.exact_ula_variance - 1) <= 5 * sd)
    assert np.all(np.abs(curve.mala_variance / s2 - 1) <= 5 * sd)


def test_mode_tolerance_is_a_bias_allowance_plus_five_standard_errors_of_the_shares(default_result):
    # two modes of weights 0.8 / 0.2: TV = |ŵ₁ − w₁|, one binomial proportion with SE √(0.16/n)
    assert mode_tolerance(default_result.mode_weights) == pytest.approx(0.03 + 5 * math.sqrt(0.16 / 1000))
    few = run(Settings(n_particles=50)).mode_weights
    assert mode_tolerance(few) == pytest.approx(0.03 + 5 * math.sqrt(0.16 / 50))
    three = mode_weights(np.zeros((400, 1)), lab.build_mixture(Settings(dimension=1, n_modes=3)))
    se = np.sqrt(np.array([0.8 * 0.2, 0.1 * 0.9, 0.1 * 0.9]) / 400)
    assert mode_tolerance(three) == pytest.approx(0.03 + 0.5 * 5 * se.sum())


def test_the_mode_verdict_says_what_its_tolerance_is_made_of(default_result):
    message = next(m for m in default_result.diagnosis if m.code == "recovered_modes")
    assert "5 standard errors of sampling noise with 1000 particles (0.063) plus 0.03" in message.what
    assert message.numbers["tolerance"] == pytest.approx(mode_tolerance(default_result.mode_weights))


def test_the_exact_variance_curve_runs_from_s_squared_to_the_largest_step_measured():
    curve = run(Settings(annealing=False, step_size=0.2)).variance_bias
    steps, variance = curve.exact_curve(50)
    assert steps[0] == 0 and steps[-1] == curve.steps.max() and steps.size == 50
    assert variance[0] == pytest.approx(curve.s**2)
    np.testing.assert_allclose(variance, curve.s**2 / (1 - steps / (2 * curve.s**2)), rtol=1e-12)
    np.testing.assert_allclose(np.interp(curve.steps, steps, variance), curve.exact_ula_variance, rtol=0.05)


def test_an_untrained_model_is_not_fitted_and_says_why():
    result = run(Settings(training_steps=0))
    message = next(m for m in result.diagnosis if m.code == "model_not_fitted")
    assert "0 steps" in message.why and result.score_fit.relative_error > FIT_TOLERANCE


def test_tweedie_beats_the_noisy_points(default_result):
    t = default_result.tweedie
    assert t.denoised_error < t.noisy_error and t.denoised_learned_error < t.noisy_error


@pytest.mark.slow
@pytest.mark.parametrize("name, found, missing", [("annealing", "recovered_modes", "missed_mode"),
                                                  ("no-annealing", "missed_mode", "recovered_modes")])
def test_annealing_recovers_the_mode_weights_and_plain_langevin_misses_them_for_seeds_0_to_99(name, found, missing):
    """The mode verdict's tolerance comes from the sample size: annealing's small bias (0.782 in the
    0.8 mode) plus 5 standard errors of 1000 particles holds for every seed, not 99 in 100 of them."""
    preset = next(p for p in PRESETS if p.name == name)
    for seed in range(100):
        diagnosis = codes(preset_diagnosis(preset, seed))
        assert found in diagnosis and missing not in diagnosis, (seed, diagnosis)


def test_the_presets_cover_the_lessons_of_the_issue():
    titles = {p.title.lower() for p in PRESETS}
    for lesson in ("step too large: the chain explodes", "no annealing misses the small mode",
                   "annealing recovers it", "the learned score vs the true one"):
        assert lesson in titles
    assert len({p.name for p in PRESETS}) == len(PRESETS)
    for preset in PRESETS:
        preset.apply(Settings())  # every field a preset sets is a setting


BAD = {
    "step 0": (dict(step_size=0.0), "step"),
    "negative step": (dict(step_size=-0.1), "step"),
    "infinite step": (dict(step_size=math.inf), "finite"),
    "width 0": (dict(width=0.0), "width"),
    "negative first width": (dict(first_width=-1.0), "first_width"),
    "σ 0": (dict(smoothing_sigma=0.0), "smoothing_sigma"),
    "NaN separation": (dict(separation=math.nan), "finite"),
    "3-D": (dict(dimension=3), "dimension"),
    "no modes": (dict(n_modes=0), "n_modes"),
    "weight above 1": (dict(first_weight=1.5), "first_weight"),
    "fractional steps": (dict(n_steps=10.5), "whole number"),
    "negative seed": (dict(seed=-1), "seed"),
    "annealing as text": (dict(annealing="yes"), "on or off"),
    "unknown model": (dict(model="forest"), "score model"),
    "σ_min above σ_max": (dict(sigma_min=5.0, sigma_max=1.0), "σ_max must be larger"),
    "fewer steps than levels": (dict(n_steps=5, n_levels=10), "at least one step per level"),
    "too many 2-D bumps": (dict(model_width=25), "at most 24 bumps per axis in 2-D"),
}


@pytest.mark.parametrize("overrides, match", BAD.values(), ids=BAD.keys())
def test_bad_settings_raise_a_clear_value_error(overrides, match):
    with pytest.raises(ValueError, match=match):
        run(Settings(**overrides))


def test_settings_are_hashable_scalars_with_limits_for_every_number():
    settings = Settings()
    hash(settings)
    for field in dataclasses.fields(Settings):
        value = getattr(settings, field.name)
        assert isinstance(value, (int, float, bool, str)), field.name
        if isinstance(value, (int, float)) and not isinstance(value, bool) and field.name != "seed":
            low, high = lab.LIMITS[field.name]
            assert low <= value <= high, field.name


def test_the_model_width_range_caps_the_2d_bumps_only():
    assert lab.model_width_range(2, "features") == (2, lab.MAX_BUMPS_2D) == (2, 24)
    for dimension, model in ((1, "features"), (2, "network"), (1, "network"), (2, "linear")):
        assert lab.model_width_range(dimension, model) == lab.LIMITS["model_width"]
    for dimension, model in ((1, "features"), (2, "network")):
        run(Settings(dimension=dimension, model=model, model_width=64, training_steps=5, n_steps=30, n_levels=3))


def test_a_cached_scene_gives_the_same_run_and_a_scene_of_other_data_is_refused():
    for settings in (Settings(n_steps=60, n_levels=3), Settings(n_steps=60, annealing=False, n_particles=100)):
        whole = run(settings)
        part = run(settings, scene=lab.scene(score_model_settings(settings)))
        np.testing.assert_array_equal(whole.sampler.x, part.sampler.x)
        np.testing.assert_array_equal(whole.learned_score, part.learned_score)
        np.testing.assert_array_equal(whole.paths.forward.states["x"], part.paths.forward.states["x"])
        assert whole.sample_distance == part.sample_distance and whole.sample_distance.n == min(250, settings.n_particles)
        assert [m.code for m in whole.diagnosis] == [m.code for m in part.diagnosis]
    other = lab.scene(Settings(separation=6.0))
    with pytest.raises(ValueError, match="other data or score-model settings"):
        run(Settings(), scene=other)
    run(Settings(step_size=0.02, mala=True, n_steps=60, n_levels=3), scene=lab.scene(Settings()))  # sampler fields only


def test_a_sampling_step_is_the_snapshot_and_the_last_one_is_the_run_itself():
    result = run(Settings(n_particles=3000, n_steps=100, n_levels=5))
    last = lab.sampling_step(result, -1)
    assert last.index == len(result.snapshots) - 1 and last.step == 100
    assert last.x is result.sampler.x and last.x.shape == (3000, 2)  # every particle, not the 2000 kept
    assert last.histogram is result.histogram and last.mode_weights is result.mode_weights
    at = lab.sampling_step(result, 4)
    snapshot = result.snapshots.at(4)
    np.testing.assert_array_equal(at.x, snapshot["x"])
    assert at.step == result.snapshots.steps[4] and at.noise_level == snapshot["noise_level"] > 0
    assert at.step_size == pytest.approx(result.settings.step_size * (at.noise_level / result.noise_levels[-1]) ** 2)
    assert at.mode_weights.n_samples == 2000
    width = np.diff(at.histogram.edges)
    assert float(np.sum(at.histogram.samples * width)) == pytest.approx(1 - at.histogram.outside)
    plain = lab.sampling_step(run(Settings(annealing=False, n_steps=50)), 3)
    assert plain.noise_level == 0 and plain.step_size == Settings().step_size


def test_the_relative_rms_error_is_the_root_of_the_relative_error(default_result):
    fit = default_result.score_fit
    assert fit.relative_rms_error == pytest.approx(math.sqrt(fit.relative_error))


def test_a_loss_below_the_true_scores_is_not_called_the_floor():
    # the linear model contains the true score of one Gaussian: least squares beats it on its own pairs
    result = lab.run(lab.Settings(n_modes=1, model="linear", training_steps=3000))
    fit = result.score_fit
    assert fit.final_loss < fit.loss_at_true_score
    fitted = next(m for m in result.diagnosis if m.code == "fitted")
    assert "the floor the noise sets" not in fitted.what
    # a dip below the floor is called fitting the pairs' noise only beyond chance (2 standard errors)
    beyond = fit.final_loss < fit.loss_at_true_score - 2 * fit.floor_standard_error
    assert ("fitting these pairs' noise" in fitted.what) == beyond
    assert ("no more than chance" in fitted.what) == (not beyond)
    assert "cannot fall below" not in captions.DSM_WHY


@pytest.mark.parametrize("settings", [dict(n_modes=1, first_width=0.5), dict(n_modes=2, width=0.5, first_width=0.5)])
def test_a_step_too_large_for_equal_modes_throws_no_particle_into_wider_ones(settings):
    result = lab.run(lab.Settings(step_size=0.5, annealing=False, **settings))
    message = next(m for m in result.diagnosis if m.code == "step_too_large")
    assert "wider modes" not in message.what and "back and forth" in message.what
    wide = lab.run(lab.Settings(step_size=0.5, annealing=False, n_modes=2, width=1.0, first_width=0.5))
    assert "wider modes" in next(m for m in wide.diagnosis if m.code == "step_too_large").what


def test_the_steps_run_say_how_annealing_split_the_steps_asked_for():
    result = lab.run(lab.Settings(n_steps=400, n_levels=30, annealing=True))
    steps = next(m for m in captions.summary_metrics(result) if isinstance(m, dict) and m["label"] == "Steps run")
    assert steps["value"] == "390 of 390" and steps["help"].startswith("400 asked for") and "13 at each" in steps["help"]


# ----------------------------------------------------------------------------- the words, for every setting

def _said(message) -> str:
    return " ".join(part for part in (message.title, message.what, message.why, *message.try_instead) if part)


@pytest.mark.parametrize("levels, steps", [(30, 30), (15, 30), (10, 50)])
def test_the_missed_mode_verdict_states_the_steps_per_level_as_a_condition_with_its_plural(levels, steps):
    result = run(Settings(sigma_max=1.5, sigma_min=1.0, n_levels=levels, n_steps=steps))
    per_level = steps // levels
    missed = [m for m in result.diagnosis if m.code == "missed_mode"]
    assert missed, codes(result.diagnosis)  # σ_max = 1.5 is too small for one bump over the modes
    why = missed[0].why
    noun = f"{per_level} step{'' if per_level == 1 else 's'}"
    # at ε = 0.01 and σ_min = 1 the particles barely move in so few steps: the verdict names that cause instead
    assert f"(here {noun} per level)" in why or f"each level lasts T = {noun} at" in why
    assert "each level gives the particles enough steps to settle before σ shrinks" in why or "barely move" in why
    assert "level's 1 steps" not in why and "let the particles settle" not in why


def test_the_counted_nouns_take_the_singular_for_exactly_one():
    from types import SimpleNamespace

    from calc_core.diffusion import diagnosis
    assert diagnosis.counted(1) == "1 step" and diagnosis.counted(30) == "30 steps"
    one = SimpleNamespace(verdict="fail", reason="∂ℓ/∂W1 is off.")
    assert diagnosis.gradient_check_failed(SimpleNamespace(gradient_checks=[one])).title == "1 gradient check failed"
    assert diagnosis.gradient_check_failed(SimpleNamespace(gradient_checks=[one, one])).title == \
        "2 gradient checks failed"
    alone = run(Settings(annealing=False, n_steps=1, training_steps=5))
    missed = next(m for m in alone.diagnosis if m.code == "missed_mode")
    assert "many particles have not reached p yet" in missed.why  # one step cannot bring them in
    per_level = run(Settings(n_steps=10, n_levels=10, training_steps=5))
    found = next(m for m in per_level.diagnosis if m.code in ("missed_mode", "wrong_shape"))
    assert "each level lasts T = 1 step at" in found.why


@pytest.mark.parametrize("options", [{}, dict(sigma_max=1.5, sigma_min=1.0, n_levels=30, n_steps=30),
                                     dict(annealing=False), dict(annealing=False, n_steps=1, training_steps=5)])
def test_no_message_or_caption_has_latex_braces_doubled_spaces_or_1_steps(options):
    import re
    result = run(Settings(**options))
    step = lab.sampling_step(result, len(result.snapshots) - 1)
    texts = [_said(m) for m in result.diagnosis] + [captions.sampling_step(result, step)]
    for text in texts:
        assert "{" not in text and "}" not in text and "  " not in text, text
        assert not re.search(r"(?<![\d.,])1 (steps|levels|particles|checks)\b", text), text
    if result.noise_levels.size:
        smoothed = next(m for m in result.diagnosis if m.code == "ends_smoothed")
        assert "The last level samples p_σ at σ = σ_L, that is p * N(0, σ_L² I)" in smoothed.what


def test_the_sampling_caption_agrees_its_noun_with_the_total():
    short = run(Settings(annealing=False, n_steps=1, training_steps=5))
    assert captions.sampling_step(short, lab.sampling_step(short, -1)).startswith("After 1 of 1 step (")
    assert captions.sampling_step(short, lab.sampling_step(short, 0)).startswith("After 0 of 1 step (")
    longer = run(Settings(annealing=False, n_steps=40, training_steps=5))
    assert captions.sampling_step(longer, lab.sampling_step(longer, -1)).startswith("After 40 of 40 steps (")


def _fit_message(settings):
    from types import SimpleNamespace

    from calc_core.diffusion.diagnosis import score_fit
    fit = lab.fit_score_model(settings)
    return fit, score_fit(SimpleNamespace(score_fit=fit, settings=settings))


@pytest.mark.parametrize("changes", [dict(n_modes=1, first_width=2.5, smoothing_sigma=0.45, model_width=24,
                                          training_steps=1000),
                                     dict(first_width=3.0, smoothing_sigma=0.05)])
def test_a_training_loss_below_its_floor_is_overfitting_not_a_reason_for_more_steps(changes):
    # 24² bumps on wide modes, or σ = 0.05: the training loss is still falling, but into the pairs' noise — more
    # steps take the learned score further from the true one, so "more steps would bring it closer" is false
    for seed in range(3):
        s = Settings(**changes, seed=seed)
        fit, found = _fit_message(s)
        longer = lab.fit_score_model(dataclasses.replace(s, training_steps=3000))
        assert found.code == "model_not_fitted"
        if "more steps would bring the learned score closer" in found.why:
            assert longer.relative_error < fit.relative_error
        named = _steps_named(found)
        if longer.relative_error > fit.relative_error:
            assert "More training steps." not in found.try_instead and all(n < s.training_steps for n in named)
            assert named  # the fewer steps that come closest are named
        for n in named:  # each step count named does come closer, on this seed
            assert lab.fit_score_model(dataclasses.replace(s, training_steps=n)).relative_error < fit.relative_error
        if fit.final_loss < fit.loss_at_true_score:
            assert "overfitting" in found.why
            assert "cannot represent" not in found.why  # a model that fits the noise is not too stiff


def _steps_named(message) -> list[int]:
    """The N of every "Set the training steps to N: …" in a message's suggestions."""
    prefix = "Set the training steps to "
    return [int(t[len(prefix):].split(":")[0].replace(",", "")) for t in message.try_instead if t.startswith(prefix)]


def test_the_training_path_is_what_training_for_that_many_steps_gives():
    # the trace reruns the same training: after k steps its ρ is the one fit_score_model(k steps) measures, bit
    # for bit, for k before, at and after the steps set
    s = Settings(dimension=1, n_modes=4, separation=2.0, smoothing_sigma=0.1, model_width=8, training_steps=300)
    fit = lab.fit_score_model(s)
    assert fit.relative_error > FIT_TOLERANCE and fit.path is not None
    assert fit.path.steps[0] == lab.TRAINING_STEP and fit.path.steps[-1] == lab.LIMITS["training_steps"][1]
    assert np.all(np.diff(fit.path.steps) == lab.TRAINING_STEP)
    for k in (50, 300, 1250, 3000):
        assert fit.path.at(k) == lab.fit_score_model(dataclasses.replace(s, training_steps=k)).relative_error
    # a fitted model, or the network, is not traced
    assert lab.fit_score_model(Settings()).path is None
    assert lab.fit_score_model(Settings(model="network", training_steps=50)).path is None


def test_a_features_model_that_more_steps_would_fit_is_not_said_to_be_at_its_limit():
    # four bumps on two close modes after 50 steps: the loss has all but levelled off, yet Nesterov's slow
    # directions still move and a few hundred steps fit the score
    s = Settings(dimension=1, n_modes=2, separation=2.0, smoothing_sigma=0.5, model_width=4, training_steps=50)
    told = 0
    for seed in range(5):
        fit, found = _fit_message(dataclasses.replace(s, seed=seed))
        if found.code != "model_not_fitted":
            continue
        told += 1
        assert "cannot represent" not in found.why and "Trained on, the same model fits" in found.why
        (n,) = _steps_named(found)
        assert n > s.training_steps
        at_n = lab.fit_score_model(dataclasses.replace(s, seed=seed, training_steps=n))
        assert at_n.relative_error <= FIT_TOLERANCE  # the steps named fit …
        for fewer in range(s.training_steps + lab.TRAINING_STEP, n, lab.TRAINING_STEP):  # … and are the fewest
            assert lab.fit_score_model(dataclasses.replace(s, seed=seed, training_steps=fewer)).relative_error \
                > FIT_TOLERANCE
    assert told >= 3


def test_cannot_represent_is_said_only_when_no_number_of_steps_fits():
    for seed in range(3):
        s = Settings(model="linear", seed=seed)
        fit, found = _fit_message(s)
        assert "cannot represent the score closely enough" in found.why and "straight line" in found.why
        for k in (0, 50, 3000):
            assert lab.fit_score_model(dataclasses.replace(s, training_steps=k)).relative_error > FIT_TOLERANCE
        assert not any("Set the training steps" in t for t in found.try_instead)  # none comes clearly closer


def test_a_network_whose_loss_rests_on_a_plateau_is_not_said_to_be_at_its_limit():
    # Adam on a network: a loss that has levelled off over the last tenth can fall again, and more steps fit closer
    s = Settings(dimension=1, n_modes=4, separation=10.5, first_weight=0.3, first_width=1.65, width=2.8,
                 smoothing_sigma=1.3, model="network", model_width=32, training_steps=1500)
    for seed in range(4):
        fit, found = _fit_message(dataclasses.replace(s, seed=seed))
        if found.code == "model_not_fitted":
            assert "cannot represent the score any closer" not in found.why
            if "levelled off" in found.why:
                assert "More training steps." in found.try_instead


def _message(result, *names):
    return next((m for m in result.diagnosis if m.code in names), None)


@pytest.mark.parametrize("changes", [dict(), dict(dimension=1), dict(n_modes=1), dict(mala=True)])
def test_a_good_sampler_is_never_said_to_be_off_in_shape_for_seeds_0_to_19(changes):
    # the energy verdict's limit is 20× the mean D² of exact draws of these sizes: exact samplers pass it with
    # probability below 10⁻⁵, and a good sampler at the defaults stays far inside it
    for seed in SEEDS:
        r = run(Settings(**changes, training_steps=0, seed=seed))
        found = codes(r.diagnosis)
        assert "recovered_modes" in found and "wrong_shape" not in found, (seed, found)
        assert r.sample_distance.energy < 20 * r.sample_distance.expected


def test_right_weights_with_particles_that_barely_moved_are_not_called_a_success():
    # one mode: its weight is trivially right, but at ε = 10⁻⁴ the particles stay near their N(0, σ_max²) start
    for seed in range(4):
        r = run(Settings(n_modes=1, step_size=1e-4, training_steps=0, seed=seed))
        found = codes(r.diagnosis)
        assert "recovered_modes" not in found and "wrong_shape" in found, (seed, found)
        m = _message(r, "wrong_shape")
        assert "energy distance" in m.what and "ε" in m.try_instead[0]
        better = run(dataclasses.replace(r.settings, step_size=float(m.try_instead[0].split("Raise ε to ")[1].split(",")[0])))
        assert "recovered_modes" in codes(better.diagnosis)
        assert better.sample_distance.energy < r.sample_distance.energy / 10


@pytest.mark.parametrize("changes", [dict(dimension=1, step_size=0.1, sigma_max=16.0), dict(step_size=0.3, sigma_max=16.0)])
def test_the_annealing_hint_names_the_lower_step_annealing_needs_and_that_step_works(changes):
    # with annealing the first step is ε σ_max²/σ_min² (6400× ε here): at this ε it would explode
    for seed in range(3):
        r = run(Settings(annealing=False, training_steps=0, seed=seed, **changes))
        m = _message(r, "missed_mode")
        hint = next(h for h in m.try_instead if h.startswith("Turn on annealing"))
        assert "Lower ε too" in hint
        plain = run(dataclasses.replace(r.settings, annealing=True))
        assert {"exploded", "step_too_large"} & codes(plain.diagnosis)
        eps = float(hint.split("Lower ε too, to ")[1].split(" ")[0])
        fixed = run(dataclasses.replace(r.settings, annealing=True, step_size=eps))
        assert "recovered_modes" in codes(fixed.diagnosis) and not {"exploded", "step_too_large"} & codes(fixed.diagnosis)


def test_the_annealing_hint_at_a_stable_step_asks_nothing_more():
    m = _message(run(Settings(annealing=False, training_steps=0)), "missed_mode")
    assert any(h.startswith("Turn on annealing") and "ε" not in h for h in m.try_instead)


@pytest.mark.parametrize("changes", [dict(step_size=1e-4), dict(n_modes=3, step_size=2e-4)])
def test_annealing_with_a_step_too_small_to_move_the_particles_says_so_and_a_larger_step_fixes_it(changes):
    for seed in range(4):
        r = run(Settings(training_steps=0, seed=seed, **changes))
        m = _message(r, "missed_mode")
        assert m is not None and "barely move" in m.why
        assert not any("σ_max" in h or "More steps per level" in h for h in m.try_instead)
        eps = float(m.try_instead[0].split("Raise ε to ")[1].split(",")[0])
        assert "recovered_modes" in codes(run(dataclasses.replace(r.settings, step_size=eps)).diagnosis)


def test_a_loss_below_its_floor_by_less_than_chance_is_not_called_overfitting():
    # 1-D, six wide modes, 14 bumps: the loss ends a hair below the true score's on the same pairs, well within the
    # cross term's noise, and more steps still bring the learned score closer
    s = Settings(dimension=1, n_modes=6, separation=10.0, first_weight=0.2, first_width=1.85, width=2.45,
                 smoothing_sigma=0.7, model_width=14, training_steps=650, seed=10)
    slight = 0
    for seed in range(10, 16):
        fit, found = _fit_message(dataclasses.replace(s, seed=seed))
        gap = fit.loss_at_true_score - fit.final_loss
        if found.code == "model_not_fitted" and gap <= 2 * fit.floor_standard_error:
            assert "overfitting" not in found.why and "Fewer training steps." not in found.try_instead, seed
            assert "above the" not in found.why or gap <= 0
            slight += 0 < gap
    assert slight >= 1  # at least one seed ends below the floor by less than chance


def test_the_floor_noise_is_a_small_share_of_the_floor(default_result):
    fit = default_result.score_fit
    assert 0 < fit.floor_standard_error < 0.05 * fit.loss_at_true_score


def _eps_named(tip: str) -> float:
    return float(tip.split("Raise ε to ")[1].split(",")[0])


@pytest.mark.parametrize("changes", [dict(n_modes=1, step_size=1e-4), dict(n_modes=1, first_width=2.0, width=2.0,
                                                                              sigma_max=30.0, step_size=1e-3),
                                     dict(separation=1.0, step_size=1e-3)])
def test_without_annealing_a_step_too_small_to_bring_the_particles_in_is_named_and_the_larger_step_fixes_it(changes):
    for seed in range(4):
        s = Settings(annealing=False, seed=seed, **changes)
        r = run(s)
        found = _message(r, "wrong_shape", "missed_mode")
        assert found is not None and "many particles have not reached p yet" in found.why, seed
        from calc_core.diffusion.diagnosis import unannealed_relaxation
        rel, needed, width = unannealed_relaxation(s, r.mixture)
        assert rel < needed and f"ε·T/s² = {rel:.2g}" in found.why
        eps = _eps_named(found.try_instead[0])
        assert eps < 2 * float(np.min(r.mixture.sigmas)) ** 2 / 2  # stable for the narrowest mode, with room
        fixed = run(dataclasses.replace(s, step_size=eps))
        assert "recovered_modes" in codes(fixed.diagnosis), (seed, codes(fixed.diagnosis))
        assert not {"wrong_shape", "missed_mode"} & codes(fixed.diagnosis)


def test_without_annealing_far_modes_with_settled_particles_are_blamed_on_the_gap_not_the_step():
    for seed in range(3):
        r = run(Settings(annealing=False, seed=seed))  # ε·T/s² = 16 against 4.8 needed
        found = _message(r, "missed_mode")
        assert "low-density gap" in found.why and "have not reached p" not in found.why


def test_without_annealing_no_stable_step_settles_a_wide_mode_beside_a_narrow_one_and_it_says_so():
    from calc_core.diffusion.diagnosis import unannealed_relaxation, unannealed_settle_hint
    s = Settings(annealing=False, first_width=0.05, width=3.0, step_size=0.002)
    r = run(s)
    assert unannealed_settle_hint(r).startswith("No step both stable and large enough")
    limit = 2 * 0.05**2
    for eps in (e for e in lab.OPTIONS["step_size"] if e < limit):
        rel, needed, _ = unannealed_relaxation(dataclasses.replace(s, step_size=eps, n_steps=2000), r.mixture)
        assert rel < needed
