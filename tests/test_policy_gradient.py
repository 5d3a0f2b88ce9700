"""REINFORCE on cart-pole: ∇θ log π by hand, returns, rollouts, and that training really learns."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import log_softmax, softmax
from scipy.stats import entropy as scipy_entropy

from calc_core.policy_gradient import cartpole
from calc_core.common.gradcheck import check_gradients, numerical_gradient, relative_error
from calc_core.policy_gradient.reinforce import (
    adam_step,
    advantages,
    discounted_returns,
    first_episode_reaching,
    moving_average,
    policy_gradient_estimate,
    train,
)
from calc_core.policy_gradient.network import (
    action_probs,
    entropy,
    init_policy,
    init_value,
    log_prob,
    log_prob_gradient,
    value_forward,
    value_loss_gradient,
)
from calc_core.policy_gradient.rollout import draw_episode_noise, rollout_batched, rollout_step_by_step

STATE_HIGH = np.array([2.4, 2.0, 0.21, 2.0])


def random_policy(hidden_units, seed, scale=1.0):
    """Parameters well away from the near-uniform start, so the softmax is not flat."""
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(0, scale, (4, hidden_units)),
        "b1": rng.normal(0, scale, hidden_units),
        "W2": rng.normal(0, scale, (hidden_units, 2)),
        "b2": rng.normal(0, scale, 2),
    }


def balancing_policy():
    """One hidden unit: the hand-made controller sign(θ + 0.5 θ̇ + 0.01 x + 0.1 ẋ) as a policy."""
    return {
        "W1": np.array([[0.01], [0.1], [1.0], [0.5]]),
        "b1": np.zeros(1),
        "W2": np.array([[-20.0, 20.0]]),
        "b2": np.zeros(2),
    }


# --- the policy and its gradient -----------------------------------------------------------


def test_action_probs_are_the_softmax_of_the_hidden_layer_logits():
    params = random_policy(5, 0)
    states = np.random.default_rng(1).uniform(-STATE_HIGH, STATE_HIGH, (20, 4))
    logits = np.tanh(states @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
    np.testing.assert_allclose(action_probs(params, states), softmax(logits, axis=1), rtol=1e-12)
    actions = np.arange(20) % 2
    np.testing.assert_allclose(log_prob(params, states, actions),
                               log_softmax(logits, axis=1)[np.arange(20), actions], rtol=1e-12)


# Weights of scale ≫ 1 saturate tanh: the gradient becomes ~1e-6 while log π stays ~1, and the
# central difference's rounding error ε·|f|/h ≈ 1e-10 is then no longer a reliable reference.
@settings(max_examples=30, deadline=None)
@given(hidden_units=st.integers(1, 12), seed=st.integers(0, 10_000), n_states=st.integers(1, 8),
       scale=st.sampled_from([0.1, 0.3, 1.0]))
def test_log_prob_gradient_matches_central_differences(hidden_units, seed, n_states, scale):
    params = random_policy(hidden_units, seed, scale)
    rng = np.random.default_rng(seed + 1)
    states = rng.uniform(-STATE_HIGH, STATE_HIGH, (n_states, 4))
    actions = rng.integers(0, 2, n_states)
    weights = rng.normal(size=n_states)
    checks = check_gradients(lambda p: float(weights @ log_prob(p, states, actions)), params,
                             log_prob_gradient(params, states, actions, weights))
    assert [c.name for c in checks] == ["W1", "b1", "W2", "b2"]
    for check in checks:
        assert check.passed, (check.name, check.relative_error)


def test_log_prob_gradient_without_weights_is_the_gradient_of_the_summed_log_probability():
    params = random_policy(4, 3)
    states = np.random.default_rng(4).uniform(-STATE_HIGH, STATE_HIGH, (6, 4))
    actions = np.array([0, 1, 1, 0, 1, 0])
    grads = log_prob_gradient(params, states, actions)
    numeric = numerical_gradient(lambda W1: log_prob({**params, "W1": W1}, states, actions).sum(),
                                 params["W1"])
    assert relative_error(grads["W1"], numeric) < 1e-7


def test_value_loss_gradient_matches_central_differences():
    rng = np.random.default_rng(5)
    value_params = init_value(6, rng)
    value_params["v2"] = rng.normal(size=6)
    value_params["c2"] = np.asarray(0.3)
    states = rng.uniform(-STATE_HIGH, STATE_HIGH, (15, 4))
    returns = rng.uniform(0, 50, 15)
    loss, grads = value_loss_gradient(value_params, states, returns)
    values = value_forward(value_params, states)[1]
    assert loss == pytest.approx(0.5 * np.mean((values - returns) ** 2))
    checks = check_gradients(lambda p: value_loss_gradient(p, states, returns)[0], value_params,
                             grads)
    for check in checks:
        assert check.passed, (check.name, check.relative_error)


def test_entropy_matches_scipy_and_is_log_2_for_a_coin_flip():
    probs = np.array([[0.5, 0.5], [0.9, 0.1], [1.0, 0.0], [0.2, 0.8]])
    np.testing.assert_allclose(entropy(probs), scipy_entropy(probs, axis=1), rtol=1e-12)
    assert entropy(probs)[0] == pytest.approx(np.log(2))


def test_initial_policy_is_close_to_a_coin_flip_everywhere():
    params = init_policy(16, np.random.default_rng(0))
    states = np.random.default_rng(1).uniform(-STATE_HIGH, STATE_HIGH, (200, 4))
    assert np.all(np.abs(action_probs(params, states)[:, 1] - 0.5) < 0.1)


# --- discounted returns --------------------------------------------------------------------


def test_discounted_returns_of_a_hand_worked_example():
    # γ = ½: G_2 = 3, G_1 = 2 + ½·3 = 3.5, G_0 = 1 + ½·3.5 = 2.75
    np.testing.assert_allclose(discounted_returns([1.0, 2.0, 3.0], 0.5), [2.75, 3.5, 3.0])
    # γ = 0.9 on four rewards of 1: 1 + 0.9 + 0.81 + 0.729 = 3.439
    np.testing.assert_allclose(discounted_returns(np.ones(4), 0.9), [3.439, 2.71, 1.9, 1.0])


def test_discounted_returns_at_the_ends_of_the_gamma_range():
    rewards = np.array([0.5, -1.0, 2.0, 4.0])
    np.testing.assert_allclose(discounted_returns(rewards, 0.0), rewards)
    np.testing.assert_allclose(discounted_returns(rewards, 1.0), [5.5, 5.0, 6.0, 4.0])


def test_discounted_returns_of_a_padded_batch_match_the_closed_form_for_unit_rewards():
    lengths = np.array([3, 7, 1])
    rewards = (np.arange(7) < lengths[:, None]).astype(float)
    returns = discounted_returns(rewards, 0.95)
    for i, length in enumerate(lengths):
        t = np.arange(length)
        # Σ_{k<L−t} γᵏ = (1 − γ^{L−t}) / (1 − γ)
        np.testing.assert_allclose(returns[i, :length], (1 - 0.95 ** (length - t)) / 0.05)
        assert np.all(returns[i, length:] == 0)


def test_normalized_advantages_have_zero_mean_and_unit_spread_over_the_batch():
    batch = rollout_batched(init_policy(8, np.random.default_rng(0)),
                            *draw_episode_noise(np.random.default_rng(1), 6))
    _, _, returns, adv = advantages(batch, 0.99, "normalize")
    assert adv.mean() == pytest.approx(0, abs=1e-12)
    assert adv.std() == pytest.approx(1, rel=1e-6)
    np.testing.assert_allclose(advantages(batch, 0.99, "none")[3], returns)


# --- rollouts ------------------------------------------------------------------------------


def test_batched_rollout_returns_the_same_episodes_as_the_step_by_step_reference():
    params = random_policy(6, 7, scale=0.7)
    noise = draw_episode_noise(np.random.default_rng(8), 12)
    batched, reference = rollout_batched(params, *noise), rollout_step_by_step(params, *noise)
    for name in ("states", "actions", "lengths", "final_states", "terminated"):
        np.testing.assert_array_equal(getattr(batched, name), getattr(reference, name),
                                      err_msg=name)


def test_rollout_steps_follow_the_cartpole_dynamics_and_end_where_gymnasium_would():
    params = random_policy(6, 9, scale=0.7)
    batch = rollout_batched(params, *draw_episode_noise(np.random.default_rng(10), 8))
    ends = np.cumsum(batch.lengths)
    next_states = np.vstack([batch.states[1:], batch.final_states[-1:]])
    next_states[ends[:-1] - 1] = batch.final_states[:-1]
    np.testing.assert_array_equal(cartpole.euler_step(batch.states, batch.actions), next_states)
    assert not cartpole.is_terminal(batch.states).any()  # no action is taken after the end
    np.testing.assert_array_equal(cartpole.is_terminal(batch.final_states), batch.terminated)


def test_a_balancing_policy_is_truncated_after_500_steps():
    batch = rollout_batched(balancing_policy(), *draw_episode_noise(np.random.default_rng(0), 3),
                            greedy=True)
    np.testing.assert_array_equal(batch.lengths, cartpole.MAX_EPISODE_STEPS)
    assert not batch.terminated.any()


def test_sampled_actions_push_right_with_probability_pi_right():
    params = random_policy(4, 11, scale=0.5)
    batch = rollout_batched(params, *draw_episode_noise(np.random.default_rng(12), 2000))
    p_right = action_probs(params, batch.states)[:, 1]
    # each a_t is Bernoulli(π(right|s_t)) given the past: the count of right pushes has mean Σ p_t
    # and variance Σ p_t (1 − p_t); allow 5 standard deviations
    assert abs(batch.actions.sum() - p_right.sum()) < 5 * np.sqrt(np.sum(p_right * (1 - p_right)))
    assert p_right.size > 20_000 and 0.2 < p_right.mean() < 0.8


# --- optimizer -----------------------------------------------------------------------------


def test_first_adam_step_moves_every_coordinate_by_the_learning_rate_in_the_gradient_direction():
    # m̂ = g, v̂ = g² after one step, so Δθ = η g / (|g| + ε) ≈ η sign(g)
    start, g = np.array([1.0, -2.0, 0.5]), np.array([3.0, -0.2, 1e-3])
    params = {"w": start.copy()}
    adam_step(params, {"w": g}, {}, 1, 0.1)
    np.testing.assert_allclose(params["w"], start + 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(params["w"], [1.1, -2.1, 0.6], rtol=1e-4)
    # a descent step (the value network) moves the other way
    params = {"w": np.array([1.0])}
    adam_step(params, {"w": np.array([-4.0])}, {}, 1, 0.1, ascent=False)
    np.testing.assert_allclose(params["w"], [1.1], rtol=1e-9)


def test_one_sgd_update_steps_along_the_finite_difference_gradient_of_the_surrogate():
    """θ₁ = θ₀ + η ∇θ (1/N) Σ_t A_t log π(a_t|s_t), the gradient taken by central differences."""
    seed, learning_rate, hidden = 3, 0.5, 5
    result = train(learning_rate=learning_rate, hidden_units=hidden, episodes=4,
                   episodes_per_update=4, baseline="normalize", optimizer="sgd", seed=seed)
    rng = np.random.default_rng(seed)  # replay train's draws: initial policy, then the episodes
    params = init_policy(hidden, rng)
    batch = rollout_batched(params, *draw_episode_noise(rng, 4))
    states, actions, _, adv = advantages(batch, 0.99, "normalize")
    for name in params:
        def surrogate(x, name=name):
            return float(adv @ log_prob({**params, name: x}, states, actions)) / adv.size
        expected = params[name] + learning_rate * numerical_gradient(surrogate, params[name])
        np.testing.assert_allclose(result.params[name], expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(result.returns, batch.lengths)


@pytest.mark.parametrize("baseline", ["none", "normalize"])
def test_policy_gradient_estimate_is_the_gradient_of_the_surrogate_with_the_advantages_held_fixed(baseline):
    """ĝ = ∇θ (1/N) Σ_t A_t log π(a_t|s_t), A_t fixed, by central differences, on a real batch."""
    params = random_policy(6, 2, scale=0.5)
    batch = rollout_batched(params, *draw_episode_noise(np.random.default_rng(4), 3))
    grads, states, returns, probs = policy_gradient_estimate(params, batch, 0.95, baseline)
    _, actions, expected_returns, adv = advantages(batch, 0.95, baseline)
    np.testing.assert_array_equal(returns, expected_returns)
    np.testing.assert_allclose(probs, action_probs(params, states), rtol=1e-12)
    assert adv.size == batch.lengths.sum() == states.shape[0]

    def surrogate(p):
        return float(adv @ log_prob(p, states, actions)) / adv.size

    for check in check_gradients(surrogate, params, grads):
        assert check.passed, (check.name, check.relative_error)


def test_gradient_clipping_limits_the_sgd_step_to_learning_rate_times_the_clip_norm():
    kwargs = dict(learning_rate=2.0, episodes=3, episodes_per_update=3, baseline="none",
                  optimizer="sgd", seed=1)
    start = init_policy(16, np.random.default_rng(1))
    clipped = train(clip_grad_norm=0.01, **kwargs)
    assert clipped.grad_norms[0] > 0.01  # clipping was active
    step = np.sqrt(sum(np.sum((clipped.params[n] - start[n]) ** 2) for n in start))
    assert step == pytest.approx(2.0 * 0.01, rel=1e-9)
    unclipped = train(**kwargs)
    step = np.sqrt(sum(np.sum((unclipped.params[n] - start[n]) ** 2) for n in start))
    assert step == pytest.approx(2.0 * unclipped.grad_norms[0], rel=1e-9)


# --- training ------------------------------------------------------------------------------


def test_same_seed_gives_the_same_run_and_another_seed_another():
    first, again = train(episodes=40, seed=4), train(episodes=40, seed=4)
    other = train(episodes=40, seed=5)
    np.testing.assert_array_equal(first.returns, again.returns)
    np.testing.assert_array_equal(first.grad_norms, again.grad_norms)
    for name in first.params:
        np.testing.assert_array_equal(first.params[name], again.params[name])
    assert not np.array_equal(first.returns, other.returns)


@pytest.mark.parametrize("baseline", ["none", "normalize", "value"])
def test_batched_training_equals_training_with_step_by_step_rollouts(baseline):
    kwargs = dict(episodes=30, episodes_per_update=5, baseline=baseline, seed=2, learning_rate=0.05)
    batched, reference = train(**kwargs), train(rollout="step_by_step", **kwargs)
    np.testing.assert_array_equal(batched.returns, reference.returns)
    np.testing.assert_array_equal(batched.params["W1"], reference.params["W1"])


def test_training_reports_per_episode_and_per_update_arrays_that_fit_together():
    result = train(episodes=23, episodes_per_update=5, seed=0)
    assert result.episodes_run == result.returns.size == result.mean_entropy.size == 23
    np.testing.assert_array_equal(result.update_episodes, [5, 10, 15, 20, 23])
    assert result.grad_norms.shape == (5,)
    np.testing.assert_allclose(result.moving_average, [np.mean(result.returns[max(0, i - 99):i + 1])
                                                       for i in range(23)])
    # near 50/50 at the start
    assert np.all((result.mean_entropy > 0.6) & (result.mean_entropy <= np.log(2)))


@pytest.mark.slow
def test_default_settings_learn_cartpole_for_at_least_four_of_five_seeds():
    solved = []
    for seed in range(5):
        result = train(seed=seed, stop_at_average=475.0)
        assert not result.diverged and not result.collapsed
        solved.append(result.solved_episode is not None and result.classic_episode is not None)
        if result.solved_episode is not None:
            assert result.moving_average[result.solved_episode - 1] >= 475
            assert result.classic_episode < result.solved_episode
    assert sum(solved) >= 4, solved


def test_progress_callback_reports_increasing_fractions_up_to_one():
    fractions = []
    train(episodes=12, episodes_per_update=5, progress=fractions.append)
    assert fractions == pytest.approx([5 / 12, 10 / 12, 1.0])


def test_an_absurd_value_learning_rate_is_reported_as_divergence_with_finite_parameters_kept():
    result = train(baseline="value", value_learning_rate=1e300, episodes=200, seed=0)
    assert result.diverged and result.episodes_run < 200
    assert "value" in result.diverged_reason
    assert result.returns.size == result.mean_entropy.size == result.episodes_run
    assert all(np.all(np.isfinite(value)) for value in result.params.values())
    assert not train(baseline="value", episodes=50, seed=0).diverged


def test_a_huge_learning_rate_collapses_the_policy_and_the_default_does_not():
    """One enormous step makes π deterministic: e_a − π = 0 for the action it always takes, so the
    gradient is exactly zero and the policy stays stuck at the ~9-step return of always pushing
    one way."""
    stuck = train(learning_rate=1e6, optimizer="sgd", baseline="none", episodes=100, seed=0)
    assert stuck.collapsed and stuck.collapse_episode <= 10 and stuck.recovered_episode is None
    assert not stuck.diverged
    assert np.all(stuck.grad_norms[-5:] == 0) and np.mean(stuck.returns[-20:]) < 15
    assert np.all(stuck.mean_entropy[-20:] < 1e-6)
    healthy = train(seed=0, episodes=200)
    assert healthy.collapse_episode is None and healthy.mean_entropy.min() > 0.1


def test_moving_average_and_threshold_crossing_on_a_hand_made_series():
    returns = np.concatenate([np.full(100, 100.0), np.full(100, 500.0)])
    np.testing.assert_allclose(moving_average(returns, 100)[[0, 99, 149, 199]],
                               [100, 100, 300, 500])
    # the window ending at episode 100 + k has mean 100 + 4k ≥ 195 first at k = 24
    assert first_episode_reaching(returns, 195, 100) == 124
    assert first_episode_reaching(returns, 500, 100) == 200
    assert first_episode_reaching(returns[:99], 0, 100) is None


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(gamma=-0.1), "γ"),
        (dict(gamma=1.5), "γ"),
        (dict(gamma=float("nan")), "γ"),
        (dict(hidden_units=0), "hidden_units"),
        (dict(hidden_units=2.5), "hidden_units"),
        (dict(episodes=0), "episodes"),
        (dict(episodes=-10), "episodes"),
        (dict(episodes_per_update=0), "episodes_per_update"),
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(learning_rate=-0.01), "learning_rate"),
        (dict(learning_rate=float("inf")), "learning_rate"),
        (dict(baseline="mean"), "baseline"),
        (dict(optimizer="rmsprop"), "optimizer"),
        (dict(clip_grad_norm=-1.0), "clip_grad_norm"),
        (dict(seed=-1), "seed"),
        (dict(value_steps=0), "value_steps"),
        (dict(collapse_entropy=1.0), "collapse_entropy"),
        (dict(rollout="parallel"), "rollout"),
    ],
)
def test_bad_settings_raise_a_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train(**kwargs)


def test_discounted_returns_rejects_gamma_outside_the_unit_interval():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        discounted_returns([1.0, 1.0], 1.01)


def test_policy_functions_reject_badly_shaped_input():
    params = init_policy(3, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        action_probs(params, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="push left"):
        log_prob_gradient(params, np.zeros((2, 4)), [0, 3])
    with pytest.raises(ValueError, match="uniforms"):
        rollout_batched(params, np.zeros((2, 4)), np.zeros((2, 10)))
