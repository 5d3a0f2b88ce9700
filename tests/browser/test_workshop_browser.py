"""Workshop mode and the catalog in a real Chromium: every page opens and draws, lessons in one click,
the presenter view, Play through training, downloads of the charted data, a phone-sized screen."""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import assert_every_chart_draws, assert_no_exception, open_page, wait_idle
from ui.catalog import APPLICATIONS

PAGES = [app for app in APPLICATIONS if app.available]


@pytest.mark.parametrize("app", PAGES, ids=[a.slug for a in PAGES])
def test_every_page_opens_draws_every_chart_and_offers_its_lessons(page, server_url, app):
    open_page(page, f"{server_url}/{app.url_path}")
    expect(page.get_by_role("heading", name=app.name, exact=True)).to_be_visible()
    assert_every_chart_draws(page, 1)
    for preset in app.presets:
        expect(page.get_by_role("radio", name=preset.title)).to_be_visible()
    assert_no_exception(page)


def test_a_lesson_in_one_click_sets_the_link_and_shows_what_it_claims(page, server_url):
    open_page(page, f"{server_url}/Recommendations")
    page.get_by_role("radio", name="Learning rate too high: divergence").click()
    expect(page).to_have_url(re.compile(r"[?&]lr=0\.5"))
    expect(page).to_have_url(re.compile(r"[?&]lesson=divergence"))
    wait_idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="diverged")).to_be_visible(timeout=30_000)
    assert_no_exception(page)


def test_the_presenter_view_opens_from_a_link_with_larger_type_and_steps_through_the_lessons(page, server_url):
    open_page(page, f"{server_url}/Recommendations")
    normal = page.get_by_test_id("stMain").locator("p").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    open_page(page, f"{server_url}/Recommendations?present=1")
    large = page.get_by_test_id("stMain").locator("p").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert large > normal * 1.1, (normal, large)
    page.get_by_role("button", name="Next lesson").click()
    expect(page).to_have_url(re.compile(r"[?&]lesson=divergence"))
    wait_idle(page)
    page.get_by_role("button", name="Next lesson").click()
    expect(page).to_have_url(re.compile(r"[?&]lesson=overfitting"))
    expect(page).to_have_url(re.compile(r"[?&]present=(1|true)"))
    wait_idle(page)
    # the lesson's controls are at hand above the page, outside the (collapsed) sidebar
    expect(page.get_by_test_id("stMain").get_by_test_id("stSlider").filter(has_text="Regularization")).to_be_visible()
    assert_no_exception(page)


def test_play_steps_through_the_epochs_and_stops_at_the_end(page, server_url):
    open_page(page, f"{server_url}/Recommendations?epochs=8")
    slider = page.get_by_test_id("stSlider").filter(has_text="Epoch shown")
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible(timeout=10_000)
    seen = set()
    for _ in range(40):
        page.wait_for_timeout(250)
        seen.add(slider.get_by_test_id("stSliderThumbValue").inner_text())
        if page.get_by_role("button", name="Play").count():
            break
    assert len(seen) >= 3, seen  # it animated through several epochs
    expect(page.get_by_role("button", name="Play")).to_be_visible(timeout=15_000)  # and stopped at the end
    assert_no_exception(page)


def test_the_data_behind_a_chart_downloads_as_csv(page, server_url):
    open_page(page, f"{server_url}/Recommendations?epochs=6")
    page.get_by_role("button", name="Download", exact=True).first.click()
    with page.expect_download() as info:
        page.get_by_role("button", name="Data (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(info.value.path().read_text())))
    series = [r for r in rows if r.get("table") == "series"]
    assert sum(r["series"] == "train RMSE" for r in series) == 6
    assert sum(r["series"] == "test RMSE" for r in series) == 6


def test_the_copy_link_box_holds_the_current_settings(page, server_url):
    open_page(page, f"{server_url}/Recommendations?reg=0.2&seed=5")
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_test_id("stCode").filter(has_text="reg=0.2")).to_be_visible()
    expect(page.get_by_test_id("stCode").filter(has_text="seed=5")).to_be_visible()


def test_titles_do_not_break_mid_word_on_a_phone(browser, server_url):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    try:
        for app in PAGES:
            open_page(phone, f"{server_url}/{app.url_path}")
            heading = phone.get_by_role("heading", name=app.name, exact=True)
            lines = heading.evaluate("""e => { const tops = new Set(); const walk = document.createTreeWalker(e,
                NodeFilter.SHOW_TEXT); while (walk.nextNode()) { if (!walk.currentNode.textContent.trim()) continue;
                const r = document.createRange(); r.selectNodeContents(walk.currentNode);
                for (const q of r.getClientRects()) tops.add(Math.round(q.top)); } return tops.size; }""")
            words = len(app.name.split())
            assert lines <= words, (app.name, lines)  # wraps only between words, if at all
            assert_no_chart_overflows(phone, app.name)
    finally:
        context.close()


def assert_no_chart_overflows(page, where: str) -> None:
    """No chart is wider than its column (a wider one is cut off, behind a scroll bar)."""
    assert_every_chart_draws(page, 1)
    sizes = page.evaluate("""() => [...document.querySelectorAll('[data-testid=stVegaLiteChart]')]
        .map(e => [e.clientWidth, e.scrollWidth])""")
    assert sizes and all(scroll <= client + 1 for client, scroll in sizes), (where, sizes)


