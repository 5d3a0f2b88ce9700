r"""The Policy Gradient page: Settings → :func:`run` → a :class:`Result` and its diagnosis.

REINFORCE (calc_core.policy_gradient.reinforce.train) learns to balance gymnasium's CartPole-v1 and
stops once solved (the last 100 episodes average ≥ 475, as reference implementations do); what the
page draws: the returns and their 100-episode average, the policy's entropy, ‖ĝ‖ of every update,
P(push right) over (θ, θ̇) at every kept snapshot, a replay of the policy at any snapshot
(:func:`replay_at`, the scrubber's fragment), the baseline lesson at θ₀ (calc_core.policy_gradient.
variance), and the gradient check of the code that trained (calc_core.policy_gradient.checks).

Which quantity ĝ estimates is a setting: ``gradient_form = "reward_to_go"`` is the usual estimator
Σ_t ∇log π(a_t|s_t)(G_t − b), which for γ < 1 is not ∇J; ``"discounted"`` multiplies step t by γ^t
and is an unbiased estimate of ∇J = ∇E[G₀] (see calc_core.policy_gradient.reinforce).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from calc_core.common.gradcheck import GradientCheck
from calc_core.common.messages import Message
from calc_core.common.presets import Preset
from calc_core.common.snapshots import MAX_SNAPSHOTS, Snapshots
from calc_core.common.validate import choice, real, seed as check_seed, whole
from calc_core.policy_gradient import cartpole
from calc_core.policy_gradient.checks import checked_params, log_prob_checks, training_gradient_checks
from calc_core.policy_gradient.network import PARAMETER_NAMES
from calc_core.policy_gradient.reinforce import (BASELINES, CLASSIC_AVERAGE, COLLAPSE_ENTROPY, GRADIENT_FORMS,
                                                 OPTIMIZERS, SOLVED_AVERAGE, TrainResult, train)
from calc_core.policy_gradient.variance import GradientVariance, gradient_variance
from calc_core.policy_gradient.views import PolicyMap, Replay, initial_params, policy_map, policy_maps, replay_episode

__all__ = ["BASELINES", "GRADIENT_FORMS", "OPTIMIZERS", "PRESETS", "GradientVariance", "Milestones", "PolicyMap",
           "Replay", "Result", "Settings", "checked_params", "diagnose", "gradient_variance", "initial_params",
           "log_prob_checks", "policy_map", "policy_map_at", "preset_diagnosis", "replay_at", "replay_episode", "run"]

MAX_EPISODES = 2000
FINAL_EPISODES = 20  # the entropy "at the end" is the mean over these last episodes
VARIANCE_BATCHES = 60


@dataclass(frozen=True)
class Settings:
    """One field per control of the page (its units)."""

    optimizer: str = "adam"  # "adam" or "sgd"
    learning_rate: float = 0.02  # η of Adam
    sgd_learning_rate: float = 0.005  # η of plain SGD (its own control: SGD needs a far smaller η)
    gamma: float = 0.99  # γ
    gradient_form: str = "reward_to_go"  # "reward_to_go": Σ ∇log π · A_t; "discounted": Σ γ^t ∇log π · A_t
    baseline: str = "normalize"  # "none", "normalize" or "value"
    hidden_units: int = 16
    episodes: int = 1000  # at most: training stops once solved when stop_when_solved
    episodes_per_update: int = 5  # M
    stop_when_solved: bool = True
    seed: int = 0

    @property
    def step_size(self) -> float:
        """The η of the chosen optimizer."""
        return self.learning_rate if self.optimizer == "adam" else self.sgd_learning_rate


@dataclass(frozen=True)
class Milestones:
    """When training reached what (1-based episodes; None: never)."""

    episodes_run: int
    classic_episode: int | None  # first 100-episode average ≥ 195
    solved_episode: int | None  # … ≥ 475
    collapse_episode: int | None  # first episode of a batch gone deterministic while failing
    recovered_episode: int | None  # after a collapse: a 100-episode average ≥ 195 again
    diverged_episode: int | None
    diverged_reason: str | None
    stopped_early: bool  # stopped because it was solved


@dataclass(frozen=True)
class Result:
    settings: Settings
    returns: np.ndarray  # (episodes_run,) = episode lengths
    moving_average: np.ndarray  # (episodes_run,) of the last ≤ 100 returns
    mean_entropy: np.ndarray  # (episodes_run,) mean H(π(·|s_t)) over each episode, nats
    grad_norms: np.ndarray  # (updates,) ‖ĝ‖ before clipping
    update_episodes: np.ndarray  # (updates,) episodes done at each update
    milestones: Milestones
    params: dict  # the trained θ (the last finite one if training diverged)
    snapshots: Snapshots  # θ (W1, b1, W2, b2) after the kept episodes, 0 = the start
    policy_maps: PolicyMap  # P(push right) over (θ̇, θ) at every snapshot: p_right (snapshots, 41, 41)
    variance: GradientVariance  # the baseline lesson at θ₀
    gradient_checks: tuple[GradientCheck, ...]
    gradient_check_steps: int
    diagnosis: tuple[Message, ...] = ()

    @property
    def episodes(self) -> np.ndarray:
        return np.arange(1, self.returns.size + 1)

    @property
    def last_average(self) -> float:
        return float(self.moving_average[-1]) if self.moving_average.size else float("nan")

    @property
    def best_average(self) -> float:
        """The best 100-episode average (of full windows; of all episodes when there are fewer)."""
        full = self.moving_average[99:] if self.moving_average.size >= 100 else self.moving_average[-1:]
        return float(full.max()) if full.size else float("nan")

    @property
    def final_entropy(self) -> float:
        return float(self.mean_entropy[-FINAL_EPISODES:].mean()) if self.mean_entropy.size else float("nan")


def _validated(s: Settings) -> Settings:
    choice("optimizer", s.optimizer, OPTIMIZERS)
    real("the learning rate η", s.learning_rate, positive=True, maximum=10.0)
    real("the SGD learning rate η", s.sgd_learning_rate, positive=True, maximum=100.0)
    real("the discount γ", s.gamma, 0.0, 1.0)
    choice("gradient form", s.gradient_form, GRADIENT_FORMS)
    choice("baseline", s.baseline, BASELINES)
    whole("the number of hidden units", s.hidden_units, 1, 256)
    whole("the number of episodes", s.episodes, 1, MAX_EPISODES)
    whole("the number of episodes per update", s.episodes_per_update, 1, 100)
    if not isinstance(s.stop_when_solved, (bool, np.bool_)):
        raise ValueError(f"stop_when_solved must be true or false, got {s.stop_when_solved!r}")
    check_seed(s.seed)
    return s


def train_settings(s: Settings) -> dict:
    """The arguments of ``train`` for these settings."""
    return dict(learning_rate=s.step_size, gamma=s.gamma, hidden_units=s.hidden_units, episodes=s.episodes,
                episodes_per_update=s.episodes_per_update, baseline=s.baseline, optimizer=s.optimizer,
                gradient_form=s.gradient_form, seed=s.seed, stop_at_average=SOLVED_AVERAGE if s.stop_when_solved
                else None)


def kept(run: TrainResult, count: int = MAX_SNAPSHOTS) -> Snapshots:
    """At most ``count`` of the run's snapshots, evenly spaced over its updates (first and last kept)."""
    n = len(run.snapshots)
    pick = np.unique(np.linspace(0, n - 1, min(count, n)).round().astype(int))
    return Snapshots(run.snapshots.steps[pick], "episode", {k: v[pick] for k, v in run.snapshots.states.items()})


