"""ui.charts.games: every builder's spec is valid Vega-Lite (the pages skip validation for speed), carries
exactly the data it is given, and copes with empty, non-finite and runaway data."""

import numpy as np
import pytest

from calc_core.gan import lab
from tests.vega_schema import drawn_domain, picture
from tests.vega_schema import valid as valid_json
from ui.charts import games, raster
from ui.charts.core import EXPORT

def valid(spec: dict) -> dict:
    """The spec itself, after checking it against the Vega-Lite schema (its tables stay exact frames:
    written as JSON they keep only 10 decimals)."""
    valid_json(spec)
    return spec


def rows(spec: dict, name: str) -> list[dict]:
    return spec["datasets"][name].to_dict("records")


def close(actual, desired, **tolerance):
    np.testing.assert_allclose(actual, desired, **{"rtol": 1e-12, "atol": 1e-12, **tolerance})


COLORS = {"simultaneous": "#d62728", "alternating": "#ff7f0e", "extragradient": "#2ca02c", "optimistic": "#1f77b4"}


@pytest.fixture(scope="module")
def plane_result():
    return lab.run(lab.Settings())


@pytest.fixture(scope="module")
def gan_result():
    return lab.run(lab.Settings(game="gan_1d", gan_steps=200))


def layer_of(spec, table: str, mark: str | None = None) -> dict:
    return next(l for l in spec["layer"] if l.get("data", {}).get("name") == table
                and (mark is None or l["mark"]["type"] == mark))


def test_game_plane_is_valid_square_on_equal_axes_with_arrows_along_the_field(plane_result):
    g = plane_result.game
    paths = {m: g.trajectory(m) for m in g.runs}
    spec = valid(games.game_plane(g.field_points, g.field_vectors, radius=g.view_radius, paths=paths, colors=COLORS,
                                  chosen="alternating", start=(1.0, 1.0), now={m: p[-1] for m, p in paths.items()},
                                  title="field"))
    assert spec["width"] == "container" and spec["height"] == games.PLANE_SIZE and spec["autosize"]["type"] == "fit-x"
    rule = layer_of(spec, "arrows", "rule")
    assert rule["encoding"]["x"]["scale"]["domain"] == rule["encoding"]["y"]["scale"]["domain"] == \
        [-g.view_radius, g.view_radius]
    x_drawn = drawn_domain(rule["encoding"]["x"]["scale"], 300, games.PLANE_SIZE)  # a narrow column
    y_drawn = drawn_domain(rule["encoding"]["y"]["scale"], 300, games.PLANE_SIZE)
    assert x_drawn == pytest.approx([-g.view_radius, g.view_radius])  # the box fills the width …
    assert y_drawn[1] - y_drawn[0] == pytest.approx(2 * g.view_radius * games.PLANE_SIZE / 300)  # … equal units
    arrows = rows(spec, "arrows")
    moving = np.hypot(*g.field_vectors.T) > 0
    assert len(arrows) == int(moving.sum()) <= 15 * 15
    tails = np.array([[r["x"], r["y"]] for r in arrows])
    close(tails, g.field_points[moving])
    drawn = np.array([[r["x2"] - r["x"], r["y2"] - r["y"]] for r in arrows])
    v = g.field_vectors[moving]
    close(drawn[:, 0] * v[:, 1] - drawn[:, 1] * v[:, 0], 0, atol=1e-9)  # parallel …
    assert np.all(np.sum(drawn * v, axis=1) > 0)  # … and pointing the same way
    spacing = 2 * g.view_radius / 14
    assert np.max(np.hypot(*drawn.T)) == pytest.approx(0.8 * spacing)
    # a triangle-up turned clockwise by 90° − atan2(v_y, v_x) points along v
    angles = np.radians(90 - np.array([r["angle"] for r in arrows]))
    close(np.column_stack([np.cos(angles), np.sin(angles)]),
                               v / np.hypot(*v.T)[:, None], atol=1e-9)
    path_rows = rows(spec, "paths")
    for method, xy in paths.items():
        mine = [r for r in path_rows if r["series"] == method]
        close([[r["x"], r["y"]] for r in mine], xy)
        assert {r["weight"] for r in mine} == {3.0 if method == "alternating" else 1.6}
    assert {r["series"] for r in rows(spec, "marks")} == {"equilibrium", "start"}
    assert [r["series"] for r in rows(spec, "now")] == list(paths)
    assert all(l["mark"].get("clip") for l in spec["layer"])


