"""ui.charts.raster: a heatmap drawn as one picture must look like the same cells drawn by Vega —
the colours are checked against Vega's own rendering of its scheme (vl_convert), the rows' order
against the axes, the legend against the limits; and the PNG is a PNG any decoder reads."""

import io

import numpy as np
import pytest
import vl_convert
from PIL import Image

from tests.vega_schema import picture, valid
from ui.charts import raster
from ui.charts.core import chart, field, jsonable, layer, show, stable, table

SIZE = 240  # pixels of the plot in the renders below


def render(spec: dict) -> np.ndarray:
    """The spec rendered by Vega (vl_convert) as RGBA, no padding and no axes."""
    spec = {**jsonable(stable(spec)), "width": SIZE, "height": SIZE, "padding": 0, "autosize": {"type": "none"}}
    spec["config"] = {**spec.get("config", {}), "view": {"stroke": None}}
    return np.asarray(Image.open(io.BytesIO(vl_convert.vegalite_to_png(spec, scale=1))).convert("RGBA")).astype(int)


def axes(n_cols: int, n_rows: int):
    hidden = {"axis": None, "scale": {"domain": [0, n_cols], "nice": False, "zero": False}}
    return field("x", **hidden), field("y", **{**hidden, "scale": {**hidden["scale"], "domain": [0, n_rows]}})


def image_chart(values, **options) -> dict:
    n_rows, n_cols = values.shape
    x, y = axes(n_cols, n_rows)
    layers, tables = raster.heat_layers(values, (0, n_cols), (0, n_rows), x, y, value_title="v", legend=None,
                                        **options)
    return chart(*layers, data=tables)


def rect_chart(values, *, scheme: str, domain=None, reverse: bool = False) -> dict:
    """The same cells as Vega rectangles through a Vega colour scale (the reference)."""
    n_rows, n_cols = values.shape
    x, y = axes(n_cols, n_rows)
    r, c = np.divmod(np.arange(values.size), n_cols)
    scale = {"scheme": scheme, "reverse": reverse, **({"domain": list(domain), "clamp": True} if domain else {})}
    cells = table(x=c, x2=c + 1, y=r, y2=r + 1, v=values.reshape(-1))
    return chart(layer("cells", "rect", x=x, y=y, x2={"field": "x2"}, y2={"field": "y2"},
                       color=field("v", scale=scale, legend=None)), data={"cells": cells})


def cell_centres(render_: np.ndarray, n_rows: int, n_cols: int) -> np.ndarray:
    """The colour at the centre of each cell, rows from the bottom (values[i] is the i-th y)."""
    h, w = render_.shape[:2]
    rows = [int(h - (i + 0.5) * h / n_rows) for i in range(n_rows)]
    cols = [int((j + 0.5) * w / n_cols) for j in range(n_cols)]
    return render_[np.ix_(rows, cols)]


@pytest.mark.parametrize("scheme, reverse, domain", [("blues", False, None), ("redblue", True, (0.0, 1.0)),
                                                     ("redblue", True, (0.5, 1.5))])
def test_the_picture_has_vegas_colours_in_vegas_places(scheme, reverse, domain):
    rng = np.random.default_rng(4)
    values = rng.uniform(0.2, 1.3, size=(6, 9))  # not square: rows and columns cannot be swapped unseen
    values[0, 0], values[-1, -1] = 0.2, 1.3  # the data's own limits when no domain is given
    drawn = cell_centres(render(image_chart(values, scheme=scheme, domain=domain, reverse=reverse)), 6, 9)
    vega = cell_centres(render(rect_chart(values, scheme=scheme, domain=domain, reverse=reverse)), 6, 9)
    assert np.abs(drawn - vega).max() <= 2, np.abs(drawn - vega).max()  # within rounding of 8-bit colour
    assert np.ptp(drawn[..., :3].reshape(-1, 3), axis=0).max() > 60  # the colours do vary across the cells


