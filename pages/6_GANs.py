"""GANs: minimax optimization — why simultaneous gradient steps spiral, and what makes them converge."""

import streamlit as st

import ui
from calc_core.gan import captions, formulas, gan_1d, lab, linear, training
from ui.charts import games as view
from ui.controls import Choice, Number, Slider, Steps
from ui.progress import cached_with_progress


def plane(values):
    return values["game"] != "gan_1d"


def gan(values):
    return values["game"] == "gan_1d"


CONTROLS = (
    Choice("game", "Game", options=lab.GAMES, labels=captions.GAME_LABELS, section="The game"),
    Slider("gamma", "Penalty γ on the second player (R1)", min_value=0.0, max_value=3.0, step=0.05, fmt="%.2f",
           help="(γ/2)·y² on x·y; in the two GANs the R1 penalty (γ/2)·(∂h/∂x)², the slope of the "
                "discriminator's logit h (D = σ(h)) at the real data."),
    Choice("method", "Method (its eigenvalues are shown)", options=linear.METHODS, labels=captions.METHOD_LABELS,
           widget_kind="selectbox", section="Steps in the plane", when=plane,
           help="Simultaneous gradient descent–ascent (GDA) and three variants of it. All four run from the same start; this one is drawn "
                "thicker and taken apart below."),
    Slider("lr", "Step size η", min_value=0.01, max_value=2.0, step=0.01, fmt="%.2f", when=plane),
    Slider("steps", "Steps", min_value=10, max_value=2000, step=10, when=plane),
    Slider("x0", "Start x₀ (θ₀ on the Dirac-GAN)", field="start_x", min_value=-3.0, max_value=3.0, step=0.1,
           fmt="%.1f", when=plane),
    Slider("y0", "Start y₀ (ψ₀ on the Dirac-GAN)", field="start_y", min_value=-3.0, max_value=3.0, step=0.1,
           fmt="%.1f", when=plane),
    Choice("loss", "Generator loss", options=gan_1d.LOSSES, section="The 1-D GAN", when=gan,
           labels=captions.GENERATOR_LOSS_LABELS),
    Choice("opt", "Optimizer", field="optimizer", options=training.OPTIMIZERS, horizontal=True, when=gan,
           labels=captions.OPTIMIZER_LABELS),
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
run = cached_with_progress(lab.run, text="Training… {percent}% of the steps")


def render_plane_step(r: lab.Result, index: int) -> None:
    g, step = r.game, int(r.snapshots.steps[index])
    left, right = st.columns([11, 9], gap="large")
    with left:
        ui.charts.show(view.game_plane(
            g.field_points, g.field_vectors, radius=g.view_radius, colors=view.METHOD_COLORS, chosen=r.settings.method,
            paths={m: g.trajectory(m)[: step + 1] for m in g.runs}, now=r.snapshots.at(index),
            start=(r.settings.start_x, r.settings.start_y), x_title=captions.AXES[g.game][0], y_title=captions.AXES[g.game][1],
            title="The field v and every method's path"), export="trajectories")
        st.caption(captions.plane_step(g, step))
    with right:
        ui.charts.show(view.distance({m: g.distance(m) for m in g.runs}, colors=view.METHOD_COLORS, chosen=r.settings.method,
                                     marker=step, title="Gap to equilibrium"),
                       "Every run starts at the equilibrium: there is no distance to draw.", export="distance")


def render_plane(r: lab.Result) -> None:
    g, s = r.game, r.settings
    ui.panels.metrics(*captions.plane_metrics(g, s))
    ui.panels.show_messages(r.diagnosis, st.container())
    st.subheader("The game, step by step")
    ui.workshop.scrubber(r.snapshots, lambda index: render_plane_step(r, index), label="Step shown")
    st.subheader("Why: the eigenvalues of one step")
    ui.workshop.explain(captions.EIGENVALUES_WHY)
    left, right = st.columns([9, 11], gap="large")
    with left:
        ui.charts.show(view.eigenvalue_plane(g.eigenvalues, title="Eigenvalues of one step"), export="eigenvalues")
        st.caption(captions.eigenvalues(s, g))
    with right:
        ui.charts.show(view.radius_map(g.eta_grid, g.gamma_grid, g.radius_map, current=g.current_point,
                                       title="Spectral radius over (η, γ)"), export="spectral_radius")
        st.caption(captions.radii(g))


def render_gan_step(r: lab.Result, index: int) -> None:
    v, at, step = r.gan, r.snapshots.at(index), int(r.snapshots.steps[index])
    left, right = st.columns(2, gap="large")
    with left:
        ui.charts.show(view.densities(v.x_grid, v.real_density, at["generated_density"], at["discriminator"],
                                      real_label="data N(μ, s²)", generated_label="generator N(b, a²)",
                                      title="Real and generated densities, and D(x)"), export="densities")
        st.caption(captions.gan_step(step, at))
    with right:
        ui.charts.show(view.generator_path(v.run.a, v.run.b, target=(v.run.data_std, v.run.data_mean),
                                           at=(at["a"], at["b"]), title="The generator's path in (a, b)"),
                       export="generator_path")
    ui.charts.show(view.losses(v.run.loss_d, v.run.loss_g, marker=step, title="Losses at each step"),
                   "Training stopped before its first step.", export="losses")


def render_gan(r: lab.Result) -> None:
    v, s = r.gan, r.settings
    ui.panels.metrics(*captions.gan_metrics(v, s))
    ui.panels.show_messages(r.diagnosis, st.container())
    st.subheader("Training, step by step")
    ui.workshop.scrubber(r.snapshots, lambda index: render_gan_step(r, index), label="Step shown")
    st.subheader("Why the saturating loss stalls")
    left, right = st.columns([11, 9], gap="large")
    with left:
        ui.charts.show(view.generator_gradient(
            v.d_grid, {captions.LOSS_NAMES["saturating"]: v.gradient_saturating,
                       captions.LOSS_NAMES["non_saturating"]: v.gradient_non_saturating}, batch_d=v.batch_d,
            title="The generator's gradient against D(G(z))"), export="generator_gradient")
    with right:
        ui.workshop.explain(captions.saturation_why(v.batch_d.size))


def main() -> None:
    _, settings, _ = ui.page.begin("pages/6_GANs.py", CONTROLS, lab.Settings)
    ui.workshop.explain(captions.INTRO)
    with ui.guard("run the game"):
        result = run(settings)
    if result.game is not None:
        render_plane(result)
    else:
        render_gan(result)
    lines, code, what = formulas.for_result(result)
    st.subheader("The formula and the code that ran")
    ui.panels.formula_and_code(lines, code)
    ui.panels.gradient_check(result.gradient_checks, what=what)


with ui.guard("draw this page"):
    main()
