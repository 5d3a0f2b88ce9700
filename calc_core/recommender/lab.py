r"""The Recommendations page: Settings → :func:`run` → a :class:`Result` and its diagnosis.

Data (planted synthetic ratings, or a user's file) → a seeded train/test split → per-rating SGD
(calc_core.recommender.model) → what the page draws: RMSE per epoch against the global-mean
baseline and the noise floor, predicted against true test ratings, the top items of a user split
into b_u + b_i + p_u·q_i at any kept epoch, and the gradient check.

The gradient check checks the code that trained. One SGD step on rating (u, i) moves its
parameters θ = (b_u, b_i, p_u, q_i) to θ′ = θ − η ∇ℓ_ui, so the gradient the update applies is

    g_ui = (θ − θ′) / η,

read off by running the training loop itself (``sgd_epoch``) for that one rating from the trained
parameters. It is compared with derivative-free estimates of ∇ℓ_ui (from the change of ℓ, computed
from the perturbation so that it keeps its digits when the gradient is tiny), where

    ℓ_ui = ½ [e_ui² + λ (b_u² + b_i² + ‖p_u‖² + ‖q_i‖²)],   e_ui = r_ui − (μ + b_u + b_i + p_uᵀq_i).

Each checked rating gets its own copy of its parameters (the loss is their sum), so a pair rated
twice is two independent checks. A wrong sign of λ, or the updated p_u used in the q_i step, fails.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np

from calc_core.common.gradcheck import GradientCheck, check_gradients
from calc_core.common.messages import Message
from calc_core.common.presets import Preset
from calc_core.common.snapshots import MAX_BYTES as SNAPSHOT_BUDGET, MAX_SNAPSHOTS, Snapshots, evenly_spaced
from calc_core.common.validate import choice, real, seed as check_seed, whole
from calc_core.recommender.data import RatingsTable, planted_ratings, read_upload, train_test_split
from calc_core.recommender.model import MatrixFactorization, Recommendation, rmse, sgd_epoch

GRADIENT_CHECK_RATINGS = 24
SOURCES = ("synthetic", "upload")
MAX_UPLOAD_MB = 25
OVERFIT_MARGIN = 0.02  # overfitting: test RMSE of the last LEVEL_EPOCHS epochs this far above its best, train this far below
LEVEL_EPOCHS = 4  # "levelled off" / "still learning": test RMSE now against LEVEL_EPOCHS epochs before
TREND_EPOCHS = 12  # the recent trend: a least-squares line through test RMSE of the last TREND_EPOCHS epochs
TREND_SIGNIFICANCE = 3.0  # a fall is a trend when the line falls by this many standard errors of its slope
FLATTENED = 0.25  # levelled off: the recent fall per epoch at most this share of the run's fastest
REG_MAX = 1.0  # the largest λ the page's slider offers (pages/1_Recommendations.py)
COLLAPSED = 0.01  # the factors' RMS below this share of its start: shrunk "to nothing"
FACTORS_LEARNED_LITTLE = 0.1  # p_uᵀq_i's share of test RMSE's fall from the global mean at most this: they learned little
WORK_BUDGET = 1_500_000_000  # training ratings × epochs × (k + 2): the synthetic maxima, 270,000 × 100 × 52, fit
# (users + items) × (k + 1): 4 MB a copy, so a cached run holds at most ≈ 12 MB (the model and its first
# and last snapshots); MovieLens 1M at k = 50 needs 497,046
MAX_PARAMETERS = 500_000
COLD_START_SHARE = 0.1  # test ratings of a user or item never trained on: said from this share up
FACTORS_GREW = 1.5  # the factors' RMS this many times its start: they left the start (not stalled)
# the page's learning-rate choices: down to 1e-5, since the step that is stable shrinks as the ratings spread wider
LEARNING_RATES = (0.00001, 0.00002, 0.00005, 0.0001, 0.0002, 0.0003, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075,
                  0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5)
STABLE_RATES = (0.01, 0.05)  # η that trains without blowing up for ratings that spread about STAR_SPREAD
STAR_SPREAD = 1.5  # RMS of ratings around their mean on 1–5 stars, at most (uniform ones: √2; the synthetic ≤ 1.3)


@dataclass(frozen=True)
class Settings:
    """One field per control of the page (its units)."""

    source: str = "synthetic"  # "synthetic" or "upload"
    upload: bytes | None = None  # the file's bytes when source == "upload"
    n_users: int = 300
    n_items: int = 200
    density: float = 0.3  # fraction of user–item pairs rated
    rank: int = 3  # of the planted taste vectors
    noise: float = 0.4  # σ of the planted ratings
    test_fraction: float = 0.2
    learning_rate: float = 0.03  # η
    reg: float = 0.05  # λ
    n_factors: int = 10  # k
    n_epochs: int = 40
    seed: int = 0


@dataclass(frozen=True)
class Divergence:
    """Why SGD blew up: the step factor η(2 + ‖p_u‖² + ‖q_i‖²) of the updates (> 2 overshoots)."""

    epoch: int  # 1-based epoch in which an error passed 1000× the rating scale
    rating: int | None  # ratings of that epoch done before
    first_factor: float  # of the very first update
    overshoot_rating: int | None  # ratings done (from the start) before the factor first passed 2
    total_ratings: int  # ratings done (from the start) when training stopped


@dataclass(frozen=True)
class Result:
    settings: Settings
    model: MatrixFactorization
    train_rmse: np.ndarray  # after each completed epoch
    test_rmse: np.ndarray
    n_train: int
    n_test: int
    global_mean_rmse: float  # predicting μ for every test rating
    rating_spread: float  # RMS of the training ratings around their mean μ
    noise_floor_rmse: float | None  # RMSE of E[r | planted signal] on the test set (synthetic only)
    test_users: np.ndarray
    test_items: np.ndarray
    test_ratings: np.ndarray
    test_predictions: np.ndarray  # at the end of training
    user_labels: np.ndarray  # how the page names user (item) index k
    item_labels: np.ndarray
    snapshots: Snapshots  # b_u, b_i, P, Q after the kept epochs (0 = the start)
    gradient_checks: tuple[GradientCheck, ...]
    gradient_check_ratings: int
    divergence: Divergence | None
    duplicate_pairs: int  # user–item pairs the file rates more than once
    repeat_ratings: int = 0  # their ratings beyond each pair's first
    unseen_test: int = 0  # test ratings whose user or item has no training rating
    skipped_rows: int = 0  # rows of the file left out (no usable rating or id)
    first_skipped: str = ""
    diagnosis: tuple[Message, ...] = ()

    @property
    def test_final(self) -> float:
        return float(self.test_rmse[-1]) if self.test_rmse.size else float("nan")

    @property
    def train_final(self) -> float:
        return float(self.train_rmse[-1]) if self.train_rmse.size else float("nan")


def _validated(s: Settings) -> Settings:
    choice("source", s.source, SOURCES)
    if s.source == "upload":
        if s.upload is None:
            raise ValueError("Upload a file of user,item,rating rows first (a CSV with or without a header, "
                             "or MovieLens's tab-separated u.data).")
        if len(s.upload) > MAX_UPLOAD_MB * 2**20:
            raise ValueError(f"The file is {len(s.upload) / 2**20:.0f} MB; the limit is {MAX_UPLOAD_MB} MB.")
    whole("the number of users", s.n_users, 2)
    whole("the number of items", s.n_items, 2)
    real("the density", s.density, positive=True, maximum=1.0)
    whole("the planted rank", s.rank, 1)
    real("the rating noise σ", s.noise, 0.0)
    real("the test fraction", s.test_fraction, 0.0, 0.9)
    real("the learning rate η", s.learning_rate, positive=True, maximum=10.0)
    real("the regularization λ", s.reg, 0.0, 100.0)
    whole("the number of latent factors", s.n_factors, 1, 500)
    whole("the number of epochs", s.n_epochs, 1, 1000)
    check_seed(s.seed)
    return s


def warm_up() -> None:
    """A tiny run through the compiled SGD loop and predictions, with the types a real run uses: a
    fresh process (a server's worker) loads numba's machine code from disk on its first call, ≈ 0.2 s
    that would otherwise fall on the first visitor's first slider move."""
    run(Settings(n_users=20, n_items=20, n_epochs=2))


def run(settings: Settings) -> Result:
    """Make or read the ratings, split them, train by per-rating SGD and diagnose the run."""
    s = _validated(settings)
    clean = None
    duplicates = repeats = skipped = 0
    first_skipped = ""
    if s.source == "upload":
        table: RatingsTable = read_upload(s.upload)
        users, items, ratings = table.users, table.items, table.ratings
        n_users, n_items, labels_u, labels_i = table.n_users, table.n_items, table.user_ids, table.item_ids
        duplicates, repeats = table.duplicate_pairs, table.repeat_ratings
        skipped, first_skipped = table.skipped_rows, table.first_skipped
    else:
        data = planted_ratings(s.n_users, s.n_items, s.density, s.rank, s.noise, s.seed)
        users, items, ratings, clean = data.users, data.items, data.ratings, data.expected
        n_users, n_items = s.n_users, s.n_items
        labels_u, labels_i = np.arange(n_users).astype(str), np.arange(n_items).astype(str)
    train, test = train_test_split(ratings.size, s.test_fraction, s.seed)
    _check_work(int(train.size), s, n_users + n_items)
    model = MatrixFactorization(n_users, n_items, s.n_factors, lr=s.learning_rate, reg=s.reg, seed=s.seed)
    eval_set = (users[test], items[test], ratings[test]) if test.size else None
    # as many kept epochs as fit the snapshots' budget (b_u, b_i, P and Q in float64): thinning them
    # after training would hold every one of them first
    per_snapshot = (n_users + n_items) * (s.n_factors + 1) * 8
    kept = evenly_spaced(s.n_epochs, max(2, min(MAX_SNAPSHOTS, SNAPSHOT_BUDGET // per_snapshot)))
    model.fit(users[train], items[train], ratings[train], s.n_epochs, eval_set=eval_set, keep_epochs=kept)
    history = model.history
    divergence = None
    if history.diverged:
        divergence = Divergence(history.diverged_epoch, history.diverged_rating, history.first_step_factor,
                                history.overshoot_rating,
                                (history.diverged_epoch - 1) * train.size + (history.diverged_rating or 0))
    checks = sgd_gradient_checks(model, users[train], items[train], ratings[train], seed=s.seed)
    mu = float(ratings[train].mean())
    snapshots = Snapshots.collect("epoch", history.snapshot_epochs, history.snapshots).thinned()
    history.snapshots = []  # kept once, in `snapshots`: a cached result is stored whole for every setting
    if s.source == "upload":  # nor the file's bytes again (up to 25 MB): the page never reads them back
        s = replace(s, upload=None)
    result = Result(
        settings=s, model=model, train_rmse=np.asarray(history.train_rmse), test_rmse=np.asarray(history.test_rmse),
        n_train=int(train.size), n_test=int(test.size),
        global_mean_rmse=rmse(np.full(test.size, mu), ratings[test]),
        # exactly 0 when every training rating is the same (their mean need not round back to it)
        rating_spread=0.0 if np.ptp(ratings[train]) == 0 else rmse(np.full(train.size, mu), ratings[train]),
        noise_floor_rmse=None if clean is None or not test.size else rmse(clean[test], ratings[test]),
        test_users=users[test], test_items=items[test], test_ratings=ratings[test], test_predictions=model.predict(users[test], items[test]),
        user_labels=labels_u, item_labels=labels_i, snapshots=snapshots, gradient_checks=checks,
        gradient_check_ratings=min(GRADIENT_CHECK_RATINGS, int(train.size)), divergence=divergence,
        duplicate_pairs=duplicates, repeat_ratings=repeats, skipped_rows=skipped, first_skipped=first_skipped,
        unseen_test=int(np.count_nonzero(~(model.user_known[users[test]] & model.item_known[items[test]]))))
    return _with_diagnosis(result)


def _check_work(n_train: int, s: Settings, n_ids: int = 0) -> None:
    """Refuse a training that would keep the server busy far longer than a live page can wait: its
    work, training ratings × epochs × (k + 2) updates, is capped at WORK_BUDGET — what the synthetic
    data's largest settings need (≈ 8 s on a 2-core server); the refusal names the most epochs that fit.
    Its model, (users + items) × (k + 1) numbers, is capped at MAX_PARAMETERS: a run holds a few
    copies of it (the model, the epoch's fallback, the kept snapshots)."""
    parameters = n_ids * (s.n_factors + 1)
    if parameters > MAX_PARAMETERS:
        k_max = MAX_PARAMETERS // n_ids - 1
        fits = (f"at most {k_max} latent factor{'s' * (k_max != 1)}, or " if k_max >= 1 else "")
        raise ValueError(f"{n_ids:,} distinct users and items × (k + 1) = {parameters:,} numbers to train; this lab "
                         f"holds at most {MAX_PARAMETERS:,} per run. Use {fits}a sample of the file with fewer distinct "
                         "users and items.")
    per_epoch = n_train * (s.n_factors + 2)
    if per_epoch * s.n_epochs <= WORK_BUDGET:
        return
    epochs = WORK_BUDGET // per_epoch
    fits = (f"at most {epochs} epoch{'s' * (epochs != 1)} at k = {s.n_factors}" if epochs >= 1 else
            f"fewer than {WORK_BUDGET // n_train - 2} latent factors" if WORK_BUDGET // n_train > 3 else
            "a sample of the file")
    raise ValueError(f"{n_train:,} training ratings × {s.n_epochs} epochs × {s.n_factors} latent factors is more SGD "
                     f"than this lab trains live ({per_epoch * s.n_epochs / WORK_BUDGET:.1f}× the largest synthetic run). "
                     f"Use {fits}, or upload a sample of the file.")


def _with_diagnosis(result: Result) -> Result:
    return replace(result, diagnosis=diagnose(result))


# ----------------------------------------------------------------------------- the gradient check

def per_rating_loss(params, mu, ratings, reg):
    """Σ_k ℓ_k for per-rating copies b_u (B,), b_i (B,), P (B, k), Q (B, k) of B ratings."""
    # e = r − (μ + b_u + b_i + p_uᵀ q_i)
    e = ratings - (mu + params["b_u"] + params["b_i"] + np.sum(params["P"] * params["Q"], axis=1))
    # ℓ = ½ [e² + λ (b_u² + b_i² + ‖p_u‖² + ‖q_i‖²)]
    penalty = params["b_u"] ** 2 + params["b_i"] ** 2 + np.sum(params["P"] ** 2 + params["Q"] ** 2, axis=1)
    return 0.5 * np.sum(e * e + reg * penalty)


def per_rating_loss_change(new, old, mu, ratings, reg):
    """Σ_k ℓ_k(new) − Σ_k ℓ_k(old), computed from the change d = new − old so that it keeps its digits
    however small it is (dtype-generic: np.longdouble in, np.longdouble out):

        e′ − e = −(d_bu + d_bi + d_pᵀq + pᵀd_q + d_pᵀd_q),   Δℓ = ½ [(e′ − e)(e′ + e) + λ Σ d ⊙ (new + old)]
    """
    d = {name: new[name] - old[name] for name in old}
    e = ratings - (mu + old["b_u"] + old["b_i"] + np.sum(old["P"] * old["Q"], axis=1))
    de = -(d["b_u"] + d["b_i"] + np.sum(d["P"] * old["Q"] + old["P"] * d["Q"] + d["P"] * d["Q"], axis=1))
    penalty = d["b_u"] * (new["b_u"] + old["b_u"]) + d["b_i"] * (new["b_i"] + old["b_i"]) + \
        np.sum(d["P"] * (new["P"] + old["P"]) + d["Q"] * (new["Q"] + old["Q"]), axis=1)
    return 0.5 * np.sum(de * (2 * e + de) + reg * penalty)


def applied_gradients(model: MatrixFactorization, users, items, ratings, epoch=sgd_epoch):
    """g = (θ − θ′)/η of one SGD step per rating, from the model's current parameters, by running
    ``epoch`` (the training loop) on that rating alone. Returns per-rating rows and their rounding."""
    n, k = ratings.size, model.n_factors
    grads = {"b_u": np.empty(n), "b_i": np.empty(n), "P": np.empty((n, k)), "Q": np.empty((n, k))}
    rounding = {name: np.empty_like(value) for name, value in grads.items()}
    one = np.zeros(1, dtype=np.int64)
    eps = np.finfo(float).eps
    for t in range(n):
        u, i = int(users[t]), int(items[t])
        b_u, b_i = model.b_u[u:u + 1].copy(), model.b_i[i:i + 1].copy()
        P, Q = model.P[u:u + 1].copy(), model.Q[i:i + 1].copy()
        before = (b_u.copy(), b_i.copy(), P.copy(), Q.copy())
        epoch(np.zeros(1, np.int64), np.zeros(1, np.int64), ratings[t:t + 1], one, model.mu, b_u, b_i, P, Q,
              model.lr, model.reg, np.inf, np.array([0.0, -1.0]))
        for name, old, new in zip(("b_u", "b_i", "P", "Q"), before, (b_u, b_i, P, Q)):
            # g = (θ − θ′) / η
            grads[name][t] = ((old - new) / model.lr).reshape(grads[name][t].shape)
            # θ′ is rounded to ε|θ′|, the subtraction to ε|θ|: both divided by η
            rounding[name][t] = (2 * eps * (np.abs(old) + np.abs(new)) / model.lr).reshape(grads[name][t].shape)
    return grads, rounding


def sgd_gradient_checks(model: MatrixFactorization, users, items, ratings, seed: int = 0, epoch=sgd_epoch,
                        n_ratings: int = GRADIENT_CHECK_RATINGS, max_coords: int = 48) -> tuple[GradientCheck, ...]:
    """The gradient the SGD update applies (``applied_gradients``) against derivative-free estimates
    of ∇ℓ_ui, on a seeded sample of training ratings, at the model's current parameters."""
    pick = np.sort(np.random.default_rng([seed, 3]).choice(ratings.size, min(n_ratings, ratings.size),
                                                          replace=False))
    u, i, r = users[pick], items[pick], ratings[pick]
    params = {"b_u": model.b_u[u].copy(), "b_i": model.b_i[i].copy(), "P": model.P[u].copy(), "Q": model.Q[i].copy()}
    if not all(np.all(np.isfinite(v)) for v in params.values()):
        return ()
    grads, rounding = applied_gradients(model, u, i, r, epoch)
    mu, reg = model.mu, model.reg
    return tuple(check_gradients(lambda p: float(per_rating_loss_change(p, params, mu, r, reg)), params, grads,
                                 seed=seed, analytic_error=rounding, max_coords=max_coords))


# ----------------------------------------------------------------------------- what the page reads

def model_at(result: Result, index: int = -1) -> MatrixFactorization:
    """The trained model with the parameters it had at snapshot ``index`` (the end: the model itself)."""
    model = result.model
    if len(result.snapshots) == 0 or index in (-1, len(result.snapshots) - 1):
        return model
    at = copy.copy(model)
    for name, value in result.snapshots.at(index).items():
        setattr(at, name, value)
    return at


def top_items(result: Result, user: int, index: int = -1, k: int = 5) -> Recommendation:
    """The top ``k`` items for ``user`` at snapshot ``index``, each split into b_u + b_i + p_u·q_i."""
    return model_at(result, index).recommend(user, k)


def predictions_at(result: Result, index: int = -1) -> np.ndarray:
    """The test predictions at snapshot ``index``."""
    return model_at(result, index).predict(result.test_users, result.test_items)


# ----------------------------------------------------------------------------- the diagnosis

def stable_rates(spread: float) -> tuple[float, float]:
    """The learning rates (of LEARNING_RATES) that train ratings spreading ``spread`` (their RMS
    around the mean) without blowing up: STABLE_RATES, shrunk by STAR_SPREAD / spread for wider
    ratings. Errors e and, at the fit, ‖p_u‖² + ‖q_i‖² both grow with the spread, and the update
    overshoots once η(2 + ‖p_u‖² + ‖q_i‖²) passes 2, so the stable η shrinks like 1 / spread."""
    shrink = min(1.0, STAR_SPREAD / spread) if np.isfinite(spread) and spread > 0 else 1.0
    inside = [eta for eta in LEARNING_RATES if STABLE_RATES[0] * shrink <= eta * (1 + 1e-9)
              and eta <= STABLE_RATES[1] * shrink * (1 + 1e-9)]
    if not inside:  # narrower than the grid's spacing: the nearest choice at or below the upper end
        below = [eta for eta in LEARNING_RATES if eta <= STABLE_RATES[1] * shrink] or [LEARNING_RATES[0]]
        inside = [below[-1]]
    return inside[0], inside[-1]


def _lower_rate_hint(spread: float, low: float, high: float) -> str:
    span = f"{low:g}" if low == high else f"{low:g}–{high:g}"
    if (low, high) == STABLE_RATES:
        return f"Lower the learning rate ({span} works here)."
    return (f"Lower the learning rate to {span}: these ratings spread {spread:.3g} around their mean (stars on 1–5 "
            f"spread at most about {STAR_SPREAD:g}), and the stable step shrinks in proportion, from the "
            f"{STABLE_RATES[0]:g}–{STABLE_RATES[1]:g} that suits stars.")


def diagnose(result: Result) -> tuple[Message, ...]:
    """What the page says about a run: diverged, overfitting, still learning, duplicates in a file."""
    s, messages = result.settings, []
    file_notes = _file_messages(result)
    if result.rating_spread == 0:
        value = float(result.model.rating_range[0])
        return (Message(
            "constant", "info", f"Every training rating is {value:g}.",
            f"There is nothing to learn: μ = {value:g} predicts each training rating, so the biases and factors "
            "get no gradient to speak of and the train RMSE is 0 (up to rounding). Upload ratings that differ."),
        ) + file_notes
    d = result.divergence
    if d is not None:
        low, high = stable_rates(result.rating_spread)
        largest = max(abs(r) for r in result.model.rating_range)
        blowup = 1e3 * max(1.0, largest)  # MatrixFactorization.fit's threshold
        over = ("it never passed 2 before the blow-up" if d.overshoot_rating is None else
                f"it first passed 2 after {d.overshoot_rating:,} ratings, and the run blew up "
                f"{max(d.total_ratings - d.overshoot_rating, 0):,} ratings later")
        messages.append(Message(
            "diverged", "problem", f"Training diverged in epoch {d.epoch}",
            f"After {d.rating or 0:,} ratings of that epoch a prediction error passed {blowup:,.0f}"
            + (" (a thousand times the largest rating)" if largest >= 1 else "") + ", so training stopped; "
            + (f"the charts show epoch {d.epoch - 1}, the last one finished." if d.epoch > 1 else
               "no epoch finished, so the charts show the model before training."),
            f"One update changes that rating's error e by about −η(2 + ‖p_u‖² + ‖q_i‖²)·e: when that factor "
            f"passes 2 the step overshoots and |e| grows. At η = {s.learning_rate:g} it starts at "
            f"{d.first_factor:.2f} (the factors start small), but the update is bilinear — p_u grows by η e q_i "
            f"and q_i by η e p_u — so every large error also inflates ‖p_u‖ and ‖q_i‖, and the factor climbs: "
            f"{over}. From there each overshoot makes the next error and the next norms larger: a runaway.",
            (_lower_rate_hint(result.rating_spread, low, high),)
            + (("Or raise λ, which pulls the factors back towards zero on every step.",)
               if result.rating_spread <= STAR_SPREAD and s.reg < REG_MAX else ()),
            {"epoch": d.epoch, "first_factor": d.first_factor,
             "overshoot_rating": -1 if d.overshoot_rating is None else d.overshoot_rating,
             "stable_low": low, "stable_high": high}))
        return tuple(messages) + file_notes
    test = result.test_rmse
    trend = _trend(test)
    overfit = _overfitting(result)
    if overfit is not None:
        messages.append(overfit)
    elif (trend is not None and trend.state == "levelled" and result.noise_floor_rmse is not None
          and test[-1] > result.noise_floor_rmse + 0.1):
        messages.append(_levelled_message(result, trend))
    elif trend is not None and trend.state == "still":
        messages.append(_still_learning_message(result, trend))
    if result.noise_floor_rmse is not None and test.size:
        gap = result.test_final - result.noise_floor_rmse
        if gap < 0.02 and "overfitting" not in {m.code for m in messages}:
            floor = (f"{result.noise_floor_rmse:.3f}, the planted signal's own RMSE on these {result.n_test:,} test "
                     f"rating{'s' * (result.n_test != 1)}")
            messages.append(Message(
                "near_floor", "success", "At the noise floor.",
                f"Test RMSE {result.test_final:.3f} is within {gap:.3f} of {floor}: no model can expect to do better."
                if gap >= 0 else f"Test RMSE {result.test_final:.3f} is {-gap:.3f} below {floor}: it beats the truth "
                "by the luck of the noise drawn on them, which no model can expect to.", numbers={"gap": float(gap)}))
    if result.unseen_test and result.unseen_test >= COLD_START_SHARE * result.n_test and \
            "too_few_ratings" not in {m.code for m in messages}:
        share = result.unseen_test / result.n_test
        messages.append(Message(
            "cold_start", "info", "Test ratings of strangers.",
            f"{result.unseen_test:,} of the {result.n_test:,} test ratings ({share:.0%}) are of a user or an item "
            "with no rating in the training set: for those the model has only μ and the bias of whichever side it "
            "has seen, never p_uᵀq_i, so more factors cannot help them. A smaller test fraction leaves fewer of them.",
            numbers={"unseen_test": result.unseen_test, "share": share}))
    return tuple(messages) + file_notes


@dataclass(frozen=True)
class Trend:
    """How test RMSE ends (see :func:`_trend`)."""

    state: str | None  # "still" (learning), "levelled" (off) or None (neither can be said)
    fall: float  # relative fall over the last LEVEL_EPOCHS epochs: (test[-1 − L] − test[-1]) / test[-1]
    window: int  # epochs the recent line is fitted to
    rate: float  # the line's fall per epoch (negative: it rises)
    fastest: float  # the largest fall per epoch over any LEVEL_EPOCHS epochs of the run
    earlier_best: float  # the lowest test RMSE before the last epoch
    earlier_best_epoch: int  # 1-based


def _line(values: np.ndarray) -> tuple[float, float]:
    """Slope of the least-squares line through ``values`` (one a step) and its standard error."""
    x = np.arange(values.size, dtype=float)
    x -= x.mean()
    slope = float(x @ (values - values.mean()) / (x @ x))
    residual = values - values.mean() - slope * x
    return slope, float(np.sqrt(residual @ residual / max(values.size - 2, 1) / (x @ x)))


def _jitter(values: np.ndarray) -> float:
    """The epoch-to-epoch noise of ``values``, from their second differences (variance 6σ² for noise
    of σ, ≈ 0 for a smooth curve however it bends)."""
    second = np.diff(values, 2)
    return float(np.sqrt(np.mean(second ** 2) / 6)) if second.size else 0.0


def _trend(test: np.ndarray) -> Trend | None:
    """Still learning, levelled off, or neither, from test RMSE per epoch — robustly, since SGD with a
    large step leaves the curve jumping by a few per cent from epoch to epoch.

    Still learning: the last epoch is the lowest of the run, by more than the epoch-to-epoch jitter of
    the last TREND_EPOCHS epochs; a least-squares line through them falls by more than
    TREND_SIGNIFICANCE standard errors; and either the last LEVEL_EPOCHS epochs took off more than 1%,
    or the line still falls at more than FLATTENED of the run's fastest pace (a slow, steady fall at a
    tiny η has not levelled off; told only in runs of 2 × TREND_EPOCHS epochs or more, whose line leaves
    out the first, steep epochs).

    Levelled off: the last LEVEL_EPOCHS epochs took off at most 1%, the line shows no steady fall and
    no clear rise (more than 1% over those epochs, with a trend); or they took off more than 1%, but
    with no trend, and the last epoch is no lower than an earlier one. Anything else is neither."""
    n, L = test.size, LEVEL_EPOCHS
    if n <= L or not np.all(np.isfinite(test)):
        return None
    window = min(n, TREND_EPOCHS)
    slope, error = _line(test[-window:])
    rate = -slope
    fall = float((test[-1 - L] - test[-1]) / max(test[-1], 1e-12))
    earlier = int(np.argmin(test[:-1]))
    new_low = test[-1] < test[earlier] - _jitter(test[-window:])  # lower than every epoch before, beyond the jitter
    trending = rate > TREND_SIGNIFICANCE * error
    rising = -rate > TREND_SIGNIFICANCE * error and fall < -0.01  # climbing: not levelled off either
    fastest = float(np.max(test[:-L] - test[L:]) / L)
    steady = rate > FLATTENED * fastest if n >= 2 * TREND_EPOCHS else None  # None: too short to tell
    if new_low and trending and (fall > 0.01 or steady):
        state = "still"
    elif fall <= 0.01 and (not trending or steady is False) and not rising:
        state = "levelled"
    elif fall > 0.01 and test[-1] >= test[earlier] and not trending:
        state = "levelled"
    else:
        state = None
    return Trend(state, fall, window, rate, fastest, float(test[earlier]), earlier + 1)


@dataclass(frozen=True)
class FactorSizes:
    """The RMS of the users' factors p_u and of the items' q_i at the start of training and at its end:
    read apart, since one side can shrink while the other holds (30 users' p_u, each pulled by ηλ on
    hundreds of ratings, against 970 items' q_i rated a few times each)."""

    users_start: float
    users_end: float
    items_start: float
    items_end: float

    @property
    def users_ratio(self) -> float:
        return self.users_end / self.users_start if self.users_start > 0 else float("nan")

    @property
    def items_ratio(self) -> float:
        return self.items_end / self.items_start if self.items_start > 0 else float("nan")

    def sides(self, test) -> list[tuple[str, float]]:
        """(name, end / start) of the sides for which ``test(ratio)`` holds."""
        return [(name, ratio) for name, ratio in (("the users' factors p_u", self.users_ratio),
                                                  ("the items' factors q_i", self.items_ratio)) if test(ratio)]

    def grew(self) -> list[tuple[str, float]]:
        return self.sides(lambda ratio: ratio > FACTORS_GREW)

    def shrank(self) -> list[tuple[str, float]]:
        return self.sides(lambda ratio: ratio < 1 / FACTORS_GREW)


def _rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(values ** 2))) if values.size else 0.0


def factor_sizes(result: Result) -> FactorSizes:
    states = result.snapshots.states
    return FactorSizes(_rms(states["P"][0]), _rms(result.model.P), _rms(states["Q"][0]), _rms(result.model.Q))


def bias_only_rmse(result: Result) -> float:
    """Test RMSE of μ + b_u + b_i alone (the trained biases, the factors' term left out), clipped as
    the model's predictions are."""
    if not result.n_test:
        return float("nan")
    user_bias, item_bias, _ = result.model._components(result.test_users, result.test_items)
    return rmse(np.clip(result.model.mu + user_bias + item_bias, *result.model.rating_range), result.test_ratings)


def _fmt_rms(value: float) -> str:
    return f"{value:.3f}" if value >= 0.0005 or value == 0 else f"{value:.1e}"


def _overfitting(result: Result) -> Message | None:
    """Test RMSE rose and stayed up (the mean of its last LEVEL_EPOCHS epochs, and its last, more than
    OVERFIT_MARGIN above its best) while train RMSE fell by more than OVERFIT_MARGIN (the mean of
    LEVEL_EPOCHS epochs around the best against the last LEVEL_EPOCHS) and the factors, which are said
    to fit the noise, did not shrink (the geometric mean of p_u's and q_i's RMS, against its start, at
    least 1/FACTORS_GREW)."""
    test, train, s, R = result.test_rmse, result.train_rmse, result.settings, LEVEL_EPOCHS
    if test.size <= 2 * R or not np.all(np.isfinite(test)):
        return None
    best = int(np.argmin(test))
    recent = float(test[-R:].mean())
    if best >= test.size - R or recent <= test[best] + OVERFIT_MARGIN or test[-1] <= test[best] + OVERFIT_MARGIN:
        return None
    around = float(train[max(0, best - R // 2):best + R // 2 + 1].mean())
    if around - train[-R:].mean() <= OVERFIT_MARGIN or train[-1] >= train[best]:
        return None
    sizes = factor_sizes(result)
    if not np.sqrt(sizes.users_ratio * sizes.items_ratio) >= 1 / FACTORS_GREW:  # p_uᵀq_i shrank: no fit of noise
        return None
    more_reg = (" More regularization λ usually helps too." if s.reg < REG_MAX else
                f" (λ = {s.reg:g} is already the largest the page offers.)")
    return Message(
        "overfitting", "info", "Overfitting.",
        f"Test RMSE bottomed at {test[best]:.3f} in epoch {best + 1} and has risen since (to {recent:.3f} on "
        f"average over the last {R} epochs, {test[-1]:.3f} in the last), while train RMSE went on falling "
        f"({train[best]:.3f} → {train[-1]:.3f}): the factors now fit the noise of the training ratings.",
        f"Stopping after epoch {best + 1} keeps the best test RMSE this run reached.{more_reg}",
        numbers={"best_epoch": best + 1, "recent_test": recent, "users_rms": sizes.users_end,
                 "items_rms": sizes.items_end})


def _levelled_message(result: Result, trend: Trend) -> Message:
    """Test RMSE levelled off far above the noise floor: why, by what the factors did."""
    s, test = result.settings, result.test_rmse
    L, W = LEVEL_EPOCHS, trend.window
    sizes = factor_sizes(result)
    gap = float(test[-1] - result.noise_floor_rmse)
    if 0 <= trend.fall <= 0.01:
        how = f"it fell by no more than 1% over the last {L} epochs"
    elif -0.01 <= trend.fall < 0:
        how = f"it rose by less than 1% over the last {L} epochs"
    elif trend.fall < 0:
        how = (f"over the last {W} epochs it moved between {test[-W:].min():.3f} and {test[-W:].max():.3f} "
               "with no steady rise")
    else:
        recent = test[-W:]
        how = (f"over the last {W} epochs it moved between {recent.min():.3f} and {recent.max():.3f}, and it ends no "
               f"lower than the {trend.earlier_best:.3f} it reached in epoch {trend.earlier_best_epoch}")
    levelled = (f"Test RMSE has levelled off at {test[-1]:.3f}, {gap:.3f} above the floor ({how}); the factors' RMS "
                f"went from {_fmt_rms(sizes.users_start)} to {_fmt_rms(sizes.users_end)} for the users (p_u) and "
                f"from {_fmt_rms(sizes.items_start)} to {_fmt_rms(sizes.items_end)} for the items (q_i).")
    numbers = {"gap": gap, "users_rms": sizes.users_end, "users_rms_start": sizes.users_start,
               "items_rms": sizes.items_end, "items_rms_start": sizes.items_start}
    known_users, known_items = int(result.model.user_known.sum()), int(result.model.item_known.sum())
    if 2 * known_users < result.model.n_users or 2 * known_items < result.model.n_items:
        return Message(
            "too_few_ratings", "info", "Too few ratings to learn from.", levelled,
            f"Only {known_users:,} of the {result.model.n_users:,} users and {known_items:,} of the "
            f"{result.model.n_items:,} items have a rating among the {result.n_train:,} training ratings: the "
            "others keep their starting factors and zero biases, so their test ratings are predicted by little "
            "more than the global mean.", ("More users' ratings: a larger density, or fewer users and items.",),
            numbers={**numbers, "known_users": known_users, "known_items": known_items})
    biases = bias_only_rmse(result)
    bias_gain, factor_gain = result.global_mean_rmse - biases, biases - test[-1]
    numbers.update(bias_only_rmse=biases, bias_gain=bias_gain, factor_gain=factor_gain)
    split = (f"μ + b_u + b_i alone score {biases:.3f} (the global mean {result.global_mean_rmse:.3f}), and the "
             f"factors' term p_uᵀq_i takes that to {test[-1]:.3f}")
    # the factors learned little: their term took at most a tenth of test RMSE's fall from the global mean
    # (nothing, if test RMSE did not fall below it)
    learned_little = factor_gain <= max(FACTORS_LEARNED_LITTLE * (bias_gain + factor_gain), 0.0)
    biases_did_most = learned_little and bias_gain > 0
    shrank, grew = sizes.shrank(), sizes.grew()
    if learned_little and shrank and not grew and s.reg > 0:
        gone = all(ratio <= COLLAPSED for _, ratio in sizes.sides(lambda ratio: True))
        if gone:
            title = "λ has shrunk the factors to nothing."
        else:
            title = "λ has shrunk " + " and ".join(
                f"{name} to {'nothing' if ratio <= COLLAPSED else f'{ratio:.0%} of their start'}"
                for name, ratio in shrank) + "."
        which = "the factors" if len(shrank) == 2 else shrank[0][0]
        return Message(
            "over_regularized", "info", title, levelled,
            f"Every step pulls p_u and q_i toward zero by ηλ of themselves; at λ = {s.reg:g} that pull beat the "
            f"push of the errors on {which}, which shrank, and the biases, which feel the same pull but also the "
            f"whole error, {'did most of the learning' if biases_did_most else 'did no better than the global mean'}: "
            f"{split}.", (f"A smaller λ (the default is {Settings().reg:g}).",),
            numbers={**numbers, "collapsed": float(gone)})
    if biases_did_most and not shrank and not grew:
        pull = f" while λ = {s.reg:g} pulls them back" if s.reg > 0 else ""
        # in the sweeps a larger η got the factors going in most runs, not all: with too few or too noisy
        # ratings per user and item nothing did (at λ = 0 the factors grew, but fitted the noise)
        hint = (f"A larger η{', or a smaller λ,' if s.reg > 0 else ''} may get the factors off the ground — unless "
                "the ratings are too few or too noisy for them to find a pattern in.")
        return Message(
            "stalled", "info", "Learning has stalled far above the noise floor.", levelled,
            f"The factors start near zero, where the gradient of p_uᵀq_i is small (q_i for p_u, p_u for q_i): at "
            f"η = {s.learning_rate:g} they barely left their start{pull}, so the biases, whose gradient does not "
            f"vanish there, did most of the learning: {split}. {hint}",
            numbers=numbers)
    if grew:
        lead = f"{'The factors' if len(grew) == 2 else grew[0][0][0].upper() + grew[0][0][1:]} did grow"
    else:
        lead = "The factors did little" if learned_little else "Their RMS did not grow, but the factors did learn"
    return Message(
        "levelled_off", "info", "Learning has levelled off above the noise floor.", levelled,
        f"{lead}: {split}. What is left is set by the model, the data and the step: k = {s.n_factors} "
        f"factor{'s' * (s.n_factors != 1)} for ratings planted with rank {s.rank}, λ = {s.reg:g} pulling them "
        f"toward zero, {result.n_train:,} training ratings to learn them from, and η = {s.learning_rate:g}.",
        ("Compare more factors (at least the planted rank), another λ, another η, or denser ratings.",),
        numbers=numbers)


def _still_learning_message(result: Result, trend: Trend) -> Message:
    s, test, L = result.settings, result.test_rmse, LEVEL_EPOCHS
    n = test.size
    low, _ = stable_rates(result.rating_spread)
    larger = " (or a larger η)" if s.learning_rate < low else ""
    fell = f"Test RMSE fell from {test[-1 - L]:.3f} in epoch {n - L} to {test[-1]:.3f} in epoch {n}"
    if trend.fall > 0.01:
        what = f"{fell}, its lowest yet: more than 1% in {L} epochs, so more epochs{larger} would likely still help."
    else:
        what = (f"{fell}, and over the last {trend.window} epochs it fell by {trend.rate:.2g} an epoch, "
                f"{trend.rate / trend.fastest:.0%} of its fastest pace: it has not levelled off, so more "
                f"epochs{larger} would likely still help.")
    return Message("still_learning", "info", "Still learning.", what,
                   numbers={"drop": float(test[-1 - L] - test[-1]), "rate": trend.rate})


def _file_messages(result: Result) -> tuple[Message, ...]:
    """What the page says about an uploaded file itself, whatever the training did."""
    messages = []
    if result.skipped_rows:
        n = result.skipped_rows
        messages.append(Message(
            "skipped_rows", "info", f"{n:,} row{'s' * (n != 1)} of the file left out.",
            f"{'They have' if n != 1 else 'It has'} no usable rating or id (the first, {result.first_skipped}); "
            f"the other {result.n_train + result.n_test:,} ratings are used.",
            numbers={"skipped_rows": n}))
    if result.duplicate_pairs:
        pairs, extra = result.duplicate_pairs, result.repeat_ratings
        messages.append(Message(
            "duplicates", "info", "Repeated ratings.",
            f"The file rates {pairs:,} user–item pair{'s' * (pairs != 1)} more than once ({extra:,} rating"
            f"{'s' * (extra != 1)} beyond each pair's first); each rating is trained on as given (as Surprise does), "
            "so such a pair is pulled toward the mean of its ratings, and one of its ratings may land in the test "
            "set while another trains.",
            numbers={"duplicates": pairs, "repeat_ratings": extra}))
    return tuple(messages)


# ----------------------------------------------------------------------------- lessons

PRESETS = (
    Preset("divergence", "Learning rate too high: divergence",
           "At η = 0.5 every update overshoots once the factors have grown a little: the error and the norms "
           "feed each other until training blows up in the first epochs.",
           settings={"learning_rate": 0.5}, expect=("diverged",)),
    Preset("overfitting", "λ = 0 and 50 factors: overfitting",
           "Nothing holds the 50 factors back: train RMSE keeps falling while test RMSE turns back up.",
           settings={"reg": 0.0, "n_factors": 50}, expect=("overfitting",), avoid=("diverged",)),
    Preset("stalled", "η = 0.002: stuck near zero",
           "A fifteenth of the default step: the biases are learned, but the factors never grow out of their small "
           "start and test RMSE levels off far above the noise floor.",
           settings={"learning_rate": 0.002}, expect=("stalled",), avoid=("diverged",)),
)


def preset_diagnosis(preset: Preset, seed: int) -> tuple[Message, ...]:
    return run(preset.apply(Settings(), seed=seed)).diagnosis
