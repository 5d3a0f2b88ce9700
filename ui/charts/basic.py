"""The general builders: lines over a shared x, a scatter against y = x, heatmaps, stacked parts.

Each takes numpy arrays and returns a spec (see :mod:`ui.charts.core`), or None when there is
nothing finite to draw.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ui.charts.core import CELL_FONT_MAX, PALETTE, Rule, chart, field, layer, legend_below, table


def _legend_color(names: list[str], colors: list[str], **legend) -> dict:
    """The series' colours, named in a legend below the chart (:func:`ui.charts.core.legend_below`: two
    to a row only where two fit a narrow chart; a row of three was cut off at the right of a chart a
    third of the page wide, "valu", "noise")."""
    return field("series", "nominal", title=None, scale={"domain": names, "range": colors},
                 legend=legend_below(names, **legend))


def rule_layer(rules: Sequence[Rule], y: dict, color: dict) -> tuple[dict, pd.DataFrame] | None:
    """Horizontal reference lines sharing the series legend."""
    if not rules:
        return None
    data = table(y=[r.value for r in rules], series=[r.label for r in rules])
    return layer("rules", {"type": "rule", "strokeDash": [6, 4]}, y=y, color=color,
                 tooltip=[field("series", "nominal"), field("y", format=".4g")]), data


def lines(x: Sequence[float], series: dict[str, Sequence[float]], *, x_title: str, y_title: str,
          title: str | None = None, rules: Sequence[Rule] = (), log_y: bool = False,
          colors: Sequence[str] | None = None, height: int = 300, points: bool = False,
          y_axis: dict | None = None, marker: float | None = None, marker_label: str = "now") -> dict | None:
    """Named series over a shared x, reference ``rules`` in the same legend, and an optional vertical
    ``marker`` (the step a scrubber shows). Non-finite values (and ≤ 0 on a log axis) are dropped;
    None when no series has a finite point."""
    x = np.asarray(x, dtype=float)
    frames = []
    for name, values in series.items():
        values = np.asarray(values, dtype=float)
        n = min(len(x), len(values))
        y = np.where(values[:n] > 0, values[:n], np.nan) if log_y else values[:n]
        frames.append(table(x=x[:n], y=y, series=name))
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if data.empty:
        return None
    finite_rules = [r for r in rules if np.isfinite(r.value) and (r.value > 0 or not log_y)]
    names = list(series) + [r.label for r in finite_rules]
    color = _legend_color(names, list(colors or PALETTE[: len(series)]) + [r.color for r in finite_rules])
    y_enc = field("y", title=y_title, scale={"type": "log"} if log_y else {"zero": False},
                  **({"axis": y_axis} if y_axis else {}))
    x_enc = field("x", title=x_title)
    layers = [layer("series", {"type": "line", "point": points}, x=x_enc, y=y_enc, color=color,
                    tooltip=[field("series", "nominal"), field("x", title=x_title, format=".4g"),
                             field("y", title=y_title, format=".4g")])]
    tables = {"series": data}
    extra = rule_layer(finite_rules, y_enc, color)
    if extra:
        layers.append(extra[0])
        tables["rules"] = extra[1]
    if marker is not None and np.isfinite(marker):
        tables["marker"] = table(x=[float(marker)], label=marker_label)
        layers.append(layer("marker", {"type": "rule", "color": "#222222", "strokeWidth": 2}, x=x_enc,
                            tooltip=[field("label", "nominal", title="marked")]))
    return chart(*layers, data=tables, title=title, height=height)


def scatter_against_identity(x, y, *, x_title: str, y_title: str, title: str | None = None,
                             max_points: int = 300, seed: int = 0, height: int = 300) -> dict | None:
    """Points (x, y) with the line y = x: a perfect prediction lies on it. Large inputs are sampled
    (a few hundred points read as well as thousands and redraw ~10× faster in the browser). The
    axes' extent comes from the data (the line spans both), never from the spec, so moving a slider
    updates the chart in place."""
    x, y = np.asarray(x, dtype=float).reshape(-1), np.asarray(y, dtype=float).reshape(-1)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size == 0:
        return None
    if x.size > max_points:
        pick = np.sort(np.random.default_rng(seed).choice(x.size, max_points, replace=False))
        x, y = x[pick], y[pick]
    lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    x_enc = field("x", title=x_title, scale={"zero": False})
    y_enc = field("y", title=y_title, scale={"zero": False})
    points = layer("points", {"type": "circle", "size": 36, "opacity": 0.8, "stroke": "white", "strokeWidth": 0.5},
                   x=x_enc, y=y_enc,
                   tooltip=[field("x", format=".4g", title=x_title), field("y", format=".4g", title=y_title)])
    # the line under the points: on a pass every point lies on it, and drawn over them it hid them
    identity = layer("identity", {"type": "line", "color": "#d62728", "strokeDash": [6, 4], "strokeWidth": 1,
                                  "opacity": 0.7}, x=x_enc, y=y_enc)
    return chart(identity, points, data={"points": table(x=x, y=y), "identity": table(x=[lo, hi], y=[lo, hi])},
                 title=title, height=height)


def _unsigned_zero(text: str) -> str:
    """"-0.00" (a tiny negative rounded away) written as "0.00"."""
    return text[1:] if text.startswith("-") and not any(ch in "123456789" for ch in text) else text


CELL_FONT = (9, 12)  # pixels: the smallest cell text worth writing, and the largest
DIGIT = 0.55  # a character's width in ems (Source Sans digits ≈ 0.5, the minus sign less)


def cell_text(data: str, x: dict, y: dict, n_rows: int, n_cols: int) -> dict:
    """The values written on a heatmap's cells, sized to the cells as drawn: the font is the largest
    (up to 12 pixels — the signal ``cell_font_max``, which the spec defines with ``cell_font_param()``
    and the presenter view raises) at which the longest label of table ``data`` fills at most 80% of its cell's width
    and half its height, reckoned in the browser from the plot's ``width`` and ``height`` and the number of rows and
    columns. Where the labels (column ``label``) do not fit at 9 pixels their compact form does
    ("-.104" for "-0.104", ".25" for "0.25"), or nothing is written — the pointer still shows every value.
    Cells too small for numbers ran them into each other (a 5 × 5 Jacobian in a third of the page)."""
    low, high = CELL_FONT
    cell_w, cell_h = f"width / {n_cols}", f"height / {n_rows}"

    def size(chars: str) -> str:  # the cap is the spec's signal: the presenter view raises it
        return f"min({CELL_FONT_MAX}, 0.5 * {cell_h}, 0.8 * {cell_w} / ({DIGIT} * max(datum.{chars}, 1)))"

    transform = [
        {"calculate": "replace(datum.label, /^(-?)0[.]/, '$1.')", "as": "short"},
        {"calculate": "length(datum.label)", "as": "_label_chars"},
        {"calculate": "length(datum.short)", "as": "_short_chars"},
        {"joinaggregate": [{"op": "max", "field": "_label_chars", "as": "_label_most"},
                           {"op": "max", "field": "_short_chars", "as": "_short_most"}]},
        {"calculate": size("_label_most"), "as": "_label_size"},
        {"calculate": size("_short_most"), "as": "_short_size"},
        {"calculate": f"datum._label_size >= {low} ? datum.label : datum._short_size >= {low} ? datum.short : ''",
         "as": "_text"},
        {"calculate": f"datum._label_size >= {low} ? datum._label_size : datum._short_size", "as": "_size"},
    ]
    text = layer(data, {"type": "text"}, x=x, y=y, text=field("_text", "nominal"),
                 size=field("_size", scale=None, legend=None),
                 # a condition, not a second scale on the colour channel (which drew a stray legend)
                 color={"condition": {"test": "datum.ink === 'white'", "value": "white"}, "value": "black"})
    return {**text, "transform": transform}


def cell_font_param() -> dict:
    """The top-level param ``cell_text`` sizes against: the largest cell number, in pixels."""
    return {"name": CELL_FONT_MAX, "value": CELL_FONT[1]}


def _d3_format(value: float, spec: str) -> str:
    """``value`` written as the d3 format ``spec`` would in the browser, for the specs the lab uses:
    Python's, and d3's "~" (trailing zeros trimmed: ".4~f" writes 0.5 as "0.5", 1 as "1")."""
    if "~" not in spec:
        return format(value, spec)
    text = format(value, spec.replace("~", ""))
    return text.rstrip("0").rstrip(".") if "." in text and "e" not in text else text


def _unique(labels: list[str]) -> list[str]:
    """Make repeated labels distinct (two tokens "the" must be two rows)."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        count = seen.get(label, 0)
        seen[label] = count + 1
        out.append(label if count == 0 else f"{label} ({count + 1})")
    return out


