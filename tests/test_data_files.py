"""Every file under data/ loads and validates; packaging files agree with each other."""

import csv
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
import yaml

import simlib
from simlib.core.errors import ConfigError
from simlib.core.paths import DATA, POLICIES, ROOT, SCENARIOS
from simlib.params import tables

SCENARIO_FILES = sorted(SCENARIOS.glob("*.yaml"))
POLICY_FILES = sorted(POLICIES.glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_scenario_validates_and_names_an_existing_baseline(path):
    scenario = simlib.load_scenario(path)
    assert scenario.resolve(scenario.baseline_policy).is_file()
    simlib.load_policy(scenario.resolve(scenario.baseline_policy))


@pytest.mark.parametrize("path", sorted((DATA / "services").glob("*.yaml")), ids=lambda p: p.name)
def test_service_campaign_validates(path):
    from simlib.params.campaign import load_campaign

    load_campaign(path)


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_policy_or_variant_validates(path):
    item = simlib.load_policy_or_variant(path)
    if isinstance(item, simlib.Variant):
        for base in ("baseline_central.yaml", "baseline_regional.yaml"):
            simlib.apply_variant(simlib.load_policy(POLICIES / base), item)


@pytest.mark.parametrize("path", SCENARIO_FILES + POLICY_FILES, ids=lambda p: p.name)
def test_every_numeric_parameter_has_unit_and_source(path):
    scenario_or_policy = (
        simlib.load_scenario(path)
        if path.parent == SCENARIOS
        else simlib.load_policy_or_variant(path)
    )
    for where, doc in scenario_or_policy.docs.items():
        assert doc.unit.strip() and doc.source.strip(), where


def test_the_default_scenario_exists_and_three_archetypes_ship():
    assert simlib.core.paths.DEFAULT_SCENARIO.is_file()
    archetypes = {a.archetype for p in SCENARIO_FILES for a in simlib.load_scenario(p).agencies}
    assert {"central_ministry", "provincial_government", "district_health_office"} <= archetypes


def test_tables_load():
    assert tables.predikat_matrix().shape == (3, 3)
    assert set(tables.distribution_curve()) == set(range(5))
    assert {"bkn_perpres_103_2022", "tpp_regional_assumption"} <= set(tables.tukin_table_names())
    for name in tables.tukin_table_names():
        amounts = tables.tukin_table(name)[1:]
        assert (amounts[1:] >= amounts[:-1]).all(), f"{name}: tukin must rise with kelas"
    tables.age_bins(), tables.tenure_bins(), tables.job_type_table()


@pytest.mark.parametrize("path", sorted((DATA / "tables").glob("*.csv")), ids=lambda p: p.name)
def test_every_table_row_has_status_and_source(path):
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for i, row in enumerate(rows, start=2):
        assert row["status"] in {"V", "P", "M"}, (path.name, i)
        assert row["source"].strip(), (path.name, i)


def _requirement_names(reqs):
    return {re.split(r"[<>=!~ ]", r, maxsplit=1)[0].lower(): r.replace(" ", "") for r in reqs}


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _requirement_names(project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [
        d for d in env["dependencies"] if isinstance(d, str) and not d.startswith(("python", "pip"))
    ]
    listed = _requirement_names(conda)
    assert listed == wanted, (
        f"environment.yml vs pyproject.toml: {set(listed.items()) ^ set(wanted.items())}"
    )
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()
    assert Path(ROOT / "Makefile").read_text().count("test:") == 1


def test_retirement_ages_and_base_salaries():
    ages = tables.retirement_age()
    assert ages[0] == 60 and (ages[1:] == 58).all(), ages  # JPT 60, the rest 58
    gaji = tables.gaji_pokok()
    assert (np.diff(gaji) > 0).all(), gaji  # rises with golongan


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("jpt,60,P,x\njpt,58,P,x\n", "out of range or repeated"),
        ("jpt,60,P,x\n", "every job_type needs a row"),
        ("jpt,99,P,x\n", "out of range or repeated"),
        ("chief,60,P,x\n", "'chief' not allowed; allowed: jpt, administrator"),
        ("jpt,sixty,P,x\n", "'sixty' is not a number"),
    ],
)
def test_bad_retirement_table_is_named(tmp_path, monkeypatch, rows, message):
    (tmp_path / "retirement_age.csv").write_text(
        "job_type,retirement_age_years,status,source\n" + rows
    )
    monkeypatch.setattr(tables, "TABLES", tmp_path)
    tables.retirement_age.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"retirement_age\.csv") as info:
            tables.retirement_age()
        assert message in str(info.value), str(info.value)
    finally:
        tables.retirement_age.cache_clear()


@pytest.mark.parametrize("cell", ["-inf", "inf", "nan"])
def test_non_finite_number_in_a_table_is_refused(tmp_path, monkeypatch, cell) -> None:
    """Found by tests/test_fuzz.py: '-inf' in an age bin passed and broke the workforce."""
    import shutil

    import simlib.params.tables as tables

    folder = tmp_path / "tables"
    shutil.copytree(tables.TABLES, folder)
    path = folder / "age_distribution.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("19,", f"{cell},", 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(tables, "TABLES", folder)
    tables.age_bins.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"row 2, age_from_years: .* finite number"):
            tables.age_bins()
    finally:
        tables.age_bins.cache_clear()


@pytest.mark.parametrize("table", ["job_types.csv", "tukin_kelas.csv"])
def test_huge_whole_numbers_in_tables_are_refused(tmp_path, monkeypatch, table) -> None:
    """Found by tests/test_fuzz.py: 99999999999999999999 as kelas_min overflowed an int8."""
    import shutil

    import simlib.params.tables as tables

    folder = tmp_path / "tables"
    shutil.copytree(tables.TABLES, folder)
    path = folder / table
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    column = rows[0].index("kelas_min" if table == "job_types.csv" else "kelas_jabatan")
    rows[1][column] = "99999999999999999999"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    monkeypatch.setattr(tables, "TABLES", folder)
    loader = tables.job_type_table if table == "job_types.csv" else tables._tukin_tables
    loader.cache_clear()
    try:
        with pytest.raises(ConfigError, match="kelas"):
            loader()
    finally:
        loader.cache_clear()
