"""A chart redrawn in place looks like the same chart drawn fresh.

When a rerun changes only a chart's numbers, the kit sends the same spec (ui.charts.core.stable: the
domains of x and y read a one-row table) and the browser updates the drawn chart instead of building
it again. These tests move a slider, then load the link that move wrote into a new page, and compare
the two pictures of charts whose axes follow the data: equal axes whose box grows with the run. A
domain left behind by the update would move every mark and tick; what may differ is antialiasing
where lines are redrawn over each other."""

import io

import numpy as np
import pytest
from PIL import Image

from tests.browser.helpers import open_page, wait_idle

CASES = [  # page, the slider moved, which chart (in page order), presses
    ("GANs", "Penalty γ on the second player (R1)", 0, 3),
    ("Sensor_Fusion", "Speed v", 0, 3),
    ("Diffusion", "Modes", 0, 2),
]


def picture(page, n: int) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(page.get_by_test_id("stVegaLiteChart").nth(n).screenshot())).convert("RGB"),
                      dtype=int)


def strongly_different(a: np.ndarray, b: np.ndarray) -> float:
    """The share of pixels whose colour differs by more than antialiasing does (60 of 765 levels)."""
    return float((np.abs(a - b).sum(axis=-1) > 60).mean())


@pytest.mark.parametrize(("slug", "label", "chart", "presses"), CASES)
def test_a_chart_updated_in_place_matches_the_chart_drawn_fresh_from_the_link(page, server_url, slug, label, chart,
                                                                                presses):
    open_page(page, f"{server_url}/{slug}")
    before = picture(page, chart)
    handle = page.locator(f'input[type="range"][aria-label="{label}"]')
    for _ in range(presses):
        handle.focus()
        handle.press("ArrowRight")
        wait_idle(page)
    moved = picture(page, chart)
    assert moved.shape != before.shape or strongly_different(moved, before) > 0.01  # the move redrew it
    open_page(page, page.url)
    page.wait_for_timeout(300)
    fresh = picture(page, chart)
    assert moved.shape == fresh.shape
    assert strongly_different(moved, fresh) < 0.002, strongly_different(moved, fresh)


def share(colours: np.ndarray, target, within: int = 45) -> float:
    """The share of pixels within ``within`` levels per channel of an RGB colour."""
    return float((np.abs(colours - np.asarray(target)).max(axis=-1) <= within).mean())


def test_a_heatmap_picture_is_drawn_in_its_colours_and_redrawn_when_its_grid_changes(page, server_url):
    """ui.charts.raster sends a fine heatmap as a PNG data URL for Vega's image mark: Streamlit's Vega
    must draw it (nothing else on the chart is blue or dark red) and draw the new picture after a move."""
    open_page(page, f"{server_url}/GANs")
    titles = [t.inner_text() for t in page.get_by_test_id("stVegaLiteChart").all()]
    assert len(titles) >= 4
    radius_map = 3  # the field, the distance, the eigenvalues, ρ(η, γ)
    drawn = picture(page, radius_map)
    # simultaneous GDA on the bilinear game: ρ ≥ 1.5 (clamped: Vega's darkest red) where η is large, and
    # converging cells (blue) once γ is past zero — both cover a good part of the plot
    assert share(drawn, (0x8C, 0x0D, 0x25)) > 0.05
    assert float(((drawn[..., 2] > 150) & (drawn[..., 0] < 120)).mean()) > 0.05
    # another method, another map: the picture is replaced, not kept
    page.get_by_test_id("stSelectbox").filter(has_text="Method").click()
    page.get_by_role("option", name="extragradient", exact=True).click()
    wait_idle(page)
    again = picture(page, radius_map)
    assert again.shape == drawn.shape and strongly_different(again, drawn) > 0.05


def test_a_formula_wider_than_a_phone_scrolls_inside_its_box_and_the_page_keeps_its_width(browser, server_url):
    """On a 390 × 844 phone the Policy Gradient page's widest formula is ≈ 670 pixels: it must scroll
    sideways inside the formula panel's own box (ui.page's CSS on ui.panels.formula_and_code), not widen
    the page or run off its edge."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        open_page(page, f"{server_url}/Policy_Gradient")
        boxes = page.locator("[class*='st-key-lab-formula-'] .katex-display")
        assert boxes.count() >= 3
        widths = page.evaluate("""() => [...document.querySelectorAll("[class*='st-key-lab-formula-'] .katex-display")]
            .map(box => ({scroll: box.scrollWidth, client: box.clientWidth, right: box.getBoundingClientRect().right,
                          overflow: getComputedStyle(box).overflowX}))""")
        widest = max(widths, key=lambda w: w["scroll"])
        assert widest["scroll"] > 390 and widest["client"] <= 390  # wider than the phone, in a box that is not
        assert all(w["overflow"] == "auto" and w["right"] <= 390 for w in widths), widths
        n = widths.index(widest)
        moved = boxes.nth(n).evaluate("box => { box.scrollLeft = 200; return box.scrollLeft; }")
        assert moved > 0  # it scrolls
        scroll_width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
        assert scroll_width <= 390, scroll_width
    finally:
        context.close()
