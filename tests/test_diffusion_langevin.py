"""calc_core.diffusion.langevin: unadjusted and Metropolis-adjusted Langevin, annealing, explosions.

Statistical tests use fixed seeds and tolerances derived from the sample size, so they hold on any
CPU (no exact trajectories are compared)."""

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtr

from calc_core.diffusion import (
    GaussianMixture,
    annealed_langevin_sample,
    geometric_noise_levels,
    langevin_sample,
    ula_stationary_variance,
    ula_variance_after,
    variance_bias_curve,
)
from calc_core.diffusion.mixture import mixture_layout
from calc_core.diffusion.quality import mode_weights

S = 0.5  # the Gaussian target N(0, s²)


def gaussian_score(x):
    return -x / S**2


def gaussian_log_density(x):
    return -0.5 * np.sum(x * x, axis=1) / S**2


def from_target(n, seed=0):
    return S * np.random.default_rng([seed, 99]).standard_normal((n, 1))


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_unadjusted_variance_matches_the_exact_formula_within_sampling_error(fraction):
    """Started from N(0, s²), x_n − m = ρⁿ (x₀ − m) + Gaussian noise with ρ = 1 − ε/s², so every particle
    is exactly N(0, v_n) with v_n = v_∞ + (s² − v_∞) ρ^{2n} and v_∞ = s²/(1 − ε/(2s²)). The N particles are
    independent, so N v̂ / v_n with v̂ = mean(x²) is χ²_N: its standard deviation is √(2N), i.e.
    sd(v̂) = v_n √(2/N). We allow 5 sd (a false alarm once in ~1.7 million runs)."""
    n, steps = 20000, 300
    step = fraction * 2 * S**2
    run = langevin_sample(gaussian_score, from_target(n), step, steps, seed=1)
    expected = ula_variance_after(S**2, S, step, steps)
    assert expected == pytest.approx(ula_stationary_variance(S, step), rel=1e-6)  # transient long gone
    measured = float(np.mean(run.x**2))
    assert abs(measured - expected) <= 5 * expected * math.sqrt(2 / n)
    assert abs(measured - S**2) > 5 * S**2 * math.sqrt(2 / n)  # … and the bias is real, not noise


def test_unadjusted_samples_follow_the_inflated_gaussian_by_kolmogorov_smirnov():
    step = 0.5 * 2 * S**2
    run = langevin_sample(gaussian_score, from_target(5000), step, 200, seed=2)
    inflated = math.sqrt(ula_stationary_variance(S, step))
    assert stats.kstest(run.x[:, 0], stats.norm(0, inflated).cdf).pvalue > 1e-3
    assert stats.kstest(run.x[:, 0], stats.norm(0, S).cdf).pvalue < 1e-6  # the target itself is rejected


def test_mala_removes_the_step_size_bias():
    """MALA leaves N(0, s²) exactly invariant, so from exact draws every step is again N(0, s²): the
    statistic N v̂ / s² is χ²_N. A two-sided 10⁻⁶ interval of that law, from scipy.stats."""
    n = 20000
    step = 0.5 * 2 * S**2  # the step whose unadjusted chain is 33% too wide
    run = langevin_sample(gaussian_score, from_target(n), step, 300, seed=3, log_density=gaussian_log_density)
    statistic = n * float(np.mean(run.x**2)) / S**2
    low, high = stats.chi2(n).ppf([5e-7, 1 - 5e-7])
    assert low <= statistic <= high
    assert 0.2 < run.acceptance_rate < 1.0
    assert stats.kstest(run.x[:, 0], stats.norm(0, S).cdf).pvalue > 1e-3


