r"""Gradient checks with an honest verdict: pass, fail, or too flat to check at this precision.

A hand-derived gradient g_a of a scalar function f is compared with a derivative-free estimate
g_n made from values of f alone. Every comparison carries an error bar, because the estimate is
only as good as the arithmetic allows:

* **Rounding.** Each value of f is rounded to about δ_f = c·ε·F (ε the unit round-off, F the size
  of f or of the terms it sums), so a difference quotient with step h is uncertain by ≈ δ_f / h.
  With f ≈ 24 and a true slope of 6·10⁻¹¹ a step of 10⁻⁵ moves f by 6·10⁻¹⁶, less than one
  rounding step of f: the plain central difference reads exactly 0.
* **Truncation.** (f(x + h) − f(x − h)) / 2h = f′(x) + f‴(x) h²/6 + …, which a large h inflates.

Both are handled per coordinate by Ridders' extrapolation: central differences at a decreasing
sequence of steps h₀, h₀/1.4, …, extrapolated to h → 0 (a Neville tableau), which returns the
estimate and an error estimate from the tableau itself, floored at the rounding error δ_f / h
(Ridders 1982; Press et al., *Numerical Recipes*, §5.7, ``dfridr``). The steps start large
(a tenth of the coordinate's scale), so even a slope of 10⁻¹¹ is resolved where a fixed h = 10⁻⁶
would see nothing. Where f can be evaluated in extended precision (np.longdouble, about three more
digits), every estimate is made that way.

Besides single coordinates (all of them for a small parameter; otherwise the largest analytic
entries, a sample of every structurally different group the caller names, and a random sample),
the whole gradient is checked along two directions through *all* coordinates: along g_a itself
(f must grow at the rate ‖g_a‖ along g_a/‖g_a‖) and along a random unit vector. So a wrong entry
is caught even where no single coordinate was sampled.

The verdict for one parameter, with e the error bars (of the estimate, and the analytic gradient's
own rounding), κ = FAIL_MARGIN = 10, τ = DEFAULT_TOLERANCE = 10⁻⁶ and

    rel = ‖g_a − g_n‖ / (‖g_a‖ + ‖g_n‖),        resolution = ‖e‖ / (‖g_a‖ + ‖g_n‖):

* **fail** — a coordinate or a direction disagrees by more than κ times its error bar plus τ of
  its size, or rel > max(τ, κ·resolution): the difference is real, not rounding;
* **pass** — nothing disagrees and the estimates are good to RESOLUTION_NEEDED = 10⁻⁶
  (resolution ≤ 10⁻⁶, both directions too), so rel ≤ 10⁻⁵: a gradient wrong by 10⁻⁴ relative
  (rel = 5·10⁻⁵) never passes, and one with a coordinate's sign flipped fails on that coordinate;
* **flat** — nothing disagrees, but the estimates are too uncertain to tell a right gradient from
  a slightly wrong one: "too flat to check at this precision", said with the numbers.

``relative_error`` and ``numerical_gradient`` (a plain central difference) remain for tests and
quick checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

DEFAULT_STEP = 1e-6  # the h of numerical_gradient's plain central difference
DEFAULT_TOLERANCE = 1e-6  # τ: the relative difference a comparison may show on top of its error bar
RESOLUTION_NEEDED = 1e-6  # a pass needs estimates good to this relative error (so it sees 1e-5)
FAIL_MARGIN = 10.0  # κ: a difference counts as real only beyond κ × its error bar
ROUNDING_ULPS = 16.0  # δ_f = ROUNDING_ULPS · ε · F: the rounding of one value of f
ANALYTIC_ULPS = 1e3  # the analytic gradient's own rounding, as a multiple of ε · its scale
START_FRACTION = 0.1  # h₀ = START_FRACTION × the coordinate's scale
RIDDERS_SHRINK = 1.4
RIDDERS_STEPS = 10
RIDDERS_SAFE = 2.0
SHRINK_LEVELS = 4  # a pair too uncertain for a pass starts again from h₀/8, at most this many times
TINY = 1e-12
VERDICTS = ("pass", "fail", "flat")


def scaled_norm(v) -> float:
    """‖v‖ without underflow or overflow: max|v| · ‖v / max|v|‖. np.linalg.norm squares the entries, so
    a gradient of 10⁻¹⁸⁰ has norm 0 there (and one of 10¹⁶⁰ norm inf)."""
    v = np.abs(np.asarray(v, dtype=float).reshape(-1))
    top = float(np.max(v)) if v.size else 0.0
    if top == 0.0 or not np.isfinite(top):
        return top
    return top * float(np.linalg.norm(v / top))


def rms(v) -> float:
    """The root mean square of v, without underflow or overflow (as :func:`scaled_norm`)."""
    v = np.asarray(v, dtype=float).reshape(-1)
    return scaled_norm(v) / np.sqrt(v.size) if v.size else 0.0


def relative_error(a, b, tiny: float = TINY) -> float:
    """Relative error ‖a − b‖ / max(‖a‖ + ‖b‖, tiny) of two arrays of the same shape."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare gradients of shapes {a.shape} and {b.shape}")
    # rel_err = ‖a − b‖ / max(‖a‖ + ‖b‖, tiny)
    return float(scaled_norm(a - b) / max(scaled_norm(a) + scaled_norm(b), tiny))


