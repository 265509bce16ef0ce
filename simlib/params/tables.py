"""Regulation and calibration tables in ``data/tables/``: read, checked, and cached.

Each table is a CSV whose rows carry a ``status`` (V verified, P partly verified,
M unverified assumption) and a ``source``. Functions here return small numpy-ready
structures; they raise :class:`~simlib.core.errors.ConfigError` naming the file, row and column
when a table is malformed.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from simlib.core.domain import AXIS_LEVELS, GOLONGAN, JOB_TYPES, ORG_PREDIKAT, PREDIKAT
from simlib.core.errors import ConfigError
from simlib.core.paths import TABLES

__all__ = [
    "TABLE_FILES",
    "Bins",
    "CurveRule",
    "JobTypeTable",
    "age_bins",
    "distribution_curve",
    "gaji_pokok",
    "job_type_table",
    "national_share",
    "predikat_matrix",
    "retirement_age",
    "tenure_bins",
    "tukin_table",
    "tukin_table_names",
]

STATUSES = ("V", "P", "M")
#: Largest monthly amount a tukin table may hold (IDR): ten times the highest in force.
MAX_IDR_PER_MONTH = 1e9
#: Upper bound of an age or tenure bin (years).
YEARS_MAX = 100
#: Every table file the engine reads (its content is part of each run key; a test checks
#: that this lists each file named in this module).
TABLE_FILES = (
    "age_distribution.csv",
    "gaji_pokok.csv",
    "job_types.csv",
    "kurva_distribusi.csv",
    "national_shares.csv",
    "predikat_matrix.csv",
    "retirement_age.csv",
    "tenure_distribution.csv",
    "tukin_kelas.csv",
)
#: ``min_share`` of a distribution-curve row that says "sebagian besar" (the majority).
MAJORITY = "sebagian_besar"


@dataclass(frozen=True, slots=True)
class Bins:
    """A histogram of whole years: bin ``k`` covers ``lo[k]..hi[k]`` with ``share[k]``."""

    lo: np.ndarray
    hi: np.ndarray
    share: np.ndarray


@dataclass(frozen=True, slots=True)
class CurveRule:
    """One row of the distribution curve: the share of employees in ``predikat`` codes.

    With ``majority`` set, the row's lower bound is "sebagian besar" (the majority): more
    than the policy's ``appraisal.distribution_curve.majority_share`` of the employees,
    and ``min_share`` is not used.
    """

    predikat: tuple[int, ...]
    min_share: float
    max_share: float
    min_count: int
    majority: bool = False


@dataclass(frozen=True, slots=True)
class JobTypeTable:
    """Kelas jabatan range and golongan probabilities, indexed by job-type code."""

    kelas_min: np.ndarray
    kelas_max: np.ndarray
    golongan_p: np.ndarray  # shape (job types, 4), rows sum to 1


def _rows(name: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    path = TABLES / name
    if not path.is_file():
        raise ConfigError("table file not found", file=path)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in (*columns, "status", "source") if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"missing column(s) {', '.join(missing)}", file=path)
        rows = list(reader)
    for i, row in enumerate(rows, start=2):
        if row["status"] not in STATUSES:
            raise ConfigError(
                f"status {row['status']!r} not allowed; allowed: V, P, M",
                file=path,
                path=f"row {i}",
            )
        if not row["source"].strip():
            raise ConfigError("every row needs a source", file=path, path=f"row {i}, source")
    return rows


def _number(row: dict[str, str], column: str, name: str, line: int) -> float:
    try:
        value, kind = float(row[column]), "finite number"
    except (TypeError, ValueError):
        value, kind = math.nan, "number"
    if not math.isfinite(value):
        raise ConfigError(
            f"{row[column]!r} is not a {kind}; allowed: a finite number",
            file=TABLES / name,
            path=f"row {line}, {column}",
        )
    return value


def _code(value: str, allowed: tuple[str, ...], name: str, where: str) -> int:
    if value not in allowed:
        raise ConfigError(
            f"{value!r} not allowed; allowed: {', '.join(allowed)}", file=TABLES / name, path=where
        )
    return allowed.index(value)


@cache
def _tukin_tables() -> dict[str, np.ndarray]:
    name = "tukin_kelas.csv"
    tables: dict[str, np.ndarray] = {}
    for line, row in enumerate(_rows(name, ("table", "kelas_jabatan", "amount_idr_per_month")), 2):
        amounts = tables.setdefault(row["table"], np.full(18, np.nan))
        kelas = _number(row, "kelas_jabatan", name, line)
        amount = _number(row, "amount_idr_per_month", name, line)
        if not (kelas.is_integer() and 1 <= kelas <= 17) or not 0 < amount <= MAX_IDR_PER_MONTH:
            raise ConfigError(
                f"kelas_jabatan must be a whole number 1-17 and the amount in (0, "
                f"{MAX_IDR_PER_MONTH:,.0f}] IDR",
                file=TABLES / name,
                path=f"row {line}",
            )
        amounts[int(kelas)] = amount
    for table, amounts in tables.items():
        if np.isnan(amounts[1:]).any():
            raise ConfigError(
                f"table {table!r} does not cover every kelas jabatan 1-17", file=TABLES / name
            )
        amounts[0] = 0.0
        amounts.setflags(write=False)
    return tables


def tukin_table_names() -> tuple[str, ...]:
    """Names of the tukin/TPP tables available in ``tukin_kelas.csv``."""
    return tuple(sorted(_tukin_tables()))


def tukin_table(name: str) -> np.ndarray:
    """Monthly tukin in IDR by kelas jabatan (index 1-17; index 0 unused)."""
    tables = _tukin_tables()
    if name not in tables:
        raise ConfigError(
            f"unknown tukin table {name!r}; allowed: {', '.join(sorted(tables))}",
            path="incentives.tukin_table",
        )
    return tables[name]


@cache
def predikat_matrix() -> np.ndarray:
    """The 3x3 predikat matrix: ``m[hasil_kerja_level, perilaku_level]`` is a predikat code."""
    name = "predikat_matrix.csv"
    matrix = np.full((3, 3), -1, dtype=np.int8)
    for line, row in enumerate(_rows(name, ("hasil_kerja", "perilaku", "predikat")), 2):
        h = _code(row["hasil_kerja"], AXIS_LEVELS, name, f"row {line}, hasil_kerja")
        p = _code(row["perilaku"], AXIS_LEVELS, name, f"row {line}, perilaku")
        matrix[h, p] = _code(row["predikat"], PREDIKAT, name, f"row {line}, predikat")
    if (matrix < 0).any():
        raise ConfigError("the matrix must cover all 9 cells", file=TABLES / name)
    matrix.setflags(write=False)
    return matrix


@cache
def distribution_curve() -> dict[int, tuple[CurveRule, ...]]:
    """Distribution-curve rules by organisation predikat code (SE MenPANRB 03/2023).

    A ``min_share`` of ``sebagian_besar`` marks a majority rule (:class:`CurveRule`).
    """
    name = "kurva_distribusi.csv"
    cols = ("org_predikat", "employee_predikat", "min_share", "max_share", "min_count")
    rules: dict[int, list[CurveRule]] = {code: [] for code in range(len(ORG_PREDIKAT))}
    for line, row in enumerate(_rows(name, cols), 2):
        org = _code(row["org_predikat"], ORG_PREDIKAT, name, f"row {line}, org_predikat")
        cats = tuple(
            _code(p, PREDIKAT, name, f"row {line}, employee_predikat")
            for p in row["employee_predikat"].split(";")
        )
        # "sebagian besar": what it means is a policy parameter, not a number in the table.
        majority = row["min_share"].strip() == MAJORITY
        lo = 0.0 if majority else _number(row, "min_share", name, line)
        hi = _number(row, "max_share", name, line)
        count = _number(row, "min_count", name, line)
        if not 0 <= lo <= hi <= 1 or count < 0:
            raise ConfigError(
                "need 0 <= min_share <= max_share <= 1 and min_count >= 0",
                file=TABLES / name,
                path=f"row {line}",
            )
        rules[org].append(CurveRule(cats, lo, hi, int(count), majority))
    return {org: tuple(r) for org, r in rules.items()}


def _bins(name: str, lo_col: str, hi_col: str) -> Bins:
    rows = _rows(name, (lo_col, hi_col, "share"))
    lo = np.array([_number(r, lo_col, name, i) for i, r in enumerate(rows, 2)])
    hi = np.array([_number(r, hi_col, name, i) for i, r in enumerate(rows, 2)])
    share = np.array([_number(r, "share", name, i) for i, r in enumerate(rows, 2)])
    if (hi < lo).any() or (share < 0).any() or abs(share.sum() - 1) > 1e-6:
        raise ConfigError("bins need lo <= hi and shares >= 0 summing to 1", file=TABLES / name)
    if (lo < 0).any() or (hi > YEARS_MAX).any():
        raise ConfigError(
            f"bins of years out of range; allowed: 0 to {YEARS_MAX} years", file=TABLES / name
        )
    return Bins(lo, hi, share)


@cache
def age_bins() -> Bins:
    """National age distribution of PNS (BKN statistics, June 2023)."""
    return _bins("age_distribution.csv", "age_from_years", "age_to_years")


@cache
def tenure_bins() -> Bins:
    """National distribution of years of service of PNS (BKN statistics, June 2023)."""
    return _bins("tenure_distribution.csv", "tenure_from_years", "tenure_to_years")


@cache
def job_type_table() -> JobTypeTable:
    """Kelas jabatan ranges and golongan shares by job type (assumptions, see the CSV)."""
    name = "job_types.csv"
    gol = ("golongan_i", "golongan_ii", "golongan_iii", "golongan_iv")
    rows = _rows(name, ("job_type", "kelas_min", "kelas_max", *gol))
    k_min = np.zeros(len(JOB_TYPES), dtype=np.int8)
    k_max = np.zeros(len(JOB_TYPES), dtype=np.int8)
    p = np.full((len(JOB_TYPES), 4), np.nan)
    for line, row in enumerate(rows, 2):
        j = _code(row["job_type"], JOB_TYPES, name, f"row {line}, job_type")
        low, high = (_number(row, c, name, line) for c in ("kelas_min", "kelas_max"))
        p[j] = [_number(row, c, name, line) for c in gol]
        whole = low.is_integer() and high.is_integer()
        if not (whole and 1 <= low <= high <= 17) or (p[j] < 0).any() or abs(p[j].sum() - 1) > 1e-6:
            raise ConfigError(
                "need whole kelas 1 <= kelas_min <= kelas_max <= 17 and golongan shares >= 0 "
                "summing to 1",
                file=TABLES / name,
                path=f"row {line}",
            )
        k_min[j], k_max[j] = int(low), int(high)
    if np.isnan(p).any():
        raise ConfigError(f"every job type needs a row: {', '.join(JOB_TYPES)}", file=TABLES / name)
    return JobTypeTable(k_min, k_max, p)


@cache
def national_share(quantity: str) -> float:
    """A national workforce share (e.g. ``"female"``, ``"pppk"``) from BKN statistics."""
    name = "national_shares.csv"
    shares = {
        row["quantity"]: _number(row, "share", name, line)
        for line, row in enumerate(_rows(name, ("quantity", "share")), 2)
    }
    if quantity not in shares:
        raise ConfigError(f"no national share {quantity!r}", file=TABLES / name)
    return shares[quantity]


@cache
def retirement_age() -> np.ndarray:
    """Batas usia pensiun (years) by job-type code (PP 11/2017 Pasal 239; see the CSV)."""
    return _by_code("retirement_age.csv", "job_type", JOB_TYPES, "retirement_age_years", 40, 70)


@cache
def gaji_pokok() -> np.ndarray:
    """Monthly base salary (IDR) by golongan code (PP 5/2024 range midpoints; see the CSV)."""
    return _by_code("gaji_pokok.csv", "golongan", GOLONGAN, "gaji_pokok_idr_per_month", 1e5, 1e8)


def _by_code(
    name: str, key: str, allowed: tuple[str, ...], column: str, lo: float, hi: float
) -> np.ndarray:
    """One number per code of ``allowed``, every code exactly once, each within [lo, hi]."""
    values = np.full(len(allowed), np.nan)
    for line, row in enumerate(_rows(name, (key, column)), 2):
        code = _code(row[key], allowed, name, f"row {line}, {key}")
        value = _number(row, column, name, line)
        if not lo <= value <= hi or not np.isnan(values[code]):
            raise ConfigError(
                f"{value:g} out of range or repeated; allowed: one value in [{lo:g}, {hi:g}] "
                f"per {key}",
                file=TABLES / name,
                path=f"row {line}, {column}",
            )
        values[code] = value
    if np.isnan(values).any():
        raise ConfigError(f"every {key} needs a row: {', '.join(allowed)}", file=TABLES / name)
    values.setflags(write=False)
    return values


def table_path(name: str) -> Path:
    """Path of a table file by name (for provenance)."""
    return TABLES / name
