r"""2-D convolution layer: forward pass and the exact backward pass.

Notation (the page shows the same formulas):

    x   input image, H × W              w   kernel, k_h × k_w
    p   zero padding on every side      s   stride
    x̃   x padded with p zeros on every side, (H + 2p) × (W + 2p)

Forward — cross-correlation, as deep-learning frameworks define "convolution":

    y[i, j] = Σ_{m,n} x̃[i·s + m, j·s + n] · w[m, n]
    H_out = ⌊(H + 2p − k_h) / s⌋ + 1,   W_out = ⌊(W + 2p − k_w) / s⌋ + 1

Backward, given the upstream gradient G = ∂L/∂y (H_out × W_out). Each y[i, j] is linear in the
window it reads, so the chain rule sends G[i, j] · w[m, n] back to x̃[i·s + m, j·s + n] and
G[i, j] · x̃[i·s + m, j·s + n] to w[m, n]:

    ∂L/∂w[m, n] = Σ_{i,j} G[i, j] · x̃[i·s + m, j·s + n]   cross-correlation of x̃ with G
    ∂L/∂x̃[a, b] = Σ_{i,j} G[i, j] · w[a − i·s, b − j·s]   i.e. ∂L/∂x̃ = (G ↑ s) ∗ w, a full convolution
    ∂L/∂x       = ∂L/∂x̃[p : p + H, p : p + W]             crop the padding away

where w is 0 outside its k_h × k_w entries, G ↑ s is G dilated by the stride (its entries s apart,
s − 1 zeros between them), and the full convolution (a ∗ w)[a, b] = Σ_{m,n} a[a − m, b − n] · w[m, n]
flips the kernel exactly once: the input gradient of a cross-correlation is a true convolution.
Rows and columns of x̃ no window reads — past the last window when s does not divide H + 2p − k_h,
and between windows when s > k — get gradient exactly 0.

The tutorial's ``conv2d_backward`` gets four things wrong:

1. It flips the kernel twice: ``signal.convolve2d`` already flips, so
   ``convolve2d(G, rot180(w))`` is a cross-correlation of G with w. For a kernel with
   rot180(w) = −w, such as Sobel, its input gradient is exactly −∂L/∂x.
2. It returns ∂L/∂x̃, shaped (H + 2p) × (W + 2p), instead of ∂L/∂x, shaped like x.
3. It ignores the stride: it convolves G rather than G ↑ s, so for s > 1 the input gradient has
   the wrong shape and wrong values.
4. ``np.zeros_like(kernel)`` inherits the kernel's dtype, so an integer kernel (its own Sobel
   demo) truncates ∂L/∂w to integers. Here every result is float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calc_core.common.validate import whole

#: The scalar losses the page can put on top of y. G = ∂L/∂y is what flows into the backward pass.
LOSSES = {
    "energy": "L = ½ ‖y‖² (G = y)",
    "random": "L = Σ y ⊙ R, R ~ N(0, 1) seeded (G = R)",
    "sum": "L = Σ y (G = 1, the tutorial's choice)",
}


# ----------------------------------------------------------------------------- checks

def as_image(name: str, values) -> np.ndarray:
    """A finite, non-empty 2-D float64 array, or a ValueError that says what is wrong."""
    array = np.asarray(values)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows × columns), got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape})")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool) or np.iscomplexobj(array):
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    array = np.asarray(array, dtype=float)
    # a finite sum means no NaN or ±inf (they propagate); only then is the pixel-wise test needed
    if not np.isfinite(array.sum()) and not np.all(np.isfinite(array)):
        row, col = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(f"{name}[{row}, {col}] is {array[row, col]}; every value must be finite")
    return array


def output_shape(image_shape, kernel_shape, stride: int = 1, padding: int = 0) -> tuple[int, int]:
    """(H_out, W_out) = (⌊(H + 2p − k_h)/s⌋ + 1, ⌊(W + 2p − k_w)/s⌋ + 1), after checking that it fits."""
    stride = whole("stride", stride, 1)
    padding = whole("padding", padding, 0)
    (H, W), (kh, kw) = image_shape, kernel_shape
    if kh > H + 2 * padding or kw > W + 2 * padding:
        raise ValueError(
            f"the {kh}×{kw} kernel does not fit in the padded image: {H}×{W} with padding {padding} "
            f"is {H + 2 * padding}×{W + 2 * padding}. Use a smaller kernel or more padding."
        )
    # H_out = ⌊(H + 2p − k_h)/s⌋ + 1
    return (H + 2 * padding - kh) // stride + 1, (W + 2 * padding - kw) // stride + 1


def _checked(x, kernel, stride, padding):
    x, kernel = as_image("x", x), as_image("kernel", kernel)
    shape = output_shape(x.shape, kernel.shape, stride, padding)
    return x, kernel, int(stride), int(padding), shape


def zero_pad(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """a with ``rows`` zero rows above and below and ``cols`` zero columns left and right."""
    if rows == cols == 0:
        return a
    padded = np.zeros((a.shape[0] + 2 * rows, a.shape[1] + 2 * cols))
    padded[rows:rows + a.shape[0], cols:cols + a.shape[1]] = a
    return padded


def pad_image(x: np.ndarray, padding: int) -> np.ndarray:
    """x̃: x with ``padding`` zeros on every side."""
    return zero_pad(x, padding, padding)


def _window_rows(offset: int, count: int, stride: int) -> slice:
    """offset, offset + s, …, offset + (count − 1)·s: the x̃ rows that kernel row ``offset`` meets."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)


