"""How fast each page answers one user, against the bare-page floor measured in the same run.

    python -m benchmarks.bench_pages            # every page: AppTest on the server, then Chromium
    python -m benchmarks.bench_pages --quick    # AppTest only, fewer repetitions
    python -m benchmarks.bench_pages --against HEAD~1 --pages Diffusion GANs   # before → after, side by side
    python -m benchmarks.bench_pages --pin      # servers on one CPU, the browser on the other (pages_pinned.md)

Server side (AppTest, the script's own time): the first load, a Settings slider moved one step (a
cache miss: calc_core recomputes), moved back (a cache hit), and the scrubber's step moved (in a
browser a fragment rerun that reads the cached run; AppTest runs the whole script for it, so on the
server this column is a whole rerun on a cache hit).

In headless Chromium (what a user waits for), on a running server (its first session has started its
calc_core workers, and they are idle, before anything is timed): a key press on the slider → the
redraw finished (the script has ended and the page has stopped changing), for the same three kinds
of move, next to the same key press on benchmarks/bare_page.py — a page with eight sliders and one
line of text, the floor every Streamlit page pays (debounce, round trip, an empty rerun), pressed at
the start and again after each page (one median over the run). The targets of issue 14: a cache hit
and a fragment move within 2× the floor; a cache miss at the defaults within the floor + 0.15 s (every
page but Policy Gradient); a policy retraining under 1 s. Beside each page, its bare equivalent: the
bare page grown to as many elements and charts as the page draws (benchmarks/bare_charts.py, every
chart updated in place on each press) — what Streamlit itself costs for a page that size, so that what
the lab adds on top of it is seen apart from what any page of that size pays.

``--against REF``: the lab at git REF (checked out into a temporary worktree) and this one, served
side by side, the same page open in two tabs of one Chromium, the presses alternating between them
so that a noisy machine slows both alike; per page the medians of both and their ratio
(``pages_ab.md``). One table of absolute numbers swings ±20% between runs on these machines; the
ratio of an alternating pair is what a change is judged by.

The probes are found, not listed: the first Settings slider of each page (the kit's registry), and the
scrubber's step slider where the page has one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import fields
from pathlib import Path

from streamlit.testing.v1 import AppTest

from benchmarks.timing import machine_line, publish
from ui.catalog import APPLICATIONS
from ui.controls import Slider

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "pages.md"
MISS_EXTRA = 0.15  # seconds over the floor allowed for a cache miss
HIT_RATIO = 2.0


def probe(app) -> tuple[str, str]:
    """(key, label) of the page's first Settings slider that is drawn at the defaults."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.switch_page(app.page).run()
    registry = at.session_state["_lab_controls"][app.slug]
    names = {f.name for f in fields(app.lab_module().Settings)}
    for key, control in registry.items():
        drawn = f"{app.slug}:{key}" in at.session_state
        if isinstance(control, Slider) and control.name in names and drawn and not control.domain().get("dynamic"):
            return key, control.label
    raise RuntimeError(f"{app.slug}: no Settings slider to move")


def apptest_timings(app, key: str, repeat: int) -> dict[str, float]:
    import streamlit as st

    first, miss, hit, step = [], [], [], []
    for _ in range(repeat):
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.switch_page(app.page)
        start = time.perf_counter()
        at.run()
        first.append(time.perf_counter() - start)
        if at.exception:
            raise RuntimeError(f"{app.page}: {at.exception[0].value}")
        slider = at.slider(key=f"{app.slug}:{key}")
        original = slider.value
        moved = min(slider.max, slider.value + (slider.step or 1))
        moved = moved if moved != original else max(slider.min, slider.value - (slider.step or 1))
        start = time.perf_counter()
        slider.set_value(moved).run()
        miss.append(time.perf_counter() - start)
        start = time.perf_counter()
        at.slider(key=f"{app.slug}:{key}").set_value(original).run()
        hit.append(time.perf_counter() - start)
        steps = [w for w in at.select_slider if w.key == f"{app.slug}:step"]
        if steps and len(steps[0].options) > 1:
            start = time.perf_counter()
            steps[0].set_value(int(steps[0].options[0])).run()
            step.append(time.perf_counter() - start)
    out = {"first load": min(first), "cache miss": statistics.median(miss), "cache hit": statistics.median(hit)}
    if step:
        out["step move"] = statistics.median(step)
    return out


