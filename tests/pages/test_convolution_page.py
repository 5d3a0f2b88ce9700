"""The Convolution page under AppTest: defaults, extremes, deep links, a typed kernel, divergence, uploads."""

import io
import re

import numpy as np
import pytest
from PIL import Image

import ui.images
from calc_core.convolution import core as convolution
from calc_core.convolution import kernels
from tests.pages.apptest_helpers import assert_clean, chart_rows, chart_specs, exercise_extremes, run_page

PAGE = "pages/3_Convolution.py"
SOBEL_X = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def matrices(at) -> list[np.ndarray]:
    """The matrices drawn as value cells (kernels and their gradients), in page order."""
    found = []
    for spec in chart_specs(at):
        cells = spec.get("datasets", {}).get("cells")
        if cells:
            matrix = np.zeros((max(c["m"] for c in cells) + 1, max(c["n"] for c in cells) + 1))
            for c in cells:
                matrix[c["m"], c["n"]] = c["value"]
            found.append(matrix)
    return found


def titled_rows(at, title: str) -> list[dict]:
    spec = next(s for s in chart_specs(at) if s.get("title") == title or str(s.get("title", "")).startswith(title))
    return chart_rows(spec)


def text_of(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_defaults_show_the_layer_its_gradients_the_check_the_code_and_a_learned_sobel_kernel():
    at = run_page(PAGE)
    assert_clean(at)
    assert at.selectbox(key="img").value == "photo" and at.selectbox(key="kernel").value == "sobel_x"
    assert (metric(at, "Input x"), metric(at, "Padded x̃"), metric(at, "Output y")) == ("96×82", "98×84", "96×82")
    assert len(at.image) == 3  # x̃, y and ∂L/∂x as colour-mapped images, sent as lossless PNG
    assert all(image.proto.imgs[0].url.endswith(".png") for image in at.image)
    captions = [image.proto.imgs[0].caption for image in at.image]
    assert captions[0].startswith("black") and all(c.startswith("blue −") for c in captions[1:])
    w, grad_w, true_w, learned_w = matrices(at)
    np.testing.assert_array_equal(w, SOBEL_X)
    # ∂L/∂w on the page is calc_core's for the same image: L = ½‖y‖² on the noisy photo
    x = kernels.add_noise(ui.images.gray_image("photo", 96), 0.1, 0)
    np.testing.assert_allclose(grad_w, convolution.run_convolution(x, np.array(SOBEL_X), 1, 1).grad_kernel)
    np.testing.assert_array_equal(true_w, SOBEL_X)
    assert np.abs(learned_w - true_w).max() < 1e-3 and float(metric(at, "Kernel error")) < 1e-3
    assert at.success and "Pass" in at.success[0].value  # the live gradient check
    code = " ".join(c.value for c in at.code)
    for function in ("def correlate", "def input_gradient", "def kernel_gradient", "def dilate",
                     "def full_convolution", "def fit_kernel"):
        assert function in code
    assert len(at.latex) >= 5
    assert "exactly −∂L/∂x" in text_of(at) and "98×84 = x̃'s shape" in text_of(at)  # the tutorial's measured slips
    assert any("64 of its 7,872 pixels" in c.value for c in at.caption)  # sampled coordinates


def test_loss_chart_holds_both_runs_on_a_log_scale_and_the_too_high_run_is_stopped():
    at = run_page(PAGE, {"steps": "120"})
    assert_clean(at)
    spec = next(s for s in chart_specs(at) if str(s.get("title", "")).startswith("Loss"))
    assert '"type": "log"' in str(spec).replace("'", '"')
    rows = chart_rows(spec)
    good = [r["y"] for r in rows if r.get("series") == "0.9 × 2/λ_max"]
    high = [r["y"] for r in rows if r.get("series") == "1.2 × 2/λ_max: too high"]
    assert len(good) == 121 and good[-1] < 1e-3 * good[0]
    assert 10 < len(high) < 121 and high[-1] > 1e6 * high[0]  # stopped once it passed a million times its start
    assert re.search(r"passed a million times its start at step \d+", text_of(at))
    assert not at.warning  # the chosen rate converges: no problem to report


def test_every_control_at_its_minimum_and_maximum_runs_cleanly():
    keys = exercise_extremes(PAGE, {"lr": (0.01, 2.0)})
    assert {"size", "noise", "stride", "pad", "seed", "steps", "lr"} <= set(keys)


def test_all_controls_at_their_maximum_together_run_cleanly():
    at = run_page(PAGE, {"img": "Checkerboard", "size": "256", "noise": "0.5", "kernel": "Random", "stride": "4",
                         "pad": "3", "loss": "Σ y (tutorial)", "seed": "9999", "lr": "2", "steps": "500"})
    assert not at.exception and not at.error
    assert metric(at, "Output y") == f"{(256 + 6 - 3) // 4 + 1}×{(256 + 6 - 3) // 4 + 1}"
    assert at.success  # the gradient check still passes on sampled pixels
    assert any("64 of its 65,536 pixels" in c.value for c in at.caption)
    assert "diverged" in " ".join(w.value for w in at.warning)


def test_all_controls_at_their_minimum_together_run_cleanly():
    at = run_page(PAGE, {"img": "Circle", "size": "16", "noise": "0.0", "stride": "1", "pad": "0",
                         "lr": "0.01", "steps": "10"})
    assert_clean(at)
    assert metric(at, "Output y") == "14×14"
    assert any("Not converged yet" in i.value for i in at.info)


def test_url_parameters_restore_the_settings_and_reproduce_the_run():
    query = {"img": "Bars", "size": "64", "kernel": "Laplacian", "stride": "2", "pad": "0", "noise": "0.2", "seed": "7",
             "loss": "Σ y⊙R", "lr": "0.5", "steps": "200"}
    linked = run_page(PAGE, query)
    assert_clean(linked)
    assert linked.selectbox(key="img").value == "bars" and linked.selectbox(key="kernel").value == "laplacian"
    assert linked.slider(key="stride").value == 2 and linked.radio(key="loss").value == "random"
    assert metric(linked, "Output y") == "31×31"  # ⌊(64 − 3)/2⌋ + 1
    by_hand = run_page(PAGE)
    by_hand.selectbox(key="img").set_value("bars")
    by_hand.slider(key="size").set_value(64)
    by_hand.selectbox(key="kernel").set_value("laplacian")
    by_hand.slider(key="stride").set_value(2)
    by_hand.slider(key="pad").set_value(0)
    by_hand.slider(key="noise").set_value(0.2)
    by_hand.number_input(key="seed").set_value(7)
    by_hand.radio(key="loss").set_value("random")
    by_hand.select_slider(key="lr").set_value(0.5)
    by_hand.slider(key="steps").set_value(200).run()
    assert [m.value for m in linked.metric] == [m.value for m in by_hand.metric]
    assert "(the stride is ignored)" in text_of(linked)


@pytest.mark.parametrize("query", [
    {"img": "nonsense", "size": "abc", "stride": "99", "pad": "-1", "noise": "nan", "kernel": "emboss"},
    {"lr": "0.123", "steps": "-5", "loss": "hinge", "seed": "xyz", "size": "1e9"},
])
def test_garbage_url_parameters_fall_back_to_defaults(query):
    at = run_page(PAGE, query)
    assert_clean(at)
    assert at.selectbox(key="img").value == "photo" and at.selectbox(key="kernel").value == "sobel_x"
    assert at.slider(key="size").value == 96 and at.slider(key="stride").value == 1
    assert at.select_slider(key="lr").value == 0.9 and at.slider(key="steps").value == 400


def test_a_typed_kernel_from_the_url_is_used_and_learned():
    at = run_page(PAGE, {"kernel": "Custom", "w": "1, 0, -1; 2, 0, -2; 1, 0, -1"})
    assert_clean(at)
    w = matrices(at)[0]
    np.testing.assert_array_equal(w, -np.array(SOBEL_X))
    assert "exactly −∂L/∂x" in text_of(at)  # the tutorial's double flip bites this kernel too
    wide = run_page(PAGE, {"kernel": "Custom", "w": "1/4, 1/2, 1/4"})
    assert_clean(wide)
    np.testing.assert_allclose(matrices(wide)[0], [[0.25, 0.5, 0.25]])
    assert metric(wide, "Output y") == "98×82"  # a 1×3 kernel with padding 1


@pytest.mark.parametrize("text, message", [("1, 2, 3; 4, 5", "same number of entries"),
                                           ("1, two, 3", "'two' in row 1"), ("", "empty"),
                                           ("1;" * 6, "largest allowed is 5×5")])
def test_bad_kernel_text_shows_a_message_and_the_page_goes_on_with_the_default(text, message):
    at = run_page(PAGE, {"kernel": "Custom"})
    at.text_input(key="w").set_value(text).run()
    assert not at.exception and not at.error
    assert any(message in w.value and "not used" in w.value for w in at.warning)
    np.testing.assert_array_equal(matrices(at)[0], kernels.parse_kernel("0, 1, 2; -1, 0, 1; -2, -1, 0"))
    assert at.success


@pytest.mark.parametrize("fraction, title", [(1.5, "diverged at step"), (1.05, "The loss is growing")])
def test_too_high_a_learning_rate_is_explained_not_a_traceback(fraction, title):
    at = run_page(PAGE, {"lr": str(fraction), "steps": "30"})
    assert not at.exception and not at.error
    warning = " ".join(w.value for w in at.warning)
    assert title in warning and "2/λ_max" in warning and "What to try" in warning
    assert matrices(at)[3].shape == (3, 3)  # the learned kernel is still drawn, finite


@pytest.mark.parametrize("loss", ["½‖y‖²", "Σ y⊙R", "Σ y (tutorial)"])
def test_the_gradient_check_passes_for_every_loss_and_stride(loss):
    at = run_page(PAGE, {"loss": loss, "stride": "3", "pad": "2", "kernel": "Random"})
    assert_clean(at)
    assert at.success and "Pass" in at.success[0].value


def png_bytes(size=(48, 64)) -> bytes:
    buffer = io.BytesIO()
    gradient = np.linspace(0, 255, size[0] * size[1]).reshape(size).astype(np.uint8)
    Image.fromarray(gradient).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(content: bytes, name: str):
    at = run_page(PAGE, {"img": "Upload"})
    at.file_uploader[0].set_value((name, content, "image/png")).run()
    return at


def test_an_uploaded_png_is_used_grayscale_and_shrunk():
    at = upload(png_bytes((120, 160)), "picture.png")
    assert_clean(at)
    assert metric(at, "Input x") == "72×96"  # the longer side shrunk to 96
    assert at.success


@pytest.mark.parametrize("content, name, message", [
    (b"\x00\x01\x02 definitely not a picture \xff\xfe", "photo.png", "not a PNG or JPEG image"),
    (b"user,item,rating\n1,2,5\n", "notes.png", "not a PNG or JPEG image"),  # a text file renamed .png
    (png_bytes()[:150], "cut.png", "damaged or cut short"),
    (b"", "empty.png", "empty"),
])
def test_a_bad_upload_shows_a_message_and_the_page_keeps_working(content, name, message):
    at = upload(content, name)
    assert not at.exception
    assert at.error and message in at.error[0].value
    at.selectbox(key="img").set_value("bars").run()
    assert_clean(at)
    assert metric(at, "Output y") == "96×96"


def test_upload_mode_without_a_file_asks_for_one():
    at = run_page(PAGE, {"img": "Upload"})
    assert_clean(at)
    assert any("Upload a PNG or JPEG" in i.value for i in at.info)


def test_reset_button_restores_every_default():
    at = run_page(PAGE, {"img": "Bars", "stride": "3", "lr": "1.5", "seed": "5", "kernel": "Custom", "w": "1, 2"})
    assert at.slider(key="stride").value == 3
    next(b for b in at.button if "Reset" in b.label).click().run()
    assert at.selectbox(key="img").value == "photo" and at.slider(key="stride").value == 1
    assert at.select_slider(key="lr").value == 0.9 and at.number_input(key="seed").value == 0
    assert at.selectbox(key="kernel").value == "sobel_x"
