"""A run's inputs as a user names them: a scenario file, then a policy and variant files.

:func:`resolve_inputs` is the one reading of ``SCENARIO [--policy FILE ...]`` shared by the
command line (``simlib run``, ``ratings simulate``) and the notebooks
(:mod:`simlib.reporting`): the scenario, its base policy (the first ``--policy`` if it is a
full policy, else the scenario's ``baseline_policy``) and the variants after it, each
loaded and validated. It sits with the parameter records, below the model, so that both
the reports and the command line can use it without importing each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simlib.core.errors import ConfigError
from simlib.core.paths import ROOT
from simlib.params.policy import Policy, Variant, load_policy, load_policy_or_variant
from simlib.params.scenario import Scenario, load_scenario

__all__ = ["add_file_argument", "resolve_inputs"]


def resolve_inputs(
    scenario_path: str | Path, policy_files: Sequence[str | Path] = ()
) -> tuple[Scenario, Policy, tuple[Variant, ...]]:
    """Load a scenario, its base policy and variants; everything validated."""
    scenario = load_scenario(scenario_path)
    start = scenario.calendar.start_date  # dated policy parameters: in force on this date
    loaded = [load_policy_or_variant(p, on=start) for p in policy_files]
    base: Policy | None = None
    variants: list[Variant] = []
    for i, item in enumerate(loaded):
        if isinstance(item, Policy):
            if i != 0:
                raise ConfigError(
                    "a full policy may only be the first --policy; later files must be "
                    "variants (with 'changes')",
                    file=policy_files[i],
                )
            base = item
        else:
            variants.append(item)
    if base is None:
        path = scenario.resolve(scenario.baseline_policy)
        try:
            base = load_policy(path, on=start)
        except ConfigError as exc:
            if exc.message == "file not found":
                raise ConfigError(
                    f"baseline policy {scenario.baseline_policy!r} not found ({path})",
                    file=scenario_path,
                    path="baseline_policy",
                ) from None
            raise
    return scenario, base, tuple(variants)


def add_file_argument(parser: Any, name: str, default: Path) -> None:
    """The optional positional input file of a command (``scenario``, ``experiment``).

    One definition for every command that takes one, with the shipped default named in
    its help.
    """
    shown = default.relative_to(ROOT) if default.is_relative_to(ROOT) else default
    parser.add_argument(
        name, nargs="?", default=str(default), help=f"{name} YAML (default: {shown})"
    )
