"""The floor for benchmarks/bench_pages: a bare Streamlit page with eight sliders and one line of
text. A key press on it measures what any page pays for the round trip, the debounce and a rerun that
does nothing; the lab's pages are reported as ratios to it, measured in the same run."""

import streamlit as st

values = [st.slider(f"Slider {n}", 0, 100, 50, key=f"s{n}") for n in range(8)]
st.write(f"sum = {sum(values)}")
