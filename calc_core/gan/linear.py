r"""One step of four game dynamics, as linear maps: update matrices, eigenvalues, spectral radius.

A two-player game min_x max_y f(x, y) moves along the field v(z) = (−∂f/∂x, +∂f/∂y): the first
player descends, the second ascends. Near an equilibrium z* the field is linear, v(z) ≈ J (z − z*),
with J the Jacobian of v, and every method below is a linear map of one step:

    simultaneous    z′ = z + η J z                            M = I + ηJ
    alternating     x′ = x + η (J z)_x,  y′ = y + η (J (x′, y))_y
    extragradient   z½ = z + η J z,  z′ = z + η J z½          M = I + ηJ + η²J²
    optimistic      z′ = z + 2η J z_t − η J z_{t−1}           M = [[I + 2ηJ, −ηJ], [I, 0]]  on (z_t, z_{t−1})

The iterates go to z* from every start exactly when the spectral radius ρ(M) = max |λ(M)| is below 1.
For the bilinear game f = x·y, J = [[0, −1], [1, 0]], whose eigenvalues ±i make plain
gradient descent–ascent rotate instead of descend.

References
----------
Mescheder, Geiger, Nowozin, "Which training methods for GANs do actually converge?", ICML 2018.
Gidel et al., "A variational inequality perspective on generative adversarial networks", ICLR 2019.
Daskalakis et al., "Training GANs with optimism", ICLR 2018.
"""

from __future__ import annotations

import numpy as np

from calc_core.common.validate import choice, real

METHODS = ("simultaneous", "alternating", "extragradient", "optimistic")


def check_method(method: str) -> str:
    return choice("method", method, METHODS)


def check_lr(lr) -> float:
    """η: a positive, finite step size."""
    return real("lr", lr, positive=True)


def update_matrix(J, method: str, lr) -> np.ndarray:
    """The linear map of one step of ``method`` with step size η = ``lr`` on the field v(z) = J z.

    Parameters
    ----------
    J : (..., 2, 2) array
        Jacobian of the field (descent for the first coordinate, ascent for the second); a stack of
        them gives a stack of matrices.
    method : {"simultaneous", "alternating", "extragradient", "optimistic"}
    lr : float or array broadcasting against J's leading axes

    Returns
    -------
    (..., 2, 2) array, or (..., 4, 4) for "optimistic", which acts on (z_t, z_{t−1}).
    """
    check_method(method)
    J = np.asarray(J, dtype=float)
    eta = np.asarray(lr, dtype=float)[..., None, None]
    I = np.broadcast_to(np.eye(2), J.shape)
    if method == "simultaneous":
        # M = I + ηJ
        return I + eta * J
    if method == "extragradient":
        # M = I + ηJ (I + ηJ) = I + ηJ + η²J²
        return I + eta * J + eta**2 * (J @ J)
    if method == "alternating":
        return _alternating_matrix(J, eta[..., 0, 0])
    # [[z_{t+1}], [z_t]] = [[I + 2ηJ, −ηJ], [I, 0]] [[z_t], [z_{t−1}]]
    top = np.concatenate([I + 2 * eta * J, -eta * J], axis=-1)
    bottom = np.concatenate([I, np.zeros_like(J)], axis=-1)
    return np.concatenate([top, bottom], axis=-2)


def _alternating_matrix(J, eta) -> np.ndarray:
    j00, j01, j10, j11 = J[..., 0, 0], J[..., 0, 1], J[..., 1, 0], J[..., 1, 1]
    M = np.empty(np.broadcast_shapes(J.shape, np.shape(eta) + (2, 2)))
    # x′ = (1 + η j00) x + η j01 y
    M[..., 0, 0] = 1 + eta * j00
    M[..., 0, 1] = eta * j01
    # y′ = y + η (j10 x′ + j11 y) = η j10 (1 + η j00) x + (1 + η j11 + η² j10 j01) y
    M[..., 1, 0] = eta * j10 * (1 + eta * j00)
    M[..., 1, 1] = 1 + eta * j11 + eta**2 * j10 * j01
    return M


