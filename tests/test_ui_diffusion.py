"""ui.charts.diffusion: every builder's spec is valid Vega-Lite (the page skips validation for speed),
carries exactly the data it is given (thinned where the builder says it thins), keeps to a couple of
thousand marks, and copes with empty and non-finite data."""

import numpy as np
import pandas as pd
import pytest

from calc_core.diffusion import lab
from tests.vega_schema import picture
from tests.vega_schema import valid as valid_json
from ui.charts import diffusion as view
from ui.charts import raster
from ui.charts.core import EXPORT


def valid(spec: dict) -> dict:
    """The spec itself, after checking it against the Vega-Lite schema (its tables stay exact frames)."""
    valid_json(spec)
    return spec


def rows(spec: dict, name: str) -> list[dict]:
    return spec["datasets"][name].to_dict("records")


def marks(spec: dict) -> int:
    return sum(len(frame) for frame in spec["datasets"].values())


def assert_heatmap_of(spec: dict, axes, density, value: str) -> None:
    """The heatmap is one picture of the whole grid: its pixels are the density's colours (the top
    row at the largest x₂), its edges half a cell past the outer grid points, the colour limits the
    density's range; the CSV download holds the density at every grid point."""
    drawn, edges = picture(spec)
    low, high = np.nanmin(density), np.nanmax(density)
    np.testing.assert_array_equal(drawn, raster.colours(np.asarray(density)[::-1], view.HEAT, (low, high)))
    hx, hy = (axes[0][1] - axes[0][0]) / 2, (axes[1][1] - axes[1][0]) / 2
    close([edges["x"], edges["x2"], edges["y2"], edges["y"]],
          [axes[0][0] - hx, axes[0][-1] + hx, axes[1][0] - hy, axes[1][-1] + hy])
    close(spec["datasets"]["_heat_limits"]["value"], [low, high])
    cells = spec[EXPORT]["cells"]
    close(cells[value], np.asarray(density).reshape(-1))
    grid = np.stack(np.meshgrid(axes[0], axes[1]), axis=-1).reshape(-1, 2)
    close(cells[["x₁", "x₂"]].to_numpy(), grid)


def close(actual, desired, **tolerance):
    np.testing.assert_allclose(actual, desired, **{"rtol": 1e-12, "atol": 1e-12, **tolerance})


def layer_of(spec, table: str, mark: str) -> dict:
    return next(l for l in spec["layer"] if l["data"]["name"] == table and l["mark"]["type"] == mark)


@pytest.fixture(scope="module", params=[2, 1], ids=["2-D", "1-D"])
def result(request):
    return lab.run(lab.Settings(dimension=request.param, n_steps=100, n_levels=5))


@pytest.fixture(scope="module")
def small():
    return lab.run(lab.Settings(n_steps=30, n_levels=3))


def box(result, axis=0):
    return float(result.field.axes[axis][0]), float(result.field.axes[axis][-1])


def test_the_density_and_its_score_in_2d_a_coarse_heatmap_and_arrows_along_the_score(small):
    f = small.field
    spec = valid(view.density_with_score(f.axes, f.density, f.arrow_points, {"∇log p": f.score}, title="p"))
    assert spec["width"] == "container" and spec["height"] == view.PLANE_SIZE and marks(spec) <= 300
    assert_heatmap_of(spec, f.axes, f.density, "p(x)")
    arrows = rows(spec, "arrows")
    assert len(arrows) == len(f.arrow_points) == 225 and {a["series"] for a in arrows} == {"∇log p"}
    close([[a["x"], a["y"]] for a in arrows], f.arrow_points)
    drawn = np.array([[a["x2"] - a["x"], a["y2"] - a["y"]] for a in arrows])
    close(drawn[:, 0] * f.score[:, 1] - drawn[:, 1] * f.score[:, 0], 0, atol=1e-9)  # parallel …
    assert np.all(np.sum(drawn * f.score, axis=1) > 0)  # … and the same way
    size = np.hypot(*f.score.T)
    spacing = (f.axes[0][-1] - f.axes[0][0]) / 14
    close(np.hypot(*drawn.T), 0.8 * spacing * np.sqrt(size / size.max()), atol=1e-9)
    scale = layer_of(spec, "arrows", "rule")["encoding"]["x"]["scale"]
    assert scale["domain"] == [f.axes[0][0], f.axes[0][-1]]


def test_the_density_in_1d_is_a_curve_with_horizontal_arrows_pointing_uphill():
    f = lab.run(lab.Settings(dimension=1, n_steps=30, n_levels=3)).field
    spec = valid(view.density_with_score(f.axes, f.density, f.arrow_points, {"∇log p": f.score}))
    curve = rows(spec, "curve")
    close([c["x"] for c in curve], f.axes[0])
    close([c["y"] for c in curve], f.density)
    arrows = rows(spec, "arrows")
    assert 20 <= len(arrows) <= view.ARROWS_1D
    for a in arrows:
        k = int(np.argmin(np.abs(f.axes[0] - a["x"])))
        assert a["y"] == a["y2"] == pytest.approx(f.density[k])  # on the curve, horizontal
        assert np.sign(a["x2"] - a["x"]) == np.sign(f.score[k, 0])  # towards the nearer mode


