"""ui.sweeps, ui.bars and the heatmap's fixed domain and blank cells: valid Vega-Lite, awkward data
handled (the same schema check as tests/test_ui_charts.py)."""

import numpy as np
import pytest

from tests.vega_schema import inline_rows
from tests.vega_schema import valid as valid_spec
from ui import bars, charts, sweeps


def test_sweep_is_valid_on_a_log_axis_with_the_current_setting_marked_and_labelled_on_the_roomy_side():
    spec = valid_spec(sweeps.sweep([1, 4, 16, 64, 256], {"a": [1.0, 0.8, np.nan, 0.2, 0.1], "b": [1, 1, 1, 1, 1]},
                                   x_title="d_k", y_title="H", current=200, current_label="now",
                                   rules=[charts.Rule(1.5, "max")], log_base=2, title="t"))
    line, rule, marker, label = spec["layer"]
    assert line["encoding"]["x"]["scale"] == {"type": "log", "base": 2}
    points = inline_rows(line)
    assert sum(p["series"] == "a" for p in points) == 4 and sum(p["series"] == "b" for p in points) == 5
    assert inline_rows(rule) == [{"y": 1.5, "series": "max"}]
    assert inline_rows(marker) == [{"x": 200.0, "label": "now"}]
    assert label["mark"]["align"] == "right"  # 200 sits near the right end: the label goes left of the line
    left = valid_spec(sweeps.sweep([1, 256], {"a": [1, 2]}, x_title="x", y_title="y", current=2))
    assert left["layer"][-1]["mark"]["align"] == "left"


@pytest.mark.parametrize("x, series", [([1, 2], {"a": [np.nan, np.nan]}), ([-1, 0], {"a": [1, 2]}), ([1], {})])
def test_sweep_with_nothing_drawable_is_none(x, series):
    assert sweeps.sweep(x, series, x_title="x", y_title="y") is None


def test_sweep_skips_a_marker_that_a_log_axis_cannot_place():
    spec = valid_spec(sweeps.sweep([1, 2], {"a": [1, 2]}, x_title="x", y_title="y", current=0))
    assert len(spec["layer"]) == 1


def test_bars_are_valid_keep_their_order_and_grey_out_inactive_ones():
    spec = valid_spec(bars.bars(["b", "a", "c"], [0.2, 0.5, 0.3], value_title="p", active=[True, False, True],
                                inactive_label="masked", domain=(0, 1), title="t"))
    rows = inline_rows(spec["layer"][0])
    assert [r["category"] for r in rows] == ["b", "a", "c"]
    assert [r["status"] for r in rows] == ["", "masked", ""]
    bar, text = spec["layer"]
    assert spec["encoding"]["x"]["sort"] == ["b", "a", "c"]
    assert bar["encoding"]["color"]["scale"]["range"] == [bars.BAR, bars.MUTED]
    assert spec["encoding"]["y"]["scale"]["domain"] == [0, 1]
    assert text["mark"]["type"] == "text"
    many = valid_spec(bars.bars([str(i) for i in range(13)], np.ones(13), value_title="p"))
    assert len(many["layer"]) == 1  # more than 12 bars: numbers in the tooltips only


@pytest.mark.parametrize("categories, values", [([], []), (["a"], [np.nan]), (["a", "b"], [1.0])])
def test_bars_with_nothing_drawable_or_mismatched_lengths_are_none(categories, values):
    assert bars.bars(categories, values, value_title="v") is None


def test_heatmap_with_a_fixed_domain_and_blank_cells_writes_no_null_and_picks_ink_from_the_domain():
    matrix = np.array([[0.2, np.nan], [-0.1, 0.02]])
    spec = valid_spec(charts.heatmap(matrix, diverging=True, domain=(-0.25, 0.25), show_values=True))
    rect, text = spec["layer"]
    assert rect["encoding"]["color"]["scale"]["domain"] == [-0.25, 0.25]
    cells = inline_rows(rect)
    assert len(cells) == 4
    written = inline_rows(text)
    assert [r["value"] for r in written] == [0.2, -0.1, 0.02]  # the blank cell gets no text
    assert [r["ink"] for r in written] == ["white", "black", "black"]  # |v| > 0.6 · 0.25 → white
