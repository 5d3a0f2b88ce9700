"""The Policy Gradient page in a real Chromium: the step slider and the animation, scrubbing and playing
through training without retraining, retraining and the collapse explained, a lesson in one click,
the progress bar of a long training. Each test opens the page once."""

import re

from playwright.sync_api import expect

from tests.browser.helpers import (assert_every_chart_draws, assert_no_exception, chart_drawing, metric_value,
                                   open_page, press_on_slider, wait_idle)

SHORT = "/Policy_Gradient?episodes=100"
ENTROPY, POLICY_SHOWN, FRAME = 1, 3, 4  # the charts' places: returns, entropy, θ₀'s map, the map shown, the cart
CHARTS = 10  # … the episode, the baseline lesson's three, the gradient check's


def open_policy_gradient(page, url):
    """Open the page and wait for its last chart (the first visit after a start compiles the rollout)."""
    open_page(page, url)
    expect(page.get_by_test_id("stVegaLiteChart").nth(CHARTS - 1)).to_be_visible(timeout=60_000)


def test_the_step_slider_redraws_the_cart_and_the_animation_plays_and_pauses(page, server_url):
    open_policy_gradient(page, server_url + SHORT)
    assert_every_chart_draws(page, CHARTS)
    caption = page.get_by_test_id("stCaptionContainer").filter(has_text="ẋ =")
    expect(caption).to_contain_text("x = +0.039 m")  # step 0 of seed 0's replay: the start state
    before = chart_drawing(page, FRAME).screenshot()
    press_on_slider(page, "Step t", "ArrowRight", times=5)
    expect(page).to_have_url(re.compile(r"[?&]t=5(&|$)"))
    wait_idle(page)
    expect(caption).not_to_contain_text("x = +0.039 m")
    assert chart_drawing(page, FRAME).screenshot() != before
    # the animation runs in the browser: restarted, it advances by itself, and it stops on Pause
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


def test_scrubbing_and_play_move_through_training_without_retraining(page, server_url):
    open_policy_gradient(page, server_url + "/Policy_Gradient")
    trained = metric_value(page, "Last-100 average return")
    policy_before = chart_drawing(page, POLICY_SHOWN).screenshot()
    press_on_slider(page, "Policy after episode", "Home")  # θ₀
    expect(page).to_have_url(re.compile(r"[?&]step=0(&|$)"))
    wait_idle(page)
    expect(page.get_by_text("One episode of the policy before training (θ₀)")).to_be_visible(timeout=30_000)
    assert chart_drawing(page, POLICY_SHOWN).screenshot() != policy_before
    assert metric_value(page, "Last-100 average return") == trained  # the same run: scrubbing never retrains
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible(timeout=10_000)
    expect(page).to_have_url(re.compile(r"[?&]step=[1-9]\d*(&|$)"), timeout=10_000)  # it advances by itself
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Play")).to_be_visible(timeout=10_000)
    assert metric_value(page, "Last-100 average return") == trained
    assert_no_exception(page)


def test_the_largest_learning_rate_retrains_redraws_and_explains_the_collapse(page, server_url):
    open_policy_gradient(page, server_url + SHORT)
    before = metric_value(page, "Policy entropy at the end")
    curve_before = chart_drawing(page, ENTROPY).screenshot()
    press_on_slider(page, "Learning rate η (Adam)", "End")  # Adam, η = 1
    expect(page).to_have_url(re.compile(r"[?&]lr=1(&|$)"))
    wait_idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text=re.compile("collapsed", re.I))).to_be_visible(
        timeout=30_000)
    assert metric_value(page, "Policy entropy at the end") != before
    assert chart_drawing(page, ENTROPY).screenshot() != curve_before
    assert_every_chart_draws(page, CHARTS)
    assert_no_exception(page)


def test_a_lesson_in_one_click_sets_the_link_and_shows_what_it_claims(page, server_url):
    open_page(page, server_url + "/Policy_Gradient")
    page.get_by_role("radio", name="No baseline: noisy gradients").click()
    expect(page).to_have_url(re.compile(r"[?&]baseline=none"))
    expect(page).to_have_url(re.compile(r"[?&]lesson=no_baseline"))
    wait_idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="Noisy gradients without a baseline")).to_be_visible(
        timeout=30_000)
    assert_no_exception(page)


# Installed before the page loads: remembers every progress bar the page drew, however briefly.
SEEN_BARS = """() => { window.__bars = []; new MutationObserver(() => {
  for (const bar of document.querySelectorAll('[data-testid="stProgress"]'))
    if (!window.__bars.includes(bar.textContent)) window.__bars.push(bar.textContent);
}).observe(document, {subtree: true, childList: true, characterData: true}); }"""


def test_a_long_training_shows_a_progress_bar_that_is_gone_when_done_and_on_a_cache_hit(page, server_url):
    page.add_init_script(f"({SEEN_BARS})()")
    # the longest training the page offers: 2,000 episodes, one per update, 64 hidden units (≈ 2 s)
    page.goto(server_url + "/Policy_Gradient?stop=false&episodes=2000&batch=1&hidden=64&seed=11")
    wait_idle(page)
    bars = page.evaluate("window.__bars")
    assert any("Training" in text for text in bars), bars
    expect(page.get_by_test_id("stProgress")).to_have_count(0)
    first = metric_value(page, "Last-100 average return")
    page.reload()
    wait_idle(page)
    expect(page.get_by_test_id("stProgress")).to_have_count(0)
    assert metric_value(page, "Last-100 average return") == first
    assert_no_exception(page)
