"""The home page and the Recommendations page in a real Chromium."""

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


def test_home_page_has_a_card_per_page_and_links_to_the_recommendations_page(page, server_url):
    open_page(page, server_url)
    expect(page.get_by_role("heading", name="Calculus in ML Lab")).to_be_visible()
    expect(page.get_by_test_id("stTable")).to_contain_text("Minimax optimization")  # all seven rows
    page.get_by_test_id("stMain").get_by_role("link", name="Recommendations").click()
    page.wait_for_url(re.compile(r"/Recommendations"))
    wait_idle(page)
    expect(page.get_by_test_id("stMetric").first).to_be_visible()
    assert_no_exception(page)


def test_a_shared_link_opened_first_is_drawn_by_the_apps_own_navigation(page, server_url):
    """/Recommendations?… as the first page of a session: the sidebar lists the catalog's titles
    (Streamlit's folder mode would list "app" and file names)."""
    open_page(page, f"{server_url}/Recommendations?reg=0.1")
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav).to_contain_text("Home")
    expect(nav).to_contain_text("Computer Vision")
    expect(nav).not_to_contain_text("app")


def test_moving_a_slider_with_the_keyboard_retrains_redraws_and_updates_the_url(page, server_url):
    open_page(page, f"{server_url}/Recommendations")
    assert_every_chart_draws(page, 4)
    before = metric_value(page, "Test RMSE")
    curve_before = chart_drawing(page, 0).screenshot()
    press_on_slider(page, "Latent factors", "End")  # 10 → 50 factors
    expect(page).to_have_url(re.compile(r"[?&]factors=50"))
    wait_idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="Test RMSE").get_by_test_id("stMetricValue")) \
        .not_to_have_text(before, timeout=30_000)
    assert chart_drawing(page, 0).screenshot() != curve_before
    assert_no_exception(page)


def test_a_shared_link_reproduces_the_run(page, server_url):
    open_page(page, f"{server_url}/Recommendations?lr=0.02&factors=7&seed=42")
    first = metric_value(page, "Test RMSE")
    context = page.context.browser.new_context()
    other = context.new_page()
    try:
        open_page(other, f"{server_url}/Recommendations?lr=0.02&factors=7&seed=42")
        assert metric_value(other, "Test RMSE") == first
    finally:
        context.close()


def test_divergence_shows_an_explanation_not_a_traceback(page, server_url):
    open_page(page, f"{server_url}/Recommendations?lr=0.5")
    expect(page.get_by_test_id("stAlert").filter(has_text="diverged")).to_be_visible()
    assert_no_exception(page)


def test_a_bad_upload_shows_a_message_and_the_page_keeps_working(page, server_url, tmp_path):
    open_page(page, f"{server_url}/Recommendations?data=upload")
    bad = tmp_path / "ratings.csv"
    bad.write_text("user,item,rating\n" + "1,2,excellent\n" * 20)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(bad))
    expect(page.get_by_test_id("stAlert").filter(has_text="not a number")).to_be_visible(timeout=30_000)
    assert_no_exception(page)
    good = tmp_path / "u.data"
    good.write_text("".join(f"{u}\t{(u * 7 + k) % 40}\t{1 + (u + k) % 5}\t0\n" for u in range(40) for k in range(10)))
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(good))
    wait_idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="Test RMSE")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stAlert").filter(has_text="not a number")).to_have_count(0)
    assert_no_exception(page)


def test_the_user_picker_keeps_working_after_a_message_appears_above_it(page, server_url):
    # 5 epochs: no overfitting message yet; 100 epochs at λ = 0 with 50 factors: the message appears,
    # which shifts everything below it — the user picker (inside a fragment) must still answer.
    open_page(page, f"{server_url}/Recommendations?reg=0&factors=50&epochs=5")
    expect(page.get_by_test_id("stAlert").filter(has_text="Overfitting")).to_have_count(0)
    press_on_slider(page, "Epochs", "End")
    expect(page.get_by_test_id("stAlert").filter(has_text="Overfitting")).to_be_visible(timeout=60_000)
    wait_idle(page)
    picker = page.get_by_test_id("stSelectbox").filter(has_text="User")
    picker.click()
    page.keyboard.type("17")  # the option list is virtualized: filter it first
    page.get_by_role("option", name="17", exact=True).click()
    expect(page.get_by_text(re.compile(r"User 17 after epoch"))).to_be_visible(timeout=30_000)
    expect(page).to_have_url(re.compile(r"[?&]user=17"))
    assert_no_exception(page)


def test_a_held_down_key_on_a_slider_leaves_the_step_shown_at_the_end(page, server_url):
    """Epochs pressed 12 times, 30 ms apart (a key held down), twice: the second time every run is a
    cache hit, so the presses outrun the redraws. The browser sends the step scrubber's value back as
    its label; the last step's label said the run's length ("29 (end)"), which a shorter run's options
    did not have, so Streamlit fell back to the first option: step 0, and ``step=0`` in the link."""
    for _ in range(2):
        open_page(page, f"{server_url}/Recommendations")
        handle = page.get_by_test_id("stSlider").filter(has_text="Epochs").locator('input[type="range"]')
        handle.focus()
        for _ in range(12):
            page.keyboard.press("ArrowLeft")
            page.wait_for_timeout(30)
        expect(page).to_have_url(re.compile(r"[?&]epochs=28"), timeout=30_000)
        wait_idle(page)
        page.wait_for_timeout(1500)
        wait_idle(page)
        assert "step=" not in page.url, page.url
        shown = page.get_by_test_id("stSlider").filter(has_text="Epoch shown").get_by_test_id("stSliderThumbValue")
        expect(shown).to_contain_text("end")
        assert_no_exception(page)
