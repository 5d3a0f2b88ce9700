r"""The GAN page's verdicts as data: the rule, the sentences and the numbers behind each.

The games in the plane (the chosen method's linearized step at the equilibrium, ρ = max |λ|):

* ``spirals_out`` — ρ > 1: near the equilibrium the distance grows like ρᵗ ("Moves away" where the
  largest λ is real: no spiral);
* ``orbits`` — ρ = 1 (to 1e-9): the iterates neither approach nor leave, a conserved quantity;
* ``converges`` — ρ < 1: near the equilibrium the distance shrinks like ρᵗ;
* ``not_near_equilibrium`` — a warning: this run is not what ρ says of starts near the equilibrium.
  ρ < 1 but the run did not get closer: on the Dirac-GAN, where the linearized step from the same start
  (the method on v = J z) would have got closer, its nonlinear terms held it; otherwise the run is too
  short to show it. ρ > 1 but the Dirac-GAN's run stayed bounded and ended no farther out, where the
  linearized step would have moved away. ρ = 1 and the Dirac-GAN's distance ended more than FAR_FACTOR
  outside the range the linearized step keeps from this start. (A ρ > 1 run that has not grown and
  whose linearized step has not either — on x·y, linear, the run itself — is ``spirals_out`` "in the
  long run".)
* ``diverged`` — the iterates blew up (beyond 1e100) at a step, and the run stopped there;
* ``at_equilibrium`` — the start is the equilibrium (0, 0) itself: the field is zero there, nothing moves,
  and ρ speaks only of starts near it (instead of the verdicts above).

The 1-D GAN (over the last 10% of steps unless said otherwise):

* ``learned`` — ||a| − s| ≤ 0.1 s and |b − μ| ≤ 0.1 s;
* ``stalled_generator`` — saturating loss, mean D(G(z)) ≤ 0.05 (the discriminator confidently rejects
  the fakes), not learned: the generator's gradient through the logit is D(G(z)), tiny;
* ``collapsed`` — mean |a| ≤ 0.2 s: the generator puts its samples at nearly one point;
* ``oscillates`` — not learned, and over the second half the smoothed b or |a| still swings by more
  than 0.5 s;
* ``still_learning`` — none of these: not matched yet;
* ``diverged`` — a parameter blew up (beyond 1e6 or not finite) at a step, and training stopped.

On every game, ``gradient_check_failed`` if a hand-derived gradient disagrees with its check.
"""

from __future__ import annotations

import math

import numpy as np

from calc_core.common.messages import Message
from calc_core.gan.linear import spectral_radius
from calc_core.gan.play import BLOW_UP, GameRun, play
from calc_core.gan.training import BLOW_UP as GAN_BLOW_UP, LEARNED_TOLERANCE

ORBIT_TOLERANCE = 1e-9  # |ρ − 1| below this counts as ρ = 1
STALL_D = 0.05  # mean D(G(z)) at or below this: the discriminator confidently rejects the fakes
COLLAPSE_SPREAD = 0.2  # mean |a| at or below this many data standard deviations: collapsed
SWING_LIMIT = 0.5  # a smoothed swing beyond this many data standard deviations: oscillates
FAR_FACTOR = 1.5  # at ρ = 1: a distance this many times beyond the linearized step's range is told

METHOD_NAMES = {"simultaneous": "Simultaneous gradient descent–ascent", "alternating": "Alternating gradient "
                "descent–ascent", "extragradient": "Extragradient", "optimistic": "Optimistic gradient descent–ascent"}
GAME_NAMES = {"bilinear": "the bilinear game x·y", "dirac": "the Dirac-GAN"}


def counted(n: int, noun: str = "step") -> str:
    """"1 step", "0 steps", "2,000 steps": a count with its noun, singular for exactly one."""
    n = int(n)
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def averaged_words(steps_averaged: int, completed_steps: int) -> str:
    """Where the 1-D GAN's verdict numbers come from, as a sentence's opening: "Averaged over the last 80
    steps", or "At the last step" when the window is one state, or "At the start, before any step" when
    no step completed."""
    if completed_steps == 0:
        return "At the start, before any step"
    if steps_averaged == 1:
        return "At the last step"
    return f"Averaged over the last {counted(steps_averaged)}"


