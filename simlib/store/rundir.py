"""Where the workbench may write, and writing a run's tables and manifest there, atomically.

The ownership rule (one helper, :func:`claim_dir` / :func:`claim_file`, used by ``simlib
run --out``, ``ratings simulate --out``, ``report --out`` and ``sweep --store``): the
workbench writes only into a folder that does not exist yet, that is empty, or that it
marked as its own (the manifest of a previous output of the same kind, holding nothing
but what the workbench wrote). Anything else is refused with one
:class:`~simlib.core.errors.ConfigError` before anything is written: a file where a folder
is expected, a folder where a file is expected, a path below a file, a place that cannot
be written (``/``, ``/proc/x``), a folder holding files of its own. It never deletes a
file it did not write: a previous run's folder with a file added to it is refused, and
the file named, rather than replaced.

Everything goes into a temporary sibling folder first (:func:`make_temp_dir`), which is
renamed into place only when complete (:func:`replace_dir`): an interrupted or failed
write leaves the previous folder (or none), never a half-written one. Files and folders
are fsync'ed before and after the rename (:func:`write_bytes_atomic`, :func:`fsync_dir`),
so a power cut cannot tear them either. A temporary name carries the creating process's
id and a hash of the host name (``.<name>.<pid>-<host>-<random>.tmp``): leftovers of a
killed process are removed at the next start (:func:`clean_leftovers`), only when that
process is gone and the file belongs to this user.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from simlib.core.errors import ConfigError
from simlib.engine.model import RunResult

__all__ = [
    "TABLES",
    "claim_dir",
    "claim_file",
    "clean_leftovers",
    "fsync_dir",
    "make_temp_dir",
    "replace_dir",
    "run_folder_foreign",
    "temp_file_name",
    "write_bytes_atomic",
    "write_run",
]

#: Tables written for every run (name -> RunResult attribute); opt-in ones may be None.
TABLES = {
    "outcomes": "outcomes",
    "ledger": "ledger",
    "workforce": "workforce",
    "panel": "panel",
    "employee_ledger": "employee_ledger",
    "ratings": "ratings",
}
MANIFEST = "manifest.json"

#: ``owned(folder)`` -> None if the folder is not marked as the workbench's, else the
#: entries in it (relative paths) that the workbench did not write.
Owned = Callable[[Path], "list[str] | None"]

_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_ALLOWED_DIR = "allowed: a new or empty folder, or one that {what} wrote"


# -- the ownership rule ----------------------------------------------------------------


def claim_dir(path: str | Path, *, what: str, owned: Owned) -> Path:
    """Check that the workbench may write folder ``path``; return it, absolute.

    Parameters
    ----------
    path
        The output folder asked for.
    what
        The command that writes it (``"simlib run"``), for the message.
    owned
        Recognises a folder this command wrote: returns None if ``folder`` is not one,
        else the entries in it that the command did not write.

    Raises
    ------
    ConfigError
        Unless ``path`` does not exist (and can be created), is an empty folder, or is a
        folder ``owned`` recognises with nothing foreign in it. Nothing is written.
    """
    target = _absolute(path)
    allowed = _ALLOWED_DIR.format(what=f"'{what}'")
    if target.is_symlink() and not target.exists():
        raise ConfigError(f"is a broken link; {allowed}", file=path)
    if target.exists():
        if not target.is_dir():
            raise ConfigError(f"is a file, not a folder; {allowed}", file=path)
        try:
            empty = next(target.iterdir(), None) is None
        except OSError as exc:
            message = f"cannot read this folder ({_reason(exc)}); {allowed}"
            raise ConfigError(message, file=path) from None
        if empty:
            _check_writable(target.parent, path, allowed)
            return target
        foreign = owned(target)
        if foreign is None:
            raise ConfigError(
                f"folder is not empty and was not written by '{what}'; {allowed}", file=path
            )
        if foreign:
            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            shown = ", ".join(foreign[:3]) + more
            raise ConfigError(
                f"folder holds files that '{what}' did not write ({shown}); allowed: move them "
                f"out first, or a new or empty folder",
                file=path,
            )
        _check_writable(target.parent, path, allowed)
        return target
    _check_creatable(target, path, allowed)
    return target


def claim_file(path: str | Path, *, what: str, owned: Callable[[Path], bool]) -> Path:
    """Check that the workbench may write file ``path``; return it, absolute.

    Refused: an existing folder, a path below a file, a place that cannot be written,
    and an existing file that ``owned`` does not recognise as this command's output.
    """
    target = _absolute(path)
    allowed = f"allowed: a new file, or one that '{what}' wrote"
    if target.is_dir():
        raise ConfigError(f"is a folder, not a file; {allowed}", file=path)
    if target.exists() or target.is_symlink():
        if not target.is_file() or not owned(target):
            raise ConfigError(
                f"file exists and was not written by '{what}' (or changed since); {allowed}",
                file=path,
            )
        _check_writable(target.parent, path, allowed)
        return target
    _check_creatable(target, path, allowed)
    return target


def run_folder_foreign(folder: Path) -> list[str] | None:
    """``owned`` for ``simlib run --out``: a folder with a run's ``manifest.json``."""
    manifest = _read_json(folder / MANIFEST)
    if manifest is None:
        return None
    legacy = "run_id" in manifest and "tables" in manifest
    if manifest.get("kind") != "run" and not legacy:
        return None
    tables = manifest.get("tables")
    if not isinstance(tables, list):
        return None
    ours = {MANIFEST} | {f"{t}.{ext}" for t in tables for ext in ("parquet", "csv")}
    return foreign_entries(folder, ours)


