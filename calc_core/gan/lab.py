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
from typing import Callable

from calc_core.common.gradcheck import GradientCheck
from calc_core.common.messages import Message
from calc_core.common.presets import Preset
from calc_core.common.snapshots import Snapshots
from calc_core.common.validate import choice, real, seed as check_seed, whole
from calc_core.gan.checks import game_checks
from calc_core.gan.diagnosis import diagnose
from calc_core.gan.gan_1d import LOSSES
from calc_core.gan.linear import METHODS
from calc_core.gan.training import OPTIMIZERS, ORDERS
from calc_core.gan.views import GameView, GanView, game_snapshots, game_view, gan_view

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
class Result:
    """Everything the page draws for one Settings: the view of its game, snapshots, checks, verdicts."""

    settings: Settings  # as checked: plain ints, floats and strs
    game: GameView | None  # "bilinear" and "dirac"
    gan: GanView | None  # "gan_1d"
    snapshots: Snapshots  # plane games: each method's (x, y); 1-D GAN: a, b, w₂, w₁, c, densities, D(x)
    gradient_checks: tuple[GradientCheck, ...]  # the field against the game's value / both losses' gradients
    diagnosis: tuple[Message, ...] = ()


# ----------------------------------------------------------------------------- the page's entry

def run(settings: Settings, progress: Callable[[float], None] | None = None) -> Result:
    """Everything the GAN page draws for ``settings``, with its diagnosis. ``progress`` is told the
    fraction of the 1-D GAN's training done (a long run: 5,000 steps of 1,024 samples and 10
    discriminator steps take seconds)."""
    s = check_settings(settings)
    if s.game == "gan_1d":
        view, snapshots, checks = gan_view(s, progress)
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
           "the bilinear game: the generator's mean and spread keep swinging back and forth across the data's "
           "instead of settling.",
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
