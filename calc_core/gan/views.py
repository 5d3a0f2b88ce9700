r"""What the GAN page draws for one setting: the views of a game in the plane and of the 1-D GAN.

``game_view`` runs all four methods from the same start on the bilinear game or the Dirac-GAN and
takes the chosen method's linearized step apart: the eigenvalues λ of M, ρ = max |λ|, ρ over an
(η, γ) grid, and the field v on a grid of arrows. ``gan_view`` trains the 1-D GAN and lays out its
snapshots on an x axis: N(b, a²) and D(x) = σ(w₂x² + w₁x + c) at every snapshot, next to N(μ, s²).
The functions take a checked calc_core.gan.lab.Settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import numpy as np

from calc_core.common.gradcheck import GradientCheck
from calc_core.common.snapshots import Snapshots, evenly_spaced
from calc_core.gan.bilinear import alternating_invariant, bilinear_field, bilinear_jacobian, game_run
from calc_core.gan.checks import gan_1d_checks
from calc_core.gan.dirac import dirac_gan_field, dirac_gan_jacobian, dirac_gan_run
from calc_core.gan.gan_1d import logit, sigmoid
from calc_core.gan.linear import (METHODS, jacobian_eigenvalues, regularized_bilinear_jacobian, spectral_radius,
                                  spectral_radius_map, update_eigenvalues, update_matrix)
from calc_core.gan.play import GameRun
from calc_core.gan.training import GanRun, Match, Swing, match, swing, train_gan_1d

if TYPE_CHECKING:
    from calc_core.gan.lab import Settings

ETA_GRID = np.linspace(0.02, 2.0, 40)  # the spectral-radius map's axes
GAMMA_GRID = np.linspace(0.0, 3.0, 30)
FIELD_POINTS = 15  # arrows per axis
VIEW_CAP = 10.0  # the view reaches at most this many start radii (a runaway spiral is cut off)
X_POINTS = 200
CHECK_BATCH = 32  # samples of the batch the gradient checks use
CHECK_LIMIT = 1e3  # a blown-up run is checked at its last state with every |parameter| below this
LOGIT_GRID = np.linspace(-9.0, 9.0, 181)  # D = σ(t): from 1.2e-4 to 1 − 1.2e-4


@dataclass(frozen=True)
class GameView:
    """The bilinear game or the Dirac-GAN: every method's run and the chosen method's linear algebra."""

    game: str
    runs: Mapping[str, GameRun]  # all four methods from the same start (a blown-up run ends early)
    jacobian: np.ndarray  # J of the field at the equilibrium (0, 0)
    jacobian_eigenvalues: np.ndarray  # μ, complex
    update_matrix: np.ndarray  # M of the chosen method (4×4 for optimistic GDA)
    eigenvalues: np.ndarray  # λ of M, complex, largest |λ| first
    spectral_radius: float  # ρ = max |λ|
    radii: Mapping[str, float]  # ρ of every method at this η and γ
    eta_grid: np.ndarray  # (40,)
    gamma_grid: np.ndarray  # (30,)
    radius_map: np.ndarray  # (30, 40): ρ of the chosen method, rows over γ
    current_point: tuple[float, float, float]  # (η, γ, ρ) of these settings, to mark on the map
    field_points: np.ndarray  # (N, 2) where the arrows start
    field_vectors: np.ndarray  # (N, 2) the field v there
    view_radius: float  # the plotted square is [−r, r]²
    invariant: np.ndarray | None  # x² + y² − ηxy along the alternating run (bilinear game, γ = 0)

    def trajectory(self, method: str) -> np.ndarray:
        return self.runs[method].trajectory

    def distance(self, method: str) -> np.ndarray:
        """‖z_t‖, the distance to the equilibrium per step."""
        return self.runs[method].distance


@dataclass(frozen=True)
class GanView:
    """The 1-D GAN's run; densities and D(x) per snapshot are in Result.snapshots."""

    run: GanRun  # histories a, b, w₂, w₁, c, loss_d, loss_g, d_fake
    match: Match  # the "learned" criterion over the last 10% of steps
    swing: Swing
    x_grid: np.ndarray  # (X,)
    real_density: np.ndarray  # (X,) of N(μ, s²)
    d_grid: np.ndarray  # D(G(z)) from 1e-4 to 1 − 1e-4
    gradient_saturating: np.ndarray  # |∂ℓ/∂h| = D per fake sample, saturating loss
    gradient_non_saturating: np.ndarray  # |∂ℓ/∂h| = 1 − D, non-saturating loss
    batch_d: np.ndarray  # D(G(z)) of a batch at the last state
    checked_params: Mapping[str, float]  # where the gradient checks ran (see checked_state)
    checked_step: int  # the step of checked_params: the last, or for a blown-up run maybe an earlier one