def foreign_entries(
    folder: Path, ours: set[str], *, dirs: Callable[[str], bool] = lambda _: False
) -> list[str]:
    """Entries below ``folder`` (relative, ``/``-separated) not in ``ours``.

    A sub-folder for which ``dirs(name)`` is true is entered; any other sub-folder is
    foreign as a whole.
    """
    out = []
    stack = [(folder, "")]
    while stack:
        here, prefix = stack.pop()
        for entry in sorted(here.iterdir()):
            rel = prefix + entry.name
            if entry.is_dir() and not entry.is_symlink():
                if dirs(rel):
                    stack.append((entry, rel + "/"))
                else:
                    out.append(rel + "/")
            elif rel not in ours:
                out.append(rel)
    return sorted(out)


def _absolute(path: str | Path) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def _reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


def _check_writable(folder: Path, path: str | Path, allowed: str) -> None:
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write in {folder} (permission denied); {allowed}", file=path)


def _check_creatable(target: Path, path: str | Path, allowed: str) -> None:
    """The nearest existing ancestor of ``target`` must be a folder we may write in."""
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"{ancestor} is a file, not a folder; {allowed}", file=path)
    _check_writable(ancestor, path, allowed)
    # Root may "write" everywhere by permission bits: /proc, /sys refuse at creation.
    if not _is_ordinary_fs(ancestor):
        raise ConfigError(f"cannot write in {ancestor} (a system folder); {allowed}", file=path)


def _is_ordinary_fs(folder: Path) -> bool:
    resolved = folder.resolve()
    system = [Path(p) for p in ("/proc", "/sys", "/dev")]
    return not any(resolved == p or p in resolved.parents for p in system)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def make_parents(target: Path, *, path: str | Path | None = None) -> None:
    """Create ``target``'s parent folders; an OS refusal becomes one :class:`ConfigError`."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        message = f"cannot create its folder ({_reason(exc)})"
        raise ConfigError(message, file=path or target) from None


# -- temporary names and their leftovers ---------------------------------------------


def temp_file_name(target: Path) -> Path:
    """A temporary sibling name for ``target``, recognisable by :func:`clean_leftovers`."""
    return target.with_name(f".{target.name}.{os.getpid()}-{_HOST}.tmp")


def make_temp_dir(target: Path, *, owned: Owned) -> Path:
    """A new temporary folder beside ``target``, after removing dead processes' leftovers."""
    clean_leftovers(target, owned=owned)
    try:
        tmp = tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}-{_HOST}-", suffix=".tmp",
                               dir=target.parent)  # fmt: skip
    except OSError as exc:
        raise ConfigError(f"cannot write here ({_reason(exc)})", file=target) from None
    return Path(tmp)


