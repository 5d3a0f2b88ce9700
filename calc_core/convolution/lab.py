r"""The Convolution page: Settings → :func:`run` → a :class:`Result` and its diagnosis, and the
kernel-learning panel's own call :func:`learn`.

An image (synthetic, or a picture the page's image layer decoded) with seeded noise → one layer
y = x̃ ⋆ w with stride s and zero padding p → a loss L on y → the backward pass ∂L/∂x, ∂L/∂w
(calc_core.convolution.core) → what the page draws: x̃, w, y and both gradients, the gradient check
of the backward pass on every structurally different part of x (calc_core.convolution.checks), and
the tutorial's ``conv2d_backward`` measured on the same numbers (calc_core.convolution.tutorial).

:func:`learn` hides w in y* = x̃ ⋆ w and recovers it by gradient descent on ½‖x̃ ⋆ w − y*‖² with
η given as a fraction of the stable limit 2/λ_max (calc_core.convolution.learning), next to a run
past the limit; it keeps the learned kernel at ≤ 41 steps for scrubbing, and checks the gradient
the training step applied, (w₀ − w₁)/η, read off the training loop itself.

File sources (the sample photograph, an upload) are decoded by the page's image layer (PIL, in
``ui.images``) and handed to :func:`run` and :func:`learn` as ``image``: a gray array in [0, 1]
whose longer side is at most ``size``. Synthetic images are made here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from calc_core.common.gradcheck import GradientCheck
from calc_core.common.messages import Message
from calc_core.common.presets import Preset
from calc_core.common.snapshots import Snapshots
from calc_core.common.validate import choice, real, seed as check_seed, whole
from calc_core.convolution.checks import (checked_per_group, kernel_reads, layer_gradient_checks, pixel_groups,
                                          unread_lines, training_gradient_checks)
from calc_core.convolution.core import (LOSSES as LOSS_NAMES, ConvolutionResult, output_shape, pad_image,
                                        run_convolution)
from calc_core.convolution.kernels import (KERNEL_NAMES, SYNTHETIC_IMAGES, add_noise, is_constant, make_kernel,
                                           parse_kernel, prepare_image, synthetic_image)
from calc_core.convolution.learning import LearningRateBounds, fit_kernel, kernel_lesson, learning_rate_bounds
from calc_core.convolution.tutorial import TutorialComparison, compare_with_tutorial

FILE_SOURCES = ("photo", "upload")  # decoded by the page's image layer
SOURCES = ("photo", *SYNTHETIC_IMAGES, "upload")
CUSTOM = "custom"
KERNELS = (*KERNEL_NAMES, CUSTOM)
LOSSES = tuple(LOSS_NAMES)
DEFAULT_KERNEL_TEXT = "0, 1, 2; -1, 0, 1; -2, -1, 0"
LR_FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.5, 2.0)
LEARN_LR_FRACTION = 0.9  # η of the learning panel, as a fraction of 2/λ_max
LEARN_STEPS = 400
LEARN_MAX_SIDE = 128  # the learning panel shrinks larger images to stay fast
TOO_HIGH = 1.2  # the comparison run's η, as a fraction of 2/λ_max
TOO_HIGH_LABEL = f"{TOO_HIGH:g} × 2/λ_max: too high"
MAX_PADDING = 64  # p allowed by the settings
RECOVERED = 1e-3  # max |w − w_true| below which the kernel counts as recovered
TUTORIAL_CODES = ("tutorial_sign_flipped", "tutorial_right_by_luck", "tutorial_partly_wrong", "tutorial_wrong_shape",
                  "tutorial_cannot_show")


@dataclass(frozen=True)
class Settings:
    """One field per control of the page (its units)."""

    source: str = "photo"  # one of SOURCES
    upload: bytes | None = None  # the file's bytes when source == "upload"
    size: int = 96  # longer side of x, pixels
    noise: float = 0.1  # σ of the Gaussian pixel noise on the [0, 1] image
    kernel_name: str = "sobel_x"  # one of KERNELS
    kernel_text: str = DEFAULT_KERNEL_TEXT  # the entries typed when kernel_name == "custom"
    stride: int = 1  # s
    padding: int = 1  # p
    loss: str = "energy"  # one of LOSSES: ½‖y‖², Σ y ⊙ R, Σ y
    seed: int = 0  # noise, a random kernel, R, w₀ of the learning panel


@dataclass(frozen=True)
class Result:
    settings: Settings
    layer: ConvolutionResult  # x, x̃, w, y, G = ∂L/∂y, ∂L/∂x, ∂L/∂w and L
    kernel_problem: str | None  # why the typed kernel was not used (the default one was instead)
    pixel_groups: dict[str, int]  # pixels of x in each part: unread, border, interior
    gradient_checks: tuple[GradientCheck, ...]  # ∂L/∂x on sampled pixels, ∂L/∂w on every entry
    checked_per_group: dict[str, int]  # pixels of each part checked one by one
    check_what: str  # the function the check differentiates, for the panel
    check_note: str  # how many pixels of each part were checked
    tutorial: TutorialComparison
    findings: dict[str, str]  # the tutorial's four slips, measured on these settings
    diagnosis: tuple[Message, ...] = ()
    single_colour: bool = False  # the picture has no contrast: x before noise is 0 everywhere

    @property
    def tutorial_messages(self) -> tuple[Message, ...]:
        return tuple(m for m in self.diagnosis if m.code in TUTORIAL_CODES)

    @property
    def layer_messages(self) -> tuple[Message, ...]:
        return tuple(m for m in self.diagnosis if m.code not in TUTORIAL_CODES)


@dataclass(frozen=True)
class Learning:
    """The kernel-learning panel: gradient descent at η = lr_fraction · 2/λ_max and at TOO_HIGH."""

    lr_fraction: float
    steps: int  # asked for
    true_kernel: np.ndarray  # w_true, the layer's kernel
    bounds: LearningRateBounds
    learning_rate: float  # η
    loss_history: np.ndarray  # L(w_t), t = 0 … steps run
    kernel_error: np.ndarray  # max |w_t − w_true| at the same t
    diverged_step: int | None
    too_high_loss_history: np.ndarray
    too_high_diverged_step: int | None
    snapshots: Snapshots  # kernel, loss and kernel_error at ≤ 41 steps
    gradient_checks: tuple[GradientCheck, ...]  # the gradient the first training step applied
    check_what: str
    note: str  # on what image it learned
    too_high_note: str  # what the run past the limit shows
    diagnosis: tuple[Message, ...] = ()
    settings: Settings | None = None  # validated
    image_shape: tuple[int, int] = (0, 0)  # of the image learned on (shrunk to LEARN_MAX_SIDE)
    single_colour: bool = False  # the picture has no contrast: x is the noise alone
    pinned_by_some_image: bool = True  # a random image of this shape makes λ_min > 0 at this stride and padding

    @property
    def equations(self) -> int:
        """Output positions of the layer on the image learned on: the rows of A, one equation each."""
        s = self.settings
        rows, cols = output_shape(self.image_shape, self.true_kernel.shape, s.stride, s.padding)
        return rows * cols

    @property
    def final_error(self) -> float:
        return float(self.kernel_error[-1])

    @property
    def kernel_scale(self) -> float:
        """One colour scale for the true kernel and every kept one: the largest |entry| among them."""
        return float(max(np.abs(self.true_kernel).max(), np.abs(self.snapshots.states["kernel"]).max())) or 1.0


# ----------------------------------------------------------------------------- the run

def _validated(s: Settings, image) -> Settings:
    choice("image source", s.source, SOURCES)
    if s.source == "upload" and s.upload is None and image is None:
        raise ValueError("Upload a PNG or JPEG image first.")
    if s.source in FILE_SOURCES and image is None:
        raise ValueError("This image comes from a file: the page's image layer decodes it and passes it in.")
    if not isinstance(s.kernel_text, str):
        raise ValueError(f"the kernel entries must be text, got {s.kernel_text!r}")
    return replace(s, size=whole("the image size", s.size, 4, 1024), noise=real("the noise σ", s.noise, 0.0, 10.0),
                   kernel_name=choice("kernel", s.kernel_name, KERNELS), stride=whole("the stride", s.stride, 1, 64),
                   padding=whole("the padding", s.padding, 0, MAX_PADDING), loss=choice("loss", s.loss, LOSSES),
                   seed=check_seed(s.seed))


def clean_image(s: Settings, image=None, side: int | None = None) -> np.ndarray:
    """x before noise, its longer side at most ``side`` (default ``s.size``): a synthetic image made at
    that size, or the given picture shrunk to it (never enlarged) and scaled to [0, 1]."""
    side = s.size if side is None else side
    if s.source in SYNTHETIC_IMAGES:
        return synthetic_image(s.source, side)
    return prepare_image(image, side)


def chosen_kernel(s: Settings) -> tuple[np.ndarray, str | None]:
    """w, and why a typed kernel could not be used (then the default typed kernel is)."""
    if s.kernel_name != CUSTOM:
        return make_kernel(s.kernel_name, s.seed), None
    try:
        return parse_kernel(s.kernel_text), None
    except ValueError as exc:
        return parse_kernel(DEFAULT_KERNEL_TEXT), str(exc)


def run(settings: Settings, image=None) -> Result:
    """The layer on the noisy image, its gradients, their check, and the tutorial's measured slips."""
    s = _validated(settings, image)
    clean = clean_image(s, image)
    x = add_noise(clean, s.noise, s.seed)
    w, problem = chosen_kernel(s)
    layer = run_convolution(x, w, s.stride, s.padding, s.loss, s.seed)
    groups = pixel_groups(x.shape, w.shape, s.stride, s.padding)
    checks = layer_gradient_checks(layer, seed=s.seed)
    per_group = checked_per_group(checks[0], groups)
    tutorial = compare_with_tutorial(layer)
    result = Result(s, layer, problem, {name: int(g.size) for name, g in groups.items()}, checks, per_group,
                    f"L = {_LOSS_WORDS[s.loss]} on y = x̃ ⋆ w", _check_note(checks, groups, per_group),
                    tutorial, tutorial.findings(), single_colour=is_constant(clean))
    return replace(result, diagnosis=diagnose(result))


