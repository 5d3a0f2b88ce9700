"""REINFORCE on cart-pole at the page's defaults: what they achieve over seeds 0–19, how long a
retraining takes, how fast the three rollouts are, and whether two trainings run in parallel.

    python -m benchmarks.bench_policy_gradient          # full; writes results/policy_gradient.md
    python -m benchmarks.bench_policy_gradient --quick  # tiny sizes, a few seconds (smoke test)

Part 1 trains at the page's defaults (calc_core.policy_gradient.lab.Settings: Adam η = 0.02, γ = 0.99,
16 hidden units, normalized returns, 5 episodes per update, at most 1000 episodes, stopping once the
last 100 episodes average 475) for seeds 0–19 and reports the spread: how many are solved, the
episodes it took, and the wall time of training and of the page's whole ``run`` (training, the
baseline lesson, the gradient check, the policy maps). Part 2 is the rollouts' throughput — the
compiled loop training uses, numpy in lockstep, and one environment at a time — on the same
episodes. Part 3 is the GIL: a default training alone, beside a thread of busy
Python (another session's script), and two trainings at once on two threads, with the compiled
rollout (which releases the GIL for a whole batch of episodes) and with the numpy one.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.timing import publish, ratio_table, time_side_by_side
from calc_core.policy_gradient import lab
from calc_core.policy_gradient.reinforce import train
from calc_core.policy_gradient.rollout import draw_episode_noise, rollout_batched, rollout_compiled, rollout_step_by_step

RESULTS = Path(__file__).parent / "results" / "policy_gradient.md"


def _cpu(function):
    """(result, CPU seconds of this thread): what the call costs on a core of its own, however busy
    the machine is (the wall time next to it is the best of a few repetitions)."""
    start = time.thread_time()
    result = function()
    return result, time.thread_time() - start


def seeds_rows(seeds, repeat):
    """The defaults over ``seeds``: solved fraction, episodes to solve, training and run() times."""
    solved, lasts, times = [], [], {"train": [], "run": [], "train_cpu": [], "run_cpu": []}
    for seed in seeds:
        settings = lab.Settings(seed=seed)
        cpu = {}

        def timed(name, function):
            result, cpu[name] = _cpu(function)
            return result

        timings = time_side_by_side({"train": lambda: timed("train", lambda: train(**lab.train_settings(settings))),
                                     "run": lambda: timed("run", lambda: lab.run(settings))}, repeat=repeat)
        trained = train(**lab.train_settings(settings))
        solved.append(trained.solved_episode if trained.stopped_early else None)
        lasts.append(trained.moving_average[-1])
        for name in ("train", "run"):
            times[name].append(timings[name].best_seconds)
            times[f"{name}_cpu"].append(cpu[name])
    episodes = np.array([s for s in solved if s is not None])
    n, label = len(seeds), f"seeds {seeds[0]}–{seeds[-1]}"
    spread = (f"episodes to solve: median {np.median(episodes):.0f}, {episodes.min()}–{episodes.max()}"
              if episodes.size else "none solved")

    def cpu(name, how):
        return f"CPU time {how} {1e3 * getattr(np, how)(times[name + '_cpu']):,.0f} ms"

    return [
        (f"page defaults, {label}: training, median", float(np.median(times["train"])),
         f"**solved {episodes.size}/{n}** (last-100 average ≥ 475, then stopped); {spread}; "
         f"last-100 average {min(lasts):.0f}–{max(lasts):.0f}; {cpu('train', 'median')}"),
        (f"page defaults, {label}: training, slowest seed", float(np.max(times["train"])), cpu("train", "max")),
        (f"page defaults, {label}: the page's whole run(), median", float(np.median(times["run"])),
         "training + the baseline lesson (60 batches at θ₀) + the gradient check + the policy maps; "
         + cpu("run", "median")),
        (f"page defaults, {label}: the page's whole run(), slowest seed", float(np.max(times["run"])),
         f"target: a retraining under 1 s; {cpu('run', 'max')}"),
    ]


def throughput_rows(batch_sizes, repeat):
    params = train(seed=0, episodes=100, stop_at_average=None).params  # mid-training: episodes of ~20 to 500 steps
    rows = []
    for n in batch_sizes:
        noise = draw_episode_noise(np.random.default_rng(n), n)
        steps = int(rollout_compiled(params, *noise).lengths.sum())
        timings = time_side_by_side({"compiled": lambda: rollout_compiled(params, *noise),
                                     "batched": lambda: rollout_batched(params, *noise),
                                     "step": lambda: rollout_step_by_step(params, *noise)}, repeat=repeat)
        c, b, s = (timings[k].best_seconds for k in ("compiled", "batched", "step"))
        label = f"{n} episode{'s' * (n > 1)} ({steps:,} steps)"
        rows.append((f"{label}: compiled (training's)", c, f"{steps / c:,.0f} steps/s"))
        rows.append((f"{label}: numpy in lockstep", b, f"{steps / b:,.0f} steps/s; ÷ compiled = **{b / c:.1f}×**"))
        rows.append((f"{label}: one at a time", s, f"{steps / s:,.0f} steps/s; ÷ compiled = **{s / c:.1f}×**"))
    return rows


def _busy_python(stop: threading.Event) -> None:
    """Another session's script: pure Python that wants the GIL all the time."""
    count = 0
    while not stop.is_set():
        count += 1


def contention_rows(repeat):
    """A default training alone, beside a busy Python thread, and two at once, per rollout."""
    rows = []
    for rollout in ("compiled", "batched"):
        def one(seed=1):
            train(seed=seed, rollout=rollout)

        def beside_python():
            stop = threading.Event()
            thread = threading.Thread(target=_busy_python, args=(stop,))
            thread.start()
            try:
                one()
            finally:
                stop.set()
                thread.join()

        def two():
            threads = [threading.Thread(target=one, args=(seed,)) for seed in (1, 2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        _, cpu = _cpu(one)
        timings = time_side_by_side({"one": one, "python": beside_python, "two": two}, repeat=repeat)
        alone = timings["one"].best_seconds
        rows.append((f"{rollout} rollout: a default training alone", alone, f"CPU time {1e3 * cpu:,.0f} ms"))
        rows.append((f"{rollout} rollout: beside a busy Python thread", timings["python"].best_seconds,
                     f"÷ alone = **{timings['python'].best_seconds / alone:.1f}×**: each time numpy lets the GIL go "
                     "(arrays over 500 elements) it may wait a switch interval (5 ms) to get it back"))
        rows.append((f"{rollout} rollout: two trainings at once on two threads", timings["two"].best_seconds,
                     f"÷ alone = **{timings['two'].best_seconds / alone:.2f}×** (1.0: in parallel, 2.0: one after "
                     "the other)"))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    quick = parser.parse_args(argv).quick
    start = time.perf_counter()
    lab.run(lab.Settings(episodes=10))  # load the compiled loops before timing
    if quick:
        rows = seeds_rows(seeds=(0, 1), repeat=1)
        rows += throughput_rows((5,), repeat=1)
        rows += contention_rows(repeat=1)
    else:
        rows = seeds_rows(seeds=tuple(range(20)), repeat=2)
        rows += throughput_rows((1, 5, 20, 100), repeat=3)
        rows += contention_rows(repeat=3)
    table = ratio_table(rows, "REINFORCE on cart-pole at the page's defaults: 20 seeds, rollouts, two trainings at once")
    publish(table, RESULTS, quick)
    print(f"(benchmark ran for {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
