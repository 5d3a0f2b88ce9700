"""calc_core.diffusion.quality: mode weights and the energy distance, against scipy."""

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

from calc_core.diffusion import GaussianMixture, energy_distance, mode_weights, sample_distance

MIXTURE = GaussianMixture([0.7, 0.3], [[-3.0, 0.0], [3.0, 0.0]], [0.5, 0.5])


def test_energy_distance_in_1d_is_the_square_of_scipys():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 1)), rng.normal(0.5, 1.3, size=(200, 1))
    assert energy_distance(x, y) == pytest.approx(stats.energy_distance(x[:, 0], y[:, 0]) ** 2, rel=1e-10)


def test_energy_distance_in_2d_matches_scipy_pairwise_distances():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(150, 2)), rng.normal(size=(170, 2)) + [0.3, -0.2]
    expected = 2 * cdist(x, y).mean() - cdist(x, x).mean() - cdist(y, y).mean()
    assert energy_distance(x, y) == pytest.approx(expected, rel=1e-10)


def test_exact_draws_score_about_their_reference_and_wrong_weights_far_above():
    rng = np.random.default_rng(2)
    exact_like, _ = MIXTURE.sample(400, rng)
    wrong, _ = GaussianMixture([0.5, 0.5], MIXTURE.means, MIXTURE.sigmas).sample(400, rng)
    good, bad = sample_distance(exact_like, MIXTURE, 400, 0), sample_distance(wrong, MIXTURE, 400, 0)
    assert good.energy < 4 * good.reference
    assert bad.energy > 10 * bad.reference and good.reference == bad.reference


def test_mode_weights_count_the_most_responsible_component():
    x = np.array([[-3.1, 0.0], [-2.0, 1.0], [2.5, 0.0], [0.3, 0.0]])  # the last is just past the middle
    weights = mode_weights(x, MIXTURE)
    np.testing.assert_allclose(weights.samples, [0.5, 0.5])
    assert weights.total_variation == pytest.approx(0.2)
    np.testing.assert_allclose(weights.standard_error, np.sqrt([0.21 / 4, 0.21 / 4]))
