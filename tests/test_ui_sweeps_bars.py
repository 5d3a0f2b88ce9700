"""ui.sweeps, ui.bars and the heatmap's fixed domain and blank cells: valid Vega-Lite, awkward data
handled (the same schema check as tests/test_ui_charts.py)."""

import jsonschema
import numpy as np
import pytest
from altair.vegalite.v6.schema.core import load_schema

from ui import bars, charts, sweeps

VALIDATOR = jsonschema.Draft7Validator(load_schema())


def valid_spec(chart) -> dict:
    spec = charts.to_spec(chart)
    errors = sorted(VALIDATOR.iter_errors(spec), key=str)
    assert not errors, errors[0].message
    return spec


def dataset(spec, data_ref) -> list[dict]:
    return spec["datasets"][data_ref["name"]]


def test_sweep_is_valid_on_a_log_axis_with_the_current_setting_marked_and_labelled_on_the_roomy_side():
    spec = valid_spec(sweeps.sweep([1, 4, 16, 64, 256], {"a": [1.0, 0.8, np.nan, 0.2, 0.1], "b": [1, 1, 1, 1, 1]},
                                   x_title="d_k", y_title="H", current=200, current_label="now",
                                   rules=[charts.Rule(1.5, "max")], log_base=2, title="t"))
    line, rule, marker, label = spec["layer"]
    assert line["encoding"]["x"]["scale"] == {"type": "log", "base": 2}
    points = dataset(spec, line["data"])
    assert sum(p["series"] == "a" for p in points) == 4 and sum(p["series"] == "b" for p in points) == 5
    assert dataset(spec, rule["data"]) == [{"y": 1.5, "series": "max"}]
    assert dataset(spec, marker["data"]) == [{"x": 200.0, "label": "now"}]
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
    rows = dataset(spec, spec["data"])
    assert [r["category"] for r in rows] == ["b", "a", "c"]
    assert [r["status"] for r in rows] == ["", "masked", ""]
    bar, text = spec["layer"]
    assert bar["encoding"]["x"]["sort"] == ["b", "a", "c"]
    assert bar["encoding"]["color"]["scale"]["range"] == [bars.BAR, bars.MUTED]
    assert bar["encoding"]["y"]["scale"]["domain"] == [0, 1]
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
    cells = dataset(spec, spec["data"])
    assert len(cells) == 4
    written = dataset(spec, text["data"])
    assert [r["value"] for r in written] == [0.2, -0.1, 0.02]  # the blank cell gets no text
    assert [r["ink"] for r in written] == ["white", "black", "black"]  # |v| > 0.6 · 0.25 → white
