"""Charts of the Diffusion page: a density with its score field as arrows (a heatmap in 2-D, a curve
in 1-D), particles at a sampling step and their traces over sampling time, their histogram against
the target and their mode weights, the variance bias of unadjusted Langevin against ε with the exact
curve, noising and denoising paths, the DSM loss with its floor, the learned score beside the true
one, and Tweedie's denoised points as arrows from noisy ones.

Every builder follows ui.charts.core (tables from ``table``, layers from ``layer``, the spec from
``chart``) and returns None when there is nothing finite to draw. Titles carry no live numbers and
the axes' domains depend on the mixture's view box only, so moving a sampler control or the
scrubbed step updates a drawn chart's data in place. Each chart keeps to a couple of thousand marks:
a heatmap is one picture (ui.charts.raster) at the grid's full resolution, particles and paths are
sampled.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ui.charts import raster
from ui.charts.basic import lines
from ui.charts.core import EXPORT, PALETTE, REFERENCE, Rule, chart, equal_axes, field, layer, legend_below, table

MAX_PARTICLES = 1000  # points of a particle scatter
TRACED_PARTICLES = 30  # lines of the particles-over-time chart
PATH_PARTICLES = 20  # lines per process of the noising / denoising charts
ARROWS_1D = 25  # score arrows along a 1-D density
PLANE_SIZE = 380  # pixels: the height of a 2-D plot (its width is the column's, on equal axes)
ARROW, LEARNED, NOW, TARGET = "#444444", "#ff7f0e", "#222222", "#2ca02c"
HEAT = "blues"  # the density's colour scheme
SCORE_NAMES = ("∇log p", "∇log p_σ (true)", "s_θ (learned)")


def _axis_scale(low: float, high: float) -> dict:
    return {"domain": [float(low), float(high)], "nice": False, "zero": False}


def _box(axes: Sequence[np.ndarray]) -> list[tuple[float, float]]:
    return [(float(a[0]), float(a[-1])) for a in axes]


def _sample_rows(n: int, limit: int) -> np.ndarray:
    """Indices of at most ``limit`` of n rows, evenly spread (the first and last kept)."""
    return np.arange(n) if n <= limit else np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def arrow_table(points, vectors: Mapping[str, np.ndarray], spacing: float) -> pd.DataFrame:
    """One row per arrow: the set it belongs to (``series``), tail (x, y), head (x2, y2), the head's
    angle for a triangle-up symbol (degrees clockwise from up) and |v|. Lengths grow like √|v| up to
    0.8 of the grid ``spacing``, on one scale for every set (so a learned field is comparable with the
    true one); zero and non-finite vectors are left out."""
    p = np.asarray(points, dtype=float).reshape(-1, 2)
    sets = {name: np.asarray(v, dtype=float).reshape(-1, 2) for name, v in vectors.items()}
    sizes = {name: np.hypot(v[:, 0], v[:, 1]) for name, v in sets.items()}
    finite = [s[np.isfinite(s)] for s in sizes.values()]
    largest = max((float(s.max()) for s in finite if s.size), default=0.0)
    frames = []
    for name, v in sets.items():
        size = sizes[name]
        keep = np.isfinite(size) & (size > 0) & np.isfinite(p).all(axis=1)
        if not keep.any() or largest <= 0:
            continue
        unit = v[keep] / size[keep, None]
        head = p[keep] + unit * (0.8 * spacing * np.sqrt(size[keep] / largest))[:, None]
        frames.append(table(series=name, x=p[keep, 0], y=p[keep, 1], x2=head[:, 0], y2=head[:, 1],
                            angle=90.0 - np.degrees(np.arctan2(unit[:, 1], unit[:, 0])), strength=size[keep]))
    return pd.concat(frames, ignore_index=True) if frames else table(series=[], x=[], y=[], x2=[], y2=[])


def _arrow_layers(x: dict, y: dict, colors: Mapping[str, str]) -> list[dict]:
    color = field("series", "nominal", title=None, legend=legend_below(colors),
                  scale={"domain": list(colors), "range": list(colors.values())})
    tip = [field("series", "nominal", title="field"), field("x", format=".3g"), field("y", format=".3g"),
           field("strength", title="|score|", format=".3g")]
    return [layer("arrows", {"type": "rule", "strokeWidth": 1.4, "clip": True}, x=x, y=y, x2={"field": "x2"},
                  y2={"field": "y2"}, color=color, tooltip=tip),
            layer("arrows", {"type": "point", "shape": "triangle-up", "filled": True, "size": 26, "opacity": 1,
                             "clip": True}, x={**x, "field": "x2"}, y={**y, "field": "y2"},
                  color={**color, "legend": None}, angle=field("angle", scale=None))]


def _plane_axes(axes, x_title: str = "x₁", y_title: str = "x₂") -> tuple[dict, dict]:
    (x_lo, x_hi), (y_lo, y_hi) = _box(axes)
    return field("x", title=x_title, scale=_axis_scale(x_lo, x_hi)), field("y", title=y_title,
                                                                           scale=_axis_scale(y_lo, y_hi))


def _heat(axes, density, x: dict, y: dict, value_title: str, opacity: float = 1.0) -> tuple[list[dict], dict]:
    """The density's heatmap (one picture: ui.charts.raster), its layers and tables."""
    return raster.heat_layers(density, *map(raster.outer_edges, axes), x, y, scheme=HEAT, value_title=value_title,
                              opacity=opacity, legend={"orient": "right", "gradientLength": 120})


