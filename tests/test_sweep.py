"""Sweeps: identical stores whatever the executor, kill-and-resume, failed runs, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

import simlib.experiment.sweep as experiment
from simlib.cli.main import main
from simlib.core.errors import ConfigError
from simlib.experiment.sweep import plan_sweep, run_sweep
from simlib.store.runstore import open_store

TINY = Path(__file__).parent / "data" / "tiny_experiment.yaml"


def run_files(store: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((store / "runs").glob("*.parquet"))}


def assert_same_store(a: Path, b: Path) -> None:
    files_a, files_b = run_files(a), run_files(b)
    assert sorted(files_a) == sorted(files_b), (
        f"run files differ: only in {a.name}: {sorted(set(files_a) - set(files_b))[:5]}, "
        f"only in {b.name}: {sorted(set(files_b) - set(files_a))[:5]}"
    )
    differing = [k for k in files_a if files_a[k] != files_b[k]]
    assert not differing, f"{len(differing)} run files differ in bytes, e.g. {differing[:3]}"
    sa, sb = open_store(a), open_store(b)
    pd.testing.assert_frame_equal(sa.outcomes(), sb.outcomes())
    pd.testing.assert_frame_equal(sa.ledger(), sb.ledger())
    pd.testing.assert_frame_equal(sa.groups(), sb.groups())
    cols = ["key", "arm", "sample", "replication", "seed", "status", "error"]
    pd.testing.assert_frame_equal(sa.runs()[cols], sb.runs()[cols])


@pytest.fixture(scope="module")
def plan():
    return plan_sweep(TINY, replications=3)


@pytest.fixture(scope="module")
def inprocess_store(plan, tmp_path_factory):
    store = tmp_path_factory.mktemp("inprocess") / "store"
    run_sweep(plan, store, executor="inprocess")
    return store


def test_inprocess_sweep_fills_the_store(plan, inprocess_store):
    store = open_store(inprocess_store)
    runs = store.runs()
    assert len(runs) == len(plan.experiment.arms) * 3, len(runs)
    assert (runs["status"] == "ok").all(), runs["status"].value_counts()
    assert runs["key"].is_unique
    out = store.outcomes()
    assert list(pd.unique(out["arm"])) == [a.name for a in plan.experiment.arms]
    assert set(out["replication"]) == {0, 1, 2}
    assert store.manifest["baseline"] == "today"
    assert [a["label"] for a in store.manifest["arms"]][:2] == [
        "Today's rules",
        "Steeper tukin tiers",
    ]
    manifest = store.manifest
    for field in ("code_version", "packages", "inputs", "timings_s", "samples", "runs"):
        assert field in manifest, f"manifest lacks {field}: {sorted(manifest)}"
    assert {"commit", "dirty"} <= set(manifest["code_version"]), manifest["code_version"]
    assert all(len(f["sha256"]) == 64 for f in manifest["inputs"]), manifest["inputs"]


def test_process_pool_gives_the_same_store(plan, inprocess_store, tmp_path):
    run_sweep(plan, tmp_path / "pool", executor="processes", workers=2)
    assert_same_store(inprocess_store, tmp_path / "pool")


def test_dask_local_cluster_gives_the_same_store(plan, inprocess_store, tmp_path):
    run_sweep(plan, tmp_path / "dask", executor="dask", workers=2)
    assert_same_store(inprocess_store, tmp_path / "dask")


def test_dask_existing_scheduler_address(plan, inprocess_store, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        run_sweep(plan, tmp_path / "addr", executor="dask", scheduler=cluster.scheduler_address)
    assert_same_store(inprocess_store, tmp_path / "addr")


def test_a_failed_run_is_recorded_and_the_sweep_goes_on(
    plan, inprocess_store, tmp_path, monkeypatch
):
    real = experiment.simulate

    def flaky(inputs, *, seed, replication=0, progress=None):
        if replication == 1 and inputs.schedule.at(0).name.endswith("Steeper tukin tiers"):
            raise RuntimeError("injected failure")
        return real(inputs, seed=seed, replication=replication)

    monkeypatch.setattr(experiment, "simulate", flaky)
    seen = []
    manifest = run_sweep(
        plan, tmp_path / "s", executor="inprocess", progress=lambda r, d, t: seen.append(r)
    )
    assert manifest["sweep"]["runs_failed"] == 1, manifest["sweep"]
    assert manifest["sweep"]["runs_ok"] == len(plan.runs) - 1, manifest["sweep"]
    runs = open_store(tmp_path / "s").runs()
    failed = runs[runs["status"] == "failed"]
    assert len(failed) == 1 and failed["arm"].iloc[0] == "steeper_tiers", failed
    assert "RuntimeError: injected failure" in failed["error"].iloc[0], failed["error"].iloc[0]
    assert len(seen) == len(plan.runs), len(seen)
    # Resuming runs the failed run again; now it succeeds and the store is complete.
    monkeypatch.setattr(experiment, "simulate", real)
    again = run_sweep(plan, tmp_path / "s", executor="inprocess", resume=True)
    assert again["sweep"]["runs_ok"] == 1 and again["sweep"]["runs_skipped"] == len(plan.runs) - 1
    assert_same_store(inprocess_store, tmp_path / "s")


def test_existing_store_needs_resume(plan, inprocess_store):
    with pytest.raises(ConfigError, match="--resume"):
        run_sweep(plan, inprocess_store, executor="inprocess")


def test_resume_refuses_a_different_experiment(plan, inprocess_store):
    other = plan.with_replications(2)
    exp = other.experiment.model_copy(update={"seed": 8})
    changed = plan_sweep(exp, replications=3)
    with pytest.raises(ConfigError, match="different sweep"):
        run_sweep(changed, inprocess_store, executor="inprocess", resume=True)


def test_resume_of_a_complete_store_runs_nothing(plan, inprocess_store, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(inprocess_store, copy)
    manifest = run_sweep(plan, copy, executor="inprocess", resume=True)
    assert manifest["sweep"]["runs_skipped"] == len(plan.runs), manifest["sweep"]
    assert manifest["sweep"]["runs_ok"] == 0
    assert_same_store(inprocess_store, copy)


def test_stopping_rule_adds_replications(tmp_path):
    raw = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    raw["arms"] = raw["arms"][:2]
    raw["replications"] = {"value": 3, "unit": "replications", "source": "assumption"}
    raw["stopping"] = {
        "metric": "tukin_paid_idr",
        "half_width": {"value": 1e-9, "unit": "IDR", "source": "assumption: unreachable"},
        "max_replications": {"value": 7, "unit": "replications", "source": "assumption"},
        "step": {"value": 2, "unit": "replications", "source": "assumption"},
    }
    base = TINY.parent
    raw["scenario"] = str((base / raw["scenario"]).resolve())
    raw["arms"][1]["variants"] = [str((base / v).resolve()) for v in raw["arms"][1]["variants"]]
    path = tmp_path / "stop.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    manifest = run_sweep(path, tmp_path / "s", executor="inprocess")
    assert manifest["replications"] == 7, manifest["replications"]
    runs = open_store(tmp_path / "s").runs()
    assert sorted(set(runs["replication"])) == list(range(7)), sorted(set(runs["replication"]))
    assert (runs["status"] == "ok").all() and len(runs) == 14, runs["status"].value_counts()


def _sweep_command(experiment_file: Path, store: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "simlib", "sweep", str(experiment_file), "--store", str(store),
            *extra]  # fmt: skip


def test_sigkill_mid_sweep_then_resume_equals_an_uninterrupted_sweep(tmp_path):
    """A real sweep (with its worker processes) is killed with SIGKILL half-way; --resume
    completes it, and the store equals that of a sweep never interrupted."""
    raw = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    raw["replications"] = {"value": 40, "unit": "replications", "source": "assumption"}
    base = TINY.parent
    raw["scenario"] = str((base / raw["scenario"]).resolve())
    for arm in raw["arms"]:
        if "variants" in arm:
            arm["variants"] = [str((base / v).resolve()) for v in arm["variants"]]
    path = tmp_path / "kill.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    total = 4 * 40

    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        _sweep_command(path, killed, "--executor", "processes", "--workers", "2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        done = len(list((killed / "runs").glob("*.parquet"))) if (killed / "runs").is_dir() else 0
        if done >= 20:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, as a crash would
    proc.wait(timeout=30)
    at_kill = len(list((killed / "runs").glob("*.parquet")))
    assert proc.returncode == -signal.SIGKILL, (
        f"the sweep ended before the kill ({proc.returncode})"
    )
    assert 0 < at_kill < total, f"kill should land mid-sweep: {at_kill} of {total} runs written"

    resumed = subprocess.run(
        _sweep_command(path, killed, "--executor", "processes", "--workers", "2", "--resume"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, (
        resumed.returncode,
        resumed.stdout[-1000:],
        resumed.stderr[-2000:],
    )
    assert "already done" in resumed.stdout, resumed.stdout

    clean = tmp_path / "clean"
    run_sweep(path, clean, executor="inprocess")
    assert_same_store(clean, killed)
    runs = open_store(killed).runs()
    assert len(runs) == total and runs["key"].is_unique, len(runs)
    assert (runs["status"] == "ok").all(), runs["status"].value_counts()
    leftovers = [p.name for p in killed.rglob(".*.tmp")]
    assert not leftovers, f"temporary files left after resume: {leftovers}"


def test_cli_sweep_and_effects_json(tmp_path, capsys):
    store = tmp_path / "s"
    code = main(["sweep", str(TINY), "--store", str(store), "--executor", "inprocess",
                 "--replications", "3"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "12 runs ok, 0 failed" in out, out
    assert main(["effects", str(store), "--json"]) == 0
    text = capsys.readouterr().out.strip()
    assert len(text.splitlines()) == 1, "one JSON object on one line"
    report = json.loads(text)
    assert report["baseline"] == "today"
    assert sorted(report["effects"]) == ["pp30_360", "steeper_tiers", "training_first"]
    some = next(iter(report["effects"]["steeper_tiers"].values()))
    assert {"difference", "ci_low", "ci_high", "n", "var_paired", "var_unpaired", "vrf"} <= set(
        some
    ), some
    vrf = report["variance_reduction"]["steeper_tiers"]
    assert "mean_true_performance" in vrf, vrf
    assert main(["effects", str(store)]) == 0
    out = capsys.readouterr().out
    assert "steeper_tiers" in out and "variance-reduction factor" in out, out


def test_cli_effects_on_a_folder_that_is_not_a_store(tmp_path, capsys):
    assert main(["effects", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a run store" in err and len(err.strip().splitlines()) == 1, err


def test_sweep_benchmark_runs_at_tiny_size():
    from simlib.core.paths import ROOT

    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "sweep.py"), "--replications", "1",
         "--experiment", str(TINY)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["stores_identical"] is True, figures
    assert figures["runs_ok"] == 2 * figures["runs"], figures
