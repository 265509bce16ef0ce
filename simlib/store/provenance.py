"""Provenance: what produced a result (code version, packages, inputs and their hashes)."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from simlib.core.paths import ROOT
from simlib.params.resolve import content_hash

__all__ = [
    "code_version",
    "code_version_of",
    "file_sha256",
    "input_files",
    "package_versions",
    "parameter_files",
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
    """SHA-256 of a JSON-serialisable object, independent of key order.

    The same function as :func:`simlib.params.resolve.content_hash`, so
    ``stable_hash(resolved_inputs(...))`` is the inputs' ``sha256``.
    """
    return content_hash(obj)


def parameter_files(record: Any, kind: str) -> list[tuple[str, str, Path]]:
    """Files a scenario's or policy's values come from besides its own: ``(role, field, path)``.

    The parents of its ``extends`` chain, nearest first (role ``parent``, field
    ``<kind>.extends[i]``), and the parameter tree of its kind (role ``parameters``, field
    ``parameters/<kind>.yaml``).
    """
    from simlib.params.tree import parameter_files as files_of

    return files_of(record, kind)


def input_files(scenario: Any, schedule: Any = None) -> list[tuple[str, str, Path]]:
    """Every file a run's inputs come from besides the scenario and policy files themselves.

    ``(role, field, path)``: what :func:`simlib.params.resolve.resolve` reads: the
    organisation CSV of each agency (``field`` is where the scenario names it, e.g.
    ``agencies[0].org_csv``), the training plan and campaign the policy's levers name, the
    parents and parameter trees of the scenario and the base policy (:func:`parameter_files`)
    and the regulation tables of :data:`simlib.params.tables.TABLE_FILES` (``field`` is
    ``tables/<name>``). Without ``schedule``, the scenario's baseline policy is the policy.
    """
    return [(f.role, f.field, f.path) for f in _resolve(scenario, schedule).files]


def _resolve(scenario: Any, schedule: Any, cache: Any = None) -> Any:
    from simlib.params.policy import load_policy
    from simlib.params.resolve import resolve

    if schedule is None:
        schedule = load_policy(scenario.resolve(scenario.baseline_policy))
    return resolve(scenario, schedule, cache=cache)


def resolved_inputs(
    scenario: Any,
    schedule: Any,
    *,
    hashes: dict[Path, str] | None = None,
    cache: Any = None,
) -> dict[str, Any]:
    """Everything a run depends on besides its seed and the code.

    Parameters
    ----------
    scenario
        A validated :class:`~simlib.params.scenario.Scenario`.
    schedule
        The :class:`~simlib.params.policy.PolicySchedule` in force (or a policy).
    hashes
        Filled with ``path -> SHA-256`` of every file read.
    cache
        A :class:`~simlib.params.resolve.InputCache` shared by the calls of one plan
        (each file is read once).

    Returns
    -------
    dict
        :meth:`simlib.params.resolve.Inputs.content`: the records without file names and
        parameter documentation (they do not change results) and the content of every
        file the engine's inputs are read from, so editing one changes the run key.
        :func:`stable_hash` of it is :attr:`~simlib.params.resolve.Inputs.sha256`.
    """
    inputs = _resolve(scenario, schedule, cache)
    if hashes is not None:
        hashes.update({f.path: f.sha256 for f in inputs.files})
    return inputs.content()
