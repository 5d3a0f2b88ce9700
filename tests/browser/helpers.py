"""What every browser test does: open a page, wait for its script to finish, move a slider."""

from __future__ import annotations

from playwright.sync_api import Page, expect

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def wait_idle(page: Page, timeout: float = 60_000) -> None:
    """Wait until the script run is over (widgets debounce ~200 ms before a rerun starts)."""
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout)


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    # every page of the lab starts with its title; before the first script run reaches the browser the
    # app reads "not running" with no skeleton, so waiting for idle alone returned on an empty page
    # (a fresh server's first load)
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=60_000)
    wait_idle(page)
    assert_no_exception(page)


def assert_no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def slider_input(page: Page, label: str):
    """The hidden range input of the sidebar slider whose label contains ``label``."""
    return page.get_by_test_id("stSlider").filter(has_text=label).locator('input[type="range"]')


def press_on_slider(page: Page, label: str, key: str, times: int = 1) -> None:
    handle = slider_input(page, label)
    handle.focus()
    for _ in range(times):
        handle.press(key)


def metric_value(page: Page, label: str) -> str:
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue").inner_text()


def chart_drawing(page: Page, n: int):
    """The canvas (or SVG) that Vega drew for the page's n-th chart."""
    return page.get_by_test_id("stVegaLiteChart").nth(n).locator("canvas, svg").first


def assert_every_chart_draws(page: Page, at_least: int) -> None:
    """At least ``at_least`` charts, each actually drawn (Vega draws nothing for some invalid specs)."""
    charts = page.get_by_test_id("stVegaLiteChart")
    assert charts.count() >= at_least, charts.count()
    for n in range(charts.count()):
        expect(chart_drawing(page, n)).to_be_visible()
