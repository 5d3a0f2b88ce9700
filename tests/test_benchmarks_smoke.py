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


@pytest.mark.parametrize("query, charts, texts", [({}, 0, 0), ({"charts": "3", "texts": "8"}, 3, 8), ({"texts": "7"}, 0, 7),
                                                  ({"charts": "1e9", "texts": "-4"}, 0, 0),
                                                  ({"charts": "99999"}, 400, 0)])
def test_the_bare_equivalent_draws_as_many_charts_and_texts_as_asked(query, charts, texts):
    """bench_pages sets each page beside benchmarks/bare_charts.py grown to the page's size; it checks
    the count in the browser, and this checks the script without one (a bad number draws nothing extra)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "benchmarks" / "bare_charts.py"), default_timeout=60)
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == charts
    assert len(at.slider) == 8
    # the texts: a heading, then the two columns' text and caption, in threes; plus the bare page's sum line
    drawn = len(at.markdown) + len(at.caption) - 1
    assert drawn == texts
    before = [c.proto.datasets[0].data.data for c in at.get("vega_lite_chart")]
    at.slider(key="s3").set_value(70).run()
    after = [c.proto.datasets[0].data.data for c in at.get("vega_lite_chart")]
    assert all(a != b for a, b in zip(before, after)), "every chart's data must follow slider 3"
