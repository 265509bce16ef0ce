"""Inputs resolved once: one frozen bundle, hashed by content; simulate(inputs) opens no file."""

from __future__ import annotations

import builtins
import dataclasses
import io
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import shrink

import simlib
import simlib.params.tables as tables
from simlib.core.paths import DATA, POLICIES, SCENARIOS
from simlib.params.changes import apply_changes
from simlib.params.resolve import InputCache, resolve

TRAINING = DATA / "training" / "programmes.yaml"
CAMPAIGN = DATA / "services" / "vaccination_campaign.yaml"


def levers(policy: simlib.Policy, *, folder: Path = DATA) -> simlib.Policy:
    """``policy`` with the shipped training plan and campaign as its levers."""
    return apply_changes(
        policy,
        {
            "training": {"plan": str(folder / "training" / "programmes.yaml")},
            "campaign": {
                "file": str(folder / "services" / "vaccination_campaign.yaml"),
                "start_month": 0,
                "objective_weight": 0.3,
            },
        },
    )


@pytest.fixture(scope="module")
def from_csv():
    """The scenario whose structure comes from an organisation CSV, over 12 months."""
    scenario = simlib.load_scenario(SCENARIOS / "org_from_csv.yaml")
    outputs = {"outputs.employee_panel": True, "outputs.employee_ledger": True}
    return apply_changes(scenario, {"calendar.horizon_months": 12, **outputs})


def _same(a: simlib.RunResult, b: simlib.RunResult) -> None:
    for name in ("outcomes", "ledger", "workforce", "panel", "employee_ledger"):
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, name
        else:
            pd.testing.assert_frame_equal(x, y, check_exact=True)


def test_simulate_on_inputs_opens_no_file(monkeypatch, from_csv, regional):
    """Every reader of files refuses during simulate(inputs); the run is the same."""
    inputs = resolve(from_csv, levers(regional))
    assert inputs.agencies[0].org_csv and inputs.agencies[0].training is not None
    assert inputs.agencies[0].campaign is not None
    expected = simlib.simulate(inputs, seed=4)
    for name in tables.__all__:  # parsed tables: from the inputs' bytes, not a warm cache
        reader = getattr(tables, name)
        if hasattr(reader, "cache_clear"):
            reader.cache_clear()
    opened = []

    def refuse(*args, **kwargs):
        opened.append(args[:1])
        raise AssertionError(f"file I/O during simulate: {args[:1]}")

    read_csv = pd.read_csv

    def parse_only(source, *args, **kwargs):  # parsing bytes in memory is no file I/O
        if not isinstance(source, io.IOBase):
            refuse(source)
        return read_csv(source, *args, **kwargs)

    for owner, name in (
        (builtins, "open"), (io, "open"), (os, "open"), (os, "stat"), (Path, "open"),
        (Path, "read_text"), (Path, "read_bytes"), (Path, "is_file"), (Path, "exists"),
        (yaml, "load"), (yaml, "safe_load"),
    ):  # fmt: skip
        monkeypatch.setattr(owner, name, refuse)
    monkeypatch.setattr(pd, "read_csv", parse_only)
    try:
        got = simlib.simulate(inputs, seed=4)
    finally:
        monkeypatch.undo()
    assert not opened, opened
    _same(got, expected)
    assert (got.outcomes.period_kind == "training").any()
    assert (got.outcomes.period_kind == "campaign").any()


def test_simulate_resolves_a_scenario_and_policy_the_same(tiny, regional):
    inputs = resolve(tiny, regional)
    _same(simlib.simulate(tiny, regional, seed=2), simlib.simulate(inputs, seed=2))
    with pytest.raises(TypeError):
        simlib.simulate(inputs, regional, seed=2)
    with pytest.raises(TypeError):
        simlib.simulate(tiny, seed=2)


def test_inputs_are_frozen_and_carry_what_was_read(tiny, regional):
    inputs = resolve(tiny, levers(regional))
    with pytest.raises(dataclasses.FrozenInstanceError):
        inputs.scenario = tiny
    roles = sorted({f.role for f in inputs.files})
    assert roles == ["campaign", "parameters", "table", "training"], roles
    assert {f.path.name for f in inputs.files if f.role == "table"} == set(tables.TABLE_FILES)
    assert dict(inputs.tables.content).keys() == set(tables.TABLE_FILES)
    assert inputs.agencies[0].training == simlib.params.training.load_training(TRAINING)


