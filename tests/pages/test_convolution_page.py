"""The Convolution page under AppTest: what it draws against calc_core's results — the layer, its
check, the tutorial's slips, the learning panel and its scrubber; links, lessons, typed kernels,
uploads. (Every control at its ends, hostile links, Reset and leaks: tests/pages/test_catalog.py.)"""

import io
import re

import numpy as np
import pytest
from PIL import Image

import ui.images
from calc_core.convolution import kernels, lab
from tests.pages.apptest_helpers import assert_clean, chart_rows, chart_specs, chart_titled, run_page

PAGE = "pages/3_Convolution.py"
SOBEL_X = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]


def key(name: str) -> str:
    return f"Convolution:{name}"


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def matrices(at) -> list[np.ndarray]:
    """The matrices drawn as value cells, in page order: w, ∂L/∂w, the true and the learned kernel."""
    found = []
    for spec in chart_specs(at):
        cells = chart_rows(spec, "cells")
        if cells:
            matrix = np.zeros((max(c["m"] for c in cells) + 1, max(c["n"] for c in cells) + 1))
            for c in cells:
                matrix[c["m"], c["n"]] = c["value"]
            found.append(matrix)
    return found


def text_of(at) -> str:
    return " ".join(m.value for m in at.markdown)


def alerts(at) -> str:
    return " ".join(a.value for a in (*at.info, *at.warning, *at.success, *at.error))


def expected(settings=None, lr_fraction=lab.LEARN_LR_FRACTION, steps=lab.LEARN_STEPS):
    """calc_core's results for what the page shows, on the image the page's image layer makes."""
    settings = settings or lab.Settings()
    image = ui.images.gray_image(settings.source, settings.size, settings.upload)
    return lab.run(settings, image), lab.learn(settings, lr_fraction, steps, image)


def test_defaults_show_the_layer_its_gradients_the_check_the_code_and_a_learned_sobel_kernel():
    at = run_page(PAGE)
    assert_clean(at)
    result, fit = expected()
    assert at.selectbox(key=key("img")).value == "photo" and at.selectbox(key=key("kernel")).value == "sobel_x"
    assert (metric(at, "Input x"), metric(at, "Padded x̃"), metric(at, "Output y")) == ("96×82", "98×84", "96×82")
    assert metric(at, "Loss L") == f"{result.layer.loss_value:,.6g}"
    assert len(at.image) == 3  # x̃, y and ∂L/∂x as colour-mapped images, sent as lossless PNG
    assert all(image.proto.imgs[0].url.endswith(".png") for image in at.image)
    captions = [image.proto.imgs[0].caption for image in at.image]
    assert captions[0].startswith("black") and all(c.startswith("blue −") for c in captions[1:])
    w, grad_w, true_w, learned_w = matrices(at)
    np.testing.assert_array_equal(w, SOBEL_X)
    np.testing.assert_allclose(grad_w, result.layer.grad_kernel)  # L = ½‖y‖² on the noisy photo
    np.testing.assert_array_equal(true_w, SOBEL_X)
    np.testing.assert_allclose(learned_w, fit.snapshots.at(-1)["kernel"])
    assert np.abs(learned_w - true_w).max() < 1e-3 and metric(at, "Kernel error") == f"{fit.final_error:.1e}"
    assert metric(at, "Stable limit 2/λ_max") == f"{fit.bounds.stable_limit:.3g}"
    assert [s.value.startswith("**Pass:**") for s in at.success].count(True) == 2  # the layer and the training step
    assert "The hidden kernel is recovered." in alerts(at)
    code = " ".join(c.value for c in at.code)
    for function in ("def correlate", "def input_gradient", "def kernel_gradient", "def dilate",
                     "def full_convolution", "def fit_kernel"):
        assert function in code
    assert len(at.latex) >= 7
    assert "exactly −∂L/∂x" in text_of(at) and "98×84 = x̃'s shape" in text_of(at)  # the tutorial's measured slips
    assert "The tutorial's input gradient has the wrong sign here." in alerts(at)
    assert any(result.check_note == c.value and "64 of its 7,872 pixels" in c.value for c in at.caption)


