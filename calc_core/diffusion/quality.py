r"""How good samples are: the share of each mode, and a two-sample distance to exact draws.

* Mode weights: each sample goes to the component most responsible for it, argmax_k r_k(x); the
  shares ŵ_k are compared with the weights w_k by the total-variation distance ½ Σ_k |ŵ_k − w_k|.
* Energy distance (Székely & Rizzo 2013) between samples X and Y,

      D²(X, Y) = 2 E‖X − Y‖ − E‖X − X′‖ − E‖Y − Y′‖ ≥ 0,

  zero only when the distributions agree; here with the empirical distributions (V-statistics),
  which for 1-D samples is the square of ``scipy.stats.energy_distance``. Two samples of the *same*
  distribution still score about 1/n above zero, so a reference distance between two exact draws of
  the same sizes says what "as good as exact" looks like.

References
----------
Székely, G. J. and Rizzo, M. L. (2013). Energy statistics: A class of statistics based on
distances. Journal of Statistical Planning and Inference 143(8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calc_core.common import validate
from calc_core.diffusion.mixture import GaussianMixture


@dataclass(frozen=True)
class ModeWeights:
    target: np.ndarray  # (K,) w_k
    samples: np.ndarray  # (K,) ŵ_k, the share of samples assigned to mode k
    total_variation: float  # ½ Σ |ŵ_k − w_k|
    n_samples: int

    @property
    def standard_error(self) -> np.ndarray:
        """√(w_k(1 − w_k)/n): the spread of ŵ_k for n exact, independent draws."""
        return np.sqrt(self.target * (1 - self.target) / max(self.n_samples, 1))


def mode_weights(x, mixture: GaussianMixture) -> ModeWeights:
    """The share of samples whose most responsible component is k, against w_k."""
    x = validate.finite_array("the samples", x, ndim=2)
    nearest = np.argmax(mixture.responsibilities(x), axis=1)
    shares = np.bincount(nearest, minlength=mixture.n_components) / x.shape[0]
    # TV = ½ Σ_k |ŵ_k − w_k|
    tv = 0.5 * float(np.sum(np.abs(shares - mixture.weights)))
    return ModeWeights(np.asarray(mixture.weights, dtype=float), shares, tv, int(x.shape[0]))


def _mean_distance(a, b) -> float:
    """(1/(n m)) Σ_i Σ_j ‖a_i − b_j‖, one coordinate at a time (no (n, m, d) array)."""
    squared = np.zeros((a.shape[0], b.shape[0]))
    for j in range(a.shape[1]):
        diff = a[:, j, None] - b[None, :, j]
        squared += diff * diff
    return float(np.mean(np.sqrt(squared)))


def energy_distance(x, y) -> float:
    """D² = 2 E‖X − Y‖ − E‖X − X′‖ − E‖Y − Y′‖ of the empirical distributions of x (n, d) and y (m, d)."""
    x = validate.finite_array("the first sample", x, ndim=2)
    y = validate.finite_array("the second sample", y, ndim=2)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"both samples need the same dimension, got {x.shape[1]} and {y.shape[1]}")
    # D² = 2 E‖X − Y‖ − E‖X − X′‖ − E‖Y − Y′‖
    return max(0.0, 2 * _mean_distance(x, y) - _mean_distance(x, x) - _mean_distance(y, y))


@dataclass(frozen=True)
class SampleDistance:
    energy: float  # D²(samples, exact draws)
    reference: float  # D²(other exact draws, the same exact draws): what exact sampling scores
    n: int  # points per sample
    #: (1/n + 1/m) E‖Y − Y′‖: the mean of D² between n and m independent exact draws (V-statistics), with
    #: E‖Y − Y′‖ estimated from the exact draws; nan when not measured
    expected: float = float("nan")


class ExactReference:
    """n exact draws Y and n more Y′, with E‖Y − Y′‖ within Y and D²(Y′, Y) computed once, so that
    several samplers are measured against the same draws at the cost of two mean distances each."""

    def __init__(self, mixture: GaussianMixture, n: int, seed: int):
        rng = np.random.default_rng([validate.seed(seed), 11])
        self.exact, _ = mixture.sample(n, rng)
        other, _ = mixture.sample(n, rng)
        self.within = _mean_distance(self.exact, self.exact)
        self.reference = self._energy(other)

    def _energy(self, x) -> float:
        # D² = 2 E‖X − Y‖ − E‖X − X′‖ − E‖Y − Y′‖
        return max(0.0, 2 * _mean_distance(x, self.exact) - _mean_distance(x, x) - self.within)

    def distance(self, x) -> SampleDistance:
        """D² between the first n of x and the exact draws."""
        x = validate.finite_array("the samples", x, ndim=2)[: self.exact.shape[0]]
        n, m = int(x.shape[0]), int(self.exact.shape[0])
        # E D² = (1/n + 1/m) E‖Y − Y′‖, with E‖Y − Y′‖ ≈ m/(m − 1) × the mean over all m² pairs (m zeros on the diagonal)
        spread = self.within * m / max(m - 1, 1)
        return SampleDistance(self._energy(x), self.reference, n, (1 / n + 1 / m) * spread)


def sample_distance(x, mixture: GaussianMixture, n: int, seed: int) -> SampleDistance:
    """D² between (the first n of) x and n exact draws, beside D² between two exact draws."""
    x = validate.finite_array("the samples", x, ndim=2)
    return ExactReference(mixture, min(n, x.shape[0]), seed).distance(x)
