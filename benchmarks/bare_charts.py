"""The bare page of benchmarks/bare_page.py (eight sliders, one line of text) grown to a lab page's size,
for benchmarks/bench_pages: ``?charts=K&texts=N`` adds K line charts and N text elements. It is what
Streamlit itself costs for that many elements, before any of the lab's own work.

Each chart is sent the way the lab sends one (a Vega-Lite dict, its data a named table of 200 points
following slider 3), so a press on slider 3 updates every chart in place and never re-embeds it. The
texts come in threes, a heading and two columns of text below it (the lab's pages are laid out in
columns), the middle one showing slider 3's value.
"""

import numpy as np
import pandas as pd
import streamlit as st

LIMIT = 400


def count(name: str) -> int:
    try:
        return max(0, min(LIMIT, int(st.query_params.get(name, "0"))))
    except ValueError:
        return 0


values = [st.slider(f"Slider {n}", 0, 100, 50, key=f"s{n}") for n in range(8)]
st.write(f"sum = {sum(values)}")
x = np.linspace(0.0, 1.0, 200)
for k in range(count("charts")):
    curve = pd.DataFrame({"x": x, "y": np.sin(2 * np.pi * (x * (k + 1) + values[3] / 100.0))})
    st.vega_lite_chart({"datasets": {"curve": curve}, "data": {"name": "curve"}, "mark": "line", "height": 200,
                        "encoding": {"x": {"field": "x", "type": "quantitative"},
                                     "y": {"field": "y", "type": "quantitative"}}}, width="stretch")
texts = count("texts")
for k in range(0, texts, 3):
    st.markdown(f"#### Block {k // 3}")
    if k + 1 < texts:
        left, right = st.columns(2)
        left.markdown(f"Some words, **bold**, and slider 3 at {values[3] + k}.")
        if k + 2 < texts:
            right.caption(f"A caption under block {k // 3}.")
