"""Reading parameter files: YAML with documented leaves, strict validation, one-line errors.

Every scenario and policy file is YAML. A numeric parameter is written as a *documented
leaf*::

    noise_sd: {value: 0.75, unit: SD of true performance, source: "Viswesvaran et al. 1996"}

``unit`` and ``source`` are required (``source`` is a citation or the word ``assumption``);
an optional ``note`` may explain the choice. :func:`unwrap` strips the leaves to plain
values and keeps their documentation in a side table keyed by dotted path, so the typed
records stay plain and the provenance stays inspectable. Strings, booleans and dates may be
written bare or as documented leaves. A value may be *dated*: ``{values: {2014-01-01: 0.6,
2020-01-01: 0.7}, unit: ..., source: ...}`` holds the value in force from each date on;
:func:`unwrap` keeps the one in force on the run's start date (``on``).

Every parameter is declared once, with its default, in the parameter tree
(``data/parameters/``, :mod:`simlib.params.tree`); a file's numbers are laid over it there.
A file may say what it is with a top-level ``kind:`` (``scenario``, ``policy``, ``variant``,
...); :func:`take_kind` checks and removes it, so a policy given where a scenario is read is
one line, not a list of missing keys.

Records are pydantic v2 models that are frozen, reject unknown keys, do no type coercion
(``"3"`` is not a number) and refuse NaN and infinity. :func:`validate` turns a pydantic
error into a :class:`~simlib.core.errors.ConfigError` that names the file, the field path, the
bad value and what is allowed.

A file may be a *delta* on another: :func:`merge_delta` lays the child's tree over its
parent's. Mappings merge key by key; lists and other values replace whole (a keyed list,
such as a scenario's ``agencies`` by ``name``, merges an item into the parent's item of the
same name). Over a documented leaf of the parent, a bare value equal to the parent's value
inherits its unit and source; a bare number that *changes* the value is refused: a changed
value names its source (``{value: 0.3, source: assumption}``; the unit may be left out and
is inherited).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from simlib.core.errors import ConfigError

__all__ = [
    "FILE_KINDS",
    "LEAF_KEYS",
    "Documented",
    "FromFile",
    "Record",
    "merge_delta",
    "read_yaml",
    "record_from_dict",
    "reject_reserved",
    "require_documented",
    "require_unique",
    "take_kind",
    "unwrap",
    "validate",
]

LEAF_KEYS = frozenset({"value", "values", "unit", "source", "note"})
#: Every ``kind:`` a file may give, with the words messages use for it. ``calibration`` is
#: also accepted as ``calibration-targets``.
FILE_KINDS = {
    "scenario": "scenario",
    "policy": "policy",
    "variant": "policy variant",
    "experiment": "experiment",
    "training": "training plan",
    "campaign": "campaign",
    "calibration": "calibration targets",
    "parameters": "parameter tree",
}
KIND_ALIASES = {"calibration-targets": "calibration"}
#: The kind of file each record is read from (by the record's class name: this module is
#: below the records and does not import them).
RECORD_KINDS = {
    "Scenario": "scenario",
    "Policy": "policy",
    "Experiment": "experiment",
    "TrainingPlan": "training",
    "Campaign": "campaign",
    "TargetFile": "calibration",
}
#: Record fields filled by the loader, not by files.
RESERVED = frozenset({"source_file", "docs"})

M = TypeVar("M", bound=BaseModel)


class FromFile:
    """Mixin for records read from a file: paths written in the file resolve from its folder.

    The record has a ``source_file`` field (empty when built in code: the project root).
    """

    source_file: str
    #: What the file is called in messages ("a path relative to the scenario file").
    file_kind: ClassVar[str] = "input"

    @property
    def directory(self) -> Path:
        """Folder of the file; relative paths inside it resolve from here."""
        from simlib.core.paths import ROOT

        return Path(self.source_file).parent if self.source_file else ROOT

    def resolve(self, relative: str) -> Path:
        """Resolve a path written in the file."""
        path = Path(relative)
        return path if path.is_absolute() else (self.directory / path).resolve()

    def existing(
        self, relative: str, what: str, *, field: str, file: str | Path | None = None
    ) -> Path:
        """Resolve a path written in the file, or say which field names a missing file.

        ``file`` is the file named in the message (default: this record's own file).
        """
        target = self.resolve(relative)
        if not target.is_file():
            raise ConfigError(
                f"{relative!r}: {what} not found ({target}); allowed: a path to an existing "
                f"file, relative to the {self.file_kind} file",
                file=file if file is not None else (self.source_file or None),
                path=field,
            )
        return target


def require_unique(names: list[str], what: str) -> None:
    """Raise ``ValueError`` naming the first repeated name (for record validators)."""
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"repeated {what} {dupes[0]!r}; allowed: unique names")


class Record(BaseModel):
    """Base of every parameter record: frozen, strict, no unknown keys, no NaN."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        validate_default=True,
    )


