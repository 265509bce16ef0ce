"""The run store: one Parquet file per run, a manifest, and tidy frames read back.

A store is a folder::

    STORE/
      manifest.json        experiment, arms, uncertainties and their samples, planned runs
                           (key, arm, sample, replication), code version, packages, input
                           hashes, timings of the sweep; written first, before any run
      runs/<key>.parquet   one file per completed run (outcomes, ledger and group summaries
                           in one long table; the run key in the file's key-value metadata)
      failed/<key>.json    the error of a run that failed
      log.jsonl            one line per finished run: key, status, seconds (append-only;
                           rebuilt from the run files on resume)
      lock                 locked (``flock``) by the sweep writing the store

A run's *key* is a hash of its resolved inputs (scenario and policy schedule), seed,
replication and code version (:func:`run_key`), so the same run always lands in the same
file. Every file is written under a temporary name, fsync'ed and renamed into place (and
the folder fsync'ed): a sweep killed at any moment, or a power cut, leaves whole files or
none. ``--resume`` checks every run file (a readable Parquet footer holding its own key,
:func:`check_run_file`) and runs again the keys with no file or a damaged one. A run file
holds only what the run computed (no timings, no dates), so the same run gives the same
bytes whatever the executor, the number of workers or how often the sweep was interrupted.

:func:`open_store` reads a store back as tidy frames: :meth:`Store.outcomes`,
:meth:`Store.ledger`, :meth:`Store.groups` (winners and losers), :meth:`Store.runs`
and :meth:`Store.samples`, each ordered by arm, sample and replication, never by the
order in which runs finished. A damaged run file is left out of the frames and shown as
``damaged`` in :meth:`Store.runs` (:attr:`Store.damaged` names it).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from simlib.core.domain import PREDIKAT
from simlib.core.errors import ConfigError
from simlib.engine.model import RunResult
from simlib.store.provenance import stable_hash
from simlib.store.rundir import foreign_entries, write_bytes_atomic

__all__ = [
    "GROUP_DIMENSIONS",
    "GROUP_METRICS",
    "LEDGER_METRICS",
    "Store",
    "append_log",
    "check_run_file",
    "completed_keys",
    "damaged_runs",
    "lock_store",
    "open_store",
    "read_manifest",
    "rebuild_log",
    "remove_partial_files",
    "run_key",
    "run_table",
    "store_foreign",
    "write_json",
    "write_run_file",
]

MANIFEST = "manifest.json"
RUNS = "runs"
FAILED = "failed"
LOG = "log.jsonl"
LOCK = "lock"
#: Key-value metadata entry of a run file that names its run.
KEY_METADATA = b"simlib.run_key"
#: Entries a sweep writes into a store (temporary names included), manifest aside.
_LAYOUT = (
    re.compile(rf"{re.escape(LOG)}|{LOCK}|\.{re.escape(MANIFEST)}\.[^/]+\.tmp"),
    re.compile(rf"{RUNS}/(\.[0-9a-f]{{24}}\.parquet\.[^/]+\.tmp|[0-9a-f]{{24}}\.parquet)"),
    re.compile(rf"{FAILED}/(\.[0-9a-f]{{24}}\.json\.[^/]+\.tmp|[0-9a-f]{{24}}\.json)"),
)

#: Workforce columns that winners and losers are counted by (name in the store -> column).
GROUP_DIMENSIONS = {"grade": "golongan", "job_type": "job_type", "sex": "sex", "unit": "unit"}
#: Group metrics with their units.
GROUP_METRICS = {
    "employees": "employees",
    "pay_idr_per_employee": "IDR per employee per year (tukin paid + team bonus)",
    **{f"share_{p}": "share of employee-months paid under this predikat" for p in PREDIKAT},
}
#: Numeric ledger columns kept in the store (all IDR except ``employees``).
LEDGER_METRICS = (
    "employees",
    "entitled_idr",
    "performance_cut_idr",
    "absence_cut_idr",
    "due_idr",
    "cap_cut_idr",
    "paid_idr",
    "budget_cap_idr",
    "budget_spent_ytd_idr",
    "team_incentive_idr",
    "training_cost_idr",
    "change_cost_idr",
)

#: Columns of a run file; ``table`` is outcomes, ledger or groups.
_TEXT = ("table", "agency", "policy", "period_kind", "period", "metric", "dimension", "group")
_SCHEMA = pa.schema(
    [(c, pa.dictionary(pa.int32(), pa.string())) for c in _TEXT]
    + [("t_month", pa.int64()), ("value", pa.float64())]
)
_RUN_COLUMNS = ["key", "arm", "sample", "replication", "seed"]


def run_key(inputs_sha256: str, *, seed: int, replication: int, code: str) -> str:
    """Key of one run: a hash of its resolved inputs, seed, replication and code version.

    Parameters
    ----------
    inputs_sha256
        :func:`~simlib.store.provenance.stable_hash` of the resolved inputs: the scenario, the
        policy schedule and the content of every file the engine reads
        (:func:`~simlib.store.provenance.resolved_inputs`).
    seed
        Root seed of the experiment.
    replication
        Replication number (replication *r* of every arm shares random numbers).
    code
        Code key: the git commit, with a hash of local changes to ``simlib/`` when there
        are any (``code_version()["key"]``).

    Returns
    -------
    str
        24 hexadecimal characters (96 bits of SHA-256), used as the run's file name.
    """
    whole = stable_hash({"inputs": inputs_sha256, "seed": seed, "rep": replication, "code": code})
    return whole[:24]


def run_table(result: RunResult, *, groups: bool) -> pa.Table:
    """One run's results as a single long Arrow table (what a run file holds).

    Parameters
    ----------
    result
        The run. Its ``employee_ledger`` is needed when ``groups`` is true.
    groups
        Also summarise pay and predikat by grade, job type, sex and unit, per year.

    Returns
    -------
    pyarrow.Table
        Columns ``table, agency, policy, period_kind, period, metric, dimension, group,
        t_month, value``; ``table`` is ``outcomes``, ``ledger`` (one row per month and
        ledger column) or ``groups``.
    """
    parts = [_outcome_part(result.outcomes), _ledger_part(result.ledger)]
    if groups:
        if result.employee_ledger is None:
            raise ValueError("group summaries need the employee ledger (outputs.employee_ledger)")
        parts.append(_group_part(result))
    columns: dict[str, Any] = {}
    for name in _TEXT:
        columns[name] = _dictionary([p[name] for p in parts])
    columns["t_month"] = pa.array(np.concatenate([p["t_month"] for p in parts]), pa.int64())
    columns["value"] = pa.array(np.concatenate([p["value"] for p in parts]), pa.float64())
    return pa.table(columns, schema=_SCHEMA)


def _dictionary(pieces: list[tuple[np.ndarray, list[str]]]) -> pa.DictionaryArray:
    """Concatenate (codes, categories) pieces into one dictionary array."""
    categories: list[str] = []
    index: dict[str, int] = {}
    codes = []
    for piece_codes, piece_cats in pieces:
        remap = np.empty(len(piece_cats), dtype=np.int32)
        for i, cat in enumerate(piece_cats):
            remap[i] = index.setdefault(cat, len(categories))
            if remap[i] == len(categories):
                categories.append(cat)
        codes.append(remap[piece_codes] if len(piece_cats) else piece_codes.astype(np.int32))
    return pa.DictionaryArray.from_arrays(
        pa.array(np.concatenate(codes), pa.int32()), pa.array(categories, pa.string())
    )


def _codes(values: Any) -> tuple[np.ndarray, list[str]]:
    codes, cats = pd.factorize(np.asarray(values, dtype=object), sort=False)
    return codes.astype(np.int32), [str(c) for c in cats]


def _constant(text: str, n: int) -> tuple[np.ndarray, list[str]]:
    return np.zeros(n, dtype=np.int32), [text]


def _outcome_part(out: pd.DataFrame) -> dict[str, Any]:
    n = len(out)
    part = {c: _codes(out[c]) for c in ("agency", "policy", "period_kind", "period", "metric")}
    part.update(table=_constant("outcomes", n), dimension=_constant("", n), group=_constant("", n))
    part["t_month"] = out["t_month"].to_numpy(dtype=np.int64)
    part["value"] = out["value"].to_numpy(dtype=np.float64)
    return part


def _ledger_part(ledger: pd.DataFrame) -> dict[str, Any]:
    metrics = [m for m in LEDGER_METRICS if m in ledger.columns]
    k, rows = len(metrics), len(ledger)
    n = k * rows

    def repeat(col: str) -> tuple[np.ndarray, list[str]]:
        codes, cats = _codes(ledger[col])
        return np.repeat(codes, k), cats

    part = {
        "table": _constant("ledger", n),
        "agency": repeat("agency"),
        "policy": repeat("policy"),
        "period_kind": _constant("month", n),
        "period": repeat("month"),
        "metric": (np.tile(np.arange(k, dtype=np.int32), rows), metrics),
        "dimension": _constant("", n),
        "group": _constant("", n),
        "t_month": np.repeat(ledger["t_month"].to_numpy(dtype=np.int64), k),
        "value": ledger[metrics].to_numpy(dtype=np.float64).reshape(-1),
    }
    return part


def _group_part(result: RunResult) -> dict[str, Any]:
    """Pay and predikat shares by year and workforce group, vectorised with bincount.

    Employee-months are first summed per (year, employee), then per group of each
    dimension: two passes of ``bincount`` over the employee ledger in all.
    """
    el, wf = result.employee_ledger, result.workforce
    start_year = int(str(result.meta.get("start_date", "2000"))[:4])
    n_pred = len(PREDIKAT)
    cols: dict[str, list[np.ndarray]] = {
        c: [] for c in ("agency", "period", "metric", "dimension", "group")
    }
    t_month: list[np.ndarray] = []
    values: list[np.ndarray] = []
    group_index: dict[str, int] = {}
    n_years_max = 0
    agencies = list(pd.unique(wf["agency"]))
    if len(agencies) == 1:
        el_agency = np.zeros(len(el), dtype=np.int64)
    else:
        el_agency, agencies = pd.factorize(el["agency"])
    pred_all = np.asarray(el["predikat"].cat.codes, dtype=np.int64)
    pay_all = el["paid_idr"].to_numpy(dtype=np.float64) + el["team_incentive_idr"].to_numpy(
        dtype=np.float64
    )
    month_all = el["t_month"].to_numpy(dtype=np.int64)
    emp_all = el["employee"].to_numpy(dtype=np.int64)
    for a, agency in enumerate(agencies):
        rows = el_agency == a
        staff = wf[wf["agency"] == agency] if len(agencies) > 1 else wf
        emp, year = emp_all[rows], month_all[rows] // 12
        size_e = max(int(emp.max()) + 1, int(staff["employee"].max()) + 1)
        n_years = int(year.max()) + 1
        cell = year * size_e + emp
        # Per (year, employee): months present, pay, and months under each predikat.
        months = np.bincount(cell, minlength=n_years * size_e).astype(np.float64)
        pay = np.bincount(cell, weights=pay_all[rows], minlength=n_years * size_e)
        by_pred = np.bincount(
            cell * n_pred + pred_all[rows], minlength=n_years * size_e * n_pred
        ).astype(np.float64)
        present = (months > 0).astype(np.float64)
        year_of = np.repeat(np.arange(n_years), size_e)
        emp_of = np.tile(np.arange(size_e), n_years)
        staff_emp = staff["employee"].to_numpy(dtype=np.int64)
        for d, column in enumerate(GROUP_DIMENSIONS.values()):
            encoded = pa.array(staff[column].astype(str)).dictionary_encode()
            codes = encoded.indices.to_numpy(zero_copy_only=False)
            cats = encoded.dictionary.to_pylist()
            # Employees beyond the initial workforce (later hires) form a group of their own.
            lookup = np.full(size_e, len(cats), dtype=np.int64)
            lookup[staff_emp] = codes
            cats = [*map(str, cats), "later hire"]
            n_groups = len(cats)
            target = year_of * n_groups + lookup[emp_of]
            size = n_years * n_groups
            heads = np.bincount(target, weights=present, minlength=size)
            months_in = np.bincount(target, weights=months, minlength=size)
            paid = np.bincount(target, weights=pay, minlength=size)
            shares = np.stack(
                [
                    np.bincount(target, weights=by_pred[p::n_pred], minlength=size)
                    for p in range(n_pred)
                ]
            )
            keep = np.flatnonzero(months_in > 0)
            values_here = np.concatenate(
                [heads[keep], paid[keep] / heads[keep], *(shares[:, keep] / months_in[keep])]
            )
            # Codes into category lists built here: no strings are factorised again.
            group_codes = np.array([group_index.setdefault(c, len(group_index)) for c in cats])
            k, m = len(keep), len(GROUP_METRICS)
            years = np.tile(keep // n_groups, m)
            n_years_max = max(n_years_max, n_years)
            cols["agency"].append(np.full(k * m, a, dtype=np.int32))
            cols["dimension"].append(np.full(k * m, d, dtype=np.int32))
            cols["metric"].append(np.repeat(np.arange(m, dtype=np.int32), k))
            cols["group"].append(np.tile(group_codes[keep % n_groups], m).astype(np.int32))
            cols["period"].append(years.astype(np.int32))
            t_month.append(12 * years + 11)
            values.append(values_here)
    n = sum(len(v) for v in values)
    categories = {
        "agency": [str(x) for x in agencies],
        "dimension": list(GROUP_DIMENSIONS),
        "metric": list(GROUP_METRICS),
        "group": list(group_index),
        "period": [str(start_year + y) for y in range(n_years_max)],
    }
    part: dict[str, Any] = {
        c: (np.concatenate(v) if v else np.zeros(0, np.int32), categories[c])
        for c, v in cols.items()
    }
    part.update(
        table=_constant("groups", n),
        policy=_constant("", n),
        period_kind=_constant("year", n),
        t_month=np.concatenate(t_month).astype(np.int64) if t_month else np.zeros(0, np.int64),
        value=np.concatenate(values) if values else np.zeros(0),
    )
    return part


def write_run_file(
    store: str | Path, key: str, table: pa.Table, *, timings: dict[str, float] | None = None
) -> Path:
    """Write one run's table to ``runs/<key>.parquet``: temporary name, fsync, rename.

    The run key goes into the file's key-value metadata (so a resumed sweep can tell the
    file is this run's). The bytes depend only on the table and the key (no timestamps),
    so the same run always gives the same file. ``timings["fsync_s"]``, if given, gets
    the seconds spent in fsync.
    """
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(
        sink, table.schema, compression="snappy", write_statistics=False, store_schema=False
    ) as writer:
        writer.write_table(table)
        writer.add_key_value_metadata({KEY_METADATA.decode(): key})
    data = sink.getvalue().to_pybytes()
    target = Path(store) / RUNS / f"{key}.parquet"
    synced = write_bytes_atomic(target, data)
    if timings is not None:
        timings["fsync_s"] = synced
    return target


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON: temporary name, fsync, rename, fsync of the folder."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    write_bytes_atomic(Path(path), text.encode())


def check_run_file(path: str | Path, key: str) -> str:
    """What is wrong with a run file, or ``""`` if it is whole and holds run ``key``.

    Checked: the Parquet footer can be read, and the key recorded in it (files written
    before keys were recorded have none, and pass on their footer alone) is ``key``.
    """
    try:
        meta = pq.read_metadata(path)
    except (OSError, pa.ArrowException, ValueError) as exc:
        return f"unreadable ({type(exc).__name__})"
    recorded = (meta.metadata or {}).get(KEY_METADATA)
    if recorded is not None and recorded.decode(errors="replace") != key:
        return f"holds run {recorded.decode(errors='replace')[:24]!r}, not this run"
    return ""


def damaged_runs(store: str | Path, keys: Iterable[str]) -> dict[str, str]:
    """Run files among ``keys`` (which have a file) that fail :func:`check_run_file`."""
    folder = Path(store) / RUNS
    out = {}
    for key in keys:
        problem = check_run_file(folder / f"{key}.parquet", key)
        if problem:
            out[key] = problem
    return out


def append_log(store: str | Path, record: dict[str, Any]) -> None:
    """Append one finished run's line to ``log.jsonl`` (one ``write`` call, O_APPEND)."""
    line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode()
    fd = os.open(Path(store) / LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_manifest(store: str | Path) -> dict[str, Any]:
    """The manifest of a store.

    Raises
    ------
    ConfigError
        If ``store`` is not a run store (no readable ``manifest.json``).
    """
    path = Path(store) / MANIFEST
    if not path.is_file():
        raise ConfigError(
            "not a run store (no manifest.json); allowed: a folder written by 'simlib sweep'",
            file=store,
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"unreadable manifest ({exc.__class__.__name__})", file=path) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("runs"), list):
        raise ConfigError(
            "not a sweep's manifest (no list of runs); allowed: a folder written by 'simlib sweep'",
            file=path,
        )
    return manifest


