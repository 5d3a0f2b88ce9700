r"""Training the 1-D GAN of calc_core.gan.gan_1d: two players, each stepping on its own loss.

One training step is ``d_steps`` discriminator steps on L_D and one generator step on L_G, each on a
fresh batch (x_real ~ N(μ, s²), z ~ N(0, 1)). The order:

* **simultaneous** — the generator's gradient is taken at the same parameters (and on the same
  fake batch) as the first discriminator step, then both players move;
* **alternating** — the discriminator steps first, the generator's gradient sees the new D.

Each player's optimizer is either plain gradient steps, θ ← θ − η g, or Adam (Kingma & Ba 2015)
with β₁ = 0.5 as GANs are usually trained (Radford et al. 2016, DCGAN):

    m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²,   θ ← θ − η m̂ / (√v̂ + ε),
    m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ).

The generator starts as N(0, 1) (a = 1, b = 0) and the discriminator undecided (w₂ = w₁ = c = 0,
D ≡ 1/2). A run that blows up (a parameter not finite or beyond BLOW_UP) stops and says at which
step; the histories end at the last finite state.

"Learned": averaged over the last 10% of steps, ||a| − s| ≤ 0.1·s and |b − μ| ≤ 0.1·s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from calc_core.common.snapshots import Snapshots, evenly_spaced
from calc_core.common.validate import choice, real, seed as check_seed, whole
from calc_core.gan import gan_1d
from calc_core.gan.gan_1d import DISCRIMINATOR, GENERATOR, check_loss

OPTIMIZERS = ("adam", "sgd")
ORDERS = ("simultaneous", "alternating")
BETA1, BETA2, ADAM_EPS = 0.5, 0.999, 1e-8
BLOW_UP = 1e6  # |parameter| beyond this counts as blown up
BATCH_NUMBERS = 1 << 18  # samples drawn per block of steps (2 MB per stream)
LEARNED_TOLERANCE = 0.1  # in units of the data's standard deviation
FINAL_SHARE = 0.1  # "the last 10% of steps"
START = {"a": 1.0, "b": 0.0, "w2": 0.0, "w1": 0.0, "c": 0.0}


@dataclass(frozen=True)
class GanRun:
    """Histories of one training run: row t is the state after t training steps (row 0 the start)."""

    a: np.ndarray  # (T + 1,)
    b: np.ndarray  # (T + 1,)
    w2: np.ndarray  # (T + 1,)
    w1: np.ndarray  # (T + 1,)
    c: np.ndarray  # (T + 1,)
    loss_d: np.ndarray  # (T,) L_D of step t's last discriminator batch, before its update
    loss_g: np.ndarray  # (T,) L_G of step t's generator batch, before its update
    d_fake: np.ndarray  # (T,) mean D(G(z)) on step t's generator batch
    snapshots: Snapshots  # a, b, w2, w1, c at ≤ 41 steps
    data_mean: float
    data_std: float
    loss: str
    steps: int  # steps asked for
    diverged_step: int | None = None

    @property
    def completed_steps(self) -> int:
        return int(self.a.size - 1)

    @property
    def diverged(self) -> bool:
        return self.diverged_step is not None

    @property
    def discriminator(self) -> np.ndarray:
        """(T + 1, 3): w₂, w₁, c per step."""
        return np.stack([self.w2, self.w1, self.c], axis=1)


@dataclass(frozen=True)
class Match:
    """How close the generator N(b, a²) came to the data N(μ, s²) over the final steps."""

    spread: float  # mean |a| over the last 10% of steps
    mean: float  # mean b there
    spread_error: float  # ||a| − s| / s
    mean_error: float  # |b − μ| / s
    steps_averaged: int

    @property
    def learned(self) -> bool:
        return self.spread_error <= LEARNED_TOLERANCE and self.mean_error <= LEARNED_TOLERANCE


def final_window(run: GanRun) -> slice:
    """The rows of the last 10% of steps (at least one)."""
    count = max(1, int(round(FINAL_SHARE * run.completed_steps)))
    return slice(run.a.size - count, run.a.size)


def match(run: GanRun) -> Match:
    """The learned criterion, averaged over the last 10% of steps."""
    window = final_window(run)
    spread, mean = float(np.mean(np.abs(run.a[window]))), float(np.mean(run.b[window]))
    return Match(spread, mean, abs(spread - run.data_std) / run.data_std,
                 abs(mean - run.data_mean) / run.data_std, int(run.a[window].size))


@dataclass(frozen=True)
class Swing:
    """How far the generator still swings: the range of b and |a| over the second half of the run,
    each smoothed by a moving average over ``window`` steps (so that batch noise does not count)."""

    b_low: float
    b_high: float
    spread_low: float
    spread_high: float
    window: int

    def relative(self, data_std: float) -> float:
        """The larger of the two ranges, in units of the data's standard deviation."""
        return max(self.b_high - self.b_low, self.spread_high - self.spread_low) / data_std


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """mean(values[k : k + window]) for every full window."""
    total = np.cumsum(np.insert(np.asarray(values, dtype=float), 0, 0.0))
    return (total[window:] - total[:-window]) / window


