"""National scale (issue 17): a replication split by agency equals the single-process run.

Agencies are independent inside a replication and draw from streams keyed by their
position in the scenario, so running them in groups anywhere and merging the parts must
give the frames of ``simulate`` to the byte (both with one BLAS thread: a threaded BLAS
changes the last bits of the rating-accuracy correlations on large agencies): in-process, on a Dask LocalCluster of two
workers (a 1 % national scenario), and from the command line against a real
``dask scheduler`` / ``dask worker`` pair on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from threadpoolctl import threadpool_limits

import simlib
from simlib.engine.national import merge, run_agencies
from simlib.experiment.national import agency_groups, scaled_scenario, simulate_split
from simlib.experiment.sweep import plan_sweep, run_sweep
from simlib.params.changes import apply_changes
from simlib.params.policy import apply_variant, load_variant
from simlib.params.resolve import resolve

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "data" / "scenarios"
TINY = Path(__file__).parent / "data" / "tiny_experiment.yaml"
FRAMES = ("outcomes", "ledger", "workforce", "panel", "employee_ledger", "ratings")


def assert_same_result(a, b) -> None:
    for name in FRAMES:
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), f"{name}: one run has it, the other not"
        if x is None:
            continue
        pd.testing.assert_frame_equal(x, y, check_exact=True, obj=name)
        assert x.to_csv(index=False) == y.to_csv(index=False), f"{name}: bytes differ"
    assert a.meta == b.meta, (a.meta, b.meta)


@pytest.fixture(scope="module")
def provincial():
    """Three agencies (the largest cut to 600 staff), six months, under the 360 variant,
    every opt-in output on."""
    scenario = simlib.load_scenario(SCENARIOS / "provincial_government.yaml")
    scenario = apply_changes(scenario, {
        "calendar.horizon_months": 6, "outputs.employee_panel": True,
        "outputs.employee_ledger": True, "outputs.ratings": True,
        "agencies.1.structure.employees": 600,
    })  # fmt: skip
    policy = simlib.load_policy(scenario.resolve(scenario.baseline_policy))
    policy = apply_variant(policy, load_variant(ROOT / "data" / "policies" / "pp30_360.yaml"))
    return resolve(scenario, policy)


def test_parts_in_any_grouping_merge_to_the_single_process_run(provincial):
    with threadpool_limits(limits=1):
        whole = simlib.simulate(provincial, seed=5, replication=2)
    assert whole.ratings is not None and len(whole.ratings) > 0, "the 360 table is empty"
    # Agencies run out of order and in uneven groups, as workers would return them.
    parts = run_agencies(provincial, [2], seed=5, replication=2)
    parts += run_agencies(provincial, [1, 0], seed=5, replication=2)
    assert_same_result(whole, merge(provincial, parts, seed=5, replication=2))


def test_merge_refuses_a_missing_agency(provincial):
    parts = run_agencies(provincial, [0, 2], seed=1, replication=0)
    with pytest.raises(ValueError, match="one part per agency"):
        merge(provincial, parts, seed=1, replication=0)


def test_groups_balance_employees_and_cover_every_agency_once():
    sizes = [212_688, 50_000, 40_000, 30_000, 20_000, 10_000, 5_000, 1_000]
    groups = agency_groups(sizes, 3)
    assert sorted(i for g in groups for i in g) == list(range(len(sizes))), groups
    loads = sorted(sum(sizes[i] for i in g) for g in groups)
    # LPT: the largest agency alone in its group, the rest spread over the other two.
    assert loads[-1] == 212_688, loads
    assert loads[1] - loads[0] <= max(sizes[1:]), loads


@pytest.fixture(scope="module")
def national_one_percent():
    scenario = scaled_scenario(simlib.load_scenario(SCENARIOS / "national.yaml"), 0.01)
    scenario = apply_changes(scenario, {"calendar.horizon_months": 3})
    return resolve(scenario, simlib.load_policy(scenario.resolve(scenario.baseline_policy)))


def test_national_scenario_at_one_percent_on_two_dask_workers(national_one_percent):
    inputs = national_one_percent
    assert len(inputs.agencies) == 6, [a.name for a in inputs.scenario.agencies]
    kinds = {a.archetype for a in inputs.scenario.agencies}
    assert len(kinds) >= 2, f"the 1 % subset should mix central and regional agencies: {kinds}"
    with threadpool_limits(limits=1):
        whole = simlib.simulate(inputs, seed=3)
    seen = []
    split = simulate_split(inputs, seed=3, executor="dask", workers=2,
                           on_agency=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert_same_result(whole, split)
    assert seen[-1] == (6, 6), seen
    assert whole.ratings is None  # opt-in: agency-level outputs by default


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """End a process group this test started (the worker's nanny has a child)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_cli_sweep_against_a_real_dask_scheduler_and_worker(tmp_path):
    from test_sweep import assert_same_store

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    opts = {"cwd": ROOT, "start_new_session": True, "stdout": subprocess.DEVNULL,
            "stderr": subprocess.DEVNULL}  # fmt: skip
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard"], **opts)  # fmt: skip
    worker = None
    try:
        worker = subprocess.Popen(
            [sys.executable, "-m", "dask", "worker", address, "--nworkers", "1", "--nthreads",
             "1", "--no-dashboard", "--local-directory", str(tmp_path / "dask")], **opts)  # fmt: skip
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=90)
        cli = subprocess.run(
            [sys.executable, "-m", "simlib", "sweep", str(TINY), "--scheduler", address,
             "--store", str(tmp_path / "remote"), "--replications", "1"],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert cli.returncode == 0, cli.stderr[-2000:]
    finally:
        if worker is not None:
            _stop(worker)
        _stop(scheduler)
    run_sweep(plan_sweep(TINY, replications=1), tmp_path / "local", executor="inprocess")
    assert_same_store(tmp_path / "local", tmp_path / "remote")


def test_simlib_run_split_path_gives_the_whole_run(provincial):
    import argparse

    from simlib.cli.national import add_split_arguments, simulate_run

    parser = argparse.ArgumentParser()
    add_split_arguments(parser)
    args = parser.parse_args(["--executor", "inprocess"])
    args.seed, args.replication = 4, 0
    with threadpool_limits(limits=1):
        whole = simlib.simulate(provincial, seed=4)
    assert_same_result(whole, simulate_run(provincial, args))


def test_detail_written_per_agency_equals_the_whole_runs_rows(provincial, tmp_path):
    with threadpool_limits(limits=1):
        whole = simlib.simulate(provincial, seed=6)
    split = simulate_split(provincial, seed=6, detail_dir=tmp_path)
    assert split.panel is None and split.ratings is None and split.employee_ledger is None
    for name in ("outcomes", "ledger", "workforce"):
        pd.testing.assert_frame_equal(getattr(whole, name), getattr(split, name), obj=name)
    for name in ("panel", "employee_ledger", "ratings"):
        files = sorted((tmp_path / name).glob("agency-*.parquet"))
        assert len(files) == 3, files
        for i, path in enumerate(files):
            frame = getattr(whole, name)
            agency = provincial.scenario.agencies[i].name
            expected = frame[frame["agency"] == agency].reset_index(drop=True)
            got = pd.read_parquet(path)
            pd.testing.assert_frame_equal(expected, got, check_categorical=False, obj=path.name)


def test_simlib_run_executor_option_writes_the_same_tables(tmp_path):
    """``simlib run --executor inprocess`` (split, a bar by agency) against the plain run,
    both in child processes limited to one BLAS thread."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    scenario = tmp_path / "short.yaml"
    scenario.write_text(yaml.safe_dump({
        "kind": "scenario", "extends": str(SCENARIOS / "provincial_government.yaml"),
        "calendar": {"horizon_months": {"value": 6, "unit": "months",
                                        "source": "setting: short for tests"}},
    }))  # fmt: skip
    for name, extra in (("whole", []), ("split", ["--executor", "inprocess"])):
        cli = subprocess.run(
            [sys.executable, "-m", "simlib", "run", str(scenario), "--seed", "2", "--out",
             str(tmp_path / name), *extra],
            cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert cli.returncode == 0, cli.stderr[-2000:]
    for table in ("outcomes.csv", "ledger.csv", "workforce.csv"):
        whole = (tmp_path / "whole" / table).read_bytes()
        assert whole == (tmp_path / "split" / table).read_bytes(), f"{table} differs"


def test_national_yaml_is_what_its_generator_writes(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("national_generate",
                                                  SCENARIOS / "national_generate.py")  # fmt: skip
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    monkeypatch.setattr(gen, "OUT", tmp_path / "national.yaml")
    gen.main()
    written = (tmp_path / "national.yaml").read_text()
    assert written == (SCENARIOS / "national.yaml").read_text(), "regenerate national.yaml"
    # The published totals the generator scales to (data/raw/national_counts.csv, BKN 2023).
    rows = [a["structure"] for a in yaml.safe_load(written)["agencies"]]
    employees = [r["employees"]["value"] for r in rows]
    assert sum(employees) == 4_282_429, sum(employees)
    assert len(rows) == 80 + 38 + 416 + 98, len(rows)
