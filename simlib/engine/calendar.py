"""The agency calendar: the SimPy process that calls the steps at each month boundary.

Each agency is one SimPy process, its *calendar*, which at month 0 opens the first budget
year, starts the first quarter and, if its campaign starts then, holds it; then at every
month boundary ``t`` (months since the start date) does, in this order
(:func:`tick`):

1. **payroll** for month ``t-1`` (:func:`~simlib.engine.steps.pay`);
2. at a quarter end: **appraisal** of the quarter (:func:`~simlib.engine.steps.appraise`);
3. at a year end: **annual predikat** and the close of the budget year
   (:func:`~simlib.engine.steps.close_year`);
4. at the horizon, or at a year's close that meets ``calendar.stop_when`` (``no_originals``:
   no one of the starting workforce remains): the **run's close**
   (:func:`~simlib.engine.steps.close_run`), and stop;
5. else a new **budget year** opens (January; under ``flows.voluntary_timing:
   before_ratings`` with its voluntary turnover and replacement,
   :func:`~simlib.engine.steps.open_flows`), a new **quarter** starts, and a campaign
   starting this month is held.

With ``outputs.potential_records`` month 0 first records the initial workforce's potential
(period kind ``start``).

The policy in force for each step is the schedule's at the step's month. The calendar
records what the steps report (:class:`~simlib.engine.recorder.Recorder`) with the
period's label and month; the steps never see labels or the recorder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import simpy

from simlib.core.errors import ConfigError
from simlib.core.streams import Streams
from simlib.engine import steps
from simlib.engine.recorder import Recorder, RunResult, result
from simlib.engine.state import AgencyState, initial_frame, initial_state
from simlib.params.policy import PolicySchedule
from simlib.params.resolve import Inputs
from simlib.params.scenario import Scenario

__all__ = ["Run", "agency_calendar", "begin", "check_stop_rule", "finish", "start", "tick"]


@dataclass(eq=False)
class Run:
    """One replication in progress: what every agency's calendar shares."""

    world: Scenario
    schedule: PolicySchedule
    streams: Streams
    recorder: Recorder
    initial: list
    seed: int
    replication: int
    #: Name columns of the per-employee rows, built once per (agency, rows, value): the
    #: recorder concatenates them at the end and never changes them.
    columns: dict = field(default_factory=dict)
    #: Agencies whose run has closed (at the horizon, or sooner by ``calendar.stop_when``).
    closed: set = field(default_factory=set)

    def month_label(self, month: int) -> str:
        """``YYYY-MM`` of month ``month``."""
        start = self.world.calendar.start_date
        return f"{start.year + month // 12}-{month % 12 + 1:02d}"

    def quarter_label(self, quarter: int) -> str:
        """``YYYYQn`` of quarter ``quarter``."""
        return f"{self.world.calendar.start_date.year + quarter // 4}Q{quarter % 4 + 1}"

    def year_label(self, year: int) -> str:
        """The calendar year of budget year ``year``."""
        return str(self.world.calendar.start_date.year + year)

    def record(self, state: AgencyState, kind: str, label: str, month: int, policy, out) -> None:
        """Record a step's metrics as outcomes of ``state``'s agency under ``policy``."""
        self.recorder.record(state.name, kind, label, month, policy.name, out.metrics)


def start(inputs: Inputs, *, seed: int, replication: int) -> tuple[Run, list[AgencyState]]:
    """The run and every agency's state at month 0 (their calendars not yet started)."""
    streams = Streams(seed, replication)
    world = inputs.scenario
    check_stop_rule(world, inputs.schedule)
    states = [
        initial_state(agency, index=i, world=world, streams=streams)
        for i, agency in enumerate(inputs.agencies)
    ]
    initial = [(s.name, initial_frame(s)) for s in states]
    run = Run(world, inputs.schedule, streams, Recorder(), initial, seed, replication)
    return run, states


def check_stop_rule(world: Scenario, schedule: PolicySchedule) -> None:
    """``calendar.stop_when: no_originals`` needs a careers lever from month 0 (it tracks them).

    Raises
    ------
    ConfigError
        Naming the scenario's field and what it needs.
    """
    if world.calendar.stop_when == "no_originals" and schedule.at(0).careers is None:
        raise ConfigError(
            "no_originals needs a policy whose careers lever is in force from month 0 (it "
            "tracks the starting workforce); allowed: horizon, or such a policy",
            file=world.source_file or None, path="calendar.stop_when",
        )  # fmt: skip


