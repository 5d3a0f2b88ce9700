"""Shared UI of the lab: page setup, URL-bound controls, caching, friendly errors, one chart kit,
the formula / code-that-ran / gradient-check panels, and workshop mode.

A page reads:  settings = ui.page.begin(...)  →  result = cached run(settings)  →  render(result).
"""

from ui import charts, controls, page, panels, workers, workshop
from ui.cache import cached
from ui.catalog import APPLICATIONS, application
from ui.errors import guard

__all__ = ["APPLICATIONS", "application", "cached", "charts", "controls", "guard", "page", "panels", "workers", "workshop"]