def diagnose(result) -> tuple[Message, ...]:
    """The verdicts of a calc_core.gan.lab.Result, most important first."""
    messages = _game_messages(result) if result.game is not None else _gan_messages(result)
    failed = [check for check in result.gradient_checks if check.failed]
    if failed:
        messages.append(Message(
            "gradient_check_failed", "problem", "A hand-derived gradient disagrees with its check",
            what=failed[0].reason,
            why="The derivative-free estimate from values of the loss alone differs by more than its error bar.",
            try_instead=("Report this: the formulas on the page and the code that ran should agree.",),
            numbers={"relative_error": failed[0].relative_error}))
    return tuple(messages)


# ----------------------------------------------------------------------------- the plane games

def _game_messages(result) -> list[Message]:
    s, view = result.settings, result.game
    run = view.runs[s.method]
    rho = view.spectral_radius
    name, game = METHOD_NAMES[s.method], GAME_NAMES[s.game]
    distance = run.distance
    d0, d_end = float(distance[0]), float(distance[-1])
    numbers = {"spectral_radius": rho, "lr": s.lr, "gamma": s.gamma, "distance_start": d0, "distance_end": d_end,
               "distance_max": float(np.max(distance)), "steps": float(run.trajectory.shape[0] - 1)}
    if d0 == 0:  # the start is the equilibrium: the field is zero there, so no run moves
        return [_at_equilibrium(s, view, numbers)]
    messages = []
    if run.diverged:
        if rho > 1 + ORBIT_TOLERANCE:
            why = (f"The linearized step's spectral radius is ρ = {rho_text(rho)}: near the equilibrium each step "
                   "multiplies the distance by about ρ, and a distance that keeps growing by a factor overflows.")
        else:
            why = (f"Near the equilibrium the linearized step {'shrinks' if rho < 1 - ORBIT_TOLERANCE else 'keeps'} "
                   f"the distance (ρ = {rho_text(rho)}), but that picture holds only close to (0, 0): this start is "
                   f"{d0:.3g} away, where {game}'s field is not linear, and at η = {s.lr:g} the steps carried the "
                   "iterate farther out until the distance overflowed.")
        messages.append(Message(
            "diverged", "problem", f"Blew up at step {run.diverged_step}",
            what=f"{name} on {game} left every bound at step {run.diverged_step}: the distance to the "
                 f"equilibrium passed {BLOW_UP:.0e} (or stopped being a finite number), so the run stopped there.",
            why=why,
            try_instead=_remedies(s, view) if rho > 1 + ORBIT_TOLERANCE else (
                "A smaller η: smaller steps stay closer to the path the field draws.",
                "A start closer to the equilibrium, where the linearized step describes the game."),
            numbers={**numbers, "diverged_step": float(run.diverged_step)}))
    if rho > 1 + ORBIT_TOLERANCE:
        if run.diverged or d_end > d0:
            messages.append(_spirals_out(s, view, numbers))
        else:  # ρ > 1, and yet the run ended no farther out than it started
            linear = _linearized(s, view, run)
            lin = _linear_numbers(linear)
            if float(linear.distance[-1]) > d0:  # the linearized step would have moved away: nonlinear terms held it
                messages.append(_spirals_out(s, view, numbers, near_only=True))
                messages.append(Message(
                    "not_near_equilibrium", "warning", "The promise holds only near the equilibrium",
                    what=f"ρ = {rho_text(rho)} > 1 says the iterates move away from (0, 0) when they start close "
                         f"to it, and from this start the linearized step would {_linear_went(linear)}. But "
                         f"{game}'s field is linear only near (0, 0), and this run stayed bounded: the distance "
                         f"went from {d0:.3g} to {d_end:.3g} and never exceeded {numbers['distance_max']:.3g}.",
                    numbers={**numbers, **lin}))
            else:
                messages.append(_spirals_out(s, view, {**numbers, **lin}, too_short=linear))
    elif run.diverged:
        pass  # the blow-up says what ρ ≤ 1 does and does not promise here
    elif rho >= 1 - ORBIT_TOLERANCE:
        messages.append(_orbits(s, view, numbers))
        if s.game != "bilinear":  # x·y is its own linearization: its distance stays in the linear range
            linear = _linearized(s, view, run)
            low, high = float(np.min(linear.distance)), float(np.max(linear.distance))
            if d_end > FAR_FACTOR * high or d_end * FAR_FACTOR < low:
                out = d_end > high
                kept = f"at {low:.3g}" if f"{low:.3g}" == f"{high:.3g}" else f"between {low:.3g} and {high:.3g}"
                messages.append(Message(
                    "not_near_equilibrium", "warning", f"The nonlinear terms pushed it {'out' if out else 'in'}",
                    what=f"At ρ = 1 the linearized step neither shrinks nor grows the distance geometrically: from "
                         f"this start it would keep it {kept} over {counted(numbers['steps'])}. This run's went "
                         f"from {d0:.3g} to {d_end:.3g} (×{d_end / d0:.3g}): {game}'s field is linear only near "
                         f"(0, 0), and the terms beyond the linear ones pushed the iterates "
                         f"{'out, away from' if out else 'in, towards'} the equilibrium.",
                    numbers={**numbers, "linear_low": low, "linear_high": high}))
    else:
        messages.append(_converges(s, view, numbers))
        if d0 > 0 and d_end >= d0:
            linear = _linearized(s, view, run)
            said = (f"ρ = {rho_text(rho)} < 1 says the iterates converge once they are close to (0, 0), but from "
                    f"this start the distance went from {d0:.3g} to {d_end:.3g} in {counted(numbers['steps'])}")
            nonlinear = s.game != "bilinear" and float(linear.distance[-1]) < d0
            if s.game == "bilinear":
                said += (": x·y is linear, so ρ holds from every start, but only in the long run — the run is too "
                         "short to show it.")
            elif nonlinear:
                said += (f", where the linearized step would {_linear_went(linear)}: {game}'s field is linear only "
                         "near (0, 0), and the terms beyond the linear ones kept this run from getting closer.")
            else:
                said += (f" — and even the linearized step would have ended at {float(linear.distance[-1]):.3g}: the "
                         "run is too short for the linear picture to show.")
            messages.append(Message(
                "not_near_equilibrium", "warning",
                "The promise holds only near the equilibrium" if nonlinear else
                "Not closer yet: ρ acts in the long run",
                what=said, numbers={**numbers, **_linear_numbers(linear)}))
    return messages


