"""ui.charts.tracking: the plane and consistency specs are valid Vega-Lite, on equal axes, robust to
non-finite data, mark the scrubbed step, and are built on ui.charts.core (validated here because the
page skips validation for speed)."""

import inspect

import numpy as np
import pytest

from tests.vega_schema import drawn_domain, valid
from ui.charts import core, to_csv, tracking

COLORS = {"path": "#000000", "dots": "#ff0000", "ring": "#0000ff", "now": "#222222"}


def ring(centre, radius, n=24):
    t = np.linspace(0, 2 * np.pi, n + 1)
    return np.stack([centre[0] + radius * np.cos(t), centre[1] + radius * np.sin(t)], axis=-1)


def test_plane_is_valid_square_and_has_the_same_span_on_both_axes():
    path = np.array([[0.0, 0.0], [10.0, 2.0], [20.0, 3.0]])  # wide and flat
    spec = valid(tracking.plane(paths={"path": path}, points={"dots": path + 0.5},
                                outlines={"ring": np.array([ring((5, 1), 1.0)])}, colors=COLORS, title="t"))
    assert spec["width"] == "container" and spec["height"] == tracking.PLANE_SIZE
    assert spec["autosize"]["type"] == "fit-x"  # as wide as its column, never wider
    x_domain = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    y_domain = spec["layer"][0]["encoding"]["y"]["scale"]["domain"]
    assert x_domain[1] - x_domain[0] == pytest.approx(y_domain[1] - y_domain[0])
    for width in (250, 400, 900):  # drawn: a metre is as long across as up, whatever the column's width
        x_drawn = drawn_domain(spec["layer"][0]["encoding"]["x"]["scale"], width, tracking.PLANE_SIZE)
        y_drawn = drawn_domain(spec["layer"][0]["encoding"]["y"]["scale"], width, tracking.PLANE_SIZE)
        assert width / (x_drawn[1] - x_drawn[0]) == pytest.approx(tracking.PLANE_SIZE / (y_drawn[1] - y_drawn[0]))
        assert x_drawn[0] <= x_domain[0] and x_drawn[1] >= x_domain[1]  # the framed box stays in view
        assert y_drawn[0] <= y_domain[0] and y_drawn[1] >= y_domain[1]
    assert x_domain[0] < 0 and x_domain[1] > 20.5  # everything framed (with a margin)
    assert np.mean(y_domain) == pytest.approx((0 + 3.5) / 2)  # centred on the data
    assert {layer["mark"]["type"] for layer in spec["layer"]} == {"line", "circle"}
    assert all(layer["mark"]["clip"] for layer in spec["layer"])


def test_plane_outlines_keep_their_points_in_order_one_group_each():
    rings = np.array([ring((0, 0), 1.0, 8), ring((3, 0), 2.0, 8)])
    spec = valid(tracking.plane(outlines={"ring": rings}, colors=COLORS))
    rows = spec["datasets"]["outlines"]
    assert len(rows) == 18
    assert [r["group"] for r in rows] == [0] * 9 + [1] * 9
    assert [r["order"] for r in rows[:9]] == list(range(9))
    encoding = spec["layer"][0]["encoding"]
    assert encoding["detail"]["field"] == "group" and encoding["order"]["field"] == "order"


def test_plane_frames_the_focus_and_clips_the_rest_and_drops_non_finite_points():
    path = np.array([[0.0, 0.0], [1.0, 1.0], [np.nan, 2.0], [1e6, 1e6]])
    spec = valid(tracking.plane(paths={"path": path}, colors=COLORS, focus=path[:2]))
    x_domain = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert x_domain[1] < 2  # the runaway point does not blow up the view
    assert len(spec["datasets"]["paths"]) == 3  # NaN dropped, the far point kept (and clipped)


def test_a_name_shared_by_a_point_and_an_outline_gets_one_legend_entry_and_both_are_framed():
    spec = valid(tracking.plane(points={"ring": np.array([[0.0, 0.0]])}, outlines={"ring": np.array([ring((0, 0), 4)])},
                                colors=COLORS))
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domain"] == ["ring"]
    x_domain = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert x_domain[0] < -4 and x_domain[1] > 4  # the outline is in view, not only its centre


