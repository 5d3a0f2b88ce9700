r"""A 1-D GAN that learns a Gaussian: its losses and their gradients, derived by hand.

Data x ~ N(μ, s²); generator G(z) = a·z + b with z ~ N(0, 1), so G(z) ~ N(b, a²); discriminator

    D(x) = σ(h(x)),    h(x) = w₂x² + w₁x + c,

whose logit can be the exact log-ratio log p_data/p_G of two Gaussians (a quadratic in x), so the
optimal discriminator is within reach. With means over the batch,

    L_D = −mean log D(x_real) − mean log(1 − D(G(z))) [+ (γ/2)·mean((∂h/∂x)²) over x_real, R1]
    L_G = mean log(1 − D(G(z)))        saturating (the original minimax game)
    L_G = −mean log D(G(z))            non-saturating

Everything is written through softplus(t) = log(1 + eᵗ) = np.logaddexp(0, t), never log(σ):
−log σ(h) = softplus(−h), −log(1 − σ(h)) = softplus(h), σ(h) = exp(−softplus(−h)), so logits of
±50 (σ = 1 − 2·10⁻²², 2·10⁻²²) keep every digit.

The gradients, by the chain rule through h and G (n real, m fake samples, x_f = a z + b):

    ∂L_D/∂h(x_r) = −σ(−h(x_r))/n,     ∂L_D/∂h(x_f) = σ(h(x_f))/m,     ∂h/∂(w₂, w₁, c) = (x², x, 1)
    R1: u = ∂h/∂x(x_r) = 2w₂x_r + w₁,  ∂/∂w₂ (γ/2)mean(u²) = γ·mean(u·2x_r),  ∂/∂w₁ = γ·mean(u)
    ∂L_G/∂h(x_f) = −σ(h)/m (saturating)   or   −σ(−h)/m = −(1 − D)/m (non-saturating)
    ∂h/∂x_f = 2w₂x_f + w₁,     ∂x_f/∂(a, b) = (z, 1)

The saturating loss's gradient through the logit is −D(G(z)): it vanishes when the discriminator
confidently rejects the fakes (D → 0), exactly when the generator needs it most; the
non-saturating loss's is −(1 − D) → −1 there (its ∂/∂D = −1/D makes up for σ′ = D(1 − D)).

References
----------
Goodfellow et al., "Generative adversarial nets", NeurIPS 2014, §3 (the two generator losses).
Mescheder, Geiger, Nowozin, "Which training methods for GANs do actually converge?", ICML 2018 (R1).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from calc_core.common.validate import choice, finite_array, real

GENERATOR = ("a", "b")
DISCRIMINATOR = ("w2", "w1", "c")
PARAMS = GENERATOR + DISCRIMINATOR
LOSSES = ("non_saturating", "saturating")


def softplus(t):
    """softplus(t) = log(1 + eᵗ), exact for every finite t (and any float dtype)."""
    return np.logaddexp(0, t)


def sigmoid(t):
    """σ(t) = 1 / (1 + e^{−t}) = exp(−softplus(−t)): no overflow, full relative precision at ±50."""
    return np.exp(-softplus(-t))


def logit(x, w2, w1, c):
    """h(x) = w₂x² + w₁x + c."""
    return (w2 * x + w1) * x + c


def discriminator(x, w2, w1, c):
    """D(x) = σ(h(x))."""
    return sigmoid(logit(x, w2, w1, c))


def generator(z, a, b):
    """G(z) = a·z + b."""
    return a * z + b


def check_loss(loss: str) -> str:
    return choice("loss", loss, LOSSES)


def gan_1d_losses(params: Mapping[str, float], x_real, z, loss: str, gamma=0.0) -> tuple:
    """(L_D, L_G) in the dtype of the inputs (np.longdouble in, np.longdouble out); the
    derivative-free reference of the gradient checks."""
    check_loss(loss)
    a, b, w2, w1, c = (params[name] for name in PARAMS)
    h_real, h_fake = logit(x_real, w2, w1, c), logit(generator(z, a, b), w2, w1, c)
    # u = ∂h/∂x at the real samples, for R1
    u = 2 * w2 * x_real + w1
    n, m = h_real.size, h_fake.size
    # L_D = mean softplus(−h(x_r)) + mean softplus(h(x_f)) + (γ/2) mean(u²)
    loss_d = softplus(-h_real).sum() / n + softplus(h_fake).sum() / m + gamma / 2 * (u * u).sum() / n
    if loss == "saturating":
        # L_G = mean log(1 − D(x_f)) = −mean softplus(h(x_f))
        return loss_d, -softplus(h_fake).sum() / m
    # L_G = −mean log D(x_f) = mean softplus(−h(x_f))
    return loss_d, softplus(-h_fake).sum() / m


def gradients(a, b, w2, w1, c, x_real, z, saturating: bool, gamma: float):
    """The unchecked kernel of :func:`gan_1d_gradients` that training calls every step.

    Returns (L_D, L_G, ∂L_G/∂a, ∂L_G/∂b, ∂L_D/∂w₂, ∂L_D/∂w₁, ∂L_D/∂c, mean D(G(z))), floats. Means
    are written as dot products (x @ y / n): np.mean's overhead is most of the time on a batch of 64.
    """
    n, m = x_real.size, z.size
    x_fake = a * z + b
    h_real, h_fake = (w2 * x_real + w1) * x_real + c, (w2 * x_fake + w1) * x_fake + c
    sp_real_neg, sp_real_pos = np.logaddexp(0, -h_real), np.logaddexp(0, h_real)
    sp_fake_neg, sp_fake_pos = np.logaddexp(0, -h_fake), np.logaddexp(0, h_fake)
    # −∂L_D/∂h(x_r)·n = σ(−h) = e^{−softplus(h)},   ∂L_D/∂h(x_f)·m = σ(h) = e^{−softplus(−h)} = D(x_f)
    reject_real, d_fake = np.exp(-sp_real_pos), np.exp(-sp_fake_neg)
    # ∂L_D/∂(w₂, w₁, c) = −mean(σ(−h_r)·(x_r², x_r, 1)) + mean(σ(h_f)·(x_f², x_f, 1))
    gw2 = ((d_fake * x_fake) @ x_fake) / m - ((reject_real * x_real) @ x_real) / n
    gw1 = (d_fake @ x_fake) / m - (reject_real @ x_real) / n
    d_fake_sum = d_fake.sum()
    gc = d_fake_sum / m - reject_real.sum() / n
    # L_D = mean softplus(−h(x_r)) + mean softplus(h(x_f))
    loss_d = sp_real_neg.sum() / n + sp_fake_pos.sum() / m
    if gamma:
        u = 2 * w2 * x_real + w1
        # (γ/2) mean(u²):  ∂/∂w₂ = γ mean(u · 2x_r),  ∂/∂w₁ = γ mean(u)
        loss_d += gamma / 2 * (u @ u) / n
        gw2 += gamma * 2 * (u @ x_real) / n
        gw1 += gamma * u.sum() / n
    if saturating:
        # L_G = −mean softplus(h_f);  ∂L_G/∂h(x_f) = −σ(h)/m = −D/m
        g_h, loss_g = d_fake, -sp_fake_pos.sum() / m
    else:
        # L_G = mean softplus(−h_f);  ∂L_G/∂h(x_f) = −σ(−h)/m = −(1 − D)/m
        g_h, loss_g = np.exp(-sp_fake_pos), sp_fake_neg.sum() / m
    # ∂L_G/∂x_f = ∂L_G/∂h · (2w₂x_f + w₁);   ∂x_f/∂(a, b) = (z, 1)
    g_x = g_h * (2 * w2 * x_fake + w1)
    return (float(loss_d), float(loss_g), float(-(g_x @ z) / m), float(-g_x.sum() / m),
            float(gw2), float(gw1), float(gc), float(d_fake_sum / m))


def check_params(params: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a mapping with keys {list(PARAMS)}, got {type(params).__name__}")
    missing, extra = set(PARAMS) - set(params), set(params) - set(PARAMS)
    if missing or extra:
        raise ValueError(f"params must have exactly the keys {list(PARAMS)}; missing {sorted(missing)}, "
                         f"unexpected {sorted(extra)}")
    return {name: real(name, _scalar(params[name])) for name in PARAMS}


def _scalar(value):
    """A one-element array (np.array(0.3), torch-style [0.3]) as its number; anything else as it is."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.ndim <= 1:
        return value.reshape(()).item()
    return value


