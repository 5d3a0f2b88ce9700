"""GANs: minimax optimization — why simultaneous gradient steps spiral, and what makes them converge."""

import streamlit as st

import ui
from calc_core.gan import bilinear, dirac, gan_1d, lab, linear, training
from calc_core.gan.diagnosis import METHOD_NAMES
from calc_core.gan.play import stepper
from calc_core.gan.views import CHECK_BATCH
from ui.charts import games as view
from ui.controls import Choice, Number, Slider, Steps


def plane(values):
    return values["game"] != "gan_1d"


def gan(values):
    return values["game"] == "gan_1d"


GAMES = {"bilinear": "Bilinear game x·y", "dirac": "Dirac-GAN", "gan_1d": "1-D GAN learning a Gaussian"}
METHODS = {"simultaneous": "simultaneous GDA", "alternating": "alternating GDA", "extragradient": "extragradient",
           "optimistic": "optimistic GDA"}
CONTROLS = (
    Choice("game", "Game", options=lab.GAMES, labels=GAMES, section="The game"),
    Slider("gamma", "Penalty γ on the second player (R1)", min_value=0.0, max_value=3.0, step=0.05, fmt="%.2f",
           help="(γ/2)·y² on x·y; the R1 penalty (γ/2)·(∂D/∂x)² on the discriminator of the two GANs."),
    Choice("method", "Method (its eigenvalues are shown)", options=linear.METHODS, labels=METHODS,
           widget_kind="selectbox", section="Steps in the plane", when=plane,
           help="Gradient descent–ascent (GDA) and two fixes. All four run from the same start; this one is drawn "
                "thicker and taken apart below."),
    Slider("lr", "Step size η", min_value=0.01, max_value=2.0, step=0.01, fmt="%.2f", when=plane),
    Slider("steps", "Steps", min_value=10, max_value=2000, step=10, when=plane),
    Slider("x0", "Start x₀ (θ₀ on the Dirac-GAN)", field="start_x", min_value=-3.0, max_value=3.0, step=0.1,
           fmt="%.1f", when=plane),
    Slider("y0", "Start y₀ (ψ₀ on the Dirac-GAN)", field="start_y", min_value=-3.0, max_value=3.0, step=0.1,
           fmt="%.1f", when=plane),
    Choice("loss", "Generator loss", options=gan_1d.LOSSES, section="The 1-D GAN", when=gan,
           labels={"non_saturating": "non-saturating −log D(G(z))", "saturating": "saturating log(1 − D(G(z)))"}),
    Choice("opt", "Optimizer", field="optimizer", options=training.OPTIMIZERS, horizontal=True, when=gan,
           labels={"adam": "Adam (β₁ = 0.5)", "sgd": "plain steps"}),
    Choice("order", "Updates", options=training.ORDERS, horizontal=True, when=gan,
           help="Alternating: the generator's gradient sees the discriminator just updated."),
    Slider("dsteps", "Discriminator steps per generator step", field="d_steps", min_value=1, max_value=10, when=gan),
    Steps("glr", "Step size η of both players", field="gan_lr", when=gan,
          options=(0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)),
    Slider("gsteps", "Training steps", field="gan_steps", min_value=50, max_value=5000, step=50, when=gan),
    Steps("batch", "Batch size", field="batch_size", options=(4, 8, 16, 32, 64, 128, 256, 512, 1024), when=gan),
    Slider("mean", "Data mean μ", field="data_mean", min_value=-10.0, max_value=10.0, step=0.5, fmt="%.1f", when=gan),
    Slider("std", "Data spread s", field="data_std", min_value=0.1, max_value=5.0, step=0.1, fmt="%.1f", when=gan),
    Number("seed", "Random seed", when=gan, help="Of the batches: same seed, same run."),
)
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
COLORS = {"simultaneous": "#d62728", "alternating": "#ff7f0e", "extragradient": "#2ca02c", "optimistic": "#1f77b4"}
AXES = {"bilinear": ("x (descends f)", "y (ascends f)"), "dirac": ("θ (generator)", "ψ (discriminator)")}
PLAIN = {"delta_color": "off", "delta_arrow": "off"}  # a metric's delta that is a reference, not a change
LOSS_NAMES = {"saturating": "saturating log(1 − D)", "non_saturating": "non-saturating −log D"}

run = ui.cached(lab.run, spinner="Training…")