def _with_grid(spec: dict, axes, density, value: str) -> dict:
    """The spec with the heatmap's grid values kept for its CSV download."""
    spec[EXPORT] = {"cells": raster.grid_table(density, axes[0], axes[1], x="x₁", y="x₂", value=value)}
    return spec


def _arrow_spacing(axes, n_arrows: int) -> float:
    return float(axes[0][-1] - axes[0][0]) / max(n_arrows - 1, 1)


def density_with_score(axes, density, points, scores: Mapping[str, np.ndarray], *, value_title: str = "p(x)",
                       colors: Mapping[str, str] | None = None, title: str | None = None) -> dict | None:
    """A density and score fields as arrows: in 2-D the density as a heatmap on a square plot with
    the arrows at ``points`` (A, 2); in 1-D the density as a curve over axes[0] and each score as
    horizontal arrows on the curve (ARROWS_1D of the points), pointing uphill."""
    density = np.asarray(density, dtype=float)
    if not np.any(np.isfinite(density)):
        return None
    colors = colors or dict(zip(scores, [ARROW, LEARNED]))
    if len(axes) == 2:
        x, y, square = equal_axes(*_plane_axes(axes), height=PLANE_SIZE)
        n = max(int(round(np.sqrt(len(np.asarray(points).reshape(-1, 2))))), 2)
        heat, tables = _heat(axes, density, x, y, value_title)
        tables["arrows"] = arrow_table(points, scores, _arrow_spacing(axes, n))
        return _with_grid(chart(*heat, *_arrow_layers(x, y, colors), data=tables, title=title, **square), axes,
                          density, value_title)
    grid = np.asarray(axes[0], dtype=float)
    pick = _sample_rows(grid.size, ARROWS_1D)
    on_curve = np.column_stack([grid[pick], density[pick]])
    flat = {name: np.column_stack([np.asarray(v, dtype=float).reshape(-1)[pick], np.zeros(pick.size)])
            for name, v in scores.items()}
    x = field("x", title="x", scale=_axis_scale(grid[0], grid[-1]))
    y = field("y", title=value_title)
    curve = layer("curve", {"type": "line", "color": PALETTE[0], "strokeWidth": 2}, x=x, y=y,
                  tooltip=[field("x", format=".3g"), field("y", title=value_title, format=".3g")])
    tables = {"curve": table(x=grid, y=density), "arrows": arrow_table(on_curve, flat, _arrow_spacing(axes, ARROWS_1D))}
    return chart(curve, *_arrow_layers(x, y, colors), data=tables, title=title, height=320)


