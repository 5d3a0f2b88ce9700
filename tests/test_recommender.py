"""calc_core.recommender.model: gradients, learning, Surprise equivalence, divergence and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calc_core.common.gradcheck import check_gradients
from calc_core.recommender.data import planted_ratings, train_test_split
from calc_core.recommender.model import (
    MatrixFactorization,
    mf_loss,
    rmse,
    sgd_epoch,
    sgd_epoch_python,
)


def small_problem(seed=0, n_users=6, n_items=5, n_ratings=20, n_factors=3):
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n_ratings)
    items = rng.integers(0, n_items, n_ratings)
    ratings = rng.uniform(1, 5, n_ratings)
    model = MatrixFactorization(n_users, n_items, n_factors, lr=0.01, reg=0.3, seed=seed)
    model.fit(users, items, ratings, n_epochs=2)
    # move the biases and factors away from their (small) starting values
    model.b_u[:] = rng.normal(size=n_users)
    model.b_i[:] = rng.normal(size=n_items)
    model.P[:] = rng.normal(size=model.P.shape)
    model.Q[:] = rng.normal(size=model.Q.shape)
    return model, users, items, ratings


@pytest.fixture(scope="module")
def planted():
    data = planted_ratings(300, 200, 0.3, 3, 0.4, seed=1)
    train, test = train_test_split(data.ratings.size, 0.2, seed=1)
    return data, train, test


def test_gradients_match_central_differences_for_every_parameter():
    model, users, items, ratings = small_problem()
    checks = check_gradients(
        lambda p: mf_loss(p, model.mu, users, items, ratings, model.reg),
        model.params,
        model.gradients(users, items, ratings),
    )
    assert [c.name for c in checks] == ["b_u", "b_i", "P", "Q"]
    for check in checks:
        assert check.relative_error < 1e-7, check


@given(
    seed=st.integers(0, 10_000),
    n_users=st.integers(1, 6),
    n_items=st.integers(1, 6),
    n_factors=st.integers(1, 4),
    reg=st.floats(0, 2),
)
@settings(max_examples=40, deadline=None)
def test_gradients_match_central_differences_on_random_problems(seed, n_users, n_items, n_factors, reg):
    model, users, items, ratings = small_problem(seed, n_users, n_items, 12, n_factors)
    model.reg = reg
    for check in check_gradients(
        lambda p: mf_loss(p, model.mu, users, items, ratings, reg),
        model.params,
        model.gradients(users, items, ratings),
    ):
        assert check.relative_error < 1e-6, check


def test_one_sgd_step_is_a_step_of_eta_along_minus_the_gradient_of_that_rating():
    model, users, items, ratings = small_problem(seed=5)
    u, i, r = users[:1], items[:1], ratings[:1]
    before = {k: v.copy() for k, v in model.params.items()}
    grads = model.gradients(u, i, r)
    sgd_epoch(u, i, r, np.array([0]), model.mu, model.b_u, model.b_i, model.P, model.Q,
              model.lr, model.reg, 1e9, np.array([0.0, -1.0]))
    for name in before:
        np.testing.assert_allclose(model.params[name], before[name] - model.lr * grads[name],
                                   rtol=1e-12, atol=1e-15)


def test_compiled_kernel_runs_the_same_arithmetic_as_the_python_source_shown_on_the_page():
    model, users, items, ratings = small_problem(seed=2)
    order = np.random.default_rng(0).permutation(users.size)
    a = {k: v.copy() for k, v in model.params.items()}
    b = {k: v.copy() for k, v in model.params.items()}
    sgd_epoch(users, items, ratings, order, model.mu, a["b_u"], a["b_i"], a["P"], a["Q"], 0.05, 0.1, 1e9, np.array([0.0, -1.0]))
    sgd_epoch_python(users, items, ratings, order, model.mu, b["b_u"], b["b_i"], b["P"], b["Q"], 0.05, 0.1, 1e9, np.array([0.0, -1.0]))
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-12, atol=1e-14)


def test_training_with_surprise_order_and_initialisation_reproduces_surprise_svd():
    """Same data, same start, same visiting order: the parameters must equal Surprise's SVD."""
    pd = pytest.importorskip("pandas")
    surprise = pytest.importorskip("surprise")
    rng = np.random.default_rng(3)
    n_users, n_items, k, seed = 30, 25, 4, 11
    data = planted_ratings(n_users, n_items, 0.4, 2, 0.3, seed=3)
    shuffle = rng.permutation(data.ratings.size)  # raw order → Surprise's inner ids differ from ours
    frame = pd.DataFrame({"u": data.users[shuffle], "i": data.items[shuffle], "r": data.ratings[shuffle]})
    trainset = surprise.Dataset.load_from_df(frame, surprise.Reader(rating_scale=(1, 5))).build_full_trainset()
    svd = surprise.SVD(n_factors=k, n_epochs=7, lr_all=0.02, reg_all=0.05, random_state=seed)
    svd.fit(trainset)

    # Surprise draws p then q from RandomState(seed), in its inner-id order, and visits ratings user by user.
    init = np.random.RandomState(seed)
    pu0 = init.normal(0, 0.1, (trainset.n_users, k))
    qi0 = init.normal(0, 0.1, (trainset.n_items, k))
    raw_u = np.array([trainset.to_raw_uid(u) for u in range(trainset.n_users)])
    raw_i = np.array([trainset.to_raw_iid(i) for i in range(trainset.n_items)])
    visits = np.array(list(trainset.all_ratings()))
    users, items = raw_u[visits[:, 0].astype(int)], raw_i[visits[:, 1].astype(int)]

    model = MatrixFactorization(n_users, n_items, k, lr=0.02, reg=0.05)
    model.P[raw_u], model.Q[raw_i] = pu0, qi0
    model.fit(users, items, visits[:, 2], n_epochs=7, shuffle=False, warm_start=True)

    assert model.mu == pytest.approx(trainset.global_mean, rel=1e-15)
    np.testing.assert_allclose(model.b_u[raw_u], svd.bu, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.b_i[raw_i], svd.bi, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.P[raw_u], svd.pu, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.Q[raw_i], svd.qi, rtol=1e-10, atol=1e-12)
    expected = [svd.predict(u, i).est for u, i in [(0, 0), (3, 7), (12, 20)]]
    np.testing.assert_allclose(model.predict([0, 3, 12], [0, 7, 20]), expected, rtol=1e-10)