def _linearized(s, view, run: GameRun) -> GameRun:
    """The chosen method on the linearized field v(z) = J z, from this start for as many steps: what ρ's
    picture says of this very start. On x·y the field is J z itself, so that is the run."""
    if s.game == "bilinear":
        return run
    (a, b), (c, d) = (float(v) for v in view.jacobian[0]), (float(v) for v in view.jacobian[1])
    start = (float(run.trajectory[0, 0]), float(run.trajectory[0, 1]))
    return play(lambda x, y: (a * x + b * y, c * x + d * y), s.method, s.lr, run.trajectory.shape[0] - 1, start)


def _linear_numbers(linear: GameRun) -> dict[str, float]:
    return {"linear_distance_end": float(linear.distance[-1])}


def _linear_went(linear: GameRun) -> str:
    """What the linearized run did, after "would": "have taken the distance from 1.4 to 4.1e+41 in 2,000
    steps", or "have carried the distance past 1e+100 by step 544"."""
    if linear.diverged:
        return f"have carried the distance past {BLOW_UP:.0e} by step {linear.diverged_step}"
    return (f"have taken the distance from {float(linear.distance[0]):.3g} to {float(linear.distance[-1]):.3g} in "
            f"{counted(linear.trajectory.shape[0] - 1)}")


