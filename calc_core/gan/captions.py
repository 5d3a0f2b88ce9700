"""The sentences under the GANs page's charts, with a run's numbers: worded here, next to the numbers they
state, so that the page only places them."""

from __future__ import annotations

from calc_core.gan.diagnosis import METHOD_NAMES, averaged_words, rho_text
from calc_core.gan.formulas import eigen_text


def plane_step(game, step: int) -> str:
    """Under the game's plane at ``step``: at a start at the equilibrium, that every path stays there."""
    still = all(float(run.distance[0]) == 0 for run in game.runs.values())
    return (f"Step {step}: arrows show the direction of v (length ∝ √|v|)"
            + ("; every path stays at the start, the equilibrium (0, 0)" if still else "")
            + f"; equal axes, [−{game.view_radius:.3g}, {game.view_radius:.3g}]².")


def eigenvalues(settings, game) -> str:
    """Under the eigenvalue plane: the method, its step and the eigenvalues of one step."""
    return (f"{METHOD_NAMES[settings.method]}, η = {settings.lr:g}, γ = {settings.gamma:g}: "
            f"λ = {eigen_text(game.eigenvalues)}; ρ = {game.spectral_radius:.4f}.")


def radii(game) -> str:
    """Under the map of the spectral radius: every method's ρ at this η and γ."""
    return ("ρ at this η and γ: " + " · ".join(f"{m} {rho_text(rho)}" for m, rho in game.radii.items())
            + ". Blue converges, red spirals out.")


def gan_step(step: int, at) -> str:
    """Under the densities at ``step``; ``at`` holds that step's generator (a, b) and D's logit (w2, w1, c)."""
    def term(value: float, of: str) -> str:  # "+ 0.0079·x", "− 1.72·x": the sign written once
        return f"{'−' if value < 0 else '+'} {abs(value):.3g}{of}"

    return (f"Step {step}: a = {at['a']:.3f}, b = {at['b']:.3f}; D's logit h = {at['w2']:.3g}·x² "
            f"{term(at['w1'], '·x')} {term(at['c'], '')}.")


# ----------------------------------------------------------------------------- the controls' and axes' words

GAME_LABELS = {"bilinear": "Bilinear game x·y", "dirac": "Dirac-GAN", "gan_1d": "1-D GAN learning a Gaussian"}
METHOD_LABELS = {"simultaneous": "simultaneous GDA", "alternating": "alternating GDA", "extragradient": "extragradient",
                 "optimistic": "optimistic GDA"}
GENERATOR_LOSS_LABELS = {"non_saturating": "non-saturating −log D(G(z))", "saturating": "saturating log(1 − D(G(z)))"}
OPTIMIZER_LABELS = {"adam": "Adam (β₁ = 0.5)", "sgd": "plain steps"}
AXES = {"bilinear": ("x (descends f)", "y (ascends f)"), "dirac": ("θ (generator)", "ψ (discriminator)")}
LOSS_NAMES = {"saturating": "saturating log(1 − D)", "non_saturating": "non-saturating −log D"}

INTRO = ("Two players share one function: one descends it, the other ascends it. Their gradients form a field that "
         "rotates around the equilibrium, so plain gradient steps circle or spiral instead of settling. Pick a lesson "
         "above, or move the sliders.")
EIGENVALUES_WHY = ("Near the equilibrium one step multiplies z by the matrix M. Each eigenvalue λ of M is a direction's "
                   "factor per step: outside the unit circle it grows, on it it circles, inside it shrinks. Move η or "
                   "γ and watch them cross the circle.")


def saturation_why(batch_size: int) -> str:
    """Beside the chart of the generator's gradient against D(G(z))."""
    return ("The generator learns only through D: each fake's push is ∂L_G/∂h. With the saturating loss it is "
            "D(G(z)) itself, so when D confidently rejects the fakes (D → 0, on the left) the push vanishes — just "
            "when the generator is worst. The non-saturating loss's 1/D factor makes up for it: its push is 1 − D ≈ 1 "
            f"there. The ticks at the bottom are the D(G(z)) of a batch of {batch_size} fakes at the last state "
            "the charts show.")


# ----------------------------------------------------------------------------- the metrics above the charts

def plane_metrics(game, settings) -> tuple:
    """(label, value, help) or dicts with a reference, for ``ui.panels.metrics``: the plane games."""
    distance, path = game.distance(settings.method), game.trajectory(settings.method)
    return (("Spectral radius ρ", f"{game.spectral_radius:.4f}", "max |λ| of one step M near (0, 0)."),
            ("Eigenvalues λ", eigen_text(game.eigenvalues[:2], ".3g"), "Of M, the largest; all are below."),
            dict(label="Distance at the end", value=f"{distance[-1]:.3g}", reference=f"from {distance[0]:.3g}"),
            ("Steps run", f"{len(path) - 1:,} of {settings.steps:,}", None))


def gan_metrics(view, settings) -> tuple:
    """The same for the 1-D GAN: the generator against the data, and D's verdict on the fakes."""
    last = f"{averaged_words(view.match.steps_averaged, view.run.completed_steps)}."
    return (dict(label="Generator mean b", value=f"{view.match.mean:.3f}", reference=f"data μ = {settings.data_mean:g}",
                 help=last),
            dict(label="Generator spread |a|", value=f"{view.match.spread:.3f}",
                 reference=f"data s = {settings.data_std:g}", help=last),
            ("D(G(z)), last step", f"{view.run.d_fake[-1]:.3g}" if view.run.d_fake.size else "—",
             "How real the discriminator finds the fakes: ½ when it cannot tell."),
            ("Steps run", f"{view.run.completed_steps:,} of {settings.gan_steps:,}", None))