def quadratic_roots(B, C) -> tuple[np.ndarray, np.ndarray]:
    """Both roots of λ² − Bλ + C = 0 (complex), the larger first, without cancellation:
    λ₁ = (B + s)/2 with s = ±√(B² − 4C) signed to match B, and λ₂ = C/λ₁ (the product of the roots)."""
    B, C = np.asarray(B, dtype=complex), np.asarray(C, dtype=complex)
    s = np.sqrt(B * B - 4 * C)
    s = np.where((np.conj(B) * s).real >= 0, s, -s)
    first = (B + s) / 2
    safe = np.where(first == 0, 1, first)
    return first, np.where(first == 0, 0, C / safe)


def jacobian_eigenvalues(J) -> np.ndarray:
    """μ of one or a stack of 2×2 Jacobians: the roots of μ² − tr(J) μ + det(J) = 0, shape (..., 2)."""
    J = np.asarray(J, dtype=float)
    trace = J[..., 0, 0] + J[..., 1, 1]
    det = J[..., 0, 0] * J[..., 1, 1] - J[..., 0, 1] * J[..., 1, 0]
    return np.stack(quadratic_roots(trace, det), axis=-1)


def update_eigenvalues(J, method: str, lr) -> np.ndarray:
    """Eigenvalues λ of the update matrix of ``method`` in closed form, from those of J (μ):

        simultaneous    λ = 1 + ημ
        extragradient   λ = 1 + ημ + η²μ²
        optimistic      λ² − (1 + 2ημ) λ + ημ = 0   (two λ per μ: four in all)
        alternating     λ² − tr(M) λ + det(M) = 0

    Exact where an eigenvalue is double (optimistic GDA on x·y at η = 1/2), where a general
    eigenvalue solver loses half the digits. Shape (..., 2) or (..., 4), largest |λ| first.
    """
    check_method(method)
    J = np.asarray(J, dtype=float)
    eta = np.asarray(lr, dtype=float)
    if method == "alternating":
        M = _alternating_matrix(J, eta)
        lam = jacobian_eigenvalues(M)
    else:
        mu = jacobian_eigenvalues(J)
        eta = eta[..., None]
        if method == "simultaneous":
            # λ = 1 + ημ
            lam = 1 + eta * mu
        elif method == "extragradient":
            # λ = 1 + ημ + η²μ²
            lam = 1 + eta * mu + (eta * mu) ** 2
        else:
            # det(λ²I − λ(I + 2ηJ) + ηJ) = 0  ⇔  λ² − (1 + 2ημ)λ + ημ = 0 for each μ
            lam = np.concatenate(quadratic_roots(1 + 2 * eta * mu, eta * mu), axis=-1)
    order = np.argsort(-np.abs(lam), axis=-1, kind="stable")
    return np.take_along_axis(lam, order, axis=-1)


def eigenvalues(M) -> np.ndarray:
    """Eigenvalues of one or a stack of matrices (a general solver), complex, largest |λ| first."""
    lam = np.linalg.eigvals(np.asarray(M, dtype=float)).astype(complex)
    order = np.argsort(-np.abs(lam), axis=-1, kind="stable")
    return np.take_along_axis(lam, order, axis=-1)


def spectral_radius(J, method: str, lr) -> np.ndarray | float:
    """ρ = max |λ| of the update of ``method`` on v = Jz: ‖z_t‖ grows (ρ > 1) or shrinks like ρᵗ."""
    rho = np.max(np.abs(update_eigenvalues(J, method, lr)), axis=-1)
    return float(rho) if np.ndim(rho) == 0 else rho


def spectral_radius_map(jacobian_of_gamma, method: str, etas, gammas) -> np.ndarray:
    """ρ(η, γ) on a grid: ``jacobian_of_gamma(γ)`` gives J for each γ of an array.

    Returns a (len(gammas), len(etas)) array, rows over γ.
    """
    etas, gammas = np.asarray(etas, dtype=float), np.asarray(gammas, dtype=float)
    J = jacobian_of_gamma(gammas)[:, None]  # (G, 1, 2, 2)
    return spectral_radius(J, method, etas[None, :])


def regularized_bilinear_jacobian(coupling, gamma) -> np.ndarray:
    """J of the field of f(x, y) = c·x·y − (γ/2)·y²: v = (−c y, c x − γ y), so J = [[0, −c], [c, −γ]].

    ``gamma`` may be an array: a stack of Jacobians comes back, shape (..., 2, 2).
    """
    gamma = np.asarray(gamma, dtype=float)
    J = np.zeros(gamma.shape + (2, 2))
    J[..., 0, 1] = -coupling
    J[..., 1, 0] = coupling
    J[..., 1, 1] = -gamma
    return J