def warm_up() -> None:
    """A short training through the compiled rollout loop, with the types a real run uses: a fresh
    process (a server's worker) loads numba's machine code from disk on its first call, ≈ 0.2 s that
    would otherwise fall on the first visitor's first retraining."""
    run(Settings(episodes=10))


def warm_up_views() -> None:
    """One replay through the compiled rollout loop, with the types :func:`replay_at` uses: the
    scrubber's replay runs in the server process (a fragment, no worker), whose first call would
    otherwise load numba's machine code from disk (≈ 0.15 s) while the first visitor waits."""
    replay_episode(initial_params(), 0, False)


def run(settings: Settings, progress: Callable[[float], None] | None = None) -> Result:
    """Train, keep ≤ 41 snapshots with their policy maps, measure the baseline lesson at θ₀, check
    the gradient at the trained θ, and diagnose the run."""
    s = _validated(settings)
    trained = train(**train_settings(s), progress=progress)
    snapshots = kept(trained)
    start = {name: snapshots.states[name][0] for name in PARAMETER_NAMES}
    checks, steps = training_gradient_checks(trained.params, s.gamma, s.baseline, s.gradient_form,
                                             s.episodes_per_update, s.seed, trained.value_params)
    result = Result(
        settings=s, returns=trained.returns, moving_average=trained.moving_average,
        mean_entropy=trained.mean_entropy, grad_norms=trained.grad_norms, update_episodes=trained.update_episodes,
        milestones=Milestones(trained.episodes_run, trained.classic_episode, trained.solved_episode,
                              trained.collapse_episode, trained.recovered_episode, trained.diverged_episode,
                              trained.diverged_reason, trained.stopped_early),
        params=trained.params, snapshots=snapshots, policy_maps=policy_maps(snapshots.states),
        variance=gradient_variance(start, s.gamma, s.seed, VARIANCE_BATCHES, s.episodes_per_update, s.gradient_form),
        gradient_checks=checks, gradient_check_steps=steps)
    return replace(result, diagnosis=diagnose(result))


