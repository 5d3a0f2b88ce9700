"""Validation of the lab's Vega-Lite specs against the schema Altair ships (the pages skip it for
speed, so the tests do it)."""

import jsonschema
from altair.vegalite.v6.schema.core import load_schema

VALIDATOR = jsonschema.Draft7Validator(load_schema())


def valid(spec: dict) -> dict:
    """The spec itself, after checking it against the Vega-Lite schema."""
    assert spec is not None, "the builder returned None"
    errors = sorted(VALIDATOR.iter_errors(spec), key=str)
    assert not errors, errors[0].message
    return spec


def inline_rows(part: dict) -> list[dict]:
    """The rows of a spec's or a layer's inline data (``{"data": {"values": [...]}}``)."""
    return list(part.get("data", {}).get("values", []))


def all_rows(spec: dict) -> list[dict]:
    """Every inline row of the spec and its layers."""
    return inline_rows(spec) + [row for layer in spec.get("layer", []) for row in inline_rows(layer)]
