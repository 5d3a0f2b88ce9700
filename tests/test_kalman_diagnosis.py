"""calc_core.kalman.diagnosis: the causes named for an inconsistent run are the ones its settings hold."""

import math
from dataclasses import replace

import calc_core.kalman.consistency as consistency
from calc_core.kalman.diagnosis import diagnose
from calc_core.kalman.lab import track_vehicle

DEFAULTS = dict(turn_rate=0.2, heading_error=0.0, process_noise=1.0, assumed_process_scale=1.0,
                assumed_measurement_scale=1.0, filter_model="turning")


def diagnosis_of(**changes):
    settings = {**DEFAULTS, **changes}
    run = track_vehicle(**settings)
    return run, diagnose(run, settings)


def test_a_consistent_run_needs_no_diagnosis():
    run, found = diagnosis_of()
    assert run.verdict == "consistent" and found is None


def test_too_little_assumed_process_noise_is_named_as_the_cause_of_overconfidence():
    run, found = diagnosis_of(assumed_process_scale=0.3)
    assert run.verdict == "overconfident" and found.title == "The filter is overconfident"
    assert f"{run.mean_nees:.3g}" in found.what and "above its 95% band" in found.what
    # errors ≈ √(mean NEES / n) times what P admits
    assert f"{math.sqrt(run.mean_nees / 5):.2g}×" in found.what
    assert "3.33× steadier" in found.why and "sensor" not in found.why
    assert any("process noise back to 1×" in tip for tip in found.try_instead)


def test_too_much_assumed_sensor_noise_is_named_as_the_cause_of_underconfidence():
    run, found = diagnosis_of(assumed_measurement_scale=3.0)
    assert run.verdict == "underconfident" and "below its 95% band" in found.what
    assert "3× noisier" in found.why and "R̃ = 9 R" in found.why
    assert found.try_instead == ("Set the filter's assumed sensor noise back to 1× the true one.",)


def test_the_straight_model_on_a_turning_vehicle_is_blamed_on_the_missing_turn_rate():
    _, found = diagnosis_of(filter_model="straight", turn_rate=0.5)
    assert "cannot turn" in found.why and "ω = 0.5 rad/s" in found.why
    assert any("turning model" in tip for tip in found.try_instead)


def test_an_unmodelled_initial_heading_error_is_named():
    run, found = diagnosis_of(heading_error=math.radians(60))
    assert run.verdict == "overconfident" and "+60° off in heading" in found.why


def test_a_miss_with_nothing_mis_tuned_is_put_down_to_chance():
    run = track_vehicle()
    unlucky = replace(run, verdict="underconfident", mean_nees=run.nees_mean_band[0] * 0.9)
    found = diagnose(unlucky, DEFAULTS)
    assert "one run in twenty" in found.why and found.try_instead == (
        "Try another seed: a chance miss goes away, a real problem stays.",)


def test_a_diverged_run_is_reported_with_its_step_and_reason(monkeypatch):
    monkeypatch.setattr(consistency, "BLOWUP", 3.0)
    run, found = diagnosis_of(assumed_process_scale=10.0)
    assert found.title == "The filter diverged at step 4"
    assert "blew up" in found.what
    assert any("Reset all controls" in tip for tip in found.try_instead)


def test_innovations_outside_their_band_are_reported_even_when_nees_is_inside_its_own():
    run, found = diagnosis_of(assumed_measurement_scale=10.0)
    assert (run.verdict, run.nis_verdict) == ("consistent", "underconfident")
    assert found.title == "The innovations say underconfident"
    assert f"{run.mean_nis:.3g}, below its 95% band" in found.what and "10× noisier" in found.why
