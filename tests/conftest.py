"""Shared test fixtures."""

import pytest


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches():
    """st.cache_data is process-global: a result cached by one test must not leak into another."""
    try:
        import streamlit as st
    except ImportError:  # pragma: no cover
        yield
        return
    st.cache_data.clear()
    yield
    st.cache_data.clear()
