"""The parameter tree: every parameter declared once, and files as deltas on it (issue 13).

``data/parameters/<kind>.yaml`` (``scenario``, ``policy``) declares every leaf of that
record: its description, unit, default, source (a citation or ``assumption: ...``), status
(V verified, P partly verified, M unverified assumption, as in ``reference/facts.md``; S a
*setting*: a choice of whoever writes the file, or a convention of the model, never
sampled) and, for assumptions, a plausible range with its own source::

    noise_sd:
      description: Luck and circumstance in an employee's quarterly results.
      value: 0.6
      unit: SD of results per quarter
      source: "assumption: luck and circumstance"
      status: M
      range: [0.4, 0.8]
      range_source: "assumption: ..."

A default may be dated, ``values: {2014-01-01: 0.6, 2020-01-01: 0.7}``: the value in
force on the run's start date applies. An entry without ``value`` has no default (every
file gives it). ``name[]`` declares the fields of each item of a list of records
(``agencies[]``); ``relative_path: true`` marks a path that resolves from the file that
writes it.

Scenario, policy and variant files are deltas: :func:`resolve` follows a file's
``extends:`` chain (parents merged by :func:`~simlib.params.config.merge_delta`, each valid
on its own) and lays the result over the tree (:func:`overlay`). Over the tree, a bare
value equal to the default inherits its unit and source; a value that changes a default
names its source (``{value: 0.3, source: assumption}``, the unit inherited); a number
without a default needs a source too. :func:`record` validates the result and adds each
value's status and range from the tree to the record's ``docs``;
:func:`assumption_ranges` gives the ranges of the assumptions a record rests on, for
probabilistic sensitivity analysis. :func:`markdown` writes ``docs/parameters.md``.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import difflib
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from simlib.core.errors import ConfigError
from simlib.core.paths import DATA, POLICIES, ROOT, SCENARIOS
from simlib.params.config import (
    FILE_KINDS,
    RECORD_KINDS,
    RESERVED,
    _has_number,
    _is_leaf,
    _is_number,
    _record_type,
    _same,
    _show,
    dated_value,
    leaf_value,
    merge_delta,
    read_yaml,
    record_from_dict,
    take_kind,
)

__all__ = [
    "MAX_EXTENDS",
    "STATUSES",
    "TREE_KINDS",
    "Parameter",
    "Tree",
    "assumption_ranges",
    "check_tree",
    "default_start_date",
    "format_value",
    "load_tree",
    "markdown",
    "overlay",
    "parameter",
    "parameter_files",
    "parent_file",
    "parent_files",
    "record",
    "record_leaves",
    "resolve",
    "tree_file",
]

#: Where the trees live; one YAML file per record kind.
TREE_DIR = DATA / "parameters"
#: Record kinds that have a tree.
TREE_KINDS = ("scenario", "policy")
#: What a status says (reference/facts.md; S for settings).
STATUSES = {
    "V": "verified: seen in the cited source",
    "P": "partly verified: a secondary or ambiguous source, or derived from verified facts",
    "M": "unverified assumption: from memory or judgement; check before relying on it",
    "S": "setting: chosen by whoever writes the file, or a convention of the model; not "
    "a claim about the world, never sampled",
}
ENTRY_KEYS = frozenset(
    {"description", "value", "values", "unit", "source", "status", "note", "range",
     "range_source", "relative_path"}
)  # fmt: skip
#: Longest chain of ``extends``: a file, its parent, grandparent, ... (files in all).
MAX_EXTENDS = 8
#: Folder where a parent's name (``extends: name``) is looked up after the file's own.
_HOME = {"scenario": SCENARIOS, "policy": POLICIES, "variant": POLICIES}
#: Lists that merge by a key field instead of replacing whole, by kind.
KEYED_LISTS = {"scenario": {"agencies": "name"}}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_MISSING = object()

M = TypeVar("M", bound=BaseModel)


# -- the tree ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One parameter of a tree: what it is, its default, and how well the default is known.

    ``value`` is the default (``None`` when there is none or it is dated); ``values`` the
    dated defaults (date -> value); ``effective`` their dates.
    """

    path: str
    description: str
    unit: str = ""
    value: Any = None
    values: Mapping[dt.date, Any] = field(default_factory=dict)
    has_default: bool = False
    source: str = ""
    status: str = ""
    note: str = ""
    range: tuple[float, float] | None = None
    range_source: str = ""
    relative_path: bool = False

    @property
    def effective(self) -> tuple[dt.date, ...]:
        """Dates from which the dated defaults take effect (empty if undated)."""
        return tuple(sorted(self.values))

    @property
    def setting(self) -> bool:
        """A choice of the file's author or a convention (status S): never sampled."""
        return self.status == "S"

    def at(self, on: dt.date | None) -> Any:
        """The default in force on ``on`` (the undated default when there are no dates)."""
        if not self.values:
            return self.value
        return dated_value(self.values, on, path=self.path)[1]

    def leaf(self) -> Any:
        """The default as a file writes it: a documented leaf, or a bare value without unit."""
        if self.values:
            value: dict[str, Any] = {"values": copy.deepcopy(dict(self.values))}
        elif self.unit:
            value = {"value": copy.deepcopy(self.value)}
        else:
            return copy.deepcopy(self.value)
        value |= {"unit": self.unit, "source": self.source}
        if self.note:
            value["note"] = self.note
        return value


