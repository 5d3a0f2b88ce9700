"""calc_core.convolution.lab: the page's run and learn, the gradient checks of the layer (on every
part of x) and of the code that trained, the diagnosis, the lessons — the statements the page
makes, tested as numbers. Also the fast resize of huge uploads (calc_core.convolution.kernels).

Oracles: the layer's own definition (exact zeros where no window reads), central differences of the
plain loss, the gradient-descent factor 1 − ηλ, and deliberately wrong gradients that must not pass.
"""

import itertools
import time
from dataclasses import fields

import numpy as np
import pytest

import calc_core.convolution.learning as kernel_learning
from calc_core.common.gradcheck import numerical_gradient, summarize
from calc_core.common.messages import codes
from calc_core.convolution import checks, lab
from calc_core.convolution.core import conv2d_forward, kernel_gradient
from calc_core.convolution.kernels import KERNELS, add_noise, block_average, prepare_image, resize_image, synthetic_image


def message(messages, code):
    return next(m for m in messages if m.code == code)


# ----------------------------------------------------------------------------- run

def test_run_on_the_defaults_of_a_synthetic_image_draws_the_layer_and_passes_its_check():
    result = lab.run(lab.Settings(source="bars"))
    layer = result.layer
    assert layer.image.shape == (96, 96) and layer.padded_image.shape == (98, 98) and layer.output.shape == (96, 96)
    np.testing.assert_array_equal(layer.kernel, KERNELS["sobel_x"])
    np.testing.assert_array_equal(layer.image, add_noise(synthetic_image("bars", 96), 0.1, 0))
    np.testing.assert_allclose(layer.output, conv2d_forward(layer.image, KERNELS["sobel_x"], 1, 1))
    assert layer.loss_value == pytest.approx(0.5 * np.sum(layer.output ** 2))
    assert [c.verdict for c in result.gradient_checks] == ["pass", "pass"]
    assert [c.n_checked for c in result.gradient_checks] == [64, 9]
    assert result.pixel_groups == {"unread": 0, "border": 96 * 96 - 92 * 92, "interior": 92 * 92}
    assert "64 of its 9,216 pixels" in result.check_note and "all 9 entries" in result.check_note
    assert codes(result.diagnosis) == {"tutorial_sign_flipped"}
    assert result.findings["∂L/∂x, cropped by p"].endswith("exactly −∂L/∂x")


def test_a_picture_from_a_file_is_passed_in_shrunk_and_scaled_and_the_upload_is_required():
    picture = np.linspace(0, 1, 120 * 160).reshape(120, 160)
    result = lab.run(lab.Settings(source="upload", upload=b"the file's bytes", size=64), image=picture)
    assert result.layer.image.shape == (48, 64)
    np.testing.assert_allclose(result.layer.image, add_noise(prepare_image(picture, 64), 0.1, 0))
    with pytest.raises(ValueError, match="Upload a PNG or JPEG"):
        lab.run(lab.Settings(source="upload"))
    with pytest.raises(ValueError, match="image layer decodes it"):
        lab.run(lab.Settings(source="photo"))


@pytest.mark.parametrize("bad", [dict(stride=0), dict(stride=1.5), dict(padding=-1), dict(noise=float("inf")),
                                 dict(noise=-0.1), dict(size=2), dict(size=float("nan")), dict(seed=-1),
                                 dict(source="spiral"), dict(kernel_name="emboss"), dict(loss="hinge"),
                                 dict(kernel_text=None)])
def test_bad_settings_raise_a_clear_value_error(bad):
    with pytest.raises(ValueError):
        lab.run(lab.Settings(**{"source": "bars", **bad}))


@pytest.mark.parametrize("text", ["1, 2, 3; 4, 5", "1, two, 3", "", "1;" * 6])
def test_a_typed_kernel_that_does_not_parse_is_a_message_and_the_default_kernel_is_used(text):
    result = lab.run(lab.Settings(source="circle", kernel_name="custom", kernel_text=text))
    np.testing.assert_array_equal(result.layer.kernel, [[0, 1, 2], [-1, 0, 1], [-2, -1, 0]])
    warning = message(result.diagnosis, "kernel_not_used")
    assert warning.kind == "warning" and lab.DEFAULT_KERNEL_TEXT in warning.what
    assert summarize(result.gradient_checks).verdict == "pass"


