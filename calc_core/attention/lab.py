r"""The Attention page: Settings → :func:`run` → a :class:`Result` and its diagnosis.

Seeded Q, K, V (calc_core.attention.problem) → the forward pass S = c·QKᵀ, P = softmax(S), O = PV
with a causal mask or none → what saturates → the backward pass of L = ½‖O − Y‖² → its gradient
check (calc_core.attention.checks: the change of L computed from the perturbation, error bars that
include the digits the float64 backward loses) → the √d_k sweep (calc_core.attention.sweep) → the
diagnosis. The query-row Jacobian is a fragment of its own: :func:`query_row` (settings, row).

Every sentence with a number in it is written here, from the numbers of the run it describes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from calc_core.attention.checks import analytic_error, analytic_share, attention_gradient_checks
from calc_core.attention.core import attention_backward
from calc_core.attention.problem import (MAX_TOKENS, MIN_TOKENS, SATURATED, AttentionView, QueryRowJacobian,
                                         attention_view, make_problem, parse_tokens, query_row_jacobian)
from calc_core.attention.sweep import GATE_QUANTILE, SqrtDkSweep, sqrt_dk_sweep
from calc_core.common.gradcheck import RESOLUTION_NEEDED, GradientCheck
from calc_core.common.messages import Message
from calc_core.common.presets import Preset
from calc_core.common.snapshots import Snapshots
from calc_core.common.validate import real, seed as check_seed, whole

MAX_D_K = 256
MAX_D_V = 64
TEMPERATURES = (0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
SATURATED_SHARE = 4  # n // 4 rows saturated (at least one): the softmax has saturated
UNIFORM_SHARE = 0.95  # mean row entropy above this share of its maximum: nearly uniform weights
OWN_ROUNDING_SHARE = 0.5  # a flat check is explained by the backward's rounding when this share of its bars is


@dataclass(frozen=True)
class Settings:
    """One field per control of the page (its units)."""

    text: str = ""  # a sentence: its words label the tokens and set n ("" = numbered tokens)
    seq_len: int = 5  # n, when there is no sentence
    d_k: int = 8
    d_v: int = 8
    temperature: float = 1.0  # T
    scale: bool = True  # divide the logits by √d_k
    causal: bool = False
    seed: int = 42  # the tutorial's demo: n = 5, d_k = d_v = 8, seed 42


@dataclass(frozen=True)
class Saturation:
    """Which rows put practically all their weight on one key, and what that does to their gradients."""

    rows: np.ndarray  # bool per query row: max weight > SATURATED although several keys are allowed
    single_key_rows: np.ndarray  # bool: only one key allowed (weight 1 by the mask, J = 0)
    count: int
    max_weight: float  # over the rows that may see several keys
    logit_std: float  # standard deviation of the allowed logits
    jacobian_max_saturated: float  # largest ‖J_i‖_F among saturated rows (nan: none)
    jacobian_median_other: float  # median ‖J_i‖_F of the other multi-key rows (nan: none)
    grad_median_saturated: float  # median ‖dL/dq_i‖ of saturated rows (nan: none)
    grad_median_other: float  # … of the other multi-key rows (nan: none)


@dataclass(frozen=True)
class Backprop:
    loss: float  # L = ½‖O − Y‖²
    target: np.ndarray  # Y
    grad_output: np.ndarray  # dO = O − Y
    dQ: np.ndarray
    dK: np.ndarray
    dV: np.ndarray

    @property
    def gradients(self) -> dict[str, np.ndarray]:
        return {"Q": self.dQ, "K": self.dK, "V": self.dV}

    @property
    def norms(self) -> dict[str, float]:
        """Frobenius norm of each gradient."""
        return {name: float(np.linalg.norm(grad)) for name, grad in self.gradients.items()}

    @property
    def query_grad_norms(self) -> np.ndarray:
        """‖dL/dq_i‖ of every query row."""
        return np.linalg.norm(self.dQ, axis=1)


@dataclass(frozen=True)
class Result:
    settings: Settings
    tokens: tuple[str, ...]
    labels: tuple[str, ...]  # "i:token", unique
    sentence_error: str | None  # why the sentence was not used (numbered tokens instead)
    view: AttentionView  # S, P, O, mask, row sums, entropies, ‖J_i‖_F
    saturation: Saturation
    backprop: Backprop
    gradient_checks: tuple[GradientCheck, ...]
    backward_error: dict[str, float]  # ‖g_float64 − g_extended‖ / ‖g_extended‖ of dQ, dK, dV
    own_rounding: dict[str, float]  # the share of each check's error bars that is the backward's own rounding
    sweep: SqrtDkSweep
    sweep_lesson: str  # what the √d_k charts show, in words, from their numbers
    snapshots: Snapshots  # nothing trains on this page: empty
    diagnosis: tuple[Message, ...] = ()

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def weights_shown(self) -> np.ndarray:
        """P with masked entries NaN: the heatmap leaves them blank."""
        return np.where(self.view.mask, self.view.weights, np.nan)

    @property
    def looks_most_at(self) -> list[str]:
        """The key each query gives the most weight."""
        return [self.labels[j] for j in self.view.weights.argmax(axis=1)]

    @property
    def mean_entropy(self) -> float:
        return float(self.view.row_entropy.mean())

    @property
    def largest_weight(self) -> float:
        return float(self.view.weights.max())

    @property
    def max_entropy(self) -> np.ndarray:
        """log(number of keys each row may attend to): the entropy of equal weights on them."""
        return np.log(self.view.mask.sum(axis=1))


def sentence_tokens(text: str) -> tuple[tuple[str, ...], str | None]:
    """The sentence's words, or () with the reason when there is none or it does not fit."""
    if not str(text).strip():
        return (), None
    try:
        return parse_tokens(text), None
    except ValueError as exc:
        return (), str(exc)


