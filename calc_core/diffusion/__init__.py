"""Diffusion models on Gaussian mixtures: the score ∇ₓ log p, Langevin sampling (plain, annealed,
Metropolis-adjusted), the variance-preserving forward and reverse processes, denoising score
matching and Tweedie's formula — every score exact, so the methods can be compared with the truth.

The page's entry points are in :mod:`calc_core.diffusion.lab` (``Settings``, ``run``, ``Result``,
``diagnose``, ``PRESETS``, ``preset_diagnosis``, ``fit_score_model`` with ``score_model_settings``,
its cache key, ``scene``, the data-and-model part of a run cached on the same key, and
``sampling_step`` for the step slider); the charts' data in :mod:`calc_core.diffusion.views`.
"""

from calc_core.diffusion.diagnosis import diagnose
from calc_core.diffusion.dsm import (
    ScoreFit,
    ScoreModel,
    dsm_loss_of_scores,
    dsm_pairs,
    features_loss,
    features_loss_gradient,
    fit_dsm,
    network_loss,
    network_loss_and_gradient,
    network_loss_gradient,
    tweedie_denoise,
)
from calc_core.diffusion.lab import (
    LIMITS,
    PRESETS,
    Result,
    SamplingStep,
    Scene,
    Settings,
    check_settings,
    fit_score_model,
    model_width_range,
    preset_diagnosis,
    run,
    sampling_step,
    scene,
    score_model_settings,
)
from calc_core.diffusion.langevin import (
    LangevinRun,
    annealed_langevin_sample,
    geometric_noise_levels,
    langevin_sample,
    ula_stationary_variance,
    ula_variance_after,
    variance_bias_curve,
)
from calc_core.diffusion.mixture import (
    GaussianMixture,
    mixture_log_density,
    mixture_score,
    noised_mixture,
    vp_marginal_mixture,
)
from calc_core.diffusion.quality import energy_distance, mode_weights, sample_distance
from calc_core.diffusion.vp import VPSchedule, forward_noising, probability_flow, reverse_sde, time_grid

__all__ = [
    "GaussianMixture", "LangevinRun", "PRESETS", "Result", "ScoreFit", "ScoreModel", "Settings", "VPSchedule",
    "annealed_langevin_sample", "diagnose", "dsm_loss_of_scores", "dsm_pairs", "energy_distance",
    "features_loss", "features_loss_gradient", "fit_dsm", "fit_score_model", "forward_noising",
    "geometric_noise_levels", "langevin_sample", "mixture_log_density", "mixture_score", "mode_weights",
    "network_loss", "network_loss_gradient", "LIMITS", "check_settings", "score_model_settings",
    "SamplingStep", "Scene", "model_width_range", "sampling_step", "scene",
    "network_loss_and_gradient", "noised_mixture", "preset_diagnosis", "probability_flow",
    "reverse_sde", "run", "sample_distance", "time_grid", "tweedie_denoise", "ula_stationary_variance",
    "ula_variance_after", "variance_bias_curve", "vp_marginal_mixture",
]