def test_a_typed_kernel_is_used_and_a_negated_sobel_shows_the_tutorials_sign_slip():
    result = lab.run(lab.Settings(source="bars", kernel_name="custom", kernel_text="1, 0, -1; 2, 0, -2; 1, 0, -1"))
    np.testing.assert_array_equal(result.layer.kernel, -KERNELS["sobel_x"])
    assert "kernel_not_used" not in codes(result.diagnosis) and "tutorial_sign_flipped" in codes(result.diagnosis)


# ----------------------------------------------------------------------------- the check reaches every part

def test_at_stride_4_the_check_reaches_pixels_no_window_reads_whose_gradient_is_exactly_zero():
    result = lab.run(lab.Settings(source="bars", stride=4, loss="random", kernel_name="random"))  # no zero entries
    layer = result.layer
    groups = checks.pixel_groups(layer.image.shape, (3, 3), 4, 1)
    # x̃ has 98 rows; windows start at rows 0, 4, …, 92 and read 3: x̃ rows 3, 7, …, 95 and 96, 97 are never read
    unread_rows = [r - 1 for r in range(1, 97) if r % 4 == 3 or r > 94]  # x row = x̃ row − p
    mask = np.zeros((96, 96), bool)
    mask[unread_rows, :] = mask[:, unread_rows] = True
    np.testing.assert_array_equal(np.sort(groups["unread"]), np.flatnonzero(mask))
    assert np.all(layer.grad_input[mask] == 0.0) and np.all(layer.grad_input[~mask] != 0.0)
    assert all(n > 0 for n in result.checked_per_group.values()), result.checked_per_group
    assert sum(result.checked_per_group.values()) == result.gradient_checks[0].n_checked == 64
    assert f"of the {mask.sum():,} pixels no window reads" in result.check_note
    unread = message(result.diagnosis, "unread_pixels")
    assert unread.numbers["unread"] == mask.sum() and unread.numbers["largest_gradient"] == 0.0
    assert "exactly 0" in unread.what
    # x̃ rows 3, 7, …, 91 lie between windows; x̃ rows 95 and 96 (x rows 94, 95) past the last one (97 is padding)
    assert unread.why.startswith("At stride 4 the 3×3 windows skip 23 rows and 23 columns of x between them; "
                                 "2 rows and 2 columns of x lie past the last of the 24×24 windows.")


@pytest.mark.parametrize("kernel", ["sobel_x", "laplacian"])
def test_a_zero_sum_kernel_under_the_sum_loss_with_full_padding_leaves_l_flat_in_x_and_says_so(kernel):
    result = lab.run(lab.Settings(source="circle", size=24, kernel_name=kernel, loss="sum", padding=2))
    assert not np.any(result.layer.grad_input) and np.any(result.layer.grad_kernel)
    assert [c.verdict for c in result.gradient_checks] == ["flat", "pass"]  # honest: nothing to resolve along x
    flat = message(result.diagnosis, "flat_gradient")
    assert flat.what.startswith("∂L/∂x is exactly 0 everywhere") and "Σ w = 0" in flat.why
    assert "tutorial_cannot_show" in codes(result.diagnosis) and "tutorial_right_by_luck" not in codes(result.diagnosis)
    assert result.findings["∂L/∂x, cropped by p"].endswith("∂L/∂x is 0 everywhere here, so no slip can show")
    assert "flat_gradient" not in codes(lab.run(lab.Settings(source="circle", size=24, loss="sum")).diagnosis)


def test_pixel_groups_split_x_into_unread_border_and_interior():
    groups = checks.pixel_groups((10, 12), (3, 2), 1, 0)
    assert sum(g.size for g in groups.values()) == 120 and groups["unread"].size == 0
    assert np.intersect1d(groups["border"], groups["interior"]).size == 0
    rows, cols = np.divmod(groups["interior"], 12)
    assert rows.min() == 2 and rows.max() == 7 and cols.min() == 2 and cols.max() == 9
    # at stride 2 with a 3-row kernel on 10 rows and no padding, the last row is read by no window
    assert set(np.divmod(checks.pixel_groups((10, 12), (3, 2), 2, 0)["unread"], 12)[0]) == {9}
    wide = lab.run(lab.Settings(source="bars", size=32, kernel_name="custom", kernel_text="1, 2, 1", stride=2))
    assert next(m for m in wide.diagnosis if m.code == "unread_pixels").why.startswith(
        "At stride 2 the 1×3 windows skip 16 rows of x between them.")  # 32 + 2 − 1 is a multiple of 2: none past