@dataclass(frozen=True)
class _Items:
    """The fields of each item of a list of records (``agencies[]``)."""

    group: dict[str, Any]


@dataclass(frozen=True)
class Tree:
    """A parsed tree: nested groups (``root``) and the parameters by dotted path."""

    kind: str
    file: Path
    root: dict[str, Any]
    parameters: dict[str, Parameter]


def tree_file(kind: str) -> Path:
    """The tree file of a record kind."""
    return TREE_DIR / f"{kind}.yaml"


_CACHE: dict[tuple[str, int, int], Tree] = {}


def load_tree(kind: str, *, file: str | Path | None = None) -> Tree:
    """The parameter tree of ``kind`` (``scenario``, ``policy``), checked and cached.

    Parameters
    ----------
    kind
        A record kind in :data:`TREE_KINDS`.
    file
        Read this tree file instead of the shipped one (``simlib validate``).

    Raises
    ------
    ConfigError
        If the kind has no tree, or the file is not a well-formed tree (file, path, what
        is allowed).
    """
    if file is None:
        if kind not in TREE_KINDS:
            raise ConfigError(f"{kind!r} has no parameter tree; allowed: {', '.join(TREE_KINDS)}")
        file = tree_file(kind)
    path = Path(file)
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    if key is not None and key in _CACHE:
        return _CACHE[key]
    tree = _parse_tree(read_yaml(path), kind=kind, file=path)
    if key is not None:
        _CACHE.clear() if len(_CACHE) > 32 else None
        _CACHE[key] = tree
    return tree


def _parse_tree(raw: dict[str, Any], *, kind: str, file: Path) -> Tree:
    raw = take_kind(raw, "parameters", file=file)
    if raw.get("record") != kind:
        raise ConfigError(
            f"{_show(raw.get('record'))}: allowed: {kind!r} (the record this tree declares)",
            file=file,
            path="record",
        )
    unknown = sorted(set(raw) - {"record", "parameters"})
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r}; allowed keys: kind, record, parameters",
            file=file,
            path=unknown[0],
        )
    body = raw.get("parameters")
    if not isinstance(body, dict) or not body:
        raise ConfigError(
            "allowed: a mapping of groups and parameters", file=file, path="parameters"
        )
    flat: dict[str, Parameter] = {}
    root = _parse_group(body, prefix="", file=file, flat=flat)
    return Tree(kind, file, root, flat)


def _parse_group(
    node: Mapping[str, Any], *, prefix: str, file: Path, flat: dict[str, Parameter]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, child in node.items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"key {key!r}: allowed: a field name", file=file, path=prefix)
        items = key.endswith("[]")
        name = key.removesuffix("[]")
        path = f"{prefix}.{key}" if prefix else key
        if not isinstance(child, Mapping) or not child:
            raise ConfigError(
                f"{_show(child)}: allowed: a parameter (a mapping with a description) or a "
                "group of parameters",
                file=file,
                path=f"parameters.{path}",
            )
        if isinstance(child.get("description"), str):
            if items:
                raise ConfigError(
                    "a list key (name[]) holds the fields of each item; allowed: a group",
                    file=file,
                    path=f"parameters.{path}",
                )
            out[name] = flat[path] = _parse_parameter(child, path=path, file=file)
        else:
            group = _parse_group(child, prefix=path, file=file, flat=flat)
            out[name] = _Items(group) if items else group
    return out


