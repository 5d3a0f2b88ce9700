"""Diffusion models: the score ∇ₓ log p — Langevin sampling, annealing, noising and back, learning the score."""

import streamlit as st

import ui
from calc_core.diffusion import captions, formulas, lab
from calc_core.diffusion.checks import BATCH
from calc_core.diffusion.diagnosis import mode_tolerance
from ui.charts import diffusion as view
from ui.controls import Choice, Number, Slider, Steps, Toggle

L = lab.LIMITS
OPTIONS = lab.OPTIONS
MODELS = {"features": "Gaussian bumps × weights", "linear": "Straight line [1, x]",
          "network": "One hidden layer (tanh)"}


def several(v):
    return v["n_modes"] > 1


def annealing(v):
    return v["annealing"]


def width_range(v):
    return lab.model_width_range(v["dimension"], v["model"])


CONTROLS = (
    Choice("dim", "Dimension", field="dimension", options=L["dimension"], labels={1: "1-D", 2: "2-D"},
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
    Choice("model", "Score model s_θ", options=tuple(MODELS), labels=MODELS),
    Slider("mwidth", "Bumps per axis, or hidden units", field="model_width", min_value=lambda v: width_range(v)[0],
           max_value=lambda v: width_range(v)[1], when=lambda v: v["model"] != "linear"),
    Slider("train", "Training steps", field="training_steps", min_value=L["training_steps"][0],
           max_value=L["training_steps"][1], step=50),
    Number("seed", "Random seed", help="Same seed, same start, noise and training: a shared link shows the same run."),
)


scene = ui.cached(lab.scene, spinner="Fitting the score model…")  # keyed on lab.score_model_settings only


@ui.cached(spinner="Sampling…")
def run(settings: lab.Settings) -> lab.Result:
    """The run: the sampling redone, the data and the score model read from their own cache."""
    return ui.workers.run(lab.run, settings, scene=scene(lab.score_model_settings(settings)))


def render_summary(r: lab.Result) -> None:
    w, d, sampler = r.mode_weights, r.sample_distance, r.sampler
    ui.panels.metrics(
        dict(label="Mode weights off by", value=f"{w.total_variation:.3f}", reference=f"allowed {mode_tolerance(w):.3f}",
             help="Total variation ½ Σ|ŵ_k − w_k| of the particles' shares."),
        dict(label="Energy distance D²", value=f"{d.energy:.3g}", reference=f"exact draws: {d.reference:.3g}",
             help=f"Between {d.n} particles and {d.n} exact draws of p."),
        dict(label="Steps run", value=f"{sampler.n_completed:,} of {sampler.n_steps:,}",
             reference=None if sampler.acceptance_rate is None else f"MALA accepted {sampler.acceptance_rate:.0%}"),
        ("Learned score off by", f"{r.score_fit.relative_rms_error:.0%}",
         "RMS distance of s_θ from ∇log p_σ, relative to its size, on fresh noisy points."))
    ui.panels.show_messages(r.diagnosis, st.container())


def render_step(r: lab.Result, index: int) -> None:
    s = lab.sampling_step(r, index)
    histogram = (view.histogram(s.histogram.edges, s.histogram.samples, s.histogram.target,
                                title="Histogram of x₁ against the target"), "histogram")
    weights = (view.mode_weights(s.mode_weights.target, s.mode_weights.samples,
                                 title="Mode weights: samples vs target"), "mode_weights")
    traces = (view.particle_traces(r.snapshots.steps, r.snapshots.states["x"][:, :, 0], marker=s.step, box=r.view_range(),
                                   title="Particles over sampling time"), "traces")
    shown = [histogram, traces, weights]  # two by two; in 1-D the histogram is the picture of the particles
    if r.settings.dimension == 2:
        shown = [(view.particles(r.field.axes, r.field.density, s.x, title="Particles at the step shown"),
                  "particles"), traces, histogram, weights]
    ui.charts.show_grid(shown)
    st.caption(captions.sampling_step(r, s))


def render_sampling(r: lab.Result) -> None:
    st.subheader("The density and its score")
    ui.charts.show_beside(view.density_with_score(r.field.axes, r.field.density, r.field.arrow_points,
                                                  {view.SCORE_NAMES[0]: r.field.score},
                                                  title="The density p and its score"), "score_field",
                          words="The score ∇log p points uphill, towards more probable data, and is steepest far "
                                "from the modes; it needs no normalizing constant. Langevin dynamics follows it with "
                                "a little noise, and its particles end up distributed as p. Arrow lengths grow like "
                                "√|score|.")
    st.subheader("Sampling, step by step")
    ui.workshop.scrubber(r.snapshots, lambda index: render_step(r, index), label="Sampling step shown")
    st.subheader("Why the step must be small: unadjusted Langevin is too wide")
    b = r.variance_bias
    ui.charts.show_beside(view.variance_bias(b.steps, b.ula_variance, b.mala_variance, *b.exact_curve(), b.s**2,
                                             current=r.settings.step_size, title="Stationary variance against the step ε"),
                          "variance_bias", caption=captions.variance_bias(b),
                          words="Each step adds noise of variance 2ε, and the pull back towards the mode removes a "
                                "little less, so the chain settles wider than p; MALA's accept/reject step removes "
                                "the bias.")


def render_paths(r: lab.Result) -> None:
    st.subheader("From data to noise and back")
    p = r.paths
    left, right = st.columns(2, gap="large")
    ui.charts.show(view.paths({"forward noising": (p.forward.states["t"], p.forward.states["x"][:, :, 0])},
                              colors={"forward noising": view.REFERENCE}, box=r.view_range(), title="Noising: data to noise"),
                   container=left, export="noising")
    ui.charts.show(view.paths({"reverse SDE": (p.reverse_sde.states["t"], p.reverse_sde.states["x"][:, :, 0]),
                               "probability-flow ODE": (p.probability_flow.states["t"],
                                                        p.probability_flow.states["x"][:, :, 0])},
                              colors={"reverse SDE": view.PALETTE[1], "probability-flow ODE": view.PALETTE[0]},
                              reverse_time=True, box=r.view_range(), title="Denoising with the exact score of p_t"),
                   container=right, export="denoising")
    st.caption(captions.paths(p))


def render_learning(r: lab.Result) -> None:
    st.subheader("Learning the score: denoising score matching")
    fit, t = r.score_fit, r.tweedie
    left, right = st.columns(2, gap="large")
    ui.charts.show(view.learned_score(r.field.axes, r.field.noised_density, r.field.arrow_points, r.field.noised_score,
                                      r.learned_score, title="The learned score beside the true one"),
                   container=left, export="learned_score")
    ui.charts.show(view.dsm_loss(fit.loss_history, fit.loss_at_true_score, title="DSM training loss and its floor"),
                   container=right, export="dsm_loss")
    with right:
        ui.workshop.explain("The target −(x̃ − x)/σ² points from a noisy point back to its clean one; averaged "
                            "over the clean points that could have made x̃, it is the score of p_σ. So a regression "
                            "on it learns the score, and the loss cannot fall below what the true score scores: the "
                            "noise costs a floor.")
    ui.charts.show_beside(view.tweedie(t.clean, t.noisy, t.denoised, t.denoised_learned,
                                       box=[r.view_range(a) for a in range(r.settings.dimension)],
                                       title="Tweedie: noisy points denoised"), "tweedie",
                          widths=(1, 1), caption=captions.tweedie(t),
                          words="Read the other way, the same identity is Tweedie's formula: a step of σ² along the "
                                "score of p_σ takes a noisy point to the mean of the clean points it could have "
                                "come from.")


def render_math(r: lab.Result) -> None:
    st.subheader("The formula and the code that ran")
    ui.panels.formula_and_code(*formulas.for_result(r), notes=formulas.NOTES)
    ui.panels.gradient_check(r.gradient_checks, what=f"log p and log p_σ (their scores in closed form, near and "
                             f"far from the modes) and of the DSM loss ℓ(θ) on {BATCH} fresh noisy pairs at the "
                             "fitted θ")


def main() -> None:
    _, settings, _ = ui.page.begin("pages/7_Diffusion.py", CONTROLS, lab.Settings)
    ui.workshop.explain("A diffusion model never needs the density p, only its gradient, the score ∇log p: following "
                        "it with a little noise samples p, and the score of noised data can be learned by regression. "
                        "On a Gaussian mixture every score is exact. Pick a lesson above, or move the sliders.")
    with ui.guard("sample from the mixture"):
        result = run(settings)
    render_summary(result)
    render_sampling(result)
    render_paths(result)
    render_learning(result)
    render_math(result)


with ui.guard("draw this page"):
    main()
