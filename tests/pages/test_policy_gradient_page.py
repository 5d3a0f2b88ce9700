"""The Policy Gradient page under AppTest: what it draws (checked against calc_core, not against the
page's own helpers), collapse and divergence explained, every control at its extremes, deep links.

Training is the slow part (~2 s at the defaults), so most tests ask for 50–100 episodes in the URL
and only a few train at the defaults.
"""

import numpy as np
import pytest

from calc_core.policy_gradient import cartpole

from calc_core.policy_gradient import reinforce as policy_gradient
from calc_core.policy_gradient import lab as lessons
from calc_core.policy_gradient.reinforce import train
from tests.pages.apptest_helpers import assert_clean, chart_rows, chart_specs, run_page

PAGE = "pages/4_Policy_Gradient.py"
SHORT = {"episodes": "100"}


def chart(at, title_start: str) -> dict:
    return next(s for s in chart_specs(at) if str(s.get("title", "")).startswith(title_start))


def rows(spec) -> list[dict]:
    return chart_rows(spec)


def series(spec, name: str) -> np.ndarray:
    return np.array([r["y"] for r in rows(spec) if r.get("series") == name], float)


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def frame_spec(at) -> dict:
    """The cart-pole drawing: the only chart without a title and with a fixed width."""
    return next(s for s in chart_specs(at) if s.get("width") == 440 and "title" not in s)


@pytest.fixture(scope="module")
def defaults():
    at = run_page(PAGE)
    assert_clean(at)
    return at


@pytest.fixture(scope="module")
def reference():
    return train(seed=0)  # the page's defaults: Adam, η = 0.02, γ = 0.99, 16 units, 600 episodes


def test_defaults_learn_to_balance_the_pole(defaults, reference):
    assert metric(defaults, "Average ≥ 195 at episode") == f"{reference.classic_episode:,}"
    assert metric(defaults, "Average ≥ 475 at episode") == f"{reference.solved_episode:,}"
    assert float(metric(defaults, "Last-100 average return")) >= 475
    assert not defaults.warning and not defaults.info  # no collapse, nothing to explain
    returns = chart(defaults, "Episode return while learning")
    np.testing.assert_array_equal(series(returns, "return"), reference.returns)
    np.testing.assert_allclose(series(returns, "100-episode average"), reference.moving_average, rtol=1e-12)


def test_defaults_show_every_panel_the_formulas_the_code_and_a_passing_gradient_check(defaults):
    titles = [str(s.get("title")) for s in chart_specs(defaults)]
    for start in ("Episode return", "How random the policy", "P(push right), before training",
                  "P(push right), after 600 episodes", "The episode: angle and position", "‖ĝ‖ of each batch",
                  "Noise per unit of signal", "‖ĝ‖ during this training"):
        assert any(t.startswith(start) for t in titles), (start, titles)
    assert frame_spec(defaults)["layer"]
    assert defaults.success and "Pass" in defaults.success[0].value
    assert [row["parameter"] for _, row in defaults.dataframe[0].value.iterrows()] == ["W₁", "b₁", "W₂", "b₂"]
    code = "\n".join(c.value for c in defaults.code)
    for function in ("def policy_gradient_estimate(", "def advantages(", "def discounted_returns(",
                     "def policy_backward(", "def _ascent_step("):
        assert function in code
    latex = " ".join(x.value for x in defaults.latex)
    assert len(defaults.latex) >= 8 and r"\nabla_\theta \log \pi_\theta" in latex and "e_a - \\pi" in latex


def test_training_charts_hold_every_episode_the_thresholds_and_the_entropy():
    at = run_page(PAGE, SHORT)
    assert_clean(at)
    reference = train(episodes=100, seed=0)
    returns = chart(at, "Episode return while learning")
    np.testing.assert_array_equal(series(returns, "return"), reference.returns)
    assert {r["series"]: r["y"] for r in rows(returns) if r.get("series") in ("195", "475")} == {"195": 195, "475": 475}
    entropy = chart(at, "How random the policy still is")
    np.testing.assert_allclose(series(entropy, "entropy"), reference.mean_entropy, rtol=1e-12)
    assert series(entropy, "log 2: coin flip") == pytest.approx([np.log(2)])
    assert series(entropy, "collapse") == pytest.approx([policy_gradient.COLLAPSE_ENTROPY])
    norms = chart(at, "‖ĝ‖ during this training")
    np.testing.assert_allclose([r["y"] for r in rows(norms)], reference.grad_norms, rtol=1e-12)
    assert "Not balancing yet" in at.info[0].value  # 100 episodes are not enough at these settings


