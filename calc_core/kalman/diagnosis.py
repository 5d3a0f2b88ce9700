r"""What the Sensor Fusion page says about a run: the verdict of the two consistency tests, worded,
with the causes its settings point to and what to try.

Two tests (calc_core.kalman.consistency): the mean NEES against its 95% band (needs the truth, so
only a simulation has it) and the mean NIS against its own (needs only the innovations ν, so a real
car can run it). A consistent filter passes both. The filter's verdict:

    diverged          the run stopped (non-finite numbers, a covariance that blew up, a singular S)
    overconfident     the errors are larger than its covariance admits: NEES above its band,
                      or NEES inside and NIS above
    underconfident    the errors are smaller than it claims: NEES below its band, or NEES inside
                      and NIS below
    consistent        both inside

NEES decides when it is outside its band, since it tests the whole state against the truth; its
band is wide when the errors persist for many steps (a filter that barely listens to its sensor), so
NIS, whose innovations are white, often sees a mis-tuning first. ``innovations_disagree`` says so
whenever the two tests give different verdicts. A filter started off in heading (NEES above the
one-step band early on, ``_spiked``) is compared with the same drive filtered from the right heading
(``HeadingStart``, computed by calc_core.kalman.lab): ``recovered`` when its position estimate joins
that filter's and stays with it to the end of the run, ``not_recovered`` when it has not by then —
with what the same drive, continued, needs. ``recovered`` also marks, without a heading error, a
filter whose NEES over the first updates was above the one-step band and over the second half is
back inside it on average.

Each message's sentences carry their numbers; the causes named are those present in the settings
(an initial heading error only when NEES does spike at the start). Mis-tunings that push the other
way are named as such, not said to be absent. When none is, the likeliest explanation is chance: a correctly tuned filter fails one of the two
95% tests in about one run in CHANCE_RATE (measured over 300 seeds in the tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import stdtrit

from calc_core.common.messages import Message

HEADING_SIGMA = 0.1  # σ_θ of P₀, rad (calc_core.kalman.lab.INITIAL_MOTION_SIGMA)
CHANCE_RATE = 10  # a tuned filter fails NEES or NIS in about one run in this many
TRANSIENT_STEPS = 10  # "early on": the first updates
RECOVERY_MARGIN = 1.5  # a second-half mean NEES within n/1.5 … 1.5 n is "about where P says"
WORN_OFF = 0.25  # a bad start has worn off once the estimate stays within this × the right-started filter's error


def overall_verdict(nees_verdict: str | None, nis_verdict: str, diverged: bool = False) -> str:
    """The filter's verdict from its two tests (see the module docstring); "diverged" for a run that
    stopped early, whatever the tests said about the steps before."""
    if diverged or "diverged" in (nees_verdict, nis_verdict):
        return "diverged"
    if nees_verdict not in (None, "consistent"):
        return nees_verdict
    return nis_verdict


def diagnose(result) -> tuple[Message, ...]:
    """Messages for a calc_core.kalman.lab.Result: one verdict, and what the two tests add."""
    s = result.settings
    if result.diverged:
        causes, tips = overconfidence_causes(s)
        return (Message(
            "diverged", "problem", f"The filter diverged at step {result.diverged_step}",
            f"It was stopped there because {result.divergence_reason}; the charts show the steps before it.",
            " ".join(causes) or "An EKF can diverge when its linearization is poor and it trusts it too much.",
            tuple(tips) + ("Press *Reset all controls* to get back to a working filter.",),
            {"step": result.diverged_step}),)
    messages = [_verdict(result)]
    if result.nees_verdict != result.nis_verdict:
        messages.append(_disagreement(result, mis_tuned=any(causes(s)[0] for causes in (overconfidence_causes,
                                                                                    underconfidence_causes))))
    recovery = _recovery(result)
    if recovery is not None:
        messages.append(recovery)
    worse = _worse_than_sensor(result)
    if worse is not None:
        messages.append(worse)
    return tuple(messages)


def _band(values: tuple[float, float]) -> str:
    return f"[{values[0]:.3g}, {values[1]:.3g}]"


def _verdict(r) -> Message:
    nees = f"the mean NEES, {r.mean_nees:.3g}, is {_where(r.mean_nees, r.nees_mean_band)} its 95% band {_band(r.nees_mean_band)}"
    nis = f"the mean NIS, {r.mean_nis:.3g}, is {_where(r.mean_nis, r.nis_mean_band)} its own {_band(r.nis_mean_band)}"
    numbers = {"mean_nees": r.mean_nees, "mean_nis": r.mean_nis}
    if r.verdict == "consistent":
        return Message("consistent", "success", "Consistent.",
                       "The errors are as large as the covariance says: the filter believes itself about the right "
                       f"amount — {nees}, and {nis}.", numbers=numbers)
    over = r.verdict == "overconfident"
    s = r.settings
    if r.nees_verdict == r.verdict:
        factor = math.sqrt(r.mean_nees / r.n_state)
        # an inflated R̃ under-uses the measurements; an inflated Q̃ follows them more than the motion deserves
        gain = ("" if over else
                " and good measurements are under-used" if s.assumed_measurement_scale > 1 >= s.assumed_process_scale
                else " and the gain follows each measurement more than the motion model deserves"
                if s.assumed_process_scale > 1 >= s.assumed_measurement_scale else "")
        what = (f"{nees[0].upper()}{nees[1:]}: the errors are about {factor:.2g}× "
                + ("as large as the covariance P admits, so the ellipses are too small" if over else
                   f"what the covariance P claims, so the ellipses are too large{gain}")
                + f"; {nis}.")
    else:
        what = (f"{nis[0].upper()}{nis[1:]}: the innovations are "
                + ("larger" if over else "smaller") + " than S = HP⁻Hᵀ + R̃ predicts, so the filter "
                + ("is surer of its prediction, or of the sensor, than it should be" if over else
                   "expects more noise than there is")
                + f" — though {nees}.")
    spiked = _spiked(r)
    causes, tips = overconfidence_causes(s, spiked, _start(r)) if over else underconfidence_causes(s)
    if not causes:
        causes, tips = _no_cause_shown(r, over, spiked)
    return Message(r.verdict, "problem", f"The filter is {r.verdict}", what, " ".join(causes), tuple(tips),
                   numbers=numbers)


def _spiked(r) -> bool:
    """Whether NEES rose above the 95% band of a single step in the first TRANSIENT_STEPS updates: what
    an unmodelled start (the heading error) does when P₀ does not admit it."""
    early = r.nees[:min(TRANSIENT_STEPS, r.completed)]
    return bool(early.size) and float(np.max(early)) > r.nees_step_band[1]


CHANCE = ("a correctly tuned filter fails one of the two 95% tests now and then by chance (about one run in "
          f"{CHANCE_RATE} at the default settings), and the EKF's linearization adds error that P does not count — "
          "more with long steps Δt, large process noise, fast turns or long runs, where a tuned filter fails more "
          "often.")
SEED_TIP = "Try another seed: a chance miss goes away, a real problem stays."


def _no_cause_shown(r, over: bool, spiked: bool) -> tuple[list[str], list[str]]:
    """The why and the tips of a verdict none of its usual causes explains. Mis-tunings may still be set:
    those that push the other way (an inflated R̃ on an overconfident filter), or a heading error whose
    spike P absorbed — each is named, with what it does, rather than said to be absent."""
    s = r.settings
    opposite, opposite_tips = underconfidence_causes(s) if over else overconfidence_causes(s, spiked, _start(r))
    heading = over and abs(math.radians(s.heading_error)) >= HEADING_SIGMA and not spiked
    if not opposite and not heading:
        return [f"None of the usual mis-tunings is set: {CHANCE}"], [SEED_TIP]
    parts = [f"None of the usual causes of {'over' if over else 'under'}confidence is at work here."]
    if opposite:
        other = "underconfident" if over else "overconfident"
        shown = f", as NIS shows here ({'below' if over else 'above'} its band)" if r.nis_verdict == other else ""
        parts.append(f"The mis-tuning{'s' if len(opposite) > 1 else ''} set here make{'' if len(opposite) > 1 else 's'} "
                     f"a filter {other} instead{shown}: " + " ".join(opposite))
    if heading:
        first = min(TRANSIENT_STEPS, r.completed)
        parts.append(f"It starts {s.heading_error:+.0f}° off in heading while P₀ claims σ_θ = "
                     f"{math.degrees(HEADING_SIGMA):.1f}°, yet NEES stays inside the 95% band of a single step "
                     f"{_band(r.nees_step_band)} over the first {first} updates (at most "
                     f"{float(np.max(r.nees[:first])):.3g}): P covered that start.")
    parts.append(f"What is left: {CHANCE}")
    return parts, [SEED_TIP, *opposite_tips]


def _where(value: float, band: tuple[float, float]) -> str:
    return "above" if value > band[1] else "below" if value < band[0] else "inside"


def _disagreement(r, mis_tuned: bool) -> Message:
    nees_in, nis_in = r.nees_verdict == "consistent", r.nis_verdict == "consistent"
    if nees_in:
        text = (f"NEES stays inside its band {_band(r.nees_mean_band)} while NIS is {r.nis_verdict}: successive state "
                "errors are correlated (an error persists for several steps, most when the gain is small), so the "
                "mean NEES band is wide; the innovations of a consistent filter are white, so NIS's band is narrow "
                + ("and catches the mis-tuning first." if mis_tuned else
                   "— and with nothing mis-tuned here, a miss of one band is most likely chance.")
                + " A real car, which has no truth, relies on NIS anyway.")
    elif nis_in:
        state = "speed, heading" + (", turn rate" if r.n_state == 5 else "")
        text = (f"NIS stays inside its band {_band(r.nis_mean_band)}: a real car, which cannot compute NEES without the "
                "truth, would not notice — the innovations look as expected while "
                + (f"the state ({state}) is off by more than P admits." if r.nees_verdict == "overconfident" else
                   f"the errors of the state ({state}) are smaller than P claims: the filter is more cautious than "
                   "it needs to be."))
    else:
        text = (f"NEES says {r.nees_verdict} and NIS says {r.nis_verdict}: the errors of the whole state and those of "
                "the measured position point in opposite directions.")
    return Message("innovations_disagree", "info", "The two tests disagree.", text,
                   numbers={"nees_inside": float(nees_in), "nis_inside": float(nis_in)})


def _start(r) -> "HeadingStart | None":
    return getattr(r, "heading_start", None)


def _recovery(r) -> Message | None:
    """A bad start the filter got over, or has not yet: with a heading error, measured against the
    same drive filtered from the right heading (``_heading_recovery``); without one, NEES far out
    early on and back in the one-step band over the second half."""
    if _start(r) is not None:
        return _heading_recovery(r)
    done = r.completed
    if done < 4 * TRANSIENT_STEPS:
        return None
    early = float(np.mean(r.nees[:TRANSIENT_STEPS]))
    late = float(np.mean(r.nees[done // 2: done]))
    if not (early > r.nees_step_band[1] and late < r.nees_step_band[1]):
        return None
    return Message(
        "recovered", "info", "A bad start, then recovery.",
        f"Over the first {TRANSIENT_STEPS} updates the mean NEES was {early:.3g}, above the 95% band of a single "
        f"step {_band(r.nees_step_band)}; over the second half of the run it is {late:.3g}: {_where_p(late, r.n_state)}",
        numbers={"early": early, "late": late})


def _where_p(late: float, n: int) -> str:
    """Where a later stretch's errors stand against P: its mean NEES against the n of a consistent filter."""
    if n / RECOVERY_MARGIN <= late <= n * RECOVERY_MARGIN:
        return "the measurements have pulled the estimate back to about where its covariance says it is."
    if late > n:
        return (f"the measurements have pulled the estimate back, though its errors are still about "
                f"{math.sqrt(late / n):.2g}× what P admits (a consistent filter's mean NEES is {n}).")
    return (f"the measurements have pulled the estimate back, and now P claims more than there is: the errors are "
            f"about {math.sqrt(late / n):.2g}× the size it admits (a consistent filter's mean NEES is {n}).")