def test_the_learned_score_is_drawn_on_the_same_length_scale_as_the_true_one(result):
    f = result.field
    spec = valid(view.learned_score(f.axes, f.noised_density, f.arrow_points, f.noised_score, result.learned_score,
                                    title="learned"))
    if result.settings.dimension == 1:
        series = pd.DataFrame(rows(spec, "series"))
        close(series[series.series == view.SCORE_NAMES[1]].y, f.noised_score[:, 0])
        close(series[series.series == view.SCORE_NAMES[2]].y, result.learned_score[:, 0])
        return
    arrows = pd.DataFrame(rows(spec, "arrows"))
    length = np.hypot(arrows.x2 - arrows.x, arrows.y2 - arrows.y)
    # one scale for both sets: length² ∝ |v|, with the same constant
    ratio = length**2 / arrows.strength
    close(ratio, ratio.iloc[0], rtol=1e-9)
    true = arrows[arrows.series == view.SCORE_NAMES[1]]
    close(true.strength, np.hypot(*f.noised_score.T))
    close(arrows[arrows.series == view.SCORE_NAMES[2]].strength, np.hypot(*result.learned_score.T))
    assert_heatmap_of(spec, f.axes, f.noised_density, "p_σ(x)")


def test_particles_are_thinned_to_a_thousand_and_drawn_where_they_are():
    r = lab.run(lab.Settings(n_particles=2000, n_steps=30, n_levels=3))
    spec = valid(view.particles(r.field.axes, r.field.density, r.sampler.x, title="particles"))
    points = rows(spec, "particles")
    assert len(points) == view.MAX_PARTICLES and marks(spec) <= 1010
    assert_heatmap_of(spec, r.field.axes, r.field.density, "p(x)")
    drawn = {(p["x"], p["y"]) for p in points}
    assert drawn <= {tuple(x) for x in r.sampler.x}
    few = valid(view.particles(r.field.axes, r.field.density, r.sampler.x[:10]))
    close([[p["x"], p["y"]] for p in rows(few, "particles")], r.sampler.x[:10])


def test_traces_follow_thirty_particles_through_the_snapshots_with_the_step_marked(result):
    snapshots = result.snapshots
    x1 = snapshots.states["x"][:, :, 0]
    spec = valid(view.particle_traces(snapshots.steps, x1, marker=40, box=box(result), title="traces"))
    traces = pd.DataFrame(rows(spec, "traces"))
    assert len(traces) == len(snapshots) * view.TRACED_PARTICLES
    for k in (0, 7, 29):
        mine = traces[traces.particle == k].sort_values("step")
        close(mine.step, snapshots.steps)
        close(mine.x, x1[:, k])
    assert rows(spec, "marker") == [{"step": 40.0, "label": "step shown"}]
    low, high = layer_of(spec, "traces", "line")["encoding"]["y"]["scale"]["domain"]
    lo, hi = box(result)
    assert low <= lo and high >= hi and high - low <= 4 * (hi - lo) + 1e-9  # the broad start, within reason


def test_the_histogram_and_mode_weights_carry_calc_cores_numbers(result):
    h, w = result.histogram, result.mode_weights
    spec = valid(view.histogram(h.edges, h.samples, h.target, title="hist"))
    bins = pd.DataFrame(rows(spec, "bins"))
    close(bins.lo, h.edges[:-1])
    close(bins.hi, h.edges[1:])
    close(bins.samples, h.samples)
    close(bins.target, h.target)
    spec = valid(view.mode_weights(w.target, w.samples, title="weights"))
    weights = rows(spec, "weights")
    assert [r["mode"] for r in weights] == ["mode 1", "mode 2"]
    close([r["samples"] for r in weights], w.samples)
    close([r["target"] for r in weights], w.target)


def test_the_variance_chart_has_the_measurements_the_exact_curve_the_target_and_the_step_in_use(result):
    b = result.variance_bias
    steps, exact = b.exact_curve()
    spec = valid(view.variance_bias(b.steps, b.ula_variance, b.mala_variance, steps, exact, b.s**2, current=0.01))
    measured = pd.DataFrame(rows(spec, "measured"))
    close(measured[measured.series == "unadjusted (measured)"].v, b.ula_variance)
    close(measured[measured.series == "MALA (measured)"].v, b.mala_variance)
    close([r["v"] for r in rows(spec, "curve")], exact)
    assert rows(spec, "floor")[0]["v"] == pytest.approx(b.s**2)
    assert rows(spec, "current")[0]["eps"] == 0.01
    assert layer_of(spec, "curve", "line")["encoding"]["y"]["scale"] == {"type": "log"}
    nan = valid(view.variance_bias(b.steps, np.full(b.steps.size, np.nan), b.mala_variance, steps, exact, b.s**2))
    assert {r["series"] for r in rows(nan, "measured")} == {"MALA (measured)"}


