"""The Diffusion page's formulas in its notation (LaTeX), written out with a run's numbers, and the functions
that ran: the formula panel's content, next to the code it describes."""

from __future__ import annotations

from calc_core.diffusion import dsm, langevin
from calc_core.diffusion.mixture import GaussianMixture

FORMULAS = {
    "score": [r"\nabla_x \log p(x) = \sum_k r_k(x)\, \frac{\mu_k - x}{\sigma_k^2}",
              r"r_k(x) = w_k\, \mathcal N(x;\, \mu_k, \sigma_k^2 I)\, /\, p(x)"],
    "noised": [r"p_\sigma = p * \mathcal N(0, \sigma^2 I) "
               r"= \textstyle\sum_k w_k\, \mathcal N(\mu_k, (\sigma_k^2 + \sigma^2) I)"],
    "langevin": [r"x \leftarrow x + \varepsilon\, \nabla_x \log p(x) + \sqrt{2\varepsilon}\, \xi, "
                 r"\quad \xi \sim \mathcal N(0, I)"],
    "bias": [r"\text{on } \mathcal N(m, s^2){:}\ \ \operatorname{Var}_\infty = \frac{s^2}{1 - \varepsilon / (2 s^2)}"],
    "mala": [r"\text{MALA: accept } y \text{ w.p. } \min\Big(1, \frac{p(y)\, q(x \mid y)}{p(x)\, q(y \mid x)}\Big)"],
    "anneal": [r"\sigma_i = \sigma_{\max}\, (\sigma_{\min} / \sigma_{\max})^{\frac{i-1}{L-1}}, \quad i = 1 \dots L",
               r"\alpha_i = \varepsilon\, \sigma_i^2 / \sigma_L^2 \ \text{ along } \nabla_x \log p_{\sigma_i}"],
    "dsm": [r"\tilde x = x + \sigma \xi, \quad \text{target } -(\tilde x - x) / \sigma^2",
            r"\ell(\theta) = \frac{\sigma^2}{2n} \sum_i "
            r"\big\| s_\theta(\tilde x_i) + (\tilde x_i - x_i) / \sigma^2 \big\|^2"],
    "tweedie": [r"\mathbb E[x \mid \tilde x] = \tilde x + \sigma^2\, \nabla_{\tilde x} \log p_\sigma(\tilde x)"],
    "vp": [r"x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \varepsilon",
           r"dx = -\tfrac12 \beta(t) \big[x + (1 + \eta) \nabla_x \log p_t(x)\big]\, dt",
           r"\qquad + \sqrt{\eta\, \beta(t)}\, d\bar w \quad (\text{time running back from } t = 1)"],
}
NOTES = ("Unadjusted Langevin has no stationary variance for ε ≥ 2s². The last two lines are the reverse SDE for "
         "η = 1 and the probability-flow ODE for η = 0, both integrated from t = 1 down to t = 0.001.")


def for_result(r) -> tuple[list[str], list]:
    """For a ``lab.Result``: the formulas of what ran (MALA and annealing when on) with its numbers, and the
    calc_core functions that ran."""
    s = r.settings
    keys = ["score", "noised", "langevin", "bias", *["mala"] * s.mala, *["anneal"] * s.annealing, "dsm", "tweedie", "vp"]
    now = [rf"\text{{now: }} \varepsilon = {s.step_size:g},\ \ s = {r.variance_bias.s:.3g},"
           rf"\ \ \sigma = {s.smoothing_sigma:g}"]
    if s.annealing:
        now.append(rf"\sigma_1 = {r.noise_levels[0]:g} \dots \sigma_L = {r.noise_levels[-1]:g}, \ \ "
                   rf"\alpha_1 = {r.snapshots.states['step_size'][0]:.3g}")
    trainer = ([dsm.network_loss_and_gradient] if s.model == "network" else
               [dsm.features_loss_gradient, dsm.fit_features])
    code = ([GaussianMixture.log_density_and_score, langevin.ula_step] + [langevin.mala_step] * s.mala
            + [langevin.geometric_noise_levels] * s.annealing + [dsm.dsm_pairs, *trainer, dsm.tweedie_denoise])
    return [line for k in keys for line in FORMULAS[k]] + now, code
