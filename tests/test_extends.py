"""Scenarios as short deltas: ``extends`` and what a delta may say (issue 13).

``tests/data/scenario_values.json`` holds every shipped scenario's values (the record's
``model_dump`` without ``docs`` and ``source_file``) as loaded from the full 150-line files
*before* they were shrunk to deltas; the shrunk files must resolve to exactly those values.
Since the parameter tree (``data/parameters/scenario.yaml``, ``tests/test_tree.py``), the
default district is itself a delta on the tree, which holds its defaults.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

import simlib
from simlib.cli.main import main
from simlib.core.errors import ConfigError
from simlib.core.paths import DATA, SCENARIOS
from simlib.experiment.sweep import plan_sweep
from simlib.params.scenario import MAX_EXTENDS, read_scenario

FROZEN = Path(__file__).parent / "data" / "scenario_values.json"
ARCHETYPES = {"district_health_office", "central_ministry", "provincial_government",
              "scullen_forced_distribution"}  # fmt: skip
#: Scenario files written by a script beside them (``<name>_generate.py``), not by hand.
GENERATED = {"national"}
#: Leaves ``central_ministry.yaml`` repeated with the default's value but other unit or source.
DRIFTED = (
    "workforce.competence.sd",
    "workforce.openness.mean",
    "performance.noise_sd",
    "raters.leniency_sd",
    "raters.noise_sd",
    "raters.pay_purpose_inflation",
    "attendance.heterogeneity_shape",
    "organisation.achievement_noise_sd",
)
TINY = {
    "extends": "district_health_office",
    "calendar": {"horizon_months": {"value": 12, "source": "assumption: short for tests"}},
    "agencies": [
        {
            "name": "Dinkes Kabupaten",
            "structure": {
                "employees": {"value": 120, "source": "assumption: small for tests"},
                "units": {"value": 4, "source": "assumption"},
                "subunits_per_unit": {"value": 1, "source": "assumption"},
            },
        }
    ],
}


def write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def values(scenario: simlib.Scenario) -> dict:
    dumped = scenario.model_dump(mode="json", exclude={"docs", "source_file"})
    return json.loads(json.dumps(dumped))


def world(scenario: simlib.Scenario) -> dict:
    """Values with the paths resolved (a delta elsewhere writes its parent's paths whole)."""
    out = values(scenario)
    out["baseline_policy"] = str(scenario.resolve(scenario.baseline_policy))
    return out


def default() -> simlib.Scenario:
    return simlib.load_scenario(SCENARIOS / "district_health_office.yaml")


# -- the shipped scenarios --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(json.loads(FROZEN.read_text())))
def test_shrunk_scenarios_keep_every_value(name):
    frozen = json.loads(FROZEN.read_text())[name]
    got = values(simlib.load_scenario(SCENARIOS / f"{name}.yaml"))
    changed = sorted(k for k in frozen.keys() | got.keys() if frozen.get(k) != got.get(k))
    assert got == frozen, f"{name}: sections that changed: {changed}"


def test_every_shipped_scenario_is_frozen_and_the_others_are_short_deltas():
    frozen = json.loads(FROZEN.read_text())
    # Generated scenarios are checked against their generator instead (test_national).
    files = {p.stem: p for p in SCENARIOS.glob("*.yaml") if p.stem not in GENERATED}
    assert set(files) == set(frozen), "freeze a new scenario's values in tests/data"
    for name, path in files.items():
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if name != "district_health_office":
            assert raw.get("extends") == "district_health_office", name
        if name not in ARCHETYPES:
            assert 10 <= lines <= 40, (name, lines)


def test_drifted_leaves_of_the_central_ministry_inherit_the_default_documentation():
    central = simlib.load_scenario(SCENARIOS / "central_ministry.yaml")
    base = default()
    for path in DRIFTED:
        assert central.docs[path] == base.docs[path], path
    # A changed value names its own source; its unit is the default's.
    mean = central.docs["workforce.competence.mean"]
    assert central.workforce.competence.mean == 0.2
    assert mean.unit == base.docs["workforce.competence.mean"].unit == "SD"
    assert mean.source == "assumption: more graduate staff at the centre"


# -- what a delta may say ---------------------------------------------------------------------


def delta(tmp_path: Path, **changes) -> Path:
    return write(tmp_path / "child.yaml", {"extends": "district_health_office", **changes})


def pppk(value) -> dict:
    return {"agencies": [{"name": "Dinkes Kabupaten", "structure": {"pppk_share": value}}]}


def test_an_unchanged_bare_number_inherits_unit_and_source(tmp_path):
    scenario = simlib.load_scenario(delta(tmp_path, **pppk(0.25)))
    path = "agencies[0].structure.pppk_share"
    assert scenario.agencies[0].structure.pppk_share == 0.25
    assert scenario.docs[path] == default().docs[path]
    assert world(scenario) == world(default())


def test_a_changed_bare_number_is_refused_in_one_line(tmp_path):
    child = delta(tmp_path, **pppk(0.3))
    with pytest.raises(ConfigError) as info:
        simlib.load_scenario(child)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"{child}: agencies[0].structure.pppk_share: "), text
    assert "bare value 0.3 changes the inherited 0.25 (share of staff)" in text, text
    assert "allowed: {value: 0.3, source: ...}" in text, text


