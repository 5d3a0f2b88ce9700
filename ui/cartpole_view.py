"""The cart-pole on the page: a replayed episode (:func:`episode_panel`), one step of it up close (the
frame, the state in numbers and the whole episode's angle and position, :func:`frame_panel`) and the
whole episode animated in the browser (:func:`animation`). The charts are built by
:mod:`ui.charts.cartpole`.
"""

from __future__ import annotations

import json

import numpy as np
import streamlit as st

from calc_core.policy_gradient import cartpole
from ui import charts
from ui.charts.cartpole import POLE, TRACK, frame, trajectory


def episode_panel(replay, draw_step) -> None:
    """A replayed episode: how it went, animated on the left, and frame by frame on the right at the
    step ``draw_step(length)`` returns (the page's step control, drawn with the episode's length)."""
    st.markdown(replay.summary)
    play, frames = st.columns(2, gap="large")
    with play:
        animation(replay.states, replay.actions)
    with frames:
        frame_panel(replay, draw_step(replay.length))


def frame_panel(replay, step: int) -> None:
    """Step ``step`` of a :class:`calc_core.policy_gradient.views.Replay`: the cart and pole with the
    push taken there, the state in numbers, and the whole episode's angle and position."""
    state, acting = replay.states[step], step < replay.length
    charts.show(frame(state, action=int(replay.actions[step]) if acting else None,
                      p_right=float(replay.p_right[step]) if acting else None), "No state to draw.")
    st.caption(f"x = {state[0]:+.3f} m, ẋ = {state[1]:+.3f} m/s, θ = {np.degrees(state[2]):+.2f}°, "
               f"θ̇ = {state[3]:+.3f} rad/s" + ("" if acting else " — the final state."))
    charts.show(trajectory(replay.states, step, title="The episode: angle and position (±1 = the limit)"),
                "The episode is too short to draw.", export="episode")


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