def test_policy_heatmaps_show_p_right_before_and_after_training_with_positive_swing_at_the_top():
    at = run_page(PAGE, SHORT)
    reference = train(episodes=100, seed=0)
    for title, params in (("P(push right), before", reference.snapshots[0]), ("P(push right), after", reference.params)):
        cells = [r for r in rows(chart(at, title)) if "col" in r]
        grid = lessons.policy_map(params)
        assert len(cells) == grid.p_right.size == 41 * 41
        drawn = np.array([r["value"] for r in cells]).reshape(41, 41)
        np.testing.assert_allclose(drawn, grid.p_right[::-1], rtol=1e-12)  # row 0 (top) is θ̇ = +2 rad/s
        assert cells[0]["row"] == "2.0" and cells[0]["col"] == "-12.0"


def test_the_step_slider_draws_the_cart_and_pole_at_that_step_of_the_replayed_episode():
    at = run_page(PAGE, SHORT)
    replay = lessons.replay_episode(train(episodes=100, seed=0).params, seed=0)
    assert at.slider(key="t").max == replay.length
    step = replay.length // 2
    at.slider(key="t").set_value(step).run()
    assert_clean(at)
    x, _, theta, _ = replay.states[step]
    pole = [r for r in rows(frame_spec(at)) if r.get("y") == 0.24 and r.get("y2", 0) > 1.0]
    # the pole leaves the axle at (x, 0.24) at angle θ, 1 m long; the two dashed ones mark ±12°
    ends = {(round(r["x2"] - r["x"], 9), round(r["y2"] - r["y"], 9)) for r in pole}
    assert (round(np.sin(theta), 9), round(np.cos(theta), 9)) in ends
    assert all(r["x"] == pytest.approx(x) for r in pole)
    label = next(r["label"] for r in rows(frame_spec(at)) if "pushes" in str(r.get("label")))
    assert label.startswith("pushes right" if replay.actions[step] else "pushes left")
    assert f"{replay.p_right[step]:.2f}" in label
    assert f"x = {x:+.3f} m" in " ".join(c.value for c in at.caption)
    trajectory = chart(at, "The episode: angle and position")
    assert {"t": step} in rows(trajectory)
    assert sum("θ" in str(r.get("series")) for r in rows(trajectory)) == replay.length + 1
    at.slider(key="t").set_value(replay.length).run()  # the last frame is the final state: no push
    assert_clean(at)
    assert not any("pushes" in str(r.get("label")) for r in rows(frame_spec(at)))
    assert "final state" in " ".join(c.value for c in at.caption)


def test_greedy_replay_of_the_trained_policy_is_the_greedy_episode():
    at = run_page(PAGE, {**SHORT, "greedy": "true"})
    assert_clean(at)
    replay = lessons.replay_episode(train(episodes=100, seed=0).params, seed=0, greedy=True)
    assert f"lasted **{replay.length} steps**" in " ".join(m.value for m in at.markdown)
    assert at.slider(key="t").max == replay.length


def test_the_baseline_panel_compares_the_three_baselines_on_the_same_batches():
    at = run_page(PAGE, SHORT)
    reference = lessons.gradient_variance(lessons.initial_params(16, 0), 0.99, 0)
    bars = {r["category"]: r["value"] for r in chart(at, "Noise per unit of signal")["layer"][0]["data"]["values"]}
    np.testing.assert_allclose([bars["none"], bars["normalize"], bars["value"]], reference.relative_std, rtol=1e-12)
    assert bars["value"] < bars["none"] and bars["normalize"] < bars["none"]
    spread = chart(at, "‖ĝ‖ of each batch")
    np.testing.assert_allclose(series(spread, "none"), reference.grad_norms[0] / reference.mean_gradient_norm[0])
    np.testing.assert_allclose(series(spread, "value"), reference.grad_norms[2] / reference.mean_gradient_norm[2])
    at.selectbox(key="at").set_value(100).run()  # the policy after 100 episodes
    assert_clean(at)
    later = lessons.gradient_variance(train(episodes=100, seed=0).snapshots[100], 0.99, 0)
    bars = [r["value"] for r in chart(at, "Noise per unit of signal")["layer"][0]["data"]["values"]]
    np.testing.assert_allclose(bars, later.relative_std, rtol=1e-12)