def learned_score(axes, noised_density, points, true_score, learned, *, title: str | None = None) -> dict | None:
    """The true score of p_σ beside the learned s_θ: in 2-D both as arrows over the heatmap of p_σ,
    on one length scale; in 1-D as two curves over x."""
    if len(axes) == 2:
        return density_with_score(axes, noised_density, points,
                                  {SCORE_NAMES[1]: true_score, SCORE_NAMES[2]: learned}, value_title="p_σ(x)",
                                  colors={SCORE_NAMES[1]: ARROW, SCORE_NAMES[2]: LEARNED}, title=title)
    grid = np.asarray(points, dtype=float).reshape(-1)
    return lines(grid, {SCORE_NAMES[1]: np.asarray(true_score).reshape(-1),
                        SCORE_NAMES[2]: np.asarray(learned).reshape(-1)},
                 x_title="x", y_title="score", colors=[ARROW, LEARNED], title=title, height=320)


def particles(axes, density, x, *, title: str | None = None) -> dict | None:
    """Particles (n, 2) over the heatmap of the target, on the target's square view (what lies
    outside it is clipped); at most MAX_PARTICLES of them."""
    x = np.asarray(x, dtype=float).reshape(-1, 2)
    x = x[_sample_rows(len(x), MAX_PARTICLES)]
    px, py, square = equal_axes(*_plane_axes(axes), height=PLANE_SIZE)
    dots = layer("particles", {"type": "circle", "size": 9, "opacity": 0.55, "color": "#d62728", "clip": True},
                 x=px, y=py)
    heat, tables = _heat(axes, density, px, py, "p(x)", opacity=0.7)
    tables["particles"] = table(x=x[:, 0], y=x[:, 1])
    return _with_grid(chart(*heat, dots, data=tables, title=title, **square), axes, density, "p(x)")


def particle_traces(steps, x1, *, marker: float | None = None, box: tuple[float, float] | None = None,
                    title: str | None = None, height: int = 320) -> dict | None:
    """x₁ of TRACED_PARTICLES particles over sampling steps (x1: (S, n), one row per snapshot), and a
    vertical marker at the step shown. The y domain covers the view ``box`` and the traces' central
    99% (at most four times the box), so a broad start stays in view."""
    steps = np.asarray(steps, dtype=float)
    x1 = np.asarray(x1, dtype=float)
    x1 = x1[:, : min(TRACED_PARTICLES, x1.shape[1])]
    frame = table(step=np.repeat(steps, x1.shape[1]), x=x1.reshape(-1),
                  particle=np.tile(np.arange(x1.shape[1]), steps.size))
    if frame.empty:
        return None
    y_scale = {"zero": False}
    if box is not None:
        lo, hi = box
        half, centre = (hi - lo) / 2, (hi + lo) / 2
        q_lo, q_hi = np.percentile(frame["x"], [0.5, 99.5])
        lo, hi = max(min(lo, q_lo), centre - 4 * half), min(max(hi, q_hi), centre + 4 * half)
        y_scale = _axis_scale(lo, hi)
    x = field("step", title="sampling step")
    layers = [layer("traces", {"type": "line", "strokeWidth": 1, "opacity": 0.6, "clip": True}, x=x,
                    y=field("x", title="x₁", scale=y_scale), detail=field("particle", "nominal"),
                    color={"value": PALETTE[0]})]
    tables = {"traces": frame}
    if marker is not None and np.isfinite(marker):
        tables["marker"] = table(step=[float(marker)], label="step shown")
        layers.append(layer("marker", {"type": "rule", "color": NOW, "strokeWidth": 2}, x=x,
                            tooltip=[field("label", "nominal", title="marked"), field("step", format="d")]))
    return chart(*layers, data=tables, title=title, height=height)


