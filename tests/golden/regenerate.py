"""Regenerate the golden results of the tiny scenario. Run only on purpose:

    .venv/bin/python tests/golden/regenerate.py

then review the diff: a change in these files is a change in what the model computes.
"""

from __future__ import annotations

from pathlib import Path

import simlib
from simlib.core.paths import POLICIES, SCENARIOS

HERE = Path(__file__).parent
SEED = 20250101


def golden_run() -> simlib.RunResult:
    """The run the golden files record: the tiny district scenario, curve enforced in 2026."""
    import sys

    sys.path.insert(0, str(HERE.parent))
    from helpers import shrink

    scenario = shrink(simlib.load_scenario(SCENARIOS / "district_health_office.yaml"))
    base = simlib.load_policy(POLICIES / "baseline_regional.yaml")
    variant = simlib.load_variant(POLICIES / "distribution_curve_2026.yaml")
    schedule = simlib.build_schedule(
        base,
        (variant,),
        month_of=scenario.month_of,
        horizon_months=scenario.calendar.horizon_months,
    )
    return simlib.simulate(scenario, schedule, seed=SEED)


def main() -> None:
    result = golden_run()
    result.outcomes.to_csv(HERE / "tiny_outcomes.csv", index=False, float_format="%.17g")
    result.ledger.to_csv(HERE / "tiny_ledger.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
