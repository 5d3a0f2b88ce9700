"""Recommendations: matrix factorization r̂_ui = μ + b_u + b_i + p_uᵀq_i trained by SGD."""

from dataclasses import dataclass

import numpy as np
import streamlit as st

import ui
from calc_core.recommender import model as recommender
from calc_core.recommender import lab as recommender_experiment

ui.setup_page("pages/1_Recommendations.py")

LEARNING_RATES = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05,
                  0.075, 0.1, 0.15, 0.2, 0.3, 0.5)
SYNTHETIC, UPLOAD = "synthetic", "upload"
MAX_UPLOAD_MB = 25


@dataclass(frozen=True)
class Settings:
    source: str
    n_users: int
    n_items: int
    density: float
    rank: int
    noise: float
    test_fraction: float
    learning_rate: float
    reg: float
    n_factors: int
    n_epochs: int
    seed: int


def controls() -> tuple[Settings, bytes | None]:
    sb = st.sidebar
    sb.header("Data")
    source = ui.controls.choice("Ratings", [SYNTHETIC, UPLOAD], SYNTHETIC, key="data",
                                fmt={SYNTHETIC: "Synthetic, planted structure", UPLOAD: "Upload a file"}.get)
    upload = None
    if source == UPLOAD:
        file = sb.file_uploader("CSV of user,item,rating (or MovieLens u.data)",
                                type=["csv", "tsv", "txt", "data", "dat"],
                                help=f"Up to {MAX_UPLOAD_MB} MB. Extra columns such as a timestamp are ignored.")
        upload = None if file is None else file.getvalue()
    with sb.expander("Synthetic data", expanded=source == SYNTHETIC):
        n_users = ui.controls.slider("Users", 20, 1000, 300, step=10, key="users", container=st)
        n_items = ui.controls.slider("Items", 20, 1000, 200, step=10, key="items", container=st)
        density = ui.controls.slider("Density (fraction rated)", 0.01, 0.3, 0.3, step=0.01, fmt="%.2f",
                                     key="density", container=st)
        rank = ui.controls.slider("Planted rank", 1, 10, 3, key="rank", container=st,
                                  help="Dimension of the hidden taste vectors the ratings were made from.")
        noise = ui.controls.slider("Rating noise σ", 0.0, 1.5, 0.4, step=0.05, fmt="%.2f", key="noise",
                                   container=st, help="The best possible test RMSE is about σ.")
    test_fraction = ui.controls.slider("Test fraction", 0.1, 0.5, 0.2, step=0.05, fmt="%.2f", key="test")
    sb.header("Model and SGD")
    learning_rate = ui.controls.log_slider("Learning rate η", LEARNING_RATES, 0.03, key="lr")
    reg = ui.controls.slider("Regularization λ", 0.0, 1.0, 0.05, step=0.01, fmt="%.2f", key="reg")
    n_factors = ui.controls.slider("Latent factors k", 1, 50, 10, key="factors")
    n_epochs = ui.controls.slider("Epochs", 1, 100, 40, key="epochs")
    seed = ui.controls.seed()
    ui.controls.reset_button()
    ui.sidebar_note()
    return Settings(source, n_users, n_items, density, rank, noise, test_fraction, learning_rate, reg,
                    n_factors, n_epochs, seed), upload


run_synthetic = ui.cached(recommender_experiment.run_synthetic, spinner="Training…")
run_on_file = ui.cached(recommender_experiment.run_on_file, spinner="Reading the file and training…")


def compute(s: Settings, upload: bytes | None):
    model_args = dict(n_factors=s.n_factors, lr=s.learning_rate, reg=s.reg, n_epochs=s.n_epochs,
                      test_fraction=s.test_fraction, seed=s.seed)
    if s.source == UPLOAD:
        if upload is None:
            st.info("Upload a file of `user,item,rating` rows in the sidebar — a CSV with or without a "
                    "header, or MovieLens's tab-separated `u.data`.", icon=":material/upload_file:")
            st.stop()
        if len(upload) > MAX_UPLOAD_MB * 2**20:
            raise ValueError(f"The file is {len(upload) / 2**20:.0f} MB; the limit is {MAX_UPLOAD_MB} MB.")
        return run_on_file(upload, **model_args)
    return run_synthetic(s.n_users, s.n_items, s.density, s.rank, s.noise, **model_args)