def test_the_loss_chart_holds_both_runs_on_a_log_scale_with_the_marker_at_the_step_shown():
    at = run_page(PAGE, {"steps": "120"})
    assert_clean(at)
    _, fit = expected(steps=120)
    spec = chart_titled(at, "Loss")
    assert spec["layer"][0]["encoding"]["y"]["scale"] == {"type": "log"}
    rows = chart_rows(spec, "series")
    good = [r["y"] for r in rows if r["series"] == "chosen η"]
    high = [r["y"] for r in rows if r["series"] == "1.2 × 2/λ_max: too high"]
    np.testing.assert_allclose(good, fit.loss_history)
    np.testing.assert_allclose(high, fit.too_high_loss_history)
    assert len(good) == 121 and good[-1] < 1e-3 * good[0]
    assert 10 < len(high) < 121 and high[-1] > 1e6 * high[0]  # stopped once it passed a million times its start
    assert chart_rows(spec, "marker")[0]["x"] == 120  # the end of the run: the scrubber's default
    assert re.search(r"passed a million times its start at step \d+", text_of(at))
    assert not at.warning  # the chosen rate converges: no problem to report


def test_moving_the_step_shows_that_snapshot_and_never_retrains(monkeypatch):
    _, fit = expected(steps=200)
    calls = []
    original = lab.learn

    def counting(*args, **kwargs):
        calls.append(args[1:3])
        return original(*args, **kwargs)

    monkeypatch.setattr(lab, "learn", counting)
    at = run_page(PAGE, {"steps": "200"})
    assert_clean(at)
    assert at.select_slider(key=key("step")).options[-1] == "end"
    for step in (0, 45, 100):
        at.select_slider(key=key("step")).set_value(step).run()
        assert_clean(at)
        index = int(np.flatnonzero(fit.snapshots.steps == step)[0])
        np.testing.assert_allclose(matrices(at)[3], fit.snapshots.at(index)["kernel"])
        for title in ("Loss", "Distance to the hidden kernel"):
            assert chart_rows(chart_titled(at, title), "marker")[0]["x"] == step
        assert at.query_params.get("step") == str(step)
    assert calls == [(0.9, 200)]  # one training run; every later step read the cached fit
    assert len(fit.snapshots) == 41 and not np.allclose(matrices(at)[3], matrices(run_page(PAGE))[3])


def test_every_chart_offers_its_data_and_an_svg_for_download():
    at = run_page(PAGE)
    names = {b.key for b in at.get("download_button")}
    for export in ("kernel", "grad_kernel", "learning_loss", "kernel_error", "true_kernel", "learned_kernel"):
        assert {f"Convolution:csv:{export}", f"Convolution:svg:{export}"} <= names, export


def test_all_controls_at_their_maximum_together_run_cleanly():
    at = run_page(PAGE, {"img": "checkerboard", "size": "256", "noise": "0.5", "kernel": "random", "stride": "4",
                         "pad": "3", "loss": "sum", "seed": "9999", "lr": "2", "steps": "500"})
    assert not at.exception and not at.error
    assert metric(at, "Output y") == f"{(256 + 6 - 3) // 4 + 1}×{(256 + 6 - 3) // 4 + 1}"
    assert at.success and "Pass" in at.success[0].value  # the gradient check still passes on sampled pixels
    assert any("64 of its 65,536 pixels" in c.value and "no window reads" in c.value for c in at.caption)
    assert "Gradient descent diverged at step" in " ".join(w.value for w in at.warning)
    assert "Pixels no window reads get no gradient." in alerts(at)


def test_all_controls_at_their_minimum_together_run_cleanly():
    at = run_page(PAGE, {"img": "circle", "size": "16", "noise": "0.0", "stride": "1", "pad": "0",
                         "lr": "0.01", "steps": "10"})
    assert_clean(at)
    assert metric(at, "Output y") == "14×14"
    assert any("Not converged yet" in i.value for i in at.info)


def test_url_parameters_restore_the_settings_and_reproduce_the_run():
    query = {"img": "bars", "size": "64", "kernel": "laplacian", "stride": "2", "pad": "0", "noise": "0.2",
             "seed": "7", "loss": "random", "lr": "0.5", "steps": "200"}
    linked = run_page(PAGE, query)
    assert_clean(linked)
    assert linked.selectbox(key=key("img")).value == "bars" and linked.selectbox(key=key("kernel")).value == "laplacian"
    assert linked.slider(key=key("stride")).value == 2 and linked.radio(key=key("loss")).value == "random"
    assert metric(linked, "Output y") == "31×31"  # ⌊(64 − 3)/2⌋ + 1
    by_hand = run_page(PAGE)
    by_hand.selectbox(key=key("img")).set_value("bars")
    by_hand.slider(key=key("size")).set_value(64)
    by_hand.selectbox(key=key("kernel")).set_value("laplacian")
    by_hand.slider(key=key("stride")).set_value(2)
    by_hand.slider(key=key("pad")).set_value(0)
    by_hand.slider(key=key("noise")).set_value(0.2)
    by_hand.number_input(key=key("seed")).set_value(7)
    by_hand.radio(key=key("loss")).set_value("random")
    by_hand.select_slider(key=key("lr")).set_value(0.5)
    by_hand.slider(key=key("steps")).set_value(200).run()
    assert [m.value for m in linked.metric] == [m.value for m in by_hand.metric]
    assert dict(by_hand.query_params) == query
    assert "(the stride is ignored)" in text_of(linked)


