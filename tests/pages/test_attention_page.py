"""The Attention page under AppTest: what it draws, checked against calc_core.attention's results —
weights, the chosen row's Jacobian, the √d_k sweep, the gradients, the check and the diagnosis —
sentences good and bad, the query row following the tokens, and links that reproduce the page.
(Extremes, hostile links, Reset, lessons and leaks are the catalog suite's, tests/pages/test_catalog.py.)"""

import re

import numpy as np
import pytest

from calc_core.attention import lab
from calc_core.common.gradcheck import summarize
from tests.pages.apptest_helpers import assert_clean, chart_rows, chart_titled, run_page

PAGE = "pages/2_Attention.py"
K = "Attention:"  # the page's session keys
EXPORTS = ("attention_weights", "query_weights", "softmax_jacobian", "sqrt_dk_entropy", "sqrt_dk_saturated",
           "sqrt_dk_jacobian", "sqrt_dk_gate", "grad_Q", "grad_K", "grad_V")


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def grid(spec, labels_rows, labels_cols=None) -> np.ndarray:
    """A heatmap's cells back as a matrix (NaN where no cell is drawn: masked)."""
    labels_cols = labels_cols if labels_cols is not None else labels_rows
    out = np.full((len(labels_rows), len(labels_cols)), np.nan)
    for row in chart_rows(spec, "cells"):
        out[list(labels_rows).index(row["row"]), list(labels_cols).index(row["col"])] = row["value"]
    return out


def series(spec, name: str) -> list[float]:
    return [r["y"] for r in chart_rows(spec, "series") if r["series"] == name]


def test_defaults_draw_calc_cores_run_its_check_and_the_code_that_ran():
    at = run_page(PAGE)
    assert_clean(at)
    result = lab.run(lab.Settings())
    assert metric(at, "Saturated rows") == "0 of 5"
    assert metric(at, "Logit factor c") == f"{result.view.logit_factor:.4g}"
    assert metric(at, "Loss L = ½‖O − Y‖²") == f"{result.backprop.loss:.4g}"
    for start in ("Attention weights", "One query's weights", "Softmax Jacobian", "Mean row entropy vs d_k",
                  "Median ‖J‖_F", "Share of saturated", "Gate to a query", "dL/dQ", "dL/dK", "dL/dV"):
        chart_titled(at, start)
    assert [s.value for s in at.success][0].startswith("**The weights are spread.**")
    assert "Pass" in at.success[-1].value and summarize(result.gradient_checks).verdict == "pass"
    assert any("48 of 120 coordinates" in m.value for m in at.markdown)  # the panel says how many were checked
    code = "\n".join(c.value for c in at.code)
    for function in ("def softmax(", "def softmax_jacobian(", "def softmax_backward(", "def attention_backward("):
        assert function in code
    assert len(at.latex) >= 7 and not at.warning


def test_every_chart_can_be_downloaded_as_csv_and_svg():
    at = run_page(PAGE)
    keys = {button.key.removeprefix(K) for button in at.get("download_button")}  # the kit may name the page
    assert keys == {f"{kind}:{name}" for name in EXPORTS for kind in ("csv", "svg")}


def test_weight_heatmap_holds_the_attention_weights_with_values_on_the_cells_and_rows_summing_to_one():
    at = run_page(PAGE)
    result = lab.run(lab.Settings())
    spec = chart_titled(at, "Attention weights")
    np.testing.assert_allclose(grid(spec, result.labels), result.view.weights, rtol=1e-12)
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rect", "text"]
    table = at.table[0].value
    np.testing.assert_allclose(table["row sum Σⱼ Pᵢⱼ"].astype(float), 1.0, rtol=1e-12)
    assert list(table["query"]) == [f"{i}:t{i}" for i in range(5)]


def test_large_heatmaps_leave_the_numbers_to_tooltips():
    at = run_page(PAGE, {"n": "17"})
    assert_clean(at)
    assert [layer["mark"]["type"] for layer in chart_titled(at, "Attention weights")["layer"]] == ["rect"]


