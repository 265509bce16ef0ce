"""Which inputs of an experiment rest on assumptions only, and which arms they drive.

Every parameter in a scenario, policy, variant or experiment file records its source
(``{value, unit, source}``). A source that says ``assumption`` and cites nothing (no
publication year, no regulation number, no ``facts.md`` entry) marks a value nobody
measured: an effect that depends on it is as uncertain as the assumption. This module finds
those parameters for the scenario and for what each arm changes (its variant files and
scenario changes), so a report can flag the effects they drive.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from simlib.core.paths import ROOT

__all__ = ["arm_assumptions", "assumed_only", "scenario_assumptions"]

_CITES = re.compile(r"(19|20)\d\d|facts\.md|\bPP\b|Perpres|Permen|Peraturan|UU\b|SE\b|\bBKN\b")
_ASSUMED = re.compile(r"^\s*(?:[VPM],\s*)?assum(?:ption|ed)\b", re.IGNORECASE)


def assumed_only(source: str) -> bool:
    """Whether ``source`` names an assumption and cites nothing that was measured."""
    return bool(_ASSUMED.match(source or "")) and not _CITES.search(source or "")


def _leaves(tree: Any, prefix: str = ""):
    """``(path, source)`` of every documented leaf (``{value, unit, source}``) of ``tree``."""
    if isinstance(tree, dict):
        if "value" in tree and "source" in tree:
            yield prefix, str(tree["source"])
            return
        for key, value in tree.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else str(key))


def scenario_assumptions(scenario) -> pd.DataFrame:
    """The scenario's parameters sourced only as assumption: ``parameter``, ``source``."""
    rows = [
        {"parameter": path, "source": doc.source}
        for path, doc in scenario.docs.items()
        if assumed_only(doc.source)
    ]
    return pd.DataFrame(rows, columns=["parameter", "source"])


def arm_assumptions(manifest: dict[str, Any], *, root: Path = ROOT) -> pd.DataFrame:
    """What each arm of a store's experiment changes that is sourced only as assumption.

    Reads the arms' variant files (paths relative to the experiment file) and their
    scenario changes as written. Columns ``arm``, ``parameter``, ``source``, ``file``.
    """
    from simlib.params.policy import load_policy_or_variant

    experiment = root / (manifest.get("experiment_file") or "")
    rows = []
    for arm in manifest.get("arms", []):
        for written in arm.get("variants") or []:
            path = (experiment.parent / written).resolve()
            if not path.is_file():
                continue
            record = load_policy_or_variant(path)
            for parameter, doc in getattr(record, "docs", {}).items():
                if assumed_only(doc.source):
                    rows.append(
                        {
                            "arm": arm["name"],
                            "parameter": parameter,
                            "source": doc.source,
                            "file": path.name,
                        }
                    )
        for parameter, source in _leaves(arm.get("scenario_changes") or {}):
            if assumed_only(source):
                rows.append(
                    {
                        "arm": arm["name"],
                        "parameter": parameter,
                        "source": source,
                        "file": experiment.name,
                    }
                )
    return pd.DataFrame(rows, columns=["arm", "parameter", "source", "file"])
