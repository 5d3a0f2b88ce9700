r"""Running the extended Kalman filter over a drive, and asking whether it believes its own covariance.

A filter is *consistent* when its errors are as large as its covariance says. Two normalized squared
errors test that (Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to Tracking and
Navigation*, §5.4):

    NEES_k = (x_k − x̂_k)ᵀ P_k⁻¹ (x_k − x̂_k)     ~ χ²(n)   (needs the truth: simulation only)
    NIS_k  = ν_kᵀ S_k⁻¹ ν_k                      ~ χ²(m)   (innovation ν = z − H x̂⁻; available live)

with n the state dimension and m = 2 measured coordinates. The innovations of a consistent filter
are white, so averaged over K steps K·mean NIS ~ χ²(K m) and the 95% band of the average is

    [χ²_{0.025}(K m), χ²_{0.975}(K m)] / K.

Successive NEES values are correlated (an error persists for a few steps), so the same band for the
mean NEES would be far too narrow: a perfectly tuned filter would fail it about half the time. Its
band instead comes from the variance of Σ NEES that the filter's own gains imply (sum_nees_variance),
matched to a scaled χ². The verdict:

    mean above the band  → overconfident  (errors larger than P or S admits: the filter trusts itself too much)
    mean below the band  → underconfident (P or S larger than the errors: it ignores good information)

It uses NEES when the truth is known and NIS otherwise; a run that turns non-finite, whose
covariance blows up or whose S turns singular is reported as diverged from that step on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy import dot
from scipy.special import gammaincinv

from calc_core.kalman.ekf import (
    COMPLETED,
    COVARIANCE_BLOWUP,
    N_MEASURED,
    NONFINITE_STATE,
    SINGULAR_S,
    ExtendedKalmanFilter,
    check_dt,
    filter_loop,
    singular_innovation_message,
)

CONFIDENCE = 0.95
BLOWUP = 1e8  # trace(P) beyond BLOWUP × the largest of trace(P0), trace(Q), trace(R) counts as diverged
VERDICTS = ("consistent", "overconfident", "underconfident", "diverged")


def chi2_quantiles(probabilities, dof: float) -> np.ndarray:
    """Quantiles x of χ²(dof), P(χ² ≤ x) = p: x = 2 γ⁻¹(dof/2, p) with γ the regularized lower
    incomplete gamma function — the same computation as scipy.stats.chi2.ppf, without the second it
    takes to import scipy.stats and its half a millisecond of argument checks per call."""
    return 2.0 * gammaincinv(0.5 * dof, np.asarray(probabilities, dtype=float))


def chi2_band(dof: int, n_averaged: int = 1, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Two-sided band of the mean of ``n_averaged`` independent χ²(dof) values."""
    if n_averaged < 1 or dof < 1:
        raise ValueError(f"need dof ≥ 1 and n_averaged ≥ 1, got {dof} and {n_averaged}")
    tail = 0.5 * (1.0 - confidence)
    # [χ²_{α/2}(K dof), χ²_{1−α/2}(K dof)] / K
    low, high = chi2_quantiles([tail, 1.0 - tail], dof * n_averaged) / n_averaged
    return float(low), float(high)


SPEED, HEADING = 2, 3  # in x = [x, y, v, θ, ω]


def _quadratic(error, covariances) -> np.ndarray:
    # solve P e' = e rather than forming P⁻¹
    solved = np.linalg.solve(covariances, error[..., None])[..., 0]
    return np.einsum("ki,ki->k", error, solved)


def _wrapped(angle):
    """An angle in (−π, π]: θ and θ + 2π are one heading."""
    return np.pi - np.mod(np.pi - angle, 2 * np.pi)


def nees(truth, estimates, covariances) -> np.ndarray:
    """(x − x̂)ᵀ P⁻¹ (x − x̂) per row; truth may carry extra components (ω for a 4-state filter).

    The heading error is taken as an angle, in (−π, π]; and since the motion model cannot tell
    (v, θ) from (−v, θ + π) — the same motion — an estimate on that other branch is measured as its
    equivalent (covariance J P J, J flipping v's sign) when that is the nearer one."""
    n = estimates.shape[1]
    error = truth[:, :n] - estimates
    error[:, HEADING] = _wrapped(error[:, HEADING])
    values = _quadratic(error, covariances)
    flip = np.ones(n)
    flip[SPEED] = -1.0
    other = truth[:, :n] - estimates * flip
    other[:, HEADING] = _wrapped(other[:, HEADING] - np.pi)
    return np.minimum(values, _quadratic(other, covariances * np.outer(flip, flip)))


def nis(innovations, innovation_covariances) -> np.ndarray:
    """νᵀ S⁻¹ ν per row for 2×2 S = [[a, b], [b, d]]: (d ν₀² − 2 b ν₀ ν₁ + a ν₁²) / (a d − b²)."""
    a, b, d = (innovation_covariances[:, i, j] for i, j in ((0, 0), (0, 1), (1, 1)))
    nu0, nu1 = innovations[:, 0], innovations[:, 1]
    return (d * nu0 * nu0 - 2.0 * b * nu0 * nu1 + a * nu1 * nu1) / (a * d - b * b)