def test_causal_mask_blanks_the_future_and_the_first_query_sees_only_itself():
    at = run_page(PAGE, {"causal": "true", "n": "6"})
    assert_clean(at)
    result = lab.run(lab.Settings(causal=True, seq_len=6))
    drawn = grid(chart_titled(at, "Attention weights"), result.labels)
    assert np.all(np.isnan(drawn[np.triu_indices(6, 1)]))  # masked: no cell, no "null" written on it
    assert len(chart_rows(chart_titled(at, "Attention weights"), "cells")) == 21
    np.testing.assert_allclose(drawn[np.tril_indices(6)], result.view.weights[np.tril_indices(6)], rtol=1e-12)
    assert any("Causal mask." in i.value and "exactly 0" in i.value for i in at.info)
    at.selectbox(key=K + "row").set_value("0:t0").run()
    assert "single key" in " ".join(m.value for m in at.markdown)
    assert np.all(grid(chart_titled(at, "Softmax Jacobian"), result.labels) == 0)


def test_jacobian_of_the_chosen_row_is_diag_s_minus_s_s_transpose_of_its_drawn_weights():
    at = run_page(PAGE, {"n": "7", "seed": "3"})
    at.selectbox(key=K + "row").set_value("2:t2").run()
    assert_clean(at)
    result = lab.run(lab.Settings(seq_len=7, seed=3))
    s = np.array([r["value"] for r in chart_rows(chart_titled(at, "One query's weights"), "bars")])
    np.testing.assert_allclose(s, result.view.weights[2], rtol=1e-12)
    J = grid(chart_titled(at, "Softmax Jacobian"), result.labels)
    np.testing.assert_allclose(np.diag(J), s * (1 - s), atol=1e-15)  # s_i (1 − s_i)
    off = ~np.eye(7, dtype=bool)
    np.testing.assert_allclose(J[off], -np.outer(s, s)[off], atol=1e-15)  # −s_i s_j
    np.testing.assert_allclose(J.sum(axis=1), 0, atol=1e-15)
    assert "[-0.25, 0.25]" in str(chart_titled(at, "Softmax Jacobian"))  # one fixed, symmetric colour scale
    assert lab.query_row(lab.Settings(seq_len=7, seed=3), 2).reading in [m.value for m in at.markdown]


def test_gradient_heatmaps_equal_the_runs_gradients_and_wide_ones_show_the_first_32_columns():
    at = run_page(PAGE, {"dk": "40", "dv": "3", "temp": "0.5"})
    assert_clean(at)
    b = lab.run(lab.Settings(d_k=40, d_v=3, temperature=0.5)).backprop
    labels = [f"{i}:t{i}" for i in range(5)]
    for name, grad in (("Q", b.dQ), ("K", b.dK), ("V", b.dV)):
        columns = [str(c) for c in range(min(32, grad.shape[1]))]
        np.testing.assert_allclose(grid(chart_titled(at, f"dL/d{name}"), labels, columns), grad[:, :32], rtol=1e-12)
    assert sum("The first 32 of 40 columns." == c.value for c in at.caption) == 2
    assert metric(at, "‖dV‖") == f"{np.linalg.norm(b.dV):.3g}"


