r"""Denoising score matching: learning the score of noised data is a regression.

Noise a clean sample, x̃ = x + σ ξ. The conditional score of the noising kernel is

    ∇_x̃ log N(x̃; x, σ² I) = −(x̃ − x) / σ² = −ξ / σ,

and Vincent (2011) shows that regressing a model s_θ(x̃) on this target,

    ℓ(θ) = σ²/(2n) Σ_i ‖s_θ(x̃_i) + (x̃_i − x_i)/σ²‖²        (λ(σ) = σ², Song & Ermon 2019 eq. 6),

has the same minimizer as regressing on the score of the noised density ∇ log p_σ(x̃), because
E[−(x̃ − x)/σ² | x̃] = ∇ log p_σ(x̃). The two losses differ by a constant, so even the true score
leaves a floor: ℓ at s = ∇ log p_σ is what the noise itself costs. The same identity read the other
way is Tweedie's formula, E[x | x̃] = x̃ + σ² ∇ log p_σ(x̃): the denoised estimate (Efron 2011).

Two small models, each with its gradient derived by hand next to it:

* ``features``: s_θ(x) = φ(x) W with φ(x) = [1, u, exp(−‖x − c_j‖²/(2h²))], u = (x − c)/a the
  standardized input and c_j on a grid (no bumps: the linear model [1, x], exact for a Gaussian).
  ∂ℓ/∂W = σ²/n · φᵀ(φW − y); fitted by Nesterov's accelerated gradient descent with
  η = 1/λ_max(σ² φᵀφ/n), the inverse of the loss's largest curvature (ℓ is quadratic in W).
* ``network``: s_θ(x) = tanh(u W₁ + b₁) W₂ + b₂, backpropagated by hand, fitted with Adam
  (Kingma & Ba 2015) because plain gradient descent on a network needs a step tuned per setting.

References
----------
Vincent, P. (2011). A Connection Between Score Matching and Denoising Autoencoders. Neural
Computation 23(7).
Song, Y. and Ermon, S. (2019). Generative Modeling by Estimating Gradients of the Data
Distribution. NeurIPS.
Efron, B. (2011). Tweedie's Formula and Selection Bias. JASA 106(496).
Kingma, D. P. and Ba, J. (2015). Adam: A Method for Stochastic Optimization. ICLR.
Nesterov, Y. (1983). A method for solving the convex programming problem with convergence rate
O(1/k²). Soviet Math. Dokl. 27; Beck, A. and Teboulle, M. (2009). A Fast Iterative
Shrinkage-Thresholding Algorithm. SIAM J. Imaging Sciences 2(1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from calc_core.common import validate

MODEL_KINDS = ("features", "linear", "network")
NETWORK_PARAMETERS = ("W1", "b1", "W2", "b2")
ADAM_LEARNING_RATE = 0.02
ADAM_BETAS = (0.9, 0.999)


def dsm_pairs(x, sigma: float, rng: np.random.Generator):
    """(x̃, y): x̃ = x + σ ξ and the regression target y = −(x̃ − x)/σ²."""
    x = validate.finite_array("the clean samples x", x, ndim=2)
    sigma = validate.real("the noise level σ", sigma, positive=True)
    x_noisy = x + sigma * rng.standard_normal(x.shape)
    # y = −(x̃ − x) / σ²
    return x_noisy, -(x_noisy - x) / sigma**2


def dsm_loss_of_scores(scores, targets, sigma: float):
    """ℓ = σ²/(2n) Σ_i ‖s_i − y_i‖² for model scores s (n, d) against targets y (n, d)."""
    residual = scores - targets
    # ℓ = σ²/(2n) Σ ‖s − y‖²
    return sigma**2 * np.sum(residual * residual) / (2 * scores.shape[0])


def tweedie_denoise(x_noisy, sigma: float, score: Callable) -> np.ndarray:
    """E[x | x̃] = x̃ + σ² ∇ log p_σ(x̃) (Efron 2011), with ``score`` = ∇ log p_σ (true or learned)."""
    x_noisy = validate.finite_array("the noisy points x̃", x_noisy, ndim=2)
    sigma = validate.real("the noise level σ", sigma, positive=True)
    # E[x | x̃] = x̃ + σ² ∇ log p_σ(x̃)
    return x_noisy + sigma**2 * score(x_noisy)


# ----------------------------------------------------------------------------- features × weights

@dataclass(frozen=True)
class Features:
    """φ(x) = [1, (x − c)/a, exp(−‖x − c_j‖²/(2h²)) for each centre c_j] — shape (N, 1 + d + J)."""

    centre: np.ndarray  # (d,) c
    scale: float  # a
    centres: np.ndarray  # (J, d); J = 0 gives the linear model [1, x]
    bandwidth: float  # h

    @property
    def n_features(self) -> int:
        return 1 + self.centre.size + self.centres.shape[0]

    def __call__(self, x):
        x = np.asarray(x)
        standardized = (x - self.centre) / self.scale
        columns = [np.ones((x.shape[0], 1)), standardized]
        if self.centres.shape[0]:
            squared = np.zeros((x.shape[0], self.centres.shape[0]))
            for j in range(x.shape[1]):
                diff = x[:, j, None] - self.centres[None, :, j]
                squared += diff * diff
            # φ_j(x) = exp(−‖x − c_j‖² / (2h²))
            columns.append(np.exp(-squared / (2 * self.bandwidth**2)))
        return np.concatenate(columns, axis=1)


def make_features(kind: str, width: int, low, high) -> Features:
    """The linear model (kind "linear") or ``width`` bumps per axis on a grid over [low, high]
    (kind "features"), bandwidth h = the grid spacing; c, a centre and scale the box."""
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    centre, scale = (low + high) / 2, float(np.max(high - low)) / 2
    if kind == "linear":
        return Features(centre, scale, np.zeros((0, low.size)), 1.0)
    width = validate.whole("the number of bumps per axis", width, 2, 64)
    axes = [np.linspace(lo, hi, width) for lo, hi in zip(low, high)]
    centres = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, low.size)
    return Features(centre, scale, centres, float(np.max(high - low)) / (width - 1))


def features_loss(W, Phi, targets, sigma: float):
    """ℓ(W) = σ²/(2n) ‖φW − y‖²_F (dtype-generic: np.longdouble W gives an extended-precision ℓ)."""
    return dsm_loss_of_scores(Phi @ W, targets, sigma)


def features_loss_gradient(W, Phi, targets, sigma: float) -> np.ndarray:
    """∂ℓ/∂W = σ²/n · φᵀ(φW − y), shape (F, d)."""
    # ∂ℓ/∂W = σ²/n φᵀ (φW − y)
    return sigma**2 * Phi.T @ (Phi @ W - targets) / Phi.shape[0]


def fit_features(Phi, targets, sigma: float, n_steps: int, watch: Callable | None = None):
    """Nesterov's accelerated gradient descent on ℓ(W) from W = 0, with η = 1/λ_max(H), H = σ² φᵀφ/n
    the Hessian of ℓ (Nesterov 1983; the momentum (k − 1)/(k + 2) of Beck & Teboulle 2009). Bumps
    that overlap make H badly conditioned; the look-ahead reaches a good fit in hundreds of steps
    where plain descent needs thousands. ℓ is quadratic, so the loop works with the F × F Gram matrix
    G = φᵀφ and b = φᵀy once they are formed: the same gradient σ²/n φᵀ(φW − y) = σ²/n (GW − b),
    at a cost independent of n. Returns (W, loss history of length n_steps + 1); ``watch(k, W)``, if
    given, sees W after every step k."""
    n = Phi.shape[0]
    gram, b, yy = Phi.T @ Phi, Phi.T @ targets, float(np.sum(targets * targets))
    # η = 1 / λ_max(σ² φᵀφ / n): ℓ is quadratic, so η < 2/λ_max descends
    learning_rate = n / (sigma**2 * float(np.linalg.eigvalsh(gram)[-1]))

    def loss(W):
        # ℓ = σ²/(2n) ‖φW − y‖² = σ²/(2n) (tr WᵀGW − 2 tr Wᵀb + ‖y‖²)
        return sigma**2 * (np.sum(W * (gram @ W)) - 2 * np.sum(W * b) + yy) / (2 * n)

    W = previous = np.zeros((Phi.shape[1], targets.shape[1]))
    history = np.empty(n_steps + 1)
    history[0] = loss(W)
    for k in range(1, n_steps + 1):
        # V = W_k + (k − 2)/(k + 1) (W_k − W_{k−1}): the look-ahead point
        V = W + (k - 2) / (k + 1) * (W - previous) if k > 1 else W
        previous = W
        # W_{k+1} = V − η ∂ℓ/∂W(V),   ∂ℓ/∂W = σ²/n (GV − b)
        W = V - learning_rate * sigma**2 * (gram @ V - b) / n
        history[k] = loss(W)
        if watch is not None:
            watch(k, W)
    return W, np.maximum(history, 0.0)


# ----------------------------------------------------------------------------- one hidden layer

def network_forward(params: Mapping[str, np.ndarray], u):
    """s = tanh(u W₁ + b₁) W₂ + b₂ on standardized inputs u (N, d); returns (s, h)."""
    # h = tanh(u W₁ + b₁)
    h = np.tanh(u @ params["W1"] + params["b1"])
    # s = h W₂ + b₂
    return h @ params["W2"] + params["b2"], h


def network_loss(params, u, targets, sigma: float):
    """ℓ(θ) = σ²/(2n) Σ ‖s_θ(u_i) − y_i‖² (dtype-generic)."""
    return dsm_loss_of_scores(network_forward(params, u)[0], targets, sigma)


def network_loss_and_gradient(params, u, targets, sigma: float):
    """(ℓ, {∂ℓ/∂W₁, ∂ℓ/∂b₁, ∂ℓ/∂W₂, ∂ℓ/∂b₂}) from one forward pass, backpropagated by hand."""
    scores, h = network_forward(params, u)
    residual = scores - targets
    # ∂ℓ/∂s = σ²/n (s − y)
    grad_s = sigma**2 * residual / u.shape[0]
    # ∂ℓ/∂z = (∂ℓ/∂s W₂ᵀ) ⊙ (1 − h²),  z = u W₁ + b₁, tanh′(z) = 1 − tanh²(z)
    grad_z = (grad_s @ params["W2"].T) * (1.0 - h * h)
    # ∂ℓ/∂W₁ = uᵀ ∂ℓ/∂z,  ∂ℓ/∂b₁ = Σ_n ∂ℓ/∂z,  ∂ℓ/∂W₂ = hᵀ ∂ℓ/∂s,  ∂ℓ/∂b₂ = Σ_n ∂ℓ/∂s
    grads = {"W1": u.T @ grad_z, "b1": grad_z.sum(axis=0), "W2": h.T @ grad_s, "b2": grad_s.sum(axis=0)}
    return sigma**2 * np.sum(residual * residual) / (2 * u.shape[0]), grads


def network_loss_gradient(params, u, targets, sigma: float) -> dict[str, np.ndarray]:
    """∂ℓ/∂W₁, ∂ℓ/∂b₁, ∂ℓ/∂W₂, ∂ℓ/∂b₂ by the chain rule (see :func:`network_loss_and_gradient`)."""
    return network_loss_and_gradient(params, u, targets, sigma)[1]


def init_network(d: int, hidden: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """W₁ ~ N(0, 1/d), b₁ ~ N(0, 1) (bends spread over the standardized box), W₂ ~ N(0, 1/H), b₂ = 0."""
    return {"W1": rng.standard_normal((d, hidden)) / math.sqrt(d), "b1": rng.standard_normal(hidden),
            "W2": rng.standard_normal((hidden, d)) / math.sqrt(hidden), "b2": np.zeros(d)}


def fit_network(params, u, targets, sigma: float, n_steps: int, learning_rate: float = ADAM_LEARNING_RATE):
    """Adam on the full batch: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − η m̂/(√v̂ + 10⁻⁸).
    Returns (params, loss history of length n_steps + 1)."""
    beta1, beta2 = ADAM_BETAS
    params = {k: v.copy() for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    history = np.empty(n_steps + 1)
    for step in range(1, n_steps + 1):
        loss, grads = network_loss_and_gradient(params, u, targets, sigma)
        history[step - 1] = float(loss)
        for name, g in grads.items():
            m[name] = beta1 * m[name] + (1 - beta1) * g
            v[name] = beta2 * v[name] + (1 - beta2) * g * g
            # θ ← θ − η m̂ / (√v̂ + ε),  m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)
            m_hat, v_hat = m[name] / (1 - beta1**step), v[name] / (1 - beta2**step)
            params[name] = params[name] - learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)
    history[n_steps] = float(network_loss(params, u, targets, sigma))
    return params, history


# ----------------------------------------------------------------------------- the fitted model

@dataclass(frozen=True)
class ScoreModel:
    """A fitted s_θ(x) at one noise level σ: features × W, or the one-hidden-layer network."""

    kind: str
    sigma: float
    params: Mapping[str, np.ndarray] = field(default_factory=dict)  # {"W"} or W1, b1, W2, b2
    features: Features | None = None  # the feature map (kind "features"/"linear")
    centre: np.ndarray | None = None  # the network's input standardization u = (x − c)/a
    scale: float = 1.0

    def __call__(self, x) -> np.ndarray:
        """s_θ(x), shape (N, d)."""
        if self.features is not None:
            return self.features(x) @ self.params["W"]
        return network_forward(self.params, (np.asarray(x) - self.centre) / self.scale)[0]


@dataclass(frozen=True)
class ScoreFit:
    """DSM training of one model: its loss curve, the floors that curve is measured against, and
    how close the learned score comes to the true one on fresh noisy points."""

    model: ScoreModel
    loss_history: np.ndarray  # (training_steps + 1,) ℓ(θ) on the training pairs
    loss_at_true_score: float  # ℓ with s = ∇ log p_σ on the same pairs: the noise floor
    relative_error: float  # Σ‖s_θ − ∇log p_σ‖² / Σ‖∇log p_σ‖² on held-out points of p_σ
    n_train: int
    training_steps: int
    #: the sampling noise of the final loss's gap to loss_at_true_score: ℓ(s_θ) − ℓ(∇log p_σ) on the same pairs is
    #: σ²/(2n) Σ‖s_θ − ∇log p_σ‖² ≥ 0 plus a cross term σ²/n Σ (s_θ − ∇log p_σ)·(∇log p_σ − y) of mean 0 unless s_θ
    #: fitted these pairs' noise; this is that term's standard error
    floor_standard_error: float = 0.0
    #: the same training run on from W = 0 (features and linear models; see :func:`error_along_training`)
    path: "TrainingPath | None" = None

    @property
    def final_loss(self) -> float:
        return float(self.loss_history[-1])

    @property
    def relative_rms_error(self) -> float:
        """√ρ: the learned score's root-mean-square distance from ∇log p_σ, relative to its size."""
        return math.sqrt(self.relative_error)


