"""The run store: run files round-trip, atomic writes, deterministic bytes, tidy frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from simlib.core.errors import ConfigError
from simlib.engine.model import simulate
from simlib.store.runstore import (
    GROUP_DIMENSIONS,
    LEDGER_METRICS,
    completed_keys,
    open_store,
    remove_partial_files,
    run_key,
    run_table,
    write_run_file,
)


@pytest.fixture(scope="module")
def result(tiny, regional):
    outputs = tiny.outputs.model_copy(update={"employee_ledger": True})
    scenario = tiny.model_copy(update={"outputs": outputs})
    return simulate(scenario, regional, seed=3, replication=1)


def test_run_table_round_trips_outcomes_and_ledger(result, tmp_path):
    (tmp_path / "runs").mkdir()
    path = write_run_file(tmp_path, "k1", run_table(result, groups=True))
    back = pq.read_table(path).to_pandas()
    out = back[back["table"] == "outcomes"]
    want = result.outcomes
    assert len(out) == len(want), (len(out), len(want))
    np.testing.assert_array_equal(out["value"].to_numpy(), want["value"].to_numpy())
    assert list(out["metric"].astype(str)) == list(want["metric"])
    assert list(out["period"].astype(str)) == list(want["period"])
    led = back[back["table"] == "ledger"]
    wide = led.pivot_table(index="t_month", columns="metric", values="value")
    for col in LEDGER_METRICS:
        np.testing.assert_allclose(wide[col].to_numpy(), result.ledger[col].to_numpy(), err_msg=col)
    groups = back[back["table"] == "groups"]
    assert set(groups["dimension"].astype(str)) == set(GROUP_DIMENSIONS)


def test_same_run_same_bytes(result, tmp_path):
    for store in ("x", "y"):
        (tmp_path / store / "runs").mkdir(parents=True)
    a = write_run_file(tmp_path / "x", "a", run_table(result, groups=True)).read_bytes()
    b = write_run_file(tmp_path / "y", "a", run_table(result, groups=True)).read_bytes()
    assert a == b, "a run file must depend only on the run (and its key)"


def test_no_temporary_file_is_left_and_failed_writes_leave_none(result, tmp_path, monkeypatch):
    (tmp_path / "runs").mkdir()
    table = run_table(result, groups=False)
    write_run_file(tmp_path, "ok", table)
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["ok.parquet"]

    import os

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_run_file(tmp_path, "bad", table)
    names = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert names == ["ok.parquet"], names


def test_partial_files_are_ignored_and_removed(tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / ".abc.parquet.x1.tmp").write_bytes(b"torn")
    (tmp_path / "runs" / "done.parquet").write_bytes(b"")
    assert completed_keys(tmp_path) == {"done"}
    assert remove_partial_files(tmp_path) == 1
    assert not list((tmp_path / "runs").glob(".*"))


def test_run_key_depends_on_every_part():
    base = run_key("h", seed=1, replication=0, code="c")
    others = {
        run_key("h2", seed=1, replication=0, code="c"),
        run_key("h", seed=2, replication=0, code="c"),
        run_key("h", seed=1, replication=1, code="c"),
        run_key("h", seed=1, replication=0, code="c2"),
    }
    assert base not in others and len(others) == 4, (base, others)
    assert base == run_key("h", seed=1, replication=0, code="c")


def test_groups_need_the_employee_ledger(tiny, regional):
    plain = simulate(tiny, regional, seed=1)
    with pytest.raises(ValueError, match="employee ledger"):
        run_table(plain, groups=True)


def test_open_store_refuses_a_plain_folder(tmp_path):
    with pytest.raises(ConfigError, match="not a run store"):
        open_store(tmp_path)


def test_ledger_frame_is_wide_with_years(tmp_path):
    from pathlib import Path

    from simlib.experiment.sweep import run_sweep

    tiny = Path(__file__).parent / "data" / "tiny_experiment.yaml"
    from simlib.experiment.sweep import plan_sweep

    run_sweep(plan_sweep(tiny, replications=1), tmp_path / "s", executor="inprocess")
    store = open_store(tmp_path / "s")
    ledger = store.ledger()
    assert len(ledger) == 4 * 12, len(ledger)
    assert set(ledger["year"]) == {"2025"}, set(ledger["year"])
    assert {"paid_idr", "due_idr", "budget_cap_idr"} <= set(ledger.columns)
    out = store.outcomes()
    assert list(out.columns[:5]) == ["key", "arm", "sample", "replication", "seed"]
    assert out.groupby("key")["arm"].nunique().max() == 1
    assert isinstance(store.samples(), pd.DataFrame)