@dataclass(frozen=True)
class HeadingStart:
    """A filter started off in heading against the same drive filtered from the right heading (every
    other setting the same): per update, the distance between the two position estimates (``gap``)
    and the right-started filter's position error. The start has worn off from ``recovered_step``
    (1-based) when the gap stays within ``tolerance`` from there to the end, for at least
    TRANSIENT_STEPS updates (``worn_off``). When it has not, the same drive is continued (up to
    ``longer_checked`` updates; the drive and the filter's first steps are the same) and
    ``longer_steps`` is the fewest steps, a multiple of 10, with which it has worn off, at
    ``longer_step`` (None: not within ``longer_checked``)."""

    gap: np.ndarray
    reference_error: np.ndarray
    tolerance: float
    recovered_step: int | None
    final_speed: float  # v̂ at the end, and the vehicle's v
    true_speed: float
    heading_off: float  # |θ̂ − θ| at the end, degrees in [0, 180]
    nees_settles: bool = False  # the mean NEES from recovered_step on is below the one-step band's top
    longer_checked: int = 0
    longer_steps: int | None = None
    longer_step: int | None = None

    @property
    def flipped(self) -> bool:
        """Settled on (−v, θ + π): the same motion, driven backwards while facing the other way."""
        return self.recovered_step is not None and self.final_speed * self.true_speed < 0 and self.heading_off > 90


