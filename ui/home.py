"""The home page: what the lab is, a card per application, and the tutorial's table."""

from __future__ import annotations

import streamlit as st

from ui import workshop
from ui.catalog import APPLICATIONS, ROOT


def home() -> None:
    st.session_state["_lab_page"] = "Home"
    workshop.style()
    st.title("Calculus in ML Lab")
    st.markdown(
        "Every model here learns, tracks or attends by following a derivative. Each page takes one real "
        "application, lets you move its settings and recomputes it on the spot, so you can see what the "
        "gradient does when the learning rate is too large, when nothing regularizes, or when the softmax "
        "saturates.\n\nThree things come together on every page, one below the other: **the formula**, **the code that ran** to "
        "produce the charts, and **a live gradient check** that compares the hand-derived gradient with "
        "estimates from values of the function alone, at your settings. Each page has **lessons** — one click "
        "sets up a scenario — and a **presenter view** for a projector. Every setting lives in the address "
        "bar, so a copied link shows someone else exactly what you see.")
    available = [a for a in APPLICATIONS if a.available]
    # one row of columns per four cards: on a phone the columns stack, and a single row of four columns
    # filled in turn stacked them column by column (Recommendations, Sensor Fusion, NLP, …)
    slots = [column for start in range(0, len(available), 4) for column in st.columns(4)]
    for slot, app in zip(slots, available):
        with slot.container(border=True):
            if app.thumbnail and (ROOT / app.thumbnail).is_file():
                st.image(str(ROOT / app.thumbnail), width="stretch")
            st.page_link(app.page, label=app.name, icon=app.icon)
            st.caption(f"**{app.concept}.** {app.blurb}")
    st.subheader("Where calculus appears")
    st.table({"Application": [a.name for a in APPLICATIONS], "Calculus concept": [a.concept for a in APPLICATIONS],
              "What it enables": [a.enables for a in APPLICATIONS]})
    st.caption("The pattern is the same everywhere: to improve a model, ask how the result changes when each "
               "parameter changes a little, and step the other way. The sources are numpy and scipy, with a few "
               "loops compiled by numba (`calc_core/`), tested against finite differences and independent libraries.")