def clean_leftovers(target: Path, *, owned: Owned | None = None) -> int:
    """Remove what killed processes left beside ``target``; return how many were removed.

    Removed: ``.<name>.<pid>-<host>[-...].tmp`` files and folders, and ``.<name>.old-<pid>
    -<host>`` folders that :func:`replace_dir` had moved aside (only when ``target``
    exists and ``owned`` recognises the old folder), when ``<host>`` is this host,
    process ``<pid>`` is gone and the entry belongs to this user. Anything else is left.
    """
    parent = target.parent
    if not parent.is_dir():
        return 0
    name = re.escape(target.name)
    temp = re.compile(rf"\.{name}\.(\d+)-([0-9a-f]{{8}})(-[^/]*)?\.tmp")
    old = re.compile(rf"\.{name}\.old-(\d+)-([0-9a-f]{{8}})")
    removed = 0
    try:
        entries = list(parent.iterdir())
    except OSError:
        return 0
    for entry in entries:
        match = temp.fullmatch(entry.name)
        is_old = False
        if match is None:
            match = old.fullmatch(entry.name)
            is_old = match is not None
        if match is None or match[2] != _HOST or _alive(int(match[1])):
            continue
        try:
            if entry.lstat().st_uid != os.getuid():
                continue
        except (OSError, AttributeError):
            continue
        if is_old and (not target.exists() or owned is None or owned(entry) != []):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a zombie or another user's counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


# -- durable writes ------------------------------------------------------------------


def fsync_dir(folder: Path) -> float:
    """Flush a folder to disk (fsync), so its entries survive a power cut; return seconds."""
    if os.name == "nt":  # Windows cannot open a folder for fsync
        return 0.0
    started = time.perf_counter()
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - started


def fsync_file(path: Path) -> float:
    """Flush a file written by another library to disk (fsync); return the seconds."""
    started = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - started


def write_bytes_atomic(target: Path, data: bytes) -> float:
    """Write ``data`` to ``target``: temporary name, fsync, rename, fsync of the folder.

    Returns the seconds spent in fsync.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            started = time.perf_counter()
            os.fsync(fh.fileno())
            synced = time.perf_counter() - started
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return synced + fsync_dir(target.parent)


# -- a run's folder ------------------------------------------------------------------


def write_run(result: RunResult, out_dir: str | Path, *, manifest: dict[str, Any]) -> Path:
    """Write every table as Parquet and CSV plus ``manifest.json`` into ``out_dir``.

    ``out_dir`` must be allowed by :func:`claim_dir` (new, empty, or a previous run's
    folder holding only what that run wrote); it is replaced as a whole once the new one
    is complete.

    Raises
    ------
    ConfigError
        If ``out_dir`` may not be written (nothing is written).
    """
    out = claim_dir(out_dir, what="simlib run", owned=run_folder_foreign)
    make_parents(out, path=out_dir)
    tmp = make_temp_dir(out, owned=run_folder_foreign)
    try:
        written = []
        for name, attr in TABLES.items():
            frame: pd.DataFrame | None = getattr(result, attr)
            if frame is None:
                continue
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
            frame.to_csv(tmp / f"{name}.csv", index=False)
            fsync_file(tmp / f"{name}.parquet")
            fsync_file(tmp / f"{name}.csv")
            written.append(name)
        full = {**manifest, "kind": "run", "tables": written}
        text = json.dumps(full, indent=2, sort_keys=True, default=str) + "\n"
        write_bytes_atomic(tmp / MANIFEST, text.encode())
        replace_dir(tmp, out, owned=run_folder_foreign)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def replace_dir(new: Path, target: Path, *, owned: Owned) -> None:
    """Put folder ``new`` in place of ``target`` by renames: readers see old or new, never half.

    An existing ``target`` must be empty or recognised by ``owned`` with nothing foreign
    in it (see :func:`claim_dir`); the old folder is deleted only then, and only if it
    still holds nothing foreign once moved aside.
    """
    fsync_dir(new)
    if not target.exists():
        os.rename(new, target)
        fsync_dir(target.parent)
        return
    if next(target.iterdir(), None) is None:
        os.rename(new, target)  # POSIX: a rename may replace an empty folder
        fsync_dir(target.parent)
        return
    if owned(target) != []:
        raise ConfigError(
            "folder changed while the workbench was writing (files were added); "
            "allowed: a new or empty folder",
            file=target,
        )
    old = target.with_name(f".{target.name}.old-{os.getpid()}-{_HOST}")
    os.rename(target, old)
    os.rename(new, target)
    fsync_dir(target.parent)
    if owned(old) == []:
        shutil.rmtree(old, ignore_errors=True)