def test_a_too_large_learning_rate_collapses_the_policy_and_the_page_explains_it():
    at = run_page(PAGE, {"lr": "0.5", **SHORT})
    assert not at.exception and not at.error
    warning = " ".join(w.value for w in at.warning)
    assert "collapsed at episode" in warning and "learning rate" in warning and "eₐ − π" in warning
    assert float(metric(at, "Policy entropy at the end").split()[0]) < 0.1
    assert len(chart_specs(at)) >= 9  # every chart is still drawn


def test_divergence_is_reported_with_the_last_finite_policy_still_drawn(monkeypatch):
    real_train = policy_gradient.train

    def train_with_absurd_value_steps(**settings):  # no control reaches NaN: force it through the value net
        return real_train(**settings, value_learning_rate=1e300)

    train_with_absurd_value_steps.__qualname__ = "train_with_absurd_value_steps"
    monkeypatch.setattr(policy_gradient, "train", train_with_absurd_value_steps)
    at = run_page(PAGE, {"baseline": "Value network", **SHORT})
    assert not at.exception and not at.error
    warning = " ".join(w.value for w in at.warning)
    assert "diverged at episode" in warning and "value network" in warning
    assert at.success and "Pass" in at.success[0].value  # the gradient check runs on the last finite θ
    assert len(chart_specs(at)) >= 9


def test_gamma_zero_learns_nothing_and_the_page_says_why():
    at = run_page(PAGE, {"gamma": "0", **SHORT})
    assert_clean(at)
    assert any("γ = 0" in i.value for i in at.info)


def test_plain_sgd_has_its_own_learning_rate_range_and_url_key():
    at = run_page(PAGE, {"opt": "SGD", "sgd_lr": "5", **SHORT})
    assert_clean(at)
    keys = [s.key for s in at.select_slider]
    assert "sgd_lr" in keys and "lr" not in keys
    assert at.select_slider(key="sgd_lr").value == 5.0
    reference = train(episodes=100, optimizer="sgd", learning_rate=5.0, seed=0)
    np.testing.assert_array_equal(series(chart(at, "Episode return"), "return"), reference.returns)


def _small(**query) -> dict:
    return {"episodes": "50", **query}


EXTREMES = {  # every control at its minimum and its maximum (URL values), the others at small, fast settings
    "lr": ("0.001", "1"), "gamma": ("0", "1"),  # select sliders take the shown text: 1, not 1.0
    "hidden": ("1", "64"), "batch": ("1", "20"),
    "seed": ("0", "9999"), "baseline": ("None", "Normalize", "Value network"), "opt": ("Adam", "SGD"),
    "greedy": ("false", "true"),
}


def test_every_control_at_its_minimum_and_maximum_runs_cleanly():
    exercised = []
    for key, values in EXTREMES.items():
        for value in values:
            at = run_page(PAGE, _small(**{key: value}))
            assert not at.exception and not at.error, (key, value, [e.value for e in at.exception])
            widget = {"baseline": at.radio, "opt": at.radio, "greedy": at.toggle, "seed": at.number_input,
                      "hidden": at.slider, "batch": at.slider}.get(key, at.select_slider)(key=key)
            labels = {"None": "none", "Normalize": "normalize", "Value network": "value", "Adam": "adam", "SGD": "sgd"}
            expected = labels[value] if key in ("baseline", "opt") else value == "true" if key == "greedy" else float(value)
            assert widget.value == expected, (key, widget.value, expected)
            exercised.append(key)
    for value in ("0.01", "50"):
        at = run_page(PAGE, _small(opt="SGD", sgd_lr=value))
        assert not at.exception and not at.error and at.select_slider(key="sgd_lr").value == float(value)
    # episodes: 50 above; 2000 with a learning rate so small that the episodes stay short (fast)
    at = run_page(PAGE, {"episodes": "2000", "lr": "0.001", "batch": "20"})
    assert_clean(at)
    assert at.slider(key="episodes").value == 2000
    assert len(series(chart(at, "Episode return"), "return")) == 2000
    # the main-area controls at both ends: the step slider and the snapshot picker
    at.slider(key="t").set_value(at.slider(key="t").max).run()
    assert_clean(at)
    at.selectbox(key="at").set_value(2000).run()
    assert_clean(at)
    assert at.selectbox(key="at").value == 2000 and at.slider(key="t").value == at.slider(key="t").max
    at.slider(key="t").set_value(0).run()
    assert_clean(at)
    assert set(exercised) == set(EXTREMES)


