"""Bad input ends in one clear line, exit status 2, no traceback and nothing written.

The requirement (project issue, "Bad input"): malformed YAML, unknown keys, wrong types,
out-of-range values, missing files and a bad organisation CSV each give *one* line on stderr
naming the file, the field path, the bad value and what is allowed; the exit status is 2;
there is no traceback; nothing is written to the output folder.

Every bad file here is built from a valid data file (``yaml.safe_load``, mutate,
``yaml.safe_dump``) so the tests follow the data files when they change. Runs are kept
small (12 months, about 100 employees).

Where a problem concerns a whole file rather than a field (a missing file, YAML that does
not parse, a full policy given after a variant) the line must name the file and say what is
wrong; a field path, a bad value and the word "allowed" are required wherever there is a
field or a value to name.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from simlib.cli.main import main
from simlib.params.policy import read_policy
from simlib.params.scenario import read_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "data" / "scenarios"
POLICIES = ROOT / "data" / "policies"
SCENARIO_SRC = SCENARIOS / "district_health_office.yaml"
PREFIX = "simlib: error: "


# --------------------------------------------------------------------------------------
# Building small valid inputs and mutating them


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def dump(data: Any, path: Path) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def set_value(mapping: dict, key: str, value: Any) -> None:
    """Set a parameter, keeping its documentation if it is a documented leaf."""
    node = mapping.get(key)
    if isinstance(node, dict) and "value" in node:
        node["value"] = value
    else:
        mapping[key] = value


def structure(raw: dict) -> dict:
    return raw["agencies"][0]["structure"]


def small_scenario() -> dict[str, Any]:
    """The default scenario, shrunk: 12 months, 100 employees in 4 units of 1 sub-unit.

    The whole tree (the default file laid over the parameter tree), so every field is there.
    """
    raw = read_scenario(SCENARIO_SRC)
    raw["agencies"] = raw["agencies"][:1]
    set_value(raw["calendar"], "horizon_months", 12)
    set_value(structure(raw), "employees", 100)
    set_value(structure(raw), "units", 4)
    set_value(structure(raw), "subunits_per_unit", 1)
    set_value(structure(raw), "jpt_posts", 1)
    raw["baseline_policy"] = "baseline.yaml"
    return raw


def baseline_policy_src() -> Path:
    raw = load(SCENARIO_SRC)
    return (SCENARIO_SRC.parent / raw["baseline_policy"]).resolve()


def org_csv_text(rows: list[tuple[str, ...]] | None = None, header: str | None = None) -> str:
    header = header or "employee_id,unit,supervisor_id,kelas_jabatan,job_type"
    rows = rows if rows is not None else GOOD_ORG
    return "\n".join([header, *(",".join(r) for r in rows)]) + "\n"


GOOD_ORG = [
    ("emp-001", "Pimpinan", "", "15", "jpt"),
    ("emp-002", "Bidang A", "emp-001", "11", "administrator"),
    ("emp-003", "Bidang A", "emp-002", "8", "pengawas"),
    ("emp-004", "Bidang A", "emp-003", "7", "fungsional"),
    ("emp-005", "Bidang A", "emp-003", "5", "pelaksana"),
    ("emp-006", "Bidang B", "emp-001", "11", "administrator"),
    ("emp-007", "Bidang B", "emp-006", "6", "pelaksana"),
    ("emp-008", "Bidang B", "emp-006", "9", "fungsional"),
]


def documented(value: Any) -> Any:
    """A number (or list of numbers) as a documented leaf, as variant files must write it."""
    numbers = isinstance(value, int | float) and not isinstance(value, bool)
    if numbers or (isinstance(value, list) and value and all(isinstance(x, float) for x in value)):
        return {"value": value, "unit": "test unit", "source": "assumption"}
    return value


def replace_row(index: int, **changes: str) -> list[tuple[str, ...]]:
    columns = ("employee_id", "unit", "supervisor_id", "kelas_jabatan", "job_type")
    rows = [list(r) for r in GOOD_ORG]
    for column, value in changes.items():
        rows[index][columns.index(column)] = value
    return [tuple(r) for r in rows]


@dataclass
class Result:
    status: int
    out: str
    err: str


class Workspace:
    """A temporary folder with a small scenario, its baseline policy and an output path."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.dir = tmp_path
        self.capsys = capsys
        self.reports = tmp_path / "reports"
        self.reports.mkdir()
        self.out = self.reports / "run"
        self.policy_path = tmp_path / "baseline.yaml"
        dump(read_policy(baseline_policy_src()), self.policy_path)  # the whole tree

    def scenario(self, raw: dict | None = None, name: str = "scenario.yaml") -> Path:
        return dump(small_scenario() if raw is None else raw, self.dir / name)

    def org_scenario(self, csv_text: str, name: str = "scenario.yaml") -> Path:
        raw = small_scenario()
        agency = raw["agencies"][0]
        del agency["structure"]
        agency["org_csv"] = "org.csv"
        (self.dir / "org.csv").write_text(csv_text, encoding="utf-8")
        return self.scenario(raw, name)

    def variant(
        self,
        changes: dict[str, Any],
        *,
        effective_date: dt.date | None = None,
        name: str = "variant.yaml",
    ) -> Path:
        raw: dict[str, Any] = {"name": "Test variant", "description": "for a test"}
        if effective_date is not None:
            raw["effective_date"] = effective_date
        raw["changes"] = {key: documented(value) for key, value in changes.items()}
        return dump(raw, self.dir / name)

    def run(self, *args: str | Path) -> Result:
        self.capsys.readouterr()
        status = main(["run", *map(str, args), "--out", str(self.out)])
        captured = self.capsys.readouterr()
        return Result(status, captured.out, captured.err)

    def validate(self, *args: str | Path) -> Result:
        self.capsys.readouterr()
        status = main(["validate", *map(str, args)])
        captured = self.capsys.readouterr()
        return Result(status, captured.out, captured.err)

    def assert_nothing_written(self) -> None:
        assert not self.out.exists(), f"{self.out} was written despite the error"
        left = sorted(p.name for p in self.reports.iterdir())
        assert left == [], f"files left next to the output folder: {left}"


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Workspace:
    return Workspace(tmp_path, capsys)


