r"""The Diffusion page as data: ``run(Settings) -> Result`` and the presets.

One run builds the mixture of the settings and computes everything the page draws:

* the density p and the smoothed p_σ on a grid, with their scores (and the learned one) as arrows;
* Langevin sampling from a broad start N(0, σ_max² I): plain (one level, step ε) or annealed
  (Song & Ermon 2019: L geometric levels σ_max … σ_min, n_steps/L steps each, α_i = ε σ_i²/σ_min²),
  unadjusted or Metropolis-adjusted — snapshots, histogram of x₁ against the exact marginal, mode
  weights against the mixture's, and the energy distance to exact draws;
* the variance of unadjusted Langevin against ε on N(0, s²), s the narrowest mode's width, with
  the exact curve s² / (1 − ε/(2s²)) (and MALA's, flat at s²);
* the variance-preserving noising of exact draws and the way back with the exact score of p_t, by
  the reverse SDE and the probability-flow ODE from the same noise;
* denoising score matching at σ: the loss curve, the learned score beside the true one, and
  Tweedie's denoised points from noisy ones (:func:`fit_score_model`, cacheable on its own);
* gradient checks (the closed-form scores against finite differences of log p; the DSM loss's
  hand-derived gradient against finite differences of the loss), and the diagnosis.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from calc_core.common import validate
from calc_core.common.blas_threads import single_blas_thread
from calc_core.common.gradcheck import GradientCheck
from calc_core.common.messages import Message
from calc_core.common.presets import Preset
from calc_core.common.snapshots import Snapshots
from calc_core.diffusion import checks
from calc_core.diffusion.diagnosis import FIT_TOLERANCE, diagnose
from calc_core.diffusion.dsm import MODEL_KINDS, ScoreFit, error_along_training, fit_dsm
from calc_core.diffusion.langevin import (
    LangevinRun,
    VarianceBias,
    annealed_langevin_sample,
    geometric_noise_levels,
    langevin_sample,
    variance_bias_curve,
)
from calc_core.diffusion.mixture import GaussianMixture, mixture_layout
from calc_core.diffusion.quality import ExactReference, ModeWeights, SampleDistance, mode_weights
from calc_core.diffusion.views import (
    DensityField,
    Histogram,
    ReversePaths,
    Tweedie,
    density_field,
    histogram,
    reverse_paths,
    tweedie,
    view_box,
)

#: (minimum, maximum) of every numeric control, in the page's units; the page's sliders use them.
LIMITS = {
    "dimension": (1, 2),
    "n_modes": (1, 8),
    "separation": (0.5, 12.0),
    "first_weight": (0.05, 0.95),
    "first_width": (0.05, 3.0),
    "width": (0.05, 3.0),
    "smoothing_sigma": (0.05, 5.0),
    "step_size": (1e-4, 5.0),
    "n_steps": (1, 2000),
    "n_particles": (50, 4000),
    "n_levels": (2, 30),
    "sigma_max": (0.1, 30.0),
    "sigma_min": (0.01, 5.0),
    "model_width": (2, 64),
    "training_steps": (0, 3000),
}
# The values the page offers where a slider's even steps would not do (log-spaced, or every σ_max above every σ_min)
OPTIONS = {
    "step_size": (1e-4, 2e-4, 5e-4, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0,
                  2.0, 5.0),
    "n_particles": (50, 100, 200, 500, 1000, 2000, 4000),
    "sigma_max": (1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0, 25.0, 30.0),
    "sigma_min": (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0),
}
DISTANCE_POINTS = 250  # samples per energy distance
TRAINING_STEP = 50  # the training steps the page offers are multiples of this
DSM_SAMPLES = 4000  # clean samples the score model learns from (features: the cost is in φᵀφ, once)
NETWORK_SAMPLES = 1000  # … of which the network uses these (each Adam step costs n × hidden units)
HELDOUT_SAMPLES = 1000  # fresh points of p_σ on which the learned score is compared with the true one
VARIANCE_CURVE_FRACTIONS = np.linspace(0.04, 0.9, 10)  # ε / (2s²)
VARIANCE_CURVE_PARTICLES = 300
VARIANCE_CURVE_STEPS = 60
#: At most this many bumps per axis for the features model in 2-D: there it has width² bumps, and
#: the fit's cost grows with their cube (24² = 576 bumps: 0.1 s; 64² = 4096: over 20 s, and more
#: bumps than the 4000 training points).
MAX_BUMPS_2D = 24


def model_width_range(dimension: int, model: str) -> tuple[int, int]:
    """(fewest, most) bumps per axis or hidden units the score model may have in this dimension."""
    low, high = LIMITS["model_width"]
    return (low, min(high, MAX_BUMPS_2D)) if model == "features" and dimension == 2 else (low, high)


@dataclass(frozen=True)
class Settings:
    """One field per control of the Diffusion page, in the page's units (see LIMITS)."""

    dimension: int = 2  # 1 or 2
    n_modes: int = 2
    separation: float = 4.0  # distance between neighbouring means
    first_weight: float = 0.8  # weight of the first mode; the others share 1 − w equally
    first_width: float = 0.5  # σ₁, the first mode's standard deviation
    width: float = 0.5  # σ_k of every other mode
    smoothing_sigma: float = 0.5  # σ of p_σ = p * N(0, σ² I): the smoothed field, DSM, Tweedie
    step_size: float = 0.01  # ε (with annealing, the step at the last level σ_min)
    n_steps: int = 400  # sampling steps in all (split evenly over the levels when annealing)
    n_particles: int = 1000
    annealing: bool = True
    n_levels: int = 10  # L
    sigma_max: float = 8.0  # σ₁ of annealing, and the spread of the starting particles N(0, σ_max² I)
    sigma_min: float = 0.2  # σ_L
    mala: bool = False  # Metropolis-adjusted Langevin
    model: str = "features"  # the score model: "features" (bumps), "linear" ([1, x]) or "network"
    model_width: int = 8  # bumps per axis, or hidden units
    training_steps: int = 300
    seed: int = 0


