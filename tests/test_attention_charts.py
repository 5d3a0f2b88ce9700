"""ui.charts.attention: every chart of the Attention page is valid Vega-Lite and holds calc_core's numbers,
at the defaults and at the extremes (one-hot rows, masked keys, tiny gates on a log axis, wide gradients)."""

import numpy as np
import pytest

from calc_core.attention import lab
from tests.vega_schema import rows, valid
from ui.charts import attention as views


@pytest.mark.parametrize("settings", [lab.Settings(), lab.Settings(causal=True, seq_len=32, d_k=256, d_v=64,
                                                                    scale=False, temperature=0.1)],
                         ids=["defaults", "largest-cold-unscaled-causal"])
def test_every_chart_is_valid_and_holds_the_runs_numbers(settings):
    r = lab.run(settings)
    weights = valid(views.weights(r.weights_shown, r.labels))
    drawn = {(row["row"], row["col"]): row["value"] for row in rows(weights, "cells")}
    assert len(drawn) == int(r.view.mask.sum())  # masked cells are not drawn
    q = lab.query_row(settings, r.n - 1)
    bars = valid(views.query_weights(q.jacobian.probabilities, q.jacobian.attends, r.labels))
    close = {"rtol": 1e-8, "atol": 1e-10}  # jsonable writes 10 decimal places
    np.testing.assert_allclose([row["value"] for row in rows(bars, "bars")], r.view.weights[-1], **close)
    valid(views.softmax_jacobian(q.jacobian.jacobian, r.labels))
    for export, spec in views.sqrt_dk_sweep(r.sweep, settings.d_k, "top"):
        spec = valid(spec)
        assert export.startswith("sqrt_dk_") and rows(spec, "current")[0]["x"] == settings.d_k
    gate = valid(dict(views.sqrt_dk_sweep(r.sweep, settings.d_k, "top"))["sqrt_dk_gate"])
    unscaled = [row["y"] for row in rows(gate, "series") if row["series"] == "no scaling, median"]
    np.testing.assert_allclose(unscaled, r.sweep.gate_median.unscaled[r.sweep.gate_median.unscaled > 0], **close)
    for name, grad in r.backprop.gradients.items():
        spec = valid(views.gradient(grad, r.labels, name))
        assert len(rows(spec, "cells")) == grad.shape[0] * min(grad.shape[1], views.GRADIENT_COLUMNS)
