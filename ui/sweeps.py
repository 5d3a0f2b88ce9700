"""Charts of a quantity swept over one setting (d_k, a learning rate, a noise level), with the
page's current setting marked, so a learner sees where the sliders put them on the curve."""

from __future__ import annotations

from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

from ui.charts import PALETTE, Rule

MARK_COLOR = "#444444"


def sweep(x: Sequence[float], series: dict[str, Sequence[float]], *, x_title: str, y_title: str,
          current: float | None = None, current_label: str = "current setting",
          rules: Sequence[Rule] = (), log_x: bool = True, log_base: int = 10,
          title: str | None = None, height: int = 340, y_format: str = ".3g"):
    """Named series over a swept x (points joined by lines), horizontal reference ``rules``, and a
    dashed vertical line at ``current``. Non-finite points (and x ≤ 0 on a log axis) are dropped;
    returns None when nothing finite is left. ``height`` is the whole chart's, legend and titles
    included (Streamlit fits the chart into it)."""
    x = np.asarray(x, dtype=float)
    frames = []
    for name, values in series.items():
        values = np.asarray(values, dtype=float)
        keep = np.isfinite(x) & np.isfinite(values) & ((x > 0) if log_x else True)
        frames.append(pd.DataFrame({"x": x[keep], "y": values[keep], "series": name}))
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if data.empty:
        return None
    names = list(series) + [rule.label for rule in rules]
    color = alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom", columns=2),
                      scale=alt.Scale(domain=names, range=PALETTE[: len(series)] + [r.color for r in rules]))
    x_scale = alt.Scale(type="log", base=log_base) if log_x else alt.Scale(zero=False)
    x_axis = alt.Axis(values=sorted(set(data["x"])) if log_x and len(set(data["x"])) <= 12 else alt.Undefined)
    x_enc = alt.X("x:Q", title=x_title, scale=x_scale, axis=x_axis)
    layers = [alt.Chart(_inline(data)).mark_line(point=True).encode(
        x=x_enc, y=alt.Y("y:Q", title=y_title), color=color,
        tooltip=[alt.Tooltip("series:N"), alt.Tooltip("x:Q", title=x_title, format=".4g"),
                 alt.Tooltip("y:Q", title=y_title, format=y_format)])]
    finite_rules = [r for r in rules if np.isfinite(r.value)]
    if finite_rules:
        rule_data = pd.DataFrame({"y": [r.value for r in finite_rules], "series": [r.label for r in finite_rules]})
        layers.append(alt.Chart(_inline(rule_data)).mark_rule(strokeDash=[6, 4]).encode(
            y=alt.Y("y:Q"), color=color, tooltip=[alt.Tooltip("series:N"), alt.Tooltip("y:Q", format=y_format)]))
    if current is not None and np.isfinite(current) and (current > 0 or not log_x):
        mark = alt.InlineData(values=[{"x": float(current), "label": current_label}])
        layers.append(alt.Chart(mark).mark_rule(color=MARK_COLOR, strokeDash=[2, 2], strokeWidth=2).encode(
            x=x_enc, tooltip=[alt.Tooltip("label:N", title="marked")]))
        # the label sits on the side of the line with more room
        where = (np.log if log_x else np.asarray)(np.array([data["x"].min(), current, data["x"].max()]))
        right_half = where[1] - where[0] > 0.6 * (where[2] - where[0])
        layers.append(alt.Chart(mark).mark_text(align="right" if right_half else "left", dx=-4 if right_half else 4,
                                                dy=4, baseline="top", color=MARK_COLOR)
                      .encode(x=x_enc, y=alt.YValue(0), text=alt.Text("label:N")))
    # Speed (this chart is redrawn on every slider move): channel objects, not "field:T" strings or
    # dicts, which Altair resolves by a slow schema search (≈ 5 ms each); records, not DataFrames,
    # which Altair hashes through their text repr; keywords, not .properties(), which deep-copies.
    return alt.layer(*layers, height=height, title=title or alt.Undefined)


def _inline(frame: pd.DataFrame) -> alt.InlineData:
    return alt.InlineData(values=frame.to_dict("records"))
