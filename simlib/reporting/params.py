"""Notebook parameters: the checks of every notebook's second cell.

A notebook's first cell (tagged ``parameters``) holds scalars that papermill may replace;
the second passes them to one of the ``*_parameters`` functions here, which return a frozen
record or raise one :class:`~simlib.core.errors.ConfigError` naming the parameter, its value
and what is allowed (``parameter 'lang': 'fr' is not a report language; allowed: 'id',
'en'``). Relative paths are looked up from the working folder, then the project root.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from simlib.core.errors import ConfigError
from simlib.core.paths import DEFAULT_EXPERIMENT, ROOT
from simlib.reporting import i18n

__all__ = [
    "AssumptionParams",
    "CalibrationParams",
    "CompareParams",
    "ExploreParams",
    "RaterParams",
    "assumption_parameters",
    "calibration_parameters",
    "compare_parameters",
    "explore_parameters",
    "rater_parameters",
]

_MAX_SEED = 2**63 - 1


def _fail(name: str, value: object, problem: str, allowed: str) -> ConfigError:
    return ConfigError(f"parameter {name!r}: {value!r} {problem}; allowed: {allowed}")


def _whole(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise _fail(name, value, "is not a whole number", f"{lo} to {hi}")
    if not lo <= value <= hi:
        raise _fail(name, value, "is out of range", f"{lo} to {hi}")
    return int(value)


def _string(name: str, value: object, allowed: str) -> str:
    if not isinstance(value, str):
        raise _fail(name, value, "is not text", allowed)
    return value.strip()


def _find(value: str) -> Path:
    """A path as given if absolute or found from here, else relative to the project root."""
    path = Path(value).expanduser()
    if path.is_absolute() or path.exists():
        return path
    return ROOT / path


def _file(name: str, value: object, what: str, *, optional: bool = False) -> Path | None:
    allowed = f"a path to {what}" + (' or "" for none' if optional else "")
    text_value = _string(name, value, allowed)
    if not text_value:
        if optional:
            return None
        raise _fail(name, value, "is empty", allowed)
    path = _find(text_value)
    if not path.is_file():
        raise _fail(name, value, "is not an existing file", allowed)
    return path


def _directory(name: str, value: object, what: str) -> Path:
    allowed = f"a path to {what}"
    text_value = _string(name, value, allowed)
    path = _find(text_value) if text_value else None
    if path is None or not path.is_dir():
        raise _fail(name, value, "is not an existing folder", allowed)
    return path


def _output_dir(name: str, value: object) -> Path | None:
    text_value = _string(name, value, 'a folder for the figures, or "" to keep none')
    return Path(text_value).expanduser() if text_value else None


def _lang(value: object) -> str:
    return i18n.check_lang(value)


@dataclass(frozen=True)
class ExploreParams:
    """Checked parameters of ``01-explore-scenario``."""

    scenario: Path
    policy: Path | None
    seed: int
    replications: int
    lang: str
    figures_dir: Path | None


def explore_parameters(
    *,
    scenario: object,
    policy: object,
    seed: object,
    replications: object,
    lang: object,
    figures_dir: object,
) -> ExploreParams:
    """Check the parameters of ``01-explore-scenario``.

    Parameters
    ----------
    scenario
        Path to a scenario YAML file (relative paths are looked up from the working
        folder, then from the project root).
    policy
        Path to a policy or variant YAML file, or ``""`` for the scenario's baseline.
    seed
        Root seed, 0 to 2**63-1.
    replications
        Replications to simulate, 1 to 50.
    lang
        ``"id"`` or ``"en"``.
    figures_dir
        Folder to write the figures into as PNG, or ``""`` for none.

    Raises
    ------
    ConfigError
        Naming the first bad parameter, its value and what is allowed.
    """
    return ExploreParams(
        scenario=_file("scenario", scenario, "a scenario YAML file"),
        policy=_file("policy", policy, "a policy or variant YAML file", optional=True),
        seed=_whole("seed", seed, 0, _MAX_SEED),
        replications=_whole("replications", replications, 1, 50),
        lang=_lang(lang),
        figures_dir=_output_dir("figures_dir", figures_dir),
    )


@dataclass(frozen=True)
class RaterParams:
    """Checked parameters of ``03-rater-bias-360``."""

    scenario: Path
    policy: Path | None
    seed: int
    quarters: int
    ratings: Path | None
    columns: dict[str, str]
    min_raters: int
    lang: str
    figures_dir: Path | None


def rater_parameters(
    *,
    scenario: object,
    policy: object,
    seed: object,
    quarters: object,
    ratings: object,
    ratee_column: object,
    rater_column: object,
    score_column: object,
    source_column: object,
    true_score_column: object,
    min_raters: object,
    lang: object,
    figures_dir: object,
) -> RaterParams:
    """Check the parameters of ``03-rater-bias-360``.

    Parameters
    ----------
    scenario, policy, seed
        What to simulate when ``ratings`` is empty (see :func:`explore_parameters`); the
        policy's rating rule is switched to multi-source if needed.
    quarters
        Appraisal rounds to simulate, 1 to 8.
    ratings
        A long-format rating CSV to load instead of simulating, or ``""``.
    ratee_column, rater_column, score_column
        Column names in ``ratings`` (required when loading).
    source_column, true_score_column
        Optional column names in ``ratings`` (``""`` for none); sources named like the
        model's (self, supervisor, peer, subordinate, service_user) allow the aggregation
        rules to be compared, a true score allows comparing them with the truth.
    min_raters
        Figures of groups with fewer distinct raters are withheld, 1 to 100.
    lang, figures_dir
        As in :func:`explore_parameters`.
    """
    loaded = _file("ratings", ratings, "a rating CSV file", optional=True)
    columns = {}
    for role, value, required in (
        ("ratee", ratee_column, True),
        ("rater", rater_column, True),
        ("score", score_column, True),
        ("source", source_column, False),
        ("true_score", true_score_column, False),
    ):
        name = f"{role}_column"
        column = _string(name, value, "a column name of the rating file")
        if loaded is not None and required and not column:
            raise _fail(name, value, "is empty", "a column name of the rating file")
        if column:
            columns[role] = column
    return RaterParams(
        scenario=_file("scenario", scenario, "a scenario YAML file"),
        policy=_file("policy", policy, "a policy or variant YAML file", optional=True),
        seed=_whole("seed", seed, 0, _MAX_SEED),
        quarters=_whole("quarters", quarters, 1, 8),
        ratings=loaded,
        columns=columns,
        min_raters=_whole("min_raters", min_raters, 1, 100),
        lang=_lang(lang),
        figures_dir=_output_dir("figures_dir", figures_dir),
    )


@dataclass(frozen=True)
class CompareParams:
    """Checked parameters of ``02-compare-policies`` and ``04-briefing``.

    ``store`` is ``None`` when the notebook was given none: it then reads the store of
    ``experiment`` (the default experiment), run first if missing, as ``simlib report``
    does (:func:`simlib.reporting.stores.ensure_store`).
    """

    store: Path | None
    experiment: Path
    confidence: float
    lang: str
    figures_dir: Path | None


def _run_store(field: str, value: object, allowed: str, *, draws: bool = False) -> Path:
    """The folder ``value`` as a run store with a completed baseline run.

    With ``draws``, its experiment must also draw assumptions. Otherwise a one-line
    ConfigError names ``field``.
    """
    from simlib.store.runstore import completed_keys, read_manifest

    path = _directory(field, value, allowed)
    try:
        manifest = read_manifest(path)
    except ConfigError:
        raise _fail(field, value, "is not a run store (no manifest.json)", allowed) from None
    if draws and not manifest.get("uncertainties"):
        raise _fail(field, value, "draws no assumptions (its experiment has no uncertainties "
                    "block)", allowed)  # fmt: skip
    done = completed_keys(path)
    baseline = manifest.get("baseline")
    if not any(r["key"] in done for r in manifest.get("runs", []) if r["arm"] == baseline):
        raise _fail(field, value, "holds no completed run of the baseline", allowed)
    return path


def compare_parameters(
    *, store: object, confidence: object, lang: object, figures_dir: object
) -> CompareParams:
    """Check the parameters of ``02-compare-policies`` and ``04-briefing``.

    Parameters
    ----------
    store
        Folder of a run store (written by ``simlib report`` or ``simlib sweep``) with at
        least one completed run of the baseline, or ``""`` for the default experiment's
        store (``reports/<run id>/store``, run first if missing).
    confidence
        Coverage of the intervals, 0.5 to 0.999.
    lang, figures_dir
        As in :func:`explore_parameters`.
    """
    allowed = "a run store folder (written by 'simlib report' or 'simlib sweep'), or \"\""
    text_value = _string("store", store, allowed)
    path = None
    if text_value:
        path = _run_store("store", store, allowed)
    if isinstance(confidence, bool) or not isinstance(confidence, float | int):
        raise _fail("confidence", confidence, "is not a number", "0.5 to 0.999")
    if not 0.5 <= confidence <= 0.999:
        raise _fail("confidence", confidence, "is out of range", "0.5 to 0.999")
    return CompareParams(
        path,
        DEFAULT_EXPERIMENT,
        float(confidence),
        _lang(lang),
        _output_dir("figures_dir", figures_dir),
    )


_ASSUMPTIONS_ALLOWED = (
    "a run store of the same arms with the assumptions drawn per replication (e.g. the "
    'store of data/experiments/assumptions.yaml), or ""'
)


@dataclass(frozen=True)
class AssumptionParams:
    """Checked parameters of ``04-briefing`` for assumption uncertainty.

    ``store`` is the store that draws the assumptions (``None``: the briefing's intervals
    cover Monte-Carlo noise only); ``discover`` the outcomes whose failures scenario
    discovery looks for.
    """

    store: Path | None
    discover: tuple[str, ...]
    given: str = ""

    def check(self, manifest: dict, world: dict | None = None) -> None:
        """Refuse an assumption store that does not fit the experiment of ``manifest``.

        ``world`` is what the experiment simulates (:func:`simlib.reporting.stores.
        plan_world` or :func:`~simlib.reporting.stores.store_world`).
        """
        from simlib.reporting.stores import assumption_problem, store_world
        from simlib.store.runstore import open_store, read_manifest

        if self.store is None:
            return
        theirs = read_manifest(self.store)
        drawn_world = store_world(open_store(self.store)) if world is not None else None
        problem = assumption_problem(manifest, theirs, world=world, assumptions_world=drawn_world)
        if problem:
            raise _fail("assumptions", self.given, problem, _ASSUMPTIONS_ALLOWED)

    def open(self, store):
        """The assumption store, checked against the opened run ``store`` (or ``None``)."""
        from simlib.reporting.stores import store_world
        from simlib.store.runstore import open_store

        if self.store is None:
            return None
        self.check(store.manifest, store_world(store))
        return open_store(self.store)


def assumption_parameters(*, assumptions: object, discover: object) -> AssumptionParams:
    """Check the assumption-uncertainty parameters of ``04-briefing``.

    Parameters
    ----------
    assumptions
        Folder of a run store whose experiment draws its assumptions (an ``uncertainties``
        block; ``data/experiments/assumptions.yaml``) with completed runs of its
        baseline, or ``""`` for none. Whether it fits the briefing's store (same scenario,
        baseline, arms, years and agencies) is checked by :meth:`AssumptionParams.open`.
    discover
        Declared outcomes, separated by ``;`` or ``,``, whose failures (an effect below
        zero) scenario discovery looks for in the assumption store; ``""`` for none.
    """
    from simlib.engine.outcomes import OUTCOMES

    text_value = _string("assumptions", assumptions, _ASSUMPTIONS_ALLOWED)
    path = None
    if text_value:
        path = _run_store("assumptions", assumptions, _ASSUMPTIONS_ALLOWED, draws=True)
    names = [o.name for o in OUTCOMES]
    allowed = "declared outcomes separated by ';' (e.g. 'adoption_share'), or \"\""
    wanted = _string("discover", discover, allowed)
    outcomes = tuple(dict.fromkeys(w.strip() for w in wanted.replace(",", ";").split(";")
                                   if w.strip()))  # fmt: skip
    for name in outcomes:
        if name not in names:
            raise _fail("discover", discover, f"names {name!r}, not a declared outcome", allowed)
    if outcomes and path is None:
        raise _fail("discover", discover, "needs an assumption store", "'assumptions' given too")
    return AssumptionParams(path, outcomes, text_value)


@dataclass(frozen=True)
class CalibrationParams:
    """Checked parameters of ``05-calibration``."""

    scenario: Path
    targets: tuple[Path, ...]
    free: tuple[str, ...]
    replications: int
    design: int
    max_evaluations: int
    seed: int
    lang: str
    figures_dir: Path | None


def calibration_parameters(
    *,
    scenario: object,
    targets: object,
    free: object,
    replications: object,
    design: object,
    max_evaluations: object,
    seed: object,
    lang: object,
    figures_dir: object,
) -> CalibrationParams:
    """Check the parameters of ``05-calibration``.

    Parameters
    ----------
    scenario
        Path to a scenario YAML file.
    targets
        Target files, separated by commas, or ``""`` for every ``data/calibration/*.yaml``.
    free
        Free parameters as ``simlib calibrate --free`` takes them (``PATH[=LOW:HIGH]``),
        separated by semicolons.
    replications
        Replications per candidate, 2 to 50.
    design
        Latin hypercube points, 2 to 500.
    max_evaluations
        Candidates the optimiser may evaluate after the design, 0 to 500 (0: no search).
    seed
        Root seed, 0 to 2**63-1.
    lang, figures_dir
        As in :func:`explore_parameters`.
    """
    from simlib.core.paths import DATA

    listed = _string("targets", targets, 'target files separated by commas, or "" for all')
    if listed:
        files = tuple(
            _file("targets", part.strip(), "a calibration target file")
            for part in listed.split(",")
            if part.strip()
        )
    else:
        # The folder also holds the policy variants some targets apply (no ``targets:``).
        files = tuple(
            path
            for path in sorted((DATA / "calibration").glob("*.yaml"))
            if isinstance(data := yaml.safe_load(path.read_text(encoding="utf-8")), dict)
            and "targets" in data
        )
    free_text = _string("free", free, "PATH[=LOW:HIGH] separated by ';'")
    free_list = tuple(part.strip() for part in free_text.split(";") if part.strip())
    if not free_list:
        raise _fail("free", free, "names no parameter", "PATH[=LOW:HIGH] separated by ';'")
    return CalibrationParams(
        scenario=_file("scenario", scenario, "a scenario YAML file"),
        targets=files,
        free=free_list,
        replications=_whole("replications", replications, 2, 50),
        design=_whole("design", design, 2, 500),
        max_evaluations=_whole("max_evaluations", max_evaluations, 0, 500),
        seed=_whole("seed", seed, 0, _MAX_SEED),
        lang=_lang(lang),
        figures_dir=_output_dir("figures_dir", figures_dir),
    )