def assert_user_error(
    result: Result,
    ws: Workspace | None,
    *,
    file: str | Path,
    path: str | None = None,
    value: str | None = None,
    allowed: bool = True,
    also: tuple[str, ...] = (),
) -> str:
    """One line, exit status 2, no traceback, nothing written; the line names what's wrong."""
    assert result.status == 2, (result.status, result.err)
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.err}"
    line = lines[0]
    assert line.startswith(PREFIX), line
    name = Path(file).name
    assert name in line, f"the message does not name the file {name!r}: {line}"
    if path is not None:
        assert path in line, f"the message does not name the field path {path!r}: {line}"
    if value is not None:
        assert value in line, f"the message does not show the bad value {value!r}: {line}"
    if allowed:
        assert "allowed" in line, f"the message does not say what is allowed: {line}"
    for text in also:
        assert text in line, f"the message lacks {text!r}: {line}"
    if ws is not None:
        ws.assert_nothing_written()
    return line


# --------------------------------------------------------------------------------------
# Scenario files: unknown keys, wrong types, out-of-range values, undocumented numbers


def _unknown_top(raw):
    raw["colour"] = "blue"


def _unknown_nested(raw):
    raw["calendar"]["horizon_month"] = copy.deepcopy(raw["calendar"]["horizon_months"])


def _unknown_in_structure(raw):
    structure(raw)["employes"] = copy.deepcopy(structure(raw)["employees"])


def _unknown_in_leaf(raw):
    raw["raters"]["noise_sd"]["units"] = "SD"


def _quoted_number(raw):
    set_value(structure(raw), "employees", "1200")


def _list_for_mapping(raw):
    raw["outputs"] = ["employee_panel", "employee_ledger"]


def _text_for_bool(raw):
    raw["outputs"]["employee_panel"] = "yes"


def _quoted_date(raw):
    raw["calendar"]["start_date"] = "2025-01-01"


def _float_for_int(raw):
    set_value(structure(raw), "employees", 100.5)


def _negative_employees(raw):
    set_value(structure(raw), "employees", -100)


def _horizon_13(raw):
    set_value(raw["calendar"], "horizon_months", 13)


def _share_above_one(raw):
    set_value(structure(raw), "pppk_share", 1.5)


def _nan(raw):
    set_value(structure(raw), "female_share", float("nan"))


def _inf(raw):
    set_value(raw["raters"], "noise_sd", float("inf"))


def _unknown_archetype(raw):
    raw["agencies"][0]["archetype"] = "kementerian"


def _start_not_january(raw):
    raw["calendar"]["start_date"] = dt.date(2025, 2, 1)


def _too_few_employees(raw):
    set_value(structure(raw), "employees", 3)


def _bare_number(raw):
    raw["raters"]["noise_sd"] = 0.7  # the default 0.75 written bare would inherit its source


def _bare_number_list(raw):
    raw["raters"]["noise_sd"] = [0.75, 0.5]


def _bare_number_in_agency(raw):
    structure(raw)["units"] = 4


def _no_source(raw):
    raw["raters"]["noise_sd"]["value"] = 0.7  # at the default, the tree's source is inherited
    del raw["raters"]["noise_sd"]["source"]


def _empty_source(raw):
    raw["raters"]["noise_sd"]["source"] = ""