def eigen_text(eigenvalues, digits: str = ".4f") -> str:
    """The eigenvalues, a conjugate pair written once as a ± bi."""
    shown = [z for z in eigenvalues if z.imag >= 0 or not any(abs(w - z.conjugate()) < 1e-12 for w in eigenvalues)]
    return ", ".join(f"{z.real:{digits}} ± {abs(z.imag):{digits}}i" if z.imag else f"{z.real:{digits}}" for z in shown)


def pmatrix(M) -> str:
    return r"\begin{pmatrix}" + r" \\ ".join(" & ".join(f"{v + 0.0:.3g}" for v in row) for row in M) + r"\end{pmatrix}"


def render_plane_step(r: lab.Result, index: int) -> None:
    g, step = r.game, int(r.snapshots.steps[index])
    left, right = st.columns([11, 9], gap="large")
    with left:
        ui.charts.show(view.game_plane(
            g.field_points, g.field_vectors, radius=g.view_radius, colors=COLORS, chosen=r.settings.method,
            paths={m: g.trajectory(m)[: step + 1] for m in g.runs}, now=r.snapshots.at(index),
            start=(r.settings.start_x, r.settings.start_y), x_title=AXES[g.game][0], y_title=AXES[g.game][1],
            title="The field v and every method's path"), export="trajectories")
        st.caption(f"Step {step}: arrows show the direction of v (length ∝ √|v|); equal axes, "
                   f"[−{g.view_radius:.3g}, {g.view_radius:.3g}]².")
    with right:
        ui.charts.show(view.distance({m: g.distance(m) for m in g.runs}, colors=COLORS, chosen=r.settings.method,
                                     marker=step, title="Distance to the equilibrium"),
                       "Every run starts at the equilibrium: there is no distance to draw.", export="distance")


def render_plane(r: lab.Result) -> None:
    g, s = r.game, r.settings
    cols = st.columns(4)
    cols[0].metric("Spectral radius ρ", f"{g.spectral_radius:.4f}", help="max |λ| of one step M near (0, 0).")
    cols[1].metric("Eigenvalues λ", eigen_text(g.eigenvalues[:2], ".3g"), help="Of M, the largest; all are below.")
    cols[2].metric("Distance at the end", f"{g.distance(s.method)[-1]:.3g}",
                   delta=f"from {g.distance(s.method)[0]:.3g}", **PLAIN)
    cols[3].metric("Steps run", f"{len(g.trajectory(s.method)) - 1:,} of {s.steps:,}")
    ui.panels.show_messages(r.diagnosis, st.container())
    st.subheader("The game, step by step")
    ui.workshop.scrubber(r.snapshots, lambda index: render_plane_step(r, index), label="Step shown")
    st.subheader("Why: the eigenvalues of one step")
    ui.workshop.explain("Near the equilibrium one step multiplies z by the matrix M. Each eigenvalue λ of M is a "
                        "direction's factor per step: outside the unit circle it grows, on it it circles, inside "
                        "it shrinks. Move η or γ and watch them cross the circle.")
    left, right = st.columns([9, 11], gap="large")
    with left:
        ui.charts.show(view.eigenvalue_plane(g.eigenvalues, title="Eigenvalues of one step"), export="eigenvalues")
        st.caption(f"{METHOD_NAMES[s.method]}, η = {s.lr:g}, γ = {s.gamma:g}: λ = {eigen_text(g.eigenvalues)}; "
                   f"ρ = {g.spectral_radius:.4f}.")
    with right:
        ui.charts.show(view.radius_map(g.eta_grid, g.gamma_grid, g.radius_map, current=g.current_point,
                                       title="Spectral radius over (η, γ)"), export="spectral_radius")
        st.caption("ρ at this η and γ: " + " · ".join(f"{m} {rho:.4f}" for m, rho in g.radii.items())
                   + ". Blue converges, red spirals out.")


def render_gan_step(r: lab.Result, index: int) -> None:
    v, at, step = r.gan, r.snapshots.at(index), int(r.snapshots.steps[index])
    left, right = st.columns(2, gap="large")
    with left:
        ui.charts.show(view.densities(v.x_grid, v.real_density, at["generated_density"], at["discriminator"],
                                      real_label="data N(μ, s²)", generated_label="generator N(b, a²)",
                                      title="Real and generated densities, and D(x)"), export="densities")
        st.caption(f"Step {step}: a = {at['a']:.3f}, b = {at['b']:.3f}; D's logit h = {at['w2']:.3g}·x² "
                   f"+ {at['w1']:.3g}·x + {at['c']:.3g}.")
    with right:
        ui.charts.show(view.generator_path(v.run.a, v.run.b, target=(v.run.data_std, v.run.data_mean),
                                           at=(at["a"], at["b"]), title="The generator's path in (a, b)"),
                       export="generator_path")
    ui.charts.show(view.losses(v.run.loss_d, v.run.loss_g, marker=step, title="Losses at each step"),
                   "Training stopped before its first step.", export="losses")