# ----------------------------------------------------------------------------- the scrubber's fragment

def params_at(result: Result, index: int = -1) -> dict[str, np.ndarray]:
    """θ at snapshot ``index``."""
    return {name: value for name, value in result.snapshots.at(index).items()}


def policy_map_at(result: Result, index: int = -1) -> PolicyMap:
    """P(push right) over (θ̇, θ) of the policy at snapshot ``index``."""
    return result.policy_maps.at(index)


def replay_at(result: Result, index: int = -1, greedy: bool = False) -> Replay:
    """One episode of the policy at snapshot ``index``: the same start state and the same uniforms
    at every snapshot (seeded by the run's seed), so replays differ only by what was learned."""
    return replay_episode(params_at(result, index), result.settings.seed, greedy)


# ----------------------------------------------------------------------------- the words

def episode_title(result: Result, index: int) -> str:
    episodes = int(result.snapshots.steps[index])
    return "before training (θ₀)" if episodes == 0 else f"after {episodes:,} episodes"


def variance_text(result: Result) -> str:
    """What the baseline lesson shows, with its numbers and their ranges (see calc_core.policy_gradient.variance)."""
    v, s = result.variance, result.settings
    none, norm, value = (v.index(b) for b in ("none", "normalize", "value"))

    if s.gamma == 0:
        return (f"The same {v.batches} batches of {v.episodes_per_batch} episode{'s' * (v.episodes_per_batch != 1)} at θ₀ (average return "
                f"{v.mean_return:.0f}). With γ = 0 every step's return is its own reward, 1, whatever the action: "
                "the true gradient E ĝ is 0, so the charts' noise per unit of signal divides by a mean ĝ that is itself "
                "only noise: their bars carry no lesson here. "
                f"What remains is noise: √(tr Cov ĝ) is {v.total_std[none]:.3g} without a baseline and "
                f"{v.total_std[value]:.3g} with b(s) = V(s); normalized, every A is 0 and ĝ = 0 exactly.")

    def cosine(b):
        lo, hi = v.cosine_range[b]
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return f"undefined (mean ĝ is 0 in these {v.batches} batches)"
        if not v.cosine_resolved[b]:
            return f"not resolved by {v.batches} batches (90% range {lo:.2f} to {hi:.2f})"
        return f"{v.cosine_to_none[b]:.2f} (90% range {lo:.2f}–{hi:.2f})"

    _, low, high = v.noise_ratio("none", "value")
    effect = ("narrows the spread" if low > 1 else "widens the spread here" if high < 1 else
              f"does not change the spread measurably in {v.batches} batches" if not (np.isnan(low) or np.isnan(high))
              else "its effect on the noise per unit of signal cannot be measured (the mean ĝ is 0 here)")
    return (f"The same {v.batches} batches of {v.episodes_per_batch} episode{'s' * (v.episodes_per_batch != 1)} at θ₀ (average return "
            f"{v.mean_return:.0f}), ĝ computed with each baseline. The value baseline b(s) = V(s) does not depend on "
            f"the action, so it leaves E ĝ unchanged and {effect}: √(tr Cov ĝ) is {v.total_std[none]:.3g} "
            f"without a baseline and {v.total_std[value]:.3g} with it. Normalizing is not such a baseline: dividing "
            f"by σ_G rescales ĝ (‖E ĝ‖ ≈ {v.signal[none]:.3g} without a baseline, {v.signal[norm]:.3g} normalized) "
            "and the batch's mean and σ include each step's own return — so the middle chart compares the noise "
            "per unit of signal, which no rescaling changes. Direction of mean ĝ against no baseline's, as a "
            f"cosine: value {cosine(value)}, normalized {cosine(norm)}.")


