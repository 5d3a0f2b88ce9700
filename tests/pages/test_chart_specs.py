"""Every page, every Settings slider moved to the middle of its range: a chart whose spec, as its
builder wrote it, changed only in the x or y domain is sent with the same spec as before, so the
browser updates it in place instead of building it again (ui.charts.core.stable). A builder that
writes its view box some way the kit does not lift fails here, not only in a benchmark."""

from __future__ import annotations

import re

import pytest

from tests.pages.apptest_helpers import assert_clean, chart_specs, control_registry, page_ids, run_page
from ui.catalog import APPLICATIONS
from ui.controls import Slider

PAGES = [app for app in APPLICATIONS if app.available]
DOMAIN = re.compile(r"\.encoding\.(x|y)\.scale\.(domain\[\d+\]|domainMin\.expr|domainMax\.expr)$")


def flat(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            if key != "datasets":
                yield from flat(value, f"{path}.{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from flat(value, f"{path}[{n}]")
    else:
        yield path, node


def changed(a: dict, b: dict) -> set[str]:
    fa, fb = dict(flat(a)), dict(flat(b))
    return {path for path in fa.keys() | fb.keys() if fa.get(path) != fb.get(path)}


def titled(specs):
    """The specs by title as written (a sent spec carries it in usermeta: charts.core.fitted_title)."""
    return {str(spec.get("usermeta", {}).get("title", spec.get("title"))): spec for spec in specs}


@pytest.mark.parametrize("app", PAGES, ids=page_ids(PAGES))
def test_a_chart_whose_axes_alone_follow_a_slider_keeps_its_spec(app):
    at = run_page(app.page)
    built, sent = titled(chart_specs(at)), titled(chart_specs(at, as_sent=True))
    settings = {f for f in app.lab_module().Settings.__dataclass_fields__}
    sliders = {key: c for key, c in control_registry(at, app).items()
               if isinstance(c, Slider) and c.name in settings and not c.domain().get("dynamic")}
    lifted = 0
    for key, control in sliders.items():
        middle = control.domain()["samples"][len(control.domain()["samples"]) // 2]
        moved = run_page(app.page, {key: str(middle)})
        assert_clean(moved, (key, middle))
        built_after, sent_after = titled(chart_specs(moved)), titled(chart_specs(moved, as_sent=True))
        for title in built.keys() & built_after.keys():
            difference = changed(built[title], built_after[title])
            if difference and all(DOMAIN.search(path) for path in difference):
                lifted += 1
                assert changed(sent[title], sent_after[title]) == set(), (key, middle, title)
    if app.slug in ("Sensor_Fusion", "GANs", "Diffusion"):  # pages whose view boxes follow the run
        assert lifted, "no chart's axes followed a slider: the test checked nothing"


def _every(node, key):
    """Every value stored under ``key`` anywhere in a spec."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _every(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from _every(v, key)


@pytest.mark.parametrize("app", PAGES, ids=page_ids(PAGES))
def test_the_pages_charts_read_on_a_projector(app):
    """What a visual review at 1280 × 720 found: legends below a chart a third of the page wide, cut
    off past two entries; the y = x line drawn over the check's points, hiding them on a pass; a
    second colour scale for the cells' ink, drawn as a stray legend."""
    at = run_page(app.page)
    assert_clean(at)
    specs = chart_specs(at)
    assert specs
    for spec in specs:
        for legend in _every(spec, "legend"):
            if isinstance(legend, dict) and legend.get("orient") == "bottom":
                assert legend.get("columns", 99) <= 2, (spec.get("title"), legend)
        layers = spec.get("layer", [])
        names = [layer.get("data", {}).get("name") for layer in layers]
        if "identity" in names and "points" in names:
            assert names.index("identity") < names.index("points"), spec.get("title")  # the line under the points
        for layer in layers:
            color = layer.get("encoding", {}).get("color", {})
            assert not (isinstance(color, dict) and color.get("field") == "ink"), spec.get("title")


@pytest.mark.parametrize("app", PAGES, ids=page_ids(PAGES))
def test_the_code_that_ran_keeps_its_indentation_and_the_formulas_the_full_width(app):
    at = run_page(app.page)
    python = [c for c in at.code if c.language == "python"]
    assert python and all(not c.proto.wrap_lines for c in python)  # a wrapped line restarted at column 0
    columns = [latex for column in at.columns for latex in column.get("latex")]
    assert at.latex and not columns  # in a column of 5/11 a long formula was cut at its right edge
