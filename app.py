"""Calculus in ML Lab: the entrypoint. The navigation comes from ui.catalog (one page per application)."""

import streamlit as st

from ui import controls, workers, workshop
from ui.page import navigation

st.set_page_config(page_title="Calculus in ML Lab", page_icon=":material/functions:", layout="wide")
workers.start()  # once per server process: calc_core runs in worker processes (ui/workers.py)
navigation().run()
# only reached when the page drew every control it has (st.stop() after a message skips it, keeping
# the keys of the controls it did not reach): the link keeps only theirs
controls.tidy_url()
workshop.copy_link(st.sidebar)  # last: it reads the link as tidied
