"""The Attention page under AppTest: what it draws (checked against calc_core.attention.core, not against
the page's own helpers), every control at its extremes, sentences good and bad, deep links."""

import re

import numpy as np
import pytest

from calc_core.attention.core import attention_backward, causal_mask, scaled_dot_product_attention
from calc_core.attention.lab import make_problem
from tests.pages.apptest_helpers import assert_clean, chart_rows, chart_specs, exercise_extremes, run_page

PAGE = "pages/2_Attention.py"
MAX = {"n": "32", "dk": "256", "dv": "64", "temp": "10.0", "seed": "9999", "causal": "true", "scale": "false"}
MIN = {"n": "2", "dk": "1", "dv": "1", "temp": "0.1", "seed": "0", "causal": "false", "scale": "true"}


def chart(at, title_start: str) -> dict:
    return next(s for s in chart_specs(at) if str(s.get("title", "")).startswith(title_start))


def rows(spec) -> list[dict]:
    return chart_rows(spec)


def grid(spec, n_rows: int, n_cols: int) -> np.ndarray:
    """The heatmap's cells back as a matrix (row-major order, as the page drew them)."""
    cells = spec["layer"][0]["data"]["values"]  # the coloured cells
    assert len(cells) == n_rows * n_cols
    return np.array([np.nan if r["value"] is None else r["value"] for r in cells], float).reshape(n_rows, n_cols)


def reference(n=5, d_k=8, d_v=8, seed=42, causal=False, scale=True, temperature=1.0):
    """Weights and gradients straight from calc_core.attention.core on the seeded problem."""
    p = make_problem(n, d_k, d_v, seed)
    mask = causal_mask(n) if causal else None
    output, weights = scaled_dot_product_attention(p.Q, p.K, p.V, mask, scale, temperature)
    return weights, attention_backward(p.Q, p.K, p.V, output - p.target, mask, scale, temperature)


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_defaults_draw_every_panel_with_a_passing_gradient_check_and_the_code_that_ran():
    at = run_page(PAGE)
    assert_clean(at)
    titles = [str(s.get("title")) for s in chart_specs(at)]
    for start in ("Attention weights", "Query 4:t4", "Softmax Jacobian", "Mean row entropy", "Median ‖J‖_F",
                  "Share of saturated", "dL/dQ", "dL/dK", "dL/dV"):
        assert any(t.startswith(start) for t in titles), (start, titles)
    assert at.success and "Pass" in at.success[0].value
    code = "\n".join(c.value for c in at.code)
    for function in ("def softmax(", "def softmax_jacobian(", "def softmax_backward(", "def attention_backward("):
        assert function in code
    assert len(at.latex) >= 7
    assert metric(at, "Saturated rows") == "0 of 5"
    assert not at.warning


def test_weight_heatmap_holds_the_attention_weights_with_values_on_the_cells_and_rows_summing_to_one():
    at = run_page(PAGE)
    spec = chart(at, "Attention weights")
    weights, _ = reference()
    np.testing.assert_allclose(grid(spec, 5, 5), weights, rtol=1e-12)
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rect", "text"]
    table = at.dataframe[0].value
    np.testing.assert_allclose(table["row sum Σⱼ Pᵢⱼ"], 1.0, rtol=1e-12)
    assert list(table["query"]) == [f"{i}:t{i}" for i in range(5)]


def test_large_heatmaps_leave_the_numbers_to_tooltips():
    at = run_page(PAGE, {"n": "13"})
    assert_clean(at)
    assert [layer["mark"]["type"] for layer in chart(at, "Attention weights")["layer"]] == ["rect"]


def test_causal_mask_blanks_the_future_and_the_first_query_sees_only_itself():
    at = run_page(PAGE, {"causal": "true", "n": "6"})
    assert_clean(at)
    drawn = grid(chart(at, "Attention weights"), 6, 6)
    weights, _ = reference(n=6, causal=True)
    assert np.all(np.isnan(drawn[np.triu_indices(6, 1)]))
    spec = chart(at, "Attention weights")
    written = spec["layer"][1]["data"]["values"]  # what the text layer writes
    assert len(written) == 21 and np.all(np.isfinite([r["value"] for r in written]))  # no "null" on blank cells
    np.testing.assert_allclose(drawn[np.tril_indices(6)], weights[np.tril_indices(6)], rtol=1e-12)
    at.selectbox(key="row").set_value("0:t0").run()
    assert "single key" in " ".join(m.value for m in at.markdown)
    assert np.all(grid(chart(at, "Softmax Jacobian"), 6, 6) == 0)


