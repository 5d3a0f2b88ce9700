"""Recommendations: matrix factorization r̂_ui = μ + b_u + b_i + p_uᵀq_i trained by SGD."""

from dataclasses import replace

import numpy as np
import streamlit as st

import ui
from calc_core.recommender import formulas, lab, model
from ui.controls import Choice, Number, Slider, Steps, Upload


def synthetic(values):
    return values["source"] == "synthetic"


CONTROLS = (
    Choice("data", "Ratings", field="source", options=lab.SOURCES, section="Data",
           labels={"synthetic": "Synthetic, planted structure", "upload": "Upload a file"}),
    Upload("file", "CSV of user,item,rating (or MovieLens u.data)", field="upload", max_mb=lab.MAX_UPLOAD_MB,
           types=("csv", "tsv", "txt", "data", "dat"), when=lambda v: v["source"] == "upload",
           help="Extra columns such as a timestamp are ignored; `;`-separated files with decimal commas work."),
    Slider("users", "Users", field="n_users", min_value=20, max_value=1000, step=10, when=synthetic),
    Slider("items", "Items", field="n_items", min_value=20, max_value=1000, step=10, when=synthetic),
    Slider("density", "Density (fraction rated)", min_value=0.01, max_value=0.3, step=0.01, fmt="%.2f",
           when=synthetic),
    Slider("rank", "Planted rank", min_value=1, max_value=10, when=synthetic,
           help="Dimension of the hidden taste vectors the ratings were made from."),
    Slider("noise", "Rating noise σ", min_value=0.0, max_value=1.5, step=0.05, fmt="%.2f", when=synthetic,
           help="Gaussian noise on each planted rating, before it is clipped to 1–5."),
    Slider("test", "Test fraction", field="test_fraction", min_value=0.1, max_value=0.5, step=0.05, fmt="%.2f"),
    Steps("lr", "Learning rate η", field="learning_rate", options=lab.LEARNING_RATES, section="Model and SGD"),
    Slider("reg", "Regularization λ", min_value=0.0, max_value=1.0, step=0.01, fmt="%.2f"),
    Slider("factors", "Latent factors k", field="n_factors", min_value=1, max_value=50),
    Slider("epochs", "Epochs", field="n_epochs", min_value=1, max_value=100),
    Number("seed", "Random seed", help="Same seed, same data, split and start: a shared link shows the same run."),
)
USER = Choice("user", "User", default=0, widget_kind="selectbox")

run = ui.cached(lab.run, spinner="Training…")


def render_summary(r: lab.Result) -> None:
    cols = ui.panels.metric_row(4)
    gain = r.test_final - r.global_mean_rmse
    cols[0].metric("Test RMSE", ui.panels.figure(r.test_final),
                   delta=f"{gain:+.3f} vs global mean" if np.isfinite(gain) else None,
                   delta_color="inverse", help="Root-mean-square error on ratings the model never saw.")
    cols[1].metric("Global-mean baseline", ui.panels.figure(r.global_mean_rmse), help="Predict μ for everything.")
    cols[2].metric("Noise floor", "—" if r.noise_floor_rmse is None else ui.panels.figure(r.noise_floor_rmse),
                   help="RMSE of the best possible prediction, E[r | planted signal]: no model beats it on average.")
    cols[3].metric("Train RMSE", ui.panels.figure(r.train_final),
                   help=f"{r.n_train:,} training and {r.n_test:,} test rating{'s' * (r.n_test != 1)}.")
    ui.panels.show_messages(r.diagnosis, st.container())  # one slot, message or not: the fragment keeps its place