def swing(run: GanRun) -> Swing:
    """The :class:`Swing` of a run, smoothed over 5% of its steps."""
    steps = run.completed_steps
    window = max(1, steps // 20)
    half = slice(steps // 2, steps + 1)
    b, spread = moving_average(run.b[half], window), moving_average(np.abs(run.a[half]), window)
    return Swing(float(b.min()), float(b.max()), float(spread.min()), float(spread.max()), window)


class _Adam:
    def __init__(self, size: int, lr: float):
        self.lr, self.t = lr, 0
        self.m, self.v = [0.0] * size, [0.0] * size

    def step(self, theta: list[float], grad: tuple[float, ...]) -> None:
        self.t += 1
        correction1, correction2 = 1 - BETA1**self.t, 1 - BETA2**self.t
        for i, g in enumerate(grad):
            # m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²
            self.m[i] = BETA1 * self.m[i] + (1 - BETA1) * g
            self.v[i] = BETA2 * self.v[i] + (1 - BETA2) * g * g
            # θ ← θ − η m̂ / (√v̂ + ε)
            theta[i] -= self.lr * (self.m[i] / correction1) / (math.sqrt(self.v[i] / correction2) + ADAM_EPS)


class _Plain:
    def __init__(self, size: int, lr: float):
        self.lr = lr

    def step(self, theta: list[float], grad: tuple[float, ...]) -> None:
        for i, g in enumerate(grad):
            # θ ← θ − η g
            theta[i] -= self.lr * g


_OPTIMIZERS = {"adam": _Adam, "sgd": _Plain}


def optimizer_step(optimizer: str) -> Callable:
    """The method that applies one update of ``optimizer`` ("adam" or "sgd") to a player's
    parameters, the code :func:`train_gan_1d` runs (and the page shows)."""
    return _OPTIMIZERS[choice("optimizer", optimizer, OPTIMIZERS)].step


def train_gan_1d(data_mean=4.0, data_std=2.0, *, steps=800, batch_size=128, lr_d=0.03, lr_g=0.03,
                 optimizer="adam", d_steps=1, order="simultaneous", loss="non_saturating", gamma=0.0,
                 seed=0, progress: Callable[[float], None] | None = None) -> GanRun:
    """Train G(z) = a z + b against D(x) = σ(w₂x² + w₁x + c) on data N(``data_mean``, ``data_std``²).

    Parameters
    ----------
    data_mean, data_std : float
        μ and s > 0 of the data.
    steps : int
        Training steps (each: ``d_steps`` discriminator steps, one generator step).
    batch_size : int
        Samples per batch, real and fake alike.
    lr_d, lr_g : float
        Step sizes η of the discriminator and the generator.
    optimizer : {"adam", "sgd"}
        Adam with β₁ = 0.5, β₂ = 0.999, or plain gradient steps.
    d_steps : int
        Discriminator steps per generator step.
    order : {"simultaneous", "alternating"}
    loss : {"non_saturating", "saturating"}
        The generator's loss.
    gamma : float
        γ ≥ 0 of the R1 penalty on the discriminator.
    seed : int
        Of the batches (NumPy's default_rng).
    progress : callable, optional
        Called with the fraction of the steps done, about twenty times in a run.

    Returns
    -------
    GanRun
        Histories a, b, w₂, w₁, c, the losses, mean D(G(z)), snapshots; ``diverged_step`` if it blew up.
    """
    mu = real("data_mean", data_mean, -100.0, 100.0)
    s = real("data_std", data_std, maximum=100.0, positive=True)
    steps = whole("steps", steps, 1, 100_000)
    batch = whole("batch_size", batch_size, 1, 10_000)
    lr_d, lr_g = real("lr_d", lr_d, positive=True), real("lr_g", lr_g, positive=True)
    optimizer = choice("optimizer", optimizer, OPTIMIZERS)
    d_steps = whole("d_steps", d_steps, 1, 100)
    order = choice("order", order, ORDERS)
    saturating = check_loss(loss) == "saturating"
    gamma = real("gamma", gamma, minimum=0.0)
    # Three streams (real samples, the discriminator's z, the generator's z), drawn a block of steps at
    # a time so that memory stays bounded (5,000 steps × 10 × 1,024 would be 800 MB at once); a stream
    # filled in blocks gives the same numbers as filled at once, so the block size changes nothing.
    streams = np.random.SeedSequence(check_seed(seed)).spawn(3)
    real_rng, zd_rng, zg_rng = (np.random.default_rng(stream) for stream in streams)
    block = max(1, BATCH_NUMBERS // (d_steps * batch))

    g_theta, d_theta = [START[k] for k in GENERATOR], [START[k] for k in DISCRIMINATOR]
    g_opt, d_opt = _OPTIMIZERS[optimizer](2, lr_g), _OPTIMIZERS[optimizer](3, lr_d)
    history = np.empty((steps + 1, 5))
    history[0] = g_theta + d_theta
    losses = np.empty((steps, 3))
    diverged = None
    kernel = gan_1d.gradients  # the kernel gan_1d_gradients wraps: the gradient check checks what trains
    report_every = max(1, steps // 20)
    for t in range(steps):
        if progress is not None and t % report_every == 0:
            progress(t / steps)
        if t % block == 0:
            n = min(block, steps - t)
            x_real = mu + s * real_rng.standard_normal((n, d_steps, batch))
            z_d = zd_rng.standard_normal((n, d_steps, batch))
            z_g = z_d[:, 0] if order == "simultaneous" else zg_rng.standard_normal((n, batch))
        i = t % block
        g_grad = None
        for j in range(d_steps):
            out = kernel(*g_theta, *d_theta, x_real[i, j], z_d[i, j], saturating, gamma)
            if j == 0 and order == "simultaneous":
                g_grad, loss_g, d_fake = out[2:4], out[1], out[7]
            d_opt.step(d_theta, out[4:7])
            loss_d = out[0]
        if g_grad is None:
            out = kernel(*g_theta, *d_theta, x_real[i, 0], z_g[i], saturating, gamma)
            g_grad, loss_g, d_fake = out[2:4], out[1], out[7]
        g_opt.step(g_theta, g_grad)
        losses[t] = loss_d, loss_g, d_fake
        state = g_theta + d_theta
        if not all(math.isfinite(v) and abs(v) <= BLOW_UP for v in state):
            diverged = t + 1
            break
        history[t + 1] = state
    done = steps if diverged is None else diverged - 1
    history, losses = history[: done + 1], losses[:done]
    pick = evenly_spaced(done)
    snapshots = Snapshots(pick, "step", {name: history[pick, k] for k, name in enumerate(GENERATOR + DISCRIMINATOR)})
    return GanRun(*history.T.copy(), *losses.T.copy(), snapshots, mu, s, "saturating" if saturating else
                  "non_saturating", steps, diverged)
