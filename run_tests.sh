#!/usr/bin/env bash
# Run the whole test suite on this machine: makes .venv on first use, installs the pinned dev
# requirements and Debian's Chromium for the browser tests (when it can: as root or with sudo),
# then runs pytest. Extra arguments go to pytest, e.g. ./run_tests.sh tests/test_recommender.py
# Without Chromium the browser tests are skipped, except when CI is set: then they fail.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
# PyTorch is an independent autodiff reference for some tests (they skip without it). Only a CPU
# wheel already on this machine is used: PyPI's default torch is a CUDA build of several GB.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  wheel=$(ls /opt/wheels/torch-2.13.0+cpu-cp311-*.whl 2>/dev/null | head -n 1 || true)
  if [ -n "$wheel" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "$wheel"
  else
    echo "note: no local CPU wheel of torch; the tests that compare with it are skipped."
  fi
fi

# Debian packages for the browser tests (chromium) and the multi-process test (haproxy), when the
# machine lets us install them (as root or with passwordless sudo).
have_chromium() { [ -x /usr/bin/chromium ] || [ -n "${CHROMIUM_PATH:-}" ]; }
have_haproxy() { command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; }
if { ! have_chromium || ! have_haproxy; } && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO="no"; fi
  if [ "$SUDO" != "no" ]; then
    echo "Installing Debian's chromium and haproxy for the browser and multi-process tests…"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium haproxy >/dev/null
  fi
fi
have_chromium || echo "note: Chromium is not installed, so the browser tests will be skipped (on CI they fail)."
have_haproxy || echo "note: haproxy is not installed, so the multi-process test is skipped (on CI it fails)."

exec .venv/bin/python -m pytest "$@"
