"""The GANs page's formulas in its notation (LaTeX), written out with a run's numbers, and the functions that
ran: the formula panel's content, next to the code it describes."""

from __future__ import annotations

import math

from calc_core.gan import bilinear, dirac, gan_1d, linear, training
from calc_core.gan.play import stepper
from calc_core.gan.views import CHECK_BATCH, CHECK_LIMIT

PLANE = {"bilinear": [r"\min_x \max_y\ f(x, y) = x\,y - \tfrac{\gamma}{2}\, y^2",
                      r"v(z) = (-\partial_x f,\ \partial_y f) = (-y,\ x - \gamma y)",
                      r"J = \partial v / \partial z = \begin{pmatrix} 0 & -1 \\ 1 & -\gamma \end{pmatrix}"],
         "dirac": [r"L(\theta, \psi) = f(\psi\theta) + f(0), \quad f(t) = -\log(1 + e^{-t})",
                   r"v = (\dot\theta, \dot\psi) = \big(-\psi f'(\psi\theta),\ \theta f'(\psi\theta) - \gamma\psi\big)",
                   r"J(0, 0) = \begin{pmatrix} 0 & -f'(0) \\ f'(0) & -\gamma \end{pmatrix}, \quad f'(0) = \tfrac12"]}
METHOD = {"simultaneous": [r"z_{t+1} = z_t + \eta\, v(z_t)", r"M = I + \eta J, \qquad \lambda = 1 + \eta\mu"],
          "alternating": [r"x_{t+1} = x_t + \eta\, v_x(x_t, y_t)", r"y_{t+1} = y_t + \eta\, v_y(x_{t+1}, y_t)"],
          "extragradient": [r"z_{t+\frac12} = z_t + \eta\, v(z_t), \quad z_{t+1} = z_t + \eta\, v(z_{t+\frac12})",
                            r"M = I + \eta J + \eta^2 J^2"],
          "optimistic": [r"z_{t+1} = z_t + 2\eta\, v(z_t) - \eta\, v(z_{t-1})",
                         r"M = \begin{pmatrix} I + 2\eta J & -\eta J \\ I & 0 \end{pmatrix} "
                         r"\text{ on } (z_t, z_{t-1})"]}
NEAR = [r"z_t \approx M^t z_0 \text{ near } z^* = 0: \quad \|z_t\| \sim \rho^t,",
        r"\rho = \max_k |\lambda_k(M)| \quad (\mu: \text{eigenvalues of } J)"]
GAN = [r"G(z) = a z + b, \quad z \sim \mathcal N(0, 1)", r"D(x) = \sigma(h), \quad h = w_2 x^2 + w_1 x + c",
       r"L_D = -\operatorname{mean} \log D(x_r) - \operatorname{mean} \log(1 - D(x_f))",
       r"\quad + \tfrac{\gamma}{2} \operatorname{mean}(2 w_2 x_r + w_1)^2, \qquad x_f = G(z)",
       r"L_G^{\text{sat}} = \operatorname{mean} \log(1 - D(x_f))",
       r"L_G^{\text{non-sat}} = -\operatorname{mean} \log D(x_f)",
       r"\frac{\partial L_G^{\text{sat}}}{\partial h} = -\frac{D}{m}, \qquad "
       r"\frac{\partial L_G^{\text{non-sat}}}{\partial h} = -\frac{1 - D}{m}",
       r"\frac{\partial h}{\partial x_f} = 2 w_2 x_f + w_1, \qquad \frac{\partial x_f}{\partial (a, b)} = (z, 1)"]
STEP = {"adam": [r"m \leftarrow \beta_1 m + (1 - \beta_1)\, g, \quad v \leftarrow \beta_2 v + (1 - \beta_2)\, g^2",
                 r"\theta \leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \epsilon), \quad \beta_1 = 0.5"],
        "sgd": [r"\theta \leftarrow \theta - \eta\, g"]}


def eigen_text(eigenvalues, digits: str = ".4f") -> str:
    """The eigenvalues, a conjugate pair written once as a ± bi."""
    shown = [z for z in eigenvalues if z.imag >= 0 or not any(abs(w - z.conjugate()) < 1e-12 for w in eigenvalues)]
    return ", ".join(f"{z.real:{digits}} ± {abs(z.imag):{digits}}i" if z.imag else f"{z.real:{digits}}" for z in shown)


def pmatrix(M) -> str:
    return r"\begin{pmatrix}" + r" \\ ".join(" & ".join(f"{v + 0.0:.3g}" for v in row) for row in M) + r"\end{pmatrix}"


def for_result(r) -> tuple[list[str], list, str]:
    """For a ``lab.Result``: the formulas with its numbers, the calc_core functions that ran, and what the gradient
    check checks."""
    s = r.settings
    if r.game is not None:
        g = r.game
        now = [rf"\text{{now: }} \eta = {s.lr:g},\ \gamma = {s.gamma:g}", rf"M = {pmatrix(g.update_matrix)}",
               rf"\lambda = {eigen_text(g.eigenvalues)}, \quad \rho = {g.spectral_radius:.4f}"]
        field = bilinear.bilinear_field if s.game == "bilinear" else dirac.dirac_gan_field
        return ([*PLANE[s.game], *METHOD[s.method], *NEAR, *now], [field, stepper(s.method), linear.update_matrix],
                f"the game's value at the start ({s.start_x:g}, {s.start_y:g}): each player's gradient as the field "
                "uses it")
    p, step = r.gan.checked_params, r.gan.checked_step
    now = [rf"\text{{checked at step {step:,}: }} a = {p['a']:.4g},\ b = {p['b']:.4g}",
           rf"w_2 = {p['w2']:.3g},\ w_1 = {p['w1']:.3g},\ c = {p['c']:.3g}"]
    return ([*GAN, *STEP[s.optimizer], *now], [gan_1d.gradients, training.optimizer_step(s.optimizer)],
            f"L_D and both generator losses on a batch of {CHECK_BATCH} {checked_when(r.gan.run, step)}")


def checked_when(run, step: int) -> str:
    """When the gradient checks ran: "at the last step", or for a run that blew up "at step 17, the last
    before a parameter passed ±10³ (training blew up at step 20)" (see views.checked_step)."""
    if step == 0 and run.completed_steps == 0:
        return "at the start, before any step"
    if step == run.completed_steps:
        return "at the last step"
    place = "at the start (step 0)" if step == 0 else f"at step {step:,}"
    return (f"{place}, the last before a parameter passed ±{power_of_ten(CHECK_LIMIT)} (training blew up at step "
            f"{run.diverged_step:,})")


def power_of_ten(value: float) -> str:
    """10³ for 1e3: a power of ten with its exponent as a superscript."""
    exponent = int(round(math.log10(value)))
    return "10" + str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
