"""ui.charts: every builder's output is valid Vega-Lite, its data are named tables with non-finite
rows dropped, and the exports hold exactly the charted data."""

import csv
import io

import numpy as np
import pytest

from tests.vega_schema import rows, valid
from ui import charts
from ui.charts import core


def test_table_drops_rows_with_a_non_finite_number_and_broadcasts_scalars():
    a = np.array([1.0, np.nan, 3.0, np.inf])
    frame = core.table(x=a, s=list("abcd"), k=2.0)
    assert frame.to_dict("list") == {"x": [1.0, 3.0], "s": ["a", "c"], "k": [2.0, 2.0]}
    assert core.table(x=[], y=[]).empty
    assert core.table(n=np.arange(3), s="q").to_dict("list") == {"n": [0, 1, 2], "s": ["q", "q", "q"]}


def test_lines_are_valid_drop_non_finite_points_and_keep_rules_and_the_marker_in_their_own_tables():
    spec = valid(charts.lines(
        np.arange(5), {"train": [1.0, 0.5, np.nan, 0.3, np.inf], "test": [1.1, 0.7, 0.6, 0.6, 0.65]},
        x_title="epoch", y_title="RMSE", rules=[charts.Rule(0.9, "baseline"), charts.Rule(np.nan, "missing")],
        title="curves", marker=3))
    series = rows(spec, "series")
    assert sum(r["series"] == "train" for r in series) == 3 and sum(r["series"] == "test" for r in series) == 5
    assert rows(spec, "rules") == [{"y": 0.9, "series": "baseline"}]
    assert rows(spec, "marker") == [{"x": 3.0, "label": "now"}]


def test_lines_on_a_log_axis_drop_non_positive_values():
    spec = valid(charts.lines([1, 2, 3], {"loss": [1.0, 0.0, -1.0]}, x_title="x", y_title="y", log_y=True))
    assert [r["y"] for r in rows(spec, "series")] == [1.0]


@pytest.mark.parametrize("series", [{}, {"a": [np.nan, np.nan]}, {"a": []}])
def test_lines_with_nothing_finite_are_none(series):
    assert charts.lines([0, 1], series, x_title="x", y_title="y") is None


def _without_data(spec):
    return {k: v for k, v in spec.items() if k != "datasets"}


@pytest.mark.parametrize("build", [
    lambda v: charts.lines(np.arange(5), {"loss": v[:5]}, x_title="t", y_title="L", title="Loss", marker=v[0]),
    lambda v: charts.scatter_against_identity(v, v * 1.1 + 1, x_title="a", y_title="b"),
    lambda v: charts.heatmap(v.reshape(2, 5), diverging=True),
    lambda v: charts.heatmap(v.reshape(2, 5)),
    lambda v: charts.matrix(v.reshape(2, 5)),
    lambda v: charts.bars(list("abcdefghij"), v, value_title="p"),
    lambda v: charts.stacked_contributions(list("ab"), {"p": v[:2], "q": v[2:4]}, category_title=None,
                                           value_title="v"),
])
def test_the_spec_of_a_chart_does_not_change_when_only_its_data_do(build):
    """The browser updates a chart in place when its spec is unchanged: builders keep data out of it."""
    rng = np.random.default_rng(0)
    first, second = build(rng.normal(size=10)), build(10 * rng.normal(size=10) + 3)
    assert _without_data(first) == _without_data(second)


def test_heatmap_is_valid_with_a_symmetric_diverging_domain_blank_cells_and_distinct_labels():
    matrix = np.array([[0.5, -2.0], [1.0, np.nan]])
    spec = valid(charts.heatmap(matrix, x_labels=["a", "b"], y_labels=["r", "r"], diverging=True))
    rect, limits, text = spec["layer"]
    assert sorted(r["value"] for r in rows(spec, "_limits")) == [-2.0, 2.0]  # limits symmetric about zero
    assert limits["mark"]["opacity"] == 0 and text["mark"]["type"] == "text"
    assert [r["ink"] for r in rows(spec, "cells")] == ["black", "white", "black"]  # |v| > 0.6 · 2 → white
    cells = rows(spec, "cells")
    assert len(cells) == 3 and {r["row"] for r in cells} == {"r", "r (2)"}
    big = valid(charts.heatmap(np.zeros((20, 20))))
    assert "text" not in [layer["mark"]["type"] for layer in big["layer"]]  # too many cells to write on


