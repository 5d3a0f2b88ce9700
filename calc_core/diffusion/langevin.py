r"""Langevin dynamics: following the score with a little noise samples the density.

The unadjusted Langevin algorithm (ULA) moves every particle by

    x ← x + ε ∇ₓ log p(x) + √(2ε) ξ,        ξ ~ N(0, I),

and needs only the score. Its stationary distribution is p only as ε → 0: on a Gaussian target
N(m, s²) the update is x − m ← (1 − ε/s²)(x − m) + √(2ε) ξ, so the variance v obeys
v = (1 − ε/s²)² v + 2ε, i.e.

    v_∞ = s² / (1 − ε/(2s²)),        and the chain diverges for ε ≥ 2s² (|1 − ε/s²| ≥ 1).

The Metropolis-adjusted Langevin algorithm (MALA) treats the update as a proposal y and accepts it
with probability min(1, a),

    log a = log p(y) − log p(x) + log q(x | y) − log q(y | x),   q(y | x) = N(y; x + ε ∇log p(x), 2ε I),

which needs log p as well and makes p exactly stationary for every ε (Roberts & Tweedie 1996).

Annealed Langevin (Song & Ermon 2019, Algorithm 1) runs T steps at each of the noise levels
σ₁ > … > σ_L, using the score of p_{σ_i} = p * N(0, σ_i² I) with step α_i = ε σ_i² / σ_L²:
at large σ the smoothed density is nearly unimodal, so particles spread over the modes in the right
proportions before the modes separate.

A chain that blows up (a particle leaves ±``max_abs`` or stops being finite) stops at that step; the
result keeps the last finite state and says at which step it happened.

References
----------
Roberts, G. O. and Tweedie, R. L. (1996). Exponential convergence of Langevin distributions and
their discrete approximations. Bernoulli 2(4).
Song, Y. and Ermon, S. (2019). Generative Modeling by Estimating Gradients of the Data
Distribution. NeurIPS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from calc_core.common import validate
from calc_core.common.snapshots import MAX_SNAPSHOTS, Snapshots, evenly_spaced

#: A chain has exploded once a coordinate exceeds this many times (1 + the largest |x₀|).
BLOWUP_FACTOR = 1e6
#: Particles kept in the snapshots (the first ones: they are as random as any).
SNAPSHOT_PARTICLES = 2000


@dataclass(frozen=True)
class LangevinRun:
    """The particles after a Langevin run, their trajectory, and whether the chain blew up."""

    x: np.ndarray  # (N, d) final particles: the last finite state if the chain exploded
    snapshots: Snapshots  # "x" (S, n_kept, d), "step_size" (S,), "noise_level" (S,) (0 without annealing)
    n_steps: int  # steps asked for
    n_completed: int  # steps taken (n_steps unless the chain exploded)
    exploded_at: int | None  # the step whose update left ±max_abs or was not finite
    exploded_fraction: float  # share of particles out of bounds at that step
    max_abs: float
    acceptance_rate: float | None  # MALA: accepted / proposed over the steps taken; None for ULA

    @property
    def exploded(self) -> bool:
        return self.exploded_at is not None


@dataclass(frozen=True)
class _Level:
    """One stretch of the chain: the score (and log p for MALA) it follows, its step and length."""

    score: Callable
    log_density: Callable | None
    step: np.ndarray  # () or (N, 1)
    n_steps: int
    noise_level: float = 0.0


def ula_stationary_variance(s: float, step: float) -> float:
    """v_∞ = s² / (1 − ε/(2s²)) of unadjusted Langevin on N(m, s²); inf for ε ≥ 2s²."""
    s2, step = float(s) ** 2, float(step)
    return s2 / (1.0 - step / (2.0 * s2)) if step < 2.0 * s2 else math.inf


def ula_variance_after(v0: float, s: float, step: float, n_steps: int) -> float:
    """The variance after n steps of ULA on N(m, s²) from variance v0:
    v_n = v_∞ + (v0 − v_∞)(1 − ε/s²)^{2n} (for ε < 2s²)."""
    v_inf = ula_stationary_variance(s, step)
    # v_n = v_∞ + (v₀ − v_∞) ρ^{2n},  ρ = 1 − ε/s²
    return v_inf + (float(v0) - v_inf) * (1.0 - float(step) / float(s) ** 2) ** (2 * int(n_steps))


def geometric_noise_levels(sigma_max: float, sigma_min: float, n_levels: int) -> np.ndarray:
    """σ₁ = σ_max > … > σ_L = σ_min with a constant ratio σ_{i+1}/σ_i (Song & Ermon 2019, §4.2)."""
    sigma_max = validate.real("σ_max", sigma_max, positive=True)
    sigma_min = validate.real("σ_min", sigma_min, positive=True)
    n_levels = validate.whole("the number of noise levels", n_levels, 2)
    if not sigma_max > sigma_min:
        raise ValueError(f"σ_max must be larger than σ_min, got σ_max = {sigma_max:g} and σ_min = {sigma_min:g}")
    # σ_i = σ_max (σ_min/σ_max)^{(i−1)/(L−1)}
    return sigma_max * (sigma_min / sigma_max) ** (np.arange(n_levels) / (n_levels - 1))


def _check_step(step, n_particles: int) -> np.ndarray:
    """ε as a scalar array, or (N, 1) when every particle has its own step."""
    if np.ndim(step) == 0:
        return np.asarray(validate.real("the step ε", step, positive=True))
    steps = validate.finite_array("the step ε", step, ndim=1)
    if steps.shape[0] != n_particles or np.any(steps <= 0):
        raise ValueError(f"the step ε must be a positive number, or one positive number per particle "
                         f"({n_particles}), got shape {steps.shape} with minimum {steps.min():g}")
    return steps[:, None]


def _evaluate(function, x, what: str) -> np.ndarray:
    value = np.asarray(function(x))
    shape = x.shape if what == "score" else x.shape[:1]
    if value.shape != shape:
        raise ValueError(f"the {what} function must return shape {shape} for x of shape {x.shape}, "
                         f"got {value.shape}")
    return value


def ula_step(x, score_x, step, xi):
    """One unadjusted Langevin step of every particle, given the score at x and the noise ξ ~ N(0, I)."""
    # x' = x + ε ∇ₓ log p(x) + √(2ε) ξ
    return x + step * score_x + np.sqrt(2.0 * step) * xi


def mala_step(x, log_p_x, score_x, level: _Level, xi, u):
    """One Metropolis-adjusted step: (x', log p(x'), ∇log p(x'), accepted mask)."""
    step = level.step
    # y = x + ε ∇log p(x) + √(2ε) ξ
    y = ula_step(x, score_x, step, xi)
    with np.errstate(all="ignore"):
        log_p_y, score_y = _evaluate(level.log_density, y, "log-density"), _evaluate(level.score, y, "score")
        # log q(y | x) = −‖y − x − ε ∇log p(x)‖² / (4ε) = −‖ξ‖² / 2
        log_q_forward = -0.5 * np.sum(xi * xi, axis=1)
        back = x - y - step * score_y
        # log q(x | y) = −‖x − y − ε ∇log p(y)‖² / (4ε)
        log_q_backward = -np.sum(back * back, axis=1) / (4.0 * step.reshape(-1) if step.ndim else 4.0 * step)
        # log a = log p(y) − log p(x) + log q(x | y) − log q(y | x)
        log_a = log_p_y - log_p_x + log_q_backward - log_q_forward
        accept = np.log(u) < log_a  # NaN (a proposal out of range) is never accepted
    keep = accept[:, None]
    return (np.where(keep, y, x), np.where(accept, log_p_y, log_p_x), np.where(keep, score_y, score_x), accept)


def _update(level: _Level, x, score_x, log_p_x, rng):
    """One step of the chain: (x′, ∇log p(x′) or None when not yet computed, log p(x′) or None,
    accepted proposals or None)."""
    xi = rng.standard_normal(x.shape)
    if log_p_x is None:
        with np.errstate(all="ignore"):
            return ula_step(x, score_x, level.step, xi), None, None, None
    x_new, log_p_new, score_new, accept = mala_step(x, log_p_x, score_x, level, xi, rng.random(x.shape[0]))
    return x_new, score_new, log_p_new, int(accept.sum())


def _out_of_bounds(x, max_abs: float) -> np.ndarray:
    """Per particle: a coordinate beyond ±max_abs, or not finite."""
    return ~np.all(np.abs(x) <= max_abs, axis=1)


def _snapshot(k: int, x, level: _Level, kept: int) -> tuple:
    return k, x[:kept].copy(), float(np.max(level.step)), level.noise_level


def _run_levels(levels, x0, seed, snapshot_count, max_abs) -> LangevinRun:
    rng = np.random.default_rng(seed)
    total = sum(level.n_steps for level in levels)
    keep = set(evenly_spaced(total, snapshot_count).tolist())
    kept = min(SNAPSHOT_PARTICLES, x0.shape[0])
    x, k, exploded_at, exploded_fraction, accepted = x0.copy(), 0, None, 0.0, 0
    rows = [_snapshot(0, x, levels[0], kept)]
    for level in levels:
        score_x = _evaluate(level.score, x, "score")
        log_p_x = _evaluate(level.log_density, x, "log-density") if level.log_density else None
        for _ in range(level.n_steps):
            x_new, score_new, log_p_x, n_accepted = _update(level, x, score_x, log_p_x, rng)
            if not np.max(np.abs(x_new)) <= max_abs:  # NaN fails the comparison too
                exploded_at, exploded_fraction = k + 1, float(np.mean(_out_of_bounds(x_new, max_abs)))
                break
            x, k, accepted = x_new, k + 1, accepted + (n_accepted or 0)
            score_x = score_new if score_new is not None else _evaluate(level.score, x, "score")
            if k in keep:
                rows.append(_snapshot(k, x, level, kept))
        if exploded_at is not None:
            break
    if rows[-1][0] != k:  # the last finite state of a chain that stopped early
        rows.append(_snapshot(k, x, level, kept))
    snapshots = Snapshots(np.array([r[0] for r in rows]), "sampling step",
                          {"x": np.stack([r[1] for r in rows]), "step_size": np.array([r[2] for r in rows]),
                           "noise_level": np.array([r[3] for r in rows])})
    adjusted = levels[0].log_density is not None and k > 0
    return LangevinRun(x, snapshots, total, k, exploded_at, exploded_fraction, max_abs,
                       accepted / (k * x.shape[0]) if adjusted else None)


def _check_start(x0) -> tuple[np.ndarray, float]:
    x0 = validate.finite_array("the starting particles x0", x0, ndim=2)
    return x0, BLOWUP_FACTOR * (1.0 + float(np.max(np.abs(x0))))


def langevin_sample(score: Callable, x0, step, n_steps: int, seed: int, log_density: Callable | None = None,
                    snapshot_count: int = MAX_SNAPSHOTS) -> LangevinRun:
    """Run Langevin dynamics on many particles at once.

    Parameters
    ----------
    score : callable
        ∇ₓ log p of an (N, d) array, returning (N, d).
    x0 : (N, d) array
        Starting particles.
    step : float or (N,) array
        ε > 0; one per particle runs independent chains with their own steps.
    n_steps : int
    seed : int
    log_density : callable, optional
        log p of an (N, d) array, returning (N,) (up to a constant). Given, every update is a
        Metropolis-adjusted proposal (MALA), which removes the step-size bias.
    snapshot_count : int
        At most this many snapshots, evenly spaced from step 0 to n_steps.

    Returns
    -------
    LangevinRun
        ``.x`` the final (N, d) particles, ``.snapshots`` the trajectory, ``.exploded_at`` the
        step that blew up (None if none did).

    References
    ----------
    Song & Ermon (2019), eq. (2); Roberts & Tweedie (1996) for the Metropolis adjustment.
    """
    x0, max_abs = _check_start(x0)
    if not callable(score) or (log_density is not None and not callable(log_density)):
        raise ValueError("score (and log_density, when given) must be functions of an (N, d) array")
    level = _Level(score, log_density, _check_step(step, x0.shape[0]), validate.whole("the number of steps", n_steps, 0))
    return _run_levels([level], x0, validate.seed(seed), validate.whole("snapshot_count", snapshot_count, 2), max_abs)


def annealed_langevin_sample(score_at: Callable, x0, sigmas, step, steps_per_level: int, seed: int,
                             log_density_at: Callable | None = None,
                             snapshot_count: int = MAX_SNAPSHOTS) -> LangevinRun:
    """Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1).

    For i = 1 … L, T = ``steps_per_level`` Langevin steps on p_{σ_i} with step α_i = ε σ_i² / σ_L².

    Parameters
    ----------
    score_at : callable
        score_at(x, σ) = ∇ₓ log p_σ(x), (N, d) → (N, d).
    sigmas : (L,) array
        Decreasing noise levels, e.g. :func:`geometric_noise_levels`.
    step : float
        ε, the step at the last (smallest) level.
    log_density_at : callable, optional
        log p_σ(x); given, each level is Metropolis-adjusted.
    """
    x0, max_abs = _check_start(x0)
    sigmas = validate.finite_array("the noise levels σ_i", sigmas, ndim=1)
    if np.any(sigmas <= 0) or np.any(np.diff(sigmas) >= 0):
        raise ValueError(f"the noise levels must be positive and decreasing, got {np.round(sigmas, 4).tolist()}")
    step = validate.real("the step ε", step, positive=True)
    steps_per_level = validate.whole("the steps per noise level", steps_per_level, 0)
    levels = []
    for sigma in sigmas:
        # α_i = ε σ_i² / σ_L²
        alpha = step * sigma**2 / sigmas[-1] ** 2
        log_density = None if log_density_at is None else (lambda x, s=sigma: log_density_at(x, s))
        levels.append(_Level(lambda x, s=sigma: score_at(x, s), log_density, np.asarray(alpha), steps_per_level,
                             float(sigma)))
    return _run_levels(levels, x0, validate.seed(seed), validate.whole("snapshot_count", snapshot_count, 2), max_abs)


@dataclass(frozen=True)
class VarianceBias:
    """The variance of Langevin on N(0, s²) after many steps, against ε, with the exact curve."""

    s: float
    steps: np.ndarray  # (E,) the step sizes ε
    ula_variance: np.ndarray  # (E,) measured, unadjusted
    mala_variance: np.ndarray  # (E,) measured, Metropolis-adjusted
    exact_ula_variance: np.ndarray  # (E,) s² / (1 − ε/(2s²))
    n_particles: int  # per step size
    n_iterations: int

    def exact_curve(self, points: int = 120) -> tuple[np.ndarray, np.ndarray]:
        """(ε, s²/(1 − ε/(2s²))) on an even grid from 0 to the largest ε measured: the exact curve
        drawn through the measurements."""
        steps = np.linspace(0.0, float(np.max(self.steps)), validate.whole("the points of the curve", points, 2))
        return steps, np.array([ula_stationary_variance(self.s, e) for e in steps])


def variance_bias_curve(s: float, steps, n_particles: int = 400, n_iterations: int = 150,
                        seed: int = 0) -> VarianceBias:
    """ULA and MALA on N(0, s²) from exact draws, ``n_particles`` independent chains per ε, all
    step sizes in one vectorized run; the variance is measured after ``n_iterations`` steps."""
    s = validate.real("s", s, positive=True)
    steps = validate.finite_array("the steps ε", steps, ndim=1)
    if np.any(steps <= 0) or np.any(steps >= 2 * s * s):
        raise ValueError(f"the steps of the variance curve must lie in (0, 2s²) = (0, {2 * s * s:g}), where "
                         f"unadjusted Langevin has a stationary variance; got {steps.min():g} … {steps.max():g}")
    n_particles = validate.whole("the particles per step", n_particles, 2)
    per_particle = np.repeat(steps, n_particles)
    x0 = s * np.random.default_rng([seed, 1]).standard_normal((per_particle.size, 1))

    def score(x):
        # ∇ log N(x; 0, s²) = −x / s²
        return -x / s**2

    def log_density(x):
        return -0.5 * x[:, 0] ** 2 / s**2

    variances = []
    for adjusted in (None, log_density):
        run = langevin_sample(score, x0, per_particle, n_iterations, seed, log_density=adjusted, snapshot_count=2)
        variances.append(np.mean(run.x.reshape(steps.size, n_particles) ** 2, axis=1))
    exact = np.array([ula_stationary_variance(s, e) for e in steps])
    return VarianceBias(s, steps, variances[0], variances[1], exact, n_particles, int(n_iterations))
