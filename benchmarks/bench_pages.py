"""How fast each page answers a slider change, against the lab's budget of one second.

    python -m benchmarks.bench_pages            # every page that exists, AppTest + real browser
    python -m benchmarks.bench_pages --quick    # AppTest only, fewer repetitions

For each page: the first load in a fresh AppTest (imports and JIT loading included), a rerun
after moving one slider one step (a cache miss: the calc_core work is redone), and a rerun back to
the earlier value (a cache hit). With Chromium installed it also times the same step in a real
browser, from the key press to the end of the rerun, as a user sees it. Ratios are against 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from benchmarks.timing import machine_line, publish
from ui.catalog import APPLICATIONS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "pages.md"
BUDGET = 1.0  # seconds

# The sliders each page's benchmark moves, one at a time (key, label).
PROBES = {
    "pages/1_Recommendations.py": [("reg", "Regularization")],
    "pages/2_Attention.py": [("dk", "Key width")],
    "pages/3_Convolution.py": [("noise", "Noise"), ("steps", "Gradient steps")],
    # a new setting retrains the agent (a few seconds, with a progress bar); the replay step must be instant
    "pages/4_Policy_Gradient.py": [("hidden", "Hidden units"), ("t", "Step t")],
    "pages/5_Sensor_Fusion.py": [("sigma", "Sensor noise σ")],
}


def _app(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.switch_page(page)
    return at


def _step(slider, direction: int):
    step = slider.step or 1
    value = slider.value + direction * step
    return min(max(value, slider.min), slider.max)


def apptest_timings(page: str, key: str, repeat: int) -> dict[str, float]:
    import streamlit as st

    first, miss, hit = [], [], []
    for n in range(repeat):
        st.cache_data.clear()
        at = _app(page)
        start = time.perf_counter()
        at.run()
        first.append(time.perf_counter() - start)
        if at.exception:
            raise RuntimeError(f"{page}: {at.exception[0].value}")
        slider = at.slider(key=key)
        original = slider.value
        direction = 1 if slider.value < slider.max else -1
        start = time.perf_counter()
        slider.set_value(_step(slider, direction)).run()
        miss.append(time.perf_counter() - start)
        start = time.perf_counter()
        at.slider(key=key).set_value(original).run()
        hit.append(time.perf_counter() - start)
    return {"first load": min(first), "rerun, cache miss": statistics.median(miss),
            "rerun, cache hit": statistics.median(hit)}


# Records when the script state next goes running → notRunning (a MutationObserver sees every
# change of the attribute, however short the rerun).
WATCH_RERUN = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  window.__rerunDone = null; let sawRunning = false;
  if (window.__watch) window.__watch.disconnect();
  window.__watch = new MutationObserver(() => {
    const state = app.getAttribute('data-test-script-state');
    if (state === 'running') sawRunning = true;
    else if (sawRunning && state === 'notRunning' && window.__rerunDone === null) window.__rerunDone = performance.now();
  });
  window.__watch.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


def browser_timings(pages: list[str], repeat: int) -> dict[str, float]:
    """Key press → rerun finished and the URL updated, in Chromium (median of `repeat` presses)."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS, _chromium, _free_port
    from tests.browser.helpers import slider_input, wait_idle

    if _chromium() is None:
        return {}
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
                               "--server.port", str(port), "--server.headless", "true",
                               "--server.fileWatcherType", "none"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = {}
    try:
        import urllib.request

        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            for page_file, key, label in [(p, k, lab) for p in pages for k, lab in PROBES[p]]:
                url_path = Path(page_file).stem.split("_", 1)[1]
                page.goto(f"http://127.0.0.1:{port}/{url_path}")
                wait_idle(page, timeout=300_000)
                handle = slider_input(page, label)
                samples = []
                for n in range(repeat):
                    page.evaluate(WATCH_RERUN)
                    handle.focus()
                    pressed = page.evaluate("performance.now()")
                    handle.press("ArrowRight")  # a new value every time: every press misses the cache
                    try:
                        page.wait_for_function("window.__rerunDone !== null", timeout=60_000)
                    except Exception:  # noqa: BLE001 - report the probe that never saw its rerun end
                        print(f"{page_file} ({key}): no rerun seen after the key press", file=sys.stderr)
                        break
                    samples.append((page.evaluate("window.__rerunDone") - pressed) / 1e3)
                    wait_idle(page, timeout=300_000)
                if samples:
                    out[f"{page_file} ({key})"] = statistics.median(samples)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    pages = [app.page for app in APPLICATIONS if app.available]
    lines = [f"### Page reruns against the {BUDGET:.0f} s budget", f"_{machine_line()}_", "",
             "| page (slider moved) | first load | rerun, cache miss | rerun, cache hit | miss / budget |",
             "|---|---:|---:|---:|---:|"]
    for page in pages:
        for key, _ in PROBES[page]:
            t = apptest_timings(page, key, repeat=2 if args.quick else 5)
            lines.append(f"| {page} ({key}) | {t['first load'] * 1e3:,.0f} ms | {t['rerun, cache miss'] * 1e3:,.0f} ms | "
                         f"{t['rerun, cache hit'] * 1e3:,.0f} ms | {t['rerun, cache miss'] / BUDGET:.2f} |")
    if not args.quick:
        seen = browser_timings(pages, repeat=6)
        if seen:
            lines += ["", "In headless Chromium (no GPU, sharing the 2 cores with the server), key press on the slider → "
                      "rerun finished: ~0.1–0.2 s until the rerun starts (debounce, round trip), then the rerun and "
                      "the redrawing of the page's charts:", "", "| page (slider moved) | median | / budget |", "|---|---:|---:|"]
            lines += [f"| {page} | {s * 1e3:,.0f} ms | {s / BUDGET:.2f} |" for page, s in seen.items()]
    table = "\n".join(lines)
    publish(table, RESULTS, args.quick)


if __name__ == "__main__":
    main()