# The redraw is finished when the script has stopped and nothing on the page has changed for QUIET ms
# (a MutationObserver sees every change, however short; Vega's canvas paints in the frame after).
WATCH = """() => {
  window.__last = performance.now(); window.__sawRun = false;
  if (window.__watch) window.__watch.disconnect();
  const app = document.querySelector("[data-testid='stApp']");
  window.__watch = new MutationObserver(() => {
    window.__last = performance.now();
    if (app.getAttribute('data-test-script-state') === 'running') window.__sawRun = true;
  });
  window.__watch.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""
SETTLED = """(quiet) => {
  const app = document.querySelector("[data-testid='stApp']");
  return window.__sawRun && app.getAttribute('data-test-script-state') === 'notRunning'
         && performance.now() - window.__last > quiet;
}"""
QUIET = 300


def _press_and_time(page, handle, key: str) -> float | None:
    """Seconds from the key press to the redraw finished; None if the press moved nothing (the slider
    at its end: no rerun to wait for) or never finished."""
    page.evaluate(WATCH)
    handle.focus()
    before = handle.input_value()
    pressed = page.evaluate("performance.now()")
    handle.press(key)
    if handle.input_value() == before:
        return None
    try:
        page.wait_for_function(SETTLED, arg=QUIET, timeout=60_000, polling=50)
    except Exception:  # noqa: BLE001 - a press that never finished is reported, not hung
        return None
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
    return (page.evaluate("window.__last") - pressed) / 1e3


# --pin: the servers on the first CPU, this process and the browser it starts on the others — the
# split of a real visit, where the browser runs on the visitor's machine and never takes the server's CPU.
SERVER_CPUS: set[int] | None = None


def _pin(cpus: set[int] | None):
    return None if cpus is None else (lambda: os.sched_setaffinity(0, cpus))


def _serve(script: str, port: int, root: Path = ROOT) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, "--server.address", "127.0.0.1",
                               "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType",
                               "none", "--browser.gatherUsageStats", "false"], cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_pin(SERVER_CPUS))
    for _ in range(300):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"{script} did not start")


def back_and_forth(page, handle, repeat: int) -> list[float]:
    """The times of ``repeat`` pairs of presses, one step right and back (a bare page: every press reruns)."""
    return [t for t in (_press_and_time(page, handle, key) for key in ("ArrowRight", "ArrowLeft") * repeat)
            if t is not None]


# What a page draws, counted in the browser: every element (a widget, a text, a chart) sits in one
# element container; columns, containers and popovers are blocks around them.
COUNT = """() => ({elements: document.querySelectorAll("[data-testid='stElementContainer']").length,
                   charts: document.querySelectorAll("[data-testid='stVegaLiteChart']").length})"""


def _descendants(pid: int) -> list[int]:
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return children + [d for c in children for d in _descendants(c)]


def _cpu_seconds(pids) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return total


def wait_for_workers(server: subprocess.Popen, timeout: float = 120.0) -> None:
    """Until the worker processes a lab server starts with its first session (ui.workers: spawned,
    importing calc_core, warming up) are up and idle — so that one user is timed on a running server,
    not against the start of its workers. Idle: the server's child processes took under 0.05 s of CPU
    in the last second. A server with no child process after 5 s has no workers (one CPU)."""
    start = time.monotonic()
    before = _cpu_seconds(_descendants(server.pid))
    while time.monotonic() < start + timeout:
        time.sleep(1.0)
        children = _descendants(server.pid)
        now = _cpu_seconds(children)
        if (children and now - before < 0.05) or (not children and time.monotonic() > start + 5):
            return
        before = now


def browser_timings(apps, probes, repeat: int) -> tuple[float, dict]:
    """The floor, and per page the medians of (cache miss, cache hit, step move) key presses, what the
    page draws (elements, charts) and the median press on its bare equivalent."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS, _chromium, _free_port
    from tests.browser.helpers import slider_input, wait_idle

    ports = _free_port(), _free_port(), _free_port()
    servers = [_serve("app.py", ports[0]), _serve(str(Path("benchmarks") / "bare_page.py"), ports[1]),
               _serve(str(Path("benchmarks") / "bare_charts.py"), ports[2])]
    results = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(f"http://127.0.0.1:{ports[0]}/")  # the lab's first session starts its workers
            wait_idle(page, timeout=300_000)
            wait_for_workers(servers[0])
            page.goto(f"http://127.0.0.1:{ports[1]}/")
            wait_idle(page)
            floor = back_and_forth(page, slider_input(page, "Slider 3"), repeat)
            bare = page.evaluate(COUNT)["elements"]  # the eight sliders and the line of text
            for app in apps:
                key, label = probes[app.slug]
                page.goto(f"http://127.0.0.1:{ports[0]}/{app.url_path}")
                wait_idle(page, timeout=300_000)
                counts = page.evaluate(COUNT)
                handle = page.locator(f'input[type="range"][aria-label="{label}"]').first
                times = {"cache miss": [], "cache hit": [], "step move": []}
                for _ in range(repeat):  # new values every press: misses; then back over them: hits
                    times["cache miss"].append(_press_and_time(page, handle, "ArrowRight"))
                for _ in range(repeat):
                    times["cache hit"].append(_press_and_time(page, handle, "ArrowLeft"))
                step = page.get_by_test_id("stMain").get_by_test_id("stSlider").filter(has_text="shown")
                if step.count():
                    step_handle = step.first.locator('input[type="range"]')
                    for _ in range(repeat):
                        times["step move"].append(_press_and_time(page, step_handle, "ArrowLeft"))
                results[app.slug] = {k: statistics.median([t for t in v if t is not None])
                                     for k, v in times.items() if any(t is not None for t in v)}
                # the page's bare equivalent, right after it (the browser's state drifts over a run)
                texts = max(0, counts["elements"] - counts["charts"] - bare)
                page.goto(f"http://127.0.0.1:{ports[2]}/?charts={counts['charts']}&texts={texts}")
                wait_idle(page)
                if page.evaluate(COUNT) != {"elements": bare + counts["charts"] + texts, "charts": counts["charts"]}:
                    raise RuntimeError(f"{app.slug}: the bare equivalent does not draw {counts}")
                pressed = back_and_forth(page, slider_input(page, "Slider 3"), repeat)
                results[app.slug].update(counts, **{"bare equivalent": statistics.median(pressed)})
                page.goto(f"http://127.0.0.1:{ports[1]}/")  # and the floor again: one median over the run
                wait_idle(page)
                floor += back_and_forth(page, slider_input(page, "Slider 3"), repeat)
            browser.close()
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    return statistics.median(floor), results


