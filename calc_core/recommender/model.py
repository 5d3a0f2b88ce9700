r"""Matrix factorization trained by stochastic gradient descent (the "Netflix" model).

Notation (the page shows the same formulas):

    r̂_ui = μ + b_u + b_i + p_uᵀ q_i                                   prediction
    e_ui = r_ui − r̂_ui                                                 error
    L    = ½ Σ_{(u,i)∈B} [ e_ui² + λ (b_u² + b_i² + ‖p_u‖² + ‖q_i‖²) ]   loss on a batch B

μ is the mean training rating and stays fixed. Differentiating one term ℓ_ui of L:

    ∂ℓ/∂b_u = −e_ui + λ b_u          ∂ℓ/∂p_u = −e_ui q_i + λ p_u
    ∂ℓ/∂b_i = −e_ui + λ b_i          ∂ℓ/∂q_i = −e_ui p_u + λ q_i

and SGD visits the ratings one at a time in a shuffled order, stepping θ ← θ − η ∂ℓ_ui/∂θ:

    b_u ← b_u + η (e_ui − λ b_u)      p_u ← p_u + η (e_ui q_i − λ p_u)
    b_i ← b_i + η (e_ui − λ b_i)      q_i ← q_i + η (e_ui p_u − λ q_i)   (with the old p_u)

This is the update of Surprise's ``SVD`` (and of the tutorial's code). The ½ in L is what makes the
step exactly η: without it every gradient doubles and the same code would be a step of η/2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from calc_core.common.jit import HAVE_NUMBA, compile as _jit
from calc_core.common.validate import whole

# reassociation lets the compiler vectorize the dot products; NaN/inf semantics are kept, because
# divergence detection relies on them.
_FASTMATH = {"reassoc", "contract", "nsz"}


def _compile(function):
    return _jit(function, fastmath=_FASTMATH)


PARAMETER_NAMES = ("b_u", "b_i", "P", "Q")


def sgd_epoch_python(users, items, ratings, order, mu, b_u, b_i, P, Q, lr, reg, blowup, stats):
    """One pass of per-rating SGD in the given order, in place. Returns the position in ``order``
    at which the error became non-finite or larger than ``blowup`` (nothing is updated there),
    or −1 when the pass completed. ``stats`` (2 floats) receives the largest step factor
    η(2 + ‖p_u‖² + ‖q_i‖²) met and the position where it first exceeded 2 (−1: never)."""
    n_factors = P.shape[1]
    for t in range(order.shape[0]):
        k = order[t]
        u = users[k]
        i = items[k]
        # r̂_ui = μ + b_u + b_i + p_uᵀ q_i
        dot = 0.0
        norms = 0.0
        for f in range(n_factors):
            dot += P[u, f] * Q[i, f]
            norms += P[u, f] * P[u, f] + Q[i, f] * Q[i, f]
        # e_ui = r_ui − r̂_ui
        e = ratings[k] - (mu + b_u[u] + b_i[i] + dot)
        if not abs(e) <= blowup:  # also true for NaN
            return t
        # one step changes e by about −η(2 + ‖p_u‖² + ‖q_i‖²)·e: past 2 it overshoots and grows
        factor = lr * (2.0 + norms)
        if factor > stats[0]:
            stats[0] = factor
        if factor > 2.0 and stats[1] < 0:
            stats[1] = t
        # b_u ← b_u + η (e_ui − λ b_u),   b_i ← b_i + η (e_ui − λ b_i)
        b_u[u] += lr * (e - reg * b_u[u])
        b_i[i] += lr * (e - reg * b_i[i])
        for f in range(n_factors):
            p_old = P[u, f]
            q_old = Q[i, f]
            # p_u ← p_u + η (e_ui q_i − λ p_u),   q_i ← q_i + η (e_ui p_u − λ q_i)  (old p_u)
            P[u, f] += lr * (e * q_old - reg * p_old)
            Q[i, f] += lr * (e * p_old - reg * q_old)
    return -1


def _rowwise_dot(P, Q, users, items):
    """p_uᵀ q_i for each (u, i) pair, without building the (n, k) row copies."""
    out = np.empty(users.shape[0])
    for t in range(users.shape[0]):
        u = users[t]
        i = items[t]
        dot = 0.0
        for f in range(P.shape[1]):
            dot += P[u, f] * Q[i, f]
        out[t] = dot
    return out


#: One epoch of per-rating SGD, compiled; ``sgd_epoch_python`` is its source (the page's "code that ran").
sgd_epoch = _compile(sgd_epoch_python)
rowwise_dot = _compile(_rowwise_dot)


def _as_ids(name: str, values, upper: int | None) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of ids, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.issubdtype(array.dtype, np.floating) or not np.all(array == np.round(array)):
            raise ValueError(f"{name} must be whole-number ids, got values like {array[:3]!r}")
    array = array.astype(np.int64)
    if array.size and array.min() < 0:
        raise ValueError(f"{name} contains a negative id ({array.min()}); ids start at 0")
    if upper is not None and array.size and array.max() >= upper:
        raise ValueError(
            f"{name} contains id {array.max()}, but the model was built for ids 0 … {upper - 1}"
        )
    return np.ascontiguousarray(array)


def validate_ratings(users, items, ratings, n_users: int, n_items: int):
    """Check a batch of (user, item, rating) triples and return them as contiguous arrays."""
    users = _as_ids("users", users, n_users)
    items = _as_ids("items", items, n_items)
    ratings = np.ascontiguousarray(np.asarray(ratings, dtype=float))
    if ratings.ndim != 1:
        raise ValueError(f"ratings must be a 1-D array, got shape {ratings.shape}")
    if not (users.size == items.size == ratings.size):
        raise ValueError(
            f"users, items and ratings must have the same length, "
            f"got {users.size}, {items.size} and {ratings.size}"
        )
    if ratings.size == 0:
        raise ValueError("there are no ratings to train on")
    if not np.all(np.isfinite(ratings)):
        bad = int(np.flatnonzero(~np.isfinite(ratings))[0])
        raise ValueError(f"rating #{bad} is {ratings[bad]}; every rating must be a finite number")
    return users, items, ratings


def mf_predict_raw(params, mu, users, items):
    """r̂_ui = μ + b_u + b_i + p_uᵀ q_i for arrays of (known) users and items, unclipped."""
    return (
        mu
        + params["b_u"][users]
        + params["b_i"][items]
        + np.einsum("nk,nk->n", params["P"][users], params["Q"][items])
    )


def mf_loss(params, mu, users, items, ratings, reg) -> float:
    """L = ½ Σ [ e_ui² + λ (b_u² + b_i² + ‖p_u‖² + ‖q_i‖²) ] over the batch."""
    b_u, b_i, P, Q = (params[name] for name in PARAMETER_NAMES)
    # e_ui = r_ui − r̂_ui
    e = ratings - mf_predict_raw(params, mu, users, items)
    penalty = b_u[users] ** 2 + b_i[items] ** 2 + np.sum(P[users] ** 2 + Q[items] ** 2, axis=1)
    return float(0.5 * np.sum(e**2 + reg * penalty))


def mf_gradients(params, mu, users, items, ratings, reg) -> dict[str, np.ndarray]:
    """∂L/∂θ for θ = b_u, b_i, P, Q: each rating adds its term to the rows it touches."""
    b_u, b_i, P, Q = (params[name] for name in PARAMETER_NAMES)
    e = ratings - mf_predict_raw(params, mu, users, items)
    grads = {name: np.zeros_like(params[name], dtype=float) for name in PARAMETER_NAMES}
    # ∂ℓ/∂b_u = −e_ui + λ b_u
    np.add.at(grads["b_u"], users, -e + reg * b_u[users])
    # ∂ℓ/∂b_i = −e_ui + λ b_i
    np.add.at(grads["b_i"], items, -e + reg * b_i[items])
    # ∂ℓ/∂p_u = −e_ui q_i + λ p_u
    np.add.at(grads["P"], users, -e[:, None] * Q[items] + reg * P[users])
    # ∂ℓ/∂q_i = −e_ui p_u + λ q_i
    np.add.at(grads["Q"], items, -e[:, None] * P[users] + reg * Q[items])
    return grads


def rmse(predicted, actual) -> float:
    """Root-mean-square error √(mean (r̂ − r)²)."""
    predicted, actual = np.asarray(predicted, float), np.asarray(actual, float)
    return float(np.sqrt(np.mean((predicted - actual) ** 2))) if actual.size else float("nan")


@dataclass
class TrainingHistory:
    """Per-epoch RMSE (after each completed epoch) and how training ended."""

    train_rmse: list[float] = field(default_factory=list)
    test_rmse: list[float] = field(default_factory=list)
    diverged_epoch: int | None = None  # 1-based epoch in which the updates blew up
    diverged_rating: int | None = None  # how many ratings of that epoch went through first
    step_factor: list[float] = field(default_factory=list)  # largest η(2 + ‖p_u‖² + ‖q_i‖²) per epoch
    first_step_factor: float = float("nan")  # η(2 + ‖p_u‖² + ‖q_i‖²) of the very first update
    overshoot_rating: int | None = None  # ratings done before the factor first passed 2 (counted from the start)
    snapshot_epochs: list[int] = field(default_factory=list)  # epochs whose parameters were kept (0 = the start)
    snapshots: list[dict] = field(default_factory=list)  # b_u, b_i, P, Q after those epochs

    @property
    def diverged(self) -> bool:
        return self.diverged_epoch is not None


@dataclass(frozen=True)
class Recommendation:
    """Top-k items for one user, with each score split into μ + b_u + b_i + p_u·q_i."""

    user: int
    items: np.ndarray
    scores: np.ndarray  # clipped to the rating scale, as predict() returns them
    mu: float
    user_bias: float
    item_bias: np.ndarray
    interaction: np.ndarray  # p_uᵀ q_i


class MatrixFactorization:
    """Biased matrix factorization r̂_ui = μ + b_u + b_i + p_uᵀ q_i, fitted by per-rating SGD.

    Parameters
    ----------
    n_users, n_items : int
        Users and items are ids 0 … n−1.
    n_factors : int
        Length k of p_u and q_i.
    lr : float
        Learning rate η.
    reg : float
        Regularization λ.
    init_std : float
        p_u and q_i start as N(0, init_std²) draws; the biases start at 0.
    seed : int
        Seeds the initial factors and the shuffle of every epoch: same seed, same model.
    """

    def __init__(self, n_users, n_items, n_factors=20, lr=0.005, reg=0.02, init_std=0.1, seed=0):
        self.n_users = _positive_int("n_users", n_users)
        self.n_items = _positive_int("n_items", n_items)
        self.n_factors = _positive_int("n_factors", n_factors)
        for name, value in (("lr", lr), ("reg", reg), ("init_std", init_std)):
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number ≥ 0, got {value}")
        if lr == 0:
            raise ValueError("lr must be positive: with a learning rate of 0 nothing is learned")
        self.lr, self.reg, self.init_std, self.seed = float(lr), float(reg), float(init_std), seed
        self.history = TrainingHistory()
        self._initialize(np.random.default_rng(seed))
        self.mu = 0.0
        self.rating_range = (-np.inf, np.inf)
        self.user_known = np.zeros(self.n_users, dtype=bool)
        self.item_known = np.zeros(self.n_items, dtype=bool)
        self._train_users = np.empty(0, np.int64)
        self._train_items = np.empty(0, np.int64)

    def _initialize(self, rng):
        self.b_u = np.zeros(self.n_users)
        self.b_i = np.zeros(self.n_items)
        self.P = rng.normal(0.0, self.init_std, (self.n_users, self.n_factors))
        self.Q = rng.normal(0.0, self.init_std, (self.n_items, self.n_factors))

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {"b_u": self.b_u, "b_i": self.b_i, "P": self.P, "Q": self.Q}

    def fit(self, users, items, ratings, n_epochs=20, *, eval_set=None, shuffle=True,
            warm_start=False, keep_epochs=()):
        """Per-rating SGD for ``n_epochs`` passes over the training ratings.

        ``eval_set=(users, items, ratings)`` adds a test-RMSE curve to ``history``. With
        ``shuffle=False`` the ratings are visited in the given order (as Surprise does); with
        ``warm_start=True`` training continues from the current parameters. If an update blows
        up (non-finite, or an error beyond 1000× the rating scale) training stops, the
        parameters are those after the last finished epoch, and ``history.diverged_epoch`` says
        which epoch failed. ``keep_epochs`` names epochs (0 = the start) whose parameters are kept
        in ``history.snapshots``. Returns self.
        """
        users, items, ratings = validate_ratings(users, items, ratings, self.n_users, self.n_items)
        n_epochs = _positive_int("n_epochs", n_epochs)
        if eval_set is not None:
            eval_set = validate_ratings(*eval_set, self.n_users, self.n_items)
        rng = np.random.default_rng(self.seed)
        if not warm_start:
            self._initialize(rng)
        self.mu = float(ratings.mean())
        self.rating_range = (float(ratings.min()), float(ratings.max()))
        self.user_known[:] = False
        self.user_known[users] = True
        self.item_known[:] = False
        self.item_known[items] = True
        index = np.int32 if max(self.n_users, self.n_items) < 2**31 else np.int64  # half the memory of a kept model
        self._train_users, self._train_items = users.astype(index), items.astype(index)
        scale = max(1.0, float(np.max(np.abs(ratings))))
        blowup = 1e3 * scale
        shuffle_rng = np.random.default_rng([self.seed, 1])
        in_order = np.arange(ratings.size, dtype=np.int64)
        self.history = history = TrainingHistory()
        keep = set(int(e) for e in keep_epochs)
        if 0 in keep:
            history.snapshot_epochs.append(0)
            history.snapshots.append({name: value.copy() for name, value in self.params.items()})
        done_before = 0
        for epoch in range(1, n_epochs + 1):
            order = shuffle_rng.permutation(ratings.size) if shuffle else in_order
            if epoch == 1:
                k = order[0]
                u, i = users[k], items[k]
                history.first_step_factor = self.lr * (2.0 + float(self.P[u] @ self.P[u] + self.Q[i] @ self.Q[i]))
            saved = {name: value.copy() for name, value in self.params.items()}
            stats = np.array([0.0, -1.0])
            stopped_at = sgd_epoch(users, items, ratings, order, self.mu, self.b_u, self.b_i,
                                   self.P, self.Q, self.lr, self.reg, blowup, stats)
            history.step_factor.append(float(stats[0]))
            if stats[1] >= 0 and history.overshoot_rating is None:
                history.overshoot_rating = done_before + int(stats[1])
            done_before += ratings.size
            if stopped_at >= 0 or not all(np.all(np.isfinite(v)) for v in self.params.values()):
                self.b_u, self.b_i, self.P, self.Q = (saved[n] for n in PARAMETER_NAMES)
                history.diverged_epoch = epoch
                history.diverged_rating = int(stopped_at) if stopped_at >= 0 else None
                if keep and (not history.snapshot_epochs or history.snapshot_epochs[-1] != epoch - 1):
                    # the last finished epoch, which the model now holds, is the run's last snapshot
                    history.snapshot_epochs.append(epoch - 1)
                    history.snapshots.append({name: value.copy() for name, value in self.params.items()})
                break
            if epoch in keep:
                history.snapshot_epochs.append(epoch)
                history.snapshots.append({name: value.copy() for name, value in self.params.items()})
            self.history.train_rmse.append(rmse(self.predict(users, items), ratings))
            if eval_set is not None:
                self.history.test_rmse.append(rmse(self.predict(eval_set[0], eval_set[1]),
                                                   eval_set[2]))
        return self

    def _components(self, users, items):
        """μ, b_u, b_i and p_uᵀ q_i per pair, zero for users or items unseen in training."""
        users = _as_ids("users", users, None)
        items = _as_ids("items", items, None)
        if users.size != items.size:
            raise ValueError(f"users and items must have the same length, got {users.size} "
                             f"and {items.size}")
        user_ok = users < self.n_users
        user_ok[user_ok] = self.user_known[users[user_ok]]
        item_ok = items < self.n_items
        item_ok[item_ok] = self.item_known[items[item_ok]]
        u = np.where(user_ok, users, 0)
        i = np.where(item_ok, items, 0)
        user_bias = np.where(user_ok, self.b_u[u], 0.0)
        item_bias = np.where(item_ok, self.b_i[i], 0.0)
        interaction = np.where(user_ok & item_ok, rowwise_dot(self.P, self.Q, u, i), 0.0)
        return user_bias, item_bias, interaction

    def predict(self, users, items, clip=True):
        """r̂_ui for arrays of users and items. A user (item) unseen in training contributes no
        bias and no factor term, so the prediction falls back to μ + the known bias (or μ).
        With ``clip`` the prediction is held to the range of the training ratings."""
        user_bias, item_bias, interaction = self._components(users, items)
        prediction = self.mu + user_bias + item_bias + interaction
        return np.clip(prediction, *self.rating_range) if clip else prediction

    def rated_items(self, user) -> np.ndarray:
        """Items the user rated in the training data."""
        return np.unique(self._train_items[self._train_users == user])

    def recommend(self, user, k=5) -> Recommendation:
        """The k highest-scoring items the user has not rated in training."""
        user = int(user)
        if not 0 <= user < self.n_users:
            raise ValueError(f"user {user} is out of range 0 … {self.n_users - 1}")
        k = _positive_int("k", k)
        candidates = np.setdiff1d(np.arange(self.n_items), self.rated_items(user))
        if candidates.size == 0:
            empty = np.empty(0)
            return Recommendation(user, np.empty(0, np.int64), empty, self.mu, 0.0, empty, empty)
        users = np.full(candidates.size, user)
        user_bias, item_bias, interaction = self._components(users, candidates)
        raw = self.mu + user_bias + item_bias + interaction
        top = np.argsort(-raw, kind="stable")[:k]
        return Recommendation(
            user, candidates[top], np.clip(raw[top], *self.rating_range), self.mu,
            float(user_bias[0]), item_bias[top], interaction[top],
        )

    def loss(self, users, items, ratings) -> float:
        """Regularized loss L on a batch (see the module docstring)."""
        users, items, ratings = validate_ratings(users, items, ratings, self.n_users, self.n_items)
        return mf_loss(self.params, self.mu, users, items, ratings, self.reg)

    def gradients(self, users, items, ratings) -> dict[str, np.ndarray]:
        """∂L/∂b_u, ∂L/∂b_i, ∂L/∂P, ∂L/∂Q on a batch, as arrays shaped like the parameters."""
        users, items, ratings = validate_ratings(users, items, ratings, self.n_users, self.n_items)
        return mf_gradients(self.params, self.mu, users, items, ratings, self.reg)


def _positive_int(name, value) -> int:
    return whole(name, value, 1)
