"""Inputs resolved once: a scenario, its policies and every file they name, in one bundle.

:func:`resolve` turns a scenario and a policy (or a policy and its variants, or a
:class:`~simlib.params.policy.PolicySchedule`) into :class:`Inputs`: frozen, self-contained
and hashed by content. It reads every file a run depends on, once:

* each agency's organisation CSV (``agencies[i].org_csv``: its bytes);
* the training plan and the campaign the policy's levers name (``training.plan``,
  ``campaign.file``: validated records), for the agencies they apply to;
* the regulation tables of :data:`simlib.params.tables.TABLE_FILES` (their bytes, a
  :class:`~simlib.params.tables.TableSet`);
* the files the scenario's and the base policy's values come from besides their own: the
  parents of their ``extends`` chains and the parameter trees (hashed only,
  :func:`simlib.params.tree.parameter_files`), so editing the tree re-runs what rests on it.

The engine (:func:`simlib.engine.model.simulate`) then runs on the bundle without opening
a file. :attr:`Inputs.sha256` hashes :meth:`Inputs.content`: the records without file
names and parameter documentation, the content of every file read, and nothing about
where the files lie, so a copy of ``data/`` elsewhere gives the same hash and an edit to
any file a run reads gives another. With the seed, the replication and the code version
it is the run key (:func:`simlib.store.runstore.run_key`).

Checks that need the scenario and the policy together are made here, as one-line
:class:`~simlib.core.errors.ConfigError`: the agencies a lever names exist, a campaign ends
inside the run, and the levers do not change at an effective date.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simlib.core.errors import ConfigError
from simlib.params import tables as table_files
from simlib.params import tree
from simlib.params.campaign import Campaign, campaign_months, load_campaign
from simlib.params.policy import Policy, PolicySchedule, Variant, build_schedule
from simlib.params.scenario import Scenario
from simlib.params.tables import TableSet
from simlib.params.training import TrainingPlan, load_training

__all__ = ["AgencyInputs", "InputCache", "InputFile", "Inputs", "content_hash", "resolve"]

#: Fields of the records that name files or document parameters: not part of the content.
NOT_CONTENT = {"docs", "source_file"}
#: The policy's levers that name files (their content is in :attr:`Inputs.agencies`).
LEVERS = ("training", "campaign")
#: Roles of the files values come from (``extends`` parents, parameter trees).
PARAMETER_ROLES = ("parent", "parameters")


def content_hash(obj: Any) -> str:
    """SHA-256 of a JSON-serialisable object, independent of key order."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class InputFile:
    """One file a run's inputs were read from: its role, where it is named, and its hash."""

    role: str
    field: str
    path: Path
    sha256: str


@dataclass(frozen=True, eq=False)
class AgencyInputs:
    """What one agency's run needs besides the scenario's parameters.

    Attributes
    ----------
    name
        The agency's name.
    org_csv
        The bytes of its organisation CSV, or ``None`` if its structure is generated.
    org_csv_path
        Where the CSV was read (named in messages only).
    training
        The training plan it runs, or ``None``.
    campaign, campaign_start_month, objective_weight
        The campaign it runs (or ``None``), the month it starts, and the share of the
        campaign staff's hasil kerja taken from its measured coverage while it runs.
    """

    name: str
    org_csv: bytes | None = None
    org_csv_path: str = ""
    training: TrainingPlan | None = None
    campaign: Campaign | None = None
    campaign_start_month: int = 0
    objective_weight: float = 0.0

    def content(self) -> dict[str, Any]:
        """JSON-ready content: the CSV's hash and the records (no paths, no documentation)."""
        return {
            "name": self.name,
            "org_csv_sha256": (
                None if self.org_csv is None else hashlib.sha256(self.org_csv).hexdigest()
            ),
            "training": _dump(self.training),
            "campaign": _dump(self.campaign),
            "campaign_start_month": self.campaign_start_month if self.campaign else None,
            "objective_weight": self.objective_weight if self.campaign else None,
        }


