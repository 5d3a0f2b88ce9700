r"""Gaussian mixtures of isotropic components: the density, its score, and the noised mixtures.

A mixture of K isotropic Gaussians in d dimensions,

    p(x) = Σ_k w_k N(x; μ_k, σ_k² I),        Σ_k w_k = 1,

has the log-density and score (the gradient of the log-density with respect to x)

    log p(x) = logsumexp_k ℓ_k(x),    ℓ_k(x) = log w_k − (d/2) log(2π σ_k²) − ‖x − μ_k‖² / (2σ_k²),
    ∇ₓ log p(x) = Σ_k r_k(x) (μ_k − x) / σ_k²,    r_k(x) = exp(ℓ_k(x) − log p(x)),

where r_k is the responsibility of component k for x. Subtracting the largest ℓ_k before
exponentiating (log-sum-exp) keeps both finite however far x is from every mode.

Two noised versions are mixtures again, so their scores are exact too:

* p_σ = p * N(0, σ² I) (adding noise x̃ = x + σ ξ) has the same weights and means and
  variances σ_k² + σ² (Vincent 2011; Song & Ermon 2019);
* the variance-preserving forward process x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε scales as well as
  smooths: p_t has means √ᾱ_t μ_k and variances ᾱ_t σ_k² + 1 − ᾱ_t (Ho et al. 2020).

:class:`GaussianMixture` validates its parameters once; its methods assume x is a finite (N, d)
array and work in the precision of x (np.longdouble too, for gradient checks). The functions
``mixture_log_density`` and ``mixture_score`` validate everything on every call.

References
----------
Song, Y. and Ermon, S. (2019). Generative Modeling by Estimating Gradients of the Data
Distribution. NeurIPS.
Vincent, P. (2011). A Connection Between Score Matching and Denoising Autoencoders. Neural
Computation 23(7).
Ho, J., Jain, A. and Abbeel, P. (2020). Denoising Diffusion Probabilistic Models. NeurIPS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from calc_core.common import validate


def _precision(x) -> type:
    """np.longdouble for extended-precision input, float64 otherwise."""
    return np.longdouble if np.asarray(x).dtype == np.longdouble else np.float64


def check_mixture(weights, means, sigmas):
    """Validated (w normalized to sum 1, means (K, d), sigmas (K,)) as float arrays (longdouble kept)."""
    wide = any(np.asarray(a).dtype == np.longdouble for a in (weights, means, sigmas))
    dtype = np.longdouble if wide else np.float64
    weights = validate.finite_array("the mixture weights", weights, ndim=1, dtype=dtype)
    means = validate.finite_array("the mixture means", means, ndim=2, dtype=dtype)
    sigmas = validate.finite_array("the mixture widths σ_k", sigmas, ndim=1, dtype=dtype)
    if not weights.shape[0] == means.shape[0] == sigmas.shape[0]:
        raise ValueError(f"the mixture needs one weight, one mean and one width per component; got "
                         f"{weights.shape[0]} weights, {means.shape[0]} means and {sigmas.shape[0]} widths")
    if np.any(weights < 0):
        raise ValueError(f"the mixture weights must not be negative, got {weights.tolist()}")
    if not weights.sum() > 0:
        raise ValueError(f"the mixture weights must sum to a positive number, got {weights.tolist()}")
    if np.any(sigmas <= 0):
        raise ValueError(f"every mixture width σ_k must be > 0, got {sigmas.tolist()}")
    if not np.all((sigmas * sigmas > 0) & np.isfinite(sigmas * sigmas)):
        raise ValueError(f"the mixture widths σ_k must have a finite, non-zero square, got {sigmas.tolist()}")
    return weights / weights.sum(), means, sigmas


def check_points(x, d: int, dtype=np.float64) -> np.ndarray:
    """x as a finite (N, d) array."""
    x = validate.finite_array("x", x, ndim=2, dtype=dtype)
    if x.shape[1] != d:
        raise ValueError(f"x must have one column per dimension of the mixture ({d}), got shape {x.shape}")
    return x


def logsumexp(a, axis: int = -1):
    """log Σ exp(a) along ``axis``, stable for large |a| and in the precision of a."""
    top = np.max(a, axis=axis)
    # log Σ_k e^{a_k} = m + log Σ_k e^{a_k − m},  m = max_k a_k
    return top + np.log(np.sum(np.exp(a - np.expand_dims(top, axis)), axis=axis))


@dataclass(frozen=True, eq=False)
class GaussianMixture:
    """p(x) = Σ_k w_k N(x; μ_k, σ_k² I): weights (K,), means (K, d), sigmas (K,) standard deviations."""

    weights: np.ndarray
    means: np.ndarray
    sigmas: np.ndarray

    def __post_init__(self):
        self._set(*check_mixture(self.weights, self.means, self.sigmas))

    @classmethod
    def _derived(cls, weights, means, sigmas) -> "GaussianMixture":
        """A mixture computed from a validated one (noised, scaled): no second validation."""
        mixture = object.__new__(cls)
        mixture._set(weights, means, sigmas)
        return mixture

    def _set(self, weights, means, sigmas):
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "sigmas", sigmas)
        variance = sigmas * sigmas
        with np.errstate(divide="ignore"):  # a component of weight 0 has log w = −∞ and never counts
            # log w_k − (d/2) log(2π σ_k²): the part of ℓ_k that does not depend on x
            constant = np.log(weights) - 0.5 * means.shape[1] * np.log(2 * np.pi * variance)
        object.__setattr__(self, "_constant", constant[:, None])
        object.__setattr__(self, "_variance", variance[:, None])

    @property
    def dimension(self) -> int:
        return int(self.means.shape[1])

    @property
    def n_components(self) -> int:
        return int(self.weights.shape[0])

    def log_terms(self, x):
        """ℓ_k(x_n) as a (K, N) array, and x_n − μ_k as (K, d, N): components first, so that the sums
        over k and over coordinates run along short leading axes (several times faster than (N, K, d)).
        The arithmetic follows x's precision (np.longdouble x gives extended-precision values)."""
        diff = np.ascontiguousarray(np.asarray(x).T)[None, :, :] - self.means[:, :, None]
        squared = diff[:, 0] * diff[:, 0]
        for j in range(1, diff.shape[1]):
            squared = squared + diff[:, j] * diff[:, j]
        # ℓ_k = log w_k − (d/2) log(2π σ_k²) − ‖x − μ_k‖² / (2σ_k²)
        return self._constant - squared / (2 * self._variance), diff

    def log_density(self, x):
        """log p(x_n), shape (N,)."""
        return logsumexp(self.log_terms(x)[0], axis=0)

    def responsibilities(self, x):
        """r_k(x_n) = w_k N(x_n; μ_k, σ_k²) / p(x_n), shape (N, K)."""
        terms, _ = self.log_terms(x)
        # r_k = exp(ℓ_k − logsumexp_j ℓ_j)
        return np.exp(terms - logsumexp(terms, axis=0)).T

    def score(self, x):
        """∇ₓ log p(x_n) = Σ_k r_k(x_n) (μ_k − x_n) / σ_k², shape (N, d)."""
        return self.log_density_and_score(x)[1]

    def log_density_and_score(self, x):
        """(log p(x), ∇ₓ log p(x)) from one evaluation of the log-terms: shapes (N,) and (N, d)."""
        terms, diff = self.log_terms(x)
        log_p = logsumexp(terms, axis=0)
        r = np.exp(terms - log_p)
        # ∇ₓ log p = −Σ_k r_k (x − μ_k) / σ_k²
        score = -np.einsum("kn,kdn->nd", r / self._variance, diff)
        return log_p, score

    def noised(self, sigma: float) -> "GaussianMixture":
        """p_σ = p * N(0, σ² I): the same weights and means, σ_k² + σ² as variances."""
        sigma = validate.real("the noise level σ", sigma, positive=True)
        # σ_k(σ) = √(σ_k² + σ²)
        return GaussianMixture._derived(self.weights, self.means, np.sqrt(self.sigmas**2 + sigma**2))

    def vp_marginal(self, alpha_bar: float) -> "GaussianMixture":
        """p_t of x_t = √ᾱ x₀ + √(1 − ᾱ) ε: means √ᾱ μ_k, variances ᾱ σ_k² + 1 − ᾱ."""
        alpha_bar = validate.real("ᾱ_t", alpha_bar, positive=True, maximum=1.0)
        # μ_k(t) = √ᾱ_t μ_k,   σ_k(t)² = ᾱ_t σ_k² + 1 − ᾱ_t
        return GaussianMixture._derived(self.weights, math.sqrt(alpha_bar) * self.means,
                                        np.sqrt(alpha_bar * self.sigmas**2 + 1.0 - alpha_bar))

    def sample(self, n: int, rng: np.random.Generator):
        """n exact draws and the component each came from: ((n, d), (n,))."""
        component = rng.choice(self.n_components, size=int(n), p=np.asarray(self.weights, dtype=float))
        xi = rng.standard_normal((int(n), self.dimension))
        # x = μ_k + σ_k ξ
        return self.means[component] + self.sigmas[component, None] * xi, component

    def marginal_bin_probabilities(self, edges, axis: int = 0) -> np.ndarray:
        """P(edges[j] ≤ x_axis < edges[j + 1]) = Σ_k w_k [Φ((b_{j+1} − μ_k)/σ_k) − Φ((b_j − μ_k)/σ_k)]."""
        edges = np.asarray(edges, dtype=float)
        cdf = ndtr((edges[:, None] - self.means[None, :, axis]) / self.sigmas[None, :])
        return np.diff(cdf, axis=0) @ self.weights


