"""The Policy Gradient page under AppTest: what it draws, checked against calc_core's results (not the
page's own helpers) — the training curves, the scrubbed episode's policy map and replay, the baseline
lesson, the gradient check and the code that ran — collapse and divergence explained, the lessons,
old links, and scrubbing that never retrains. Every control's ends, hostile links, Reset and leaks
are the catalog suite's (tests/pages/test_catalog.py).

Training stops once solved, so the defaults train in well under a second; tests that need no solved
policy ask for 100 episodes in the link."""

import numpy as np
import pytest

from calc_core.common.messages import codes
from calc_core.policy_gradient import cartpole, lab
from calc_core.policy_gradient.reinforce import train
from tests.pages.apptest_helpers import assert_clean, chart_rows, chart_titled, run_page
from tests.vega_schema import picture
from ui.charts import raster

PAGE = "pages/4_Policy_Gradient.py"
SLUG = "Policy_Gradient"
SHORT = {"episodes": "100"}


def key(name: str) -> str:
    return f"{SLUG}:{name}"


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def alerts(at) -> str:
    return " ".join(a.value for kind in (at.success, at.info, at.warning) for a in kind)


def series(spec, name: str) -> np.ndarray:
    return np.array([r["y"] for r in chart_rows(spec, "series") if r["series"] == name], float)


def frame_spec(at) -> dict:
    """The cart-pole drawing: the chart with a cart."""
    from tests.pages.apptest_helpers import chart_specs

    return next(s for s in chart_specs(at) if "cart" in s.get("datasets", {}))


def heatmap(spec) -> np.ndarray:
    """The policy map's picture as the page sent it (RGBA, the top row first)."""
    drawn, _ = picture(spec)
    assert drawn.shape == (41, 41, 4)
    return drawn


def assert_same_picture(drawn, expected) -> None:
    """Equal to within one colour level (values equal to the last bits may round either way)."""
    assert np.abs(drawn.astype(int) - expected.astype(int)).max() <= 1


def coloured(p_right) -> np.ndarray:
    """A policy map in the kit's colours, the largest angular velocity at the top: P = 1 red, 0 blue."""
    return raster.colours(np.asarray(p_right)[::-1], "redblue", (0.0, 1.0), reverse=True)


@pytest.fixture(scope="module")
def defaults():
    at = run_page(PAGE)
    assert_clean(at)
    return at, lab.run(lab.Settings())


def test_defaults_solve_the_task_and_draw_calc_cores_run(defaults):
    at, r = defaults
    m = r.milestones
    assert metric(at, "Average ≥ 195 at episode") == f"{m.classic_episode:,}"
    assert metric(at, "Average ≥ 475 at episode") == f"{m.solved_episode:,}"
    assert metric(at, "Last-100 average return") == f"{r.last_average:.1f}" and r.last_average >= 475
    assert codes(r.diagnosis) == {"solved"} and r.diagnosis[0].what in at.success[0].value
    assert not at.warning
    returns = chart_titled(at, "Episode return while learning")
    np.testing.assert_array_equal(series(returns, "return"), r.returns)
    np.testing.assert_allclose(series(returns, "100-episode average"), r.moving_average, rtol=1e-12)
    assert {row["series"]: row["y"] for row in chart_rows(returns, "rules")} == {"195": 195, "475": 475}
    (marker,) = chart_rows(returns, "marker")  # the scrubber shows the last snapshot: the trained policy
    assert marker["x"] == m.episodes_run
    entropy = chart_titled(at, "How random the policy still is")
    np.testing.assert_allclose(series(entropy, "entropy"), r.mean_entropy, rtol=1e-12)
    norms = chart_titled(at, "‖ĝ‖ during this training")
    np.testing.assert_allclose(series(norms, "‖ĝ‖ of each update"), r.grad_norms, rtol=1e-12)
    assert set(at.query_params) == set()


def test_defaults_show_the_formulas_the_code_that_trained_and_a_passing_gradient_check(defaults):
    at, r = defaults
    assert any("Pass" in s.value for s in at.success)
    assert [row["parameter"] for _, row in at.table[0].value.iterrows()] == ["W₁", "b₁", "W₂", "b₂"]
    code = "\n".join(c.value for c in at.code)
    for function in ("def policy_gradient_estimate(", "def step_weights(", "def advantages(",
                     "def discounted_returns(", "def policy_backward(", "def ascent_step("):
        assert function in code, function
    assert "_ascent_step" not in code  # the page shows public functions only
    latex = " ".join(x.value for x in at.latex)
    assert r"\gamma^t\, \nabla_\theta \log \pi_\theta" in latex and r"\neq \nabla_\theta J" in latex
    assert r"M = \text{episodes per update}" in latex and "e_a - \\pi" in latex
    assert f"{r.gradient_check_steps} steps" in " ".join(m.value for m in at.markdown)


