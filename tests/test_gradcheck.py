"""calc_core.common.gradcheck against functions whose gradients are known in closed form."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from calc_core.common.gradcheck import (
    check_gradient,
    check_gradients,
    choose_indices,
    numerical_gradient,
    relative_error,
    sample_indices,
    summarize,
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


def test_a_check_records_the_first_step_it_was_made_with():
    check = check_gradient(lambda v: float(np.sum(v**2)), np.ones(3), 2 * np.ones(3), step=1e-4)
    assert check.step == 1e-4 and check.passed


# ----------------------------------------------------------------------------- the honest verdict

def _softmax_loss(z, target):
    """L = ½‖softmax(z) − t‖², dtype-generic (z may be np.longdouble)."""
    e = np.exp(z - np.max(z))
    s = e / np.sum(e)
    return 0.5 * np.sum((s - target) ** 2)


def _softmax_loss_gradient(z, target):
    e = np.exp(z - z.max())
    s = e / e.sum()
    g = s - target
    return s * (g - g @ s)


def test_a_tiny_slope_under_a_large_value_is_not_failed():
    """The attention page's false Fail: f ≈ 24 while the slope is ~1e-11, so a central difference
    at h = 1e-6 reads exactly 0. The verdict must not call the correct gradient wrong."""
    z = np.array([30.0, 0.0, -2.0])
    target = np.array([0.0, 7.0, 0.0])
    f = lambda v: float(_softmax_loss(v, target))  # noqa: E731
    grad = _softmax_loss_gradient(z, target)
    assert np.max(np.abs(grad)) < 1e-11 and f(z) > 24
    assert numerical_gradient(f, z, step=1e-6)[1] == 0.0  # what the old check compared against
    check = check_gradient(f, z, grad, extended=lambda v: _softmax_loss(v, target.astype(np.longdouble)))
    assert check.verdict != "fail", check.reason


def test_a_gradient_off_by_one_part_in_ten_thousand_never_passes():
    rng = np.random.default_rng(0)
    for _ in range(20):
        A = rng.normal(size=(6, 6))
        x = rng.normal(size=6)
        f = lambda v: float(np.sum(np.sin(A @ v)))  # noqa: E731
        grad = A.T @ np.cos(A @ x)
        assert check_gradient(f, x, grad).verdict == "pass"
        assert check_gradient(f, x, grad * (1 + 1e-4)).verdict != "pass"
        flipped = grad.copy()
        flipped[np.argmax(np.abs(grad))] *= -1
        assert check_gradient(f, x, flipped).verdict == "fail"


def test_an_unsampled_wrong_coordinate_is_caught_along_the_directions():
    """Only 8 of 400 coordinates are checked one by one, but the checks along the analytic gradient and
    a random direction run through all of them."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=400)
    f = lambda v: float(np.sum(v**4) / 4)  # noqa: E731
    grad = x**3
    check = check_gradient(f, x, grad, max_coords=8)
    assert check.verdict == "pass" and check.n_checked == 8
    wrong = grad.copy()
    unsampled = np.setdiff1d(np.arange(400), check.indices)
    k = unsampled[np.argmax(np.abs(grad[unsampled]))]
    wrong[k] = -wrong[k]
    assert check_gradient(f, x, wrong, max_coords=8).verdict == "fail"


def test_groups_put_every_structural_part_in_the_sample():
    analytic = np.zeros(1000)
    analytic[:10] = 1.0  # the largest entries
    rare = np.arange(990, 1000)  # a part no random sample of 40 would reach reliably
    chosen = choose_indices(analytic, 40, seed=0, groups=[rare])
    assert set(range(10)) <= set(chosen) and set(chosen) & set(rare)


def test_a_function_that_does_not_change_at_all_is_too_flat_to_check_not_passed():
    x = np.array([1.0, 2.0])
    check = check_gradient(lambda v: 1e30 + float(np.sum(v)) * 1e-30, x, np.full(2, 1e-30))
    assert check.verdict == "flat"
    assert "too flat" in check.reason


def test_a_non_finite_function_is_reported_not_compared():
    check = check_gradient(lambda v: float("nan"), np.ones(2), np.ones(2))
    assert check.verdict == "flat" and "not finite" in check.reason