_LOSS_WORDS = {"energy": "½‖y‖²", "random": "Σ y ⊙ R", "sum": "Σ y"}
_PART_WORDS = {"border": "border pixels (their windows reach the padding or the edge)", "interior": "interior pixels",
               "unread": "pixels no window reads (their gradient is exactly 0)"}


def _check_note(checks, groups, per_group) -> str:
    pixels, weights = checks
    parts = ", ".join(f"{per_group[name]} of the {groups[name].size:,} {_PART_WORDS[name]}"
                      for name in ("border", "interior", "unread") if groups[name].size)
    which = (f"all {pixels.size:,} pixels" if pixels.n_checked == pixels.size else
             f"{pixels.n_checked:,} of its {pixels.size:,} pixels — {parts} —")
    return (f"∂L/∂x is checked on {which} and ∂L/∂w on all {weights.size} entries. The layer is linear in x "
            "and in w, so L's change is computed from the perturbation alone: every estimate is exact to rounding.")


# ----------------------------------------------------------------------------- the diagnosis

def diagnose(result: Result) -> tuple[Message, ...]:
    """What the page says about the layer: a picture of a single shade, a typed kernel not used, pixels
    no window reads, and what the tutorial's backward pass gets on these settings."""
    s, layer, messages = result.settings, result.layer, []
    if result.single_colour:
        messages.append(_single_colour(
            f"x̃ is the noise alone (σ = {s.noise:g}): y and L show what the kernel does to noise, not to a picture."
            if s.noise else "With no noise x̃ is 0 everywhere, so y = 0, L = 0 and ∂L/∂w = 0 whatever the kernel."))
    if result.kernel_problem:
        messages.append(Message("kernel_not_used", "warning", "The typed kernel was not used:",
                                f"{result.kernel_problem}. Showing `{DEFAULT_KERNEL_TEXT}` meanwhile."))
    unread = result.pixel_groups["unread"]
    if unread:
        groups = pixel_groups(layer.image.shape, layer.kernel.shape, s.stride, s.padding)
        largest = float(np.max(np.abs(layer.grad_input.reshape(-1)[groups["unread"]])))
        lines = unread_lines(layer.image.shape, layer.kernel.shape, s.stride, s.padding)

        def rows_and_columns(where: str) -> str:
            return " and ".join(f"{n} {what[:-1] if n == 1 else what}" for what in ("rows", "columns")
                                if (n := lines[f"{what}_{where}"]) > 0)

        kh, kw = layer.kernel.shape
        parts = [f"at stride {s.stride} the {kh}×{kw} windows skip {rows_and_columns('between')} of x between them"
                 if rows_and_columns("between") else "",
                 f"{rows_and_columns('past')} of x {'lies' if lines['rows_past'] + lines['columns_past'] == 1 else 'lie'} "
                 f"past the last of the {layer.output.shape[0]}×{layer.output.shape[1]} windows"
                 if rows_and_columns("past") else ""]
        why = "; ".join(part for part in parts if part)
        messages.append(Message(
            "unread_pixels", "info", "Pixels no window reads get no gradient.",
            f"{unread:,} of the {layer.image.size:,} pixels of x are read by no window, and ∂L/∂x there is "
            f"{'exactly 0' if largest == 0 else f'at most {largest:.1e}'}: they show as white lines in ∂L/∂x.",
            f"{why[0].upper()}{why[1:]}. A pixel that no output depends on cannot change L.",
            numbers={"unread": unread, "largest_gradient": largest}))
    flat = [name for name, grad in (("∂L/∂x", layer.grad_input), ("∂L/∂w", layer.grad_kernel)) if not np.any(grad)]
    if flat:
        why = ("With L = Σ y, ∂L/∂x at a pixel is the sum of the kernel entries whose windows read it, and for "
               f"this kernel (Σ w = {layer.kernel.sum() + 0.0:.3g}) every such sum is 0." if s.loss == "sum" and flat == ["∂L/∂x"]
               else "Each entry is a sum of G = ∂L/∂y times w or x̃ where the windows meet, and here every such "
                    "product is 0.")
        messages.append(Message(
            "flat_gradient", "info", "L does not change to first order here.",
            f"{' and '.join(flat)} {'is' if len(flat) == 1 else 'are'} exactly 0 everywhere, so the check can only "
            "say it is too flat to check there.", why, numbers={"flat": len(flat)}))
    messages += _tutorial_messages(result.tutorial, s, layer.kernel)
    return tuple(messages)