def nees_cross_terms(P, A):
    """T_k = A_k (T_{k−1} + P_{k−1}) A_kᵀ with T_0 = 0, for P_1 … P_K and A_1 … A_K (rows 0 … K−1)."""
    T = np.zeros_like(P)
    previous = T[0]
    for k in range(1, P.shape[0]):
        # T_k = A_k (T_{k−1} + P_{k−1}) A_kᵀ
        T[k] = previous = dot(dot(A[k], previous + P[k - 1]), A[k].T)
    return T


def sum_nees_variance(covariances, transitions) -> float:
    """Var(Σ_{k=1..K} NEES_k) for a consistent filter, allowing for the correlation of successive
    errors (``covariances`` are P_0 … P_K, row 0 unused; ``transitions`` are A_1 … A_K).

    Linearized, the error of a consistent filter evolves as e_k = A_k e_{k−1} + noise with
    A_k = (I − K_k H) F_k, so for j < k, Cov(e_k, e_j) = Φ_kj P_j with Φ_kj = A_k ⋯ A_{j+1}; for
    Gaussian errors Cov(NEES_k, NEES_j) = 2 tr(P_k⁻¹ Φ_kj P_j Φ_kjᵀ), and summing over j < k

        T_k = Σ_{j<k} Φ_kj P_j Φ_kjᵀ = A_k (T_{k−1} + P_{k−1}) A_kᵀ,   T_1 = 0
        Var(Σ_k NEES_k) = 2 n K + 4 Σ_k tr(P_k⁻¹ T_k).
    """
    P = covariances[1:]
    n_steps, n = P.shape[0], P.shape[1]
    T = nees_cross_terms(P, transitions)
    # Var(Σ NEES) = 2 n K + 4 Σ_k tr(P_k⁻¹ T_k)
    return 2.0 * n * n_steps + 4.0 * float(np.trace(np.linalg.solve(P, T), axis1=1, axis2=2).sum())


