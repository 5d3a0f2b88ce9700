"""One chart kit: specs as dicts, data as named tables, one palette, one ``show`` (see core's
docstring for how to add a chart). Views for one subject (tracking, cart-pole, games) build on it."""

from ui.charts.bars import bars
from ui.charts.basic import cell_size, heatmap, lines, matrix, scatter_against_identity, stacked_contributions
from ui.charts.core import (MUTED, PALETTE, REFERENCE, SCHEMA, Rule, chart, field, jsonable, layer, presenter_config,
                            show, show_beside, show_grid, table, to_csv, to_svg)
from ui.charts.sweeps import sweep

__all__ = ["MUTED", "PALETTE", "REFERENCE", "SCHEMA", "Rule", "bars", "cell_size", "chart", "field", "heatmap",
           "jsonable", "layer", "lines", "matrix", "presenter_config", "scatter_against_identity", "show", "show_beside", "show_grid",
           "stacked_contributions", "sweep", "table", "to_csv", "to_svg"]