def _single_colour(consequence: str) -> Message:
    """The picture has no contrast (``kernels.is_constant``), so scaling it to [0, 1] made it 0."""
    return Message("single_colour", "warning", "In grayscale the image is one flat shade: nothing for the kernel to see.",
                   "Every pixel of its grayscale version has the same value (to rounding), and scaling to [0, 1] "
                   f"made that 0. {consequence}",
                   "Scaling stretches the range max − min to 1, and a single shade has no range to stretch. "
                   "Choose a picture with some contrast.")


def _tutorial_messages(t: TutorialComparison, s: Settings, w: np.ndarray) -> list[Message]:
    shape, image = "×".join(map(str, t.tutorial_shape)), "×".join(map(str, t.image_shape))
    turned = w[::-1, ::-1]
    if t.input_error is None:
        return [Message("tutorial_wrong_shape", "info", "The tutorial's input gradient has the wrong shape.",
                        f"It is {shape} for a {image} x: it convolves G instead of G↑s, ignoring the stride s = "
                        f"{s.stride}, so it cannot even be cropped to x.", numbers={"stride": s.stride})]
    if t.zero:
        return [Message("tutorial_cannot_show", "info", "These settings cannot show the tutorial's slip.",
                        "∂L/∂x is 0 at every pixel here, and so is the tutorial's: any flip of 0 is 0.")]
    if t.negated:
        return [Message("tutorial_sign_flipped", "info", "The tutorial's input gradient has the wrong sign here.",
                        f"Cropped to x it is exactly −∂L/∂x (‖its + ours‖ / ‖ours‖ = {t.negated_error:.0e}).",
                        "This kernel turned by 180° is its own negative (rot180(w) = −w, as for Sobel), and the "
                        "tutorial flips it once more than the rule does: every sign of ∂L/∂x comes out wrong."
                        if np.array_equal(turned, -w) else "The tutorial flips w once more than the rule does, and "
                        "on these numbers that turns every sign of ∂L/∂x around.",
                        numbers={"negated_error": t.negated_error})]
    if t.right:
        return [Message("tutorial_right_by_luck", "info", "The tutorial's input gradient is right here, by luck.",
                        f"Cropped to x it matches ∂L/∂x (relative error {t.input_error:.0e}).",
                        "This kernel is unchanged by a half-turn (rot180(w) = w, as for blurs and the Laplacian), "
                        "so its extra flip changes nothing; a Sobel kernel would show every sign wrong."
                        if np.array_equal(turned, w) else "The tutorial flips w once more than the rule does, but on "
                        "these numbers the extra flip happens to change nothing.",
                        numbers={"input_error": t.input_error})]
    cosine = "" if t.input_cosine is None else f", cosine {t.input_cosine:+.2f}".replace("-", "−")
    return [Message("tutorial_partly_wrong", "info", "The tutorial's input gradient is wrong here.",
                    f"Cropped to x it differs from ∂L/∂x by a relative error of {t.input_error:.2f} (of at most 1){cosine}: its "
                    "extra flip of w turns the kernel around.", numbers={"input_error": t.input_error})]


