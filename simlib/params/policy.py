"""Policies: the rules of rating, appraisal, pay and budget, and variants of them.

A *policy* file (``data/policies/*.yaml``) states every rule in full, each numeric
parameter documented with unit and source. A *variant* is a small override file::

    name: Steeper tukin tiers
    description: ...
    effective_date: 2026-01-01        # optional: the change takes effect inside the run
    changes:
      incentives.multipliers.baik: {value: 0.9, unit: share, source: "variant design"}
      appraisal.distribution_curve.enforce: true

Every path must exist in the base policy; the changed policy is validated whole before it
is used, so an invalid variant never yields a partial policy (the PolicyEngine lesson).
:class:`PolicySchedule` holds the policy in force month by month.

Besides the rules, a policy holds two levers that name files: ``training`` (a training
plan, ``data/training``, run every quarter) and ``campaign`` (a citizen-facing campaign,
``data/services``, with its start month and the weight of its coverage in the staff's
hasil kerja); both ``null`` by default, both for every agency of the scenario unless
``agencies`` names some. A path written in a policy resolves from the policy's folder, one
written in a variant from the variant's (a variant's paths are made absolute when it is
loaded, as it changes another file's record)::

    name: Training first
    description: ...
    changes:
      training: {plan: ../training/programmes.yaml}
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from simlib.core.domain import AGGREGATION_RULES, ORG_PREDIKAT, PREDIKAT
from simlib.core.errors import ConfigError
from simlib.params import tree
from simlib.params.careers import CareersLever
from simlib.params.changes import apply_changes
from simlib.params.config import (
    Documented,
    FromFile,
    Record,
    read_yaml,
    require_documented,
    take_kind,
    unwrap,
    validate,
)
from simlib.params.tables import tukin_table

__all__ = [
    "Aggregation",
    "Appraisal",
    "Budget",
    "CampaignLever",
    "DistributionCurve",
    "Incentives",
    "Multipliers",
    "Policy",
    "PolicySchedule",
    "SourceWeights",
    "TrainingLever",
    "Variant",
    "apply_variant",
    "build_schedule",
    "load_policy",
    "load_policy_or_variant",
    "load_variant",
]

#: Sections of a policy that a variant may change (its name and description are its own).
CHANGEABLE = (
    "appraisal", "incentives", "budget", "change_management", "training", "campaign", "careers",
)  # fmt: skip
#: The levers that name a file, and the field that names it (resolved from the file's folder).
LEVER_FILES = {"training": "plan", "campaign": "file"}
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Cutoff = Annotated[float, Field(ge=-5.0, le=5.0)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Text = Annotated[str, Field(max_length=2000)]


class DistributionCurve(Record):
    """Enforcement of the SE MenPANRB 03/2023 distribution curve on annual predikat."""

    enforce: bool
    tie_break: Literal["toward_higher", "toward_lower"]
    #: "sebagian besar" (the majority) means strictly more than this share of employees.
    majority_share: Annotated[float, Field(ge=0.0, lt=1.0)]


class SourceWeights(Record):
    """Weights of the rating sources in the ``weighted`` aggregation rule."""

    self: Share
    supervisor: Share
    peer: Share
    subordinate: Share
    service_user: Share

    def as_tuple(self) -> tuple[float, ...]:
        """Weights in source-code order (self, supervisor, peer, subordinate, service user)."""
        return (self.self, self.supervisor, self.peer, self.subordinate, self.service_user)


class Aggregation(Record):
    """How multi-source perilaku ratings become one score (see ``appraisal.aggregate``)."""

    rule: Literal[AGGREGATION_RULES]
    weights: SourceWeights
    trim_share: Annotated[float, Field(ge=0.0, le=0.45)]

    @field_validator("weights")
    @classmethod
    def _some_weight(cls, value: SourceWeights, info: ValidationInfo) -> SourceWeights:
        if info.data.get("rule") == "weighted" and not any(value.as_tuple()):
            raise ValueError(
                "every weight is 0 under the 'weighted' rule; allowed: at least one source "
                "with a weight above 0"
            )
        return value


class Appraisal(Record):
    """How ratings become predikat (PermenPANRB 6/2022; PP 30/2019)."""

    rater: Literal["supervisor", "multi_source"]
    aggregation: Aggregation
    skp_weight: Share
    cutoff_below: Cutoff
    cutoff_above: Cutoff
    organisation_predikat: Literal[("derived", *ORG_PREDIKAT)]
    org_cutoffs: Annotated[tuple[Cutoff, ...], Field(min_length=4, max_length=4)]
    distribution_curve: DistributionCurve
    pay_basis: Literal["periodic", "annual"]

    @field_validator("cutoff_above")
    @classmethod
    def _above_below(cls, value: float, info: ValidationInfo) -> float:
        below = info.data.get("cutoff_below")
        if below is not None and not value > below:
            raise ValueError(f"allowed: a value above cutoff_below ({below})")
        return value

    @field_validator("org_cutoffs")
    @classmethod
    def _increasing(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError(
                "allowed: four strictly increasing bounds (Sangat Kurang | Kurang | "
                "Butuh Perbaikan | Baik | Istimewa)"
            )
        return value


Multiplier = Annotated[float, Field(ge=0.0, le=3.0)]


class Multipliers(Record):
    """Share of the performance part of tukin paid, by predikat."""

    sangat_baik: Multiplier
    baik: Multiplier
    butuh_perbaikan: Multiplier
    kurang: Multiplier
    sangat_kurang: Multiplier

    def as_tuple(self) -> tuple[float, ...]:
        """Multipliers in predikat-code order (best first)."""
        return tuple(getattr(self, p) for p in PREDIKAT)


class Incentives(Record):
    """Tukin or TPP: a table by kelas jabatan, with cuts for performance and absence."""

    tukin_table: Name
    table_scale: Annotated[float, Field(ge=0.0, le=5.0)]
    performance_share: Share
    multipliers: Multipliers
    absence_deduction_per_day: Share

    @field_validator("tukin_table")
    @classmethod
    def _known_table(cls, name: str) -> str:
        try:
            tukin_table(name)
        except ConfigError as exc:
            raise ValueError(exc.message) from None
        return name


class Budget(Record):
    """The annual tukin budget cap and what happens when payments would exceed it."""

    cap_share_of_entitlement: Annotated[float, Field(ge=0.0, le=5.0)]
    cap_idr: Annotated[float, Field(ge=0.0, le=1e15)] | None
    over_cap_rule: Literal["prorate", "rank_order"]
    #: Training is paid from the same annual budget as tukin (less is left for pay).
    training_from_tukin_budget: bool


class Socialisation(Record):
    """Leadership socialisation sessions for the new performance system."""

    budget_idr_per_year: Annotated[float, Field(ge=0.0, le=1e13)]
    cost_per_participant_idr: Annotated[float, Field(gt=0.0, le=1e9)]
    capacity_per_month: Annotated[int, Field(ge=0, le=1_000_000)]


class ChangeManagement(Record):
    """How the change is managed: socialisation, transparent indicators, SKP audits."""

    socialisation: Socialisation
    transparent_indicators: bool
    audit_share: Share
    audit_cost_idr_per_skp: Annotated[float, Field(ge=0.0, le=1e9)]


FileName = Annotated[str, Field(min_length=1, max_length=4096)]
AgencyNames = Annotated[tuple[Name, ...], Field(max_length=1000)]


class TrainingLever(Record):
    """Competence development: a training plan (``data/training``) run every quarter."""

    plan: FileName
    #: Names of the scenario's agencies that train; empty: every agency.
    agencies: AgencyNames = ()


class CampaignLever(Record):
    """A citizen-facing campaign (``data/services``) the agencies run, and when it starts."""

    file: FileName
    start_month: Annotated[int, Field(ge=0, le=600)]
    #: Share of the campaign staff's hasil kerja taken from the campaign's measured coverage
    #: (an objective indicator, no rater) in the quarters the campaign runs; 0 = none.
    objective_weight: Share = 0.0
    #: Names of the scenario's agencies that run it; empty: every agency.
    agencies: AgencyNames = ()


class Policy(FromFile, Record):
    """A complete set of rules, and the training and campaign levers."""

    file_kind: ClassVar[str] = "policy"

    name: Name
    description: Text
    appraisal: Appraisal
    incentives: Incentives
    budget: Budget
    change_management: ChangeManagement
    training: TrainingLever | None = None
    campaign: CampaignLever | None = None
    #: How vacancies in positions are filled (``None``: a leaver's post goes to an entrant).
    careers: CareersLever | None = None
    source_file: str = ""
    docs: Annotated[dict[str, Documented], Field(repr=False)] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Variant:
    """A named override of a policy, optionally taking effect at a date."""

    name: str
    description: str
    changes: dict[str, Any]
    effective_date: dt.date | None
    source_file: str
    docs: dict[str, Documented]


class _VariantFile(Record):
    name: Name
    description: Text
    effective_date: dt.date | None = None
    changes: dict[str, Any]

    @field_validator("changes")
    @classmethod
    def _nonempty(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError("a variant needs at least one change")
        return value


def load_policy(path: str | Path, *, on: dt.date | None = None) -> Policy:
    """Load and validate a full policy file (and the files its levers name).

    The file is a delta on the policy tree (``data/parameters/policy.yaml``) and may
    ``extends:`` another policy. Dated parameters take the value in force on ``on``, the
    run's start date (default: the scenario tree's default start date).
    """
    path = Path(path)
    return _policy_from_raw(read_yaml(path), path, on=on)


def read_policy(path: str | Path) -> dict[str, Any]:
    """The documented mapping of a policy file: ``extends`` resolved, the tree laid under."""
    path = Path(path)
    return resolve_policy(read_yaml(path), file=path)


def resolve_policy(raw: dict[str, Any], *, file: str | Path | None) -> dict[str, Any]:
    """A policy mapping made whole: its ``extends`` chain merged, the policy tree under it."""
    return tree.resolve(
        raw,
        kind="policy",
        model=Policy,
        file=file,
        check_parent=lambda parent, path: _policy_from_raw(parent, path),
    )


def _policy_from_raw(raw: dict[str, Any], path: Path, *, on: dt.date | None = None) -> Policy:
    raw = resolve_policy(raw, file=path)
    on = on or tree.default_start_date()
    policy = tree.record(Policy, raw, kind="policy", file=path, on=on)
    for lever, key in LEVER_FILES.items():
        record = getattr(policy, lever)
        if record is not None:
            _check_lever_file(lever, policy.resolve(getattr(record, key)), file=path,
                              field=f"{lever}.{key}", written=getattr(record, key))  # fmt: skip
    return policy


def _check_lever_file(lever: str, target: Path, *, file, field: str, written: str) -> None:
    """The file a lever names must exist and load as its kind (one-line errors)."""
    from simlib.params.campaign import load_campaign
    from simlib.params.training import load_training

    what = "training plan" if lever == "training" else "campaign file"
    if not target.is_file():
        raise ConfigError(
            f"{written!r}: {what} not found ({target}); allowed: a path to an existing file, "
            "relative to this file",
            file=file,
            path=field,
        )
    (load_training if lever == "training" else load_campaign)(target)


def _absolute_lever_paths(changes: dict[str, Any], *, folder: Path, file) -> dict[str, Any]:
    """A variant's changes with the lever files it names made absolute, each checked."""
    out = dict(changes)
    for lever, key in LEVER_FILES.items():
        dotted = f"{lever}.{key}"
        if isinstance(out.get(dotted), str):
            written = out[dotted]
            out[dotted] = str((folder / written).resolve())
        elif isinstance(out.get(lever), dict) and isinstance(out[lever].get(key), str):
            written = out[lever][key]
            out[lever] = {**out[lever], key: str((folder / written).resolve())}
        else:
            continue
        target = Path(out[dotted] if dotted in out else out[lever][key])
        _check_lever_file(lever, target, file=file, field=f"changes.{dotted}", written=written)
    return out