def render_gan(r: lab.Result) -> None:
    v, s = r.gan, r.settings
    cols = st.columns(4)
    last = f"Averaged over the last {v.match.steps_averaged} steps."
    cols[0].metric("Generator mean b", f"{v.match.mean:.3f}", delta=f"data μ = {s.data_mean:g}", help=last, **PLAIN)
    cols[1].metric("Generator spread |a|", f"{v.match.spread:.3f}", delta=f"data s = {s.data_std:g}", help=last,
                   **PLAIN)
    cols[2].metric("D(G(z)), last step", f"{v.run.d_fake[-1]:.3g}" if v.run.d_fake.size else "—",
                   help="How real the discriminator finds the fakes: ½ when it cannot tell.")
    cols[3].metric("Steps run", f"{v.run.completed_steps:,} of {s.gan_steps:,}")
    ui.panels.show_messages(r.diagnosis, st.container())
    st.subheader("Training, step by step")
    ui.workshop.scrubber(r.snapshots, lambda index: render_gan_step(r, index), label="Step shown")
    st.subheader("Why the saturating loss stalls")
    left, right = st.columns([11, 9], gap="large")
    with left:
        ui.charts.show(view.generator_gradient(
            v.d_grid, {LOSS_NAMES["saturating"]: v.gradient_saturating,
                       LOSS_NAMES["non_saturating"]: v.gradient_non_saturating}, batch_d=v.batch_d,
            title="The generator's gradient against D(G(z))"), export="generator_gradient")
    with right:
        ui.workshop.explain(
            "The generator learns only through D: each fake's push is ∂L_G/∂h. With the saturating loss it is "
            "D(G(z)) itself, so when D confidently rejects the fakes (D → 0, on the left) the push vanishes — just "
            "when the generator is worst. The non-saturating loss's 1/D factor makes up for it: its push is 1 − D ≈ 1 "
            f"there. The ticks at the bottom are the D(G(z)) of a batch of {v.batch_d.size} fakes at the last step.")


def formulas_and_code(r: lab.Result) -> tuple[list[str], list, str]:
    """The formulas with the current numbers, the calc_core functions that ran, what the check checks."""
    s = r.settings
    if r.game is not None:
        g = r.game
        now = [rf"\text{{now: }} \eta = {s.lr:g},\ \gamma = {s.gamma:g}", rf"M = {pmatrix(g.update_matrix)}",
               rf"\lambda = {eigen_text(g.eigenvalues)}, \quad \rho = {g.spectral_radius:.4f}"]
        field = bilinear.bilinear_field if s.game == "bilinear" else dirac.dirac_gan_field
        return ([*PLANE[s.game], *METHOD[s.method], *NEAR, *now], [field, stepper(s.method), linear.update_matrix],
                f"the game's value at the start ({s.start_x:g}, {s.start_y:g}): each player's gradient as the field "
                "uses it")
    p = r.gan.checked_params
    now = [rf"\text{{checked at: }} a = {p['a']:.4g},\ b = {p['b']:.4g}",
           rf"w_2 = {p['w2']:.3g},\ w_1 = {p['w1']:.3g},\ c = {p['c']:.3g}"]
    return ([*GAN, *STEP[s.optimizer], *now], [gan_1d.gradients, training.optimizer_step(s.optimizer)],
            f"L_D and both generator losses on a batch of {CHECK_BATCH} at the last step")


def main() -> None:
    _, settings, _ = ui.page.begin("pages/6_GANs.py", CONTROLS, lab.Settings)
    ui.workshop.explain("Two players share one function: one descends it, the other ascends it. Their gradients "
                        "form a field that rotates around the equilibrium, so plain gradient steps circle or spiral "
                        "instead of settling. Pick a lesson above, or move the sliders.")
    with ui.guard("run the game"):
        result = run(settings)
    if result.game is not None:
        render_plane(result)
    else:
        render_gan(result)
    formulas, code, what = formulas_and_code(result)
    st.subheader("The formula and the code that ran")
    ui.panels.formula_and_code(formulas, code)
    ui.panels.gradient_check(result.gradient_checks, what=what)


with ui.guard("draw this page"):
    main()
