"""calc_core.attention.core and calc_core.attention.problem against independent references:
central differences (calc_core.common.gradcheck), scipy's softmax and entropy, a plain-Python loop
implementation of attention written here, and hand-worked values. (The page's run, its gradient
check and its lessons: tests/test_attention_checks.py and tests/test_attention_lab.py.)"""

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from calc_core.attention import (attention_backward, causal_mask, scaled_dot_product_attention, softmax,
                                 softmax_backward, softmax_jacobian)
from calc_core.attention.problem import (attention_view, entropy, jacobian_frobenius_norm, make_problem, parse_tokens,
                                         query_row_jacobian)
from calc_core.attention.sweep import sqrt_dk_sweep
from calc_core.common.gradcheck import check_gradients, numerical_gradient

logits = st.floats(-20, 20, allow_nan=False, allow_infinity=False)


def loop_attention(Q, K, V, mask=None, scale=True, temperature=1.0):
    """Attention one scalar at a time, straight from the definition (no numpy)."""
    n_q, d_k, n_k, d_v = len(Q), len(Q[0]), len(K), len(V[0])
    factor = 1.0 / (math.sqrt(d_k) * temperature) if scale else 1.0 / temperature
    output, weights = [], []
    for i in range(n_q):
        scores = [
            factor * sum(Q[i][t] * K[j][t] for t in range(d_k))
            if mask is None or mask[i][j] else None
            for j in range(n_k)
        ]
        allowed = [z for z in scores if z is not None]
        if allowed:
            top = max(allowed)
            exps = [0.0 if z is None else math.exp(z - top) for z in scores]
            row = [e / sum(exps) for e in exps]
        else:
            row = [0.0] * n_k
        weights.append(row)
        output.append([sum(row[j] * V[j][c] for j in range(n_k)) for c in range(d_v)])
    return np.array(output), np.array(weights)


def random_qkv(n_q, n_k, d_k, d_v, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n_q, d_k)), rng.normal(size=(n_k, d_k)), rng.normal(size=(n_k, d_v)))


def linear_loss_gradcheck(Q, K, V, mask, scale, temperature, seed=0):
    """Hand-derived gradients of L = Σ O ⊙ G against central differences, for Q, K and V."""
    G = np.random.default_rng(seed + 100).normal(size=(Q.shape[0], V.shape[1]))

    def loss(p):
        output, _ = scaled_dot_product_attention(p["Q"], p["K"], p["V"], mask, scale, temperature)
        return float(np.sum(output * G))

    dQ, dK, dV = attention_backward(Q, K, V, G, mask, scale, temperature)
    return check_gradients(loss, {"Q": Q, "K": K, "V": V}, {"Q": dQ, "K": dK, "V": dV})


# --- softmax -------------------------------------------------------------------------------


@given(arrays(float, st.tuples(st.integers(1, 4), st.integers(1, 6)), elements=logits))
@settings(max_examples=60, deadline=None)
def test_softmax_matches_scipy_along_either_axis(z):
    for axis in (0, 1):
        np.testing.assert_allclose(softmax(z, axis=axis), scipy.special.softmax(z, axis=axis),
                                   rtol=1e-12, atol=1e-15)


def test_softmax_of_plus_minus_1e4_logits_is_finite_and_exact():
    s = softmax(np.array([[1e4, -1e4], [1e4, 1e4], [-1e4, -1e4], [1e4, 1e4 - math.log(3)]]))
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s, [[1, 0], [0.5, 0.5], [0.5, 0.5], [0.75, 0.25]], rtol=1e-9)


def test_softmax_of_a_row_with_nothing_allowed_is_all_zero_by_the_documented_rule():
    z = np.array([[1.0, 2.0, 3.0], [-np.inf, -np.inf, -np.inf], [0.0, -np.inf, 0.0]])
    s = softmax(z)
    np.testing.assert_array_equal(s[1], 0.0)
    np.testing.assert_allclose(s[2], [0.5, 0.0, 0.5])
    masked = softmax(np.ones((2, 3)), mask=np.array([[True, False, True], [False, False, False]]))
    np.testing.assert_allclose(masked, [[0.5, 0.0, 0.5], [0.0, 0.0, 0.0]])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_softmax_refuses_nan_and_plus_infinity(bad):
    with pytest.raises(ValueError, match="NaN or"):
        softmax(np.array([0.0, bad]))


@given(arrays(float, st.integers(1, 7), elements=logits))
@settings(max_examples=60, deadline=None)
def test_softmax_jacobian_is_symmetric_with_zero_row_sums_and_positive_semidefinite(z):
    J = softmax_jacobian(softmax(z))
    np.testing.assert_allclose(J, J.T, atol=1e-15)
    np.testing.assert_allclose(J.sum(axis=1), 0.0, atol=1e-12)
    assert np.linalg.eigvalsh(J).min() >= -1e-12