def begin(run: Run, state: AgencyState) -> AgencyState:
    """Month 0: the first budget year, the first quarter, and a campaign starting then."""
    out = steps.record_start(state, run.world)
    if out.metrics:
        run.record(state, "start", "start", 0, run.schedule.at(0), out)
    state, _ = steps.open_year(state, run.schedule.at(0), year=0)
    state, _ = steps.open_flows(state, run.world, year=0, streams=run.streams)
    state = _start_quarter(run, state, 0)
    return _maybe_campaign(run, state, 0)


def tick(run: Run, state: AgencyState, t: int) -> AgencyState:
    """Everything that happens at month boundary ``t``, in the documented order."""
    world, schedule, streams = run.world, run.schedule, run.streams
    month = t - 1
    policy = schedule.at(month)
    state, out = steps.pay(state, policy, world, month=month, streams=streams)
    run.recorder.pay_row(state.name, run.month_label(month), month,
                         run.year_label(month // 12), policy.name, out.metrics)  # fmt: skip
    if out.employees is not None:
        run.recorder.employee_ledger.append({"agency": _names(run, state), **out.employees})
    if t % 3 == 0:
        quarter = t // 3 - 1
        month = 3 * quarter + 2
        policy = schedule.at(month)
        state, out = steps.appraise(state, policy, world, quarter=quarter, streams=streams)
        label = run.quarter_label(quarter)
        run.record(state, "quarter", label, month, policy, out)
        if out.employees is not None:
            period = {"agency": _names(run, state), "period": _names(run, state, label)}
            run.recorder.panel.append({**period, **out.employees})
        if out.ratings is not None:
            run.recorder.ratings.append((state.name, label, month, out.ratings))
    if t % 12 == 0:
        year = t // 12 - 1
        month = 12 * year + 11
        policy = schedule.at(month)
        state, out = steps.close_year(state, policy, world, year=year, streams=streams)
        run.record(state, "year", run.year_label(year), month, policy, out)
    if t == world.calendar.horizon_months or (t % 12 == 0 and _end_reached(run, state)):
        state, out = steps.close_run(state, months=t)
        run.record(state, "run", "run", t - 1, schedule.at(t - 1), out)
        run.closed.add(state.name)
        return state
    if t % 12 == 0:
        state, _ = steps.open_year(state, schedule.at(t), year=t // 12)
        state, _ = steps.open_flows(state, world, year=t // 12, streams=streams)
    if t % 3 == 0:
        state = _start_quarter(run, state, t // 3)
    return _maybe_campaign(run, state, t)


def _end_reached(run: Run, state: AgencyState) -> bool:
    """At a year's close: whether the scenario's end condition has been met (not the horizon).

    ``no_originals``: no one of the agency's workforce at the start remains (the careers
    state tracks them from the first year's promotion on).
    """
    if run.world.calendar.stop_when != "no_originals":
        return False
    careers = state.careers
    return careers is not None and not careers.original.any()


def _start_quarter(run: Run, state: AgencyState, quarter: int) -> AgencyState:
    policy = run.schedule.at(3 * quarter)
    state, out = steps.start_quarter(state, policy, run.world, quarter=quarter,
                                     streams=run.streams)  # fmt: skip
    if out.metrics:
        run.record(state, "training", run.quarter_label(quarter), 3 * quarter, policy, out)
    return state


def _maybe_campaign(run: Run, state: AgencyState, month: int) -> AgencyState:
    campaign = state.campaign
    if campaign is None or month != campaign.start_month:
        return state
    state, out = steps.hold_campaign(state, month=month, streams=run.streams)
    label = f"{run.month_label(month)} {campaign.params.name}"
    run.record(state, "campaign", label, campaign.end_month - 1, run.schedule.at(month), out)
    return state


def _names(run: Run, state: AgencyState, value: str | None = None) -> np.ndarray:
    """A column of the agency's name (or ``value``) for its per-employee rows."""
    key = (state.name, state.n, value)
    column = run.columns.get(key)
    if column is None:
        column = np.full(state.n, state.name if value is None else value, dtype=object)
        run.columns[key] = column
    return column


def agency_calendar(env: simpy.Environment, run: Run, state: AgencyState):
    """SimPy process: the agency's month boundaries until the horizon."""
    state = begin(run, state)
    for t in range(1, run.world.calendar.horizon_months + 1):
        yield env.timeout(1)
        state = tick(run, state, t)
        if state.name in run.closed:
            return


def report_progress(env: simpy.Environment, progress: Callable[[int], None], horizon: int):
    """SimPy process: call ``progress`` with the months simulated so far, each month."""
    for month in range(1, horizon + 1):
        yield env.timeout(1)
        progress(month)


def finish(run: Run) -> RunResult:
    """The run's tidy frames, once every calendar has reached the horizon."""
    return result(run.world, run.schedule, run.initial, run.recorder, seed=run.seed,
                  replication=run.replication)  # fmt: skip
