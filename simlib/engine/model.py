"""The model as a function: :func:`simulate` runs one replication and returns its frames.

``simulate(inputs, seed=..., replication=...)`` runs a resolved
:class:`~simlib.params.resolve.Inputs` bundle; ``simulate(scenario, policy, seed=...)``
resolves the scenario and the policy (or schedule) first (:func:`simlib.params.resolve.resolve`
reads the files they name), then runs the bundle. Running a bundle opens no file, prints
nothing and plots nothing: the tables it uses are the bundle's
(:func:`simlib.params.tables.reading`).

The model is laid out in the modules of :mod:`simlib.engine`:

* :mod:`~simlib.engine.state` -- an agency's state: employees as numpy arrays, budget,
  what carries over between periods;
* :mod:`~simlib.engine.steps` -- the steps (payroll, appraisal, year close, flows,
  training, campaign), each ``state, parameters, streams -> state, metrics``;
* :mod:`~simlib.engine.calendar` -- one SimPy process per agency calling the steps at each
  month boundary, in the documented order;
* :mod:`~simlib.engine.recorder` -- what the calendar records, and the frames of
  :class:`RunResult`.

The policy in force in each month comes from the
:class:`~simlib.params.policy.PolicySchedule`, so a variant with an effective date changes
the rules from that month on. Every step is a vectorised function over the agency's
employees; there is no per-employee process and no Python loop over employees.
"""

from __future__ import annotations

from collections.abc import Callable

import simpy

from simlib.engine import calendar
from simlib.engine.recorder import RunResult
from simlib.params.policy import Policy, PolicySchedule
from simlib.params.resolve import Inputs, resolve
from simlib.params.scenario import Scenario
from simlib.params.tables import reading

__all__ = ["RunResult", "simulate"]


def simulate(
    inputs: Inputs | Scenario,
    policy: Policy | PolicySchedule | None = None,
    *,
    seed: int,
    replication: int = 0,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Run one replication of resolved ``inputs``, or of a scenario under a policy.

    Parameters
    ----------
    inputs
        A resolved bundle (:func:`simlib.params.resolve.resolve`), or a scenario: then
        ``policy`` is required and the two are resolved first.
    policy
        With a scenario: the rules, or a schedule of rules changing at effective months.
    seed
        Root seed (non-negative integer). Same inputs, seed and replication give identical
        results.
    replication
        Replication number; replication *r* of every policy arm uses the same random
        streams (common random numbers).
    progress
        Optional callback, called with the number of months simulated so far.

    Returns
    -------
    RunResult
        Tidy frames: outcomes, payments ledger, workforce, and opt-in panels.
    """
    if isinstance(inputs, Scenario):
        if policy is None:
            raise TypeError("simulate(scenario, policy, ...): a scenario needs its policy")
        inputs = resolve(inputs, policy)
    elif policy is not None:
        raise TypeError("simulate(inputs, ...): resolved inputs carry their policy already")
    with reading(inputs.tables):
        run, states = calendar.start(inputs, seed=seed, replication=replication)
        env = simpy.Environment()
        for state in states:
            env.process(calendar.agency_calendar(env, run, state))
        if progress is not None:
            horizon = inputs.scenario.calendar.horizon_months
            env.process(calendar.report_progress(env, progress, horizon))
        env.run()
    return calendar.finish(run)