def brute_force_unread_lines(n: int, k: int, s: int, p: int) -> tuple[int, int]:
    """(between, past) lines of x along one axis, from the windows listed one by one."""
    starts = list(range(0, n + 2 * p - k + 1, s))
    read = {r for start in starts for r in range(start, start + k)}
    unread = [r for r in range(p, p + n) if r not in read]
    return sum(r < starts[-1] + k for r in unread), sum(r >= starts[-1] + k for r in unread)


@pytest.mark.parametrize("shape, kernel, stride, padding", [
    ((96, 96), (3, 3), 4, 1), ((93, 93), (3, 3), 4, 1), ((10, 12), (3, 2), 2, 0), ((8, 8), (3, 3), 7, 5),
    ((33, 20), (1, 3), 2, 0), ((9, 31), (5, 2), 3, 2), ((1, 1), (3, 3), 7, 5), ((40, 7), (2, 4), 1, 0)])
def test_unread_lines_split_between_windows_and_past_the_last_one(shape, kernel, stride, padding):
    lines = checks.unread_lines(shape, kernel, stride, padding)
    for axis, n, k in (("rows", shape[0], kernel[0]), ("columns", shape[1], kernel[1])):
        assert (lines[f"{axis}_between"], lines[f"{axis}_past"]) == brute_force_unread_lines(n, k, stride, padding)
    # a pixel is unread exactly when its row or its column is
    unread_pixels = checks.pixel_groups(shape, kernel, stride, padding)["unread"].size
    rows = lines["rows_between"] + lines["rows_past"]
    cols = lines["columns_between"] + lines["columns_past"]
    assert unread_pixels == rows * shape[1] + cols * shape[0] - rows * cols


@pytest.mark.parametrize("settings, why", [
    (dict(size=93, stride=4), "At stride 4 the 3×3 windows skip 23 rows and 23 columns of x between them. A pixel"),
    (dict(size=10, stride=2, padding=0), "1 row and 1 column of x lie past the last of the 4×4 windows. A pixel"),
    (dict(size=8, stride=7, padding=5), "At stride 7 the 3×3 windows skip 5 rows and 5 columns of x between them. A"),
])
def test_the_unread_message_names_only_the_lines_that_are_unread(settings, why):
    message_ = message(lab.run(lab.Settings(source="bars", **settings)).diagnosis, "unread_pixels")
    assert message_.why.startswith(why), message_.why


def test_the_checked_change_of_one_pixel_equals_the_change_of_the_plain_loss():
    layer = lab.run(lab.Settings(source="circle", size=24, stride=3, padding=2, loss="energy")).layer
    change = checks._input_change(layer)
    for k in (0, 37, 200, layer.image.size - 1):
        moved = layer.image.copy()
        moved.flat[k] += 0.01
        plain = 0.5 * np.sum(conv2d_forward(moved, layer.kernel, 3, 2) ** 2) - layer.loss_value
        assert change(moved) == pytest.approx(plain, rel=1e-9, abs=1e-12)
    dense = layer.image + np.random.default_rng(0).normal(0, 0.01, layer.image.shape)
    plain = 0.5 * np.sum(conv2d_forward(dense, layer.kernel, 3, 2) ** 2) - layer.loss_value
    assert change(dense) == pytest.approx(plain, rel=1e-9)


def corrupted(layer, kind):
    """The layer's gradients made slightly wrong: all × (1 + 1e-4), or the largest entry's sign flipped."""
    grad_input, grad_kernel = layer.grad_input.copy(), layer.grad_kernel.copy()
    if kind == "scaled":
        return grad_input * (1 + 1e-4), grad_kernel * (1 + 1e-4)
    for grad in (grad_input, grad_kernel):
        grad.flat[np.argmax(np.abs(grad))] *= -1
    return grad_input, grad_kernel


