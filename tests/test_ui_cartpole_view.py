"""ui.charts.cartpole and ui.cartpole_view: valid Vega-Lite specs on the chart kit whose marks sit where
the state says, tables that keep their names whatever the step, and the animation's data."""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from calc_core.policy_gradient import cartpole
from calc_core.policy_gradient.views import PolicyMap, initial_params, policy_map
from tests.vega_schema import drawn_domain, picture, rows, valid
from ui.charts import cartpole as charts
from ui.charts import raster
from ui.charts.core import EXPORT


def test_frame_draws_the_pole_from_the_axle_at_the_angle_of_the_state_with_the_push():
    state = np.array([0.7, -0.3, 0.15, 0.4])
    spec = valid(charts.frame(state, action=0, p_right=0.23, title="t = 3"))
    from_axle = rows(spec, "pole") + rows(spec, "limits")
    tips = np.array([(r["x2"] - r["x"], r["y2"] - r["y"]) for r in from_axle])  # the tables keep 10 digits
    # the pole (1 m at θ) and the two dashed ±12° limits all start at the axle above x
    limit = cartpole.THETA_THRESHOLD
    expected = [(np.sin(0.15), np.cos(0.15)), (-np.sin(limit), np.cos(limit)), (np.sin(limit), np.cos(limit))]
    np.testing.assert_allclose(tips, expected, atol=1e-9)
    assert all(r["x"] == pytest.approx(0.7) and r["y"] == pytest.approx(charts.CART_H) for r in from_axle)
    (cart,) = rows(spec, "cart")
    assert (cart["x"] + cart["x2"]) / 2 == pytest.approx(0.7)
    assert rows(spec, "push")[0]["label"] == "←" and rows(spec, "push")[0]["x"] < 0.7
    assert rows(spec, "label")[0]["label"] == "pushes left (π(right|s) = 0.23)"
    assert spec["width"] == "container" and spec["height"] == charts.HEIGHT and spec["title"] == "t = 3"


def test_frame_keeps_a_metre_as_long_across_as_up_and_its_tables_whatever_the_state():
    spec = valid(charts.frame(np.zeros(4)))
    x_domain, y_domain = (spec["encoding"][axis]["scale"]["domain"] for axis in ("x", "y"))
    assert charts.WIDTH / (x_domain[1] - x_domain[0]) == pytest.approx(charts.HEIGHT / (y_domain[1] - y_domain[0]))
    for width in (300, charts.WIDTH, 700):  # drawn in a column of any width: still a metre across as up
        x_drawn, y_drawn = (drawn_domain(spec["encoding"][axis]["scale"], width, charts.HEIGHT) for axis in "xy")
        assert width / (x_drawn[1] - x_drawn[0]) == pytest.approx(charts.HEIGHT / (y_drawn[1] - y_drawn[0]))
        assert x_drawn[0] <= -charts.TRACK and x_drawn[1] >= charts.TRACK  # the whole track in view
    assert rows(spec, "push") == [] and rows(spec, "label") == []  # no action given: no push drawn
    pushed = valid(charts.frame(np.array([0.1, 0, -0.05, 0]), action=1))
    assert list(pushed["datasets"]) == list(spec["datasets"])  # the same spec, new data: updated in place
    assert [layer["data"]["name"] for layer in pushed["layer"]] == [layer["data"]["name"] for layer in spec["layer"]]
    assert rows(pushed, "push")[0]["label"] == "→" and "title" not in pushed


@pytest.mark.parametrize("state", [np.array([0.0, 0.0, np.nan, 0.0]), np.zeros(3)])
def test_frame_of_a_broken_state_is_none(state):
    assert charts.frame(state) is None


def test_trajectory_plots_angle_and_position_as_shares_of_their_limits_and_marks_the_step():
    states = np.zeros((4, 4))
    states[:, 2] = [0.0, 0.1, np.nan, cartpole.THETA_THRESHOLD]
    states[:, 0] = [0.0, 1.2, 2.4, -2.4]
    spec = valid(charts.trajectory(states, 2, title="episode"))
    angle = [r for r in rows(spec, "series") if r["series"] == "pole angle θ / 12°"]
    assert [r["t"] for r in angle] == [0, 1, 3] and angle[-1]["v"] == pytest.approx(1.0)  # NaN dropped
    assert [r["v"] for r in rows(spec, "series") if r["series"] == "cart position x / 2.4 m"] == [0.0, 0.5, 1.0, -1.0]
    assert rows(spec, "marker") == [{"t": 2}] and [r["v"] for r in rows(spec, "limits")] == [-1.0, 1.0]
    assert charts.trajectory(np.zeros((1, 4)), 0) is None


