r"""The Dirac-GAN: the smallest GAN, on which gradient descent–ascent circles the solution.

The data are a point mass at 0, the generator a point mass at θ, and the discriminator's logit is
D_ψ(x) = ψ·x. With f(t) = −log(1 + e^{−t}) the GAN objective is

    L(θ, ψ) = f(ψθ) + f(0),

which the generator descends (in θ) and the discriminator ascends (in ψ). Since f′(t) = σ(−t),

    θ̇ = −∂L/∂θ = −ψ f′(ψθ),        ψ̇ = ∂L/∂ψ = θ f′(ψθ).

The R1 penalty (γ/2)·E_data[(∂D_ψ/∂x)²] = (γ/2)·ψ² on the discriminator adds −γψ to ψ̇. The only
equilibrium is (θ, ψ) = (0, 0); there the field's Jacobian is

    J = [[0, −f′(0)], [f′(0), −γ]] = [[0, −1/2], [1/2, −γ]],   eigenvalues  −γ/2 ± √(γ²/4 − 1/4):

±i/2 without the penalty — a rotation, no convergence — and real parts −γ/2 < 0 with it (local
convergence; real eigenvalues, so no oscillation, once γ ≥ 1).

References
----------
Mescheder, Geiger, Nowozin, "Which training methods for GANs do actually converge?", ICML 2018,
§2 (the Dirac-GAN) and §4 (the R1 regularizer, their Theorem 4.1).
"""

from __future__ import annotations

import math

import numpy as np

from calc_core.gan.bilinear import check_gamma
from calc_core.gan.linear import check_lr, regularized_bilinear_jacobian, spectral_radius, update_eigenvalues, \
    update_matrix
from calc_core.gan.play import GameRun, play

F_PRIME_AT_0 = 0.5  # f′(0) = σ(0)


def f(t):
    """f(t) = −log(1 + e^{−t}) = −softplus(−t), computed without overflow."""
    return -np.logaddexp(0.0, -np.asarray(t))


def f_change(t0, dt):
    """f(t₀ + Δt) − f(t₀) = −log1p(σ(−t₀)·expm1(−Δt)), exact to rounding of its own size however small:
    f(t) itself is −log 2 + t/2 + … near t = 0, and the rounding of that constant hides a change of 10⁻¹².
    In the dtype of ``dt`` (np.longdouble for extended precision); beyond |Δt| = 1 the plain difference."""
    dt = np.asarray(dt)
    t0 = np.asarray(t0, dtype=np.result_type(dt, np.float64))
    with np.errstate(over="ignore", invalid="ignore"):
        # f(t₀ + Δt) − f(t₀) = −log((1 + e^{−t₀−Δt}) / (1 + e^{−t₀})) = −log(1 + σ(−t₀)(e^{−Δt} − 1))
        small = -np.log1p(f_prime(t0) * np.expm1(-np.clip(dt, -1.0, 1.0)))
        return np.where(np.abs(dt) <= 1.0, small, f(t0 + dt) - f(t0))[()]


def f_prime(t):
    """f′(t) = σ(−t) = e^{−softplus(t)}, exact for |t| in the hundreds."""
    return np.exp(-np.logaddexp(0.0, np.asarray(t)))


def f_second(t):
    """f″(t) = −σ(t)·σ(−t)."""
    t = np.asarray(t)
    return -np.exp(-np.logaddexp(0.0, t) - np.logaddexp(0.0, -t))


def _f_prime_float(t: float) -> float:
    # σ(−t), one branch for each sign so that neither exponential overflows
    if t >= 0:
        e = math.exp(-t)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(t))


def dirac_gan_value(theta, psi, gamma=0.0):
    """(L, L − (γ/2)ψ²): the generator's objective and the discriminator's penalized one."""
    # L = f(ψθ) + f(0)
    L = f(np.asarray(psi) * np.asarray(theta)) + f(0.0)
    return L, L - 0.5 * gamma * np.asarray(psi) ** 2