def uses_sentence(text: str) -> bool:
    """Whether the sentence sets the tokens (the sequence-length control then has nothing to say)."""
    return bool(sentence_tokens(text)[0])


def _flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be on or off (True or False), got {value!r}")
    return bool(value)


def _validated(s: Settings) -> Settings:
    if not isinstance(s.text, str):
        raise ValueError(f"the sentence must be text, got {s.text!r}")
    whole("the sequence length n", s.seq_len, MIN_TOKENS, MAX_TOKENS)
    whole("the key width d_k", s.d_k, 1, MAX_D_K)
    whole("the value width d_v", s.d_v, 1, MAX_D_V)
    real("the temperature T", s.temperature, positive=True, maximum=100.0)
    _flag("Divide by √d_k", s.scale)
    _flag("Causal mask", s.causal)
    check_seed(s.seed)
    return replace(s, seq_len=int(s.seq_len), d_k=int(s.d_k), d_v=int(s.d_v), temperature=float(s.temperature),
                   scale=bool(s.scale), causal=bool(s.causal), seed=int(s.seed))


def _view(s: Settings) -> tuple[AttentionView, str | None]:
    tokens, error = sentence_tokens(s.text)
    problem = make_problem(len(tokens) or s.seq_len, s.d_k, s.d_v, s.seed, tokens)
    return attention_view(problem, causal=s.causal, scale=s.scale, temperature=s.temperature), error


def run(settings: Settings) -> Result:
    """The forward pass, what saturates, the backward pass and its check, the √d_k sweep, the diagnosis."""
    s = _validated(settings)
    view, sentence_error = _view(s)
    p = view.problem
    # dO = ∂L/∂O = O − Y for L = ½‖O − Y‖²
    grad_output = view.output - p.target
    dQ, dK, dV = attention_backward(p.Q, p.K, p.V, grad_output, view.mask, s.scale, s.temperature)
    backprop = Backprop(0.5 * float(np.sum(grad_output**2)), p.target, grad_output, dQ, dK, dV)
    errors = analytic_error(p, view.mask, s.scale, s.temperature)
    checks = attention_gradient_checks(p, view.mask, s.scale, s.temperature, seed=s.seed, errors=errors)
    sweep = sqrt_dk_sweep(len(p.labels), s.temperature, s.seed)
    result = Result(s, p.tokens, p.labels, sentence_error, view, saturation(view, backprop), backprop, checks,
                    errors.measured, {c.name: analytic_share(c, errors) for c in checks}, sweep, sweep_lesson(sweep),
                    Snapshots(np.zeros(0, np.int64), "step"))
    return replace(result, diagnosis=diagnose(result))


def _median(values) -> float:
    return float(np.median(values)) if np.size(values) else float("nan")