def rho_text(rho: float) -> str:
    """ρ to four decimals — or as 1 ± δ where four decimals would read 1.0000 for a ρ that is not 1
    (η = 0.01: ρ = 0.99995 converges, ρ = 1.00005 spirals out)."""
    if rho != 1 and f"{rho:.4f}" == "1.0000":
        return f"1 {'+' if rho > 1 else '−'} {abs(rho - 1):.1e}"
    return f"{rho:.4f}"


def _rotation_words(eigenvalues: np.ndarray) -> str:
    if np.any(np.abs(eigenvalues.imag) > 1e-12):
        return "complex, so each step also turns the iterate around the equilibrium"
    return "real, so the iterate heads along a line, without circling"


def _at_equilibrium(s, view, numbers) -> Message:
    """The start is (0, 0): every method stays there, and ρ can only say what nearby starts would do."""
    rho = view.spectral_radius
    if rho > 1 + ORBIT_TOLERANCE:
        nearby = (f"ρ = {rho_text(rho)} > 1: from almost every start near (0, 0) it would move away, the distance "
                  "growing like ρᵗ")
    elif rho >= 1 - ORBIT_TOLERANCE:
        nearby = f"ρ = {rho_text(rho)}: from almost every start near (0, 0) it would not converge"
    else:
        nearby = (f"ρ = {rho_text(rho)} < 1: from every start close enough to (0, 0) it would converge, the "
                  "distance shrinking like ρᵗ")
    return Message(
        "at_equilibrium", "info", "The start is the equilibrium: nothing moves",
        what=f"The run starts at (0, 0), the equilibrium of {GAME_NAMES[s.game]}, where the field is zero: every "
             "method stays there, at distance 0, throughout the run. "
             f"{METHOD_NAMES[s.method]} with η = {s.lr:g}{f' and γ = {s.gamma:g}' if s.gamma else ''} has "
             f"{nearby}. Move the start off (0, 0) to see it.",
        numbers=numbers)


def _spirals_out(s, view, numbers, *, near_only: bool = False, too_short: GameRun | None = None) -> Message:
    """ρ > 1. ``near_only``: the Dirac-GAN's run stayed bounded, so only what ρ says of starts near the
    equilibrium is said here (the run is the ``not_near_equilibrium`` warning's); ``too_short``: the
    linearized run from this start, which has not grown yet either."""
    rho = view.spectral_radius
    lam = view.eigenvalues[0]
    turning = abs(lam.imag) > 1e-12
    near = s.game != "bilinear"  # the Dirac-GAN's field is linear only near the equilibrium
    exact = ""
    if s.game == "bilinear" and s.method == "simultaneous" and s.gamma == 0.0:
        exact = f" On x·y this factor is exactly √(1 + η²) = {math.sqrt(1 + s.lr ** 2):.6f}."
    steps = numbers["steps"]
    promise = (f"{METHOD_NAMES[s.method]} with η = {s.lr:g} multiplies the distance to the equilibrium by "
               f"ρ = {rho_text(rho)} per step near it")
    power = f" (ρ^{steps:.0f} = {_power(rho, steps)})"
    went = f"this run went from {numbers['distance_start']:.3g} to {numbers['distance_end']:.3g}"
    if near_only:
        what = f"{promise}{power}: from almost every start close to (0, 0) the iterates move away."
    elif too_short is not None:
        linear = ("x·y is linear, so this is the step's own behaviour" if s.game == "bilinear" else
                  f"from this start even the linearized step would {_linear_went(too_short)}")
        what = (f"{promise} in the long run, from almost every start; {went}, and {linear}: "
                f"{counted(steps)} {'is' if steps == 1 else 'are'} too few for that growth to show.{exact}")
    else:
        what = f"{promise}{power}; {went}.{exact}"
    lam_words = f"{lam.real:.4f} {'−' if lam.imag < 0 else '+'} {abs(lam.imag):.4f}i" if turning else f"{lam.real:.4f}"
    why = (f"The largest eigenvalue of the step, λ = {lam_words}, lies outside the unit circle; the eigenvalues are "
           f"{_rotation_words(view.eigenvalues)}.")
    if not near_only and too_short is None:  # the run moved away: how
        field_turns = bool(np.any(np.abs(view.jacobian_eigenvalues.imag) > 1e-12))
        where = "Near the equilibrium the field rotates around it" if near else \
            "In a min–max game the field rotates around the equilibrium"
        if not turning:
            why += (f" {'Near the equilibrium, along' if near else 'Along'} λ's eigenvector each step "
                    f"multiplies the distance by |λ| = {abs(lam.real):.4f}"
                    + (", jumping to the other side of the equilibrium." if lam.real < 0 else "."))
        elif field_turns and s.method == "simultaneous":
            why += f" {where}, and a step along the field's tangent lands farther out on every turn."
        elif field_turns:
            why += f" {where}, and at η = {s.lr:g} this method's steps still land farther out on every turn."
    title = "Spirals out" if turning else "Moves away"
    title += " near the equilibrium" if near_only else " in the long run" if too_short is not None else ""
    return Message("spirals_out", "problem", f"{title}: ρ = {rho_text(rho)} > 1", what=what, why=why,
                   try_instead=_remedies(s, view), numbers=numbers)


