"""REINFORCE on cart-pole: episodes and wall time to a 100-episode average of 475, batched rollouts
against a step-by-step rollout of the same algorithm.

    python -m benchmarks.bench_policy_gradient          # full; writes results/policy_gradient.md
    python -m benchmarks.bench_policy_gradient --quick  # tiny sizes, a few seconds (smoke test)

Part 1 trains at the page's default settings for three seeds until the moving average reaches
475, once with all of an update's episodes run at once (``rollout="batched"``) and once with one
environment at a time and a Python iteration per step (``rollout="step_by_step"``). Both draw the
same random numbers, so they run the same episodes and reach 475 at the same episode; only the
time differs. Part 2 is the page's default training run (600 episodes, no early stop). Part 3
measures rollout throughput (environment steps per second) against the number of environments
run at once, for a fixed policy half-way through training (episodes of very different lengths,
so the batch shrinks as poles fall).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.timing import publish, ratio_table, time_side_by_side
from calc_core.policy_gradient.reinforce import train
from calc_core.policy_gradient.rollout import draw_episode_noise, rollout_batched, rollout_step_by_step

RESULTS = Path(__file__).parent / "results" / "policy_gradient.md"


def time_to_threshold_rows(seeds, target, max_episodes, repeat):
    rows = []
    for seed in seeds:
        runs = {}

        def run(rollout, seed=seed):
            runs[rollout] = train(seed=seed, episodes=max_episodes, stop_at_average=target,
                                  rollout=rollout)

        timings = time_side_by_side({rollout: (lambda r=rollout: run(r))
                                     for rollout in ("batched", "step_by_step")}, repeat=repeat)
        batched, reference = runs["batched"], runs["step_by_step"]
        reached = [r.episodes_run if r.moving_average[-1] >= target else None
                   for r in (batched, reference)]
        same = np.array_equal(batched.returns, reference.returns)
        ratio = timings["step_by_step"].best_seconds / timings["batched"].best_seconds
        steps = int(batched.returns.sum())
        label = f"seed {seed}: average {target:g} at episode {reached[0]} ({steps:,} steps)"
        rows.append((f"{label}, batched", timings["batched"].best_seconds, ""))
        rows.append((f"{label}, step by step", timings["step_by_step"].best_seconds,
                     f"reached at episode {reached[1]}; same episodes: {same}; "
                     f"step by step ÷ batched = **{ratio:.1f}×**"))
    return rows


def default_run_rows(seeds, repeat):
    rows = []
    for seed in seeds:
        results = {}
        timing = time_side_by_side({"train": lambda s=seed: results.setdefault(s, train(seed=s))},
                                   repeat=repeat)["train"]
        result = results[seed]
        label = f"page default run, seed {seed} ({result.episodes_run} episodes)"
        rows.append((label, timing.best_seconds,
                     f"195 at {result.classic_episode}, 475 at {result.solved_episode}; "
                     f"target: a few seconds"))
    return rows


def throughput_rows(batch_sizes, repeat):
    params = train(seed=0, episodes=100).params  # mid-training: episodes of ~20 to 500 steps
    rows = []
    for n in batch_sizes:
        noise = draw_episode_noise(np.random.default_rng(n), n)
        steps = int(rollout_batched(params, *noise).lengths.sum())
        timings = time_side_by_side({"batched": lambda: rollout_batched(params, *noise),
                                     "step": lambda: rollout_step_by_step(params, *noise)},
                                    repeat=repeat)
        b, s = timings["batched"].best_seconds, timings["step"].best_seconds
        rows.append((f"{n} episode{'s' * (n > 1)} at once ({steps:,} steps): batched", b,
                     f"{steps / b:,.0f} steps/s"))
        rows.append((f"{n} episode{'s' * (n > 1)} ({steps:,} steps): step by step", s,
                     f"{steps / s:,.0f} steps/s; step by step ÷ batched = **{s / b:.1f}×**"))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    quick = parser.parse_args(argv).quick
    start = time.perf_counter()
    train(episodes=5)  # load the compiled dynamics before timing
    if quick:
        rows = time_to_threshold_rows(seeds=(0,), target=100.0, max_episodes=300, repeat=1)
        rows += throughput_rows((1, 10), repeat=1)
    else:
        rows = time_to_threshold_rows(seeds=(0, 1, 2), target=475.0, max_episodes=2000, repeat=2)
        rows += default_run_rows(seeds=(0, 1, 2), repeat=2)
        rows += throughput_rows((1, 5, 20, 100), repeat=3)
    title = "REINFORCE on cart-pole: batched against step-by-step rollouts (page defaults)"
    table = ratio_table(rows, title)
    publish(table, RESULTS, quick)
    print(f"(benchmark ran for {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
