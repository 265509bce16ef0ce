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

__all__ = [
    "ExperimentStore",
    "assumption_problem",
    "ensure_store",
    "plan_store",
    "plan_world",
    "run_id_for",
    "store_world",
]


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


# -- a second store, of the same arms with the assumptions drawn ------------------------------


def store_world(store: Any) -> dict[str, Any]:
    """What a store simulated: first year, months and agencies (from its ledger)."""
    led = store.ledger()
    if led.empty:
        return {"start": None, "months": 0, "agencies": []}
    return {
        "start": int(led["year"].min()),
        "months": int(led["t_month"].max()) + 1,
        "agencies": sorted(led["agency"].unique().tolist()),
    }


def plan_world(plan: Any) -> dict[str, Any]:
    """What a planned experiment will simulate, as :func:`store_world` reads it back."""
    scenario = plan.inputs[(0, 0)].scenario
    return {
        "start": scenario.calendar.start_date.year,
        "months": scenario.calendar.horizon_months,
        "agencies": sorted(a.name for a in scenario.agencies),
    }


def _arm_definitions(manifest: dict[str, Any]) -> dict[str, tuple]:
    """Each arm's definition without its labels: policy, variant files, scenario changes."""
    hashes = {str(i["path"]): i.get("sha256") for i in manifest.get("inputs", [])}

    def variant(path: str) -> tuple[str, str | None]:
        name = Path(path).name
        found = [h for p, h in hashes.items() if Path(p).name == name]
        return name, found[0] if found else None

    return {
        a["name"]: (
            a.get("policy"),
            tuple(variant(v) for v in a.get("variants", [])),
            repr(sorted((a.get("scenario_changes") or {}).items())),
        )
        for a in manifest.get("arms", [])
    }


def _scenario_file(manifest: dict[str, Any]) -> tuple[str, str | None] | None:
    for item in manifest.get("inputs", []):
        if item.get("role") == "scenario":
            return Path(item["path"]).name, item.get("sha256")
    return None


def assumption_problem(
    manifest: dict[str, Any],
    assumptions: dict[str, Any],
    *,
    world: dict[str, Any] | None = None,
    assumptions_world: dict[str, Any] | None = None,
) -> str | None:
    """Why the store of manifest ``assumptions`` cannot give the intervals of ``manifest``'s.

    The store that draws the assumptions must simulate the same scenario file (same
    content), with the same baseline, and every arm it shares with ``manifest`` defined
    alike (policy, variant files and their content, scenario changes); it must share at
    least one arm besides the baseline, and (given ``world`` and ``assumptions_world``,
    :func:`store_world` / :func:`plan_world`) simulate the same years and agencies. Arms it
    lacks are reported without the second interval. ``None`` when it fits.
    """
    if not assumptions.get("uncertainties"):
        return "draws no assumptions (its experiment has no uncertainties block)"
    mine, theirs = _scenario_file(manifest), _scenario_file(assumptions)
    if mine != theirs:
        shown = theirs[0] if theirs else "none"
        return f"simulates another scenario ({shown}, not {mine[0] if mine else 'none'})"
    if manifest.get("baseline") != assumptions.get("baseline"):
        return f"has another baseline ({assumptions.get('baseline')!r})"
    arms, drawn = _arm_definitions(manifest), _arm_definitions(assumptions)
    for name in set(arms) & set(drawn):
        if arms[name] != drawn[name]:
            return f"defines arm {name!r} otherwise (policy, variant files or scenario changes)"
    shared = [a for a in drawn if a in arms and a != manifest.get("baseline")]
    if not shared:
        return f"shares no policy arm besides the baseline (its arms: {', '.join(drawn)})"
    if world is not None and assumptions_world is not None and world != assumptions_world:
        return (
            f"simulates other years or agencies ({assumptions_world['months']} months from "
            f"{assumptions_world['start']}, agencies {', '.join(assumptions_world['agencies'])}; "
            f"this experiment: {world['months']} months from {world['start']}, agencies "
            f"{', '.join(world['agencies'])})"
        )
    return None