def load_variant(path: str | Path) -> Variant:
    """Load a variant (override) file; its paths are checked when it is applied.

    The files its ``training`` or ``campaign`` changes name are resolved from the
    variant's folder, checked, and kept as absolute paths. A variant may ``extends:``
    another variant: the parent's name, description, date and changes, the child's over
    them. A change's unit (and, for the tree's default value, its source) comes from the
    policy tree.
    """
    path = Path(path)
    raw = tree.merge_chain(
        read_yaml(path),
        kind="variant",
        file=path,
        check_parent=lambda parent, file: _variant_from_raw(parent, file),
    )
    return _variant_from_raw(raw, path)


def _variant_from_raw(raw: dict[str, Any], path: Path) -> Variant:
    try:
        plain, _, _ = unwrap({k: v for k, v in raw.items() if k != "changes"})
        changes_raw = raw.get("changes")
        if not isinstance(changes_raw, dict):
            raise ConfigError(
                "a variant needs 'changes': a mapping of dotted policy paths to new values",
                path="changes",
            )
        changes: dict[str, Any] = {}
        docs: dict[str, Documented] = {}
        for key, value in changes_raw.items():
            if not isinstance(key, str):
                raise ConfigError(f"change keys must be dotted paths, got {key!r}", path="changes")
            value = tree.over_tree("policy", key, value, file=None, path=f"changes.{key}")
            on = plain.get("effective_date")
            on = on if isinstance(on, dt.date) else None
            changes[key], leaf_docs, bare = unwrap(value, prefix=key, on=on)
            # A variant changes a parameter: its new number needs a unit and a source too.
            require_documented(changes[key], bare, file=None, prefix=key)
            docs.update(leaf_docs)
    except ConfigError as exc:
        raise exc.in_file(path) from None
    record = validate(_VariantFile, {**plain, "changes": changes}, file=path)
    changes = _absolute_lever_paths(changes, folder=path.resolve().parent, file=path)
    return Variant(record.name, record.description, changes, record.effective_date, str(path), docs)


