"""Bar charts of one value per named category (a probability per token, a reward per action)."""

from __future__ import annotations

from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

BAR = "#1f77b4"
MUTED = "#c7c7c7"


def bars(categories: Sequence[str], values: Sequence[float], *, value_title: str,
         category_title: str | None = None, active: Sequence[bool] | None = None,
         inactive_label: str = "excluded", title: str | None = None, show_values: bool | None = None,
         value_format: str = ".3f", height: int = 220, domain: tuple[float, float] | None = None):
    """Vertical bars in the given order. ``active`` False greys a bar and says ``inactive_label``
    in its tooltip (a masked key); values are written above the bars when there are ≤ 12.
    ``height`` is the whole chart's, axis titles included (Streamlit fits the chart into it)."""
    categories = [str(c) for c in categories]
    values = np.asarray(values, dtype=float)
    if not categories or len(categories) != values.size or not np.any(np.isfinite(values)):
        return None
    active = np.ones(values.size, bool) if active is None else np.asarray(active, bool)
    data = pd.DataFrame({"category": categories, "value": values,
                         "status": np.where(active, "", inactive_label)})
    x = alt.X("category:N", title=category_title, sort=categories,
              axis=alt.Axis(labelAngle=0 if len(categories) <= 12 else -60, labelOverlap=True))
    y = alt.Y("value:Q", title=value_title, scale=alt.Scale(domain=list(domain)) if domain else alt.Undefined)
    base = alt.Chart().encode(x=x, y=y)
    layers = [base.mark_bar().encode(
        color=alt.Color("status:N", legend=None, scale=alt.Scale(domain=["", inactive_label], range=[BAR, MUTED])),
        tooltip=[alt.Tooltip("category:N", title=category_title or "category"),
                 alt.Tooltip("value:Q", title=value_title, format=".4g"), alt.Tooltip("status:N", title="note")])]
    if show_values if show_values is not None else len(categories) <= 12:
        layers.append(base.mark_text(dy=-4, baseline="bottom", fontSize=10).encode(
            text=alt.Text("value:Q", format=value_format)))
    # channel objects, data on the layer, no .properties() copies: fast to build (see ui/sweeps.py)
    return alt.layer(*layers, data=data, height=height, title=title or alt.Undefined)