def histogram(edges, samples, target, *, title: str | None = None, height: int = 280) -> dict | None:
    """Samples' density per bin as bars against the target's exact density per bin (a green rule
    across each bin)."""
    edges = np.asarray(edges, dtype=float)
    samples, target = np.asarray(samples, dtype=float), np.asarray(target, dtype=float)
    if edges.size < 2 or not np.any(np.isfinite(target)):
        return None
    x = field("lo", title="x₁", scale=_axis_scale(edges[0], edges[-1]))
    tip = [field("lo", format=".3g", title="from"), field("hi", format=".3g", title="to"),
           field("samples", format=".3g"), field("target", format=".3g")]
    bars = layer("bins", {"type": "rect", "color": PALETTE[0], "opacity": 0.55}, x=x, x2={"field": "hi"},
                 y=field("samples", title="density"), y2={"datum": 0}, tooltip=tip)
    level = layer("bins", {"type": "rule", "color": TARGET, "strokeWidth": 2.5}, x=x, x2={"field": "hi"},
                  y=field("target", title="density"), tooltip=tip)
    return chart(bars, level, data={"bins": table(lo=edges[:-1], hi=edges[1:], samples=samples, target=target)},
                 title=title, height=height)


def mode_weights(target, samples, *, title: str | None = None, height: int = 280) -> dict | None:
    """The share of particles per mode as bars, with the target weight as a black tick on each."""
    target, samples = np.asarray(target, dtype=float), np.asarray(samples, dtype=float)
    if target.size == 0:
        return None
    names = [f"mode {k + 1}" for k in range(target.size)]
    x = field("mode", "nominal", title=None, sort=names, axis={"labelAngle": 0})
    bars = layer("weights", {"type": "bar", "color": PALETTE[0], "opacity": 0.8}, x=x,
                 y=field("samples", title="share of particles", scale={"domain": [0, 1]}),
                 tooltip=[field("mode", "nominal"), field("samples", format=".3f", title="samples"),
                          field("target", format=".3f")])
    ticks = layer("weights", {"type": "tick", "color": "black", "thickness": 3}, x=x, y=field("target"),
                  tooltip=[field("mode", "nominal"), field("target", format=".3f", title="target weight")])
    return chart(bars, ticks, data={"weights": table(mode=names, samples=samples, target=target)}, title=title,
                 height=height)


def variance_bias(steps, ula, mala, curve_steps, curve_variance, s2: float, *, current: float | None = None,
                  title: str | None = None, height: int = 420) -> dict | None:
    """Measured stationary variances of unadjusted Langevin and MALA against ε (points), the exact
    curve s²/(1 − ε/(2s²)) (a line), s² itself (dashed) and the current ε (a vertical rule); the
    variance on a log scale. ``height`` is the whole chart's: its legend of four takes four rows in a
    narrow column, and at 320 pixels it left the plot no height at 1024 pixels."""
    steps = np.asarray(steps, dtype=float)
    measured = pd.concat([table(eps=steps, v=np.asarray(ula, dtype=float), series="unadjusted (measured)"),
                          table(eps=steps, v=np.asarray(mala, dtype=float), series="MALA (measured)")],
                         ignore_index=True)
    measured = measured[measured["v"] > 0].reset_index(drop=True)
    curve = table(eps=curve_steps, v=curve_variance, series="exact s²/(1 − ε/(2s²))")
    if measured.empty and curve.empty:
        return None
    names = ["unadjusted (measured)", "MALA (measured)", "exact s²/(1 − ε/(2s²))", "target s²"]
    color = field("series", "nominal", title=None, legend=legend_below(names),
                  scale={"domain": names, "range": [PALETTE[1], PALETTE[2], REFERENCE, "#000000"]})
    x = field("eps", title="step ε")
    y = field("v", title="variance (log scale)", scale={"type": "log"})
    tip = [field("series", "nominal"), field("eps", title="ε", format=".3g"), field("v", title="variance",
                                                                                     format=".4g")]
    layers = [layer("curve", {"type": "line", "strokeWidth": 2}, x=x, y=y, color=color, tooltip=tip),
              layer("measured", {"type": "point", "filled": True, "size": 60, "opacity": 1}, x=x, y=y, color=color,
                    tooltip=tip),
              layer("floor", {"type": "rule", "strokeDash": [6, 4]}, y=y, color=color)]
    tables = {"curve": curve, "measured": measured, "floor": table(v=[float(s2)], series="target s²")}
    if current is not None and np.isfinite(current):
        tables["current"] = table(eps=[float(current)], label="ε now")
        layers.append(layer("current", {"type": "rule", "color": NOW, "strokeWidth": 1.5, "strokeDash": [2, 2]}, x=x,
                            tooltip=[field("label", "nominal", title="marked"), field("eps", format=".3g")]))
    return chart(*layers, data=tables, title=title, height=height)