# ----------------------------------------------------------------------------- learning the kernel

def learn(settings: Settings, lr_fraction: float = LEARN_LR_FRACTION, steps: int = LEARN_STEPS,
          image=None) -> Learning:
    """Hide the layer's kernel in y* = x̃ ⋆ w_true and recover it by gradient descent (see the module
    docstring); the image is shrunk to LEARN_MAX_SIDE first, so the panel stays fast."""
    s = _validated(settings, image)
    lr_fraction = real("the learning rate (a fraction of 2/λ_max)", lr_fraction, positive=True, maximum=10.0)
    steps = whole("the number of steps", steps, 1, 5000)
    side = min(s.size, LEARN_MAX_SIDE)
    clean = clean_image(s, image, side)
    single_colour = is_constant(clean)
    if single_colour and s.noise == 0:
        raise ValueError("In grayscale the image is one flat shade (nothing for the kernel to see), and with no noise "
                         "x̃ is 0 everywhere: every output is 0 whatever the kernel, so there is nothing to learn it "
                         "from. Choose a picture with some contrast, or add noise.")
    x = add_noise(clean, s.noise, s.seed)
    w_true, _ = chosen_kernel(s)
    lesson = kernel_lesson(x, w_true, lr_fraction, steps, s.stride, s.padding, s.seed, TOO_HIGH)
    fit, high = lesson.fit, lesson.too_high
    step = fit_kernel(x, lesson.target, w_true.shape, fit.learning_rate, 1, s.stride, s.padding, s.seed,
                      blowup=np.inf)  # the training loop's first step, alone
    checks = training_gradient_checks(pad_image(x, s.padding), lesson.target, *step.kernels[:2],
                                      fit.learning_rate, s.stride, seed=s.seed) if step.steps_run == 1 else ()
    kept = fit.snapshots()
    snapshots = Snapshots(kept.steps, "step", {**kept.states, "kernel_error": lesson.kernel_error[kept.steps]})
    learning = Learning(
        lr_fraction, steps, w_true, lesson.bounds, fit.learning_rate, fit.loss_history, lesson.kernel_error,
        fit.diverged_step, high.loss_history, high.diverged_step, snapshots, checks,
        "½‖x̃ ⋆ w − y*‖² at the start w₀ — the gradient the first training step applied, (w₀ − w₁)/η, read off "
        "the training loop (fit_kernel) itself",
        "" if side == s.size else f"The kernel is learned on a copy of the image shrunk to {x.shape[0]}×{x.shape[1]} "
                                  "pixels, to keep the panel fast.",
        _too_high_note(lesson.bounds, high), settings=s, image_shape=x.shape, single_colour=single_colour,
        # rank deficiency at measure-zero images is not the settings' fault: a random image has the generic rank
        pinned_by_some_image=lesson.bounds.lambda_min > 0 or learning_rate_bounds(
            np.random.default_rng(s.seed).standard_normal(x.shape), w_true.shape, s.stride, s.padding).lambda_min > 0)
    return replace(learning, diagnosis=diagnose_learning(learning))