# ----------------------------------------------------------------------------- the plane games

def _jacobian_of_gamma(game: str):
    coupling = 1.0 if game == "bilinear" else 0.5  # f′(0) = 1/2 on the Dirac-GAN
    return lambda gammas: regularized_bilinear_jacobian(coupling, gammas)


def _field(game: str, gamma: float):
    if game == "bilinear":
        return lambda x, y: bilinear_field(x, y, gamma)
    return lambda x, y: dirac_gan_field(x, y, gamma)


def _view_radius(runs: Mapping[str, GameRun], start: tuple[float, float]) -> float:
    reach = max(float(np.max(np.abs(r.trajectory))) for r in runs.values())
    start_size = max(abs(start[0]), abs(start[1]), 1e-3)
    return 1.15 * max(min(reach, VIEW_CAP * start_size), start_size)


def game_view(s: Settings) -> GameView:
    start = (s.start_x, s.start_y)
    play = game_run if s.game == "bilinear" else dirac_gan_run
    runs = {method: play(method, s.lr, s.steps, start, s.gamma) for method in METHODS}
    J = bilinear_jacobian(s.gamma) if s.game == "bilinear" else dirac_gan_jacobian(s.gamma)
    radii = {method: spectral_radius(J, method, s.lr) for method in METHODS}
    radius = max(_view_radius(runs, start), 1e-9)
    axis = np.linspace(-radius, radius, FIELD_POINTS)
    gx, gy = (g.reshape(-1) for g in np.meshgrid(axis, axis))
    u, v = _field(s.game, s.gamma)(gx, gy)
    invariant = None
    if s.game == "bilinear" and s.gamma == 0.0:
        z = runs["alternating"].trajectory
        invariant = alternating_invariant(z[:, 0], z[:, 1], s.lr)
    return GameView(s.game, runs, J, jacobian_eigenvalues(J), update_matrix(J, s.method, s.lr),
                    update_eigenvalues(J, s.method, s.lr), radii[s.method], radii, ETA_GRID, GAMMA_GRID,
                    spectral_radius_map(_jacobian_of_gamma(s.game), s.method, ETA_GRID, GAMMA_GRID),
                    (s.lr, s.gamma, radii[s.method]),
                    np.column_stack([gx, gy]), np.column_stack([u, v]), radius, invariant)


def game_snapshots(view: GameView) -> Snapshots:
    """Every method's position at ≤ 41 steps; a run that stopped stays at its last finite point."""
    longest = max(r.trajectory.shape[0] for r in view.runs.values()) - 1
    steps = evenly_spaced(longest)
    return Snapshots(steps, "step", {method: r.trajectory[np.minimum(steps, r.trajectory.shape[0] - 1)]
                                     for method, r in view.runs.items()})


# ----------------------------------------------------------------------------- the 1-D GAN

