"""Reinforcement learning: REINFORCE — the policy-gradient theorem — learning to balance a cart-pole."""

import numpy as np
import streamlit as st

import ui
import ui.cartpole_view as view
from calc_core.policy_gradient import formulas, lab, network, reinforce
from ui.charts import cartpole as cartpole_charts
from ui.controls import Choice, Number, Slider, Steps, Toggle
from ui.progress import cached_with_progress

ADAM_RATES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
SGD_RATES = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
GAMMAS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, 1.0)


CONTROLS = (
    Choice("opt", "Optimizer", field="optimizer", options=lab.OPTIMIZERS, labels={"adam": "Adam", "sgd": "SGD"},
          horizontal=True, section="Policy and training"),
    Steps("lr", "Learning rate η (Adam)", field="learning_rate", options=ADAM_RATES,
          disabled_when=lambda v: v["optimizer"] != "adam", help="Adam moves each weight by about η per update."),
    Steps("sgd_lr", "Learning rate η (SGD)", field="sgd_learning_rate", options=SGD_RATES,
          disabled_when=lambda v: v["optimizer"] != "sgd",
          help="θ ← θ + η ĝ: the step is η‖ĝ‖, and ‖ĝ‖ grows with the episodes' length."),
    Steps("gamma", "Discount γ", options=GAMMAS, help="Gₜ = rₜ + γ Gₜ₊₁: how far ahead a reward still counts."),
    Choice("form", "Gradient estimate", field="gradient_form", options=lab.GRADIENT_FORMS,
          labels={"reward_to_go": "Σ ∇log π · Aₜ (the usual)", "discounted": "Σ γᵗ ∇log π · Aₜ (∇E[G₀])"},
          help="For γ < 1 only the γᵗ form is the gradient of J = E[G₀]."),
    Choice("baseline", "Baseline b(s)", options=lab.BASELINES,
          labels={"none": "None", "normalize": "Normalize", "value": "Value network"},
          help="A = G − b. Normalize: (G − mean)/std over the update (it rescales ĝ). Value network: b = V(s) "
               "fitted to the returns (same mean gradient, less noise)."),
    Slider("hidden", "Hidden units", field="hidden_units", min_value=1, max_value=64, help="Width of the tanh layer."),
    Slider("episodes", "Episodes (at most)", min_value=50, max_value=2000, step=50),
    Slider("batch", "Episodes per update", field="episodes_per_update", min_value=1, max_value=20,
           help="M: episodes run with the same θ for each gradient step; ĝ is their mean."),
    Toggle("stop", "Stop once solved", field="stop_when_solved", help="When the last 100 episodes average 475."),
    Number("seed", "Random seed", help="Same seed, same run: a shared link shows it again."),
)
GREEDY = Toggle("greedy", "Greedy: always take the likelier action", default=False,
                help="Off: sample actions from π, as in training.")
FRAME = Slider("t", "Step t", default=0, min_value=0, max_value=500, dynamic=True,
               help="Frame by frame: the state before action t (the last frame is the final state).")
CODE = [reinforce.policy_gradient_estimate, reinforce.step_weights, reinforce.advantages,
        reinforce.discounted_returns, network.policy_backward, reinforce.ascent_step]
INTRO = ("Each step the policy pushes the cart left or right and earns 1 while the pole stays within 12° and the "
         "cart on the track (500 steps at most). REINFORCE moves θ along ∇ log π of each action taken, weighted by "
         "the return that followed, until the last 100 episodes average 475. Pick a lesson above, or move the sliders.")
MAP_TEXT = ("P(push right) with the cart at rest mid-track. **Red: push right, blue: push left.** A trained policy "
            "pushes the cart *under* the pole — right when it leans or swings right; the swing θ̇ counts most.")

run = cached_with_progress(lab.run, text="Training… {percent}% of the episode budget")


def render_summary(r: lab.Result) -> None:
    m, cols = r.milestones, ui.panels.metric_row(4)
    for col, target, episode in ((cols[0], reinforce.CLASSIC_AVERAGE, m.classic_episode),
                                 (cols[1], reinforce.SOLVED_AVERAGE, m.solved_episode)):
        col.metric(f"Average ≥ {target:.0f} at episode", "—" if episode is None else f"{episode:,}",
                   help=f"First episode whose last 100 returns averaged {target:.0f} or more.")
    n = r.milestones.episodes_run
    cols[2].metric("Last-100 average return" if n >= 100 else f"Average return, all {n} episodes",
                   f"{r.last_average:.1f}", help="An episode lasts at most 500 steps.")
    cols[3].metric("Policy entropy at the end", f"{r.final_entropy:.3f} nats",
                   help="Mean H(π(·|s)) over the last 20 episodes: log 2 = 0.693 is a coin flip, 0 is deterministic.")
    ui.panels.show_messages(r.diagnosis, st.container())


