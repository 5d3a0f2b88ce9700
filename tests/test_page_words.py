"""The formula panels' content and the chart captions that moved out of the pages into calc_core: each
states the run's own numbers and lists what ran."""

from __future__ import annotations

import pytest

from calc_core.convolution import formulas as conv_formulas
from calc_core.diffusion import captions as diffusion_captions, formulas as diffusion_formulas, lab as diffusion
from calc_core.gan import captions as gan_captions, formulas as gan_formulas, lab as gan
from calc_core.kalman import formulas as kalman_formulas


@pytest.fixture(scope="module")
def diffusion_run():
    return diffusion.run(diffusion.Settings(n_steps=40, n_levels=4, annealing=True, mala=True, training_steps=50))


def test_the_convolution_backward_formulas_put_the_chosen_losss_g_second():
    for loss, latex in conv_formulas.LOSS_LATEX.items():
        lines = conv_formulas.backward(loss)
        assert lines[0] == conv_formulas.LAYER[0] and lines[2:] == conv_formulas.LAYER[1:]
        assert lines[1].endswith(latex) and r"\partial L}{\partial y}" in lines[1]
    assert set(conv_formulas.LOSS_LATEX) == {"energy", "random", "sum"}


def test_the_kalman_formulas_name_the_innovation_apart_from_the_position():
    joined = " ".join(kalman_formulas.FORMULAS)
    assert r"\nu = z - H \hat x^-" in joined and "y = z" not in joined


def test_the_diffusion_formulas_follow_what_ran_and_state_its_numbers(diffusion_run):
    r = diffusion_run
    lines, code = diffusion_formulas.for_result(r)
    assert all(line in lines for line in diffusion_formulas.FORMULAS["mala"] + diffusion_formulas.FORMULAS["anneal"])
    assert any(f"{r.settings.step_size:g}" in line for line in lines)
    assert any(f"{r.noise_levels[0]:g}" in line for line in lines)
    names = [f.__name__ for f in code]
    assert "mala_step" in names and "geometric_noise_levels" in names and not any(n.startswith("_") for n in names)
    plain = diffusion.run(diffusion.Settings(n_steps=40, annealing=False, mala=False, training_steps=50))
    lines, code = diffusion_formulas.for_result(plain)
    assert not any(line in lines for line in diffusion_formulas.FORMULAS["mala"] + diffusion_formulas.FORMULAS["anneal"])
    assert "mala_step" not in [f.__name__ for f in code]


def test_the_diffusion_captions_state_the_runs_numbers(diffusion_run):
    r = diffusion_run
    step = diffusion.sampling_step(r, len(r.snapshots) - 1)
    said = diffusion_captions.sampling_step(r, step)
    assert f"{step.step:,} of {r.sampler.n_steps:,}" in said and diffusion_captions.shares(step.mode_weights.samples) in said
    assert diffusion_captions.shares([0.8, 0.2]) == "80% / 20%"
    assert f"{r.variance_bias.s:.3g}" in diffusion_captions.variance_bias(r.variance_bias)
    assert f"{r.paths.sde_distance.energy:.3g}" in diffusion_captions.paths(r.paths)
    assert f"{r.tweedie.denoised_learned_error:.3g}" in diffusion_captions.tweedie(r.tweedie)
    assert r.view_range() == (float(r.field.axes[0][0]), float(r.field.axes[0][-1]))


def test_the_gan_formulas_and_captions_state_the_games_numbers():
    r = gan.run(gan.Settings(game="bilinear", method="simultaneous", lr=0.2, steps=50))
    lines, code, what = gan_formulas.for_result(r)
    assert gan_formulas.METHOD["simultaneous"][0] in lines and f"{r.game.spectral_radius:.4f}" in lines[-1]
    assert [f.__name__ for f in code][:2] == ["bilinear_field", "simultaneous_step"] and "start" in what
    # simultaneous GDA on x·y: the eigenvalues 1 ± iη, written once as a pair
    assert gan_formulas.eigen_text(r.game.eigenvalues) == "1.0000 ± 0.2000i"
    assert gan_formulas.pmatrix([[1.0, -0.2], [0.2, 1.0]]) == r"\begin{pmatrix}1 & -0.2 \\ 0.2 & 1\end{pmatrix}"
    assert "Simultaneous" in gan_captions.eigenvalues(r.settings, r.game) and "ρ = " in gan_captions.eigenvalues(r.settings, r.game)
    assert all(name in gan_captions.radii(r.game) for name in r.game.radii)
    assert f"{r.game.view_radius:.3g}" in gan_captions.plane_step(r.game, 7) and "Step 7" in gan_captions.plane_step(r.game, 7)
    one_d = gan.run(gan.Settings(game="gan_1d", gan_steps=20))
    lines, code, what = gan_formulas.for_result(one_d)
    assert gan_formulas.GAN[0] in lines and [f.__name__ for f in code][0] == "gradients" and "batch" in what
    at = one_d.snapshots.at(len(one_d.snapshots) - 1)
    assert f"a = {at['a']:.3f}" in gan_captions.gan_step(20, at)


