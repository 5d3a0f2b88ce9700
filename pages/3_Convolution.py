"""Computer Vision: conv2d forward, its exact backward pass, and learning a kernel by gradient descent."""

from dataclasses import dataclass

import numpy as np
import streamlit as st

import ui
import ui.images
from calc_core.convolution import core as convolution
from calc_core.convolution import learning as kernel_learning
from calc_core.convolution import kernels
from calc_core.convolution.tutorial import DEFECTS, compare_with_tutorial

ui.setup_page("pages/3_Convolution.py")

UPLOAD, CUSTOM = ui.images.UPLOAD, "custom"
SOURCES = (*ui.images.available_samples(), *kernels.SYNTHETIC_IMAGES, UPLOAD)
SOURCE_LABELS = {"photo": "Photo", "checkerboard": "Checkerboard", "circle": "Circle", "bars": "Bars", UPLOAD: "Upload"}
KERNEL_LABELS = {**{k: v.split(" (")[0] for k, v in kernels.KERNEL_LABELS.items()}, CUSTOM: "Custom"}
LOSS_LABELS = {"energy": "½‖y‖²", "random": "Σ y⊙R", "sum": "Σ y (tutorial)"}
LOSS_LATEX = {"energy": r"L = \tfrac12\lVert y\rVert^2 \;\Rightarrow\; G = y",
              "random": r"L = \textstyle\sum_{ij} y_{ij} R_{ij},\ R \sim \mathcal N(0,1) \;\Rightarrow\; G = R",
              "sum": r"L = \textstyle\sum_{ij} y_{ij} \;\Rightarrow\; G = \mathbf 1"}
DEFAULT_CUSTOM = "0, 1, 2; -1, 0, 1; -2, -1, 0"
LR_FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.5, 2.0)
TOO_HIGH = 1.2  # the comparison run's η, as a fraction of the stable limit
LEARN_MAX_SIDE = 128  # the learning panel shrinks larger images to stay fast


@dataclass(frozen=True)
class Settings:
    source: str
    size: int
    noise: float
    kernel_name: str
    kernel_text: str
    stride: int
    padding: int
    loss: str
    seed: int


def controls() -> tuple[Settings, bytes | None]:
    sb = st.sidebar
    sb.header("Image")
    source = ui.controls.choice("Image", SOURCES, SOURCES[0], key="img", fmt=SOURCE_LABELS.get, widget="selectbox")
    file = sb.file_uploader("PNG or JPEG image", type=["png", "jpg", "jpeg"], max_upload_size=ui.images.MAX_UPLOAD_MB,
                            help=f"Up to {ui.images.MAX_UPLOAD_MB} MB; it is turned gray and shrunk.") if source == UPLOAD else None
    upload = None if file is None else file.getvalue()
    size = ui.controls.slider("Image size (longer side, pixels)", 16, 256, 96, step=16, key="size")
    noise = ui.controls.slider("Noise σ", 0.0, 0.5, 0.1, step=0.01, fmt="%.2f", key="noise",
                               help="Gaussian pixel noise on the [0, 1] image (seeded).")
    sb.header("Layer")
    kernel_name = ui.controls.choice("Kernel w", [*kernels.KERNEL_NAMES, CUSTOM], "sobel_x", key="kernel",
                                     fmt=KERNEL_LABELS.get, widget="selectbox")
    text = ui.controls.text("Kernel entries", DEFAULT_CUSTOM, key="w", max_chars=400,
                            help="Rows split by ';', entries by ','; up to 5×5; fractions like 1/9 work.") \
        if kernel_name == CUSTOM else ""
    stride = ui.controls.slider("Stride s", 1, 4, 1, key="stride")
    padding = ui.controls.slider("Zero padding p", 0, 3, 1, key="pad")
    loss = ui.controls.choice("Loss L on the output", list(LOSS_LABELS), "energy", key="loss", fmt=LOSS_LABELS.get,
                              help="G = ∂L/∂y is what flows back into the layer.")
    seed = ui.controls.seed()
    ui.controls.reset_button()
    ui.sidebar_note()
    return Settings(source, size, noise, kernel_name, text, stride, padding, loss, seed), upload


