"""Kinerja Lab: simulation workbench for performance-based management of Indonesia's ASN.

The public API, re-exported for convenience::

    import simlib
    scenario = simlib.load_scenario("data/scenarios/district_health_office.yaml")
    policy = simlib.load_policy(scenario.resolve(scenario.baseline_policy))
    result = simlib.simulate(scenario, policy, seed=1)
    result.outcomes  # tidy: agency x period x metric
"""

from simlib.core.errors import ConfigError
from simlib.engine.model import RunResult, simulate
from simlib.engine.outcomes import OUTCOMES
from simlib.params.policy import (
    Policy,
    PolicySchedule,
    Variant,
    apply_variant,
    build_schedule,
    load_policy,
    load_policy_or_variant,
    load_variant,
)
from simlib.params.scenario import Scenario, load_scenario

__all__ = [
    "OUTCOMES",
    "ConfigError",
    "Policy",
    "PolicySchedule",
    "RunResult",
    "Scenario",
    "Variant",
    "apply_variant",
    "build_schedule",
    "load_policy",
    "load_policy_or_variant",
    "load_scenario",
    "load_variant",
    "simulate",
]

__version__ = "0.1.0"