def numerical_gradient(f: Callable[[np.ndarray], float], x, step: float = DEFAULT_STEP,
                       indices=None) -> np.ndarray:
    """Plain central-difference gradient (f(x + h e_k) − f(x − h e_k)) / 2h of ``f`` at ``x``.

    ``indices`` (flat) restricts it to those coordinates and returns a 1-D array; ``x`` is never
    modified. For a check with error bars use :func:`check_gradient`.
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


# ----------------------------------------------------------------------------- one derivative

def ridders_derivative(g: Callable[[float], float], h0: float, f_scale: float, eps: float = np.finfo(float).eps,
                       noise: float = 0.0) -> tuple[float, float, float, float]:
    """g′(0) of a scalar function of one variable by Ridders' extrapolation of central differences.

    Returns (estimate, error bar, smallest step used, rounding floor). The error bar is the
    tableau's own error estimate, never below the rounding floor δ_g / h of the step the estimate
    came from, where δ_g = max(ROUNDING_ULPS · ε · max(|g|, f_scale), noise, ROUNDING_ULPS · the
    smallest normal float64).
    """
    table = np.zeros((RIDDERS_STEPS, RIDDERS_STEPS), dtype=np.longdouble)
    best, error, best_h = np.nan, np.inf, h0
    largest = f_scale
    h = h0
    for i in range(RIDDERS_STEPS):
        plus, minus = g(h), g(-h)
        if not (np.isfinite(plus) and np.isfinite(minus)):
            if i == 0:  # outside the domain: start again closer in
                return ridders_derivative(g, h0 / 100, f_scale, eps, noise) if h0 > 1e-12 else (np.nan, np.inf, h0, np.inf)
            break
        largest = max(largest, abs(plus), abs(minus))
        # (g(h) − g(−h)) / 2h
        table[0, i] = (np.longdouble(plus) - np.longdouble(minus)) / (2 * np.longdouble(h))
        factor = RIDDERS_SHRINK**2
        for j in range(1, i + 1):
            # Neville: a_{j,i} = (a_{j−1,i} f − a_{j−1,i−1}) / (f − 1),  f = shrink^{2j}
            table[j, i] = (table[j - 1, i] * factor - table[j - 1, i - 1]) / (factor - 1)
            factor *= RIDDERS_SHRINK**2
            change = max(abs(table[j, i] - table[j - 1, i]), abs(table[j, i] - table[j - 1, i - 1]))
            if change <= error:
                best, error, best_h = table[j, i], change, h
        if i == 0:
            best, error, best_h = table[0, 0], np.inf, h
        elif abs(table[i, i] - table[i - 1, i - 1]) >= RIDDERS_SAFE * error:
            break  # higher orders only get worse: rounding has taken over
        h /= RIDDERS_SHRINK
    # (never below the smallest normal number: a value of f, or a change of f, below it has lost its digits
    # to underflow, as f(x + h) − f(x) does for a slope of 10⁻¹⁸⁷ and a step of 10⁻¹⁸⁸)
    rounding = max(ROUNDING_ULPS * eps * largest, noise, ROUNDING_ULPS * np.finfo(float).tiny) / best_h
    return float(best), float(max(error, rounding)), float(best_h), float(rounding)


# ----------------------------------------------------------------------------- the check

@dataclass(frozen=True)
class DirectionCheck:
    """∇f · d against the derivative of f along the unit vector d through every coordinate."""

    along: str  # "the analytic gradient" or "a random direction"
    analytic: float
    numeric: float
    error_bound: float
    analytic_part: float = 0.0  # of the error bound: the analytic gradient's own rounding
    rounding_part: float = 0.0  # of the error bound: the rounding of the values of f (δ_f / h)


@dataclass(frozen=True)
class GradientCheck:
    """The analytic gradient of one parameter against derivative-free estimates, with the verdict."""

    name: str
    size: int  # coordinates the parameter has
    indices: np.ndarray  # flat indices checked one at a time
    analytic: np.ndarray  # analytic gradient at those indices
    numeric: np.ndarray  # Ridders' estimates there
    error_bound: np.ndarray  # error bar of each comparison (estimate and analytic rounding)
    directions: tuple[DirectionCheck, ...]
    relative_error: float  # ‖g_a − g_n‖ / (‖g_a‖ + ‖g_n‖) over the single coordinates
    resolution: float  # the smallest relative error this check could have seen
    verdict: str  # "pass", "fail" or "flat"
    reason: str  # one sentence, with the numbers
    precision: str  # "float64" or "extended" (np.longdouble values of f)
    step: float  # the largest first step h₀ used
    tolerance: float = DEFAULT_TOLERANCE
    worst_index: int | None = None  # flat index of the worst single coordinate
    evaluations: int = 0  # values of f computed

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def failed(self) -> bool:
        return self.verdict == "fail"

    @property
    def zero_by_hand(self) -> bool:
        """The whole gradient is 0 by hand (every coordinate checked, and the random direction's slope)."""
        return not np.any(self.analytic) and all(d.analytic == 0 for d in self.directions)

    @property
    def n_checked(self) -> int:
        return int(self.indices.size)


def sample_indices(size: int, max_coords: int | None, seed: int = 0) -> np.ndarray:
    """All flat indices of an array of ``size`` elements, or a seeded sample of ``max_coords``."""
    if max_coords is None or size <= max_coords:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).choice(size, size=max_coords, replace=False))


