"""Altair chart builders shared by the pages.

Each builder takes numpy arrays and returns an ``alt.Chart``; :func:`show` draws it, or a short
message instead of an empty or broken chart when there is nothing finite to draw.

Speed: Altair validates every object against the Vega-Lite JSON schema as it is built and again
when it is serialized, which costs tens of milliseconds per chart on a 2-core machine — a large part
of a page's rerun. The lab switches both validations off at run time and validates every builder's
output against the schema in tests/test_ui_charts.py instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

# Validation happens in the tests, not on every rerun (see the module docstring).
alt.utils.schemapi.disable_debug_mode()
alt.data_transformers.disable_max_rows()

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#7f7f7f"]


@dataclass(frozen=True)
class Rule:
    """A horizontal reference line with a legend entry (a baseline, a threshold, a bound)."""

    value: float
    label: str
    color: str = "#7f7f7f"


def to_spec(chart: alt.TopLevelMixin) -> dict:
    """The chart's Vega-Lite spec, data inline, without schema validation and without Altair's
    default 300×300 view size (Streamlit sizes the chart to its container)."""
    spec = chart.to_dict(validate=False)
    spec.get("config", {}).pop("view", None)
    if not spec.get("config"):
        spec.pop("config", None)
    return spec


def show(chart: alt.TopLevelMixin | None, empty_message: str = "Nothing to draw for these settings.") -> None:
    """Draw a chart across the container's width, or say why there is none."""
    if chart is None:
        st.info(empty_message, icon=":material/info:")
    else:
        st.vega_lite_chart(to_spec(chart), width="stretch")


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def records(**columns) -> alt.InlineData:
    """Inline chart data from equal-length columns (arrays or scalars), as Vega-Lite records.

    Records, not DataFrames: Altair sanitizes and hashes a DataFrame on every rerun (slow)."""
    arrays = {k: np.asarray(v).tolist() if np.ndim(v) else v for k, v in columns.items()}
    n = max((len(v) for v in arrays.values() if isinstance(v, list)), default=0)
    lists = {k: v if isinstance(v, list) else [v] * n for k, v in arrays.items()}
    return alt.InlineData(values=[dict(zip(lists, row)) for row in zip(*lists.values())])


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
):
    """Several named series over a shared x, with optional reference lines in the same legend.

    Non-finite values are dropped (a diverged run ends its line instead of breaking the axis).
    Returns None when no series has a finite point.
    """
    x = np.asarray(x, dtype=float)
    xs, ys, names_of_points = [], [], []
    for name, values in series.items():
        values = np.asarray(values, dtype=float)
        n = min(len(x), len(values))
        keep = np.isfinite(values[:n]) & (values[:n] > 0 if log_y else True)
        xs.append(x[:n][keep])
        ys.append(values[:n][keep])
        names_of_points += [name] * int(keep.sum())
    if not names_of_points:
        return None
    names = list(series) + [rule.label for rule in rules]
    palette = list(colors or PALETTE[: len(series)]) + [rule.color for rule in rules]
    color = alt.Color("series:N", title=None, scale=alt.Scale(domain=names, range=palette),
                      legend=alt.Legend(orient="bottom"))
    y_scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    layers = [alt.Chart(records(x=np.concatenate(xs), y=np.concatenate(ys), series=names_of_points))
              .mark_line(point=points).encode(
        x=alt.X("x:Q", title=x_title),
        y=alt.Y("y:Q", title=y_title, scale=y_scale),
        color=color,
        tooltip=[alt.Tooltip("series:N"), alt.Tooltip("x:Q", title=x_title),
                 alt.Tooltip("y:Q", title=y_title, format=".4g")],
    )]
    finite_rules = [r for r in rules if np.isfinite(r.value) and (r.value > 0 or not log_y)]
    if finite_rules:
        layers.append(alt.Chart(records(y=[r.value for r in finite_rules], series=[r.label for r in finite_rules]))
                      .mark_rule(strokeDash=[6, 4]).encode(
            y=alt.Y("y:Q"), color=color, tooltip=[alt.Tooltip("series:N"), alt.Tooltip("y:Q", format=".4g")]))
    # keywords, not .properties(): Altair deep-copies the whole chart for every .properties() call
    return alt.layer(*layers, height=height, title=title or alt.Undefined)


