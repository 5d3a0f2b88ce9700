"""calc_core.diffusion.dsm: denoising score matching, its hand-derived gradients, and Tweedie's formula."""

import math

import numpy as np
import pytest

from calc_core.common.gradcheck import check_gradients
from calc_core.diffusion import GaussianMixture, dsm_pairs, fit_dsm, tweedie_denoise
from calc_core.diffusion.dsm import (
    features_loss,
    features_loss_gradient,
    init_network,
    make_features,
    network_loss,
    network_loss_gradient,
)

M, S, SIGMA = 1.5, 0.7, 0.5  # the Gaussian target N(m, s²) and the noise level σ


def gaussian_fit(n, d=1, steps=200, seed=0):
    mixture = GaussianMixture([1.0], [[M] * d], [S])
    x, _ = mixture.sample(n, np.random.default_rng([seed, 1]))
    spread = math.sqrt(S**2 + SIGMA**2)
    box = (np.full(d, M - 4 * spread), np.full(d, M + 4 * spread))
    return fit_dsm(x, SIGMA, "linear", 0, steps, seed, box, mixture.noised(SIGMA).score), mixture


def test_dsm_with_features_one_and_x_recovers_the_score_of_the_noised_gaussian():
    """For x ~ N(m, s²) and x̃ = x + σξ the target y = −(x̃ − x)/σ² has E[y | x̃] = −(x̃ − m)/(s² + σ²),
    a straight line, and Var(y | x̃) = Var(x | x̃)/σ⁴ = s²/(σ²(s² + σ²)) =: τ². Least squares on n pairs
    then predicts at x with standard error τ √(1/n + (x − m)²/(n (s² + σ²))); we allow 5 of them."""
    n = 20000
    fit, _ = gaussian_fit(n)
    tau = S / (SIGMA * math.sqrt(S**2 + SIGMA**2))
    x = np.array([[M - 2.0], [M], [M + 1.0]])
    truth = -(x - M) / (S**2 + SIGMA**2)
    standard_error = tau * np.sqrt(1 / n + (x - M) ** 2 / (n * (S**2 + SIGMA**2)))
    assert np.all(np.abs(fit.model(x) - truth) <= 5 * standard_error)
    # … a tolerance tight enough to tell the slope of p_σ's score from that of p's, −1/s² (2× steeper),
    # or a slope 10% off
    assert 5 * standard_error[0, 0] < 0.1 * abs(truth[0, 0])


def test_dsm_in_2d_recovers_each_coordinate_of_the_gaussian_score():
    n = 20000
    fit, _ = gaussian_fit(n, d=2)
    tau = S / (SIGMA * math.sqrt(S**2 + SIGMA**2))
    x = np.array([[M - 1.5, M + 1.0], [M, M]])
    truth = -(x - M) / (S**2 + SIGMA**2)
    standard_error = tau * np.sqrt((1 + 2 * 1.5**2 / (S**2 + SIGMA**2)) / n)  # a bound for both points
    assert np.all(np.abs(fit.model(x) - truth) <= 5 * standard_error)


def test_the_dsm_loss_floor_is_the_noise_vincent_identifies():
    """ℓ at the true score is σ²/2 · Var(y | x̃) = s²/(2(s² + σ²)) per dimension in expectation (the
    constant by which DSM differs from explicit score matching); its standard error is that times √(2/n)."""
    n = 20000
    fit, _ = gaussian_fit(n, steps=50)
    expected = S**2 / (2 * (S**2 + SIGMA**2))
    assert abs(fit.loss_at_true_score - expected) <= 5 * expected * math.sqrt(2 / n)
    assert fit.final_loss == pytest.approx(fit.loss_at_true_score, rel=0.01)  # the line is the whole score
    assert fit.relative_error < 0.01


def test_gradient_descent_reaches_the_least_squares_fit():
    fit, mixture = gaussian_fit(5000, steps=300)
    x, _ = mixture.sample(5000, np.random.default_rng([0, 1]))
    x_noisy, y = dsm_pairs(x, SIGMA, np.random.default_rng([0, 7]))
    Phi = fit.model.features(x_noisy)
    best = np.linalg.lstsq(Phi, y, rcond=None)[0]
    np.testing.assert_allclose(fit.model.params["W"], best, rtol=1e-6, atol=1e-9)
    assert fit.loss_history[-1] == pytest.approx(features_loss(best, Phi, y, SIGMA), rel=1e-12)


def features_problem(seed=0, d=2):
    rng = np.random.default_rng(seed)
    features = make_features("features", 5, np.full(d, -3.0), np.full(d, 3.0))
    x_noisy = rng.normal(size=(32, d)) * 2
    y = rng.normal(size=(32, d))
    W = rng.normal(size=(features.n_features, d))
    return features(x_noisy), y, W


def network_problem(seed=0, d=2, hidden=8):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(32, d))
    return u, rng.normal(size=(32, d)), init_network(d, hidden, rng)