def paths(processes: Mapping[str, tuple[np.ndarray, np.ndarray]], *, colors: Mapping[str, str],
          reverse_time: bool = False, box: tuple[float, float] | None = None, title: str | None = None,
          height: int = 320) -> dict | None:
    """x₁ against time t of PATH_PARTICLES particles per process, ``processes`` name → (times (S,),
    x₁ (S, n)); ``reverse_time`` runs the t axis from 1 down to 0 (the way back to the data)."""
    frames = []
    for name, (times, x1) in processes.items():
        times, x1 = np.asarray(times, dtype=float), np.asarray(x1, dtype=float)
        x1 = x1[:, : min(PATH_PARTICLES, x1.shape[1])]
        frames.append(table(t=np.repeat(times, x1.shape[1]), x=x1.reshape(-1), series=name,
                            particle=[f"{name} {k}" for k in np.tile(np.arange(x1.shape[1]), times.size)]))
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if data.empty:
        return None
    x = field("t", title="time t", scale={"domain": [0, 1], "reverse": reverse_time})
    y = field("x", title="x₁", scale=_axis_scale(*box) if box else {"zero": False})
    color = field("series", "nominal", title=None, legend=legend_below(processes),
                  scale={"domain": list(processes), "range": [colors[n] for n in processes]})
    return chart(layer("paths", {"type": "line", "strokeWidth": 1, "opacity": 0.7, "clip": True}, x=x, y=y,
                       color=color, detail=field("particle", "nominal"), order=field("t"),
                       tooltip=[field("series", "nominal"), field("t", format=".3f"), field("x", format=".3g")]),
                 data={"paths": data}, title=title, height=height)


def dsm_loss(history, floor: float, *, title: str | None = None) -> dict | None:
    """The DSM loss over training steps with the loss of the true score on the same pairs: the floor
    the noise sets, which no model goes below on average."""
    history = np.asarray(history, dtype=float)
    return lines(np.arange(history.size), {"DSM loss ℓ(θ)": history}, x_title="training step", y_title="ℓ(θ)",
                 rules=[Rule(float(floor), "true score: the floor", TARGET)], title=title,
                 points=history.size < 15, height=300)


