"""The GANs page under AppTest: what it draws is calc_core.gan's result (eigenvalues, spectral radius, the
field's arrows, every path, the 1-D GAN's densities, losses and gradients), each game opens clean,
scrubbing reads the cached run, and the controls one game hides stay out of its Settings and its link.
(Defaults, extremes, hostile links, Reset, lessons and leaks at the default game are the catalog
suite's, tests/pages/test_catalog.py.)"""

import re
from dataclasses import replace

import numpy as np
import pytest

import calc_core.gan.views as views
from calc_core.common.messages import codes
from calc_core.gan import lab
from tests.pages.apptest_helpers import (HOSTILE_VALUES, assert_clean, chart_rows, chart_titled, control_bounds,
                                         control_registry, run_page, state_value)
from tests.vega_schema import picture
from ui.catalog import application
from ui.charts import raster

PAGE = "pages/6_GANs.py"
APP = application(PAGE)
K = "GANs:"  # the page's session keys
PLANE_KEYS = {"method", "lr", "steps", "x0", "y0"}
GAN_KEYS = {"loss", "opt", "order", "dsteps", "glr", "gsteps", "batch", "mean", "std", "seed"}


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def alerts(at) -> str:
    return " ".join(a.value for kind in (at.warning, at.success, at.info, at.error) for a in kind)


def drawn(at) -> set[str]:
    """The keys of the controls drawn on this fresh session's run (a hidden control is registered
    for Reset and lessons, but never drawn, so it has no bounds)."""
    return set(control_bounds(at, APP))


@pytest.mark.parametrize("game", lab.GAMES)
def test_each_game_opens_clean_with_its_verdict_its_charts_and_a_passing_gradient_check(game):
    at = run_page(PAGE, {"game": game} if game != "bilinear" else {})
    assert_clean(at)
    result = lab.run(lab.Settings(game=game))
    for message in result.diagnosis:
        assert message.title in alerts(at)
    assert "Pass" in " ".join(s.value for s in at.success)  # the live gradient check
    titles = ({"The field v and every method's path", "Gap to equilibrium", "Eigenvalues of one step",
               "Spectral radius over (η, γ)"} if game != "gan_1d" else
              {"Real and generated densities, and D(x)", "The generator's path in (a, b)", "Losses at each step",
               "The generator's gradient against D(G(z))"})
    for title in titles:
        chart_titled(at, title)
    code = "\n".join(c.value for c in at.code)
    wanted = ("def simultaneous_step(", "def update_matrix(") if game != "gan_1d" else ("def gradients(", "def step(")
    assert all(line in code for line in wanted)
    assert len(at.latex) >= 8
    assert drawn(at) & (GAN_KEYS if game == "gan_1d" else PLANE_KEYS)
    assert not drawn(at) & (PLANE_KEYS if game == "gan_1d" else GAN_KEYS)


@pytest.mark.parametrize("query", [{}, {"method": "optimistic", "lr": "0.6"}, {"method": "alternating", "lr": "1.5"},
                                   {"game": "dirac", "method": "extragradient", "gamma": "1.0", "lr": "0.4"}])
def test_the_eigenvalues_and_spectral_radius_shown_are_calc_cores(query):
    at = run_page(PAGE, query)
    assert_clean(at)
    settings = lab.Settings(game=query.get("game", "bilinear"), method=query.get("method", "simultaneous"),
                            lr=float(query.get("lr", 0.2)), gamma=float(query.get("gamma", 0.0)))
    g = lab.run(settings).game
    points = chart_rows(chart_titled(at, "Eigenvalues of one step"), "eigenvalues")
    np.testing.assert_allclose([p["re"] + 1j * p["im"] for p in points], g.eigenvalues, rtol=1e-12)
    assert len(points) == (4 if settings.method == "optimistic" else 2)
    assert metric(at, "Spectral radius ρ") == f"{g.spectral_radius:.4f}"
    heat = chart_titled(at, "Spectral radius over (η, γ)")
    drawn, _ = picture(heat)  # the map the page sends is calc_core's, in the kit's colours
    expected = raster.colours(g.radius_map[::-1], "redblue", (0.5, 1.5), reverse=True)
    assert np.abs(drawn.astype(int) - expected.astype(int)).max() <= 1  # one level: equal floats may round apart
    current = chart_rows(heat, "current")[0]
    assert (current["eta"], current["gamma"], current["rho"]) == pytest.approx(g.current_point, rel=1e-12)
    assert f"ρ = {g.spectral_radius:.4f}" in " ".join(c.value for c in at.caption)


