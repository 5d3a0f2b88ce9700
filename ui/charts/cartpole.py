"""The cart-pole drawn from its state, on the chart kit: one frame, an episode's angle and position over
time, and the policy's P(push right) over pole angle × angular velocity.

State s = (x, ẋ, θ, θ̇): cart at x metres, pole θ radians from upright (positive leans right). Drawn
to gymnasium's proportions: the track spans ±2.4 m, the pole is 2l = 1 m long. Every table is always
there (empty when there is nothing to show, such as the push at the final state), and no title holds
a live number: stepping through an episode changes only the data, which the browser updates in place.
"""

from __future__ import annotations

import numpy as np

from calc_core.policy_gradient import cartpole
from calc_core.policy_gradient.reinforce import CLASSIC_AVERAGE, COLLAPSE_ENTROPY, SOLVED_AVERAGE
from ui.charts import raster
from ui.charts.basic import lines
from ui.charts.core import EXPORT, Rule, chart, equal_axes, field, layer, legend_below, table

POLE = 2 * cartpole.LENGTH  # drawn length, metres
CART_W, CART_H = 0.4, 0.24
TRACK = cartpole.X_THRESHOLD
# The frame has no axes: its plot area is the column's width × HEIGHT, a metre as long across as up
# (ui.charts.core.equal_axes; the box below is what always stays in view, at WIDTH or wider).
WIDTH, HEIGHT = 440, 160
X_DOMAIN = (-2.6, 2.6)
Y_DOMAIN = (-0.15, -0.15 + (X_DOMAIN[1] - X_DOMAIN[0]) * HEIGHT / WIDTH)
CART, POLE_COLOR, LIMIT, PUSH = "#4c5b75", "#c8814a", "#b8b8b8", "#d62728"
TRAJECTORY_NAMES = ("pole angle θ / 12°", "cart position x / 2.4 m")


def _segments(name: str, rows: list[tuple[float, float, float, float]], **mark) -> tuple[dict, dict]:
    """A layer of line segments (x, y) → (x2, y2) and its table."""
    x, y, x2, y2 = (np.asarray(c, dtype=float) for c in zip(*rows)) if rows else ([], [], [], [])
    spec = layer(name, {"type": "rule", **mark}, x=field("x"), y=field("y"), x2={"field": "x2"}, y2={"field": "y2"})
    return spec, table(x=x, y=y, x2=x2, y2=y2)


