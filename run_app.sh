#!/usr/bin/env bash
# Start the Calculus in ML Lab on this machine: makes .venv on first use, installs the pinned
# runtime requirements, and serves the app (http://localhost:8501). Extra arguments go to
# `streamlit run`, e.g. ./run_app.sh --server.port 8600
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
exec .venv/bin/python -m streamlit run streamlit_app.py "$@"