def _parse_parameter(node: Mapping[str, Any], *, path: str, file: Path) -> Parameter:
    where = f"parameters.{path}"

    def refuse(key: str, message: str) -> ConfigError:
        return ConfigError(message, file=file, path=f"{where}.{key}" if key else where)

    unknown = sorted(set(node) - ENTRY_KEYS, key=str)
    if unknown:
        keys = ", ".join(sorted(ENTRY_KEYS))
        raise refuse("", f"unknown key {unknown[0]!r} of a parameter; allowed keys: {keys}")
    for key in ("description", "unit", "source", "note", "range_source"):
        text = node.get(key, "")
        if not isinstance(text, str):
            raise refuse(key, f"{_show(text)}: allowed: text")
    if not node["description"].strip():
        raise refuse("description", "empty; allowed: a sentence saying what the parameter is")
    if "value" in node and "values" in node:
        raise refuse("", "both 'value' and 'values'; allowed: one default, or defaults by date")
    values: dict[dt.date, Any] = {}
    if "values" in node:
        try:
            dated_value(node["values"], None, path=where)
        except ConfigError as exc:
            raise ConfigError(exc.message, file=file, path=exc.path) from None
        values = dict(sorted(node["values"].items()))
    has_default = "value" in node or bool(values)
    defaults = list(values.values()) if values else [node.get("value")] if has_default else []
    status = node.get("status", "")
    if status and status not in STATUSES:
        raise refuse("status", f"{_show(status)}: allowed: {', '.join(STATUSES)}")
    if has_default:
        if not status:
            raise refuse("status", "missing; allowed: V, P, M (facts.md) or S (a setting)")
        if not node.get("source", "").strip():
            raise refuse("source", "missing; allowed: a citation, 'assumption: ...' or "
                         "'setting: ...'")  # fmt: skip
        if any(_has_number(v) for v in defaults) and not node.get("unit", "").strip():
            raise refuse("unit", "missing; allowed: the unit of the number")
    bounds = _range(node, where=where, file=file, defaults=defaults)
    relative = node.get("relative_path", False)
    if not isinstance(relative, bool):
        raise refuse("relative_path", f"{_show(relative)}: allowed: true or false")
    return Parameter(
        path=path,
        description=" ".join(node["description"].split()),
        unit=node.get("unit", ""),
        value=node.get("value") if not values else None,
        values=values,
        has_default=has_default,
        source=node.get("source", ""),
        status=status,
        note=node.get("note", ""),
        range=bounds,
        range_source=node.get("range_source", ""),
        relative_path=relative,
    )


def _range(node: Mapping, *, where: str, file: Path, defaults: list) -> tuple | None:
    if "range" not in node:
        if "range_source" in node:
            raise ConfigError(
                "a range source without a range; allowed: range: [low, high] with it",
                file=file,
                path=f"{where}.range",
            )
        return None
    bounds = node["range"]
    if (
        not (isinstance(bounds, list) and len(bounds) == 2 and all(_is_number(b) for b in bounds))
        or not bounds[0] < bounds[1]
    ):
        raise ConfigError(
            f"{_show(bounds)}: allowed: [low, high], two numbers with low < high",
            file=file,
            path=f"{where}.range",
        )
    if not node.get("range_source", "").strip():
        raise ConfigError(
            "missing; allowed: a citation or 'assumption: ...' saying why this range",
            file=file,
            path=f"{where}.range_source",
        )
    for value in defaults:
        if not (_is_number(value) and bounds[0] <= value <= bounds[1]):
            raise ConfigError(
                f"the default {_show(value)} is outside the range {bounds}; allowed: a range "
                "that holds the default",
                file=file,
                path=f"{where}.range",
            )
    return (bounds[0], bounds[1])


def tree_path(dotted: str) -> str:
    """A record path as the tree writes it: list positions become ``[]``.

    Both ``agencies[0].structure.employees`` (``docs``) and ``agencies.0.structure.employees``
    (changes, experiments) give ``agencies[].structure.employees``.
    """
    path = re.sub(r"\[\d+\]", "[]", dotted)
    return re.sub(r"\.(\d+)(?=\.|$)", "[]", path)


def parameter(kind: str, path: str) -> Parameter:
    """The tree entry of the parameter at dotted ``path`` of a ``kind`` record.

    Raises
    ------
    ConfigError
        If the tree has no such parameter (the message lists close paths).
    """
    tree = load_tree(kind)
    found = tree.parameters.get(tree_path(path))
    if found is None:
        close = difflib.get_close_matches(tree_path(path), list(tree.parameters), n=3)
        hint = ", ".join(close) if close else "a path listed in docs/parameters.md"
        raise ConfigError(
            f"{path!r} is not a parameter of the {kind} tree; allowed: {hint}",
            file=tree.file,
        )
    return found


def default_start_date() -> dt.date:
    """The scenario tree's default start date: where a policy read without a run is dated."""
    return load_tree("scenario").parameters["calendar.start_date"].value


# -- overlaying a file on the tree -------------------------------------------------------------


def overlay(kind: str, raw: dict[str, Any], *, model: type[BaseModel], file: Any) -> dict:
    """Lay a documented mapping (a file, its ``extends`` resolved) over the tree of ``kind``.

    Every parameter the mapping leaves out gets the tree's default (with unit and source);
    a value it gives is checked against the default (see the module docstring). Keys the
    tree does not know pass through, for validation to name. Optional sections (fields
    that may be ``None``, such as an agency's ``campaign``) are filled only when written.

    Raises
    ------
    ConfigError
        One line naming the file, the field path, the value and what is allowed.
    """
    return _overlay_group(load_tree(kind).root, raw, model=model, path="", file=file)