def mean_nees_band(covariances, transitions, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Band of the mean NEES over steps 1 … K for a consistent filter: Σ NEES matched to g·χ²(h)
    with its mean n K and the variance of sum_nees_variance (Satterthwaite), divided by K."""
    n_steps, n = covariances.shape[0] - 1, covariances.shape[1]
    variance = sum_nees_variance(covariances, transitions)
    mean = n * n_steps
    # Σ NEES ≈ g χ²(h):  g h = mean,  2 g² h = variance
    scale, dof = variance / (2.0 * mean), 2.0 * mean * mean / variance
    tail = 0.5 * (1.0 - confidence)
    low, high = scale * chi2_quantiles([tail, 1.0 - tail], dof) / n_steps
    return float(low), float(high)


def verdict(mean_value: float, band: tuple[float, float]) -> str:
    """'overconfident' above the band, 'underconfident' below it, 'consistent' inside."""
    if mean_value > band[1]:
        return "overconfident"
    if mean_value < band[0]:
        return "underconfident"
    return "consistent"


@dataclass(frozen=True)
class FilterRun:
    """One pass of the EKF over the measurements. Row k of estimates/covariances is the state after
    the k-th update (row 0: the initial x0, P0); row k − 1 of innovations is the k-th update's.
    After a divergence the remaining rows are NaN and the statistics cover the steps before it."""

    estimates: np.ndarray  # (N + 1, n)
    covariances: np.ndarray  # (N + 1, n, n)
    innovations: np.ndarray  # (N, 2)
    innovation_covariances: np.ndarray  # (N, 2, 2)
    nis: np.ndarray  # (N,)
    nees: np.ndarray | None  # (N + 1,) when the truth was given
    nis_step_band: tuple[float, float]  # 95% band of one NIS value, χ²(2)
    nees_step_band: tuple[float, float]  # 95% band of one NEES value, χ²(n)
    mean_nis: float  # over the completed updates
    mean_nees: float  # over the completed updates (NaN without truth)
    nis_mean_band: tuple[float, float]
    nees_mean_band: tuple[float, float]
    nis_verdict: str  # over the completed updates ('diverged' if there were none)
    nees_verdict: str | None
    verdict: str  # one of VERDICTS: 'diverged' if the run failed, else NEES's verdict with truth, else NIS's
    diverged_step: int | None  # the update (1-based) at which the filter failed
    divergence_reason: str

    @property
    def diverged(self) -> bool:
        return self.diverged_step is not None

    @property
    def n_completed(self) -> int:
        return int(self.innovations.shape[0] if self.diverged_step is None else self.diverged_step - 1)


def _check_measurements(measurements) -> np.ndarray:
    measurements = np.asarray(measurements, dtype=float)
    if measurements.ndim != 2 or measurements.shape[1] != N_MEASURED or measurements.shape[0] < 1:
        raise ValueError(f"measurements must have shape (n_steps ≥ 1, 2), got {measurements.shape}")
    if not np.all(np.isfinite(measurements)):
        raise ValueError("measurements contain non-finite values")
    return measurements


DIVERGENCE_REASONS = {
    SINGULAR_S: "the innovation covariance S became singular or non-finite",
    NONFINITE_STATE: "the estimate became non-finite",
    COVARIANCE_BLOWUP: "the covariance blew up (trace P beyond {limit:.3g}) or became non-finite",
}


def run_filter(x0, P0, Q, R, measurements, dt, truth=None) -> FilterRun:
    """Run ExtendedKalmanFilter(x0, P0, Q, R) over ``measurements`` taken every ``dt`` seconds.

    ``truth`` (shape (N + 1, ≥ n), row 0 the initial state) adds NEES; without it the verdict
    rests on NIS. Bad settings raise ValueError; a filter that diverges is reported, not raised.
    """
    dt = check_dt(dt)
    measurements = _check_measurements(measurements)
    ekf = ExtendedKalmanFilter(x0, P0, Q, R)  # validates x0, P0, Q and R
    n_steps, n = measurements.shape[0], ekf.dim_x
    if truth is not None:
        truth = np.asarray(truth, dtype=float)
        if truth.ndim != 2 or truth.shape[0] != n_steps + 1 or truth.shape[1] < n:
            raise ValueError(
                f"truth must have shape ({n_steps + 1}, ≥ {n}) for {n_steps} measurements "
                f"(row 0 is the initial state), got {truth.shape}"
            )
        if not np.all(np.isfinite(truth[:, :n])):
            raise ValueError("truth contains non-finite values")
    estimates = np.full((n_steps + 1, n), np.nan)
    covariances = np.full((n_steps + 1, n, n), np.nan)
    innovations = np.full((n_steps, N_MEASURED), np.nan)
    innovation_covs = np.full((n_steps, N_MEASURED, N_MEASURED), np.nan)
    jacobians = np.full((n_steps, n, n), np.nan)
    gains = np.full((n_steps, n, N_MEASURED), np.nan)
    estimates[0], covariances[0] = ekf.x, ekf.P
    limit = BLOWUP * max(np.trace(ekf.P), np.trace(ekf.Q), np.trace(ekf.R))
    with np.errstate(all="ignore"):  # a diverging run overflows: it is reported below, not warned about
        step, outcome = filter_loop(ekf.x, ekf.P, ekf.Q, ekf.R, measurements, dt, limit, estimates,
                                    covariances, innovations, innovation_covs, jacobians, gains)
    diverged_step = None if outcome == COMPLETED else int(step)
    reason = "" if outcome == COMPLETED else DIVERGENCE_REASONS[outcome].format(limit=limit)
    if outcome == SINGULAR_S:
        reason = singular_innovation_message(innovation_covs[step - 1])
        innovation_covs[step - 1] = np.nan
    done = n_steps if diverged_step is None else diverged_step - 1
    # NEES needs P⁻¹: a covariance that lost positive definiteness ends the run there too
    indefinite = np.flatnonzero(~(np.linalg.eigvalsh(covariances[1 : done + 1])[:, 0] > 0))
    if indefinite.size:
        done = int(indefinite[0])
        diverged_step, reason = done + 1, "the covariance P stopped being positive definite"
        estimates[done + 1 :] = covariances[done + 1 :] = np.nan
        innovations[done:] = innovation_covs[done:] = np.nan
    nis_values = np.full(n_steps, np.nan)
    nis_values[:done] = nis(innovations[:done], innovation_covs[:done])
    nees_values, nees_band = None, None
    if truth is not None:
        nees_values = np.full(n_steps + 1, np.nan)
        nees_values[: done + 1] = nees(truth[: done + 1], estimates[: done + 1], covariances[: done + 1])
    if done:
        # A_k = (I − K_k H) F_k
        transitions = jacobians[:done] - gains[:done] @ jacobians[:done, :N_MEASURED, :]
        nees_band = mean_nees_band(covariances[: done + 1], transitions)
    return _summarize(estimates, covariances, innovations, innovation_covs, nis_values,
                      nees_values, nees_band, done, diverged_step, reason)


def _summarize(estimates, covariances, innovations, innovation_covs, nis_values, nees_values,
               nees_band, done, diverged_step, reason) -> FilterRun:
    n = estimates.shape[1]
    averaged = max(done, 1)
    nis_band = chi2_band(N_MEASURED, averaged)
    nees_band = nees_band or chi2_band(n, averaged)
    mean_nis, nis_verdict = math.nan, "diverged"
    if done:
        mean_nis = float(np.mean(nis_values[:done]))
        nis_verdict = verdict(mean_nis, nis_band)
    mean_nees, nees_verdict = math.nan, None
    if nees_values is not None:
        nees_verdict = "diverged"
        if done:
            mean_nees = float(np.mean(nees_values[1 : done + 1]))
            nees_verdict = verdict(mean_nees, nees_band)
    overall = "diverged" if diverged_step is not None else (nees_verdict or nis_verdict)
    return FilterRun(
        estimates, covariances, innovations, innovation_covs, nis_values, nees_values,
        chi2_band(N_MEASURED), chi2_band(n), mean_nis, mean_nees, nis_band, nees_band,
        nis_verdict, nees_verdict, overall, diverged_step, reason,
    )