def test_game_plane_cuts_a_runaway_path_after_it_leaves_the_view_and_thins_long_ones():
    t = np.arange(3001.0)
    runaway = np.column_stack([1.1 ** t[:300], np.zeros(300)])  # passes 3 × radius at step 12
    long = np.column_stack([np.cos(t / 50), np.sin(t / 50)])
    points = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    spec = valid(games.game_plane(points, points, radius=1.0, paths={"simultaneous": runaway, "alternating": long},
                                  colors=COLORS))
    out = [r for r in rows(spec, "paths") if r["series"] == "simultaneous"]
    assert [r["step"] for r in out] == list(range(13)) and out[-1]["x"] > 3 > out[-2]["x"]
    kept = [r["step"] for r in rows(spec, "paths") if r["series"] == "alternating"]
    assert len(kept) <= games.MAX_PATH_POINTS + 1 and kept[0] == 0 and kept[-1] == 3000
    assert len(rows(spec, "arrows")) == 3  # the zero vector at the origin has no direction


@pytest.mark.parametrize("radius", [0.0, np.nan, -1.0])
def test_game_plane_without_a_view_is_none(radius):
    assert games.game_plane(np.zeros((4, 2)), np.ones((4, 2)), radius=radius, paths={}, colors=COLORS) is None


def test_distance_is_on_a_log_axis_with_every_finite_positive_step_and_the_marker(plane_result):
    g = plane_result.game
    spec = valid(games.distance({m: g.distance(m) for m in g.runs}, colors=COLORS, chosen="simultaneous", marker=40))
    assert layer_of(spec, "distance")["encoding"]["y"]["scale"]["type"] == "log"
    for method in g.runs:
        close([r["d"] for r in rows(spec, "distance") if r["series"] == method], g.distance(method))
    assert rows(spec, "marker")[0]["step"] == 40
    zero = valid(games.distance({"simultaneous": np.array([0.0, 1.0, 0.5])}, colors=COLORS))
    assert [r["step"] for r in rows(zero, "distance")] == [1, 2]
    assert games.distance({"simultaneous": np.zeros(5)}, colors=COLORS) is None


def test_eigenvalue_plane_draws_the_eigenvalues_the_unit_circle_and_the_circle_of_the_spectral_radius():
    lam = np.array([0.5 + 0.9317j, 0.5 - 0.9317j, 0.5 + 0.2683j, 0.5 - 0.2683j])
    spec = valid(games.eigenvalue_plane(lam, title="eigenvalues"))
    points = rows(spec, "eigenvalues")
    close([r["re"] + 1j * r["im"] for r in points], lam)
    close([r["modulus"] for r in points], np.abs(lam))
    circles = rows(spec, "circles")
    unit = np.array([[r["x"], r["y"]] for r in circles if r["series"] == "unit circle |λ| = 1"])
    rho = np.array([[r["x"], r["y"]] for r in circles if r["series"] == "|λ| = ρ"])
    close(np.hypot(*unit.T), 1.0)
    close(np.hypot(*rho.T), np.max(np.abs(lam)))
    x = layer_of(spec, "eigenvalues")["encoding"]["x"]["scale"]["domain"]
    assert x == layer_of(spec, "eigenvalues")["encoding"]["y"]["scale"]["domain"] == [-1.25, 1.25]
    assert spec["width"] == "container" and spec["height"] == games.EIGEN_SIZE
    scale = layer_of(spec, "eigenvalues")["encoding"]
    wide = drawn_domain(scale["x"]["scale"], 2 * games.EIGEN_SIZE, games.EIGEN_SIZE)  # a wide column: x widens
    assert wide == pytest.approx([-2.5, 2.5]) and drawn_domain(scale["y"]["scale"], 600, 300) == [-1.25, 1.25]


def test_eigenvalue_plane_zooms_in_steps_so_its_spec_stays_put_while_eta_moves():
    def spec_without_data(lam):
        return {k: v for k, v in games.eigenvalue_plane(lam).items() if k != "datasets"}
    assert spec_without_data([1 + 0.2j, 1 - 0.2j]) == spec_without_data([1 + 0.5j, 1 - 0.5j])
    assert games.eigen_zoom([1 + 2j]) == 2.5 and games.eigen_zoom([30.0]) == games.EIGEN_ZOOMS[-1]
    assert games.eigenvalue_plane([np.nan]) is None and games.eigenvalue_plane([]) is None