def mixture_log_density(x, weights, means, sigmas) -> np.ndarray:
    """log p(x) of a mixture of isotropic Gaussians, stable far from every mode.

    Parameters
    ----------
    x : (N, d) array
    weights : (K,) array
        Non-negative, summing to a positive number (normalized here).
    means : (K, d) array
    sigmas : (K,) array
        Each component's standard deviation, > 0.

    Returns
    -------
    (N,) array of log p(x_n).

    Examples
    --------
    >>> float(mixture_log_density([[0.0]], [1.0], [[0.0]], [1.0])[0])  # −½ log 2π
    -0.9189385332046727
    """
    mixture = GaussianMixture(weights, means, sigmas)
    return mixture.log_density(check_points(x, mixture.dimension, _precision(x)))


def mixture_score(x, weights, means, sigmas) -> np.ndarray:
    """∇ₓ log p(x) = Σ_k r_k(x) (μ_k − x) / σ_k², shape (N, d); arguments as :func:`mixture_log_density`.

    References
    ----------
    Song & Ermon (2019), §2: the score ∇ₓ log p(x) is all Langevin dynamics needs.
    """
    mixture = GaussianMixture(weights, means, sigmas)
    return mixture.score(check_points(x, mixture.dimension, _precision(x)))


def noised_mixture(weights, means, sigmas, sigma):
    """The parameters (weights, means, sigmas) of p_σ = p * N(0, σ² I): each variance plus σ²."""
    mixture = GaussianMixture(weights, means, sigmas).noised(sigma)
    return mixture.weights, mixture.means, mixture.sigmas


def vp_marginal_mixture(weights, means, sigmas, alpha_bar):
    """The parameters of p_t under x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε: means √ᾱ_t μ_k, variances ᾱ_t σ_k² + 1 − ᾱ_t."""
    mixture = GaussianMixture(weights, means, sigmas).vp_marginal(alpha_bar)
    return mixture.weights, mixture.means, mixture.sigmas


def mixture_layout(dimension: int, n_modes: int, separation: float) -> np.ndarray:
    """Means (K, d) with neighbours ``separation`` apart, centred on 0: on a line in 1-D, on a
    circle of radius separation / (2 sin(π/K)) in 2-D (two modes: on the horizontal axis)."""
    k = np.arange(n_modes)
    if dimension == 1 or n_modes <= 2:
        line = (k - (n_modes - 1) / 2) * separation
        return np.column_stack([line] + [np.zeros(n_modes)] * (dimension - 1))
    radius = separation / (2 * math.sin(math.pi / n_modes))
    angle = math.pi + 2 * math.pi * k / n_modes  # the first mode on the left, as in 1-D
    return radius * np.column_stack([np.cos(angle), np.sin(angle)])
