"""Side-by-side timing for the benchmarks: every speed target is a ratio measured in one run.

Each benchmark script times its own code and the named reference on the same inputs in the same
process, interleaving the repetitions so that a noisy neighbour slows both alike, and reports the
best (minimum) time of each and their ratio.
"""

from __future__ import annotations

import gc
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Timing:
    name: str
    best_seconds: float
    runs: int


def time_side_by_side(candidates: dict[str, Callable[[], object]], repeat: int = 5) -> dict[str, Timing]:
    """Best-of-``repeat`` wall time of each zero-argument callable, repetitions interleaved."""
    best = {name: float("inf") for name in candidates}
    for _ in range(repeat):
        for name, run in candidates.items():
            gc.collect()
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: Timing(name, best[name], repeat) for name in candidates}


def machine_line() -> str:
    import os

    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}"


def ratio_table(rows: list[tuple[str, float, str]], title: str) -> str:
    """A small markdown table: (what, seconds, note) rows."""
    lines = [f"### {title}", f"_{machine_line()}_", "", "| what | best time | note |", "|---|---:|---|"]
    for what, seconds, note in rows:
        lines.append(f"| {what} | {seconds * 1e3:,.1f} ms | {note} |")
    return "\n".join(lines)


def publish(table: str, results: Path, quick: bool) -> None:
    """Print the table; a full-size run (not --quick) also writes it to benchmarks/results/."""
    print(table)
    if not quick:
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(table + "\n")
        print(f"\nwritten to {results}")
