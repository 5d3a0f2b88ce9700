"""calc_core.kalman.diagnosis and the lessons (lab.PRESETS): the verdicts and the causes named are
the ones the run and its settings hold, and every lesson's claim holds on seeds 0–19, asserted on
calc_core's results."""

import math
from dataclasses import replace

import numpy as np
import pytest

import calc_core.kalman.consistency as consistency
from calc_core.common.messages import codes
from calc_core.kalman import diagnosis, lab
from calc_core.kalman.lab import PRESETS, Settings

SEEDS = range(20)
LESSONS = {p.name: p for p in PRESETS}


def run(**changes) -> lab.Result:
    return lab.run(Settings(**changes))


def message(result, code):
    return next(m for m in result.diagnosis if m.code == code)


def test_a_consistent_run_says_so_with_both_tests_numbers():
    r = run()
    assert r.verdict == "consistent" and codes(r.diagnosis) == {"consistent"}
    text = message(r, "consistent").what
    assert f"{r.mean_nees:.3g}, is inside its 95% band" in text and f"{r.mean_nis:.3g}, is inside its own" in text


def test_too_little_assumed_process_noise_is_named_as_the_cause_of_overconfidence():
    r = run(assumed_process_scale=0.3)
    found = message(r, "overconfident")
    assert r.verdict == "overconfident" and found.title == "The filter is overconfident"
    assert f"{r.mean_nees:.3g}, is above its 95% band" in found.what
    # errors ≈ √(mean NEES / n) times what P admits
    assert f"{math.sqrt(r.mean_nees / 5):.2g}×" in found.what
    assert "3.33× steadier" in found.why and "sensor" not in found.why
    assert any("process noise back to 1×" in tip for tip in found.try_instead)


def test_too_much_assumed_sensor_noise_is_named_as_the_cause_of_underconfidence():
    r = run(assumed_measurement_scale=3.0)
    found = message(r, "underconfident")
    assert "below its 95% band" in found.what or "below its own" in found.what
    assert "3× noisier" in found.why and "R̃ = 9 R" in found.why
    assert found.try_instead == ("Set the filter's assumed sensor noise back to 1× the true one.",)


def test_more_assumed_process_noise_on_a_noiseless_vehicle_is_not_blamed():
    # Q̃ = s² Q = 0 when q = 0: the scale changes nothing, so it is no cause
    causes, _ = diagnosis.underconfidence_causes(Settings(process_noise=0.0, assumed_process_scale=5.0))
    assert causes == []


def test_the_straight_model_on_a_turning_vehicle_is_blamed_on_the_missing_turn_rate():
    found = message(run(filter_model="straight", turn_rate=0.5), "overconfident")
    assert "cannot turn" in found.why and "ω = 0.5 rad/s" in found.why
    assert any("turning model" in tip and "ω column" in tip for tip in found.try_instead)


def test_an_unmodelled_initial_heading_error_is_named_in_degrees():
    r = run(heading_error=60.0)
    assert r.verdict == "overconfident" and "+60° off in heading" in message(r, "overconfident").why
    assert "recovered" in codes(r.diagnosis)


def test_a_miss_with_nothing_mis_tuned_is_put_down_to_chance():
    r = run()
    unlucky = replace(r, verdict="underconfident", nees_verdict="underconfident", mean_nees=r.nees_mean_band[0] * 0.9)
    found = message(replace(unlucky, diagnosis=lab.diagnose(unlucky)), "underconfident")
    assert f"about one run in {diagnosis.CHANCE_RATE}" in found.why
    assert found.try_instead == ("Try another seed: a chance miss goes away, a real problem stays.",)


def test_a_diverged_run_is_reported_with_its_step_and_reason(monkeypatch):
    monkeypatch.setattr(consistency, "BLOWUP", 3.0)
    r = run(assumed_process_scale=10.0)
    assert codes(r.diagnosis) == {"diverged"} and r.verdict == "diverged"
    assert r.nees_verdict != "diverged"  # the tests judged the steps before it
    found = r.diagnosis[0]
    assert found.title == "The filter diverged at step 4" and found.kind == "problem"
    assert "blew up" in found.what and any("Reset all controls" in tip for tip in found.try_instead)


