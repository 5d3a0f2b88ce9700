"""A room of students on the lab: many sessions moving sliders at once, spoken in Streamlit's own protocol.

    python -m benchmarks.bench_room                   # the full run: 30 sessions × 3–8 s × 120 s on 1 server,
                                                      # the same on 2 servers behind HAProxy, the same-link test
    python -m benchmarks.bench_room --smoke           # 3 sessions for 5 s on 1 server (CI); --quick is the same
    python -m benchmarks.bench_room --servers 2 --sessions 30 --think 0.2,1 --duration 60 --phases room
    python -m benchmarks.bench_room --same-link       # only the same-link test
    python -m benchmarks.bench_room --at HEAD         # measure a commit (exported to a temporary folder)

No browser: each simulated tab is a websocket client (benchmarks/room_protocol.py) that does what the
browser does — loads its page by URL path, discovers the page's widgets from what the server sends,
and keeps sending reruns with every widget's value, one random widget set to a random valid value
each time, after a random think time. A rerun is timed from sending it to its ``script_finished``.
Sessions are spread over the pages of ``ui/catalog.py``. In the same run, a one-user baseline (one
session alone on each page, moving the same way) gives the ratios. Servers are started and stopped
by PID on 127.0.0.1 (benchmarks/room_servers.py); with --servers 2, two processes behind HAProxy
with the configuration of deploy/ (docs/scaling.md).

Cache misses are read from the server's own counters (``/_stcore/metrics``, ``cache_lookups_total``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from benchmarks.room_protocol import PageSession, RunResult, Widget, link_query
from benchmarks.room_servers import Farm
from benchmarks.timing import machine_line, publish

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "room.md"
HOST = "127.0.0.1"
MAX_SESSIONS = 200  # bounded: a mistyped --sessions must not open thousands of sockets
MAX_DURATION = 1800.0


# ------------------------------------------------------------------------------------------------ pages

def catalog_pages(root: Path) -> list[str]:
    """URL paths of the available pages, in ``ui/catalog.py`` order.

    ``ui/catalog.py`` is loaded by file (it imports nothing of Streamlit), so the benchmark does not
    depend on the rest of ``ui``. An entry without ``url_path`` gets Streamlit's name for its file
    (``pages/4_Policy_Gradient.py`` → ``Policy_Gradient``).
    """
    try:
        spec = importlib.util.spec_from_file_location("_room_catalog", root / "ui" / "catalog.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        apps = module.APPLICATIONS
        files = [(getattr(a, "url_path", ""), a.page) for a in apps if a.page and (root / a.page).is_file()]
    except Exception as exc:  # noqa: BLE001 - a catalog being rewritten: fall back to the pages folder
        print(f"note: ui/catalog.py unreadable ({type(exc).__name__}: {exc}); using pages/", file=sys.stderr)
        files = [("", f"pages/{p.name}") for p in sorted((root / "pages").glob("*.py"))]
    finally:
        sys.modules.pop("_room_catalog", None)
    return [url or re.sub(r"^[0-9]+[_ -]*", "", Path(page).stem) for url, page in files]


# ------------------------------------------------------------------------------------------- recording

@dataclass
class Tally:
    """What the sessions of one page saw during one phase."""

    moves: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    fragment_moves: int = 0
    errors: list[str] = field(default_factory=list)  # exceptions, websocket failures, wrong pages
    error_alerts: list[str] = field(default_factory=list)  # st.error boxes on the page (not counted as errors)
    hung: int = 0
    sessions: int = 0
    backends: dict[str, int] = field(default_factory=dict)

    def add(self, result: RunResult) -> None:
        if result.finished:
            (self.loads if result.kind == "load" else self.moves).append(result.seconds)
        if result.fragment and result.finished:
            self.fragment_moves += 1
        if result.hung:
            self.hung += 1
        self.errors += result.exceptions
        if result.problem:
            self.errors.append(result.problem)
        self.error_alerts += result.error_alerts


def quantile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def fmt_s(x: float) -> str:
    if x != x:  # nan
        return "–"
    return f"{x:.2f} s" if x < 10 else f"{x:.1f} s"


def fmt_ratio(a: float, b: float) -> str:
    return "–" if a != a or b != b or b <= 0 else f"{a / b:.1f}×"


# ------------------------------------------------------------------------------------------- the phases

class Room:
    def __init__(self, args, farm: Farm, pages: list[str]):
        self.args, self.farm, self.pages = args, farm, pages
        self.port = farm.entry_port
        self.used: dict[tuple[str, str], set] = {}  # (page, control) → URL values any session has set

    def rng(self, *purpose) -> random.Random:
        """A generator per purpose: every server setup of one run replays the same moves and timings."""
        return random.Random(":".join(map(str, (self.args.seed, *purpose))))

    def session(self, page: str, query: str = "", backend: str | None = None, rng: random.Random | None = None
                ) -> PageSession:
        s = PageSession(HOST, self.port, page, query, hang_timeout=self.args.hang,
                        skip_options=self.args.skip_options or None, rng=rng or self.rng("session", page, query))
        if backend:
            s.cookies["SRV"] = backend  # as a browser that has been sent there before
        return s

    async def move(self, s: PageSession) -> RunResult:
        result = await s.move()
        for w in s.widgets.values():
            if w.label == result.widget:
                self.used.setdefault((s.page, w.label), set()).add(w.url_value())
        return result

    async def warm_up(self) -> dict[str, float]:
        """Every page once on every backend (imports, compiled code); the first backend's load times."""
        cold = {}
        backends = [b.name for b in self.farm.backends] if self.farm.proxied else [None]
        for backend in backends:
            for page in self.pages:
                s = self.session(page, backend=backend)
                try:
                    await s.open()
                    result = await s.load()
                    if backend == backends[0]:
                        cold[page] = result.seconds if result.finished else float("nan")
                    if not result.ok:
                        print(f"warm-up {page}: {result.problem or result.exceptions or 'hung'}", file=sys.stderr)
                except Exception as exc:  # noqa: BLE001
                    print(f"warm-up {page}: {exc}", file=sys.stderr)
                finally:
                    await s.close()
        return cold

    async def baseline(self) -> dict[str, Tally]:
        """One session alone on each page, moving random widgets (the same way as in the room)."""
        out = {}
        for page in self.pages:
            tally = out[page] = Tally(sessions=1)
            s = self.session(page, rng=self.rng("baseline", page))
            try:
                await s.open()
                tally.add(await s.load())
                for _ in range(self.args.baseline_moves):
                    await asyncio.sleep(0.2)
                    tally.add(await self.move(s))
            except Exception as exc:  # noqa: BLE001
                tally.errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                await s.close()
        return out

    async def room(self) -> dict[str, Tally]:
        """``--sessions`` tabs spread over the pages, each moving a widget every think-time, for ``--duration``."""
        tallies = {page: Tally() for page in self.pages}
        think_lo, think_hi = self.args.think
        start = time.monotonic()
        end = start + self.args.duration

        async def one(i: int) -> None:
            page = self.pages[i % len(self.pages)]
            tally = tallies[page]
            tally.sessions += 1
            rng = self.rng("room", i)
            await asyncio.sleep(rng.uniform(0, min(think_hi, self.args.duration / 4)))
            s = self.session(page, rng=self.rng("room-moves", i))
            try:
                await s.open()
                tally.backends[s.backend] = tally.backends.get(s.backend, 0) + 1
                result = await s.load()
                tally.add(result)
                if not result.finished:
                    return
                while True:
                    pause = rng.uniform(think_lo, think_hi)
                    if time.monotonic() + pause >= end:
                        break
                    await asyncio.sleep(pause)
                    result = await self.move(s)
                    tally.add(result)
                    if not result.finished and s.closed_reason:
                        break
            except Exception as exc:  # noqa: BLE001 - a refused connection is a result too
                tally.errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                await s.close()

        await asyncio.gather(*(one(i) for i in range(self.args.sessions)))
        return tallies

    async def same_link(self, baseline: dict[str, Tally]) -> dict:
        """``--sessions`` tabs open one link within 2 s: is the work done once, does everyone get the page in 5 s?

        The link is the page whose moves cost most alone (unless --link-page), with one control bound
        to the URL set to a value nobody asked for, so the work behind it is not cached yet.
        """
        costly = {p: statistics.median(t.moves) for p, t in baseline.items() if t.moves}
        page = self.args.link_page or (max(costly, key=costly.get) if costly else self.pages[0])
        probe = self.session(page)
        await probe.open()
        first = await probe.load()
        await probe.close()
        widgets = [w for w in probe.widgets.values() if w.movable and not w.fragment_id and w.url_keys()]
        widgets.sort(key=lambda w: (w.kind != "slider", not w.query_param_key))
        candidates = [(w, key) for w in widgets for key in w.url_keys()][:8]
        if not first.finished or not candidates:
            return {"page": page, "skipped": "the page did not load" if not first.finished
                    else "no control on the page can be set from the URL"}

        async def open_link(query: str, delay: float = 0.0, backend: str | None = None
                            ) -> tuple[float, RunResult | None, str, str, PageSession]:
            await asyncio.sleep(delay)
            t0 = time.perf_counter()
            s = self.session(page, query, backend=backend)
            try:
                await s.open()
                result = await s.load()
                return time.perf_counter() - t0, result, s.backend, "", s
            except Exception as exc:  # noqa: BLE001
                return time.perf_counter() - t0, None, s.backend, f"{type(exc).__name__}: {exc}", s
            finally:
                await s.close()

        def counts() -> dict[str, dict[str, dict[str, float]]]:
            return self.farm.cache_counts()

        def delta(before, after, what):
            out = {}
            for b, caches in after.items():
                for c, stats in caches.items():
                    d = stats.get(what, 0.0) - before.get(b, {}).get(c, {}).get(what, 0.0)
                    if d:
                        out.setdefault(b, {})[c] = d
            return out

        def fresh_values(widget, count: int) -> list[str]:
            """URL values of ``widget`` that nobody asked for yet (so nothing behind them is cached)."""
            used, out = {widget.url_value()} | self.used.get((page, widget.label), set()), []
            pick = self.rng("same-link", widget.label)
            for _ in range(50):
                new = widget.random_value(pick, probe.skip_options)
                if new is None:
                    break
                trial = Widget(widget.id, widget.kind, widget.label, widget.fragment_id, widget.proto, new)
                value = trial.url_value()
                if value is not None and value not in used:
                    used.add(value)
                    out.append(value)
                if len(out) == count:
                    break
            return out

        # A fresh link the page honours: the control shows the value the link asked for.
        pinned = self.farm.backends[0].name if self.farm.proxied else None  # one browser: one backend
        chosen = None
        for widget, key in candidates:
            values = fresh_values(widget, 2)
            if len(values) < 2:
                continue
            m0 = counts()
            solo_cold = await open_link(link_query({key: values[0]}), backend=pinned)
            m1 = counts()
            shown = next((w for w in solo_cold[4].widgets.values() if w.label == widget.label), None)
            if solo_cold[1] is not None and solo_cold[1].ok and shown is not None and shown.url_value() == values[0]:
                chosen = (widget, key, values)
                break
        if chosen is None:
            return {"page": page, "skipped": "no link setting a control was honoured by the page "
                    f"(tried {', '.join(k for _, k in candidates)})"}
        widget, key, (solo_value, burst_value) = chosen
        solo_link, burst_link = link_query({key: solo_value}), link_query({key: burst_value})
        solo_warm = await open_link(solo_link, backend=pinned)
        m2 = counts()
        n = self.args.sessions
        spread = self.rng("same-link", "delays")
        delays = sorted(spread.uniform(0, 2.0) for _ in range(n))
        burst = await asyncio.gather(*(open_link(burst_link, d) for d in delays))
        m3 = counts()
        return {"page": page, "link": f"/{page}?{burst_link}", "solo_link": f"/{page}?{solo_link}",
                "control": widget.label,
                "solo_cold": solo_cold[0], "solo_cold_computed": delta(m0, m1, "computed"),
                "solo_warm": solo_warm[0], "solo_warm_computed": delta(m1, m2, "computed"),
                "burst": [(t, r.seconds if r else float("nan"), bool(r and r.ok), backend,
                           err or (r.problem or "; ".join(r.exceptions) if r else ""))
                          for t, r, backend, err, _ in burst],
                "burst_computed": delta(m2, m3, "computed"), "burst_misses": delta(m2, m3, "miss"),
                "burst_compute_s": delta(m2, m3, "compute_s"), "sessions": n, "spread": delays[-1] - delays[0]}


