"""The sentences under the Diffusion page's charts, with a run's numbers: worded here, next to the numbers
they state, so that the page only places them."""

from __future__ import annotations

from calc_core.diffusion.checks import BATCH
from calc_core.diffusion.diagnosis import mode_tolerance


def shares(values) -> str:
    """Mode weights as percentages, "80% / 20%"."""
    return " / ".join(f"{w:.0%}" for w in values)


def sampling_step(r, s) -> str:
    """Under the charts of one sampling step ``s`` (a ``lab.SamplingStep``) of the run ``r``."""
    level = (f"noise level σ = {s.noise_level:.3g}, step α = {s.step_size:.3g}" if s.noise_level else
             f"step ε = {s.step_size:g}")
    total = r.sampler.n_steps  # the noun agrees with the total: "After 0 of 1 step", "After 3 of 400 steps"
    return (f"After {s.step:,} of {total:,} step{'' if total == 1 else 's'} ({level}): {shares(s.mode_weights.samples)} of the "
            f"particles per mode, {s.histogram.outside:.0%} outside the view. Bars and ticks: samples and target "
            "weights.")


def variance_bias(b) -> str:
    """Under the stationary-variance chart (a ``lab.Result.variance_bias``)."""
    return (f"On N(0, s²) with s = {b.s:.3g}, the width of the narrowest mode of the density sampled last: "
            f"{b.n_particles} chains per ε, {b.n_iterations} steps each from exact draws. The dotted line is the ε "
            "in use.")


def paths(p) -> str:
    """Under the noising and denoising charts (a ``lab.Result.paths``)."""
    return (f"Both ways back start from the same noise. Mode weights at the end: reverse SDE "
            f"{shares(p.sde_mode_weights.samples)}, ODE {shares(p.flow_mode_weights.samples)} (target "
            f"{shares(p.sde_mode_weights.target)}); energy distance to exact draws {p.sde_distance.energy:.3g} and "
            f"{p.flow_distance.energy:.3g} (exact draws: {p.sde_distance.reference:.3g}).")


def tweedie(t) -> str:
    """Under the Tweedie chart (a ``lab.Result.tweedie``)."""
    return (f"Mean squared distance to the clean points: noisy {t.noisy_error:.3g}, Tweedie with the true score "
            f"{t.denoised_error:.3g}, with the learned one {t.denoised_learned_error:.3g}. Arrows: x̃ → E[x | x̃].")


# ----------------------------------------------------------------------------- the page's words

MODEL_LABELS = {"features": "Gaussian bumps × weights", "linear": "Straight line [1, x]",
                "network": "One hidden layer (tanh)"}
DIMENSION_LABELS = {1: "1-D", 2: "2-D"}
INTRO = ("A diffusion model never needs the density p, only its gradient, the score ∇log p: following it with a little "
         "noise samples p, and the score of noised data can be learned by regression. On a Gaussian mixture every "
         "score is exact. Pick a lesson above, or move the sliders.")
SCORE_WHY = ("The score ∇log p points uphill, towards more probable data, and is steepest far from the modes; it needs "
             "no normalizing constant. Langevin dynamics follows it with a little noise, and its particles end up "
             "distributed as p. Arrow lengths grow like √|score|.")
VARIANCE_WHY = ("Each step adds noise of variance 2ε, and the pull back towards the mode removes a little less, so the "
                "chain settles wider than p; MALA's accept/reject step removes the bias.")
PATHS_WHY = ("Noising takes the data a little at a time (x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε) to plain Gaussian noise "
             "at t = 1. Denoising has two ways back from that noise, each needing only the score ∇log p_t of the "
             "noised data. The reverse SDE (a stochastic differential equation) steps against the noising and adds "
             "fresh noise at every step; the ODE (an ordinary differential equation, the probability flow) takes "
             "the same distributions p_t without any noise, so each starting point has exactly one path.")
DSM_WHY = ("The target −(x̃ − x)/σ² points from a noisy point back to its clean one; averaged over the clean points "
           "that could have made x̃, it is the score of p_σ. So a regression on it learns the score, and on average "
           "over fresh pairs no model scores below the true score: the noise costs a floor. (On the pairs it was "
           "trained on, a flexible model can dip below it by fitting their noise.)")
TWEEDIE_WHY = ("Read the other way, the same identity is Tweedie's formula: a step of σ² along the score of p_σ takes a "
               "noisy point to the mean of the clean points it could have come from.")


CHECK_WHAT = (f"log p and log p_σ (their scores in closed form, near and far from the modes) and of the DSM loss "
              f"ℓ(θ) on {BATCH} fresh noisy pairs at the fitted θ")  # what the gradient-check panel checked


def summary_metrics(r) -> tuple:
    """The metrics above the charts (for ``ui.panels.metrics``)."""
    w, d, sampler = r.mode_weights, r.sample_distance, r.sampler
    return (dict(label="Mode weights off by", value=f"{w.total_variation:.3f}", reference=f"allowed {mode_tolerance(w):.3f}",
                 help="Total variation ½ Σ|ŵ_k − w_k| of the particles' shares."),
            dict(label="Energy distance D²", value=f"{d.energy:.3g}", reference=f"exact draws: {d.reference:.3g}",
                 help=f"Between {d.n} particles and {d.n} exact draws of p."),
            dict(label="Steps run", value=f"{sampler.n_completed:,} of {sampler.n_steps:,}",
                 reference=None if sampler.acceptance_rate is None else f"MALA accepted {sampler.acceptance_rate:.0%}",
                 help=None if sampler.n_steps == r.settings.n_steps else
                 f"{r.settings.n_steps:,} asked for, split evenly over the {r.settings.n_levels} noise levels: "
                 f"{sampler.n_steps // r.settings.n_levels:,} at each, {sampler.n_steps:,} in all."),
            ("Learned score off by", f"{r.score_fit.relative_rms_error:.0%}",
             "RMS distance of s_θ from ∇log p_σ, relative to its size, on fresh noisy points."))