def _power(rho: float, steps: float) -> str:
    log10 = steps * math.log10(rho)
    return f"{10 ** log10:.3g}" if log10 < 300 else f"10^{log10:.0f}"


def _orbits(s, view, numbers) -> Message:
    lam = view.eigenvalues
    if abs(lam[0] - lam[1]) < 1e-6:  # a double eigenvalue on the unit circle: a Jordan block
        return Message(
            "orbits", "warning", "On the edge: ρ = 1 with a double eigenvalue",
            what=f"{METHOD_NAMES[s.method]} with η = {s.lr:g} has the double eigenvalue λ = {lam[0].real:.4f}"
                 f"{lam[0].imag:+.4f}i on the unit circle: nothing grows geometrically, but "
                 f"{'near the equilibrium, ' if s.game != 'bilinear' else ''}from any start off its "
                 f"one eigenvector the distance grows linearly with the step; this run went from {numbers['distance_start']:.3g} to "
                 f"{numbers['distance_end']:.3g}. A slightly larger η spirals out.",
            numbers=numbers)
    extra = ""
    if view.invariant is not None and s.method == "alternating":
        q = view.invariant
        drift = float(np.max(np.abs(q - q[0])) / max(abs(q[0]), 1e-300))
        numbers = {**numbers, "invariant_start": float(q[0]), "invariant_drift": drift}
        extra = (f" Along the way x² + y² − ηxy stayed at {q[0]:.6g} (relative drift {drift:.1e}, rounding): "
                 "the iterates travel on one ellipse.")
    moduli = np.sort(np.abs(lam))
    if moduli[0] >= 1 - ORBIT_TOLERANCE:
        where = (f"has every eigenvalue on the unit circle (ρ = {view.spectral_radius:.6f}, det M = "
                 f"{float(np.linalg.det(view.update_matrix)):.6f}): near the equilibrium it neither approaches "
                 "nor leaves")
    else:
        where = (f"has its largest eigenvalue on the unit circle (|λ| = {moduli[-1]:.6f}) and the other inside it "
                 f"(|λ| = {moduli[0]:.4f}): near the equilibrium the part of the distance along the first eigenvector "
                 "neither shrinks nor grows, the rest dies out, so it never reaches the equilibrium")
    return Message(
        "orbits", "warning", "Orbits: ρ = 1, it never converges",
        what=f"{METHOD_NAMES[s.method]} with η = {s.lr:g} {where}; the distance went from "
             f"{numbers['distance_start']:.3g} to {numbers['distance_end']:.3g}.{extra}",
        numbers=numbers)


def _converges(s, view, numbers) -> Message:
    rho = view.spectral_radius
    to_one_percent = max(1.0, math.log(100) / -math.log(rho)) if rho > 0 else 1.0
    return Message(
        "converges", "success", f"Converges: ρ = {rho_text(rho)} < 1",
        what=f"{METHOD_NAMES[s.method]} with η = {s.lr:g}{f' and γ = {s.gamma:g}' if s.gamma else ''} shrinks "
             f"the distance to the equilibrium by ρ = {rho_text(rho)} per step near it, to 1% in about "
             f"{counted(round(to_one_percent))}; this run went from {numbers['distance_start']:.3g} to "
             f"{numbers['distance_end']:.3g}. The eigenvalues are {_rotation_words(view.eigenvalues)}.",
        numbers={**numbers, "steps_to_one_percent": to_one_percent})