def _too_high_note(bounds: LearningRateBounds, high) -> str:
    ratio = high.loss_history[-1] / high.loss_history[0] if high.loss_history[0] > 0 else 1.0
    grows = (f"passed a million times its start at step {high.diverged_step}, where the run was stopped"
             if high.diverged_step is not None else
             f"is {ratio:.3g}× its start after {high.steps_run} steps" + (" and climbing" if ratio > 1 else ""))
    return (f"**Too high a rate (red).** At η = {TOO_HIGH:g} × 2/λ_max each step multiplies the error along the "
            f"steepest direction by 1 − ηλ_max = {1 - 2 * TOO_HIGH:.1f}: it flips sign and grows. The loss {grows}.")


def diagnose_learning(fit: Learning) -> tuple[Message, ...]:
    """Diverged, climbing past the stable limit, not converged yet, or the kernel recovered — after
    saying so when the picture is a single shade (then the kernel is learned from the noise alone)."""
    if not fit.single_colour:
        return _learning_verdict(fit)
    return (_single_colour(f"x̃ is the noise alone (σ = {fit.settings.noise:g}): the kernel is learned from noise, not from the "
                           "picture. More or less noise changes nothing here but the loss's scale: it scales x, "
                           "H = AᵀA by its square and η = fraction × 2/λ_max by the inverse, so every step of w is "
                           "the same."),
            *_learning_verdict(fit))