def test_values_past_the_limits_take_the_end_colours_and_non_finite_cells_are_transparent():
    values = np.array([[-5.0, 0.0, 0.5], [1.0, 7.0, np.nan]])
    rgba = raster.colours(values, "redblue", (0.0, 1.0))
    ends = raster.colours(np.array([0.0, 1.0]), "redblue", (0.0, 1.0))
    assert (rgba[0, 0] == ends[0]).all() and (rgba[1, 1] == ends[1]).all()
    assert tuple(ends[0][:3]) == (0x8C, 0x0D, 0x25) and tuple(ends[1][:3]) == (0x13, 0x4B, 0x85)  # vega's first, last
    assert rgba[1, 2, 3] == 0 and (rgba[~np.isnan(values)][:, 3] == 255).all()
    assert (raster.colours(values, "redblue", (0.0, 1.0), reverse=True)[0, 0] == ends[1]).all()
    # redblue has eleven stops: the middle value takes the sixth, Vega's white
    assert tuple(raster.colours(np.array([0.5]), "redblue", (0.0, 1.0))[0][:3]) == (0xF2, 0xEF, 0xEE)


def test_the_png_decodes_to_the_colours_with_the_first_row_at_the_bottom():
    values = np.arange(12.0).reshape(3, 4)
    values[2, 3] = np.nan
    spec = image_chart(values, scheme="blues")
    decoded, edges = picture(spec)
    assert decoded.shape == (3, 4, 4)
    np.testing.assert_array_equal(decoded, raster.colours(values[::-1], "blues", (0.0, 10.0)))
    assert (edges["x"], edges["x2"], edges["y"], edges["y2"]) == (0, 4, 3, 0)  # y: the top edge


def test_the_legend_spans_the_colour_limits_and_a_new_grid_sends_the_same_spec():
    values = np.linspace(-2, 3, 20).reshape(4, 5)
    spec = valid(image_chart(values, scheme="blues"))
    limits = spec["datasets"]["_heat_limits"]
    assert [r["value"] for r in limits] == [-2.0, 3.0]
    hidden = next(l for l in spec["layer"] if l["data"]["name"] == "_heat_limits")
    assert hidden["mark"]["opacity"] == 0 and hidden["encoding"]["color"]["scale"] == {"scheme": "blues"}
    other = image_chart(values * 10 + 1, scheme="blues")
    assert {k: v for k, v in other.items() if k != "datasets"} == {k: v for k, v in spec.items() if k != "datasets"}
    assert raster.heat_layers(np.full((3, 3), np.nan), (0, 1), (0, 1), *axes(3, 3), scheme="blues",
                              value_title="v") == ([], {})
    flat = raster.limits(np.full((2, 2), 4.0))
    assert flat == (4.0, 5.0)


def test_the_grid_values_go_to_the_csv_download_and_not_to_the_browser(monkeypatch):
    from ui.charts import core

    values = np.arange(6.0).reshape(2, 3)
    spec = image_chart(values, scheme="blues")
    spec[core.EXPORT] = {"cells": raster.grid_table(values, [10, 20, 30], [1, 2])}
    csv = core.to_csv(spec).splitlines()
    assert csv[0].split(",")[:3] == ["x", "y", "value"]
    rows = [line.split(",")[:3] for line in csv[1:]]
    assert [tuple(map(float, r)) for r in rows] == [(10, 1, 0), (20, 1, 1), (30, 1, 2), (10, 2, 3), (20, 2, 4),
                                                    (30, 2, 5)]
    sent = []

    class Where:
        def vega_lite_chart(self, spec, **_):
            sent.append(spec)

    show(spec, container=Where())
    assert core.EXPORT not in sent[0] and "_heat" in sent[0]["datasets"]
    assert core.EXPORT not in jsonable(spec)


def test_outer_edges_are_half_a_step_past_the_ends_and_an_uneven_grid_is_refused():
    assert raster.outer_edges([0.0, 1.0, 2.0]) == (-0.5, 2.5)
    assert raster.outer_edges(np.linspace(-12, 12, 41)) == pytest.approx((-12.3, 12.3))
    for uneven in ([1.0, 10.0, 100.0], [0.0], [1.0, 1.0]):  # log-spaced, one point, no spacing
        with pytest.raises(ValueError):
            raster.outer_edges(uneven)