def test_jacobian_of_the_chosen_row_is_diag_s_minus_s_s_transpose_of_its_drawn_weights():
    at = run_page(PAGE, {"n": "7", "seed": "3"})
    at.selectbox(key="row").set_value("2:t2").run()
    assert_clean(at)
    s = np.array([r["value"] for r in chart(at, "Query 2:t2")["layer"][0]["data"]["values"]])
    weights, _ = reference(n=7, seed=3)
    np.testing.assert_allclose(s, weights[2], rtol=1e-12)
    J = grid(chart(at, "Softmax Jacobian"), 7, 7)
    np.testing.assert_allclose(np.diag(J), s * (1 - s), atol=1e-15)  # s_i (1 − s_i)
    off = ~np.eye(7, dtype=bool)
    np.testing.assert_allclose(J[off], -np.outer(s, s)[off], atol=1e-15)  # −s_i s_j
    np.testing.assert_allclose(J.sum(axis=1), 0, atol=1e-15)
    assert "[-0.25, 0.25]" in str(chart(at, "Softmax Jacobian"))  # one fixed, symmetric colour scale


def test_gradient_heatmaps_equal_attention_backward_and_wide_ones_show_the_first_32_columns():
    at = run_page(PAGE, {"dk": "40", "dv": "3", "temp": "0.5"})
    assert_clean(at)
    _, (dQ, dK, dV) = reference(d_k=40, d_v=3, temperature=0.5)
    np.testing.assert_allclose(grid(chart(at, "dL/dQ (first 32 of 40"), 5, 32), dQ[:, :32], rtol=1e-10)
    np.testing.assert_allclose(grid(chart(at, "dL/dK (first 32 of 40"), 5, 32), dK[:, :32], rtol=1e-10)
    np.testing.assert_allclose(grid(chart(at, "dL/dV"), 5, 3), dV, rtol=1e-10)
    assert float(metric(at, "‖dV‖")) == pytest.approx(np.linalg.norm(dV), rel=1e-2)


