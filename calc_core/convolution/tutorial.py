r"""The tutorial's ``conv2d_backward``, kept only to measure what it gets wrong on given settings.

The correct rule (``calc_core.convolution.core``) is

    ∂L/∂x = ((G ↑ s) ∗ w)[p : p + H, p : p + W]      ∂L/∂w = x̃ ⋆ G

The tutorial computes ``convolve2d(G, rot180(w), "full")`` for the input gradient and fills
``np.zeros_like(kernel)`` for the kernel gradient. ``compare_with_tutorial`` runs that code next to the
correct rule and reports each of its four defects as a number a learner can check:

1. the double flip: ``convolve2d`` flips w, and so does ``rot180``, so the result is a
   cross-correlation of G with w — exactly −∂L/∂x̃ when rot180(w) = −w (Sobel), exactly right when
   rot180(w) = w (blurs, the Laplacian), which is why the slip is easy to miss;
2. the padded shape: it returns ∂L/∂x̃, (H + 2p) × (W + 2p), not ∂L/∂x;
3. the ignored stride: it convolves G instead of G ↑ s, so for s > 1 its shape is
   (H_out + k_h − 1) × (W_out + k_w − 1) and it cannot even be cropped to x;
4. integer truncation: with the kernel stored as integers (the tutorial's own Sobel array),
   ``zeros_like`` makes ∂L/∂w an integer array and every entry is truncated toward zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from calc_core.common.gradcheck import relative_error
from calc_core.convolution.core import ConvolutionResult

EXACT = 1e-9  # a relative difference this small is rounding: "exactly"


#: The four defects, in the words the page uses: name → why the correct rule differs.
DEFECTS = {
    "It flips the kernel twice.": "The forward pass is a cross-correlation ⋆, so the input gradient is a true "
    "convolution ∗: one flip. The tutorial turns w by 180° and then calls `convolve2d`, which flips again — the flips "
    "cancel. Blurs and the Laplacian look the same turned around, so nothing shows; Sobel turned around is −Sobel, "
    "so every sign is wrong.",
    "It returns x̃'s shape.": "The padding zeros are not inputs of the layer: their gradient must be cropped off.",
    "It ignores the stride.": "With stride s neighbouring outputs read windows s pixels apart, so G must be spread "
    "out (s − 1 zeros between its entries) before the convolution.",
    "It truncates.": "`np.zeros_like(kernel)` copies the kernel's dtype; with an integer Sobel array every entry of "
    "∂L/∂w is cut toward zero.",
}


def tutorial_backward(grad_output, x, kernel, stride: int = 1, padding: int = 0):
    """The tutorial's backward pass, line for line. Wrong on purpose: see the module docstring."""
    if padding > 0:
        x = np.pad(x, padding, mode="constant")
    kh, kw = kernel.shape
    grad_kernel = np.zeros_like(kernel)  # defect 4: inherits an integer dtype
    for i in range(kh):
        for j in range(kw):
            grad_kernel[i, j] = np.sum(
                x[i:i + grad_output.shape[0] * stride:stride, j:j + grad_output.shape[1] * stride:stride]
                * grad_output
            )
    rotated_kernel = np.rot90(kernel, 2)  # defect 1: convolve2d flips again
    grad_input = signal.convolve2d(grad_output, rotated_kernel, mode="full")  # defects 2 and 3
    return grad_input, grad_kernel