with_noise = ui.cached(kernels.add_noise)
convolve = ui.cached(convolution.run_convolution)
gradient_checks = ui.cached(convolution.gradient_checks, spinner="Checking gradients…")
kernel_lesson = ui.cached(kernel_learning.kernel_lesson, spinner="Learning the kernel…")


def image(s: Settings, side: int, upload: bytes | None) -> np.ndarray:
    return with_noise(ui.images.gray_image(s.source, side, upload), s.noise, s.seed)


def chosen_kernel(s: Settings, notice) -> np.ndarray:
    try:
        return kernels.parse_kernel(s.kernel_text) if s.kernel_name == CUSTOM else kernels.make_kernel(s.kernel_name, s.seed)
    except ValueError as exc:
        notice.warning(f"**The typed kernel was not used:** {exc}. Showing `{DEFAULT_CUSTOM}` meanwhile.", icon=":material/edit_note:")
        return kernels.parse_kernel(DEFAULT_CUSTOM)


def render_layer(r: convolution.ConvolutionResult) -> None:
    cols = st.columns(4)
    for col, label, array, tip in zip(cols, ("Input x", "Padded x̃", "Output y"), (r.image, r.padded_image, r.output),
                                      ("Rows × columns.", f"p = {r.padding} zeros on every side.", "⌊(H + 2p − k)/s⌋ + 1")):
        col.metric(label, "×".join(map(str, array.shape)), help=tip)
    cols[3].metric("Loss L", f"{r.loss_value:,.6g}", help=convolution.LOSSES[r.loss])
    views = [("**x̃**, the padded input", r.padded_image, False), ("**Kernel w**", r.kernel, "cells"),
             ("**y = x̃ ⋆ w**, the output", r.output, None), ("**∂L/∂x**, shaped like x", r.grad_input, True),
             ("**∂L/∂w**", r.grad_kernel, "cells")]  # diverging: False gray, True red–blue, None by the sign
    for col, (title, array, style) in zip(st.columns([4, 3, 4, 4, 3]), views):
        col.markdown(title)
        if style == "cells":
            ui.images.show_matrix(array, container=col)
        else:
            ui.images.show_array(array, diverging=style, container=col)
    st.caption("∂L/∂x: how much L changes per unit nudge of each pixel (red raises L, blue lowers it). ∂L/∂w: for each "
               "kernel entry, the pixels it met weighted by G — the signal a CNN learns its filters from.")


FORMULAS = [
    r"y_{ij} = \sum_{m,n} \tilde x_{is+m,\,js+n}\; w_{mn}, \qquad H_{\mathrm{out}} = \Big\lfloor \tfrac{H + 2p - k_h}{s} \Big\rfloor + 1",
    r"\frac{\partial L}{\partial w_{mn}} = \sum_{i,j} G_{ij}\, \tilde x_{is+m,\,js+n} \qquad (\tilde x \star G)",
    r"\frac{\partial L}{\partial \tilde x_{ab}} = \sum_{i,j} G_{ij}\, w_{a-is,\,b-js} = \big((G{\uparrow}s) * w\big)_{ab}",
    r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial \tilde x}\big[\,p : p+H,\; p : p+W\,\big]",
]


def learning_status(lesson, fraction: float) -> None:
    fit, b = lesson.fit, lesson.bounds
    why = (f"L is a quadratic bowl whose curvatures λ are the eigenvalues of H = AᵀA (λ_max = {b.lambda_max:.3g}). "
           "A step multiplies the error along a curvature-λ direction by 1 − ηλ; above η = 2/λ_max that factor is "
           "below −1 on the steepest direction, so the error there flips sign and grows every step.")
    tips = ["Set the learning rate below 1 × 2/λ_max (0.9 is fast and safe).", "More or fewer steps do not help: only a smaller η does."]
    if fit.diverged or fraction > 1:
        ui.show_problem(f"Gradient descent diverged at step {fit.diverged_step}" if fit.diverged else "The loss is growing",
                        f"At η = {fraction:g} × 2/λ_max " + ("the loss passed a million times its start, so the run was "
                        "stopped there; the charts end at the last finite step." if fit.diverged else f"it has not blown "
                        f"up in {fit.steps_run} steps yet, but it rises geometrically."), why, tips)
    elif lesson.kernel_error[-1] > 1e-3:
        st.info(f"**Not converged yet** (error {lesson.kernel_error[-1]:.1e}). κ = {b.condition_number:.3g}: the slowest direction "
                f"shrinks only by a factor {1 - fit.learning_rate * b.lambda_min:.4f} per step. More steps, η nearer 0.9 × 2/λ_max, "
                "or more noise (it excites every direction of w, raising λ_min) help.", icon=":material/hourglass_top:")


