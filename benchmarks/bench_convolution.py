"""Convolution: conv2d_forward/backward against scipy and the tutorial's loops, and a page rerun.

    python -m benchmarks.bench_convolution           # full size; writes results/convolution.md
    python -m benchmarks.bench_convolution --quick   # tiny sizes, a few seconds (smoke test)

Part 1 times ``conv2d_forward`` side by side with ``scipy.signal.correlate2d`` (target: within
2×) and forward plus backward side by side with the tutorial's version (target: ≥ 100× faster).
Part 2 times the two cached calc_core calls the Convolution page makes: ``lab.run`` (noise, the
layer, its gradient check on 64 pixels and 9 weights, the tutorial's comparison) reruns when a
sidebar control moves, and ``lab.learn`` (gradient descent at the chosen η and past the stable
limit, the check of the training step) when a control of the learning panel moves as well; a
move of the step shown reruns neither (target for a sidebar move at the defaults: ≲ 0.25 s).
Part 3 prepares a 100,000 × 100 upload (10 Mpixel) for the page (it took 18 s before the
block-average resize).

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
from calc_core.common.gradcheck import relative_error
from calc_core.convolution import conv2d_backward, conv2d_forward, lab
from calc_core.convolution.kernels import prepare_image

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

def page_rerun_rows(label, settings, steps, repeat):
    """The page's two cached calls, uncached: the layer with its check, and the learning panel."""
    image = photo(settings.size) if settings.source in lab.FILE_SOURCES else None
    timings = time_side_by_side({
        "lab.run (layer, check of 64 pixels + 9 weights, tutorial)": lambda: lab.run(settings, image),
        f"lab.learn ({steps} steps at 0.9 and at 1.2 × 2/λ_max, check of the step)": lambda: lab.learn(
            settings, 0.9, steps, image),
    }, repeat=repeat)
    rows = [(f"{label}: {name}", t.best_seconds, "") for name, t in timings.items()]
    total = sum(t.best_seconds for t in timings.values())
    rows.append((f"{label}: a sidebar move (both)", total, "target at the defaults: ≲ 250 ms"))
    return rows


def photo(size):
    """The sample photograph as the page's image layer prepares it (PIL lives in ui.images)."""
    from ui.images import gray_image

    return gray_image("photo", size)


def upload_rows(repeat):
    strip = np.zeros((100, 100_000), np.uint8)
    strip[:, 30_000:] = 255
    timing = time_side_by_side({"prepare": lambda: prepare_image(strip, 96)}, repeat=repeat)["prepare"]
    return [("100,000 × 100 upload (10 Mpixel): prepare_image to 96 px", timing.best_seconds,
             "was 18 s (a Gaussian of σ ≈ 520 px over every pixel); target: well under 1 s")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    quick = parser.parse_args(argv).quick
    if quick:
        sizes, repeat, loop_repeat = [64], 3, 1
        reruns = [("bars 32 px, 100 steps", lab.Settings(source="bars", size=32), 100)]
    else:
        sizes, repeat, loop_repeat = [128, 512], 20, 5
        reruns = [("defaults (photo 96×82, 400 steps)", lab.Settings(), 400),
                  ("bars 128×128, 500 steps", lab.Settings(source="bars", size=128), 500),
                  ("bars 256×256, 500 steps (learned on 128)", lab.Settings(source="bars", size=256), 500)]
    rows = []
    for size in sizes:
        rows += layer_rows(size, repeat, loop_repeat)
    for label, settings, steps in reruns:
        rows += page_rerun_rows(label, settings, steps, 3 if quick else 7)
    rows += upload_rows(2 if quick else 5)
    title = "Convolution: layer vs scipy and the tutorial's loops; the page's calls (uncached); a huge upload"
    table = ratio_table(rows, title)
    publish(table, RESULTS, quick)


if __name__ == "__main__":
    main()