def saturation(view: AttentionView, backprop: Backprop) -> Saturation:
    rows, single = view.saturated_rows, view.single_key_rows
    other = ~rows & ~single
    several = ~single
    logits = view.logits[view.mask]
    norms, grads = view.jacobian_norms, backprop.query_grad_norms
    return Saturation(rows, single, int(rows.sum()),
                      float(view.weights[several].max()) if several.any() else float("nan"),
                      float(logits.std()), float(norms[rows].max()) if rows.any() else float("nan"),
                      _median(norms[other]), _median(grads[rows]), _median(grads[other]))


# ----------------------------------------------------------------------------- the query-row fragment

@dataclass(frozen=True)
class QueryRow:
    jacobian: QueryRowJacobian
    reading: str  # how to read J on this row, its numbers written in (markdown)
    caption: str  # which query the charts show (markdown)


LAST_ROW = "last"  # the query-row control's default: the last token, whatever the tokens are
LAST_ROW_LABEL = "the last token"  # constant: a browser keeps a selectbox's choice by the text it shows


def row_options(labels: tuple[str, ...]) -> tuple[str, ...]:
    """What the query-row control offers: the last token (the default, which follows the tokens after
    Reset or when the sequence shrinks below the row picked), then every row by its label."""
    return (LAST_ROW,) + tuple(labels)


def row_index(choice: str, labels: tuple[str, ...]) -> int:
    """The row a choice of ``row_options(labels)`` stands for."""
    return len(labels) - 1 if choice == LAST_ROW else labels.index(choice)


def _code(label: str) -> str:
    return f"`{label.replace('`', '')}`"  # a code span: no emoji, no markup from the token


def query_row(settings: Settings, row: int) -> QueryRow:
    """The weights of query ``row`` and its softmax Jacobian, without the rest of the run."""
    view, _ = _view(_validated(settings))
    q = query_row_jacobian(view, whole("the query row", row, 0))
    p, J = q.probabilities, q.jacobian
    # the keys this query may see, largest weight first (a masked key is never quoted)
    i, j = (np.flatnonzero(q.attends)[np.argsort(p[q.attends], kind="stable")[::-1]].tolist() + [None])[:2]
    first = _code(q.labels[i])
    caption = f"Query {_code(q.label)}: its weights over the keys, and the Jacobian of its softmax."
    if q.single_key:
        reading = (
            f"**Reading J.** This query may see a single key, {first}: its weight is 1 whatever the logit and every "
            f"other weight is 0 by the mask, so no logit moves any weight. Every entry of J is 0 — the diagonal "
            f"$J_{{ii}} = s_i(1 - s_i) = 1 \\times 0$, the off-diagonal $-s_i s_j$ with $s_j = 0$ — and "
            f"$\\lVert J\\rVert_F = {_tex(q.jacobian_norm, '.4g')}$: no gradient reaches this query's logits.")
        return QueryRow(q, reading, caption)
    second = _code(q.labels[j])
    ending = (f" — this row is saturated: ‖J‖_F ≤ 2(1 − its largest weight), so the gradient that reaches its "
              f"logits is at most {q.jacobian_norm:.2g} times ‖dP‖." if q.saturated else
              "; for a one-hot row it would be 0.")
    reading = (
        f"**Reading J.** Diagonal: $J_{{ii}} = s_i(1 - s_i)$, e.g. for {first}: "
        f"${_tex(p[i])} \\times {_tex(1 - p[i])} = {_tex(J[i, i], '.4g')}$ — raising a logit raises its own weight, "
        f"most when that weight is near ½. Off-diagonal: $J_{{ij}} = -s_i s_j$, e.g. {first} against "
        f"{second}: $-{_tex(p[i])} \\times {_tex(p[j])} = {_tex(J[i, j], '.4g')}$ — the weight gained is taken "
        f"from the others. J is symmetric and each row sums to 0 (the weights still sum to 1). "
        f"$\\lVert J\\rVert_F = {_tex(q.jacobian_norm, '.4g')}$" + ending)
    return QueryRow(q, reading, caption)


# ----------------------------------------------------------------------------- the √d_k lesson

def _tex(x: float, fmt: str = ".3g") -> str:
    """A number for LaTeX: 5.75e-09 as 5.75 \\times 10^{-9} (in math mode "e-09" reads as e minus 9)."""
    text = f"{x:{fmt}}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa} \\times 10^{{{int(exponent)}}}"