SCENARIO_CASES = [
    pytest.param(
        _unknown_top, "colour", "'colour'", ("allowed keys", "calendar"), id="unknown-key-top"
    ),
    pytest.param(
        _unknown_nested,
        "calendar.horizon_month",
        "'horizon_month'",
        ("allowed keys", "horizon_months", "start_date"),
        id="unknown-key-nested",
    ),
    pytest.param(
        _unknown_in_structure,
        "agencies[0].structure.employes",
        "'employes'",
        ("allowed keys", "employees"),
        id="unknown-key-in-agency",
    ),
    pytest.param(
        _unknown_in_leaf, "raters.noise_sd", "'units'", ("unit", "source"), id="unknown-key-in-leaf"
    ),
    pytest.param(
        _quoted_number,
        "agencies[0].structure.employees",
        "'1200'",
        ("whole number",),
        id="quoted-number",
    ),
    pytest.param(
        _list_for_mapping, "outputs", "employee_panel", ("mapping",), id="list-for-mapping"
    ),
    pytest.param(_text_for_bool, "outputs.employee_panel", "'yes'", (), id="text-for-bool"),
    pytest.param(_quoted_date, "calendar.start_date", "'2025-01-01'", ("date",), id="quoted-date"),
    pytest.param(
        _float_for_int, "agencies[0].structure.employees", "100.5", (), id="float-for-int"
    ),
    pytest.param(
        _negative_employees,
        "agencies[0].structure.employees",
        "-100",
        (">= 2",),
        id="negative-employees",
    ),
    pytest.param(_horizon_13, "calendar.horizon_months", "13", ("multiple of 3",), id="horizon-13"),
    pytest.param(
        _share_above_one, "agencies[0].structure.pppk_share", "1.5", ("<= 1",), id="share-above-one"
    ),
    pytest.param(_nan, "agencies[0].structure.female_share", "nan", ("finite",), id="nan"),
    pytest.param(_inf, "raters.noise_sd", "inf", ("finite",), id="inf"),
    pytest.param(
        _unknown_archetype,
        "agencies[0].archetype",
        "'kementerian'",
        ("district_health_office",),
        id="unknown-archetype",
    ),
    pytest.param(_start_not_january, "calendar.start_date", "2025-02-01", (), id="start-not-1-jan"),
    pytest.param(
        _too_few_employees, "agencies[0].structure", "3", ("employees >=",), id="too-few-employees"
    ),
    pytest.param(
        _bare_number, "raters.noise_sd", "0.7", ("unit", "source"), id="undocumented-number"
    ),
    pytest.param(
        _bare_number_in_agency,
        "agencies[0].structure.units",
        "4",
        ("unit", "source"),
        id="undocumented-number-in-agency",
    ),
    pytest.param(_bare_number_list, "raters.noise_sd", "0.75", (), id="undocumented-number-list"),
    pytest.param(_no_source, "raters.noise_sd", None, ("source",), id="leaf-without-source"),
    pytest.param(_empty_source, "raters.noise_sd", "''", ("source",), id="leaf-with-empty-source"),
]


@pytest.mark.parametrize(("mutate", "path", "value", "also"), SCENARIO_CASES)
def test_bad_scenario_value(ws: Workspace, mutate, path, value, also) -> None:
    raw = small_scenario()
    mutate(raw)
    file = ws.scenario(raw)
    result = ws.run(file)
    assert_user_error(result, ws, file=file, path=path, value=value, also=also)


def test_nan_written_as_yaml_dot_nan(ws: Workspace) -> None:
    text = yaml.safe_dump(small_scenario(), sort_keys=False)
    lines = text.splitlines()
    i = next(n for n, line in enumerate(lines) if line.strip().startswith("female_share:"))
    j = next(n for n in range(i, len(lines)) if lines[n].strip().startswith("value:"))
    lines[j] = lines[j].split("value:")[0] + "value: .nan"
    file = ws.dir / "scenario.yaml"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert math.isnan(load(file)["agencies"][0]["structure"]["female_share"]["value"])
    result = ws.run(file)
    assert_user_error(result, ws, file=file, path="agencies[0].structure.female_share", value="nan")


def test_missing_required_key(ws: Workspace) -> None:
    raw = small_scenario()
    del raw["calendar"]["horizon_months"]
    file = ws.scenario(raw)
    result = ws.run(file)
    assert_user_error(
        result, ws, file=file, path="calendar.horizon_months", allowed=False, also=("missing",)
    )


def test_duplicate_agency_names_name_the_field(ws: Workspace) -> None:
    raw = small_scenario()
    raw["agencies"].append(copy.deepcopy(raw["agencies"][0]))
    file = ws.scenario(raw)
    result = ws.run(file)
    name = raw["agencies"][0]["name"]
    assert_user_error(result, ws, file=file, path="agencies", value=name)
    assert f"{file.name}: agencies" in result.err, result.err


@pytest.mark.parametrize("key", ["Calendar", "Structure", "Scenario", "Budget"])
def test_unknown_key_named_like_a_record(ws: Workspace, key: str) -> None:
    """A capitalised key (a typo for 'calendar', say) is an unknown key like any other."""
    raw = small_scenario()
    raw[key] = "x"
    file = ws.scenario(raw)
    result = ws.run(file)
    assert_user_error(result, ws, file=file, path=key, value=repr(key), also=("allowed keys",))


def test_unknown_nested_key_named_like_a_record(ws: Workspace) -> None:
    raw = small_scenario()
    structure(raw)["Structure"] = "x"
    file = ws.scenario(raw)
    result = ws.run(file)
    assert_user_error(
        result, ws, file=file, path="agencies[0].structure.Structure", value="'Structure'"
    )