def choose_indices(analytic: np.ndarray, max_coords: int | None, seed: int = 0,
                   groups: Sequence[np.ndarray] = ()) -> np.ndarray:
    """Coordinates to check one by one: all of them when there are at most ``max_coords``;
    otherwise the largest quarter by |analytic|, a share of every group in ``groups`` (flat index
    arrays of structurally different parts: masked keys, pixels no window reads, …) and a seeded
    random sample for the rest."""
    size = analytic.size
    if max_coords is None or size <= max_coords:
        return np.arange(size)
    rng = np.random.default_rng(seed)
    magnitude = np.abs(analytic.reshape(-1))
    top = max(1, max_coords // 4)
    largest = np.argpartition(-magnitude, top - 1)[:top] if top < size else np.arange(size)
    chosen: list[int] = list(largest)
    groups = [np.asarray(g, dtype=int).reshape(-1) for g in groups if np.size(g)]
    per_group = max(1, max_coords // (4 * max(1, len(groups)))) if groups else 0
    for group in groups:
        chosen += list(rng.choice(group, size=min(per_group, group.size), replace=False))
    taken = np.zeros(size, dtype=bool)
    taken[np.asarray(chosen, dtype=int)] = True
    missing = max_coords - int(taken.sum())
    if missing > 0:
        rest = np.flatnonzero(~taken)
        taken[rng.choice(rest, size=min(missing, rest.size), replace=False)] = True
    return np.flatnonzero(taken)


def coordinate_scales(x: np.ndarray) -> np.ndarray:
    """The size s_k of each coordinate that its first step is a tenth of: |x_k|, but at least a
    hundredth of the parameter's RMS (and 1 for an all-zero parameter)."""
    size = rms(x)  # not sqrt(mean(x²)): that is 0 for entries below 10⁻¹⁵⁴, and the steps were then 10⁻³
    size = size if np.isfinite(size) and size > 0 else 1.0
    return np.maximum(np.abs(x), 0.01 * size)


def check_gradient(
    f: Callable[[np.ndarray], float],
    x,
    analytic_grad,
    *,
    name: str = "x",
    step=None,
    tolerance: float = DEFAULT_TOLERANCE,
    max_coords: int | None = 64,
    seed: int = 0,
    groups: Sequence[np.ndarray] = (),
    f_scale: float = 0.0,
    analytic_error=None,
    analytic_scale: float = 0.0,
    extended: Callable[[np.ndarray], float] | None = None,
) -> GradientCheck:
    """Check ``analytic_grad`` (shaped like ``x``) against derivative-free estimates from ``f``.

    Parameters
    ----------
    f : callable
        The scalar function, of an array shaped like ``x`` (it receives a fresh array). It may
        also return the *change* f(x′) − f(x), computed from the perturbation so that it is exact
        to rounding of its own size: a difference quotient then keeps its digits however large f is.
    step : float or array, optional
        First step h₀ (per coordinate, or one for all); default START_FRACTION × coordinate_scales(x).
    max_coords : int or None
        Coordinates checked one by one (all when the parameter has no more); see
        :func:`choose_indices`. Two directional checks through every coordinate come on top.
    groups : sequence of index arrays
        Structurally different parts of the parameter the sample must reach.
    f_scale : float
        The size of the terms f is made of, when it is far above |f| (a sum of large terms that
        cancel; a log-probability near 0 made of O(1) logits): the rounding of f is ε·f_scale, not
        ε·|f|, and the backward pass's is ε·f_scale per unit (the parameter's RMS) of the coordinates.
    analytic_error : array or float, optional
        Known rounding error of the analytic gradient (per coordinate or one for all), added to the
        error bars on top of ANALYTIC_ULPS·ε times its largest entry.
    analytic_scale : float
        The largest entry of the whole gradient this parameter is part of: a backward pass rounds
        each entry to about ε times the sizes it was computed from (tanh′ = 1 − h² of a saturated
        unit loses every digit relative to itself), so without ``analytic_error`` the analytic floor
        is ANALYTIC_ULPS·ε times the larger of this and the parameter's own largest entry.
    extended : callable, optional
        f evaluated in extended precision (np.longdouble in and out). When given, every
        derivative-free estimate is made with it: about three more digits, so even a slope
        10¹² times smaller than f is resolved.
    """
    x = np.asarray(x, dtype=float)
    analytic_grad = np.asarray(analytic_grad, dtype=float)
    if analytic_grad.shape != x.shape:
        raise ValueError(f"the analytic gradient of {name} has shape {analytic_grad.shape}, "
                         f"but {name} has shape {x.shape}")
    flat_x, flat_a = x.reshape(-1), analytic_grad.reshape(-1)
    indices = choose_indices(flat_a, max_coords, seed, groups)
    scales = coordinate_scales(flat_x)
    first = (START_FRACTION * scales if step is None else
             np.broadcast_to(np.asarray(step, dtype=float).reshape(-1) if np.size(step) > 1 else
                             np.asarray(step, dtype=float).reshape(()), flat_x.shape))
    counter = [0]
    eps64, eps_ext = float(np.finfo(float).eps), float(np.finfo(np.longdouble).eps)

    def line(function, direction, dtype):
        """t ↦ f(x + t d); ``direction`` is a unit vector, or the index of one coordinate (then only
        that entry of a copy of x moves: much cheaper for a large parameter)."""
        base = flat_x.astype(dtype)
        if isinstance(direction, (int, np.integer)):
            k = int(direction)

            def g(t):
                counter[0] += 1
                point = base.copy()
                point[k] = base[k] + dtype(t)
                return function(point.reshape(x.shape))
            return g
        direction = direction.astype(dtype)

        def g(t):
            counter[0] += 1
            return function((base + dtype(t) * direction).reshape(x.shape))
        return g

    f0 = float(f(x.copy()))
    counter[0] += 1
    magnitude = max(abs(f0), float(f_scale))
    noise = 0.0  # the rounding of one value of f, measured where a more precise value exists
    if extended is not None and np.isfinite(f0):
        precise = extended(x.astype(np.longdouble))
        counter[0] += 1
        noise = ROUNDING_ULPS * eps_ext * max(magnitude, abs(float(precise)))
    a_max = float(np.max(np.abs(flat_a))) if flat_a.size else 0.0
    if analytic_error is None:  # unknown rounding of the backward pass: ε times the whole gradient's scale
        a_max = max(a_max, float(analytic_scale))
    # the analytic gradient's own rounding: ε times the sizes the backward pass combined — the
    # whole gradient's largest entry, and the terms f adds up per unit of this coordinate
    unit = rms(flat_x) if flat_x.size else 1.0
    unit = unit if np.isfinite(unit) and unit > 0 else 1.0
    a_floor = ANALYTIC_ULPS * eps64 * max(a_max, float(f_scale) / unit)
    a_err = np.full(indices.size, a_floor)
    declared = np.zeros(flat_a.size)  # the caller's own rounding bound of the analytic gradient, per coordinate
    if analytic_error is not None:
        extra = np.asarray(analytic_error, dtype=float).reshape(-1)
        declared = extra if extra.size == flat_a.size else np.full(flat_a.size, float(np.max(extra)))
        a_err = a_err + declared[indices]
    if not (np.isfinite(f0) and np.all(np.isfinite(flat_x)) and np.all(np.isfinite(flat_a))):
        what = ("the function" if not np.isfinite(f0) else "the parameters" if not np.all(np.isfinite(flat_x))
                else "the analytic gradient")
        return GradientCheck(name, flat_x.size, indices, flat_a[indices], np.full(indices.size, np.nan),
                             np.full(indices.size, np.inf), (), np.nan, np.inf, "flat",
                             f"{name}: {what} is not finite here, so there is nothing to compare.", "float64",
                             float(np.max(first)) if flat_x.size else 0.0, tolerance, None, counter[0])

    def derivative(direction, h0, analytic_value):
        """Two Ridders runs, from h₀ and from h₀/8: the better estimate, with an error bar that also
        covers their disagreement (one run's own error estimate can be confidently wrong when f is
        strongly curved or its rounding is coarser than ε·|f|). When that leaves the estimate too
        uncertain for a pass because the runs see a slope but disagree on it (not because of
        rounding), and f has an extended-precision twin, the pair starts again from a step 8×
        smaller, up to SHRINK_LEVELS times: f may change over a scale far below h₀, as log p does
        between two narrow modes. The pair with the
        smallest error bar is kept; which one never depends on the analytic value. In extended
        precision when f is available there, else in float64."""
        function, dtype, eps = (extended, np.longdouble, eps_ext) if extended is not None else (f, np.float64, eps64)
        runs: dict[float, tuple[float, float, float]] = {}

        def run(h):
            if h not in runs:
                value, err, _, rounding = ridders_derivative(line(function, direction, dtype), h, magnitude, eps, noise)
                runs[h] = value, err, rounding
            return runs[h]

        def pair(h):
            """(estimate, error bar, whether a smaller step could help: a run sees a slope beyond its own
            error bar, the two disagree beyond the better one's, and rounding alone does not set both bars;
            the part of the error bar that is rounding: the kept run's floor δ_f / h where that sets its bar)"""
            (a, a_err, a_round), (b, b_err, b_round) = run(h), run(h / 8)
            value, own, own_round = (a, a_err, a_round) if a_err <= b_err else (b, b_err, b_round)
            spread = abs(a - b)
            if not np.isfinite(spread):
                return value, np.inf, False, own_round
            resolved = abs(a) > a_err or abs(b) > b_err
            bar = max(own, spread)
            # rounding's part of the bar: the kept run's floor, and the runs' disagreement where their floors explain it
            rounding = min(bar, max(own_round, spread) if spread <= a_round + b_round else own_round)
            return value, bar, resolved and spread > own and not (a_err <= a_round and b_err <= b_round), rounding

        best = latest = pair(h0)
        h = h0
        # only where f has an extended-precision twin: its rounding floor is then far below float64's, an
        # honest bound at the smaller steps; a float64 f may round more coarsely than declared (a sum that
        # cancels, float32 inside), and on its staircase a smaller step finds a confident wrong slope
        for _ in range(SHRINK_LEVELS if extended is not None else 0):
            if best[1] <= RESOLUTION_NEEDED * abs(best[0]) or not latest[2]:
                break  # good enough, or a smaller step would only add rounding
            h /= 8
            latest = pair(h)
            if latest[1] < best[1]:
                best = latest
        return best[0], best[1], "extended" if extended is not None else "float64", best[3]

    numeric, error, rounded, precisions = (np.empty(indices.size), np.empty(indices.size), np.empty(indices.size),
                                           set())
    for n, k in enumerate(indices):
        numeric[n], error[n], used, rounded[n] = derivative(int(k), float(first[k]), flat_a[k])
        precisions.add(used)

    # Two directions through every coordinate, each coordinate moved in proportion to its scale:
    # d = s ⊙ u, and the analytic slope along d is g_a · d.
    directions = []
    # s ⊙ g_a with s and g_a each divided by its largest entry first: the product itself underflows to 0
    # for entries of 10⁻¹⁸⁰, which would drop the direction along g_a
    a_top = float(np.max(np.abs(flat_a))) if flat_a.size else 0.0
    weighted = (scales / float(np.max(scales))) * (flat_a / a_top) if a_top > 0 else np.zeros_like(flat_a)
    rng = np.random.default_rng([seed, 17])
    random_unit = rng.standard_normal(flat_x.size)
    candidates = [("a random direction", random_unit / np.linalg.norm(random_unit))]
    if np.linalg.norm(weighted) > 0:
        candidates.insert(0, ("the analytic gradient", weighted / np.linalg.norm(weighted)))
    for label, unit in candidates:
        d = scales * unit
        slope = float(flat_a @ d)
        value, err, used, rounding = derivative(d, START_FRACTION if step is None else float(np.max(first)) / max(
            float(np.max(scales)), TINY), slope)
        precisions.add(used)
        analytic_part = a_floor * float(np.sum(np.abs(d))) + float(declared @ np.abs(d))
        directions.append(DirectionCheck(label, slope, float(value), float(err + analytic_part),
                                         float(analytic_part), float(rounding)))

    analytic = flat_a[indices]
    bounds = error + a_err
    verdict, reason, rel, resolution, worst = _verdict(name, indices, analytic, numeric, bounds, directions,
                                                       tolerance, a_err, rounded)
    return GradientCheck(name, flat_x.size, indices, analytic, numeric, bounds, tuple(directions), rel, resolution,
                         verdict, reason, "extended" if "extended" in precisions else "float64",
                         float(np.max(first)) if flat_x.size else 0.0, tolerance, worst, counter[0])


def _verdict(name, indices, analytic, numeric, bounds, directions, tolerance, analytic_bounds=None,
             rounding_bounds=None):
    """(verdict, reason, relative error, resolution, worst index) — see the module docstring. Norms are
    taken without underflow (:func:`scaled_norm`): with np.linalg.norm a gradient of 10⁻¹⁸⁰ had size 0,
    hence a relative error and a resolution of 0, and any estimate passed it."""
    allowed = FAIL_MARGIN * bounds + tolerance * np.maximum(np.abs(analytic), np.abs(numeric))
    gaps = np.abs(analytic - numeric)
    over = gaps > allowed
    total = scaled_norm(analytic) + scaled_norm(numeric)
    rel = scaled_norm(analytic - numeric) / total if total > 0 else 0.0
    # resolution: the relative error the estimates themselves are uncertain by
    resolution = scaled_norm(bounds) / total if total > 0 else (0.0 if np.all(bounds <= TINY) else np.inf)
    ratio = gaps / np.maximum(allowed, 1e-300)
    worst = int(indices[np.argmax(ratio)]) if indices.size else None
    direction_over = [d for d in directions
                      if abs(d.analytic - d.numeric) > FAIL_MARGIN * d.error_bound
                      + tolerance * max(abs(d.analytic), abs(d.numeric))]
    # (against the slope's own size, however small: a floor such as 10⁻¹² would let a bar of 10⁻¹⁹ on a
    # slope of 10⁻³⁰⁰ read as resolved)
    direction_blurred = [d for d in directions
                         if d.error_bound > RESOLUTION_NEEDED * max(abs(d.analytic), abs(d.numeric))]
    checked = f"{indices.size} coordinate{'s' * (indices.size != 1)}"
    if over.any():
        k = int(np.argmax(ratio))
        return ("fail", f"{name}: coordinate {int(indices[k])} is {analytic[k]:.6g} by hand but {numeric[k]:.6g} "
                f"± {bounds[k]:.1e} from values of f alone ({int(over.sum())} of {checked} disagree beyond "
                "their error bars).", rel, resolution, worst)
    if direction_over:
        d = direction_over[0]
        return ("fail", f"{name}: along {d.along} the slope is {d.analytic:.6g} by hand but {d.numeric:.6g} "
                f"± {d.error_bound:.1e} from values of f alone: some coordinate is wrong, perhaps one not checked "
                "on its own.", rel, resolution, worst)
    if rel > max(tolerance, FAIL_MARGIN * resolution):
        return ("fail", f"{name}: the relative error {rel:.1e} is beyond what rounding explains "
                f"({FAIL_MARGIN * resolution:.1e}).", rel, resolution, worst)
    if not np.any(analytic) and all(d.analytic == 0 for d in directions):
        # the whole gradient is 0 by hand (the random direction's slope too) and nothing disagrees: no
        # relative error exists to resolve, and the error bars divided by ~0 would be a meaningless number
        widest = max([float(b) for b in bounds] + [d.error_bound for d in directions] + [0.0])
        return ("flat", f"{name}: 0 by hand, and values of f alone find no slope either (0 within ±{widest:.1e}): "
                "there is no size to measure a relative error against, so nothing finer can be checked; nothing disagrees.", rel, resolution, worst)
    if resolution <= RESOLUTION_NEEDED and not direction_blurred:
        return ("pass", f"{name}: agrees to a relative error of {rel:.1e}; the check would have seen "
                f"{max(tolerance, FAIL_MARGIN * resolution):.0e}.", rel, resolution, worst)
    blur = max([resolution] + [d.error_bound / max(abs(d.analytic), abs(d.numeric), np.finfo(float).tiny)
                               for d in direction_blurred])

    def share(parts, direction_part):
        """Of the error bars that blur the check, the share that ``parts`` (per coordinate) make up."""
        whole = 0.0 if parts is None else scaled_norm(parts) / max(scaled_norm(bounds), 1e-300)
        return max([whole] + [direction_part(d) / max(d.error_bound, 1e-300) for d in direction_blurred])

    if share(analytic_bounds, lambda d: d.analytic_part) > 0.5:
        why = ("the hand-derived gradient itself is computed with less precision than that here (its own rounding, "
               "which grows with the sizes it is computed from, dominates the error bars)")
    elif rounding_bounds is None or share(rounding_bounds, lambda d: d.rounding_part) > 0.5:
        why = ("f changes by less than its own rounding along this parameter, so the estimate from values of f is "
               "that uncertain")
    else:
        why = ("the estimates from values of f at different steps disagree by that much: f curves too sharply "
               "on the scale of the steps taken for the differences to settle")
    return ("flat", f"{name}: too flat to check at this precision — uncertain by {blur:.1e} relative (a pass needs "
            f"{RESOLUTION_NEEDED:.0e}): {why}; nothing disagrees.", rel, resolution, worst)


def check_gradients(
    f: Callable[[Mapping[str, np.ndarray]], float],
    params: Mapping[str, np.ndarray],
    analytic: Mapping[str, np.ndarray],
    *,
    step=None,
    tolerance: float = DEFAULT_TOLERANCE,
    max_coords: int | None = 64,
    seed: int = 0,
    groups: Mapping[str, Sequence[np.ndarray]] | None = None,
    f_scale=0.0,
    analytic_error: Mapping[str, object] | None = None,
    extended: Callable[[Mapping[str, np.ndarray]], float] | None = None,
) -> list[GradientCheck]:
    """Check the gradient of ``f(params)`` with respect to each named parameter in turn (the others
    held at their values). ``groups`` and ``analytic_error`` are per parameter name; ``step`` and
    ``f_scale`` are one value for all or a mapping per name; ``extended`` is f in extended
    precision, taking a dict of np.longdouble arrays. One :class:`GradientCheck` per parameter, in
    the order of ``params``."""
    missing = set(params) - set(analytic)
    if missing:
        raise ValueError(f"no analytic gradient given for {sorted(missing)}")
    base = {key: np.asarray(value, dtype=float) for key, value in params.items()}
    largest = max((float(np.max(np.abs(np.asarray(analytic[k], dtype=float)))) for k in base if np.size(analytic[k])),
                  default=0.0)
    checks = []
    for n, (key, value) in enumerate(base.items()):

        def f_of_one(x, key=key):
            return f({**base, key: x})

        f_ext = None
        if extended is not None:
            wide = {k: v.astype(np.longdouble) for k, v in base.items()}

            def f_ext(x, key=key):
                return extended({**wide, key: x})

        checks.append(check_gradient(
            f_of_one, value, analytic[key], name=key, step=step.get(key) if isinstance(step, Mapping) else step,
            tolerance=tolerance, max_coords=max_coords, seed=seed + n, groups=(groups or {}).get(key, ()),
            f_scale=f_scale.get(key, 0.0) if isinstance(f_scale, Mapping) else f_scale,
            analytic_error=(analytic_error or {}).get(key), analytic_scale=largest, extended=f_ext))
    return checks


@dataclass(frozen=True)
class Summary:
    """The verdict over several checks: fail if any fails, pass if all pass, flat otherwise."""

    verdict: str
    checks: tuple[GradientCheck, ...] = field(default_factory=tuple)

    @property
    def worst(self) -> GradientCheck | None:
        order = {"fail": 0, "flat": 1, "pass": 2}
        return min(self.checks, key=lambda c: (order[c.verdict], -c.relative_error
                                               if np.isfinite(c.relative_error) else -np.inf), default=None)

    @property
    def coordinates_checked(self) -> int:
        return sum(c.n_checked for c in self.checks)

    @property
    def coordinates(self) -> int:
        return sum(c.size for c in self.checks)


def summarize(checks: Sequence[GradientCheck]) -> Summary:
    checks = tuple(checks)
    verdicts = {c.verdict for c in checks}
    verdict = "fail" if "fail" in verdicts else "pass" if verdicts <= {"pass"} and checks else "flat"
    return Summary(verdict, checks)
