"""calc_core.convolution.tutorial: the tutorial's backward pass, measured against the correct rule.

Oracle for the correct rule: central differences (through calc_core.convolution.checks).
"""

import numpy as np
import pytest

from calc_core.convolution.checks import layer_gradient_checks
from calc_core.convolution.core import run_convolution
from calc_core.convolution.tutorial import compare_with_tutorial, tutorial_backward
from calc_core.common.gradcheck import numerical_gradient
from calc_core.convolution.kernels import KERNELS, add_noise, make_kernel, synthetic_image

X = add_noise(synthetic_image("bars", (20, 24)), 0.1, seed=3)


def test_tutorial_input_gradient_for_sobel_is_exactly_the_negative_of_central_differences():
    w, G = KERNELS["sobel_x"], np.random.default_rng(0).standard_normal((20, 24))
    tutorial_input, _ = tutorial_backward(G, X, np.array(w, dtype=np.int64), 1, 1)
    numeric = numerical_gradient(lambda x: float(np.sum(run_convolution(x, w, 1, 1).output * G)), X)
    np.testing.assert_allclose(tutorial_input[1:-1, 1:-1], -numeric, atol=1e-6)


@pytest.mark.parametrize("name, error, cosine", [("sobel_x", 1.0, -1.0), ("sobel_y", 1.0, -1.0),
                                                 ("gaussian", 0.0, 1.0), ("laplacian", 0.0, 1.0)])
def test_the_double_flip_negates_antisymmetric_kernels_and_cancels_on_symmetric_ones(name, error, cosine):
    result = run_convolution(X, make_kernel(name), 1, 1)
    assert all(check.passed for check in layer_gradient_checks(result))
    comparison = compare_with_tutorial(result)
    assert comparison.input_error == pytest.approx(error, abs=1e-12)
    assert comparison.input_cosine == pytest.approx(cosine, abs=1e-12)
    assert comparison.negated == (cosine < 0) and comparison.right == (cosine > 0)
    assert (comparison.negated_error < 1e-12) == (cosine < 0)


def test_a_random_kernel_gets_a_partly_wrong_input_gradient():
    comparison = compare_with_tutorial(run_convolution(X, make_kernel("random", 5), 1, 0))
    assert 0.05 < comparison.input_error < 1.0 and -1.0 < comparison.input_cosine < 1.0
    assert not comparison.negated and not comparison.right


def test_the_tutorial_returns_the_padded_shape_and_cannot_be_cropped_at_stride_2():
    padded = compare_with_tutorial(run_convolution(X, KERNELS["sobel_x"], 1, 2))
    assert padded.tutorial_shape == padded.padded_shape == (24, 28) and padded.image_shape == (20, 24)
    strided = compare_with_tutorial(run_convolution(X, KERNELS["sobel_x"], 2, 1))
    # H_out = ⌊(20 + 2 − 3)/2⌋ + 1 = 10, W_out = ⌊(24 + 2 − 3)/2⌋ + 1 = 12; "full" adds k − 1 = 2
    assert strided.tutorial_shape == (12, 14) and strided.padded_shape == (22, 26)
    assert strided.input_error is None and strided.input_cosine is None


def test_an_integer_kernel_truncates_the_kernel_gradient_and_a_fractional_one_does_not():
    sobel = compare_with_tutorial(run_convolution(X, KERNELS["sobel_x"], 1, 1))
    assert sobel.integer_kernel and 0.0 < sobel.kernel_truncation < 1.0  # toward zero: under 1
    result = run_convolution(X, KERNELS["sobel_x"], 1, 1)
    _, truncated = tutorial_backward(result.grad_output, X, np.array(KERNELS["sobel_x"], dtype=np.int64), 1, 1)
    np.testing.assert_array_equal(truncated, np.trunc(result.grad_kernel))
    blur = compare_with_tutorial(run_convolution(X, KERNELS["gaussian"], 1, 1))
    assert not blur.integer_kernel and blur.kernel_truncation == 0.0


def test_findings_name_each_defect_with_the_measured_numbers():
    sobel = compare_with_tutorial(run_convolution(X, KERNELS["sobel_x"], 1, 1)).findings()
    assert sobel["∂L/∂x, cropped by p"] == "relative error 1.00 (of at most 1), cosine −1.00 — exactly −∂L/∂x"
    assert sobel["∂L/∂x shape"] == "22×26 = x̃'s shape, for a 20×24 x"
    assert sobel["∂L/∂w truncation"].startswith("up to 0.")
    blur = compare_with_tutorial(run_convolution(X, KERNELS["gaussian"], 2, 1)).findings()
    assert blur["∂L/∂x, cropped by p"] == "cannot be compared: its shape is wrong"
    assert blur["∂L/∂x shape"] == "12×14 (the stride is ignored), for a 20×24 x"
    assert blur["∂L/∂w truncation"] == "none here: w has fractional entries"
    lucky = compare_with_tutorial(run_convolution(X, KERNELS["laplacian"], 1, 0)).findings()
    assert lucky["∂L/∂x, cropped by p"].endswith("right by luck: for this kernel the extra flip changes nothing")
