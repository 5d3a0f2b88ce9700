r"""What the Attention page draws, each from scalar settings (the page caches on them).

Problem. Q, K, V are standard-normal draws, n × d_k, n × d_k and n × d_v, taken in that order from
``np.random.RandomState(seed)`` — the generator of the tutorial's demo, so seed 42 with n = 5,
d_k = d_v = 8 reproduces its weights. Tokens only label the rows; they don't change the numbers.

Loss for the gradient demo. A fixed target Y (n × d_v, standard normal, from its own stream of
the same seed) and the squared error

    L = ½ ‖O − Y‖² = ½ Σ_ij (O_ij − Y_ij)²,     so   dO = ∂L/∂O = O − Y,

which ``attention_backward`` carries back to dQ, dK, dV.

The √d_k lesson. With q, k ~ N(0, I) the logit qᵀk = Σ_{k ≤ d_k} q_k k_k has variance d_k:
without scaling the logits spread like √d_k, the softmax saturates on one key, its entropy

    H(s) = −Σ_i s_i log s_i        (0 log 0 = 0; log n for uniform weights, 0 for one-hot)

falls to 0, and so does the size of its Jacobian, measured by the Frobenius norm

    ‖J‖_F² = ‖diag(s) − s sᵀ‖_F² = Σ_i s_i² − 2 Σ_i s_i³ + (Σ_i s_i²)²,

which bounds how much gradient can flow from the weights back to the logits. Dividing by √d_k
keeps the logit variance at 1 for every d_k, and both curves stay flat. The mean ‖J‖_F over rows
hides how lopsided this is (a few rows with two close logits keep a large Jacobian), so the median
row and the share of saturated rows (largest weight > 0.99) are reported too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calc_core.attention.core import (
    attention_backward,
    causal_mask,
    logit_factor,
    scaled_dot_product_attention,
    softmax,
    softmax_jacobian,
)
from calc_core.common.gradcheck import GradientCheck, check_gradients

MAX_TOKENS = 32
#: Attention needs something to mix: a one-word sentence would give the trivial weight 1.
MIN_TOKENS = 2
#: The page's gradient check differentiates with this step: the loss grows with n · d_v, and
#: its rounding noise (∝ |L| / h) at h = 1e-6 comes within 10× of the tolerance at the largest
#: sizes, while h = 1e-5 keeps the relative error near 1e-8 everywhere on the page.
GRADCHECK_STEP = 1e-5
DEFAULT_LESSON_D_K = (1, 2, 4, 8, 16, 32, 64, 128, 256)
#: A row whose largest weight exceeds this counts as saturated (practically one-hot).
SATURATED = 0.99


def parse_tokens(sentence: str, max_tokens: int = MAX_TOKENS,
                 min_tokens: int = MIN_TOKENS) -> tuple[str, ...]:
    """The words of ``sentence`` (split on whitespace), one token each."""
    words = tuple(str(sentence).split())
    if not words:
        raise ValueError("The sentence has no words: type a few words separated by spaces, "
                         "or leave the box empty to use numbered tokens.")
    if len(words) < min_tokens:
        raise ValueError(f"The sentence has {len(words)} word{'s' * (len(words) != 1)}, but attention needs at least "
                         f"{min_tokens} tokens to mix: add a word or two.")
    if len(words) > max_tokens:
        raise ValueError(f"The sentence has {len(words)} words, but attention here takes at most "
                         f"{max_tokens} tokens: shorten it by {len(words) - max_tokens}.")
    return words


@dataclass(frozen=True)
class AttentionProblem:
    tokens: tuple[str, ...]
    labels: tuple[str, ...]  # unique axis labels "i:token" (a sentence may repeat a word)
    Q: np.ndarray
    K: np.ndarray
    V: np.ndarray
    target: np.ndarray  # Y of the loss ½‖O − Y‖²


def make_problem(seq_len: int, d_k: int, d_v: int, seed: int, tokens=()) -> AttentionProblem:
    """Seeded Q, K, V (and loss target Y) for a self-attention demo of ``seq_len`` tokens."""
    seq_len, d_k, d_v = (_whole("seq_len", seq_len), _whole("d_k", d_k), _whole("d_v", d_v))
    seed = _whole("seed", seed, low=0)
    if seed >= 2**32:
        raise ValueError(f"seed must be below 2**32 = {2**32}, got {seed}")
    tokens = tuple(str(t) for t in tokens) or tuple(f"t{i}" for i in range(seq_len))
    if len(tokens) != seq_len:
        raise ValueError(f"{len(tokens)} tokens were given for a sequence length of {seq_len}; "
                         "pass as many tokens as the sequence is long")
    rng = np.random.RandomState(seed)  # tutorial: np.random.seed(42); Q, K, V = randn(...)
    Q = rng.randn(seq_len, d_k)
    K = rng.randn(seq_len, d_k)
    V = rng.randn(seq_len, d_v)
    target = np.random.default_rng([seed, 1]).standard_normal((seq_len, d_v))
    labels = tuple(f"{i}:{token}" for i, token in enumerate(tokens))
    return AttentionProblem(tokens, labels, Q, K, V, target)


@dataclass(frozen=True)
class AttentionView:
    """Everything behind the weight heatmap: S = c Q Kᵀ, P = softmax(S), O = P V."""

    problem: AttentionProblem
    mask: np.ndarray  # (n, n) bool, True = attend (all True without the causal mask)
    logit_factor: float  # c = 1/(√d_k T) or 1/T
    logits: np.ndarray  # S, masked entries included as computed (the page may blank them)
    weights: np.ndarray  # P
    output: np.ndarray  # O
    row_sums: np.ndarray  # Σ_j P_ij, 1 for every row
    row_entropy: np.ndarray  # H(P_i·) in nats

    @property
    def saturated_rows(self) -> np.ndarray:
        """Rows that put more than SATURATED of their weight on one key although they may attend
        to several: their softmax Jacobian is ≈ 0, so almost no gradient reaches their logits.
        (A causal first row, which sees one key only, is one-hot by the mask, not saturated.)"""
        return (self.weights.max(axis=1) > SATURATED) & (self.mask.sum(axis=1) > 1)


def attention_view(seq_len, d_k, d_v, seed, *, causal=False, scale=True, temperature=1.0,
                   tokens=()) -> AttentionView:
    """Forward pass on the seeded problem, with the pieces the page draws."""
    problem = make_problem(seq_len, d_k, d_v, seed, tokens)
    n = problem.Q.shape[0]
    mask = causal_mask(n) if causal else np.ones((n, n), dtype=bool)
    c = logit_factor(d_k, scale, temperature)
    output, weights = scaled_dot_product_attention(problem.Q, problem.K, problem.V, mask, scale,
                                                   temperature)
    return AttentionView(problem, mask, c, c * (problem.Q @ problem.K.T), weights, output,
                         weights.sum(axis=1), entropy(weights))


@dataclass(frozen=True)
class QueryRowJacobian:
    """One query's weights s = P_i· and the Jacobian J = diag(s) − s sᵀ of its softmax."""

    row: int
    label: str
    probabilities: np.ndarray  # s, over all keys (0 where masked)
    attends: np.ndarray  # the mask row: which keys this query may attend to
    jacobian: np.ndarray  # (n_k, n_k)
    diagonal: np.ndarray  # s_i (1 − s_i)
    jacobian_norm: float  # ‖J‖_F


