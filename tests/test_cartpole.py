"""calc_core.policy_gradient.cartpole against gymnasium's CartPole-v1, the oracle, step for step."""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calc_core.policy_gradient import cartpole

# States an episode can visit, and a little beyond the termination limits.
STATE_HIGH = np.array([2.6, 3.0, 0.25, 3.5])


@pytest.fixture(scope="module")
def env():
    environment = gym.make("CartPole-v1")
    environment.reset(seed=0)
    yield environment
    environment.close()


def gym_step(env, state, action):
    """One gymnasium step from an arbitrary state, with its TimeLimit counter reset."""
    env.reset()
    env.unwrapped.state = np.array(state, dtype=np.float64)
    _, reward, terminated, truncated, _ = env.step(int(action))
    return np.array(env.unwrapped.state), reward, terminated, truncated


def test_euler_step_matches_gymnasium_on_random_states_and_actions(env):
    rng = np.random.default_rng(1)
    states = rng.uniform(-STATE_HIGH, STATE_HIGH, size=(3000, 4))
    actions = rng.integers(0, 2, 3000)
    batch = cartpole.step(states, actions, steps_taken=0)
    expected = [gym_step(env, s, a) for s, a in zip(states, actions)]
    np.testing.assert_allclose(batch.states, [e[0] for e in expected], rtol=0, atol=1e-10)
    np.testing.assert_array_equal(batch.terminated, [e[2] for e in expected])
    np.testing.assert_array_equal(batch.rewards, [e[1] for e in expected])
    assert batch.terminated.any() and not batch.terminated.all()  # both kinds were exercised


def test_numpy_source_of_the_step_agrees_with_the_compiled_kernel():
    rng = np.random.default_rng(2)
    states = rng.uniform(-STATE_HIGH, STATE_HIGH, size=(500, 4))
    push_right = rng.integers(0, 2, 500) == 1
    np.testing.assert_allclose(
        cartpole.euler_step_python(states, push_right),
        cartpole.euler_step_kernel(states, push_right), rtol=0, atol=1e-12,
    )


@settings(max_examples=200, deadline=None)
@given(
    state=st.tuples(*[st.floats(-h, h) for h in STATE_HIGH]),
    action=st.integers(0, 1),
)
def test_single_step_and_termination_match_gymnasium_for_any_state(env, state, action):
    expected_state, _, expected_terminated, _ = gym_step(env, state, action)
    batch = cartpole.step(np.array([state]), np.array([action]), 0)
    np.testing.assert_allclose(batch.states[0], expected_state, rtol=0, atol=1e-10)
    assert bool(batch.terminated[0]) == expected_terminated


def balancing_action(state):
    """A hand-made controller that keeps the pole up for 500 steps (so truncation happens)."""
    x, x_dot, theta, theta_dot = state
    return int(theta + 0.5 * theta_dot + 0.01 * x + 0.1 * x_dot > 0)


@pytest.mark.parametrize(
    "seed,controller", [(3, "balance"), (4, "random"), (5, "balance"), (6, "random")])
def test_whole_episodes_match_gymnasium_including_termination_and_truncation(seed, controller):
    env = gym.make("CartPole-v1")
    observation, _ = env.reset(seed=seed)
    state = cartpole.reset_states(np.random.default_rng(seed), 1)
    np.testing.assert_array_equal(state[0], env.unwrapped.state)  # same start state
    rng = np.random.default_rng(seed + 100)
    steps = 0
    while True:
        action = balancing_action(state[0]) if controller == "balance" else int(rng.integers(2))
        _, reward, terminated, truncated, _ = env.step(action)
        mine = cartpole.step(state, np.array([action]), steps)
        steps += 1
        np.testing.assert_allclose(mine.states[0], env.unwrapped.state, rtol=0, atol=1e-10)
        assert (mine.rewards[0], bool(mine.terminated[0]), bool(mine.truncated[0])) == (
            reward, terminated, truncated)
        state = mine.states
        if terminated or truncated:
            break
    env.close()
    if controller == "balance":
        assert steps == cartpole.MAX_EPISODE_STEPS and truncated and not terminated
    else:
        assert terminated and steps < cartpole.MAX_EPISODE_STEPS


def test_truncation_comes_on_the_500th_step_only():
    states = np.zeros((3, 4))
    result = cartpole.step(states, np.array([0, 1, 0]), steps_taken=np.array([0, 498, 499]))
    np.testing.assert_array_equal(result.truncated, [False, False, True])


def test_reset_draws_what_gymnasium_reset_draws_with_the_same_seed():
    env = gym.make("CartPole-v1")
    for seed in range(5):
        env.reset(seed=seed)
        np.testing.assert_array_equal(
            cartpole.reset_states(np.random.default_rng(seed), 1)[0], env.unwrapped.state)
    env.close()
    starts = cartpole.reset_states(np.random.default_rng(0), 10_000)
    assert starts.shape == (10_000, 4)
    assert np.all(np.abs(starts) < cartpole.RESET_BOUND)
    assert np.all(starts.min(axis=0) < -0.049) and np.all(starts.max(axis=0) > 0.049)


def test_constants_are_those_of_gymnasium():
    core = gym.make("CartPole-v1").unwrapped
    assert (cartpole.GRAVITY, cartpole.MASS_CART, cartpole.MASS_POLE, cartpole.LENGTH,
            cartpole.FORCE_MAG, cartpole.TAU, cartpole.X_THRESHOLD) == (
        core.gravity, core.masscart, core.masspole, core.length, core.force_mag, core.tau,
        core.x_threshold)
    assert cartpole.THETA_THRESHOLD == core.theta_threshold_radians
    assert gym.spec("CartPole-v1").max_episode_steps == cartpole.MAX_EPISODE_STEPS


@pytest.mark.parametrize(
    "states,actions,steps_taken,message",
    [
        (np.zeros((2, 3)), [0, 1], 0, "shape"),
        (np.zeros(4), [0], 0, "shape"),
        (np.zeros((2, 4)), [0], 0, "one per state"),
        (np.zeros((2, 4)), [0, 2], 0, "push left"),
        (np.zeros((2, 4)), [0, 1], 500, "steps_taken"),
        (np.zeros((2, 4)), [0, 1], -1, "steps_taken"),
    ],
)
def test_bad_input_raises_a_clear_value_error(states, actions, steps_taken, message):
    with pytest.raises(ValueError, match=message):
        cartpole.step(states, actions, steps_taken)


def test_reset_rejects_a_non_positive_number_of_environments():
    with pytest.raises(ValueError, match="number of environments"):
        cartpole.reset_states(np.random.default_rng(0), 0)
