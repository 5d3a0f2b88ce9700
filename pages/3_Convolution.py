"""Computer Vision: conv2d forward, its exact backward pass, and learning a kernel by gradient descent."""

import streamlit as st

import ui
import ui.images
from calc_core.convolution import core, formulas, kernels, lab, learning, tutorial
from ui.charts import convolution as views
from ui.controls import Choice, Number, Slider, Steps, Text, Upload

SOURCE_LABELS = {"photo": "Photo", "checkerboard": "Checkerboard", "circle": "Circle", "bars": "Bars", "upload": "Upload"}
KERNEL_LABELS = {**{k: v.split(" (")[0] for k, v in kernels.KERNEL_LABELS.items()}, lab.CUSTOM: "Custom"}
LOSS_LABELS = {"energy": "½‖y‖²", "random": "Σ y⊙R", "sum": "Σ y (tutorial)"}
CONTROLS = (
    Choice("img", "Image", field="source", options=lab.SOURCES, labels=SOURCE_LABELS, widget_kind="selectbox",
           section="Image"),
    Upload("file", "PNG or JPEG image", field="upload", types=("png", "jpg", "jpeg"), max_mb=ui.images.MAX_UPLOAD_MB,
           when=lambda v: v["source"] == "upload", help=f"Up to {ui.images.MAX_UPLOAD_MB} MB; it is turned gray and shrunk."),
    Slider("size", "Image size (longer side, pixels)", min_value=16, max_value=256, step=16),
    Slider("noise", "Noise σ", min_value=0.0, max_value=0.5, step=0.01, fmt="%.2f",
           help="Gaussian pixel noise on the [0, 1] image (seeded)."),
    Choice("kernel", "Kernel w", field="kernel_name", options=lab.KERNELS, labels=KERNEL_LABELS,
           widget_kind="selectbox", section="Layer"),
    Text("w", "Kernel entries (for Custom)", field="kernel_text", max_chars=400,
         disabled_when=lambda v: v["kernel_name"] != lab.CUSTOM,
         help="Rows split by ';', entries by ','; up to 5×5; fractions like 1/9 work. Choose *Custom* above to use it."),
    Slider("stride", "Stride s", min_value=1, max_value=4),
    Slider("pad", "Zero padding p", field="padding", min_value=0, max_value=3),
    Choice("loss", "Loss L on the output", options=lab.LOSSES, labels=LOSS_LABELS,
           help="G = ∂L/∂y is what flows back into the layer."),
    Number("seed", "Random seed", help="Same seed, same noise, random kernel and start: a link reproduces the run."),
)
LR = Steps("lr", "Learning rate η, in units of the stable limit 2/λ_max", field="lr_fraction",
           options=lab.LR_FRACTIONS, default=lab.LEARN_LR_FRACTION,
           help="2/λ_max is the stable limit: below 1 gradient descent converges, above 1 it diverges.")
STEPS = Slider("steps", "Gradient steps", min_value=10, max_value=500, step=10, default=lab.LEARN_STEPS)

run = ui.cached(lab.run, spinner="Running the layer…")
learning_run = ui.cached(lab.learn, spinner="Learning the kernel…")


def render_layer(r: lab.Result) -> None:
    layer = r.layer
    ui.panels.metrics(("Input x", "×".join(map(str, layer.image.shape)), "Rows × columns."),
                      ("Padded x̃", "×".join(map(str, layer.padded_image.shape)), "p zeros on every side."),
                      ("Output y", "×".join(map(str, layer.output.shape)), "⌊(H + 2p − k)/s⌋ + 1"),
                      ("Loss L", f"{layer.loss_value:,.6g}", core.LOSSES[layer.loss]))
    shown = [("**x̃**, the padded input", layer.padded_image, False, None),  # False gray, True red–blue, None by sign
             ("**Kernel w**", layer.kernel, "cells", "kernel"), ("**y = x̃ ⋆ w**, the output", layer.output, None, None),
             ("**∂L/∂x**, shaped like x", layer.grad_input, True, None), ("**∂L/∂w**", layer.grad_kernel, "cells", "grad_kernel")]
    for col, (title, array, style, export) in zip(st.columns([4, 3, 4, 4, 3]), shown):
        col.markdown(title)
        if style == "cells":
            ui.charts.show(views.kernel(array), "Nothing finite to draw.", container=col, export=export)
        else:
            ui.images.show_array(array, diverging=style, container=col)
    ui.workshop.explain("∂L/∂x: how much L changes per unit nudge of each pixel (red raises L, blue lowers it). "
                        "∂L/∂w: for each kernel entry, the pixels it met weighted by G — the signal a CNN learns its "
                        "filters from.", caption=True)
    ui.panels.show_messages(r.layer_messages, st.container())


