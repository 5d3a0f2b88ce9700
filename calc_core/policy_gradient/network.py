r"""The softmax policy π_θ(a|s) with one hidden layer, its ∇θ log π by hand, and a value baseline.

Policy (rows are states, as in the tutorial; A = 2 actions, H hidden units):

    u = s W1 + b1            (H,)    W1: (4, H)
    h = tanh(u)              (H,)
    z = h W2 + b2            (A,)    W2: (H, A)   logits
    π(a|s) = softmax(z)_a = exp(z_a) / Σ_b exp(z_b)

Log-probability of the action taken and its gradient — the log-derivative trick turns the
gradient of an expectation into an expectation of ∇θ log π, and the softmax makes that simple:

    log π(a|s) = z_a − log Σ_b exp(z_b)
    ∂ log π(a|s) / ∂z = e_a − π(·|s)                 (one-hot of a minus the probabilities)
    ∂/∂W2 = hᵀ (e_a − π)        ∂/∂b2 = e_a − π
    ∂/∂h  = (e_a − π) W2ᵀ       ∂/∂u  = ∂/∂h ⊙ (1 − h²)      (tanh′ = 1 − tanh² = sech²)
    ∂/∂W1 = sᵀ ∂/∂u             ∂/∂b1 = ∂/∂u

Over a batch of steps with weights w_t, everything is summed: ∇θ Σ_t w_t log π(a_t|s_t).

Value baseline V_φ(s) (same shape of network, one output), fitted to the returns G_t by
gradient descent on L = ½ mean_t (V_φ(s_t) − G_t)²:

    k = tanh(s V1 + c1)      V = k v2 + c2
    ∂L/∂V_t = (V_t − G_t) / N,   then back through the layer as above.
"""

from __future__ import annotations

import numpy as np

PARAMETER_NAMES = ("W1", "b1", "W2", "b2")
VALUE_PARAMETER_NAMES = ("V1", "c1", "v2", "c2")
N_STATE = 4
N_ACTIONS = 2