TEXTS = ("1, 2; -3, 4.5", "1/4, 1/2, 1/4", "1, 0, -1; 2, 0, -2; 1, 0, -1", "; ".join([", ".join(["1/25"] * 5)] * 5))
SMALL, LARGE = (16, 20, 24, 32), (48, 64, 96, 128, 256)
LAYER_SWEEP = [lab.Settings(source=lab.SYNTHETIC_IMAGES[n % 3], size=SMALL[n % 4], noise=(0.0, 0.1, 0.5)[n % 3],
                            kernel_name=kernel, kernel_text=TEXTS[n % 4], stride=stride, padding=padding, loss=loss,
                            seed=n)
               for n, (stride, padding, loss, kernel) in enumerate(itertools.product(
                   range(1, 5), range(4), lab.LOSSES, lab.KERNELS))]
LAYER_SWEEP += [lab.Settings(source=lab.SYNTHETIC_IMAGES[n % 3], size=LARGE[n % 5], noise=0.2, kernel_name=kernel,
                             stride=n % 4 + 1, padding=n % 3, loss=lab.LOSSES[n % 3], seed=100 + n)
                for n, kernel in enumerate(lab.KERNELS[:-1] * 2)]


@pytest.mark.slow
@pytest.mark.parametrize("stride", [1, 2, 3, 4])
def test_over_a_sweep_a_correct_gradient_never_fails_a_wrong_one_never_passes_and_few_are_flat(stride):
    """Every padding, loss and kernel at sizes 16–256, at this stride: the correct ∂L/∂x, ∂L/∂w never
    fail; the same × (1 + 1e-4), or with its largest entry's sign flipped, never pass; ≤ 5% too flat."""
    verdicts = {"correct": [], "scaled": [], "flipped": []}
    sweep = [settings for settings in LAYER_SWEEP if settings.stride == stride]
    for settings in sweep:
        result = lab.run(settings)
        layer = result.layer
        verdicts["correct"] += [(c.verdict, settings, c.name) for c in result.gradient_checks]
        for kind in ("scaled", "flipped"):
            wrong = corrupted(layer, kind)
            found = checks.layer_gradient_checks(layer, *wrong, seed=settings.seed)
            for check, bad, right in zip(found, wrong, (layer.grad_input, layer.grad_kernel)):
                if not np.array_equal(bad, right):  # an all-zero gradient cannot be made wrong this way
                    verdicts[kind].append((check.verdict, settings, check.name))
    assert not [v for v in verdicts["correct"] if v[0] == "fail"]
    assert not [v for v in verdicts["scaled"] + verdicts["flipped"] if v[0] == "pass"]
    flat = sum(v[0] == "flat" for v in verdicts["correct"])
    assert flat <= 0.05 * len(verdicts["correct"]), flat
    assert len(verdicts["correct"]) == 2 * len(sweep) >= 2 * 108 and len(verdicts["scaled"]) > 200


# ----------------------------------------------------------------------------- the code that trained

def test_the_training_step_reads_off_the_gradient_a_t_r_and_its_check_passes():
    settings = lab.Settings(source="checkerboard", size=48, stride=2)
    fit = lab.learn(settings, 0.9, 50)
    (check,) = fit.gradient_checks
    assert check.verdict == "pass" and check.n_checked == 9
    # the gradient checked is what one step of fit_kernel applied: (w₀ − w₁)/η = ∇½‖x̃ ⋆ w − y*‖² at w₀
    x = add_noise(synthetic_image("checkerboard", 48), 0.1, 0)
    target = conv2d_forward(x, KERNELS["sobel_x"], 2, 1)
    w0 = kernel_learning.fit_kernel(x, target, (3, 3), fit.learning_rate, 0, 2, 1, 0).kernels[0]
    numeric = numerical_gradient(lambda w: 0.5 * np.sum((conv2d_forward(x, w, 2, 1) - target) ** 2), w0, 1e-4)
    np.testing.assert_allclose(check.analytic.reshape(3, 3), numeric, rtol=1e-6)


def sign_flipped(x_pad, kernel_shape, stride):
    forward, gradient = ORIGINAL(x_pad, kernel_shape, stride)
    return forward, lambda r: -gradient(r)


def wrong_stride(x_pad, kernel_shape, stride):
    forward, _ = ORIGINAL(x_pad, kernel_shape, stride)
    return forward, lambda r: kernel_gradient(r, x_pad, kernel_shape, 1)  # Σ r[i, j] x̃[i + m, j + n]: stride forgotten


ORIGINAL = kernel_learning._forward_and_gradient


