r"""The seeded attention problem the page shows, the forward pass with what the page draws, and
one query row's softmax Jacobian.

Problem. Q, K, V are standard-normal draws, n × d_k, n × d_k and n × d_v, taken in that order from
``np.random.RandomState(seed)`` — the generator of the tutorial's demo, so seed 42 with n = 5,
d_k = d_v = 8 reproduces its weights. Tokens only label the rows; they don't change the numbers.
The loss of the gradient demo has a fixed target Y (n × d_v, standard normal, from its own stream
of the same seed):

    L = ½ ‖O − Y‖² = ½ Σ_ij (O_ij − Y_ij)²,     so   dO = ∂L/∂O = O − Y.

Entropy of a row of weights, and the size of its softmax Jacobian J = diag(s) − s sᵀ:

    H(s) = −Σ_i s_i log s_i      (0 log 0 = 0; log n for uniform weights, 0 for one-hot)
    ‖J‖_F² = Σ_i s_i² − 2 Σ_i s_i³ + (Σ_i s_i²)²

J is positive semi-definite, so ‖J‖_F ≤ trace J = 1 − Σ_i s_i² ≤ 1 − s_max² ≤ 2 (1 − s_max):
a row with more than 99% of its weight on one key has ‖J‖_F < 0.02.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calc_core.attention.core import causal_mask, logit_factor, scaled_dot_product_attention, softmax_jacobian

MAX_TOKENS = 32
#: Attention needs something to mix: a one-word sentence would give the trivial weight 1.
MIN_TOKENS = 2
#: A row whose largest weight exceeds this counts as saturated (practically one-hot).
SATURATED = 0.99


def parse_tokens(sentence: str, max_tokens: int = MAX_TOKENS, min_tokens: int = MIN_TOKENS) -> tuple[str, ...]:
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


def entropy(P, axis: int = -1) -> np.ndarray:
    """H = −Σ_i s_i log s_i along ``axis``, in nats, with 0 log 0 = 0."""
    P = np.asarray(P, dtype=float)
    logs = np.log(P, out=np.zeros_like(P), where=P > 0)
    # H(s) = −Σ_i s_i log s_i  (≥ 0: a weight rounded just above 1 must not print as −0.0000)
    return np.maximum(-np.sum(P * logs, axis=axis), 0.0)


def is_top(P: np.ndarray) -> np.ndarray:
    """True at each row's largest entry (the first of equals), along the last axis."""
    top = np.zeros(np.shape(P), bool)
    np.put_along_axis(top, np.argmax(P, axis=-1)[..., None], True, axis=-1)
    return top


def scaled_norm(terms: np.ndarray, axis=-1) -> np.ndarray:
    """√(Σ terms²) along ``axis`` without underflow: a row of weights 1e-243 has a norm of about 1e-243, not 0."""
    size = np.max(np.abs(terms), axis=axis, keepdims=True)
    safe = np.where(size > 0, size, 1.0)
    return np.squeeze(size, axis=axis) * np.sqrt(np.sum((terms / safe) ** 2, axis=axis))


def jacobian_frobenius_norm(P) -> np.ndarray:
    """‖diag(s) − s sᵀ‖_F for every softmax row s of P (last axis), without forming J.

    ‖J‖_F² = Σ_i s_i² (1 − s_i)² + Σ_{i≠j} s_i² s_j² = Σ_i s_i² (o_i² + q_i), with o_i = Σ_{j≠i} s_j and
    q_i = Σ_{j≠i} s_j²: for the largest entry summed over the other keys directly, so that a nearly
    one-hot row keeps its digits (1 − s_max from s_max ≈ 1 would not).
    """
    P = np.asarray(P, dtype=float)
    top = is_top(P)
    rest = np.where(top, 0.0, P)
    o = np.where(top, np.sum(rest, axis=-1, keepdims=True), np.sum(P, axis=-1, keepdims=True) - P)
    # √q_i = ‖s_{j≠i}‖, each term s_i·√q_i computed without squaring the tiny weights
    root_q = np.where(top, scaled_norm(rest)[..., None],
                      np.sqrt(np.maximum(np.sum(P * P, axis=-1, keepdims=True) - P * P, 0.0)))
    # ‖J‖_F² = Σ_i (s_i o_i)² + (s_i √q_i)²
    return scaled_norm(np.concatenate([P * o, P * root_q], axis=-1))


