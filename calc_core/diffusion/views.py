r"""What the Diffusion page's charts show, computed from a mixture: each a small dataclass of arrays.

* :func:`density_field` — p and p_σ on a grid (a curve in 1-D, a heatmap in 2-D) with their scores
  where the arrows go;
* :func:`histogram` — the samples' first coordinate against the exact marginal of p per bin,
  P(b_j ≤ x₁ < b_{j+1}) = Σ_k w_k [Φ((b_{j+1} − μ_k)/σ_k) − Φ((b_j − μ_k)/σ_k)];
* :func:`reverse_paths` — exact draws noised by the VP process, and noise brought back by the
  reverse SDE and the probability-flow ODE from the *same* x_1, with the exact score of p_t;
* :func:`tweedie` — noisy points x̃ = x + σξ and their denoised E[x | x̃] = x̃ + σ² ∇log p_σ(x̃),
  with the true score and with the learned one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from calc_core.common.snapshots import MAX_SNAPSHOTS, Snapshots, evenly_spaced
from calc_core.diffusion.dsm import tweedie_denoise
from calc_core.diffusion.mixture import GaussianMixture
from calc_core.diffusion.quality import ExactReference, ModeWeights, SampleDistance, mode_weights
from calc_core.diffusion.vp import DiffusionPath, VPSchedule, forward_noising, probability_flow, reverse_sde, time_grid

GRID_POINTS = {1: 400, 2: 64}  # the density grid, per axis
ARROWS = 15  # score arrows per axis (2-D)
HISTOGRAM_BINS = 48
TWEEDIE_POINTS = 60
REVERSE_STEPS = 100
REVERSE_PARTICLES = 500


def view_box(mixture: GaussianMixture, sigma: float):
    """A square box (low, high) around the modes: 3 widths of p_σ's widest component beyond them."""
    margin = 3.0 * float(np.sqrt(np.max(mixture.sigmas) ** 2 + sigma**2))
    low, high = mixture.means.min(axis=0) - margin, mixture.means.max(axis=0) + margin
    centre, half = (low + high) / 2, float(np.max(high - low)) / 2
    return centre - half, centre + half


@dataclass(frozen=True)
class DensityField:
    """p and p_σ on a grid, and their scores where the arrows go (in 1-D, the grid itself)."""

    axes: tuple  # grid coordinates along x₁ (and x₂)
    density: np.ndarray  # p: (G,) in 1-D; (G, G) in 2-D, row i along x₂ = axes[1][i]
    noised_density: np.ndarray  # p_σ, same shape
    arrow_points: np.ndarray  # (A, d)
    score: np.ndarray  # (A, d) ∇ log p
    noised_score: np.ndarray  # (A, d) ∇ log p_σ


def density_field(mixture: GaussianMixture, noised: GaussianMixture, box) -> DensityField:
    d = mixture.dimension
    axes = tuple(np.linspace(lo, hi, GRID_POINTS[d]) for lo, hi in zip(box[0], box[1]))
    if d == 1:
        points = axes[0][:, None]
        shape, arrows = (axes[0].size,), points
    else:
        grid = np.stack(np.meshgrid(axes[0], axes[1]), axis=-1)  # (G, G, 2), row i at x₂ = axes[1][i]
        points, shape = grid.reshape(-1, 2), grid.shape[:2]
        lines = [np.linspace(lo, hi, ARROWS) for lo, hi in zip(box[0], box[1])]
        arrows = np.stack(np.meshgrid(*lines), axis=-1).reshape(-1, 2)
    return DensityField(axes, np.exp(mixture.log_density(points)).reshape(shape),
                        np.exp(noised.log_density(points)).reshape(shape), arrows, mixture.score(arrows),
                        noised.score(arrows))


@dataclass(frozen=True)
class Histogram:
    """Samples' x₁ against the exact marginal of p, as densities per bin."""

    edges: np.ndarray  # (B + 1,)
    samples: np.ndarray  # (B,) count / (n × bin width)
    target: np.ndarray  # (B,) P(bin) / bin width, exact
    outside: float  # share of samples outside the edges


