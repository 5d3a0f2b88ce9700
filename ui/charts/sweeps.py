"""Charts of a quantity swept over one setting (d_k, a learning rate, a noise level), with the
page's current setting marked, so a learner sees where the sliders put them on the curve."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ui.charts.core import PALETTE, Rule, chart, field, layer, legend_below, table

MARK_COLOR = "#444444"


def sweep(x: Sequence[float], series: dict[str, Sequence[float]], *, x_title: str, y_title: str,
          current: float | None = None, current_label: str = "current setting",
          rules: Sequence[Rule] = (), log_x: bool = True, log_base: int = 10, log_y: bool = False,
          title: str | None = None, height: int = 340, y_format: str = ".3g") -> dict | None:
    """Named series over a swept x (points joined by lines), horizontal reference ``rules``, and a
    dashed vertical line at ``current``. Non-finite points (and x ≤ 0 on a log axis) are dropped;
    None when nothing finite is left."""
    x = np.asarray(x, dtype=float)
    frames = []
    for name, values in series.items():
        values = np.asarray(values, dtype=float)
        keep = (x > 0) if log_x else np.ones(x.shape, bool)
        if log_y:
            keep &= values > 0
        frames.append(table(x=x[keep], y=values[keep], series=name))
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if data.empty:
        return None
    finite_rules = [r for r in rules if np.isfinite(r.value)]
    names = list(series) + [rule.label for rule in finite_rules]
    color = field("series", "nominal", title=None, legend=legend_below(names),
                  scale={"domain": names, "range": PALETTE[: len(series)] + [r.color for r in finite_rules]})
    xs = sorted(set(data["x"].tolist()))
    x_axis = {"values": xs} if log_x and len(xs) <= 12 else {}
    x_enc = field("x", title=x_title, scale={"type": "log", "base": log_base} if log_x else {"zero": False},
                  **({"axis": x_axis} if x_axis else {}))
    y_enc = field("y", title=y_title, **({"scale": {"type": "log"}} if log_y else {}))
    layers = [layer("series", {"type": "line", "point": True}, x=x_enc, y=y_enc, color=color,
                    tooltip=[field("series", "nominal"), field("x", title=x_title, format=".4g"),
                             field("y", title=y_title, format=y_format)])]
    tables = {"series": data}
    if finite_rules:
        tables["rules"] = table(y=[r.value for r in finite_rules], series=[r.label for r in finite_rules])
        layers.append(layer("rules", {"type": "rule", "strokeDash": [6, 4]}, y=y_enc, color=color,
                            tooltip=[field("series", "nominal"), field("y", format=y_format)]))
    if current is not None and np.isfinite(current) and (current > 0 or not log_x):
        tables["current"] = table(x=[float(current)], label=current_label)
        layers.append(layer("current", {"type": "rule", "color": MARK_COLOR, "strokeDash": [2, 2], "strokeWidth": 2},
                            x=x_enc, tooltip=[field("label", "nominal", title="marked")]))
        # the label sits on the side of the line with more room
        ends = np.array([min(xs), current, max(xs)])
        where = np.log(ends) if log_x else ends
        right_half = where[1] - where[0] > 0.6 * (where[2] - where[0])
        # … and at the top or the bottom of the plot, whichever the lines leave free beside it
        top = _label_at_top(data, [r.value for r in finite_rules], current, right_half, log_x, log_y)
        layers.append(layer("current", {"type": "text", "align": "right" if right_half else "left",
                                        "dx": -4 if right_half else 4, "dy": 4 if top else -4,
                                        "baseline": "top" if top else "bottom", "color": MARK_COLOR},
                            # the bottom as drawn: the height signal (autosize fits legend and axes in ``height``)
                            x=x_enc, y={"value": 0} if top else {"value": {"expr": "height"}},
                            text=field("label", "nominal")))
    return chart(*layers, data=tables, title=title, height=height)


LABEL_SPAN = 0.3  # share of the x axis the current setting's label may cover beside its line
LABEL_BAND = 0.12  # share of the y axis it covers at the top or the bottom


def _label_at_top(data: pd.DataFrame, rules: Sequence[float], current: float, left: bool, log_x: bool,
                  log_y: bool) -> bool:
    """Whether the label beside the current setting's line goes at the top of the plot: yes unless the
    lines (sampled along the label's stretch of x) pass through the top band and leave the bottom one
    freer. The y axis is taken as Vega-Lite draws it: from 0 (or the smallest value, on a log axis) to
    the largest value or rule."""
    values = np.concatenate([data["y"].to_numpy(float), np.asarray(rules, float)])
    if log_y:
        values = values[values > 0]
    if values.size == 0:
        return True
    scale = np.log if log_y else (lambda v: v)
    lo = float(scale(values.min())) if log_y else min(0.0, float(values.min()))
    hi = float(scale(values.max()))
    if not hi > lo:
        return True
    to_x = np.log if log_x else (lambda v: v)
    xs = to_x(data["x"].to_numpy(float))
    span = LABEL_SPAN * (xs.max() - xs.min())
    here = float(to_x(current))
    stretch = np.linspace(here - span, here, 24) if left else np.linspace(here, here + span, 24)
    heights = []
    for _, points in data.groupby("series", sort=False):
        px, py = to_x(points["x"].to_numpy(float)), scale(points["y"].to_numpy(float))
        order = np.argsort(px)
        inside = stretch[(stretch >= px.min()) & (stretch <= px.max())]
        heights.append(np.interp(inside, px[order], py[order]))
    # a rule spans the width: it counts as a line along the whole stretch
    heights.append(np.repeat(scale(np.asarray([r for r in rules if not log_y or r > 0], float)), stretch.size))
    t = (np.concatenate(heights) - lo) / (hi - lo)
    at_top, at_bottom = int(np.sum(t > 1 - LABEL_BAND)), int(np.sum(t < LABEL_BAND))
    return at_top == 0 or at_top <= at_bottom