def _smaller_lr(s, view) -> str:
    """A smaller η that brings ρ below 1 for this method and γ, or the sentence that none does."""
    J = view.jacobian
    for eta in s.lr * 0.8 ** np.arange(1, 40):
        rho = float(spectral_radius(J, s.method, eta))
        if rho < 1 - ORBIT_TOLERANCE:
            return f"A smaller η: at η = {eta:.3g} this method has ρ = {rho_text(rho)} < 1."
    if s.method == "simultaneous" and s.gamma == 0.0:
        factor = "√(1 + η²)" if s.game == "bilinear" else "√(1 + η²/4)"
        return f"A smaller η only slows the spiral: ρ = {factor} stays above 1 for every η > 0."
    return f"A smaller η alone does not help: ρ stays ≥ 1 down to η = {s.lr * 0.8 ** 39:.2g}."


def _remedies(s, view) -> tuple[str, ...]:
    radii = view.radii
    options = []
    if s.method != "alternating" and radii["alternating"] < 1 - ORBIT_TOLERANCE:
        options.append(f"Alternating updates (y sees the new x): ρ = {rho_text(radii['alternating'])} at this η.")
    elif s.method != "alternating" and radii["alternating"] <= 1 + ORBIT_TOLERANCE:
        options.append("Alternating updates (y sees the new x): ρ = 1 at this η — no longer spiralling out, "
                       "but orbiting.")
    if s.method != "extragradient" and radii["extragradient"] < 1:
        options.append(f"Extragradient (a look-ahead step first): ρ = {rho_text(radii['extragradient'])} at this η.")
    if s.method != "optimistic" and radii["optimistic"] < 1:
        options.append(f"Optimistic GDA (z_t + 2η v(z_t) − η v(z_(t−1)), v the field above): ρ = {rho_text(radii['optimistic'])} at this η.")
    if radii[s.method] > 1 - ORBIT_TOLERANCE:
        options.append(_smaller_lr(s, view))
    if s.gamma == 0.0:
        options.append("A penalty γ > 0 on the second player (R1 on the Dirac-GAN) damps the rotation.")
    return tuple(options)


# ----------------------------------------------------------------------------- the 1-D GAN