def test_features_loss_gradient_matches_finite_differences_and_a_wrong_one_does_not():
    Phi, y, W = features_problem()
    loss = lambda p: features_loss(p["W"], Phi, y, SIGMA)  # noqa: E731
    grad = features_loss_gradient(W, Phi, y, SIGMA)
    assert check_gradients(lambda p: float(loss(p)), {"W": W}, {"W": grad}, extended=loss)[0].verdict == "pass"
    for wrong in (grad * (1 + 1e-4), grad.T.reshape(grad.shape), -grad):
        assert check_gradients(lambda p: float(loss(p)), {"W": W}, {"W": wrong}, extended=loss)[0].verdict != "pass"


@pytest.mark.parametrize("d", [1, 2])
def test_network_loss_gradient_matches_finite_differences(d):
    u, y, params = network_problem(d=d)
    loss = lambda p: network_loss(p, u, y, SIGMA)  # noqa: E731
    grads = network_loss_gradient(params, u, y, SIGMA)
    checks = check_gradients(lambda p: float(loss(p)), params, grads, extended=loss)
    assert [c.verdict for c in checks] == ["pass"] * 4, [c.reason for c in checks]
    for name in params:
        wrong = {**grads, name: grads[name] * (1 + 1e-4)}
        verdicts = {c.name: c.verdict for c in check_gradients(lambda p: float(loss(p)), params, wrong, extended=loss)}
        assert verdicts[name] != "pass"


def test_dsm_gradients_match_torch_autograd():
    torch = pytest.importorskip("torch")
    Phi, y, W = features_problem(seed=1)
    Wt = torch.tensor(W, requires_grad=True)
    loss = SIGMA**2 * ((torch.tensor(Phi) @ Wt - torch.tensor(y)) ** 2).sum() / (2 * Phi.shape[0])
    loss.backward()
    assert features_loss(W, Phi, y, SIGMA) == pytest.approx(loss.item(), rel=1e-13)
    np.testing.assert_allclose(features_loss_gradient(W, Phi, y, SIGMA), Wt.grad.numpy(), rtol=1e-11, atol=1e-14)

    u, y, params = network_problem(seed=2, hidden=16)
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    scores = torch.tanh(torch.tensor(u) @ tensors["W1"] + tensors["b1"]) @ tensors["W2"] + tensors["b2"]
    loss = SIGMA**2 * ((scores - torch.tensor(y)) ** 2).sum() / (2 * u.shape[0])
    loss.backward()
    assert network_loss(params, u, y, SIGMA) == pytest.approx(loss.item(), rel=1e-13)
    grads = network_loss_gradient(params, u, y, SIGMA)
    for name, tensor in tensors.items():
        np.testing.assert_allclose(grads[name], tensor.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_network_training_lowers_the_loss_towards_the_floor_on_a_mixture():
    mixture = GaussianMixture([0.8, 0.2], [[-2.0], [2.0]], [0.5, 0.5])
    x, _ = mixture.sample(1000, np.random.default_rng(3))
    fit = fit_dsm(x, SIGMA, "network", 16, 300, 3, (np.array([-5.0]), np.array([5.0])), mixture.noised(SIGMA).score)
    assert fit.loss_history.shape == (301,) and fit.final_loss < 0.7 * fit.loss_history[0]
    assert fit.relative_error < 0.1


def test_tweedie_gives_the_posterior_mean_of_a_gaussian():
    """For x ~ N(m, s²), x̃ = x + σξ: E[x | x̃] = m + s²/(s² + σ²) (x̃ − m) in closed form."""
    noised = GaussianMixture([1.0], [[M, -M]], [S]).noised(SIGMA)
    x_noisy = np.array([[0.0, 0.0], [3.0, -1.0], [-2.0, 4.0]])
    expected = np.array([M, -M]) + S**2 / (S**2 + SIGMA**2) * (x_noisy - np.array([M, -M]))
    np.testing.assert_allclose(tweedie_denoise(x_noisy, SIGMA, noised.score), expected, rtol=1e-13)


def test_tweedie_denoising_reaches_the_minimum_mean_squared_error():
    """The posterior mean's error is Var(x | x̃) = s²σ²/(s² + σ²) per coordinate, below σ² for x̃ itself."""
    mixture = GaussianMixture([1.0], [[M]], [S])
    rng = np.random.default_rng(4)
    x, _ = mixture.sample(20000, rng)
    x_noisy = x + SIGMA * rng.standard_normal(x.shape)
    error = float(np.mean((tweedie_denoise(x_noisy, SIGMA, mixture.noised(SIGMA).score) - x) ** 2))
    expected = S**2 * SIGMA**2 / (S**2 + SIGMA**2)
    assert abs(error - expected) <= 5 * expected * math.sqrt(2 / 20000)


def test_bad_dsm_settings_raise():
    with pytest.raises(ValueError, match="σ must be > 0"):
        dsm_pairs(np.zeros((3, 1)), 0.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown score model"):
        fit_dsm(np.zeros((3, 1)), 0.5, "forest", 4, 10, 0, ([-1.0], [1.0]), lambda x: -x)
    with pytest.raises(ValueError, match="NaN or infinite"):
        tweedie_denoise(np.array([[np.nan]]), 0.5, lambda x: -x)