def render_summary(run, s: Settings) -> None:
    cols = st.columns(4)
    cols[0].metric("Test RMSE", f"{run.test_rmse:.3f}",
                   delta=f"{run.test_rmse - run.global_mean_rmse:+.3f} vs global mean", delta_color="inverse",
                   help="Root-mean-square error on ratings the model never saw.")
    cols[1].metric("Global-mean baseline", f"{run.global_mean_rmse:.3f}", help="Predict μ for everything.")
    floor = run.noise_floor_rmse
    cols[2].metric("Noise floor", "—" if floor is None else f"{floor:.3f}",
                   help="RMSE of the clean planted ratings: no model can do better on average.")
    cols[3].metric("Train RMSE", f"{run.train_rmse:.3f}",
                   help=f"{run.n_train:,} training and {run.n_test:,} test ratings.")
    history = run.history
    # One slot whether or not a message shows: an element that comes and goes above a fragment
    # would shift the fragment's position, and Streamlit 1.67 then loses track of its widgets.
    message = st.container()
    if history.diverged:
        with message:
            ui.show_problem(
                f"Training diverged in epoch {history.diverged_epoch}",
                f"After {history.diverged_rating or 0:,} ratings of that epoch a prediction error passed "
                "1000× the rating scale, so training stopped; the charts show the last finite epoch.",
                f"A step of η = {s.learning_rate:g} is too large for the curvature of the loss: each update "
                "overshoots the minimum of that rating's error by more than it corrects, so the error grows "
                "geometrically (roughly when η·(2 + ‖p_u‖² + ‖q_i‖²) > 2).",
                ["Lower the learning rate (0.01–0.05 works here).", "Raise λ a little, which shrinks the factors.",
                 "Use fewer latent factors."],
            )
    elif len(history.test_rmse) > 5 and history.test_rmse[-1] > min(history.test_rmse) + 0.02:
        message.info(f"**Overfitting:** test RMSE bottomed at {min(history.test_rmse):.3f} in epoch "
                     f"{int(np.argmin(history.test_rmse)) + 1} and has risen since, while train RMSE keeps "
                     "falling. More regularization λ or fewer factors helps.", icon=":material/trending_up:")


def render_curves(run) -> None:
    h = run.history
    rules = [ui.charts.Rule(run.global_mean_rmse, "global-mean baseline", "#7f7f7f")]
    if run.noise_floor_rmse is not None:
        rules.append(ui.charts.Rule(run.noise_floor_rmse, "noise floor", "#2ca02c"))
    epochs = np.arange(1, len(h.train_rmse) + 1)
    left, right = st.columns([3, 2], gap="large")
    with left:
        ui.charts.show(ui.charts.lines(epochs, {"train RMSE": h.train_rmse, "test RMSE": h.test_rmse},
                                       x_title="epoch", y_title="RMSE", rules=rules,
                                       title="RMSE after each epoch", points=len(epochs) < 15),
                       "Training stopped in the first epoch: there is no finished epoch to draw.")
    with right:
        ui.charts.show(ui.charts.scatter_against_identity(
            run.test_ratings, run.test_predictions, x_title="true rating", y_title="predicted rating",
            title="Test set: predicted vs true"), "There are no test ratings.")


