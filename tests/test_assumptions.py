"""Assumption uncertainty (issue 14, part B): draws per replication, effects, discovery.

- an experiment with ``per_replication`` uncertainties runs sample *r* in replication *r* of
  every arm (common random numbers and common assumptions across arms);
- :func:`simlib.analysis.effects.main_effect_shares` finds the parameter that drives a
  synthetic effect; :func:`assumption_effects` names it on a tiny store;
- :func:`simlib.analysis.discovery.discover` recovers a known box (PRIM);
- ``simlib effects --assumptions`` and ``--discover`` print and write JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from simlib.analysis.discovery import discover
from simlib.analysis.effects import assumption_effects, main_effect_shares
from simlib.cli.main import main
from simlib.core.errors import ConfigError
from simlib.experiment.sweep import load_experiment, plan_sweep, run_sweep
from simlib.store.runstore import open_store

ROOT = Path(__file__).resolve().parents[1]
PUSH = "adoption.socialised_push_per_month"


def _tiny_psa(tmp_path: Path, *, replications: int = 24, samples: int = 24) -> Path:
    data = ROOT / "data"
    exp = {
        "name": "Tiny PSA",
        "description": "Socialisation against today with the push drawn per replication.",
        "scenario": str(data / "scenarios" / "district_health_office.yaml"),
        "seed": {"value": 11, "unit": "root seed", "source": "assumption"},
        "replications": {"value": replications, "unit": "replications", "source": "test"},
        "scenario_changes": {
            "calendar.horizon_months": {"value": 12, "unit": "months", "source": "test"},
            "agencies.0.structure.employees": {"value": 120, "unit": "employees", "source": "t"},
            "agencies.0.structure.units": {"value": 4, "unit": "units", "source": "test"},
            "agencies.0.structure.subunits_per_unit": {"value": 1, "unit": "sub", "source": "t"},
        },
        "baseline": "today",
        "arms": [
            {"name": "today", "label": "Today"},
            {
                "name": "socialisation",
                "label": "Socialisation",
                "variants": [str(data / "policies" / "socialisation_campaign.yaml")],
            },
        ],
        "uncertainties": {
            "method": "lhs",
            "per_replication": True,
            "samples": {"value": samples, "unit": "samples", "source": "test"},
            "parameters": [
                {"path": PUSH,
                 "range": {"value": [0.0, 0.4], "unit": "hazard per month", "source": "test"}},
                {"path": "raters.reluctance.closeness_effect",
                 "range": {"value": [0.0, 1.0], "unit": "log ratio", "source": "test"}},
            ],
        },
    }  # fmt: skip
    path = tmp_path / "psa.yaml"
    path.write_text(yaml.safe_dump(exp, sort_keys=False), encoding="utf-8")
    return path


# -- the plan -----------------------------------------------------------------------------


def test_per_replication_runs_sample_r_in_replication_r_of_every_arm(tmp_path):
    plan = plan_sweep(_tiny_psa(tmp_path))
    runs = plan.runs
    assert len(runs) == 2 * 24, "one run per arm and replication, not per sample too"
    assert all(r.sample == r.replication for r in runs)
    by_rep = {}
    for r in runs:
        by_rep.setdefault(r.replication, set()).add((r.sample, r.seed))
    assert all(len(v) == 1 for v in by_rep.values()), "every arm of a replication: same draw"
    # The drawn values differ between replications (a Latin hypercube point each).
    pushes = [s[PUSH] for s in plan.samples]
    assert len(set(pushes)) == 24


def test_per_replication_refuses_more_replications_than_samples(tmp_path):
    with pytest.raises(ConfigError, match="at most as many replications as samples"):
        load_experiment(_tiny_psa(tmp_path, replications=13, samples=12))


# -- main-effect shares and the effects table ----------------------------------------------


def test_main_effect_shares_find_the_driving_parameter():
    rng = np.random.default_rng(5)
    n = 400
    x = rng.random((n, 3))
    y = 3.0 * x[:, 1] ** 2 + 0.2 * rng.standard_normal(n)  # nonlinear in x1 only
    shares = main_effect_shares(x, y)
    assert shares[1] > 0.8, shares
    assert shares[0] < 0.05 and shares[2] < 0.05, shares
    assert main_effect_shares(np.zeros((n, 1)), y)[0] == 0.0


@pytest.fixture(scope="module")
def psa_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("psa")
    plan = plan_sweep(_tiny_psa(folder))
    run_sweep(plan, folder / "store", executor="inprocess")
    return folder / "store"


def test_assumption_effects_name_the_push_as_driver_of_adoption(psa_store):
    table = assumption_effects(open_store(psa_store), metrics=["adoption_share"])
    row = table[(table.arm == "socialisation") & (table.period_kind == "quarter")].iloc[0]
    assert row.psa_n == 24
    assert row.psa_low <= row.psa_median <= row.psa_high
    assert row.psa_low < row.psa_high, "drawn assumptions spread the effect"
    assert row.drivers.startswith(PUSH), row.drivers


def test_effects_cli_prints_the_two_intervals_and_the_boxes(psa_store, capsys):
    assert main(["effects", str(psa_store), "--assumptions", str(psa_store), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = [r for r in report["effects"] if r["arm"] == "socialisation"]
    assert rows and all({"ci_low", "ci_high", "psa_low", "psa_high"} <= set(r) for r in rows)
    assert main(["effects", str(psa_store), "--discover", "adoption_share"]) == 0
    out = capsys.readouterr().out
    assert "Scenario discovery (PRIM)" in out and "socialisation" in out


def test_effects_cli_refuses_discovery_on_a_store_without_draws(tmp_path, capsys):
    tiny = ROOT / "tests" / "data" / "tiny_experiment.yaml"
    plan = plan_sweep(tiny, replications=2)
    run_sweep(plan, tmp_path / "s", executor="inprocess")
    assert main(["effects", str(tmp_path / "s"), "--discover", "adoption_share"]) == 2
    assert "draws no assumptions" in capsys.readouterr().err


# -- PRIM on a known box ----------------------------------------------------------------------


def test_prim_recovers_a_known_box():
    # Failure exactly where a < 0.3 and b > 0.6 (mass 0.12); c is irrelevant.
    rng = np.random.default_rng(8)
    n = 2000
    x = pd.DataFrame(rng.random((n, 3)), columns=["a", "b", "c"])
    failing = ((x.a < 0.3) & (x.b > 0.6)).to_numpy()
    boxes = discover(x, failing, max_boxes=2)
    assert boxes, "a box is found"
    box = boxes[0]
    assert set(box.limits) == {"a", "b"}, box.limits
    # Bounds within one peel step (5 % of the draws) of the true ones.
    assert box.limits["a"][1] == pytest.approx(0.3, abs=0.05)
    assert box.limits["b"][0] == pytest.approx(0.6, abs=0.05)
    assert box.coverage > 0.9 and box.density > 0.9, box.describe()
    # The share of draws in the box over the true mass, within binomial error.
    se = np.sqrt(0.12 * 0.88 / n)
    assert abs(box.mass - 0.12) < 0.05 + 4 * se


def test_prim_finds_nothing_when_nothing_or_everything_fails():
    x = pd.DataFrame({"a": np.linspace(0, 1, 50)})
    assert discover(x, np.zeros(50, dtype=bool)) == []
    assert discover(x, np.ones(50, dtype=bool)) == []