def test_the_field_arrows_and_every_path_are_the_games():
    at = run_page(PAGE, {"method": "extragradient", "x0": "-1.5", "y0": "0.5"})
    g = lab.run(lab.Settings(method="extragradient", start_x=-1.5, start_y=0.5)).game
    spec = chart_titled(at, "The field v and every method's path")
    arrows = chart_rows(spec, "arrows")
    moving = np.hypot(*g.field_vectors.T) > 0
    np.testing.assert_allclose([[a["x"], a["y"]] for a in arrows], g.field_points[moving], rtol=1e-12)
    np.testing.assert_allclose([a["strength"] for a in arrows], np.hypot(*g.field_vectors[moving].T), rtol=1e-12)
    drawn_direction = np.array([[a["x2"] - a["x"], a["y2"] - a["y"]] for a in arrows])
    np.testing.assert_allclose(drawn_direction / np.hypot(*drawn_direction.T)[:, None],
                               g.field_vectors[moving] / np.hypot(*g.field_vectors[moving].T)[:, None], atol=1e-9)
    domain = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert domain == spec["layer"][0]["encoding"]["y"]["scale"]["domain"] == pytest.approx([-g.view_radius,
                                                                                            g.view_radius])
    paths = chart_rows(spec, "paths")
    for method, run in g.runs.items():
        np.testing.assert_allclose([[p["x"], p["y"]] for p in paths if p["series"] == method], run.trajectory,
                                   rtol=1e-12)
        assert {p["weight"] for p in paths if p["series"] == method} == {3.0 if method == "extragradient" else 1.6}
    marks = {m["series"]: (m["x"], m["y"]) for m in chart_rows(spec, "marks")}
    assert marks == {"equilibrium": (0.0, 0.0), "start": (-1.5, 0.5)}
    distance = chart_rows(chart_titled(at, "Gap to equilibrium"), "distance")
    for method, run in g.runs.items():
        np.testing.assert_allclose([d["d"] for d in distance if d["series"] == method], run.distance, rtol=1e-12)


def test_moving_eta_moves_the_eigenvalues_updates_the_link_and_keeps_the_charts_specs(monkeypatch):
    at = run_page(PAGE)
    before = chart_titled(at, "Eigenvalues of one step")
    at.slider(key=K + "lr").set_value(0.5).run()
    assert_clean(at)
    after = chart_titled(at, "Eigenvalues of one step")
    np.testing.assert_allclose([(p["re"], p["im"]) for p in chart_rows(after, "eigenvalues")], [(1, 0.5), (1, -0.5)])
    assert at.query_params.get("lr") == "0.5"
    assert metric(at, "Spectral radius ρ") == f"{np.sqrt(1.25):.4f}"
    assert {k: v for k, v in before.items() if k != "datasets"} == {k: v for k, v in after.items() if k != "datasets"}


def test_the_scrubber_moves_paths_and_positions_without_rerunning_the_game(monkeypatch):
    at = run_page(PAGE, {"steps": "200"})
    g = lab.run(lab.Settings(steps=200)).game
    calls = []
    original = views.game_run
    monkeypatch.setattr(views, "game_run", lambda *a, **k: calls.append(1) or original(*a, **k))
    at.select_slider(key=K + "step").set_value(50).run()
    assert_clean(at)
    spec = chart_titled(at, "The field v and every method's path")
    now = {p["series"]: (p["x"], p["y"]) for p in chart_rows(spec, "now")}
    for method, run in g.runs.items():
        assert now[method] == pytest.approx(tuple(run.trajectory[50]), rel=1e-12)
        assert max(p["step"] for p in chart_rows(spec, "paths") if p["series"] == method) == 50
    assert chart_rows(chart_titled(at, "Gap to equilibrium"), "marker")[0]["step"] == 50
    assert at.query_params.get("step") == "50"
    assert not calls, "a step move must read the cached run"


