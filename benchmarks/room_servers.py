"""The servers of the room benchmark: Streamlit processes (and HAProxy in front), started and stopped by PID.

Everything listens on 127.0.0.1 only. With several processes the HAProxy configuration is the one
``deploy/serve_multi.sh --print-config`` renders from ``deploy/haproxy.cfg`` — the documented way
to serve the lab from several processes — so the benchmark measures that setup, not a copy of it.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SERVE_MULTI = REPO / "deploy" / "serve_multi.sh"


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy")
                                            if os.access(p, os.X_OK)), None)


def free_port_block(count: int) -> int:
    """The first of ``count`` consecutive ports that are free on 127.0.0.1."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 40000)
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free block of ports on 127.0.0.1")


def _get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - 127.0.0.1 only
        return answer.status, answer.read()


def proc_rss_bytes(pid: int) -> int:
    try:
        import psutil  # noqa: PLC0415 - optional

        return psutil.Process(pid).memory_info().rss
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - the process is gone
        return 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (from /proc; 0 if unknown)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def worker_pids(pid: int) -> list[int]:
    """The calc_core worker processes (ui/workers.py: spawned by multiprocessing) of server ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid and b"spawn_main" in (stat.parent / "cmdline").read_bytes():
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def parse_metrics(text: str) -> dict[tuple[str, tuple], float]:
    """OpenMetrics text → {(name, ((label, value), ...)): number}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, number = line.rpartition(" ")
        name, _, labels = head.partition("{")
        pairs = []
        for item in labels.rstrip("}").split('",') if labels else []:
            key, _, value = item.partition("=")
            pairs.append((key.strip(), value.strip().strip('"')))
        try:
            out[(name, tuple(sorted(pairs)))] = float(number)
        except ValueError:
            continue
    return out


