"""Attention: the calc work of a page rerun, and attention_backward against naive references.

    python -m benchmarks.bench_attention           # full size; writes results/attention.md
    python -m benchmarks.bench_attention --quick   # tiny sizes, a few seconds (smoke test)

Part 1 times ``lab.run`` — what a slider move reruns on a cache miss — at the page's defaults and at
its largest settings (n 32, d_k 256, d_v 64, unscaled and causal), and the pieces it is made of: the
forward pass, the backward pass, the gradient check (the change of L in extended precision with the
analytic error bars, 16 coordinates and 2 directions per parameter) and the √d_k sweep (memoized in
calc_core: here cleared before every call, so every call is a miss). Also the query-row fragment.
Part 2 times ``attention_backward`` side by side with two references that compute the same
(dQ, dK, dV): central differences of the loss over every coordinate, and the backward pass through
explicitly built per-row softmax Jacobians (n_q matrices of n_k × n_k).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.timing import publish, ratio_table, time_side_by_side
from calc_core.attention import (attention_backward, causal_mask, lab, logit_factor, scaled_dot_product_attention,
                                 softmax, softmax_jacobian)
from calc_core.attention.checks import attention_gradient_checks
from calc_core.attention.problem import attention_view, make_problem
from calc_core.attention.sweep import sqrt_dk_sweep
from calc_core.common.gradcheck import numerical_gradient, relative_error

RESULTS = Path(__file__).parent / "results" / "attention.md"


def uncached(function):
    def call(*args, **kwargs):
        sqrt_dk_sweep.cache_clear()
        return function(*args, **kwargs)
    return call


def page_rerun_rows(label, settings: lab.Settings, repeat):
    """One cache miss of the page's calc work, and its pieces."""
    s = settings
    problem = make_problem(s.seq_len, s.d_k, s.d_v, s.seed)
    mask = causal_mask(s.seq_len) if s.causal else np.ones((s.seq_len, s.seq_len), bool)
    view = attention_view(problem, causal=s.causal, scale=s.scale, temperature=s.temperature)
    calls = {
        "attention_view (forward)": lambda: attention_view(problem, causal=s.causal, scale=s.scale,
                                                           temperature=s.temperature),
        "attention_backward": lambda: attention_backward(problem.Q, problem.K, problem.V,
                                                         view.output - problem.target, mask, s.scale, s.temperature),
        "attention_gradient_checks (16 coords + 2 directions each)": lambda: attention_gradient_checks(
            problem, mask, s.scale, s.temperature, seed=s.seed),
        "sqrt_dk_sweep (9 d_k ≤ 256, 20 draws), uncached": uncached(lambda: sqrt_dk_sweep(s.seq_len, s.temperature,
                                                                                           s.seed)),
        "lab.query_row (the row fragment)": lambda: lab.query_row(s, s.seq_len - 1),
        "lab.run: the whole cache miss": uncached(lambda: lab.run(s)),
    }
    timings = time_side_by_side(calls, repeat=repeat)
    return [(f"{label}: {name}", t.best_seconds,
             "target: ≲ 250 ms" if name.startswith("lab.run") else "") for name, t in timings.items()]


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
        rerun = [("defaults", lab.Settings())]
        sizes, repeat, fd_repeat = [(5, 8, 8)], 2, 1
    else:
        rerun = [("defaults (5, 8, 8)", lab.Settings()),
                 ("largest (32, 256, 64, unscaled, causal, T = 0.25)",
                  lab.Settings(seq_len=32, d_k=256, d_v=64, scale=False, causal=True, temperature=0.25, seed=1))]
        sizes, repeat, fd_repeat = [(5, 8, 8), (32, 64, 64), (32, 256, 256)], 10, 2
    rows = []
    for label, settings in rerun:
        rows += page_rerun_rows(label, settings, repeat)
    for seq_len, d_k, d_v in sizes:
        rows += backward_rows(seq_len, d_k, d_v, repeat, fd_repeat)
    title = "Attention: a page rerun on a cache miss, and attention_backward vs references"
    table = ratio_table(rows, title)
    publish(table, RESULTS, quick)


if __name__ == "__main__":
    main()
