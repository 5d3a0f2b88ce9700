"""calc_core.recommender.lab: the page's run, its gradient check of the code that trained, its
diagnosis and lessons — the statements the page makes, tested as numbers."""

import numpy as np
import pytest

from calc_core.common.messages import codes
from calc_core.recommender import lab
from calc_core.recommender.data import expected_clipped, parse_ratings_text, planted_ratings
from calc_core.recommender.model import sgd_epoch_python


def corrupted_epoch(users, items, ratings, order, mu, b_u, b_i, P, Q, lr, reg, blowup, stats):
    """A plausible bug: λ's sign flipped and the updated p_u used in the q_i step."""
    for t in range(order.shape[0]):
        k = order[t]
        u, i = users[k], items[k]
        e = ratings[k] - (mu + b_u[u] + b_i[i] + P[u] @ Q[i])
        b_u[u] += lr * (e + reg * b_u[u])
        b_i[i] += lr * (e + reg * b_i[i])
        P[u] += lr * (e * Q[i] + reg * P[u])
        Q[i] += lr * (e * P[u] + reg * Q[i])
    return -1


def test_the_check_reads_the_gradient_off_the_training_loop_and_passes_it():
    result = lab.run(lab.Settings())
    assert [c.verdict for c in result.gradient_checks] == ["pass"] * 4
    assert result.gradient_checks[2].size == result.gradient_check_ratings * 10  # p_u of every checked rating


def test_a_corrupted_update_trains_badly_and_the_check_fails_it():
    result = lab.run(lab.Settings())
    model = result.model
    users, items = model._train_users, model._train_items
    ratings = np.clip(np.round(model.predict(users, items)), 1, 5)  # any ratings: the check is per rating
    assert all(c.verdict == "pass" for c in lab.sgd_gradient_checks(model, users, items, ratings))
    bad = lab.sgd_gradient_checks(model, users, items, ratings, epoch=corrupted_epoch)
    assert {"b_u", "b_i", "P", "Q"} == {c.name for c in bad if c.verdict == "fail"}


def test_the_python_loop_shown_on_the_page_is_what_the_check_runs_through():
    result = lab.run(lab.Settings(n_epochs=3))
    model = result.model
    users, items = model._train_users[:40], model._train_items[:40]
    ratings = np.full(40, 4.0)
    compiled, _ = lab.applied_gradients(model, users, items, ratings)
    python, _ = lab.applied_gradients(model, users, items, ratings, epoch=sgd_epoch_python)
    for name in compiled:
        np.testing.assert_allclose(compiled[name], python[name], rtol=1e-9, atol=1e-12)


SWEEP = [lab.Settings(reg=reg, learning_rate=lr, n_factors=k, seed=seed, n_epochs=12)
         for reg in (0.0, 0.3, 0.5, 0.52, 1.0) for lr in (0.005, 0.03, 0.15) for k in (1, 10, 50) for seed in (0, 3)]


@pytest.mark.slow
def test_over_a_sweep_a_correct_gradient_never_fails_a_wrong_one_never_passes_and_few_are_flat():
    verdicts = {"pass": 0, "fail": 0, "flat": 0}
    for settings in SWEEP:
        result = lab.run(settings)
        for check in result.gradient_checks:
            verdicts[check.verdict] += 1
        model = result.model
        users, items = model._train_users, model._train_items
        pick = slice(0, 12)
        ratings = model.predict(users, items)[pick] + 0.5
        grads, rounding = lab.applied_gradients(model, users[pick], items[pick], ratings)
        params = {"b_u": model.b_u[users[pick]], "b_i": model.b_i[items[pick]], "P": model.P[users[pick]],
                  "Q": model.Q[items[pick]]}
        from calc_core.common.gradcheck import check_gradients
        for mode in ("scale", "flip"):
            wrong = {k: v * (1 + 1e-4) for k, v in grads.items()} if mode == "scale" else \
                {k: v.copy() for k, v in grads.items()}
            if mode == "flip":
                for v in wrong.values():
                    v.flat[np.argmax(np.abs(v))] *= -1
            for check in check_gradients(lambda p: float(lab.per_rating_loss_change(p, params, model.mu, ratings,
                                                                                    model.reg)),
                                         params, wrong, analytic_error=rounding):
                assert check.verdict != "pass", (settings, mode, check.name)
    assert verdicts["fail"] == 0, verdicts
    assert verdicts["flat"] <= 0.05 * sum(verdicts.values()), verdicts


