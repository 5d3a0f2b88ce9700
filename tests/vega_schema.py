"""Validation of the lab's Vega-Lite specs against the schema Altair ships (the pages skip it for
speed, so the tests do it): the one place every test validates a chart."""

import jsonschema
from altair.vegalite.v6.schema.core import load_schema

from ui.charts import jsonable

VALIDATOR = jsonschema.Draft7Validator(load_schema())


def valid(spec: dict) -> dict:
    """The spec, its tables as lists of rows, after checking it against the Vega-Lite schema."""
    assert spec is not None, "the builder returned None"
    spec = jsonable(spec)
    errors = sorted(VALIDATOR.iter_errors(spec), key=str)
    assert not errors, errors[0].message
    return spec


def rows(spec: dict, name: str | None = None) -> list[dict]:
    """The rows of one named table of a (validated) spec, or of all of them."""
    tables = spec.get("datasets", {})
    if name is not None:
        return list(tables[name])
    return [row for table in tables.values() for row in table]


all_rows = rows