@pytest.mark.parametrize("bug", [sign_flipped, wrong_stride])
def test_a_corrupted_training_gradient_makes_the_panels_verdict_fail(monkeypatch, bug):
    settings = lab.Settings(source="bars", size=48, stride=2)
    assert summarize(lab.learn(settings, 0.9, 50).gradient_checks).verdict == "pass"
    monkeypatch.setattr(kernel_learning, "_forward_and_gradient", bug)
    fit = lab.learn(settings, 0.9, 50)
    assert summarize(fit.gradient_checks).verdict == "fail"
    assert fit.final_error > 0.1  # and what it trained is wrong


@pytest.mark.slow
def test_over_a_sweep_the_training_gradient_is_never_failed_and_never_too_flat():
    verdicts = []
    for n, (stride, padding, fraction) in enumerate(itertools.product(range(1, 5), range(4), (0.05, 0.9, 1.5))):
        settings = lab.Settings(source=lab.SYNTHETIC_IMAGES[n % 3], size=(16, 32, 64)[n % 3], stride=stride,
                                padding=padding, kernel_name=lab.KERNELS[n % len(lab.KERNELS)], seed=n)
        verdicts += [c.verdict for c in lab.learn(settings, fraction, 10).gradient_checks]
    assert verdicts.count("pass") == len(verdicts) == 48


# ----------------------------------------------------------------------------- learning and its snapshots

def test_learn_keeps_the_kernel_loss_and_error_at_41_steps_for_scrubbing():
    fit = lab.learn(lab.Settings(source="circle", size=48, noise=0.2), 0.9, 400)
    snapshots = fit.snapshots
    assert len(snapshots) == 41 and snapshots.unit == "step" and snapshots.steps[[0, -1]].tolist() == [0, 400]
    assert set(snapshots.states) == {"kernel", "loss", "kernel_error"}
    for index in (0, 7, 40):
        step = int(snapshots.steps[index])
        at = snapshots.at(index)
        assert at["loss"] == fit.loss_history[step] and at["kernel_error"] == fit.kernel_error[step]
        assert np.abs(at["kernel"] - fit.true_kernel).max() == fit.kernel_error[step]
    assert fit.loss_history.size == fit.kernel_error.size == 401
    assert codes(fit.diagnosis) == {"kernel_recovered"} and fit.final_error < 1e-3
    assert 2.0 <= fit.kernel_scale < 2.5  # Sobel's largest entry: the learned kernels stay near it
    assert fit.snapshots.nbytes < 8 * 2**20


def test_an_image_larger_than_128_pixels_is_learned_on_a_shrunk_copy_and_says_so():
    fit = lab.learn(lab.Settings(source="bars", size=256), 0.9, 20)
    assert "shrunk to 128×128" in fit.note
    assert lab.learn(lab.Settings(source="bars", size=96), 0.9, 20).note == ""


@pytest.mark.parametrize("fraction, steps, code, title", [
    (1.5, 30, "learning_diverged", "Gradient descent diverged at step"),
    (1.05, 40, "learning_climbing", "The loss is growing"),
    (1.05, 3, "learning_climbing", "past the stable limit"),
    (1.0, 400, "at_stable_limit", "exactly 2/λ_max"),
    (0.05, 50, "not_converged", "Not converged yet"),
])
def test_the_learning_diagnosis_names_what_the_learning_rate_does(fraction, steps, code, title):
    fit = lab.learn(lab.Settings(source="checkerboard", size=48), fraction, steps)
    (verdict,) = fit.diagnosis
    assert verdict.code == code and title in verdict.title
    if code == "learning_diverged":
        assert fit.loss_history[-1] > 1e6 * fit.loss_history[0] >= fit.loss_history[-2]
        assert fit.diverged_step == fit.loss_history.size - 1 and np.all(np.isfinite(fit.snapshots.states["kernel"]))
    if code == "learning_climbing":
        assert (fit.loss_history[-1] > fit.loss_history[0]) == (verdict.title == "The loss is growing")
        assert f"{2 * fraction - 1:.2f}× per step" in verdict.what


def test_the_too_high_run_note_states_the_factor_and_when_it_was_stopped():
    fit = lab.learn(lab.Settings(source="checkerboard", size=48), 0.9, 200)
    assert fit.too_high_diverged_step is not None
    assert "1 − ηλ_max = -1.4" in fit.too_high_note
    assert f"at step {fit.too_high_diverged_step}, where the run was stopped" in fit.too_high_note
    assert fit.too_high_loss_history[-1] > 1e6 * fit.too_high_loss_history[0]


