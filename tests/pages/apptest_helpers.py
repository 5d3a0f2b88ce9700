"""Shared AppTest helpers: run a page, and drive every control to its extremes."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120  # seconds: the first run in a process imports numba, scipy and friends


def run_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    """Run a page of the app (``"pages/1_Recommendations.py"``, or ``"app.py"`` for the home page)
    as the browser does: app.py is the entrypoint and the page is switched to, so the sidebar's
    links resolve. Optionally with URL query parameters."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if page != "app.py":
        at.switch_page(page)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def assert_clean(at: AppTest) -> None:
    """No exception element, and no error message either (errors are for bad input only)."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def chart_specs(at: AppTest) -> list[dict]:
    """The Vega-Lite spec of every chart on the page. Named datasets, which Streamlit ships apart
    as Arrow, are put back into ``spec["datasets"]`` as lists of row dicts; inline data stays where
    it is (see :func:`chart_rows`)."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    specs = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        spec.setdefault("datasets", {}).update({
            dataset.name: convert_arrow_bytes_to_pandas_df(dataset.data.data).to_dict("records")
            for dataset in chart.proto.datasets
        })
        specs.append(spec)
    return specs


def chart_rows(spec: dict) -> list[dict]:
    """Every data row of a chart: its named datasets and the inline data of the spec and its layers."""
    rows = [row for data in spec.get("datasets", {}).values() for row in data]
    rows += spec.get("data", {}).get("values", [])
    return rows + [row for layer in spec.get("layer", []) for row in layer.get("data", {}).get("values", [])]


def numeric_extremes(at: AppTest):
    """(widget, value) pairs: every slider and number input at its minimum and at its maximum."""
    for slider in at.slider:
        yield slider, slider.min
        yield slider, slider.max
    for number in at.number_input:
        if number.min is not None:
            yield number, number.min
        if number.max is not None:
            yield number, number.max


def exercise_extremes(page: str, select_sliders: dict[str, tuple] = ()) -> list[str]:
    """Set each numeric control, one at a time, to its minimum and its maximum (the others at their
    defaults) and check each run is clean. Returns the keys exercised, so a test can check that no
    control was missed."""
    exercised = []
    at = run_page(page)
    assert_clean(at)
    plan = [(w.key, w.type, v) for w, v in numeric_extremes(at)]
    for key, values in dict(select_sliders).items():
        plan += [(key, "select_slider", v) for v in values]
    for key, kind, value in plan:
        fresh = run_page(page)
        widget = {"slider": fresh.slider, "number_input": fresh.number_input,
                  "select_slider": fresh.select_slider}[kind](key=key)
        widget.set_value(value).run()
        assert not fresh.exception, (key, value, [e.value for e in fresh.exception])
        assert not fresh.error, (key, value, [e.value for e in fresh.error])
        exercised.append(key)
    return sorted(set(exercised))
