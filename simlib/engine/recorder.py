"""What a run records, and the tidy frames of :class:`RunResult` built from it at the end.

The calendar (:mod:`simlib.engine.calendar`) hands each step's metrics to a
:class:`Recorder`, which keeps plain lists (rows of outcomes, of the payments ledger, and
the opt-in per-employee chunks); :func:`result` turns them into frames once, after the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simlib.core.domain import JOB_TYPES, PREDIKAT
from simlib.engine.outcomes import OUTCOME_COLUMNS
from simlib.params.policy import PolicySchedule
from simlib.params.scenario import Scenario
from simlib.rules.raters import RatingTable

__all__ = ["LEDGER_COLUMNS", "LEDGER_VALUES", "Recorder", "RunResult", "result"]

LEDGER_COLUMNS = (
    "agency", "month", "t_month", "year", "policy", "employees", "entitled_idr",
    "performance_cut_idr", "absence_cut_idr", "due_idr", "cap_cut_idr", "paid_idr",
    "budget_cap_idr", "budget_spent_ytd_idr", "team_incentive_idr", "training_cost_idr",
    "change_cost_idr",
)  # fmt: skip
#: The ledger columns a month's payroll step reports (the others say where and when).
LEDGER_VALUES = LEDGER_COLUMNS[5:]


@dataclass(frozen=True, eq=False)
class RunResult:
    """Tables produced by one replication.

    Attributes
    ----------
    outcomes
        Declared outcomes, long format: one row per agency, period and metric.
    ledger
        Payments ledger: one row per agency and month (IDR).
    workforce
        Employees at the start of the run, one row per agency and employee.
    panel
        Opt-in employee panel: one row per employee and quarter.
    employee_ledger
        Opt-in payments by employee and month.
    ratings
        Opt-in long-format multi-source ratings with the true scores beside them.
    meta
        Seed, replication, scenario and policy names.
    """

    outcomes: pd.DataFrame
    ledger: pd.DataFrame
    workforce: pd.DataFrame
    panel: pd.DataFrame | None = None
    employee_ledger: pd.DataFrame | None = None
    ratings: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Recorder:
    """Plain lists that the calendar appends to; frames are built once at the end."""

    outcomes: list[tuple] = field(default_factory=list)
    ledger: list[tuple] = field(default_factory=list)
    panel: list[dict[str, np.ndarray]] = field(default_factory=list)
    employee_ledger: list[dict[str, np.ndarray]] = field(default_factory=list)
    ratings: list[tuple[str, str, int, RatingTable]] = field(default_factory=list)

    def record(
        self, agency: str, kind: str, label: str, month: int, policy: str, metrics: dict
    ) -> None:
        """One outcome row per metric of a period (``kind``: quarter, year, run, ...)."""
        for metric, value in metrics.items():
            self.outcomes.append((policy, agency, kind, label, month, metric, float(value)))

    def pay_row(
        self, agency: str, month_label: str, month: int, year_label: str, policy: str, values
    ) -> None:
        """One ledger row: where and when, then :data:`LEDGER_VALUES` from ``values``."""
        self.ledger.append(
            (agency, month_label, month, year_label, policy, *(values[c] for c in LEDGER_VALUES))
        )


def result(
    scenario: Scenario,
    schedule: PolicySchedule,
    initial: list[tuple[str, pd.DataFrame]],
    rec: Recorder,
    *,
    seed: int,
    replication: int,
) -> RunResult:
    """The run's frames; ``initial`` is each agency's name and starting workforce frame."""
    head = {"scenario": scenario.name, "seed": seed, "replication": replication}
    inner = [c for c in OUTCOME_COLUMNS if c not in head]
    outcomes = pd.DataFrame.from_records(rec.outcomes, columns=inner)
    for i, (key, value) in enumerate(head.items()):
        outcomes.insert(i if key == "scenario" else i + 1, key, value)
    outcomes = outcomes[list(OUTCOME_COLUMNS)]
    ledger = pd.DataFrame.from_records(rec.ledger, columns=list(LEDGER_COLUMNS))
    ledger.insert(0, "scenario", scenario.name)
    frames = []
    for name, wf in initial:
        wf.insert(0, "agency", name)
        frames.append(wf)
    workforce = pd.concat(frames, ignore_index=True)
    panel = _concat(rec.panel)
    if panel is not None:
        panel["predikat"] = pd.Categorical.from_codes(panel["predikat"], categories=PREDIKAT)
    employee_ledger = _concat(rec.employee_ledger)
    if employee_ledger is not None:
        employee_ledger["predikat"] = pd.Categorical.from_codes(
            employee_ledger["predikat"], categories=PREDIKAT
        )
    ratings = None
    if rec.ratings:
        parts = []
        for agency, period, month, table in rec.ratings:
            frame = table.frame()
            frame.insert(0, "t_month", month)
            frame.insert(0, "period", period)
            frame.insert(0, "agency", agency)
            parts.append(frame)
        ratings = pd.concat(parts, ignore_index=True)
    meta = {
        **head,
        "policies": [p.name for _, p in schedule.entries],
        "policy_change_months": list(schedule.change_months),
        "start_date": scenario.calendar.start_date.isoformat(),
        "horizon_months": scenario.calendar.horizon_months,
        "job_types": list(JOB_TYPES),
    }
    return RunResult(outcomes, ledger, workforce, panel, employee_ledger, ratings, meta)


def _concat(chunks: list[dict[str, np.ndarray]]) -> pd.DataFrame | None:
    if not chunks:
        return None
    keys = chunks[0].keys()
    return pd.DataFrame({k: np.concatenate([c[k] for c in chunks]) for k in keys})