def test_a_file_that_rates_a_pair_twice_is_trained_on_and_checked_per_rating():
    rows = "".join(f"{u},{i},{(u * 7 + i) % 5 + 1}\n" for u in range(1, 30) for i in range(1, 12))
    data = ("1,1,5\n1,1,1\n" * 3 + rows).encode()
    result = lab.run(lab.Settings(source="upload", upload=data))
    assert result.duplicate_pairs == 1  # one pair, (1, 1), is rated 7 times: 6 of them repeat it
    assert result.repeat_ratings == 6
    assert "1 user–item pair more than once (6 ratings beyond" in next(
        m.what for m in result.diagnosis if m.code == "duplicates")
    assert "duplicates" in codes(result.diagnosis)
    assert all(c.verdict != "fail" for c in result.gradient_checks)


def test_ratings_of_absurd_size_are_refused_with_a_clear_message():
    data = "".join(f"{u},{i},1e308\n" for u in range(20) for i in range(3)).encode()
    with pytest.raises(ValueError, match="outside ±10,000"):
        lab.run(lab.Settings(source="upload", upload=data))


def test_a_semicolon_file_with_decimal_commas_is_read():
    table = parse_ratings_text(b"user;item;rating\n" + b"".join(b"%d;%d;3,5\n" % (u, u % 4) for u in range(12)))
    assert table.delimiter == ";" and table.skipped_header and table.decimal_comma
    np.testing.assert_array_equal(table.ratings, np.full(12, 3.5))


def test_the_noise_floor_is_the_rmse_of_the_best_prediction_not_of_the_clipped_signal():
    """At σ = 1.5 the clipped clean signal is not the best prediction: E[r | signal] beats it."""
    data = planted_ratings(300, 200, 0.3, 3, 1.5, 0)
    clean = np.sqrt(np.mean((data.clean - data.ratings) ** 2))
    best = np.sqrt(np.mean((data.expected - data.ratings) ** 2))
    assert best < clean - 0.01
    assert best < 1.5  # and it is not "about σ"


def test_the_expected_clipped_rating_matches_monte_carlo():
    rng = np.random.default_rng(0)
    for mean, sigma in ((0.5, 1.0), (3.0, 1.5), (5.5, 0.3), (2.0, 0.0)):
        draws = np.clip(mean + sigma * rng.standard_normal(400_000), 1, 5)
        tolerance = 5 * max(draws.std(), 1e-12) / np.sqrt(draws.size)  # five standard errors
        assert abs(expected_clipped(mean, sigma) - draws.mean()) <= tolerance + 1e-12


def test_divergence_is_explained_by_the_step_factor_it_reports():
    """At η = 0.5 the factor η(2 + ‖p‖² + ‖q‖²) starts near 1.07 and crosses 2 before the blow-up."""
    for seed in range(5):
        result = lab.run(lab.Settings(learning_rate=0.5, seed=seed))
        d = result.divergence
        assert d is not None
        assert 1.0 < d.first_factor < 1.2
        assert d.overshoot_rating is not None and d.overshoot_rating < d.total_ratings
        message = next(m for m in result.diagnosis if m.code == "diverged")
        assert f"{d.first_factor:.2f}" in message.why and f"{d.overshoot_rating:,}" in message.why