def _overlay_group(
    group: dict[str, Any], raw: Mapping[str, Any], *, model: Any, path: str, file: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, node in group.items():
        where = f"{path}.{name}" if path else name
        child = raw.get(name, _MISSING)
        sub, optional = _field(model, name)
        if isinstance(node, Parameter):
            value = _overlay_leaf(node, child, path=where, file=file)
            if value is not _MISSING:
                out[name] = value
        elif isinstance(node, _Items):
            if isinstance(child, list):
                out[name] = [
                    _overlay_group(node.group, item, model=sub, path=f"{where}[{i}]", file=file)
                    if isinstance(item, Mapping) and not _is_leaf(item)
                    else item
                    for i, item in enumerate(child)
                ]
            elif child is not _MISSING:
                out[name] = child
        elif child is _MISSING:
            if not optional:
                filled = _overlay_group(node, {}, model=sub, path=where, file=file)
                if filled:
                    out[name] = filled
        elif isinstance(child, Mapping) and not _is_leaf(child):
            out[name] = _overlay_group(node, child, model=sub, path=where, file=file)
        else:
            out[name] = child  # null or a wrong type: validation says what is allowed
    for name, child in raw.items():
        if name not in group:
            out[name] = child
    return out


def _field(model: Any, name: str) -> tuple[Any, bool]:
    """The record type of field ``name`` of ``model`` and whether it may be ``None``."""
    fields = getattr(model, "model_fields", None)
    if not fields or name not in fields:
        return None, False
    annotation = fields[name].annotation
    optional = type(None) in typing.get_args(annotation) or isinstance(annotation, types.NoneType)
    return _record_type(annotation), optional


def _overlay_leaf(p: Parameter, child: Any, *, path: str, file: Any) -> Any:
    """A file's value (or its absence) over a tree parameter."""
    if child is _MISSING:
        return p.leaf() if p.has_default else _MISSING
    default = p.leaf() if p.has_default else _MISSING
    inherited = leaf_value(default) if _is_leaf(default) else default
    if _is_leaf(child):
        out = copy.deepcopy(dict(child))
        if "unit" not in out and p.unit:
            out["unit"] = p.unit
        if "source" not in out:
            if default is _MISSING or not _same(leaf_value(child), inherited):
                written = "{value: %s} without a source"
                raise ConfigError(_changed(p, leaf_value(child), written), file=file, path=path)
            out["source"] = p.source
            if "note" not in out and p.note:
                out["note"] = p.note
        return out
    if isinstance(child, Mapping):
        return child  # a mapping where a value belongs: validation says what is allowed
    if default is not _MISSING and _same(child, inherited):
        return default
    if _has_number(child):
        raise ConfigError(_changed(p, child, "bare value %s"), file=file, path=path)
    return child


def over_tree(kind: str, dotted: str, value: Any, *, file: Any, path: str) -> Any:
    """A change written for ``dotted`` (a variant's ``changes``) laid over the tree's entry.

    Over a parameter, the rules of :func:`overlay` apply (unit inherited, a bare default
    documented, a changed number needs a source); over a group, the group's defaults fill
    what the change leaves out. A path the tree does not know is returned as written
    (applying the change names it).
    """
    node = _node_at(load_tree(kind).root, dotted)
    if isinstance(node, Parameter):
        return _overlay_leaf(node, value, path=path, file=file)
    if isinstance(node, dict) and isinstance(value, Mapping) and not _is_leaf(value):
        return _overlay_group(node, value, model=None, path=path, file=file)
    return value


def _changed(p: Parameter, value: Any, written: str) -> str:
    shown = _show(list(value) if isinstance(value, tuple) else value)
    unit = f" ({p.unit})" if p.unit else ""
    if not p.has_default:
        return (
            f"{written % shown} has no source; allowed: {{value: {shown}, source: ...}} (a "
            f"citation or 'assumption'; the unit{unit} is the parameter tree's)"
        )
    default = (
        _show(p.value)
        if not p.values
        else "dated " + ", ".join(f"{_show(v)} from {d.isoformat()}" for d, v in p.values.items())
    )
    return (
        f"{written % shown} changes the default {default}{unit} of the parameter tree; "
        f"allowed: {{value: {shown}, source: ...}} (a citation or 'assumption'; the unit is "
        "inherited), or the default"
    )


# -- extends: a file as a delta on another -----------------------------------------------------


def resolve(
    raw: dict[str, Any],
    *,
    kind: str,
    model: type[BaseModel],
    file: str | Path | None,
    check_parent: Callable[[dict[str, Any], Path], Any],
) -> dict[str, Any]:
    """A file's whole documented mapping: ``kind`` checked, ``extends`` resolved, tree laid under.

    Parameters
    ----------
    raw
        The file's mapping as read from YAML (or one already resolved: resolving is
        idempotent).
    kind
        ``scenario`` or ``policy``.
    model
        The record the file is read into (which sections may be left out).
    file
        The file ``raw`` came from: ``extends`` resolves from its folder, errors name it.
    check_parent
        Validates a parent on its own (its mapping with its own chain resolved, and its
        file), so that a bad parent is reported in its own file.
    """
    merged = merge_chain(raw, kind=kind, file=file, check_parent=check_parent)
    return overlay(kind, merged, model=model, file=file)


def merge_chain(
    raw: dict[str, Any],
    *,
    kind: str,
    file: str | Path | None,
    check_parent: Callable[[dict[str, Any], Path], Any] | None,
    chain: tuple[Path, ...] = (),
) -> dict[str, Any]:
    """``raw`` (its ``kind`` checked and removed) merged over its ``extends`` chain.

    The parent is read and resolved in turn (at most :data:`MAX_EXTENDS` files, no
    cycles), checked with ``check_parent``, its relative paths rewritten to resolve from
    its folder, and ``raw`` laid over it with :func:`~simlib.params.config.merge_delta`.
    """
    raw = take_kind(raw, kind, file=file)
    if "extends" not in raw:
        return raw
    here = Path(file).resolve() if file else None
    folder = here.parent if here else ROOT
    chain = (*chain, here) if here else chain
    noun = FILE_KINDS[kind]
    parent = parent_file(raw["extends"], kind=kind, folder=folder, file=file)
    if parent in chain:
        loop = " -> ".join(p.name for p in (*chain[chain.index(parent) :], parent))
        raise ConfigError(
            f"{raw['extends']!r} makes a cycle ({loop}); allowed: a chain of parents that "
            f"ends in a {noun} without 'extends'",
            file=file,
            path="extends",
        )
    if len(chain) >= MAX_EXTENDS:
        raise ConfigError(
            f"{raw['extends']!r} makes a chain of more than {MAX_EXTENDS} files; allowed: at "
            f"most {MAX_EXTENDS} (a {noun} and {MAX_EXTENDS - 1} parents)",
            file=file,
            path="extends",
        )
    parent_raw = read_yaml(parent)
    found = file_kind_of(parent_raw, parent)
    if found != kind:
        raise ConfigError(
            f"{raw['extends']!r} is {_a(FILE_KINDS[found])} file ({parent}); allowed: a "
            f"{noun} file to extend",
            file=file,
            path="extends",
        )
    parent_raw = merge_chain(
        parent_raw, kind=kind, file=parent, check_parent=check_parent, chain=chain
    )
    if check_parent is not None:
        check_parent(parent_raw, parent)  # the parent must be valid on its own
    parent_raw = _rebased(parent_raw, kind=kind, source=parent.parent, target=folder)
    delta = {k: v for k, v in raw.items() if k != "extends"}
    return merge_delta(parent_raw, delta, file=file, keyed=KEYED_LISTS.get(kind))


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def file_kind_of(raw: dict[str, Any], path: Path, *, depth: int = 0) -> str:
    """The kind a scenario, policy or variant file is: its ``kind:``, its content, or its parent's.

    ``changes`` makes a variant, ``agencies`` a scenario, a policy section a policy; a
    delta with none of these has its parent's kind (``extends``, looked up next to the
    file, then in ``data/scenarios`` and ``data/policies``); else its folder's.
    """
    given = raw.get("kind")
    if isinstance(given, str) and given in FILE_KINDS:
        return given
    if "changes" in raw:
        return "variant"
    if "agencies" in raw:
        return "scenario"
    if _POLICY_SECTIONS & set(raw):
        return "policy"
    value = raw.get("extends")
    if isinstance(value, str) and value.strip() and depth < MAX_EXTENDS:
        parent = _any_parent(value, folder=path.resolve().parent)
        if parent is not None:
            try:
                return file_kind_of(read_yaml(parent), parent, depth=depth + 1)
            except ConfigError:
                pass
    return "policy" if path.parent.name == "policies" else "scenario"


_POLICY_SECTIONS = frozenset({"appraisal", "incentives", "budget", "change_management"})


def _any_parent(value: str, *, folder: Path) -> Path | None:
    """The parent file ``extends: value`` names, whatever its kind (``None`` if none)."""
    if _NAME.fullmatch(value) and not value.endswith((".yaml", ".yml")):
        tried = [folder / f"{value}.yaml", SCENARIOS / f"{value}.yaml", POLICIES / f"{value}.yaml"]
    else:
        tried = [folder / value]
    for candidate in tried:
        try:
            if candidate.is_file():
                return candidate.resolve()
        except (OSError, ValueError):
            continue
    return None


def parent_file(value: Any, *, kind: str, folder: Path, file: str | Path | None) -> Path:
    """The file ``extends: value`` names, or a one-line error.

    A name is looked up next to the file, then in the kind's folder under ``data/``; a
    path is relative to ``folder``.
    """
    noun = FILE_KINDS[kind]
    home = _HOME[kind]

    def refuse(message: str) -> ConfigError:
        names = ", ".join(sorted(p.stem for p in home.glob("*.yaml")))
        allowed = (
            f"a {noun} name ({names}; next to this file or in data/{home.name}, without "
            f".yaml) or a path to a {noun} file, relative to this file"
        )
        return ConfigError(f"{message}; allowed: {allowed}", file=file, path="extends")

    if not isinstance(value, str):
        shown = "this mapping" if isinstance(value, dict) else _clip(repr(value), 60)
        raise refuse(f"{shown} has the wrong type")
    if not value.strip():
        raise refuse("empty")
    if _NAME.fullmatch(value) and not value.endswith((".yaml", ".yml")):
        tried = [folder / f"{value}.yaml", home / f"{value}.yaml"]
    else:
        tried = [folder / value]
    for candidate in tried:
        try:
            if candidate.is_file():
                return candidate.resolve()
        except (OSError, ValueError):  # a name too long or with a NUL byte: not a file
            continue
    where = " or ".join(dict.fromkeys(_clip(repr(str(t))[1:-1], 200) for t in tried))
    raise refuse(f"{_clip(repr(value), 60)}: parent {noun} not found ({where})")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parent_files(path: str | Path, kind: str) -> list[Path]:
    """The files a file's ``extends`` chain reads, nearest parent first (for provenance).

    Stops quietly at a parent that cannot be found (loading the file reports it).
    """
    out: list[Path] = []
    here = Path(path)
    for _ in range(MAX_EXTENDS):
        try:
            raw = read_yaml(here)
            if "extends" not in raw:
                break
            here = parent_file(raw["extends"], kind=kind, folder=here.resolve().parent, file=here)
        except ConfigError:
            break
        if here in out:
            break
        out.append(here)
    return out


def parameter_files(record: Any, kind: str) -> list[tuple[str, str, Path]]:
    """Files a scenario's or policy's values come from besides its own: ``(role, field, path)``.

    The parents of its ``extends`` chain, nearest first (role ``parent``, field
    ``<kind>.extends[i]``), and the parameter tree of its kind (role ``parameters``, field
    ``parameters/<kind>.yaml``): the inputs of a run key besides the values themselves, so
    that editing a parent or the tree re-runs what rests on it.
    """
    files = []
    if getattr(record, "source_file", ""):
        for i, path in enumerate(parent_files(record.source_file, kind)):
            files.append(("parent", f"{kind}.extends[{i}]", path))
    files.append(("parameters", f"parameters/{kind}.yaml", tree_file(kind)))
    return files


def _rebased(raw: dict[str, Any], *, kind: str, source: Path, target: Path) -> dict[str, Any]:
    """``raw`` with the relative paths it writes made absolute, when it moves folders."""
    if source.resolve() == target.resolve():
        return raw

    def fix(value: Any) -> Any:
        if isinstance(value, Mapping) and "value" in value:
            return {**value, "value": fix(value["value"])}
        if isinstance(value, str) and value and not Path(value).is_absolute():
            return str((source / value).resolve())
        return value

    if kind == "variant":  # dotted changes: each laid against the policy tree
        changes = raw.get("changes")
        if not isinstance(changes, Mapping):
            return raw
        root = load_tree("policy").root
        fixed = {}
        for key, value in changes.items():
            node = _node_at(root, key) if isinstance(key, str) else None
            if isinstance(node, Parameter):
                fixed[key] = fix(value) if node.relative_path else value
            elif isinstance(node, dict):
                fixed[key] = _rebase_group(node, value, fix)
            else:
                fixed[key] = value
        return {**raw, "changes": fixed}
    return _rebase_group(load_tree(kind).root, raw, fix)


def _node_at(root: dict[str, Any], dotted: str) -> Any:
    node: Any = root
    for part in tree_path(dotted).split("."):
        node = node.get(part.removesuffix("[]")) if isinstance(node, dict) else None
        if isinstance(node, _Items):
            node = node.group
        if node is None:
            return None
    return node


def _rebase_group(group: dict[str, Any], raw: Any, fix: Callable[[Any], Any]) -> Any:
    if not isinstance(raw, Mapping) or _is_leaf(raw):
        return raw
    out = dict(raw)
    for name, node in group.items():
        if name not in out:
            continue
        if isinstance(node, Parameter):
            if node.relative_path:
                out[name] = fix(out[name])
        elif isinstance(node, _Items):
            if isinstance(out[name], list):
                out[name] = [_rebase_group(node.group, item, fix) for item in out[name]]
        else:
            out[name] = _rebase_group(node, out[name], fix)
    return out


# -- records -----------------------------------------------------------------------------------


def record(model: type[M], raw: dict[str, Any], *, kind: str, file: Any, on: dt.date | None) -> M:
    """Validate a resolved mapping into a record; ``docs`` get status and range from the tree.

    A value's status is the tree's when its source is the tree's; its range is the tree's
    when the value lies inside it (a changed value keeps the plausible range it is in).
    """
    tree = load_tree(kind)

    def document(docs: dict[str, Any], plain: Any) -> dict[str, Any]:
        out = {}
        for path, doc in docs.items():
            p = tree.parameters.get(tree_path(path))
            if p is not None:
                status = p.status if doc.source == p.source else ""
                value = _value_at(plain, path)
                inside = (
                    p.range is not None and _is_number(value) and p.range[0] <= value <= p.range[1]
                )
                doc = dataclasses.replace(doc, status=status, range=p.range if inside else None)
            out[path] = doc
        return out

    return record_from_dict(model, raw, file=file, on=on, document=document)


def _value_at(node: Any, dotted: str) -> Any:
    """The plain value at a ``docs`` path (``agencies[0].structure.pppk_share``)."""
    for part in re.split(r"\.|(?=\[)", dotted):
        if not part:
            continue
        try:
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return node


def assumption_ranges(rec: BaseModel) -> dict[str, tuple[float, float]]:
    """Plausible ranges of the assumptions ``rec`` rests on, for sensitivity analysis.

    Every numeric value of the record whose status is M or whose source begins with
    ``assumption``, that has a range in the tree and lies inside it; never a setting
    (status S). Paths are written as changes and experiments write them
    (``agencies.0.structure.pppk_share``; a policy's without the ``policy.`` prefix).
    """
    kind = RECORD_KINDS.get(type(rec).__name__)
    tree = load_tree(kind) if kind in TREE_KINDS else None
    out: dict[str, tuple[float, float]] = {}
    for path, doc in getattr(rec, "docs", {}).items():
        entry = tree.parameters.get(tree_path(path)) if tree else None
        if doc.range is None or doc.status == "S" or (entry is not None and entry.setting):
            continue
        if doc.status == "M" or doc.source.strip().lower().startswith("assumption"):
            out[re.sub(r"\[(\d+)\]", r".\1", path)] = doc.range
    return out


def record_leaves(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every leaf a file of ``model`` can set, as tree paths (``agencies[].name``)."""
    out = []
    for name, info in model.model_fields.items():
        if name in RESERVED:
            continue
        path = f"{prefix}.{name}" if prefix else name
        sub = _record_type(info.annotation)
        if sub is None:
            out.append(path)
        elif _is_tuple_of_records(info.annotation):
            out += record_leaves(sub, f"{path}[]")
        else:
            out += record_leaves(sub, path)
    return out


def _is_tuple_of_records(annotation: Any) -> bool:
    if typing.get_origin(annotation) is tuple:
        return True
    return any(_is_tuple_of_records(a) for a in typing.get_args(annotation))


def check_tree(kind: str, model: type[BaseModel], *, file: str | Path | None = None) -> Tree:
    """A tree checked against its record: every entry a leaf, every default valid there.

    Raises
    ------
    ConfigError
        The first entry that names no field of the record, or whose default the field
        refuses (file, path, what is allowed).
    """
    tree = load_tree(kind, file=file)
    leaves = set(record_leaves(model))
    for path, p in tree.parameters.items():
        where = f"parameters.{path}"
        if path not in leaves:
            close = difflib.get_close_matches(path, sorted(leaves), n=3)
            raise ConfigError(
                f"not a field of the {kind} record; allowed: {', '.join(close) or 'its fields'}",
                file=tree.file,
                path=where,
            )
        adapter = _adapter(model, path)
        for value in p.values.values() if p.values else [p.value] if p.has_default else []:
            try:
                adapter.validate_python(_plain(value), strict=True)
            except ValidationError as exc:
                problem = exc.errors(include_url=False)[0]["msg"]
                raise ConfigError(
                    f"the default {_show(value)} is refused by the record ({problem})",
                    file=tree.file,
                    path=where,
                ) from None
    return tree


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _adapter(model: Any, path: str) -> TypeAdapter:
    parts = path.replace("[]", "").split(".")
    current = model
    for part in parts[:-1]:
        current = _record_type(current.model_fields[part].annotation)
    info = current.model_fields[parts[-1]]
    if not info.metadata:
        return TypeAdapter(info.annotation)
    return TypeAdapter(typing.Annotated[(info.annotation, *info.metadata)])


# -- the reference page ------------------------------------------------------------------------

_TITLES = {"scenario": "Scenario", "policy": "Policy"}
_HEADER = "| parameter | default | unit | status | range | description and source |"


def markdown() -> str:
    """``docs/parameters.md``: every parameter of every tree, generated from the trees.

    Written by ``simlib params --markdown > docs/parameters.md``; a test checks that the
    committed page is current.
    """
    lines = [
        "<!-- Generated by `simlib params --markdown > docs/parameters.md` from",
        "     data/parameters/*.yaml; edit the trees, not this page. -->",
        *_INTRO,
    ]
    for kind in TREE_KINDS:
        tree = load_tree(kind)
        rel = tree.file.relative_to(ROOT) if tree.file.is_relative_to(ROOT) else tree.file
        counts = _counts(tree)
        lines += [
            "",
            f"## {_TITLES[kind]} parameters (`{rel.as_posix()}`)",
            "",
            f"{counts}.",
        ]
        section = None
        for path, p in tree.parameters.items():
            top = path.split(".")[0] if "." in path else ""
            if top != section:
                section = top
                lines += ["", f"### `{top}`" if top else "### Top level", ""]
                lines += [_HEADER, "|---|---|---|---|---|---|"]
            lines.append(_row(p))
    return "\n".join(lines) + "\n"


_INTRO = [
    "# Parameters: the tree of defaults",
    "",
    "Every parameter of a scenario and of a policy is declared once, in a YAML tree under",
    "`data/parameters/` (`scenario.yaml`, `policy.yaml`): what it is, its unit, its default,",
    "the source of the default, how well that source is verified, and, for assumptions, a",
    "plausible range with the reason for it. Scenario, policy and variant files are *deltas*",
    "on the tree: they write only what differs (`extends:` a parent file, then the",
    "differences). This page is generated from the trees (`simlib params --markdown >",
    "docs/parameters.md`; `tests/test_tree.py` fails when it is stale).",
    "",
    "**Why data files, not field metadata in the code.** The people who own these numbers",
    "are planners and analysts, not programmers: they review a default, its source and its",
    "range the way they review a regulation table, in a file with a history of its own, and",
    "change it without touching Python. OpenFisca and PolicyEngine keep their parameters",
    "the same way (one YAML file per parameter or group, with values by date, unit,",
    "description and reference), for the same reason. The records (`simlib/params/`) keep",
    "what code is good at: types, bounds and the rules between fields; the tree keeps what",
    "people decide. `tests/test_tree.py` checks that the two declare the same leaves and",
    "that every default passes its field's validation.",
    "",
    "**Status** (as in `reference/facts.md`): **V** verified, the number or rule was seen in",
    "the cited source; **P** partly verified, from a secondary or ambiguous source, or derived",
    "(calibrated) from verified facts; **M** an unverified assumption; **S** a setting, a",
    "choice of whoever writes the file (horizon, the simulated agency's size, outputs) or a",
    "convention of the model (the scale of a latent trait), not a claim about the world.",
    "",
    "**Ranges.** An M parameter, or one whose source is an assumption, has a plausible range",
    "`[low, high]` with its own source. Probabilistic sensitivity analysis draws the",
    "assumptions within their ranges (`simlib.params.tree.assumption_ranges(record)`);",
    "settings are never drawn. A file that changes such a value keeps the range if the new",
    "value lies inside it.",
    "",
    "**Dated defaults.** A default may change at a date (`values: {2014-01-01: 0.6,",
    "2020-01-01: 0.7}`); a run uses the value in force on its start date (a policy read on",
    "its own: on the scenario tree's default start date).",
    "",
    "**Deltas.** A bare value equal to the default inherits its unit and source; a value",
    "that changes a default names its source (`{value: 0.3, source: assumption}`, the unit",
    "inherited); a number without a default needs a source too. Paths in `[]` are the",
    "fields of each item of a list (`agencies[]`). A parameter without a default is given by",
    "every file (e.g. the agencies of a scenario).",
]


def _counts(tree: Tree) -> str:
    ps = tree.parameters.values()
    by = {s: sum(p.status == s for p in ps) for s in STATUSES}
    ranged = sum(p.range is not None for p in ps)
    status = ", ".join(f"{n} {s}" for s, n in by.items() if n)
    return (
        f"{len(tree.parameters)} parameters, {sum(p.has_default for p in ps)} with a default "
        f"({status}), {ranged} with a plausible range"
    )


def _row(p: Parameter) -> str:
    if p.values:
        default = "; ".join(f"{format_value(v)} from {d.isoformat()}" for d, v in p.values.items())
    elif p.has_default:
        default = format_value(p.value)
    else:
        default = "(given by each file)"
    rng = ""
    if p.range is not None:
        rng = f"{format_value(p.range[0])} to {format_value(p.range[1])}"
    text = p.description
    if p.source:
        text += f" *Source:* {p.source}."
    if p.note:
        text += f" *Note:* {p.note}"
    if p.range is not None:
        text += f" *Range:* {p.range_source}."
    cells = [f"`{p.path}`", default, p.unit, p.status, rng, text]
    return "| " + " | ".join(_escape(c) for c in cells) + " |"


def format_value(value: Any) -> str:
    """A default as the reference page shows it (``none``, ``true``, ``[a, b]``, ``1,000,000``)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
