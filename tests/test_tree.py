"""The parameter tree (issue 13): defaults declared once, files as deltas on it.

``data/parameters/{scenario,policy}.yaml`` declare every leaf of the records with its
description, unit, default, source, status and (for assumptions) range; scenarios, policies
and variants are deltas on them. See ``simlib/params/tree.py`` and ``docs/parameters.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml

import simlib
from simlib.cli.main import main
from simlib.core.errors import ConfigError
from simlib.core.paths import DATA, POLICIES, ROOT, SCENARIOS
from simlib.params import tree
from simlib.params.changes import apply_changes
from simlib.params.policy import Policy, load_policy, load_policy_or_variant, load_variant
from simlib.params.runinputs import resolve_inputs
from simlib.params.scenario import Scenario
from simlib.store import provenance

MODELS = {"scenario": Scenario, "policy": Policy}
DEFAULT = SCENARIOS / "district_health_office.yaml"
BASELINES = (POLICIES / "baseline_central.yaml", POLICIES / "baseline_regional.yaml")


def write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text


# -- the tree and the records declare the same leaves ---------------------------------------


@pytest.mark.parametrize("kind", tree.TREE_KINDS)
def test_every_record_leaf_has_a_tree_entry_and_every_entry_is_a_leaf(kind):
    leaves = set(tree.record_leaves(MODELS[kind]))
    entries = set(tree.load_tree(kind).parameters)
    missing, extra = sorted(leaves - entries), sorted(entries - leaves)
    assert not missing, f"add these to data/parameters/{kind}.yaml: {missing}"
    assert not extra, f"these entries of data/parameters/{kind}.yaml are no field: {extra}"


@pytest.mark.parametrize("kind", tree.TREE_KINDS)
def test_every_default_passes_its_field_and_agrees_with_a_code_default(kind):
    model = MODELS[kind]
    checked = tree.check_tree(kind, model)  # each default validated by its field, strictly
    for path, p in checked.parameters.items():
        parts = path.replace("[]", "").split(".")
        current = model
        for part in parts[:-1]:
            current = tree._record_type(current.model_fields[part].annotation)
        info = current.model_fields[parts[-1]]
        if not info.is_required() and info.default is not None and p.has_default:
            default = tuple(p.value) if isinstance(p.value, list) else p.value
            assert default == info.default, f"{path}: tree {p.value!r}, code {info.default!r}"


@pytest.mark.parametrize("kind", tree.TREE_KINDS)
def test_every_entry_is_described_and_every_default_has_source_and_status(kind):
    for path, p in tree.load_tree(kind).parameters.items():
        assert len(p.description) > 15, path
        if p.has_default:
            assert p.source.strip() and p.status in tree.STATUSES, path
        if p.range is not None:
            assert p.range_source.strip(), path


# -- ranges for the assumptions ---------------------------------------------------------------


def _records():
    return [simlib.load_scenario(DEFAULT), *(load_policy(p) for p in BASELINES)]


@pytest.mark.parametrize("record", _records(), ids=["district", "central", "regional"])
def test_every_assumption_of_the_default_scenario_and_baselines_has_a_range(record):
    kind = "scenario" if isinstance(record, Scenario) else "policy"
    entries = tree.load_tree(kind).parameters
    missing = []
    for path, doc in record.docs.items():
        entry = entries.get(tree.tree_path(path))
        value = tree._value_at(record.model_dump(), path)
        if entry is None or entry.setting or not isinstance(value, int | float):
            continue  # settings are never sampled; lists (org_cutoffs) have no scalar range
        if doc.status == "M" or doc.source.lower().startswith("assumption"):
            if doc.range is None:
                missing.append(f"{path} = {value!r} ({doc.source[:40]})")
            else:
                assert doc.range[0] <= value <= doc.range[1], path
    assert not missing, f"assumptions without a plausible range: {missing}"


def test_assumption_ranges_give_the_box_a_sensitivity_analysis_draws_from():
    scenario = simlib.load_scenario(DEFAULT)
    ranges = tree.assumption_ranges(scenario)
    assert ranges["behaviour.pay_sensitivity"] == (0.8, 5.0)
    assert ranges["adoption.imitation_per_month"] == (0.01, 0.042)
    # Settings and verified or calibrated values are not drawn.
    for path in ("calendar.horizon_months", "agencies.0.structure.employees",
                 "workforce.competence.sd", "raters.noise_sd", "fairness.self_view_bias"):  # fmt: skip
        assert path not in ranges, path
    # Every corner of the box is a valid scenario: the paths are apply_changes paths.
    for corner in (0, 1):
        apply_changes(scenario, {path: bounds[corner] for path, bounds in ranges.items()})
    policy = load_policy(POLICIES / "baseline_regional.yaml")
    pranges = tree.assumption_ranges(policy)
    assert pranges["budget.cap_share_of_entitlement"] == (0.9, 1.0)  # 0.95, an assumption
    assert "incentives.performance_share" not in pranges  # P: Permentan 20/2025
    for corner in (0, 1):
        apply_changes(policy, {path: bounds[corner] for path, bounds in pranges.items()})


def test_a_changed_value_keeps_the_range_it_lies_in(tmp_path):
    inside = {"value": 0.2, "source": "assumption: more graduate staff"}
    outside = {"value": 0.9, "source": "assumption: a very able agency"}
    for leaf, expected in ((inside, (-0.3, 0.3)), (outside, None)):
        child = write(tmp_path / "child.yaml", {
            "extends": "district_health_office", "workforce": {"competence": {"mean": leaf}},
        })  # fmt: skip
        doc = simlib.load_scenario(child).docs["workforce.competence.mean"]
        assert (doc.range, doc.status) == (expected, ""), doc


# -- dated values -------------------------------------------------------------------------------


def test_a_dated_default_takes_the_value_in_force_on_the_start_date():
    skp = tree.parameter("policy", "appraisal.skp_weight")
    assert skp.effective == (dt.date(2014, 1, 1), dt.date(2021, 1, 1))
    assert skp.at(dt.date(2016, 1, 1)) == 0.6 and skp.at(dt.date(2025, 1, 1)) == 0.7
    central = POLICIES / "baseline_central.yaml"
    assert load_policy(central, on=dt.date(2016, 1, 1)).appraisal.skp_weight == 0.6
    assert load_policy(central, on=dt.date(2021, 1, 1)).appraisal.skp_weight == 0.7
    policy = load_policy(central)  # no run: the scenario tree's default start date
    assert tree.default_start_date() == dt.date(2025, 1, 1)
    assert policy.appraisal.skp_weight == 0.7
    assert policy.docs["appraisal.skp_weight"].effective == dt.date(2021, 1, 1)
    with pytest.raises(ConfigError) as info:
        load_policy(central, on=dt.date(2010, 1, 1))
    text = one_line(info)
    assert "appraisal.skp_weight: no value is in force on 2010-01-01" in text, text
    assert "allowed: a run that starts on or after 2014-01-01" in text, text


def test_a_run_resolves_dated_policy_values_at_its_start_date(tmp_path):
    early = write(tmp_path / "early.yaml", {
        "extends": "district_health_office",
        "calendar": {"start_date": dt.date(2016, 1, 1)},
    })  # fmt: skip
    _, base, _ = resolve_inputs(early)
    assert base.appraisal.skp_weight == 0.6
    _, base, _ = resolve_inputs(DEFAULT)
    assert base.appraisal.skp_weight == 0.7


def test_dated_values_in_a_scenario_file(tmp_path):
    noise = {"values": {dt.date(2024, 1, 1): 0.6, dt.date(2026, 1, 1): 0.7},
             "source": "assumption: more turbulence after the 2026 reorganisation"}  # fmt: skip
    for start, expected, since in (
        (dt.date(2025, 1, 1), 0.6, dt.date(2024, 1, 1)),
        (dt.date(2026, 1, 1), 0.7, dt.date(2026, 1, 1)),
    ):
        child = write(tmp_path / f"s{start.year}.yaml", {
            "extends": "district_health_office",
            "calendar": {"start_date": start},
            "performance": {"noise_sd": noise},
        })  # fmt: skip
        scenario = simlib.load_scenario(child)
        assert scenario.performance.noise_sd == expected
        doc = scenario.docs["performance.noise_sd"]
        assert (doc.unit, doc.effective) == ("SD of results per quarter", since)


# -- files as deltas on the tree ----------------------------------------------------------------


def test_the_archetype_and_the_baselines_are_deltas_on_the_tree():
    scenario = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    assert "extends" not in scenario and "raters" not in scenario
    assert set(scenario) <= {"kind", "name", "description", "baseline_policy", "calendar",
                             "agencies"}  # fmt: skip
    central = yaml.safe_load(BASELINES[0].read_text(encoding="utf-8"))
    assert set(central) == {"kind", "name", "description"}
    # Inherited leaves carry the tree's documentation and status.
    loaded = simlib.load_scenario(DEFAULT)
    entry = tree.parameter("scenario", "adoption.loss_aversion")
    doc = loaded.docs["adoption.loss_aversion"]
    assert (doc.unit, doc.source, doc.status) == (entry.unit, entry.source, entry.status)


def test_a_bare_change_over_the_tree_is_one_line_naming_file_field_value_and_what_is_allowed(
    tmp_path,
):
    child = write(tmp_path / "mine.yaml", {**yaml.safe_load(DEFAULT.read_text()),
                                           "raters": {"noise_sd": 0.7}})  # fmt: skip
    child.write_text(child.read_text().replace("../policies/", str(POLICIES) + "/"))
    with pytest.raises(ConfigError) as info:
        simlib.load_scenario(child)
    text = one_line(info)
    assert text.startswith(f"{child}: raters.noise_sd: bare value 0.7 changes the default "
                           "0.75 (SD) of the parameter tree; allowed: {value: 0.7, source: "), text  # fmt: skip
    same = write(tmp_path / "same.yaml", {"extends": "district_health_office",
                                          "raters": {"noise_sd": 0.75}})  # fmt: skip
    doc = simlib.load_scenario(same).docs["raters.noise_sd"]
    assert doc.source == tree.parameter("scenario", "raters.noise_sd").source


def test_a_number_without_a_default_needs_a_source_and_inherits_the_unit(tmp_path):
    agency = {"name": "Bappeda", "archetype": "custom", "structure": {
        "employees": 150, "jpt_posts": {"value": 1, "source": "assumption"},
        "units": {"value": 6, "source": "assumption"},
        "subunits_per_unit": {"value": 2, "source": "assumption"},
        "fungsional_share": {"value": 0.5, "source": "assumption"},
        "pppk_share": {"value": 0.05, "source": "assumption"},
        "female_share": {"value": 0.5, "source": "assumption"}}}  # fmt: skip
    child = write(tmp_path / "c.yaml", {"extends": "district_health_office", "agencies": [agency]})
    with pytest.raises(ConfigError) as info:
        simlib.load_scenario(child)
    text = one_line(info)
    assert "agencies[0].structure.employees: bare value 150 has no source" in text, text
    agency["structure"]["employees"] = {"value": 150, "source": "assumption"}
    write(child, {"extends": "district_health_office", "agencies": [agency]})
    scenario = simlib.load_scenario(child)
    assert scenario.docs["agencies[0].structure.units"].unit == "units"


def test_a_variant_change_inherits_the_unit_and_a_bare_change_is_refused(tmp_path):
    base = load_policy(BASELINES[0])
    ok = write(tmp_path / "v.yaml", {"name": "v", "description": "d", "changes": {
        "appraisal.skp_weight": {"value": 0.6, "source": "PP 30/2019 Pasal 41"},
        "incentives.multipliers.baik": 1.0}})  # fmt: skip
    variant = load_variant(ok)
    assert variant.docs["appraisal.skp_weight"].unit == "share"
    assert variant.docs["incentives.multipliers.baik"].source.startswith("PMA 29/2016")
    assert simlib.apply_variant(base, variant).appraisal.skp_weight == 0.6
    bad = write(tmp_path / "b.yaml", {"name": "v", "description": "d",
                                      "changes": {"incentives.multipliers.baik": 0.9}})  # fmt: skip
    with pytest.raises(ConfigError) as info:
        load_variant(bad)
    text = one_line(info)
    assert text.startswith(f"{bad}: changes.incentives.multipliers.baik: bare value 0.9 "
                           "changes the default 1.0"), text  # fmt: skip


# -- extends for policies and variants ----------------------------------------------------------


def test_a_policy_extends_a_policy(tmp_path):
    child = write(tmp_path / "tight.yaml", {
        "extends": "baseline_regional", "name": "Regional, tight",
        "budget": {"cap_share_of_entitlement": {"value": 0.8, "source": "assumption"}},
    })  # fmt: skip
    policy = load_policy(child)
    regional = load_policy(BASELINES[1])
    assert policy.budget.cap_share_of_entitlement == 0.8
    assert policy.incentives == regional.incentives and policy.description == regional.description
    assert load_policy_or_variant(child) == policy
    bare = write(tmp_path / "bare.yaml", {"extends": "baseline_regional",
                                          "budget": {"cap_share_of_entitlement": 0.8}})  # fmt: skip
    with pytest.raises(ConfigError, match=r"bare value 0.8 changes the inherited 0.95"):
        load_policy(bare)


def test_a_variant_extends_a_variant(tmp_path):
    child = write(tmp_path / "more.yaml", {
        "extends": str(POLICIES / "pp30_360.yaml"), "name": "360 with trimming",
        "changes": {"appraisal.aggregation.rule": "trimmed"},
    })  # fmt: skip
    variant = load_policy_or_variant(child)
    parent = load_variant(POLICIES / "pp30_360.yaml")
    assert variant.changes == {**parent.changes, "appraisal.aggregation.rule": "trimmed"}
    assert variant.description == parent.description and variant.name == "360 with trimming"
    # A delta without changes of its own is still a variant: its parent says so.
    only_name = write(tmp_path / "renamed.yaml", {"extends": str(POLICIES / "pp30_360.yaml"),
                                                  "name": "Renamed"})  # fmt: skip
    assert isinstance(load_policy_or_variant(only_name), simlib.Variant)
    assert tree.file_kind_of(yaml.safe_load(only_name.read_text()), only_name) == "variant"


@pytest.mark.parametrize(
    ("loader", "parent", "words"),
    [
        (load_policy, "district_health_office.yaml", "is a scenario file"),
        (simlib.load_scenario, "baseline_central.yaml", "is a policy file"),
        (load_variant, "baseline_central.yaml", "is a policy file"),
    ],
)
def test_extending_a_file_of_another_kind_is_one_line(tmp_path, loader, parent, words):
    folder = SCENARIOS if parent.startswith("district") else POLICIES
    child = write(tmp_path / "child.yaml", {"extends": str(folder / parent), "name": "x",
                                            "changes": {"budget.over_cap_rule": "rank_order"}}
                  if loader is load_variant else {"extends": str(folder / parent)})  # fmt: skip
    with pytest.raises(ConfigError) as info:
        loader(child)
    text = one_line(info)
    assert text.startswith(f"{child}: extends: ") and words in text, text


def test_a_policy_cycle_is_refused(tmp_path):
    write(tmp_path / "a.yaml", {"extends": "b", "name": "a"})
    write(tmp_path / "b.yaml", {"extends": "a", "name": "b", "appraisal": {}})
    with pytest.raises(ConfigError, match=r"cycle \(a.yaml -> b.yaml -> a.yaml\)"):
        load_policy(tmp_path / "a.yaml")


# -- kind: ----------------------------------------------------------------------------------


KIND_FILES = {
    "scenario": (SCENARIOS / "central_ministry.yaml", simlib.load_scenario),
    "policy": (POLICIES / "baseline_regional.yaml", load_policy),
    "variant": (POLICIES / "steeper_tiers.yaml", load_variant),
    "training": (DATA / "training" / "programmes.yaml", None),
    "campaign": (DATA / "services" / "vaccination_campaign.yaml", None),
    "experiment": (DATA / "experiments" / "default.yaml", None),
    "calibration-targets": (DATA / "calibration" / "predikat_national.yaml", None),
}


def _loader(kind):
    from simlib.experiment.calibration import load_targets
    from simlib.experiment.sweep import load_experiment
    from simlib.params.campaign import load_campaign
    from simlib.params.training import load_training

    return KIND_FILES[kind][1] or {"training": load_training, "campaign": load_campaign,
                                   "experiment": load_experiment,
                                   "calibration-targets": load_targets}[kind]  # fmt: skip


def _with_kind(source: Path, target: Path, kind: str) -> Path:
    """A copy of ``source`` at ``target`` (same folder depth under a copy of data/) with kind."""
    lines = [line for line in source.read_text().splitlines() if not line.startswith("kind:")]
    target.write_text(f"kind: {kind}\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return target


@pytest.fixture
def data_copy(tmp_path):
    shutil.copytree(DATA, tmp_path / "data")
    return tmp_path / "data"


@pytest.mark.parametrize("kind", sorted(KIND_FILES))
def test_every_loader_accepts_its_kind_and_refuses_another_in_one_line(data_copy, kind):
    source, _ = KIND_FILES[kind]
    copy = data_copy / source.relative_to(DATA)
    load = _loader(kind)
    load(_with_kind(source, copy, kind))
    wrong = "campaign" if kind != "campaign" else "policy"
    _with_kind(source, copy, wrong)
    with pytest.raises(ConfigError) as info:
        load(copy)
    text = one_line(info)
    assert text.startswith(f"{copy}: kind: '{wrong}': this is a") and "allowed here" in text, text


def test_validate_uses_kind_before_the_folder(capsys, data_copy):
    scenario = _with_kind(SCENARIOS / "central_ministry.yaml",
                          data_copy / "policies" / "mine.yaml", "scenario")  # fmt: skip
    assert main(["validate", str(scenario)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "kind: 'scenario'" in err[0] and "policies/" in err[0], err
    loose = _with_kind(SCENARIOS / "central_ministry.yaml", data_copy / "mine.yaml", "scenario")
    assert main(["validate", str(loose)]) == 0
    assert "scenario 'Kementerian" in capsys.readouterr().out


def test_every_shipped_scenario_and_policy_says_its_kind():
    for path in [*SCENARIOS.glob("*.yaml"), *POLICIES.glob("*.yaml")]:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        want = "scenario" if path.parent == SCENARIOS else "policy"
        assert raw.get("kind") == ("variant" if "changes" in raw else want), path.name


# -- provenance: the tree and the parents are inputs -----------------------------------------


def _inputs(scenario_path: Path) -> dict:
    scenario, base, variants = resolve_inputs(scenario_path)
    schedule = simlib.build_schedule(base, variants, month_of=scenario.month_of,
                                     horizon_months=scenario.calendar.horizon_months)  # fmt: skip
    return provenance.resolved_inputs(scenario, schedule)


def test_run_keys_cover_the_tree_files_and_the_parents(monkeypatch, tmp_path):
    files = _inputs(SCENARIOS / "central_ministry.yaml")["parameter_files"]
    assert files["parameters/scenario.yaml"] == provenance.file_sha256(tree.tree_file("scenario"))
    assert files["parameters/policy.yaml"] == provenance.file_sha256(tree.tree_file("policy"))
    assert files["scenario.extends[0]"] == provenance.file_sha256(DEFAULT)
    child = write(tmp_path / "p.yaml", {"extends": str(POLICIES / "baseline_central.yaml"),
                                        "name": "p"})  # fmt: skip
    scenario = simlib.load_scenario(DEFAULT)
    sched = simlib.build_schedule(load_policy(child), (), month_of=scenario.month_of,
                                  horizon_months=36)  # fmt: skip
    files = provenance.resolved_inputs(scenario, sched)["parameter_files"]
    assert files["policy.extends[0]"] == provenance.file_sha256(POLICIES / "baseline_central.yaml")
    # Editing the tree (a description: no value moves) changes the inputs' hash.
    copy = tmp_path / "parameters"
    shutil.copytree(tree.TREE_DIR, copy)
    inputs = _inputs(DEFAULT)
    monkeypatch.setattr(tree, "TREE_DIR", copy)
    assert provenance.stable_hash(_inputs(DEFAULT)) == provenance.stable_hash(inputs)
    text = (copy / "scenario.yaml").read_text()
    (copy / "scenario.yaml").write_text(text.replace("as reports show it", "in reports", 1))
    after = _inputs(DEFAULT)
    assert after["scenario"] == inputs["scenario"]  # no value moved
    assert provenance.stable_hash(after) != provenance.stable_hash(inputs)


def test_the_cli_manifest_lists_the_trees(tmp_path):
    out = tmp_path / "run"
    scenario = write(tmp_path / "tiny.yaml", {
        "extends": str(DEFAULT), "calendar": {"horizon_months": {"value": 3, "source": "test"}},
        "agencies": [{"name": "Dinkes Kabupaten", "structure": {
            "employees": {"value": 40, "source": "test"}, "units": {"value": 3, "source": "t"},
            "subunits_per_unit": {"value": 1, "source": "t"}}}],
    })  # fmt: skip
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    roles = {}
    for item in manifest["inputs"]:
        roles.setdefault(item["role"], []).append(Path(item["path"]).name)
    assert sorted(roles["parameters"]) == ["policy.yaml", "scenario.yaml"], roles
    assert roles["parent"] == ["district_health_office.yaml"], roles


# -- the reference page ---------------------------------------------------------------------


def test_the_committed_parameter_page_is_current():
    page = (ROOT / "docs" / "parameters.md").read_text(encoding="utf-8")
    assert page == tree.markdown(), (
        "docs/parameters.md is stale: run `simlib params --markdown > docs/parameters.md`"
    )


def test_the_page_lists_every_parameter_with_its_default_status_and_range(capsys):
    assert main(["params", "--markdown"]) == 0
    page = capsys.readouterr().out
    assert page == tree.markdown()
    for kind in tree.TREE_KINDS:
        for path in tree.load_tree(kind).parameters:
            assert f"| `{path}` |" in page, path
    row = next(
        line for line in page.splitlines() if line.startswith("| `behaviour.pay_sensitivity`")
    )
    assert "| 2 |" in row and "| M | 0.8 to 5 |" in row, row
    row = next(line for line in page.splitlines() if line.startswith("| `appraisal.skp_weight`"))
    assert "0.6 from 2014-01-01; 0.7 from 2021-01-01" in row, row


def test_simlib_params_shows_one_parameter_and_the_assumptions(capsys):
    assert main(["params", "behaviour.crowding_out"]) == 0
    out = capsys.readouterr().out
    assert "default: 0.25" in out and "status:  M" in out and "range:   0 to 0.6" in out, out
    assert main(["params", "--assumptions", str(DEFAULT)]) == 0
    ranges = json.loads(capsys.readouterr().out)
    assert ranges == {k: list(v) for k, v in tree.assumption_ranges(
        simlib.load_scenario(DEFAULT)).items()}  # fmt: skip
    assert main(["params", "raters.nosie_sd"]) == 2
    err = capsys.readouterr().err
    assert "'raters.nosie_sd' is not a parameter" in err and "raters.noise_sd" in err, err


# -- a broken tree is one line naming the tree file -----------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("      range: [0.8, 5.0]", "      range: [2.5, 5.0]", "the default 2.0 is outside"),
        ("      status: M\n      range: [0.8, 5.0]", "      range: [0.8, 5.0]", "status: missing"),
        ("      status: M\n      range: [0.8, 5.0]", "      status: X\n      range: [0.8, 5.0]",
         "'X': allowed: V, P, M, S"),
        ("  behaviour:\n", "  behaviour:\n    colour: {description: a thing that is not here}\n",
         "not a field of the scenario record"),
    ],
)  # fmt: skip
def test_a_broken_tree_is_one_line(tmp_path, capsys, old, new, words):
    text = tree.tree_file("scenario").read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    broken = tmp_path / "parameters" / "scenario.yaml"
    broken.parent.mkdir()
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    assert main(["validate", str(broken)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and str(broken) in err[0] and words in err[0], err
