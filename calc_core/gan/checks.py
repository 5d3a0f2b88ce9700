r"""Gradient checks of the GAN page: the hand-derived gradients against values of the losses alone.

For the 1-D GAN, three checks at the current parameters on one batch (calc_core.common.gradcheck,
with every estimate made in extended precision, np.longdouble):

    ∂L_D/∂(w₂, w₁, c)                        the discriminator's gradient (with R1 when γ > 0)
    ∂L_G/∂(a, b), non-saturating loss        the generator's gradient, both losses
    ∂L_G/∂(a, b), saturating loss

A loss's rounding comes mostly from its logits h = w₂x² + w₁x + c, whose terms can be far larger than
h: it is about ε·Σ |∂L/∂h| (|w₂|x² + |w₁||x| + |c|), which is passed as ``f_scale`` — small when
the discriminator is saturated, so that even a vanishing saturating gradient (~1e-13) is checked.

For the bilinear game and the Dirac-GAN, the field is checked against the value of the game: the first
player's −∂f/∂x and the second's ∂f/∂y (with the penalty) at the start point. On the Dirac-GAN the value
is taken as its change from the start (calc_core.gan.dirac.f_change), exact to rounding of its own size.
"""

from __future__ import annotations

import numpy as np

from calc_core.common.gradcheck import START_FRACTION, GradientCheck, check_gradient, coordinate_scales
from calc_core.gan.bilinear import bilinear_field, bilinear_value
from calc_core.gan.dirac import dirac_gan_field, f_change
from calc_core.gan.gan_1d import DISCRIMINATOR, GENERATOR, gan_1d_gradients, gan_1d_losses, logit, sigmoid


LOGIT_STEP = 0.5  # the first finite-difference step moves no logit by more than this


def first_steps(values: np.ndarray, sensitivity: np.ndarray) -> np.ndarray:
    """h₀ per coordinate: a tenth of its scale (the check's default), but no more than moves any logit of
    the batch by LOGIT_STEP. ``sensitivity`` is max |∂h/∂p_k| over the batch: with w₂ = −10³ and
    x ~ 20 the logits are ~10⁵ and a default step would cross every kink of softplus at once."""
    return np.minimum(START_FRACTION * coordinate_scales(values), LOGIT_STEP / np.maximum(sensitivity, 1e-300))


def _logit_rounding(x, w2, w1, c, weight) -> float:
    """Σ weight · (|w₂|x² + |w₁||x| + |c|) / n: how much rounding the logits feed into a mean."""
    return float(np.mean(weight * (abs(w2) * x * x + abs(w1) * np.abs(x) + abs(c))))


