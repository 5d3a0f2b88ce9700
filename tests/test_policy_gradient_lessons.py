"""The data behind the policy-gradient page: the baseline lesson, the policy map, replays and the
gradient check of the code that trained."""

import numpy as np
import pytest

from calc_core.common.gradcheck import GradientCheck
from calc_core.policy_gradient import cartpole, checks as checks_module
from calc_core.policy_gradient.checks import log_prob_checks, training_gradient_checks
from calc_core.policy_gradient.network import action_probs, init_policy, log_prob_gradient, policy_backward
from calc_core.policy_gradient.reinforce import policy_gradient_estimate, step_weights, train
from calc_core.policy_gradient.rollout import draw_episode_noise, rollout_compiled
from calc_core.policy_gradient.variance import gradient_variance
from calc_core.policy_gradient.views import Replay, initial_params, policy_map, policy_maps, replay_episode

STATE_HIGH = np.array([2.4, 2.0, 0.21, 2.0])


@pytest.fixture(scope="module")
def trained():
    return train(seed=0)


@pytest.fixture(scope="module")
def collapsed():
    return train(learning_rate=0.5, seed=0, episodes=200)


def test_initial_params_are_the_ones_train_starts_from():
    result = train(episodes=5, episodes_per_update=5, seed=3, hidden_units=7)
    start = initial_params(hidden_units=7, seed=3)
    for name, value in result.snapshots.at(0).items():
        np.testing.assert_array_equal(start[name], value)


# ----------------------------------------------------------------------------- the baseline lesson

def test_the_value_baseline_cuts_the_spread_of_the_estimate_on_the_same_scale_and_normalizing_rescales_it():
    variance = gradient_variance(initial_params(16, 0), gamma=0.99, seed=0, batches=60)
    assert variance.baselines == ("none", "normalize", "value") and variance.grad_norms.shape == (3, 60)
    none, normalize, value = (variance.index(b) for b in variance.baselines)
    # b(s) = V(s) does not depend on the action: same E ĝ, smaller tr Cov ĝ, compared directly
    assert variance.total_std[value] < 0.8 * variance.total_std[none]
    assert variance.signal[value] == pytest.approx(variance.signal[none], rel=0.3)
    # dividing by σ_G rescales E ĝ: ‖E ĝ‖ normalized is several times smaller
    assert variance.signal[normalize] < 0.3 * variance.signal[none]
    # scale-free: noise per unit of signal, and the paired bootstrap resolves the value baseline's gain
    assert variance.noisier("none", "value")
    ratio, low, high = variance.noise_ratio("none", "value")
    assert low <= ratio <= high and low > 1
    # the mean directions agree, and 60 batches pin the cosines down
    assert np.all(variance.cosine_to_none > 0.9) and variance.cosine_resolved.all()
    assert np.all(variance.cosine_range[:, 0] <= variance.cosine_to_none + 1e-12)
    assert 10 < variance.mean_return < 40  # a coin-flip policy keeps the pole up ~20 steps


def test_gradient_variance_statistics_agree_with_the_per_batch_norms():
    variance = gradient_variance(initial_params(4, 1), seed=2, batches=8, episodes_per_batch=2)
    # ‖ĝ_k‖² averaged over batches = ‖mean ĝ‖² + (B − 1)/B · tr Cov ĝ
    lhs = np.mean(variance.grad_norms**2, axis=1)
    rhs = variance.mean_gradient_norm**2 + (7 / 8) * variance.total_std**2
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10)
    # ‖E ĝ‖² ≈ ‖mean ĝ‖² − tr Cov ĝ / B: noise does not average out of a norm
    expected = np.sqrt(np.maximum(variance.mean_gradient_norm**2 - variance.total_std**2 / 8, 0))
    np.testing.assert_allclose(variance.signal, expected, rtol=1e-10)
    finite = variance.signal > 0
    np.testing.assert_allclose(variance.relative_std[finite], variance.total_std[finite] / variance.signal[finite])


def test_the_spread_of_the_estimate_matches_a_fresh_monte_carlo_of_the_same_estimator():
    """An independent check of the lesson's numbers: ĝ of 200 more batches at θ₀ with no baseline, made
    with the estimator training uses; its tr Cov agrees with the lesson's within sampling error."""
    params = initial_params(8, 4)
    lesson = gradient_variance(params, seed=4, batches=60, episodes_per_batch=3)
    rng = np.random.default_rng(99)
    fresh = np.array([np.concatenate([g.ravel() for g in policy_gradient_estimate(
        params, rollout_compiled(params, *draw_episode_noise(rng, 3)), 0.99, "none").grads.values()])
        for _ in range(200)])
    trace = np.sum(fresh.var(axis=0, ddof=1))
    assert lesson.total_std[0] ** 2 == pytest.approx(trace, rel=0.35)