def test_the_policy_maps_are_calc_cores_before_training_and_at_the_episode_shown(defaults):
    at, r = defaults
    before = chart_titled(at, "P(push right), before training")
    assert_same_picture(heatmap(before), coloured(lab.policy_map_at(r, 0).p_right))
    shown = chart_titled(at, "P(push right), at the episode shown")
    assert_same_picture(heatmap(shown), coloured(lab.policy_map_at(r, -1).p_right))
    assert not np.array_equal(heatmap(before), heatmap(shown))
    grid = lab.policy_map_at(r, -1).p_right
    assert grid[-1, -1] > 0.95 and grid[0, 0] < 0.05  # pushes under a pole falling either way


def test_scrubbing_shows_that_episodes_policy_and_replay_and_never_retrains(defaults, monkeypatch):
    _, r = defaults
    at = run_page(PAGE)
    calls = []
    real = lab.train
    monkeypatch.setattr(lab, "train", lambda **kw: calls.append(kw) or real(**kw))
    index = len(r.snapshots) // 3
    episode = int(r.snapshots.steps[index])
    at.select_slider(key=key("step")).set_value(episode).run()
    assert_clean(at)
    assert calls == []  # the run came from the cache
    assert at.query_params.get("step") == str(episode)
    assert_same_picture(heatmap(chart_titled(at, "P(push right), at the episode shown")),
                                  coloured(lab.policy_map_at(r, index).p_right))
    (marker,) = chart_rows(chart_titled(at, "Episode return while learning"), "marker")
    assert marker["x"] == episode and marker["label"] == f"episode {episode}"
    replay = lab.replay_at(r, index, greedy=False)
    assert replay.summary in " ".join(m.value for m in at.markdown)
    assert at.slider(key=key("t")).max == replay.length
    assert f"x = {replay.states[0, 0]:+.3f} m" in " ".join(c.value for c in at.caption)
    assert metric(at, "Last-100 average return") == f"{r.last_average:.1f}"


def test_the_step_slider_draws_the_cart_and_pole_at_that_step_of_the_replayed_episode():
    at = run_page(PAGE, SHORT)
    r = lab.run(lab.Settings(episodes=100))
    replay = lab.replay_at(r, -1)
    step = replay.length // 2
    at.slider(key=key("t")).set_value(step).run()
    assert_clean(at)
    x, _, theta, _ = replay.states[step]
    (pole,) = chart_rows(frame_spec(at), "pole")
    assert (pole["x"], pole["y"]) == (pytest.approx(x), pytest.approx(0.24))
    assert pole["x2"] - pole["x"] == pytest.approx(np.sin(theta)) and pole["y2"] - pole["y"] == pytest.approx(np.cos(theta))
    (label,) = chart_rows(frame_spec(at), "label")
    assert label["label"].startswith("pushes right" if replay.actions[step] else "pushes left")
    assert f"{replay.p_right[step]:.2f}" in label["label"]
    assert f"x = {x:+.3f} m" in " ".join(c.value for c in at.caption)
    trajectory = chart_titled(at, "The episode: angle and position")
    assert chart_rows(trajectory, "marker") == [{"t": step}]
    assert sum("θ" in row["series"] for row in chart_rows(trajectory, "series")) == replay.length + 1
    at.slider(key=key("t")).set_value(replay.length).run()  # the last frame is the final state: no push
    assert_clean(at)
    assert chart_rows(frame_spec(at), "push") == [] and chart_rows(frame_spec(at), "label") == []
    assert "final state" in " ".join(c.value for c in at.caption)


def test_greedy_replay_of_the_trained_policy_is_the_greedy_episode():
    at = run_page(PAGE, {**SHORT, "greedy": "true"})
    assert_clean(at)
    replay = lab.replay_at(lab.run(lab.Settings(episodes=100)), -1, greedy=True)
    assert replay.summary in " ".join(m.value for m in at.markdown)
    assert at.slider(key=key("t")).max == replay.length


def test_the_baseline_panel_is_calc_cores_lesson_with_its_ranges(defaults):
    at, r = defaults
    v = r.variance
    bars = {row["category"]: row for row in chart_rows(chart_titled(at, "Noise per unit of signal"), "bars")}
    for b, baseline in enumerate(v.baselines):
        assert bars[baseline]["value"] == pytest.approx(v.relative_std[b], rel=1e-12)
        assert (bars[baseline]["low"], bars[baseline]["high"]) == pytest.approx(tuple(v.relative_std_range[b]))
    spread = chart_titled(at, "‖ĝ‖ of each batch")
    np.testing.assert_allclose(series(spread, "none"), v.grad_norms[0] / v.mean_gradient_norm[0], rtol=1e-12)
    np.testing.assert_allclose(series(spread, "value"), v.grad_norms[2] / v.mean_gradient_norm[2], rtol=1e-12)
    assert lab.variance_text(r) in " ".join(m.value for m in at.markdown)