def test_when_only_the_innovations_see_it_the_verdict_rests_on_nis_and_says_why_nees_did_not():
    r = run(assumed_measurement_scale=10.0)
    assert (r.nees_verdict, r.nis_verdict, r.verdict) == ("consistent", "underconfident", "underconfident")
    # R̃ = 100 R also leaves it less accurate than its sensor (see test_worse_than_sensor_*)
    assert codes(r.diagnosis) == {"underconfident", "innovations_disagree", "worse_than_sensor"}
    assert f"{r.mean_nis:.3g}, is below its own" in message(r, "underconfident").what
    assert "10× noisier" in message(r, "underconfident").why
    assert "band is wide" in message(r, "innovations_disagree").what


def test_innovations_that_look_fine_while_nees_does_not_are_pointed_out():
    # with Q̃ = Q/11 some drives keep NIS inside its band while NEES is far above its own
    quiet = [r for r in (run(assumed_process_scale=0.3, seed=seed) for seed in SEEDS) if r.nis_verdict == "consistent"]
    assert quiet
    for r in quiet:
        assert r.verdict == "overconfident" and "would not notice" in message(r, "innovations_disagree").what


def test_a_chance_miss_of_the_nis_band_is_not_called_a_mis_tuning():
    lucky = [r for r in (run(seed=seed) for seed in range(40)) if r.nees_verdict != r.nis_verdict]
    assert lucky  # about one tuned run in ten
    for r in lucky:
        text = message(r, "innovations_disagree").what + message(r, r.verdict).why
        assert "mis-tuning first" not in text and ("chance" in text or "would not notice" in text)


def test_the_overall_verdict_prefers_nees_and_falls_back_on_nis():
    v = diagnosis.overall_verdict
    assert v("overconfident", "underconfident") == "overconfident"
    assert v("consistent", "underconfident") == "underconfident"
    assert v("consistent", "consistent") == "consistent"
    assert v("diverged", "consistent") == v("consistent", "diverged") == "diverged"
    assert v(None, "overconfident") == "overconfident"
    assert v("consistent", "consistent", diverged=True) == "diverged"


# --- the lessons, on every seed ---------------------------------------------------------

@pytest.fixture(scope="module")
def lessons():
    """(preset name → [Result] over seeds 0–19), and the tuned filter on the same drives."""
    results = {p.name: [lab.run(p.apply(Settings(), seed=seed)) for seed in SEEDS] for p in PRESETS}
    tuned = {turn: [lab.run(Settings(seed=seed, turn_rate=turn)) for seed in SEEDS] for turn in (0.2, 0.5)}
    return results, tuned


def test_there_are_at_least_three_lessons_with_the_two_the_workshop_needs():
    assert len(PRESETS) >= 3 and {"overconfident", "straight_on_turn"} <= set(LESSONS)
    assert LESSONS["overconfident"].title == "Mis-tuned filter: overconfident"
    assert LESSONS["straight_on_turn"].title == "Straight-line model on a turn"
    assert all(p.expect for p in PRESETS)


def test_mis_tuned_overconfident_nees_is_more_than_ten_times_its_band_and_the_estimate_worse(lessons):
    results, tuned = lessons
    for r, t in zip(results["overconfident"], tuned[0.2]):
        assert r.mean_nees > 10 * r.nees_mean_band[1]
        assert r.mean_position_error > t.mean_position_error
    assert "more than ten times the top of its band" in LESSONS["overconfident"].lesson


def test_the_straight_model_on_a_turn_has_half_again_the_turning_filters_error(lessons):
    results, tuned = lessons
    for r, t in zip(results["straight_on_turn"], tuned[0.5]):
        assert r.n_state == 4 and r.nees_verdict == "overconfident"
        assert r.mean_position_error > 1.5 * t.mean_position_error
    assert "at least half again the turning filter's" in LESSONS["straight_on_turn"].lesson


