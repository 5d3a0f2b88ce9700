"""Reinforcement learning: REINFORCE — the policy-gradient theorem — learning to balance a cart-pole."""

from dataclasses import asdict, dataclass

import numpy as np
import streamlit as st

import ui
import ui.bars
import ui.cartpole_view as view
import ui.progress
from calc_core.policy_gradient import cartpole
from calc_core.policy_gradient import reinforce as policy_gradient
from calc_core.policy_gradient import network as policy_network
from calc_core.policy_gradient import lab as lessons
from calc_core.policy_gradient.reinforce import CLASSIC_AVERAGE, COLLAPSE_ENTROPY, SOLVED_AVERAGE

ui.setup_page("pages/4_Policy_Gradient.py")

ADAM_RATES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
SGD_RATES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0)
GAMMAS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, 1.0)
BASELINES = {"none": "None", "normalize": "Normalize", "value": "Value network"}  # labels are the URL values
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD"}
ENDINGS = {"time limit": "it hit the 500-step limit", "pole angle": "the pole passed 12°", "cart position": "the cart left the track"}


@dataclass(frozen=True)
class Settings:
    learning_rate: float
    gamma: float
    hidden_units: int
    episodes: int
    episodes_per_update: int
    baseline: str
    optimizer: str
    seed: int


def controls() -> Settings:
    st.sidebar.header("Policy and training")
    optimizer = ui.controls.choice("Optimizer", list(OPTIMIZERS), "adam", key="opt", horizontal=True, fmt=OPTIMIZERS.get)
    if optimizer == "adam":  # each optimizer has its own range and its own URL key
        learning_rate = ui.controls.log_slider("Learning rate η", ADAM_RATES, 0.02, key="lr",
                                               help="Adam moves each weight by about η per update.")
    else:
        learning_rate = ui.controls.log_slider("Learning rate η (SGD)", SGD_RATES, 2.0, key="sgd_lr",
                                               help="θ ← θ + η ĝ. ‖ĝ‖ is small here: SGD needs η ≈ 100× Adam's.")
    gamma = ui.controls.log_slider("Discount γ", GAMMAS, 0.99, key="gamma",
                                   help="Gₜ = rₜ + γ Gₜ₊₁: how far ahead a reward still counts.")
    baseline = ui.controls.choice("Baseline b(s)", list(BASELINES), "normalize", key="baseline", fmt=BASELINES.get,
                                  help="A = G − b. None: A = G. Normalize: (G − mean)/std over the update's episodes. "
                                       "Value network: b = V(s) fitted to the returns. Same mean gradient, less noise.")
    hidden_units = ui.controls.slider("Hidden units", 1, 64, 16, key="hidden", help="Width of the tanh layer.")
    episodes = ui.controls.slider("Episodes", 50, 2000, 600, step=50, key="episodes")
    episodes_per_update = ui.controls.slider("Episodes per update", 1, 20, 5, key="batch",
                                             help="Episodes run with the same θ for each gradient step.")
    seed = ui.controls.seed()
    ui.controls.reset_button()
    ui.sidebar_note()
    return Settings(learning_rate, gamma, hidden_units, episodes, episodes_per_update, baseline, optimizer, seed)


reinforce = ui.progress.cached_with_progress(policy_gradient.train, text="Training… {percent}% of the episodes")
replay_of = ui.cached(lessons.replay_episode)
policy_map = ui.cached(lessons.policy_map)
variance_at = ui.cached(lessons.gradient_variance, spinner="Sampling 30 batches with each baseline…")
checks_of = ui.cached(lessons.log_prob_gradient_checks)


