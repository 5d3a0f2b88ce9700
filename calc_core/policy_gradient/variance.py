r"""The baseline lesson: how much a baseline changes the REINFORCE estimate ĝ, measured honestly.

At fixed parameters θ the estimate ĝ (calc_core.policy_gradient.reinforce.policy_gradient_estimate,
the one training uses) is computed on B independent batches of M episodes, with each baseline on
the *same* episodes. What can and cannot be said from B batches:

* A baseline b(s) that does not depend on the action leaves E ĝ unchanged,

      E[∇θ log π(a|s) · b(s)] = b(s) Σ_a π(a|s) ∇θ log π(a|s) = b(s) ∇θ Σ_a π(a|s) = b(s) ∇θ 1 = 0,

  and changes only the spread. The value network V_φ, fitted to separate episodes first, is such a
  b(s): its tr Cov ĝ compares with no baseline's directly, on the same scale.
* Normalizing, A_t = (G_t − mean G)/std G over the batch, is not: dividing by std G rescales E ĝ
  (‖E ĝ‖ is then far smaller), and the batch's mean and std contain the step's own return. It is
  compared by the noise per unit of signal, √(tr Cov ĝ) / ‖E ĝ‖, which no rescaling changes, and
  by the angle between its mean and no baseline's.
* Everything is estimated from B batches, so everything carries an error bar. ‖mean ĝ‖² over-
  states ‖E ĝ‖² by tr Cov ĝ / B (noise does not average out of a norm), so the signal is taken as
  ‖E ĝ‖² ≈ ‖mean ĝ‖² − tr Cov ĝ / B; the ranges are the 5th–95th percentiles of the same numbers
  over BOOTSTRAP resamplings of the B batches (resampled together for every baseline). A cosine
  whose range is wider than UNRESOLVED_WIDTH is reported as not resolved by B batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calc_core.common.blas_threads import single_blas_thread
from calc_core.common.validate import whole
from calc_core.policy_gradient.network import PARAMETER_NAMES, init_value, value_loss_gradient
from calc_core.policy_gradient.reinforce import BASELINES, _check_gamma, adam_step, advantages, policy_gradient_estimate
from calc_core.policy_gradient.rollout import draw_episode_noise, rollout_compiled

BATCHES = 60
BOOTSTRAP = 400
UNRESOLVED_WIDTH = 0.2  # a cosine whose 90% range is wider than this is not resolved
VALUE_FIT_EPISODES = 20
VALUE_FIT_STATES = 3000
VALUE_FIT_STEPS = 200


@dataclass(frozen=True)
class GradientVariance:
    """Spread of the REINFORCE estimate ĝ at fixed θ, one row per baseline, same episodes."""

    baselines: tuple[str, ...]
    batches: int  # B
    episodes_per_batch: int  # M
    grad_norms: np.ndarray  # (baselines, B) ‖ĝ‖ of each batch
    mean_gradient_norm: np.ndarray  # (baselines,) ‖mean ĝ‖ over the B batches
    signal: np.ndarray  # (baselines,) ‖E ĝ‖ ≈ √max(‖mean ĝ‖² − tr Cov ĝ / B, 0)
    total_std: np.ndarray  # (baselines,) √(tr Cov ĝ), unbiased (÷ (B − 1))
    relative_std: np.ndarray  # (baselines,) √(tr Cov ĝ) / ‖E ĝ‖: noise per unit of signal (inf: no signal)
    relative_std_range: np.ndarray  # (baselines, 2) its 5th and 95th bootstrap percentiles
    cosine_to_none: np.ndarray  # (baselines,) cos∠(mean ĝ, mean ĝ without a baseline)
    cosine_range: np.ndarray  # (baselines, 2) its 5th and 95th bootstrap percentiles
    mean_return: float  # average episode length at θ
    relative_std_samples: np.ndarray  # (baselines, BOOTSTRAP) relative_std over the bootstrap resamplings

    def index(self, baseline: str) -> int:
        return self.baselines.index(baseline)

    @property
    def relative_grad_norms(self) -> np.ndarray:
        """(baselines, B) ‖ĝ_k‖ / ‖mean ĝ‖: every baseline's spread on one scale, 1 = the mean's
        length (NaN for a baseline whose estimates are all zero, as normalizing gives when γ = 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = self.grad_norms / self.mean_gradient_norm[:, None]
        return np.where(self.mean_gradient_norm[:, None] > 0, ratio, np.nan)

    @property
    def cosine_resolved(self) -> np.ndarray:
        """(baselines,) whether B batches pin the cosine down to within UNRESOLVED_WIDTH."""
        return np.isfinite(self.cosine_range).all(axis=1) & (np.diff(self.cosine_range, axis=1)[:, 0]
                                                              <= UNRESOLVED_WIDTH)

    def noise_ratio(self, baseline: str, than: str) -> tuple[float, float, float]:
        """``baseline``'s noise per unit of signal ÷ ``than``'s, with the 5th and 95th percentiles of
        the same ratio over the bootstrap resamplings (the batches resampled together, so the two
        share their luck)."""
        a, b = self.index(baseline), self.index(than)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = self.relative_std[a] / self.relative_std[b]
            samples = self.relative_std_samples[a] / self.relative_std_samples[b]
        lo, hi = _range(samples[None])[0]
        return float(ratio), float(lo), float(hi)

    def noisier(self, baseline: str, than: str) -> bool:
        """Whether ``baseline``'s noise per unit of signal is above ``than``'s beyond the bootstrap range."""
        return bool(self.noise_ratio(baseline, than)[1] > 1.0)


def fit_value_baseline(params, gamma: float, hidden_units: int, seed: int = 0, episodes: int = VALUE_FIT_EPISODES,
                       max_states: int = VALUE_FIT_STATES, steps: int = VALUE_FIT_STEPS,
                       learning_rate: float = 0.03) -> dict[str, np.ndarray]:
    """V_φ fitted (Adam on ½ mean (V − G)²) to the returns of ``episodes`` episodes run with θ
    (at most ``max_states`` of their steps, drawn at random, to keep it fast)."""
    rng = np.random.default_rng([seed, 7])
    batch = rollout_compiled(params, *draw_episode_noise(rng, episodes))
    states, _, returns, _ = advantages(batch, gamma, "none")
    if returns.size > max_states:
        keep = rng.choice(returns.size, max_states, replace=False)
        states, returns = states[keep], returns[keep]
    value_params, state = init_value(hidden_units, rng), {}
    for t in range(1, steps + 1):
        adam_step(value_params, value_loss_gradient(value_params, states, returns)[1], state, t,
                  learning_rate, ascent=False)
    return value_params


def _statistics(estimates: np.ndarray, counts: np.ndarray):
    """(‖mean‖, signal, √tr Cov, cos to row 0) of (baselines, B, P) estimates, the batches weighted
    by ``counts`` (R, B) — the bootstrap's multiplicities; a row of ones is the sample itself."""
    B = estimates.shape[1]
    means = np.einsum("rk,bkp->brp", counts, estimates) / B  # (baselines, R, P)
    squares = np.einsum("rk,bk->br", counts, np.sum(estimates * estimates, axis=2))  # Σ_k c_k ‖ĝ_k‖²
    mean_sq = np.sum(means * means, axis=2)
    # tr Cov ĝ = (Σ_k ‖ĝ_k‖² − B ‖mean ĝ‖²) / (B − 1)
    trace = np.maximum(squares - B * mean_sq, 0.0) / (B - 1)
    # ‖E ĝ‖² ≈ ‖mean ĝ‖² − tr Cov ĝ / B
    signal = np.sqrt(np.maximum(mean_sq - trace / B, 0.0))
    norms = np.sqrt(mean_sq)
    with np.errstate(divide="ignore", invalid="ignore"):
        cosine = np.sum(means * means[:1], axis=2) / (norms * norms[:1])
    return norms, signal, np.sqrt(trace), cosine


def gradient_variance(params, gamma: float = 0.99, seed: int = 0, batches: int = BATCHES,
                      episodes_per_batch: int = 5, form: str = "reward_to_go",
                      bootstrap: int = BOOTSTRAP) -> GradientVariance:
    """ĝ with baselines none / normalize / value on ``batches`` batches of ``episodes_per_batch``
    episodes at θ = params, with ``form`` as in training; see the module docstring."""
    from calc_core.policy_gradient.checks import checked_params

    params = checked_params(params)
    gamma = _check_gamma(gamma)
    batches = whole("the number of batches", batches, 2, 10_000)
    episodes_per_batch = whole("the number of episodes per batch", episodes_per_batch, 1, 100)
    with single_blas_thread():  # many thin matrix products (see calc_core.common.blas_threads)
        value_params = fit_value_baseline(params, gamma, params["W1"].shape[1], seed)
        rng = np.random.default_rng([seed, 11])
        estimates = np.empty((len(BASELINES), batches, sum(params[n].size for n in PARAMETER_NAMES)))
        lengths = []
        for k in range(batches):
            batch = rollout_compiled(params, *draw_episode_noise(rng, episodes_per_batch))
            lengths.append(batch.lengths.mean())
            for b, baseline in enumerate(BASELINES):
                grads = policy_gradient_estimate(params, batch, gamma, baseline, value_params, form).grads
                estimates[b, k] = np.concatenate([grads[n].ravel() for n in PARAMETER_NAMES])
    ones = np.ones((1, batches))
    norms, signal, std, cosine = (a[:, 0] for a in _statistics(estimates, ones))
    picks = np.random.default_rng([seed, 13]).integers(0, batches, (bootstrap, batches))
    counts = np.zeros((bootstrap, batches))
    np.add.at(counts, (np.arange(bootstrap)[:, None], picks), 1.0)
    _, boot_signal, boot_std, boot_cosine = _statistics(estimates, counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(signal > 0, std / signal, np.inf)
        boot_relative = np.where(boot_signal > 0, boot_std / boot_signal, np.inf)
    return GradientVariance(
        baselines=BASELINES, batches=batches, episodes_per_batch=episodes_per_batch,
        grad_norms=np.linalg.norm(estimates, axis=2), mean_gradient_norm=norms, signal=signal, total_std=std,
        relative_std=relative, relative_std_range=_range(boot_relative), cosine_to_none=cosine,
        cosine_range=_range(boot_cosine), mean_return=float(np.mean(lengths)), relative_std_samples=boot_relative)


def _range(samples: np.ndarray) -> np.ndarray:
    """(rows, 2): the 5th and 95th percentiles of each row, without interpolating (inf stays inf,
    a row with a NaN gives NaN)."""
    return np.column_stack([np.percentile(samples, 5, axis=1, method="lower"),
                            np.percentile(samples, 95, axis=1, method="higher")])
