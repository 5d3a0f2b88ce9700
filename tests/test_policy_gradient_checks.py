"""The gradient check of the policy page over a sweep (issue 10): a correct gradient is never "fail",
the same gradient ×(1 + 1e-4) or with its largest coordinate's sign flipped is never "pass", and "too
flat to check at this precision" covers at most 5% of the sweep.

The sweep: random policies from near-uniform to saturated (weights of scale 0.1–8, 1–16 hidden units,
1–12 states), and the page's own check — a batch of the policy, the weights training gives its steps —
at θ₀ and at the end of runs over the page's settings, collapsed policies included."""

import numpy as np
import pytest

from calc_core.policy_gradient import lab
from calc_core.policy_gradient.checks import log_prob_checks, training_gradient_checks
from calc_core.policy_gradient.network import log_prob_gradient, policy_backward, policy_forward
from calc_core.policy_gradient.reinforce import step_weights, train
from calc_core.policy_gradient.rollout import draw_episode_noise, rollout_compiled

STATE_HIGH = np.array([2.4, 2.0, 0.21, 2.0])
MAX_FLAT = 0.05


def random_case(rng):
    hidden, n, scale = int(rng.choice([1, 3, 8, 16])), int(rng.choice([1, 4, 12])), float(
        rng.choice([0.1, 0.5, 1.0, 3.0, 8.0]))
    params = {"W1": rng.normal(0, scale, (4, hidden)), "b1": rng.normal(0, scale, hidden),
              "W2": rng.normal(0, scale, (hidden, 2)), "b2": rng.normal(0, scale, 2)}
    return params, rng.uniform(-STATE_HIGH, STATE_HIGH, (n, 4)), rng.integers(0, 2, n), rng.normal(size=n)


def page_cases():
    """(params, states, actions, weights) as the page's check makes them, over the page's settings."""
    grid = [dict(), dict(learning_rate=0.5), dict(baseline="none", gradient_form="discounted"),
            dict(optimizer="sgd", sgd_learning_rate=0.05), dict(hidden_units=1), dict(hidden_units=64, learning_rate=0.2),
            dict(episodes_per_update=1, learning_rate=0.1)]
    for k, change in enumerate(grid):
        s = lab.Settings(seed=k, episodes=400, **change)
        trained = train(**lab.train_settings(s))
        for params in (trained.snapshots.at(0), trained.params):
            rng = np.random.default_rng([k, 5])
            batch = rollout_compiled(params, *draw_episode_noise(rng, s.episodes_per_update))
            states, actions, _, _, weights = step_weights(batch, s.gamma, s.baseline, s.gradient_form)
            pick = np.sort(rng.choice(weights.size, min(12, weights.size), replace=False))
            yield params, states[pick], actions[pick], weights[pick]


@pytest.mark.slow
def test_correct_gradients_never_fail_wrong_ones_never_pass_and_few_are_too_flat():
    rng = np.random.default_rng(2024)
    cases = [random_case(rng) for _ in range(20)] + list(page_cases())
    verdicts = {"correct": [], "scaled": [], "flipped": []}
    for n, (params, states, actions, weights) in enumerate(cases):
        h, probs = policy_forward(params, states)
        grads = policy_backward(params, states, h, probs, actions, weights)
        scaled = {k: v * (1 + 1e-4) for k, v in grads.items()}
        flipped = {}
        for k, v in grads.items():
            flipped[k] = v.copy()
            flipped[k].flat[np.argmax(np.abs(v))] *= -1
        for kind, analytic in (("correct", grads), ("scaled", scaled), ("flipped", flipped)):
            for check in log_prob_checks(params, states, actions, weights, analytic, seed=n):
                verdicts[kind].append((n, check.name, check.verdict, check.reason))
    assert not [v for v in verdicts["correct"] if v[2] == "fail"]
    assert not [v for v in verdicts["scaled"] if v[2] == "pass"]
    assert not [v for v in verdicts["flipped"] if v[2] == "pass"]
    flat = [v for v in verdicts["correct"] if v[2] == "flat"]
    assert len(flat) <= MAX_FLAT * len(verdicts["correct"]), flat


def test_the_page_check_of_a_trained_policy_fails_a_slightly_wrong_gradient():
    trained = train(seed=3)
    checks, _ = training_gradient_checks(trained.params, 0.99, "normalize", "reward_to_go", 5, seed=3)
    assert all(c.passed for c in checks), [c.reason for c in checks]
    rng = np.random.default_rng(7)
    states, actions, weights = rng.uniform(-STATE_HIGH, STATE_HIGH, (6, 4)), rng.integers(0, 2, 6), rng.normal(size=6)
    wrong = {k: v * (1 + 1e-4) for k, v in log_prob_gradient(trained.params, states, actions, weights).items()}
    assert not any(c.passed for c in log_prob_checks(trained.params, states, actions, weights, wrong))
