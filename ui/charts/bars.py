"""Bar charts of one value per named category (a probability per token, a reward per action)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ui.charts.core import MUTED, PALETTE, chart, field, layer, table


def bars(categories: Sequence[str], values: Sequence[float], *, value_title: str,
         category_title: str | None = None, active: Sequence[bool] | None = None,
         inactive_label: str = "excluded", title: str | None = None, show_values: bool | None = None,
         value_format: str = ".3f", height: int = 220, domain: tuple[float, float] | None = None) -> dict | None:
    """Vertical bars in the given order. ``active`` False greys a bar and says ``inactive_label``
    in its tooltip (a masked key); values are written above the bars when there are ≤ 12.
    ``height`` is the whole chart's, axis titles included (Streamlit fits the chart into it)."""
    categories = [str(c) for c in categories]
    values = np.asarray(values, dtype=float)
    if not categories or len(categories) != values.size or not np.any(np.isfinite(values)):
        return None
    active = np.ones(values.size, bool) if active is None else np.asarray(active, bool)
    data = table(category=categories, value=values, status=np.where(active, "", inactive_label))
    x = field("category", "nominal", title=category_title, sort=categories,
              axis={"labelAngle": 0 if len(categories) <= 12 else -60, "labelOverlap": True})
    y = field("value", title=value_title, **({"scale": {"domain": list(domain)}} if domain else {}))
    layers = [layer("bars", "bar", color=field("status", "nominal", legend=None,
                                               scale={"domain": ["", inactive_label], "range": [PALETTE[0], MUTED]}),
                    tooltip=[field("category", "nominal", title=category_title or "category"),
                             field("value", title=value_title, format=".4g"), field("status", "nominal", title="note")])]
    if show_values if show_values is not None else len(categories) <= 12:
        layers.append(layer("bars", {"type": "text", "dy": -4, "baseline": "bottom", "fontSize": 10},
                            text=field("value", format=value_format)))
    return chart(*layers, data={"bars": data}, title=title, height=height, encoding={"x": x, "y": y})