@dataclass
class Sampler:
    """Peak RSS of the server processes, sampled twice a second while a phase runs."""

    farm: Farm
    interval: float = 0.5
    task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            self.farm.sample()
            await asyncio.sleep(self.interval)

    def __enter__(self):
        self.task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc):
        self.task.cancel()
        self.farm.sample()


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (all cores, all processes), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_config(args, servers: int, pages: list[str], root: Path) -> dict:
    """One server configuration: start, warm up, baseline, the room and/or the same-link test, stop."""
    out: dict = {"servers": servers, "pages": pages, "loadavg_before": os.getloadavg()[0]}
    with Farm(root, servers, python=args.python) as farm:
        room = Room(args, farm, pages)
        with Sampler(farm):
            t = time.perf_counter()
            out["cold"] = await room.warm_up() if args.warm_up else {}
            out["warm_up_seconds"] = time.perf_counter() - t
            out["baseline"] = await room.baseline()
        out["rss_idle"] = {b.name: b.peak_rss for b in farm.backends}
        if "same-link" in args.phases:  # before the room: its links must still be uncached
            with Sampler(farm):
                out["same_link"] = await room.same_link(out["baseline"])
        if "room" in args.phases:
            before_caches = farm.cache_counts()
            cpu0 = {b.name: b.cpu_seconds() for b in farm.backends}
            workers0 = {b.name: b.worker_cpu_seconds() for b in farm.backends}
            client0, wall0, busy0 = client_cpu(), time.perf_counter(), machine_busy_seconds()
            with Sampler(farm):
                out["room"] = await room.room()
            out["room_wall"] = time.perf_counter() - wall0
            out["client_cpu"] = client_cpu() - client0
            out["server_cpu"] = {b.name: b.cpu_seconds() - cpu0[b.name] for b in farm.backends}
            out["worker_cpu"] = {b.name: b.worker_cpu_seconds() - workers0[b.name] for b in farm.backends}
            out["others_cpu"] = max(0.0, machine_busy_seconds() - busy0 - out["client_cpu"]
                                    - sum(out["server_cpu"].values()))
            after_caches = farm.cache_counts()
            out["caches"] = {b: {c: {k: v - before_caches.get(b, {}).get(c, {}).get(k, 0.0) if k != "bytes" else v
                                     for k, v in stats.items()}
                                 for c, stats in caches.items()} for b, caches in after_caches.items()}
        out["rss_peak"] = {b.name: b.peak_rss for b in farm.backends}
        out["loadavg_after"] = os.getloadavg()[0]
        out["alive"] = {b.name: b.proc.poll() is None for b in farm.backends}
        if not all(out["alive"].values()):
            out["logs"] = {b.name: b.log_tail() for b in farm.backends if b.proc.poll() is not None}
        errors = [e for phase in ("baseline", "room") for t in out.get(phase, {}).values() for e in t.errors]
        if errors:  # the page shows a redacted message; the traceback is in the server's log
            for b in farm.backends:
                tail = b.log_tail(40)
                if "Traceback" in tail:
                    print(f"--- {b.name}'s log (end) ---\n{tail}", file=sys.stderr)
    return out


