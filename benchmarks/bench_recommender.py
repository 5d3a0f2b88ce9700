"""Training speed of calc_core.recommender.model on a MovieLens-100k-sized problem, side by side with
scikit-surprise's SVD and with a plain Python per-rating loop like the tutorial's.

    python -m benchmarks.bench_recommender          # full size (943 users, 1,682 items, 80,000 training ratings)
    python -m benchmarks.bench_recommender --quick  # a small problem, a few seconds

Same data, split, 20 factors, 20 epochs, η = 0.005, λ = 0.02 for all three; each reports its test
RMSE so the speed is compared at equal accuracy. Also measures numba's compile time (cold cache)
and the cached load, which the first page load pays.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

from benchmarks.timing import publish, ratio_table, time_side_by_side
from calc_core.recommender.data import planted_ratings, train_test_split
from calc_core.recommender.model import MatrixFactorization, rmse

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "recommender.md"


def tutorial_loop_fit(users, items, ratings, n_users, n_items, n_factors, lr, reg, n_epochs, seed):
    """The tutorial's training loop, kept as the slow reference: numpy per rating, list shuffle."""
    rng = np.random.default_rng(seed)
    P = rng.normal(0, 0.1, (n_users, n_factors))
    Q = rng.normal(0, 0.1, (n_items, n_factors))
    b_u, b_i = np.zeros(n_users), np.zeros(n_items)
    data = list(zip(users.tolist(), items.tolist(), ratings.tolist()))
    mu = float(np.mean(ratings))
    for _ in range(n_epochs):
        rng.shuffle(data)
        for u, i, r in data:
            error = r - (mu + b_u[u] + b_i[i] + np.dot(P[u], Q[i]))
            b_u[u] += lr * (error - reg * b_u[u])
            b_i[i] += lr * (error - reg * b_i[i])
            p_old = P[u].copy()
            P[u] += lr * (error * Q[i] - reg * P[u])
            Q[i] += lr * (error * p_old - reg * Q[i])
    return mu, b_u, b_i, P, Q


def compile_times() -> dict[str, float]:
    """Seconds for `import calc_core.recommender.model` + a first tiny fit in a fresh process, with an
    empty numba cache (compiles) and then with the cache it wrote (loads)."""
    probe = textwrap.dedent("""
        import time; t = time.perf_counter()
        from calc_core.recommender.model import MatrixFactorization
        MatrixFactorization(3, 3, 2).fit([0, 1, 2], [0, 1, 2], [1.0, 2.0, 3.0], n_epochs=1)
        print(time.perf_counter() - t)
    """)
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold numba cache (compile)", "warm numba cache (load)"):
            result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True,
                                    text=True, check=True)
            out[label] = float(result.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_users, n_items, n_ratings = (943, 1682, 100_000) if not args.quick else (100, 120, 3_000)
    settings = dict(n_factors=20, lr=0.005, reg=0.02, n_epochs=20 if not args.quick else 3)
    data = planted_ratings(n_users, n_items, n_ratings / (n_users * n_items), 5, 0.5, seed=0)
    train, test = train_test_split(data.ratings.size, 0.2, seed=0)
    u, i, r = data.users[train], data.items[train], data.ratings[train]
    tu, ti, tr = data.users[test], data.items[test], data.ratings[test]

    import pandas as pd
    import surprise

    trainset = surprise.Dataset.load_from_df(pd.DataFrame({"u": u, "i": i, "r": r}),
                                             surprise.Reader(rating_scale=(1, 5))).build_full_trainset()
    results = {}

    def ours():
        model = MatrixFactorization(n_users, n_items, settings["n_factors"], lr=settings["lr"],
                                    reg=settings["reg"], seed=0)
        results["ours"] = model.fit(u, i, r, settings["n_epochs"])

    def surprise_svd():
        algo = surprise.SVD(n_factors=settings["n_factors"], n_epochs=settings["n_epochs"], lr_all=settings["lr"],
                            reg_all=settings["reg"], random_state=0)
        results["surprise"] = algo.fit(trainset)

    def plain_loop():
        results["loop"] = tutorial_loop_fit(u, i, r, n_users, n_items, seed=0, **settings)

    ours()  # compile / load the numba kernel outside the timing (its cost is reported separately)
    fast = time_side_by_side({"ours": ours, "surprise": surprise_svd}, repeat=5 if not args.quick else 2)
    slow = time_side_by_side({"loop": plain_loop}, repeat=1)
    timings = {**fast, **slow}

    model = results["ours"]
    rmse_ours = rmse(model.predict(tu, ti), tr)
    algo = results["surprise"]
    rmse_surprise = rmse([algo.predict(a, b).est for a, b in zip(tu, ti)], tr)
    mu, b_u, b_i, P, Q = results["loop"]
    rmse_loop = rmse(np.clip(mu + b_u[tu] + b_i[ti] + np.einsum("nk,nk->n", P[tu], Q[ti]), 1, 5), tr)
    t = {name: timing.best_seconds for name, timing in timings.items()}
    starts = compile_times()
    rows = [
        ("calc_core MatrixFactorization.fit (numba)", t["ours"], f"test RMSE {rmse_ours:.4f}; includes per-epoch train RMSE"),
        ("scikit-surprise SVD.fit (Cython)", t["surprise"], f"test RMSE {rmse_surprise:.4f}; **ours is {t['surprise'] / t['ours']:.2f}× as fast** (target ≥ 1)"),
        ("plain Python per-rating loop (tutorial)", t["loop"], f"test RMSE {rmse_loop:.4f}; **ours is {t['loop'] / t['ours']:.0f}× faster** (target ≥ 20)"),
    ] + [(f"import + first fit, {label}", seconds, "fresh process") for label, seconds in starts.items()]
    title = (f"Matrix factorization, {n_users} users × {n_items} items, {u.size:,} training ratings, "
             f"{settings['n_factors']} factors, {settings['n_epochs']} epochs")
    table = ratio_table(rows, title)
    publish(table, RESULTS, args.quick)


if __name__ == "__main__":
    main()
