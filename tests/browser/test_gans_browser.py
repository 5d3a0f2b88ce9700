"""The GANs page in a real Chromium: η moved with the keyboard redraws the eigenvalues in the complex
plane and the address bar follows; on the 1-D GAN the step slider redraws the densities; never an
exception, every chart drawn."""

import re

from playwright.sync_api import expect

from tests.browser.helpers import (assert_every_chart_draws, assert_no_exception, chart_drawing, metric_value,
                                   open_page, press_on_slider, wait_idle)

EIGENVALUES = 2  # the field and paths, the distance, the eigenvalues, the spectral-radius map, the check
DENSITIES = 0


def open_gans(page, url: str, charts: int = 5) -> None:
    """Open the page and wait for its charts: the first visit to a fresh server reruns once (the app's
    navigation takes over), and the idle check can fall between the two runs."""
    open_page(page, url)
    expect(page.get_by_test_id("stVegaLiteChart").nth(charts - 1)).to_be_visible(timeout=60_000)
    wait_idle(page)
    assert_every_chart_draws(page, charts)


def caption_with(page, text: str):
    return page.get_by_test_id("stCaptionContainer").filter(has_text=text)


def test_eta_moved_with_the_keyboard_redraws_the_eigenvalues_and_the_url_follows(page, server_url):
    open_gans(page, f"{server_url}/GANs")
    assert metric_value(page, "Spectral radius ρ") == "1.0198"
    before = chart_drawing(page, EIGENVALUES).screenshot()

    press_on_slider(page, "Step size η", "ArrowRight")  # 0.2 → 0.21
    expect(page).to_have_url(re.compile(r"[?&]lr=0\.21"))
    wait_idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="Spectral radius ρ").get_by_test_id("stMetricValue")) \
        .to_have_text("1.0218", timeout=30_000)  # √(1 + 0.21²)
    expect(caption_with(page, "λ = 1.0000 ± 0.2100i")).to_be_visible()
    page.wait_for_timeout(300)  # Vega redraws the updated data
    assert chart_drawing(page, EIGENVALUES).screenshot() != before
    assert_every_chart_draws(page, 5)
    assert_no_exception(page)


def test_the_1d_gans_step_slider_redraws_the_densities_without_an_exception(page, server_url):
    open_gans(page, f"{server_url}/GANs?game=gan_1d")
    expect(page.get_by_test_id("stAlert").filter(has_text="The generator matched the data")).to_be_visible()
    before = chart_drawing(page, DENSITIES).screenshot()

    press_on_slider(page, "Step shown", "Home")  # the start: the generator is N(0, 1)
    expect(page).to_have_url(re.compile(r"[?&]step=0(&|$)"))
    wait_idle(page)
    expect(caption_with(page, "Step 0: a = 1.000, b = 0.000")).to_be_visible(timeout=30_000)
    page.wait_for_timeout(300)
    assert chart_drawing(page, DENSITIES).screenshot() != before
    assert_no_exception(page)
