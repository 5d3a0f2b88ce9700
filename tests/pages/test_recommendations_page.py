"""The Recommendations page under AppTest: what it draws against calc_core's results, divergence,
uploads, reproducible links, and scrubbing through epochs. (Extremes, hostile links, Reset, lessons
and leaks are the catalog suite's, tests/pages/test_catalog.py.)"""

import re

import numpy as np
import pytest

from calc_core.recommender import lab
from calc_core.recommender.model import MatrixFactorization
from tests.pages.apptest_helpers import assert_clean, chart_rows, chart_titled, run_page

PAGE = "pages/1_Recommendations.py"
K = "Recommendations:"  # the page's session keys


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_defaults_draw_calc_cores_run_and_its_check():
    at = run_page(PAGE)
    assert_clean(at)
    result = lab.run(lab.Settings())
    assert metric(at, "Test RMSE") == f"{result.test_final:.3f}"
    assert metric(at, "Noise floor") == f"{result.noise_floor_rmse:.3f}"
    assert result.test_final < 0.6 * result.global_mean_rmse
    curve = chart_titled(at, "RMSE after each epoch")
    series = chart_rows(curve, "series")
    assert sum(r["series"] == "test RMSE" for r in series) == result.test_rmse.size
    np.testing.assert_allclose([r["y"] for r in series if r["series"] == "test RMSE"], result.test_rmse)
    assert {"global-mean baseline", "noise floor"} == {r["series"] for r in chart_rows(curve, "rules")}
    assert at.success and "Pass" in at.success[-1].value  # the live gradient check
    assert any("def sgd_epoch_python(" in code.value for code in at.code)  # the code that ran
    assert len(at.latex) >= 5


def test_divergence_is_explained_and_no_chart_is_left_blank():
    at = run_page(PAGE, {"lr": "0.5"})
    assert_clean(at)
    warning = " ".join(w.value for w in at.warning)
    assert "diverged" in warning and "η(2 + ‖p_u‖² + ‖q_i‖²)" in warning
    assert any("no finished epoch" in i.value for i in at.info)
    assert metric(at, "Global-mean baseline") != "nan"


def test_a_link_reproduces_the_run_moved_to_by_hand():
    query = {"lr": "0.02", "reg": "0.1", "factors": "7", "epochs": "15", "seed": "42", "users": "120"}
    linked = run_page(PAGE, query)
    assert_clean(linked)
    by_hand = run_page(PAGE)
    by_hand.select_slider(key=K + "lr").set_value(0.02)
    for key, value in (("reg", 0.1), ("factors", 7), ("epochs", 15), ("users", 120)):
        by_hand.slider(key=K + key).set_value(value)
    by_hand.number_input(key=K + "seed").set_value(42)
    by_hand.run()
    assert [m.value for m in linked.metric] == [m.value for m in by_hand.metric]
    assert dict(by_hand.query_params) == query


def test_moving_through_epochs_redraws_predictions_and_recommendations_without_retraining(monkeypatch):
    at = run_page(PAGE, {"epochs": "20"})
    end = chart_titled(at, "Test set: predicted vs true")
    calls = []
    original = MatrixFactorization.fit
    monkeypatch.setattr(MatrixFactorization, "fit", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    at.select_slider(key=K + "step").set_value(0).run()
    assert_clean(at)
    start = chart_titled(at, "Test set: predicted vs true")
    assert [r["y"] for r in chart_rows(start, "points")] != [r["y"] for r in chart_rows(end, "points")]
    marker = chart_rows(chart_titled(at, "RMSE after each epoch"), "marker")
    assert marker[0]["x"] == 0
    assert not calls, "a step move must read the cached run"
    assert at.query_params.get("step") == "0"


def _upload(content: bytes, name="ratings.csv"):
    at = run_page(PAGE, {"data": "upload"})
    at.file_uploader[0].set_value((name, content, "text/csv")).run()
    return at


def test_a_movielens_style_upload_trains_and_names_users_by_their_ids():
    rows = "".join(f"{100 + u}\t{500 + (u * 7 + k) % 40}\t{1 + (u + k) % 5}\t88125\n" for u in range(30) for k in range(8))
    at = _upload(rows.encode(), "u.data")
    assert_clean(at)
    assert float(metric(at, "Test RMSE")) > 0
    assert metric(at, "Noise floor") == "—"
    assert "100" in at.selectbox(key=K + "user").options


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"user,item,rating\n" + b"1,2,great\n" * 12, "not a number"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "UTF-8|binary"),
    (b"1:2\n" * 20, "three"),
    (b"".join(b"%d,%d,1e308\n" % (u, u % 3) for u in range(20)), "outside"),
])
def test_a_bad_upload_shows_an_error_and_the_page_keeps_working(content, message):
    at = _upload(content)
    assert not at.exception
    assert at.error and re.search(message, at.error[0].value), [e.value for e in at.error]
    at.radio(key=K + "data").set_value("synthetic").run()
    assert_clean(at)
    assert float(metric(at, "Test RMSE")) > 0


def test_upload_mode_without_a_file_asks_for_one():
    at = run_page(PAGE, {"data": "upload"})
    assert_clean(at)
    assert any("Upload a file" in i.value for i in at.info)


def test_a_page_that_stops_for_a_missing_file_keeps_the_keys_of_the_controls_it_did_not_reach():
    """?data=upload with no file yet stops the page above the controls drawn further down: their
    keys stay in the link for when the file arrives (only a page that drew every control drops keys)."""
    at = run_page(PAGE, {"data": "upload", "epochs": "7", "user": "3"})
    assert not at.exception
    assert dict(at.query_params) == {"data": "upload", "epochs": "7", "user": "3"}


@pytest.mark.parametrize("name", ["u1.base", "ratings", "export.CSV"])  # MovieLens 100k's splits, no extension
def test_a_ratings_file_is_read_by_its_content_whatever_its_name(name):
    rows = "".join(f"{u}\t{k}\t{1 + (u + k) % 5}\t88125\n" for u in range(30) for k in range(8))
    at = _upload(rows.encode(), name)
    assert_clean(at)
    assert float(metric(at, "Test RMSE")) > 0


def test_the_largest_lambda_the_diagnosis_knows_of_is_the_sliders():
    """The diagnosis advises more λ only below lab.REG_MAX: it must be the λ slider's top."""
    at = run_page(PAGE)
    reg = at.slider(key=K + "reg")
    assert reg.max == lab.REG_MAX and reg.min == 0.0


def test_a_page_stopped_by_its_message_still_offers_the_copy_link_box():
    waiting = run_page(PAGE, {"data": "upload", "epochs": "30"})  # stops at "Upload a file …"
    assert_clean(waiting)
    assert any("Upload a file" in i.value for i in waiting.info)
    links = [c.value for c in waiting.sidebar.code if "?" in c.value]
    assert links and "data=upload" in links[-1] and "epochs=30" in links[-1], links
    refused = _upload(b"\x89PNG\r\n\x1a\n not ratings at all", name="picture.png")  # stops at its error
    assert refused.error and not refused.exception
    assert any("data=upload" in c.value for c in refused.sidebar.code if "?" in c.value)
