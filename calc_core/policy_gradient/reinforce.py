r"""REINFORCE on cart-pole: the policy-gradient theorem, estimated from whole episodes.

Objective: the expected discounted return of an episode τ run with the policy π_θ,
J(θ) = E_τ[G_0], with G_t = r_t + γ r_{t+1} + γ² r_{t+2} + … (= r_t + γ G_{t+1}, computed backwards).
The policy-gradient theorem (log-derivative trick ∇π = π ∇log π) gives

    ∇θ J(θ) = E_τ[ Σ_t γ^t ∇θ log π_θ(a_t|s_t) · (G_t − b(s_t)) ]                   (form "discounted")

for any baseline b that does not depend on a_t (it changes the variance, not the mean). Most
implementations (Spinning Up, the PyTorch examples, the tutorial) drop the γ^t:

    E_τ[ Σ_t ∇θ log π_θ(a_t|s_t) · (G_t − b(s_t)) ]                                  (form "reward_to_go")

which for γ < 1 is *not* ∇J: it weighs a step late in the episode as if the episode had started
there (Thomas 2014; Nota & Thomas 2020 show it is the gradient of no objective at all). For γ = 1
the two are the same. REINFORCE samples a batch of M episodes with the current policy and steps along

    ĝ = (1/M) Σ_{episodes} Σ_t w_t ∇θ log π_θ(a_t|s_t),   w_t = A_t  or  γ^t A_t      (M = episodes in the batch)

with A_t = G_t (baseline "none"), A_t = G_t − V_φ(s_t) with a value network fitted to earlier
batches (baseline "value": a b(s) that does not depend on a_t, so E ĝ is unchanged), or
A_t = (G_t − mean G)/std G over the batch (the tutorial's "normalize"). Normalizing is *not* a
baseline in that sense: dividing by std G rescales E ĝ, and the batch's mean and std contain the
step's own return, so they depend a little on a_t.

Gradient *ascent*: θ ← θ + η ĝ (SGD) or the Adam step θ ← θ + η m̂/(√v̂ + ε), after optionally
clipping ĝ to a maximum norm. ∇θ log π is in :mod:`calc_core.policy_gradient.network`, the episodes
in :mod:`calc_core.policy_gradient.rollout`, the cart-pole in :mod:`calc_core.policy_gradient.cartpole`.
Training stops once the average of the last 100 returns reaches 475 (CartPole-v1's threshold), as
reference implementations do: training on would only risk what was learned.

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
from scipy.signal import lfilter

from calc_core.common.blas_threads import single_blas_thread
from calc_core.common.snapshots import Snapshots
from calc_core.common.validate import choice, real, seed as check_seed, whole
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
    rollout_compiled,
    rollout_step_by_step,
)

BASELINES = ("none", "normalize", "value")
GRADIENT_FORMS = ("reward_to_go", "discounted")
OPTIMIZERS = ("adam", "sgd")
ROLLOUTS = {"compiled": rollout_compiled, "batched": rollout_batched, "step_by_step": rollout_step_by_step}
SOLVED_AVERAGE = 475.0  # CartPole-v1's reward threshold
CLASSIC_AVERAGE = 195.0  # CartPole-v0's threshold, on the page as the first milestone
WINDOW = 100  # episodes in the moving average
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
NORMALIZE_EPS = 1e-8
COLLAPSE_ENTROPY = 0.1  # nats: π(chosen action) ≈ 0.98; log 2 ≈ 0.693 is a coin flip
MAX_EPISODES = 5000


def discounted_returns(rewards, gamma: float) -> np.ndarray:
    """G_t = r_t + γ G_{t+1} along the last axis (time), with G = 0 after the last reward.

    ``rewards`` may be a batch (episodes, T) padded with zeros after each episode's end. The
    recurrence runs backwards in time as a first-order linear filter, y_n = x_n + γ y_{n−1} over the
    reversed rewards (scipy.signal.lfilter: the same arithmetic as the loop, in C).
    """
    gamma = _check_gamma(gamma)
    rewards = np.asarray(rewards, dtype=float)
    if rewards.ndim == 0:
        raise ValueError("rewards must be an array with time along the last axis, got a scalar")
    if rewards.shape[-1] == 0:
        return rewards.copy()
    # G_t = r_t + γ G_{t+1}, i.e. y_n = x_n + γ y_{n−1} with x the rewards read backwards
    return lfilter([1.0], [1.0, -gamma], rewards[..., ::-1], axis=-1)[..., ::-1]


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


def step_times(batch: EpisodeBatch) -> np.ndarray:
    """t of every real step of the batch (0 at each episode's start), episode by episode."""
    ends = np.cumsum(batch.lengths)
    return np.arange(ends[-1]) - np.repeat(ends - batch.lengths, batch.lengths)


def advantages(batch: EpisodeBatch, gamma: float, baseline: str, value_params=None):
    """(states, actions, G_t, A_t) of every real step of the batch, episode by episode."""
    rewards = batch.rewards
    returns = discounted_returns(rewards, gamma)[rewards > 0]
    states, actions = batch.states, batch.actions
    if baseline == "none":
        adv = returns
    elif baseline == "normalize":
        # A_t = (G_t − mean G) / (std G + ε), mean and std over every step of the batch
        adv = (returns - returns.mean()) / (returns.std() + NORMALIZE_EPS)
    else:
        # A_t = G_t − V_φ(s_t)
        adv = returns - value_forward(value_params, states)[1]
    return states, actions, returns, adv


def step_weights(batch: EpisodeBatch, gamma: float, baseline: str, form: str = "reward_to_go",
                 value_params=None):
    """(states, actions, G_t, A_t, w_t): w_t is the weight of ∇θ log π(a_t|s_t) in ĝ,

        w_t = A_t / M  (form "reward_to_go")   or   γ^t A_t / M  (form "discounted"),

    M the number of episodes in the batch."""
    states, actions, returns, adv = advantages(batch, gamma, baseline, value_params)
    # w_t = γ^t A_t / M   (or A_t / M)
    weights = adv * (gamma ** step_times(batch) if form == "discounted" else 1.0) / batch.lengths.size
    return states, actions, returns, adv, weights


@dataclass(frozen=True)
class Estimate:
    """One REINFORCE estimate ĝ and what it was made from, step by step."""

    grads: dict  # ĝ, shaped like the parameters
    states: np.ndarray  # (N, 4)
    actions: np.ndarray  # (N,)
    returns: np.ndarray  # (N,) G_t
    advantages: np.ndarray  # (N,) A_t
    weights: np.ndarray  # (N,) w_t: ĝ = Σ_t w_t ∇θ log π(a_t|s_t)
    probs: np.ndarray  # (N, 2) π(·|s_t)


def policy_gradient_estimate(params, batch: EpisodeBatch, gamma: float, baseline: str, value_params=None,
                             form: str = "reward_to_go") -> Estimate:
    """ĝ = Σ_t w_t ∇θ log π(a_t|s_t) over the steps of a batch of M episodes run with θ,
    w_t = A_t / M or γ^t A_t / M (:func:`step_weights`)."""
    states, actions, G, A, w = step_weights(batch, gamma, baseline, form, value_params)
    h, probs = policy_forward(params, states)
    # ĝ = Σ_t w_t ∇θ log π(a_t|s_t)   (policy_backward weights step t by w_t)
    grads = policy_backward(params, states, h, probs, actions, w)
    return Estimate(grads, states, actions, G, A, w, probs)


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
    return real("the discount γ", gamma, 0.0, 1.0)


@dataclass(frozen=True)
class TrainResult:
    """Everything a training run produced. Arrays are per episode unless named per update."""

    returns: np.ndarray  # (episodes_run,) undiscounted return = episode length
    moving_average: np.ndarray  # (episodes_run,) mean of the last ≤100 returns
    mean_entropy: np.ndarray  # (episodes_run,) mean H(π(·|s_t)) over the episode's steps, nats
    grad_norms: np.ndarray  # (updates,) ‖ĝ‖ before clipping
    update_episodes: np.ndarray  # (updates,) episodes finished when each update was made
    params: dict  # trained W1, b1, W2, b2 (the last finite ones if training diverged)
    value_params: dict | None  # the value network V_φ at the end, its last finite one (baseline "value"), else None
    snapshots: Snapshots  # θ at the start (episode 0) and after every update, by episodes done
    episodes_run: int  # = episodes, unless training diverged or stopped at stop_at_average
    classic_episode: int | None  # first episode (1-based) whose 100-episode average ≥ 195
    solved_episode: int | None  # … ≥ 475
    collapse_episode: int | None  # first episode of a batch gone deterministic while failing
    recovered_episode: int | None  # after a collapse: when 100 later episodes averaged ≥ 195
    diverged_episode: int | None  # first episode of the batch whose update was NaN or infinite
    diverged_reason: str | None  # which quantity stopped being finite
    stopped_early: bool  # stopped because the 100-episode average reached stop_at_average
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


def ascent_step(params, grads, optimizer, adam_state, update, learning_rate):
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
    episodes: int = 1000,
    episodes_per_update: int = 5,
    baseline: str = "normalize",
    optimizer: str = "adam",
    gradient_form: str = "reward_to_go",
    seed: int = 0,
    clip_grad_norm: float | None = 0.0,
    value_learning_rate: float = 0.01,
    value_steps: int = 5,
    collapse_entropy: float = COLLAPSE_ENTROPY,
    stop_at_average: float | None = SOLVED_AVERAGE,
    rollout: str = "compiled",
    progress: Callable[[float], None] | None = None,
) -> TrainResult:
    """REINFORCE on cart-pole: up to ``episodes`` episodes, a gradient step after every batch.

    Parameters
    ----------
    learning_rate : float
        η of the policy step (Adam or plain SGD), > 0.
    gamma : float
        Discount γ ∈ [0, 1] of G_t = r_t + γ G_{t+1}.
    hidden_units : int
        Width H of the policy's (and the value network's) hidden layer, ≥ 1.
    episodes, episodes_per_update : int
        Episodes at most, and episodes M run with the same θ (one batch) per gradient step.
    baseline : "none" | "normalize" | "value"
        A_t = G_t, (G_t − mean)/std over the batch, or G_t − V_φ(s_t).
    optimizer : "adam" | "sgd"
    gradient_form : "reward_to_go" | "discounted"
        w_t = A_t / M (the usual estimator) or γ^t A_t / M (an unbiased estimate of ∇E[G₀]).
    seed : int
        Seeds the initial weights and every episode: same seed, same run on the same machine.
    clip_grad_norm : float
        Rescale ĝ to this norm when it is longer; 0 or None: no clipping.
    value_learning_rate, value_steps :
        Adam step size and steps per batch of the value network (baseline "value" only).
    collapse_entropy : float
        A batch whose mean entropy (nats) falls below this while its mean return is below 195
        marks a collapse.
    stop_at_average : float or None
        Stop as soon as the 100-episode average reaches this (default 475: solved); None runs
        every episode.
    rollout : "compiled" | "batched" | "step_by_step"
        How episodes are run; all give the same episodes (see calc_core.policy_gradient.rollout).
    progress : callable, optional
        Called with the fraction of ``episodes`` done after every update (for a progress bar).

    Raises ValueError for settings out of range.
    """
    settings = dict(
        learning_rate=real("the learning rate η", learning_rate, positive=True, maximum=1e6),
        gamma=_check_gamma(gamma),
        hidden_units=whole("the number of hidden units", hidden_units, 1, 512),
        episodes=whole("the number of episodes", episodes, 1, MAX_EPISODES),
        episodes_per_update=whole("the number of episodes per update", episodes_per_update, 1, 100),
        baseline=choice("baseline", baseline, BASELINES), optimizer=choice("optimizer", optimizer, OPTIMIZERS),
        gradient_form=choice("gradient form", gradient_form, GRADIENT_FORMS), seed=check_seed(seed),
        clip_grad_norm=real("clip_grad_norm (0 = no clipping)", clip_grad_norm or 0.0, 0.0),
        value_learning_rate=real("the value network's learning rate", value_learning_rate, positive=True),
        value_steps=whole("value_steps", value_steps, 1, 1000),
        collapse_entropy=real("collapse_entropy", collapse_entropy, 0.0, float(np.log(2))),
        stop_at_average=None if stop_at_average is None else real("stop_at_average", stop_at_average,
                                                                  positive=True),
    )
    choice("rollout", rollout, tuple(ROLLOUTS))
    s = settings
    run_episodes = ROLLOUTS[rollout]
    rng = np.random.default_rng(s["seed"])
    params = init_policy(s["hidden_units"], rng)
    value_params = init_value(s["hidden_units"], rng) if s["baseline"] == "value" else None
    adam_state, value_state = {}, {}
    kept_episodes, kept_params = [0], [params]
    returns, entropies, grad_norms, update_episodes = [], [], [], []
    collapse = diverged = reason = None
    stopped_early = False
    update = 0
    # many thin matrix products: one BLAS thread is faster (see calc_core.common.blas_threads)
    with np.errstate(over="ignore", invalid="ignore"), single_blas_thread():  # NaN/inf: reported below
        while len(returns) < s["episodes"]:
            update += 1
            first_episode = len(returns) + 1
            batch = run_episodes(params, *draw_episode_noise(rng, min(s["episodes_per_update"],
                                                                      s["episodes"] - len(returns))))
            estimate = policy_gradient_estimate(params, batch, s["gamma"], s["baseline"], value_params,
                                                s["gradient_form"])
            grads = estimate.grads
            grad_norm = _norm(grads)
            step_entropy = entropy(estimate.probs)
            episode_of_step = np.repeat(np.arange(batch.lengths.size), batch.lengths)
            entropies.extend(np.bincount(episode_of_step, step_entropy) / batch.lengths)
            returns.extend(batch.lengths.astype(float))
            grad_norms.append(grad_norm)
            update_episodes.append(len(returns))
            if (collapse is None and step_entropy.mean() < s["collapse_entropy"]
                    and batch.lengths.mean() < CLASSIC_AVERAGE):
                collapse = first_episode
            if not np.isfinite(grad_norm):
                diverged, reason = first_episode, "the policy gradient ĝ"
                break
            if s["clip_grad_norm"] and grad_norm > s["clip_grad_norm"]:
                # ĝ ← ĝ · c / ‖ĝ‖
                grads = {name: g * (s["clip_grad_norm"] / grad_norm) for name, g in grads.items()}
            new_params = ascent_step(params, grads, s["optimizer"], adam_state, update, s["learning_rate"])
            if not _finite(new_params):
                diverged, reason = first_episode, "the policy parameters θ"
                break
            params = new_params
            kept_episodes.append(len(returns))
            kept_params.append(params)
            if value_params is not None:
                fitted = _fit_value(value_params, value_state, estimate.states, estimate.returns,
                                    s["value_steps"], (update - 1) * s["value_steps"] + 1, s["value_learning_rate"])
                if not _finite(fitted):
                    diverged, reason = first_episode, "the value network's parameters φ"
                    break
                value_params = fitted
            if progress is not None:
                progress(len(returns) / s["episodes"])
            if s["stop_at_average"] is not None and first_episode_reaching(returns[-WINDOW:], s["stop_at_average"]):
                stopped_early = True
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
        value_params=value_params,
        snapshots=Snapshots.collect("episode", kept_episodes, kept_params),
        episodes_run=int(returns.size),
        classic_episode=first_episode_reaching(returns, CLASSIC_AVERAGE),
        solved_episode=first_episode_reaching(returns, SOLVED_AVERAGE),
        collapse_episode=collapse,
        recovered_episode=recovered,
        diverged_episode=diverged,
        diverged_reason=reason,
        stopped_early=stopped_early,
        settings=settings,
    )