@dataclass(frozen=True, slots=True)
class Documented:
    """The unit and source of one parameter, as written in its file (or in the tree).

    ``status`` (V, P, M or S) and ``range`` (low, high) come from the parameter tree when
    the value is the tree's (or lies inside the tree's range); ``effective`` is the date
    from which a dated value is in force.
    """

    unit: str
    source: str
    note: str = ""
    status: str = ""
    range: tuple[float, float] | None = None
    effective: dt.date | None = None


#: Largest input file read (bytes). Parameter files are a few KB; a bigger one is a mistake.
MAX_FILE_BYTES = 5_000_000
#: Deepest nesting of mappings and lists in an input file (the shipped files use 6).
MAX_DEPTH = 40


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with a strict ``yaml.SafeLoader``.

    Anchors and aliases (``&name``, ``*name``) are refused, as are keys given twice,
    nesting deeper than :data:`MAX_DEPTH` and files over :data:`MAX_FILE_BYTES`: an input
    file is read in bounded time and memory (no "billion laughs" alias bomb).

    Raises
    ------
    ConfigError
        If the file is missing, a folder, unreadable, too large, not valid YAML, uses
        anchors or aliases, nests too deep, or is not a mapping.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError("is a folder, not a file; allowed: a YAML file", file=path)
    if not path.is_file():
        raise ConfigError("file not found", file=path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(
                f"the file has {size:,} bytes; allowed: at most {MAX_FILE_BYTES:,}", file=path
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file ({exc.__class__.__name__})", file=path) from exc
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.reader.ReaderError as exc:
        raise ConfigError(
            f"malformed YAML: character #x{exc.character:04x} is not allowed (at character "
            f"{exc.position}); allowed: printable text",
            file=path,
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        # The syntax is broken (scanner, parser), or a value is refused (composer, constructor).
        syntax = isinstance(exc, yaml.scanner.ScannerError | yaml.parser.ParserError)
        message = f"malformed YAML: {problem}" if syntax else problem
        raise ConfigError(message, file=path, path=where) from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"expected a mapping of keys to values at the top level, got {type(data).__name__}",
            file=path,
        )
    return data


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses repeated keys, anchors, aliases and deep nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"anchor or alias {event.anchor!r}; allowed: every value written out "
                "(anchors and aliases are not accepted in input files)",
                event.start_mark,
            )
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"nested more than {MAX_DEPTH} levels deep; allowed: at most {MAX_DEPTH}",
                event.start_mark,
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"{node.value!r} is not a calendar date ({exc}); allowed: a real date "
                "written YYYY-MM-DD",
                node.start_mark,
            ) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r}; allowed: each key once",
                    key_node.start_mark,
                )
            seen.add(key) if isinstance(key, str | int | float | bool) else None
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)


