"""Charts of a tracked object: paths, points and covariance ellipses in the plane on equal axes,
and a consistency test (NEES or NIS) against its 95% bands.

The plane chart has a fixed square plot area and the same span on both axes, so one metre is as
long across as up and a circle looks round; it is drawn at its own size, not stretched. A scrubber
marks one step on it (``marked`` points and ``rings``, drawn larger) and on the consistency chart
(``marker``, a vertical rule).

Both builders follow ui.charts.core: tables from ``table``, layers from ``layer``, the spec from
``chart``; titles carry no live numbers, so a rerun updates the data in place.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ui.charts.core import chart, equal_axes, field, layer, legend_below, table

TRUTH, MEASURED, ESTIMATE, ELLIPSE, PRIOR, NOW = "#2ca02c", "#d62728", "#1f77b4", "#6baed6", "#ff7f0e", "#222222"
PLANE_SIZE = 400  # pixels: the plot area's height (its width is the column's, on equal axes)
STEP_BAND, MEAN, MEAN_BAND, VALUES = "#7f7f7f", "#d62728", "#ff9896", "#1f77b4"
SYMLOG_TICKS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 1e5, 1e6, 1e7, 1e8)
MARKS = {"paths": {"type": "line", "strokeWidth": 2}, "outlines": {"type": "line", "strokeWidth": 1},
         "rings": {"type": "line", "strokeWidth": 3}, "points": {"type": "circle", "opacity": 0.75},
         "marked": {"type": "point", "filled": True, "size": 140, "opacity": 1, "stroke": "white", "strokeWidth": 1}}


def _rows(named: dict[str, np.ndarray], outline: bool = False):
    """One table (x, y, series, group, order) of (N, 2) arrays, or of (E, P, 2) outlines: one group
    per outline, its points in order. Non-finite points are dropped (by ``table``)."""
    columns = {"x": [], "y": [], "series": [], "group": [], "order": []}
    for name, xy in named.items():
        xy = np.asarray(xy, dtype=float)
        per_group = xy.shape[1] if outline and xy.ndim == 3 else max(xy.size // 2, 1)
        xy = xy.reshape(-1, 2)
        group, order = np.divmod(np.arange(len(xy)), per_group)
        for column, values in zip(columns.values(), (xy[:, 0], xy[:, 1], np.repeat(name, len(xy)), group, order)):
            column.append(values)
    if not columns["x"]:
        return table(x=np.empty(0), y=np.empty(0))
    return table(**{name: np.concatenate(parts) for name, parts in columns.items()})


def equal_domains(focus, margin: float = 0.06) -> tuple[list[float], list[float]] | None:
    """x and y domains of the same span, centred on the finite points of ``focus`` (…, 2)."""
    xy = np.asarray(focus, dtype=float).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if xy.size == 0:
        return None
    low, high = xy.min(axis=0), xy.max(axis=0)
    span = float(max(high - low)) * (1 + 2 * margin) or 1.0
    centre = (low + high) / 2
    return [float(centre[0] - span / 2), float(centre[0] + span / 2)], \
        [float(centre[1] - span / 2), float(centre[1] + span / 2)]


def plane(*, paths: dict[str, np.ndarray] | None = None, points: dict[str, np.ndarray] | None = None,
          outlines: dict[str, np.ndarray] | None = None, marked: dict[str, np.ndarray] | None = None,
          rings: dict[str, np.ndarray] | None = None, colors: dict[str, str], focus=None, size: int = PLANE_SIZE,
          point_size: float = 14, title: str | None = None, x_title: str = "x (m)",
          y_title: str = "y (m)") -> dict | None:
    """Paths (N, 2) as lines, points (M, 2) as dots and outlines (E, P, 2) as closed curves, on equal
    axes that frame ``focus`` (default: everything); what falls outside is clipped. ``marked`` points
    and ``rings`` (outlines) are drawn larger: one step picked out. A name may label both a point
    and an outline (an estimate and its ellipse): it gets one legend entry. Non-finite rows are
    dropped; returns None when nothing finite is left."""
    kinds = {"paths": _rows(paths or {}), "outlines": _rows(outlines or {}, outline=True),
             "rings": _rows(rings or {}, outline=True), "points": _rows(points or {}),
             "marked": _rows(marked or {})}
    kinds = {kind: data for kind, data in kinds.items() if len(data)}
    everything = [np.asarray(xy, dtype=float).reshape(-1, 2)
                  for group in (paths, outlines, rings, points, marked) for xy in (group or {}).values()]
    domains = equal_domains(np.concatenate(everything) if focus is None else focus) if kinds else None
    if domains is None:
        return None
    names = list(dict.fromkeys([*(paths or {}), *(outlines or {}), *(rings or {}), *(points or {}), *(marked or {})]))
    encoding = {
        "x": field("x", title=x_title, scale={"domain": domains[0], "nice": False, "zero": False}),
        "y": field("y", title=y_title, scale={"domain": domains[1], "nice": False, "zero": False}),
        "color": field("series", "nominal", title=None, scale={"domain": names, "range": [colors[n] for n in names]},
                        legend=legend_below(names)),
        "tooltip": [field("series", "nominal"), field("x", format=".3f"), field("y", format=".3f")],
    }
    encoding["x"], encoding["y"], size_settings = equal_axes(encoding["x"], encoding["y"], height=size)
    layers = []
    for kind in kinds:
        mark = {**MARKS[kind], "clip": True, **({"size": point_size} if kind == "points" else {})}
        extra = {} if kind in ("points", "marked") else {"order": field("order"), "detail": field("group", "nominal")}
        layers.append(layer(kind, mark, **encoding, **extra))
    return chart(*layers, data=kinds, title=title, **size_settings)


def consistency(x: Sequence[float], values: Sequence[float], *, name: str, step_band: tuple[float, float],
                mean: float, mean_band: tuple[float, float], x_title: str, title: str | None = None,
                height: int = 340, marker: float | None = None, marker_label: str = "now") -> dict | None:
    """A normalized squared error at each step (NEES or NIS) with the 95% band of one step (dotted),
    the mean over the run (solid) and the 95% band of that mean (shaded), on a symmetric-log y axis
    so that both a consistent run (values of a few units) and a wildly overconfident one fit; and an
    optional vertical ``marker`` (the step a scrubber shows). ``height`` is the whole chart's, legend
    and title included (Streamlit fits the chart into it)."""
    x, values = np.asarray(x, dtype=float), np.asarray(values, dtype=float)
    keep = np.isfinite(x) & np.isfinite(values)
    if not keep.any():
        return None
    labels = [f"{name} at each step", "95% band of one step", f"mean {name}", "95% band of the mean"]
    top = max(float(values[keep].max()), step_band[1], mean_band[1], mean if np.isfinite(mean) else 0.0)
    ticks = [t for t in SYMLOG_TICKS if t <= 1.5 * top] + [t for t in SYMLOG_TICKS if t > 1.5 * top][:1]
    y = field("y", title=name, scale={"type": "symlog", "constant": 1}, axis={"values": ticks})
    x_enc = field("x", title=x_title)
    color = field("series", "nominal", title=None, legend=legend_below(labels),
                  scale={"domain": labels, "range": [VALUES, STEP_BAND, MEAN, MEAN_BAND]})
    tables = {
        "values": table(x=x[keep], y=values[keep], series=labels[0]),
        "band": table(y=[mean_band[0]], y2=[mean_band[1]], series=[labels[3]]),
        "rules": table(y=[*step_band, mean], series=[labels[1], labels[1], labels[2]], dash=["step", "step", "mean"]),
    }
    tooltip = [field("series", "nominal"), field("y", format=".3g")]
    layers = [
        layer("band", {"type": "rect", "opacity": 0.35}, y=y, y2={"field": "y2"}, color=color, tooltip=tooltip),
        layer("values", {"type": "line", "strokeWidth": 1, "opacity": 0.85}, x=x_enc, y=y, color=color,
              tooltip=[field("x", title=x_title, format=".2f"), field("y", title=name, format=".3g")]),
        layer("rules", {"type": "rule", "strokeWidth": 1.5}, y=y, color=color, tooltip=tooltip,
              strokeDash=field("dash", "nominal", legend=None,
                               scale={"domain": ["step", "mean"], "range": [[2, 3], [1, 0]]})),
    ]
    if marker is not None and np.isfinite(marker):
        tables["marker"] = table(x=[float(marker)], label=marker_label)
        layers.append(layer("marker", {"type": "rule", "color": NOW, "strokeWidth": 2}, x=x_enc,
                            tooltip=[field("label", "nominal", title="marked")]))
    return chart(*layers, data=tables, title=title, height=height)


# ----------------------------------------------------------------------------- the sensor-fusion views

VEHICLE, ITS_ESTIMATE = "the vehicle at the step", "its estimate and 2σ ellipse"
PRIOR_LABEL, SENSOR_LABEL, FUSED_LABEL, CORRECTION = "prediction x̂⁻, P⁻", "measurement z, R", "update x̂, P", "correction K ν"
DRIVE_COLORS = {"true path": TRUTH, "EKF estimate": ESTIMATE, "measurements": MEASURED, "2σ ellipse of P": ELLIPSE,
                VEHICLE: NOW, ITS_ESTIMATE: "#9467bd"}
STEP_COLORS = {CORRECTION: "#444444", PRIOR_LABEL: PRIOR, SENSOR_LABEL: MEASURED, FUSED_LABEL: ESTIMATE, "truth": TRUTH}


def drive(truth, estimates, measurements, ellipses, *, vehicle, estimate, ring) -> dict | None:
    """A whole drive — true path, estimates, measurements, 2σ ellipses along the way — with one step
    picked out: the vehicle there, its estimate and that estimate's 2σ ellipse. Positions (…, 2)."""
    return plane(paths={"true path": truth, "EKF estimate": estimates}, points={"measurements": measurements},
                 outlines={"2σ ellipse of P": ellipses}, marked={VEHICLE: np.reshape(vehicle, (1, 2)),
                                                                ITS_ESTIMATE: np.reshape(estimate, (1, 2))},
                 rings={ITS_ESTIMATE: np.reshape(ring, (1, -1, 2))}, colors=DRIVE_COLORS,
                 focus=np.concatenate([np.reshape(truth, (-1, 2)), np.reshape(measurements, (-1, 2))]),
                 title="The drive, on equal axes")


def fusion_step(*, truth, prior, prior_ellipse, measurement, measurement_ellipse, posterior,
                posterior_ellipse) -> dict | None:
    """One predict and update in the plane: the prediction, the measurement and the fused estimate,
    each with its 2σ ellipse, the correction K ν between them, and the truth. Positions (2,)."""
    ellipses = {PRIOR_LABEL: prior_ellipse, SENSOR_LABEL: measurement_ellipse, FUSED_LABEL: posterior_ellipse}
    centres = {"truth": truth, PRIOR_LABEL: prior, SENSOR_LABEL: measurement, FUSED_LABEL: posterior}
    return plane(paths={CORRECTION: np.array([prior, posterior])},
                 outlines={name: np.reshape(e, (1, -1, 2)) for name, e in ellipses.items()},
                 points={name: np.reshape(p, (1, 2)) for name, p in centres.items()}, colors=STEP_COLORS, size=380,
                 point_size=90, title="One step: the 2σ ellipses")