def query_row_jacobian(seq_len, d_k, d_v, seed, row, *, causal=False, scale=True,
                       temperature=1.0, tokens=()) -> QueryRowJacobian:
    """The chosen query row's probabilities and softmax Jacobian."""
    view = attention_view(seq_len, d_k, d_v, seed, causal=causal, scale=scale,
                          temperature=temperature, tokens=tokens)
    n = view.weights.shape[0]
    row = _whole("row", row, low=0)
    if row >= n:
        raise ValueError(f"query row {row} does not exist: rows run 0 … {n - 1}")
    s = view.weights[row]
    J = softmax_jacobian(s)
    # diagonal J_ii = s_i (1 − s_i);  off-diagonal J_ij = −s_i s_j
    return QueryRowJacobian(row, view.problem.labels[row], s, view.mask[row], J, s * (1 - s),
                            float(np.linalg.norm(J)))


def attention_loss(Q, K, V, target, mask=None, scale=True, temperature=1.0) -> float:
    """L = ½ ‖O − Y‖² for O = attention(Q, K, V)."""
    output, _ = scaled_dot_product_attention(Q, K, V, mask, scale, temperature)
    # L = ½ ‖O − Y‖²
    return 0.5 * float(np.sum((output - target) ** 2))


@dataclass(frozen=True)
class AttentionGradients:
    loss: float
    output: np.ndarray  # O
    target: np.ndarray  # Y
    grad_output: np.ndarray  # dO = O − Y
    dQ: np.ndarray
    dK: np.ndarray
    dV: np.ndarray


def attention_gradients(seq_len, d_k, d_v, seed, *, causal=False, scale=True, temperature=1.0,
                        tokens=()) -> AttentionGradients:
    """L = ½‖O − Y‖² on the seeded problem and its hand-derived gradients dQ, dK, dV."""
    view = attention_view(seq_len, d_k, d_v, seed, causal=causal, scale=scale,
                          temperature=temperature, tokens=tokens)
    p = view.problem
    # dO = ∂L/∂O = O − Y
    grad_output = view.output - p.target
    dQ, dK, dV = attention_backward(p.Q, p.K, p.V, grad_output, view.mask, scale, temperature)
    loss = 0.5 * float(np.sum(grad_output**2))
    return AttentionGradients(loss, view.output, p.target, grad_output, dQ, dK, dV)