def test_a_too_large_learning_rate_collapses_the_policy_and_the_page_explains_it():
    at = run_page(PAGE, {"lr": "0.5", **SHORT})
    assert_clean(at)
    warning = " ".join(w.value for w in at.warning)
    assert "collapsed at episode" in warning and "Lower the learning rate" in warning and "eₐ − π" in warning
    assert float(metric(at, "Policy entropy at the end").split()[0]) < 0.1
    assert chart_titled(at, "Episode return while learning") and chart_titled(at, "Noise per unit of signal")


def test_divergence_is_reported_with_the_last_finite_policy_still_drawn(monkeypatch):
    real_train = lab.train
    monkeypatch.setattr(lab, "train", lambda **kw: real_train(**kw, value_learning_rate=1e300))
    at = run_page(PAGE, {"baseline": "value", **SHORT})
    assert_clean(at)
    warning = " ".join(w.value for w in at.warning)
    assert "diverged at episode" in warning and "value network" in warning
    assert any(s.value.startswith("**Pass") for s in at.success)  # the check runs on the last finite θ
    assert chart_titled(at, "P(push right), at the episode shown")


def test_gamma_zero_learns_nothing_and_the_page_says_why():
    at = run_page(PAGE, {"gamma": "0", **SHORT})
    assert_clean(at)
    assert "Nothing to learn from with γ = 0" in alerts(at) and "θ never moved" in alerts(at)


def test_plain_sgd_has_its_own_learning_rate_and_url_key():
    at = run_page(PAGE, {"opt": "sgd", "sgd_lr": "0.05", **SHORT})
    assert_clean(at)
    assert at.select_slider(key=key("sgd_lr")).value == 0.05 and not at.select_slider(key=key("sgd_lr")).disabled
    assert at.select_slider(key=key("lr")).disabled  # Adam's η waits, unused
    r = lab.run(lab.Settings(optimizer="sgd", sgd_learning_rate=0.05, episodes=100))
    np.testing.assert_array_equal(series(chart_titled(at, "Episode return"), "return"), r.returns)


def test_links_made_before_the_control_kit_still_open_with_their_values():
    """Old links wrote the options' labels: ?opt=SGD&baseline=Value+network."""
    at = run_page(PAGE, {"opt": "SGD", "baseline": "Value network", **SHORT})
    assert_clean(at)
    assert at.radio(key=key("opt")).value == "sgd" and at.radio(key=key("baseline")).value == "value"
    assert at.query_params.get("opt") == "sgd" and at.query_params.get("baseline") == "value"


def test_the_gamma_t_form_and_a_link_reproduce_calc_cores_run():
    query = {"lr": "0.05", "gamma": "0.95", "hidden": "8", "episodes": "100", "batch": "4", "baseline": "value",
             "form": "discounted", "seed": "42"}
    at = run_page(PAGE, query)
    assert_clean(at)
    r = lab.run(lab.Settings(learning_rate=0.05, gamma=0.95, hidden_units=8, episodes=100, episodes_per_update=4,
                             baseline="value", gradient_form="discounted", seed=42))
    np.testing.assert_array_equal(series(chart_titled(at, "Episode return"), "return"), r.returns)
    assert "Estimating ∇E[G₀]" in alerts(at)
    assert dict(at.query_params) == query


@pytest.mark.parametrize("preset", lab.PRESETS, ids=lambda p: p.name)
def test_each_lesson_draws_its_run_and_its_diagnosis(preset):
    at = run_page(PAGE)
    at.button_group(key=key("lesson_choice")).set_value(preset.name).run()
    assert_clean(at)
    r = lab.run(preset.apply(lab.Settings()))
    assert set(preset.expect) <= codes(r.diagnosis)
    shown = alerts(at) + " ".join(w.value for w in at.warning)
    for message in r.diagnosis:
        assert message.title in shown, message.code
    assert preset.lesson in shown


def test_every_chart_offers_its_data_and_svg():
    at = run_page(PAGE, SHORT)
    keys = {button.key for button in at.get("download_button")}
    for name in ("returns", "entropy", "policy_map_start", "policy_map", "episode", "gradient_spread",
                 "noise_per_signal", "gradient_norms"):
        assert {key(f"csv:{name}"), key(f"svg:{name}")} <= keys, name


def test_a_long_training_runs_every_episode_without_the_stop():
    at = run_page(PAGE, {"stop": "false", "episodes": "700"})
    assert_clean(at)
    r = lab.run(lab.Settings(stop_when_solved=False, episodes=700))
    assert r.milestones.episodes_run == 700 and len(series(chart_titled(at, "Episode return"), "return")) == 700
    assert codes(r.diagnosis) & {"solved", "fell_back", "not_solved"}
    assert r.diagnosis[0].title in alerts(at)


def test_the_replay_summary_says_how_the_episode_ended():
    at = run_page(PAGE, SHORT)
    replay = lab.replay_at(lab.run(lab.Settings(episodes=100)), -1)
    text = " ".join(m.value for m in at.markdown)
    expected = {"time limit": "500-step limit", "pole angle": "pole passed 12°", "cart position": "left the track"}
    assert expected[replay.ended_by] in text and f"({replay.length * cartpole.TAU:.2f} s)" in text
    assert train  # the public name stays importable
