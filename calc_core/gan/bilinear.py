r"""The bilinear game min_x max_y f(x, y) = x·y, the smallest game on which gradient steps fail.

Its field v = (−∂f/∂x, ∂f/∂y) = (−y, x) is a pure rotation, J = [[0, −1], [1, 0]], eigenvalues ±i,
and the only equilibrium is z* = (0, 0). Facts about one step of size η (calc_core.gan.linear):

    simultaneous    ‖z′‖ = √(1 + η²) ‖z‖ exactly: every step spirals out
    alternating     det M = 1; bounded for η < 2, and x² + y² − η·x·y is conserved: it orbits
    extragradient   |λ| = √(1 − η² + η⁴) < 1 for 0 < η < 1: it converges
    optimistic      ρ(M) < 1 exactly for 0 < η < 1/√3

``gamma`` (default 0) adds the penalty (γ/2)·y² to what the second player maximizes,
f = x·y − (γ/2)·y², the same damping −γy that the R1 penalty gives the Dirac-GAN's discriminator.

References
----------
Gidel et al., "Negative momentum for improved game dynamics", AISTATS 2019, §3 (the bilinear game).
Mescheder, Geiger, Nowozin, "Which training methods for GANs do actually converge?", ICML 2018.
"""

from __future__ import annotations

import numpy as np

from calc_core.common.validate import real
from calc_core.gan.linear import (check_lr, regularized_bilinear_jacobian, spectral_radius, update_eigenvalues,
                                  update_matrix)
from calc_core.gan.play import GameRun, play


def check_gamma(gamma) -> float:
    """γ ≥ 0, the strength of the penalty on the second player."""
    return real("gamma", gamma, minimum=0.0)


def bilinear_value(x, y, gamma=0.0):
    """f(x, y) = x·y − (γ/2)·y²."""
    return x * y - 0.5 * gamma * y * y


def bilinear_field(x, y, gamma=0.0):
    """v = (−∂f/∂x, ∂f/∂y) = (−y, x − γ·y)."""
    return -y, x - gamma * y


def bilinear_jacobian(gamma=0.0) -> np.ndarray:
    """J = ∂v/∂z = [[0, −1], [1, −γ]]."""
    return regularized_bilinear_jacobian(1.0, check_gamma(gamma))


def game_run(method: str, lr, steps, start, gamma=0.0) -> GameRun:
    """The run of ``method`` on the bilinear game, with the step it blew up at, if it did."""
    gamma = check_gamma(gamma)
    if gamma == 0.0:
        return play(lambda x, y: (-y, x), method, lr, steps, start)
    return play(lambda x, y: (-y, x - gamma * y), method, lr, steps, start)


def game_trajectory(method: str, lr, steps, start, gamma=0.0) -> np.ndarray:
    """Iterates (x_t, y_t), t = 0 … steps, of ``method`` on f = x·y from ``start``.

    Parameters
    ----------
    method : {"simultaneous", "alternating", "extragradient", "optimistic"}
        Optimistic GDA starts with z₋₁ = z₀.
    lr : float
        η > 0.
    steps : int
        ≥ 1.
    start : (x₀, y₀)
    gamma : float, optional
        γ ≥ 0 of the penalty (γ/2)·y² (0: the plain bilinear game).

    Returns
    -------
    (steps + 1, 2) array. A run that blows up (beyond calc_core.gan.play.BLOW_UP) ends at its last
    finite iterate, so it has fewer rows; :func:`game_run` also says at which step.

    Examples
    --------
    >>> z = game_trajectory("simultaneous", 0.1, 10, (1.0, 0.0))
    >>> round(float(np.hypot(*z[10])), 12) == round(1.01 ** 5, 12)
    True
    """
    return game_run(method, lr, steps, start, gamma).trajectory


def game_update_matrix(method: str, lr, gamma=0.0) -> np.ndarray:
    """M of one step on f = x·y (− (γ/2)y²): 2×2, or 4×4 on (z_t, z_{t−1}) for "optimistic"."""
    return update_matrix(bilinear_jacobian(gamma), method, check_lr(lr))


def game_eigenvalues(method: str, lr, gamma=0.0) -> np.ndarray:
    """The eigenvalues of :func:`game_update_matrix`, complex, largest modulus first."""
    return update_eigenvalues(bilinear_jacobian(gamma), method, check_lr(lr))


def game_spectral_radius(method: str, lr, gamma=0.0) -> float:
    """ρ(M) = max |λ|: ‖z_t‖ grows or shrinks like ρᵗ."""
    return spectral_radius(bilinear_jacobian(gamma), method, check_lr(lr))


def alternating_invariant(x, y, lr):
    """x² + y² − η·x·y, which alternating GDA on f = x·y keeps constant.

    With x′ = x − ηy and y′ = y + ηx′: y′² − ηx′y′ = y′·y = y² + ηx′y, so
    x′² + y′² − ηx′y′ = x′(x′ + ηy) + y² = x′x + y² = x² − ηxy + y².
    """
    # Q(x, y) = x² + y² − η x y
    return x * x + y * y - lr * x * y
