"""Charts of attention: the weight matrix, one query's weights and the Jacobian of its softmax, the
√d_k sweep, and the gradients to Q, K, V. Built on ui.charts.basic, bars and sweeps (which size
heatmaps themselves); titles carry no live numbers, so a rerun updates the data in place."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ui.charts.bars import bars
from ui.charts.basic import heatmap
from ui.charts.core import Rule
from ui.charts.sweeps import sweep

GRADIENT_COLUMNS = 32  # a gradient heatmap shows at most this many feature columns
# the colour bar under the cells, not beside them: three of these share a row, and at 1024 pixels the bar,
# the token labels and the axis titles left the cells 30 pixels of a 167-pixel chart
GRADIENT_LEGEND = {"orient": "bottom", "direction": "horizontal", "columns": 1, "gradientLength": 120,
                   "titleOrient": "left"}


def weights(weights_shown: np.ndarray, labels: Sequence[str]) -> dict | None:
    """P over keys (columns) and queries (rows), masked entries NaN (left blank), colours on [0, 1]."""
    return heatmap(weights_shown, x_labels=labels, y_labels=labels, x_title="key j", y_title="query i",
                   value_title="P_ij", domain=(0, 1), title="Attention weights P = softmax(c·QKᵀ)")


def query_weights(probabilities: np.ndarray, attends: np.ndarray, labels: Sequence[str]) -> dict | None:
    """One query's weights over the keys, masked keys greyed."""
    return bars(labels, probabilities, active=attends, inactive_label="masked", value_title="weight s_j = P_ij",
                category_title="key j", domain=(0, 1), title="One query's weights s_j", height=300)


def softmax_jacobian(jacobian: np.ndarray, labels: Sequence[str]) -> dict | None:
    """J = diag(s) − s sᵀ on one fixed red–blue scale: |J_ij| ≤ ¼ always."""
    return heatmap(jacobian, x_labels=labels, y_labels=labels, x_title="logit z_j", y_title="weight s_i",
                   diverging=True, value_format=".3f", value_title="∂s_i/∂z_j", domain=(-0.25, 0.25),
                   # two lines: in half a 1024-pixel page the one line was cut to "J = diag(s…"
                   title=["Softmax Jacobian", "J = diag(s) − s sᵀ, |J_ij| ≤ ¼"])


def sqrt_dk_sweep(s, current_d_k: int, top_label: str) -> list[tuple[str, dict | None]]:
    """The four charts of a calc_core.attention.sweep.SqrtDkSweep ``s``, as (export name, spec):
    entropy, share of saturated rows, median ‖J‖_F, and the gate to a query (log scale)."""
    both = {"÷ √d_k": "scaled", "no scaling": "unscaled"}
    charts = [
        ("sqrt_dk_entropy", "Mean row entropy", "nats", {k: getattr(s.entropy, v) for k, v in both.items()},
         [Rule(s.max_entropy, "log n (equal weights)")], False),
        ("sqrt_dk_saturated", "Share of saturated rows", "share of rows",
         {k: getattr(s.saturated_fraction, v) for k, v in both.items()}, [], False),
        ("sqrt_dk_jacobian", "Median ‖J‖_F of a row", "‖J‖_F",
         {k: getattr(s.jacobian_norm_median, v) for k, v in both.items()},
         [Rule(s.uniform_jacobian_norm, "√(n−1)/n (equal weights)")], False),
        ("sqrt_dk_gate", "Gate to a query, c‖J K‖_F", "c‖J K‖_F (log scale)",
         {"÷ √d_k, median": s.gate_median.scaled, "no scaling, median": s.gate_median.unscaled,
          top_label: s.gate_top.unscaled}, [], True),
    ]
    return [(export, sweep(s.d_k, series, x_title="d_k (log scale)", y_title=y_title, rules=rules, log_base=2,
                           log_y=log_y, current=current_d_k, current_label=f"your d_k = {current_d_k}",
                           title=f"{title} vs d_k"))
            for export, title, y_title, series, rules, log_y in charts]


def gradient(grad: np.ndarray, labels: Sequence[str], name: str) -> dict | None:
    """∂L/∂name over tokens (rows) and features (the first GRADIENT_COLUMNS), red–blue about 0. No
    numbers on the cells: three of these share a row, where eight numbers a row ran into each other
    (the pointer shows each value); the colour bar below them."""
    return heatmap(grad[:, :GRADIENT_COLUMNS], y_labels=labels, x_title="feature", y_title="token", diverging=True,
                   value_title=f"∂L/∂{name}", title=f"dL/d{name}", show_values=False, legend=GRADIENT_LEGEND)