def render_rule_and_check(r: lab.Result) -> None:
    st.subheader("The backward rule, and a live check")
    ui.panels.formula_and_code(formulas.backward(r.settings.loss),
                               [core.correlate, core.input_gradient, core.kernel_gradient], notes=formulas.BACKWARD_NOTES)
    with st.expander("The two helpers `input_gradient` calls: `dilate` (G↑s) and `full_convolution` (∗)"):
        for helper in (core.dilate, core.full_convolution):
            st.code(ui.panels.source_of(helper), language="python")
    ui.panels.gradient_check(r.gradient_checks, what=r.check_what)
    st.caption(r.check_note)
    st.markdown(tutorial.slips_markdown(r.findings))
    ui.panels.show_messages(r.tutorial_messages, st.container())


def render_step(fit: lab.Learning, index: int) -> None:
    """What depends on the step shown: the markers on both curves and the kernel learned by then."""
    step, at = int(fit.snapshots.steps[index]), fit.snapshots.at(index)
    curves = views.learning_curves(fit.loss_history, fit.too_high_loss_history, fit.kernel_error, step, lab.TOO_HIGH_LABEL)
    for col, spec, export in zip(st.columns([3, 2], gap="large"), curves, ("learning_loss", "kernel_error")):
        ui.charts.show(spec, "Nothing positive to draw on a log scale.", container=col, export=export)
    row = st.columns([2, 2, 3], gap="large")
    for col, w, title, export in zip(row, (fit.true_kernel, at["kernel"]), ("True kernel w_true", "Learned kernel w_t"),
                                     ("true_kernel", "learned_kernel")):
        col.markdown(f"**{title}**")
        ui.charts.show(views.kernel(w, fit.kernel_scale), "The kernel is not finite.", container=col, export=export)
    row[2].markdown(fit.too_high_note)


@st.fragment
def render_learning_panel(settings: lab.Settings, image) -> None:
    left, right, _ = st.columns([3, 3, 2])
    fraction, steps = ui.controls.draw(LR, container=left), ui.controls.draw(STEPS, container=right)
    ui.workshop.banner_follows()  # η is a lesson's: its banner, above this fragment, says whether η moved
    with ui.guard("learn the kernel", stop=False):
        fit = learning_run(settings, fraction, steps, image)
        ui.panels.metrics(
            ("Learning rate η", f"{fit.learning_rate:.3g}", "The fraction above times 2/λ_max."),
            ("Stable limit 2/λ_max", f"{fit.bounds.stable_limit:.3g}", "Gradient descent converges iff η is below it."),
            ("Condition number κ", f"{fit.bounds.condition_number:.3g}".replace("inf", "∞"), "λ_max/λ_min of H = AᵀA."),
            ("Kernel error", f"{fit.final_error:.1e}", "max |w − w_true| after the last step"))
        ui.panels.show_messages(fit.diagnosis, st.container())
        ui.workshop.scrubber(fit.snapshots, lambda index: render_step(fit, index), label="Step shown")
        if fit.note:
            st.caption(fit.note)
        ui.panels.formula_and_code(formulas.UPDATE_RULE, [learning.fit_kernel])
        ui.panels.gradient_check(fit.gradient_checks, what=fit.check_what, symbols={"w": "∂L/∂w"})


def main() -> None:
    _, settings, _ = ui.page.begin("pages/3_Convolution.py", CONTROLS, lab.Settings, fragment_controls=(LR,))
    ui.workshop.explain("Pick *Bars* with Sobel x: only the vertical bars light up, and ∂L/∂x draws red–blue pairs "
                        "along them. The lessons above set up what to look at: the tutorial's sign slip, pixels a "
                        "stride-4 layer never reads, and a learning rate past the stable limit.")
    if settings.source == "upload" and settings.upload is None:
        st.info("Upload a PNG or JPEG image in the sidebar, or pick another image.", icon=":material/upload_file:")
        ui.workshop.stop()
    with ui.guard("run the convolution layer"):
        image = ui.images.gray_image(settings.source, settings.size, settings.upload)
        result = run(settings, image)
    render_layer(result)
    render_rule_and_check(result)
    st.subheader("Learn the kernel")
    ui.workshop.explain("Now w is the unknown. From x and the output y* = x̃ ⋆ w_true above, gradient descent starts "
                        "at a small random w and follows −∂L/∂w — the kernel rule above with G = y − y*. L is a "
                        "quadratic in w whose Hessian H = AᵀA (A: one row per window of x̃) decides everything about "
                        "the learning rate.")
    render_learning_panel(settings, image)


with ui.guard("draw this page"):
    main()
