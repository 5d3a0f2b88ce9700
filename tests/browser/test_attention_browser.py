"""The Attention page in a real Chromium: sliders and the row picker redraw the heatmaps, the URL
follows, saturation and sentences show messages rather than tracebacks, a lesson in one click, and a
chart's CSV holds exactly the charted weights."""

import csv
import io
import re

import numpy as np
from playwright.sync_api import expect

from calc_core.attention import lab
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
CHARTS = 11  # weights, row weights, Jacobian, four √d_k sweeps, three gradients, the gradient check


def expect_metric(page, label: str, text) -> None:
    expect(page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")) \
        .to_have_text(text, timeout=30_000)


def alert(page, text: str):
    return page.get_by_test_id("stAlert").filter(has_text=text)


def test_a_slider_and_the_row_picker_redraw_the_heatmaps_and_update_the_url(page, server_url):
    open_page(page, f"{server_url}/Attention")
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(CHARTS, timeout=60_000)  # a cold server is slow
    assert_every_chart_draws(page, CHARTS)
    assert metric_value(page, SATURATED) == "0 of 5"
    weights_before = chart_drawing(page, 0).screenshot()

    press_on_slider(page, "Sequence length", "ArrowRight")  # 5 → 6 tokens
    expect(page).to_have_url(re.compile(r"[?&]n=6"))
    wait_idle(page)
    expect_metric(page, SATURATED, "0 of 6")
    assert chart_drawing(page, 0).screenshot() != weights_before
    expect(page.get_by_role("combobox", name="Query row")).to_have_value(lab.LAST_ROW_LABEL)
    expect(page.get_by_test_id("stCaptionContainer").filter(has_text="Query 5:t5")).to_be_visible()  # it follows
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
    expect(alert(page, "The softmax has saturated")).to_be_visible()
    result = lab.run(lab.Settings(scale=False, d_k=256))
    expect_metric(page, SATURATED, f"{result.saturation.count} of 5")
    assert chart_drawing(page, 0).screenshot() != weights_before
    expect(alert(page, "Pass")).to_be_visible()  # the gradient check, honest on saturated rows
    expect(alert(page, "Fail")).to_have_count(0)
    assert_no_exception(page)

    box = page.get_by_test_id("stTextInput").filter(has_text="Sentence").locator("input")
    box.fill("the cat sat on the mat")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]text=the"))
    wait_idle(page)
    expect(page.get_by_test_id("stCaptionContainer").filter(has_text="Query 5:mat")).to_be_visible()  # the last token
    expect_metric(page, SATURATED, re.compile(r"of 6$"))
    box.fill("word " * 40)
    box.press("Enter")
    wait_idle(page)
    expect(alert(page, "40 words")).to_be_visible()
    expect_metric(page, SATURATED, re.compile(r"of 5$"))  # the page goes on with numbered tokens
    assert_no_exception(page)


def test_a_lesson_in_one_click_sets_the_link_and_shows_what_it_claims(page, server_url):
    open_page(page, f"{server_url}/Attention")
    preset = next(p for p in lab.PRESETS if p.name == "no-sqrt-dk")
    page.get_by_test_id("stButtonGroup").get_by_text(preset.title).click()
    expect(page).to_have_url(re.compile(r"[?&]lesson=no-sqrt-dk"), timeout=30_000)
    wait_idle(page)
    assert re.search(r"[?&]scale=false", page.url) and re.search(r"[?&]dk=256", page.url)
    expect(alert(page, preset.lesson[:40])).to_be_visible()
    expect(alert(page, "The softmax has saturated")).to_be_visible()
    assert_no_exception(page)


def test_the_weight_heatmaps_csv_download_holds_exactly_the_charted_weights(page, server_url):
    open_page(page, f"{server_url}/Attention?n=4&seed=7")
    page.get_by_test_id("stPopover").filter(has_text="Download").first.click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Data (CSV)").first.click()
    assert download.value.suggested_filename == "attention_weights.csv"
    rows = list(csv.DictReader(io.StringIO(open(download.value.path()).read())))
    weights = lab.run(lab.Settings(seq_len=4, seed=7)).view.weights
    drawn = np.zeros((4, 4))
    for row in rows:
        drawn[int(row["row"].split(":")[0]), int(row["col"].split(":")[0])] = float(row["value"])
    assert len(rows) == 16
    np.testing.assert_allclose(drawn, weights, rtol=1e-12)
    assert_no_exception(page)