def test_regularized_loss_decreases_over_the_first_epochs_at_a_small_learning_rate(planted):
    data, train, _ = planted
    u, i, r = data.users[train], data.items[train], data.ratings[train]
    model = MatrixFactorization(data.n_users, data.n_items, 10, lr=0.005, reg=0.05, seed=0)
    losses = []
    for epochs in range(1, 9):
        losses.append(model.fit(u, i, r, n_epochs=epochs).loss(u, i, r))
    assert np.all(np.diff(losses) < 0), losses


def test_training_recovers_planted_structure_near_the_noise_floor(planted):
    data, train, test = planted
    model = MatrixFactorization(data.n_users, data.n_items, 10, lr=0.03, reg=0.05, seed=0)
    model.fit(data.users[train], data.items[train], data.ratings[train], n_epochs=40,
              eval_set=(data.users[test], data.items[test], data.ratings[test]))
    global_mean_rmse = rmse(np.full(test.size, data.ratings[train].mean()), data.ratings[test])
    noise_floor = rmse(data.clean[test], data.ratings[test])
    test_rmse = model.history.test_rmse[-1]
    assert test_rmse < 0.6 * global_mean_rmse
    assert test_rmse < 1.25 * noise_floor
    assert len(model.history.train_rmse) == len(model.history.test_rmse) == 40


def test_without_regularization_many_factors_overfit(planted):
    data, train, test = planted
    model = MatrixFactorization(data.n_users, data.n_items, 30, lr=0.03, reg=0.0, seed=0)
    model.fit(data.users[train], data.items[train], data.ratings[train], n_epochs=60,
              eval_set=(data.users[test], data.items[test], data.ratings[test]))
    h = model.history
    assert h.train_rmse[-1] < 0.6 * h.test_rmse[-1]
    assert h.test_rmse[-1] > min(h.test_rmse) + 0.05  # the test curve turns back up


def test_same_seed_gives_the_same_model_and_another_seed_does_not(planted):
    data, train, _ = planted
    args = (data.users[train], data.items[train], data.ratings[train])
    a = MatrixFactorization(data.n_users, data.n_items, 5, lr=0.02, seed=4).fit(*args, n_epochs=3)
    b = MatrixFactorization(data.n_users, data.n_items, 5, lr=0.02, seed=4).fit(*args, n_epochs=3)
    c = MatrixFactorization(data.n_users, data.n_items, 5, lr=0.02, seed=5).fit(*args, n_epochs=3)
    np.testing.assert_array_equal(a.P, b.P)
    assert a.history.train_rmse == b.history.train_rmse
    assert not np.allclose(a.P, c.P)


