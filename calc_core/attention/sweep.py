r"""Why divide by √d_k: random attention rows for every d_k, with and without the scaling.

With q, k ~ N(0, I) the logit qᵀk = Σ_{k ≤ d_k} q_k k_k has variance d_k: without scaling the
logits c·qᵀk (c = 1/T) spread like √d_k / T; with it (c = 1/(√d_k T)) like 1/T for every d_k.
What that does to a row of weights s, measured here over many random rows:

* its entropy H(s) = −Σ s_i log s_i falls from log n (uniform) towards 0 (one-hot);
* its softmax Jacobian J = diag(s) − s sᵀ is *not* monotone in the spread: uniform weights give
  ‖J‖_F = √(n − 1)/n, weights shared by two keys up to ½, and a one-hot row ‖J‖_F ≤ 2(1 − s_max) → 0;
* the gradient that reaches a query, dq_i = c Kᵀ J_i dp_i, passes through the *gate*
  c·‖J_i K‖_F, where ‖J_i K‖_F² = Σ_j s_j² ‖k_j − k̄_i‖² and k̄_i = Σ_j s_j k_j: the Jacobian
  times the keys, whose size ‖k_j‖ ≈ √d_k grows with d_k. Without the scaling, c stays 1/T, so
  the gate of the rows that still share their weight keeps growing while most rows' J collapses.

One draw of Q, K of width max(d_k) is shared: d_k uses its first d_k columns, so the curves compare
like with like and are smooth in d_k. The mean ‖J‖_F over rows hides how lopsided this is, so the
median row, the rows' 90th percentile of the gate and the share of saturated rows are kept too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from calc_core.attention.core import logit_factor, softmax
from calc_core.attention.problem import SATURATED, entropy, is_top, jacobian_frobenius_norm, scaled_norm

D_K_VALUES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
DRAWS = 20  # random problems per d_k
GATE_QUANTILE = 0.9


@dataclass(frozen=True)
class Curve:
    """One statistic against d_k, with the scaling (÷ √d_k) and without it."""

    scaled: np.ndarray
    unscaled: np.ndarray


@dataclass(frozen=True)
class SqrtDkSweep:
    """Softmax saturation against d_k, with and without the 1/√d_k, over DRAWS random problems."""

    d_k: np.ndarray  # (m,)
    seq_len: int
    n_draws: int
    temperature: float
    max_entropy: float  # log n: uniform weights
    uniform_jacobian_norm: float  # √(n − 1)/n: ‖J‖_F of uniform weights
    key_norm: np.ndarray  # RMS ‖k_j‖ of the keys at each d_k (≈ √d_k)
    logit_std: Curve  # ≈ 1/T scaled, ≈ √d_k/T unscaled
    entropy: Curve  # mean over draws and rows of H(P_i·)
    jacobian_norm: Curve  # mean ‖J_i‖_F over draws and rows
    jacobian_norm_median: Curve  # the typical row
    gate_median: Curve  # median over rows of c‖J_i K‖_F: what reaches the typical query
    gate_top: Curve  # its GATE_QUANTILE quantile: the rows that still share their weight
    max_weight: Curve  # mean of max_j P_ij: 1 means one-hot
    saturated_fraction: Curve  # share of rows with max_j P_ij > SATURATED


def gate_norms(P: np.ndarray, K: np.ndarray, c: float) -> np.ndarray:
    """c‖J_i K‖_F for every row i of P (batched over a leading axis): ‖J_i K‖_F² = Σ_j s_j² ‖k_j − k̄_i‖².

    For the row's largest weight s_m the difference is summed over the other keys,
    k_m − k̄_i = Σ_{l≠m} s_l (k_m − k_l) = o_m k_m − Σ_{l≠m} s_l k_l, which keeps its digits in a nearly
    one-hot row, where k̄_i ≈ k_m; the other keys are far from k̄_i and use the expanded square.
    """
    top = is_top(P)
    rest = np.where(top, 0.0, P)
    k_bar = P @ K
    # ‖k_j − k̄_i‖² = ‖k_j‖² − 2 k_j·k̄_i + ‖k̄_i‖²  (j not the largest)
    distance = (np.sum(K * K, axis=-1)[..., None, :] - 2 * k_bar @ np.swapaxes(K, -1, -2)
                + np.sum(k_bar * k_bar, axis=-1)[..., :, None])
    # k_m − k̄_i = o_m k_m − Σ_{l≠m} s_l k_l
    k_top = np.take_along_axis(K, np.argmax(P, axis=-1)[..., None], axis=-2)
    gap = scaled_norm(np.sum(rest, axis=-1, keepdims=True) * k_top - rest @ K)
    # the terms s_j ‖k_j − k̄_i‖, scaled so that tiny weights are not squared to 0
    terms = np.where(top, np.max(P, axis=-1, keepdims=True) * gap[..., None], P * np.sqrt(np.maximum(distance, 0.0)))
    return c * scaled_norm(terms)


@lru_cache(maxsize=64)  # a pure function of scalars: moving d_k, d_v, the mask or the scaling never redoes it
def sqrt_dk_sweep(seq_len: int, temperature: float = 1.0, seed: int = 0, d_k_values=D_K_VALUES,
                  n_draws: int = DRAWS) -> SqrtDkSweep:
    """Entropy, Jacobian norm and gate to Q of random attention rows for each d_k, scaled and unscaled
    (``d_k_values`` a tuple). The arrays of the result are shared between calls: read them only."""
    d_k_values = np.asarray(d_k_values, dtype=int)
    rng = np.random.default_rng(seed)
    width = int(d_k_values.max())
    Q = rng.standard_normal((n_draws, seq_len, width))
    K = rng.standard_normal((n_draws, seq_len, width))
    stats: dict[str, dict[bool, list]] = {}
    key_norm = []
    for d_k in d_k_values:
        keys = K[:, :, :d_k]
        raw = Q[:, :, :d_k] @ np.swapaxes(keys, 1, 2)  # Q Kᵀ per draw
        key_norm.append(float(np.sqrt(np.mean(np.sum(keys * keys, axis=-1)))))
        for scale in (True, False):
            c = logit_factor(int(d_k), scale, temperature)
            P = softmax(c * raw, axis=-1)
            norms, gates, top = jacobian_frobenius_norm(P), gate_norms(P, keys, c), P.max(axis=-1)
            for name, value in (("logit_std", (c * raw).std()), ("entropy", entropy(P).mean()),
                                ("jacobian_norm", norms.mean()), ("jacobian_norm_median", np.median(norms)),
                                ("gate_median", np.median(gates)), ("gate_top", np.quantile(gates, GATE_QUANTILE)),
                                ("max_weight", top.mean()), ("saturated_fraction", np.mean(top > SATURATED))):
                stats.setdefault(name, {True: [], False: []})[scale].append(float(value))
    curves = {name: Curve(_frozen(values[True]), _frozen(values[False])) for name, values in stats.items()}
    return SqrtDkSweep(_frozen(d_k_values), int(seq_len), int(n_draws), float(temperature), float(np.log(seq_len)),
                       float(np.sqrt(seq_len - 1) / seq_len), _frozen(key_norm), **curves)


def _frozen(values) -> np.ndarray:
    array = np.array(values)
    array.setflags(write=False)  # a cached result is shared
    return array
