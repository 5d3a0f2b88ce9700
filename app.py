"""Home page of the Calculus in ML Lab."""

import streamlit as st

import ui

st.set_page_config(page_title="Calculus in ML Lab", page_icon=":material/functions:", layout="wide")
ui.page.navigation()

st.title("Calculus in ML Lab")
st.markdown(
    """
Every model on these pages learns, or tracks, or attends, by following a derivative. Each page
takes one real application, lets you move its settings, and recomputes it on the spot, so you can
see what the gradient does when the learning rate is too large, when nothing regularizes, or when
the softmax saturates.

Three things sit side by side on every page: **the formula**, **the code that ran** to produce the
charts, and **a live gradient check** that compares the hand-derived gradient with finite
differences on your current settings. Every setting lives in the address bar, so a copied link
shows someone else exactly what you are looking at.
"""
)

st.subheader("Where calculus appears")
widths = [3, 3, 3]
header = st.columns(widths)
for column, title in zip(header, ["Application", "Calculus concept", "What it enables"]):
    column.markdown(f"**{title}**")
for app in ui.APPLICATIONS:
    name, concept, enables = st.columns(widths, vertical_alignment="center")
    if app.available:
        name.page_link(app.page, label=app.name, icon=app.icon)
    else:
        name.markdown(f":gray[{app.name} — coming]")
    name.caption(app.blurb)
    concept.markdown(app.concept)
    enables.markdown(app.enables)

st.divider()
st.caption(
    "The pattern is the same everywhere: to improve a model, ask how the result changes when each "
    "parameter changes a little, and step the other way. The lab's sources are plain numpy "
    "(`calc_core/`), tested against finite differences and independent libraries."
)
