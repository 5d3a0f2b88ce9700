"""One run of the Recommendations page: data → split → SGD training → what the page draws.

The page calls :func:`run_synthetic` or :func:`run_on_file` with scalar settings (cached on them)
and draws the returned :class:`RecommenderRun`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calc_core.common.gradcheck import GradientCheck, check_gradients
from calc_core.recommender.data import RatingsTable, parse_ratings_text, planted_ratings, train_test_split
from calc_core.recommender.model import MatrixFactorization, TrainingHistory, mf_loss, rmse

GRADIENT_CHECK_BATCH = 32
GRADIENT_CHECK_COORDS = 40


@dataclass(frozen=True)
class RecommenderRun:
    model: MatrixFactorization
    history: TrainingHistory
    n_train: int
    n_test: int
    global_mean_rmse: float  # RMSE on the test set of predicting μ for everything
    noise_floor_rmse: float | None  # RMSE of the clean planted signal (synthetic data only)
    test_ratings: np.ndarray
    test_predictions: np.ndarray
    user_labels: np.ndarray  # how the page names user (item) index k
    item_labels: np.ndarray
    gradient_checks: tuple[GradientCheck, ...]
    gradient_check_batch: int

    @property
    def test_rmse(self) -> float:
        return self.history.test_rmse[-1] if self.history.test_rmse else float("nan")

    @property
    def train_rmse(self) -> float:
        return self.history.train_rmse[-1] if self.history.train_rmse else float("nan")


def gradient_check_on_batch(model: MatrixFactorization, users, items, ratings,
                            batch_size: int = GRADIENT_CHECK_BATCH, seed: int = 0):
    """Check ∂L/∂b_u, ∂L/∂b_i, ∂L/∂P, ∂L/∂Q of the current model on a seeded batch of ratings."""
    pick = np.random.default_rng(seed).choice(len(ratings), min(batch_size, len(ratings)), replace=False)
    u, i, r = users[pick], items[pick], ratings[pick]
    # Only the rows the batch touches have non-zero gradients: check coordinates among those rows.
    touched = {"b_u": np.unique(u), "b_i": np.unique(i), "P": np.unique(u), "Q": np.unique(i)}
    params = {name: value[touched[name]] for name, value in model.params.items()}
    full_grads = model.gradients(u, i, r)
    grads = {name: full_grads[name][touched[name]] for name in params}
    remap_u = np.searchsorted(touched["b_u"], u)
    remap_i = np.searchsorted(touched["b_i"], i)

    def loss(p):
        return mf_loss(p, model.mu, remap_u, remap_i, r, model.reg)

    checks = check_gradients(loss, params, grads, max_coords=GRADIENT_CHECK_COORDS, seed=seed)
    return tuple(checks), int(pick.size)


def _train(users, items, ratings, n_users, n_items, *, test_fraction, n_factors, lr, reg, n_epochs,
           seed, clean=None, user_labels, item_labels) -> RecommenderRun:
    train, test = train_test_split(ratings.size, test_fraction, seed)
    model = MatrixFactorization(n_users, n_items, n_factors, lr=lr, reg=reg, seed=seed)
    eval_set = (users[test], items[test], ratings[test]) if test.size else None
    model.fit(users[train], items[train], ratings[train], n_epochs, eval_set=eval_set)
    mu = float(ratings[train].mean())
    checks, batch = gradient_check_on_batch(model, users[train], items[train], ratings[train], seed=seed)
    return RecommenderRun(
        model=model,
        history=model.history,
        n_train=int(train.size),
        n_test=int(test.size),
        global_mean_rmse=rmse(np.full(test.size, mu), ratings[test]),
        noise_floor_rmse=None if clean is None else rmse(clean[test], ratings[test]),
        test_ratings=ratings[test],
        test_predictions=model.predict(users[test], items[test]),
        user_labels=user_labels,
        item_labels=item_labels,
        gradient_checks=checks,
        gradient_check_batch=batch,
    )


def run_synthetic(n_users: int, n_items: int, density: float, rank: int, noise: float,
                  n_factors: int, lr: float, reg: float, n_epochs: int, test_fraction: float = 0.2,
                  seed: int = 0) -> RecommenderRun:
    """Planted synthetic ratings (see calc_core.recommender.data), trained and evaluated."""
    data = planted_ratings(n_users, n_items, density, rank, noise, seed)
    labels_u, labels_i = np.arange(n_users).astype(str), np.arange(n_items).astype(str)
    return _train(data.users, data.items, data.ratings, n_users, n_items, test_fraction=test_fraction,
                  n_factors=n_factors, lr=lr, reg=reg, n_epochs=n_epochs, seed=seed, clean=data.clean,
                  user_labels=labels_u, item_labels=labels_i)


def run_on_file(content: bytes, n_factors: int, lr: float, reg: float, n_epochs: int,
                test_fraction: float = 0.2, seed: int = 0) -> RecommenderRun:
    """A user's rating file (CSV / MovieLens u.data), parsed, trained and evaluated."""
    table: RatingsTable = parse_ratings_text(content)
    return _train(table.users, table.items, table.ratings, table.n_users, table.n_items,
                  test_fraction=test_fraction, n_factors=n_factors, lr=lr, reg=reg, n_epochs=n_epochs,
                  seed=seed, user_labels=table.user_ids, item_labels=table.item_ids)
