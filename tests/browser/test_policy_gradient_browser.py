"""The Policy Gradient page in a real Chromium: the step slider, retraining, collapse, the progress bar,
the animation. Each test opens the page once (with 100 episodes, unless it is about long training)."""

import re

from playwright.sync_api import expect

from tests.browser.helpers import assert_no_exception, metric_value, open_page, press_on_slider, wait_idle

SHORT = "/Policy_Gradient?episodes=100"


def test_the_step_slider_redraws_the_cart_and_the_animation_plays_and_pauses(page, server_url):
    open_page(page, server_url + SHORT)
    caption = page.get_by_test_id("stCaptionContainer").filter(has_text="ẋ =")
    expect(caption).to_contain_text("x = +0.039 m")  # step 0 of seed 0: the start state
    drawing = page.get_by_test_id("stVegaLiteChart").nth(4)  # the cart-pole frame
    before = drawing.screenshot()
    press_on_slider(page, "Step t", "ArrowRight", times=5)
    expect(page).to_have_url(re.compile(r"[?&]t=5(&|$)"))
    wait_idle(page)
    expect(caption).not_to_contain_text("x = +0.039 m")
    assert drawing.screenshot() != before
    # the animation runs in the browser (a 100-episode policy's episode is over in ~2 s): restarted, it
    # advances by itself, and it stops on Pause
    player = page.frame_locator("iframe").first
    info = player.locator("#info")
    expect(info).to_contain_text("step ")
    player.locator("#again").click()
    first = info.inner_text()
    expect(info).not_to_have_text(first, timeout=5_000)
    player.locator("#play").click()
    expect(player.locator("#play")).to_have_text("Play")
    paused = info.inner_text()
    page.wait_for_timeout(300)
    assert info.inner_text() == paused
    assert_no_exception(page)


def test_the_largest_learning_rate_retrains_redraws_and_explains_the_collapse(page, server_url):
    open_page(page, server_url + SHORT)
    before = metric_value(page, "Policy entropy at the end")
    curve = page.get_by_test_id("stVegaLiteChart").nth(1)  # the entropy curve
    curve_before = curve.screenshot()
    press_on_slider(page, "Learning rate η", "End")  # Adam, η = 1
    expect(page).to_have_url(re.compile(r"[?&]lr=1(&|$)"))
    wait_idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="collapsed at episode")).to_be_visible(timeout=30_000)
    assert metric_value(page, "Policy entropy at the end") != before
    assert curve.screenshot() != curve_before
    assert page.get_by_test_id("stVegaLiteChart").count() >= 9  # every chart is still drawn
    assert_no_exception(page)


def test_a_long_training_shows_a_progress_bar_that_is_gone_when_done_and_on_a_cache_hit(page, server_url):
    page.goto(server_url + "/Policy_Gradient?episodes=800&seed=11")
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stProgress")).to_contain_text("Training")
    wait_idle(page)
    expect(page.get_by_test_id("stProgress")).to_have_count(0)
    first = metric_value(page, "Last-100 average return")
    page.reload()
    wait_idle(page)
    expect(page.get_by_test_id("stProgress")).to_have_count(0)
    assert metric_value(page, "Last-100 average return") == first
    assert_no_exception(page)