def unwrap(
    data: Any, *, prefix: str = "", on: dt.date | None = None
) -> tuple[Any, dict[str, Documented], list[str]]:
    """Strip documented leaves to plain values.

    Parameters
    ----------
    data
        A tree of mappings, lists and scalars as read from YAML.
    prefix
        Dotted path of ``data`` inside its file, for error messages.
    on
        The run's start date: a dated leaf (``values: {date: value, ...}``) gives the value
        in force on it. Without a date, the latest value.

    Returns
    -------
    plain, docs, bare
        The tree with leaves replaced by their values (lists become tuples); the
        documentation of each documented leaf keyed by dotted path; and the paths of
        numbers written bare, without unit and source (see :func:`require_documented`).
    """
    docs: dict[str, Documented] = {}
    bare: list[str] = []
    plain = _unwrap(data, prefix, docs, bare, on)
    return plain, docs, bare


def take_kind(
    raw: dict[str, Any], expected: str | tuple[str, ...], *, file: str | Path | None
) -> dict[str, Any]:
    """``raw`` without its ``kind:`` field, or a one-line error if it names another kind.

    Parameters
    ----------
    raw
        A file's mapping as read from YAML.
    expected
        The kind (or kinds) the reader reads, keys of :data:`FILE_KINDS`.
    file
        The file, named in the error.
    """
    if "kind" not in raw:
        return raw
    kinds = (expected,) if isinstance(expected, str) else expected
    given = raw["kind"]
    kind = KIND_ALIASES.get(given, given) if isinstance(given, str) else given
    if kind not in kinds:
        shown = {v: k for k, v in KIND_ALIASES.items()}
        wanted = " or ".join(f"a {FILE_KINDS[k]} file (kind: {shown.get(k, k)})" for k in kinds)
        if kind in FILE_KINDS:
            problem = f"{given!r}: this is {_a(FILE_KINDS[kind])} file"
        else:
            problem = f"{_show(given)} is not a kind of file ({', '.join(FILE_KINDS)})"
        raise ConfigError(
            f"{problem}; allowed here: {wanted}, or no 'kind'", file=file, path="kind"
        )
    return {k: v for k, v in raw.items() if k != "kind"}


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def record_from_dict(
    model: type[M],
    raw: dict[str, Any],
    *,
    file: str | Path | None,
    on: dt.date | None = None,
    document: Callable[[dict[str, Documented], Any], dict[str, Documented]] | None = None,
) -> M:
    """Validate a documented mapping (as read from YAML) into a record with provenance.

    Checks and removes a ``kind:`` field (:func:`take_kind`), strips the ``{value, unit,
    source}`` leaves (dated ones at ``on``), refuses reserved keys, validates, checks that
    every number is documented, and fills ``source_file`` and ``docs`` (passed through
    ``document(docs, plain values)`` first when given: the tree adds status and range).
    """
    kind = RECORD_KINDS.get(model.__name__)
    if kind is not None:
        raw = take_kind(raw, kind, file=file)
    try:
        plain, docs, bare = unwrap(raw, on=on)
    except ConfigError as exc:
        raise exc.in_file(file) if file else exc from None
    reject_reserved(plain, model, file=file)
    plain = {**plain, "source_file": str(Path(file).resolve()) if file else ""}
    record = validate(model, plain, file=file)
    require_documented(plain, bare, file=file)
    if document is not None:
        docs = document(docs, plain)
    return record.model_copy(update={"docs": docs})


def reject_reserved(plain: dict[str, Any], model: type[BaseModel], *, file: Any) -> None:
    """Refuse keys that the loader fills in itself (``source_file``, ``docs``)."""
    for key in sorted(RESERVED & set(plain)):
        allowed = ", ".join(sorted(f for f in model.model_fields if f not in RESERVED))
        raise ConfigError(
            f"unknown key {key!r} (reserved for the loader); allowed keys: {allowed}",
            file=file,
            path=key,
        )


