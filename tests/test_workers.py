"""ui.workers: calc_core calls computed in worker processes, with the same answers, the same errors,
progress in the calling thread, a pool that survives a dead worker, and no orphans."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ui import workers

ROOT = Path(__file__).resolve().parents[1]


def die_in_a_worker(server_pid: int) -> str:
    """Kills the worker it runs in; in the server it only answers (module level: a worker imports it)."""
    if os.getpid() != server_pid:
        os.kill(os.getpid(), signal.SIGKILL)
    return "computed in the server"


@pytest.fixture(scope="module")
def pool():
    saved = os.environ.get(workers.ENV)
    os.environ[workers.ENV] = "2"
    workers.stop()
    assert workers.start()
    assert workers.ready(timeout=120), "the workers did not start"
    yield
    workers.stop()
    os.environ[workers.ENV] = saved if saved is not None else "0"


def test_the_number_of_workers_comes_from_the_environment_or_the_cores(monkeypatch):
    for raw, expected in (("0", 0), ("3", 3), ("-2", 0), ("many", 0), ("1000", 16)):
        monkeypatch.setenv(workers.ENV, raw)
        assert workers.configured_workers() == expected
    monkeypatch.delenv(workers.ENV)
    for cores, expected in ((1, 0), (2, 2), (3, 3), (64, workers.MAX_WORKERS)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid, n=cores: set(range(n)))
        monkeypatch.setattr(workers, "usable_cores", lambda n=cores: n)
        assert workers.configured_workers() == expected


def test_a_container_quota_limits_the_cores_counted(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(16)))
    limit = tmp_path / "cpu.max"
    for text, expected in (("200000 100000", 2), ("50000 100000", 1), ("max 100000", 16), ("garbage", 16)):
        limit.write_text(text + "\n")
        assert workers.usable_cores(str(limit)) == expected
    assert workers.usable_cores(str(tmp_path / "missing")) == 16


def test_only_functions_a_worker_can_import_are_sent():
    from calc_core.gan import lab

    def local():
        return 1

    assert workers.sendable(lab.run) and workers.sendable(os.getpid) and workers.sendable(die_in_a_worker)
    assert not workers.sendable(local) and not workers.sendable(lambda: 1)
    page_function = type(local)(local.__code__, {}, "run")
    page_function.__module__ = "__main__"  # what a function defined in a page script looks like
    assert not workers.sendable(page_function)


def test_without_a_pool_everything_runs_in_the_calling_process():
    workers.stop()
    assert os.environ[workers.ENV] == "0" and not workers.start()
    assert workers.run(os.getpid) == os.getpid()


@pytest.mark.parametrize("application", ["recommender", "attention", "policy_gradient", "kalman", "gan", "diffusion"])
def test_a_run_in_a_worker_gives_what_the_server_would_compute(pool, application):
    import importlib

    lab = importlib.import_module(f"calc_core.{application}.lab")
    sent = workers.stats()["sent"]
    there, here = workers.run(lab.run, lab.Settings()), lab.run(lab.Settings())
    assert workers.stats()["sent"] == sent + 1
    assert type(there) is type(here)
    assert [(m.code, m.kind) for m in there.diagnosis] == [(m.code, m.kind) for m in here.diagnosis]
    for name, value in vars(here).items():  # the arrays a page draws agree (BLAS threads may differ in last bits)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            np.testing.assert_allclose(getattr(there, name), value, rtol=1e-6, atol=1e-9, equal_nan=True)


def pid_after(seconds: float) -> int:
    """The process that ran it, after ``seconds`` (module level: a worker imports it)."""
    time.sleep(seconds)
    return os.getpid()


def pid_and_span(seconds: float) -> tuple[int, float, float]:
    """The process, and when (wall clock, shared by processes) it started and ended a ``seconds`` wait."""
    start = time.time()
    time.sleep(seconds)
    return os.getpid(), start, time.time()


def test_two_sessions_compute_at_the_same_time_in_two_other_processes(pool):
    assert workers.run(os.getpid) != os.getpid()
    answers = {}

    def session(n):
        answers[n] = workers.run(pid_and_span, 1.5)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pids = {pid for pid, _, _ in answers.values()}
    assert len(pids) == 2 and os.getpid() not in pids
    # the two waits overlapped: each began before the other ended (a loaded machine may start them
    # late, but one after the other they cannot overlap)
    (_, start_a, end_a), (_, start_b, end_b) = answers.values()
    assert max(start_a, start_b) < min(end_a, end_b), "the two calls ran one after the other"


def test_progress_reaches_the_caller_in_its_own_thread(pool):
    from calc_core.policy_gradient import lab

    seen, threads = [], set()

    def progress(fraction):
        seen.append(fraction)
        threads.add(threading.get_ident())

    workers.run(lab.run, lab.Settings(episodes=600, stop_when_solved=False), progress=progress)
    assert len(seen) >= 2, "a half-second training reported no progress"
    assert seen == sorted(seen) and 0 < seen[0] and seen[-1] <= 1
    assert threads == {threading.get_ident()}


def test_an_error_comes_back_as_it_was_raised(pool):
    with pytest.raises(ValueError, match="invalid literal"):
        workers.run(int, "not a number")
    from calc_core.convolution import lab

    with pytest.raises(ValueError, match="comes from a file"):
        workers.run(lab.run, lab.Settings(source="photo"))


def test_a_worker_that_dies_is_replaced_and_the_call_is_answered_in_the_server(pool):
    rebuilt = workers.stats()["rebuilt"]
    assert workers.run(die_in_a_worker, os.getpid()) == "computed in the server"
    assert workers.stats()["rebuilt"] == rebuilt + 1
    assert workers.ready(timeout=120)
    assert workers.run(os.getpid) != os.getpid()  # the new pool computes again


def test_a_call_that_meets_a_pool_being_shut_down_is_answered_in_the_server(pool):
    workers._pool.executor.shutdown(wait=True)  # what a rebuild after a dead worker does to the old pool
    try:
        assert workers.run(pid_after, 0.0) == os.getpid()
    finally:
        workers.stop()
        workers.start()
        assert workers.ready(timeout=120)
    assert workers.run(os.getpid) != os.getpid()


@pytest.mark.parametrize("page", ["pages/4_Policy_Gradient.py", "pages/7_Diffusion.py"])
def test_a_page_computed_in_the_workers_shows_what_it_shows_computed_in_the_server(pool, page):
    def metrics():
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.switch_page(page).run()
        assert not at.exception, at.exception
        return [(m.label, m.value) for m in at.metric], [e.value for e in at.error]

    sent = workers.stats()["sent"]
    in_workers = metrics()
    assert workers.stats()["sent"] > sent, "the page's run was not sent to a worker"
    os.environ[workers.ENV] = "0"
    try:
        workers.stop()
        import streamlit as st

        st.cache_data.clear()
        in_server = metrics()
    finally:
        os.environ[workers.ENV] = "2"
        workers.start()
        workers.ready(timeout=120)
    assert in_workers == in_server and in_workers[0]


def test_workers_exit_when_their_server_is_killed():
    script = textwrap.dedent("""
        import multiprocessing, sys
        from ui import workers
        if __name__ == "__main__":
            workers.start(); assert workers.ready(timeout=120)
            print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
            sys.stdin.read()
    """)
    server = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, workers.ENV: "2", "PYTHONPATH": str(ROOT)})
    try:
        pids = [int(p) for p in server.stdout.readline().split()]
        assert len(pids) >= 2, pids
        server.kill()
        server.wait(timeout=10)
        deadline = time.monotonic() + 15
        alive = pids
        while alive and time.monotonic() < deadline:
            time.sleep(0.2)
            alive = [p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in _state(p)]
        assert not alive, f"workers {alive} outlived their server"
    finally:
        if server.poll() is None:
            server.kill()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return "Z"


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["streamlit_app.py", "app.py"])
def test_a_real_server_computes_its_pages_in_its_workers(entry):
    """`streamlit run streamlit_app.py` (what is served: app.py in Streamlit's ASGI app) and
    `streamlit run app.py`: the workers start from the first page, stay up, and do the training
    (in a Streamlit server the page script is ``__main__``: a worker must not run it)."""
    from benchmarks.room_protocol import PageSession
    from benchmarks.room_servers import free_port_block, proc_cpu_seconds, worker_pids
    from tests.test_bench_room import _run_in_own_thread

    port = free_port_block(1)
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", entry, "--server.address", "127.0.0.1", "--server.port",
         str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env={**os.environ, workers.ENV: "2"})
    try:
        async def browse():
            tab = PageSession("127.0.0.1", port, "Policy_Gradient", "episodes=400&stop=false", hang_timeout=120)
            for _ in range(100):
                try:
                    await tab.open()
                    break
                except Exception:  # noqa: BLE001 - not listening yet
                    await asyncio.sleep(0.3)
            results = [await tab.load()]
            for seed in (1, 2, 3):
                seed_widget = next((w for w in tab.widgets.values() if "seed" in w.label.lower()), None)
                assert seed_widget is not None, [w.label for w in tab.widgets.values()]
                seed_widget.value = seed
                results.append(await tab.rerun_same())
            await tab.close()
            return results

        results = _run_in_own_thread(browse)
        assert all(r.ok and not r.error_alerts for r in results), [(r.problem, r.exceptions) for r in results]
        spawned = worker_pids(server.pid)
        assert len(spawned) >= 2, "the server has no worker processes"
        trained = sum(proc_cpu_seconds(p) for p in spawned)
        assert trained > 0.5, f"four trainings of 400 episodes took {trained:.2f} s of the workers' CPU"
    finally:
        server.terminate()
        try:
            out, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            out, _ = server.communicate()
    assert "did not start" not in out and "Traceback" not in out, out[-3000:]


def test_a_call_sent_to_a_worker_warms_up_its_labs_views_once_meanwhile(pool, monkeypatch):
    from calc_core.policy_gradient import lab

    calls, release = [], threading.Event()

    def warm_up_views():
        calls.append(threading.get_ident())
        release.wait(30)  # still warming while the call is answered: the call does not wait for it

    monkeypatch.setattr(lab, "warm_up_views", warm_up_views)
    monkeypatch.setattr(workers, "_views_warming", {})
    for _ in range(2):
        workers.run(lab.run, lab.Settings(episodes=10))
    assert workers._views_warming[lab.__name__].is_alive()
    release.set()
    workers._views_warming[lab.__name__].join(30)
    assert len(calls) == 1, "warm_up_views ran more than once"
    assert calls[0] != threading.get_ident(), "warm_up_views ran in the calling thread"


def test_a_view_warm_up_that_fails_is_logged_and_the_call_still_answered(pool, monkeypatch, caplog):
    from calc_core.policy_gradient import lab

    def fail():
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(lab, "warm_up_views", fail)
    monkeypatch.setattr(workers, "_views_warming", {})
    with caplog.at_level("ERROR", logger="calculus_lab"):
        result = workers.run(lab.run, lab.Settings(episodes=10))
        workers._views_warming[lab.__name__].join(30)
    assert len(result.returns) >= 10
    assert "warm_up_views failed" in caplog.text
