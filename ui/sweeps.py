"""Charts of a quantity swept over one setting (d_k, a learning rate, a noise level), with the
page's current setting marked, so a learner sees where the sliders put them on the curve."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ui.charts import PALETTE, Rule, field, layered, records

MARK_COLOR = "#444444"


def sweep(x: Sequence[float], series: dict[str, Sequence[float]], *, x_title: str, y_title: str,
          current: float | None = None, current_label: str = "current setting",
          rules: Sequence[Rule] = (), log_x: bool = True, log_base: int = 10,
          title: str | None = None, height: int = 340, y_format: str = ".3g") -> dict | None:
    """Named series over a swept x (points joined by lines), horizontal reference ``rules``, and a
    dashed vertical line at ``current``. Non-finite points (and x ≤ 0 on a log axis) are dropped;
    returns None when nothing finite is left. ``height`` is the whole chart's, legend and titles
    included (Streamlit fits the chart into it)."""
    x = np.asarray(x, dtype=float)
    rows, xs = [], []
    for name, values in series.items():
        values = np.asarray(values, dtype=float)
        keep = np.isfinite(x) & np.isfinite(values) & ((x > 0) if log_x else True)
        rows += records(x=x[keep], y=values[keep], series=name)
        xs.append(x[keep])
    if not rows:
        return None
    xs = np.concatenate(xs)
    finite_rules = [r for r in rules if np.isfinite(r.value)]
    names = list(series) + [rule.label for rule in finite_rules]
    color = field("series", "nominal", title=None, legend={"orient": "bottom", "columns": 2},
                  scale={"domain": names, "range": PALETTE[: len(series)] + [r.color for r in finite_rules]})
    x_axis = {"values": sorted(set(xs.tolist()))} if log_x and len(set(xs.tolist())) <= 12 else {}
    x_enc = field("x", title=x_title, scale={"type": "log", "base": log_base} if log_x else {"zero": False},
                  **({"axis": x_axis} if x_axis else {}))
    layers = [{"data": {"values": rows}, "mark": {"type": "line", "point": True},
               "encoding": {"x": x_enc, "y": field("y", title=y_title), "color": color,
                            "tooltip": [field("series", "nominal"), field("x", title=x_title, format=".4g"),
                                        field("y", title=y_title, format=y_format)]}}]
    if finite_rules:
        layers.append({"data": {"values": records(y=[r.value for r in finite_rules],
                                                  series=[r.label for r in finite_rules])},
                       "mark": {"type": "rule", "strokeDash": [6, 4]},
                       "encoding": {"y": field("y"), "color": color,
                                    "tooltip": [field("series", "nominal"), field("y", format=y_format)]}})
    if current is not None and np.isfinite(current) and (current > 0 or not log_x):
        mark = {"values": [{"x": float(current), "label": current_label}]}
        layers.append({"data": mark, "mark": {"type": "rule", "color": MARK_COLOR, "strokeDash": [2, 2], "strokeWidth": 2},
                       "encoding": {"x": x_enc, "tooltip": [field("label", "nominal", title="marked")]}})
        # the label sits on the side of the line with more room
        where = (np.log if log_x else np.asarray)(np.array([xs.min(), current, xs.max()]))
        right_half = where[1] - where[0] > 0.6 * (where[2] - where[0])
        layers.append({"data": mark, "mark": {"type": "text", "align": "right" if right_half else "left",
                                              "dx": -4 if right_half else 4, "dy": 4, "baseline": "top",
                                              "color": MARK_COLOR},
                       "encoding": {"x": x_enc, "y": {"value": 0}, "text": field("label", "nominal")}})
    return layered(*layers, title=title, height=height)