def completed_keys(store: str | Path) -> set[str]:
    """Keys of the runs that have a complete file in ``runs/``."""
    folder = Path(store) / RUNS
    if not folder.is_dir():
        return set()
    return {p.stem for p in folder.glob("*.parquet") if not p.name.startswith(".")}


def rebuild_log(store: str | Path, keys: Iterable[str]) -> int:
    """Log every run of ``keys`` that has a file but no ``ok`` line in ``log.jsonl``.

    A sweep whose main process died loses the lines of runs its workers finished; the
    lines added say ``"rebuilt": true`` and carry no timings. Returns how many were added.
    """
    logged = _ok_log(Path(store))
    added = 0
    for key in keys:
        if key not in logged:
            append_log(store, {"key": key, "status": "ok", "error": "", "rebuilt": True})
            added += 1
    return added


def _ok_log(store: Path) -> dict[str, dict[str, Any]]:
    path = store / LOG
    out: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:  # a line torn by a crash of the machine: skip it
            continue
        if isinstance(rec, dict) and rec.get("status") == "ok" and "key" in rec:
            out[rec["key"]] = rec
    return out


#: Temporary names the store's writers use (``write_bytes_atomic``: ``.<name>.<random>.tmp``).
_PARTIAL = {RUNS: ".*.parquet.*.tmp", FAILED: ".*.json.*.tmp", ".": f".{MANIFEST}.*.tmp"}