@dataclass(frozen=True, eq=False)
class Inputs:
    """A run's inputs, resolved: frozen, self-contained and hashed by content.

    Attributes
    ----------
    scenario
        The simulated world.
    schedule
        The policy in force month by month.
    agencies
        Per agency of the scenario, in its order: what was read for it.
    tables
        The regulation tables the run uses.
    files
        Every file read, with its role, the field that names it and its SHA-256 (for
        manifests; the paths are not part of :attr:`sha256`).
    sha256
        Hash of :meth:`content`.
    """

    scenario: Scenario
    schedule: PolicySchedule
    agencies: tuple[AgencyInputs, ...]
    tables: TableSet
    files: tuple[InputFile, ...] = ()
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        if len(self.agencies) != len(self.scenario.agencies):
            raise ValueError("one AgencyInputs per agency of the scenario")
        object.__setattr__(self, "sha256", content_hash(self.content()))

    def content(self) -> dict[str, Any]:
        """Everything the run depends on besides its seed and the code, JSON-ready.

        ``{"scenario": ..., "policies": [{"start_month": m, ...}, ...], "agencies": [...],
        "tables": {file name: sha256}}``: the scenario and policies without file names,
        levers (their content is in ``agencies``) and parameter documentation.
        """
        scenario = _dump(self.scenario, exclude={"baseline_policy"})
        for agency in scenario["agencies"]:
            agency.pop("org_csv", None)
        return {
            "scenario": scenario,
            "policies": [
                {"start_month": m, **_dump(p, exclude=set(LEVERS))}
                for m, p in self.schedule.entries
            ],
            "agencies": [a.content() for a in self.agencies],
            "tables": dict(self.tables.sha256),
            "parameter_files": {f.field: f.sha256 for f in self.files if f.role in PARAMETER_ROLES},
        }


def _dump(record: Any, *, exclude: set[str] = frozenset()) -> Any:
    if record is None:
        return None
    return record.model_dump(mode="json", exclude=NOT_CONTENT | set(exclude))


class InputCache:
    """What :func:`resolve` has read, by resolved path: each file read once for many inputs.

    A sweep resolves every arm and uncertainty sample with one cache, so the tables and
    each referenced file are read (and their bytes held) once, and the bundles share them.
    """

    def __init__(self) -> None:
        self._bytes: dict[Path, bytes] = {}
        self._records: dict[tuple[str, Path], Any] = {}
        self._tables: TableSet | None = None

    def read_bytes(self, path: Path) -> bytes:
        """The bytes of ``path`` (read once)."""
        path = path.resolve()
        if path not in self._bytes:
            self._bytes[path] = path.read_bytes()
        return self._bytes[path]

    def record(self, kind: str, path: Path) -> Any:
        """The validated training plan or campaign in ``path`` (loaded once)."""
        key = (kind, path.resolve())
        if key not in self._records:
            load = load_training if kind == "training" else load_campaign
            self._records[key] = load(key[1])
        return self._records[key]

    def tables(self) -> TableSet:
        """The regulation tables (read once)."""
        if self._tables is None:
            self._tables = table_files.read_tables()
        return self._tables

    def sha256(self, path: Path) -> str:
        """SHA-256 of the bytes of ``path``."""
        return hashlib.sha256(self.read_bytes(path)).hexdigest()


