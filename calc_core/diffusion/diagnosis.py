r"""What went right and wrong in a Diffusion run, as messages with their numbers.

Codes (stable; tests and presets assert on them):

* ``exploded`` — the sampler stopped at the step where particles flew off (ε too large for the
  curvature: near a mode of width s one step multiplies the distance to it by 1 − ε/s²);
* ``step_too_large`` — no explosion, but ε ≥ 2s² for the narrowest mode, which cannot hold particles;
* ``biased_variance`` — unadjusted Langevin's exact variance inflation s²/(1 − ε/(2s²)) ÷ s²;
* ``mala_exact`` / ``stuck`` — MALA's acceptance rate, healthy or so low the chain barely moves;
* ``recovered_modes`` / ``missed_mode`` — the samples' mode weights against the mixture's, within
  or beyond what sampling noise and a good sampler's small bias explain (``mode_tolerance``);
  ``wrong_shape`` — the weights are right but the energy distance to exact draws is beyond what exact
  draws score (``ENERGY_MULTIPLE`` × its mean); an ε too small to move the particles is named as the
  cause — with annealing ``relaxation`` below ``MIN_RELAXATION``, without it ε·T/s² of the widest mode
  below the ln(σ_max/s) + MIN_RELAXATION needed to come in from the start (``unannealed_relaxation``);
* ``ends_smoothed`` — annealing samples p_σ at σ = σ_L, slightly wider than p;
* ``fitted`` / ``model_not_fitted`` — the learned score against the true score of p_σ (a training loss below
  the floor the true score sets is overfitting, whatever its slope; a network's plateau is not its limit; for
  the features and linear models the same training traced to the most steps offered says whether another
  number of steps fits, so "cannot represent" is said only when none does);
* ``reverse_stopped`` — a reverse process blew up;  ``gradient_check_failed`` — a derivative disagrees.
"""

from __future__ import annotations

import math

import numpy as np

from calc_core.common.messages import Message

MODE_BIAS_ALLOWANCE = 0.03  # total variation a good sampler is off by on average (annealing at the defaults: 0.018)
MODE_STANDARD_ERRORS = 5.0  # … plus this many standard errors of the sample shares
FIT_TOLERANCE = 0.1  # Σ‖s_θ − ∇log p_σ‖² / Σ‖∇log p_σ‖² at most, for a fitted score
CLEARLY_CLOSER = 0.9  # another training length is named when its RMS error is below this share of the one set
STUCK_ACCEPTANCE = 0.2
STILL_FALLING = 0.01  # share of the loss's total drop made in the last tenth of training
#: a training loss this many standard errors (ScoreFit.floor_standard_error) below the true score's is overfitting;
#: closer, a model that never saw these pairs' noise could dip as far by chance
OVERFIT_STANDARD_ERRORS = 2.0
#: D² to exact draws above this many times its mean for exact draws is "not distributed like p": for any quadratic
#: form Q = Σ λ_j Z_j² of mean 1 (the limit of n·D² between exact draws), P(Q ≥ 20) ≤ P(χ²₁ ≥ 20) < 10⁻⁵
#: (Székely & Bakirov 2003), whatever the mixture
ENERGY_MULTIPLE = 20.0
#: with annealing, ε·T/σ_L² = α_i T/σ_i² relaxation times of a Gaussian of width σ_i per level of T steps; below
#: this the particles cannot follow p_σ as σ shrinks (at the defaults, 1 misses the weights and 2 recovers them)
MIN_RELAXATION = 2.0
SUGGESTED_RELAXATION = 5.0  # … and a larger ε is suggested to reach this many


def mode_tolerance(mode_weights) -> float:
    """b + ½ Σ_k 5 SE_k, SE_k = √(w_k(1 − w_k)/n): how far the total variation ½ Σ_k |ŵ_k − w_k| of
    n particles may be from 0 before the sampler "gets the weights wrong".

    Each share ŵ_k of n independent draws is a binomial proportion with standard error SE_k, so
    |ŵ_k − E ŵ_k| < 5 SE_k for all k but with probability below K · 6·10⁻⁷; E ŵ_k itself is off
    from w_k by a good sampler's small systematic bias, b = MODE_BIAS_ALLOWANCE in total variation
    (annealed Langevin at the defaults puts 0.782 in the 0.8 mode: a finite number of steps per
    level hands the weights down slightly flattened). Then a verdict holds for essentially every
    seed, and a sampler that misses a mode (0.3 off) is far beyond it at any n the page allows."""
    return MODE_BIAS_ALLOWANCE + mode_noise(mode_weights)