def test_a_too_large_learning_rate_stops_training_with_finite_parameters(planted):
    data, train, test = planted
    model = MatrixFactorization(data.n_users, data.n_items, 10, lr=1.0, reg=0.0, seed=0)
    model.fit(data.users[train], data.items[train], data.ratings[train], n_epochs=20,
              eval_set=(data.users[test], data.items[test], data.ratings[test]))
    assert model.history.diverged and model.history.diverged_epoch == 1
    assert model.history.train_rmse == [] and model.history.test_rmse == []
    assert all(np.all(np.isfinite(v)) for v in model.params.values())
    assert np.all(np.isfinite(model.predict(data.users[test], data.items[test])))


def test_a_stable_learning_rate_is_not_reported_as_divergence(planted):
    data, train, _ = planted
    model = MatrixFactorization(data.n_users, data.n_items, 10, lr=0.2, reg=0.05, seed=0)
    model.fit(data.users[train], data.items[train], data.ratings[train], n_epochs=5)
    assert not model.history.diverged and len(model.history.train_rmse) == 5


def test_unseen_users_and_items_fall_back_to_the_mean_plus_the_known_bias():
    users, items, ratings = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([5.0, 3, 4, 2])
    model = MatrixFactorization(4, 4, 2, lr=0.05, reg=0.0, seed=0).fit(users, items, ratings, n_epochs=5)
    mu, b_u, b_i = model.mu, model.b_u, model.b_i
    unclipped = model.predict([3, 0, 3, 9, 0], [0, 3, 3, 0, 99], clip=False)
    np.testing.assert_allclose(unclipped, [mu + b_i[0], mu + b_u[0], mu, mu + b_i[0], mu + b_u[0]])


def test_predictions_are_clipped_to_the_training_rating_range():
    users, items, ratings = np.array([0, 1, 2]), np.array([0, 1, 2]), np.array([1.0, 5.0, 3.0])
    model = MatrixFactorization(3, 3, 2, seed=0).fit(users, items, ratings, n_epochs=1)
    model.b_u[:] = [10.0, -10.0, 0.0]
    assert list(model.predict([0, 1], [0, 1])) == [5.0, 1.0]


def test_recommend_excludes_rated_items_and_decomposes_each_score(planted):
    data, train, _ = planted
    u, i, r = data.users[train], data.items[train], data.ratings[train]
    model = MatrixFactorization(data.n_users, data.n_items, 5, lr=0.03, seed=0).fit(u, i, r, n_epochs=5)
    rec = model.recommend(7, k=5)
    assert rec.items.size == 5
    assert not set(rec.items) & set(i[u == 7])
    raw = rec.mu + rec.user_bias + rec.item_bias + rec.interaction
    np.testing.assert_allclose(raw, model.predict(np.full(5, 7), rec.items, clip=False))
    unrated = np.setdiff1d(np.arange(data.n_items), i[u == 7])
    best_unrated = np.sort(model.predict(np.full(unrated.size, 7), unrated, clip=False))[::-1][:5]
    np.testing.assert_allclose(np.sort(raw)[::-1], best_unrated)


def test_recommend_for_a_user_who_rated_everything_is_empty():
    model = MatrixFactorization(1, 2, 2).fit([0, 0], [0, 1], [3.0, 4.0], n_epochs=1)
    assert model.recommend(0).items.size == 0


@pytest.mark.parametrize(
    "users, items, ratings, message",
    [
        ([0, 5], [0, 1], [3.0, 4.0], "users contains id 5"),
        ([0, 1], [0, -1], [3.0, 4.0], "negative id"),
        ([0, 1], [0], [3.0, 4.0], "same length"),
        ([0, 1], [0, 1], [3.0, np.nan], "finite"),
        ([0, 1], [0, 1], [3.0, np.inf], "finite"),
        ([], [], [], "no ratings"),
        ([0.5, 1], [0, 1], [3.0, 4.0], "whole-number"),
    ],
)
def test_bad_training_input_raises_a_message_a_user_can_act_on(users, items, ratings, message):
    with pytest.raises(ValueError, match=message):
        MatrixFactorization(3, 3, 2).fit(users, items, ratings)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"n_factors": 0}, "n_factors"), ({"lr": 0}, "lr"), ({"reg": -1}, "reg"),
     ({"lr": float("nan")}, "lr"), ({"n_users": 2.5}, "n_users")],
)
def test_bad_model_settings_raise(kwargs, message):
    settings = {"n_users": 3, "n_items": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        MatrixFactorization(**settings)