def worn_off(gap: np.ndarray, reference_error: np.ndarray) -> tuple[int | None, float]:
    """The update (1-based) from which ``gap`` stays within WORN_OFF × the mean of ``reference_error``
    to the end, if that is at least TRANSIENT_STEPS updates; and that tolerance."""
    tolerance = WORN_OFF * float(np.mean(reference_error)) if reference_error.size else math.nan
    above = np.flatnonzero(~(gap <= tolerance))
    step = 1 if above.size == 0 else int(above[-1]) + 2
    return (step if gap.size - step + 1 >= TRANSIENT_STEPS else None), tolerance


def _heading_recovery(r) -> Message:
    """How a heading error wore off, or why it has not: the run's own numbers, against the same drive
    filtered from the right heading."""
    h, s, done, T = _start(r), r.settings, r.completed, min(TRANSIENT_STEPS, r.completed)
    early = float(np.mean(r.nees[:T]))
    ref_mean = float(np.mean(h.reference_error))
    right = "the one the same drive gives a filter started at the right heading"
    quarter = f"a quarter of that filter's mean position error, {ref_mean:.2g} m"
    against = f"{right}, within {h.tolerance:.2g} m — {quarter}"
    start = (f"It started {s.heading_error:+.0f}° off in heading: over the first {T} updates the mean NEES was "
             f"{early:.3g}, above the 95% band of a single step {_band(r.nees_step_band)}.")
    numbers = {"early": early, "tolerance": h.tolerance}
    k = h.recovered_step
    if k is not None:
        err = r.position_error[:done]
        late = float(np.mean(r.nees[k - 1:done]))
        parts = [start, f"From step {k} (t = {k * s.dt:.3g} s) on, its position estimate stays with {against}: the bad "
                        "start has worn off."]
        if k > 1:
            parts.append(f"Its mean position error was {float(np.mean(err[:k - 1])):.3g} m over steps 1–{k - 1} (that "
                         f"filter's: {float(np.mean(h.reference_error[:k - 1])):.3g} m) and is "
                         f"{float(np.mean(err[k - 1:])):.3g} m since (that filter's: "
                         f"{float(np.mean(h.reference_error[k - 1:])):.3g} m, the sensor's: "
                         f"{float(np.mean(r.measurement_error[k - 1:done])):.3g} m).")
        parts.append(f"Since step {k} its mean NEES is {late:.3g}: {_where_p(late, r.n_state)}")
        if h.flipped:
            parts.append(f"It settled on the other solution of the same motion: v̂ = {h.final_speed:.3g} m/s with θ̂ "
                         f"{h.heading_off:.0f}° from the vehicle's heading (the vehicle's v: {h.true_speed:.3g} m/s). "
                         "Driving backwards while facing the other way passes through the same positions, so the "
                         "position measurements cannot tell the two apart, and NEES counts them as one motion.")
        return Message("recovered", "info", "A bad start, then recovery.", " ".join(parts),
                       numbers={**numbers, "recovered_step": k, "late": late, "flipped": float(h.flipped)})
    gap, end = h.gap, float(h.gap[-1])
    widest = int(np.argmax(gap))
    if end > h.tolerance:
        still = (f"After all {done} steps its position estimate is still {end:.2g} m from {right}: more than "
                 f"{h.tolerance:.2g} m, {quarter}")
    else:
        last = int(np.flatnonzero(gap > h.tolerance)[-1]) + 2
        still = (f"Its position estimate came back to {against} — only from step {last}, {done - last + 1} updates "
                 f"before the end of the run, too few to call the start worn off (it takes {TRANSIENT_STEPS})")
    last_nees = float(np.mean(r.nees[done - T:done]))
    fallen = (f" NEES has fallen back — over the last {T} updates it averaged {last_nees:.3g}, inside the one-step "
              "band — yet the estimate has not caught up." if last_nees < r.nees_step_band[1] else "")
    what = (f"{start}{fallen} {still}; the two were {float(gap[widest]):.2g} m apart at most, at step {widest + 1}. "
            f"Its mean position error is {r.mean_position_error:.3g} m against that filter's {ref_mean:.3g} m (the "
            f"sensor's: {r.mean_measurement_error:.3g} m).")
    why = []
    exact = s.process_noise == 0 or s.assumed_process_scale == 0
    if exact:
        why.append(("With process noise q = 0" if s.process_noise == 0 else "Assuming no process noise")
                   + " its Q̃ is 0: it takes the motion as exact and never discounts old information, so its wrong "
                   "start counts in every later estimate, outweighed only as the measurements pile up.")
    else:
        why.append(f"The sensor measures only the position, so the filter sees its heading only through how the "
                   f"measurements move: {s.speed * s.dt:.2g} m per step at the vehicle's starting speed, against a "
                   f"sensor σ of {s.measurement_noise:g} m — so the heading shows only over several updates, and this "
                   "run ended before the estimate caught up.")
    tips = []
    if h.longer_steps is not None:
        why.append(f"The same drive, continued, gets over it: with {h.longer_steps} steps the estimate stays with the "
                   f"right-started filter's from step {h.longer_step} on.")
        tips.append(f"Set the steps to {h.longer_steps}: on this drive the bad start has worn off by step "
                    f"{h.longer_step}.")
    elif h.longer_checked > done:
        why.append(f"Even the same drive continued to {h.longer_checked} steps does not get over it for good.")
    tips.append("Set the initial heading error to 0.")
    return Message("not_recovered", "problem", "The bad start has not worn off", what, " ".join(why), tuple(tips),
                   numbers={**numbers, "gap": end, "widest_gap": float(gap[widest])})