@pytest.mark.parametrize("matrix", [np.zeros((0, 3)), np.full((2, 2), np.nan), np.zeros(4)])
def test_heatmap_of_nothing_drawable_is_none(matrix):
    assert charts.heatmap(matrix) is None


def test_matrix_cells_carry_every_value_on_a_fixed_cell_size():
    w = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0]])
    spec = valid(charts.matrix(w))
    assert spec["width"] == 3 * spec["height"] / 2
    assert sorted(r["value"] for r in rows(spec, "cells")) == sorted(w.ravel())
    assert charts.matrix(np.array([[np.nan]])) is None


def test_scatter_against_identity_samples_large_inputs_and_skips_non_finite_pairs():
    x = np.arange(5000.0)
    y = x.copy()
    y[:10] = np.nan
    spec = valid(charts.scatter_against_identity(x, y, x_title="a", y_title="b", max_points=300))
    assert len(rows(spec, "points")) == 300 and len(rows(spec, "identity")) == 2
    assert all(np.isfinite(r["y"]) for r in rows(spec, "points"))
    assert charts.scatter_against_identity([np.nan], [1.0], x_title="a", y_title="b") is None


def test_stacked_contributions_total_tick_is_the_sum_of_the_parts():
    spec = valid(charts.stacked_contributions(["a", "b"], {"p": [1.0, -1.0], "q": [0.5, 2.0]},
                                              category_title=None, value_title="v"))
    assert {r["category"]: r["total"] for r in rows(spec, "totals")} == {"a": 1.5, "b": 1.0}
    assert charts.stacked_contributions([], {}, category_title=None, value_title="v") is None


def test_sweep_is_valid_on_a_log_axis_with_the_current_setting_marked_on_the_roomy_side():
    spec = valid(charts.sweep([1, 4, 16, 64, 256], {"a": [1.0, 0.8, np.nan, 0.2, 0.1], "b": [1, 1, 1, 1, 1]},
                              x_title="d_k", y_title="H", current=200, current_label="now",
                              rules=[charts.Rule(1.5, "max")], log_base=2, title="t"))
    series = rows(spec, "series")
    assert sum(p["series"] == "a" for p in series) == 4 and sum(p["series"] == "b" for p in series) == 5
    assert rows(spec, "current") == [{"x": 200.0, "label": "now"}]
    assert spec["layer"][-1]["mark"]["align"] == "right"
    assert charts.sweep([1, 2], {"a": [np.nan, np.nan]}, x_title="x", y_title="y") is None
    assert len(valid(charts.sweep([1, 2], {"a": [1, 2]}, x_title="x", y_title="y", current=0))["layer"]) == 1


def _label_mark(spec):
    mark = spec["layer"][-1]
    assert mark["mark"]["type"] == "text"
    return mark["encoding"]["y"]["value"], mark["mark"]["baseline"]


def test_the_current_settings_label_goes_where_the_lines_leave_room():
    x = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    falling = [1.0, 0.98, 0.95, 0.9, 0.6, 0.3, 0.1, 0.05, 0.02]
    # the line runs along the top beside d_k = 2: the label goes to the bottom, inside the plot
    spec = valid(charts.sweep(x, {"a": falling}, x_title="d_k", y_title="H", current=2, log_base=2, height=300))
    assert _label_mark(spec) == ({"expr": "height"}, "bottom")
    # beside d_k = 128 the line is near the bottom: the label stays at the top
    spec = valid(charts.sweep(x, {"a": falling}, x_title="d_k", y_title="H", current=128, log_base=2, height=300))
    assert _label_mark(spec) == (0, "top")
    # a rule at the top counts too, across the whole width
    spec = valid(charts.sweep(x, {"a": [0.5] * 9}, x_title="d_k", y_title="H", current=128, log_base=2,
                              rules=[charts.Rule(1.0, "max")]))
    assert _label_mark(spec)[1] == "bottom"
    # lines through both bands: the freer one (here the top, crossed by one line against two)
    spec = valid(charts.sweep(x, {"a": [1.0] * 9, "b": [0.01] * 9, "c": [0.02] * 9}, x_title="d_k",
                              y_title="H", current=16, log_base=2))
    assert _label_mark(spec)[1] == "top"


def test_bars_keep_their_order_and_grey_out_inactive_ones():
    spec = valid(charts.bars(["b", "a", "c"], [0.2, 0.5, 0.3], value_title="p", active=[True, False, True],
                             inactive_label="masked", domain=(0, 1), title="t"))
    bars = rows(spec, "bars")
    assert [r["category"] for r in bars] == ["b", "a", "c"] and [r["status"] for r in bars] == ["", "masked", ""]
    assert spec["encoding"]["y"]["scale"]["domain"] == [0, 1]
    assert charts.bars(["a", "b"], [1.0], value_title="v") is None


