r"""Running cart-pole episodes with the softmax policy: all at once, or one at a time.

The policy pushes right with probability π(right|s) = softmax(z)_right = σ(d), where
d = z_right − z_left = tanh(s W1 + b1) (W2[:, 1] − W2[:, 0]) + b2[1] − b2[0]. An action is
sampled by comparing a uniform u_t with it:

    a_t = 1 (push right)  ⇔  u_t < σ(d_t)  ⇔  log(u_t / (1 − u_t)) < d_t

and the greedy policy pushes right when π(right|s) > ½, i.e. d > 0.

Every episode draws its start state and its 500 uniforms up front (:func:`draw_episode_noise`),
so the three ways of running episodes take the same actions and return the same episodes:

* :func:`rollout_compiled` — training's: one compiled loop (numba, ``nogil``) over the episodes and
  their steps, the policy's d and the Euler step written out as scalar arithmetic. A step of five
  environments is ~30 numpy calls of a microsecond each; compiled it is a few dozen nanoseconds, and
  the loop releases the GIL, so two sessions training at once use two cores.
* :func:`rollout_batched` — numpy: all environments advance in lockstep and those whose pole has
  fallen are dropped from the batch.
* :func:`rollout_step_by_step` — the reference: one environment at a time, a Python loop per step.

The three compute d = tanh(s W1 + b1) w + c with sums in different orders, so d can differ in its
last bit; an action differs only if the uniform's logit falls within that bit of d (about 1e-16 of
the time), and the tests compare whole episodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from calc_core.common.jit import HAVE_NUMBA, compile as jit_compile
from calc_core.policy_gradient import cartpole
from calc_core.policy_gradient.cartpole import (FORCE_MAG, GRAVITY, LENGTH, MASS_POLE, POLEMASS_LENGTH, TAU,
                                                THETA_THRESHOLD, TOTAL_MASS, X_THRESHOLD)


@dataclass(frozen=True)
class EpisodeBatch:
    """The steps of a batch of episodes, flat: episode 0's steps in order, then episode 1's, …"""

    states: np.ndarray  # (N, 4) the state each action was chosen in
    actions: np.ndarray  # (N,) 0 = left, 1 = right
    lengths: np.ndarray  # (episodes,) steps = undiscounted return; N = lengths.sum()
    final_states: np.ndarray  # (episodes, 4) the state after the last step
    terminated: np.ndarray  # (episodes,) bool; False means truncated at 500 steps

    @property
    def rewards(self) -> np.ndarray:
        """(episodes, max length) r_t = 1 on every real step, 0 after the episode ended."""
        return (np.arange(self.lengths.max()) < self.lengths[:, None]).astype(float)


def draw_episode_noise(rng: np.random.Generator, n_episodes: int):
    """Start states (n, 4) and action uniforms (n, 500): all the randomness of n episodes."""
    starts = cartpole.reset_states(rng, n_episodes)
    return starts, rng.random((n_episodes, cartpole.MAX_EPISODE_STEPS))


def right_logit_weights(params) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(W1, b1, w, c) with w = W2[:, right] − W2[:, left], c = b2[right] − b2[left]."""
    W2, b2 = params["W2"], params["b2"]
    return params["W1"], params["b1"], W2[:, 1] - W2[:, 0], float(b2[1] - b2[0])


def right_logit(weights, states) -> np.ndarray:
    """d = z_right − z_left = tanh(s W1 + b1) w + c, so π(right|s) = softmax(z)_right = σ(d)."""
    W1, b1, w, c = weights
    return np.tanh(states @ W1 + b1) @ w + c


def _uniform_logits(uniforms, greedy: bool) -> np.ndarray:
    """u < σ(d) ⇔ log(u / (1 − u)) < d: sampling compares d with the logit of u (greedy: with 0)."""
    if greedy:
        return np.zeros_like(uniforms)
    with np.errstate(divide="ignore"):
        return np.log(uniforms) - np.log1p(-uniforms)


def _check_noise(starts, uniforms) -> tuple[np.ndarray, np.ndarray]:
    starts = np.ascontiguousarray(starts, dtype=float)
    uniforms = np.asarray(uniforms, dtype=float)
    if starts.ndim != 2 or starts.shape[1] != 4 or starts.shape[0] < 1:
        raise ValueError(f"starts must have shape (episodes, 4), got {starts.shape}")
    if uniforms.shape != (starts.shape[0], cartpole.MAX_EPISODE_STEPS):
        raise ValueError(
            f"uniforms must have shape ({starts.shape[0]}, {cartpole.MAX_EPISODE_STEPS}): one per "
            f"episode and step, got {uniforms.shape}"
        )
    return starts, uniforms