def test_a_change_function_checks_a_tiny_gradient_exactly():
    """f(x′) − f(x) computed from the perturbation keeps its digits where f itself would not."""
    base = 1e8
    x = np.array([1e-3, -2e-3])

    def change(v):  # (base + ½‖v‖²) − (base + ½‖x‖²), from d = v − x
        d = v - x
        return float(np.sum(d * (x + 0.5 * d)))
    assert check_gradient(lambda v: base + 0.5 * float(v @ v), x, x.copy()).verdict == "flat"  # f itself cannot
    assert check_gradient(change, x, x.copy()).verdict == "pass"
    assert check_gradient(change, x, x * (1 + 1e-4)).verdict != "pass"


def test_summarize_fails_if_any_fails_and_passes_only_if_all_pass():
    x = np.array([0.5, 1.5])
    good = check_gradient(lambda v: float(np.sum(v**2)), x, 2 * x)
    bad = check_gradient(lambda v: float(np.sum(v**2)), x, -2 * x)
    flat = check_gradient(lambda v: float("nan"), x, x)
    assert summarize([good, good]).verdict == "pass"
    assert summarize([good, bad, flat]).verdict == "fail"
    assert summarize([good, flat]).verdict == "flat"


def two_narrow_modes(x, xp=np):
    """log(e^{−(x+6)²/2s²} + e^{−x²/2s²}) summed over x, s = 0.05: between the modes log p follows one
    parabola, then the other, switching over about s²/6 ≈ 4·10⁻⁴ — far below a tenth of |x|."""
    s2 = xp.asarray(0.05, dtype=x.dtype) ** 2
    a, b = -(x + 6) ** 2 / (2 * s2), -(x ** 2) / (2 * s2)
    top = xp.maximum(a, b)
    return xp.sum(top + xp.log(xp.exp(a - top) + xp.exp(b - top)))


def two_narrow_modes_gradient(x):
    a, b = -(x + 6) ** 2 / (2 * 0.05 ** 2), -(x ** 2) / (2 * 0.05 ** 2)
    weight = 1 / (1 + np.exp(b - a))  # the first mode's share
    return weight * -(x + 6) / 0.05 ** 2 + (1 - weight) * -x / 0.05 ** 2


@pytest.mark.parametrize("offset", [0.0, 0.003, -0.003, 0.0005, 0.02])
def test_a_function_that_turns_over_a_scale_far_below_the_first_step_is_checked_not_failed(offset):
    # the first step, a tenth of |x| ≈ 0.3, straddles the switch: both Ridders runs from it are wrong
    x = np.array([-3.0 + offset, -5.0, 0.3])
    right = two_narrow_modes_gradient(x)
    check = check_gradient(lambda v: float(two_narrow_modes(v)), x, right, f_scale=abs(float(two_narrow_modes(x))),
                           extended=two_narrow_modes)
    assert check.verdict == "pass", check.reason
    for wrong in (right * (1 + 1e-4), right + np.array([1e-3 * abs(right[0]) + 1e-3, 0, 0])):
        check = check_gradient(lambda v: float(two_narrow_modes(v)), x, wrong,
                               f_scale=abs(float(two_narrow_modes(x))), extended=two_narrow_modes)
        assert check.verdict == "fail", check.reason


def test_a_float64_function_that_rounds_more_coarsely_than_declared_is_never_passed_wrong_nor_failed_right():
    # its staircase would give a confident wrong slope at small steps: the check stays at the steps it starts from
    x = np.array([0.66])
    in_float32 = lambda v: float(np.float32(np.exp(np.float32(v[0]))))  # noqa: E731
    assert check_gradient(in_float32, x, np.exp(x)).verdict != "fail"
    assert check_gradient(in_float32, x, np.exp(x) * (1 + 6e-5)).verdict != "pass"
    y = np.array([1.0563545])
    cancels = lambda v: (1e10 + np.exp(v[0])) - 1e10  # noqa: E731  # rounding of 1e10, not of |f| ≈ 3
    assert check_gradient(cancels, y, np.exp(y)).verdict != "fail"
    assert check_gradient(cancels, y, np.array([2.899121])).verdict != "pass"


