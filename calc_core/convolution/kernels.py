"""Kernels and images for the convolution page: a small kernel library, synthetic test images,
seeded noise, and the steps that turn a photograph (decoded by the page) into a small grayscale
array in [0, 1].

Every image this module returns is a float64 2-D array scaled to [0, 1] (before noise), so that
learning rates mean the same thing on every image (see ``calc_core.convolution.learning``).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

_SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])

#: name → 3×3 kernel (read-only; ``make_kernel`` returns a copy).
KERNELS = {
    "sobel_x": _SOBEL_X,  # ∂/∂column, smoothed along rows
    "sobel_y": _SOBEL_X.T.copy(),  # ∂/∂row, smoothed along columns
    "box_blur": np.full((3, 3), 1.0 / 9.0),
    "gaussian": np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16.0,  # binomial ≈ Gaussian, σ ≈ 0.85
    "sharpen": np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
    "laplacian": np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),
    "identity": np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
}
for _kernel in KERNELS.values():
    _kernel.flags.writeable = False

KERNEL_LABELS = {
    "sobel_x": "Sobel x (vertical edges)",
    "sobel_y": "Sobel y (horizontal edges)",
    "box_blur": "Box blur",
    "gaussian": "Gaussian blur",
    "sharpen": "Sharpen",
    "laplacian": "Laplacian",
    "identity": "Identity",
    "random": "Random (seeded)",
}
KERNEL_NAMES = tuple(KERNEL_LABELS)
SYNTHETIC_IMAGES = ("checkerboard", "circle", "bars")


def make_kernel(name: str, seed: int = 0) -> np.ndarray:
    """A fresh float64 copy of a library kernel; "random" is a seeded 3×3 draw from N(0, 1)."""
    if name == "random":
        return np.random.default_rng(seed).standard_normal((3, 3))
    if name not in KERNELS:
        raise ValueError(f"unknown kernel {name!r}; choose one of {list(KERNEL_NAMES)}")
    return KERNELS[name].copy()


#: Largest kernel ``parse_kernel`` accepts, per side.
MAX_KERNEL_SIDE = 5


def parse_kernel(text: str) -> np.ndarray:
    """A kernel typed as rows separated by ";" (or new lines), numbers by "," or spaces:
    ``"0, 1, 0; 1, -4, 1; 0, 1, 0"``. Any rectangle up to 5 × 5; fractions such as ``1/9`` are
    accepted. Raises ValueError with a message that points at the first problem."""
    rows = [row.strip() for row in str(text).replace("\n", ";").split(";")]
    while rows and not rows[-1]:  # a trailing ";" is harmless
        rows.pop()
    if not rows:
        raise ValueError("the kernel is empty: type rows of numbers, e.g. 0, 1, 0; 1, -4, 1; 0, 1, 0")
    values = []
    for r, row in enumerate(rows, start=1):
        entries = [e for e in row.replace(",", " ").split() if e]
        if not entries:
            raise ValueError(f"row {r} of the kernel is empty")
        values.append([_kernel_entry(entry, r) for entry in entries])
    widths = {len(row) for row in values}
    if len(widths) > 1:
        counts = ", ".join(f"row {r}: {len(row)}" for r, row in enumerate(values, start=1))
        raise ValueError(f"every row of the kernel needs the same number of entries ({counts})")
    if len(values) > MAX_KERNEL_SIDE or len(values[0]) > MAX_KERNEL_SIDE:
        raise ValueError(f"the kernel is {len(values)}×{len(values[0])}; the largest allowed is "
                         f"{MAX_KERNEL_SIDE}×{MAX_KERNEL_SIDE}")
    return np.array(values, dtype=float)


def _kernel_entry(entry: str, row: int) -> float:
    try:
        numerator, _, denominator = entry.partition("/")
        value = float(numerator) / float(denominator) if denominator else float(numerator)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{entry!r} in row {row} of the kernel is not a number") from None
    if not np.isfinite(value) or abs(value) > 1e6:
        raise ValueError(f"{entry!r} in row {row} of the kernel must be a finite number of size at most 1e6")
    return value


def format_kernel(kernel) -> str:
    """The text ``parse_kernel`` reads back: ``"-1, 0, 1; -2, 0, 2; -1, 0, 1"``."""
    return "; ".join(", ".join(f"{value:.4g}" for value in row) for row in np.asarray(kernel, float))


def _image_shape(size) -> tuple[int, int]:
    shape = (size, size) if np.ndim(size) == 0 else tuple(size)
    if len(shape) != 2 or any(
        isinstance(n, bool) or not float(n).is_integer() or n < 4 or n > 4096 for n in shape
    ):
        raise ValueError(f"image size must be a whole number (or a pair) from 4 to 4096, got {size!r}")
    return int(shape[0]), int(shape[1])


def synthetic_image(name: str, size=64) -> np.ndarray:
    """A synthetic test image in [0, 1]; ``size`` is n (square) or (rows, columns).

    checkerboard: squares of side ≈ min(size)/8. circle: a bright disk of radius 0.3·min(size),
    its rim anti-aliased over one pixel. bars: vertical bars in the top half, horizontal bars in
    the bottom half, so Sobel x and Sobel y each light up one half.
    """
    rows, cols = _image_shape(size)
    r, c = np.mgrid[0:rows, 0:cols]
    if name == "checkerboard":
        side = max(1, round(min(rows, cols) / 8))
        return (((r // side) + (c // side)) % 2).astype(float)
    if name == "circle":
        distance = np.hypot(r - (rows - 1) / 2, c - (cols - 1) / 2)
        return np.clip(0.3 * min(rows, cols) - distance + 0.5, 0.0, 1.0)
    if name == "bars":
        period = max(2, round(min(rows, cols) / 6))
        vertical = (c % period) < period // 2
        horizontal = (r % period) < period // 2
        return np.where(r < rows // 2, vertical, horizontal).astype(float)
    raise ValueError(f"unknown synthetic image {name!r}; choose one of {list(SYNTHETIC_IMAGES)}")


def add_noise(x, noise_std: float, seed: int = 0) -> np.ndarray:
    """x + σ·ε with ε ~ N(0, 1) per pixel, seeded; not clipped, so the noise stays Gaussian."""
    if not (np.isfinite(noise_std) and noise_std >= 0):
        raise ValueError(f"noise level must be a finite number ≥ 0, got {noise_std}")
    x = np.asarray(x, dtype=float)
    return x + noise_std * np.random.default_rng(seed).standard_normal(x.shape)


def to_grayscale(image) -> np.ndarray:
    """Luma 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as PIL's "L" mode) of an RGB(A) or gray array.

    Integer arrays are read on their dtype's full scale (uint8: 0 … 255), floats as they are; an
    alpha channel is dropped.
    """
    array = np.asarray(image)
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3, 4))):
        raise ValueError(
            f"an image must be rows × columns (gray) or rows × columns × 3/4 (RGB/RGBA), "
            f"got shape {array.shape}"
        )
    scale = float(np.iinfo(array.dtype).max) if np.issubdtype(array.dtype, np.integer) else 1.0
    array = array.astype(float) / scale
    if array.ndim == 3:
        array = array[..., 0] if array.shape[2] == 1 else array[..., :3] @ [0.299, 0.587, 0.114]
    return array


def block_average(x, axis: int, factor: int) -> np.ndarray:
    """x (2-D, or rows × columns × channels) averaged over blocks of ``factor`` neighbouring pixels
    along ``axis`` (0 or 1), as float64: ⌊n/factor⌋ blocks, the n mod factor pixels left over split
    between the two ends and dropped (a shift of under half a block). Computed on a view of x, summed
    in float64 without a float copy of x: cheap in time and memory for a 10-megapixel uint8 upload."""
    x = np.asarray(x)
    n = x.shape[axis]
    blocks = n // factor
    start = (n - blocks * factor) // 2
    part = x[start:start + blocks * factor] if axis == 0 else x[:, start:start + blocks * factor]
    return part.reshape(part.shape[:axis] + (blocks, factor) + part.shape[axis + 1:]).sum(
        axis=axis + 1, dtype=float) / factor


def _shrunk_by_blocks(x, shape) -> np.ndarray:
    """x block-averaged by the whole factor ⌊n/target⌋ on each axis where it is ≥ 2, leaving it
    between 1 and 2 times ``shape``; the most shrunk axis first."""
    for axis in sorted((0, 1), key=lambda a: -x.shape[a] / shape[a]):
        factor = x.shape[axis] // shape[axis]
        if factor >= 2:
            x = block_average(x, axis, factor)
    return x


def resize_image(x, shape) -> np.ndarray:
    """Resample a 2-D array to ``shape`` (rows, columns).

    Shrinking by a large factor f first averages blocks of ⌊f⌋ pixels (cost ∝ the pixels, whatever
    f is), leaving an image between 1 and 2 times the target on each axis; only that small image is
    smoothed by a Gaussian (σ = (f′ − 1)/2 for the remaining factor f′ < 2, so fine detail does not
    alias into stripes) and interpolated to the final shape. A Gaussian of σ ≈ f/2 on the full image
    instead costs ∝ pixels × σ: 18 s for a 100,000 × 100 upload.
    """
    rows, cols = _image_shape(shape)
    x = _shrunk_by_blocks(np.asarray(x, dtype=float), (rows, cols))
    factors = np.array(x.shape, float) / (rows, cols)
    sigma = np.maximum(0.0, (factors - 1.0) / 2.0)
    smooth = ndimage.gaussian_filter(x, sigma, mode="nearest") if np.any(sigma > 0) else x
    if smooth.shape == (rows, cols):
        return smooth
    return ndimage.zoom(smooth, (rows / x.shape[0], cols / x.shape[1]), order=1,
                        mode="nearest", grid_mode=True)


#: A range max − min at most this times max(1, |min|, |max|) is rounding, not contrast (``is_constant``).
CONSTANT_TOLERANCE = 1e-9


def is_constant(x) -> bool:
    """Whether the image has no contrast: max − min ≤ 1e-9 · max(1, |min|, |max|).

    Shrinking a blank picture is not exact: block sums of f pixels, the Gaussian and the linear
    interpolation leave ripples of a few ε relative to the values (1.1e-16 on a white 300 × 200
    photo, at most 3.3e-16 measured up to 25 megapixels and factors of 4 000; their bound, the f·ε
    of a sum of f pixels, stays below 1e-11), which scaling to [0, 1] would stretch into a
    black-and-white speckle. Real contrast is far above 1e-9: one gray level of an 8-bit file is
    1/255, two 8-bit colours of different luma differ by at least 1/255 000 ≈ 4e-6, and a float32
    picture cannot resolve a relative step below its ε ≈ 6e-8. The floor 1 makes the tolerance
    absolute for values in the usual [0, 1] units."""
    x = np.asarray(x, dtype=float)
    low, high = float(x.min()), float(x.max())
    return high - low <= CONSTANT_TOLERANCE * max(1.0, abs(low), abs(high))


def normalize_image(x) -> np.ndarray:
    """(x − min) / (max − min), into [0, 1]; an image without contrast (``is_constant``: a single
    value, or one whose range is rounding) becomes all zeros."""
    x = np.asarray(x, dtype=float)
    low, high = float(x.min()), float(x.max())
    return np.zeros_like(x) if is_constant(x) else (x - low) / (high - low)


def prepare_image(image, max_side: int = 64) -> np.ndarray:
    """Grayscale, shrunk (never enlarged) so that its longer side is ``max_side``, scaled to [0, 1]
    (a blank picture, whatever its colour, becomes all zeros: ``normalize_image``).

    A large picture is block-averaged by whole factors before anything else (in its own dtype's
    units, summed in float64), so a 10-megapixel upload never becomes a 10-megapixel float array."""
    array = np.asarray(image)
    to_grayscale(array[:1, :1])  # the shape and dtype checks, on one pixel
    longest = max(array.shape[:2]) if array.ndim >= 2 else 0
    if array.size and longest > max_side:
        shape = tuple(max(4, round(n * max_side / longest)) for n in array.shape[:2])
        unit = float(np.iinfo(array.dtype).max) if np.issubdtype(array.dtype, np.integer) else 1.0
        gray = to_grayscale(_shrunk_by_blocks(array, shape)) / unit
    else:
        shape, gray = None, to_grayscale(array)
    if gray.size == 0 or not np.all(np.isfinite(gray)):
        raise ValueError("the image is empty or contains values that are not finite numbers")
    if shape is not None:
        gray = resize_image(gray, shape)
    return normalize_image(gray)
