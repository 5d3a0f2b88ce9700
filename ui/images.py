"""Images on the pages: sample photographs that installed packages ship, the user's PNG/JPEG upload
(decoded defensively), and 2-D arrays drawn as colour-mapped PNGs with their value range.

Kernels and other small matrices are drawn as value cells by ``ui.charts.matrix``.

Drawing: an array becomes RGB through a 256-entry colour table (matplotlib's colour maps), is
enlarged by whole-pixel repetition so small images stay crisp, gets a colour bar strip below, and
is sent as one PNG — a few milliseconds for a 256 × 256 array, against ≈ 100 ms for ``st.pyplot``.
Gray for images (black = min, white = max); red–blue for signed quantities, white at zero and the
limits ±max|value|, symmetric about zero so the sign of every pixel reads at a glance.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
from matplotlib import cbook, colormaps
from PIL import Image, ImageOps

from calc_core.convolution import kernels

MAX_UPLOAD_MB = 5
MAX_UPLOAD_PIXELS = 25_000_000  # a 6000 × 4000 camera photo; far more pixels is a decompression bomb
UPLOAD = "upload"
FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG"}  # MPO: the multi-picture JPEG some cameras write


@dataclass(frozen=True)
class Sample:
    file: str  # in matplotlib's sample data
    label: str


SAMPLES = {"photo": Sample("grace_hopper.jpg", "Photograph (Grace Hopper)")}


def sample_path(name: str) -> Path | None:
    """Where a sample image is installed, or None when the package does not ship it."""
    try:
        path = Path(cbook.get_sample_data(SAMPLES[name].file, asfileobj=False))
    except (KeyError, OSError, ValueError):
        return None
    return path if path.is_file() else None


def available_samples() -> tuple[str, ...]:
    return tuple(name for name in SAMPLES if sample_path(name) is not None)


# ----------------------------------------------------------------------------- decoding

def decode_image(data: bytes, *, max_bytes: int | None = MAX_UPLOAD_MB * 2**20,
                 max_pixels: int = MAX_UPLOAD_PIXELS, shrink_to: int | None = None) -> np.ndarray:
    """The pixels of a PNG or JPEG file: uint8 rows × columns (gray) or rows × columns × 3 (RGB).

    Transparent pixels are put on white, and a phone photo's EXIF orientation is applied.
    ``shrink_to`` lets a large picture be made smaller while it is decoded, still at least that many
    pixels a side: a JPEG decodes at a reduced scale, then any picture is box-averaged by a whole
    factor (PIL's ``reduce``) — fast, and the pixel array stays small, for pictures that will be
    shrunk anyway. (A long thin strip keeps its size here; calc_core's resize handles it.) Raises ValueError with a message for the
    person who uploaded the file: empty, too large, not an image, another format, too many pixels,
    damaged or cut short.
    """
    if not data:
        raise ValueError("The file is empty.")
    if max_bytes is not None and len(data) > max_bytes:
        size, limit = over_limit(len(data), max_bytes, 2**20, "MB", "bytes", digits=1)
        raise ValueError(f"The file is {size}; the limit is {limit}.")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise ValueError("The image has far too many pixels to open safely.") from None
    except Exception:  # noqa: BLE001 - PIL signals "not an image" in several ways
        raise ValueError("This file is not a PNG or JPEG image: its contents are not a picture "
                         "(whatever its name says).") from None
    if image.format not in FORMATS:
        raise ValueError(f"This is a {image.format} image; upload a PNG or JPEG.")
    width, height = image.size
    if width * height > max_pixels:
        size, limit = over_limit(width * height, max_pixels, 10**6, "megapixels", "pixels")
        raise ValueError(f"The image is {width:,} × {height:,} = {size}; the limit is {limit}.")
    try:
        if shrink_to and FORMATS[image.format] == "JPEG":
            image.draft("RGB", (shrink_to, shrink_to))
        image.load()
        image = ImageOps.exif_transpose(image)
        if shrink_to:  # made small first: flattening or rescaling a full 25-megapixel picture cost seconds
            image = _reduced(image, shrink_to)
        return np.asarray(_plain(image))
    except Exception as exc:  # noqa: BLE001 - truncated data, broken chunks, bad EXIF
        raise ValueError(f"The image could not be decoded: it is damaged or cut short ({exc}).") from None


def over_limit(count: int, limit: int, unit: int, name: str, base: str, digits: int = 0) -> tuple[str, str]:
    """``count`` and ``limit`` (whole numbers, count > limit) in ``unit`` s, as the two texts of "it is
    …; the limit is …", the first always reading larger than the second: the limit exact (up to 6
    decimals, its trailing zeros dropped), the count with the fewest decimals from ``digits`` on
    whose rounding exceeds the exact limit — 25.2 megapixels against 25, 25.000001 against 25 —
    and both as exact counts of ``base`` units when 6 decimals of ``unit`` cannot show them apart."""
    exact = f"{limit / unit:.6f}".rstrip("0").rstrip(".")
    if float(exact) == limit / unit:
        for places in range(digits, 7):
            shown = f"{count / unit:.{places}f}"
            if float(shown) > limit / unit:
                return f"{shown} {name}", f"{exact} {name}"
    return f"{count:,} {base}", f"{limit:,} {base}"


def _reduced(image: Image.Image, side: int) -> Image.Image:
    """The image box-averaged by the largest whole factor that keeps both sides ≥ ``side`` (as a
    JPEG's draft mode does; one factor for both, so the aspect ratio stays). Colours are averaged
    with their opacity (premultiplied), so transparent pixels do not darken what is next to them;
    16-bit gray is averaged as 32-bit integers, a palette image as its colours."""
    factor = min(image.size) // side
    if factor < 2:
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        return rgba.convert("RGBa").reduce(factor).convert("RGBA")
    if image.mode.startswith("I;16"):
        image = image.convert("I")
    elif image.mode in ("P", "1"):
        image = image.convert("RGB" if image.mode == "P" else "L")
    return image.reduce(factor)


def _plain(image: Image.Image) -> Image.Image:
    """An "L" (gray) or "RGB" image: transparency flattened onto white, 16-bit gray to 8 bits."""
    if image.mode in ("L", "RGB"):
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        canvas = Image.new("RGBA", image.size, "white")
        canvas.alpha_composite(image.convert("RGBA"))
        return canvas.convert("RGB")
    if image.mode.startswith(("I", "F")):  # 16-bit or float gray: rescale to 0 … 255
        values = np.asarray(image, dtype=float)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255 if high > low else np.zeros_like(values)
        return Image.fromarray(scaled.round().astype(np.uint8))
    return image.convert("RGB")


@st.cache_data(max_entries=16, show_spinner=False)
def gray_image(source: str, max_side: int, upload: bytes | None = None) -> np.ndarray:
    """A grayscale image in [0, 1] whose longer side is ``max_side`` (photos are never enlarged).

    ``source``: a synthetic image of ``calc_core.convolution.kernels`` (square, ``max_side`` a side), a name in
    ``SAMPLES``, or ``UPLOAD`` with the file's bytes in ``upload``.
    """
    if source in kernels.SYNTHETIC_IMAGES:
        return kernels.synthetic_image(source, max_side)
    if source == UPLOAD:
        if upload is None:
            raise ValueError("Upload a PNG or JPEG image first.")
        return kernels.prepare_image(decode_image(upload, shrink_to=2 * max_side), max_side)
    path = sample_path(source)
    if path is None:
        file = SAMPLES[source].file if source in SAMPLES else source
        raise ValueError(f"The sample image {file!r} is not installed here; choose another image.")
    return kernels.prepare_image(decode_image(path.read_bytes(), max_bytes=None, shrink_to=2 * max_side), max_side)


# ----------------------------------------------------------------------------- drawing

@dataclass(frozen=True)
class Scale:
    """How values became colours: the colour map and the values at its two ends."""

    diverging: bool
    low: float
    high: float

    def describe(self) -> str:
        if self.low == self.high:
            return f"every value is {self.low + 0.0:.3g}"  # + 0.0: no "-0"
        if self.diverging:
            return f"blue −{self.high:.3g} · white 0 · red +{self.high:.3g}"
        return f"black {self.low:.3g} · white {self.high:.3g}"


_TABLES: dict[str, np.ndarray] = {}


def _table(name: str) -> np.ndarray:
    """256 × 3 uint8 colours of a matplotlib colour map."""
    if name not in _TABLES:
        _TABLES[name] = (colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3] * 255).round().astype(np.uint8)
    return _TABLES[name]


def is_signed(values) -> bool:
    """Worth a diverging map: the negative values reach at least a fifth of the positive ones."""
    values = np.asarray(values, dtype=float)
    low, high = float(np.min(values)), float(np.max(values))
    return low < 0 and -low >= 0.2 * max(high, 0.0)


def colorize(values, diverging: bool | None = None) -> tuple[np.ndarray, Scale]:
    """RGB uint8 pixels of a 2-D array and the scale used. Non-finite values are drawn as 0.
    ``diverging=None`` chooses red–blue for signed arrays (``is_signed``), gray otherwise."""
    values = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"an image must be a non-empty 2-D array, got shape {values.shape}")
    diverging = is_signed(values) if diverging is None else diverging
    if diverging:
        limit = float(np.max(np.abs(values)))
        scale = Scale(True, -limit, limit)
        unit = 0.5 + 0.5 * values / limit if limit > 0 else np.full(values.shape, 0.5)
        table = _table("RdBu_r")
    else:
        low, high = float(values.min()), float(values.max())
        scale = Scale(False, low, high)
        unit = (values - low) / (high - low) if high > low else np.full(values.shape, 0.5)
        table = _table("gray")
    return table[np.clip(np.rint(unit * 255), 0, 255).astype(np.intp)], scale


def to_png(values, diverging: bool | None = None, min_side: int = 320, bar: bool = True) -> tuple[bytes, Scale]:
    """A PNG of the array (enlarged by whole pixels to at least ``min_side``), with a colour bar strip."""
    rgb, scale = colorize(values, diverging)
    factor = max(1, -(-min_side // max(rgb.shape[:2])))
    rgb = np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)
    if bar:
        table = _table("RdBu_r" if scale.diverging else "gray")
        strip = table[np.linspace(0, 255, rgb.shape[1]).round().astype(np.intp)]
        gap = np.full((max(4, rgb.shape[0] // 40), rgb.shape[1], 3), 255, np.uint8)
        rgb = np.concatenate([rgb, gap, np.repeat(strip[None], max(8, rgb.shape[0] // 24), axis=0)])
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue(), scale


def show_array(values, *, diverging: bool | None = None, caption: str | None = None, container=None) -> Scale:
    """Draw a 2-D array across the container's width, with a colour bar and its range below.
    Returns the scale (the page can state it elsewhere too)."""
    png, scale = to_png(values, diverging)
    text = f"{caption} — {scale.describe()}" if caption else scale.describe()
    (container or st).image(png, caption=text, width="stretch", output_format="PNG")  # "auto" would re-encode as JPEG
    return scale