def _between(low: float, high: float, fmt: str) -> str:
    """ "between a and b", or "at a" when both print the same."""
    a, b = f"{low:{fmt}}", f"{high:{fmt}}"
    return f"at {a}" if a == b else f"between {a} and {b}"


def _path(values: np.ndarray, d_k: np.ndarray, fmt: str = ".2g") -> str:
    """How a curve over d_k goes, as a phrase that is true of these values: its ends and its peak."""
    first, last, top = f"{values[0]:{fmt}}", f"{values[-1]:{fmt}}", int(np.argmax(values))
    if 0 < top < values.size - 1:
        return (f"is {first} at d_k = {d_k[0]}, peaks at {values[top]:{fmt}} at d_k = {d_k[top]} and ends at "
                f"{last} at d_k = {d_k[-1]}")
    if top == values.size - 1 and values[-1] > values[0]:
        return f"grows from {first} at d_k = {d_k[0]} to its largest, {last}, at d_k = {d_k[-1]}"
    return f"is largest at d_k = {d_k[0]}, {first}, and ends at {last} at d_k = {d_k[-1]}"


def sweep_lesson(sweep: SqrtDkSweep) -> str:
    """What the √d_k charts show (markdown), every number from ``sweep``."""
    d, std, J, kn = sweep.d_k, sweep.logit_std, sweep.jacobian_norm_median, sweep.key_norm
    gate, top = sweep.gate_median.unscaled, sweep.gate_top.unscaled
    spread_first, spread_last = top[0] / gate[0], (top[-1] / gate[-1] if gate[-1] > 0 else np.inf)
    uneven = (f"the gradients to Q grow uneven: at d_k = {d[-1]} a tenth of the queries get a gate of {top[-1]:.2g} "
              f"or more and half of them {gate[-1]:.2g} or less" + (
                  f", a ratio of {spread_last:.3g} against {spread_first:.2g} at d_k = {d[0]}. "
                  if np.isfinite(spread_last) else ". ")) if spread_last > 2 * spread_first else ""
    return (
        f"Random queries and keys, n = {sweep.seq_len}, T = {sweep.temperature:g}, no mask, {sweep.n_draws} draws "
        f"per d_k. **Without the √d_k** the logits c·qᵀk (c = 1/T) spread like √d_k/T: their standard deviation "
        f"goes from {std.unscaled[0]:.2g} at d_k = {d[0]} to {std.unscaled[-1]:.3g} at d_k = {d[-1]}, and the mean "
        f"row entropy from {sweep.entropy.unscaled[0]:.3g} to {sweep.entropy.unscaled[-1]:.3g} nats "
        f"(log n = {sweep.max_entropy:.3g} for equal weights). A row's softmax Jacobian is not monotone in that "
        f"spread: equal weights give ‖J‖_F = √(n − 1)/n = {sweep.uniform_jacobian_norm:.3g}, two keys at ½ each "
        f"give ½, a one-hot row 0. Here the median row's ‖J‖_F {_path(J.unscaled, d)}. "
        f"What reaches a query is dq_i = c·Kᵀ J_i dp_i: the Jacobian *times the keys*, whose size grows like "
        f"√d_k (RMS ‖k‖ from {kn[0]:.2g} to {kn[-1]:.3g}) while c = 1/T does not shrink. So the median query's "
        f"gate c‖J_i K‖_F {_path(gate, d)}, and its {GATE_QUANTILE:.0%} point over the queries {_path(top, d)}"
        + (f"; {uneven}" if uneven else ". ") +
        f"**With the √d_k** the logits' spread stays {_between(std.scaled.min(), std.scaled.max(), '.2g')}, "
        f"the median ‖J‖_F {_between(J.scaled.min(), J.scaled.max(), '.3g')}, and the median gate "
        f"{_between(sweep.gate_median.scaled.min(), sweep.gate_median.scaled.max(), '.3g')}.")


# ----------------------------------------------------------------------------- the diagnosis

