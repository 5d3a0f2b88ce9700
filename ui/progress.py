"""Cached calls that show a progress bar while they run (training loops).

``ui.cached`` cannot hash a progress callback, and a callback writing to a placeholder made outside
the cached function breaks Streamlit's replay of cached elements. Here the cached function draws
its own bar with ``st.progress`` inside a slot the caller owns; Streamlit replays those calls into
the same slot on a cache hit, and the slot is emptied once the call returns — fresh run or cache
hit, no stale bar is left behind. The bar appears only when the call takes more than a moment.
"""

from __future__ import annotations

import functools
import time
from typing import Callable

import streamlit as st

from ui import workers
from ui.cache import MAX_ENTRIES, cached as cache

SHOW_AFTER = 0.3  # seconds: quicker calls draw no bar at all
STEPS = 20  # the bar moves in 5% steps: few elements to replay on a cache hit


def cached_with_progress(function: Callable, *, text: str, max_entries: int = MAX_ENTRIES) -> Callable:
    """Wrap ``function(*args, progress=callback, **kwargs)`` — whose ``callback(fraction)`` reports
    the fraction done — as a cached call keyed on the other arguments, with a progress bar.

    ``text`` labels the bar; ``{percent}`` in it is replaced by the percentage done.
    """

    def run(*args, **kwargs):
        started, bar, shown = time.monotonic(), None, -1

        def progress(fraction: float) -> None:
            nonlocal bar, shown
            step = int(max(0.0, min(1.0, fraction)) * STEPS)
            if step == shown or time.monotonic() - started < SHOW_AFTER:
                return
            shown = step
            label = text.format(percent=100 * step // STEPS)
            if bar is None:
                bar = st.progress(step / STEPS, text=label)
            else:
                bar.progress(step / STEPS, text=label)

        # in a worker when there is one: it reports the fractions, this thread draws the bar
        return workers.run(function, *args, progress=progress, **kwargs)

    # Streamlit keys a cache on the function's module, name and source: name it after ``function``
    # so that two wrapped functions never share a cache.
    run.__module__ = function.__module__
    run.__qualname__ = f"{function.__qualname__}__with_progress"
    cached = cache(run, max_entries=max_entries)

    @functools.wraps(function)
    def call(*args, **kwargs):
        slot = st.empty()
        try:
            with slot:
                return cached(*args, **kwargs)
        finally:
            slot.empty()

    call.clear = cached.clear
    return call
