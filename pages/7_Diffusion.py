"""Diffusion models: the score ∇ₓ log p — Langevin sampling, annealing, noising and back, learning the score."""

import streamlit as st

import ui
from calc_core.diffusion import captions, formulas, lab
from ui.charts import diffusion as view
from ui.controls import Choice, Number, Slider, Steps, Toggle

L = lab.LIMITS
OPTIONS = lab.OPTIONS


def several(v):
    return v["n_modes"] > 1


def annealing(v):
    return v["annealing"]


def width_range(v):
    return lab.model_width_range(v["dimension"], v["model"])


CONTROLS = (
    Choice("dim", "Dimension", field="dimension", options=L["dimension"], labels=captions.DIMENSION_LABELS,
           widget_kind="segmented", section="The data: a Gaussian mixture"),
    Slider("modes", "Modes", field="n_modes", min_value=L["n_modes"][0], max_value=L["n_modes"][1]),
    Slider("sep", "Distance between neighbouring modes", field="separation", min_value=L["separation"][0],
           max_value=L["separation"][1], step=0.5, fmt="%.1f", when=several),
    Slider("w1", "Weight of mode 1", field="first_weight", min_value=L["first_weight"][0],
           max_value=L["first_weight"][1], step=0.05, fmt="%.2f", when=several,
           help="The other modes share the rest equally."),
    Slider("width1", "Width σ₁ of mode 1", field="first_width", min_value=L["first_width"][0],
           max_value=L["first_width"][1], step=0.05, fmt="%.2f"),
    Slider("width", "Width of the other modes", field="width", min_value=L["width"][0], max_value=L["width"][1],
           step=0.05, fmt="%.2f", when=several),
    Steps("eps", "Step ε", field="step_size", options=OPTIONS["step_size"], section="Langevin sampling",
          help="With annealing, the step at the last level σ_L; level i steps α_i = ε σ_i²/σ_L²."),
    Slider("steps", "Sampling steps", field="n_steps", min_value=L["n_levels"][1], max_value=L["n_steps"][1], step=10,
           help="In all; with annealing split evenly over the levels (so at least one per level)."),
    Steps("particles", "Particles", field="n_particles", options=OPTIONS["n_particles"]),
    Toggle("anneal", "Annealing over noise levels", field="annealing",
           help="Song & Ermon (2019): follow the score of p_σ for σ from σ_max down to σ_min."),
    Slider("levels", "Noise levels L", field="n_levels", min_value=L["n_levels"][0], max_value=L["n_levels"][1],
           when=annealing),
    Steps("smax", "σ_max: the start's spread (and the first level)", field="sigma_max", options=OPTIONS["sigma_max"],
          help="The particles start from N(0, σ_max² I)."),
    Steps("smin", "σ_min: the last level", field="sigma_min", options=OPTIONS["sigma_min"], when=annealing),
    Toggle("mala", "Metropolis adjustment (MALA)", field="mala",
           help="Accept or refuse each Langevin move so that p is exactly stationary."),
    Slider("sigma", "Noise σ of p_σ (score matching, Tweedie)", field="smoothing_sigma",
           min_value=L["smoothing_sigma"][0], max_value=L["smoothing_sigma"][1], step=0.05, fmt="%.2f",
           section="Learning the score"),
    Choice("model", "Score model s_θ", options=tuple(captions.MODEL_LABELS), labels=captions.MODEL_LABELS),
    Slider("mwidth", "Bumps per axis, or hidden units", field="model_width", min_value=lambda v: width_range(v)[0],
           max_value=lambda v: width_range(v)[1], when=lambda v: v["model"] != "linear"),
    Slider("train", "Training steps", field="training_steps", min_value=L["training_steps"][0],
           max_value=L["training_steps"][1], step=lab.TRAINING_STEP),
    Number("seed", "Random seed", help="Same seed, same start, noise and training: a shared link shows the same run."),
)


scene = ui.cached(lab.scene, spinner="Fitting the score model…")  # keyed on lab.score_model_settings only


@ui.cached(spinner="Sampling…")
def run(settings: lab.Settings) -> lab.Result:
    """The run: the sampling redone, the data and the score model read from their own cache."""
    return ui.workers.run(lab.run, settings, scene=scene(lab.score_model_settings(settings)))


def render_summary(r: lab.Result) -> None:
    ui.panels.metrics(*captions.summary_metrics(r))
    ui.panels.show_messages(r.diagnosis, st.container())


def render_step(r: lab.Result, index: int) -> None:
    s = lab.sampling_step(r, index)
    ui.charts.show_grid(view.sampling_charts(r, s))
    st.caption(captions.sampling_step(r, s))


def render_sampling(r: lab.Result) -> None:
    st.subheader("The density and its score")
    ui.charts.show_beside(view.density_with_score(r.field.axes, r.field.density, r.field.arrow_points,
                                                  {view.SCORE_NAMES[0]: r.field.score},
                                                  title="The density p and its score"), "score_field",
                          words=captions.SCORE_WHY)
    st.subheader("Sampling, step by step")
    ui.workshop.scrubber(r.snapshots, lambda index: render_step(r, index), label="Sampling step shown")
    st.subheader("Why the step must be small: unadjusted Langevin is too wide")
    b = r.variance_bias
    ui.charts.show_beside(view.variance_bias(b.steps, b.ula_variance, b.mala_variance, *b.exact_curve(), b.s**2,
                                             current=r.settings.step_size, title="Stationary variance against the step ε"),
                          "variance_bias", caption=captions.variance_bias(b),
                          words=captions.VARIANCE_WHY)


def render_paths(r: lab.Result) -> None:
    st.subheader("From data to noise and back")
    ui.charts.show_grid(zip(view.noising_and_denoising(r.paths, r.view_range()), ("noising", "denoising")))
    st.caption(captions.paths(r.paths))
    ui.workshop.explain(captions.PATHS_WHY)


def render_score_matching(r: lab.Result) -> None:
    st.subheader("Learning the score: denoising score matching")
    fit, t = r.score_fit, r.tweedie
    left, right = st.columns(2, gap="large")
    ui.charts.show(view.learned_score(r.field.axes, r.field.noised_density, r.field.arrow_points, r.field.noised_score,
                                      r.learned_score, title="The learned score beside the true one"),
                   container=left, export="learned_score")
    ui.charts.show(view.dsm_loss(fit.loss_history, fit.loss_at_true_score, title="DSM training loss and its floor"),
                   container=right, export="dsm_loss")
    with right:
        ui.workshop.explain(captions.DSM_WHY)
    ui.charts.show_beside(view.tweedie(t.clean, t.noisy, t.denoised, t.denoised_learned,
                                       box=[r.view_range(a) for a in range(r.settings.dimension)],
                                       title="Tweedie: noisy points denoised"), "tweedie",
                          widths=(1, 1), caption=captions.tweedie(t),
                          words=captions.TWEEDIE_WHY)


def render_math(r: lab.Result) -> None:
    st.subheader("The formula and the code that ran")
    ui.panels.formula_and_code(*formulas.for_result(r), notes=formulas.NOTES)
    ui.panels.gradient_check(r.gradient_checks, what=captions.CHECK_WHAT)


def main() -> None:
    _, settings, _ = ui.page.begin("pages/7_Diffusion.py", CONTROLS, lab.Settings)
    ui.workshop.explain(captions.INTRO)
    with ui.guard("sample from the mixture"):
        result = run(settings)
    render_summary(result)
    render_sampling(result)
    render_paths(result)
    render_score_matching(result)
    render_math(result)


with ui.guard("draw this page"):
    main()
