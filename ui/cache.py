"""Caching of calc_core calls: results keyed on the page's settings, computed once for a whole room.

``st.cache_data`` remembers results (bounded by ``max_entries``) but does not stop two sessions
that miss at the same moment from both computing: thirty people opening the same link within two
seconds would train thirty times. :func:`cached` puts a *single flight* in front of it: concurrent
calls with equal arguments wait for the first one and take its result. The computation itself runs
in a worker process when there is one (``ui.workers``): the server's own thread only waits.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict

import streamlit as st

from ui import workers

MAX_ENTRIES = 16  # per cached function: a room dragging sliders must not grow memory without bound (16 × ≤ 4 MB of snapshots)
FLIGHT_MEMORY = 8  # results kept for waiters that arrive just after a computation finished
FLIGHT_SECONDS = 30.0


def single_flight(function):
    """``function`` such that concurrent calls with equal (hashable) arguments compute once."""
    guard = threading.Lock()
    locks: dict = {}
    recent: OrderedDict = OrderedDict()

    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            key = (args, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:  # unhashable arguments: no sharing, just compute
            return workers.run(function, *args, **kwargs)
        with guard:
            lock = locks.setdefault(key, threading.Lock())
        with lock:
            with guard:
                hit = recent.get(key)
            if hit is not None and time.monotonic() - hit[0] < FLIGHT_SECONDS:
                return hit[1]
            result = workers.run(function, *args, **kwargs)
            with guard:
                recent[key] = (time.monotonic(), result)
                recent.move_to_end(key)
                while len(recent) > FLIGHT_MEMORY:
                    old, _ = recent.popitem(last=False)
                    locks.pop(old, None)
            return result

    return call


def cached(function=None, *, spinner: str | bool = False, max_entries: int = MAX_ENTRIES):
    """``st.cache_data`` with the lab's settings, behind a single flight. Wrap pure calc_core
    functions whose arguments are a Settings dataclass or scalars (or small bytes such as an upload):
    returning to an earlier setting is instant, and a room asking for the same one computes it once.

    Use as ``run = ui.cached(calc_core.x.lab.run)`` or as a decorator, ``@ui.cached(spinner="…")``.
    """
    def wrap(f):
        shared = single_flight(f)
        # Streamlit keys a cache on the function's module, name and source: keep f's identity
        shared.__module__, shared.__qualname__ = f.__module__, f.__qualname__
        return st.cache_data(max_entries=max_entries, show_spinner=spinner)(shared)

    return wrap if function is None else wrap(function)