def test_the_csv_export_holds_exactly_the_charted_rows_with_named_columns():
    spec = charts.lines(np.arange(4), {"train": [1.0, 0.5, np.nan, 0.3]}, x_title="epoch", y_title="RMSE",
                        rules=[charts.Rule(0.9, "baseline")])
    exported = list(csv.DictReader(io.StringIO(charts.to_csv(spec))))
    assert [(r["table"], r["series"]) for r in exported] == [("series", "train")] * 3 + [("rules", "baseline")]
    single = list(csv.DictReader(io.StringIO(charts.to_csv(charts.matrix(np.eye(2))))))
    assert [float(r["value"]) for r in single] == [1.0, 0.0, 0.0, 1.0]


def test_the_svg_export_renders_the_same_spec():
    pytest.importorskip("vl_convert")
    svg = charts.to_svg(charts.lines([0, 1, 2], {"loss": [3.0, 2.0, 1.0]}, x_title="step", y_title="L", title="Loss"))
    assert svg.startswith("<svg") and "Loss" in svg


def test_the_presenter_view_enlarges_the_type_of_any_spec():
    spec = charts.presenter_config(charts.matrix(np.eye(2)))
    assert spec["config"]["axis"]["labelFontSize"] > 11
    valid(spec)


def test_the_presenter_view_also_enlarges_numbers_on_bars_and_cells_but_not_text_held_to_a_cell():
    """Axis labels grew in the presenter view while the numbers on bars (10 px) and heatmap cells
    (≤ 12 px) stayed as small as on a laptop."""
    import re

    pytest.importorskip("vl_convert")
    import importlib

    bar = importlib.import_module("ui.charts.bars").bars(["a", "b"], [1.0, 2.0], value_title="v", category_title="c")
    label = next(l for l in bar["layer"] if isinstance(l["mark"], dict) and l["mark"]["type"] == "text")
    grown = next(l for l in core.presenter_config(bar)["layer"] if isinstance(l["mark"], dict)
                 and l["mark"]["type"] == "text")
    assert grown["mark"]["fontSize"] > label["mark"]["fontSize"] * 1.2
    fitted = charts.matrix(np.eye(2))  # text with a limit: sized to its fixed cells, left alone
    assert [l["mark"] for l in core.presenter_config(fitted)["layer"]] == [l["mark"] for l in fitted["layer"]]

    def cell_fonts(spec):  # the sizes of the numbers written on the cells, as drawn
        texts = re.findall(r'<text[^>]*font-size="([\d.]+)px"[^>]*>([^<]*)<', charts.to_svg(spec))
        return {float(size) for size, words in texts if words in {"0.25", "-0.10", "0.20"}}

    heat = charts.basic.heatmap(np.array([[0.25, -0.1], [-0.1, 0.2]]), diverging=True, cell=60)
    assert cell_fonts(heat) == {12.0} and cell_fonts(core.presenter_config(heat)) == {16.0}
    small = charts.basic.heatmap(np.arange(4.0).reshape(2, 2), cell=14)  # cells too small to grow into
    assert core.presenter_config(small)["params"] == [{"name": core.CELL_FONT_MAX, "value": core.PRESENTER_CELL_FONT}]
    assert valid(core.presenter_config(heat)) and valid(core.presenter_config(bar))


def test_a_chart_as_wide_as_its_column_exports_as_svg_on_equal_axes():
    from ui.charts import tracking

    turn = np.linspace(0, 6, 50)
    spec = tracking.plane(paths={"path": np.c_[turn, np.sin(turn)]}, colors={"path": "#000000"})
    assert spec["width"] == "container"  # no column to fit in a file: drawn as wide as it is tall
    svg = charts.to_svg(spec)
    assert svg.startswith("<svg") and f'width="{tracking.PLANE_SIZE}"' in svg