def require_documented(
    plain: Any, bare: list[str], *, file: str | Path | None, prefix: str = ""
) -> None:
    """Raise for the first number written without ``{value, unit, source}``.

    ``bare`` paths are dotted from the top of the file; ``plain`` is the tree found at
    ``prefix`` (the whole file when empty).
    """
    if bare:
        inside = bare[0].removeprefix(prefix).lstrip(".") if prefix else bare[0]
        value = _at(plain, inside) if inside else plain
        raise ConfigError(_undocumented(value), file=file, path=bare[0])


def _at(tree: Any, dotted: str) -> Any:
    node = tree
    for part in dotted.replace("[", ".[").split("."):
        if not part:
            continue
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    return node


def _unwrap(
    node: Any, path: str, docs: dict[str, Documented], bare: list[str], on: dt.date | None
) -> Any:
    if isinstance(node, Mapping):
        if _is_leaf(node):
            return _leaf(node, path, docs, on)
        out = {}
        for key, child in node.items():
            if not isinstance(key, str):
                raise ConfigError(f"keys must be text, got {key!r}", path=path)
            out[key] = _unwrap(child, f"{path}.{key}" if path else key, docs, bare, on)
        return out
    if isinstance(node, list):
        if node and all(_is_number(x) for x in node):
            bare.append(path)
            return tuple(_positive_zero(x) for x in node)
        return tuple(_unwrap(x, f"{path}[{i}]", docs, bare, on) for i, x in enumerate(node))
    if _is_number(node):
        bare.append(path)
        return _positive_zero(node)
    return node


def _positive_zero(x: Any) -> Any:
    """``-0.0`` as ``0.0``: it passes ``>= 0`` but numpy refuses it as a scale (``sigma < 0``)."""
    return x + 0.0 if isinstance(x, float) else x


def _leaf(node: Mapping, path: str, docs: dict[str, Documented], on: dt.date | None) -> Any:
    unknown = sorted(set(node) - LEAF_KEYS, key=str)
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in a documented parameter; "
            f"allowed keys: value (or values, by date), unit, source, note",
            path=path,
        )
    if "value" in node and "values" in node:
        raise ConfigError(
            "both 'value' and 'values'; allowed: one value, or values by date "
            "({values: {2024-01-01: ..., 2026-01-01: ...}})",
            path=path,
        )
    wanted = {
        "unit": "a non-empty text naming the unit",
        "source": "a non-empty text: a citation or the word 'assumption'",
    }
    for key, allowed in wanted.items():
        text = node.get(key)
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"'{key}' is {text!r}; allowed: {allowed}", path=f"{path}.{key}")
    note = node.get("note", "")
    if not isinstance(note, str):
        raise ConfigError(f"'note' is {note!r}; allowed: text", path=f"{path}.note")
    effective = None
    if "values" in node:
        effective, value = dated_value(node["values"], on, path=path)
    else:
        value = node["value"]
    docs[path] = Documented(
        unit=node["unit"], source=node["source"], note=note, effective=effective
    )
    # A leaf's value may itself be a list or mapping (a whole table of multipliers).
    return _unwrap(value, path, {}, [], on)


def dated_value(values: Any, on: dt.date | None, *, path: str = "") -> tuple[dt.date, Any]:
    """``(date, value)`` of the dated ``values`` in force on ``on`` (the latest without one).

    Raises
    ------
    ConfigError
        If ``values`` is not a mapping of dates to values, or no value is in force yet.
    """
    shape = "allowed: values by date, {values: {2024-01-01: ..., 2026-01-01: ...}}"
    if not isinstance(values, Mapping) or not values:
        raise ConfigError(f"'values' is {_show(values)}; {shape}", path=f"{path}.values")
    for date in values:
        if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
            raise ConfigError(
                f"{_show(date)} is not a date; {shape} (dates written YYYY-MM-DD)",
                path=f"{path}.values",
            )
    dates = sorted(values)
    if on is None:
        return dates[-1], values[dates[-1]]
    in_force = [d for d in dates if d <= on]
    if not in_force:
        raise ConfigError(
            f"no value is in force on {on.isoformat()} (the first takes effect on "
            f"{dates[0].isoformat()}); allowed: a run that starts on or after "
            f"{dates[0].isoformat()}, or a value for this run written in the file",
            path=path,
        )
    return in_force[-1], values[in_force[-1]]


