"""Tiny inputs for the notebook and report tests: a small scenario, experiment and store."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from simlib.core.paths import POLICIES, SCENARIOS

#: An arm label with HTML in it: reports must show it as text.
NASTY_LABEL = '<script>alert("x")</script> Tiers & Co'
#: Assumptions a tiny probabilistic sensitivity analysis draws, with their ranges (within
#: the parameter tree's declared ranges).
TINY_ASSUMPTIONS = {
    "behaviour.pay_sensitivity": (0.8, 5.0),
    "adoption.initial_resisting_share": (0.1, 0.3),
}


def write_tiny_scenario(
    folder: Path, *, employees: int = 60, horizon_months: int = 24, agencies: int = 1
) -> Path:
    """The default scenario shrunk to a few employees and a short horizon.

    With ``agencies`` > 1 the agency is repeated under other names (a report then has a
    page per agency).
    """
    source = SCENARIOS / "district_health_office.yaml"
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    structure = raw["agencies"][0]["structure"]
    structure["employees"]["value"] = employees
    structure["units"]["value"] = 3
    structure["subunits_per_unit"]["value"] = 1
    raw["calendar"]["horizon_months"]["value"] = horizon_months
    raw["baseline_policy"] = str((source.parent / raw["baseline_policy"]).resolve())
    for k in range(1, agencies):
        raw["agencies"].append({**copy.deepcopy(raw["agencies"][0]), "name": f"Dinkes {k + 1}"})
    path = folder / "tiny_scenario.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def write_tiny_experiment(
    folder: Path,
    *,
    agencies: int = 1,
    bilingual: bool = False,
    careers: bool = False,
    draws: int = 0,
    name: str = "tiny_experiment",
) -> Path:
    """Two arms (one with an HTML label) on the tiny scenario, two replications.

    With ``bilingual`` the baseline's label and description are given in both languages
    (the other arm's stay in one). With ``careers`` a third arm promotes by rating (so
    the careers outcomes, women's share by level, are reported). With ``draws`` > 0 the
    experiment is a probabilistic sensitivity analysis of the same arms: ``draws``
    replications, each drawing two assumptions (:data:`TINY_ASSUMPTIONS`) per replication.
    """
    scenario = write_tiny_scenario(folder, agencies=agencies)
    experiment = {
        "name": "Tiny <b>comparison</b>",
        "description": "A tiny experiment for tests & checks.",
        "scenario": str(scenario),
        "seed": {"value": 7, "unit": "root seed", "source": "test"},
        "replications": {"value": 2, "unit": "replications per arm", "source": "test"},
        "baseline": "today",
        "arms": [
            {"name": "today", "label": "Today's rules", "description": "The baseline."},
            {
                "name": "steeper",
                "label": NASTY_LABEL,
                "description": "Steeper tiers <i>for</i> tests.",
                "variants": [str(POLICIES / "steeper_tiers.yaml")],
            },
        ],
    }
    if bilingual:
        experiment["arms"][0]["label"] = {"id": "Aturan hari ini", "en": "Today's rules"}
        experiment["arms"][0]["description"] = {"id": "Dasar.", "en": "The baseline."}
    if careers:
        experiment["arms"].append(
            {
                "name": "promotion",
                "label": "Promotion by rating",
                "variants": [str(POLICIES / "promotion_by_rating.yaml")],
            }
        )
    if draws:
        experiment["replications"]["value"] = draws
        experiment["uncertainties"] = {
            "method": "lhs",
            "per_replication": True,
            "samples": {"value": draws, "unit": "samples", "source": "test"},
            "parameters": [
                {"path": p, "range": {"value": list(r), "unit": "as declared", "source": "test"}}
                for p, r in TINY_ASSUMPTIONS.items()
            ],
        }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False), encoding="utf-8")
    return path


def make_store(folder: Path, **options) -> tuple[Path, str]:
    """Run the tiny experiment in-process into ``folder/<run id>/store``.

    Returns the store and the run id (the layout ``simlib report`` uses, so the command
    finds the store complete and does not rerun it).
    """
    from simlib.experiment.sweep import manifest_for, plan_sweep, run_sweep
    from simlib.reporting.stores import run_id_for

    plan = plan_sweep(write_tiny_experiment(folder, **options))
    run_id = run_id_for(manifest_for(plan))
    store = folder / "reports" / run_id / "store"
    run_sweep(plan, store, executor="inprocess")
    return store, run_id
