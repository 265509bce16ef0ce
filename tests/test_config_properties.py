"""Property tests: mutated scenario and policy files never pass silently or crash.

Each valid scenario (``data/scenarios/*.yaml``) and baseline policy
(``data/policies/baseline_*.yaml``) is read as a raw YAML tree (a delta with its
``extends`` resolved and laid over the parameter tree of ``data/parameters/``: the whole
tree that is validated; ``tests/test_extends.py`` and ``tests/test_tree.py`` test the deltas
themselves). A strategy picks a place in the tree and applies one mutation:

- drop a key (or a list item);
- change the type of a node (number -> text, text -> number, mapping -> list, ...);
- push a number out of the range its pydantic field allows (the bounds are read from the
  field's ``annotated_types`` metadata, so the tests follow the models);
- add an unknown key.

The file is then validated. The outcome must be a :class:`~simlib.core.errors.ConfigError`
whose text is one line naming the mutated field (or a parent of it), or - only when the
mutation is actually valid - success. Any other exception is a traceback for the user;
success after an invalid mutation is a silent acceptance.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import tempfile
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from simlib.core.errors import ConfigError
from simlib.params import tree
from simlib.params.config import LEAF_KEYS, dated_value
from simlib.params.policy import (
    Policy,
    _policy_from_raw,
    apply_variant,
    load_policy,
    load_variant,
    read_policy,
)
from simlib.params.scenario import Scenario, read_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
#: Hand-written scenario files; a generated one (``<name>_generate.py`` beside it, e.g. the
#: 632-agency national.yaml) repeats the same records and would multiply the targets.
SCENARIO_FILES = sorted(
    p
    for p in (ROOT / "data" / "scenarios").glob("*.yaml")
    if not p.with_name(f"{p.stem}_generate.py").is_file()
)
POLICY_FILES = sorted((ROOT / "data" / "policies").glob("baseline_*.yaml"))
FIELDS_NOT_IN_FILES = frozenset({"source_file", "docs"})

SETTINGS = settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

Path_ = tuple[str | int, ...]


# --------------------------------------------------------------------------------------
# The files under test


@dataclass(frozen=True)
class Source:
    file: Path
    model: type[BaseModel]

    @property
    def raw(self) -> dict[str, Any]:
        return copy.deepcopy(_RAW[self.file])

    def load(self, raw: dict[str, Any]) -> BaseModel:
        if self.model is Scenario:
            return scenario_from_dict(raw, file=self.file)
        return _policy_from_raw(raw, self.file)

    def __repr__(self) -> str:
        return self.file.name


def _read(path: Path) -> dict[str, Any]:
    """A policy's whole tree, its dated defaults written as the value in force by default."""
    raw = read_policy(path)
    on = tree.default_start_date()

    def undated(node: Any) -> Any:
        if isinstance(node, dict) and "values" in node:
            value = dated_value(node["values"], on)[1]
            return {**{k: v for k, v in node.items() if k != "values"}, "value": value}
        if isinstance(node, dict):
            return {k: undated(v) for k, v in node.items()}
        return node

    return undated(raw)


_RAW = {p: read_scenario(p) for p in SCENARIO_FILES} | {p: _read(p) for p in POLICY_FILES}


def tree_entry(source: Source, path: Path_) -> tree.Parameter | None:
    """The parameter tree's entry for the field at ``path`` (``None`` if it has none)."""
    kind = "scenario" if source.model is Scenario else "policy"
    dotted = ".".join(f"[{p}]" if isinstance(p, int) else p for p in path).replace(".[", "[")
    return tree.load_tree(kind).parameters.get(tree.tree_path(dotted))


def tree_has(source: Source, path: Path_) -> bool:
    """Whether the tree fills ``path`` when a file leaves it out (a default, or a group)."""
    kind = "scenario" if source.model is Scenario else "policy"
    entry = tree_entry(source, path)
    if entry is not None:
        return entry.has_default
    prefix = tree.tree_path(".".join(map(str, path))) + "."
    return any(p.startswith(prefix) for p in tree.load_tree(kind).parameters)


def is_tree_default(source: Source, path: Path_, value: Any) -> bool:
    entry = tree_entry(source, path)
    return entry is not None and entry.has_default and not entry.values and entry.value == value