def test_sqrt_dk_lesson_marks_the_current_d_k_and_shows_unscaled_attention_saturating():
    at = run_page(PAGE, {"dk": "100", "n": "32"})
    entropy = chart(at, "Mean row entropy")
    marker = next(r for r in rows(entropy) if "label" in r)
    assert marker == {"x": 100.0, "label": "your d_k = 100"}
    curve = {name: [r["y"] for r in rows(entropy) if r.get("series") == name] for name in ("÷ √d_k", "no scaling")}
    assert curve["no scaling"][-1] < 0.3 * curve["÷ √d_k"][-1]  # at d_k = 256
    assert entropy["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"
    jacobian = chart(at, "Median ‖J‖_F")
    unscaled = [r["y"] for r in rows(jacobian) if r.get("series") == "no scaling"]
    assert unscaled[-1] < 0.1 * unscaled[0]


def test_unscaled_large_d_k_explains_the_saturation_instead_of_failing():
    at = run_page(PAGE, {"scale": "false", "dk": "256"})
    assert_clean(at)
    warning = " ".join(w.value for w in at.warning)
    assert "saturated" in warning and "Divide by √d_k" in warning
    assert metric(at, "Saturated rows") == "5 of 5"
    assert at.success  # the gradient check still passes on saturated rows


def test_a_sentence_labels_the_tokens_and_sets_the_length():
    at = run_page(PAGE)
    at.text_input(key="text").input("the cat sat on the mat").run()
    assert_clean(at)
    assert at.slider(key="n").disabled
    assert at.selectbox(key="row").options == ["0:the", "1:cat", "2:sat", "3:on", "4:the", "5:mat"]
    assert at.selectbox(key="row").value == "5:mat"  # the picked row follows the new tokens
    assert {r["row"] for r in rows(chart(at, "Attention weights"))} == {"0:the", "1:cat", "2:sat", "3:on",
                                                                         "4:the", "5:mat"}


def test_words_that_look_like_markdown_are_shown_as_plain_tokens():
    at = run_page(PAGE, {"text": "a :cat: sat $on$ the **mat** `x`"})
    assert_clean(at)
    options = at.selectbox(key="row").options
    assert options[1] == "1::cat:" and options[6] == "6:`x`"
    reading = next(m.value for m in at.markdown if m.value.startswith("**Reading J.**"))
    quoted = re.findall(r"`([^`]*)`", reading)
    assert len(quoted) == 3 and all(q.replace("`", "") in [o.replace("`", "") for o in options] for q in quoted)
    assert ":cat:" not in re.sub(r"`[^`]*`", "", reading)  # only inside code spans: no emoji, no markup


@pytest.mark.parametrize("sentence, message", [("word " * 40, "40 words"), ("hello", "at least 2")])
def test_a_sentence_that_does_not_fit_gets_a_message_and_the_page_keeps_working(sentence, message):
    at = run_page(PAGE)
    at.text_input(key="text").input(sentence).run()
    assert not at.exception and not at.error
    assert any(message in w.value and "not used" in w.value for w in at.warning)
    assert not at.slider(key="n").disabled
    assert len(chart(at, "Attention weights")["layer"][0]["data"]["values"]) == 25
    at.text_input(key="text").input("").run()
    assert_clean(at)
    assert not at.warning


def test_every_control_at_its_minimum_and_maximum_runs_cleanly():
    keys = exercise_extremes(PAGE, {"temp": (0.1, 10.0)})
    assert {"n", "dk", "dv", "temp", "seed"} <= set(keys)


@pytest.mark.parametrize("query", [MAX, MIN, {**MAX, "temp": "0.1", "causal": "false"}, {**MIN, "scale": "false"}],
                         ids=["all-max", "all-min", "max-coldest", "min-unscaled"])
def test_all_controls_at_their_extremes_together_run_cleanly(query):
    at = run_page(PAGE, query)
    assert not at.exception and not at.error
    n = int(query["n"])
    assert len(chart(at, "Attention weights")["layer"][0]["data"]["values"]) == n * n
    assert at.success  # gradient check passes at the extremes too


def test_url_parameters_restore_the_settings_and_reproduce_the_page():
    query = {"n": "7", "dk": "64", "dv": "3", "temp": "0.5", "seed": "3", "causal": "true", "scale": "false",
             "row": "2:t2"}
    linked = run_page(PAGE, query)
    assert_clean(linked)
    assert (linked.slider(key="n").value, linked.slider(key="dk").value, linked.slider(key="dv").value) == (7, 64, 3)
    assert linked.select_slider(key="temp").value == 0.5 and linked.number_input(key="seed").value == 3
    assert linked.toggle(key="causal").value and not linked.toggle(key="scale").value
    assert linked.selectbox(key="row").value == "2:t2"
    by_hand = run_page(PAGE)
    for key, value in (("n", 7), ("dk", 64), ("dv", 3)):
        by_hand.slider(key=key).set_value(value)
    by_hand.select_slider(key="temp").set_value(0.5)
    by_hand.number_input(key="seed").set_value(3)
    by_hand.toggle(key="causal").set_value(True)
    by_hand.toggle(key="scale").set_value(False)
    by_hand.run()
    by_hand.selectbox(key="row").set_value("2:t2").run()
    assert [m.value for m in linked.metric] == [m.value for m in by_hand.metric]
    assert chart(linked, "Softmax Jacobian")["layer"] == chart(by_hand, "Softmax Jacobian")["layer"]


@pytest.mark.parametrize("query", [
    {"n": "abc", "dk": "-5", "dv": "1e9", "temp": "0.123", "seed": "x", "causal": "maybe", "scale": "2", "row": "zzz"},
    {"n": "40", "dk": "", "temp": "[1]", "row": "99:t99", "seed": "-1"},
])
def test_garbage_url_parameters_fall_back_to_defaults(query):
    at = run_page(PAGE, query)
    assert_clean(at)
    assert (at.slider(key="n").value, at.slider(key="dk").value, at.slider(key="dv").value) == (5, 8, 8)
    assert at.select_slider(key="temp").value == 1.0 and at.number_input(key="seed").value == 42
    assert not at.toggle(key="causal").value and at.toggle(key="scale").value
    assert at.selectbox(key="row").value == "4:t4"


def test_the_query_row_falls_back_to_the_last_token_when_the_sequence_shrinks_below_it():
    at = run_page(PAGE, {"n": "10", "row": "8:t8"})
    assert at.selectbox(key="row").value == "8:t8"
    at.slider(key="n").set_value(5).run()
    assert_clean(at)
    assert at.selectbox(key="row").value == "4:t4"
    assert str(chart(at, "Query ")["title"]).startswith("Query 4:t4")


def test_reset_button_restores_every_default():
    at = run_page(PAGE, {"n": "9", "dk": "100", "scale": "false", "seed": "7", "text": "a b c"})
    at.button[0].click().run()
    assert_clean(at)
    assert (at.slider(key="n").value, at.slider(key="dk").value) == (5, 8)
    assert at.toggle(key="scale").value and at.number_input(key="seed").value == 42
    assert at.text_input(key="text").value == ""