def attention_gradient_checks(seq_len, d_k, d_v, seed, *, causal=False, scale=True,
                              temperature=1.0, tokens=(), max_coords=30) -> list[GradientCheck]:
    """dQ, dK, dV against central differences of L on up to ``max_coords`` coordinates each."""
    grads = attention_gradients(seq_len, d_k, d_v, seed, causal=causal, scale=scale,
                                temperature=temperature, tokens=tokens)
    p = make_problem(seq_len, d_k, d_v, seed, tokens)
    n = p.Q.shape[0]
    mask = causal_mask(n) if causal else None

    def loss(params):
        return attention_loss(params["Q"], params["K"], params["V"], p.target, mask, scale,
                              temperature)

    return check_gradients(loss, {"Q": p.Q, "K": p.K, "V": p.V},
                           {"Q": grads.dQ, "K": grads.dK, "V": grads.dV},
                           step=GRADCHECK_STEP, max_coords=max_coords, seed=seed)


@dataclass(frozen=True)
class SqrtDkLesson:
    """Softmax saturation against d_k, with and without the 1/√d_k, averaged over draws."""

    d_k: np.ndarray  # (m,)
    seq_len: int
    n_draws: int
    temperature: float
    max_entropy: float  # log n: uniform weights
    logit_std_scaled: np.ndarray  # ≈ 1/T for every d_k
    logit_std_unscaled: np.ndarray  # ≈ √d_k / T
    entropy_scaled: np.ndarray  # mean over draws and rows of H(P_i·)
    entropy_unscaled: np.ndarray
    jacobian_norm_scaled: np.ndarray  # mean of ‖J_i‖_F over draws and rows
    jacobian_norm_unscaled: np.ndarray
    jacobian_norm_median_scaled: np.ndarray  # the typical row: the mean hides that most
    jacobian_norm_median_unscaled: np.ndarray  # unscaled rows pass almost no gradient
    max_weight_scaled: np.ndarray  # mean of max_j P_ij: 1 means one-hot
    max_weight_unscaled: np.ndarray
    saturated_fraction_scaled: np.ndarray  # share of rows with max_j P_ij > SATURATED
    saturated_fraction_unscaled: np.ndarray


def sqrt_dk_lesson(d_k_values=DEFAULT_LESSON_D_K, seq_len=MAX_TOKENS, n_draws=20, seed=0,
                   temperature=1.0) -> SqrtDkLesson:
    """Entropy and Jacobian norm of random attention rows for each d_k, scaled and unscaled.

    One draw of Q, K of width max(d_k) is shared: d_k uses its first d_k columns, so the curves
    compare like with like and are smooth in d_k.
    """
    d_k_values = np.array([_whole("d_k", d) for d in d_k_values], dtype=int)
    if d_k_values.size == 0:
        raise ValueError("give at least one d_k value")
    seq_len = _whole("seq_len", seq_len)
    n_draws = _whole("n_draws", n_draws)
    rng = np.random.default_rng(_whole("seed", seed, low=0))
    width = int(d_k_values.max())
    Q = rng.standard_normal((n_draws, seq_len, width))
    K = rng.standard_normal((n_draws, seq_len, width))
    stats = {f"{key}_{tag}": [] for key in ("std", "H", "J", "Jmed", "max", "sat")
             for tag in "su"}
    for d_k in d_k_values:
        raw = Q[:, :, :d_k] @ K[:, :, :d_k].transpose(0, 2, 1)  # Q Kᵀ per draw
        for tag, scale in (("s", True), ("u", False)):
            S = logit_factor(d_k, scale, temperature) * raw
            P = softmax(S, axis=-1)
            stats[f"std_{tag}"].append(S.std())
            stats[f"H_{tag}"].append(entropy(P).mean())
            norms = jacobian_frobenius_norm(P)
            stats[f"J_{tag}"].append(norms.mean())
            stats[f"Jmed_{tag}"].append(np.median(norms))
            top = P.max(axis=-1)
            stats[f"max_{tag}"].append(top.mean())
            stats[f"sat_{tag}"].append(np.mean(top > SATURATED))
    s = {key: np.array(values) for key, values in stats.items()}
    return SqrtDkLesson(d_k_values, seq_len, n_draws, float(temperature), float(np.log(seq_len)),
                        *(s[f"{key}_{tag}"] for key in ("std", "H", "J", "Jmed", "max", "sat")
                          for tag in "su"))


def entropy(P, axis: int = -1) -> np.ndarray:
    """H = −Σ_i s_i log s_i along ``axis``, in nats, with 0 log 0 = 0."""
    P = np.asarray(P, dtype=float)
    logs = np.log(P, out=np.zeros_like(P), where=P > 0)
    # H(s) = −Σ_i s_i log s_i
    return -np.sum(P * logs, axis=axis)


def jacobian_frobenius_norm(P) -> np.ndarray:
    """‖diag(s) − s sᵀ‖_F for every softmax row s of P (last axis), without forming J."""
    P = np.asarray(P, dtype=float)
    P_squared = P * P
    squares = np.sum(P_squared, axis=-1)
    # ‖J‖_F² = Σ s_i² − 2 Σ s_i³ + (Σ s_i²)²
    norm_squared = squares - 2 * np.sum(P_squared * P, axis=-1) + squares**2
    return np.sqrt(np.maximum(norm_squared, 0.0))


def _whole(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not np.isscalar(value) or not float(value).is_integer() \
            or value < low:
        raise ValueError(f"{name} must be a whole number ≥ {low}, got {value!r}")
    return int(value)