def test_a_gradient_that_is_zero_everywhere_is_said_to_be_zero_not_given_a_meaningless_blur():
    """At a critical point the check has nothing to divide by: the old message printed the error
    bar divided by 1e-12 ("uncertain by 2.4e-04 relative") and blamed the backward pass."""
    from calc_core.common.gradcheck import check_gradient

    f = lambda x: float(np.sum(np.cos(x)))  # noqa: E731 - slope 0 at x = 0, −sin(0.3) at 0.3
    check = check_gradient(f, np.zeros(40), np.zeros(40), name="x")
    assert check.verdict == "flat" and check.zero_by_hand
    assert check.reason.startswith("x: 0 by hand, and values of f alone find no slope either (0 within ±")
    assert "uncertain by" not in check.reason and "hand-derived gradient itself" not in check.reason
    wrong = check_gradient(f, np.full(40, 0.3), np.zeros(40), name="x")  # a zero where the slope is not
    assert wrong.verdict == "fail" and wrong.zero_by_hand
    nearly = check_gradient(f, np.zeros(40), np.r_[np.zeros(39), 1e-9], name="x")  # one entry not 0: judged as before
    assert not nearly.zero_by_hand and nearly.verdict in ("fail", "flat")


@pytest.mark.parametrize("size", [1e-187, 1e-200, 1e-300])
def test_a_gradient_too_small_for_float64_norms_is_never_passed_right_or_wrong(size):
    """Recommendations at η = 0.3, λ = 1 shrinks the factors to 6·10⁻¹⁸⁷: np.linalg.norm of such a
    gradient is 0 (its squares underflow), so the relative error and the resolution were 0 and any
    estimate passed; the steps, a tenth of an RMS that was also 0 (then 1), were 10¹⁸⁶ times too big."""
    x = size * np.random.default_rng(0).uniform(0.5, 1.5, 12)

    def change(v):  # f(v) − f(x) for f = ½‖v‖², from the perturbation: below 10⁻³⁰⁸ it underflows to 0
        d = v - x
        return float(np.sum(d * (x + 0.5 * d)))
    for f in (change, lambda v: 0.5 * float(v @ v)):
        right = check_gradient(f, x, x.copy())
        assert right.verdict == "flat", right.reason
        assert "own rounding" in right.reason  # the differences of f underflow: rounding, not curvature
        for wrong in (2 * x, x * (1 + 1e-4), -x, np.r_[-x[:1], x[1:]]):
            assert check_gradient(f, x, wrong).verdict != "pass"


def test_relative_error_of_tiny_and_huge_arrays_is_the_ratio_not_an_underflow():
    a = np.array([3e-200, 4e-200])  # squares underflow to 0
    assert relative_error(a, 2 * a, tiny=1e-300) == pytest.approx(1 / 3)
    b = np.array([3e160, 4e160])  # squares overflow to inf
    assert relative_error(b, 2 * b) == pytest.approx(1 / 3)


def test_a_flat_check_from_curvature_is_not_blamed_on_rounding_and_the_score_check_steps_within_a_width():
    """Diffusion with six modes 9 apart, the first of width 0.05 at x = −22.5: from a first step of a
    tenth of |x| (45 widths) the estimates never settle. The check said 'f changes by less than its own
    rounding' — false: the estimates at different steps disagree. The page's score check starts at a
    tenth of the narrowest width instead, and passes (a wrong score still fails)."""
    from calc_core.diffusion import checks, lab

    mixture = lab.build_mixture(lab.check_settings(lab.Settings(dimension=1, n_modes=6, separation=9.0,
                                                                 first_width=0.05, width=0.5)))
    x = checks.check_points(mixture)["near the modes"]
    f = lambda p: np.sum(mixture.log_density(p["x"]))  # noqa: E731
    coarse = check_gradients(lambda p: float(f(p)), {"x": x}, {"x": mixture.score(x)}, max_coords=12,
                             f_scale=float(np.sum(np.abs(mixture.log_density(x)))), extended=f)[0]
    assert coarse.verdict == "flat"
    assert "own rounding" not in coarse.reason and "disagree" in coarse.reason, coarse.reason
    assert all(c.verdict == "pass" for c in checks.score_checks(mixture, "∇ₓ log p")), \
        [c.reason for c in checks.score_checks(mixture, "∇ₓ log p")]