def overconfidence_causes(s, spiked: bool = True, start: HeadingStart | None = None) -> tuple[list[str], list[str]]:
    """What in the settings makes a filter trust itself too much, and what to change. ``spiked``: whether
    the run's NEES rose above the one-step band early on (``_spiked``); a heading error whose start P
    covered (no spike) is not named as a cause, since "watch NEES spike at the start" would be false.
    ``start``: how the heading error wore off, if it is known; the measurements are said to turn the
    estimate around only when they did, and NEES to fall only when it fell back into the one-step band."""
    causes, tips = [], []
    if s.assumed_measurement_scale < 1:
        causes.append(f"It assumes the sensor is {1 / s.assumed_measurement_scale:.3g}× more precise than it is "
                      f"(R̃ = {s.assumed_measurement_scale ** 2:.3g} R), so it believes every measurement too much.")
        tips.append("Set the filter's assumed sensor noise back to 1× the true one.")
    if s.assumed_process_scale < 1 and s.process_noise > 0:
        steadier = (f"{1 / s.assumed_process_scale:.3g}× steadier than it is" if s.assumed_process_scale > 0 else
                    "perfectly steady")
        causes.append(f"It assumes the motion is {steadier} "
                      f"(Q̃ = {s.assumed_process_scale ** 2:.3g} Q): the random changes of speed, heading and turn "
                      "rate are larger than it allows for, so P shrinks below the real error.")
        tips.append("Set the filter's assumed process noise back to 1× (filters are often given a little more).")
    if s.filter_model == "straight" and s.turn_rate != 0:
        causes.append(f"Its straight-line model cannot turn: every predict sends the car straight along its "
                      f"heading while the real one turns at ω = {s.turn_rate:g} rad/s, so the prediction falls "
                      "outside the curve by more than P allows, step after step.")
        tips.append("Switch the filter to the turning model: its state has ω, and its Jacobian the ω column that "
                    "lets the measurements correct it.")
    elif s.filter_model == "straight" and s.process_noise > 0:
        causes.append("Its straight-line model has no turn rate, but the true vehicle's turn rate drifts with "
                      "the process noise and bends its path.")
        tips.append("Switch the filter to the turning model, or set the process noise to 0.")
    if abs(math.radians(s.heading_error)) >= HEADING_SIGMA and spiked:
        claim = f"It starts {s.heading_error:+.0f}° off in heading while P₀ claims σ_θ = {math.degrees(HEADING_SIGMA):.1f}°"
        k = None if start is None else start.recovered_step
        if k is not None:
            causes.append(f"{claim}: until the measurements turn it around (by step {k}), its errors are far outside "
                          "its ellipses (watch NEES spike at the start).")
        else:
            causes.append(f"{claim}: its errors are far outside its ellipses (watch NEES spike at the start)"
                          + (", and by the end of the run its estimate has not joined that of a filter started at "
                             "the right heading." if start is not None else "."))
        falls = k is not None and start.nees_settles
        tips.append("Set the initial heading error to 0 — or keep it and watch NEES fall as the filter recovers."
                    if falls else "Set the initial heading error to 0.")
    return causes, tips