def test_all_controls_at_their_maximum_together_run_cleanly():
    at = run_page(PAGE, {"lr": "1", "gamma": "1", "hidden": "64", "episodes": "2000", "batch": "20",
                         "seed": "9999", "baseline": "Value network", "greedy": "true"})
    assert not at.exception and not at.error
    assert at.slider(key="hidden").value == 64 and at.slider(key="episodes").value == 2000
    assert any("collapsed" in w.value for w in at.warning)  # η = 1 with Adam: the policy collapses


def test_all_controls_at_their_minimum_together_run_cleanly():
    at = run_page(PAGE, {"lr": "0.001", "gamma": "0", "hidden": "1", "episodes": "50", "batch": "1",
                         "seed": "0", "baseline": "None"})
    assert_clean(at)
    assert at.slider(key="hidden").value == 1 and at.select_slider(key="gamma").value == 0.0


def test_url_parameters_restore_the_settings_and_reproduce_the_run():
    query = {"lr": "0.05", "gamma": "0.95", "hidden": "8", "episodes": "100", "batch": "4", "baseline": "Value network",
             "seed": "42", "t": "7"}
    linked = run_page(PAGE, query)
    assert_clean(linked)
    assert linked.select_slider(key="lr").value == 0.05 and linked.select_slider(key="gamma").value == 0.95
    assert linked.slider(key="hidden").value == 8 and linked.slider(key="batch").value == 4
    assert linked.radio(key="baseline").value == "value" and linked.number_input(key="seed").value == 42
    assert linked.slider(key="t").value == 7
    reference = train(learning_rate=0.05, gamma=0.95, hidden_units=8, episodes=100, episodes_per_update=4,
                      baseline="value", seed=42)
    np.testing.assert_array_equal(series(chart(linked, "Episode return"), "return"), reference.returns)


@pytest.mark.parametrize("query", [
    {"lr": "abc", "gamma": "2", "hidden": "0", "batch": "x", "baseline": "value", "opt": "sgd", "seed": "-1",
     "t": "99999", "at": "7", "greedy": "maybe", "sgd_lr": "nan", **SHORT},
    {"episodes": "1e9", "hidden": "abc", "lr": "0.0215", "gamma": "[1]"},
])
def test_garbage_url_parameters_fall_back_to_defaults(query):
    at = run_page(PAGE, query)
    assert_clean(at)
    assert at.select_slider(key="lr").value == 0.02 and at.select_slider(key="gamma").value == 0.99
    assert at.slider(key="hidden").value == 16 and at.radio(key="baseline").value == "normalize"
    assert at.slider(key="t").value == 0 and at.number_input(key="seed").value == 0


def test_reset_button_restores_every_default(reference):
    at = run_page(PAGE, {"lr": "0.1", "hidden": "4", "seed": "3", "baseline": "None", **SHORT})
    assert at.radio(key="baseline").value == "none"
    assert at.slider(key="hidden").value == 4
    at.button[0].click().run()
    assert_clean(at)
    assert at.select_slider(key="lr").value == 0.02 and at.slider(key="hidden").value == 16
    assert at.slider(key="episodes").value == 600 and at.number_input(key="seed").value == 0
    assert at.radio(key="baseline").value == "normalize"
    assert metric(at, "Average ≥ 195 at episode") == f"{reference.classic_episode:,}"


def test_episode_summary_names_how_the_replayed_episode_ended():
    at = run_page(PAGE, SHORT)
    replay = lessons.replay_episode(train(episodes=100, seed=0).params, seed=0)
    text = " ".join(m.value for m in at.markdown)
    expected = {"time limit": "500-step limit", "pole angle": "pole passed 12°", "cart position": "left the track"}
    assert expected[replay.ended_by] in text
    assert f"({replay.length * cartpole.TAU:.2f} s)" in text
