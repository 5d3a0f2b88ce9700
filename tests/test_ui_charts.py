"""ui.charts: every builder's output is valid Vega-Lite, and the builders handle awkward data.

The lab builds Vega-Lite specs directly for speed (see ui/charts.py); this file is where they are
validated against the schema.
"""

import json

import numpy as np
import pytest

from tests.vega_schema import all_rows as rows
from tests.vega_schema import valid as valid_spec
from ui import charts


def test_lines_spec_is_valid_and_drops_non_finite_points():
    spec = valid_spec(charts.lines(
        np.arange(5), {"train": [1.0, 0.5, np.nan, 0.3, np.inf], "test": [1.1, 0.7, 0.6, 0.6, 0.65]},
        x_title="epoch", y_title="RMSE", rules=[charts.Rule(0.9, "baseline"), charts.Rule(np.nan, "missing")],
        title="curves"))
    data = rows(spec)
    assert sum(r.get("series") == "train" for r in data) == 3
    assert sum(r.get("series") == "test" for r in data) == 5
    assert any(r.get("series") == "baseline" for r in data)
    assert not any(r.get("series") == "missing" for r in data)


def test_lines_on_a_log_axis_drop_non_positive_values():
    spec = valid_spec(charts.lines([1, 2, 3], {"loss": [1.0, 0.0, -1.0]}, x_title="x", y_title="y", log_y=True))
    assert [r["y"] for r in rows(spec) if "y" in r and r.get("series") == "loss"] == [1.0]


@pytest.mark.parametrize("series", [{}, {"a": [np.nan, np.nan]}, {"a": []}])
def test_lines_with_nothing_finite_return_none(series):
    assert charts.lines([0, 1], series, x_title="x", y_title="y") is None


def test_heatmap_is_valid_with_a_symmetric_diverging_domain_and_values_on_small_matrices():
    matrix = np.array([[0.5, -2.0], [1.0, 0.0]])
    spec = valid_spec(charts.heatmap(matrix, x_labels=["a", "b"], y_labels=["r", "r"], diverging=True))
    rect, text = spec["layer"]
    assert rect["encoding"]["color"]["scale"]["domain"] == [-2.0, 2.0]  # limits symmetric about zero
    assert text["mark"]["type"] == "text"  # values written on the cells
    labels = {r["row"] for r in rows(spec)}
    assert labels == {"r", "r (2)"}  # repeated labels stay two rows
    assert len(valid_spec(charts.heatmap(np.zeros((20, 20))))["layer"]) == 1  # too many cells to write on


def test_specs_are_plain_json_with_nulls_for_missing_values():
    spec = valid_spec(charts.heatmap(np.array([[1.0, np.nan]])))
    text = json.dumps(spec, allow_nan=False)  # raises on NaN or on anything JSON cannot hold
    assert [r["value"] for r in spec["layer"][0]["data"]["values"]] == [1.0, None]
    assert "NaN" not in text


@pytest.mark.parametrize("matrix", [np.zeros((0, 3)), np.full((2, 2), np.nan), np.zeros(4)])
def test_heatmap_of_nothing_drawable_is_none(matrix):
    assert charts.heatmap(matrix) is None


def test_scatter_against_identity_samples_large_inputs_and_skips_non_finite_pairs():
    x = np.arange(5000.0)
    y = x.copy()
    y[:10] = np.nan
    spec = valid_spec(charts.scatter_against_identity(x, y, x_title="a", y_title="b", max_points=300))
    points = [r for r in rows(spec) if "x" in r]
    assert len(points) == 300 + 2  # the sample plus the two ends of y = x
    assert charts.scatter_against_identity(x, y, x_title="a", y_title="b")["layer"][0]["data"]["values"] != []
    assert all(np.isfinite(r["y"]) for r in points)
    assert charts.scatter_against_identity([np.nan], [1.0], x_title="a", y_title="b") is None


def test_stacked_contributions_total_tick_is_the_sum_of_the_parts():
    spec = valid_spec(charts.stacked_contributions(["a", "b"], {"p": [1.0, -1.0], "q": [0.5, 2.0]},
                                                   category_title=None, value_title="v"))
    totals = {r["category"]: r["total"] for r in rows(spec) if "total" in r}
    assert totals == {"a": 1.5, "b": 1.0}
    assert charts.stacked_contributions([], {}, category_title=None, value_title="v") is None