def test_mala_keeps_a_mixture_exactly_by_kolmogorov_smirnov():
    mixture = GaussianMixture([0.7, 0.3], [[-1.0], [1.5]], [0.4, 0.8])
    x0, _ = mixture.sample(4000, np.random.default_rng(4))
    run = langevin_sample(mixture.score, x0, 0.3, 150, seed=4, log_density=mixture.log_density)
    cdf = lambda t: ndtr((np.asarray(t)[:, None] - mixture.means[None, :, 0]) / mixture.sigmas) @ mixture.weights  # noqa: E731
    assert stats.kstest(run.x[:, 0], cdf).pvalue > 1e-3
    unadjusted = langevin_sample(mixture.score, x0, 0.3, 150, seed=4)
    assert stats.kstest(unadjusted.x[:, 0], cdf).pvalue < 1e-6


def test_variance_bias_curve_follows_the_exact_curve_and_mala_stays_flat():
    fractions = np.array([0.1, 0.5, 0.8])
    curve = variance_bias_curve(S, fractions * 2 * S**2, n_particles=5000, n_iterations=80, seed=0)
    tolerance = 5 * math.sqrt(2 / 5000)  # relative: χ²_N as above
    np.testing.assert_allclose(curve.exact_ula_variance, S**2 / (1 - fractions))
    assert np.all(np.abs(curve.ula_variance / curve.exact_ula_variance - 1) <= tolerance)
    assert np.all(np.abs(curve.mala_variance / S**2 - 1) <= tolerance)


def test_exact_variance_formulas():
    assert ula_stationary_variance(0.5, 0.25) == pytest.approx(0.25 / (1 - 0.5))
    assert ula_stationary_variance(0.5, 0.5) == math.inf  # ε = 2s²: no stationary distribution
    # v_n by the recursion v ← (1 − ε/s²)² v + 2ε
    v = 0.1
    for _ in range(7):
        v = (1 - 0.1 / 0.25) ** 2 * v + 2 * 0.1
    assert ula_variance_after(0.1, 0.5, 0.1, 7) == pytest.approx(v, rel=1e-12)


def test_a_step_above_two_s_squared_explodes_and_reports_the_step_without_nan():
    run = langevin_sample(gaussian_score, from_target(500), 3 * S**2, 500, seed=5)  # 1 − ε/s² = −2
    assert run.exploded and run.exploded_at is not None and 1 < run.exploded_at < 100
    assert run.n_completed == run.exploded_at - 1
    assert np.all(np.isfinite(run.x)) and np.max(np.abs(run.x)) <= run.max_abs
    assert run.snapshots.steps[-1] == run.n_completed
    assert all(np.all(np.isfinite(value)) for value in run.snapshots.states.values())
    assert 0 < run.exploded_fraction <= 1


def test_a_score_that_turns_nan_stops_the_chain_at_that_step():
    calls = []

    def score(x):
        calls.append(1)
        return np.full_like(x, np.nan) if len(calls) > 10 else -x

    run = langevin_sample(score, np.zeros((20, 2)), 0.01, 50, seed=0)
    assert run.exploded_at == 11 and np.all(np.isfinite(run.x))


def test_annealing_recovers_the_mode_weights_that_plain_langevin_misses():
    """Weights 0.8 / 0.2, modes 4 apart with width 0.5, particles from N(0, 8² I). The stated
    tolerance: total variation ≤ 0.05, four standard errors √(0.8·0.2/1000) = 0.013 of exact sampling.
    Plain Langevin splits the particles by the side they start on (≈ 50/50: TV ≈ 0.3)."""
    mixture = GaussianMixture([0.8, 0.2], mixture_layout(2, 2, 4.0), [0.5, 0.5])
    sigmas = geometric_noise_levels(8.0, 0.2, 10)
    levels = {float(s): mixture.noised(float(s)) for s in sigmas}
    for seed in range(5):
        x0 = 8.0 * np.random.default_rng([seed, 1]).standard_normal((1000, 2))
        plain = langevin_sample(mixture.score, x0, 0.01, 400, seed)
        annealed = annealed_langevin_sample(lambda x, s: levels[float(s)].score(x), x0, sigmas, 0.01, 40, seed)
        assert mode_weights(annealed.x, mixture).total_variation <= 0.05, seed
        assert mode_weights(plain.x, mixture).total_variation >= 0.15, seed
        assert annealed.snapshots.states["noise_level"][-1] == pytest.approx(0.2)


