"""The data behind the policy-gradient page: baseline variance, policy map, replay, checks."""

import numpy as np
import pytest

from calc_core.policy_gradient import cartpole
from calc_core.common.gradcheck import GradientCheck
from calc_core.policy_gradient.reinforce import train
from calc_core.policy_gradient.lab import (
    gradient_variance,
    initial_params,
    log_prob_gradient_checks,
    policy_map,
    Replay,
    replay_episode,
)
from calc_core.policy_gradient.network import action_probs, init_policy


@pytest.fixture(scope="module")
def trained():
    return train(seed=0, stop_at_average=475.0)


def test_initial_params_are_the_ones_train_starts_from():
    result = train(episodes=5, episodes_per_update=5, seed=3, hidden_units=7)
    start = initial_params(hidden_units=7, seed=3)
    for name, value in result.snapshots[0].items():
        np.testing.assert_array_equal(start[name], value)


def test_snapshots_are_taken_every_50_episodes_and_are_the_parameters_of_that_time():
    full = train(episodes=120, seed=1)
    assert sorted(full.snapshots) == [0, 50, 100]
    shorter = train(episodes=50, seed=1)  # the same run, stopped at 50 episodes
    for name, value in shorter.params.items():
        np.testing.assert_array_equal(full.snapshots[50][name], value)


def test_a_baseline_cuts_the_spread_of_the_gradient_estimate_without_turning_it():
    variance = gradient_variance(initial_params(16, 0), gamma=0.99, seed=0, batches=30)
    assert variance.baselines == ("none", "normalize", "value")
    assert variance.grad_norms.shape == (3, 30)
    none, normalize, value = variance.relative_std
    # the learned value baseline leaves ĝ on the same scale as no baseline: compare directly
    assert variance.total_std[2] < 0.75 * variance.total_std[0]
    assert value < 0.75 * none and normalize < none
    # E[∇ log π · b(s)] = 0: the mean gradient keeps its direction
    assert np.all(variance.cosine_to_none > 0.9)
    assert 10 < variance.mean_return < 40  # a coin-flip policy keeps the pole up ~20 steps


def test_gradient_variance_statistics_agree_with_the_per_batch_norms():
    variance = gradient_variance(initial_params(4, 1), seed=2, batches=8, episodes_per_batch=2)
    # ‖ĝ_k‖² averaged over batches = ‖mean ĝ‖² + (batches − 1)/batches · tr Cov ĝ
    lhs = np.mean(variance.grad_norms**2, axis=1)
    rhs = variance.mean_gradient_norm**2 + (7 / 8) * variance.total_std**2
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10)
    np.testing.assert_allclose(variance.relative_std,
                               variance.total_std / variance.mean_gradient_norm)


def test_relative_gradient_norms_put_every_baseline_on_the_scale_of_its_mean_gradient():
    variance = gradient_variance(initial_params(4, 1), seed=2, batches=6, episodes_per_batch=2)
    np.testing.assert_allclose(variance.relative_grad_norms * variance.mean_gradient_norm[:, None],
                               variance.grad_norms, rtol=1e-12)
    # γ = 0: every G_t = 1, so normalizing leaves A_t = 0 and ĝ ≡ 0 — no scale, NaN rather than 0/0 warnings
    flat = gradient_variance(initial_params(4, 1), gamma=0.0, seed=2, batches=3, episodes_per_batch=2)
    assert np.all(np.isnan(flat.relative_grad_norms[1])) and np.all(np.isfinite(flat.relative_grad_norms[0]))


def test_policy_map_is_the_policy_on_the_grid_of_angle_and_angular_velocity():
    params = init_policy(6, np.random.default_rng(4))
    grid = policy_map(params, n_angles=7, n_velocities=5, max_angular_velocity=1.5)
    assert grid.p_right.shape == (5, 7)
    assert grid.angles[0] == pytest.approx(-cartpole.THETA_THRESHOLD)
    assert grid.angular_velocities[-1] == pytest.approx(1.5)
    state = np.array([[0.0, 0.0, grid.angles[2], grid.angular_velocities[3]]])
    assert grid.p_right[3, 2] == pytest.approx(action_probs(params, state)[0, 1], rel=1e-12)


def test_trained_policy_pushes_the_cart_under_a_falling_pole(trained):
    grid = policy_map(trained.params)
    # pole falling to the right (θ > 0, θ̇ > 0): push right; falling left: push left
    assert grid.p_right[-1, -1] > 0.95 and grid.p_right[0, 0] < 0.05