@pytest.mark.parametrize(
    ("source", "mutate"),
    [
        pytest.param("scenario", _unknown_top, id="scenario"),
        pytest.param("policy", lambda raw: raw.update(colour="blue"), id="policy"),
    ],
)
def test_unknown_key_lists_only_keys_a_file_may_use(ws: Workspace, source, mutate) -> None:
    """'source_file' and 'docs' are reserved (rejected in a file): not 'allowed keys'."""
    if source == "scenario":
        raw = small_scenario()
        mutate(raw)
        bad = scenario = ws.scenario(raw)
    else:
        raw = load(ws.policy_path)
        mutate(raw)
        bad = dump(raw, ws.policy_path)
        scenario = ws.scenario()
    result = ws.run(scenario)
    line = assert_user_error(result, ws, file=bad, path="colour", also=("allowed keys",))
    allowed = line.split("allowed keys:", 1)[1]
    for reserved in ("source_file", "docs"):
        assert reserved not in allowed, f"reserved key {reserved!r} offered as allowed: {line}"


def test_reserved_key_in_file(ws: Workspace) -> None:
    raw = small_scenario()
    raw["source_file"] = "elsewhere.yaml"
    file = ws.scenario(raw)
    result = ws.run(file)
    assert_user_error(result, ws, file=file, path="source_file", value="source_file")


# --------------------------------------------------------------------------------------
# Files that are not YAML mappings, or not there


@pytest.mark.parametrize(
    ("text", "also"),
    [
        pytest.param("calendar: [1, 2\n  start_date: : bar\n", ("line 2",), id="unclosed-bracket"),
        pytest.param("name: x\n\tcalendar: 3\n", ("line 2",), id="tab"),
        pytest.param("name: 'x\n", (), id="unclosed-quote"),
    ],
)
def test_malformed_yaml(ws: Workspace, text: str, also: tuple[str, ...]) -> None:
    valid = yaml.safe_dump(small_scenario(), sort_keys=False)
    file = ws.dir / "scenario.yaml"
    file.write_text(text + valid, encoding="utf-8")
    result = ws.run(file)
    assert_user_error(result, ws, file=file, allowed=False, also=("malformed YAML", *also))


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "", "42\n"])
def test_yaml_that_is_not_a_mapping(ws: Workspace, text: str) -> None:
    file = ws.dir / "scenario.yaml"
    file.write_text(text, encoding="utf-8")
    result = ws.run(file)
    assert_user_error(result, ws, file=file, allowed=False, also=("mapping",))


def test_duplicate_yaml_key_is_rejected(ws: Workspace) -> None:
    """A key written twice is ambiguous; PyYAML silently keeps the last one."""
    valid = yaml.safe_dump(small_scenario(), sort_keys=False)
    text = valid.replace(
        "calendar:\n",
        "calendar:\n  horizon_months: {value: 24, unit: months, source: assumption}\n",
        1,
    )
    assert text != valid
    file = ws.dir / "scenario.yaml"
    file.write_text(text, encoding="utf-8")
    result = ws.run(file)
    assert_user_error(result, ws, file=file, allowed=False, also=("horizon_months", "duplicate"))


def test_missing_scenario_file(ws: Workspace) -> None:
    file = ws.dir / "no_such_scenario.yaml"
    result = ws.run(file)
    assert_user_error(result, ws, file=file, allowed=False, also=("not found",))


def test_scenario_path_is_a_folder(ws: Workspace) -> None:
    folder = ws.dir / "a_folder.yaml"
    folder.mkdir()
    result = ws.run(folder)
    assert_user_error(result, ws, file=folder, allowed=False)


def test_missing_baseline_policy(ws: Workspace) -> None:
    raw = small_scenario()
    raw["baseline_policy"] = "policies/no_such_policy.yaml"
    file = ws.scenario(raw)
    result = ws.run(file)
    assert_user_error(
        result,
        ws,
        file=file,
        path="baseline_policy",
        value="no_such_policy.yaml",
        allowed=False,
        also=("not found",),
    )


def test_bad_baseline_policy_names_the_policy_file(ws: Workspace) -> None:
    raw = load(ws.policy_path)
    set_value(raw["appraisal"], "skp_weight", 1.7)
    dump(raw, ws.policy_path)
    result = ws.run(ws.scenario())
    assert_user_error(result, ws, file=ws.policy_path, path="appraisal.skp_weight", value="1.7")


def test_missing_policy_given_on_the_command_line(ws: Workspace) -> None:
    missing = ws.dir / "no_such_variant.yaml"
    result = ws.run(ws.scenario(), "--policy", missing)
    assert_user_error(result, ws, file=missing, allowed=False, also=("not found",))


def test_bad_full_policy_given_with_policy_option(ws: Workspace) -> None:
    raw = load(ws.policy_path)
    raw["budget"]["over_cap_rule"] = "first_come"
    policy = dump(raw, ws.dir / "other_policy.yaml")
    result = ws.run(ws.scenario(), "--policy", policy)
    assert_user_error(
        result,
        ws,
        file=policy,
        path="budget.over_cap_rule",
        value="'first_come'",
        also=("prorate",),
    )


# --------------------------------------------------------------------------------------
# Variants


def test_variant_unknown_path(ws: Workspace) -> None:
    variant = ws.variant(
        {"incentives.multipliers.bagus": {"value": 0.9, "unit": "share", "source": "test"}}
    )
    result = ws.run(ws.scenario(), "--policy", variant)
    assert_user_error(
        result,
        ws,
        file=variant,
        path="incentives.multipliers.bagus",
        value="bagus",
        also=("baik", "sangat_baik", "butuh_perbaikan"),
    )