def test_annealed_steps_follow_alpha_i_equals_epsilon_sigma_i_squared_over_sigma_l_squared():
    sigmas = geometric_noise_levels(4.0, 0.5, 4)
    np.testing.assert_allclose(sigmas, [4.0, 2.0, 1.0, 0.5])
    run = annealed_langevin_sample(lambda x, s: -x / (1 + s**2), np.zeros((10, 1)), sigmas, 0.01, 5, seed=0,
                                   snapshot_count=41)
    levels = run.snapshots.states["noise_level"][1:]
    steps = run.snapshots.states["step_size"][1:]
    np.testing.assert_allclose(steps, 0.01 * levels**2 / 0.25)
    assert run.n_steps == 20 and run.snapshots.steps[-1] == 20


def test_annealed_mala_is_supported_and_accepts_most_small_steps():
    mixture = GaussianMixture([0.8, 0.2], [[-2.0], [2.0]], [0.5, 0.5])
    sigmas = geometric_noise_levels(6.0, 0.2, 6)
    levels = {float(s): mixture.noised(float(s)) for s in sigmas}
    x0 = 6.0 * np.random.default_rng(0).standard_normal((500, 1))
    run = annealed_langevin_sample(lambda x, s: levels[float(s)].score(x), x0, sigmas, 0.005, 30, 0,
                                   log_density_at=lambda x, s: levels[float(s)].log_density(x))
    assert run.acceptance_rate > 0.8 and mode_weights(run.x, mixture).total_variation <= 0.1


def test_snapshots_are_bounded_and_keep_first_and_last_steps():
    run = langevin_sample(gaussian_score, from_target(3000), 0.01, 500, seed=0)
    assert len(run.snapshots) <= 41 and run.snapshots.steps[0] == 0 and run.snapshots.steps[-1] == 500
    assert run.snapshots.states["x"].shape[1:] == (2000, 1)
    np.testing.assert_array_equal(run.snapshots.states["x"][-1], run.x[:2000])


def test_every_particle_may_have_its_own_step():
    steps = np.repeat([0.05, 0.4], 5000)
    run = langevin_sample(gaussian_score, from_target(10000), steps, 200, seed=6)
    for k, step in enumerate((0.05, 0.4)):
        measured = float(np.mean(run.x[5000 * k: 5000 * (k + 1)] ** 2))
        expected = ula_stationary_variance(S, step)
        assert abs(measured - expected) <= 5 * expected * math.sqrt(2 / 5000)


@pytest.mark.parametrize("kwargs, match", [
    ({"step": 0.0}, "step ε must be > 0"),
    ({"step": -0.1}, "step ε must be > 0"),
    ({"step": math.nan}, "finite"),
    ({"n_steps": -1}, "number of steps"),
    ({"n_steps": 2.5}, "whole number"),
    ({"seed": -3}, "seed"),
    ({"x0": np.array([[np.inf]])}, "NaN or infinite"),
    ({"x0": np.zeros(3)}, "2-D array"),
    ({"score": lambda x: x[:, :1].ravel()}, "must return shape"),
    ({"step": np.array([0.1, -0.1])}, "one positive number per particle"),
])
def test_bad_sampler_settings_raise_a_clear_value_error(kwargs, match):
    arguments = {"score": gaussian_score, "x0": np.zeros((2, 1)), "step": 0.1, "n_steps": 5, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        langevin_sample(**arguments)


def test_bad_noise_levels_raise():
    with pytest.raises(ValueError, match="larger than σ_min"):
        geometric_noise_levels(0.1, 1.0, 5)
    with pytest.raises(ValueError, match="σ_min must be > 0"):
        geometric_noise_levels(1.0, 0.0, 5)
    with pytest.raises(ValueError, match="positive and decreasing"):
        annealed_langevin_sample(lambda x, s: -x, np.zeros((2, 1)), [1.0, 2.0], 0.1, 5, 0)