def test_a_link_shared_before_the_control_kit_names_options_by_their_labels_and_still_opens_them():
    at = run_page(PAGE, {"img": "Bars", "kernel": "Laplacian", "loss": "Σ y⊙R", "stride": "2"})
    assert_clean(at)
    assert at.selectbox(key=key("img")).value == "bars" and at.selectbox(key=key("kernel")).value == "laplacian"
    assert at.radio(key=key("loss")).value == "random"
    assert at.query_params.get("img") == "bars"  # rewritten in today's form


@pytest.mark.parametrize("query", [
    {"img": "nonsense", "size": "abc", "stride": "99", "pad": "-1", "noise": "nan", "kernel": "emboss"},
    {"lr": "0.123", "steps": "-5", "loss": "hinge", "seed": "xyz", "size": "1e9", "step": "inf"},
])
def test_garbage_url_parameters_fall_back_to_defaults(query):
    at = run_page(PAGE, query)
    assert_clean(at)
    assert at.selectbox(key=key("img")).value == "photo" and at.selectbox(key=key("kernel")).value == "sobel_x"
    assert at.slider(key=key("size")).value == 96 and at.slider(key=key("stride")).value == 1
    assert at.select_slider(key=key("lr")).value == 0.9 and at.slider(key=key("steps")).value == 400


def test_a_typed_kernel_from_the_url_is_used_and_learned():
    at = run_page(PAGE, {"kernel": "custom", "w": "1, 0, -1; 2, 0, -2; 1, 0, -1"})
    assert_clean(at)
    w, _, true_w, _ = matrices(at)
    np.testing.assert_array_equal(w, -np.array(SOBEL_X))
    np.testing.assert_array_equal(true_w, w)
    assert "exactly −∂L/∂x" in text_of(at)  # the tutorial's double flip bites this kernel too
    wide = run_page(PAGE, {"kernel": "custom", "w": "1/4, 1/2, 1/4"})
    assert_clean(wide)
    np.testing.assert_allclose(matrices(wide)[0], [[0.25, 0.5, 0.25]])
    assert metric(wide, "Output y") == "98×82"  # a 1×3 kernel with padding 1
    assert not at.text_input(key=key("w")).disabled and run_page(PAGE).text_input(key=key("w")).disabled


@pytest.mark.parametrize("text, message", [("1, 2, 3; 4, 5", "same number of entries"),
                                           ("1, two, 3", "'two' in row 1"), ("", "empty"),
                                           ("1;" * 6, "largest allowed is 5×5")])
def test_bad_kernel_text_shows_a_message_and_the_page_goes_on_with_the_default(text, message):
    at = run_page(PAGE, {"kernel": "custom"})
    at.text_input(key=key("w")).set_value(text).run()
    assert not at.exception and not at.error
    assert any(message in w.value and "not used" in w.value for w in at.warning)
    np.testing.assert_array_equal(matrices(at)[0], kernels.parse_kernel(lab.DEFAULT_KERNEL_TEXT))
    assert at.success and "Pass" in at.success[0].value


@pytest.mark.parametrize("fraction, title", [(1.5, "diverged at step"), (1.05, "The loss is growing")])
def test_too_high_a_learning_rate_is_explained_not_a_traceback(fraction, title):
    at = run_page(PAGE, {"lr": str(fraction), "steps": "30"})
    assert not at.exception and not at.error
    warning = " ".join(w.value for w in at.warning)
    assert title in warning and "2/λ_max" in warning and "What to try" in warning
    assert matrices(at)[3].shape == (3, 3)  # the learned kernel is still drawn, finite


@pytest.mark.parametrize("loss", ["energy", "random", "sum"])
def test_the_gradient_check_passes_for_every_loss_and_stride(loss):
    at = run_page(PAGE, {"loss": loss, "stride": "3", "pad": "2", "kernel": "random"})
    assert_clean(at)
    assert at.success and "Pass" in at.success[0].value


