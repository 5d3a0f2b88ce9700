"""One BLAS thread for code that makes many small matrix products.

REINFORCE multiplies tall, thin matrices — (steps × 4) by (4 × H), (H × steps) by (steps × 2) —
hundreds of times a second. OpenBLAS splits each product over every core, and on a small, shared
machine (2 cores, a Streamlit server, other sessions) the threads spend longer waiting for each
other than computing: 600 episodes with 64 hidden units took 15–18 s with OpenBLAS's threads and
2–4 s with one thread, with identical results.

:func:`single_blas_thread` sets numpy's bundled OpenBLAS to one thread while a block runs and puts
the previous setting back when the last block running in the process ends (Streamlit runs each
session in its own thread). Without numpy's bundled OpenBLAS (another BLAS, another platform) it
does nothing.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

_lock = threading.Lock()
_active = 0
_previous: int | None = None


@lru_cache(maxsize=1)
def _openblas_controls():
    """(get_num_threads, set_num_threads) of numpy's bundled OpenBLAS, or None."""
    folder = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(folder, "libscipy_openblas*.so*"))):
        try:
            library = ctypes.CDLL(path)  # already loaded by numpy: the same handle
        except OSError:
            continue
        for suffix in ("64_", ""):
            get = getattr(library, f"scipy_openblas_get_num_threads{suffix}", None)
            set_ = getattr(library, f"scipy_openblas_set_num_threads{suffix}", None)
            if get is not None and set_ is not None:
                get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
                return get, set_
    return None


def blas_threads() -> int | None:
    """Threads numpy's OpenBLAS uses now (None when it cannot be controlled)."""
    controls = _openblas_controls()
    return None if controls is None else int(controls[0]())


@contextmanager
def single_blas_thread():
    """Run the block with one OpenBLAS thread; restore the previous count after the last block."""
    global _active, _previous
    controls = _openblas_controls()
    if controls is None:
        yield
        return
    get, set_ = controls
    with _lock:
        if _active == 0:
            _previous = int(get())
            set_(1)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _previous is not None:
                set_(_previous)


def use_one_thread() -> None:
    """One OpenBLAS thread for the rest of this process (a worker process of a pool, where the
    workers themselves are the parallelism)."""
    controls = _openblas_controls()
    if controls is not None:
        controls[1](1)
