"""calc_core runs in worker processes, so a room's computations use every core of the server.

One Streamlit process runs every session's script on threads of one interpreter: whatever
calc_core does in Python or numpy between compiled loops (the gradient checks, the numpy policy
network, the score model) holds the GIL, and the sessions of a room take turns on one core however
many the machine has. :func:`run` sends a call to a small pool of worker processes instead (spawned,
one per core up to MAX_WORKERS), and the script's thread waits for the answer without holding the
GIL: the server process keeps building and sending pages while the workers compute.

What goes: module-level functions (calc_core's ``run``, ``learn``, …) with picklable arguments and
results — Settings dataclasses, arrays, frozen Results (pickling the largest, 4 MB of snapshots,
takes ≈ 5 ms). A function defined in a page script, or anything else that cannot be sent, runs
where it was called. A progress callback stays in the server: the worker reports fractions over a
queue and the waiting script thread calls the callback (so ``st.progress`` runs in its session).

When there is one core, ``LAB_WORKERS=0`` is set, or the pool is not started yet, every call runs
in the calling thread, as before. If a worker dies (killed, out of memory) the pool is rebuilt and
the call is made in the calling thread, so the page still gets its answer. Workers exit when the
server process that started them is gone.
"""

from __future__ import annotations

import concurrent.futures as futures
import importlib
import itertools
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import types
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

logger = logging.getLogger("calculus_lab")

ENV = "LAB_WORKERS"  # the number of worker processes; 0 computes in the server process
MAX_WORKERS = 4
POLL = 0.1  # seconds between progress reports read by a waiting script
#: imported by every worker before its first task, so that no session waits for an import (and each
#: module's ``warm_up()``, where it has one, run: numba's machine code loaded before it is needed)
PRELOAD = ("calc_core.recommender.lab", "calc_core.attention.lab", "calc_core.convolution.lab",
           "calc_core.policy_gradient.lab", "calc_core.kalman.lab", "calc_core.gan.lab", "calc_core.diffusion.lab")


def configured_workers() -> int:
    """Workers to start: ``LAB_WORKERS`` when set (0 for none), else one per core (at most
    MAX_WORKERS), and none on a single core (a worker would only compete with the server)."""
    raw = os.environ.get(ENV, "").strip()
    if raw:
        try:
            return max(0, min(int(raw), 16))
        except ValueError:
            logger.warning("%s=%r is not a number of workers; computing in the server process", ENV, raw)
            return 0
    return min(usable_cores(), MAX_WORKERS) if usable_cores() >= 2 else 0


