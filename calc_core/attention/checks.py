r"""The Attention page's gradient check: the hand-derived dQ, dK, dV of L = ½‖O − Y‖² against
derivative-free estimates of the change of L, with error bars that account for the arithmetic.

Why a *change* function. Without the √d_k (or at a low temperature) most rows are one-hot: L ≈ 24
while ∂L/∂Q is ~10⁻¹¹ in those rows, so L(Q + h e_k) − L(Q − h e_k) lies below one rounding step
of L and a central difference reads exactly 0 — the false "Fail" the page used to show. So the
check differentiates the change ΔL = L(Q′, K′, V′) − L(Q, K, V), computed from the perturbation
itself, which keeps its digits however small it is (dtype-generic: run on np.longdouble as well):

    Δz   = c (ΔQ K′ᵀ + Q ΔKᵀ)                                   (= c Q′K′ᵀ − c QKᵀ)
    Δz_ij ← Δz_ij − Δz_{i t_i},  t_i = argmax_j P_ij            (a per-row shift changes no softmax,
                                                                  and makes the dominant term exactly 0)
    Δlse = log Σ_j P_ij e^{Δz_ij} = log1p(Σ_j P_ij expm1(Δz_ij))
    ΔP   = P′ − P = P ⊙ expm1(Δz − Δlse)
    ΔO   = O′ − O = ΔP V′ + P ΔV
    ΔL   = Σ ΔO ⊙ (O − Y) + ½ ‖ΔO‖²

Why an analytic error bar. The float64 backward pass rounds too, and in a saturated row the plain
softmax rule dS = P ⊙ (dP − rowsum(dP ⊙ P)) would subtract two numbers of size |dP| to get one of
size ~P_second·|dP| for the dominant key, losing most of its digits. ``softmax_backward`` shifts
dP by its entry at the row's top key first (exact, since Σ P = 1), which removes that cancellation;
what rounding is left is measured and bounded: the same backward (calc_core.attention.core,
dtype-generic) is run on np.longdouble, and the error bar of the analytic gradient is

    |g_float64 − g_extended| + 2 B_extended,

where B_extended is a first-order rounding bound of the extended computation (``rounding_bound``,
ε ≈ 1.1·10⁻¹⁹, following the shifted form): once for the extended backward, once for the extended
reference's own P. A wrong formula is wrong in both precisions alike, so the bar never hides it.

The coordinates checked one by one reach every structurally different part (``structural_groups``):
queries that see one key only, saturated queries and the rest; keys that dominate a saturated row,
keys almost no query attends to, keys some query may not see, and the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calc_core.attention.core import attention_backward, logit_factor, scaled_dot_product_attention
from calc_core.attention.problem import SATURATED, AttentionProblem
from calc_core.common.gradcheck import ANALYTIC_ULPS, START_FRACTION, GradientCheck, check_gradients

#: Coordinates of each of Q, K, V checked one by one (all of them for a smaller parameter).
CHECKED_COORDINATES = 16
#: The first step of the check moves no logit by more than this (in nats): ΔL stays smooth over it,
#: where 0.1 × the coordinate's size can move a logit of an unscaled row by several nats.
LOGIT_STEP = 0.1
#: A key whose total weight Σ_i P_ij is below this is "hardly attended to" (a group of its own).
UNATTENDED = 1e-6


def attention_loss(Q, K, V, target, mask=None, scale=True, temperature=1.0) -> float:
    """L = ½ ‖O − Y‖² for O = attention(Q, K, V)."""
    output, _ = scaled_dot_product_attention(Q, K, V, mask, scale, temperature)
    # L = ½ ‖O − Y‖²
    return 0.5 * float(np.sum((output - target) ** 2))


@dataclass(frozen=True)
class ForwardState:
    """The forward pass at (Q, K, V) in one precision: what ΔL is computed from."""

    Q: np.ndarray
    K: np.ndarray
    V: np.ndarray
    mask: np.ndarray
    c: float
    weights: np.ndarray  # P
    residual: np.ndarray  # O − Y
    top: np.ndarray  # t_i = argmax_j P_ij


def forward_state(Q, K, V, target, mask, scale, temperature, dtype=np.float64) -> ForwardState:
    """The forward pass in ``dtype`` (np.float64 or np.longdouble)."""
    Q, K, V, target = (np.asarray(a, dtype=float).astype(dtype) for a in (Q, K, V, target))
    output, P = scaled_dot_product_attention(Q, K, V, mask, scale, temperature)
    return ForwardState(Q, K, V, mask, logit_factor(Q.shape[1], scale, temperature), P, output - target,
                        np.argmax(P, axis=1))


def _moved_rows(delta: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.any(delta != 0, axis=1))


def attention_loss_change(state: ForwardState, Q=None, K=None, V=None):
    """L(Q′, K′, V′) − L at ``state``, from the perturbation (module docstring), in the state's
    precision; a parameter not given has not moved. Only what moves is computed (the check moves one
    coordinate at a time): the query rows whose logits change, the keys and values that moved."""
    P, c = state.weights, state.c
    rows = np.arange(P.shape[0])  # the query rows whose output moves
    dO = np.zeros_like(state.residual)
    if V is not None:
        # ΔO = P ΔV (+ ΔP V′ below)
        dV = V - state.V
        moved_v = _moved_rows(dV)
        dO += P[:, moved_v] @ dV[moved_v]
    if Q is not None or K is not None:
        if K is None:  # only queries moved: only their rows' logits change
            dQ = Q - state.Q
            rows, K = _moved_rows(dQ), state.K
            # Δz = c ΔQ Kᵀ
            dz = c * (dQ[rows] @ K.T)
        else:
            dK = K - state.K
            moved_k = _moved_rows(dK)
            # Δz = c (ΔQ K′ᵀ + Q ΔKᵀ)
            dz = np.zeros(P.shape, dtype=P.dtype) if Q is None else c * ((Q - state.Q) @ K.T)
            dz[:, moved_k] += c * (state.Q @ dK[moved_k].T)
        # shifted per row by the change of its dominant logit; masked logits do not take part
        dz = np.where(state.mask[rows], dz - dz[np.arange(rows.size), state.top[rows]][:, None], 0)
        # Δlse = log1p(Σ_j P_j expm1(Δz_j)),   ΔP = P ⊙ expm1(Δz − Δlse)
        P_rows = P[rows]
        dlse = np.log1p(np.sum(P_rows * np.expm1(dz), axis=1, keepdims=True))
        dO[rows] += (P_rows * np.expm1(dz - dlse)) @ (state.V if V is None else V)
        if V is None:
            dO, residual = dO[rows], state.residual[rows]
            # ΔL = Σ ΔO ⊙ (O − Y) + ½ ‖ΔO‖², over the rows that moved
            return np.sum(dO * (residual + 0.5 * dO))
    # ΔL = Σ ΔO ⊙ (O − Y) + ½ ‖ΔO‖²
    return np.sum(dO * (state.residual + 0.5 * dO))


def _centered(P, x):
    """A bound on |x_ij − Σ_k P_ik x_ik| given |x_ik| ≤ x_ik: (1 − P_ij) x_ij + Σ_{k≠j} P_ik x_ik.
    For the dominant key of a saturated row it is tiny: an error shared by all keys cancels."""
    return np.maximum(1 - P, 0) * x + np.maximum(np.sum(P * x, axis=1, keepdims=True) - P * x, 0)


def rounding_bound(state: ForwardState, eps: float) -> dict[str, np.ndarray]:
    """A first-order bound on the rounding error of ``attention_backward`` at ``state``, each step
    computed with unit round-off ``eps`` — also a bound on how far the state's own P and O − Y
    (rounded the same way) move the derivative of ``attention_loss_change``."""
    P, Q, K, V, dO = (np.asarray(a, dtype=float) for a in (state.weights, state.Q, state.K, state.V, state.residual))
    c, mask = float(state.c), state.mask
    n_k, d_k, d_v = K.shape[0], K.shape[1], V.shape[1]
    S = np.where(mask, c * (Q @ K.T), -np.inf)
    shifted = np.where(mask, S - S.max(axis=1, keepdims=True), 0)
    # logits: |δS| ≤ (d_k + 1) ε c |Q||K|ᵀ, the shift by the row's maximum ε|S − m|;
    # P: relative error ρ = that perturbation centred by the softmax, and exp, Σ, ÷
    a = (d_k + 1) * eps * c * (np.abs(Q) @ np.abs(K).T) + eps * np.abs(shifted)
    rho = _centered(P, a) + (n_k + 3) * eps
    # O = P V and dO = O − Y
    d_out = (P * rho) @ np.abs(V) + n_k * eps * (P @ np.abs(V)) + eps * np.abs(dO)
    # dP = dO Vᵀ
    dP = dO @ V.T
    d_dP = d_out @ np.abs(V).T + d_v * eps * (np.abs(dO) @ np.abs(V).T)
    # g′ = dP − dP_t (t the row's top key, g′_t = 0), r = g′ − rowsum(g′ ⊙ P): softmax_backward's
    # shifted form, in which nothing cancels for a saturated row's dominant key
    rows = np.arange(P.shape[0])
    top = np.argmax(P, axis=1)
    shifted = dP - dP[rows, top][:, None]
    d_shifted = d_dP + d_dP[rows, top][:, None] + eps * np.abs(shifted)
    d_shifted[rows, top] = 0.0
    m = np.sum(shifted * P, axis=1, keepdims=True)
    d_m = (np.sum(P * (d_shifted + rho * np.abs(shifted)), axis=1, keepdims=True)
           + n_k * eps * np.sum(P * np.abs(shifted), axis=1, keepdims=True))
    r = shifted - m
    d_r = d_shifted + d_m + eps * (np.abs(shifted) + np.abs(m))
    # dS = P ⊙ r
    dS = P * (np.abs(r) + d_r)
    d_dS = P * (d_r + (rho + eps) * (np.abs(r) + d_r))
    # dQ = c dS K,  dK = c dSᵀ Q,  dV = Pᵀ dO
    return {"Q": c * ((d_dS + (n_k + 1) * eps * dS) @ np.abs(K)),
            "K": c * ((d_dS + (n_k + 1) * eps * dS).T @ np.abs(Q)),
            "V": (P * rho).T @ np.abs(dO) + P.T @ d_out + (n_k + 1) * eps * (P.T @ np.abs(dO))}


def structural_groups(weights: np.ndarray, mask: np.ndarray, d_k: int, d_v: int) -> dict[str, list[np.ndarray]]:
    """Flat indices of every structurally different part of Q, K and V (module docstring)."""
    allowed = mask.sum(axis=1)
    single = allowed == 1
    saturated = (weights.max(axis=1) > SATURATED) & ~single
    dominant = np.zeros(mask.shape[1], bool)
    dominant[np.argmax(weights, axis=1)[saturated]] = True
    unattended = weights.sum(axis=0) < UNATTENDED
    hidden = ~mask.all(axis=0)  # keys some query may not see

    def coordinates(rows, width):
        return (np.flatnonzero(rows)[:, None] * width + np.arange(width)).reshape(-1)

    query_kinds = (single, saturated, ~(single | saturated))
    key_kinds = (dominant, unattended, hidden, ~(dominant | unattended | hidden))
    return {"Q": [coordinates(kind, d_k) for kind in query_kinds if kind.any()],
            "K": [coordinates(kind, d_k) for kind in key_kinds if kind.any()],
            "V": [coordinates(kind, d_v) for kind in key_kinds if kind.any()]}


@dataclass(frozen=True)
class AnalyticError:
    """The float64 backward pass and how far it can be off, coordinate by coordinate."""

    gradients: dict[str, np.ndarray]  # dQ, dK, dV of attention_backward in float64
    bars: dict[str, np.ndarray]  # |g_float64 − g_extended| + 2 B_extended, per coordinate
    measured: dict[str, float]  # ‖g_float64 − g_extended‖ / ‖g_extended‖ (0 for an all-zero gradient)


def analytic_error(problem: AttentionProblem, mask, scale: bool, temperature: float) -> AnalyticError:
    """attention_backward in float64 and in extended precision (the same code), and the error bars of
    the float64 one (module docstring)."""
    Q, K, V, Y = problem.Q, problem.K, problem.V, problem.target
    narrow = forward_state(Q, K, V, Y, mask, scale, temperature)
    wide = forward_state(Q, K, V, Y, mask, scale, temperature, np.longdouble)
    computed = dict(zip("QKV", attention_backward(Q, K, V, narrow.residual, mask, scale, temperature)))
    precise = dict(zip("QKV", attention_backward(wide.Q, wide.K, wide.V, wide.residual, mask, scale, temperature)))
    bound = rounding_bound(wide, float(np.finfo(np.longdouble).eps))
    lost = {name: np.abs(computed[name] - precise[name]).astype(float) for name in "QKV"}
    sizes = {name: float(np.linalg.norm(precise[name].astype(float))) for name in "QKV"}
    return AnalyticError(computed, {name: lost[name] + 2 * bound[name] for name in "QKV"},
                         {name: float(np.linalg.norm(lost[name])) / sizes[name] if sizes[name] > 0 else 0.0
                          for name in "QKV"})


def attention_gradient_checks(problem: AttentionProblem, mask, scale: bool, temperature: float, analytic=None,
                              seed: int = 0, max_coords: int = CHECKED_COORDINATES, names: str = "QKV",
                              errors: AnalyticError | None = None) -> tuple[GradientCheck, ...]:
    """dQ, dK, dV of ``attention_backward`` (or the ``analytic`` gradients given, e.g. deliberately
    wrong ones) against derivative-free estimates of ΔL, with the error bars of the module docstring;
    ``names`` picks the parameters checked, ``errors`` is ``analytic_error`` when already computed."""
    Q, K, V, Y = problem.Q, problem.K, problem.V, problem.target
    base = {"Q": Q, "K": K, "V": V}
    narrow = forward_state(Q, K, V, Y, mask, scale, temperature)
    wide = forward_state(Q, K, V, Y, mask, scale, temperature, np.longdouble)
    errors = errors or analytic_error(problem, mask, scale, temperature)
    analytic = {name: np.asarray((analytic or errors.gradients).get(name, errors.gradients[name]), float)
                for name in "QKV"}
    groups = structural_groups(narrow.weights, mask, Q.shape[1], V.shape[1])
    checks = []
    for n, name in enumerate("QKV"):  # one parameter at a time: each gets its own f_scale (below)
        if name not in names:
            continue
        checks += check_gradients(
            lambda p, name=name: float(attention_loss_change(narrow, **{name: p[name]})),
            {name: base[name]}, {name: analytic[name]},
            extended=lambda p, name=name: attention_loss_change(wide, **{name: p[name]}),
            analytic_error={name: errors.bars[name]}, groups={name: groups[name]}, max_coords=max_coords,
            seed=seed + n, step=first_step(name, narrow))
    return tuple(checks)


def analytic_share(check: GradientCheck, errors: AnalyticError) -> float:
    """The part of a check's error bars (norm over the coordinates it checked) that is the analytic
    gradient's own rounding: its error bar there plus the floor every coordinate gets from
    calc_core.common.gradcheck (ANALYTIC_ULPS·ε·max|g|)."""
    bars, g = errors.bars[check.name], errors.gradients[check.name]
    floor = ANALYTIC_ULPS * np.finfo(float).eps * float(np.max(np.abs(g)))
    total = float(np.linalg.norm(check.error_bound))
    own = float(np.linalg.norm(bars.reshape(-1)[check.indices] + floor))
    return min(own / total, 1.0) if total > 0 else 0.0


def first_step(name: str, state: ForwardState) -> float | None:
    """Ridders' first step for ``name``, one for all its coordinates: START_FRACTION of its RMS, but
    no more than moves a logit by LOGIT_STEP along any unit direction — z_ij = c q_i·k_j moves by at
    most c h ‖k_j‖ when q_i moves by h (and by c h ‖q_i‖ when k_j does)."""
    if name == "V":
        return None  # O and L are polynomial in V: the default steps are smooth
    x, other = (state.Q, state.K) if name == "Q" else (state.K, state.Q)
    x, other = np.asarray(x, float), np.asarray(other, float)
    reach = state.c * float(np.max(np.linalg.norm(other, axis=1)))
    return min(START_FRACTION * float(np.sqrt(np.mean(x * x))), LOGIT_STEP / max(reach, 1e-300))