# ----------------------------------------------------------------------------- forward

#: Output pixels per block of rows in ``correlate``: ≈ 256 kB of float64, so the shifted slices
#: of a block stay in the CPU cache while all k_h·k_w of them are added up (≈ 1.5× faster).
BLOCK_PIXELS = 32_768


def correlate(x_pad: np.ndarray, w: np.ndarray, stride: int = 1) -> np.ndarray:
    """y = Σ_{m,n} w[m, n] · x̃[m + s·i, n + s·j]: one shifted, strided slice of x̃ per kernel entry,
    summed block of output rows by block of output rows."""
    kh, kw = w.shape
    H_out = (x_pad.shape[0] - kh) // stride + 1
    W_out = (x_pad.shape[1] - kw) // stride + 1
    y = np.zeros((H_out, W_out))
    block_rows = max(1, BLOCK_PIXELS // W_out)
    for first in range(0, H_out, block_rows):
        rows = min(block_rows, H_out - first)
        y_block = y[first:first + rows]
        for m in range(kh):
            for n in range(kw):
                # y[i, j] += w[m, n] · x̃[i·s + m, j·s + n]
                y_block += w[m, n] * x_pad[_window_rows(first * stride + m, rows, stride),
                                           _window_rows(n, W_out, stride)]
    return y


def conv2d_forward(x, kernel, stride: int = 1, padding: int = 0) -> np.ndarray:
    """y[i, j] = Σ_{m,n} x̃[i·s + m, j·s + n] · w[m, n] on the zero-padded input (float64).

    Any image and kernel shapes; integer input gives a float result. Raises ValueError for arrays
    that are not 2-D or not finite, stride < 1, padding < 0, or a kernel larger than x̃.
    """
    x, kernel, stride, padding, _ = _checked(x, kernel, stride, padding)
    return correlate(pad_image(x, padding), kernel, stride)


# ----------------------------------------------------------------------------- backward

def kernel_gradient(G: np.ndarray, x_pad: np.ndarray, kernel_shape, stride: int = 1) -> np.ndarray:
    """∂L/∂w[m, n] = Σ_{i,j} G[i, j] · x̃[i·s + m, j·s + n] (cross-correlation of x̃ with G)."""
    H_out, W_out = G.shape
    grad_kernel = np.empty(kernel_shape)
    for m in range(kernel_shape[0]):
        for n in range(kernel_shape[1]):
            window = x_pad[_window_rows(m, H_out, stride), _window_rows(n, W_out, stride)]
            # ∂L/∂w[m, n] = Σ_{i,j} G[i, j] · x̃[i·s + m, j·s + n]
            grad_kernel[m, n] = np.einsum("ij,ij->", G, window)
    return grad_kernel


def dilate(G: np.ndarray, stride: int) -> np.ndarray:
    """G ↑ s: G's entries placed s apart with s − 1 zeros between them."""
    if stride == 1:
        return G
    dilated = np.zeros((stride * (G.shape[0] - 1) + 1, stride * (G.shape[1] - 1) + 1))
    dilated[::stride, ::stride] = G
    return dilated


def full_convolution(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(a ∗ w)[a, b] = Σ_{m,n} a[a − m, b − n] · w[m, n], 'full' size (A_h + k_h − 1) × (A_w + k_w − 1).

    Computed as the cross-correlation of a, zero-padded by k − 1, with the kernel flipped once.
    """
    kh, kw = w.shape
    # a ∗ w = correlate(a padded by (k_h − 1, k_w − 1), rot180(w))
    return correlate(zero_pad(a, kh - 1, kw - 1), w[::-1, ::-1])


def input_gradient(G: np.ndarray, w: np.ndarray, image_shape, stride: int = 1, padding: int = 0):
    """∂L/∂x = ((G ↑ s) ∗ w)[p : p + H, p : p + W]: full convolution of the dilated G, cropped."""
    H, W = image_shape
    # ∂L/∂x̃ = (G ↑ s) ∗ w
    grad_padded = full_convolution(dilate(G, stride), w)
    if grad_padded.shape != (H + 2 * padding, W + 2 * padding):
        # x̃'s rows and columns past the last window were never read: their gradient is 0
        grad_padded = np.pad(grad_padded, ((0, H + 2 * padding - grad_padded.shape[0]),
                                           (0, W + 2 * padding - grad_padded.shape[1])))
    # ∂L/∂x = ∂L/∂x̃[p : p + H, p : p + W]
    return grad_padded[padding:padding + H, padding:padding + W]


def conv2d_backward(grad_output, x, kernel, stride: int = 1, padding: int = 0):
    """(∂L/∂x, ∂L/∂w) from G = ∂L/∂y; ∂L/∂x has x's shape, both are float64. See the module docstring."""
    x, kernel, stride, padding, shape = _checked(x, kernel, stride, padding)
    G = as_image("grad_output", grad_output)
    if G.shape != shape:
        raise ValueError(
            f"grad_output has shape {G.shape}, but the output of a {kernel.shape[0]}×{kernel.shape[1]} "
            f"kernel on a {x.shape[0]}×{x.shape[1]} image with stride {stride} and padding {padding} "
            f"has shape {shape}"
        )
    grad_input = input_gradient(G, kernel, x.shape, stride, padding)
    grad_kernel = kernel_gradient(G, pad_image(x, padding), kernel.shape, stride)
    return grad_input, grad_kernel


# ----------------------------------------------------------------------------- a loss on top, and one layer

def upstream_gradient(y: np.ndarray, loss: str = "energy", seed: int = 0) -> np.ndarray:
    """G = ∂L/∂y for one of the ``LOSSES``."""
    if loss == "energy":
        return y.copy()  # L = ½‖y‖²  ⇒  ∂L/∂y = y
    if loss == "random":
        return np.random.default_rng(seed).standard_normal(y.shape)  # L = Σ y ⊙ R  ⇒  ∂L/∂y = R
    if loss == "sum":
        return np.ones_like(y)  # L = Σ y  ⇒  ∂L/∂y = 1
    raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)}")