def test_snapshots_keep_the_parameters_of_at_most_41_epochs_within_the_size_budget():
    result = lab.run(lab.Settings(n_users=1000, n_items=1000, n_factors=50, n_epochs=100, density=0.05))
    snaps = result.snapshots
    assert 2 <= len(snaps) <= 41 and snaps.steps[0] == 0 and snaps.steps[-1] == 100
    assert snaps.nbytes <= 8 * 2**20
    np.testing.assert_array_equal(snaps.at(-1)["P"], result.model.P)
    early = lab.predictions_at(result, 0)
    assert np.sqrt(np.mean((early - result.test_ratings) ** 2)) > result.test_final


def test_the_overfitting_lesson_is_test_rmse_rising_while_train_rmse_falls():
    result = lab.run(next(p for p in lab.PRESETS if p.name == "overfitting").apply(lab.Settings()))
    best = int(np.argmin(result.test_rmse))
    assert result.test_rmse[-1] > result.test_rmse[best] + 0.02
    assert result.train_rmse[-1] < result.train_rmse[best]


@pytest.mark.parametrize("bad", [dict(learning_rate=0.0), dict(learning_rate=float("inf")), dict(n_epochs=0),
                                 dict(n_factors=1.5), dict(seed=-1), dict(source="nope"), dict(source="upload")])
def test_bad_settings_raise_a_clear_value_error(bad):
    with pytest.raises(ValueError):
        lab.run(lab.Settings(**bad))


@pytest.mark.parametrize("settings", [dict(noise=0.0, seed=0), dict(learning_rate=0.3, n_factors=1, seed=4),
                                      dict(learning_rate=0.3, n_factors=1, seed=8)])
def test_a_fit_that_levelled_off_with_grown_factors_is_not_said_to_be_stuck_at_zero(settings):
    result = lab.run(lab.Settings(**settings))
    codes = [m.code for m in result.diagnosis]
    assert "stalled" not in codes and "levelled_off" in codes, codes
    message = next(m for m in result.diagnosis if m.code == "levelled_off")
    start = float(np.sqrt(np.mean(result.snapshots.states["P"][0] ** 2)))
    assert message.numbers["factor_rms"] > lab.FACTORS_GREW * start
    assert "did grow" in message.why and f"k = {result.settings.n_factors} factor" in message.why


@pytest.mark.parametrize("seed", range(5))
def test_the_stalled_lesson_says_the_factors_stayed_near_their_start(seed):
    result = lab.run(lab.Settings(learning_rate=0.002, seed=seed))
    message = next(m for m in result.diagnosis if m.code == "stalled")
    start = float(np.sqrt(np.mean(result.snapshots.states["P"][0] ** 2)))
    assert message.numbers["factor_rms"] <= lab.FACTORS_GREW * start and "barely left their start" in message.why


def test_still_learning_names_the_epochs_it_compares():
    result = lab.run(lab.Settings(learning_rate=0.0005, n_epochs=5))
    message = next(m for m in result.diagnosis if m.code == "still_learning")
    test = result.test_rmse
    assert f"from {test[0]:.3f} in epoch 1 to {test[-1]:.3f} in epoch 5" in message.what
    assert "in 4 epochs" in message.what


def test_a_test_rmse_below_the_noise_floor_is_said_to_be_below_it_by_luck():
    result = lab.run(lab.Settings(n_users=20, n_items=20, density=0.01, seed=8))
    gap = result.test_final - result.noise_floor_rmse
    assert gap < 0
    message = next(m for m in result.diagnosis if m.code == "near_floor")
    assert f"is {-gap:.3f} below" in message.what and "within" not in message.what and "luck" in message.what