@pytest.mark.parametrize("points", [{}, {"dots": np.full((3, 2), np.nan)}, {"dots": np.empty((0, 2))}])
def test_plane_with_nothing_finite_returns_none(points):
    assert tracking.plane(points=points, colors=COLORS) is None


def test_a_single_point_gets_a_view_of_span_one():
    assert tracking.equal_domains([[2.0, 3.0]]) == ([1.5, 2.5], [2.5, 3.5])


def test_consistency_spec_is_valid_with_the_bands_the_mean_and_ticks_reaching_past_the_data():
    values = np.array([1.0, 4.0, np.nan, 300.0, 2.0])
    spec = valid(tracking.consistency(np.arange(5) * 0.1, values, name="NEES", step_band=(0.83, 12.8), mean=76.75,
                                      mean_band=(3.3, 7.1), x_title="time (s)", title="NEES: overconfident"))
    data = spec["datasets"]
    assert [r["y"] for r in data["values"]] == [1.0, 4.0, 300.0, 2.0]
    assert (data["band"][0]["y"], data["band"][0]["y2"]) == (3.3, 7.1)
    assert sorted(r["y"] for r in data["rules"]) == [0.83, 12.8, 76.75]
    ticks = spec["layer"][1]["encoding"]["y"]["axis"]["values"]
    assert ticks[0] == 0 and max(ticks) >= 300 and 1000 not in ticks
    assert spec["layer"][1]["encoding"]["y"]["scale"]["type"] == "symlog"
    assert "mean NEES" in spec["layer"][1]["encoding"]["color"]["scale"]["domain"]
    assert "76" not in str(spec["layer"])  # no live number in the legend: the data changes, the spec stays


def test_consistency_with_nothing_finite_returns_none():
    assert tracking.consistency([0, 1], [np.nan, np.nan], name="NIS", step_band=(0.05, 7.4), mean=np.nan,
                                mean_band=(1.5, 2.6), x_title="t") is None


def test_the_plane_marks_one_step_with_a_larger_point_and_a_thicker_ring():
    path = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    spec = valid(tracking.plane(paths={"path": path}, marked={"now": path[1:2]}, rings={"now": np.array([ring((1, 1), 0.3)])},
                                colors=COLORS))
    marks = {layer["data"]["name"]: layer["mark"] for layer in spec["layer"]}
    assert marks["marked"]["size"] > 100 and marks["rings"]["strokeWidth"] > marks.get("outlines", {"strokeWidth": 1})["strokeWidth"]
    assert spec["datasets"]["marked"] == [{"x": 1.0, "y": 1.0, "series": "now", "group": 0, "order": 0}]
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domain"] == ["path", "now"]  # one legend entry for both


def test_moving_the_marked_step_changes_the_data_not_the_spec():
    path = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    specs = [tracking.plane(paths={"path": path}, marked={"now": path[i:i + 1]}, colors=COLORS, focus=path, title="t")
             for i in (0, 2)]
    assert {k: v for k, v in specs[0].items() if k != "datasets"} == {k: v for k, v in specs[1].items() if k != "datasets"}
    curves = [tracking.consistency(np.arange(5), np.ones(5), name="NIS", step_band=(0.05, 7.4), mean=1.0,
                                   mean_band=(0.5, 1.5), x_title="t", title="NIS at each step", marker=m) for m in (1, 3)]
    assert {k: v for k, v in curves[0].items() if k != "datasets"} == {k: v for k, v in curves[1].items() if k != "datasets"}
    assert valid(curves[1])["datasets"]["marker"] == [{"x": 3.0, "label": "now"}]


def test_the_download_holds_exactly_the_charted_rows():
    values = np.array([1.0, np.nan, 3.0])
    spec = tracking.consistency(np.arange(3), values, name="NEES", step_band=(0.8, 12.8), mean=2.0,
                                mean_band=(1.5, 2.5), x_title="t")
    csv = to_csv(spec)
    assert csv.splitlines()[0].startswith("x,y,series") and csv.count("NEES at each step") == 2


def test_the_builders_use_the_chart_kit_not_pandas():
    source = inspect.getsource(tracking)
    assert "pandas" not in source and "pd." not in source
    assert tracking.chart is core.chart and tracking.table is core.table and tracking.layer is core.layer