def mode_noise(mode_weights) -> float:
    """The sampling-noise part of :func:`mode_tolerance`: ½ Σ_k 5 SE_k."""
    # ½ Σ_k 5 SE_k,  SE_k = √(w_k(1 − w_k)/n)
    return 0.5 * MODE_STANDARD_ERRORS * float(np.sum(mode_weights.standard_error))


def counted(n: int, noun: str = "step") -> str:
    """"1 step", "30 steps", "2,000 steps": a count with its noun, singular for exactly one."""
    n = int(n)
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _percent(x: float) -> str:
    return f"{100 * x:.0f}%" if abs(x) >= 0.01 or x == 0 else f"{100 * x:.2g}%"


def level_widths(result, sigma_level: float) -> np.ndarray:
    """Widths √(σ_k² + σ_i²) of the density sampled at noise level σ_i (σ_i = 0: p itself)."""
    return np.sqrt(np.asarray(result.mixture.sigmas, dtype=float) ** 2 + sigma_level**2)


def annealing_stability_limit(mixture, sigmas) -> tuple[float, float, float]:
    """(ε_max, σ_i, s) of :func:`stability_limit` for annealing over the levels ``sigmas`` (σ₁ > … > σ_L)."""
    sigmas = np.asarray(sigmas, dtype=float)
    narrowest = [float(np.min(np.sqrt(np.asarray(mixture.sigmas, dtype=float) ** 2 + sigma**2))) for sigma in sigmas]
    # ε_max = min_i 2 s_min(σ_i)² σ_L² / σ_i²
    limits = [2 * s * s * float(sigmas[-1] / sigma) ** 2 for s, sigma in zip(narrowest, sigmas)]
    i = int(np.argmin(limits))
    return limits[i], float(sigmas[i]), narrowest[i]


def suggested_step(limit: float) -> float:
    """A step the page offers, at most half of ``limit`` (the smallest on offer if none is)."""
    from calc_core.diffusion.lab import OPTIONS  # lab imports this module
    below = [eps for eps in OPTIONS["step_size"] if eps <= limit / 2]
    return max(below) if below else min(OPTIONS["step_size"])


