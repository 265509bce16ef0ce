"""Mechanisms whose parameters make them a no-op are skipped with their draws: same results.

``simlib.engine.steps`` skips absence, socialisation, adoption transitions, SKP audits and
missing SKP, resisting superiors' inflation and reluctance when their parameters make them
do nothing. Draws are keyed, so a skipped draw changes no other; here every skip is forced
off and the run must give the same frames to the last digit.
"""

from __future__ import annotations

import pandas as pd
from helpers import shrink, with_changes

import simlib
from simlib.engine import steps
from simlib.params.changes import apply_changes

PREDICATES = (
    "_absence_possible",
    "_socialisation_possible",
    "_adoption_moves",
    "_audit_or_missing_possible",
    "_inflation_possible",
    "_reluctance_possible",
)

STILL = {
    "attendance.absence_days_per_month": 0.0,
    "adoption.external_push_per_month": 0.0,
    "adoption.socialised_push_per_month": 0.0,
    "adoption.imitation_per_month": 0.0,
    "adoption.unfairness_pullback_per_month": 0.0,
    "adoption.loss_pullback": 0.0,
    "adoption.gain_push": 0.0,
    "adoption.skp_missing.resisting": 0.0,
    "adoption.skp_missing.complying": 0.0,
    "adoption.skp_missing.adopting": 0.0,
    "adoption.resisting_rater_inflation": 0.0,
    "raters.reluctance.honest_probability": 1.0,
    "raters.reluctance.pay_sensitivity": 0.0,
    "raters.reluctance.closeness_effect": 0.0,
}


def _run(scenario, policy):
    return simlib.simulate(scenario, policy, seed=11, replication=2)


def test_a_still_world_gives_the_same_frames_with_every_skip_forced_off(
    district, central, monkeypatch
):
    scenario = apply_changes(shrink(district, employees=120, horizon_months=24), STILL)
    policy = with_changes(
        central,
        change_management__audit_share=0.0,
        change_management__socialisation__capacity_per_month=0,
    )
    # Every mechanism above is a no-op here, so every predicate says so.
    soc = policy.change_management.socialisation
    assert not steps._socialisation_possible(soc, soc.budget_idr_per_year)
    assert not steps._adoption_moves(scenario.adoption)
    assert not steps._reluctance_possible(scenario.raters.reluctance)
    assert not steps._inflation_possible(scenario.adoption.resisting_rater_inflation)
    skipped = _run(scenario, policy)
    for name in PREDICATES:
        monkeypatch.setattr(steps, name, lambda *args, **kwargs: True)
    full = _run(scenario, policy)
    for table in ("outcomes", "ledger"):
        pd.testing.assert_frame_equal(getattr(skipped, table), getattr(full, table),
                                      check_exact=True)  # fmt: skip


def test_the_default_world_skips_nothing(district):
    """The default district uses these mechanisms (its baseline has no socialisation)."""
    assert steps._adoption_moves(district.adoption)
    assert steps._reluctance_possible(district.raters.reluctance)
    assert steps._inflation_possible(district.adoption.resisting_rater_inflation)
