r"""What the GAN page draws, as one pure function of scalar settings: ``run(Settings()) -> Result``.

Three games (calc_core.gan):

* ``"bilinear"`` — min_x max_y x·y (with the penalty (γ/2)·y² on the second player when γ > 0);
* ``"dirac"`` — the Dirac-GAN, (θ, ψ) = (generator's point mass, discriminator's slope), R1 = γ;
* ``"gan_1d"`` — a 1-D GAN learning N(μ, s²) with G(z) = a z + b and D(x) = σ(w₂x² + w₁x + c).

For the two games in the plane every method runs from the same start (the page overlays them), and
the chosen method's linearized step M at the equilibrium gives the eigenvalues drawn in the complex
plane, its spectral radius ρ = max |λ|, and ρ over an (η, γ) grid. For the 1-D GAN the run's
histories, the densities and D(x) at every snapshot, and the generator's gradient against D(G(z)).
Both carry the gradient checks and the diagnosis (calc_core.gan.diagnosis).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Mapping

import numpy as np

from calc_core.common.gradcheck import GradientCheck
from calc_core.common.messages import Message
from calc_core.common.presets import Preset
from calc_core.common.snapshots import Snapshots, evenly_spaced
from calc_core.common.validate import choice, real, seed as check_seed, whole
from calc_core.gan.bilinear import alternating_invariant, bilinear_field, bilinear_jacobian, game_run
from calc_core.gan.checks import game_checks, gan_1d_checks
from calc_core.gan.dirac import dirac_gan_field, dirac_gan_jacobian, dirac_gan_run
from calc_core.gan.gan_1d import LOSSES, logit, sigmoid
from calc_core.gan.linear import (METHODS, jacobian_eigenvalues, regularized_bilinear_jacobian, spectral_radius,
                                  spectral_radius_map, update_eigenvalues, update_matrix)
from calc_core.gan.play import GameRun
from calc_core.gan.training import OPTIMIZERS, ORDERS, GanRun, Match, Swing, match, swing, train_gan_1d

GAMES = ("bilinear", "dirac", "gan_1d")
LR_RANGE = (0.001, 2.0)  # η of the games in the plane
GAN_LR_RANGE = (1e-4, 1.0)
STEPS_RANGE = (1, 2000)
GAN_STEPS_RANGE = (1, 5000)
START_LIMIT = 1e6
GAMMA_RANGE = (0.0, 5.0)
D_STEPS_RANGE = (1, 20)
BATCH_RANGE = (1, 1024)
DATA_MEAN_RANGE = (-10.0, 10.0)
DATA_STD_RANGE = (0.1, 5.0)
ETA_GRID = np.linspace(0.02, 2.0, 40)  # the spectral-radius map's axes
GAMMA_GRID = np.linspace(0.0, 3.0, 30)
FIELD_POINTS = 15  # arrows per axis
VIEW_CAP = 10.0  # the view reaches at most this many start radii (a runaway spiral is cut off)
X_POINTS = 200
CHECK_BATCH = 32  # samples of the batch the gradient checks use
LOGIT_GRID = np.linspace(-9.0, 9.0, 181)  # D = σ(t): from 1.2e-4 to 1 − 1.2e-4


@dataclass(frozen=True)
class Settings:
    """One field per control of the GAN page, in the page's units."""

    game: str = "bilinear"  # "bilinear", "dirac" or "gan_1d"
    method: str = "simultaneous"  # the plane games: the method whose eigenvalues and verdict are shown
    lr: float = 0.2  # η of the plane games
    steps: int = 100  # steps of the plane games
    start_x: float = 1.0  # x₀ (θ₀ on the Dirac-GAN)
    start_y: float = 1.0  # y₀ (ψ₀)
    gamma: float = 0.0  # γ: R1 on the Dirac-GAN and the 1-D GAN, (γ/2)y² on the bilinear game
    loss: str = "non_saturating"  # the 1-D GAN's generator loss: "non_saturating" or "saturating"
    optimizer: str = "adam"  # "adam" (β₁ = 0.5) or "sgd" (plain gradient steps)
    order: str = "simultaneous"  # 1-D GAN: "simultaneous" or "alternating" updates
    d_steps: int = 1  # discriminator steps per generator step
    gan_lr: float = 0.03  # η of both players of the 1-D GAN
    gan_steps: int = 800
    batch_size: int = 128
    data_mean: float = 4.0  # μ of the data N(μ, s²)
    data_std: float = 2.0  # s
    seed: int = 0