def test_sensor_noise_assumed_five_times_larger_is_underconfident_by_nis_on_every_seed(lessons):
    # the old hint ("5 on the sensor noise makes it underconfident") held by NEES on seed 0 only
    results, tuned = lessons
    nees_inside = 0
    for r, t in zip(results["underconfident"], tuned[0.2]):
        assert r.nis_verdict == "underconfident" and r.verdict == "underconfident"
        assert r.nees_verdict in ("underconfident", "consistent")
        nees_inside += r.nees_verdict == "consistent"
        assert r.mean_position_error > t.mean_position_error
    assert nees_inside > 0  # hence "may stay inside its own"
    assert "NEES" in LESSONS["underconfident"].lesson and "may stay inside" in LESSONS["underconfident"].lesson


def test_a_bad_start_spikes_then_settles(lessons):
    results, _ = lessons
    for r in results["bad_start"]:
        early, late = np.mean(r.nees[:diagnosis.TRANSIENT_STEPS]), np.mean(r.nees[r.completed // 2:])
        assert early > r.nees_step_band[1] > late  # "spikes far above … then settles"
        assert r.mean_nees > r.nees_mean_band[1]  # "leaves the run's mean NEES above its band"
        assert f"{early:.3g}" in message(r, "recovered").what


def test_lessons_keep_the_steps_so_the_step_shown_up_close_needs_no_clamping():
    # a lesson that shortened the drive below INSPECT_STEP would drag k into the link too
    assert all(p.apply(Settings()).n_steps >= lab.INSPECT_STEP for p in PRESETS)


def test_an_estimate_on_the_other_branch_or_a_turn_away_is_measured_as_the_same_motion():
    from calc_core.kalman.consistency import nees

    P = np.diag([0.1, 0.1, 0.2, 0.05, 0.01])[None]
    truth = np.array([[1.0, 2.0, 13.9, 0.3, 0.1]])
    near = truth + np.array([[0.1, -0.1, 0.2, 0.05, 0.01]])
    expected = nees(truth, near, P)[0]
    turned = near + np.array([[0, 0, 0, 2 * np.pi * 14, 0]])  # the heading, fourteen turns on: the same heading
    other_branch = near * np.array([1, 1, -1, 1, 1]) + np.array([[0, 0, 0, np.pi, 0]])  # (−v, θ + π)
    assert np.isclose(nees(truth, turned, P)[0], expected, rtol=1e-9)
    assert np.isclose(nees(truth, other_branch, P)[0], expected, rtol=1e-9)
    assert nees(truth, near * np.array([1, 1, -1, 1, 1]), P)[0] > 100 * expected  # −v alone is another motion


def test_an_inflated_process_noise_is_not_said_to_under_use_the_measurements():
    r = lab.run(lab.Settings(assumed_process_scale=10))
    found = next(m for m in r.diagnosis if m.code == "underconfident")
    assert "under-used" not in found.what and "follows each measurement" in found.what
    r = lab.run(lab.Settings(assumed_measurement_scale=5.0))
    assert "under-used" in next(m for m in r.diagnosis if m.code == "underconfident").what


def test_a_miss_against_the_set_mis_tuning_names_it_instead_of_saying_none_is_set():
    # R̃ inflated: a filter that discounts its sensor is underconfident nearly always, but over a long run NEES
    # now and then comes out above its band; the why must not say that no mis-tuning is set
    found = 0
    for seed in range(40):
        r = run(assumed_measurement_scale=5.0, n_steps=2000, seed=seed)
        if r.verdict != "overconfident":
            continue
        found += 1
        why = message(r, "overconfident").why
        assert "None of the usual mis-tunings is set" not in why
        assert "5× noisier than it is" in why and "underconfident instead" in why
        assert "Set the filter's assumed sensor noise back to 1× the true one." in message(r, "overconfident").try_instead
    assert found  # about 3 in 40


def test_a_heading_error_is_blamed_only_when_nees_spikes_at_the_start():
    # with a large Q̃ the filter's P can cover a 20° start: then "watch NEES spike at the start" would be false
    unspiked = 0
    for seed in range(20):
        r = run(heading_error=20.0, assumed_process_scale=5.0, assumed_measurement_scale=0.7, process_noise=0.7, seed=seed)
        early = np.max(r.nees[:diagnosis.TRANSIENT_STEPS])
        spiked = early > r.nees_step_band[1]
        text = " ".join(m.why + " ".join(m.try_instead) for m in r.diagnosis)
        assert ("watch NEES spike at the start" in text) == (spiked and r.verdict == "overconfident")
        unspiked += r.verdict == "overconfident" and not spiked
    assert unspiked  # about 3 in 20


def test_a_heading_error_p_covered_is_named_as_no_cause_rather_than_said_to_be_unset():
    r = run(heading_error=20.0)
    quiet = replace(r, verdict="overconfident", nees_verdict="overconfident", mean_nees=r.nees_mean_band[1] * 1.2,
                    nees=np.minimum(r.nees, r.nees_step_band[1] * 0.9))  # overconfident, with no early spike
    why = message(replace(quiet, diagnosis=lab.diagnose(quiet)), "overconfident").why
    assert "None of the usual mis-tunings is set" not in why and "watch NEES spike" not in why
    assert "+20° off in heading" in why and "P covered that start" in why


def test_recovery_says_how_far_the_errors_since_it_recovered_still_are_from_consistent():
    # NEES back inside the one-step band is not the same as consistent: with R̃ = R/4 the mean NEES after
    # the start has worn off stays about twice n, with R̃ = 25 R it falls to about half
    seen = set()
    for changes in (dict(heading_error=90.0, assumed_measurement_scale=0.5), dict(heading_error=60.0,
                                                                                   assumed_measurement_scale=5.0)):
        for seed in range(10):
            r = run(**changes, seed=seed)
            if "recovered" not in codes(r.diagnosis):
                continue
            found = message(r, "recovered")
            late = np.mean(r.nees[r.heading_start.recovered_step - 1:r.completed])
            if late > 1.5 * r.n_state:
                seen.add("above")
                assert "where its covariance says" not in found.what
                assert f"still about {math.sqrt(late / r.n_state):.2g}× what P admits" in found.what
            elif late < r.n_state / 1.5:
                seen.add("below")
                assert "where its covariance says" not in found.what and "P claims more than there is" in found.what
    assert seen == {"above", "below"}


# ----------------------------------------------------------------------------- worse than the raw sensor

WORSE = {  # settings where the filter is clearly less accurate than its sensor, and the cause to name
    "model": dict(filter_model="straight", turn_rate=0.5),
    "sensor": dict(assumed_measurement_scale=10.0),
    "process": dict(assumed_process_scale=0.1, process_noise=3.0),
    "heading": dict(heading_error=90.0, n_steps=30, speed=10.0, process_noise=0.2),  # not yet recovered
}


@pytest.mark.parametrize("cause", sorted(WORSE))
def test_worse_than_sensor_names_the_cause_and_undoing_it_brings_the_error_below_the_sensors(cause):
    for seed in range(5):
        r = run(**WORSE[cause], seed=seed)
        assert r.mean_position_error > r.mean_measurement_error
        found = message(r, "worse_than_sensor")
        a = r.against_sensor
        assert a.test.worse and a.test.difference > 0
        # the cause is named, with what undoing it gives on the same drive
        assert diagnosis.CAUSE_TIP[cause] in found.try_instead
        assert diagnosis.CAUSE_WORDS[cause](r.settings) in found.why
        fixed = lab.run(replace(r.settings, **diagnosis.SETTINGS_RIGHT[cause]))
        assert fixed.mean_position_error < fixed.mean_measurement_error
        assert f"{fixed.mean_position_error:.3g} m, below the sensor's" in found.why
        assert "worse_than_sensor" not in codes(fixed.diagnosis)
        assert f"{r.mean_position_error:.3g} m" in found.what and f"{r.mean_measurement_error:.3g} m" in found.what


def test_every_hint_of_worse_than_sensor_lowers_the_error_clearly():
    for settings in ({**WORSE["model"], "assumed_measurement_scale": 10.0},
                     {**WORSE["sensor"], "assumed_process_scale": 0.3}):
        for seed in range(5):
            r = run(**settings, seed=seed)
            found = message(r, "worse_than_sensor")
            named = [c for c in diagnosis.SETTINGS_RIGHT if diagnosis.CAUSE_TIP[c] in found.try_instead]
            assert named
            for c in named:
                fixed = lab.run(replace(r.settings, **diagnosis.SETTINGS_RIGHT[c]))
                assert fixed.mean_position_error < diagnosis.CLEARLY_LOWER * r.mean_position_error


@pytest.mark.parametrize("settings", [{}, dict(assumed_process_scale=1.5), dict(assumed_measurement_scale=0.7),
                                      dict(process_noise=5.0, measurement_noise=0.05, dt=0.5), dict(n_steps=20),
                                      dict(turn_rate=1.0, speed=20.0), dict(filter_model="straight", turn_rate=0.0,
                                                                            process_noise=0.0)])
def test_a_well_tuned_filter_is_never_called_worse_than_its_sensor(settings):
    for seed in SEEDS:
        r = run(**settings, seed=seed)
        assert "worse_than_sensor" not in codes(r.diagnosis), (settings, seed)


def test_a_tie_within_noise_is_not_flagged():
    # R̃ = R/100 and Q̃ = 100 Q: the filter copies each measurement, so its error ≈ the sensor's
    for seed in range(10):
        r = run(assumed_measurement_scale=0.1, assumed_process_scale=10.0, seed=seed)
        assert "worse_than_sensor" not in codes(r.diagnosis)


def test_the_paired_test_counts_blocks_not_steps():
    rng = np.random.default_rng(0)
    a = np.repeat(rng.standard_normal(20), 20)  # 400 steps that move in runs of 20
    t = diagnosis.paired_test(a + 0.05, a * 0 + rng.standard_normal(400) * 0.01)
    assert t.block == 20 and math.isfinite(t.margin) and t.margin > 0
    assert diagnosis.paired_test(np.ones(1), np.zeros(1)).margin == math.inf


# ----------------------------------------------------------------------------- a bad start: worn off or not

def test_worn_off_is_the_step_from_which_the_gap_stays_within_a_quarter_of_the_reference_error():
    reference = np.ones(30)
    gap = np.r_[np.linspace(3.0, 0.5, 10), np.full(20, 0.1)]
    assert diagnosis.worn_off(gap, reference) == (11, 0.25)
    # a gap that leaves the tolerance again near the end has not worn off
    late_jump = gap.copy()
    late_jump[25] = 0.3
    assert diagnosis.worn_off(late_jump, reference)[0] is None
    # inside for fewer than TRANSIENT_STEPS updates at the end is too short to tell
    short = np.r_[np.full(30 - diagnosis.TRANSIENT_STEPS + 1, 1.0), np.full(diagnosis.TRANSIENT_STEPS - 1, 0.1)]
    assert diagnosis.worn_off(short, reference)[0] is None
    assert diagnosis.worn_off(np.full(30, 0.1), reference)[0] == 1
    assert diagnosis.worn_off(np.full(30, np.nan), reference)[0] is None  # NaN never counts as within


def _right_started_gap(r):
    """The gap, recomputed from the page's own results: this run against the same run at heading error 0."""
    right = lab.run(replace(r.settings, heading_error=0.0))
    n = min(r.completed, right.completed)
    return (np.linalg.norm(r.estimates[1:n + 1, :2] - right.estimates[1:n + 1, :2], axis=1),
            np.linalg.norm(right.estimates[1:n + 1, :2] - right.truth[1:n + 1, :2], axis=1))


def test_recovered_means_the_estimate_stays_with_the_right_started_filters_from_that_step_on():
    for seed in range(5):
        r = run(heading_error=60.0, seed=seed)
        h, k = r.heading_start, r.heading_start.recovered_step
        gap, reference = _right_started_gap(r)
        np.testing.assert_allclose(h.gap, gap, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(h.reference_error, reference, rtol=1e-12, atol=1e-12)
        assert k is not None and np.all(gap[k - 1:] <= h.tolerance) and (k == 1 or gap[k - 2] > h.tolerance)
        found = message(r, "recovered")
        assert f"From step {k} (t = {k * r.settings.dt:.3g} s) on" in found.what
        assert f"{np.mean(r.position_error[k - 1:r.completed]):.3g} m since" in found.what
        assert "not_recovered" not in codes(r.diagnosis)


def test_a_heading_error_not_worn_off_by_the_end_is_flagged_and_the_steps_it_names_are_enough():
    for seed in range(5):
        r = run(heading_error=90.0, n_steps=40, seed=seed)
        assert "not_recovered" in codes(r.diagnosis) and "recovered" not in codes(r.diagnosis)
        h = r.heading_start
        gap, _ = _right_started_gap(r)
        assert np.any(gap[-diagnosis.TRANSIENT_STEPS:] > h.tolerance)  # not within it for the last updates
        found = message(r, "not_recovered")
        assert "watch NEES fall" not in " ".join(message(r, "overconfident").try_instead)
        assert "has not joined that of a filter started at the right heading" in message(r, "overconfident").why
        tip = f"Set the steps to {h.longer_steps}: on this drive the bad start has worn off by step {h.longer_step}."
        assert tip in found.try_instead and h.longer_steps % 10 == 0 and 40 < h.longer_steps <= lab.LONGER_RUN
        longer = lab.run(replace(r.settings, n_steps=h.longer_steps))
        # the longer run extends the same drive: its first 40 updates are this run's
        np.testing.assert_allclose(longer.estimates[:41], r.estimates[:41], rtol=1e-12, atol=1e-12)
        assert "recovered" in codes(longer.diagnosis) and longer.heading_start.recovered_step == h.longer_step
        assert "not_recovered" in codes(lab.run(replace(r.settings, n_steps=h.longer_steps - 10)).diagnosis)


def test_without_process_noise_a_bad_start_lingers_and_the_reason_is_the_exact_motion_model():
    for seed in range(5):
        r = run(heading_error=30.0, process_noise=0.0, n_steps=60, seed=seed)
        found = message(r, "not_recovered")
        assert "Q̃ is 0" in found.why and "never discounts old information" in found.why
        assert f"still {r.heading_start.gap[-1]:.2g} m from" in found.what or "too few to call" in found.what


def test_a_half_turn_start_settles_on_the_backwards_solution_and_says_so():
    for seed in range(5):
        r = run(heading_error=180.0, seed=seed)
        h = r.heading_start
        assert "recovered" in codes(r.diagnosis) and h.flipped
        truth, estimate = r.truth[r.completed], r.estimates[r.completed]
        assert estimate[2] * truth[2] < 0  # v̂ has the other sign
        assert "other solution of the same motion" in message(r, "recovered").what


def test_no_heading_error_no_heading_comparison():
    assert run().heading_start is None and run(assumed_process_scale=0.3).heading_start is None


def test_the_backwards_lesson_settles_on_the_mirrored_motion_for_every_seed():
    """Its words: v̂ below 0, θ̂ about 180° from the vehicle's heading, positions back with a
    well-started filter's, NEES after the start near the state size."""
    preset = next(p for p in lab.PRESETS if p.name == "backwards")
    for seed in range(10):
        r = lab.run(preset.apply(lab.Settings(), seed=seed))
        h = r.heading_start
        assert h.flipped and h.final_speed < 0 < h.true_speed and h.heading_off > 150, (seed, h)
        recovered = next(m for m in r.diagnosis if m.code == "recovered")
        assert "other solution of the same motion" in recovered.what, seed
        n = r.estimates.shape[1]
        assert 0.6 * n < recovered.numbers["late"] < 1.4 * n, (seed, recovered.numbers)