def check_settings(settings: Settings) -> Settings:
    """The settings with every field validated (ValueError with a sentence otherwise)."""
    values = {}
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if f.name in ("annealing", "mala"):
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{f.name} must be on or off (True/False), got {value!r}")
            values[f.name] = bool(value)
        elif f.name == "model":
            values[f.name] = validate.choice("score model", value, MODEL_KINDS)
        elif f.name == "seed":
            values[f.name] = validate.seed(value)
        elif f.type in (int, "int"):
            values[f.name] = validate.whole(f.name, value, *LIMITS[f.name])
        else:
            values[f.name] = validate.real(f.name, value, *LIMITS[f.name], positive=True)
    if values["annealing"] and not values["sigma_max"] > values["sigma_min"]:
        raise ValueError(f"σ_max must be larger than σ_min, got σ_max = {values['sigma_max']:g} "
                         f"and σ_min = {values['sigma_min']:g}")
    widest = model_width_range(values["dimension"], values["model"])[1]
    if values["model_width"] > widest:
        raise ValueError(f"the features model takes at most {widest} bumps per axis in 2-D ({widest}² = "
                         f"{widest**2} bumps), got {values['model_width']}")
    if values["annealing"] and values["n_steps"] < values["n_levels"]:
        raise ValueError(f"annealing needs at least one step per level: {values['n_steps']} steps for "
                         f"{values['n_levels']} levels")
    return Settings(**values)


def build_mixture(settings: Settings) -> GaussianMixture:
    """The mixture of the settings: K modes ``separation`` apart, the first with weight w and width σ₁."""
    k = settings.n_modes
    weights = np.full(k, (1.0 - settings.first_weight) / max(k - 1, 1))
    weights[0] = settings.first_weight if k > 1 else 1.0
    sigmas = np.full(k, settings.width)
    sigmas[0] = settings.first_width
    return GaussianMixture(weights, mixture_layout(settings.dimension, k, settings.separation), sigmas)


def _stream(seed: int, k: int) -> int:
    """An independent seed for the k-th random stream of a run."""
    return int(np.random.default_rng([seed, k]).integers(2**32))


