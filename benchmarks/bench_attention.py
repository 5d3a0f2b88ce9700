"""Attention: the calc work of a page rerun, and attention_backward against naive references.

    python -m benchmarks.bench_attention           # full size; writes results/attention.md
    python -m benchmarks.bench_attention --quick   # tiny sizes, a few seconds (smoke test)

Part 1 times every calc_core call the Attention page makes on a rerun (uncached), at the page's
defaults and at its largest settings (seq 32, d_k 256, d_v 256). Part 2 times
``attention_backward`` side by side with two references that compute the same (dQ, dK, dV):
central differences of the loss over every coordinate, and the backward pass through explicitly
built per-row softmax Jacobians (n_q matrices of n_k × n_k).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.timing import publish, ratio_table, time_side_by_side
from calc_core.attention.core import (
    attention_backward,
    causal_mask,
    logit_factor,
    scaled_dot_product_attention,
    softmax,
    softmax_jacobian,
)
from calc_core.attention.lab import (
    attention_gradient_checks,
    attention_gradients,
    attention_view,
    query_row_jacobian,
    sqrt_dk_lesson,
)
from calc_core.common.gradcheck import numerical_gradient, relative_error

RESULTS = Path(__file__).parent / "results" / "attention.md"


def page_rerun_rows(label, seq_len, d_k, d_v, lesson_d_k, n_draws, repeat):
    """One uncached rerun of the page's calc work, call by call."""
    settings = dict(causal=True, scale=True, temperature=1.0)
    calls = {
        "attention_view": lambda: attention_view(seq_len, d_k, d_v, 0, **settings),
        "query_row_jacobian": lambda: query_row_jacobian(seq_len, d_k, d_v, 0, seq_len - 1,
                                                         **settings),
        "attention_gradients": lambda: attention_gradients(seq_len, d_k, d_v, 0, **settings),
        "attention_gradient_checks (30 coords each)": lambda: attention_gradient_checks(
            seq_len, d_k, d_v, 0, **settings),
        f"sqrt_dk_lesson ({len(lesson_d_k)} d_k ≤ {max(lesson_d_k)}, {n_draws} draws)":
            lambda: sqrt_dk_lesson(lesson_d_k, seq_len, n_draws),
    }
    timings = time_side_by_side(calls, repeat=repeat)
    rows = [(f"{label}: {name}", t.best_seconds, "") for name, t in timings.items()]
    total = sum(t.best_seconds for t in timings.values())
    rows.append((f"{label}: whole rerun", total, "target: well under 1 s"))
    return rows


def jacobian_backward(Q, K, V, dO, mask, scale, temperature):
    """Reference: dS_i = J_iᵀ dP_i with J_i = diag(P_i) − P_i P_iᵀ built for every query row."""
    c = logit_factor(Q.shape[1], scale, temperature)
    P = softmax(c * (Q @ K.T), mask=mask)
    dP = dO @ V.T
    dS = np.einsum("nij,ni->nj", softmax_jacobian(P), dP)
    return c * (dS @ K), c * (dS.T @ Q), P.T @ dO


def finite_difference_backward(Q, K, V, dO, mask, scale, temperature):
    """Reference: central differences of L = Σ O ⊙ dO over every coordinate of Q, K and V."""
    def loss(Q_, K_, V_):
        return float(np.sum(scaled_dot_product_attention(Q_, K_, V_, mask, scale, temperature)[0]
                            * dO))

    return (numerical_gradient(lambda x: loss(x, K, V), Q),
            numerical_gradient(lambda x: loss(Q, x, V), K),
            numerical_gradient(lambda x: loss(Q, K, x), V))


def backward_rows(seq_len, d_k, d_v, repeat, fd_repeat):
    rng = np.random.default_rng(0)
    Q, K, V = (rng.standard_normal(s) for s in ((seq_len, d_k), (seq_len, d_k), (seq_len, d_v)))
    dO = rng.standard_normal((seq_len, d_v))
    args = (Q, K, V, dO, causal_mask(seq_len), True, 1.0)
    ours = attention_backward(*args)
    size = f"n={seq_len}, d_k={d_k}, d_v={d_v}"
    rows = []
    for name, reference, reps in (("explicit Jacobians", jacobian_backward, repeat),
                                  ("central differences", finite_difference_backward, fd_repeat)):
        error = max(relative_error(a, b) for a, b in zip(ours, reference(*args)))
        timings = time_side_by_side({"ours": lambda: attention_backward(*args),
                                     "reference": lambda: reference(*args)}, repeat=reps)
        ratio = timings["reference"].best_seconds / timings["ours"].best_seconds
        rows.append((f"{size}: attention_backward", timings["ours"].best_seconds, ""))
        rows.append((f"{size}: {name}", timings["reference"].best_seconds,
                     f"{ratio:,.0f}× slower than attention_backward; max rel. diff {error:.1e}"))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    quick = parser.parse_args(argv).quick
    if quick:
        rerun = [("defaults", 5, 8, 8, (1, 4, 16), 4), ("largest", 8, 16, 8, (1, 4, 16), 4)]
        sizes, repeat, fd_repeat = [(5, 8, 8)], 3, 1
    else:
        lesson = (1, 2, 4, 8, 16, 32, 64, 128, 256)
        rerun = [("defaults (5, 8, 8)", 5, 8, 8, lesson, 20),
                 ("largest (32, 256, 256)", 32, 256, 256, lesson, 20)]
        sizes, repeat, fd_repeat = [(5, 8, 8), (32, 64, 64), (32, 256, 256)], 20, 2
    rows = []
    for label, seq_len, d_k, d_v, lesson_d_k, n_draws in rerun:
        rows += page_rerun_rows(label, seq_len, d_k, d_v, lesson_d_k, n_draws, repeat)
    for seq_len, d_k, d_v in sizes:
        rows += backward_rows(seq_len, d_k, d_v, repeat, fd_repeat)
    title = "Attention: page rerun (uncached) and attention_backward vs references"
    table = ratio_table(rows, title)
    publish(table, RESULTS, quick)


if __name__ == "__main__":
    main()
