r"""Gradient checks of the convolution page: the layer's backward pass, and the gradient that trained
the kernel — each against derivative-free estimates (calc_core.common.gradcheck's verdict).

The function differentiated is evaluated as a *change*: the layer is linear in x and in w, so
moving x by δ moves y by d = conv(δ, w) (or w by δ: d = conv(x, δ)), and

    L(y + d) − L(y) = Σ d ⊙ (G + ½ d)   for L = ½‖y‖² (G = y),      Σ d ⊙ G   for L = Σ y ⊙ G,

computed from d alone: exact to rounding of its own size, however large L is. A single pixel
moves only the outputs whose windows read it, so the change of one coordinate is computed on that
small block of y: a few dozen multiplications instead of a pass over the image.

The sample of pixels reaches every structurally different part of ∂L/∂x (``pixel_groups``):
pixels no window reads (between windows when s > k, past the last window), whose gradient is
exactly 0; border pixels, whose windows reach into the padding or the edge; and the interior.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from calc_core.common.gradcheck import GradientCheck, check_gradient, check_gradients
from calc_core.convolution.core import (ConvolutionResult, correlate, input_gradient, kernel_gradient, loss_change,
                                       output_shape, pad_image)

GROUPS = ("unread", "border", "interior")  # the structurally different parts of ∂L/∂x
MAX_PIXELS = 64  # pixels of ∂L/∂x checked one by one
SMALL_BLOCK = 400  # blocks of x̃ up to this size (one moved pixel's reach) are convolved by the definition


def read_counts(image_shape, kernel_shape, stride: int, padding: int) -> np.ndarray:
    """How many (window, kernel entry) pairs read each pixel of x: 0 where no window reaches."""
    shape = output_shape(image_shape, kernel_shape, stride, padding)
    return input_gradient(np.ones(shape), np.ones(kernel_shape), image_shape, stride, padding)


def kernel_reads(image_shape, kernel_shape, stride: int, padding: int) -> np.ndarray:
    """How many pixels of x (not padding) each kernel entry meets over all windows: 0 for an entry
    that meets only padding, whose value no image can show."""
    shape = output_shape(image_shape, kernel_shape, stride, padding)
    return kernel_gradient(np.ones(shape), pad_image(np.ones(image_shape), padding), kernel_shape, stride)


def unread_lines(image_shape, kernel_shape, stride: int, padding: int) -> dict[str, int]:
    """Rows and columns of x that no window reads, split into those between two windows (s > k) and
    those past the last window (when s does not divide H + 2p − k). Window i reads x̃ rows
    i·s … i·s + k_h − 1, and x row r is x̃ row r + p; a pixel is unread when its row or its column is."""
    counts = {}
    for axis, (n, k, out) in (("rows", (image_shape[0], kernel_shape[0], output_shape(image_shape, kernel_shape, stride,
                                                                                      padding)[0])),
                              ("columns", (image_shape[1], kernel_shape[1], output_shape(image_shape, kernel_shape,
                                                                                         stride, padding)[1]))):
        read = np.zeros(n + 2 * padding, bool)
        for i in range(out):
            read[i * stride:i * stride + k] = True
        in_x = ~read[padding:padding + n]  # the unread lines of x, padding left out
        past = np.arange(padding, padding + n) >= (out - 1) * stride + k  # beyond the last window's end
        counts[f"{axis}_between"] = int(np.sum(in_x & ~past))
        counts[f"{axis}_past"] = int(np.sum(in_x & past))
    return counts


def pixel_groups(image_shape, kernel_shape, stride: int, padding: int) -> dict[str, np.ndarray]:
    """Flat indices of x's pixels by the part of the layer they sit in: ``unread`` (no window reads
    them: ∂L/∂x is exactly 0 there), ``border`` (read, within k − 1 of an edge: their windows reach
    into the padding or stop at the edge) and ``interior``."""
    H, W = image_shape
    reach = max(kernel_shape) - 1
    rows, cols = np.mgrid[0:H, 0:W]
    edge = (np.minimum(rows, H - 1 - rows) < reach) | (np.minimum(cols, W - 1 - cols) < reach)
    read = read_counts(image_shape, kernel_shape, stride, padding) > 0
    return {"unread": np.flatnonzero(~read), "border": np.flatnonzero(read & edge),
            "interior": np.flatnonzero(read & ~edge)}


def _input_change(layer: ConvolutionResult):
    """δ ↦ L(x + δ) − L(x), on the block of y that the moved pixels reach."""
    x, w, G, loss = layer.image, layer.kernel, layer.grad_output, layer.loss
    s, p = layer.stride, layer.padding
    (H, W), (kh, kw), (H_out, W_out) = x.shape, w.shape, G.shape

    def change(x_new):
        delta = x_new - x
        moved = (delta != 0).reshape(-1)
        first = int(moved.argmax())  # one coordinate moved (the usual case): found without a full nonzero()
        if not moved[first]:
            return 0.0
        if first == moved.size - 1 - int(moved[::-1].argmax()):
            (r0, c0), (r1, c1) = divmod(first, W), divmod(first, W)
        else:
            rows, cols = np.flatnonzero(moved.reshape(H, W).any(axis=1)), np.flatnonzero(moved.reshape(H, W).any(axis=0))
            r0, r1, c0, c1 = rows[0], rows[-1], cols[0], cols[-1]
        # outputs i whose window rows i·s … i·s + k_h − 1 (in x̃) meet the moved rows
        i0, i1 = max(0, -(-(r0 + p - kh + 1) // s)), min(H_out - 1, (r1 + p) // s)
        j0, j1 = max(0, -(-(c0 + p - kw + 1) // s)), min(W_out - 1, (c1 + p) // s)
        if i0 > i1 or j0 > j1:
            return 0.0  # no window reads the moved pixels
        # the block of δ̃ (δ zero-padded) that those windows read: x̃ rows i0·s … i1·s + k_h − 1
        top, left, bottom, right = i0 * s, j0 * s, i1 * s + kh, j1 * s + kw
        block = np.zeros((bottom - top, right - left))
        a0, a1, b0, b1 = max(top - p, 0), min(bottom - p, H), max(left - p, 0), min(right - p, W)
        block[a0 + p - top:a1 + p - top, b0 + p - left:b1 + p - left] = delta[a0:a1, b0:b1]
        # d = conv(δ, w) on that block;  ΔL from d alone
        d = by_definition(block, w, s) if block.size <= SMALL_BLOCK else correlate(block, w, s)
        return loss_change(d, G[i0:i1 + 1, j0:j1 + 1], loss)
    return change


def by_definition(x_pad, w, stride: int) -> np.ndarray:
    """y[i, j] = Σ_{m,n} x̃[i·s + m, j·s + n] · w[m, n], every window at once (a view of x̃, no copy):
    the definition, independent of ``correlate``'s shifted slices, and faster on a small block."""
    (kh, kw), (rows, cols) = w.shape, x_pad.strides
    shape = ((x_pad.shape[0] - kh) // stride + 1, (x_pad.shape[1] - kw) // stride + 1, kh, kw)
    windows = as_strided(x_pad, shape, (rows * stride, cols * stride, rows, cols), writeable=False)
    return (windows * w).sum(axis=(2, 3))


def _kernel_change(x_pad, w, G, loss: str, stride: int):
    """δ ↦ L(w + δ) − L(w): d = conv(x, δ), summed over the moved kernel entries only."""
    kh, kw = w.shape
    H_out, W_out = G.shape

    def change(w_new):
        delta = w_new - w
        d = np.zeros((H_out, W_out))
        for m, n in zip(*np.nonzero(delta)):
            # d[i, j] += δ[m, n] · x̃[i·s + m, j·s + n]
            d += delta[m, n] * x_pad[m:m + stride * (H_out - 1) + 1:stride, n:n + stride * (W_out - 1) + 1:stride]
        return loss_change(d, G, loss)
    return change


def layer_gradient_checks(layer: ConvolutionResult, grad_input=None, grad_kernel=None, *, seed: int = 0,
                          max_pixels: int = MAX_PIXELS) -> tuple[GradientCheck, GradientCheck]:
    """∂L/∂x (``max_pixels`` pixels, reaching every group of ``pixel_groups``) and ∂L/∂w (every
    entry) against derivative-free estimates of L's change. The gradients checked are the layer's
    own unless others are given (a test hands in wrong ones)."""
    grad_input = layer.grad_input if grad_input is None else grad_input
    grad_kernel = layer.grad_kernel if grad_kernel is None else grad_kernel
    groups = pixel_groups(layer.image.shape, layer.kernel.shape, layer.stride, layer.padding)
    pixels = check_gradient(_input_change(layer), layer.image, grad_input, name="∂L/∂x", max_coords=max_pixels,
                            seed=seed, groups=tuple(g for g in groups.values() if g.size))
    weights = check_gradient(_kernel_change(layer.padded_image, layer.kernel, layer.grad_output, layer.loss,
                                            layer.stride), layer.kernel, grad_kernel, name="∂L/∂w", seed=seed + 1)
    return pixels, weights


def checked_per_group(check: GradientCheck, groups: dict[str, np.ndarray]) -> dict[str, int]:
    """How many of the coordinates ``check`` checked one by one fall in each group."""
    return {name: int(np.isin(check.indices, members).sum()) for name, members in groups.items()}


# ----------------------------------------------------------------------------- the code that trained

def training_gradient_checks(x_pad, target, w0, w1, learning_rate: float, stride: int, *,
                             seed: int = 0) -> tuple[GradientCheck, ...]:
    """The gradient one training step applied, g = (w₀ − w₁)/η (read off the training loop), against
    derivative-free estimates of L(w) = ½‖x̃ ⋆ w − y*‖² at w₀. Empty when the step left w non-finite."""
    if not (np.all(np.isfinite(w0)) and np.all(np.isfinite(w1))):
        return ()
    # g = (w₀ − w₁)/η;  w₁ is rounded to ε|w₁|, the subtraction to ε|w₀|, both divided by η
    applied = (w0 - w1) / learning_rate
    rounding = 2 * np.finfo(float).eps * (np.abs(w0) + np.abs(w1)) / learning_rate
    # r = x̃ ⋆ w₀ − y*: L's change is Σ d ⊙ (r + ½ d), the same change as the layer's ½‖y‖² with G = r
    residual = correlate(x_pad, w0, stride) - target
    change = _kernel_change(x_pad, w0, residual, "energy", stride)
    return tuple(check_gradients(lambda p: change(p["w"]), {"w": w0}, {"w": applied}, seed=seed,
                                 analytic_error={"w": rounding}))
