"""Helpers shared by tests: shrinking scenarios and changing policies in code."""

from __future__ import annotations

import simlib
from simlib.params.changes import apply_changes
from simlib.params.scenario import Scenario


def shrink(scenario: Scenario, *, employees: int = 150, horizon_months: int = 24) -> Scenario:
    """A small copy of ``scenario``: fewer employees per agency and a shorter horizon."""
    changes: dict[str, object] = {"calendar.horizon_months": horizon_months}
    for i, _spec in enumerate(scenario.agencies):
        structure = f"agencies.{i}.structure"
        changes |= {
            f"{structure}.employees": employees,
            f"{structure}.jpt_posts": 1,
            f"{structure}.units": 5,
            f"{structure}.subunits_per_unit": 1,
        }
    return apply_changes(scenario, changes, file="test", where="shrink")


def with_changes(policy: simlib.Policy, **changes) -> simlib.Policy:
    """``policy`` with dotted-path changes (``budget__over_cap_rule="rank_order"``).

    Through :func:`simlib.params.changes.apply_changes`: the changed policy is validated whole.
    """
    dotted = {k.replace("__", "."): v for k, v in changes.items()}
    return apply_changes(policy, dotted, file="test", where="changes")


def params_with(raters, **changes):
    """Rater parameters with multi-source fields changed (``peer__count=2`` for sources).

    A plain key names a field of ``multi_source`` if it has one, else of the raters.
    """
    ms_fields = type(raters.multi_source).model_fields
    dotted = {}
    for key, value in changes.items():
        if "__" in key:
            source, field = key.split("__")
            dotted[f"multi_source.sources.{source}.{field}"] = value
        elif key in ms_fields:
            dotted[f"multi_source.{key}"] = value
        else:
            dotted[key] = value
    return apply_changes(raters, dotted, file="test")


def static_workforce(scenario: Scenario) -> Scenario:
    """``scenario`` with no one leaving, moving or joining (the posts' occupants stay)."""
    changes = {
        "retirement": False,
        "voluntary_exit_rate_pns": 0.0,
        "voluntary_exit_rate_pppk": 0.0,
        "pppk_renewal_min_predikat": "sangat_kurang",
        "sangat_kurang_years_to_separation": 0,
        "forced_separation_share": 0.0,
        "transfer_rate": 0.0,
    }
    return apply_changes(
        scenario, {f"flows.{k}": v for k, v in changes.items()}, file="test", where="static"
    )


def without_gaming(scenario: Scenario) -> Scenario:
    """``scenario`` whose ratings are not bent by gaming, resisting raters or missing SKP."""
    changes = {
        "adoption.skp_missing.resisting": 0.0,
        "adoption.skp_missing.complying": 0.0,
        "adoption.skp_missing.adopting": 0.0,
        "adoption.resisting_rater_inflation": 0.0,
        "gaming.target_easing_share": 0.0,
    }
    return apply_changes(scenario, changes, file="test", where="without_gaming")
