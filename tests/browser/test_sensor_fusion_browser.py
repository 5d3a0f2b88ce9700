"""The Sensor Fusion page in a real Chromium: a sidebar slider re-runs the filter and the URL follows,
the step slider redraws its panel, the plane charts are drawn on equal axes (a circle stays round),
and a mis-tuned filter gets an explanation rather than a traceback. (Two page loads: each draws
eight charts and nine formulas, most of the time on a busy 2-core machine.)"""

import io
import re

import numpy as np
from PIL import Image
from playwright.sync_api import expect

from tests.browser.helpers import (
    assert_every_chart_draws,
    assert_no_exception,
    chart_drawing,
    metric_value,
    open_page,
    press_on_slider,
    wait_idle,
)

ERROR = "Mean position error"
DRIVE, ZOOM = 0, 4  # the drive, the error curve, NEES, NIS, then the step up close



def expect_metric_not(page, label: str, text: str) -> None:
    expect(page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")) \
        .not_to_have_text(text, timeout=30_000)


def red_circle_extent(png: bytes) -> tuple[int, int]:
    """Width and height in pixels of the sensor's 2σ circle (red, #d62728) in the step chart: the
    tallest vertical run of rows holding red pixels (the legend's red dot lies below, apart)."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    red = (r - g > 50) & (np.abs(g - b) < 30)  # red, or red blended into white; not orange (g ≫ b)
    rows = np.flatnonzero(red.any(axis=1))
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > 10) + 1)
    circle = max(runs, key=len)
    columns = np.flatnonzero(red[circle].any(axis=0))
    return int(columns[-1] - columns[0] + 1), int(circle[-1] - circle[0] + 1)


def test_a_slider_reruns_the_filter_the_url_follows_and_the_step_panel_redraws(page, server_url):
    open_page(page, f"{server_url}/Sensor_Fusion")
    assert_every_chart_draws(page, 8)
    before, drive_before = metric_value(page, ERROR), chart_drawing(page, DRIVE).screenshot()

    press_on_slider(page, "Speed v", "ArrowRight")  # 5.0 → 5.5 m/s
    expect(page).to_have_url(re.compile(r"[?&]v=5\.5"))
    wait_idle(page)
    expect_metric_not(page, ERROR, before)
    assert chart_drawing(page, DRIVE).screenshot() != drive_before
    assert_no_exception(page)

    zoom_before = chart_drawing(page, ZOOM).screenshot()
    press_on_slider(page, "Step k", "End")  # the last of 200 updates
    expect(page).to_have_url(re.compile(r"[?&]k=200"))
    wait_idle(page)
    expect(page.get_by_text("From the estimate after step 199")).to_be_visible(timeout=30_000)
    assert chart_drawing(page, ZOOM).screenshot() != zoom_before
    expect(page.get_by_test_id("stAlert").filter(has_text="Pass")).to_be_visible()  # the Jacobian check
    assert_no_exception(page)


def test_equal_axes_keep_the_sensors_circle_round_and_a_mis_tuned_filter_is_explained(page, server_url):
    # a wide drive (fast, hardly turning) and a large sensor circle: unequal axes would squash it
    open_page(page, f"{server_url}/Sensor_Fusion?v=15.0&omega=0.05&sigma=2.0&qscale=0.1")
    width, height = red_circle_extent(chart_drawing(page, ZOOM).screenshot())
    assert width > 60 and abs(width - height) <= 0.04 * width, (width, height)
    alert = page.get_by_test_id("stAlert").filter(has_text="The filter is overconfident")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("steadier than it is")
    assert metric_value(page, "Verdict") == "overconfident"
    assert_no_exception(page)