def relaxation(settings) -> float:
    """ε·T/σ_L² = α_i T/σ_i²: how many relaxation times of a Gaussian of width σ_i one annealing level of T steps
    lasts (the same at every level, since α_i ∝ σ_i²)."""
    return settings.step_size * (settings.n_steps // settings.n_levels) / settings.sigma_min**2


def annealing_hint(result) -> str:
    """"Turn on annealing …", with the step it would need to be stable and to move the particles enough."""
    settings = result.settings
    hint = ("Turn on annealing: at a large σ, p_σ is one broad bump and the particles spread over it in the right "
            "proportions before the modes separate.")
    if not settings.sigma_max > settings.sigma_min:
        return hint + f" It needs σ_max above σ_min (now {settings.sigma_max:g} and {settings.sigma_min:g})."
    from calc_core.diffusion.langevin import geometric_noise_levels
    sigmas = geometric_noise_levels(settings.sigma_max, settings.sigma_min, settings.n_levels)
    limit, sigma, s = annealing_stability_limit(result.mixture, sigmas)
    if settings.step_size >= limit:
        alpha = settings.step_size * (sigma / settings.sigma_min) ** 2
        return hint + (f" Lower ε too, to {suggested_step(limit):g} (below {limit:.3g}): with annealing the step at "
                       f"σ = {sigma:.3g} is α = ε σ²/σ_min² = {alpha:.3g}, past the 2s² = {2 * s * s:.3g} its "
                       "narrowest mode is stable for.")
    if relaxation(settings) < MIN_RELAXATION:
        return hint + " " + larger_step_hint(result, limit)
    return hint


def unannealed_relaxation(settings, mixture) -> tuple[float, float, float]:
    """Without annealing: (r, r_needed, s). A particle's distance from a mode of width s shrinks by
    (1 − ε/s²) per step, so T steps last r = ε·T/s² relaxation times of the widest mode (the slowest
    to come in); starting from N(0, σ_max² I) a particle needs about ln(σ_max/s) of them to come in
    from σ_max, and MIN_RELAXATION more to settle."""
    s = float(np.max(mixture.sigmas))
    # r = ε T / s²,  r_needed = ln(σ_max / s) + MIN_RELAXATION
    return (settings.step_size * settings.n_steps / s**2,
            MIN_RELAXATION + max(0.0, math.log(settings.sigma_max / s)), s)


def unannealed_settle_hint(result) -> str:
    """A larger ε (stable for the narrowest mode) or more steps, so the particles settle without
    annealing: ε·T/s² = r_needed + SUGGESTED_RELAXATION − MIN_RELAXATION."""
    settings = result.settings
    r, needed, s = unannealed_relaxation(settings, result.mixture)
    target = needed + SUGGESTED_RELAXATION - MIN_RELAXATION
    wanted, limit = target * s * s / settings.n_steps, stable_step(result)
    if wanted < limit / 2:
        from calc_core.diffusion.lab import OPTIONS
        eps = min((e for e in OPTIONS["step_size"] if e >= wanted), default=wanted)
        eps = eps if eps < limit / 2 else wanted
        return (f"Raise ε to {eps:g}, so that ε·T/s² = {eps * settings.n_steps / s**2:.3g} (at least {needed:.2g} "
                "is needed).")
    from calc_core.diffusion.lab import LIMITS
    steps = 10 * math.ceil(target * s * s / settings.step_size / 10)
    if steps <= LIMITS["n_steps"][1]:
        return (f"More steps: at ε = {settings.step_size:g}, {counted(steps)} give ε·T/s² = "
                f"{settings.step_size * steps / s**2:.3g} (at least {needed:.2g} is needed; a larger ε would not be "
                "stable).")
    return (f"No step both stable and large enough settles the particles within {counted(LIMITS['n_steps'][1])}: "
            "annealing starts them on a broad bump instead.")


def larger_step_hint(result, limit: float) -> str:
    """A larger ε for annealing (or more steps per level, if that ε would not be stable)."""
    settings = result.settings
    steps = settings.n_steps // settings.n_levels
    if steps == 0:
        return f"It needs at least one step per level: {counted(settings.n_levels)} or more for {counted(settings.n_levels, 'level')}."
    wanted = SUGGESTED_RELAXATION * settings.sigma_min**2 / steps  # ε T/σ_L² = SUGGESTED_RELAXATION
    if wanted < limit:
        from calc_core.diffusion.lab import OPTIONS
        eps = min((e for e in OPTIONS["step_size"] if e >= wanted), default=wanted)
        eps = eps if eps < limit else wanted
        return f"Raise ε to {eps:g}, so that ε·T/σ_min² = {eps * steps / settings.sigma_min**2:.3g} (at least {MIN_RELAXATION:g} is needed)."
    return (f"More steps per level: at ε = {settings.step_size:g}, T = {math.ceil(wanted / settings.step_size):,} "
            f"steps per level give ε·T/σ_min² = {SUGGESTED_RELAXATION:g} (a larger ε would not be stable).")


def stability_limit(result) -> tuple[float, float, float]:
    """(ε_max, σ_i, s): the largest ε for which every mode at every level has |1 − α_i/s²| < 1, the
    level σ_i where that limit binds (0: no annealing) and the width s of its narrowest mode.
    With α_i = ε σ_i²/σ_L²: α_i < 2 s_min(σ_i)² ⇔ ε < 2 s_min(σ_i)² σ_L² / σ_i²; without annealing 2 s_min²."""
    sigmas = result.noise_levels
    if sigmas.size == 0:
        s = float(np.min(result.mixture.sigmas))
        return 2.0 * s * s, 0.0, s
    # ε_max = min_i 2 s_min(σ_i)² σ_L² / σ_i²
    limits = [2 * float(np.min(level_widths(result, sigma))) ** 2 * float(sigmas[-1] / sigma) ** 2 for sigma in sigmas]
    i = int(np.argmin(limits))
    return limits[i], float(sigmas[i]), float(np.min(level_widths(result, float(sigmas[i]))))


def stable_step(result) -> float:
    """The largest ε for which every mode, at every level, is stable (see :func:`stability_limit`)."""
    return stability_limit(result)[0]


def _level_at(result, step: int) -> tuple[float, float]:
    """(noise level σ_i, step size α_i) in force at sampling step ``step`` (1-based)."""
    settings, sigmas = result.settings, result.noise_levels
    if sigmas.size == 0:
        return 0.0, settings.step_size
    i = min((step - 1) // (settings.n_steps // settings.n_levels), sigmas.size - 1)
    return float(sigmas[i]), settings.step_size * float(sigmas[i]) ** 2 / float(sigmas[-1]) ** 2


def exploded(result) -> Message | None:
    run = result.sampler
    if not run.exploded:
        return None
    sigma, alpha = _level_at(result, run.exploded_at)
    widths = level_widths(result, sigma)
    widest, narrowest = float(np.max(widths)), float(np.min(widths))
    density = "p" if sigma == 0 else f"p_σ at σ = {sigma:.3g}"
    if alpha >= 2 * widest**2:
        why = (f"Near a mode of width s, one step multiplies the distance to the mode by 1 − ε/s². Here the step "
               f"is {alpha:.3g} and even the widest mode of {density} has s = {widest:.3g} (2s² = {2 * widest**2:.3g}), "
               f"so that factor is {1 - alpha / widest**2:.2f}: every step overshoots farther than the last and the "
               "distance grows geometrically.")
    elif alpha >= 2 * narrowest**2:
        why = (f"Near a mode of width s, one step multiplies the distance to the mode by 1 − ε/s². With the step "
               f"{alpha:.3g} that factor is below −1 for the narrowest mode of {density} (s = {narrowest:.3g}, "
               f"2s² = {2 * narrowest**2:.3g}): particles there overshoot farther at every step.")
    else:
        why = (f"The step {alpha:.3g} is too large for the curvature of log p along the particles' way: where log p "
               "bends more sharply than any single mode's 1/s², a step overshoots instead of settling.")
    limit = stable_step(result)
    return Message(
        "exploded", "problem", f"The chain exploded at step {run.exploded_at} of {run.n_steps}",
        what=(f"At step {run.exploded_at} the update threw {_percent(run.exploded_fraction)} of the particles beyond "
              f"±{run.max_abs:.0e} or to infinity, so sampling stopped there; the particles shown are those of step "
              f"{run.n_completed}."),
        why=why,
        try_instead=(f"A step ε below {limit:.3g}, where every mode is stable (|1 − ε/s²| < 1); a tenth of that keeps "
                     "the bias small.",
                     "MALA: its accept/reject test refuses the moves that overshoot, so it cannot explode; at a "
                     "step this large it refuses most of them, so a smaller step is still the cure."),
        numbers={"exploded_at": run.exploded_at, "n_steps": run.n_steps, "step_at_explosion": alpha,
                 "widest_width": widest, "stable_step": limit})


def step_too_large(result) -> Message | None:
    limit, sigma, s = stability_limit(result)
    step = result.settings.step_size
    if result.sampler.exploded or step < limit:
        return None
    # the step at the binding level: α_i = ε σ_i²/σ_L² (ε itself without annealing)
    alpha = step if sigma == 0 else step * (sigma / float(result.noise_levels[-1])) ** 2
    s_mode = float(np.min(result.mixture.sigmas))  # the narrowest mode of p itself
    where = "" if sigma == 0 else f" at the noise level σ = {sigma:.3g}, where the step is α = {alpha:.3g},"
    return Message(
        "step_too_large", "warning", "The step is too large for the narrowest mode",
        what=(f"ε = {step:.3g} is at or above {limit:.3g}, the largest step every mode is stable for. In a mode of "
              f"width s, standing apart from the others, one step multiplies the distance to its centre by 1 − α/s²; "
              f"for the narrowest mode{where} s = {s:.3g} and that factor is {1 - alpha / s**2:.2f}, so particles "
              "cannot settle there: " + ("most moves inside it are refused." if result.settings.mala else
                                         "they are thrown past it, into the wider modes."
                                         if float(np.max(result.mixture.sigmas)) > s_mode else
                                         "they are thrown back and forth across it, ever farther out.")),
        try_instead=(f"A step below {limit:.3g}.",),
        numbers={"step": step, "stable_step": limit, "narrowest_width": s, "level": sigma})


def biased_variance(result) -> Message | None:
    s = float(np.min(result.sampled.sigmas))
    step = result.settings.step_size
    if result.settings.mala or result.sampler.exploded or step >= 2 * s * s:
        return None
    # v_∞ / s² = 1 / (1 − ε/(2s²))
    inflation = 1.0 / (1.0 - step / (2 * s * s))
    where = "the narrowest mode" if result.noise_levels.size == 0 else "the narrowest mode of p_σ at σ = σ_L"
    return Message(
        "biased_variance", "warning" if inflation >= 1.1 else "info",
        f"Unadjusted Langevin inflates the variance by {_percent(inflation - 1)}",
        what=(f"With ε = {step:.3g} on a Gaussian of width s = {s:.3g} ({where}) the chain's stationary variance is "
              f"s²/(1 − ε/(2s²)) = {inflation * s * s:.4g} instead of s² = {s * s:.4g}: the samples are "
              f"{_percent(math.sqrt(inflation) - 1)} too wide. The variance chart measures it against ε."),
        why=("The update x ← x + ε∇log p + √(2ε)ξ is a discretization of the Langevin diffusion: each step adds "
             "noise of variance 2ε, and the pull back towards the mode removes a little less than that, so the "
             "spread settles higher. The bias vanishes only as ε → 0."),
        try_instead=("Turn on MALA: a Metropolis accept/reject step makes p exactly stationary.",
                     f"A smaller ε: the inflation is about ε/(2s²) = {_percent(step / (2 * s * s))} for small steps."),
        numbers={"inflation": inflation, "width": s, "step": step, "exact_variance": inflation * s * s})


def mala(result) -> Message | None:
    rate = result.sampler.acceptance_rate
    if not result.settings.mala or rate is None or result.sampler.exploded:
        return None
    if rate < STUCK_ACCEPTANCE:
        return Message(
            "stuck", "warning", f"MALA refused {_percent(1 - rate)} of its proposals",
            what=f"Only {_percent(rate)} of the Langevin proposals passed the Metropolis test: the particles barely move.",
            why=("A proposal that overshoots a mode lands where p is much smaller, and the test refuses it; at a "
                 "step this large against s² most proposals overshoot."),
            try_instead=(f"A smaller ε (below {stable_step(result):.3g}; MALA works best accepting about 60%).",),
            numbers={"acceptance_rate": rate})
    return Message(
        "mala_exact", "success", "MALA removes the step-size bias",
        what=(f"The Metropolis test accepted {_percent(rate)} of the proposals. With it, the density being sampled "
              "is the chain's exact stationary distribution for any step: the variance chart shows MALA flat at s² "
              "where the unadjusted chain grows. (It does not help particles cross between far-apart modes.)"),
        numbers={"acceptance_rate": rate})


def modes(result) -> Message | None:
    if result.sampler.exploded:
        return None
    weights = result.mode_weights
    tolerance = mode_tolerance(weights)
    listing = ", ".join(f"{_percent(a)} (target {_percent(w)})" for a, w in zip(weights.samples, weights.target))
    numbers = {"total_variation": weights.total_variation, "tolerance": tolerance,
               **{f"mode_{k + 1}": float(a) for k, a in enumerate(weights.samples)}}
    allowed = (f"the {tolerance:.3f} allowed: {MODE_STANDARD_ERRORS:g} standard errors of sampling noise with "
               f"{weights.n_samples} particles ({mode_noise(weights):.3f}) plus {MODE_BIAS_ALLOWANCE:g} for a good "
               "sampler's small bias")
    distance = result.sample_distance
    limit = ENERGY_MULTIPLE * distance.expected
    numbers.update(energy=distance.energy, energy_expected=distance.expected, energy_limit=limit)
    energy = (f"The energy distance D² between {distance.n} of the particles and as many exact draws of p is "
              f"{distance.energy:.3g}; two sets of exact draws of these sizes score {distance.expected:.3g} on "
              f"average, and above {limit:.3g} ({ENERGY_MULTIPLE:g}×) essentially never.")
    settings = result.settings
    steps_per_level = settings.n_steps // max(settings.n_levels, 1)
    if result.noise_levels.size > 0:
        slow = relaxation(settings) < MIN_RELAXATION
        slow_why = (f"With annealing each level lasts T = {counted(steps_per_level)} at the step α_i = ε σ_i²/σ_min²; "
                    f"in p_σ, about σ_i wide, that is ε·T/σ_min² = {relaxation(settings):.2g} times the time σ_i²/α_i "
                    f"a particle takes to settle, below {MIN_RELAXATION:g}: the particles barely move and cannot "
                    "follow p_σ as it narrows.")
        slow_tip = larger_step_hint(result, stable_step(result)) if slow else ""
    else:
        r, needed, s = unannealed_relaxation(settings, result.mixture)
        slow = r < needed
        slow_why = (f"Without annealing the particles start spread as N(0, σ_max² I) with σ_max = "
                    f"{settings.sigma_max:g}, and a particle's distance from a mode of width s shrinks by only "
                    f"(1 − ε/s²) per step. Here ε·T/s² = {r:.2g} for the widest mode (s = {s:g}), fewer than the "
                    f"{needed:.2g} relaxation times needed to come in from σ_max and settle (ln(σ_max/s) + "
                    f"{MIN_RELAXATION:g}): many particles have not reached p yet, and the samples still show where "
                    "they started.")
        slow_tip = unannealed_settle_hint(result) if slow else ""
    if weights.total_variation <= tolerance:
        if not distance.energy > limit:
            return Message(
                "recovered_modes", "success", "The samples have the right mode weights",
                what=(f"Shares of the particles per mode: {listing}. The total-variation distance "
                      f"{weights.total_variation:.3f} is within {allowed}. " + energy),
                numbers=numbers)
        return Message(
            "wrong_shape", "warning", "The mode weights are right, but the samples are not distributed like p",
            what=(f"Shares of the particles per mode: {listing}, within {allowed}. But " + energy[0].lower()
                  + energy[1:]),
            why=(slow_why if slow else "The shares count only which mode each particle is nearest to; the energy "
                 "distance also compares where the particles are within and around the modes."),
            try_instead=((slow_tip,) if slow else
                         ("The histogram of x₁ against the exact marginal shows where the particles are off.",)),
            numbers=numbers)
    j = int(np.argmax(np.abs(weights.samples - weights.target)))
    what = (f"Mode {j + 1} has weight {_percent(weights.target[j])} but holds {_percent(weights.samples[j])} of the "
            f"particles (all modes: {listing}); the total-variation distance {weights.total_variation:.3f} is beyond "
            f"{allowed}.")
    if result.noise_levels.size == 0 and slow:
        why = slow_why
        try_instead = (slow_tip, annealing_hint(result))
    elif result.noise_levels.size == 0:
        why = ("Langevin dynamics follows the local slope of log p. To move from one mode to another a particle must "
               "climb through the low-density gap between them, which rarely happens in "
               f"{counted(settings.n_steps)} when the modes are far apart for their width; so each mode keeps the "
               "particles that started on its side, whatever its weight.")
        try_instead = (annealing_hint(result),
                       "Bring the modes closer or widen them, so particles can cross between them.")
    elif slow:
        why = slow_why
        try_instead = (slow_tip,)
    else:
        why = (f"Annealing passes the right proportions from level to level only if σ_max = {settings.sigma_max:g} "
               "is large enough for p_σ to be one bump over all the modes, each level gives the particles enough "
               f"steps to settle before σ shrinks (here {counted(steps_per_level)} per level), and the steps α_i "
               "are small enough not to distort each level's samples; one of these fell short here.")
        try_instead = ("More steps per level (more steps, or fewer levels).",
                       "A σ_max about as large as the largest distance between modes (Song & Ermon 2020).")
    return Message("missed_mode", "problem", "The samples get the mode weights wrong", what=what, why=why,
                   try_instead=try_instead, numbers=numbers)


def ends_smoothed(result) -> Message | None:
    if result.noise_levels.size == 0 or result.sampler.exploded:
        return None
    sigma_l = float(result.noise_levels[-1])
    s, s_l = float(np.min(result.mixture.sigmas)), float(np.min(result.sampled.sigmas))
    return Message(
        "ends_smoothed", "info", f"Annealing ends at σ_L = {sigma_l:g}, on p_σ rather than p",
        what=(f"The last level samples p_σ at σ = σ_L, that is p * N(0, σ_L² I): its narrowest mode is √(s² + σ_L²) = {s_l:.3g} "
              f"wide instead of s = {s:.3g} ({_percent(s_l / s - 1)} wider)."),
        try_instead=("A smaller σ_min, with ε lowered in proportion to σ_min² so that the first level's step "
                     "α₁ = ε σ₁²/σ_L² stays the same.",),
        numbers={"sigma_min": sigma_l, "sampled_width": s_l, "width": s})


def score_fit(result) -> Message:
    fit = result.score_fit
    rms = fit.relative_rms_error
    history = fit.loss_history
    numbers = {"relative_error": fit.relative_error, "final_loss": fit.final_loss,
               "loss_at_true_score": fit.loss_at_true_score, "initial_loss": float(history[0])}
    if fit.relative_error <= FIT_TOLERANCE:
        return Message(
            "fitted", "success", "The learned score follows the true one",
            what=(f"On fresh noisy points the learned score differs from ∇log p_σ by {_percent(rms)} "
                  f"(root-mean-square, relative). The DSM loss fell from {history[0]:.3f} to {fit.final_loss:.3f}; "
                  f"the true score itself scores {fit.loss_at_true_score:.3f} on the same pairs, "
                  + ("the floor the noise sets." if fit.final_loss >= fit.loss_at_true_score else
                     "a floor on average over fresh pairs: the model dips below it here by fitting these pairs' "
                     "noise." if fit.final_loss < fit.loss_at_true_score - OVERFIT_STANDARD_ERRORS
                     * fit.floor_standard_error else
                     "a floor on average over fresh pairs; the model is below it here by no more than chance.")),
            numbers=numbers)
    tail = history[-max(2, len(history) // 10):]
    # the final loss against the floor, in words: above it, or below it by no more than chance explains
    against = ("above the" if fit.final_loss >= fit.loss_at_true_score else
               f"within chance ({OVERFIT_STANDARD_ERRORS * fit.floor_standard_error:.2g}) of the")
    drop = float(history[0] - history[-1])
    model = result.settings.model
    bigger = {"linear": "A model that can bend: the bumps (features) or the network.",
              "network": "More hidden units."}.get(model, "More bumps per axis, or the network.")
    remedies = ("More training steps.", bigger)
    # features and linear models: the same training traced on to the most steps offered says what more (or
    # fewer) steps do, so no sentence below guesses it
    path = fit.path
    overfit = fit.final_loss < fit.loss_at_true_score - OVERFIT_STANDARD_ERRORS * fit.floor_standard_error
    if fit.training_steps == 0:
        why = "The model was not trained (0 steps): s_θ is still its initial guess."
    elif overfit:
        # checked before "still falling": a loss below the floor is falling into the pairs' noise, and more steps
        # take the learned score further from the true one, not closer
        why = (f"The loss {fit.final_loss:.3f} is below the {fit.loss_at_true_score:.3f} the true score reaches on "
               f"the same pairs, by more than {OVERFIT_STANDARD_ERRORS:g} standard errors of chance "
               f"({OVERFIT_STANDARD_ERRORS * fit.floor_standard_error:.2g}): the model fits these particular noise "
               "draws rather than the score (overfitting).")
        remedies = ("Fewer training steps.",) if model == "linear" else (
            "A smaller model: fewer bumps per axis or hidden units.", "Fewer training steps.")
    elif drop > 0 and float(tail[0] - tail[-1]) > STILL_FALLING * drop:
        why = (f"Training stopped while the loss was still falling ({tail[0] - tail[-1]:.3g} over the last tenth "
               f"of the steps), {against} {fit.loss_at_true_score:.3f} the true score reaches on the same pairs"
               + ("." if path is not None else ": more steps would bring the learned score closer."))
    elif model == "network":
        # Adam on a network: a plateau of the loss is not the best the network can do (more steps often still help)
        remedies = ("More training steps.", bigger)
        why = (f"The loss has levelled off at {fit.final_loss:.3f}, {against} {fit.loss_at_true_score:.3f} the true "
               "score reaches on the same pairs. A network's loss can rest on a plateau before it falls again: "
               "more steps, or more hidden units, may fit it closer.")
    else:
        remedies = (bigger,)  # the loss has levelled off: more of the same steps cannot help
        why = (f"The loss has levelled off at {fit.final_loss:.3f}, {against} {fit.loss_at_true_score:.3f} the true "
               "score reaches on the same pairs" + ("." if path is not None else
                                                   ": this model cannot represent the score any closer."))
    if path is not None:
        sentence, remedies = _along_training(fit, path, "A smaller model: fewer bumps per axis." if overfit
                                             and model != "linear" else bigger, overfit)
        why += " " + sentence
    never_fits = path is None or not np.any(path.relative_error <= FIT_TOLERANCE)
    if model == "linear" and fit.training_steps > 0 and not overfit and never_fits:
        why += (" The model [1, x] is a straight line, the score of one Gaussian; a mixture's score bends "
                "between its modes.")
    return Message(
        "model_not_fitted", "problem", "The score model has not fitted",
        what=f"On fresh noisy points the learned score is off from ∇log p_σ by {_percent(rms)} (RMS, relative).",
        why=why,
        try_instead=remedies,
        numbers=numbers)


def _along_training(fit, path, resize: str, overfit: bool) -> tuple[str, tuple[str, ...]]:
    """What the same training, traced from the start to the most steps offered, says about the number
    of steps: the step count nearest the one set at which the score fits, or, when none does, the
    closest this model comes. Returns (sentence, what to try); ``resize`` is the model-size remedy."""
    k = fit.training_steps
    fits = path.steps[path.relative_error <= FIT_TOLERANCE]
    if fits.size:
        n = int(fits[np.argmin(np.abs(fits - k) * 2 + (fits < k))])  # the nearest; of two as near, the longer
        off = _percent(math.sqrt(path.at(n)))
        if n > k:
            return (f"Trained on, the same model fits: after {counted(n)} it is off by only {off} (RMS, relative)."
                    , (f"Set the training steps to {n:,}: the same training is then off by {off}.", resize))
        return (f"Trained for fewer steps it fitted: after {counted(n)} it was off by only {off} (RMS, "
                "relative); the steps after that fit these pairs' noise rather than the score.",
                (f"Set the training steps to {n:,}: the same training is then off by {off}.", resize))
    best = int(np.argmin(path.relative_error))
    n, off = int(path.steps[best]), _percent(math.sqrt(float(path.relative_error[best])))
    sentence = (f"Trained from the start to {counted(int(path.steps[-1]))}, the same model comes no closer than {off} "
                f"(after {counted(n)}), short of the {_percent(math.sqrt(FIT_TOLERANCE))} a fit needs"
                + ("." if overfit else ": this model cannot represent the score closely enough."))
    # another step count is worth naming only if its RMS error is clearly (a tenth) below this one's
    if math.sqrt(path.relative_error[best]) < CLEARLY_CLOSER * math.sqrt(fit.relative_error):
        return sentence, (resize, f"Set the training steps to {n:,}: the closest this model comes ({off}).")
    return sentence, (resize,)


def reverse_stopped(result) -> Message | None:
    step = result.paths.stopped_at
    if step is None:
        return None
    return Message(
        "reverse_stopped", "problem", f"The reverse process blew up at time step {step}",
        what="Sampling back from noise left the bounded region, so its paths end early.",
        why="The score of p_t near t = 0 is as steep as 1/s² of the narrowest mode; the time steps there are too long for it.",
        try_instead=("Wider modes.",), numbers={"stopped_at": step})


def gradient_check_failed(result) -> Message | None:
    failed = [check for check in result.gradient_checks if check.verdict == "fail"]
    if not failed:
        return None
    return Message(
        "gradient_check_failed", "problem", f"{counted(len(failed), 'gradient check')} failed",
        what=" ".join(check.reason for check in failed),
        why="A derivative written by hand disagrees with finite differences of the function it should differentiate.",
        numbers={"failed": len(failed)})


RULES = (exploded, step_too_large, biased_variance, mala, modes, ends_smoothed, score_fit, reverse_stopped,
         gradient_check_failed)


def diagnose(result) -> tuple[Message, ...]:
    """Every message that applies to ``result``, problems first."""
    messages = [message for rule in RULES if (message := rule(result)) is not None]
    order = {"problem": 0, "warning": 1, "success": 2, "info": 3}
    return tuple(sorted(messages, key=lambda m: order[m.kind]))
