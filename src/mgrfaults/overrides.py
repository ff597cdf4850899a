"""Command-line config overrides typed by the schema.

``snakemake --config 'systems={bff: {svm_C: [4]}}'`` parses nested values with YAML's BaseLoader:
every scalar arrives as a string (``'4'``), and the schema then rejects it (``'4' is not of type
'integer'``). :func:`coerce_to_schema` converts such strings to the type the schema asks for at
that key, before validation; anything that does not convert is left for the validation to name.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import yaml

INTEGER = re.compile(r"^[+-]?\d+$")
NULLS = {"null", "Null", "NULL", "~"}
BOOLEANS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}


def _allowed_types(schema: Mapping[str, Any]) -> set[str]:
    """JSON-schema types a value may have at this node (``type``, and those of anyOf/oneOf branches)."""
    declared = schema.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared)
    for branch in list(schema.get("anyOf", [])) + list(schema.get("oneOf", [])):
        types |= _allowed_types(branch)
    return types


def _coerce_scalar(text: str, schema: Mapping[str, Any], free_form_as_yaml: bool = False):
    types = _allowed_types(schema)
    if not types and free_form_as_yaml:
        # the schema leaves this value free (a custom system's params): read it as a --configfile would
        try:
            parsed = yaml.safe_load(text)
        except yaml.YAMLError:  # not a YAML scalar (@x, *x, !x, `x`): the text it is
            return text
        return parsed if not isinstance(parsed, (dict, list)) else text
    if free_form_as_yaml and "null" in types and text in NULLS:
        return None  # --config's `root: null`: the null a configfile gives, not a folder named "null"
    if "string" in types:
        return text  # a string is valid here: keep what was written
    if "integer" in types and INTEGER.match(text):
        return int(text)
    if "number" in types:
        try:
            return int(text) if INTEGER.match(text) else float(text)
        except ValueError:
            pass
    if "boolean" in types and text in BOOLEANS:
        return BOOLEANS[text]
    if "null" in types and text in NULLS:
        return None
    return text


def _branch_schemas(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [schema] + list(schema.get("anyOf", [])) + list(schema.get("oneOf", []))


def coerce_to_schema(value: Any, schema: Mapping[str, Any], free_form_as_yaml: bool = False) -> Any:
    """Return ``value`` with strings converted where the JSON schema asks for a number, boolean or null, and
    whole floats (``1.0``) made integers where it asks for an integer.

    Parameters
    ----------
    value : any
        A config (nested dicts and lists of scalars), e.g. the merged Snakemake ``config``.
    schema : mapping
        Its JSON schema (``properties``, ``additionalProperties``, ``items``, ``type``, ``anyOf``,
        ``oneOf`` are followed; other keywords are ignored).
    free_form_as_yaml : bool
        Also read the strings where the schema declares no type (``systems.custom.<name>.params``: a factory's
        keyword arguments) as YAML scalars (``2`` -> 2, ``false`` -> False, ``0.5`` -> 0.5), as a ``--configfile``
        gives them, and ``null`` as None where the schema allows both a string and null (``dataset.directory.root:
        null``). For ``--config`` values only (:func:`typed_overrides`): a configfile's quoted ``"2014"`` stays
        a string.

    Returns
    -------
    A new value; the input is not modified. Strings that do not convert are kept, so that the
    schema validation reports them with their key.
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            sub: Mapping[str, Any] = {}
            for branch in _branch_schemas(schema):
                if key in branch.get("properties", {}):
                    sub = branch["properties"][key]
                    break
                if isinstance(branch.get("additionalProperties"), dict):
                    sub = branch["additionalProperties"]
            out[key] = coerce_to_schema(item, sub, free_form_as_yaml)
        return out
    if isinstance(value, list):
        items = next((b["items"] for b in _branch_schemas(schema) if isinstance(b.get("items"), dict)), {})
        return [coerce_to_schema(item, items, free_form_as_yaml) for item in value]
    if isinstance(value, str):
        return _coerce_scalar(value, schema, free_form_as_yaml)
    if isinstance(value, float) and value.is_integer() and {"integer"} <= (types := _allowed_types(schema)) \
            and "number" not in types:
        # JSON Schema counts 1.0 as an integer, Python's range() does not: `n_shards: 1.0` would fail far from its key
        return int(value)
    return value


def typed_overrides(config: Mapping[str, Any], overrides: Mapping[str, Any], schema: Mapping[str, Any]) -> dict:
    """``config`` typed by the schema (:func:`coerce_to_schema`), with the ``--config`` ``overrides`` merged over it
    again, their free-form values (a custom system's params) read as YAML scalars.

    Snakemake reads ``--config 'systems={custom: {X: {params: {epochs: 2}}}}'`` with YAML's BaseLoader, so the
    factory would get ``epochs='2'``, and ``false`` would arrive as the string ``'false'``, which is true.
    """
    from mgrfaults.config import deep_merge

    typed = coerce_to_schema(config, schema)
    return deep_merge(typed, coerce_to_schema(overrides or {}, schema, free_form_as_yaml=True))
