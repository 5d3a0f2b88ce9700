"""The sentences under the Diffusion page's charts, with a run's numbers: worded here, next to the numbers
they state, so that the page only places them."""

from __future__ import annotations


def shares(values) -> str:
    """Mode weights as percentages, "80% / 20%"."""
    return " / ".join(f"{w:.0%}" for w in values)


def sampling_step(r, s) -> str:
    """Under the charts of one sampling step ``s`` (a ``lab.SamplingStep``) of the run ``r``."""
    level = (f"noise level σ = {s.noise_level:.3g}, step α = {s.step_size:.3g}" if s.noise_level else
             f"step ε = {s.step_size:g}")
    return (f"After {s.step:,} of {r.sampler.n_steps:,} steps ({level}): {shares(s.mode_weights.samples)} of the "
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
