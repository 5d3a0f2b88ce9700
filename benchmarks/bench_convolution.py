"""Convolution: conv2d_forward/backward against scipy and the tutorial's loops, and a page rerun.

    python -m benchmarks.bench_convolution           # full size; writes results/convolution.md
    python -m benchmarks.bench_convolution --quick   # tiny sizes, a few seconds (smoke test)

Part 1 times ``conv2d_forward`` side by side with ``scipy.signal.correlate2d`` (target: within
2×) and forward plus backward side by side with the tutorial's version (target: ≥ 100× faster).
Part 2 times the calc_core calls the Convolution page makes on an uncached rerun (the kernel
lesson runs gradient descent twice: at the chosen η and past the stable limit).

The tutorial's loop version below is the slow reference only, reproduced here as the tutorial
wrote it (defects included: its input gradient is wrong, see calc_core.convolution.core); it is not
lab code and nothing outside this file uses it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import signal

from benchmarks.timing import publish, ratio_table, time_side_by_side
from calc_core.convolution.core import conv2d_backward, conv2d_forward, gradient_checks, run_convolution
from calc_core.common.gradcheck import relative_error
from calc_core.convolution.learning import kernel_lesson
from calc_core.convolution.kernels import KERNELS, add_noise, synthetic_image

RESULTS = Path(__file__).parent / "results" / "convolution.md"


# ----------------------------------------------------------------------------- the tutorial's version

def tutorial_conv2d_forward(x, kernel, stride=1, padding=0):
    """The tutorial's forward pass: a Python loop over every output pixel."""
    if padding > 0:
        x = np.pad(x, padding, mode="constant")
    h, w = x.shape
    kh, kw = kernel.shape
    out_h = (h - kh) // stride + 1
    out_w = (w - kw) // stride + 1
    output = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            region = x[i * stride:i * stride + kh, j * stride:j * stride + kw]
            output[i, j] = np.sum(region * kernel)
    return output


def tutorial_conv2d_backward(grad_output, x, kernel, stride=1, padding=0):
    """The tutorial's backward pass (double kernel flip, padded shape, stride ignored, dtype kept)."""
    if padding > 0:
        x = np.pad(x, padding, mode="constant")
    kh, kw = kernel.shape
    grad_kernel = np.zeros_like(kernel)
    for i in range(kh):
        for j in range(kw):
            grad_kernel[i, j] = np.sum(
                x[i:i + grad_output.shape[0] * stride:stride,
                  j:j + grad_output.shape[1] * stride:stride] * grad_output
            )
    rotated_kernel = np.rot90(kernel, 2)
    grad_input = signal.convolve2d(grad_output, rotated_kernel, mode="full")
    return grad_input, grad_kernel


# ----------------------------------------------------------------------------- part 1

def layer_rows(size, repeat, loop_repeat):
    rng = np.random.default_rng(0)
    x = rng.random((size, size))
    w = rng.standard_normal((3, 3))
    G = rng.standard_normal((size - 2, size - 2))
    label = f"{size}×{size}, 3×3, stride 1"

    forward = time_side_by_side({
        "ours": lambda: conv2d_forward(x, w),
        "scipy": lambda: signal.correlate2d(x, w, mode="valid"),
    }, repeat=repeat)
    ours_f, scipy_f = forward["ours"].best_seconds, forward["scipy"].best_seconds
    forward_error = relative_error(conv2d_forward(x, w), signal.correlate2d(x, w, mode="valid"))

    def ours_both():
        conv2d_forward(x, w)
        conv2d_backward(G, x, w)

    def tutorial_both():
        tutorial_conv2d_forward(x, w)
        tutorial_conv2d_backward(G, x, w)

    both = time_side_by_side({"ours": ours_both, "tutorial": tutorial_both}, repeat=loop_repeat)
    ours_b, loops_b = both["ours"].best_seconds, both["tutorial"].best_seconds
    grad_input, grad_kernel = conv2d_backward(G, x, w)
    tutorial_input, tutorial_kernel = tutorial_conv2d_backward(G, x, w)
    return [
        (f"{label}: conv2d_forward", ours_f,
         f"{ours_f / scipy_f:.2f}× the time of scipy (target ≤ 2×); rel. diff {forward_error:.1e}"),
        (f"{label}: scipy.signal.correlate2d", scipy_f, ""),
        (f"{label}: conv2d_forward + conv2d_backward", ours_b, ""),
        (f"{label}: tutorial's loops, forward + backward", loops_b,
         f"{loops_b / ours_b:,.0f}× slower than ours (target ≥ 100×); its ∂L/∂w rel. diff "
         f"{relative_error(tutorial_kernel, grad_kernel):.1e}, its ∂L/∂x rel. diff "
         f"{relative_error(tutorial_input, grad_input):.2f} (the double flip)"),
    ]


# ----------------------------------------------------------------------------- part 2

def page_rerun_rows(label, size, steps, repeat):
    """One uncached rerun of the page's calc work: image, layer, gradient check, kernel lesson."""
    sobel = KERNELS["sobel_x"]

    def image():
        return add_noise(synthetic_image("circle", size), 0.1, seed=0)

    x = image()
    calls = {
        "synthetic_image + add_noise": image,
        "run_convolution": lambda: run_convolution(x, sobel, 1, 1, "energy"),
        "gradient_checks (64 pixels + 9 weights)": lambda: gradient_checks(x, sobel, 1, 1),
        f"kernel_lesson ({steps} steps at 0.9 and at 1.2 × 2/λ_max)": lambda: kernel_lesson(
            x, sobel, 0.9, steps, padding=1),
    }
    timings = time_side_by_side(calls, repeat=repeat)
    rows = [(f"{label}: {name}", t.best_seconds, "") for name, t in timings.items()]
    total = sum(t.best_seconds for t in timings.values())
    rows.append((f"{label}: whole rerun", total, "target: well under 1 s"))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    quick = parser.parse_args(argv).quick
    if quick:
        sizes, repeat, loop_repeat = [64], 3, 1
        reruns = [("64×64, 100 steps", 64, 100)]
    else:
        sizes, repeat, loop_repeat = [128, 512], 20, 5
        reruns = [("defaults 64×64, 300 steps", 64, 300), ("128×128, 500 steps", 128, 500),
                  ("256×256, 1000 steps", 256, 1000)]
    rows = []
    for size in sizes:
        rows += layer_rows(size, repeat, loop_repeat)
    for label, size, steps in reruns:
        rows += page_rerun_rows(label, size, steps, 3 if quick else 5)
    title = "Convolution: layer vs scipy and the tutorial's loops; page rerun (uncached)"
    table = ratio_table(rows, title)
    publish(table, RESULTS, quick)


if __name__ == "__main__":
    main()