@pytest.mark.parametrize("bad", [dict(lr_fraction=0.0), dict(lr_fraction=float("nan")), dict(steps=0),
                                 dict(steps=2.5)])
def test_bad_learning_controls_raise_a_clear_value_error(bad):
    with pytest.raises(ValueError):
        lab.learn(lab.Settings(source="bars"), **{"lr_fraction": 0.9, "steps": 10, **bad})


# ----------------------------------------------------------------------------- pictures with nothing to see

WHITE = np.full((200, 300, 3), 255, np.uint8)  # a blank page: shrinking it left 1e-16 ripples, stretched to 0/1


def upload(**settings):
    return lab.Settings(**{"source": "upload", "upload": b"the file's bytes", **settings})


def test_a_blank_picture_is_said_to_be_one_shade_and_the_layer_sees_only_the_noise():
    result = lab.run(upload(), image=WHITE)
    np.testing.assert_array_equal(result.layer.image, add_noise(np.zeros((64, 96)), 0.1, 0))  # not a speckle
    warning = message(result.diagnosis, "single_colour")
    assert warning.kind == "warning" and "one flat shade" in warning.title
    assert "noise alone (σ = 0.1)" in warning.what
    assert result.single_colour and message(result.layer_messages, "single_colour") == warning
    picture = lab.run(upload(), image=np.linspace(0, 1, 120 * 160).reshape(120, 160))
    assert not picture.single_colour and "single_colour" not in codes(picture.diagnosis)
    assert "single_colour" not in codes(lab.run(lab.Settings(source="bars")).diagnosis)


@pytest.mark.parametrize("loss", lab.LOSSES)
def test_without_noise_a_blank_picture_gives_l_0_and_a_zero_kernel_gradient_for_every_loss(loss):
    result = lab.run(upload(noise=0.0, loss=loss, kernel_name="random"), image=np.full((50, 50), 0.3))
    warning = message(result.diagnosis, "single_colour")
    assert "y = 0, L = 0 and ∂L/∂w = 0 whatever the kernel" in warning.what  # each claim, checked:
    assert not np.any(result.layer.output) and result.layer.loss_value == 0 and not np.any(result.layer.grad_kernel)
    with pytest.raises(ValueError, match="one flat shade .* Choose a picture with some contrast, or add noise"):
        lab.learn(upload(noise=0.0, loss=loss), image=np.full((50, 50), 0.3))


def test_the_kernel_learned_on_a_blank_picture_is_learned_from_the_noise_and_no_noise_level_changes_it():
    fit = lab.learn(upload(), image=WHITE)  # was κ = 755 and "Not converged" on the speckle
    assert fit.single_colour and codes(fit.diagnosis) == {"single_colour", "kernel_recovered"}
    assert fit.bounds.condition_number < 10  # white noise excites every direction of w alike
    assert "learned from noise, not from the picture" in message(fit.diagnosis, "single_colour").what
    # "more or less noise changes nothing here but the loss's scale": the same steps of w at σ = 0.03 and 1
    for noise in (0.03, 1.0):
        other = lab.learn(upload(noise=noise), 0.05, 30, image=WHITE)
        reference = lab.learn(upload(), 0.05, 30, image=WHITE)
        np.testing.assert_allclose(other.kernel_error, reference.kernel_error, rtol=1e-9)
        np.testing.assert_allclose(other.loss_history, reference.loss_history * (noise / 0.1) ** 2, rtol=1e-9)
    slow = message(reference.diagnosis, "not_converged")
    assert "noise" not in slow.why and slow.why == "More steps, a larger η (up to 0.9 × 2/λ_max) help."
    assert "more noise" in message(lab.learn(lab.Settings(source="bars", size=48), 0.05, 30).diagnosis,
                                   "not_converged").why  # on a picture noise does help


def equations(shape, stride, padding, kernel=(3, 3)):
    """The rows of A: one per output position, counted on the layer's own output."""
    return conv2d_forward(np.ones(shape), np.ones(kernel), stride, padding).size


