"""The vaccination campaign's parameter records and their loader.

The sub-simulation that uses them is :mod:`simlib.engine.services`; its docstring
describes the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from simlib.params.config import (
    Documented,
    Record,
    read_yaml,
    record_from_dict,
)

__all__ = [
    "DAYS_PER_MONTH",
    "Campaign",
    "Demand",
    "OpeningHours",
    "Patience",
    "Posts",
    "ServiceTime",
    "TeamIncentive",
    "campaign_from_dict",
    "campaign_months",
    "load_campaign",
]

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Text = Annotated[str, Field(max_length=2000)]


class Posts(Record):
    """Vaccination posts (puskesmas) and the staff vaccinating at each."""

    count: Annotated[int, Field(ge=1, le=10_000)]
    staff_per_post: Annotated[int, Field(ge=1, le=100)]


class OpeningHours(Record):
    """When posts are open and how arrivals spread over the opening hours."""

    open_days_per_week: Annotated[int, Field(ge=1, le=7)]
    open_hour: Annotated[int, Field(ge=0, le=23)]
    hours_per_day: Annotated[int, Field(ge=1, le=24)]
    #: Relative arrival rate in each opening hour (one entry per hour; scale is free).
    arrival_profile: Annotated[
        tuple[Annotated[float, Field(ge=0.0, le=1e6)], ...], Field(min_length=1, max_length=24)
    ]

    @model_validator(mode="after")
    def _profile_fits(self) -> OpeningHours:
        if self.open_hour + self.hours_per_day > 24:
            raise ValueError(
                f"open_hour {self.open_hour} + hours_per_day {self.hours_per_day} passes "
                "midnight; allowed: open_hour + hours_per_day <= 24"
            )
        if len(self.arrival_profile) != self.hours_per_day:
            raise ValueError(
                f"arrival_profile has {len(self.arrival_profile)} entries; allowed: one per "
                f"opening hour ({self.hours_per_day})"
            )
        if sum(self.arrival_profile) <= 0:
            raise ValueError("arrival_profile is all zero; allowed: at least one positive rate")
        return self


class ServiceTime(Record):
    """Minutes per vaccination and how they depend on staff performance."""

    base_min: Annotated[float, Field(gt=0.0, le=600.0)]
    #: Service time is multiplied by exp(-slope x performance in SD units).
    performance_slope: Annotated[float, Field(ge=0.0, le=3.0)]
    #: SD of log service time (mean-preserving lognormal variability).
    log_sd: Annotated[float, Field(ge=0.0, le=3.0)]


class Demand(Record):
    """Share of the target population that comes, as a saturating function of outreach."""

    base_turnout_share: Share
    max_turnout_share: Share
    outreach_contacts_per_person: Annotated[float, Field(ge=0.0, le=100.0)]
    half_saturation_contacts: Annotated[float, Field(gt=0.0, le=100.0)]

    @model_validator(mode="after")
    def _max_above_base(self) -> Demand:
        if self.max_turnout_share < self.base_turnout_share:
            raise ValueError(
                f"max_turnout_share {self.max_turnout_share} is below base_turnout_share "
                f"{self.base_turnout_share}; allowed: max_turnout_share >= base_turnout_share"
            )
        return self


class Patience(Record):
    """How long citizens wait before leaving the queue (exponential)."""

    mean_min: Annotated[float, Field(gt=0.0, le=100_000.0)]


class TeamIncentive(Record):
    """The team's coverage target and the bonus rule (a scenario input; no source)."""

    target_coverage: Annotated[float, Field(gt=0.0, le=1.0)]
    rule: Literal["all_or_nothing", "pro_rata"]
    bonus_idr_per_staff: Annotated[float, Field(ge=0.0, le=1e9)]
    #: Highest multiple of the bonus paid under ``pro_rata`` (1 = no pay above target).
    pro_rata_cap: Annotated[float, Field(ge=1.0, le=10.0)]
    #: Staff's uncertainty about the coverage they will reach (share of the target population).
    coverage_uncertainty: Annotated[float, Field(gt=0.0, le=1.0)]


class Campaign(Record):
    """A vaccination campaign run by a district health office."""

    name: Name
    description: Text
    target_population: Annotated[int, Field(ge=1, le=100_000_000)]
    window_days: Annotated[int, Field(ge=1, le=3660)]
    posts: Posts
    hours: OpeningHours
    service: ServiceTime
    demand: Demand
    patience: Patience
    incentive: TeamIncentive
    source_file: str = ""
    docs: Annotated[dict[str, Documented], Field(repr=False)] = Field(default_factory=dict)

    @property
    def staff(self) -> int:
        """Staff in the whole campaign (posts x staff per post)."""
        return self.posts.count * self.posts.staff_per_post

    def open_days(self) -> np.ndarray:
        """Indices of the days the posts are open (day 0 is a Monday)."""
        days = np.arange(self.window_days)
        return days[days % 7 < self.hours.open_days_per_week]


def load_campaign(path: str | Path) -> Campaign:
    """Load and validate a campaign file.

    Raises
    ------
    ConfigError
        Naming the file, the field path, the bad value and what is allowed.
    """
    path = Path(path)
    return campaign_from_dict(read_yaml(path), file=path)


def campaign_from_dict(raw: dict[str, Any], *, file: str | Path | None = None) -> Campaign:
    """Validate a campaign given as a (documented) mapping, as read from YAML."""
    return record_from_dict(Campaign, raw, file=file)


#: Mean days per month, to place a campaign (in days) on the engine's calendar (months).
DAYS_PER_MONTH = 365.25 / 12


def campaign_months(params: Campaign) -> int:
    """Whole months a campaign occupies on the agency calendar."""
    return int(np.ceil(params.window_days / DAYS_PER_MONTH))
