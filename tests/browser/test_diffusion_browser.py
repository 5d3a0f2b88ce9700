"""The Diffusion page in a real Chromium: the step size ε moved with the keyboard resamples, the charts
redraw and the URL follows; scrubbing back to the start moves the particles without resampling; a
lesson that explodes the chain is explained rather than raised. (Each load draws twelve charts and a
dozen formulas, most of the time on a busy 2-core machine.)"""

import re

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

CHARTS = 12  # the page's eleven and the gradient check's scatter
PARTICLES, VARIANCE = 1, 5  # the particles at the step shown, the variance against ε
DISTANCE = "Energy distance D²"


def open_diffusion(page, url: str) -> None:
    """Open the page and wait for its last chart (a first visit reruns once to leave Streamlit's
    pages-directory mode, and the idle state can show between the two runs)."""
    open_page(page, url)
    expect(page.get_by_test_id("stVegaLiteChart").nth(CHARTS - 1)).to_be_visible(timeout=60_000)
    wait_idle(page)


def test_the_step_size_moved_with_the_keyboard_resamples_redraws_and_updates_the_link(page, server_url):
    open_diffusion(page, f"{server_url}/Diffusion")
    assert_every_chart_draws(page, CHARTS)
    distance, variance = metric_value(page, DISTANCE), chart_drawing(page, VARIANCE).screenshot()
    particles = chart_drawing(page, PARTICLES).screenshot()

    press_on_slider(page, "Step ε", "ArrowRight")  # 0.01 → 0.02
    expect(page).to_have_url(re.compile(r"[?&]eps=0\.02(&|$)"))
    wait_idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text=DISTANCE).get_by_test_id("stMetricValue")) \
        .not_to_have_text(distance, timeout=30_000)
    assert chart_drawing(page, VARIANCE).screenshot() != variance  # the ε in use moved along the curve
    assert chart_drawing(page, PARTICLES).screenshot() != particles
    assert_every_chart_draws(page, CHARTS)
    assert_no_exception(page)

    distance, particles = metric_value(page, DISTANCE), chart_drawing(page, PARTICLES).screenshot()
    press_on_slider(page, "Sampling step shown", "Home")  # back to the broad start
    expect(page).to_have_url(re.compile(r"[?&]step=0(&|$)"))
    wait_idle(page)
    expect(page.get_by_text("After 0 of 400 steps")).to_be_visible(timeout=30_000)
    assert chart_drawing(page, PARTICLES).screenshot() != particles
    assert metric_value(page, DISTANCE) == distance  # the same run: scrubbing never resamples
    expect(page).to_have_url(re.compile(r"[?&]eps=0\.02(&|$)"))
    assert_no_exception(page)


def test_a_lesson_that_explodes_the_chain_is_explained(page, server_url):
    open_diffusion(page, f"{server_url}/Diffusion")
    page.get_by_role("radio", name="Step too large: the chain explodes").click()
    expect(page).to_have_url(re.compile(r"[?&]eps=0\.6"))
    expect(page).to_have_url(re.compile(r"[?&]lesson=step-too-large"))
    wait_idle(page)
    alert = page.get_by_test_id("stAlert").filter(has_text="The chain exploded at step")
    expect(alert).to_be_visible(timeout=30_000)
    expect(alert).to_contain_text("What to try")
    assert re.fullmatch(r"\d+ of 400", metric_value(page, "Steps run"))
    assert_every_chart_draws(page, CHARTS)
    assert_no_exception(page)


def test_a_second_click_on_the_chosen_dimension_keeps_it(page, server_url):
    open_page(page, f"{server_url}/Diffusion?dim=1")
    assert_every_chart_draws(page, 5)
    control = page.get_by_test_id("stButtonGroup").filter(has_text="Dimension")
    chosen = control.get_by_role("radio", name=re.compile("1-D"))
    chosen.click()
    page.wait_for_timeout(500)
    wait_idle(page)
    expect(page).to_have_url(re.compile(r"[?&]dim=1(&|$)"))
    expect(chosen).to_have_attribute("aria-checked", "true")  # the option stays chosen; no switch to 2-D
    assert_no_exception(page)
