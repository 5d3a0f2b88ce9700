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
    return {str(spec.get("title")): spec for spec in specs}


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
