"""The run store a report reads: its run id, and running the experiment when it is missing.

``simlib report`` and the store notebooks (``02-compare-policies``, ``04-briefing``) read
the store of an experiment in ``reports/<run id>/store``. :func:`ensure_store` plans the
experiment, and runs its sweep into that store when runs are missing or damaged (a
complete store is checked, not rerun), so a freshly opened notebook's Run All works with
its defaults. A progress callback may be passed; nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simlib.core.paths import DEFAULT_EXPERIMENT, REPORTS

__all__ = ["ExperimentStore", "ensure_store", "plan_store", "run_id_for"]


def run_id_for(manifest: dict[str, Any]) -> str:
    """Run id of a sweep: the experiment file's stem and a hash of its planned run keys.

    Run keys hash the resolved inputs, seed, replication and code version, so the same
    experiment with the same code always gets the same id, and any change gets a new one.
    """
    from simlib.store.provenance import stable_hash

    stem = Path(manifest.get("experiment_file") or "experiment").stem or "experiment"
    digest = stable_hash([r["key"] for r in manifest.get("runs", [])])
    return f"{stem}-{digest[:10]}"


@dataclass(frozen=True)
class ExperimentStore:
    """A planned experiment and where its store lives: ``<reports>/<run id>/store``."""

    plan: Any
    run_id: str
    run_dir: Path

    @property
    def store(self) -> Path:
        """The store folder."""
        return self.run_dir / "store"

    @property
    def started(self) -> bool:
        """Whether the store has a manifest (a sweep ran into it before)."""
        return (self.store / "manifest.json").is_file()


def plan_store(
    experiment: str | Path = DEFAULT_EXPERIMENT,
    *,
    reports: str | Path | None = None,
    replications: int | None = None,
) -> ExperimentStore:
    """Plan ``experiment`` (every arm validated) and name its store; nothing runs.

    Raises
    ------
    ConfigError
        A bad experiment file or one of its inputs.
    """
    from simlib.experiment.sweep import manifest_for, plan_sweep

    plan = plan_sweep(experiment, replications=replications)
    run_id = run_id_for(manifest_for(plan))
    return ExperimentStore(plan, run_id, Path(reports or REPORTS) / run_id)


def ensure_store(
    target: ExperimentStore,
    *,
    workers: int | None = None,
    progress: Callable[[Any, int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the missing runs of ``target``'s sweep into its store; return the manifest.

    Always through :func:`simlib.experiment.sweep.run_sweep`, even when every run is done:
    it checks each run file (and runs damaged ones again) and rewrites the manifest from
    the current experiment file, so a renamed experiment or relabelled arm shows in the
    report. ``progress(record, done, total)`` is called as runs finish.
    """
    from simlib.experiment.sweep import run_sweep

    return run_sweep(
        target.plan,
        target.store,
        workers=workers,
        resume=target.started,
        progress=progress,
    )
