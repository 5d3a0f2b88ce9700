"""The lab as served: Streamlit's ASGI app around the entrypoint script app.py.

`streamlit run streamlit_app.py` (what run_app.sh, deploy/serve_multi.sh and the browser tests run,
and Community Cloud's default main file) serves app.py exactly as `streamlit run app.py` does, plus
one piece of middleware: a link with a path below a page (/Attention/extra) is sent to the page
instead of Streamlit's blank page (ui/routing.py). app.py stays the script: AppTest and
`streamlit run app.py` still work, without that redirect.
"""

import streamlit as st
from starlette.middleware import Middleware

from ui.routing import DeepLinkRedirect

app = st.App("app.py", middleware=[Middleware(DeepLinkRedirect)])
