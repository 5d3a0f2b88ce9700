"""calc_core.diffusion.vp: the variance-preserving forward process and its exact reverse."""

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtr

from calc_core.diffusion import (
    GaussianMixture,
    VPSchedule,
    energy_distance,
    forward_noising,
    probability_flow,
    reverse_sde,
    time_grid,
)
from calc_core.diffusion.quality import mode_weights

MIXTURE = GaussianMixture([0.8, 0.2], [[-2.0], [2.0]], [0.5, 0.5])
SCHEDULE = VPSchedule()


def mixture_cdf(mixture):
    return lambda t: ndtr((np.asarray(t)[:, None] - mixture.means[None, :, 0]) / mixture.sigmas) @ mixture.weights


def score_at(mixture):
    def score(x, t):
        return mixture.vp_marginal(float(SCHEDULE.alpha_bar(t))).score(x)
    return score


def test_alpha_bar_is_the_exponential_of_minus_the_integrated_beta():
    t = 0.37
    integral = SCHEDULE.beta_min * t + 0.5 * (SCHEDULE.beta_max - SCHEDULE.beta_min) * t**2
    assert SCHEDULE.alpha_bar(t) == pytest.approx(math.exp(-integral))
    # d/dt log ᾱ = −β(t), by a central difference
    h = 1e-6
    slope = (math.log(SCHEDULE.alpha_bar(t + h)) - math.log(SCHEDULE.alpha_bar(t - h))) / (2 * h)
    assert slope == pytest.approx(-SCHEDULE.beta(t), rel=1e-7)
    assert SCHEDULE.alpha_bar(1.0) < 1e-4  # p_1 is N(0, I) to within ᾱ_1


@pytest.mark.parametrize("t_index", [10, 40, 100])
def test_forward_noising_has_the_marginals_of_the_scaled_mixture(t_index):
    x0, _ = MIXTURE.sample(5000, np.random.default_rng(0))
    times = time_grid(100)
    path = forward_noising(x0, times, SCHEDULE, seed=1)
    marginal = MIXTURE.vp_marginal(float(SCHEDULE.alpha_bar(times[t_index])))
    assert stats.kstest(path.x[t_index][:, 0], mixture_cdf(marginal)).pvalue > 1e-3


def test_time_grid_runs_from_t_min_to_one_and_is_denser_near_zero():
    grid = time_grid(50)
    assert grid[0] == pytest.approx(1e-3) and grid[-1] == 1.0 and np.all(np.diff(grid) > 0)
    assert np.diff(grid)[0] < np.diff(grid)[-1]
    np.testing.assert_allclose(time_grid(50, reverse=True), grid[::-1])


@pytest.mark.parametrize("process", ["sde", "ode"])
def test_reverse_processes_bring_noise_back_to_the_mixture(process):
    """From N(0, 1) at t = 1 with the exact score of p_t: mode weights within 0.05 (about 4 standard
    errors √(0.16/2000) = 0.009, plus room for the Euler steps) and a KS test on the samples."""
    x1 = np.random.default_rng(2).standard_normal((2000, 1))
    times = time_grid(200, reverse=True)
    if process == "sde":
        path = reverse_sde(score_at(MIXTURE), x1, times, SCHEDULE, seed=3)
    else:
        path = probability_flow(score_at(MIXTURE), x1, times, SCHEDULE)
    assert path.stopped_at is None and path.x.shape == (201, 2000, 1)
    assert mode_weights(path.final, MIXTURE).total_variation <= 0.05
    assert stats.kstest(path.final[:, 0], mixture_cdf(MIXTURE)).pvalue > 1e-3


def test_reverse_processes_in_2d_get_as_close_as_exact_draws_up_to_discretization():
    mixture = GaussianMixture([0.6, 0.3, 0.1], [[-2.0, 0.0], [2.0, 0.5], [0.0, 3.0]], [0.5, 0.4, 0.6])
    rng = np.random.default_rng(4)
    x1 = rng.standard_normal((600, 2))
    times = time_grid(100, reverse=True)
    exact, _ = mixture.sample(600, rng)
    other, _ = mixture.sample(600, rng)
    reference = energy_distance(other, exact)
    for path in (reverse_sde(score_at(mixture), x1, times, SCHEDULE, 5),
                 probability_flow(score_at(mixture), x1, times, SCHEDULE)):
        assert energy_distance(path.final, exact) <= 3 * reference
    assert energy_distance(x1, exact) > 20 * reference  # the noise itself is far away
    wrong, _ = GaussianMixture([0.3, 0.3, 0.4], mixture.means, mixture.sigmas).sample(600, rng)
    assert energy_distance(wrong, exact) > 20 * reference  # and so are wrong mode weights


def test_the_probability_flow_is_deterministic_and_the_sde_is_not():
    x1 = np.random.default_rng(6).standard_normal((50, 2))
    mixture = GaussianMixture([0.5, 0.5], [[-1.0, 0.0], [1.0, 0.0]], [0.3, 0.3])
    times = time_grid(60, reverse=True)
    a = probability_flow(score_at(mixture), x1, times, SCHEDULE)
    b = probability_flow(score_at(mixture), x1.copy(), times, SCHEDULE)
    np.testing.assert_array_equal(a.x, b.x)
    c = reverse_sde(score_at(mixture), x1, times, SCHEDULE, seed=1)
    d = reverse_sde(score_at(mixture), x1, times, SCHEDULE, seed=2)
    assert not np.allclose(c.final, d.final)


def test_a_reverse_process_that_blows_up_stops_without_nan():
    def wild_score(x, t):
        return 1e3 * x  # pushes outwards: no density has this score near t = 1

    path = reverse_sde(wild_score, np.ones((10, 1)), time_grid(100, reverse=True), SCHEDULE, 0)
    assert path.stopped_at is not None and np.all(np.isfinite(path.x))
    assert path.x.shape[0] == path.times.size == path.stopped_at


def test_bad_times_and_schedules_raise():
    with pytest.raises(ValueError, match="decreasing"):
        reverse_sde(score_at(MIXTURE), np.zeros((2, 1)), time_grid(10), SCHEDULE)
    with pytest.raises(ValueError, match="increasing"):
        forward_noising(np.zeros((2, 1)), time_grid(10, reverse=True))
    with pytest.raises(ValueError, match="β_max must be at least β_min"):
        VPSchedule(beta_min=5.0, beta_max=1.0)
    with pytest.raises(ValueError, match="β_min must be > 0"):
        VPSchedule(beta_min=0.0)
