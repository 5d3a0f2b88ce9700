"""The Recommendations page under AppTest: defaults, extremes, divergence, uploads, deep links."""

import pytest

from tests.pages.apptest_helpers import assert_clean, chart_rows, chart_specs, exercise_extremes, run_page

PAGE = "pages/1_Recommendations.py"


def metric(at, label: str) -> float:
    return float(next(m.value for m in at.metric if m.label == label))


def test_defaults_train_a_model_that_beats_the_global_mean_and_nears_the_noise_floor():
    at = run_page(PAGE)
    assert_clean(at)
    test_rmse, baseline, floor = metric(at, "Test RMSE"), metric(at, "Global-mean baseline"), metric(at, "Noise floor")
    assert test_rmse < 0.6 * baseline and test_rmse < 1.25 * floor
    assert len(chart_specs(at)) >= 4  # learning curve, predicted vs true, top-5 bars, gradient check
    assert at.success and "Pass" in at.success[0].value  # the live gradient check
    assert any("_sgd_epoch" in code.value for code in at.code)  # the code that ran
    assert len(at.latex) >= 5


def test_learning_curve_chart_holds_one_point_per_epoch_per_series_and_the_reference_lines():
    at = run_page(PAGE, {"epochs": "12"})
    assert_clean(at)
    curve = next(s for s in chart_specs(at) if s.get("title") == "RMSE after each epoch")
    values = chart_rows(curve)
    assert sum(row.get("series") == "train RMSE" for row in values) == 12
    assert sum(row.get("series") == "test RMSE" for row in values) == 12
    assert {"global-mean baseline", "noise floor"} <= {row.get("series") for row in values}


def test_every_control_at_its_minimum_and_maximum_runs_cleanly():
    keys = exercise_extremes(PAGE, {"lr": (0.0005, 0.5)})
    assert {"users", "items", "density", "rank", "noise", "test", "reg", "factors", "epochs", "seed", "lr"} <= set(keys)


@pytest.mark.slow
def test_all_controls_at_their_maximum_together_run_cleanly():
    at = run_page(PAGE, {"users": "1000", "items": "1000", "density": "0.3", "rank": "10", "noise": "1.5",
                         "test": "0.5", "lr": "0.5", "reg": "1.0", "factors": "50", "epochs": "100", "seed": "9999"})
    assert not at.exception
    assert at.slider(key="users").value == 1000 and at.slider(key="factors").value == 50


def test_all_controls_at_their_minimum_together_run_cleanly():
    at = run_page(PAGE, {"users": "20", "items": "20", "density": "0.01", "rank": "1", "noise": "0.0",
                         "test": "0.1", "lr": "0.0005", "reg": "0.0", "factors": "1", "epochs": "1"})
    assert not at.exception and not at.error


def test_divergence_is_explained_and_no_chart_is_left_blank():
    at = run_page(PAGE, {"lr": "0.5"})
    assert not at.exception and not at.error
    warning = " ".join(w.value for w in at.warning)
    assert "diverged" in warning and "learning rate" in warning.lower()
    # the learning-curve slot says why it is empty instead of drawing an empty chart
    assert any("no finished epoch" in i.value for i in at.info)
    assert all(m.value != "nan" for m in at.metric if m.label == "Global-mean baseline")


def test_url_parameters_restore_the_settings_and_reproduce_the_run():
    query = {"lr": "0.02", "reg": "0.1", "factors": "7", "epochs": "15", "seed": "42", "users": "120"}
    linked = run_page(PAGE, query)
    assert_clean(linked)
    assert linked.select_slider(key="lr").value == 0.02
    assert linked.slider(key="reg").value == 0.1
    assert linked.slider(key="factors").value == 7 and linked.number_input(key="seed").value == 42
    by_hand = run_page(PAGE)
    by_hand.select_slider(key="lr").set_value(0.02)
    by_hand.slider(key="reg").set_value(0.1)
    by_hand.slider(key="factors").set_value(7)
    by_hand.slider(key="epochs").set_value(15)
    by_hand.slider(key="users").set_value(120)
    by_hand.number_input(key="seed").set_value(42)
    by_hand.run()
    assert [m.value for m in linked.metric] == [m.value for m in by_hand.metric]


@pytest.mark.parametrize("query", [
    {"lr": "abc", "reg": "-3", "users": "1e9", "density": "nan", "seed": "xyz", "data": "nonsense", "user": "zzz"},
    {"epochs": "", "factors": "2.5", "lr": "0.123456", "test": "[1,2]"},
])
def test_garbage_url_parameters_fall_back_to_defaults(query):
    at = run_page(PAGE, query)
    assert_clean(at)
    assert at.select_slider(key="lr").value == 0.03
    assert at.slider(key="reg").value == 0.05


def test_reset_button_restores_every_default():
    at = run_page(PAGE, {"lr": "0.1", "reg": "0.5", "seed": "3"})
    assert at.slider(key="reg").value == 0.5
    at.button[0].click().run()
    assert at.select_slider(key="lr").value == 0.03 and at.slider(key="reg").value == 0.05
    assert at.number_input(key="seed").value == 0


def _upload(content: bytes, name="ratings.csv"):
    at = run_page(PAGE, {"data": "Upload a file"})
    at.file_uploader[0].set_value((name, content, "text/csv")).run()
    return at


def test_a_movielens_style_upload_trains_and_names_users_by_their_ids():
    rows = "".join(f"{100 + u}\t{500 + (u * 7 + k) % 40}\t{1 + (u + k) % 5}\t88125\n" for u in range(30) for k in range(8))
    at = _upload(rows.encode(), "u.data")
    assert_clean(at)
    assert metric(at, "Test RMSE") > 0
    assert next(m.value for m in at.metric if m.label == "Noise floor") == "—"
    assert at.selectbox(key="user").value is not None
    assert "100" in at.selectbox(key="user").options


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"user,item,rating\n" + b"1,2,great\n" * 12, "not a number"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "UTF-8|binary"),
    (b"1;2\n" * 20, "three"),
])
def test_a_bad_upload_shows_an_error_and_the_page_keeps_working(content, message):
    at = _upload(content)
    assert not at.exception
    assert at.error and pytest.importorskip("re").search(message, at.error[0].value)
    at.radio(key="data").set_value("synthetic").run()
    assert_clean(at)
    assert metric(at, "Test RMSE") > 0


def test_upload_mode_without_a_file_asks_for_one():
    at = run_page(PAGE, {"data": "Upload a file"})
    assert_clean(at)
    assert any("Upload a file" in i.value for i in at.info)
