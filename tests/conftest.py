"""Shared fixtures: a tiny scenario and the baseline policies."""

from __future__ import annotations

import os

import pytest
from helpers import shrink
from hypothesis import settings

import simlib
from simlib.core.paths import POLICIES, SCENARIOS
from simlib.params.scenario import Scenario

# CI replays the same examples every run; local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def district() -> Scenario:
    return simlib.load_scenario(SCENARIOS / "district_health_office.yaml")


@pytest.fixture(scope="session")
def tiny(district) -> Scenario:
    return shrink(district)


@pytest.fixture(scope="session")
def regional() -> simlib.Policy:
    return simlib.load_policy(POLICIES / "baseline_regional.yaml")


@pytest.fixture(scope="session")
def central() -> simlib.Policy:
    return simlib.load_policy(POLICIES / "baseline_central.yaml")
