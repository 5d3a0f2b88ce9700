"""Every benchmark still runs (in its --quick mode): a benchmark that rots silently measures nothing."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# bench_pages needs a browser and minutes; bench_room has its own smoke test (tests/test_bench_room.py)
BENCHMARKS = sorted(p.stem for p in (ROOT / "benchmarks").glob("bench_*.py") if p.stem not in ("bench_pages", "bench_room"))


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_runs_in_quick_mode_and_prints_its_table(name):
    result = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", "--quick"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    table_rows = [line for line in result.stdout.splitlines() if line.startswith("|")]
    assert len(table_rows) >= 3, result.stdout[-2000:]
