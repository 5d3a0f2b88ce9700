"""numba where a hot loop earns it, and the same code as plain Python where numba is missing.

``compile(function)`` compiles with ``cache=True`` (the machine code is kept on disk, so only the
first run after an install pays for it) and ``nogil=True`` (two sessions' loops run on two cores).
"""

from __future__ import annotations

try:
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - numba is in requirements.txt
    HAVE_NUMBA = False


def compile(function=None, *, fastmath=False):  # noqa: A001 - reads as what it does
    """``njit(cache=True, nogil=True, fastmath=…)`` or, without numba, the function itself.
    Usable as ``compile(f)`` or as ``@compile(fastmath={...})``."""
    def wrap(f):
        return njit(cache=True, nogil=True, fastmath=fastmath)(f) if HAVE_NUMBA else f
    return wrap if function is None else wrap(function)


def python_source_of(function):
    """The Python function behind a compiled one (what the pages show as the code that ran)."""
    return getattr(function, "py_func", function)