def test_relative_gradient_norms_put_every_baseline_on_the_scale_of_its_mean_gradient():
    variance = gradient_variance(initial_params(4, 1), seed=2, batches=6, episodes_per_batch=2)
    np.testing.assert_allclose(variance.relative_grad_norms * variance.mean_gradient_norm[:, None],
                               variance.grad_norms, rtol=1e-12)
    # γ = 0: every G_t = 1, so normalizing leaves A_t = 0 and ĝ ≡ 0 — no scale, NaN rather than 0/0 warnings
    flat = gradient_variance(initial_params(4, 1), gamma=0.0, seed=2, batches=3, episodes_per_batch=2)
    assert np.all(np.isnan(flat.relative_grad_norms[1])) and np.all(np.isfinite(flat.relative_grad_norms[0]))
    assert flat.relative_std[1] == np.inf and not flat.cosine_resolved[1]


# ----------------------------------------------------------------------------- the policy map and replays

def test_policy_map_is_the_policy_on_the_grid_of_angle_and_angular_velocity():
    params = init_policy(6, np.random.default_rng(4))
    grid = policy_map(params, n_angles=7, n_velocities=5, max_angular_velocity=1.5)
    assert grid.p_right.shape == (5, 7)
    assert grid.angles[0] == pytest.approx(-cartpole.THETA_THRESHOLD)
    assert grid.angular_velocities[-1] == pytest.approx(1.5)
    state = np.array([[0.0, 0.0, grid.angles[2], grid.angular_velocities[3]]])
    assert grid.p_right[3, 2] == pytest.approx(action_probs(params, state)[0, 1], rel=1e-12)


def test_policy_maps_of_snapshots_are_each_snapshots_policy_map(trained):
    stacked = {k: v[[0, -1]] for k, v in trained.snapshots.states.items()}
    maps = policy_maps(stacked)
    assert maps.p_right.shape == (2, 41, 41)
    np.testing.assert_allclose(maps.at(1).p_right, policy_map(trained.params).p_right, rtol=1e-12)


def test_trained_policy_pushes_the_cart_under_a_falling_pole(trained):
    grid = policy_map(trained.params)
    # pole falling to the right (θ > 0, θ̇ > 0): push right; falling left: push left
    assert grid.p_right[-1, -1] > 0.95 and grid.p_right[0, 0] < 0.05


def test_replay_follows_the_dynamics_and_ends_as_the_episode_ends(trained):
    replay = replay_episode(trained.params, seed=1)
    assert replay.states.shape == (replay.length + 1, 4)
    assert replay.actions.shape == replay.p_right.shape == (replay.length,)
    np.testing.assert_array_equal(cartpole.euler_step(replay.states[:-1], replay.actions), replay.states[1:])
    p_right = action_probs(trained.params, replay.states[:-1])[:, 1]
    np.testing.assert_allclose(replay.p_right, p_right, rtol=1e-9)
    assert not cartpole.is_terminal(replay.states[:-1]).any()
    assert replay.terminated == bool(cartpole.is_terminal(replay.states[-1:])[0])
    assert np.all(np.abs(replay.states[0]) < cartpole.RESET_BOUND)


def test_greedy_replay_of_the_trained_policy_lasts_the_full_500_steps(trained):
    replay = replay_episode(trained.params, seed=0, greedy=True)
    assert replay.length == cartpole.MAX_EPISODE_STEPS and not replay.terminated
    np.testing.assert_array_equal(replay.actions, replay.p_right > 0.5)
    assert "500 steps" in replay.summary and "500-step limit" in replay.summary


def test_replay_of_the_untrained_policy_drops_the_pole_quickly():
    replay = replay_episode(initial_params(16, 0), seed=0)
    assert replay.terminated and replay.length < 100
    assert replay.ended_by == "pole angle" and abs(replay.states[-1, 2]) > cartpole.THETA_THRESHOLD
    assert "the pole passed 12°" in replay.summary


def test_replay_says_how_the_episode_ended(trained):
    assert replay_episode(trained.params, seed=0, greedy=True).ended_by == "time limit"
    # a policy that always pushes right: the pole falls left, or the cart runs off the track first
    always_right = {**initial_params(1, 0), "W2": np.zeros((1, 2)), "b2": np.array([-50.0, 50.0])}
    replay = replay_episode(always_right, seed=0)
    expected = "pole angle" if abs(replay.states[-1, 2]) > cartpole.THETA_THRESHOLD else "cart position"
    assert replay.ended_by == expected and np.all(replay.actions == 1)
    off_the_track = Replay(states=np.array([[2.3, 1.0, 0.05, 0.0], [2.42, 1.0, 0.05, 0.0]]), actions=np.array([1]),
                           p_right=np.array([0.9]), length=1, terminated=True)
    assert off_the_track.ended_by == "cart position" and "left the track" in off_the_track.summary