def _learning_verdict(fit: Learning) -> tuple[Message, ...]:
    b, f = fit.bounds, fit.lr_fraction
    why = (f"L is a quadratic bowl whose curvatures λ are the eigenvalues of H = AᵀA (λ_max = {b.lambda_max:.3g}). "
           "A step multiplies the error along a curvature-λ direction by 1 − ηλ; above η = 2/λ_max that factor is "
           "below −1 on the steepest direction, so the error there flips sign and grows every step.")
    tips = ("Set the learning rate below 1 × 2/λ_max (0.9 is fast and safe).",
            "More or fewer steps do not help: only a smaller η does.")
    if fit.diverged_step is not None:
        return (Message("learning_diverged", "problem", f"Gradient descent diverged at step {fit.diverged_step}",
                        f"At η = {f:g} × 2/λ_max the loss passed a million times its start, so the run was stopped "
                        "there; the charts end at the last finite step.", why, tips,
                        {"diverged_step": fit.diverged_step, "lr_fraction": f}),)
    first, last = float(fit.loss_history[0]), float(fit.loss_history[-1])
    if f > 1:
        title = "The loss is growing" if last > first else "The learning rate is past the stable limit"
        return (Message("learning_climbing", "problem", title,
                        f"At η = {f:g} × 2/λ_max the error along the steepest direction grows by "
                        f"{2 * f - 1:.2f}× per step; in {fit.loss_history.size - 1} steps the loss went from "
                        f"{first:.3g} to {last:.3g}. It has not passed a million times its start yet, but it will.",
                        why, tips, {"lr_fraction": f, "loss_ratio": last / first if first > 0 else 1.0}),)
    if fit.final_error <= RECOVERED:
        return (Message("kernel_recovered", "success", "The hidden kernel is recovered.",
                        f"max |w − w_true| = {fit.final_error:.1e} after {fit.loss_history.size - 1} steps at "
                        f"η = {f:g} × 2/λ_max.", numbers={"kernel_error": fit.final_error}),)
    if b.lambda_min == 0 or fit.equations < fit.true_kernel.size:  # the second implies the first, but for rounding
        return (_underdetermined(fit),)
    if f == 1:
        return (Message("at_stable_limit", "info", f"Not converged (error {fit.final_error:.1e}): η is exactly 2/λ_max.",
                        "Along the steepest direction each step multiplies the error by 1 − ηλ_max = −1: it flips "
                        "sign and keeps its size, so more steps do not help.", "Any η below the limit converges "
                        "(0.9 × 2/λ_max is fast).", numbers={"kernel_error": fit.final_error}),)
    shrink = 1 - fit.learning_rate * b.lambda_min
    faster = "more steps, a larger η (up to 0.9 × 2/λ_max)" if f < 0.9 else "more steps"
    # noise on a picture excites every direction of w; on a single shade x is noise already, and more only rescales it
    helps = (f"{faster.capitalize()} help{'s' if faster == 'more steps' else ''}." if fit.single_colour else
             f"{faster.capitalize()}, or more noise (it excites every direction of w, raising λ_min) help.")
    return (Message("not_converged", "info", f"Not converged yet (error {fit.final_error:.1e}).",
                    f"κ = {b.condition_number:.3g}: the slowest direction shrinks only by a factor "
                    f"{shrink:.4f}" + (f" = 1 − {1 - shrink:.1e}" if shrink > 0.9995 else "") + " per step.", helps,
                    numbers={"kernel_error": fit.final_error, "condition_number": b.condition_number}),)