@dataclass(frozen=True)
class TutorialComparison:
    """The tutorial's gradients against the correct ones, on one ConvolutionResult."""

    image_shape: tuple[int, int]  # x, the shape ∂L/∂x must have
    padded_shape: tuple[int, int]  # x̃
    tutorial_shape: tuple[int, int]  # what the tutorial's input gradient has
    input_error: float | None  # rel. error of its input gradient cropped by p; None if it cannot be cropped
    input_cosine: float | None  # cosine with the correct ∂L/∂x: −1 means it points the opposite way
    negated_error: float | None  # ‖its ∂L/∂x + the correct one‖ / ‖the correct one‖: 0 means exactly −∂L/∂x
    integer_kernel: bool  # every entry of w is a whole number, so the tutorial would store it as int
    kernel_truncation: float  # max |its ∂L/∂w − correct| with w stored as integers (0 if w is not)

    @property
    def negated(self) -> bool:
        """Its input gradient is exactly −∂L/∂x (to rounding): the double flip on a kernel with rot180(w) = −w."""
        return self.negated_error is not None and self.negated_error < EXACT

    @property
    def zero(self) -> bool:
        """The correct ∂L/∂x is 0 everywhere (L does not change with x): no comparison can show a slip."""
        return self.input_error is not None and self.negated_error is None

    @property
    def right(self) -> bool:
        """Its input gradient, cropped, is a nonzero ∂L/∂x (to rounding): a kernel unchanged by a half-turn."""
        return self.input_error is not None and not self.zero and self.input_error < EXACT

    def findings(self) -> dict[str, str]:
        """What the comparison found, in words, one entry per defect (the page's table)."""
        if self.input_error is None:
            sign = "cannot be compared: its shape is wrong"
        else:
            # the symmetric relative error ‖a − b‖/(‖a‖ + ‖b‖) of the gradient check: 1 at most, for −∂L/∂x
            sign = f"relative error {self.input_error:.2f} (of at most 1)"
            if self.input_cosine is not None:
                sign += f", cosine {self.input_cosine:+.2f}".replace("-", "−")
                if self.negated:
                    sign += " — exactly −∂L/∂x"
            if self.right:
                sign += " — right by luck: for this kernel the extra flip changes nothing"
            if self.zero:
                sign += " — ∂L/∂x is 0 everywhere here, so no slip can show"
        shape = "×".join(map(str, self.tutorial_shape))
        shape += " = x̃'s shape" if self.tutorial_shape == self.padded_shape else " (the stride is ignored)"
        shape += f", for a {'×'.join(map(str, self.image_shape))} x"
        truncation = (f"up to {self.kernel_truncation:.2f} per entry if w is stored as integers"
                      if self.integer_kernel else "none here: w has fractional entries")
        return {"∂L/∂x, cropped by p": sign, "∂L/∂x shape": shape, "∂L/∂w truncation": truncation}


def compare_with_tutorial(result: ConvolutionResult) -> TutorialComparison:
    """Run the tutorial's backward on the same x, w, G, stride and padding as ``result``."""
    x, w, G, p = result.image, result.kernel, result.grad_output, result.padding
    H, W = x.shape
    grad_input, _ = tutorial_backward(G, x, w, result.stride, p)
    input_error = input_cosine = negated_error = None
    if grad_input.shape == result.padded_image.shape:
        cropped = grad_input[p:p + H, p:p + W]
        input_error = relative_error(cropped, result.grad_input)
        norms = float(np.linalg.norm(cropped) * np.linalg.norm(result.grad_input))
        input_cosine = float(np.sum(cropped * result.grad_input)) / norms if norms > 0 else None
        correct = float(np.linalg.norm(result.grad_input))
        negated_error = float(np.linalg.norm(cropped + result.grad_input)) / correct if correct > 0 else None
    integer_kernel = bool(np.all(w == np.round(w)))
    truncation = 0.0
    if integer_kernel:
        _, grad_kernel = tutorial_backward(G, x, w.astype(np.int64), result.stride, p)
        truncation = float(np.max(np.abs(grad_kernel - result.grad_kernel)))
    return TutorialComparison(x.shape, result.padded_image.shape, grad_input.shape, input_error,
                              input_cosine, negated_error, integer_kernel, truncation)


def slips_markdown(findings) -> str:
    """The page's account of the tutorial's rule: the four defects numbered, then a table of what the
    tutorial's rule gives on the run's settings (``findings``: part → finding)."""
    return ("**Why the rule is what it is — four slips of the tutorial's `conv2d_backward`:**\n"
            + "".join(f"{n}. *{slip}* {why}\n" for n, (slip, why) in enumerate(DEFECTS.items(), 1))
            + "\n| | The tutorial's rule, on these settings |\n|---|---|\n"
            + "".join(f"| {name} | {finding} |\n" for name, finding in findings.items()))
