"""The cart-pole drawn from its state: one frame as a Vega-Lite chart, an episode's angle and
position over time (together: :func:`frame_panel`), a client-side animation of a whole episode,
and the policy's P(push right) over pole angle × angular velocity as a heatmap.

The frame and the trajectory are plain Vega-Lite dicts, not Altair objects: they are rebuilt on
every move of the step slider and cost a few milliseconds.

State s = (x, ẋ, θ, θ̇): cart at x metres, pole θ radians from upright (positive leans right).
Drawn to gymnasium's proportions: the track spans ±2.4 m, the pole is 2l = 1 m long.
"""

from __future__ import annotations

import json

import numpy as np
import streamlit as st

from calc_core.policy_gradient import cartpole
from ui import charts

POLE = 2 * cartpole.LENGTH  # drawn length, metres
CART_W, CART_H = 0.4, 0.24
TRACK = cartpole.X_THRESHOLD
# Streamlit fits the whole chart into width × height: the frame has no axes, so that is the plot
# area, and a metre is as long across as up.
WIDTH, HEIGHT = 440, 160
X_DOMAIN = (-2.6, 2.6)
Y_DOMAIN = (-0.15, -0.15 + (X_DOMAIN[1] - X_DOMAIN[0]) * HEIGHT / WIDTH)
CART, POLE_COLOR, LIMIT, PUSH = "#4c5b75", "#c8814a", "#b8b8b8", "#d62728"


def _rule(rows, **mark) -> dict:
    return {"data": {"values": rows}, "mark": {"type": "rule", **mark},
            "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"},
                         "x2": {"field": "x2"}, "y2": {"field": "y2"}}}


def frame(state, *, action: int | None = None, p_right: float | None = None, title: str | None = None) -> dict | None:
    """The cart and pole at ``state`` (x, ẋ, θ, θ̇), the ±12° limits as faint lines, the track with
    its ends, and a label for the push ``action`` (0 left, 1 right) with π(right|s).

    A plain Vega-Lite dict (no Altair objects): it is rebuilt on every move of the step slider,
    and this takes well under a millisecond."""
    state = np.asarray(state, dtype=float)
    if state.shape != (4,) or not np.all(np.isfinite(state)):
        return None
    x, theta = float(state[0]), float(state[2])
    axle, limit = CART_H, cartpole.THETA_THRESHOLD

    def tip(angle):
        return {"x": x, "y": axle, "x2": x + POLE * float(np.sin(angle)), "y2": axle + POLE * float(np.cos(angle))}

    layers = [
        _rule([{"x": -TRACK, "y": 0, "x2": TRACK, "y2": 0}], color="#333333", strokeWidth=2),
        _rule([{"x": e, "y": -0.08, "x2": e, "y2": 0.08} for e in (-TRACK, TRACK)], color="#333333", strokeWidth=3),
        _rule([{"x": e, "y": -0.04, "x2": e, "y2": 0.0} for e in (-1.2, 0.0, 1.2)], color="#333333"),
        _rule([tip(-limit), tip(limit)], color=LIMIT, strokeDash=[4, 4]),
        {**_rule([{"x": x - CART_W / 2, "y": 0.02, "x2": x + CART_W / 2, "y2": axle}]),
         "mark": {"type": "rect", "color": CART, "cornerRadius": 3}},
        _rule([tip(theta)], color=POLE_COLOR, strokeWidth=9, strokeCap="round"),
        {"data": {"values": [{"x": x, "y": axle}]}, "mark": {"type": "circle", "color": "#222222", "size": 50,
                                                              "opacity": 1},
         "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}}},
    ]
    if action is not None:
        side = 1 if action else -1
        label = ("pushes right" if action else "pushes left") + (
            "" if p_right is None else f" (π(right|s) = {p_right:.2f})")
        layers.append({"data": {"values": [{"x": x + side * (CART_W / 2 + 0.04), "y": axle / 2, "label": "→" if action
                                            else "←"}]},
                       "mark": {"type": "text", "align": "left" if action else "right", "color": PUSH,
                                "fontSize": 20, "fontWeight": "bold", "baseline": "middle"},
                       "encoding": {"x": {"field": "x", "type": "quantitative"},
                                    "y": {"field": "y", "type": "quantitative"},
                                    "text": {"field": "label", "type": "nominal"}}})
        layers.append({"data": {"values": [{"x": X_DOMAIN[0] + 0.05, "y": Y_DOMAIN[1] - 0.05, "label": label}]},
                       "mark": {"type": "text", "align": "left", "baseline": "top", "color": PUSH, "fontSize": 12},
                       "encoding": {"x": {"field": "x", "type": "quantitative"},
                                    "y": {"field": "y", "type": "quantitative"},
                                    "text": {"field": "label", "type": "nominal"}}})
    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "width": WIDTH, "height": HEIGHT,
            "layer": layers,
            "encoding": {"x": {"field": "x", "type": "quantitative", "title": "cart position x (m)",
                               "scale": {"domain": list(X_DOMAIN), "nice": False}, "axis": None},
                         "y": {"field": "y", "type": "quantitative", "axis": None,
                               "scale": {"domain": list(Y_DOMAIN), "nice": False}}}}
    if title:
        spec["title"] = title
    return spec