@pytest.mark.parametrize("shape, stride, padding", [
    ((1, 1), 1, 1), ((2, 3), 1, 1), ((4, 4), 2, 1), ((3, 2), 1, 1), ((6, 6), 3, 0), ((1, 1), 1, 2),
    ((3, 3), 1, 1), ((5, 5), 2, 1), ((3, 5), 1, 0), ((7, 7), 3, 1), ((1, 3), 1, 1)])
def test_fewer_output_positions_than_kernel_entries_is_said_and_noise_is_not_suggested(shape, stride, padding):
    picture = np.random.default_rng(7).random(shape)
    fit = lab.learn(upload(stride=stride, padding=padding), image=picture)
    n = equations(shape, stride, padding)
    assert fit.equations == n
    gram = kernel_learning.kernel_gram_matrix(add_noise(prepare_image(picture, 96), 0.1, 0), (3, 3), stride, padding)
    assert np.linalg.matrix_rank(gram) <= n  # rank(AᵀA) ≤ the rows of A
    if n < 9:  # the 1×1 upload said "More pixels … or noise excite every direction of w"
        found = message(fit.diagnosis, "too_few_equations")
        assert f"gives {n} output position" in found.what
        assert f"{n} equation{'s' if n > 1 else ''} for 9 unknowns" in found.what
        assert f"at least {9 - n} direction" in found.what and found.why.startswith("No noise can fix that")
        assert ("a smaller stride" in found.why) == (stride > 1) and "at least 9 are needed" in found.why
        assert fit.bounds.lambda_min == 0 and "underdetermined" not in codes(fit.diagnosis)
    else:  # enough equations, and the noise makes them independent
        assert "too_few_equations" not in codes(fit.diagnosis) and fit.bounds.lambda_min > 0


def test_kernel_entries_that_meet_only_padding_are_said_and_noise_is_not_suggested():
    # one row of x at stride 2 and padding 1: the single window row reads x̃ rows 0–2, of which only row 1 is x
    fit = lab.learn(upload(stride=2), image=np.random.default_rng(0).random((1, 40)))
    assert fit.equations == 20 >= 9 and fit.bounds.lambda_min == 0 and not fit.pinned_by_some_image
    found = message(fit.diagnosis, "underdetermined")
    reads = checks.kernel_reads((1, 40), (3, 3), 2, 1)
    np.testing.assert_array_equal(reads == 0, [[True] * 3, [False] * 3, [True] * 3])
    assert "6 of the 9 kernel entries meet only padding" in found.why and "no noise pins w down" in found.why
    assert "Noise excites" not in found.why


def test_a_noise_free_ramp_does_not_pin_the_kernel_down_and_noise_would():
    ramp = np.add.outer(np.linspace(0, 1, 30), np.linspace(0, 0.5, 40))  # every window spans 1, r, c: rank 3
    fit = lab.learn(upload(noise=0.0, padding=0), image=ramp)  # no zero border to break the ramp
    found = message(fit.diagnosis, "underdetermined")
    assert fit.pinned_by_some_image and found.why.startswith("Noise excites every direction of w")
    assert lab.learn(upload(noise=0.01, padding=0), image=ramp).bounds.lambda_min > 0  # as it says


# ----------------------------------------------------------------------------- lessons

def test_presets_are_data_on_the_settings_and_the_learning_panels_controls():
    names = {f.name for f in fields(lab.Settings)}
    assert len({p.name for p in lab.PRESETS}) == len(lab.PRESETS) >= 3
    for preset in lab.PRESETS:
        assert set(preset.settings) <= names and set(preset.extras) <= {"lr_fraction", "steps"}
        assert preset.settings.get("source", "bars") in lab.SYNTHETIC_IMAGES  # calc_core alone can run it
        assert preset.extras.get("lr_fraction", lab.LEARN_LR_FRACTION) in lab.LR_FRACTIONS


def preset(name):
    return next(p for p in lab.PRESETS if p.name == name)


@pytest.mark.parametrize("seed", [0, 7])
def test_the_wrong_sign_lesson_is_the_tutorials_gradient_exactly_negated(seed):
    result = lab.run(preset("wrong_sign").apply(lab.Settings(), seed=seed))
    assert result.tutorial.negated_error < 1e-12 and result.tutorial.input_cosine == pytest.approx(-1.0, abs=1e-12)
    assert summarize(result.gradient_checks).verdict == "pass"


