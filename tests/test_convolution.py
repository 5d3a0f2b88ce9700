"""calc_core.convolution.core, .checks, .learning and .kernels.

Oracles: scipy.signal (forward at stride 1, the full-convolution rule), a direct loop over the
definition (forward at any stride, the patch matrix), central differences from calc_core.common.gradcheck
on the plain loss (both gradients), PIL (grayscale conversion).
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import signal

import calc_core.convolution.core as convolution
import calc_core.convolution.learning as kernel_learning
from calc_core.convolution import conv2d_backward, conv2d_forward
from calc_core.convolution.checks import layer_gradient_checks
from calc_core.convolution.core import LOSSES, output_shape, run_convolution
from calc_core.common.gradcheck import check_gradients, numerical_gradient, relative_error
from calc_core.convolution.learning import (
    fit_kernel,
    kernel_gram_matrix,
    kernel_lesson,
    learning_rate_bounds,
)
from calc_core.convolution.kernels import (
    KERNEL_NAMES,
    KERNELS,
    SYNTHETIC_IMAGES,
    add_noise,
    is_constant,
    make_kernel,
    normalize_image,
    prepare_image,
    resize_image,
    synthetic_image,
    to_grayscale,
)

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])  # an integer array, as in the tutorial


def direct_conv(x, w, stride, padding):
    """y[i, j] = Σ_{m,n} x̃[i·s + m, j·s + n] · w[m, n], one output pixel at a time."""
    xp = np.pad(np.asarray(x, float), padding)
    kh, kw = w.shape
    y = np.zeros(((xp.shape[0] - kh) // stride + 1, (xp.shape[1] - kw) // stride + 1))
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            for m in range(kh):
                for n in range(kw):
                    y[i, j] += xp[i * stride + m, j * stride + n] * w[m, n]
    return y


def random_problem(seed, image_shape, kernel_shape, stride, padding):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(image_shape)
    w = rng.standard_normal(kernel_shape)
    G = rng.standard_normal(output_shape(image_shape, kernel_shape, stride, padding))
    return x, w, G


def central_difference_checks(x, w, G, stride, padding):
    """Check both gradients of L = Σ conv(x, w) ⊙ G by central differences of the plain loss."""
    grad_input, grad_kernel = conv2d_backward(G, x, w, stride, padding)
    return check_gradients(
        lambda p: float(np.sum(conv2d_forward(p["x"], p["w"], stride, padding) * G)),
        {"x": x, "w": w},
        {"x": grad_input, "w": grad_kernel},
    )


problem_shapes = st.tuples(
    st.integers(1, 9), st.integers(1, 9),  # image rows, columns
    st.integers(1, 4), st.integers(1, 4),  # kernel rows, columns
    st.integers(1, 3), st.integers(0, 2),  # stride, padding
    st.integers(0, 10_000),  # seed
)


def unpack(shapes):
    H, W, kh, kw, stride, padding, seed = shapes
    assume(kh <= H + 2 * padding and kw <= W + 2 * padding)
    return random_problem(seed, (H, W), (kh, kw), stride, padding), stride, padding


# ----------------------------------------------------------------------------- forward

@given(shapes=problem_shapes)
@settings(max_examples=60, deadline=None)
def test_forward_equals_scipy_correlate2d_at_stride_1(shapes):
    (x, w, _), _, padding = unpack(shapes)
    expected = signal.correlate2d(np.pad(x, padding), w, mode="valid")
    np.testing.assert_allclose(conv2d_forward(x, w, 1, padding), expected, rtol=1e-12, atol=1e-12)


@given(shapes=problem_shapes)
@settings(max_examples=60, deadline=None)
def test_forward_equals_the_direct_definition_at_every_stride(shapes):
    (x, w, _), stride, padding = unpack(shapes)
    np.testing.assert_allclose(conv2d_forward(x, w, stride, padding),
                               direct_conv(x, w, stride, padding), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("padding", [0, 2])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_forward_on_an_image_of_many_row_blocks_is_scipy_subsampled_by_the_stride(stride, padding):
    x, w, G = random_problem(6, (181, 900), (3, 4), stride, padding)  # ≈ 36 rows per block
    full_stride_1 = signal.correlate2d(np.pad(x, padding), w, mode="valid")
    np.testing.assert_allclose(conv2d_forward(x, w, stride, padding),
                               full_stride_1[::stride, ::stride], rtol=1e-12, atol=1e-12)
    grad_input, grad_kernel = conv2d_backward(G, x, w, stride, padding)
    inner = float(np.sum(conv2d_forward(x, w, stride, padding) * G))
    assert float(np.sum(x * grad_input)) == pytest.approx(inner, rel=1e-10)
    assert float(np.sum(w * grad_kernel)) == pytest.approx(inner, rel=1e-10)


@pytest.mark.parametrize("shape, stride, padding", [((13, 6), 1, 0), ((14, 9), 2, 1), ((17, 5), 3, 2)])
def test_forward_and_backward_do_not_depend_on_the_row_block_size(monkeypatch, shape, stride, padding):
    x, w, G = random_problem(7, shape, (3, 2), stride, padding)
    y, (grad_input, grad_kernel) = conv2d_forward(x, w, stride, padding), conv2d_backward(
        G, x, w, stride, padding)
    monkeypatch.setattr(convolution, "BLOCK_PIXELS", 1)  # one output row per block
    np.testing.assert_allclose(conv2d_forward(x, w, stride, padding), y, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(direct_conv(x, w, stride, padding), y, rtol=1e-12, atol=1e-12)
    blocked_input, blocked_kernel = conv2d_backward(G, x, w, stride, padding)
    np.testing.assert_allclose(blocked_input, grad_input, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(blocked_kernel, grad_kernel, rtol=1e-13, atol=1e-13)


def test_forward_with_stride_3_on_a_non_square_image_has_the_floor_output_shape():
    x = np.arange(11 * 8, dtype=float).reshape(11, 8)
    y = conv2d_forward(x, np.ones((2, 3)), stride=3, padding=1)
    assert y.shape == ((11 + 2 - 2) // 3 + 1, (8 + 2 - 3) // 3 + 1) == (4, 3)
    np.testing.assert_allclose(y, direct_conv(x, np.ones((2, 3)), 3, 1))


def test_forward_of_integer_arrays_is_float():
    y = conv2d_forward(np.arange(25).reshape(5, 5), SOBEL_X)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, signal.correlate2d(np.arange(25).reshape(5, 5), SOBEL_X, "valid"))


# ----------------------------------------------------------------------------- backward

@pytest.mark.parametrize("padding", [0, 1, 2])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_gradients_match_central_differences_on_a_non_square_image_and_kernel(stride, padding):
    x, w, G = random_problem(stride * 10 + padding, (7, 10), (2, 3), stride, padding)
    for check in central_difference_checks(x, w, G, stride, padding):
        assert check.relative_error < 1e-7, check


@given(shapes=problem_shapes)
@settings(max_examples=40, deadline=None)
def test_gradients_match_central_differences_on_random_shapes(shapes):
    (x, w, G), stride, padding = unpack(shapes)
    for check in central_difference_checks(x, w, G, stride, padding):
        assert check.relative_error < 1e-6, check


def test_gradients_of_the_squared_error_match_central_differences_with_stride_2():
    x, w, _ = random_problem(3, (9, 8), (3, 2), 2, 1)
    target = np.random.default_rng(4).standard_normal(output_shape(x.shape, w.shape, 2, 1))
    residual = conv2d_forward(x, w, 2, 1) - target  # ∂(½‖y − t‖²)/∂y
    grad_input, grad_kernel = conv2d_backward(residual, x, w, 2, 1)
    checks = check_gradients(
        lambda p: 0.5 * float(np.sum((conv2d_forward(p["x"], p["w"], 2, 1) - target) ** 2)),
        {"x": x, "w": w}, {"x": grad_input, "w": grad_kernel},
    )
    for check in checks:
        assert check.relative_error < 1e-7, check


@given(shapes=problem_shapes)
@settings(max_examples=60, deadline=None)
def test_adjoint_identities_hold_for_the_input_and_the_kernel(shapes):
    (x, w, G), stride, padding = unpack(shapes)
    y = conv2d_forward(x, w, stride, padding)
    grad_input, grad_kernel = conv2d_backward(G, x, w, stride, padding)
    # ⟨conv(x, w), G⟩ = ⟨x, ∂L/∂x⟩ = ⟨w, ∂L/∂w⟩ for the bilinear L = Σ y ⊙ G
    inner = float(np.sum(y * G))
    scale = float(np.sum(np.abs(y * G))) + 1e-12
    assert abs(inner - float(np.sum(x * grad_input))) <= 1e-12 * scale * 10
    assert abs(inner - float(np.sum(w * grad_kernel))) <= 1e-12 * scale * 10


@given(shapes=problem_shapes)
@settings(max_examples=40, deadline=None)
def test_input_gradient_is_the_full_convolution_of_the_dilated_gradient_cropped(shapes):
    (x, w, G), stride, padding = unpack(shapes)
    dilated = np.zeros((stride * (G.shape[0] - 1) + 1, stride * (G.shape[1] - 1) + 1))
    for i in range(G.shape[0]):
        for j in range(G.shape[1]):
            dilated[i * stride, j * stride] = G[i, j]
    grad_padded = np.zeros((x.shape[0] + 2 * padding, x.shape[1] + 2 * padding))
    full = signal.convolve2d(dilated, w, mode="full")
    grad_padded[:full.shape[0], :full.shape[1]] = full
    expected = grad_padded[padding:padding + x.shape[0], padding:padding + x.shape[1]]
    grad_input, _ = conv2d_backward(G, x, w, stride, padding)
    np.testing.assert_allclose(grad_input, expected, rtol=1e-12, atol=1e-12)


def test_kernel_gradient_is_the_cross_correlation_of_the_padded_input_with_the_gradient():
    x, w, G = random_problem(8, (9, 6), (3, 2), 1, 2)
    _, grad_kernel = conv2d_backward(G, x, w, 1, 2)
    np.testing.assert_allclose(grad_kernel, signal.correlate2d(np.pad(x, 2), G, "valid"), rtol=1e-12)


# ----------------------------------------------------------------------------- the tutorial's defects

def test_sobel_input_gradient_has_the_sign_of_central_differences_not_the_tutorials():
    rng = np.random.default_rng(42)
    x, G = rng.standard_normal((8, 8)), rng.standard_normal((8, 8))
    grad_input, _ = conv2d_backward(G, x, SOBEL_X, padding=1)
    numeric = numerical_gradient(lambda v: float(np.sum(conv2d_forward(v, SOBEL_X, 1, 1) * G)), x)
    assert relative_error(grad_input, numeric) < 1e-8
    # the tutorial's double flip, cropped by hand as its demo does, is exactly the negative
    tutorial = signal.convolve2d(G, np.rot90(SOBEL_X, 2), mode="full")[1:-1, 1:-1]
    np.testing.assert_allclose(tutorial, -numeric, atol=1e-6)


@pytest.mark.parametrize("padding", [0, 1, 2])
def test_input_gradient_has_the_shape_of_the_unpadded_image(padding):
    x, w, G = random_problem(1, (6, 9), (3, 3), 1, padding)
    grad_input, grad_kernel = conv2d_backward(G, x, w, 1, padding)
    assert grad_input.shape == x.shape and grad_kernel.shape == w.shape


def test_input_gradient_with_stride_2_matches_central_differences_where_unstrided_rule_fails():
    x, w, G = random_problem(5, (9, 9), (3, 3), 2, 0)
    grad_input, _ = conv2d_backward(G, x, w, stride=2)
    numeric = numerical_gradient(lambda v: float(np.sum(conv2d_forward(v, w, 2) * G)), x)
    assert relative_error(grad_input, numeric) < 1e-8
    assert signal.convolve2d(G, w, "full").shape != x.shape  # ignoring the stride cannot work


def test_integer_kernel_and_image_give_fractional_float_gradients():
    x = np.arange(42).reshape(6, 7) % 5  # integer image
    G = np.random.default_rng(0).uniform(-1, 1, output_shape(x.shape, SOBEL_X.shape, 2, 1))
    grad_input, grad_kernel = conv2d_backward(G, x, SOBEL_X, stride=2, padding=1)
    assert grad_input.dtype == grad_kernel.dtype == np.float64
    assert not np.allclose(grad_kernel, np.round(grad_kernel))
    for check in central_difference_checks(x, SOBEL_X, G, 2, 1):
        assert check.relative_error < 1e-8, check


# ----------------------------------------------------------------------------- the page's panel

def plain_loss(name, G_random):
    if name == "energy":
        return lambda y: 0.5 * float(np.sum(y**2))
    if name == "random":
        return lambda y: float(np.sum(y * G_random))
    return lambda y: float(np.sum(y))


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_run_convolution_gives_the_gradients_of_the_named_loss(loss):
    x, w, _ = random_problem(2, (8, 11), (3, 3), 2, 1)
    result = run_convolution(x, w, stride=2, padding=1, loss=loss, seed=7)
    G_random = np.random.default_rng(7).standard_normal(result.output.shape)
    L = plain_loss(loss, G_random)
    checks = check_gradients(lambda p: L(conv2d_forward(p["x"], p["w"], 2, 1)), {"x": x, "w": w},
                             {"x": result.grad_input, "w": result.grad_kernel})
    for check in checks:
        assert check.relative_error < 1e-7, check
    assert result.loss_value == pytest.approx(L(result.output))
    np.testing.assert_array_equal(result.padded_image, np.pad(x, 1))


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_gradient_checks_sample_large_images_and_agree_with_plain_central_differences(loss):
    x = add_noise(synthetic_image("circle", (120, 90)), 0.1, seed=3)
    checks = layer_gradient_checks(run_convolution(x, KERNELS["sobel_x"], 2, 1, loss, seed=5), seed=5,
                                   max_pixels=40)
    assert [c.n_checked for c in checks] == [40, 9]
    assert all(c.passed for c in checks), checks
    G_random = np.random.default_rng(5).standard_normal(output_shape(x.shape, (3, 3), 2, 1))
    L = plain_loss(loss, G_random)
    numeric = numerical_gradient(lambda v: L(conv2d_forward(v, KERNELS["sobel_x"], 2, 1)), x,
                                 step=1e-4, indices=checks[0].indices)
    # atol: the plain quotient carries rounding ≈ ε·|L|/h ≈ 1e-10 where the gradient is exactly 0
    np.testing.assert_allclose(checks[0].numeric, numeric, rtol=1e-6, atol=1e-8)


def test_gradient_check_fails_for_the_tutorials_double_flipped_input_gradient(monkeypatch):
    x = add_noise(synthetic_image("bars", 24), 0.1, seed=1)
    flipped = convolution.input_gradient
    monkeypatch.setattr(convolution, "input_gradient",
                        lambda G, w, *args: flipped(G, np.rot90(w, 2), *args))
    check_input, check_kernel = layer_gradient_checks(run_convolution(x, KERNELS["sobel_x"], 1, 1, "random"))
    assert check_input.failed and check_input.relative_error > 0.99
    assert check_kernel.passed


# ----------------------------------------------------------------------------- learning a kernel

def test_fit_kernel_recovers_a_sobel_kernel_to_1e_3():
    x = np.random.default_rng(0).random((32, 40))
    target = conv2d_forward(x, KERNELS["sobel_x"], padding=1)
    bounds = learning_rate_bounds(x, (3, 3), padding=1)
    fit = fit_kernel(x, target, (3, 3), bounds.optimal, 300, padding=1, seed=1)
    assert not fit.diverged
    assert np.max(np.abs(fit.final_kernel - KERNELS["sobel_x"])) < 1e-3
    assert fit.loss_history[-1] < 1e-6 * fit.loss_history[0]


def test_fit_kernel_recovers_a_sobel_kernel_with_stride_2_from_a_noisy_synthetic_image():
    x = add_noise(synthetic_image("circle", 48), 0.3, seed=2)
    target = conv2d_forward(x, KERNELS["sobel_y"], stride=2)
    bounds = learning_rate_bounds(x, (3, 3), stride=2)
    fit = fit_kernel(x, target, (3, 3), bounds.optimal, 1500, stride=2)
    assert np.max(np.abs(fit.final_kernel - KERNELS["sobel_y"])) < 1e-3


def test_one_step_of_fit_kernel_moves_the_kernel_by_lr_times_the_numerical_gradient():
    x, _, _ = random_problem(9, (10, 7), (2, 3), 2, 1)
    target = np.random.default_rng(1).standard_normal(output_shape(x.shape, (2, 3), 2, 1))
    fit = fit_kernel(x, target, (2, 3), 0.01, 1, stride=2, padding=1)
    w0, w1 = fit.kernels
    grad = numerical_gradient(
        lambda w: 0.5 * float(np.sum((direct_conv(x, w, 2, 1) - target) ** 2)), w0)
    np.testing.assert_allclose(w1, w0 - 0.01 * grad, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(fit.snapshots().steps, [0, 1])


def test_fit_kernel_takes_the_same_steps_with_and_without_the_patch_matrix(monkeypatch):
    x, _, _ = random_problem(10, (15, 12), (3, 2), 2, 1)
    target = np.random.default_rng(2).standard_normal(output_shape(x.shape, (3, 2), 2, 1))
    with_patches = fit_kernel(x, target, (3, 2), 0.02, 40, stride=2, padding=1)
    monkeypatch.setattr(kernel_learning, "PATCH_MATRIX_LIMIT", 0)  # shifted slices every step
    with_slices = fit_kernel(x, target, (3, 2), 0.02, 40, stride=2, padding=1)
    np.testing.assert_allclose(with_slices.loss_history, with_patches.loss_history, rtol=1e-12)
    np.testing.assert_allclose(with_slices.kernels, with_patches.kernels, rtol=1e-12, atol=1e-14)


def test_gram_matrix_equals_the_patch_matrix_product_and_bounds_follow_its_eigenvalues():
    x, _, _ = random_problem(4, (9, 11), (2, 3), 2, 1)
    xp = np.pad(x, 1)
    A = np.array([xp[i * 2:i * 2 + 2, j * 2:j * 2 + 3].ravel()
                  for i in range(5) for j in range(6)])  # output 5 × 6
    np.testing.assert_allclose(kernel_gram_matrix(x, (2, 3), 2, 1), A.T @ A, rtol=1e-12)
    eigenvalues = np.linalg.eigvals(A.T @ A).real
    bounds = learning_rate_bounds(x, (2, 3), 2, 1)
    assert bounds.stable_limit == pytest.approx(2 / eigenvalues.max())
    assert bounds.condition_number == pytest.approx(eigenvalues.max() / eigenvalues.min())


@pytest.fixture(scope="module")
def blur_problem():
    x = add_noise(synthetic_image("checkerboard", 32), 0.2, seed=4)
    return x, conv2d_forward(x, KERNELS["gaussian"]), learning_rate_bounds(x, (3, 3))


def test_fit_kernel_converges_just_below_the_stable_limit(blur_problem):
    x, target, bounds = blur_problem
    fit = fit_kernel(x, target, (3, 3), 0.95 * bounds.stable_limit, 300)
    assert not fit.diverged and fit.steps_run == 300
    assert fit.loss_history[-1] < 1e-2 * fit.loss_history[0]


def test_fit_kernel_reports_divergence_just_above_the_stable_limit(blur_problem):
    x, target, bounds = blur_problem
    fit = fit_kernel(x, target, (3, 3), 1.1 * bounds.stable_limit, 300)
    assert fit.diverged and 0 < fit.diverged_step < 300
    # it stops at the first loss above 1e6 × L(w_0), and keeps that (finite) loss
    assert fit.steps_run == fit.diverged_step
    assert fit.loss_history[-2] <= 1e6 * fit.loss_history[0] < fit.loss_history[-1]
    assert np.all(np.isfinite(fit.loss_history)) and np.all(np.isfinite(fit.final_kernel))


def test_fit_kernel_with_an_absurd_learning_rate_stops_without_returning_nan(blur_problem):
    x, target, _ = blur_problem
    fit = fit_kernel(x, target, (3, 3), 1e300, 50, blowup=np.inf)
    assert fit.diverged and fit.diverged_step <= 3
    for array in (fit.loss_history, fit.kernels, fit.final_kernel):
        assert np.all(np.isfinite(array))
    snapshots = fit.snapshots()
    np.testing.assert_array_equal(snapshots.at(-1)["kernel"], fit.final_kernel)
    assert snapshots.steps[-1] == fit.steps_run and snapshots.at(-1)["loss"] == fit.loss_history[-1]


def test_fit_kernel_snapshots_are_evenly_spaced_from_first_to_last_step(blur_problem):
    x, target, bounds = blur_problem
    fit = fit_kernel(x, target, (3, 3), bounds.optimal, 90)
    snapshots = fit.snapshots(10)
    np.testing.assert_array_equal(snapshots.steps, np.arange(0, 91, 10))
    assert snapshots.unit == "step" and snapshots.states["kernel"].shape == (10, 3, 3)
    np.testing.assert_array_equal(snapshots.at(-1)["kernel"], fit.final_kernel)
    np.testing.assert_array_equal(snapshots.states["kernel"][3], fit.kernels[30])
    assert len(fit.snapshots()) == 41  # the one format's most: a slider's worth of stops
    np.testing.assert_array_equal(fit.snapshots().steps[[0, -1]], [0, 90])


def test_kernel_lesson_recovers_the_hidden_kernel_and_shows_the_too_high_run_diverge():
    x = add_noise(synthetic_image("bars", (40, 48)), 0.2, seed=6)
    lesson = kernel_lesson(x, KERNELS["sobel_y"], 0.9, 400, stride=1, padding=1)
    np.testing.assert_allclose(lesson.target, direct_conv(x, KERNELS["sobel_y"], 1, 1), atol=1e-12)
    assert lesson.fit.learning_rate == pytest.approx(0.9 * lesson.bounds.stable_limit)
    assert not lesson.fit.diverged and lesson.kernel_error[-1] < 1e-3 < lesson.kernel_error[0]
    assert lesson.kernel_error.shape == lesson.fit.loss_history.shape  # one per step
    assert lesson.too_high.diverged
    assert lesson.too_high.learning_rate == pytest.approx(1.2 * lesson.bounds.stable_limit)
    for fraction in (0.0, -0.5, np.inf):
        with pytest.raises(ValueError, match="lr_fraction"):
            kernel_lesson(x, KERNELS["sobel_y"], fraction, 10)
    with pytest.raises(ValueError, match="all zeros"):
        kernel_lesson(np.zeros((8, 8)), KERNELS["sobel_y"], 0.5, 10)


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize(
    "x, kernel, stride, padding, message",
    [
        (np.ones((2, 5)), np.ones((3, 3)), 1, 0, "does not fit"),
        (np.ones((5, 5)), np.ones((8, 2)), 1, 1, "does not fit"),
        (np.ones((5, 5)), np.ones((3, 3)), 0, 0, "stride"),
        (np.ones((5, 5)), np.ones((3, 3)), 1.5, 0, "stride"),
        (np.ones((5, 5)), np.ones((3, 3)), True, 0, "stride"),
        (np.ones((5, 5)), np.ones((3, 3)), "two", 0, "stride"),
        (np.ones((5, 5)), np.ones((3, 3)), 1, np.nan, "padding"),
        (np.ones((5, 5)), np.ones((3, 3)), 1, -1, "padding"),
        (np.ones((5, 5, 3)), np.ones((3, 3)), 1, 0, "2-D"),
        (np.ones((5, 5)), np.ones(3), 1, 0, "2-D"),
        (np.ones((0, 5)), np.ones((1, 1)), 1, 0, "empty"),
        (np.full((5, 5), np.nan), np.ones((3, 3)), 1, 0, "finite"),
        (np.ones((5, 5)), np.array([[1.0, np.inf]]), 1, 0, "finite"),
        (np.array([["a", "b"], ["c", "d"]]), np.ones((1, 1)), 1, 0, "real numbers"),
    ],
)
def test_bad_input_raises_a_value_error_that_names_the_problem(x, kernel, stride, padding, message):
    for call in (lambda: conv2d_forward(x, kernel, stride, padding),
                 lambda: conv2d_backward(np.ones((1, 1)), x, kernel, stride, padding),
                 lambda: run_convolution(x, kernel, stride, padding)):
        with pytest.raises(ValueError, match=message):
            call()


def test_bad_settings_for_the_backward_pass_the_panel_and_the_fit_raise():
    x, w = np.ones((6, 6)), np.ones((3, 3))
    with pytest.raises(ValueError, match=r"grad_output has shape \(3, 3\).*\(4, 4\)"):
        conv2d_backward(np.ones((3, 3)), x, w)
    with pytest.raises(ValueError, match="finite"):
        conv2d_backward(np.full((4, 4), np.inf), x, w)
    with pytest.raises(ValueError, match="unknown loss"):
        run_convolution(x, w, loss="hinge")
    with pytest.raises(ValueError, match="target has shape"):
        fit_kernel(x, np.ones((6, 6)), (3, 3), 0.01, 5)
    for lr in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="learning rate"):
            fit_kernel(x, np.ones((4, 4)), (3, 3), lr, 5)
    with pytest.raises(ValueError, match="steps"):
        fit_kernel(x, np.ones((4, 4)), (3, 3), 0.01, -1)
    with pytest.raises(ValueError, match="kernel_shape"):
        fit_kernel(x, np.ones((4, 4)), 3, 0.01, 5)
    with pytest.raises(ValueError, match="does not fit"):
        learning_rate_bounds(x, (7, 3))


# ----------------------------------------------------------------------------- kernels and images

def test_kernel_library_has_the_textbook_kernels():
    np.testing.assert_array_equal(KERNELS["sobel_x"], SOBEL_X)
    np.testing.assert_array_equal(KERNELS["sobel_y"], SOBEL_X.T)
    for name in ("box_blur", "gaussian", "identity"):
        assert KERNELS[name].sum() == pytest.approx(1.0)  # keeps brightness
    for name in ("sobel_x", "sobel_y", "laplacian"):
        assert KERNELS[name].sum() == 0.0  # blind to constant images
    assert KERNELS["sharpen"].sum() == pytest.approx(1.0)
    ramp = np.tile(np.arange(6.0), (6, 1))  # brightness rises by 1 per column
    np.testing.assert_array_equal(conv2d_forward(ramp, KERNELS["sobel_x"]), np.full((4, 4), 8.0))
    np.testing.assert_array_equal(conv2d_forward(ramp, KERNELS["sobel_y"]), np.zeros((4, 4)))


def test_make_kernel_returns_copies_and_seeded_random_kernels():
    assert set(KERNEL_NAMES) == set(KERNELS) | {"random"}
    kernel = make_kernel("sobel_x")
    kernel[0, 0] = 99
    assert KERNELS["sobel_x"][0, 0] == -1
    np.testing.assert_array_equal(make_kernel("random", seed=3), make_kernel("random", seed=3))
    assert not np.array_equal(make_kernel("random", seed=3), make_kernel("random", seed=4))
    with pytest.raises(ValueError, match="unknown kernel"):
        make_kernel("emboss")


@pytest.mark.parametrize("name", SYNTHETIC_IMAGES)
def test_synthetic_images_have_the_requested_shape_and_lie_in_0_1(name):
    image = synthetic_image(name, (40, 56))
    assert image.shape == (40, 56) and image.min() == 0.0 and image.max() == 1.0


def test_bars_light_up_sobel_x_on_top_and_sobel_y_below():
    bars = synthetic_image("bars", 48)
    edges_x = np.abs(conv2d_forward(bars, KERNELS["sobel_x"], padding=1))
    edges_y = np.abs(conv2d_forward(bars, KERNELS["sobel_y"], padding=1))
    assert edges_x[2:20, 2:46].sum() > 0 and edges_x[28:46, 2:46].sum() == 0  # away from the padding
    assert edges_y[28:46, 2:46].sum() > 0 and edges_y[2:20, 2:46].sum() == 0


def test_checkerboard_alternates_and_circle_is_bright_inside():
    board = synthetic_image("checkerboard", 64)  # squares of 8 pixels
    assert board[0, 0] != board[0, 8] and board[0, 0] == board[8, 8]
    circle = synthetic_image("circle", 64)
    assert circle[32, 32] == 1.0 and circle[0, 0] == 0.0
    with pytest.raises(ValueError, match="unknown synthetic image"):
        synthetic_image("spiral", 32)
    with pytest.raises(ValueError, match="image size"):
        synthetic_image("circle", 2)


def test_add_noise_is_seeded_gaussian_with_the_requested_level():
    clean = np.zeros((200, 200))
    noisy = add_noise(clean, 0.3, seed=1)
    np.testing.assert_array_equal(noisy, add_noise(clean, 0.3, seed=1))
    assert not np.array_equal(noisy, add_noise(clean, 0.3, seed=2))
    assert noisy.std() == pytest.approx(0.3, rel=0.02)
    with pytest.raises(ValueError, match="noise"):
        add_noise(clean, -0.1)


def test_grayscale_matches_pil_luma_conversion():
    from PIL import Image

    rgb = np.random.default_rng(0).integers(0, 256, (12, 9, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(rgb).convert("L"), float) / 255
    np.testing.assert_allclose(to_grayscale(rgb), expected, atol=1 / 255)
    rgba = np.dstack([rgb, np.zeros((12, 9), np.uint8)])
    np.testing.assert_array_equal(to_grayscale(rgba), to_grayscale(rgb))
    with pytest.raises(ValueError, match="RGB"):
        to_grayscale(np.ones((4, 4, 2)))


def test_prepare_image_shrinks_the_longer_side_and_scales_to_0_1():
    photo = np.random.default_rng(1).integers(0, 256, (300, 200, 3), dtype=np.uint8)
    image = prepare_image(photo, max_side=60)
    assert image.shape == (60, 40) and image.min() == 0.0 and image.max() == 1.0
    assert prepare_image(photo[:30, :20], max_side=60).shape == (30, 20)  # never enlarged
    np.testing.assert_allclose(resize_image(np.full((90, 70), 0.4), (30, 35)), 0.4)


@pytest.mark.parametrize("picture", [
    np.full((200, 300, 3), 255, np.uint8),  # white, shrunk to 64 × 96: the shrink leaves 1e-16 ripples
    np.full((1000, 1500, 3), (12, 200, 90), np.uint8),  # one colour, block-averaged and shrunk
    np.full((50, 50), 0.3),  # not resized
    0.3 + 1e-12 * np.random.default_rng(0).standard_normal((50, 50)),  # a float picture's rounding noise
    1e6 + 1e-5 * np.random.default_rng(1).standard_normal((50, 50)),  # the same, relative to large values
], ids=["white", "one colour", "constant", "rounding", "large values"])
def test_a_blank_picture_of_any_colour_becomes_the_all_zero_image_of_a_constant_one_not_a_speckle(picture):
    image = prepare_image(picture, max_side=96)
    np.testing.assert_array_equal(image, np.zeros(image.shape))  # was a 0/1 speckle: the ripples stretched to [0, 1]
    gray = to_grayscale(picture)
    assert is_constant(gray)
    np.testing.assert_array_equal(normalize_image(gray), np.zeros(gray.shape))  # as a truly constant image


@pytest.mark.parametrize("low, step", [(0.3, 1e-6), (1e6, 1e-2), (0.0, 1 / 255), (-5.0, 1e-8)])
def test_contrast_above_rounding_is_still_stretched_to_0_1(low, step):
    x = np.full((40, 40), low)
    x[10:20, 10:30] += step  # a small bright patch
    assert not is_constant(x)
    image = normalize_image(x)
    assert image.min() == 0.0 and image.max() == 1.0 and image.sum() == 200
    tiny = np.zeros((8, 8), np.uint8)
    tiny[0, 0] = 1  # one gray level of an 8-bit file, shrunk by averaging blocks
    assert prepare_image(np.kron(tiny, np.ones((40, 40), np.uint8)), 64).max() == 1.0


# ----------------------------------------------------------------------------- kernels typed as text

def test_parse_kernel_reads_rows_fractions_and_rectangles_and_format_kernel_round_trips():
    from calc_core.convolution.kernels import format_kernel, parse_kernel

    np.testing.assert_array_equal(parse_kernel("0, 1, 0; 1, -4, 1; 0, 1, 0"), KERNELS["laplacian"])
    np.testing.assert_array_equal(parse_kernel("-1 0 1\n-2 0 2\n-1 0 1;"), SOBEL_X)
    np.testing.assert_allclose(parse_kernel("1/9,1/9,1/9;1/9,1/9,1/9;1/9,1/9,1/9"), KERNELS["box_blur"])
    assert parse_kernel("1, 2; 3, 4; 5, 6").shape == (3, 2)
    assert parse_kernel("2.5e-1").tolist() == [[0.25]]
    for name in ("sobel_x", "gaussian", "sharpen", "laplacian"):
        np.testing.assert_array_equal(parse_kernel(format_kernel(KERNELS[name])), KERNELS[name])
    assert format_kernel(SOBEL_X) == "-1, 0, 1; -2, 0, 2; -1, 0, 1"


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    (" ; ", "empty"),
    ("1, 2, 3; 4, 5", r"same number of entries \(row 1: 3, row 2: 2\)"),
    ("1, x, 3", r"'x' in row 1 .* not a number"),
    ("1; 1/0", r"'1/0' in row 2 .* not a number"),
    ("1, nan", "finite"),
    ("1, inf", "finite"),
    ("1e300", "finite"),
    ("1;" * 6, r"6×1; the largest allowed is 5×5"),
    (", ".join(["1"] * 6), r"1×6"),
    ("1, 2; ; 3, 4", "row 2 of the kernel is empty"),
])
def test_parse_kernel_rejects_bad_text_with_a_message_that_points_at_the_problem(text, message):
    from calc_core.convolution.kernels import parse_kernel

    with pytest.raises(ValueError, match=message):
        parse_kernel(text)


def test_kernel_lesson_runs_its_matrix_products_on_one_blas_thread(monkeypatch):
    from calc_core.common.blas_threads import blas_threads

    if blas_threads() is None:
        pytest.skip("numpy's bundled OpenBLAS cannot be controlled here")
    seen = []
    original = kernel_learning._forward_and_gradient

    def recording(*args):
        forward, gradient = original(*args)
        return (lambda w: seen.append(blas_threads()) or forward(w)), gradient

    monkeypatch.setattr(kernel_learning, "_forward_and_gradient", recording)
    before = blas_threads()
    kernel_lesson(add_noise(synthetic_image("bars", 24), 0.2, seed=1), KERNELS["sobel_x"], 0.9, 20, padding=1)
    assert seen and set(seen) == {1}
    assert blas_threads() == before  # put back afterwards
