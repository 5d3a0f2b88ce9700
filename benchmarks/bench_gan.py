"""GANs: the page's ``run`` at its defaults for every game and preset, the 1-D GAN's training and
gradient checks, the spread of its outcome over seeds, and a cold start.

    python -m benchmarks.bench_gan           # full size; writes results/gan.md
    python -m benchmarks.bench_gan --quick   # a few seconds (smoke test)

Part 1 times ``calc_core.gan.lab.run`` uncached (the page caches it on the Settings) at the defaults
of each game and at every preset; the target is 0.1 s per call at the defaults. Part 2 takes the
1-D GAN's run apart: ``train_gan_1d`` at its defaults, the three gradient checks, and one call of
the hand-derived gradient kernel (100 calls) against the same losses and gradients by PyTorch's autograd (when
torch is installed; it is not a requirement). Part 3 trains at the defaults for many seeds and
reports how many learned (||a| − s| ≤ 0.1 s and |b − μ| ≤ 0.1 s over the last 10% of steps) and the
worst errors: what a shared link promises must hold for every seed, not one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks.timing import publish, ratio_table, time_side_by_side
from calc_core.gan import gan_1d
from calc_core.gan.checks import gan_1d_checks
from calc_core.gan.lab import GAMES, PRESETS, Settings, run
from calc_core.gan.training import match, train_gan_1d

RESULTS = Path(__file__).parent / "results" / "gan.md"


def page_rows(repeat):
    calls = {f"run, defaults, game={game}": (lambda g=game: run(Settings(game=g))) for game in GAMES}
    calls.update({f"run, preset {p.name}": (lambda p=p: run(p.apply(Settings()))) for p in PRESETS})
    timings = time_side_by_side(calls, repeat=repeat)
    return [(name, t.best_seconds, "uncached; target 100 ms" if "defaults" in name else "uncached")
            for name, t in timings.items()]


def torch_gradients(torch, params, x_real, z):
    F = torch.nn.functional
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    fake = p["a"] * z + p["b"]

    def h(x):
        return p["w2"] * x * x + p["w1"] * x + p["c"]

    loss_d = -F.logsigmoid(h(x_real)).mean() - F.logsigmoid(-h(fake)).mean()
    loss_g = -F.logsigmoid(h(fake)).mean()
    return (torch.autograd.grad(loss_d, [p["w2"], p["w1"], p["c"]]),
            torch.autograd.grad(loss_g, [p["a"], p["b"]]))


def parts_rows(repeat):
    s = Settings()
    rng = np.random.default_rng(0)
    x_real, z = s.data_mean + s.data_std * rng.standard_normal(s.batch_size), rng.standard_normal(s.batch_size)
    params = {"a": 1.2, "b": 2.0, "w2": -0.1, "w1": 0.4, "c": -0.3}
    calls = {
        f"train_gan_1d, defaults ({s.gan_steps} steps, batch {s.batch_size}, Adam)":
            lambda: train_gan_1d(s.data_mean, s.data_std, steps=s.gan_steps, batch_size=s.batch_size,
                                 lr_d=s.gan_lr, lr_g=s.gan_lr, seed=0),
        "gradient checks: L_D and both L_G (extended precision)": lambda: gan_1d_checks(params, x_real[:32], z[:32]),
        "100 gradients: hand-derived kernel": lambda: [gan_1d.gradients(*params.values(), x_real, z, False, 0.0)
                                                       for _ in range(100)],
    }
    try:
        import torch

        torch.set_num_threads(1)  # a batch of 128: threads only add overhead
        tx, tz = torch.tensor(x_real), torch.tensor(z)
        calls["100 gradients: PyTorch autograd (reference)"] = lambda: [torch_gradients(torch, params, tx, tz)
                                                                        for _ in range(100)]
    except ImportError:
        torch = None
    timings = time_side_by_side(calls, repeat=repeat)
    rows = [(name, t.best_seconds, "") for name, t in timings.items()]
    if torch is not None:
        kernel = timings["100 gradients: hand-derived kernel"].best_seconds
        reference = timings["100 gradients: PyTorch autograd (reference)"].best_seconds
        rows[-1] = (rows[-1][0], reference, f"the kernel is **{reference / kernel:.1f}×** faster on a batch of "
                    f"{s.batch_size}")
    return rows


def seed_rows(seeds):
    errors, learned = [], 0
    for seed in seeds:
        m = match(train_gan_1d(seed=seed))
        learned += m.learned
        errors.append((m.spread_error, m.mean_error))
    errors = np.array(errors)
    note = (f"learned on **{learned} of {len(seeds)}** seeds; worst ||a| − s|/s = {errors[:, 0].max():.3f}, "
            f"worst |b − μ|/s = {errors[:, 1].max():.3f} (the criterion: ≤ 0.1)")
    return [(f"1-D GAN at its defaults, seeds {seeds[0]}–{seeds[-1]}", float("nan"), note)]


COLD_START = """
import time
start = time.perf_counter()
from calc_core.gan.lab import Settings, run
imported = time.perf_counter()
run(Settings(game="gan_1d"))
print(imported - start, time.perf_counter() - imported)
"""


def cold_start_rows(repeat):
    runs = [subprocess.run([sys.executable, "-c", COLD_START], capture_output=True, text=True, check=True,
                           cwd=Path(__file__).resolve().parents[1]).stdout.split() for _ in range(repeat)]
    imported, first = (min(float(r[i]) for r in runs) for i in (0, 1))
    return [("cold start: import calc_core.gan.lab", imported, "fresh process"),
            ("cold start: the first run(Settings(game='gan_1d'))", first, "nothing to compile")]


def table(rows, title):
    text = ratio_table([r for r in rows if np.isfinite(r[1])], title)
    spread = [r for r in rows if not np.isfinite(r[1])]
    return text + "".join(f"\n\n{what}: {note}." for what, _, note in spread)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds")
    quick = parser.parse_args(argv).quick
    if quick:
        rows = page_rows(1) + parts_rows(2) + cold_start_rows(1) + seed_rows(list(range(3)))
    else:
        rows = page_rows(7) + parts_rows(10) + cold_start_rows(3) + seed_rows(list(range(100)))
    publish(table(rows, "GANs: the page's run per game and preset, the 1-D GAN's parts"), RESULTS, quick)


if __name__ == "__main__":
    main()