SOURCES = [Source(p, Scenario) for p in SCENARIO_FILES] + [Source(p, Policy) for p in POLICY_FILES]


# --------------------------------------------------------------------------------------
# From a place in the YAML tree to the pydantic field that validates it


@dataclass(frozen=True)
class Spec:
    """What the model allows at one place: base type, bounds, optional, required."""

    base: Any
    constraints: tuple[Any, ...] = ()
    optional: bool = False
    required: bool = True

    def bound(self, kind: type) -> Any:
        return next(
            (getattr(c, _ATTR[kind]) for c in self.constraints if isinstance(c, kind)), None
        )

    @property
    def lower(self) -> tuple[float, bool] | None:
        """(bound, inclusive) or None."""
        ge, gt = self.bound(at.Ge), self.bound(at.Gt)
        return (ge, True) if ge is not None else (gt, False) if gt is not None else None

    @property
    def upper(self) -> tuple[float, bool] | None:
        le, lt = self.bound(at.Le), self.bound(at.Lt)
        return (le, True) if le is not None else (lt, False) if lt is not None else None

    @property
    def is_int(self) -> bool:
        return self.base is int

    @property
    def is_number(self) -> bool:
        return self.base in (int, float)


_ATTR = {
    at.Ge: "ge",
    at.Gt: "gt",
    at.Le: "le",
    at.Lt: "lt",
    at.MultipleOf: "multiple_of",
    at.MinLen: "min_length",
    at.MaxLen: "max_length",
}
DOC = Spec(base="doc")  # the unit, source or note of a documented leaf


def unwrap_annotation(annotation: Any, metadata: Any = ()) -> tuple[Any, tuple, bool]:
    """Strip Annotated and Optional; collect the annotated_types constraints on the way."""
    constraints = list(_flatten(metadata))
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            constraints += _flatten(extra)
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(get_args(annotation))
            assert len(args) == 1, f"unexpected union {annotation}"
            annotation = args[0]
        else:
            return annotation, tuple(constraints), optional


def _flatten(metadata: Any) -> list[Any]:
    out = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            out += _flatten(item.metadata)
        elif isinstance(item, at.Interval):
            out += [c for c in (
                at.Gt(item.gt) if item.gt is not None else None,
                at.Ge(item.ge) if item.ge is not None else None,
                at.Lt(item.lt) if item.lt is not None else None,
                at.Le(item.le) if item.le is not None else None,
            ) if c is not None]  # fmt: skip
        else:
            out.append(item)
    return out


def is_model(x: Any) -> bool:
    return isinstance(x, type) and issubclass(x, BaseModel)


def tuple_item(annotation: Any, index: int) -> Any | None:
    args = get_args(annotation)
    if len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    return args[index] if 0 <= index < len(args) else None


def spec_at(model: type[BaseModel], path: Path_) -> Spec | None:
    """The field that validates the node at ``path`` (``None`` if no field does)."""
    spec = Spec(base=model)
    for part in path:
        base = spec.base
        if spec is DOC:
            return None
        if is_model(base) and isinstance(part, str) and part in base.model_fields:
            field = base.model_fields[part]
            b, cons, opt = unwrap_annotation(field.annotation, field.metadata)
            spec = Spec(b, cons, opt, field.is_required())
        elif part == "value":
            continue  # the value of a documented leaf is validated by the leaf's field
        elif part in LEAF_KEYS:
            spec = DOC
        elif get_origin(base) is tuple and isinstance(part, int):
            item = tuple_item(base, part)
            if item is None:
                return None
            b, cons, opt = unwrap_annotation(item)
            spec = Spec(b, cons, opt, True)
        else:
            return None
    return spec


