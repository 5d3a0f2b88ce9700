"""ui.panels.figure: a metric's number, its unit, and what it shows when there is none."""

import math

from ui.panels import figure


def test_a_figure_carries_its_unit_switches_to_large_form_from_ten_thousand_and_names_no_number():
    assert figure(0.61234, unit=" m") == "0.612 m"
    assert figure(32_000_000.0, unit=" m", large=".3g") == "3.2e+07 m"  # a diverged filter's error
    assert figure(9999.0, ".1f", large=".3g") == "9999.0" and figure(-1e4, ".1f", large=".3g") == "-1e+04"
    assert figure(32_000_000.0) == "32000000.000"  # without ``large`` the format stays
    for nothing in (math.nan, math.inf, None, "x"):
        assert figure(nothing, unit=" m") == "—"  # no unit after the dash
