r"""What the page shows of a policy: P(push right) over the (θ, θ̇) plane, and one episode replayed.

* :func:`policy_map` — π(right | x = 0, ẋ = 0, θ, θ̇) on a grid of pole angles within ±12° and
  angular velocities (the cart at rest mid-track); :func:`policy_maps` does it for every snapshot.
* :func:`replay_episode` — one episode of a policy, frame by frame, with the same start state and
  the same uniforms whatever the policy (seeded), so replays of a run's snapshots differ only by
  what the policy learned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calc_core.common.validate import real, seed as check_seed, whole
from calc_core.policy_gradient import cartpole
from calc_core.policy_gradient.checks import checked_params
from calc_core.policy_gradient.network import PARAMETER_NAMES, init_policy, policy_forward
from calc_core.policy_gradient.rollout import draw_episode_noise, right_logit, right_logit_weights, rollout_compiled

MAP_POINTS = 41
MAX_ANGULAR_VELOCITY = 2.0  # rad/s: the map's θ̇ range
ENDINGS = {"time limit": "it hit the 500-step limit", "pole angle": "the pole passed 12°",
           "cart position": "the cart left the track"}


def initial_params(hidden_units: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    """The policy ``train`` starts from with these settings (same generator, same first draws)."""
    return init_policy(whole("the number of hidden units", hidden_units, 1, 512),
                       np.random.default_rng(check_seed(seed)))


@dataclass(frozen=True)
class PolicyMap:
    """P(push right) on a grid: rows = angular velocities, columns = angles (p_right may carry a
    leading axis over snapshots)."""

    angles: np.ndarray  # (n_angles,) θ in radians, within ±12°
    angular_velocities: np.ndarray  # (n_velocities,) θ̇ in rad/s
    p_right: np.ndarray  # (n_velocities, n_angles), or (snapshots, n_velocities, n_angles)

    def at(self, index: int) -> "PolicyMap":
        """The map of snapshot ``index`` (of a map over snapshots)."""
        return PolicyMap(self.angles, self.angular_velocities, self.p_right[index])


def _grid(n_angles: int, n_velocities: int, max_angular_velocity: float):
    n_angles = whole("the number of angles", n_angles, 2, 1000)
    n_velocities = whole("the number of angular velocities", n_velocities, 2, 1000)
    max_angular_velocity = real("the largest angular velocity", max_angular_velocity, positive=True)
    angles = np.linspace(-cartpole.THETA_THRESHOLD, cartpole.THETA_THRESHOLD, n_angles)
    velocities = np.linspace(-max_angular_velocity, max_angular_velocity, n_velocities)
    theta, theta_dot = np.meshgrid(angles, velocities)
    zeros = np.zeros(theta.size)
    return angles, velocities, np.column_stack([zeros, zeros, theta.ravel(), theta_dot.ravel()]), theta.shape


def policy_map(params, n_angles: int = MAP_POINTS, n_velocities: int = MAP_POINTS,
               max_angular_velocity: float = MAX_ANGULAR_VELOCITY) -> PolicyMap:
    """π(right | x = 0, ẋ = 0, θ, θ̇) over θ ∈ [−12°, 12°] and θ̇ ∈ [−max, max]."""
    params = checked_params(params)
    angles, velocities, states, shape = _grid(n_angles, n_velocities, max_angular_velocity)
    return PolicyMap(angles, velocities, policy_forward(params, states)[1][:, 1].reshape(shape))


def policy_maps(stacked: dict[str, np.ndarray], n_points: int = MAP_POINTS) -> PolicyMap:
    """The policy map of every snapshot of ``stacked`` (W1, b1, W2, b2 with a leading snapshot axis)."""
    angles, velocities, states, shape = _grid(n_points, n_points, MAX_ANGULAR_VELOCITY)
    count = len(stacked[PARAMETER_NAMES[0]])
    maps = np.stack([policy_forward({n: stacked[n][i] for n in PARAMETER_NAMES}, states)[1][:, 1].reshape(shape)
                     for i in range(count)]) if count else np.empty((0, *shape))
    return PolicyMap(angles, velocities, maps)


@dataclass(frozen=True)
class Replay:
    """One episode, frame by frame: states[t] is the state before action t; the last is final."""

    states: np.ndarray  # (length + 1, 4)
    actions: np.ndarray  # (length,)
    p_right: np.ndarray  # (length,) π(right | s_t)
    length: int  # = return
    terminated: bool  # False: truncated at 500 steps

    @property
    def ended_by(self) -> str:
        """"time limit" (500 steps), "pole angle" (|θ| > 12°) or "cart position" (|x| > 2.4 m)."""
        if not self.terminated:
            return "time limit"
        return "pole angle" if abs(self.states[-1, 2]) > cartpole.THETA_THRESHOLD else "cart position"

    @property
    def summary(self) -> str:
        """One sentence: how long the episode lasted and how it ended."""
        return (f"The episode lasted **{self.length} steps** ({self.length * cartpole.TAU:.2f} s): "
                f"{ENDINGS[self.ended_by]}.")


def replay_episode(params, seed: int = 0, greedy: bool = False) -> Replay:
    """Run one episode with the policy (sampled, or greedy: push right when π(right|s) > ½)."""
    params = checked_params(params)
    rng = np.random.default_rng([check_seed(seed), 3])
    batch = rollout_compiled(params, *draw_episode_noise(rng, 1), greedy=bool(greedy))
    d = right_logit(right_logit_weights(params), batch.states)
    return Replay(
        states=np.vstack([batch.states, batch.final_states]),
        actions=batch.actions,
        # π(right|s) = σ(d) = 1 / (1 + e^−d) = exp(−log(1 + e^−d))
        p_right=np.exp(-np.logaddexp(0.0, -d)),
        length=int(batch.lengths[0]),
        terminated=bool(batch.terminated[0]),
    )