def scatter_against_identity(x, y, *, x_title: str, y_title: str, title: str | None = None,
                             max_points: int = 1000, seed: int = 0, height: int = 300):
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
    points = alt.Chart(records(x=x, y=y)).mark_circle(size=18, opacity=0.35).encode(
        x=alt.X("x:Q", title=x_title, scale=alt.Scale(domain=[lo, hi])),
        y=alt.Y("y:Q", title=y_title, scale=alt.Scale(domain=[lo, hi])),
        tooltip=[alt.Tooltip("x:Q", format=".3f", title=x_title), alt.Tooltip("y:Q", format=".3f", title=y_title)],
    )
    identity = alt.Chart(records(x=[lo, hi], y=[lo, hi])).mark_line(
        color="#d62728", strokeDash=[6, 4]).encode(x=alt.X("x:Q"), y=alt.Y("y:Q"))
    return alt.layer(points, identity, height=height, title=title or alt.Undefined)


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
):
    """A matrix as coloured cells (row 0 at the top), values written on the cells up to 16×16 by
    default. ``diverging`` uses a red–blue scale with limits symmetric about zero. ``domain`` fixes
    the colour limits (a quantity with known bounds: a row of weights, a softmax Jacobian)."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.size == 0 or not np.any(np.isfinite(matrix)):
        return None
    n_rows, n_cols = matrix.shape
    x_labels = [str(v) for v in (x_labels if x_labels is not None else range(n_cols))]
    y_labels = [str(v) for v in (y_labels if y_labels is not None else range(n_rows))]
    x_labels, y_labels = _unique(x_labels), _unique(y_labels)
    rows, cols = np.divmod(np.arange(matrix.size), n_cols)
    data = pd.DataFrame({"row": np.asarray(y_labels)[rows], "col": np.asarray(x_labels)[cols],
                         "value": matrix.reshape(-1)})
    finite = _finite(matrix)
    if domain is not None:
        scale = alt.Scale(scheme="redblue" if diverging else "blues", domain=list(domain), reverse=diverging)
    elif diverging:
        limit = float(np.max(np.abs(finite))) or 1.0
        scale = alt.Scale(scheme="redblue", domain=[-limit, limit], reverse=True)
    else:
        scale = alt.Scale(scheme="blues", domain=[float(finite.min()), float(finite.max()) or 1.0])
    axis_small = alt.Axis(labelAngle=0 if n_cols <= 12 else -60, labelOverlap=True)
    base = alt.Chart().encode(  # the data goes on the layer: Altair would hash it per sub-chart (slow)
        x=alt.X("col:O", title=x_title, sort=x_labels, axis=axis_small),
        y=alt.Y("row:O", title=y_title, sort=y_labels, axis=alt.Axis(labelOverlap=True)),
    )
    rect = base.mark_rect().encode(
        color=alt.Color("value:Q", scale=scale, title=value_title),
        tooltip=[alt.Tooltip("row:O", title=y_title or "row"), alt.Tooltip("col:O", title=x_title or "column"),
                 alt.Tooltip("value:Q", format=".4g", title=value_title)],
    )
    layers = [rect]
    if show_values if show_values is not None else max(n_rows, n_cols) <= 16:
        reach = max(map(abs, domain)) if domain is not None else (
            float(np.max(np.abs(finite))) if diverging else float(finite.max()))
        # white ink on strong colours; a column, not alt.condition: Altair turns a condition dict into
        # an object by a slow schema search (≈ 5 ms a chart)
        strong = (np.abs(data["value"]) if diverging else data["value"]) > 0.6 * reach
        data["ink"] = np.where(strong, "white", "black")
        text = base.mark_text(fontSize=10 if max(n_rows, n_cols) <= 12 else 8).encode(
            text=alt.Text("value:Q", format=value_format),  # (scale=None would not render in Streamlit)
            color=alt.Color("ink:N", legend=None, scale=alt.Scale(domain=["black", "white"], range=["black", "white"])))
        if finite.size < matrix.size:  # blank cells (masked, undefined) get no "null" written on them
            text.data = alt.InlineData(values=data[np.isfinite(data["value"])].to_dict("records"))
        layers.append(text)
    side = cell or max(12, min(40, 480 // max(n_rows, n_cols)))
    return alt.layer(*layers, data=data, width=side * n_cols if cell else "container", height=height or side * n_rows,
                     title=title or alt.Undefined)  # keywords, not .properties(): no deep copies


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
                          bar_step: int = 34):
    """Horizontal bars split into signed parts (a prediction's b_u, b_i and p·q), with a black tick
    at the total. Negative parts stack to the left of zero."""
    categories = [str(c) for c in categories]
    if not categories:
        return None
    values = [np.asarray(v, float) for v in parts.values()]
    bars_data = records(category=categories * len(parts),
                        part=[name for name in parts for _ in categories],
                        value=np.concatenate(values))
    y = alt.Y("category:N", title=category_title, sort=categories, axis=alt.Axis(labelOverlap=False))
    bars = alt.Chart(bars_data).mark_bar().encode(
        y=y, x=alt.X("value:Q", title=value_title, stack="zero"),
        color=alt.Color("part:N", title=None, sort=list(parts), legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=list(parts), range=PALETTE[1: len(parts) + 1])),
        tooltip=[alt.Tooltip("category:N"), alt.Tooltip("part:N"), alt.Tooltip("value:Q", format=".3f")],
    )
    ticks = alt.Chart(records(category=categories, total=np.sum(values, axis=0))).mark_tick(
        color="black", thickness=3).encode(
        y=y, x=alt.X("total:Q"),
        tooltip=[alt.Tooltip("category:N"), alt.Tooltip("total:Q", format=".3f", title="total")])
    return alt.layer(bars, ticks, height=alt.Step(bar_step), title=title or alt.Undefined)