def underconfidence_causes(s) -> tuple[list[str], list[str]]:
    """What in the settings makes a filter claim more uncertainty than it has."""
    causes, tips = [], []
    if s.assumed_measurement_scale > 1:
        causes.append(f"It assumes the sensor is {s.assumed_measurement_scale:.3g}× noisier than it is "
                      f"(R̃ = {s.assumed_measurement_scale ** 2:.3g} R), so it discounts good measurements.")
        tips.append("Set the filter's assumed sensor noise back to 1× the true one.")
    if s.assumed_process_scale > 1 and s.process_noise > 0:
        causes.append(f"It assumes the motion is {s.assumed_process_scale:.3g}× more erratic than it is "
                      f"(Q̃ = {s.assumed_process_scale ** 2:.3g} Q), so P grows between measurements faster than the "
                      "real error does.")
        tips.append("Set the filter's assumed process noise back to 1×.")
    return causes, tips


# ----------------------------------------------------------------------------- against the raw sensor

CONFIDENCE = 0.95  # a mean difference beyond its two-sided 95% t interval is more than chance
CLEARLY_LOWER = 0.9  # a change "clearly" lowers the error: significantly, and by at least 10%

#: each mis-tuning the filter may be given, and the settings that undo it
SETTINGS_RIGHT = {
    "model": {"filter_model": "turning"},
    "sensor": {"assumed_measurement_scale": 1.0},
    "process": {"assumed_process_scale": 1.0},
    "heading": {"heading_error": 0.0},
}