def test_no_page_writes_a_formula_of_its_own_and_every_application_has_its_formulas_module():
    import importlib
    import re
    from pathlib import Path

    from ui.catalog import APPLICATIONS

    root = Path(__file__).resolve().parents[1]
    for app in APPLICATIONS:
        if not app.available:
            continue
        source = (root / app.page).read_text()
        assert not re.search(r'r"[^"]*\\(frac|sum|nabla|partial|hat|mathbb|lVert)', source), app.page  # LaTeX
        package = app.lab_module().__name__.rsplit(".", 1)[0]
        module = importlib.import_module(f"{package}.formulas")
        assert "formulas." in source, (app.page, "does not take its formulas from", module.__name__)


def test_the_metrics_the_pages_show_state_the_runs_numbers(diffusion_run):
    r = diffusion_run
    said = diffusion_captions.summary_metrics(r)
    assert said[0]["value"] == f"{r.mode_weights.total_variation:.3f}" and said[1]["value"] == f"{r.sample_distance.energy:.3g}"
    assert said[2]["value"] == f"{r.sampler.n_completed:,} of {r.sampler.n_steps:,}"
    assert said[2]["reference"] == f"MALA accepted {r.sampler.acceptance_rate:.0%}"  # this run is MALA
    plane = gan.run(gan.Settings(game="bilinear", method="alternating", steps=30))
    said = gan_captions.plane_metrics(plane.game, plane.settings)
    assert said[0][1] == f"{plane.game.spectral_radius:.4f}" and said[3][1] == "30 of 30"
    assert said[2]["reference"] == f"from {plane.game.distance('alternating')[0]:.3g}"
    one_d = gan.run(gan.Settings(game="gan_1d", gan_steps=100, data_mean=2.0))
    said = gan_captions.gan_metrics(one_d.gan, one_d.settings)
    assert said[0]["value"] == f"{one_d.gan.match.mean:.3f}" and said[0]["reference"] == "data μ = 2"
    assert said[3][1] == f"{one_d.gan.run.completed_steps:,} of 100"
    assert "batch of 7 fakes" in gan_captions.saturation_why(7)


def test_the_tutorials_slips_are_all_told_with_this_runs_findings():
    from calc_core.convolution.tutorial import DEFECTS, slips_markdown

    said = slips_markdown({"Input gradient": "wrong by 3.1", "Kernel gradient": "right"})
    assert all(f"{n}. *{slip}*" in said for n, slip in enumerate(DEFECTS, 1))
    assert "| Input gradient | wrong by 3.1 |" in said and "| Kernel gradient | right |" in said


def test_the_convolution_loss_help_has_single_spaces_and_names_g():
    from calc_core.convolution import core as conv_core
    assert set(conv_core.LOSSES) == set(conv_formulas.LOSS_LATEX)
    for loss, text in conv_core.LOSSES.items():
        assert "  " not in text and text == " ".join(text.split()), loss
        assert text.startswith("L = ") and "(G = " in text, loss


@pytest.mark.parametrize("loss", ["energy", "random", "sum"])
def test_the_convolution_pages_loss_metric_help_is_the_losss_words_with_single_spaces(loss):
    from calc_core.convolution import core as conv_core
    from tests.pages.apptest_helpers import assert_clean, run_page
    at = run_page("pages/3_Convolution.py", {"loss": loss})
    assert_clean(at)
    help_text = next(m.proto.help for m in at.metric if m.label == "Loss L")
    assert help_text == conv_core.LOSSES[loss] and "  " not in help_text
