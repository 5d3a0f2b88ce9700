r"""REINFORCE on cart-pole: the policy-gradient theorem, estimated from whole episodes.

Objective: the expected discounted return of an episode τ run with the policy π_θ,
J(θ) = E_τ[G_0]. The policy-gradient theorem (log-derivative trick ∇π = π ∇log π) gives

    ∇θ J(θ) = E_τ[ Σ_t ∇θ log π_θ(a_t|s_t) · (G_t − b(s_t)) ]
    G_t = r_t + γ r_{t+1} + γ² r_{t+2} + …   (= r_t + γ G_{t+1}, computed backwards)

for any baseline b that does not depend on a_t (it changes the variance, not the mean).
REINFORCE samples a batch of episodes with the current policy and steps along

    ĝ = (1/N) Σ_{episodes} Σ_t ∇θ log π_θ(a_t|s_t) · A_t       (N = steps in the batch)

with A_t = G_t (baseline "none"), A_t = (G_t − mean G)/std G over the batch (the tutorial's
"normalize"; it normalizes within one episode, the same with one episode per update), or
A_t = G_t − V_φ(s_t) with a learned value network (baseline "value").
Gradient *ascent*: θ ← θ + η ĝ (SGD) or the Adam step θ ← θ + η m̂/(√v̂ + ε), after optionally
clipping ĝ to a maximum norm. ∇θ log π is in :mod:`calc_core.policy_gradient.network`, the episodes
(all of an update's at once) in :mod:`calc_core.policy_gradient.rollout`, the cart-pole in
:mod:`calc_core.policy_gradient.cartpole`.

Failure is reported, not hidden. *Divergence*: a gradient or parameter that is NaN or infinite
stops training (the last finite parameters are returned). *Collapse*: the policy turns (almost)
deterministic while it is still bad — mean entropy H(π(·|s)) = −Σ_a π log π of a batch below
``collapse_entropy`` while its mean return is below 195. Then ∇θ log π(a|s) = (e_a − π) ⋯ ≈ 0
for the action it almost always takes, the gradient nearly vanishes and exploration stops; the
policy may stay stuck (``TrainResult.collapsed``) or, with luck, recover (``recovered_episode``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from calc_core.common.blas_threads import single_blas_thread
from calc_core.policy_gradient.network import (
    entropy,
    init_policy,
    init_value,
    policy_backward,
    policy_forward,
    value_forward,
    value_loss_gradient,
)
from calc_core.policy_gradient.rollout import (
    EpisodeBatch,
    draw_episode_noise,
    rollout_batched,
    rollout_step_by_step,
)

BASELINES = ("none", "normalize", "value")
OPTIMIZERS = ("sgd", "adam")
ROLLOUTS = ("batched", "step_by_step")
SOLVED_AVERAGE = 475.0  # CartPole-v1's reward threshold
CLASSIC_AVERAGE = 195.0  # CartPole-v0's threshold, on the page as the first milestone
WINDOW = 100  # episodes in the moving average
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
NORMALIZE_EPS = 1e-8
COLLAPSE_ENTROPY = 0.1  # nats: π(chosen action) ≈ 0.98; log 2 ≈ 0.693 is a coin flip
SNAPSHOT_EVERY = 50  # episodes between the parameter snapshots kept for the page


def discounted_returns(rewards, gamma: float) -> np.ndarray:
    """G_t = r_t + γ G_{t+1} along the last axis (time), with G = 0 after the last reward.

    ``rewards`` may be a batch (episodes, T) padded with zeros after each episode's end.
    """
    gamma = _check_gamma(gamma)
    rewards = np.asarray(rewards, dtype=float)
    if rewards.ndim == 0:
        raise ValueError("rewards must be an array with time along the last axis, got a scalar")
    returns = np.empty_like(rewards)
    running = np.zeros(rewards.shape[:-1])
    for t in range(rewards.shape[-1] - 1, -1, -1):
        # G_t = r_t + γ G_{t+1}
        running = rewards[..., t] + gamma * running
        returns[..., t] = running
    return returns


def moving_average(values, window: int = WINDOW) -> np.ndarray:
    """Mean of the last ``window`` values at each position (fewer at the start)."""
    values = np.asarray(values, dtype=float)
    cumulative = np.concatenate(([0.0], np.cumsum(values)))
    ends = np.arange(1, values.size + 1)
    starts = np.maximum(ends - window, 0)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)


def first_episode_reaching(returns, threshold: float, window: int = WINDOW) -> int | None:
    """1-based episode at which the average of the last ``window`` returns first reaches
    ``threshold`` (only full windows count), or None."""
    returns = np.asarray(returns, dtype=float)
    if returns.size < window:
        return None
    full = moving_average(returns, window)[window - 1 :]
    hits = np.flatnonzero(full >= threshold)
    return int(hits[0] + window) if hits.size else None


def advantages(batch: EpisodeBatch, gamma: float, baseline: str, value_params=None):
    """(states, actions, G_t, A_t) of every real step of the batch, episode by episode."""
    rewards = batch.rewards
    returns = discounted_returns(rewards, gamma)[rewards > 0]
    states, actions = batch.states, batch.actions
    if baseline == "none":
        adv = returns
    elif baseline == "normalize":
        # A_t = (G_t − mean G) / (std G + ε)
        adv = (returns - returns.mean()) / (returns.std() + NORMALIZE_EPS)
    else:
        # A_t = G_t − V_φ(s_t)
        adv = returns - value_forward(value_params, states)[1]
    return states, actions, returns, adv


def policy_gradient_estimate(params, batch: EpisodeBatch, gamma: float, baseline: str, value_params=None):
    """ĝ = (1/N) Σ_t ∇θ log π(a_t|s_t) · A_t over the N steps of a batch of episodes run with θ.

    Returns (ĝ as a dict like ``params``, the states, the returns G_t, the probabilities π(·|s_t)).
    """
    states, actions, G, A = advantages(batch, gamma, baseline, value_params)
    h, probs = policy_forward(params, states)
    # ĝ = (1/N) Σ_t ∇θ log π(a_t|s_t) · A_t   (policy_backward weights step t by A_t / N)
    grads = policy_backward(params, states, h, probs, actions, A / A.size)
    return grads, states, G, probs


def adam_step(params, grads, state, t, learning_rate, ascent=True):
    """θ ← θ ± η m̂/(√v̂ + ε) with m, v the running moments of the gradient (in place)."""
    beta1, beta2 = ADAM_BETAS
    sign = 1.0 if ascent else -1.0
    for name, g in grads.items():
        m, v = state.setdefault(name, (np.zeros_like(g), np.zeros_like(g)))
        # m ← β1 m + (1 − β1) g,   v ← β2 v + (1 − β2) g²
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        # m̂ = m / (1 − β1ᵗ),  v̂ = v / (1 − β2ᵗ)
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        params[name] = params[name] + sign * learning_rate * m_hat / (np.sqrt(v_hat) + ADAM_EPS)


def _check_gamma(gamma) -> float:
    if not (isinstance(gamma, (int, float, np.floating, np.integer)) and 0.0 <= gamma <= 1.0):
        raise ValueError(f"the discount γ must lie in [0, 1], got {gamma!r}")
    return float(gamma)


@dataclass(frozen=True)
class TrainResult:
    """Everything a training run produced. Arrays are per episode unless named per update."""

    returns: np.ndarray  # (episodes_run,) undiscounted return = episode length
    moving_average: np.ndarray  # (episodes_run,) mean of the last ≤100 returns
    mean_entropy: np.ndarray  # (episodes_run,) mean H(π(·|s_t)) over the episode's steps, nats
    grad_norms: np.ndarray  # (updates,) ‖ĝ‖ before clipping
    update_episodes: np.ndarray  # (updates,) episodes finished when each update was made
    params: dict  # trained W1, b1, W2, b2 (the last finite ones if training diverged)
    snapshots: dict  # episodes done → params then: at 0 and after every ~SNAPSHOT_EVERY episodes
    episodes_run: int  # = episodes, unless training diverged or stopped at stop_at_average
    classic_episode: int | None  # first episode (1-based) whose 100-episode average ≥ 195
    solved_episode: int | None  # … ≥ 475
    collapse_episode: int | None  # first episode of a batch gone deterministic while failing
    recovered_episode: int | None  # after a collapse: when 100 later episodes averaged ≥ 195
    diverged_episode: int | None  # first episode of the batch whose update was NaN or infinite
    diverged_reason: str | None  # which quantity stopped being finite
    settings: dict

    @property
    def collapsed(self) -> bool:
        """The policy went deterministic while failing and never recovered."""
        return self.collapse_episode is not None and self.recovered_episode is None

    @property
    def diverged(self) -> bool:
        return self.diverged_episode is not None


def _norm(grads) -> float:
    """‖ĝ‖ over all parameter arrays (inf when a square overflows)."""
    return float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))


def _finite(arrays) -> bool:
    return all(np.all(np.isfinite(value)) for value in arrays.values())


def _ascent_step(params, grads, optimizer, adam_state, update, learning_rate):
    """θ ← θ + η ĝ (SGD) or the Adam step, on a copy of ``params``."""
    new_params = dict(params)
    if optimizer == "adam":
        adam_step(new_params, grads, adam_state, update, learning_rate)
    else:
        for name, g in grads.items():
            # θ ← θ + η ĝ
            new_params[name] = params[name] + learning_rate * g
    return new_params


def _fit_value(value_params, value_state, states, returns, steps, first_step, learning_rate):
    """``steps`` Adam steps φ ← φ − η_V ∇φ ½ mean (V(s_t) − G_t)² on a copy of φ."""
    value_params = dict(value_params)
    for k in range(steps):
        grads = value_loss_gradient(value_params, states, returns)[1]
        adam_step(value_params, grads, value_state, first_step + k, learning_rate, ascent=False)
    return value_params


def train(
    learning_rate: float = 0.02,
    gamma: float = 0.99,
    hidden_units: int = 16,
    episodes: int = 600,
    episodes_per_update: int = 5,
    baseline: str = "normalize",
    optimizer: str = "adam",
    seed: int = 0,
    clip_grad_norm: float | None = 0.0,
    value_learning_rate: float = 0.01,
    value_steps: int = 5,
    collapse_entropy: float = COLLAPSE_ENTROPY,
    stop_at_average: float | None = None,
    rollout: str = "batched",
    progress: Callable[[float], None] | None = None,
) -> TrainResult:
    """REINFORCE on cart-pole: ``episodes`` episodes, a gradient step after every batch.

    Parameters
    ----------
    learning_rate : float
        η of the policy step (Adam or plain SGD), > 0.
    gamma : float
        Discount γ ∈ [0, 1] of G_t = r_t + γ G_{t+1}.
    hidden_units : int
        Width H of the policy's (and the value network's) hidden layer, ≥ 1.
    episodes, episodes_per_update : int
        Episodes in all, and episodes run at once (one batch) per gradient step; both ≥ 1.
    baseline : "none" | "normalize" | "value"
        A_t = G_t, (G_t − mean)/std over the batch, or G_t − V_φ(s_t).
    optimizer : "sgd" | "adam"
    seed : int
        Seeds the initial weights and every episode: same seed, same run.
    clip_grad_norm : float
        Rescale ĝ to this norm when it is longer; 0 or None: no clipping.
    value_learning_rate, value_steps :
        Adam step size and steps per batch of the value network (baseline "value" only).
    collapse_entropy : float
        A batch whose mean entropy (nats) falls below this while its mean return is below 195
        marks a collapse.
    stop_at_average : float, optional
        Stop as soon as the 100-episode average reaches this (the benchmarks use 475).
    rollout : "batched" | "step_by_step"
        How episodes are run; both give identical results ("step_by_step" is the slow reference).
    progress : callable, optional
        Called with the fraction of episodes done after every update (for a progress bar).

    Raises ValueError for settings out of range.
    """
    settings = dict(
        learning_rate=learning_rate, gamma=gamma, hidden_units=hidden_units, episodes=episodes,
        episodes_per_update=episodes_per_update, baseline=baseline, optimizer=optimizer,
        seed=seed, clip_grad_norm=clip_grad_norm or 0.0, value_learning_rate=value_learning_rate,
        value_steps=value_steps, collapse_entropy=collapse_entropy, stop_at_average=stop_at_average,
    )
    _check_settings(**settings, rollout=rollout)
    clip_grad_norm = settings["clip_grad_norm"]
    run_episodes = rollout_batched if rollout == "batched" else rollout_step_by_step
    rng = np.random.default_rng(seed)
    params = init_policy(hidden_units, rng)
    value_params = init_value(hidden_units, rng) if baseline == "value" else None
    adam_state, value_state = {}, {}
    snapshots = {0: params}
    returns, entropies, grad_norms, update_episodes = [], [], [], []
    collapse = diverged = reason = None
    update = 0
    # many thin matrix products: one BLAS thread is faster (see calc_core.common.blas_threads)
    with np.errstate(over="ignore", invalid="ignore"), single_blas_thread():  # NaN/inf: reported below
        while len(returns) < episodes:
            update += 1
            first_episode = len(returns) + 1
            batch = run_episodes(params, *draw_episode_noise(rng, min(episodes_per_update,
                                                                      episodes - len(returns))))
            grads, states, G, probs = policy_gradient_estimate(params, batch, gamma, baseline, value_params)
            grad_norm = _norm(grads)
            step_entropy = entropy(probs)
            episode_of_step = np.repeat(np.arange(batch.lengths.size), batch.lengths)
            entropies.extend(np.bincount(episode_of_step, step_entropy) / batch.lengths)
            returns.extend(batch.lengths.astype(float))
            grad_norms.append(grad_norm)
            update_episodes.append(len(returns))
            if (collapse is None and step_entropy.mean() < collapse_entropy
                    and batch.lengths.mean() < CLASSIC_AVERAGE):
                collapse = first_episode
            if not np.isfinite(grad_norm):
                diverged, reason = first_episode, "the policy gradient ĝ"
                break
            if clip_grad_norm and grad_norm > clip_grad_norm:
                # ĝ ← ĝ · c / ‖ĝ‖
                grads = {name: g * (clip_grad_norm / grad_norm) for name, g in grads.items()}
            new_params = _ascent_step(params, grads, optimizer, adam_state, update, learning_rate)
            if not _finite(new_params):
                diverged, reason = first_episode, "the policy parameters θ"
                break
            params = new_params
            if len(returns) // SNAPSHOT_EVERY > max(snapshots) // SNAPSHOT_EVERY:
                snapshots[len(returns)] = params
            if value_params is not None:
                value_params = _fit_value(value_params, value_state, states, G, value_steps,
                                          (update - 1) * value_steps + 1, value_learning_rate)
                if not _finite(value_params):
                    diverged, reason = first_episode, "the value network's parameters φ"
                    break
            if progress is not None:
                progress(len(returns) / episodes)
            if stop_at_average is not None and first_episode_reaching(returns, stop_at_average):
                break
    returns = np.asarray(returns)
    recovered = None
    if collapse is not None:
        later = first_episode_reaching(returns[collapse:], CLASSIC_AVERAGE)
        recovered = None if later is None else collapse + later
    return TrainResult(
        returns=returns,
        moving_average=moving_average(returns),
        mean_entropy=np.asarray(entropies),
        grad_norms=np.asarray(grad_norms),
        update_episodes=np.asarray(update_episodes),
        params=params,
        snapshots=snapshots,
        episodes_run=int(returns.size),
        classic_episode=first_episode_reaching(returns, CLASSIC_AVERAGE),
        solved_episode=first_episode_reaching(returns, SOLVED_AVERAGE),
        collapse_episode=collapse,
        recovered_episode=recovered,
        diverged_episode=diverged,
        diverged_reason=reason,
        settings=settings,
    )


def _positive_int(name, value, minimum=1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number ≥ {minimum}, got {value!r}")
    return int(value)


def _positive_float(name, value, allow_zero=False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {list(choices)}")


def _check_settings(learning_rate, gamma, hidden_units, episodes, episodes_per_update, baseline,
                    optimizer, seed, clip_grad_norm, value_learning_rate, value_steps,
                    collapse_entropy, stop_at_average, rollout):
    _positive_float("learning_rate", learning_rate)
    _check_gamma(gamma)
    _positive_int("hidden_units", hidden_units)
    _positive_int("episodes", episodes)
    _positive_int("episodes_per_update", episodes_per_update)
    _check_choice("baseline", baseline, BASELINES)
    _check_choice("optimizer", optimizer, OPTIMIZERS)
    _check_choice("rollout", rollout, ROLLOUTS)
    _positive_int("seed", seed, minimum=0)
    _positive_float("clip_grad_norm (0 = no clipping)", clip_grad_norm, allow_zero=True)
    _positive_float("value_learning_rate", value_learning_rate)
    _positive_int("value_steps", value_steps)
    if _positive_float("collapse_entropy", collapse_entropy, allow_zero=True) > np.log(2):
        raise ValueError(
            f"collapse_entropy must lie in [0, log 2 ≈ 0.693] nats, got {collapse_entropy}")
    if stop_at_average is not None:
        _positive_float("stop_at_average", stop_at_average)