def _underdetermined(fit: Learning) -> Message:
    """λ_min = 0: some direction of w changes no output. Noise helps only if some image of this shape
    pins w down: not with fewer output positions (equations) than kernel entries (unknowns), nor when
    the windows let an entry meet only padding."""
    s, (H, W), (kh, kw) = fit.settings, fit.image_shape, fit.true_kernel.shape
    n, k = fit.equations, kh * kw
    stuck = (f"some direction of w changes no output (κ = ∞), so gradient descent never moves along it; "
             f"max |w − w_true| ends at {fit.final_error:.1e}.")
    layout = f"a {H}×{W} image at stride {s.stride} and padding {s.padding}"
    # a larger picture helps only below the panel's cap (it is shrunk to LEARN_MAX_SIDE a side), more padding
    # only up to k − 1 (past that the new windows lie wholly in the padding)
    options = [*(["a larger image"] if max(H, W) < LEARN_MAX_SIDE else []),
               *(["a smaller stride"] if s.stride > 1 else []),
               *(["more padding"] if s.padding < min(MAX_PADDING, min(kh, kw) - 1) else [])]
    more = ("another layer shape" if not options else options[0] if len(options) == 1 else
            f"{', '.join(options[:-1])} or {options[-1]}")
    if n < k:
        return Message("too_few_equations", "info", "The data have fewer equations than the kernel has unknowns.",
                       f"The {kh}×{kw} kernel has {k} entries, but {layout} gives {n} output "
                       f"position{'s' if n != 1 else ''}: {n} equation{'s' if n != 1 else ''} for {k} unknowns, so "
                       f"at least {k - n} direction{'s' if k - n != 1 else ''} of w change{'s' if k - n == 1 else ''} "
                       f"no output (κ = ∞). Gradient descent never moves along "
                       f"{'it' if k - n == 1 else 'them'}; max |w − w_true| ends at {fit.final_error:.1e}.",
                       f"No noise can fix that, only more output positions — {more} — and at least {k} are "
                       "needed (a side has ⌊(H + 2p − k)/s⌋ + 1).",
                       numbers={"kernel_error": fit.final_error, "equations": n, "unknowns": k})
    if not fit.pinned_by_some_image:
        blind = int(np.sum(kernel_reads(fit.image_shape, (kh, kw), s.stride, s.padding) == 0))
        cause = (f"{blind} of the {k} kernel entries meet only padding, in every window" if blind else
                 "even a random image leaves a direction of w unseen")
        return Message("underdetermined", "info", "The data do not pin the kernel down.",
                       f"H = AᵀA has a zero eigenvalue: {stuck}",
                       f"With {layout}, {cause}: no image of this shape and no noise pins w down. A larger image, "
                       "or another stride or padding, is needed.",
                       numbers={"kernel_error": fit.final_error, "equations": n, "unknowns": k})
    return Message("underdetermined", "info", "The data do not pin the kernel down.",
                   f"H = AᵀA has a zero eigenvalue: {stuck}",
                   "Noise excites every direction of w: a random image of this shape pins it down at these "
                   "settings.",
                   numbers={"kernel_error": fit.final_error, "equations": n, "unknowns": k})