def test_the_1d_gan_draws_its_snapshots_losses_and_gradients_and_scrubs_without_retraining(monkeypatch):
    query = {"game": "gan_1d", "gsteps": "400"}
    at = run_page(PAGE, query)
    result = lab.run(lab.Settings(game="gan_1d", gan_steps=400))
    v, snapshots = result.gan, result.snapshots
    calls = []
    original = views.train_gan_1d
    monkeypatch.setattr(views, "train_gan_1d", lambda *a, **k: calls.append(1) or original(*a, **k))
    losses = chart_titled(at, "Losses at each step")
    np.testing.assert_allclose([r["y"] for r in chart_rows(losses, "series") if r["series"].startswith("L_D")],
                               v.run.loss_d, rtol=1e-12)
    gradient = chart_titled(at, "The generator's gradient against D(G(z))")
    curves = chart_rows(gradient, "curves")
    np.testing.assert_allclose([r["g"] for r in curves if r["series"].startswith("saturating")],
                               v.gradient_saturating, rtol=1e-12)
    np.testing.assert_allclose([r["g"] for r in curves if r["series"].startswith("non-saturating")],
                               v.gradient_non_saturating, rtol=1e-12)
    np.testing.assert_allclose(sorted(r["d"] for r in chart_rows(gradient, "batch")), np.sort(v.batch_d), rtol=1e-12)
    assert metric(at, "Generator mean b") == f"{v.match.mean:.3f}"
    index = 10
    at.select_slider(key=K + "step").set_value(int(snapshots.steps[index])).run()
    assert_clean(at)
    density = chart_rows(chart_titled(at, "Real and generated densities, and D(x)"), "density")
    np.testing.assert_allclose([r["y"] for r in density if r["series"].startswith("generator")],
                               snapshots.states["generated_density"][index], rtol=1e-12)
    np.testing.assert_allclose([r["y"] for r in density if r["series"].startswith("data")], v.real_density, rtol=1e-12)
    np.testing.assert_allclose([r["d"] for r in chart_rows(chart_titled(at, "Real and generated"), "discriminator")],
                               snapshots.states["discriminator"][index], rtol=1e-12)
    now = chart_rows(chart_titled(at, "The generator's path in (a, b)"), "now")[0]
    assert (now["a"], now["b"]) == pytest.approx((snapshots.states["a"][index], snapshots.states["b"][index]))
    assert chart_rows(chart_titled(at, "Losses at each step"), "marker")[0]["x"] == snapshots.steps[index]
    assert not calls, "a step move must read the cached run"


@pytest.mark.parametrize("query, words", [
    ({"lr": "2.0", "steps": "2000"}, ("Blew up at step 286", "Spirals out", "outside the unit circle")),
    ({"method": "alternating", "steps": "200"}, ("Orbits: ρ = 1", "x² + y² − ηxy stayed at")),
    ({"game": "dirac", "method": "alternating", "gamma": "1.0", "steps": "300"}, ("Converges",)),
    ({"game": "gan_1d", "loss": "saturating", "opt": "sgd", "mean": "8.0", "std": "0.5", "dsteps": "5",
      "gsteps": "400"}, ("The generator stalled", "vanishes exactly when D wins", "non-saturating loss")),
    ({"game": "gan_1d", "glr": "0.3", "gamma": "3.0"}, ("collapsed to a point",)),
    ({"game": "gan_1d", "opt": "sgd", "glr": "0.3", "gamma": "3.0", "dsteps": "10", "gsteps": "400"},
     ("Training blew up at step 1", "Training stopped before its first step.")),
])
def test_what_goes_wrong_is_explained_in_the_diagnosis_words(query, words):
    at = run_page(PAGE, query)
    assert_clean(at)
    for text in words:
        assert text in alerts(at), text


def test_a_start_at_the_equilibrium_says_there_is_no_distance_to_draw():
    at = run_page(PAGE, {"x0": "0.0", "y0": "0.0"})
    assert_clean(at)
    assert "no distance to draw" in alerts(at)
    chart_titled(at, "The field v and every method's path")


@pytest.mark.parametrize("query", [{"x0": "0", "y0": "0"},
                                   {"x0": "0", "y0": "0", "game": "dirac", "method": "alternating", "gamma": "1.0"}])
def test_a_start_at_the_equilibrium_claims_no_spiral_orbit_or_convergence_of_the_run(query):
    at = run_page(PAGE, query)
    assert_clean(at)
    said = alerts(at)
    for false in ("Spirals out", "Orbits:", "Converges:", "this run went from", "What to try"):
        assert false not in said, false
    assert "The start is the equilibrium: nothing moves" in said and "at distance 0, throughout the run" in said
    assert "every path stays at the start, the equilibrium (0, 0)" in " ".join(c.value for c in at.caption)


def test_a_gan_that_blows_up_early_names_its_one_state_window_without_1_steps():
    at = run_page(PAGE, {"game": "gan_1d", "glr": "1", "gsteps": "5000", "opt": "sgd"})
    assert_clean(at)
    assert "Training blew up at step" in alerts(at)
    helps = {m.proto.help for m in at.metric if m.label.startswith("Generator")}
    assert helps == {"At the last step."}
    for text in [alerts(at), *(m.proto.help for m in at.metric), *(c.value for c in at.caption)]:
        assert not re.search(r"(?<![\d.,])1 steps\b", text) and "  " not in text, text