def test_a_changed_value_with_a_source_inherits_the_unit(tmp_path):
    scenario = simlib.load_scenario(delta(tmp_path, **pppk({"value": 0.3, "source": "assumption"})))
    doc = scenario.docs["agencies[0].structure.pppk_share"]
    assert scenario.agencies[0].structure.pppk_share == 0.3
    assert (doc.unit, doc.source) == ("share of staff", "assumption")


def test_a_changed_value_without_a_source_is_refused(tmp_path):
    child = delta(tmp_path, **pppk({"value": 0.3, "unit": "share of staff"}))
    with pytest.raises(
        ConfigError, match=r"pppk_share: \{value: 0.3\} without a source changes the inherited 0.25"
    ):
        simlib.load_scenario(child)


def test_a_bad_key_in_the_delta_names_the_child_file_and_the_field(tmp_path):
    child = delta(tmp_path, workforce={"competence": {"meen": {"value": 1, "unit": "SD",
                                                               "source": "x"}}})  # fmt: skip
    with pytest.raises(ConfigError) as info:
        simlib.load_scenario(child)
    text = str(info.value)
    assert text.startswith(f"{child}: workforce.competence.meen: unknown key 'meen'"), text
    assert "allowed keys: mean, sd" in text and "\n" not in text, text


def test_a_delta_value_is_validated_with_the_whole_scenario(tmp_path):
    child = delta(tmp_path, **pppk({"value": 1.5, "source": "assumption"}))
    with pytest.raises(ConfigError, match=r"child.yaml: agencies\[0\].structure.pppk_share: 1.5"):
        simlib.load_scenario(child)


def test_agencies_merge_by_name_and_a_new_name_replaces(tmp_path):
    csv = str(DATA / "raw" / "example_org.csv")
    same = {"name": "Dinkes Kabupaten", "structure": None, "org_csv": csv}
    merged = simlib.load_scenario(delta(tmp_path, agencies=[same]))
    assert merged.agencies[0].archetype == "district_health_office"  # inherited
    assert merged.agencies[0].structure is None and merged.agencies[0].org_csv == csv
    two = [{"name": "Dinkes Kabupaten"},
           {"name": "Bappeda", "archetype": "custom", "org_csv": csv}]  # fmt: skip
    both = simlib.load_scenario(delta(tmp_path, agencies=two))
    assert [a.name for a in both.agencies] == ["Dinkes Kabupaten", "Bappeda"]
    assert both.agencies[0] == default().agencies[0]
    incomplete = delta(tmp_path, agencies=[{"name": "Bappeda", "archetype": "custom"}])
    with pytest.raises(ConfigError, match=r"agencies\[0\]: .*exactly one of 'structure'"):
        simlib.load_scenario(incomplete)


# -- the chain of parents ---------------------------------------------------------------------


def test_a_cycle_is_refused(tmp_path):
    write(tmp_path / "a.yaml", {"extends": "b", "name": "a"})
    write(tmp_path / "b.yaml", {"extends": "./a.yaml", "name": "b"})
    # The error is in the file whose parent closes the loop; it shows the whole loop.
    loop = r"b.yaml: extends: './a.yaml' makes a cycle \(a.yaml -> b.yaml -> a.yaml\)"
    with pytest.raises(ConfigError, match=loop):
        simlib.load_scenario(tmp_path / "a.yaml")
    write(tmp_path / "self.yaml", {"extends": "self"})
    with pytest.raises(ConfigError, match=r"cycle \(self.yaml -> self.yaml\)"):
        simlib.load_scenario(tmp_path / "self.yaml")


def test_a_chain_longer_than_the_limit_is_refused(tmp_path):
    write(tmp_path / "s0.yaml", {"extends": "district_health_office"})
    for i in range(1, MAX_EXTENDS + 1):
        write(tmp_path / f"s{i}.yaml", {"extends": f"s{i - 1}"})
    assert world(simlib.load_scenario(tmp_path / f"s{MAX_EXTENDS - 2}.yaml")) == world(default())
    with pytest.raises(ConfigError, match=rf"chain of more than {MAX_EXTENDS} files"):
        simlib.load_scenario(tmp_path / f"s{MAX_EXTENDS - 1}.yaml")


@pytest.mark.parametrize("parent", ["district_helth_office", "../nowhere/x.yaml"])
def test_a_missing_parent_is_refused_in_one_line(tmp_path, parent):
    child = write(tmp_path / "child.yaml", {"extends": parent})
    with pytest.raises(ConfigError) as info:
        simlib.load_scenario(child)
    text = str(info.value)
    assert text.startswith(f"{child}: extends: {parent!r}: parent scenario not found"), text
    assert "allowed: a scenario name (central_ministry, district_health_office" in text, text