def is_set(cause: str, s) -> bool:
    """Whether the mis-tuning ``cause`` is present in the settings ``s``. Only those that can make a
    filter less accurate than its sensor count: an R̃ too small or a Q̃ too large make it follow each
    measurement more, which brings its error toward the sensor's, not above it."""
    return {"model": s.filter_model == "straight",
            "sensor": s.assumed_measurement_scale > 1,
            "process": s.assumed_process_scale < 1 and s.process_noise > 0,
            "heading": s.heading_error != 0}[cause]


@dataclass(frozen=True)
class PairedTest:
    """Two series of per-step errors a and b on the same steps, compared: their means, the mean
    difference d̄ of a − b and its standard error. The filter's errors persist from step to step, so
    the standard error is that of the means of consecutive blocks of ⌈√N⌉ steps (batch means), not
    σ_d/√N, which would count correlated steps as independent."""

    mean_a: float
    mean_b: float
    difference: float  # d̄ = mean(a − b)
    standard_error: float  # of d̄; inf when there are fewer than two blocks
    block: int  # steps per block
    margin: float  # the t quantile (blocks − 1 degrees of freedom) × the standard error

    @property
    def worse(self) -> bool:
        """a is larger than b by more than chance explains."""
        return self.difference > self.margin

    @property
    def better(self) -> bool:
        return self.difference < -self.margin


def paired_test(a: np.ndarray, b: np.ndarray) -> PairedTest:
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = d.size
    block = max(1, math.ceil(math.sqrt(n)))
    blocks = n // block
    se = (float(np.std(d[:blocks * block].reshape(blocks, block).mean(axis=1), ddof=1)) / math.sqrt(blocks)
          if blocks >= 2 else math.inf)
    margin = float(stdtrit(blocks - 1, 0.5 + CONFIDENCE / 2)) * se if blocks >= 2 else math.inf
    return PairedTest(float(np.mean(a)), float(np.mean(b)), float(np.mean(d)), se, block, margin)


@dataclass(frozen=True)
class AgainstSensor:
    """The filter's position errors against the raw sensor's (a = filter, b = sensor) and, when the
    filter is worse, the same drive filtered again with each mis-tuning undone (a = that rerun,
    b = this run) and with all of them undone (``tuned_error``)."""

    test: PairedTest
    fixes: dict = field(default_factory=dict)  # cause → PairedTest
    tuned_error: float = math.nan


def _lowers(fix: PairedTest) -> bool:
    return fix.better and fix.mean_a <= CLEARLY_LOWER * fix.mean_b


