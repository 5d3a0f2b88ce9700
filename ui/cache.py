"""Caching of calc_core calls: results keyed on the page's scalar settings."""

from __future__ import annotations

import streamlit as st

MAX_ENTRIES = 32  # a workshop room dragging sliders must not grow memory without bound


def cached(function=None, *, spinner: str | bool = False, max_entries: int = MAX_ENTRIES):
    """``st.cache_data`` with the lab's settings. Wrap pure calc_core functions whose arguments are
    scalars (or small bytes such as an upload): returning to an earlier setting is instant.

    Use as ``train = ui.cached(calc_core.x.train)`` or as a decorator, ``@ui.cached(spinner="…")``.
    """
    decorator = st.cache_data(max_entries=max_entries, show_spinner=spinner)
    return decorator if function is None else decorator(function)