# ---------------------------------------------------------------------------------------------- report

def all_of(tallies: dict[str, Tally]) -> Tally:
    total = Tally()
    for t in tallies.values():
        total.moves += t.moves
        total.loads += t.loads
        total.errors += t.errors
        total.error_alerts += t.error_alerts
        total.hung += t.hung
        total.sessions += t.sessions
        total.fragment_moves += t.fragment_moves
    return total


def room_section(args, res: dict) -> list[str]:
    servers = res["servers"]
    setup = "1 server process" if servers == 1 else f"{servers} server processes behind HAProxy (sticky cookie)"
    lo, hi = args.think
    lines = [f"#### {args.sessions} sessions, a move every {lo:g}–{hi:g} s, {args.duration:g} s — {setup}", "",
             "| page | sessions | moves | median | p95 | max | one user: median | one user: p95 | p95 / one user's |"
             " errors | hung | error boxes |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    room, base = res["room"], res["baseline"]
    rows = [(page, room[page], base[page]) for page in res["pages"]]
    rows.append(("**all pages**", all_of(room), all_of(base)))
    for name, t, b in rows:
        med, p95, mx = statistics.median(t.moves) if t.moves else float("nan"), quantile(t.moves, 0.95), \
            max(t.moves) if t.moves else float("nan")
        bmed, bp95 = statistics.median(b.moves) if b.moves else float("nan"), quantile(b.moves, 0.95)
        lines.append(f"| {name} | {t.sessions} | {len(t.moves)} | {fmt_s(med)} | {fmt_s(p95)} | {fmt_s(mx)} | "
                     f"{fmt_s(bmed)} | {fmt_s(bp95)} | {fmt_ratio(p95, bp95)} | {len(t.errors)} | {t.hung} | "
                     f"{len(t.error_alerts) + len(b.error_alerts)} |")
    total = all_of(room)
    loads = total.loads
    mem = ", ".join(f"{name} {rss / 2**20:,.0f} MB" for name, rss in res["rss_peak"].items())
    workers = res.get("worker_cpu", {})
    cpu = ", ".join(f"{name} {sec:,.0f} s" + (f" (its calc_core workers {workers[name]:,.0f} s of it)"
                                              if workers.get(name) else "") for name, sec in res["server_cpu"].items())
    minutes = res["room_wall"] / 60
    caches = res["caches"]
    miss = sum(v.get("miss", 0) for b in caches.values() for v in b.values())
    hit = sum(v.get("hit", 0) for b in caches.values() for v in b.values())
    evicted = sum(v.get("evicted", 0) for b in caches.values() for v in b.values())
    cache_mb = sum(v.get("bytes", 0) for b in caches.values() for v in b.values()) / 2**20
    lines += ["",
              f"- Page loads under load (open the link → first `script_finished`): median {fmt_s(statistics.median(loads) if loads else float('nan'))}, "
              f"p95 {fmt_s(quantile(loads, 0.95))}, max {fmt_s(max(loads) if loads else float('nan'))}; "
              f"{total.fragment_moves} of {len(total.moves)} moves were fragment reruns.",
              f"- Peak server memory (RSS, the server process and its workers): {mem}; server CPU during the room: {cpu} in {res['room_wall']:.0f} s; "
              f"the load generator used {res['client_cpu'] / max(minutes, 1e-9):.1f} s of CPU per minute.",
              f"- Server caches during the room: {miss:,.0f} misses, {hit:,.0f} hits, {evicted:,.0f} evictions; "
              f"{cache_mb:,.1f} MB held in st.cache_data at the end."]
    cores = os.cpu_count() or 1
    lines.append(f"- Other processes on the machine used {res['others_cpu']:,.0f} s of CPU during the room "
                 f"(of {cores} × {res['room_wall']:.0f} s); load average before / after: {res['loadavg_before']:.1f} / "
                 f"{res['loadavg_after']:.1f}.")
    share = res["others_cpu"] / (cores * res["room_wall"])
    if share > 0.15:
        lines.append(f"- **Noisy machine**: other processes took {share:.0%} of its CPU during this room, so these "
                     f"times are upper bounds; rerun on a quiet machine for the app's own numbers.")
    if servers > 1:
        split = {}
        for t in room.values():
            for b, n in t.backends.items():
                split[b] = split.get(b, 0) + n
        lines.append("- Sessions per backend (HAProxy's choice, kept by the cookie): "
                     + ", ".join(f"{b or '?'} {n}" for b, n in sorted(split.items())))
    if total.errors:
        common = sorted({e for e in total.errors}, key=total.errors.count, reverse=True)[:5]
        lines.append("- Errors: " + "; ".join(f"{total.errors.count(e)}× `{e[:140]}`" for e in common))
    alerts = all_of(room).error_alerts + all_of(base).error_alerts
    if alerts:
        common = sorted(set(alerts), key=alerts.count, reverse=True)[:3]
        lines.append(f"- Error boxes on the pages (`st.error`: a page's own message, caught failures included; "
                     f"not counted as errors): {len(alerts)}, e.g. "
                     + "; ".join(f"“{a[:110]}”" for a in common))
    if not all(res["alive"].values()):
        lines.append(f"- **A server process died**: {res.get('logs')}")
    return lines


def same_link_section(res: dict) -> list[str]:
    sl = res.get("same_link")
    if not sl:
        return []
    servers = res["servers"]
    setup = "1 server process" if servers == 1 else f"{servers} server processes behind HAProxy"
    if "skipped" in sl:
        return [f"#### Same link — {setup}", "", f"Skipped on /{sl['page']}: {sl['skipped']}."]
    burst = sl["burst"]
    waits = [b[0] for b in burst]
    ok = sum(1 for b in burst if b[2])
    per_cache: dict[str, float] = {}
    per_backend_max = 0.0
    for caches in sl["burst_computed"].values():
        for cache, n in caches.items():
            per_cache[cache] = per_cache.get(cache, 0) + n
            per_backend_max = max(per_backend_max, n)
    lookups_missed = sum(n for c in sl["burst_misses"].values() for n in c.values())
    compute_s = sum(n for c in sl["burst_compute_s"].values() for n in c.values())
    cold_runs = sum(n for c in sl["solo_cold_computed"].values() for n in c.values())
    warm_runs = sum(n for c in sl["solo_warm_computed"].values() for n in c.values())
    once = per_backend_max <= 1
    lines = [f"#### Same link — {setup}", "",
             f"{sl['sessions']} sessions open `{sl['link']}` within {sl['spread']:.1f} s: “{sl['control']}” at a value "
             f"no one had asked for, so the cached functions behind it have not run yet.",
             "",
             "| what | value |", "|---|---:|",
             f"| one session alone, a fresh link: open → page | {fmt_s(sl['solo_cold'])} ({cold_runs:.0f} cached functions ran) |",
             f"| one session alone, the same link again | {fmt_s(sl['solo_warm'])} ({warm_runs:.0f} ran) |",
             f"| {sl['sessions']} sessions on one fresh link: open → page, median | {fmt_s(statistics.median(waits))} |",
             f"| … p95 / max | {fmt_s(quantile(waits, 0.95))} / {fmt_s(max(waits))} |",
             f"| … sessions with their page (no error, not hung) | {ok} of {len(burst)} |",
             f"| … max / one session alone | {fmt_ratio(max(waits), sl['solo_cold'])} |",
             f"| cached functions run during the burst (all processes) | {sum(per_cache.values()):.0f} "
             f"({compute_s:.1f} s of compute) |",
             f"| cache lookups that missed (incl. sessions waiting on another's computation) | {lookups_missed:.0f} |",
             f"| work done once (each cached function ran at most once per process) | {'yes' if once else 'no'} |",
             f"| every session had its page within 5 s | {'yes' if ok == len(burst) and max(waits) <= 5 else 'no'} |"]
    if sum(per_cache.values()) < cold_runs:
        lines.append(f"| note | fewer functions ran for the burst's link than for the solo one ({cold_runs:.0f}): "
                     "part of its work was cached already |")
    if per_cache:
        lines += ["", "Runs per cached function during the burst: "
                  + ", ".join(f"`{c.rsplit('.', 1)[-1]}` {n:.0f}" for c, n in sorted(per_cache.items()))]
    problems = [b[4] for b in burst if b[4]]
    if problems:
        lines.append("Problems: " + "; ".join(sorted(set(problems))[:3]))
    return lines


def summary_rows(args, results: list[dict]) -> list[str]:
    lines = ["| setup | p95 rerun | one user's p95 | ratio | max | errors | hung | peak server RSS | CPU taken by other processes |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for res in results:
        if "room" not in res:
            continue
        t, b = all_of(res["room"]), all_of(res["baseline"])
        p95, bp95 = quantile(t.moves, 0.95), quantile(b.moves, 0.95)
        setup = "1 process" if res["servers"] == 1 else f"{res['servers']} processes + HAProxy"
        mem = " + ".join(f"{rss / 2**20:,.0f} MB" for rss in res["rss_peak"].values())
        others = res["others_cpu"] / ((os.cpu_count() or 1) * res["room_wall"])
        lines.append(f"| {setup} | {fmt_s(p95)} | {fmt_s(bp95)} | {fmt_ratio(p95, bp95)} | "
                     f"{fmt_s(max(t.moves) if t.moves else float('nan'))} | {len(t.errors)} | {t.hung} | {mem} | "
                     f"{others:.0%} |")
    return lines


def report(args, results: list[dict], commit: str) -> str:
    lo, hi = args.think
    lines = [f"### A room of {args.sessions}: reruns under load, against one user alone",
             f"_{machine_line()}; {commit}; {date.today().isoformat()}_", "",
             f"Each session is a websocket client speaking Streamlit's protocol (no browser): it opens a page of "
             f"ui/catalog.py by URL, then every {lo:g}–{hi:g} s sets a random control of the page to a random valid "
             f"value and times the rerun from sending it to `script_finished`. \"One user\" is one session alone on "
             f"each page, moving the same way ({args.baseline_moves} moves per page), in the same run. Hung: no "
             f"`script_finished` within {args.hang:g} s. Targets (issue 14): p95 under 2 s on one process and under "
             f"1 s on two, no error, no hung session; the same link opened by a room computed once, every session "
             f"with its page within 5 s. `python -m benchmarks.bench_room` (benchmarks/bench_room.py) made this file.",
             ""]
    if any("room" in r for r in results):
        lines += summary_rows(args, results) + [""]
    for res in results:
        if "room" in res:
            lines += room_section(args, res) + [""]
        cold = res.get("cold", {})
        if cold and res is results[0]:
            lines += ["First load of each page on a fresh server (imports, compiled code, cold caches): "
                      + ", ".join(f"{p} {fmt_s(s)}" for p, s in cold.items()), ""]
    for res in results:
        section = same_link_section(res)
        if section:
            lines += section + [""]
    return "\n".join(lines).rstrip()


def from_json(path: Path) -> tuple[list[dict], str]:
    data = json.loads(path.read_text())
    results, commit = (data["results"], data.get("commit", "")) if isinstance(data, dict) else (data, "")
    for res in results:
        for phase in ("baseline", "room"):
            if phase in res:
                res[phase] = {page: Tally(**t) for page, t in res[phase].items()}
    return results, commit


def to_json(results: list[dict], commit: str = "") -> str:
    def enc(o):
        if isinstance(o, Tally):
            return o.__dict__
        return str(o)
    return json.dumps({"commit": commit, "results": results}, default=enc, indent=1)


# ------------------------------------------------------------------------------------------------- main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=None, help="simulated tabs (default 30; --smoke 3)")
    p.add_argument("--think", default=None, help="MIN,MAX seconds between one session's moves (default 3,8)")
    p.add_argument("--duration", type=float, default=None, help="seconds of the room phase (default 120)")
    p.add_argument("--pages", default="", help="comma-separated URL paths (default: every available catalog page)")
    p.add_argument("--servers", default=None, help="1, 2 or 1,2 (default): processes, behind HAProxy when more than one")
    p.add_argument("--phases", default=None, help="room, same-link or both (default; --smoke: room)")
    p.add_argument("--same-link", action="store_true", help="only the same-link test (= --phases same-link)")
    p.add_argument("--link-page", default="", help="page of the same-link test (default: the page whose moves cost most for one user)")
    p.add_argument("--baseline-moves", type=int, default=None, help="moves per page of the one-user baseline (20)")
    p.add_argument("--hang", type=float, default=None, help="a rerun with no script_finished after this many s is hung (30)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-options", default="upload",
                   help="regex of options never chosen (default 'upload': a load generator uploads nothing)")
    p.add_argument("--smoke", "--quick", action="store_true",
                   help="3 sessions for 5 s on 1 server, nothing written (CI)")
    p.add_argument("--root", type=Path, default=ROOT, help="the app to serve (default: this repository)")
    p.add_argument("--at", default="", help="serve this git revision instead (exported to a temporary folder)")
    p.add_argument("--python", default=sys.executable, help="the Python that runs streamlit")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    p.add_argument("--discover", action="store_true", help="only list each page's controls as the client sees them")
    p.add_argument("--from-json", type=Path, default=None,
                   help="measure nothing: write the report of a --json file again (give the run's arguments too)")
    args = p.parse_args(argv)
    defaults = dict(sessions=30, think="3,8", duration=120.0, servers="1,2", phases="room,same-link",
                    baseline_moves=20, hang=30.0)
    args.warm_up = not args.smoke  # the smoke run's one-user loads are its warm-up (and it makes no moves there)
    if args.smoke:
        defaults.update(sessions=3, think="0.5,1.5", duration=5.0, servers="1", phases="room", baseline_moves=0,
                        hang=20.0)
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.same_link:
        args.phases = "same-link"
    args.think = tuple(float(x) for x in args.think.split(","))
    if len(args.think) != 2 or not 0 <= args.think[0] <= args.think[1]:
        p.error("--think takes MIN,MAX")
    args.phases = {x.strip() for x in args.phases.split(",") if x.strip()}
    if not args.phases <= {"room", "same-link"}:
        p.error("--phases: room, same-link")
    args.servers = [int(x) for x in str(args.servers).split(",")]
    if not all(1 <= n <= 4 for n in args.servers):
        p.error("--servers: 1 to 4 processes")
    if not 1 <= args.sessions <= MAX_SESSIONS:
        p.error(f"--sessions: 1 to {MAX_SESSIONS}")
    if not 0 < args.duration <= MAX_DURATION:
        p.error(f"--duration: up to {MAX_DURATION:.0f} s")
    return args


async def discover(args, pages: list[str], root: Path) -> str:
    """What the load generator finds on each page: its controls, and what loading it costs."""
    lines = ["| page | load | control | kind | URL key | fragment | moved |", "|---|---:|---|---|---|---|---|"]
    with Farm(root, 1, python=args.python) as farm:
        room = Room(args, farm, pages)
        for page in pages:
            s = room.session(page)
            try:
                await s.open()
                result = await s.load()
            finally:
                await s.close()
            status = fmt_s(result.seconds) if result.ok else f"**{result.problem or '; '.join(result.exceptions) or 'hung'}**"[:120]
            if not s.widgets:
                lines.append(f"| {page} | {status} | (none) | | | | |")
            for n, w in enumerate(s.widgets.values()):
                lines.append(f"| {page if n == 0 else ''} | {status if n == 0 else ''} | {w.label} | {w.kind} | "
                             f"{w.query_param_key or ''} | {'yes' if w.fragment_id else ''} | {'yes' if w.movable else 'no'} |")
    return "\n".join(lines)


def describe_commit(root: Path, at: str) -> str:
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", at or "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    if at:
        return f"commit {rev}"
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "app.py", "streamlit_app.py", "pages", "ui", "calc_core"],
                           capture_output=True, text=True).stdout.strip()
    return f"commit {rev}" + (" + uncommitted changes" if dirty else "")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.from_json:
        results, commit = from_json(args.from_json)
        publish(report(args, results, commit or args.at or "commit ?"), args.out, quick=args.smoke)
        return 0
    root, tmp = args.root.resolve(), None
    if args.at:
        tmp = Path(tempfile.mkdtemp(prefix="bench_room_src_"))
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.at], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        root = tmp
    try:
        available = catalog_pages(root)
        pages = [p.strip().strip("/") for p in args.pages.split(",") if p.strip()] if args.pages else available
        unknown = [p for p in pages if p not in available]
        if unknown:
            print(f"note: not in ui/catalog.py: {unknown} (measured anyway)", file=sys.stderr)
        if not pages:
            print("no pages to measure", file=sys.stderr)
            return 2
        if args.discover:
            print(asyncio.run(discover(args, pages, root)))
            return 0
        commit = describe_commit(root, args.at)
        results = []
        for servers in args.servers:
            print(f"… {servers} server process(es): warm-up, one-user baseline, "
                  + " and ".join(sorted(args.phases)), file=sys.stderr, flush=True)
            results.append(asyncio.run(run_config(args, servers, pages, root)))
        table = report(args, results, commit)
        if args.json:
            args.json.write_text(to_json(results, commit))
        publish(table, args.out, quick=args.smoke)
        bad = [r for r in results if not all(r["alive"].values())]
        return 1 if bad else 0
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
