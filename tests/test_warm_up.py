"""Each worker runs the labs' ``warm_up()`` before its first task (ui.workers), so that numba's machine
code is loaded before a visitor's first move needs it. A warm-up must load what a real run calls — the
same compiled loops with the same argument types — or the first visitor still waits; every lab with
compiled loops must have one; a warm-up that fails must not keep the worker from computing."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from ui import workers

ROOT = Path(__file__).resolve().parents[1]

# In a fresh interpreter: the compiled loops (numba dispatchers) of calc_core's modules with the
# signatures loaded so far, after the warm-up and again after the lab's default run.
LOADED = """
import importlib, json, sys
from numba.core.dispatcher import Dispatcher

def loaded():
    return {f"{name}.{attr}": sorted(map(str, value.signatures))
            for name, module in list(sys.modules.items()) if name.startswith("calc_core")
            for attr, value in vars(module).items() if isinstance(value, Dispatcher)}
"""
PROBE = LOADED + """
lab = importlib.import_module(sys.argv[1])
if sys.argv[2] == "import":
    print(json.dumps(loaded()))
else:
    lab.warm_up()
    warm = loaded()
    lab.run(lab.Settings())
    print(json.dumps([warm, loaded()]))
"""


def probe(module: str, mode: str):
    out = subprocess.run([sys.executable, "-c", PROBE, module, mode], cwd=ROOT, capture_output=True, text=True,
                         timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", [name for name in workers.PRELOAD
                                    if hasattr(importlib.import_module(name), "warm_up")])
def test_a_warm_up_loads_every_compiled_loop_the_default_run_calls(module):
    warm, after_run = probe(module, "run")
    assert any(warm.values()), f"{module}.warm_up loaded no compiled loop"
    missed = {name: sorted(set(sigs) - set(warm.get(name, []))) for name, sigs in after_run.items()
              if set(sigs) - set(warm.get(name, []))}
    assert not missed, f"the default run still loaded (or compiled) {missed} after the warm-up"


def test_every_lab_with_compiled_loops_has_a_warm_up():
    for module in workers.PRELOAD:
        dispatchers = probe(module, "import")
        if dispatchers:
            assert callable(getattr(importlib.import_module(module), "warm_up", None)), \
                f"{module} imports compiled loops {sorted(dispatchers)} but has no warm_up()"


def test_a_worker_runs_the_warm_ups_at_start_and_survives_one_that_fails(monkeypatch):
    import calc_core.common.blas_threads as blas_threads

    calls = []
    good = types.ModuleType("lab_warms_up")
    good.warm_up = lambda: calls.append("good")
    bad = types.ModuleType("lab_fails_to_warm_up")

    def fail():
        calls.append("bad")
        raise RuntimeError("no compiler here")

    bad.warm_up = fail
    plain = types.ModuleType("lab_without_warm_up")
    for module in (good, bad, plain):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(workers, "PRELOAD", (bad.__name__, plain.__name__, good.__name__))
    monkeypatch.setattr(blas_threads, "use_one_thread", lambda: None)  # leave this process's BLAS alone
    monkeypatch.setattr(workers.signal, "signal", lambda *_: None)
    monkeypatch.setattr(workers, "_exit_with_server", lambda _pid: None)
    workers._start_worker(reports=None, server_pid=os.getppid())
    assert calls == ["bad", "good"]


# What a page computes in the server process itself (no worker): its compiled calls after the lab's
# warm_up_views(), on a result made in another process (a worker's answer, unpickled).
VIEWS_PROBE = LOADED + """
import pickle

lab = importlib.import_module(sys.argv[1])
if sys.argv[2] == "make":
    pickle.dump(lab.run(lab.Settings()), open(sys.argv[3], "wb"))
else:
    lab.warm_up_views()
    warm = loaded()
    result = pickle.load(open(sys.argv[3], "rb"))
    for index in (0, len(result.snapshots) // 2, -1):
        for greedy in (False, True):
            getattr(lab, sys.argv[4])(result, index, greedy)
    print(json.dumps([warm, loaded()]))
"""
#: per lab with a warm_up_views(): the function its page calls in the server with (result, index, greedy)
IN_SERVER = {"calc_core.policy_gradient.lab": "replay_at"}


def test_every_lab_with_a_view_warm_up_is_probed():
    assert {name for name in workers.PRELOAD if hasattr(importlib.import_module(name), "warm_up_views")} == set(IN_SERVER)


@pytest.mark.parametrize("module", sorted(IN_SERVER))
def test_a_view_warm_up_loads_what_the_page_then_computes_in_the_server(module, tmp_path):
    result = tmp_path / "result.pickle"

    def call(*args):
        out = subprocess.run([sys.executable, "-c", VIEWS_PROBE, module, *args], cwd=ROOT, capture_output=True,
                             text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout

    call("make", str(result))
    warm, after = json.loads(call("probe", str(result), IN_SERVER[module]).strip().splitlines()[-1])
    assert any(warm.values()), f"{module}.warm_up_views loaded no compiled loop"
    missed = {name: sorted(set(sigs) - set(warm.get(name, []))) for name, sigs in after.items()
              if set(sigs) - set(warm.get(name, []))}
    assert not missed, f"{IN_SERVER[module]} still loaded (or compiled) {missed} after warm_up_views"