def frame(state, *, action: int | None = None, p_right: float | None = None, title: str | None = None) -> dict | None:
    """The cart and pole at ``state`` (x, ẋ, θ, θ̇), the ±12° limits as faint lines, the track with its
    ends, and the push ``action`` (0 left, 1 right) with π(right|s) — none at the final state."""
    state = np.asarray(state, dtype=float)
    if state.shape != (4,) or not np.all(np.isfinite(state)):
        return None
    x, theta = float(state[0]), float(state[2])
    axle, limit = CART_H, cartpole.THETA_THRESHOLD

    def pole(angle):
        return x, axle, x + POLE * float(np.sin(angle)), axle + POLE * float(np.cos(angle))

    layers, data = [], {}
    for name, rows, mark in (
        ("track", [(-TRACK, 0.0, TRACK, 0.0)], {"color": "#333333", "strokeWidth": 2}),
        ("ends", [(e, -0.08, e, 0.08) for e in (-TRACK, TRACK)], {"color": "#333333", "strokeWidth": 3}),
        ("ticks", [(e, -0.04, e, 0.0) for e in (-1.2, 0.0, 1.2)], {"color": "#333333"}),
        ("limits", [pole(-limit), pole(limit)], {"color": LIMIT, "strokeDash": [4, 4]}),
    ):
        spec, data[name] = _segments(name, rows, **mark)
        layers.append(spec)
    cart, data["cart"] = _segments("cart", [(x - CART_W / 2, 0.02, x + CART_W / 2, axle)])
    layers.append({**cart, "mark": {"type": "rect", "color": CART, "cornerRadius": 3}})
    spec, data["pole"] = _segments("pole", [pole(theta)], color=POLE_COLOR, strokeWidth=9, strokeCap="round")
    layers.append(spec)
    data["axle"] = table(x=[x], y=[axle])
    layers.append(layer("axle", {"type": "circle", "color": "#222222", "size": 50, "opacity": 1},
                        x=field("x"), y=field("y")))
    acting = action is not None
    side = 1 if action else -1
    data["push"] = table(x=[x + side * (CART_W / 2 + 0.14)] if acting else [], y=[axle / 2] if acting else [],
                         label=[("→" if action else "←")] if acting else [])
    layers.append(layer("push", {"type": "text", "color": PUSH, "fontSize": 20, "fontWeight": "bold",
                                 "align": "center", "baseline": "middle"},
                        x=field("x"), y=field("y"), text=field("label", "nominal")))
    words = ("pushes right" if action else "pushes left") + ("" if p_right is None else f" (π(right|s) = {p_right:.2f})")
    data["label"] = table(x=[X_DOMAIN[0] + 0.05] if acting else [], y=[Y_DOMAIN[1] - 0.05] if acting else [],
                          label=[words] if acting else [])
    layers.append(layer("label", {"type": "text", "align": "left", "baseline": "top", "color": PUSH, "fontSize": 12},
                        x=field("x"), y=field("y"), text=field("label", "nominal")))
    x_scale, y_scale, size = equal_axes(
        field("x", title="cart position x (m)", scale={"domain": list(X_DOMAIN)}, axis=None),
        field("y", scale={"domain": list(Y_DOMAIN)}, axis=None), height=HEIGHT)
    return chart(*layers, data=data, title=title, encoding={"x": x_scale, "y": y_scale}, **size)


def trajectory(states, step: int, *, title: str | None = None, height: int = 300) -> dict | None:
    """θ/12° and x/2.4 over an episode (±1 = the limits, where it ends) and a line at ``step``."""
    states = np.asarray(states, dtype=float)
    if states.ndim != 2 or states.shape[1] != 4 or states.shape[0] < 2:
        return None
    t = np.arange(states.shape[0])
    series = table(t=np.concatenate([t, t]),
                   v=np.round(np.concatenate([states[:, 2] / cartpole.THETA_THRESHOLD, states[:, 0] / TRACK]), 5),
                   series=np.repeat(TRAJECTORY_NAMES, t.size))
    x = field("t", title="step t", scale={"domain": [0, int(t[-1])], "nice": False})
    y = field("v", title="value ÷ limit", scale={"domain": [-1.05, 1.05]})
    color = field("series", "nominal", title=None, legend=legend_below(TRAJECTORY_NAMES),
                  scale={"domain": list(TRAJECTORY_NAMES), "range": [POLE_COLOR, CART]})
    return chart(
        layer("series", "line", x=x, y=y, color=color,
              tooltip=[field("series", "nominal"), field("t", title="step"), field("v", format=".3f")]),
        layer("limits", {"type": "rule", "color": LIMIT, "strokeDash": [4, 4]}, y=field("v")),
        layer("marker", {"type": "rule", "color": "#222222", "strokeWidth": 2}, x=x),
        data={"series": series, "limits": table(v=[-1.0, 1.0]), "marker": table(t=[int(step)])},
        title=title, height=height)


def returns_chart(returns, moving_average, *, marker: int | None = None) -> dict | None:
    """Each episode's return and the 100-episode average, with 195 and 475 marked, and the episode shown."""
    return lines(np.arange(1, len(returns) + 1), {"return": returns, "100-episode average": moving_average},
                 x_title="episode", y_title="return (steps balanced)", title="Episode return while learning",
                 colors=["#aec7e8", "#1f77b4"], marker=marker, marker_label=f"episode {marker}",
                 rules=[Rule(CLASSIC_AVERAGE, f"{CLASSIC_AVERAGE:.0f}", "#2ca02c"),
                        Rule(SOLVED_AVERAGE, f"{SOLVED_AVERAGE:.0f}", "#d62728")])