def remove_partial_files(store: str | Path) -> int:
    """Delete temporary files a killed sweep left behind; returns how many.

    Only the store's own temporary names are removed; call it while holding the store's
    lock (:func:`lock_store`), so that no other sweep is writing them.
    """
    removed = 0
    for sub, pattern in _PARTIAL.items():
        folder = Path(store) / sub
        for tmp in folder.glob(pattern) if folder.is_dir() else ():
            if tmp.is_file():
                tmp.unlink(missing_ok=True)
                removed += 1
    return removed


def store_foreign(folder: Path) -> list[str] | None:
    """``owned`` for ``sweep --store`` (see :func:`simlib.store.rundir.claim_dir`).

    A folder is a store if it holds a sweep's manifest; a sweep only adds to it, so files
    added by hand are left alone and not reported. A folder with no manifest but only
    what a sweep writes (``runs/``, ``failed/``, ``log.jsonl``, ``lock``) is what a sweep
    killed before its first manifest left (older versions wrote ``runs/`` first).
    """
    manifest = folder / MANIFEST
    if manifest.exists():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        ok = isinstance(data, dict) and isinstance(data.get("runs"), list) and "experiment" in data
        return [] if ok else None

    def ours(rel: str) -> bool:
        return any(p.fullmatch(rel) for p in _LAYOUT)

    entries = foreign_entries(folder, set(), dirs=lambda rel: rel in (RUNS, FAILED))
    return [] if all(ours(e) for e in entries) else None