def render_summary(r, s: Settings) -> None:
    cols = st.columns(4)
    for col, target, episode in ((cols[0], CLASSIC_AVERAGE, r.classic_episode), (cols[1], SOLVED_AVERAGE, r.solved_episode)):
        col.metric(f"Average ≥ {target:.0f} at episode", "—" if episode is None else f"{episode:,}",
                   help=f"First episode whose last 100 returns averaged {target:.0f} or more.")
    cols[2].metric("Last-100 average return", f"{r.moving_average[-1]:.1f}", help="An episode lasts at most 500 steps.")
    cols[3].metric("Policy entropy at the end", f"{r.mean_entropy[-20:].mean():.3f} nats",
                   help="Mean H(π(·|s)) over the last 20 episodes: log 2 = 0.693 is a coin flip, 0 is deterministic.")
    if r.diverged:
        ui.show_problem(f"Training diverged at episode {r.diverged_episode}",
                        f"{r.diverged_reason.capitalize()} stopped being finite, so training stopped; the charts show "
                        f"the {r.episodes_run} episodes before it and the last finite θ.",
                        "An update was so large that a weight or a gradient overflowed the largest float.",
                        ["Lower the learning rate.", "Switch to Adam: its steps are about η whatever ‖ĝ‖ is."])
    elif r.collapsed:
        ui.show_problem(f"The policy collapsed at episode {r.collapse_episode}",
                        f"Its entropy fell below {COLLAPSE_ENTROPY} nats — in each state one action ~98% of the time — "
                        f"while episodes lasted only ~{r.moving_average[-1]:.0f} steps, and it never recovered.",
                        f"The steps were too large (η = {s.learning_rate:g}, {OPTIMIZERS[s.optimizer]}): a few noisy "
                        "updates pushed the logits far apart. Once π(a|s) ≈ 1, ∇ log π(a|s) ∝ eₐ − π ≈ 0: the gradient "
                        "vanishes, the other action is never tried, and there is nothing left to learn from.",
                        ["Lower the learning rate: Adam 0.01–0.05; SGD 1–5 with normalized returns, ~0.1 with no baseline "
                         "(A = G is ~100× larger).", "Use more episodes per update: their mean gradient is less noisy."])
    elif r.collapse_episode is not None:
        st.info(f"**Collapsed, then recovered.** The policy went almost deterministic at episode {r.collapse_episode}, "
                f"but luck pulled it out (195 at episode {r.recovered_episode}).", icon=":material/healing:")
    elif r.classic_episode is None:
        why = ("With γ = 0 every return Gₜ is 1: no action looks better." if s.gamma == 0 else "Try more episodes.")
        st.info(f"**Not balancing yet:** the 100-episode average reached {r.moving_average.max():.0f} of the 195 that "
                f"counts as balancing. {why}", icon=":material/hourglass_top:")


def render_returns(r) -> None:
    episodes, (left, right) = np.arange(1, r.episodes_run + 1), st.columns([3, 2], gap="large")
    with left:
        ui.charts.show(ui.charts.lines(
            episodes, {"return": r.returns, "100-episode average": r.moving_average}, x_title="episode",
            y_title="return (steps balanced)", title="Episode return while learning", colors=["#aec7e8", "#1f77b4"],
            rules=[ui.charts.Rule(CLASSIC_AVERAGE, "195", "#2ca02c"), ui.charts.Rule(SOLVED_AVERAGE, "475", "#d62728")]))
    with right:
        ui.charts.show(ui.charts.lines(
            episodes, {"entropy": r.mean_entropy}, x_title="episode", y_title="mean H(π(·|s)) (nats)",
            title="How random the policy still is", colors=["#9467bd"],
            rules=[ui.charts.Rule(np.log(2), "log 2: coin flip"), ui.charts.Rule(COLLAPSE_ENTROPY, "collapse", "#d62728")]))


def render_policy(r) -> None:
    st.markdown("P(push right) with the cart at rest mid-track, for each pole angle θ and angular velocity θ̇. **Red: "
                "push right, blue: push left.** A trained policy pushes the cart *under* the pole: right when it leans "
                "or swings right. The swing θ̇ counts most: it says where the pole will be a few steps on.")
    for col, (name, params) in zip(st.columns(2, gap="large"), (("before training (θ₀)", r.snapshots[0]),
                                                                 (f"after {r.episodes_run} episodes", r.params))):
        with col:
            ui.charts.show(view.policy_heatmap(policy_map(params), title=f"P(push right), {name}"))


@st.fragment
def render_frames(replay) -> None:  # a move of the step slider reruns only this
    step = ui.controls.slider("Step t", 0, replay.length, 0, key="t", container=st,
                              help="Frame by frame: the state before action t (the last frame is the final state).")
    view.frame_panel(replay, step)


def render_episode(r, s: Settings) -> None:
    greedy = ui.controls.toggle("Greedy: always take the likelier action", False, key="greedy", container=st,
                                help="Off: sample actions from π, as in training.")
    with ui.guard("replay an episode"):
        replay = replay_of(r.params, s.seed, greedy)
    st.markdown(f"The episode lasted **{replay.length} steps** ({replay.length * cartpole.TAU:.2f} s): {ENDINGS[replay.ended_by]}.")
    play, frames = st.columns(2, gap="large")
    with play:
        st.markdown("##### Play it")
        view.animation(replay.states, replay.actions)
    with frames:
        st.markdown("##### Step through it")
        render_frames(replay)


