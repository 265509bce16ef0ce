"""Provenance: what produced a result (code version, packages, inputs and their hashes)."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from simlib.paths import ROOT

__all__ = ["code_version", "file_sha256", "package_versions", "resolved_inputs", "stable_hash"]

PACKAGES = ("simlib", "numpy", "pandas", "scipy", "simpy", "pydantic", "pyyaml", "pyarrow")


@cache
def code_version() -> dict[str, Any]:
    """Git commit and dirty flag of the working tree (``"unknown"`` outside git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown", "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that shape results."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def stable_hash(obj: Any) -> str:
    """SHA-256 of a JSON-serialisable object, independent of key order."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def resolved_inputs(scenario: Any, schedule: Any) -> dict[str, Any]:
    """Everything a run depends on besides its seed: the scenario and the policy schedule.

    Parameters
    ----------
    scenario
        A validated :class:`~simlib.scenario.Scenario`.
    schedule
        The :class:`~simlib.policy.PolicySchedule` in force.

    Returns
    -------
    dict
        JSON-ready ``{"scenario": ..., "policies": [{"start_month": m, ...}, ...]}``,
        without file names and parameter documentation (they do not change results).
    """
    return {
        "scenario": scenario.model_dump(mode="json", exclude={"docs", "source_file"}),
        "policies": [
            {"start_month": m, **p.model_dump(mode="json", exclude={"docs", "source_file"})}
            for m, p in schedule.entries
        ],
    }
