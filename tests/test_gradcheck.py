"""calc_core.common.gradcheck against functions whose gradients are known in closed form."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from calc_core.common.gradcheck import (
    check_gradient,
    check_gradients,
    numerical_gradient,
    relative_error,
    sample_indices,
)

finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


@given(arrays(float, st.integers(1, 6), elements=finite))
@settings(max_examples=50, deadline=None)
def test_numerical_gradient_of_a_quadratic_form_matches_its_closed_form(x):
    rng = np.random.default_rng(x.size)
    A = rng.normal(size=(x.size, x.size))
    # f(x) = ½ xᵀ A x has ∇f = ½ (A + Aᵀ) x; central differences are exact for quadratics up to rounding.
    numeric = numerical_gradient(lambda v: 0.5 * v @ A @ v, x)
    np.testing.assert_allclose(numeric, 0.5 * (A + A.T) @ x, atol=1e-6)


def test_numerical_gradient_keeps_the_shape_and_leaves_the_input_untouched():
    x = np.arange(6.0).reshape(2, 3)
    before = x.copy()
    grad = numerical_gradient(lambda v: np.sum(np.sin(v)), x)
    assert grad.shape == (2, 3)
    np.testing.assert_allclose(grad, np.cos(x), rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_on_sampled_coordinates_returns_those_coordinates():
    x = np.linspace(-1, 1, 20)
    idx = np.array([3, 7, 19])
    np.testing.assert_allclose(
        numerical_gradient(lambda v: np.sum(v**3), x, indices=idx), 3 * x[idx] ** 2, rtol=1e-7
    )


def test_relative_error_is_zero_for_equal_one_for_opposite_and_finite_for_zeros():
    a = np.array([1.0, -2.0, 3.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(a, -a) == pytest.approx(1.0)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(a, np.zeros(3)) == pytest.approx(1.0)


def test_relative_error_refuses_arrays_of_different_shapes():
    with pytest.raises(ValueError, match="shapes"):
        relative_error(np.zeros(3), np.zeros(4))


def test_check_gradient_passes_a_right_gradient_and_fails_a_wrong_one():
    x = np.array([0.3, -1.2, 2.0])
    f = lambda v: np.sum(np.exp(v))  # noqa: E731
    good = check_gradient(f, x, np.exp(x))
    assert good.passed and good.relative_error < 1e-8
    # a gradient with one sign flipped — the kind of bug the lab's panels must catch
    wrong = np.exp(x) * np.array([1, -1, 1])
    assert not check_gradient(f, x, wrong).passed


def test_check_gradient_rejects_an_analytic_gradient_of_the_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        check_gradient(lambda v: v.sum(), np.zeros(3), np.zeros(4))


def test_check_gradients_checks_each_parameter_with_the_others_fixed():
    params = {"a": np.array([1.0, 2.0]), "b": np.array([[0.5], [-1.0]])}

    def f(p):
        return float(np.sum(p["a"] ** 2) * np.sum(p["b"]))

    analytic = {"a": 2 * params["a"] * params["b"].sum(), "b": np.full((2, 1), np.sum(params["a"] ** 2))}
    checks = check_gradients(f, params, analytic)
    assert [c.name for c in checks] == ["a", "b"]
    assert all(c.passed for c in checks)
    analytic["b"] = analytic["b"] * 1.01
    assert not check_gradients(f, params, analytic)[1].passed


def test_sample_indices_are_distinct_sorted_reproducible_and_capped():
    idx = sample_indices(1000, 25, seed=3)
    assert idx.size == 25 and np.unique(idx).size == 25 and np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(idx, sample_indices(1000, 25, seed=3))
    np.testing.assert_array_equal(sample_indices(10, 25), np.arange(10))


def test_a_check_records_the_step_it_was_made_with():
    check = check_gradient(lambda v: float(np.sum(v**2)), np.ones(3), 2 * np.ones(3), step=1e-4)
    assert check.step == 1e-4 and check.passed