def test_the_controls_a_game_hides_take_their_defaults_and_stay_out_of_the_link():
    at = run_page(PAGE, {"glr": "0.1", "gsteps": "100"})  # the 1-D GAN's controls on the bilinear game
    assert_clean(at)
    assert not {"glr", "gsteps"} & set(at.query_params)
    at = run_page(PAGE, {"game": "gan_1d", "lr": "1.0", "glr": "0.1"})
    assert_clean(at)
    assert dict(at.query_params) == {"game": "gan_1d", "glr": "0.1"}
    assert metric(at, "Steps run") == "800 of 800"


def shown_samples(game: str, keys: set[str]):
    at = run_page(PAGE, {"game": game})
    registry = control_registry(at, APP)
    return [(key, registry[key].serialize(value)) for key in sorted(keys)
            for value in registry[key].domain()["samples"] if value != registry[key].default]


@pytest.mark.slow
@pytest.mark.parametrize("game", ["gan_1d", "dirac"])
def test_every_control_a_game_shows_opens_at_its_ends_and_middle_from_a_link(game):
    """What the catalog suite's deep-link test does at the default game, for the controls only another
    game shows (the suite samples the controls drawn at the defaults)."""
    keys = GAN_KEYS if game == "gan_1d" else PLANE_KEYS
    for key, text in shown_samples(game, keys):
        at = run_page(PAGE, {"game": game, key: text})
        assert_clean(at, (key, text))
        control = control_registry(at, APP)[key]
        assert state_value(at, APP, key) == control.parse(text, control_bounds(at, APP)[key]), (key, text)
        assert at.query_params.get(key) == text, (key, text, dict(at.query_params))


@pytest.mark.parametrize("hostile", HOSTILE_VALUES)
def test_a_hostile_link_opens_the_1d_gans_controls_at_their_defaults(hostile):
    at = run_page(PAGE, {"game": "gan_1d", **{key: hostile for key in GAN_KEYS}})
    assert_clean(at, hostile)
    bounds = control_bounds(at, APP)
    for key, control in control_registry(at, APP).items():
        if key not in GAN_KEYS:
            continue
        try:
            control.parse(hostile, bounds[key])
        except Exception:  # noqa: BLE001 - refused: the control must be at its default
            assert state_value(at, APP, key) == control.default, (key, hostile)
            assert key not in at.query_params, (key, hostile)


def test_a_preset_for_the_1d_gan_reaches_its_hidden_controls_and_its_claim_shows():
    at = run_page(PAGE)
    preset = lab.preset("saturating-stalls")
    pills = next(w for w in at.get("button_group") if getattr(w, "key", None) == K + "lesson_choice")
    pills.set_value(preset.name).run()
    assert_clean(at)
    expected = lab.run(preset.apply(lab.Settings()))
    assert set(preset.expect) <= codes(expected.diagnosis)
    assert at.radio(key=K + "loss").value == "saturating" and at.slider(key=K + "dsteps").value == 5
    assert "The generator stalled" in alerts(at)
    assert metric(at, "D(G(z)), last step") == f"{expected.gan.run.d_fake[-1]:.3g}"


def test_the_formula_shows_the_current_update_matrix_and_eigenvalues():
    at = run_page(PAGE, {"lr": "0.5"})
    latex = " ".join(l.value for l in at.latex)
    assert r"\begin{pmatrix}1 & -0.5 \\ 0.5 & 1\end{pmatrix}" in latex
    assert r"\lambda = 1.0000 ± 0.5000i" in latex and r"\rho = 1.1180" in latex
    settings = replace(lab.Settings(), lr=0.5)
    assert lab.run(settings).game.update_matrix.tolist() == [[1.0, -0.5], [0.5, 1.0]]


def test_a_lesson_names_only_the_controls_on_the_page_as_moved():
    at = run_page(PAGE)
    next(w for w in at.get("button_group") if getattr(w, "key", None) == "GANs:lesson_choice") \
        .set_value("dirac-gan-circles").run()
    at.radio(key="GANs:game").set_value("gan_1d").run()
    at.run()  # nothing moved in between: the words must not change
    assert_clean(at)
    moved = [c.value for c in at.caption if c.value.startswith("The controls have moved from this lesson")]
    assert len(moved) == 1 and "Game is" in moved[0], moved
    assert "Method" not in moved[0] and "Steps" not in moved[0], moved  # hidden in the 1-D GAN: not moved
