"""The Convolution page's views on the chart kit: a kernel as value cells, and the learning curves with
the step a scrubber shows marked on them."""

from __future__ import annotations

import numpy as np

from ui.charts.basic import lines, matrix

LOSS_COLORS = ["#1f77b4", "#d62728"]  # the chosen η, the run past the stable limit


def kernel(values, scale: float | None = None) -> dict | None:
    """A kernel's entries on red–blue cells; ``scale`` fixes the colour limits ±scale (one scale for
    kernels compared side by side), and small kernels get larger cells — at most 112 pixels a side,
    without row and column numbers, so that it fits a fifth of the page."""
    values = np.asarray(values, dtype=float)
    return matrix(values, domain=None if scale is None else (-scale, scale), cell=max(14, 112 // max(values.shape)),
                  axes=False)


def _log_curve(x, series: dict, y_title: str, title: str, step: int, colors=None) -> dict | None:
    return lines(x, series, x_title="step t", y_title=y_title, log_y=True, colors=colors, height=280, title=title,
                 y_axis={"format": ".0e", "tickCount": 6}, marker=step, marker_label=f"step {step}")


def learning_curves(loss, too_high_loss, kernel_error, step: int, too_high_label: str) -> tuple[dict | None, ...]:
    """(the loss of both runs, the distance to the hidden kernel), on log axes, each marked at ``step``."""
    runs = {"chosen η": loss, too_high_label: too_high_loss}
    return (_log_curve(np.arange(max(len(loss), len(too_high_loss))), runs, "L(w_t), log scale",
                       "Loss ½‖x̃ ⋆ w_t − y*‖²", step, LOSS_COLORS),
            _log_curve(np.arange(len(kernel_error)), {"kernel error": kernel_error}, "max |w_t − w_true|",
                       "Distance to the hidden kernel", step))
