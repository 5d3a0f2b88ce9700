r"""Scaled dot-product attention, the softmax Jacobian, and backprop through attention by hand.

Notation (the page shows the same formulas). Queries Q: (n_q, d_k), keys K: (n_k, d_k),
values V: (n_k, d_v), a boolean mask M: (n_q, n_k) with True = "query i may attend to key j":

    c    = 1 / (√d_k · T)   with scaling,   c = 1 / T   without          logit factor
    S    = c · Q Kᵀ                                                      logits (n_q, n_k)
    P    = softmax(S) row by row, over the keys j with M_ij = True       weights (n_q, n_k)
    O    = P V                                                           output (n_q, d_v)

Temperature T and the √d_k scaling multiply: T = 1 with scaling is the textbook
softmax(Q Kᵀ / √d_k) V; T < 1 sharpens the weights, T > 1 flattens them.

Softmax of one row z and its Jacobian (δ_ij = 1 if i = j else 0):

    s_i = e^{z_i − m} / Σ_j e^{z_j − m},   m = max_j z_j        (the shift by m changes nothing
                                                                  but keeps e^{…} ≤ 1: no overflow)
    ∂s_i/∂z_j = s_i (δ_ij − s_j),   i.e.  J = diag(s) − s sᵀ

J is symmetric, its rows sum to 0 (the s_i always sum to 1) and it is positive semi-definite.
Pulling a gradient g = ∂L/∂s back through the softmax never needs J itself:

    ∂L/∂z = Jᵀ g = s ⊙ (g − (g · s))

Backward pass, given dO = ∂L/∂O (every d· is ∂L/∂·):

    dV = Pᵀ dO
    dP = dO Vᵀ
    dS = P ⊙ (dP − rowsum(dP ⊙ P))        the softmax rule above, one row at a time (dP shifted by
                                          its entry at the row's largest weight, see softmax_backward)
    dQ = c · dS K
    dK = c · dSᵀ Q

Masking rule. A masked key gets weight exactly 0 (its logit is treated as −∞), so it adds nothing
to the output and receives no gradient. A query whose row is masked entirely has nothing to attend
to: its weights are all 0, its output row is 0, and no gradient flows through it (dS row = 0).
The same rule holds for ``softmax`` itself: a row whose logits are all −∞ comes out as zeros.

Every function computes in the precision it is given: float64, or np.longdouble (about three more
digits) when all its inputs are — the gradient check runs this same code in extended precision to
measure how many digits the float64 backward pass keeps.
"""

from __future__ import annotations

import numpy as np


