"""Reinforcement learning: REINFORCE — the policy-gradient theorem — learning to balance a cart-pole.

The cart-pole of gymnasium's CartPole-v1 (calc_core.policy_gradient.cartpole), the softmax policy and
its ∇θ log π by hand (network), episodes run three ways (rollout), REINFORCE with its estimator forms,
baselines and optimizers (reinforce), the baseline lesson (variance), the gradient check of the code
that trained (checks), the policy map and replays (views), and the page's Settings → run → Result (lab).
"""

from calc_core.policy_gradient.checks import log_prob_checks, training_gradient_checks
from calc_core.policy_gradient.lab import (PRESETS, Milestones, Result, Settings, diagnose, policy_map_at,
                                           preset_diagnosis, replay_at, run)
from calc_core.policy_gradient.network import (action_probs, entropy, init_policy, log_prob, log_prob_gradient,
                                               policy_backward, policy_forward)
from calc_core.policy_gradient.reinforce import (BASELINES, GRADIENT_FORMS, OPTIMIZERS, Estimate, TrainResult,
                                                 advantages, discounted_returns, moving_average,
                                                 policy_gradient_estimate, step_weights, train)
from calc_core.policy_gradient.rollout import rollout_batched, rollout_compiled, rollout_step_by_step
from calc_core.policy_gradient.variance import GradientVariance, gradient_variance
from calc_core.policy_gradient.views import PolicyMap, Replay, initial_params, policy_map, replay_episode

__all__ = [
    "BASELINES", "GRADIENT_FORMS", "OPTIMIZERS", "PRESETS", "Estimate", "GradientVariance", "Milestones",
    "PolicyMap", "Replay", "Result", "Settings", "TrainResult", "action_probs", "advantages", "diagnose",
    "discounted_returns", "entropy", "gradient_variance", "init_policy", "initial_params", "log_prob",
    "log_prob_checks", "log_prob_gradient", "moving_average", "policy_backward", "policy_forward",
    "policy_gradient_estimate", "policy_map", "policy_map_at", "preset_diagnosis", "replay_at", "replay_episode",
    "rollout_batched", "rollout_compiled", "rollout_step_by_step", "run", "step_weights", "train",
    "training_gradient_checks",
]