@contextlib.contextmanager
def lock_store(store: str | Path) -> Iterator[None]:
    """Hold the store's OS file lock (``flock`` on ``STORE/lock``) for a sweep.

    Raises
    ------
    ConfigError
        If another process holds it (another sweep is writing the store).
    """
    path = Path(store) / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise ConfigError(
                f"another sweep (process {holder}) is writing this store; allowed: wait for "
                "it to end, or a new --store folder",
                file=store,
            )
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows: a byte-range lock instead
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@dataclass(frozen=True)
class Store:
    """A run store opened for reading (see :func:`open_store`).

    Attributes
    ----------
    path
        The store's folder.
    manifest
        The manifest: experiment name and file, ``baseline`` arm, ``arms`` (name, label,
        description, variants, scenario changes), ``uncertainties``, ``samples`` (values
        of each uncertainty by sample), planned ``runs``, code version, packages, input
        hashes and timings.
    """

    path: Path
    manifest: dict[str, Any]

    @property
    def baseline(self) -> str:
        """Name of the baseline arm."""
        return self.manifest["baseline"]

    @property
    def arms(self) -> list[str]:
        """Arm names in the experiment's order."""
        return [a["name"] for a in self.manifest["arms"]]

    def planned(self) -> pd.DataFrame:
        """Every planned run: key, arm, sample, replication, seed (in plan order)."""
        plan = pd.DataFrame(self.manifest["runs"], columns=[*_RUN_COLUMNS, "inputs_sha256"])
        return plan[_RUN_COLUMNS].astype({"sample": "int64", "replication": "int64"})

    def runs(self) -> pd.DataFrame:
        """One row per planned run with its status.

        Returns
        -------
        pandas.DataFrame
            Columns ``key, arm, sample, replication, seed, status`` (``ok``, ``failed``,
            ``damaged`` (a run file that cannot be read or holds another run; ``simlib
            sweep --resume`` runs it again) or ``pending``), ``error`` (empty unless failed
            or damaged), ``seconds`` (simulation plus writing, NaN when not logged) and its
            parts ``simulate_s``, ``store_s`` (= ``table_s`` to build the run's table +
            ``write_s`` to write it, of which ``fsync_s`` to make it durable).
        """
        plan = self.planned()
        done = completed_keys(self.path)
        damaged = self.damaged
        failed = self._failures()
        log = self._log()
        status = np.where(
            plan["key"].isin(done), "ok", np.where(plan["key"].isin(failed), "failed", "pending")
        )
        status = np.where(plan["key"].isin(damaged), "damaged", status)
        plan["status"] = status
        plan["error"] = [
            failed.get(k, "") if s == "failed" else damaged.get(k, "") if s == "damaged" else ""
            for k, s in zip(plan["key"], status, strict=True)
        ]
        for col in ("simulate_s", "table_s", "write_s", "store_s", "fsync_s"):
            plan[col] = plan["key"].map(lambda k, c=col: log.get(k, {}).get(c, np.nan))
        plan["seconds"] = plan["simulate_s"] + plan["store_s"]
        return plan

    @cached_property
    def damaged(self) -> dict[str, str]:
        """Planned runs whose file is damaged: key -> what is wrong (left out of frames)."""
        planned = {r["key"] for r in self.manifest.get("runs", [])}
        return damaged_runs(self.path, sorted(planned & completed_keys(self.path)))

    def _failures(self) -> dict[str, str]:
        folder = self.path / FAILED
        out = {}
        for p in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            if not p.name.startswith("."):
                try:
                    error = json.loads(p.read_text(encoding="utf-8")).get("error", "")
                except (OSError, ValueError, AttributeError):
                    error = "(unreadable error file)"
                out[p.stem] = str(error)
        return out

    def _log(self) -> dict[str, dict[str, Any]]:
        return _ok_log(self.path)

    @cached_property
    def _arrow(self) -> pa.Table | None:
        # The plan lists runs arm by arm (experiment order), sample by sample, replication by
        # replication: reading the files in that order gives the frames' order, whatever
        # order the runs finished in.
        plan = self.planned()
        done = completed_keys(self.path) - set(self.damaged)
        plan = plan[plan["key"].isin(done)].reset_index(drop=True)
        if plan.empty:
            return None
        tables = [self._read_run(key) for key in plan["key"]]
        counts = np.array([t.num_rows for t in tables])
        joined = pa.concat_tables(tables)
        for col in _TEXT:
            index = joined.schema.get_field_index(col)
            joined = joined.set_column(index, col, pc.cast(joined[col], pa.string()))
        run_of = pa.array(np.repeat(np.arange(len(plan), dtype=np.int32), counts))
        for pos, col in enumerate(_RUN_COLUMNS):
            values = plan[col].to_numpy()
            if col in ("key", "arm"):
                column = pc.cast(
                    pa.DictionaryArray.from_arrays(run_of, pa.array(values)), pa.string()
                )
            else:
                column = pa.array(np.repeat(values.astype(np.int64), counts))
            joined = joined.add_column(pos, col, column)
        return joined

    def _read_run(self, key: str) -> pa.Table:
        path = self.path / RUNS / f"{key}.parquet"
        try:
            table = pq.ParquetFile(path).read(use_threads=False)
        except (OSError, pa.ArrowException, ValueError) as exc:
            raise ConfigError(
                f"damaged run file ({type(exc).__name__}); allowed: 'simlib sweep --resume' "
                "on this store runs it again",
                file=path,
            ) from None
        return table.replace_schema_metadata(None)

    def _long(self, table: str) -> pd.DataFrame:
        """Rows of one kind (outcomes, ledger or groups) of every completed run."""
        joined = self._arrow
        if joined is None:
            return pd.DataFrame(columns=[*_RUN_COLUMNS, *_TEXT, "t_month", "value"])
        return joined.filter(pc.equal(joined["table"], table)).to_pandas()

    def outcomes(self) -> pd.DataFrame:
        """Declared outcomes of every completed run, tidy.

        Returns
        -------
        pandas.DataFrame
            Columns ``key, arm, sample, replication, seed, agency, policy, period_kind,
            period, t_month, metric, value``, ordered by arm (experiment order), sample,
            replication, then as the model reported them.
        """
        out = self._long("outcomes")
        cols = [*_RUN_COLUMNS, "agency", "policy", "period_kind", "period", "t_month"]
        return out[[*cols, "metric", "value"]].reset_index(drop=True)

    def ledger(self) -> pd.DataFrame:
        """Monthly payments ledger of every completed run, one row per run, agency and month.

        Returns
        -------
        pandas.DataFrame
            Columns ``key, arm, sample, replication, seed, agency, month, year, t_month,
            policy`` and the ledger's amounts (``paid_idr``, ``due_idr``, ...; IDR).
        """
        led = self._long("ledger")
        index = [*_RUN_COLUMNS, "agency", "period", "t_month", "policy"]
        wide = led.pivot_table(index=index, columns="metric", values="value", sort=False)
        wide = wide.reset_index().rename(columns={"period": "month"})
        wide.columns.name = None
        wide.insert(wide.columns.get_loc("month") + 1, "year", wide["month"].str[:4])
        metrics = [m for m in LEDGER_METRICS if m in wide.columns]
        cols = [*_RUN_COLUMNS, "agency", "month", "year", "t_month", "policy", *metrics]
        return wide[cols]

    def groups(self) -> pd.DataFrame:
        """Pay and predikat shares by year and workforce group (for winners and losers).

        Returns
        -------
        pandas.DataFrame
            Columns ``key, arm, sample, replication, seed, agency, period_kind`` (``year``),
            ``period, t_month, dimension`` (grade, job_type, sex, unit), ``group, metric,
            value``; metrics are listed in :data:`GROUP_METRICS`. Empty when the experiment
            did not keep group summaries.
        """
        out = self._long("groups")
        cols = [*_RUN_COLUMNS, "agency", "period_kind", "period", "t_month", "dimension"]
        return out[[*cols, "group", "metric", "value"]].reset_index(drop=True)

    def samples(self) -> pd.DataFrame:
        """Values of the uncertain parameters, one row per sample (column per path)."""
        rows = [{"sample": s["sample"], **s["values"]} for s in self.manifest.get("samples", [])]
        return pd.DataFrame(rows) if rows else pd.DataFrame({"sample": [0]})


def open_store(directory: str | Path) -> Store:
    """Open a run store for reading.

    Parameters
    ----------
    directory
        Folder written by :func:`simlib.experiment.sweep.run_sweep` (``simlib sweep --store``).

    Raises
    ------
    ConfigError
        If the folder holds no manifest.
    """
    path = Path(directory)
    return Store(path=path, manifest=read_manifest(path))
