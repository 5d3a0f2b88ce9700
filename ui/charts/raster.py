"""A fine grid's heatmap as one picture: the cells coloured here with Vega's own colour scheme, sent
as a PNG in a one-row table and drawn by Vega's image mark between the grid's outer edges; the colour
legend comes from a hidden layer over the colour limits, through the same scheme.

Why: measured in headless Chromium (a page of three 40 × 40 heatmaps, a slider moved), drawing the
cells as rectangles cost ≈ 110 ms a heatmap per redraw (Vega encodes, bounds and paints every cell)
and drawing the same grid as one image ≈ 15 ms. On the lab's pages, where many other elements redraw
too, a cache hit measured ×0.72–0.89 (benchmarks/results/pages_ab.md). The price is the per-cell
tooltip; the grid's values stay in the chart's CSV download. Small matrices with their
values written on the cells stay rectangles (:func:`ui.charts.basic.heatmap`, ``matrix``).

The colours: vega-scale's stops for the scheme (copied below from the Vega that Streamlit ships),
interpolated piecewise linearly in RGB as Vega interpolates a continuous scheme, the value's place
between the colour limits clamped to [0, 1]; a non-finite cell is transparent. A test renders the
picture and Vega's own rectangles over the same values through Vega and compares the pixels.

Rows: ``values[i, j]`` is the cell at the i-th y (from the bottom) and the j-th x, on a uniform grid.
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import pandas as pd

from ui.charts.core import field, layer, table

# vega-scale's continuous schemes (hex stops, low → high), as in Streamlit's bundled Vega
SCHEMES = {
    "blues": "cfe1f2bed8eca8cee58fc1de74b2d75ba3cf4592c63181bd206fb2125ca40a4a90",
    "redblue": "8c0d25bf363adf745ef4ae91fbdbc9f2efeed2e5ef9dcae15da2cb2f78b3134b85",
}


def _stops(scheme: str) -> np.ndarray:
    text = SCHEMES[scheme]
    return np.array([[int(text[k + c: k + c + 2], 16) for c in (0, 2, 4)] for k in range(0, len(text), 6)], float)


def colours(values, scheme: str, domain: tuple[float, float], *, reverse: bool = False) -> np.ndarray:
    """RGBA bytes (…, 4) of ``values`` on ``scheme`` between the colour limits ``domain`` (clamped),
    low → high, or high → low with ``reverse``; non-finite values transparent."""
    values = np.asarray(values, dtype=float)
    stops = _stops(scheme)
    low, high = map(float, domain)
    finite = np.isfinite(values)
    # t: the value's place between the limits, 0 at low and 1 at high
    t = np.clip((np.where(finite, values, low) - low) / ((high - low) or 1.0), 0.0, 1.0)
    t = 1.0 - t if reverse else t
    # piecewise linear between the stops: stop k sits at t = k / (K − 1)
    position = t * (len(stops) - 1)
    k = np.minimum(np.floor(position).astype(int), len(stops) - 2)
    share = (position - k)[..., None]
    rgb = stops[k] * (1.0 - share) + stops[k + 1] * share
    alpha = np.where(finite, 255.0, 0.0)[..., None]
    return np.round(np.concatenate([rgb, alpha], axis=-1)).astype(np.uint8)


def png(rgba: np.ndarray) -> bytes:
    """An RGBA image (rows from the top) as PNG bytes: 8 bits a channel, no filter, zlib."""
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    height, width, _ = rgba.shape
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rgba.reshape(height, -1)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def picture(values, scheme: str, domain: tuple[float, float], *, reverse: bool = False) -> str:
    """The grid as a PNG data URL, its first row (the lowest y) at the bottom."""
    rgba = colours(np.asarray(values, dtype=float)[::-1], scheme, domain, reverse=reverse)
    return "data:image/png;base64," + base64.b64encode(png(rgba)).decode("ascii")


def limits(values) -> tuple[float, float] | None:
    """The finite range of ``values`` as colour limits (a flat grid gets a unit range), or None."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return None
    low, high = float(finite.min()), float(finite.max())
    return low, high if high > low else low + 1.0


def outer_edges(centres) -> tuple[float, float]:
    """The outer edges of a uniform grid's cells, each centred on its grid point. A picture's pixels
    are equal, so a grid whose spacing varies (log-spaced, say) cannot be drawn as one: ValueError."""
    centres = np.asarray(centres, dtype=float)
    steps = np.diff(centres)
    if centres.size < 2 or not np.allclose(steps, steps[0], rtol=1e-6, atol=0.0) or steps[0] == 0:
        raise ValueError("a heatmap picture needs at least two equally spaced grid points")
    return float(centres[0] - steps[0] / 2), float(centres[-1] + steps[0] / 2)


def heat_layers(values, x_range: tuple[float, float], y_range: tuple[float, float], x: dict, y: dict, *,
                scheme: str, value_title: str, domain: tuple[float, float] | None = None, reverse: bool = False,
                opacity: float = 1.0, legend: dict | None = None,
                name: str = "_heat") -> tuple[list[dict], dict[str, pd.DataFrame]]:
    """The layers and tables of a heatmap of ``values`` (rows over y, columns over x) spanning the
    outer edges ``x_range`` × ``y_range`` on the x and y encodings given (their fields are set here).
    The colour limits are ``domain`` (written in the spec) or the values' finite range (in the data,
    so a new grid of any range updates the chart in place); ([], {}) when nothing is finite. The tables'
    names start with "_": a picture is not data, and the CSV download takes the grid from the builder's
    ``spec[EXPORT]`` (:func:`grid_table`)."""
    values = np.asarray(values, dtype=float)
    low_high = tuple(map(float, domain)) if domain is not None else limits(values)
    if values.ndim != 2 or values.size == 0 or low_high is None:
        return [], {}
    (x_lo, x_hi), (y_lo, y_hi) = (tuple(map(float, r)) for r in (x_range, y_range))
    scale = {"scheme": scheme, **({"reverse": True} if reverse else {})}
    if domain is not None:  # values past the limits take the end colours, in the picture and the legend
        scale.update(domain=list(low_high), clamp=True)
    position = {"x": {**x, "field": "x"}, "y": {**y, "field": "y"}, "x2": {"field": "x2"}, "y2": {"field": "y2"}}
    # y is the top edge and y2 the bottom one: Vega draws the picture's first row at y
    image = layer(name, {"type": "image", "aspect": False, "smooth": False, "opacity": opacity, "clip": True},
                  **position, url=field("url", "nominal"))
    tables = {name: table(x=[x_lo], x2=[x_hi], y=[y_hi], y2=[y_lo],
                          url=[picture(values, scheme, low_high, reverse=reverse)])}
    # the legend: two invisible zero-size cells at the colour limits, through the same scale
    key = f"{name}_limits"
    color = field("value", title=value_title, scale=scale, **({"legend": legend} if legend is not None else {}))
    tables[key] = table(x=[x_lo, x_lo], x2=[x_lo, x_lo], y=[y_lo, y_lo], y2=[y_lo, y_lo], value=list(low_high))
    hidden = layer(key, {"type": "rect", "opacity": 0}, **position, color=color)
    return [image, hidden], tables


def grid_table(values, x_centres, y_centres, *, x: str = "x", y: str = "y", value: str = "value") -> pd.DataFrame:
    """The grid's cells as rows (x, y, value) for the chart's CSV download."""
    values = np.asarray(values, dtype=float)
    X, Y = np.meshgrid(np.asarray(x_centres, dtype=float), np.asarray(y_centres, dtype=float))
    return pd.DataFrame({x: X.ravel(), y: Y.ravel(), value: values.ravel()})