@st.fragment
def render_recommendations(run) -> None:
    model = run.model
    options = list(np.flatnonzero(model.user_known)) or [0]
    picker, _ = st.columns([1, 3])
    user = ui.controls.choice("User", options, options[0], key="user", widget="selectbox",
                              fmt=lambda k: str(run.user_labels[k]), container=picker)
    rec = model.recommend(user, k=5)
    if rec.items.size == 0:
        st.info("This user has rated every item: there is nothing left to recommend.")
        return
    labels = [f"item {run.item_labels[i]}" for i in rec.items]
    parts = {"b_u": np.full(rec.items.size, rec.user_bias), "b_i": rec.item_bias, "p_u·q_i": rec.interaction}
    chart, table = st.columns([3, 2], gap="large")
    with chart:
        ui.charts.show(ui.charts.stacked_contributions(
            labels, parts, category_title=None, value_title="r̂ − μ (stars above the global mean)",
            title=f"Top 5 for user {run.user_labels[user]}: what lifts each prediction above μ"))
    with table:
        st.dataframe({"item": labels, "r̂": rec.scores, "b_u": parts["b_u"], "b_i": rec.item_bias,
                      "p_u·q_i": rec.interaction},
                     hide_index=True, column_config={k: st.column_config.NumberColumn(format="%.3f")
                                                     for k in ("r̂", "b_u", "b_i", "p_u·q_i")})
        st.caption(f"r̂ = μ + b_u + b_i + p_u·q_i (clipped to the rating scale) with μ = {rec.mu:.3f}. The {model.rated_items(user).size} items "
                   f"this user rated in training are excluded.")


FORMULAS = [
    r"\hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i, \qquad e_{ui} = r_{ui} - \hat r_{ui}",
    r"L = \tfrac12 \sum_{(u,i)} \big[e_{ui}^2 + \lambda\,(b_u^2 + b_i^2 + \lVert p_u\rVert^2 + \lVert q_i\rVert^2)\big]",
    r"\frac{\partial \ell_{ui}}{\partial b_u} = -e_{ui} + \lambda b_u \qquad \frac{\partial \ell_{ui}}{\partial b_i} = -e_{ui} + \lambda b_i",
    r"\frac{\partial \ell_{ui}}{\partial p_u} = -e_{ui}\, q_i + \lambda p_u \qquad \frac{\partial \ell_{ui}}{\partial q_i} = -e_{ui}\, p_u + \lambda q_i",
    r"\theta \leftarrow \theta - \eta\, \frac{\partial \ell_{ui}}{\partial \theta}:",
    r"b_u \leftarrow b_u + \eta\,(e_{ui} - \lambda b_u), \quad b_i \leftarrow b_i + \eta\,(e_{ui} - \lambda b_i)",
    r"p_u \leftarrow p_u + \eta\,(e_{ui}\, q_i - \lambda p_u)",
    r"q_i \leftarrow q_i + \eta\,(e_{ui}\, p_u^{\text{old}} - \lambda q_i)",
]


TRY_THIS = (
    "**Try this:** set λ to 0 and the latent factors to 50 — train RMSE keeps falling while test RMSE turns "
    "back up (overfitting). Raise the learning rate to 0.5 — the updates overshoot and training diverges. "
    "Set the rating noise to 0 — the noise floor drops to 0 and the model can chase it."
)


def main() -> None:
    settings, upload = controls()
    st.markdown(TRY_THIS)
    with ui.guard("train the recommender"):
        run = compute(settings, upload)
    render_summary(run, settings)
    render_curves(run)
    st.subheader("Recommendations, explained")
    render_recommendations(run)
    st.subheader("How the gradient drives it")
    ui.panels.formula_and_code(
        FORMULAS, [recommender.sgd_epoch],
        notes="μ is the mean training rating and stays fixed. The ½ in L makes the step exactly η: it is the "
              "update Surprise's SVD (and the tutorial's code) applies. One epoch visits every training "
              "rating once, in a fresh shuffled order.")
    ui.panels.gradient_check(run.gradient_checks,
                             what=f"L on {run.gradient_check_batch} training ratings, at the trained parameters",
                             symbols={"P": "p_u (rows of P)", "Q": "q_i (rows of Q)"})


with ui.guard("draw this page"):
    main()
