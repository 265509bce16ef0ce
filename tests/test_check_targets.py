"""``calibration.check_targets`` (``simlib calibrate --check``) against hand-computed z.

A tiny district is simulated here by hand with the seeds the check uses (replication r of
seed s), the statistics computed from the outcome frames, and z = (simulated - observed) /
tolerance worked out independently of the check's own code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import simlib
from simlib.cli.main import main
from simlib.core.paths import SCENARIOS
from simlib.experiment.calibration import check_targets

REPLICATIONS, SEED, EMPLOYEES = 2, 7, 150


def tiny_scenario(folder: Path) -> Path:
    """The default district shrunk to 150 posts and two years, as a delta."""
    delta = {
        "kind": "scenario",
        "extends": str((SCENARIOS / "district_health_office.yaml").resolve()),
        "calendar": {"horizon_months": {"value": 24, "unit": "months", "source": "test"}},
        "agencies": [{"name": "Dinkes Kabupaten",
                      "structure": {"employees": {"value": EMPLOYEES, "source": "test"},
                                    "units": {"value": 5, "source": "test"},
                                    "subunits_per_unit": {"value": 1, "source": "test"}}}],
    }  # fmt: skip
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(delta, sort_keys=False))
    return path


def leaf(value: float, unit: str) -> dict:
    return {"value": value, "unit": unit, "source": "test"}


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("check")
    scenario = tiny_scenario(folder)
    sc = simlib.load_scenario(scenario)
    policy = simlib.load_policy(sc.resolve(sc.baseline_policy), on=sc.calendar.start_date)
    retirements, heads = [], []
    for r in range(REPLICATIONS):
        out = simlib.simulate(sc, policy, seed=SEED, replication=r).outcomes
        year = out[out.period_kind == "year"]
        retirements.append(year.loc[year.metric == "retirements", "value"].sum())
        heads.append(year.loc[year.metric == "headcount", "value"].sum())
    rates = np.array(retirements) / np.array(heads)
    targets = [
        # Headcount after the flows is the posts: every leaver is replaced (150, no noise).
        {"name": "headcount_met", "statistic": {"outcome": "headcount", "period_kind": "year"},
         "observed": leaf(149.0, "employees"), "tolerance": leaf(2.0, "employees"),
         "status": "M"},
        {"name": "headcount_missed", "statistic": {"outcome": "headcount", "period_kind": "year"},
         "observed": leaf(140.0, "employees"), "tolerance": leaf(4.0, "employees"),
         "status": "M"},
        {"name": "retirement_missed", "statistic": {"function": "retirement_rate"},
         "observed": leaf(0.20, "share per year"), "tolerance": leaf(0.05, "share per year"),
         "status": "M"},
    ]  # fmt: skip
    path = folder / "targets.yaml"
    path.write_text(yaml.safe_dump({"name": "test", "description": "hand-computed z",
                                    "targets": targets}, sort_keys=False))  # fmt: skip
    table = check_targets(scenario, [path], replications=REPLICATIONS, seed=SEED)
    return scenario, path, rates, table.set_index("target")


def test_a_met_target_has_the_hand_computed_z(case):
    _, _, _, table = case
    row = table.loc["headcount_met"]
    # (150 - 149) / 2 = 0.5, no Monte-Carlo error: every replication has 150.
    assert row.simulated == EMPLOYEES, row
    assert row.z == pytest.approx(0.5, abs=1e-12), row
    assert row.mc_se == pytest.approx(0.0, abs=1e-12), row
    assert row.met and row.plausible, row


def test_a_missed_target_has_the_hand_computed_z(case):
    _, _, _, table = case
    row = table.loc["headcount_missed"]
    # (150 - 140) / 4 = 2.5: outside the tolerance (not met), below 3 (still plausible).
    assert row.z == pytest.approx(2.5, abs=1e-12), row
    assert row.implausibility == pytest.approx(2.5, abs=1e-12), row
    assert not row.met and row.plausible, row


def test_a_statistic_function_is_the_hand_computed_rate(case):
    _, _, rates, table = case
    row = table.loc["retirement_missed"]
    simulated = rates.mean()
    se = rates.std(ddof=1) / np.sqrt(REPLICATIONS)
    assert row.simulated == pytest.approx(simulated, rel=1e-12), (row, rates)
    assert row.z == pytest.approx((simulated - 0.20) / 0.05, rel=1e-12), row
    assert row.implausibility == pytest.approx(abs(simulated - 0.20) / np.hypot(0.05, se),
                                               rel=1e-9), row  # fmt: skip
    assert not row.met, row


def test_check_cli_prints_met_and_missed(case, capsys):
    scenario, path, _, _ = case
    code = main(["calibrate", str(scenario), "--targets", str(path), "--check",
                 "--replications", str(REPLICATIONS), "--seed", str(SEED)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith(("head", "ret"))}
    assert lines["headcount_met"].rstrip().endswith("yes"), out
    assert lines["headcount_missed"].rstrip().endswith("NO"), out
    assert "1 of 3 targets met" in out, out