# ----------------------------------------------------------------------------- what the page draws

@dataclass(frozen=True)
class Result:
    settings: Settings
    mixture: GaussianMixture
    noised: GaussianMixture  # p_σ
    field: DensityField
    noise_levels: np.ndarray  # (L,) σ₁ … σ_L; empty without annealing
    sampler: LangevinRun  # .x, .snapshots, .exploded_at, .acceptance_rate
    sampled: GaussianMixture  # the density the last sampling step targets (p, or p_{σ_L})
    histogram: Histogram
    mode_weights: ModeWeights
    sample_distance: SampleDistance
    variance_bias: VarianceBias
    paths: ReversePaths
    score_fit: ScoreFit
    learned_score: np.ndarray  # (A, d) s_θ at field.arrow_points
    tweedie: Tweedie
    gradient_checks: tuple[GradientCheck, ...]
    diagnosis: tuple[Message, ...] = ()

    @property
    def snapshots(self) -> Snapshots:
        """The sampler's particles over sampling steps: what the page's step slider scrubs."""
        return self.sampler.snapshots

    def view_range(self, axis: int = 0) -> tuple[float, float]:
        """The low and high end of the charts' view along ``axis`` (the density field's grid)."""
        return float(self.field.axes[axis][0]), float(self.field.axes[axis][-1])


