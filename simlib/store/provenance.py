"""Provenance: what produced a result (code version, packages, inputs and their hashes)."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from simlib.core.paths import ROOT, TABLES

__all__ = [
    "code_version",
    "code_version_of",
    "file_sha256",
    "input_files",
    "package_versions",
    "resolved_inputs",
    "stable_hash",
]

PACKAGES = ("simlib", "numpy", "pandas", "scipy", "simpy", "pydantic", "pyyaml", "pyarrow")


#: Folder whose source makes the code version (results depend on the library, not on
#: tests, docs or data: data files enter the run key by their content, see
#: :func:`resolved_inputs`).
CODE_DIR = "simlib"


@cache
def code_version() -> dict[str, Any]:
    """Code version of this checkout (cached for the process); see :func:`code_version_of`."""
    return code_version_of(ROOT)


def code_version_of(root: str | Path) -> dict[str, Any]:
    """Git commit, dirty flag and the key that run keys use, for the project at ``root``.

    Returns
    -------
    dict
        ``commit`` (``"unknown"`` outside git), ``dirty`` (any tracked file differs from
        the commit; ``None`` outside git), ``local_sha256`` (SHA-256 of the local changes
        to ``simlib/``: ``git diff HEAD`` of it plus its untracked files, ``None`` when
        there are none; outside git, of every ``simlib/`` source file) and ``key``: the
        commit when ``simlib/`` is as committed, else ``commit+<local_sha256[:16]>``
        (``nogit+...`` outside git). Two dirty trees with different edits to the library
        get different keys, so a sweep never reuses runs made by other code.
    """
    root = Path(root)
    try:
        commit = _git(root, "rev-parse", "--verify", "HEAD").decode().strip()
        status = _git(root, "status", "--porcelain", "--untracked-files=no")
        diff = _git(root, "diff", "HEAD", "--binary", "--no-ext-diff", "--no-textconv",
                    "--no-color", "--", CODE_DIR)  # fmt: skip
        untracked = _git(root, "ls-files", "-z", "--others", "--exclude-standard", "--", CODE_DIR)
    except (OSError, subprocess.CalledProcessError):
        local = _tree_sha256(root, sorted(_sources(root)))
        return {"commit": "unknown", "dirty": None, "local_sha256": local, "key": f"nogit+{local}"}
    names = sorted(n for n in untracked.decode().split("\0") if n)
    local = None
    if diff or names:
        digest = hashlib.sha256(diff)
        digest.update(_tree_sha256(root, names).encode())
        local = digest.hexdigest()
    key = commit if local is None else f"{commit}+{local[:16]}"
    return {"commit": commit, "dirty": bool(status.strip()), "local_sha256": local, "key": key}


def _git(root: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", "-c", "core.quotePath=false", *args], cwd=root, capture_output=True, check=True
    ).stdout


def _sources(root: Path) -> list[str]:
    """Source files of the library (relative paths), without caches."""
    base = root / CODE_DIR
    return [
        p.relative_to(root).as_posix()
        for p in base.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    ]


def _tree_sha256(root: Path, names: list[str]) -> str:
    """SHA-256 of files given by relative path: each name and its bytes, in the given order."""
    digest = hashlib.sha256()
    for name in names:
        data = (root / name).read_bytes() if (root / name).is_file() else b""
        digest.update(name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that shape results."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def stable_hash(obj: Any) -> str:
    """SHA-256 of a JSON-serialisable object, independent of key order."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def input_files(scenario: Any) -> list[tuple[str, str, Path]]:
    """Every file the engine reads for a run of ``scenario``: ``(role, field, path)``.

    The organisation CSV, training plan and campaign file of each agency (``field`` is
    where the scenario names it, e.g. ``agencies[0].training``) and the regulation tables
    of :data:`simlib.params.tables.TABLE_FILES` (``field`` is ``tables/<name>``).
    """
    from simlib.params.tables import TABLE_FILES

    files = []
    for i, spec in enumerate(scenario.agencies):
        where = f"agencies[{i}]"
        if spec.org_csv:
            files.append(("org_csv", f"{where}.org_csv", scenario.resolve(spec.org_csv)))
        if spec.training:
            files.append(("training", f"{where}.training", scenario.resolve(spec.training)))
        if spec.campaign:
            path = scenario.resolve(spec.campaign.file)
            files.append(("campaign", f"{where}.campaign.file", path))
    files += [("table", f"tables/{name}", TABLES / name) for name in TABLE_FILES]
    return files


def resolved_inputs(
    scenario: Any, schedule: Any, *, hashes: dict[Path, str] | None = None
) -> dict[str, Any]:
    """Everything a run depends on besides its seed and the code.

    Parameters
    ----------
    scenario
        A validated :class:`~simlib.params.scenario.Scenario`.
    schedule
        The :class:`~simlib.params.policy.PolicySchedule` in force.
    hashes
        A memo ``path -> SHA-256`` shared by the calls of one plan (each file is read
        once); filled as files are read.

    Returns
    -------
    dict
        JSON-ready ``{"scenario": ..., "policies": [{"start_month": m, ...}, ...],
        "files": {field: sha256}}``: the records without file names and parameter
        documentation (they do not change results), and the content of every file the
        engine reads (:func:`input_files`), so editing one changes the run key.
    """
    memo = {} if hashes is None else hashes
    files = {}
    for _, field, path in input_files(scenario):
        if path not in memo:
            memo[path] = file_sha256(path)
        files[field] = memo[path]
    return {
        "scenario": scenario.model_dump(mode="json", exclude={"docs", "source_file"}),
        "policies": [
            {"start_month": m, **p.model_dump(mode="json", exclude={"docs", "source_file"})}
            for m, p in schedule.entries
        ],
        "files": files,
    }
