"""Regulation and calibration tables in ``data/tables/``: read, checked, and cached.

Each table is a CSV whose rows carry a ``status`` (V verified, P partly verified,
M unverified assumption) and a ``source``. Functions here return small numpy-ready
structures; they raise :class:`~simlib.core.errors.ConfigError` naming the file, row and column
when a table is malformed.

The readers parse the files in ``data/tables/``, or, inside ``with reading(tables):``, the
bytes of a :class:`TableSet` (:func:`read_tables`): a run's inputs carry the tables it uses
that way (:mod:`simlib.params.resolve`), and the engine opens no file. Parsed tables are
cached per source (the files, or one set of bytes by its content hash).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import math
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from simlib.core.domain import AXIS_LEVELS, GOLONGAN, JOB_TYPES, ORG_PREDIKAT, PREDIKAT
from simlib.core.errors import ConfigError
from simlib.core.paths import TABLES

__all__ = [
    "TABLE_FILES",
    "Bins",
    "CurveRule",
    "JobTypeTable",
    "KPRule",
    "PositionLevel",
    "TableSet",
    "age_bins",
    "angka_kredit_kp",
    "distribution_curve",
    "education_caps",
    "gaji_pokok",
    "golongan_ladder",
    "job_type_table",
    "kenaikan_pangkat_rules",
    "kp_periods",
    "national_share",
    "position_ladders",
    "predikat_matrix",
    "read_tables",
    "reading",
    "retirement_age",
    "talent_boxes",
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
    # careers (issue 15)
    "angka_kredit_kp.csv",
    "education_caps.csv",
    "golongan_ladder.csv",
    "kenaikan_pangkat.csv",
    "kp_periods.csv",
    "position_levels.csv",
    "talent_boxes.csv",
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


@dataclass(frozen=True, eq=False)
class TableSet:
    """The bytes of every table file of :data:`TABLE_FILES`, as read once for a run.

    ``content`` maps file name to bytes; ``sha256`` maps file name to the SHA-256 of its
    bytes, and ``digest`` is one hash of them all (the cache key of the parsed tables).
    """

    content: tuple[tuple[str, bytes], ...]
    sha256: dict[str, str] = field(init=False, repr=False)
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        sums = {name: hashlib.sha256(data).hexdigest() for name, data in self.content}
        whole = hashlib.sha256("".join(f"{n}\0{h}\0" for n, h in sorted(sums.items())).encode())
        object.__setattr__(self, "sha256", sums)
        object.__setattr__(self, "digest", whole.hexdigest())

    def bytes_of(self, name: str) -> bytes | None:
        """The bytes of table file ``name``, or ``None`` if the set has no such file."""
        for key, data in self.content:
            if key == name:
                return data
        return None


def read_tables() -> TableSet:
    """Read every table file of :data:`TABLE_FILES` from ``data/tables`` (bytes, unparsed).

    Raises
    ------
    ConfigError
        If a table file is missing.
    """
    content = []
    for name in TABLE_FILES:
        path = TABLES / name
        if not path.is_file():
            raise ConfigError("table file not found", file=path)
        content.append((name, path.read_bytes()))
    return TableSet(tuple(content))


#: The table bytes the readers parse instead of the files (``None``: the files).
_SOURCE: ContextVar[TableSet | None] = ContextVar("simlib_table_source", default=None)
#: Sets of bytes whose parsed tables stay cached besides the files'.
_CACHED_SETS = 8
F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def reading(tables: TableSet) -> Iterator[TableSet]:
    """Inside this block every reader of this module parses ``tables``, not the files."""
    token = _SOURCE.set(tables)
    try:
        yield tables
    finally:
        _SOURCE.reset(token)


def _cached(fn: F) -> F:
    """Cache a reader per source: the files (for the process), or a :class:`TableSet`."""
    memo: OrderedDict[str | None, dict[tuple, Any]] = OrderedDict()

    @functools.wraps(fn)
    def reader(*args):
        source = _SOURCE.get()
        key = None if source is None else source.digest
        values = memo.get(key)
        if values is None:
            values = memo[key] = {}
            sets = [k for k in memo if k is not None]
            if len(sets) > _CACHED_SETS:
                del memo[sets[0]]
        if args not in values:
            values[args] = fn(*args)
        return values[args]

    reader.cache_clear = memo.clear  # type: ignore[attr-defined]
    return reader  # type: ignore[return-value]


def _rows(name: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    path = TABLES / name
    source = _SOURCE.get()
    if source is not None:
        data = source.bytes_of(name)
        if data is None:
            raise ConfigError("table file not in the run's inputs", file=path)
        fh = io.StringIO(data.decode("utf-8"), newline="")
    elif not path.is_file():
        raise ConfigError("table file not found", file=path)
    else:
        fh = path.open(newline="", encoding="utf-8")
    with fh:
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


@_cached
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


@_cached
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


@_cached
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


@_cached
def age_bins() -> Bins:
    """National age distribution of PNS (BKN statistics, June 2023)."""
    return _bins("age_distribution.csv", "age_from_years", "age_to_years")


@_cached
def tenure_bins() -> Bins:
    """National distribution of years of service of PNS (BKN statistics, June 2023)."""
    return _bins("tenure_distribution.csv", "tenure_from_years", "tenure_to_years")


@_cached
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


@_cached
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


@_cached
def retirement_age() -> np.ndarray:
    """Batas usia pensiun (years) by job-type code (PP 11/2017 Pasal 239; see the CSV)."""
    return _by_code("retirement_age.csv", "job_type", JOB_TYPES, "retirement_age_years", 40, 70)


@_cached
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


# --- careers (issue 15): ladders, golongan, kenaikan pangkat, talent boxes ---------------

#: Potensial levels of the 9-box, lowest first (PermenPANRB 3/2020 as amended, Pasal 17).
POTENSIAL_LEVELS = ("rendah", "menengah", "tinggi")
#: How a position level is filled.
FILLS = ("entry", "promotion", "open_selection", "vacancy_and_test")
KP_CAPS = ("education", "superior", "post_max", "jenjang_max")


@dataclass(frozen=True, slots=True)
class PositionLevel:
    """One level of a position ladder (``position_levels.csv``); golongan as steps 0-16."""

    level: str
    filled_from: str
    min_years_in_feeder: float
    min_years_service: float
    min_education: str
    baik_years: int
    max_age_years: float  # NaN: no age limit
    golongan_min: int
    golongan_max: int
    fill: str
    angka_kredit_per_year: float


@dataclass(frozen=True, slots=True)
class KPRule:
    """One kenaikan pangkat rule (``kenaikan_pangkat.csv``)."""

    min_years_in_pangkat: float
    min_years_in_post: float
    baik_years: int
    needs_angka_kredit: bool
    cap: str


def _whole(row: dict[str, str], column: str, name: str, line: int, lo: float, hi: float) -> int:
    value = _number(row, column, name, line)
    if not (value.is_integer() and lo <= value <= hi):
        raise ConfigError(
            f"{row[column]!r}; allowed: a whole number from {lo:g} to {hi:g}",
            file=TABLES / name,
            path=f"row {line}, {column}",
        )
    return int(value)


@_cached
def golongan_ladder() -> tuple[str, ...]:
    """The 17 golongan/ruang codes I/a .. IV/e in order (``golongan_ladder.csv``)."""
    name = "golongan_ladder.csv"
    rows = _rows(name, ("golongan", "step", "group", "pangkat"))
    codes = [row["golongan"] for row in rows]
    for line, row in enumerate(rows, 2):
        step = _whole(row, "step", name, line, 1, 17)
        code = row["golongan"]
        if (
            step != line - 1
            or row["group"] not in GOLONGAN
            or not code.startswith(f"{row['group']}/")
        ):
            raise ConfigError(
                f"{code!r} step {step} group {row['group']!r}; allowed: the steps 1-17 in order, "
                "each code '<group>/<letter>' of its group I-IV",
                file=TABLES / name,
                path=f"row {line}",
            )
    if len(codes) != 17 or len(set(codes)) != 17:
        raise ConfigError("need the 17 golongan I/a .. IV/e, each once", file=TABLES / name)
    return tuple(codes)


def _step(code: str, name: str, where: str) -> int:
    return _code(code, golongan_ladder(), name, where)


@_cached
def education_caps() -> dict[str, tuple[int, int]]:
    """Start and highest golongan step by KP reguler, by education (``education_caps.csv``)."""
    name = "education_caps.csv"
    caps: dict[str, tuple[int, int]] = {}
    for line, row in enumerate(
        _rows(name, ("education", "start_golongan", "max_golongan_reguler")), 2
    ):
        start = _step(row["start_golongan"], name, f"row {line}, start_golongan")
        top = _step(row["max_golongan_reguler"], name, f"row {line}, max_golongan_reguler")
        if top < start or row["education"] in caps:
            raise ConfigError(
                "a repeated education or a cap below the start; allowed: each education once, "
                "start_golongan <= max_golongan_reguler",
                file=TABLES / name,
                path=f"row {line}",
            )
        caps[row["education"]] = (start, top)
    return caps


@_cached
def position_ladders() -> dict[str, tuple[PositionLevel, ...]]:
    """Position ladders, each bottom first; a level is filled from the one below it."""
    name = "position_levels.csv"
    columns = (
        "ladder", "level", "rank", "filled_from", "min_years_in_feeder", "min_years_service",
        "min_education", "baik_years", "max_age_years", "golongan_min", "golongan_max", "fill",
        "angka_kredit_per_year",
    )  # fmt: skip
    ladders: dict[str, list[PositionLevel]] = {}
    for line, row in enumerate(_rows(name, columns), 2):
        where = f"row {line}"
        levels = ladders.setdefault(row["ladder"], [])
        rank = _whole(row, "rank", name, line, 1, 20)
        below = levels[-1].level if levels else ""
        lo = _step(row["golongan_min"], name, f"{where}, golongan_min")
        hi = _step(row["golongan_max"], name, f"{where}, golongan_max")
        age = math.nan if not row["max_age_years"].strip() else _whole(
            row, "max_age_years", name, line, 18, 70
        )  # fmt: skip
        entry = rank == 1
        if (
            rank != len(levels) + 1
            or row["filled_from"] != below
            or (row["fill"] == "entry") != entry
            or row["fill"] not in FILLS
            or row["min_education"] not in education_caps()
            or hi < lo
            or not 0 <= _number(row, "angka_kredit_per_year", name, line) <= 100
        ):
            raise ConfigError(
                f"level {row['level']!r}; allowed: ranks 1, 2, ... in order within a ladder, "
                f"filled_from the level below ({below!r}), fill 'entry' exactly at rank 1 "
                f"(fills: {', '.join(FILLS)}), a known min_education, golongan_min <= "
                "golongan_max, angka_kredit_per_year 0-100",
                file=TABLES / name,
                path=where,
            )
        levels.append(
            PositionLevel(
                row["level"], below, *(
                    float(_whole(row, c, name, line, 0, 45))
                    for c in ("min_years_in_feeder", "min_years_service")
                ),
                row["min_education"], _whole(row, "baik_years", name, line, 0, 10), age, lo, hi,
                row["fill"], _number(row, "angka_kredit_per_year", name, line),
            )
        )  # fmt: skip
    return {ladder: tuple(levels) for ladder, levels in ladders.items()}


@_cached
def kenaikan_pangkat_rules() -> dict[str, KPRule]:
    """Kenaikan pangkat rules by name (``kenaikan_pangkat.csv``)."""
    name = "kenaikan_pangkat.csv"
    columns = ("rule", "min_years_in_pangkat", "min_years_in_post", "baik_years")
    rules: dict[str, KPRule] = {}
    for line, row in enumerate(_rows(name, (*columns, "needs_angka_kredit", "cap")), 2):
        if row["rule"] in rules or row["cap"] not in KP_CAPS:
            raise ConfigError(
                f"rule {row['rule']!r}, cap {row['cap']!r}; allowed: each rule once, cap one "
                f"of {', '.join(KP_CAPS)}",
                file=TABLES / name,
                path=f"row {line}",
            )
        rules[row["rule"]] = KPRule(
            *(float(_whole(row, c, name, line, 0, 45)) for c in columns[1:3]),
            _whole(row, "baik_years", name, line, 0, 10),
            bool(_whole(row, "needs_angka_kredit", name, line, 0, 1)),
            row["cap"],
        )
    return rules


@_cached
def talent_boxes() -> tuple[np.ndarray, np.ndarray]:
    """The 9-box: ``boxes[kinerja, potensial]`` (levels lowest first) and the pool by box."""
    name = "talent_boxes.csv"
    boxes = np.zeros((3, 3), dtype=np.int8)
    pool = np.zeros(10, dtype=bool)
    for line, row in enumerate(_rows(name, ("kinerja", "potensial", "box", "succession_pool")), 2):
        k = _code(row["kinerja"], AXIS_LEVELS, name, f"row {line}, kinerja")
        p = _code(row["potensial"], POTENSIAL_LEVELS, name, f"row {line}, potensial")
        boxes[k, p] = _whole(row, "box", name, line, 1, 9)
        pool[boxes[k, p]] = bool(_whole(row, "succession_pool", name, line, 0, 1))
    if sorted(boxes.ravel().tolist()) != list(range(1, 10)):
        raise ConfigError("need all 9 cells, boxes 1-9 each once", file=TABLES / name)
    boxes.setflags(write=False)
    pool.setflags(write=False)
    return boxes, pool


@_cached
def angka_kredit_kp() -> np.ndarray:
    """Angka kredit a JF keahlian needs for the step from each golongan (NaN: none)."""
    name = "angka_kredit_kp.csv"
    need = np.full(17, np.nan)
    for line, row in enumerate(_rows(name, ("from_golongan", "to_golongan", "angka_kredit")), 2):
        lo = _step(row["from_golongan"], name, f"row {line}, from_golongan")
        hi = _step(row["to_golongan"], name, f"row {line}, to_golongan")
        credit = _number(row, "angka_kredit", name, line)
        if hi != lo + 1 or not 0 < credit <= 10_000 or not np.isnan(need[lo]):
            raise ConfigError(
                "allowed: one step up (to the next golongan), once per golongan, credit in "
                "(0, 10000]",
                file=TABLES / name,
                path=f"row {line}",
            )
        need[lo] = credit
    need.setflags(write=False)
    return need


@_cached
def kp_periods() -> tuple[tuple[str, int], ...]:
    """KP dates per year by regime start date (ISO), oldest first (``kp_periods.csv``)."""
    name = "kp_periods.csv"
    periods = []
    for line, row in enumerate(_rows(name, ("regime", "from_date", "dates_per_year")), 2):
        try:
            day = dt.date.fromisoformat(row["from_date"])
        except ValueError:
            day = None
        per_year = _whole(row, "dates_per_year", name, line, 1, 12)
        if day is None or 12 % per_year or (periods and day.isoformat() <= periods[-1][0]):
            raise ConfigError(
                f"{row['from_date']!r}, {per_year} dates; allowed: YYYY-MM-DD dates in "
                "increasing order, dates per year dividing 12",
                file=TABLES / name,
                path=f"row {line}",
            )
        periods.append((day.isoformat(), per_year))
    return tuple(periods)