def render_variance(r, s: Settings) -> None:
    at = ui.controls.choice("Measure at the policy after", sorted(r.snapshots), 0, key="at", widget="selectbox",
                            fmt=lambda k: f"{k} episodes" + (" (θ₀, where training starts)" if k == 0 else ""),
                            container=st.columns([1, 2])[0])
    with ui.guard("measure the gradient's spread"):
        v = variance_at(r.snapshots[at], s.gamma, s.seed)
    st.markdown(f"The same {v.grad_norms.shape[1]} batches of 5 episodes (average return {v.mean_return:.0f}), ĝ computed "
                f"with each baseline. A baseline leaves E ĝ unchanged (cosine to none: {v.cosine_to_none[1]:.2f}, "
                f"{v.cosine_to_none[2]:.2f}) but each batch lands closer to it.")
    batches, (left, middle, right) = np.arange(1, v.grad_norms.shape[1] + 1), st.columns(3, gap="medium")
    with left:
        ui.charts.show(ui.charts.lines(
            batches, dict(zip(v.baselines, v.relative_grad_norms)), points=True, x_title="batch",
            y_title="‖ĝ‖ / ‖mean ĝ‖", title="‖ĝ‖ of each batch ÷ ‖mean ĝ‖"))
    with middle:
        ui.charts.show(ui.bars.bars(list(v.baselines), v.relative_std, category_title="baseline", height=300,
                                    value_title="√(tr Cov ĝ) / ‖E ĝ‖", title="Noise per unit of signal"))
    with right:
        ui.charts.show(ui.charts.lines(r.update_episodes, {"‖ĝ‖ of each update": r.grad_norms}, log_y=True,
                                       x_title="episode", y_title="‖ĝ‖ (log scale)", title="‖ĝ‖ during this training"),
                       "Every gradient was exactly 0: the policy is deterministic, so ∇ log π = eₐ − π = 0.")


FORMULAS = [
    r"J(\theta) = \mathbb{E}_{\tau \sim \pi_\theta}[G_0], \qquad G_t = r_t + \gamma\, G_{t+1}",
    r"\text{log-derivative trick:}\quad \nabla_\theta \pi_\theta = \pi_\theta\, \nabla_\theta \log \pi_\theta",
    r"\nabla_\theta J = \mathbb{E}_\tau\Big[\sum_t \nabla_\theta \log \pi_\theta(a_t|s_t)\,\big(G_t - b(s_t)\big)\Big]",
    r"\mathbb{E}_{a \sim \pi}\big[\nabla \log \pi(a|s)\, b(s)\big] = b(s)\, \nabla \textstyle\sum_a \pi(a|s) = 0",
    r"\hat g = \frac{1}{N} \sum_t \nabla_\theta \log \pi_\theta(a_t|s_t)\, A_t",
    r"\theta \leftarrow \theta + \eta\, \hat g \quad \text{(SGD; Adam rescales } \hat g\text{)}",
    r"h = \tanh(s W_1 + b_1), \quad z = h W_2 + b_2",
    r"\log \pi(a|s) = z_a - \log \textstyle\sum_b e^{z_b}",
    r"\frac{\partial \log \pi(a|s)}{\partial z} = e_a - \pi(\cdot|s)",
    r"\frac{\partial \log \pi}{\partial W_2} = h^\top (e_a - \pi)",
    r"\frac{\partial \log \pi}{\partial W_1} = s^\top \big[(e_a - \pi) W_2^\top \odot (1 - h^2)\big]",
]
INTRO = ("Each step the policy pushes the cart left or right and earns 1 while the pole stays within 12° and the cart on "
         "the track (500 steps at most). REINFORCE moves θ along ∇ log π of each action taken, weighted by the reward "
         "that followed. **Try:** a learning rate of 0.5 — the entropy drops to 0 within 50 episodes while the return "
         "stays near 40: the policy collapsed. Baseline *None*: noisier. Plain SGD: needs η ≈ 2. γ = 0: nothing learned.")


def main() -> None:
    s = controls()
    st.markdown(INTRO)
    with ui.guard("train the policy"):
        result = reinforce(**asdict(s))
    render_summary(result, s)
    render_returns(result)
    st.subheader("What the policy learned")
    render_policy(result)
    st.subheader("One episode of the trained policy")
    render_episode(result, s)
    st.subheader("Why a baseline: the spread of the gradient estimate")
    render_variance(result, s)
    st.subheader("The formulas and the code that ran")
    ui.panels.formula_and_code(
        FORMULAS, [policy_gradient.policy_gradient_estimate, policy_gradient.advantages,
                   policy_gradient.discounted_returns, policy_network.policy_backward, policy_gradient._ascent_step],
        notes=r"$A_t = G_t$ (none), $(G_t - \bar G)/\sigma_G$ over the update's episodes (normalize) or $G_t - V_\phi(s_t)$ "
              r"(value); $e_a$ is the one-hot vector of the action. Adam divides each coordinate of ĝ by its running "
              "RMS, so its steps are about η whatever ‖ĝ‖ is; SGD's are η‖ĝ‖.")
    with ui.guard("check the gradient"):
        checks = checks_of(result.params, seed=s.seed)
    ui.panels.gradient_check(checks, symbols={"W1": "W₁", "b1": "b₁", "W2": "W₂", "b2": "b₂"},
                             what=r"$\sum_t w_t \log \pi(a_t|s_t)$ (5 random states, actions and weights $w_t$; trained θ)")
    if any(c.tolerance > 1e-6 for c in checks):
        st.caption("Saturated tanh units make some gradients as small as the rounding error of the central difference, "
                   "ε·|f|/h; their tolerance is raised to that floor.")


with ui.guard("draw this page"):
    main()
