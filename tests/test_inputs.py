"""Runs keyed by the content of their inputs; ``simlib validate`` knows every kind of file.

The stale-resume case of issue 13: editing a file a scenario refers to (here the training
plan that only one arm uses) must re-run exactly that arm's runs on ``--resume`` and reuse
the others.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

import simlib.params.tables as tables
from simlib.cli.main import main
from simlib.core.errors import ConfigError
from simlib.core.paths import DATA, EXPERIMENTS, TABLES
from simlib.experiment.sweep import plan_sweep, run_sweep
from simlib.params.scenario import load_scenario
from simlib.store.provenance import code_version_of, file_sha256, resolved_inputs, stable_hash

TINY = Path(__file__).parent / "data" / "tiny_experiment.yaml"


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    """A copy of data/ with the tiny experiment at the same place relative to it."""
    shutil.copytree(DATA, tmp_path / "data", ignore=shutil.ignore_patterns("processed"))
    (tmp_path / "tests" / "data").mkdir(parents=True)
    shutil.copy(TINY, tmp_path / "tests" / "data" / TINY.name)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} not once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def inputs_hash(scenario_path: Path, variant: str | None = None) -> str:
    """Hash of the scenario's inputs under its baseline policy and ``variant`` (a file in the
    same ``data/policies``)."""
    from simlib.params.policy import build_schedule, load_policy, load_variant

    scenario = load_scenario(scenario_path)
    base = load_policy(scenario.resolve(scenario.baseline_policy))
    variants = () if variant is None else (load_variant(base.directory / variant),)
    schedule = build_schedule(
        base, variants, month_of=scenario.month_of,
        horizon_months=scenario.calendar.horizon_months,
    )  # fmt: skip
    return stable_hash(resolved_inputs(scenario, schedule))


# --------------------------------------------------------------------------------------
# What a run key covers


def test_table_files_lists_every_table_the_engine_reads():
    named = set(re.findall(r'"(\w+\.csv)"', Path(tables.__file__).read_text(encoding="utf-8")))
    assert named == set(tables.TABLE_FILES), sorted(named ^ set(tables.TABLE_FILES))
    missing = [n for n in tables.TABLE_FILES if not (TABLES / n).is_file()]
    assert not missing, missing


@pytest.mark.parametrize(
    ("scenario", "variant", "file", "old", "new"),
    [
        pytest.param(
            "district_health_office.yaml", "training_programmes.yaml", "training/programmes.yaml",
            "value: 0.8,", "value: 0.9,", id="training-plan",
        ),
        pytest.param(
            "district_health_office.yaml", "vaccination_campaign.yaml",
            "services/vaccination_campaign.yaml", "window_days: {value: 182,",
            "window_days: {value: 181,", id="campaign",
        ),
        pytest.param(
            "org_from_csv.yaml", None, "raw/example_org.csv", "\n", "\r\n", id="org-csv",
        ),
    ],
)  # fmt: skip
def test_editing_a_referenced_file_changes_the_inputs_hash(
    mirror, scenario, variant, file, old, new
):
    path = mirror / "data" / "scenarios" / scenario
    before = inputs_hash(path, variant)
    target = mirror / "data" / file
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_bytes(text.replace(old, new, 1).encode())
    assert inputs_hash(path, variant) != before, f"editing {file} left the inputs hash unchanged"


@pytest.mark.parametrize(
    ("scenario", "variant"),
    [
        ("district_health_office.yaml", "training_programmes.yaml"),
        ("district_health_office.yaml", "vaccination_campaign.yaml"),
        ("org_from_csv.yaml", None),
    ],
)
def test_inputs_hash_depends_on_content_not_on_where_the_files_lie(
    mirror, tmp_path, scenario, variant
):
    other = tmp_path / "elsewhere"
    shutil.copytree(mirror / "data", other / "data")
    a = inputs_hash(mirror / "data" / "scenarios" / scenario, variant)
    b = inputs_hash(other / "data" / "scenarios" / scenario, variant)
    assert a == b, (scenario, variant)


def test_editing_a_regulation_table_changes_the_inputs_hash(monkeypatch, tmp_path):
    copy = tmp_path / "tables"
    shutil.copytree(TABLES, copy)
    scenario = DATA / "scenarios" / "district_health_office.yaml"
    monkeypatch.setattr(tables, "TABLES", copy)  # where the inputs' tables are read
    before = inputs_hash(scenario)
    path = copy / "gaji_pokok.csv"
    path.write_bytes(path.read_bytes().replace(b",", b", ", 1))
    assert inputs_hash(scenario) != before


def test_plan_lists_every_input_file_with_its_hash():
    plan = plan_sweep(TINY, replications=1)
    roles = {}
    for f in plan.files:
        roles.setdefault(f["role"], []).append(f)
        path = Path(f["path"])
        path = path if path.is_absolute() else Path.cwd() / path
        assert f["sha256"] == file_sha256(path), f
    assert {"experiment", "scenario", "policy", "variant", "training", "table"} <= set(roles)
    assert len(roles["table"]) == len(tables.TABLE_FILES)
    assert [Path(f["path"]).name for f in roles["training"]] == ["programmes.yaml"]


# --------------------------------------------------------------------------------------
# The stale-resume case


def test_resume_reruns_exactly_the_runs_whose_inputs_changed(mirror):
    exp = mirror / "tests" / "data" / TINY.name
    store, fresh = mirror / "store", mirror / "fresh"
    plan = plan_sweep(exp, replications=2)
    run_sweep(plan, store, executor="inprocess")
    old_keys = {r.arm: set() for r in plan.runs}
    for r in plan.runs:
        old_keys[r.arm].add(r.key)
    before = load_outcomes(store, "training_first")

    # The training plan only the training_first arm uses: a better in-house course.
    edit(mirror / "data" / "training" / "programmes.yaml", "value: 0.8,", "value: 2.0,")
    edited = plan_sweep(exp, replications=2)
    new_keys = {r.arm: set() for r in edited.runs}
    for r in edited.runs:
        new_keys[r.arm].add(r.key)
    for arm in new_keys:
        same = new_keys[arm] == old_keys[arm]
        assert same == (arm != "training_first"), f"{arm}: keys changed={not same}"

    manifest = run_sweep(edited, store, executor="inprocess", resume=True)
    sweep = manifest["sweep"]
    assert (sweep["runs_ok"], sweep["runs_skipped"], sweep["runs_inputs_changed"]) == (2, 6, 2), (
        sweep
    )
    assert load_outcomes(store, "training_first") != before, "the edit changed no outcome"
    listed = {Path(f["path"]).name: f["sha256"] for f in manifest["inputs"]}
    assert listed["programmes.yaml"] == file_sha256(mirror / "data/training/programmes.yaml")

    # What the resumed store holds is what a fresh sweep of the edited inputs gives.
    run_sweep(edited, fresh, executor="inprocess")
    for r in edited.runs:
        name = f"runs/{r.key}.parquet"
        assert (store / name).read_bytes() == (fresh / name).read_bytes(), r


def load_outcomes(store: Path, arm: str) -> list[float]:
    from simlib.store.runstore import open_store

    out = open_store(store).outcomes()
    return out.loc[out["arm"] == arm, "value"].round(12).tolist()


def test_resume_of_another_sweep_is_still_refused(mirror):
    exp = mirror / "tests" / "data" / TINY.name
    store = mirror / "store"
    run_sweep(plan_sweep(exp, replications=1), store, executor="inprocess")
    raw = yaml.safe_load(exp.read_text(encoding="utf-8"))
    raw["arms"] = raw["arms"][:3]
    exp.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigError, match="different sweep"):
        run_sweep(plan_sweep(exp, replications=1), store, executor="inprocess", resume=True)


# --------------------------------------------------------------------------------------
# The code version: commit plus the local changes to the library


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=root, check=True, capture_output=True,
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_code_key_changes_with_every_distinct_local_edit(tmp_path):
    root = tmp_path / "repo"
    (root / "simlib").mkdir(parents=True)
    (root / "simlib" / "model.py").write_text("A = 1\n")
    (root / "README.md").write_text("hello\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    clean = code_version_of(root)
    assert clean["dirty"] is False and clean["local_sha256"] is None
    assert clean["key"] == clean["commit"] and len(clean["commit"]) == 40

    (root / "README.md").write_text("docs only\n")
    docs = code_version_of(root)
    assert docs["dirty"] is True and docs["key"] == clean["key"], "docs changed the code key"

    keys = {clean["key"]}
    for text in ("A = 2\n", "A = 3\n"):
        (root / "simlib" / "model.py").write_text(text)
        version = code_version_of(root)
        assert version["dirty"] is True and version["key"].startswith(clean["commit"] + "+")
        assert version == code_version_of(root), "not deterministic"
        keys.add(version["key"])
    (root / "simlib" / "extra.py").write_text("B = 1\n")  # an untracked module
    keys.add(code_version_of(root)["key"])
    assert len(keys) == 4, keys

    (root / "simlib" / "extra.py").unlink()
    (root / "simlib" / "model.py").write_text("A = 1\n")
    assert code_version_of(root)["key"] == clean["key"]


def test_code_key_without_git_hashes_the_sources(tmp_path):
    root = tmp_path / "nogit"
    (root / "simlib" / "__pycache__").mkdir(parents=True)
    (root / "simlib" / "model.py").write_text("A = 1\n")
    first = code_version_of(root)
    assert first["commit"] == "unknown" and first["dirty"] is None
    assert first["key"].startswith("nogit+")
    (root / "simlib" / "__pycache__" / "model.cpython-312.pyc").write_bytes(b"\0")
    assert code_version_of(root) == first, "a cache file changed the code key"
    (root / "simlib" / "model.py").write_text("A = 2\n")
    assert code_version_of(root)["key"] != first["key"]


# --------------------------------------------------------------------------------------
# simlib validate: every kind of file


def validate(capsys, *files) -> tuple[int, list[str], list[str]]:
    status = main(["validate", *map(str, files)])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err.splitlines()


KIND_WORD = {
    "scenarios": "scenario",
    "experiments": "experiment",
    "training": "training plan",
    "services": "campaign",
    "raw": "organisation CSV",
    "tables": "regulation table",
    "parameters": "parameter tree",
}


def test_every_shipped_file_validates_as_its_kind(capsys):
    files = sorted(DATA.glob("*/*.yaml")) + sorted(DATA.glob("raw/*.csv"))
    files += sorted(DATA.glob("tables/*.csv"))
    folders = {f.parent.name for f in files}
    assert {"scenarios", "policies", "experiments", "training", "services", "raw"} <= folders
    status, out, err = validate(capsys, *files)
    assert status == 0 and err == [], err
    assert len(out) == len(files), out
    for file, line in zip(files, out, strict=True):
        assert line.startswith(f"ok  {file}: "), line
        summary = line.split(": ", 1)[1]
        if file.parent.name == "policies":
            assert summary.startswith(("policy ", "variant ")), line
        elif file.parent.name == "calibration":  # target files and the rater-lab variant
            assert summary.startswith(("calibration targets ", "variant ")), line
        elif file.parent.name == "replications":  # a published model's world, rules and runs
            assert summary.startswith(("scenario ", "variant ", "experiment ")), line
        elif file.name == "national_counts.csv":  # the national scenario's sourced counts
            assert summary.startswith("table of published counts, "), line
        else:
            assert summary.startswith(KIND_WORD[file.parent.name]), line


@pytest.mark.parametrize(
    ("row", "field"),
    [("n,abc,people,2023,V,BKN", "value"), ("n,1,people,2023,X,BKN", "status"),
     ("n,1,people,2023,V,", "source")],
)  # fmt: skip
def test_a_bad_row_of_published_counts_is_named(capsys, tmp_path, row, field):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "counts.csv").write_text(f"quantity,value,unit,date,status,source\n{row}\n")
    status, out, err = validate(capsys, raw / "counts.csv")
    assert status == 2 and out == [], out
    assert len(err) == 1 and f"counts.csv: row 2.{field}: " in err[0], err


def test_experiment_line_says_arms_replications_and_planned_runs(capsys):
    path = EXPERIMENTS / "default.yaml"
    plan = plan_sweep(path)
    status, out, err = validate(capsys, path)
    assert status == 0, err
    want = (
        f"{len(plan.experiment.arms)} arms, {plan.replications} replications, "
        f"{len(plan.runs)} planned runs"
    )
    assert out == [f"ok  {path}: experiment {plan.experiment.name!r}, {want}"], out


def test_kind_from_content_outside_the_data_folders(capsys, tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir()
    shutil.copy(DATA / "training" / "programmes.yaml", loose / "plan.yaml")
    shutil.copy(DATA / "services" / "vaccination_campaign.yaml", loose / "c.yaml")
    shutil.copy(DATA / "raw" / "example_org.csv", loose / "org.csv")
    status, out, err = validate(capsys, loose / "plan.yaml", loose / "c.yaml", loose / "org.csv")
    assert status == 0, err
    kinds = [line.split(": ", 1)[1].split(" ")[0] for line in out]
    assert kinds == ["training", "campaign", "organisation"], out


def test_scenario_delta_outside_the_scenarios_folder_is_a_scenario(capsys, tmp_path):
    """A delta has no 'agencies' of its own: 'extends' says it is a scenario."""
    delta = tmp_path / "my_district.yaml"
    delta.write_text("extends: district_health_office\nname: My district\n", encoding="utf-8")
    targets = tmp_path / "targets.yaml"
    shutil.copy(DATA / "calibration" / "predikat_national.yaml", targets)
    status, out, err = validate(capsys, delta, targets)
    assert status == 0, err
    assert out[0].startswith(f"ok  {delta}: scenario 'My district'"), out
    assert out[1].startswith(f"ok  {targets}: calibration targets "), out


def test_wrong_kind_for_its_folder_is_one_line(capsys, tmp_path):
    folder = tmp_path / "experiments"
    folder.mkdir()
    wrong = folder / "oops.yaml"
    shutil.copy(DATA / "policies" / "baseline_central.yaml", wrong)
    status, out, err = validate(capsys, wrong)
    assert status == 2 and out == [] and len(err) == 1, err
    assert str(wrong) in err[0] and "policy" in err[0] and "experiment" in err[0], err
    assert "required key is missing" not in err[0], err


@pytest.mark.parametrize(
    ("folder", "source", "old", "new", "field"),
    [
        pytest.param(
            "training", "training/programmes.yaml", "seats_per_quarter: {value: 20,",
            "seats_per_quarter: {value: -20,", "programmes[0].seats_per_quarter", id="training",
        ),
        pytest.param(
            "services", "services/vaccination_campaign.yaml", "window_days: {value: 182,",
            "window_days: {value: 0,", "window_days", id="campaign",
        ),
        pytest.param(
            "raw", "raw/example_org.csv", "employee_id,", "person,", "header", id="org-csv",
        ),
        pytest.param(
            "experiments", "experiments/default.yaml", "replications: {value: 30,",
            "replications: {value: 0,", "replications", id="experiment",
        ),
    ],
)  # fmt: skip
def test_bad_file_of_each_kind_is_one_line(capsys, tmp_path, folder, source, old, new, field):
    (tmp_path / folder).mkdir()
    path = tmp_path / folder / Path(source).name
    shutil.copy(DATA / source, path)
    edit(path, old, new)
    if folder == "experiments":  # its scenario, relative to it
        shutil.copytree(DATA / "scenarios", tmp_path / "scenarios")
        shutil.copytree(DATA / "policies", tmp_path / "policies")
    status, out, err = validate(capsys, path, DATA / "training" / "programmes.yaml")
    assert status == 2 and len(err) == 1, err
    assert str(path) in err[0] and field in err[0], err
    assert len(out) == 1 and out[0].startswith("ok  "), out  # the good file after it


def test_unknown_kind_is_named(capsys, tmp_path):
    odd, said = tmp_path / "odd.yaml", tmp_path / "said.yaml"
    odd.write_text("name: x\nfoo: 1\n", encoding="utf-8")
    said.write_text("kind: spreadsheet\nname: x\n", encoding="utf-8")
    status, _, err = validate(capsys, odd, said)
    assert status == 2 and len(err) == 2, err
    assert "cannot tell what kind" in err[0] and "agencies (scenario)" in err[0], err
    assert "kind" in err[1] and "'spreadsheet'" in err[1] and "experiment" in err[1], err