# ----------------------------------------------------------------------------- the gradient check

@pytest.mark.parametrize("hidden_units", [1, 5, 16])
def test_log_prob_gradient_checks_pass_for_every_parameter(hidden_units):
    params = initial_params(hidden_units, hidden_units)
    rng = np.random.default_rng(hidden_units)
    states, actions = rng.uniform(-STATE_HIGH, STATE_HIGH, (5, 4)), rng.integers(0, 2, 5)
    checks = log_prob_checks(params, states, actions, rng.normal(size=5), seed=hidden_units)
    assert [c.name for c in checks] == ["W1", "b1", "W2", "b2"]
    assert all(isinstance(c, GradientCheck) and c.passed for c in checks), [c.reason for c in checks]


def test_the_check_uses_the_weights_and_the_backward_pass_of_training(trained):
    checks, steps = training_gradient_checks(trained.params, 0.99, "normalize", "reward_to_go", 5, seed=1)
    assert steps == checks_module.CHECK_STEPS and all(c.passed for c in checks), [c.reason for c in checks]
    assert checks[0].n_checked == checks_module.MAX_COORDS  # W1 of a 4 × 16 layer is sampled
    # the same batch, the same weights: ĝ of training is policy_backward on those weights
    rng = np.random.default_rng([1, 5])
    batch = rollout_compiled(trained.params, *draw_episode_noise(rng, 5))
    *_, weights = step_weights(batch, 0.99, "normalize", "reward_to_go")
    estimate = policy_gradient_estimate(trained.params, batch, 0.99, "normalize")
    np.testing.assert_array_equal(estimate.weights, weights)
    expected = log_prob_gradient(trained.params, estimate.states, estimate.actions, weights)
    for name, value in estimate.grads.items():
        np.testing.assert_allclose(value, expected[name], rtol=1e-12, atol=1e-15)


def test_a_collapsed_policy_is_checked_too(collapsed):
    """π(a|s) within 1e-10 of 1 and saturated tanh units: e_a − π and tanh′ keep their digits (computed
    from the small probabilities and as sech² u), so the tiny gradient is checked rather than flat."""
    assert collapsed.collapsed
    for seed in range(3):
        checks, _ = training_gradient_checks(collapsed.params, 0.99, "normalize", "reward_to_go", 5, seed)
        assert not any(c.failed for c in checks), [c.reason for c in checks]
        assert sum(c.passed for c in checks) >= 3, [c.reason for c in checks]


def _corrupted_backward(params, states, h, probs, actions, weights):
    """The slip of using tanh′ = 1 − h instead of 1 − h²."""
    grads = policy_backward(params, states, h, probs, actions, weights)
    dz = -probs
    dz[np.arange(actions.size), actions] += 1.0
    dz *= weights[:, None]
    du = (dz @ params["W2"].T) * (1.0 - h)
    return {**grads, "W1": states.T @ du, "b1": du.sum(axis=0)}


def test_a_corrupted_backward_pass_fails_the_check(trained, monkeypatch):
    monkeypatch.setattr(checks_module, "policy_backward", _corrupted_backward)
    for params in (trained.params, initial_params(16, 0)):
        checks, _ = training_gradient_checks(params, 0.99, "normalize", "reward_to_go", 5, seed=1)
        verdicts = {c.name: c.verdict for c in checks}
        assert verdicts["W1"] == "fail" and verdicts["b1"] == "fail" and verdicts["W2"] == "pass", verdicts


def test_gradient_checks_still_catch_a_gradient_off_by_a_tenth_of_a_percent(trained):
    rng = np.random.default_rng(3)
    states, actions, weights = rng.uniform(-STATE_HIGH, STATE_HIGH, (8, 4)), rng.integers(0, 2, 8), rng.normal(size=8)
    for params in (trained.params, initial_params(16, 0)):
        wrong = {name: 1.001 * g for name, g in log_prob_gradient(params, states, actions, weights).items()}
        checks = log_prob_checks(params, states, actions, weights, wrong, seed=1)
        assert all(c.failed for c in checks), [c.reason for c in checks]


def test_lesson_functions_reject_bad_input():
    params = initial_params(3, 0)
    with pytest.raises(ValueError, match="missing"):
        policy_map({"W1": params["W1"]})
    with pytest.raises(ValueError, match="NaN"):
        replay_episode({**params, "b2": np.array([np.nan, 0.0])})
    with pytest.raises(ValueError, match="batches"):
        gradient_variance(params, batches=1)
    with pytest.raises(ValueError, match="γ"):
        gradient_variance(params, gamma=2.0)
    with pytest.raises(ValueError, match="hidden units"):
        initial_params(0)
    with pytest.raises(ValueError, match="seed"):
        replay_episode(params, seed=float("inf"))
