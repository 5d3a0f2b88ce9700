"""calc_core.diffusion.mixture: log p and its score in closed form, against independent references.

References: finite differences of log p alone (calc_core.common.gradcheck, in extended precision),
scipy.stats' normal densities, numerical convolution (scipy.integrate), and torch's autograd."""

import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import ndtr

from calc_core.common.gradcheck import check_gradients
from calc_core.diffusion import (
    GaussianMixture,
    mixture_log_density,
    mixture_score,
    noised_mixture,
    vp_marginal_mixture,
)
from calc_core.diffusion.mixture import mixture_layout

WEIGHTS = np.array([0.5, 0.3, 0.2])
SIGMAS = np.array([0.5, 0.2, 1.0])


def means(d):
    return mixture_layout(d, 3, 3.0)


def points(d, where):
    """Near: a little off each mean and between the first two; far: 40 widths beyond every mode."""
    mu = means(d)
    offset = np.array([0.3, -0.2])[:d]
    if where == "near":
        return np.vstack([mu + offset, (mu[:1] + mu[1:2]) / 2])
    return np.array([[40.0, 25.0][:d], [-60.0, 30.0][:d], [0.0, -80.0][:d]])


def score_check(mixture, x, factor=1.0):
    """check_gradients of f(x) = Σ log p(x_n) against factor × the closed-form score."""
    def f(params):
        return np.sum(mixture.log_density(params["x"]))

    scale = float(np.sum(np.abs(mixture.log_density(x))))
    return check_gradients(lambda p: float(f(p)), {"x": x}, {"x": factor * mixture.score(x)}, f_scale=scale,
                           extended=f)[0]


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("where", ["near", "far"])
@pytest.mark.parametrize("smoothing", [None, 0.7])
def test_score_matches_finite_differences_of_log_density_near_and_far_from_the_modes(d, where, smoothing):
    mixture = GaussianMixture(WEIGHTS, means(d), SIGMAS)
    if smoothing is not None:
        mixture = mixture.noised(smoothing)
    check = score_check(mixture, points(d, where))
    assert check.verdict != "fail", check.reason
    assert check.verdict == "pass", check.reason  # closed form, extended precision: nothing is too flat here


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("where", ["near", "far"])
@pytest.mark.parametrize("factor", [1 + 1e-4, -1.0])
def test_a_slightly_wrong_or_sign_flipped_score_never_passes(d, where, factor):
    mixture = GaussianMixture(WEIGHTS, means(d), SIGMAS).noised(0.3)
    check = score_check(mixture, points(d, where), factor)
    assert check.verdict != "pass", check.reason


def test_log_density_matches_scipy_normal_densities():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 2)) * 3
    mu = means(2)
    expected = np.log(sum(w * stats.multivariate_normal(m, s**2 * np.eye(2)).pdf(x)
                          for w, m, s in zip(WEIGHTS, mu, SIGMAS)))
    np.testing.assert_allclose(mixture_log_density(x, WEIGHTS, mu, SIGMAS), expected, rtol=1e-12)


def test_weights_are_normalized_and_may_include_zero():
    x = np.array([[0.1], [2.5]])
    mu = np.array([[0.0], [3.0]])
    np.testing.assert_allclose(mixture_log_density(x, [2.0, 2.0], mu, [1.0, 1.0]),
                               mixture_log_density(x, [0.5, 0.5], mu, [1.0, 1.0]), rtol=1e-15)
    np.testing.assert_allclose(mixture_log_density(x, [1.0, 0.0], mu, [1.0, 1.0]),
                               stats.norm(0, 1).logpdf(x[:, 0]), rtol=1e-14)


def test_far_from_every_mode_log_density_and_score_stay_finite_and_exact():
    mu = np.array([[-1.0], [1.0]])
    x = np.array([[1e4], [-1e5], [3e6]])
    log_p = mixture_log_density(x, [0.5, 0.5], mu, [0.1, 0.1])
    score = mixture_score(x, [0.5, 0.5], mu, [0.1, 0.1])
    assert np.all(np.isfinite(log_p)) and np.all(np.isfinite(score))
    # far to the right only the right mode counts: ∇ log p ≈ −(x − 1)/σ², and log p ≈ log ½ + log N(x; 1, σ²)
    np.testing.assert_allclose(score[[0, 2], 0], -(x[[0, 2], 0] - 1) / 0.01, rtol=1e-12)
    np.testing.assert_allclose(log_p[0], math.log(0.5) + stats.norm(1, 0.1).logpdf(1e4), rtol=1e-12)


def test_noised_mixture_matches_the_numerical_convolution_in_1d():
    mu = np.array([[-1.5], [0.5], [2.0]])
    sigma = 0.6
    w, m, s = noised_mixture(WEIGHTS, mu, SIGMAS, sigma)
    np.testing.assert_allclose(s, np.sqrt(SIGMAS**2 + sigma**2))

    def normal(z, s):
        return math.exp(-z * z / (2 * s * s)) / (s * math.sqrt(2 * math.pi))

    def convolved(x):
        # p_σ(x) = ∫ p(y) N(x − y; 0, σ²) dy, with p written out independently of calc_core
        def integrand(y):
            return sum(w * normal(y - m, s) for w, m, s in zip(WEIGHTS, mu[:, 0], SIGMAS)) * normal(x - y, sigma)
        return integrate.quad(integrand, -15, 15, points=[-1.5, 0.5, 2.0], epsabs=1e-13, limit=200)[0]

    for x in (-3.0, -1.5, 0.0, 0.7, 2.2, 5.0):
        assert np.exp(mixture_log_density([[x]], w, m, s)[0]) == pytest.approx(convolved(x), rel=1e-8)
    # and its score is the derivative of the convolution's log (a central difference of quad values)
    h = 1e-4
    for x in (-0.8, 1.3):
        numeric = (math.log(convolved(x + h)) - math.log(convolved(x - h))) / (2 * h)
        assert mixture_score([[x]], w, m, s)[0, 0] == pytest.approx(numeric, rel=1e-6)


