r"""The gradient check of the code that trained: ĝ's ∇θ log π against values of log π alone.

Training steps along ĝ = Σ_t w_t ∇θ log π(a_t|s_t) (calc_core.policy_gradient.reinforce), computed by
``policy_backward`` from the weights w_t of ``step_weights``. With the w_t held fixed that is the
gradient of the surrogate

    f(θ) = Σ_t w_t log π_θ(a_t|s_t),

so the check runs the trained policy for one batch as training would, takes the weights training
would use (same baseline, γ, form and M), and compares ``policy_backward``'s gradient on a seeded
sample of CHECK_STEPS of those steps with derivative-free estimates of ∇f made from values of log π
alone (calc_core.common.gradcheck: Ridders' extrapolation with error bars, every value of f computed
in extended precision, np.longdouble). The verdict is the shared one: pass, fail, or too flat to
check at this precision.

The error bars need the sizes the arithmetic works with, given to the check:

* f is a sum of terms w_t log π_t that may cancel, and log π_t = (z_a − m) − log1p(Σ_{b≠top} e^{z_b − m})
  is exact to rounding of the logits, ε·Z_t with Z_t = max_b Σ_j |h_j W2_jb| + |b2_b|, relative to
  |log π_t|: so ``f_scale`` = Σ_t |w_t| |log π_t| (1 + Z_t). (For a policy near 50/50 that is about
  Σ_t |w_t|; for a policy sure of itself, where log π_t ≈ −1e-20, it is that much smaller, and a
  gradient of that size can still be checked.)
* ``policy_backward`` keeps its digits (e_a − π from the small probabilities, tanh′ as sech²), so
  its rounding is a few ε times the same sums taken over absolute values (``analytic_error``).
"""

from __future__ import annotations

import numpy as np

from calc_core.common.gradcheck import START_FRACTION, GradientCheck, check_gradients, coordinate_scales
from calc_core.policy_gradient.network import (PARAMETER_NAMES, log_prob, policy_backward, policy_forward,
                                               tanh_derivative)
from calc_core.policy_gradient.reinforce import step_weights
from calc_core.policy_gradient.rollout import draw_episode_noise, rollout_compiled

ANALYTIC_ROUNDING = 16.0  # roundings per term of the backward pass, generously
FIRST_MOVE = 0.05  # Ridders' first step moves u or z by at most this
CHECK_STEPS = 12  # steps of the batch whose terms are checked
MAX_COORDS = 24  # coordinates of a parameter checked one by one (plus two directions through all)


def checked_params(params) -> dict[str, np.ndarray]:
    """W1, b1, W2, b2 as float arrays; ValueError when one is missing or not finite."""
    missing = [name for name in PARAMETER_NAMES if name not in params]
    if missing:
        raise ValueError(f"params must hold {list(PARAMETER_NAMES)}; missing {missing}")
    params = {name: np.asarray(params[name], dtype=float) for name in PARAMETER_NAMES}
    if not all(np.all(np.isfinite(value)) for value in params.values()):
        raise ValueError("params contain NaN or infinite values (training diverged)")
    return params


def surrogate(params, states, actions, weights):
    """f(θ) = Σ_t w_t log π_θ(a_t|s_t) (np.longdouble parameters and weights give np.longdouble)."""
    return weights @ log_prob(params, states, actions)


def log_prob_checks(params, states, actions, weights, analytic=None, *, max_coords: int | None = MAX_COORDS,
                    seed: int = 0) -> tuple[GradientCheck, ...]:
    """∇θ Σ_t w_t log π(a_t|s_t): ``analytic`` (default: ``policy_backward``'s) against derivative-free
    estimates, one check per parameter, every value of f in extended precision."""
    params = checked_params(params)
    states, actions = np.asarray(states, dtype=float), np.asarray(actions, dtype=np.intp)
    weights = np.asarray(weights, dtype=float)
    if analytic is None:
        h, probs = policy_forward(params, states)
        analytic = policy_backward(params, states, h, probs, actions, weights)
    wide = weights.astype(np.longdouble)
    wide_params = {name: value.astype(np.longdouble) for name, value in params.items()}
    f_scale, rounding = rounding_scales(params, states, actions, weights)
    steps = first_steps(params, states)
    checks = []
    for n, name in enumerate(PARAMETER_NAMES):
        checks += check_gradients(
            lambda q: float(surrogate({**params, **q}, states, actions, weights)), {name: params[name]},
            {name: analytic[name]}, step=steps[name], max_coords=max_coords, seed=seed + n, f_scale=f_scale,
            analytic_error={name: rounding[name]},
            extended=lambda q: surrogate({**wide_params, **q}, states, actions, wide))
    return tuple(checks)


