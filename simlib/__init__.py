"""Kinerja Lab: simulation workbench for performance-based management of Indonesia's ASN.

The public API, re-exported for convenience::

    import simlib
    scenario = simlib.load_scenario("data/scenarios/district_health_office.yaml")
    policy = simlib.load_policy(scenario.resolve(scenario.baseline_policy))
    result = simlib.simulate(scenario, policy, seed=1)
    result.outcomes  # tidy: agency x period x metric

    inputs = simlib.resolve(scenario, policy)  # every file read once, hashed by content
    results = [simlib.simulate(inputs, seed=1, replication=r) for r in range(3)]

The names are imported when first used (a module-level ``__getattr__``, PEP 562), so that
importing one part of the package (``simlib.analysis`` for ``simlib ratings analyze``, say)
does not import the engine and its dependencies too.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Each public name and the module that defines it.
_HOMES = {
    "ConfigError": "simlib.core.errors",
    "OUTCOMES": "simlib.engine.outcomes",
    "RunResult": "simlib.engine.model",
    "simulate": "simlib.engine.model",
    "Policy": "simlib.params.policy",
    "PolicySchedule": "simlib.params.policy",
    "Variant": "simlib.params.policy",
    "apply_variant": "simlib.params.policy",
    "build_schedule": "simlib.params.policy",
    "load_policy": "simlib.params.policy",
    "load_policy_or_variant": "simlib.params.policy",
    "load_variant": "simlib.params.policy",
    "Inputs": "simlib.params.resolve",
    "resolve": "simlib.params.resolve",
    "Scenario": "simlib.params.scenario",
    "load_scenario": "simlib.params.scenario",
}

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


def __getattr__(name: str) -> Any:
    """Import a public name from its module when it is first asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'simlib' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # asked once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