def test_the_learning_rate_lesson_diverges_and_the_stride_lesson_zeroes_a_grid():
    lesson = preset("lr_too_high")
    settings = lesson.apply(lab.Settings())
    fit = lab.learn(settings, **lesson.extras)
    assert fit.learning_rate == pytest.approx(1.1 * fit.bounds.stable_limit)
    assert fit.loss_history[-1] > 1e6 * fit.loss_history[0]
    result = lab.run(preset("stride_4").apply(lab.Settings()))
    assert result.pixel_groups["unread"] > 0.4 * result.layer.image.size  # 1 row and column in 4, and the tail
    groups = checks.pixel_groups(result.layer.image.shape, (3, 3), 4, 1)
    assert np.all(result.layer.grad_input.reshape(-1)[groups["unread"]] == 0.0)


def test_the_clean_image_lesson_is_badly_conditioned_and_the_symmetric_kernel_lesson_is_right():
    fit = lab.learn(preset("clean_image").apply(lab.Settings()))
    assert fit.bounds.condition_number > 1e4 and fit.final_error > 1e-3
    noisy = lab.learn(preset("clean_image").apply(lab.Settings(), noise=0.2))
    assert noisy.bounds.condition_number < 0.05 * fit.bounds.condition_number and noisy.final_error < 1e-3
    result = lab.run(preset("right_by_luck").apply(lab.Settings()))
    assert result.tutorial.input_error < 1e-12


# ----------------------------------------------------------------------------- huge uploads

def test_a_10_megapixel_strip_is_shrunk_in_well_under_a_second_with_its_edge_in_place():
    strip = np.zeros((100, 100_000), np.uint8)
    strip[:, 30_000:] = 255  # a step edge at 30% of the width
    start = time.process_time()  # CPU time: a busy machine's waiting does not count
    small = prepare_image(strip, 96)
    assert time.process_time() - start < 0.5  # was 18 s: a Gaussian of σ ≈ 520 pixels over every pixel
    assert small.shape == (4, 96)
    # output column j covers input columns j·1041.7 … : the edge (30,000) falls in column 28
    assert np.all(small[:, :28] < 0.01) and np.all(small[:, 30:] > 0.99) and 0.05 < small[0, 28] < 0.95


def test_resizing_keeps_the_mean_and_the_picture():
    rng = np.random.default_rng(3)
    x = rng.random((300, 200))
    assert resize_image(x, (60, 40)).mean() == pytest.approx(x.mean(), abs=0.01)
    np.testing.assert_allclose(block_average(x, 0, 3), x.reshape(100, 3, 200).mean(axis=1))
    # 200 columns in blocks of 28: 7 blocks, the 4 columns left over dropped 2 at each end
    np.testing.assert_allclose(block_average(x, 1, 28), x[:, 2:198].reshape(300, 7, 28).mean(axis=2))
    rgb = np.random.default_rng(4).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    np.testing.assert_allclose(block_average(rgb, 1, 6), rgb.reshape(40, 10, 6, 3).mean(axis=2))
    np.testing.assert_allclose(prepare_image(rgb, 20), prepare_image(rgb.astype(float) / 255, 20), atol=1e-12)
    ramp = np.tile(np.linspace(0, 1, 1000), (10, 1))
    np.testing.assert_allclose(resize_image(ramp, (10, 50))[0], np.linspace(0, 1, 1000).reshape(50, 20).mean(axis=1),
                               atol=0.002)


def test_a_remedy_is_offered_only_where_it_can_add_equations():
    """The panel shrinks a picture to 128 a side, so a larger one adds no window at its cap; padding
    beyond k − 1 adds only windows that lie wholly in the padding."""
    capped = lab.learn(upload(stride=64, padding=0, size=128), image=np.random.default_rng(1).random((128, 128)))
    found = message(capped.diagnosis, "too_few_equations")
    assert capped.equations == 4 and "a larger image" not in found.why and "a smaller stride" in found.why
    small = lab.learn(upload(stride=8, padding=2), image=np.random.default_rng(1).random((10, 10)))
    found = message(small.diagnosis, "too_few_equations")
    assert "a larger image" in found.why and "more padding" not in found.why  # p = 2 = k − 1 already
    padded = lab.learn(upload(stride=8, padding=1), image=np.random.default_rng(1).random((10, 10)))
    assert "more padding" in message(padded.diagnosis, "too_few_equations").why
