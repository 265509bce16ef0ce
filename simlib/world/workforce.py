"""Agencies' people: structure, hierarchy, grades and latent attributes, as numpy arrays.

A :class:`Workforce` is a struct of arrays indexed by employee (0..n-1): unit, supervisor,
job type, kelas jabatan, golongan, PNS/PPPK, sex, age, tenure, and latent attributes
(competence, intrinsic motivation, openness to change, conduct).
It is generated from a :class:`~simlib.params.scenario.Structure` (head, JPT posts, units led by
administrators, sub-units led by pengawas, functional and pelaksana staff) or read from an
organisation CSV. Age and tenure follow the national BKN figures in ``data/tables``; a
drawn starting age is below the person's batas usia pensiun (``retirement_age.csv``): the
national table, conditioned on being still in service.

Identifiers read from a CSV are personal data: they are replaced by row positions and
never written to outputs.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd

from simlib.core.domain import EMPLOYMENT, GOLONGAN, JOB_TYPES
from simlib.core.errors import ConfigError
from simlib.params.scenario import Structure
from simlib.params.scenario import Workforce as WorkforceParams
from simlib.params.tables import (
    Bins,
    age_bins,
    job_type_table,
    national_share,
    retirement_age,
    tenure_bins,
)

__all__ = ["ORG_CSV_COLUMNS", "PERSON_FIELDS", "Workforce", "generate", "read_org_csv"]

#: Required and optional columns of an organisation CSV.
ORG_CSV_COLUMNS = {
    "required": ("employee_id", "unit", "supervisor_id", "kelas_jabatan", "job_type"),
    "optional": ("golongan", "employment", "sex", "age_years", "tenure_years"),
}
MIN_ENTRY_AGE_YEARS = 18  # minimum age to apply as PNS (PP 11/2017 Pasal 23, M)
JOB = {name: code for code, name in enumerate(JOB_TYPES)}
#: Attributes of the person in a post (they move with the person; the rest belong to the post).
PERSON_FIELDS = (
    "female", "age_years", "tenure_years", "competence", "motivation", "openness", "conduct",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class Workforce:
    """Employees of one agency as arrays of equal length ``n``."""

    unit: np.ndarray  # int32 unit code; see unit_names
    supervisor: np.ndarray  # int32 index of the direct superior, -1 for the head
    job_type: np.ndarray  # int8 code into domain.JOB_TYPES
    kelas: np.ndarray  # int8 kelas jabatan 1-17
    golongan: np.ndarray  # int8 code into domain.GOLONGAN
    pppk: np.ndarray  # bool: PPPK (contract) rather than PNS
    female: np.ndarray  # bool
    age_years: np.ndarray  # float64
    tenure_years: np.ndarray  # float64
    competence: np.ndarray  # float64, SD units
    motivation: np.ndarray  # float64, SD units (intrinsic motivation)
    openness: np.ndarray  # float64, SD units (openness to change; low = dispositional resistance)
    conduct: np.ndarray  # float64, SD units (disposition behind perilaku kerja)
    unit_names: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.unit)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                if len(value) != n:
                    raise ValueError(f"workforce array {f.name} has length {len(value)} != {n}")
                value.setflags(write=False)

    @property
    def n(self) -> int:
        """Number of employees."""
        return len(self.unit)

    def moved(self, order: np.ndarray) -> Workforce:
        """People moved between posts: the person in post ``order[i]`` now holds post ``i``."""
        return replace(self, **{f: getattr(self, f)[order] for f in PERSON_FIELDS})

    def with_hires(self, positions: np.ndarray, hires: object) -> Workforce:
        """New people (attributes named as :data:`PERSON_FIELDS`) in ``positions``."""
        new = {}
        for f in PERSON_FIELDS:
            values = getattr(self, f).copy()
            values[positions] = getattr(hires, f)
            new[f] = values
        return replace(self, **new)

    def aged(self, years: float) -> Workforce:
        """Everyone ``years`` older and ``years`` longer in service."""
        return replace(
            self, age_years=self.age_years + years, tenure_years=self.tenure_years + years
        )

    def frame(self) -> pd.DataFrame:
        """The workforce as a DataFrame with readable categories."""
        return pd.DataFrame(
            {
                "employee": np.arange(self.n),
                "unit": np.asarray(self.unit_names, dtype=object)[self.unit],
                "supervisor": self.supervisor,
                "job_type": np.asarray(JOB_TYPES, dtype=object)[self.job_type],
                "kelas_jabatan": self.kelas,
                "golongan": np.asarray(GOLONGAN, dtype=object)[self.golongan],
                "employment": np.where(self.pppk, "pppk", "pns"),
                "sex": np.where(self.female, "F", "M"),
                "age_years": self.age_years,
                "tenure_years": self.tenure_years,
                "competence": self.competence,
                "motivation": self.motivation,
                "openness": self.openness,
            }
        )


def generate(
    structure: Structure, params: WorkforceParams, *, rng: np.random.Generator
) -> Workforce:
    """Generate an agency from its structure.

    Layout: employee 0 is the head of the agency; then the other JPT posts (reporting to
    the head); one administrator per unit (reporting to a JPT); ``subunits_per_unit``
    pengawas per unit (reporting to their administrator); then staff spread evenly over
    units and sub-units, each functional with probability ``fungsional_share``.

    With ``unit_heads`` false the units have no administrator: their pengawas, or else
    their staff, report to the JPT an administrator would have reported to (the head when
    there is only one JPT post), so a flat unit is a group of peers with no head in it.
    """
    n, j, u, s = (
        structure.employees,
        structure.jpt_posts,
        structure.units,
        structure.subunits_per_unit,
    )
    a = u if structure.unit_heads else 0
    n_staff = n - j - a - u * s
    admin0, peng0, staff0 = j, j + a, j + a + u * s

    supervisor = np.empty(n, dtype=np.int32)
    unit = np.empty(n, dtype=np.int32)
    job = np.empty(n, dtype=np.int8)
    supervisor[0] = -1
    supervisor[1:j] = 0
    unit[:j] = u  # the leadership ("pimpinan") unit
    job[:j] = JOB["jpt"]
    units = np.arange(u)
    # The post each unit's leader reports to: a JPT in turn (the head if it is the only one).
    above = 1 + units % (j - 1) if j > 1 else np.zeros(u, dtype=np.int64)
    lead = admin0 + units if a else above  # who leads each unit's first level below
    supervisor[admin0:peng0] = above[:a]
    unit[admin0:peng0] = units[:a]
    job[admin0:peng0] = JOB["administrator"]
    if s:
        peng_unit = np.repeat(units, s)
        supervisor[peng0:staff0] = lead[peng_unit]
        unit[peng0:staff0] = peng_unit
        job[peng0:staff0] = JOB["pengawas"]
    k = np.arange(n_staff)
    staff_unit = k % u
    unit[staff0:] = staff_unit
    if s:
        supervisor[staff0:] = peng0 + staff_unit * s + (k // u) % s
    else:
        supervisor[staff0:] = lead[staff_unit]
    functional = rng.random(n_staff) < structure.fungsional_share
    job[staff0:] = np.where(functional, JOB["fungsional"], JOB["pelaksana"])

    staff = np.zeros(n, dtype=bool)
    staff[staff0:] = True
    pppk = staff & (rng.random(n) < structure.pppk_share)
    female = rng.random(n) < structure.female_share
    names = (*(f"Unit {i + 1:02d}" for i in range(u)), "Pimpinan")
    return _complete(
        unit=unit,
        supervisor=supervisor,
        job_type=job,
        kelas=None,
        golongan=None,
        pppk=pppk,
        female=female,
        age=None,
        tenure=None,
        unit_names=names,
        params=params,
        rng=rng,
    )


def _complete(
    *,
    unit: np.ndarray,
    supervisor: np.ndarray,
    job_type: np.ndarray,
    kelas: np.ndarray | None,
    golongan: np.ndarray | None,
    pppk: np.ndarray,
    female: np.ndarray,
    age: np.ndarray | None,
    tenure: np.ndarray | None,
    unit_names: tuple[str, ...],
    params: WorkforceParams,
    rng: np.random.Generator,
) -> Workforce:
    """Draw whatever is not given, in a fixed order, and build the Workforce."""
    n = len(unit)
    table = job_type_table()
    # Draw every variate whether or not it is used, so that the stream stays aligned.
    u_kelas, u_gol, u_age, u_age_pos, u_tenure, u_tenure_pos = rng.random((6, n))
    z = rng.standard_normal((4, n))

    if kelas is None:
        lo = table.kelas_min[job_type].astype(np.int64)
        width = table.kelas_max[job_type].astype(np.int64) - lo + 1
        kelas = (lo + np.floor(u_kelas * width)).astype(np.int8)
    if golongan is None:
        cum = np.cumsum(table.golongan_p[job_type], axis=1)
        golongan = np.minimum((u_gol[:, None] > cum).sum(axis=1), 3).astype(np.int8)
    if age is None:
        age = _from_bins(age_bins(), u_age, u_age_pos, below=retirement_age()[job_type])
        if tenure is not None:  # a CSV gave years of service but no age
            age = np.maximum(age, tenure + MIN_ENTRY_AGE_YEARS)
    if tenure is None:
        tenure = _tenure_given_age(tenure_bins(), age, u_tenure, u_tenure_pos)

    competence = params.competence.mean + params.competence.sd * z[0]
    motivation_z = z[1]
    motivation = params.motivation.mean + params.motivation.sd * motivation_z
    openness = params.openness.mean + params.openness.sd * z[2]
    rho = params.conduct_motivation_corr
    conduct = rho * motivation_z + np.sqrt(1.0 - rho**2) * z[3]
    return Workforce(
        unit=unit.astype(np.int32),
        supervisor=supervisor.astype(np.int32),
        job_type=job_type.astype(np.int8),
        kelas=np.asarray(kelas, dtype=np.int8),
        golongan=np.asarray(golongan, dtype=np.int8),
        pppk=np.asarray(pppk, dtype=bool),
        female=np.asarray(female, dtype=bool),
        age_years=np.asarray(age, dtype=np.float64),
        tenure_years=np.asarray(tenure, dtype=np.float64),
        competence=competence,
        motivation=motivation,
        openness=openness,
        conduct=conduct,
        unit_names=unit_names,
    )


def _from_bins(
    bins: Bins, u_bin: np.ndarray, u_pos: np.ndarray, *, below: np.ndarray | None = None
) -> np.ndarray:
    """Whole-year bins -> continuous years: pick a bin by share, then a point inside it.

    With ``below`` (years, one per person), the bins are cut at that age and their shares
    renormalised: the histogram conditioned on being younger, with the same bins otherwise.
    A person at the retirement age would have retired at the last annual close
    (:func:`simlib.world.flows.leavers` retires ``age + 1 >= retirement age``), so no one
    starts there.
    """
    if below is None:
        k = np.minimum(
            np.searchsorted(np.cumsum(bins.share), u_bin, side="right"), len(bins.share) - 1
        )
        return bins.lo[k] + u_pos * (bins.hi[k] + 1 - bins.lo[k])
    below = np.asarray(below, dtype=np.float64)
    top = np.minimum(bins.hi[None, :] + 1.0, below[:, None])  # (n, bins): where a bin ends
    width = bins.hi + 1.0 - bins.lo
    kept = bins.share[None, :] * np.clip((top - bins.lo[None, :]) / width[None, :], 0.0, 1.0)
    cum = np.cumsum(kept, axis=1)
    if (cum[:, -1] <= 0).any():
        raise ConfigError(
            "no age in the table is below a retirement age; allowed: an age table with "
            "shares below every batas usia pensiun"
        )
    target = u_bin * cum[:, -1]
    k = np.minimum((target[:, None] >= cum).sum(axis=1), len(bins.share) - 1)
    rows = np.arange(len(below))
    return bins.lo[k] + u_pos * (top[rows, k] - bins.lo[k])


def _tenure_given_age(bins: Bins, age: np.ndarray, u: np.ndarray, u_pos: np.ndarray) -> np.ndarray:
    """Years of service from the national shares, restricted to what the age allows."""
    max_tenure = np.maximum(age - MIN_ENTRY_AGE_YEARS, 0.0)
    feasible = bins.lo[None, :] <= max_tenure[:, None]
    p = np.where(feasible, bins.share[None, :], 0.0)
    p[:, 0] = np.where(feasible.any(axis=1), p[:, 0], 1.0)
    cum = np.cumsum(p, axis=1) / p.sum(axis=1, keepdims=True)
    k = np.minimum((u[:, None] > cum).sum(axis=1), len(bins.share) - 1)
    hi = np.minimum(bins.hi[k] + 1, max_tenure)
    return np.minimum(bins.lo[k] + u_pos * np.maximum(hi - bins.lo[k], 0.0), max_tenure)


def read_org_csv(
    path: str | Path,
    params: WorkforceParams,
    *,
    rng: np.random.Generator,
    data: bytes | None = None,
) -> Workforce:
    """Read an agency's structure from a CSV (one row per employee).

    ``data``, when given, is the file's content as already read (a run's inputs carry it,
    see :mod:`simlib.params.resolve`); the file is then not opened and ``path`` only names
    it in messages.

    Required columns: ``employee_id, unit, supervisor_id, kelas_jabatan, job_type``
    (``supervisor_id`` empty for the head). Optional: ``golongan`` (I-IV), ``employment``
    (pns/pppk), ``sex`` (F/M), ``age_years``, ``tenure_years``; what is missing is drawn
    from the national tables (``national_shares.csv``; PPPK only among staff). Latent
    attributes are always drawn.

    Raises
    ------
    ConfigError
        Missing columns, duplicate or empty ids, unknown supervisors, a supervisor cycle,
        or a value outside what is allowed; the message names the row and column.
    """
    path = Path(path)
    if data is None and not path.is_file():
        raise ConfigError("organisation CSV not found", file=path)
    try:
        source = path if data is None else io.BytesIO(data)
        df = pd.read_csv(source, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not a readable CSV ({exc.__class__.__name__})", file=path) from None
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in ORG_CSV_COLUMNS["required"] if c not in df.columns]
    if missing:
        raise ConfigError(
            f"missing column(s) {', '.join(missing)}; allowed: a header with the required "
            f"columns {', '.join(ORG_CSV_COLUMNS['required'])} and optionally "
            f"{', '.join(ORG_CSV_COLUMNS['optional'])}",
            file=path,
            path="header",
        )
    known = set(ORG_CSV_COLUMNS["required"]) | set(ORG_CSV_COLUMNS["optional"])
    extra = [c for c in df.columns if c not in known]
    if extra:
        raise ConfigError(
            f"unknown column {extra[0]!r}; allowed: {', '.join(sorted(known))}", file=path
        )
    if df.empty:
        raise ConfigError("no employees (the file has only a header)", file=path)
    for column in df.columns:
        df[column] = df[column].str.strip()
    line = np.arange(len(df)) + 2  # header is line 1

    def fail(i: int, column: str, message: str) -> ConfigError:
        return ConfigError(message, file=path, path=f"row {line[i]}, {column}")

    ids = df["employee_id"].to_numpy()
    empty = np.flatnonzero(ids == "")
    if empty.size:
        raise fail(empty[0], "employee_id", "empty id; every row needs an employee_id")
    dup = df["employee_id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise fail(i, "employee_id", f"duplicate id {ids[i]!r}; allowed: unique ids")
    index = pd.Index(ids)
    sup_ids = df["supervisor_id"].to_numpy()
    supervisor = index.get_indexer(sup_ids).astype(np.int32)
    unknown = np.flatnonzero((supervisor < 0) & (sup_ids != ""))
    if unknown.size:
        i = unknown[0]
        raise fail(
            i,
            "supervisor_id",
            f"unknown supervisor {sup_ids[i]!r}; allowed: an employee_id in this file, "
            "or empty for the head of the agency",
        )
    _check_acyclic(supervisor, sup_ids, fail)

    job_type = _codes(df["job_type"], JOB_TYPES, "job_type", fail)
    kelas = _numbers(df["kelas_jabatan"], "kelas_jabatan", 1, 17, fail, whole=True)
    golongan = _codes(df["golongan"], GOLONGAN, "golongan", fail) if "golongan" in df else None
    n = len(df)
    # Missing columns are drawn with the national shares (BKN statistics, June 2023).
    draws = rng.random((2, n))
    staff = job_type >= JOB["fungsional"]
    pppk = (
        _codes(df["employment"], EMPLOYMENT, "employment", fail) == 1
        if "employment" in df
        else staff & (draws[0] < national_share("pppk"))
    )
    female = (
        _codes(df["sex"], ("M", "F"), "sex", fail) == 1
        if "sex" in df
        else draws[1] < national_share("female")
    )
    age = _numbers(df["age_years"], "age_years", 18, 70, fail) if "age_years" in df else None
    tenure = (
        _numbers(df["tenure_years"], "tenure_years", 0, 52, fail) if "tenure_years" in df else None
    )
    if age is not None and tenure is not None:
        bad = np.flatnonzero(tenure > age - MIN_ENTRY_AGE_YEARS)
        if bad.size:
            raise fail(
                bad[0],
                "tenure_years",
                f"{tenure[bad[0]]:g} years of service at age {age[bad[0]]:g}; allowed: at most "
                f"age - {MIN_ENTRY_AGE_YEARS}",
            )
    codes, names = pd.factorize(df["unit"], sort=True)
    if (df["unit"] == "").any():
        raise fail(int(np.flatnonzero(df["unit"] == "")[0]), "unit", "every row needs a unit")
    return _complete(
        unit=codes.astype(np.int32),
        supervisor=supervisor,
        job_type=job_type,
        kelas=kelas.astype(np.int8),
        golongan=golongan,
        pppk=pppk,
        female=female,
        age=age,
        tenure=tenure,
        unit_names=tuple(str(x) for x in names),
        params=params,
        rng=rng,
    )


def _check_acyclic(supervisor: np.ndarray, sup_ids: np.ndarray, fail) -> None:
    """Every chain of superiors must end at a head (pointer doubling, vectorised)."""
    n = len(supervisor)
    roots = supervisor < 0
    if not roots.any():
        raise fail(
            0,
            "supervisor_id",
            "no head of agency; allowed: exactly the head's row with an empty supervisor_id",
        )
    top = np.where(roots, np.arange(n), supervisor)
    for _ in range(int(np.ceil(np.log2(n + 1))) + 1):
        top = top[top]
    cyclic = np.flatnonzero(~roots[top])
    if cyclic.size:
        i = cyclic[0]
        raise fail(
            i,
            "supervisor_id",
            f"{sup_ids[i]!r} makes a supervisor cycle (following superiors never reaches the "
            "head); allowed: a chain of superiors ending at the head (empty supervisor_id)",
        )


def _codes(column: pd.Series, allowed: tuple[str, ...], name: str, fail) -> np.ndarray:
    lookup = {v: i for i, v in enumerate(allowed)}
    codes = column.map(lookup)
    bad = np.flatnonzero(codes.isna().to_numpy())
    if bad.size:
        i = bad[0]
        raise fail(i, name, f"{column.iloc[i]!r} not allowed; allowed: {', '.join(allowed)}")
    return codes.to_numpy(dtype=np.int8)


def _numbers(column: pd.Series, name: str, lo: float, hi: float, fail, *, whole=False):
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < lo) | (values > hi)
    if whole:
        bad |= np.isfinite(values) & (values != np.round(values))
    idx = np.flatnonzero(bad)
    if idx.size:
        i = idx[0]
        kind = "a whole number" if whole else "a number"
        raise fail(i, name, f"{column.iloc[i]!r} not allowed; allowed: {kind} from {lo} to {hi}")
    return values