def test_noised_mixture_matches_a_fine_grid_convolution_in_2d():
    mu = means(2)
    sigma = 0.5
    noised = GaussianMixture(WEIGHTS, mu, SIGMAS).noised(sigma)
    h = 0.02
    grid = np.arange(-6, 6 + h / 2, h)
    gx, gy = np.meshgrid(grid, grid)
    density = np.exp(mixture_log_density(np.column_stack([gx.ravel(), gy.ravel()]), WEIGHTS, mu, SIGMAS))
    for x in ([0.0, 0.0], [1.2, -0.4], [-2.0, 1.0]):
        kernel = np.exp(-((gx.ravel() - x[0]) ** 2 + (gy.ravel() - x[1]) ** 2) / (2 * sigma**2)) / (2 * np.pi * sigma**2)
        riemann = float(np.sum(density * kernel) * h * h)  # spectrally accurate for smooth, decaying integrands
        assert np.exp(noised.log_density(np.array([x]))[0]) == pytest.approx(riemann, rel=1e-7)


def test_vp_marginal_is_the_scaled_and_smoothed_mixture():
    w, m, s = vp_marginal_mixture(WEIGHTS, means(2), SIGMAS, 0.25)
    np.testing.assert_allclose(m, 0.5 * means(2))
    np.testing.assert_allclose(s**2, 0.25 * SIGMAS**2 + 0.75)
    np.testing.assert_allclose(w, WEIGHTS)


def test_exact_draws_follow_the_mixture_by_a_kolmogorov_smirnov_test():
    mixture = GaussianMixture(WEIGHTS, means(1), SIGMAS)
    x, component = mixture.sample(5000, np.random.default_rng(3))
    cdf = lambda t: ndtr((np.asarray(t)[:, None] - mixture.means[None, :, 0]) / SIGMAS) @ WEIGHTS  # noqa: E731
    assert stats.kstest(x[:, 0], cdf).pvalue > 1e-3
    assert np.bincount(component) / 5000 == pytest.approx(WEIGHTS, abs=0.03)


def test_marginal_bin_probabilities_sum_to_one_over_a_wide_range():
    mixture = GaussianMixture(WEIGHTS, means(2), SIGMAS)
    probabilities = mixture.marginal_bin_probabilities(np.linspace(-20, 20, 81))
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-12) and np.all(probabilities >= 0)


@pytest.mark.parametrize("d", [1, 2])
def test_score_matches_torch_autograd_of_the_log_density(d):
    torch = pytest.importorskip("torch")
    mu = means(d)
    x = np.vstack([points(d, "near"), points(d, "far"), np.random.default_rng(1).normal(size=(20, d)) * 4])
    for sigmas in (SIGMAS, np.sqrt(SIGMAS**2 + 0.49)):
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        diff = xt[:, None, :] - torch.tensor(mu)[None]
        var = torch.tensor(sigmas**2)
        terms = torch.log(torch.tensor(WEIGHTS)) - 0.5 * d * torch.log(2 * math.pi * var) - (diff**2).sum(-1) / (2 * var)
        log_p = torch.logsumexp(terms, dim=1)
        (grad,) = torch.autograd.grad(log_p.sum(), xt)
        np.testing.assert_allclose(mixture_log_density(x, WEIGHTS, mu, sigmas), log_p.detach().numpy(), rtol=1e-13)
        np.testing.assert_allclose(mixture_score(x, WEIGHTS, mu, sigmas), grad.numpy(), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("weights, mu, sigmas, match", [
    ([0.5, -0.1], [[0.0], [1.0]], [1.0, 1.0], "must not be negative"),
    ([0.0, 0.0], [[0.0], [1.0]], [1.0, 1.0], "sum to a positive number"),
    ([0.5, 0.5], [[0.0], [1.0]], [1.0, 0.0], "must be > 0"),
    ([0.5, 0.5], [[0.0], [1.0]], [1.0, -2.0], "must be > 0"),
    ([0.5, 0.5], [[0.0], [np.nan]], [1.0, 1.0], "NaN or infinite"),
    ([0.5, np.inf], [[0.0], [1.0]], [1.0, 1.0], "NaN or infinite"),
    ([0.5, 0.5], [[0.0]], [1.0, 1.0], "one weight, one mean and one width"),
    ([0.5, 0.5], [0.0, 1.0], [1.0, 1.0], "2-D array"),
])
def test_bad_mixtures_raise_a_clear_value_error(weights, mu, sigmas, match):
    with pytest.raises(ValueError, match=match):
        mixture_score([[0.0]], weights, mu, sigmas)


def test_bad_points_and_noise_levels_raise():
    with pytest.raises(ValueError, match="NaN or infinite"):
        mixture_log_density([[np.nan]], [1.0], [[0.0]], [1.0])
    with pytest.raises(ValueError, match="one column per dimension"):
        mixture_score([[0.0, 1.0]], [1.0], [[0.0]], [1.0])
    with pytest.raises(ValueError, match="σ must be > 0"):
        noised_mixture([1.0], [[0.0]], [1.0], 0.0)
    with pytest.raises(ValueError, match="ᾱ_t"):
        vp_marginal_mixture([1.0], [[0.0]], [1.0], 1.5)
