"""One replication split by agency: run any subset of a run's agencies, and merge the parts.

Agencies are independent inside a replication: each has its own state, its budget, and
random streams keyed by its index in the scenario (:class:`~simlib.core.streams.Streams`,
``spawn_key=(replication, agency, stream, ...)``), and no step reads another agency. So a
replication can be cut into groups of agencies run anywhere (in this process, a process
pool, Dask workers) and put back together: :func:`run_agencies` runs a group and returns
one :class:`AgencyPart` per agency; :func:`merge` orders the parts' rows exactly as the
single SimPy environment of :func:`simlib.engine.model.simulate` does (month boundary by
month boundary, agencies in scenario order within each), so the merged
:class:`~simlib.engine.recorder.RunResult` is equal, frame for frame and byte for byte, to
the single-process run of the same replication.

Running a part calls the same calendar functions as the SimPy process
(:func:`~simlib.engine.calendar.begin`, then :func:`~simlib.engine.calendar.tick` for each
month boundary); an agency's calendar only ever waits one month, so no event loop is
needed for one agency alone. The executors live in :mod:`simlib.experiment.national`
(model-side code imports no Dask).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from simlib.core.streams import Streams
from simlib.engine import calendar
from simlib.engine.recorder import Recorder, RunResult, result
from simlib.engine.state import initial_frame, initial_state
from simlib.params.resolve import Inputs
from simlib.params.tables import reading

__all__ = [
    "DETAIL",
    "AgencyPart",
    "agency_result",
    "agency_sizes",
    "merge",
    "run_agencies",
    "simulate_parts",
    "without_detail",
]

#: The recorder's lists, in the order a part keeps their boundaries.
_LISTS = ("outcomes", "ledger", "panel", "employee_ledger", "ratings")
#: The opt-in per-employee outputs, which a national run may write per agency instead.
DETAIL = ("panel", "employee_ledger", "ratings")


@dataclass(frozen=True, eq=False)
class AgencyPart:
    """What one agency's calendar recorded in one replication.

    ``marks[k][t]`` is the length of recorder list ``_LISTS[k]`` after month boundary ``t``
    (``t = 0`` is month 0, before the first tick), so the rows of boundary ``t`` are
    ``rows[marks[t-1]:marks[t]]``.
    """

    index: int
    name: str
    initial: pd.DataFrame
    recorder: Recorder
    marks: tuple[tuple[int, ...], ...]


def _lengths(rec: Recorder) -> tuple[int, ...]:
    return tuple(len(getattr(rec, name)) for name in _LISTS)


def run_agencies(
    inputs: Inputs, indices: Sequence[int], *, seed: int, replication: int = 0
) -> list[AgencyPart]:
    """Run agencies ``indices`` of ``inputs`` for one replication; one part per agency.

    Parameters
    ----------
    inputs
        The run's resolved bundle (every agency's inputs; only ``indices`` are run).
    indices
        Positions of the agencies in the scenario (their random streams are keyed by it).
    seed, replication
        As for :func:`simlib.engine.model.simulate`.
    """
    streams = Streams(seed, replication)
    world, schedule = inputs.scenario, inputs.schedule
    calendar.check_stop_rule(world, schedule)
    horizon = world.calendar.horizon_months
    parts = []
    with reading(inputs.tables):
        for i in indices:
            if not 0 <= i < len(inputs.agencies):
                raise IndexError(f"agency {i} is not in the scenario ({len(inputs.agencies)})")
            state = initial_state(inputs.agencies[i], index=i, world=world, streams=streams)
            rec = Recorder()
            run = calendar.Run(world, schedule, streams, rec, [], seed, replication)
            frame = initial_frame(state)
            state = calendar.begin(run, state)
            marks = [_lengths(rec)]
            for t in range(1, horizon + 1):
                if state.name not in run.closed:  # closed sooner by calendar.stop_when
                    state = calendar.tick(run, state, t)
                marks.append(_lengths(rec))
            parts.append(AgencyPart(i, state.name, frame, rec, tuple(zip(*marks, strict=True))))
            del state
    return parts


def merge(inputs: Inputs, parts: Sequence[AgencyPart], *, seed: int, replication: int = 0):
    """The run's frames from the parts of every agency (in any order, each once).

    Rows are laid out as one SimPy environment records them: for each month boundary, the
    agencies in scenario order.
    """
    ordered = sorted(parts, key=lambda p: p.index)
    if [p.index for p in ordered] != list(range(len(inputs.agencies))):
        raise ValueError(
            f"merge needs one part per agency (0..{len(inputs.agencies) - 1}); "
            f"got {[p.index for p in ordered]}"
        )
    rec = Recorder()
    horizon = inputs.scenario.calendar.horizon_months
    for k, name in enumerate(_LISTS):
        out = getattr(rec, name)
        for t in range(horizon + 1):
            for p in ordered:
                marks = p.marks[k]
                lo = 0 if t == 0 else marks[t - 1]
                out.extend(getattr(p.recorder, name)[lo : marks[t]])
    initial = [(p.name, p.initial) for p in ordered]
    return result(inputs.scenario, inputs.schedule, initial, rec, seed=seed,
                  replication=replication)  # fmt: skip


def agency_result(inputs: Inputs, part: AgencyPart, *, seed: int, replication: int = 0):
    """The frames of one agency's part alone (its rows of the whole run's frames, in order)."""
    frame = part.initial.copy()
    return result(inputs.scenario, inputs.schedule, [(part.name, frame)], part.recorder,
                  seed=seed, replication=replication)  # fmt: skip


def without_detail(part: AgencyPart) -> AgencyPart:
    """The part without its per-employee outputs (:data:`DETAIL`), e.g. once written."""
    rec = Recorder(outcomes=part.recorder.outcomes, ledger=part.recorder.ledger)
    marks = tuple(
        tuple(0 for _ in m) if name in DETAIL else m
        for name, m in zip(_LISTS, part.marks, strict=True)
    )
    return AgencyPart(part.index, part.name, part.initial, rec, marks)


def agency_sizes(inputs: Inputs) -> list[int]:
    """Employees of each agency as its structure declares (0 for an organisation CSV)."""
    return [a.structure.employees if a.structure is not None else 0
            for a in inputs.scenario.agencies]  # fmt: skip


def simulate_parts(inputs: Inputs, *, seed: int, replication: int = 0) -> RunResult:
    """Run every agency as its own part in this process and merge (the in-process path)."""
    parts = run_agencies(inputs, range(len(inputs.agencies)), seed=seed, replication=replication)
    return merge(inputs, parts, seed=seed, replication=replication)