def test_variant_unknown_top_level_path(ws: Workspace) -> None:
    variant = ws.variant({"incentive.table_scale": 1.1})
    result = ws.run(ws.scenario(), "--policy", variant)
    assert_user_error(
        result,
        ws,
        file=variant,
        path="incentive.table_scale",
        value="incentive",
        also=("incentives",),
    )


@pytest.mark.parametrize(
    ("changes", "path", "value"),
    [
        pytest.param(
            {"incentives.multipliers.baik": {"value": 3.5, "unit": "share", "source": "test"}},
            "incentives.multipliers.baik",
            "3.5",
            id="multiplier-above-3",
        ),
        pytest.param(
            {"budget.cap_share_of_entitlement": -0.1},
            "budget.cap_share_of_entitlement",
            "-0.1",
            id="negative-cap",
        ),
        pytest.param({"budget.cap_idr": float("nan")}, "budget.cap_idr", "nan", id="nan"),
        pytest.param(
            {"appraisal.skp_weight": "0.5"}, "appraisal.skp_weight", "'0.5'", id="quoted-number"
        ),
        pytest.param(
            {"budget.over_cap_rule": "lottery"},
            "budget.over_cap_rule",
            "'lottery'",
            id="unknown-rule",
        ),
        pytest.param(
            {"appraisal.org_cutoffs": [-1.0, 0.0]}, "appraisal.org_cutoffs", "", id="two-cutoffs"
        ),
        pytest.param(
            {"appraisal.cutoff_below": 2.0}, "appraisal", "2.0", id="cutoffs-out-of-order"
        ),
    ],
)
def test_variant_bad_value(ws: Workspace, changes, path, value) -> None:
    variant = ws.variant(changes)
    result = ws.run(ws.scenario(), "--policy", variant)
    assert_user_error(result, ws, file=variant, path=path, value=value or None)


def test_variant_cannot_change_name_silently(ws: Workspace) -> None:
    """'name' is not a rule: a change of it must be refused, not ignored."""
    variant = ws.variant({"name": 5})
    result = ws.run(ws.scenario(), "--policy", variant)
    assert_user_error(result, ws, file=variant, path="changes.name")
    allowed = "appraisal, budget, campaign, careers, change_management, incentives, training"
    assert f"allowed: {allowed}" in result.err


@pytest.mark.parametrize(
    "when",
    [
        pytest.param(dt.date(2026, 1, 1), id="at-horizon-end"),
        pytest.param(dt.date(2031, 7, 1), id="after-horizon"),
        pytest.param(dt.date(2024, 1, 1), id="before-start"),
    ],
)
def test_variant_effective_date_outside_horizon(ws: Workspace, when: dt.date) -> None:
    variant = ws.variant({"budget.over_cap_rule": "rank_order"}, effective_date=when)
    result = ws.run(ws.scenario(), "--policy", variant)
    assert_user_error(result, ws, file=variant, path="effective_date", value=when.isoformat())


def test_variant_effective_date_inside_horizon_runs(ws: Workspace) -> None:
    variant = ws.variant({"budget.over_cap_rule": "rank_order"}, effective_date=dt.date(2025, 7, 1))
    result = ws.run(ws.scenario(), "--policy", variant)
    assert result.status == 0, result.err
    assert (ws.out / "manifest.json").is_file()


def test_full_policy_after_a_variant(ws: Workspace) -> None:
    variant = ws.variant({"budget.over_cap_rule": "rank_order"})
    full = dump(load(ws.policy_path), ws.dir / "full_policy.yaml")
    result = ws.run(ws.scenario(), "--policy", variant, "--policy", full)
    assert_user_error(result, ws, file=full, allowed=False, also=("first",))


VARIANT_HEAD = {"name": "v", "description": "d"}


@pytest.mark.parametrize(
    ("raw", "path", "allowed", "also"),
    [
        pytest.param(
            {**VARIANT_HEAD, "changes": {}}, "changes", False, ("at least one",), id="no-changes"
        ),
        pytest.param(
            {**VARIANT_HEAD, "changes": ["a"]}, "changes", False, ("mapping",), id="changes-list"
        ),
        pytest.param(
            {**VARIANT_HEAD, "colour": "red", "changes": {"budget.over_cap_rule": "prorate"}},
            "colour",
            True,
            ("allowed keys", "effective_date"),
            id="unknown-key",
        ),
        pytest.param(
            {
                **VARIANT_HEAD,
                "effective_date": "2025-07-01",
                "changes": {"budget.over_cap_rule": "prorate"},
            },
            "effective_date",
            True,
            ("'2025-07-01'",),
            id="quoted-date",
        ),
    ],
)
def test_malformed_variant_file(ws: Workspace, raw, path, allowed, also) -> None:
    variant = dump(raw, ws.dir / "variant.yaml")
    result = ws.run(ws.scenario(), "--policy", variant)
    assert_user_error(result, ws, file=variant, path=path, allowed=allowed, also=also)


# --------------------------------------------------------------------------------------
# Organisation CSV


