"""Validation of the lab's Vega-Lite specs against the schema Altair ships (the pages skip it for
speed, so the tests do it): the one place every test validates a chart."""

import base64
import io

import jsonschema
import numpy as np
from PIL import Image
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


def drawn_domain(scale: dict, width: float, height: float) -> list[float]:
    """The domain a browser draws for a scale whose ends may be expressions of the plot's width and
    height (``ui.charts.core.equal_axes``): evaluated here as Vega would, at the given plot size."""
    def end(key: str, fallback: float) -> float:
        value = scale.get(key, fallback)
        if isinstance(value, dict):  # {"expr": …}: Vega's max() and arithmetic are Python's
            return float(eval(value["expr"], {"__builtins__": {}, "max": max, "min": min},
                              {"width": width, "height": height}))
        return float(value)
    low, high = scale["domain"]
    return [end("domainMin", low), end("domainMax", high)]


def picture(spec: dict, name: str = "_heat") -> tuple[np.ndarray, dict]:
    """The heatmap picture a spec draws from table ``name`` (ui.charts.raster), decoded from its PNG
    data URL by Pillow (RGBA rows from the top), and that table's row (the picture's edges)."""
    tables = spec.get("datasets", {})
    row = tables[name].iloc[0].to_dict() if hasattr(tables[name], "iloc") else tables[name][0]
    head, _, data = row["url"].partition(",")
    assert head == "data:image/png;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA")), row