def first_steps(params, states) -> dict[str, np.ndarray]:
    """Ridders' first step h₀ per coordinate: the check's default (a tenth of the coordinate's
    scale), but never one that moves the unit's input u (for W1, b1) or the logits z (for W2, b2) by
    more than FIRST_MOVE — a tenth of a large weight can move u across the whole bend of a tanh."""
    reach = np.maximum(np.abs(states).max(axis=0), 1e-300)[:, None] if states.size else 1.0
    move = {"W1": FIRST_MOVE / reach, "b1": FIRST_MOVE, "W2": FIRST_MOVE, "b2": FIRST_MOVE}
    return {name: np.minimum(START_FRACTION * coordinate_scales(params[name].reshape(-1)).reshape(params[name].shape),
                             move[name]) for name in PARAMETER_NAMES}


def rounding_scales(params, states, actions, weights) -> tuple[float, dict[str, np.ndarray]]:
    """(f_scale, analytic_error) of the module docstring: Σ_t |w_t| |log π_t| (1 + Z_t), and
    ANALYTIC_ROUNDING·ε times ∇θ Σ_t w_t log π_t taken over absolute values."""
    h, probs = policy_forward(params, states)
    # Z_t = max_b Σ_j |h_tj W2_jb| + |b2_b|: the size of the sums that make the logits
    logit_size = (np.abs(h) @ np.abs(params["W2"]) + np.abs(params["b2"])).max(axis=1)
    f_scale = float(np.sum(np.abs(weights) * np.abs(log_prob(params, states, actions)) * (1.0 + logit_size)))
    rows = np.arange(actions.size)
    dz = probs.copy()
    dz[rows, actions] = np.where(np.arange(probs.shape[1]) == actions[:, None], 0.0, probs).sum(axis=1)
    dz *= np.abs(weights)[:, None]  # |e_a − π| |w_t|
    du = (dz @ np.abs(params["W2"]).T) * tanh_derivative(states @ params["W1"] + params["b1"])
    eps = ANALYTIC_ROUNDING * np.finfo(float).eps
    return f_scale, {"W1": eps * (np.abs(states).T @ du), "b1": eps * du.sum(axis=0),
                     "W2": eps * (np.abs(h).T @ dz), "b2": eps * dz.sum(axis=0)}


def training_gradient_checks(params, gamma: float, baseline: str, form: str, episodes_per_update: int,
                             seed: int = 0, value_params=None,
                             steps: int = CHECK_STEPS) -> tuple[tuple[GradientCheck, ...], int]:
    """The check of ĝ at θ = ``params``: one batch run as training runs it, the weights w_t training
    would give its steps, and ``policy_backward``'s gradient on ``steps`` of them (seeded). Returns
    the checks and the number of steps checked."""
    params = checked_params(params)
    rng = np.random.default_rng([seed, 5])
    batch = rollout_compiled(params, *draw_episode_noise(rng, episodes_per_update))
    if baseline == "value" and value_params is None:  # no value network to hand: the weights are held fixed anyway
        baseline = "none"
    states, actions, _, _, weights = step_weights(batch, gamma, baseline, form, value_params)
    pick = np.sort(rng.choice(weights.size, min(steps, weights.size), replace=False))
    states, actions, weights = states[pick], actions[pick], weights[pick]
    h, probs = policy_forward(params, states)
    analytic = policy_backward(params, states, h, probs, actions, weights)
    return log_prob_checks(params, states, actions, weights, analytic, seed=seed), int(pick.size)