def fit_dsm(x_clean, sigma: float, kind: str, width: int, training_steps: int, seed: int, box,
            true_score: Callable, x_heldout=None) -> ScoreFit:
    """Fit s_θ to the DSM targets of ``x_clean`` at noise level σ and measure it.

    ``box`` = (low, high) corners the features (or the network's standardization) cover;
    ``true_score`` is ∇ log p_σ, used only to measure the fit, never to train; ``x_heldout`` are
    fresh points of p_σ for that measurement (default: another noising of x_clean).
    """
    kind = validate.choice("score model", kind, MODEL_KINDS)
    sigma = validate.real("the noise level σ", sigma, positive=True)
    training_steps = validate.whole("the training steps", training_steps, 0)
    rng = np.random.default_rng([validate.seed(seed), 7])
    x_noisy, targets = dsm_pairs(x_clean, sigma, rng)
    low, high = np.asarray(box[0], dtype=float), np.asarray(box[1], dtype=float)
    if kind == "network":
        centre, scale = (low + high) / 2, float(np.max(high - low)) / 2
        u = (x_noisy - centre) / scale
        hidden = validate.whole("the hidden units", width, 1, 256)
        params, history = fit_network(init_network(u.shape[1], hidden, rng), u, targets, sigma, training_steps)
        model = ScoreModel(kind, sigma, params, None, centre, scale)
    else:
        features = make_features(kind, width, low, high)
        W, history = fit_features(features(x_noisy), targets, sigma, training_steps)
        model = ScoreModel(kind, sigma, {"W": W}, features)
    true_noisy = true_score(x_noisy)
    floor = float(dsm_loss_of_scores(true_noisy, targets, sigma))
    # ℓ(s_θ) − ℓ(s) = σ²/(2n) Σ‖s_θ − s‖² + σ²/n Σ (s_θ − s)·(s − y): the second term has mean 0 for a model that
    # has not fitted these pairs' noise, with this standard error
    cross = sigma**2 * np.sum((model(x_noisy) - true_noisy) * (true_noisy - targets), axis=1)
    floor_error = float(np.std(cross, ddof=1) / math.sqrt(cross.size)) if cross.size > 1 else 0.0
    if x_heldout is None:
        x_heldout = x_clean + sigma * rng.standard_normal(np.shape(x_clean))
    truth = true_score(x_heldout)
    # ρ = Σ ‖s_θ − ∇log p_σ‖² / Σ ‖∇log p_σ‖²
    relative = float(np.sum((model(x_heldout) - truth) ** 2) / max(np.sum(truth**2), 1e-300))
    return ScoreFit(model, history, floor, relative, int(x_noisy.shape[0]), training_steps, floor_error)