def gan_1d_checks(params, x_real, z, gamma=0.0) -> tuple[GradientCheck, ...]:
    """The three checks above; ``params`` a mapping a, b, w2, w1, c; ``x_real``, ``z`` the batch."""
    p = {name: float(params[name]) for name in GENERATOR + DISCRIMINATOR}
    x_real, z = np.asarray(x_real, dtype=float), np.asarray(z, dtype=float)
    wide = (x_real.astype(np.longdouble), z.astype(np.longdouble))
    x_fake = p["a"] * z + p["b"]
    h_real, h_fake = logit(x_real, p["w2"], p["w1"], p["c"]), logit(x_fake, p["w2"], p["w1"], p["c"])
    checks = []

    def losses(values, names, batch, loss):
        return gan_1d_losses({**p, **dict(zip(names, values))}, *batch, loss, gamma)

    grads = {loss: gan_1d_gradients(p, x_real, z, loss, gamma) for loss in ("non_saturating", "saturating")}
    # L_D: |∂L/∂h| = σ(−h) on the real batch, σ(h) on the fake one
    d_scale = (_logit_rounding(x_real, p["w2"], p["w1"], p["c"], sigmoid(-h_real))
               + _logit_rounding(x_fake, p["w2"], p["w1"], p["c"], sigmoid(h_fake))
               + gamma * float(np.mean((2 * abs(p["w2"]) * np.abs(x_real) + abs(p["w1"])) ** 2)))
    d0 = np.array([p[k] for k in DISCRIMINATOR])
    both = np.concatenate([x_real, x_fake])
    # ∂h/∂(w₂, w₁, c) = (x², x, 1)
    d_sensitivity = np.array([np.max(both * both), np.max(np.abs(both)), 1.0])
    checks.append(check_gradient(
        lambda v: float(losses(v, DISCRIMINATOR, (x_real, z), "non_saturating")[0]), d0,
        [grads["non_saturating"]["grad"][k] for k in DISCRIMINATOR], name="L_D: (w₂, w₁, c)",
        step=first_steps(d0, d_sensitivity),
        f_scale=abs(grads["non_saturating"]["loss_d"]) + d_scale,
        extended=lambda v: losses(v, DISCRIMINATOR, wide, "non_saturating")[0]))
    g0 = np.array([p[k] for k in GENERATOR])
    # ∂h(x_f)/∂(a, b) = h′(x_f)·(z, 1)
    h_prime = np.abs(2 * p["w2"] * x_fake + p["w1"])
    g_steps = first_steps(g0, np.array([np.max(h_prime * np.abs(z)), np.max(h_prime)]))
    for loss, weight in (("non_saturating", sigmoid(-h_fake)), ("saturating", sigmoid(h_fake))):
        # the fake samples x_f = a z + b are rounded too: |∂h/∂x|·(|a z| + |b|)
        slope = np.abs(2 * p["w2"] * x_fake + p["w1"]) * (abs(p["a"]) * np.abs(z) + abs(p["b"]))
        g_scale = _logit_rounding(x_fake, p["w2"], p["w1"], p["c"], weight) + float(np.mean(weight * slope))
        checks.append(check_gradient(
            lambda v, loss=loss: float(losses(v, GENERATOR, (x_real, z), loss)[1]), g0,
            [grads[loss]["grad"][k] for k in GENERATOR], name=f"L_G {loss.replace('_', '-')}: (a, b)", step=g_steps,
            f_scale=abs(grads[loss]["loss_g"]) + g_scale,
            extended=lambda v, loss=loss: losses(v, GENERATOR, wide, loss)[1]))
    return tuple(checks)


def game_checks(game: str, point, gamma=0.0) -> tuple[GradientCheck, ...]:
    """The field of the bilinear game or the Dirac-GAN at ``point`` = (x, y) against its value:
    −v_x = ∂f/∂x for the first player, v_y = ∂f_y/∂y for the second (f_y with the penalty); on the
    Dirac-GAN the value's change from ``point``."""
    x, y = (float(v) for v in point)
    if game == "bilinear":
        vx, vy = bilinear_field(x, y, gamma)
        first = lambda v: bilinear_value(v[0], y)  # noqa: E731 — the value each player's gradient is of
        second = lambda v: bilinear_value(x, v[0], gamma)  # noqa: E731
    else:
        vx, vy = dirac_gan_field(x, y, gamma)
        # each value's change from the start, computed from the move itself: L's constant f(0) = −log 2 and
        # f(ψθ) ≈ −log 2 near ψθ = 0 would hide, in their rounding, a slope like ψ·e^{−242} or 10⁻¹⁰
        first = lambda v: f_change(x * y, (v[0] - x) * y)  # noqa: E731
        second = lambda v: f_change(x * y, x * (v[0] - y)) - gamma / 2 * (v[0] - y) * (v[0] + y)  # noqa: E731
    names = {"bilinear": ("∂f/∂x", "∂f/∂y"), "dirac": ("∂L/∂θ", "∂(L − γψ²/2)/∂ψ")}[game]
    # on the Dirac-GAN the first step moves the logit ψθ by at most LOGIT_STEP
    steps = (None, None) if game == "bilinear" else (first_steps(np.array([x]), np.array([abs(y)])),
                                                     first_steps(np.array([y]), np.array([abs(x)])))
    return (
        check_gradient(lambda v: float(first(v)), np.array([x]), np.array([-vx]), name=names[0], step=steps[0],
                       extended=lambda v: first(v)),
        check_gradient(lambda v: float(second(v)), np.array([y]), np.array([vy]), name=names[1], step=steps[1],
                       extended=lambda v: second(v)),
    )
