"""Shared test fixtures."""

import os

import pytest

# In-process tests (AppTest, calc_core) compute in the test's own process, where monkeypatching
# reaches: no worker pool. The servers the browser tests and benchmarks start get the default pool
# (tests/browser/conftest.py), and tests/test_workers.py starts one on purpose.
os.environ["LAB_WORKERS"] = "0"


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