def test_sqrt_dk_charts_hold_the_sweep_mark_the_current_d_k_and_say_what_it_shows():
    at = run_page(PAGE, {"dk": "100", "n": "32"})
    assert_clean(at)
    result = lab.run(lab.Settings(d_k=100, seq_len=32))
    sweep = result.sweep
    entropy = chart_titled(at, "Mean row entropy")
    assert chart_rows(entropy, "current") == [{"x": 100.0, "label": "your d_k = 100"}]
    np.testing.assert_allclose(series(entropy, "no scaling"), sweep.entropy.unscaled)
    np.testing.assert_allclose(series(entropy, "÷ √d_k"), sweep.entropy.scaled)
    assert entropy["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"
    jacobian = chart_titled(at, "Median ‖J‖_F")
    np.testing.assert_allclose(series(jacobian, "no scaling"), sweep.jacobian_norm_median.unscaled)
    gate = chart_titled(at, "Gate to a query")
    np.testing.assert_allclose(series(gate, "no scaling, median"), sweep.gate_median.unscaled)
    np.testing.assert_allclose(series(gate, "no scaling, 90% point"), sweep.gate_top.unscaled)
    assert result.sweep_lesson in [m.value for m in at.markdown]
    assert "rises" not in result.sweep_lesson or "peaks" in result.sweep_lesson
    assert re.search(r"median row's ‖J‖_F is [\d.]+ at d_k = 1, peaks at", result.sweep_lesson)


def test_unscaled_large_d_k_explains_the_saturation_and_the_check_does_not_fail():
    at = run_page(PAGE, {"scale": "false", "dk": "256"})
    assert_clean(at)
    result = lab.run(lab.Settings(scale=False, d_k=256))
    warning = " ".join(w.value for w in at.warning)
    assert "The softmax has saturated" in warning and "Divide by √d_k" in warning
    saturated = next(m for m in result.diagnosis if m.code == "saturated")
    assert saturated.why in warning
    assert metric(at, "Saturated rows") == f"{result.saturation.count} of 5"
    verdict = summarize(result.gradient_checks).verdict
    assert verdict != "fail" and not any("**Fail:**" in e.value for e in at.error)


def test_a_sentence_labels_the_tokens_and_sets_the_length():
    at = run_page(PAGE)
    at.text_input(key=K + "text").input("the cat sat on the mat").run()
    assert_clean(at)
    assert at.slider(key=K + "n").disabled
    tokens = ["0:the", "1:cat", "2:sat", "3:on", "4:the", "5:mat"]
    assert at.selectbox(key=K + "row").options == [lab.LAST_ROW_LABEL] + tokens
    assert at.selectbox(key=K + "row").value == lab.LAST_ROW  # the last row, whatever the tokens
    assert "Query `5:mat`" in " ".join(c.value for c in at.caption)
    assert {r["row"] for r in chart_rows(chart_titled(at, "Attention weights"), "cells")} == set(tokens)


def test_words_that_look_like_markdown_are_shown_as_plain_tokens():
    at = run_page(PAGE, {"text": "a :cat: sat $on$ the **mat** `x`"})
    assert_clean(at)
    options = at.selectbox(key=K + "row").options[1:]
    assert options[1] == "1::cat:" and options[6] == "6:`x`"
    reading = next(m.value for m in at.markdown if m.value.startswith("**Reading J.**"))
    quoted = re.findall(r"`([^`]*)`", reading)
    assert len(quoted) == 3 and all(q.replace("`", "") in [o.replace("`", "") for o in options] for q in quoted)
    assert ":cat:" not in re.sub(r"`[^`]*`", "", reading)  # only inside code spans: no emoji, no markup


@pytest.mark.parametrize("sentence, message", [("word " * 40, "40 words"), ("hello", "at least 2")])
def test_a_sentence_that_does_not_fit_gets_a_message_and_the_page_keeps_working(sentence, message):
    at = run_page(PAGE)
    at.text_input(key=K + "text").input(sentence).run()
    assert_clean(at)
    assert any(message in w.value and "not used" in w.value for w in at.warning)
    assert not at.slider(key=K + "n").disabled
    assert len(chart_rows(chart_titled(at, "Attention weights"), "cells")) == 25
    at.text_input(key=K + "text").input("").run()
    assert_clean(at)
    assert not at.warning


def test_a_link_reproduces_the_page_moved_to_by_hand():
    query = {"n": "7", "dk": "64", "dv": "3", "temp": "0.5", "seed": "3", "causal": "true", "scale": "false",
             "row": "2:t2"}
    linked = run_page(PAGE, query)
    assert_clean(linked)
    assert [linked.slider(key=K + k).value for k in ("n", "dk", "dv")] == [7, 64, 3]
    assert linked.select_slider(key=K + "temp").value == 0.5 and linked.number_input(key=K + "seed").value == 3
    assert linked.toggle(key=K + "causal").value and not linked.toggle(key=K + "scale").value
    assert linked.selectbox(key=K + "row").value == "2:t2"
    by_hand = run_page(PAGE)
    for key, value in (("n", 7), ("dk", 64), ("dv", 3)):
        by_hand.slider(key=K + key).set_value(value)
    by_hand.select_slider(key=K + "temp").set_value(0.5)
    by_hand.number_input(key=K + "seed").set_value(3)
    by_hand.toggle(key=K + "causal").set_value(True)
    by_hand.toggle(key=K + "scale").set_value(False)
    by_hand.run()
    by_hand.selectbox(key=K + "row").set_value("2:t2").run()
    assert [m.value for m in linked.metric] == [m.value for m in by_hand.metric]
    assert chart_titled(linked, "Softmax Jacobian")["datasets"] == chart_titled(by_hand, "Softmax Jacobian")["datasets"]
    assert dict(linked.query_params) == dict(by_hand.query_params)


def test_garbage_in_a_link_opens_the_defaults_and_the_last_row():
    at = run_page(PAGE, {"n": "abc", "dk": "-5", "dv": "1e9", "temp": "0.123", "seed": "x", "causal": "maybe",
                         "scale": "2", "row": "zzz"})
    assert_clean(at)
    assert [at.slider(key=K + k).value for k in ("n", "dk", "dv")] == [5, 8, 8]
    assert at.select_slider(key=K + "temp").value == 1.0 and at.number_input(key=K + "seed").value == 42
    assert not at.toggle(key=K + "causal").value and at.toggle(key=K + "scale").value
    assert at.selectbox(key=K + "row").value == lab.LAST_ROW


def test_the_query_row_falls_back_to_the_last_token_when_the_sequence_shrinks_below_it():
    at = run_page(PAGE, {"n": "10", "row": "8:t8"})
    assert at.selectbox(key=K + "row").value == "8:t8"
    at.slider(key=K + "n").set_value(5).run()
    assert_clean(at)
    assert at.selectbox(key=K + "row").value == lab.LAST_ROW and at.selectbox(key=K + "row").options[-1] == "4:t4"
    assert "Query `4:t4`" in " ".join(c.value for c in at.caption)
    bars = [r["value"] for r in chart_rows(chart_titled(at, "One query's weights"), "bars")]
    np.testing.assert_allclose(bars, lab.run(lab.Settings()).view.weights[4], rtol=1e-12)


def test_reset_puts_the_query_row_back_on_the_last_token_of_the_default_tokens():
    at = run_page(PAGE, {"n": "3", "row": "1:t1"})
    assert at.selectbox(key=K + "row").value == "1:t1"
    at.button(key=K + "reset").click().run()
    assert_clean(at)
    assert at.selectbox(key=K + "row").value == lab.LAST_ROW and at.selectbox(key=K + "row").options[-1] == "4:t4"
    assert "row" not in at.query_params and "Query `4:t4`" in " ".join(c.value for c in at.caption)


def test_every_lesson_puts_its_claim_on_the_page():
    for preset in lab.PRESETS:
        at = run_page(PAGE)
        next(w for w in at.get("button_group") if w.key == K + "lesson_choice").set_value(preset.name).run()
        assert_clean(at, preset.name)
        shown = " ".join(m.value for kind in (at.warning, at.info, at.success) for m in kind)
        result = lab.run(preset.apply(lab.Settings()))
        for message in result.diagnosis:
            assert message.title in shown, (preset.name, message.code)
        assert preset.lesson in shown


def test_the_copied_link_brings_back_a_sentence_with_spaces_ampersands_hashes_and_pluses():
    import urllib.parse

    sentence = "rock & roll #1 + more = 100%"
    at = run_page(PAGE, {"text": sentence})
    assert_clean(at)
    link = next(c.value for c in at.code if "?" in c.value and "text=" in c.value)
    assert " " not in link, link  # a pasted link stays one word in a chat
    opened = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query, keep_blank_values=True)
    assert opened == {key: [value] for key, value in at.query_params.items()} and opened["text"] == [sentence]