def test_hash_is_content_not_location(tmp_path, from_csv, regional):
    """A copy of data/ elsewhere gives the same hash; an edit to any file read another."""
    copy = tmp_path / "data"
    shutil.copytree(DATA, copy, ignore=shutil.ignore_patterns("processed"))
    here = resolve(from_csv, levers(regional))
    moved_scenario = simlib.load_scenario(copy / "scenarios" / "org_from_csv.yaml")
    moved_scenario = apply_changes(
        moved_scenario,
        {"calendar.horizon_months": 12, "outputs.employee_panel": True,
         "outputs.employee_ledger": True},
    )  # fmt: skip
    moved_policy = levers(simlib.load_policy(copy / "policies" / "baseline_regional.yaml"),
                          folder=copy)  # fmt: skip
    there = resolve(moved_scenario, moved_policy)
    assert {f.path for f in here.files} != {f.path for f in there.files}
    assert here.sha256 == there.sha256
    edits = {
        "raw/example_org.csv": (b"\n", b"\r\n"),
        "training/programmes.yaml": (b"value: 0.8,", b"value: 0.9,"),
        "services/vaccination_campaign.yaml": (b"window_days: {value: 182,",
                                               b"window_days: {value: 181,"),
    }  # fmt: skip
    for name, (old, new) in edits.items():
        path = copy / name
        original = path.read_bytes()
        assert old in original, name
        path.write_bytes(original.replace(old, new, 1))
        moved_policy = levers(moved_policy, folder=copy)
        assert resolve(moved_scenario, moved_policy).sha256 != here.sha256, name
        path.write_bytes(original)


def test_an_edited_table_changes_the_hash_and_the_run_uses_the_inputs_tables(
    monkeypatch, tmp_path, tiny, regional
):
    folder = tmp_path / "tables"
    shutil.copytree(tables.TABLES, folder)
    before = resolve(tiny, regional)
    path = folder / "gaji_pokok.csv"
    text = path.read_text(encoding="utf-8")
    # Every golongan's base salary doubled: the valence of pay at stake halves.
    lines = text.splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(",")
    col = header.index("gaji_pokok_idr_per_month")
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.rstrip("\r\n").split(",")
        cells[col] = str(2 * float(cells[col]))
        out.append(",".join(cells) + "\n")
    path.write_text("".join(out), encoding="utf-8")
    monkeypatch.setattr(tables, "TABLES", folder)
    after = resolve(tiny, regional)
    monkeypatch.undo()  # the engine must not read the folder again: the bundle has it
    assert after.sha256 != before.sha256
    a = simlib.simulate(before, seed=1).outcomes
    b = simlib.simulate(after, seed=1).outcomes
    effort = "metric == 'mean_effort' and period == '2025Q1'"
    assert a.query(effort).value.item() != b.query(effort).value.item()


def test_one_cache_reads_each_file_once_for_many_inputs(monkeypatch, tiny, regional):
    reads = []
    real = Path.read_bytes

    def counting(self):
        reads.append(self.name)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    cache = InputCache()
    bundles = [resolve(shrink(tiny, horizon_months=h), levers(regional), cache=cache)
               for h in (12, 24)]  # fmt: skip
    trees = {"scenario.yaml", "policy.yaml"}  # the parameter trees, hashed
    assert sorted(reads) == sorted({*tables.TABLE_FILES, TRAINING.name, CAMPAIGN.name, *trees})
    assert bundles[0].tables is bundles[1].tables
    assert bundles[0].sha256 != bundles[1].sha256


def test_lever_errors_are_one_line(tiny, regional):
    policy = levers(regional)
    unknown = apply_changes(policy, {"training.agencies": ("Dinas Lain",)})
    with pytest.raises(simlib.ConfigError, match=r"training\.agencies: 'Dinas Lain' is not an "
                       r"agency of the scenario; allowed: 'Dinkes Kabupaten'"):  # fmt: skip
        resolve(tiny, unknown)
    late = apply_changes(policy, {"campaign.start_month": 20})
    with pytest.raises(simlib.ConfigError, match=r"campaign\.start_month: 20 is too late.*"
                       r"allowed: 0 to 18"):  # fmt: skip
        resolve(tiny, late)
    dated = simlib.Variant("later", "", {"training": None}, __import__("datetime").date(2026, 1, 1),
                           "later.yaml", {})  # fmt: skip
    with pytest.raises(simlib.ConfigError, match=r"later\.yaml: changes\.training: the training "
                       r"lever changes at month 12; allowed"):  # fmt: skip
        resolve(tiny, policy, (dated,))


def test_a_variant_names_its_lever_file_relative_to_itself(tmp_path, tiny, regional):
    variant = tmp_path / "variants" / "train.yaml"
    variant.parent.mkdir()
    shutil.copy(TRAINING, tmp_path / "plan.yaml")
    variant.write_text(
        "name: Train\ndescription: x\nchanges:\n  training: {plan: ../plan.yaml}\n",
        encoding="utf-8",
    )
    loaded = simlib.load_variant(variant)
    inputs = resolve(tiny, regional, (loaded,))
    assert [f.path for f in inputs.files if f.role == "training"] == [tmp_path / "plan.yaml"]
    variant.write_text(variant.read_text().replace("../plan.yaml", "missing.yaml"))
    with pytest.raises(simlib.ConfigError, match=r"train\.yaml: changes\.training\.plan: "
                       r"'missing\.yaml': training plan not found"):  # fmt: skip
        simlib.load_variant(variant)


def test_policies_on_disk_load_with_and_without_levers():
    for path in sorted(POLICIES.glob("*.yaml")):
        item = simlib.load_policy_or_variant(path)
        assert item.name, path
