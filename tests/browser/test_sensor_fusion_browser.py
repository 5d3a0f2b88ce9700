"""The Sensor Fusion page in a real Chromium: a sidebar slider re-runs the filter and the URL follows;
scrubbing moves the vehicle without refiltering; the step slider k redraws its panel and survives
*Steps* moved to its minimum (the StreamlitValueAboveMaxError of issue 9); a lesson in one click;
the plane charts are drawn on equal axes (a circle stays round), and a mis-tuned filter gets an
explanation rather than a traceback. (Each load draws eight charts and eight formulas, most of the
time on a busy 2-core machine.)"""

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


def open_sensor_fusion(page, url: str) -> None:
    """Open the page and wait for its last chart (a first visit reruns once to leave Streamlit's
    pages-directory mode, and the idle state can show between the two runs)."""
    open_page(page, url)
    expect(page.get_by_test_id("stVegaLiteChart").nth(7)).to_be_visible(timeout=60_000)
    wait_idle(page)


def test_a_slider_reruns_the_filter_scrubbing_does_not_and_the_step_panel_redraws(page, server_url):
    open_sensor_fusion(page, f"{server_url}/Sensor_Fusion")
    assert_every_chart_draws(page, 8)
    before, drive_before = metric_value(page, ERROR), chart_drawing(page, DRIVE).screenshot()

    press_on_slider(page, "Speed v", "ArrowRight")  # 5.0 → 5.5 m/s
    expect(page).to_have_url(re.compile(r"[?&]v=5\.5"))
    wait_idle(page)
    expect_metric_not(page, ERROR, before)
    assert chart_drawing(page, DRIVE).screenshot() != drive_before
    assert_no_exception(page)

    after, drive_after = metric_value(page, ERROR), chart_drawing(page, DRIVE).screenshot()
    press_on_slider(page, "Step shown", "Home")  # the vehicle back at the start of the drive
    expect(page).to_have_url(re.compile(r"[?&]step=0(&|$)"))
    wait_idle(page)
    assert chart_drawing(page, DRIVE).screenshot() != drive_after
    assert metric_value(page, ERROR) == after  # the same run: scrubbing never refilters
    assert_no_exception(page)

    zoom_before = chart_drawing(page, ZOOM).screenshot()
    press_on_slider(page, "Step k", "End")  # the last of 200 updates
    expect(page).to_have_url(re.compile(r"[?&]k=200"))
    wait_idle(page)
    expect(page.get_by_text("From the estimate after step 199")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Its ω column")).to_be_visible()
    assert chart_drawing(page, ZOOM).screenshot() != zoom_before
    expect(page.get_by_test_id("stAlert").filter(has_text="Pass")).to_be_visible()  # the Jacobian check
    assert_no_exception(page)


def test_steps_at_its_minimum_clamps_the_step_k_and_the_page_keeps_working(page, server_url):
    # issue 9: k at 60 and Steps moved down to 20 raised "The value 60 is greater than the max_value
    # 20", and the page stayed broken on every later rerun
    open_sensor_fusion(page, f"{server_url}/Sensor_Fusion")
    press_on_slider(page, "Steps", "Home")
    expect(page).to_have_url(re.compile(r"[?&]steps=20"))
    expect(page).to_have_url(re.compile(r"[?&]k=20"))
    wait_idle(page)
    expect(page.get_by_text("From the estimate after step 19")).to_be_visible(timeout=30_000)
    assert_no_exception(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="Could not")).to_have_count(0)
    press_on_slider(page, "Speed v", "ArrowRight")  # and the next rerun
    expect(page).to_have_url(re.compile(r"[?&]v=5\.5"))
    wait_idle(page)
    assert_no_exception(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="Could not")).to_have_count(0)


def test_a_lesson_in_one_click_sets_the_link_and_is_explained(page, server_url):
    open_sensor_fusion(page, f"{server_url}/Sensor_Fusion")
    page.get_by_role("radio", name="Straight-line model on a turn").click()
    expect(page).to_have_url(re.compile(r"[?&]model=straight"))
    expect(page).to_have_url(re.compile(r"[?&]lesson=straight_on_turn"))
    wait_idle(page)
    # two alerts name the model: why the filter is overconfident, and why it is worse than its own sensor
    overconfident = page.get_by_test_id("stAlert").filter(has_text="The filter is overconfident")
    expect(overconfident).to_contain_text("straight-line model cannot turn", timeout=30_000)
    expect(page.get_by_test_id("stAlert").filter(has_text="less accurate than the raw sensor")).to_contain_text(
        "straight-line model cannot turn")
    assert metric_value(page, "Verdict") == "overconfident"
    assert_no_exception(page)


def test_equal_axes_keep_the_sensors_circle_round_and_a_mis_tuned_filter_is_explained(page, server_url):
    # a wide drive (fast, hardly turning) and a large sensor circle: unequal axes would squash it
    open_sensor_fusion(page, f"{server_url}/Sensor_Fusion?v=15.0&omega=0.05&sigma=2.0&qscale=0.1")
    width, height = red_circle_extent(chart_drawing(page, ZOOM).screenshot())
    assert width > 60 and abs(width - height) <= 0.04 * width, (width, height)
    alert = page.get_by_test_id("stAlert").filter(has_text="The filter is overconfident")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("steadier than it is")
    assert metric_value(page, "Verdict") == "overconfident"
    assert_no_exception(page)