def resolve(
    scenario: Scenario,
    policy: Policy | PolicySchedule,
    variants: tuple[Variant, ...] = (),
    *,
    cache: InputCache | None = None,
) -> Inputs:
    """Read everything a run of ``scenario`` under ``policy`` needs, into one bundle.

    Parameters
    ----------
    scenario
        The simulated world (validated).
    policy
        The base policy, or a schedule already built (then ``variants`` must be empty).
    variants
        Variants applied to ``policy`` by :func:`~simlib.params.policy.build_schedule`.
    cache
        Files already read for other inputs (see :class:`InputCache`).

    Returns
    -------
    Inputs
        Frozen, self-contained, with its content hash.

    Raises
    ------
    ConfigError
        A file is missing or invalid, a lever names an agency the scenario does not have,
        a campaign does not end inside the run, or a dated variant changes a lever.
    """
    cache = InputCache() if cache is None else cache
    if isinstance(policy, PolicySchedule):
        if variants:
            raise TypeError("variants apply to a base policy, not to a schedule")
        schedule = policy
    else:
        schedule = build_schedule(
            policy,
            variants,
            month_of=scenario.month_of,
            horizon_months=scenario.calendar.horizon_months,
        )
    first = schedule.entries[0][1]
    _levers_stay(schedule, variants)
    files: list[InputFile] = []
    agencies = []
    for i, spec in enumerate(scenario.agencies):
        agency: dict[str, Any] = {"name": spec.name}
        if spec.org_csv is not None:
            where = f"agencies[{i}].org_csv"
            path = scenario.existing(spec.org_csv, "organisation CSV", field=where)
            agency["org_csv"] = cache.read_bytes(path)
            agency["org_csv_path"] = str(path)
            files.append(InputFile("org_csv", where, path, cache.sha256(path)))
        agencies.append(agency)
    names = [spec.name for spec in scenario.agencies]
    training = first.training
    if training is not None:
        path = first.resolve(training.plan)
        plan = cache.record("training", path)
        for k in _applies_to(training.agencies, names, first, "training", variants):
            agencies[k]["training"] = plan
        files.append(InputFile("training", "policy.training.plan", path, cache.sha256(path)))
    lever = first.campaign
    if lever is not None:
        path = first.resolve(lever.file)
        campaign = cache.record("campaign", path)
        _ends_inside(lever, campaign, scenario, _blame(first, "campaign", variants))
        for k in _applies_to(lever.agencies, names, first, "campaign", variants):
            agencies[k].update(
                campaign=campaign,
                campaign_start_month=lever.start_month,
                objective_weight=lever.objective_weight,
            )
        files.append(InputFile("campaign", "policy.campaign.file", path, cache.sha256(path)))
    for record, kind in ((scenario, "scenario"), (first, "policy")):
        files += [
            InputFile(role, where, path, cache.sha256(path))
            for role, where, path in tree.parameter_files(record, kind)
        ]
    tables = cache.tables()
    files += [
        InputFile("table", f"tables/{name}", table_files.TABLES / name, tables.sha256[name])
        for name, _ in tables.content
    ]
    return Inputs(
        scenario=scenario,
        schedule=schedule,
        agencies=tuple(AgencyInputs(**a) for a in agencies),
        tables=tables,
        files=tuple(files),
    )


def _blame(policy: Policy, lever: str, variants: tuple[Variant, ...]) -> str | None:
    """The file that set ``lever``: the last variant changing it, else the policy's file."""
    for variant in reversed(variants):
        if any(k == lever or k.startswith(f"{lever}.") for k in variant.changes):
            return variant.source_file
    return policy.source_file or None


def _applies_to(
    wanted: tuple[str, ...], names: list[str], policy: Policy, lever: str, variants
) -> list[int]:
    """Positions of the agencies a lever applies to (all when it names none)."""
    if not wanted:
        return list(range(len(names)))
    unknown = [w for w in wanted if w not in names]
    if unknown:
        raise ConfigError(
            f"{unknown[0]!r} is not an agency of the scenario; allowed: "
            f"{', '.join(repr(n) for n in names)}",
            file=_blame(policy, lever, variants),
            path=f"{lever}.agencies",
        )
    return [k for k, n in enumerate(names) if n in wanted]


def _ends_inside(lever: Any, campaign: Campaign, scenario: Scenario, file) -> None:
    months = campaign_months(campaign)
    horizon = scenario.calendar.horizon_months
    if lever.start_month + months > horizon:
        raise ConfigError(
            f"{lever.start_month} is too late: the campaign lasts {months} months and the run "
            f"{horizon}; allowed: 0 to {horizon - months}",
            file=file,
            path="campaign.start_month",
        )


def _levers_stay(schedule: PolicySchedule, variants: tuple[Variant, ...]) -> None:
    """The training plan and the campaign are the run's: no variant changes them at a date."""
    first = schedule.entries[0][1]
    for month, policy in schedule.entries[1:]:
        for lever in LEVERS:
            if getattr(policy, lever) != getattr(first, lever):
                dated = [v for v in variants if v.effective_date is not None]
                file = _blame(policy, lever, tuple(dated)) if dated else None
                raise ConfigError(
                    f"the {lever} lever changes at month {month}; allowed: a {lever} lever "
                    "for the whole run (set it in a variant without effective_date)",
                    file=file,
                    path=f"changes.{lever}",
                )
