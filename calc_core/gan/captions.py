"""The sentences under the GANs page's charts, with a run's numbers: worded here, next to the numbers they
state, so that the page only places them."""

from __future__ import annotations

from calc_core.gan.diagnosis import METHOD_NAMES
from calc_core.gan.formulas import eigen_text


def plane_step(game, step: int) -> str:
    """Under the game's plane at ``step``."""
    return (f"Step {step}: arrows show the direction of v (length ∝ √|v|); equal axes, "
            f"[−{game.view_radius:.3g}, {game.view_radius:.3g}]².")


def eigenvalues(settings, game) -> str:
    """Under the eigenvalue plane: the method, its step and the eigenvalues of one step."""
    return (f"{METHOD_NAMES[settings.method]}, η = {settings.lr:g}, γ = {settings.gamma:g}: "
            f"λ = {eigen_text(game.eigenvalues)}; ρ = {game.spectral_radius:.4f}.")


def radii(game) -> str:
    """Under the map of the spectral radius: every method's ρ at this η and γ."""
    return ("ρ at this η and γ: " + " · ".join(f"{m} {rho:.4f}" for m, rho in game.radii.items())
            + ". Blue converges, red spirals out.")


def gan_step(step: int, at) -> str:
    """Under the densities at ``step``; ``at`` holds that step's generator (a, b) and D's logit (w2, w1, c)."""
    return (f"Step {step}: a = {at['a']:.3f}, b = {at['b']:.3f}; D's logit h = {at['w2']:.3g}·x² "
            f"+ {at['w1']:.3g}·x + {at['c']:.3g}.")