@dataclass(frozen=True)
class TrainingPath:
    """How close the learned score comes to the true one along one training run: ρ on the held-out
    points after ``steps[i]`` steps (every multiple of a fixed count, up to the most steps offered)."""

    steps: np.ndarray  # (K,) training steps
    relative_error: np.ndarray  # (K,) ρ = Σ ‖s_θ − ∇log p_σ‖² / Σ ‖∇log p_σ‖² after that many steps

    def at(self, steps: int) -> float:
        return float(self.relative_error[np.flatnonzero(self.steps == steps)[0]])


def error_along_training(fit: ScoreFit, x_clean, seed: int, true_score: Callable, x_heldout, up_to: int,
                         every: int) -> TrainingPath:
    """The training of ``fit`` (a features or linear model from :func:`fit_dsm` with these
    ``x_clean``, ``seed`` and held-out points) run again from W = 0 to ``up_to`` steps, with ρ after
    every ``every`` steps. The pairs and the iterates are those of fit_dsm, so the ρ after
    k = fit.training_steps steps is fit.relative_error, and after any other k it is what fit_dsm with
    k training steps measures."""
    model = fit.model
    if model.features is None:
        raise ValueError("the training path is traced for the features and linear models only")
    up_to, every = validate.whole("the steps traced", up_to, 1), validate.whole("the steps between points", every, 1)
    rng = np.random.default_rng([validate.seed(seed), 7])
    x_noisy, targets = dsm_pairs(x_clean, model.sigma, rng)
    truth = true_score(x_heldout)
    phi_heldout, scale = model.features(x_heldout), max(float(np.sum(truth**2)), 1e-300)
    steps, errors = [], []

    def watch(k, W):
        if k % every == 0:
            steps.append(k)
            # ρ = Σ ‖φ(x)W − ∇log p_σ(x)‖² / Σ ‖∇log p_σ‖² on the held-out points
            errors.append(float(np.sum((phi_heldout @ W - truth) ** 2) / scale))

    fit_features(model.features(x_noisy), targets, model.sigma, up_to, watch)
    return TrainingPath(np.asarray(steps, dtype=int), np.asarray(errors))