def upload_of(n: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return "\n".join(f"{u}\t{i}\t{r}" for u, i, r in zip(rng.integers(0, 500, n), rng.integers(0, 300, n),
                                                         rng.integers(1, 6, n))).encode()


def test_a_cached_upload_result_keeps_neither_the_file_nor_a_second_copy_of_its_snapshots():
    import pickle

    data = upload_of(60_000)
    result = lab.run(lab.Settings(source="upload", upload=data, n_epochs=5))
    assert result.settings.upload is None and result.settings.source == "upload"
    assert result.model.history.snapshots == [] and len(result.snapshots) > 0
    assert len(pickle.dumps(result)) < 2.5 * len(data), "the cached result costs more than the file it came from"


def test_a_training_beyond_the_live_budget_is_refused_with_the_epochs_that_would_fit(monkeypatch):
    data = upload_of(5_000)
    n_train = int(round(5_000 * 0.8))
    monkeypatch.setattr(lab, "WORK_BUDGET", n_train * 12 * 7)  # 7 epochs of k = 10 fit
    with pytest.raises(ValueError, match="Use at most 7 epochs at k = 10"):
        lab.run(lab.Settings(source="upload", upload=data, n_epochs=8))
    assert lab.run(lab.Settings(source="upload", upload=data, n_epochs=7)).test_rmse.size == 7


def test_the_largest_synthetic_settings_fit_the_live_budget():
    s = lab.Settings(n_users=1000, n_items=1000, density=0.3, test_fraction=0.1, n_factors=50, n_epochs=100)
    assert s.n_users * s.n_items * s.density * (1 - s.test_fraction) * s.n_epochs * (s.n_factors + 2) <= lab.WORK_BUDGET


def _scaled_file(scale: float, seed: int = 0) -> bytes:
    data = planted_ratings(300, 200, 0.3, 3, 0.4, seed)
    return "".join(f"{u},{i},{(r - 1) * scale:.3f}\n" for u, i, r in zip(data.users, data.items, data.ratings)).encode()


@pytest.mark.parametrize("scale", [25, 250, 2500])  # 0–100, 0–1000, 0–10,000 points
def test_a_wide_rating_scale_is_told_a_learning_rate_that_trains_it(scale):
    """The stable step shrinks as the ratings spread wider: the default η = 0.03 blows up on scores
    out of 100, and the hint names learning rates of the page's choices that train — checked at both
    ends of the range it gives, on three files."""
    result = lab.run(lab.Settings(source="upload", upload=_scaled_file(scale)))
    message = next(m for m in result.diagnosis if m.code == "diverged")
    low, high = message.numbers["stable_low"], message.numbers["stable_high"]
    assert low in lab.LEARNING_RATES and high in lab.LEARNING_RATES and high < 0.03
    assert f"{low:g}–{high:g}" in message.try_instead[0] and "spread" in message.try_instead[0]
    assert not any("λ" in hint for hint in message.try_instead)  # λ up to 1 does not hold scores out of 100
    for seed in range(3):
        for eta in (low, high):
            trained = lab.run(lab.Settings(source="upload", upload=_scaled_file(scale, seed), learning_rate=eta,
                                           seed=seed))
            assert trained.divergence is None, (scale, seed, eta)
            assert trained.test_final < 0.75 * trained.global_mean_rmse  # it learned, not merely survived


def test_stars_keep_the_stars_hint():
    message = next(m for m in lab.run(lab.Settings(learning_rate=0.5)).diagnosis if m.code == "diverged")
    assert message.try_instead[0] == "Lower the learning rate (0.01–0.05 works here)."


def test_a_file_of_strangers_is_refused_before_it_fills_the_memory():
    """Every row a new user and a new item: 1.1 million rows would be 2.2 million ids, a model
    too large to train live and keep snapshots of (it took 9 GB before the cap)."""
    data = "".join(f"u{k},i{k},{1 + k % 5}\n" for k in range(200_000)).encode()
    with pytest.raises(ValueError, match=r"400,000 distinct users and items × \(k \+ 1\) = 4,400,000 numbers to train; "
                                         r"this lab holds at most 500,000 per run\. Use a sample"):
        lab.run(lab.Settings(source="upload", upload=data))
    with pytest.raises(ValueError, match=r"Use at most 3 latent factors, or a sample"):  # 120,000 × 4 fits
        lab.run(lab.Settings(source="upload", upload="".join(f"u{k},i{k},1\n" for k in range(60_000)).encode()))


@pytest.mark.parametrize("rows, items, kept", [(24_000, 16_000, 2), (6_000, 2_000, 5)])
def test_a_large_model_keeps_as_few_snapshots_as_its_budget_allows_while_it_trains(rows, items, kept):
    import tracemalloc

    data = "".join(f"u{k},i{k % items},{1 + k % 5}\n" for k in range(rows)).encode()
    lab.read_upload(data)  # reading the text is not what is measured
    tracemalloc.start()
    try:
        result = lab.run(lab.Settings(source="upload", upload=data, n_factors=10, n_epochs=30))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    per_snapshot = (rows + items) * 11 * 8  # b_u, b_i, P and Q of every user and item
    assert len(result.snapshots) == kept == max(2, lab.SNAPSHOT_BUDGET // per_snapshot)  # not 31, thinned later
    # 31 kept epochs of 40,000 ids held 109 MB before they were thinned
    assert peak < 12 * per_snapshot + 20 * 2**20, f"{peak / 2**20:.0f} MB"
    assert "cold_start" in codes(result.diagnosis)


def test_ratings_that_are_all_the_same_say_there_is_nothing_to_learn():
    data = "".join(f"{u},{i},4\n" for u in range(20) for i in range(5)).encode()
    result = lab.run(lab.Settings(source="upload", upload=data))
    assert codes(result.diagnosis) == {"constant"} and "is 4" in result.diagnosis[0].title


def test_test_ratings_of_users_never_trained_on_are_said_to_be_out_of_reach():
    rows = [f"{u},{i},{(u * 3 + i) % 5 + 1}" for u in range(40) for i in range(8)]
    rows += [f"lone{k},{k % 8},{k % 5 + 1}" for k in range(60)]  # 60 users with one rating each
    result = lab.run(lab.Settings(source="upload", upload="\n".join(rows).encode()))
    unseen = result.unseen_test
    known = set(result.test_users[np.asarray(result.model.user_known)[result.test_users]])
    assert unseen == sum(1 for u in result.test_users if u not in known)
    assert unseen >= 0.1 * result.n_test and "cold_start" in codes(result.diagnosis)
    message = next(m for m in result.diagnosis if m.code == "cold_start")
    assert f"{unseen:,} of the {result.n_test:,} test ratings" in message.what


def test_rows_left_out_of_a_file_are_said_with_the_first_of_them():
    rows = "".join(f"{u},{i},{(u + 2 * i) % 5 + 1}\n" for u in range(30) for i in range(10))
    result = lab.run(lab.Settings(source="upload", upload=(rows + "3,4,?\n").encode()))
    message = next(m for m in result.diagnosis if m.code == "skipped_rows")
    assert message.title == "1 row of the file left out."
    assert "line 301: the rating '?' is not a number" in message.what
    assert f"the other {result.n_train + result.n_test:,} ratings are used" in message.what


def test_a_run_that_diverges_between_kept_epochs_ends_its_snapshots_at_the_last_finished_epoch():
    """Kept epochs are chosen before training; a blow-up between two of them used to leave the
    start as the last snapshot, shown as "before training" beside the trained model."""
    result = lab.run(lab.Settings(learning_rate=0.3, n_epochs=100, n_factors=50, reg=0.0))  # kept: 0, 2, 5, …
    assert result.divergence is not None and result.divergence.epoch >= 2
    finished = result.divergence.epoch - 1
    assert int(result.snapshots.steps[-1]) == finished == result.train_rmse.size
    last = lab.model_at(result, len(result.snapshots) - 1)
    np.testing.assert_array_equal(last.P, result.model.P)
    np.testing.assert_array_equal(result.snapshots.states["P"][-1], result.model.P)


@pytest.mark.parametrize("value", [0.1, 4.3, 3.0])
def test_ratings_that_are_all_the_same_are_said_whatever_their_mean_rounds_to(value):
    data = "".join(f"{u},{i},{value}\n" for u in range(20) for i in range(5)).encode()
    result = lab.run(lab.Settings(source="upload", upload=data))
    assert result.rating_spread == 0 and codes(result.diagnosis) == {"constant"}
    assert result.diagnosis[0].title == f"Every training rating is {value:g}."