def test_show_grid_show_beside_and_metrics_place_what_they_are_given():
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        import ui
        from ui import charts as kit

        spec = kit.lines([0, 1, 2], {"loss": [3.0, 2.0, 1.0]}, x_title="step", y_title="L")
        kit.show_grid([(spec, "a"), (spec, "b"), (None, "c")])
        kit.show_beside(spec, "d", words="Why it falls.", caption="After 2 steps: 1.0.")
        ui.panels.metrics(("Loss", "1.0", "the last"), dict(label="Steps", value="2", reference="of 2"))
        st.write("end")

    at = AppTest.from_function(script).run()
    assert not at.exception, at.exception
    assert len(at.get("vega_lite_chart")) == 3 and len(at.info) == 1  # the missing one says why
    assert any(c.value == "After 2 steps: 1.0." for c in at.caption)
    assert any("Why it falls." in m.value for m in at.markdown) or any("Why it falls." in c.value for c in at.caption)
    loss, steps = at.metric
    assert (loss.label, loss.value, steps.label, steps.value, steps.delta) == ("Loss", "1.0", "Steps", "2", "of 2")
    # a reference, not a change: grey and without an arrow (Streamlit's default delta is green, pointing up)
    from streamlit.proto.Metric_pb2 import Metric

    assert steps.proto.color == Metric.MetricColor.GRAY and steps.proto.direction == Metric.MetricDirection.NONE


def test_every_chart_is_drawn_on_a_canvas_without_a_description_per_mark_and_sent_as_arrow_tables():
    spec = charts.basic.lines(np.arange(5), {"loss": np.linspace(1, 0, 5)}, x_title="epoch", y_title="L")
    assert spec["config"]["aria"] is False and spec["usermeta"]["embedOptions"]["renderer"] == "canvas"
    assert valid(spec) and core.presenter_config(spec)["config"]["aria"] is False
    frame = core.table(step=np.arange(3), loss=[0.5, np.nan, 0.25], series="train")
    arrow = core.arrow_table(frame)
    assert arrow.column_names == ["step", "loss", "series"] and arrow.num_rows == 2
    assert arrow.column("loss").to_pylist() == [0.5, 0.25] and arrow.column("series").to_pylist() == ["train"] * 2
    assert core.arrow_table(core.table(x=[])).num_rows == 0


def _plane(box, points):
    """An equal-axes plot of points and a path over them, its view box set by ``box``."""
    x, y, size = core.equal_axes(core.field("x", scale={"domain": box[0]}), core.field("y", scale={"domain": box[1]}),
                                 height=260)
    data = {"points": core.table(x=points[:, 0], y=points[:, 1]), "path": core.table(x=points[:, 0], y=points[:, 1])}
    return core.chart(core.layer("points", "point", x=x, y=y), core.layer("path", "line", x=x, y=y),
                      data=data, title="plane", **size)


def _bars_on_a_fixed_axis(values, top):
    """Two layers on one x scale with a literal domain, and a shared y encoding from the top level."""
    data = {"bars": core.table(x=np.arange(len(values)) + 0.5, v=values)}
    x = core.field("x", scale={"domain": [0, top], "nice": False})
    return core.chart(core.layer("bars", "bar", x=x), core.layer("bars", {"type": "tick", "color": "black"}, x=x),
                      data=data, encoding={"y": core.field("v", scale={"domain": [0, 1]})}, height=200)


STABLE_CASES = [
    lambda rng, k: _plane([[-1.0 - k, 2.5 + k], [-0.5, 0.75 * k + 1.0]], rng.normal(size=(30, 2))),
    lambda rng, k: _bars_on_a_fixed_axis(rng.uniform(size=5), 5.0 + 2.0 * k),
    # a centre at 0.0 in one run and below zero in the next: the sign is part of the lifted number
    lambda rng, k: _plane([[-3.0 * (k - 1.0) - 1.0, 1.0], [-2.0, 2.0 - (k - 1.0)]], rng.normal(size=(20, 2))),
]


@pytest.mark.parametrize("build", STABLE_CASES)
def test_a_drawn_spec_keeps_its_numbers_in_a_table_so_that_new_numbers_send_the_same_spec(build):
    rng = np.random.default_rng(3)
    first, second = build(rng, 1.0), build(rng, 2.5)
    assert _without_data(first) != _without_data(second)  # the builder's specs differ (their domains)...
    sent_first, sent_second = valid(core.stable(first)), valid(core.stable(second))
    assert _without_data(sent_first) == _without_data(sent_second)  # ...the drawn ones do not
    assert sent_first["datasets"][core.LIFTED] != sent_second["datasets"][core.LIFTED]
    assert core.as_built(sent_first) == valid(first)