def test_every_chart_fits_its_column_on_a_1280_by_720_projector_in_both_views(browser, server_url):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    screen = context.new_page()
    try:
        for app in PAGES:
            for link in (app.url_path, f"{app.url_path}?present=1"):
                open_page(screen, f"{server_url}/{link}")
                assert_no_chart_overflows(screen, link)
    finally:
        context.close()


def test_a_lesson_moved_away_from_says_so_and_the_way_back_restores_it(page, server_url):
    open_page(page, f"{server_url}/Recommendations")
    page.get_by_role("radio", name="Learning rate too high: divergence").click()
    expect(page).to_have_url(re.compile(r"[?&]lesson=divergence"))
    wait_idle(page)
    open_page(page, f"{server_url}/Recommendations?lesson=divergence&lr=0.03")  # the lesson named, η at its default
    expect(page.get_by_text("The controls have moved from this lesson")).to_be_visible(timeout=30_000)
    expect(page).to_have_url(re.compile(r"[?&]lr=0\.03"))  # kept: a copy of this link shows the same
    page.get_by_role("button", name="Back to the lesson").click()
    expect(page).to_have_url(re.compile(r"[?&]lr=0\.5"))
    wait_idle(page)
    expect(page.get_by_text("The controls have moved from this lesson")).to_have_count(0)
    assert_no_exception(page)


def test_a_link_naming_only_a_lesson_opens_it_and_a_foreign_key_leaves_the_link(page, server_url):
    open_page(page, f"{server_url}/Recommendations?lesson=divergence&dk=3")
    expect(page).to_have_url(re.compile(r"[?&]lr=0\.5"), timeout=30_000)
    wait_idle(page)
    expect(page.get_by_text("Training diverged")).to_be_visible()
    expect(page.get_by_text("The controls have moved from this lesson")).to_have_count(0)
    assert "dk=" not in page.url
    assert_no_exception(page)


def test_a_lesson_control_moved_inside_a_fragment_updates_the_lesson_banner_at_once(page, server_url):
    # Convolution's η is drawn in the learning panel's fragment, below the lesson's banner: a move
    # there reruns only the fragment, which cannot redraw the banner, so the page reruns whole when
    # the move changes what the banner says
    open_page(page, f"{server_url}/Convolution?lesson=lr_too_high")
    expect(page).to_have_url(re.compile(r"[?&]lr=1\.1"), timeout=30_000)
    wait_idle(page)
    moved = page.get_by_text("The controls have moved from this lesson")
    expect(moved).to_have_count(0)
    slider = page.get_by_test_id("stSlider").filter(has_text="Learning rate η").locator('input[type="range"]')
    slider.focus()
    slider.press("ArrowLeft")  # 1.1 → 1.05
    expect(page).to_have_url(re.compile(r"[?&]lr=1\.05"), timeout=30_000)
    wait_idle(page)
    expect(moved).to_be_visible(timeout=30_000)
    expect(moved).to_contain_text("1.05")
    slider.focus()
    slider.press("ArrowRight")  # back to the lesson's 1.1: the banner no longer says it moved
    expect(page).to_have_url(re.compile(r"[?&]lr=1\.1(&|$)"), timeout=30_000)
    wait_idle(page)
    expect(moved).to_have_count(0, timeout=30_000)
    assert_no_exception(page)


def test_every_metric_is_shown_whole_on_a_1024_projector_and_larger_in_the_presenter_view(browser, server_url):
    """Beside the sidebar a 1024-pixel screen leaves a page 724 pixels: in equal columns five metrics
    were cut to "0.26…", and the presenter view's rule for text halved a metric's value (36 → 19.5 px)."""
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    screen = context.new_page()
    try:
        for app in PAGES:
            sizes = {}
            for link in (app.url_path, f"{app.url_path}?present=1"):
                open_page(screen, f"{server_url}/{link}")
                values = screen.get_by_test_id("stMetricValue")
                assert values.count() >= 1, link
                cut = screen.evaluate("""() => [...document.querySelectorAll(
                    '[data-testid=stMetricValue], [data-testid=stMetricLabel]')].filter(e => [e, ...e.querySelectorAll('*')]
                    .some(x => x.scrollWidth > x.clientWidth + 1)).map(e => e.innerText)""")
                assert not cut, (link, cut)
                sizes[link] = values.first.evaluate(
                    "e => parseFloat(getComputedStyle(e.querySelector('p') || e).fontSize)")
            assert sizes[f"{app.url_path}?present=1"] >= sizes[app.url_path], sizes
    finally:
        context.close()


def test_a_link_with_a_path_below_a_page_opens_that_page_with_its_settings(page, server_url):
    """Streamlit's app shell names its scripts relative to the page, so /Attention/extra loaded none
    of them: a blank page without a word. The served app (streamlit_app.py) sends it to /Attention."""
    open_page(page, f"{server_url}/Attention/extra/more?dk=16")
    expect(page).to_have_url(re.compile(r"/Attention\?dk=16$"))
    expect(page.get_by_role("heading", name="NLP / Transformers", exact=True)).to_be_visible()
    thumb = page.get_by_test_id("stSlider").filter(has_text="Key width d_k").get_by_test_id("stSliderThumbValue")
    expect(thumb).to_have_text("16")
    assert_no_exception(page)