def cell_size(n_rows: int, n_cols: int) -> int:
    """Square-ish cells: 12–40 pixels, smaller for bigger matrices."""
    return max(12, min(40, 480 // max(n_rows, n_cols, 1)))


def heatmap(matrix, *, x_labels: Sequence[str] | None = None, y_labels: Sequence[str] | None = None,
            x_title: str = "", y_title: str = "", title: str | list[str] | None = None, diverging: bool = False,
            show_values: bool | None = None, value_format: str = ".2f", value_title: str = "value",
            height: int | None = None, cell: int | None = None,
            domain: tuple[float, float] | None = None, legend: dict | None = None) -> dict | None:
    """A matrix as coloured cells (row 0 at the top); values written on the cells up to 16×16 by
    default (NaN cells — masked — stay blank). ``diverging`` uses red–blue, limits symmetric about 0.
    ``domain`` fixes the colour limits; ``legend`` sets the colour legend's properties; ``cell`` fixes the cell size in pixels (otherwise the chart
    takes the container's width, and ``height`` defaults to cell_size × rows plus room for axes).

    Everything that depends on the values (the colour limits when ``domain`` is not given, white or
    black ink) is in the data, not the spec: a new matrix of the same shape updates the chart in place.
    """
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.size == 0 or not np.any(np.isfinite(matrix)):
        return None
    n_rows, n_cols = matrix.shape
    x_labels = _unique([str(v) for v in (x_labels if x_labels is not None else range(n_cols))])
    y_labels = _unique([str(v) for v in (y_labels if y_labels is not None else range(n_rows))])
    rows, cols = np.divmod(np.arange(matrix.size), n_cols)
    values = matrix.reshape(-1)
    finite = values[np.isfinite(values)]
    scheme = {"scheme": "redblue", "reverse": True} if diverging else {"scheme": "blues"}
    if domain is not None:
        scale = {**scheme, "domain": list(domain)}
        low, high = map(float, domain)
    elif diverging:
        high = float(np.max(np.abs(finite))) or 1.0
        low, scale = -high, scheme
    else:
        low, high = float(finite.min()), float(finite.max())
        high, scale = (high if high > low else low + 1.0), scheme
    reach = max(abs(low), abs(high)) if diverging else high
    x = field("col", "ordinal", title=x_title, sort=x_labels,
              axis={"labelAngle": 0 if n_cols <= 12 else -60, "labelOverlap": True})
    y = field("row", "ordinal", title=y_title, sort=y_labels, axis={"labelOverlap": True})
    shown = np.isfinite(values)
    strong = (np.abs(values) if diverging else values)[shown] > 0.6 * reach  # white ink on strong colours
    cells = pd.DataFrame({"row": np.asarray(y_labels)[rows[shown]], "col": np.asarray(x_labels)[cols[shown]],
                          "value": values[shown], "ink": np.where(strong, "white", "black")})
    color = field("value", scale=scale, title=value_title, **({"legend": legend} if legend is not None else {}))
    layers = [layer("cells", "rect", x=x, y=y, color=color,
                    tooltip=[field("row", "ordinal", title=y_title or "row"),
                             field("col", "ordinal", title=x_title or "column"),
                             field("value", format=".4g", title=value_title)])]
    tables = {"cells": cells}
    if domain is None:  # the colour limits, as two invisible cells: the scale spans them
        tables["_limits"] = pd.DataFrame({"row": [y_labels[0]] * 2, "col": [x_labels[0]] * 2, "value": [low, high]})
        layers.append(layer("_limits", {"type": "rect", "opacity": 0}, x=x, y=y, color=color))
    if show_values if show_values is not None else max(n_rows, n_cols) <= 16:
        labels = [_unsigned_zero(_d3_format(v, value_format)) for v in values[shown]]
        cells["label"] = labels
        layers.append(cell_text("cells", x, y, n_rows, n_cols))
        size_params = {"params": [cell_font_param()]}
    else:
        size_params = {}
    side = cell or cell_size(n_rows, n_cols)
    size = {"height": height or side * n_rows + (110 if n_cols > 12 else 75)}
    if cell:
        size = {"height": side * n_rows, "width": side * n_cols, "autosize": {"type": "pad"}}
    return chart(*layers, data=tables, title=title, **size, **size_params)


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
    bars = layer("parts", "bar", y=y, x=field("value", title=value_title, stack="zero"),
                 color=field("part", "nominal", title=None, sort=list(parts), legend=legend_below(parts),
                             scale={"domain": list(parts), "range": PALETTE[1: len(parts) + 1]}),
                 tooltip=[field("category", "nominal"), field("part", "nominal"), field("value", format=".3f")])
    ticks = layer("totals", {"type": "tick", "color": "black", "thickness": 3}, y=y, x=field("total"),
                  tooltip=[field("category", "nominal"), field("total", format=".3f", title="total")])
    data = {"parts": table(category=categories * len(parts), part=[name for name in parts for _ in categories],
                           value=np.concatenate(values)),
            "totals": table(category=categories, total=np.sum(values, axis=0))}
    return chart(bars, ticks, data=data, title=title, height={"step": bar_step})


def matrix(values, *, domain: tuple[float, float] | None = None, value_format: str | None = None,
           cell: int | None = None, row_title: str = "m", col_title: str = "n", axes: bool = True) -> dict | None:
    """A small matrix (a kernel, its gradient, a Jacobian) as red–blue cells with the values written on
    them, limits symmetric about zero (±max|value| unless ``domain`` is given), cells of fixed size;
    ``axes=False`` leaves out the row and column numbers (a narrow column has room for the cells only).
    The limits and the ink are in the data, so a new matrix of the same shape updates in place."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.size == 0 or not np.all(np.isfinite(values)):
        return None
    limit = float(max(map(abs, domain))) if domain is not None else float(np.max(np.abs(values)))
    limit = limit or 1.0
    rows, cols = values.shape
    cell = cell or max(16, min(32, 112 // max(rows, cols)))
    largest = float(np.max(np.abs(values)))
    value_format = value_format or (".0f" if largest >= 100 else ".1f" if largest >= 10 else ".2f" if largest >= 1
                                    else ".3f")
    r, c = np.divmod(np.arange(values.size), cols)
    x, y = field("n", "ordinal", title=col_title, axis={"labelAngle": 0}), field("m", "ordinal", title=row_title)
    if not axes:
        x, y = {**x, "axis": None}, {**y, "axis": None}
    color = field("value", scale={"scheme": "redblue", "reverse": True}, legend=None)
    cells = layer("cells", "rect", x=x, y=y, color=color,
                  tooltip=[field("m", "ordinal"), field("n", "ordinal"), field("value", format=".4g")])
    limits = layer("_limits", {"type": "rect", "opacity": 0}, x=x, y=y, color=color)
    text = layer("cells", {"type": "text", "fontSize": 12 if cell >= 40 else 10 if cell >= 28 else 8, "limit": cell},
                 x=x, y=y, text=field("label", "nominal"),
                 color={"condition": {"test": "datum.ink === 'white'", "value": "white"}, "value": "black"})
    flat = values.reshape(-1)
    labels = [_unsigned_zero(format(v, value_format)) for v in flat]  # the digits suit the largest value
    data = {"cells": table(m=r, n=c, value=flat, label=labels, ink=np.where(np.abs(flat) > 0.6 * limit, "white",
                                                                             "black")),
            "_limits": table(m=[0, 0], n=[0, 0], value=[-limit, limit])}
    return chart(cells, limits, text, data=data, width=cell * cols, height=cell * rows, autosize={"type": "pad"})