def softmax(x, axis: int = -1, mask=None) -> np.ndarray:
    """Numerically stable softmax along ``axis``.

    Parameters
    ----------
    x : array_like
        Logits: finite numbers or −∞ (an entry that takes no part). NaN and +∞ are refused.
    axis : int
        The axis that sums to 1.
    mask : array_like of bool, optional
        Broadcastable to ``x``; False entries are excluded (weight exactly 0).

    Returns
    -------
    s : ndarray, same shape as ``x``. Slices along ``axis`` sum to 1, except a slice with no
        allowed entry (all masked or all −∞), which is all zeros.
    """
    z = _real(x)
    if z.ndim == 0 or z.shape[axis] == 0:
        raise ValueError(f"softmax needs at least one entry along axis {axis}, got shape {z.shape}")
    if np.isnan(z).any() or np.isposinf(z).any():
        raise ValueError("softmax logits must be finite numbers (or −∞ for an excluded entry); "
                         "got NaN or +∞")
    if mask is not None:
        z = np.where(_as_bool("mask", mask), z, -np.inf)
    # m = max_j z_j; a row with no allowed entry has m = −∞ and is shifted by 0 instead
    m = np.max(z, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(z - m)
    total = np.sum(e, axis=axis, keepdims=True)
    # s_i = e^{z_i − m} / Σ_j e^{z_j − m}   (Σ = 0 only for a row with nothing allowed: s = 0)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def softmax_backward(s, grad_s, axis: int = -1) -> np.ndarray:
    """∂L/∂z from the softmax output s and ∂L/∂s, without forming the Jacobian.

    ∂L/∂z = Jᵀ g = s ⊙ (g − Σ_j g_j s_j) along ``axis``, for s a softmax output: each row sums to 1
    (or is all zero, a fully masked row, which gives a zero row).

    Computed so that it keeps its digits where the softmax saturates: for the largest entry t of a
    row with s_t ≈ 1, g_t − Σ_j g_j s_j subtracts two numbers ≈ g_t to get one of size ≈ (1 − s_t)|g|,
    and in float64 loses most of its digits. Since Σ_j s_j = 1, g may be shifted by any constant
    without changing the result; shifted by g_t, the sum holds only the small entries' terms and
    nothing cancels.
    """
    s, g = _real(s), _real(grad_s)
    if s.shape != g.shape:
        raise ValueError(f"the softmax output has shape {s.shape} but its gradient has shape "
                         f"{g.shape}; they must match")
    top = np.expand_dims(np.argmax(s, axis=axis), axis)
    # g′ = g − g_t, t = argmax_j s_j
    shifted = g - np.take_along_axis(g, top, axis)
    # ∂L/∂z = s ⊙ (g′ − (g′ · s))   (= s ⊙ (g − (g · s)))
    return s * (shifted - np.sum(shifted * s, axis=axis, keepdims=True))


def softmax_jacobian(s) -> np.ndarray:
    """Jacobian J = diag(s) − s sᵀ of the softmax at output ``s`` (J_ij = ∂s_i/∂z_j).

    Parameters
    ----------
    s : array_like, shape (d,) or (n, d)
        A softmax output: one probability vector, or one per row. Each row must be ≥ 0 and sum to
        1 (or be all zero: a fully masked row, whose Jacobian is 0).

    Returns
    -------
    J : ndarray, shape (d, d) for a vector, (n, d, d) for rows — one Jacobian per row, because
        a row-wise softmax never mixes rows.
    """
    s = np.asarray(s, dtype=float)
    if s.ndim not in (1, 2) or s.shape[-1] == 0:
        raise ValueError(f"softmax_jacobian takes a probability vector (d,) or rows (n, d), "
                         f"got shape {s.shape}")
    sums = s.sum(axis=-1)
    is_distribution = np.isclose(sums, 1.0, atol=1e-6) | np.all(s == 0, axis=-1)
    if not (np.all(np.isfinite(s)) and np.all(s >= 0) and np.all(is_distribution)):
        raise ValueError("softmax_jacobian takes softmax outputs (each row ≥ 0, summing to 1); "
                         f"got row sums {np.round(np.atleast_1d(sums)[:4], 4).tolist()}"
                         " — pass softmax(z), not the logits z")
    # J = diag(s) − s sᵀ   (batched over rows)
    eye = np.eye(s.shape[-1])
    return s[..., :, None] * eye - s[..., :, None] * s[..., None, :]


def causal_mask(n: int) -> np.ndarray:
    """Boolean (n, n) mask, lower triangle: query i may attend to keys j ≤ i (True = attend)."""
    if isinstance(n, bool) or not float(n).is_integer() or n < 1:
        raise ValueError(f"causal_mask needs a sequence length n ≥ 1, got {n!r}")
    return np.tri(int(n), dtype=bool)


def logit_factor(d_k: int, scale: bool = True, temperature: float = 1.0) -> float:
    """c in S = c · Q Kᵀ: 1 / (√d_k · T) with scaling, 1 / T without."""
    temperature = float(temperature)
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive number, got {temperature}")
    # c = 1 / (√d_k · T)  or  1 / T
    return 1.0 / (np.sqrt(d_k) * temperature) if scale else 1.0 / temperature


def scaled_dot_product_attention(Q, K, V, mask=None, scale: bool = True, temperature: float = 1.0):
    """Single-head attention O = softmax(c · Q Kᵀ) V.

    Parameters
    ----------
    Q : array_like, shape (n_q, d_k)
    K : array_like, shape (n_k, d_k)
    V : array_like, shape (n_k, d_v)
    mask : array_like of bool, shape (n_q, n_k), optional
        True = query i may attend to key j. See the module docstring for fully masked rows.
    scale : bool
        Divide the logits by √d_k.
    temperature : float
        T > 0; the logits are divided by T as well (see ``logit_factor``).

    Returns
    -------
    output : ndarray, shape (n_q, d_v)
    weights : ndarray, shape (n_q, n_k) — each row sums to 1 (0 for a fully masked row).
    """
    Q, K, V, mask = _validate(Q, K, V, mask)
    c = logit_factor(Q.shape[1], scale, temperature)
    # S = c · Q Kᵀ
    S = c * (Q @ K.T)
    # P = softmax(S) over the allowed keys of each row
    P = softmax(S, axis=-1, mask=mask)
    # O = P V
    return P @ V, P


def attention_backward(Q, K, V, grad_output, mask=None, scale: bool = True,
                       temperature: float = 1.0):
    """Gradients (dQ, dK, dV) of a scalar loss L, given dO = ∂L/∂O for O from
    ``scaled_dot_product_attention(Q, K, V, mask, scale, temperature)``.

    Derived by hand (module docstring); the forward weights P are recomputed, which costs one
    small matrix product. Masked keys get zero gradient; a fully masked query row gets none.
    """
    Q, K, V, mask = _validate(Q, K, V, mask)
    dO = _real(grad_output)
    if dO.shape != (Q.shape[0], V.shape[1]):
        raise ValueError(f"grad_output has shape {dO.shape}, but the output O = P V has shape "
                         f"(n_q, d_v) = {(Q.shape[0], V.shape[1])}")
    if not np.all(np.isfinite(dO)):
        raise ValueError("grad_output contains NaN or infinite entries")
    c = logit_factor(Q.shape[1], scale, temperature)
    P = softmax(c * (Q @ K.T), axis=-1, mask=mask)
    # dV = Pᵀ dO
    dV = P.T @ dO
    # dP = dO Vᵀ
    dP = dO @ V.T
    # dS = P ⊙ (dP − rowsum(dP ⊙ P))
    dS = softmax_backward(P, dP, axis=-1)
    # dQ = c · dS K,   dK = c · dSᵀ Q
    return c * (dS @ K), c * (dS.T @ Q), dV


def _real(x) -> np.ndarray:
    """x as a float64 array, or as it is when it already holds np.longdouble."""
    x = np.asarray(x)
    return x if x.dtype == np.longdouble else np.asarray(x, dtype=float)


def _as_bool(name: str, mask) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise ValueError(f"{name} must be a boolean array (True = attend), got dtype {mask.dtype}; "
                         "an additive mask of 0 / −∞ is not accepted here")
    return mask


def _as_matrix(name: str, x, width: str) -> np.ndarray:
    x = _real(x)
    if x.ndim != 2 or 0 in x.shape:
        raise ValueError(f"{name} must be a non-empty 2-D array of shape {width}, "
                         f"got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return x


def _validate(Q, K, V, mask):
    """Q, K, V as float matrices whose shapes fit together, and the mask as bool (or None)."""
    Q = _as_matrix("Q", Q, "(n_q, d_k)")
    K = _as_matrix("K", K, "(n_k, d_k)")
    V = _as_matrix("V", V, "(n_k, d_v)")
    if Q.shape[1] != K.shape[1]:
        raise ValueError(f"Q has shape {Q.shape} and K has shape {K.shape}: queries and keys "
                         f"must have the same width d_k ({Q.shape[1]} ≠ {K.shape[1]})")
    if K.shape[0] != V.shape[0]:
        raise ValueError(f"K has shape {K.shape} and V has shape {V.shape}: there must be one "
                         f"value per key ({K.shape[0]} ≠ {V.shape[0]} rows)")
    if mask is not None:
        mask = _as_bool("mask", mask)
        if mask.shape != (Q.shape[0], K.shape[0]):
            raise ValueError(f"mask has shape {mask.shape}, but Q {Q.shape} and K {K.shape} "
                             f"need a mask of shape (n_q, n_k) = {(Q.shape[0], K.shape[0])}")
    return Q, K, V, mask
