"""Friendly failure: a clear message on the page, never a traceback in front of an audience."""

from __future__ import annotations

import logging
from contextlib import contextmanager

import streamlit as st

logger = logging.getLogger("calculus_lab")


def _stop() -> None:
    from ui import workshop  # here: workshop imports the kit that imports this module

    workshop.stop()


@contextmanager
def guard(doing: str, *, stop: bool = True):
    """Run a block; turn a failure into a message and (by default) stop the page there.

    A ``ValueError`` is a problem with the settings or the data: its message, written for the user
    by calc_core, is shown as it is. Anything else is a bug: the page says so in one line and the
    traceback goes to the server log only. ``st.stop``/``st.rerun`` pass through (they are not
    ``Exception``\\ s).
    """
    try:
        yield
    except ValueError as exc:
        st.error(f"**Could not {doing}.** {exc}", icon=":material/error:")
        if stop:
            _stop()
    except Exception as exc:  # noqa: BLE001 - the last line of defence in front of an audience
        logger.exception("unexpected failure while trying to %s", doing)
        st.error(
            f"**Could not {doing}** — an unexpected {type(exc).__name__} ({exc}). Try other "
            "settings or *Reset all controls* in the sidebar; this has been logged.",
            icon=":material/error:",
        )
        if stop:
            _stop()