def gradient_check_subject(result: Result) -> str:
    weight = "\\gamma^t A_t / M" if result.settings.gradient_form == "discounted" else "A_t / M"
    return (f"$\\sum_t w_t \\log \\pi(a_t|s_t)$ on {result.gradient_check_steps} steps of a batch the trained "
            f"policy ran, $w_t = {weight}$ as training weighs them (the gradient from `policy_backward`, the code "
            "training calls)")


def _batch_return(result: Result, episode: int) -> float:
    """Mean return of the batch starting at ``episode`` (1-based)."""
    m = result.settings.episodes_per_update
    return float(result.returns[episode - 1: episode - 1 + m].mean())


def _largest_return(gamma: float) -> float:
    """G_0 of a 500-step episode: Σ_{k<500} γ^k."""
    return float(np.sum(gamma ** np.arange(cartpole.MAX_EPISODE_STEPS)))


def _optimizer(s: Settings) -> str:
    return "Adam" if s.optimizer == "adam" else "SGD"


def _certainty(nats: float) -> float:
    """The larger probability p of two actions whose entropy −p log p − (1 − p) log(1 − p) is ``nats``."""
    low, high = 0.5, 1.0
    for _ in range(60):  # the entropy falls from log 2 to 0 as p goes from ½ to 1
        mid = (low + high) / 2
        low, high = (mid, high) if -mid * np.log(mid) - (1 - mid) * np.log(1 - mid) > nats else (low, mid)
    return (low + high) / 2


def _episodes_run(m: Milestones) -> str:
    """The episodes a diverged run's charts show: every one run, the failed update's batch included."""
    last, first = m.episodes_run, m.diverged_episode
    batch = f"episode {last}" if first == last else f"episodes {first}–{last}"
    return f"all {last} episodes run, up to the end of that update's batch ({batch})"


def _power(x: float) -> str:
    return f"{x:.2g}" if x > 0 else "less than 1e-300"  # γ³⁰⁰ underflows to 0 for γ < 0.1


BARELY = 0.05  # γ³⁰⁰ below this: a late step "barely" moves θ


def _discount_weights(gamma: float) -> str:
    """What the γᵗ form does to late steps, its conclusion drawn from γ¹⁰⁰ and γ³⁰⁰."""
    if gamma == 0:
        return "With the γᵗ form and γ = 0, γᵗ = 0 for every t ≥ 1: only each episode's first step moves θ."
    w100, w300 = gamma ** 100, gamma ** 300
    said = (f"With the γᵗ form, a step at t = 100 counts γ¹⁰⁰ = {_power(w100)} of a first step and one at "
            f"t = 300 counts {_power(w300)}: ")
    return said + ("late steps barely move θ." if w300 < BARELY else
                   "late steps count less than early ones, but still move θ.")


def _collapse_tips(s: Settings) -> tuple[str, ...]:
    """What may help a collapsed run: never a learning rate where none helps, nor a range that holds
    only for some settings."""
    if s.gamma == 0:
        return ("Raise γ: with γ = 0 every return is 1 whatever the action, so the true gradient is 0 and no "
                "learning rate helps (a smaller η only drifts more slowly); with γ > 0 a fall lowers the returns "
                "of the actions that led to it.",
                "Normalizing the returns makes every A_t = 0 at γ = 0: θ then stays where it started and cannot "
                "collapse, but it does not learn either.")
    defaults = Settings()
    known = (s.optimizer == "adam" and s.learning_rate > defaults.learning_rate
             and replace(s, learning_rate=defaults.learning_rate, seed=defaults.seed) == defaults)
    return (f"Lower the learning rate below the current {s.step_size:g}: each update then moves the logits less, "
            "leaving the returns more episodes to tell the actions apart (too small an η may not balance "
            "within these episodes)" + (f"; with every other setting at its default, η = {defaults.learning_rate:g}"
                                        " solved seeds 0–19." if known else "."),
            "SGD: ĝ sums over an episode's steps, so its step η‖ĝ‖ grows with the episodes' length; with no "
            f"baseline A_t = G_t reaches {_largest_return(s.gamma):.0f}, where a normalized A_t has unit spread.",
            "Use more episodes per update: their mean gradient is less noisy.")