def trajectory(states, step: int, *, title: str | None = None, height: int = 300) -> dict | None:
    """θ/12° and x/2.4 over an episode (±1 = the limits, where it ends) and a line at ``step``."""
    states = np.asarray(states, dtype=float)
    if states.ndim != 2 or states.shape[1] != 4 or states.shape[0] < 2:
        return None
    names = ("pole angle θ / 12°", "cart position x / 2.4 m")
    rows = [{"t": t, "v": round(float(v), 5), "series": name}
            for name, values in zip(names, (states[:, 2] / cartpole.THETA_THRESHOLD, states[:, 0] / TRACK))
            for t, v in enumerate(values) if np.isfinite(v)]
    x = {"field": "t", "type": "quantitative", "title": "step t",
         "scale": {"domain": [0, states.shape[0] - 1], "nice": False}}
    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "height": height, "layer": [
        {"data": {"values": rows}, "mark": {"type": "line"}, "encoding": {
            "x": x, "y": {"field": "v", "type": "quantitative", "title": "value ÷ limit",
                          "scale": {"domain": [-1.05, 1.05]}},
            "color": {"field": "series", "type": "nominal", "title": None, "legend": {"orient": "bottom"},
                      "scale": {"domain": list(names), "range": [POLE_COLOR, CART]}},
            "tooltip": [{"field": "series", "type": "nominal"}, {"field": "t", "type": "quantitative", "title": "step"},
                        {"field": "v", "type": "quantitative", "format": ".3f"}]}},
        {"data": {"values": [{"v": -1.0}, {"v": 1.0}]}, "mark": {"type": "rule", "color": LIMIT, "strokeDash": [4, 4]},
         "encoding": {"y": {"field": "v", "type": "quantitative"}}},
        {"data": {"values": [{"t": int(step)}]}, "mark": {"type": "rule", "color": "#222222", "strokeWidth": 2},
         "encoding": {"x": x}},
    ]}
    if title:
        spec["title"] = title
    return spec


def policy_heatmap(grid, *, title: str):
    """P(push right) of a :class:`calc_core.policy_gradient.lab.PolicyMap`: pole angle across,
    angular velocity up (positive at the top), red for right and blue for left."""
    return charts.heatmap(
        grid.p_right[::-1], x_labels=[f"{np.degrees(a):.1f}" for a in grid.angles], diverging=True,
        y_labels=[f"{v:.1f}" for v in grid.angular_velocities[::-1]], x_title="pole angle θ (°)",
        y_title="angular velocity θ̇ (rad/s)", domain=(0, 1), value_title="P(right)", height=330, title=title)


def frame_panel(replay, step: int) -> None:
    """Step ``step`` of a :class:`calc_core.policy_gradient.lab.Replay`: the cart and pole with
    the push taken there, the state in numbers, and the whole episode's angle and position."""
    state, acting = replay.states[step], step < replay.length
    charts.show(frame(state, action=int(replay.actions[step]) if acting else None,
                    p_right=float(replay.p_right[step]) if acting else None), "No state to draw.")
    st.caption(f"x = {state[0]:+.3f} m, ẋ = {state[1]:+.3f} m/s, θ = {np.degrees(state[2]):+.2f}°, "
               f"θ̇ = {state[3]:+.3f} rad/s" + ("" if acting else " — the final state."))
    charts.show(trajectory(replay.states, step, title="The episode: angle and position (±1 = the limit)"),
              "The episode is too short to draw.")