def _gan_messages(result) -> list[Message]:
    s, view = result.settings, result.gan
    run, m, sw = view.run, view.match, view.swing
    mu, std = run.data_mean, run.data_std
    numbers = {"spread": m.spread, "mean": m.mean, "data_mean": mu, "data_std": std,
               "spread_error": m.spread_error, "mean_error": m.mean_error,
               "steps": float(run.completed_steps)}
    window = averaged_words(m.steps_averaged, run.completed_steps)
    if run.diverged:
        return [Message(
            "diverged", "problem", f"Training blew up at step {run.diverged_step}",
            what=f"At step {run.diverged_step} a parameter passed {GAN_BLOW_UP:.0e} or stopped being a finite "
                 "number, so training stopped there; the charts show "
                 + ("only the start, before any step." if run.completed_steps == 0 else
                    f"the {counted(run.completed_steps)} before it."),
            why=f"With η = {s.gan_lr:g} a step moved a parameter so far that the next gradient was larger still: "
                "the updates fed on each other until they left every bound.",
            try_instead=(f"A smaller η, say {s.gan_lr / 10:.2g}.",)
            + (("Adam (β₁ = 0.5), whose steps are at most about η per parameter.",) if s.optimizer == "sgd" else ())
            + (("Fewer discriminator steps per generator step.",) if s.d_steps > 1 else ()),
            numbers={**numbers, "diverged_step": float(run.diverged_step)})]
    messages = []
    d_fake = float(np.mean(run.d_fake[-m.steps_averaged:])) if run.d_fake.size else 0.5
    numbers["d_fake"] = d_fake
    if m.learned:
        messages.append(Message(
            "learned", "success", "The generator matched the data",
            what=f"{window}, the generator N(b, a²) has b = {m.mean:.3f} and |a| = {m.spread:.3f} against the "
                 f"data's μ = {mu:g} and s = {std:g}: within {LEARNED_TOLERANCE:g}·s of both "
                 f"({m.mean_error:.3f}·s and {m.spread_error:.3f}·s). D(G(z)) "
                 f"{'averages' if m.steps_averaged > 1 else 'is'} {d_fake:.3f}"
                 + (": near 1/2, the discriminator can hardly tell real from fake." if abs(d_fake - 0.5) < 0.1
                    else "."),
            numbers=numbers))
        return messages
    if s.loss == "saturating" and d_fake <= STALL_D:
        messages.append(Message(
            "stalled_generator", "problem", "The generator stalled: D wins and the saturating loss goes flat",
            what="The discriminator rejects the fakes with confidence — D(G(z)) "
                 + (f"averages {d_fake:.3g} over the last {counted(m.steps_averaged)}" if m.steps_averaged > 1
                    else f"is {d_fake:.3g} at the last step")
                 + f" — and the generator sits at b = {m.mean:.3f}, |a| = {m.spread:.3f} "
                 f"against the data's μ = {mu:g}, s = {std:g} ({m.mean_error:.1f}·s and {m.spread_error:.1f}·s off).",
            why=f"The saturating loss log(1 − D(G(z))) has gradient −D(G(z)) = −{d_fake:.3g} with respect to "
                f"the logit: it vanishes exactly when D wins. The non-saturating loss −log D(G(z)) has "
                f"−(1 − D(G(z))) = −{1 - d_fake:.3g} there, {(1 - d_fake) / max(d_fake, 1e-300):.0f} times larger.",
            try_instead=("The non-saturating loss −log D(G(z)).",)
            + (("Fewer discriminator steps per generator step.",) if s.d_steps > 1 else ())
            + (("Adam, whose step size does not shrink with the gradient (until it falls below ε).",)
               if s.optimizer == "sgd" else ()),
            numbers={**numbers, "gradient_ratio": (1 - d_fake) / max(d_fake, 1e-300)}))
    if m.spread <= COLLAPSE_SPREAD * std:
        messages.append(Message(
            "collapsed", "problem", "The generator collapsed to a point",
            what=f"{window}, |a| = {m.spread:.3g}: the generator puts nearly all its samples at b = {m.mean:.3f}, "
                 f"while the data spread with s = {std:g}.",
            why="Once a ≈ 0 every fake sample gets the same push, and the gradient with respect to a, "
                "mean(∂L_G/∂x_f · z), averages to almost nothing: the spread has no signal to grow back.",
            try_instead=("The R1 penalty γ > 0.", "A smaller η.", "Another seed or more steps."),
            numbers=numbers))
    relative_swing = sw.relative(std)
    if relative_swing > SWING_LIMIT:
        messages.append(Message(
            "oscillates", "warning", "The two players keep circling",
            what="Over the second half of the run the generator's mean b ("
                 + (f"averaged over {counted(sw.window)}" if sw.window > 1 else "step by step, unsmoothed")
                 + f") "
                 f"ranged from {sw.b_low:.2f} to {sw.b_high:.2f} and its spread |a| from {sw.spread_low:.2f} to "
                 f"{sw.spread_high:.2f} — the data's are μ = {mu:g} and s = {std:g}: it swings by "
                 f"{relative_swing:.2f}·s instead of settling, like gradient steps on x·y.",
            numbers={**numbers, "swing": relative_swing}))
    if not messages:
        messages.append(Message(
            "still_learning", "info", "Not matched yet",
            what=f"{window}, b = {m.mean:.3f} and |a| = {m.spread:.3f} against μ = {mu:g} and s = {std:g} "
                 f"({m.mean_error:.2f}·s and {m.spread_error:.2f}·s off; within {LEARNED_TOLERANCE:g}·s counts as "
                 "learned). More steps, or Adam, may close the gap.",
            numbers=numbers))
    return messages
