import json
import subprocess
import sys

import pandas as pd
import pytest

from simlib.cli.main import main
from simlib.core.paths import POLICIES, ROOT, SCENARIOS
from simlib.store.provenance import file_sha256


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "default"
    status = main(["run", "--seed", "3", "--out", str(out)])
    return status, out


def test_run_with_no_scenario_runs_the_default(default_run):
    status, out = default_run
    assert status == 0
    for name in ("outcomes", "ledger", "workforce"):
        assert (out / f"{name}.parquet").is_file() and (out / f"{name}.csv").is_file()
    assert not (out / "panel.parquet").exists()


def test_manifest_says_what_produced_the_run(default_run):
    _, out = default_run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3
    assert {"commit", "dirty"} <= set(manifest["code_version"])
    assert {"python", "numpy", "pandas", "simpy"} <= set(manifest["packages"])
    roles = {i["role"]: i for i in manifest["inputs"]}
    assert roles["scenario"]["sha256"] == file_sha256(SCENARIOS / "district_health_office.yaml")
    assert roles["policy"]["sha256"] == file_sha256(POLICIES / "baseline_regional.yaml")
    assert manifest["resolved_inputs"]["scenario"]["name"] == "Dinas Kesehatan Kabupaten"
    assert set(manifest["tables"]) == {"outcomes", "ledger", "workforce"}
    assert manifest["timings_s"]["simulate"] > 0


def test_parquet_and_csv_hold_the_same_table(default_run):
    _, out = default_run
    parquet = pd.read_parquet(out / "outcomes.parquet")
    csv = pd.read_csv(out / "outcomes.csv", dtype={"period": str})
    pd.testing.assert_frame_equal(parquet, csv, check_dtype=False)


def test_same_inputs_same_run_id_and_tables(tmp_path, capsys):
    args = ["run", str(SCENARIOS / "central_ministry.yaml"), "--seed", "4"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    ids = [json.loads((tmp_path / d / "manifest.json").read_text())["run_id"] for d in "ab"]
    assert ids[0] == ids[1]
    assert (tmp_path / "a" / "ledger.csv").read_bytes() == (
        tmp_path / "b" / "ledger.csv"
    ).read_bytes()
    printed = capsys.readouterr().out
    assert "Kementerian" in printed and "share_baik" in printed


def test_variants_apply_in_the_run(tmp_path):
    out = tmp_path / "v"
    status = main(["run", "--policy", str(POLICIES / "distribution_curve_2026.yaml"),
                   "--policy", str(POLICIES / "steeper_tiers.yaml"), "--out", str(out)])  # fmt: skip
    assert status == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["meta"]["policy_change_months"] == [12]
    roles = [i["role"] for i in manifest["inputs"]]
    # Then what the engine reads: this scenario names no file, so the regulation tables;
    # and the parameter trees the scenario and the policy are deltas on.
    assert roles[:4] == ["scenario", "policy", "variant", "variant"], roles
    assert set(roles[4:]) == {"table", "parameters"}, roles


def test_rerun_into_the_same_folder_replaces_it_whole(tmp_path):
    out = tmp_path / "same"
    assert main(["run", "--out", str(out)]) == 0
    assert main(["run", "--seed", "2", "--out", str(out)]) == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["same"]
    # A file the workbench did not write is never deleted: the rerun is refused instead.
    (out / "notes.txt").write_text("mine")
    assert main(["run", "--out", str(out)]) == 2
    assert (out / "notes.txt").read_text() == "mine"


def test_python_dash_m_and_validate(tmp_path):
    files = [str(p) for p in sorted(SCENARIOS.glob("*.yaml")) + sorted(POLICIES.glob("*.yaml"))]
    done = subprocess.run([sys.executable, "-m", "simlib", "validate", *files],
                          capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("ok  ") == len(files)


def test_panel_flag_writes_ratings_with_true_scores(tmp_path):
    out = tmp_path / "panel"
    assert main(["run", str(SCENARIOS / "org_from_csv.yaml"), "--panel", "--out", str(out)]) == 0
    panel = pd.read_parquet(out / "panel.parquet")
    assert len(panel) == 46 * 12  # employees in data/raw/example_org.csv x quarters
    assert {"hasil_true", "hasil_rating", "predikat"} <= set(panel.columns)
    manifest = json.loads((out / "manifest.json").read_text())
    sources = manifest["parameter_sources"]["scenario"]
    assert sources["raters.noise_sd"]["source"].startswith("calibrated")
    assert "org_csv" in [i["role"] for i in manifest["inputs"]]