def diagnose(result: Result) -> tuple[Message, ...]:
    """What the page says about a run: diverged; collapsed (a problem while stuck, an info once it
    recovered); solved, fell back, nothing to learn from, not balancing or not solved; noisy gradients
    without a baseline; which gradient the γᵗ form estimates."""
    s, m, messages = result.settings, result.milestones, []
    collapsed = m.collapse_episode is not None and m.recovered_episode is None
    if m.diverged_episode is not None:
        messages.append(Message(
            "diverged", "problem", f"Training diverged at episode {m.diverged_episode}",
            f"{m.diverged_reason[0].upper()}{m.diverged_reason[1:]} stopped being finite, so training stopped; the "
            f"charts show {_episodes_run(m)} and the last finite θ.",
            "An update was so large that a weight or a gradient overflowed the largest floating-point number.",
            ("Lower the learning rate.", "Switch to Adam: its steps are about η whatever ‖ĝ‖ is."),
            {"episode": m.diverged_episode}))
    elif collapsed:
        why = (("With γ = 0 every return G_t is 1 whatever the action, so A_t = 1 − V(s_t) says nothing about which "
                "action was better: the updates pushed the logits apart at random until one action was taken almost "
                "always." if s.baseline == "value" else
                "With γ = 0 every return G_t is 1, so each update made whatever actions were taken more likely, "
                "until one action was taken almost always.") if s.gamma == 0 else
               f"The updates (η = {s.step_size:g} with {_optimizer(s)}) pushed the logits far apart before the "
               "returns had told the two actions apart.")
        messages.append(Message(
            "collapsed", "problem", f"The policy collapsed at episode {m.collapse_episode}",
            f"Its entropy averaged over a batch's steps fell below {COLLAPSE_ENTROPY:g} nats — the entropy of a state "
            f"that takes one action {_certainty(COLLAPSE_ENTROPY):.0%} of the time — while episodes lasted "
            f"{_batch_return(result, m.collapse_episode):.0f} steps on average, and it never recovered: the last 100 "
            f"episodes averaged {result.last_average:.0f}.",
            why + " Once π(a|s) ≈ 1, ∇ log π(a|s) ∝ eₐ − π ≈ 0: the gradient vanishes, the other action is almost "
                  "never tried, and there is nothing left to learn from.",
            _collapse_tips(s),
            {"collapse_episode": m.collapse_episode, "last_average": result.last_average}))
    elif m.collapse_episode is not None:
        messages.append(Message(
            "collapsed", "info", "Collapsed, then recovered.",
            f"The policy went almost deterministic at episode {m.collapse_episode} while the pole still fell "
            f"(entropy averaged over a batch's steps below {COLLAPSE_ENTROPY:g} nats), but the other action was "
            "still tried now and then: the "
            f"100-episode average reached 195 at episode {m.recovered_episode}.",
            numbers={"collapse_episode": m.collapse_episode, "recovered_episode": m.recovered_episode}))
    if m.diverged_episode is None and not collapsed:
        messages.append(_outcome(result))
    if s.baseline == "none" and result.variance.noisier("none", "value"):
        v = result.variance
        none, value = v.index("none"), v.index("value")
        messages.append(Message(
            "noisy", "info", "Noisy gradients without a baseline.",
            f"At θ₀, ĝ's noise per unit of signal √(tr Cov ĝ)/‖E ĝ‖ is {v.relative_std[none]:.2g} (90% range "
            f"{v.relative_std_range[none, 0]:.2g}–{v.relative_std_range[none, 1]:.2g}) with A_t = G_t against "
            f"{v.relative_std[value]:.2g} ({v.relative_std_range[value, 0]:.2g}–{v.relative_std_range[value, 1]:.2g})"
            " with the value baseline, on the same episodes.",
            "Every return is positive, so every ∇log π(a_t|s_t) is scaled by a large number of one sign: their sum "
            "is right only on average and scatters from batch to batch. Subtracting V(s) leaves the mean as it is "
            "and removes part of that scatter.",
            numbers={"relative_std_none": float(v.relative_std[none]),
                     "relative_std_value": float(v.relative_std[value])}))
    if s.gradient_form == "discounted" and s.gamma < 1:
        messages.append(Message(
            "discounted_form", "info", "Estimating ∇E[G₀].", _discount_weights(s.gamma),
            "This is an unbiased estimate of ∇J for J = E[G₀]. The usual form counts every step fully — as if each "
            "step began an episode — which for γ < 1 is not the gradient of J.",
            numbers={"weight_100": s.gamma ** 100, "weight_300": s.gamma ** 300}))
    return tuple(messages)