def histogram(x, mixture: GaussianMixture, box) -> Histogram:
    edges = np.linspace(box[0][0], box[1][0], HISTOGRAM_BINS + 1)
    counts, _ = np.histogram(x[:, 0], bins=edges)
    width = edges[1] - edges[0]
    return Histogram(edges, counts / (x.shape[0] * width), mixture.marginal_bin_probabilities(edges) / width,
                     1.0 - counts.sum() / x.shape[0])


@dataclass(frozen=True)
class ReversePaths:
    """Exact draws noised to t = 1, and noise brought back by the reverse SDE and the ODE."""

    schedule: VPSchedule
    forward: Snapshots  # "x" (S, n, d), "t" (S,)
    reverse_sde: Snapshots
    probability_flow: Snapshots
    sde_mode_weights: ModeWeights
    flow_mode_weights: ModeWeights
    sde_distance: SampleDistance
    flow_distance: SampleDistance
    stopped_at: int | None  # a reverse process that blew up (None: neither did)


def path_snapshots(path: DiffusionPath) -> Snapshots:
    """At most MAX_SNAPSHOTS of a path's time steps, with their times."""
    keep = evenly_spaced(path.x.shape[0] - 1, MAX_SNAPSHOTS)
    return Snapshots(keep, "time step", {"x": path.x[keep], "t": path.times[keep]})


def reverse_paths(mixture: GaussianMixture, reference: ExactReference, seeds) -> ReversePaths:
    """``seeds``: three seeds, for the draws and x_1, the forward noise and the reverse SDE's noise."""
    schedule = VPSchedule()
    rng = np.random.default_rng(seeds[0])
    x0, _ = mixture.sample(REVERSE_PARTICLES, rng)
    forward = forward_noising(x0, time_grid(REVERSE_STEPS), schedule, seeds[1])
    marginals = {}

    def score_at(x, t):
        if t not in marginals:
            marginals[t] = mixture.vp_marginal(float(schedule.alpha_bar(t)))
        return marginals[t].score(x)

    x1 = rng.standard_normal(x0.shape)
    times = time_grid(REVERSE_STEPS, reverse=True)
    sde = reverse_sde(score_at, x1, times, schedule, seeds[2])
    flow = probability_flow(score_at, x1, times, schedule)
    return ReversePaths(
        schedule, path_snapshots(forward), path_snapshots(sde), path_snapshots(flow),
        mode_weights(sde.final, mixture), mode_weights(flow.final, mixture),
        reference.distance(sde.final), reference.distance(flow.final), sde.stopped_at or flow.stopped_at)


@dataclass(frozen=True)
class Tweedie:
    """Noisy points x̃ = x + σξ and E[x | x̃] = x̃ + σ² ∇log p_σ(x̃), with the true and the learned score."""

    clean: np.ndarray  # (M, d)
    noisy: np.ndarray  # (M, d)
    denoised: np.ndarray  # (M, d) with ∇ log p_σ
    denoised_learned: np.ndarray  # (M, d) with s_θ
    noisy_error: float  # mean ‖x̃ − x‖²  (≈ d σ²)
    denoised_error: float  # mean ‖E[x|x̃] − x‖²
    denoised_learned_error: float


def tweedie(mixture: GaussianMixture, sigma: float, learned_score: Callable, seed: int) -> Tweedie:
    rng = np.random.default_rng(seed)
    clean, _ = mixture.sample(TWEEDIE_POINTS, rng)
    noisy = clean + sigma * rng.standard_normal(clean.shape)
    denoised = tweedie_denoise(noisy, sigma, mixture.noised(sigma).score)
    learned = tweedie_denoise(noisy, sigma, learned_score)

    def error(x):
        return float(np.mean(np.sum((x - clean) ** 2, axis=1)))

    return Tweedie(clean, noisy, denoised, learned, error(noisy), error(denoised), error(learned))