def check_settings(settings: Settings) -> Settings:
    """The settings with every value checked (ValueError with a sentence otherwise), as plain types."""
    if not isinstance(settings, Settings):
        raise ValueError(f"run needs a calc_core.gan.lab.Settings, got {type(settings).__name__}")
    s = settings
    return Settings(
        game=choice("game", s.game, GAMES), method=choice("method", s.method, METHODS),
        lr=real("η (lr)", s.lr, *LR_RANGE), steps=whole("steps", s.steps, *STEPS_RANGE),
        start_x=real("start_x", s.start_x, -START_LIMIT, START_LIMIT),
        start_y=real("start_y", s.start_y, -START_LIMIT, START_LIMIT),
        gamma=real("γ (gamma)", s.gamma, *GAMMA_RANGE), loss=choice("loss", s.loss, LOSSES),
        optimizer=choice("optimizer", s.optimizer, OPTIMIZERS), order=choice("order", s.order, ORDERS),
        d_steps=whole("d_steps", s.d_steps, *D_STEPS_RANGE), gan_lr=real("η (gan_lr)", s.gan_lr, *GAN_LR_RANGE),
        gan_steps=whole("gan_steps", s.gan_steps, *GAN_STEPS_RANGE),
        batch_size=whole("batch_size", s.batch_size, *BATCH_RANGE),
        data_mean=real("data_mean", s.data_mean, *DATA_MEAN_RANGE),
        data_std=real("data_std", s.data_std, *DATA_STD_RANGE), seed=check_seed(s.seed))


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
    checked_params: Mapping[str, float]  # the parameters the gradient checks ran at


@dataclass(frozen=True)
class Result:
    settings: Settings
    game: GameView | None  # "bilinear" and "dirac"
    gan: GanView | None  # "gan_1d"
    snapshots: Snapshots
    gradient_checks: tuple[GradientCheck, ...]
    diagnosis: tuple[Message, ...] = ()


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


def _check_batch(s: Settings) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([s.seed, 12])
    return s.data_mean + s.data_std * rng.standard_normal(CHECK_BATCH), rng.standard_normal(CHECK_BATCH)


def gan_view(s: Settings) -> tuple[GanView, Snapshots, tuple[GradientCheck, ...]]:
    run = train_gan_1d(s.data_mean, s.data_std, steps=s.gan_steps, batch_size=s.batch_size, lr_d=s.gan_lr,
                       lr_g=s.gan_lr, optimizer=s.optimizer, d_steps=s.d_steps, order=s.order, loss=s.loss,
                       gamma=s.gamma, seed=s.seed)
    grid = x_grid(run)
    params = {name: float(getattr(run, name)[-1]) for name in ("a", "b", "w2", "w1", "c")}
    x_real, z = _check_batch(s)
    batch_d = sigmoid(logit(params["a"] * z + params["b"], params["w2"], params["w1"], params["c"]))
    d_grid = sigmoid(LOGIT_GRID)
    view = GanView(run, match(run), swing(run), grid, normal_density(grid, s.data_mean, s.data_std), d_grid,
                   d_grid, 1 - d_grid, batch_d, params)
    return view, gan_snapshots(run, grid), gan_1d_checks(params, x_real, z, s.gamma)


# ----------------------------------------------------------------------------- the page's entry

def run(settings: Settings) -> Result:
    """Everything the GAN page draws for ``settings``, with its diagnosis."""
    from calc_core.gan.diagnosis import diagnose

    s = check_settings(settings)
    if s.game == "gan_1d":
        view, snapshots, checks = gan_view(s)
        result = Result(s, None, view, snapshots, checks)
    else:
        view = game_view(s)
        result = Result(s, view, None, game_snapshots(view), game_checks(s.game, (s.start_x, s.start_y), s.gamma))
    return replace(result, diagnosis=diagnose(result))