def _outcome(result: Result) -> Message:
    s, m = result.settings, result.milestones
    n, best, last = m.episodes_run, result.best_average, result.last_average
    if m.solved_episode is not None and last >= SOLVED_AVERAGE:
        how = (f"training stopped with that update's batch, at episode {n:,}, as reference implementations do: "
               "training on would only risk what was learned." if m.stopped_early else f"it kept it to the end of the {n:,} episodes.")
        return Message("solved", "success", f"Solved at episode {m.solved_episode:,}.",
                       f"The last 100 episodes averaged {last:.0f} ≥ {SOLVED_AVERAGE:.0f} (CartPole-v1's threshold); "
                       + how, numbers={"solved_episode": m.solved_episode, "last_average": last})
    if m.solved_episode is not None:
        return Message("fell_back", "warning", "Solved, then fell back.",
                       f"The 100-episode average reached {SOLVED_AVERAGE:.0f} at episode {m.solved_episode:,} and "
                       f"training went on: the last 100 episodes averaged {last:.0f}.",
                       "Updates keep moving θ after it is good, and a noisy one can undo what was learned; stopping "
                       "once solved keeps it.", numbers={"solved_episode": m.solved_episode, "last_average": last})
    window = "the 100-episode average" if n >= 100 else f"the average over all {n:,} episodes"
    if s.gamma == 0:
        return Message("no_signal", "info", "Nothing to learn from with γ = 0.",
                       f"Every return G_t = r_t = 1, so no action looks better than the other: in {n:,} episodes "
                       f"{window} reached {best:.0f}."
                       + (" Normalized, every A_t = 0 and ĝ = 0: θ never moved." if s.baseline == "normalize" else ""),
                       numbers={"best_average": best})
    if m.classic_episode is None:
        more = f"more episodes (up to {MAX_EPISODES:,}), or " if s.episodes < MAX_EPISODES else ""
        return Message("not_balancing", "info", "Not balancing yet.",
                       f"In {n:,} episodes {window} reached {best:.0f} of the {CLASSIC_AVERAGE:.0f} that "
                       f"counts as balancing. Try {more}an η larger than {s.step_size:g}: it moves θ further per "
                       "update, but too large an η can collapse the policy instead.", numbers={"best_average": best})
    return Message("not_solved", "info", "Balancing, not solved.",
                   f"The 100-episode average reached {CLASSIC_AVERAGE:.0f} at episode {m.classic_episode:,} and at most "
                   f"{best:.0f} in {n:,} episodes ({SOLVED_AVERAGE:.0f} counts as solved); the last 100 averaged "
                   f"{last:.0f}.", numbers={"classic_episode": m.classic_episode, "best_average": best})


# ----------------------------------------------------------------------------- lessons

PRESETS = (
    Preset("collapse", "Learning rate too high: policy collapse",
           "At η = 0.5 Adam moves every weight by about 0.5 per update: within a few dozen episodes the policy "
           "pushes one way almost always (entropy near 0) while the pole still falls. The gradient eₐ − π vanishes "
           "with the entropy, so the other action is hardly ever tried again and the return rarely recovers.",
           settings={"learning_rate": 0.5}, expect=("collapsed",), avoid=("diverged",)),
    Preset("no_baseline", "No baseline: noisy gradients",
           "With A_t = G_t every ∇log π is scaled by a large positive return: at θ₀, on the same episodes, ĝ "
           "scatters far more around its mean than with the value baseline.",
           settings={"baseline": "none"}, expect=("noisy",)),
    Preset("discounted", "The γᵗ form: the gradient of E[G₀]",
           "Multiplying step t by γᵗ makes ĝ an unbiased estimate of ∇E[G₀]; the usual form, which reference "
           "implementations use, is not that gradient for γ < 1: with γ = 0.99, step 200 of an episode "
           "counts 0.99²⁰⁰ ≈ 0.13 times as much as its first.",
           settings={"gradient_form": "discounted"}, expect=("discounted_form",)),
    Preset("gamma_zero", "γ = 0: nothing to learn from",
           "Every return is 1, whatever the policy does: no action looks better, the normalized advantages are all "
           "0 and θ never moves.",
           settings={"gamma": 0.0}, expect=("no_signal",), avoid=("solved",)),
)


def preset_diagnosis(preset: Preset, seed: int) -> tuple[Message, ...]:
    return run(preset.apply(Settings(), seed=seed)).diagnosis
