"""The one way the lab writes a chart: a Vega-Lite spec as a dict, its data as named tables.

Why dicts and not Altair objects: the specs are what Altair would emit, but building and
serializing them through Altair took 15–40 ms per chart on a 2-core machine (schema validation and
deep copies of the data); built directly a spec costs well under a millisecond. The tests validate
every builder's output against the Vega-Lite schema Altair ships (``tests/vega_schema.valid``).

Why named tables (``"datasets"``): Streamlit ships each as Arrow beside the spec, and when a rerun
changes only the data the browser updates the drawn chart in place instead of embedding it again
(measured in headless Chromium: a re-embedded chart costs ≈ 15 ms more, plus its data; 1,000 points
≈ 60 ms, 300 points ≈ 5 ms). So a builder keeps everything that depends on the values out of the
spec — live numbers in titles go in captions, colour limits and ink colours go in the data (a table
named with a leading "_" holds such helpers and stays out of the CSV export) — and keeps points per
chart to a few hundred. The x and y domains a builder writes (a view box, :func:`equal_axes`) are moved
into a one-row table by :func:`stable` when the chart is sent, so they don't change the spec either.

Adding a chart, in four steps::

    def loss_curve(steps, loss) -> dict | None:
        data = table(step=steps, loss=loss)              # 1. columns → a table (non-finite → null)
        if data.empty:
            return None                                  # 2. nothing to draw: show() says so
        line = layer("curve", "line", x=field("step", title="step"),   # 3. layers name their table
                     y=field("loss", title="L", scale={"type": "log"}))
        return chart(line, data={"curve": data}, title="Loss")          # 4. the spec

and on a page ``ui.charts.show(loss_curve(t, L), "The loss is not finite.", export="loss")``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#7f7f7f", "#e377c2"]
MUTED = "#c7c7c7"
REFERENCE = "#7f7f7f"
SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
EXPORT = "_export"  # a spec's tables for its CSV download only (a picture's grid values): never sent
PRESENTER_FONTS = {"axis": {"labelFontSize": 15, "titleFontSize": 16}, "legend": {"labelFontSize": 15, "titleFontSize": 15},
                   "title": {"fontSize": 19}, "header": {"labelFontSize": 15}, "text": {"fontSize": 14}}


@dataclass(frozen=True)
class Rule:
    """A horizontal reference line with a legend entry (a baseline, a threshold, a bound)."""

    value: float
    label: str
    color: str = REFERENCE


def field(name: str, kind: str = "quantitative", **more) -> dict:
    """An encoding channel: ``field("x", title="epoch")``."""
    return {"field": name, "type": kind, **more}


def table(**columns) -> pd.DataFrame:
    """A chart's table from equal-length columns (arrays, lists or scalars). Rows with a non-finite
    number in a float column are dropped: a diverged run ends its line instead of breaking the axis.
    The mask is taken on the arrays before the frame exists (≈ 0.2 ms a table, not 2 ms)."""
    n = max((len(np.atleast_1d(c)) for c in columns.values() if np.ndim(c) > 0), default=1)
    arrays = {name: np.asarray(c) if np.ndim(c) > 0 else np.repeat(c, n) for name, c in columns.items()}
    keep = np.ones(n, dtype=bool)
    for values in arrays.values():
        if values.dtype.kind == "f":
            keep &= np.isfinite(values)
    if not keep.all():
        arrays = {name: values[keep] for name, values in arrays.items()}
    return pd.DataFrame(arrays)


def layer(data: str, mark: str | dict, **encoding) -> dict:
    """One layer drawing table ``data`` with ``mark`` and the given channels."""
    return {"data": {"name": data}, "mark": {"type": mark} if isinstance(mark, str) else mark,
            "encoding": encoding}


Y_LABEL_ROOM = 44  # pixels for the y labels of an equal-axes plot ("-12.5", "1e+03")

# ----------------------------------------------------------------------------- legends that fit their room
# Streamlit's chart theme writes legend labels in 14-pixel Source Sans (5.2 to 6.8 pixels a character, measured
# in Chromium, 6.6 on average for the longest labels here). At 1024 pixels with the sidebar open, the narrowest
# chart of the lab is ≈ 220 pixels wide, and a legend below it starts after the y axis (≈ 50 pixels) and its
# own padding: LEGEND_ROOM is what is left.
LEGEND_CHAR = 6.6
LEGEND_ENTRY = 18  # the symbol and the gap before its label
LEGEND_GAP = 8  # between two columns
LEGEND_ROOM = 160


def _words_in_lines(text: str, room: float, char: float) -> list[str]:
    """``text`` in lines of at most ``room`` pixels at ``char`` pixels a character, broken between words
    only (a word longer than a line gets a line of its own)."""
    lines: list[str] = []
    for word in text.split():
        if lines and (len(lines[-1]) + 1 + len(word)) * char <= room:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [text]


def legend_below(names, **more) -> dict:
    """A legend under the chart that a chart ≈ 220 pixels wide shows whole: two columns when two of its
    labels fit side by side there, else one, and a label too long for the room on two lines or more,
    broken between words (a row of two long labels was cut off at the chart's right edge: "alte",
    "MALA (m"). ``more`` adds or overrides legend properties."""
    names = [str(n) for n in names]
    width = [LEGEND_ENTRY + LEGEND_CHAR * len(n) for n in names]
    two = len(names) > 1 and max(width[0::2]) + max(width[1::2]) + LEGEND_GAP <= LEGEND_ROOM
    room = LEGEND_ROOM - LEGEND_ENTRY
    legend = {"orient": "bottom", "columns": 2 if two else 1, "labelLimit": int(room + LEGEND_CHAR)}
    wrapped = {n: lines for n in names if len(lines := _words_in_lines(n, room, LEGEND_CHAR)) > 1}
    if wrapped:  # Vega draws an array of strings as lines; the names in the data stay as they are
        legend["labelExpr"] = f"{json.dumps(wrapped, ensure_ascii=False)}[datum.label] || datum.label"
    return {**legend, **more}




def equal_axes(x: dict, y: dict, *, height: int) -> tuple[dict, dict, dict]:
    """x and y encodings drawn with one unit the same length on both axes, at any container width.

    ``x`` and ``y`` carry in ``scale.domain`` the box that must stay in view. The chart spans its
    container and its plot area is ``height`` pixels tall; the domains widen along the longer side
    (never shrink), by expressions of the plot's width and height that the browser evaluates as the
    column resizes — a circle stays round and nothing is cut off, in a narrow column or on a phone.
    Returns the two encodings and the chart's size settings (``chart(..., **size)``).
    """
    (x_lo, x_hi), (y_lo, y_hi) = (map(float, e["scale"]["domain"]) for e in (x, y))
    sx, sy = x_hi - x_lo or 1.0, y_hi - y_lo or 1.0
    # the view's span along each axis: the box's, or the other span in the plot's proportions
    span_x = f"max({sx!r}, {sy!r} * max(width, 1) / max(height, 1))"
    span_y = f"max({sy!r}, {sx!r} * max(height, 1) / max(width, 1))"

    def widened(encoding: dict, centre: float, span: str) -> dict:
        scale = {**encoding["scale"], "nice": False, "zero": False,
                 "domainMin": {"expr": f"{centre!r} - {span} / 2"}, "domainMax": {"expr": f"{centre!r} + {span} / 2"}}
        return {**encoding, "scale": scale}

    size = {"width": "container", "height": int(height), "autosize": {"type": "fit-x", "contains": "padding"}}
    x, y = widened(x, (x_lo + x_hi) / 2, span_x), widened(y, (y_lo + y_hi) / 2, span_y)
    # The plot's padding must not hang on the numbers the axes show: the span reads the plot's width,
    # the width is what the padding leaves, and a redraw in place (new data, same spec) does not go
    # round that circle again, so an axis would end up a few pixels off. A label that would stick out
    # past the end of its axis is left out, and the y labels get a fixed room.
    if x.get("axis", {}) is not None:
        x = {**x, "axis": {"labelBound": True, **x.get("axis", {})}}
    if y.get("axis", {}) is not None:
        y = {**y, "axis": {"labelBound": True, "minExtent": Y_LABEL_ROOM, "maxExtent": Y_LABEL_ROOM, **y.get("axis", {})}}
    return x, y, size


def chart(*layers: dict, data: dict[str, pd.DataFrame], title: str | list[str] | None = None, **top) -> dict:
    """A layered spec with its named tables; ``top`` sets width, height, a shared encoding and the like."""
    spec = {"$schema": SCHEMA, "datasets": data, "layer": list(layers), **top}
    # No ARIA description per mark: Vega-Lite would build one string per point, bar and cell on
    # every redraw (through Vega's expression interpreter: ≈ 30% of the browser's time on a page of
    # 1,000 particles and three 32 × 32 heatmaps), and a screen reader gains nothing from a list of
    # a thousand coordinates. The chart's title and the caption under it stay.
    spec["config"] = {"aria": False, **spec.get("config", {})}
    # Drawn on a canvas: Streamlit's default is SVG below 2,000 points, one DOM element per mark, and
    # creating and setting those was the browser's next largest cost after the descriptions.
    spec["usermeta"] = {"embedOptions": {"renderer": "canvas"}}
    if title:
        spec["title"] = title
    return spec


PRESENTER_TEXT = 1.3  # the presenter view's factor for text marks that set their own size
CELL_FONT_MAX = "cell_font_max"  # the signal capping a heatmap's cell numbers (basic.cell_text), in pixels
PRESENTER_CELL_FONT = 16  # its value in the presenter view (12 otherwise): still fitted to the cells


def presenter_config(spec: dict) -> dict:
    """The spec with larger type, for a projector: axes, legends and titles through the config; text
    marks that set their own size (value labels on bars, a rule's label) ×1.3, except text held to
    a cell (``limit``); heatmap numbers up to 16 pixels where their cells leave room."""
    def grown(part):
        if isinstance(part, list):
            return [grown(p) for p in part]
        if not isinstance(part, dict):
            return part
        out = {k: v if k in ("datasets", EXPORT) else grown(v) for k, v in part.items()}  # tables as they are
        mark = out.get("mark")
        if isinstance(mark, dict) and mark.get("type") == "text" and "limit" not in mark \
                and isinstance(mark.get("fontSize"), (int, float)):
            out["mark"] = {**mark, "fontSize": round(mark["fontSize"] * PRESENTER_TEXT)}
        if isinstance(out.get("params"), list):
            out["params"] = [{**p, "value": PRESENTER_CELL_FONT} if p.get("name") == CELL_FONT_MAX else p
                             for p in out["params"]]
        return out

    return grown({**spec, "config": {**PRESENTER_FONTS, **spec.get("config", {})}})


TITLE_CHAR = 7.8  # pixels per character of a title at Streamlit's 16 px bold (28 characters measured ≈ 205 px)
PRESENTER_TITLE_CHAR = 9.3  # at the presenter view's 19 px
TITLE_LINES = 4  # a title is broken into at most this many lines


def fitted_title(spec: dict, char: float = TITLE_CHAR) -> dict:
    """The spec with its title broken between words into as few lines as the plot's width, as drawn,
    holds. Vega cuts a title longer than the plot with "…" ("The episode: angle and posi…" in a
    third of a 1024-pixel page), and the width is known only in the browser: the title becomes an
    expression of Vega's ``width`` signal choosing among the breaks worked out here, the longest line
    of each at ``char`` pixels a character. The title as written stays in ``usermeta`` (for
    :func:`as_built`). A spec without a single view (concatenated ones), or a title of one word, is
    returned as it is."""
    title = spec.get("title")
    if not isinstance(title, str) or len(title.split()) < 2 or not ("layer" in spec or "mark" in spec):
        return spec
    by_count: dict[int, list[str]] = {}
    for room in range(len(title), 0, -1):  # the narrowest break with k lines has the shortest longest line
        lines = _words_in_lines(title, room, 1.0)
        if len(lines) > TITLE_LINES:
            break
        by_count[len(lines)] = lines
    options = []
    for count in sorted(by_count):
        longest = max(len(line) for line in by_count[count])
        if not options or longest < options[-1][0]:
            options.append((longest, by_count[count]))
    if len(options) == 1:
        return spec

    def text(lines):
        return json.dumps(lines[0] if len(lines) == 1 else lines, ensure_ascii=False)

    expr = "".join(f"width >= {longest * char:.0f} ? {text(lines)} : " for longest, lines in options[:-1])
    expr += text(options[-1][1])
    return {**spec, "title": {"text": {"expr": expr}}, "usermeta": {**spec.get("usermeta", {}), "title": title}}


def jsonable(spec: dict) -> dict:
    """The spec with its tables as lists of rows (what a Vega renderer or a schema validator reads);
    the tables kept for the CSV download only are left out."""
    def rows(frame):
        return json.loads(frame.to_json(orient="records", double_precision=15)) if isinstance(frame, pd.DataFrame) \
            else frame
    return {**drawn_part(spec), "datasets": {name: rows(frame) for name, frame in spec.get("datasets", {}).items()}}


def drawn_part(spec: dict) -> dict:
    """The spec without its download-only tables (what is sent and drawn)."""
    return {k: v for k, v in spec.items() if k != EXPORT} if EXPORT in spec else spec


def to_csv(spec: dict) -> str:
    """The data behind a chart as CSV: one block of named columns per table, tables joined with a
    ``table`` column when there are several. Tables named with a leading "_" (a scale's limits drawn
    invisibly, a picture) are not data and stay out; the download-only tables (a picture's grid
    values, ``spec[EXPORT]``) go in."""
    frames = {name: frame for name, frame in spec.get("datasets", {}).items()
              if isinstance(frame, pd.DataFrame) and not name.startswith("_")}
    frames.update(spec.get(EXPORT, {}))
    if len(frames) == 1:
        return next(iter(frames.values())).to_csv(index=False)
    joined = pd.concat([frame.assign(table=name) for name, frame in frames.items()], ignore_index=True, sort=False)
    return joined.to_csv(index=False)


def to_svg(spec: dict) -> str:
    """The chart as SVG, rendered from the same spec (for slides)."""
    import vl_convert

    if spec.get("width") == "container":  # no container here: a plot as wide as it is tall
        spec = {**spec, "width": spec.get("height", 300)}
    return vl_convert.vegalite_to_svg(jsonable(spec))


def arrow_table(frame: pd.DataFrame):
    """A chart table as a pyarrow Table, column by column — what Streamlit would send, made ≈ 4× faster
    than its own pandas → Arrow conversion (0.2 ms a table, not 0.9: pandas metadata and index handling
    skipped; a chart needs neither). NaN becomes null, as pandas → Arrow makes it."""
    import pyarrow as pa

    columns = [pa.array(frame[name].to_numpy(), from_pandas=True) for name in frame.columns]
    return pa.Table.from_arrays(columns, names=[str(name) for name in frame.columns])


LIFTED = "_lifted"  # the one-row table that carries a spec's value-dependent numbers
LIFTED_ROW = "lifted"  # the signal holding that row, which the scales read
# a decimal number in an expression, with its sign when the sign is unary (at the start, or after an
# operator, a bracket or a comma): "-0.32 - max(8.2, …)" and "0.0 - max(8.2, …)" lift to the same text
_NUMBER = re.compile(r"(^|[(,+\-*/?:]\s*)(-?)(\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)(?![\w.])")


def stable(spec: dict) -> dict:
    """The spec with its data-dependent numbers moved into a one-row table, so that a rerun that
    changes only values sends the same spec and the browser updates the drawn chart in place.

    What moves: the numeric domains of the x and y scales (``"domain": [lo, hi]``) and the decimal
    numbers in their ``domainMin`` / ``domainMax`` expressions (what :func:`equal_axes` writes).
    Colour scales keep theirs (a literal domain sizes the legend). Each becomes a read
    of column ``vN`` of table ``_lifted`` through Vega's ``data()``, which re-evaluates when that
    table changes. A layer that keeps none of its rows names the table, so that Vega defines it.
    Everything else is returned unchanged; a spec with nothing to move is returned as it is.
    Measured in headless Chromium on the Diffusion page: nine of its twelve specs changed on every
    move of a slider, so nine charts were built again from scratch each time.
    """
    if "layer" not in spec:
        return spec
    values: list[float] = []
    # Layers that share a scale each write its domain, and Vega-Lite merges them only if they read
    # the same signals: one set of columns per (channel and setting, what was written), whatever
    # layer wrote it. Not one per distinct number — two settings that agree in one run only (a square
    # box's width and height) would then change the spec from run to run.
    lifted_at: dict[tuple, object] = {}

    def read(number: float) -> str:
        values.append(float(number))
        return f"{LIFTED_ROW}.v{len(values) - 1}"

    def once(where: tuple, build):
        if where not in lifted_at:
            lifted_at[where] = build()
        return lifted_at[where]

    def walk(node, channel=None):
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if channel and k == "domain" and isinstance(v, list) and v and all(
                        isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x) for x in v):
                    out[k] = once((channel, k, tuple(v)), lambda v=v: [{"expr": read(x)} for x in v])
                elif channel and k in ("domainMin", "domainMax") and isinstance(v, dict) \
                        and isinstance(v.get("expr"), str):
                    text = v["expr"]
                    out[k] = {**v, "expr": once((channel, k, text),
                                                lambda text=text: _NUMBER.sub(
                                                    lambda m: m.group(1) + read(float(m.group(2) + m.group(3))), text))}
                elif k == "datasets":
                    out[k] = v
                else:
                    out[k] = walk(v, channel or (k if k in ("x", "y") else None))
            return out
        if isinstance(node, list):
            return [walk(v, channel) for v in node]
        return node

    lifted = walk(spec)
    if not values:
        return spec
    # the row, once the table is in; {} (numbers undefined) in the one evaluation before Streamlit inserts it
    params = [*lifted.get("params", []), {"name": LIFTED_ROW, "expr": f"data('{LIFTED}')[0] || {{}}"}]
    # it draws nothing and adds nothing to a scale: no rows pass its filter, and its position is a
    # fixed value (with no x and y at all Vega-Lite would style the plot as a bare view)
    holder = {"data": {"name": LIFTED}, "transform": [{"filter": "false"}], "mark": {"type": "point", "aria": False},
              "encoding": {"x": {"value": 0}, "y": {"value": 0}}}
    row = pd.DataFrame({f"v{n}": [v] for n, v in enumerate(values)})
    return {**lifted, "params": params, "layer": [*lifted["layer"], holder],
            "datasets": {**lifted.get("datasets", {}), LIFTED: row}}


_READ = re.compile(rf"\b{LIFTED_ROW}\.v(\d+)\b")


def as_built(spec: dict) -> dict:
    """The inverse of :func:`stable`: a drawn spec with its lifted numbers put back where the
    builder wrote them (what a test reads off a page). The table may be a frame or a list of rows."""
    meta = spec.get("usermeta", {})
    if "title" in meta:  # a title fitted to the plot's width (fitted_title): as written
        spec = {**spec, "title": meta["title"], "usermeta": {k: v for k, v in meta.items() if k != "title"}}
    table = spec.get("datasets", {}).get(LIFTED)
    if table is None:
        return spec
    row = table.iloc[0].to_dict() if isinstance(table, pd.DataFrame) else table[0]

    def value(match: re.Match) -> float:
        return float(row[f"v{match.group(1)}"])

    def walk(node):
        if isinstance(node, dict):
            if set(node) == {"expr"} and isinstance(node["expr"], str) and _READ.fullmatch(node["expr"]):
                return value(_READ.fullmatch(node["expr"]))
            return {k: (_READ.sub(lambda m: repr(value(m)), v) if k == "expr" and isinstance(v, str) else
                        v if k == "datasets" else walk(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    built = walk(spec)
    built["layer"] = [layer for layer in built["layer"] if layer.get("data", {}).get("name") != LIFTED]
    built["params"] = [p for p in built.get("params", []) if p.get("name") != LIFTED_ROW]
    if not built["params"]:
        del built["params"]
    built["datasets"] = {name: rows for name, rows in built["datasets"].items() if name != LIFTED}
    return built


def show(spec: dict | None, empty_message: str = "Nothing to draw for these settings.", *, container=None,
         export: str | None = None) -> None:
    """Draw a spec across the container's width (at its own size when it sets a numeric width), or say
    why there is none. ``export`` names the files of a small download menu: the chart's data as CSV
    and the chart as SVG, each built only when clicked."""
    where = container or st
    if spec is None:
        where.info(empty_message, icon=":material/info:")
        return
    from ui import workshop  # the presenter view enlarges type

    presenting = workshop.presenting()
    if presenting:
        spec = presenter_config(spec)
    fixed = isinstance(spec.get("width"), (int, float))
    drawn = stable(fitted_title(drawn_part(spec), PRESENTER_TITLE_CHAR if presenting else TITLE_CHAR))
    sent = {**drawn, "datasets": {name: arrow_table(frame) if isinstance(frame, pd.DataFrame) else frame
                                 for name, frame in drawn.get("datasets", {}).items()}}
    where.vega_lite_chart(sent, width="content" if fixed else "stretch")
    if export:
        page = st.session_state.get("_lab_page", "")
        with where.popover("Download", icon=":material/download:", type="tertiary"):
            st.download_button("Data (CSV)", data=lambda: to_csv(spec), file_name=f"{export}.csv", mime="text/csv",
                               on_click="ignore", icon=":material/table:", key=f"{page}:csv:{export}")
            st.download_button("Chart (SVG)", data=lambda: to_svg(spec), file_name=f"{export}.svg",
                               mime="image/svg+xml", on_click="ignore", icon=":material/image:",
                               key=f"{page}:svg:{export}")


def show_grid(charts, columns: int = 2) -> None:
    """Charts, each ``(spec, export name)``, in rows of ``columns`` side by side (a None spec says why)."""
    for n, (spec, export) in enumerate(charts):
        if n % columns == 0:
            row = st.columns(columns, gap="large")
        show(spec, container=row[n % columns], export=export)


def show_beside(spec: dict | None, export: str, *, words: str, caption: str | None = None,
                widths: tuple[int, int] = (3, 2), empty_message: str = "Nothing to draw for these settings.") -> None:
    """A chart with its explanation beside it (one line in the presenter view) and, under that, a caption
    with the run's numbers."""
    from ui import workshop

    left, right = st.columns(list(widths), gap="large")
    show(spec, empty_message, container=left, export=export)
    with right:
        workshop.explain(words)
        if caption:
            st.caption(caption)
