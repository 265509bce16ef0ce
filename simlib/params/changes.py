"""Deriving one parameter record from another: dotted-path changes, validated whole.

:func:`apply_changes` is the one way to make a record that differs from another in a few
values (a policy variant, a sampled uncertainty, a command-line switch, a test's variant).
It works on any frozen :class:`~simlib.params.config.Record`::

    apply_changes(scenario, {"calendar.horizon_months": 36, "agencies.0.structure.employees": 90})

A path names fields the record has (list items by position); it cannot add a key. The
changed tree is validated *whole* with the record's own model, so cross-field validators
run on the result as they do when a file is loaded (pydantic's ``model_copy`` skips them).
The result keeps the record's ``source_file`` and merges ``docs``. Errors are the usual
one-line :class:`~simlib.core.errors.ConfigError`: file, field path, value, what is allowed.

Only the loader itself (:func:`simlib.params.config.record_from_dict`), which fills the reserved
fields ``docs`` and ``source_file``, still sets fields without this function.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from simlib.core.errors import ConfigError
from simlib.params.config import RESERVED, Documented, _record_type, validate

__all__ = ["apply_changes", "record_at"]

R = TypeVar("R", bound=BaseModel)


def apply_changes(
    record: R,
    changes: Mapping[str, Any],
    *,
    file: str | Path | None = None,
    where: str = "",
    docs: Mapping[str, Documented] | None = None,
) -> R:
    """Return a copy of ``record`` with ``changes``, validated whole before it is returned.

    Parameters
    ----------
    record
        A frozen parameter record (scenario, policy, plan, experiment, or a part of one).
    changes
        Dotted field paths and their new values: ``{"budget.over_cap_rule": "rank_order"}``,
        ``{"agencies.0.structure.employees": 90}``. A value may be a record or plain data.
        Changes apply in order.
    file
        The file the changes were written in, named in errors (default: none).
    where
        Where the changes sit inside ``file`` (``"changes"``, ``"arms[1].scenario_changes"``),
        prefixed to the field path in errors.
    docs
        Unit and source of the changed values, keyed by dotted path; merged over the
        record's own ``docs`` (when it has that field).

    Returns
    -------
    record
        A new record of the same model; ``record`` is unchanged.

    Raises
    ------
    ConfigError
        If a path names no field of the record (``allowed`` lists the keys there), or the
        changed record is invalid (the message names the field, the value and what is
        allowed).
    """
    model = type(record)
    data = _as_data(record)
    for dotted, value in changes.items():
        if not isinstance(dotted, str) or not dotted:
            raise ConfigError(
                f"change key {dotted!r}: allowed: a dotted field path", file=file, path=where
            )
        parts = dotted.split(".")
        data = _set(data, parts, _as_data(value), model, dotted=dotted, file=file, where=where)
    fields = model.model_fields
    if "source_file" in fields:
        data["source_file"] = record.source_file
    if "docs" in fields:
        data["docs"] = {**record.docs, **(docs or {})}
    try:
        return validate(model, data, file=file)
    except ConfigError as exc:
        path = f"{where}: {exc.path}" if where else exc.path
        raise ConfigError(exc.message, file=file, path=path) from None


def record_at(model: type[BaseModel], parts: list[str] | tuple[str, ...]) -> Any:
    """The record model at the dotted path ``parts`` inside ``model``, or ``None``.

    Positions of lists are skipped; ``None`` when the path leaves the records (it ends in a
    mapping or a value field, or names no field).
    """
    current: Any = model
    for part in parts:
        if part.isdigit():
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return None
        current = _record_type(fields[part].annotation)
        if current is None:
            return None
    return current


def _as_data(value: Any) -> Any:
    """A record as nested plain data, so that validation sees the whole tree.

    Records become mappings of all their fields; tuples, lists and mappings are walked.
    """
    if isinstance(value, BaseModel):
        return {name: _as_data(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, tuple | list):
        return type(value)(_as_data(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_data(v) for k, v in value.items()}
    return value


def _set(
    node: Any,
    parts: list[str],
    value: Any,
    model: type[BaseModel],
    *,
    dotted: str,
    file: Any,
    where: str,
    depth: int = 0,
) -> Any:
    """``node`` with ``value`` at ``parts[depth:]``; copies along the path, no new keys."""
    part = parts[depth]
    here = ".".join(parts[:depth]) or "the record"
    path = f"{where}.{dotted}" if where else dotted
    last = depth == len(parts) - 1
    if isinstance(node, tuple | list):
        if not part.isdigit() or int(part) >= len(node):
            allowed = f"0 to {len(node) - 1}" if node else "none (the list is empty)"
            raise ConfigError(
                f"{part!r} is not a position of {here}; allowed: {allowed}", file=file, path=path
            )
        items = list(node)
        i = int(part)
        items[i] = value if last else _set(
            items[i], parts, value, model, dotted=dotted, file=file, where=where, depth=depth + 1
        )  # fmt: skip
        return type(node)(items)
    if isinstance(node, dict):
        in_record = record_at(model, parts[:depth]) is not None
        keys = [k for k in node if not (in_record and k in RESERVED)]
        if part not in keys:
            allowed = ", ".join(sorted(map(str, keys))) or "none"
            raise ConfigError(
                f"unknown key {part!r} of {here}; allowed: {allowed}", file=file, path=path
            )
        out = dict(node)
        out[part] = value if last else _set(
            node[part], parts, value, model, dotted=dotted, file=file, where=where, depth=depth + 1
        )  # fmt: skip
        return out
    raise ConfigError(
        f"{here} is a value ({node!r}), not a section; allowed: a path that ends at {here}",
        file=file,
        path=path,
    )