def render_epoch(r: lab.Result, index: int) -> None:
    """Everything that depends on the epoch shown: the curve's marker, predictions and the top items."""
    epoch = int(r.snapshots.steps[index])
    rules = [ui.charts.Rule(r.global_mean_rmse, "global-mean baseline")]
    if r.noise_floor_rmse is not None:
        rules.append(ui.charts.Rule(r.noise_floor_rmse, "noise floor", "#2ca02c"))
    left, right = st.columns([3, 2], gap="large")
    with left:
        ui.charts.show(ui.charts.lines(np.arange(1, r.train_rmse.size + 1), {"train RMSE": r.train_rmse,
                                       "test RMSE": r.test_rmse}, x_title="epoch", y_title="RMSE", rules=rules,
                                       title="RMSE after each epoch", points=r.train_rmse.size < 15, marker=epoch,
                                       marker_label=f"epoch {epoch}"),
                       "Training stopped in the first epoch: there is no finished epoch to draw.", export="rmse")
    with right:
        ui.charts.show(ui.charts.scatter_against_identity(
            r.test_ratings, lab.predictions_at(r, index), x_title="true rating", y_title="predicted rating",
            title="Test set: predicted vs true"), "There are no test ratings.", export="predictions")
    options = tuple(int(u) for u in np.flatnonzero(r.model.user_known)) or (0,)
    picker, _ = st.columns([1, 3])
    named = replace(USER, labels=lambda k: str(r.user_labels[k]))
    user = ui.controls.draw(named, container=picker, options=options) if len(options) > 1 else options[0]
    rec = lab.top_items(r, user, index)
    if rec.items.size == 0:
        st.info("This user has rated every item: there is nothing left to recommend.", icon=":material/info:")
        return
    labels = [f"item {r.item_labels[i]}" for i in rec.items]
    parts = {"b_u": np.full(rec.items.size, rec.user_bias), "b_i": rec.item_bias, "p_u·q_i": rec.interaction}
    chart, table = st.columns([3, 2], gap="large")
    with chart:
        ui.charts.show(ui.charts.stacked_contributions(labels, parts, category_title=None,
                                                       value_title="r̂ − μ (stars above the global mean)",
                                                       title="Top 5: what lifts each prediction above μ"),
                       export="top5")
    with table:
        ui.panels.table({"item": labels, "r̂": rec.scores, **parts}, formats=dict.fromkeys(("r̂", *parts), ".3f"))
        rated = int(r.model.rated_items(user).size)
        when = "before training" if int(r.snapshots.steps[index]) == 0 else f"after {r.snapshots.label(index)}"
        st.caption(f"User {ui.panels.plain(r.user_labels[user])} {when}: r̂ = μ + b_u + b_i + p_u·q_i "
                   f"(clipped to the rating scale), μ = {rec.mu:.3f}; "
                   + (f"the {rated} items this user rated in training are excluded." if rated != 1 else
                      "the one item this user rated in training is excluded."))


def main() -> None:
    _, settings, _ = ui.page.begin("pages/1_Recommendations.py", CONTROLS, lab.Settings)
    ui.workshop.explain("Each rating r̂ = μ + b_u + b_i + p_u·q_i is improved one rating at a time by a step "
                        "down the gradient of its squared error. Pick a lesson above, or move the sliders.")
    if settings.source == "upload" and settings.upload is None:
        st.info("Upload a file of `user,item,rating` rows in the sidebar — a CSV with or without a header, or "
                "MovieLens's tab-separated `u.data`.", icon=":material/upload_file:")
        ui.workshop.stop()
    with ui.guard("train the recommender"):
        result = run(settings)
    render_summary(result)
    st.subheader("Training, epoch by epoch")
    ui.workshop.scrubber(result.snapshots, lambda index: render_epoch(result, index), label="Epoch shown")
    st.subheader("How the gradient drives it")
    ui.panels.formula_and_code(
        formulas.FORMULAS, [model.sgd_epoch],
        notes="μ is the mean training rating and stays fixed. The ½ in ℓ makes the step exactly η: it is the "
              "update Surprise's SVD (and the tutorial's code) applies. One epoch visits every training rating "
              "once, in a fresh shuffled order.")
    ui.panels.gradient_check(result.gradient_checks, symbols={"P": "p_u", "Q": "q_i"},
                             what=f"ℓ_ui on {result.gradient_check_ratings} training ratings (the gradient each "
                                  "SGD step applied, (θ − θ′)/η, read off the training loop itself)")


with ui.guard("draw this page"):
    main()