# ----------------------------------------------------------------------------- lessons

PRESETS = (
    Preset("wrong_sign", "The tutorial's gradient: wrong sign",
           "Sobel turned by 180° is −Sobel, and the tutorial flips the kernel once too often: its ∂L/∂x is exactly "
           "the negative of the true one, every red pixel blue. The gradient check passes the page's rule.",
           settings={"source": "bars"}, expect=("tutorial_sign_flipped",), avoid=("kernel_not_used",)),
    Preset("lr_too_high", "Learning rate past 2/λ_max",
           "At η = 1.1 × 2/λ_max each step overshoots along the steepest direction of the bowl: the error there flips "
           "sign and grows by 1.2× per step until the loss passes a million times its start.",
           settings={"source": "checkerboard"}, extras={"lr_fraction": 1.1}, expect=("learning_diverged",)),
    Preset("stride_4", "Stride 4: pixels no window reads get no gradient",
           "With a 3×3 kernel at stride 4 the windows skip one row and one column in every four: those pixels "
           "cannot change the output, and ∂L/∂x is exactly 0 on them — a white grid.",
           settings={"source": "bars", "stride": 4}, expect=("unread_pixels", "tutorial_wrong_shape")),
    Preset("right_by_luck", "A symmetric kernel hides the slip",
           "The Laplacian is unchanged by a half-turn, so the tutorial's extra flip changes nothing and its "
           "gradient is right — which is how the slip survives a quick test.",
           settings={"source": "circle", "kernel_name": "laplacian"}, expect=("tutorial_right_by_luck",)),
    Preset("clean_image", "No noise: a clean image pins the kernel down slowly",
           "Flat regions excite only the sum of the weights: with σ = 0 the bowl is long and narrow (κ over "
           "ten thousand), and 400 steps at 0.9 × 2/λ_max leave the kernel short of the hidden one.",
           settings={"source": "bars", "noise": 0.0}, expect=("not_converged",)),
)


def preset_diagnosis(preset: Preset, seed: int) -> tuple[Message, ...]:
    """The layer's and the learning panel's diagnosis for what the preset shows, at ``seed``."""
    s = preset.apply(Settings(), seed=seed)
    extras = {"lr_fraction": LEARN_LR_FRACTION, "steps": LEARN_STEPS, **preset.extras}
    return run(s).diagnosis + learn(s, **extras).diagnosis