def init_policy(hidden_units: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """W1 ~ N(0, 1/4), W2 ~ N(0, 0.01/H): the policy starts close to 50/50 in every state."""
    return {
        "W1": rng.normal(0.0, 1.0 / np.sqrt(N_STATE), (N_STATE, hidden_units)),
        "b1": np.zeros(hidden_units),
        "W2": rng.normal(0.0, 0.1 / np.sqrt(hidden_units), (hidden_units, N_ACTIONS)),
        "b2": np.zeros(N_ACTIONS),
    }


def policy_forward(params, states) -> tuple[np.ndarray, np.ndarray]:
    """Hidden activations h (n, H) and action probabilities π (n, A) of a batch of states."""
    # h = tanh(s W1 + b1)
    h = np.tanh(states @ params["W1"] + params["b1"])
    # z = h W2 + b2
    z = h @ params["W2"] + params["b2"]
    # π = softmax(z), shifted by max z so that exp never overflows
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def policy_backward(params, states, h, probs, actions, weights) -> dict[str, np.ndarray]:
    """∇θ Σ_t w_t log π(a_t|s_t) from the forward pass's h and π (see the module docstring).

    Written to keep its digits where the policy is sure of itself: the a-th entry of e_a − π is
    1 − π_a = Σ_{b≠a} π_b, summed from the small π_b (1 − π_a would be 0 once π_a rounds to 1), and
    tanh′ = 1 − h² is computed from u as sech² u = 4e^{−2|u|} / (1 + e^{−2|u|})² (1 − h² loses every
    digit when |u| is large: a saturated unit)."""
    rows = np.arange(actions.size)
    chosen = np.zeros(probs.shape, dtype=bool)
    chosen[rows, actions] = True
    # ∂ log π(a|s)/∂z = e_a − π:  −π_b for b ≠ a,  Σ_{b≠a} π_b for b = a;  weighted by w_t
    others = np.where(chosen, 0.0, probs).sum(axis=1, keepdims=True)
    dz = np.where(chosen, others, -probs) * weights[:, None]
    # ∂/∂h = (e_a − π) W2ᵀ,   ∂/∂u = ∂/∂h ⊙ (1 − h²),   1 − h² = sech² u
    du = (dz @ params["W2"].T) * tanh_derivative(states @ params["W1"] + params["b1"])
    return {"W1": states.T @ du, "b1": du.sum(axis=0), "W2": h.T @ dz, "b2": dz.sum(axis=0)}


def tanh_derivative(u):
    """tanh′(u) = 1 − tanh² u = sech² u = 4e^{−2|u|} / (1 + e^{−2|u|})², accurate for every u."""
    e = np.exp(-2.0 * np.abs(u))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


def _check_states(states) -> np.ndarray:
    states = np.asarray(states, dtype=float)
    if states.ndim != 2 or states.shape[1] != N_STATE:
        raise ValueError(f"states must have shape (n, 4) = (x, ẋ, θ, θ̇) rows, got {states.shape}")
    return states


def _check_actions(actions, n: int) -> np.ndarray:
    actions = np.asarray(actions)
    if actions.shape != (n,):
        raise ValueError(f"actions must have shape ({n},), one per state, got {actions.shape}")
    if n and not np.all((actions == 0) | (actions == 1)):
        raise ValueError("actions must be 0 (push left) or 1 (push right)")
    return actions.astype(np.intp)


def action_probs(params, states) -> np.ndarray:
    """π(a|s) for each row of ``states`` (n, 4): shape (n, 2), columns = (left, right)."""
    return policy_forward(params, _check_states(states))[1]


def log_prob(params, states, actions) -> np.ndarray:
    """log π(a_t|s_t) per step, z_a − logsumexp(z) computed as (z_a − m) − log1p(Σ_{b≠top} e^{z_b − m})
    with m = z_top the largest logit: exact to rounding even when π(a|s) is within 1e-300 of 1.
    Dtype-generic: np.longdouble parameters give np.longdouble log-probabilities."""
    states = _check_states(states)
    actions = _check_actions(actions, states.shape[0])
    h = np.tanh(states @ params["W1"] + params["b1"])
    z = h @ params["W2"] + params["b2"]
    rows = np.arange(actions.size)
    top = z.argmax(axis=1)
    m = z[rows, top]
    e = np.exp(z - m[:, None])
    e[rows, top] = 0.0
    # log π(a|s) = z_a − log Σ_b e^{z_b} = (z_a − m) − log(1 + Σ_{b≠top} e^{z_b − m})
    return (z[rows, actions] - m) - np.log1p(e.sum(axis=1))


def log_prob_gradient(params, states, actions, weights=None) -> dict[str, np.ndarray]:
    """∇θ Σ_t w_t log π(a_t|s_t) for θ = W1, b1, W2, b2 (w_t = 1 when ``weights`` is None)."""
    states = _check_states(states)
    actions = _check_actions(actions, states.shape[0])
    if weights is None:
        weights = np.ones(states.shape[0])
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (states.shape[0],):
        raise ValueError(f"weights must have shape ({states.shape[0]},), got {weights.shape}")
    h, probs = policy_forward(params, states)
    return policy_backward(params, states, h, probs, actions, weights)


def entropy(probs) -> np.ndarray:
    """H(π(·|s)) = −Σ_a π(a|s) log π(a|s) per row, in nats (log 2 ≈ 0.693 for a coin flip)."""
    probs = np.asarray(probs, dtype=float)
    # 0 · log 0 = 0
    return -np.sum(probs * np.log(np.where(probs > 0, probs, 1.0)), axis=-1)


def init_value(hidden_units: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Value network V_φ with the policy's hidden width; it starts at V ≡ 0."""
    return {
        "V1": rng.normal(0.0, 1.0 / np.sqrt(N_STATE), (N_STATE, hidden_units)),
        "c1": np.zeros(hidden_units),
        "v2": np.zeros(hidden_units),
        "c2": np.zeros(()),
    }


def value_forward(value_params, states) -> tuple[np.ndarray, np.ndarray]:
    """Hidden activations k (n, H) and values V (n,)."""
    # k = tanh(s V1 + c1)
    k = np.tanh(states @ value_params["V1"] + value_params["c1"])
    # V = k v2 + c2
    return k, k @ value_params["v2"] + value_params["c2"]


def value_loss_gradient(value_params, states, returns) -> tuple[float, dict[str, np.ndarray]]:
    """L = ½ mean (V(s_t) − G_t)² and ∂L/∂φ."""
    k, values = value_forward(value_params, states)
    error = values - returns
    # ∂L/∂V_t = (V_t − G_t) / N
    d_values = error / error.size
    # ∂/∂k = ∂L/∂V · v2ᵀ,  ∂/∂(s V1 + c1) = ∂/∂k ⊙ (1 − k²)
    d_pre = np.outer(d_values, value_params["v2"]) * (1.0 - k * k)
    grads = {
        "V1": states.T @ d_pre,
        "c1": d_pre.sum(axis=0),
        "v2": k.T @ d_values,
        "c2": np.asarray(d_values.sum()),
    }
    return float(0.5 * np.mean(error * error)), grads
