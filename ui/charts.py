"""Chart builders shared by the pages: Vega-Lite specs, drawn by :func:`show`.

Each builder takes numpy arrays and returns a Vega-Lite spec (a dict), or None when there is
nothing finite to draw; :func:`show` then says why instead of leaving an empty chart.

Why dicts and not Altair objects: the specs are exactly what Altair would emit, but building and
serializing them through Altair took 15–40 ms per chart on a 2-core machine (schema validation,
deep copies of the data), which made chart building the largest part of a rerun — 10 charts on
the Attention page. Built directly, a spec costs well under a millisecond. Every builder's output
is validated against the Vega-Lite schema Altair ships, in tests/test_ui_*.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import streamlit as st

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#7f7f7f"]
SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"


@dataclass(frozen=True)
class Rule:
    """A horizontal reference line with a legend entry (a baseline, a threshold, a bound)."""

    value: float
    label: str
    color: str = "#7f7f7f"


def show(spec: dict | None, empty_message: str = "Nothing to draw for these settings.", *,
         container=None) -> None:
    """Draw a spec across the container's width (at its own size when it sets a numeric width),
    or say why there is none."""
    where = container or st
    if spec is None:
        where.info(empty_message, icon=":material/info:")
    else:
        fixed = isinstance(spec.get("width"), (int, float))
        where.vega_lite_chart(spec, width="content" if fixed else "stretch")


def field(name: str, kind: str = "quantitative", **more) -> dict:
    """An encoding channel: ``field("x", title="epoch")``."""
    return {"field": name, "type": kind, **more}


def records(**columns) -> list[dict]:
    """Inline chart data from equal-length columns (arrays, lists or scalars); NaN becomes null."""
    lists = {}
    for name, column in columns.items():
        if np.ndim(column) == 0:
            lists[name] = column
            continue
        values = np.asarray(column)
        if values.dtype.kind == "f":
            values = np.where(np.isfinite(values), values, np.nan).astype(object)
            values[values != values] = None  # NaN → null: JSON has no NaN
        lists[name] = values.tolist()
    n = max((len(v) for v in lists.values() if isinstance(v, list)), default=0)
    lists = {k: v if isinstance(v, list) else [v] * n for k, v in lists.items()}
    return [dict(zip(lists, row)) for row in zip(*lists.values())]


def layered(*layers: dict, title: str | None = None, **top) -> dict:
    """A layered spec; ``top`` sets width, height, encoding and the like."""
    spec = {"$schema": SCHEMA, "layer": list(layers), **top}
    if title:
        spec["title"] = title
    return spec


def lines(
    x: Sequence[float],
    series: dict[str, Sequence[float]],
    *,
    x_title: str,
    y_title: str,
    title: str | None = None,
    rules: Sequence[Rule] = (),
    log_y: bool = False,
    colors: Sequence[str] | None = None,
    height: int = 300,
    points: bool = False,
    y_axis: dict | None = None,
) -> dict | None:
    """Several named series over a shared x, with optional reference lines in the same legend.
    ``y_axis`` adds Vega-Lite axis settings (``{"format": ".0e"}``).

    Non-finite values are dropped (a diverged run ends its line instead of breaking the axis).
    Returns None when no series has a finite point.
    """
    x = np.asarray(x, dtype=float)
    rows = []
    for name, values in series.items():
        values = np.asarray(values, dtype=float)
        n = min(len(x), len(values))
        keep = np.isfinite(values[:n]) & np.isfinite(x[:n]) & (values[:n] > 0 if log_y else True)
        rows += records(x=x[:n][keep], y=values[:n][keep], series=name)
    if not rows:
        return None
    finite_rules = [r for r in rules if np.isfinite(r.value) and (r.value > 0 or not log_y)]
    names = list(series) + [rule.label for rule in finite_rules]
    palette = list(colors or PALETTE[: len(series)]) + [rule.color for rule in finite_rules]
    color = field("series", "nominal", title=None, scale={"domain": names, "range": palette},
                  legend={"orient": "bottom"})
    y = field("y", title=y_title, scale={"type": "log"} if log_y else {"zero": False},
              **({"axis": y_axis} if y_axis else {}))
    layers = [{"data": {"values": rows}, "mark": {"type": "line", "point": points},
               "encoding": {"x": field("x", title=x_title), "y": y, "color": color,
                            "tooltip": [field("series", "nominal"), field("x", title=x_title),
                                        field("y", title=y_title, format=".4g")]}}]
    if finite_rules:
        layers.append({"data": {"values": records(y=[r.value for r in finite_rules],
                                                  series=[r.label for r in finite_rules])},
                       "mark": {"type": "rule", "strokeDash": [6, 4]},
                       "encoding": {"y": y, "color": color,
                                    "tooltip": [field("series", "nominal"), field("y", format=".4g")]}})
    return layered(*layers, title=title, height=height)


def scatter_against_identity(x, y, *, x_title: str, y_title: str, title: str | None = None,
                             max_points: int = 1000, seed: int = 0, height: int = 300) -> dict | None:
    """Points (x, y) with the line y = x: a perfect prediction lies on it. Samples large inputs."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size == 0:
        return None
    if x.size > max_points:
        pick = np.random.default_rng(seed).choice(x.size, max_points, replace=False)
        x, y = x[pick], y[pick]
    lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
    x_enc = field("x", title=x_title, scale={"domain": [lo, hi]})
    y_enc = field("y", title=y_title, scale={"domain": [lo, hi]})
    points = {"data": {"values": records(x=x, y=y)}, "mark": {"type": "circle", "size": 18, "opacity": 0.35},
              "encoding": {"x": x_enc, "y": y_enc,
                           "tooltip": [field("x", format=".3f", title=x_title), field("y", format=".3f", title=y_title)]}}
    identity = {"data": {"values": records(x=[lo, hi], y=[lo, hi])},
                "mark": {"type": "line", "color": "#d62728", "strokeDash": [6, 4]},
                "encoding": {"x": x_enc, "y": y_enc}}
    return layered(points, identity, title=title, height=height)