def dotted(path: Path_) -> str:
    """The field path as error messages write it (leaf keys are not fields)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in LEAF_KEYS:
            out += f".{part}" if out else part
    return out


def is_within(outer: str, inner: str) -> bool:
    return inner == outer or inner.startswith((outer + ".", outer + "["))


def related(error_path: str, field_path: str) -> bool:
    """The error names the mutated field, a parent of it, or a part of it."""
    for prefix in ("changes: ", "changes."):
        error_path = error_path.removeprefix(prefix)
    if not error_path:
        return False
    return is_within(error_path, field_path) or is_within(field_path, error_path)


def walk(node: Any, path: Path_ = ()) -> list[tuple[Path_, Any]]:
    """Every node of the tree below the root, with its path."""
    out: list[tuple[Path_, Any]] = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        out.append(((*path, key), child))
        out += walk(child, (*path, key))
    return out


def get(tree: Any, path: Path_) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def put(tree: Any, path: Path_, value: Any) -> None:
    get(tree, path[:-1])[path[-1]] = value


def is_leaf(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node


def is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def is_bare_number(x: Any) -> bool:
    """A number, or a list of numbers, as the files may only write inside ``{value: ...}``."""
    if isinstance(x, list):
        return bool(x) and all(is_number(i) for i in x)
    return is_number(x)


# --------------------------------------------------------------------------------------
# Running one mutated file


@dataclass(frozen=True)
class Target:
    source: Source
    path: Path_

    @property
    def spec(self) -> Spec | None:
        return spec_at(self.source.model, self.path)

    def __repr__(self) -> str:
        return f"{self.source!r}:{dotted(self.path) or '<root>'}{_leaf_suffix(self.path)}"


def _leaf_suffix(path: Path_) -> str:
    tail = [p for p in path if p in LEAF_KEYS]
    return f" ({tail[-1]})" if tail else ""


REJECT, MAY_ACCEPT = "must be rejected", "may be accepted"


def error_of(what: str, load: Any) -> ConfigError | None:
    """Run ``load()``: its ConfigError, or None on success; any other exception fails."""
    try:
        load()
    except ConfigError as err:
        return err
    except Exception as exc:  # any other exception is a traceback for the user
        pytest.fail(
            f"{what}: traceback instead of a one-line error: {exc.__class__.__name__}: {exc}"
        )
    return None


def check(target: Target, raw: dict[str, Any], expect: str, what: str, *, allowed: bool = False):
    """Validate ``raw``: a one-line ConfigError naming the field, or (if allowed) success."""
    err = error_of(what, lambda: target.source.load(raw))
    if err is None:
        assert expect == MAY_ACCEPT, f"{what}: silently accepted an invalid file"
        return
    text = str(err)
    assert "\n" not in text, f"{what}: the message is not one line: {text!r}"
    field = dotted(target.path)
    # A rule between two fields (cutoff_below < cutoff_above) may be reported on the
    # other field, as long as the message names the mutated one.
    sibling = str(target.path[-1]) in err.message
    assert related(err.path, field) or sibling, (
        f"{what}: the error names {err.path!r}, not {field!r} or a parent of it: {text}"
    )
    assert err.path in text, f"{what}: path {err.path!r} not in the message: {text}"
    assert err.file, f"{what}: the message does not name the file: {text}"
    assert Path(err.file).name == target.source.file.name, f"{what}: wrong file: {text}"
    if allowed:
        assert "allowed" in text, f"{what}: the message does not say what is allowed: {text}"


# --------------------------------------------------------------------------------------
# Sanity: the files are valid and every node maps to a field


@pytest.mark.parametrize("source", SOURCES, ids=repr)
def test_unmutated_files_are_valid(source: Source) -> None:
    source.load(source.raw)


@pytest.mark.parametrize("source", SOURCES, ids=repr)
def test_every_node_maps_to_a_field(source: Source) -> None:
    unmapped = [
        dotted(p) + _leaf_suffix(p) for p, _ in walk(source.raw) if spec_at(source.model, p) is None
    ]
    assert not unmapped, f"paths the tests cannot map to a model field: {unmapped}"


def _numeric_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, Spec]]:
    out = []
    for name, field in model.model_fields.items():
        if name in FIELDS_NOT_IN_FILES:
            continue
        base, cons, opt = unwrap_annotation(field.annotation, field.metadata)
        out += _numeric_in(f"{prefix}{name}", Spec(base, cons, opt))
    return out


def _numeric_in(path: str, spec: Spec) -> list[tuple[str, Spec]]:
    if is_model(spec.base):
        return _numeric_fields(spec.base, f"{path}.")
    if get_origin(spec.base) is tuple:
        args = get_args(spec.base)
        items = [args[0]] if len(args) == 2 and args[1] is Ellipsis else list(args)
        out = []
        for i, item in enumerate(items):
            b, cons, opt = unwrap_annotation(item)
            out += _numeric_in(f"{path}[{i}]", Spec(b, cons, opt))
        return out
    if spec.is_number:
        return [(path, spec)]
    return []


@pytest.mark.parametrize("model", [Scenario, Policy], ids=lambda m: m.__name__)
def test_every_numeric_field_is_bounded(model: type[BaseModel]) -> None:
    """'Out of range' must be defined for every number a file can set."""
    fields = _numeric_fields(model)
    assert fields
    unbounded = [
        f"{path} ({'no lower bound' if s.lower is None else 'no upper bound'})"
        for path, s in fields
        if s.lower is None or s.upper is None
    ]
    assert not unbounded, f"numeric fields without both bounds: {unbounded}"


# --------------------------------------------------------------------------------------
# (a) Dropping a key or a list item


DROP_TARGETS = [Target(s, p) for s in SOURCES for p, _ in walk(s.raw)]


def drop_expectation(target: Target, raw: dict[str, Any]) -> str:
    parent = get(raw, target.path[:-1])
    key = target.path[-1]
    if is_leaf(parent):
        # The tree gives a leaf's unit, and its source when the value is the default.
        entry = tree_entry(target.source, target.path[:-1])
        if key == "unit" and entry is not None and entry.unit:
            return MAY_ACCEPT
        if key == "source" and is_tree_default(target.source, target.path[:-1], parent["value"]):
            return MAY_ACCEPT
        return MAY_ACCEPT if key == "note" else REJECT
    if isinstance(parent, list):
        container = spec_at(target.source.model, target.path[:-1])
        assert container is not None
        args = get_args(container.base)
        if len(args) == 2 and args[1] is Ellipsis:
            least = container.bound(at.MinLen) or 0
            return MAY_ACCEPT if len(parent) - 1 >= least else REJECT
        return REJECT
    spec = target.spec
    assert spec is not None, target
    if tree_has(target.source, target.path):
        return MAY_ACCEPT  # the tree's default fills it
    return REJECT if spec.required else MAY_ACCEPT


@SETTINGS
@given(target=st.sampled_from(DROP_TARGETS))
def test_dropping_a_key(target: Target) -> None:
    raw = target.source.raw
    expect = drop_expectation(target, raw)
    parent = get(raw, target.path[:-1])
    del parent[target.path[-1]]
    # Without one of its items, the list as a whole is what changed.
    changed = Target(target.source, target.path[:-1]) if isinstance(parent, list) else target
    check(changed, raw, expect, f"drop {target!r}")


# --------------------------------------------------------------------------------------
# (b) Changing the type of a node


SAFE_KEY = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=8).filter(
    lambda k: k not in LEAF_KEYS
)
TEXT = st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=12)
INTS = st.integers(-(10**6), 10**6)
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
LISTS = st.lists(st.one_of(TEXT, INTS, FLOATS), max_size=3)
DICTS = st.dictionaries(SAFE_KEY, st.one_of(TEXT, INTS), min_size=1, max_size=2)


def other_types(node: Any) -> st.SearchStrategy[Any]:
    """Values of a different type than ``node``."""
    if isinstance(node, bool):
        return st.one_of(TEXT, INTS, FLOATS, LISTS, DICTS, st.none())
    if is_number(node):
        return st.one_of(TEXT, st.booleans(), LISTS, DICTS, st.none())
    if node is None:
        return st.one_of(TEXT, st.booleans(), LISTS, DICTS)
    if isinstance(node, str):
        return st.one_of(INTS, FLOATS, st.booleans(), LISTS, DICTS, st.none())
    if isinstance(node, dt.date):
        return st.one_of(
            st.dates().map(dt.date.isoformat),
            INTS,
            FLOATS,
            st.booleans(),
            st.datetimes(),
            st.none(),
        )
    if isinstance(node, dict):
        others = st.one_of(INTS, FLOATS, TEXT, st.booleans(), LISTS, st.none())
        if is_leaf(node):
            # Half the time: the same value, written bare (without unit and source).
            return st.one_of(st.just(node["value"]), others)
        return others
    if isinstance(node, list):
        return st.one_of(INTS, FLOATS, TEXT, st.booleans(), DICTS, st.none())
    raise AssertionError(f"unexpected node {node!r}")


def could_be_valid(spec: Spec, value: Any) -> bool:
    """Whether ``value`` has a type the field accepts (so rejection is not guaranteed)."""
    if spec is DOC:
        return isinstance(value, str)
    if value is None:
        return spec.optional
    base = spec.base
    if get_origin(base) is Literal or base is str:
        return isinstance(value, str)
    if base is bool:
        return isinstance(value, bool)
    if base is float:
        return is_number(value)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base is dt.date:
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if is_model(base):
        return isinstance(value, dict)
    if get_origin(base) is tuple:
        return isinstance(value, list)
    return True


TYPE_TARGETS = DROP_TARGETS


@SETTINGS
@given(data=st.data(), target=st.sampled_from(TYPE_TARGETS))
def test_changing_the_type_of_a_node(data: st.DataObject, target: Target) -> None:
    raw = target.source.raw
    node = get(raw, target.path)
    value = data.draw(other_types(node), label="new value")
    spec = target.spec
    assert spec is not None, target
    expect = MAY_ACCEPT if could_be_valid(spec, value) else REJECT
    if "value" not in target.path and is_bare_number(value):
        expect = REJECT  # every number in these files must say its unit and source
        if is_tree_default(target.source, target.path, value):
            expect = MAY_ACCEPT  # ... unless it is the tree's default, which inherits them
    put(raw, target.path, value)
    check(target, raw, expect, f"{target!r} := {value!r}")


# --------------------------------------------------------------------------------------
# (c) Pushing a number out of its allowed range


def _is_numeric_target(target: Target, node: Any) -> bool:
    spec = target.spec
    return (
        spec is not None
        and spec is not DOC
        and spec.is_number
        and (is_number(node) or node is None)
    )


RANGE_TARGETS = [t for t in DROP_TARGETS if _is_numeric_target(t, get(t.source.raw, t.path))]


def just_outside(spec: Spec) -> list[Any]:
    out: list[Any] = []
    for side, sign in ((spec.lower, -1), (spec.upper, +1)):
        if side is None:
            continue
        bound, inclusive = side
        if spec.is_int:
            out.append(int(bound) + sign * (1 if inclusive else 0))
        else:
            if not inclusive:
                out.append(float(bound))
            out.append(bound + sign * 1e-6 * max(1.0, abs(bound)))
    return out


def out_of_range(spec: Spec, current: Any) -> st.SearchStrategy[Any]:
    extremes = [math.nan, math.inf, -math.inf, 1e300, -1e300, 10**400, -(10**400)]
    options = [st.sampled_from(just_outside(spec) + extremes)]
    if spec.lower is not None:
        bound, inclusive = spec.lower
        if spec.is_int:
            options.append(st.integers(max_value=int(bound) - (1 if inclusive else 0)))
        else:
            options.append(st.floats(max_value=bound, exclude_max=inclusive, allow_nan=False))
    if spec.upper is not None:
        bound, inclusive = spec.upper
        if spec.is_int:
            options.append(st.integers(min_value=int(bound) + (1 if inclusive else 0)))
        else:
            options.append(st.floats(min_value=bound, exclude_min=inclusive, allow_nan=False))
    step = spec.bound(at.MultipleOf)
    if step is not None and spec.lower and spec.upper:
        options.append(
            st.integers(int(spec.lower[0]), int(spec.upper[0])).filter(lambda x: x % step != 0)
        )
    if spec.is_int:
        options.append(st.integers(-(10**6), 10**6).map(lambda i: i + 0.5))
    return st.one_of(options)


def violates(spec: Spec, value: Any) -> bool:
    if not is_number(value):
        return True
    if spec.is_int and not isinstance(value, int):
        return True
    try:
        x = float(value)
    except OverflowError:
        return True  # beyond any float, so beyond every bound
    if not math.isfinite(x):
        return True
    if spec.lower is not None:
        bound, inclusive = spec.lower
        if value < bound or (not inclusive and value == bound):
            return True
    if spec.upper is not None:
        bound, inclusive = spec.upper
        if value > bound or (not inclusive and value == bound):
            return True
    step = spec.bound(at.MultipleOf)
    return step is not None and value % step != 0


@SETTINGS
@given(data=st.data(), target=st.sampled_from(RANGE_TARGETS))
def test_pushing_a_number_out_of_range(data: st.DataObject, target: Target) -> None:
    raw = target.source.raw
    spec = target.spec
    assert spec is not None
    value = data.draw(out_of_range(spec, get(raw, target.path)), label="new value")
    assume(violates(spec, value))
    put(raw, target.path, value)
    check(target, raw, REJECT, f"{target!r} := {value!r}", allowed=True)


def test_range_targets_cover_every_numeric_leaf() -> None:
    """Every number in the files (and the null cap_idr) is a target of the range test."""
    assert len(RANGE_TARGETS) >= 20
    for source in SOURCES:
        numbers = [p for p, node in walk(source.raw) if is_number(node)]
        targeted = {t.path for t in RANGE_TARGETS if t.source == source}
        assert set(numbers) <= targeted, set(numbers) - targeted


# --------------------------------------------------------------------------------------
# Unknown keys


MAPPING_TARGETS = [Target(s, ()) for s in SOURCES] + [
    Target(t.source, t.path) for t in DROP_TARGETS if isinstance(get(t.source.raw, t.path), dict)
]
RECORD_LIKE = st.sampled_from(
    ["Calendar", "Structure", "Scenario", "Policy", "Budget", "Multipliers", "function-after"]
)
NEW_KEY = st.one_of(
    RECORD_LIKE,
    st.text(st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"]), min_size=1, max_size=12),
).filter(lambda k: k not in LEAF_KEYS and k not in FIELDS_NOT_IN_FILES)


@SETTINGS
@given(target=st.sampled_from(MAPPING_TARGETS), key=NEW_KEY, value=st.one_of(TEXT, st.booleans()))
def test_adding_an_unknown_key(target: Target, key: str, value: Any) -> None:
    raw = target.source.raw
    node = get(raw, target.path)
    assume(key not in node)
    node[key] = value
    child = Target(target.source, (*target.path, key))
    check(child, raw, REJECT, f"{target!r} gets unknown key {key!r}")
    with pytest.raises(ConfigError) as info:
        target.source.load(raw)
    assert repr(key) in str(info.value), f"the message does not name the key {key!r}: {info.value}"


def test_unknown_key_with_a_line_break_still_gives_one_line() -> None:
    source = SOURCES[0]
    raw = source.raw
    raw["calendar"]["horizon\nmonths"] = "x"
    with pytest.raises(ConfigError) as info:
        source.load(raw)
    assert "\n" not in str(info.value), repr(str(info.value))


# --------------------------------------------------------------------------------------
# Variants: a change to an invalid value is refused when the variant is applied


BASE_POLICIES = {p: load_policy(p) for p in POLICY_FILES}
VARIANT_TARGETS = [
    (p, path)
    for p in POLICY_FILES
    for path, node in walk(_RAW[p])
    if is_leaf(node) or not isinstance(node, dict | list)
    if not any(part in LEAF_KEYS for part in path) and path[0] not in ("name", "description")
]


@SETTINGS
@given(data=st.data(), target=st.sampled_from(VARIANT_TARGETS))
def test_variant_with_an_invalid_value(data: st.DataObject, target: tuple[Path, Path_]) -> None:
    policy_file, path = target
    spec = spec_at(Policy, path)
    assert spec is not None and spec is not DOC
    current = get(_RAW[policy_file], path)
    current = current["value"] if is_leaf(current) else current
    if spec.is_number:
        value = data.draw(st.one_of(out_of_range(spec, current), other_types(current or 0.0)))
        invalid = violates(spec, value) and not (value is None and spec.optional)
    else:
        value = data.draw(other_types(current))
        invalid = not could_be_valid(spec, value)
    assume(invalid)
    change = ".".join(map(str, path))
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "variant.yaml"
        file.write_text(
            yaml.safe_dump({"name": "v", "description": "d", "changes": {change: value}}),
            encoding="utf-8",
        )
        what = f"variant of {policy_file.name}: {change} := {value!r}"
        err = error_of(what, lambda: apply_variant(BASE_POLICIES[policy_file], load_variant(file)))
    assert err is not None, f"{what}: silently accepted"
    text = str(err)
    assert "\n" not in text, f"{what}: not one line: {text!r}"
    assert related(err.path, change), f"{what}: names {err.path!r}: {text}"
    assert "variant.yaml" in text, f"{what}: does not name the file: {text}"