def test_the_stride_lesson_sets_its_controls_and_the_page_shows_the_zero_grid():
    at = run_page(PAGE)
    pills = next(w for w in at.get("button_group") if w.key == key("lesson_choice"))
    pills.set_value("stride_4").run()
    assert_clean(at)
    assert at.slider(key=key("stride")).value == 4 and at.selectbox(key=key("img")).value == "bars"
    assert dict(at.query_params) == {"img": "bars", "stride": "4", "lesson": "stride_4"}
    result, _ = expected(lab.Settings(source="bars", stride=4))
    unread = next(m for m in result.diagnosis if m.code == "unread_pixels")
    assert any(unread.what in i.value for i in at.info)
    assert any("Stride 4: pixels no window reads get no gradient." in i.value for i in at.info)  # the lesson box


def test_the_learning_rate_lesson_sets_the_fragments_control_and_diverges():
    at = run_page(PAGE)
    next(w for w in at.get("button_group") if w.key == key("lesson_choice")).set_value("lr_too_high").run()
    assert_clean(at)
    assert at.select_slider(key=key("lr")).value == 1.1 and at.query_params.get("lr") == "1.1"
    assert "Gradient descent diverged at step" in " ".join(w.value for w in at.warning)


def png_bytes(size=(48, 64)) -> bytes:
    buffer = io.BytesIO()
    gradient = np.linspace(0, 255, size[0] * size[1]).reshape(size).astype(np.uint8)
    Image.fromarray(gradient).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(content: bytes, name: str):
    at = run_page(PAGE, {"img": "upload"})
    at.file_uploader[0].set_value((name, content, "image/png")).run()
    return at


def test_an_uploaded_png_is_used_grayscale_and_shrunk():
    at = upload(png_bytes((120, 160)), "picture.png")
    assert_clean(at)
    assert metric(at, "Input x") == "72×96"  # the longer side shrunk to 96
    assert at.success


def test_a_ten_megapixel_strip_upload_appears_with_its_edge_in_place():
    strip = np.zeros((100, 100_000), np.uint8)
    strip[:, 30_000:] = 255
    buffer = io.BytesIO()
    Image.fromarray(strip).save(buffer, format="PNG")
    at = upload(buffer.getvalue(), "strip.png")
    assert not at.exception and not at.error
    assert metric(at, "Input x") == "4×96"


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
    at.selectbox(key=key("img")).set_value("bars").run()
    assert_clean(at)
    assert metric(at, "Output y") == "96×96"


def test_upload_mode_without_a_file_asks_for_one():
    at = run_page(PAGE, {"img": "upload"})
    assert_clean(at)
    assert any("Upload a PNG or JPEG" in i.value for i in at.info)


def test_reset_button_restores_every_default():
    at = run_page(PAGE, {"img": "bars", "stride": "3", "lr": "1.5", "seed": "5", "kernel": "custom", "w": "1, 2"})
    assert at.slider(key=key("stride")).value == 3
    at.button(key=key("reset")).click().run()
    assert at.selectbox(key=key("img")).value == "photo" and at.slider(key=key("stride")).value == 1
    assert at.select_slider(key=key("lr")).value == 0.9 and at.number_input(key=key("seed")).value == 0
    assert at.selectbox(key=key("kernel")).value == "sobel_x" and at.text_input(key=key("w")).value == lab.DEFAULT_KERNEL_TEXT
    assert not at.query_params


def test_a_file_of_another_kind_gets_a_message_not_an_exception():
    """Streamlit's own type= check raised an exception box for a name outside png/jpg/jpeg."""
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(buffer, format="GIF")
    at = upload(buffer.getvalue(), "picture.gif")
    assert not at.exception
    assert any("GIF" in e.value for e in at.error), [e.value for e in at.error]


def test_the_lesson_banner_sees_a_lesson_control_drawn_in_a_fragment_move():
    at = run_page(PAGE, {"lesson": "lr_too_high"})
    assert at.query_params.get("lr") == "1.1"  # the link naming only the lesson opened it, fragment control included
    assert not [c.value for c in at.caption if c.value.startswith("The controls have moved")]
    at.select_slider(key="Convolution:lr").set_value(0.9).run()
    moved = [c.value for c in at.caption if c.value.startswith("The controls have moved")]
    assert moved and "is 0.9 (the lesson's: 1.1)" in moved[0]