def gan_1d_gradients(params: Mapping[str, float], x_real, z, loss: str, gamma=0.0) -> dict:
    """Both losses of the 1-D GAN and the gradient each player follows, derived by hand.

    Parameters
    ----------
    params : mapping
        "a", "b" (generator G(z) = a z + b) and "w2", "w1", "c" (discriminator logit
        h(x) = w₂x² + w₁x + c), finite numbers.
    x_real : 1-D array
        The real batch.
    z : 1-D array
        The generator's noise; G(z) is the fake batch.
    loss : {"saturating", "non_saturating"}
        The generator's loss: mean log(1 − D(G(z))) or −mean log D(G(z)).
    gamma : float
        γ ≥ 0 of the R1 penalty (γ/2)·mean((2w₂x + w₁)²) over the real batch, added to L_D.

    Returns
    -------
    dict
        {"loss_d": L_D, "loss_g": L_G, "grad": {"a": ∂L_G/∂a, "b": ∂L_G/∂b,
        "w2": ∂L_D/∂w₂, "w1": ∂L_D/∂w₁, "c": ∂L_D/∂c}}, floats.

    Examples
    --------
    >>> out = gan_1d_gradients({"a": 1, "b": 0, "w2": 0, "w1": 0, "c": 0}, [1.0, 2.0], [0.5], "saturating")
    >>> round(out["loss_d"], 12) == round(2 * float(np.log(2)), 12), out["grad"]["c"]
    (True, 0.0)
    """
    p = check_params(params)
    x_real = finite_array("x_real", x_real, ndim=1)
    z = finite_array("z", z, ndim=1)
    saturating = check_loss(loss) == "saturating"
    gamma = real("gamma", gamma, minimum=0.0)
    loss_d, loss_g, ga, gb, gw2, gw1, gc, _ = gradients(p["a"], p["b"], p["w2"], p["w1"], p["c"], x_real, z,
                                                        saturating, gamma)
    return {"loss_d": loss_d, "loss_g": loss_g, "grad": {"a": ga, "b": gb, "w2": gw2, "w1": gw1, "c": gc}}
