r"""What the policy-gradient page draws besides the training curve.

* :func:`gradient_variance` — the baseline lesson. At fixed parameters θ, the REINFORCE estimate
  ĝ = (1/N) Σ_t ∇θ log π(a_t|s_t) · A_t is computed on many independent batches of episodes, with
  each baseline on the *same* episodes. A baseline b(s) leaves the expected gradient unchanged,

      E[∇θ log π(a|s) · b(s)] = b(s) Σ_a π(a|s) ∇θ log π(a|s) = b(s) ∇θ Σ_a π(a|s) = b(s) ∇θ 1 = 0,

  but it changes the spread. Normalizing rescales ĝ, so the comparison uses the scale-free
  relative spread √(tr Cov ĝ) / ‖E ĝ‖ (noise ÷ signal) next to the raw gradient norms.
* :func:`policy_map` — P(push right) over pole angle θ × angular velocity θ̇ (x = ẋ = 0).
* :func:`replay_episode` — one episode of a policy as a state sequence, for drawing frame by frame.
* :func:`log_prob_gradient_checks` — ∇θ log π by hand against central differences.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from calc_core.policy_gradient import cartpole
from calc_core.common.blas_threads import single_blas_thread
from calc_core.common.gradcheck import DEFAULT_STEP, GradientCheck, check_gradients
from calc_core.policy_gradient.reinforce import BASELINES, advantages, adam_step, _check_gamma, _positive_int
from calc_core.policy_gradient.network import (
    PARAMETER_NAMES,
    init_policy,
    init_value,
    log_prob,
    log_prob_gradient,
    policy_backward,
    policy_forward,
    value_loss_gradient,
)
from calc_core.policy_gradient.rollout import (
    draw_episode_noise,
    right_logit,
    right_logit_weights,
    rollout_batched,
)


def _check_params(params) -> dict[str, np.ndarray]:
    missing = [name for name in PARAMETER_NAMES if name not in params]
    if missing:
        raise ValueError(f"params must hold {list(PARAMETER_NAMES)}; missing {missing}")
    params = {name: np.asarray(params[name], dtype=float) for name in PARAMETER_NAMES}
    if not all(np.all(np.isfinite(value)) for value in params.values()):
        raise ValueError("params contain NaN or infinite values (training diverged)")
    return params


def initial_params(hidden_units: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    """The policy ``train`` starts from with these settings (same generator, same first draws)."""
    hidden_units = _positive_int("hidden_units", hidden_units)
    return init_policy(hidden_units, np.random.default_rng(_positive_int("seed", seed, 0)))


@dataclass(frozen=True)
class GradientVariance:
    """Spread of the REINFORCE estimate ĝ at fixed θ, one row per baseline, same episodes."""

    baselines: tuple[str, ...]
    grad_norms: np.ndarray  # (baselines, batches) ‖ĝ‖ of each batch
    mean_gradient_norm: np.ndarray  # (baselines,) ‖mean ĝ‖
    total_std: np.ndarray  # (baselines,) √(tr Cov ĝ)
    relative_std: np.ndarray  # (baselines,) √(tr Cov ĝ) / ‖mean ĝ‖ — noise per unit of signal
    cosine_to_none: np.ndarray  # (baselines,) cos∠(mean ĝ, mean ĝ without baseline)
    mean_return: float  # average episode length at θ

    @property
    def relative_grad_norms(self) -> np.ndarray:
        """(baselines, batches) ‖ĝ_k‖ / ‖mean ĝ‖: every baseline's spread on one scale, 1 = the mean's
        length (NaN for a baseline whose estimates are all zero, as normalizing does when γ = 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = self.grad_norms / self.mean_gradient_norm[:, None]
        return np.where(self.mean_gradient_norm[:, None] > 0, ratio, np.nan)


def fit_value_baseline(params, gamma: float, hidden_units: int, seed: int = 0, episodes: int = 20,
                       max_states: int = 3000, steps: int = 200,
                       learning_rate: float = 0.03) -> dict[str, np.ndarray]:
    """V_φ fitted (Adam on ½ mean (V − G)²) to the returns of ``episodes`` episodes run with θ
    (at most ``max_states`` of their steps, drawn at random, to keep it fast)."""
    rng = np.random.default_rng([seed, 7])
    batch = rollout_batched(params, *draw_episode_noise(rng, episodes))
    states, _, returns, _ = advantages(batch, gamma, "none")
    if returns.size > max_states:
        keep = rng.choice(returns.size, max_states, replace=False)
        states, returns = states[keep], returns[keep]
    value_params, state = init_value(hidden_units, rng), {}
    for t in range(1, steps + 1):
        adam_step(value_params, value_loss_gradient(value_params, states, returns)[1], state, t,
                  learning_rate, ascent=False)
    return value_params


def gradient_variance(params, gamma: float = 0.99, seed: int = 0, batches: int = 30,
                      episodes_per_batch: int = 5) -> GradientVariance:
    """ĝ with baselines none / normalize / value on ``batches`` batches of episodes at θ = params.

    The value baseline is fitted to separate episodes first. The spread is clearest early in
    training (``initial_params`` or a snapshot from ``TrainResult.snapshots``): once the policy
    balances, E ĝ is close to 0 and every relative spread is large.
    """
    params = _check_params(params)
    gamma = _check_gamma(gamma)
    batches = _positive_int("batches", batches, 2)
    episodes_per_batch = _positive_int("episodes_per_batch", episodes_per_batch)
    with single_blas_thread():  # many thin matrix products (see calc_core.common.blas_threads)
        value_params = fit_value_baseline(params, gamma, params["W1"].shape[1], seed)
        rng = np.random.default_rng([seed, 11])
        estimates = np.empty((len(BASELINES), batches, sum(params[n].size for n in PARAMETER_NAMES)))
        lengths = []
        for k in range(batches):
            batch = rollout_batched(params, *draw_episode_noise(rng, episodes_per_batch))
            lengths.append(batch.lengths.mean())
            h, probs = policy_forward(params, batch.states)
            for b, baseline in enumerate(BASELINES):
                states, actions, _, A = advantages(batch, gamma, baseline, value_params)
                # ĝ = (1/N) Σ_t ∇θ log π(a_t|s_t) · A_t
                grads = policy_backward(params, states, h, probs, actions, A / A.size)
                estimates[b, k] = np.concatenate([grads[n].ravel() for n in PARAMETER_NAMES])
    mean = estimates.mean(axis=1)
    # tr Cov ĝ = mean over batches of ‖ĝ − mean ĝ‖²  (unbiased: ÷ (batches − 1))
    total_var = np.sum((estimates - mean[:, None]) ** 2, axis=(1, 2)) / (batches - 1)
    mean_norm = np.linalg.norm(mean, axis=1)
    cosine = mean @ mean[0] / np.maximum(mean_norm * mean_norm[0], 1e-300)
    return GradientVariance(
        baselines=BASELINES,
        grad_norms=np.linalg.norm(estimates, axis=2),
        mean_gradient_norm=mean_norm,
        total_std=np.sqrt(total_var),
        relative_std=np.sqrt(total_var) / np.maximum(mean_norm, 1e-300),
        cosine_to_none=cosine,
        mean_return=float(np.mean(lengths)),
    )


@dataclass(frozen=True)
class PolicyMap:
    """P(push right) on a grid: rows = angular velocities, columns = angles."""

    angles: np.ndarray  # (n_angles,) θ in radians, within ±12°
    angular_velocities: np.ndarray  # (n_velocities,) θ̇ in rad/s
    p_right: np.ndarray  # (n_velocities, n_angles)


def policy_map(params, n_angles: int = 41, n_velocities: int = 41,
               max_angular_velocity: float = 2.0) -> PolicyMap:
    """π(right | x = 0, ẋ = 0, θ, θ̇) over θ ∈ [−12°, 12°] and θ̇ ∈ [−max, max]."""
    params = _check_params(params)
    n_angles = _positive_int("n_angles", n_angles, 2)
    n_velocities = _positive_int("n_velocities", n_velocities, 2)
    if not (np.isfinite(max_angular_velocity) and max_angular_velocity > 0):
        raise ValueError(f"max_angular_velocity must be > 0, got {max_angular_velocity}")
    angles = np.linspace(-cartpole.THETA_THRESHOLD, cartpole.THETA_THRESHOLD, n_angles)
    velocities = np.linspace(-max_angular_velocity, max_angular_velocity, n_velocities)
    theta, theta_dot = np.meshgrid(angles, velocities)
    zeros = np.zeros(theta.size)
    states = np.column_stack([zeros, zeros, theta.ravel(), theta_dot.ravel()])
    p_right = policy_forward(params, states)[1][:, 1]
    return PolicyMap(angles, velocities, p_right.reshape(theta.shape))


@dataclass(frozen=True)
class Replay:
    """One episode, frame by frame: states[t] is the state before action t; the last is final."""

    states: np.ndarray  # (length + 1, 4)
    actions: np.ndarray  # (length,)
    p_right: np.ndarray  # (length,) π(right | s_t)
    length: int  # = return
    terminated: bool  # False: truncated at 500 steps

    @property
    def ended_by(self) -> str:
        """"time limit" (500 steps), "pole angle" (|θ| > 12°) or "cart position" (|x| > 2.4 m)."""
        if not self.terminated:
            return "time limit"
        return "pole angle" if abs(self.states[-1, 2]) > cartpole.THETA_THRESHOLD else "cart position"


def replay_episode(params, seed: int = 0, greedy: bool = False) -> Replay:
    """Run one episode with the policy (sampled, or greedy: push right when π(right|s) > ½)."""
    params = _check_params(params)
    rng = np.random.default_rng([_positive_int("seed", seed, 0), 3])
    batch = rollout_batched(params, *draw_episode_noise(rng, 1), greedy=bool(greedy))
    d = right_logit(right_logit_weights(params), batch.states)
    return Replay(
        states=np.vstack([batch.states, batch.final_states]),
        actions=batch.actions,
        # π(right|s) = σ(d) = 1 / (1 + e^−d)
        p_right=1.0 / (1.0 + np.exp(-d)),
        length=int(batch.lengths[0]),
        terminated=bool(batch.terminated[0]),
    )


def log_prob_gradient_checks(params=None, hidden_units: int = 16, seed: int = 0, n_states: int = 5,
                             max_coords: int | None = 40) -> list[GradientCheck]:
    """∇θ Σ_t w_t log π(a_t|s_t) by hand against central differences, one check per parameter.

    States are drawn over the whole region an episode can visit, actions and weights w_t at random.
    ``params=None`` checks the freshly initialized policy of ``hidden_units`` / ``seed``.

    Each f(θ ± h) is rounded to about ε·F, F = Σ_t |w_t log π(a_t|s_t)|, so a central difference
    is only good to ~ε·F/h per coordinate. Where tanh units saturate (a collapsed policy with
    large weights) the gradient of W1 and b1 shrinks to that floor, and no relative error below
    it can be measured: the tolerance of such a parameter is raised to twice its rounding floor
    √k·ε·F / (h (‖g_analytic‖ + ‖g_numeric‖)) over its k checked coordinates (never below the
    default 1e-6).
    """
    params = initial_params(hidden_units, seed) if params is None else _check_params(params)
    n_states = _positive_int("n_states", n_states)
    rng = np.random.default_rng([seed, 5])
    high = np.array([cartpole.X_THRESHOLD, 2.0, cartpole.THETA_THRESHOLD, 2.0])
    states = rng.uniform(-high, high, size=(n_states, 4))
    actions = rng.integers(0, 2, n_states)
    weights = rng.normal(size=n_states)

    def objective(p):
        return float(weights @ log_prob(p, states, actions))

    checks = check_gradients(objective, params, log_prob_gradient(params, states, actions, weights),
                             max_coords=max_coords, step=DEFAULT_STEP, seed=seed)
    # rounding error of each f(θ ± h): ε · Σ_t |w_t log π(a_t|s_t)|
    f_rounding = np.finfo(float).eps * float(np.abs(weights * log_prob(params, states, actions)).sum())
    return [replace(c, tolerance=max(c.tolerance, 2 * _rounding_floor(c, f_rounding, DEFAULT_STEP)))
            for c in checks]


def _rounding_floor(check: GradientCheck, f_rounding: float, step: float) -> float:
    """The smallest relative error central differences can show for this parameter:
    √k · (rounding of f)/h against ‖g_analytic‖ + ‖g_numeric‖."""
    scale = np.linalg.norm(check.analytic) + np.linalg.norm(check.numeric)
    return float(np.sqrt(check.n_checked) * f_rounding / step / max(scale, 1e-300))
