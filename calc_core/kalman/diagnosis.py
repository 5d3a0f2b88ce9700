"""Why a tracking run is inconsistent, in words: the causes its settings point to, and what to try.

The verdict comes from the mean NEES against its 95% band (calc_core.kalman.consistency). A filter
that is overconfident makes errors about √(mean NEES / n) times as large as its covariance admits
(n = state dimension); an underconfident one makes smaller errors than it claims. This module
names which of the usual ways of mis-tuning an EKF are present in the settings that produced the
run. When none is, the likeliest explanation is chance: a correctly tuned filter misses the band in
about one run in twenty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from calc_core.kalman.lab import INITIAL_MOTION_SIGMA, TrackingRun

HEADING_SIGMA = INITIAL_MOTION_SIGMA[1]  # σ_θ of P0, rad


@dataclass(frozen=True)
class Diagnosis:
    title: str
    what: str  # what the numbers show
    why: str  # the causes present in the settings
    try_instead: tuple[str, ...]


def diagnose(run: TrackingRun, settings: Mapping[str, Any]) -> Diagnosis | None:
    """None for a consistent run; otherwise what happened, why, and what to try. ``settings`` are the
    keyword arguments of kalman_lessons.track_vehicle that made the run (angles in radians)."""
    overconfidence = (settings["turn_rate"], settings["heading_error"], settings["process_noise"],
                      settings["assumed_process_scale"], settings["assumed_measurement_scale"],
                      settings["filter_model"])
    if run.verdict == "consistent":
        return None if run.nis_verdict == "consistent" else _innovations_disagree(run, settings, overconfidence)
    n = run.estimates.shape[1]
    if run.verdict == "diverged":
        causes, tips = _overconfidence_causes(*overconfidence)
        return Diagnosis(
            f"The filter diverged at step {run.diverged_step}",
            f"It was stopped there because {run.divergence_reason}; the charts show the steps before it.",
            " ".join(causes) or "An EKF can diverge when its linearization is poor and it trusts it too much.",
            tuple(tips) + ("Press *Reset all controls* to get back to a working filter.",))
    factor = math.sqrt(run.mean_nees / n)
    low, high = run.nees_mean_band
    if run.verdict == "overconfident":
        causes, tips = _overconfidence_causes(*overconfidence)
        what = (f"The mean NEES is {run.mean_nees:.3g}, above its 95% band [{low:.3g}, {high:.3g}]: the "
                f"errors are about {factor:.2g}× as large as the covariance P admits, so the ellipses "
                f"are too small (NIS: {run.nis_verdict}).")
    else:
        causes, tips = _underconfidence_causes(settings["assumed_process_scale"], settings["assumed_measurement_scale"])
        what = (f"The mean NEES is {run.mean_nees:.3g}, below its 95% band [{low:.3g}, {high:.3g}]: the "
                f"errors are only about {factor:.2g}× what the covariance P claims, so the ellipses are "
                f"too large and good measurements are under-used (NIS: {run.nis_verdict}).")
    if not causes:
        causes = ["None of the usual mis-tunings is set: a correctly tuned filter misses the 95% band in "
                  "about one run in twenty by chance, and the EKF's linearization adds a little error "
                  "that P does not count (most with long steps dt and an uncertain heading)."]
        tips = ["Try another seed: a chance miss goes away, a real problem stays."]
    return Diagnosis(f"The filter is {run.verdict}", what, " ".join(causes), tuple(tips))


def _innovations_disagree(run: TrackingRun, settings, overconfidence) -> Diagnosis:
    """NEES inside its band but NIS outside: the measured position shows the mis-tuning first."""
    over = run.nis_verdict == "overconfident"
    causes, tips = (_overconfidence_causes(*overconfidence) if over else
                    _underconfidence_causes(settings["assumed_process_scale"], settings["assumed_measurement_scale"]))
    low, high = run.nis_mean_band
    what = (f"The mean NIS is {run.mean_nis:.3g}, {'above' if over else 'below'} its 95% band [{low:.3g}, "
            f"{high:.3g}], while the mean NEES ({run.mean_nees:.3g}) stays inside its own: the innovations — the "
            f"only test a real car can run — are {'larger' if over else 'smaller'} than S = HP⁻Hᵀ + R predicts, "
            "though the errors of the whole state are within what P admits.")
    if not causes:
        causes = ["None of the usual mis-tunings is set: a correctly tuned filter misses a 95% band in about "
                  "one run in twenty by chance."]
        tips = ["Try another seed: a chance miss goes away, a real problem stays."]
    return Diagnosis(f"The innovations say {run.nis_verdict}", what, " ".join(causes), tuple(tips))


def _overconfidence_causes(turn_rate, heading_error, process_noise, process_scale, measurement_scale,
                           filter_model) -> tuple[list[str], list[str]]:
    causes, tips = [], []
    if measurement_scale < 1:
        causes.append(f"It assumes the sensor is {1 / measurement_scale:.3g}× more precise than it is "
                      f"(R̃ = {measurement_scale ** 2:.3g} R), so it believes every measurement too much.")
        tips.append("Set the filter's assumed sensor noise back to 1× the true one.")
    if process_scale < 1 and process_noise > 0:
        causes.append(f"It assumes the motion is {1 / process_scale:.3g}× steadier than it is "
                      f"(Q̃ = {process_scale ** 2:.3g} Q): the random changes of speed, heading and turn rate "
                      "are larger than it allows for, so P shrinks below the real error.")
        tips.append("Set the filter's assumed process noise back to 1× (filters are often given a little more).")
    if filter_model == "straight" and turn_rate != 0:
        causes.append(f"Its straight-line model cannot turn: every predict sends the car straight along its "
                      f"heading while the real one turns at ω = {turn_rate:g} rad/s, so the prediction falls "
                      "outside the curve by more than P allows, step after step.")
        tips.append("Switch the filter to the turning model: its state has ω and its Jacobian the column ∂f/∂ω.")
    elif filter_model == "straight" and process_noise > 0:
        causes.append("Its straight-line model has no turn rate, but the true vehicle's turn rate drifts with "
                      "the process noise and bends its path.")
        tips.append("Switch the filter to the turning model, or set the process noise to 0.")
    if abs(heading_error) >= HEADING_SIGMA:
        causes.append(f"It starts {math.degrees(heading_error):+.0f}° off in heading while P₀ claims "
                      f"σ_θ = {math.degrees(HEADING_SIGMA):.1f}°: until the measurements turn it around, its "
                      "errors are far outside its ellipses (watch NEES spike at the start).")
        tips.append("Set the initial heading error to 0 — or keep it and watch NEES fall as the filter recovers.")
    return causes, tips


def _underconfidence_causes(process_scale, measurement_scale) -> tuple[list[str], list[str]]:
    causes, tips = [], []
    if measurement_scale > 1:
        causes.append(f"It assumes the sensor is {measurement_scale:.3g}× noisier than it is "
                      f"(R̃ = {measurement_scale ** 2:.3g} R), so it discounts good measurements.")
        tips.append("Set the filter's assumed sensor noise back to 1× the true one.")
    if process_scale > 1:
        causes.append(f"It assumes the motion is {process_scale:.3g}× more erratic than it is "
                      f"(Q̃ = {process_scale ** 2:.3g} Q), so P grows between measurements faster than the "
                      "real error does.")
        tips.append("Set the filter's assumed process noise back to 1×.")
    return causes, tips
