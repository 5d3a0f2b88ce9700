r"""The page's gradient checks: every derivative it shows against values of the function alone.

* ∇ₓ log p in closed form against derivative-free estimates from log p, at points near the modes
  and far from every mode (where log p is a large negative number made of large terms: f_scale is
  Σ|log p|, and the estimates are made in extended precision);
* ∇ₓ log p_σ of the noised mixture the same way;
* the DSM loss's hand-derived gradient ∂ℓ/∂θ (features W, or the network's W₁, b₁, W₂, b₂) at the
  fitted θ on a fresh batch of noisy pairs (so the gradient is not the ≈ 0 of the training optimum).
  ℓ is O(1) and made of O(1) terms, so float64 differences already resolve its gradient to ~10⁻¹¹
  relative; the losses are dtype-generic (the tests check them in extended precision too), but the
  page skips np.longdouble here, whose un-BLASed products cost 4–10× more per evaluation.
"""

from __future__ import annotations

import numpy as np

from calc_core.common.gradcheck import START_FRACTION, GradientCheck, check_gradients, coordinate_scales
from calc_core.diffusion.dsm import (
    ScoreFit,
    dsm_pairs,
    features_loss,
    features_loss_gradient,
    network_loss,
    network_loss_gradient,
)
from calc_core.diffusion.mixture import GaussianMixture

BATCH = 32
MAX_COORDS = 12


def check_points(mixture: GaussianMixture) -> dict[str, np.ndarray]:
    """A few points near the modes (half a width off each of up to three means, and midway between
    the first two) and two far from every mode (15 widths plus the spread of the means away)."""
    d, means, sigmas = mixture.dimension, mixture.means, mixture.sigmas
    offset = np.array([0.6, -0.8])[:d]
    near = [means[k] + 0.5 * sigmas[k] * offset for k in range(min(3, mixture.n_components))]
    if mixture.n_components > 1:
        near.append((means[0] + means[1]) / 2 + 0.1 * sigmas[0] * offset)
    reach = 15 * float(np.max(sigmas)) + float(np.max(np.abs(means)))
    far = np.array([[1.0, 0.5][:d], [-0.7, -1.0][:d]]) * reach
    return {"near the modes": np.array(near), "far from every mode": far}


def score_checks(mixture: GaussianMixture, label: str) -> list[GradientCheck]:
    """∇ₓ log p against values of f(x) = Σ_n log p(x_n), one check per group of points."""
    checks = []
    for where, x in check_points(mixture).items():
        name = f"{label} {where}"

        def f(params, name=name):
            return np.sum(mixture.log_density(params[name]))

        scale = float(np.sum(np.abs(mixture.log_density(x))))
        # the first step a tenth of the narrowest width: log p turns over within a width of each mode, and
        # the default (a tenth of |x|) spanned 45 widths of a mode of width 0.05 at x = −22
        step = START_FRACTION * float(np.min(mixture.sigmas))
        checks += check_gradients(lambda p, f=f: float(f(p)), {name: x}, {name: mixture.score(x)},
                                  max_coords=MAX_COORDS, f_scale=scale, extended=f, step=step)
    return checks


def dsm_checks(fit: ScoreFit, mixture: GaussianMixture, seed: int) -> list[GradientCheck]:
    """∂ℓ/∂θ by hand against values of ℓ on a batch of BATCH noisy pairs, at the fitted θ."""
    model, sigma = fit.model, fit.model.sigma
    rng = np.random.default_rng([seed, 12])
    x_clean, _ = mixture.sample(BATCH, rng)
    x_noisy, targets = dsm_pairs(x_clean, sigma, rng)
    if model.features is not None:
        Phi = model.features(x_noisy)

        def loss(params):
            return features_loss(params["∂ℓ/∂W"], Phi, targets, sigma)

        params, step = {"∂ℓ/∂W": model.params["W"]}, None
        analytic = {"∂ℓ/∂W": features_loss_gradient(model.params["W"], Phi, targets, sigma)}
    else:
        u = (x_noisy - model.centre) / model.scale

        labels = {f"∂ℓ/∂{name}": name for name in model.params}

        def loss(params):
            return network_loss({labels[label]: value for label, value in params.items()}, u, targets, sigma)

        gradient = network_loss_gradient(model.params, u, targets, sigma)
        params = {label: model.params[name] for label, name in labels.items()}
        analytic = {label: gradient[name] for label, name in labels.items()}
        # the first layer's steps at most a tenth of a unit of the pre-activation z = W₁u + b₁ (u is
        # standardized): a tenth of |b₁| = 14 crossed a steep tanh unit, and the differences never settled
        step = {label: START_FRACTION * np.minimum(coordinate_scales(np.ravel(model.params[name])), 1.0)
                for label, name in labels.items() if name in ("W1", "b1")}
    return check_gradients(lambda p: float(loss(p)), params, analytic, max_coords=MAX_COORDS, step=step)


def gradient_checks(mixture: GaussianMixture, noised: GaussianMixture, fit: ScoreFit, seed: int):
    """All of the page's checks, in the order the panel lists them."""
    return tuple(score_checks(mixture, "∇ₓ log p") + score_checks(noised, "∇ₓ log p_σ")
                 + dsm_checks(fit, mixture, seed))