def dirac_gan_field(theta, psi, gamma=0.0):
    """(θ̇, ψ̇) = (−ψ f′(ψθ), θ f′(ψθ) − γψ) at one point or on arrays of points.

    Parameters
    ----------
    theta, psi : float or array
        The generator's point mass and the discriminator's slope.
    gamma : float
        γ ≥ 0 of the R1 penalty (γ/2)·ψ².
    """
    gamma = check_gamma(gamma)
    theta, psi = np.asarray(theta, dtype=float), np.asarray(psi, dtype=float)
    slope = f_prime(psi * theta)
    # θ̇ = −ψ f′(ψθ),   ψ̇ = θ f′(ψθ) − γψ
    theta_dot, psi_dot = -psi * slope, theta * slope - gamma * psi
    if theta_dot.ndim == 0:
        return float(theta_dot), float(psi_dot)
    return theta_dot, psi_dot


def dirac_gan_jacobian(gamma=0.0, theta=0.0, psi=0.0) -> np.ndarray:
    """∂(θ̇, ψ̇)/∂(θ, ψ) at (θ, ψ) (the equilibrium (0, 0) by default), with t = ψθ:

        [[−ψ² f″(t),          −f′(t) − t f″(t)],
         [ f′(t) + t f″(t),    θ² f″(t) − γ   ]]
    """
    gamma = check_gamma(gamma)
    if theta == 0.0 and psi == 0.0:
        return regularized_bilinear_jacobian(F_PRIME_AT_0, gamma)
    t = psi * theta
    d1, d2 = float(f_prime(t)), float(f_second(t))
    return np.array([[-psi * psi * d2, -d1 - t * d2], [d1 + t * d2, theta * theta * d2 - gamma]])


def dirac_gan_eigenvalues(gamma=0.0) -> np.ndarray:
    """Eigenvalues of the Jacobian at the equilibrium: −γ/2 ± √(γ²/4 − 1/4) (±i/2 for γ = 0)."""
    gamma = check_gamma(gamma)
    # μ = −γ/2 ± √(γ²/4 − f′(0)²)
    root = np.sqrt(complex(gamma * gamma / 4 - F_PRIME_AT_0**2))
    return np.array([-gamma / 2 + root, -gamma / 2 - root])


def dirac_gan_run(method: str, lr, steps, start, gamma=0.0) -> GameRun:
    """Steps of ``method`` (see calc_core.gan.play) on the Dirac-GAN from ``start`` = (θ₀, ψ₀)."""
    gamma = check_gamma(gamma)

    def field(theta: float, psi: float) -> tuple[float, float]:
        slope = _f_prime_float(psi * theta)
        return -psi * slope, theta * slope - gamma * psi

    return play(field, method, lr, steps, start)


def dirac_gan_trajectory(method: str, lr, steps, start, gamma=0.0) -> np.ndarray:
    """(θ_t, ψ_t), t = 0 … steps, of ``method`` ("simultaneous", "alternating" — the generator
    first, the discriminator seeing the new θ — "extragradient" or "optimistic") from ``start``.
    A run that blows up ends early; :func:`dirac_gan_run` says at which step."""
    return dirac_gan_run(method, lr, steps, start, gamma).trajectory


def dirac_gan_update_matrix(method: str, lr, gamma=0.0) -> np.ndarray:
    """The linearization at the equilibrium of one step of ``method``."""
    return update_matrix(dirac_gan_jacobian(gamma), method, check_lr(lr))


def dirac_gan_update_eigenvalues(method: str, lr, gamma=0.0) -> np.ndarray:
    """Eigenvalues of :func:`dirac_gan_update_matrix`, largest modulus first."""
    return update_eigenvalues(dirac_gan_jacobian(gamma), method, check_lr(lr))


def dirac_gan_spectral_radius(method: str, lr, gamma=0.0) -> float:
    """ρ of the linearized step: below 1, the iterates near (0, 0) converge to it."""
    return spectral_radius(dirac_gan_jacobian(gamma), method, check_lr(lr))