def render_snapshot(r: lab.Result, index: int) -> None:
    """Everything that depends on the episode shown: the curves' marker, the policy map and a replay."""
    episode, left, right = int(r.snapshots.steps[index]), *st.columns(2, gap="large")
    ui.charts.show(cartpole_charts.returns_chart(r.returns, r.moving_average, marker=episode), container=left,
                   export="returns")
    ui.charts.show(cartpole_charts.entropy_chart(r.mean_entropy, marker=episode), container=right, export="entropy")
    ui.workshop.explain(MAP_TEXT)
    for col, at, title, name in zip(st.columns(2, gap="large"), (0, index), ("before training", "at the episode shown"),
                                    ("policy_map_start", "policy_map")):
        ui.charts.show(cartpole_charts.policy_heatmap(lab.policy_map_at(r, at), title=f"P(push right), {title}"),
                       container=col, export=name)
        col.caption(f"The policy {lab.episode_title(r, at)}.")
    st.markdown(f"##### One episode of the policy {lab.episode_title(r, index)}")
    replay = lab.replay_at(r, index, ui.controls.draw(GREEDY, container=st))
    view.episode_panel(replay, lambda length: ui.controls.draw(FRAME, container=st, max_value=length))


def render_variance(r: lab.Result) -> None:
    v = r.variance
    ui.workshop.explain(lab.variance_text(r))
    left, middle, right = st.columns(3, gap="medium")
    with left:
        ui.charts.show(ui.charts.lines(
            np.arange(1, v.batches + 1), dict(zip(v.baselines, v.relative_grad_norms)), points=True, x_title="batch",
            y_title="‖ĝ‖ / ‖mean ĝ‖", title="‖ĝ‖ of each batch ÷ ‖mean ĝ‖, at θ₀"), export="gradient_spread")
    with middle:
        ui.charts.show(cartpole_charts.bars_with_ranges(
            v.baselines, v.relative_std, *v.relative_std_range.T, category_title="baseline",
            value_title="√(tr Cov ĝ) / ‖E ĝ‖", title="Noise per unit of signal (90% range)"),
            "No baseline has a signal to divide by.", export="noise_per_signal")
    with right:
        ui.charts.show(ui.charts.lines(r.update_episodes, {"‖ĝ‖ of each update": r.grad_norms}, log_y=True,
                                       x_title="episode", y_title="‖ĝ‖ (log scale)", title="‖ĝ‖ during this training"),
                       "Every gradient was exactly 0: every advantage A_t was 0 (with γ = 0 and normalized returns, each "
                       "return equals the batch mean), so no step moved θ.",
                       export="gradient_norms")


def main() -> None:
    _, settings, _ = ui.page.begin("pages/4_Policy_Gradient.py", CONTROLS, lab.Settings)
    ui.workshop.explain(INTRO)
    with ui.guard("train the policy"):
        result = run(settings)
    render_summary(result)
    st.subheader("Training, episode by episode")
    ui.workshop.scrubber(result.snapshots, lambda index: render_snapshot(result, index), label="Policy after episode")
    st.subheader("Why a baseline: the spread of the gradient estimate")
    render_variance(result)
    st.subheader("The formulas and the code that ran")
    ui.panels.formula_and_code(
        formulas.FORMULAS, CODE,
        notes=r"$A_t = G_t$ (none), $(G_t - \bar G)/\sigma_G$ over the update's steps (normalize: not a baseline — it "
              r"rescales ĝ and its mean includes the step's own return) or $G_t - V_\phi(s_t)$ (value); $e_a$ is the "
              "one-hot vector of the action. Adam divides each coordinate of ĝ by its running RMS, so its steps are "
              "about η whatever ‖ĝ‖ is; SGD's are η‖ĝ‖.")
    ui.panels.gradient_check(result.gradient_checks, symbols={"W1": "W₁", "b1": "b₁", "W2": "W₂", "b2": "b₂"},
                             what=lab.gradient_check_subject(result))


with ui.guard("draw this page"):
    main()