def load_policy_or_variant(path: str | Path, *, on: dt.date | None = None) -> Policy | Variant:
    """Load a file that is either a full policy or a variant (it has ``changes``).

    The kind comes from a ``kind:`` field, else from the content (``changes``), else from
    the parent a delta ``extends``.
    """
    path = Path(path)
    raw = read_yaml(path)
    take_kind(raw, ("policy", "variant"), file=path)
    if tree.file_kind_of(raw, path) == "variant":
        return load_variant(path)
    return _policy_from_raw(raw, path, on=on)


def apply_variant(policy: Policy, variant: Variant) -> Policy:
    """Return ``policy`` with ``variant``'s changes, validated whole before it is returned.

    The changes go through :func:`simlib.params.changes.apply_changes`; only the rule sections
    (:data:`CHANGEABLE`) may change, not the policy's name or description.
    """
    for dotted in variant.changes:
        part = dotted.split(".")[0]
        if part not in CHANGEABLE:
            raise ConfigError(
                f"unknown policy path {dotted!r}: {part!r} is not a key of the policy; "
                f"allowed: {', '.join(sorted(CHANGEABLE))}",
                file=variant.source_file,
                path=f"changes.{dotted}",
            )
    changes = {
        **variant.changes,
        "name": f"{policy.name} + {variant.name}",
        "description": variant.description,
    }
    return apply_changes(
        policy, changes, file=variant.source_file, where="changes", docs=variant.docs
    )