def sample(settings: Settings, mixture: GaussianMixture):
    """(LangevinRun, noise levels, the density sampled at the end) from N(0, σ_max² I)."""
    rng = np.random.default_rng([settings.seed, 1])
    x0 = settings.sigma_max * rng.standard_normal((settings.n_particles, settings.dimension))
    seed = _stream(settings.seed, 2)
    if not settings.annealing:
        log_density = mixture.log_density if settings.mala else None
        return langevin_sample(mixture.score, x0, settings.step_size, settings.n_steps, seed, log_density), \
            np.zeros(0), mixture
    sigmas = geometric_noise_levels(settings.sigma_max, settings.sigma_min, settings.n_levels)
    levels = {float(s): mixture.noised(float(s)) for s in sigmas}
    log_density = (lambda x, s: levels[float(s)].log_density(x)) if settings.mala else None
    run = annealed_langevin_sample(lambda x, s: levels[float(s)].score(x), x0, sigmas, settings.step_size,
                                   settings.n_steps // settings.n_levels, seed, log_density)
    return run, sigmas, levels[float(sigmas[-1])]


def variance_bias(settings: Settings, sampled: GaussianMixture) -> VarianceBias:
    """The curve on N(0, s²) with s the narrowest width of the density sampled last; the current ε
    is one of its points when it is below 2s²."""
    s = float(np.min(sampled.sigmas))
    steps = list(VARIANCE_CURVE_FRACTIONS * 2 * s * s)
    if settings.step_size < 2 * s * s:
        steps.append(settings.step_size)
    return variance_bias_curve(s, np.unique(steps), VARIANCE_CURVE_PARTICLES, VARIANCE_CURVE_STEPS,
                               _stream(settings.seed, 3))


SCORE_MODEL_FIELDS = ("dimension", "n_modes", "separation", "first_weight", "first_width", "width",
                      "smoothing_sigma", "model", "model_width", "training_steps", "seed")


def score_model_settings(settings: Settings) -> Settings:
    """The settings with every field :func:`fit_score_model` does not read at its default: the key
    to cache the fit on, so that moving a sampler control never refits the model."""
    return replace(Settings(), **{name: getattr(settings, name) for name in SCORE_MODEL_FIELDS})


def fit_score_model(settings: Settings) -> ScoreFit:
    """DSM at σ = smoothing_sigma on exact draws of the settings' mixture. It reads only
    SCORE_MODEL_FIELDS; the page may cache ``fit_score_model(score_model_settings(s))`` and pass the
    fit to ``run(s, score_fit=…)``."""
    settings = check_settings(settings)
    mixture = build_mixture(settings)
    noised = mixture.noised(settings.smoothing_sigma)
    rng = np.random.default_rng([settings.seed, 8])
    x_clean, _ = mixture.sample(DSM_SAMPLES, rng)
    x_heldout, _ = noised.sample(HELDOUT_SAMPLES, rng)
    if settings.model == "network":
        x_clean = x_clean[:NETWORK_SAMPLES]
    with single_blas_thread():
        fit = fit_dsm(x_clean, settings.smoothing_sigma, settings.model, settings.model_width,
                      settings.training_steps, _stream(settings.seed, 9),
                      view_box(mixture, settings.smoothing_sigma), noised.score, x_heldout)
        if settings.model == "network" or fit.relative_error <= FIT_TOLERANCE:
            return fit
        # off: whether some other number of training steps fits, and how close the model comes at best
        return replace(fit, path=error_along_training(fit, x_clean, _stream(settings.seed, 9), noised.score,
                                                      x_heldout, LIMITS["training_steps"][1], TRAINING_STEP))


@dataclass(frozen=True)
class Scene:
    """Everything a run draws that depends on the data and the score model only (the fields of
    :func:`score_model_settings`): the mixture and its field, exact reference draws, the noising
    paths and the way back, the fitted score model, Tweedie and the gradient checks. A page caches
    it on ``score_model_settings(s)``, so that moving a sampler control reruns the sampling only."""

    key: Settings  # score_model_settings of the settings it was made for
    mixture: GaussianMixture
    noised: GaussianMixture
    box: tuple
    field: DensityField
    reference: ExactReference  # DISTANCE_POINTS exact draws
    paths: ReversePaths
    score_fit: ScoreFit
    learned_score: np.ndarray
    tweedie: Tweedie
    gradient_checks: tuple[GradientCheck, ...]


def scene(settings: Settings, score_fit: ScoreFit | None = None) -> Scene:
    """The data-and-model part of a run (see :class:`Scene`); ``score_fit`` from :func:`fit_score_model`
    of the same settings skips refitting."""
    with single_blas_thread():
        return _scene(check_settings(settings), score_fit)


def _scene(settings: Settings, score_fit: ScoreFit | None) -> Scene:
    mixture = build_mixture(settings)
    noised = mixture.noised(settings.smoothing_sigma)
    box = view_box(mixture, settings.smoothing_sigma)
    field = density_field(mixture, noised, box)
    fit = fit_score_model(settings) if score_fit is None else score_fit
    reference = ExactReference(mixture, DISTANCE_POINTS, _stream(settings.seed, 7))
    paths = reverse_paths(mixture, reference, [_stream(settings.seed, k) for k in (4, 5, 6)])
    return Scene(score_model_settings(settings), mixture, noised, box, field, reference, paths, fit,
                 fit.model(field.arrow_points), tweedie(mixture, settings.smoothing_sigma, fit.model,
                                                        _stream(settings.seed, 10)),
                 tuple(checks.gradient_checks(mixture, noised, fit, settings.seed)))


def run(settings: Settings = Settings(), score_fit: ScoreFit | None = None, scene: Scene | None = None) -> Result:
    """Everything the page draws for these settings, diagnosed. ``score_fit`` (from
    :func:`fit_score_model`) or ``scene`` (from :func:`scene`) made with the same data and model
    settings skip that part of the work. Runs on one BLAS thread: its matrix products are small, and
    OpenBLAS's threads only wait for each other."""
    with single_blas_thread():
        settings = check_settings(settings)
        if scene is not None and scene.key != score_model_settings(settings):
            raise ValueError("the scene passed to run was made for other data or score-model settings")
        return _run(settings, scene or _scene(settings, score_fit))


def _run(settings: Settings, scene: Scene) -> Result:
    mixture = scene.mixture
    sampler, sigmas, sampled = sample(settings, mixture)
    reference = (scene.reference if settings.n_particles >= DISTANCE_POINTS else
                 ExactReference(mixture, settings.n_particles, _stream(settings.seed, 7)))
    result = Result(
        settings, mixture, scene.noised, scene.field, sigmas, sampler, sampled,
        histogram(sampler.x, mixture, scene.box), mode_weights(sampler.x, mixture), reference.distance(sampler.x),
        variance_bias(settings, sampled), scene.paths, scene.score_fit, scene.learned_score, scene.tweedie,
        scene.gradient_checks)
    return replace(result, diagnosis=diagnose(result))


# ----------------------------------------------------------------------------- one sampling step

@dataclass(frozen=True)
class SamplingStep:
    """The particles at one snapshot of the sampler: what the scrubbed part of the page draws."""

    index: int  # of the snapshot
    step: int  # sampling steps taken
    x: np.ndarray  # (n, d) the kept particles (all of them at the last snapshot)
    noise_level: float  # σ_i of the level in force (0 without annealing)
    step_size: float  # ε, or α_i with annealing
    histogram: Histogram  # x₁ against the exact marginal of p
    mode_weights: ModeWeights


def sampling_step(result: Result, index: int) -> SamplingStep:
    """The particles, their histogram and their mode weights at snapshot ``index`` (negative counts
    from the end). It reads the run and never reruns it: the page's step slider calls it."""
    snapshots = result.snapshots
    index = range(len(snapshots))[index]
    at = snapshots.at(index)
    if index == len(snapshots) - 1:  # the end: every particle, and the run's own histogram and weights
        x, counts, weights = result.sampler.x, result.histogram, result.mode_weights
    else:
        x = at["x"]
        counts = histogram(x, result.mixture, view_box(result.mixture, result.settings.smoothing_sigma))
        weights = mode_weights(x, result.mixture)
    return SamplingStep(index, int(snapshots.steps[index]), x, float(at["noise_level"]), float(at["step_size"]),
                        counts, weights)


# ----------------------------------------------------------------------------- presets

PRESETS = (
    Preset("step-too-large", "Step too large: the chain explodes",
           "With ε above 2s² each step throws a particle farther past the mode than it was before; "
           "the run stops at the step where the particles fly off.",
           {"annealing": False, "step_size": 0.6}, expect=("exploded",)),
    Preset("no-annealing", "No annealing misses the small mode",
           "Plain Langevin follows the local slope only: particles stay in the mode nearest to where "
           "they started, so the small mode gets about half of them instead of its 20%.",
           {"annealing": False}, expect=("missed_mode",), avoid=("recovered_modes", "exploded")),
    Preset("annealing", "Annealing recovers it",
           "Starting from a large σ, where p_σ is one broad bump, and lowering σ step by step hands "
           "the particles to the modes in proportion to their weights.",
           {"annealing": True}, expect=("recovered_modes",), avoid=("missed_mode", "exploded")),
    Preset("biased-variance", "Unadjusted Langevin is too wide",
           "Without the Metropolis correction a finite step inflates every mode: on a Gaussian of "
           "width s the variance is s²/(1 − ε/(2s²)), here 1.67 s².",
           {"annealing": False, "separation": 2.0, "first_weight": 0.5, "step_size": 0.2},
           expect=("biased_variance",)),
    Preset("mala", "MALA removes the bias",
           "The same step with a Metropolis accept/reject: proposals that would inflate the variance "
           "are refused often enough that the samples follow p exactly.",
           {"annealing": False, "separation": 2.0, "first_weight": 0.5, "step_size": 0.2, "mala": True},
           expect=("mala_exact",), avoid=("biased_variance", "exploded")),
    Preset("learned-score", "The learned score vs the true one",
           "A small network fitted by denoising score matching: the loss never reaches 0 (the noise "
           "costs a floor), yet the learned score matches the true score of p_σ.",
           {"dimension": 1, "model": "network", "model_width": 32, "training_steps": 400},
           expect=("fitted",), avoid=("model_not_fitted",)),
    Preset("linear-model", "A straight line cannot learn two modes",
           "The model [1, x] can only represent the score of one Gaussian; fitted to two modes it "
           "levels off far above the noise floor.",
           {"model": "linear"}, expect=("model_not_fitted",), avoid=("fitted",)),
)


def preset_diagnosis(preset: Preset, seed: int) -> tuple[Message, ...]:
    """The diagnosis of a preset's run with this seed (its ``expect`` codes must be among them)."""
    return run(preset.apply(Settings(), seed=seed)).diagnosis