def heatmap(
    matrix,
    *,
    x_labels: Sequence[str] | None = None,
    y_labels: Sequence[str] | None = None,
    x_title: str = "",
    y_title: str = "",
    title: str | None = None,
    diverging: bool = False,
    show_values: bool | None = None,
    value_format: str = ".2f",
    value_title: str = "value",
    height: int | None = None,
    cell: int | None = None,
    domain: tuple[float, float] | None = None,
) -> dict | None:
    """A matrix as coloured cells (row 0 at the top), values written on the cells up to 16×16 by
    default (blank cells — NaN, e.g. masked — get none). ``diverging`` uses a red–blue scale with
    limits symmetric about zero. ``domain`` fixes the colour limits (a quantity with known bounds:
    a row of weights, a softmax Jacobian). ``cell`` fixes the cell size in pixels; otherwise the
    chart takes the container's width."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.size == 0 or not np.any(np.isfinite(matrix)):
        return None
    n_rows, n_cols = matrix.shape
    x_labels = _unique([str(v) for v in (x_labels if x_labels is not None else range(n_cols))])
    y_labels = _unique([str(v) for v in (y_labels if y_labels is not None else range(n_rows))])
    rows, cols = np.divmod(np.arange(matrix.size), n_cols)
    values = matrix.reshape(-1)
    finite = values[np.isfinite(values)]
    if domain is not None:
        scale = {"scheme": "redblue" if diverging else "blues", "domain": list(domain), "reverse": diverging}
        reach = float(max(map(abs, domain)))
    elif diverging:
        reach = float(np.max(np.abs(finite))) or 1.0
        scale = {"scheme": "redblue", "domain": [-reach, reach], "reverse": True}
    else:
        reach = float(finite.max())
        scale = {"scheme": "blues", "domain": [float(finite.min()), reach or 1.0]}
    x = field("col", "ordinal", title=x_title, sort=x_labels,
              axis={"labelAngle": 0 if n_cols <= 12 else -60, "labelOverlap": True})
    y = field("row", "ordinal", title=y_title, sort=y_labels, axis={"labelOverlap": True})
    cells = records(row=np.asarray(y_labels)[rows], col=np.asarray(x_labels)[cols], value=values)
    layers = [{"data": {"values": cells}, "mark": {"type": "rect"},
               "encoding": {"x": x, "y": y, "color": field("value", scale=scale, title=value_title),
                            "tooltip": [field("row", "ordinal", title=y_title or "row"),
                                        field("col", "ordinal", title=x_title or "column"),
                                        field("value", format=".4g", title=value_title)]}}]
    if show_values if show_values is not None else max(n_rows, n_cols) <= 16:
        shown = np.isfinite(values)
        strong = (np.abs(values) if diverging else values)[shown] > 0.6 * reach  # white ink on strong colours
        labelled = records(row=np.asarray(y_labels)[rows[shown]], col=np.asarray(x_labels)[cols[shown]],
                           value=values[shown], ink=np.where(strong, "white", "black"))
        layers.append({"data": {"values": labelled},
                       "mark": {"type": "text", "fontSize": 10 if max(n_rows, n_cols) <= 12 else 8},
                       "encoding": {"x": x, "y": y, "text": field("value", format=value_format),
                                    "color": field("ink", "nominal", legend=None,
                                                   scale={"domain": ["black", "white"], "range": ["black", "white"]})}})
    side = cell or max(12, min(40, 480 // max(n_rows, n_cols)))
    size = {"height": height or side * n_rows}
    if cell:
        size["width"] = side * n_cols
    return layered(*layers, title=title, **size)


def _unique(labels: list[str]) -> list[str]:
    """Make repeated labels distinct (two tokens "the" must be two rows)."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        count = seen.get(label, 0)
        seen[label] = count + 1
        out.append(label if count == 0 else f"{label} ({count + 1})")
    return out


def stacked_contributions(categories: Sequence[str], parts: dict[str, Sequence[float]], *,
                          category_title: str | None, value_title: str, title: str | None = None,
                          bar_step: int = 34) -> dict | None:
    """Horizontal bars split into signed parts (a prediction's b_u, b_i and p·q), with a black tick
    at the total. Negative parts stack to the left of zero."""
    categories = [str(c) for c in categories]
    if not categories:
        return None
    values = [np.asarray(v, float) for v in parts.values()]
    y = field("category", "nominal", title=category_title, sort=categories, axis={"labelOverlap": False})
    bars = {"data": {"values": records(category=categories * len(parts),
                                       part=[name for name in parts for _ in categories],
                                       value=np.concatenate(values))},
            "mark": {"type": "bar"},
            "encoding": {"y": y, "x": field("value", title=value_title, stack="zero"),
                         "color": field("part", "nominal", title=None, sort=list(parts), legend={"orient": "bottom"},
                                        scale={"domain": list(parts), "range": PALETTE[1: len(parts) + 1]}),
                         "tooltip": [field("category", "nominal"), field("part", "nominal"),
                                     field("value", format=".3f")]}}
    ticks = {"data": {"values": records(category=categories, total=np.sum(values, axis=0))},
             "mark": {"type": "tick", "color": "black", "thickness": 3},
             "encoding": {"y": y, "x": field("total"),
                          "tooltip": [field("category", "nominal"), field("total", format=".3f", title="total")]}}
    return layered(bars, ticks, title=title, height={"step": bar_step})
