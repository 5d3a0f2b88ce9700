r"""Cart-pole dynamics of gymnasium's ``CartPole-v1``, vectorized over a batch of environments.

State s = (x, ẋ, θ, θ̇): cart position, cart velocity, pole angle (0 = upright, positive = leaning
right), pole angular velocity. Action a ∈ {0, 1} pushes the cart left or right with force
F = ±10 N. With total mass M = m_c + m_p, half pole length l and m_p l = ``POLEMASS_LENGTH``
(Florian 2005, "Correct equations for the dynamics of the cart-pole system", frictionless):

    temp = (F + m_p l θ̇² sin θ) / M
    θ̈    = (g sin θ − cos θ · temp) / (l (4/3 − m_p cos² θ / M))
    ẍ    = temp − m_p l θ̈ cos θ / M

and one explicit Euler step of τ = 0.02 s (gymnasium's default ``kinematics_integrator``):

    x ← x + τ ẋ      ẋ ← ẋ + τ ẍ      θ ← θ + τ θ̇      θ̇ ← θ̇ + τ θ̈

Reward 1 for every step, the last one included. An episode is *terminated* when the new state has
|x| > 2.4 or |θ| > 12° and *truncated* when it reaches 500 steps (both can happen on step 500).
Start states are uniform in (−0.05, 0.05)⁴: with the same seed, :func:`reset_states` draws exactly
what ``env.reset(seed=seed)`` draws (``np.random.default_rng(seed)`` is gymnasium's generator).

The formulas are written in the same order as gymnasium's, so the states agree with it bit for
bit (gymnasium hands the agent float32 copies of its float64 state; here the policy sees the
float64 state itself).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from calc_core.common.jit import HAVE_NUMBA, compile as _compile  # noqa: F401 - numba, or the loop as Python


GRAVITY = 9.8
MASS_CART = 1.0
MASS_POLE = 0.1
TOTAL_MASS = MASS_POLE + MASS_CART
LENGTH = 0.5  # half the pole's length
POLEMASS_LENGTH = MASS_POLE * LENGTH
FORCE_MAG = 10.0
TAU = 0.02  # seconds per step
THETA_THRESHOLD = 12 * 2 * math.pi / 360  # 12° in radians
X_THRESHOLD = 2.4
MAX_EPISODE_STEPS = 500
RESET_BOUND = 0.05
STATE_NAMES = ("x", "x_dot", "theta", "theta_dot")


@dataclass(frozen=True)
class Transition:
    """One step of a batch: the new states and, per environment, reward and end flags."""

    states: np.ndarray  # (n, 4)
    rewards: np.ndarray  # (n,) always 1.0
    terminated: np.ndarray  # (n,) bool: the pole fell or the cart left the track
    truncated: np.ndarray  # (n,) bool: the episode reached MAX_EPISODE_STEPS


def reset_states(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` start states, each coordinate uniform in (−0.05, 0.05), shape (n, 4)."""
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"the number of environments must be a whole number ≥ 1, got {n!r}")
    return rng.uniform(low=-RESET_BOUND, high=RESET_BOUND, size=(int(n), 4))


def _as_batch(states, actions) -> tuple[np.ndarray, np.ndarray]:
    states = np.ascontiguousarray(states, dtype=float)
    if states.ndim != 2 or states.shape[1] != 4:
        raise ValueError(f"states must have shape (n, 4) = (x, ẋ, θ, θ̇) rows, got {states.shape}")
    actions = np.asarray(actions)
    if actions.shape != (states.shape[0],):
        raise ValueError(
            f"actions must have shape ({states.shape[0]},), one per state, got {actions.shape}"
        )
    if actions.size and not np.all((actions == 0) | (actions == 1)):
        raise ValueError("actions must be 0 (push left) or 1 (push right)")
    return states, actions == 1