PRESETS: tuple[Preset, ...] = (
    Preset("simultaneous-spirals-out", "Simultaneous steps spiral out",
           "On x·y every simultaneous step multiplies the distance to the saddle by exactly √(1 + η²): "
           "the eigenvalues 1 ± iη sit outside the unit circle, so the iterates spiral away.",
           {"game": "bilinear", "method": "simultaneous", "lr": 0.2, "steps": 100, "gamma": 0.0},
           expect=("spirals_out",), avoid=("converges", "orbits")),
    Preset("alternating-orbits", "Alternating steps orbit",
           "Letting y see the new x makes the step's determinant exactly 1: the eigenvalues lie on the unit "
           "circle, x² + y² − ηxy is conserved, and the iterates circle forever without converging.",
           {"game": "bilinear", "method": "alternating", "lr": 0.2, "steps": 200, "gamma": 0.0},
           expect=("orbits",), avoid=("converges", "spirals_out")),
    Preset("extragradient-converges", "Extragradient converges",
           "A look-ahead step and then the step with the look-ahead's gradient: the eigenvalues have modulus "
           "√(1 − η² + η⁴) < 1, so the iterates spiral in to the saddle.",
           {"game": "bilinear", "method": "extragradient", "lr": 0.3, "steps": 200, "gamma": 0.0},
           expect=("converges",), avoid=("spirals_out", "orbits")),
    Preset("optimistic-step-too-large", "Optimistic steps need η < 1/√3",
           "Optimistic GDA converges on x·y only for η < 1/√3 ≈ 0.577: at η = 0.6 its spectral radius is "
           "1.057 and it spirals out; move η to 0.5 and ρ drops to 0.707.",
           {"game": "bilinear", "method": "optimistic", "lr": 0.6, "steps": 100, "gamma": 0.0},
           expect=("spirals_out",), avoid=("converges",)),
    Preset("dirac-gan-circles", "The Dirac-GAN circles",
           "Without a penalty the Jacobian at the equilibrium has eigenvalues ±i/2: generator and "
           "discriminator chase each other around (0, 0), and alternating steps circle it forever.",
           {"game": "dirac", "method": "alternating", "lr": 0.2, "steps": 300, "gamma": 0.0},
           expect=("orbits",), avoid=("converges",)),
    Preset("dirac-gan-r1-converges", "R1 makes the Dirac-GAN converge",
           "The R1 penalty (γ/2)ψ² moves the eigenvalues to −γ/2 ± √(γ²/4 − 1/4): with γ = 1 both are −1/2, "
           "real and negative, and the iterates head into the equilibrium without circling.",
           {"game": "dirac", "method": "alternating", "lr": 0.2, "steps": 300, "gamma": 1.0},
           expect=("converges",), avoid=("orbits", "spirals_out")),
    Preset("non-saturating-learns", "The 1-D GAN learns the Gaussian",
           "With the non-saturating loss and Adam (β₁ = 0.5) the generator N(b, a²) moves from N(0, 1) onto "
           "the data N(4, 2²), and D(x) flattens towards 1/2 as it can no longer tell them apart.",
           {"game": "gan_1d"}, expect=("learned",), avoid=("diverged", "stalled_generator")),
    Preset("saturating-stalls", "Saturating loss stalls when D wins",
           "Data far from the generator and five discriminator steps per generator step: D rejects the fakes "
           "with confidence, and the saturating loss's gradient, proportional to D(G(z)), all but vanishes — "
           "the generator stops moving. Switch to the non-saturating loss and it moves again.",
           {"game": "gan_1d", "loss": "saturating", "optimizer": "sgd", "data_mean": 8.0, "data_std": 0.5,
            "d_steps": 5, "gan_steps": 400},
           expect=("stalled_generator",), avoid=("learned",)),
    Preset("plain-steps-oscillate", "Plain gradient steps oscillate",
           "Without Adam's per-parameter scaling the two players keep rotating around the solution, as on "
           "the bilinear game: the generator's mean and spread swing around the data's instead of settling.",
           {"game": "gan_1d", "optimizer": "sgd", "gan_lr": 0.1, "gan_steps": 2000},
           expect=("oscillates",), avoid=("learned",)),
)


def preset(name: str) -> Preset:
    for candidate in PRESETS:
        if candidate.name == name:
            return candidate
    raise ValueError(f"unknown preset {name!r}; choose one of {[p.name for p in PRESETS]}")


def preset_diagnosis(preset: Preset, seed: int) -> tuple[Message, ...]:
    """The diagnosis of ``preset`` run with ``seed``: its ``expect`` codes must be in it for every seed."""
    return run(preset.apply(Settings(), seed=seed)).diagnosis


SETTING_NAMES = tuple(f.name for f in fields(Settings))
