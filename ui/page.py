"""Page setup shared by every page: config, title and the sidebar's common parts."""

from __future__ import annotations

import streamlit as st

from ui.catalog import APPLICATIONS, Application, application

HOME = "app.py"


def setup_page(page_file: str) -> Application:
    """First Streamlit call of every page: config, title and one-line summary from ui.catalog.

    ``page_file`` is the page's path from the repository root, e.g. ``"pages/1_Recommendations.py"``.
    """
    app = application(page_file)
    st.set_page_config(page_title=f"{app.name} · Calculus in ML Lab", page_icon=app.icon, layout="wide")
    navigation()
    st.title(app.name)
    st.caption(f"**{app.concept}** → {app.enables.lower()}. {app.blurb}")
    return app


def sidebar_note() -> None:
    """The sidebar's closing note: how sharing works."""
    st.sidebar.caption(
        "Every control is stored in the address bar: copy the link to share exactly this run."
    )


def navigation() -> None:
    """The sidebar's page list (Streamlit's own is switched off in .streamlit/config.toml because it
    would call the home page "app")."""
    st.sidebar.page_link(HOME, label="Home", icon=":material/home:")
    for app in APPLICATIONS:
        if app.available:
            st.sidebar.page_link(app.page, label=app.name, icon=app.icon)
    st.sidebar.divider()
