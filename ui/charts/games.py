"""Charts of two-player games: the field of a game in the plane with the trajectories over it, the
distance to the equilibrium, the eigenvalues of one step in the complex plane, the spectral radius
over (η, γ); and for the 1-D GAN the densities with D(x), the losses, the generator's path in
(a, b) and its gradient against D(G(z)).

Every builder follows ui.charts.core (tables from ``table``, layers from ``layer``, the spec from
``chart``) and returns None when there is nothing finite to draw. Titles carry no live numbers, and
the scale domains change only when the view has to (the eigenvalue plane zooms in steps), so moving
η or the scrubbed step updates the data of a drawn chart in place.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ui.charts import raster
from ui.charts.basic import lines
from ui.charts.core import EXPORT, REFERENCE, chart, equal_axes, field, layer, legend_below, table

PLANE_SIZE = 420  # pixels: the height of the game's plane (its width is the column's, on equal axes)
EIGEN_SIZE = 300
ARROW, START, EQUILIBRIUM, NOW = "#9e9e9e", "#000000", "#7f7f7f", "#222222"
DATA, GENERATED, DISCRIMINATOR = "#2ca02c", "#1f77b4", "#d62728"
MAX_PATH_POINTS = 1000  # per trajectory: longer runs are drawn every k-th step (the last kept)
LEAVE_VIEW = 3.0  # a trajectory is cut after its first point this many view radii out
EIGEN_ZOOMS = (1.25, 1.6, 2.5, 4.0, 6.5, 10.0)  # half-widths of the eigenvalue plane
METHOD_COLORS = {"simultaneous": "#d62728", "alternating": "#ff7f0e", "extragradient": "#2ca02c",
                 "optimistic": "#1f77b4"}  # one colour per method, on every chart of the GANs page
RHO_SCHEME, RHO_DOMAIN = "redblue", (0.5, 1.5)  # reversed: blue below 1, white at ρ = 1, red above
RHO_COLORS = {"scheme": RHO_SCHEME, "domain": list(RHO_DOMAIN), "reverse": True, "clamp": True}


def stacked(series: Mapping[str, Mapping[str, np.ndarray]], **constant) -> pd.DataFrame:
    """One table of several named series, each a mapping of equal-length columns: the columns end to
    end and a ``series`` column naming each row's (one ``table`` call however many series: a chart
    costs the page a few milliseconds per table)."""
    names = list(series)
    columns = list(next(iter(series.values()))) if names else []
    sizes = [len(np.atleast_1d(next(iter(series[name].values())))) for name in names]
    data = {column: np.concatenate([np.asarray(series[name][column]).reshape(-1) for name in names])
            for column in columns}
    extra = {key: np.concatenate([np.full(size, value[name] if isinstance(value, Mapping) else value)
                                  for name, size in zip(names, sizes)]) for key, value in constant.items()}
    return table(**data, **extra, series=np.repeat(np.asarray(names, dtype=object), sizes))


def _square_axes(half_width: float, centre=(0.0, 0.0), x_title: str = "x", y_title: str = "y") -> tuple[dict, dict]:
    scale = lambda c: {"domain": [c - half_width, c + half_width], "nice": False, "zero": False}  # noqa: E731
    return field("x", title=x_title, scale=scale(centre[0])), field("y", title=y_title, scale=scale(centre[1]))


def _thinned(xy: np.ndarray, limit: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a trajectory worth drawing and their step numbers: cut after its first point beyond
    ``limit`` (a runaway spiral leaves the view for good), then at most MAX_PATH_POINTS of them."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    steps = np.arange(len(xy))
    if limit is not None:
        out = np.flatnonzero(~(np.max(np.abs(xy), axis=1) <= limit))
        if out.size:
            xy, steps = xy[: out[0] + 1], steps[: out[0] + 1]
    if len(xy) > MAX_PATH_POINTS:
        pick = np.unique(np.append(np.arange(0, len(xy), int(np.ceil(len(xy) / MAX_PATH_POINTS))), len(xy) - 1))
        xy, steps = xy[pick], steps[pick]
    return xy, steps


def arrows(points, vectors, spacing: float) -> pd.DataFrame:
    """One row per arrow: tail (x, y), head (x2, y2), the head's angle for a triangle-up symbol
    (degrees clockwise from up) and |v|. Lengths grow like √|v| up to 0.8 of the grid spacing
    (the field's strength varies a lot across the view); zero and non-finite vectors are left out."""
    p, v = np.asarray(points, dtype=float).reshape(-1, 2), np.asarray(vectors, dtype=float).reshape(-1, 2)
    size = np.hypot(v[:, 0], v[:, 1])
    keep = np.isfinite(size) & (size > 0) & np.isfinite(p).all(axis=1)
    p, v, size = p[keep], v[keep], size[keep]
    if size.size == 0:
        return table(x=np.empty(0), y=np.empty(0))
    length = 0.8 * spacing * np.sqrt(size / size.max())
    unit = v / size[:, None]
    head = p + unit * length[:, None]
    angle = 90.0 - np.degrees(np.arctan2(unit[:, 1], unit[:, 0]))
    return table(x=p[:, 0], y=p[:, 1], x2=head[:, 0], y2=head[:, 1], angle=angle, strength=size)


def game_plane(points, vectors, *, radius: float, paths: Mapping[str, np.ndarray], colors: Mapping[str, str],
               chosen: str | None = None, start=None, now: Mapping[str, np.ndarray] | None = None,
               x_title: str = "x", y_title: str = "y", size: int = PLANE_SIZE, title: str | None = None) -> dict | None:
    """The field v as arrows on [−radius, radius]² (equal axes), the trajectories ``paths`` (T, 2) over
    it (``chosen`` drawn thicker), the equilibrium (0, 0), the ``start`` and each path's position
    ``now`` (the scrubbed step). What leaves the view is clipped."""
    radius = float(radius)
    if not np.isfinite(radius) or radius <= 0:
        return None
    n = max(int(round(np.sqrt(len(np.asarray(points).reshape(-1, 2))))), 2)
    tables = {"arrows": arrows(points, vectors, 2 * radius / (n - 1))}
    drawn = {name: dict(zip(("xy", "step"), _thinned(xy, LEAVE_VIEW * radius))) for name, xy in paths.items()}
    if drawn:
        tables["paths"] = stacked({name: {"x": d["xy"][:, 0], "y": d["xy"][:, 1], "step": d["step"]}
                                   for name, d in drawn.items()},
                                  weight={name: 3.0 if name == chosen else 1.6 for name in drawn})
    marks = {"equilibrium": [0.0, 0.0]} if start is None else {"equilibrium": [0.0, 0.0], "start": start}
    tables["marks"] = table(x=[float(v[0]) for v in marks.values()], y=[float(v[1]) for v in marks.values()],
                            series=list(marks))
    if now:
        tables["now"] = table(x=[float(v[0]) for v in now.values()], y=[float(v[1]) for v in now.values()],
                              series=list(now))
    if not any(len(t) for name, t in tables.items() if name != "marks"):
        return None
    x, y, square = equal_axes(*_square_axes(radius, x_title=x_title, y_title=y_title), height=size)
    names = list(paths) + list(marks)
    color = field("series", "nominal", title=None, legend=legend_below(names),
                  scale={"domain": names, "range": [colors[n] for n in paths] + [EQUILIBRIUM, START][: len(marks)]})
    tip = [field("series", "nominal"), field("x", format=".4g"), field("y", format=".4g")]
    layers = [
        layer("arrows", {"type": "rule", "color": ARROW, "strokeWidth": 1, "clip": True}, x=x, y=y,
              x2={"field": "x2"}, y2={"field": "y2"}, tooltip=[field("x", format=".3g"), field("y", format=".3g"),
                                                       field("strength", title="|v|", format=".3g")]),
        layer("arrows", {"type": "point", "shape": "triangle-up", "filled": True, "size": 22, "color": ARROW,
                         "opacity": 1, "clip": True}, x={**x, "field": "x2"}, y={**y, "field": "y2"},
              angle=field("angle", scale=None)),
    ]
    if "paths" in tables:
        layers.append(layer("paths", {"type": "line", "clip": True}, x=x, y=y, color=color, order=field("step"),
                            strokeWidth=field("weight", scale=None, legend=None),
                            tooltip=[*tip, field("step", format="d")]))
    layers.append(layer("marks", {"type": "point", "shape": "cross", "filled": True, "size": 120, "opacity": 1,
                                  "clip": True}, x=x, y=y, color=color, tooltip=tip))
    if now:
        layers.append(layer("now", {"type": "point", "filled": True, "size": 110, "opacity": 1, "stroke": "white",
                                    "strokeWidth": 1, "clip": True}, x=x, y=y, color=color, tooltip=tip))
    return chart(*layers, data=tables, title=title, **square)


def distance(distances: Mapping[str, np.ndarray], *, colors: Mapping[str, str], chosen: str | None = None,
             marker: float | None = None, marker_label: str = "step shown", title: str | None = None,
             height: int = 420) -> dict | None:
    """‖z_t − z*‖ against step t on a log scale, one line per method (``chosen`` thicker; a run that
    blew up ends early; zero distances, which a log axis cannot show, are left out) and a vertical
    ``marker`` at the step shown."""
    values = {name: np.asarray(d, dtype=float) for name, d in distances.items()}
    data = stacked({name: {"step": np.arange(d.size), "d": np.where(d > 0, d, np.nan)} for name, d in values.items()},
                   weight={name: 3.0 if name == chosen else 1.6 for name in values})
    if data.empty:
        return None
    x = field("step", title="step t")
    layers = [layer("distance", "line", x=x, y=field("d", title="‖z_t‖ (log scale)", scale={"type": "log"}),
                    color=field("series", "nominal", title=None, legend=legend_below(distances),
                                scale={"domain": list(distances), "range": [colors[n] for n in distances]}),
                    strokeWidth=field("weight", scale=None, legend=None),
                    tooltip=[field("series", "nominal"), field("step", format="d"), field("d", title="‖z_t‖",
                                                                                           format=".4g")])]
    tables = {"distance": data}
    if marker is not None and np.isfinite(marker):
        tables["marker"] = table(step=[float(marker)], label=marker_label)
        layers.append(layer("marker", {"type": "rule", "color": NOW, "strokeWidth": 2}, x=x,
                            tooltip=[field("label", "nominal", title="marked")]))
    return chart(*layers, data=tables, title=title, height=height)


def eigen_zoom(eigenvalues) -> float:
    """The half-width of the eigenvalue plane: the smallest of EIGEN_ZOOMS holding every |λ| with a
    margin (the spec stays the same while the eigenvalues move within it)."""
    lam = np.asarray(eigenvalues, dtype=complex).reshape(-1)
    reach = float(np.max(np.abs(lam[np.isfinite(lam)]), initial=0.0))
    return next((z for z in EIGEN_ZOOMS if 1.08 * reach <= z), EIGEN_ZOOMS[-1])


def eigenvalue_plane(eigenvalues, *, size: int = EIGEN_SIZE, title: str | None = None) -> dict | None:
    """The eigenvalues λ of one step in the complex plane, with the unit circle (inside: that
    direction shrinks every step, outside: it grows) and the circle |λ| = ρ through the largest."""
    lam = np.asarray(eigenvalues, dtype=complex).reshape(-1)
    lam = lam[np.isfinite(lam)]
    if lam.size == 0:
        return None
    rho = float(np.max(np.abs(lam)))
    turn = np.linspace(0.0, 2 * np.pi, 121)
    circles = stacked({"unit circle |λ| = 1": {"x": np.cos(turn), "y": np.sin(turn), "order": np.arange(121)},
                       "|λ| = ρ": {"x": rho * np.cos(turn), "y": rho * np.sin(turn), "order": np.arange(121)}})
    points = table(re=lam.real, im=lam.imag, modulus=np.abs(lam), name=[f"λ{k + 1}" for k in range(lam.size)])
    x, y, square = equal_axes(*_square_axes(eigen_zoom(lam), x_title="Re λ", y_title="Im λ"), height=size)
    color = field("series", "nominal", title=None, legend=legend_below(["unit circle |λ| = 1", "|λ| = ρ"]),
                  scale={"domain": ["unit circle |λ| = 1", "|λ| = ρ"], "range": [REFERENCE, "#444444"]})
    dash = field("series", "nominal", legend=None,
                 scale={"domain": ["unit circle |λ| = 1", "|λ| = ρ"], "range": [[1, 0], [4, 3]]})
    return chart(
        {"data": {"values": [{}]}, "mark": {"type": "rule", "color": "#dddddd"}, "encoding": {"x": {"datum": 0}}},
        {"data": {"values": [{}]}, "mark": {"type": "rule", "color": "#dddddd"}, "encoding": {"y": {"datum": 0}}},
        layer("circles", {"type": "line", "clip": True}, x=x, y=y, order=field("order"), color=color, strokeDash=dash,
              detail=field("series", "nominal")),
        layer("eigenvalues", {"type": "point", "filled": True, "size": 130, "opacity": 1, "stroke": "#222222",
                              "strokeWidth": 1, "clip": True},
              x={**x, "field": "re"}, y={**y, "field": "im"},
              fill=field("modulus", title="|λ|", scale=RHO_COLORS, legend=None),
              tooltip=[field("name", "nominal", title="eigenvalue"), field("re", title="Re λ", format=".4f"),
                       field("im", title="Im λ", format=".4f"), field("modulus", title="|λ|", format=".4f")]),
        data={"circles": circles, "eigenvalues": points},
        title=title, **square)


def radius_map(etas, gammas, radii, *, current: tuple[float, float, float] | None = None,
               title: str | None = None, height: int = 340) -> dict | None:
    """ρ(η, γ) as coloured cells (rows over γ), blue below 1 (converges), red above (spirals out),
    white at 1; the current (η, γ) marked."""
    etas, gammas, radii = (np.asarray(v, dtype=float) for v in (etas, gammas, radii))
    if etas.size < 2 or gammas.size < 2 or radii.shape != (gammas.size, etas.size) or not np.isfinite(radii).any():
        return None
    eta_edges, gamma_edges = raster.outer_edges(etas), raster.outer_edges(gammas)
    x = field("x", title="step size η", scale={"domain": list(eta_edges), "nice": False, "zero": False})
    y = field("y", title="penalty γ", scale={"domain": list(gamma_edges), "nice": False, "zero": False})
    tip = [field("eta", title="η", format=".3f"), field("gamma", title="γ", format=".3f"),
           field("rho", title="ρ", format=".4f")]
    # one picture of the cells (ui.charts.raster), not 1,200 rectangles for the browser to encode and paint
    layers, tables = raster.heat_layers(radii, eta_edges, gamma_edges, x, y, scheme=RHO_SCHEME, value_title="ρ",
                                        domain=RHO_DOMAIN, reverse=True)
    if current is not None and all(np.isfinite(current)):
        tables["current"] = table(x=[float(current[0])], y=[float(current[1])], eta=[float(current[0])],
                                  gamma=[float(current[1])], rho=[float(current[2])], label="these settings")
        layers.append(layer("current", {"type": "point", "shape": "diamond", "filled": True, "size": 150,
                                        "color": NOW, "stroke": "white", "strokeWidth": 1.5, "clip": True},
                            x=x, y=y, tooltip=[field("label", "nominal", title="marked"), *tip]))
    spec = chart(*layers, data=tables, title=title, height=height)
    spec[EXPORT] = {"cells": raster.grid_table(radii, etas, gammas, x="eta", y="gamma", value="rho")}
    return spec


# ----------------------------------------------------------------------------- the 1-D GAN

def densities(x, real, generated, discriminator, *, real_label: str = "data", generated_label: str = "generator",
              title: str | None = None, height: int = 380) -> dict | None:
    """The real and the generated density on the left axis, D(x) on the right one (0 to 1, with
    the undecided 1/2 dotted)."""
    x = np.asarray(x, dtype=float)
    density = stacked({real_label: {"x": x, "y": np.asarray(real, dtype=float)},
                       generated_label: {"x": x, "y": np.asarray(generated, dtype=float)}})
    d = table(x=x, d=np.asarray(discriminator, dtype=float), series="D(x)")
    if density.empty and d.empty:
        return None
    names = [real_label, generated_label, "D(x)"]
    color = field("series", "nominal", title=None, legend=legend_below(names),
                  scale={"domain": names, "range": [DATA, GENERATED, DISCRIMINATOR]})
    x_enc = field("x", title="x")
    d_axis = field("d", title="D(x)", scale={"domain": [0, 1]}, axis={"orient": "right"})
    return chart(
        layer("density", {"type": "area", "opacity": 0.25, "line": True}, x=x_enc,
              y=field("y", title="density", stack=None), color=color,
              tooltip=[field("series", "nominal"), field("x", format=".3g"),
                       field("y", title="density", format=".3g")]),
        {"layer": [
            layer("discriminator", {"type": "line", "strokeWidth": 2.5}, x=x_enc, y=d_axis, color=color,
                  tooltip=[field("x", format=".3g"), field("d", title="D(x)", format=".3f")]),
            {"data": {"values": [{}]}, "mark": {"type": "rule", "strokeDash": [2, 3], "color": DISCRIMINATOR,
                                                "opacity": 0.6},
             "encoding": {"y": {"datum": 0.5, "type": "quantitative"}}},  # D = ½: undecided
        ]},
        data={"density": density, "discriminator": d},
        title=title, height=height, resolve={"scale": {"y": "independent"}})


def losses(loss_d, loss_g, *, marker: float | None = None, title: str | None = None, height: int = 300) -> dict | None:
    """L_D and L_G of every training step (step t's batch, before its update)."""
    loss_d, loss_g = np.asarray(loss_d, dtype=float), np.asarray(loss_g, dtype=float)
    return lines(np.arange(1, loss_d.size + 1), {"L_D (discriminator)": loss_d, "L_G (generator)": loss_g},
                 x_title="training step", y_title="loss", colors=[DISCRIMINATOR, GENERATED], title=title,
                 height=height, marker=marker, marker_label="step shown")


def generator_path(a, b, *, target: tuple[float, float], at: tuple[float, float] | None = None,
                   title: str | None = None, height: int = 380) -> dict | None:
    """The generator's parameters (a, b) step by step, the data's (±s, μ) (a and −a give the same
    N(b, a²)) and the step shown."""
    ab = np.column_stack([np.asarray(a, dtype=float), np.asarray(b, dtype=float)])
    ab, steps = _thinned(ab, None)
    path = table(a=ab[:, 0], b=ab[:, 1], step=steps)
    if path.empty:
        return None
    s, mu = target
    tables = {"path": path, "target": table(a=[s, -s], b=[mu, mu], label=["data (s, μ)", "data (−s, μ)"])}
    a_enc, b_enc = field("a", title="a (spread of G(z) = az + b)"), field("b", title="b (mean)")
    layers = [
        layer("path", {"type": "line", "color": GENERATED, "strokeWidth": 1.5}, x=a_enc, y=b_enc, order=field("step"),
              tooltip=[field("step", format="d"), field("a", format=".3f"), field("b", format=".3f")]),
        layer("target", {"type": "point", "shape": "cross", "filled": True, "size": 160, "color": DATA, "opacity": 1},
              x=a_enc, y=b_enc, tooltip=[field("label", "nominal", title="target"), field("a", format=".3g"),
                                          field("b", format=".3g")]),
    ]
    if at is not None and all(np.isfinite(at)):
        tables["now"] = table(a=[float(at[0])], b=[float(at[1])], label="step shown")
        layers.append(layer("now", {"type": "point", "filled": True, "size": 120, "color": NOW, "opacity": 1,
                                    "stroke": "white", "strokeWidth": 1},
                            x=a_enc, y=b_enc, tooltip=[field("label", "nominal", title="marked"),
                                                       field("a", format=".3f"), field("b", format=".3f")]))
    return chart(*layers, data=tables, title=title, height=height)


def generator_gradient(d, curves: Mapping[str, np.ndarray], *, batch_d: Sequence[float] | None = None,
                       colors: Sequence[str] = ("#9467bd", GENERATED), title: str | None = None,
                       height: int = 380) -> dict | None:
    """|∂L_G/∂h| per fake sample against D(G(z)) for each generator loss (log–log), and where a
    batch of fakes sits (``batch_d``, ticks along the bottom)."""
    d = np.asarray(d, dtype=float)
    data = stacked({name: {"d": d, "g": np.asarray(values, dtype=float)} for name, values in curves.items()})
    if not data.empty:
        data = data[(data["d"] > 0) & (data["g"] > 0)].reset_index(drop=True)
    if data.empty:
        return None
    x = field("d", title="D(G(z)), how real D finds a fake (log scale)", scale={"type": "log"})
    names = list(curves)
    layers = [layer("curves", {"type": "line", "strokeWidth": 2.5}, x=x,
                    y=field("g", title="|∂L_G/∂h| (log scale)", scale={"type": "log"}),
                    color=field("series", "nominal", title=None, legend=legend_below(names),
                                scale={"domain": names, "range": list(colors[: len(names)])}),
                    tooltip=[field("series", "nominal"), field("d", title="D(G(z))", format=".2e"),
                             field("g", title="|∂L_G/∂h|", format=".2e")])]
    tables = {"curves": data}
    if batch_d is not None:
        batch = table(d=np.asarray(batch_d, dtype=float))
        batch = batch[batch["d"] > 0].reset_index(drop=True)
        if len(batch):
            tables["batch"] = batch
            layers.append(layer("batch", {"type": "rule", "color": NOW, "strokeWidth": 1.5, "opacity": 0.7}, x=x,
                                y={"value": "height"}, y2={"value": {"expr": "height - 14"}},
                                tooltip=[field("d", title="D(G(z))", format=".3g")]))
    return chart(*layers, data=tables, title=title, height=height)
