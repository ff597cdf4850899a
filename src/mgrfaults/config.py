"""The workflow configuration, resolved once into typed, frozen specs.

The defaults live only in ``workflow/schemas/config.schema.yaml``: the Snakefile validates the
config with ``snakemake.utils.validate(..., set_default=True)``, which fills every default (nested
sections carry ``default: {}`` so that their keys are filled too; a partition condition gets the
defaults of its method). :func:`resolve` then turns the validated config into the specs below,
checks what the schema cannot express, and applies the synthetic preset. Rules pass the resolved
values as params, so no stage below the Snakefile reads a default of its own.

Outside Snakemake (tests, benchmarks) :func:`load_config` does what the Snakefile does.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import functools
import json
import json.scanner
import math
import os
import re
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT_CONFIG_PATH = REPO / "config" / "config.yaml"

SYNTHETIC_PRESETS = {
    # preset: (excerpts per genre, seconds per excerpt); `default` keeps the config's own values
    "tiny": (12, 6.0),
    "gtzan_size": (100, 30.0),
}

PARTS = ("train", "valid", "test")
GTZAN_LIST_SETS = ("filtered", "stratified")  # the sets of GTZAN's published lists: the data stage's six files


class ConfigError(ValueError):
    """A configuration value that the schema allows but the workflow cannot use."""


# ---------------------------------------------------------------------------------------------
# Specs (plain values only: they travel to script jobs as Snakemake params)


@dataclass(frozen=True)
class SyntheticSpec:
    """``dataset.synthetic`` with the preset applied: the arguments of ``plan_dataset``."""

    preset: str
    n_per_genre: int
    duration: float
    confound_strength: float
    largest_artist_share: float
    singleton_share: float
    faults: dict

    def plan_args(self) -> dict:
        """Keyword arguments of :func:`mgrfaults.data.synth.plan_dataset` (all but seed and sample rate)."""
        out = asdict(self)
        del out["preset"]
        return out


@dataclass(frozen=True)
class DatasetSpec:
    """``dataset``: the source and how its audio is decoded."""

    source: str
    sample_rate: int
    max_duration: float
    on_bad_audio: str
    trust_audio: tuple
    synthetic: SyntheticSpec
    gtzan: dict
    directory: dict

    @property
    def root(self) -> str | None:
        """The configured audio folder of a real source (gtzan, directory); None: download / synthetic."""
        return {"gtzan": self.gtzan, "directory": self.directory}.get(self.source, {}).get("root")


@dataclass(frozen=True)
class FeaturesSpec:
    """``features``: shards, and the full extraction parameters each kind's HDF5 shards carry."""

    n_shards: int
    frames: dict
    texture: dict


@dataclass(frozen=True)
class ConditionSpec:
    """One partition condition: its name, number of folds, and its method's options (all filled)."""

    name: str
    n_folds: int
    options: dict  # method plus the method's keys, as ``mgrfaults.partitions.split.run_condition`` takes them

    @property
    def method(self) -> str:
        return self.options["method"]


@dataclass(frozen=True)
class EvaluateSpec:
    """``evaluate``: bootstrap, interval coverage, figure-of-merit systems, the compared conditions."""

    bootstrap: int
    confidence: float
    figure_of_merit: tuple
    compare: tuple


@dataclass(frozen=True)
class ResolvedConfig:
    """The whole configuration, resolved once (``common.smk``: ``RESOLVED``)."""

    results: str
    seed: int
    dataset: DatasetSpec
    features: FeaturesSpec
    conditions: dict  # name -> ConditionSpec, in the config's order
    evaluate: EvaluateSpec
    systems: tuple  # the configured system names (systems.run)

    @property
    def folds(self) -> dict[str, int]:
        """Number of folds of each condition."""
        return {name: c.n_folds for name, c in self.conditions.items()}


# ---------------------------------------------------------------------------------------------
# Loading and validation outside Snakemake


def deep_merge(base: Mapping, extra: Mapping) -> dict:
    """``extra`` merged over ``base`` key by key, nested mappings merged too (as ``--configfile``)."""
    out = copy.deepcopy(dict(base))
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def drop_null_conditions(config: dict) -> dict:
    """``config`` without the conditions set to null (``partitions: {conditions: {standard: null}}``), in place.

    A ``--configfile`` merges its conditions into the default's (config/config.yaml: standard and
    fault_filtered), so a null is how a configuration runs without one of those.
    """
    _drop_null_entries(config, "partitions", "conditions")
    return config


def _drop_null_entries(config: dict, section: str, key: str) -> None:
    """The entries of ``config[section][key]`` set to null removed, in place (none where it is no mapping)."""
    from mgrfaults.overrides import NULLS

    parent = config.get(section)
    entries = parent.get(key) if isinstance(parent, dict) else None
    if isinstance(entries, dict):
        # --config delivers a nested null as its text ('null', '~'), as coerce_to_schema reads it
        for name in [name for name, e in entries.items() if e is None or (isinstance(e, str) and e.strip() in NULLS)]:
            del entries[name]


def drop_null_custom_systems(config: dict) -> dict:
    """``config`` without the custom systems set to null (``systems: {custom: {Frames_MLP: null}}``), in place: as a
    condition (:func:`drop_null_conditions`), how a second ``--configfile`` or ``--config`` runs a preset or the worked
    example without one of its systems (audit 54)."""
    _drop_null_entries(config, "systems", "custom")
    return config


YAML11_TEXT_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")
"""A number in exponent form that PyYAML leaves as text: ``1e-3`` (no dot) or ``1.0e3`` (no exponent sign), numbers
in YAML 1.2 and JSON; YAML 1.1 reads only ``1.0e-3`` and ``1.0e+3`` as numbers. A config file's ``lr: 1e-3`` arrives
as the string ``'1e-3'``."""


def yaml11_text_number(text: str) -> str | None:
    """How to write ``text`` so that PyYAML reads the number it means (``1e3`` -> ``1.0e+3``), or None where ``text``
    is no exponent-form number PyYAML would leave as text (:data:`YAML11_TEXT_NUMBER`)."""
    if not isinstance(text, str) or not YAML11_TEXT_NUMBER.match(text) or not isinstance(yaml.safe_load(text), str):
        return None
    mantissa, exponent = re.split("[eE]", text)
    mantissa = mantissa if "." in mantissa else mantissa + ".0"
    mantissa = mantissa + "0" if mantissa.endswith(".") else mantissa
    mantissa = ("0" + mantissa) if mantissa.lstrip("+-").startswith(".") else mantissa
    return f"{mantissa}e{exponent if exponent[0] in '+-' else '+' + exponent}"


def _dotted(path) -> str:
    return ".".join(str(part) for part in path) or "(top level)"


def _key_paths(schema: Mapping[str, Any], name: str, path: str = "") -> list[str]:
    """Dotted paths of the schema's keys called ``name`` (``<name>`` for a free-named level: a net variant, a condition)."""
    found = []
    if not isinstance(schema, Mapping):
        return found
    for key, sub in (schema.get("properties") or {}).items():
        here = f"{path}.{key}" if path else key
        if key == name:
            found.append(here)
        found += _key_paths(sub, name, here)
    free = schema.get("additionalProperties")
    if isinstance(free, Mapping):
        names = (schema.get("propertyNames") or {}).get("enum")
        found += _key_paths(free, name, f"{path}.<{'|'.join(names) if names else 'name'}>")
    return found


