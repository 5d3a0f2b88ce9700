"""ui.cartpole_view: valid Vega-Lite specs whose marks sit where the state says, and the animation's data."""

import json

import jsonschema
import numpy as np
import pytest
from altair.vegalite.v6.schema.core import load_schema
from streamlit.testing.v1 import AppTest

from calc_core.policy_gradient import cartpole
from calc_core.policy_gradient.lab import initial_params, policy_map
from tests.vega_schema import inline_rows
from ui import cartpole_view as view

VALIDATOR = jsonschema.Draft7Validator(load_schema())


def valid(spec: dict) -> dict:
    errors = sorted(VALIDATOR.iter_errors(spec), key=str)
    assert not errors, errors[0].message
    return spec


def layer_rows(spec) -> list[dict]:
    return [row for layer in spec["layer"] for row in layer["data"]["values"]]


def test_frame_draws_the_pole_from_the_axle_at_the_angle_of_the_state_with_the_push():
    state = np.array([0.7, -0.3, 0.15, 0.4])
    spec = valid(view.frame(state, action=0, p_right=0.23, title="t = 3"))
    axle = [r for r in layer_rows(spec) if r.get("y") == view.CART_H and "x2" in r]
    tips = {(round(r["x2"] - r["x"], 12), round(r["y2"] - r["y"], 12)) for r in axle}
    # the pole (1 m at θ) and the two dashed ±12° limits all start at the axle above x
    assert (round(np.sin(0.15), 12), round(np.cos(0.15), 12)) in tips
    limit = cartpole.THETA_THRESHOLD
    assert (round(np.sin(limit), 12), round(np.cos(limit), 12)) in tips and len(tips) == 3
    assert all(r["x"] == pytest.approx(0.7) for r in axle)
    labels = [r["label"] for r in layer_rows(spec) if "label" in r]
    assert "←" in labels and "pushes left (π(right|s) = 0.23)" in labels
    assert spec["width"] == view.WIDTH and spec["title"] == "t = 3"


def test_frame_keeps_a_metre_as_long_across_as_up():
    spec = view.frame(np.zeros(4))
    x_domain, y_domain = (spec["encoding"][axis]["scale"]["domain"] for axis in ("x", "y"))
    per_metre_x = view.WIDTH / (x_domain[1] - x_domain[0])
    per_metre_y = view.HEIGHT / (y_domain[1] - y_domain[0])
    assert per_metre_x == pytest.approx(per_metre_y)
    assert not [r for r in layer_rows(spec) if "label" in r]  # no action given: no push drawn


@pytest.mark.parametrize("state", [np.array([0.0, 0.0, np.nan, 0.0]), np.zeros(3)])
def test_frame_of_a_broken_state_is_none(state):
    assert view.frame(state) is None


def test_trajectory_plots_angle_and_position_as_shares_of_their_limits_and_marks_the_step():
    states = np.zeros((4, 4))
    states[:, 2] = [0.0, 0.1, np.nan, cartpole.THETA_THRESHOLD]
    states[:, 0] = [0.0, 1.2, 2.4, -2.4]
    spec = valid(view.trajectory(states, 2, title="episode"))
    rows = layer_rows(spec)
    angle = [r for r in rows if r.get("series") == "pole angle θ / 12°"]
    assert [r["t"] for r in angle] == [0, 1, 3] and angle[-1]["v"] == pytest.approx(1.0)  # NaN dropped
    assert [r["v"] for r in rows if r.get("series") == "cart position x / 2.4 m"] == [0.0, 0.5, 1.0, -1.0]
    assert {"t": 2} in rows
    assert view.trajectory(np.zeros((1, 4)), 0) is None


def test_policy_heatmap_is_valid_and_puts_the_largest_angular_velocity_on_top():
    grid = policy_map(initial_params(4, 0), n_angles=5, n_velocities=3)
    spec = view.policy_heatmap(grid, title="P")
    valid(spec)
    cells = inline_rows(spec["layer"][0])  # the coloured cells
    assert [c["row"] for c in cells[::5]] == ["2.0", "0.0", "-2.0"]
    np.testing.assert_allclose([c["value"] for c in cells[:5]], grid.p_right[-1])


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