@dataclass(frozen=True)
class AttentionView:
    """Everything behind the weight heatmap: S = c Q Kᵀ, P = softmax(S), O = P V."""

    problem: AttentionProblem
    mask: np.ndarray  # (n, n) bool, True = attend (all True without the causal mask)
    scale: bool
    temperature: float
    logit_factor: float  # c = 1/(√d_k T) or 1/T
    logits: np.ndarray  # S, masked entries included as computed (the page may blank them)
    weights: np.ndarray  # P
    output: np.ndarray  # O
    row_sums: np.ndarray  # Σ_j P_ij, 1 for every row
    row_entropy: np.ndarray  # H(P_i·) in nats
    jacobian_norms: np.ndarray  # ‖J_i‖_F of every row

    @property
    def saturated_rows(self) -> np.ndarray:
        """Rows that put more than SATURATED of their weight on one key although they may attend
        to several (a causal first row, which sees one key only, is one-hot by the mask)."""
        return (self.weights.max(axis=1) > SATURATED) & (self.mask.sum(axis=1) > 1)

    @property
    def single_key_rows(self) -> np.ndarray:
        """Rows that may attend to one key only: weight 1 whatever the logits, so J = 0."""
        return self.mask.sum(axis=1) == 1


def attention_view(problem: AttentionProblem, *, causal: bool = False, scale: bool = True,
                   temperature: float = 1.0) -> AttentionView:
    """Forward pass on the seeded problem, with the pieces the page draws."""
    n = problem.Q.shape[0]
    mask = causal_mask(n) if causal else np.ones((n, n), dtype=bool)
    c = logit_factor(problem.Q.shape[1], scale, temperature)
    output, weights = scaled_dot_product_attention(problem.Q, problem.K, problem.V, mask, scale, temperature)
    return AttentionView(problem, mask, bool(scale), float(temperature), c, c * (problem.Q @ problem.K.T), weights,
                         output, weights.sum(axis=1), entropy(weights), jacobian_frobenius_norm(weights))


@dataclass(frozen=True)
class QueryRowJacobian:
    """One query's weights s = P_i· and the Jacobian J = diag(s) − s sᵀ of its softmax."""

    row: int
    label: str
    labels: tuple[str, ...]  # every key's label
    probabilities: np.ndarray  # s, over all keys (0 where masked)
    attends: np.ndarray  # the mask row: which keys this query may attend to
    jacobian: np.ndarray  # (n_k, n_k)
    diagonal: np.ndarray  # s_i (1 − s_i)
    jacobian_norm: float  # ‖J‖_F
    saturated: bool  # more than SATURATED of the weight on one key, although several are allowed
    single_key: bool  # only one key allowed: weight 1, J = 0


def query_row_jacobian(view: AttentionView, row: int) -> QueryRowJacobian:
    """The chosen query row's probabilities and softmax Jacobian."""
    n = view.weights.shape[0]
    if not 0 <= row < n:
        raise ValueError(f"query row {row} does not exist: rows run 0 … {n - 1}")
    s = view.weights[row]
    J = softmax_jacobian(s)
    # diagonal J_ii = s_i (1 − s_i);  off-diagonal J_ij = −s_i s_j
    return QueryRowJacobian(row, view.problem.labels[row], view.problem.labels, s, view.mask[row], J, s * (1 - s),
                            float(np.linalg.norm(J)), bool(view.saturated_rows[row]),
                            bool(view.single_key_rows[row]))