@given(arrays(float, st.integers(1, 6), elements=st.floats(-5, 5)))
@settings(max_examples=40, deadline=None)
def test_softmax_jacobian_equals_central_differences(z):
    J = softmax_jacobian(softmax(z))
    # column j of J is ∂s/∂z_j; row i is the gradient of s_i
    numeric = np.array([numerical_gradient(lambda v, i=i: softmax(v)[i], z) for i in range(z.size)])
    np.testing.assert_allclose(J, numeric, atol=1e-8)


def test_softmax_jacobian_by_hand_for_two_equal_weights():
    np.testing.assert_allclose(softmax_jacobian([0.5, 0.5]), [[0.25, -0.25], [-0.25, 0.25]])
    np.testing.assert_allclose(softmax_jacobian([1.0, 0.0, 0.0]), np.zeros((3, 3)))


def test_softmax_jacobian_of_rows_is_one_jacobian_per_row_not_one_flattened_matrix():
    P = softmax(np.random.default_rng(1).normal(size=(4, 5)))
    J = softmax_jacobian(P)
    assert J.shape == (4, 5, 5)
    for i in range(4):
        numeric = np.array([numerical_gradient(lambda v, k=k: softmax(v)[k], np.log(P[i]))
                            for k in range(5)])
        np.testing.assert_allclose(J[i], numeric, atol=1e-8)


def test_softmax_jacobian_refuses_logits_and_3d_input():
    with pytest.raises(ValueError, match="not the logits"):
        softmax_jacobian([2.0, -1.0, 0.5])
    with pytest.raises(ValueError, match="shape"):
        softmax_jacobian(np.full((2, 2, 2), 0.5))


@given(arrays(float, st.tuples(st.integers(1, 4), st.integers(1, 6)), elements=st.floats(-5, 5)))
@settings(max_examples=40, deadline=None)
def test_softmax_backward_equals_the_jacobian_transpose_times_the_gradient(z):
    s = softmax(z)
    g = np.random.default_rng(z.size).normal(size=z.shape)
    expected = np.einsum("nij,ni->nj", softmax_jacobian(s), g)
    np.testing.assert_allclose(softmax_backward(s, g), expected, atol=1e-12)


# --- forward pass ---------------------------------------------------------------------------


