"""Kinerja Lab: simulation workbench for performance-based management of Indonesia's ASN.

The public API, re-exported for convenience::

    import simlib
    scenario = simlib.load_scenario("data/scenarios/district_health_office.yaml")
    policy = simlib.load_policy(scenario.resolve(scenario.baseline_policy))
    result = simlib.simulate(scenario, policy, seed=1)
    result.outcomes  # tidy: agency x period x metric

    inputs = simlib.resolve(scenario, policy)  # every file read once, hashed by content
    results = [simlib.simulate(inputs, seed=1, replication=r) for r in range(3)]
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
from simlib.params.resolve import Inputs, resolve
from simlib.params.scenario import Scenario, load_scenario

__all__ = [
    "OUTCOMES",
    "ConfigError",
    "Inputs",
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
    "resolve",
    "simulate",
]

__version__ = "0.1.0"
