"""Calculus in ML Lab: the entrypoint. The navigation comes from ui.catalog (one page per application)."""

import streamlit as st

from ui import workers
from ui.page import navigation

st.set_page_config(page_title="Calculus in ML Lab", page_icon=":material/functions:", layout="wide")
workers.start()  # once per server process: calc_core runs in worker processes (ui/workers.py)
navigation().run()