@given(
    n_q=st.integers(1, 5), n_k=st.integers(1, 5), d_k=st.integers(1, 6), d_v=st.integers(1, 4),
    scale=st.booleans(), temperature=st.sampled_from([0.3, 1.0, 2.5]), use_mask=st.booleans(),
    seed=st.integers(0, 10_000),
)
@settings(max_examples=60, deadline=None)
def test_forward_pass_matches_a_plain_loop_implementation(n_q, n_k, d_k, d_v, scale, temperature,
                                                          use_mask, seed):
    Q, K, V = random_qkv(n_q, n_k, d_k, d_v, seed)
    mask = np.random.default_rng(seed).random((n_q, n_k)) < 0.6 if use_mask else None
    output, weights = scaled_dot_product_attention(Q, K, V, mask, scale, temperature)
    loop_output, loop_weights = loop_attention(Q.tolist(), K.tolist(), V.tolist(),
                                               None if mask is None else mask.tolist(),
                                               scale, temperature)
    np.testing.assert_allclose(weights, loop_weights, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(output, loop_output, rtol=1e-10, atol=1e-12)


def test_temperature_and_scale_multiply_in_the_logit_factor():
    Q, K, V = random_qkv(3, 4, 9, 2)
    # S = Q Kᵀ / (√d_k · T): with scaling and T = 2 this is the unscaled logit of Q / 6
    scaled = scaled_dot_product_attention(Q, K, V, scale=True, temperature=2.0)
    unscaled = scaled_dot_product_attention(Q / 6.0, K, V, scale=False, temperature=1.0)
    np.testing.assert_allclose(scaled[1], unscaled[1], rtol=1e-12)
    same = scaled_dot_product_attention(Q, K, V, scale=False, temperature=6.0)
    np.testing.assert_allclose(scaled[1], same[1], rtol=1e-12)


def test_causal_mask_lets_query_i_see_keys_up_to_i():
    mask = causal_mask(4)
    assert mask.dtype == bool
    assert [[mask[i, j] for j in range(4)] for i in range(4)] == [
        [j <= i for j in range(4)] for i in range(4)
    ]
    with pytest.raises(ValueError, match="n ≥ 1"):
        causal_mask(0)


def test_masked_keys_get_zero_weight_and_the_first_causal_query_copies_the_first_value():
    Q, K, V = random_qkv(4, 4, 3, 2)
    output, weights = scaled_dot_product_attention(Q, K, V, causal_mask(4))
    assert np.all(weights[np.triu_indices(4, 1)] == 0.0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    np.testing.assert_allclose(output[0], V[0])


# --- backward pass --------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("temperature", [1.0, 0.4, 3.0])
@pytest.mark.parametrize("mask_kind", ["none", "causal", "random"])
def test_attention_backward_equals_central_differences_for_q_k_and_v(scale, temperature,
                                                                      mask_kind):
    Q, K, V = random_qkv(5, 5, 4, 3, seed=7)
    mask = {"none": None, "causal": causal_mask(5),
            "random": np.random.default_rng(3).random((5, 5)) < 0.5}[mask_kind]
    for check in linear_loss_gradcheck(Q, K, V, mask, scale, temperature):
        assert check.passed, (check.name, check.relative_error)


@pytest.mark.parametrize("n_q, n_k, d_k, d_v", [(3, 6, 5, 2), (6, 2, 1, 4), (1, 4, 7, 7)])
def test_attention_backward_equals_central_differences_when_n_q_differs_from_n_k(n_q, n_k, d_k,
                                                                                 d_v):
    Q, K, V = random_qkv(n_q, n_k, d_k, d_v, seed=n_q * 10 + n_k)
    mask = np.random.default_rng(0).random((n_q, n_k)) < 0.7
    for check in linear_loss_gradcheck(Q, K, V, mask, scale=True, temperature=0.7):
        assert check.passed, (check.name, check.relative_error)


def test_masked_keys_receive_zero_gradient():
    Q, K, V = random_qkv(4, 5, 3, 2, seed=2)
    mask = np.ones((4, 5), dtype=bool)
    mask[:, 3] = False  # no query may look at key 3
    mask[1, 0] = False
    G = np.random.default_rng(5).normal(size=(4, 2))
    dQ, dK, dV = attention_backward(Q, K, V, G, mask)
    np.testing.assert_array_equal(dK[3], 0.0)
    np.testing.assert_array_equal(dV[3], 0.0)
    # key 0's value reaches the loss only through the queries that may see it
    _, weights = scaled_dot_product_attention(Q, K, V, mask)
    assert weights[1, 0] == 0.0
    np.testing.assert_allclose(dV[0], np.delete(weights[:, 0], 1) @ np.delete(G, 1, axis=0))


def test_a_fully_masked_query_row_has_zero_output_and_passes_no_gradient():
    Q, K, V = random_qkv(3, 4, 3, 2, seed=4)
    mask = np.ones((3, 4), dtype=bool)
    mask[2] = False
    output, weights = scaled_dot_product_attention(Q, K, V, mask)
    np.testing.assert_array_equal(weights[2], 0.0)
    np.testing.assert_array_equal(output[2], 0.0)
    dQ, dK, dV = attention_backward(Q, K, V, np.ones((3, 2)), mask)
    np.testing.assert_array_equal(dQ[2], 0.0)
    assert np.all(np.isfinite(dK)) and np.all(np.isfinite(dV))
    for check in linear_loss_gradcheck(Q, K, V, mask, scale=True, temperature=1.0):
        assert check.passed, (check.name, check.relative_error)


def test_logits_of_plus_minus_1e4_give_finite_weights_output_and_gradients():
    Q = np.array([[100.0], [-100.0], [0.0]])
    K = np.array([[100.0], [-100.0]])  # unscaled logits ±1e4 and 0
    V = np.array([[1.0, 2.0], [3.0, 4.0]])
    output, weights = scaled_dot_product_attention(Q, K, V, scale=False)
    np.testing.assert_allclose(weights, [[1, 0], [0, 1], [0.5, 0.5]])
    np.testing.assert_allclose(output, [[1, 2], [3, 4], [2, 3]])
    grads = attention_backward(Q, K, V, np.ones((3, 2)), scale=False)
    assert all(np.all(np.isfinite(g)) for g in grads)
    # the saturated rows pass no gradient to the logits: only query 2 moves dQ
    np.testing.assert_array_equal(grads[0][:2], 0.0)


@pytest.mark.parametrize(
    "shapes, mask_shape, grad_shape, pattern",
    [
        (((3, 4), (5, 2), (5, 6)), None, None, r"Q has shape \(3, 4\) and K has shape \(5, 2\)"),
        (((3, 4), (5, 4), (6, 2)), None, None, r"K has shape \(5, 4\) and V has shape \(6, 2\)"),
        (((4,), (5, 4), (5, 2)), None, None, r"Q must be .* got shape \(4,\)"),
        (((3, 4), (5, 4), (5, 2)), (5, 3), None, r"mask has shape \(5, 3\).*\(3, 5\)"),
        (((3, 4), (5, 4), (5, 2)), None, (3, 5), r"grad_output has shape \(3, 5\).*\(3, 2\)"),
    ],
)
def test_shapes_that_do_not_fit_raise_a_value_error_naming_them(shapes, mask_shape, grad_shape,
                                                                 pattern):
    Q, K, V = (np.ones(s) for s in shapes)
    mask = None if mask_shape is None else np.ones(mask_shape, dtype=bool)
    grad = np.ones(grad_shape or (shapes[0][0], shapes[2][-1]))
    with pytest.raises(ValueError, match=pattern):
        attention_backward(Q, K, V, grad, mask)
    if grad_shape is None:
        with pytest.raises(ValueError, match=pattern):
            scaled_dot_product_attention(Q, K, V, mask)


def test_a_numeric_mask_and_a_non_positive_temperature_are_refused():
    Q, K, V = random_qkv(2, 2, 2, 2)
    with pytest.raises(ValueError, match="boolean"):
        scaled_dot_product_attention(Q, K, V, mask=np.ones((2, 2)))
    with pytest.raises(ValueError, match="temperature"):
        scaled_dot_product_attention(Q, K, V, temperature=0.0)


# --- what the page draws ----------------------------------------------------------------


def test_problem_reproduces_the_tutorial_demo_draws_for_seed_42():
    np.random.seed(42)
    expected = [np.random.randn(5, 8) for _ in range(3)]
    problem = make_problem(5, 8, 8, 42)
    for got, want in zip((problem.Q, problem.K, problem.V), expected):
        np.testing.assert_array_equal(got, want)


def test_problem_labels_stay_unique_when_a_sentence_repeats_a_word():
    problem = make_problem(4, 3, 2, 0, tokens=parse_tokens("the cat saw the"))
    assert problem.tokens == ("the", "cat", "saw", "the")
    assert len(set(problem.labels)) == 4
    with pytest.raises(ValueError, match="3 tokens"):
        make_problem(4, 3, 2, 0, tokens=("a", "b", "c"))


@pytest.mark.parametrize("sentence, pattern", [("   ", "no words"), ("w " * 33, "33 words.*32"),
                                               ("hello", "1 word,.*at least 2")])
def test_an_empty_one_word_or_too_long_sentence_gets_a_clear_message(sentence, pattern):
    with pytest.raises(ValueError, match=pattern):
        parse_tokens(sentence)


def test_a_sentence_of_two_to_32_words_gives_one_token_per_word():
    assert parse_tokens("  the  cat ") == ("the", "cat")
    assert len(parse_tokens("w " * 32)) == 32
    assert parse_tokens("solo", min_tokens=1) == ("solo",)


def view(n, d_k, d_v, seed, **options):
    return attention_view(make_problem(n, d_k, d_v, seed), **options)


def test_saturated_rows_are_one_hot_by_the_logits_not_by_the_causal_mask():
    calm = view(6, 4, 2, 0, causal=True, scale=True)
    assert calm.weights[0, 0] == 1.0 and not calm.saturated_rows[0]  # sees one key only
    assert calm.single_key_rows.tolist() == [True] + [False] * 5
    assert not calm.saturated_rows.any()
    hot = view(6, 256, 2, 0, causal=True, scale=False)
    top = hot.weights.max(axis=1)
    np.testing.assert_array_equal(hot.saturated_rows, (top > 0.99) & (np.arange(6) > 0))
    assert hot.saturated_rows[1] and hot.saturated_rows[4]  # weights 0.99999… by the logits
    # unscaled logits at d_k = 256 saturate about half of 32 rows; scaling saturates none
    assert view(32, 256, 2, 0, scale=False).saturated_rows.sum() > 10
    assert not view(32, 256, 2, 0, scale=True).saturated_rows.any()


def test_attention_view_rows_sum_to_one_and_entropy_matches_scipy():
    v = view(7, 16, 4, 3, causal=True, temperature=0.8)
    np.testing.assert_allclose(v.row_sums, 1.0)
    assert np.all(v.weights[~v.mask] == 0.0)
    np.testing.assert_allclose(v.row_entropy, scipy.stats.entropy(v.weights, axis=1), atol=1e-12)
    np.testing.assert_allclose(v.jacobian_norms, np.linalg.norm(softmax_jacobian(v.weights), axis=(1, 2)),
                               atol=1e-15)


def test_query_row_jacobian_equals_central_differences_of_that_rows_softmax():
    v = view(6, 8, 3, 11, causal=True)
    row = query_row_jacobian(v, 4)
    z = v.logits[4]

    def s(x, i):
        return softmax(x, mask=v.mask[4])[i]

    numeric = np.array([numerical_gradient(lambda x, i=i: s(x, i), z) for i in range(6)])
    np.testing.assert_allclose(row.jacobian, numeric, atol=1e-8)
    np.testing.assert_allclose(np.diag(row.jacobian), row.diagonal)
    assert row.label == "4:t4" and not row.saturated and not row.single_key
    assert query_row_jacobian(v, 0).single_key
    with pytest.raises(ValueError, match="rows run 0 … 5"):
        query_row_jacobian(v, 6)


def test_a_saturated_rows_jacobian_is_bounded_by_twice_one_minus_its_largest_weight():
    """‖J‖_F ≤ trace J = 1 − Σ s² ≤ 2(1 − s_max): what the page says of a saturated row."""
    rng = np.random.default_rng(0)
    for spread in (0.1, 1.0, 5.0, 30.0):
        P = softmax(spread * rng.standard_normal((200, 7)))
        assert np.all(jacobian_frobenius_norm(P) <= 2 * (1 - P.max(axis=1)) + 1e-15)


def test_jacobian_norm_shortcut_equals_the_norm_of_the_explicit_jacobian():
    P = softmax(np.random.default_rng(0).normal(scale=3, size=(6, 9)))
    np.testing.assert_allclose(jacobian_frobenius_norm(P),
                               np.linalg.norm(softmax_jacobian(P), axis=(1, 2)), rtol=1e-12)
    n = 8  # uniform weights: ‖J‖_F² = (n − 1)/n²; one-hot: 0
    np.testing.assert_allclose(jacobian_frobenius_norm(np.full(n, 1 / n)), math.sqrt(n - 1) / n)
    assert jacobian_frobenius_norm(np.eye(3)[0]) == 0.0
    np.testing.assert_allclose(entropy(np.full(n, 1 / n)), math.log(n))


def test_sqrt_dk_sweep_shows_unscaled_softmax_saturating_and_scaled_staying_put():
    sweep = sqrt_dk_sweep(32, seed=0, d_k_values=(1, 16, 256), n_draws=20)
    # logit spread: ≈ √d_k without scaling, ≈ 1 with it
    np.testing.assert_allclose(sweep.logit_std.unscaled, np.sqrt([1, 16, 256]), rtol=0.1)
    np.testing.assert_allclose(sweep.logit_std.scaled, 1.0, rtol=0.1)
    np.testing.assert_allclose(sweep.key_norm, np.sqrt([1, 16, 256]), rtol=0.1)
    assert np.all(np.diff(sweep.entropy.unscaled) < 0)
    assert sweep.entropy.unscaled[-1] < 0.2 * sweep.entropy.scaled[-1]
    assert np.all(sweep.entropy.scaled <= sweep.max_entropy)
    assert sweep.jacobian_norm_median.unscaled[-1] < 0.1 * sweep.jacobian_norm_median.scaled[-1]
    assert sweep.saturated_fraction.unscaled[-1] > 0.3 > sweep.saturated_fraction.scaled[-1]


def test_the_unscaled_jacobian_is_not_monotone_in_d_k_at_n_32():
    """Issue 10: the median ‖J‖_F rises from d_k = 1 to 16 before it falls (0.21 → 0.34 → 0.016)."""
    for seed in range(5):
        J = sqrt_dk_sweep(32, seed=seed, d_k_values=(1, 16, 256)).jacobian_norm_median.unscaled
        assert J[1] > 1.3 * J[0] and J[2] < 0.1 * J[1], (seed, J)


def test_the_gate_to_a_query_is_the_norm_of_the_map_from_dp_to_dq():
    """c‖J_i K‖_F is the Frobenius norm of dp_i ↦ dq_i = c Kᵀ J_i dp_i, built column by column."""
    from calc_core.attention.sweep import gate_norms

    rng = np.random.default_rng(3)
    Q, K, c = rng.standard_normal((4, 5)), rng.standard_normal((6, 5)), 0.7
    P = softmax(c * Q @ K.T)
    for i in range(4):
        columns = [c * K.T @ softmax_jacobian(P[i]) @ e for e in np.eye(6)]
        np.testing.assert_allclose(gate_norms(P, K, c)[i], np.linalg.norm(np.array(columns)), rtol=1e-12)
