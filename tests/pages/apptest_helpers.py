"""Shared AppTest helpers: run a page as the browser does, and read what the control kit drew."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120  # seconds: the first run in a process imports numba, scipy and friends
# what an audience pastes into a link: non-finite and overflowing numbers, garbage, blanks, negatives
HOSTILE_VALUES = ("inf", "-inf", "nan", "1e400", "-1e400", "abc", "", "-1", "0.333333", "1e-400", "%00", "<script>")


def run_page(page: str, query: dict[str, str] | None = None, at: AppTest | None = None) -> AppTest:
    """Run a page of the app (``"pages/1_Recommendations.py"``, or ``"app.py"`` for the home page)
    as the browser does: app.py is the entrypoint and the page is switched to, so the sidebar's
    links resolve. Optionally with URL query parameters."""
    at = at or AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if page != "app.py":
        at.switch_page(page)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def page_ids(apps) -> list[str]:
    return [app.slug for app in apps]


def assert_clean(at: AppTest, context=None) -> None:
    """No exception element, and no error message either (errors are for bad input only)."""
    assert not at.exception, (context, [e.value for e in at.exception])
    assert not at.error, (context, [e.value for e in at.error])


def control_registry(at: AppTest, app) -> dict:
    """The controls the page drew on its last run, by URL key (ui.controls.registry)."""
    return dict(at.session_state["_lab_controls"][app.slug])


def control_bounds(at: AppTest, app) -> dict:
    """The range or options each control was last drawn with (ui.controls.last_bounds)."""
    return dict(at.session_state["_lab_bounds"][app.slug])


def state_value(at: AppTest, app, key: str):
    name = f"{app.slug}:{key}"
    return at.session_state[name] if name in at.session_state else None


def chart_specs(at: AppTest, *, as_sent: bool = False) -> list[dict]:
    """The Vega-Lite spec of every chart on the page, named datasets (shipped apart as Arrow) put
    back into ``spec["datasets"]`` as lists of row dicts, and the numbers the kit lifted into a
    table to keep the spec stable put back where the builder wrote them (``ui.charts.core.as_built``),
    unless ``as_sent``."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    from ui.charts.core import as_built

    specs = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        spec.setdefault("datasets", {}).update({
            dataset.name: convert_arrow_bytes_to_pandas_df(dataset.data.data).to_dict("records")
            for dataset in chart.proto.datasets
        })
        specs.append(spec if as_sent else as_built(spec))
    return specs


def chart_rows(spec: dict, name: str | None = None) -> list[dict]:
    """The rows of one named table of a chart, or of all of them (inline data included)."""
    tables = spec.get("datasets", {})
    if name is not None:
        return list(tables.get(name, []))
    rows = [row for data in tables.values() for row in data]
    rows += spec.get("data", {}).get("values", [])
    return rows + [row for layer in spec.get("layer", []) for row in layer.get("data", {}).get("values", [])]


def chart_titled(at: AppTest, words: str) -> dict:
    """The spec of the chart whose title contains ``words``."""
    for spec in chart_specs(at):
        title = spec.get("title", "")
        title = title.get("text", "") if isinstance(title, dict) else title
        title = " ".join(title) if isinstance(title, list) else title  # a title in lines
        if words in title:
            return spec
    raise AssertionError(f"no chart titled like {words!r}")
