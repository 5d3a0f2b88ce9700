r"""Learning a kernel by gradient descent: recover a hidden w from an image and its filtered version.

With y(w) = conv(x, w) (``calc_core.convolution.core``) and a target t:

    L(w)  = ½ ‖conv(x, w) − t‖²                                 loss
    r     = conv(x, w) − t                                      residual
    ∇L(w) = ∂L/∂w = Σ_{i,j} r[i, j] · x̃[i·s + m, j·s + n]       the kernel gradient with G = r
    w     ← w − η ∇L(w)                                         gradient descent step

y is linear in w: y = A w for the patch matrix A (one row per output pixel, one column per kernel
entry), and ∇L(w) = Aᵀ r. ``fit_kernel`` builds A once and runs every step as those two matrix products
(the same sums as the shifted slices of ``calc_core.convolution.core``, a few times faster on small
images). L is a quadratic with Hessian the Gram matrix H = Aᵀ A,

    H[(m, n), (m′, n′)] = Σ_{i,j} x̃[i·s + m, j·s + n] · x̃[i·s + m′, j·s + n′].

Gradient descent shrinks the error along the eigenvector of λ by the factor (1 − η λ) each step,
so it converges if and only if η < 2 / λ_max, fastest for a fixed η at η = 2 / (λ_max + λ_min),
and needs about κ = λ_max / λ_min steps per e-fold at η = 1 / λ_max. An η just past 2 / λ_max
makes the λ_max component flip sign and grow every step: the loss rises geometrically.

λ_max grows with the image's energy: for an image with values in [0, 1] and N output pixels,
λ_max ≈ N · (k_h k_w · mean(x)² + var(x)) — about 9 000 for a 64 × 64 image of mean ½ and a 3 × 3
kernel, so the usable η is below ≈ 2e-4 there. The page therefore scales every image to [0, 1]
and states η as a fraction of 2 / λ_max (``learning_rate_bounds``, ``kernel_lesson``).

λ_min measures how well the image excites every direction of w. Flat regions excite only the
"sum of the weights" direction, so a clean synthetic image is badly conditioned (κ of 700 to 6 000
for a 64 × 64 checkerboard, circle or bars with a 3 × 3 kernel and padding 1) and gradient
descent creeps along the weak directions; pixel noise of σ = 0.1 brings κ to ≈ 250 and σ = 0.2 to
≈ 80 — then 500 steps at η = 0.9 · 2/λ_max recover a Sobel kernel to 1e-3 or better.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from calc_core.common.blas_threads import single_blas_thread
from calc_core.common.snapshots import MAX_SNAPSHOTS, Snapshots, evenly_spaced
from calc_core.common.validate import whole
from calc_core.convolution.core import as_image, correlate, kernel_gradient, output_shape, pad_image


def _kernel_shape(kernel_shape) -> tuple[int, int]:
    if np.ndim(kernel_shape) != 1 or len(kernel_shape) != 2:
        raise ValueError(f"kernel_shape must be a pair (rows, columns), got {kernel_shape!r}")
    return whole("kernel rows", kernel_shape[0], 1), whole("kernel columns", kernel_shape[1], 1)


#: Largest patch matrix A (in entries; 32 MB of float64) that ``fit_kernel`` builds. Beyond it each
#: step runs the shifted-slice forward and kernel gradient of ``calc_core.convolution.core`` instead.
PATCH_MATRIX_LIMIT = 4_000_000


def _forward_and_gradient(x_pad, kernel_shape, stride):
    """The two maps a gradient step needs: w ↦ conv(x, w) = A w and r ↦ ∇L = Aᵀ r."""
    H_out = (x_pad.shape[0] - kernel_shape[0]) // stride + 1
    W_out = (x_pad.shape[1] - kernel_shape[1]) // stride + 1
    if H_out * W_out * kernel_shape[0] * kernel_shape[1] > PATCH_MATRIX_LIMIT:
        return (lambda w: correlate(x_pad, w, stride),
                lambda r: kernel_gradient(r, x_pad, kernel_shape, stride))
    # A's rows are the windows x̃[i·s : i·s + k_h, j·s : j·s + k_w], flattened (one copy, then BLAS)
    A = sliding_window_view(x_pad, kernel_shape)[::stride, ::stride].reshape(H_out * W_out, -1)
    # y = A w
    forward = lambda w: (A @ w.ravel()).reshape(H_out, W_out)  # noqa: E731
    # ∇L[m, n] = Σ_{i,j} r[i, j] · x̃[i·s + m, j·s + n] = (Aᵀ r)[m, n]
    gradient = lambda r: (A.T @ r.ravel()).reshape(kernel_shape)  # noqa: E731
    return forward, gradient


def kernel_gram_matrix(x, kernel_shape, stride: int = 1, padding: int = 0) -> np.ndarray:
    """H = Aᵀ A, the Hessian of ½‖conv(x, w) − t‖² in the flattened kernel (k_h·k_w square)."""
    x, kernel_shape = as_image("x", x), _kernel_shape(kernel_shape)
    output_shape(x.shape, kernel_shape, stride, padding)
    stride, padding = int(stride), int(padding)
    k = kernel_shape[0] * kernel_shape[1]
    # A's rows are the windows x̃[i·s : i·s + k_h, j·s : j·s + k_w], flattened
    windows = sliding_window_view(pad_image(x, padding), kernel_shape)[::stride, ::stride]
    gram = np.zeros((k, k))
    rows_per_block = max(1, 2**20 // (windows.shape[1] * k))  # ≈ 8 MB of A at a time
    for start in range(0, windows.shape[0], rows_per_block):
        A = windows[start:start + rows_per_block].reshape(-1, k)
        # H = Aᵀ A
        gram += A.T @ A
    return gram


@dataclass(frozen=True)
class LearningRateBounds:
    """What the curvature of L says about η."""

    lambda_max: float  # largest eigenvalue of H
    lambda_min: float  # smallest eigenvalue of H (0: the kernel is not determined by the data)
    stable_limit: float  # 2 / λ_max: gradient descent converges iff η < this
    optimal: float  # 2 / (λ_max + λ_min): the fastest fixed η
    condition_number: float  # κ = λ_max / λ_min (inf when λ_min = 0)


def learning_rate_bounds(x, kernel_shape, stride: int = 1, padding: int = 0) -> LearningRateBounds:
    """Eigenvalues of the Gram matrix H and the learning rates they allow (exact, by eigvalsh)."""
    eigenvalues = np.linalg.eigvalsh(kernel_gram_matrix(x, kernel_shape, stride, padding))
    lambda_max = float(max(eigenvalues[-1], 0.0))
    # eigenvalues below rounding level of λ_max are zero: that direction of w is invisible
    lambda_min = float(eigenvalues[0]) if eigenvalues[0] > 1e-12 * lambda_max else 0.0
    if lambda_max == 0.0:  # an all-zero image: L does not depend on w
        return LearningRateBounds(0.0, 0.0, np.inf, np.inf, np.inf)
    return LearningRateBounds(
        lambda_max, lambda_min, 2.0 / lambda_max, 2.0 / (lambda_max + lambda_min),
        lambda_max / lambda_min if lambda_min > 0 else np.inf,
    )


@dataclass(frozen=True)
class KernelFit:
    """A gradient-descent run on ½‖conv(x, w) − t‖². Every array is finite."""

    loss_history: np.ndarray  # L(w_t) for t = 0, 1, …, steps_run
    kernels: np.ndarray  # w_t for the same t, shape (steps_run + 1, k_h, k_w)
    learning_rate: float
    stable_limit: float  # 2 / λ_max for this image, stride and padding
    diverged_step: int | None  # first t whose loss exceeded blow-up × L(w_0) or overflowed

    @property
    def diverged(self) -> bool:
        return self.diverged_step is not None

    @property
    def steps_run(self) -> int:
        return int(self.loss_history.size - 1)

    @property
    def final_kernel(self) -> np.ndarray:
        """w at the last entry of loss_history."""
        return self.kernels[-1]

    def snapshots(self, count: int = MAX_SNAPSHOTS) -> Snapshots:
        """The learned kernel and its loss at ≤ ``count`` evenly spaced steps, first and last included."""
        steps = evenly_spaced(self.steps_run, count)
        return Snapshots(steps, "step", {"kernel": self.kernels[steps], "loss": self.loss_history[steps]})


def fit_kernel(x, target, kernel_shape, lr: float, steps: int, stride: int = 1, padding: int = 0,
               seed: int = 0, *, init_std: float = 0.1, blowup: float = 1e6) -> KernelFit:
    """Gradient descent w ← w − η ∇L(w) on L(w) = ½‖conv(x, w) − t‖², from w_0 ~ N(0, init_std²).

    Stops early, with ``diverged_step`` set, at the first step t where L(w_t) is not finite or
    exceeds ``blowup`` · L(w_0); the history then ends at the last finite loss and
    ``final_kernel`` is the kernel that had it, so nothing returned is NaN or infinite.
    """
    x, target = as_image("x", x), as_image("target", target)
    kernel_shape = _kernel_shape(kernel_shape)
    shape = output_shape(x.shape, kernel_shape, stride, padding)
    stride, padding, steps = int(stride), int(padding), whole("steps", steps, 0)
    if target.shape != shape:
        raise ValueError(f"target has shape {target.shape}, but conv(x, w) has shape {shape} "
                         f"for a {x.shape} image, a {kernel_shape} kernel, stride {stride}, "
                         f"padding {padding}")
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"the learning rate must be a finite number > 0, got {lr}")
    forward, gradient = _forward_and_gradient(pad_image(x, padding), kernel_shape, stride)
    w = np.random.default_rng(seed).normal(0.0, init_std, kernel_shape)
    losses, kernels, diverged_step = [], [], None
    with np.errstate(over="ignore", invalid="ignore"), single_blas_thread():
        for t in range(steps + 1):
            # r = conv(x, w) − t
            residual = forward(w) - target
            # L(w) = ½ ‖r‖²
            loss = 0.5 * float(np.sum(residual * residual))
            if not np.isfinite(loss) or not np.all(np.isfinite(w)):
                diverged_step = t
                break
            losses.append(loss)
            kernels.append(w)
            if loss > blowup * max(losses[0], np.finfo(float).tiny):
                diverged_step = t
                break
            if t == steps:
                break
            # w ← w − η ∇L(w),  ∇L(w) = Σ r[i, j] x̃[i·s + m, j·s + n]
            w = w - lr * gradient(residual)
    return KernelFit(np.array(losses), np.array(kernels), float(lr),
                     learning_rate_bounds(x, kernel_shape, stride, padding).stable_limit, diverged_step)


@dataclass(frozen=True)
class KernelLesson:
    """The page's "learn the kernel" panel: a run at the chosen η and one past the stable limit."""

    true_kernel: np.ndarray
    target: np.ndarray  # t = conv(x, w_true)
    bounds: LearningRateBounds
    fit: KernelFit  # at η = lr_fraction · 2/λ_max
    kernel_error: np.ndarray  # max |w_t − w_true| at every step of fit
    too_high: KernelFit  # the same run at η = too_high_fraction · 2/λ_max