def _png(spec) -> np.ndarray:
    """The chart rendered by Vega itself (vl_convert), its tables at full precision."""
    import vl_convert
    from PIL import Image

    spec = {**spec, "width": 320, "datasets": {name: frame.to_dict("records")
                                               for name, frame in spec["datasets"].items()}}
    return np.asarray(Image.open(io.BytesIO(vl_convert.vegalite_to_png(spec, scale=1))))


@pytest.mark.parametrize("build", STABLE_CASES)
def test_a_drawn_spec_renders_pixel_for_pixel_what_the_builder_drew(build):
    """The lifted numbers reach the scales (Vega's data() in their domains): the same picture, not
    an empty plot, and the hidden layer that holds the table adds no mark, legend or margin."""
    spec = build(np.random.default_rng(5), 1.5)
    drawn = core.stable(spec)
    assert drawn is not spec and core.LIFTED in drawn["datasets"]
    before, after = _png(spec), _png(drawn)
    assert before.shape == after.shape and np.array_equal(before, after)


def test_only_decimal_numbers_of_x_and_y_domains_are_lifted():
    spec = core.chart(core.layer("t", "point", x=core.field("x", scale={"domainMin": {"expr": "x1 - 2.5e-3 * max(width, 1)"}}),
                                 y=core.field("y"), color=core.field("c", scale={"domain": [0.5, 1.5]})),
                      data={"t": core.table(x=[1.0], y=[2.0], c=[1.0])})
    drawn = core.stable(spec)
    x_min = drawn["layer"][0]["encoding"]["x"]["scale"]["domainMin"]["expr"]
    assert x_min == "x1 - lifted.v0 * max(width, 1)"  # x1 is a name and 1 an integer: both stay
    assert drawn["layer"][0]["encoding"]["color"]["scale"]["domain"] == [0.5, 1.5]  # a colour scale keeps its own
    assert drawn["datasets"][core.LIFTED].to_dict("records") == [{"v0": 2.5e-3}]
    plain = charts.lines(np.arange(3), {"a": [1.0, 2.0, 3.0]}, x_title="t", y_title="a")
    assert core.stable(plain) is plain  # nothing to lift: the spec as it was


def test_a_matrix_writes_a_tiny_negative_as_zero_without_a_sign():
    from ui.charts.basic import matrix

    spec = valid(matrix(np.array([[-0.001, 0.5], [-0.25, -4e-7]]), value_format=".2f"))
    labels = [r["label"] for r in rows(spec, "cells")]
    assert labels == ["0.00", "0.50", "-0.25", "0.00"]  # "-0.00" read as a sign that means nothing


# ----------------------------------------------------------------------------- text that fits its room

def _svg_texts(spec: dict, width: int) -> list[str]:
    """Every text Vega draws for ``spec`` at a plot ``width`` pixels wide (vl_convert, SVG)."""
    import html
    import re

    vl_convert = pytest.importorskip("vl_convert")
    svg = vl_convert.vegalite_to_svg({**valid(spec), "width": width})
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return [html.unescape(re.sub(r"<[^>]+>", " ", t)).strip() for t in texts]


def _cell_numbers(spec: dict, width: int) -> list[str]:
    labels = {r["label"] for r in rows(valid(spec), "cells")}
    compact = {label.replace("0.", ".", 1) for label in labels}
    return [t for t in _svg_texts(spec, width) if t in labels | compact]


def test_a_heatmap_writes_its_values_only_where_its_cells_have_room_for_them():
    """Cell text is sized to the cells as drawn: a 4 × 4 matrix in a 200-pixel plot carries all 16 numbers,
    a 12 × 12 one (17-pixel cells) none — the tooltip still has them — and a 5 × 5 Jacobian whose
    "-0.104" does not fit falls back to "-.104" before it falls silent."""
    rng = np.random.default_rng(1)
    small, large = rng.uniform(size=(4, 4)), rng.uniform(size=(12, 12))
    assert len(_cell_numbers(charts.heatmap(small), 200)) == 16
    assert _cell_numbers(charts.heatmap(large, height=300), 200) == []
    assert len(_cell_numbers(charts.heatmap(large, height=700), 700)) == 144  # room enough: all written
    jacobian = charts.heatmap(rng.uniform(-0.25, 0.25, size=(5, 5)), diverging=True, value_format=".3f",
                              domain=(-0.25, 0.25), height=275)
    full = {r["label"] for r in rows(valid(jacobian), "cells")}
    assert set(_cell_numbers(jacobian, 300)) <= full and len(_cell_numbers(jacobian, 300)) == 25
    narrow = _cell_numbers(jacobian, 170)  # 34-pixel cells: the compact form
    assert len(narrow) == 25 and not set(narrow) & {label for label in full if "0." in label}
    assert _cell_numbers(jacobian, 90) == []
    tooltip = next(layer for layer in valid(jacobian)["layer"] if layer["mark"]["type"] == "rect")["encoding"]
    assert any(t["field"] == "value" for t in tooltip["tooltip"])


