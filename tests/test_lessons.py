"""Every lesson of every page, from the catalog (a new page gets this with no new test code): a preset is
well formed, and what its name claims — its ``expect`` codes, none of its ``avoid`` codes — holds in the
diagnosis of calc_core's run on every seed from 0 to 19."""

from __future__ import annotations

import pytest

from ui.catalog import APPLICATIONS

SEEDS = range(20)
SLOW = {"Recommendations", "Convolution", "Policy_Gradient", "Diffusion"}  # seconds per lesson


def lessons():
    for app in APPLICATIONS:
        if not app.available:
            continue
        lab = app.lab_module()
        for preset in lab.PRESETS:
            marks = [pytest.mark.slow] if app.slug in SLOW else []
            yield pytest.param(lab, preset, id=f"{app.url_path}-{preset.name}", marks=marks)


@pytest.mark.parametrize("lab, preset", list(lessons()))
def test_every_lesson_is_well_formed_and_shows_what_it_claims_on_seeds_0_to_19(lab, preset):
    assert preset.name.replace("-", "").replace("_", "").isalnum() and preset.name == preset.name.lower()
    assert preset.title and preset.lesson and preset.expect
    for seed in SEEDS:
        found = {message.code for message in lab.preset_diagnosis(preset, seed)}
        assert set(preset.expect) <= found, (preset.name, seed, found)
        assert not set(preset.avoid) & found, (preset.name, seed, found)


def test_every_page_has_at_least_three_lessons():
    for app in APPLICATIONS:
        if app.available:
            assert len(app.lab_module().PRESETS) >= 3, app.name