def saturated_rule(n: int) -> int:
    """Saturated rows from which the page says the softmax has saturated: a quarter of them, at least one."""
    return max(1, n // SATURATED_SHARE)


def diagnose(result: Result) -> tuple[Message, ...]:
    """What the page says: an unused sentence, saturated or nearly uniform weights, the causal mask."""
    s, sat, view, messages = result.settings, result.saturation, result.view, []
    n = result.n
    if result.sentence_error:
        messages.append(Message("sentence_not_used", "warning", "The sentence was not used.",
                                f"{result.sentence_error} Numbered tokens are shown meanwhile."))
    several = ~sat.single_key_rows
    entropy_share = float(view.row_entropy[several].mean() / result.max_entropy[several].mean())
    if sat.count >= saturated_rule(n):
        c_is = "1/(√d_k·T)" if s.scale else "1/T, with no √d_k"
        others = ~sat.rows & several
        compare_j = f", against a median of {sat.jacobian_median_other:.2g} for the other rows" if others.any() else ""
        compare_g = f" against {sat.grad_median_other:.2g} for the others" if others.any() else ""
        tips = (["Turn on **Divide by √d_k**: the logits' spread then stays near 1/T for every d_k.",
                 "Lower d_k: qᵀk sums fewer products."] if not s.scale else [])
        tips += ["Raise the temperature T (T and √d_k multiply)."] if s.temperature < 1 else []
        tips += [] if tips else ["Another seed draws other queries and keys."]
        messages.append(Message(
            "saturated", "problem", "The softmax has saturated",
            f"{sat.count} of {n} queries {'puts' if sat.count == 1 else 'put'} more than {SATURATED:.0%} of "
            f"{'its' if sat.count == 1 else 'their'} weight on one key.",
            f"Each logit is c·qᵀk with c = {view.logit_factor:.3g} ({c_is}). qᵀk sums d_k = {s.d_k} products, so "
            f"its spread grows like √d_k: the logits here have a standard deviation of {sat.logit_std:.3g}. A row "
            f"with more than {SATURATED:.0%} of its weight on one key has ‖J‖_F ≤ 2(1 − its largest weight) < "
            f"{2 * (1 - SATURATED):.2g} (here at most {sat.jacobian_max_saturated:.2g}{compare_j}): its weights "
            f"barely move when its logits do. What reaches its query is c·Kᵀ J dp, that small J times c‖K‖: the "
            + (f"saturated queries' rows of dL/dQ have a median norm of {sat.grad_median_saturated:.2g}{compare_g}."
               if sat.count > 1 else
               f"saturated query's row of dL/dQ has a norm of {sat.grad_median_saturated:.2g}{compare_g}."),
            tuple(tips),
            {"saturated": sat.count, "rows": n, "logit_std": sat.logit_std,
             "jacobian_max_saturated": sat.jacobian_max_saturated}))
    elif entropy_share >= UNIFORM_SHARE:
        messages.append(Message(
            "uniform", "info", "Nearly uniform weights.",
            f"The mean row entropy is {entropy_share:.1%} of the most it can be (equal weights on every key a query "
            "may see): each query comes close to averaging the values it may see.",
            f"The logits c·qᵀk are small (c = {view.logit_factor:.3g}, standard deviation {sat.logit_std:.2g}), so "
            "the softmax sits near its centre, where every weight moves a little with every logit; the gradients "
            "to Q and K also carry the factor c (dQ = c·dS·K, dK = c·dSᵀQ).",
            numbers={"entropy_share": entropy_share, "logit_std": sat.logit_std}))
    elif sat.count:
        messages.append(Message(
            "some_saturated", "info", "A few rows have saturated.",
            f"{sat.count} of {n} queries put more than {SATURATED:.0%} of their weight on one key: their softmax "
            f"Jacobians are at most {sat.jacobian_max_saturated:.2g} (below {2 * (1 - SATURATED):.2g}), against a "
            f"median of {sat.jacobian_median_other:.2g} for the other rows.",
            numbers={"saturated": sat.count, "rows": n}))
    else:
        messages.append(Message(
            "spread", "success", "The weights are spread.",
            f"No query that may see several keys puts more than {SATURATED:.0%} of its weight on one (the largest "
            f"weight is {sat.max_weight:.3f}), so every such row's softmax passes gradient on to its logits "
            f"(median ‖J‖_F = {sat.jacobian_median_other:.3g}).",
            numbers={"max_weight": sat.max_weight}))
    blurred = [c for c in result.gradient_checks if c.verdict == "flat" and c.resolution > RESOLUTION_NEEDED
               and result.own_rounding[c.name] >= OWN_ROUNDING_SHARE]
    if blurred:
        names = " and ".join(f"d{c.name}" for c in blurred)
        resolution, share = max(c.resolution for c in blurred), min(result.own_rounding[c.name] for c in blurred)
        measured = max(result.backward_error[c.name] for c in blurred)
        messages.append(Message(
            "backward_loses_digits", "info", "Why the gradient check cannot pass here.",
            f"The check's error bars are {resolution:.1e} of the size of {names} (a pass needs "
            f"{RESOLUTION_NEEDED:.0e}), and {int(100 * share)}% or more of them is the rounding of the float64 backward pass "
            "itself: nothing disagrees, so the check says too flat to check rather than fail a correct gradient.",
            "The float64 backward pass rounds at each of its products and sums, and the check's bound on that "
            "rounding is larger here than a pass allows" + (
                f" (the float64 {names} differ from the same code run in extended precision by {measured:.1e} "
                "relative)." if measured > RESOLUTION_NEEDED else
                f"; the same code run in extended precision agrees with it to {measured:.1e}, so the error bars "
                "come from the bound, not from digits actually lost."),
            numbers={"resolution": resolution, "own_rounding": share, "backward_error": measured}))
    if s.causal:
        dq0 = float(result.backprop.query_grad_norms[0])
        messages.append(Message(
            "causal", "info", "Causal mask.",
            f"Query i sees keys 0…i only: {int((~view.mask).sum())} of {n * n} weights {'is' if int((~view.mask).sum()) == 1 else 'are'} masked, each exactly 0, "
            "and pass no gradient.",
            "The first query can attend only to itself: its weight is exactly 1 whatever the logits, so its "
            f"softmax Jacobian is 0 and its row of dL/dQ is exactly 0 (‖dL/dq_0‖ = {dq0:g}). The last key is seen "
            f"by the last query alone: dL/dv_{n - 1} = P_{n - 1},{n - 1} · dO_{n - 1}.",
            numbers={"masked": int((~view.mask).sum()), "first_query_grad": dq0}))
    return tuple(messages)


# ----------------------------------------------------------------------------- lessons

PRESETS = (
    Preset("no-sqrt-dk", "No √d_k: saturated softmax",
           "Without the 1/√d_k the logits of these 256-wide queries and keys spread 16 times wider: one or more "
           "(for most seeds several) of the five queries put more than 99% of their weight on one key, and their "
           "softmax Jacobians shrink below 0.02.",
           settings={"scale": False, "d_k": 256}, expect=("saturated",), avoid=("spread",)),
    Preset("sqrt-dk-keeps-spread", "d_k = 256 with √d_k: still spread",
           "The same 256-wide queries and keys with the 1/√d_k: the logits keep a standard deviation between 0.5 "
           "and 1.4, no query saturates — the largest weight stays below 0.91 for every seed from 0 to 199 — and "
           "the gradient check passes.",
           settings={"d_k": 256}, expect=("spread",), avoid=("saturated",)),
    Preset("causal", "Causal mask: a decoder's triangle",
           "Each token may look only at itself and the tokens before it: the weights form a lower triangle, the "
           "first token attends to itself alone (weight 1, so its query gets no gradient).",
           settings={"causal": True, "text": "the cat sat on the mat"}, expect=("causal",)),
    Preset("cold", "T = 0.05: sharp even with √d_k",
           "Temperature and √d_k multiply: at T = 0.05 the scaled logits spread exactly twenty times wider than at "
           "T = 1, and the softmax saturates: for every seed from 0 to 199 at least one of the five queries (for "
           "most seeds three or more) puts more than 99% of its weight on one key. At T = 0.1 a few of those seeds "
           "(8 of the 200) stop short of 99%.",
           settings={"temperature": 0.05}, expect=("saturated",), avoid=("spread",)),
    Preset("hot", "T = 10: nearly uniform weights",
           "At T = 10 the logits shrink ten times: every query spreads its weight almost evenly (no weight above "
           "0.3, where even is 0.2) and mixes all the values, and ‖dQ‖ and ‖dK‖ fall to a fifth of their size at "
           "T = 1 or less.",
           settings={"temperature": 10.0}, expect=("uniform",), avoid=("saturated",)),
)


def preset_diagnosis(preset: Preset, seed: int) -> tuple[Message, ...]:
    return run(preset.apply(Settings(), seed=seed)).diagnosis
