"""The Attention page in a real Chromium: sliders and the row picker redraw the heatmaps, the URL
follows, and saturation and sentences show messages rather than tracebacks. (Two page loads in all:
each load draws ten charts, which is most of the time on a busy 2-core machine.)"""

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

SATURATED = "Saturated rows"



def expect_metric(page, label: str, text: str) -> None:
    expect(page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")) \
        .to_have_text(text, timeout=30_000)


def test_a_slider_and_the_row_picker_redraw_the_heatmaps_and_update_the_url(page, server_url):
    open_page(page, f"{server_url}/Attention")
    assert_every_chart_draws(page, 10)
    assert metric_value(page, SATURATED) == "0 of 5"
    weights_before = chart_drawing(page, 0).screenshot()

    press_on_slider(page, "Sequence length", "ArrowRight")  # 5 → 6 tokens
    expect(page).to_have_url(re.compile(r"[?&]n=6"))
    wait_idle(page)
    expect_metric(page, SATURATED, "0 of 6")
    assert chart_drawing(page, 0).screenshot() != weights_before
    assert_no_exception(page)

    jacobian_before = chart_drawing(page, 2).screenshot()
    page.get_by_test_id("stSelectbox").filter(has_text="Query row").click()
    page.get_by_role("option", name="1:t1").click()
    expect(page).to_have_url(re.compile(r"[?&]row=1(%3A|:)t1"))
    wait_idle(page)
    expect(page.get_by_role("combobox", name="Query row")).to_have_value("1:t1")
    assert chart_drawing(page, 2).screenshot() != jacobian_before
    assert_no_exception(page)


def test_unscaled_large_d_k_saturates_and_a_sentence_relabels_the_tokens(page, server_url):
    open_page(page, f"{server_url}/Attention?scale=false")
    weights_before = chart_drawing(page, 0).screenshot()
    press_on_slider(page, "Key width", "End")  # d_k = 256
    expect(page).to_have_url(re.compile(r"[?&]dk=256"))
    wait_idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="The softmax has saturated")).to_be_visible()
    expect_metric(page, SATURATED, "5 of 5")
    assert chart_drawing(page, 0).screenshot() != weights_before
    expect(page.get_by_test_id("stAlert").filter(has_text="Pass")).to_be_visible()  # the gradient check
    assert_no_exception(page)

    box = page.get_by_test_id("stTextInput").filter(has_text="Sentence").locator("input")
    box.fill("the cat sat on the mat")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]text=the"))
    wait_idle(page)
    expect(page.get_by_role("combobox", name="Query row")).to_have_value("5:mat")  # the last token
    expect_metric(page, SATURATED, re.compile(r"of 6$"))
    box.fill("word " * 40)
    box.press("Enter")
    wait_idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="40 words")).to_be_visible()
    expect_metric(page, SATURATED, re.compile(r"of 5$"))  # the page goes on with numbered tokens
    assert_no_exception(page)