def merge_delta(
    parent: Any,
    child: Any,
    *,
    file: str | Path | None,
    keyed: Mapping[str, str] | None = None,
    path: str = "",
) -> Any:
    """Lay the documented tree ``child`` over ``parent`` (both as read from YAML).

    Parameters
    ----------
    parent, child
        Documented trees (mappings, lists, scalars and ``{value, unit, source}`` leaves).
    file
        The child's file, named in errors.
    keyed
        Dotted paths of lists whose items merge by a key field, e.g. ``{"agencies":
        "name"}``: the child's list is the result, and an item whose key matches an item
        of the parent's list is merged into that item. Other lists replace whole.
    path
        Dotted path of ``child`` inside its file, for error messages.

    Returns
    -------
    dict or value
        A new tree; neither input is changed.

    Raises
    ------
    ConfigError
        If a bare number changes the value of a documented leaf, or a changed documented
        value gives no source.
    """
    keyed = keyed or {}
    if _is_leaf(parent):
        return _over_leaf(parent, child, file=file, path=path)
    if isinstance(parent, Mapping) and isinstance(child, Mapping) and not _is_leaf(child):
        out = copy.deepcopy(dict(parent))
        for key, value in child.items():
            where = f"{path}.{key}" if path else str(key)
            if key in parent:
                out[key] = merge_delta(parent[key], value, file=file, keyed=keyed, path=where)
            else:
                out[key] = copy.deepcopy(value)
        return out
    if path in keyed and isinstance(parent, list) and isinstance(child, list):
        field = keyed[path]
        by_key = {
            item[field]: item
            for item in parent
            if isinstance(item, Mapping) and isinstance(item.get(field), str)
        }
        out_list = []
        for i, item in enumerate(child):
            key = item.get(field) if isinstance(item, Mapping) else None
            if isinstance(key, str) and key in by_key:
                item = merge_delta(by_key[key], item, file=file, keyed=keyed, path=f"{path}[{i}]")
            out_list.append(copy.deepcopy(item))
        return out_list
    return copy.deepcopy(child)


def _is_leaf(node: Any) -> bool:
    return isinstance(node, Mapping) and ("value" in node or "values" in node)


def leaf_value(leaf: Mapping) -> Any:
    """What a documented leaf holds: its value, or its dated values as a mapping."""
    return leaf["value"] if "value" in leaf else {"values": leaf.get("values")}


def _over_leaf(parent: Mapping, child: Any, *, file: Any, path: str) -> Any:
    """A child's value over a documented leaf of the parent."""
    inherited = leaf_value(parent)
    if _is_leaf(child):
        out = copy.deepcopy(dict(child))
        if "unit" not in out and "unit" in parent:
            out["unit"] = parent["unit"]
        if "source" not in out:
            if not _same(leaf_value(child), inherited):
                message = _changed(
                    leaf_value(child), parent, written="{value: %s} without a source"
                )
                raise ConfigError(message, file=file, path=path)
            out["source"] = parent.get("source")
            if "note" not in out and "note" in parent:
                out["note"] = parent["note"]
        return out
    if isinstance(child, Mapping):
        return copy.deepcopy(dict(child))
    if _same(child, inherited):
        return copy.deepcopy(dict(parent))
    if _has_number(child):
        raise ConfigError(_changed(child, parent, written="bare value %s"), file=file, path=path)
    return copy.deepcopy(child)