def kernel_lesson(x, true_kernel, lr_fraction: float, steps: int, stride: int = 1,
                  padding: int = 0, seed: int = 0, too_high_fraction: float = 1.2) -> KernelLesson:
    """Hide ``true_kernel`` in t = conv(x, w_true) and recover it by gradient descent.

    The learning rate is given as a fraction of the stable limit 2/λ_max of this image, so the same
    slider value means the same thing on every image: below 1 it converges, above 1 it diverges.
    """
    true_kernel = as_image("true kernel", true_kernel)
    for name, value in (("lr_fraction", lr_fraction), ("too_high_fraction", too_high_fraction)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value}")
    x = as_image("x", x)
    output_shape(x.shape, true_kernel.shape, stride, padding)
    # t = conv(x, w_true)
    target = correlate(pad_image(x, int(padding)), true_kernel, int(stride))
    # thousands of thin products A w, Aᵀ r and a Gram matrix: one BLAS thread (see calc_core.common.blas_threads;
    # with OpenBLAS's threads a 5 × 5 kernel on a busy 2-core machine ran 5–10× slower)
    with single_blas_thread():
        bounds = learning_rate_bounds(x, true_kernel.shape, stride, padding)
        if not np.isfinite(bounds.stable_limit):
            raise ValueError("the image is all zeros, so the loss does not depend on the kernel")
        fits = [fit_kernel(x, target, true_kernel.shape, fraction * bounds.stable_limit, steps,
                           stride, padding, seed) for fraction in (lr_fraction, too_high_fraction)]
    # max |w_t − w_true|
    error = np.abs(fits[0].kernels - true_kernel).max(axis=(1, 2))
    return KernelLesson(true_kernel, target, bounds, fits[0], error, fits[1])