def test_a_heatmap_writes_d3_s_trimmed_format_as_the_browser_would():
    spec = valid(charts.heatmap(np.array([[1.0, 0.5], [-0.03071, 0.0]]), value_format=".4~f"))
    assert [r["label"] for r in rows(spec, "cells")] == ["1", "0.5", "-0.0307", "0"]


LONG_LEGENDS = [
    ["simultaneous", "alternating", "extragradient", "optimistic", "equilibrium", "start"],
    ["unadjusted (measured)", "MALA (measured)", "exact s²/(1 − ε/(2s²))", "target s²"],
    ["its estimate and 2σ ellipse", "true path", "EKF estimate"],
    ["√(n−1)/n (equal weights)", "÷ √d_k", "no scaling"],
]


@pytest.mark.parametrize("names", LONG_LEGENDS)
def test_a_legend_below_a_narrow_chart_fits_it_and_breaks_long_labels_between_words(names):
    """Two legend entries to a row were cut off at the right edge of a 222-pixel chart ("alte", "MALA (m"):
    a row holds two only where both fit the room, and a label longer than the room is written on lines
    of whole words, each within it."""
    legend = core.legend_below(names)
    width = [core.LEGEND_ENTRY + core.LEGEND_CHAR * len(n) for n in names]
    if legend["columns"] == 2:
        assert max(width[0::2]) + max(width[1::2]) + core.LEGEND_GAP <= core.LEGEND_ROOM
    assert legend["columns"] == 1  # none of these has two labels short enough
    room = core.LEGEND_ROOM - core.LEGEND_ENTRY
    assert legend["labelLimit"] >= room
    wrapped = {}
    if "labelExpr" in legend:
        import json

        wrapped = json.loads(legend["labelExpr"].split("[datum.label]")[0])
    for name in names:
        lines = wrapped.get(name, [name])
        assert " ".join(lines) == " ".join(name.split())  # whole words, none dropped
        assert all(len(line) * core.LEGEND_CHAR <= room or " " not in line for line in lines), lines
    spec = charts.lines(np.arange(3), {n: np.arange(3.0) + k for k, n in enumerate(names)}, x_title="t", y_title="y")
    texts = _svg_texts(spec, 160)
    assert not any(t.endswith("…") for t in texts), texts  # nothing drawn cut off


def test_short_legend_labels_still_share_a_row():
    assert core.legend_below(["÷ √d_k", "no scaling"])["columns"] == 2
    assert "labelExpr" not in core.legend_below(["train RMSE", "test RMSE"])


def test_a_long_title_is_broken_into_lines_the_plot_holds_and_a_test_still_reads_it_as_written():
    """Vega cut a title longer than its plot with "…" ("The episode: angle and posi…" in a third of a
    1024-pixel page): the title sent is an expression of the drawn width choosing its line breaks."""
    import re

    pytest.importorskip("vl_convert")
    title = "The episode: angle and position (±1 = the limit)"
    spec = charts.lines([0, 1, 2], {"angle": [0.1, 0.2, 0.1]}, x_title="t", y_title="rad", title=title)
    fitted = core.fitted_title(spec)
    assert valid(fitted) and core.as_built(fitted)["title"] == title

    def drawn_lines(width):
        svg = charts.to_svg({**fitted, "width": width})
        block = next(b for b in re.findall(r"<text[^>]*>(.*?)</text>", svg) if "episode" in b)
        return re.findall(r"<tspan[^>]*>([^<]*)</tspan>", block) or [block]

    assert drawn_lines(600) == [title]
    for width in (300, 180, 120):
        lines = drawn_lines(width)
        assert " ".join(lines) == title and len(lines) > 1, (width, lines)
        assert max(len(line) for line in lines) * core.TITLE_CHAR <= width or len(lines) == core.TITLE_LINES, (width, lines)
    assert len(drawn_lines(120)) > len(drawn_lines(300))
    assert core.fitted_title({**spec, "title": "Short"}) == {**spec, "title": "Short"}
    concat = {"hconcat": [spec, spec], "title": title}  # no width signal of its own: left alone
    assert core.fitted_title(concat) is concat