def usable_cores(cgroup_limit: str = "/sys/fs/cgroup/cpu.max") -> int:
    """Cores this process may use: the CPUs it may run on, and no more than its container's CPU quota
    (a hosted app often sees every CPU of the host but is limited to two by its cgroup)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = open(cgroup_limit).read().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(float(quota) / float(period))))
    except (OSError, ValueError):
        pass
    return cores


def sendable(function) -> bool:
    """Whether a worker can find ``function`` by its module and name (a page script's functions live
    in ``__main__`` of the server, not in a module a worker can import)."""
    module = getattr(function, "__module__", None)
    if not module or module == "__main__" or module not in sys.modules or "<locals>" in function.__qualname__:
        return False
    found = sys.modules[module]
    for part in function.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is function


# ----------------------------------------------------------------------------- in the worker

_reports = None  # the worker's end of the progress queue


def _start_worker(reports, server_pid: int) -> None:
    global _reports
    _reports = reports
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server; the server stops its workers
    from calc_core.common.blas_threads import use_one_thread

    use_one_thread()  # the workers are the parallelism: one BLAS thread each, no oversubscription
    threading.Thread(target=_exit_with_server, args=(server_pid,), daemon=True).start()
    for name in PRELOAD:
        importlib.import_module(name)
    for name in PRELOAD:  # each lab's compiled loops loaded before the first task, not during it
        warm_up = getattr(sys.modules[name], "warm_up", None)
        if warm_up is not None:
            try:
                warm_up()
            except Exception:  # noqa: BLE001 - a worker that could not warm up still computes
                logger.exception("%s.warm_up failed in a worker", name)


def _exit_with_server(server_pid: int) -> None:
    while os.getppid() == server_pid:
        time.sleep(1.0)
    os._exit(0)


def _warm() -> int:
    return os.getpid()


def _call(task: int, function, args, kwargs, reports_progress: bool):
    if reports_progress:
        last = [-1.0]

        def progress(fraction: float) -> None:
            if fraction - last[0] >= 0.01 or fraction >= 1.0:
                last[0] = fraction
                _reports.put((task, float(fraction)))

        kwargs = {**kwargs, "progress": progress}
    return function(*args, **kwargs)


# ----------------------------------------------------------------------------- in the server

@contextmanager
def _plain_main():
    """A spawned process first re-imports its parent's ``__main__``. In a Streamlit server that is the
    page script running at that moment (Streamlit installs each script as ``__main__``): app.py would
    run inside the worker. While the workers spawn, ``__main__`` is an empty module (no file to import)."""
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


class _Pool:
    """The executor, its progress queue and the thread that reads it."""

    def __init__(self, workers: int):
        context = multiprocessing.get_context("spawn")  # never fork a process that runs threads
        self.reports = context.Queue()
        self.executor = futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                                    initargs=(self.reports, os.getpid()))
        self.workers = workers
        self.latest: dict[int, float] = {}
        self.ready = threading.Event()
        with _plain_main():  # every worker is spawned here: one per submitted warm-up call
            warm = [self.executor.submit(_warm) for _ in range(workers)]
        threading.Thread(target=self._wait_until_warm, args=(warm,), daemon=True, name="lab-workers-warm").start()
        threading.Thread(target=self._read_reports, daemon=True, name="lab-workers-progress").start()

    def _wait_until_warm(self, warm) -> None:
        try:
            pids = {f.result(timeout=300) for f in warm}
            logger.info("%d calc_core workers ready (pids %s)", self.workers, sorted(pids))
            self.ready.set()
        except Exception:  # noqa: BLE001 - no workers: everything keeps running in the server
            logger.exception("calc_core workers did not start; computing in the server process")

    def _read_reports(self) -> None:
        while True:
            try:
                task, fraction = self.reports.get()
            except (EOFError, OSError, ValueError):
                return
            self.latest[task] = fraction
            if len(self.latest) > 256:  # a report that came after its call returned: never read
                for stale in sorted(self.latest)[:128]:
                    self.latest.pop(stale, None)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        try:
            self.reports.close()
        except (OSError, ValueError):
            pass


_lock = threading.Lock()
_pool: _Pool | None = None
_tasks = itertools.count()
_stats = {"sent": 0, "in_server": 0, "rebuilt": 0}


def start() -> bool:
    """Start the pool (once per process; the workers spawn and import calc_core in the background).
    Returns whether there is one."""
    global _pool
    with _lock:
        if _pool is None and configured_workers() > 0:
            _pool = _Pool(configured_workers())
        return _pool is not None


def stop() -> None:
    """Stop the workers (tests; the server's exit stops them by itself)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close()


def stats() -> dict[str, int]:
    """Calls sent to workers, made in the server, and pools rebuilt after a worker died."""
    return dict(_stats)


def ready(timeout: float = 0.0) -> bool:
    """Whether the workers are up (waiting up to ``timeout`` seconds for them)."""
    pool = _pool
    return pool is not None and pool.ready.wait(timeout)


def run(function, *args, progress=None, **kwargs):
    """``function(*args, **kwargs)`` — with ``progress=progress`` when given — in a worker when one
    is ready and the call can be sent there, else in the calling thread. Exceptions come back as
    they were raised (a ValueError with its message for the user)."""
    pool = _pool
    if pool is None or not pool.ready.is_set() or not sendable(function):
        _stats["in_server"] += 1
        return function(*args, **kwargs) if progress is None else function(*args, progress=progress, **kwargs)
    task = next(_tasks)
    try:
        future = pool.executor.submit(_call, task, function, args, kwargs, progress is not None)
        _stats["sent"] += 1
        _warm_up_views_once(function.__module__)  # on its own thread, while the worker computes
        while True:
            try:
                return future.result(timeout=POLL if progress is not None else None)
            except futures.TimeoutError:
                if task in pool.latest:
                    progress(pool.latest[task])
    except BrokenProcessPool:
        logger.warning("a calc_core worker died; rebuilding the pool and computing this call in the server")
        _rebuild(pool)
    except RuntimeError as exc:  # the pool was shut down under this call (rebuilt or stopped)
        if "shutdown" not in str(exc):
            raise
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        if not isinstance(exc, pickle.PicklingError) and "pickle" not in str(exc).lower():
            raise  # the function's own error, not the sending
        logger.warning("could not send %s to a worker (%s); computing it in the server", function.__qualname__, exc)
    finally:
        pool.latest.pop(task, None)
    _stats["in_server"] += 1
    return function(*args, **kwargs) if progress is None else function(*args, progress=progress, **kwargs)


_views_warming: dict[str, threading.Thread] = {}  # per module: the thread that ran its warm_up_views


def _warm_up_views_once(module: str) -> None:
    """The module's ``warm_up_views()`` on a thread of its own, the first time this server process sends
    one of its calls to a worker: what the page then computes in the server itself (a fragment's replay)
    has its compiled code loaded while the worker computes, not after. (A call computed in the server
    loads that code by running.) The module is already imported; a warm-up that fails is logged."""
    warm_up = getattr(sys.modules.get(module), "warm_up_views", None)
    if warm_up is None:
        return

    def warm() -> None:
        try:
            warm_up()
        except Exception:  # noqa: BLE001 - an optimisation, never a failure of the page
            logger.exception("%s.warm_up_views failed in the server", module)

    with _lock:
        if module in _views_warming:
            return
        _views_warming[module] = thread = threading.Thread(target=warm, daemon=True, name=f"warm-up {module}")
    thread.start()


def _rebuild(broken: _Pool) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _stats["rebuilt"] += 1
            broken.close()
            _pool = _Pool(broken.workers)
