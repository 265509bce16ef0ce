"""Every path the workbench uses, defined once and anchored at the project root."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DATA",
    "DEFAULT_EXPERIMENT",
    "DEFAULT_SCENARIO",
    "EXPERIMENTS",
    "POLICIES",
    "REPORTS",
    "ROOT",
    "SCENARIOS",
    "TABLES",
]

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
SCENARIOS = DATA / "scenarios"
POLICIES = DATA / "policies"
TABLES = DATA / "tables"
REPORTS = ROOT / "reports"
DEFAULT_SCENARIO = SCENARIOS / "district_health_office.yaml"
EXPERIMENTS = DATA / "experiments"
DEFAULT_EXPERIMENT = EXPERIMENTS / "default.yaml"