def loss_change(d: np.ndarray, G: np.ndarray, loss: str) -> float:
    """L(y + d) − L(y), exactly: Σ d ⊙ (G + ½ d) for L = ½‖y‖² (G = y), Σ d ⊙ G otherwise."""
    return float(np.sum(d * (G + 0.5 * d))) if loss == "energy" else float(np.sum(d * G))


def loss_value(y: np.ndarray, G: np.ndarray, loss: str) -> float:
    """L(y): ½‖y‖² for "energy", Σ y ⊙ G (G = R or 1) otherwise."""
    return float(0.5 * np.sum(y * y)) if loss == "energy" else float(np.sum(y * G))


@dataclass(frozen=True)
class ConvolutionResult:
    """Everything the page draws for one setting: the forward pass and both gradients."""

    image: np.ndarray  # x
    padded_image: np.ndarray  # x̃
    kernel: np.ndarray  # w
    output: np.ndarray  # y
    grad_output: np.ndarray  # G = ∂L/∂y
    grad_input: np.ndarray  # ∂L/∂x, shaped like x
    grad_kernel: np.ndarray  # ∂L/∂w, shaped like w
    loss_value: float
    loss: str
    stride: int
    padding: int


def run_convolution(x, kernel, stride=1, padding=0, loss="energy", seed=0) -> ConvolutionResult:
    """Forward pass, the chosen loss's G = ∂L/∂y, and the backward pass on x and w."""
    x, kernel, stride, padding, _ = _checked(x, kernel, stride, padding)
    x_pad = pad_image(x, padding)
    y = correlate(x_pad, kernel, stride)
    G = upstream_gradient(y, loss, seed)
    grad_input, grad_kernel = conv2d_backward(G, x, kernel, stride, padding)
    return ConvolutionResult(x, x_pad, kernel, y, G, grad_input, grad_kernel,
                             loss_value(y, G, loss), loss, stride, padding)