def _euler_step(states, push_right):
    """One Euler step of every row of ``states`` (n, 4); ``push_right`` is a bool array (n,)."""
    next_states = np.empty_like(states)
    for k in range(states.shape[0]):
        x, x_dot, theta, theta_dot = states[k, 0], states[k, 1], states[k, 2], states[k, 3]
        # F = +10 N to the right, −10 N to the left
        force = FORCE_MAG if push_right[k] else -FORCE_MAG
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
        # temp = (F + m_p l θ̇² sin θ) / M
        temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS
        # θ̈ = (g sin θ − cos θ · temp) / (l (4/3 − m_p cos² θ / M))
        thetaacc = (GRAVITY * sintheta - costheta * temp) / (
            LENGTH * (4.0 / 3.0 - MASS_POLE * (costheta * costheta) / TOTAL_MASS)
        )
        # ẍ = temp − m_p l θ̈ cos θ / M
        xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
        # x ← x + τ ẋ,  ẋ ← ẋ + τ ẍ,  θ ← θ + τ θ̇,  θ̇ ← θ̇ + τ θ̈  (all from the old state)
        next_states[k, 0] = x + TAU * x_dot
        next_states[k, 1] = x_dot + TAU * xacc
        next_states[k, 2] = theta + TAU * theta_dot
        next_states[k, 3] = theta_dot + TAU * thetaacc
    return next_states


def _is_terminal(states):
    """|x| > 2.4 or |θ| > 12° per row of ``states`` (n, 4)."""
    done = np.empty(states.shape[0], dtype=np.bool_)
    for k in range(states.shape[0]):
        x, theta = states[k, 0], states[k, 2]
        done[k] = x < -X_THRESHOLD or x > X_THRESHOLD or theta < -THETA_THRESHOLD or theta > THETA_THRESHOLD
    return done


# A step of a few environments is ~30 tiny numpy operations of a microsecond or two each; numba
# compiles this loop into one call. Written as a scalar loop, not array code: numba compiles a loop
# in well under a second, array expressions in several seconds (paid on every fresh deploy).
euler_step_kernel = _compile(_euler_step)
is_terminal_kernel = _compile(_is_terminal)
#: The Python source of the step, for the page's "code that ran" panel.
euler_step_python = _euler_step


def euler_step(states, actions) -> np.ndarray:
    """The next states (n, 4) after one Euler step of τ under actions (n,) in {0, 1}."""
    return euler_step_kernel(*_as_batch(states, actions))


def is_terminal(states) -> np.ndarray:
    """True where |x| > 2.4 or |θ| > 12°, for states (n, 4)."""
    states = np.ascontiguousarray(states, dtype=float)
    if states.ndim != 2 or states.shape[1] != 4:
        raise ValueError(f"states must have shape (n, 4) = (x, ẋ, θ, θ̇) rows, got {states.shape}")
    return is_terminal_kernel(states)


def step(states, actions, steps_taken) -> Transition:
    """One step of every environment in the batch.

    ``steps_taken`` counts the steps each environment has already taken in its episode (0 after a
    reset); the step that makes it ``MAX_EPISODE_STEPS`` is truncated. Environments whose
    episode has ended must not be stepped again: leave them out of the batch (mask them).
    """
    states, push_right = _as_batch(states, actions)
    steps_taken = np.broadcast_to(np.asarray(steps_taken), (states.shape[0],))
    if steps_taken.size and (steps_taken.min() < 0 or steps_taken.max() >= MAX_EPISODE_STEPS):
        raise ValueError(
            f"steps_taken must lie in 0 … {MAX_EPISODE_STEPS - 1}: an episode that has taken "
            f"{MAX_EPISODE_STEPS} steps is over, got {steps_taken.min()} … {steps_taken.max()}"
        )
    next_states = euler_step_kernel(states, push_right)
    return Transition(
        states=next_states,
        rewards=np.ones(states.shape[0]),
        terminated=is_terminal_kernel(next_states),
        truncated=steps_taken + 1 >= MAX_EPISODE_STEPS,
    )