@dataclass
class Backend:
    name: str  # app1, app2, ...: also HAProxy's cookie value for it
    port: int
    proc: subprocess.Popen
    log: Path
    peak_rss: int = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def sample(self) -> int:
        """RSS of the server and its calc_core workers together (the memory the app holds)."""
        rss = proc_rss_bytes(self.pid) + sum(proc_rss_bytes(w) for w in worker_pids(self.pid))
        self.peak_rss = max(self.peak_rss, rss)
        return rss

    def cpu_seconds(self) -> float:
        """CPU time of the server process and of its workers together."""
        return proc_cpu_seconds(self.pid) + self.worker_cpu_seconds()

    def worker_cpu_seconds(self) -> float:
        return sum(proc_cpu_seconds(w) for w in worker_pids(self.pid))

    def metrics(self, families: str = "cache_lookups,cache_compute_duration_seconds,cache_evictions,"
                                      "cache_memory_bytes,session_events"
                ) -> dict[tuple[str, tuple], float]:
        try:
            _, body = _get(f"http://127.0.0.1:{self.port}/_stcore/metrics?"
                           + "&".join(f"families={f}" for f in families.split(",")), timeout=10)
        except OSError:
            return {}
        return parse_metrics(body.decode())

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Farm:
    """N Streamlit processes of the app in ``root`` and, for N > 1 (or ``proxy=True``), HAProxy in front."""

    root: Path
    count: int = 1
    proxy: bool | None = None
    python: str = sys.executable
    backends: list[Backend] = field(default_factory=list)
    haproxy: subprocess.Popen | None = None
    entry_port: int = 0
    workdir: Path | None = None

    def __enter__(self) -> Farm:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def proxied(self) -> bool:
        return self.count > 1 if self.proxy is None else self.proxy

    def start(self, timeout: float = 120.0) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="bench_room_"))
        base = free_port_block(self.count + 1)
        front, first = base, base + 1
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if "LAB_WORKERS" not in env:  # as deploy/serve_multi.sh does: the cores shared out among the processes
            env["LAB_WORKERS"] = str(max(1, (os.cpu_count() or 1) // self.count)) if self.count > 1 else ""
        for i in range(self.count):
            name, port = f"app{i + 1}", first + i
            log = self.workdir / f"{name}.log"
            with open(log, "wb") as out:
                proc = subprocess.Popen(
                    [self.python, "-m", "streamlit", "run", "streamlit_app.py", "--server.address", "127.0.0.1",
                     "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
                     "--browser.gatherUsageStats", "false"],
                    cwd=self.root, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
            self.backends.append(Backend(name, port, proc, log))
        deadline = time.monotonic() + timeout
        for backend in self.backends:
            self._wait_healthy(backend.port, deadline, backend)
        if not self.proxied:
            self.entry_port = self.backends[0].port
            return
        binary = haproxy_binary()
        if binary is None:
            raise RuntimeError("haproxy is not installed (apt-get install -y haproxy)")
        config = subprocess.run(["bash", str(SERVE_MULTI), "--print-config", "-n", str(self.count),
                                 "-p", str(front), "-b", str(first)], capture_output=True, text=True, check=True,
                                cwd=REPO).stdout
        cfg = self.workdir / "haproxy.cfg"
        cfg.write_text(config)
        subprocess.run([binary, "-c", "-q", "-f", str(cfg)], check=True, capture_output=True)
        log = self.workdir / "haproxy.log"
        with open(log, "wb") as out:
            self.haproxy = subprocess.Popen([binary, "-db", "-f", str(cfg)], stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        self.entry_port = front
        self._wait_healthy(front, deadline, None)
        self._wait_all_backends_up(deadline)

    def _wait_healthy(self, port: int, deadline: float, backend: Backend | None) -> None:
        while time.monotonic() < deadline:
            if backend is not None and backend.proc.poll() is not None:
                raise RuntimeError(f"{backend.name} exited with {backend.proc.returncode}:\n{backend.log_tail()}")
            try:
                status, body = _get(f"http://127.0.0.1:{port}/_stcore/health")
                if status == 200 and body.strip() == b"ok":
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"nothing healthy on 127.0.0.1:{port}")

    def _wait_all_backends_up(self, deadline: float) -> None:
        """Until HAProxy hands out every backend's cookie (its health checks passed for all)."""
        wanted = {b.name for b in self.backends}
        seen: set[str] = set()
        while time.monotonic() < deadline and seen != wanted:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.entry_port}/_stcore/health", timeout=2) as r:
                    for header in r.headers.get_all("Set-Cookie") or []:
                        if header.startswith("SRV="):
                            seen.add(header.split(";", 1)[0][4:])
            except OSError:
                pass
            if seen != wanted:
                time.sleep(0.2)
        if seen != wanted:
            raise RuntimeError(f"HAProxy never sent visitors to {sorted(wanted - seen)}")

    def sample(self) -> None:
        for backend in self.backends:
            backend.sample()

    def stop(self) -> None:
        procs = ([self.haproxy] if self.haproxy else []) + [b.proc for b in self.backends]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.haproxy = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def cache_counts(self) -> dict[str, dict[str, float]]:
        """Per backend: {cache function: {"hit", "miss", "computed", "compute_s", "evicted", "bytes"}}.

        ``miss`` counts lookups that found nothing, including callers that then waited for another
        session computing the same value (Streamlit takes a lock per key); ``computed`` counts the
        times the function actually ran.
        """
        out = {}
        for backend in self.backends:
            counts: dict[str, dict[str, float]] = {}
            for (name, labels), value in backend.metrics().items():
                lab = dict(labels)
                cache = lab.get("cache", "")
                if name == "cache_lookups_total":
                    counts.setdefault(cache, {}).setdefault(lab.get("result", "?"), 0.0)
                    counts[cache][lab.get("result", "?")] += value
                elif name == "cache_compute_duration_seconds_count" and lab.get("trigger") == "miss":
                    counts.setdefault(cache, {}).setdefault("computed", 0.0)
                    counts[cache]["computed"] += value
                elif name == "cache_compute_duration_seconds_sum" and lab.get("trigger") == "miss":
                    counts.setdefault(cache, {}).setdefault("compute_s", 0.0)
                    counts[cache]["compute_s"] += value
                elif name == "cache_evictions_total":
                    counts.setdefault(cache, {}).setdefault("evicted", 0.0)
                    counts[cache]["evicted"] += value
                elif name == "cache_memory_bytes":
                    counts.setdefault(cache, {}).setdefault("bytes", 0.0)
                    counts[cache]["bytes"] += value
            out[backend.name] = counts
        return out
