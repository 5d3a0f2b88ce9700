"""Central-difference gradient checks.

For a scalar function f of an array x, the central difference along coordinate k is

    ∂f/∂x_k ≈ (f(x + h e_k) − f(x − h e_k)) / (2h)

with an error of order h² (plus rounding of order ε·|f|/h), so h ≈ 1e-6 in float64 agrees with a
correct analytic gradient to about 1e-8 relative error. The comparison uses

    rel_err(a, b) = ‖a − b‖ / max(‖a‖ + ‖b‖, tiny)

which is 0 for equal vectors, 1 for vectors of opposite sign or where one of them is zero, and does
not blow up when both are zero.

Every module's tests and every page's gradient-check panel use these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

DEFAULT_STEP = 1e-6
DEFAULT_TOLERANCE = 1e-6
TINY = 1e-12


def relative_error(a, b, tiny: float = TINY) -> float:
    """Relative error ‖a − b‖ / max(‖a‖ + ‖b‖, tiny) of two arrays of the same shape."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare gradients of shapes {a.shape} and {b.shape}")
    # rel_err = ‖a − b‖ / max(‖a‖ + ‖b‖, tiny)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), tiny))


def numerical_gradient(
    f: Callable[[np.ndarray], float],
    x,
    step: float = DEFAULT_STEP,
    indices=None,
) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        Maps an array shaped like ``x`` to a float. It receives a float64 copy of ``x``; ``x``
        itself is never modified.
    x : array_like
    step : float
        The step h of (f(x + h e_k) − f(x − h e_k)) / 2h.
    indices : array_like of int, optional
        Flat indices of the coordinates to differentiate (a sample, for large arrays). When given,
        the result is a 1-D array of the same length; otherwise it has ``x``'s shape.
    """
    if step <= 0:
        raise ValueError(f"the finite-difference step must be positive, got {step}")
    point = np.array(x, dtype=float, copy=True)
    flat = point.reshape(-1)
    coords = np.arange(flat.size) if indices is None else np.asarray(indices, dtype=int).reshape(-1)
    grad = np.empty(coords.size)
    for n, k in enumerate(coords):
        original = flat[k]
        flat[k] = original + step
        f_plus = float(f(point))
        flat[k] = original - step
        f_minus = float(f(point))
        flat[k] = original
        # ∂f/∂x_k ≈ (f(x + h e_k) − f(x − h e_k)) / 2h
        grad[n] = (f_plus - f_minus) / (2.0 * step)
    return grad.reshape(point.shape) if indices is None else grad


@dataclass(frozen=True)
class GradientCheck:
    """Analytic against numerical gradient on a set of coordinates of one parameter."""

    name: str
    indices: np.ndarray  # flat indices that were checked
    analytic: np.ndarray
    numeric: np.ndarray
    relative_error: float
    tolerance: float
    step: float = DEFAULT_STEP  # the h of the central differences

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.relative_error) and self.relative_error <= self.tolerance)

    @property
    def n_checked(self) -> int:
        return int(self.indices.size)


def sample_indices(size: int, max_coords: int | None, seed: int = 0) -> np.ndarray:
    """All flat indices of an array of ``size`` elements, or a seeded sample of ``max_coords``."""
    if max_coords is None or size <= max_coords:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).choice(size, size=max_coords, replace=False))


def check_gradient(
    f: Callable[[np.ndarray], float],
    x,
    analytic_grad,
    *,
    name: str = "x",
    step: float = DEFAULT_STEP,
    tolerance: float = DEFAULT_TOLERANCE,
    max_coords: int | None = None,
    seed: int = 0,
) -> GradientCheck:
    """Compare ``analytic_grad`` (shaped like ``x``) with central differences of ``f`` at ``x``."""
    x = np.asarray(x, dtype=float)
    analytic_grad = np.asarray(analytic_grad, dtype=float)
    if analytic_grad.shape != x.shape:
        raise ValueError(
            f"the analytic gradient of {name} has shape {analytic_grad.shape}, "
            f"but {name} has shape {x.shape}"
        )
    idx = sample_indices(x.size, max_coords, seed)
    numeric = numerical_gradient(f, x, step=step, indices=idx)
    analytic = analytic_grad.reshape(-1)[idx]
    return GradientCheck(name, idx, analytic, numeric, relative_error(analytic, numeric), tolerance, step)


def check_gradients(
    f: Callable[[Mapping[str, np.ndarray]], float],
    params: Mapping[str, np.ndarray],
    analytic: Mapping[str, np.ndarray],
    *,
    step: float = DEFAULT_STEP,
    tolerance: float = DEFAULT_TOLERANCE,
    max_coords: int | None = None,
    seed: int = 0,
) -> list[GradientCheck]:
    """Check the gradient of ``f(params)`` with respect to each named parameter array in turn.

    ``f`` takes a dict of arrays; while one parameter is perturbed the others stay at their values.
    Returns one :class:`GradientCheck` per parameter, in the order of ``params``.
    """
    missing = set(params) - set(analytic)
    if missing:
        raise ValueError(f"no analytic gradient given for {sorted(missing)}")
    base = {key: np.asarray(value, dtype=float) for key, value in params.items()}
    checks = []
    for n, (key, value) in enumerate(base.items()):

        def f_of_one(x, key=key):
            return f({**base, key: x})

        checks.append(
            check_gradient(
                f_of_one, value, analytic[key], name=key, step=step, tolerance=tolerance,
                max_coords=max_coords, seed=seed + n,
            )
        )
    return checks