@pytest.mark.parametrize(
    ("csv_text", "path", "value"),
    [
        pytest.param(
            org_csv_text(
                [r[:4] for r in GOOD_ORG], header="employee_id,unit,supervisor_id,kelas_jabatan"
            ),
            None,
            "job_type",
            id="missing-column",
        ),
        pytest.param(
            org_csv_text(replace_row(5, supervisor_id="emp-007")),
            "supervisor_id",
            "emp-007",
            id="supervisor-cycle",
        ),
        pytest.param(
            org_csv_text(replace_row(6, supervisor_id="emp-007")),
            "supervisor_id",
            "emp-007",
            id="own-supervisor",
        ),
        pytest.param(
            org_csv_text(replace_row(6, supervisor_id="emp-099")),
            "row 8, supervisor_id",
            "'emp-099'",
            id="unknown-supervisor",
        ),
        pytest.param(
            org_csv_text(replace_row(7, employee_id="emp-006")),
            "row 9, employee_id",
            "'emp-006'",
            id="duplicate-id",
        ),
        pytest.param(
            org_csv_text(replace_row(4, kelas_jabatan="0")),
            "row 6, kelas_jabatan",
            "'0'",
            id="kelas-0",
        ),
        pytest.param(
            org_csv_text(replace_row(4, kelas_jabatan="18")),
            "row 6, kelas_jabatan",
            "'18'",
            id="kelas-18",
        ),
        pytest.param(
            org_csv_text(replace_row(4, kelas_jabatan="x")),
            "row 6, kelas_jabatan",
            "'x'",
            id="kelas-x",
        ),
        pytest.param(
            org_csv_text(replace_row(4, kelas_jabatan="7.5")),
            "row 6, kelas_jabatan",
            "'7.5'",
            id="kelas-7.5",
        ),
        pytest.param(
            org_csv_text(replace_row(4, job_type="honorer")),
            "row 6, job_type",
            "'honorer'",
            id="job-type",
        ),
        pytest.param(
            org_csv_text(
                header="employee_id,unit,supervisor_id,kelas_jabatan,job_type,salary",
                rows=[(*r, "1") for r in GOOD_ORG],
            ),
            None,
            "'salary'",
            id="unknown-column",
        ),
    ],
)
def test_bad_org_csv(ws: Workspace, csv_text: str, path: str | None, value: str) -> None:
    file = ws.org_scenario(csv_text)
    result = ws.run(file)
    assert_user_error(result, ws, file="org.csv", path=path, value=value)


@pytest.mark.parametrize(
    "csv_text",
    [
        pytest.param(org_csv_text([]), id="header-only"),
        pytest.param("", id="empty-file"),
    ],
)
def test_org_csv_without_employees(ws: Workspace, csv_text: str) -> None:
    file = ws.org_scenario(csv_text)
    result = ws.run(file)
    assert_user_error(result, ws, file="org.csv", allowed=False)


def test_org_csv_not_found(ws: Workspace) -> None:
    file = ws.org_scenario(org_csv_text())
    (ws.dir / "org.csv").unlink()
    result = ws.run(file)
    assert_user_error(result, ws, file="org.csv", allowed=False, also=("not found",))


def test_valid_org_csv_runs(ws: Workspace) -> None:
    file = ws.org_scenario(org_csv_text())
    result = ws.run(file)
    assert result.status == 0, result.err
    assert "Traceback" not in result.err
    written = {p.name for p in ws.out.iterdir()}
    for table in ("outcomes", "ledger", "workforce"):
        assert {f"{table}.csv", f"{table}.parquet"} <= written, written
    assert "manifest.json" in written
    workforce = (ws.out / "workforce.csv").read_text(encoding="utf-8")
    assert len(workforce.strip().splitlines()) == 1 + len(GOOD_ORG)
    # Identifiers from the CSV are personal data and never written to outputs.
    assert "emp-00" not in workforce
    siblings = sorted(p.name for p in ws.reports.iterdir())
    assert siblings == ["run"], siblings


# --------------------------------------------------------------------------------------
# The output folder, the real process, and `simlib validate`


def test_existing_output_folder_is_left_alone(ws: Workspace) -> None:
    ws.out.mkdir()
    (ws.out / "previous.txt").write_text("an earlier run", encoding="utf-8")
    raw = small_scenario()
    _horizon_13(raw)
    result = ws.run(ws.scenario(raw))
    assert result.status == 2
    assert sorted(p.name for p in ws.out.iterdir()) == ["previous.txt"]
    assert (ws.out / "previous.txt").read_text(encoding="utf-8") == "an earlier run"
    assert sorted(p.name for p in ws.reports.iterdir()) == ["run"]


@pytest.mark.parametrize("case", ["horizon-13", "supervisor-cycle", "malformed-yaml"])
def test_real_process(tmp_path: Path, case: str) -> None:
    """``python -m simlib run``: exit status 2, one line on stderr, no traceback."""
    dump(load(baseline_policy_src()), tmp_path / "baseline.yaml")
    raw = small_scenario()
    if case == "horizon-13":
        _horizon_13(raw)
    elif case == "supervisor-cycle":
        del raw["agencies"][0]["structure"]
        raw["agencies"][0]["org_csv"] = "org.csv"
        (tmp_path / "org.csv").write_text(org_csv_text(replace_row(5, supervisor_id="emp-007")))
    scenario = dump(raw, tmp_path / "scenario.yaml")
    if case == "malformed-yaml":
        scenario.write_text("calendar: [\n" + scenario.read_text(), encoding="utf-8")
    reports = tmp_path / "reports"
    reports.mkdir()
    out = reports / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "simlib", "run", str(scenario), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(PREFIX)
    assert ("org.csv" if case == "supervisor-cycle" else "scenario.yaml") in lines[0]
    assert proc.stdout == ""
    assert not out.exists()
    assert list(reports.iterdir()) == []