def animation(states, actions) -> None:
    """The whole episode played in the browser at real speed (one step = τ = 0.02 s), with
    play/pause and a restart; nothing is sent back to the server."""
    states = np.asarray(states, dtype=float)
    if states.ndim != 2 or states.shape[0] < 2 or not np.all(np.isfinite(states)):
        st.info("There is no episode to animate.", icon=":material/info:")
        return
    frames = json.dumps({"x": np.round(states[:, 0], 4).tolist(), "th": np.round(states[:, 2], 5).tolist(),
                         "a": [int(a) for a in actions], "tau": cartpole.TAU, "track": TRACK, "pole": POLE,
                         "limit": cartpole.THETA_THRESHOLD})
    st.iframe(_ANIMATION.replace("__FRAMES__", frames))


_ANIMATION = """<!doctype html><html><body style="margin:0;font:13px sans-serif;color:#31333f">
<canvas id="c" width="700" height="250" style="width:100%;max-width:700px;display:block"></canvas>
<div style="display:flex;gap:8px;align-items:center;margin-top:4px">
<button id="play">Pause</button><button id="again">Restart</button><span id="info"></span></div>
<script>
const F = __FRAMES__, n = F.x.length, c = document.getElementById("c"), g = c.getContext("2d");
const m = c.width / 5.2, ox = c.width / 2, gy = c.height - 30;
let i = 0, playing = true, last = null;
function draw() {
  g.clearRect(0, 0, c.width, c.height);
  g.strokeStyle = "#333"; g.lineWidth = 2; g.beginPath();
  g.moveTo(ox - F.track * m, gy); g.lineTo(ox + F.track * m, gy); g.stroke();
  const x = ox + F.x[i] * m, ay = gy - 0.24 * m, th = F.th[i];
  g.fillStyle = "#4c5b75"; g.fillRect(x - 0.2 * m, ay, 0.4 * m, 0.22 * m);
  g.strokeStyle = "#b8b8b8"; g.setLineDash([4, 4]); g.lineWidth = 1;
  for (const s of [-1, 1]) { g.beginPath(); g.moveTo(x, ay);
    g.lineTo(x + F.pole * m * Math.sin(s * F.limit), ay - F.pole * m * Math.cos(F.limit)); g.stroke(); }
  g.setLineDash([]); g.strokeStyle = "#c8814a"; g.lineWidth = 9; g.lineCap = "round"; g.beginPath();
  g.moveTo(x, ay); g.lineTo(x + F.pole * m * Math.sin(th), ay - F.pole * m * Math.cos(th)); g.stroke();
  if (i < F.a.length) { g.fillStyle = "#d62728"; g.font = "bold 30px sans-serif"; g.textBaseline = "middle";
    g.textAlign = F.a[i] ? "left" : "right"; g.fillText(F.a[i] ? "→" : "←", x + (F.a[i] ? 1 : -1) * 0.24 * m, ay + 0.11 * m); }
  document.getElementById("info").textContent =
    `step ${i} of ${n - 1} · t = ${(i * F.tau).toFixed(2)} s · θ = ${(th * 180 / Math.PI).toFixed(1)}°`;
}
function tick(now) {
  if (!playing) return;
  if (last === null || now - last >= 1000 * F.tau) { last = now; draw(); if (i < n - 1) i++; else playing = false; }
  document.getElementById("play").textContent = playing ? "Pause" : "Play";
  if (playing) requestAnimationFrame(tick);
}
document.getElementById("play").onclick = () => { if (i >= n - 1) i = 0; playing = !playing; last = null;
  document.getElementById("play").textContent = playing ? "Pause" : "Play"; if (playing) requestAnimationFrame(tick); };
document.getElementById("again").onclick = () => { i = 0; last = null; draw();
  if (!playing) { playing = true; requestAnimationFrame(tick); } };
draw(); requestAnimationFrame(tick);
</script></body></html>"""
