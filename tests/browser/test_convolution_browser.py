"""The Convolution page in a real Chromium: keyboard on the sliders, images that decode, a typed
kernel, uploads, a lesson in one click, Play through the kernel-learning steps, a CSV download."""

import csv
import io
import re

import numpy as np
from PIL import Image
from playwright.sync_api import expect

from tests.browser.helpers import assert_no_exception, metric_value, open_page, press_on_slider, wait_idle


def alert(page, text: str):
    return page.get_by_test_id("stAlert").filter(has_text=text)


def step_shown(page) -> str:
    return page.get_by_test_id("stSlider").filter(has_text="Step shown").get_by_test_id("stSliderThumbValue").inner_text()


def test_keyboard_and_typing_redraw_the_layer_and_explain_a_diverging_learning_rate(page, server_url):
    open_page(page, f"{server_url}/Convolution?kernel=custom")
    images = page.get_by_test_id("stImage").locator("img")
    expect(images).to_have_count(3)
    # every colour-mapped array arrives as a PNG the browser can decode, enlarged to at least 320 pixels
    for index in range(3):
        expect(images.nth(index)).to_have_attribute("src", re.compile(r"\.png$"))
        assert images.nth(index).evaluate("img => img.complete && img.naturalWidth") >= 320
    assert page.get_by_test_id("stVegaLiteChart").count() >= 8  # 4 kernels, 2 learning curves, 2 checks' scatters
    assert metric_value(page, "Output y") == "96×82"

    box = page.get_by_test_id("stTextInput").filter(has_text="Kernel entries").locator("input")
    box.fill("1, 2, 3; 4, 5")
    box.press("Enter")
    expect(alert(page, "same number of entries")).to_be_visible(timeout=30_000)
    assert_no_exception(page)
    box.fill("0, 0, 0; 0, 1, 0; 0, 0, 0")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]w=0"), timeout=30_000)
    wait_idle(page)
    expect(alert(page, "same number of entries")).to_have_count(0)
    expect(alert(page, "The tutorial's input gradient is right here, by luck.")).to_be_visible(timeout=30_000)
    assert_no_exception(page)

    wait_idle(page)
    output_src = images.nth(1).get_attribute("src")
    press_on_slider(page, "Stride s", "ArrowRight")  # 1 → 2
    expect(page).to_have_url(re.compile(r"[?&]stride=2"), timeout=30_000)
    wait_idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="Output y").get_by_test_id("stMetricValue")) \
        .to_have_text("48×41", timeout=30_000)  # ⌊(96 + 2 − 3)/2⌋ + 1 × ⌊(82 + 2 − 3)/2⌋ + 1
    expect(images.nth(1)).not_to_have_attribute("src", output_src)
    expect(alert(page, "Pass: the hand-derived gradient agrees").first).to_be_visible()
    assert_no_exception(page)

    wait_idle(page)  # the rerun has finished drawing the learning panel: a key press now is not lost
    press_on_slider(page, "Learning rate η", "End")  # 0.9 → 2 × 2/λ_max
    expect(page).to_have_url(re.compile(r"[?&]lr=2"), timeout=30_000)
    wait_idle(page)
    expect(alert(page, "Gradient descent diverged at step")).to_be_visible(timeout=30_000)
    expect(alert(page, "What to try")).to_be_visible()
    assert_no_exception(page)


def test_a_lesson_sets_its_controls_in_one_click_and_shows_the_zero_grid(page, server_url):
    open_page(page, f"{server_url}/Convolution?steps=50")
    page.get_by_test_id("stButtonGroup").get_by_text("Stride 4: pixels no window reads get no gradient").click()
    expect(page).to_have_url(re.compile(r"lesson=stride_4"), timeout=30_000)
    wait_idle(page)
    assert re.search(r"[?&]stride=4", page.url) and re.search(r"[?&]img=bars", page.url)
    expect(alert(page, "are read by no window, and ∂L/∂x there is exactly 0")).to_be_visible(timeout=30_000)
    expect(alert(page, "The tutorial's input gradient has the wrong shape.")).to_be_visible()
    assert metric_value(page, "Output y") == "24×24"  # ⌊(96 + 2 − 3)/4⌋ + 1
    assert_no_exception(page)


def test_play_steps_through_the_kernel_learning_without_retraining(page, server_url):
    open_page(page, f"{server_url}/Convolution?steps=200&img=bars&noise=0.2")
    assert step_shown(page) == "end"
    error = metric_value(page, "Kernel error")
    learned = page.get_by_test_id("stVegaLiteChart").nth(5)  # w, ∂L/∂w, check, loss, distance, true, learned
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible(timeout=30_000)
    seen = set()
    for _ in range(12):  # a frame every 0.6 s: the step advances on its own
        page.wait_for_timeout(400)
        seen.add(step_shown(page))
    assert len(seen) >= 4, seen
    assert all(re.fullmatch(r"\d+", s) or s == "end" for s in seen), seen
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Play")).to_be_visible(timeout=30_000)
    wait_idle(page)
    assert re.search(r"[?&]step=\d+", page.url) or step_shown(page) == "end"
    assert metric_value(page, "Kernel error") == error  # the same fit, read from the cache
    expect(learned).to_be_visible()
    expect(page.get_by_text("Learning the kernel…")).to_have_count(0)
    assert_no_exception(page)


def test_a_charts_csv_download_holds_exactly_the_charted_data(page, server_url):
    open_page(page, f"{server_url}/Convolution")
    page.get_by_test_id("stPopover").filter(has_text="Download").first.click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Data (CSV)").first.click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path()).read())))
    kernel = np.zeros((3, 3))
    for row in rows:
        kernel[int(row["m"]), int(row["n"])] = float(row["value"])
    np.testing.assert_array_equal(kernel, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])  # the Sobel kernel w, 9 cells
    assert len(rows) == 9 and download.value.suggested_filename == "kernel.csv"
    assert_no_exception(page)


def test_bad_uploads_show_a_message_and_the_page_keeps_working(page, server_url, tmp_path):
    open_page(page, f"{server_url}/Convolution?img=upload&steps=50")
    expect(alert(page, "Upload a PNG or JPEG")).to_be_visible()
    dropzone = page.get_by_test_id("stFileUploaderDropzoneInput")
    text_file = tmp_path / "notes.png"  # a text file renamed .png
    text_file.write_text("user,item,rating\n1,2,5\n")
    dropzone.set_input_files(str(text_file))
    expect(alert(page, "not a PNG or JPEG image")).to_be_visible(timeout=30_000)
    assert_no_exception(page)
    garbage = tmp_path / "photo.jpg"  # bytes that are no picture at all
    garbage.write_bytes(bytes(range(256)) * 8)
    dropzone.set_input_files(str(garbage))
    wait_idle(page)
    expect(alert(page, "not a PNG or JPEG image")).to_be_visible(timeout=30_000)
    assert_no_exception(page)
    good = tmp_path / "gradient.png"
    buffer = io.BytesIO()
    Image.fromarray(np.linspace(0, 255, 120 * 160).reshape(120, 160).astype(np.uint8)).save(buffer, format="PNG")
    good.write_bytes(buffer.getvalue())
    dropzone.set_input_files(str(good))
    wait_idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="Input x").get_by_test_id("stMetricValue")) \
        .to_have_text("72×96", timeout=30_000)
    expect(alert(page, "not a PNG or JPEG image")).to_have_count(0)
    assert_no_exception(page)
