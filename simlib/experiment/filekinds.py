"""Every kind of input file: how its kind is recognised, and its check (``simlib validate``).

A file's kind comes from a top-level ``kind:`` field if it has one (``scenario``,
``policy``, ``variant``, ``experiment``, ``training``, ``campaign``, ``calibration-targets``,
``parameters``), else from its folder (``data/scenarios``, ``data/policies``,
``data/experiments``, ``data/training``, ``data/services``, ``data/raw``, ``data/tables``,
``data/parameters``), else from its content (``agencies`` is a scenario, ``changes`` a
variant, ``appraisal`` a policy, ``arms`` an experiment, ``programmes`` a training plan,
``target_population`` a campaign, ``targets`` calibration targets (``data/calibration``
holds targets and variants), ``parameters`` a parameter tree, a delta with ``extends``
its parent's kind, a CSV with ``employee_id`` and ``supervisor_id`` an organisation CSV).
A file whose ``kind:`` or content says one kind while its folder holds another is refused
in one line before it is read as the wrong kind.

:func:`check_file` validates a file the way the workbench will read it and returns a
one-line summary; problems raise :class:`~simlib.core.errors.ConfigError` (file, field, value,
what is allowed).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from simlib.core.errors import ConfigError
from simlib.core.paths import DEFAULT_SCENARIO, TABLES
from simlib.params.config import FILE_KINDS, KIND_ALIASES, read_yaml

__all__ = ["KINDS", "check_file", "detect_kind"]

#: Every kind, with the folder under ``data/`` that holds it.
KINDS = {
    "scenario": "scenarios",
    "policy": "policies",
    "variant": "policies",
    "experiment": "experiments",
    "training": "training",
    "campaign": "services",
    "org_csv": "raw",
    "table": "tables",
    "parameters": "parameters",
}
#: Kinds read from YAML; the others are CSV.
YAML_KINDS = tuple(FILE_KINDS)
#: Kinds each folder may hold when a file says its ``kind:`` (besides the folder's own).
FOLDER_KINDS = {"policies": ("policy", "variant"), "calibration": ("calibration", "variant")}
#: Top-level keys that tell a YAML file's kind, in the order they are tried.
CONTENT_KEYS = (
    ("agencies", "scenario"),
    ("arms", "experiment"),
    ("changes", "variant"),
    ("appraisal", "policy"),
    ("programmes", "training"),
    ("target_population", "campaign"),
    ("targets", "calibration"),
    ("parameters", "parameters"),
)
#: Every kind's words in messages: the YAML kinds of ``config.FILE_KINDS`` and the CSVs.
NAMES = {
    **FILE_KINDS,
    "org_csv": "organisation CSV",
    "table": "regulation table",
    "counts": "table of published counts",
}
#: Columns of a table of published counts (``data/raw/national_counts.csv``): one sourced
#: number a row, with the V/P/M status of ``../shared/reference/facts.md``.
COUNTS_COLUMNS = ("quantity", "value", "unit", "date", "status", "source")


def detect_kind(path: str | Path, raw: dict[str, Any] | None = None) -> str:
    """The kind of the file at ``path`` (``raw``: its YAML content, for YAML files).

    Raises
    ------
    ConfigError
        When the kind cannot be told, a ``kind:`` field names no kind, or the content
        says one kind while the file lies in another kind's folder.
    """
    path = Path(path)
    folder = path.parent.name
    by_folder = [k for k, f in KINDS.items() if f == folder]
    if raw is None:  # a CSV
        header = _csv_header(path)
        if folder == "raw" and tuple(header) == COUNTS_COLUMNS:
            return "counts"
        if folder in ("raw", "tables"):
            return by_folder[0]
        if {"employee_id", "supervisor_id"} <= set(header):
            return "org_csv"
        raise ConfigError(
            "cannot tell what kind of CSV this is; allowed: an organisation CSV (columns "
            "employee_id, supervisor_id, ...) or a table in data/tables/",
            file=path,
        )
    if "kind" in raw:
        given = raw["kind"]
        kind = KIND_ALIASES.get(given, given) if isinstance(given, str) else given
        if kind not in YAML_KINDS:
            names = ", ".join(
                k if k != "calibration" else "calibration-targets" for k in YAML_KINDS
            )
            raise ConfigError(f"{given!r}: allowed: {names}", file=path, path="kind")
        here = FOLDER_KINDS.get(folder, tuple(by_folder))
        if by_folder and by_folder[0] in YAML_KINDS and kind not in here:
            raise ConfigError(
                f"{given!r}: this file says it is {_a(NAMES[kind])} file, but it lies in "
                f"{folder}/, where {NAMES[by_folder[0]]} files live; allowed: kind: "
                f"{' or '.join(here)} here, or move it to data/{KINDS.get(kind, kind)}/",
                file=path,
                path="kind",
            )
        return kind
    key, by_content = next(((k, v) for k, v in CONTENT_KEYS if k in raw), (None, None))
    if by_content is None and "extends" in raw:
        from simlib.params.tree import file_kind_of

        key, by_content = "extends", file_kind_of(raw, path)
    if by_folder and by_folder[0] in YAML_KINDS:
        if by_content is not None and by_content not in by_folder:
            raise ConfigError(
                f"this is {_a(NAMES[by_content])} file (it has {key!r}), not "
                f"{_a(NAMES[by_folder[0]])}, but it lies in {folder}/, where "
                f"{NAMES[by_folder[0]]} files live; allowed: {_a(NAMES[by_folder[0]])} file "
                f"here, or move it to data/{KINDS[by_content]}/",
                file=path,
            )
        if folder == "policies":
            from simlib.params.tree import file_kind_of

            return "variant" if file_kind_of(raw, path) == "variant" else "policy"
        return by_folder[0]
    if by_content is None:
        keys = ", ".join(f"{k} ({NAMES[v]})" for k, v in CONTENT_KEYS)
        raise ConfigError(
            "cannot tell what kind of file this is; allowed: a file in data/scenarios, "
            "policies, experiments, training or services, or one with a top-level key "
            f"that says its kind: {keys}",
            file=path,
        )
    return by_content


def check_file(path: str | Path, *, base_policy: str | Path) -> tuple[str, str]:
    """Validate one file as the workbench reads it: ``(kind, one-line summary)``.

    Parameters
    ----------
    path
        A YAML file (scenario, policy, variant, experiment, training plan, campaign) or a
        CSV (organisation CSV, regulation table).
    base_policy
        The policy a variant is applied to (validated whole).

    Raises
    ------
    ConfigError
        The file's first problem: file, field path, bad value and what is allowed.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        if not path.is_file():
            raise ConfigError("file not found", file=path)
        kind = detect_kind(path)
    elif path.suffix.lower() in (".yaml", ".yml"):
        kind = detect_kind(path, read_yaml(path))
    else:
        raise ConfigError(
            f"{path.suffix or 'no suffix'}: allowed: .yaml files (scenarios, policies, "
            "variants, experiments, training plans, campaigns) or .csv files (organisation "
            "CSVs, regulation tables)",
            file=path,
        )
    return kind, _CHECKS[kind](path, base_policy)


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return [c.strip() for c in next(csv.reader(fh), [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"not a readable CSV ({exc.__class__.__name__})", file=path) from None


def _scenario(path: Path, _base: Any) -> str:
    from simlib.params.scenario import load_scenario

    s = load_scenario(path)
    n = len(s.agencies)
    agencies = f"{n} {'agency' if n == 1 else 'agencies'}"
    return f"scenario {s.name!r}, {agencies}, {s.calendar.horizon_months} months"


def _policy(path: Path, _base: Any) -> str:
    from simlib.params.policy import load_policy

    return f"policy {load_policy(path).name!r}"


def _variant(path: Path, base: str | Path) -> str:
    from simlib.params.policy import apply_variant, load_policy, load_variant

    item = load_variant(path)
    apply_variant(load_policy(base), item)
    when = f", effective {item.effective_date}" if item.effective_date else ""
    return f"variant {item.name!r} ({len(item.changes)} changes{when})"


def _experiment(path: Path, _base: Any) -> str:
    from simlib.experiment.sweep import plan_sweep

    plan = plan_sweep(path)
    exp = plan.experiment
    samples = f", {len(plan.samples)} uncertainty samples" if exp.uncertainties else ""
    more = ""
    if exp.stopping is not None:
        most = len(plan.with_replications(exp.stopping.max_replications).runs)
        more = f" (up to {most} with the stopping rule)"
    return (
        f"experiment {exp.name!r}, {len(exp.arms)} arms{samples}, {plan.replications} "
        f"replications, {len(plan.runs)} planned runs{more}"
    )


def _training(path: Path, _base: Any) -> str:
    from simlib.params.training import load_training

    plan = load_training(path)
    return f"training plan {plan.name!r}, {len(plan.programmes)} programmes"


def _campaign(path: Path, _base: Any) -> str:
    from simlib.params.campaign import campaign_months, load_campaign

    c = load_campaign(path)
    return f"campaign {c.name!r}, {campaign_months(c)} months, {c.posts.count} posts"


def _org_csv(path: Path, _base: Any) -> str:
    from simlib.params.scenario import load_scenario
    from simlib.world.workforce import read_org_csv

    # Read as a scenario reads it, with the default scenario's workforce parameters (they
    # only fill the columns the file leaves out).
    params = load_scenario(DEFAULT_SCENARIO).workforce
    workforce = read_org_csv(path, params, rng=np.random.default_rng(0))
    units = len(workforce.unit_names)
    return f"organisation CSV, {workforce.n} employees in {units} units"


def _counts(path: Path, _base: Any) -> str:
    """Every row a quantity with a number, a unit, a date, a V/P/M status and a source."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for i, row in enumerate(rows):
        where = f"row {i + 2}"
        try:
            float(row["value"])
        except (TypeError, ValueError):
            raise ConfigError(
                f"{row['value']!r} is not a number; allowed: a number",
                file=path,
                path=f"{where}.value",
            ) from None
        if row["status"] not in ("V", "P", "M"):
            raise ConfigError(
                f"{row['status']!r}; allowed: V, P or M", file=path, path=f"{where}.status"
            )
        for column in ("quantity", "unit", "source"):
            if not (row[column] or "").strip():
                raise ConfigError(
                    "empty; allowed: a non-empty text", file=path, path=f"{where}.{column}"
                )
    return f"table of published counts, {len(rows)} quantities"


def _table(path: Path, _base: Any) -> str:
    from simlib.params import tables

    loaders: dict[str, Callable[[], Any]] = {
        "age_distribution.csv": tables.age_bins,
        "gaji_pokok.csv": tables.gaji_pokok,
        "job_types.csv": tables.job_type_table,
        "kurva_distribusi.csv": tables.distribution_curve,
        "national_shares.csv": lambda: tables.national_share("female"),
        "predikat_matrix.csv": tables.predikat_matrix,
        "retirement_age.csv": tables.retirement_age,
        "tenure_distribution.csv": tables.tenure_bins,
        "tukin_kelas.csv": tables.tukin_table_names,
        "angka_kredit_kp.csv": tables.angka_kredit_kp,
        "education_caps.csv": tables.education_caps,
        "golongan_ladder.csv": tables.golongan_ladder,
        "kenaikan_pangkat.csv": tables.kenaikan_pangkat_rules,
        "kp_periods.csv": tables.kp_periods,
        "position_levels.csv": tables.position_ladders,
        "talent_boxes.csv": tables.talent_boxes,
    }
    if path.resolve() != (TABLES / path.name).resolve() or path.name not in loaders:
        raise ConfigError(
            f"not a table the engine reads; allowed: {', '.join(sorted(loaders))} in {TABLES}",
            file=path,
        )
    loaders[path.name]()
    with path.open(newline="", encoding="utf-8") as fh:
        rows = sum(1 for _ in csv.DictReader(fh))
    return f"regulation table, {rows} rows"


def _parameters(path: Path, _base: Any) -> str:
    from simlib.params.policy import Policy
    from simlib.params.scenario import Scenario
    from simlib.params.tree import TREE_KINDS, check_tree

    raw = read_yaml(path)
    kind = raw.get("record")
    models = {"scenario": Scenario, "policy": Policy}
    if kind not in TREE_KINDS:
        raise ConfigError(
            f"{kind!r}: allowed: {', '.join(TREE_KINDS)} (the record this tree declares)",
            file=path,
            path="record",
        )
    tree = check_tree(kind, models[kind], file=path)
    ps = tree.parameters.values()
    defaults = sum(p.has_default for p in ps)
    ranged = sum(p.range is not None for p in ps)
    return (
        f"parameter tree of the {kind}, {len(tree.parameters)} parameters ({defaults} with a "
        f"default, {ranged} with a plausible range)"
    )


def _calibration(path: Path, _base: Any) -> str:
    from simlib.experiment.calibration import load_targets

    targets = load_targets(path)
    return f"calibration targets {targets.name!r}, {len(targets.targets)} targets"


_CHECKS: dict[str, Callable[[Path, Any], str]] = {
    "scenario": _scenario,
    "policy": _policy,
    "variant": _variant,
    "experiment": _experiment,
    "training": _training,
    "campaign": _campaign,
    "org_csv": _org_csv,
    "table": _table,
    "counts": _counts,
    "calibration": _calibration,
    "parameters": _parameters,
}
