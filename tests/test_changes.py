"""One change mechanism: ``apply_changes`` derives a record from another, validated whole."""

from __future__ import annotations

import re

import pytest

import simlib.experiment.sweep as experiment
from simlib.core.errors import ConfigError
from simlib.core.paths import ROOT
from simlib.params.changes import apply_changes
from simlib.params.config import Documented
from simlib.params.policy import Variant, apply_variant
from simlib.params.scenario import read_scenario

PACKAGE = ROOT / "simlib"


def test_an_invalid_change_is_refused_where_model_copy_lets_it_through(district) -> None:
    """A horizon must be whole quarters: model_copy builds the invalid record, silently."""
    silent = district.calendar.model_copy(update={"horizon_months": 13})
    assert silent.horizon_months == 13  # what the one change mechanism exists to prevent
    with pytest.raises(ConfigError) as caught:
        apply_changes(district, {"calendar.horizon_months": 13}, file="exp.yaml", where="arms")
    text = str(caught.value)
    assert text.startswith("exp.yaml: arms: calendar.horizon_months: 13"), text
    assert "allowed: a multiple of 3" in text, text


def test_cross_field_validators_run_on_the_result(district) -> None:
    """Fewer employees than leadership posts: each field is valid, the record is not."""
    with pytest.raises(ConfigError, match="allowed: employees >= ") as caught:
        apply_changes(district, {"agencies.0.structure.employees": 3})
    assert caught.value.path == "agencies[0].structure", caught.value.path


def test_an_unknown_path_is_refused_with_the_allowed_keys(district) -> None:
    with pytest.raises(ConfigError) as caught:
        apply_changes(district, {"calendar.horizon_monthz": 36}, file="f.yaml", where="changes")
    text = str(caught.value)
    assert text == (
        "f.yaml: changes.calendar.horizon_monthz: unknown key 'horizon_monthz' of calendar; "
        "allowed: horizon_months, start_date, stop_when"
    ), text
    # No new key at the top either, and the loader's own fields cannot be set.
    for path in ("horizon_months", "docs", "source_file"):
        with pytest.raises(ConfigError, match=f"unknown key '{path}' of the record"):
            apply_changes(district, {path: 1})
    with pytest.raises(ConfigError, match="is a value"):
        apply_changes(district, {"calendar.horizon_months.value": 36})


def test_list_positions(district) -> None:
    changed = apply_changes(district, {"agencies.0.structure.employees": 321})
    assert changed.agencies[0].structure.employees == 321, changed.agencies[0].structure
    assert district.agencies[0].structure.employees != 321  # the original is unchanged
    assert changed.agencies[0].name == district.agencies[0].name
    n = len(district.agencies)
    with pytest.raises(ConfigError, match=f"'{n}' is not a position of agencies; allowed: 0 to"):
        apply_changes(district, {f"agencies.{n}.structure.employees": 321})


def test_no_change_gives_an_equal_record_with_its_provenance(district, regional) -> None:
    for record in (district, regional):
        same = apply_changes(record, {})
        assert same == record
        assert same.source_file == record.source_file and same.source_file
        assert same.docs == record.docs and same.docs


def test_docs_are_merged_and_source_file_kept(regional) -> None:
    doc = Documented(unit="IDR per month", source="assumption")
    changed = apply_changes(regional, {"budget.cap_idr": 1.0e8}, docs={"budget.cap_idr": doc})
    assert changed.budget.cap_idr == 1.0e8
    assert changed.source_file == regional.source_file
    assert changed.docs["budget.cap_idr"] == doc
    assert {k: v for k, v in changed.docs.items() if k != "budget.cap_idr"} == {
        k: v for k, v in regional.docs.items() if k != "budget.cap_idr"
    }


def test_a_record_value_replaces_a_section(district) -> None:
    calendar = district.calendar.model_construct(start_date=district.calendar.start_date,
                                                 horizon_months=14)  # fmt: skip
    with pytest.raises(ConfigError, match="a multiple of 3"):
        apply_changes(district, {"calendar": calendar})


def test_a_variant_goes_through_the_same_mechanism(regional) -> None:
    variant = Variant("v", "d", {"budget.cap_idrr": 1.0}, None, "v.yaml", {})
    with pytest.raises(ConfigError) as caught:
        apply_variant(regional, variant)
    assert str(caught.value).startswith(
        "v.yaml: changes.budget.cap_idrr: unknown key 'cap_idrr' of budget; allowed:"
    ), caught.value


def test_experiment_scenario_changes_add_no_key_the_scenario_lacks() -> None:
    raw = read_scenario(ROOT / "data" / "scenarios" / "district_health_office.yaml")
    with pytest.raises(ConfigError) as caught:
        experiment._apply_scenario_changes(
            raw, {"calendar.horizon_monthz": 36}, file="exp.yaml", where="scenario_changes"
        )
    text = str(caught.value)
    assert text.startswith(
        "exp.yaml: scenario_changes.calendar.horizon_monthz: unknown key 'horizon_monthz' of "
        "calendar; allowed keys: horizon_months, start_date"
    ), text
    # A field the record has but the file leaves out may be given whole.
    assert "org_csv" not in raw["agencies"][0]
    out = experiment._apply_scenario_changes(
        raw, {"agencies.0.org_csv": "x.csv"}, file="exp.yaml", where="scenario_changes"
    )
    assert out["agencies"][0]["org_csv"] == "x.csv"
    # A lever that was an agency field says where it moved.
    with pytest.raises(ConfigError, match=r"exp\.yaml: scenario_changes\.agencies\.0\.training: "
                       r"'training' is not a key of an agency: training plans are policy "
                       r"levers now.*allowed in an arm: variants"):  # fmt: skip
        experiment._apply_scenario_changes(
            raw, {"agencies.0.training": "plan.yaml"}, file="exp.yaml", where="scenario_changes"
        )


def test_no_model_copy_update_in_the_library() -> None:
    """apply_changes is the only way to derive a record; the loader alone fills docs."""
    allowed = {"params/config.py": 1}  # record_from_dict sets the loader's field 'docs'
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        n = len(re.findall(r"model_copy\(\s*update", path.read_text(encoding="utf-8")))
        if n:
            found[str(path.relative_to(PACKAGE))] = n
    assert found == allowed, found
    helpers = (ROOT / "tests" / "helpers.py").read_text(encoding="utf-8")
    assert "model_copy(" not in helpers, "the shared test helpers go through apply_changes"