@dataclass(frozen=True, slots=True)
class PolicySchedule:
    """The policy in force month by month: ``(start_month, policy)`` pairs, sorted."""

    entries: tuple[tuple[int, Policy], ...]

    def at(self, month: float) -> Policy:
        """Policy in force during month ``month`` (months since the start date)."""
        current = self.entries[0][1]
        for start, policy in self.entries:
            if start <= month:
                current = policy
        return current

    @property
    def change_months(self) -> tuple[int, ...]:
        """Months at which a new policy takes effect (after month 0)."""
        return tuple(start for start, _ in self.entries[1:])


def build_schedule(
    base: Policy,
    variants: tuple[Variant, ...] = (),
    *,
    month_of: Any,
    horizon_months: int,
) -> PolicySchedule:
    """Apply variants in order; dated ones start a new entry at their effective month.

    Parameters
    ----------
    base
        The policy in force at month 0.
    variants
        Override files. They apply in order of effective date (an undated variant takes
        effect at month 0), and in the order given among those of the same month; each
        builds on the policy before it.
    month_of
        Function mapping a date to months since the scenario's start (``Scenario.month_of``).
    horizon_months
        Length of the run in months; effective dates must fall inside it.
    """
    dated = []
    for variant in variants:
        month = 0 if variant.effective_date is None else month_of(variant.effective_date)
        if not 0 <= month < horizon_months:
            raise ConfigError(
                f"effective date {variant.effective_date} is outside the run; allowed: "
                f"a date before the horizon ends ({horizon_months} months after the start)",
                file=variant.source_file,
                path="effective_date",
            )
        dated.append((month, variant))
    # Stable sort: variants apply in date order, and in the order given within a month.
    dated.sort(key=lambda item: item[0])
    entries: list[tuple[int, Policy]] = [(0, base)]
    current = base
    for month, variant in dated:
        current = apply_variant(current, variant)
        if month == entries[-1][0]:
            entries[-1] = (month, current)
        else:
            entries.append((month, current))
    return PolicySchedule(tuple(entries))