def side_by_side(apps, probes, ref: str, repeat: int) -> str:
    """The lab at ``ref`` and this one in two tabs, presses alternating: per page the medians of a
    cache miss, a cache hit and a step move on each, and this one's ÷ ref's."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS, _chromium, _free_port
    from tests.browser.helpers import wait_idle

    commit = subprocess.run(["git", "rev-parse", "--short", ref], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout.strip()
    mine = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.strip()
    lines = [f"### Before → after, side by side: {commit} → {mine}{' + uncommitted changes' if dirty else ''}",
             f"_{machine_line()}; key press → redraw finished in headless Chromium, medians of {repeat} "
             "alternating presses per kind_", "",
             "| page | miss before | after | ÷ | hit before | after | ÷ | step before | after | ÷ |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "lab"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT, check=True,
                       capture_output=True)
        ports = _free_port(), _free_port()
        servers = []
        try:
            servers = [_serve("app.py", ports[0], tree), _serve("app.py", ports[1])]
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
                for app in apps:
                    key, label = probes[app.slug]
                    tabs = [browser.new_page(viewport={"width": 1400, "height": 1600}) for _ in ports]
                    for tab, port, server in zip(tabs, ports, servers):
                        tab.goto(f"http://127.0.0.1:{port}/{app.url_path}")
                        wait_idle(tab, timeout=300_000)
                        wait_for_workers(server)
                    handles = [tab.locator(f'input[type="range"][aria-label="{label}"]').first for tab in tabs]
                    seen = {kind: ([], []) for kind in ("miss", "hit", "step")}

                    def press(kind, pairs, keys):
                        for key_name in keys:
                            for side, (tab, handle) in enumerate(pairs):
                                t = _press_and_time(tab, handle, key_name)
                                if t is not None:
                                    seen[kind][side].append(t)

                    pairs = list(zip(tabs, handles))
                    press("miss", pairs, ["ArrowRight"] * repeat)  # new values every press
                    press("hit", pairs, ["ArrowLeft", "ArrowRight"] * (repeat // 2 + 1))  # back over them
                    steps = [tab.get_by_test_id("stMain").get_by_test_id("stSlider").filter(has_text="shown")
                             for tab in tabs]
                    if all(step.count() for step in steps):
                        press("step", [(tab, step.first.locator('input[type="range"]')) for tab, step in
                                       zip(tabs, steps)], ["ArrowLeft", "ArrowRight"] * (repeat // 2 + 1))
                    cells = []
                    for kind in ("miss", "hit", "step"):
                        before, after = (statistics.median(v) if v else None for v in seen[kind])
                        cells += ["—"] * 3 if before is None or after is None else [
                            f"{before * 1e3:,.0f} ms", f"{after * 1e3:,.0f} ms", f"{after / before:.2f}"]
                    lines.append(f"| {app.slug} | " + " | ".join(cells) + " |")
                    print(lines[-1], flush=True)
                    for tab in tabs:
                        tab.close()
                browser.close()
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=10)
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pages", nargs="*", help="URL paths (default: every page)")
    parser.add_argument("--against", metavar="REF", help="a git ref to measure side by side with this lab")
    parser.add_argument("--repeat", type=int, default=10, help="presses per kind with --against")
    parser.add_argument("--pin", action="store_true",
                        help="servers on the first CPU, the browser on the others (no contention between them)")
    args = parser.parse_args()
    if args.pin:
        global SERVER_CPUS
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            parser.error("--pin needs two CPUs")
        SERVER_CPUS = {cpus[0]}
        os.sched_setaffinity(0, set(cpus[1:]))  # the browser started from here inherits it
    apps = [a for a in APPLICATIONS if a.available and (not args.pages or a.url_path in args.pages)]
    probes = {app.slug: probe(app) for app in apps}
    if args.against:
        publish(side_by_side(apps, probes, args.against, args.repeat), RESULTS.with_name("pages_ab.md"), False)
        return
    lines = ["### One user: page reruns on the server (AppTest, the script's own time)", f"_{machine_line()}_", "",
             "| page (slider moved) | first load | cache miss | cache hit | step move |", "|---|---:|---:|---:|---:|"]
    for app in apps:
        t = apptest_timings(app, probes[app.slug][0], repeat=2 if args.quick else 5)
        step = f"{t['step move'] * 1e3:,.0f} ms" if "step move" in t else "—"
        lines.append(f"| {app.slug} ({probes[app.slug][0]}) | {t['first load'] * 1e3:,.0f} ms | "
                     f"{t['cache miss'] * 1e3:,.0f} ms | {t['cache hit'] * 1e3:,.0f} ms | {step} |")
    from tests.browser.conftest import _chromium

    if not args.quick and _chromium():
        floor, seen = browser_timings(apps, probes, repeat=5)
        lines += ["", "### One user in headless Chromium: key press → redraw finished (median of 5)", "",
                  f"Floor, the same key press on a bare page with eight sliders (at the start and after each page): "
                  f"**{floor * 1e3:,.0f} ms**. "
                  f"Targets: hit and step move ≤ {HIT_RATIO:g}× the floor, cache miss ≤ floor + "
                  f"{MISS_EXTRA * 1e3:.0f} ms (Policy Gradient: a retraining under 1 s).", "",
                  "| page | cache miss | − floor | cache hit | ÷ floor | step move | ÷ floor |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        cell = lambda v: "—" if v is None else f"{v * 1e3:,.0f} ms"  # noqa: E731
        for slug, t in seen.items():
            miss, hit, step = t.get("cache miss"), t.get("cache hit"), t.get("step move")
            ratio = lambda v: "—" if v is None else f"{v / floor:.2f}"  # noqa: E731
            lines.append(f"| {slug} | {cell(miss)} | {'—' if miss is None else f'{(miss - floor) * 1e3:+,.0f} ms'} | "
                         f"{cell(hit)} | {ratio(hit)} | {cell(step)} | {ratio(step)} |")
        lines += ["", "### What Streamlit itself costs for a page that size", "",
                  "Each page's bare equivalent: the bare page grown to as many elements and charts as the page "
                  "draws at its defaults (`benchmarks/bare_charts.py`: line charts of 200 points, every one updated "
                  "in place on each press; texts in columns). Its press is what any Streamlit page of that size "
                  "pays in this browser; the page's cache hit over it is what the lab adds.", "",
                  "| page | elements | charts | bare equivalent | ÷ floor | cache hit | ÷ bare equivalent |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for slug, t in seen.items():
            equivalent, hit = t["bare equivalent"], t.get("cache hit")
            lines.append(f"| {slug} | {t['elements']} | {t['charts']} | {cell(equivalent)} | {equivalent / floor:.2f} | "
                         f"{cell(hit)} | {'—' if hit is None else f'{hit / equivalent:.2f}'} |")
    if args.pin:
        lines[:0] = [f"_Run with --pin: the servers on CPU {min(SERVER_CPUS)}, headless Chromium on the other CPU(s), "
                     "as on a real visit, where the browser never takes the server's CPU._", ""]
    publish("\n".join(lines), RESULTS.with_name("pages_pinned.md") if args.pin else RESULTS, args.quick)


if __name__ == "__main__":
    main()