def test_an_invalid_parent_is_reported_in_its_own_file(tmp_path):
    raw = read_scenario(SCENARIOS / "district_health_office.yaml")  # the whole tree
    raw["baseline_policy"] = str(DATA / "policies" / "baseline_regional.yaml")
    raw["flows"]["transfer_rate"]["value"] = 2.0
    parent = write(tmp_path / "parent.yaml", raw)
    write(tmp_path / "child.yaml", {"extends": "parent"})
    with pytest.raises(ConfigError, match=rf"^{parent}: flows.transfer_rate: 2.0 is out of range"):
        simlib.load_scenario(tmp_path / "child.yaml")


def test_relative_paths_resolve_from_the_file_that_writes_them(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    (base / "policy.yaml").write_text((DATA / "policies" / "baseline_regional.yaml").read_text())
    (base / "org.csv").write_text((DATA / "raw" / "example_org.csv").read_text())
    write(base / "parent.yaml", {
        "extends": str(SCENARIOS / "district_health_office.yaml"),
        "baseline_policy": "policy.yaml",
        "agencies": [{"name": "Dinkes Kabupaten", "structure": None, "org_csv": "org.csv"}],
    })  # fmt: skip
    child = write(tmp_path / "elsewhere" / "child.yaml", {"extends": "../base/parent.yaml"})
    scenario = simlib.load_scenario(child)
    assert scenario.resolve(scenario.baseline_policy) == (base / "policy.yaml").resolve()
    assert scenario.resolve(scenario.agencies[0].org_csv) == (base / "org.csv").resolve()
    # Paths the child writes resolve from the child; a name finds the shipped scenario.
    (tmp_path / "elsewhere" / "mine.csv").write_text((base / "org.csv").read_text())
    own = write(child, {"extends": "../base/parent.yaml",
                        "agencies": [{"name": "Dinkes Kabupaten", "org_csv": "mine.csv"}]})  # fmt: skip
    mine = simlib.load_scenario(own).agencies[0]
    assert simlib.load_scenario(own).resolve(mine.org_csv) == (own.parent / "mine.csv").resolve()
    shipped = simlib.load_scenario(write(tmp_path / "x.yaml", {"extends": "org_from_csv"}))
    org = shipped.resolve(shipped.agencies[0].org_csv)
    assert org == (DATA / "raw" / "example_org.csv").resolve()
    policy = shipped.resolve(shipped.baseline_policy)
    assert policy == (DATA / "policies" / "baseline_regional.yaml").resolve()


# -- run and sweep use extends transparently --------------------------------------------------


def test_run_of_a_delta_equals_run_of_the_written_out_scenario(tmp_path):
    child = write(tmp_path / "tiny.yaml", TINY)
    full = read_scenario(child)
    assert "extends" not in full
    full["baseline_policy"] = str(DATA / "policies" / "baseline_regional.yaml")
    written = write(tmp_path / "full.yaml", full)
    assert values(simlib.load_scenario(written)) == values(simlib.load_scenario(child))
    for path, out in ((child, "a"), (written, "b")):
        args = ["run", str(path), "--seed", "3", "--out", str(tmp_path / out)]
        assert main(args) == 0
    for table in ("outcomes", "ledger"):
        a = pd.read_parquet(tmp_path / "a" / f"{table}.parquet")
        b = pd.read_parquet(tmp_path / "b" / f"{table}.parquet")
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_sweep_applies_scenario_changes_after_extends(tmp_path):
    write(tmp_path / "tiny.yaml", TINY)
    leaf = {"value": 0.3, "unit": "share of employees", "source": "assumption"}
    experiment = write(tmp_path / "exp.yaml", {
        "name": "delta sweep",
        "description": "a sweep over a scenario delta",
        "scenario": "tiny.yaml",
        "seed": {"value": 7, "unit": "root seed", "source": "assumption"},
        "replications": {"value": 1, "unit": "replications per arm", "source": "assumption"},
        "baseline": "today",
        "arms": [
            {"name": "today", "label": "Today"},
            # 'adoption' is not in the delta: the change applies to the resolved scenario.
            {"name": "resistant", "label": "More resisting",
             "scenario_changes": {"adoption.initial_resisting_share": leaf}},
        ],
    })  # fmt: skip
    plan = plan_sweep(experiment)
    today, resistant = plan.inputs[(0, 0)].scenario, plan.inputs[(1, 0)].scenario
    assert today.agencies[0].structure.employees == 120
    assert today.adoption.initial_resisting_share == 0.16
    assert resistant.adoption.initial_resisting_share == 0.3
    assert resistant.agencies[0].structure.employees == 120
    store = tmp_path / "store"
    assert main(["sweep", str(experiment), "--store", str(store), "--executor", "inprocess"]) == 0