def schema_error_message(error, schema_root: Mapping[str, Any] | None = None) -> str:
    """One short line for a ``jsonschema`` validation error: the config key, the value's problem, the key's description.

    ``snakemake.utils.validate`` prints the whole schema of the section around a bad value (hundreds of lines for
    ``systems.dnn``) with the key last; this names the key first and, for a key the schema does not know, the keys
    it does know and the closest of them.
    """
    import difflib

    key = _dotted(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = list(schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in known]
        parts = []
        for name in unknown:
            close = difflib.get_close_matches(str(name), known, n=1)
            elsewhere = _key_paths(schema_root or {}, str(name))
            hint = (f"did you mean {close[0]!r}?" if close else "") or (
                f"it is a key of {' and '.join(p.rsplit('.', 1)[0] for p in elsewhere[:3])}" if elsewhere else "")
            parts.append(f"{name!r}" + (f" ({hint})" if hint else ""))
        where = f"under {key}" if error.absolute_path else "at the top level"
        return (f"config: {', '.join(parts)} {'is not a key' if len(unknown) == 1 else 'are not keys'} {where}; "
                f"its keys: {', '.join(known)}")
    problem = error.message
    if error.validator == "pattern" and schema.get("description"):
        problem = f"{error.instance!r} is not of the form the key takes"  # the description says it, not a regex
    if error.validator == "enum" and isinstance(error.instance, str):
        close = difflib.get_close_matches(error.instance, [str(v) for v in schema.get("enum", [])], n=1)
        problem += f" (did you mean {close[0]!r}?)" if close else ""
    if error.validator == "type" and (number := yaml11_text_number(error.instance)):
        problem += (f" (YAML 1.1, which reads config files, takes {error.instance} for text: it wants a dot and a signed "
                    f"exponent, {number})")
    description = " ".join(str(schema.get("description", "")).split())
    return f"config {key}: {problem}" + (f" ({description})" if description else "")


def check_schema(config: Mapping[str, Any], schema: Mapping[str, Any] | None = None) -> None:
    """Refuse a config the schema rejects with one line naming the key (:func:`schema_error_message`).

    Raises
    ------
    ConfigError
        The most relevant error (``jsonschema.exceptions.best_match``), and how many others there are.
    """
    from jsonschema import validators
    from jsonschema.exceptions import best_match

    schema = schema if schema is not None else _schema()
    errors = list(validators.validator_for(schema)(schema).iter_errors(config))
    if errors:
        first = best_match(errors)
        others = sorted({_dotted(e.absolute_path) for e in errors if e is not first})
        more = (f" (and {len(errors) - 1} more problem(s), at {', '.join(others[:5])}"
                f"{', ...' if len(others) > 5 else ''})" if len(errors) > 1 else "")
        raise ConfigError(schema_error_message(first, schema) + more)


def validate(config: dict) -> dict:
    """Validate ``config`` against the schema in place, filling every default; return it.

    What the Snakefile does: :func:`check_schema` (a bad value refused in one line naming its key), then
    ``snakemake.utils.validate`` with ``set_default=True``, which fills the defaults, then
    :func:`complete_dnn_variants` (a variant given in part keeps the schema's other values).
    """
    from snakemake.utils import validate as snakemake_validate

    check_schema(config)
    snakemake_validate(config, str(SCHEMA_PATH), set_default=True)
    config["systems"]["dnn"] = complete_dnn_variants(config["systems"]["dnn"])
    return config


def _key_written_twice(key, first_line: int, second_line: int, language: str) -> ConfigError:
    """The refusal of a key written twice in one mapping, at lines ``first_line`` and ``second_line`` (from 1), in a
    ``language`` (``YAML``, ``JSON``) file: both readers keep the second."""
    keeps = {"YAML": "YAML keeps the second and drops", "JSON": "JSON readers (Snakemake's) keep the second and drop"}
    return ConfigError(f"the key {key!r} is written twice in one mapping (lines {first_line} and {second_line}): "
                       f"{keeps[language]} the first without a word; write it once, with both parts' keys under it")


def _leading_zero_integers(node, key: str = "", seen: set | None = None):
    """``(dotted key, scalar node)`` of each integer below ``node`` (a composed YAML node) written with a leading zero
    that YAML 1.1 reads as octal, to another number than the decimal digits say (``0101``: 65; ``07`` is 7 either
    way). Each node is visited once: an alias or a merge repeats what its anchor's place named first."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            yield from _leading_zero_integers(value_node, f"{key}.{name}" if key else str(name), seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _leading_zero_integers(item, f"{key}[{i}]", seen)
    elif node.tag == "tag:yaml.org,2002:int" and _octal_differs(node.value):
        yield key or "(top level)", node


def _octal_differs(text: str) -> bool:
    """``text``, an integer as YAML 1.1 writes it, has a leading zero read as octal to another number than decimal."""
    digits = text.replace("_", "").lstrip("+-")
    return len(digits) > 1 and digits[0] == "0" and digits.isdigit() and int(digits, 8) != int(digits)


def _refuse_octal_integers(node) -> None:
    """Refuse the first integer written with a leading zero that YAML 1.1 reads as octal (``seed: 0101`` ran as
    seed 65), naming its key, line and column, the number read and the one the digits say."""
    for key, scalar in _leading_zero_integers(node):
        read, meant = yaml.safe_load(scalar.value), int(scalar.value.replace("_", ""))
        raise ConfigError(f"{key}: {scalar.value} (line {scalar.start_mark.line + 1}, column "
                          f"{scalar.start_mark.column + 1}) is read as the number {read}: YAML 1.1, which reads config "
                          f"files, takes an integer written with a leading zero for octal; write {meant} (or {read}, "
                          f"if the octal number is meant; or '{scalar.value}' in quotes, where the text is meant: a "
                          "name, a custom system's parameter)")


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader refusing a mapping that holds a key twice (PyYAML keeps the last one silently).

    Only the keys written in the mapping count: one it also takes through a merge (``<<: *anchor``) overrides the
    merged value, as the merge key is meant (``yaml.safe_load`` reads such a file alike).
    """

    MERGE_TAG = "tag:yaml.org,2002:merge"

    def construct_document(self, node):
        _refuse_octal_integers(node)
        return super().construct_document(node)

    def flatten_mapping(self, node):
        # called on every mapping before its keys are made, and on each merged one before its keys are copied into
        # the mapping that merges it: the keys are those written, once per node
        checked = self.__dict__.setdefault("_checked_mappings", set())
        if id(node) not in checked:
            checked.add(id(node))
            self._refuse_keys_written_twice(node)
        super().flatten_mapping(node)

    def _refuse_keys_written_twice(self, node) -> None:
        """Refuse a key written twice among ``node``'s own keys (a merge key, ``<<``, included)."""
        seen = {}
        for key_node, _ in node.value:
            key = "<<" if key_node.tag == self.MERGE_TAG else self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # an unhashable key: PyYAML's own error follows
            if key in seen:
                raise _key_written_twice(key, seen[key] + 1, key_node.start_mark.line + 1, "YAML")
            seen[key] = key_node.start_mark.line


def _json_with_unique_keys(text: str):
    """``text`` read as JSON (as :func:`json.loads` reads it), refusing a mapping that holds a key twice.

    :func:`json.loads` keeps the second silently, as Snakemake's reading of a ``--configfile`` does. The pure-Python
    scanner reads it (a config file is small), its mapping parser wrapped to learn where each value starts: the line
    of the colon before it is its key's line.

    Raises
    ------
    ConfigError
        A key written twice, naming it and both lines.
    ValueError
        Not JSON (:class:`json.JSONDecodeError`).
    """
    decoder = json.JSONDecoder()
    # where each line after the first starts (a line ends in LF, CRLF or a lone CR): a key's line by bisection
    line_starts = [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def parse_object(s_and_end, strict, scan_once, object_hook, object_pairs_hook, memo):
        starts = []  # where each value of this mapping starts, in order

        def scan_value(string, index):
            starts.append(index)
            return scan_once(string, index)

        def unique(pairs):
            seen = {}
            for (key, _), start in zip(pairs, starts):
                line = bisect.bisect_right(line_starts, text.rfind(":", 0, start)) + 1
                if key in seen:
                    raise _key_written_twice(key, seen[key], line, "JSON")
                seen[key] = line
            return dict(pairs)

        return json.decoder.JSONObject(s_and_end, strict, scan_value, object_hook, unique, memo)

    decoder.parse_object = parse_object
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # reads parse_object when made
    return decoder.decode(text)


def read_config_file(path: str | Path) -> dict:
    """A config file's mapping, or a :class:`ConfigError` naming the file, the line and the problem.

    What Snakemake's own reading of ``--configfile`` says without a file or a line (``Config file is not
    valid JSON or YAML``, or a ``UnicodeDecodeError`` traceback): a missing or unreadable file, text that is
    not UTF-8 (the line and column of the first byte that is not), YAML that does not parse (its line and
    column; a tab in an indentation named), a file that holds no mapping of keys. And what it reads without a word:
    a key written twice in one mapping, YAML or JSON (both keep the second; a key a YAML merge, ``<<: *anchor``,
    also gives is the override the merge is for), an integer with a leading zero that YAML 1.1 reads as octal
    (``seed: 0101``: 65).

    Parameters
    ----------
    path : str or Path
        A YAML (or JSON) config file.

    Returns
    -------
    dict
        Its top-level mapping (a file of comments only is refused, as Snakemake refuses it).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a folder, not a config file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot be read ({e.strerror or e})") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{path}: UTF-16 text (its first bytes say so); save it as UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1:].decode("utf-8")) + 1  # in characters: valid up to the byte
        raise ConfigError(f"{path}, line {line}, column {column}: not UTF-8 text (byte 0x{data[e.start]:02x}; "
                          "Latin-1 or Windows-1252, most likely): save it as UTF-8") from None
    try:
        # as Snakemake reads a config file: JSON first (a JSON file indented with tabs is no YAML), then YAML
        config = _json_with_unique_keys(text)
    except ConfigError as e:  # a ValueError too: not to be read as "not JSON"
        raise ConfigError(f"{path}: {e}") from None
    except ValueError:
        config = None
    try:
        if config is None:
            config = yaml.load(text, Loader=_UniqueKeyLoader)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}{_yaml_error_text(e, text)}") from None
    if config is None:
        # Snakemake refuses it too ("Config file must be given as JSON or YAML with keys at top level")
        raise ConfigError(f"{path}: holds no keys (empty, or comments only); Snakemake refuses such a config file: "
                          "write {} in it, or leave it out")
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: holds a {type(config).__name__} ({str(config)[:60]!r}), not a mapping of keys "
                          "(results:, dataset:, systems:, ...)")
    return config


def _yaml_error_text(error: yaml.YAMLError, text: str) -> str:
    """``, line L, column C: <problem>`` of a PyYAML error, with a tab in that line's indentation named."""
    mark = getattr(error, "problem_mark", None)
    problem = " ".join(str(p) for p in (getattr(error, "context", None), getattr(error, "problem", None)) if p)
    if mark is None:
        return f": not YAML ({problem or error})"
    lines = text.splitlines()
    # PyYAML's own words for a tab ("found character '\t' that cannot start any token") say nothing of indenting
    tab_lines = [n + 1 for n, line in enumerate(lines) if "\t" in line[: len(line) - len(line.lstrip())]]
    hint = (f"; line {tab_lines[0]} indents with a tab: YAML indents with spaces only" if tab_lines else "")
    return f", line {mark.line + 1}, column {mark.column + 1}: not YAML ({problem or error}){hint}"


def check_config_file(path: str | Path) -> None:
    """Refuse a config file (YAML or JSON) that Snakemake reads without a word to another config than written: a key
    written twice in one mapping (a second ``dataset:`` would replace the first), an integer with a leading zero
    that YAML 1.1 reads as octal (``seed: 0101``: 65).

    Raises
    ------
    ConfigError
        Naming the file, the key and the line(s).
    """
    # Snakemake has read the file already: of read_config_file's refusals only what it reads without a word is left
    # to meet (a key written twice, an octal integer)
    read_config_file(path)


def check_configfile_arguments(argv) -> None:
    """Refuse ``--configfile a.yaml --configfile b.yaml``: Snakemake reads only the last ``--configfile``.

    Raises
    ------
    ConfigError
        Naming the files and the command line that reads them all.
    """
    flags = ("--configfile", "--configfiles")
    given, current = [], None
    for arg in [str(a) for a in argv]:
        name, sep, value = arg.partition("=")
        if name in flags:
            current = []
            given.append(current)
            if sep:
                current.append(value)
        elif current is not None and not arg.startswith("-"):
            current.append(arg)
        else:
            current = None
    if len(given) > 1:
        import shlex

        files = [f for group in given for f in group]
        raise ConfigError(f"--configfile is given {len(given)} times; Snakemake reads only the files of the last one "
                          f"({' '.join(given[-1]) or 'none'}) and drops the others without a word. Name them all after "
                          f"one: --configfile {' '.join(shlex.quote(f) for f in files)} (the later ones override the "
                          "earlier ones' keys)")


def load_config(*overlays: Mapping | str | Path) -> dict:
    """The embedded default config with ``overlays`` (dicts or YAML paths) merged over it, validated.

    The same config a Snakemake run with ``--configfile overlay ...`` gets.
    """
    config = copy.deepcopy(_embedded_default())
    for overlay in overlays:
        if not isinstance(overlay, Mapping):
            overlay = read_config_file(overlay)
        config = deep_merge(config, overlay)
    from mgrfaults.overrides import coerce_to_schema

    # as the Snakefile: a config file's text where the schema wants a number (PyYAML's '1e-3') is typed first
    config = coerce_to_schema(config, _schema())
    return validate(drop_null_custom_systems(drop_null_conditions(config)))


def config_as_run(config: Mapping[str, Any], default: Mapping[str, Any] | None = None) -> dict:
    """A configuration file that gives a run ``config`` again: ``--configfile`` it alone, or :func:`load_config` it.

    ``config`` is validated (every default filled), so the file names every key; what it must add is a null for
    each of the embedded default's conditions the run dropped, since a ``--configfile`` merges its conditions into
    the default's (:func:`drop_null_conditions`).

    Parameters
    ----------
    config : mapping
        The validated configuration of a run.
    default : mapping, optional
        The embedded default (``config/config.yaml``), read when not given.

    Returns
    -------
    dict
        A deep copy of ``config``, with ``partitions.conditions.<name>: None`` for each dropped default condition.
    """
    if default is None:
        default = _embedded_default()
    as_run = copy.deepcopy(dict(config))
    conditions = as_run.setdefault("partitions", {}).setdefault("conditions", {})
    for name in (default.get("partitions") or {}).get("conditions") or {}:
        conditions.setdefault(name, None)
    return as_run


SETTINGS_OVERLAYS = ("job_script", "head")
"""The values of ``systems.dnn.settings`` that lay the ``systems.dnn`` entry of that name over the variants."""


def complete_dnn_variants(dnn: Mapping[str, Any]) -> dict:
    """``systems.dnn`` with every variant, and every ``job_script`` and ``head`` entry, completed by the
    schema's default of it.

    A config that names a variant replaces the schema's whole ``variants`` default (the validator
    fills a key only when it is absent), so ``variants: {RS: {max_epochs: 3}}`` would silently lose RS's
    learning rate and every RSD value. Here a given variant changes only the keys it names; so does a
    given ``head`` entry (``head: {RSD: {keep_probs: [...]}}`` for other ``hidden_layers`` keeps the later
    code's learning rate, patience and saturate).

    Parameters
    ----------
    dnn : mapping
        The validated ``config["systems"]["dnn"]``.

    Returns
    -------
    dict
        A copy with ``variants[name] = {**schema default of name, **given}`` for every default variant
        and every given one, and ``job_script`` and ``head`` so too.
    """
    def completed(key: str) -> dict:
        defaults = schema_defaults()[f"systems.dnn.{key}"]
        given = dict(dnn.get(key) or {})
        names = list(defaults) + [name for name in given if name not in defaults]
        return {name: {**defaults.get(name, {}), **(given.get(name) or {})} for name in names}

    return {**copy.deepcopy(dict(dnn)), **{key: completed(key) for key in ("variants", *SETTINGS_OVERLAYS)}}


def section_defaults(section: str) -> dict:
    """The schema's defaults of one config section, by key: ``section_defaults("systems.learned")``
    -> ``{"ff_frames": 100, ...}`` (what a config that leaves the section out gets)."""
    prefix = section + "."
    return {key[len(prefix):]: value for key, value in schema_defaults().items()
            if key.startswith(prefix) and "." not in key[len(prefix):]}


@functools.lru_cache(maxsize=1)
def _embedded_default() -> dict:
    # config/config.yaml as read, once: callers that change it take a copy
    return yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    # libyaml's parser where PyYAML has it: every library module reads its defaults from here at import
    return yaml.load(SCHEMA_PATH.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def complete_condition(condition: Mapping[str, Any]) -> dict:
    """A partition condition (``method`` plus the options it gives) with every other option of its
    method taken from the schema's defaults, as the validator fills them in a config."""
    return {**section_defaults("partitions.conditions"),
            **section_defaults(f"partitions.conditions.{condition['method']}"), **condition}


def schema_defaults(schema: Mapping | None = None) -> dict:
    """Every ``default`` of the schema, by dotted key (``dataset.sample_rate``: 22050).

    Keys below a partition method are named ``partitions.conditions.<method>.<key>``; nested
    ``default: {}`` section markers are left out.
    """
    if schema is None:
        schema = _schema()
    found: dict[str, Any] = {}

    def walk(node, prefix):
        if not isinstance(node, Mapping):
            return
        for key, sub in (node.get("properties") or {}).items():
            if isinstance(sub, Mapping) and "default" in sub and sub["default"] != {}:
                found[prefix + key] = sub["default"]
            walk(sub, prefix + key + ".")
        extra = node.get("additionalProperties")
        if isinstance(extra, Mapping):
            walk(extra, prefix + "*.")
            for branch in extra.get("allOf", []):
                method = branch.get("if", {}).get("properties", {}).get("method", {}).get("const")
                if method:
                    walk(branch.get("then", {}), prefix + f"{method}.")

    walk(schema, "")
    # a copy: the parsed schema is cached, and callers may change what they get
    return copy.deepcopy({k.replace("conditions.*.", "conditions."): v for k, v in found.items()})


# ---------------------------------------------------------------------------------------------
# Path keys


def path_slots(config: Mapping[str, Any]) -> list[tuple[str, Mapping | list, str | int]]:
    """Every key of ``config`` that names a local path: ``(dotted key, the mapping holding it, its field)``.

    ``results``; ``dataset.gtzan.root``, ``.index``, ``.partition_lists``; ``dataset.directory.root``,
    ``.annotations``; each condition's ``lists``; each custom system's ``factory`` (a
    ``path/to/file.py:callable`` holds a path, a ``package.module:callable`` does not) and ``files``
    (``systems.custom.<name>.files[i]``, held by the list, at index ``i``). Keys that are
    absent or null are left out. The mappings are ``config``'s own, so a caller may set the values.
    """
    slots = [("results", config, "results")] if config.get("results") is not None else []
    dataset = config.get("dataset") or {}
    for source, fields in (("gtzan", ("root", "index", "partition_lists")), ("directory", ("root", "annotations"))):
        section = dataset.get(source) or {}
        slots += [(f"dataset.{source}.{field}", section, field) for field in fields if section.get(field) is not None]
    for name, cond in ((config.get("partitions") or {}).get("conditions") or {}).items():
        if isinstance(cond, Mapping) and cond.get("lists") is not None:
            slots.append((f"partitions.conditions.{name}.lists", cond, "lists"))
    for name, spec in ((config.get("systems") or {}).get("custom") or {}).items():
        if isinstance(spec, Mapping) and str(spec.get("factory", "")).rpartition(":")[0].endswith(".py"):
            slots.append((f"systems.custom.{name}.factory", spec, "factory"))
        if isinstance(spec, Mapping) and isinstance(spec.get("files"), list):
            slots += [(f"systems.custom.{name}.files[{i}]", spec["files"], i) for i in range(len(spec["files"]))]
    return slots


def expand_user(value: str, factory: bool = False) -> str:
    """``value`` with a leading ``~`` or ``~user`` expanded (:func:`os.path.expanduser`); else unchanged.

    A ``factory`` (``path/to/file.py:callable``) has its path part expanded, not its callable.
    """
    if factory:
        path, _, attr = str(value).rpartition(":")
        return f"{os.path.expanduser(path)}:{attr}"
    return os.path.expanduser(str(value))


def expand_user_paths(config: Mapping[str, Any]) -> dict:
    """A copy of ``config`` with ``~`` expanded in every path key (:func:`path_slots`).

    Snakemake takes ``~`` literally (it would write into a folder named ``~``) while pandas and the
    checks expand it, so a path must mean one folder before anything reads it. A value without a
    leading ``~`` is kept exactly as written (an existing results folder is not planned again), so
    expanding twice changes nothing.
    """
    out = copy.deepcopy(dict(config))
    for key, holder, field in path_slots(out):
        holder[field] = expand_user(holder[field], factory=key.endswith(".factory"))
    return out


# ---------------------------------------------------------------------------------------------
# Resolution


def resolve_dataset(dataset: Mapping[str, Any]) -> DatasetSpec:
    """``dataset`` (validated) as a :class:`DatasetSpec`, the synthetic preset applied.

    The presets ``tiny`` and ``gtzan_size`` override ``n_per_genre`` and ``duration``
    (:data:`SYNTHETIC_PRESETS`); ``default`` keeps the given values.
    """
    synth = dict(dataset["synthetic"])
    if synth["preset"] in SYNTHETIC_PRESETS:
        synth["n_per_genre"], synth["duration"] = SYNTHETIC_PRESETS[synth["preset"]]
    synth["faults"] = dict(synth["faults"])
    return DatasetSpec(
        source=dataset["source"],
        sample_rate=int(dataset["sample_rate"]),
        max_duration=float(dataset["max_duration"]),
        on_bad_audio=dataset["on_bad_audio"],
        trust_audio=tuple(dataset["trust_audio"]),
        synthetic=SyntheticSpec(**synth),
        gtzan=dict(dataset["gtzan"]),
        directory=dict(dataset["directory"]),
    )


def resolve_features(config: Mapping[str, Any]) -> FeaturesSpec:
    """The extraction parameters of both kinds (``features`` plus the dataset's decoding)."""
    from mgrfaults.features.extract import frame_params, texture_params

    features = config["features"]
    frames = dict(features["frames"])
    stft = dict(
        sample_rate=config["dataset"]["sample_rate"],
        max_duration=config["dataset"]["max_duration"],
        n_fft=frames["n_fft"],
        hop_length=frames["hop_length"],
        window=frames["window"],
    )
    return FeaturesSpec(
        n_shards=int(features["n_shards"]),
        frames=frame_params(dtype=frames["dtype"], **stft),
        texture=texture_params(**stft, **features["texture"]),
    )


def condition_folds(conditions: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Number of folds of each (validated) partition condition: ``k`` for the CV methods, else 1."""
    return {name: int(cond["k"]) if str(cond["method"]).endswith("_cv") else 1 for name, cond in conditions.items()}


def resolve(config: Mapping[str, Any]) -> ResolvedConfig:
    """The validated config (defaults filled by the schema) as typed, frozen specs.

    Raises :class:`ConfigError` for values the schema cannot express (:func:`check_config`).
    The systems section is resolved by :mod:`mgrfaults.systems.names`; here only its names.
    Every path key has ``~`` expanded (:func:`expand_user_paths`); a path without ``~`` is kept as written.
    """
    # the one place `~` is expanded: the checks and every rule then see the same paths
    config = expand_user_paths(config)
    check_config(config)
    conditions = config["partitions"]["conditions"]
    folds = condition_folds(conditions)
    evaluate = config["evaluate"]
    return ResolvedConfig(
        results=canonical_results(config["results"]),
        seed=int(config["seed"]),
        dataset=resolve_dataset(config["dataset"]),
        features=resolve_features(config),
        conditions={
            name: ConditionSpec(name=name, n_folds=folds[name], options=copy.deepcopy(dict(cond)))
            for name, cond in conditions.items()
        },
        evaluate=EvaluateSpec(
            bootstrap=int(evaluate["bootstrap"]),
            confidence=float(evaluate["confidence"]),
            figure_of_merit=tuple(evaluate["figure_of_merit"]),
            compare=tuple(evaluate["compare"]),
        ),
        systems=tuple(config["systems"]["run"]),
    )


# ---------------------------------------------------------------------------------------------
# Checks beyond the schema


def check_config(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the key for values the schema cannot express.

    Checks: path keys hold no Snakemake wildcard braces and no ``~`` left unexpanded; partition
    proportions sum to 1 (the schema bounds each share and k); the dataset source has what it needs
    (a root for ``directory``; a given root exists and is not empty); then :data:`BAD_INPUT_CHECKS`.
    Paths are checked with ``~`` expanded, as :func:`resolve` hands them to the workflow.
    """
    config = expand_user_paths(config)
    check_path_keys(config)
    for name, cond in config["partitions"]["conditions"].items():
        props = cond.get("proportions")  # only the methods with proportions have the key
        if props is not None:
            total = sum(float(v) for v in props.values())
            if not math.isclose(total, 1.0, abs_tol=1e-6):
                raise ConfigError(f"partitions.conditions.{name}.proportions: must sum to 1, they sum to {total:g}")
        if cond.get("method") == "published" and cond.get("faults") not in (None, "annotated"):
            # before the fault detection it would wait for (mgrfaults.partitions.split.fault_source says the same)
            raise ConfigError(f"partitions.conditions.{name}.faults: {cond['faults']!r} has no effect on a published "
                              "condition (its lists decide)")
    dataset = config["dataset"]
    if dataset["source"] == "directory" and not (dataset.get("directory") or {}).get("root"):
        raise ConfigError("dataset.directory.root: dataset.source is 'directory' but no root folder is given")
    if dataset["source"] in ("gtzan", "directory"):
        section = dataset.get(dataset["source"]) or {}
        check_audio_root(dataset["source"], section.get("root"), section.get("extensions"))
    for check in BAD_INPUT_CHECKS:
        check(config)


# ---------------------------------------------------------------------------------------------
# bad-input checks: each a small function of the whole config, raising ConfigError naming the key


def check_path_keys(config: Mapping[str, Any]) -> None:
    """Path keys (:func:`path_slots`, ``~`` already expanded) hold no ``{``/``}``, no ``~user`` left and no
    environment variable (``$SCRATCH``, ``${HOME}``) unless the path exists as written.

    Snakemake reads braces in a path as wildcards (``results_{seed}`` fails with a ``WildcardError`` that
    names no key), and takes a leading ``~`` literally: a ``~user`` that :func:`os.path.expanduser`
    could not expand (no such user) would become a folder named ``~user``.
    """
    for key, holder, field in path_slots(config):
        value = str(holder[field])
        variable = re.search(r"\$(\{[A-Za-z_]\w*\}|[A-Za-z_]\w*)", value)
        if variable and not Path(value.rpartition(":")[0] if key.endswith(".factory") else value).exists():
            # a folder named `$SCRATCH` would be made in the working folder, or the path not found
            name = variable.group(1).strip("{}")
            here = f"${name} is {os.environ[name]!r} here" if name in os.environ else f"${name} is not set here"
            shell = f", or give it on the command line, where the shell expands it: --config {key}=\"{value}\"" \
                if "." not in key else ""
            raise ConfigError(f"{key}: {value!r} holds {variable.group(0)}: environment variables are not expanded in "
                              f"a config file (a folder named {variable.group(0)!r} would be used); write the path "
                              f"itself ({here}){shell}")
        check_path_unpadded(key, value)
        if "{" in value or "}" in value:
            raise ConfigError(f"{key}: {value!r} holds a brace; Snakemake reads {{...}} in a path as a wildcard, "
                              "so the workflow cannot use it: rename the folder or file without { and }")
        if value.startswith("~"):
            raise ConfigError(f"{key}: {value!r}: {value.split('/')[0]} is not a user's home folder here; "
                              "write the path in full")


def check_path_unpadded(key: str, value: str) -> None:
    """A path key's value has no space (or other white space) before or after it, unless it names an input that
    exists as written: a quoted ``results: 'out '`` wrote to a folder ``out `` beside any ``out``, the space invisible
    in every message (genre folders so named are refused: :func:`mgrfaults.data.dataset.check_genre_folder_names`).

    ``results`` is refused whether or not it exists (the run makes it), an input path only where no path is so named
    (a real folder ``my audio `` is the one meant; else the space makes the "does not exist" that would follow).
    """
    if value == value.strip() or not value.strip():  # a value of spaces alone: named empty by the key's own check
        return
    path = value.rpartition(":")[0] if key.endswith(".factory") else value
    if key != "results" and Path(path).exists():
        return
    what = ("the outputs would go to a folder so named, beside any" if key == "results"
            else "no path is so named, and it does not mean")
    raise ConfigError(f"{key}: {value!r} has a space before or after it (a quoted value keeps it): {what} "
                      f"{value.strip()!r}; write the path without it")


def check_finite_numbers(config: Mapping[str, Any], key: str = "") -> None:
    """Every number is finite: YAML's ``.inf``/``.nan`` pass the schema's bounds (NaN compares false)."""
    if isinstance(config, Mapping):
        for name, value in config.items():
            check_finite_numbers(value, f"{key}.{name}" if key else str(name))
    elif isinstance(config, (list, tuple)):
        for i, value in enumerate(config):
            check_finite_numbers(value, f"{key}[{i}]")
    elif isinstance(config, float) and not math.isfinite(config):
        raise ConfigError(f"{key}: {config!r} is not a finite number")


def canonical_results(results: str, cwd: str | Path | None = None) -> str:
    """The ``results`` folder spelt one way: the folder it names (links and ``..`` resolved as the kernel does),
    relative to the working folder ``cwd`` (default: the current one) where it lies inside it, else absolute.

    Snakemake keeps its records of each output (parameters, code, software) under the path as the rule spells it: a
    folder named ``results`` by one run and ``/home/me/study/results`` (or ``./results``, or through a link) by the
    next would have no records for the second, which then sees a changed parameter as nothing to do. The working
    folder itself is spelt absolute: ``./x`` paths are warned of at every output.
    """
    here = Path(os.path.realpath(cwd or os.getcwd()))
    folder = Path(os.path.realpath(here / str(results)))
    if folder != here and folder.is_relative_to(here):
        return folder.relative_to(here).as_posix()
    return folder.as_posix()


def check_results_folder(config: Mapping[str, Any]) -> None:
    """``results`` is a folder of its own: not empty, not the filesystem root, neither a file nor below one,
    and writable (``~`` is expanded by :func:`check_config` / :func:`resolve`: checked as the workflow uses it).

    Nothing is made here: the nearest existing folder is asked with :func:`os.access`, which also
    answers no on a read-only file system.
    """
    results = str(config.get("results", ""))
    if not results.strip():
        raise ConfigError("results: empty; name the folder that holds every output (e.g. results)")
    resolved = Path(results).resolve()
    if resolved == Path(resolved.anchor):
        raise ConfigError(f"results: {results!r} is the filesystem root; name a folder of its own (e.g. results)")
    # the nearest existing path: a file there would fail the first output's folder, deep in Snakemake
    existing = next(p for p in (resolved, *resolved.parents) if p.exists())
    if not existing.is_dir():
        where = "is a file" if existing == resolved else f"lies below the file {existing}"
        raise ConfigError(f"results: {results!r} {where}; name a folder (it is made if missing)")
    # writing a folder's entries needs write and search permission on it; else the first job fails
    # with a raw OSError (read-only file system, permission denied) that names no key
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "" if existing == resolved else f" (its nearest existing folder, {existing}, cannot be written into)"
        raise ConfigError(f"results: {results!r} cannot be written{where}: a read-only file system or no write "
                          "permission; name a folder you can write")


#: Snakemake options under which it runs no job, so writes nothing into the results folder (argparse also takes a
#: long option's unambiguous start: `--unl`)
READ_ONLY_OPTIONS = ("--dry-run", "--dryrun", "--unlock", "--lint", "--summary", "--detailed-summary", "--dag",
                     "--rulegraph", "--filegraph", "--d3dag", "--list-changes", "--lc", "--list-code-changes",
                     "--list-input-changes", "--list-params-changes", "--list-untracked", "--list-rules", "--list",
                     "--list-target-rules", "--containerize", "--archive", "--cleanup-metadata", "--print-compilation",
                     "--generate-unit-tests", "--conda-create-envs-only")
#: short forms of some of them
READ_ONLY_SHORT = ("-n", "-S", "-D", "-l", "-lt")
#: Snakemake's short options that take no value: a cluster of them (`-np`) may hold `-n`
NO_VALUE_SHORT = set("npqFfkrtTU")


def runs_jobs(argv) -> bool:
    """Whether Snakemake's command line ``argv`` may run jobs (write into the results folder): not a dry run
    (``-n``, also within ``-np``), a report of the files as they are
    (:func:`mgrfaults.evaluation.summary.report_requested`), an unlock, a lint, a summary or a listing
    (:data:`READ_ONLY_OPTIONS`)."""
    from mgrfaults.evaluation.summary import report_requested

    argv = [str(a) for a in argv]
    if report_requested(argv):
        return False
    for arg in argv:
        name = arg.split("=")[0]
        if name.startswith("--") and len(name) >= 5 and any(o.startswith(name) for o in READ_ONLY_OPTIONS):
            return False
        if arg in READ_ONLY_SHORT or (arg.startswith("-") and not arg.startswith("--") and "n" in arg[1:]
                                      and set(arg[1:]) <= NO_VALUE_SHORT):
            return False
    return True


def check_results_subfolders(results: str) -> None:
    """Every folder below an existing ``results`` folder can be written into (:func:`unwritable_subfolder`). The
    Snakefile asks it where Snakemake may run jobs (:func:`runs_jobs`): a dry run or a report writes nothing there.

    Snakemake removes a job's old outputs before it reruns the job, which needs their folder writable: a sub-folder
    made read-only (``chmod -R a-w results/tables`` to freeze published tables, ``chattr +i``) would end the first
    job that remakes a file there in Snakemake's bare traceback, the run half done.

    Parameters
    ----------
    results : str
        The ``results`` key as configured (``~`` expanded), an existing folder.

    Raises
    ------
    ConfigError
        Naming ``results``, the first such folder and the way out.
    """
    found = unwritable_subfolder(results, RESULTS_SUBFOLDERS)
    if found is None:
        return
    folder, problem = found
    why, mode = {"cannot be written into": ("no write permission, 'chattr +i' or a read-only mount", "u+w"),
                 "cannot be listed": ("no read permission", "u+rx")}[problem]
    quoted = shlex.quote(str(folder))
    raise ConfigError(f"results: {results!r}: its sub-folder {str(folder)!r} {problem} ({why}): a job that remakes "
                      "a file there would fail, for Snakemake removes the old file first; make it writable "
                      f"(chmod -R {mode} {quoted}; chattr -R -i {quoted} if made immutable) or name another results "
                      "folder")


RESULTS_SUBFOLDERS = ("benchmarks", "dataset", "faults", "features", "figures", "logs", "metrics", "models",
                      "partitions", "predictions", "report", "sweep", "tables", "training")
"""The folders the workflow writes into below ``results`` (``workflow/rules/*.smk``, the sweep's points below
``sweep``): the rest of a results folder, the project's own folder with ``results: .`` (a read-only dataset
there), no job writes into (``tests/test_config.py`` reads the rules for this list)."""


def unwritable_subfolder(top, subfolders=None) -> tuple[Path, str] | None:
    """The first folder below ``top`` (sorted, depth first) that cannot be written into or listed, and which.

    Folders alone are asked (:func:`os.access`, which also answers no on a read-only mount and for an immutable
    folder, even as root): a results folder holds thousands of files but a few hundred folders, and removing or
    replacing a file needs its folder writable, not the file. Links to folders and file systems' own folders
    (``lost+found``) are not walked: no job writes there.

    Parameters
    ----------
    top : str or Path
        An existing folder.
    subfolders : collection of str, optional
        The names of ``top``'s own sub-folders to walk (:data:`RESULTS_SUBFOLDERS`); all where None.

    Returns
    -------
    (Path, str) or None
        The folder, spelt below ``top``, and ``"cannot be written into"`` or ``"cannot be listed"``; ``None`` where
        every folder can be written into.
    """
    from mgrfaults.data.download import SYSTEM_FOLDERS

    stack = [Path(top)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                # a link leads out of the results (a dataset linked in, read-only): no job writes there; a file
                # system's own folder (lost+found on a disk of its own) is no job's either
                subs = sorted(Path(e.path) for e in entries
                              if e.is_dir(follow_symlinks=False) and e.name not in SYSTEM_FOLDERS)
        except FileNotFoundError:  # removed meanwhile (another run's cleanup): nothing left to write there
            continue
        except OSError:
            return folder, "cannot be listed"
        if subfolders is not None and folder == Path(top):
            subs = [sub for sub in subs if sub.name in subfolders]
        walk = []
        for sub in subs:
            if not os.access(sub, os.W_OK | os.X_OK):
                return sub, "cannot be written into"
            walk.append(sub)
        stack.extend(reversed(walk))
    return None


def check_texture_bands(config: Mapping[str, Any]) -> None:
    """MFCCs are the DCT of the mel bands: ``n_mfcc`` <= ``n_mels``, else extraction fails late with a shape error."""
    texture = (config.get("features") or {}).get("texture") or {}
    n_mfcc, n_mels = texture.get("n_mfcc"), texture.get("n_mels")
    if n_mfcc is not None and n_mels is not None and n_mfcc > n_mels:
        raise ConfigError(
            f"features.texture.n_mfcc: {n_mfcc} MFCCs from {n_mels} mel bands (features.texture.n_mels); need n_mfcc <= n_mels"
        )


def windowed_analyses(config: Mapping[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """The windowed analyses the config sets, each ``(section, window key, hop key, unit, window)``: the STFT frames
    (``features.frames``: n_fft, hop_length), the texture windows (``features.texture``: window_seconds,
    hop_seconds; not under ``variant: running``, one window per frame) and the learned systems' AF windows
    (``systems.learned``: af_window, af_hop)."""
    analyses = [("features.frames", "n_fft", "hop_length", "samples", "frame")]
    if ((config.get("features") or {}).get("texture") or {}).get("variant") != "running":
        analyses.append(("features.texture", "window_seconds", "hop_seconds", "s", "texture window"))
    analyses.append(("systems.learned", "af_window", "af_hop", "frames", "AF window"))
    return analyses


def _section(config: Mapping[str, Any], dotted: str) -> Mapping[str, Any]:
    for part in dotted.split("."):
        config = (config or {}).get(part) or {}
    return config


def check_hops_within_windows(config: Mapping[str, Any]) -> None:
    """Each windowed analysis (:func:`windowed_analyses`) hops at most its window: a longer hop leaves what lies
    between two windows unanalysed, without a word (``features.frames: {n_fft: 256, hop_length: 4096}`` covered
    6 % of the audio)."""
    for section, window_key, hop_key, unit, what in windowed_analyses(config):
        values = _section(config, section)
        window, hop = values.get(window_key), values.get(hop_key)
        if window is None or hop is None or hop <= window:
            continue
        article = "an" if what[0] in "AEIOUaeiou" else "a"
        raise ConfigError(f"{section}.{hop_key}: {hop} {unit} from one {what}'s start to the next, more than "
                          f"{article} {what}'s length ({section}.{window_key}: {window} {unit}): {hop - window:g} {unit} "
                          f"of every {hop:g} "
                          f"lie between two {what}s and are never analysed ({100 * window / hop:.0f} % covered); set "
                          f"{section}.{hop_key} at most {section}.{window_key}")


def check_texture_geometry(config: Mapping[str, Any]) -> None:
    """A texture window holds a whole frame wherever it starts (:func:`mgrfaults.features.extract.texture_bounds`):
    checked on the config, before any job, not by the feature stage after the data, fault and partition jobs."""
    from mgrfaults.errors import InputError
    from mgrfaults.features.extract import texture_bounds

    features = config.get("features") or {}
    frames, texture = features.get("frames") or {}, features.get("texture") or {}
    values = dict(sample_rate=(config.get("dataset") or {}).get("sample_rate"), n_fft=frames.get("n_fft"),
                  hop_length=frames.get("hop_length"), window_seconds=texture.get("window_seconds"),
                  hop_seconds=texture.get("hop_seconds"))
    if None in values.values():
        return
    try:
        texture_bounds(0, **values)
    except InputError as e:
        raise ConfigError(str(e)) from e


def check_evaluate_names(config: Mapping[str, Any]) -> None:
    """``evaluate.compare`` names configured conditions, ``evaluate.figure_of_merit`` systems of ``systems.run``.

    An absent name would silently leave that output unmade. ``compare: []`` (no difference table) is refused
    beside ``sweep.enabled``, whose every table is that difference.
    """
    evaluate = config.get("evaluate") or {}
    conditions = list((config.get("partitions") or {}).get("conditions") or {})
    compare = list(evaluate.get("compare") or [])
    if len(compare) == 1:
        raise ConfigError(f"evaluate.compare: {compare} names one condition; the difference table needs two "
                          "(first - second), or write `compare: []` for a study without one")
    absent = [c for c in compare if c not in conditions]
    if absent:
        raise ConfigError(f"evaluate.compare: condition(s) {absent} are not in partitions.conditions {conditions}; "
                          "name two of them, or write `compare: []` for a study without a difference table")
    if (config.get("sweep") or {}).get("enabled") and not compare:
        raise ConfigError("evaluate.compare: [] but sweep.enabled: the sweep measures the difference between the "
                          "two compared conditions at each confound strength; name two conditions")
    systems = list((config.get("systems") or {}).get("run") or [])
    systems += list((config.get("systems") or {}).get("custom") or {})  # your own systems are run too
    absent = [s for s in evaluate.get("figure_of_merit") or [] if s not in systems]
    if absent:
        raise ConfigError(
            f"evaluate.figure_of_merit: system(s) {absent} are not in systems.run or systems.custom {systems}; "
            "list only systems that are run"
        )


def check_annotations_artist(config: Mapping[str, Any]) -> None:
    """A directory dataset's annotations read, with no unknown fault, and give an artist column when a condition
    filters by artist, and ``check_artists: true`` has artists to check.

    Without annotations every excerpt counts as its own artist: ``artist_filtered`` still runs (README:
    it then cannot filter by artist, and the report says so), but a published condition's explicit
    ``check_artists: true`` (the schema's default is false) would pass without checking anything. What needs the
    dataset's ids (a ``replica_of`` naming no excerpt) is checked by the data stage, after the audio is scanned.
    """
    dataset = config.get("dataset") or {}
    annotations = (dataset.get("directory") or {}).get("annotations")
    if dataset.get("source") != "directory":
        return
    if not annotations:
        for name, cond in ((config.get("partitions") or {}).get("conditions") or {}).items():
            if cond.get("method") == "published" and cond.get("check_artists"):
                raise ConfigError(
                    f"partitions.conditions.{name}.check_artists: true, but the directory dataset has no "
                    "annotations (dataset.directory.annotations), so every excerpt counts as its own artist and "
                    "there is nothing to check; give an annotations CSV with an artist column, or set "
                    "check_artists: false")
        return
    filtering = [
        name
        for name, cond in ((config.get("partitions") or {}).get("conditions") or {}).items()
        if str(cond.get("method", "")).startswith("artist_filtered") or cond.get("check_artists")
    ]
    from mgrfaults.data.annotations import NO_ARTIST_ADVICE, read_annotations
    from mgrfaults.data.dataset import check_fault_values
    from mgrfaults.errors import InputError

    used_by = f" (used by partitions.conditions.{filtering[0]})" if filtering else ""
    try:
        table = read_annotations(annotations, require_artist=bool(filtering))
        check_fault_values(table, annotations)  # before the audio is scanned, not after
    except InputError as e:
        raise ConfigError(f"dataset.directory.annotations{used_by}: {e}") from e
    if filtering and not (table["artist"] != "").any():  # every excerpt its own artist: the filter would filter nothing
        raise ConfigError(f"dataset.directory.annotations: {annotations} names no artist (no rows, or every artist "
                          f"cell empty or unknown), but partitions.conditions.{filtering[0]} filters by artist; "
                          f"fill in the artists, or {NO_ARTIST_ADVICE}")


def check_input_paths(config: Mapping[str, Any]) -> None:
    """Local input paths named in the config exist: a typo fails here, naming the key, not as a missing rule input.

    The audio root is :func:`check_audio_root`'s (it also refuses an empty folder).
    """
    dataset = config.get("dataset") or {}
    source = dataset.get("source")
    keys = []
    if source in ("directory", "gtzan"):
        section = dataset.get(source) or {}
        for name in ("annotations", "index", "partition_lists"):
            if section.get(name) and "://" not in str(section[name]):
                keys.append((f"dataset.{source}.{name}", section[name]))
    for name, cond in ((config.get("partitions") or {}).get("conditions") or {}).items():
        if cond.get("method") == "published" and cond.get("lists"):
            keys.append((f"partitions.conditions.{name}.lists", cond["lists"]))
    for name, spec in ((config.get("systems") or {}).get("custom") or {}).items():
        keys += [(f"systems.custom.{name}.files[{i}]", f) for i, f in enumerate((spec or {}).get("files") or [])]
    for key, value in keys:
        if not Path(value).exists():
            raise ConfigError(f"{key}: {value!r} does not exist")
    if source == "gtzan" and (index := (dataset.get("gtzan") or {}).get("index")) and "://" not in str(index):
        if Path(index).is_dir():  # else only the fetch job, after the whole copy is scanned, says so (audit 49)
            raise ConfigError(f"dataset.gtzan.index: {index!r} is a folder: name Sturm's index file in it "
                              "(GTZANindex.txt)")
    if source == "gtzan":
        check_gtzan_partition_lists(dataset["gtzan"].get("partition_lists"))


def check_gtzan_partition_lists(folder) -> None:
    """A local ``dataset.gtzan.partition_lists`` folder holds the six lists the data stage copies.

    The data stage fetches all six ({train,valid,test}_{filtered,stratified}.txt) whichever set the
    conditions read; a missing one would fail only after the whole copy is scanned. None (fetched) and
    URLs pass.
    """
    if not folder or "://" in str(folder):
        return
    key = "dataset.gtzan.partition_lists"
    if not Path(folder).is_dir():
        raise ConfigError(f"{key}: {folder!r} is not a folder; give the folder of "
                          "{train,valid,test}_{filtered,stratified}.txt, or null to fetch them")
    names = [f"{part}_{kind}.txt" for kind in GTZAN_LIST_SETS for part in PARTS]
    missing = [name for name in names if not (Path(folder) / name).is_file()]
    if missing:
        raise ConfigError(f"{key}: {folder!r} lacks {', '.join(missing)}; the data stage copies all six "
                          "{train,valid,test}_{filtered,stratified}.txt (GTZAN's published lists), "
                          "or set it to null to fetch them")


def check_published_lists(config: Mapping[str, Any]) -> None:
    """A published condition's lists exist: its own ``lists`` folder holds its three lists (after
    :func:`check_input_paths`: a folder that does not exist is named as such first); ``lists: null``
    (GTZAN's own lists, which the data stage fetches) needs ``dataset.source: gtzan`` and a ``set``
    GTZAN publishes (:data:`GTZAN_LIST_SETS`)."""
    from mgrfaults.data.annotations import partition_list_paths

    source = (config.get("dataset") or {}).get("source")
    for name, cond in ((config.get("partitions") or {}).get("conditions") or {}).items():
        if cond.get("method") != "published":
            continue
        key = f"partitions.conditions.{name}"
        if not cond.get("lists"):
            if source != "gtzan":
                raise ConfigError(f"{key}.lists: null reads GTZAN's published lists, which apply to GTZAN only, but "
                                  f"dataset.source is {source!r}; give the folder of your own "
                                  "{train,valid,test}_<set>.txt lists")
            if cond.get("set") is not None and cond["set"] not in GTZAN_LIST_SETS:
                raise ConfigError(f"{key}.set: {cond['set']!r}, but GTZAN publishes only the sets "
                                  f"{' and '.join(GTZAN_LIST_SETS)} (lists: null); give {key}.lists, the folder "
                                  f"of your own {{train,valid,test}}_{cond['set']}.txt, or set one of those")
        elif cond.get("set"):
            missing = [p.name for p in partition_list_paths(Path(cond["lists"]), cond["set"]).values()
                       if not p.is_file()]
            if missing:
                raise ConfigError(f"partitions.conditions.{name}.lists: {cond['lists']!r} lacks {', '.join(missing)} "
                                  f"(a published condition reads train_, valid_ and test_<set>.txt; set: {cond['set']!r})")


def check_table_names(config: Mapping[str, Any]) -> None:
    """Condition and custom-system names read back from a CSV as themselves (:func:`mgrfaults.io.csv_reads_back`).

    They are written into every results table; ``NA``, ``None``, ``null`` or ``nan`` would come back as a missing
    value and ``2014`` as a number, so a run would fail after its training, or a table silently lose rows.
    """
    from mgrfaults.io import csv_reads_back

    named = [("partitions.conditions", name) for name in (config.get("partitions") or {}).get("conditions") or {}]
    named += [("systems.custom", name) for name in (config.get("systems") or {}).get("custom") or {}]
    for key, name in named:
        if isinstance(name, bool) or name is None:
            # YAML 1.1 reads no, yes, on, off and ~ as booleans and null before any check sees them (audit 49: the
            # message named `partitions.conditions.False` for `no:`)
            raise ConfigError(f"{key}.{name}: YAML read this name as {name!r}, not as text (it reads no, yes, on, "
                              "off, true and false as booleans, null and ~ as nothing): quote it ('no') or rename it")
        if not csv_reads_back(str(name)):
            raise ConfigError(f"{key}.{name}: a table reader takes this name for a number, a boolean or a missing "
                              "value (NA, None, null, nan), so it would stop matching itself in the results' tables; "
                              "rename it, e.g. with a letter first")


def check_names_differ_beyond_case(config: Mapping[str, Any]) -> None:
    """Condition names, and system names (``systems.run`` and ``systems.custom`` together), differ in more
    than case: each names folders (``partitions/<condition>``, ``predictions/<system>``), and on a
    case-blind file system (macOS, Windows) ``Standard`` and ``standard`` are one folder, their jobs
    writing the same files. Names equal exactly are refused elsewhere (the schema: ``systems.run`` items are
    unique, conditions are mapping keys; :func:`mgrfaults.systems.custom.custom_system_specs`: a custom system
    named as one of ``systems.run``)."""
    systems = config.get("systems") or {}
    conditions = (config.get("partitions") or {}).get("conditions") or {}
    groups = {
        "partitions.conditions": [(f"partitions.conditions.{n}", n) for n in conditions],
        "systems": [(f"systems.run ({n})", n) for n in systems.get("run") or []]
                   + [(f"systems.custom.{n}", n) for n in systems.get("custom") or {}],
    }
    for what, named in groups.items():
        seen: dict[str, tuple[str, str]] = {}
        for key, name in named:
            first = seen.setdefault(str(name).casefold(), (key, str(name)))
            if first[1] != str(name):
                raise ConfigError(f"{first[0]} and {key}: {first[1]!r} and {name!r} differ only in case; on a "
                                  "case-blind file system (macOS, Windows) they would share one folder and "
                                  f"overwrite each other's outputs; rename one of the {what}")


def smallest_bootstrap(confidence: float) -> int:
    """The fewest bootstrap resamples whose ``confidence`` interval has a resample in each tail.

    Each tail holds ``(1 - confidence) / 2`` of the resamples, so ``n >= 2 / (1 - confidence)``
    (40 at 95 %); with fewer, a percentile bound is an extreme resample or both bounds are the same one.
    """
    # the tolerance: 2 / (1 - 0.9) is 20.000000000000004 in floating point, and 20 suffices
    return math.ceil(2.0 / (1.0 - float(confidence)) - 1e-9)


def check_bootstrap_resamples(config: Mapping[str, Any]) -> None:
    """``evaluate.bootstrap`` is 0 (no intervals) or enough resamples for ``evaluate.confidence``.

    One resample gave a "95 % interval" of ``[66.7, 66.7]`` around a mean of 83.3: a degenerate
    interval printed as a real one.
    """
    evaluate = config.get("evaluate") or {}
    n, confidence = evaluate.get("bootstrap"), evaluate.get("confidence")
    if not n or confidence is None:
        return
    smallest = smallest_bootstrap(confidence)
    if n < smallest:
        raise ConfigError(
            f"evaluate.bootstrap: {n} resample(s) cannot give a {float(confidence):g} interval "
            f"(evaluate.confidence): each tail holds {(1 - float(confidence)) / 2:.3g} of the resamples, so fewer "
            f"than {smallest} leave a tail without one and the interval is not the one printed; set "
            f"evaluate.bootstrap to at least {smallest} (or 0: no intervals), or lower evaluate.confidence")


def suggested_layer_values(values: list, n: int) -> list:
    """``values`` stretched or cut to ``n`` entries: the first and last kept (the spectrum's input, the
    softmax's input), the second repeated between them (the hidden layers' inputs)."""
    values = [float(v) for v in values] or [1.0]
    if n == 1:
        return values[:1]
    middle = values[1] if len(values) > 2 else values[0]
    return [values[0]] + [middle] * (n - 2) + [values[-1]]


def check_dropout_lengths(config: Mapping[str, Any]) -> None:
    """Each dropout variant a run trains gives one ``keep_probs`` (and ``input_scales``, when not null) value
    per layer input, ``systems.dnn.hidden_layers + 1``; else every net of it fails in ``train_net``, after
    the data, feature and partition jobs (:class:`mgrfaults.systems.dnn.MLP`).

    The variants checked are those of the dropout nets (RSD, SD) behind ``systems.run``, learned-feature
    systems included (a net without dropout trains with every keep probability 1.0, whatever the
    variant says), with ``systems.dnn.job_script`` or ``head`` laid over them under ``settings: job_script`` or
    ``head``. A name outside the grammar is left
    to :func:`mgrfaults.systems.names.resolve_systems`, which names it.
    """
    from mgrfaults.systems.names import SystemNameError, parse_system, training_settings

    systems = config.get("systems") or {}
    dnn = complete_dnn_variants(systems.get("dnn") or {})
    n_hidden = int(dnn["hidden_layers"])
    users: dict[str, list[str]] = {}  # variant -> the systems that train a net of it
    specs = {}
    for name in systems.get("run") or []:
        try:
            spec = parse_system(name, n_hidden)
        except SystemNameError:
            continue
        if spec.kind == "dnn" and spec.dropout:  # a net without dropout trains with every keep 1.0, any length
            users.setdefault(spec.variant, []).append(str(name))
            specs.setdefault(spec.variant, spec)
    overlay = dnn.get("settings") if dnn.get("settings") in SETTINGS_OVERLAYS else None
    overlaid = (dnn.get(overlay) or {}) if overlay else {}
    for variant, spec in specs.items():
        settings = training_settings(dnn, spec)
        # both lists named at once: a fixed keep_probs must not be followed by a second refusal
        wrong = {field: settings[field] for field in ("keep_probs", "input_scales")
                 if settings.get(field) is not None and len(settings[field]) != n_hidden + 1}
        if wrong:
            keys = [f"systems.dnn.{overlay if f in (overlaid.get(variant) or {}) else 'variants'}.{variant}.{f}: "
                    f"{len(v)} value(s) {list(v)}" for f, v in wrong.items()]
            fixes = [f"{f}: {suggested_layer_values(v, n_hidden + 1)}" for f, v in wrong.items()]
            raise ConfigError(
                f"{'; '.join(keys)}; but systems.dnn.hidden_layers: {n_hidden} needs {n_hidden + 1}, one per layer "
                f"input (the spectrum, then each hidden layer's output); used by {', '.join(users[variant])}; "
                f"write e.g. {', '.join(fixes)}")


def check_dataset_keys_are_used(config: Mapping[str, Any]) -> None:
    """Refuse dataset keys the run would ignore without a word.

    ``dataset.directory.root`` (or ``annotations``) or ``dataset.gtzan.root`` (or ``partial``) given under another
    ``dataset.source`` (the synthetic default runs instead of your data), ``dataset.trust_audio`` under the
    synthetic source, ``dataset.gtzan.partial`` without a local
    copy to be part of, and under a synthetic ``preset`` other than ``default`` an
    ``n_per_genre`` or ``duration`` other than the embedded configuration's (the preset sets both, and
    ``configuration.yaml`` would record the value not used).
    """
    dataset = config["dataset"]
    source = dataset["source"]
    for other, keys in (("directory", ("root", "annotations")), ("gtzan", ("root", "partial"))):
        for key in keys:
            value = (dataset.get(other) or {}).get(key)
            if other != source and value:
                raise ConfigError(f"dataset.{other}.{key}: {value!r} is given, but dataset.source is {source!r}, so it "
                                  f"would be ignored and the {source} dataset run; set dataset.source: {other} to use "
                                  f"it, or set dataset.{other}.{key}: null (on the command line: --config 'dataset={{source: {source}, "
                                  f"{other}: {{{key}: null}}}}')")
    if source == "synthetic" and dataset.get("trust_audio"):
        raise ConfigError(f"dataset.trust_audio: {list(dataset['trust_audio'])!r} is given, but dataset.source is "
                          "'synthetic': its excerpts are rendered, never judged, so the key would be ignored; it names "
                          "files of a gtzan or directory dataset")
    gtzan = dataset.get("gtzan") or {}
    if source == "gtzan" and gtzan.get("partial") and not gtzan.get("root"):
        raise ConfigError("dataset.gtzan.partial: true, but dataset.gtzan.root is null: partial says which ids a "
                          "local copy may lack, and a downloaded archive's ids are not checked; set "
                          "dataset.gtzan.root to your partial copy's folder, or leave partial out")
    synthetic = dataset.get("synthetic") or {}
    preset = synthetic.get("preset")
    if source == "synthetic" and preset in SYNTHETIC_PRESETS:
        embedded = (_embedded_default().get("dataset") or {}).get("synthetic") or {}
        defaults = {**section_defaults("dataset.synthetic"), **embedded}
        for key in ("n_per_genre", "duration"):
            if key in synthetic and synthetic[key] != defaults[key]:
                raise ConfigError(f"dataset.synthetic.{key}: {synthetic[key]!r} would be ignored: preset {preset!r} "
                                  f"makes {SYNTHETIC_PRESETS[preset][0]} excerpts of {SYNTHETIC_PRESETS[preset][1]:g} s "
                                  f"per genre; set preset: default to choose n_per_genre and duration yourself")


def check_partial_copy_lists(config: Mapping[str, Any]) -> None:
    """A partial GTZAN copy (``dataset.gtzan.partial``) beside a published condition that refuses absent listed ids
    (``on_missing: error``, the default) would stop minutes into the run: refused at start, naming the condition."""
    dataset = config["dataset"]
    if dataset["source"] != "gtzan" or not (dataset.get("gtzan") or {}).get("partial"):
        return
    strict = [name for name, cond in config["partitions"]["conditions"].items()
              if cond.get("method") == "published" and complete_condition(cond).get("on_missing") == "error"]
    if strict:
        raise ConfigError(f"partitions.conditions.{strict[0]}.on_missing: error, but dataset.gtzan.partial is true: the "
                          "study's lists name excerpts a partial copy lacks, and the condition would stop at them; set "
                          f"on_missing: drop in {', '.join(strict)} (the lists restricted to the excerpts present), or "
                          "set those conditions to null")


def check_detected_fault_kinds(config: Mapping[str, Any]) -> None:
    """A condition whose faults come from the audio alone (``faults: detected``) cannot remove mislabelings: the
    detectors find replicas and distortions, a label's truth is not in the audio. ``remove_faults: [mislabel]``
    there removed nothing, without a word: refused at start, naming the condition and the ways out."""
    for name, cond in config["partitions"]["conditions"].items():
        if not cond:
            continue
        cond = complete_condition(cond)
        if cond.get("faults") == "detected" and "mislabel" in (cond.get("remove_faults") or []):
            raise ConfigError(f"partitions.conditions.{name}.remove_faults: names mislabel, but its faults come from "
                              "the audio alone (faults: detected), which shows replicas and distortions, never a wrong "
                              "label: the condition would remove no mislabeled excerpt; set faults: both (the "
                              "annotations' mislabels with the faults detected) or annotated, or leave mislabel out")


START_PLAN_LIMIT = 100
"""Excerpts per genre up to which the start plans the synthetic dataset to check its fault rates (GTZAN's size,
100: 0.07 s; the placing grows with the square of the size: at 3000 a dry run took 11.8 s, 1.6 s without it, and every run pays it)."""


def check_synthetic_faults_fit(config: Mapping[str, Any]) -> None:
    """The synthetic dataset's fault rates can all be placed (:func:`mgrfaults.data.synth.plan_dataset` refuses them
    otherwise): planned here as the data job plans it, same seed (tens of milliseconds, nothing rendered), so that
    ``check-config`` and the run's start say so, not the data job minutes in."""
    if config["dataset"]["source"] != "synthetic":
        return
    synthetic = resolve_dataset(config["dataset"]).synthetic
    if synthetic.n_per_genre > START_PLAN_LIMIT:  # the data job refuses a larger one, minutes later
        return
    from mgrfaults.data.synth import plan_dataset
    from mgrfaults.errors import InputError

    try:
        plan_dataset(**synthetic.plan_args(), seed=int(config["seed"]), sample_rate=int(config["dataset"]["sample_rate"]))
    except InputError as e:
        raise ConfigError(str(e)) from None


def check_sweep_source(config: Mapping[str, Any]) -> None:
    """``sweep.enabled`` varies the synthetic dataset's confound strength: refused on another ``dataset.source``."""
    if (config.get("sweep") or {}).get("enabled") and config["dataset"]["source"] != "synthetic":
        raise ConfigError(f"sweep.enabled: the confound sweep varies the synthetic dataset's confound strength, and "
                          f"dataset.source is {config['dataset']['source']!r}; set dataset.source: synthetic, or "
                          "sweep.enabled: false")


def check_sweep_strengths(config: Mapping[str, Any]) -> None:
    """``sweep.strengths`` equal to 6 significant digits (0.5 and 0.5000001): one folder and rule name for both."""
    strengths = (config.get("sweep") or {}).get("strengths") or []
    labels = [f"{float(s):g}" for s in strengths]
    if twice := sorted({label for label in labels if labels.count(label) > 1}):
        raise ConfigError(f"sweep.strengths: {list(strengths)} repeat {twice} (strengths are told apart to 6 "
                          "significant digits: a point's folder and rule are named by them); give each once")


BAD_INPUT_CHECKS = (
    check_dataset_keys_are_used,
    check_partial_copy_lists,
    check_sweep_source,
    check_sweep_strengths,
    check_input_paths,
    check_table_names,
    check_names_differ_beyond_case,
    check_published_lists,
    check_finite_numbers,
    check_results_folder,
    check_texture_bands,
    check_hops_within_windows,
    check_detected_fault_kinds,
    check_synthetic_faults_fit,
    check_texture_geometry,
    check_evaluate_names,
    check_bootstrap_resamples,
    check_dropout_lengths,
    check_annotations_artist,
)


def check_audio_root(source: str, root, extensions=None) -> None:
    """Raise :class:`ConfigError` naming ``dataset.<source>.root`` when a given root is missing or empty, or (a
    folder dataset's, its audio of ``extensions``) holds audio files and no folder: one genre's folder, not theirs.

    Checked when the workflow is parsed, so that a wrong root stops the run before any job, instead of
    the later stages running on another dataset's leftovers. ``None`` (GTZAN: download it) passes.
    """
    if root is None:
        return
    key = f"dataset.{source}.root"
    folder = Path(root)
    if not str(root).strip():
        raise ConfigError(f"{key}: is empty; give the audio folder, or null to download GTZAN")
    if not folder.is_dir():
        raise ConfigError(f"{key}: {root} is not a folder (from {Path.cwd()}); "
                          "give the folder that holds <genre>/<name>.<ext> audio")
    if not any(folder.iterdir()):
        raise ConfigError(f"{key}: {root} is an empty folder; give the folder that holds <genre>/<name>.<ext> audio")
    if source == "directory":
        from mgrfaults.data.download import AUDIO_EXTENSIONS, audio_suffixes

        suffixes = audio_suffixes(extensions or AUDIO_EXTENSIONS)
        with contextlib.suppress(OSError):  # an unreadable entry: the scan names it
            entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
            audio = [p.name for p in entries if p.suffix.lower() in suffixes and p.is_file()]
            if audio and not any(p.is_dir() for p in entries):
                # else the scan job fails on "no audio files in <genre>/ folders", after warning of loose files
                # (audit 49)
                raise ConfigError(f"{key}: {root} holds audio files ({len(audio)}, e.g. {audio[0]!r}) and no genre "
                                  "folder: a directory dataset's genres are its <genre>/ folders (an annotations "
                                  "table gives none); if this is one genre's folder, set "
                                  f"{key} to the folder that holds the genre folders ({folder.absolute().parent}?), "
                                  "else move each file into its genre's folder, <genre>/<name>.<ext>")
