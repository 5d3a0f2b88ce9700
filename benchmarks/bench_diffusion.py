"""Diffusion page: ``calc_core.diffusion.lab.run`` at the defaults, its parts, the presets and a cold start.

    python -m benchmarks.bench_diffusion           # full size; writes results/diffusion.md
    python -m benchmarks.bench_diffusion --quick   # a few repetitions (smoke test)

The page reruns ``run(settings)`` on every control change (target: ≤ 0.15 s of the page's 0.25 s);
``fit_score_model`` is the part a page may cache on its own (``score_model_settings``), so it is
timed apart too, for the default features model and for the network. The cold start is a fresh
Python process importing the module and answering its first call (nothing is compiled).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from benchmarks.timing import publish, ratio_table, time_side_by_side
from calc_core.common.blas_threads import single_blas_thread
from calc_core.diffusion import checks, lab, views

RESULTS = Path(__file__).parent / "results" / "diffusion.md"
TARGET = 0.15  # seconds per run at the defaults


def part_rows(repeat):
    settings = lab.check_settings(lab.Settings())
    mixture = lab.build_mixture(settings)
    noised = mixture.noised(settings.smoothing_sigma)
    fit = lab.fit_score_model(settings)
    reference = lab.ExactReference(mixture, lab.DISTANCE_POINTS, 0)
    sampled = lab.sample(settings, mixture)[2]

    def one_thread(function):
        def call():
            with single_blas_thread():
                return function()
        return call

    calls = {
        "run(Settings()) — everything the page draws": lambda: lab.run(settings),
        "run with the score model passed in (cached fit)": lambda: lab.run(settings, score_fit=fit),
        f"  annealed Langevin, {settings.n_particles} particles × {settings.n_steps} steps": one_thread(
            lambda: lab.sample(settings, mixture)),
        f"  VP noising + reverse SDE + ODE, {views.REVERSE_PARTICLES} particles × {views.REVERSE_STEPS} steps": one_thread(
            lambda: views.reverse_paths(mixture, reference, (4, 5, 6))),
        "  variance-bias curve (ULA and MALA)": one_thread(lambda: lab.variance_bias(settings, sampled)),
        f"  fit_score_model: features, {lab.DSM_SAMPLES} pairs × {settings.training_steps} steps": lambda: lab.fit_score_model(settings),
        "  gradient checks (scores near/far, p_σ, DSM)": one_thread(
            lambda: checks.gradient_checks(mixture, noised, fit, 0)),
    }
    network = lab.Settings(model="network", model_width=32, training_steps=300)
    calls[f"fit_score_model: network, 32 hidden × 300 Adam steps on {lab.NETWORK_SAMPLES}"] = \
        lambda: lab.fit_score_model(network)
    timings = time_side_by_side(calls, repeat=repeat)
    rows = []
    for name, timing in timings.items():
        note = "uncached"
        if name.startswith("run(Settings())"):
            note = f"target ≤ {TARGET * 1e3:.0f} ms: {'met' if timing.best_seconds <= TARGET else 'MISSED'}"
        rows.append((name, timing.best_seconds, note))
    return rows


def preset_rows(repeat):
    calls = {f"preset {p.name}": (lambda p=p: lab.run(p.apply(lab.Settings()))) for p in lab.PRESETS}
    return [(name, t.best_seconds, "run + diagnosis") for name, t in time_side_by_side(calls, repeat=repeat).items()]


COLD_START = """
import time
start = time.perf_counter()
from calc_core.diffusion.lab import Settings, run
imported = time.perf_counter()
run(Settings())
print(imported - start, time.perf_counter() - imported)
"""


def cold_start_rows(repeat):
    runs = [subprocess.run([sys.executable, "-c", COLD_START], capture_output=True, text=True, check=True,
                           cwd=Path(__file__).resolve().parents[1]).stdout.split() for _ in range(repeat)]
    imported, first = (min(float(run[i]) for run in runs) for i in (0, 1))
    return [("cold start: import calc_core.diffusion.lab (numpy, scipy.special)", imported, "fresh process"),
            ("cold start: the first run(Settings()) after the import", first, "nothing to compile")]


NOTE = """

Plain numpy, vectorized over particles: the mixture's terms are laid out components-first, (K, d, N),
so the sums over modes and coordinates run along short leading axes. `run` holds one BLAS thread.
Times on a shared 2-core machine vary by 2× from run to run: the best of the repetitions is shown."""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few repetitions")
    quick = parser.parse_args(argv).quick
    repeat = 2 if quick else 10
    rows = part_rows(repeat) + preset_rows(1 if quick else 3) + cold_start_rows(1 if quick else 3)
    publish(ratio_table(rows, "Diffusion: run at the defaults, its parts, presets, cold start") + NOTE, RESULTS, quick)


if __name__ == "__main__":
    main()