def test_noising_and_denoising_paths_share_the_time_axis_the_way_back_reversed(result):
    p = result.paths
    forward = valid(view.paths({"noising": (p.forward.states["t"], p.forward.states["x"][:, :, 0])},
                               colors={"noising": "#777777"}, box=box(result)))
    back = valid(view.paths({"SDE": (p.reverse_sde.states["t"], p.reverse_sde.states["x"][:, :, 0]),
                             "ODE": (p.probability_flow.states["t"], p.probability_flow.states["x"][:, :, 0])},
                            colors={"SDE": "#ff7f0e", "ODE": "#1f77b4"}, reverse_time=True, box=box(result)))
    assert layer_of(forward, "paths", "line")["encoding"]["x"]["scale"] == {"domain": [0, 1], "reverse": False}
    assert layer_of(back, "paths", "line")["encoding"]["x"]["scale"]["reverse"] is True
    data = pd.DataFrame(rows(back, "paths"))
    assert len(data) == 2 * len(p.reverse_sde) * view.PATH_PARTICLES <= 2000
    sde = data[data.particle == "SDE 3"].sort_values("t", ascending=False)
    close(sde.x, p.reverse_sde.states["x"][:, 3, 0])
    start = data[data.t == 1.0]
    assert sorted(start[start.series == "SDE"].x) == sorted(start[start.series == "ODE"].x)  # the same noise


def test_the_dsm_loss_has_its_floor(small):
    fit = small.score_fit
    spec = valid(view.dsm_loss(fit.loss_history, fit.loss_at_true_score, title="loss"))
    close([s["y"] for s in rows(spec, "series")], fit.loss_history)
    assert rows(spec, "rules")[0]["y"] == pytest.approx(fit.loss_at_true_score)


def test_tweedie_arrows_run_from_the_noisy_points_to_their_denoised_estimates(result):
    t = result.tweedie
    spec = valid(view.tweedie(t.clean, t.noisy, t.denoised, t.denoised_learned,
                              box=[box(result, a) for a in range(result.settings.dimension)], title="tweedie"))
    arrows = pd.DataFrame(rows(spec, "arrows"))
    points = pd.DataFrame(rows(spec, "points"))
    close(arrows.x, t.noisy[:, 0])
    close(arrows.x2, t.denoised[:, 0])
    close(points[points.series == "clean x"].x, t.clean[:, 0])
    close(points[points.series == "learned E[x | x̃]"].x, t.denoised_learned[:, 0])
    if result.settings.dimension == 2:
        close(arrows.y, t.noisy[:, 1])
        close(arrows.y2, t.denoised[:, 1])
    else:  # one row per noisy point, sorted by x̃, the arrow horizontal
        assert sorted(arrows.y) == list(range(len(t.noisy))) and (arrows.y == arrows.y2).all()
        assert arrows.sort_values("y").x.is_monotonic_increasing


def test_nothing_finite_to_draw_gives_none_and_non_finite_rows_are_dropped():
    axes = (np.linspace(-1, 1, 8), np.linspace(-1, 1, 8))
    assert view.density_with_score(axes, np.full((8, 8), np.nan), np.zeros((4, 2)), {"s": np.zeros((4, 2))}) is None
    assert view.histogram([0.0], [], []) is None
    assert view.mode_weights([], []) is None
    assert view.particle_traces([0, 1], np.full((2, 3), np.nan)) is None
    assert view.paths({"a": (np.array([0.0, 1.0]), np.full((2, 3), np.nan))}, colors={"a": "#000000"}) is None
    assert view.tweedie(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros((0, 2)), np.zeros((0, 2)),
                        box=[(-1, 1), (-1, 1)]) is None
    score = np.array([[1.0, 0.0], [np.nan, 1.0], [0.0, 0.0]])
    spec = valid(view.density_with_score(axes, np.ones((8, 8)), np.zeros((3, 2)), {"s": score}))
    assert len(rows(spec, "arrows")) == 1  # the NaN and the zero vector are left out
    traces = np.array([[0.0, np.nan], [1.0, 2.0]])
    assert len(rows(valid(view.particle_traces([0, 5], traces)), "traces")) == 3


def test_titles_are_what_the_page_gives_and_carry_no_data(small):
    r = small
    first = view.density_with_score(r.field.axes, r.field.density, r.field.arrow_points, {"s": r.field.score},
                                    title="The density p and its score")
    other = lab.run(lab.Settings(n_steps=30, n_levels=3, seed=3))
    second = view.density_with_score(other.field.axes, other.field.density, other.field.arrow_points,
                                     {"s": other.field.score}, title="The density p and its score")
    def drawn(spec):
        return {k: v for k, v in spec.items() if k not in ("datasets", EXPORT)}
    assert drawn(first) == drawn(second)