def log_chart(x, series: dict, y_title: str, title: str, colors=None, points=False):
    return ui.charts.lines(x, series, x_title="step t", y_title=y_title, log_y=True, colors=colors, points=points,
                           height=280, title=title, y_axis={"format": ".0e", "tickCount": 6})


@st.fragment
def render_learning(s: Settings, true_kernel: np.ndarray, upload: bytes | None) -> None:
    left, right, _ = st.columns([3, 3, 2])
    fraction = ui.controls.log_slider("Learning rate η, in units of the stable limit 2/λ_max", LR_FRACTIONS, 0.9, key="lr",
                                      container=left,
                                      help="2/λ_max is the stable limit: below 1 gradient descent converges, above 1 it diverges.")
    steps = ui.controls.slider("Gradient steps", 10, 500, 400, step=10, key="steps", container=right)
    side = min(s.size, LEARN_MAX_SIDE)
    with ui.guard("learn the kernel", stop=False):
        lesson = kernel_lesson(image(s, side, upload), true_kernel, fraction, steps, s.stride, s.padding, s.seed, TOO_HIGH)
        fit, too_high, b = lesson.fit, lesson.too_high, lesson.bounds
        cols = st.columns(4)
        cols[0].metric("Learning rate η", f"{fit.learning_rate:.3g}", help=f"{fraction:g} × 2/λ_max")
        cols[1].metric("Stable limit 2/λ_max", f"{b.stable_limit:.3g}", help="Gradient descent converges iff η is below it.")
        cols[2].metric("Condition number κ", f"{b.condition_number:.3g}".replace("inf", "∞"), help="λ_max/λ_min of H = AᵀA.")
        cols[3].metric("Kernel error", f"{lesson.kernel_error[-1]:.1e}", help="max |w − w_true| after the last step")
        learning_status(lesson, fraction)
        curve, error = st.columns([3, 2], gap="large")
        t = np.arange(max(fit.loss_history.size, too_high.loss_history.size))
        runs = {f"{fraction:g} × 2/λ_max": fit.loss_history, f"{TOO_HIGH:g} × 2/λ_max: too high": too_high.loss_history}
        title = "Loss ½‖x̃ ⋆ w_t − y*‖²" + ("" if side == s.size else f" (on a {side}-pixel copy)")
        with curve:
            ui.charts.show(log_chart(t, runs, "L(w_t), log scale", title, colors=["#1f77b4", "#d62728"]), "The loss is 0.")
        with error:
            ui.charts.show(log_chart(fit.snapshot_steps, {"kernel error": lesson.kernel_error}, "max |w_t − w_true|",
                                     "Distance to the hidden kernel", points=True), "The learned kernel equals the hidden one.")
        limit = float(max(np.abs(true_kernel).max(), np.abs(fit.final_kernel).max())) or 1.0
        row = st.columns([2, 2, 3], gap="large")
        for col, w, title in zip(row, (true_kernel, fit.final_kernel), ("True kernel w_true", "Learned kernel")):
            col.markdown(f"**{title}**")
            ui.images.show_matrix(w, domain=(-limit, limit), cell=max(20, 132 // max(w.shape)), container=col)
        grows = (f"passed a million times its start at step {too_high.diverged_step}, where the run was stopped" if
                 too_high.diverged else f"is {too_high.loss_history[-1] / too_high.loss_history[0]:.3g}× its start and climbing")
        row[2].markdown(f"**Too high a rate (red).** At η = {TOO_HIGH:g} × 2/λ_max each step multiplies the error along the "
                        f"steepest direction by 1 − ηλ_max = {1 - 2 * TOO_HIGH:.1f}: it flips sign and grows. The loss {grows}.")
    with st.expander("The update rule and the code that ran"):
        st.latex(r"L(w) = \tfrac12\lVert \tilde x \star w - y^\star\rVert^2, \quad \nabla L(w) = \tilde x \star (\tilde x \star w - y^\star),"
                 r"\quad w_{t+1} = w_t - \eta\,\nabla L(w_t), \quad \text{converges} \iff \eta < 2/\lambda_{\max}(A^\top A)")
        st.code(ui.panels.source_of(kernel_learning.fit_kernel), language="python", line_numbers=True)


def main() -> None:
    s, upload = controls()
    st.markdown("**Try this:** pick *Bars* with Sobel x — only the vertical bars light up, and ∂L/∂x draws red–blue pairs "
                "along them. Set the stride to 4: the output shrinks and ∂L/∂x turns into a grid, because rows no window "
                "reads get no gradient. Below, set the learning rate to 1.1 × 2/λ_max and watch the loss climb; set the "
                "noise to 0 and see how slowly a clean image pins the kernel down.")
    if s.source == UPLOAD and upload is None:
        st.info("Upload a PNG or JPEG image in the sidebar, or pick another image.", icon=":material/upload_file:")
        st.stop()
    kernel = chosen_kernel(s, st.container())  # one slot, message or not: the fragment below keeps its id (= position)
    with ui.guard("run the convolution layer"):
        x = image(s, s.size, upload)
        result = convolve(x, kernel, s.stride, s.padding, s.loss, s.seed)
    render_layer(result)
    st.subheader("The backward rule, and a live check")
    ui.panels.formula_and_code(
        FORMULAS[:1] + [r"G = \frac{\partial L}{\partial y}:\quad " + LOSS_LATEX[s.loss]] + FORMULAS[1:],
        [convolution.correlate, convolution.input_gradient, convolution.kernel_gradient],
        notes="⋆ is cross-correlation (the forward pass), ∗ true convolution (w turned by 180°): the input gradient "
              "flips w exactly once. G↑s puts s − 1 zeros between the entries of G. Each y_ij is linear in its window, so "
              "the chain rule sends G_ij·w_mn back to the pixel x̃ at (is+m, js+n), and G_ij times that pixel to w_mn.")
    with st.expander("The two helpers `input_gradient` calls: `dilate` (G↑s) and `full_convolution` (∗)"):
        for helper in (convolution.dilate, convolution.full_convolution):
            st.code(ui.panels.source_of(helper), language="python")
    with ui.guard("check the gradients", stop=False):
        checks = gradient_checks(x, kernel, s.stride, s.padding, s.loss, s.seed)
        ui.panels.gradient_check(checks, symbols={"∂L/∂x": "∂L/∂x (sampled pixels)"},
                                 what=f"L = {LOSS_LABELS[s.loss].split(' (')[0]} on y = x̃ ⋆ w")
        st.caption(f"∂L/∂x is checked on {checks[0].n_checked:,} of its {x.size:,} pixels (a seeded sample), ∂L/∂w on "
                   f"all {kernel.size} entries. L is quadratic in each coordinate, so h = 10⁻³ is exact up to rounding.")
    findings = compare_with_tutorial(result).findings()
    st.markdown("**Why the rule is what it is — four slips of the tutorial's `conv2d_backward`:**\n"
                + "".join(f"{n}. *{slip}* {why}\n" for n, (slip, why) in enumerate(DEFECTS.items(), 1))
                + "\n| | The tutorial's rule, on these settings |\n|---|---|\n"
                + "".join(f"| {name} | {finding} |\n" for name, finding in findings.items()))
    st.subheader("Learn the kernel")
    st.markdown("Now w is the unknown. From x and the output y* = x̃ ⋆ w_true above, gradient descent starts at a small "
                "random w and follows −∂L/∂w — the kernel rule above with G = y − y*. L is a quadratic in w whose "
                "Hessian H = AᵀA (A: one row per window of x̃) decides everything about the learning rate.")
    render_learning(s, kernel, upload)


with ui.guard("draw this page"):
    main()