def tweedie(clean, noisy, denoised, learned, *, box: Sequence[tuple[float, float]],
            title: str | None = None) -> dict | None:
    """Tweedie's formula: an arrow from each noisy point x̃ (a grey dot) to E[x | x̃] with the true
    score, the estimate with the learned score as a hollow circle, and the clean point as a cross.
    In 1-D the points are stacked (sorted by x̃) so that each arrow is its own row."""
    clean, noisy = np.asarray(clean, dtype=float), np.asarray(noisy, dtype=float)
    denoised, learned = np.asarray(denoised, dtype=float), np.asarray(learned, dtype=float)
    if clean.size == 0:
        return None
    if clean.shape[1] == 1:
        order = np.argsort(noisy[:, 0])
        row = np.empty(len(order))
        row[order] = np.arange(len(order))
        clean, noisy, denoised, learned = (np.column_stack([a[:, 0], row]) for a in (clean, noisy, denoised, learned))
        x = field("x", title="x", scale=_axis_scale(*box[0]))
        y = field("y", title="noisy points, sorted", axis={"labels": False, "ticks": False, "grid": False},
                  scale={"zero": False})
        size = {"height": 360}
    else:
        x, y, size = equal_axes(*_plane_axes([np.array(b) for b in box]), height=PLANE_SIZE)
    move = denoised - noisy
    keep = np.isfinite(move).all(axis=1) & (np.hypot(move[:, 0], move[:, 1]) > 0)
    unit = move[keep] / np.hypot(move[keep, 0], move[keep, 1])[:, None]
    arrows = table(x=noisy[keep, 0], y=noisy[keep, 1], x2=denoised[keep, 0], y2=denoised[keep, 1],
                   angle=90.0 - np.degrees(np.arctan2(unit[:, 1], unit[:, 0])))
    names = ["learned E[x | x̃]", "clean x"]
    color = field("series", "nominal", title=None, legend=legend_below(names),
                  scale={"domain": names, "range": [LEARNED, TARGET]})
    points = pd.concat([table(x=learned[:, 0], y=learned[:, 1], series=names[0]),
                        table(x=clean[:, 0], y=clean[:, 1], series=names[1])], ignore_index=True)
    tip = [field("series", "nominal"), field("x", format=".3g"), field("y", format=".3g")]
    return chart(
        layer("arrows", {"type": "rule", "strokeWidth": 1.2, "color": ARROW, "clip": True}, x=x, y=y,
              x2={"field": "x2"}, y2={"field": "y2"}),
        layer("arrows", {"type": "point", "shape": "triangle-up", "filled": True, "size": 30, "color": ARROW,
                         "opacity": 1, "clip": True}, x={**x, "field": "x2"}, y={**y, "field": "y2"},
              angle=field("angle", scale=None)),
        layer("arrows", {"type": "circle", "size": 14, "color": ARROW, "opacity": 0.5, "clip": True}, x=x, y=y),
        layer("points", {"type": "point", "clip": True, "opacity": 1, "size": 40}, x=x, y=y, color=color,
              shape=field("series", "nominal", title=None, scale={"domain": names, "range": ["circle", "cross"]}),
              tooltip=tip),
        data={"arrows": arrows, "points": points},
        title=title, **size)


# ----------------------------------------------------------------------------- a run's charts, as the page places them

def sampling_charts(r, s) -> list[tuple[dict | None, str]]:
    """(spec, export name) of the charts of the sampling step ``s`` of run ``r``, two by two: in 2-D the
    particles, their traces, the histogram of x₁ and the mode weights; in 1-D the histogram is the
    picture of the particles."""
    histogram_ = (histogram(s.histogram.edges, s.histogram.samples, s.histogram.target,
                            title="Histogram of x₁ against the target"), "histogram")
    weights = (mode_weights(s.mode_weights.target, s.mode_weights.samples, title="Mode weights: samples vs target"),
               "mode_weights")
    traces = (particle_traces(r.snapshots.steps, r.snapshots.states["x"][:, :, 0], marker=s.step, box=r.view_range(),
                              title="Particles over sampling time"), "traces")
    if r.settings.dimension == 2:
        return [(particles(r.field.axes, r.field.density, s.x, title="Particles at the step shown"), "particles"),
                traces, histogram_, weights]
    return [histogram_, traces, weights]


def noising_and_denoising(p, box) -> tuple[dict | None, dict | None]:
    """The forward noising paths, and the reverse SDE beside the probability-flow ODE, of ``p`` (x₁ over t)."""
    def first(process):
        return process.states["t"], process.states["x"][:, :, 0]

    forward = paths({"forward noising": first(p.forward)}, colors={"forward noising": REFERENCE}, box=box,
                    title="Noising: data to noise")
    backward = paths({"reverse SDE": first(p.reverse_sde), "probability-flow ODE": first(p.probability_flow)},
                     colors={"reverse SDE": PALETTE[1], "probability-flow ODE": PALETTE[0]}, reverse_time=True, box=box,
                     title="Denoising with the exact score of p_t")
    return forward, backward