def _run_episodes(W1, b1, w, c, starts, thresholds):
    """Every episode of a batch, one after the other: states (N, 4), actions (N,), lengths, final
    states and terminated flags, episode 0's steps first. Scalar arithmetic only (compiled)."""
    n, steps = thresholds.shape
    hidden = W1.shape[1]
    states = np.empty((n * steps, 4))
    actions = np.empty(n * steps, np.intp)
    lengths = np.zeros(n, np.intp)
    final = np.empty((n, 4))
    terminated = np.zeros(n, np.bool_)
    row = 0
    for i in range(n):
        x, x_dot, theta, theta_dot = starts[i, 0], starts[i, 1], starts[i, 2], starts[i, 3]
        for t in range(steps):
            # d = tanh(s W1 + b1) · w + c
            d = c
            for j in range(hidden):
                d += math.tanh(x * W1[0, j] + x_dot * W1[1, j] + theta * W1[2, j] + theta_dot * W1[3, j]
                               + b1[j]) * w[j]
            # a_t = 1 (push right) ⇔ log(u_t / (1 − u_t)) < d_t ⇔ u_t < π(right|s_t)
            right = thresholds[i, t] < d
            states[row, 0], states[row, 1], states[row, 2], states[row, 3] = x, x_dot, theta, theta_dot
            actions[row] = 1 if right else 0
            row += 1
            # the Euler step of calc_core.policy_gradient.cartpole, in gymnasium's order
            force = FORCE_MAG if right else -FORCE_MAG
            costheta, sintheta = math.cos(theta), math.sin(theta)
            temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS
            thetaacc = (GRAVITY * sintheta - costheta * temp) / (
                LENGTH * (4.0 / 3.0 - MASS_POLE * (costheta * costheta) / TOTAL_MASS))
            xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
            x, x_dot, theta, theta_dot = x + TAU * x_dot, x_dot + TAU * xacc, theta + TAU * theta_dot, \
                theta_dot + TAU * thetaacc
            lengths[i] = t + 1
            if x < -X_THRESHOLD or x > X_THRESHOLD or theta < -THETA_THRESHOLD or theta > THETA_THRESHOLD:
                terminated[i] = True
                break
        final[i, 0], final[i, 1], final[i, 2], final[i, 3] = x, x_dot, theta, theta_dot
    return states[:row], actions[:row], lengths, final, terminated


run_episodes_kernel = jit_compile(_run_episodes)


def rollout_compiled(params, starts, uniforms, greedy: bool = False) -> EpisodeBatch:
    """Run the episodes in one compiled call (training's rollout); the same episodes as
    :func:`rollout_batched`. Without numba it is :func:`rollout_batched`."""
    if not HAVE_NUMBA:  # pragma: no cover - numba is in requirements.txt
        return rollout_batched(params, starts, uniforms, greedy)
    starts, uniforms = _check_noise(starts, uniforms)
    W1, b1, w, c = right_logit_weights(params)
    states, actions, lengths, final, terminated = run_episodes_kernel(
        np.ascontiguousarray(W1, dtype=float), np.ascontiguousarray(b1, dtype=float),
        np.ascontiguousarray(w, dtype=float), float(c), starts, _uniform_logits(uniforms, greedy))
    return EpisodeBatch(states, actions, lengths, final, terminated)


def rollout_batched(params, starts, uniforms, greedy: bool = False) -> EpisodeBatch:
    """Run all episodes at once; a = 1 (push right) when u_t < π(right|s_t) (greedy: π > ½).

    Episodes that end are dropped from the batch, so the arrays shrink as poles fall.
    """
    starts, uniforms = _check_noise(starts, uniforms)
    thresholds = _uniform_logits(uniforms, greedy)
    weights = right_logit_weights(params)
    n = starts.shape[0]
    final = np.empty((n, 4))
    terminated = np.zeros(n, dtype=bool)
    alive = np.arange(n)
    s = starts.copy()
    visited, chosen, who = [], [], []
    for t in range(cartpole.MAX_EPISODE_STEPS):
        # a_t = 1 (push right) ⇔ log(u_t / (1 − u_t)) < d_t ⇔ u_t < π(right|s_t)
        a = thresholds[:, t] < right_logit(weights, s)
        visited.append(s)
        chosen.append(a)
        who.append(alive)
        s = cartpole.euler_step_kernel(s, a)
        done = cartpole.is_terminal_kernel(s)
        if done.any():  # mask out the episodes that just ended: they take no further step
            final[alive[done]] = s[done]
            terminated[alive[done]] = True
            keep = ~done
            alive, s, thresholds = alive[keep], s[keep], thresholds[keep]
            if alive.size == 0:
                break
    final[alive] = s  # truncated after 500 steps
    episode = np.concatenate(who)
    # stable sort by episode keeps each episode's steps in time order
    order = np.argsort(episode, kind="stable")
    lengths = np.bincount(episode, minlength=n)
    states = np.concatenate(visited)[order]
    actions = np.concatenate(chosen)[order].astype(np.intp)
    return EpisodeBatch(states, actions, lengths, final, terminated)


def rollout_step_by_step(params, starts, uniforms, greedy: bool = False) -> EpisodeBatch:
    """The reference: one environment at a time, one Python iteration per step."""
    starts, uniforms = _check_noise(starts, uniforms)
    thresholds = _uniform_logits(uniforms, greedy)
    weights = right_logit_weights(params)
    n = starts.shape[0]
    final = np.empty((n, 4))
    terminated = np.zeros(n, dtype=bool)
    lengths = np.zeros(n, dtype=np.intp)
    visited, chosen = [], []
    for i in range(n):
        s = starts[i : i + 1].copy()
        for t in range(cartpole.MAX_EPISODE_STEPS):
            # a_t = 1 (push right) ⇔ log(u_t / (1 − u_t)) < d_t ⇔ u_t < π(right|s_t)
            a = thresholds[i : i + 1, t] < right_logit(weights, s)
            visited.append(s)
            chosen.append(a)
            s = cartpole.euler_step_kernel(s, a)
            lengths[i] = t + 1
            if cartpole.is_terminal_kernel(s)[0]:
                terminated[i] = True
                break
        final[i] = s[0]
    return EpisodeBatch(np.concatenate(visited), np.concatenate(chosen).astype(np.intp), lengths,
                        final, terminated)