def test_policy_heatmap_is_one_picture_with_the_largest_angular_velocity_on_top():
    grid = policy_map(initial_params(4, 0), n_angles=5, n_velocities=3)
    built = charts.policy_heatmap(grid, title="P")
    spec = valid(built)
    drawn, edges = picture(spec)
    assert drawn.shape[:2] == (3, 5)
    # the top row is the largest θ̇; P(right) = 1 red, 0 blue (redblue reversed), limits 0 and 1
    np.testing.assert_array_equal(drawn, raster.colours(grid.p_right[::-1], "redblue", (0.0, 1.0), reverse=True))
    degrees = np.degrees(grid.angles)
    assert edges["x"] < degrees[0] < degrees[-1] < edges["x2"]
    assert edges["y2"] < grid.angular_velocities[0] and grid.angular_velocities[-1] < edges["y"]
    cells = built[EXPORT]["cells"]
    np.testing.assert_allclose(cells["P(right)"], grid.p_right.reshape(-1))
    np.testing.assert_allclose(cells["angular velocity (rad/s)"][::5], grid.angular_velocities)
    np.testing.assert_allclose(cells["pole angle (°)"][:5], degrees)
    assert charts.policy_heatmap(PolicyMap(grid.angles, grid.angular_velocities, np.full((3, 5), np.nan))) is None


def test_bars_with_ranges_draw_each_range_over_its_bar_and_leave_out_what_has_no_value():
    spec = valid(charts.bars_with_ranges(["none", "normalize", "value"], [1.4, np.inf, 0.8], [1.1, np.inf, 0.7],
                                         [1.8, np.inf, 0.9], value_title="noise / signal"))
    assert [(r["category"], r["low"], r["high"]) for r in rows(spec, "bars")] == [("none", 1.1, 1.8),
                                                                                  ("value", 0.7, 0.9)]
    assert charts.bars_with_ranges(["a"], [np.inf], [np.inf], [np.inf], value_title="v") is None


def test_animation_embeds_every_state_and_action_of_the_episode():
    def app():
        import numpy as np

        from ui import cartpole_view as view

        states = np.column_stack([np.linspace(0, 1, 6), np.zeros(6), np.linspace(0, 0.2, 6), np.zeros(6)])
        view.animation(states, np.array([1, 0, 1, 1, 0]))
        view.animation(np.zeros((1, 4)), np.array([], int))

    at = AppTest.from_function(app, default_timeout=60).run()
    assert not at.exception
    html = at.main.children[0].proto.srcdoc
    frames = json.loads(html.split("const F = ", 1)[1].split(", n = F.x.length", 1)[0])
    assert frames["x"] == pytest.approx(np.linspace(0, 1, 6).tolist()) and frames["a"] == [1, 0, 1, 1, 0]
    assert frames["th"] == pytest.approx(np.linspace(0, 0.2, 6).tolist(), abs=1e-5)
    assert frames["tau"] == cartpole.TAU
    assert "There is no episode to animate." in [i.value for i in at.info]


def test_the_training_curves_carry_calc_cores_thresholds_and_the_episode_shown():
    returns = valid(charts.returns_chart([10.0, 20.0, 30.0], [10.0, 15.0, 20.0], marker=2))
    assert {r["series"]: r["y"] for r in rows(returns, "rules")} == {"195": 195.0, "475": 475.0}
    assert rows(returns, "marker") == [{"x": 2.0, "label": "episode 2"}]
    entropy = valid(charts.entropy_chart([0.69, 0.5], marker=1))
    assert {r["series"]: r["y"] for r in rows(entropy, "rules")} == pytest.approx(
        {"log 2: coin flip": np.log(2), "collapse": 0.1})


def test_a_bar_whose_range_is_unbounded_is_drawn_without_its_range():
    spec = valid(charts.bars_with_ranges(["none", "value"], [167.6, 4.4], [3.6, 2.8], [np.inf, 5.1],
                                         value_title="noise / signal"))
    drawn = {r["category"]: r for r in rows(spec, "bars")}
    assert set(drawn) == {"none", "value"}, "the bar with an unbounded range was left out"
    assert drawn["none"]["bounded"] is False or drawn["none"]["bounded"] == 0
    assert drawn["none"]["range"] == "3.6 to unbounded" and drawn["value"]["range"] == "2.8 to 5.1"
    ranges = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert ranges and ranges[0]["transform"] == [{"filter": "datum.bounded"}]