def x_grid(run: GanRun) -> np.ndarray:
    """An x axis holding the data's ±4s and the generator's ±4|a| at every snapshot, at most
    10 beyond the wider of the data's range and [−4, 4]."""
    snap = run.snapshots.states
    mu, s = run.data_mean, run.data_std
    lo = min(mu - 4 * s, float(np.min(snap["b"] - 4 * np.abs(snap["a"]))))
    hi = max(mu + 4 * s, float(np.max(snap["b"] + 4 * np.abs(snap["a"]))))
    lo = max(lo, min(mu - 4 * s, -4.0) - 10.0)
    hi = min(hi, max(mu + 4 * s, 4.0) + 10.0)
    return np.linspace(lo, hi, X_POINTS)


def normal_density(x, mean, std):
    """N(x; mean, std²) = exp(−(x − mean)²/(2 std²)) / (std √(2π))."""
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))


def gan_snapshots(run: GanRun, grid: np.ndarray) -> Snapshots:
    """a, b, w₂, w₁, c, the generated density N(b, a²) and D(x) on ``grid`` at every snapshot. A
    generator with |a| below the grid step is drawn one grid step wide (its density stays finite)."""
    snap = run.snapshots.states
    a, b = snap["a"][:, None], snap["b"][:, None]
    width = np.maximum(np.abs(a), grid[1] - grid[0])
    states = dict(snap)
    states["generated_density"] = normal_density(grid[None, :], b, width)
    states["discriminator"] = sigmoid(logit(grid[None, :], snap["w2"][:, None], snap["w1"][:, None],
                                            snap["c"][:, None]))
    return Snapshots(run.snapshots.steps, run.snapshots.unit, states)


def _history(run: GanRun) -> np.ndarray:
    return np.column_stack([run.a, run.b, run.w2, run.w1, run.c])


def checked_step(run: GanRun) -> int:
    """The step the gradient checks run at: the last, or for a run that blew up the last with every
    |parameter| ≤ CHECK_LIMIT (the states just before a blow-up have logits of 10⁸, where no finite
    difference resolves anything; the start, |a| = 1 and the rest 0, always qualifies)."""
    history = _history(run)
    if not run.diverged:
        return history.shape[0] - 1
    sane = np.flatnonzero(np.max(np.abs(history), axis=1) <= CHECK_LIMIT)
    return int(sane[-1]) if sane.size else 0


def checked_state(run: GanRun) -> dict[str, float]:
    """a, b, w₂, w₁, c at :func:`checked_step`, where the gradient checks run."""
    return dict(zip(("a", "b", "w2", "w1", "c"), (float(v) for v in _history(run)[checked_step(run)])))


def _check_batch(s: Settings) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([s.seed, 12])
    return s.data_mean + s.data_std * rng.standard_normal(CHECK_BATCH), rng.standard_normal(CHECK_BATCH)


def gan_view(s: Settings, progress=None) -> tuple[GanView, Snapshots, tuple[GradientCheck, ...]]:
    run = train_gan_1d(s.data_mean, s.data_std, steps=s.gan_steps, batch_size=s.batch_size, lr_d=s.gan_lr,
                       lr_g=s.gan_lr, optimizer=s.optimizer, d_steps=s.d_steps, order=s.order, loss=s.loss,
                       gamma=s.gamma, seed=s.seed, progress=progress)
    grid = x_grid(run)
    params = checked_state(run)
    x_real, z = _check_batch(s)
    # the gradient chart's ticks: this batch's fakes at the last state the charts show (for a blown-up run
    # that can be later than the checked one)
    last = dict(zip(("a", "b", "w2", "w1", "c"), (float(v) for v in _history(run)[-1])))
    batch_d = sigmoid(logit(last["a"] * z + last["b"], last["w2"], last["w1"], last["c"]))
    d_grid = sigmoid(LOGIT_GRID)
    view = GanView(run, match(run), swing(run), grid, normal_density(grid, s.data_mean, s.data_std), d_grid,
                   d_grid, 1 - d_grid, batch_d, params, checked_step(run))
    return view, gan_snapshots(run, grid), gan_1d_checks(params, x_real, z, s.gamma)
