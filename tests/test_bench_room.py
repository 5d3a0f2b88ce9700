"""The room benchmark still runs, and the lab can be served from several processes behind HAProxy.

- The smoke version of benchmarks/bench_room.py (3 sessions, 5 s, one server) must finish with no
  error and every session's page and reruns answered by ``script_finished``.
- deploy/serve_multi.sh with two processes: both serve through HAProxy, and a browser (its SRV
  cookie) stays on one process, websocket included. Needs Debian's haproxy; skipped without it
  unless CI is set, where a missing haproxy fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Selectbox_pb2 import Selectbox
from streamlit.proto.Slider_pb2 import Slider

from benchmarks.room_protocol import PageSession, Widget, http_get
from benchmarks.room_servers import free_port_block, haproxy_binary, parse_metrics

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------ no server needed

def test_slider_moves_stay_on_the_grid_and_in_range():
    proto = Slider(id="$$ID-abc-lr", label="η", min=0.0005, max=0.2, step=0.0005, data_type=Slider.FLOAT,
                   type=Slider.SLIDER)
    proto.default[:] = [0.01]
    w = Widget(proto.id, "slider", proto.label, "", proto, [0.01])
    rng = random.Random(3)
    for _ in range(200):
        (v,) = w.random_value(rng)
        assert proto.min <= v <= proto.max
        k = (v - proto.min) / proto.step
        assert abs(k - round(k)) < 1e-6
    assert w.state().double_array_value.data == [0.01]
    assert w.user_key == "lr" and w.url_keys() == ["lr"]


def test_option_widgets_send_the_formatted_option_and_skip_uploads():
    proto = Selectbox(id="$$ID-abc-Convolution:img", label="Image", options=["Photo", "Bars", "Upload"], default=0)
    w = Widget(proto.id, "selectbox", proto.label, "", proto, "Photo")
    import re

    picks = {w.random_value(random.Random(i), re.compile("upload", re.I)) for i in range(50)}
    assert picks == {"Bars"}
    w.value = "Bars"
    assert w.state().string_value == "Bars"
    assert w.url_keys() == ["Convolution:img", "img"]
    ni = NumberInput(id="$$ID-x-seed", label="seed", data_type=NumberInput.INT, has_min=True, min=0, has_max=True,
                     max=9, step=1)
    seed = Widget(ni.id, "number_input", "seed", "", ni, 0)
    assert 0 <= seed.random_value(random.Random(0)) <= 9
    seed.value = 4
    assert seed.state().int_value == 4


def test_metrics_text_is_parsed():
    text = ('# TYPE cache_lookups counter\n'
            'cache_lookups_total{cache="m.f",cache_type="st_cache_data",result="miss"} 3\n'
            'active_sessions 2\n# EOF\n')
    parsed = parse_metrics(text)
    assert parsed[("cache_lookups_total", (("cache", "m.f"), ("cache_type", "st_cache_data"), ("result", "miss")))] == 3
    assert parsed[("active_sessions", ())] == 2


# --------------------------------------------------------------------------------------- the smoke run

@pytest.mark.slow
def test_room_smoke_runs_without_errors_and_every_session_finishes(tmp_path):
    out = tmp_path / "room.json"
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "benchmarks.bench_room", "--smoke", "--json", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| **all pages** |" in result.stdout
    (run,) = json.loads(out.read_text())["results"]
    room, baseline = run["room"], run["baseline"]
    sessions = sum(t["sessions"] for t in room.values())
    assert sessions == 3
    problems = [e for t in list(room.values()) + list(baseline.values()) for e in t["errors"]]
    assert problems == [], (problems[:3], result.stderr[-3000:])  # stderr: the server log's traceback
    assert all(t["hung"] == 0 for t in list(room.values()) + list(baseline.values()))
    # every session got its page (a load that ended in script_finished) and at least one rerun
    assert sum(len(t["loads"]) for t in room.values()) == sessions
    assert all(len(t["moves"]) >= 1 for t in room.values() if t["sessions"])
    # the one-user phase opened every page of the catalog (the smoke run makes no moves there)
    assert all(len(t["loads"]) == 1 for t in baseline.values()), {p: t["loads"] for p, t in baseline.items()}
    assert all(run["alive"].values())
    print(f"smoke run: {time.monotonic() - start:.1f} s")


# --------------------------------------------------------------------------------- behind HAProxy

def _haproxy_or_skip() -> str:
    binary = haproxy_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("haproxy is not installed (apt-get install -y haproxy); CI must test the multi-process setup")
        pytest.skip("haproxy is not installed (apt-get install -y haproxy)")
    return binary


def _get(port: int, path: str, cookie: str | None = None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return answer.status, answer.headers.get_all("Set-Cookie") or [], answer.read()


def _run_in_own_thread(coroutine_function):
    """asyncio.run in a fresh thread: Playwright's sync API leaves an event loop running in the main thread."""
    outcome = {}

    def target():
        try:
            outcome["value"] = asyncio.run(coroutine_function())
        except BaseException as error:  # re-raised in the test's thread, assertion messages intact
            outcome["error"] = error

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _connects(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/metrics?families=session_events", timeout=5) as r:
        return parse_metrics(r.read().decode()).get(("session_events_total", (("type", "connect"),)), 0.0)


def test_haproxy_config_renders_and_is_valid(tmp_path):
    binary = _haproxy_or_skip()
    config = subprocess.run(["bash", "deploy/serve_multi.sh", "--print-config", "-n", "3", "-p", "18500", "-b", "18601"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "bind 127.0.0.1:18500" in config
    assert "server app3 127.0.0.1:18603 check cookie app3" in config
    assert "cookie SRV insert indirect nocache" in config and "timeout tunnel" in config
    assert "__" not in config.replace("__init__", "")  # every placeholder filled
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    check = subprocess.run([binary, "-c", "-f", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.slow
def test_two_backends_behind_haproxy_both_serve_and_a_session_sticks_to_one():
    _haproxy_or_skip()
    base = free_port_block(3)
    front, backends = base, {"app1": base + 1, "app2": base + 2}
    server = subprocess.Popen(["bash", "deploy/serve_multi.sh", "-n", "2", "-p", str(front), "-b", str(base + 1)],
                              cwd=ROOT, env=dict(os.environ, PYTHON=sys.executable), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                if _get(front, "/_stcore/health")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "HAProxy never answered"
            time.sleep(0.3)

        # New visitors are spread over both processes, each told by a cookie where it went.
        seen = set()
        for _ in range(40):
            for header in _get(front, "/")[1]:
                if header.startswith("SRV="):
                    seen.add(header.split(";")[0][4:])
            if seen == set(backends):
                break
            time.sleep(0.3)  # health checks may still be bringing the second one up
        assert seen == set(backends)
        for name in backends:  # and both serve the app through the proxy
            status, cookies, body = _get(front, "/", cookie=f"SRV={name}")
            assert status == 200 and b"<html" in body.lower()
            assert not any(c.startswith("SRV=") for c in cookies)  # indirect: the cookie is not re-sent

        async def browse() -> tuple[str, dict[str, float]]:
            before = {name: _connects(port) for name, port in backends.items()}
            tab = PageSession("127.0.0.1", front, "", hang_timeout=60)
            await tab.open()  # GET / through HAProxy: the SRV cookie, then the websocket with it
            chosen = tab.backend
            assert chosen in backends
            load = await tab.load()
            assert load.ok, load
            for _ in range(2):
                assert (await tab.rerun_same()).ok
            await tab.close()
            again = PageSession("127.0.0.1", front, "", hang_timeout=60)
            again.cookies["SRV"] = chosen  # the same browser, a second tab
            await again.open()
            assert again.backend == chosen
            assert (await again.load()).ok
            await again.close()
            status, _, _ = await http_get("127.0.0.1", front, "/_stcore/health", {"SRV": chosen})
            assert status == 200
            after = {name: _connects(port) for name, port in backends.items()}
            return chosen, {name: after[name] - before[name] for name in backends}

        with pytest.raises(urllib.error.HTTPError) as denied:  # the operator's counters stay private
            _get(front, "/_stcore/metrics")
        assert denied.value.code == 403

        chosen, connects = _run_in_own_thread(browse)
        other = next(name for name in backends if name != chosen)
        assert connects[chosen] == 2 and connects[other] == 0, connects
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    # serve_multi.sh stopped everything it started: nothing answers on its ports any more
    for port in [front, *backends.values()]:
        with pytest.raises(OSError):
            _get(port, "/_stcore/health")