CAUSE_WORDS = {
    "model": lambda s: (
        "Its straight-line model cannot turn: every predict runs straight along the heading"
        + (f" while the vehicle turns (ω = {s.turn_rate:g} rad/s at the start" if s.turn_rate else
           " while the vehicle's turn rate drifts with the process noise")
        + (", drifting with the process noise)" if s.turn_rate and s.process_noise else ")" if s.turn_rate else "")
        + ", and the update only pulls part of the way back, so the estimate runs outside the curve."),
    "sensor": lambda s: (
        f"It assumes the sensor is {s.assumed_measurement_scale:.3g}× noisier than it is, so its gain is small: it "
        "discounts good measurements and its estimate trails the vehicle, following the motion model more than "
        "the model deserves."),
    "process": lambda s: (
        f"It assumes the motion is {'perfectly steady' if s.assumed_process_scale == 0 else f'{1 / s.assumed_process_scale:.3g}× steadier than it is'}"
        ": P shrinks, the gain with it, and the filter all but ignores the measurements while the vehicle's speed, "
        "heading and turn rate change at random."),
    "heading": lambda s: (
        f"It starts {s.heading_error:+.0f}° off in heading: its first predictions head the wrong way until the "
        "measurements turn the estimate around, and those early errors weigh on the mean."),
}
CAUSE_CHANGE = {
    "model": "the turning model",
    "sensor": "the assumed sensor noise at 1×",
    "process": "the assumed process noise at 1×",
    "heading": "no initial heading error",
}
CAUSE_TIP = {
    "model": "Switch the filter to the turning model.",
    "sensor": "Set the filter's assumed sensor noise back to 1× the true one.",
    "process": "Set the filter's assumed process noise back to 1×.",
    "heading": "Set the initial heading error to 0.",
}


def _worse_than_sensor(r) -> Message | None:
    """The filter's mean position error above the raw sensor's by more than chance, and which of its
    mis-tunings make it so: each is undone on the same drive, and those that bring the error clearly
    down are named, with the error they give."""
    a = r.against_sensor
    if a is None or not a.test.worse:
        return None
    t, s = a.test, r.settings
    what = (f"Its mean position error, {t.mean_a:.3g} m, is {t.mean_a / t.mean_b:.2g}× the raw measurements' "
            f"{t.mean_b:.3g} m: filtering made the position worse. That is more than chance — the per-step "
            f"difference averages {t.difference:+.3g} m, beyond its 95% margin of ±{t.margin:.2g} m (from the means "
            f"of blocks of {t.block} steps, since the filter's errors persist from step to step).")
    helping = [c for c, fix in a.fixes.items() if _lowers(fix)]
    enough = [c for c in helping if a.fixes[c].mean_a < t.mean_b]
    causes, tips = [], []
    for c in helping:
        fix = a.fixes[c]
        verdict = "below the sensor's" if fix.mean_a < t.mean_b else "lower, though not yet below the sensor's"
        causes.append(f"{CAUSE_WORDS[c](s)} With {CAUSE_CHANGE[c]}, the same drive's mean error is "
                      f"{fix.mean_a:.3g} m, {verdict}.")
        tips.append(CAUSE_TIP[c])
    tuned = "the turning model, both assumed noises at 1× and no heading error"
    tuned_below = math.isfinite(a.tuned_error) and a.tuned_error < t.mean_b
    if not enough and tuned_below:
        causes.append(("No one of these changes alone brings it below the sensor's; with" if helping else
                       "No one setting alone is to blame; with")
                      + f" {tuned}, the same drive's mean error is {a.tuned_error:.3g} m, below the sensor's.")
        tips.append("Set them all right together: the turning model, both assumed noises at 1× and the "
                    "initial heading error at 0.")
    elif not tuned_below:
        causes.append(f"Even with {tuned}, the same drive's mean error is {a.tuned_error:.3g} m, not below the "
                      f"sensor's: with a sensor this precise (σ = {s.measurement_noise:g} m) and motion this "
                      f"erratic (q = {s.process_noise:g}), the motion model predicts little that the measurements "
                      "do not already say, so a filter can at best about match the sensor here.")
    return Message("worse_than_sensor", "problem", "The filter is less accurate than the raw sensor", what,
                   " ".join(causes), tuple(tips),
                   numbers={"filter_error": t.mean_a, "sensor_error": t.mean_b, "difference": t.difference,
                            "standard_error": t.standard_error})