def entropy_chart(entropy, *, marker: int | None = None) -> dict | None:
    """Mean H(π(·|s)) of each episode against a coin flip's log 2 and the collapse threshold."""
    return lines(np.arange(1, len(entropy) + 1), {"entropy": entropy}, x_title="episode",
                 y_title="mean H(π(·|s)) (nats)", title="How random the policy still is", colors=["#9467bd"],
                 marker=marker, marker_label=f"episode {marker}",
                 rules=[Rule(float(np.log(2)), "log 2: coin flip"), Rule(COLLAPSE_ENTROPY, "collapse", "#d62728")])


def policy_heatmap(grid, *, title: str | None = None) -> dict | None:
    """P(push right) of a :class:`calc_core.policy_gradient.views.PolicyMap`: pole angle across,
    angular velocity up, red for right and blue for left, white at ½ — one picture of the grid
    (ui.charts.raster; with the two maps as pictures a cache hit on the page measured ×0.72–0.87),
    its values in the CSV."""
    p_right = np.asarray(grid.p_right, dtype=float)
    angles, velocities = np.degrees(np.asarray(grid.angles, dtype=float)), np.asarray(grid.angular_velocities, float)
    if p_right.shape != (velocities.size, angles.size) or min(p_right.shape) < 2 or not np.isfinite(p_right).any():
        return None
    edges = raster.outer_edges(angles), raster.outer_edges(velocities)
    x = field("x", title="pole angle θ (°)", scale={"domain": list(edges[0]), "nice": False, "zero": False})
    y = field("y", title="angular velocity θ̇ (rad/s)", scale={"domain": list(edges[1]), "nice": False, "zero": False})
    layers, tables = raster.heat_layers(p_right, *edges, x, y, scheme="redblue", reverse=True, domain=(0.0, 1.0),
                                        value_title="P(right)")
    spec = chart(*layers, data=tables, title=title, height=300)
    spec[EXPORT] = {"cells": raster.grid_table(p_right, angles, velocities, x="pole angle (°)",
                                               y="angular velocity (rad/s)", value="P(right)")}
    return spec


def bars_with_ranges(categories, values, low, high, *, value_title: str, category_title: str | None = None,
                     title: str | None = None, height: int = 300) -> dict | None:
    """One bar per category with a range drawn over it (a 90% bootstrap range, say). A bar whose value
    is infinite (nothing to divide by) is left out; a range with an infinite end is not drawn, but its
    bar is, with "unbounded" in the tooltip."""
    categories = [str(c) for c in categories]
    low, high = np.asarray(low, float), np.asarray(high, float)
    bounded = np.isfinite(low) & np.isfinite(high)
    data = table(category=categories, value=np.asarray(values, float),
                 low=np.where(bounded, low, 0.0), high=np.where(bounded, high, 0.0), bounded=bounded,
                 range=[f"{a:.3g} to {b:.3g}" if ok else f"{a:.3g} to unbounded" for a, b, ok in zip(low, high, bounded)])
    if data.empty:
        return None
    x = field("category", "nominal", title=category_title, sort=categories, axis={"labelAngle": 0})
    y = field("value", title=value_title)
    tooltip = [field("category", "nominal", title=category_title or "category"), field("value", format=".3g"),
               field("range", "nominal", title="range")]
    ranges = {**layer("bars", {"type": "rule", "color": "#222222", "strokeWidth": 2}, x=x, y=field("low"),
                      y2={"field": "high"}), "transform": [{"filter": "datum.bounded"}]}
    return chart(layer("bars", "bar", x=x, y=y, tooltip=tooltip), ranges,
                 data={"bars": data}, title=title, height=height)