def test_replay_follows_the_dynamics_and_ends_as_the_episode_ends(trained):
    replay = replay_episode(trained.params, seed=1)
    assert replay.states.shape == (replay.length + 1, 4)
    assert replay.actions.shape == replay.p_right.shape == (replay.length,)
    np.testing.assert_array_equal(cartpole.euler_step(replay.states[:-1], replay.actions),
                                  replay.states[1:])
    p_right = action_probs(trained.params, replay.states[:-1])[:, 1]
    np.testing.assert_allclose(replay.p_right, p_right, rtol=1e-9)
    assert not cartpole.is_terminal(replay.states[:-1]).any()
    assert replay.terminated == bool(cartpole.is_terminal(replay.states[-1:])[0])
    assert np.all(np.abs(replay.states[0]) < cartpole.RESET_BOUND)


def test_greedy_replay_of_the_trained_policy_lasts_the_full_500_steps(trained):
    replay = replay_episode(trained.params, seed=0, greedy=True)
    assert replay.length == cartpole.MAX_EPISODE_STEPS and not replay.terminated
    np.testing.assert_array_equal(replay.actions, replay.p_right > 0.5)


def test_replay_of_the_untrained_policy_drops_the_pole_quickly():
    replay = replay_episode(initial_params(16, 0), seed=0)
    assert replay.terminated and replay.length < 100
    assert replay.ended_by == "pole angle" and abs(replay.states[-1, 2]) > cartpole.THETA_THRESHOLD


def test_replay_says_how_the_episode_ended(trained):
    assert replay_episode(trained.params, seed=0, greedy=True).ended_by == "time limit"
    # a policy that always pushes right: the pole falls left, or the cart runs off the track first
    always_right = {**initial_params(1, 0), "W2": np.zeros((1, 2)), "b2": np.array([-50.0, 50.0])}
    replay = replay_episode(always_right, seed=0)
    expected = "pole angle" if abs(replay.states[-1, 2]) > cartpole.THETA_THRESHOLD else "cart position"
    assert replay.ended_by == expected and np.all(replay.actions == 1)
    off_the_track = Replay(states=np.array([[2.3, 1.0, 0.05, 0.0], [2.42, 1.0, 0.05, 0.0]]), actions=np.array([1]),
                           p_right=np.array([0.9]), length=1, terminated=True)
    assert off_the_track.ended_by == "cart position"


@pytest.mark.parametrize("hidden_units", [1, 5, 16])
def test_log_prob_gradient_checks_pass_for_every_parameter(hidden_units):
    checks = log_prob_gradient_checks(hidden_units=hidden_units, seed=hidden_units, n_states=5)
    assert [c.name for c in checks] == ["W1", "b1", "W2", "b2"]
    errors = [c.relative_error for c in checks]
    assert all(isinstance(c, GradientCheck) and c.passed for c in checks), errors


def test_log_prob_gradient_checks_on_trained_parameters(trained):
    checks = log_prob_gradient_checks(trained.params, seed=1)
    assert all(c.passed for c in checks), [c.relative_error for c in checks]
    assert checks[0].n_checked == 40  # W1 of a 4 × 16 layer is sampled


def test_gradient_checks_pass_on_a_collapsed_policy_whose_tanh_units_saturate():
    """Weights of ~8 saturate every tanh unit: ∂/∂W1 is ~1e-4 and central differences, good to
    ε·|f|/h ≈ 1e-8 per coordinate, cannot resolve it to 1e-6. The tolerance is raised to that floor."""
    collapsed = train(learning_rate=1.0, gamma=1.0, hidden_units=64, episodes=2000, episodes_per_update=20,
                      seed=9999, baseline="value")
    assert collapsed.collapsed and max(np.abs(collapsed.params["W1"]).max(), np.abs(collapsed.params["b1"]).max()) > 5
    for seed in range(4):
        checks = log_prob_gradient_checks(collapsed.params, seed=seed)
        assert all(c.passed for c in checks), [(c.name, c.relative_error, c.tolerance) for c in checks]
        assert checks[2].tolerance == 1e-6  # W2 is not saturated: the default tolerance holds


def test_gradient_checks_still_catch_a_gradient_off_by_a_tenth_of_a_percent(trained, monkeypatch):
    import calc_core.policy_gradient.lab as lessons

    real = lessons.log_prob_gradient
    monkeypatch.setattr(lessons, "log_prob_gradient",
                        lambda *args: {name: 1.001 * g for name, g in real(*args).items()})
    for params in (trained.params, initial_params(16, 0)):
        checks = lessons.log_prob_gradient_checks(params, seed=1)
        assert not any(c.passed for c in checks), [(c.name, c.relative_error, c.tolerance) for c in checks]


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
    with pytest.raises(ValueError, match="hidden_units"):
        initial_params(0)
    with pytest.raises(ValueError, match="n_states"):
        log_prob_gradient_checks(n_states=0)