def test_radius_map_is_one_picture_of_the_grid_and_the_current_point_is_marked(plane_result):
    g = plane_result.game
    spec = valid(games.radius_map(g.eta_grid, g.gamma_grid, g.radius_map, current=g.current_point))
    drawn, edges = picture(spec)
    assert drawn.shape[:2] == g.radius_map.shape
    # the top row is the largest γ; ρ < 1 blue, ρ > 1 red, clamped to [0.5, 1.5] with white at 1
    np.testing.assert_array_equal(drawn, raster.colours(g.radius_map[::-1], "redblue", (0.5, 1.5), reverse=True))
    i, j = np.unravel_index(np.argmin(g.radius_map), g.radius_map.shape)
    assert g.radius_map[i, j] < 1 and drawn[-1 - i, j, 2] > drawn[-1 - i, j, 0]  # converging cells are blue
    d_eta, d_gamma = np.diff(g.eta_grid)[0] / 2, np.diff(g.gamma_grid)[0] / 2
    close([edges["x"], edges["x2"], edges["y2"], edges["y"]],
          [g.eta_grid[0] - d_eta, g.eta_grid[-1] + d_eta, g.gamma_grid[0] - d_gamma, g.gamma_grid[-1] + d_gamma])
    cells = spec[EXPORT]["cells"]
    close(cells["rho"], g.radius_map.reshape(-1))
    close(cells[["eta", "gamma"]].to_numpy(), np.stack(np.meshgrid(g.eta_grid, g.gamma_grid), -1).reshape(-1, 2))
    assert (rows(spec, "current")[0]["eta"], rows(spec, "current")[0]["gamma"], rows(spec, "current")[0]["rho"]) \
        == pytest.approx(g.current_point)
    assert layer_of(spec, "_heat_limits")["encoding"]["color"]["scale"]["domain"] == [0.5, 1.5]  # the legend
    assert games.radius_map(g.eta_grid, g.gamma_grid, np.full((3, 3), 1.0)) is None


def test_densities_and_d_share_x_with_independent_y_axes(gan_result):
    v, at = gan_result.gan, gan_result.snapshots.at(-1)
    spec = valid(games.densities(v.x_grid, v.real_density, at["generated_density"], at["discriminator"]))
    assert spec["resolve"] == {"scale": {"y": "independent"}}
    density = rows(spec, "density")
    close([r["y"] for r in density if r["series"] == "data"], v.real_density)
    close([r["y"] for r in density if r["series"] == "generator"], at["generated_density"])
    close([r["d"] for r in rows(spec, "discriminator")], at["discriminator"])
    half = spec["layer"][1]["layer"][1]  # the rule at D = ½, on D's axis
    assert half["encoding"]["y"]["datum"] == 0.5 and half["mark"]["type"] == "rule"


def test_losses_path_and_generator_gradient_carry_the_run(gan_result):
    v = gan_result.gan
    losses = valid(games.losses(v.run.loss_d, v.run.loss_g, marker=100))
    close([r["y"] for r in rows(losses, "series") if r["series"].startswith("L_D")], v.run.loss_d)
    path = valid(games.generator_path(v.run.a, v.run.b, target=(2.0, 4.0), at=(1.0, 0.5)))
    close([[r["a"], r["b"]] for r in rows(path, "path")], np.column_stack([v.run.a, v.run.b]))
    assert [(r["a"], r["b"]) for r in rows(path, "target")] == [(2.0, 4.0), (-2.0, 4.0)]
    gradient = valid(games.generator_gradient(v.d_grid, {"saturating": v.gradient_saturating,
                                                         "non-saturating": v.gradient_non_saturating},
                                              batch_d=v.batch_d))
    curves = rows(gradient, "curves")
    close([r["g"] for r in curves if r["series"] == "saturating"], v.d_grid)  # ∝ D: vanishes
    assert len(rows(gradient, "batch")) == v.batch_d.size
    curve = layer_of(gradient, "curves")["encoding"]
    assert curve["x"]["scale"]["type"] == curve["y"]["scale"]["type"] == "log"


def test_gan_builders_with_nothing_finite_return_none():
    assert games.generator_path([np.nan], [np.nan], target=(1.0, 0.0)) is None
    assert games.generator_gradient([0.0, 0.5], {"s": [0.0, 0.0]}) is None
    assert games.losses([], []) is None
    assert games.densities([], [], [], []) is None


@pytest.mark.parametrize("game", lab.GAMES)
def test_no_title_carries_a_number(game, plane_result, gan_result):
    """Specs stay stable while data change: the builders never put numbers in titles (the page
    passes fixed titles; axis titles are fixed words)."""
    result = gan_result if game == "gan_1d" else lab.run(lab.Settings(game=game))
    if result.game is not None:
        g = result.game
        specs = [games.game_plane(g.field_points, g.field_vectors, radius=g.view_radius,
                                  paths={m: g.trajectory(m) for m in g.runs}, colors=COLORS),
                 games.distance({m: g.distance(m) for m in g.runs}, colors=COLORS),
                 games.eigenvalue_plane(g.eigenvalues), games.radius_map(g.eta_grid, g.gamma_grid, g.radius_map)]
    else:
        v, at = result.gan, result.snapshots.at(0)
        specs = [games.densities(v.x_grid, v.real_density, at["generated_density"], at["discriminator"]),
                 games.losses(v.run.loss_d, v.run.loss_g), games.generator_path(v.run.a, v.run.b, target=(2, 4)),
                 games.generator_gradient(v.d_grid, {"s": v.gradient_saturating})]
    for spec in specs:
        valid(spec)
        titles = [spec.get("title", "")] + [channel.get("title") or "" for l in spec["layer"]
                                            for channel in l.get("encoding", {}).values() if isinstance(channel, dict)]
        assert not any(ch.isdigit() for t in titles for ch in t.replace("₂", "").replace("₁", "")), titles
