"""Scenarios: the simulated world (agencies, workforce, behaviour, horizon), from YAML.

A scenario says *who* is simulated and *how people behave*; a policy (:mod:`simlib.params.policy`)
says *which rules* apply. Scenario files live in ``data/scenarios/``; every numeric leaf is
documented with its unit and source (see :mod:`simlib.params.config`). :func:`load_scenario`
returns a frozen, validated :class:`Scenario` or raises one
:class:`~simlib.core.errors.ConfigError`.

Every scenario is a delta on the parameter tree (``data/parameters/scenario.yaml``,
:mod:`simlib.params.tree`), which declares each parameter once with its default, unit,
source and status: a file writes only what differs. It may also be a short delta on another
file: ``extends: district_health_office`` (a name: the file of that name next to this one,
else in ``data/scenarios``) or ``extends: ../scenarios/x.yaml`` (a path relative to this
file), then only what differs. The parent is
read (recursively, at most :data:`MAX_EXTENDS` deep, no cycles) and validated as a scenario
on its own; the child is laid over it by :func:`~simlib.params.config.merge_delta`, and the whole
result is validated. Mappings merge key by key; lists replace whole, except ``agencies``:
the child's list is the result, and an agency with the same ``name`` as one of the parent's
starts from that agency (``structure: null`` drops an inherited structure for an
``org_csv``). Paths the parent writes (``baseline_policy``, ``org_csv``) keep resolving
from the parent's folder. A top-level ``kind: scenario`` is accepted; another kind is
refused in one line.

Training plans and service campaigns are policy levers, not parts of the world: a policy
or variant names them (``training: {plan: ...}``, ``campaign: {file: ..., start_month:
...}``, :mod:`simlib.params.policy`). A scenario whose agency still names one is refused in
one line that says where it moved (:data:`MOVED_TO_POLICY`).

Time unit: the whole library counts time in **months** from the scenario's start date
(``SimTime``). Every time parameter says its unit in its name.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from simlib.core.domain import PREDIKAT
from simlib.core.errors import ConfigError
from simlib.params import tree
from simlib.params.config import (
    Documented,
    FromFile,
    Record,
    read_yaml,
    require_unique,
)
from simlib.params.tree import MAX_EXTENDS  # noqa: F401  (re-exported: the chain limit)

__all__ = [
    "ADOPTION_STATES",
    "Adoption",
    "AgencySpec",
    "Attendance",
    "Behaviour",
    "ByState",
    "Calendar",
    "Fairness",
    "Flows",
    "Gaming",
    "Latent",
    "MultiSource",
    "Organisation",
    "Outputs",
    "Performance",
    "Raters",
    "Reluctance",
    "Scenario",
    "SimTime",
    "Source",
    "Sources",
    "Structure",
    "load_scenario",
    "read_scenario",
    "resolve_extends",
    "scenario_from_dict",
]

#: Simulation time, in months since the scenario's start date.
SimTime = float

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Text = Annotated[str, Field(max_length=2000)]
ARCHETYPES = ("central_ministry", "provincial_government", "district_health_office", "custom")


#: When a run ends: at its horizon, or at the first year's close at which no one of the
#: workforce at the start remains (needs a policy's careers lever, which tracks them).
STOP_RULES = ("horizon", "no_originals")


class Calendar(Record):
    """Start date and horizon of a run, and the end condition that may stop it sooner.

    ``stop_when: no_originals`` ends an agency's run at the close of the first year in
    which no one of its workforce at the start remains (Martell et al. 1996's end), or at
    the horizon if some still do.
    """

    start_date: dt.date
    horizon_months: Annotated[int, Field(ge=3, le=1200, multiple_of=3)]
    stop_when: Literal[STOP_RULES] = "horizon"

    @field_validator("start_date")
    @classmethod
    def _first_of_january(cls, value: dt.date) -> dt.date:
        if (value.month, value.day) != (1, 1):
            raise ValueError("allowed: 1 January of a year (budget years are calendar years)")
        if not 2000 <= value.year <= 2100:
            raise ValueError("allowed: a year between 2000 and 2100")
        return value


class Structure(Record):
    """A generated agency structure: head, JPT posts, units, sub-units and staff."""

    employees: Annotated[int, Field(ge=2, le=2_000_000)]
    jpt_posts: Annotated[int, Field(ge=1, le=200)]
    units: Annotated[int, Field(ge=1, le=20_000)]
    subunits_per_unit: Annotated[int, Field(ge=0, le=50)]
    fungsional_share: Share
    pppk_share: Share
    female_share: Share
    #: Whether each unit is led by an administrator (false: flat groups whose staff report
    #: to the leadership, as Scullen et al. 2005's groups of ten).
    unit_heads: bool = True

    @model_validator(mode="after")
    def _room_for_staff(self) -> Structure:
        heads = "1 + " if self.unit_heads else ""
        leaders = self.jpt_posts + self.units * (int(self.unit_heads) + self.subunits_per_unit)
        if leaders > self.employees:
            raise ValueError(
                f"{self.employees} employees cannot fill {leaders} leadership posts "
                f"(jpt_posts + units x ({heads}subunits_per_unit)); allowed: employees >= "
                f"{leaders}"
            )
        return self


#: Agency keys that were scenario fields and are policy levers now, and where they went.
MOVED_TO_POLICY = {
    "training": (
        "training plans are policy levers now: name it in a policy or variant "
        "(changes: {training: {plan: <file>, agencies: [<agency>]}}, e.g. "
        "data/policies/training_programmes.yaml)"
    ),
    "campaign": (
        "campaigns are policy levers now: name it in a policy or variant (changes: "
        "{campaign: {file: <file>, start_month: ..., objective_weight: ..., agencies: "
        "[<agency>]}}, e.g. data/policies/vaccination_campaign.yaml)"
    ),
}


class AgencySpec(Record):
    """One simulated agency: generated from ``structure`` or read from ``org_csv``."""

    name: Name
    archetype: Literal[ARCHETYPES]
    structure: Structure | None = None
    org_csv: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_levers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, where in MOVED_TO_POLICY.items():
                if key in data:
                    raise ValueError(f"{key!r} is not a key of an agency: {where}")
        return data

    @model_validator(mode="after")
    def _one_source(self) -> AgencySpec:
        if (self.structure is None) == (self.org_csv is None):
            raise ValueError("give exactly one of 'structure' or 'org_csv'")
        return self


class Latent(Record):
    """Mean and SD of a latent employee attribute (in SD units of the national workforce)."""

    mean: Annotated[float, Field(ge=-3.0, le=3.0)]
    sd: Annotated[float, Field(ge=0.0, le=3.0)]


class Workforce(Record):
    """Latent attributes drawn for every employee."""

    competence: Latent
    motivation: Latent
    openness: Latent
    conduct_motivation_corr: Annotated[float, Field(ge=-1.0, le=1.0)]


class Performance(Record):
    """True performance per quarter: weights of competence and effort, and luck."""

    competence_weight: Annotated[float, Field(ge=0.0, le=5.0)]
    effort_weight: Annotated[float, Field(ge=0.0, le=5.0)]
    noise_sd: Annotated[float, Field(ge=0.0, le=5.0)]
    behaviour_noise_sd: Annotated[float, Field(ge=0.0, le=5.0)]


SD = Annotated[float, Field(ge=0.0, le=10.0)]
Shift = Annotated[float, Field(ge=-3.0, le=3.0)]
Rate = Annotated[float, Field(ge=0.0, le=50.0)]
ADOPTION_STATES = ("resisting", "complying", "adopting")


class ByState(Record):
    """One number for each adoption state."""

    resisting: Annotated[float, Field(ge=0.0, le=2.0)]
    complying: Annotated[float, Field(ge=0.0, le=2.0)]
    adopting: Annotated[float, Field(ge=0.0, le=2.0)]

    def as_tuple(self) -> tuple[float, float, float]:
        """Values in state-code order (resisting, complying, adopting)."""
        return (self.resisting, self.complying, self.adopting)


class Behaviour(Record):
    """Effort: expectancy x instrumentality x valence, intrinsic motivation, crowding-out."""

    effort_base: Annotated[float, Field(ge=-3.0, le=3.0)]
    motivation_weight: Annotated[float, Field(ge=0.0, le=3.0)]
    pay_sensitivity: Annotated[float, Field(ge=0.0, le=50.0)]
    initial_instrumentality: Annotated[float, Field(ge=0.0, le=1.0)]
    instrumentality_learning_rate: Share
    crowding_out: Annotated[float, Field(ge=-1.0, le=1.0)]
    state_response: ByState


class Fairness(Record):
    """Perceived fairness (SD units): learned from one's own ratings and pay."""

    initial_mean: Shift
    neutral_signal: Shift
    learning_rate: Share
    self_view_bias: Shift
    self_view_noise_sd: SD
    rating_gap_weight: Rate
    pay_gap_weight: Rate
    quota_weight: Rate
    transparency_bonus: Shift
    multi_source_bonus: Shift


class Adoption(Record):
    """Resistance to the new performance system: states, Bass-type hazards, consequences."""

    facet_loading: Annotated[float, Field(gt=0.0, le=1.0)]
    disposition_weight: Annotated[float, Field(ge=0.0, le=5.0)]
    initial_resisting_share: Share
    initial_adopting_share: Share
    external_push_per_month: Share
    socialised_push_per_month: Share
    imitation_per_month: Share
    unfairness_pullback_per_month: Share
    loss_pullback: Rate
    gain_push: Rate
    loss_aversion: Annotated[float, Field(ge=1.0, le=5.0)]
    reference_adaptation: Annotated[float, Field(gt=0.0, le=1.0)]
    new_hire_state: Literal[ADOPTION_STATES]
    skp_missing: ByState
    resisting_rater_inflation: Shift

    @field_validator("initial_adopting_share")
    @classmethod
    def _shares_fit(cls, value: float, info: ValidationInfo) -> float:
        resisting = info.data.get("initial_resisting_share")
        if resisting is not None and resisting + value > 1.0:
            raise ValueError(
                f"with initial_resisting_share {resisting}, the shares add up to "
                f"{resisting + value:g}; allowed: at most {1.0 - resisting:g} (shares of one "
                "workforce add up to 1 at most)"
            )
        return value


class Gaming(Record):
    """Reciprocal peer inflation and easy SKP targets, growing with what is at stake."""

    reference_stake: Annotated[float, Field(gt=0.0, le=1.0)]
    collusion_stake_growth: Rate
    severity_adjustment_reduction: Share
    audit_deterrence: Rate
    target_easing_share: Share
    target_easing_sd: SD


INITIAL_HIRING = ("random", "selected")
VOLUNTARY_EXIT_MODELS = ("per_person", "poisson")
VOLUNTARY_TIMINGS = ("with_close", "before_ratings")
QUOTA_ROUNDINGS = ("nearest_per_unit", "floor_plus_random_units")


class Flows(Record):
    """People leaving and joining: retirement, contracts, separations, transfers, hiring."""

    retirement: bool
    voluntary_exit_rate_pns: Share
    voluntary_exit_rate_pppk: Share
    pppk_contract_years: Annotated[int, Field(ge=1, le=5)]
    pppk_renewal_min_predikat: Literal[PREDIKAT]
    sangat_kurang_years_to_separation: Annotated[int, Field(ge=0, le=10)]
    forced_separation_share: Annotated[float, Field(ge=0.0, le=0.5)]
    transfer_rate: Share
    selection_validity: Share
    selection_ratio: Annotated[float, Field(ge=0.001, le=1.0)]
    applicant_competence_mean: Shift
    #: SD of applicants' competence; ``None``: the workforce's (``workforce.competence.sd``).
    applicant_competence_sd: Annotated[float, Field(gt=0.0, le=3.0)] | None = None
    #: How the workforce at the start is drawn: ``random`` from ``workforce.competence``, or
    #: ``selected``, each post filled by a hire as later vacancies are.
    initial_hiring: Literal[INITIAL_HIRING] = "random"
    #: ``per_person``: each person leaves with the annual rate; ``poisson``: a Poisson number
    #: of leavers with mean the sum of the rates, chosen at random in proportion to them.
    voluntary_exit_model: Literal[VOLUNTARY_EXIT_MODELS] = "per_person"
    #: ``with_close``: voluntary leavers leave at the year's close, with the other leavers;
    #: ``before_ratings``: when the year opens, replaced through selection before any rating.
    voluntary_timing: Literal[VOLUNTARY_TIMINGS] = "with_close"
    #: Whole people from ``forced_separation_share`` (see :mod:`simlib.world.flows`).
    forced_separation_rounding: Literal[QUOTA_ROUNDINGS] = "nearest_per_unit"
    entry_age_mean: Annotated[float, Field(ge=18.0, le=50.0)]
    entry_age_sd: Annotated[float, Field(ge=0.0, le=10.0)]


class Source(Record):
    """One source of 360-degree ratings: how many raters, who answers, how they differ."""

    count: Annotated[int, Field(ge=0, le=20)]
    response_rate: Share
    shift_d: Shift
    perspective_sd: SD
    idiosyncratic_sd: SD


class Sources(Record):
    """The five sources of multi-source ratings (PP 30/2019; agency 360 schemes)."""

    self: Source
    supervisor: Source
    peer: Source
    subordinate: Source
    service_user: Source


class MultiSource(Record):
    """Rater behaviour in 360-degree rating of perilaku kerja (the seven BerAKHLAK values).

    Latent rating of ratee *i* on value *d* by rater *r* of source *s* (SD units)::

        l = true[i] + profile[i, d] + perspective[i, s] + leniency[r] + idiosyncratic[r, i]
            + shift[s] + inflation + similarity[r, i] + collusion[r, i] + residual[r, i, d]

    then halo pulls the seven values toward the rater's mean for the ratee, central
    tendency compresses toward the scale's middle, and the result is rounded to the scale.
    """

    dimension_sd: SD
    residual_sd: SD
    halo: Share
    central_tendency: Annotated[float, Field(ge=0.0, le=0.95)]
    similarity_unit: Shift
    similarity_grade: Shift
    similarity_sex: Shift
    collusion_share: Share
    collusion_shift: Shift
    scale: Literal["likert_1_5", "expectation_3", "skp_0_120"]
    points_per_sd: Annotated[float, Field(gt=0.0, le=100.0)]
    sources: Sources


class Reluctance(Record):
    """Superiors' reluctance to rate a subordinate *di bawah ekspektasi* (rating leniency).

    A superior whose rating puts a subordinate below expectation on an axis the superior
    judges says so with probability::

        p_i = honest_probability * exp(-pay_sensitivity * pay_loss_i
                                       - closeness_effect * closeness_i)

    and otherwise records the axis as *sesuai ekspektasi* (Murphy & Cleveland 1995; Bol
    2011). ``pay_loss_i`` is the share of the subordinate's monthly take-home pay the low
    predikat would cost; ``closeness_i`` is 1 when the superior works in the subordinate's
    unit (see :func:`simlib.rules.raters.honest_low_rating_probability`).
    """

    honest_probability: Share
    pay_sensitivity: Annotated[float, Field(ge=0.0, le=1000.0)]
    closeness_effect: Annotated[float, Field(ge=0.0, le=20.0)]


RATING_SOURCES = ("superior", "measurement")


class Raters(Record):
    """Rater behaviour: the direct superior's ratings, and multi-source (360) ratings.

    ``source: measurement`` replaces the superior's rating by a measure with no rater
    (Scullen et al. 2005, equation 3): true performance plus error, with reliability
    ``measurement_reliability`` for the year's mean of the quarterly measures; no leniency,
    no pay-purpose inflation, no reluctance.
    """

    source: Literal[RATING_SOURCES] = "superior"
    measurement_reliability: Annotated[float, Field(gt=0.0, le=1.0)] = 0.7
    leniency_mean: Annotated[float, Field(ge=-3.0, le=3.0)]
    leniency_sd: Annotated[float, Field(ge=0.0, le=3.0)]
    noise_sd: Annotated[float, Field(ge=0.0, le=5.0)]
    pay_purpose_inflation: Annotated[float, Field(ge=0.0, le=3.0)]
    reluctance: Reluctance
    multi_source: MultiSource


class Attendance(Record):
    """Unexcused absence: days per month, varying between employees."""

    absence_days_per_month: Annotated[float, Field(ge=0.0, le=22.0)]
    heterogeneity_shape: Annotated[float, Field(gt=0.0, le=100.0)]


class Organisation(Record):
    """How the organisation's own achievement (capaian kinerja organisasi) is formed."""

    achievement_noise_sd: Annotated[float, Field(ge=0.0, le=5.0)]


class Outputs(Record):
    """Opt-in detailed outputs (they grow with employees x periods)."""

    employee_panel: bool
    employee_ledger: bool
    ratings: bool
    #: Also record the potential curve at Scullen et al. 2005's points (a ``start`` period
    #: and the yearly ``mean_staff_potential_rated``).
    potential_records: bool = False


class Scenario(FromFile, Record):
    """A whole simulated world: agencies, workforce, behaviour, calendar."""

    file_kind: ClassVar[str] = "scenario"

    name: Name
    description: Text
    baseline_policy: str
    calendar: Calendar
    agencies: Annotated[tuple[AgencySpec, ...], Field(min_length=1, max_length=1000)]
    workforce: Workforce
    performance: Performance
    behaviour: Behaviour
    fairness: Fairness
    adoption: Adoption
    gaming: Gaming
    flows: Flows
    raters: Raters
    attendance: Attendance
    organisation: Organisation
    outputs: Outputs
    # Where the file came from and how each parameter is documented; not parameters.
    source_file: str = ""
    docs: Annotated[dict[str, Documented], Field(repr=False)] = Field(default_factory=dict)

    @field_validator("agencies")
    @classmethod
    def _unique_agency_names(cls, agencies: tuple[AgencySpec, ...]) -> tuple[AgencySpec, ...]:
        require_unique([a.name for a in agencies], "agency name")
        return agencies

    def month_of(self, date: dt.date) -> int:
        """Months from the start date to the first month starting on or after ``date``."""
        start = self.calendar.start_date
        months = (date.year - start.year) * 12 + (date.month - start.month)
        return months + (1 if date.day > 1 else 0)


#: Bytes of memory one run needs, measured with tracemalloc on the default district
#: (10,000 and 40,000 employees, 12 and 36 months; peak of ``simulate``), rounded up:
#: per employee, per employee-month of the employee ledger, per employee-quarter of the
#: employee panel and of the multi-source rating table.
BYTES_PER_EMPLOYEE = 650
BYTES_PER_LEDGER_MONTH = 300
BYTES_PER_PANEL_QUARTER = 400
BYTES_PER_RATINGS_QUARTER = 4_500
#: Share of the machine's memory one run may plan to use.
MEMORY_SHARE = 0.8


def estimated_memory_bytes(scenario: Scenario, employees: int) -> int:
    """Memory one run of ``scenario`` with ``employees`` in all agencies is expected to need."""
    months = scenario.calendar.horizon_months
    out = scenario.outputs
    per_employee = (
        BYTES_PER_EMPLOYEE
        + out.employee_ledger * months * BYTES_PER_LEDGER_MONTH
        + out.employee_panel * (months // 3) * BYTES_PER_PANEL_QUARTER
        + out.ratings * (months // 3) * BYTES_PER_RATINGS_QUARTER
    )
    return employees * per_employee


def machine_memory_bytes() -> int:
    """Physical memory of this machine (bytes), or 16 GiB where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 2**30


def _check_memory(scenario: Scenario, *, file) -> None:
    """Refuse a workforce whose run cannot fit in this machine's memory."""
    employees = 0
    for spec in scenario.agencies:
        if spec.structure is not None:
            employees += spec.structure.employees
        else:
            with scenario.resolve(spec.org_csv).open("rb") as fh:
                employees += max(0, sum(1 for _ in fh) - 1)
    need = estimated_memory_bytes(scenario, employees)
    have = int(MEMORY_SHARE * machine_memory_bytes())
    if need > have:
        per = estimated_memory_bytes(scenario, 1)
        raise ConfigError(
            f"{employees:,} employees in {len(scenario.agencies)} agencies need about "
            f"{_gb(need)} of memory for one run; allowed here: at most {_gb(have)} "
            f"({MEMORY_SHARE:.0%} of this machine's {_gb(machine_memory_bytes())}), about "
            f"{have // per:,} employees with these outputs over {scenario.calendar.horizon_months}"
            " months",
            file=file,
            path="agencies",
        )


def _gb(n: int) -> str:
    return f"{n / 1e9:,.1f} GB"


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file (its ``extends`` chain resolved).

    Raises
    ------
    ConfigError
        Naming the file, the field path, the bad value and what is allowed.
    """
    path = Path(path)
    return scenario_from_dict(read_scenario(path), file=path)


#: Lists that merge by a key field instead of replacing whole.
KEYED_LISTS = tree.KEYED_LISTS["scenario"]


def read_scenario(path: str | Path) -> dict[str, Any]:
    """The documented mapping of a scenario file: ``extends`` resolved, the tree laid under.

    This is the whole tree that :func:`load_scenario` validates (every parameter, the
    tree's defaults included); experiments apply their ``scenario_changes`` to it, so
    changes apply after ``extends``.
    """
    path = Path(path)
    return resolve_extends(read_yaml(path), file=path)


def resolve_extends(raw: dict[str, Any], *, file: str | Path | None = None) -> dict[str, Any]:
    """A scenario mapping made whole: its ``extends`` chain merged, the parameter tree under it.

    The parent is read and resolved in turn, validated as a scenario of its own, its
    relative paths rewritten to resolve from its folder, and the child merged over it; the
    result is laid over the scenario tree (``data/parameters/scenario.yaml``), which gives
    every parameter the delta leaves out (see the module docstring and
    :mod:`simlib.params.tree`). Resolving a resolved mapping changes nothing.

    Parameters
    ----------
    raw
        A documented scenario mapping, as read from YAML.
    file
        The file ``raw`` was read from: ``extends`` resolves from its folder (the project
        root when ``None``).

    Raises
    ------
    ConfigError
        If the parent is missing or not a valid scenario, the chain has a cycle or is longer
        than :data:`MAX_EXTENDS`, or the delta changes a documented value without a source.
    """
    return tree.resolve(
        raw,
        kind="scenario",
        model=Scenario,
        file=file,
        check_parent=lambda parent, path: scenario_from_dict(parent, file=path),
    )


def _start_date(raw: dict[str, Any]) -> dt.date | None:
    """The start date a resolved scenario mapping gives (for its dated parameters)."""
    calendar = raw.get("calendar")
    date = calendar.get("start_date") if isinstance(calendar, dict) else None
    if isinstance(date, dict):
        date = date.get("value")
    ok = isinstance(date, dt.date) and not isinstance(date, dt.datetime)
    return date if ok else tree.default_start_date()


def scenario_from_dict(raw: dict[str, Any], *, file: str | Path | None = None) -> Scenario:
    """Validate a scenario given as a (documented) mapping, as read from YAML.

    A mapping with ``extends`` is first laid over its parent, and the result over the
    parameter tree (:func:`resolve_extends`); dated parameters take the value in force on
    the scenario's start date.
    """
    raw = resolve_extends(raw, file=file)
    scenario = tree.record(Scenario, raw, kind="scenario", file=file, on=_start_date(raw))
    for i, spec in enumerate(scenario.agencies):
        where = f"agencies[{i}]"
        if spec.org_csv is not None:
            scenario.existing(spec.org_csv, "organisation CSV", field=f"{where}.org_csv", file=file)
    _check_memory(scenario, file=file)
    return scenario