def test_validate_bad_file(ws: Workspace) -> None:
    raw = small_scenario()
    _horizon_13(raw)
    file = ws.scenario(raw)
    result = ws.validate(file)
    assert_user_error(result, None, file=file, path="calendar.horizon_months", value="13")


def test_validate_bad_variant(ws: Workspace) -> None:
    variant = ws.variant({"incentives.multipliers.baik": 3.5})
    result = ws.validate(variant)
    assert_user_error(result, None, file=variant, path="incentives.multipliers.baik", value="3.5")


def test_validate_bad_file_after_good_ones(ws: Workspace) -> None:
    raw = small_scenario()
    _share_above_one(raw)
    bad = ws.scenario(raw, name="bad.yaml")
    result = ws.validate(SCENARIO_SRC, bad)
    assert result.status == 2
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert "bad.yaml" in lines[0]
    assert "agencies[0].structure.pppk_share" in lines[0]


def test_validate_every_data_file(ws: Workspace) -> None:
    files = sorted(SCENARIOS.glob("*.yaml")) + sorted(POLICIES.glob("*.yaml"))
    assert files
    result = ws.validate(*files)
    assert result.status == 0, result.err
    assert result.err == ""
    assert len(result.out.strip().splitlines()) == len(files)


# --------------------------------------------------------------------------------------
# Inputs found by trying to break the workbench (issue 11): hangs, blow-ups, tracebacks
# and nonsense that used to be accepted. Each case failed before its fix.


def test_folder_is_not_reported_as_missing(ws: Workspace) -> None:
    folder = ws.dir / "a_folder.yaml"
    folder.mkdir()
    line = assert_user_error(ws.validate(folder), None, file=folder, also=("folder",))
    assert "not found" not in line


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": nine levels of nine aliases expand to 9**9 items (15 KB)."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "also"),
    [
        pytest.param(_alias_bomb(), ("alias",), id="alias-bomb"),
        pytest.param("name: &n x\ndescription: *n\n", ("alias",), id="one-alias"),
        pytest.param("a: " + "[" * 5000 + "]" * 5000 + "\n", ("deep",), id="nested-5000"),
        pytest.param("name: x\x00y\n", ("#x0000",), id="nul-byte"),
    ],
)
def test_hostile_yaml_is_refused_at_once(ws: Workspace, text: str, also) -> None:
    """Each of these used to hang, blow up memory, or print a traceback or a vague line."""
    file = ws.dir / "scenario.yaml"
    file.write_text(text, encoding="utf-8")
    for result in (ws.validate(file), ws.run(file)):
        line = assert_user_error(result, None, file=file, also=also)
        assert "malformed YAML: malformed YAML" not in line
    ws.assert_nothing_written()


def test_alias_bomb_in_an_experiment_is_refused(tmp_path: Path, capsys) -> None:
    file = tmp_path / "exp.yaml"
    file.write_text(_alias_bomb(), encoding="utf-8")
    status = main(["sweep", str(file), "--store", str(tmp_path / "store")])
    err = capsys.readouterr().err
    assert status == 2 and len(err.splitlines()) == 1 and "alias" in err, err
    assert not (tmp_path / "store").exists()


def test_impossible_date_is_one_line(ws: Workspace) -> None:
    text = yaml.safe_dump(small_scenario(), sort_keys=False)
    text = text.replace("start_date: 2025-01-01", "start_date: 2025-02-30")
    assert "2025-02-30" in text
    file = ws.dir / "scenario.yaml"
    file.write_text(text, encoding="utf-8")
    assert_user_error(ws.run(file), ws, file=file, value="2025-02-30", also=("line",))


def test_shares_adding_up_to_more_than_one_are_refused(ws: Workspace) -> None:
    raw = small_scenario()
    set_value(raw["adoption"], "initial_resisting_share", 1.0)
    set_value(raw["adoption"], "initial_adopting_share", 1.0)
    result = ws.run(ws.scenario(raw))
    assert_user_error(result, ws, file="scenario.yaml", path="adoption.initial_adopting_share")


def test_weighted_rule_with_all_weights_zero_is_refused(ws: Workspace) -> None:
    zero = {s: 0.0 for s in ("self", "supervisor", "peer", "subordinate", "service_user")}
    variant = ws.variant({"appraisal.aggregation.rule": "weighted",
                          "appraisal.aggregation.weights": {"value": zero, "unit": "weight",
                                                            "source": "assumption"}})  # fmt: skip
    result = ws.run(ws.scenario(), "--policy", variant)
    assert_user_error(result, ws, file=variant, path="appraisal.aggregation.weights")


