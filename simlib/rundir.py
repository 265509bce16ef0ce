"""Writing a run's tables and manifest to a folder, atomically.

Everything goes into a temporary sibling folder first, which is renamed into place only
when complete: an interrupted or failed write leaves the previous folder (or none), never
a half-written one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from simlib.model import RunResult

__all__ = ["TABLES", "replace_dir", "write_run"]

#: Tables written for every run (name -> RunResult attribute); opt-in ones may be None.
TABLES = {
    "outcomes": "outcomes",
    "ledger": "ledger",
    "workforce": "workforce",
    "panel": "panel",
    "employee_ledger": "employee_ledger",
    "ratings": "ratings",
}


def write_run(result: RunResult, out_dir: str | Path, *, manifest: dict[str, Any]) -> Path:
    """Write every table as Parquet and CSV plus ``manifest.json`` into ``out_dir``.

    An existing ``out_dir`` is replaced as a whole once the new one is complete.
    """
    out = Path(out_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        written = []
        for name, attr in TABLES.items():
            frame: pd.DataFrame | None = getattr(result, attr)
            if frame is None:
                continue
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
            frame.to_csv(tmp / f"{name}.csv", index=False)
            written.append(name)
        full = {**manifest, "tables": written}
        (tmp / "manifest.json").write_text(
            json.dumps(full, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
        )
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def replace_dir(new: Path, target: Path) -> None:
    """Put folder ``new`` in place of ``target`` by renames: readers see old or new, never half."""
    if not target.exists():
        os.rename(new, target)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.rename(target, old)
    os.rename(new, target)
    shutil.rmtree(old, ignore_errors=True)
