"""Shared UI of the lab: page setup, URL-bound controls, caching, friendly errors, charts, panels.

A page reads:  settings = controls()  →  result = cached calc_core call  →  render(result).
"""

from ui import charts, controls, page, panels
from ui.cache import cached
from ui.catalog import APPLICATIONS, application
from ui.errors import guard, show_problem
from ui.page import setup_page, sidebar_note

__all__ = ["APPLICATIONS", "application", "cached", "charts", "controls", "guard", "page", "panels",
           "setup_page", "show_problem", "sidebar_note"]
