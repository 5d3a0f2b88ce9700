r"""The variance-preserving forward process and the two ways back: reverse SDE and probability-flow ODE.

Noising (Ho et al. 2020; Song et al. 2021, the VP SDE dx = −½β(t) x dt + √β(t) dw) has the
closed-form marginal

    x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε,     ᾱ_t = exp(−∫₀ᵗ β(s) ds) = exp(−β_min t − ½(β_max − β_min) t²),

so p_t is the data mixture with means √ᾱ_t μ_k and variances ᾱ_t σ_k² + 1 − ᾱ_t, and p_1 ≈ N(0, I).
Running time backwards needs only the score of p_t (Anderson 1982):

    reverse SDE   dx = [−½β(t) x − β(t) ∇ₓ log p_t(x)] dt + √β(t) dw̄,
    ODE           dx/dt = −½β(t) [x + ∇ₓ log p_t(x)],

the second (the probability-flow ODE, Song et al. 2021 eq. 13) having the same marginals p_t with
no noise at all: each starting point has one path. Both are integrated from t = 1 down to a small
t_min with Euler(–Maruyama) steps.

References
----------
Anderson, B. D. O. (1982). Reverse-time diffusion equation models. Stochastic Processes and their
Applications 12(3).
Ho, J., Jain, A. and Abbeel, P. (2020). Denoising Diffusion Probabilistic Models. NeurIPS.
Song, Y., Sohl-Dickstein, J., Kingma, D. P., Kumar, A., Ermon, S. and Poole, B. (2021). Score-Based
Generative Modeling through Stochastic Differential Equations. ICLR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from calc_core.common import validate
from calc_core.diffusion.langevin import BLOWUP_FACTOR


@dataclass(frozen=True)
class VPSchedule:
    """β(t) = β_min + t (β_max − β_min) on t ∈ [0, 1] (Song et al. 2021, the VP SDE)."""

    beta_min: float = 0.1
    beta_max: float = 20.0

    def __post_init__(self):
        low = validate.real("β_min", self.beta_min, positive=True)
        high = validate.real("β_max", self.beta_max, positive=True)
        if high < low:
            raise ValueError(f"β_max must be at least β_min, got β_min = {low:g}, β_max = {high:g}")

    def beta(self, t):
        # β(t) = β_min + t (β_max − β_min)
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def alpha_bar(self, t):
        # ᾱ_t = exp(−β_min t − ½ (β_max − β_min) t²)
        return np.exp(-self.beta_min * t - 0.5 * (self.beta_max - self.beta_min) * t * t)


@dataclass(frozen=True)
class DiffusionPath:
    """Particles along a time grid: x[j] at times[j]; a run that blew up ends early."""

    times: np.ndarray  # (J,)
    x: np.ndarray  # (J, N, d)
    stopped_at: int | None = None  # the step (1-based) whose update was not finite or left ±max_abs

    @property
    def final(self) -> np.ndarray:
        return self.x[-1]


def time_grid(n_steps: int, t_min: float = 1e-3, reverse: bool = False, power: float = 2.0) -> np.ndarray:
    """n_steps + 1 times from t_min to 1 (or 1 down to t_min), evenly spaced in t^{1/power}:
    t_j = (t_min^{1/ρ} + (1 − t_min^{1/ρ}) j/n)^ρ. With ρ = 2 the steps shrink near t = 0, where
    narrow modes make the score steep (ρ = 1 is an even grid)."""
    n_steps = validate.whole("the number of time steps", n_steps, 1)
    t_min = validate.real("t_min", t_min, positive=True, maximum=0.5)
    rho = validate.real("the spacing power ρ", power, 1.0, 4.0)
    u = np.linspace(0.0, 1.0, n_steps + 1)
    # t_j = (t_min^{1/ρ} + (1 − t_min^{1/ρ}) u_j)^ρ
    grid = (t_min ** (1 / rho) + (1 - t_min ** (1 / rho)) * u) ** rho
    grid[-1] = 1.0
    return grid[::-1].copy() if reverse else grid


def _check_times(times, decreasing: bool) -> np.ndarray:
    times = validate.finite_array("the times", times, ndim=1)
    steps = np.diff(times)
    if times.size < 2 or np.any(times <= 0) or np.any(times > 1) or np.any(steps >= 0 if decreasing else steps <= 0):
        order = "decreasing" if decreasing else "increasing"
        raise ValueError(f"the times must be at least two {order} values in (0, 1], got {times[:4].tolist()}…")
    return times


def forward_noising(x0, times, schedule: VPSchedule = VPSchedule(), seed: int = 0) -> DiffusionPath:
    """Noise x₀ along increasing ``times`` with the exact transitions of the VP process:
    x_{t'} = √(ᾱ_{t'}/ᾱ_t) x_t + √(1 − ᾱ_{t'}/ᾱ_t) ξ (from x₀ itself at times[0])."""
    x0 = validate.finite_array("x0", x0, ndim=2)
    times = _check_times(times, decreasing=False)
    rng = np.random.default_rng(validate.seed(seed))
    alpha_bar = np.concatenate([[1.0], schedule.alpha_bar(times)])
    path, x = [], x0
    for j in range(times.size):
        ratio = alpha_bar[j + 1] / alpha_bar[j]
        # x_{t'} = √(ᾱ_{t'}/ᾱ_t) x_t + √(1 − ᾱ_{t'}/ᾱ_t) ξ
        x = math.sqrt(ratio) * x + math.sqrt(1.0 - ratio) * rng.standard_normal(x.shape)
        path.append(x)
    return DiffusionPath(times, np.stack(path))


def _integrate(update, x1, times) -> DiffusionPath:
    x1 = validate.finite_array("the starting noise x_1", x1, ndim=2)
    max_abs = BLOWUP_FACTOR * (1.0 + float(np.max(np.abs(x1))))
    path, x = [x1], x1
    for j in range(times.size - 1):
        with np.errstate(all="ignore"):
            x_new = update(x, times[j], times[j] - times[j + 1])
        if not np.max(np.abs(x_new)) <= max_abs:
            return DiffusionPath(times[: j + 1], np.stack(path), stopped_at=j + 1)
        x = x_new
        path.append(x)
    return DiffusionPath(times, np.stack(path))


def reverse_sde(score_at: Callable, x1, times, schedule: VPSchedule = VPSchedule(), seed: int = 0) -> DiffusionPath:
    """Euler–Maruyama on the reverse-time SDE from x_1 along decreasing ``times``.

    ``score_at(x, t)`` is ∇ₓ log p_t(x). With h = t_j − t_{j+1} > 0:
    x_{t−h} = x_t + h β(t) [½ x_t + ∇log p_t(x_t)] + √(β(t) h) z.
    """
    times = _check_times(times, decreasing=True)
    rng = np.random.default_rng(validate.seed(seed))

    def update(x, t, h):
        beta = schedule.beta(t)
        # x_{t−h} = x_t + h β(t) [½ x_t + ∇log p_t(x_t)] + √(β(t) h) z
        return x + h * beta * (0.5 * x + score_at(x, t)) + math.sqrt(beta * h) * rng.standard_normal(x.shape)

    return _integrate(update, x1, times)


def probability_flow(score_at: Callable, x1, times, schedule: VPSchedule = VPSchedule()) -> DiffusionPath:
    """Euler steps of the probability-flow ODE from x_1 along decreasing ``times``:
    x_{t−h} = x_t + ½ h β(t) [x_t + ∇log p_t(x_t)] (deterministic: no noise after x_1)."""
    times = _check_times(times, decreasing=True)

    def update(x, t, h):
        # x_{t−h} = x_t + ½ h β(t) [x_t + ∇ₓ log p_t(x_t)]
        return x + 0.5 * h * schedule.beta(t) * (x + score_at(x, t))

    return _integrate(update, x1, times)
