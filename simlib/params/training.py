"""The training plan's parameter records and their loader.

The sub-simulation that uses them is :mod:`simlib.engine.training`; its docstring
describes the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from simlib.params.config import Documented, Record, read_yaml, record_from_dict

__all__ = [
    "Programme",
    "TechnologyShock",
    "TrainingPlan",
    "load_training",
    "training_from_dict",
]

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Text = Annotated[str, Field(max_length=2000)]
JobType = Literal["jpt", "administrator", "pengawas", "fungsional", "pelaksana"]


class Programme(Record):
    """One training programme offered each quarter."""

    name: Name
    kind: Literal["technical", "managerial", "digital"]
    provider: Literal["in_house", "university", "ngo"]
    seats_per_quarter: Annotated[int, Field(ge=0, le=100_000)]
    duration_days: Annotated[float, Field(gt=0.0, le=92.0)]
    #: Training hours (JP, jam pelajaran) credited to each trainee who completes it.
    hours_jp: Annotated[float, Field(gt=0.0, le=1000.0)]
    #: Cost per seat per course (one trainee), IDR.
    cost_idr: Annotated[float, Field(ge=0.0, le=1e10)]
    #: Effect multiplier: 1 = the mean training effect of Arthur et al. (2003).
    quality: Annotated[float, Field(ge=0.0, le=2.0)]


class TechnologyShock(Record):
    """A new technology that leaves those without a digital course behind."""

    #: Months since the start of the run; the shock starts the quarter containing it.
    month: Annotated[int, Field(ge=0, le=1200)]
    #: Share of the employees in the affected job types who are affected.
    affected_share: Share
    #: Affected job types; empty means all.
    job_types: Annotated[tuple[JobType, ...], Field(max_length=5)] = ()
    #: Effective competence lost by the affected until they complete a digital course.
    penalty_sd: Annotated[float, Field(ge=0.0, le=5.0)]


class TrainingPlan(Record):
    """An agency's competence-development plan: programmes, budget and selection rule."""

    name: Name
    description: Text
    programmes: Annotated[tuple[Programme, ...], Field(min_length=1, max_length=100)]
    annual_budget_idr: Annotated[float, Field(ge=0.0, le=1e14)]
    selection: Literal["needs_based", "random", "merit"]
    #: Competence gained (SD) from a full-quality course (Arthur et al. 2003, d = .62).
    effect_d: Annotated[float, Field(ge=0.0, le=3.0)] = 0.62
    #: Share of the accumulated gain lost per year.
    decay_per_year: Share
    #: Each further course's gain is multiplied by repeat_factor ** courses already taken.
    repeat_factor: Annotated[float, Field(ge=0.0, le=1.0)]
    #: Extra gain per SD of competence below the mean (more headroom for the lowest).
    needs_boost: Annotated[float, Field(ge=0.0, le=5.0)]
    #: Minimum JP per year (PP 11/2017 jo PP 17/2020 Pasal 203).
    min_hours_per_year: Annotated[float, Field(ge=0.0, le=1000.0)] = 20.0
    working_days_per_quarter: Annotated[float, Field(gt=0.0, le=92.0)] = 63.0
    shock: TechnologyShock | None = None
    source_file: str = ""
    docs: Annotated[dict[str, Documented], Field(repr=False)] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _courses_fit(self) -> TrainingPlan:
        for i, p in enumerate(self.programmes):
            if p.duration_days > self.working_days_per_quarter:
                raise ValueError(
                    f"programmes[{i}] ({p.name!r}) lasts {p.duration_days} days, longer than "
                    f"a quarter; allowed: duration_days <= working_days_per_quarter "
                    f"({self.working_days_per_quarter})"
                )
        names = [p.name for p in self.programmes]
        if len(set(names)) != len(names):
            raise ValueError("two programmes have the same name; allowed: distinct names")
        return self


def load_training(path: str | Path) -> TrainingPlan:
    """Load and validate a training-plan file.

    Raises
    ------
    ConfigError
        Naming the file, the field path, the bad value and what is allowed.
    """
    path = Path(path)
    return training_from_dict(read_yaml(path), file=path)


def training_from_dict(raw: dict[str, Any], *, file: str | Path | None = None) -> TrainingPlan:
    """Validate a training plan given as a (documented) mapping, as read from YAML."""
    return record_from_dict(TrainingPlan, raw, file=file)
