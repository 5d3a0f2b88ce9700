"""Checks of settings and inputs, shared by every application: one message style everywhere.

Each returns the value in a plain Python type or raises ValueError with a sentence written for the
person who chose the setting (the pages show it as it is). Whole numbers may arrive as 3, 3.0 or
np.int64(3); bools, NaN, ±inf and non-numbers are refused, never an OverflowError.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Sequence

import numpy as np


def _number(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def _bounds(name: str, number, minimum, maximum, strict_minimum: bool = False) -> None:
    if minimum is not None and (number <= minimum if strict_minimum else number < minimum):
        raise ValueError(f"{name} must be {'>' if strict_minimum else '≥'} {minimum:g}, got {number:g}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{name} must be ≤ {maximum:g}, got {number:g}")


def whole(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole number (3, 3.0, np.int64(3)) within [minimum, maximum], as an int."""
    try:
        number = _number(name, value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if not number.is_integer():
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    _bounds(name, number, minimum, maximum)
    return int(number)


def real(name: str, value, minimum: float | None = None, maximum: float | None = None, *,
         positive: bool = False) -> float:
    """A finite number within [minimum, maximum] (> 0 when ``positive``), as a float."""
    number = _number(name, value)
    if positive:
        _bounds(name, number, 0.0, maximum, strict_minimum=True)
    _bounds(name, number, minimum, maximum)
    return number


def seed(value, name: str = "seed") -> int:
    """A random seed: a whole number in [0, 2³² − 1]."""
    return whole(name, value, 0, 2**32 - 1)


def choice(name: str, value: Any, options: Sequence) -> Any:
    """One of ``options``."""
    if value not in options:
        raise ValueError(f"unknown {name} {value!r}; choose one of {list(options)}")
    return value


def finite_array(name: str, values, ndim: int | None = None, dtype=float) -> np.ndarray:
    """A non-empty array of finite numbers (of ``ndim`` dimensions when given)."""
    array = np.asarray(values)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool) \
            or np.iscomplexobj(array):
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    array = array.astype(dtype)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array
