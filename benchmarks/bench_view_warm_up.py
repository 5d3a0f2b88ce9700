"""A fresh server's first Policy Gradient page: the run sent to a worker, then the scrubber's first
replay computed in the server — with the lab's ``warm_up_views()`` overlapping the worker's run
(what ``ui.workers`` does) and without it, each in a fresh process, alternating.

    python -m benchmarks.bench_view_warm_up            # 5 pairs, written to benchmarks/results/view_warm_up.md
    python -m benchmarks.bench_view_warm_up --repeat 9
    python -m benchmarks.bench_view_warm_up --quick    # one pair, nothing written
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.timing import machine_line, publish

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "view_warm_up.md"

PROBE = """
import os, sys, time
os.environ["LAB_WORKERS"] = "2"
from ui import workers
from calc_core.policy_gradient import lab
if sys.argv[1] == "cold":
    workers._views_warming[lab.__name__] = None  # as if warmed: nothing runs
workers.start(); workers.ready(timeout=120)
t0 = time.perf_counter(); result = workers.run(lab.run, lab.Settings()); t1 = time.perf_counter()
lab.replay_at(result, 5, False); t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
workers.stop()
"""


def first_page(mode: str) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    run, replay = map(float, out.stdout.split()[-2:])
    return run, replay


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one pair, nothing written")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    seen = {"cold": [], "warm": []}
    for _ in range(repeat):
        for mode in seen:
            seen[mode].append(first_page(mode))
    lines = ["### A fresh server's first Policy Gradient page: the run in a worker, then the first replay in the server",
             f"_{machine_line()}; median of {repeat}, each in a fresh process, alternating_", "",
             "| warm_up_views | run (worker) | first replay (server) | both |", "|---|---:|---:|---:|"]
    totals = {}
    for mode, times in seen.items():
        runs, replays = zip(*times)
        totals[mode] = statistics.median(a + b for a, b in times)
        lines.append(f"| {'on' if mode == 'warm' else 'off'} | {statistics.median(runs) * 1e3:.0f} ms | "
                     f"{statistics.median(replays) * 1e3:.0f} ms | {totals[mode] * 1e3:.0f} ms |")
    lines += ["", f"With the warm-up ÷ without: **{totals['warm'] / totals['cold']:.2f}**"]
    publish("\n".join(lines), RESULTS, args.quick)


if __name__ == "__main__":
    main()