def _same(a: Any, b: Any) -> bool:
    """Equal values, numbers compared by value (``0.7 == 0.70``, ``1 == 1.0``)."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _has_number(node: Any) -> bool:
    if isinstance(node, Mapping):
        return any(_has_number(v) for v in node.values())
    if isinstance(node, list | tuple):
        return any(_has_number(v) for v in node)
    return _is_number(node)


def _changed(value: Any, parent: Mapping, *, written: str) -> str:
    """A changed value without a source: ``written`` shows how (``%s`` is the value)."""
    unit = parent.get("unit")
    shown = _show(value)
    return (
        f"{written % shown} changes the inherited {_show(leaf_value(parent))}"
        + (f" ({unit})" if unit else "")
        + f"; allowed: {{value: {shown}, source: ...}} (a citation or 'assumption'; the unit "
        "is inherited), or the inherited value"
    )


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _undocumented(value: Any) -> str:
    shown = list(value) if isinstance(value, tuple) else value
    return (
        f"bare value {shown!r} has no unit or source; allowed: a documented parameter "
        f"{{value: {shown!r}, unit: ..., source: ...}} (source: a citation or 'assumption')"
    )


def validate(model: type[M], data: Any, *, file: str | Path | None = None) -> M:
    """Validate ``data`` into ``model`` or raise one :class:`ConfigError`.

    The message names the file, the dotted field path, the bad value and what is allowed.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _to_config_error(model, exc, file) from None


def _to_config_error(model: type[BaseModel], exc: ValidationError, file: Any) -> ConfigError:
    errors = exc.errors(include_url=False)
    # A list whose items failed is also reported "too short" after validation: noise.
    deeper = [tuple(e["loc"]) for e in errors]
    errors = [
        e
        for e in errors
        if not (
            e["type"] == "too_short"
            and any(
                len(d) > len(e["loc"]) and d[: len(e["loc"])] == tuple(e["loc"]) for d in deeper
            )
        )
    ] or errors
    first = errors[0]
    loc = tuple(first["loc"])
    path = _dotted(loc)
    message = _describe(model, loc, first)
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return ConfigError(message, file=file, path=path)


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(model: type[BaseModel], loc: tuple, error: dict) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {loc[-1]!r}{hint}"
    shown = _show(value)
    bounds = {
        "greater_than_equal": ">= {ge}",
        "greater_than": "> {gt}",
        "less_than_equal": "<= {le}",
        "less_than": "< {lt}",
        "multiple_of": "a multiple of {multiple_of}",
    }
    if kind in bounds:
        return f"{shown} is out of range; allowed: {bounds[kind].format(**ctx)}"
    if kind == "literal_error":
        return f"{shown} is not allowed; allowed: {ctx.get('expected')}"
    if kind in {"finite_number"}:
        return f"{shown} is not allowed; allowed: a finite number"
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "model_type":
        expected = kind.removesuffix("_type").removesuffix("_parsing").replace("_", " ")
        expected = {
            "model": "a mapping of keys to values",
            "dict": "a mapping",
            "tuple": "a list",
        }.get(expected, f"a {expected}" if expected not in {"int", "float"} else _numname(expected))
        return f"{shown} has the wrong type; allowed: {expected}"
    if kind in {"too_short", "too_long"}:
        limit = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        word = "at least" if kind == "too_short" else "at most"
        return f"{ctx.get('actual_length')} items; allowed: {word} {limit}"
    msg = str(error["msg"]).removeprefix("Value error, ")
    return f"{shown}: {msg}" if value is not None and not isinstance(value, dict) else msg


def _numname(kind: str) -> str:
    return "a whole number" if kind == "int" else "a number"


def _show(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"values"} and isinstance(value["values"], dict):
        return "the dated values " + ", ".join(
            f"{_show(v)} from {_show(d)}" for d, v in value["values"].items()
        )
    if isinstance(value, dict):
        return "this mapping"
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the record at ``loc`` inside ``model`` (best effort)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        current = _record_type(fields[part].annotation)
        if current is None:
            return []
    fields = getattr(current, "model_fields", None)
    return sorted(f for f in fields or () if f not in RESERVED)


def _record_type(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _record_type(arg)
        if found is not None:
            return found
    return None