def test_bare_number_in_a_variant_is_refused(ws: Workspace) -> None:
    """Scenarios and policies refuse bare numbers; variants now do too."""
    raw = {"name": "v", "description": "d", "changes": {"incentives.multipliers.baik": 0.9}}
    variant = dump(raw, ws.dir / "bare.yaml")
    result = ws.run(ws.scenario(), "--policy", variant)
    assert_user_error(result, ws, file=variant, path="incentives.multipliers.baik", value="0.9",
                      also=("unit",))  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["run", "--no-such-option"], id="unknown-option"),
        pytest.param(["ratings", "analyze"], id="missing-arguments"),
        pytest.param(["run", "--seed", "x"], id="bad-type"),
        pytest.param([], id="no-command"),
    ],
)
def test_argparse_errors_are_one_line(args: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(args)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert len(err.splitlines()) == 1, err
    assert "--help" in err and "usage:" not in err, err


# -- experiments: sizes and mistakes found at validation, before any run ---------------


def _experiment(tmp_path: Path, **changes: Any) -> Path:
    raw = load(ROOT / "tests" / "data" / "tiny_experiment.yaml")
    raw["scenario"] = str(SCENARIO_SRC)
    for arm in raw["arms"]:
        arm["variants"] = [
            str((ROOT / "tests" / "data" / v).resolve()) for v in arm.get("variants", [])
        ]
    raw.update(changes)
    return dump(raw, tmp_path / "exp.yaml")


def _sweep(tmp_path: Path, capsys, exp: Path, *extra: str) -> str:
    store = tmp_path / "store"
    status = main(["sweep", str(exp), "--store", str(store), "--executor", "inprocess", *extra])
    err = capsys.readouterr().err
    assert status == 2, err
    assert len(err.splitlines()) == 1 and err.startswith(PREFIX), err
    assert "exp.yaml" in err, err
    assert not store.exists(), "a store was written for a refused experiment"
    return err


def test_too_many_runs_are_refused_with_the_count(tmp_path: Path, capsys) -> None:
    arms = [{"name": f"a{i}", "label": f"A{i}"} for i in range(200)]
    exp = _experiment(tmp_path, arms=arms, baseline="a0",
                      replications={"value": 100_000, "unit": "r", "source": "assumption"})  # fmt: skip
    err = _sweep(tmp_path, capsys, exp)
    assert "20,000,000 runs" in err and "allowed: at most" in err, err


def test_sobol_design_too_large_to_plan_is_refused(tmp_path: Path, capsys) -> None:
    design = {
        "method": "sobol",
        "samples": {"value": 65_536, "unit": "base samples", "source": "assumption"},
        "parameters": [{"path": "raters.leniency_sd",
                        "range": {"value": [0.1, 0.6], "unit": "SD", "source": "assumption"}}],
    }  # fmt: skip
    err = _sweep(tmp_path, capsys, _experiment(tmp_path, uncertainties=design))
    assert "196,608" in err and "allowed: at most" in err, err


def test_replications_option_is_checked_against_the_limit(tmp_path: Path, capsys) -> None:
    err = _sweep(tmp_path, capsys, _experiment(tmp_path), "--replications", "99999999")
    assert "replications" in err and "allowed: at most" in err, err


def test_unknown_stopping_metric_is_found_before_the_sweep(tmp_path: Path, capsys) -> None:
    rule = {"metric": "rating_acuracy",
            "half_width": {"value": 0.01, "unit": "correlation", "source": "assumption"},
            "max_replications": {"value": 8, "unit": "r", "source": "assumption"}}  # fmt: skip
    err = _sweep(tmp_path, capsys, _experiment(tmp_path, stopping=rule))
    assert "stopping.metric" in err and "rating_accuracy" in err, err


def test_experiment_naming_a_policy_as_its_scenario(tmp_path: Path, capsys) -> None:
    exp = _experiment(tmp_path, scenario=str(baseline_policy_src()))
    err = _sweep(tmp_path, capsys, exp)
    assert "scenario:" in err and "policy file" in err and "scenario_changes" not in err, err


def test_workforce_too_large_for_memory_is_refused_with_an_estimate(ws: Workspace) -> None:
    raw = small_scenario()
    agency = raw["agencies"][0]
    set_value(agency["structure"], "employees", 2_000_000)
    set_value(agency["structure"], "units", 2_000)
    # 100 agencies of 2,000,000: about 130 GB, beyond any machine this runs on.
    raw["agencies"] = [{**copy.deepcopy(agency), "name": f"Agency {i}"} for i in range(100)]
    file = ws.scenario(raw)
    line = assert_user_error(ws.validate(file), None, file=file, path="agencies")
    assert "200,000,000 employees" in line and "GB" in line, line


def test_negative_zero_is_zero(tmp_path) -> None:
    """Found by tests/test_fuzz.py: a campaign's log_sd of -0.0 passed '>= 0' and numpy's
    lognormal then refused it ('sigma < 0', a traceback from `simlib run`)."""
    from simlib.params.campaign import load_campaign

    raw = load(ROOT / "data" / "services" / "vaccination_campaign.yaml")
    raw["service"]["log_sd"]["value"] = -0.0
    file = dump(raw, tmp_path / "campaign.yaml")
    assert "-0.0" in file.read_text(encoding="utf-8")
    log_sd = load_campaign(file).service.log_sd
    assert log_sd == 0.0 and math.copysign(1.0, log_sd) == 1.0
